"""Sophos's hosts and paths, as its published Postman collection and developer.sophos.com name them
(docs/architecture.md, Sophos API facts)."""

from __future__ import annotations

from typing import Final

DEFAULT_TOKEN_URL: Final = "https://id.sophos.com/api/v2/oauth2/token"
DEFAULT_GLOBAL_URL: Final = "https://api.central.sophos.com"

WHOAMI: Final = "/whoami/v1"
TENANTS: Final = "/partner/v1/tenants"
LICENSES: Final = "/licenses/v1/licenses"


def billing_usage(year: int, month: int) -> str:
    """The path of a month's billing usage report (the invoice report)."""
    if not 1 <= month <= 12:
        raise ValueError(f"month must be 1..12, got {month}")
    return f"/partner/v1/billing/usage/{year}/{month}"
