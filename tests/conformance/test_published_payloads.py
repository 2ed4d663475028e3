"""Sophos's own published examples (fixtures/README.md names the source of each) pass through every part of
ours that reads them: the contracts, the client, and the simulator that stands in for Sophos in the tests."""

from __future__ import annotations

import json
from decimal import Decimal

import httpx
import pytest

from simulator.testing import run_simulator
from sophos_sync.errors import ConfigurationError, ReportNotAvailable, SophosApiError, SophosAuthError
from sophos_sync.sophos.client import SophosClient
from sophos_sync.validation.judge import validate
from tests.conformance.published import billing_lines, load, missing_from, shape, tenants

PARTNER = "d31ab2df-7005-4c06-bd7d-2bc8de44be06"


def rows(items, tenant_id=None, account="sophos_default"):
    return [(account, tenant_id, json.dumps(item)) for item in items]


def reasons(result) -> set[tuple[str, str | None, str | None]]:
    return set(
        zip(result.rejected["source_key"], result.rejected["check_name"], result.rejected["column_name"], strict=True)
    )


# --- the contracts ---------------------------------------------------------------------------------------------


def test_published_billing_lines_load_with_a_numeric_discount_once_their_dates_are_possible():
    """2024-07-15 is the newest version with every field. Its example dates are Postman's mock values (an end
    before the start); with the period made possible, every field loads, the discount as the number 25."""
    published = billing_lines("2024-07-15")
    lines = [
        {**line, "billingStartDate": "2026-10-01", "billingEndDate": "2026-10-31", "orderNumber": f"O-{n}"}
        for n, line in enumerate(published)
    ]
    result = validate("billing_usage", rows(lines))
    assert result.rejected.empty and not result.type_drift and result.unknown_fields == []
    assert list(result.valid["additional_discount_percentage"]) == [Decimal(25)] * 2
    assert list(result.valid["net_price"]) == ["1.40"] * 2 and list(result.valid["billable_quantity"]) == [20, 20]
    assert list(result.valid["partner_account_id"]) == [PARTNER] * 2
    assert "John Smith" not in result.valid.to_json() and "john.smith@example.com" not in result.valid.to_json()


def test_published_billing_lines_as_published_are_rejected_for_their_impossible_periods_only():
    result = validate("billing_usage", rows(billing_lines("2024-07-15")))
    assert result.valid.empty
    assert {(check, column) for _, check, column in reasons(result)} == {("billing_period_order", "billingEndDate")}
    assert result.rejected_rows == 2


def test_newest_published_billing_line_loads_without_prices_once_its_dates_are_possible():
    """The 2026-01-08 example drops every price, currency and discount (Sophos's PSA integrations sync usage
    only, too), and has 2021-04-31 for an end date. Prices are optional: with a possible period the line is
    valid, unpriced, in the contract's currency; as published only its impossible date is refused."""
    published = billing_lines("2026-01-08")[0]
    possible = {**published, "billingStartDate": "2026-10-01", "billingEndDate": "2026-10-31"}
    result = validate("billing_usage", rows([possible], account="sophos_eu"), contract_currencies={"sophos_eu": "EUR"})
    assert result.rejected.empty and result.unknown_fields == []
    staged = result.valid.iloc[0]
    assert staged["billable_quantity"] == 20 and staged["currency"] == "EUR"
    assert staged[["unit_price", "net_price", "unit_msrp", "price_with_taxes"]].isna().all()
    as_published = validate("billing_usage", rows([published]))
    assert {(check, column) for _, check, column in reasons(as_published)} == {("iso_date", "billingEndDate")}


def test_published_tenants_pass_except_postmans_urn_ids():
    result = validate("tenant", rows([*tenants(), load("tenant_details_2026-01-08.json")]))
    urn_tenant, urn_org = "urn:uuid:9144cd3d-94de-eef9-2b9a-afcd6c93351c", "5a90c8ab-4618-8f92-cdda-f3ce2c673be1"
    example = "a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d"
    # the list's and the details' copies of the example tenant differ (showAs, organization): both refused
    assert reasons(result) == {
        (urn_tenant, "uuid_format", "id"),
        (urn_tenant, "uuid_format", "partner.id"),
        (urn_org, "uuid_format", "organization.id"),
        (example, "conflicting_duplicate", "id"),
    }
    assert result.rejected_by_check["conflicting_duplicate"] == 2
    assert result.rejected_rows == result.received == 4 and result.unknown_fields == []


