"""Extract: Sophos API → landing tables, keyed by run and account: tenants and licences one jsonb row per API
object (sophos.landing_records), billing lines one row per API page holding its items as JSON lines, each
item's bytes as Sophos sent them (sophos.landing_pages).

Each extract replaces its own (run, account, entity) slice in one transaction, so a retried task never
duplicates rows, and records what the API itself said about the whole (its item count, skipped tenants).
Everything is streamed from the API into COPY, never collected in memory first.
"""
from __future__ import annotations

import json
import logging
import queue
import re
import threading
import time
from collections.abc import Iterable, Iterator
from datetime import date

import msgspec
import psycopg
from psycopg.types.json import Jsonb

from sophos_sync.client import SophosClient

log = logging.getLogger(__name__)

# A \u0000 escape not itself escaped (preceded by an even number of backslashes) in JSON text.
_NUL_ESCAPE = re.compile(r"(?<!\\)((?:\\\\)*)\\u0000")
_NUL_ESCAPE_BYTES = re.compile(_NUL_ESCAPE.pattern.encode())
# Billing pages fetched ahead of the one being written into COPY, at most: bounded memory.
PREFETCH_PAGES = 8


def _landing_json(item: object) -> str:
    """JSON text of an API object for landing_records.raw (jsonb).

    jsonb cannot hold U+0000, so one NUL in one field of one object would fail the whole extract. It is
    landed as U+001A (SUB, the substitute character) instead: still a control character, so validation
    rejects that record, with its reason, and the rest of the month goes on.
    """
    text = json.dumps(item)
    return _NUL_ESCAPE.sub(r"\1\\u001a", text) if "\\u0000" in text else text


def json_lines(items: list[msgspec.Raw]) -> bytes:
    """A page's items as JSON lines (landing_pages.lines): each item's bytes as sent, one item per line.

    JSON allows a line break only as whitespace between tokens, so one inside an item becomes a space and
    the item means the same. A \\u0000 escape becomes \\u001a, as in _landing_json: a NUL could not reach
    the stage tables, so the record is rejected with its reason instead of failing the month.
    """
    lines = b"\n".join(items)
    if lines.count(b"\n") != max(len(items) - 1, 0) or b"\r" in lines:
        lines = b"\n".join(bytes(item).replace(b"\r", b" ").replace(b"\n", b" ") for item in items)
    if b"\\u0000" in lines:
        lines = _NUL_ESCAPE_BYTES.sub(rb"\1\\u001a", lines)
    return lines


def prefetched(items: Iterable, depth: int = PREFETCH_PAGES) -> Iterator:
    """`items`, iterated in a thread of their own, ahead of the consumer by at most `depth` items.

    Key paging cannot ask for a page before the previous one named its key, but it can fetch the next
    pages while this thread writes the current ones into COPY. An error of the source is raised here."""
    handoff: queue.Queue = queue.Queue(maxsize=depth)
    stopped = threading.Event()
    done = object()

    def produce() -> None:
        try:
            for item in items:
                if stopped.is_set():
                    return
                _put((item,))
            _put(done)
        except BaseException as exc:  # handed to the consumer, which raises it
            _put(exc)

    def _put(value: object) -> None:
        while not stopped.is_set():
            try:
                handoff.put(value, timeout=0.5)
                return
            except queue.Full:
                continue

    producer = threading.Thread(target=produce, name="prefetch", daemon=True)
    producer.start()
    try:
        while True:
            value = handoff.get()
            if value is done:
                return
            if isinstance(value, BaseException):
                raise value
            yield value[0]
    finally:
        stopped.set()
        producer.join()


def _replace_slice(
    conn: psycopg.Connection,
    sync_run_id: int,
    account: str,
    entity: str,
    records: Iterable[tuple[str | None, dict]],
) -> int:
    """Within the caller's transaction: drop what an earlier try landed, then COPY the new records."""
    conn.execute(
        "DELETE FROM sophos.landing_records WHERE sync_run_id = %s AND account = %s AND entity = %s",
        (sync_run_id, account, entity),
    )
    count = 0
    with conn.cursor() as cur, cur.copy(
        "COPY sophos.landing_records (sync_run_id, account, entity, seq, tenant_id, raw) FROM STDIN"
    ) as copy:
        for count, (tenant_id, item) in enumerate(records, start=1):
            copy.write_row((sync_run_id, account, entity, count, tenant_id, Jsonb(item, _landing_json)))
    return count


def _record_batch(
    conn: psycopg.Connection,
    sync_run_id: int,
    account: str,
    entity: str,
    partner_id: str | None,
    record_count: int,
    reported_count: int | None,
    skipped: list[dict] | None = None,
    contract_currency: str | None = None,
) -> None:
    conn.execute(
        """INSERT INTO sophos.landing_batches
               (sync_run_id, account, entity, partner_id, record_count, reported_count, skipped, contract_currency)
           VALUES (%s, %s, %s, %s, %s, %s, %s, %s)
           ON CONFLICT (sync_run_id, account, entity) DO UPDATE SET
               partner_id = EXCLUDED.partner_id, record_count = EXCLUDED.record_count,
               reported_count = EXCLUDED.reported_count, skipped = EXCLUDED.skipped,
               contract_currency = EXCLUDED.contract_currency, extracted_at = now()""",
        (sync_run_id, account, entity, partner_id, record_count, reported_count, Jsonb(skipped or []),
         contract_currency),
    )


