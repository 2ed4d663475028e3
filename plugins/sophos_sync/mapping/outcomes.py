"""What mapping decides for a Sophos customer, and why a customer stays unmapped: defined once, read by the
decision (rules), the review table's checks, Support's page and the run summary."""

from __future__ import annotations

from typing import Final

OUTCOMES: Final = ("mapped", "auto_matched", "unmapped")
REASONS: Final = ("no_match", "ambiguous", "unknown_seller", "seller_changed")
