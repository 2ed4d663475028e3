"""Every tunable of the sync in one place: its environment variable and its default.

`settings.NAME` reads the environment when it is accessed, not when this module is imported: a test (or a
worker whose environment changes) sets the variable and the next access sees it. The DAG file reads the ones
it needs at parse time the same way. A malformed value fails with the variable's name.
"""
from __future__ import annotations

import os
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from sophos_sync.errors import ConfigurationError

PROJECT_ROOT = Path(__file__).resolve().parents[2]
# Sophos produces a month's invoice report on this day of the month (the schedule's day).
REPORT_DAY = 26


def _text(name: str, default: str) -> Callable[[], str]:
    return lambda: os.environ.get(name, default)


def _list(name: str, default: str) -> Callable[[], list[str]]:
    return lambda: [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


def _number(kind: type, name: str, default: str) -> Callable[[], int | float]:
    def read():
        value = os.environ.get(name, default)
        try:
            return kind(value)
        except ValueError:
            raise ConfigurationError(f"{name} must be {'an integer' if kind is int else 'a number'}, got {value!r}") \
                from None
    return read


def _seconds(name: str, default: int) -> Callable[[], timedelta]:
    read = _number(int, name, str(default))
    return lambda: timedelta(seconds=read())


def _include_dir() -> Path:
    # include/ sits beside plugins/ in the repo and in the Airflow image (/opt/airflow/include).
    return Path(os.environ.get("SOPHOS_SYNC_INCLUDE_DIR", str(PROJECT_ROOT / "include")))


_READERS: dict[str, Callable[[], object]] = {
    "INCLUDE_DIR": _include_dir,
    "SQL_DIR": lambda: _include_dir() / "sql",
    "SCHEMAS_DIR": lambda: _include_dir() / "schemas",
    # Airflow connection ids.
    "DB_CONN_ID": _text("SOPHOS_SYNC_DB_CONN_ID", "sophos_db"),
    "SOPHOS_CONN_IDS": _list("SOPHOS_SYNC_CONN_IDS", "sophos_default"),
    # Sophos produces the invoice report on the 26th; the sensor then waits until it is really there.
    "SCHEDULE": _text("SOPHOS_SYNC_SCHEDULE", "0 6 26 * *"),
    # 0: a run bills the month of its logical date; 1: the month before (deployments that bill in arrears).
    "BILLING_MONTH_LAG": _number(int, "SOPHOS_SYNC_BILLING_MONTH_LAG", "0"),
    "REPORT_POKE_INTERVAL": _seconds("SOPHOS_SYNC_REPORT_POKE_SECONDS", 30 * 60),
    "REPORT_WAIT_TIMEOUT": _seconds("SOPHOS_SYNC_REPORT_TIMEOUT_SECONDS", 3 * 24 * 3600),
    # Sophos API client.
    # One call per tenant, so this is what hides the API's latency. On 2 cores with 8 accounts at 20 ms, 8 and 16
    # took the same time (the CPU was the limit) and 4 a third longer; Sophos's own latency is higher than that.
    "LICENSE_CONCURRENCY": _number(int, "SOPHOS_SYNC_LICENSE_CONCURRENCY", "16"),
    "HTTP_TIMEOUT_SECONDS": _number(float, "SOPHOS_SYNC_HTTP_TIMEOUT_SECONDS", "30"),
    "HTTP_MAX_ATTEMPTS": _number(int, "SOPHOS_SYNC_HTTP_MAX_ATTEMPTS", "8"),
    "HTTP_DEADLINE_SECONDS": _number(float, "SOPHOS_SYNC_HTTP_DEADLINE_SECONDS", "900"),
    # The first retry's wait; it doubles per attempt (with jitter) up to 30 s, unless Sophos says Retry-After.
    "HTTP_BACKOFF_SECONDS": _number(float, "SOPHOS_SYNC_HTTP_BACKOFF_SECONDS", "0.5"),
    "BILLING_PAGE_SIZE": _number(int, "SOPHOS_SYNC_BILLING_PAGE_SIZE", "1000"),
    "MAX_PAGES": _number(int, "SOPHOS_SYNC_MAX_PAGES", "100000"),
    # Bytes of one API answer read at most. Sophos's largest pages (1,000 billing lines, 100 tenants) are a few
    # MB; a bigger answer is a broken or hostile server, refused before it fills the worker's memory.
    "MAX_RESPONSE_BYTES": _number(int, "SOPHOS_SYNC_MAX_RESPONSE_BYTES", str(64 * 1024 * 1024)),
    # Validation: above this share of rejected billing lines the month is not loaded.
    "REJECT_THRESHOLD": _number(float, "SOPHOS_SYNC_REJECT_THRESHOLD", "0.01"),
    # Raw API records hold personal data (contacts): how long the raw JSON of rejected records stays for
    # Support, and how long a run that never succeeded keeps its landing rows (to be resumed) at most.
    "REJECTED_RETENTION_DAYS": _number(int, "SOPHOS_SYNC_REJECTED_RETENTION_DAYS", "180"),
    "LANDING_RETENTION_DAYS": _number(int, "SOPHOS_SYNC_LANDING_RETENTION_DAYS", "30"),
    # Task retries heal transient API and database faults; auth/config errors skip them.
    "TASK_RETRIES": _number(int, "SOPHOS_SYNC_TASK_RETRIES", "3"),
    "TASK_RETRY_DELAY": _seconds("SOPHOS_SYNC_TASK_RETRY_DELAY_SECONDS", 120),
    "TASK_MAX_RETRY_DELAY": _seconds("SOPHOS_SYNC_TASK_MAX_RETRY_DELAY_SECONDS", 1800),
}


def __getattr__(name: str):
    try:
        read = _READERS[name]
    except KeyError:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
    return read()


def __dir__() -> list[str]:
    return sorted([*globals(), *_READERS])
