"""Contract: one line of the month's invoice report, GET /partner/v1/billing/usage/{year}/{month}.

The API marks every field optional; we require what identifies a billed use: its period, its product
(sku) and how many units (billableQuantity; negative on a credit line, a refund or correction). Prices are
optional: Sophos's newest published example (2026-01-08) has no price, currency or discount at all, and
Sophos's own PSA integrations sync usage only, so a line without prices is valid and loads unpriced (a
distributor's price list may value it at load time). A line that carries a price needs a currency: its
own, else the distributor contract's (`contractCurrency`, recorded with the extract), else it is rejected
(`currency_required`). accountId (the tenant) may be missing: standalone device lines have none.

Natural key (NATURAL_KEY, joined into `lineKey`, the invoice-line key Finance sees): identical copies
of a line are kept once; copies that differ are all rejected (`conflicting_duplicate`), because we
cannot know which one Sophos meant and a wrong amount is worse than a missing one.

Money: prices are decimal strings ("1.40"); they stay strings until PostgreSQL's numeric, never float.
Quantities are JSON integers: "5" and 2.5 are refused, and so is 5.0, because a float where an integer
belongs means the producer changed, and we would rather say so than guess.
Currency: one per line. `currency` is netPriceCurrency, else unitPriceCurrency, else the contract's;
every currency the line names must agree (the stage table keeps one for all its amounts).
Amount: unitPrice x billableQuantity, computed in PostgreSQL (sophos.invoice_lines.line_amount, where the
rule and its sources are written down); netPrice, read by Sophos's own tooling as the order line's total,
is kept as sent and checked per order line (finance.order_line_checks).

Field types as Sophos publishes them (Postman collection sophos/sophos-central-apis-postman, "Partner
API / Billing / Get usage report", versions 2021-08-26 to 2026-01-08; tests/conformance/fixtures):
prices and currencies are strings ("1.40", "USD"); billableQuantity, actualQuantity and orderedQuantity
are integers (20); dates are "YYYY-MM-DD" strings; partnerAccountId is a UUID string and
partnerEdiAccountNumber the 7-digit account number as a string ("1231231");
additionalDiscountPercentage is a JSON number (25) in every version, so it is a Number: a JSON number
or a decimal string, read from its JSON text into numeric(9, 4) (12.5 stays 12.5, never a float).

Policy: the fields money and identity depend on are critical: a value of another JSON type rejects the
line, and in every line it stops the month (ContractViolation). INFORMATIONAL fields are not: a value
of another JSON type is drift (kept as its JSON text in a text column, null in a Number column) and
the line loads. IGNORED fields are known and never read: the contact fields are personal data that no
table of ours needs from a billing line.
"""

from __future__ import annotations

import pandas as pd
import pandera.pandas as pa
import pyarrow.compute as pc
from pandera.typing import Series

from .checks import (
    CODE_CHARS,
    CURRENCIES,
    Currency,
    Derived,
    FromLanding,
    Integer,
    IsoDate,
    Money,
    Number,
    OneOf,
    Percentage,
    Quantity,
    SignedQuantity,
    String,
    Text,
    Uuid,
    is_iso_date,
)
from .contract import Contract

ACCOUNT_STATUSES = ("active", "suspended", "canceled")

NATURAL_KEY = (
    "partnerAccountId",
    "orderNumber",
    "orderLineItemNumber",
    "accountNumberOrSerialNumber",
    "sku",
    "billingStartDate",
    "billingEndDate",
)

CURRENCY_FIELDS = ("netPriceCurrency", "unitPriceCurrency", "unitMsrpCurrency", "priceWithTaxesCurrency")
PRICE_FIELDS = ("unitPrice", "netPrice", "unitMsrp", "priceWithTaxes")


