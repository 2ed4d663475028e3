"""Extract billing usage (the month's invoice report): page by page into sophos.landing_pages, each page's
items as Sophos sent them, while the next pages are fetched."""

from __future__ import annotations

import logging
import time

import psycopg

from sophos_sync.extract.landing import Job, json_lines, prefetched, record_batch
from sophos_sync.sophos.client import SophosClient

log = logging.getLogger(__name__)


def extract(conn: psycopg.Connection, client: SophosClient, job: Job) -> dict:
    """The month's invoice report, page by page into landing_pages; raises ReportNotAvailable (404) before
    anything is written."""
    started = time.monotonic()
    month = job.billing_month
    partner_id = client.whoami().id
    usage = client.billing_usage(month.year, month.month)
    count = 0
    with conn.transaction():
        conn.execute(
            "DELETE FROM sophos.landing_pages WHERE sync_run_id = %s AND account = %s AND entity = 'billing_usage'",
            (job.sync_run_id, job.account),
        )
        with (
            conn.cursor() as cur,
            cur.copy(
                "COPY sophos.landing_pages (sync_run_id, account, entity, page, items, lines) "
                "FROM STDIN (FORMAT binary)"
            ) as copy,
        ):
            copy.set_types(["int8", "text", "text", "int4", "int4", "bytea"])
            for page, items in enumerate(prefetched(usage.pages()), start=1):
                copy.write_row((job.sync_run_id, job.account, "billing_usage", page, len(items), json_lines(items)))
                count += len(items)
        record_batch(
            conn,
            job.sync_run_id,
            job.account,
            "billing_usage",
            partner_id,
            count,
            usage.reported_count,
            contract_currency=job.contract_currency,
        )
    if usage.reported_count is not None and usage.reported_count != count:
        log.warning(
            "billing report of %s for %s: the API announced %s lines but sent %s",
            job.account,
            month.strftime("%Y-%m"),
            f"{usage.reported_count:,}",
            f"{count:,}",
        )
    log.info(
        "extracted billing lines of %s for %s: %s in %s pages in %.1f s",
        job.account,
        month.strftime("%Y-%m"),
        f"{count:,}",
        f"{usage.pages_read:,}",
        time.monotonic() - started,
    )
    return {"billing_lines": count, "reported": usage.reported_count}
