"""What a data engineer sees: headless Chromium (Debian's package, driven by Playwright) logs in to the
local Airflow, opens the DAG's grid, the scheduler's run with the note the DAG wrote on it, the summary
task's log, and a run triggered through the REST API without a billing month. The screenshots land in
docs/screenshots/ for the README."""

from __future__ import annotations

from datetime import date, datetime, timezone
from urllib.parse import quote

import pytest
from airflow_login import SCREENSHOTS, TIMEOUT_MS, login

from devtools.localstack.environment import DAG_ID
from sophos_sync.run import sync_run
from sophos_sync.warehouse.db import connect

pytestmark = pytest.mark.ui


@pytest.fixture(scope="module")
def demo_summary(ui_stack) -> dict:
    [(sync_run_id,)] = ui_stack.query(
        "SELECT sync_run_id FROM sophos.sync_runs WHERE dag_run_id = %s", (ui_stack.demo_run_id,)
    )
    with connect(ui_stack.warehouse_dsn) as conn:
        return sync_run.summary(conn, sync_run_id)


@pytest.fixture(scope="module")
def page(ui_stack, browser):
    page = browser.new_page(viewport={"width": 1366, "height": 860})
    page.set_default_timeout(TIMEOUT_MS)
    yield page
    page.close()


def test_the_dag_wrote_the_note_of_the_scheduler_run(ui_stack, demo_summary):
    run = ui_stack.api.dag_run(DAG_ID, ui_stack.demo_run_id)
    assert run["run_type"] == "scheduled"
    lines = demo_summary["counts"]["reconcile"]["lines"]
    assert run["note"].startswith(
        f"{ui_stack.demo_month} succeeded: {lines['loaded']:,} of {lines['reported']:,} invoice lines loaded"
    ), run["note"]


def test_browser_shows_the_successful_run_its_note_and_the_summary_log(ui_stack, page):
    base = ui_stack.api.base_url
    note = ui_stack.api.dag_run(DAG_ID, ui_stack.demo_run_id)["note"]
    run_path = f"/dags/{DAG_ID}/runs/{quote(ui_stack.demo_run_id, safe='')}"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    login(page, base)

    page.goto(f"{base}/dags/{DAG_ID}")
    page.get_by_role("heading", name="Sophos monthly sync").wait_for()
    for visible in ("data-engineering", "sophos", "Wait for the billing report", "Reconcile and report"):
        page.get_by_text(visible, exact=True).first.wait_for()
    page.wait_for_load_state("networkidle")
    page.screenshot(path=str(SCREENSHOTS / "dag-grid.png"))

    page.goto(f"{base}{run_path}")
    header = page.get_by_role("heading", name=ui_stack.demo_run_id)
    header.wait_for()
    page.get_by_text("Success", exact=True).first.wait_for()
    page.get_by_text(note[:60]).first.wait_for()
    page.wait_for_load_state("networkidle")
    page.screenshot(path=str(SCREENSHOTS / "run-note.png"))

    page.goto(f"{base}{run_path}/tasks/reconcile_and_report")
    summary_head = f"Sophos sync {ui_stack.demo_month} (sync run"
    page.get_by_text(summary_head).first.wait_for()
    page.get_by_text(f"top unmapped customers by amount in {ui_stack.demo_month}").first.wait_for()
    page.wait_for_load_state("networkidle")
    page.screenshot(path=str(SCREENSHOTS / "summary-log.png"))
    body = page.inner_text("body")
    assert "Success" in body
    assert "customers   mapped" in body


def latest_published_month(today: date) -> str:
    """Sophos publishes a month's invoice report on the 26th."""
    index = today.year * 12 + today.month - 1 - (0 if today.day >= 26 else 1)
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def test_a_run_triggered_without_a_month_syncs_the_latest_published_one_without_waiting(ui_stack, page):
    today = datetime.now(timezone.utc).date()
    run_id = ui_stack.api.trigger(DAG_ID, conf={})
    run = ui_stack.api.wait_for_run(DAG_ID, run_id, timeout=240)
    month = latest_published_month(today)
    assert run["state"] == "success"
    assert run["note"].startswith(f"{month} succeeded: "), run["note"]
    [(billing_month,)] = ui_stack.query(
        "SELECT to_char(billing_month, 'YYYY-MM') FROM sophos.sync_runs WHERE dag_run_id = %s", (run_id,)
    )
    assert billing_month == month
    decided = ui_stack.api.task_log(DAG_ID, run_id, "billing_month")
    assert f"billing month {month}: manual run without billing_month: the latest month whose invoice report" in decided
    sensor = ui_stack.api.task_log(DAG_ID, run_id, "wait_for_billing_report")
    assert "not published yet" not in sensor and "Success criteria met" in sensor

    page.goto(f"{ui_stack.api.base_url}/dags/{DAG_ID}/runs/{quote(run_id, safe='')}")
    page.get_by_role("heading", name=run_id).wait_for()
    page.get_by_text(run["note"][:60]).first.wait_for()
