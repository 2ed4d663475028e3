"""The DAG's tasks: one small function each, wiring Airflow's context to `sophos_sync.run.stages`.

Only run ids, month strings and small count dicts travel through XCom; the data itself stays in
PostgreSQL tables keyed by the run. The heavy modules are imported inside the tasks, so parsing the DAG
imports little more than this module and the entity declarations.
"""

from __future__ import annotations

from typing import cast

from airflow.sdk import Asset, get_current_context, task

from sophos_sync.entities import BILLING_USAGE, LICENSE, TENANT, Entity
from sophos_sync.settings import settings

INVOICE_LINES_ASSET = Asset(name="sophos_invoice_lines", uri="x-sophos-sync://sophos/invoice_lines")


def _month(month: str):
    from sophos_sync.run.months import parse_month

    return parse_month(month)


@task(task_display_name="Prepare the database schema")
def ensure_schema() -> list[str]:
    """Applies pending migrations (idempotent, serialized by an advisory lock)."""
    from sophos_sync.run import stages

    return stages.ensure_schema()


@task(task_display_name="Decide the billing month")
def billing_month() -> str:
    """The `billing_month` param (YYYY-MM) if given; else, for a manual run triggered for now, the latest
    month whose invoice report is published; else the logical date's month (minus the lag). Logged, and
    written on the run's note, so the grid names the month from the start."""
    import logging

    from sophos_sync.airflow import run_note
    from sophos_sync.run import months

    context = get_current_context()
    dag_run = context["dag_run"]
    month, how = months.choose_billing_month(
        context["params"].get("billing_month"),
        manual=dag_run.run_type == "manual",
        logical_date=dag_run.logical_date,
        run_after=dag_run.run_after,
    )
    chosen = month.strftime("%Y-%m")
    logging.getLogger(__name__).info("billing month %s: %s", chosen, how)
    run_note.annotate(context["run_id"], run_note.started_line(chosen, how))
    return chosen


@task(task_display_name="Open the sync run")
def start_sync_run(month: str) -> int:
    from sophos_sync.run import stages

    return stages.start_run(get_current_context()["run_id"], _month(month))


@task(task_display_name="Sophos accounts to sync")
def accounts() -> list[str]:
    """The Airflow connection ids of the Sophos credentials (SOPHOS_SYNC_CONN_IDS)."""
    return list(settings.SOPHOS_CONN_IDS)


@task.sensor(
    task_display_name="Wait for the billing report",
    poke_interval=settings.REPORT_POKE_INTERVAL.total_seconds(),
    timeout=settings.REPORT_WAIT_TIMEOUT.total_seconds(),
    mode="reschedule",
)
def wait_for_billing_report(month: str) -> bool:
    """Sophos publishes the invoice report on the 26th or later: poke until every account has it."""
    from sophos_sync.run import stages

    return stages.report_available(_month(month), list(settings.SOPHOS_CONN_IDS))


def _extract_task(entity: Entity):
    """The mapped task that lands `entity` for one Sophos connection, named after it in the UI."""

    @task(
        task_id=entity.extract_task, task_display_name=entity.extract_title, map_index_template="{{ sophos_account }}"
    )
    def extract(account: str, sync_run_id: int, month: str) -> dict:
        from sophos_sync.run import stages

        # the mapped instance's name in the UI: map_index_template reads this key of the context
        cast(dict, get_current_context())["sophos_account"] = account
        return stages.extract_entity(entity.name, account, sync_run_id, _month(month))

    return extract


extract_tenants = _extract_task(TENANT)
extract_licenses = _extract_task(LICENSE)
extract_billing_usage = _extract_task(BILLING_USAGE)


@task(task_display_name="Validate against the data contracts")
def validate(sync_run_id: int) -> dict:
    """Pandera contracts; bad rows go to sophos.rejected_records with their reason."""
    from sophos_sync.run import stages

    return stages.validate_run(sync_run_id)


@task(task_display_name="Map customers to Platform organizations")
def map_customers(sync_run_id: int) -> dict:
    from sophos_sync.run import stages

    return stages.map_customers(sync_run_id)


@task.branch(task_display_name="Any unmapped customers?")
def any_unmapped_customers(mapping: dict) -> str:
    return "record_unmapped_customers" if mapping.get("unmapped", 0) else "all_customers_mapped"


@task(task_display_name="Record unmapped customers for Support")
def record_unmapped_customers(sync_run_id: int, month: str) -> dict:
    """Upserts review.unmapped_customers; their subscriptions wait until Support resolves them."""
    from sophos_sync.run import stages

    return stages.record_unmapped(sync_run_id, _month(month))


@task(task_display_name="All customers mapped")
def all_customers_mapped() -> None:
    """Nothing for Support this month."""


@task(
    task_display_name="Load the mirror (one transaction)",
    trigger_rule="none_failed_min_one_success",
    outlets=[INVOICE_LINES_ASSET],
)
def load_mirror(sync_run_id: int, month: str) -> dict:
    """Customers, subscriptions, status history and the month's invoice lines, committed together."""
    from sophos_sync.run import stages

    return stages.load_mirror(sync_run_id, _month(month))


@task(task_display_name="Reconcile and report")
def reconcile_and_report(sync_run_id: int, month: str) -> dict:
    """Re-checks the committed month against Sophos's figures, logs the run summary and sets the run's note."""
    from sophos_sync.airflow import run_note
    from sophos_sync.run import report

    result = report.reconcile_and_report(sync_run_id, _month(month))
    run_note.annotate(get_current_context()["run_id"], result["note"])
    return result
