"""The DAG run note: a one-line run summary that the Airflow grid shows beside the run.

Airflow 3 tasks have no metadata-database access and the Execution API cannot change a note, so the note
is written the supported way, through the public REST API (`PATCH /api/v2/dags/{dag_id}/dagRuns/{run_id}`),
with a JWT from `POST /auth/token`. Where that API is, and as whom, is the Airflow connection
`airflow_api` (conn type http: host = the api-server's URL, login/password = a user who may edit DAG runs).
Without that connection (`airflow dags test`, the tests) writing the note is skipped.
"""
from __future__ import annotations

import logging
import os
from decimal import Decimal, InvalidOperation
from urllib.parse import quote

import httpx

log = logging.getLogger(__name__)

CONN_ID = os.environ.get("SOPHOS_SYNC_AIRFLOW_API_CONN_ID", "airflow_api")
DAG_ID = "sophos_monthly_sync"
MAX_NOTE_CHARS = 1000  # the REST API refuses longer notes
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


def _amount(value) -> str:
    try:
        return f"{Decimal(str(value)):,.2f}"
    except InvalidOperation:
        return str(value)


def one_line(summary: dict) -> str:
    """The run summary of sync_run.summary in one line, e.g.
    `2026-10 succeeded: 399 of 400 invoice lines loaded, 1 rejected · customers: 44 mapped, 16 unmapped
    (review list) · EUR 48,839.77 · USD 54,042.20`."""
    counts = summary.get("counts") or {}
    lines = (counts.get("reconcile") or {}).get("lines") or {}
    mapping = counts.get("mapping") or {}
    parts = []
    if lines:
        loaded = f"{lines.get('loaded', 0):,} of {lines.get('reported', 0):,} invoice lines loaded"
        if lines.get("rejected"):
            loaded += f", {lines['rejected']:,} rejected"
        parts.append(loaded)
    if mapping:
        mapped = mapping.get("mapped", 0) + mapping.get("auto_matched", 0)
        customers = f"customers: {mapped:,} mapped"
        if mapping.get("unmapped"):
            customers += f", {mapping['unmapped']:,} unmapped (review list)"
        parts.append(customers)
    amounts = (counts.get("reconcile") or {}).get("amounts") or {}
    parts += [f"{currency} {_amount(value)}" for currency, value in sorted(amounts.items())]
    head = f"{summary['billing_month']} {summary['status']}"
    return (f"{head}: " + " · ".join(parts) if parts else head)[:MAX_NOTE_CHARS]


def set_run_note(run_id: str, note: str, dag_id: str = DAG_ID, conn_id: str = CONN_ID) -> bool:
    """Writes `note` on the DAG run; False (and a debug line) when no API connection is configured."""
    api = _api_connection(conn_id)
    if api is None:
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


def annotate_run(summary: dict, dag_id: str = DAG_ID, conn_id: str = CONN_ID) -> bool:
    """Sets the one-line summary as the note of the summary's DAG run. Never raises: the month is already
    committed, and a missing note must not fail the run."""
    try:
        return set_run_note(summary["dag_run_id"], one_line(summary), dag_id=dag_id, conn_id=conn_id)
    except Exception as exc:  # noqa: BLE001 - any failure here is reported, never raised
        log.warning("could not set the DAG run note (the run itself is fine): %s", exc)
        return False


def _api_connection(conn_id: str) -> tuple[str, str, str] | None:
    try:
        from airflow.sdk import BaseHook

        conn = BaseHook.get_connection(conn_id)
    except Exception:  # noqa: BLE001 - not-found differs by Airflow context; all mean "not configured"
        log.debug("no Airflow connection %r: the DAG run note is not written", conn_id)
        return None
    host = (conn.host or "").rstrip("/")
    if not host.startswith(("http://", "https://")):
        scheme = conn.schema or "http"
        host = f"{scheme}://{host}" + (f":{conn.port}" if conn.port else "")
    return host, conn.login or "", conn.password or ""
