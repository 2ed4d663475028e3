"""Natural keys and duplicates: the key of every record, identical copies folded, differing copies refused."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import msgspec
import numpy as np
import pyarrow
import pyarrow.compute as pc

from sophos_sync.validation.contracts import contract

# A value of another JSON type is spelled as its JSON text; a Decimal (a JSON number read exactly) too.
_ENCODER = msgspec.json.Encoder(decimal_format="number")


def json_text(value: object) -> str:
    return _ENCODER.encode(value).decode()


def _key_part(value: object) -> str:
    if value is None:
        return ""
    text = value if type(value) is str else json_text(value)
    # Escaping keeps the join reversible: ("a|b", "c") and ("a", "b|c") stay two keys.
    return text.replace("\\", "\\\\").replace("|", "\\|")


def line_key(item: Mapping) -> str:
    """The invoice-line key Finance sees: the natural key's fields joined by '|' (missing: empty)."""
    return line_key_of(item.get(name) for name in contract("billing_usage").natural_key)


def line_key_of(values: Iterable[object]) -> str:
    """line_key from the natural key's values alone, in NATURAL_KEY order (None where missing)."""
    return "|".join(map(_key_part, values))


def natural_keys(
    columns: Mapping[str, pyarrow.ChunkedArray], names: Sequence[str], wrong_types: Sequence[tuple]
) -> pyarrow.ChunkedArray:
    """line_key_of every row, in Arrow."""
    parts = [columns[name].fill_null("") for name in names]
    keys = _joined(parts)
    if pc.any(pc.match_substring(keys, "\\")).as_py() or (pc.sum(pc.count_substring(keys, "|")).as_py() or 0) != (
        len(names) - 1
    ) * len(keys):
        keys = _joined(
            [pc.replace_substring(pc.replace_substring(part, "\\", "\\\\"), "|", "\\|") for part in parts]
        )  # some value holds a separator: escape as _key_part does
    # A value of the wrong JSON type is null in its column; the key still spells it, as line_key does.
    misfits = {(row, column): value for row, column, _, value in wrong_types if column in names}
    if misfits:
        rows = sorted({row for row, _ in misfits})
        spelled = [line_key_of(misfits.get((row, name), columns[name][row].as_py()) for name in names) for row in rows]
        mask = np.zeros(len(keys), dtype=bool)
        mask[rows] = True
        keys = pyarrow.chunked_array(
            [pc.replace_with_mask(keys.combine_chunks(), pyarrow.array(mask), pyarrow.array(spelled, pyarrow.string()))]
        )
    return keys


def _joined(parts: list[pyarrow.ChunkedArray]) -> pyarrow.ChunkedArray:
    return parts[0] if len(parts) == 1 else pc.binary_join_element_wise(*parts, "|")


def copies(keys: pyarrow.ChunkedArray, hashes: np.ndarray) -> list[list[int]]:
    """The rows of each natural key that more than one record has. `hashes` holds a hash of each row's key:
    only rows whose hash repeats are compared by key, so a million keys are never sorted as strings."""
    if len(hashes) < 2:
        return []
    order = np.argsort(hashes, kind="stable")
    ordered = hashes[order]
    same = ordered[1:] == ordered[:-1]
    if not same.any():
        return []
    repeated = order[np.concatenate([[False], same]) | np.concatenate([same, [False]])]
    rows_of: dict[str, list[int]] = {}
    for row, key in zip(repeated.tolist(), keys.take(pyarrow.array(repeated)).to_pylist(), strict=True):
        rows_of.setdefault(key, []).append(row)
    return sorted(sorted(rows) for rows in rows_of.values() if len(rows) > 1)


def fold(
    copies: list[list[int]], tenants: pyarrow.ChunkedArray, positions: np.ndarray, raws: Mapping[int, str]
) -> tuple[np.ndarray, list[int]]:
    """Identical copies of a record (same key, same JSON, same tenant) are kept once: every copy but the
    first is `folded`. Copies that differ all stay, to be rejected together: their rows are returned.
    Rows are the batch's; `positions` and `tenants` give each row's received position and tenant."""
    folded = np.zeros(len(positions), dtype=bool)
    conflicting: list[int] = []
    for rows in copies:
        contents = [(tenants[r].as_py(), msgspec.json.decode(raws[positions[r]])) for r in rows]
        if all(content == contents[0] for content in contents[1:]):
            folded[rows[1:]] = True
        else:
            conflicting.extend(rows)
    return folded, sorted(conflicting)
