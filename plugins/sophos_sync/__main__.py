"""Entry point of `python -m sophos_sync` (see sophos_sync.cli)."""

import signal
import sys

from sophos_sync.cli import main

# Airflow's plugin loader imports every module under plugins/, this one included: only run as a program.
if __name__ == "__main__":
    # `... prices list | head` ends quietly, as a shell tool does, instead of with a BrokenPipeError
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    sys.exit(main())
