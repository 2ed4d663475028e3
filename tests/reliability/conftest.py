"""Reliability fixtures: the simulator of the suite's month, extra databases, and undisturbed baselines."""

from __future__ import annotations

import sys
import uuid
from pathlib import Path

import pytest
from harness import SEED, TODAY, Sync, checksums

from devtools.databases import create_database, drop_database, seed_platform
from simulator.testing import run_simulator

# Airflow configures logging when first imported: done here, before any test, so that caplog's handler
# (installed per test) is not swept away by it in the middle of the first test.
from sophos_sync.sophos import hook  # noqa: F401

# tests/dags/dagrun.py drives `airflow dags test`; the secrets test reuses it.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "dags"))


class Databases:
    """Fresh migrated databases on the test server, dropped at the end."""

    def __init__(self, server_dsn: str, template: str):
        self.server_dsn, self.template, self.names = server_dsn, template, []

    def new(self) -> str:
        name = f"r_{uuid.uuid4().hex[:12]}"
        dsn = create_database(self.server_dsn, name, template=self.template)
        self.names.append(name)
        return dsn

    def drop_all(self) -> None:
        for name in self.names:
            drop_database(self.server_dsn, name)


# These drive whole months through every stage, disturbed: `slow`, so `make test-quick` leaves them out.
# The least-privilege and hostile-Sophos tests check roles and single calls, and stay in the quick tier.
WHOLE_MONTHS = {"test_api_faults.py", "test_bad_input.py", "test_concurrency.py", "test_crashes.py", "test_secrets.py"}


def pytest_collection_modifyitems(items):
    here = Path(__file__).parent
    for item in items:
        if item.path.parent == here and item.path.name in WHOLE_MONTHS:
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="session")
def databases(pg_server_dsn, pg_template):
    dbs = Databases(pg_server_dsn, pg_template)
    yield dbs
    dbs.drop_all()


@pytest.fixture
def simulator():
    with run_simulator(scale="small", seed=SEED, today=TODAY) as sim:
        yield sim


@pytest.fixture(scope="session")
def baseline(databases):
    """checksums(months) -> the fingerprint of an undisturbed sync of those months, in that order."""
    cache: dict[tuple[str, ...], dict] = {}

    def fingerprint(*months: str) -> dict:
        if months not in cache:
            dsn = databases.new()
            with run_simulator(scale="small", seed=SEED, today=TODAY) as sim, pytest.MonkeyPatch.context() as mp:
                seed_platform(dsn, sim.dataset(months=[]))
                sync = Sync(mp, dsn, sim)
                for month in months:
                    sync.run_month(month)
            cache[months] = checksums(dsn)
        return cache[months]

    return fingerprint


@pytest.fixture
def sync(monkeypatch, pg_dsn, simulator) -> Sync:
    """A sync of the suite's simulator into this test's fresh database, the Platform seeded."""
    seed_platform(pg_dsn, simulator.dataset(months=[]))
    return Sync(monkeypatch, pg_dsn, simulator)
