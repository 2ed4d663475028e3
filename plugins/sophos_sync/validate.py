"""Landing records -> data contracts (include/schemas) -> stage rows, rejected rows with reasons, drift.

    result = validate("billing_usage", rows)   # rows: (account, tenant_id, raw JSON text)
    enforce_threshold(result, settings.REJECT_THRESHOLD)

Per record, one of three things happens: it becomes a stage row (`valid`), it is folded into an
identical copy of itself (`collapsed_duplicates`), or it is rejected with one row per failed check in
`rejected`. A defect that breaks a whole entity (a required field missing from every record, a field
whose JSON type changed in every record) raises ContractViolation instead: nothing is loaded. Fields
the contract does not know are reported as drift (`unknown_fields`), never rejected.

Decoding is columnar: Arrow's JSON reader turns a chunk of records into typed columns in C++, with the
contract's fields as its schema. It refuses a chunk that holds broken JSON or a value of another JSON
type (5 where a string belongs); only such a chunk is read again in pieces, and a refused piece record
by record, which names each such value (`json_integer`, ...). `valid` holds Arrow-backed columns:
money stays a decimal string until PostgreSQL's numeric (nothing passes through float), a date an ISO
string until PostgreSQL's date.
"""
from __future__ import annotations

import importlib
import importlib.util
import logging
import re
import sys
import time
from bisect import bisect_right
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from itertools import chain, islice
from operator import itemgetter, methodcaller
from types import ModuleType

import msgspec
import numpy as np
import pandas as pd
import pandera.pandas as pa
import pyarrow
import pyarrow.compute as pc
import pyarrow.json as pjson

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

_CHUNK = 50_000  # records per Arrow read: big enough for both cores, small enough to retry cheaply
_PIECE = 1_000   # a refused chunk is read again in pieces this big; a refused piece, record by record
_MAX_SLICES = 10_000  # valid rows are kept as slices of the decoded table up to this many runs
_READ_OPTIONS = pjson.ReadOptions(block_size=4 << 20)
# How JSON text can spell a control character: an escape ("\n", "\u0000"), a raw DEL or a raw C1
# control (UTF-8 lead byte C2); a raw C0 control is no JSON, which Arrow refuses. A chunk with none of
# these bytes has no control character in any of its values.
_CONTROL_BYTES = (b"\\", b"\x7f", b"\xc2")
_LZ4 = pyarrow.Codec("lz4")
_RAW_BLOCK = 128  # raw texts compressed together
_OPENS_OBJECT = methodcaller("startswith", "{")


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


def _api_fields(entity: str) -> dict[str, pyarrow.DataType]:
    """The contract's API fields (dotted paths for nested ones) and the Arrow type of each."""
    return {name: column.dtype.type.pyarrow_dtype for name, column in _schema(entity).columns.items()
            if name not in _ADDED}


STAGE_COLUMNS: dict[str, list[str]] = {entity: list(contract(entity).STAGE) for entity in ENTITIES}


@dataclass
class ValidationResult:
    entity: str
    valid: pd.DataFrame  # STAGE_COLUMNS, Arrow-backed
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


def _natural_keys(columns: Mapping[str, pyarrow.ChunkedArray], names: Sequence[str],
                  wrong_types: Sequence[tuple]) -> pyarrow.ChunkedArray:
    """line_key_of every row, in Arrow."""
    parts = [columns[name].fill_null("") for name in names]
    keys = _joined(parts)
    if pc.any(pc.match_substring(keys, "\\")).as_py() or \
            (pc.sum(pc.count_substring(keys, "|")).as_py() or 0) != (len(names) - 1) * len(keys):
        keys = _joined([pc.replace_substring(pc.replace_substring(part, "\\", "\\\\"), "|", "\\|")
                        for part in parts])  # some value holds a separator: escape as _key_part does
    # A value of the wrong JSON type is null in its column; the key still spells it, as line_key does.
    misfits = {(row, column): value for row, column, _, value in wrong_types if column in names}
    if misfits:
        rows = sorted({row for row, _ in misfits})
        spelled = [line_key_of(misfits.get((row, name), columns[name][row].as_py()) for name in names)
                   for row in rows]
        mask = np.zeros(len(keys), dtype=bool)
        mask[rows] = True
        keys = pyarrow.chunked_array([pc.replace_with_mask(keys.combine_chunks(), pyarrow.array(mask),
                                                           pyarrow.array(spelled, pyarrow.string()))])
    return keys


