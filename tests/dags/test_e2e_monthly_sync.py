"""The real DAG, end to end: `airflow dags test` against the simulator over HTTP and a real PostgreSQL."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import psycopg
import pytest
from dagrun import MonthRunner

from devtools.databases import seed_platform
from simulator.testing import run_simulator

pytestmark = pytest.mark.e2e

TODAY = "2026-11-25"  # October's report is out, November's is not


def mirror_checksums(dsn: str) -> dict[str, str]:
    """One digest per mirror table, over every column but the run's own timestamps and ids."""
    queries = {
        "customers": """SELECT sophos_customer_id, name, show_as, partner_id, billing_type, data_region,
                               data_geography, platform_org_id, removed_at IS NULL FROM sophos.customers""",
        "customer_mappings": """SELECT sophos_customer_id, platform_org_id, method, mapped_by
                                FROM sophos.customer_mappings""",
        "subscriptions": """SELECT subscription_id, license_identifier, sophos_customer_id, platform_org_id,
                                   product_code, product_name, type, quantity, usage_count, start_date, end_date,
                                   status FROM sophos.subscriptions""",
        "status_history": """SELECT subscription_id, status, valid_to IS NULL,
                                    rank() OVER (PARTITION BY subscription_id ORDER BY valid_from)
                             FROM sophos.subscription_status_history""",
        "invoice_lines": """SELECT billing_month, line_key, sophos_customer_id, platform_org_id, partner_id, account,
                                   order_number, sku, billable_quantity, unit_price, net_price, line_amount, currency,
                                   account_status, billing_start_date, billing_end_date FROM sophos.invoice_lines""",
        "unmapped_customers": """SELECT sophos_customer_id, customer_name, partner_id, seller_id, reason, candidates,
                                        subscription_count, billed_amount, currency, status, resolved_org_id
                                 FROM review.unmapped_customers""",
    }
    with psycopg.connect(dsn) as conn:
        return {
            name: conn.execute(
                f"SELECT count(*), md5(string_agg(t::text, '|' ORDER BY t::text)) FROM ({q}) t"
            ).fetchone()
            for name, q in queries.items()
        }


def month_figures(dsn: str, month: str) -> dict:
    with psycopg.connect(dsn) as conn:
        run = conn.execute(
            """SELECT status, counts FROM sophos.sync_runs WHERE billing_month = %s::date
               ORDER BY sync_run_id DESC LIMIT 1""",
            (f"{month}-01",),
        ).fetchone()
        lines = conn.execute(
            "SELECT count(*) FROM sophos.invoice_lines WHERE billing_month = %s::date", (f"{month}-01",)
        ).fetchone()[0]
    return {"status": run[0] if run else None, "counts": run[1] if run else {}, "lines": lines}


@pytest.fixture
def simulator():
    with run_simulator(scale="small", seed=7, today=TODAY) as sim:
        yield sim


@pytest.fixture
def runner(airflow_home, pg_dsn, simulator) -> MonthRunner:
    seed_platform(pg_dsn, simulator.dataset(months=[]))
    return MonthRunner(airflow_home, pg_dsn, simulator)


def test_normal_month_loads_reconciles_and_records_unmapped(runner, pg_dsn, simulator):
    result = runner.run("2026-10")
    assert result.returncode == 0, result.tail()

    figures = month_figures(pg_dsn, "2026-10")
    reported = sum(len(simulator.billing(i, "2026-10")) for i in range(len(simulator.credentials)))
    validated = figures["counts"]["validate"]["billing_usage"]
    assert figures["status"] == "succeeded"
    assert validated["received"] == reported
    assert figures["lines"] == reported - validated["rejected"] - validated["collapsed_duplicates"]
    assert result.task_states["record_unmapped_customers"][0] == "success"
    assert result.task_states["all_customers_mapped"][0] == "skipped"
    expected_unmapped = sum(1 for outcome in simulator.expected_mapping().values() if outcome != "auto_matched")
    with psycopg.connect(pg_dsn) as conn:
        open_rows = conn.execute("SELECT count(*) FROM review.unmapped_customers WHERE status = 'open'").fetchone()[0]
    assert open_rows == expected_unmapped
    assert "Sophos sync 2026-10" in result.output  # the run summary is in the last task's log
    assert "top unmapped customers by amount in 2026-10" in result.output
    assert "billing month 2026-10: the month of the logical date 2026-10-26" in result.output
    # `airflow dags test` has no api-server: the note is one line of the log, and the run succeeds all the same
    assert "no Airflow connection 'airflow_api', so the DAG run note is not written: 2026-10 succeeded: " in (
        result.output
    )


