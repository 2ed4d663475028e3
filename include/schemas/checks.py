"""The checks our contracts are made of, and the field kinds that bundle them.

A contract column holds one API field in the field's JSON type, as an Arrow-backed pandas column: its
annotation (String, Integer, Boolean, Number) is the type. Number is a decimal: a JSON number or a
decimal string, read from its JSON text (never through float). A value of another JSON type cannot be
held there, so validate, which decodes the JSON into these columns, reports it itself as `json_string`,
`json_integer`, `json_boolean`, `json_number` or `json_object` (for the container of nested fields),
and the checks here judge only values of the right type. Every check lets nulls pass: `nullable` alone
(reported as `required`) decides whether a field may be missing. The check's registered name is the
reason Support reads in sophos.rejected_records.check_name.

Speed matters (a month can hold a million billing lines): every check is a few Arrow compute kernels
over the column, and checks that need Python judge each *distinct* value once.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date
from typing import Annotated

import numpy as np
import pandas as pd
import pandera.pandas as pa
import pyarrow
import pyarrow.compute as pc
from pandera.extensions import register_check_method

# The JSON types of a contract's columns.
String = Annotated[pd.ArrowDtype, pyarrow.string()]
Integer = Annotated[pd.ArrowDtype, pyarrow.int64()]  # an integer beyond bigint is not an Integer
Boolean = Annotated[pd.ArrowDtype, pyarrow.bool_()]
# A decimal with PostgreSQL's scale 4: validate reads JSON 25, 12.5 and "12.50" exactly. Wide, so that a
# value too large for its numeric column is held and judged (fits_numeric), not refused by the decoder.
Number = Annotated[pd.ArrowDtype, pyarrow.decimal128(38, 4)]

# ISO 4217 currency codes in use (funds, metals and test codes left out: they never price a licence).
CURRENCIES = frozenset(
    """
    AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BRL BSD BTN BWP BYN BZD
    CAD CDF CHF CLP CNY COP CRC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL GHS GIP GMD
    GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY KES KGS KHR KMF KPW KRW KWD KYD KZT
    LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MYR MZN NAD NGN NIO NOK NPR
    NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR RON RSD RUB RWF SAR SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP
    STN SVC SYP SZL THB TJS TMT TND TOP TRY TTD TWD TZS UAH UGX USD UYU UZS VES VND VUV WST XAF XCD XCG
    XOF XPF YER ZAR ZMW ZWG
