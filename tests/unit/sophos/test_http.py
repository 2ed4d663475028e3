"""The Sophos session's default transport: each thread keeps its own connection, and none is left open."""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from sophos_sync.sophos.http import _ConnectionPerThread


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.lock = threading.Lock()
        self.requests_by_connection: dict[tuple, int] = {}
        self.open_connections: set[tuple] = set()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as Sophos answers

    def setup(self) -> None:
        super().setup()
        with self.server.lock:
            self.server.open_connections.add(self.client_address)

    def finish(self) -> None:
        super().finish()
        with self.server.lock:
            self.server.open_connections.discard(self.client_address)

    def do_GET(self) -> None:
        with self.server.lock:
            counts = self.server.requests_by_connection
            counts[self.client_address] = counts.get(self.client_address, 0) + 1
        body = b'{"ok":true}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def server():
    srv = _Server()
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()


def _in_threads(client: httpx.Client, url: str, threads: int, calls: int) -> None:
    def work() -> None:
        for _ in range(calls):
            assert client.get(url).json() == {"ok": True}

    workers = [threading.Thread(target=work) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()


def _until(condition, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.01)
    return condition()


def test_each_thread_reuses_one_connection_of_its_own(server):
    url = f"http://127.0.0.1:{server.server_address[1]}/"
    with httpx.Client(transport=_ConnectionPerThread()) as client:
        _in_threads(client, url, threads=4, calls=5)
    assert sorted(server.requests_by_connection.values()) == [5, 5, 5, 5]


def test_connections_of_ended_threads_are_closed_when_a_new_thread_comes_and_all_on_close(server):
    url = f"http://127.0.0.1:{server.server_address[1]}/"
    client = httpx.Client(transport=_ConnectionPerThread())
    _in_threads(client, url, threads=3, calls=2)
    assert _until(lambda: len(server.open_connections) == 3)
    _in_threads(client, url, threads=1, calls=1)  # the three ended threads' connections go
    assert _until(lambda: len(server.open_connections) == 1)
    client.close()
    assert _until(lambda: not server.open_connections)
    assert len(server.requests_by_connection) == 4
