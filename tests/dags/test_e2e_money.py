"""Money as Sophos means it, through the real DAG: amounts are unit_price x billable_quantity while netPrice is
checked per order line (an order line split over two customers, a credit, a mismatch); a month in the shape of
Sophos's newest example (no price at all) loads with no amounts and mirrored subscriptions; a price list then
values it on a re-run, and audits the prices Sophos sent without changing them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from decimal import Decimal
from pathlib import Path

import psycopg
import pytest
from dagrun import MonthRunner

from devtools.databases import seed_platform
from devtools.localstack import environment
from simulator.testing import run_simulator
from tests.conformance.published import billing_lines

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
TODAY = "2026-11-25"
PARTNER = "5d8a7f3c-0000-4000-8000-000000000025"
ALPHA, BETA, NOBODY = (str(uuid.UUID(int=n, version=4)) for n in (251, 252, 253))
SKU = "CIXA0001MSPTA"


def tenant(customer_id: str, name: str) -> dict:
    return {
        "id": customer_id,
        "name": name,
        "showAs": name,
        "billingType": "term",
        "dataGeography": "DE",
        "dataRegion": "eu01",
        "partner": {"id": PARTNER},
        "apiHost": "https://api-eu01.central.sophos.com",
    }


def licenses(customer_id: str) -> list[dict]:
    return [
        {
            "id": str(uuid.uuid5(uuid.NAMESPACE_URL, customer_id)),
            "licenseIdentifier": "L-1",
            "product": {"code": "CIXA", "name": "Intercept X Advanced", "genericCode": "CIXA"},
            "startDate": "2026-01-01",
            "endDate": "2027-12-31",
            "perpetual": False,
            "type": "term",
            "quantity": 25,
            "unlimited": False,
            "usage": {"current": {"count": 20, "date": "2026-10-31"}},
        }
    ]


def priced(order: str, customer: str, quantity: int, unit: str, net: str, discount: int = 0) -> dict:
    return {
        "partnerAccountId": PARTNER,
        "orderNumber": order,
        "orderLineItemNumber": "10",
        "accountNumberOrSerialNumber": f"C-{customer[-4:]}",
        "accountId": customer,
        "sku": SKU,
        "productCode": "CIXA",
        "productDescription": "Intercept X Advanced",
        "billingStartDate": "2026-10-01",
        "billingEndDate": "2026-10-31",
        "billableQuantity": quantity,
        "actualQuantity": max(quantity, 0),
        "accountStatus": "active",
        "unitPrice": unit,
        "unitPriceCurrency": "EUR",
        "netPrice": net,
        "netPriceCurrency": "EUR",
        "additionalDiscountPercentage": discount,
    }


# netPrice is the order line's total (Sophos's own reading): O-SPLIT is one order line over two customers.
OCTOBER = [
    priced("O-SPLIT", ALPHA, 20, "1.40", "35.00"),
    priced("O-SPLIT", BETA, 5, "1.40", "35.00"),
    priced("O-ALPHA", ALPHA, 10, "2.00", "20.00"),
    priced("O-CREDIT", ALPHA, -3, "2.00", "-6.00"),  # a credit: three seats refunded
    priced("O-MISS", BETA, 4, "3.00", "12.50"),  # 0.50 off the order line's computed 12.00
    priced("O-UNIT", BETA, 7, "1.10", "1.10"),  # the older reading: netPrice = unitPrice
    priced("O-DISC", ALPHA, 2, "10.00", "8.00", 20),  # netPrice = unitPrice less the discount
]
EXPECTED_AMOUNTS = {
    ("O-SPLIT", ALPHA): "28.00",
    ("O-SPLIT", BETA): "7.00",
    ("O-ALPHA", ALPHA): "20.00",
    ("O-CREDIT", ALPHA): "-6.00",
    ("O-MISS", BETA): "12.00",
    ("O-UNIT", BETA): "7.70",
    ("O-DISC", ALPHA): "20.00",
}


def unpriced_september() -> list[dict]:
    """Sophos's 2026-01-08 example line, field for field, with a possible period and our customers."""
    published = billing_lines("2026-01-08")[0]
    return [
        {
            **published,
            "partnerAccountId": PARTNER,
            "accountId": customer,
            "sku": SKU,
            "orderNumber": f"S-{n}",
            "accountNumberOrSerialNumber": f"C-{customer[-4:]}",
            "billingStartDate": "2026-09-01",
            "billingEndDate": "2026-09-30",
            "billableQuantity": 10 + n,
            "actualQuantity": 10 + n,
        }
        for n, customer in enumerate((ALPHA, BETA, NOBODY))
    ]


