"""Landing records -> data contracts (include/schemas) -> typed stage rows, rejected rows with reasons, drift.

    result = validate("billing_usage", rows)   # rows: (account, tenant_id, raw JSON text)
    enforce_threshold(result, settings.REJECT_THRESHOLD)

Per record, one of three things happens: it becomes a stage row (`valid`, typed for COPY), it is folded
into an identical copy of itself (`collapsed_duplicates`), or it is rejected with one row per failed
check in `rejected`. A defect that breaks a whole entity (a required field missing from every record, a
field whose JSON type changed in every record) raises ContractViolation instead: nothing is loaded.
Fields the contract does not know are reported as drift (`unknown_fields`), never rejected.

JSON is decoded by msgspec into the contract's fields as plain Python values (money stays a string until
decimal.Decimal; nothing passes through float), then checked by pandera in one lazy pass.
"""
from __future__ import annotations

import gc
import importlib
import importlib.util
import logging
import re
import sys
import time
import zlib
from array import array
from bisect import bisect_right
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from functools import cache
from itertools import accumulate, islice
from operator import attrgetter
from types import ModuleType
from typing import Any

import msgspec
import numpy as np
import pandas as pd
import pandera.pandas as pa

from sophos_sync import settings
from sophos_sync.errors import ContractViolation, RejectionThresholdExceeded

log = logging.getLogger(__name__)

ENTITIES = ("tenant", "license", "billing_usage")
_CONTRACT_MODULES = {"tenant": "tenants", "license": "licenses", "billing_usage": "billing_usage"}
# include/schemas is imported as this package (it is not on sys.path; its modules import each other).
_PACKAGE = "sophos_sync_contracts"

# Columns validate adds to a contract's frame; every other column is an API field.
_ADDED = {
    "account": "the Airflow connection",
    "tenantId": "the tenant of the licence call",
    "lineKey": "the natural key",
    "currency": "netPriceCurrency, else unitPriceCurrency",
}
REJECTED_COLUMNS = ["source_key", "check_name", "column_name", "failure_case", "raw"]
_CHECK_NAMES = {"not_nullable": "required"}
_FAILURE_CASE_CHARS = 200
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")
_DECODE_CHUNK = 10_000
_JSON_KIND = {"text": "string", "uuid": "string", "date": "string", "money": "string", "enum": "string",
              "currency": "string", "integer": "integer", "boolean": "boolean", "object": "object"}


@cache
def contract(entity: str) -> ModuleType:
    """The contract module of an entity, loaded from settings.SCHEMAS_DIR once per process."""
    if entity not in _CONTRACT_MODULES:
        raise ValueError(f"unknown entity {entity!r}: expected one of {', '.join(ENTITIES)}")
    if _PACKAGE not in sys.modules:
        init = settings.SCHEMAS_DIR / "__init__.py"
        if not init.is_file():
            raise FileNotFoundError(
                f"data contracts not found at {settings.SCHEMAS_DIR}: mount include/ beside plugins/ "
                "or set SOPHOS_SYNC_INCLUDE_DIR"
            )
        spec = importlib.util.spec_from_file_location(
            _PACKAGE, init, submodule_search_locations=[str(settings.SCHEMAS_DIR)]
        )
        package = importlib.util.module_from_spec(spec)
        sys.modules[_PACKAGE] = package
        spec.loader.exec_module(package)
    return importlib.import_module(f"{_PACKAGE}.{_CONTRACT_MODULES[entity]}")


@cache
def _schema(entity: str) -> pa.DataFrameSchema:
    module = contract(entity)
    models = [v for v in vars(module).values()
              if isinstance(v, type) and issubclass(v, pa.DataFrameModel) and v.__module__ == module.__name__]
    return models[0].to_schema()


def _kinds(entity: str) -> dict[str, str]:
    return {name: (column.metadata or {}).get("kind", "") for name, column in _schema(entity).columns.items()}


STAGE_COLUMNS: dict[str, list[str]] = {entity: list(contract(entity).STAGE) for entity in ENTITIES}


