"""The DAG run note's text and its no-op paths (fast: no Airflow stack; they run in `make test`). The notes
the DAG writes on real runs are checked in test_browser.py and test_scheduler_runs.py."""

from __future__ import annotations

import json
import logging

from airflow.sdk import BaseHook  # noqa: F401 - Airflow sets up its logging on import: before caplog, not during

from devtools.localstack import environment
from sophos_sync.airflow import run_note
from sophos_sync.run import report

SUMMARY = {
    "dag_run_id": "manual__2026-10-26T06:00:00+00:00",
    "billing_month": "2026-10",
    "status": "succeeded",
    "counts": {
        "mapping": {"mapped": 40, "auto_matched": 4, "unmapped": 16},
        "reconcile": {
            "lines": {"loaded": 1399, "rejected": 1, "reported": 1400, "collapsed_duplicates": 0},
            "amounts": {"USD": "54042.2000", "EUR": "48839.7700"},
        },
    },
}


def test_one_line_gives_month_status_lines_customers_and_money_per_currency():
    assert report.one_line(SUMMARY) == (
        "2026-10 succeeded: 1,399 of 1,400 invoice lines loaded, 1 rejected · customers: 44 mapped, "
        "16 unmapped (review list) · EUR 48,839.77 · USD 54,042.20"
    )


def test_one_line_leaves_out_what_did_not_happen():
    summary = {**SUMMARY, "counts": {"mapping": {"mapped": 3, "auto_matched": 0, "unmapped": 0}}}
    assert report.one_line(summary) == "2026-10 succeeded: customers: 3 mapped"
    assert report.one_line({**SUMMARY, "status": "failed", "counts": {}}) == "2026-10 failed"


def test_one_line_never_exceeds_what_the_api_accepts():
    amounts = {f"C{i:02d}": "1.00" for i in range(200)}
    summary = {**SUMMARY, "counts": {"reconcile": {"amounts": amounts}}}
    assert len(report.one_line(summary)) == report.MAX_NOTE_CHARS


def test_failure_note_names_the_month_the_task_and_the_error_in_one_line():
    error = ValueError("tenant: required field 'id' missing\n  in every record")
    assert run_note.failure_line("2026-10", "Validate against the data contracts", error) == (
        "2026-10 failed in Validate against the data contracts: ValueError: tenant: required field 'id' missing "
        "in every record"
    )
    assert run_note.failure_line(None, "Decide the billing month", None) == (
        "run failed in Decide the billing month: no exception recorded"
    )


def test_without_an_api_connection_the_note_is_logged_in_one_line_instead(monkeypatch, caplog):
    monkeypatch.delenv("AIRFLOW_CONN_SOPHOS_NO_SUCH_API", raising=False)
    with caplog.at_level(logging.DEBUG, logger="sophos_sync.airflow.run_note"):
        assert run_note.annotate("manual__1", "2026-10 succeeded", conn_id="sophos_no_such_api") is False
    assert [r.getMessage() for r in caplog.records] == [
        "no Airflow connection 'sophos_no_such_api', so the DAG run note is not written: 2026-10 succeeded"
    ]
    assert caplog.records[0].levelno == logging.INFO


def test_an_unreachable_api_is_a_warning_not_a_failure(monkeypatch, caplog):
    closed_port = environment.free_port()  # nothing listens there once the probe socket is closed
    connection = {"conn_type": "http", "host": f"http://127.0.0.1:{closed_port}", "login": "a", "password": "secret-x"}
    monkeypatch.setenv("AIRFLOW_CONN_SOPHOS_TEST_API", json.dumps(connection))
    with caplog.at_level(logging.WARNING, logger="sophos_sync.airflow.run_note"):
        assert run_note.annotate(SUMMARY["dag_run_id"], "2026-10 succeeded", conn_id="sophos_test_api") is False
    assert "could not set the DAG run note" in caplog.text
    assert "secret-x" not in caplog.text
