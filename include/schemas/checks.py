"""The checks our contracts are made of, and the field kinds that bundle them.

A contract column holds raw JSON values (object dtype). Every check judges only values of its own JSON
type and lets everything else pass, nulls included: a wrong type is reported once (by its `json_*`
check), a missing value once (by `nullable`, reported as `required`), never three times over.
The check's registered name is the reason Support reads in sophos.rejected_records.check_name.

Speed matters (a month can hold a million billing lines): checks decide each *distinct* value once and
take a fast path when a whole column is clean, so a clean column costs a few vectorized passes.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import date

import numpy as np
import pandas as pd
import pandera.pandas as pa
from pandera.extensions import register_check_method

# ISO 4217 currency codes in use (funds, metals and test codes left out: they never price a licence).
CURRENCIES = frozenset("""
    AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BRL BSD BTN BWP BYN BZD
    CAD CDF CHF CLP CNY COP CRC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL GHS GIP GMD
    GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY KES KGS KHR KMF KPW KRW KWD KYD KZT
    LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MYR MZN NAD NGN NIO NOK NPR
    NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR RON RSD RUB RWF SAR SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP
    STN SVC SYP SZL THB TJS TMT TND TOP TRY TTD TWD TZS UAH UGX USD UYU UZS VES VND VUV WST XAF XCD XCG
    XOF XPF YER ZAR ZMW ZWG
