"""The review page's endpoints (plugins/sophos_review_plugin.py), through FastAPI's TestClient: mounted the way
the api-server mounts plugin apps, beside the simple auth manager's real login, against a real PostgreSQL.
Users: `support` (role USER: may resolve) and `viewer` (role VIEWER: read only)."""

from __future__ import annotations

import json
import uuid
from datetime import date

import psycopg
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from sophos_sync.mapping import customers
from sophos_sync.review import workflow
from tests.rows import open_run, stage_billing_line, stage_tenant

PARTNER_UNLINKED = "cccccccc-0000-4000-8000-000000000003"
PASSWORDS = {"support": "support-pw", "viewer": "viewer-pw"}
BASE = "http://testserver"
PAGE = "/sophos-review"


@pytest.fixture
def review_rows(unmapped, pg_dsn) -> dict[str, str]:
    """The command's test customers of seller A (big, small, and ambiguous without billing lines), and one
    of a Sophos partner no seller is linked to, recorded by a second run of October 2026."""
    stranger = str(uuid.uuid4())
    with psycopg.connect(pg_dsn) as conn:
        run = open_run(conn, "2026-10-01", dag_run_id="page-test")
        stage_tenant(conn, run, stranger, "Nobody's Bakery", PARTNER_UNLINKED)
        stage_billing_line(conn, run, "stranger-line", stranger, unit_price=12, billable_quantity=2, currency="EUR")
        customers.map_customers(conn, run)
        workflow.record_unmapped_customers(conn, run, date(2026, 10, 1))
    return {**unmapped, "stranger": stranger}


@pytest.fixture(scope="module")
def airflow_metadata(tmp_path_factory):
    """An Airflow metadata database of this module's own, holding the one table the auth manager reads
    (revoked tokens), in place of the process's default one for as long as these tests run."""
    from airflow import settings
    from airflow.models.revoked_token import RevokedToken

    url = f"sqlite:///{tmp_path_factory.mktemp('airflow-metadata') / 'airflow.db'}"
    previous = settings.SQL_ALCHEMY_CONN, settings.SQL_ALCHEMY_CONN_ASYNC
    settings.dispose_orm(do_log=False)
    settings.SQL_ALCHEMY_CONN, settings.SQL_ALCHEMY_CONN_ASYNC = url, url.replace("sqlite:", "sqlite+aiosqlite:")
    settings.configure_orm()
    RevokedToken.__table__.create(settings.engine)
    yield
    settings.dispose_orm(do_log=False)
    settings.SQL_ALCHEMY_CONN, settings.SQL_ALCHEMY_CONN_ASYNC = previous
    settings.configure_orm()


@pytest.fixture
def airflow_api(pg_dsn, tmp_path, monkeypatch, airflow_metadata):
    """An app like the api-server's: the simple auth manager (its /auth login) and the plugin's apps mounted
    at their prefixes."""
    from airflow.api_fastapi.app import init_auth_manager, purge_cached_app

    passwords = tmp_path / "passwords.json"
    passwords.write_text(json.dumps(PASSWORDS))
    for key, value in {
        "AIRFLOW__CORE__AUTH_MANAGER": "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "support:USER,viewer:VIEWER",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(passwords),
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "False",
        # Fixed for the session: Airflow caches its token signer and validator.
        "AIRFLOW__API_AUTH__JWT_SECRET": "review-page-tests-jwt-secret-" + "x" * 40,
        "AIRFLOW__API__SECRET_KEY": "review-page-tests-secret-key",
        "AIRFLOW__API__BASE_URL": BASE,
        "SOPHOS_SYNC_DB_DSN": pg_dsn,
    }.items():
        monkeypatch.setenv(key, value)
    import sophos_review_plugin

    purge_cached_app()
    app = FastAPI()
    init_auth_manager(app)
    for sub in sophos_review_plugin.SophosReviewPlugin.fastapi_apps:
        app.mount(sub["url_prefix"], sub["app"])
    yield app
    purge_cached_app()