@dataclass
class ValidationResult:
    entity: str
    valid: pd.DataFrame
    rejected: pd.DataFrame
    received: int
    collapsed_duplicates: int
    unknown_fields: list[str]
    rejected_by_check: dict[str, int]
    rejected_rows: int = 0  # records rejected, each counted once however many checks it failed
    seconds: dict[str, float] = field(default_factory=dict)

    def counts(self) -> dict:
        """The run report's figures for this entity (sophos.sync_runs.counts)."""
        return {
            "received": self.received, "valid": len(self.valid), "rejected": self.rejected_rows,
            "collapsed_duplicates": self.collapsed_duplicates, "rejected_by_check": self.rejected_by_check,
            "unknown_fields": self.unknown_fields,
        }


# --- keys ----------------------------------------------------------------------------------------------------

def _key_part(value: object) -> str:
    if value is None:
        return ""
    text = value if type(value) is str else msgspec.json.encode(value).decode()
    # Escaping keeps the join reversible: ("a|b", "c") and ("a", "b|c") stay two keys.
    return text.replace("\\", "\\\\").replace("|", "\\|")


def line_key(item: Mapping) -> str:
    """The invoice-line key Finance sees: the natural key's fields joined by '|' (missing: empty)."""
    return line_key_of(item.get(name) for name in contract("billing_usage").NATURAL_KEY)


def line_key_of(values: Iterable[object]) -> str:
    """line_key from the natural key's values alone, in NATURAL_KEY order (None where missing)."""
    return "|".join(map(_key_part, values))


def _key_column(array: np.ndarray) -> list[str] | np.ndarray:
    if pd.api.types.infer_dtype(array, skipna=False) == "string":
        joined = "".join(array)
        if "|" not in joined and "\\" not in joined:
            return array
    return [_key_part(v) for v in array]


def _natural_keys(columns: Mapping[str, np.ndarray], names: Iterable[str]) -> list[str]:
    parts = [_key_column(columns[name]) for name in names]
    return list(parts[0]) if len(parts) == 1 else list(map("|".join, zip(*parts)))


# --- decoding ------------------------------------------------------------------------------------------------

class _RawTexts:
    """The batch's raw JSON texts, zlib-compressed chunk by chunk. They are read again only for the few
    records that are rejected or duplicated, while as plain str a month of billing lines is about 1 GB:
    more than everything else validation holds (compressed: about a tenth, for ~4 s of CPU a month)."""

    def __init__(self) -> None:
        self._chunks: list[tuple[bytes, array]] = []  # (compressed text, where each record's text ends)
        self._starts: list[int] = []                  # position of each chunk's first record
        self._count = 0

    def add(self, texts: Sequence[str]) -> None:
        # surrogatepass: whatever str came in comes back out, even a lone surrogate in broken input
        self._chunks.append((zlib.compress("".join(texts).encode("utf-8", "surrogatepass"), 1),
                             array("Q", accumulate(map(len, texts)))))
        self._starts.append(self._count)
        self._count += len(texts)

    def get(self, positions: Iterable[int]) -> dict[int, str]:
        """The texts at these positions; one chunk decompressed at a time."""
        found: dict[int, str] = {}
        wanted = sorted(set(positions))
        i = 0
        while i < len(wanted):
            chunk = bisect_right(self._starts, wanted[i]) - 1
            compressed, ends = self._chunks[chunk]
            text = zlib.decompress(compressed).decode("utf-8", "surrogatepass")
            first, after = self._starts[chunk], self._starts[chunk] + len(ends)
            while i < len(wanted) and wanted[i] < after:
                at = wanted[i] - first
                found[wanted[i]] = text[ends[at - 1] if at else 0:ends[at]]
                i += 1
        return found


@dataclass
class _Decoded:
    """A batch after decoding: per received record its account, tenant and raw text; per field the values
    of the records that decoded (at `positions`); the rest in `broken` with the reason."""
    received: int = 0
    accounts: list[str] = field(default_factory=list)
    tenant_ids: list[str | None] = field(default_factory=list)
    raws: _RawTexts = field(default_factory=_RawTexts)
    values: list[np.ndarray] = field(default_factory=list)
    positions: list[int] = field(default_factory=list)
    broken: list[tuple[int, str]] = field(default_factory=list)


