"""A hostile API or configuration: the client secret and the bearer token go only to Sophos's hosts, and no
answer can make the client read without bound or page forever.

Each attack runs over real HTTP on 127.0.0.1: a hostile "Sophos" server (HostileServer) and an attacker's
listener that records whatever reaches it. Where the attack needs the client to believe it talks to
https://*.sophos.com, the client's transport sends those names to the hostile server (as a poisoned DNS or
a proxy would); every other name goes where it says, so a request for the listener reaches the listener.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from sophos_sync.errors import ConfigurationError, SophosApiError
from sophos_sync.settings import settings
from sophos_sync.sophos.client import SophosClient

PARTNER = "7b1e2a34-0000-4000-8000-000000000001"
SECRET = "sk-Hostile-Test-Secret-0001"
MB = 1024 * 1024


class HostileServer:
    """An HTTP server answering each path with a handler of the test's: handler(query) -> (status, body), the
    body as bytes, as an iterable of byte chunks (sent chunked, without Content-Length) or as a dict (JSON).
    Records every request and how many body bytes it managed to send."""

    def __init__(self, routes: dict[str, Callable[[dict], tuple[int, object]]] | None = None):
        self.routes = dict(routes or {})
        self.requests: list[dict] = []
        self.bytes_sent = 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def handle_any(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                parts = urlsplit(self.path)
                server.requests.append(
                    {
                        "path": parts.path,
                        "headers": dict(self.headers),
                        "body": self.rfile.read(length).decode(errors="replace"),
                    }
                )
                route = server.routes.get(parts.path)
                status, body = route(parse_qs(parts.query)) if route else (404, {"message": "no such path"})
                if isinstance(body, dict):
                    body = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                try:
                    if isinstance(body, bytes):
                        self.send_header("Content-Length", str(len(body)))
                        self.end_headers()
                        self.wfile.write(body)
                        server.bytes_sent += len(body)
                        return
                    self.send_header("Transfer-Encoding", "chunked")
                    self.end_headers()
                    for chunk in body:
                        self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                        server.bytes_sent += len(chunk)
                    self.wfile.write(b"0\r\n\r\n")
                except (BrokenPipeError, ConnectionResetError):
                    self.close_connection = True  # the client stopped reading: what a cap is for

            do_GET = do_POST = handle_any

            def log_message(self, *args) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def token(_query) -> tuple[int, dict]:
    return 200, {"access_token": "bearer-of-the-hostile-test", "token_type": "bearer", "expires_in": 3600}


def whoami(global_host: str) -> Callable[[dict], tuple[int, dict]]:
    return lambda _query: (200, {"id": PARTNER, "idType": "partner", "apiHosts": {"global": global_host}})


@pytest.fixture
def hostile():
    servers = []

    def make(routes=None) -> HostileServer:
        server = HostileServer(routes)
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.close()


def sophos_names_to(server: HostileServer) -> httpx.BaseTransport:
    """A transport that sends https://*.sophos.com to `server` (plain HTTP) and every other URL where it says."""
    upstream = httpx.Client(timeout=10)

    def forward(request: httpx.Request) -> httpx.Response:
        url = request.url
        if url.host == "sophos.com" or url.host.endswith(".sophos.com"):
            url = httpx.URL(server.url + request.url.raw_path.decode())
        answer = upstream.send(httpx.Request(request.method, url, headers=request.headers, content=request.read()))
        return httpx.Response(answer.status_code, headers={"Content-Type": "application/json"}, content=answer.content)

    return httpx.MockTransport(forward)


def client(**options) -> SophosClient:
    settings_ = dict(
        client_id="client-1",
        client_secret=SECRET,
        name="sophos_hostile",
        max_attempts=2,
        backoff_base=0.01,
        backoff_cap=0.01,
    )
    return SophosClient(**{**settings_, **options})


# --- the client secret and the bearer token go only to Sophos ----------------------------------------------