class BillingUsageLine(pa.DataFrameModel):
    """One invoice line of one partner account for one billing period."""

    account: Series[String] = Derived()
    """The Airflow connection the record came through (added by validate)."""
    lineKey: Series[String] = Derived()
    """NATURAL_KEY joined by '|' (added by validation; `sophos_sync.validation.keys.line_key`)."""
    contractCurrency: Series[String] = FromLanding()
    """The currency of the distributor contract of the record's Sophos connection, if one is configured."""
    currency: Series[String] = Derived(nullable=True)
    """Derived (netPriceCurrency, else unitPriceCurrency, else contractCurrency): a priced line needs one."""

    partnerAccountId: Series[String] = Text(CODE_CHARS)
    """A UUID in Sophos's examples; kept as text, since it is part of every line's key already stored."""
    partnerEdiAccountNumber: Series[String] = Text(CODE_CHARS)
    partnerAccountName: Series[String] = Text()
    assignedAccountIdentifier: Series[String] = Text()
    distributorAccountName: Series[String] = Text()
    billingStartDate: Series[String] = IsoDate(required=True)
    billingEndDate: Series[String] = IsoDate(required=True)
    orderNumber: Series[String] = Text(CODE_CHARS)
    orderLineItemNumber: Series[String] = Text(CODE_CHARS)
    accountNumberOrSerialNumber: Series[String] = Text(CODE_CHARS)
    accountId: Series[String] = Uuid()
    """The tenant; missing on standalone device lines."""
    accountStatus: Series[String] = OneOf(ACCOUNT_STATUSES)
    externalId: Series[String] = Text(CODE_CHARS)
    sku: Series[String] = Text(CODE_CHARS, required=True)
    productCode: Series[String] = Text(CODE_CHARS)
    productDescription: Series[String] = Text()
    productGroup: Series[String] = Text(CODE_CHARS)
    billableQuantity: Series[Integer] = SignedQuantity(required=True)
    """Units billed; negative on a credit line."""
    actualQuantity: Series[Integer] = Quantity()
    orderedQuantity: Series[Integer] = Quantity()
    unitPrice: Series[String] = Money()
    unitPriceCurrency: Series[String] = Currency()
    netPrice: Series[String] = Money()
    """Kept as sent: the order line's total by Sophos's own tooling, checked per order line, not the amount."""
    netPriceCurrency: Series[String] = Currency()
    unitMsrp: Series[String] = Money()
    unitMsrpCurrency: Series[String] = Currency()
    priceWithTaxes: Series[String] = Money()
    priceWithTaxesCurrency: Series[String] = Currency()
    additionalDiscountPercentage: Series[Number] = Percentage()
    """Percent: 25 in Sophos's examples (a JSON number); "12.50" is read the same way."""

    @pa.dataframe_check(name="currency_mismatch", ignore_na=False)
    def one_currency_per_line(cls, lines: pd.DataFrame) -> pd.Series:
        """Every currency the line names is the line's currency (net, unit, MSRP, with taxes). Codes that
        are no currency at all are the `allowed_values` check's to report, not this one's."""
        currency = lines["currency"]
        ok = pd.Series(True, index=lines.index)
        for field in CURRENCY_FIELDS:
            named = lines[field]
            judged = named.isin(CURRENCIES) & currency.isin(CURRENCIES)
            ok &= (~judged | (named == currency)).fillna(True).astype(bool)
        return ok

    @pa.dataframe_check(name="currency_required", ignore_na=False)
    def priced_line_has_a_currency(cls, lines: pd.DataFrame) -> pd.Series:
        """A line that carries any price has a currency (its own or the contract's); an unpriced one may not."""
        priced = lines[list(PRICE_FIELDS)].notna().any(axis=1)
        return (~priced | lines["currency"].notna()).astype(bool)

    @pa.dataframe_check(name="billing_period_order", ignore_na=False)
    def period_starts_before_it_ends(cls, lines: pd.DataFrame) -> pd.Series:
        """billingStartDate <= billingEndDate (ISO dates compare as strings; malformed ones are judged
        by iso_date, not here)."""
        start, end = lines["billingStartDate"], lines["billingEndDate"]
        both = pd.Series(is_iso_date(start) & is_iso_date(end), index=lines.index)
        return (~both | (start <= end)).fillna(True).astype(bool)

    class Config:
        name = "billing_usage"
        strict = True


def line_currency(columns: dict) -> object:
    """The line's currency: netPriceCurrency, else unitPriceCurrency, else the contract's (Arrow columns in,
    Arrow column out)."""
    return pc.coalesce(columns["netPriceCurrency"], columns["unitPriceCurrency"], columns["contractCurrency"])


CONTRACT = Contract(
    model=BillingUsageLine,
    natural_key=NATURAL_KEY,
    key_column="lineKey",
    derived={"currency": line_currency},
    informational=(
        "partnerAccountName",
        "partnerEdiAccountNumber",
        "assignedAccountIdentifier",
        "distributorAccountName",
        "externalId",
        "productCode",
        "productDescription",
        "productGroup",
        "additionalDiscountPercentage",
    ),
    ignored={
        name: "personal data: a billing line's contact is not stored"
        for name in ("contactName", "contactEmail", "contactStreet", "contactCity", "contactCountry", "contactZip")
    },
    check_columns={
        "currency_mismatch": "netPriceCurrency",
        "currency_required": "currency",
        "billing_period_order": "billingEndDate",
    },
    # sophos.stage_billing_lines
    stage={
        "account": "account",
        "line_key": "lineKey",
        "sophos_customer_id": "accountId",
        "partner_account_id": "partnerAccountId",
        "partner_account_name": "partnerAccountName",
        "order_number": "orderNumber",
        "order_line_item_number": "orderLineItemNumber",
        "account_number_or_serial_number": "accountNumberOrSerialNumber",
        "sku": "sku",
        "product_code": "productCode",
        "product_description": "productDescription",
        "product_group": "productGroup",
        "billable_quantity": "billableQuantity",
        "actual_quantity": "actualQuantity",
        "ordered_quantity": "orderedQuantity",
        "unit_price": "unitPrice",
        "net_price": "netPrice",
        "unit_msrp": "unitMsrp",
        "price_with_taxes": "priceWithTaxes",
        "additional_discount_percentage": "additionalDiscountPercentage",
        "currency": "currency",
        "account_status": "accountStatus",
        "external_id": "externalId",
        "distributor_account_name": "distributorAccountName",
        "billing_start_date": "billingStartDate",
        "billing_end_date": "billingEndDate",
    },
)
