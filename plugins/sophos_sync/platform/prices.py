"""The distributor's Sophos price list (platform.sophos_prices): a CSV checked as a whole, then imported.

    sku,currency,unit_price,valid_from,valid_to
    CIXA0001MSPTA,EUR,1.40,2026-01-01,
    CIXA0001MSPTA,EUR,1.45,2027-01-01,2027-12-31

A line Sophos sent without a unit price is valued from the entry for its SKU and currency valid on its
billing start (the load does it, include/sql/load/insert_invoice_month.sql); a line Sophos priced is only
audited against it (finance.price_deviations). Every row is checked before anything is written: prices are
decimals (never floats), currencies ISO 4217 codes, dates ISO days, and one SKU and currency has one price
per day, within the file and together with the entries already imported. One bad row and nothing is
imported.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path

import psycopg

from sophos_sync.errors import SophosSyncError

REQUIRED_COLUMNS = ("sku", "currency", "unit_price", "valid_from")
COLUMNS = (*REQUIRED_COLUMNS, "valid_to")
MAX_SKU_CHARS = 255
_DECIMAL = re.compile(r"[0-9]{1,14}(\.[0-9]{1,4})?")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_PRINTABLE_SKU = re.compile(r"[^\s\x00-\x1f\x7f-\x9f]+")


class PriceListError(SophosSyncError):
    """The price list was refused; nothing was imported. `problems` names each bad row and field."""

    def __init__(self, path: str, problems: list[str]):
        self.problems = problems
        shown = "\n".join(f"  {problem}" for problem in problems[:50])
        more = f"\n  ... and {len(problems) - 50} more" if len(problems) > 50 else ""
        super().__init__(f"{path}: {len(problems)} problem(s), nothing was imported:\n{shown}{more}")


@dataclass(frozen=True)
class Price:
    sku: str
    currency: str
    unit_price: Decimal
    valid_from: date
    valid_to: date | None  # the last day, inclusive; None: open-ended
    line: int = 0  # where the file has it (0: already imported)

    def overlaps(self, other: Price) -> bool:
        return (
            (self.sku, self.currency) == (other.sku, other.currency)
            and self.valid_from <= (other.valid_to or date.max)
            and other.valid_from <= (self.valid_to or date.max)
        )

    def period(self) -> str:
        return f"{self.valid_from.isoformat()} to {self.valid_to.isoformat() if self.valid_to else 'open end'}"


def read(text: str, currencies: frozenset[str], path: str = "the price list") -> list[Price]:
    """The file's prices, or PriceListError naming every bad row (line number and field)."""
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = [name.strip() for name in reader.fieldnames or []]
    missing = [name for name in REQUIRED_COLUMNS if name not in header]
    unknown = [name for name in header if name not in COLUMNS]
    if missing or unknown:
        raise PriceListError(
            path,
            [
                f"line 1: the header must be {','.join(REQUIRED_COLUMNS)} (and optionally valid_to)"
                + (f"; missing {', '.join(missing)}" if missing else "")
                + (f"; unknown {', '.join(unknown)}" if unknown else "")
            ],
        )
    reader.fieldnames = header
    prices: list[Price] = []
    problems: list[str] = []
    for row in reader:
        line = reader.line_num
        if None in row:
            problems.append(f"line {line}: more fields than the header names")
            continue
        values = {name: (row.get(name) or "").strip() for name in COLUMNS}
        if not any(values.values()):
            continue  # a blank line
        errors = []
        if not _PRINTABLE_SKU.fullmatch(values["sku"]) or len(values["sku"]) > MAX_SKU_CHARS:
            errors.append(f"sku {values['sku']!r} must be 1 to {MAX_SKU_CHARS} printable characters without spaces")
        if values["currency"] not in currencies:
            errors.append(f"currency {values['currency']!r} is not an ISO 4217 code such as EUR")
        if not _DECIMAL.fullmatch(values["unit_price"]):
            errors.append(f"unit_price {values['unit_price']!r} must be a decimal such as 1.40 (at most 4 decimals)")
        valid_from = _day(values["valid_from"])
        if valid_from is None:
            errors.append(f"valid_from {values['valid_from']!r} must be a day as YYYY-MM-DD")
        valid_to = _day(values["valid_to"]) if values["valid_to"] else None
        if values["valid_to"] and valid_to is None:
            errors.append(f"valid_to {values['valid_to']!r} must be a day as YYYY-MM-DD, or empty")
        elif valid_from and valid_to and valid_to < valid_from:
            errors.append(f"valid_to {values['valid_to']} is before valid_from {values['valid_from']}")
        if errors:
            problems.extend(f"line {line}: {error}" for error in errors)
            continue
        assert valid_from is not None
        prices.append(
            Price(values["sku"], values["currency"], Decimal(values["unit_price"]), valid_from, valid_to, line)
        )
    problems.extend(_overlaps(prices, []))
    if problems:
        raise PriceListError(path, problems)
    if not prices:
        raise PriceListError(path, ["the file holds no price"])
    return prices


