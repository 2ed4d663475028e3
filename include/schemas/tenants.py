"""Contract: a Sophos tenant (our customer), one item of GET /partner/v1/tenants.

Natural key: `id`. The same tenant seen through two credentials with the same content is kept once;
two different contents under one id are both rejected (`conflicting_duplicate`): we cannot know which
one Sophos meant. `partner.id` names the seller the tenant belongs to (mapping relies on it).
"""
from __future__ import annotations

import pandera.pandas as pa
from pandera.typing import Series

from .checks import CODE_CHARS, Derived, NestedObject, OneOf, Text, Uuid

BILLING_TYPES = ("term", "trial", "usage")

NATURAL_KEY = ("id",)


class Tenant(pa.DataFrameModel):
    """One Sophos tenant. Required: id and name; everything else may be missing or null."""

    account: Series[object] = Derived()
    """The Airflow connection the record came through (added by validate)."""

    id: Series[object] = Uuid(required=True)
    name: Series[object] = Text(required=True)
    showAs: Series[object] = Text()
    dataGeography: Series[object] = Text(CODE_CHARS)
    dataRegion: Series[object] = Text(CODE_CHARS)
    billingType: Series[object] = OneOf(BILLING_TYPES)
    partner: Series[object] = NestedObject()
    partner_id: Series[object] = Uuid(alias="partner.id")
    organization: Series[object] = NestedObject()
    organization_id: Series[object] = Uuid(alias="organization.id")
    apiHost: Series[object] = Text(CODE_CHARS)

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
