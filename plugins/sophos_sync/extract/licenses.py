"""Extract licences (subscriptions): one call per tenant the connection listed, one landing row per licence."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator

import psycopg

from sophos_sync.extract.landing import Job, record_batch, replace_slice
from sophos_sync.sophos.client import SophosClient

log = logging.getLogger(__name__)


def landed_tenants(conn: psycopg.Connection, sync_run_id: int, account: str) -> list[str]:
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


def extract(conn: psycopg.Connection, client: SophosClient, job: Job) -> dict:
    """Licences of every tenant this account listed; a tenant answering 403 is skipped, with its reason."""
    started = time.monotonic()
    tenants = landed_tenants(conn, job.sync_run_id, job.account)
    skipped: list[dict] = []

    def license_rows() -> Iterator[tuple[str, dict]]:
        for result in client.licenses(tenants):
            if result.skipped_reason is not None:
                skipped.append({"tenant_id": result.tenant_id, "reason": result.skipped_reason})
                continue
            for license in result.licenses or []:
                yield result.tenant_id, license

    with conn.transaction():
        count = replace_slice(conn, job.sync_run_id, job.account, "license", license_rows())
        record_batch(conn, job.sync_run_id, job.account, "license", None, count, None, skipped)
    if skipped:
        log.warning(
            "licences of %d tenant(s) of %s were skipped (e.g. %s: %s); their subscriptions keep their last state",
            len(skipped),
            job.account,
            skipped[0]["tenant_id"],
            skipped[0]["reason"],
        )
    log.info(
        "extracted licences of %s: %s for %s tenants in %.1f s",
        job.account,
        f"{count:,}",
        f"{len(tenants) - len(skipped):,}",
        time.monotonic() - started,
    )
    return {"licenses": count, "tenants_skipped": len(skipped)}
