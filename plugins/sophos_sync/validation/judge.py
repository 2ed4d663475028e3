"""Landing records -> data contracts (include/schemas) -> stage rows, rejected rows with reasons, drift.

    result = validate("billing_usage", rows)   # rows: (account, tenant_id, raw JSON text)
    enforce_threshold(result, settings.REJECT_THRESHOLD)

Per record, one of three things happens: it becomes a stage row (`valid`), it is folded into an
identical copy of itself (`collapsed_duplicates`), or it is rejected with one row per failed check in
`rejected`. A defect that breaks a whole entity (a required field missing from every record, a critical
field whose JSON type changed in every record) raises ContractViolation instead: nothing is loaded.
Fields the contract does not know (`unknown_fields`), and informational fields whose JSON type changed
(`type_drift`), are drift: reported, never rejected.

The jobs are the other modules of this package (decoding, raw texts, keys and duplicates, the verdict);
this module runs them in order. `valid` holds Arrow-backed columns: money stays a decimal string until
PostgreSQL's numeric (nothing passes through float), a date an ISO string until PostgreSQL's date.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from itertools import chain

import numpy as np
import pandas as pd
import pyarrow
import pyarrow.compute as pc

from sophos_sync.entities import ENTITIES
from sophos_sync.errors import RejectionThresholdExceeded
from sophos_sync.validation.contracts import api_fields, contract, stage_columns, stage_key
from sophos_sync.validation.decode import ColumnarDecoder, Decoded
from sophos_sync.validation.keys import copies, fold, natural_keys
from sophos_sync.validation.raw_texts import RawTexts
from sophos_sync.validation.verdict import (
    failures_frame,
    refuse_broken_entity,
    rejected_rows,
    run_contract,
    type_drift,
    with_wrong_types,
    without_drifted,
)

_MAX_SLICES = 10_000  # valid rows are kept as slices of the decoded table up to this many runs

STAGE_COLUMNS: dict[str, list[str]] = {entity.name: stage_columns(entity.name) for entity in ENTITIES}
# The stage column that holds each entity's key (ValidationResult.unstage names its values).
STAGE_KEYS: dict[str, str] = {entity.name: stage_key(entity.name) for entity in ENTITIES}


@dataclass
class ValidationResult:
    entity: str
    valid: pd.DataFrame  # STAGE_COLUMNS, Arrow-backed
    rejected: pd.DataFrame
    received: int
    collapsed_duplicates: int
    unknown_fields: list[str]  # at most decode.UNKNOWN_NAMES_KEPT names
    rejected_by_check: dict[str, int]
    rejected_rows: int = 0  # records rejected, each counted once however many checks it failed
    type_drift: list[dict] = field(default_factory=list)  # informational fields of another JSON type
    seconds: dict[str, float] = field(default_factory=dict)
    valid_rows: int = 0  # the records staged (also when `valid` is not kept)
    unstage: list[str] = field(default_factory=list)  # keys of staged rows to take out again (validate_pages)
    unknown_fields_more: int = 0  # further distinct fields the contract does not know, beyond unknown_fields

    def counts(self) -> dict:
        """The run report's figures for this entity (sophos.sync_runs.counts)."""
        counts = {
            "received": self.received,
            "valid": self.valid_rows,
            "rejected": self.rejected_rows,
            "collapsed_duplicates": self.collapsed_duplicates,
            "rejected_by_check": self.rejected_by_check,
            "unknown_fields": self.unknown_fields,
        }
        if self.unknown_fields_more:
            counts["unknown_fields_more"] = self.unknown_fields_more
        if self.type_drift:
            counts["type_drift"] = self.type_drift
        return counts


def validate(
    entity: str,
    rows: Iterable[tuple[str, str | None, str]],
    contract_currencies: Mapping[str, str | None] | None = None,
) -> ValidationResult:
    """Check every record of one entity, landed one per row (account, tenant id, JSON text), against its
    contract (see the module docstring); `valid` holds the stage rows. `contract_currencies` gives each
    Sophos connection's contract currency, where the contract reads it (contractCurrency)."""
    return _in_memory(entity, _decoder(entity).chunks(rows), contract_currencies or {})


