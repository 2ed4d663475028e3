"""Sophos API records as the validation tests feed them: a billing line, a tenant and a licence that pass
every contract, each with the changes a test asks for (MISSING drops a field), and landed rows of them."""

from __future__ import annotations

import json

TENANT = "3fa85f64-5717-4562-b3fc-2c963f66afa6"
OTHER_TENANT = "9b2d1c3e-0f4a-4b5c-8d6e-7f8091a2b3c4"
PARTNER = "11111111-2222-4333-8444-555555555555"
MISSING = object()


def billing_line(**changes) -> dict:
    line = {
        "partnerAccountId": "1234567",
        "partnerAccountName": "Acme Reseller Ltd",
        "billingStartDate": "2026-10-01",
        "billingEndDate": "2026-10-31",
        "orderNumber": "SO000001",
        "orderLineItemNumber": "10",
        "accountNumberOrSerialNumber": "C00000001",
        "productDescription": "Sophos Intercept X Advanced",
        "productGroup": "Endpoint",
        "sku": "CIXA0001MSPTA",
        "productCode": "CIXA0001",
        "billableQuantity": 25,
        "actualQuantity": 24,
        "orderedQuantity": 25,
        "externalId": "CRM-00001",
        "accountId": TENANT,
        "accountStatus": "active",
        "unitPrice": "1.40",
        "unitPriceCurrency": "EUR",
        "netPrice": "1.26",
        "netPriceCurrency": "EUR",
        "unitMsrp": "1.75",
        "unitMsrpCurrency": "EUR",
        "priceWithTaxes": "1.51",
        "priceWithTaxesCurrency": "EUR",
        "additionalDiscountPercentage": "10.00",
        "distributorAccountName": "Big Distribution GmbH",
    }
    return _apply(line, changes)


def tenant(**changes) -> dict:
    item = {
        "id": TENANT,
        "showAs": "Müller GmbH",
        "name": "Müller GmbH",
        "dataGeography": "DE",
        "dataRegion": "eu01",
        "billingType": "term",
        "partner": {"id": PARTNER},
        "organization": {"id": OTHER_TENANT},
        "apiHost": "https://api-eu01.central.sophos.com",
    }
    return _apply(item, changes)


def license(**changes) -> dict:
    item = {
        "id": "5b0c7e9a-1d2f-4e3a-9b8c-7d6e5f4a3b2c",
        "licenseIdentifier": "CIXA-0000001",
        "product": {"code": "CIXA", "name": "Intercept X Advanced", "genericCode": "CIXA"},
        "startDate": "2026-01-01",
        "endDate": "2026-12-31",
        "perpetual": False,
        "type": "term",
        "quantity": 50,
        "unlimited": False,
        "usage": {"current": {"count": 42, "date": "2026-11-01", "collectedAt": "2026-11-01T03:07:00.000Z"}},
    }
    return _apply(item, changes)


def _apply(item: dict, changes: dict) -> dict:
    for name, value in changes.items():
        if value is MISSING:
            item.pop(name, None)
        else:
            item[name] = value
    return item


def rows(*items, account="sophos_default", tenant_id=None) -> list[tuple[str, str | None, str]]:
    return [(account, tenant_id, json.dumps(item)) for item in items]
