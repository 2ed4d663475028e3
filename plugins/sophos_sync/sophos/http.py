"""One Sophos credential's HTTP session: the bearer token, retries with backoff and Retry-After, capped and
decoded bodies, and the errors a final answer becomes. The facade in `sophos_sync.sophos.client` says what to call.
"""

from __future__ import annotations

import email.utils
import json
import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import httpx
import msgspec

from sophos_sync.errors import ConfigurationError, SophosApiError, SophosAuthError
from sophos_sync.sophos.urls import may_receive_secrets, safe_url

# The Sophos client logs under one name, whichever of its modules speaks, so log settings keep applying.
log = logging.getLogger("sophos_sync.sophos.client")
# httpx logs every request at INFO: thousands of lines per licence run. This client logs one line per stage
# and one per retry instead; httpx's warnings still show.
logging.getLogger("httpx").setLevel(max(logging.getLogger("httpx").level, logging.WARNING))

# Sophos's documented lifetime, used only if a token answer leaves out expires_in.
DEFAULT_TOKEN_LIFETIME = 3600.0
SNIPPET_CHARS = 200


# --- pure logic: backoff, Retry-After, token expiry ------------------------------------------------------------


def backoff_delay(attempt: int, *, base: float, cap: float, rng: random.Random) -> float:
    """Seconds to wait before retry number `attempt` (1-based): full jitter over base * 2**(attempt-1), capped.

    Full jitter spreads the retries of many concurrent callers so they do not hit a recovering server together.
    """
    ceiling = min(cap, base * 2 ** (attempt - 1))
    return rng.uniform(0.0, ceiling)


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds a `Retry-After` header asks for (delta-seconds or an HTTP date); None when absent or unreadable."""
    if value is None or not value.strip():
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=timezone.utc)
        seconds = (when - (now or datetime.now(timezone.utc))).total_seconds()
    if seconds != seconds:  # NaN
        return None
    return max(0.0, seconds)


@dataclass(frozen=True)
class AccessToken:
    """A bearer token and the monotonic time after which it is no longer used. Its value never shows in repr."""

    value: str = field(repr=False)
    refresh_at: float

    @classmethod
    def issued(cls, value: str, expires_in: Any, *, requested_at: float) -> AccessToken:
        """A token answered to a request sent at `requested_at`, refreshed shortly before `expires_in` runs out.

        The margin (10% of the lifetime, at most 60 s) keeps a request from leaving with a token that expires
        on the way, also for the short lifetimes tests use.
        """
        try:
            lifetime = float(expires_in)
        except (TypeError, ValueError):
            lifetime = DEFAULT_TOKEN_LIFETIME
        if not lifetime > 0:
            lifetime = DEFAULT_TOKEN_LIFETIME
        return cls(value=value, refresh_at=requested_at + lifetime - min(60.0, lifetime * 0.1))

    def usable(self, now: float) -> bool:
        return now < self.refresh_at


@dataclass(frozen=True)
class _Failure:
    """A retriable answer: what went wrong, in words for the log line and the final error."""

    reason: str
    detail: str = ""
    status: int | None = None
    retry_after: float | None = None

    def describe(self) -> str:
        return f"{self.reason}: {self.detail}" if self.detail else self.reason


class _Malformed(Exception):
    """A 2xx answer whose body we cannot use (truncated, not JSON, wrong shape): retried like a 5xx."""


# --- the session ---------------------------------------------------------------------------------------------


class SophosHttp:
    """Sends one credential's calls: thread-safe, retrying, never logging the secret or a token."""

    def __init__(
        self,
        *,
        name: str,
        token_url: str,
        client_id: str,
        client_secret: str,
        api_host_override: str | None,
        timeout: float,
        max_attempts: int,
        deadline_seconds: float,
        max_response_bytes: int,
        backoff_base: float,
        backoff_cap: float,
        sleep: Callable[[float], None],
        transport: httpx.BaseTransport | None,
    ) -> None:
        self.name = name
        self.token_url = token_url
        self.api_host_override = api_host_override
        self.max_attempts = max_attempts
        self.deadline_seconds = deadline_seconds
        self.max_response_bytes = max_response_bytes
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self._client_id = client_id
        self._client_secret = client_secret
        self._sleep = sleep
        self._rng = random.Random()
        self._token: AccessToken | None = None
        self._token_lock = threading.Lock()
        self._http = httpx.Client(
            timeout=timeout, transport=transport or _ConnectionPerThread(), headers={"User-Agent": "sophos-sync"}
        )

    def close(self) -> None:
        self._http.close()

    def get(
        self,
        url: str,
        *,
        headers: dict | None = None,
        params: dict | None = None,
        required: tuple[str, ...] = (),
        raw_members: bool = False,
    ) -> dict:
        return self.request("GET", url, headers=headers, params=params, required=required, raw_members=raw_members)[1]

    def request(
        self,
        method: str,
        url: str,
        *,
        headers: dict | None = None,
        params: dict | None = None,
        data: dict | None = None,
        required: tuple[str, ...] = (),
        passthrough: frozenset[int] = frozenset(),
        authenticated: bool = True,
        raw_members: bool = False,
    ) -> tuple[int, dict]:
        """(status, JSON body) of a call, retried on 429, 5xx, transport faults and unusable bodies.

        Statuses in `passthrough` are answers the caller handles (404 report missing, 403 tenant forbidden).
        With `raw_members`, a 2xx body's members stay undecoded JSON (msgspec.Raw): the body is checked as
        JSON once, and the caller decodes only what it reads (a billing page's items are landed as sent).
        """
        if not may_receive_secrets(url, self.api_host_override):
            secret = "the bearer token" if authenticated else "the client secret"
            raise ConfigurationError(
                f"connection '{self.name}': refused to send {secret} to {safe_url(url)!r}: it is not a Sophos host "
                "(https://*.sophos.com) nor the api_host_override"
            )
        started = time.monotonic()
        attempt = 0
        reauthenticated = False
        while True:
            token = self._access_token() if authenticated else None
            request_headers = dict(headers or {})
            if token is not None:
                request_headers["Authorization"] = f"Bearer {token.value}"
            attempt += 1
            try:
                response = self._http.send(
                    self._http.build_request(method, url, headers=request_headers, params=params, data=data),
                    stream=True,
                )
                try:
                    status = response.status_code
                    content = _read_capped(response, self.max_response_bytes)
                finally:
                    response.close()
                if status == 401 and authenticated and not reauthenticated:
                    # Expired or revoked: one fresh token, and the attempt does not count against the budget.
                    reauthenticated = True
                    attempt -= 1
                    self._drop_token(token)
                    log.info(
                        "'%s': Sophos answered 401 to %s %s; re-authenticating once",
                        self.name,
                        method,
                        safe_url(response.request.url),
                    )
                    continue
                if status == 429 or status >= 500:
                    failure = _Failure(
                        "rate limited (429)" if status == 429 else f"server error ({status})",
                        _sophos_message_of(content),
                        status,
                        parse_retry_after(response.headers.get("Retry-After")),
                    )
                elif status in passthrough:
                    return status, _json_or_empty(content)
                elif status >= 400:
                    raise self._final_error(method, response, content, authenticated)
                else:
                    # A cut token answer may hold part of the token: never quote it.
                    return status, _usable_body(content, required, quote=authenticated, raw_members=raw_members)
            except _Malformed as exc:
                failure = _Failure("unusable body", str(exc), status)
            except (httpx.TransportError, httpx.DecodingError) as exc:
                # Timeouts, refused or dropped connections, cut or garbled bodies: transient on a healthy API.
                failure = _Failure(type(exc).__name__, _snippet(str(exc)))
            target = safe_url(httpx.URL(url, params=params) if params else url)
            if headers and "X-Tenant-ID" in headers:
                target += f" (tenant {headers['X-Tenant-ID']})"
            elapsed = time.monotonic() - started
            wait_for = failure.retry_after
            if wait_for is None:
                wait_for = backoff_delay(attempt, base=self.backoff_base, cap=self.backoff_cap, rng=self._rng)
            if attempt >= self.max_attempts or elapsed + wait_for > self.deadline_seconds:
                why = (
                    f"{attempt} attempts"
                    if attempt >= self.max_attempts
                    else f"{elapsed:.0f} s (deadline {self.deadline_seconds:.0f} s)"
                )
                raise SophosApiError(
                    f"connection '{self.name}': {method} {target} failed after {why}; last answer: "
                    f"{failure.describe()}. Sophos seems unavailable or overloaded: the task's retries will "
                    f"try again later; if this persists, check https://status.sophos.com"
                )
            log.warning(
                "'%s': %s %s: %s; retry %d/%d in %.2f s",
                self.name,
                method,
                target,
                failure.reason,
                attempt,
                self.max_attempts - 1,
                wait_for,
            )
            self._sleep(wait_for)

    def _final_error(self, method: str, response: httpx.Response, content: bytes, authenticated: bool) -> Exception:
        status, said = response.status_code, _sophos_message_of(content) or "no message"
        target = safe_url(response.request.url)
        if not authenticated:
            return SophosAuthError(
                f"connection '{self.name}': Sophos rejected the client credentials ({said}, HTTP {status}). "
                f"Check the connection's login (client id) and password (client secret)"
            )
        if status == 401:
            return SophosAuthError(
                f"connection '{self.name}': Sophos refused {method} {target} (HTTP 401: {said}) even with a "
                f"fresh token. Check that the API credential is still active in Sophos Partner Dashboard"
            )
        if status == 403:
            return SophosAuthError(
                f"connection '{self.name}': Sophos forbids {method} {target} (HTTP 403: {said}). Check that the "
                f"API credential has a partner role with access to this API"
            )
        return SophosApiError(
            f"connection '{self.name}': {method} {target} answered HTTP {status} ({said}); not retried, "
            f"as a repeat would get the same answer"
        )

    # --- token --------------------------------------------------------------------------------------------

    def _access_token(self) -> AccessToken:
        # A usable token is read without the lock: taking it on every call made the licence threads queue on it.
        token = self._token
        if token is not None and token.usable(time.monotonic()):
            return token
        # One thread fetches; the others wait and reuse its token.
        with self._token_lock:
            if self._token is None or not self._token.usable(time.monotonic()):
                requested_at = time.monotonic()
                _, body = self.request(
                    "POST",
                    self.token_url,
                    authenticated=False,
                    required=("access_token",),
                    data={
                        "grant_type": "client_credentials",
                        "client_id": self._client_id,
                        "client_secret": self._client_secret,
                        "scope": "token",
                    },
                )
                self._token = AccessToken.issued(
                    str(body["access_token"]), body.get("expires_in"), requested_at=requested_at
                )
            return self._token

    def _drop_token(self, rejected: AccessToken | None) -> None:
        with self._token_lock:
            # Another thread may already have replaced the rejected token; keep its fresh one.
            if self._token is rejected:
                self._token = None


