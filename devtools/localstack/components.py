"""The long-running components of the local Airflow stack (`make airflow`, tests/ui, tests/distributed):
api-server, scheduler, dag-processor and triggerer, and with CeleryExecutor two Celery workers; each started
in a process group of its own with a pid file, found running, and stopped.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from devtools.localstack import airflow_cli
from devtools.localstack.environment import EXECUTORS, free_port

COMPONENTS = ("api-server", "scheduler", "dag-processor", "triggerer")
# `make airflow EXECUTOR=celery`: two Celery workers, each named by --celery-hostname, which is also what
# their task instances record as hostname (celery_worker_hostname), so the UI and the tests can tell them apart.
CELERY_WORKERS = ("worker-1", "worker-2")


def component_commands(env: dict[str, str]) -> dict[str, tuple[list[str], dict[str, str]]]:
    """name -> (airflow arguments, environment of its own) of each long-running component of the stack.

    Each Celery worker gets its own log-server port and temporary folder: whatever one worker's tasks
    leave on its disk is invisible to the other's, as on two machines (tasks share only PostgreSQL)."""
    commands = {name: ([name], {}) for name in COMPONENTS}
    if env.get("AIRFLOW__CORE__EXECUTOR") == EXECUTORS["celery"]:
        for worker in CELERY_WORKERS:
            tmp = Path(env["AIRFLOW_HOME"]) / worker / "tmp"
            tmp.mkdir(parents=True, exist_ok=True)
            commands[worker] = (
                ["celery", "worker", "--celery-hostname", f"{worker}@%h"],
                {"AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port()), "TMPDIR": str(tmp)},
            )
    return commands


def start_components(env: dict[str, str], run_dir: Path, log_dir: Path) -> dict[str, int]:
    """Starts each component in a process group of its own (pid file run_dir/airflow-<name>.pid), so one
    `kill -- -PID` (scripts/stop.sh, stop_components) also ends the workers and task processes it forked."""
    run_dir.mkdir(parents=True, exist_ok=True)
    log_dir.mkdir(parents=True, exist_ok=True)
    pids = {}
    for name, (args, own_env) in component_commands(env).items():
        with (log_dir / f"{name}.log").open("ab") as log_file:
            process = subprocess.Popen(
                [airflow_cli.EXECUTABLE, *args],
                env={**env, **own_env},
                stdout=log_file,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        (run_dir / f"airflow-{name}.pid").write_text(str(process.pid))
        pids[name] = process.pid
    return pids


def running_components(run_dir: Path) -> dict[str, int]:
    """The components whose pid file names a live process."""
    alive = {}
    for pidfile in sorted(run_dir.glob("airflow-*.pid")):
        pid = int(pidfile.read_text())
        try:
            os.kill(pid, 0)
        except OSError:
            continue
        alive[pidfile.stem.removeprefix("airflow-")] = pid
    return alive


def stop_components(run_dir: Path, grace_seconds: float = 20) -> None:
    """SIGTERM to each component's process group, SIGKILL (said on stderr) to what is left after the grace
    period; returns once every group has exited."""
    groups = {}
    for pidfile in sorted(run_dir.glob("airflow-*.pid")):
        name = pidfile.stem.removeprefix("airflow-")
        pid = int(pidfile.read_text())
        pidfile.unlink()
        try:
            os.killpg(pid, signal.SIGTERM)
            groups[pid] = name
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + grace_seconds
    while groups and time.monotonic() < deadline:
        groups = {g: name for g, name in groups.items() if _group_alive(g)}
        time.sleep(0.2)
    for group, name in groups.items():
        print(f"{name} (pid {group}) still running {grace_seconds:.0f} s after SIGTERM: SIGKILL", file=sys.stderr)
        with contextlib.suppress(ProcessLookupError):  # it ended meanwhile
            os.killpg(group, signal.SIGKILL)
    killed_by = time.monotonic() + 10  # SIGKILL cannot be ignored; this bounds a process stuck in the kernel
    while any(_group_alive(g) for g in groups) and time.monotonic() < killed_by:
        time.sleep(0.2)


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    # A group whose leader was reaped elsewhere can hold only zombies; count them as gone.
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            fields = stat.rsplit(")", 1)[1].split()
            if int(fields[2]) == pgid and fields[0] != "Z":
                return True
    return False
