"""Each contract fed hand-written edge cases: every record lands where it should, with its reason."""

from __future__ import annotations

import json
from decimal import Decimal

import pandas as pd
import pytest

from sophos_sync.validation.judge import validate
from tests.records import MISSING, OTHER_TENANT, PARTNER, TENANT, billing_line, license, rows, tenant


def reasons(result) -> list[tuple[str, str, str | None]]:
    return sorted(
        zip(
            result.rejected["check_name"], result.rejected["column_name"], result.rejected["failure_case"], strict=True
        ),
        key=str,
    )


def one_bad_among_good(entity: str, bad: dict, make, tenant_id=None):
    """The bad record between two good ones (other keys), so a neighbour's fate is checked each time."""
    first = make(orderNumber="SO-GOOD-1") if make is billing_line else make(id=_uuid(1))
    last = make(orderNumber="SO-GOOD-2") if make is billing_line else make(id=_uuid(2))
    result = validate(entity, rows(first, bad, last, tenant_id=tenant_id))
    assert len(result.valid) == 2, "a defect must not drop its neighbours"
    assert result.rejected_rows == 1
    assert result.rejected["raw"].map(json.loads).tolist() == [bad] * len(result.rejected)
    return result


def _uuid(n: int) -> str:
    return f"00000000-0000-4000-8000-{n:012d}"


# --- billing usage lines -----------------------------------------------------------------------------------


def test_clean_billing_line_is_typed_for_the_stage_table():
    result = validate("billing_usage", rows(billing_line()))
    assert result.rejected.empty and result.rejected_rows == 0
    row = result.valid.iloc[0].to_dict()
    assert row["line_key"] == "1234567|SO000001|10|C00000001|CIXA0001MSPTA|2026-10-01|2026-10-31"
    assert row["sophos_customer_id"] == TENANT
    # money stays the exact decimal text Sophos sent, for PostgreSQL's numeric: never a float
    assert row["net_price"] == "1.26" and row["unit_price"] == "1.40"
    assert row["additional_discount_percentage"] == Decimal("10.00")
    assert row["billable_quantity"] == 25 and type(row["billable_quantity"]) is int
    assert row["billing_start_date"] == "2026-10-01"
    assert row["currency"] == "EUR" and row["account"] == "sophos_default"


def test_line_without_account_id_is_a_valid_device_line():
    result = validate("billing_usage", rows(billing_line(accountId=MISSING)))
    assert result.rejected.empty
    assert result.valid.iloc[0].to_dict()["sophos_customer_id"] is None


@pytest.mark.parametrize(
    "field, value, check",
    [
        ("billingEndDate", "2026-02-30", "iso_date"),
        ("billingStartDate", "2026-10-1", "iso_date"),
        ("billingStartDate", "01.10.2026", "iso_date"),
        ("netPrice", "1,40", "decimal_string"),
        ("netPrice", "abc", "decimal_string"),
        ("unitPrice", "1.40000", "decimal_string"),
        ("unitPrice", "1e3", "decimal_string"),
        ("actualQuantity", -3, "non_negative"),
        ("accountStatus", "pending_cancellation", "allowed_values"),
        ("netPriceCurrency", "EURO", "allowed_values"),
        ("accountId", "urn:uuid:3fa85f64-5717-4562-b3fc-2c963f66afa6", "uuid_format"),
        ("accountId", "3fa85f6457174562b3fc2c963f66afa6", "uuid_format"),
        ("partnerAccountName", "Acme " * 2000, "max_chars"),
        ("productDescription", "Intercept X\x00Advanced", "no_control_characters"),
        ("productDescription", "Intercept X\nAdvanced", "no_control_characters"),
        ("partnerAccountName", "Acme\x7fLtd", "no_control_characters"),
        ("billableQuantity", "5", "json_integer"),
        ("billableQuantity", 2.5, "json_integer"),
        ("billableQuantity", 5.0, "json_integer"),
        ("billableQuantity", True, "json_integer"),
        ("billableQuantity", 2**63, "json_integer"),
        ("netPrice", 1.4, "json_string"),
        ("sku", 1234, "json_string"),
        ("sku", ["CIXA"], "json_string"),
        ("orderNumber", {"n": 1}, "json_string"),
        ("netPriceCurrency", {"code": "EUR"}, "json_string"),
        ("billingEndDate", ["2026-10-31"], "json_string"),
        ("sku", None, "required"),
        ("billableQuantity", MISSING, "required"),
    ],
)
def test_defective_billing_line_is_rejected_with_its_reason(field, value, check):
    result = one_bad_among_good("billing_usage", billing_line(**{field: value}), billing_line)
    assert [(c, col) for c, col, _ in reasons(result)] == [(check, field)]
    assert result.rejected_by_check == {check: 1}


