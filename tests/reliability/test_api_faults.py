"""Sophos misbehaving during a run: the month ends with exactly the undisturbed run's data, or fails with
nothing of it committed and a rerun completes. Never a partial month."""

from __future__ import annotations

import json
import logging
import re
import time

import psycopg
import pytest
from harness import OCTOBER, SEED, SEPTEMBER, TODAY, Sync, checksums, month_lines, run_status

from devtools.databases import seed_platform
from simulator.testing import run_simulator
from sophos_sync.errors import SophosApiError

# Small billing pages, so every partner's month is read over several pages and faults land mid-paging.
PAGE_SIZE = 25

FAULTS = {
    "429 storm with Retry-After": (dict(rate_limit="20/s"), "rate limited (429)"),
    "5xx bursts": (dict(error_rate=0.3, fault_seed=3), "server error (50"),
    "dropped connections": (dict(drop_rate=0.25, fault_seed=5), "RemoteProtocolError"),
    "truncated JSON pages": (dict(malformed_page_rate=0.25, fault_seed=9), "unusable body"),
}


def retry_lines(caplog) -> list[str]:
    return [
        r.getMessage() for r in caplog.records if r.name == "sophos_sync.sophos.client" and "; retry " in r.getMessage()
    ]


@pytest.mark.parametrize("fault", list(FAULTS))
def test_month_under_api_faults_equals_the_undisturbed_month(fault, monkeypatch, pg_dsn, baseline, caplog):
    options, evidence = FAULTS[fault]
    monkeypatch.setenv("SOPHOS_SYNC_BILLING_PAGE_SIZE", str(PAGE_SIZE))
    monkeypatch.setenv("SOPHOS_SYNC_HTTP_BACKOFF_SECONDS", "0.05")
    with run_simulator(scale="small", seed=SEED, today=TODAY, **options) as sim:
        seed_platform(pg_dsn, sim.dataset(months=[]))
        with caplog.at_level(logging.INFO):
            sync_run_id = Sync(monkeypatch, pg_dsn, sim).run_month(OCTOBER)

    assert any(evidence in line for line in retry_lines(caplog)), f"{fault}: the fault never happened"
    assert run_status(pg_dsn, sync_run_id) == "succeeded"
    assert checksums(pg_dsn) == baseline(OCTOBER)


def test_token_expiring_every_second_while_paging_loses_no_line(monkeypatch, pg_dsn, baseline, caplog):
    monkeypatch.setenv("SOPHOS_SYNC_BILLING_PAGE_SIZE", "10")
    with run_simulator(scale="small", seed=SEED, today=TODAY, token_ttl=1, latency_ms=100) as sim:
        seed_platform(pg_dsn, sim.dataset(months=[]))
        with caplog.at_level(logging.INFO):
            sync_run_id = Sync(monkeypatch, pg_dsn, sim).run_month(OCTOBER)

    paging = [
        re.search(r"lines in (\d+) pages .* in ([\d.]+) s", r.getMessage())
        for r in caplog.records
        if r.getMessage().startswith("fetched billing usage")
    ]
    # Each partner's report took longer to read than a token lives (1 s): the token ran out mid-paging.
    assert paging and all(int(m[1]) >= 10 and float(m[2]) > 1.2 for m in paging), [m and m[0] for m in paging]
    assert run_status(pg_dsn, sync_run_id) == "succeeded"
    assert checksums(pg_dsn) == baseline(OCTOBER)