""".split())

# Sanity limits for text: far above anything real, low enough that garbage is caught.
NAME_CHARS = 1000
CODE_CHARS = 255
BIGINT_MAX = 2**63 - 1

_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
# Unicode category Cc: C0 controls, DEL and C1 controls (tab and newline included: none belong in a name).
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")


# --- how a column's values are read ------------------------------------------------------------------------

def _is_json(kind: str, value: object) -> bool:
    """Python's bool is an int; JSON's is not. 5.0 is a float, not an integer."""
    if kind == "string":
        return type(value) is str
    if kind == "integer":
        return type(value) is int and -BIGINT_MAX - 1 <= value <= BIGINT_MAX
    if kind == "boolean":
        return type(value) is bool
    if kind == "object":
        return type(value) is dict
    raise ValueError(f"unknown JSON kind {kind!r}")


# What pandas' infer_dtype says about a column whose non-null values are all of one JSON kind.
_INFERRED = {"string": "string", "integer": "integer", "boolean": "boolean"}


def json_kind_mask(series: pd.Series, kind: str) -> np.ndarray | None:
    """Which values are of JSON `kind` (None: every non-null value is). Nulls count as not of the kind."""
    return _facts(series, kind)[0]


def _values_of(series: pd.Series, kind: str) -> tuple[np.ndarray, np.ndarray | None]:
    """The values of JSON `kind` in a column, and their row positions (None: every row, in order)."""
    return _facts(series, kind)[1:]


# Within `column_memo()`, the checks of one column share one look at its values: each look at a million
# scattered Python objects costs a cache miss per value, and a text column has three checks.
_MEMO: ContextVar[dict | None] = ContextVar("column_memo", default=None)


@contextmanager
def column_memo() -> Iterator[None]:
    """Remember what the checks learn about each column while one frame is validated."""
    token = _MEMO.set({})
    try:
        yield
    finally:
        _MEMO.reset(token)


def _facts(series: pd.Series, kind: str) -> tuple[np.ndarray | None, np.ndarray, np.ndarray | None]:
    values = series.to_numpy(dtype=object)
    memo = _MEMO.get()
    # The frame is alive while the memo is, so the array owning a column's values identifies the column.
    key = (id(values.base if values.base is not None else values), len(values), kind)
    if memo is not None and key in memo:
        return memo[key]
    facts = _look(values, kind)
    if memo is not None:
        memo[key] = facts
    return facts


def _look(values: np.ndarray, kind: str) -> tuple[np.ndarray | None, np.ndarray, np.ndarray | None]:
    """(kind mask or None, the values of the kind, their positions or None for all rows)."""
    expected = _INFERRED.get(kind)
    if expected and pd.api.types.infer_dtype(values, skipna=False) == expected and _in_range(values, kind):
        return None, values, None  # the usual case, decided in one pass: every row holds a value of the kind
    inferred = pd.api.types.infer_dtype(values, skipna=True)
    present = ~pd.isna(values)
    if inferred == "empty" or (inferred == expected and _in_range(values[present], kind)):
        mask = None
    else:
        mask = np.fromiter((_is_json(kind, v) for v in values), dtype=bool, count=len(values))
    picked = present if mask is None else mask
    return mask, values[picked], np.flatnonzero(picked)


def _in_range(values: np.ndarray, kind: str) -> bool:
    return kind != "integer" or len(values) == 0 or (-BIGINT_MAX - 1 <= min(values) and max(values) <= BIGINT_MAX)


def _scatter(series: pd.Series, ok: np.ndarray, where: np.ndarray | None) -> bool | pd.Series:
    """Per-row result from the verdicts on the values `_values_of` picked; other rows pass."""
    if ok.all():
        return True
    if where is not None:
        ok, picked = np.ones(len(series), dtype=bool), ok
        ok[where] = picked
    return pd.Series(ok, index=series.index)


def _judge_strings(series: pd.Series, judge: Callable[[str], bool]) -> bool | pd.Series:
    """Apply `judge` to each distinct string once (a month has few distinct dates, prices, ids)."""
    strings, where = _values_of(series, "string")
    bad = [value for value in pd.unique(strings) if not judge(value)]
    if not bad:
        return True
    return _scatter(series, ~pd.Series(strings, dtype=object).isin(bad).to_numpy(), where)


def _type_check(series: pd.Series, kind: str) -> bool | pd.Series:
    mask = json_kind_mask(series, kind)
    return True if mask is None else pd.Series(mask | series.isna().to_numpy(), index=series.index)


# --- the checks --------------------------------------------------------------------------------------------

@register_check_method(statistics=["flag"])
def json_string(series: pd.Series, *, flag: bool) -> bool | pd.Series:
    """A JSON string (not a number, boolean, object or array)."""
    return _type_check(series, "string")


@register_check_method(statistics=["flag"])
def json_integer(series: pd.Series, *, flag: bool) -> bool | pd.Series:
    """A JSON integer that fits PostgreSQL bigint: 5 passes; "5", 5.0, 2.5 and true do not."""
    return _type_check(series, "integer")


@register_check_method(statistics=["flag"])
def json_boolean(series: pd.Series, *, flag: bool) -> bool | pd.Series:
    """A JSON true or false (not 1, not "true")."""
    return _type_check(series, "boolean")


@register_check_method(statistics=["flag"])
def json_object(series: pd.Series, *, flag: bool) -> bool | pd.Series:
    """A JSON object {...}, for the containers of nested fields."""
    return _type_check(series, "object")


@register_check_method(statistics=["flag"])
def uuid_format(series: pd.Series, *, flag: bool) -> bool | pd.Series:
    """8-4-4-4-12 hex digits; 'urn:uuid:...', braces and bare hex are refused."""
    return _judge_strings(series, lambda v: _UUID.fullmatch(v) is not None)


def _is_date(value: str) -> bool:
    if _DATE.fullmatch(value) is None:
        return False
    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return True


def is_iso_date(series: pd.Series) -> np.ndarray:
    """Which values are strings naming a real day (for line-level checks that compare dates)."""
    strings, where = _values_of(series, "string")
    valid = {value for value in pd.unique(strings) if _is_date(value)}
    ok = np.zeros(len(series), dtype=bool)
    judged = np.fromiter((v in valid for v in strings), dtype=bool, count=len(strings))
    if where is None:
        ok[:] = judged
    else:
        ok[where] = judged
    return ok


@register_check_method(statistics=["flag"])
def iso_date(series: pd.Series, *, flag: bool) -> bool | pd.Series:
    """YYYY-MM-DD naming a day that exists: 2026-02-30 and 2026-10-32 are refused."""
    return _judge_strings(series, _is_date)


@register_check_method(statistics=["integer_digits", "scale"])
def decimal_string(series: pd.Series, *, integer_digits: int, scale: int) -> bool | pd.Series:
    """A decimal string such as "1.40" or "-3" that fits numeric(p, s) without rounding.

    "1,40", "abc", "1e3", " 1.40" and "1.40000" (more decimals than the column keeps) are refused.
    """
    pattern = re.compile(rf"-?[0-9]{{1,{integer_digits}}}(\.[0-9]{{1,{scale}}})?")
    return _judge_strings(series, lambda v: pattern.fullmatch(v) is not None)


@register_check_method(statistics=["values"])
def allowed_values(series: pd.Series, *, values: frozenset[str]) -> bool | pd.Series:
    """One of a fixed set of strings (case-sensitive, as the API documents them)."""
    return _judge_strings(series, values.__contains__)


@register_check_method(statistics=["flag"])
def no_control_characters(series: pd.Series, *, flag: bool) -> bool | pd.Series:
    """No control characters (Unicode Cc: NUL, tab, newline, DEL, ...) anywhere in the text."""
    strings, where = _values_of(series, "string")
    # One C-speed pass decides a clean column; isprintable() is stricter than Cc, so only then look closer.
    if "".join(strings).isprintable():
        return True
    ok = np.fromiter((_CONTROL.search(v) is None for v in strings), dtype=bool, count=len(strings))
    return _scatter(series, ok, where)


@register_check_method(statistics=["limit"])
def max_chars(series: pd.Series, *, limit: int) -> bool | pd.Series:
    """At most `limit` characters: a 10,000-character name is garbage, not a name."""
    strings, where = _values_of(series, "string")
    lengths = np.fromiter(map(len, strings), dtype=np.int64, count=len(strings))
    return _scatter(series, lengths <= limit, where)


@register_check_method(statistics=["flag"])
def non_negative(series: pd.Series, *, flag: bool) -> bool | pd.Series:
    """An integer quantity of zero or more."""
    integers, where = _values_of(series, "integer")
    if len(integers) == 0 or min(integers) >= 0:
        return True
    return _scatter(series, np.fromiter((v >= 0 for v in integers), dtype=bool, count=len(integers)), where)


# --- field kinds: what a contract is written in ------------------------------------------------------------
# `ignore_na=False`: each check lets nulls pass itself, which spares pandera a null scan per check;
# `nullable` alone decides whether a field may be missing. `metadata["kind"]` tells validate how to type
# the value for the stage table and what JSON type the field has.

def _field(kind: str, required: bool, alias: str | None, **checks) -> object:
    return pa.Field(nullable=not required, alias=alias, ignore_na=False, metadata={"kind": kind}, **checks)


def Text(limit: int = NAME_CHARS, *, required: bool = False, alias: str | None = None):
    """A JSON string without control characters, at most `limit` characters."""
    return _field("text", required, alias, json_string=True, no_control_characters=True, max_chars=limit)


def Uuid(*, required: bool = False, alias: str | None = None):
    """A JSON string holding a UUID (a Sophos id)."""
    return _field("uuid", required, alias, json_string=True, uuid_format=True)


def IsoDate(*, required: bool = False, alias: str | None = None):
    """A JSON string YYYY-MM-DD naming a real day; staged as a date."""
    return _field("date", required, alias, json_string=True, iso_date=True)


def Money(*, integer_digits: int = 14, scale: int = 4, required: bool = False, alias: str | None = None):
    """A decimal string like "1.40"; staged as decimal.Decimal into numeric(18, 4), never via float."""
    return _field("money", required, alias, json_string=True, decimal_string={"integer_digits": integer_digits,
                                                                        "scale": scale})


def Quantity(*, required: bool = False, alias: str | None = None):
    """A JSON integer >= 0 (a count of seats, devices or users)."""
    return _field("integer", required, alias, json_integer=True, non_negative=True)


def Flag(*, required: bool = False, alias: str | None = None):
    """A JSON boolean."""
    return _field("boolean", required, alias, json_boolean=True)


def OneOf(values, *, required: bool = False, alias: str | None = None):
    """A JSON string from a fixed list."""
    return _field("enum", required, alias, json_string=True, allowed_values=frozenset(values))


def Currency(*, required: bool = False, alias: str | None = None):
    """An ISO 4217 code such as "EUR"."""
    return _field("currency", required, alias, json_string=True, allowed_values=CURRENCIES)


def NestedObject(*, required: bool = False, alias: str | None = None):
    """A JSON object whose fields are columns of their own ("product" holds "product.code", ...)."""
    return _field("object", required, alias, json_object=True)


def Derived():
    """A column validate adds before the checks (the natural key, the account); never null."""
    return pa.Field(nullable=False, metadata={"kind": "derived"})