class _ConnectionPerThread(httpx.BaseTransport):
    """httpx's own transport, one per calling thread, each keeping one idle connection.

    A shared pool polls the socket of every idle connection before and after each request (has the server
    closed it?), under the pool's lock, each poll a syscall that hands the GIL to another thread: with the
    licence workers of several accounts in one process that was most of the client's CPU. A thread's own
    pool has one connection to check. TLS settings are built once and shared; a thread that has ended gives
    its connection back when the next thread comes.
    """

    def __init__(self) -> None:
        self._ssl_context = httpx.create_ssl_context()
        self._lock = threading.Lock()
        self._by_thread: dict[threading.Thread, httpx.HTTPTransport] = {}

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        return self._own().handle_request(request)

    def _own(self) -> httpx.HTTPTransport:
        thread = threading.current_thread()
        transport = self._by_thread.get(thread)
        if transport is None:
            # No cap on connections: a thread never waits for one, whatever it does.
            transport = httpx.HTTPTransport(
                verify=self._ssl_context, limits=httpx.Limits(max_connections=None, max_keepalive_connections=1)
            )
            with self._lock:
                ended = [t for t in self._by_thread if not t.is_alive()]
                retired = [self._by_thread.pop(t) for t in ended]
                self._by_thread[thread] = transport
            for old in retired:
                old.close()
        return transport

    def close(self) -> None:
        with self._lock:
            transports, self._by_thread = list(self._by_thread.values()), {}
        for transport in transports:
            transport.close()