def client_of(app: FastAPI, user: str | None) -> TestClient:
    """A browser-like client: signed in through the auth manager's login, holding its JWT in the cookie the
    Airflow UI uses."""
    client = TestClient(app, base_url=BASE, follow_redirects=False)
    if user:
        answer = client.post("/auth/token", json={"username": user, "password": PASSWORDS[user]})
        assert answer.status_code == 201, answer.text
        client.cookies.set("_token", answer.json()["access_token"])
    return client


@pytest.fixture
def support(airflow_api) -> TestClient:
    return client_of(airflow_api, "support")


@pytest.fixture
def viewer(airflow_api) -> TestClient:
    return client_of(airflow_api, "viewer")


@pytest.fixture
def anonymous(airflow_api) -> TestClient:
    return client_of(airflow_api, None)


def csrf(client: TestClient) -> dict[str, str]:
    return {"X-CSRF-Token": client.get(f"{PAGE}/api/session").json()["csrf_token"]}


def post_resolve(client: TestClient, customer: str, body: dict, headers: dict | None = None):
    headers = csrf(client) if headers is None else headers
    return client.post(f"{PAGE}/api/customers/{customer}/resolve", json=body, headers=headers)


def state_of(dsn: str, customer: str) -> tuple:
    with psycopg.connect(dsn) as conn:
        return conn.execute(
            """SELECT r.status, r.resolved_org_id, r.resolved_by, m.platform_org_id, m.method, m.mapped_by,
                      (SELECT count(*) FROM review.mapping_changes c WHERE c.sophos_customer_id = r.sophos_customer_id)
                 FROM review.unmapped_customers r
                 LEFT JOIN sophos.customer_mappings m ON m.sophos_customer_id = r.sophos_customer_id
                WHERE r.sophos_customer_id = %s""",
            (customer,),
        ).fetchone()


# --- Authentication and authorization ------------------------------------------------------------------


def every_endpoint(ids: dict[str, str]) -> list[tuple[str, str]]:
    return [
        ("GET", f"{PAGE}/api/session"),
        ("GET", f"{PAGE}/api/customers"),
        ("GET", f"{PAGE}/api/customers/{ids['big']}/organizations?q=har"),
        ("POST", f"{PAGE}/api/customers/{ids['big']}/resolve"),
    ]


def test_anonymous_requests_get_401_and_the_page_sends_them_to_airflows_login(anonymous, review_rows, pg_dsn):
    for method, path in every_endpoint(review_rows):
        answer = anonymous.request(method, path, json={"org_id": "org-a-harbour"})
        assert answer.status_code == 401, (method, path, answer.text)
        assert "Sign in to Airflow" in answer.json()["detail"]
    page = anonymous.get(f"{PAGE}/")
    assert page.status_code == 303
    assert page.headers["location"] == "../plugin/unmapped-sophos-customers"  # relative: fine behind a proxy
    framed = anonymous.get(f"{PAGE}/", headers={"Sec-Fetch-Dest": "iframe"})
    assert framed.status_code == 401 and 'target="_top"' in framed.text
    assert state_of(pg_dsn, review_rows["big"])[0] == "open"


def test_a_forged_or_foreign_token_is_401(airflow_api, review_rows):
    client = client_of(airflow_api, None)
    client.cookies.set("_token", "not.a.jwt")
    assert client.get(f"{PAGE}/api/customers").status_code == 401
    answer = client.get(f"{PAGE}/api/customers", headers={"Authorization": "Bearer forged"})
    assert answer.status_code == 401


def test_the_page_and_its_assets_are_served_with_relative_urls_only(support):
    page = support.get(f"{PAGE}/")
    assert page.status_code == 200
    assert 'href="static/review.css"' in page.text and 'src="static/review.js"' in page.text
    script = support.get(f"{PAGE}/static/review.js").text
    assert support.get(f"{PAGE}/static/index.html").status_code == 404  # the page itself only behind the login
    assert "fetch(path" in script
    for text in (page.text, script):
        assert 'href="/' not in text and 'src="/' not in text and "`/api" not in text and '"/api' not in text


