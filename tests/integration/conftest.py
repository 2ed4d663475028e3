"""Fixtures the integration suites share."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal

import psycopg
import pytest

from sophos_sync.mapping import customers
from sophos_sync.review import workflow
from tests.rows import open_run, platform, stage_billing_line, stage_license, stage_tenant

PARTNER_A = "aaaaaaaa-0000-4000-8000-000000000001"
PARTNER_B = "bbbbbbbb-0000-4000-8000-000000000002"


@pytest.fixture
def unmapped(pg_dsn) -> dict[str, str]:
    """Three unmapped customers of seller A with different amounts, recorded by a run of October 2026 (Support's
    command and page are tried on the same ones)."""
    ids = {"big": str(uuid.uuid4()), "small": str(uuid.uuid4()), "ambiguous": str(uuid.uuid4())}
    with psycopg.connect(pg_dsn) as conn:
        platform(
            conn,
            [("seller-a", "Seller A", PARTNER_A), ("seller-b", "Seller B", PARTNER_B)],
            [
                ("org-a-harbour", "seller-a", "Harbour Logistics Ltd"),
                ("org-a-alpine", "seller-a", "Alpine Ski School"),
                ("org-a-twin1", "seller-a", "Twin Corp"),
                ("org-a-twin2", "seller-a", "Twin Corporation"),
                ("org-b-delta", "seller-b", "Delta Dental"),
            ],
        )
        run = open_run(conn, "2026-10-01", dag_run_id="cli-test")
        for key, name, price in (
            ("big", "Harbor Logistic", "700.00"),
            ("small", "Alpine Skiing", "3.50"),
            ("ambiguous", "Twin Inc", None),
        ):
            stage_tenant(conn, run, ids[key], name, PARTNER_A)
            stage_license(conn, run, str(uuid.uuid4()), ids[key])
            if price:
                stage_billing_line(
                    conn,
                    run,
                    uuid.uuid4().hex,
                    ids[key],
                    unit_price=Decimal(price),
                    billable_quantity=2,
                    currency="EUR",
                )
        customers.map_customers(conn, run)
        workflow.record_unmapped_customers(conn, run, date(2026, 10, 1))
    return ids
