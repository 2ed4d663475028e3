"""Seed details next to the sync: seller onboarding, Platform-side hiding, the contract currency."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid

import psycopg
import pytest

from devtools.localstack import environment
from simulator.platform_seed import load_platform_seed
from simulator.testing import run_simulator
from sophos_sync.errors import SophosSyncError
from sophos_sync.platform import sellers, visibility
from sophos_sync.run import months, report, stages
from tests.rows import seller

pytestmark = pytest.mark.slow  # syncs whole months against the simulator; the sellers CLI in a subprocess

MONTH = "2026-10"


def use_simulator(monkeypatch, sim, dsn: str, currency: str | None = None) -> list[str]:
    """Airflow connections for the simulator's credentials, the standard way (AIRFLOW_CONN_* variables)."""
    accounts = environment.account_ids(len(sim.credentials))
    for account, (client_id, secret, _) in zip(accounts, sim.credentials, strict=True):
        monkeypatch.setenv(
            f"AIRFLOW_CONN_{account.upper()}",
            json.dumps(environment.sophos_connection(sim.base_url, client_id, secret, currency=currency)),
        )
    monkeypatch.setenv("SOPHOS_SYNC_CONN_IDS", ",".join(accounts))
    monkeypatch.setenv("SOPHOS_SYNC_DB_DSN", dsn)
    return accounts


def sync_month(accounts: list[str], dsn: str, month: str = MONTH) -> int:
    """One month through the same stage functions the DAG's tasks call."""
    billing_month = months.parse_month(month)
    run = stages.start_run(f"test__{uuid.uuid4().hex}", billing_month, dsn=dsn)
    for account in accounts:
        for entity in ("tenant", "license", "billing_usage"):
            stages.extract_entity(entity, account, run, billing_month, dsn=dsn)
    stages.validate_run(run, dsn=dsn)
    if stages.map_customers(run, dsn=dsn)["unmapped"]:
        stages.record_unmapped(run, billing_month, dsn=dsn)
    stages.load_mirror(run, billing_month, dsn=dsn)
    report.reconcile_and_report(run, billing_month, dsn=dsn)
    return run


@pytest.fixture
def sim():
    with run_simulator(scale="small", seed=3, today="2026-11-25") as handle:
        yield handle


@pytest.fixture
def seeded(pg_dsn, sim):
    with psycopg.connect(pg_dsn) as conn:
        load_platform_seed(conn, sim.dataset(months=[]))
    return pg_dsn


def partner_of(dsn: str, seller_id: str) -> str | None:
    with psycopg.connect(dsn) as conn:
        return conn.execute(
            "SELECT sophos_partner_id::text FROM platform.sellers WHERE seller_id = %s", (seller_id,)
        ).fetchone()[0]


def linked_seller(dsn: str) -> tuple[str, str]:
    with psycopg.connect(dsn) as conn:
        return conn.execute(
            "SELECT seller_id, sophos_partner_id::text FROM platform.sellers "
            "WHERE sophos_partner_id IS NOT NULL ORDER BY seller_id LIMIT 1"
        ).fetchone()


def unlink(dsn: str, seller_id: str) -> None:
    with psycopg.connect(dsn) as conn:
        conn.execute("UPDATE platform.sellers SET sophos_partner_id = NULL WHERE seller_id = %s", (seller_id,))


# --- seller onboarding ------------------------------------------------------------------------------------------


def test_link_validates_the_partner_through_the_api_and_stores_it(monkeypatch, sim, seeded):
    accounts = use_simulator(monkeypatch, sim, seeded)
    seller_id, partner_id = linked_seller(seeded)
    unlink(seeded, seller_id)
    with psycopg.connect(seeded) as conn:
        via = sellers.link(conn, seller_id, partner_id.upper(), accounts)
    assert via in accounts
    assert partner_of(seeded, seller_id) == partner_id


def test_link_accepts_a_reseller_seen_only_through_a_distributor_credential(monkeypatch, sim, seeded):
    accounts = use_simulator(monkeypatch, sim, seeded)
    own_ids = {partner for _, _, partner in sim.credentials}
    distributor = sim.dataset(months=[])["partners"][-1]
    reseller = next(t["partner"]["id"] for t in distributor["tenants"] if t["partner"]["id"] not in own_ids)
    with psycopg.connect(seeded) as conn:
        conn.execute("UPDATE platform.sellers SET sophos_partner_id = NULL WHERE sophos_partner_id = %s", (reseller,))
        seller(conn, "reseller-new", "New Reseller", None)
        sellers.link(conn, "reseller-new", reseller, accounts)
    assert partner_of(seeded, "reseller-new") == reseller