def test_session_names_the_airflow_user_and_what_they_may_do(support, viewer):
    assert support.get(f"{PAGE}/api/session").json()["user"] == "support"
    assert support.get(f"{PAGE}/api/session").json()["can_resolve"] is True
    seen = viewer.get(f"{PAGE}/api/session").json()
    assert (seen["user"], seen["can_resolve"]) == ("viewer", False)


def test_a_viewer_reads_but_a_write_is_403_and_changes_nothing(viewer, review_rows, pg_dsn):
    assert viewer.get(f"{PAGE}/api/customers").status_code == 200
    before = state_of(pg_dsn, review_rows["big"])
    answer = post_resolve(viewer, review_rows["big"], {"org_id": "org-a-harbour"})
    assert answer.status_code == 403
    assert "may only read" in answer.json()["detail"]
    assert state_of(pg_dsn, review_rows["big"]) == before


def test_a_write_without_the_csrf_header_or_from_another_site_is_403(support, review_rows, pg_dsn):
    before = state_of(pg_dsn, review_rows["big"])
    body = {"org_id": "org-a-harbour"}
    assert post_resolve(support, review_rows["big"], body, headers={}).status_code == 403
    assert post_resolve(support, review_rows["big"], body, headers={"X-CSRF-Token": "guess"}).status_code == 403
    foreign = {**csrf(support), "Origin": "https://evil.example"}
    answer = post_resolve(support, review_rows["big"], body, headers=foreign)
    assert answer.status_code == 403 and "another site" in answer.json()["detail"]
    cross_site = {**csrf(support), "Sec-Fetch-Site": "cross-site"}
    assert post_resolve(support, review_rows["big"], body, headers=cross_site).status_code == 403
    assert state_of(pg_dsn, review_rows["big"]) == before


# --- Reading ---------------------------------------------------------------------------------------------


def test_open_customers_come_biggest_amount_first_with_counts_reasons_and_candidates(support, review_rows):
    data = support.get(f"{PAGE}/api/customers").json()
    assert data["counts"] == {"open": 4, "no_match": 2, "ambiguous": 1, "unknown_seller": 1, "resolved": 0}
    order = [row["sophos_customer_id"] for row in data["customers"]]
    assert order == [review_rows["big"], review_rows["stranger"], review_rows["small"], review_rows["ambiguous"]]
    big = data["customers"][0]
    assert big["amount"] == {"value": "1400.0000", "currency": "EUR", "month": "2026-10", "text": "EUR 1,400.00"}
    assert big["reason"] == "no_match" and big["reason_text"] == "No organization of the seller has this name"
    assert big["seller_id"] == "seller-a" and big["seller_name"] == "Seller A"
    assert big["candidates"][0]["org_id"] == "org-a-harbour" and big["candidates"][0]["score"] > 80
    assert big["first_seen_at"] and big["last_seen_at"]
    assert {seller["seller_id"] for seller in data["sellers"]} == {"seller-a"}


def test_an_unknown_amount_says_why_and_an_unknown_seller_says_what_to_do(support, review_rows):
    rows = {row["sophos_customer_id"]: row for row in support.get(f"{PAGE}/api/customers").json()["customers"]}
    ambiguous = rows[review_rows["ambiguous"]]
    assert ambiguous["amount"]["value"] is None
    assert ambiguous["amount"]["text"] == "unknown: no billing line for this customer in 2026-10"
    stranger = rows[review_rows["stranger"]]
    assert stranger["candidates"] == []
    assert f"python -m sophos_sync sellers link SELLER_ID {PARTNER_UNLINKED}" in stranger["todo"]
    assert rows[review_rows["big"]]["todo"] is None


