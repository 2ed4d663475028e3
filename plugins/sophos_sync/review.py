"""Customer mapping and Support's review workflow: the SQL side of mapping.py.

The tables and rules are in docs/architecture.md, Table contracts and Mapping rules.

Every function takes an open psycopg connection and runs inside the caller's transaction: it never
commits or rolls back. After a ReviewError the caller must roll back (PostgreSQL aborted the transaction).
"""
from __future__ import annotations

import json
import logging
import time
import uuid
from datetime import date

import pandas as pd
import psycopg
from psycopg.rows import dict_row

from sophos_sync import db, mapping
from sophos_sync.errors import SophosSyncError

log = logging.getLogger(__name__)

REASONS = ("no_match", "ambiguous", "unknown_seller", "seller_changed")
OUTCOMES = ("mapped", "auto_matched", "unmapped")


class ReviewError(SophosSyncError):
    """A review action was refused (unknown id, another seller's organization, already mapped...); nothing changed."""


def map_customers(conn: psycopg.Connection, sync_run_id: int) -> dict[str, int]:
    """Decide the mapping of every tenant of the run into sophos.stage_customer_decisions (replacing the
    run's previous decisions). Returns the count of each outcome and of each unmapped reason."""
    started = time.monotonic()
    params = {"sync_run_id": sync_run_id}
    decisions = mapping.decide(
        _frame(conn, "mapping/run_tenants", params, ["sophos_customer_id", "name", "show_as", "partner_id"]),
        _frame(conn, "mapping/run_sellers", params, ["seller_id", "name", "sophos_partner_id"]),
        _frame(conn, "mapping/run_organizations", params, ["org_id", "seller_id", "name"]),
        _frame(
            conn, "mapping/run_mappings", params, ["sophos_customer_id", "platform_org_id", "method", "org_seller_id"]
        ),
    )
    conn.execute(db.sql("mapping/delete_run_decisions"), params)
    db.copy_rows(
        conn,
        "sophos.stage_customer_decisions",
        ["sync_run_id", *mapping.DECISION_COLUMNS],
        (
            (sync_run_id, *row[:-1], json.dumps(row[-1], ensure_ascii=False))
            for row in decisions[mapping.DECISION_COLUMNS].itertuples(index=False, name=None)
        ),
    )
    counts = {key: 0 for key in (*OUTCOMES, *REASONS)}
    counts.update(decisions["outcome"].value_counts().to_dict())
    counts.update(decisions["reason"].dropna().value_counts().to_dict())
    counts = {key: int(value) for key, value in counts.items()}
    log.info(
        "mapped customers of run %s: %d tenants, %d already mapped, %d auto-matched, %d unmapped "
        "(no_match %d, ambiguous %d, unknown_seller %d, seller_changed %d) in %.1f s",
        sync_run_id, len(decisions), counts["mapped"], counts["auto_matched"], counts["unmapped"],
        counts["no_match"], counts["ambiguous"], counts["unknown_seller"], counts["seller_changed"],
        time.monotonic() - started,
    )
    return counts


def record_unmapped_customers(conn: psycopg.Connection, sync_run_id: int, billing_month: date) -> dict[str, int]:
    """Upsert review.unmapped_customers from the run's unmapped decisions (never truncates).

    Returns {"inserted", "updated", "reopened"} ("reopened" is among "updated": resolved rows whose
    customer is unmapped again)."""
    row = conn.execute(
        db.sql("review/upsert_unmapped"), {"sync_run_id": sync_run_id, "billing_month": billing_month}
    ).fetchone()
    counts = {"inserted": int(row[0]), "updated": int(row[1]), "reopened": int(row[2])}
    log.info(
        "recorded unmapped customers of run %s (%s): %d new, %d already listed (%d reopened)",
        sync_run_id, billing_month, counts["inserted"], counts["updated"], counts["reopened"],
    )
    if counts["reopened"]:
        log.warning("%d customers resolved earlier are unmapped again: their mapping was removed", counts["reopened"])
    return counts


def close_resolved(conn: psycopg.Connection, sync_run_id: int) -> int:
    """Mark resolved the open review rows whose customer now has a mapping (auto-matched in this run, or
    mapped manually); returns how many. The load calls it inside its transaction, after writing the
    run's auto mappings."""
    closed, _ = conn.execute(db.sql("review/close_resolved"), {"sync_run_id": sync_run_id}).fetchone()
    log.info("closed review rows of customers mapped now (run %s): %d", sync_run_id, closed)
    return int(closed)


def list_open(conn: psycopg.Connection, limit: int | None = None) -> list[dict]:
    """Open review rows, the biggest month amount first, each with its ranked candidates."""
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(db.sql("review/list_open"), {"limit": limit}).fetchall()


def count_open(conn: psycopg.Connection) -> int:
    return conn.execute(db.sql("review/count_open")).fetchone()[0]


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
        with conn.cursor(row_factory=dict_row) as cur:
            organization = cur.execute(db.sql("review/resolve_customer"), params).fetchone()
    except (psycopg.errors.RaiseException, psycopg.errors.InvalidParameterValue) as exc:
        diag = exc.diag
        hint = f" {diag.message_hint}" if diag.message_hint else ""
        raise ReviewError(f"refused: {diag.message_primary}.{hint}") from None
    except psycopg.errors.InsufficientPrivilege:
        raise ReviewError(
            "only Support may resolve customers: connect as a user granted the support_agent role; "
            "nothing was changed"
        ) from None
    log.info(
        "resolved customer %s -> organization %s by %s%s", customer, org_id, resolved_by.strip(),
        " (forced)" if force else "",
    )
    return organization


def _frame(conn: psycopg.Connection, name: str, params: dict, columns: list[str]) -> pd.DataFrame:
    rows = conn.execute(db.sql(name), params).fetchall()
    return pd.DataFrame(rows, columns=columns, dtype=object)
