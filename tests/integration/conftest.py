"""Fixtures the integration suites share."""
from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal

import psycopg
import pytest

from sophos_sync.mapping import customers
from sophos_sync.review import workflow

PARTNER_A = "aaaaaaaa-0000-4000-8000-000000000001"
PARTNER_B = "bbbbbbbb-0000-4000-8000-000000000002"


@pytest.fixture
def unmapped(pg_dsn) -> dict[str, str]:
    """Three unmapped customers of seller A with different amounts, recorded by a run of October 2026 (Support's
    command and page are tried on the same ones)."""
    ids = {"big": str(uuid.uuid4()), "small": str(uuid.uuid4()), "ambiguous": str(uuid.uuid4())}
    with psycopg.connect(pg_dsn) as conn:
        conn.execute(
            "INSERT INTO platform.sellers VALUES ('seller-a', 'Seller A', %s), ('seller-b', 'Seller B', %s)",
            (PARTNER_A, PARTNER_B),
        )
        conn.execute(
            """INSERT INTO platform.customer_organizations VALUES
               ('org-a-harbour', 'seller-a', 'Harbour Logistics Ltd'),
               ('org-a-alpine', 'seller-a', 'Alpine Ski School'),
               ('org-a-twin1', 'seller-a', 'Twin Corp'),
               ('org-a-twin2', 'seller-a', 'Twin Corporation'),
               ('org-b-delta', 'seller-b', 'Delta Dental')"""
        )
        run = conn.execute(
            "INSERT INTO sophos.sync_runs (dag_run_id, billing_month) VALUES ('cli-test', '2026-10-01') "
            "RETURNING sync_run_id"
        ).fetchone()[0]
        for key, name, price in (("big", "Harbor Logistic", "700.00"), ("small", "Alpine Skiing", "3.50"),
                                 ("ambiguous", "Twin Inc", None)):
            conn.execute(
                "INSERT INTO sophos.stage_tenants (sync_run_id, account, sophos_customer_id, name, partner_id) "
                "VALUES (%s, 'sophos_default', %s, %s, %s)",
                (run, ids[key], name, PARTNER_A),
            )
            conn.execute(
                "INSERT INTO sophos.stage_licenses (sync_run_id, account, subscription_id, sophos_customer_id) "
                "VALUES (%s, 'sophos_default', %s, %s)",
                (run, str(uuid.uuid4()), ids[key]),
            )
            if price:
                conn.execute(
                    "INSERT INTO sophos.stage_billing_lines (sync_run_id, account, line_key, sophos_customer_id, "
                    "net_price, billable_quantity, currency) VALUES (%s, 'sophos_default', %s, %s, %s, 2, 'EUR')",
                    (run, uuid.uuid4().hex, ids[key], Decimal(price)),
                )
        customers.map_customers(conn, run)
        workflow.record_unmapped_customers(conn, run, date(2026, 10, 1))
    return ids
