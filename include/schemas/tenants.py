"""Contract: a Sophos tenant (our customer), one item of GET /partner/v1/tenants.

Natural key: `id`. The same tenant seen through two credentials with the same content is kept once;
two different contents under one id are both rejected (`conflicting_duplicate`): we cannot know which
one Sophos meant. `partner.id` names the seller the tenant belongs to (mapping relies on it).

Field types as Sophos publishes them (Postman collection sophos/sophos-central-apis-postman, "Partner
API / Tenants / Enumerate tenants" and "Get tenant details", 2020-06-12 to 2026-01-08): every field is
a string; partner and organization are objects holding an id. Critical: id, name (mapping matches on
it) and partner.id. Everything else is INFORMATIONAL: a value of another JSON type is drift, kept as
its JSON text. IGNORED: `contact` (names, email, phone, address: personal data, documented in the
collection's "Create new tenant" body), `status` and `products`, which the load does not use.
"""

from __future__ import annotations

import pandera.pandas as pa
from pandera.typing import Series

from .checks import CODE_CHARS, Derived, OneOf, String, Text, Uuid
from .contract import Contract

BILLING_TYPES = ("term", "trial", "usage")


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


CONTRACT = Contract(
    model=Tenant,
    natural_key=("id",),
    informational=(
        "showAs",
        "dataGeography",
        "dataRegion",
        "billingType",
        "organization",
        "organization.id",
        "apiHost",
    ),
    ignored={
        "contact": "personal data: Support sees a customer's name, not its contact",
        "status": "not used by the load",
        "products": "not used by the load",
    },
    # sophos.stage_tenants
    stage={
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
    },
)