def validate_pages(
    entity: str,
    pages: Iterable[tuple[str, bytes]],
    stage: Callable[[pyarrow.Table], None] | None = None,
    contract_currencies: Mapping[str, str | None] | None = None,
) -> ValidationResult:
    """validate() for records landed a page per row (account, JSON lines: one record per line).

    With `stage`, memory does not grow with the batch: each chunk's stage rows (a table of STAGE_COLUMNS)
    are handed to `stage` as soon as they are judged, and `valid` stays empty. A record with a copy
    later in the batch may have been staged before the copy showed it conflicts: `unstage` holds the
    keys whose staged row must go again (the stage table's key column, STAGE_KEYS).
    """
    if stage is None:
        return _in_memory(entity, _decoder(entity).page_chunks(pages), contract_currencies or {})
    return _judged(entity, _decoder(entity).page_chunks(pages), stage, contract_currencies or {})


def _decoder(entity: str) -> ColumnarDecoder:
    return ColumnarDecoder(api_fields(entity), contract(entity).ignored)


def _in_memory(
    entity: str, chunks: Iterable[Decoded], contract_currencies: Mapping[str, str | None]
) -> ValidationResult:
    staged: list[pyarrow.Table] = []
    result = _judged(entity, chunks, staged.append, contract_currencies)
    table = (
        pyarrow.concat_tables(staged)
        if staged
        else pyarrow.table({name: pyarrow.array([], pyarrow.null()) for name in STAGE_COLUMNS[entity]})
    )
    if result.unstage:
        table = table.filter(
            pc.invert(
                pc.is_in(table.column(STAGE_KEYS[entity]), value_set=pyarrow.array(result.unstage, pyarrow.string()))
            )
        )
    result.valid = table.to_pandas(types_mapper=pd.ArrowDtype)
    result.unstage = []
    return result


def _judged(
    entity: str,
    chunks: Iterable[Decoded],
    stage: Callable[[pyarrow.Table], None],
    contract_currencies: Mapping[str, str | None],
) -> ValidationResult:
    """Each chunk decoded, checked and its first copies of each key staged; then the batch's verdict."""
    clock = _Clock()
    rules = contract(entity)
    contract_schema = rules.schema
    batch = _Batch()
    for chunk in chunks:
        columns = {name: chunk.table.column(name) for name in chunk.table.column_names}
        if "contractCurrency" in contract_schema.columns:
            columns["contractCurrency"] = _by_account(columns["account"], contract_currencies)
        wrong_types, drift, drifted = type_drift(chunk.wrong_types, rules.informational, columns)
        for name, derive in rules.derived.items():
            columns[name] = derive(columns)
        keys = natural_keys(columns, rules.natural_key, wrong_types)
        if rules.key_column:
            columns[rules.key_column] = keys
        frame = pyarrow.table({name: columns[name] for name in contract_schema.columns}).to_pandas(
            types_mapper=pd.ArrowDtype
        )
        clock.lap("decode")

        failures = without_drifted(run_contract(contract_schema, frame, rules.check_columns), drifted)
        failures = with_wrong_types(failures, wrong_types)
        clock.lap("checks")

        failed = np.zeros(len(frame), dtype=bool)
        failed[failures["row"].to_numpy(dtype=np.int64)] = True
        first = batch.first_copies(keys)
        staged = pyarrow.table({name: columns[source] for name, source in rules.stage.items()})
        stage(_rows_kept(staged, first & ~failed))
        batch.add(chunk, keys, failures, drift, frame, first, staged, first | failed)
        clock.lap("stage")

    # Raw texts are read back once, for every record that is rejected or has a copy.
    keys = batch.keys()
    copied = copies(keys, batch.hashes())
    failures = batch.failures()
    failed = failures["row"].to_numpy(dtype=np.int64)
    positions = batch.positions()
    again = np.concatenate([failed, np.fromiter(chain.from_iterable(copied), dtype=np.int64)])
    raws: dict[int, str] = (
        batch.raws.get(positions[again].tolist() + [p for p, _ in batch.broken]) if batch.raws else {}
    )
    folded, conflicting = fold(copied, batch.tenants(), positions, raws)
    failures = failures[~folded[failed]]
    refuse_broken_entity(
        entity,
        batch.rows - int(folded.sum()),
        failures,
        batch.received,
        len(batch.broken),
        batch.objects,
        lambda column: batch.held(column, folded),
        set(contract_schema.columns),
    )
    conflicts = failures_frame(
        conflicting,
        ["conflicting_duplicate"] * len(conflicting),
        [rules.key] * len(conflicting),
        keys.take(pyarrow.array(conflicting, pyarrow.int64())).to_pylist(),
    )
    failures = pd.concat([failures, conflicts], ignore_index=True) if len(conflicts) else failures
    late = batch.late_firsts(copied, folded, conflicting)
    if late is not None:
        stage(late)
    clock.lap("duplicates")

    rejected_row = np.zeros(batch.rows, dtype=bool)
    rejected_row[failures["row"].to_numpy(dtype=np.int64)] = True
    rejected = rejected_rows(failures, keys, positions, batch.broken, raws)
    by_check = Counter(failures.drop_duplicates(["row", "check_name"])["check_name"])
    by_check.update("invalid_json" for _ in batch.broken)
    return ValidationResult(
        entity=entity,
        valid=pd.DataFrame(columns=STAGE_COLUMNS[entity]),
        rejected=rejected,
        received=batch.received,
        collapsed_duplicates=int(folded.sum()),
        unknown_fields=batch.unknown,
        unknown_fields_more=batch.unknown_more,
        rejected_by_check=dict(by_check.most_common()),
        rejected_rows=int(rejected_row.sum()) + len(batch.broken),
        type_drift=batch.drift(),
        seconds=clock.laps,
        valid_rows=int((~rejected_row & ~folded).sum()),
        unstage=sorted(set(keys.take(pyarrow.array(conflicting, pyarrow.int64())).to_pylist())),
    )


