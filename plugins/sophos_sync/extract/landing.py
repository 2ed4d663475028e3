"""The landing tables, written by the extracts and read by validation and the load: tenants and licences one
jsonb row per API object (sophos.landing_records), billing lines one row per API page holding its items as
JSON lines, each item's bytes as Sophos sent them (sophos.landing_pages), and what each extract saw as a
whole (sophos.landing_batches).

Each extract replaces its own (run, account, entity) slice in one transaction, so a retried task never
duplicates rows, and records what the API itself said about the whole (its item count, skipped tenants).
Everything is streamed from the API into COPY, never collected in memory first.
"""

from __future__ import annotations

import json
import queue
import re
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date

import msgspec
import psycopg
from psycopg.types.json import Jsonb


@dataclass(frozen=True)
class Job:
    """What one extract task lands: one entity of one Sophos connection (`account`) for one sync run."""

    sync_run_id: int
    account: str
    billing_month: date
    contract_currency: str | None = None


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


def replace_slice(
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
    with (
        conn.cursor() as cur,
        cur.copy("COPY sophos.landing_records (sync_run_id, account, entity, seq, tenant_id, raw) FROM STDIN") as copy,
    ):
        for count, (tenant_id, item) in enumerate(records, start=1):
            copy.write_row((sync_run_id, account, entity, count, tenant_id, Jsonb(item, _landing_json)))
    return count


def record_batch(
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
        (
            sync_run_id,
            account,
            entity,
            partner_id,
            record_count,
            reported_count,
            Jsonb(skipped or []),
            contract_currency,
        ),
    )


def records(conn: psycopg.Connection, sync_run_id: int, entity: str) -> Iterator[tuple[str, str | None, str]]:
    """(account, tenant id, JSON text) of the run's landed records of `entity`, in the order they arrived."""
    with conn.cursor(name=f"landing_{entity}") as cur:
        cur.itersize = 20_000
        cur.execute(
            """SELECT account, tenant_id, raw::text FROM sophos.landing_records
               WHERE sync_run_id = %s AND entity = %s ORDER BY account, seq""",
            (sync_run_id, entity),
        )
        yield from cur


def pages(conn: psycopg.Connection, sync_run_id: int, entity: str) -> Iterator[tuple[str, bytes]]:
    """(account, JSON lines) of the run's landed pages of `entity`, in the order they arrived."""
    with conn.cursor(name=f"landing_pages_{entity}", binary=True) as cur:
        cur.itersize = 16
        cur.execute(
            """SELECT account, lines FROM sophos.landing_pages
               WHERE sync_run_id = %s AND entity = %s ORDER BY account, page""",
            (sync_run_id, entity),
        )
        yield from cur
