"""`python -m devtools.localstack up ...` (scripts/airflow.sh, `make airflow`)."""

import sys

from devtools.localstack.up import main

sys.exit(main())