def dataset() -> dict:
    tenants = [tenant(ALPHA, "Alpha Logistics GmbH"), tenant(BETA, "Beta Bakery Ltd"), tenant(NOBODY, "Nobody Knows")]
    return {
        "partners": [
            {
                "client_id": "money-client",
                "client_secret": "money-secret",
                "partner_id": PARTNER,
                "tenants": tenants,
                "licenses": {t["id"]: licenses(t["id"]) for t in tenants},
                "billing": {"2026-10": OCTOBER, "2026-09": unpriced_september()},
            }
        ],
        "platform": {
            "sellers": [{"seller_id": "seller-m", "name": "Money Reseller", "sophos_partner_id": PARTNER}],
            "customer_organizations": [
                {"org_id": "org-alpha", "seller_id": "seller-m", "name": "Alpha Logistics"},
                {"org_id": "org-beta", "seller_id": "seller-m", "name": "Beta Bakery"},
            ],
        },
    }


@pytest.fixture
def month_runner(airflow_home, pg_dsn, tmp_path):
    data = dataset()
    path = tmp_path / "money.json"
    path.write_text(json.dumps(data))
    seed_platform(pg_dsn, data)
    with run_simulator(dataset_path=path, today=TODAY) as sim:
        # the distributor contract's currency, for the lines that name none
        connection = environment.sophos_connection(sim.base_url, "money-client", "money-secret", currency="EUR")
        yield MonthRunner(airflow_home, pg_dsn, sim, extra_env={"AIRFLOW_CONN_SOPHOS_DEFAULT": json.dumps(connection)})


def latest_run(dsn: str) -> dict:
    with psycopg.connect(dsn) as conn:
        return conn.execute("SELECT counts FROM sophos.sync_runs ORDER BY sync_run_id DESC LIMIT 1").fetchone()[0]


