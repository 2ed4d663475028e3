"""`make stop` (scripts/stop_pids.sh): it returns only once every process it stopped has exited."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[3] / "scripts" / "stop_pids.sh"


def start(run_dir: Path, name: str, command: str) -> subprocess.Popen:
    """A process group of its own, as make demo and make airflow start theirs, with its pid file."""
    process = subprocess.Popen(["bash", "-c", command], start_new_session=True)
    (run_dir / f"{name}.pid").write_text(str(process.pid))
    return process


def test_stop_waits_for_each_process_and_kills_one_that_ignores_sigterm(tmp_path):
    polite = start(tmp_path, "simulator", "exec sleep 600")
    stubborn = start(tmp_path, "airflow-api-server", "trap '' TERM; sleep 600 & wait; sleep 600")
    done = subprocess.run(
        [str(SCRIPT), str(tmp_path)],
        env={**os.environ, "STOP_GRACE_SECONDS": "2"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    # When stop returns, both have exited: waiting for them now returns at once with their signal.
    assert polite.wait(timeout=1) == -15
    assert stubborn.wait(timeout=1) == -9
    assert done.stdout.splitlines() == [  # in the order of the pid files' names
        "airflow-api-server (pid %d) still running 2 s after SIGTERM: killing it (SIGKILL)" % stubborn.pid,
        "stopped airflow-api-server (pid %d)" % stubborn.pid,
        "stopped simulator (pid %d)" % polite.pid,
    ]
    assert not list(tmp_path.glob("*.pid"))
