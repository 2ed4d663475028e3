"""Run the real DAG on this machine: Airflow's environment for the demo, the end-to-end tests and the
local UI stack, with connections pointing at a local PostgreSQL and the Sophos simulator.

Connections are given the standard way, as AIRFLOW_CONN_<ID> environment variables (JSON form).
"""
from __future__ import annotations

import configparser
import json
import os
import secrets
import shlex
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import quote

import httpx
import psycopg

from sophos_sync.settings import settings

ROOT = settings.PROJECT_ROOT


def account_ids(count: int) -> list[str]:
    """Connection ids of the simulator's credentials: the first is the default one."""
    return ["sophos_default", *(f"sophos_account_{i}" for i in range(2, count + 1))]


def postgres_connection(dsn: str) -> dict:
    params = psycopg.conninfo.conninfo_to_dict(dsn)
    return {
        "conn_type": "postgres",
        "host": params.get("host", "127.0.0.1"),
        "port": int(params.get("port", 5432)),
        "login": params.get("user", "postgres"),
        "password": params.get("password", ""),
        "schema": params.get("dbname", "postgres"),
    }


def sophos_connection(simulator_url: str, client_id: str, client_secret: str, currency: str | None = None) -> dict:
    extra = {"token_url": f"{simulator_url}/api/v2/oauth2/token", "api_host_override": simulator_url}
    if currency:
        extra["currency"] = currency
    return {
        "conn_type": "http",
        "host": simulator_url,
        "login": client_id,
        "password": client_secret,
        "extra": extra,
    }


def airflow_env(
    *,
    airflow_home: Path,
    dsn: str,
    simulator_url: str,
    credentials: Sequence[tuple[str, str]],
    extra_env: dict[str, str] | None = None,
) -> dict[str, str]:
    """Environment for `airflow ...` commands: project folders, SQLite metadata DB, our connections."""
    accounts = account_ids(len(credentials))
    env = {
        **os.environ,
        "AIRFLOW_HOME": str(airflow_home),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(ROOT / "plugins"),
        "PYTHONPATH": f"{ROOT / 'plugins'}:{ROOT}",
        "SOPHOS_SYNC_CONN_IDS": ",".join(accounts),
        f"AIRFLOW_CONN_{settings.DB_CONN_ID.upper()}": json.dumps(postgres_connection(dsn)),
    }
    env.pop("SOPHOS_SYNC_DB_DSN", None)  # the DAG must find its database through the Airflow connection
    for account, (client_id, client_secret) in zip(accounts, credentials):
        env[f"AIRFLOW_CONN_{account.upper()}"] = json.dumps(sophos_connection(simulator_url, client_id, client_secret))
    env.update(extra_env or {})
    return env


def airflow(args: Sequence[str], env: dict[str, str], **kwargs) -> subprocess.CompletedProcess:
    executable = Path(sys.executable).with_name("airflow")
    return subprocess.run([str(executable), *args], env=env, **kwargs)