def _joined(parts: list[pyarrow.ChunkedArray]) -> pyarrow.ChunkedArray:
    return parts[0] if len(parts) == 1 else pc.binary_join_element_wise(*parts, "|")


# --- decoding ------------------------------------------------------------------------------------------------

class _RawTexts:
    """The batch's raw JSON texts, read again only for the few records that are rejected or duplicated.
    As text a month of billing lines is about 850 MB, more than everything else validation holds, so
    they are kept LZ4-compressed (about a tenth of that) in small blocks: rejected records are scattered
    over the month, and only the blocks that hold one are decompressed again."""

    def __init__(self) -> None:
        # per block: (compressed lines, their size, where each text ends), or the texts themselves
        self._blocks: list[tuple[bytes, int, np.ndarray] | list[str]] = []
        self._starts: list[int] = []  # position of each block's first record

    def add_lines(self, start: int, lines: bytes, texts: Sequence[str]) -> None:
        """`texts` joined by newlines as `lines`."""
        lengths = np.fromiter(map(len, texts), dtype=np.int64, count=len(texts))
        if lengths.sum() + len(texts) - 1 != len(lines):  # not all ASCII: count the bytes
            lengths = np.fromiter(map(len, map(_utf8, texts)), dtype=np.int64, count=len(texts))
        ends = np.cumsum(lengths + 1) - 1
        view = memoryview(lines)
        for first in range(0, len(texts), _RAW_BLOCK):
            begin = int(ends[first - 1]) + 1 if first else 0
            block_ends = ends[first:first + _RAW_BLOCK] - begin
            self._starts.append(start + first)
            self._blocks.append((_LZ4.compress(view[begin:begin + int(block_ends[-1])], asbytes=True),
                                 int(block_ends[-1]), block_ends))

    def add_texts(self, start: int, texts: Sequence[str]) -> None:
        self._starts.append(start)
        self._blocks.append(list(texts))

    def get(self, positions: Iterable[int]) -> dict[int, str]:
        """The texts at these positions; one block decompressed at a time."""
        found: dict[int, str] = {}
        wanted = sorted(set(positions))
        i = 0
        while i < len(wanted):
            block = bisect_right(self._starts, wanted[i]) - 1
            first, texts = self._starts[block], self._texts(block)
            while i < len(wanted) and wanted[i] < first + len(texts):
                found[wanted[i]] = texts[wanted[i] - first]
                i += 1
        return found

    def _texts(self, block: int) -> Sequence[str]:
        stored = self._blocks[block]
        if isinstance(stored, list):
            return stored
        compressed, size, ends = stored
        return _Lines(_LZ4.decompress(compressed, decompressed_size=size, asbytes=True), ends)


def _utf8(text: str) -> bytes:
    # surrogatepass: whatever str came in comes back out, even a lone surrogate in broken input
    return text.encode("utf-8", "surrogatepass")


@dataclass
class _Lines:
    """The lines of a decompressed chunk, each decoded only when asked for."""
    lines: bytes
    ends: np.ndarray

    def __len__(self) -> int:
        return len(self.ends)

    def __getitem__(self, at: int) -> str:
        start = int(self.ends[at - 1]) + 1 if at else 0
        return self.lines[start:int(self.ends[at])].decode("utf-8", "surrogatepass")


