"""The distributor's price list in PostgreSQL: imported as a whole or not at all, and used by the load to value
the lines Sophos sent without a unit price (and only those)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import psycopg
import pytest

from sophos_sync.load import mirror
from sophos_sync.platform import prices
from sophos_sync.validation.contracts import currencies
from tests.rows import open_run, stage_billing_line

OCTOBER = date(2026, 10, 1)
HEADER = "sku,currency,unit_price,valid_from,valid_to\n"


def entries(conn) -> list[tuple]:
    return conn.execute(
        "SELECT sku, currency, unit_price, valid_from, valid_to FROM platform.sophos_prices ORDER BY 1, 2, 4"
    ).fetchall()


def import_text(conn, tmp_path, text: str, replace: bool = False) -> dict:
    path = tmp_path / "prices.csv"
    path.write_text(HEADER + text)
    return prices.import_file(conn, path, currencies(), replace=replace)


def test_an_import_adds_its_entries_and_a_second_import_of_the_file_changes_nothing(db_conn, tmp_path):
    text = "CIXA,EUR,1.40,2026-01-01,2026-12-31\nCIXA,EUR,1.50,2027-01-01,\nCIXA,USD,1.60,2026-01-01,\n"
    assert import_text(db_conn, tmp_path, text) == {"imported": 3, "replaced": 0}
    first = entries(db_conn)
    import_text(db_conn, tmp_path, text)
    assert (
        entries(db_conn)
        == first
        == [
            ("CIXA", "EUR", Decimal("1.4000"), date(2026, 1, 1), date(2026, 12, 31)),
            ("CIXA", "EUR", Decimal("1.5000"), date(2027, 1, 1), None),
            ("CIXA", "USD", Decimal("1.6000"), date(2026, 1, 1), None),
        ]
    )


def test_a_row_overlapping_an_imported_entry_refuses_the_whole_file(db_conn, tmp_path):
    import_text(db_conn, tmp_path, "CIXA,EUR,1.40,2026-01-01,\n")
    with pytest.raises(prices.PriceListError, match="line 3 and an entry already imported|an entry already imported"):
        import_text(db_conn, tmp_path, "OTHER,EUR,2.00,2026-01-01,\nCIXA,EUR,1.45,2026-06-01,\n")
    assert entries(db_conn) == [("CIXA", "EUR", Decimal("1.4000"), date(2026, 1, 1), None)]


def test_replace_makes_the_list_exactly_the_file(db_conn, tmp_path):
    import_text(db_conn, tmp_path, "CIXA,EUR,1.40,2026-01-01,\nOLD,EUR,9.00,2026-01-01,\n")
    assert import_text(db_conn, tmp_path, "CIXA,EUR,1.45,2026-06-01,\n", replace=True) == {"imported": 1, "replaced": 2}
    assert entries(db_conn) == [("CIXA", "EUR", Decimal("1.4500"), date(2026, 6, 1), None)]


def test_the_database_itself_refuses_two_prices_for_one_day(db_conn):
    db_conn.execute(
        "INSERT INTO platform.sophos_prices (sku, currency, unit_price, valid_from) "
        "VALUES ('CIXA', 'EUR', 1.40, '2026-01-01')"
    )
    with pytest.raises(psycopg.errors.ExclusionViolation):
        db_conn.execute(
            "INSERT INTO platform.sophos_prices (sku, currency, unit_price, valid_from, valid_to) "
            "VALUES ('CIXA', 'EUR', 1.50, '2025-06-01', '2026-01-01')"
        )


def valued(conn, *lines: dict) -> dict[str, tuple]:
    """The lines staged for a run of October, loaded: line key -> (unit_price, price_source, currency, amount)."""
    run = open_run(conn, OCTOBER)
    for n, columns in enumerate(lines):
        stage_billing_line(
            conn,
            run,
            f"k{n}",
            None,
            billable_quantity=10,
            billing_start_date="2026-10-01",
            billing_end_date="2026-10-31",
            **columns,
        )
    with conn.transaction():
        mirror.replace_invoice_lines(conn, run, OCTOBER)
    return {
        key: rest
        for key, *rest in conn.execute(
            "SELECT line_key, unit_price, price_source, currency, line_amount FROM sophos.invoice_lines ORDER BY 1"
        )
    }


def test_the_load_values_only_the_lines_sophos_sent_without_a_unit_price(db_conn, tmp_path):
    import_text(
        db_conn,
        tmp_path,
        "CIXA,EUR,1.50,2026-01-01,2026-10-01\nCIXA,USD,1.70,2026-01-01,\n"
        "ONLYUSD,USD,3.00,2026-01-01,\nLATER,EUR,4.00,2026-10-02,\n",
    )
    found = valued(
        db_conn,
        {"sku": "CIXA", "currency": "EUR", "unit_price": Decimal("1.40")},  # Sophos priced it: Sophos's price stays
        {"sku": "CIXA", "currency": "EUR"},  # valued: valid through its first day
        {"sku": "CIXA", "currency": "USD", "net_price": Decimal("17.00")},  # a netPrice alone is no unit price
        {"sku": "CIXA"},  # no currency, and the list prices CIXA in two: not guessed
        {"sku": "ONLYUSD"},  # no currency, one currency in the list: valued in it
        {"sku": "LATER", "currency": "EUR"},  # its entry starts after the line
        {"sku": "NOLIST", "currency": "EUR", "net_price": Decimal("5.00")},  # a netPrice, no unit price anywhere
    )
    assert found == {
        "k0": [Decimal("1.4000"), "sophos", "EUR", Decimal("14.0000")],
        "k1": [Decimal("1.5000"), "price_list", "EUR", Decimal("15.0000")],
        "k2": [Decimal("1.7000"), "price_list", "USD", Decimal("17.0000")],
        "k3": [None, None, None, None],
        "k4": [Decimal("3.0000"), "price_list", "USD", Decimal("30.0000")],
        "k5": [None, None, "EUR", None],
        "k6": [None, None, "EUR", None],
    }
    reasons = dict(db_conn.execute("SELECT line_key, amount_missing_reason FROM sophos.invoice_lines"))
    assert (reasons["k3"], reasons["k5"], reasons["k6"], reasons["k1"]) == (
        "no_price",
        "no_price",
        "no_unit_price",
        None,
    )
