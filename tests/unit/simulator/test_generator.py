"""The simulator's generated data: deterministic, the promised sizes and shapes, and the promised mess."""

from __future__ import annotations

import json
import re
import uuid
from collections import Counter, defaultdict
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

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
DECIMAL = re.compile(r"^-?\d+\.\d{2}$")
CENT = Decimal("0.01")
# The field set of the newest published billing line: no price, currency, contact or discount fields.
UNPRICED_FIELDS = frozenset(
    json.loads((Path(__file__).parents[2] / "conformance/fixtures/billing_usage_page_2026-01-08.json").read_text())[
        "items"
    ][0]
)
PRICE_FIELDS = (
    "unitPrice",
    "unitPriceCurrency",
    "netPrice",
    "netPriceCurrency",
    "unitMsrp",
    "unitMsrpCurrency",
    "priceWithTaxes",
    "priceWithTaxesCurrency",
)


@pytest.fixture(scope="module")
def world():
    return build_world("small", 1)


@pytest.fixture(scope="module")
def october(world):
    return {p.index: list(world.billing(p.index, 2026, 10)) for p in world.partners}


@pytest.fixture(scope="module")
def medium_month():
    """A medium month (about 25,000 lines of one partner): enough splits, credits and defects to count."""
    month = build_world("medium", 2).billing(0, 2026, 10)
    return month, list(month)


def _is_uuid(value: str) -> bool:
    return str(uuid.UUID(value)) == value


def test_same_seed_gives_the_same_data_and_another_seed_different_data():
    first = generator.dataset(build_world("small", 7), ["2026-10"])
    again = generator.dataset(build_world("small", 7), ["2026-10"])
    other = generator.dataset(build_world("small", 8), ["2026-10"])
    assert json.dumps(first) == json.dumps(again)
    assert first["partners"][0]["tenants"] != other["partners"][0]["tenants"]


def test_same_seed_gives_the_same_order_lines_splits_credits_and_unpriced_months():
    def plan(seed: int) -> tuple:
        world = build_world("medium", seed, unpriced_months=["2026-09"])
        months = [world.billing(1, 2026, 9), world.billing(1, 2026, 10)]
        return tuple((m.priced, m.splits, m.credits, m.defects, list(m.order_lines()), m[0:2000]) for m in months)

    first, again, other = plan(5), plan(5), plan(6)
    assert first == again
    assert [m[0] for m in first] == [False, True]
    assert first[1][1] != other[1][1] and first[1][2] != other[1][2]


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


def test_billing_line_types_are_decimal_strings_integers_and_iso_dates(world, october):
    lines = [line for lines in october.values() for line in lines]
    defects = {p: world.billing(p, 2026, 10).defects for p in october}
    clean = [line for p, lines in october.items() for n, line in enumerate(lines) if n not in defects[p]]
    assert len(clean) >= len(lines) - 3
    for line in clean:
        assert DECIMAL.match(line["netPrice"])
        assert date.fromisoformat(line["billingStartDate"]) <= date.fromisoformat(line["billingEndDate"])
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
        elif kind == "duplicate_conflict":  # the same key and netPrice, another quantity
            assert line["billableQuantity"] == previous["billableQuantity"] + 1
            assert line["netPrice"] == previous["netPrice"]
            assert all(line[k] == previous[k] for k in NATURAL_KEY)
        elif kind == "invalid_date":
            with pytest.raises(ValueError):
                date.fromisoformat(line["billingEndDate"])
        elif kind == "non_numeric_price":
            with pytest.raises(ValueError):
                float(line["netPrice"])
        elif kind == "missing_quantity":
            assert "billableQuantity" not in line and "billableQuantity" in previous
        else:
            assert line["accountStatus"] not in {"active", "suspended", "canceled"}


def test_every_small_month_has_at_least_one_defect_for_validation_to_catch(world):
    for month in range(1, 13):
        assert world.billing(0, 2026, month).defects


def test_unpriced_months_have_every_defect_kind_but_the_price_ones():
    world = build_world("medium", 3, unpriced_months=["2026-02"])
    month = world.billing(0, 2026, 2)
    assert not month.priced and 0.001 < len(month.defects) / len(month) < 0.005
    assert set(month.defects.values()) == set(DEFECT_KINDS) - {"non_numeric_price"}


