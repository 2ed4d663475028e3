"""The Sophos Central Partner API over HTTP: token, whoami, tenants, billing usage, licences, retries.

httpx only, no Airflow import, so it runs and is tested on its own; `sophos_sync.hook` is the one place that
builds it from an Airflow connection. The API facts it follows are in DESIGN.md section 3.
"""
from __future__ import annotations

import email.utils
import itertools
import json
import logging
import random
import re
import threading
import time
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import datetime, timezone
from urllib.parse import urlsplit, urlunsplit

import httpx

from sophos_sync import settings
from sophos_sync.errors import ConfigurationError, ReportNotAvailable, SophosApiError, SophosAuthError

log = logging.getLogger(__name__)
# httpx logs every request at INFO: thousands of lines per licence run. This client logs one line per stage
# and one per retry instead; httpx's warnings still show.
logging.getLogger("httpx").setLevel(max(logging.getLogger("httpx").level, logging.WARNING))

DEFAULT_TOKEN_URL = "https://id.sophos.com/api/v2/oauth2/token"
DEFAULT_GLOBAL_URL = "https://api.central.sophos.com"
# Sophos's documented lifetime, used only if a token answer leaves out expires_in.
DEFAULT_TOKEN_LIFETIME = 3600.0
# A tenants page of this size is always accepted; the client moves up to the server's pages.maxSize.
TENANT_PAGE_SIZE = 100
SNIPPET_CHARS = 200
# The hosts that may receive the client secret or the bearer token: id.sophos.com and *.sophos.com.
_SOPHOS_HOSTNAME = re.compile(r"(?:[a-z0-9-]+\.)+sophos\.com")
# Overrides already warned about in this process (one warning per run and connection, not per client).
_warned_overrides: set[tuple[str, str]] = set()
_warned_lock = threading.Lock()


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
    def issued(cls, value: str, expires_in: object, *, requested_at: float) -> AccessToken:
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


# --- results -------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Whoami:
    id: str
    id_type: str
    api_hosts: dict


@dataclass(frozen=True)
class LicenseResult:
    """One tenant's licences (raw items), or why they were skipped (licenses is then None)."""

    tenant_id: str
    licenses: list[dict] | None
    skipped_reason: str | None = None


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


# --- the client ----------------------------------------------------------------------------------------------