""".split()
)

# Sanity limits for text: far above anything real, low enough that garbage is caught.
NAME_CHARS = 1000
CODE_CHARS = 255

_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
# Unicode category Cc: C0 controls, DEL and C1 controls (tab and newline included: none belong in a name).
_CONTROL = "[\x00-\x1f\x7f-\x9f]"


# --- how a column's values are read ------------------------------------------------------------------------


def _arrow(series: pd.Series) -> pyarrow.ChunkedArray:
    return series.array.__arrow_array__()


def _verdict(series: pd.Series, ok: pyarrow.ChunkedArray | pyarrow.Array) -> bool | pd.Series:
    """Per-row result; nulls (where the kernel had nothing to judge) pass."""
    ok = ok.fill_null(True)
    if pc.all(ok).as_py() is not False:
        return True
    return pd.Series(ok.to_numpy(zero_copy_only=False), index=series.index)


def _judge_distinct(series: pd.Series, judge: Callable[[str], bool]) -> bool | pd.Series:
    """Apply `judge` to each distinct value once (a month has few distinct dates, prices, ids)."""
    values = _arrow(series)
    bad = [value for value in pc.unique(values).to_pylist() if value is not None and not judge(value)]
    if not bad:
        return True
    return _verdict(series, pc.invert(pc.is_in(values, value_set=pyarrow.array(bad, pyarrow.string()))))


# The bytes a control character's UTF-8 starts with: C0 controls, DEL, and C2 (the lead byte of C1
# controls, and of a few letters such as "°"). A chunk of text without any of them holds no control
# character, so most chunks of a month are never searched.
_CONTROL_LEAD = np.zeros(256, dtype=bool)
_CONTROL_LEAD[[*range(0x20), 0x7F, 0xC2]] = True


def _may_hold_controls(chunk: pyarrow.Array) -> bool:
    data = chunk.buffers()[2]
    return data is not None and bool(_CONTROL_LEAD[np.frombuffer(data, dtype=np.uint8)].any())


# --- the checks --------------------------------------------------------------------------------------------


@register_check_method(statistics=["flag"])
def uuid_format(series: pd.Series, *, flag: bool) -> bool | pd.Series:
    """8-4-4-4-12 hex digits; 'urn:uuid:...', braces and bare hex are refused."""
    return _judge_distinct(series, lambda v: _UUID.fullmatch(v) is not None)


def _is_date(value: str) -> bool:
    if _DATE.fullmatch(value) is None:
        return False
    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return True


def is_iso_date(series: pd.Series) -> np.ndarray:
    """Which values name a real day as YYYY-MM-DD (for line-level checks that compare dates)."""
    values = _arrow(series)
    valid = [value for value in pc.unique(values).to_pylist() if value is not None and _is_date(value)]
    return pc.is_in(values, value_set=pyarrow.array(valid, pyarrow.string())).to_numpy(zero_copy_only=False)


@register_check_method(statistics=["flag"])
def iso_date(series: pd.Series, *, flag: bool) -> bool | pd.Series:
    """YYYY-MM-DD naming a day that exists: 2026-02-30 and 2026-10-32 are refused."""
    return _judge_distinct(series, _is_date)


@register_check_method(statistics=["integer_digits", "scale"])
def decimal_string(series: pd.Series, *, integer_digits: int, scale: int) -> bool | pd.Series:
    """A decimal string such as "1.40" or "-3" that fits numeric(p, s) without rounding.

    "1,40", "abc", "1e3", " 1.40" and "1.40000" (more decimals than the column keeps) are refused.
    """
    pattern = re.compile(rf"-?[0-9]{{1,{integer_digits}}}(\.[0-9]{{1,{scale}}})?")
    return _judge_distinct(series, lambda v: pattern.fullmatch(v) is not None)


@register_check_method(statistics=["values"])
def allowed_values(series: pd.Series, *, values: frozenset[str]) -> bool | pd.Series:
    """One of a fixed set of strings (case-sensitive, as the API documents them)."""
    allowed = pyarrow.array(sorted(values), pyarrow.string())
    column = _arrow(series)
    return _verdict(series, pc.or_kleene(pc.is_in(column, value_set=allowed), pc.is_null(column)))


@register_check_method(statistics=["flag"])
def no_control_characters(series: pd.Series, *, flag: bool) -> bool | pd.Series:
    """No control characters (Unicode Cc: NUL, tab, newline, DEL, ...) anywhere in the text."""
    found = [
        pc.match_substring_regex(chunk, _CONTROL)
        if _may_hold_controls(chunk)
        else pyarrow.nulls(len(chunk), pyarrow.bool_())
        for chunk in _arrow(series).chunks
    ]
    if not found:
        return True
    return _verdict(series, pc.invert(pyarrow.chunked_array(found, pyarrow.bool_())))


@register_check_method(statistics=["limit"])
def max_chars(series: pd.Series, *, limit: int) -> bool | pd.Series:
    """At most `limit` characters: a 10,000-character name is garbage, not a name."""
    values = _arrow(series)
    if len(values) == 0 or (pc.max(pc.binary_length(values)).as_py() or 0) <= limit:
        return True  # no text has more bytes than the limit, so none has more characters
    return _verdict(series, pc.less_equal(pc.utf8_length(values), limit))


@register_check_method(statistics=["integer_digits"])
def fits_numeric(series: pd.Series, *, integer_digits: int) -> bool | pd.Series:
    """A decimal with at most `integer_digits` digits before the point (decoding already holds its scale)."""
    return _verdict(series, pc.less(pc.abs(_arrow(series)), pyarrow.scalar(10**integer_digits)))


@register_check_method(statistics=["flag"])
def non_negative(series: pd.Series, *, flag: bool) -> bool | pd.Series:
    """An integer quantity of zero or more."""
    return _verdict(series, pc.greater_equal(_arrow(series), 0))


# --- field kinds: what a contract is written in ------------------------------------------------------------
# `ignore_na=False`: each check lets nulls pass itself, which spares pandera a null scan per check;
# `nullable` alone decides whether a field may be missing.


def _field(required: bool, alias: str | None, **checks) -> object:
    return pa.Field(nullable=not required, alias=alias, ignore_na=False, **checks)


def Text(limit: int = NAME_CHARS, *, required: bool = False, alias: str | None = None):
    """A String without control characters, at most `limit` characters."""
    return _field(required, alias, no_control_characters=True, max_chars=limit)


def Uuid(*, required: bool = False, alias: str | None = None):
    """A String holding a UUID (a Sophos id)."""
    return _field(required, alias, uuid_format=True)


def IsoDate(*, required: bool = False, alias: str | None = None):
    """A String YYYY-MM-DD naming a real day; PostgreSQL reads it into a date."""
    return _field(required, alias, iso_date=True)


def Money(*, integer_digits: int = 14, scale: int = 4, required: bool = False, alias: str | None = None):
    """A decimal String like "1.40", kept as text until PostgreSQL's numeric(18, 4): never a float."""
    return _field(required, alias, decimal_string={"integer_digits": integer_digits, "scale": scale})


def Percentage(*, required: bool = False, alias: str | None = None):
    """A Number (JSON number or decimal string) that fits numeric(9, 4), such as 25 or "12.50"."""
    return _field(required, alias, fits_numeric=5)


def Quantity(*, required: bool = False, alias: str | None = None):
    """An Integer >= 0 (a count of seats, devices or users)."""
    return _field(required, alias, non_negative=True)


def SignedQuantity(*, required: bool = False, alias: str | None = None):
    """An Integer of any sign: a billed count, where a negative one is a credit (a refund or correction)."""
    return _field(required, alias)


def Flag(*, required: bool = False, alias: str | None = None):
    """A Boolean."""
    return _field(required, alias)


def OneOf(values, *, required: bool = False, alias: str | None = None):
    """A String from a fixed list."""
    return _field(required, alias, allowed_values=frozenset(values))


def Currency(*, required: bool = False, alias: str | None = None):
    """An ISO 4217 code such as "EUR"."""
    return _field(required, alias, allowed_values=CURRENCIES)


def Derived(*, nullable: bool = False):
    """A column validate adds before the checks (the landing record's account, a contract's derived
    column, its natural key); never null unless said so."""
    return pa.Field(nullable=nullable, metadata={"derived": True})


def FromLanding():
    """A column validate adds from what the extract recorded for the record's Sophos connection (the
    distributor contract's currency); null where the connection has none."""
    return pa.Field(nullable=True, metadata={"landing": True})
