"""
### Monthly Sophos sync

Every month Sophos publishes the partner **invoice report** (billing usage) on the 26th. This DAG waits for
it, then mirrors Sophos **customers** (tenants), **subscriptions** (licences) and the month's **invoice
lines** into PostgreSQL, maps each customer to a Platform customer organization, and lists the customers it
cannot map in `review.unmapped_customers` for Support.

| step | what it does |
|---|---|
| Prepare the database schema | applies pending migrations |
| Decide the billing month | the `billing_month` param; else (manual run) the latest published one; else the run's |
| Open the sync run | the run's row in `sophos.sync_runs` |
| Sophos accounts to sync | the Sophos connections the extract tasks are mapped over |
| Wait for the billing report | pokes Sophos every 30 min (reschedule mode) for up to 3 days; 404 = not yet |
| Extract (per Sophos connection) | tenants, licences → `sophos.landing_records`; billing → `sophos.landing_pages` |
| Validate | Pandera contracts; bad rows → `sophos.rejected_records` with the reason; > 1% bad billing lines fail it |
| Map customers | already mapped / auto-matched by normalized name within the seller / unmapped |
| Record unmapped customers | only when there are some: Support's review table with ranked candidates |
| Load the mirror | **one transaction**: customers, subscriptions, status history, the month's invoice lines |
| Reconcile and report | loaded + rejected = what Sophos reported, money per currency; summary in the log and note |

**Params:** `billing_month` (YYYY-MM) for a manual run of a past month; empty, a manual run syncs the latest
month whose invoice report is published. The run's note names the month and, at the end, sums the run up.
**Backfill** a range with
`airflow backfill create --dag-id sophos_monthly_sync --from-date 2026-04-01 --to-date 2026-06-30`.
**On failure:** the last lines of the failed task's log say what happened and what to do; auth and data
contract errors fail at once, transient API/database faults are retried.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import CronTriggerTimetable, TaskGroup, dag

from sophos_sync.airflow import defaults, tasks
from sophos_sync.settings import settings


@dag(
    dag_id=settings.DAG_ID,
    dag_display_name="Sophos monthly sync",
    schedule=CronTriggerTimetable(settings.SCHEDULE, timezone="UTC"),
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    default_args=defaults.DEFAULT_ARGS,
    params=defaults.PARAMS,
    tags=["sophos", "billing", "sync"],
    doc_md=__doc__,
)
def sophos_monthly_sync():
    schema = tasks.ensure_schema()
    month = tasks.billing_month()
    run = tasks.start_sync_run(month)
    schema >> run
    report_published = tasks.wait_for_billing_report(month)
    accounts = tasks.accounts()

    with TaskGroup("extract", tooltip="Sophos API → landing tables, once per Sophos connection") as extracted:
        tenants = tasks.extract_tenants.partial(sync_run_id=run, month=month).expand(account=accounts)
        licenses = tasks.extract_licenses.partial(sync_run_id=run, month=month).expand(account=accounts)
        tasks.extract_billing_usage.partial(sync_run_id=run, month=month).expand(account=accounts)
        tenants >> licenses
    report_published >> extracted

    validated = tasks.validate(run)
    extracted >> validated
    mapping = tasks.map_customers(run)
    validated >> mapping

    unmapped = tasks.record_unmapped_customers(run, month)
    all_mapped = tasks.all_customers_mapped()
    tasks.any_unmapped_customers(mapping) >> [unmapped, all_mapped]

    loaded = tasks.load_mirror(run, month)
    [unmapped, all_mapped] >> loaded
    loaded >> tasks.reconcile_and_report(run, month)


sophos_monthly_sync()
