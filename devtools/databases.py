"""PostgreSQL databases of the dev tools and the tests: a DSN with another database or login, databases created
and dropped, and a warehouse prepared with the Platform's reference data that matches the simulator's customers.

The demo, the local Airflow stack, the benchmark and the tests all use these; none of them keeps its own copy.
"""

from __future__ import annotations

from urllib.parse import quote

import psycopg

# The demo's warehouse database (`make demo`, `make airflow`) on the demo server.
DEMO_DB = "sophos"


def dsn_with(dsn: str, **params: str) -> str:
    """`dsn` with some of its libpq parameters changed, e.g. another database (dbname=...) or login (user=...,
    password=...); the others stay."""
    return psycopg.conninfo.make_conninfo(**{**psycopg.conninfo.conninfo_to_dict(dsn), **params})


def database_url(dsn: str, scheme: str, default_password: str | None = None) -> str:
    """`dsn` as a URL `scheme://user[:password]@host:port/dbname` (SQLAlchemy, Celery and dlt take no DSN).

    scripts/pg.sh servers take password logins only; `default_password` stands in for a DSN without one,
    for a client that wants a password always (a trust-auth server ignores it)."""
    params = psycopg.conninfo.conninfo_to_dict(dsn)
    login = quote(params.get("user", "postgres"), safe="")
    password = params.get("password") or default_password
    if password:
        login += ":" + quote(password, safe="")
    return f"{scheme}://{login}@{params.get('host', '127.0.0.1')}:{params.get('port', 5432)}/{params['dbname']}"


def create_database(server_dsn: str, name: str, template: str | None = None) -> str:
    """DSN of a new database `name` on the server (a copy of `template` when given)."""
    with psycopg.connect(server_dsn, autocommit=True) as conn:
        if template:
            conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
        else:
            conn.execute(f'CREATE DATABASE "{name}"')
    return dsn_with(server_dsn, dbname=name)


def ensure_database(server_dsn: str, name: str = DEMO_DB) -> str:
    """DSN of database `name` on the server, created on first use (the demo's warehouse by default)."""
    with psycopg.connect(server_dsn, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')
    return dsn_with(server_dsn, dbname=name)


def drop_database(server_dsn: str, name: str) -> None:
    """Drops database `name` if it exists, whoever is still connected to it."""
    with psycopg.connect(server_dsn, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def seed_platform(dsn: str, dataset: dict) -> dict[str, int]:
    """The dataset's Platform section (sellers, customer organizations) in the database; their counts."""
    from simulator.platform_seed import load_platform_seed
    from sophos_sync.warehouse import db

    with db.connect(dsn) as conn:
        return load_platform_seed(conn, dataset)


def prepare_warehouse(dsn: str, scale: str, seed: int) -> tuple[list[tuple[str, str]], dict[str, int]]:
    """Migrates the database and seeds the Platform data the simulator's customers (at `scale`, `seed`)
    match; returns the simulator partners' credentials (client id, secret) and the counts seeded.

    The generated world is dropped on return, so its memory is not counted in what runs next.
    """
    from simulator import generator
    from sophos_sync.warehouse import db, migrations

    world = generator.build_world(scale, seed)
    with db.connect(dsn) as conn:
        migrations.migrate(conn)
    seeded = seed_platform(dsn, {"platform": world.platform})
    return [(p.client_id, p.client_secret) for p in world.partners], seeded
