"""A worker process running one load task, as an Airflow worker would: `python load_worker.py RUN_ID YYYY-MM`.

The crash tests kill it while its load transaction is open. Connections come from AIRFLOW_CONN_* variables.
"""

import sys

from sophos_sync.run import months, stages

if __name__ == "__main__":
    stages.load_mirror(int(sys.argv[1]), months.parse_month(sys.argv[2]))