@pytest.mark.parametrize(
    "token_url",
    [
        "{listener}/steal",  # the finding: plain HTTP to any host
        "https://id.sophos.com.evil.example/api/v2/oauth2/token",
        "https://evil.example/id.sophos.com/api/v2/oauth2/token",
        "https://mallory@id.sophos.com/api/v2/oauth2/token",
        "http://id.sophos.com/api/v2/oauth2/token",  # Sophos's host, but the secret would travel in clear
        "https://id.sophos.com\t.evil.example/token",
    ],
)
def test_the_client_secret_is_never_sent_to_a_token_url_outside_sophos(hostile, token_url):
    listener = hostile()
    with pytest.raises(ConfigurationError, match="token_url .* is not a Sophos URL"):
        client(token_url=token_url.format(listener=listener.url))
    assert listener.requests == []


def test_with_an_override_the_secret_goes_only_to_the_overrides_own_host(hostile):
    sophos, listener = hostile({"/api/v2/oauth2/token": token}), hostile()
    with pytest.raises(ConfigurationError, match="token_url .* nor on the api_host_override host"):
        client(api_host_override=sophos.url, token_url=f"{listener.url}/api/v2/oauth2/token")
    assert listener.requests == []


def test_a_connection_host_outside_sophos_is_refused_without_an_override(hostile):
    listener = hostile()
    with pytest.raises(ConfigurationError, match="host .* is not a Sophos URL"):
        client(global_url=listener.url)
    assert listener.requests == []


@pytest.mark.parametrize(
    "named",
    ["{listener}", "https://api.central.sophos.com.evil.example", "https://api.central.sophos.com\t@{listener_host}"],
)
def test_the_bearer_token_never_goes_to_a_global_host_whoami_names_outside_sophos(hostile, named):
    listener = hostile()
    named = named.format(listener=listener.url, listener_host=listener.url.removeprefix("http://"))
    sophos = hostile({"/api/v2/oauth2/token": token, "/whoami/v1": whoami(named)})
    with (
        client(transport=sophos_names_to(sophos)) as attacked,
        pytest.raises(SophosApiError, match="whoami named apiHosts.global .* not a Sophos API host"),
    ):
        list(attacked.tenants())
    assert [r["path"] for r in sophos.requests] == ["/api/v2/oauth2/token", "/whoami/v1"]
    assert listener.requests == []


def test_a_tenant_api_host_with_a_tab_neither_receives_the_token_nor_fails_the_accounts_licenses(hostile):
    """Such a host once passed the Sophos-host check, then made httpx raise InvalidURL for the whole account.
    A tenant's apiHost is data: licences are asked of the global host whoami names, for every tenant."""
    hosts = {
        "t-tab": "https://api-eu01.central.sophos.com\t",
        "t-newline": "https://api-eu01.central.sophos.com\n.evil.example",
        "t-bracket": "https://[api-eu01.central.sophos.com",
        "t-port": "https://api-eu01.central.sophos.com:https",
        "t-good": "https://api-eu01.central.sophos.com",
    }
    tenants = [{"id": tenant_id, "apiHost": host} for tenant_id, host in hosts.items()]
    page = {"items": tenants, "pages": {"current": 1, "size": 100, "total": 1, "items": len(tenants), "maxSize": 100}}
    sophos = hostile(
        {
            "/api/v2/oauth2/token": token,
            "/whoami/v1": whoami("https://api-partner.central.sophos.com"),
            "/partner/v1/tenants": lambda _query: (200, page),
            "/licenses/v1/licenses": lambda _query: (200, {"licenses": [{"id": "l-1"}]}),
        }
    )
    with client(transport=sophos_names_to(sophos)) as attacked:
        results = {r.tenant_id: r for r in attacked.licenses(t["id"] for t in attacked.tenants())}
    assert {tenant_id: r.licenses for tenant_id, r in results.items()} == {t: [{"id": "l-1"}] for t in hosts}
    license_calls = [r for r in sophos.requests if r["path"] == "/licenses/v1/licenses"]
    assert len(license_calls) == len(hosts)


