"""Landing records -> data contracts (include/schemas) -> stage rows, rejected rows with reasons, drift.

    result = validate("billing_usage", rows)   # rows: (account, tenant_id, raw JSON text)
    enforce_threshold(result, settings.REJECT_THRESHOLD)

Per record, one of three things happens: it becomes a stage row (`valid`), it is folded into an
identical copy of itself (`collapsed_duplicates`), or it is rejected with one row per failed check in
`rejected`. A defect that breaks a whole entity (a required field missing from every record, a critical
field whose JSON type changed in every record) raises ContractViolation instead: nothing is loaded.
Fields the contract does not know (`unknown_fields`), and informational fields whose JSON type changed
(`type_drift`), are drift: reported, never rejected.

The jobs are in sophos_sync.validation (decoding, raw texts, keys and duplicates, the verdict); this
module runs them in order. `valid` holds Arrow-backed columns: money stays a decimal string until
PostgreSQL's numeric (nothing passes through float), a date an ISO string until PostgreSQL's date.
"""
from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from itertools import chain

import numpy as np
import pandas as pd
import pyarrow

from sophos_sync.errors import RejectionThresholdExceeded
from sophos_sync.validation.contracts import ENTITIES, api_fields, contract, schema, stage_columns
from sophos_sync.validation.decode import ColumnarDecoder, Decoded
from sophos_sync.validation.keys import copies, fold, line_key, line_key_of, natural_keys
from sophos_sync.validation.verdict import (
    REJECTED_COLUMNS, failures_frame, refuse_broken_entity, rejected_rows, run_contract, type_drift, with_wrong_types,
    without_drifted,
)

__all__ = ["ENTITIES", "PAGED", "REJECTED_COLUMNS", "STAGE_COLUMNS", "ValidationResult", "contract",
           "enforce_threshold", "line_key", "line_key_of", "validate", "validate_pages"]

_MAX_SLICES = 10_000  # valid rows are kept as slices of the decoded table up to this many runs

STAGE_COLUMNS: dict[str, list[str]] = {entity: stage_columns(entity) for entity in ENTITIES}
PAGED = frozenset({"billing_usage"})  # landed a page per row (sophos.landing_pages), the others a record per row


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
    type_drift: list[dict] = field(default_factory=list)  # informational fields of another JSON type
    seconds: dict[str, float] = field(default_factory=dict)

    def counts(self) -> dict:
        """The run report's figures for this entity (sophos.sync_runs.counts)."""
        counts = {
            "received": self.received, "valid": len(self.valid), "rejected": self.rejected_rows,
            "collapsed_duplicates": self.collapsed_duplicates, "rejected_by_check": self.rejected_by_check,
            "unknown_fields": self.unknown_fields,
        }
        if self.type_drift:
            counts["type_drift"] = self.type_drift
        return counts


def validate(entity: str, rows: Iterable[tuple[str, str | None, str]]) -> ValidationResult:
    """Check every record of one entity, landed one per row (account, tenant id, JSON text), against its
    contract (see the module docstring)."""
    clock = _Clock()
    return _judged(entity, ColumnarDecoder(api_fields(entity), contract(entity).IGNORED).decode(rows), clock)


def validate_pages(entity: str, pages: Iterable[tuple[str, bytes]]) -> ValidationResult:
    """validate() for records landed a page per row (account, JSON lines: one record per line)."""
    clock = _Clock()
    return _judged(entity, ColumnarDecoder(api_fields(entity), contract(entity).IGNORED).decode_pages(pages), clock)


def _judged(entity: str, batch: Decoded, clock: _Clock) -> ValidationResult:
    module, contract_schema = contract(entity), schema(entity)
    columns = {name: batch.table.column(name) for name in batch.table.column_names}
    wrong_types, drift, drifted = type_drift(batch.wrong_types, module.INFORMATIONAL, columns)
    for name, derive in module.DERIVED.items():
        columns[name] = derive(columns)
    keys = natural_keys(columns, module.NATURAL_KEY, wrong_types)
    key_column = module.KEY_COLUMN or module.NATURAL_KEY[0]
    if module.KEY_COLUMN:
        columns[module.KEY_COLUMN] = keys
    frame = pyarrow.table({name: columns[name] for name in contract_schema.columns}).to_pandas(
        types_mapper=pd.ArrowDtype)
    clock.lap("decode")

    failures = without_drifted(run_contract(contract_schema, frame, getattr(module, "CHECK_COLUMNS", {})), drifted)
    failures = with_wrong_types(failures, wrong_types)
    clock.lap("checks")

    # Raw texts are read back once, for every record that is rejected or has a copy.
    copied = copies(keys)
    failed = failures["row"].to_numpy(dtype=np.int64)
    again = np.concatenate([failed, np.fromiter(chain.from_iterable(copied), dtype=np.int64)])
    raws = batch.raws.get(batch.positions[again].tolist() + [p for p, _ in batch.broken])
    folded, conflicting = fold(copied, batch, raws)
    failures = failures[~folded[failed]]
    refuse_broken_entity(entity, frame, failures, batch, folded)
    conflicts = failures_frame(conflicting, ["conflicting_duplicate"] * len(conflicting),
                               [key_column] * len(conflicting),
                               keys.take(pyarrow.array(conflicting, pyarrow.int64())).to_pylist())
    failures = pd.concat([failures, conflicts], ignore_index=True) if len(conflicts) else failures
    clock.lap("duplicates")

    rejected_row = np.zeros(len(frame), dtype=bool)
    rejected_row[failures["row"].to_numpy(dtype=np.int64)] = True
    staged = pyarrow.table({stage: columns[source] for stage, source in module.STAGE.items()})
    valid = _rows_kept(staged, ~rejected_row & ~folded).to_pandas(types_mapper=pd.ArrowDtype)
    clock.lap("stage")

    rejected = rejected_rows(failures, keys, batch.positions, batch.broken, raws)
    by_check = Counter(failures.drop_duplicates(["row", "check_name"])["check_name"])
    by_check.update("invalid_json" for _ in batch.broken)
    return ValidationResult(
        entity=entity, valid=valid, rejected=rejected, received=batch.received,
        collapsed_duplicates=int(folded.sum()), unknown_fields=batch.unknown,
        rejected_by_check=dict(by_check.most_common()),
        rejected_rows=int(rejected_row.sum()) + len(batch.broken), type_drift=drift, seconds=clock.laps,
    )


def _rows_kept(table: pyarrow.Table, keep: np.ndarray) -> pyarrow.Table:
    """The rows of `table` where `keep` is true. A month has a few rejected rows among a million: the
    runs between them are slices that share the table's memory, where a filter would copy all of it."""
    edges = np.flatnonzero(np.diff(np.concatenate([[False], keep, [False]]).astype(np.int8)))
    if len(edges) > 2 * _MAX_SLICES:
        return table.filter(pyarrow.array(keep))
    runs = [table.slice(start, stop - start) for start, stop in zip(edges[::2].tolist(), edges[1::2].tolist())]
    return pyarrow.concat_tables(runs) if runs else table.slice(0, 0)


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