@dataclass
class _Decoded:
    """A batch after decoding: the records that are JSON objects as one flat table (the contract's API
    fields, plus `account` and `tenantId` of the landing record), the received position of each of
    its rows, and what could not be put in it."""
    table: pyarrow.Table
    positions: np.ndarray
    received: int
    raws: _RawTexts
    broken: list[tuple[int, str]]         # (position, why): not JSON, or not an object
    wrong_types: list[tuple]              # (row, column, check, value): a value of another JSON type
    objects: Counter                      # per container path: the rows where it is an object
    unknown: list[str]                    # fields the contract does not know (drift)
    control_rows: np.ndarray              # rows whose JSON may hold a control character


def _json_kind(arrow_type: pyarrow.DataType) -> str:
    if pyarrow.types.is_string(arrow_type):
        return "string"
    if pyarrow.types.is_integer(arrow_type):
        return "integer"
    if pyarrow.types.is_boolean(arrow_type):
        return "boolean"
    raise ValueError(f"a contract column cannot be of type {arrow_type}")


_BIGINT = (-(2**63), 2**63 - 1)


def _is_json(kind: str, value: object) -> bool:
    """Python's bool is an int; JSON's is not. 5.0 is a float, not an integer."""
    if kind == "string":
        return type(value) is str
    if kind == "integer":
        return type(value) is int and _BIGINT[0] <= value <= _BIGINT[1]
    return type(value) is bool


def _json_type(value: object) -> str:
    return {str: "string", int: "integer", float: "number", bool: "boolean", dict: "object",
            list: "array", type(None): "null"}.get(type(value), type(value).__name__)


