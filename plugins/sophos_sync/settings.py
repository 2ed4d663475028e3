"""Every tunable of the sync in one place, and the names the code shares, each defined once.

    from sophos_sync.settings import settings
    settings.LICENSE_CONCURRENCY      # 16, or $SOPHOS_SYNC_LICENSE_CONCURRENCY as it is now

A tunable (`Env`) is read from the environment when it is used, not when this module is imported: a test, or
a worker whose environment changes, sets the variable and the next read sees it. A malformed value fails with
the variable's name. `VARIABLES` lists every variable the code reads (the README's tunables table shows the
same ones; a test compares the two). Names that are not tunable (the DAG id, the review page's route) are plain
constants of `Settings`, so a second copy cannot drift from the first.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Final, Generic, TypeVar, overload

from sophos_sync.errors import ConfigurationError

T = TypeVar("T")

PROJECT_ROOT: Final = Path(__file__).resolve().parents[2]


def _integer(text: str) -> int:
    return int(text)


def _number(text: str) -> float:
    return float(text)


def _names(text: str) -> list[str]:
    return [item.strip() for item in text.split(",") if item.strip()]


def _seconds(text: str) -> timedelta:
    return timedelta(seconds=int(text))


def _optional(text: str) -> str | None:
    return text or None


_KINDS: dict[Callable, str] = {_integer: "an integer", _number: "a number", _seconds: "a whole number of seconds"}


@dataclass(frozen=True)
class Env(Generic[T]):
    """One environment variable: its name, its default as one would write it, what it means, and how its text
    is read. As an attribute of Settings it reads the variable at each access."""

    name: str
    default: str
    meaning: str
    parse: Callable[[str], T]

    def read(self) -> T:
        text = os.environ.get(self.name, self.default)
        try:
            return self.parse(text)
        except ValueError:
            raise ConfigurationError(f"{self.name} must be {_KINDS.get(self.parse, 'valid')}, got {text!r}") from None

    @overload
    def __get__(self, instance: None, owner: type) -> Env[T]: ...

    @overload
    def __get__(self, instance: object, owner: type) -> T: ...

    def __get__(self, instance: object | None, owner: type) -> Env[T] | T:
        return self if instance is None else self.read()


class Settings:
    """The sync's settings (see the module docstring); use the instance `settings`."""

    # --- names defined once ---------------------------------------------------------------------------------
    DAG_ID: Final = "sophos_monthly_sync"
    # Sophos produces a month's invoice report on this day of the month (the schedule's day).
    REPORT_DAY: Final = 26
    # The Airflow connection a Sophos credential gets when nothing else is configured.
    DEFAULT_SOPHOS_CONN_ID: Final = "sophos_default"
    # Support's review page: where the api-server mounts its app, and its route in the Airflow UI.
    REVIEW_URL_PREFIX: Final = "/sophos-review"
    REVIEW_UI_ROUTE: Final = "unmapped-sophos-customers"
    PROJECT_ROOT: Final = PROJECT_ROOT

    # --- where the SQL and the data contracts are ---------------------------------------------------------
    # include/ sits beside plugins/ in the repo and in the Airflow image (/opt/airflow/include).
    INCLUDE_DIR = Env(
        "SOPHOS_SYNC_INCLUDE_DIR",
        str(PROJECT_ROOT / "include"),
        "the folder holding sql/ and schemas/, when not beside plugins/",
        Path,
    )

    @property
    def SQL_DIR(self) -> Path:
        return self.INCLUDE_DIR / "sql"

    @property
    def SCHEMAS_DIR(self) -> Path:
        return self.INCLUDE_DIR / "schemas"

    # --- connections ------------------------------------------------------------------------------------------
    DB_CONN_ID = Env("SOPHOS_SYNC_DB_CONN_ID", "sophos_db", "the PostgreSQL connection", str)
    DB_DSN = Env(
        "SOPHOS_SYNC_DB_DSN", "", "a libpq DSN used instead of the PostgreSQL connection (the CLI, tests)", _optional
    )
    SOPHOS_CONN_IDS = Env(
        "SOPHOS_SYNC_CONN_IDS",
        DEFAULT_SOPHOS_CONN_ID,
        "comma-separated Sophos connection ids; the extract tasks are mapped over them",
        _names,
    )
    AIRFLOW_API_CONN_ID = Env(
        "SOPHOS_SYNC_AIRFLOW_API_CONN_ID",
        "airflow_api",
        "the connection to Airflow's REST API the run notes are written through",
        str,
    )
    ALERT_WEBHOOK_URL = Env(
        "SOPHOS_SYNC_ALERT_WEBHOOK_URL", "", 'receives `{"text": ...}` when a task fails for good', _optional
    )

    # --- the schedule and the billing month -------------------------------------------------------------------
    # Sophos produces the invoice report on the 26th; the sensor then waits until it is really there.
    SCHEDULE = Env("SOPHOS_SYNC_SCHEDULE", "0 6 26 * *", "cron of the monthly run (UTC)", str)
    # 0: a run bills the month of its logical date; 1: the month before (deployments that bill in arrears).
    BILLING_MONTH_LAG = Env(
        "SOPHOS_SYNC_BILLING_MONTH_LAG", "0", "1 bills the month before the logical date's", _integer
    )
    REPORT_POKE_INTERVAL = Env(
        "SOPHOS_SYNC_REPORT_POKE_SECONDS", str(30 * 60), "seconds between two looks for the month's report", _seconds
    )
    REPORT_WAIT_TIMEOUT = Env(
        "SOPHOS_SYNC_REPORT_TIMEOUT_SECONDS",
        str(3 * 24 * 3600),
        "seconds the sensor waits for the month's report at most",
        _seconds,
    )

    # --- the Sophos API client ----------------------------------------------------------------------------------
    # One call per tenant, so this is what hides the API's latency. On 2 cores with 8 accounts at 20 ms, 8 and 16
    # took the same time (the CPU was the limit) and 4 a third longer; Sophos's own latency is higher than that.
    LICENSE_CONCURRENCY = Env(
        "SOPHOS_SYNC_LICENSE_CONCURRENCY", "16", "licence calls in flight per connection", _integer
    )
    HTTP_TIMEOUT_SECONDS = Env("SOPHOS_SYNC_HTTP_TIMEOUT_SECONDS", "30", "seconds one API call may take", _number)
    HTTP_MAX_ATTEMPTS = Env("SOPHOS_SYNC_HTTP_MAX_ATTEMPTS", "8", "attempts of one API call at most", _integer)
    HTTP_DEADLINE_SECONDS = Env(
        "SOPHOS_SYNC_HTTP_DEADLINE_SECONDS", "900", "seconds one API call may spend on its retries", _number
    )
    # The first retry's wait; it doubles per attempt (with jitter) up to 30 s, unless Sophos says Retry-After.
    HTTP_BACKOFF_SECONDS = Env("SOPHOS_SYNC_HTTP_BACKOFF_SECONDS", "0.5", "first wait before an API retry", _number)
    BILLING_PAGE_SIZE = Env("SOPHOS_SYNC_BILLING_PAGE_SIZE", "1000", "billing lines asked for per page", _integer)
    MAX_PAGES = Env("SOPHOS_SYNC_MAX_PAGES", "100000", "pages of one listing followed at most", _integer)
    # Bytes of one API answer read at most. Sophos's largest pages (1,000 billing lines, 100 tenants) are a few
    # MB; a bigger answer is a broken or hostile server, refused before it fills the worker's memory.
    MAX_RESPONSE_BYTES = Env(
        "SOPHOS_SYNC_MAX_RESPONSE_BYTES", str(64 * 1024 * 1024), "bytes of one API answer read at most", _integer
    )

    # --- validation and retention -------------------------------------------------------------------------------
    REJECT_THRESHOLD = Env(
        "SOPHOS_SYNC_REJECT_THRESHOLD",
        "0.01",
        "share of rejected billing lines above which the month is not loaded",
        _number,
    )
    # Raw API records hold personal data (contacts): how long the raw JSON of rejected records stays for
    # Support, and how long a run that never succeeded keeps its landing rows (to be resumed) at most.
    REJECTED_RETENTION_DAYS = Env(
        "SOPHOS_SYNC_REJECTED_RETENTION_DAYS",
        "180",
        "days rejected records keep their raw JSON (personal data)",
        _integer,
    )
    LANDING_RETENTION_DAYS = Env(
        "SOPHOS_SYNC_LANDING_RETENTION_DAYS",
        "30",
        "days a run that never loaded keeps its landing rows, to be resumed",
        _integer,
    )

    # --- Airflow task retries: they heal transient API and database faults; auth/config errors skip them ----
    TASK_RETRIES = Env("SOPHOS_SYNC_TASK_RETRIES", "3", "Airflow task retries for transient faults", _integer)
    TASK_RETRY_DELAY = Env(
        "SOPHOS_SYNC_TASK_RETRY_DELAY_SECONDS", "120", "seconds before a task's first retry", _seconds
    )
    TASK_MAX_RETRY_DELAY = Env(
        "SOPHOS_SYNC_TASK_MAX_RETRY_DELAY_SECONDS",
        "1800",
        "seconds between task retries at most (the delay doubles per retry)",
        _seconds,
    )


settings = Settings()

VARIABLES: Final[tuple[Env, ...]] = tuple(value for value in vars(Settings).values() if isinstance(value, Env))
