"""pipeline.run_month refuses a call it cannot run before it touches the database or Sophos."""

from __future__ import annotations

from datetime import date

import pytest

from sophos_sync.run import runner

OCTOBER = date(2026, 10, 1)


def test_run_month_refuses_a_stage_it_does_not_know():
    with pytest.raises(ValueError, match=r"unknown stages \['extract_invoices'\]: choose from start_sync_run, "):
        runner.run_month(OCTOBER, ["sophos_default"], sync_run_id=1, stages=["validate", "extract_invoices"])


def test_run_month_needs_the_dag_run_to_open_a_run_and_the_open_run_to_go_on_with():
    with pytest.raises(ValueError, match="needs the dag_run_id"):
        runner.run_month(OCTOBER, ["sophos_default"])
    with pytest.raises(ValueError, match="give the sync_run_id"):
        runner.run_month(OCTOBER, ["sophos_default"], stages=["validate"])
