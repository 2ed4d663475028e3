"""Landing JSON -> one flat Arrow table of the contract's API fields, typed as the contract says.

Arrow's JSON reader turns a chunk of records into typed columns in C++, with the contract's fields as
its schema and nothing else: a field the contract does not know never becomes a column (with one, a
single record of 20,000 new keys made 20,000 columns as long as its chunk). The first read refuses such
fields; only a chunk that has them is read again ignoring them, and its records' keys are then listed one
record at a time to name the new fields (drift, at most UNKNOWN_NAMES_KEPT names, the rest counted). It
refuses a chunk that holds broken JSON or a value of another JSON type (5 where a string belongs); only
such a chunk is read again in pieces, and a refused piece record by record, which names each such value
(`json_integer`, ...). A Number field (a decimal) takes a JSON number or a decimal
string; both are read from their JSON text, never through float. Money stays a decimal string until
PostgreSQL's numeric, a date an ISO string until PostgreSQL's date.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from itertools import islice
from operator import itemgetter

import msgspec
import numpy as np
import pyarrow
import pyarrow.json as pjson

from sophos_sync.validation.raw_texts import RawTexts, utf8

_CHUNK = 50_000  # records per Arrow read: big enough for both cores, small enough to retry cheaply
_PIECE = 1_000  # a refused chunk is read again in pieces this big; a refused piece, record by record
_READ_OPTIONS = pjson.ReadOptions(block_size=4 << 20)
_NEWLINE, _OPEN_BRACE = ord("\n"), ord("{")
UNKNOWN_NAMES_KEPT = 100  # new fields named in the drift report; beyond these, only counted
# A record's keys, its values left unparsed: names the fields of a record the contract does not know.
_KEYS = msgspec.json.Decoder(dict[str, msgspec.Raw])
# Record by record, a JSON number with a fraction becomes a Decimal of its exact text (never a float).
_RECORD = msgspec.json.Decoder(float_hook=Decimal)
# A decimal string as Arrow's reader takes one on the fast path ("12.50", "-3", ".5", "1e2"; not " 1.4").
_DECIMAL_TEXT = re.compile(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?")
LANDING_TYPES = [("account", pyarrow.string()), ("tenantId", pyarrow.string())]


@dataclass
class Decoded:
    """A chunk of the batch after decoding: the records that are JSON objects as one flat table (the
    contract's API fields, plus `account` and `tenantId` of the landing record), the received position
    (in the whole batch) of each of its rows, and what could not be put in it."""

    table: pyarrow.Table
    positions: np.ndarray
    received: int  # records of the chunk
    raws: RawTexts  # of the whole batch so far
    broken: list[tuple[int, str]]  # (position, why): not JSON, or not an object
    wrong_types: list[tuple]  # (row of the chunk, column, check, value): a value of another JSON type
    objects: Counter  # per container path: the rows where it is an object
    unknown: list[str]  # fields the contract does not know (drift), in the batch so far: the first named
    unknown_more: int = 0  # further distinct such fields, beyond UNKNOWN_NAMES_KEPT


def _json_kind(arrow_type: pyarrow.DataType) -> str:
    if pyarrow.types.is_string(arrow_type):
        return "string"
    if pyarrow.types.is_integer(arrow_type):
        return "integer"
    if pyarrow.types.is_boolean(arrow_type):
        return "boolean"
    if pyarrow.types.is_decimal(arrow_type):
        return "number"
    raise ValueError(f"a contract column cannot be of type {arrow_type}")


_BIGINT = (-(2**63), 2**63 - 1)


def _is_json(kind: str, value: object) -> bool:
    """Python's bool is an int; JSON's is not. 5.0 is a float, not an integer."""
    if kind == "string":
        return type(value) is str
    if kind == "integer":
        return type(value) is int and _BIGINT[0] <= value <= _BIGINT[1]
    return type(value) is bool


def json_type(value: object) -> str:
    return {
        str: "string",
        int: "integer",
        float: "number",
        Decimal: "number",
        bool: "boolean",
        dict: "object",
        list: "array",
        type(None): "null",
    }.get(type(value), type(value).__name__)


class ColumnarDecoder:
    """JSON texts -> flat Arrow tables of the contract's fields, chunk by chunk (see the module docstring);
    one decoder per batch."""

    def __init__(self, fields: dict[str, pyarrow.DataType], ignored: Iterable[str] = ()):
        self.fields = fields
        self.ignored = frozenset(ignored)  # fields known and never read: not drift
        self.tree: dict = {}  # field name -> its Arrow type, or the tree of a container's fields
        for path, arrow_type in fields.items():
            *containers, name = path.split(".")
            node = self.tree
            for container in containers:
                node = node.setdefault(container, {})
            node[name] = arrow_type
        self.flat = pyarrow.schema(list(fields.items()))
        known = [pyarrow.field(n, _arrow_type(t)) for n, t in self.tree.items()]
        # Ignored fields are read as text by the first read only so that it refuses nothing but new
        # fields; one of another type (a tenant's contact object) sends its chunk to the second read.
        ignored_top = sorted({path.split(".")[0] for path in self.ignored} - set(self.tree))
        self._strict = pjson.ParseOptions(
            explicit_schema=pyarrow.schema([*known, *(pyarrow.field(n, pyarrow.string()) for n in ignored_top)]),
            unexpected_field_behavior="error",
        )
        self._lenient = pjson.ParseOptions(explicit_schema=pyarrow.schema(known), unexpected_field_behavior="ignore")
        self.raws = RawTexts()
        self.unknown: dict[str, None] = {}  # the first UNKNOWN_NAMES_KEPT new fields, in the order seen
        self._unknown_more: set[int] = set()  # hashes of the further ones: 8 bytes a name, not the name
        self._received = 0
        self._start_chunk()

    def _start_chunk(self) -> None:
        self.broken: list[tuple[int, str]] = []
        self.wrong_types: list[tuple] = []
        self.objects: Counter = Counter()
        self._parts: list[pyarrow.Table] = []
        self._positions: list[np.ndarray] = []
        self._rows = 0
        self._landing: tuple = ()  # the chunk's accounts and tenant ids (two Arrow arrays)

    def chunks(self, rows: Iterable[tuple[str, str | None, str]]) -> Iterator[Decoded]:
        """Records landed one per row (account, tenant id, JSON text), read chunk by chunk as they stream in."""
        rows = iter(rows)
        while chunk := list(islice(rows, _CHUNK)):
            # not zip(*chunk): that makes an iterator per record (measured: 7x as slow)
            accounts, tenants, texts = (list(map(itemgetter(n), chunk)) for n in range(3))
            # jsonb's text has no line break: joined by newlines, each text is one line
            yield self._read_chunk(
                utf8("\n".join(texts)),
                pyarrow.array(accounts, pyarrow.string()),
                pyarrow.array(tenants, pyarrow.string()),
            )

    def page_chunks(self, pages: Iterable[tuple[str, bytes]]) -> Iterator[Decoded]:
        """Records landed a page per row (account, JSON lines: one record per line), read chunk by chunk."""
        lines: list[bytes] = []
        accounts: list[str] = []
        counts: list[int] = []
        for account, page in pages:
            if not page:
                continue
            lines.append(page)
            accounts.append(account)
            counts.append(page.count(b"\n") + 1)
            if sum(counts) >= _CHUNK:
                yield self._read_pages(lines, accounts, counts)
                lines, accounts, counts = [], [], []
        if lines:
            yield self._read_pages(lines, accounts, counts)

    def _read_pages(self, lines: list[bytes], accounts: list[str], counts: list[int]) -> Decoded:
        of_each = pyarrow.array(np.repeat(np.arange(len(accounts)), counts))
        return self._read_chunk(
            b"\n".join(lines),
            pyarrow.array(accounts, pyarrow.string()).take(of_each),
            pyarrow.nulls(sum(counts), pyarrow.string()),
        )

    def _read_chunk(self, lines: bytes, accounts: pyarrow.Array, tenants: pyarrow.Array) -> Decoded:
        self._start_chunk()
        self._landing = (accounts, tenants)
        ends = np.append(np.flatnonzero(np.frombuffer(lines, dtype=np.uint8) == _NEWLINE), len(lines))
        self._read(lines, ends, 0)
        decoded = Decoded(
            table=pyarrow.concat_tables(self._parts)
            if self._parts
            else pyarrow.schema([*self.flat, *LANDING_TYPES]).empty_table(),
            positions=np.concatenate(self._positions) if self._positions else np.empty(0, dtype=np.int64),
            received=len(ends),
            raws=self.raws,
            broken=self.broken,
            wrong_types=self.wrong_types,
            objects=self.objects,
            unknown=sorted(self.unknown),
            unknown_more=len(self._unknown_more),
        )
        self._received += len(ends)
        return decoded

    def _read(self, lines: bytes, ends: np.ndarray, start: int) -> None:
        """The records of `lines` (JSON lines, each ending at its offset in `ends`), from offset `start` of
        the chunk: in one Arrow read, else in pieces, else one by one."""
        table = self._read_lines(lines, ends)
        if table is not None:
            self.raws.add_lines(self._received + start, lines, ends)
            self._add(self._flatten(table), start + np.arange(len(ends)))
        elif len(ends) > _PIECE:
            for offset in range(0, len(ends), _PIECE):
                begin = int(ends[offset - 1]) + 1 if offset else 0
                piece = ends[offset : offset + _PIECE]
                self._read(lines[begin : int(piece[-1])], piece - begin, start + offset)
        else:
            begins = np.concatenate([[0], ends[:-1] + 1]).tolist()
            texts = [lines[b:e].decode("utf-8", "surrogatepass") for b, e in zip(begins, ends.tolist(), strict=True)]
            self.raws.add_texts(self._received + start, texts)
            table, kept = self._read_one_by_one(texts, start)
            self._add(table, start + kept)

    def _add(self, table: pyarrow.Table, offsets: np.ndarray) -> None:
        """A piece's rows (the records at these offsets of the chunk) join the batch's table."""
        accounts, tenants = self._landing
        at = pyarrow.array(offsets, pyarrow.int64())
        self._parts.append(
            table.append_column("account", accounts.take(at)).append_column("tenantId", tenants.take(at))
        )
        self._positions.append(offsets + self._received)
        self._rows += len(offsets)

    def _read_lines(self, lines: bytes, ends: np.ndarray) -> pyarrow.Table | None:
        """The lines as a table in one Arrow read, or None when Arrow refuses them.

        Arrow reads every JSON value of a line as a row and skips blank lines, so each line must open an
        object: then each yields a row at least, and as many rows as lines means one row per line.
        """
        begins = np.concatenate([[0], ends[:-1] + 1])
        data = np.frombuffer(lines, dtype=np.uint8)
        if begins[-1] >= len(data) or not (data[begins] == _OPEN_BRACE).all():
            return None
        try:
            table = pjson.read_json(pyarrow.py_buffer(lines), read_options=_READ_OPTIONS, parse_options=self._strict)
        except pyarrow.ArrowInvalid:
            try:
                table = pjson.read_json(
                    pyarrow.py_buffer(lines), read_options=_READ_OPTIONS, parse_options=self._lenient
                )
            except pyarrow.ArrowInvalid:
                return None
            if table.num_rows == len(ends):
                self._note_unknown_keys(lines, begins, ends)
        return table if table.num_rows == len(ends) else None

    def _note_unknown_keys(self, lines: bytes, begins: np.ndarray, ends: np.ndarray) -> None:
        """The fields of these records (JSON objects, one a line) that the contract does not know."""
        for begin, end in zip(begins.tolist(), ends.tolist(), strict=True):
            self._note_unknown_in(lines[begin:end], "", self.tree)

    def _note_unknown_in(self, text: bytes, prefix: str, tree: dict) -> None:
        try:
            item = _KEYS.decode(text)
        except (msgspec.DecodeError, msgspec.ValidationError):
            return  # Arrow read it; a text only msgspec refuses names no field
        for key, value in item.items():
            node = tree.get(key)
            if isinstance(node, dict):
                container = bytes(value)
                if container.startswith(b"{"):
                    self._note_unknown_in(container, prefix + key + ".", node)
            elif node is None and prefix + key not in self.ignored:
                self._note_unknown(prefix + key)

    def _note_unknown(self, name: str) -> None:
        if name in self.unknown:
            return
        if len(self.unknown) < UNKNOWN_NAMES_KEPT:
            self.unknown[name] = None
        else:
            self._unknown_more.add(hash(name))

    def _flatten(self, table: pyarrow.Table) -> pyarrow.Table:
        """Struct columns -> one column per known field path; containers' objects counted."""
        columns: dict[str, pyarrow.ChunkedArray] = {}

        def visit(path: str, values: pyarrow.ChunkedArray, node) -> None:
            if not isinstance(node, dict):
                columns[path] = values
                return
            self.objects[path] += len(values) - values.null_count
            for child, child_values in zip(values.type, values.flatten(), strict=True):
                visit(f"{path}.{child.name}", child_values, node[child.name])

        for name in self.tree:
            visit(name, table.column(name), self.tree[name])
        return pyarrow.table([columns[name] for name in self.flat.names], schema=self.flat)

    def _read_one_by_one(self, texts: Sequence[str], start: int) -> tuple[pyarrow.Table, np.ndarray]:
        columns: dict[str, list] = {name: [] for name in self.fields}
        kept: list[int] = []
        for offset, text in enumerate(texts):
            position = self._received + start + offset
            try:
                item = _RECORD.decode(text)
            except msgspec.DecodeError as exc:
                self.broken.append((position, f"not valid JSON: {exc}"))
                continue
            if type(item) is not dict:
                self.broken.append((position, f"expected a JSON object, got {json_type(item)}"))
                continue
            self._walk(item, "", self.tree, self._rows + len(kept), columns)
            kept.append(offset)
        return pyarrow.table(columns, schema=self.flat), np.asarray(kept, dtype=np.int64)

    def _walk(self, item: dict, prefix: str, tree: dict, row: int, columns: dict[str, list]) -> None:
        """One record's values into `columns`; a value of another JSON type is noted and left null."""
        for key in item:
            if key not in tree and prefix + key not in self.ignored:
                self._note_unknown(prefix + key)
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
            if kind == "number" and value is not None:
                value = _decimal(value, node)
                if value is None:
                    self.wrong_types.append((row, path, "json_number", item.get(name)))
            elif value is not None and not _is_json(kind, value):
                self.wrong_types.append((row, path, f"json_{kind}", value))
                value = None
            columns[path].append(value)


def _arrow_type(node) -> pyarrow.DataType:
    if isinstance(node, dict):
        return pyarrow.struct([pyarrow.field(name, _arrow_type(child)) for name, child in node.items()])
    return node


def _decimal(value: object, arrow_type: pyarrow.Decimal128Type) -> Decimal | None:
    """A JSON number or decimal string as the exact Decimal the column holds, or None when it cannot hold it."""
    if type(value) is int or type(value) is Decimal or type(value) is str and _DECIMAL_TEXT.fullmatch(value):
        number = Decimal(value)
    else:
        return None
    try:
        held = number.quantize(Decimal(1).scaleb(-arrow_type.scale))
    except InvalidOperation:
        return None
    if held != number or abs(held) >= 10 ** (arrow_type.precision - arrow_type.scale):
        return None
    return held
