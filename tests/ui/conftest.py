"""The local Airflow stack the UI tests drive: a PostgreSQL instance of its own (`scripts/pg.sh start ui`:
warehouse + Airflow metadata databases), the Sophos simulator, and api-server, scheduler, dag-processor and
triggerer on free ports with an AIRFLOW_HOME of their own; all torn down at the end, failed test or not.

These tests run only when selected with `-m ui` (`make test-ui`): `make test` leaves them out.
"""

from __future__ import annotations

import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest

from devtools.localstack import airflow_cli, environment, up
from devtools.localstack.api import AirflowApi
from simulator.testing import SimulatorHandle
from tests.opt_in import demo_stack, marker_selected

ROOT = Path(__file__).resolve().parents[2]
PG_INSTANCE = "ui"
SEED = 42
# Short waits so a run that waits for its report, or retries, still finishes in seconds.
FAST = {
    "SOPHOS_SYNC_REPORT_POKE_SECONDS": "3",
    "SOPHOS_SYNC_TASK_RETRY_DELAY_SECONDS": "2",
    "SOPHOS_SYNC_TASK_MAX_RETRY_DELAY_SECONDS": "10",
}


def pytest_report_header(config):
    if not marker_selected(config, "ui"):
        return "tests marked ui (the local Airflow stack and a browser) run only with -m ui: make test-ui"
    return None


@dataclass
class UiStack:
    api: AirflowApi
    env: dict[str, str]
    warehouse_dsn: str
    simulator: SimulatorHandle
    home: Path
    demo_month: str
    demo_run_id: str

    def airflow(self, *args: str) -> subprocess.CompletedProcess:
        return airflow_cli.airflow(list(args), self.env, capture_output=True, text=True, timeout=300)

    def query(self, sql: str, params: tuple = ()) -> list[tuple]:
        with psycopg.connect(self.warehouse_dsn) as conn:
            return conn.execute(sql, params).fetchall()

    def execute(self, sql: str) -> None:
        with psycopg.connect(self.warehouse_dsn) as conn:
            conn.execute(sql)


@pytest.fixture(scope="session")
def ui_stack(tmp_path_factory) -> UiStack:
    pg = str(ROOT / "scripts" / "pg.sh")
    server_dsn = subprocess.run([pg, "start", PG_INSTANCE], check=True, capture_output=True, text=True).stdout.strip()
    home = tmp_path_factory.mktemp("airflow-home")
    try:
        started = time.monotonic()
        with demo_stack(server_dsn, home, seed=SEED, fast=FAST) as stack:
            month, run_id = up.demo_run(stack.api)
            run = stack.api.wait_for_run(environment.DAG_ID, run_id, timeout=240)
            assert run["state"] == "success", f"the demo run failed; logs under {home / 'logs'}"
            print(f"\nAirflow stack up and demo run {run_id} done in {time.monotonic() - started:.0f} s")
            yield UiStack(stack.api, stack.env, stack.warehouse_dsn, stack.simulator, home, month, run_id)
    finally:
        subprocess.run([pg, "stop", PG_INSTANCE], check=False)


CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(scope="session")
def browser():
    """Headless Chromium (Debian's package, driven by Playwright); each test opens its own pages or contexts."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
        )
        yield browser
        browser.close()