class _ColumnarDecoder:
    """JSON texts -> one flat Arrow table of the contract's fields (see the module docstring); one
    decoder per batch."""

    def __init__(self, fields: dict[str, pyarrow.DataType]):
        self.fields = fields
        self.tree: dict = {}  # field name -> its Arrow type, or the tree of a container's fields
        for path, arrow_type in fields.items():
            *containers, name = path.split(".")
            node = self.tree
            for container in containers:
                node = node.setdefault(container, {})
            node[name] = arrow_type
        self.flat = pyarrow.schema(list(fields.items()))
        self._parse = pjson.ParseOptions(
            explicit_schema=pyarrow.schema([pyarrow.field(n, _arrow_type(t)) for n, t in self.tree.items()]),
            unexpected_field_behavior="infer",
        )
        self.raws = _RawTexts()
        self.broken: list[tuple[int, str]] = []
        self.wrong_types: list[tuple] = []
        self.objects: Counter = Counter()
        self.unknown: set[str] = set()
        self._parts: list[pyarrow.Table] = []
        self._positions: list[np.ndarray] = []
        self._control_rows: list[np.ndarray] = []
        self._received = self._rows = 0
        self._landing: tuple[pyarrow.Array, pyarrow.Array] = ()  # the chunk's accounts and tenant ids

    def decode(self, rows: Iterable[tuple[str, str | None, str]]) -> _Decoded:
        """The batch read once, chunk by chunk, as it streams in."""
        rows = iter(rows)
        while chunk := list(islice(rows, _CHUNK)):
            # not zip(*chunk): that makes an iterator per record (measured: 7x as slow)
            accounts, tenants, texts = (list(map(itemgetter(n), chunk)) for n in range(3))
            self._landing = (pyarrow.array(accounts, pyarrow.string()), pyarrow.array(tenants, pyarrow.string()))
            self._read(texts, 0)
            self._received += len(texts)
        landing = [("account", pyarrow.string()), ("tenantId", pyarrow.string())]
        return _Decoded(
            table=pyarrow.concat_tables(self._parts) if self._parts else
            pyarrow.schema([*self.flat, *landing]).empty_table(),
            positions=np.concatenate(self._positions) if self._positions else np.empty(0, dtype=np.int64),
            received=self._received, raws=self.raws, broken=self.broken, wrong_types=self.wrong_types,
            objects=self.objects, unknown=sorted(self.unknown),
            control_rows=np.concatenate(self._control_rows) if self._control_rows else np.empty(0, dtype=bool),
        )

    def _read(self, texts: Sequence[str], start: int) -> None:
        """The texts from offset `start` of the chunk: in one Arrow read, else in pieces, else one by one."""
        lines = _utf8("\n".join(texts))
        table = self._read_lines(lines, texts)
        if table is not None:
            self.raws.add_lines(self._received + start, lines, texts)
            self._add(self._flatten(table), start + np.arange(len(texts)),
                      may_hold_controls=any(sign in lines for sign in _CONTROL_BYTES))
        elif len(texts) > _PIECE:
            for offset in range(0, len(texts), _PIECE):
                self._read(texts[offset:offset + _PIECE], start + offset)
        else:
            self.raws.add_texts(self._received + start, texts)
            table, kept = self._read_one_by_one(texts, start)
            self._add(table, start + kept, may_hold_controls=True)

    def _add(self, table: pyarrow.Table, offsets: np.ndarray, may_hold_controls: bool) -> None:
        """A piece's rows (the records at these offsets of the chunk) join the batch's table."""
        accounts, tenants = self._landing
        at = pyarrow.array(offsets, pyarrow.int64())
        self._parts.append(table.append_column("account", accounts.take(at)).append_column("tenantId", tenants.take(at)))
        self._positions.append(offsets + self._received)
        self._control_rows.append(np.full(len(offsets), may_hold_controls))
        self._rows += len(offsets)

    def _read_lines(self, lines: bytes, texts: Sequence[str]) -> pyarrow.Table | None:
        """The texts as a table in one Arrow read, or None when Arrow refuses them.

        Arrow reads every JSON value of a line as a row and skips blank lines, so each text must open an
        object: then each yields a row at least, and as many rows as texts means one row per text.
        """
        if not all(map(_OPENS_OBJECT, texts)):
            return None
        try:
            table = pjson.read_json(pyarrow.py_buffer(lines), read_options=_READ_OPTIONS,
                                    parse_options=self._parse)
        except pyarrow.ArrowInvalid:
            return None
        return table if table.num_rows == len(texts) else None

    def _flatten(self, table: pyarrow.Table) -> pyarrow.Table:
        """Struct columns -> one column per known field path; containers' objects counted, unknown fields
        noted as drift."""
        columns: dict[str, pyarrow.ChunkedArray] = {}

        def visit(path: str, values: pyarrow.ChunkedArray, node) -> None:
            if not isinstance(node, dict):
                columns[path] = values
                return
            self.objects[path] += len(values) - values.null_count
            for child, child_values in zip(values.type, values.flatten()):
                if child.name in node:
                    visit(f"{path}.{child.name}", child_values, node[child.name])
                else:
                    self.unknown.add(f"{path}.{child.name}")

        for name in table.column_names:
            if name in self.tree:
                visit(name, table.column(name), self.tree[name])
            else:
                self.unknown.add(name)
        return pyarrow.table([columns[name] for name in self.flat.names], schema=self.flat)

    def _read_one_by_one(self, texts: Sequence[str], start: int) -> tuple[pyarrow.Table, np.ndarray]:
        columns: dict[str, list] = {name: [] for name in self.fields}
        kept: list[int] = []
        for offset, text in enumerate(texts):
            position = self._received + start + offset
            try:
                item = msgspec.json.decode(text)
            except msgspec.DecodeError as exc:
                self.broken.append((position, f"not valid JSON: {exc}"))
                continue
            if type(item) is not dict:
                self.broken.append((position, f"expected a JSON object, got {_json_type(item)}"))
                continue
            self._walk(item, "", self.tree, self._rows + len(kept), columns)
            kept.append(offset)
        return pyarrow.table(columns, schema=self.flat), np.asarray(kept, dtype=np.int64)

    def _walk(self, item: dict, prefix: str, tree: dict, row: int, columns: dict[str, list]) -> None:
        """One record's values into `columns`; a value of another JSON type is noted and left null."""
        self.unknown.update(prefix + key for key in item if key not in tree)
        for name, node in tree.items():
            path, value = prefix + name, item.get(name)
            if isinstance(node, dict):
                if type(value) is dict:
                    self.objects[path] += 1
                    self._walk(value, path + ".", node, row, columns)
                    continue
                if value is not None:
                    self.wrong_types.append((row, path, "json_object", value))
                for leaf in self.fields:
                    if leaf.startswith(path + "."):
                        columns[leaf].append(None)
                continue
            kind = _json_kind(node)
            if value is not None and not _is_json(kind, value):
                self.wrong_types.append((row, path, f"json_{kind}", value))
                value = None
            columns[path].append(value)


