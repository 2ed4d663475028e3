"""What happens when a task of the sync fails for good: the run is marked failed, and a person is told.

Point SOPHOS_SYNC_ALERT_WEBHOOK_URL at a chat or incident webhook (it receives `{"text": ...}`), or
replace `on_failure` in the DAG's default_args (sophos_sync.airflow.defaults) with any Airflow notifier
(e-mail, Slack, ...).
"""

from __future__ import annotations

import logging

from sophos_sync.settings import settings

log = logging.getLogger(__name__)


def failure_message(dag_id: str, run_id: str, task_id: str, exception: BaseException | None) -> str:
    what = f"{type(exception).__name__}: {exception}" if exception else "no exception recorded"
    return (
        f"Sophos sync failed: DAG {dag_id}, run {run_id}, task {task_id}. {what} "
        "Nothing of this run was committed unless the failing task was reconcile_and_report; "
        "fix the cause, then clear the failed task to resume the run."
    )


def _mark_run_failed(run_id: str, message: str) -> None:
    from sophos_sync.run import sync_run
    from sophos_sync.warehouse import db

    with db.connect() as conn:
        sync_run.fail(conn, run_id, message)


def _post_webhook(url: str, message: str) -> None:
    import httpx

    httpx.post(url, json={"text": message}, timeout=10).raise_for_status()


def _billing_month(ti) -> str | None:
    """The run's month as the billing_month task decided it (None when that task is what failed)."""
    try:
        return ti.xcom_pull(task_ids="billing_month")
    except Exception:  # noqa: BLE001 - a note without the month beats no note
        return None


def _note_failure(context, ti) -> None:
    from sophos_sync.airflow import run_note

    task = str(getattr(getattr(ti, "task", None), "task_display_name", None) or getattr(ti, "task_id", "?"))
    note = run_note.failure_line(_billing_month(ti), task, context.get("exception"))
    run_note.annotate(context.get("run_id", ""), note)


def on_failure(context) -> None:
    """Airflow on_failure_callback: never raises, so the original failure stays what the UI shows."""
    ti = context.get("ti") or context.get("task_instance")
    message = failure_message(
        getattr(ti, "dag_id", "?"), context.get("run_id", "?"), getattr(ti, "task_id", "?"), context.get("exception")
    )
    log.error("%s", message)
    _note_failure(context, ti)
    try:
        _mark_run_failed(context.get("run_id", ""), message)
    except Exception as exc:  # the database may be the very thing that failed
        log.warning("could not mark the sync run failed: %s", type(exc).__name__)
    url = settings.ALERT_WEBHOOK_URL
    if url:
        try:
            _post_webhook(url, message)
        except Exception as exc:
            log.warning("alert webhook failed: %s", type(exc).__name__)
