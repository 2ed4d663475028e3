"""Extract tenants (Sophos's customers): every tenant the connection's partner sees, one landing row each."""

from __future__ import annotations

import logging
import time

import psycopg

from sophos_sync.extract.landing import Job, record_batch, replace_slice
from sophos_sync.sophos.client import SophosClient

log = logging.getLogger(__name__)


def extract(conn: psycopg.Connection, client: SophosClient, job: Job) -> dict:
    started = time.monotonic()
    partner_id = client.whoami().id
    with conn.transaction():
        count = replace_slice(conn, job.sync_run_id, job.account, "tenant", ((None, t) for t in client.tenants()))
        record_batch(conn, job.sync_run_id, job.account, "tenant", partner_id, count, count)
    log.info("extracted tenants of %s: %s in %.1f s", job.account, f"{count:,}", time.monotonic() - started)
    return {"tenants": count}
