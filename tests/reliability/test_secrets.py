"""Secrets: the Sophos client secrets, the bearer tokens Sophos issued and the database password appear in no
log line, exception, XCom, Airflow record, table row or sync_runs record, after a month of the real DAG, after
a run whose credentials Sophos rejects, and in-process with every logger at DEBUG."""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
import traceback
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import quote, quote_plus

import httpx
import psycopg
import pytest
from dagrun import MonthRunner
from harness import OCTOBER, TODAY, Sync, run_status
from psycopg import sql

from devtools.databases import seed_platform
from devtools.localstack import environment
from simulator.testing import run_simulator
from sophos_sync.airflow import notify
from sophos_sync.errors import SophosAuthError
from sophos_sync.run import months, stages
from sophos_sync.settings import settings

# Characters a form body, a URL or JSON each write their own way, so every spelling is looked for.
SECRETS = [f"sk-Zebra{n}Quokka+/=&%?-Fjord" for n in range(1, 4)]
WRONG_SECRET = "sk-ZebraWrongQuokka+/=&%?-Fjord"
DB_PASSWORD = "pg-Okapi-Narwhal-5150"
# `airflow dags test` prints task logs unmasked, so its output shows exactly what the code writes. Its
# in-process supervisor also logs every MaskSecret message, value included, at DEBUG
# (airflow/sdk/execution_time/supervisor.py, InProcessSupervisorComms.send; a worker's supervisor omits the
# value). So the DAG runs at INFO, as in production, and the DEBUG check is the in-process one below.
DAG_LOG_LEVEL = "INFO"


class TokenRecorder:
    """The connections' Sophos host (their api_host_override, token URL included): forwards every request to
    the simulator and keeps the tokens it issued (access and refresh), which the simulator keeps to itself."""

    FORWARDED_HEADERS = ("Authorization", "Content-Type", "X-Partner-ID", "X-Tenant-ID")

    def __init__(self, upstream: str):
        self.tokens: list[str] = []
        recorder = self

        class Forward(BaseHTTPRequestHandler):
            def forward(self, method: str) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                headers = {name: self.headers[name] for name in recorder.FORWARDED_HEADERS if self.headers[name]}
                answer = httpx.request(method, upstream + self.path, content=self.rfile.read(length), headers=headers)
                if answer.status_code == 200 and self.path.endswith("/oauth2/token"):
                    issued = answer.json()
                    recorder.tokens += [issued["access_token"], issued["refresh_token"]]
                self.send_response(answer.status_code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer.content)))
                self.end_headers()
                self.wfile.write(answer.content)

            def do_GET(self) -> None:
                self.forward("GET")

            def do_POST(self) -> None:
                self.forward("POST")

            def log_message(self, *args) -> None:  # the test's own traffic is nobody's log
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Forward)
        self.base_url = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def __enter__(self) -> TokenRecorder:
        return self

    def __exit__(self, *exc_info) -> None:
        self._server.shutdown()
        self._server.server_close()


def spellings(secret: str) -> set[str]:
    """The secret as text, form- and URL-encoded, JSON-escaped, and its distinctive start on its own."""
    return {secret, quote(secret, safe=""), quote_plus(secret), json.dumps(secret)[1:-1], secret.split("+")[0]}


def leaks(text: str, secrets: list[str], tokens: list[str]) -> list[str]:
    """What of the secrets and tokens shows in the text (a token also by its first 16 characters)."""
    found = [f"secret {s!r} as {form!r}" for s in secrets for form in spellings(s) if form in text]
    return found + [f"token {t[:6]}..." for t in tokens if t in text or t[:16] in text]


DB_LOGIN = "secrets_test_sync"


@pytest.fixture(scope="module", autouse=True)
def database_login(pg_server_dsn):
    """The run's database login, whose password is DB_PASSWORD (the test server takes password logins only)."""
    with psycopg.connect(pg_server_dsn, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (DB_LOGIN,)).fetchone():
            conn.execute(sql.SQL("CREATE ROLE {} LOGIN SUPERUSER").format(sql.Identifier(DB_LOGIN)))
        conn.execute(sql.SQL("ALTER ROLE {} PASSWORD {}").format(sql.Identifier(DB_LOGIN), sql.Literal(DB_PASSWORD)))


def database_uri(dsn: str, password: str = DB_PASSWORD) -> str:
    params = psycopg.conninfo.conninfo_to_dict(dsn)
    return f"postgresql://{DB_LOGIN}:{password}@{params['host']}:{params['port']}/{params['dbname']}"


