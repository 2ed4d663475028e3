"""Contract: a Sophos tenant (our customer), one item of GET /partner/v1/tenants.

Natural key: `id`. The same tenant seen through two credentials with the same content is kept once;
two different contents under one id are both rejected (`conflicting_duplicate`): we cannot know which
one Sophos meant. `partner.id` names the seller the tenant belongs to (mapping relies on it).
"""
from __future__ import annotations

import pandera.pandas as pa
from pandera.typing import Series

from .checks import CODE_CHARS, Derived, OneOf, String, Text, Uuid

BILLING_TYPES = ("term", "trial", "usage")

NATURAL_KEY = ("id",)


class Tenant(pa.DataFrameModel):
    """One Sophos tenant. Required: id and name; everything else may be missing or null."""

    account: Series[String] = Derived()
    """The Airflow connection the record came through (added by validate)."""

    id: Series[String] = Uuid(required=True)
    name: Series[String] = Text(required=True)
    showAs: Series[String] = Text()
    dataGeography: Series[String] = Text(CODE_CHARS)
    dataRegion: Series[String] = Text(CODE_CHARS)
    billingType: Series[String] = OneOf(BILLING_TYPES)
    partner_id: Series[String] = Uuid(alias="partner.id")
    organization_id: Series[String] = Uuid(alias="organization.id")
    apiHost: Series[String] = Text(CODE_CHARS)

    class Config:
        name = "tenant"
        strict = True  # the frame holds exactly these columns: unknown API fields are drift, not columns


# sophos.stage_tenants column -> contract column, in table order (sync_run_id is added by the loader).
STAGE = {
    "account": "account",
    "sophos_customer_id": "id",
    "name": "name",
    "show_as": "showAs",
    "partner_id": "partner.id",
    "organization_id": "organization.id",
    "billing_type": "billingType",
    "data_region": "dataRegion",
    "data_geography": "dataGeography",
    "api_host": "apiHost",
}
