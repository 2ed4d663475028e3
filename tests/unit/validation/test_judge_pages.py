"""validate_pages: records landed a page per row, judged chunk by chunk and staged as they go; the verdict
on the whole batch (copies across chunks, whole-entity breakage) is the same as validating it at once."""

from __future__ import annotations

import json

import pyarrow
import pytest

from sophos_sync.errors import ContractViolation
from sophos_sync.validation import decode as decoding
from sophos_sync.validation import judge
from sophos_sync.validation.judge import STAGE_COLUMNS, validate, validate_pages
from sophos_sync.validation.keys import line_key
from tests.records import billing_line, rows


def pages(items: list, per_page: int = 4, account: str = "sophos_default") -> list[tuple[str, bytes]]:
    """The items as extract lands them: JSON lines, `per_page` items a page."""
    return [
        (account, "\n".join(json.dumps(item) for item in items[at : at + per_page]).encode())
        for at in range(0, len(items), per_page)
    ]


def month(count: int) -> list[dict]:
    return [billing_line(orderNumber=f"SO{n:06d}") for n in range(count)]


def staged_by_chunk(items: list) -> tuple[list[pyarrow.Table], judge.ValidationResult]:
    chunks: list[pyarrow.Table] = []
    result = validate_pages("billing_usage", pages(items), stage=chunks.append)
    return chunks, result


def staged_keys(chunks: list[pyarrow.Table], result) -> list[str]:
    keys = [key for chunk in chunks for key in chunk.column("line_key").to_pylist()]
    return [key for key in keys if key not in set(result.unstage)]


@pytest.fixture(autouse=True)
def small_chunks(monkeypatch):
    monkeypatch.setattr(decoding, "_CHUNK", 8)


def test_every_chunk_is_staged_as_it_is_judged_and_the_verdict_equals_validating_at_once():
    items = month(30)
    items[3]["netPrice"] = "1,40"
    items[20] = dict(items[2])  # an identical copy, two chunks later: folded
    at_once = validate("billing_usage", rows(*items))
    chunks, result = staged_by_chunk(items)

    assert len(chunks) >= 4 and all(chunk.column_names == STAGE_COLUMNS["billing_usage"] for chunk in chunks)
    assert result.valid.empty  # nothing of the batch is kept once staged
    assert staged_keys(chunks, result) == at_once.valid["line_key"].tolist()
    assert result.counts() == at_once.counts()
    assert result.rejected.drop(columns="raw").equals(at_once.rejected.drop(columns="raw"))


def test_a_copy_that_conflicts_chunks_later_unstages_the_first_one():
    items = month(30)
    items[25] = dict(items[1], netPrice="9.99")  # same key as line 1, staged in the first chunk; another price
    chunks, result = staged_by_chunk(items)

    assert result.unstage == [line_key(items[1])]
    assert line_key(items[1]) in {key for chunk in chunks for key in chunk.column("line_key").to_pylist()}
    assert line_key(items[1]) not in staged_keys(chunks, result)
    assert result.rejected_by_check == {"conflicting_duplicate": 2}
    assert result.valid_rows == len(staged_keys(chunks, result)) == 28


def test_a_key_whose_hash_only_matches_an_earlier_one_is_still_staged(monkeypatch):
    """The first-copy test compares hashes of keys: when every hash matches (the worst chance can do), every
    row after the first is held back, and the batch's exact verdict stages the ones that are no copies."""
    items = month(20)
    items[15] = dict(items[4])  # identical copy: staged once
    items[18] = dict(items[7], billableQuantity=99)  # conflicting copy: neither staged
    monkeypatch.setattr(judge, "hash", lambda key: 0, raising=False)
    chunks, result = staged_by_chunk(items)
    monkeypatch.undo()
    monkeypatch.setattr(decoding, "_CHUNK", 8)
    expected = validate("billing_usage", rows(*items))

    assert sorted(staged_keys(chunks, result)) == sorted(expected.valid["line_key"].tolist())
    assert len(staged_keys(chunks, result)) == 17 and result.counts() == expected.counts()


def test_a_field_missing_in_every_chunk_still_breaks_the_entity():
    items = month(30)
    for item in items:
        del item["sku"]
    with pytest.raises(ContractViolation, match="sku is missing in all 30 records"):
        staged_by_chunk(items)