def test_failing_value_is_reported_readably_and_cut_short():
    result = validate(
        "billing_usage",
        rows(billing_line(partnerAccountName="x" * 10_000), billing_line(orderNumber="2", productGroup="a\x01b")),
    )
    by_check = dict(zip(result.rejected["check_name"], result.rejected["failure_case"], strict=True))
    assert by_check["max_chars"] == "x" * 200 + "…"
    assert by_check["no_control_characters"] == "a\\u0001b"  # PostgreSQL text cannot hold every control char
    raw = result.rejected.loc[result.rejected["check_name"] == "max_chars", "raw"].iloc[0]
    assert json.loads(raw)["partnerAccountName"] == "x" * 10_000


def test_line_with_two_currencies_is_rejected():
    result = one_bad_among_good("billing_usage", billing_line(unitPriceCurrency="USD"), billing_line)
    assert reasons(result) == [("currency_mismatch", "netPriceCurrency", "EUR")]


def test_currency_falls_back_to_the_unit_price_currency():
    result = validate("billing_usage", rows(billing_line(netPriceCurrency=MISSING)))
    assert result.valid.iloc[0]["currency"] == "EUR"


def test_priced_line_without_any_currency_is_rejected():
    bad = billing_line(netPriceCurrency=None, unitPriceCurrency=MISSING)
    result = one_bad_among_good("billing_usage", bad, billing_line)
    assert reasons(result) == [("currency_required", "currency", None)]


def test_priced_line_without_a_currency_takes_its_contracts():
    line = billing_line(
        netPriceCurrency=MISSING, unitPriceCurrency=MISSING, unitMsrpCurrency=MISSING, priceWithTaxesCurrency=MISSING
    )
    result = validate("billing_usage", rows(line, account="sophos_eu"), contract_currencies={"sophos_eu": "EUR"})
    assert result.rejected.empty and result.valid["currency"].tolist() == ["EUR"]


UNPRICED = {
    name: MISSING
    for name in (
        "unitPrice",
        "unitPriceCurrency",
        "netPrice",
        "netPriceCurrency",
        "unitMsrp",
        "unitMsrpCurrency",
        "priceWithTaxes",
        "priceWithTaxesCurrency",
        "additionalDiscountPercentage",
    )
}


def test_line_without_prices_is_valid_in_the_contracts_currency_or_none():
    result = validate("billing_usage", rows(billing_line(**UNPRICED), account="a"), contract_currencies={"a": "GBP"})
    assert result.rejected.empty
    staged = result.valid.iloc[0]
    assert staged["currency"] == "GBP" and pd.isna(staged["unit_price"]) and pd.isna(staged["net_price"])
    without_contract = validate("billing_usage", rows(billing_line(**UNPRICED)))
    assert without_contract.rejected.empty and without_contract.valid["currency"].isna().all()


def test_a_currency_the_line_names_beats_the_contracts():
    result = validate("billing_usage", rows(billing_line(), account="a"), contract_currencies={"a": "USD"})
    assert result.valid["currency"].tolist() == ["EUR"]


@pytest.mark.parametrize("quantity", [-5, 0])
def test_credit_and_zero_quantity_lines_load(quantity):
    result = validate("billing_usage", rows(billing_line(billableQuantity=quantity)))
    assert result.rejected.empty and result.valid["billable_quantity"].tolist() == [quantity]


