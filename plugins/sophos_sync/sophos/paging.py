"""Paging through Sophos's lists: the tenants (page numbers) and a month's billing usage (page keys).

Each page is checked against what Sophos reported of the whole, so a server that loops, repeats or serves
more than it announced fails the run instead of loading a wrong list.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator

import msgspec

from sophos_sync.errors import SophosApiError
from sophos_sync.sophos.http import SophosHttp, int_or_none
from sophos_sync.sophos.urls import safe_url

# The Sophos client logs under one name, whichever of its modules speaks, so log settings keep applying.
log = logging.getLogger("sophos_sync.sophos.client")
_RAW_ITEMS = msgspec.json.Decoder(list[msgspec.Raw])


def tenant_pages(
    http: SophosHttp, url: str, headers: dict[str, str], *, name: str, page_size: int, max_pages: int
) -> Iterator[dict]:
    """Every tenant item of `url` verbatim (page paging, pageTotal=true), starting with pages of `page_size`."""
    started = time.monotonic()
    size = page_size
    page = 1
    fetched = 0
    seen: set[str] = set()
    while True:
        if page > max_pages:
            raise SophosApiError(
                f"connection '{name}': {safe_url(url)} still paging after {max_pages} pages; "
                f"the server seems to loop. "
                f"Raise SOPHOS_SYNC_MAX_PAGES only if the tenant count really needs it"
            )
        body = http.get(
            url,
            headers=headers,
            params={"page": page, "pageSize": size, "pageTotal": "true"},
            required=("items", "pages"),
        )
        items, pages = _items(body, url), body["pages"]
        max_size = int_or_none(pages.get("maxSize"))
        total = int_or_none(pages.get("total"))
        if page == 1 and max_size and max_size > size and (total or 0) > 1:
            # Bigger pages mean fewer calls; offsets change with the size, so start over before yielding.
            size = max_size
            continue
        reported = int_or_none(pages.get("items"))
        if total is not None and total > max_pages:
            raise SophosApiError(
                f"connection '{name}': {safe_url(url)} reports {total:,} pages of tenants, more than "
                f"SOPHOS_SYNC_MAX_PAGES ({max_pages:,}); the answer was not trusted"
            )
        # malformed items are validation's to reject, not paging's
        ids = {str(item["id"]) for item in items if isinstance(item, dict) and item.get("id") is not None}
        if ids and ids <= seen:
            raise SophosApiError(
                f"connection '{name}': {safe_url(url)} page {page} repeats tenants of earlier pages; the "
                "server seems to ignore paging, so the tenant list was not trusted. Try again later"
            )
        seen |= ids
        fetched += len(items)
        if reported is not None and fetched > reported:
            raise SophosApiError(
                f"connection '{name}': {safe_url(url)} served {fetched:,} tenants by page {page}, more "
                f"than the {reported:,} it reported; the tenant list was not trusted. Try again later"
            )
        yield from items
        served = int_or_none(pages.get("size")) or size
        if not items or (page >= total if total is not None else len(items) < served):
            break
        page += 1
    log.info(
        "fetched tenants of '%s': %s in %s pages in %.1f s",
        name,
        f"{fetched:,}",
        page,
        time.monotonic() - started,
    )


class BillingUsage:
    """A month's invoice report, read once page by page following pages.nextKey (key paging).

    `pages()` gives each page's line items as Sophos sent them (undecoded JSON, for landing as is);
    iterating gives the items decoded. `reported_count` is Sophos's own pages.items of the report (asked
    for with pageTotal=true), so the load can prove it holds every line; `fetched_count` and `pages_read`
    say what the reading got.
    """

    def __init__(
        self,
        http: SophosHttp,
        year: int,
        month: int,
        url: str,
        headers: dict[str, str],
        first_page: dict[str, msgspec.Raw],
        *,
        name: str,
        page_size: int,
        max_pages: int,
    ) -> None:
        self._http = http
        self._url = url
        self._headers = headers
        self._first_page: dict[str, msgspec.Raw] | None = first_page
        self._name = name
        self._page_size = page_size
        self._max_pages = max_pages
        self.year = year
        self.month = month
        paging = _paging(first_page)
        self.reported_count: int | None = int_or_none(paging.get("items"))
        reported_pages = int_or_none(paging.get("total"))
        if reported_pages is not None and reported_pages > max_pages:
            raise SophosApiError(
                f"connection '{name}': billing usage {year}-{month:02d} reports {reported_pages:,} pages, "
                f"more than SOPHOS_SYNC_MAX_PAGES ({max_pages:,}); the month was not trusted"
            )
        self.fetched_count = 0
        self.pages_read = 0

    def __iter__(self) -> Iterator[dict]:
        for items in self.pages():
            for item in items:
                yield json.loads(bytes(item))

    def pages(self) -> Iterator[list[msgspec.Raw]]:
        """The line items of each page in turn, each the JSON text Sophos sent (msgspec.Raw)."""
        if self._first_page is None:
            raise RuntimeError("a BillingUsage is read once; call client.billing_usage() again to re-read")
        body, self._first_page = self._first_page, None
        url, name = self._url, self._name
        started = time.monotonic()
        seen_keys: set[str] = set()
        while True:
            self.pages_read += 1
            items = _raw_items(body, url)
            self.fetched_count += len(items)
            if self.reported_count is not None and self.fetched_count > self.reported_count:
                raise SophosApiError(
                    f"connection '{name}': billing usage {self.year}-{self.month:02d} served "
                    f"{self.fetched_count:,} lines by page {self.pages_read}, more than the {self.reported_count:,} "
                    "Sophos reported; the month was not trusted. Try again later"
                )
            yield items
            next_key = _paging(body).get("nextKey")
            if not next_key:
                break
            if next_key in seen_keys or self.pages_read >= self._max_pages:
                raise SophosApiError(
                    f"connection '{name}': billing usage {self.year}-{self.month:02d} keeps paging "
                    f"({self.pages_read} pages, key {next_key!r} {'seen before' if next_key in seen_keys else 'new'}); "
                    f"the server seems to loop, so the month was not trusted. Try again later"
                )
            seen_keys.add(next_key)
            body = self._http.get(
                url,
                headers=self._headers,
                params={"pageSize": self._page_size, "pageFromKey": next_key},
                required=("items",),
                raw_members=True,
            )
        log.info(
            "fetched billing usage %d-%02d of '%s': %s lines in %s pages (Sophos reports %s) in %.1f s",
            self.year,
            self.month,
            name,
            f"{self.fetched_count:,}",
            self.pages_read,
            "?" if self.reported_count is None else f"{self.reported_count:,}",
            time.monotonic() - started,
        )


def _paging(body: dict[str, msgspec.Raw]) -> dict:
    """A raw page's `pages` object, decoded (it is small); {} when there is none."""
    paging = msgspec.json.decode(body["pages"]) if "pages" in body else None
    return paging if isinstance(paging, dict) else {}


def _raw_items(body: dict[str, msgspec.Raw], url: str) -> list[msgspec.Raw]:
    try:
        return _RAW_ITEMS.decode(body["items"])
    except msgspec.ValidationError:
        raise SophosApiError(f"{safe_url(url)}: 'items' is not a list") from None


def _items(body: dict, url: str) -> list[dict]:
    items = body["items"]
    if not isinstance(items, list):
        raise SophosApiError(f"{safe_url(url)}: 'items' is not a list")
    return items