def _arrow_type(node) -> pyarrow.DataType:
    if isinstance(node, dict):
        return pyarrow.struct([pyarrow.field(name, _arrow_type(child)) for name, child in node.items()])
    return node


# --- the steps of validate -----------------------------------------------------------------------------------

def validate(entity: str, rows: Iterable[tuple[str, str | None, str]]) -> ValidationResult:
    """Check every record of one entity against its contract (see the module docstring)."""
    clock = _Clock()
    module, schema = contract(entity), _schema(entity)
    batch = _ColumnarDecoder(_api_fields(entity)).decode(rows)
    columns = {name: batch.table.column(name) for name in batch.table.column_names}
    if "currency" in schema.columns:
        columns["currency"] = pc.coalesce(columns["netPriceCurrency"], columns["unitPriceCurrency"])
    keys = _natural_keys(columns, module.NATURAL_KEY, batch.wrong_types)
    if "lineKey" in schema.columns:
        columns["lineKey"] = keys
    frame = pyarrow.table({name: columns[name] for name in schema.columns}).to_pandas(types_mapper=pd.ArrowDtype)
    clock.lap("decode")

    failures = _run_contract(schema, frame, getattr(module, "CHECK_COLUMNS", {}), batch.control_rows)
    failures = _with_wrong_types(failures, batch.wrong_types)
    clock.lap("checks")

    # Raw texts are read back once, for every record that is rejected or has a copy.
    copies = _copies(keys)
    failed = failures["row"].to_numpy(dtype=np.int64)
    again = np.concatenate([failed, np.fromiter(chain.from_iterable(copies), dtype=np.int64)])
    raws = batch.raws.get(batch.positions[again].tolist() + [p for p, _ in batch.broken])
    folded, conflicting = _fold(copies, batch, raws)
    failures = failures[~folded[failed]]
    _refuse_broken_entity(entity, frame, failures, batch, folded)
    key_column = "lineKey" if "lineKey" in schema.columns else module.NATURAL_KEY[0]
    conflicts = _failures(conflicting, ["conflicting_duplicate"] * len(conflicting), [key_column] * len(conflicting),
                          keys.take(pyarrow.array(conflicting, pyarrow.int64())).to_pylist())
    failures = pd.concat([failures, conflicts], ignore_index=True) if len(conflicts) else failures
    clock.lap("duplicates")

    rejected_row = np.zeros(len(frame), dtype=bool)
    rejected_row[failures["row"].to_numpy(dtype=np.int64)] = True
    staged = pyarrow.table({stage: columns[source] for stage, source in module.STAGE.items()})
    valid = _rows_kept(staged, ~rejected_row & ~folded).to_pandas(types_mapper=pd.ArrowDtype)
    clock.lap("stage")

    failed = failures["row"].to_numpy(dtype=np.int64)
    rejected = pd.concat([
        pd.DataFrame({
            "source_key": keys.take(pyarrow.array(failed)).to_pylist(),
            "check_name": failures["check_name"].to_numpy(dtype=object),
            "column_name": failures["column_name"].to_numpy(dtype=object),
            "failure_case": [_failure_text(v) for v in failures["failure_case"]],
            "raw": [raws[p] for p in batch.positions[failed].tolist()],
        }, dtype=object),
        pd.DataFrame({
            "source_key": [None] * len(batch.broken), "check_name": ["invalid_json"] * len(batch.broken),
            "column_name": [None] * len(batch.broken),
            "failure_case": [_failure_text(e) for _, e in batch.broken],
            # rejected_records.raw is jsonb: text that is not JSON is kept as a JSON string.
            "raw": [msgspec.json.encode(raws[p]).decode() if "not valid JSON" in e else raws[p]
                    for p, e in batch.broken],
        }, dtype=object),
    ], ignore_index=True)
    by_check = Counter(failures.drop_duplicates(["row", "check_name"])["check_name"])
    by_check.update("invalid_json" for _ in batch.broken)
    return ValidationResult(
        entity=entity, valid=valid, rejected=rejected[REJECTED_COLUMNS], received=batch.received,
        collapsed_duplicates=int(folded.sum()), unknown_fields=batch.unknown,
        rejected_by_check=dict(by_check.most_common()),
        rejected_rows=int(rejected_row.sum()) + len(batch.broken), seconds=clock.laps,
    )


