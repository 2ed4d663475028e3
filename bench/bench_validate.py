"""Benchmark: sophos_sync.validation.judge on a month of generated billing lines; prints rows/s.

    .venv/bin/python bench/bench_validate.py [--lines 1000000] [--seed 1] [--repeat 1]

Lines are made here (seeded, no simulator needed) and landed as extract lands them: pages of 1,000 JSON
lines, as sophos.landing_pages holds them, judged chunk by chunk with each chunk's stage rows handed on
(and dropped here, where the pipeline COPYs them). 0.3 % of them carry
the simulator's defects (bad date, "1,40" price, no billableQuantity, unknown status, identical and
conflicting duplicates: the same key, another quantity), so the rejection path is timed too. The figure
covers JSON decoding, the contract checks, duplicates and typing the stage rows; not the database.

Baseline, measured in the same run on the same lines: Arrow's JSON reader turning them into columns,
chunk by chunk as validate does, and nothing else (no checks, no keys, no raw texts kept). That is
the floor for columnar validation on this machine; the ratio says how close validation gets to it.
"""

from __future__ import annotations

import argparse
import gc
import io
import random
import re
import sys
import time
import uuid
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "plugins")]

import pyarrow.json  # noqa: E402

from sophos_sync.validation import judge  # noqa: E402

FIELDS = (
    "partnerAccountId",
    "partnerAccountName",
    "billingStartDate",
    "billingEndDate",
    "orderNumber",
    "orderLineItemNumber",
    "accountNumberOrSerialNumber",
    "productDescription",
    "productGroup",
    "sku",
    "productCode",
    "billableQuantity",
    "actualQuantity",
    "orderedQuantity",
    "externalId",
    "accountId",
    "accountStatus",
    "unitPrice",
    "unitPriceCurrency",
    "netPrice",
    "netPriceCurrency",
    "unitMsrp",
    "unitMsrpCurrency",
    "priceWithTaxes",
    "priceWithTaxesCurrency",
    "additionalDiscountPercentage",
    "distributorAccountName",
)
JSONB_ORDER = sorted(FIELDS, key=lambda name: (len(name), name))
QUOTED = set(FIELDS) - {"billableQuantity", "actualQuantity", "orderedQuantity"}
DEFECT_RATE = 0.003
CHUNK = 50_000  # lines per Arrow read in the baseline, as validate reads them
PAGE = 1_000  # lines per landed page, as the billing API pages them


def _template() -> str:
    parts = []
    for name in JSONB_ORDER:
        slot = "{" + name + "}"
        parts.append(f'"{name}": ' + (f'"{slot}"' if name in QUOTED else slot))
    return "{{" + ", ".join(parts) + "}}"  # braces doubled: the template goes through str.format


def generate(lines: int, seed: int) -> list[tuple[str, None, str]]:
    rng = random.Random(seed)
    template = _template()
    partners = [
        (f"{rng.randrange(10**7):07d}", f"Reseller {n} Ltd", rng.choice(("EUR", "USD", "GBP"))) for n in range(8)
    ]
    tenants = [str(uuid.UUID(int=rng.getrandbits(128), version=4)) for _ in range(20_000)]
    products = [
        (
            f"CIX{n:04d}",
            f"Sophos Product {n} Protection",
            rng.choice(("Endpoint", "Server", "Email")),
            Decimal(rng.randrange(100, 9000)) / 100,
        )
        for n in range(300)
    ]
    statuses = ("active",) * 18 + ("suspended", "canceled")
    out: list[tuple[str, None, str]] = []
    order = 0
    while len(out) < lines:
        order += 1
        account, partner_name, currency = partners[order % len(partners)]
        tenant = rng.choice(tenants) if rng.random() < 0.9 else None
        status = rng.choice(statuses)
        discount = rng.choice((Decimal("0.00"), Decimal("5.00"), Decimal("12.50")))
        for item in range(1, rng.randint(2, 9)):
            code, description, group, unit = rng.choice(products)
            quantity = rng.randint(1, 500)
            net = (unit * (1 - discount / 100)).quantize(Decimal("0.01"))
            values = {
                "partnerAccountId": account,
                "partnerAccountName": partner_name,
                "billingStartDate": "2026-10-01",
                "billingEndDate": "2026-10-31",
                "orderNumber": f"SO{order:09d}",
                "orderLineItemNumber": str(item * 10),
                "accountNumberOrSerialNumber": f"C{order * 10 + item:010d}",
                "productDescription": description,
                "productGroup": group,
                "sku": f"{code}MSPTA",
                "productCode": code,
                "billableQuantity": quantity,
                "actualQuantity": quantity,
                "orderedQuantity": quantity,
                "externalId": f"CRM-{order % 100_000:05d}",
                "accountId": tenant or "",
                "accountStatus": status,
                "unitPrice": unit,
                "unitPriceCurrency": currency,
                "netPrice": net,
                "netPriceCurrency": currency,
                "unitMsrp": unit * Decimal("1.25"),
                "unitMsrpCurrency": currency,
                "priceWithTaxes": (net * Decimal("1.2")).quantize(Decimal("0.01")),
                "priceWithTaxesCurrency": currency,
                "additionalDiscountPercentage": discount,
                "distributorAccountName": "Big Distribution GmbH",
            }
            text = template.format(**values)
            if tenant is None:  # a standalone device line: no accountId at all
                text = text.replace('"accountId": "", ', "")
            out.append((f"sophos_{order % 2}", None, _maybe_defect(rng, text, out)))
    return out[:lines]


