"""A month made of Sophos's published example shapes runs through the real DAG: the discount as a JSON number,
contact fields on every line and tenant, and productGroup turned into a number in every line (drift, not a
stop). The contacts carry a canary that must not surface anywhere once the month is loaded."""

from __future__ import annotations

import json
import uuid
from decimal import Decimal

import psycopg
import pytest
from dagrun import MonthRunner

from devtools.databases import seed_platform
from simulator.testing import run_simulator
from tests.conformance.published import billing_lines, load

pytestmark = pytest.mark.e2e

TODAY = "2026-11-25"
PARTNER = "d31ab2df-7005-4c06-bd7d-2bc8de44be06"
CANARY = "Qzx Canarysson"
CANARY_EMAIL = "qzx.canarysson@canary.invalid"
DISCOUNTS = (25, 12.5, 0.1)


def tenant(n: int, name: str) -> dict:
    published = load("tenant_details_2026-01-08.json")
    return {
        **published,
        "id": str(uuid.UUID(int=n, version=4)),
        "name": name,
        "showAs": name,
        "partner": {"id": PARTNER},
        "apiHost": "https://api-eu01.central.sophos.com",
        "status": "active",
        "products": [{"code": "CIXA"}],
        "contact": {
            "firstName": "Qzx",
            "lastName": "Canarysson",
            "email": CANARY_EMAIL,
            "phone": "+1 555 0100",
            "address": {
                "address1": "1 Canary Wharf",
                "city": "Canaryville",
                "countryCode": "US",
                "postalCode": "99999",
            },
        },
    }


def licenses(tenant_id: str) -> list[dict]:
    published = load("licenses_2024-07-15.json")["licenses"][0]
    return [
        {
            **published,
            "id": str(uuid.uuid5(uuid.NAMESPACE_URL, tenant_id)),
            "licenseIdentifier": "L-1",
            "product": {"code": "CIXA", "name": "Intercept X Advanced", "genericCode": "CIXA"},
            "startDate": "2026-01-01",
            "endDate": "2026-12-31",
            "type": "term",
            "quantity": 20,
            "usage": {"current": {"count": 18, "date": "2026-10-31", "collectedAt": "2026-10-31T03:07:07.235Z"}},
        }
    ]


def lines(tenants: list[dict]) -> list[dict]:
    template = billing_lines("2024-07-15")[0]
    made = []
    for n, item in enumerate(tenants * 4):
        made.append(
            {
                **template,
                "accountId": item["id"],
                "orderNumber": f"OrderID-{n:06d}",
                "billingStartDate": "2026-10-01",
                "billingEndDate": "2026-10-31",
                "accountStatus": "active",
                "productGroup": 7,
                "additionalDiscountPercentage": DISCOUNTS[n % len(DISCOUNTS)],
                "unitPrice": "1.40",
                "netPrice": "1.26",
                "billableQuantity": 20 + n,
                "contactName": CANARY,
                "contactEmail": CANARY_EMAIL,
                "contactStreet": "1 Canary Wharf",
                "contactCity": "Canaryville",
                "contactZip": "99999",
            }
        )
    return made


def dataset() -> dict:
    tenants = [tenant(1, "Canary Alpha GmbH"), tenant(2, "Canary Beta Ltd"), tenant(3, "Nobody Knows Inc")]
    return {
        "partners": [
            {
                "client_id": "published-client",
                "client_secret": "published-secret",
                "partner_id": PARTNER,
                "tenants": tenants,
                "licenses": {t["id"]: licenses(t["id"]) for t in tenants},
                "billing": {"2026-10": lines(tenants)},
            }
        ],
        "platform": {
            "sellers": [{"seller_id": "seller-1", "name": "ABC Corp", "sophos_partner_id": PARTNER}],
            "customer_organizations": [
                {"org_id": "org-alpha", "seller_id": "seller-1", "name": "Canary Alpha"},
                {"org_id": "org-beta", "seller_id": "seller-1", "name": "Canary Beta"},
            ],
        },
    }


def every_row_as_text(dsn: str) -> dict[str, str]:
    """Each table and view of our schemas, all of its rows as text."""
    with psycopg.connect(dsn) as conn:
        relations = conn.execute(
            """SELECT table_schema || '.' || table_name FROM information_schema.tables
               WHERE table_schema IN ('sophos', 'review', 'finance', 'platform')"""
        ).fetchall()
        return {
            name: " ".join(row[0] for row in conn.execute(f"SELECT t::text FROM {name} t")) for (name,) in relations
        }


def test_month_of_published_shapes_loads_exactly_with_drift_reported_and_no_contact_kept(
    airflow_home, pg_dsn, tmp_path
):
    data = dataset()
    path = tmp_path / "published.json"
    path.write_text(json.dumps(data))
    seed_platform(pg_dsn, data)
    with run_simulator(dataset_path=path, today=TODAY) as sim:
        result = MonthRunner(airflow_home, pg_dsn, sim).run("2026-10")
    assert result.returncode == 0, result.tail()

    sent = data["partners"][0]["billing"]["2026-10"]
    with psycopg.connect(pg_dsn) as conn:
        status, counts = conn.execute(
            "SELECT status, counts FROM sophos.sync_runs ORDER BY sync_run_id DESC LIMIT 1"
        ).fetchone()
        loaded = conn.execute(
            "SELECT order_number, additional_discount_percentage, line_amount, product_group "
            "FROM sophos.invoice_lines ORDER BY order_number"
        ).fetchall()
    assert status == "succeeded"
    assert counts["type_drift"] == {
        "billing_usage": [{"field": "productGroup", "expected": "string", "found": "integer", "records": len(sent)}]
    }
    assert "productGroup is integer (was string)" in result.output  # the run summary
    assert [row[0] for row in loaded] == sorted(line["orderNumber"] for line in sent)
    for (_, discount, amount, group), line in zip(
        loaded, sorted(sent, key=lambda item: item["orderNumber"]), strict=True
    ):
        assert discount == Decimal(str(line["additionalDiscountPercentage"]))  # 12.5 stays 12.5, 0.1 stays 0.1
        assert amount == Decimal(line["unitPrice"]) * line["billableQuantity"] and group == "7"

    for needle in (CANARY, CANARY_EMAIL, "Canary Wharf", "Canaryville"):
        assert needle not in result.output
        kept = [name for name, text in every_row_as_text(pg_dsn).items() if needle in text]
        assert kept == [], f"{needle!r} is stored in {kept}"
