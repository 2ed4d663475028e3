"""Customer mapping's SQL side: the run's tenants, sellers, organizations and mappings read, decided
(mapping.rules, pure) and written into sophos.stage_customer_decisions."""

from __future__ import annotations

import json
import logging
import time

import pandas as pd
import psycopg

from sophos_sync.mapping import rules
from sophos_sync.mapping.outcomes import OUTCOMES, REASONS
from sophos_sync.warehouse import bulk, db

log = logging.getLogger(__name__)


def map_customers(conn: psycopg.Connection, sync_run_id: int) -> dict[str, int]:
    """Decide the mapping of every tenant of the run into sophos.stage_customer_decisions (replacing the
    run's previous decisions). Returns the count of each outcome and of each unmapped reason."""
    started = time.monotonic()
    params = {"sync_run_id": sync_run_id}
    decisions = rules.decide(
        _frame(conn, "mapping/run_tenants", params, ["sophos_customer_id", "name", "show_as", "partner_id"]),
        _frame(conn, "mapping/run_sellers", params, ["seller_id", "name", "sophos_partner_id"]),
        _frame(conn, "mapping/run_organizations", params, ["org_id", "seller_id", "name"]),
        _frame(
            conn, "mapping/run_mappings", params, ["sophos_customer_id", "platform_org_id", "method", "org_seller_id"]
        ),
    )
    conn.execute(db.sql("mapping/delete_run_decisions"), params)
    bulk.copy_rows(
        conn,
        "sophos.stage_customer_decisions",
        ["sync_run_id", *rules.DECISION_COLUMNS],
        (
            (sync_run_id, *row[:-1], json.dumps(row[-1], ensure_ascii=False))
            for row in decisions[rules.DECISION_COLUMNS].itertuples(index=False, name=None)
        ),
    )
    counts = {key: 0 for key in (*OUTCOMES, *REASONS)}
    counts.update(decisions["outcome"].value_counts().to_dict())
    counts.update(decisions["reason"].dropna().value_counts().to_dict())
    counts = {key: int(value) for key, value in counts.items()}
    log.info(
        "mapped customers of run %s: %d tenants, %d already mapped, %d auto-matched, %d unmapped "
        "(no_match %d, ambiguous %d, unknown_seller %d, seller_changed %d) in %.1f s",
        sync_run_id,
        len(decisions),
        counts["mapped"],
        counts["auto_matched"],
        counts["unmapped"],
        counts["no_match"],
        counts["ambiguous"],
        counts["unknown_seller"],
        counts["seller_changed"],
        time.monotonic() - started,
    )
    return counts


def _frame(conn: psycopg.Connection, name: str, params: dict, columns: list[str]) -> pd.DataFrame:
    rows = conn.execute(db.sql(name), params).fetchall()
    return pd.DataFrame(rows, columns=columns, dtype=object)