def prices_cli(dsn: str, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "plugins"), "SOPHOS_SYNC_DB_DSN": dsn}
    return subprocess.run(
        [sys.executable, "-m", "sophos_sync", "prices", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_amounts_are_unit_price_times_quantity_and_net_price_is_checked_per_order_line(month_runner, pg_dsn):
    result = month_runner.run("2026-10")
    assert result.returncode == 0, result.tail()

    with psycopg.connect(pg_dsn) as conn:
        amounts = {
            (order, str(customer)): amount
            for order, customer, amount in conn.execute(
                "SELECT order_number, sophos_customer_id, line_amount FROM finance.invoice_lines "
                "WHERE billing_month = '2026-10-01'"
            )
        }
        checks = {
            order: (lines, status, difference)
            for order, lines, status, difference in conn.execute(
                "SELECT order_number, lines, status, difference FROM finance.order_line_checks "
                "WHERE billing_month = '2026-10-01'"
            )
        }
    assert amounts == {key: Decimal(value) for key, value in EXPECTED_AMOUNTS.items()}
    assert checks == {
        "O-SPLIT": (2, "consistent", Decimal("0")),
        "O-ALPHA": (1, "consistent", Decimal("0")),
        "O-CREDIT": (1, "consistent", Decimal("0")),
        "O-MISS": (1, "mismatch", Decimal("0.50")),
        "O-UNIT": (1, "per_unit", Decimal("-6.60")),
        "O-DISC": (1, "discounted_unit", Decimal("-12.00")),
    }
    money = latest_run(pg_dsn)["money"]
    assert money["order_lines"] == {"consistent": 3, "mismatch": 1, "per_unit": 1, "discounted_unit": 1}
    assert money["credit_lines"] == 1 and money["unpriced_lines"] == 0
    assert "order lines 3 consistent, 1 per_unit, 1 discounted_unit, 1 mismatch (EUR 0.50 apart)" in result.output
    assert "1 credit lines, EUR -6.00" in result.output
    assert latest_run(pg_dsn)["reconcile"]["amounts"] == {"EUR": "88.7000"}


def test_a_month_without_prices_loads_then_a_price_list_values_it_and_audits_sophos(month_runner, pg_dsn, tmp_path):
    result = month_runner.run("2026-09")
    assert result.returncode == 0, result.tail()

    with psycopg.connect(pg_dsn) as conn:
        lines = conn.execute(
            "SELECT line_amount, amount_missing_reason, price_source, currency, unit_price FROM sophos.invoice_lines "
            "WHERE billing_month = '2026-09-01'"
        ).fetchall()
        subscriptions = conn.execute("SELECT count(*) FROM sophos.subscriptions WHERE status = 'active'").fetchone()
        unmapped = conn.execute("SELECT sophos_customer_id::text, reason FROM review.unmapped_customers").fetchall()
    assert lines == [(None, "no_price", None, "EUR", None)] * 3
    assert subscriptions == (2,)  # Alpha's and Beta's, mapped by name; a price is not needed to mirror them
    assert unmapped == [(NOBODY, "no_match")]
    assert latest_run(pg_dsn)["money"]["unpriced_lines"] == 3
    assert "3 lines (33 units) have no price from Sophos or the price list" in result.output

    bad = tmp_path / "bad.csv"
    bad.write_text(
        "sku,currency,unit_price,valid_from\n"
        f"{SKU},EUR,1.5,2026-01-01\n"
        f"{SKU},EURO,1.50,2026-01-01\n"
        f"{SKU},EUR,1.50,2026-13-01\n"
    )
    refused = prices_cli(pg_dsn, "import", str(bad))
    assert refused.returncode == 1 and "Traceback" not in refused.stderr
    assert "line 3: currency 'EURO' is not an ISO 4217 code" in refused.stderr
    assert "line 4: valid_from '2026-13-01' must be a day" in refused.stderr
    assert "nothing was imported" in refused.stderr
    assert prices_cli(pg_dsn, "list").stdout.strip() == "The price list is empty."

    good = tmp_path / "prices.csv"
    good.write_text(
        f"sku,currency,unit_price,valid_from,valid_to\n{SKU},EUR,1.50,2026-01-01,\n"
        f"{SKU},USD,1.70,2026-01-01,2026-12-31\n"
    )
    imported = prices_cli(pg_dsn, "import", str(good))
    assert imported.returncode == 0, imported.stderr
    assert f"{SKU}" in prices_cli(pg_dsn, "list", "--month", "2026-09").stdout

    rerun = month_runner.run("2026-09")
    assert rerun.returncode == 0, rerun.tail()
    with psycopg.connect(pg_dsn) as conn:
        valued = conn.execute(
            "SELECT billable_quantity, unit_price, price_source, line_amount FROM finance.invoice_lines "
            "WHERE billing_month = '2026-09-01' ORDER BY billable_quantity"
        ).fetchall()
    assert valued == [(q, Decimal("1.5000"), "price_list", Decimal("1.50") * q) for q in (10, 11, 12)]
    assert "price list  valued 3 lines Sophos sent without a unit price (EUR 49.50)" in rerun.output

    # October was priced by Sophos at 1.40 for this SKU in O-SPLIT and O-UNIT's 1.10: the list audits, never overrides.
    october = month_runner.run("2026-10")
    assert october.returncode == 0, october.tail()
    with psycopg.connect(pg_dsn) as conn:
        deviations = conn.execute(
            "SELECT sophos_unit_price, list_unit_price, lines, billable_quantity, amount_difference "
            "FROM finance.price_deviations WHERE billing_month = '2026-10-01' ORDER BY sophos_unit_price"
        ).fetchall()
        split_amount = conn.execute(
            "SELECT sum(line_amount) FROM sophos.invoice_lines WHERE order_number = 'O-SPLIT'"
        ).fetchone()[0]
    assert (Decimal("1.4000"), Decimal("1.5000"), 2, 25, Decimal("-2.5000")) in deviations
    assert split_amount == Decimal("35.0000")
    assert latest_run(pg_dsn)["money"]["price_deviations"] == sum(row[2] for row in deviations)
