"""Drive monthly syncs the way the DAG's tasks do, and fingerprint what they leave in PostgreSQL.

`Sync` runs months through sophos_sync.run.runner.run_month, or stage by stage through the very functions
the tasks call (sophos_sync.run.stages.* and run.report.reconcile_and_report), with the database and the Sophos
credentials given as Airflow connections (AIRFLOW_CONN_* variables), so hooks, connection lookup and DSN
building are the production ones.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import psycopg

from devtools.localstack import environment
from sophos_sync.run import months, report, runner, stages
from sophos_sync.settings import settings

TODAY = "2026-11-25"  # October's report is out, November's is not
SEED = 7
OCTOBER, SEPTEMBER = "2026-10", "2026-09"
ROOT = Path(__file__).resolve().parents[2]

# One digest per table a person relies on, over every column but run ids and timestamps: two runs of
# the same data, disturbed or not, must give the same fingerprint.
CHECKSUM_QUERIES = {
    "customers": """SELECT sophos_customer_id, name, show_as, partner_id, billing_type, data_region,
                           data_geography, platform_org_id, removed_at IS NULL FROM sophos.customers""",
    "customer_mappings": "SELECT sophos_customer_id, platform_org_id, method, mapped_by FROM sophos.customer_mappings",
    "subscriptions": """SELECT subscription_id, license_identifier, sophos_customer_id, platform_org_id,
                               product_code, product_name, type, quantity, usage_count, start_date, end_date,
                               status FROM sophos.subscriptions""",
    "status_history": """SELECT subscription_id, status, valid_to IS NULL,
                                rank() OVER (PARTITION BY subscription_id ORDER BY valid_from)
                         FROM sophos.subscription_status_history""",
    "invoice_lines": """SELECT billing_month, line_key, sophos_customer_id, platform_org_id, partner_id, account,
                               partner_account_id, partner_account_name, order_number, order_line_item_number,
                               account_number_or_serial_number, sku, product_code, product_description,
                               product_group, billable_quantity, actual_quantity, ordered_quantity, unit_price,
                               net_price, unit_msrp, price_with_taxes, additional_discount_percentage,
                               line_amount, currency, account_status, external_id, distributor_account_name,
                               billing_start_date, billing_end_date FROM sophos.invoice_lines""",
    "unmapped_customers": """SELECT sophos_customer_id, customer_name, partner_id, seller_id, reason, candidates,
                                    subscription_count, billed_amount, currency, status, resolved_org_id
                             FROM review.unmapped_customers""",
    "mirror_state": "SELECT as_of_month FROM sophos.mirror_state",
}


def checksums(dsn: str) -> dict[str, tuple[int, str | None]]:
    with psycopg.connect(dsn) as conn:
        return {
            name: conn.execute(
                f"SELECT count(*), md5(string_agg(t::text, '|' ORDER BY t::text)) FROM ({query}) t"
            ).fetchone()
            for name, query in CHECKSUM_QUERIES.items()
        }


def month_lines(dsn: str, month: str) -> tuple[int, set[int]]:
    """(line count, the sync runs the lines came from) of a billing month in sophos.invoice_lines."""
    with psycopg.connect(dsn) as conn:
        rows = conn.execute(
            "SELECT sync_run_id, count(*) FROM sophos.invoice_lines WHERE billing_month = %s GROUP BY 1",
            (months.parse_month(month),),
        ).fetchall()
    return sum(n for _, n in rows), {run for run, _ in rows}


@contextmanager
def invoice_lines_held(dsn: str) -> Iterator[None]:
    """Holds sophos.invoice_lines: a load then stops inside its open transaction, holding the load lock,
    after it merged customers and subscriptions and before it replaces the month's lines."""
    with psycopg.connect(dsn) as blocker:
        blocker.execute("LOCK TABLE sophos.invoice_lines IN ACCESS EXCLUSIVE MODE")
        yield
        blocker.rollback()


def run_status(dsn: str, sync_run_id: int) -> str:
    with psycopg.connect(dsn) as conn:
        return conn.execute("SELECT status FROM sophos.sync_runs WHERE sync_run_id = %s", (sync_run_id,)).fetchone()[0]


def _manual_run_id() -> str:
    return f"manual__{uuid.uuid4().hex}"


class Sync:
    """The monthly sync of one database against one simulator, stage by stage as the DAG runs it."""

    def __init__(self, monkeypatch, dsn: str, simulator, credentials: Iterable[tuple[str, str]] | None = None):
        self.monkeypatch = monkeypatch
        self.dsn = dsn
        monkeypatch.delenv("SOPHOS_SYNC_DB_DSN", raising=False)
        monkeypatch.setenv(
            f"AIRFLOW_CONN_{settings.DB_CONN_ID.upper()}", json.dumps(environment.postgres_connection(dsn))
        )
        self.credentials = list(credentials or [(c[0], c[1]) for c in simulator.credentials])
        self.accounts = environment.account_ids(len(self.credentials))
        self.point_at(simulator)

    def point_at(self, simulator) -> None:
        """The Sophos connections lead to this simulator from now on (e.g. after an outage)."""
        for account, (client_id, secret) in zip(self.accounts, self.credentials, strict=True):
            self.monkeypatch.setenv(
                f"AIRFLOW_CONN_{account.upper()}",
                json.dumps(environment.sophos_connection(simulator.base_url, client_id, secret)),
            )

    def start(self, month: str, dag_run_id: str | None = None) -> int:
        stages.ensure_schema()
        return stages.start_run(dag_run_id or _manual_run_id(), months.parse_month(month))

    def extract(self, sync_run_id: int, month: str, entities=("tenant", "license", "billing_usage")) -> None:
        billing_month = months.parse_month(month)
        assert stages.report_available(billing_month, self.accounts)
        runner.run_month(
            billing_month,
            self.accounts,
            sync_run_id=sync_run_id,
            stages=[runner.EXTRACT_STAGES[entity] for entity in entities],
        )

    def prepare(self, sync_run_id: int, month: str, between_tasks=lambda: None) -> None:
        """validate, map and (when some are unmapped) record the unmapped: everything before the load.
        `between_tasks` runs after validate, where a fault between two tasks would strike."""

        def around_stage(name, step):
            result = step()
            if name == "validate":
                between_tasks()
            return result

        runner.run_month(
            months.parse_month(month),
            self.accounts,
            sync_run_id=sync_run_id,
            stages=("validate", "map_customers", "record_unmapped_customers"),
            around_stage=around_stage,
        )

    def load(self, sync_run_id: int, month: str) -> dict:
        return stages.load_mirror(sync_run_id, months.parse_month(month))

    def report(self, sync_run_id: int, month: str) -> dict:
        return report.reconcile_and_report(sync_run_id, months.parse_month(month))

    def run_month(self, month: str, dag_run_id: str | None = None) -> int:
        billing_month = months.parse_month(month)
        stages.ensure_schema()
        assert stages.report_available(billing_month, self.accounts)
        return runner.run_month(billing_month, self.accounts, dag_run_id or _manual_run_id())

    def env(self) -> dict[str, str]:
        """This sync's connections, for a worker process of its own."""
        names = [settings.DB_CONN_ID, *self.accounts]
        return {f"AIRFLOW_CONN_{n.upper()}": os.environ[f"AIRFLOW_CONN_{n.upper()}"] for n in names}


def first_day(month: str) -> date:
    return months.parse_month(month)