def test_tenant_answering_403_is_skipped_and_keeps_its_subscriptions(monkeypatch, pg_dsn, tmp_path, baseline, caplog):
    """A tenant moves to another partner between the tenant and the licence extract: its licence call
    answers 403, the run completes with every billing line, and its subscriptions keep their last state."""
    with run_simulator(scale="small", seed=SEED, today=TODAY) as sim:
        dataset = sim.dataset(months=[SEPTEMBER, OCTOBER])
        matched = {tid for tid, outcome in sim.expected_mapping().items() if outcome == "auto_matched"}
    path = tmp_path / "full.json"
    path.write_text(json.dumps(dataset))
    partner = dataset["partners"][0]
    moved = next(tid for tid, licenses in partner["licenses"].items() if licenses and tid in matched)
    partner["licenses"].pop(moved)
    partner["tenants"] = [t for t in partner["tenants"] if t["id"] != moved]
    dataset["partners"][1]["licenses"][moved] = []  # now another partner's tenant
    moved_path = tmp_path / "moved.json"
    moved_path.write_text(json.dumps(dataset))

    seed_platform(pg_dsn, dataset)
    with run_simulator(dataset_path=path, today=TODAY) as before:
        sync = Sync(monkeypatch, pg_dsn, before)
        sync.run_month(SEPTEMBER)
        subscriptions = _subscriptions_of(pg_dsn, moved)
        sync_run_id = sync.start(OCTOBER)
        sync.extract(sync_run_id, OCTOBER, entities=("tenant",))
        with run_simulator(dataset_path=moved_path, today=TODAY) as after:
            sync.point_at(after)
            with caplog.at_level(logging.INFO):
                sync.extract(sync_run_id, OCTOBER, entities=("license", "billing_usage"))
            sync.prepare(sync_run_id, OCTOBER)
            sync.load(sync_run_id, OCTOBER)
            sync.report(sync_run_id, OCTOBER)

    assert f"(e.g. {moved}: 403 forbidden" in caplog.text
    assert run_status(pg_dsn, sync_run_id) == "succeeded"
    assert subscriptions and _subscriptions_of(pg_dsn, moved) == subscriptions
    # Billing is the partner's own report, untouched by the move: exactly the undisturbed month's lines.
    assert checksums(pg_dsn)["invoice_lines"] == baseline(SEPTEMBER, OCTOBER)["invoice_lines"]


def _subscriptions_of(dsn: str, customer: str) -> list[tuple]:
    with psycopg.connect(dsn) as conn:
        return conn.execute(
            "SELECT subscription_id, status, quantity FROM sophos.subscriptions WHERE sophos_customer_id = %s "
            "ORDER BY 1",
            (customer,),
        ).fetchall()


def test_api_outage_fails_the_extract_cleanly_and_a_rerun_completes(monkeypatch, pg_dsn, baseline):
    monkeypatch.setenv("SOPHOS_SYNC_HTTP_MAX_ATTEMPTS", "3")
    monkeypatch.setenv("SOPHOS_SYNC_HTTP_BACKOFF_SECONDS", "0.05")
    with run_simulator(scale="small", seed=SEED, today=TODAY) as sim:
        seed_platform(pg_dsn, sim.dataset(months=[]))
        sync = Sync(monkeypatch, pg_dsn, sim)
        sync.run_month(SEPTEMBER)
        september = month_lines(pg_dsn, SEPTEMBER)
        sync_run_id = sync.start(OCTOBER, dag_run_id="scheduled__2026-10-26")
        sync.extract(sync_run_id, OCTOBER, entities=("tenant", "license"))
        sim.process.kill()  # Sophos goes away before the billing report is read
        sim.process.wait()
        started = time.monotonic()
        with pytest.raises(SophosApiError, match=r"connection 'sophos_default'.*failed after 3 attempts.*ConnectError"):
            sync.extract(sync_run_id, OCTOBER, entities=("billing_usage",))
    assert time.monotonic() - started < 10

    assert month_lines(pg_dsn, OCTOBER) == (0, set())
    assert month_lines(pg_dsn, SEPTEMBER) == september
    assert run_status(pg_dsn, sync_run_id) == "running"

    # Airflow retries the failed task later, within the same DAG run: Sophos is back by then.
    with run_simulator(scale="small", seed=SEED, today=TODAY) as back:
        sync.point_at(back)
        assert sync.start(OCTOBER, dag_run_id="scheduled__2026-10-26") == sync_run_id
        sync.extract(sync_run_id, OCTOBER)
        sync.prepare(sync_run_id, OCTOBER)
        sync.load(sync_run_id, OCTOBER)
        sync.report(sync_run_id, OCTOBER)
    assert run_status(pg_dsn, sync_run_id) == "succeeded"
    assert checksums(pg_dsn) == baseline(SEPTEMBER, OCTOBER)