def _rows_kept(table: pyarrow.Table, keep: np.ndarray) -> pyarrow.Table:
    """The rows of `table` where `keep` is true. A month has a few rejected rows among a million: the
    runs between them are slices that share the table's memory, where a filter would copy all of it."""
    edges = np.flatnonzero(np.diff(np.concatenate([[False], keep, [False]]).astype(np.int8)))
    if len(edges) > 2 * _MAX_SLICES:
        return table.filter(pyarrow.array(keep))
    runs = [table.slice(start, stop - start) for start, stop in zip(edges[::2].tolist(), edges[1::2].tolist())]
    return pyarrow.concat_tables(runs) if runs else table.slice(0, 0)


def _copies(keys: pyarrow.ChunkedArray) -> list[list[int]]:
    """The rows of each natural key that more than one record has (sorting: measured twice as fast as
    hashing a million distinct keys)."""
    if len(keys) < 2:
        return []
    order = pc.sort_indices(keys).to_numpy().astype(np.int64)
    ordered = keys.take(pyarrow.array(order))
    same = pc.equal(ordered.slice(1), ordered.slice(0, len(keys) - 1)).to_numpy(zero_copy_only=False)
    if not same.any():
        return []
    group = np.concatenate([[0], np.cumsum(~same)])  # group number of each sorted row
    repeated = np.concatenate([[False], same]) | np.concatenate([same, [False]])
    rows, groups = order[repeated], group[repeated]
    return [sorted(rows.tolist()) for rows in np.split(rows, np.flatnonzero(np.diff(groups)) + 1)]


def _fold(copies: list[list[int]], batch: _Decoded, raws: dict[int, str]) -> tuple[np.ndarray, list[int]]:
    """Identical copies of a record (same key, same JSON, same tenant) are kept once: every copy but the
    first is `folded`. Copies that differ all stay, to be rejected together: their rows are returned."""
    folded = np.zeros(batch.table.num_rows, dtype=bool)
    conflicting: list[int] = []
    tenants = batch.table.column("tenantId")
    for rows in copies:
        contents = [(tenants[r].as_py(), msgspec.json.decode(raws[batch.positions[r]])) for r in rows]
        if all(content == contents[0] for content in contents[1:]):
            folded[rows[1:]] = True
        else:
            conflicting.extend(rows)
    return folded, sorted(conflicting)


