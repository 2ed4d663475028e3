"""Running a contract over the batch, its failures as rejected rows, and the whole-entity verdict.

A value of another JSON type in an INFORMATIONAL field is drift, not a failure: the value is kept as
its JSON text (null in a Number column), counted per field, old and new type, and not judged by the
field's checks (a boolean where a billing type belongs is not also an unknown billing type).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Collection, Mapping, Sequence

import numpy as np
import pandas as pd
import pandera.pandas as pa
import pyarrow
import pyarrow.compute as pc

from sophos_sync.errors import ContractViolation
from sophos_sync.validation.contracts import contract_file
from sophos_sync.validation.decode import json_type
from sophos_sync.validation.keys import json_text

REJECTED_COLUMNS = ["source_key", "check_name", "column_name", "failure_case", "raw"]
_CHECK_NAMES = {"not_nullable": "required"}
_FAILURE_CASE_CHARS = 200
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")


def type_drift(
    wrong_types: Sequence[tuple], informational: Collection[str], columns: dict[str, pyarrow.ChunkedArray]
) -> tuple[list[tuple], list[dict], set[tuple[int, str]]]:
    """The wrong-typed values of informational fields taken out of `wrong_types`: each kept in its column
    as JSON text where the column is text, and counted as drift (field, expected and found JSON type)."""

    def informational_path(path: str) -> bool:
        return path in informational or any(path.startswith(f"{name}.") for name in informational)

    kept = [wrong for wrong in wrong_types if not informational_path(wrong[1])]
    drifted = [wrong for wrong in wrong_types if informational_path(wrong[1])]
    counts = Counter((column, check.removeprefix("json_"), json_type(value)) for _, column, check, value in drifted)
    by_column: dict[str, list[tuple]] = {}
    for row, column, _, value in drifted:
        by_column.setdefault(column, []).append((row, value))
    for column, found in by_column.items():
        if column not in columns or not pyarrow.types.is_string(columns[column].type):
            continue  # a container or a Number: the value stays null
        mask = np.zeros(len(columns[column]), dtype=bool)
        mask[[row for row, _ in found]] = True
        texts = pyarrow.array([json_text(value) for _, value in sorted(found, key=lambda f: f[0])], pyarrow.string())
        columns[column] = pyarrow.chunked_array(
            [pc.replace_with_mask(columns[column].combine_chunks(), pyarrow.array(mask), texts)]
        )
    drift = [
        {"field": column, "expected": expected, "found": found, "records": count}
        for (column, expected, found), count in sorted(counts.items())
    ]
    return kept, drift, {(row, column) for row, column, _, _ in drifted}


def without_drifted(failures: pd.DataFrame, drifted: set[tuple[int, str]]) -> pd.DataFrame:
    """The failures but those of values kept as drift."""
    if not drifted or failures.empty:
        return failures
    judged = [
        (row, column) not in drifted for row, column in zip(failures["row"], failures["column_name"], strict=True)
    ]
    return failures[np.asarray(judged, dtype=bool)]


def rejected_rows(
    failures: pd.DataFrame,
    keys: pyarrow.ChunkedArray,
    positions: np.ndarray,
    broken: Sequence[tuple[int, str]],
    raws: Mapping[int, str],
) -> pd.DataFrame:
    """sophos.rejected_records rows: one per failed check of a record, one per record that is no JSON object."""
    failed = failures["row"].to_numpy(dtype=np.int64)
    return pd.concat(
        [
            pd.DataFrame(
                {
                    "source_key": keys.take(pyarrow.array(failed)).to_pylist(),
                    "check_name": failures["check_name"].to_numpy(dtype=object),
                    "column_name": failures["column_name"].to_numpy(dtype=object),
                    "failure_case": [failure_text(v) for v in failures["failure_case"]],
                    "raw": [raws[p] for p in positions[failed].tolist()],
                },
                dtype=object,
            ),
            pd.DataFrame(
                {
                    "source_key": [None] * len(broken),
                    "check_name": ["invalid_json"] * len(broken),
                    "column_name": [None] * len(broken),
                    "failure_case": [failure_text(e) for _, e in broken],
                    # rejected_records.raw is jsonb: text that is not JSON is kept as a JSON string.
                    "raw": [json_text(raws[p]) if "not valid JSON" in e else raws[p] for p, e in broken],
                },
                dtype=object,
            ),
        ],
        ignore_index=True,
    )[REJECTED_COLUMNS]


def run_contract(schema: pa.DataFrameSchema, frame: pd.DataFrame, check_columns: dict[str, str]) -> pd.DataFrame:
    """All failures of the batch at once: one row per (row, check, column) with the failing value."""
    try:
        schema.validate(frame, lazy=True, inplace=True)
        return failures_frame([], [], [], [])
    except pa.errors.SchemaErrors as exc:
        cases = exc.failure_cases
    if cases["index"].isna().any():
        problems = cases[cases["index"].isna()][["column", "check"]].drop_duplicates().to_dict("records")
        raise ContractViolation(f"{schema.name}: the contract could not be applied to the batch: {problems}")
    check = cases["check"].astype(str).str.split("(").str[0].replace(_CHECK_NAMES)
    failures = failures_frame(cases["index"], check, cases["column"], cases["failure_case"])
    # A line-level check reports every column of a failing row: keep the one its contract names.
    line_level = failures["check_name"].isin(list(check_columns))
    if line_level.any():
        line = failures[line_level].drop_duplicates(["row", "check_name"]).copy()
        line["column_name"] = line["check_name"].map(check_columns)
        line["failure_case"] = [
            frame.at[row, column] for row, column in zip(line["row"], line["column_name"], strict=True)
        ]
        failures = pd.concat([failures[~line_level], line], ignore_index=True)
    return failures


def failures_frame(rows, checks, columns, cases) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "row": np.asarray(rows, dtype=np.int64),
            "check_name": np.asarray(checks, dtype=object),
            "column_name": np.asarray(columns, dtype=object),
            "failure_case": np.asarray(cases, dtype=object),
        }
    )


def with_wrong_types(failures: pd.DataFrame, wrong_types: Sequence[tuple]) -> pd.DataFrame:
    """The values decoding found of another JSON type, as failures; the column holds null for them,
    which is not also a missing required value."""
    if not wrong_types:
        return failures
    rows, columns, checks, _ = zip(*wrong_types, strict=True)
    misfit = set(zip(rows, columns, strict=True))
    missing = failures["check_name"] == "required"
    counted_twice = missing & pd.Series(
        [(r, c) in misfit for r, c in zip(failures["row"], failures["column_name"], strict=True)],
        index=failures.index,
        dtype=bool,
    )
    values = np.empty(len(wrong_types), dtype=object)
    values[:] = [value for *_, value in wrong_types]
    return pd.concat([failures[~counted_twice], failures_frame(rows, checks, columns, values)], ignore_index=True)


def refuse_broken_entity(
    entity: str,
    rows: int,
    failures: pd.DataFrame,
    received: int,
    broken: int,
    objects: Counter,
    held: Callable[[str], int],
    frame_columns: Collection[str],
) -> None:
    """Raise ContractViolation when a defect is the entity's, not a record's (see module docstring).

    `rows` are the records judged (copies folded away); `held(column)` counts the values a column holds in
    them, `objects` the rows where a container path is an object."""
    if received and broken == received:
        raise ContractViolation(
            f"{entity}: none of the {received:,} records is a JSON object; nothing was loaded. Check the extract."
        )
    if rows == 0:
        return
    problems = []
    counts = (
        failures.drop_duplicates(["row", "check_name", "column_name"]).groupby(["column_name", "check_name"]).size()
    )
    for (column, check), count in counts.items():
        if check == "required" and count == rows:
            problems.append(f"{column} is missing in all {rows:,} records")
        elif check.startswith("json_"):
            present_values = objects[column] if column not in frame_columns else held(column)
            present = present_values + count  # a value of the wrong type is null in its column
            if present_values == 0 and present * 2 >= rows:
                seen = failures[(failures["column_name"] == column) & (failures["check_name"] == check)]
                problems.append(
                    f"{column} is {_article(json_type(seen['failure_case'].iloc[0]))} in all "
                    f"{present:,} records that have it (the contract expects "
                    f"{_article(check.removeprefix('json_'))})"
                )
    if problems:
        module_file = contract_file(entity)
        raise ContractViolation(
            f"{entity}: the data breaks its contract as a whole, so nothing was loaded: {'; '.join(problems)}. "
            f"Sophos changed the API or the extract is wrong; if the change is intended, update {module_file}."
        )


def _article(json_type: str) -> str:
    return f"an {json_type}" if json_type[0] in "aeiou" else f"a {json_type}"


def failure_text(value: object) -> str | None:
    """The failing value as readable text: JSON for non-strings, control characters spelled out (PostgreSQL
    text cannot hold NUL), cut at _FAILURE_CASE_CHARS (the raw record keeps all of it)."""
    if value is None or value is pd.NA:
        return None
    text = value if isinstance(value, str) else json_text(value)
    text = _CONTROL.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
    return text if len(text) <= _FAILURE_CASE_CHARS else text[:_FAILURE_CASE_CHARS] + "…"
