"""SophosClient against the real simulator over HTTP on 127.0.0.1: exact data, faults, auth, report availability."""

from __future__ import annotations

import logging
import threading
from collections import Counter

import httpx
import pytest

from simulator.testing import run_simulator
from sophos_sync.errors import ReportNotAvailable, SophosAuthError
from sophos_sync.sophos.client import SophosClient

MONTH = "2026-10"
TODAY = "2026-10-27"


class RecordingTransport(httpx.HTTPTransport):
    """The real HTTP transport, noting which bearer token each API request carried."""

    def __init__(self) -> None:
        super().__init__()
        self.lock = threading.Lock()
        self.bearers: list[tuple[str, str]] = []  # (path, token)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        authorization = request.headers.get("Authorization", "")
        if authorization:
            with self.lock:
                self.bearers.append((request.url.path, authorization.removeprefix("Bearer ")))
        return super().handle_request(request)


def _client(sim, credential, **options) -> SophosClient:
    client_id, secret, _ = credential
    return SophosClient(
        client_id=client_id,
        client_secret=secret,
        name="sophos_it",
        token_url=sim.token_url,
        api_host_override=sim.base_url,
        **options,
    )


def _fetch_all(client: SophosClient, extra_tenants=()):
    tenants = list(client.tenants())
    results = list(client.licenses([t["id"] for t in tenants] + list(extra_tenants)))
    usage = client.billing_usage(2026, 10)
    lines = list(usage)
    return tenants, results, usage, lines


def _assert_exactly(partner: dict, tenants, results, usage, lines) -> None:
    assert tenants == partner["tenants"]  # same objects, same order, nothing twice
    licensed = [r for r in results if r.licenses is not None]
    assert Counter(r.tenant_id for r in licensed) == Counter(list(partner["licenses"]))  # each tenant exactly once
    assert {r.tenant_id: r.licenses for r in licensed} == partner["licenses"]
    assert lines == partner["billing"][MONTH]
    assert usage.reported_count == len(partner["billing"][MONTH]) == usage.fetched_count


def test_clean_run_fetches_every_partners_dataset_verbatim():
    with run_simulator(scale="small", today=TODAY) as sim:
        dataset = sim.dataset([MONTH])
        for credential, partner in zip(sim.credentials, dataset["partners"], strict=True):
            with _client(sim, credential, page_size=50) as client:
                assert client.whoami().id == credential[2]
                _assert_exactly(partner, *_fetch_all(client))


@pytest.mark.slow  # every partner's dataset through every fault the simulator has
def test_every_fault_at_once_still_fetches_exactly_the_dataset(caplog):
    with run_simulator(
        scale="medium",
        today=TODAY,
        latency_ms=5,
        rate_limit="200/s",
        error_rate=0.05,
        drop_rate=0.03,
        malformed_page_rate=0.05,
        token_ttl=1,
        fault_seed=11,
    ) as sim:
        dataset = sim.dataset([MONTH])
        mine, other = dataset["partners"][0], dataset["partners"][1]
        foreign = other["tenants"][0]["id"]
        transport = RecordingTransport()
        with (
            caplog.at_level(logging.DEBUG),
            _client(sim, sim.credentials[0], transport=transport, backoff_base=0.05, backoff_cap=1.0) as client,
        ):
            tenants, results, usage, lines = _fetch_all(client, extra_tenants=[foreign])

    _assert_exactly(mine, tenants, results, usage, lines)
    skipped = [r for r in results if r.licenses is None]
    assert [(r.tenant_id, r.skipped_reason) for r in skipped] == [
        (foreign, "403 forbidden: Forbidden: The tenant does not belong to the authorized partner")
    ]
    assert len(tenants) > 100 and usage.pages_read > 10  # both paging styles really paged

    # The token lived 1 s, so it was renewed while the billing pages were being read.
    billing_tokens = [token for path, token in transport.bearers if "/billing/" in path]
    assert len(set(billing_tokens)) > 1

    retries = [
        r.getMessage() for r in caplog.records if r.name == "sophos_sync.sophos.client" and "; retry " in r.getMessage()
    ]
    for fault in ("rate limited (429)", "server error (50", "unusable body", "RemoteProtocolError"):
        assert any(fault in line for line in retries), f"no retry for {fault!r}: the faults did not happen"

    secret = sim.credentials[0][1]
    assert secret not in caplog.text
    assert not any(token in caplog.text for _, token in transport.bearers)


def test_billing_report_exists_from_the_report_day_on():
    with run_simulator(scale="small", today="2026-10-25") as sim, _client(sim, sim.credentials[0]) as client:
        assert client.billing_report_exists(2026, 10) is False
        with pytest.raises(ReportNotAvailable, match="2026-10"):
            client.billing_usage(2026, 10)
        sim.set_today("2026-10-26")
        assert client.billing_report_exists(2026, 10) is True
        assert len(list(client.billing_usage(2026, 10))) == len(sim.billing(0, MONTH))


def test_wrong_secret_is_rejected_at_once_naming_the_connection(caplog):
    with run_simulator(scale="small", today=TODAY) as sim:
        client_id, _, partner_id = sim.credentials[0]
        wrong = "not-the-secret-0123456789"
        with (
            SophosClient(
                client_id=client_id,
                client_secret=wrong,
                name="sophos_eu",
                token_url=sim.token_url,
                api_host_override=sim.base_url,
            ) as client,
            pytest.raises(SophosAuthError) as error,
        ):
            client.whoami()
    message = str(error.value)
    assert "connection 'sophos_eu'" in message and "oauth.invalid_client_secret" in message
    assert wrong not in message and wrong not in caplog.text
    assert "retry" not in caplog.text