def _run_contract(schema: pa.DataFrameSchema, frame: pd.DataFrame, check_columns: dict[str, str],
                  control_rows: np.ndarray) -> pd.DataFrame:
    """All failures of the batch at once: one row per (row, check, column) with the failing value."""
    checks = sys.modules[f"{_PACKAGE}.checks"]
    try:
        with checks.control_characters_only_in(control_rows):
            schema.validate(frame, lazy=True, inplace=True)
        return _failures([], [], [], [])
    except pa.errors.SchemaErrors as exc:
        cases = exc.failure_cases
    if cases["index"].isna().any():
        problems = cases[cases["index"].isna()][["column", "check"]].drop_duplicates().to_dict("records")
        raise ContractViolation(f"{schema.name}: the contract could not be applied to the batch: {problems}")
    check = cases["check"].astype(str).str.split("(").str[0].replace(_CHECK_NAMES)
    failures = _failures(cases["index"], check, cases["column"], cases["failure_case"])
    # A line-level check reports every column of a failing row: keep the one its contract names.
    line_level = failures["check_name"].isin(list(check_columns))
    if line_level.any():
        line = failures[line_level].drop_duplicates(["row", "check_name"]).copy()
        line["column_name"] = line["check_name"].map(check_columns)
        line["failure_case"] = [frame.at[row, column] for row, column in zip(line["row"], line["column_name"])]
        failures = pd.concat([failures[~line_level], line], ignore_index=True)
    return failures


def _failures(rows, checks, columns, cases) -> pd.DataFrame:
    return pd.DataFrame({
        "row": np.asarray(rows, dtype=np.int64), "check_name": np.asarray(checks, dtype=object),
        "column_name": np.asarray(columns, dtype=object), "failure_case": np.asarray(cases, dtype=object),
    })


def _with_wrong_types(failures: pd.DataFrame, wrong_types: Sequence[tuple]) -> pd.DataFrame:
    """The values decoding found of another JSON type, as failures; the column holds null for them,
    which is not also a missing required value."""
    if not wrong_types:
        return failures
    rows, columns, checks, values = zip(*wrong_types)
    misfit = set(zip(rows, columns))
    missing = failures["check_name"] == "required"
    counted_twice = missing & pd.Series([(r, c) in misfit for r, c in zip(failures["row"], failures["column_name"])],
                                        index=failures.index, dtype=bool)
    values = np.empty(len(values), dtype=object)
    values[:] = [value for *_, value in wrong_types]
    return pd.concat([failures[~counted_twice], _failures(rows, checks, columns, values)], ignore_index=True)


def _refuse_broken_entity(entity: str, frame: pd.DataFrame, failures: pd.DataFrame, batch: _Decoded,
                          folded: np.ndarray) -> None:
    """Raise ContractViolation when a defect is the entity's, not a record's (see module docstring)."""
    if batch.received and len(batch.broken) == batch.received:
        raise ContractViolation(
            f"{entity}: none of the {batch.received:,} records is a JSON object; nothing was loaded. "
            "Check the extract."
        )
    rows = len(frame) - int(folded.sum())
    if rows == 0:
        return
    problems = []
    counts = failures.drop_duplicates(["row", "check_name", "column_name"]).groupby(
        ["column_name", "check_name"]).size()
    for (column, check), count in counts.items():
        if check == "required" and count == rows:
            problems.append(f"{column} is missing in all {rows:,} records")
        elif check.startswith("json_"):
            held = batch.objects[column] if column not in frame else int(frame[column][~folded].notna().sum())
            present = held + count  # a value of the wrong type is null in its column
            if held == 0 and present * 2 >= rows:
                seen = failures[(failures["column_name"] == column) & (failures["check_name"] == check)]
                problems.append(f"{column} is {_article(_json_type(seen['failure_case'].iloc[0]))} in all "
                                f"{present:,} records that have it (the contract expects "
                                f"{_article(check.removeprefix('json_'))})")
    if problems:
        module_file = f"include/schemas/{_CONTRACT_MODULES[entity]}.py"
        raise ContractViolation(
            f"{entity}: the data breaks its contract as a whole, so nothing was loaded: {'; '.join(problems)}. "
            f"Sophos changed the API or the extract is wrong; if the change is intended, update {module_file}."
        )


def _article(json_type: str) -> str:
    return f"an {json_type}" if json_type[0] in "aeiou" else f"a {json_type}"


def _failure_text(value: object) -> str | None:
    """The failing value as readable text: JSON for non-strings, control characters spelled out (PostgreSQL
    text cannot hold NUL), cut at _FAILURE_CASE_CHARS (the raw record keeps all of it)."""
    if value is None or value is pd.NA:
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