def test_sort_and_filters(support, review_rows):
    ascending = support.get(f"{PAGE}/api/customers", params={"sort": "amount_asc"}).json()["customers"]
    assert [row["sophos_customer_id"] for row in ascending[:3]] == [
        review_rows["small"],
        review_rows["stranger"],
        review_rows["big"],
    ]
    by_reason = support.get(f"{PAGE}/api/customers", params={"reason": "unknown_seller"}).json()["customers"]
    assert [row["sophos_customer_id"] for row in by_reason] == [review_rows["stranger"]]
    by_seller = support.get(f"{PAGE}/api/customers", params={"seller_id": "seller-a"}).json()["customers"]
    assert len(by_seller) == 3
    assert support.get(f"{PAGE}/api/customers", params={"seller_id": "seller-b"}).json()["customers"] == []


def test_type_ahead_offers_only_organizations_of_the_customers_seller(support, review_rows):
    found = support.get(f"{PAGE}/api/customers/{review_rows['big']}/organizations", params={"q": "twin"}).json()
    assert found["seller_id"] == "seller-a"
    assert [org["org_id"] for org in found["organizations"]] == ["org-a-twin1", "org-a-twin2"]
    delta = support.get(f"{PAGE}/api/customers/{review_rows['big']}/organizations", params={"q": "delta"}).json()
    assert delta["organizations"] == []
    wildcard = support.get(f"{PAGE}/api/customers/{review_rows['big']}/organizations", params={"q": "%"}).json()
    assert wildcard["organizations"] == []  # % is text to match, not a wildcard
    stranger = support.get(f"{PAGE}/api/customers/{review_rows['stranger']}/organizations").json()
    assert stranger == {"seller_id": None, "organizations": []}


@pytest.mark.parametrize(
    ("method", "path", "body", "says"),
    [
        ("GET", "/api/customers?status=closed", None, "status must be one of"),
        ("GET", "/api/customers?reason=lost", None, "reason must be one of"),
        ("GET", "/api/customers?sort=name", None, "sort must be one of"),
        ("GET", "/api/customers?seller_id=" + "x" * 300, None, "seller_id must be at most"),
        ("GET", "/api/customers/not-a-uuid/organizations", None, "is not a Sophos customer id"),
        ("POST", "/api/customers/not-a-uuid/resolve", {"org_id": "org-a-harbour"}, "is not a Sophos customer id"),
        ("POST", "/api/customers/{big}/resolve", {}, "org_id: Field required"),
        ("POST", "/api/customers/{big}/resolve", {"org_id": 42}, "org_id: Input should be a valid string"),
        ("POST", "/api/customers/{big}/resolve", {"org_id": "  "}, "org_id is required"),
        ("POST", "/api/customers/{big}/resolve", {"org_id": "org\x00x"}, "printable characters"),
        ("POST", "/api/customers/{big}/resolve", {"org_id": "org-a-harbour", "force": "yes"}, "force: Input should"),
        ("POST", "/api/customers/{big}/resolve", {"org_id": "org-a-harbour", "by": "someone"}, "by: Extra inputs"),
    ],
)
def test_bad_input_is_a_clear_400_and_changes_nothing(support, review_rows, pg_dsn, method, path, body, says):
    before = state_of(pg_dsn, review_rows["big"])
    headers = csrf(support)
    answer = support.request(method, PAGE + path.format(**review_rows), json=body, headers=headers)
    assert answer.status_code == 400, answer.text
    assert says in answer.json()["detail"]
    assert state_of(pg_dsn, review_rows["big"]) == before


# --- Resolving --------------------------------------------------------------------------------------------


def test_support_resolves_to_a_candidate_as_themselves_and_the_row_moves_to_resolved(support, review_rows, pg_dsn):
    answer = post_resolve(support, review_rows["big"], {"org_id": "org-a-harbour"})
    assert answer.status_code == 200, answer.text
    assert answer.json()["resolved_by"] == "support"
    assert "The next sync imports its subscriptions" in answer.json()["message"]
    assert state_of(pg_dsn, review_rows["big"]) == (
        "resolved",
        "org-a-harbour",
        "support",
        "org-a-harbour",
        "manual",
        "support",
        1,
    )
    resolved = support.get(f"{PAGE}/api/customers", params={"status": "resolved"}).json()
    assert resolved["counts"]["resolved"] == 1 and resolved["counts"]["open"] == 3
    [row] = resolved["customers"]
    assert row["resolved"]["org_id"] == "org-a-harbour"
    assert row["resolved"]["org_name"] == "Harbour Logistics Ltd"
    assert row["resolved"]["by"] == "support" and row["resolved"]["at"]


