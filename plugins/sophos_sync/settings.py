"""Every tunable of the sync in one place: its environment variable and its default.

Read at import time so the DAG file can use them at parse time; tests that need other values set the
environment before importing, or call the helper functions directly.
"""
from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path


def _env(name: str, default: str) -> str:
    return os.environ.get(name, default)


def _env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in _env(name, default).split(",") if item.strip()]


PROJECT_ROOT = Path(__file__).resolve().parents[2]
# include/ sits beside plugins/ in the repo and in the Airflow image (/opt/airflow/include).
INCLUDE_DIR = Path(_env("SOPHOS_SYNC_INCLUDE_DIR", str(PROJECT_ROOT / "include")))
SQL_DIR = INCLUDE_DIR / "sql"
SCHEMAS_DIR = INCLUDE_DIR / "schemas"

# Airflow connection ids.
DB_CONN_ID = _env("SOPHOS_SYNC_DB_CONN_ID", "sophos_db")
SOPHOS_CONN_IDS = _env_list("SOPHOS_SYNC_CONN_IDS", "sophos_default")

# Sophos produces the invoice report on the 26th; the sensor then waits until it is really there.
SCHEDULE = _env("SOPHOS_SYNC_SCHEDULE", "0 6 26 * *")
# 0: a run bills the month of its logical date; 1: the month before (deployments that bill in arrears).
BILLING_MONTH_LAG = int(_env("SOPHOS_SYNC_BILLING_MONTH_LAG", "0"))
REPORT_POKE_INTERVAL = timedelta(seconds=int(_env("SOPHOS_SYNC_REPORT_POKE_SECONDS", str(30 * 60))))
REPORT_WAIT_TIMEOUT = timedelta(seconds=int(_env("SOPHOS_SYNC_REPORT_TIMEOUT_SECONDS", str(3 * 24 * 3600))))

# Sophos API client.
LICENSE_CONCURRENCY = int(_env("SOPHOS_SYNC_LICENSE_CONCURRENCY", "16"))
HTTP_TIMEOUT_SECONDS = float(_env("SOPHOS_SYNC_HTTP_TIMEOUT_SECONDS", "30"))
HTTP_MAX_ATTEMPTS = int(_env("SOPHOS_SYNC_HTTP_MAX_ATTEMPTS", "8"))
HTTP_DEADLINE_SECONDS = float(_env("SOPHOS_SYNC_HTTP_DEADLINE_SECONDS", "900"))
BILLING_PAGE_SIZE = int(_env("SOPHOS_SYNC_BILLING_PAGE_SIZE", "1000"))
MAX_PAGES = int(_env("SOPHOS_SYNC_MAX_PAGES", "100000"))
# Bytes of one API answer read at most. Sophos's largest pages (1,000 billing lines, 100 tenants) are a few
# MB; a bigger answer is a broken or hostile server, refused before it fills the worker's memory.
MAX_RESPONSE_BYTES = int(_env("SOPHOS_SYNC_MAX_RESPONSE_BYTES", str(64 * 1024 * 1024)))

# Validation: above this share of rejected billing lines the month is not loaded.
REJECT_THRESHOLD = float(_env("SOPHOS_SYNC_REJECT_THRESHOLD", "0.01"))

# Raw API records hold personal data (contacts): how long the raw JSON of rejected records stays for
# Support, and how long a run that never succeeded keeps its landing rows (to be resumed) at most.
REJECTED_RETENTION_DAYS = int(_env("SOPHOS_SYNC_REJECTED_RETENTION_DAYS", "180"))
LANDING_RETENTION_DAYS = int(_env("SOPHOS_SYNC_LANDING_RETENTION_DAYS", "30"))

# Task retries heal transient API and database faults; auth/config errors skip them.
TASK_RETRIES = int(_env("SOPHOS_SYNC_TASK_RETRIES", "3"))
TASK_RETRY_DELAY = timedelta(seconds=int(_env("SOPHOS_SYNC_TASK_RETRY_DELAY_SECONDS", "120")))
TASK_MAX_RETRY_DELAY = timedelta(seconds=int(_env("SOPHOS_SYNC_TASK_MAX_RETRY_DELAY_SECONDS", "1800")))