class _Batch:
    """What the verdict on the whole batch needs of its chunks once they are staged: keys, positions,
    failures (by row of the batch), counts; and the few rows held back as copies of an earlier key."""

    def __init__(self) -> None:
        self.rows = self.received = 0
        self.raws: RawTexts | None = None
        self.broken: list[tuple[int, str]] = []
        self.objects: Counter = Counter()
        self.unknown: list[str] = []
        self.unknown_more = 0
        self._keys: list[pyarrow.ChunkedArray] = []
        self._positions: list[np.ndarray] = []
        self._tenants: list[pyarrow.ChunkedArray] = []
        self._failures: list[pd.DataFrame] = []
        self._drift: Counter = Counter()
        self._held: Counter = Counter()  # per column: the values present
        self._copies_held: dict[int, dict] = {}  # row -> {column: present} of rows that are not first copies
        self._held_back: list[tuple[np.ndarray, pyarrow.Table]] = []  # (rows, stage rows) of valid later copies
        self._seen: list[np.ndarray] = []  # per chunk: the hashes of its keys, sorted
        self._hashes: list[np.ndarray] = []  # per chunk: the hash of each row's key

    def first_copies(self, keys: pyarrow.ChunkedArray) -> np.ndarray:
        """Per row: whether no earlier row of the batch has its key, as far as a hash of the key can tell.
        A hash may match by chance: such a row is held back, and staged at the end (late_firsts). Hashes
        take 8 bytes a key where a set of the keys would take over a hundred."""
        hashes = np.fromiter(map(hash, keys.to_pylist()), dtype=np.int64, count=len(keys))
        self._hashes.append(hashes)
        first = np.zeros(len(hashes), dtype=bool)
        unique, at = np.unique(hashes, return_index=True)
        first[at] = True
        for seen in self._seen:
            found = np.searchsorted(seen, hashes).clip(max=len(seen) - 1)
            first &= seen[found] != hashes
        if len(unique):
            self._seen.append(unique)
        return first

    def add(
        self,
        chunk: Decoded,
        keys: pyarrow.ChunkedArray,
        failures: pd.DataFrame,
        drift: list[dict],
        frame: pd.DataFrame,
        first: np.ndarray,
        staged: pyarrow.Table,
        judged: np.ndarray,
    ) -> None:
        offset = self.rows
        self.rows += len(keys)
        self.received += chunk.received
        self.raws = chunk.raws
        self.broken += chunk.broken
        self.objects.update(chunk.objects)
        self.unknown, self.unknown_more = chunk.unknown, chunk.unknown_more
        self._keys.append(keys)
        self._positions.append(chunk.positions)
        self._tenants.append(chunk.table.column("tenantId"))
        self._failures.append(failures.assign(row=failures["row"] + offset))
        self._drift.update({(d["field"], d["expected"], d["found"]): d["records"] for d in drift})
        present = frame.notna()
        self._held.update(present.sum().to_dict())
        later = np.flatnonzero(~first)
        for row in later.tolist():
            self._copies_held[offset + row] = present.iloc[row].to_dict()
        waiting = np.flatnonzero(~judged)  # valid rows that are not first copies
        if len(waiting):
            self._held_back.append((waiting + offset, staged.take(pyarrow.array(waiting))))

    def keys(self) -> pyarrow.ChunkedArray:
        return pyarrow.chunked_array([c for keys in self._keys for c in keys.chunks], pyarrow.string())

    def hashes(self) -> np.ndarray:
        return np.concatenate(self._hashes) if self._hashes else np.empty(0, dtype=np.int64)

    def positions(self) -> np.ndarray:
        return np.concatenate(self._positions) if self._positions else np.empty(0, dtype=np.int64)

    def tenants(self) -> pyarrow.ChunkedArray:
        return pyarrow.chunked_array([c for tenants in self._tenants for c in tenants.chunks], pyarrow.string())

    def failures(self) -> pd.DataFrame:
        return pd.concat(self._failures, ignore_index=True) if self._failures else failures_frame([], [], [], [])

    def drift(self) -> list[dict]:
        return [
            {"field": field, "expected": expected, "found": found, "records": count}
            for (field, expected, found), count in sorted(self._drift.items())
        ]

    def held(self, column: str, folded: np.ndarray) -> int:
        """Values present in a column, but those of folded copies."""
        return self._held[column] - sum(
            1 for row, present in self._copies_held.items() if folded[row] and present.get(column)
        )

    def late_firsts(self, copied: list[list[int]], folded: np.ndarray, conflicting: list[int]) -> pyarrow.Table | None:
        """The held-back rows to stage after all: a copy of nothing (only their key's hash matched an earlier
        one), or the first of identical copies."""
        if not self._held_back:
            return None
        firsts = {rows[0] for rows in copied} - set(conflicting)
        in_a_group = {row for rows in copied for row in rows}
        rows = np.concatenate([rows for rows, _ in self._held_back])
        table = pyarrow.concat_tables([table for _, table in self._held_back])
        keep = np.array(
            [row not in in_a_group or (row in firsts and not folded[row]) for row in rows.tolist()], dtype=bool
        )
        return table.filter(pyarrow.array(keep)) if keep.any() else None