def cli_refusal(dsn: str, customer: str, org_id: str, force: bool = False) -> str:
    """What `review resolve` prints after "error: " for the same request (the function the CLI calls)."""
    with psycopg.connect(dsn) as conn, pytest.raises(workflow.ReviewError) as refused, conn.transaction():
        workflow.resolve(conn, customer, org_id, "support", force=force)
    return str(refused.value)


@pytest.mark.parametrize(
    ("customer", "org_id", "says"),
    [
        ("big", "org-b-delta", "belongs to seller seller-b"),
        ("big", "org-nowhere", "unknown organization org-nowhere"),
        ("stranger", "org-a-harbour", "which is no seller's Sophos partner id"),
        ("unseen", "org-a-harbour", "no sync has seen it"),
    ],
)
def test_each_refusal_is_the_clis_sentence_and_changes_nothing(support, review_rows, pg_dsn, customer, org_id, says):
    customer_id = review_rows.get(customer) or str(uuid.uuid4())
    before = state_of(pg_dsn, customer_id)
    answer = post_resolve(support, customer_id, {"org_id": org_id})
    assert answer.status_code == 409
    assert says in answer.json()["detail"]
    assert answer.json()["detail"] == cli_refusal(pg_dsn, customer_id, org_id)
    assert answer.json()["replaceable"] is False
    assert state_of(pg_dsn, customer_id) == before


def test_replacing_a_mapping_needs_the_explicit_force(support, review_rows, pg_dsn):
    assert post_resolve(support, review_rows["small"], {"org_id": "org-a-alpine"}).status_code == 200
    before = state_of(pg_dsn, review_rows["small"])
    refused = post_resolve(support, review_rows["small"], {"org_id": "org-a-twin1"})
    assert refused.status_code == 409
    assert refused.json()["replaceable"] is True
    assert "already mapped to organization org-a-alpine" in refused.json()["detail"]
    assert state_of(pg_dsn, review_rows["small"]) == before
    replaced = post_resolve(support, review_rows["small"], {"org_id": "org-a-twin1", "force": True})
    assert replaced.status_code == 200, replaced.text
    assert state_of(pg_dsn, review_rows["small"])[:4] == ("resolved", "org-a-twin1", "support", "org-a-twin1")
    with psycopg.connect(pg_dsn) as conn:
        events = conn.execute(
            "SELECT event, previous_org_id, changed_by FROM review.mapping_changes WHERE sophos_customer_id = %s "
            "ORDER BY change_id",
            (review_rows["small"],),
        ).fetchall()
    assert events == [("resolved", None, "support"), ("remapped", "org-a-alpine", "support")]


def test_an_unreachable_database_is_a_503_without_its_address(support, monkeypatch):
    monkeypatch.setenv("SOPHOS_SYNC_DB_DSN", "postgresql://nobody:secret-pw@127.0.0.1:1/none?connect_timeout=2")
    answer = support.get(f"{PAGE}/api/customers")
    assert answer.status_code == 503
    assert "cannot be reached" in answer.json()["detail"] and "secret-pw" not in answer.text


def test_the_plugin_registers_the_app_and_a_relative_nav_entry():
    import sophos_review_plugin

    plugin = sophos_review_plugin.SophosReviewPlugin
    [view] = plugin.external_views
    assert view["name"] == "Unmapped Sophos customers" and view["destination"] == "nav"
    assert view["href"] == "sophos-review/" and view["icon"] == "sophos-review/static/icon.svg"
    [app] = plugin.fastapi_apps
    assert app["url_prefix"] == PAGE