def connections(dsn: str, sim, recorder: TokenRecorder, secrets: list[str]) -> dict[str, str]:
    """AIRFLOW_CONN_* of the run: the database as a URI with a password, the Sophos credentials with their
    host (token URL included) at the recorder."""
    env = {f"AIRFLOW_CONN_{settings.DB_CONN_ID.upper()}": database_uri(dsn)}
    for account, (client_id, _, _), secret in zip(
        environment.account_ids(len(secrets)), sim.credentials[: len(secrets)], secrets, strict=True
    ):
        conn = environment.sophos_connection(recorder.base_url, client_id, secret)
        env[f"AIRFLOW_CONN_{account.upper()}"] = json.dumps(conn)
    return env


def every_row(dsn: str) -> str:
    """Every row of every table and view of the four schemas, as text (jsonb columns and sync_runs.counts
    included)."""
    with psycopg.connect(dsn) as conn:
        relations = conn.execute(
            "SELECT table_schema, table_name FROM information_schema.tables "
            "WHERE table_schema IN ('sophos', 'review', 'finance', 'platform') ORDER BY 1, 2"
        ).fetchall()
        assert len(relations) > 20, relations
        return "\n".join(
            row
            for schema, name in relations
            for (row,) in conn.execute(sql.SQL("SELECT t::text FROM {} t").format(sql.Identifier(schema, name)))
        )


