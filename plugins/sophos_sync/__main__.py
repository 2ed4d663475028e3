"""Entry point of `python -m sophos_sync` (see sophos_sync.cli)."""
import sys

from sophos_sync.cli import main

sys.exit(main())
