"""Pure logic of the Sophos client: backoff, Retry-After, token bookkeeping, retry and paging decisions.

HTTP answers come from httpx.MockTransport so every branch is exact and fast; the real thing over HTTP is
tests/integration/sophos/test_client_simulator.py against the simulator.
"""

from __future__ import annotations

import itertools
import logging
import random
import threading
import time
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

import httpx
import pytest

from sophos_sync.errors import ConfigurationError, ReportNotAvailable, SophosApiError, SophosAuthError
from sophos_sync.sophos.client import SophosClient
from sophos_sync.sophos.http import AccessToken, backoff_delay, parse_retry_after

SECRET = "s3cr3t-client-secret-value"
PARTNER = "11111111-1111-1111-1111-111111111111"


# --- backoff ---------------------------------------------------------------------------------------------------


def test_backoff_stays_within_the_doubling_ceiling_and_the_cap():
    rng = random.Random(7)
    for attempt, ceiling in [(1, 0.5), (2, 1.0), (3, 2.0), (4, 4.0), (5, 5.0), (9, 5.0)]:
        waits = [backoff_delay(attempt, base=0.5, cap=5.0, rng=rng) for _ in range(400)]
        assert all(0.0 <= w <= ceiling for w in waits)
        # Full jitter: the whole range is used, not a fixed step.
        assert max(waits) > 0.8 * ceiling and min(waits) < 0.2 * ceiling


# --- Retry-After -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("value, seconds", [("3", 3.0), (" 1.5 ", 1.5), ("0", 0.0), ("-4", 0.0)])
def test_retry_after_in_seconds_is_read(value, seconds):
    assert parse_retry_after(value) == seconds


def test_retry_after_as_http_date_is_seconds_from_now():
    now = datetime(2026, 10, 26, 6, 0, 0, tzinfo=timezone.utc)
    assert parse_retry_after(format_datetime(now + timedelta(seconds=12), usegmt=True), now=now) == 12.0
    assert parse_retry_after(format_datetime(now - timedelta(seconds=12), usegmt=True), now=now) == 0.0


@pytest.mark.parametrize("value", [None, "", "soon", "nan"])
def test_unreadable_retry_after_is_none(value):
    assert parse_retry_after(value) is None


# --- token bookkeeping -----------------------------------------------------------------------------------------


def test_token_is_refreshed_a_minute_before_a_one_hour_expiry():
    token = AccessToken.issued("abc", 3600, requested_at=1000.0)
    assert token.refresh_at == 1000.0 + 3600 - 60
    assert token.usable(4539.9) and not token.usable(4540.0)


def test_short_lived_token_keeps_a_tenth_of_its_life_as_margin():
    token = AccessToken.issued("abc", "5", requested_at=0.0)
    assert token.refresh_at == pytest.approx(4.5)


@pytest.mark.parametrize("expires_in", [None, "x", 0, -5])
def test_token_without_usable_lifetime_assumes_sophos_one_hour(expires_in):
    assert AccessToken.issued("abc", expires_in, requested_at=0.0).refresh_at == 3600 - 60


def test_token_repr_does_not_show_its_value():
    assert "abc-token" not in repr(AccessToken.issued("abc-token", 3600, requested_at=0.0))


# --- a scripted Sophos behind MockTransport --------------------------------------------------------------------