def test_the_override_is_the_one_escape_hatch_and_is_warned_about_once(hostile, caplog):
    sophos = hostile({"/api/v2/oauth2/token": token, "/whoami/v1": whoami("https://api.central.sophos.com")})
    with caplog.at_level(logging.WARNING, logger="sophos_sync.sophos.client"):
        for _ in range(3):  # each task of a run builds its client
            with client(api_host_override=sophos.url, token_url=f"{sophos.url}/api/v2/oauth2/token") as proxied:
                assert proxied.whoami().id == PARTNER
    warnings = [r.getMessage() for r in caplog.records if "api_host_override" in r.getMessage()]
    assert len(warnings) == 1 and sophos.url in warnings[0]
    assert SECRET not in warnings[0]


# --- hostile answers are bounded ---------------------------------------------------------------------------


def tenants_page(items_count: int = 1) -> bytes:
    items = [{"id": f"t-{i}", "name": "x"} for i in range(items_count)]
    return json.dumps({"items": items, "pages": {"current": 1, "size": 100, "total": 1, "items": items_count}}).encode()


def endless_page(total_bytes: int) -> Callable[[dict], tuple[int, object]]:
    def chunks():
        yield b'{"items": ['
        piece = b'{"id": "t", "name": "' + b"x" * 65_000 + b'"},'
        for _ in range(total_bytes // len(piece)):
            yield piece
        yield b'{}], "pages": {}}'

    return lambda _query: (200, chunks())


def proxied(server: HostileServer, **options) -> SophosClient:
    return client(api_host_override=server.url, token_url=f"{server.url}/api/v2/oauth2/token", **options)


def test_a_200_mb_page_is_refused_at_the_default_byte_cap_without_being_read(hostile):
    assert settings.MAX_RESPONSE_BYTES == 64 * MB  # well above Sophos's largest page (a few MB)
    sophos = hostile(
        {
            "/api/v2/oauth2/token": token,
            "/whoami/v1": whoami("https://api.central.sophos.com"),
            "/partner/v1/tenants": endless_page(200 * MB),
        }
    )
    with (
        proxied(sophos) as attacked,
        pytest.raises(
            SophosApiError,
            match=(
                r"failed after 2 attempts; last answer: unusable body: body larger than the 67,108,864 bytes read at "
                r"most \(SOPHOS_SYNC_MAX_RESPONSE_BYTES\)"
            ),
        ),
    ):
        list(attacked.tenants())
    # two attempts, each stopped once past the cap (plus what the sockets buffered), never 2 x 200 MB
    assert sophos.bytes_sent < 2 * 64 * MB + 16 * MB


def test_an_announced_200_mb_body_is_refused_before_reading_it(hostile):
    announced = {"/api/v2/oauth2/token": token, "/whoami/v1": whoami("https://api.central.sophos.com")}
    sophos = hostile(announced)

    class Announcing(httpx.BaseTransport):
        """Answers tenants with Content-Length: 200 MB and a body that would fail the test if read."""

        def handle_request(self, request: httpx.Request) -> httpx.Response:
            if request.url.path == "/partner/v1/tenants":

                def never():
                    raise AssertionError("the body of an announced 200 MB answer was read")
                    yield b""

                return httpx.Response(200, headers={"Content-Length": str(200 * MB)}, stream=_Stream(never()))
            return httpx.HTTPTransport().handle_request(request)

    with (
        proxied(sophos, transport=Announcing()) as attacked,
        pytest.raises(SophosApiError, match="body of 209,715,200 bytes announced"),
    ):
        list(attacked.tenants())


class _Stream(httpx.SyncByteStream):
    def __init__(self, chunks):
        self._chunks = chunks

    def __iter__(self):
        yield from self._chunks


def test_a_configured_cap_applies_to_every_answer(hostile):
    sophos = hostile(
        {
            "/api/v2/oauth2/token": token,
            "/whoami/v1": whoami("https://api.central.sophos.com"),
            "/partner/v1/tenants": lambda _query: (200, tenants_page(50)),
        }
    )
    with (
        proxied(sophos, max_response_bytes=1_000) as attacked,
        pytest.raises(SophosApiError, match="bytes announced, above the 1,000 bytes"),
    ):
        list(attacked.tenants())


def test_deeply_nested_json_is_a_malformed_body_retried_then_an_api_error(hostile):
    nested = b"[" * 200_000 + b"]" * 200_000
    sophos = hostile({"/api/v2/oauth2/token": token, "/whoami/v1": lambda _query: (200, nested)})
    with (
        proxied(sophos) as attacked,
        pytest.raises(SophosApiError, match="after 2 attempts; last answer: unusable body: .*nested too deeply"),
    ):
        attacked.whoami()
    assert [r["path"] for r in sophos.requests].count("/whoami/v1") == 2


def tenants_route(pages: Callable[[int], dict]) -> Callable[[dict], tuple[int, dict]]:
    return lambda query: (200, pages(int(query["page"][0])))


@pytest.mark.parametrize(
    "answer, refusal",
    [
        # a pageTotal of 10^9: refused at once, not after MAX_PAGES calls
        (
            lambda page: {"items": [{"id": f"t-{page}"}], "pages": {"total": 10**9, "size": 100, "items": 10**11}},
            r"reports 1,000,000,000 pages of tenants, more than SOPHOS_SYNC_MAX_PAGES",
        ),
        # pages that go on past the number of tenants reported
        (
            lambda page: {"items": [{"id": f"t-{page}"}], "pages": {"total": 10, "size": 1, "items": 3}},
            r"served 4 tenants by page 4, more than the 3 it reported",
        ),
        # a server that ignores the page asked for
        (
            lambda page: {"items": [{"id": "t-1"}], "pages": {"total": 10, "size": 1, "items": 10}},
            r"page 2 repeats tenants of earlier pages",
        ),
    ],
)
def test_tenant_paging_stops_with_a_clear_error(hostile, answer, refusal):
    sophos = hostile(
        {
            "/api/v2/oauth2/token": token,
            "/whoami/v1": whoami("https://api.central.sophos.com"),
            "/partner/v1/tenants": tenants_route(answer),
        }
    )
    with proxied(sophos, tenant_page_size=1) as attacked, pytest.raises(SophosApiError, match=refusal):
        list(attacked.tenants())
    assert len([r for r in sophos.requests if r["path"] == "/partner/v1/tenants"]) <= 4


@pytest.mark.parametrize(
    "next_key, refusal",
    [
        (lambda key: f"k{int(key[1:]) + 1}", r"served 6 lines by page 3, more than the 5 Sophos reported"),
        (lambda key: "k1", r"key 'k1' seen before"),
    ],
)
def test_billing_paging_stops_when_it_passes_the_reported_total_or_repeats(hostile, next_key, refusal):
    def billing(query):
        key = query.get("pageFromKey", ["k0"])[0]
        return 200, {"items": [{"n": 1}, {"n": 2}], "pages": {"nextKey": next_key(key), "items": 5, "total": 3}}

    sophos = hostile(
        {
            "/api/v2/oauth2/token": token,
            "/whoami/v1": whoami("https://api.central.sophos.com"),
            "/partner/v1/billing/usage/2026/10": billing,
        }
    )
    with proxied(sophos) as attacked, pytest.raises(SophosApiError, match=refusal):
        list(attacked.billing_usage(2026, 10))
    assert len([r for r in sophos.requests if r["path"].startswith("/partner/v1/billing/")]) <= 4
