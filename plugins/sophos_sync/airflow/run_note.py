"""The DAG run note: one line that the Airflow grid shows beside the run, written by the DAG itself: the
month as soon as it is decided, the run summary at the end of *Reconcile and report*, the failure from the
failure callback. The summary's own words are sophos_sync.run.report's.

Airflow 3 tasks have no metadata-database access and the Execution API cannot change a note, so the note
is written the supported way, through the public REST API (`PATCH /api/v2/dags/{dag_id}/dagRuns/{run_id}`),
with a JWT from `POST /auth/token`. Where that API is, and as whom, is the Airflow connection
`airflow_api` (conn type http: host = the api-server's URL, login/password = a user who may edit DAG runs).
Without that connection (`airflow dags test`) the note is logged in one line instead, and the run goes on.
"""

from __future__ import annotations

import logging
from urllib.parse import quote

import httpx

from sophos_sync.run.report import MAX_NOTE_CHARS
from sophos_sync.settings import settings

log = logging.getLogger(__name__)

TIMEOUT_SECONDS = 10


def api_token(base_url: str, username: str, password: str, timeout: float = TIMEOUT_SECONDS) -> str:
    """A JWT for the public REST API (Airflow 3: POST /auth/token with the user's login)."""
    response = httpx.post(
        f"{base_url.rstrip('/')}/auth/token", json={"username": username, "password": password}, timeout=timeout
    )
    if response.status_code >= 400:
        raise PermissionError(
            f"Airflow at {base_url} refused a token for user {username!r} (HTTP {response.status_code}); "
            "check the login and password of the API connection"
        )
    return response.json()["access_token"]


def started_line(billing_month: str, how: str) -> str:
    """The note while the run works, e.g. `2026-09 running: the billing_month param`."""
    return f"{billing_month} running: {how}"[:MAX_NOTE_CHARS]


def failure_line(billing_month: str | None, task: str, exception: BaseException | None) -> str:
    """e.g. `2026-10 failed in Validate against the data contracts: ContractViolation: tenant: field ...`."""
    what = " ".join(f"{type(exception).__name__}: {exception}".split()) if exception else "no exception recorded"
    return f"{billing_month or 'run'} failed in {task}: {what}"[:MAX_NOTE_CHARS]


def set_run_note(run_id: str, note: str, dag_id: str = settings.DAG_ID, conn_id: str | None = None) -> bool:
    """Writes `note` on the DAG run; False (and one log line with the note) when no API connection is configured."""
    conn_id = conn_id or settings.AIRFLOW_API_CONN_ID
    api = _api_connection(conn_id)
    if api is None:
        log.info("no Airflow connection %r, so the DAG run note is not written: %s", conn_id, note)
        return False
    base_url, username, password = api
    token = api_token(base_url, username, password)
    response = httpx.patch(
        f"{base_url}/api/v2/dags/{quote(dag_id, safe='')}/dagRuns/{quote(run_id, safe='')}",
        params={"update_mask": "note"},
        json={"note": note[:MAX_NOTE_CHARS]},
        headers={"Authorization": f"Bearer {token}"},
        timeout=TIMEOUT_SECONDS,
    )
    if response.status_code >= 400:
        raise RuntimeError(
            f"Airflow at {base_url} did not take the note of DAG run {run_id} (HTTP {response.status_code}: "
            f"{response.text[:200]}); check that user {username!r} may edit DAG runs"
        )
    log.info("DAG run note set: %s", note)
    return True


def annotate(run_id: str, note: str, dag_id: str = settings.DAG_ID, conn_id: str | None = None) -> bool:
    """Sets `note` on the DAG run. Never raises: a missing note must not fail the run (or hide its failure)."""
    try:
        return set_run_note(run_id, note, dag_id=dag_id, conn_id=conn_id)
    except Exception as exc:  # noqa: BLE001 - any failure here is reported, never raised
        log.warning("could not set the DAG run note (the run itself is fine): %s", exc)
        return False


def _api_connection(conn_id: str) -> tuple[str, str, str] | None:
    try:
        from airflow.sdk import BaseHook

        conn = BaseHook.get_connection(conn_id)
    except Exception:  # noqa: BLE001 - not-found differs by Airflow context; all mean "not configured"
        return None
    host = (conn.host or "").rstrip("/")
    if not host.startswith(("http://", "https://")):
        scheme = conn.schema or "http"
        host = f"{scheme}://{host}" + (f":{conn.port}" if conn.port else "")
    return host, conn.login or "", conn.password or ""
