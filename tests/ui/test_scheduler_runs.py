"""The DAG under the real scheduler path: REST-triggered runs, the sensor's reschedules, mapped tasks, the
branch, a failing run, and the README's `airflow dags trigger` / `airflow backfill create` lines run as a user
would after `make airflow`, checked in PostgreSQL and in the notes the DAG wrote on its runs."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest

from devtools.localstack import environment
from devtools.localstack.environment import DAG_ID

pytestmark = pytest.mark.ui

SENSOR = "wait_for_billing_report"
BACKFILL_MONTHS = ["2026-04", "2026-05", "2026-06"]
README = Path(__file__).resolve().parents[2] / "README.md"


def month_digests(stack, months: list[str]) -> dict[str, tuple[int, str]]:
    """(line count, digest of every column but the loading run's id) of each month's invoice lines."""
    rows = stack.query(
        """SELECT to_char(billing_month, 'YYYY-MM'), count(*),
                  md5(string_agg((to_jsonb(l) - 'sync_run_id')::text, '|' ORDER BY line_key))
           FROM sophos.invoice_lines l WHERE to_char(billing_month, 'YYYY-MM') = ANY(%s)
           GROUP BY billing_month""",
        (months,),
    )
    return {month: (count, digest) for month, count, digest in rows}


def wait_for_state(stack, run_id: str, task_id: str, state: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        states = {ti["task_id"]: ti["state"] for ti in stack.api.task_instances(DAG_ID, run_id)}
        if states.get(task_id) == state:
            return
        time.sleep(0.5)
    raise AssertionError(f"{task_id} never reached {state} within {timeout:.0f} s (last: {states.get(task_id)})")


def test_rest_triggered_run_waits_for_the_report_then_loads_the_month(ui_stack):
    month = "2026-08"
    ui_stack.simulator.set_today(f"{month}-20")  # before the 26th: Sophos answers 404 for August's report
    try:
        run_id = ui_stack.api.trigger(DAG_ID, logical_date=f"{month}-26T06:00:00Z")
        wait_for_state(ui_stack, run_id, SENSOR, "up_for_reschedule", timeout=120)
    finally:
        ui_stack.simulator.set_today(None)  # back to the real clock: August's report is out

    run = ui_stack.api.wait_for_run(DAG_ID, run_id, timeout=240)
    assert run["state"] == "success"
    assert run["run_type"] == "manual"
    assert run["note"].startswith(f"{month} succeeded: "), run["note"]

    instances = ui_stack.api.task_instances(DAG_ID, run_id)
    by_task: dict[str, list[dict]] = {}
    for ti in instances:
        by_task.setdefault(ti["task_id"], []).append(ti)
    sensor = by_task[SENSOR][0]
    assert sensor["state"] == "success"
    assert sensor["try_number"] == 1, "a reschedule must not use up a try"
    accounts = len(ui_stack.simulator.credentials)
    for task_id in ("extract.extract_tenants", "extract.extract_licenses", "extract.extract_billing_usage"):
        assert sorted(ti["map_index"] for ti in by_task[task_id]) == list(range(accounts)), task_id
        assert {ti["state"] for ti in by_task[task_id]} == {"success"}, task_id
    assert by_task["record_unmapped_customers"][0]["state"] == "success"
    assert by_task["all_customers_mapped"][0]["state"] == "skipped"

    [(status, billing_month, counts)] = ui_stack.query(
        "SELECT status, to_char(billing_month, 'YYYY-MM'), counts FROM sophos.sync_runs WHERE dag_run_id = %s",
        (run_id,),
    )
    assert (status, billing_month) == ("succeeded", month)
    [(lines,)] = ui_stack.query(
        "SELECT count(*) FROM sophos.invoice_lines WHERE to_char(billing_month, 'YYYY-MM') = %s", (month,)
    )
    reported = sum(len(ui_stack.simulator.billing(i, month)) for i in range(accounts))
    assert lines == counts["reconcile"]["lines"]["loaded"] > 0
    assert counts["reconcile"]["lines"]["reported"] == reported


def readme_command(prefix: str) -> str:
    """The README's command line that starts with `prefix` (its comment cut off)."""
    [line] = {line.split("  #")[0].strip() for line in README.read_text().splitlines() if line.startswith(prefix)}
    return line


def run_as_a_user_would(stack, command: str, tmp_path: Path) -> None:
    """`command` in a fresh shell after the line `make airflow` prints, with nothing else of ours set."""
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    done = subprocess.run(
        ["bash", "-euc", f"{environment.cli_exports(stack.home)}\n{command}"],
        env={"HOME": str(home), "PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert not (home / "airflow").exists(), "the command used an AIRFLOW_HOME of its own"


def test_a_failed_run_says_in_its_note_which_month_failed_where_and_why(ui_stack):
    # Sophos "changes its API" for this run: billing usage lines arrive without their sku.
    ui_stack.execute(
        """CREATE FUNCTION public.ui_test_drop_sku() RETURNS trigger LANGUAGE plpgsql
           AS $$ BEGIN
               NEW.lines := convert_to(array_to_string(ARRAY(
                   SELECT (line::jsonb - 'sku')::text
                   FROM unnest(string_to_array(convert_from(NEW.lines, 'UTF8'), E'\\n')) WITH ORDINALITY AS l(line, n)
                   ORDER BY n), E'\\n'), 'UTF8');
               RETURN NEW;
           END $$;
           CREATE TRIGGER ui_test_drop_sku BEFORE INSERT ON sophos.landing_pages FOR EACH ROW
           EXECUTE FUNCTION public.ui_test_drop_sku()"""
    )
    try:
        run_id = ui_stack.api.trigger(DAG_ID, conf={"billing_month": "2026-07"})
        run = ui_stack.api.wait_for_run(DAG_ID, run_id, timeout=240)
    finally:
        ui_stack.execute(
            "DROP TRIGGER ui_test_drop_sku ON sophos.landing_pages; DROP FUNCTION public.ui_test_drop_sku()"
        )
    assert run["state"] == "failed"
    assert run["note"].startswith(
        "2026-07 failed in Validate against the data contracts: ContractViolation: billing_usage"
    ), run["note"]
    assert "sku" in run["note"]
    [(status,)] = ui_stack.query("SELECT status FROM sophos.sync_runs WHERE dag_run_id = %s", (run_id,))
    assert status == "failed"


def test_the_readmes_trigger_line_works_as_make_airflow_prints_it(ui_stack, tmp_path):
    command = readme_command("airflow dags trigger ")
    assert '"billing_month": "2026-09"' in command
    run_as_a_user_would(ui_stack, command, tmp_path)
    [run] = [r for r in ui_stack.api.dag_runs(DAG_ID) if (r.get("conf") or {}).get("billing_month") == "2026-09"]
    run = ui_stack.api.wait_for_run(DAG_ID, run["dag_run_id"], timeout=240)
    assert run["state"] == "success"
    assert run["note"].startswith("2026-09 succeeded: "), run["note"]


def test_backfill_of_three_months_equals_running_them_one_by_one(ui_stack, tmp_path):
    command = readme_command("airflow backfill create ")
    assert "--from-date 2026-04-01 --to-date 2026-06-30" in command
    run_as_a_user_would(ui_stack, command, tmp_path)

    deadline = time.monotonic() + 300
    while True:
        backfilled = [r for r in ui_stack.api.dag_runs(DAG_ID) if r["run_type"] == "backfill"]
        if len(backfilled) == 3 and all(r["state"] in ("success", "failed") for r in backfilled):
            break
        assert time.monotonic() < deadline, (
            f"backfill not finished: {[(r['dag_run_id'], r['state']) for r in backfilled]}"
        )
        time.sleep(3)
    assert sorted(r["logical_date"][:7] for r in backfilled) == BACKFILL_MONTHS
    assert {r["state"] for r in backfilled} == {"success"}
    assert sorted(r["note"][: len("2026-04 succeeded")] for r in backfilled) == [
        f"{month} succeeded" for month in BACKFILL_MONTHS
    ]
    per_month = ui_stack.query(
        """SELECT to_char(billing_month, 'YYYY-MM'), count(*) FROM sophos.sync_runs
           WHERE dag_run_id = ANY(%s) AND status = 'succeeded' GROUP BY 1 ORDER BY 1""",
        ([r["dag_run_id"] for r in backfilled],),
    )
    assert per_month == [(month, 1) for month in BACKFILL_MONTHS]
    backfill_rows = month_digests(ui_stack, BACKFILL_MONTHS)
    assert sorted(backfill_rows) == BACKFILL_MONTHS and all(count > 0 for count, _ in backfill_rows.values())

    # max_active_runs=1 runs manual runs strictly one after the other.
    run_ids = [ui_stack.api.trigger(DAG_ID, conf={"billing_month": month}) for month in BACKFILL_MONTHS]
    for run_id in run_ids:
        assert ui_stack.api.wait_for_run(DAG_ID, run_id, timeout=240)["state"] == "success"
    assert month_digests(ui_stack, BACKFILL_MONTHS) == backfill_rows
