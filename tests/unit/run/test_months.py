"""Which month a run syncs: the param, the latest published report for a manual run, else the logical date."""

from __future__ import annotations

from datetime import date, datetime, timezone

import pytest

from sophos_sync.errors import ConfigurationError
from sophos_sync.run.months import choose_billing_month, latest_published_month


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)


@pytest.mark.parametrize(
    ("today", "month"),
    [
        (date(2026, 12, 2), date(2026, 11, 1)),
        (date(2026, 11, 25), date(2026, 10, 1)),
        (date(2026, 11, 26), date(2026, 11, 1)),
        (date(2027, 1, 10), date(2026, 12, 1)),
    ],
)
def test_the_latest_published_report_is_this_months_from_the_26th_on(today, month):
    assert latest_published_month(today, lag_months=0) == month


def test_a_manual_run_for_now_without_the_param_syncs_the_latest_published_month():
    requested = utc(2026, 12, 2, 9, 30)
    month, how = choose_billing_month(None, manual=True, logical_date=requested, run_after=requested, lag_months=0)
    assert month == date(2026, 11, 1)
    assert "latest month whose invoice report is published on 2026-12-02" in how
    month, _ = choose_billing_month(None, manual=True, logical_date=None, run_after=requested, lag_months=0)
    assert month == date(2026, 11, 1)


def test_the_lag_applies_to_the_latest_published_month_as_to_a_scheduled_run():
    requested = utc(2026, 12, 2, 9, 30)
    month, how = choose_billing_month(None, manual=True, logical_date=None, run_after=requested, lag_months=1)
    assert month == date(2026, 10, 1) and "minus 1 month(s)" in how


def test_the_param_wins_over_every_rule():
    month, how = choose_billing_month(
        "2026-07", manual=True, logical_date=None, run_after=utc(2026, 12, 2), lag_months=0
    )
    assert (month, how) == (date(2026, 7, 1), "the billing_month param of the run")
    with pytest.raises(ConfigurationError, match="YYYY-MM"):
        choose_billing_month("July", manual=True, logical_date=None, run_after=utc(2026, 12, 2), lag_months=0)


@pytest.mark.parametrize("manual", [False, True])
def test_a_run_given_another_logical_date_syncs_that_dates_month(manual):
    # the schedule and backfills; `airflow dags test DAG 2026-10-26` is a manual run with an explicit date
    month, how = choose_billing_month(
        None, manual=manual, logical_date=utc(2026, 10, 26, 6), run_after=utc(2026, 12, 2, 9), lag_months=0
    )
    assert (month, how) == (date(2026, 10, 1), "the month of the logical date 2026-10-26")
