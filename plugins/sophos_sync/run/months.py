"""Which billing month a run syncs: the param of a manual run, the latest published report, or the month of
the logical date, minus the configured lag (docs/architecture.md, The flow)."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sophos_sync.errors import ConfigurationError
from sophos_sync.settings import settings


def parse_month(value: str) -> date:
    """'YYYY-MM' → the month's first day; anything else is a clear configuration error."""
    try:
        year, month = (int(part) for part in value.split("-"))
        return date(year, month, 1)
    except (ValueError, AttributeError):
        raise ConfigurationError(f"billing month {value!r} is not of the form YYYY-MM (e.g. 2026-10)") from None


def billing_month_for(logical_date: date, lag_months: int | None = None) -> date:
    """The month a run bills: its logical date's month, minus the lag (default: the configured one)."""
    lag_months = settings.BILLING_MONTH_LAG if lag_months is None else lag_months
    index = logical_date.year * 12 + logical_date.month - 1 - lag_months
    return date(index // 12, index % 12 + 1, 1)


def latest_published_month(today: date, lag_months: int | None = None) -> date:
    """The month the newest scheduled run bills: Sophos publishes a month's invoice report on its
    REPORT_DAY, so before that day it is the previous month's report that is out."""
    report_month = today.replace(day=1) if today.day >= settings.REPORT_DAY else billing_month_for(today, 1)
    return billing_month_for(report_month, lag_months)


def choose_billing_month(
    param: str | None,
    *,
    manual: bool,
    logical_date: datetime | None,
    run_after: datetime,
    lag_months: int | None = None,
) -> tuple[date, str]:
    """The run's billing month and how it was chosen (for the log and the run note).

    A manual run without the param whose logical date is the moment it was requested (the UI's and the
    CLI's default), or that has none, syncs the latest published month: the month of "now" would wait days
    for a report that does not exist yet. A run given another logical date (the schedule, a backfill,
    `airflow dags test DAG 2026-10-26`) syncs that date's month.
    """
    lag_months = settings.BILLING_MONTH_LAG if lag_months is None else lag_months
    lag = f" minus {lag_months} month(s) (SOPHOS_SYNC_BILLING_MONTH_LAG)" if lag_months else ""
    if param:
        return parse_month(param), "the billing_month param of the run"
    if manual and (logical_date is None or abs(run_after - logical_date) < timedelta(days=1)):
        requested_on = run_after.date()
        return (
            latest_published_month(requested_on, lag_months),
            f"manual run without billing_month: the latest month whose invoice report is published on "
            f"{requested_on.isoformat()} (Sophos publishes on the {settings.REPORT_DAY}th){lag}",
        )
    when = (logical_date or run_after).date()
    return billing_month_for(when, lag_months), f"the month of the logical date {when.isoformat()}{lag}"