class _RecordDecoder:
    """JSON text -> the contract's top-level fields; fields it was not told about are drift.

    The msgspec Struct forbids unknown fields, so a clean batch decodes at C speed and a new field shows
    up as an error once: it is then added to the Struct (as drift) and decoding goes on at full speed.
    """

    def __init__(self, fields: list[str]):
        self.fields = fields
        self.unknown: list[str] = []
        self._build()

    def _build(self) -> None:
        names = self.fields + self.unknown
        attrs = [f"f{i}" for i in range(len(names))]
        record = msgspec.defstruct(
            "Record", [(a, Any, None) for a in attrs], rename=dict(zip(attrs, names)),
            forbid_unknown_fields=True, gc=False,
        )
        self._decode = msgspec.json.Decoder(record).decode
        pick = attrgetter(*attrs[: len(self.fields)])
        self._pick = pick if len(self.fields) > 1 else lambda record: (pick(record),)

    def decode(self, rows: Iterable[tuple[str, str | None, str]]) -> _Decoded:
        """The batch read once, as it streams in (a month is never held as a list of raw texts).

        Rows are read chunk by chunk, and while a chunk's objects are still in the CPU cache each column is
        transposed and its repeated strings are replaced by one shared object ("EUR", "2026-10-01", a
        product name): a month then holds a few distinct objects per column instead of a million, which is
        what makes allocating it and every later pass over it cheap. The raw texts are kept compressed.
        """
        parts: list[list[np.ndarray]] = [[] for _ in self.fields]
        shared: list[dict | None] = [{} for _ in self.fields]
        decoded = _Decoded()
        accounts: dict[str, str] = {}
        rows = iter(rows)
        while chunk := list(islice(rows, _DECODE_CHUNK)):
            start = decoded.received
            chunk_accounts, chunk_tenants, part = zip(*chunk)
            decoded.accounts.extend(map(accounts.setdefault, chunk_accounts, chunk_accounts))
            decoded.tenant_ids.extend(chunk_tenants)
            decoded.raws.add(part)
            decoded.received += len(part)
            try:
                records = list(map(self._decode, part))
                decoded.positions.extend(range(start, start + len(part)))
            except (msgspec.ValidationError, msgspec.DecodeError):
                records = self._one_by_one(part, start, decoded.positions, decoded.broken)
            for n, values in enumerate(zip(*map(self._pick, records))):
                values = np.fromiter(values, dtype=object, count=len(values))
                if shared[n] is not None:
                    values, shared[n] = _share_strings(values, shared[n])
                parts[n].append(values)
        for chunks in parts:  # one column at a time, its chunks freed as it goes: no second copy of the batch
            decoded.values.append(np.concatenate(chunks) if chunks else np.empty(0, dtype=object))
            chunks.clear()
        return decoded

    def _one_by_one(self, part: list, start: int, positions: list[int], broken: list) -> list:
        records = []
        for offset, raw in enumerate(part):
            try:
                record = self._decode(raw)
            except msgspec.ValidationError:  # a subclass of DecodeError: the JSON itself is fine
                item = msgspec.json.decode(raw)
                if not isinstance(item, dict):
                    broken.append((start + offset, f"expected a JSON object, got {_json_type(item)}"))
                    continue
                known = set(self.fields + self.unknown)
                new = [name for name in item if name not in known]
                if not new:
                    broken.append((start + offset, "the record could not be decoded"))
                    continue
                self.unknown.extend(new)
                self._build()
                record = self._decode(raw)
            except msgspec.DecodeError as exc:
                broken.append((start + offset, f"not valid JSON: {exc}"))
                continue
            records.append(record)
            positions.append(start + offset)
        return records


