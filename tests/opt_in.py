"""Tests that start a whole Airflow stack run only when their marker is selected (`-m ui`, `-m distributed`):
`make test` leaves them out, `make test-ui` and `make test-distributed` run them. What their fixtures share."""
from __future__ import annotations

import re

import psycopg

from devtools import demo

OPT_IN_MARKERS = ("ui", "distributed")


def marker_selected(config, marker: str) -> bool:
    return bool(re.search(rf"(?<!not )\b{marker}\b", config.getoption("markexpr") or ""))


def deselect_unselected(config, items) -> None:
    for marker in OPT_IN_MARKERS:
        if marker_selected(config, marker):
            continue
        skipped = [item for item in items if item.get_closest_marker(marker)]
        if skipped:
            items[:] = [item for item in items if not item.get_closest_marker(marker)]
            config.hook.pytest_deselected(items=skipped)


def fresh_database(server_dsn: str, name: str) -> str:
    """DSN of database `name` on the server, dropped and created empty."""
    with psycopg.connect(server_dsn, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return demo.database_dsn(server_dsn, name)