def airflow_records(airflow_home: Path) -> tuple[list[str], str]:
    """(every XCom value, every value of every table) of the Airflow metadata database."""
    with sqlite3.connect(airflow_home / "airflow.db") as meta:
        xcoms = [str(value) for (value,) in meta.execute("SELECT value FROM xcom")]
        tables = [name for (name,) in meta.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        values = [
            value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
            for table in tables
            for row in meta.execute(f'SELECT * FROM "{table}"')
            for value in row
        ]
    return xcoms, "\n".join(values)


@pytest.fixture(scope="module")
def airflow_home(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("airflow_home")


@pytest.fixture
def secret_dataset(simulator, tmp_path) -> tuple[dict, Path]:
    """The suite's October, its credentials carrying the distinctive secrets."""
    dataset = simulator.dataset(months=[OCTOBER])
    for partner, secret in zip(dataset["partners"], SECRETS, strict=True):
        partner["client_secret"] = secret
    path = tmp_path / "secrets.json"
    path.write_text(json.dumps(dataset), encoding="utf-8")
    return dataset, path


def test_a_month_of_the_real_dag_leaves_no_secret_or_token_in_logs_xcom_or_tables(airflow_home, pg_dsn, secret_dataset):
    dataset, path = secret_dataset
    seed_platform(pg_dsn, dataset)
    with run_simulator(dataset_path=path, today=TODAY) as sim, TokenRecorder(sim.base_url) as recorder:
        env = {**connections(pg_dsn, sim, recorder, SECRETS), "AIRFLOW__LOGGING__LOGGING_LEVEL": DAG_LOG_LEVEL}
        result = MonthRunner(airflow_home, pg_dsn, sim, extra_env=env).run(OCTOBER)
    assert result.returncode == 0, result.tail()
    assert "fetched billing usage 2026-10 of 'sophos_account_3'" in result.output  # the task logs are in it
    assert len(recorder.tokens) >= 2 * len(SECRETS)  # every account had tokens that could leak

    xcoms, metadata = airflow_records(airflow_home)
    assert any('"billing_lines"' in value for value in xcoms)
    secrets = [*SECRETS, DB_PASSWORD]
    found = {
        where: leaks(text, secrets, recorder.tokens)
        for where, text in {
            "DAG run output (task logs)": result.output,
            "XCom": "\n".join(xcoms),
            "Airflow metadata": metadata,
            "PostgreSQL rows": every_row(pg_dsn),
        }.items()
    }
    assert found == dict.fromkeys(found, [])


def test_a_run_whose_secret_sophos_rejects_shows_no_secret_anywhere(airflow_home, pg_dsn, secret_dataset):
    dataset, path = secret_dataset
    seed_platform(pg_dsn, dataset)
    with run_simulator(dataset_path=path, today=TODAY) as sim, TokenRecorder(sim.base_url) as recorder:
        env = {
            **connections(pg_dsn, sim, recorder, [WRONG_SECRET, *SECRETS[1:]]),
            "AIRFLOW__LOGGING__LOGGING_LEVEL": DAG_LOG_LEVEL,
        }
        result = MonthRunner(airflow_home, pg_dsn, sim, extra_env=env).run(OCTOBER)
    assert result.returncode != 0
    # the failing task's log and the failure callback's alert (also written to sync_runs once the run has a row)
    assert (
        "SophosAuthError: connection 'sophos_default': Sophos rejected the client credentials "
        "(oauth.invalid_client_secret" in result.output
    )
    assert "Sophos sync failed: DAG sophos_monthly_sync" in result.output

    xcoms, metadata = airflow_records(airflow_home)
    secrets = [WRONG_SECRET, *SECRETS, DB_PASSWORD]
    found = {
        where: leaks(text, secrets, recorder.tokens)
        for where, text in {
            "DAG run output (task logs)": result.output,
            "XCom": "\n".join(xcoms),
            "Airflow metadata": metadata,
            "PostgreSQL rows": every_row(pg_dsn),
        }.items()
    }
    assert found == dict.fromkeys(found, [])


def test_at_debug_no_log_record_or_exception_carries_a_secret_or_token(
    secret_dataset, monkeypatch, pg_dsn, caplog, capfd
):
    dataset, path = secret_dataset
    seed_platform(pg_dsn, dataset)
    with (
        run_simulator(dataset_path=path, today=TODAY) as sim,
        TokenRecorder(sim.base_url) as recorder,
        caplog.at_level(logging.DEBUG),
    ):
        sync = Sync(monkeypatch, pg_dsn, sim)
        for name, value in connections(pg_dsn, sim, recorder, SECRETS).items():
            monkeypatch.setenv(name, value)
        sync_run_id = sync.run_month(OCTOBER)
        monkeypatch.setenv(
            "AIRFLOW_CONN_SOPHOS_DEFAULT",
            connections(pg_dsn, sim, recorder, [WRONG_SECRET])["AIRFLOW_CONN_SOPHOS_DEFAULT"],
        )
        failed_run = sync.start(OCTOBER, dag_run_id="manual__wrong_secret")
        with pytest.raises(SophosAuthError, match=r"oauth\.invalid_client_secret") as refused:
            stages.report_available(months.parse_month(OCTOBER), ["sophos_default"])
        # what Airflow does with the failure: the callback records the message in sync_runs
        notify.on_failure({"run_id": "manual__wrong_secret", "exception": refused.value})
    assert run_status(pg_dsn, sync_run_id) == "succeeded"
    assert run_status(pg_dsn, failed_run) == "failed"
    assert len(recorder.tokens) >= 2 * len(SECRETS)
    assert any(r.levelno == logging.DEBUG for r in caplog.records)

    exception = "".join(traceback.format_exception(refused.value)) + repr(refused.value.args)
    secrets = [WRONG_SECRET, *SECRETS, DB_PASSWORD]
    found = {
        where: leaks(text, secrets, recorder.tokens)
        for where, text in {
            "log records": caplog.text + "\n".join(r.getMessage() for r in caplog.records),
            "console output": "".join(capfd.readouterr()),
            "exception": exception,
            "PostgreSQL rows": every_row(pg_dsn),
        }.items()
    }
    assert found == dict.fromkeys(found, [])


def test_connection_uris_in_a_log_line_are_masked_once_the_connections_were_read(monkeypatch, pg_dsn, pg_server_dsn):
    """Airflow masks what is registered with its secrets masker in task logs; reading a connection the
    production way registers its password, as given and as a URI spells it (percent-encoded). The passwords
    are this test's own, so no earlier test has registered them."""
    from airflow.sdk._shared.secrets_masker import redact

    from sophos_sync.sophos.hook import SophosHook

    tag = uuid.uuid4().hex
    db_password, secret = f"pg-{tag}/+&=@", f"sk-{tag}+/=&%?"
    login = f"masked_{tag[:8]}"
    with psycopg.connect(pg_server_dsn, autocommit=True) as admin:
        admin.execute(
            sql.SQL("CREATE ROLE {} LOGIN SUPERUSER PASSWORD {}").format(
                sql.Identifier(login), sql.Literal(db_password)
            )
        )
    params = psycopg.conninfo.conninfo_to_dict(pg_dsn)
    db_uri = f"postgresql://{login}:{quote(db_password, safe='')}@{params['host']}:{params['port']}/{params['dbname']}"
    sophos_uri = f"http://client-1:{quote(secret, safe='')}@127.0.0.1:9?api_host_override=http%3A%2F%2F127.0.0.1%3A9"
    lines = [f"could not reach {db_uri}", f"calling {sophos_uri}", f"passwords {db_password} and {secret}"]
    assert [redact(line) for line in lines] == lines
    monkeypatch.delenv("SOPHOS_SYNC_DB_DSN", raising=False)
    monkeypatch.setenv(f"AIRFLOW_CONN_{settings.DB_CONN_ID.upper()}", db_uri)
    monkeypatch.setenv("AIRFLOW_CONN_SOPHOS_DEFAULT", sophos_uri)

    try:
        stages.ensure_schema()
    finally:
        with psycopg.connect(pg_server_dsn, autocommit=True) as admin:
            admin.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(login)))
    SophosHook("sophos_default").get_client().close()

    assert [leaks(redact(line), [db_password, secret], []) for line in lines] == [[], [], []]
    assert redact(lines[0]).startswith(f"could not reach postgresql://{login}:***@")
