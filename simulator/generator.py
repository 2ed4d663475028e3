"""Deterministic Sophos data for a scale and a seed: credentials, tenants, licences, billing lines, Platform data.

Tenants and licences are the current state, built once (`build_world`). Billing lines are generated per
month on demand (`World.billing(partner_index, year, month)`): a month is a plan of orders (one tenant's
licences, or one standalone device) laid end to end, and any slice of it is generated from the seed,
the month and the order number alone (and the next or previous order's, for an order line two customers
share). So a page of a million-line month costs one page of work and memory, the same lines come back
whichever way the month is paged, and no month list is fixed.

Money, as Sophos's billing is read: unitPrice is the product's price in the partner's currency; netPrice is
the total of the line's order line (orderNumber + orderLineItemNumber): unitPrice x the billableQuantity of
every line carrying that order line, in whole cents. A few order lines are shared by two customers (split),
a few are credits (a negative billableQuantity). `BillingMonth.order_lines()` tells what each adds up to.
Months named in `build_world(..., unpriced_months=...)` have the fields of Sophos's 2026-01-08 example only.
"""

from __future__ import annotations

import calendar
import json
import math
import random
import re
import unicodedata
import uuid
from array import array
from bisect import bisect_right
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from functools import lru_cache
from typing import IO, NamedTuple

from simulator.vocab import (
    CURRENCY_FACTOR,
    DEVICES,
    DISTRIBUTOR_NAMES,
    LEGAL_SUFFIXES,
    NAME_HEADS,
    NAME_PLACES,
    NAME_TRADES,
    PRODUCTS,
    REGIONS,
    SELLER_NAMES,
)


class Scale(NamedTuple):
    partners: int
    tenants: int
    licenses: int
    lines_per_month: int


SCALES = {
    "small": Scale(partners=3, tenants=60, licenses=150, lines_per_month=400),
    "medium": Scale(partners=5, tenants=2_000, licenses=10_000, lines_per_month=100_000),
    "large": Scale(partners=8, tenants=20_000, licenses=100_000, lines_per_month=1_000_000),
}

# Licences carry one usage snapshot; a fixed date keeps the "current state" identical for a seed.
USAGE_AS_OF = date(2026, 11, 1)

# Share of billing lines that are deliberately wrong, kinds taken in turn; well under the 1 % a month
# may reject before the sync refuses to load it. Each kind stays invalid under the contract: credits (a
# negative billableQuantity) are valid lines, not defects; a line without billableQuantity is not. (Not a
# fractional quantity: a value of another JSON type in a critical field sends the whole Arrow chunk down
# validation's record-by-record path, measured at 2.4x the validation time of a million-line month.)
DEFECT_RATE = 0.003
DEFECT_KINDS = (
    "duplicate_identical",
    "duplicate_conflict",
    "invalid_date",
    "non_numeric_price",
    "missing_quantity",
    "unknown_enum",
)
_DUPLICATES = frozenset({"duplicate_identical", "duplicate_conflict"})
_PRICE_DEFECTS = frozenset({"non_numeric_price"})  # not in an unpriced month, whose lines have no price

# Share of tenant orders that share one order line with the next tenant's order (one order line, two
# customers), and that get a credit line (a refund: a negative billableQuantity, an order line of its own).
SPLIT_RATE = 0.02
CREDIT_RATE = 0.002

# How the Platform side of a seller's tenants is laid out (the rest are matchable by normalized name).
AMBIGUOUS_SHARE = 0.06
MISSING_SHARE = 0.12

LICENSE_TYPES = (("term", 58), ("usage", 14), ("ordered", 8), ("enterprise", 5), ("perpetual", 8), ("trial", 7))
SKU_SUFFIX = {"term": "TA", "usage": "UA", "ordered": "OA", "enterprise": "EA", "perpetual": "PA", "trial": "TR"}


class LicenseFacts(NamedTuple):
    id: str
    identifier: str
    product: int  # index into PRODUCTS
    type: str
    start: date
    end: date | None
    quantity: int | None
    unlimited: bool
    usage_count: int
    collected_minute: int


class TenantFacts(NamedTuple):
    """What billing needs of a tenant beyond its JSON object (Sophos keeps these on its side)."""

    id: str
    partner_account: int  # index into GeneratedPartner.accounts: whose partner account bills the tenant
    account_number: str
    status: str  # active | suspended | canceled
    external_id: str | None
    discount: float  # percent
    billable: bool  # trials are not invoiced
    licenses: tuple[LicenseFacts, ...]


class PartnerAccount(NamedTuple):
    """A Sophos partner account as billing names it: the credential's own, or a reseller of a distributor."""

    partner_id: str
    name: str
    account_number: str


@dataclass
class GeneratedPartner:
    index: int
    client_id: str
    client_secret: str
    partner_id: str
    name: str
    currency: str
    distributor_name: str | None
    accounts: list[PartnerAccount]
    tenants: list[dict]
    facts: list[TenantFacts]
    devices: list[tuple[str, int]]  # (serial number, index into DEVICES)
    lines_per_month: int
    facts_by_id: dict[str, TenantFacts] = field(init=False)

    def __post_init__(self) -> None:
        self.facts_by_id = {f.id: f for f in self.facts}

    def license_objects(self, tenant_id: str) -> list[dict] | None:
        """The licences of one of this credential's tenants as the API returns them; None for any other id."""
        facts = self.facts_by_id.get(tenant_id)
        return None if facts is None else [license_object(lic) for lic in facts.licenses]