@pytest.mark.parametrize(
    "case, expected",
    [
        ("malformed", "is not a Partner Tenant ID"),
        ("urn", "is not a Partner Tenant ID"),
        ("unreachable", "no configured Sophos credential"),
        ("taken", "already linked to seller"),
        ("unknown_seller", "unknown seller"),
    ],
)
def test_link_refusals_change_nothing(monkeypatch, sim, seeded, case, expected):
    accounts = use_simulator(monkeypatch, sim, seeded)
    seller_id, partner_id = linked_seller(seeded)
    with psycopg.connect(seeded) as conn:
        other = conn.execute(
            "SELECT seller_id FROM platform.sellers WHERE seller_id <> %s ORDER BY seller_id LIMIT 1", (seller_id,)
        ).fetchone()[0]
    unlink(seeded, other)
    target, value = {
        "malformed": (other, "not-a-uuid"),
        "urn": (other, f"urn:uuid:{partner_id}"),
        "unreachable": (other, str(uuid.uuid4())),
        "taken": (other, partner_id),
        "unknown_seller": ("no-such-seller", partner_id),
    }[case]
    with psycopg.connect(seeded) as conn:
        before = conn.execute("SELECT seller_id, sophos_partner_id FROM platform.sellers ORDER BY 1").fetchall()
        with pytest.raises(SophosSyncError, match=expected) as refused:
            sellers.link(conn, target, value, accounts)
        after = conn.execute("SELECT seller_id, sophos_partner_id FROM platform.sellers ORDER BY 1").fetchall()
    assert "Nothing was changed" in str(refused.value)
    assert after == before


def test_sellers_cli_links_and_lists(monkeypatch, sim, seeded):
    use_simulator(monkeypatch, sim, seeded)
    seller_id, partner_id = linked_seller(seeded)
    unlink(seeded, seller_id)
    linked = subprocess.run(
        [sys.executable, "-m", "sophos_sync", "sellers", "link", seller_id, partner_id],
        capture_output=True,
        text=True,
    )
    assert linked.returncode == 0, linked.stderr
    refused = subprocess.run(
        [sys.executable, "-m", "sophos_sync", "sellers", "link", seller_id, "nope"],
        capture_output=True,
        text=True,
    )
    assert refused.returncode == 1 and "is not a Partner Tenant ID" in refused.stderr
    listed = subprocess.run([sys.executable, "-m", "sophos_sync", "sellers", "list"], capture_output=True, text=True)
    assert listed.returncode == 0 and partner_id in listed.stdout and "never" in listed.stdout


# --- Platform-side hiding -------------------------------------------------------------------------------------


def hide_as_admin(dsn: str, subscription_id: str, hidden: bool, reason: str | None = "customer asked") -> None:
    with psycopg.connect(dsn) as conn:
        conn.execute("SET ROLE distributor_admin")
        visibility.set_hidden(conn, subscription_id, hidden, "admin@distributor.example", reason)


def subscription(dsn: str, subscription_id: str) -> dict:
    with psycopg.connect(dsn, row_factory=psycopg.rows.dict_row) as conn:
        return conn.execute(
            "SELECT status, quantity, hidden_at IS NOT NULL AS hidden, hidden_by, hidden_reason, last_seen_at "
            "FROM sophos.subscriptions WHERE subscription_id = %s",
            (subscription_id,),
        ).fetchone()


def seller_view_has(dsn: str, subscription_id: str) -> bool:
    with psycopg.connect(dsn) as conn:
        return (
            conn.execute(
                "SELECT count(*) FROM platform.seller_subscriptions WHERE subscription_id = %s", (subscription_id,)
            ).fetchone()[0]
            == 1
        )