def test_line_with_a_net_price_but_no_unit_price_is_valid():
    result = validate("billing_usage", rows(billing_line(unitPrice=MISSING)))
    assert result.rejected.empty and result.valid["unit_price"].isna().all()


def test_period_that_ends_before_it_starts_is_rejected():
    result = one_bad_among_good(
        "billing_usage", billing_line(billingStartDate="2026-10-31", billingEndDate="2026-10-01"), billing_line
    )
    assert reasons(result) == [("billing_period_order", "billingEndDate", "2026-10-01")]


def test_line_of_nulls_fails_every_required_field_but_counts_once():
    nulls = {name: None for name in billing_line()}
    result = one_bad_among_good("billing_usage", nulls, billing_line)
    assert sorted(c for c, _, _ in reasons(result)) == ["required"] * 4
    assert {col for _, col, _ in reasons(result)} == {"billingStartDate", "billingEndDate", "sku", "billableQuantity"}
    assert result.rejected_by_check == {"required": 1}


def test_identical_duplicate_lines_collapse_into_one():
    result = validate("billing_usage", rows(billing_line(), billing_line(orderNumber="2"), billing_line()))
    assert result.collapsed_duplicates == 1
    assert len(result.valid) == 2 and result.rejected.empty


def test_conflicting_duplicate_lines_are_all_rejected():
    result = validate(
        "billing_usage", rows(billing_line(), billing_line(orderNumber="2"), billing_line(netPrice="1.36"))
    )
    assert result.collapsed_duplicates == 0
    assert result.valid["order_number"].tolist() == ["2"]
    assert result.rejected_rows == 2
    assert result.rejected_by_check == {"conflicting_duplicate": 2}
    assert set(result.rejected["source_key"]) == {result.rejected["failure_case"].iloc[0]}
    assert {json.loads(r)["netPrice"] for r in result.rejected["raw"]} == {"1.26", "1.36"}


def test_same_line_through_two_accounts_is_kept_once():
    items = rows(billing_line(), account="reseller") + rows(billing_line(), account="distributor")
    result = validate("billing_usage", items)
    assert result.collapsed_duplicates == 1
    assert result.valid["account"].tolist() == ["reseller"]


# --- tenants -----------------------------------------------------------------------------------------------


def test_clean_tenant_is_staged():
    result = validate("tenant", rows(tenant()))
    assert result.rejected.empty
    assert result.valid.iloc[0].to_dict() == {
        "account": "sophos_default",
        "sophos_customer_id": TENANT,
        "name": "Müller GmbH",
        "show_as": "Müller GmbH",
        "partner_id": PARTNER,
        "organization_id": OTHER_TENANT,
        "billing_type": "term",
        "data_region": "eu01",
        "data_geography": "DE",
        "api_host": "https://api-eu01.central.sophos.com",
    }


@pytest.mark.parametrize(
    "field, value, check, column",
    [
        ("id", "urn:uuid:3fa85f64-5717-4562-b3fc-2c963f66afa6", "uuid_format", "id"),
        ("id", "{3fa85f64-5717-4562-b3fc-2c963f66afa6}", "uuid_format", "id"),
        ("name", "N" * 10_000, "max_chars", "name"),
        ("name", "Acme\tGmbH", "no_control_characters", "name"),
        ("name", MISSING, "required", "name"),
        ("name", 42, "json_string", "name"),
        ("billingType", "monthly", "allowed_values", "billingType"),
        ("partner", "11111111-2222-4333-8444-555555555555", "json_object", "partner"),
        ("partner", {"id": "partner-1"}, "uuid_format", "partner.id"),
    ],
)
def test_defective_tenant_is_rejected_with_its_reason(field, value, check, column):
    result = one_bad_among_good("tenant", tenant(**{field: value}), tenant)
    assert [(c, col) for c, col, _ in reasons(result)] == [(check, column)]


def test_tenant_without_organization_is_valid():
    result = validate("tenant", rows(tenant(organization=MISSING)))
    assert result.rejected.empty and result.valid.iloc[0].to_dict()["organization_id"] is None