# --- money: order lines, splits and credits ------------------------------------------------------------------


def _order_line_of(line: dict) -> tuple[str, str]:
    return line["orderNumber"], line["orderLineItemNumber"]


def test_every_line_belongs_to_exactly_one_order_line(medium_month):
    month, lines = medium_month
    order_lines = list(month.order_lines())
    positions = [p for ol in order_lines for p in ol.positions]
    assert sorted(positions) == list(range(len(lines)))
    for ol in order_lines:
        for position, customer, quantity in zip(ol.positions, ol.customers, ol.quantities, strict=True):
            if position in month.defects:
                continue  # a duplicate replaces its line by a copy of the line before; the others spoil a field
            line = lines[position]
            assert _order_line_of(line) == (ol.order_number, ol.line_item_number) and line["sku"] == ol.sku
            assert line["accountNumberOrSerialNumber"] == customer and line["billableQuantity"] == quantity
            assert Decimal(line["unitPrice"]) == ol.unit_price
    by_order_line = Counter(_order_line_of(lines[p]) for p in range(len(lines)) if p not in month.defects)
    wholly_spoiled = sum(1 for ol in order_lines if set(ol.positions) <= set(month.defects))
    assert len(by_order_line) == len(order_lines) - wholly_spoiled


def test_net_price_is_the_order_line_total_to_the_cent(medium_month):
    """netPrice is what the whole order line costs: unitPrice x the billableQuantity of every line carrying it,
    exact to the cent, the same on each of its lines; priceWithTaxes adds 20 % to it."""
    month, lines = medium_month
    groups = defaultdict(list)
    for position, line in enumerate(lines):
        if position not in month.defects:
            groups[_order_line_of(line)].append(line)
    for members in groups.values():
        total = sum(Decimal(line["unitPrice"]) * line["billableQuantity"] for line in members)
        for line in members:
            assert DECIMAL.match(line["netPrice"]) and Decimal(line["netPrice"]) == total
            assert Decimal(line["priceWithTaxes"]) == (total * Decimal("1.2")).quantize(CENT, ROUND_HALF_UP)
            assert Decimal(line["unitMsrp"]) > Decimal(line["unitPrice"]) > 0
            assert line["netPriceCurrency"] == line["unitPriceCurrency"] == line["priceWithTaxesCurrency"]
    for ol in month.order_lines():
        if not set(ol.positions) & set(month.defects):
            assert {lines[p]["netPrice"] for p in ol.positions} == {f"{ol.net_price:.2f}"}


def test_amounts_are_whole_cents_formatted_and_taxed_as_decimal_does():
    for cents in range(-20_000, 20_000, 7):
        net, with_taxes = generator._net_fields(cents)
        assert Decimal(net) == Decimal(cents).scaleb(-2) and DECIMAL.match(net) and DECIMAL.match(with_taxes)
        assert Decimal(with_taxes) == (Decimal(net) * Decimal("1.2")).quantize(CENT, ROUND_HALF_UP)


def test_split_order_lines_span_two_customers_with_distinct_keys(medium_month):
    month, lines = medium_month
    tenant_orders = len({line["orderNumber"] for line in lines if "accountId" in line})
    assert 0.01 < len(month.splits) / tenant_orders < 0.03
    shared = (
        "orderNumber",
        "orderLineItemNumber",
        "sku",
        "productCode",
        "productDescription",
        "unitPrice",
        "netPrice",
        "partnerAccountId",
        "billingStartDate",
        "billingEndDate",
    )
    for first, second in month.splits:
        one, other = lines[first], lines[second]
        assert all(one[k] == other[k] for k in shared)
        assert one["accountId"] != other["accountId"]
        assert one["accountNumberOrSerialNumber"] != other["accountNumberOrSerialNumber"]
        assert tuple(one[k] for k in NATURAL_KEY) != tuple(other[k] for k in NATURAL_KEY)
        both = one["billableQuantity"] + other["billableQuantity"]
        assert Decimal(one["netPrice"]) == Decimal(one["unitPrice"]) * both
        assert first not in month.defects and second not in month.defects
    splits = [ol for ol in month.order_lines() if ol.split]
    assert [ol.positions for ol in splits] == [tuple(pair) for pair in month.splits]
    # apart from duplicates, only split order lines are carried by more than one line
    carriers = Counter(_order_line_of(line) for n, line in enumerate(lines) if month.defects.get(n) is None)
    assert sorted(k for k, n in carriers.items() if n > 1) == sorted(_order_line_of(lines[a]) for a, _ in month.splits)


