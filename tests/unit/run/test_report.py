"""The run summary's text: what the last task's log shows a data engineer."""

from __future__ import annotations

from decimal import Decimal

from sophos_sync.run.report import format_summary


def unmapped(name: str, amount: str, currency: str, reason: str, customer_id: str) -> dict:
    return {
        "customer_name": name,
        "billed_amount": Decimal(amount),
        "currency": currency,
        "reason": reason,
        "sophos_customer_id": customer_id,
        "subscription_count": 1,
    }


def test_top_unmapped_customers_are_aligned_whatever_spaces_sophos_put_around_a_name():
    summary = {
        "billing_month": "2026-11",
        "sync_run_id": 1,
        "status": "succeeded",
        "seconds": 4.1,
        "counts": {},
        "top_unmapped": [
            unmapped("  Lindqvist Engineering Inc. ", "11353.91", "USD", "unknown_seller", "c1"),
            unmapped("Andersson Pharmacie ApS", "9455.25", "GBP", "ambiguous", "c2"),
        ],
    }
    text = format_summary(summary).splitlines()
    assert text[0] == "Sophos sync 2026-11 (sync run 1): succeeded in 4.1 s"
    assert text[-3].strip().startswith("top unmapped customers by amount in 2026-11 ")
    rows = text[-2:]
    assert rows[0].index("Lindqvist") == rows[1].index("Andersson")
    assert rows[0].index("unknown_seller") == rows[1].index("ambiguous")
    assert "11,353.91 USD" in rows[0] and "9,455.25 GBP" in rows[1]
