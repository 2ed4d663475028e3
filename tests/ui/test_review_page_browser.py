"""Support's review page in the running Airflow (plugins/sophos_review_plugin.py): Airflow's login, the nav
entry, the demo's unmapped customers, a resolve whose mapping the next DAG run uses, a refusal, a read-only
viewer, and anonymous requests. The screenshot lands in docs/screenshots/ for the README."""

from __future__ import annotations

import httpx
import pytest
from airflow_login import SCREENSHOTS, TIMEOUT_MS, login

from devtools.localstack.environment import DAG_ID, REVIEW_PAGE, SUPPORT_LOGIN, VIEWER_LOGIN
from sophos_sync.review import workflow
from sophos_sync.warehouse.db import connect

pytestmark = pytest.mark.ui

TITLE = "Unmapped Sophos customers"
APP = "sophos-review"


def open_rows_in_cli_order(ui_stack) -> list[dict]:
    with connect(ui_stack.warehouse_dsn) as conn:
        return workflow.list_open(conn)


def review_state(ui_stack, customer: str) -> list[tuple]:
    return ui_stack.query(
        """SELECT r.status, r.resolved_org_id, r.resolved_by, m.platform_org_id, m.mapped_by
             FROM review.unmapped_customers r
             LEFT JOIN sophos.customer_mappings m ON m.sophos_customer_id = r.sophos_customer_id
            WHERE r.sophos_customer_id = %s""",
        (customer,),
    )


@pytest.fixture
def signed_in(ui_stack, browser):
    """A browser context per user, signed in through Airflow's own login page."""
    contexts = []

    def open_as(credentials: tuple[str, str]):
        context = browser.new_context(viewport={"width": 1440, "height": 900})
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        login(page, ui_stack.api.base_url, credentials)
        return page

    yield open_as
    for context in contexts:
        context.close()


def open_from_the_nav(page, base_url: str):
    page.goto(f"{base_url}/")
    page.get_by_role("link", name=TITLE).first.click()
    page.wait_for_url(f"**/{REVIEW_PAGE}")
    frame = page.frame_locator("iframe")
    frame.locator("#customers tbody tr").first.wait_for()
    return frame


def test_anonymous_requests_to_every_endpoint_get_401_or_the_login(ui_stack):
    customer = open_rows_in_cli_order(ui_stack)[0]["sophos_customer_id"]
    with httpx.Client(base_url=ui_stack.api.base_url, timeout=30) as anonymous:
        page = anonymous.get(f"/{APP}/")
        assert page.status_code == 303 and page.headers["location"] == f"../{REVIEW_PAGE}"
        for method, path in [
            ("GET", f"/{APP}/api/session"),
            ("GET", f"/{APP}/api/customers"),
            ("GET", f"/{APP}/api/customers/{customer}/organizations?q=a"),
            ("POST", f"/{APP}/api/customers/{customer}/resolve"),
        ]:
            answer = anonymous.request(method, path, json={"org_id": "x"})
            assert answer.status_code == 401, (method, path, answer.text)


def test_anonymous_browser_lands_on_airflows_login(ui_stack, browser):
    context = browser.new_context()
    try:
        page = context.new_page()
        page.goto(f"{ui_stack.api.base_url}/{APP}/")
        page.get_by_label("Username").wait_for(timeout=TIMEOUT_MS)
        assert "/auth/login" in page.url
    finally:
        context.close()


