"""Each fault flag of the simulator, over real HTTP: what a client sees, and that a fault seed replays."""

from __future__ import annotations

import json
import time
from collections import Counter

import httpx
import pytest

from simulator.testing import run_simulator

TODAY = "2026-10-26"
SOPHOS_ERROR_KEYS = {"error", "message", "correlationId", "code", "createdAt", "requestId", "docUrl"}


def _login(http: httpx.Client, sim) -> dict:
    """Partner headers; retries the token call itself, since faults hit the token endpoint too."""
    client_id, secret, partner_id = sim.credentials[0]
    for _ in range(200):
        try:
            response = http.post(
                "/api/v2/oauth2/token",
                data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret},
            )
            token = response.json()["access_token"]
            return {"Authorization": f"Bearer {token}", "X-Partner-ID": partner_id}
        except (httpx.HTTPError, ValueError, KeyError):
            time.sleep(0.01)
    raise AssertionError("no token in 200 attempts")


def _outcome(http: httpx.Client, path: str, headers: dict) -> str:
    try:
        response = http.get(path, headers=headers)
    except httpx.RemoteProtocolError:
        return "dropped"
    if response.status_code != 200:
        return str(response.status_code)
    try:
        response.json()
    except json.JSONDecodeError:
        return "malformed"
    return "ok"


def test_error_rate_answers_500_502_503_with_the_sophos_error_body():
    with (
        run_simulator(scale="small", today=TODAY, error_rate=1.0) as sim,
        httpx.Client(base_url=sim.base_url, timeout=10) as http,
    ):
        responses = [http.get("/whoami/v1") for _ in range(40)]
        assert {r.status_code for r in responses} == {500, 502, 503}
        assert all(set(r.json()) == SOPHOS_ERROR_KEYS for r in responses)


def test_drop_rate_closes_the_connection_mid_response():
    with (
        run_simulator(scale="small", today=TODAY, drop_rate=1.0) as sim,
        httpx.Client(base_url=sim.base_url, timeout=10) as http,
    ):
        with pytest.raises(httpx.RemoteProtocolError):
            http.post("/api/v2/oauth2/token", data={"grant_type": "client_credentials"})
        with pytest.raises(httpx.RemoteProtocolError):
            http.get("/partner/v1/tenants")


def test_malformed_page_rate_truncates_data_pages_but_not_the_token():
    with (
        run_simulator(scale="small", today=TODAY, malformed_page_rate=1.0) as sim,
        httpx.Client(base_url=sim.base_url, timeout=10) as http,
    ):
        headers = _login(http, sim)
        for path in ("/partner/v1/tenants", "/partner/v1/billing/usage/2026/10"):
            response = http.get(path, headers=headers)
            assert response.status_code == 200
            assert int(response.headers["content-length"]) == len(response.content)
            with pytest.raises(json.JSONDecodeError):
                response.json()
        tenant_id = sim.world.partners[0].tenants[0]["id"]
        licenses = http.get("/licenses/v1/licenses", headers={**headers, "X-Tenant-ID": tenant_id})
        with pytest.raises(json.JSONDecodeError):
            licenses.json()


def test_rate_limit_answers_429_with_retry_after_and_the_sophos_error_body():
    with (
        run_simulator(scale="small", today=TODAY, rate_limit="2/s") as sim,
        httpx.Client(base_url=sim.base_url, timeout=10) as http,
    ):
        responses = [http.get("/whoami/v1") for _ in range(6)]
        limited = [r for r in responses if r.status_code == 429]
        assert responses[0].status_code == 401 and limited
        assert all(int(r.headers["retry-after"]) >= 1 and set(r.json()) == SOPHOS_ERROR_KEYS for r in limited)
        time.sleep(int(limited[-1].headers["retry-after"]))
        assert http.get("/whoami/v1").status_code == 401  # let through again (and unauthenticated)


def test_latency_delays_every_api_answer_but_not_the_control_endpoint():
    with (
        run_simulator(scale="small", today=TODAY, latency_ms=300) as sim,
        httpx.Client(base_url=sim.base_url, timeout=10) as http,
    ):
        started = time.monotonic()
        http.get("/whoami/v1")
        assert time.monotonic() - started >= 0.3
        started = time.monotonic()
        http.get("/_sim/health")
        assert time.monotonic() - started < 0.3


def test_faults_never_touch_the_control_endpoint():
    with (
        run_simulator(
            scale="small", today=TODAY, error_rate=1.0, drop_rate=1.0, malformed_page_rate=1.0, rate_limit="1/s"
        ) as sim,
        httpx.Client(base_url=sim.base_url, timeout=10) as http,
    ):
        for _ in range(5):
            assert http.get("/_sim/health").json()["status"] == "ok"
        sim.set_today("2026-11-26")
        assert http.get("/_sim/today").json()["today"] == "2026-11-26"


def _fault_sequence(fault_seed: int) -> list[str]:
    with (
        run_simulator(
            scale="small", today=TODAY, error_rate=0.2, drop_rate=0.15, malformed_page_rate=0.15, fault_seed=fault_seed
        ) as sim,
        httpx.Client(base_url=sim.base_url, timeout=10) as http,
    ):
        headers = _login(http, sim)
        # The login's own tries drew dice too, the same number each time for the same seed.
        return [_outcome(http, "/partner/v1/tenants", headers) for _ in range(60)]


def test_combined_faults_are_seeded_and_replay_for_the_same_seed():
    first, again, other = _fault_sequence(11), _fault_sequence(11), _fault_sequence(12)
    assert first == again
    assert first != other
    kinds = Counter(first)
    assert kinds["ok"] > 0 and kinds["dropped"] > 0 and kinds["malformed"] > 0
    assert sum(kinds[s] for s in ("500", "502", "503")) > 0