def test_published_tenant_details_alone_pass():
    result = validate("tenant", rows([load("tenant_details_2026-01-08.json")]))
    assert result.rejected.empty and result.unknown_fields == []


def test_published_licenses_pass_except_postmans_mock_values():
    newest = load("licenses_2026-01-08.json")
    result = validate("license", rows(newest["licenses"], newest["tenant"]["id"]))
    assert result.rejected.empty and result.valid.iloc[0].to_dict()["perpetual"] is True

    older = load("licenses_2024-07-15.json")
    result = validate("license", rows(older["licenses"], older["tenant"]["id"]))
    assert {(check, column) for _, check, column in reasons(result)} == {
        ("uuid_format", "id"),
        ("non_negative", "usage.current.count"),
        ("non_negative", "quantity"),
    }
    assert result.rejected_rows == 2


# --- the client, fed Sophos's exact bytes ----------------------------------------------------------------------


def published_sophos(request: httpx.Request) -> httpx.Response:
    """Answers with the published example bodies; whoami as a partner's (the example is a tenant's)."""
    if request.url.path == "/api/v2/oauth2/token":
        return httpx.Response(200, json=load("token_2026-01-08.json"))
    if request.url.path == "/whoami/v1":
        return httpx.Response(
            200,
            json={
                **load("whoami_2026-01-08.json"),
                "id": PARTNER,
                "idType": "partner",
                "apiHosts": {"global": "https://api.central.sophos.com"},
            },
        )
    if request.url.path == "/partner/v1/tenants":  # its pages figures are placeholders (50 of 50): one page
        page = load("tenants_page_2026-01-08.json")
        return httpx.Response(200, json={**page, "pages": {**page["pages"], "current": 1, "total": 1}})
    if request.url.path == "/licenses/v1/licenses":
        return httpx.Response(200, json=load("licenses_2026-01-08.json"))
    if request.url.path == "/partner/v1/billing/usage/2024/7":
        return httpx.Response(200, json={**load("billing_usage_page_2024-07-15.json"), "pages": {"size": 50}})
    if request.url.path == "/partner/v1/billing/usage/2024/8":
        return httpx.Response(404, json=load("billing_usage_404_2026-01-08.json"))
    return httpx.Response(500, json=load("error_500_2026-01-08.json"))


def client_for(handler) -> SophosClient:
    return SophosClient(
        client_id="id",
        client_secret="secret",
        transport=httpx.MockTransport(handler),
        max_attempts=1,
        sleep=lambda _: None,
    )


def test_client_reads_every_published_success_body():
    with client_for(published_sophos) as client:
        assert client.whoami().id == PARTNER
        assert list(client.tenants()) == load("tenants_page_2026-01-08.json")["items"]
        [result] = client.licenses([load("licenses_2026-01-08.json")["tenant"]["id"]])
        assert result.licenses == load("licenses_2026-01-08.json")["licenses"]
        assert list(client.billing_usage(2024, 7)) == billing_lines("2024-07-15")


def test_client_reads_every_published_error_body():
    with client_for(published_sophos) as client:
        with pytest.raises(ReportNotAvailable, match="no billing usage report for 2024-08"):
            client.billing_usage(2024, 8)
        with pytest.raises(SophosApiError, match="500"):
            client.billing_usage(2024, 9)
    refused = client_for(lambda request: httpx.Response(401, json=load("token_error.json")))
    with refused, pytest.raises(SophosAuthError, match="oauth.invalid_client_secret|Unauthorized"):
        refused.whoami()


