"""Contract: a Sophos licence (a subscription), one item of GET /licenses/v1/licenses for one tenant.

The API has no tenant field in the item: the tenant is the one the call was made for (`tenantId`,
added by validate from the landing record). Natural key: `id`. The same licence seen twice (two
credentials) with the same tenant and content is kept once; different copies are all rejected.
There is no status field: status is derived at load time from dates and the account status.

Field types as Sophos publishes them (Postman collection sophos/sophos-central-apis-postman, "Licenses
API / Licensing / Get licenses", 2024-07-15 and 2026-01-08): strings, perpetual and unlimited booleans,
quantity and usage.current.count integers, dates "YYYY-MM-DD", collectedAt an ISO timestamp string.
Critical: id, the tenant, product.code, type, quantity, dates, usage.current.count. Everything else is
INFORMATIONAL: a value of another JSON type is drift, not a rejection.
"""

from __future__ import annotations

import pandera.pandas as pa
from pandera.typing import Series

from .checks import CODE_CHARS, Boolean, Derived, Flag, Integer, IsoDate, OneOf, Quantity, String, Text, Uuid
from .contract import Contract

LICENSE_TYPES = ("trial", "term", "usage", "ordered", "enterprise", "perpetual")


class License(pa.DataFrameModel):
    """One licence. Required: id, the tenant it was listed for, product.code and type."""

    account: Series[String] = Derived()
    """The Airflow connection the record came through (added by validate)."""
    tenantId: Series[String] = Uuid(required=True)
    """The tenant whose licences were asked for (X-Tenant-ID of the call; added by validate)."""

    id: Series[String] = Uuid(required=True)
    licenseIdentifier: Series[String] = Text(CODE_CHARS)
    product_code: Series[String] = Text(CODE_CHARS, required=True, alias="product.code")
    product_name: Series[String] = Text(alias="product.name")
    product_genericCode: Series[String] = Text(CODE_CHARS, alias="product.genericCode")
    startDate: Series[String] = IsoDate()
    endDate: Series[String] = IsoDate()
    """Missing for perpetual licences."""
    perpetual: Series[Boolean] = Flag()
    type: Series[String] = OneOf(LICENSE_TYPES, required=True)
    quantity: Series[Integer] = Quantity()
    """Missing when the licence is unlimited."""
    unlimited: Series[Boolean] = Flag()
    usage_current_count: Series[Integer] = Quantity(alias="usage.current.count")
    usage_current_date: Series[String] = IsoDate(alias="usage.current.date")
    usage_current_collectedAt: Series[String] = Text(CODE_CHARS, alias="usage.current.collectedAt")

    class Config:
        name = "license"
        strict = True


CONTRACT = Contract(
    model=License,
    natural_key=("id",),
    informational=(
        "licenseIdentifier",
        "product.name",
        "product.genericCode",
        "perpetual",
        "unlimited",
        "usage.current.collectedAt",
    ),
    # sophos.stage_licenses
    stage={
        "account": "account",
        "subscription_id": "id",
        "license_identifier": "licenseIdentifier",
        "sophos_customer_id": "tenantId",
        "product_code": "product.code",
        "product_name": "product.name",
        "product_generic_code": "product.genericCode",
        "type": "type",
        "quantity": "quantity",
        "unlimited": "unlimited",
        "perpetual": "perpetual",
        "usage_count": "usage.current.count",
        "start_date": "startDate",
        "end_date": "endDate",
    },
)
