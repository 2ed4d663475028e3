"""validate() as a whole: whole-entity breakage, drift, broken JSON, keys, counts and the threshold."""

from __future__ import annotations

import json

import pytest

from sophos_sync.entities import BY_NAME as ENTITIES
from sophos_sync.errors import ContractViolation, RejectionThresholdExceeded
from sophos_sync.validation import decode as decoding
from sophos_sync.validation.judge import STAGE_COLUMNS, enforce_threshold, validate
from sophos_sync.validation.keys import line_key
from tests.records import MISSING, TENANT, billing_line, license, rows, tenant


def lines(count: int, **changes) -> list[dict]:
    return [billing_line(orderNumber=f"SO{n:06d}", **changes) for n in range(count)]


def test_every_record_is_valid_rejected_or_folded():
    items = lines(5) + [billing_line(orderNumber="SO000001")] + [billing_line(orderNumber="X", netPrice="abc")]
    result = validate("billing_usage", rows(*items))
    assert result.received == 7
    assert (len(result.valid), result.rejected_rows, result.collapsed_duplicates) == (5, 1, 1)
    assert result.received == len(result.valid) + result.rejected_rows + result.collapsed_duplicates
    assert result.counts() == {
        "received": 7,
        "valid": 5,
        "rejected": 1,
        "collapsed_duplicates": 1,
        "rejected_by_check": {"decimal_string": 1},
        "unknown_fields": [],
    }


def test_record_with_several_defects_is_listed_per_reason_and_counted_once():
    bad = billing_line(orderNumber="X", netPrice="1,40", accountStatus="gone", billingEndDate="2026-02-30")
    result = validate("billing_usage", rows(*lines(3), bad))
    assert sorted(result.rejected["check_name"]) == ["allowed_values", "decimal_string", "iso_date"]
    assert result.rejected_rows == 1
    assert result.rejected_by_check == {"allowed_values": 1, "decimal_string": 1, "iso_date": 1}


def test_field_whose_type_changed_in_every_record_breaks_the_entity():
    items = lines(4)
    for item in items:
        item["billableQuantity"] = str(item["billableQuantity"])
    with pytest.raises(ContractViolation) as caught:
        validate("billing_usage", rows(*items))
    message = str(caught.value)
    assert "billableQuantity is a string in all 4 records" in message
    assert "expects an integer" in message and "nothing was loaded" in message
    assert "include/schemas/billing_usage.py" in message


def test_required_field_missing_from_every_record_breaks_the_entity():
    with pytest.raises(ContractViolation, match="sku is missing in all 3 records"):
        validate("billing_usage", rows(*lines(3, sku=MISSING)))


def test_defects_in_some_records_are_rejections_not_a_broken_entity():
    items = lines(4) + [billing_line(orderNumber="A", billableQuantity="5"), billing_line(orderNumber="B", sku=None)]
    result = validate("billing_usage", rows(*items))
    assert result.rejected_by_check == {"json_integer": 1, "required": 1}


def test_unknown_fields_are_drift_not_rejections():
    items = lines(2, invoiceNumber="INV-1")
    result = validate("billing_usage", rows(*items))
    assert result.unknown_fields == ["invoiceNumber"]
    assert len(result.valid) == 2 and result.rejected.empty


def test_drift_is_found_wherever_it_first_appears(monkeypatch):
    monkeypatch.setattr(decoding, "_CHUNK", 3)
    items = lines(10)
    items[4]["newA"] = 1
    items[9]["newB"] = {"x": 1}
    result = validate("billing_usage", rows(*items))
    assert result.unknown_fields == ["newA", "newB"]
    assert len(result.valid) == 10


def test_unknown_nested_fields_are_drift_too():
    result = validate("license", rows(license(product={"code": "CIXA", "family": "endpoint"}), tenant_id=TENANT))
    assert result.unknown_fields == ["product.family"] and result.rejected.empty


def test_new_fields_beyond_the_bound_are_counted_not_named():
    """Read together (the Arrow path) or record by record (a line of broken JSON in the chunk), the same
    names are kept: the first seen."""
    for broken in ([], [("sophos_default", None, '{"sku": ')]):
        items = lines(3)
        items[1].update({f"new{n:03d}": n for n in range(decoding.UNKNOWN_NAMES_KEPT + 50)})
        items[2]["product"] = {"family": "endpoint"}
        result = validate("billing_usage", rows(*items) + broken)
        assert result.unknown_fields == [f"new{n:03d}" for n in range(decoding.UNKNOWN_NAMES_KEPT)]
        assert result.unknown_fields_more == result.counts()["unknown_fields_more"] == 51
        assert result.valid_rows == 3


def test_record_that_is_not_json_is_rejected_and_its_neighbours_go_on():
    items = rows(*lines(2)) + [("sophos_default", None, '{"sku": '), ("sophos_default", None, "[1, 2]")]
    result = validate("billing_usage", items)
    assert len(result.valid) == 2
    assert result.rejected_by_check == {"invalid_json": 2}
    assert result.rejected["failure_case"].tolist()[1] == "expected a JSON object, got array"
    assert json.loads(result.rejected["raw"].iloc[0]) == '{"sku": '  # kept as a JSON string: raw is jsonb


def test_batch_of_nothing_but_broken_json_breaks_the_entity():
    with pytest.raises(ContractViolation, match="none of the 2 records is a JSON object"):
        validate("tenant", [("a", None, "nope"), ("a", None, "[]")])


def test_empty_batch_is_fine():
    result = validate("tenant", [])
    assert result.received == 0 and result.valid.empty and list(result.valid.columns) == STAGE_COLUMNS["tenant"]


