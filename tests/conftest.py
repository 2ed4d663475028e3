"""Shared fixtures: a real PostgreSQL database per test (fresh, migrated) on the project's throwaway server.

`make test` starts the server and exports SOPHOS_TEST_PG_DSN; run alone, pytest starts it the same way
(scripts/pg.sh start test) and `make stop` stops it.
"""

from __future__ import annotations

import os
import subprocess
import uuid
from pathlib import Path

import psycopg
import pytest

from devtools.databases import create_database, drop_database

ROOT = Path(__file__).resolve().parents[1]


def _server_dsn() -> str:
    dsn = os.environ.get("SOPHOS_TEST_PG_DSN")
    if not dsn:
        dsn = subprocess.run(
            [str(ROOT / "scripts" / "pg.sh"), "start", "test"], check=True, capture_output=True, text=True
        ).stdout.strip()
        os.environ["SOPHOS_TEST_PG_DSN"] = dsn
    return dsn


@pytest.fixture(scope="session")
def pg_server_dsn() -> str:
    """DSN of the test server's maintenance database (superuser)."""
    return _server_dsn()


@pytest.fixture(scope="session")
def pg_template(pg_server_dsn) -> str:
    """A database with every migration applied, cloned for each test (cheaper than migrating each time)."""
    from sophos_sync.warehouse import migrations

    name = f"tmpl_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    dsn = create_database(pg_server_dsn, name)
    with psycopg.connect(dsn) as conn:
        migrations.migrate(conn)
    yield name
    drop_database(pg_server_dsn, name)


@pytest.fixture
def pg_dsn(pg_server_dsn, pg_template) -> str:
    """DSN of a fresh, fully migrated database of this test's own."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    dsn = create_database(pg_server_dsn, name, template=pg_template)
    yield dsn
    drop_database(pg_server_dsn, name)


@pytest.fixture
def empty_pg_dsn(pg_server_dsn) -> str:
    """DSN of a fresh database with no migrations applied."""
    name = f"e_{uuid.uuid4().hex[:12]}"
    dsn = create_database(pg_server_dsn, name)
    yield dsn
    drop_database(pg_server_dsn, name)


@pytest.fixture
def db_conn(pg_dsn):
    """An open connection (not autocommit) to the test's database."""
    with psycopg.connect(pg_dsn) as conn:
        yield conn


def pytest_collection_modifyitems(config, items):
    from tests.opt_in import deselect_unselected

    deselect_unselected(config, items)
