"""The simulator's generated data: deterministic, the promised sizes and shapes, and the promised mess."""

from __future__ import annotations

import json
import re
import uuid
from collections import Counter
from datetime import date

import pytest

from simulator import generator
from simulator.generator import DEFECT_KINDS, build_world

NATURAL_KEY = (
    "partnerAccountId",
    "orderNumber",
    "orderLineItemNumber",
    "accountNumberOrSerialNumber",
    "sku",
    "billingStartDate",
    "billingEndDate",
)
DECIMAL = re.compile(r"^\d+\.\d{2}$")


@pytest.fixture(scope="module")
def world():
    return build_world("small", 1)


@pytest.fixture(scope="module")
def october(world):
    return {p.index: list(world.billing(p.index, 2026, 10)) for p in world.partners}


def _is_uuid(value: str) -> bool:
    return str(uuid.UUID(value)) == value


def test_same_seed_gives_the_same_data_and_another_seed_different_data():
    first = generator.dataset(build_world("small", 7), ["2026-10"])
    again = generator.dataset(build_world("small", 7), ["2026-10"])
    other = generator.dataset(build_world("small", 8), ["2026-10"])
    assert json.dumps(first) == json.dumps(again)
    assert first["partners"][0]["tenants"] != other["partners"][0]["tenants"]


def test_small_scale_has_the_promised_sizes(world, october):
    assert len(world.partners) == 3
    assert sum(len(p.tenants) for p in world.partners) == 60
    licenses = sum(len(f.licenses) for p in world.partners for f in p.facts)
    assert 120 <= licenses <= 180
    assert 390 <= sum(len(lines) for lines in october.values()) <= 410


def test_ids_are_uuids_and_api_hosts_look_real(world):
    for partner in world.partners:
        assert _is_uuid(partner.partner_id)
        for tenant in partner.tenants:
            assert _is_uuid(tenant["id"]) and _is_uuid(tenant["partner"]["id"])
            assert re.fullmatch(r"https://api-[a-z]{2}\d{2}\.central\.sophos\.com", tenant["apiHost"])
            for license in partner.license_objects(tenant["id"]):
                assert _is_uuid(license["id"])


def test_distributor_credential_sees_tenants_of_two_partners(world):
    distributor = world.partners[-1]
    partner_ids = {t["partner"]["id"] for t in distributor.tenants}
    assert len(partner_ids) == 2 and distributor.partner_id not in partner_ids
    for partner in world.partners[:-1]:
        assert {t["partner"]["id"] for t in partner.tenants} == {partner.partner_id}


def test_licenses_include_perpetual_without_end_date_and_unlimited_without_quantity():
    licenses = [
        generator.license_object(lic) for p in build_world("medium", 1).partners for f in p.facts for lic in f.licenses
    ]
    perpetual = [lic for lic in licenses if lic["perpetual"]]
    unlimited = [lic for lic in licenses if lic["unlimited"]]
    assert perpetual and all("endDate" not in lic and lic["type"] == "perpetual" for lic in perpetual)
    assert unlimited and all("quantity" not in lic for lic in unlimited)
    assert all("endDate" in lic for lic in licenses if not lic["perpetual"])
    assert {lic["type"] for lic in licenses} == {"trial", "term", "usage", "ordered", "enterprise", "perpetual"}


def test_billing_lines_reference_own_tenants_and_their_licensed_products(world, october):
    for partner in world.partners:
        products = {
            t["id"]: {lic["product"]["code"] for lic in partner.license_objects(t["id"])} for t in partner.tenants
        }
        lines = october[partner.index]
        for line in lines:
            if "accountId" in line:
                assert line["productCode"] in products[line["accountId"]]
        standalone = [line for line in lines if "accountId" not in line]
        assert standalone and all(line["productGroup"] in {"Firewall", "Wireless"} for line in standalone)


def test_billing_line_types_are_decimal_strings_integers_and_iso_dates(october):
    lines = [line for lines in october.values() for line in lines]
    clean = [line for line in lines if DECIMAL.match(line["netPrice"])]
    assert len(clean) >= len(lines) - 3
    for line in clean:
        for name in ("unitPrice", "unitMsrp", "priceWithTaxes"):
            assert DECIMAL.match(line[name])
        assert all(isinstance(line[q], int) for q in ("billableQuantity", "actualQuantity", "orderedQuantity"))
        assert line["unitPriceCurrency"] in {"EUR", "USD", "GBP"}
    assert {line["unitPriceCurrency"] for line in lines} == {"EUR", "USD", "GBP"}
    assert {line["accountStatus"] for line in lines} >= {"active", "suspended", "canceled"}