class SophosClient:
    """One Sophos API credential (a partner): thread-safe, retrying, never logging the secret or a token."""

    def __init__(
        self,
        *,
        client_id: str,
        client_secret: str,
        name: str = "sophos_default",
        token_url: str = DEFAULT_TOKEN_URL,
        global_url: str = DEFAULT_GLOBAL_URL,
        api_host_override: str | None = None,
        concurrency: int = settings.LICENSE_CONCURRENCY,
        timeout: float = settings.HTTP_TIMEOUT_SECONDS,
        max_attempts: int = settings.HTTP_MAX_ATTEMPTS,
        deadline_seconds: float = settings.HTTP_DEADLINE_SECONDS,
        page_size: int = settings.BILLING_PAGE_SIZE,
        tenant_page_size: int = TENANT_PAGE_SIZE,
        max_pages: int = settings.MAX_PAGES,
        max_response_bytes: int = settings.MAX_RESPONSE_BYTES,
        backoff_base: float = 0.5,
        backoff_cap: float = 30.0,
        sleep: Callable[[float], None] = time.sleep,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        if not client_id or not client_secret:
            raise ConfigurationError(
                f"connection '{name}': the Sophos client id and client secret are both required "
                f"(login and password of the connection)"
            )
        if (concurrency < 1 or max_attempts < 1 or page_size < 1 or tenant_page_size < 1 or max_pages < 1
                or max_response_bytes < 1):
            raise ConfigurationError(
                f"connection '{name}': concurrency, max_attempts, page sizes, max_pages and max_response_bytes "
                "must be at least 1"
            )
        if api_host_override and urlsplit(api_host_override).username is not None:
            raise ConfigurationError(
                f"connection '{name}': api_host_override {_safe_url(api_host_override)} carries user:password, "
                "which would replace the Sophos bearer token with Basic auth; give the proxy its credentials "
                "another way and remove them from the URL"
            )
        self.name = name
        self.token_url = token_url
        self.global_url = global_url.rstrip("/")
        self.api_host_override = api_host_override.rstrip("/") if api_host_override else None
        # With an override the connection's host is never called, so only the token URL is checked then.
        checked = [("token_url", token_url)] + ([] if self.api_host_override else [("host", self.global_url)])
        for what, url in checked:
            if not self._may_receive_secrets(url):
                raise ConfigurationError(
                    f"connection '{name}': {what} {_safe_url(url)!r} is not a Sophos URL (https://id.sophos.com or "
                    f"https://*.sophos.com){' nor on the api_host_override host' if self.api_host_override else ''}; "
                    "the client secret and the bearer token are sent only there. Remove it to use Sophos's default"
                )
        if self.api_host_override:
            with _warned_lock:
                first = (name, self.api_host_override) not in _warned_overrides
                _warned_overrides.add((name, self.api_host_override))
            if first:
                log.warning(
                    "connection '%s': api_host_override %s is set: every call, with the client secret and the "
                    "bearer token, goes there instead of Sophos's hosts (meant for a proxy you run or the simulator)",
                    name, _safe_url(self.api_host_override),
                )
        self.max_response_bytes = max_response_bytes
        self.concurrency = concurrency
        self.max_attempts = max_attempts
        self.deadline_seconds = deadline_seconds
        self.page_size = page_size
        self.tenant_page_size = tenant_page_size
        self.max_pages = max_pages
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self._client_id = client_id
        self._client_secret = client_secret
        self._sleep = sleep
        self._rng = random.Random()
        self._token: AccessToken | None = None
        self._token_lock = threading.Lock()
        self._whoami: Whoami | None = None
        self._whoami_lock = threading.Lock()
        # Enough pooled connections for every licence worker plus the odd token or partner call.
        limits = httpx.Limits(max_connections=concurrency + 4, max_keepalive_connections=concurrency + 4)
        self._http = httpx.Client(
            timeout=timeout, limits=limits, transport=transport, headers={"User-Agent": "sophos-sync"}
        )

    def __repr__(self) -> str:
        return f"SophosClient(name={self.name!r}, host={self.api_host_override or self.global_url!r})"

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> SophosClient:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    # --- partner ------------------------------------------------------------------------------------------

    def whoami(self) -> Whoami:
        """Who the credential is; it must be a partner (the tenants and billing APIs are partner APIs)."""
        with self._whoami_lock:
            if self._whoami is None:
                url = f"{self.api_host_override or self.global_url}/whoami/v1"
                body = self._get(url, required=("id", "idType"))
                me = Whoami(id=str(body["id"]), id_type=str(body["idType"]),
                            api_hosts=dict(body.get("apiHosts") or {}))
                if me.id_type != "partner":
                    raise ConfigurationError(
                        f"connection '{self.name}': the Sophos credential belongs to a {me.id_type} (id {me.id}), "
                        f"but sophos-sync needs a partner credential. Create the API credential in Sophos Partner "
                        f"Dashboard (not in a customer's Central) and put it in the connection"
                    )
                if not self.api_host_override:
                    global_host = me.api_hosts.get("global")
                    if not global_host:
                        raise SophosApiError(f"connection '{self.name}': whoami answered without apiHosts.global")
                    if not self._may_receive_secrets(str(global_host)):
                        raise SophosApiError(
                            f"connection '{self.name}': whoami named apiHosts.global {_safe_url(str(global_host))!r}, "
                            "which is not a Sophos API host (https://*.sophos.com); the bearer token was not sent "
                            "there. If Sophos really moved its API, set api_host_override on the connection"
                        )
                self._whoami = me
            return self._whoami

    def tenants(self) -> Iterator[dict]:
        """Every tenant (customer) the partner sees, raw items verbatim (page paging, pageTotal=true)."""
        partner = self.whoami()
        url = f"{self._partner_host()}/partner/v1/tenants"
        headers = {"X-Partner-ID": partner.id}
        started = time.monotonic()
        size = self.tenant_page_size
        page = 1
        fetched = 0
        seen: set[str] = set()
        while True:
            if page > self.max_pages:
                raise SophosApiError(
                    f"connection '{self.name}': {_safe_url(url)} still paging after {self.max_pages} pages; "
                    f"the server seems to loop. "
                    f"Raise SOPHOS_SYNC_MAX_PAGES only if the tenant count really needs it"
                )
            body = self._get(
                url, headers=headers, params={"page": page, "pageSize": size, "pageTotal": "true"},
                required=("items", "pages"),
            )
            items, pages = _items(body, url), body["pages"]
            max_size = _int_or_none(pages.get("maxSize"))
            total = _int_or_none(pages.get("total"))
            if page == 1 and max_size and max_size > size and (total or 0) > 1:
                # Bigger pages mean fewer calls; offsets change with the size, so start over before yielding.
                size = max_size
                continue
            reported = _int_or_none(pages.get("items"))
            if total is not None and total > self.max_pages:
                raise SophosApiError(
                    f"connection '{self.name}': {_safe_url(url)} reports {total:,} pages of tenants, more than "
                    f"SOPHOS_SYNC_MAX_PAGES ({self.max_pages:,}); the answer was not trusted"
                )
            # malformed items are validation's to reject, not paging's
            ids = {str(item["id"]) for item in items if isinstance(item, dict) and item.get("id") is not None}
            if ids and ids <= seen:
                raise SophosApiError(
                    f"connection '{self.name}': {_safe_url(url)} page {page} repeats tenants of earlier pages; the "
                    "server seems to ignore paging, so the tenant list was not trusted. Try again later"
                )
            seen |= ids
            fetched += len(items)
            if reported is not None and fetched > reported:
                raise SophosApiError(
                    f"connection '{self.name}': {_safe_url(url)} served {fetched:,} tenants by page {page}, more "
                    f"than the {reported:,} it reported; the tenant list was not trusted. Try again later"
                )
            yield from items
            served = _int_or_none(pages.get("size")) or size
            if not items or (page >= total if total is not None else len(items) < served):
                break
            page += 1
        log.info(
            "fetched tenants of '%s': %s in %s pages in %.1f s", self.name, f"{fetched:,}", page,
            time.monotonic() - started,
        )

    def billing_report_exists(self, year: int, month: int) -> bool:
        """Whether the month's billing usage report exists yet (one small call; 404 means not yet)."""
        status, _ = self._request(
            "GET", self._billing_url(year, month), headers=self._partner_headers(),
            params={"pageSize": 1}, required=("items",), passthrough=frozenset({404}),
        )
        return status != 404

    def billing_usage(self, year: int, month: int) -> BillingUsage:
        """The month's invoice report; its first page is fetched now, so a missing report raises here.

        Raises ReportNotAvailable when Sophos answers 404 (no report for the month, or not yet).
        """
        url = self._billing_url(year, month)
        status, body = self._request(
            "GET", url, headers=self._partner_headers(),
            params={"pageSize": self.page_size, "pageTotal": "true"}, required=("items",),
            passthrough=frozenset({404}),
        )
        if status == 404:
            raise ReportNotAvailable(
                f"connection '{self.name}': Sophos has no billing usage report for {year}-{month:02d} yet "
                f"(404 from {_safe_url(url)}). Sophos publishes it around the 26th; the sensor keeps waiting"
            )
        return BillingUsage(self, year, month, url, body)

    # --- tenants' licences --------------------------------------------------------------------------------

    def licenses(self, tenant_ids: Iterable[str]) -> Iterator[LicenseResult]:
        """Licences of each tenant, fetched in parallel and yielded as they complete.

        Asked of the global host with X-Tenant-ID, as Sophos's own collection calls it ("Licensing API /
        Get licenses": https://api.central.sophos.com/licenses/v1/licenses, X-Tenant-ID; every version
        since 2024-07-15), not of the tenant's regional apiHost. So the bearer token goes only to the
        host whoami names, never to a host read from a tenant record.

        At most 2 x concurrency tenants are in flight, so an endless input streams with bounded memory.
        A 403 on a tenant is a skipped result, not an error; any other failure (after retries) is raised.
        """
        host = self._partner_host()
        source = iter(tenant_ids)
        pool = ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix=f"licenses-{self.name}")
        pending: set[Future[LicenseResult]] = set()
        started = time.monotonic()
        done_count = licence_count = 0
        skipped: list[str] = []
        try:
            while True:
                for tenant_id in itertools.islice(source, 2 * self.concurrency - len(pending)):
                    pending.add(pool.submit(self._tenant_licenses, tenant_id, host))
                if not pending:
                    break
                finished, pending = wait(pending, return_when=FIRST_COMPLETED)
                for future in finished:
                    result = future.result()
                    done_count += 1
                    if result.licenses is None:
                        skipped.append(result.tenant_id)
                    else:
                        licence_count += len(result.licenses)
                    yield result
        finally:
            pool.shutdown(wait=False, cancel_futures=True)
        log.info(
            "fetched licences of '%s': %s tenants, %s licences, %s skipped, in %.1f s (concurrency %s)",
            self.name, f"{done_count:,}", f"{licence_count:,}", len(skipped), time.monotonic() - started,
            self.concurrency,
        )
        if skipped:
            shown = ", ".join(skipped[:10]) + (f" and {len(skipped) - 10} more" if len(skipped) > 10 else "")
            log.warning(
                "'%s' skipped the licences of %s tenants (403 forbidden; the reason of each is in sophos.landing_batches.skipped): %s. Grant the credential access to them in "
                "Sophos, or ignore if they belong to another partner", self.name, len(skipped), shown,
            )

    def _tenant_licenses(self, tenant_id: str, host: str) -> LicenseResult:
        url = f"{host.rstrip('/')}/licenses/v1/licenses"
        status, body = self._request(
            "GET", url, headers={"X-Tenant-ID": tenant_id}, required=("licenses",), passthrough=frozenset({403}),
        )
        if status == 403:
            return LicenseResult(tenant_id, None, f"403 forbidden: {_sophos_message(body) or 'no message'}")
        if not isinstance(body["licenses"], list):
            raise SophosApiError(f"{_safe_url(url)} (tenant {tenant_id}): 'licenses' is not a list")
        return LicenseResult(tenant_id, body["licenses"])

    # --- routing ------------------------------------------------------------------------------------------

    def _may_receive_secrets(self, url: str | httpx.URL) -> bool:
        """Whether `url` may receive the client secret or the bearer token: https on id.sophos.com or
        *.sophos.com, or the api_host_override's own scheme, host and port (the one explicit escape hatch).
        Every request goes through here, so does whatever host an API answer names."""
        text = str(url)
        if any(ch.isspace() or unicodedata.category(ch)[0] == "C" for ch in text):
            return False  # urlsplit silently drops tabs and newlines that httpx would refuse or keep
        try:
            parts = urlsplit(text)
            origin = (parts.scheme, parts.hostname, parts.port)
            if parts.username is not None or parts.password is not None:
                return False
            if self.api_host_override:
                override = urlsplit(self.api_host_override)
                if origin == (override.scheme, override.hostname, override.port):
                    return True
        except ValueError:  # a bracketed host that is no IPv6 address, a port that is no number
            return False
        return parts.scheme == "https" and _SOPHOS_HOSTNAME.fullmatch(parts.hostname or "") is not None

    def _partner_host(self) -> str:
        if self.api_host_override:
            return self.api_host_override
        return str(self.whoami().api_hosts["global"]).rstrip("/")

    def _partner_headers(self) -> dict[str, str]:
        return {"X-Partner-ID": self.whoami().id}

    def _billing_url(self, year: int, month: int) -> str:
        if not 1 <= month <= 12:
            raise ValueError(f"month must be 1..12, got {month}")
        return f"{self._partner_host()}/partner/v1/billing/usage/{year}/{month}"

    # --- HTTP with retries --------------------------------------------------------------------------------

    def _get(self, url: str, *, headers: dict | None = None, params: dict | None = None,
             required: tuple[str, ...] = ()) -> dict:
        return self._request("GET", url, headers=headers, params=params, required=required)[1]

    def _request(
        self, method: str, url: str, *, headers: dict | None = None, params: dict | None = None,
        data: dict | None = None, required: tuple[str, ...] = (), passthrough: frozenset[int] = frozenset(),
        authenticated: bool = True,
    ) -> tuple[int, dict]:
        """(status, JSON body) of a call, retried on 429, 5xx, transport faults and unusable bodies.

        Statuses in `passthrough` are answers the caller handles (404 report missing, 403 tenant forbidden).
        """
        if not self._may_receive_secrets(url):
            raise ConfigurationError(
                f"connection '{self.name}': refused to send {'the bearer token' if authenticated else 'the client secret'}"
                f" to {_safe_url(url)!r}: it is not a Sophos host (https://*.sophos.com) nor the api_host_override"
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
                    log.info("'%s': Sophos answered 401 to %s %s; re-authenticating once", self.name, method,
                             _safe_url(response.request.url))
                    continue
                if status == 429 or status >= 500:
                    failure = _Failure(
                        "rate limited (429)" if status == 429 else f"server error ({status})",
                        _sophos_message_of(content), status, parse_retry_after(response.headers.get("Retry-After")),
                    )
                elif status in passthrough:
                    return status, _json_or_empty(content)
                elif status >= 400:
                    raise self._final_error(method, response, content, authenticated)
                else:
                    # A cut token answer may hold part of the token: never quote it.
                    return status, _usable_body(content, required, quote=authenticated)
            except _Malformed as exc:
                failure = _Failure("unusable body", str(exc), status)
            except (httpx.TransportError, httpx.DecodingError) as exc:
                # Timeouts, refused or dropped connections, cut or garbled bodies: transient on a healthy API.
                failure = _Failure(type(exc).__name__, _snippet(str(exc)))
            target = _safe_url(httpx.URL(url, params=params) if params else url)
            if headers and "X-Tenant-ID" in headers:
                target += f" (tenant {headers['X-Tenant-ID']})"
            elapsed = time.monotonic() - started
            wait_for = failure.retry_after
            if wait_for is None:
                wait_for = backoff_delay(attempt, base=self.backoff_base, cap=self.backoff_cap, rng=self._rng)
            if attempt >= self.max_attempts or elapsed + wait_for > self.deadline_seconds:
                why = (f"{attempt} attempts" if attempt >= self.max_attempts
                       else f"{elapsed:.0f} s (deadline {self.deadline_seconds:.0f} s)")
                raise SophosApiError(
                    f"connection '{self.name}': {method} {target} failed after {why}; last answer: "
                    f"{failure.describe()}. Sophos seems unavailable or overloaded: the task's retries will "
                    f"try again later; if this persists, check https://status.sophos.com"
                )
            log.warning(
                "'%s': %s %s: %s; retry %d/%d in %.2f s", self.name, method, target, failure.reason,
                attempt, self.max_attempts - 1, wait_for,
            )
            self._sleep(wait_for)

    def _final_error(self, method: str, response: httpx.Response, content: bytes, authenticated: bool) -> Exception:
        status, said = response.status_code, _sophos_message_of(content) or "no message"
        target = _safe_url(response.request.url)
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
        # One thread fetches; the others wait and reuse its token.
        with self._token_lock:
            if self._token is None or not self._token.usable(time.monotonic()):
                requested_at = time.monotonic()
                _, body = self._request(
                    "POST", self.token_url, authenticated=False, required=("access_token",),
                    data={"grant_type": "client_credentials", "client_id": self._client_id,
                          "client_secret": self._client_secret, "scope": "token"},
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


class BillingUsage:
    """A month's invoice report: iterate once for the raw line items, following pages.nextKey (key paging).

    `reported_count` is Sophos's own pages.items of the report (asked for with pageTotal=true), so the load can
    prove it holds every line; `fetched_count` and `pages` say what the iteration got.
    """

    def __init__(self, client: SophosClient, year: int, month: int, url: str, first_page: dict) -> None:
        self._client = client
        self._url = url
        self._first_page: dict | None = first_page
        self.year = year
        self.month = month
        self.reported_count: int | None = _int_or_none((first_page.get("pages") or {}).get("items"))
        reported_pages = _int_or_none((first_page.get("pages") or {}).get("total"))
        if reported_pages is not None and reported_pages > client.max_pages:
            raise SophosApiError(
                f"connection '{client.name}': billing usage {year}-{month:02d} reports {reported_pages:,} pages, "
                f"more than SOPHOS_SYNC_MAX_PAGES ({client.max_pages:,}); the month was not trusted"
            )
        self.fetched_count = 0
        self.pages = 0

    def __iter__(self) -> Iterator[dict]:
        if self._first_page is None:
            raise RuntimeError("a BillingUsage is iterated once; call client.billing_usage() again to re-read")
        body, self._first_page = self._first_page, None
        client, url = self._client, self._url
        headers = client._partner_headers()
        started = time.monotonic()
        seen_keys: set[str] = set()
        while True:
            self.pages += 1
            items = _items(body, url)
            self.fetched_count += len(items)
            if self.reported_count is not None and self.fetched_count > self.reported_count:
                raise SophosApiError(
                    f"connection '{client.name}': billing usage {self.year}-{self.month:02d} served "
                    f"{self.fetched_count:,} lines by page {self.pages}, more than the {self.reported_count:,} Sophos "
                    "reported; the month was not trusted. Try again later"
                )
            yield from items
            next_key = (body.get("pages") or {}).get("nextKey")
            if not next_key:
                break
            if next_key in seen_keys or self.pages >= client.max_pages:
                raise SophosApiError(
                    f"connection '{client.name}': billing usage {self.year}-{self.month:02d} keeps paging "
                    f"({self.pages} pages, key {next_key!r} {'seen before' if next_key in seen_keys else 'new'}); "
                    f"the server seems to loop, so the month was not trusted. Try again later"
                )
            seen_keys.add(next_key)
            body = client._get(
                url, headers=headers, params={"pageSize": client.page_size, "pageFromKey": next_key},
                required=("items",),
            )
        log.info(
            "fetched billing usage %d-%02d of '%s': %s lines in %s pages (Sophos reports %s) in %.1f s",
            self.year, self.month, client.name, f"{self.fetched_count:,}", self.pages,
            "?" if self.reported_count is None else f"{self.reported_count:,}", time.monotonic() - started,
        )


# --- helpers -------------------------------------------------------------------------------------------------

def _read_capped(response: httpx.Response, cap: int) -> bytes:
    """The body, refused as soon as it passes `cap` bytes: a hostile or broken server cannot fill the memory."""
    declared = _int_or_none(response.headers.get("Content-Length"))
    if declared is not None and declared > cap:
        raise _Malformed(f"body of {declared:,} bytes announced, above the {cap:,} bytes read at most "
                         "(SOPHOS_SYNC_MAX_RESPONSE_BYTES)")
    chunks, size = [], 0
    for chunk in response.iter_bytes():
        size += len(chunk)
        if size > cap:
            raise _Malformed(f"body larger than the {cap:,} bytes read at most (SOPHOS_SYNC_MAX_RESPONSE_BYTES)")
        chunks.append(chunk)
    return b"".join(chunks)


def _usable_body(content: bytes, required: tuple[str, ...], *, quote: bool) -> dict:
    shown = f": {_snippet(content.decode('utf-8', 'replace'))!r}" if quote else f" ({len(content)} bytes)"
    try:
        body = json.loads(content)
    except RecursionError:
        # Python's parser recurses per level: a deeply nested answer is malformed, not a crash of the task.
        raise _Malformed(f"not JSON we read (nested too deeply){shown}") from None
    except ValueError as exc:
        raise _Malformed(f"not JSON ({exc.__class__.__name__}){shown}") from None
    if not isinstance(body, dict):
        raise _Malformed(f"expected a JSON object{shown}")
    missing = [key for key in required if key not in body]
    if missing:
        raise _Malformed(f"missing {', '.join(missing)}{shown}")
    return body


def _items(body: dict, url: str) -> list[dict]:
    items = body["items"]
    if not isinstance(items, list):
        raise SophosApiError(f"{_safe_url(url)}: 'items' is not a list")
    return items


def _json_or_empty(content: bytes) -> dict:
    try:
        body = json.loads(content)
    except (ValueError, RecursionError):
        return {}
    return body if isinstance(body, dict) else {}


def _sophos_message(body: dict) -> str:
    """Sophos's own words from an error body: its code (errorCode, error or code) and message."""
    code = next((str(body[key]) for key in ("errorCode", "error", "code") if body.get(key)), "")
    message = str(body.get("message") or "")
    return f"{code}: {message}" if code and message else code or message


def _sophos_message_of(content: bytes) -> str:
    body = _json_or_empty(content)
    return _snippet(_sophos_message(body) if body else content.decode("utf-8", "replace"))


def _snippet(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= SNIPPET_CHARS else text[:SNIPPET_CHARS] + "..."


def _safe_url(url: str | httpx.URL) -> str:
    """The URL without user:password, which a proxy override may carry."""
    try:
        parts = urlsplit(str(url))
        host = parts.hostname or ""
        netloc = f"{host}:{parts.port}" if parts.port else host
    except ValueError:
        return "(a URL that does not parse)"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, ""))


def _int_or_none(value: object) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