def test_hidden_subscription_survives_the_next_sync_which_still_updates_sophos_columns(monkeypatch, seeded, tmp_path):
    with run_simulator(scale="small", seed=3, today="2026-11-25") as full:
        dataset = full.dataset(months=[MONTH])
    path = tmp_path / "dataset.json"
    path.write_text(json.dumps(dataset))
    with run_simulator(dataset_path=path, today="2026-11-25") as sim:
        sync_month(use_simulator(monkeypatch, sim, seeded), seeded)
    with psycopg.connect(seeded) as conn:
        subscription_id, tenant_id = conn.execute(
            "SELECT subscription_id::text, sophos_customer_id::text FROM sophos.subscriptions "
            "WHERE status = 'active' ORDER BY subscription_id LIMIT 1"
        ).fetchone()
    hide_as_admin(seeded, subscription_id, True)
    hidden = subscription(seeded, subscription_id)
    assert hidden["hidden"] and hidden["hidden_by"] == "admin@distributor.example"
    assert not seller_view_has(seeded, subscription_id)

    # Sophos then cancels it (the licence disappears) and changes a neighbour's quantity.
    for partner in dataset["partners"]:
        if tenant_id in partner["licenses"]:
            partner["licenses"][tenant_id] = [
                lic for lic in partner["licenses"][tenant_id] if lic["id"] != subscription_id
            ]
    path.write_text(json.dumps(dataset))
    with run_simulator(dataset_path=path, today="2026-11-25") as sim:
        sync_month(use_simulator(monkeypatch, sim, seeded), seeded)

    after = subscription(seeded, subscription_id)
    assert after["status"] == "cancelled"  # Sophos's fact
    assert after["hidden"] and after["hidden_reason"] == "customer asked"  # the Platform's fact, kept
    assert after["last_seen_at"] == hidden["last_seen_at"]  # vanished: not seen again
    assert not seller_view_has(seeded, subscription_id)

    hide_as_admin(seeded, subscription_id, False, reason=None)
    assert seller_view_has(seeded, subscription_id)
    with psycopg.connect(seeded) as conn:
        actions = [
            a
            for (a,) in conn.execute(
                "SELECT action FROM platform.subscription_visibility_changes WHERE subscription_id = %s "
                "ORDER BY change_id",
                (subscription_id,),
            )
        ]
    assert actions == ["hidden", "unhidden"]


def test_hide_refuses_non_admins_unknown_ids_and_missing_reasons(monkeypatch, sim, seeded):
    sync_month(use_simulator(monkeypatch, sim, seeded), seeded)
    with psycopg.connect(seeded) as conn:
        subscription_id = conn.execute("SELECT min(subscription_id::text) FROM sophos.subscriptions").fetchone()[0]
        conn.execute("SET ROLE support_agent")
        with pytest.raises(SophosSyncError, match="only a Distributor Admin"):
            visibility.set_hidden(conn, subscription_id, True, "someone", "why not")
    with pytest.raises(SophosSyncError, match="unknown subscription"):
        hide_as_admin(seeded, str(uuid.uuid4()), True)
    with pytest.raises(SophosSyncError, match="not a subscription id"):
        hide_as_admin(seeded, "'; DROP TABLE sophos.subscriptions; --", True)
    with pytest.raises(SophosSyncError, match="give the reason"):
        hide_as_admin(seeded, subscription_id, True, reason="  ")
    assert not subscription(seeded, subscription_id)["hidden"]


# --- contract currency ------------------------------------------------------------------------------------------


def test_lines_in_another_currency_are_loaded_flagged_and_reported(monkeypatch, sim, seeded):
    accounts = use_simulator(monkeypatch, sim, seeded, currency="EUR")
    run = sync_month(accounts, seeded)
    with psycopg.connect(seeded) as conn:
        by_currency = dict(
            conn.execute(
                "SELECT currency, bool_and(currency_mismatch = (currency <> 'EUR')) FROM finance.invoice_lines "
                "WHERE billing_month = %s::date GROUP BY currency",
                (f"{MONTH}-01",),
            ).fetchall()
        )
        mismatched = conn.execute(
            "SELECT count(*) FROM sophos.invoice_lines WHERE currency <> 'EUR' AND billing_month = %s::date",
            (f"{MONTH}-01",),
        ).fetchone()[0]
        counts = conn.execute("SELECT counts FROM sophos.sync_runs WHERE sync_run_id = %s", (run,)).fetchone()[0]
    assert set(by_currency) >= {"EUR", "USD"} and all(by_currency.values())
    reported = counts["currency_mismatch"]
    assert sum(entry["lines"] for entry in reported.values()) == mismatched > 0
    assert {entry["contract_currency"] for entry in reported.values()} == {"EUR"}