def test_month_with_every_customer_mapped_skips_the_review_branch(airflow_home, pg_dsn, tmp_path):
    with run_simulator(scale="small", seed=7, today=TODAY) as full:
        dataset = full.dataset(months=["2026-10"])
        matched = {tid for tid, outcome in full.expected_mapping().items() if outcome == "auto_matched"}
    for partner in dataset["partners"]:
        partner["tenants"] = [t for t in partner["tenants"] if t["id"] in matched]
        partner["licenses"] = {tid: lic for tid, lic in partner["licenses"].items() if tid in matched}
        partner["billing"] = {
            month: [line for line in lines if line.get("accountId") in matched]
            for month, lines in partner["billing"].items()
        }
    path = tmp_path / "all-mapped.json"
    path.write_text(json.dumps(dataset))
    seed_platform(pg_dsn, dataset)
    with run_simulator(dataset_path=path, today=TODAY) as sim:
        result = MonthRunner(airflow_home, pg_dsn, sim).run("2026-10")
    assert result.returncode == 0, result.tail()
    assert result.task_states["all_customers_mapped"][0] == "success"
    assert result.task_states["record_unmapped_customers"][0] == "skipped"
    assert month_figures(pg_dsn, "2026-10")["status"] == "succeeded"


def test_sensor_waits_for_an_unpublished_report_then_succeeds(airflow_home, pg_dsn):
    with run_simulator(scale="small", seed=7, today="2026-10-20") as sim:
        seed_platform(pg_dsn, sim.dataset(months=[]))
        runner = MonthRunner(airflow_home, pg_dsn, sim)
        process = runner.start("2026-10")
        time.sleep(20)  # the sensor pokes every second meanwhile and finds no report
        assert process.poll() is None, "the run ended before the report was published"
        assert month_figures(pg_dsn, "2026-10")["lines"] == 0
        sim.set_today("2026-10-27")
        result = runner.finish(process)
    assert result.returncode == 0, result.tail()
    assert result.task_states["wait_for_billing_report"][0] == "success"
    assert month_figures(pg_dsn, "2026-10")["status"] == "succeeded"


def test_three_months_then_reverse_backfill_give_identical_tables(runner, pg_dsn):
    months = ["2026-08", "2026-09", "2026-10"]
    for month in months:
        result = runner.run(month)
        assert result.returncode == 0, result.tail()
    in_order = mirror_checksums(pg_dsn)
    assert in_order["invoice_lines"][0] > 0

    for month in reversed(months):
        result = runner.run(month)
        assert result.returncode == 0, result.tail()
    assert mirror_checksums(pg_dsn) == in_order


def test_unmapped_customer_is_imported_after_resolve(runner, pg_dsn, simulator):
    result = runner.run("2026-10")
    assert result.returncode == 0, result.tail()
    with psycopg.connect(pg_dsn) as conn:
        customer_id, seller_id = conn.execute(
            """SELECT u.sophos_customer_id::text, u.seller_id FROM review.unmapped_customers u
               WHERE u.reason = 'no_match' AND u.subscription_count > 0 ORDER BY u.billed_amount DESC NULLS LAST
               LIMIT 1"""
        ).fetchone()
        org_id = conn.execute(
            "SELECT org_id FROM platform.customer_organizations WHERE seller_id = %s ORDER BY org_id LIMIT 1",
            (seller_id,),
        ).fetchone()[0]
        before = conn.execute(
            "SELECT count(*) FROM sophos.subscriptions WHERE sophos_customer_id = %s", (customer_id,)
        ).fetchone()[0]
    assert before == 0

    resolved = subprocess.run(
        [
            sys.executable,
            "-m",
            "sophos_sync",
            "--dsn",
            pg_dsn,
            "review",
            "resolve",
            customer_id,
            org_id,
            "--by",
            "support@example.com",
        ],
        capture_output=True,
        text=True,
    )
    assert resolved.returncode == 0, resolved.stderr

    result = runner.run("2026-10")
    assert result.returncode == 0, result.tail()
    with psycopg.connect(pg_dsn) as conn:
        imported = conn.execute(
            "SELECT count(*), min(platform_org_id), max(platform_org_id) FROM sophos.subscriptions "
            "WHERE sophos_customer_id = %s",
            (customer_id,),
        ).fetchone()
        review_row = conn.execute(
            "SELECT status, resolved_org_id, resolved_by FROM review.unmapped_customers WHERE sophos_customer_id = %s",
            (customer_id,),
        ).fetchone()
    assert imported[0] > 0 and imported[1] == imported[2] == org_id
    assert review_row == ("resolved", org_id, "support@example.com")


def test_wrong_credentials_fail_fast_with_a_readable_message(airflow_home, pg_dsn, simulator):
    seed_platform(pg_dsn, simulator.dataset(months=[]))
    client_id, _, _ = simulator.credentials[0]
    runner = MonthRunner(airflow_home, pg_dsn, simulator, credentials=[(client_id, "not-the-secret")])
    result = runner.run("2026-10")
    assert result.returncode != 0
    state, tries = result.task_states["wait_for_billing_report"]
    assert state == "failed" and tries == 1, (state, tries)  # no retry for an auth error
    assert "SophosAuthError" in result.output
    assert "sophos_default" in result.output
    assert "not-the-secret" not in result.output
    assert month_figures(pg_dsn, "2026-10")["lines"] == 0