def test_natural_key_is_unique_apart_from_deliberate_duplicates():
    world = build_world("medium", 2)
    for partner in world.partners[:2]:
        month = world.billing(partner.index, 2026, 10)
        keys = Counter(tuple(line.get(k) for k in NATURAL_KEY) for line in month)
        repeated = sum(n - 1 for n in keys.values())
        deliberate = sum(1 for kind in month.defects.values() if kind.startswith("duplicate"))
        assert repeated == deliberate > 0


def test_defects_are_a_small_share_of_every_kind_and_really_wrong():
    world = build_world("medium", 3)
    month = world.billing(0, 2026, 2)
    lines = list(month)
    assert 0.001 < len(month.defects) / len(lines) < 0.005
    assert set(month.defects.values()) == set(DEFECT_KINDS)
    for position, kind in month.defects.items():
        line, previous = lines[position], lines[position - 1]
        if kind == "duplicate_identical":
            assert line == previous
        elif kind == "duplicate_conflict":
            assert line["netPrice"] != previous["netPrice"]
            assert all(line[k] == previous[k] for k in NATURAL_KEY)
        elif kind == "invalid_date":
            with pytest.raises(ValueError):
                date.fromisoformat(line["billingEndDate"])
        elif kind == "non_numeric_price":
            with pytest.raises(ValueError):
                float(line["netPrice"])
        elif kind == "negative_quantity":
            assert line["billableQuantity"] < 0
        else:
            assert line["accountStatus"] not in {"active", "suspended", "canceled"}


def test_every_small_month_has_at_least_one_defect_for_validation_to_catch(world):
    for month in range(1, 13):
        assert world.billing(0, 2026, month).defects


def test_a_month_sliced_any_way_gives_the_same_lines():
    month = build_world("medium", 1).billing(1, 2026, 10)
    whole = month[0:3000]
    assert month[0:1234] + month[1234:2999] + month[2999:3000] == whole
    assert [line for start in range(0, 3000, 7) for line in month[start : start + 7]][:3000] == whole


def test_consecutive_months_differ_a_little(world):
    september = list(world.billing(0, 2026, 9))
    october = list(world.billing(0, 2026, 10))
    tenants_sep = {line.get("accountId") for line in september}
    tenants_oct = {line.get("accountId") for line in october}
    assert tenants_sep != tenants_oct
    assert len(tenants_sep & tenants_oct) > 0.8 * len(tenants_oct)
    assert all(line["billingStartDate"].startswith("2026-09") for line in september)


def test_any_month_can_be_generated_with_no_fixed_month_list(world):
    assert len(world.billing(0, 2031, 2)) > 0


def test_platform_has_sellers_for_all_but_one_partner_and_an_offline_seller(world):
    sellers = world.platform["sellers"]
    tenant_partner_ids = {t["partner"]["id"] for p in world.partners for t in p.tenants}
    with_id = {s["sophos_partner_id"] for s in sellers if s["sophos_partner_id"]}
    assert len(tenant_partner_ids - with_id) == 1
    assert any(s["sophos_partner_id"] is None for s in sellers)
    seller_ids = {s["seller_id"] for s in sellers}
    orgs = world.platform["customer_organizations"]
    assert all(o["seller_id"] in seller_ids for o in orgs)
    assert len({o["org_id"] for o in orgs}) == len(orgs)


def test_expected_mapping_outcomes_all_occur_and_most_tenants_match(world):
    outcomes = Counter(world.expected_mapping.values())
    assert set(outcomes) == {"auto_matched", "ambiguous", "no_match", "unknown_seller"}
    assert outcomes["auto_matched"] > 0.6 * sum(outcomes.values())


def test_names_carry_accents_legal_suffixes_and_stray_whitespace():
    world = build_world("medium", 1)
    names = [t["name"] for p in world.partners for t in p.tenants]
    assert any(re.search(r"[éüöäñçåø]", name) for name in names)
    assert any(re.search(r"\b(GmbH|Ltd|Inc|AG|SAS|BV)\b", name) for name in names)
    assert any(name != name.strip() or "  " in name for name in names)
    org_names = [o["name"] for o in world.platform["customer_organizations"]]
    assert any(name.isupper() for name in org_names) and any(name.islower() for name in org_names)


@pytest.mark.parametrize(
    ("today", "expected"),
    [
        (date(2026, 11, 25), "2026-10"),
        (date(2026, 11, 26), "2026-11"),
        (date(2026, 1, 3), "2025-12"),
        (date(2026, 2, 28), "2026-02"),  # the report day falls back to a short month's last day
    ],
)
def test_latest_report_month_follows_the_report_day(today, expected):
    assert generator.latest_report_month(today, report_day=30 if today.month == 2 else 26) == expected


def test_parse_month_rejects_what_is_not_yyyy_mm():
    assert generator.parse_month("2026-10") == (2026, 10)
    for bad in ("2026-13", "2026-1", "oct"):
        with pytest.raises(ValueError, match="YYYY-MM"):
            generator.parse_month(bad)
