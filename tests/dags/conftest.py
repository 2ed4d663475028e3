"""End-to-end fixtures: one Airflow home (SQLite metadata DB) for the session's DAG runs."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def airflow_home(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("airflow_home")