def test_credit_lines_are_negative_valid_and_counted(medium_month, world):
    month, lines = medium_month
    orders = len({line["orderNumber"] for line in lines})
    assert 0.0005 < len(month.credits) / orders < 0.005
    negative = [n for n, line in enumerate(lines) if line.get("billableQuantity", 0) < 0]
    assert negative == month.credits
    products = {
        t["id"]: {lic["product"]["code"] for lic in month.partner.license_objects(t["id"])}
        for t in month.partner.tenants
    }
    for position in month.credits:
        credit = lines[position]
        assert position not in month.defects and credit["actualQuantity"] == credit["orderedQuantity"] == 0
        assert -5 <= credit["billableQuantity"] <= -1 and credit["productCode"] in products[credit["accountId"]]
        assert Decimal(credit["netPrice"]) == Decimal(credit["unitPrice"]) * credit["billableQuantity"] < 0
        assert DECIMAL.match(credit["netPrice"]) and Decimal(credit["priceWithTaxes"]) < 0
        same_order = [line for line in lines if line["orderNumber"] == credit["orderNumber"]]
        assert [_order_line_of(line) for line in same_order].count(_order_line_of(credit)) == 1
    assert [ol.positions for ol in month.order_lines() if ol.credit] == [(p,) for p in month.credits]
    for number in range(1, 13):  # even the small scale has a credit and a split every month
        small = world.billing(0, 2026, number)
        assert small.credits and small.splits


# --- unpriced months ------------------------------------------------------------------------------------------


def test_unpriced_month_lines_have_the_field_set_of_the_2026_01_08_example():
    world = build_world("small", 1, unpriced_months=["2026-10"])
    months = [world.billing(p.index, 2026, 10) for p in world.partners]
    everything = [line for month in months for line in month]
    october = [line for month in months for n, line in enumerate(month) if n not in month.defects]
    assert all(set(line) <= UNPRICED_FIELDS for line in everything)  # defects included
    # a line lacks only what it has none of: externalId (a tenant without one), accountId (a device)
    assert {frozenset(line) for line in october if "externalId" in line} == {UNPRICED_FIELDS}
    assert all(set(line) | {"externalId"} == UNPRICED_FIELDS for line in october if "accountId" in line)
    assert all(
        set(line) == UNPRICED_FIELDS - {"externalId", "accountId"} for line in october if "accountId" not in line
    )
    september = world.billing(0, 2026, 9)
    assert september.priced and all(name in september[0:1][0] for name in PRICE_FIELDS)


def test_unpriced_month_is_the_priced_month_without_its_prices():
    """The same ids, dates and quantities (and splits and credits) as the month would have with prices."""
    priced = build_world("medium", 4).billing(2, 2026, 10)
    unpriced = build_world("medium", 4, unpriced_months=["2026-10"]).billing(2, 2026, 10)
    assert len(unpriced) == len(priced) and unpriced.splits == priced.splits and unpriced.credits == priced.credits
    assert unpriced.splits and unpriced.credits
    assert list(unpriced.order_lines()) == list(priced.order_lines())
    spoiled = set(priced.defects) | set(unpriced.defects)
    for position, (with_prices, without) in enumerate(zip(priced, unpriced, strict=True)):
        if position not in spoiled:
            assert without == {k: v for k, v in with_prices.items() if k in UNPRICED_FIELDS}
    for position in unpriced.credits:
        assert unpriced[position : position + 1][0]["billableQuantity"] < 0


def test_unpriced_months_must_be_months():
    with pytest.raises(ValueError, match="YYYY-MM"):
        build_world("small", 1, unpriced_months=["2026-1"])


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
