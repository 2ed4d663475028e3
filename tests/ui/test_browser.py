"""What a data engineer sees: headless Chromium (Debian's package, driven by Playwright) logs in to the
local Airflow, opens the DAG's grid, the demo run with its note, and the summary task's log. The
screenshots land in docs/screenshots/ for the README."""
from __future__ import annotations

from urllib.parse import quote

import pytest

from airflow_login import SCREENSHOTS, TIMEOUT_MS, login
from devtools.localstack import API_CONN_ID, DAG_ID
from sophos_sync import run_note, sync_run
from sophos_sync.db import connect

pytestmark = pytest.mark.ui


@pytest.fixture(scope="module")
def demo_summary(ui_stack) -> dict:
    [(sync_run_id,)] = ui_stack.query(
        "SELECT sync_run_id FROM sophos.sync_runs WHERE dag_run_id = %s", (ui_stack.demo_run_id,)
    )
    with connect(ui_stack.warehouse_dsn) as conn:
        return sync_run.summary(conn, sync_run_id)


@pytest.fixture(scope="module")
def noted_run(ui_stack, demo_summary) -> str:
    """The demo run with its one-line note, written the way the report task writes it."""
    variable = f"AIRFLOW_CONN_{API_CONN_ID.upper()}"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(variable, ui_stack.env[variable])
        assert run_note.annotate_run(demo_summary)
    return run_note.one_line(demo_summary)


@pytest.fixture(scope="module")
def page(ui_stack, browser):
    page = browser.new_page(viewport={"width": 1366, "height": 860})
    page.set_default_timeout(TIMEOUT_MS)
    yield page
    page.close()


def test_note_of_the_demo_run_is_its_one_line_summary(ui_stack, noted_run, demo_summary):
    run = ui_stack.api.dag_run(DAG_ID, ui_stack.demo_run_id)
    assert run["note"] == noted_run
    assert noted_run.startswith(f"{ui_stack.demo_month} succeeded: ")
    loaded = demo_summary["counts"]["reconcile"]["lines"]["loaded"]
    assert f"{loaded:,} of " in noted_run


def test_browser_shows_the_successful_run_its_note_and_the_summary_log(ui_stack, noted_run, page):
    base = ui_stack.api.base_url
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
    page.get_by_text(noted_run[:60]).first.wait_for()
    page.wait_for_load_state("networkidle")
    page.screenshot(path=str(SCREENSHOTS / "run-note.png"))

    page.goto(f"{base}{run_path}/tasks/reconcile_and_report")
    summary_head = f"Sophos sync {ui_stack.demo_month} (sync run"
    page.get_by_text(summary_head).first.wait_for()
    page.get_by_text("top unmapped customers by amount").first.wait_for()
    page.wait_for_load_state("networkidle")
    page.screenshot(path=str(SCREENSHOTS / "summary-log.png"))
    body = page.inner_text("body")
    assert "Success" in body
    assert "customers   mapped" in body
