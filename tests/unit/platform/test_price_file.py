"""The price list file, checked as a whole before anything is written: each bad row named with its line."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from sophos_sync.platform.prices import Price, PriceListError, read
from sophos_sync.validation.contracts import currencies

HEADER = "sku,currency,unit_price,valid_from,valid_to\n"


def problems(text: str) -> list[str]:
    with pytest.raises(PriceListError) as refused:
        read(text, currencies(), "prices.csv")
    assert "nothing was imported" in str(refused.value)
    return refused.value.problems


def test_a_good_file_gives_exact_decimals_and_days():
    prices = read(HEADER + "CIXA,EUR,1.40,2026-01-01,2026-12-31\nCIXA,EUR,1.4500,2027-01-01,\n", currencies())
    assert prices == [
        Price("CIXA", "EUR", Decimal("1.40"), date(2026, 1, 1), date(2026, 12, 31), 2),
        Price("CIXA", "EUR", Decimal("1.4500"), date(2027, 1, 1), None, 3),
    ]


def test_valid_to_is_optional_in_the_header_and_a_blank_line_is_fine():
    assert len(read("sku,currency,unit_price,valid_from\r\nCIXA,USD,2,2026-01-01\r\n\r\n", currencies())) == 1


@pytest.mark.parametrize(
    "row, problem",
    [
        ("CIXA,EUR,1.4e1,2026-01-01,", "line 2: unit_price '1.4e1' must be a decimal such as 1.40"),
        ("CIXA,EUR,-1.00,2026-01-01,", "line 2: unit_price '-1.00' must be a decimal"),
        ("CIXA,EUR,1.40000,2026-01-01,", "line 2: unit_price '1.40000' must be a decimal such as 1.40 (at most 4"),
        ("CIXA,XYZ,1.40,2026-01-01,", "line 2: currency 'XYZ' is not an ISO 4217 code"),
        ("CIXA,eur,1.40,2026-01-01,", "line 2: currency 'eur' is not an ISO 4217 code"),
        ("CIXA,EUR,1.40,2026-02-30,", "line 2: valid_from '2026-02-30' must be a day as YYYY-MM-DD"),
        ("CIXA,EUR,1.40,01.01.2026,", "line 2: valid_from '01.01.2026' must be a day"),
        ("CIXA,EUR,1.40,2026-06-01,2026-05-31", "line 2: valid_to 2026-05-31 is before valid_from 2026-06-01"),
        ("CI XA,EUR,1.40,2026-01-01,", "line 2: sku 'CI XA' must be 1 to 255 printable characters"),
        (",EUR,1.40,2026-01-01,", "line 2: sku '' must be"),
        ("CIXA,EUR,1.40,2026-01-01,,extra", "line 2: more fields than the header names"),
    ],
)
def test_a_bad_row_is_named_with_its_line_and_field(row, problem):
    assert any(found.startswith(problem) for found in problems(HEADER + row + "\n")), problems(HEADER + row + "\n")


def test_every_bad_row_is_reported_not_only_the_first():
    found = problems(HEADER + "CIXA,EUR,1.40,2026-01-01,\nCIXA,EURO,1.40,2026-01-01,\nCIXA,EUR,x,2026-01-01,\n")
    assert [problem.split(":")[0] for problem in found] == ["line 3", "line 4"]


def test_two_rows_pricing_the_same_days_are_refused_also_when_not_adjacent():
    text = (
        HEADER + "CIXA,EUR,1.40,2026-01-01,2026-12-31\nCIXA,EUR,1.50,2026-03-01,2026-03-31\n"
        "CIXA,EUR,1.60,2026-06-01,\nCIXA,USD,1.70,2026-01-01,\n"
    )
    found = problems(text)
    assert len(found) == 2 and all("is priced twice on the same days" in problem for problem in found)
    assert found[0].startswith("line 2 and line 3") and found[1].startswith("line 2 and line 4")


def test_a_wrong_header_is_one_problem_that_says_the_header():
    assert problems("sku;currency;price\nCIXA;EUR;1.40\n") == [
        "line 1: the header must be sku,currency,unit_price,valid_from (and optionally valid_to); missing sku, "
        "currency, unit_price, valid_from; unknown sku;currency;price"
    ]