# --- bodies --------------------------------------------------------------------------------------------------


def _read_capped(response: httpx.Response, cap: int) -> bytes:
    """The body, refused as soon as it passes `cap` bytes: a hostile or broken server cannot fill the memory."""
    declared = int_or_none(response.headers.get("Content-Length"))
    if declared is not None and declared > cap:
        raise _Malformed(
            f"body of {declared:,} bytes announced, above the {cap:,} bytes read at most "
            "(SOPHOS_SYNC_MAX_RESPONSE_BYTES)"
        )
    chunks, size = [], 0
    for chunk in response.iter_bytes():
        size += len(chunk)
        if size > cap:
            raise _Malformed(f"body larger than the {cap:,} bytes read at most (SOPHOS_SYNC_MAX_RESPONSE_BYTES)")
        chunks.append(chunk)
    return b"".join(chunks)


_RAW_MEMBERS = msgspec.json.Decoder(dict[str, msgspec.Raw])


def _usable_body(content: bytes, required: tuple[str, ...], *, quote: bool, raw_members: bool = False) -> dict:
    def shown() -> str:  # only for an error: a billing page is a megabyte to decode and squeeze
        return f": {_snippet(content.decode('utf-8', 'replace'))!r}" if quote else f" ({len(content)} bytes)"

    try:
        if raw_members:
            content.decode("utf-8")  # what stays raw is checked as text now, as json.loads checks it all
            body = _RAW_MEMBERS.decode(content)
        else:
            body = json.loads(content)
    except RecursionError:
        # The parsers recurse per level: a deeply nested answer is malformed, not a crash of the task.
        raise _Malformed(f"not JSON we read (nested too deeply){shown()}") from None
    except msgspec.ValidationError:
        raise _Malformed(f"expected a JSON object{shown()}") from None
    except ValueError as exc:
        raise _Malformed(f"not JSON ({exc.__class__.__name__}){shown()}") from None
    if not isinstance(body, dict):
        raise _Malformed(f"expected a JSON object{shown()}")
    missing = [key for key in required if key not in body]
    if missing:
        raise _Malformed(f"missing {', '.join(missing)}{shown()}")
    return body


def _json_or_empty(content: bytes) -> dict:
    try:
        body = json.loads(content)
    except (ValueError, RecursionError):
        return {}
    return body if isinstance(body, dict) else {}


def sophos_message(body: dict) -> str:
    """Sophos's own words from an error body: its code (errorCode, error or code) and message."""
    code = next((str(body[key]) for key in ("errorCode", "error", "code") if body.get(key)), "")
    message = str(body.get("message") or "")
    return f"{code}: {message}" if code and message else code or message


def _sophos_message_of(content: bytes) -> str:
    body = _json_or_empty(content)
    return _snippet(sophos_message(body) if body else content.decode("utf-8", "replace"))


def _snippet(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= SNIPPET_CHARS else text[:SNIPPET_CHARS] + "..."


def int_or_none(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
