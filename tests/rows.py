"""Rows the tests put straight into the warehouse, as the stages before the one under test would leave them:
a sync run, the landing and stage tables of a run, the validation's rejected records, and the Platform's
reference data. Each builder writes one row with the columns given (the others keep their defaults), on a
connection or a cursor; the caller commits.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Sequence
from datetime import date

import psycopg

ACCOUNT = "sophos_default"

Writer = psycopg.Connection | psycopg.Cursor


def _insert(conn: Writer, table: str, values: dict, returning: str | None = None):
    query = f"INSERT INTO {table} ({', '.join(values)}) VALUES ({', '.join(['%s'] * len(values))})"
    if returning:
        return conn.execute(f"{query} RETURNING {returning}", list(values.values())).fetchone()[0]
    conn.execute(query, list(values.values()))
    return None


# --- sophos.sync_runs ---------------------------------------------------------------------------------------


def open_run(conn: Writer, month: date | str, dag_run_id: str | None = None) -> int:
    """A sync run of the billing month (its first day), as start_run opens it; its id."""
    return _insert(
        conn,
        "sophos.sync_runs",
        {"dag_run_id": dag_run_id or f"test-{uuid.uuid4().hex[:8]}", "billing_month": month},
        returning="sync_run_id",
    )


# --- landing: what extract lands ----------------------------------------------------------------------------


def land_record(
    conn: Writer, run: int, entity: str, seq: int, raw, tenant_id: str | None = None, *, account: str = ACCOUNT
) -> None:
    """One landed tenant or licence (`raw`: its JSON, e.g. psycopg's Jsonb of the API's record)."""
    _insert(
        conn,
        "sophos.landing_records",
        {"sync_run_id": run, "account": account, "entity": entity, "seq": seq, "tenant_id": tenant_id, "raw": raw},
    )


def land_page(
    conn: Writer, run: int, entity: str, page: int, items: Sequence[object], *, account: str = ACCOUNT
) -> None:
    """One landed page of `items` as extract lands billing pages: the items as JSON lines."""
    _insert(
        conn,
        "sophos.landing_pages",
        {
            "sync_run_id": run,
            "account": account,
            "entity": entity,
            "page": page,
            "items": len(items),
            "lines": "\n".join(map(json.dumps, items)).encode(),
        },
    )


def land_batch(
    conn: Writer,
    run: int,
    entity: str,
    partner_id: str | None,
    record_count: int,
    reported_count: int | None,
    *,
    account: str = ACCOUNT,
    **columns,
) -> None:
    """The batch that closes an account's extract of an entity: what it landed, and what the API announced."""
    _insert(
        conn,
        "sophos.landing_batches",
        {
            "sync_run_id": run,
            "account": account,
            "entity": entity,
            "partner_id": partner_id,
            "record_count": record_count,
            "reported_count": reported_count,
            **columns,
        },
    )


# --- stage: what validate and map leave ---------------------------------------------------------------------


def stage_tenant(
    conn: Writer, run: int, customer_id: str, name: str, partner_id: str | None, *, account: str = ACCOUNT, **columns
) -> None:
    _insert(
        conn,
        "sophos.stage_tenants",
        {
            "sync_run_id": run,
            "account": account,
            "sophos_customer_id": customer_id,
            "name": name,
            "partner_id": partner_id,
            **columns,
        },
    )


def stage_license(
    conn: Writer, run: int, subscription_id: str, customer_id: str, *, account: str = ACCOUNT, **columns
) -> None:
    _insert(
        conn,
        "sophos.stage_licenses",
        {
            "sync_run_id": run,
            "account": account,
            "subscription_id": subscription_id,
            "sophos_customer_id": customer_id,
            **columns,
        },
    )


def stage_billing_line(
    conn: Writer, run: int, line_key: str, customer_id: str | None, *, account: str = ACCOUNT, **columns
) -> None:
    _insert(
        conn,
        "sophos.stage_billing_lines",
        {"sync_run_id": run, "account": account, "line_key": line_key, "sophos_customer_id": customer_id, **columns},
    )


def stage_customer_decision(
    conn: Writer, run: int, customer_id: str, partner_id: str | None, outcome: str, **columns
) -> None:
    _insert(
        conn,
        "sophos.stage_customer_decisions",
        {
            "sync_run_id": run,
            "sophos_customer_id": customer_id,
            "partner_id": partner_id,
            "outcome": outcome,
            **columns,
        },
    )


def rejected_record(
    conn: Writer,
    run: int,
    entity: str,
    source_key: str | None,
    check_name: str,
    column_name: str | None,
    failure_case: str,
    raw,
) -> None:
    """One failed check of a record validation rejected (`raw`: the record's JSON)."""
    _insert(
        conn,
        "sophos.rejected_records",
        {
            "sync_run_id": run,
            "entity": entity,
            "source_key": source_key,
            "check_name": check_name,
            "column_name": column_name,
            "failure_case": failure_case,
            "raw": raw,
        },
    )


def customer_mapping(conn: Writer, customer_id: str, org_id: str, method: str, mapped_by: str) -> None:
    """A customer's mapping to a Platform organization, as a person (or the auto-match) made it."""
    _insert(
        conn,
        "sophos.customer_mappings",
        {"sophos_customer_id": customer_id, "platform_org_id": org_id, "method": method, "mapped_by": mapped_by},
    )


# --- platform: the Platform's reference data ----------------------------------------------------------------


def seller(conn: Writer, seller_id: str, name: str, partner_id: str | None) -> None:
    """A seller, linked to a Sophos partner (or not yet)."""
    _insert(conn, "platform.sellers", {"seller_id": seller_id, "name": name, "sophos_partner_id": partner_id})


def organization(conn: Writer, org_id: str, seller_id: str, name: str) -> None:
    """A customer organization of a seller."""
    _insert(conn, "platform.customer_organizations", {"org_id": org_id, "seller_id": seller_id, "name": name})


def platform(
    conn: Writer, sellers: Iterable[tuple[str, str, str | None]], organizations: Iterable[tuple[str, str, str]]
) -> None:
    """Sellers (id, name, Sophos partner) and their customer organizations (id, seller, name)."""
    for row in sellers:
        seller(conn, *row)
    for row in organizations:
        organization(conn, *row)
