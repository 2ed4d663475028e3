"""Finance's views over the invoice lines, on the real PostgreSQL."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from tests.rows import organization, seller

OCTOBER, SEPTEMBER = date(2026, 10, 1), date(2026, 9, 1)
PARTNER_NORTH = "7b1e2a34-0000-4000-8000-000000000001"
PARTNER_UNKNOWN = "7b1e2a34-0000-4000-8000-00000000ffff"
ACME, HOOLI = "00000000-0000-4000-8000-000000000001", "00000000-0000-4000-8000-000000000004"


def seed(conn) -> None:
    seller(conn, "seller-north", "North IT", PARTNER_NORTH)
    organization(conn, "org-acme", "seller-north", "ACME GmbH")
    conn.cursor().executemany(
        "INSERT INTO sophos.customers (sophos_customer_id, name, partner_id, platform_org_id, first_seen_at, "
        "last_seen_at) VALUES (%s, %s, %s, %s, now(), now())",
        [(ACME, "Acme GmbH", PARTNER_NORTH, "org-acme"), (HOOLI, "Hooli", PARTNER_NORTH, None)],
    )
    conn.cursor().executemany(
        "INSERT INTO sophos.invoice_lines (billing_month, line_key, sophos_customer_id, platform_org_id, "
        "partner_id, account, unit_price, price_source, billable_quantity, currency, sync_run_id) "
        "VALUES (%s, %s, %s, %s, %s, 'sophos_default', %s, 'sophos', %s, %s, 1)",
        [
            (OCTOBER, "a1", ACME, "org-acme", PARTNER_NORTH, Decimal("1.40"), 10, "EUR"),
            (OCTOBER, "a2", ACME, "org-acme", PARTNER_NORTH, Decimal("2.05"), 3, "EUR"),
            (OCTOBER, "a3", ACME, "org-acme", PARTNER_NORTH, Decimal("5.00"), 1, "USD"),
            (OCTOBER, "h1", HOOLI, None, PARTNER_NORTH, Decimal("0.10"), 7, "EUR"),
            (OCTOBER, "x1", None, None, PARTNER_UNKNOWN, Decimal("3.00"), 2, "EUR"),
            (SEPTEMBER, "a1", ACME, "org-acme", PARTNER_NORTH, Decimal("1.40"), 9, "EUR"),
        ],
    )


def test_invoice_lines_view_names_customer_seller_and_organization(db_conn):
    seed(db_conn)
    rows = {
        (month, key): rest
        for month, key, *rest in db_conn.execute(
            "SELECT billing_month, line_key, customer_name, seller_id, seller_name, platform_org_id, "
            "organization_name, line_amount FROM finance.invoice_lines"
        )
    }
    assert rows[(OCTOBER, "a1")] == [
        "Acme GmbH",
        "seller-north",
        "North IT",
        "org-acme",
        "ACME GmbH",
        Decimal("14.0000"),
    ]
    # unmapped: seller known from the partner, no organization yet
    assert rows[(OCTOBER, "h1")] == ["Hooli", "seller-north", "North IT", None, None, Decimal("0.7000")]
    # a line of a partner no seller claims and with no tenant still shows, with its amount
    assert rows[(OCTOBER, "x1")] == [None, None, None, None, None, Decimal("6.0000")]
    assert len(rows) == 6


def test_monthly_totals_sum_line_amounts_per_month_seller_organization_and_currency(db_conn):
    seed(db_conn)
    totals = {
        tuple(key): (count, amount)
        for *key, count, amount in db_conn.execute(
            "SELECT billing_month, seller_id, platform_org_id, organization_name, currency, line_count, total_amount "
            "FROM finance.monthly_totals"
        )
    }
    assert totals == {
        (OCTOBER, "seller-north", "org-acme", "ACME GmbH", "EUR"): (2, Decimal("20.1500")),
        (OCTOBER, "seller-north", "org-acme", "ACME GmbH", "USD"): (1, Decimal("5.0000")),
        (OCTOBER, "seller-north", None, None, "EUR"): (1, Decimal("0.7000")),
        (OCTOBER, None, None, None, "EUR"): (1, Decimal("6.0000")),
        (SEPTEMBER, "seller-north", "org-acme", "ACME GmbH", "EUR"): (1, Decimal("12.6000")),
    }


def test_invoice_lines_view_keeps_every_raw_price_beside_the_amount_and_says_the_rule(db_conn):
    db_conn.execute(
        "INSERT INTO sophos.invoice_lines (billing_month, line_key, partner_id, account, unit_price, price_source, "
        "net_price, unit_msrp, price_with_taxes, additional_discount_percentage, billable_quantity, currency, "
        "sync_run_id) VALUES (%s, 'p1', %s, 'sophos_default', 1.40, 'sophos', 28.00, 1.75, 1.51, 12.5, 20, 'USD', 1)",
        (OCTOBER, PARTNER_NORTH),
    )
    row = db_conn.execute(
        "SELECT unit_price, net_price, unit_msrp, price_with_taxes, additional_discount_percentage, line_amount "
        "FROM finance.invoice_lines WHERE line_key = 'p1'"
    ).fetchone()
    assert row == (
        Decimal("1.40"),
        Decimal("28.00"),
        Decimal("1.75"),
        Decimal("1.51"),
        Decimal("12.5"),
        Decimal("28.0"),
    )
    (comment,) = db_conn.execute(
        "SELECT col_description('finance.invoice_lines'::regclass, attnum) FROM pg_attribute "
        "WHERE attrelid = 'finance.invoice_lines'::regclass AND attname = 'line_amount'"
    ).fetchone()
    assert comment.startswith("unit_price * billable_quantity") and "Aaronjacobs000/sophos-central-mcp" in comment
    assert "netPrice as the order line's total" in comment and "replaced net_price * billable_quantity" in comment