def test_tenant_seen_through_two_accounts_is_kept_once_and_conflicting_copies_rejected():
    same = validate("tenant", rows(tenant(), account="a") + rows(tenant(), account="b"))
    assert (len(same.valid), same.collapsed_duplicates, same.rejected_rows) == (1, 1, 0)
    differ = validate("tenant", rows(tenant(), account="a") + rows(tenant(name="Mueller"), account="b"))
    assert (len(differ.valid), differ.rejected_rows) == (0, 2)
    assert differ.rejected_by_check == {"conflicting_duplicate": 2}


# --- licences ----------------------------------------------------------------------------------------------


def test_clean_license_is_staged_under_the_tenant_it_was_listed_for():
    result = validate("license", rows(license(), tenant_id=TENANT))
    assert result.rejected.empty
    row = result.valid.iloc[0].to_dict()
    assert row["sophos_customer_id"] == TENANT
    assert (row["product_code"], row["product_name"], row["product_generic_code"]) == (
        "CIXA",
        "Intercept X Advanced",
        "CIXA",
    )
    assert row["usage_count"] == 42 and row["quantity"] == 50
    assert row["perpetual"] is False and row["unlimited"] is False
    assert row["start_date"] == "2026-01-01" and row["end_date"] == "2026-12-31"


def test_perpetual_unlimited_license_without_end_or_quantity_is_valid():
    item = license(endDate=MISSING, quantity=MISSING, perpetual=True, unlimited=True, type="perpetual")
    result = validate("license", rows(item, tenant_id=TENANT))
    assert result.rejected.empty
    row = result.valid.iloc[0].to_dict()
    assert row["end_date"] is None and row["quantity"] is None


@pytest.mark.parametrize(
    "field, value, check, column",
    [
        ("product", MISSING, "required", "product.code"),
        ("product", {"name": "Intercept X"}, "required", "product.code"),
        ("type", "lifetime", "allowed_values", "type"),
        ("type", None, "required", "type"),
        ("quantity", "10", "json_integer", "quantity"),
        ("quantity", -1, "non_negative", "quantity"),
        ("endDate", "2026-02-30", "iso_date", "endDate"),
        ("usage", {"current": {"count": "7"}}, "json_integer", "usage.current.count"),
        ("id", "not-a-uuid", "uuid_format", "id"),
    ],
)
def test_defective_license_is_rejected_with_its_reason(field, value, check, column):
    result = one_bad_among_good("license", license(**{field: value}), license, tenant_id=TENANT)
    assert [(c, col) for c, col, _ in reasons(result)] == [(check, column)]


def test_license_listed_for_a_tenant_id_that_is_no_uuid_is_rejected():
    result = validate("license", rows(license(), tenant_id="tenant-7") + rows(license(id=_uuid(3)), tenant_id=TENANT))
    assert reasons(result) == [("uuid_format", "tenantId", "tenant-7")]
    assert len(result.valid) == 1


def test_same_license_under_two_tenants_is_a_conflict():
    result = validate("license", rows(license(), tenant_id=TENANT) + rows(license(), tenant_id=OTHER_TENANT))
    assert result.rejected_by_check == {"conflicting_duplicate": 2} and result.valid.empty


# --- types as Sophos publishes them, drift in informational fields -------------------------------------------


@pytest.mark.parametrize(
    "sent, stored",
    [
        (25, Decimal("25")),
        (12.5, Decimal("12.5")),
        (0.1, Decimal("0.1")),
        ("12.50", Decimal("12.5")),
        (0, Decimal("0")),
        (-3, Decimal("-3")),
        (99999.9999, Decimal("99999.9999")),
        ("1e2", Decimal("100")),
    ],
)
def test_discount_percentage_is_read_exactly_from_its_json_text(sent, stored):
    """Sophos sends additionalDiscountPercentage as a JSON number (25); both decoding paths (Arrow for a
    clean batch, record by record beside a broken record) read the number's text, never a float."""
    for batch in (
        rows(billing_line(additionalDiscountPercentage=sent)),
        rows(billing_line(additionalDiscountPercentage=sent)) + [("sophos_default", None, "{oops")],
    ):
        result = validate("billing_usage", batch)
        value = result.valid.iloc[0].to_dict()["additional_discount_percentage"]
        assert isinstance(value, Decimal) and value == stored and not result.type_drift