def _share_strings(values: np.ndarray, seen: dict) -> tuple[np.ndarray, dict | None]:
    """Repeated strings replaced by the first object seen for them; (values, None) once a column turns
    out to hold mostly distinct values (serial numbers, order numbers), where sharing saves nothing."""
    if pd.api.types.infer_dtype(values, skipna=False) == "string":
        values = np.fromiter(map(seen.setdefault, values, values), dtype=object, count=len(values))
    else:  # only strings are shared: 1 == True == 1.0 as dict keys, and their types must survive
        values = np.fromiter((seen.setdefault(v, v) if type(v) is str else v for v in values),
                             dtype=object, count=len(values))
    return values, (seen if len(seen) <= _DECODE_CHUNK // 2 else None)


def _json_type(value: object) -> str:
    return {str: "string", int: "integer", float: "number", bool: "boolean", dict: "object",
            list: "array", type(None): "null"}.get(type(value), type(value).__name__)


def _nested(columns: dict[str, np.ndarray], names: list[str]) -> list[str]:
    """Fill the dotted columns ("usage.current.count") from their containers; return unknown nested keys."""
    unknown: set[str] = set()
    for name in sorted((n for n in names if "." in n), key=lambda n: n.count(".")):
        parent, key = name.rsplit(".", 1)
        columns[name] = np.fromiter(
            (v.get(key) if type(v) is dict else None for v in columns[parent]), dtype=object,
            count=len(columns[parent]),
        )
    children: dict[str, set[str]] = {}
    for name in names:
        if "." in name:
            parent, key = name.rsplit(".", 1)
            children.setdefault(parent, set()).add(key)
    for container, known in children.items():
        for value in columns[container]:
            if type(value) is dict:
                unknown.update(f"{container}.{k}" for k in value if k not in known)
    return sorted(unknown)


# --- the steps of validate -----------------------------------------------------------------------------------

def validate(entity: str, rows: Iterable[tuple[str, str | None, str]]) -> ValidationResult:
    """Check every record of one entity against its contract (see the module docstring)."""
    with _cyclic_gc_paused():
        return _validate(entity, rows)


@contextmanager
def _cyclic_gc_paused():
    """Decoding a month allocates millions of small containers and none of them form cycles; CPython's
    cyclic GC would rescan them again and again (measured: validation took 2-3x as long)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _validate(entity: str, rows: Iterable[tuple[str, str | None, str]]) -> ValidationResult:
    clock = _Clock()
    module, schema, kinds = contract(entity), _schema(entity), _kinds(entity)
    api_fields = [name for name in schema.columns if name not in _ADDED]
    decoder = _RecordDecoder(sorted({name.split(".")[0] for name in api_fields}))
    batch = decoder.decode(rows)
    received, broken, raws = batch.received, batch.broken, batch.raws
    columns = dict(zip(decoder.fields, batch.values))
    unknown_fields = sorted(decoder.unknown) + _nested(columns, api_fields)
    positions = np.asarray(batch.positions, dtype=np.int64)
    columns["account"] = np.asarray(batch.accounts, dtype=object)[positions]
    if "tenantId" in schema.columns:
        columns["tenantId"] = np.asarray(batch.tenant_ids, dtype=object)[positions]
    if "currency" in schema.columns:
        net, unit = columns["netPriceCurrency"], columns["unitPriceCurrency"]
        columns["currency"] = np.where(pd.isna(net), unit, net)
    keys = _natural_keys(columns, module.NATURAL_KEY)
    if "lineKey" in schema.columns:
        columns["lineKey"] = np.asarray(keys, dtype=object)
    frame = pd.DataFrame({name: columns[name] for name in schema.columns}, dtype=object, copy=False)
    del columns, batch.values  # the frame shares these arrays: once it is folded, they can go
    clock.lap("decode")

    frame, positions, keys, collapsed, conflicting = _fold_duplicates(frame, positions, keys, raws, batch.tenant_ids)
    clock.lap("duplicates")

    failures = _run_contract(schema, frame, getattr(module, "CHECK_COLUMNS", {}))
    clock.lap("checks")
    _refuse_broken_entity(entity, frame, failures, kinds, received, len(broken))

    key_column = "lineKey" if "lineKey" in schema.columns else module.NATURAL_KEY[0]
    conflicts = pd.DataFrame({
        "row": conflicting, "check_name": "conflicting_duplicate", "column_name": key_column,
        "failure_case": [keys[row] for row in conflicting],
    })
    failures = pd.concat([failures, conflicts], ignore_index=True) if len(conflicts) else failures
    rejected_row = np.zeros(len(frame), dtype=bool)
    rejected_row[failures["row"].to_numpy(dtype=np.int64)] = True
    valid = _stage_rows(module.STAGE, kinds, frame[~rejected_row])
    clock.lap("stage")

    rejected_raws = raws.get([int(positions[row]) for row in failures["row"]] + [p for p, _ in broken])
    rejected = pd.concat([
        pd.DataFrame({
            "source_key": [keys[row] for row in failures["row"]],
            "check_name": failures["check_name"].to_numpy(dtype=object),
            "column_name": failures["column_name"].to_numpy(dtype=object),
            "failure_case": [_failure_text(v) for v in failures["failure_case"]],
            "raw": [rejected_raws[positions[row]] for row in failures["row"]],
        }, dtype=object),
        pd.DataFrame({
            "source_key": [None] * len(broken), "check_name": ["invalid_json"] * len(broken),
            "column_name": [None] * len(broken), "failure_case": [_failure_text(e) for _, e in broken],
            # rejected_records.raw is jsonb: text that is not JSON is kept as a JSON string.
            "raw": [msgspec.json.encode(rejected_raws[p]).decode() if "not valid JSON" in e else rejected_raws[p]
                    for p, e in broken],
        }, dtype=object),
    ], ignore_index=True)
    by_check = Counter(failures.drop_duplicates(["row", "check_name"])["check_name"])
    by_check.update("invalid_json" for _ in broken)
    return ValidationResult(
        entity=entity, valid=valid, rejected=rejected[REJECTED_COLUMNS], received=received,
        collapsed_duplicates=collapsed, unknown_fields=unknown_fields,
        rejected_by_check=dict(by_check.most_common()), rejected_rows=int(rejected_row.sum()) + len(broken),
        seconds=clock.laps,
    )


def _fold_duplicates(frame, positions, keys, raws, tenant_ids):
    """Identical copies of a record (same key, same JSON, same tenant) are kept once; copies that differ
    all stay, to be rejected together. Returns the frame without the extra copies, the number folded and
    the (new) rows of the conflicting copies."""
    repeated = np.flatnonzero(pd.Series(keys, dtype=object).duplicated(keep=False).to_numpy())
    if len(repeated) == 0:
        return frame, positions, keys, 0, []
    groups: dict[str, list[int]] = {}
    for row in repeated.tolist():
        groups.setdefault(keys[row], []).append(row)
    keep = np.ones(len(frame), dtype=bool)
    conflicting: list[int] = []
    texts = raws.get(int(positions[row]) for row in repeated.tolist())
    for rows in groups.values():
        contents = [(tenant_ids[positions[r]], msgspec.json.decode(texts[positions[r]])) for r in rows]
        if all(content == contents[0] for content in contents[1:]):
            keep[rows[1:]] = False
        else:
            conflicting.extend(rows)
    new_row = np.cumsum(keep) - 1
    keys = [key for key, kept in zip(keys, keep.tolist()) if kept]
    return (frame[keep].reset_index(drop=True), positions[keep], keys, int((~keep).sum()),
            sorted(int(new_row[r]) for r in conflicting))


def _run_contract(schema: pa.DataFrameSchema, frame: pd.DataFrame, check_columns: dict[str, str]) -> pd.DataFrame:
    """All failures of the batch at once: one row per (row, check, column) with the failing value."""
    checks = sys.modules[f"{_PACKAGE}.checks"]
    try:
        with checks.column_memo():
            schema.validate(frame, lazy=True, inplace=True)
        return pd.DataFrame({"row": pd.Series(dtype=np.int64), "check_name": [], "column_name": [],
                             "failure_case": []})
    except pa.errors.SchemaErrors as exc:
        cases = exc.failure_cases
    if cases["index"].isna().any():
        problems = cases[cases["index"].isna()][["column", "check"]].drop_duplicates().to_dict("records")
        raise ContractViolation(f"{schema.name}: the contract could not be applied to the batch: {problems}")
    check = cases["check"].astype(str).str.split("(").str[0].replace(_CHECK_NAMES)
    failures = pd.DataFrame({
        "row": cases["index"].astype(np.int64).to_numpy(), "check_name": check.to_numpy(dtype=object),
        "column_name": cases["column"].to_numpy(dtype=object),
        "failure_case": cases["failure_case"].to_numpy(dtype=object),
    })
    # A line-level check reports every column of a failing row: keep the one its contract names.
    line_level = failures["check_name"].isin(list(check_columns))
    if line_level.any():
        line = failures[line_level].drop_duplicates(["row", "check_name"]).copy()
        line["column_name"] = line["check_name"].map(check_columns)
        line["failure_case"] = [frame.at[row, column] for row, column in zip(line["row"], line["column_name"])]
        failures = pd.concat([failures[~line_level], line], ignore_index=True)
    return failures


def _refuse_broken_entity(entity, frame, failures, kinds, received, broken_json) -> None:
    """Raise ContractViolation when a defect is the entity's, not a record's (see module docstring)."""
    if received and broken_json == received:
        raise ContractViolation(
            f"{entity}: none of the {received:,} records is a JSON object; nothing was loaded. Check the extract."
        )
    rows = len(frame)
    if rows == 0:
        return
    problems = []
    counts = failures.drop_duplicates(["row", "check_name", "column_name"]).groupby(
        ["column_name", "check_name"]).size()
    for (column, check), count in counts.items():
        if check == "required" and count == rows:
            problems.append(f"{column} is missing in all {rows:,} records")
        elif check.startswith("json_"):
            present = int(frame[column].notna().sum())
            if count == present and present * 2 >= rows:
                seen = _json_type(frame[column].dropna().iloc[0])
                problems.append(f"{column} is {_article(seen)} in all {present:,} records that have it "
                                f"(the contract expects {_article(_JSON_KIND[kinds[column]])})")
    if problems:
        module_file = f"include/schemas/{_CONTRACT_MODULES[entity]}.py"
        raise ContractViolation(
            f"{entity}: the data breaks its contract as a whole, so nothing was loaded: {'; '.join(problems)}. "
            f"Sophos changed the API or the extract is wrong; if the change is intended, update {module_file}."
        )


def _article(json_type: str) -> str:
    return f"an {json_type}" if json_type[0] in "aeiou" else f"a {json_type}"


def _stage_rows(stage: Mapping[str, str], kinds: Mapping[str, str], rows: pd.DataFrame) -> pd.DataFrame:
    """Contract columns -> stage-table columns, typed for COPY (Decimal money, date dates, else as is)."""
    typed = {}
    for column, source in stage.items():
        values = rows[source].to_numpy(dtype=object)
        if kinds[source] == "money":
            values = _convert_distinct(values, Decimal)
        elif kinds[source] == "date":
            values = _convert_distinct(values, date.fromisoformat)
        typed[column] = values
    return pd.DataFrame(typed, dtype=object, copy=False)


def _convert_distinct(values: np.ndarray, convert) -> np.ndarray:
    """Convert each distinct value once; null stays None."""
    codes, uniques = pd.factorize(values)
    converted = np.empty(len(uniques) + 1, dtype=object)
    converted[:-1] = [convert(u) for u in uniques]
    converted[-1] = None
    return converted[codes]


def _failure_text(value: object) -> str | None:
    """The failing value as readable text: JSON for non-strings, control characters spelled out (PostgreSQL
    text cannot hold NUL), cut at _FAILURE_CASE_CHARS (the raw record keeps all of it)."""
    if value is None or (isinstance(value, float) and value != value):
        return None
    text = value if isinstance(value, str) else msgspec.json.encode(value).decode()
    text = _CONTROL.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
    return text if len(text) <= _FAILURE_CASE_CHARS else text[:_FAILURE_CASE_CHARS] + "…"


class _Clock:
    def __init__(self):
        self.laps: dict[str, float] = {}
        self._last = time.perf_counter()

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.laps[name] = round(now - self._last, 3)
        self._last = now


# --- the month's verdict -------------------------------------------------------------------------------------

def enforce_threshold(result: ValidationResult, threshold: float) -> None:
    """Refuse the batch when more than `threshold` (a share, 0.01 = 1 %) of its records were rejected."""
    if not result.received:
        return
    share = result.rejected_rows / result.received
    if share <= threshold:
        return
    reasons = []
    for check, count in list(result.rejected_by_check.items())[:3]:
        example = result.rejected[result.rejected["check_name"] == check].iloc[0]
        where = f"{example['column_name']}={example['failure_case']!r}" if example["column_name"] else ""
        reasons.append(f"{check} {count:,}" + (f" (e.g. {where})" if where else ""))
    raise RejectionThresholdExceeded(
        f"{result.entity}: {result.rejected_rows:,} of {result.received:,} records were rejected "
        f"({share:.2%}), above the {threshold:.2%} threshold; top reasons: {', '.join(reasons)}. "
        "Nothing was loaded: the month's data stays as it was. Ask Sophos to correct the report, or, if "
        "these records may be left out, raise SOPHOS_SYNC_REJECT_THRESHOLD and run the month again."
    )
