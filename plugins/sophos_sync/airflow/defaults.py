"""Airflow-side defaults of the DAG: params, retries and the retry policy, failure alerts."""

from __future__ import annotations

from airflow.sdk import ExceptionRetryPolicy, Param, RetryAction, RetryRule

from sophos_sync.airflow import notify
from sophos_sync.settings import settings

# Transient faults (network, 5xx, a database restart) heal with the task's own retries; these do not,
# so the run fails at once with the message that says what to fix.
RETRY_POLICY = ExceptionRetryPolicy(
    rules=[
        RetryRule(
            exception="sophos_sync.errors.ConfigurationError",
            action=RetryAction.FAIL,
            reason="credentials or settings are wrong; retrying cannot help",
        ),
        RetryRule(
            exception="sophos_sync.errors.ContractViolation",
            action=RetryAction.FAIL,
            reason="the extracted data broke a data contract; retrying reads the same data",
        ),
        RetryRule(
            exception="sophos_sync.errors.ReconciliationError",
            action=RetryAction.FAIL,
            reason="totals do not reconcile with Sophos; a person must look",
        ),
    ],
)

DEFAULT_ARGS = {
    "owner": "data-engineering",
    "retries": settings.TASK_RETRIES,
    "retry_delay": settings.TASK_RETRY_DELAY,
    "retry_exponential_backoff": 2.0,
    "max_retry_delay": settings.TASK_MAX_RETRY_DELAY,
    "retry_policy": RETRY_POLICY,
    "on_failure_callback": notify.on_failure,
}

PARAMS = {
    "billing_month": Param(
        None,
        type=["null", "string"],
        pattern=r"^[0-9]{4}-(0[1-9]|1[0-2])$",
        title="Billing month (YYYY-MM)",
        description="The month to sync. Empty: the latest month whose invoice report Sophos has published"
        f" (on the {settings.REPORT_DAY}th: before that day, the previous month)"
        + (f", minus {settings.BILLING_MONTH_LAG} month(s)" if settings.BILLING_MONTH_LAG else "")
        + ". The run's note names the month.",
    ),
}