class ScriptedSophos:
    """Answers like Sophos; `faults` maps a path to a list of responses served (in order) before the real one."""

    def __init__(
        self,
        tenants=250,
        billing_lines=25,
        max_size=100,
        id_type="partner",
        api_host="https://api-eu01.central.sophos.com",
    ):
        self.tenants = [
            {"id": f"t-{i:04d}", "name": f"Tenant {i}", "apiHost": api_host if i % 2 else None} for i in range(tenants)
        ]
        self.billing_lines = [{"orderLineItemNumber": str(i)} for i in range(billing_lines)]
        self.max_size = max_size
        self.id_type = id_type
        self.faults: dict[str, list[httpx.Response]] = {}
        self.forbidden: set[str] = set()
        self.calls: list[httpx.Request] = []
        self.token_calls = 0
        self.valid_tokens: set[str] = set()
        self.in_flight = self.max_in_flight = 0
        self.license_delay = 0.0
        self.lock = threading.Lock()

    def paths(self, prefix=""):
        return [r.url.path for r in self.calls if r.url.path.startswith(prefix)]

    def __call__(self, request: httpx.Request) -> httpx.Response:
        with self.lock:
            self.calls.append(request)
            queued = self.faults.get(request.url.path)
            if queued:
                fault = queued.pop(0)
                if isinstance(fault, Exception):
                    raise fault
                return fault
        if request.url.path == "/oauth2/token":
            with self.lock:
                self.token_calls += 1
                token = f"bearer-token-{self.token_calls}"
                self.valid_tokens.add(token)
            return httpx.Response(
                200, json={"access_token": token, "token_type": "bearer", "expires_in": 3600, "errorCode": "success"}
            )
        if request.headers.get("Authorization", "").removeprefix("Bearer ") not in self.valid_tokens:
            return httpx.Response(401, json={"error": "Unauthorized", "message": "token expired"})
        if request.url.path == "/whoami/v1":
            return httpx.Response(
                200,
                json={
                    "id": PARTNER,
                    "idType": self.id_type,
                    "apiHosts": {"global": "https://partner-api.central.sophos.com"},
                },
            )
        if request.url.path == "/partner/v1/tenants":
            page, size = int(request.url.params["page"]), int(request.url.params["pageSize"])
            size = min(size, self.max_size)
            chunk = self.tenants[(page - 1) * size : page * size]
            total = max(1, -(-len(self.tenants) // size))
            return httpx.Response(
                200,
                json={
                    "items": chunk,
                    "pages": {
                        "current": page,
                        "size": size,
                        "total": total,
                        "items": len(self.tenants),
                        "maxSize": self.max_size,
                    },
                },
            )
        if request.url.path.startswith("/partner/v1/billing/usage/"):
            if not self.billing_lines:
                return httpx.Response(404, json={"error": "NotFound", "message": "no report"})
            size = int(request.url.params["pageSize"])
            start = int(request.url.params.get("pageFromKey", "0"))
            pages = {"size": size}
            if "pageTotal" in request.url.params:
                pages["items"] = len(self.billing_lines)
            if start + size < len(self.billing_lines):
                pages["nextKey"] = str(start + size)
            return httpx.Response(200, json={"items": self.billing_lines[start : start + size], "pages": pages})
        if request.url.path == "/licenses/v1/licenses":
            tenant = request.headers["X-Tenant-ID"]
            if tenant in self.forbidden:
                return httpx.Response(403, json={"error": "Forbidden", "message": "not your tenant"})
            with self.lock:
                self.in_flight += 1
                self.max_in_flight = max(self.max_in_flight, self.in_flight)
            time.sleep(self.license_delay)
            with self.lock:
                self.in_flight -= 1
            return httpx.Response(200, json={"tenant": {"id": tenant}, "licenses": [{"id": f"lic-{tenant}"}]})
        return httpx.Response(404, json={"error": "NotFound", "message": request.url.path})


@pytest.fixture
def sophos():
    return ScriptedSophos()


@pytest.fixture
def sleeps():
    return []


@pytest.fixture
def make_client(sophos, sleeps):
    clients = []

    def make(**overrides):
        options = dict(
            client_id="client-id",
            client_secret=SECRET,
            name="sophos_test",
            token_url="https://id.sophos.com/oauth2/token",
            global_url="https://api.central.sophos.com",
            api_host_override=None,
            max_attempts=4,
            backoff_base=0.01,
            backoff_cap=0.05,
            sleep=sleeps.append,
            transport=httpx.MockTransport(sophos),
            page_size=10,
        )
        options.update(overrides)
        client = SophosClient(**options)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


# --- token -----------------------------------------------------------------------------------------------------


def test_token_is_fetched_once_and_reused_across_calls(make_client, sophos):
    client = make_client()
    list(client.tenants())
    list(client.billing_usage(2026, 10))
    assert sophos.token_calls == 1
    token_request = sophos.calls[0]
    assert dict(httpx.QueryParams(token_request.content.decode())) == {
        "grant_type": "client_credentials",
        "client_id": "client-id",
        "client_secret": SECRET,
        "scope": "token",
    }


def test_rejected_credentials_fail_at_once_naming_connection_and_sophos_code(make_client, sophos, sleeps):
    sophos.faults["/oauth2/token"] = [
        httpx.Response(
            400,
            json={"errorCode": "oauth.invalid_client_secret", "message": "Invalid client secret", "trackingId": "x"},
        )
    ]
    with pytest.raises(SophosAuthError) as error:
        make_client().whoami()
    message = str(error.value)
    assert "'sophos_test'" in message and "oauth.invalid_client_secret" in message
    assert SECRET not in message and "client-id" not in message
    assert sophos.token_calls == 0 and len(sophos.calls) == 1 and sleeps == []


def test_expired_token_is_renewed_once_and_the_call_retried(make_client, sophos):
    client = make_client()
    client.whoami()
    sophos.valid_tokens.clear()  # the server forgets the token, as after its hour
    assert len(list(client.tenants())) == 250
    assert sophos.token_calls == 2


def test_persistent_401_is_an_auth_error_after_one_reauthentication(make_client, sophos):
    client = make_client()
    sophos.faults["/whoami/v1"] = [httpx.Response(401, json={"error": "Unauthorized", "message": "nope"})] * 2
    with pytest.raises(SophosAuthError, match=r"'sophos_test'.*HTTP 401: Unauthorized: nope"):
        client.whoami()
    assert sophos.token_calls == 2 and sophos.paths("/whoami") == ["/whoami/v1"] * 2


def test_cut_token_answer_is_retried_and_never_quoted(make_client, sophos):
    cut = httpx.Response(200, text='{"access_token": "bearer-token-partial-abc')
    sophos.faults["/oauth2/token"] = [cut] * 4
    with pytest.raises(SophosApiError, match=r"unusable body: not JSON \(JSONDecodeError\) \(\d+ bytes\)") as error:
        make_client().whoami()
    assert "bearer-token-partial" not in str(error.value)


def test_partner_api_forbidden_is_an_auth_error_saying_what_to_check(make_client, sophos, sleeps):
    sophos.faults["/partner/v1/tenants"] = [httpx.Response(403, json={"error": "Forbidden", "message": "role"})]
    with pytest.raises(SophosAuthError, match=r"'sophos_test'.*HTTP 403: Forbidden: role.*partner role"):
        list(make_client().tenants())
    assert sleeps == []


# --- retries ---------------------------------------------------------------------------------------------------


def test_429_waits_exactly_what_retry_after_asks(make_client, sophos, sleeps):
    sophos.faults["/whoami/v1"] = [httpx.Response(429, headers={"Retry-After": "2"}, json={"message": "slow"})]
    assert make_client().whoami().id == PARTNER
    assert sleeps == [2.0]


def test_5xx_and_dropped_connections_are_retried_with_jittered_backoff(make_client, sophos, sleeps, caplog):
    sophos.faults["/whoami/v1"] = [
        httpx.Response(503, json={"message": "busy"}),
        httpx.RemoteProtocolError("peer closed connection"),
        httpx.ReadTimeout("timed out"),
    ]
    with caplog.at_level(logging.WARNING, logger="sophos_sync.sophos.client"):
        assert make_client().whoami().id == PARTNER
    assert len(sleeps) == 3 and all(0 <= s <= 0.05 for s in sleeps)
    retry_lines = [r.getMessage() for r in caplog.records]
    assert len(retry_lines) == 3
    assert "server error (503)" in retry_lines[0] and "retry 1/3" in retry_lines[0]
    assert "RemoteProtocolError" in retry_lines[1] and "ReadTimeout" in retry_lines[2]


def test_truncated_json_body_is_retried_like_a_server_error(make_client, sophos, sleeps):
    truncated = httpx.Response(200, text='{"id": "1111', headers={"content-type": "application/json"})
    sophos.faults["/whoami/v1"] = [truncated]
    assert make_client().whoami().id == PARTNER
    assert len(sleeps) == 1


def test_giving_up_names_url_status_and_sophos_message(make_client, sophos):
    sophos.faults["/partner/v1/tenants"] = [httpx.Response(502, json={"message": "bad gateway today"})] * 4
    client = make_client()
    with pytest.raises(SophosApiError) as error:
        list(client.tenants())
    message = str(error.value)
    assert (
        "after 4 attempts" in message and "https://partner-api.central.sophos.com/partner/v1/tenants?page=1" in message
    )
    assert "server error (502): bad gateway today" in message
    assert len(sophos.paths("/partner/v1/tenants")) == 4


def test_unusable_body_error_shows_a_short_snippet(make_client, sophos):
    sophos.faults["/whoami/v1"] = [httpx.Response(200, text="<html>" + "x" * 5000)] * 4
    with pytest.raises(SophosApiError, match=r"unusable body: not JSON .*<html>x+\.\.\.") as error:
        make_client().whoami()
    assert len(str(error.value)) < 800


def test_retry_after_beyond_the_deadline_gives_up_without_waiting(make_client, sophos, sleeps):
    sophos.faults["/whoami/v1"] = [httpx.Response(429, headers={"Retry-After": "600"})]
    with pytest.raises(SophosApiError, match="deadline 60 s"):
        make_client(deadline_seconds=60).whoami()
    assert sleeps == []


def test_client_errors_other_than_auth_are_not_retried(make_client, sophos, sleeps):
    sophos.faults["/partner/v1/tenants"] = [httpx.Response(400, json={"error": "BadRequest", "message": "pageSize"})]
    with pytest.raises(SophosApiError, match=r"HTTP 400 \(BadRequest: pageSize\); not retried"):
        list(make_client().tenants())
    assert sleeps == []


# --- whoami and routing ----------------------------------------------------------------------------------------


def test_non_partner_credential_is_a_configuration_error(make_client, sophos):
    sophos.id_type = "tenant"
    with pytest.raises(ConfigurationError, match="belongs to a tenant.*needs a partner credential"):
        make_client().whoami()


def test_every_endpoint_goes_to_the_host_sophos_documents_for_it(make_client, sophos):
    """whoami on the global URL; tenants, billing and licences on the global host whoami names (Sophos's
    collection calls https://api.central.sophos.com/licenses/v1/licenses with X-Tenant-ID), never on a
    tenant's regional apiHost: that is data, and the bearer token does not follow data."""
    client = make_client()
    tenants = list(client.tenants())
    list(client.licenses(t["id"] for t in tenants[:4]))
    list(client.billing_usage(2026, 10))
    hosts = {r.url.path: {c.url.host for c in sophos.calls if c.url.path == r.url.path} for r in sophos.calls}
    assert hosts["/whoami/v1"] == {"api.central.sophos.com"}
    assert hosts["/partner/v1/tenants"] == {"partner-api.central.sophos.com"}
    assert hosts["/partner/v1/billing/usage/2026/10"] == {"partner-api.central.sophos.com"}
    assert hosts["/licenses/v1/licenses"] == {"partner-api.central.sophos.com"}
    assert sorted(r.headers["X-Tenant-ID"] for r in sophos.calls if r.url.path == "/licenses/v1/licenses") == [
        t["id"] for t in tenants[:4]
    ]
    assert all(r.headers["X-Partner-ID"] == PARTNER for r in sophos.calls if r.url.path.startswith("/partner/"))


def test_host_override_with_user_and_password_is_refused_without_showing_them(make_client):
    with pytest.raises(ConfigurationError) as caught:
        make_client(api_host_override="https://proxy-user:proxy-pass@proxy.example.net:8443")
    message = str(caught.value)
    assert "carries user:password" in message and "https://proxy.example.net:8443" in message
    assert "proxy-pass" not in message and "proxy-user" not in message


def test_host_override_receives_every_api_call(make_client, sophos):
    client = make_client(api_host_override="http://127.0.0.1:9999/")
    list(client.licenses(t["id"] for t in list(client.tenants())[:4]))
    api_calls = [r for r in sophos.calls if r.url.path != "/oauth2/token"]
    assert {(r.url.host, r.url.port) for r in api_calls} == {("127.0.0.1", 9999)}


# --- paging ----------------------------------------------------------------------------------------------------


def test_tenant_paging_reads_every_page_once_and_stops_at_the_total(make_client, sophos):
    items = list(make_client().tenants())
    assert [t["id"] for t in items] == [t["id"] for t in sophos.tenants]
    assert [r.url.params["page"] for r in sophos.calls if r.url.path == "/partner/v1/tenants"] == ["1", "2", "3"]


def test_tenant_paging_moves_up_to_the_servers_max_size(make_client, sophos):
    sophos.max_size = 500
    items = list(make_client().tenants())
    assert len(items) == 250
    sizes = [r.url.params["pageSize"] for r in sophos.calls if r.url.path == "/partner/v1/tenants"]
    assert sizes == ["100", "500"]


def test_tenant_paging_stops_at_the_page_cap(make_client, sophos):
    with pytest.raises(SophosApiError, match=r"reports 3 pages of tenants, more than SOPHOS_SYNC_MAX_PAGES \(2\)"):
        list(make_client(max_pages=2).tenants())


def test_billing_usage_follows_next_keys_and_reports_sophos_count(make_client, sophos):
    usage = make_client().billing_usage(2026, 10)
    assert usage.reported_count == 25
    lines = list(usage)
    assert lines == sophos.billing_lines and usage.fetched_count == 25 and usage.pages_read == 3
    keys = [r.url.params.get("pageFromKey") for r in sophos.calls if "/billing/" in r.url.path]
    assert keys == [None, "10", "20"]
    assert sophos.paths("/partner/v1/billing/usage/")[0] == "/partner/v1/billing/usage/2026/10"


def test_missing_billing_report_raises_report_not_available(make_client, sophos):
    sophos.billing_lines = []
    client = make_client()
    with pytest.raises(ReportNotAvailable, match="2026-03"):
        client.billing_usage(2026, 3)
    assert client.billing_report_exists(2026, 3) is False


def test_billing_report_probe_asks_for_one_line(make_client, sophos):
    assert make_client().billing_report_exists(2026, 10) is True
    assert sophos.calls[-1].url.params["pageSize"] == "1"


def test_billing_server_repeating_a_page_key_is_stopped(make_client, sophos):
    looping = httpx.Response(200, json={"items": [{"n": 1}], "pages": {"nextKey": "again"}})
    sophos.faults["/partner/v1/billing/usage/2026/10"] = [looping, looping, looping]
    with pytest.raises(SophosApiError, match="seems to loop"):
        list(make_client().billing_usage(2026, 10))
    assert len(sophos.paths("/partner/v1/billing")) == 2


def test_billing_paging_stops_at_the_page_cap(make_client, sophos):
    sophos.billing_lines = [{"n": i} for i in range(100)]
    with pytest.raises(SophosApiError, match="5 pages"):
        list(make_client(max_pages=5).billing_usage(2026, 10))


def test_billing_usage_can_only_be_iterated_once(make_client):
    usage = make_client().billing_usage(2026, 10)
    list(usage)
    with pytest.raises(RuntimeError, match="read once"):
        list(usage)


# --- licences --------------------------------------------------------------------------------------------------


def test_forbidden_tenant_is_skipped_with_its_reason(make_client, sophos):
    sophos.forbidden = {"t-0002"}
    results = {r.tenant_id: r for r in make_client().licenses(t["id"] for t in sophos.tenants[:5])}
    assert set(results) == {f"t-000{i}" for i in range(5)}
    assert results["t-0002"].licenses is None
    assert results["t-0002"].skipped_reason == "403 forbidden: Forbidden: not your tenant"
    assert results["t-0001"].licenses == [{"id": "lic-t-0001"}] and results["t-0001"].skipped_reason is None


def test_licenses_run_with_the_configured_concurrency_at_most(make_client, sophos):
    sophos.license_delay = 0.02
    results = list(make_client(concurrency=4).licenses(t["id"] for t in sophos.tenants[:40]))
    assert len(results) == 40
    assert sophos.max_in_flight == 4


def test_licenses_stream_while_reading_input_only_a_window_ahead(make_client, sophos):
    pulled = []

    def tenants():
        for i in range(10_000):
            pulled.append(i)
            yield f"t-{i}"

    stream = make_client(concurrency=3).licenses(tenants())
    first = list(itertools.islice(stream, 7))
    stream.close()
    assert len(first) == 7
    assert len(pulled) <= 7 + 2 * 3


def test_a_failing_tenant_fails_the_stream(make_client, sophos):
    sophos.faults["/licenses/v1/licenses"] = [httpx.Response(500, json={"message": "boom"})] * 4
    with pytest.raises(SophosApiError, match="boom"):
        list(make_client(concurrency=1).licenses(["t-0000", "t-0001"]))


# --- secrets ---------------------------------------------------------------------------------------------------


def test_neither_secret_nor_token_shows_in_repr_or_logs(make_client, sophos, caplog):
    sophos.faults["/whoami/v1"] = [httpx.Response(401, json={"message": "expired"}), httpx.Response(503)]
    sophos.forbidden = {"t-0001"}
    with caplog.at_level(logging.DEBUG):
        client = make_client()
        list(client.licenses(t["id"] for t in client.tenants()))
        list(client.billing_usage(2026, 10))
    assert "retry 1/3" in caplog.text and "re-authenticating" in caplog.text  # the run did log
    assert SECRET not in caplog.text and "bearer-token-" not in caplog.text
    assert SECRET not in repr(client) and "bearer-token-" not in repr(client)


def test_missing_credentials_are_a_configuration_error():
    with pytest.raises(ConfigurationError, match="client id and client secret are both required"):
        SophosClient(client_id="id", client_secret="", name="sophos_test")
