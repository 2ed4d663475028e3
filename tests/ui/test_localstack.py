"""Pure helpers of the local Airflow stack (fast; they run in `make test`)."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import pytest

from devtools.localstack import environment, up


@pytest.mark.parametrize(
    ("now", "month"),
    [
        (datetime(2026, 11, 25, 23, 0, tzinfo=timezone.utc), "2026-10"),
        (datetime(2026, 11, 26, 5, 59, tzinfo=timezone.utc), "2026-10"),
        (datetime(2026, 11, 26, 6, 0, tzinfo=timezone.utc), "2026-11"),
        (datetime(2027, 1, 3, 12, 0, tzinfo=timezone.utc), "2026-12"),
    ],
)
def test_demo_month_is_that_of_the_newest_scheduled_point_not_in_the_future(now, month):
    assert up.latest_schedule_month(now) == month


def test_preferred_port_is_used_when_free_and_another_one_when_taken():
    import socket

    free = environment.free_port()
    assert environment.free_port(free) == free
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        taken = busy.getsockname()[1]
        assert environment.free_port(taken) != taken


def test_the_stack_signs_in_support_who_may_resolve_and_a_viewer_who_may_only_read(tmp_path):
    env = environment.stack_env(
        airflow_home=tmp_path,
        dsn="host=127.0.0.1 dbname=w",
        metadata_dsn="host=127.0.0.1 dbname=m",
        simulator_url="http://127.0.0.1:1",
        credentials=[("id", "secret")],
        api_port=18080,
    )
    users = dict(entry.split(":") for entry in env["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS"].split(","))
    assert users == {"admin": "admin", "support": "user", "viewer": "viewer"}
    passwords = json.loads(Path(env["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE"]).read_text())
    assert passwords == dict([environment.LOGIN, environment.SUPPORT_LOGIN, environment.VIEWER_LOGIN])