@pytest.mark.parametrize(
    "sent, found", [("abc", "string"), (True, "boolean"), (0.12345, "number"), ("1,40", "string"), ({"p": 5}, "object")]
)
def test_discount_percentage_that_is_no_decimal_of_scale_4_is_drift_and_the_line_loads(sent, found):
    items = [billing_line(additionalDiscountPercentage=sent), billing_line(orderNumber="SO000002")]
    result = validate("billing_usage", rows(*items))
    assert len(result.valid) == 2 and result.rejected.empty
    assert result.valid.iloc[0].to_dict()["additional_discount_percentage"] is None
    assert result.type_drift == [
        {"field": "additionalDiscountPercentage", "expected": "number", "found": found, "records": 1}
    ]


@pytest.mark.parametrize("neighbour", [None, "{oops"])
def test_discount_percentage_too_large_for_numeric_9_4_is_rejected(neighbour):
    """A decimal, but one PostgreSQL's numeric(9, 4) cannot hold: judged the same on both decoding paths."""
    batch = rows(billing_line(additionalDiscountPercentage=123456)) + (
        [("sophos_default", None, neighbour)] if neighbour else []
    )
    result = validate("billing_usage", batch)
    assert reasons(result)[0] == ("fits_numeric", "additionalDiscountPercentage", "123456.0000")


def test_informational_field_of_another_type_in_every_line_is_drift_kept_as_text():
    items = [billing_line(orderNumber=f"SO{n}", productGroup=n) for n in range(4)]
    result = validate("billing_usage", rows(*items))
    assert len(result.valid) == 4 and result.rejected.empty
    assert list(result.valid["product_group"]) == ["0", "1", "2", "3"]
    assert result.counts()["type_drift"] == [
        {"field": "productGroup", "expected": "string", "found": "integer", "records": 4}
    ]


def test_critical_field_of_another_type_is_still_rejected_beside_informational_drift():
    items = [billing_line(orderNumber="SO1", productGroup=7), billing_line(orderNumber="SO2", billableQuantity="5")]
    result = validate("billing_usage", rows(*items))
    assert result.rejected_by_check == {"json_integer": 1}
    assert [d["field"] for d in result.type_drift] == ["productGroup"]


def test_license_flag_of_another_type_is_drift_not_a_rejection():
    result = validate("license", rows(license(perpetual="yes"), tenant_id=TENANT))
    assert result.rejected.empty and result.valid.iloc[0].to_dict()["perpetual"] is None
    assert result.type_drift == [{"field": "perpetual", "expected": "boolean", "found": "string", "records": 1}]


def test_published_fields_the_contract_ignores_are_not_drift():
    """Contacts are personal data no table of ours takes from a billing line or a tenant: known, never read."""
    line = billing_line(contactName="Canary Person", contactEmail="canary@example.com", contactZip=32932)
    result = validate("billing_usage", rows(line))
    assert result.unknown_fields == [] and "Canary" not in result.valid.to_json()
    item = tenant(
        contact={"firstName": "Canary", "email": "canary@example.com"}, status="active", products=[{"code": "CIXA"}]
    )
    assert validate("tenant", rows(item)).unknown_fields == []


def test_informational_value_kept_as_drift_is_not_judged_by_the_fields_checks():
    """A boolean where the billing type belongs is drift: its text "true" is no billing type, and that is
    not a second reason to reject the tenant."""
    result = validate("tenant", rows(tenant(billingType=True)))
    assert result.rejected.empty and result.valid.iloc[0].to_dict()["billing_type"] == "true"
    assert result.type_drift == [{"field": "billingType", "expected": "string", "found": "boolean", "records": 1}]
