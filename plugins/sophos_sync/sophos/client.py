"""The Sophos Central Partner API: whoami, tenants, billing usage and licences of one partner credential.

httpx only, no Airflow import, so it runs and is tested on its own; `sophos_sync.sophos.hook` is the one place that
builds it from an Airflow connection. The API facts it follows are in docs/architecture.md, Sophos API
facts. The HTTP session (token, retries, bodies) is `sophos_sync.sophos.http`, the rule of which URLs may
receive the secret or the token `sophos_sync.sophos.urls`, the paging checks `sophos_sync.sophos.paging`.
"""

from __future__ import annotations

import itertools
import logging
import queue
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx

from sophos_sync.errors import ConfigurationError, ReportNotAvailable, SophosApiError
from sophos_sync.settings import settings
from sophos_sync.sophos import endpoints
from sophos_sync.sophos.endpoints import DEFAULT_GLOBAL_URL, DEFAULT_TOKEN_URL
from sophos_sync.sophos.http import SophosHttp, sophos_message
from sophos_sync.sophos.paging import BillingUsage, tenant_pages
from sophos_sync.sophos.urls import may_receive_secrets, safe_url, warn_about_override_once

log = logging.getLogger(__name__)

# A tenants page of this size is always accepted; the client moves up to the server's pages.maxSize.
TENANT_PAGE_SIZE = 100
# Tells a licence worker thread that no tenant will follow.
_NO_MORE = object()


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
        concurrency: int | None = None,
        timeout: float | None = None,
        max_attempts: int | None = None,
        deadline_seconds: float | None = None,
        page_size: int | None = None,
        tenant_page_size: int = TENANT_PAGE_SIZE,
        max_pages: int | None = None,
        max_response_bytes: int | None = None,
        backoff_base: float | None = None,
        backoff_cap: float = 30.0,
        sleep: Callable[[float], None] = time.sleep,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        # Options left out come from the settings as they are now, not as they were at import.
        concurrency = settings.LICENSE_CONCURRENCY if concurrency is None else concurrency
        timeout = settings.HTTP_TIMEOUT_SECONDS if timeout is None else timeout
        max_attempts = settings.HTTP_MAX_ATTEMPTS if max_attempts is None else max_attempts
        deadline_seconds = settings.HTTP_DEADLINE_SECONDS if deadline_seconds is None else deadline_seconds
        page_size = settings.BILLING_PAGE_SIZE if page_size is None else page_size
        max_pages = settings.MAX_PAGES if max_pages is None else max_pages
        max_response_bytes = settings.MAX_RESPONSE_BYTES if max_response_bytes is None else max_response_bytes
        backoff_base = settings.HTTP_BACKOFF_SECONDS if backoff_base is None else backoff_base
        if not client_id or not client_secret:
            raise ConfigurationError(
                f"connection '{name}': the Sophos client id and client secret are both required "
                f"(login and password of the connection)"
            )
        if (
            concurrency < 1
            or max_attempts < 1
            or page_size < 1
            or tenant_page_size < 1
            or max_pages < 1
            or max_response_bytes < 1
        ):
            raise ConfigurationError(
                f"connection '{name}': concurrency, max_attempts, page sizes, max_pages and max_response_bytes "
                "must be at least 1"
            )
        if api_host_override and urlsplit(api_host_override).username is not None:
            raise ConfigurationError(
                f"connection '{name}': api_host_override {safe_url(api_host_override)} carries user:password, "
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
            if not may_receive_secrets(url, self.api_host_override):
                raise ConfigurationError(
                    f"connection '{name}': {what} {safe_url(url)!r} is not a Sophos URL (https://id.sophos.com or "
                    f"https://*.sophos.com){' nor on the api_host_override host' if self.api_host_override else ''}; "
                    "the client secret and the bearer token are sent only there. Remove it to use Sophos's default"
                )
        if self.api_host_override:
            warn_about_override_once(name, self.api_host_override)
        self.concurrency = concurrency
        self.page_size = page_size
        self.tenant_page_size = tenant_page_size
        self.max_pages = max_pages
        self._whoami: Whoami | None = None
        self._whoami_lock = threading.Lock()
        self._http = SophosHttp(
            name=name,
            token_url=token_url,
            client_id=client_id,
            client_secret=client_secret,
            api_host_override=self.api_host_override,
            timeout=timeout,
            max_attempts=max_attempts,
            deadline_seconds=deadline_seconds,
            max_response_bytes=max_response_bytes,
            backoff_base=backoff_base,
            backoff_cap=backoff_cap,
            sleep=sleep,
            transport=transport,
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
                url = f"{self.api_host_override or self.global_url}{endpoints.WHOAMI}"
                body = self._http.get(url, required=("id", "idType"))
                me = Whoami(id=str(body["id"]), id_type=str(body["idType"]), api_hosts=dict(body.get("apiHosts") or {}))
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
                    if not may_receive_secrets(str(global_host), self.api_host_override):
                        raise SophosApiError(
                            f"connection '{self.name}': whoami named apiHosts.global {safe_url(str(global_host))!r}, "
                            "which is not a Sophos API host (https://*.sophos.com); the bearer token was not sent "
                            "there. If Sophos really moved its API, set api_host_override on the connection"
                        )
                self._whoami = me
            return self._whoami

    def tenants(self) -> Iterator[dict]:
        """Every tenant (customer) the partner sees, raw items verbatim (page paging, pageTotal=true)."""
        partner = self.whoami()
        url = f"{self._partner_host()}{endpoints.TENANTS}"
        yield from tenant_pages(
            self._http,
            url,
            {"X-Partner-ID": partner.id},
            name=self.name,
            page_size=self.tenant_page_size,
            max_pages=self.max_pages,
        )

    def billing_report_exists(self, year: int, month: int) -> bool:
        """Whether the month's billing usage report exists yet (one small call; 404 means not yet)."""
        status, _ = self._http.request(
            "GET",
            self._billing_url(year, month),
            headers=self._partner_headers(),
            params={"pageSize": 1},
            required=("items",),
            passthrough=frozenset({404}),
        )
        return status != 404

    def billing_usage(self, year: int, month: int) -> BillingUsage:
        """The month's invoice report; its first page is fetched now, so a missing report raises here.

        Raises ReportNotAvailable when Sophos answers 404 (no report for the month, or not yet).
        """
        url = self._billing_url(year, month)
        status, body = self._http.request(
            "GET",
            url,
            headers=self._partner_headers(),
            params={"pageSize": self.page_size, "pageTotal": "true"},
            required=("items",),
            passthrough=frozenset({404}),
            raw_members=True,
        )
        if status == 404:
            raise ReportNotAvailable(
                f"connection '{self.name}': Sophos has no billing usage report for {year}-{month:02d} yet "
                f"(404 from {safe_url(url)}). Sophos publishes it around the 26th; the sensor keeps waiting"
            )
        return BillingUsage(
            self._http,
            year,
            month,
            url,
            self._partner_headers(),
            body,
            name=self.name,
            page_size=self.page_size,
            max_pages=self.max_pages,
        )

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
        # Plain worker threads and two queues rather than an executor's futures: one queue hand-off each way
        # per tenant, where waiting on the first of 2 x concurrency futures costs a lock round on every one of
        # them per result. With tens of thousands of small calls that bookkeeping was a visible share of the CPU.
        todo: queue.SimpleQueue = queue.SimpleQueue()
        done: queue.SimpleQueue = queue.SimpleQueue()
        stopping = threading.Event()

        def work() -> None:
            while not stopping.is_set():
                tenant_id = todo.get()
                if tenant_id is _NO_MORE or stopping.is_set():
                    return
                try:
                    done.put(self._tenant_licenses(tenant_id, host))
                except BaseException as exc:  # the consuming thread raises it; a dead worker would hang it
                    done.put(exc)

        workers = [
            threading.Thread(target=work, name=f"licenses-{self.name}-{n}", daemon=True)
            for n in range(self.concurrency)
        ]
        for worker in workers:
            worker.start()
        in_flight = 0
        started = time.monotonic()
        done_count = license_count = 0
        skipped: list[str] = []
        try:
            while True:
                for tenant_id in itertools.islice(source, 2 * self.concurrency - in_flight):
                    todo.put(tenant_id)
                    in_flight += 1
                if not in_flight:
                    break
                result = done.get()
                in_flight -= 1
                if isinstance(result, BaseException):
                    raise result
                done_count += 1
                if result.licenses is None:
                    skipped.append(result.tenant_id)
                else:
                    license_count += len(result.licenses)
                yield result
        finally:
            # Calls already on the wire finish (or fail once the caller closes the client); none start after this.
            stopping.set()
            for _ in workers:
                todo.put(_NO_MORE)
        log.info(
            "fetched licences of '%s': %s tenants, %s licences, %s skipped, in %.1f s (concurrency %s)",
            self.name,
            f"{done_count:,}",
            f"{license_count:,}",
            len(skipped),
            time.monotonic() - started,
            self.concurrency,
        )
        if skipped:
            shown = ", ".join(skipped[:10]) + (f" and {len(skipped) - 10} more" if len(skipped) > 10 else "")
            log.warning(
                "'%s' skipped the licences of %s tenants (403 forbidden; the reason of each is in "
                "sophos.landing_batches.skipped): %s. Grant the credential access to them in Sophos, or ignore if "
                "they belong to another partner",
                self.name,
                len(skipped),
                shown,
            )

    def _tenant_licenses(self, tenant_id: str, host: str) -> LicenseResult:
        url = f"{host.rstrip('/')}{endpoints.LICENSES}"
        status, body = self._http.request(
            "GET",
            url,
            headers={"X-Tenant-ID": tenant_id},
            required=("licenses",),
            passthrough=frozenset({403}),
        )
        if status == 403:
            return LicenseResult(tenant_id, None, f"403 forbidden: {sophos_message(body) or 'no message'}")
        if not isinstance(body["licenses"], list):
            raise SophosApiError(f"{safe_url(url)} (tenant {tenant_id}): 'licenses' is not a list")
        return LicenseResult(tenant_id, body["licenses"])

    # --- routing ------------------------------------------------------------------------------------------

    def _partner_host(self) -> str:
        if self.api_host_override:
            return self.api_host_override
        return str(self.whoami().api_hosts["global"]).rstrip("/")

    def _partner_headers(self) -> dict[str, str]:
        return {"X-Partner-ID": self.whoami().id}

    def _billing_url(self, year: int, month: int) -> str:
        return f"{self._partner_host()}{endpoints.billing_usage(year, month)}"
