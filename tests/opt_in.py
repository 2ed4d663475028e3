"""Tests that start a whole Airflow stack run only when their marker is selected (`-m ui`, `-m distributed`):
`make test` leaves them out, `make test-ui` and `make test-distributed` run them. What their fixtures share."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from devtools import databases
from devtools.localstack import components, environment, up
from devtools.localstack.api import AirflowApi
from simulator.testing import SimulatorHandle, run_simulator

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
    databases.drop_database(server_dsn, name)
    return databases.create_database(server_dsn, name)


@dataclass
class StackParts:
    api: AirflowApi
    env: dict[str, str]
    warehouse_dsn: str
    simulator: SimulatorHandle
    run_dir: Path


@contextmanager
def demo_stack(
    server_dsn: str, home: Path, *, seed: int, fast: dict[str, str], latency_ms: int = 0, **stack_options
) -> Iterator[StackParts]:
    """The demo's warehouse and a fresh Airflow metadata database on the server, the simulator, and the local
    stack's components on them (devtools.localstack), the DAG unpaused; the components stopped on exit."""
    run_dir = home / "run"
    warehouse = fresh_database(server_dsn, "sophos")
    metadata = fresh_database(server_dsn, "airflow")
    databases.prepare_warehouse(warehouse, "small", seed)
    with run_simulator(scale="small", seed=seed, latency_ms=latency_ms) as simulator:
        env = environment.stack_env(
            airflow_home=home,
            dsn=warehouse,
            metadata_dsn=metadata,
            simulator_url=simulator.base_url,
            credentials=[(cid, secret) for cid, secret, _ in simulator.credentials],
            api_port=environment.free_port(),
            extra_env=fast,
            **stack_options,
        )
        try:
            api = up.start_stack(env, run_dir, home / "component-logs")
            api.unpause(environment.DAG_ID)
            yield StackParts(api, env, warehouse, simulator, run_dir)
            api.close()
        finally:
            components.stop_components(run_dir)