def test_support_resolves_the_top_candidate_and_the_next_run_imports_the_subscriptions(ui_stack, signed_in):
    expected = open_rows_in_cli_order(ui_stack)
    assert expected, "the demo leaves unmapped customers to review"
    page = signed_in(SUPPORT_LOGIN)
    frame = open_from_the_nav(page, ui_stack.api.base_url)
    frame.get_by_text(f"Signed in to Airflow as {SUPPORT_LOGIN[0]} (may resolve)").wait_for()

    shown = frame.locator("#customers tbody tr").evaluate_all("rows => rows.map(r => r.dataset.customer)")
    assert shown == [row["sophos_customer_id"] for row in expected][: len(shown)]
    frame.get_by_text(f"{len(expected)}open", exact=False).first.wait_for()
    page.wait_for_load_state("networkidle")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "review-page.png"))

    target = next(row for row in expected if row["reason"] != "unknown_seller" and row["candidates"])
    top = target["candidates"][0]
    customer = target["sophos_customer_id"]
    frame.locator(f'tr[data-customer="{customer}"]').get_by_role(
        "button", name=f"Resolve {target['customer_name']} to {top['name']}"
    ).first.click()
    frame.get_by_text(f"Resolved: Sophos customer {customer} -> organization {top['org_id']}").wait_for()
    assert review_state(ui_stack, customer) == [("resolved", top["org_id"], "support", top["org_id"], "support")]

    frame.get_by_role("tab", name="Resolved").click()
    resolved_row = frame.locator(f'tr[data-customer="{customer}"]')
    resolved_row.get_by_text(f"by {SUPPORT_LOGIN[0]}", exact=False).wait_for()

    run_id = ui_stack.api.trigger(DAG_ID, conf={"billing_month": ui_stack.demo_month})
    assert ui_stack.api.wait_for_run(DAG_ID, run_id, timeout=300)["state"] == "success"
    [(imported, orgs)] = ui_stack.query(
        "SELECT count(*), array_agg(DISTINCT platform_org_id) FROM sophos.subscriptions WHERE sophos_customer_id = %s",
        (customer,),
    )
    assert imported == target["subscription_count"] > 0
    assert orgs == [top["org_id"]]


def test_a_cross_seller_resolve_is_refused_on_the_page_with_the_clis_sentence(ui_stack, signed_in):
    target = next(row for row in open_rows_in_cli_order(ui_stack) if row["reason"] != "unknown_seller")
    customer = target["sophos_customer_id"]
    [(foreign_org,)] = ui_stack.query(
        "SELECT org_id FROM platform.customer_organizations WHERE seller_id <> %s ORDER BY org_id LIMIT 1",
        (target["seller_id"],),
    )
    before = review_state(ui_stack, customer)
    with (
        connect(ui_stack.warehouse_dsn) as conn,
        pytest.raises(workflow.ReviewError) as cli_refusal,
        conn.transaction(),
    ):
        workflow.resolve(conn, customer, foreign_org, "support")

    page = signed_in(SUPPORT_LOGIN)
    frame = open_from_the_nav(page, ui_stack.api.base_url)
    row = frame.locator(f'tr[data-customer="{customer}"]')
    row.get_by_role("searchbox").fill(foreign_org)
    row.get_by_role("button", name=f"Resolve {target['customer_name']} to {foreign_org}").click()
    alert = frame.get_by_role("alert")
    alert.get_by_text(str(cli_refusal.value)).wait_for()
    assert "belongs to seller" in str(cli_refusal.value)
    assert review_state(ui_stack, customer) == before


def test_a_viewer_sees_the_list_but_cannot_resolve(ui_stack, signed_in):
    page = signed_in(VIEWER_LOGIN)
    frame = open_from_the_nav(page, ui_stack.api.base_url)
    frame.get_by_text(f"Signed in to Airflow as {VIEWER_LOGIN[0]} (read only", exact=False).wait_for()
    assert frame.locator("#customers tbody tr").count() > 0
    assert frame.get_by_role("button", name="Resolve").count() == 0
    assert frame.get_by_role("searchbox").count() == 0

    target = open_rows_in_cli_order(ui_stack)[0]
    base = f"{ui_stack.api.base_url}/{APP}"
    token = page.request.get(f"{base}/api/session").json()["csrf_token"]
    answer = page.request.post(
        f"{base}/api/customers/{target['sophos_customer_id']}/resolve",
        data={"org_id": "anything"},
        headers={"X-CSRF-Token": token, "Origin": ui_stack.api.base_url},
    )
    assert answer.status == 403
    assert review_state(ui_stack, target["sophos_customer_id"])[0][0] == "open"