def test_client_refuses_the_published_whoami_of_a_tenant():
    def tenant_caller(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/whoami/v1":
            return httpx.Response(200, json=load("whoami_2026-01-08.json"))
        return published_sophos(request)

    with client_for(tenant_caller) as client, pytest.raises(ConfigurationError, match="belongs to a tenant"):
        client.whoami()


# --- the simulator speaks the published shapes -----------------------------------------------------------------


@pytest.fixture(scope="module")
def sim():
    with run_simulator(scale="small", seed=3, today="2026-11-25") as handle:
        yield handle


def served(sim, path: str, *, partner: bool = True, tenant: str | None = None, params=None) -> httpx.Response:
    client_id, secret, partner_id = sim.credentials[0]
    token = httpx.post(
        sim.token_url,
        data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret, "scope": "token"},
    ).json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    if partner:
        headers["X-Partner-ID"] = partner_id
    if tenant:
        headers["X-Tenant-ID"] = tenant
    return httpx.get(f"{sim.base_url}{path}", headers=headers, params=params, timeout=30)


def test_simulator_token_answers_have_the_published_shapes(sim):
    client_id, secret, _ = sim.credentials[0]
    ok = httpx.post(
        sim.token_url,
        data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret, "scope": "token"},
    )
    bad = httpx.post(
        sim.token_url,
        data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": "wrong", "scope": "token"},
    )
    assert missing_from(shape(load("token_2026-01-08.json")), shape(ok.json())) == []
    assert bad.status_code == 401 and missing_from(shape(load("token_error.json")), shape(bad.json())) == []


def test_simulator_whoami_tenants_and_tenant_details_have_the_published_shapes(sim):
    whoami = load("whoami_2026-01-08.json")
    del whoami["apiHosts"]["dataRegion"]  # the example is a tenant's; a partner's names the global host only
    answer = served(sim, "/whoami/v1", partner=False).json()
    assert missing_from(shape(whoami), shape(answer)) == []
    assert answer["apiHosts"]["global"] == "https://api.central.sophos.com"

    page = served(sim, "/partner/v1/tenants", params={"page": 1, "pageSize": 100, "pageTotal": "true"}).json()
    published = {**load("tenants_page_2026-01-08.json"), "items": tenants()}
    assert missing_from(shape(published), shape(page)) == []
    for item in page["items"]:
        assert {"status", "contact", "products"} <= set(item)
    one = page["items"][0]
    details = served(sim, f"/partner/v1/tenants/{one['id']}")
    assert details.status_code == 200 and details.json() == one
    assert missing_from(shape(load("tenant_details_2026-01-08.json")), shape(details.json())) == []
    assert served(sim, "/partner/v1/tenants/00000000-0000-4000-8000-000000000000").status_code == 404


def test_simulator_billing_pages_and_errors_have_the_published_shapes(sim):
    first = served(sim, "/partner/v1/billing/usage/2026/10", params={"pageSize": 5, "pageTotal": "true"}).json()
    second = served(
        sim,
        "/partner/v1/billing/usage/2026/10",
        params={"pageSize": 5, "pageTotal": "true", "pageFromKey": first["pages"]["nextKey"]},
    ).json()
    published = load("billing_usage_page_2024-07-15.json")
    # every published field is on the simulator's lines: those a line may lack (accountId on a device line,
    # externalId) are looked for over both pages
    lines = first["items"] + second["items"]
    assert missing_from(shape(published["items"]), shape([{k: v for line in lines for k, v in line.items()}])) == []
    assert missing_from(shape(published["pages"]), shape({**first["pages"], **second["pages"]})) == []
    assert all(type(line["additionalDiscountPercentage"]) in (int, float) for line in lines)

    missing = served(sim, "/partner/v1/billing/usage/2026/11")
    assert missing.status_code == 404
    assert missing_from(shape(load("billing_usage_404_2026-01-08.json")), shape(missing.json())) == []


def test_simulator_licenses_have_the_published_shapes(sim):
    listed = served(sim, "/partner/v1/tenants", params={"page": 1, "pageSize": 20}).json()["items"]
    answers = [served(sim, "/licenses/v1/licenses", partner=False, tenant=t["id"]).json() for t in listed]
    # a licence may lack endDate (perpetual) or quantity (unlimited): fields are looked for over them all
    answer = {**answers[0], "licenses": [{k: v for a in answers for item in a["licenses"] for k, v in item.items()}]}
    for version in ("2026-01-08", "2024-07-15"):
        published = load(f"licenses_{version}.json")
        del published["organization"]  # only for a tenant of an enterprise organization
        assert missing_from(shape(published), shape(answer)) == [], version