def _maybe_defect(rng: random.Random, text: str, previous: list) -> str:
    if rng.random() >= DEFECT_RATE or not previous:
        return text
    kind = rng.randrange(6)
    if kind == 0:
        return text.replace('"billingEndDate": "2026-10-31"', '"billingEndDate": "2026-10-32"')
    if kind == 1:
        start = text.index('"netPrice": "') + len('"netPrice": "')
        return text[:start] + text[start:].replace(".", ",", 1)
    if kind == 2:  # no quantity (a negative one is a credit, a valid line)
        return re.sub(r'"billableQuantity": \d+, ', "", text, count=1)
    if kind == 3:
        return text.replace('"accountStatus": "active"', '"accountStatus": "pending_cancellation"')
    if kind == 4:
        return previous[-1][2]
    return previous[-1][2].replace('"billableQuantity": ', '"billableQuantity": 1', 1)  # same key, other quantity


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()

    started = time.perf_counter()
    rows = generate(args.lines, args.seed)
    print(
        f"generated {len(rows):,} lines ({sum(len(r[2]) for r in rows) / 1e6:,.0f} MB JSON) "
        f"in {time.perf_counter() - started:.1f} s"
    )
    judge.validate("billing_usage", rows[:1000])  # loads the contracts; not part of the figure
    pages = [
        ("sophos_default", "\n".join(text for _, _, text in rows[n : n + PAGE]).encode())
        for n in range(0, len(rows), PAGE)
    ]
    for _ in range(args.repeat):
        gc.collect()
        wall = time.perf_counter()
        parsed = [
            pyarrow.json.read_json(
                io.BytesIO("\n".join(text for _, _, text in rows[n : n + CHUNK]).encode()),
                read_options=pyarrow.json.ReadOptions(block_size=4 << 20),
            )
            for n in range(0, len(rows), CHUNK)
        ]
        bare = time.perf_counter() - wall
        del parsed
        gc.collect()
        wall, cpu = time.perf_counter(), time.process_time()
        result = judge.validate_pages("billing_usage", pages, stage=lambda rows: None)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        print(
            f"validated {result.received:,} lines: {result.valid_rows:,} valid, {result.rejected_rows:,} rejected "
            f"{result.rejected_by_check}, {result.collapsed_duplicates:,} duplicates folded"
        )
        print(
            f"  {wall:.2f} s wall ({result.received / wall:,.0f} rows/s), {cpu:.2f} s CPU "
            f"({result.received / cpu:,.0f} rows/s per core); stages {result.seconds}"
        )
        print(
            f"  baseline, Arrow's bare JSON reader: {bare:.2f} s ({len(rows) / bare:,.0f} rows/s); "
            f"validation runs at {bare / wall:.2f}x its speed"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