def extract_tenants(conn: psycopg.Connection, client: SophosClient, sync_run_id: int, account: str) -> dict:
    started = time.monotonic()
    partner_id = client.whoami().id
    with conn.transaction():
        count = _replace_slice(conn, sync_run_id, account, "tenant", ((None, t) for t in client.tenants()))
        _record_batch(conn, sync_run_id, account, "tenant", partner_id, count, count)
    log.info("extracted tenants of %s: %s in %.1f s", account, f"{count:,}", time.monotonic() - started)
    return {"tenants": count}


def _landed_tenants(conn: psycopg.Connection, sync_run_id: int, account: str) -> list[str]:
    """The listed tenants whose id the tenant contract accepts (a UUID). Any other tenant is rejected by
    validation anyway, and its id may not even be sendable as X-Tenant-ID (a newline, a non-ASCII letter):
    asking for its licences would fail the licences of every tenant of the account."""
    rows = conn.execute(
        """SELECT DISTINCT raw->>'id' FROM sophos.landing_records
           WHERE sync_run_id = %s AND account = %s AND entity = 'tenant'
             AND raw->>'id' ~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
           ORDER BY 1""",
        (sync_run_id, account),
    ).fetchall()
    return [tenant_id for (tenant_id,) in rows]


def extract_licenses(conn: psycopg.Connection, client: SophosClient, sync_run_id: int, account: str) -> dict:
    """Licences of every tenant this account listed; a tenant answering 403 is skipped, with its reason."""
    started = time.monotonic()
    tenants = _landed_tenants(conn, sync_run_id, account)
    skipped: list[dict] = []

    def license_rows() -> Iterator[tuple[str, dict]]:
        for result in client.licenses(tenants):
            if result.skipped_reason is not None:
                skipped.append({"tenant_id": result.tenant_id, "reason": result.skipped_reason})
                continue
            for license in result.licenses or []:
                yield result.tenant_id, license

    with conn.transaction():
        count = _replace_slice(conn, sync_run_id, account, "license", license_rows())
        _record_batch(conn, sync_run_id, account, "license", None, count, None, skipped)
    if skipped:
        log.warning(
            "licences of %d tenant(s) of %s were skipped (e.g. %s: %s); their subscriptions keep their last state",
            len(skipped), account, skipped[0]["tenant_id"], skipped[0]["reason"],
        )
    log.info(
        "extracted licences of %s: %s for %s tenants in %.1f s",
        account, f"{count:,}", f"{len(tenants) - len(skipped):,}", time.monotonic() - started,
    )
    return {"licenses": count, "tenants_skipped": len(skipped)}


def extract_billing_usage(
    conn: psycopg.Connection,
    client: SophosClient,
    sync_run_id: int,
    account: str,
    billing_month: date,
    contract_currency: str | None = None,
) -> dict:
    """The month's invoice report, page by page into landing_pages; raises ReportNotAvailable (404) before
    anything is written."""
    started = time.monotonic()
    partner_id = client.whoami().id
    usage = client.billing_usage(billing_month.year, billing_month.month)
    count = 0
    with conn.transaction():
        conn.execute(
            "DELETE FROM sophos.landing_pages WHERE sync_run_id = %s AND account = %s AND entity = 'billing_usage'",
            (sync_run_id, account),
        )
        with conn.cursor() as cur, cur.copy(
            "COPY sophos.landing_pages (sync_run_id, account, entity, page, items, lines) FROM STDIN (FORMAT binary)"
        ) as copy:
            copy.set_types(["int8", "text", "text", "int4", "int4", "bytea"])
            for page, items in enumerate(prefetched(usage.pages()), start=1):
                copy.write_row((sync_run_id, account, "billing_usage", page, len(items), json_lines(items)))
                count += len(items)
        _record_batch(
            conn, sync_run_id, account, "billing_usage", partner_id, count, usage.reported_count,
            contract_currency=contract_currency,
        )
    if usage.reported_count is not None and usage.reported_count != count:
        log.warning(
            "billing report of %s for %s: the API announced %s lines but sent %s",
            account, billing_month.strftime("%Y-%m"), f"{usage.reported_count:,}", f"{count:,}",
        )
    log.info(
        "extracted billing lines of %s for %s: %s in %s pages in %.1f s",
        account, billing_month.strftime("%Y-%m"), f"{count:,}", f"{usage.pages_read:,}", time.monotonic() - started,
    )
    return {"billing_lines": count, "reported": usage.reported_count}
