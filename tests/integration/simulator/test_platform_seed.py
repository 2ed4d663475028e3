"""Loading the generated Platform data into the platform schema of a real, migrated database."""

from __future__ import annotations

from simulator.generator import build_world, dataset
from simulator.platform_seed import load_platform_seed
from tests.rows import seller


def _platform_rows(conn):
    sellers = conn.execute(
        "SELECT seller_id, name, sophos_partner_id::text FROM platform.sellers ORDER BY seller_id"
    ).fetchall()
    orgs = conn.execute(
        "SELECT org_id, seller_id, name FROM platform.customer_organizations ORDER BY org_id"
    ).fetchall()
    return sellers, orgs


def test_platform_seed_loads_sellers_and_organizations_exactly(db_conn):
    data = dataset(build_world("small", 1), [])
    counts = load_platform_seed(db_conn, data)
    sellers, orgs = _platform_rows(db_conn)
    expected_sellers = sorted((s["seller_id"], s["name"], s["sophos_partner_id"]) for s in data["platform"]["sellers"])
    expected_orgs = sorted((o["org_id"], o["seller_id"], o["name"]) for o in data["platform"]["customer_organizations"])
    assert sellers == expected_sellers and orgs == expected_orgs
    assert counts == {"sellers": len(sellers), "customer_organizations": len(orgs)}
    assert any(partner_id is None for _, _, partner_id in sellers)
    assert any(name != name.strip() for _, _, name in orgs)  # stray whitespace reaches the table unchanged


def test_platform_seed_replaces_previous_contents(db_conn):
    load_platform_seed(db_conn, dataset(build_world("small", 1), []))
    seller(db_conn, "manual", "Added by hand", None)
    second = dataset(build_world("small", 2), [])
    load_platform_seed(db_conn, second)
    load_platform_seed(db_conn, second)
    sellers, orgs = _platform_rows(db_conn)
    assert [s[0] for s in sellers] == sorted(s["seller_id"] for s in second["platform"]["sellers"])
    assert len(orgs) == len(second["platform"]["customer_organizations"])
    assert {s[2] for s in sellers} == {s["sophos_partner_id"] for s in second["platform"]["sellers"]}