def _day(text: str) -> date | None:
    if not _DATE.fullmatch(text):
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def _overlaps(new: list[Price], existing: Iterable[Price]) -> list[str]:
    """Where a row of the file prices a SKU and currency on days another entry (of the file, or imported
    before) prices it too."""
    problems = []
    by_key: dict[tuple[str, str], list[Price]] = {}
    for price in [*existing, *new]:
        by_key.setdefault((price.sku, price.currency), []).append(price)
    for entries in by_key.values():
        entries.sort(key=lambda price: price.valid_from)
        reach = entries[0]  # of the entries so far, the one that ends last
        for later in entries[1:]:
            if reach.overlaps(later) and (reach.line or later.line):
                where = " and ".join(
                    f"line {p.line}" if p.line else "an entry already imported" for p in (reach, later)
                )
                problems.append(
                    f"{where}: {later.sku} {later.currency} is priced twice on the same days "
                    f"({reach.period()} and {later.period()})"
                )
            if (later.valid_to or date.max) > (reach.valid_to or date.max):
                reach = later
    return problems


def _existing(conn: psycopg.Connection) -> list[Price]:
    rows = conn.execute(
        "SELECT sku, currency, unit_price, valid_from, valid_to FROM platform.sophos_prices FOR UPDATE"
    ).fetchall()
    return [
        Price(sku, currency.strip(), unit_price, valid_from, valid_to)
        for sku, currency, unit_price, valid_from, valid_to in rows
    ]


def import_file(conn: psycopg.Connection, path: Path, currencies: frozenset[str], replace: bool = False) -> dict:
    """Check the file as a whole, then import it in one transaction: its entries are added (an entry with the
    same SKU, currency and valid_from is updated); with `replace`, the list becomes exactly the file. Returns
    {"imported", "replaced"}."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise PriceListError(str(path), [f"cannot be read as UTF-8 text ({type(exc).__name__})"]) from None
    prices = read(text, currencies, str(path))
    with conn.transaction():
        conn.execute("LOCK TABLE platform.sophos_prices IN SHARE ROW EXCLUSIVE MODE")
        existing = [] if replace else _existing(conn)
        same_start = {(p.sku, p.currency, p.valid_from) for p in prices}
        kept = [p for p in existing if (p.sku, p.currency, p.valid_from) not in same_start]
        problems = _overlaps(prices, kept)
        if problems:
            raise PriceListError(str(path), problems)
        replaced = conn.execute("DELETE FROM platform.sophos_prices").rowcount if replace else 0
        with conn.cursor() as cur:
            cur.executemany(
                """INSERT INTO platform.sophos_prices (sku, currency, unit_price, valid_from, valid_to)
                   VALUES (%s, %s, %s, %s, %s)
                   ON CONFLICT (sku, currency, valid_from) DO UPDATE SET
                       unit_price = EXCLUDED.unit_price, valid_to = EXCLUDED.valid_to,
                       imported_at = now(), imported_by = session_user""",
                [(p.sku, p.currency, p.unit_price, p.valid_from, p.valid_to) for p in prices],
            )
    return {"imported": len(prices), "replaced": replaced}


def valid_in(conn: psycopg.Connection, month: date | None) -> list[dict]:
    """The entries valid on some day of `month` (every entry when None), by SKU and currency."""
    rows = conn.execute(
        """SELECT sku, currency, unit_price, valid_from, valid_to FROM platform.sophos_prices
           WHERE %(month)s::date IS NULL
              OR (valid_from < (%(month)s::date + interval '1 month')::date
                  AND (valid_to IS NULL OR valid_to >= %(month)s::date))
           ORDER BY sku, currency, valid_from""",
        {"month": month},
    ).fetchall()
    keys = ("sku", "currency", "unit_price", "valid_from", "valid_to")
    return [dict(zip(keys, row, strict=True)) for row in rows]