def ensure_airflow_db(env: dict[str, str]) -> None:
    home = Path(env["AIRFLOW_HOME"])
    home.mkdir(parents=True, exist_ok=True)
    if (home / ".migrated").exists():
        return
    done = airflow(["db", "migrate"], env, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"airflow db migrate failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    (home / ".migrated").touch()


def dags_test(
    logical_date: str, env: dict[str, str], conf: dict | None = None, **kwargs
) -> subprocess.CompletedProcess:
    """`airflow dags test sophos_monthly_sync <date>`: the whole DAG in-process; exit code 1 when the run fails."""
    ensure_airflow_db(env)
    args = ["dags", "test", "sophos_monthly_sync", logical_date]
    if conf:
        args += ["--conf", json.dumps(conf)]
    return airflow(args, env, **kwargs)


# --- The local Airflow stack (`make airflow`, tests/ui): api-server, scheduler, dag-processor, triggerer ---

COMPONENTS = ("api-server", "scheduler", "dag-processor", "triggerer")
EXECUTORS = {"local": "LocalExecutor", "celery": "CeleryExecutor"}
# `make airflow EXECUTOR=celery`: two Celery workers, each named by --celery-hostname, which is also what
# their task instances record as hostname (celery_worker_hostname), so the UI and the tests can tell them apart.
CELERY_WORKERS = ("worker-1", "worker-2")
CELERY_WORKER_CONCURRENCY = 2
DAG_ID = "sophos_monthly_sync"
LOGIN = ("admin", "admin")
# Support's review page (plugins/sophos_review_plugin.py): role USER may edit the DAG, so it may resolve;
# role VIEWER may only read the DAG, so it may only read the page.
SUPPORT_LOGIN = ("support", "support")
VIEWER_LOGIN = ("viewer", "viewer")
USER_ROLES = {LOGIN[0]: "admin", SUPPORT_LOGIN[0]: "user", VIEWER_LOGIN[0]: "viewer"}
REVIEW_PAGE = "plugin/unmapped-sophos-customers"
API_CONN_ID = "airflow_api"


def free_port(preferred: int | None = None) -> int:
    """`preferred` when nothing listens there, else any free port of 127.0.0.1."""
    for port in ([preferred] if preferred else []) + [0]:
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return probe.getsockname()[1]
    raise RuntimeError("no free TCP port on 127.0.0.1")


def _secret(home: Path, name: str) -> str:
    """A random secret kept in AIRFLOW_HOME, so a restarted stack still accepts its own tokens and cookies."""
    path = home / name
    if not path.exists():
        path.write_text(secrets.token_urlsafe(32))
        path.chmod(0o600)
    return path.read_text().strip()


def stack_env(
    *,
    airflow_home: Path,
    dsn: str,
    metadata_dsn: str,
    simulator_url: str,
    credentials: Sequence[tuple[str, str]],
    api_port: int,
    extra_env: dict[str, str] | None = None,
    executor: str = "local",
    broker_url: str | None = None,
) -> dict[str, str]:
    """`airflow_env` plus what the long-running components share: PostgreSQL metadata DB, the executor
    (LocalExecutor, or CeleryExecutor with `broker_url`'s Redis and its results in the metadata DB),
    one api-server URL, the same JWT secret, SimpleAuthManager with a fixed local login, and the
    `airflow_api` connection through which the report task writes the DAG run note."""
    airflow_home.mkdir(parents=True, exist_ok=True)
    api_url = f"http://127.0.0.1:{api_port}"
    user, password = LOGIN
    passwords_file = airflow_home / "simple_auth_manager_passwords.json"
    passwords_file.write_text(json.dumps(dict([LOGIN, SUPPORT_LOGIN, VIEWER_LOGIN])))
    params = psycopg.conninfo.conninfo_to_dict(metadata_dsn)
    # scripts/pg.sh servers take password logins only
    db_login = quote(params.get("user", "postgres"), safe="")
    if params.get("password"):
        db_login += ":" + quote(params["password"], safe="")
    metadata_url = (
        f"postgresql+psycopg2://{db_login}@{params.get('host', '127.0.0.1')}:"
        f"{params.get('port', 5432)}/{params['dbname']}"
    )
    stack = {
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": metadata_url,
        "AIRFLOW__CORE__EXECUTOR": EXECUTORS[executor],
        "AIRFLOW__CORE__PARALLELISM": "4",
        "AIRFLOW__CORE__AUTH_MANAGER": (
            "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager"
        ),
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": ",".join(f"{name}:{role}" for name, role in USER_ROLES.items()),
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(passwords_file),
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{api_url}/execution/",
        "AIRFLOW__API__HOST": "127.0.0.1",
        "AIRFLOW__API__PORT": str(api_port),
        "AIRFLOW__API__BASE_URL": api_url,
        "AIRFLOW__API__WORKERS": "1",
        "AIRFLOW__API__SECRET_KEY": _secret(airflow_home, ".api_secret_key"),
        "AIRFLOW__API_AUTH__JWT_SECRET": _secret(airflow_home, ".jwt_secret"),
        # Two stacks on one machine (make airflow and tests/ui) must not fight over the log-server ports.
        "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port()),
        "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(free_port()),
        "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "10",
        "AIRFLOW__DAG_PROCESSOR__PARSING_PROCESSES": "1",
        f"AIRFLOW_CONN_{API_CONN_ID.upper()}": json.dumps(
            {"conn_type": "http", "host": api_url, "login": user, "password": password}
        ),
    }
    if executor == "celery":
        stack.update(celery_env(broker_url, metadata_dsn))
    env = airflow_env(
        airflow_home=airflow_home,
        dsn=dsn,
        simulator_url=simulator_url,
        credentials=credentials,
        extra_env={**stack, **(extra_env or {})},
    )
    write_cli_config(env)
    return env


def write_cli_config(env: dict[str, str]) -> Path:
    """AIRFLOW_HOME/airflow.cfg with every Airflow setting the components get from `env`, so that
    `export AIRFLOW_HOME=...` alone points the `airflow` CLI (dags trigger, backfill create) at this stack."""
    config = configparser.ConfigParser(interpolation=None)
    for name, value in sorted(env.items()):
        if name.startswith("AIRFLOW__") and name.count("__") >= 2:
            section, key = name.removeprefix("AIRFLOW__").lower().split("__", 1)
            if not config.has_section(section):
                config.add_section(section)
            config.set(section, key, value)
    path = Path(env["AIRFLOW_HOME"]) / "airflow.cfg"
    with path.open("w") as out:
        config.write(out)
    path.chmod(0o600)
    return path


def cli_exports(airflow_home: Path) -> str:
    """The shell line under which `airflow ...` works against the stack of `airflow_home`."""
    venv_bin = Path(sys.executable).parent
    return f'export AIRFLOW_HOME={shlex.quote(str(airflow_home))} PATH={shlex.quote(str(venv_bin))}:"$PATH"'


def celery_env(broker_url: str | None, metadata_dsn: str) -> dict[str, str]:
    """CeleryExecutor's settings: the Redis broker, task results in the metadata PostgreSQL (never on a
    worker's disk), and task instances named after the worker that ran them."""
    if not broker_url:
        raise RuntimeError("the Celery executor needs a broker: scripts/redis.sh start NAME gives its URL")
    params = psycopg.conninfo.conninfo_to_dict(metadata_dsn)
    login = quote(params.get("user", "postgres"), safe="")
    if params.get("password"):  # scripts/pg.sh servers take password logins only
        login += ":" + quote(params["password"], safe="")
    return {
        "AIRFLOW__CELERY__BROKER_URL": broker_url,
        "AIRFLOW__CELERY__RESULT_BACKEND": (
            f"db+postgresql://{login}@{params.get('host', '127.0.0.1')}:{params.get('port', 5432)}/{params['dbname']}"
        ),
        "AIRFLOW__CELERY__WORKER_CONCURRENCY": str(CELERY_WORKER_CONCURRENCY),
        "AIRFLOW__CORE__HOSTNAME_CALLABLE": "devtools.localstack.celery_worker_hostname",
    }


def celery_worker_hostname() -> str:
    """[core] hostname_callable of the local Celery workers. Both run on this one machine, so its FQDN
    (Airflow's default) cannot say which ran a task; the worker's --celery-hostname can."""
    from celery import current_task

    request = getattr(current_task, "request", None)
    return getattr(request, "hostname", None) or socket.getfqdn()


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


def migrate_metadata(env: dict[str, str]) -> None:
    done = airflow(["db", "migrate"], env, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(
            f"airflow db migrate failed (metadata DB {env['AIRFLOW__DATABASE__SQL_ALCHEMY_CONN'].rsplit('@', 1)[-1]}):\n"
            f"{done.stdout[-2000:]}\n{done.stderr[-2000:]}"
        )


def start_components(env: dict[str, str], run_dir: Path, log_dir: Path) -> dict[str, int]:
    """Starts each component in a process group of its own (pid file run_dir/airflow-<name>.pid), so one
    `kill -- -PID` (scripts/stop.sh, stop_components) also ends the workers and task processes it forked."""
    run_dir.mkdir(parents=True, exist_ok=True)
    log_dir.mkdir(parents=True, exist_ok=True)
    executable = str(Path(sys.executable).with_name("airflow"))
    pids = {}
    for name, (args, own_env) in component_commands(env).items():
        with (log_dir / f"{name}.log").open("ab") as log_file:
            process = subprocess.Popen(
                [executable, *args], env={**env, **own_env}, stdout=log_file, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, start_new_session=True,
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
        try:
            os.killpg(group, signal.SIGKILL)
        except ProcessLookupError:
            pass
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


class AirflowApi:
    """The REST API v2 of a running api-server, as one user (a JWT from POST /auth/token)."""

    def __init__(self, base_url: str, username: str = LOGIN[0], password: str = LOGIN[1], timeout: float = 30):
        self.base_url = base_url.rstrip("/")
        self._login = (username, password)
        self._http = httpx.Client(base_url=self.base_url, timeout=timeout)
        self._token: str | None = None

    def close(self) -> None:
        self._http.close()

    def healthy(self) -> bool:
        try:
            return self._http.get("/api/v2/monitor/health", timeout=5).status_code == 200
        except httpx.HTTPError:
            return False

    def request(self, method: str, path: str, **kwargs) -> dict:
        from sophos_sync.airflow import run_note

        if self._token is None:
            self._token = run_note.api_token(self.base_url, *self._login)
        response = self._http.request(method, path, headers={"Authorization": f"Bearer {self._token}"}, **kwargs)
        if response.status_code >= 400:
            raise RuntimeError(f"Airflow API {method} {path} answered {response.status_code}: {response.text[:500]}")
        return response.json() if response.content else {}

    def wait_until_healthy(self, timeout: float, log_dir: Path | None = None) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.healthy():
                return
            time.sleep(1)
        where = f"; see {log_dir}/api-server.log" if log_dir else ""
        raise RuntimeError(f"the Airflow api-server did not answer on {self.base_url} within {timeout:.0f} s{where}")

    def wait_for_dag(self, dag_id: str, timeout: float) -> dict:
        """The DAG once the dag-processor has parsed it (with no import error)."""
        deadline = time.monotonic() + timeout
        while True:
            errors = self.request("GET", "/api/v2/importErrors")["import_errors"]
            if errors:
                raise RuntimeError("the DAG folder has import errors:\n" + "\n".join(e["stack_trace"] for e in errors))
            try:
                return self.request("GET", f"/api/v2/dags/{dag_id}")
            except RuntimeError:
                if time.monotonic() > deadline:
                    raise RuntimeError(
                        f"DAG {dag_id} was not parsed within {timeout:.0f} s; see the dag-processor log"
                    ) from None
                time.sleep(2)

    def unpause(self, dag_id: str) -> None:
        self.request("PATCH", f"/api/v2/dags/{dag_id}", json={"is_paused": False})

    def trigger(self, dag_id: str, logical_date: str | None = None, conf: dict | None = None) -> str:
        """A manual DAG run; `logical_date` ISO 8601 (UTC) or None. Returns its run id."""
        body = {"logical_date": logical_date, "conf": conf or {}}
        return self.request("POST", f"/api/v2/dags/{dag_id}/dagRuns", json=body)["dag_run_id"]

    def dag_run(self, dag_id: str, run_id: str) -> dict:
        return self.request("GET", f"/api/v2/dags/{dag_id}/dagRuns/{quote(run_id, safe='')}")

    def dag_runs(self, dag_id: str) -> list[dict]:
        return self.request("GET", f"/api/v2/dags/{dag_id}/dagRuns", params={"limit": 100})["dag_runs"]

    def task_instances(self, dag_id: str, run_id: str) -> list[dict]:
        path = f"/api/v2/dags/{dag_id}/dagRuns/{quote(run_id, safe='')}/taskInstances"
        return self.request("GET", path, params={"limit": 100})["task_instances"]

    def task_log(self, dag_id: str, run_id: str, task_id: str, try_number: int = 1) -> str:
        """The messages of a task's log, one a line."""
        path = f"/api/v2/dags/{dag_id}/dagRuns/{quote(run_id, safe='')}/taskInstances/{task_id}/logs/{try_number}"
        content = self.request("GET", path, params={"full_content": "true"})["content"]
        return "\n".join(entry.get("event", "") if isinstance(entry, dict) else str(entry) for entry in content)

    def wait_for_run(self, dag_id: str, run_id: str, timeout: float, poll: float = 2) -> dict:
        """The run once it has finished (success or failed)."""
        deadline = time.monotonic() + timeout
        while True:
            run = self.dag_run(dag_id, run_id)
            if run["state"] in ("success", "failed"):
                return run
            if time.monotonic() > deadline:
                states = {ti["task_id"]: ti["state"] for ti in self.task_instances(dag_id, run_id)}
                raise TimeoutError(f"DAG run {run_id} still {run['state']} after {timeout:.0f} s; tasks: {states}")
            time.sleep(poll)


def start_stack(env: dict[str, str], run_dir: Path, log_dir: Path, timeout: float = 240) -> AirflowApi:
    """Migrates the metadata DB, starts the components, and returns the API once the DAG is parsed."""
    migrate_metadata(env)
    start_components(env, run_dir, log_dir)
    api = AirflowApi(env["AIRFLOW__API__BASE_URL"])
    started = time.monotonic()
    api.wait_until_healthy(timeout, log_dir)
    api.wait_for_dag(DAG_ID, timeout - (time.monotonic() - started))
    return api


def latest_schedule_month(now: datetime | None = None) -> str:
    """The month of the newest scheduled point (the 26th, 06:00 UTC) that is not in the future."""
    now = now or datetime.now(timezone.utc)
    index = now.year * 12 + now.month - 1 - (0 if (now.day, now.hour) >= (26, 6) else 1)
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def demo_run(api: AirflowApi, wait_seconds: float = 30) -> tuple[str, str]:
    """(billing month, run id) of the demo run. Unpausing a catchup=False DAG makes the scheduler start the
    newest scheduled run by itself; when it has not appeared in time, that month is triggered by hand."""
    month = latest_schedule_month()
    deadline = time.monotonic() + wait_seconds
    while True:
        for run in api.dag_runs(DAG_ID):
            if (run.get("logical_date") or "").startswith(f"{month}-26T06:00"):
                return month, run["dag_run_id"]
        if time.monotonic() > deadline:
            return month, api.trigger(DAG_ID, f"{month}-26T06:00:00Z")
        time.sleep(2)


def up(
    server_dsn: str,
    simulator_url: str,
    airflow_home: Path,
    run_dir: Path,
    *,
    port: int = 8080,
    scale: str = "small",
    seed: int = 42,
    wait_seconds: float = 300,
    executor: str = "local",
    broker_url: str | None = None,
) -> int:
    """`make airflow`: the warehouse DB prepared, the stack running (started unless it already is, with the
    same executor), the DAG unpaused, and a run of the demo month triggered and awaited."""
    from devtools import databases

    dsn = databases.ensure_database(server_dsn)
    credentials, seeded = databases.prepare_warehouse(dsn, scale, seed)
    print(f"warehouse: {dsn} ({seeded['sellers']} sellers, {seeded['customer_organizations']} organizations)")
    portfile = run_dir / "airflow.port"
    log_dir = airflow_home / "component-logs"
    wanted = {*COMPONENTS, *(CELERY_WORKERS if executor == "celery" else ())}
    if set(running_components(run_dir)) == wanted and portfile.exists():
        api = AirflowApi(f"http://127.0.0.1:{portfile.read_text().strip()}")
        print(f"Airflow is already running ({api.base_url})")
    else:
        stop_components(run_dir)
        api_port = free_port(port)
        if api_port != port:
            print(f"port {port} is taken; the api-server uses {api_port}")
        env = stack_env(
            airflow_home=airflow_home,
            dsn=dsn,
            metadata_dsn=databases.ensure_database(server_dsn, "airflow"),
            simulator_url=simulator_url,
            credentials=credentials,
            api_port=api_port,
            executor=executor,
            broker_url=broker_url,
        )
        print(f"starting Airflow ({', '.join(sorted(wanted))}; {EXECUTORS[executor]}; logs: {log_dir})"
              " - about a minute")
        run_dir.mkdir(parents=True, exist_ok=True)
        portfile.write_text(str(api_port))
        try:
            api = start_stack(env, run_dir, log_dir)
        except RuntimeError:
            stop_components(run_dir)  # half a stack helps nobody; its logs stay in log_dir
            raise
    api.unpause(DAG_ID)
    month, run_id = demo_run(api)
    user, password = LOGIN
    print()
    print(f"Airflow UI:   {api.base_url}/dags/{DAG_ID}   login: {user} / {password}")
    print(
        f"Support page: {api.base_url}/{REVIEW_PAGE}   login: {SUPPORT_LOGIN[0]} / {SUPPORT_LOGIN[1]} (may resolve), "
        f"{VIEWER_LOGIN[0]} / {VIEWER_LOGIN[1]} (read only)"
    )
    print(f"DAG run:      {run_id} (billing month {month}); waiting up to {wait_seconds:.0f} s for it to finish")
    try:
        run = api.wait_for_run(DAG_ID, run_id, wait_seconds)
        print(f"              {run['state']}" + (f" - note: {run['note']}" if run.get("note") else ""))
        print("run summary:  the log of the task 'Reconcile and report' in the UI")
        status = 0 if run["state"] == "success" else 1
    except TimeoutError as exc:
        print(f"              {exc}; follow it in the UI")
        status = 0
    print(f"Airflow CLI:  {cli_exports(airflow_home)}")
    print(f"              then e.g. airflow dags trigger {DAG_ID} --conf '{{\"billing_month\": \"{month}\"}}'")
    print("stop:         make stop")
    api.close()
    return status


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m devtools.localstack", description=up.__doc__)
    parser.add_argument("command", choices=["up"])
    parser.add_argument("--server-dsn", required=True, help="DSN of the demo PostgreSQL server")
    parser.add_argument("--simulator-url", required=True)
    parser.add_argument("--airflow-home", default=str(ROOT / ".local" / "airflow-stack"))
    parser.add_argument("--run-dir", default=str(ROOT / ".local" / "run"))
    parser.add_argument("--port", type=int, default=8080, help="api-server port if free (default 8080)")
    parser.add_argument("--scale", default="small")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--executor", choices=sorted(EXECUTORS), default="local")
    parser.add_argument("--broker-url", help="Redis URL of the Celery broker (--executor celery)")
    args = parser.parse_args(argv)
    try:
        return up(
            args.server_dsn, args.simulator_url, Path(args.airflow_home), Path(args.run_dir),
            port=args.port, scale=args.scale, seed=args.seed, executor=args.executor, broker_url=args.broker_url,
        )
    except RuntimeError as exc:
        print(f"make airflow failed: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