def _by_account(accounts: pyarrow.ChunkedArray, values: Mapping[str, str | None]) -> pyarrow.ChunkedArray:
    """Per row, the value its Sophos connection (`account`) has in `values`; null where it has none."""
    known = [account for account, value in values.items() if value is not None]
    if not known:
        return pyarrow.chunked_array([pyarrow.nulls(len(accounts), pyarrow.string())])
    at = pc.index_in(accounts, value_set=pyarrow.array(known, pyarrow.string()))
    return pc.take(pyarrow.array([values[account] for account in known], pyarrow.string()), at)


def _rows_kept(table: pyarrow.Table, keep: np.ndarray) -> pyarrow.Table:
    """The rows of `table` where `keep` is true. A month has a few rejected rows among a million: the
    runs between them are slices that share the table's memory, where a filter would copy all of it."""
    edges = np.flatnonzero(np.diff(np.concatenate([[False], keep, [False]]).astype(np.int8)))
    if len(edges) > 2 * _MAX_SLICES:
        return table.filter(pyarrow.array(keep))
    runs = [
        table.slice(start, stop - start) for start, stop in zip(edges[::2].tolist(), edges[1::2].tolist(), strict=True)
    ]
    return pyarrow.concat_tables(runs) if runs else table.slice(0, 0)


class _Clock:
    def __init__(self):
        self.laps: dict[str, float] = {}
        self._last = time.perf_counter()

    def lap(self, name: str) -> None:
        """Time since the last lap, added to `name`'s (a step runs once per chunk)."""
        now = time.perf_counter()
        self.laps[name] = round(self.laps.get(name, 0.0) + now - self._last, 3)
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
