"""Support's review workflow: unmapped customers recorded for Support, resolved through
review.resolve_customer, closed once mapped. The tables and rules are in docs/architecture.md, Table
contracts and Mapping rules.

Every function takes an open psycopg connection and runs inside the caller's transaction: it never
commits or rolls back. After a ReviewError the caller must roll back (PostgreSQL aborted the transaction).
"""

from __future__ import annotations

import logging
import uuid
from datetime import date

import psycopg
from psycopg.rows import dict_row

from sophos_sync.errors import SophosSyncError
from sophos_sync.warehouse import db

log = logging.getLogger(__name__)


class ReviewError(SophosSyncError):
    """A review action was refused (unknown id, another seller's organization, already mapped...); nothing changed."""


def record_unmapped_customers(conn: psycopg.Connection, sync_run_id: int, billing_month: date) -> dict[str, int]:
    """Upsert review.unmapped_customers from the run's unmapped decisions (never truncates).

    Returns {"inserted", "updated", "reopened"} ("reopened" is among "updated": resolved rows whose
    customer is unmapped again)."""
    row = db.one(conn, "review/upsert_unmapped", {"sync_run_id": sync_run_id, "billing_month": billing_month})
    counts = {"inserted": int(row[0]), "updated": int(row[1]), "reopened": int(row[2])}
    log.info(
        "recorded unmapped customers of run %s (%s): %d new, %d already listed (%d reopened)",
        sync_run_id,
        billing_month,
        counts["inserted"],
        counts["updated"],
        counts["reopened"],
    )
    if counts["reopened"]:
        log.warning("%d customers resolved earlier are unmapped again: their mapping was removed", counts["reopened"])
    return counts


def close_resolved(conn: psycopg.Connection, sync_run_id: int) -> int:
    """Mark resolved the open review rows whose customer now has a mapping (auto-matched in this run, or
    mapped manually); returns how many. The load calls it inside its transaction, after writing the
    run's auto mappings."""
    closed, _ = db.one(conn, "review/close_resolved", {"sync_run_id": sync_run_id})
    log.info("closed review rows of customers mapped now (run %s): %d", sync_run_id, closed)
    return int(closed)


def list_open(conn: psycopg.Connection, limit: int | None = None) -> list[dict]:
    """Open review rows, the biggest month amount first, each with its ranked candidates."""
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(db.sql("review/list_open"), {"limit": limit}).fetchall()


def count_open(conn: psycopg.Connection) -> int:
    return db.one(conn, "review/count_open")[0]


def resolve(
    conn: psycopg.Connection, sophos_customer_id: str, org_id: str, resolved_by: str, force: bool = False
) -> dict:
    """Map a customer to an organization of its seller through review.resolve_customer and return that
    organization ({"org_id", "seller_id", "name"}), as the function answers it: a support_agent login can
    run this end to end. Raises ReviewError, changing nothing, when refused; `resolved_by` is a person's
    name (from --by, or a web page's logged-in user)."""
    try:
        customer = str(uuid.UUID(str(sophos_customer_id).strip()))
    except ValueError:
        raise ReviewError(
            f"'{sophos_customer_id}' is not a Sophos customer id (a UUID such as "
            f"3f2a9c1e-...); copy it from 'python -m sophos_sync review list'. Nothing was changed."
        ) from None
    params = {"sophos_customer_id": customer, "org_id": org_id, "resolved_by": resolved_by, "force": force}
    try:
        organization = db.one_by_name(conn, "review/resolve_customer", params)
    except (psycopg.errors.RaiseException, psycopg.errors.InvalidParameterValue) as exc:
        diag = exc.diag
        hint = f" {diag.message_hint}" if diag.message_hint else ""
        raise ReviewError(f"refused: {diag.message_primary}.{hint}") from None
    except psycopg.errors.InsufficientPrivilege:
        raise ReviewError(
            "only Support may resolve customers: connect as a user granted the support_agent role; nothing was changed"
        ) from None
    log.info(
        "resolved customer %s -> organization %s by %s%s",
        customer,
        org_id,
        resolved_by.strip(),
        " (forced)" if force else "",
    )
    return organization