def test_rows_may_come_from_a_generator():
    result = validate("tenant", (row for row in rows(tenant())))
    assert len(result.valid) == 1


def test_line_key_joins_the_natural_key_readably():
    item = billing_line()
    assert line_key(item) == "1234567|SO000001|10|C00000001|CIXA0001MSPTA|2026-10-01|2026-10-31"
    item = billing_line(orderLineItemNumber=MISSING, accountNumberOrSerialNumber=None)
    assert line_key(item) == "1234567|SO000001|||CIXA0001MSPTA|2026-10-01|2026-10-31"


def test_line_key_keeps_values_with_separators_apart():
    assert line_key(billing_line(orderNumber="a|b", orderLineItemNumber="c")) != line_key(
        billing_line(orderNumber="a", orderLineItemNumber="b|c")
    )


def test_line_key_of_a_record_is_the_staged_line_key():
    items = [billing_line(), billing_line(orderNumber="a|b\\c", accountNumberOrSerialNumber=MISSING)]
    result = validate("billing_usage", rows(*items))
    assert result.valid["line_key"].tolist() == [line_key(item) for item in items]


def test_stage_columns_name_every_entity():
    assert set(STAGE_COLUMNS) == set(ENTITIES)
    for entity in ENTITIES:
        assert list(validate(entity, []).valid.columns) == STAGE_COLUMNS[entity]


def test_threshold_refuses_a_month_with_too_many_rejections():
    items = (
        lines(97)
        + [billing_line(orderNumber=f"B{n}", netPrice="1,40") for n in range(2)]
        + [billing_line(orderNumber="C", billingEndDate="2026-02-30")]
    )
    result = validate("billing_usage", rows(*items))
    with pytest.raises(RejectionThresholdExceeded) as caught:
        enforce_threshold(result, 0.01)
    message = str(caught.value)
    assert "3 of 100 records were rejected (3.00%), above the 1.00% threshold" in message
    assert "decimal_string 2 (e.g. netPrice='1,40'), iso_date 1" in message
    assert "Nothing was loaded" in message and "SOPHOS_SYNC_REJECT_THRESHOLD" in message


def test_threshold_lets_a_month_at_the_limit_through():
    items = lines(99) + [billing_line(orderNumber="B", netPrice="abc")]
    enforce_threshold(validate("billing_usage", rows(*items)), 0.01)
    enforce_threshold(validate("billing_usage", []), 0.01)


def test_unknown_entity_is_refused():
    with pytest.raises(ValueError, match="unknown entity 'invoice'"):
        validate("invoice", [])


def test_rejected_and_duplicated_records_keep_their_exact_raw_text_across_chunks(monkeypatch):
    """Raw texts are kept compressed per decode chunk; records at chunk edges come back byte for byte,
    also from a chunk Arrow refused (the broken record) and read again in pieces."""
    size = 1_000
    monkeypatch.setattr(decoding, "_CHUNK", size)
    monkeypatch.setattr(decoding, "_PIECE", 100)
    items = lines(2 * size + 10, partnerAccountName="Bäckerei Müller — Ñandú 株式会社")
    bad_at = [0, size - 1, size, 2 * size + 9]
    for n in bad_at:
        items[n]["netPrice"] = "1,40"
    batch = [("sophos_default", None, json.dumps(item, ensure_ascii=False)) for item in items]
    batch.insert(size + 1, batch[size + 2])  # an identical copy of a neighbour, right after a chunk edge
    batch.append(("sophos_default", None, '{"orderNumber": "broken'))
    result = validate("billing_usage", batch)

    assert result.collapsed_duplicates == 1
    decimal = result.rejected[result.rejected["check_name"] == "decimal_string"]
    expected = [batch[n if n <= size else n + 1][2] for n in bad_at]
    assert list(decimal["raw"]) == expected
    broken = result.rejected[result.rejected["check_name"] == "invalid_json"]
    assert list(broken["raw"]) == [json.dumps('{"orderNumber": "broken')]


def test_value_of_another_type_deep_in_a_chunk_is_named_and_its_neighbours_go_on(monkeypatch):
    """Arrow refuses a whole chunk for one value of the wrong JSON type; the chunk is read again in pieces
    and only the pieces holding such a value record by record: each defect keeps its own key and raw text."""
    monkeypatch.setattr(decoding, "_CHUNK", 1_000)
    monkeypatch.setattr(decoding, "_PIECE", 100)
    items = lines(2_500)
    items[1_234]["billableQuantity"] = "5"
    items[2_401]["sku"] = 42
    batch = rows(*items)
    result = validate("billing_usage", batch)

    assert len(result.valid) == 2_498 and result.rejected_rows == 2
    assert result.rejected[["check_name", "column_name", "failure_case"]].values.tolist() == [
        ["json_integer", "billableQuantity", "5"],
        ["json_string", "sku", "42"],
    ]
    assert result.rejected["raw"].tolist() == [batch[1_234][2], batch[2_401][2]]
    assert result.rejected["source_key"].tolist() == [line_key(items[1_234]), line_key(items[2_401])]


@pytest.mark.parametrize("control", ["\x7f", "\x85"])
def test_raw_control_character_is_found_in_a_chunk_of_clean_ones(monkeypatch, control):
    """JSON may carry DEL and C1 controls unescaped; the byte scan that spares clean chunks sees them."""
    monkeypatch.setattr(decoding, "_CHUNK", 10)
    items = lines(30)
    items[25]["partnerAccountName"] = f"Reseller{control}Ltd"
    result = validate("billing_usage", [("a", None, json.dumps(item, ensure_ascii=False)) for item in items])
    assert result.rejected_by_check == {"no_control_characters": 1}
    assert result.rejected["source_key"].tolist() == [line_key(items[25])]
