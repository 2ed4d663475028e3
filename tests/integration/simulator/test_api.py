"""Contract tests of the simulator over real HTTP on 127.0.0.1, against docs/architecture.md, Sophos API facts."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import pytest

from simulator import generator
from simulator.testing import ROOT, run_simulator

SOPHOS_ERROR_KEYS = {"error", "message", "correlationId", "code", "createdAt", "requestId", "docUrl"}
TODAY = "2026-10-26"


@pytest.fixture(scope="module")
def sim():
    with run_simulator(scale="small", seed=1, today=TODAY) as handle:
        yield handle


@pytest.fixture(scope="module")
def http(sim):
    with httpx.Client(base_url=sim.base_url, timeout=10) as client:
        yield client


def _token(http: httpx.Client, client_id: str, secret: str) -> str:
    response = http.post(
        "/api/v2/oauth2/token",
        data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret, "scope": "token"},
    )
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


@pytest.fixture(scope="module")
def partner(sim, http):
    """Headers of the first partner credential, and its ids."""
    client_id, secret, partner_id = sim.credentials[0]
    token = _token(http, client_id, secret)
    return {
        "auth": {"Authorization": f"Bearer {token}"},
        "partner_id": partner_id,
        "headers": {"Authorization": f"Bearer {token}", "X-Partner-ID": partner_id},
    }


def _assert_sophos_error(response: httpx.Response, status: int) -> dict:
    assert response.status_code == status
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == SOPHOS_ERROR_KEYS
    assert uuid.UUID(body["correlationId"]) and uuid.UUID(body["requestId"])
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", body["createdAt"])
    assert body["message"]
    return body


# --- token --------------------------------------------------------------------------------------------------


def test_token_is_issued_for_client_credentials_with_a_success_error_code(sim, http):
    client_id, secret, _ = sim.credentials[1]
    response = http.post(
        "/api/v2/oauth2/token",
        data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret, "scope": "token"},
    )
    body = response.json()
    assert response.status_code == 200
    assert body["token_type"] == "bearer" and body["expires_in"] == 3600 and body["errorCode"] == "success"
    assert body["access_token"] and body["refresh_token"] and uuid.UUID(body["trackingId"])


def test_wrong_secret_gets_401_with_the_identity_error_body(sim, http):
    client_id, _, _ = sim.credentials[0]
    response = http.post(
        "/api/v2/oauth2/token",
        data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": "wrong", "scope": "token"},
    )
    assert response.status_code == 401
    body = response.json()
    assert set(body) == {"errorCode", "message", "trackingId"}
    assert body["errorCode"] == "oauth.invalid_client_secret"


def test_unknown_client_and_wrong_grant_type_are_refused(http):
    unknown = http.post(
        "/api/v2/oauth2/token", data={"grant_type": "client_credentials", "client_id": "nobody", "client_secret": "x"}
    )
    assert unknown.status_code == 401 and unknown.json()["errorCode"].startswith("oauth.")
    grant = http.post("/api/v2/oauth2/token", data={"grant_type": "password", "client_id": "x"})
    assert grant.status_code == 400 and set(grant.json()) == {"errorCode", "message", "trackingId"}


def test_expired_token_gets_401_and_a_new_token_works():
    with run_simulator(scale="small", token_ttl=1, today=TODAY) as short:
        client_id, secret, _ = short.credentials[0]
        with httpx.Client(base_url=short.base_url, timeout=10) as http:
            token = _token(http, client_id, secret)
            assert http.get("/whoami/v1", headers={"Authorization": f"Bearer {token}"}).status_code == 200
            time.sleep(1.1)
            _assert_sophos_error(http.get("/whoami/v1", headers={"Authorization": f"Bearer {token}"}), 401)
            fresh = _token(http, client_id, secret)
            assert http.get("/whoami/v1", headers={"Authorization": f"Bearer {fresh}"}).status_code == 200


@pytest.mark.parametrize("authorization", [None, "Bearer", "Bearer not-a-token", "Basic abc"])
def test_missing_or_unknown_bearer_token_gets_401(http, partner, authorization):
    headers = {"X-Partner-ID": partner["partner_id"]}
    if authorization is not None:
        headers["Authorization"] = authorization
    for path in ("/whoami/v1", "/partner/v1/tenants", "/partner/v1/billing/usage/2026/10"):
        _assert_sophos_error(http.get(path, headers=headers), 401)


# --- whoami -------------------------------------------------------------------------------------------------


def test_whoami_names_the_partner(http, partner):
    body = http.get("/whoami/v1", headers=partner["auth"]).json()
    assert body == {
        "id": partner["partner_id"],
        "idType": "partner",
        "apiHosts": {"global": "https://api.central.sophos.com"},
    }


# --- tenants ------------------------------------------------------------------------------------------------


def test_tenant_pages_add_up_to_all_tenants_with_page_totals(sim, http, partner):
    expected = sim.world.partners[0].tenants
    items, page = [], 1
    while True:
        body = http.get(
            "/partner/v1/tenants", headers=partner["headers"], params={"page": page, "pageSize": 7, "pageTotal": "true"}
        ).json()
        assert body["pages"] == {
            "current": page,
            "size": 7,
            "total": -(-len(expected) // 7),
            "items": len(expected),
            "maxSize": 100,
        }
        items += body["items"]
        if page >= body["pages"]["total"]:
            break
        page += 1
    assert items == expected


def test_tenant_pages_without_page_total_and_past_the_end(http, partner):
    body = http.get("/partner/v1/tenants", headers=partner["headers"], params={"page": 99}).json()
    assert body == {"items": [], "pages": {"current": 99, "size": 50, "maxSize": 100}}


@pytest.mark.parametrize("params", [{"pageSize": 101}, {"pageSize": 0}, {"page": 0}, {"page": "x"}])
def test_tenant_paging_outside_the_limits_gets_400(http, partner, params):
    _assert_sophos_error(http.get("/partner/v1/tenants", headers=partner["headers"], params=params), 400)


def test_missing_partner_header_gets_401_and_a_foreign_one_403(sim, http, partner):
    _assert_sophos_error(http.get("/partner/v1/tenants", headers=partner["auth"]), 401)
    other_partner = sim.credentials[1][2]
    for path in ("/partner/v1/tenants", "/partner/v1/billing/usage/2026/10"):
        _assert_sophos_error(http.get(path, headers={**partner["auth"], "X-Partner-ID": other_partner}), 403)


# --- licences -----------------------------------------------------------------------------------------------


def test_licenses_of_an_own_tenant_are_served(sim, http, partner):
    tenant = sim.world.partners[0].tenants[3]
    response = http.get("/licenses/v1/licenses", headers={**partner["auth"], "X-Tenant-ID": tenant["id"]})
    assert response.status_code == 200
    assert response.json() == {
        "tenant": {"id": tenant["id"]},
        "licenses": sim.world.partners[0].license_objects(tenant["id"]),
    }


def test_licenses_of_another_partners_tenant_get_403(sim, http, partner):
    foreign = sim.world.partners[1].tenants[0]["id"]
    for tenant_id in (foreign, str(uuid.uuid4())):
        response = http.get("/licenses/v1/licenses", headers={**partner["auth"], "X-Tenant-ID": tenant_id})
        _assert_sophos_error(response, 403)


def test_licenses_without_tenant_header_get_401(http, partner):
    _assert_sophos_error(http.get("/licenses/v1/licenses", headers=partner["auth"]), 401)


def test_distributor_credential_reads_licenses_of_both_resellers_tenants(sim, http):
    client_id, secret, _ = sim.credentials[-1]
    headers = {"Authorization": f"Bearer {_token(http, client_id, secret)}"}
    distributor = sim.world.partners[-1]
    by_partner = {t["partner"]["id"]: t["id"] for t in distributor.tenants}
    assert len(by_partner) == 2
    for tenant_id in by_partner.values():
        response = http.get("/licenses/v1/licenses", headers={**headers, "X-Tenant-ID": tenant_id})
        assert response.status_code == 200


# --- billing usage ------------------------------------------------------------------------------------------


def _all_billing_pages(http, headers, path, page_size):
    items, keys, params = [], [], {"pageSize": page_size, "pageTotal": "true"}
    while True:
        response = http.get(path, headers=headers, params=params)
        assert response.status_code == 200, response.text
        body = response.json()
        items += body["items"]
        next_key = body["pages"].get("nextKey")
        if next_key is None:
            return items, keys, body["pages"]
        keys.append(next_key)
        params = {"pageSize": page_size, "pageFromKey": next_key}


def test_billing_key_pages_add_up_to_the_month_and_the_keys_end(sim, http, partner):
    expected = sim.billing(0, "2026-10")
    items, keys, last = _all_billing_pages(http, partner["headers"], "/partner/v1/billing/usage/2026/10", 40)
    assert items == expected
    assert len(keys) == -(-len(expected) // 40) - 1 and len(set(keys)) == len(keys)
    assert "nextKey" not in last and last["fromKey"] == keys[-1]


def test_billing_page_total_adds_total_and_items(sim, http, partner):
    expected = len(sim.billing(0, "2026-10"))
    pages = http.get(
        "/partner/v1/billing/usage/2026/10", headers=partner["headers"], params={"pageSize": 50, "pageTotal": "true"}
    ).json()["pages"]
    assert pages["total"] == -(-expected // 50) and pages["items"] == expected
    assert pages["size"] == 50 and pages["maxSize"] == 1000 and "nextKey" in pages
    plain = http.get("/partner/v1/billing/usage/2026/10", headers=partner["headers"], params={"pageSize": 50}).json()[
        "pages"
    ]
    assert "total" not in plain and "items" not in plain


def test_one_page_month_has_no_next_key(sim, http, partner):
    body = http.get("/partner/v1/billing/usage/2026/10", headers=partner["headers"], params={"pageSize": 1000}).json()
    assert "nextKey" not in body["pages"] and len(body["items"]) == len(sim.billing(0, "2026-10"))


@pytest.mark.parametrize("params", [{"pageSize": 1001}, {"pageFromKey": "garbage!"}, {"pageSize": -1}])
def test_billing_paging_outside_the_limits_gets_400(http, partner, params):
    _assert_sophos_error(http.get("/partner/v1/billing/usage/2026/10", headers=partner["headers"], params=params), 400)


def test_page_key_of_another_month_is_refused(http, partner):
    key = http.get("/partner/v1/billing/usage/2026/9", headers=partner["headers"], params={"pageSize": 10}).json()[
        "pages"
    ]["nextKey"]
    _assert_sophos_error(
        http.get("/partner/v1/billing/usage/2026/10", headers=partner["headers"], params={"pageFromKey": key}), 400
    )


def test_report_appears_on_the_report_day_and_not_before(sim, http, partner):
    path = "/partner/v1/billing/usage/2026/11"
    try:
        sim.set_today("2026-11-25")
        _assert_sophos_error(http.get(path, headers=partner["headers"]), 404)
        sim.set_today("2026-11-26")
        assert http.get(path, headers=partner["headers"]).status_code == 200
        assert http.get("/_sim/today").json() == {"today": "2026-11-26", "override": True}
    finally:
        sim.set_today(TODAY)


@pytest.mark.parametrize("path", ["/partner/v1/billing/usage/2026/13", "/partner/v1/billing/usage/2026/oct"])
def test_impossible_billing_month_gets_400(http, partner, path):
    _assert_sophos_error(http.get(path, headers=partner["headers"]), 400)


def test_padded_and_unpadded_month_are_the_same_report(http, partner):
    padded = http.get("/partner/v1/billing/usage/2026/09", headers=partner["headers"]).json()
    plain = http.get("/partner/v1/billing/usage/2026/9", headers=partner["headers"]).json()
    assert padded["items"] == plain["items"]


def test_unknown_path_and_wrong_method_get_sophos_error_bodies(http):
    _assert_sophos_error(http.get("/partner/v1/nothing"), 404)
    _assert_sophos_error(http.post("/whoami/v1"), 405)


def test_control_endpoint_rejects_a_bad_date(http):
    _assert_sophos_error(http.post("/_sim/today", json={"today": "26.10.2026"}), 400)


# --- no faults means no failures --------------------------------------------------------------------------


def test_with_all_faults_at_zero_hundreds_of_requests_all_succeed(sim, http, partner):
    tenants = sim.world.partners[0].tenants
    statuses = []
    for n in range(300):
        kind = n % 3
        if kind == 0:
            response = http.get("/partner/v1/tenants", headers=partner["headers"], params={"page": 1 + n % 3})
        elif kind == 1:
            response = http.get(
                "/licenses/v1/licenses", headers={**partner["auth"], "X-Tenant-ID": tenants[n % len(tenants)]["id"]}
            )
        else:
            response = http.get("/partner/v1/billing/usage/2026/10", headers=partner["headers"])
        response.json()
        statuses.append(response.status_code)
    assert statuses == [200] * 300


# --- dataset files ------------------------------------------------------------------------------------------

MESSY_TENANT = {
    "id": "7d3a5c1e-0000-4000-8000-000000000001",
    "showAs": "  Café Nœud, GmbH.",
    "name": None,
    "billingType": "weird",
    "partner": {"id": "not-a-uuid"},
    "extra": {"nested": [1, 2.5, None, True]},
    "apiHost": "https://api-eu01.central.sophos.com",
    "dataRegion": 17,
}
MESSY_LINE = {
    "netPrice": "1,40",
    "billableQuantity": -3,
    "billingStartDate": "2026-02-30",
    "accountStatus": "zombie",
    "unitPrice": 1.4,
    "big": 12345678901234567890,
    "emoji": "🧾",
    "accountId": None,
}


@pytest.fixture
def messy_dataset(tmp_path: Path) -> Path:
    data = {
        "partners": [
            {
                "client_id": "c1",
                "client_secret": "s1",
                "partner_id": "p-1",
                "tenants": [MESSY_TENANT, {"name": "no id at all"}, "not even an object"],
                "licenses": {MESSY_TENANT["id"]: [{"id": 5, "product": None}], "only-in-licences": []},
                "billing": {"2026-10": [MESSY_LINE, {}, MESSY_LINE]},
            },
            {
                "client_id": "c2",
                "client_secret": "s2",
                "partner_id": "p-2",
                "id_type": "organization",
                "tenants": [],
                "licenses": {},
                "billing": {},
            },
        ]
    }
    path = tmp_path / "messy.json"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path


def _canonical(obj) -> str:
    return json.dumps(obj, ensure_ascii=False)


def test_dataset_objects_are_served_verbatim(messy_dataset):
    data = json.loads(messy_dataset.read_text(encoding="utf-8"))
    first = data["partners"][0]
    with (
        run_simulator(dataset_path=messy_dataset, today=TODAY) as sim,
        httpx.Client(base_url=sim.base_url, timeout=10) as http,
    ):
        assert sim.dataset() == data and sim.credentials[0] == ("c1", "s1", "p-1")
        token = _token(http, "c1", "s1")
        headers = {"Authorization": f"Bearer {token}", "X-Partner-ID": "p-1"}
        tenants = http.get("/partner/v1/tenants", headers=headers, params={"pageSize": 2}).json()["items"]
        tenants += http.get("/partner/v1/tenants", headers=headers, params={"page": 2, "pageSize": 2}).json()["items"]
        assert [_canonical(t) for t in tenants] == [_canonical(t) for t in first["tenants"]]
        lines, _, _ = _all_billing_pages(http, headers, "/partner/v1/billing/usage/2026/10", 1)
        assert [_canonical(line) for line in lines] == [_canonical(line) for line in first["billing"]["2026-10"]]
        licenses = http.get(
            "/licenses/v1/licenses",
            headers={"Authorization": headers["Authorization"], "X-Tenant-ID": MESSY_TENANT["id"]},
        )
        assert _canonical(licenses.json()["licenses"]) == _canonical(first["licenses"][MESSY_TENANT["id"]])
        listed_only_in_licenses = http.get(
            "/licenses/v1/licenses",
            headers={"Authorization": headers["Authorization"], "X-Tenant-ID": "only-in-licences"},
        )
        assert listed_only_in_licenses.json()["licenses"] == []
        _assert_sophos_error(http.get("/partner/v1/billing/usage/2026/9", headers=headers), 404)


def test_dataset_credential_of_an_organization_says_so_in_whoami(messy_dataset):
    with (
        run_simulator(dataset_path=messy_dataset, today=TODAY) as sim,
        httpx.Client(base_url=sim.base_url, timeout=10) as http,
    ):
        token = _token(http, "c2", "s2")
        body = http.get("/whoami/v1", headers={"Authorization": f"Bearer {token}"}).json()
        assert body["idType"] == "organization" and body["id"] == "p-2"


def test_dataset_report_still_waits_for_the_report_day(messy_dataset):
    with (
        run_simulator(dataset_path=messy_dataset, today="2026-10-25") as sim,
        httpx.Client(base_url=sim.base_url, timeout=10) as http,
    ):
        headers = {"Authorization": f"Bearer {_token(http, 'c1', 's1')}", "X-Partner-ID": "p-1"}
        _assert_sophos_error(http.get("/partner/v1/billing/usage/2026/10", headers=headers), 404)
        sim.set_today("2026-10-26")
        assert http.get("/partner/v1/billing/usage/2026/10", headers=headers).status_code == 200


def test_generate_writes_a_dataset_that_serves_the_same_as_the_scale(tmp_path):
    out = tmp_path / "small.json"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "simulator",
            "generate",
            "--scale",
            "small",
            "--seed",
            "1",
            "--months",
            "2026-09,2026-10",
            "--out",
            str(out),
        ],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    written = json.loads(out.read_text(encoding="utf-8"))
    assert written == generator.dataset(generator.build_world("small", 1), ["2026-09", "2026-10"])
    assert set(written["partners"][0]["billing"]) == {"2026-09", "2026-10"}
    with (
        run_simulator(dataset_path=out, today=TODAY) as from_file,
        httpx.Client(base_url=from_file.base_url, timeout=10) as http,
    ):
        client_id, secret, partner_id = from_file.credentials[2]
        headers = {"Authorization": f"Bearer {_token(http, client_id, secret)}", "X-Partner-ID": partner_id}
        items, _, _ = _all_billing_pages(http, headers, "/partner/v1/billing/usage/2026/9", 100)
        assert items == written["partners"][2]["billing"]["2026-09"]


def test_serve_refuses_a_dataset_without_credentials(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"partners": [{"client_id": "x"}]}))
    result = subprocess.run(
        [sys.executable, "-m", "simulator", "serve", "--dataset", str(bad)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2
    assert "partners[0] lacks client_secret, partner_id" in result.stderr


# --- unpriced months ----------------------------------------------------------------------------------------

PRICE_FIELDS = {
    "unitPrice",
    "netPrice",
    "unitMsrp",
    "priceWithTaxes",
    "netPriceCurrency",
    "unitPriceCurrency",
    "additionalDiscountPercentage",
    "contactName",
    "orderedQuantity",
}


def test_unpriced_months_are_served_without_prices_and_the_handle_knows_it():
    with (
        run_simulator(scale="small", seed=1, today=TODAY, unpriced_months=["2026-09"]) as sim,
        httpx.Client(base_url=sim.base_url, timeout=10) as http,
    ):
        client_id, secret, partner_id = sim.credentials[0]
        headers = {"Authorization": f"Bearer {_token(http, client_id, secret)}", "X-Partner-ID": partner_id}
        september, _, _ = _all_billing_pages(http, headers, "/partner/v1/billing/usage/2026/9", 100)
        october, _, _ = _all_billing_pages(http, headers, "/partner/v1/billing/usage/2026/10", 100)
        assert september == sim.billing(0, "2026-09") and october == sim.billing(0, "2026-10")
        assert not any(PRICE_FIELDS & set(line) for line in september)
        assert all(PRICE_FIELDS - {"contactName"} <= set(line) for line in october)
        assert sim.world.unpriced_months == {(2026, 9)}
        credits = sim.world.billing(0, 2026, 9).credits
        assert credits and all(september[n]["billableQuantity"] < 0 for n in credits)


def test_generate_writes_unpriced_months_as_the_world_makes_them(tmp_path):
    out = tmp_path / "unpriced.json"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "simulator",
            "generate",
            "--scale",
            "small",
            "--seed",
            "2",
            "--months",
            "2026-09,2026-10",
            "--unpriced-months",
            "2026-10",
            "--out",
            str(out),
        ],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    written = json.loads(out.read_text(encoding="utf-8"))
    world = generator.build_world("small", 2, unpriced_months=["2026-10"])
    assert written == generator.dataset(world, ["2026-09", "2026-10"])
    assert "netPrice" in written["partners"][0]["billing"]["2026-09"][0]
    assert "netPrice" not in written["partners"][0]["billing"]["2026-10"][0]


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--dataset", "any.json", "--unpriced-months", "2026-10"], "use it with --scale, not --dataset"),
        (["--scale", "small", "--unpriced-months", "2026-13"], "is not YYYY-MM"),
    ],
)
def test_serve_refuses_unpriced_months_it_cannot_honour(arguments, message):
    result = subprocess.run(
        [sys.executable, "-m", "simulator", "serve", *arguments], cwd=ROOT, capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 2 and message in result.stderr
