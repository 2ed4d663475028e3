"""Airflow's environment on this machine, for the demo, the end-to-end tests, the benchmark and the local
stack: project folders, metadata DB, executor, logins, and connections pointing at a local PostgreSQL and
the Sophos simulator.

Connections are given the standard way, as AIRFLOW_CONN_<ID> environment variables (JSON form).
"""

from __future__ import annotations

import configparser
import json
import os
import secrets
import shlex
import socket
import sys
from collections.abc import Sequence
from pathlib import Path

import psycopg

from devtools.databases import database_url
from sophos_sync.settings import settings

ROOT = settings.PROJECT_ROOT
DAG_ID = settings.DAG_ID
EXECUTORS = {"local": "LocalExecutor", "celery": "CeleryExecutor"}
CELERY_WORKER_CONCURRENCY = 2
LOGIN = ("admin", "admin")
# Support's review page (plugins/sophos_review_plugin.py): role USER may edit the DAG, so it may resolve;
# role VIEWER may only read the DAG, so it may only read the page.
SUPPORT_LOGIN = ("support", "support")
VIEWER_LOGIN = ("viewer", "viewer")
USER_ROLES = {LOGIN[0]: "admin", SUPPORT_LOGIN[0]: "user", VIEWER_LOGIN[0]: "viewer"}
REVIEW_PAGE = "plugin/unmapped-sophos-customers"
API_CONN_ID = "airflow_api"


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


def connections(dsn: str, simulator_url: str, credentials: Sequence[tuple[str, str]]) -> dict[str, str]:
    """The sync's connections as a worker has them: the database, one Sophos account per credential
    (SOPHOS_SYNC_CONN_IDS names them), each an AIRFLOW_CONN_<ID> variable."""
    accounts = account_ids(len(credentials))
    env = {
        "SOPHOS_SYNC_CONN_IDS": ",".join(accounts),
        f"AIRFLOW_CONN_{settings.DB_CONN_ID.upper()}": json.dumps(postgres_connection(dsn)),
    }
    for account, (client_id, client_secret) in zip(accounts, credentials, strict=True):
        env[f"AIRFLOW_CONN_{account.upper()}"] = json.dumps(sophos_connection(simulator_url, client_id, client_secret))
    return env


def airflow_env(
    *,
    airflow_home: Path,
    dsn: str,
    simulator_url: str,
    credentials: Sequence[tuple[str, str]],
    extra_env: dict[str, str] | None = None,
) -> dict[str, str]:
    """Environment for `airflow ...` commands: project folders, SQLite metadata DB, our connections."""
    env = {
        **os.environ,
        "AIRFLOW_HOME": str(airflow_home),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(ROOT / "plugins"),
        "PYTHONPATH": f"{ROOT / 'plugins'}:{ROOT}",
        **connections(dsn, simulator_url, credentials),
    }
    env.pop("SOPHOS_SYNC_DB_DSN", None)  # the DAG must find its database through the Airflow connection
    env.update(extra_env or {})
    return env


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
    stack = {
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": database_url(metadata_dsn, "postgresql+psycopg2"),
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
    return {
        "AIRFLOW__CELERY__BROKER_URL": broker_url,
        "AIRFLOW__CELERY__RESULT_BACKEND": database_url(metadata_dsn, "db+postgresql"),
        "AIRFLOW__CELERY__WORKER_CONCURRENCY": str(CELERY_WORKER_CONCURRENCY),
        "AIRFLOW__CORE__HOSTNAME_CALLABLE": "devtools.localstack.environment.celery_worker_hostname",
    }


def celery_worker_hostname() -> str:
    """[core] hostname_callable of the local Celery workers. Both run on this one machine, so its FQDN
    (Airflow's default) cannot say which ran a task; the worker's --celery-hostname can."""
    from celery import current_task

    request = getattr(current_task, "request", None)
    return getattr(request, "hostname", None) or socket.getfqdn()
