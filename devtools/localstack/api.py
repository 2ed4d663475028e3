"""The REST API v2 of a running Airflow api-server (the local stack's), as one user."""

from __future__ import annotations

import time
from pathlib import Path
from urllib.parse import quote

import httpx

from devtools.localstack.environment import LOGIN


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