@dataclass
class World:
    scale: str
    seed: int
    partners: list[GeneratedPartner]
    platform: dict
    expected_mapping: dict[str, str]  # tenant id -> auto_matched | ambiguous | no_match | unknown_seller
    # Months whose lines are in the shape of Sophos's 2026-01-08 example: no price, currency, contact or
    # discount fields (BillingMonth.priced is False).
    unpriced_months: frozenset[tuple[int, int]] = frozenset()

    _months: OrderedDict = field(default_factory=OrderedDict, repr=False, compare=False)

    def billing(self, partner_index: int, year: int, month: int) -> BillingMonth:
        """One partner's lines of a month; the few most recent month plans are kept (a plan is small)."""
        if not 1 <= month <= 12:
            raise ValueError(f"month must be 1..12, got {month}")
        key = (partner_index, year, month)
        if key not in self._months:
            self._months[key] = BillingMonth(self, self.partners[partner_index], year, month)
            if len(self._months) > 32:
                self._months.popitem(last=False)
        self._months.move_to_end(key)
        return self._months[key]


def build_world(scale: str, seed: int, unpriced_months: Iterable[str] = ()) -> World:
    """The world of a scale and seed; `unpriced_months` (YYYY-MM) are billed without prices (World.unpriced_months)."""
    if scale not in SCALES:
        raise ValueError(f"unknown scale {scale!r}: choose one of {', '.join(SCALES)}")
    unpriced = frozenset(parse_month(month) for month in unpriced_months)
    spec = SCALES[scale]
    rng = random.Random(f"sophos-sim:{seed}:world")
    names = _NameFactory(rng)
    per_partner = _split(spec.tenants, spec.partners, rng)
    licenses_per_tenant = spec.licenses / spec.tenants
    partners = []
    for index, tenant_count in enumerate(per_partner):
        # The last credential is a distributor's: its tenants belong to two resellers (our sellers).
        distributor = index == spec.partners - 1
        name = SELLER_NAMES[index % len(SELLER_NAMES)]
        own = PartnerAccount(_uuid(rng), DISTRIBUTOR_NAMES[0] if distributor else name, _account_number(rng))
        if distributor:
            accounts = [
                PartnerAccount(_uuid(rng), SELLER_NAMES[(index + k) % len(SELLER_NAMES)], _account_number(rng))
                for k in (0, 1)
            ]
        else:
            accounts = [own]
        currency = ("EUR", "GBP", "USD")[index % 3]
        tenants, facts = [], []
        for _ in range(tenant_count):
            account = 0 if len(accounts) == 1 or rng.random() < 0.6 else 1
            tenant, fact = _tenant(rng, names, accounts[account].partner_id, account, licenses_per_tenant)
            tenants.append(tenant)
            facts.append(fact)
        devices = [
            (f"X{rng.randrange(16**10):010X}", rng.randrange(len(DEVICES))) for _ in range(max(1, tenant_count // 25))
        ]
        partners.append(
            GeneratedPartner(
                index=index,
                client_id=_uuid(rng),
                client_secret=f"{rng.getrandbits(256):064x}",
                partner_id=own.partner_id,
                name=own.name,
                currency=currency,
                distributor_name=own.name if distributor else rng.choice((None,) + DISTRIBUTOR_NAMES[1:]),
                accounts=accounts,
                tenants=tenants,
                facts=facts,
                devices=devices,
                lines_per_month=round(spec.lines_per_month * tenant_count / spec.tenants),
            )
        )
    platform, expected = _platform(partners, names, rng)
    return World(
        scale=scale,
        seed=seed,
        partners=partners,
        platform=platform,
        expected_mapping=expected,
        unpriced_months=unpriced,
    )


# --- tenants and licences ---------------------------------------------------------------------------------


def _tenant(
    rng: random.Random, names: _NameFactory, partner_id: str, account: int, licenses_per_tenant: float
) -> tuple[dict, TenantFacts]:
    canonical = names.new_company()
    geography, region = rng.choice(REGIONS)
    billing_type = rng.choices(("term", "usage", "trial"), weights=(70, 22, 8))[0]
    tenant = {
        "id": _uuid(rng),
        "showAs": canonical if rng.random() < 0.8 else _strip_suffix(canonical),
        "name": _messy(canonical, rng),
        "dataGeography": geography,
        "dataRegion": region,
        "billingType": billing_type,
        "partner": {"id": partner_id},
    }
    if rng.random() < 0.2:
        tenant["organization"] = {"id": _uuid(rng)}
    tenant["apiHost"] = f"https://api-{region}.central.sophos.com"
    spread = max(0, round(2 * (licenses_per_tenant - 1)))
    count = min(len(PRODUCTS), 1 + rng.randint(0, spread))
    licenses = tuple(_license(rng, product) for product in rng.sample(range(len(PRODUCTS)), count))
    # As Sophos's tenants carry them; drawn from the tenant's id, so the rest of the world stays as it was.
    tenant["status"] = "active"
    tenant["contact"] = contact_object(tenant["id"])
    tenant["products"] = [{"code": PRODUCTS[lic.product].code} for lic in licenses]
    facts = TenantFacts(
        id=tenant["id"],
        partner_account=account,
        account_number=f"C{rng.randrange(10**8):08d}",
        status=rng.choices(("active", "suspended", "canceled"), weights=(90, 6, 4))[0],
        external_id=f"CRM-{rng.randrange(10**5):05d}" if rng.random() < 0.5 else None,
        discount=rng.choice((0.0, 0.0, 5.0, 10.0, 12.5, 15.0, 20.0)),
        billable=billing_type != "trial",
        licenses=licenses,
    )
    return tenant, facts


def _license(rng: random.Random, product: int) -> LicenseFacts:
    kind = rng.choices([t for t, _ in LICENSE_TYPES], weights=[w for _, w in LICENSE_TYPES])[0]
    start = date(2023, 1, 1) + timedelta(days=rng.randrange(1380))
    if kind == "perpetual":
        end = None
    elif kind == "trial":
        end = start + timedelta(days=30)
    else:
        end = _add_months(start, 12 * rng.choice((1, 1, 2, 3))) - timedelta(days=1)
    unlimited = kind in ("enterprise", "usage") and rng.random() < 0.3
    quantity = None if unlimited else rng.choice((5, 10, 15, 25, 40, 50, 75, 100, 150, 250, 500))
    usage = rng.randint(10, 600) if unlimited else max(0, round(quantity * rng.uniform(0.55, 1.1)))
    return LicenseFacts(
        id=_uuid(rng),
        identifier=f"{PRODUCTS[product].code}-{rng.randrange(10**7):07d}",
        product=product,
        type=kind,
        start=start,
        end=end,
        quantity=quantity,
        unlimited=unlimited,
        usage_count=usage,
        collected_minute=rng.randrange(60),
    )


def license_object(lic: LicenseFacts) -> dict:
    product = PRODUCTS[lic.product]
    obj = {
        "id": lic.id,
        "licenseIdentifier": lic.identifier,
        "product": {"code": product.code, "name": product.name, "genericCode": product.generic_code},
        "startDate": lic.start.isoformat(),
    }
    if lic.end is not None:
        obj["endDate"] = lic.end.isoformat()
    obj["perpetual"] = lic.type == "perpetual"
    obj["type"] = lic.type
    if lic.quantity is not None:
        obj["quantity"] = lic.quantity
    obj["unlimited"] = lic.unlimited
    obj["usage"] = {
        "current": {
            "count": lic.usage_count,
            "date": USAGE_AS_OF.isoformat(),
            "collectedAt": f"{USAGE_AS_OF.isoformat()}T03:{lic.collected_minute:02d}:00.000Z",
        }
    }
    return obj


# --- billing ----------------------------------------------------------------------------------------------


class OrderLine(NamedTuple):
    """One order line of a month as the generator made it (before defects spoil some of its lines): the lines
    that carry its orderNumber and orderLineItemNumber, and the total every one of them carries as netPrice."""

    order_number: str
    line_item_number: str
    sku: str
    unit_price: Decimal
    positions: tuple[int, ...]  # the month's line indexes, in order
    customers: tuple[str, ...]  # accountNumberOrSerialNumber of each line
    quantities: tuple[int, ...]  # billableQuantity of each line

    @property
    def net_price(self) -> Decimal:
        """unitPrice x the billableQuantity of all its lines, to the cent (netPrice in a priced month)."""
        return self.unit_price * sum(self.quantities)

    @property
    def split(self) -> bool:
        """Shared by several customers' lines."""
        return len(self.positions) > 1

    @property
    def credit(self) -> bool:
        """A refund: a negative billableQuantity."""
        return sum(self.quantities) < 0


class BillingMonth:
    """One partner's billing lines of one month: `len()` and slicing, each slice generated on demand.

    The plan (built here, small) lays the month's orders end to end: a tenant's order has a line per licence,
    each its own order line; a standalone device's order one line. On top of the plan, drawn from the seed and
    the month: about SPLIT_RATE of tenant orders share one order line with the next tenant's order (the same
    product, billed to both customers), about CREDIT_RATE of tenant orders get a credit line (a refund of a few
    seats, a negative billableQuantity, its own order line), and DEFECT_RATE of lines are spoiled (DEFECT_KINDS;
    never a split or credit line, nor the line after one, so those stay valid and each order line adds up).
    """

    def __init__(self, world: World, partner: GeneratedPartner, year: int, month: int):
        self.partner, self.year, self.month = partner, year, month
        self.priced = (year, month) not in world.unpriced_months
        self._days = calendar.monthrange(year, month)[1]
        self._seed = _mix(world.seed, partner.index, year * 12 + month)
        plan_rng = random.Random(self._seed)
        target = max(1, round(partner.lines_per_month * plan_rng.uniform(0.99, 1.01)))
        # A few tenants skip a month, so consecutive months differ a little.
        tenants = [i for i, f in enumerate(partner.facts) if f.billable and plan_rng.random() >= 0.03]
        plan_rng.shuffle(tenants)
        per_cycle = sum(len(partner.facts[t].licenses) for t in tenants) + len(partner.devices)
        # Usage is billed in periods: when a month has more lines than licences, each period is a cycle
        # over the tenants with its own billing dates.
        self._periods = max(1, math.ceil(target / max(1, per_cycle)))
        self._offsets = array("q")
        self._refs = array("l")  # tenant index, or -1 - device index
        self._period = array("l")
        total = 0
        period = 0
        while total < target:
            refs = tenants + [-1 - d for d in range(len(partner.devices))] if period == 0 else tenants
            if not refs:
                break
            for ref in refs:
                self._offsets.append(total)
                self._refs.append(ref)
                self._period.append(period % self._periods)
                total += 1 if ref < 0 else len(partner.facts[ref].licenses)
                if total >= target:
                    break
            period += 1
        self._count = min(total, target)
        # Orders wholly in the month (the last may be cut short): only they get credits and splits.
        complete = len(self._refs) - (total > self._count)
        self._credits = self._place_credits(complete)  # order -> (index of the licence refunded, quantity)
        self._splits = self._place_splits(complete)  # order -> (its licence index, the next order's licence index)
        self._shared = {order + 1: order for order in self._splits}  # the next order -> the order it shares with
        if self._credits:
            shift = 0
            for order in range(len(self._offsets)):
                self._offsets[order] += shift
                shift += order in self._credits
            self._count += shift
        self._defects = self._place_defects(plan_rng)

    def __len__(self) -> int:
        return self._count

    def __getitem__(self, index: slice) -> list[dict]:
        if not isinstance(index, slice):
            raise TypeError("BillingMonth supports slices only")
        start, stop, step = index.indices(self._count)
        if step != 1:
            raise ValueError("BillingMonth slices must be contiguous")
        return self._lines(start, stop) if start < stop else []

    def __iter__(self) -> Iterator[dict]:
        for start in range(0, self._count, 5_000):
            yield from self[start : start + 5_000]

    @property
    def defects(self) -> dict[int, str]:
        """Line index -> defect kind, for tests that check the client and validation catch them."""
        return dict(self._defects)

    @property
    def credits(self) -> list[int]:
        """Indexes of the credit lines (negative billableQuantity, valid lines), in order."""
        return [self._offsets[order] + len(self.partner.facts[self._refs[order]].licenses) for order in self._credits]

    @property
    def splits(self) -> list[tuple[int, int]]:
        """Index pairs of the lines of order lines shared by two customers (the first customer's line first)."""
        return [
            (self._offsets[order] + own, self._offsets[order + 1] + theirs)
            for order, (own, theirs) in self._splits.items()
        ]

    def order_lines(self) -> Iterator[OrderLine]:
        """Every order line of the month, in the order of its first line, from the generator's own plan (no line
        is built): what netPrice, a split or a credit should add up to. Defects are not applied: a line whose
        index is in `defects` is not as its order line says (a duplicate replaces its line by a copy of the
        line before it; the other kinds spoil a field)."""
        for order in range(len(self._refs)):
            base = self._offsets[order]
            ref = self._refs[order]
            who = self.partner.devices[-1 - ref][0] if ref < 0 else self.partner.facts[ref].account_number
            split = self._splits.get(order)
            receiver = order + 1 if split is not None else None
            items = self._order_items(order)
            skip = self._splits[order - 1][1] if order in self._shared else None
            for k, (number, n, product, suffix, billable, _actual, _ordered, _total) in enumerate(items):
                if base + k >= self._count:
                    return
                if k == skip:
                    continue  # the shared line, told with the order line it belongs to
                positions, customers, quantities = [base + k], [who], [billable]
                if split is not None and n == split[0]:
                    positions.append(self._offsets[receiver] + split[1])
                    customers.append(self.partner.facts[self._refs[receiver]].account_number)
                    quantities.append(self._quantities(receiver)[split[1]][0])
                yield OrderLine(
                    order_number=number,
                    line_item_number=_LINE_NUMBERS[n],
                    sku=_product_fields(product, suffix)["sku"],
                    unit_price=Decimal(_price_fields(product, self.partner.currency, 0.0, None)[1]).scaleb(-2),
                    positions=tuple(positions),
                    customers=tuple(customers),
                    quantities=tuple(quantities),
                )

    def _place_credits(self, complete: int) -> dict[int, tuple[int, int]]:
        rng = random.Random(_mix(self._seed, -1))
        candidates = [order for order in range(complete) if self._refs[order] >= 0]
        count = round(len(candidates) * CREDIT_RATE)
        if self.partner.index == 0:
            count = max(1, count)  # even the small scale has a credit each month
        chosen = sorted(rng.sample(candidates, min(count, len(candidates))))
        credits = {}
        for order in chosen:
            licenses = self.partner.facts[self._refs[order]].licenses
            credits[order] = (rng.randrange(len(licenses)), -rng.randint(1, 5))
        return credits

    def _place_splits(self, complete: int) -> dict[int, tuple[int, int]]:
        """Orders that share an order line with the next order: both tenants' (of the same partner account, in
        the same billing period) licences of a product both have."""
        rng = random.Random(_mix(self._seed, -2))
        refs, periods, facts = self._refs, self._period, self.partner.facts
        pool = [
            order
            for order in range(complete - 1)
            if refs[order] >= 0 and refs[order + 1] >= 0 and periods[order] == periods[order + 1]
        ]
        wanted = round(sum(1 for order in range(complete) if refs[order] >= 0) * SPLIT_RATE)
        if self.partner.index == 0:
            wanted = max(1, wanted)  # even the small scale has a split order line each month
        splits: dict[int, tuple[int, int]] = {}
        for order in rng.sample(pool, min(len(pool), 4 * wanted + 8)):
            if len(splits) >= wanted:
                break
            if any(other in splits for other in (order - 1, order, order + 1)):
                continue
            first, second = facts[refs[order]], facts[refs[order + 1]]
            if first.partner_account != second.partner_account or first.account_number == second.account_number:
                continue
            products = {lic.product: n for n, lic in enumerate(second.licenses)}
            common = [n for n, lic in enumerate(first.licenses) if lic.product in products]
            if common:
                own = rng.choice(common)
                splits[order] = (own, products[first.licenses[own].product])
        return dict(sorted(splits.items()))

    def _place_defects(self, rng: random.Random) -> dict[int, str]:
        kinds = DEFECT_KINDS if self.priced else tuple(k for k in DEFECT_KINDS if k not in _PRICE_DEFECTS)
        count = round(self._count * DEFECT_RATE)
        if self.partner.index == 0:
            count = max(1, count)  # even the small scale has something to catch each month
        count = min(count, (self._count - 1) // 4)
        first_kind = rng.randrange(len(kinds))
        # Not on a credit or split line nor the line after one (a duplicate copies the line before it), and
        # never two side by side: each defect is one reason on lines that are otherwise right.
        special = set(self.credits).union(*self.splits)
        taken: set[int] = set()
        for position in rng.sample(range(1, self._count), count) if count > 0 else []:
            while position < self._count and (
                position in special or position - 1 in special or taken & {position - 1, position, position + 1}
            ):
                position += 1
            if position < self._count:
                taken.add(position)
        return {pos: kinds[(first_kind + k) % len(kinds)] for k, pos in enumerate(sorted(taken))}

    def _lines(self, start: int, stop: int) -> list[dict]:
        # A duplicate copies the line before it, so begin at the first line of a chain of duplicates.
        first = start
        while self._defects.get(first) in _DUPLICATES:
            first -= 1
        lines = self._base_lines(first, stop)
        for offset, position in enumerate(range(first, stop)):
            kind = self._defects.get(position)
            if kind:
                lines[offset] = _apply_defect(
                    kind, lines[offset], lines[offset - 1] if offset else None, self.year, self.month, self._days
                )
        return lines[start - first :]

    def _base_lines(self, start: int, stop: int) -> list[dict]:
        lines: list[dict] = []
        order = bisect_right(self._offsets, start) - 1
        while len(lines) < stop - start:
            order_lines = self._order_lines(order)
            skip = max(0, start - self._offsets[order])
            lines.extend(order_lines[skip : skip + (stop - start - len(lines))])
            order += 1
        return lines

    def _order_number(self, order: int) -> str:
        return f"SO{self.year % 100:02d}{self.month:02d}{self.partner.index:02d}{order:07d}"

    def _quantities(self, order: int) -> list[tuple[int, int, int]]:
        """(billableQuantity, actualQuantity, orderedQuantity) of each licence of a tenant's order."""
        rng = random.Random(_mix(self._seed, order))
        out = []
        for lic in self.partner.facts[self._refs[order]].licenses:
            ordered = lic.quantity or 0
            actual = max(0, round(lic.usage_count * rng.uniform(0.92, 1.06)))
            out.append((actual if lic.unlimited or lic.type == "usage" else max(ordered, actual), actual, ordered))
        return out

    def _order_items(self, order: int) -> list[tuple]:
        """The lines of one order before they are dicts: (orderNumber, index into _LINE_NUMBERS, product, sku
        suffix, billableQuantity, actualQuantity, orderedQuantity, billableQuantity of its whole order line)."""
        ref = self._refs[order]
        number = self._order_number(order)
        if ref < 0:
            return [(number, 0, DEVICES[self.partner.devices[-1 - ref][1]], "DVA", 1, 1, 1, 1)]
        licenses = self.partner.facts[ref].licenses
        items = [
            (number, n, PRODUCTS[lic.product], SKU_SUFFIX[lic.type], billable, actual, ordered, billable)
            for n, (lic, (billable, actual, ordered)) in enumerate(zip(licenses, self._quantities(order), strict=True))
        ]
        split = self._splits.get(order)
        if split is not None:  # one line's order line is shared with the next order's customer
            own, theirs = split
            item = items[own]
            items[own] = item[:7] + (item[4] + self._quantities(order + 1)[theirs][0],)
        owner = self._shared.get(order)
        if owner is not None:  # one line belongs to the previous order's order line (the same product)
            own, theirs = self._splits[owner]
            owner_license = self.partner.facts[self._refs[owner]].licenses[own]
            item = items[theirs]
            items[theirs] = (
                self._order_number(owner),
                own,
                item[2],
                SKU_SUFFIX[owner_license.type],
                *item[4:7],
                self._quantities(owner)[own][0] + item[4],
            )
        credit = self._credits.get(order)
        if credit is not None:  # a refund of a few seats: an order line of its own, nothing used
            which, quantity = credit
            lic = licenses[which]
            items.append((number, len(licenses), PRODUCTS[lic.product], SKU_SUFFIX[lic.type], quantity, 0, 0, quantity))
        return items

    def _order_lines(self, order: int) -> list[dict]:
        partner = self.partner
        ref = self._refs[order]
        first_day, last_day = self._period_days(self._period[order])
        start = f"{self.year:04d}-{self.month:02d}-{first_day:02d}"
        end = f"{self.year:04d}-{self.month:02d}-{last_day:02d}"
        if ref < 0:
            account, who = partner.accounts[0], partner.devices[-1 - ref][0]
            external_id, tenant_id, status, discount = None, None, "active", 0.0
        else:
            facts = partner.facts[ref]
            account, who = partner.accounts[facts.partner_account], facts.account_number
            external_id, tenant_id, status, discount = facts.external_id, facts.id, facts.status, facts.discount
        head = _account_fields(account)
        lines = []
        if not self.priced:  # the fields of Sophos's 2026-01-08 example, in its order
            for number, n, product, suffix, billable, actual, _ordered, _total in self._order_items(order):
                line = {
                    **head,
                    "billingStartDate": start,
                    "billingEndDate": end,
                    "orderNumber": number,
                    "orderLineItemNumber": _LINE_NUMBERS[n],
                    "accountNumberOrSerialNumber": who,
                    **_unpriced_product_fields(product, suffix),
                    "billableQuantity": billable,
                }
                if external_id is not None:
                    line["externalId"] = external_id
                if tenant_id is not None:
                    line["accountId"] = tenant_id
                line["accountStatus"] = status
                line["actualQuantity"] = actual
                line["productCode"] = product.code
                lines.append(line)
            return lines
        contact = _contact_fields(tenant_id or who)
        currency, distributor = partner.currency, partner.distributor_name
        for number, n, product, suffix, billable, actual, ordered, total in self._order_items(order):
            line = {
                **head,
                "billingStartDate": start,
                "billingEndDate": end,
                "orderNumber": number,
                "orderLineItemNumber": _LINE_NUMBERS[n],
                "accountNumberOrSerialNumber": who,
                **_product_fields(product, suffix),
                "billableQuantity": billable,
                "actualQuantity": actual,
                "orderedQuantity": ordered,
            }
            if external_id is not None:
                line["externalId"] = external_id
            if tenant_id is not None:
                line["accountId"] = tenant_id
            line["accountStatus"] = status
            line.update(contact)
            prices, unit_cents = _price_fields(product, currency, discount, distributor)
            line.update(prices)
            # netPrice is the order line's: unitPrice x the billableQuantity of all its lines, in whole cents.
            line["netPrice"], line["priceWithTaxes"] = _net_fields(unit_cents * total)
            lines.append(line)
        return lines

    def _period_days(self, period: int) -> tuple[int, int]:
        length = self._days / self._periods
        return 1 + math.floor(period * length), max(1 + math.floor(period * length), math.floor((period + 1) * length))


# The parts of a line shared by many lines, built once (about half the cost of a line otherwise).
_LINE_NUMBERS = tuple(str((n + 1) * 10) for n in range(64))


@lru_cache(maxsize=None)
def _account_fields(account: PartnerAccount) -> dict:
    """As Sophos's example: partnerAccountId is the account's UUID, the 7-digit number its EDI number."""
    return {
        "partnerAccountId": account.partner_id,
        "partnerEdiAccountNumber": account.account_number,
        "partnerAccountName": account.name,
    }


_FIRST_NAMES = ("Anna", "Ben", "Chloé", "David", "Elif", "Farid", "Greta", "Hiro", "Ines", "Jonas")
_LAST_NAMES = ("Müller", "Smith", "García", "Rossi", "Novak", "Dubois", "Kowalski", "Jensen", "Silva", "Ito")
_CITIES = (
    ("Berlin", "DE", "10115"),
    ("Smithfield", "US", "32932"),
    ("Lyon", "FR", "69001"),
    ("Leeds", "GB", "LS1 4AP"),
)


@lru_cache(maxsize=None)
def contact_object(seed: str) -> dict:
    """A tenant's contact as Sophos documents it (personal data: the pipeline must not spread it)."""
    rng = random.Random(seed)
    first, last = rng.choice(_FIRST_NAMES), rng.choice(_LAST_NAMES)
    city, country, postal = rng.choice(_CITIES)
    return {
        "firstName": first,
        "lastName": last,
        "email": f"{first}.{last}@example.com".lower(),
        "phone": f"+1 555 {rng.randrange(10**4):04d}",
        "address": {
            "address1": f"{rng.randrange(1, 200)} Main Street",
            "city": city,
            "countryCode": country,
            "postalCode": postal,
        },
    }


@lru_cache(maxsize=None)
def _contact_fields(seed: str) -> dict:
    """The contact columns of a billing line, as in Sophos's example (contactName ... contactZip)."""
    contact = contact_object(seed)
    address = contact["address"]
    return {
        "assignedAccountIdentifier": contact["lastName"],
        "contactName": f"{contact['firstName']} {contact['lastName']}",
        "contactEmail": contact["email"],
        "contactStreet": address["address1"],
        "contactCity": address["city"],
        "contactCountry": address["countryCode"],
        "contactZip": address["postalCode"],
    }


@lru_cache(maxsize=None)
def _product_fields(product, sku_suffix: str) -> dict:
    return {
        "productDescription": product.name,
        "productGroup": product.group,
        "sku": f"{product.code}MSP{sku_suffix}",
        "productCode": product.code,
    }


@lru_cache(maxsize=None)
def _unpriced_product_fields(product, sku_suffix: str) -> dict:
    return {"productDescription": product.name, "productGroup": product.group, "sku": f"{product.code}MSP{sku_suffix}"}


@lru_cache(maxsize=None)
def _price_fields(product, currency: str, discount: float, distributor_name: str | None) -> tuple[dict, int]:
    """A line's price fields, netPrice and priceWithTaxes left to the line (they are its order line's), and
    unitPrice in whole cents."""
    unit = round(product.unit_price * CURRENCY_FACTOR[currency], 2)
    unit_price = f"{unit:.2f}"
    fields = {
        "unitPrice": unit_price,
        "unitPriceCurrency": currency,
        "netPrice": None,
        "netPriceCurrency": currency,
        "unitMsrp": f"{unit * 1.25:.2f}",
        "unitMsrpCurrency": currency,
        "priceWithTaxes": None,
        "priceWithTaxesCurrency": currency,
        # a JSON number, as in Sophos's example (25): an integer when whole
        "additionalDiscountPercentage": int(discount) if discount.is_integer() else discount,
    }
    if distributor_name is not None:
        fields["distributorAccountName"] = distributor_name
    return fields, int(Decimal(unit_price).scaleb(2))


@lru_cache(maxsize=None)  # a few ten thousand amounts: unitPrice (a few dozen) x an order line's quantity
def _net_fields(cents: int) -> tuple[str, str]:
    """netPrice and priceWithTaxes of an order line worth `cents`."""
    return _money(cents), _money(_with_tax(cents))


def _money(cents: int) -> str:
    """Whole cents as a decimal string with 2 places: 12345 -> "123.45", -420 -> "-4.20"."""
    whole, part = divmod(abs(cents), 100)
    return f"{'-' if cents < 0 else ''}{whole}.{part:02d}"


def _with_tax(cents: int) -> int:
    """cents with 20 % tax (x 1.2), rounded half away from zero to whole cents (Decimal's ROUND_HALF_UP)."""
    rounded = (abs(cents) * 12 + 5) // 10
    return rounded if cents >= 0 else -rounded


def _apply_defect(kind: str, line: dict, previous: dict | None, year: int, month: int, days: int) -> dict:
    if kind in _DUPLICATES and previous is not None:
        copy = dict(previous)
        if kind == "duplicate_conflict":
            # The same key, another amount: no one can tell which copy Sophos meant.
            copy["billableQuantity"] = previous["billableQuantity"] + 1
        return copy
    line = dict(line)
    if kind == "invalid_date":
        # Day after the month's last: 2026-02-29, 2026-09-31, 2026-10-32.
        line["billingEndDate"] = f"{year:04d}-{month:02d}-{days + 1:02d}"
    elif kind == "non_numeric_price":
        line["netPrice"] = line["netPrice"].replace(".", ",") if month % 2 else "abc"
    elif kind == "missing_quantity":
        del line["billableQuantity"]  # no quantity, no amount
    elif kind == "unknown_enum":
        line["accountStatus"] = "pending_cancellation"
    return line


# --- Platform data ----------------------------------------------------------------------------------------


def _platform(partners: list[GeneratedPartner], names: _NameFactory, rng: random.Random) -> tuple[dict, dict[str, str]]:
    """Sellers and customer organizations: most tenants matchable, some ambiguous, some missing.

    Every partner id that owns tenants gets a seller except the distributor's second reseller, whose
    tenants are therefore `unknown_seller`. One extra seller has no Sophos partner id at all.
    """
    sellers, orgs, expected = [], [], {}
    by_partner_id: dict[str, list[tuple[dict, TenantFacts]]] = {}
    for partner in partners:
        for tenant, facts in zip(partner.tenants, partner.facts, strict=True):
            by_partner_id.setdefault(tenant["partner"]["id"], []).append((tenant, facts))
    distributor = partners[-1]
    unknown = distributor.accounts[-1].partner_id if len(distributor.accounts) > 1 else None
    account_names = {a.partner_id: a.name for p in partners for a in p.accounts}
    for partner_id, members in by_partner_id.items():
        if partner_id == unknown:
            expected.update({tenant["id"]: "unknown_seller" for tenant, _ in members})
            continue
        seller_id = f"SLR-{len(sellers) + 1:04d}"
        sellers.append({"seller_id": seller_id, "name": account_names[partner_id], "sophos_partner_id": partner_id})
        orgs.extend(_seller_orgs(seller_id, members, names, rng, expected))
    sellers.append(
        {"seller_id": f"SLR-{len(sellers) + 1:04d}", "name": "Offline Reseller GmbH", "sophos_partner_id": None}
    )
    rng.shuffle(orgs)
    for number, org in enumerate(orgs, start=1):
        org["org_id"] = f"ORG-{number:06d}"
    return {"sellers": sellers, "customer_organizations": orgs}, expected


def _seller_orgs(
    seller_id: str,
    members: list[tuple[dict, TenantFacts]],
    names: _NameFactory,
    rng: random.Random,
    expected: dict[str, str],
) -> list[dict]:
    outcomes = ["ambiguous"] * max(1, round(AMBIGUOUS_SHARE * len(members)))
    outcomes += ["no_match"] * max(1, round(MISSING_SHARE * len(members)))
    outcomes += ["auto_matched"] * max(0, len(members) - len(outcomes))
    rng.shuffle(outcomes)
    orgs = []

    def org(name: str) -> None:
        orgs.append({"org_id": None, "seller_id": seller_id, "name": name})

    for (tenant, _), outcome in zip(members, outcomes, strict=True):
        canonical = tenant["showAs"]
        expected[tenant["id"]] = outcome
        if outcome == "auto_matched":
            org(_platform_variant(canonical, rng))
            if rng.random() < 0.1:
                org(names.near_miss(canonical, rng))
        elif outcome == "ambiguous":
            base = _strip_suffix(canonical)
            first, second = rng.sample(LEGAL_SUFFIXES, 2)
            org(_platform_variant(f"{base} {first}", rng))
            org(_platform_variant(f"{base} {second}", rng))
        elif rng.random() < 0.6:
            org(names.near_miss(canonical, rng))  # a fuzzy candidate that is not the same company
    for _ in range(max(1, len(members) // 10)):
        org(names.new_company())  # customers of the seller that buy no Sophos
    return orgs


# --- names ------------------------------------------------------------------------------------------------


class _NameFactory:
    """Company names, unique by folded form across the world so expected mapping outcomes hold exactly."""

    def __init__(self, rng: random.Random):
        self.rng = rng
        self.taken: set[str] = set()

    def new_company(self) -> str:
        rng = self.rng
        for attempt in range(1000):
            parts = [rng.choice(NAME_HEADS), rng.choice(NAME_TRADES)]
            if attempt > 3 or rng.random() < 0.3:
                parts.append(rng.choice(NAME_PLACES))
            base = " ".join(parts)
            if _fold(base) not in self.taken:
                break
        else:
            base = f"{base} {len(self.taken)}"
        self.taken.add(_fold(base))
        suffix = rng.choice(LEGAL_SUFFIXES) if rng.random() < 0.9 else ""
        return f"{base} {suffix}".strip()

    def near_miss(self, name: str, rng: random.Random) -> str:
        """A similar but different company: one letter dropped from the longest word."""
        base = _strip_suffix(name)
        words = base.split(" ")
        longest = max(range(len(words)), key=lambda i: len(words[i]))
        word = words[longest]
        cut = rng.randrange(1, len(word) - 1) if len(word) > 3 else len(word)
        words[longest] = word[:cut] + word[cut + 1 :] if len(word) > 3 else word + "o"
        candidate = " ".join(words)
        if _fold(candidate) in self.taken:
            candidate = f"{base} Holding"
        self.taken.add(_fold(candidate))
        return f"{candidate} {rng.choice(LEGAL_SUFFIXES)}"


_SUFFIX_FOLDED = {s.casefold() for s in LEGAL_SUFFIXES}


def _fold(name: str) -> str:
    text = unicodedata.normalize("NFKD", name.casefold().replace("ø", "o").replace("ł", "l"))
    tokens = re.sub(r"[\W_]+", " ", "".join(c for c in text if not unicodedata.combining(c))).split()
    while tokens and tokens[-1] in _SUFFIX_FOLDED:
        tokens.pop()
    return " ".join(tokens)


def _strip_suffix(name: str) -> str:
    head, _, last = name.rpartition(" ")
    return head if head and last in LEGAL_SUFFIXES else name


def _messy(name: str, rng: random.Random) -> str:
    """The tenant name as typed into Sophos: mostly clean, sometimes with stray spaces or punctuation."""
    roll = rng.random()
    if roll < 0.7:
        return name
    if roll < 0.8:
        return rng.choice((f" {name}", f"{name}  ", name.replace(" ", "  ", 1)))
    if roll < 0.9:
        base, _, suffix = name.rpartition(" ")
        return f"{base}, {suffix}" if base and suffix in LEGAL_SUFFIXES else f"{name}."
    return f"  {name}."


def _platform_variant(name: str, rng: random.Random) -> str:
    """The same company as someone typed it into the Platform: case, accents, legal form or spacing differ."""
    changes = rng.sample(("case", "accents", "suffix", "spacing", "none"), 2)
    for change in changes:
        if change == "case":
            name = rng.choice((name.upper(), name.lower(), name.title()))
        elif change == "accents":
            name = "".join(c for c in unicodedata.normalize("NFKD", name) if not unicodedata.combining(c))
        elif change == "suffix":
            base = _strip_suffix(name)
            name = rng.choice((base, f"{base}.", name if base == name else f"{name}."))
        elif change == "spacing":
            name = f" {name.replace(' ', '  ')} "
    return name


# --- dataset files ----------------------------------------------------------------------------------------


def latest_report_month(today: date, report_day: int = 26) -> str:
    """The newest month whose report is out on `today` (YYYY-MM)."""
    if today.day >= min(report_day, calendar.monthrange(today.year, today.month)[1]):
        return f"{today.year:04d}-{today.month:02d}"
    previous = today.replace(day=1) - timedelta(days=1)
    return f"{previous.year:04d}-{previous.month:02d}"


def parse_month(text: str) -> tuple[int, int]:
    match = re.fullmatch(r"(\d{4})-(\d{2})", text.strip())
    if not match or not 1 <= int(match.group(2)) <= 12:
        raise ValueError(f"month {text!r} is not YYYY-MM (e.g. 2026-10)")
    return int(match.group(1)), int(match.group(2))


def credential_header(partner: GeneratedPartner) -> dict:
    return {"client_id": partner.client_id, "client_secret": partner.client_secret, "partner_id": partner.partner_id}


def dataset(world: World, months: list[str]) -> dict:
    """The whole dataset in memory, as `write_dataset` would write it (for small and medium scales)."""
    return {
        "partners": [
            {
                **credential_header(partner),
                "tenants": partner.tenants,
                "licenses": {t["id"]: partner.license_objects(t["id"]) for t in partner.tenants},
                "billing": {m: list(world.billing(partner.index, *parse_month(m))) for m in months},
            }
            for partner in world.partners
        ],
        "platform": world.platform,
    }


def write_dataset(world: World, months: list[str], out: IO[str]) -> dict[str, int]:
    """Stream the dataset as JSON (one month of one partner at a time); returns what was written."""
    dumps = json.JSONEncoder(ensure_ascii=False).encode
    counts = {"partners": 0, "tenants": 0, "licenses": 0, "billing_lines": 0}
    out.write('{"partners": [')
    for n, partner in enumerate(world.partners):
        out.write((", " if n else "") + dumps(credential_header(partner))[:-1])
        out.write(', "tenants": ' + dumps(partner.tenants) + ', "licenses": {')
        for k, tenant in enumerate(partner.tenants):
            licenses = partner.license_objects(tenant["id"])
            out.write((", " if k else "") + dumps(tenant["id"]) + ": " + dumps(licenses))
            counts["licenses"] += len(licenses)
        out.write('}, "billing": {')
        for k, month in enumerate(months):
            out.write((", " if k else "") + dumps(month) + ": [")
            lines = world.billing(partner.index, *parse_month(month))
            for start in range(0, len(lines), 10_000):
                chunk = dumps(lines[start : start + 10_000])[1:-1]
                out.write((", " if start else "") + chunk)
            out.write("]")
            counts["billing_lines"] += len(lines)
        out.write("}}")
        counts["partners"] += 1
        counts["tenants"] += len(partner.tenants)
    out.write('], "platform": ' + dumps(world.platform) + "}\n")
    return counts


# --- helpers ----------------------------------------------------------------------------------------------


def _uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _account_number(rng: random.Random) -> str:
    return str(rng.randrange(1_000_000, 10_000_000))


def _mix(*parts: int) -> int:
    """One 64-bit seed from several integers (order matters), cheap enough to call per order."""
    value = 0x243F6A8885A308D3
    for part in parts:
        value = ((value ^ (part & 0xFFFFFFFFFFFFFFFF)) * 0x100000001B3 + 0x9E3779B97F4A7C15) & 0xFFFFFFFFFFFFFFFF
        value ^= value >> 29
    return value


def _split(total: int, parts: int, rng: random.Random) -> list[int]:
    weights = [rng.uniform(0.7, 1.3) for _ in range(parts)]
    counts = [max(1, round(total * w / sum(weights))) for w in weights]
    counts[0] += total - sum(counts)
    return counts


def _add_months(day: date, months: int) -> date:
    month0 = day.month - 1 + months
    year, month = day.year + month0 // 12, month0 % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))
