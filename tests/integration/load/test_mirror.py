"""load_month on the real PostgreSQL: landing and stage tables seeded directly, as extract/validate/map leave them."""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

import psycopg
import pytest
from psycopg.types.json import Jsonb

from sophos_sync.errors import ReconciliationError
from sophos_sync.load import mirror, reconcile
from sophos_sync.run import report, sync_run
from sophos_sync.validation.keys import line_key
from tests.rows import (
    customer_mapping,
    land_batch,
    land_page,
    land_record,
    open_run,
    rejected_record,
    stage_billing_line,
    stage_customer_decision,
    stage_license,
    stage_tenant,
)

OCTOBER = date(2026, 10, 1)
SEPTEMBER = date(2026, 9, 1)
PARTNER = "7b1e2a34-0000-4000-8000-000000000001"
ACCOUNT = "sophos_default"


def uid(n: int) -> str:
    return f"00000000-0000-4000-8000-{n:012d}"


ACME, GLOBEX, INITECH, HOOLI = uid(1), uid(2), uid(3), uid(4)


def tenant(customer_id: str, name: str) -> dict:
    return {
        "id": customer_id,
        "name": name,
        "showAs": name,
        "billingType": "term",
        "dataRegion": "eu01",
        "dataGeography": "DE",
        "partner": {"id": PARTNER},
    }


def license(license_id: str, customer_id: str, quantity: int = 10, end_date: str | None = "2027-12-31") -> dict:
    return {
        "id": license_id,
        "tenant": customer_id,
        "licenseIdentifier": f"L-{license_id[-4:]}",
        "product": {"code": "CIXA", "name": "Intercept X Advanced"},
        "type": "term",
        "quantity": quantity,
        "startDate": "2025-01-01",
        "endDate": end_date,
        "usage": 7,
    }


def line(
    n: int,
    customer_id: str | None,
    price: str = "1.40",
    quantity: int = 10,
    currency: str = "EUR",
    status: str = "active",
) -> dict:
    item = {
        "partnerAccountId": "PA-1",
        "orderNumber": f"SO-{n}",
        "orderLineItemNumber": "1",
        "accountNumberOrSerialNumber": customer_id or f"DEV-{n}",
        "sku": "CIXA-SKU",
        "billingStartDate": "2026-10-01",
        "billingEndDate": "2026-10-31",
        "productCode": "CIXA",
        "productDescription": "Intercept X Advanced",
        "billableQuantity": quantity,
        "unitPrice": price,
        "unitPriceCurrency": currency,
        "netPrice": price,
        "netPriceCurrency": currency,
        "accountStatus": status,
    }
    if customer_id:
        item["accountId"] = customer_id
    return item


@dataclass
class Month:
    """What one sync run of a month leaves in the landing and stage tables before the load."""

    billing_month: date
    tenants: list[dict]
    licenses: list[dict]
    lines: list[dict]
    mapped: dict[str, str] = field(default_factory=dict)  # customer -> org, already mapped
    auto_matched: dict[str, str] = field(default_factory=dict)  # customer -> org, matched this run
    skipped_tenants: list[str] = field(default_factory=list)  # licence call answered 403
    rejected_licenses: list[dict] = field(default_factory=list)  # landed, failed validation
    rejected_lines: list[dict] = field(default_factory=list)
    duplicated_lines: list[dict] = field(default_factory=list)  # landed twice, identical
    broken_lines: list = field(default_factory=list)  # landed, not a JSON object
    reported_extra: int = 0  # the API announced this many more lines
    stage_price_override: dict[int, str] = field(default_factory=dict)  # line index -> price staged instead

    def seed(self, conn: psycopg.Connection) -> int:
        run = open_run(conn, self.billing_month, dag_run_id=f"manual__{uuid.uuid4().hex}")
        self._land(conn, run)
        self._stage(conn, run)
        conn.commit()
        return run

    def _land(self, conn: psycopg.Connection, run: int) -> None:
        landed_lines = self.lines + self.rejected_lines + self.duplicated_lines + self.broken_lines
        landed_licenses = self.licenses + self.rejected_licenses
        with conn.cursor() as cur:
            for i, t in enumerate(self.tenants):
                land_record(cur, run, "tenant", i, Jsonb(t), account=ACCOUNT)
            for i, lic in enumerate(landed_licenses):
                land_record(cur, run, "license", i, Jsonb(lic), lic["tenant"], account=ACCOUNT)
            # billing lines land as one page of JSON lines, as extract lands them
            land_page(cur, run, "billing_usage", 1, landed_lines, account=ACCOUNT)
            land_batch(
                cur, run, "tenant", PARTNER, len(self.tenants), len(self.tenants), account=ACCOUNT, skipped=Jsonb([])
            )
            land_batch(
                cur,
                run,
                "license",
                None,
                len(landed_licenses),
                None,
                account=ACCOUNT,
                skipped=Jsonb([{"tenant_id": t, "reason": "403 forbidden"} for t in self.skipped_tenants]),
            )
            land_batch(
                cur,
                run,
                "billing_usage",
                PARTNER,
                len(landed_lines),
                len(landed_lines) + self.reported_extra,
                account=ACCOUNT,
                skipped=Jsonb([]),
            )

    def _stage(self, conn: psycopg.Connection, run: int) -> None:
        with conn.cursor() as cur:
            for t in self.tenants:
                stage_tenant(
                    cur,
                    run,
                    t["id"],
                    t["name"],
                    t["partner"]["id"],
                    account=ACCOUNT,
                    show_as=t["showAs"],
                    billing_type=t["billingType"],
                    data_region=t["dataRegion"],
                    data_geography=t["dataGeography"],
                )
            for lic in self.licenses:
                stage_license(
                    cur,
                    run,
                    lic["id"],
                    lic["tenant"],
                    account=ACCOUNT,
                    license_identifier=lic["licenseIdentifier"],
                    product_code=lic["product"]["code"],
                    product_name=lic["product"]["name"],
                    type=lic["type"],
                    quantity=lic["quantity"],
                    usage_count=lic["usage"],
                    start_date=lic["startDate"],
                    end_date=lic["endDate"],
                )
            for i, item in enumerate(self.lines):
                stage_billing_line(
                    cur,
                    run,
                    line_key(item),
                    item.get("accountId"),
                    account=ACCOUNT,
                    partner_account_id=item["partnerAccountId"],
                    order_number=item["orderNumber"],
                    order_line_item_number=item["orderLineItemNumber"],
                    account_number_or_serial_number=item["accountNumberOrSerialNumber"],
                    sku=item["sku"],
                    product_code=item["productCode"],
                    product_description=item["productDescription"],
                    billable_quantity=item["billableQuantity"],
                    unit_price=Decimal(self.stage_price_override.get(i, item["unitPrice"])),
                    net_price=Decimal(item["netPrice"]),
                    currency=item["netPriceCurrency"],
                    account_status=item["accountStatus"],
                    billing_start_date=item["billingStartDate"],
                    billing_end_date=item["billingEndDate"],
                )
            for lic in self.rejected_licenses:
                rejected_record(cur, run, "license", lic["id"], "quantity_non_negative", "quantity", "-1", Jsonb(lic))
            for item in self.rejected_lines:  # a line failing two checks is one rejected line
                for check in ("decimal_string", "price_non_negative"):
                    rejected_record(cur, run, "billing_usage", line_key(item), check, "netPrice", "1,40", Jsonb(item))
            for item in self.broken_lines:  # validate gives a record that is no JSON object no key
                rejected_record(
                    cur, run, "billing_usage", None, "invalid_json", None, "expected a JSON object", Jsonb(item)
                )
            for c, org in self.mapped.items():
                stage_customer_decision(cur, run, c, PARTNER, "mapped", platform_org_id=org)
            for c, org in self.auto_matched.items():
                stage_customer_decision(cur, run, c, PARTNER, "auto_matched", platform_org_id=org)
            unmapped = {t["id"] for t in self.tenants} - set(self.mapped) - set(self.auto_matched)
            for c in sorted(unmapped):
                stage_customer_decision(cur, run, c, PARTNER, "unmapped", reason="no_match")
            cur.execute(
                "UPDATE sophos.sync_runs SET counts = jsonb_build_object('validate', jsonb_build_object("
                "'billing_usage', jsonb_build_object('collapsed_duplicates', %s::int, 'rejected', %s::int)))"
                " WHERE sync_run_id = %s",
                (len(self.duplicated_lines), len(self.rejected_lines) + len(self.broken_lines), run),
            )


def october(**overrides) -> Month:
    """Four customers: Acme and Globex mapped (by a person earlier), Initech auto-matched now, Hooli unmapped."""
    values = dict(
        billing_month=OCTOBER,
        tenants=[
            tenant(ACME, "Acme GmbH"),
            tenant(GLOBEX, "Globex Ltd"),
            tenant(INITECH, "Initech Inc"),
            tenant(HOOLI, "Hooli"),
        ],
        licenses=[
            license(uid(101), ACME),
            license(uid(102), ACME, quantity=5),
            license(uid(201), GLOBEX),
            license(uid(301), INITECH),
            license(uid(401), HOOLI),
        ],
        lines=[
            line(1, ACME),
            line(2, ACME, price="2.05", quantity=3),
            line(3, GLOBEX, currency="USD"),
            line(4, INITECH),
            line(5, HOOLI),
            line(6, None, price="0.10", quantity=7),
        ],
        mapped={ACME: "org-acme", GLOBEX: "org-globex"},
        auto_matched={INITECH: "org-initech"},
    )
    values.update(overrides)
    return Month(**values)


def map_manually(conn: psycopg.Connection, mapping: dict[str, str]) -> None:
    for customer_id, org_id in mapping.items():
        customer_mapping(conn, customer_id, org_id, "manual", "jane.doe")
    conn.commit()


MIRROR_TABLES = {
    # table -> columns that only say when a run saw the row, left out of the comparison
    "sophos.customers": ["last_seen_at"],
    "sophos.customer_mappings": [],
    "sophos.subscriptions": ["last_seen_at"],
    "sophos.subscription_status_history": [],
    "sophos.invoice_lines": ["sync_run_id"],
    "sophos.mirror_state": ["sync_run_id", "updated_at"],
}


def checksums(conn: psycopg.Connection) -> dict[str, tuple[int, str]]:
    sums = {}
    for table, ignored in MIRROR_TABLES.items():
        sums[table] = conn.execute(
            f"SELECT count(*), md5(coalesce(string_agg(r, '|' ORDER BY r), '')) "
            f"FROM (SELECT (to_jsonb(t) - %s::text[])::text AS r FROM {table} t) rows",
            (ignored,),
        ).fetchone()
    conn.rollback()
    return sums


def subscription_statuses(conn: psycopg.Connection) -> dict[str, str]:
    rows = conn.execute("SELECT subscription_id::text, status FROM sophos.subscriptions").fetchall()
    conn.rollback()
    return dict(rows)


def history_of(conn: psycopg.Connection, subscription_id: str) -> list[tuple[str, bool]]:
    rows = conn.execute(
        "SELECT status, valid_to IS NULL FROM sophos.subscription_status_history WHERE subscription_id = %s "
        "ORDER BY valid_from",
        (subscription_id,),
    ).fetchall()
    conn.rollback()
    return rows


def test_first_load_mirrors_mapped_customers_and_loads_every_line(db_conn):
    map_manually(db_conn, {ACME: "org-acme", GLOBEX: "org-globex"})
    run = october().seed(db_conn)

    counts = mirror.load_month(db_conn, run, OCTOBER)

    assert counts["mirror"] == "applied"
    assert counts["customers"] == {"inserted": 4, "updated": 0, "removed": 0}
    assert counts["customer_mappings"] == {"dropped_seller_changed": 0, "auto_inserted": 1}
    # Hooli is unmapped: its licence is not imported
    assert counts["subscriptions"] == {"inserted": 4, "updated": 0, "cancelled_vanished": 0}
    assert counts["status_history"] == {"closed": 0, "opened": 4}
    assert counts["invoice_lines"] == {"deleted": 0, "inserted": 6}
    assert counts["reconciliation"] == {
        "lines": {"loaded": 6, "rejected": 0, "collapsed_duplicates": 0, "reported": 6},
        "amounts": {"EUR": "48.8500", "USD": "14.0000"},
    }
    assert db_conn.execute(
        "SELECT method, mapped_by FROM sophos.customer_mappings WHERE sophos_customer_id = %s", (INITECH,)
    ).fetchone() == ("auto", "auto-match")
    lines = {
        order: rest
        for order, *rest in db_conn.execute(
            "SELECT order_number, platform_org_id, partner_id::text FROM sophos.invoice_lines"
        )
    }
    assert lines["SO-4"] == ["org-initech", PARTNER]
    assert lines["SO-5"] == [None, PARTNER]  # unmapped customers' lines are loaded too
    assert lines["SO-6"] == [None, PARTNER]  # no tenant: the credential's partner id
    assert db_conn.execute("SELECT as_of_month FROM sophos.mirror_state").fetchone() == (OCTOBER,)


def test_rerun_of_same_month_changes_nothing(db_conn):
    map_manually(db_conn, {ACME: "org-acme", GLOBEX: "org-globex"})
    mirror.load_month(db_conn, october().seed(db_conn), OCTOBER)
    before = checksums(db_conn)

    counts = mirror.load_month(db_conn, october().seed(db_conn), OCTOBER)

    assert checksums(db_conn) == before
    assert counts["customers"] == {"inserted": 0, "updated": 0, "removed": 0}
    assert counts["subscriptions"] == {"inserted": 0, "updated": 0, "cancelled_vanished": 0}
    assert counts["status_history"] == {"closed": 0, "opened": 0}
    assert counts["customer_mappings"] == {"dropped_seller_changed": 0, "auto_inserted": 0}


def test_failure_before_commit_keeps_previous_month_and_rerun_completes(db_conn):
    map_manually(db_conn, {ACME: "org-acme", GLOBEX: "org-globex"})
    mirror.load_month(db_conn, october().seed(db_conn), OCTOBER)
    before = checksums(db_conn)
    changed = october(licenses=[license(uid(101), ACME, quantity=50)], lines=[line(1, ACME, quantity=50)])
    run = changed.seed(db_conn)
    # Fires at COMMIT, after every write of the load and its reconciliation.
    db_conn.execute(
        """CREATE FUNCTION public.inject_failure() RETURNS trigger LANGUAGE plpgsql AS
           $$ BEGIN RAISE EXCEPTION 'injected failure at commit'; END $$;
           CREATE CONSTRAINT TRIGGER inject_failure AFTER INSERT ON sophos.invoice_lines
           DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION public.inject_failure()"""
    )
    db_conn.commit()

    with pytest.raises(psycopg.errors.RaiseException, match="injected failure"):
        mirror.load_month(db_conn, run, OCTOBER)
    assert checksums(db_conn) == before

    db_conn.execute("DROP TRIGGER inject_failure ON sophos.invoice_lines")
    db_conn.commit()
    counts = mirror.load_month(db_conn, run, OCTOBER)
    assert counts["invoice_lines"] == {"deleted": 6, "inserted": 1}
    assert db_conn.execute(
        "SELECT quantity FROM sophos.subscriptions WHERE subscription_id = %s", (uid(101),)
    ).fetchone() == (50,)


def test_vanished_license_becomes_cancelled_with_history(db_conn):
    map_manually(db_conn, {ACME: "org-acme", GLOBEX: "org-globex"})
    first = october()
    mirror.load_month(db_conn, first.seed(db_conn), OCTOBER)

    gone = uid(102)
    counts = mirror.load_month(
        db_conn, october(licenses=[lic for lic in first.licenses if lic["id"] != gone]).seed(db_conn), OCTOBER
    )

    assert counts["subscriptions"]["cancelled_vanished"] == 1
    assert subscription_statuses(db_conn)[gone] == "cancelled"
    assert history_of(db_conn, gone) == [("active", False), ("cancelled", True)]
    assert history_of(db_conn, uid(101)) == [("active", True)]
    # it is kept, not deleted; and it comes back to life if Sophos lists it again
    mirror.load_month(db_conn, first.seed(db_conn), OCTOBER)
    assert history_of(db_conn, gone) == [("active", False), ("cancelled", False), ("active", True)]


def test_skipped_tenant_and_rejected_license_keep_their_subscriptions(db_conn):
    map_manually(db_conn, {ACME: "org-acme", GLOBEX: "org-globex"})
    first = october()
    mirror.load_month(db_conn, first.seed(db_conn), OCTOBER)

    globex_license = next(lic for lic in first.licenses if lic["tenant"] == GLOBEX)
    second = october(
        licenses=[lic for lic in first.licenses if lic["tenant"] not in (ACME, GLOBEX)],
        skipped_tenants=[ACME],  # 403 on Acme's licences
        rejected_licenses=[{**globex_license, "quantity": -1}],  # Globex's licence failed validation
    )
    counts = mirror.load_month(db_conn, second.seed(db_conn), OCTOBER)

    assert counts["subscriptions"]["cancelled_vanished"] == 0
    assert set(subscription_statuses(db_conn).values()) == {"active"}


def test_removed_customer_is_marked_and_its_subscriptions_cancelled(db_conn):
    map_manually(db_conn, {ACME: "org-acme", GLOBEX: "org-globex"})
    first = october()
    mirror.load_month(db_conn, first.seed(db_conn), OCTOBER)

    without_globex = october(
        tenants=[t for t in first.tenants if t["id"] != GLOBEX],
        licenses=[lic for lic in first.licenses if lic["tenant"] != GLOBEX],
        lines=[item for item in first.lines if item.get("accountId") != GLOBEX],
    )
    counts = mirror.load_month(db_conn, without_globex.seed(db_conn), OCTOBER)

    assert counts["customers"]["removed"] == 1
    assert counts["subscriptions"]["cancelled_vanished"] == 1
    assert subscription_statuses(db_conn)[uid(201)] == "cancelled"
    assert db_conn.execute(
        "SELECT removed_at IS NOT NULL FROM sophos.customers WHERE sophos_customer_id = %s", (GLOBEX,)
    ).fetchone() == (True,)

    counts = mirror.load_month(db_conn, first.seed(db_conn), OCTOBER)
    assert counts["customers"] == {"inserted": 0, "updated": 1, "removed": 0}
    assert db_conn.execute(
        "SELECT removed_at FROM sophos.customers WHERE sophos_customer_id = %s", (GLOBEX,)
    ).fetchone() == (None,)


def test_status_follows_account_status_and_end_date_at_month_end(db_conn):
    map_manually(db_conn, {ACME: "org-acme", GLOBEX: "org-globex"})
    month = october(
        licenses=[
            license(uid(101), ACME, end_date="2026-10-31"),  # ends on the month's last day: still active
            license(uid(102), ACME, end_date="2026-10-30"),  # ended before it
            license(uid(103), ACME, end_date=None),  # perpetual
            license(uid(201), GLOBEX),
        ],
        # Globex has one active and one suspended line: the worse one counts
        lines=[line(1, ACME), line(3, GLOBEX), line(7, GLOBEX, status="suspended")],
    )
    mirror.load_month(db_conn, month.seed(db_conn), OCTOBER)
    assert subscription_statuses(db_conn) == {
        uid(101): "active",
        uid(102): "cancelled",
        uid(103): "active",
        uid(201): "suspended",
    }

    canceled = october(licenses=month.licenses, lines=[line(1, ACME), line(3, GLOBEX, status="canceled")])
    counts = mirror.load_month(db_conn, canceled.seed(db_conn), OCTOBER)
    assert counts["subscriptions"]["updated"] == 1
    assert counts["status_history"] == {"closed": 1, "opened": 1}
    assert history_of(db_conn, uid(201)) == [("suspended", False), ("cancelled", True)]


def test_backfill_of_older_month_leaves_mirror_at_newer_state(db_conn):
    map_manually(db_conn, {ACME: "org-acme", GLOBEX: "org-globex"})
    mirror.load_month(db_conn, october().seed(db_conn), OCTOBER)
    mirror_tables = {t: s for t, s in checksums(db_conn).items() if t != "sophos.invoice_lines"}
    october_lines = db_conn.execute(
        "SELECT count(*), sum(line_amount) FROM sophos.invoice_lines WHERE billing_month = %s", (OCTOBER,)
    ).fetchone()

    september = october(
        billing_month=SEPTEMBER,
        tenants=[tenant(ACME, "Acme (old name)")],
        licenses=[license(uid(101), ACME, quantity=1)],
        lines=[line(1, ACME, price="9.99", status="suspended")],
    )
    counts = mirror.load_month(db_conn, september.seed(db_conn), SEPTEMBER)

    assert counts["mirror"] == "skipped (backfill)"
    assert "customers" not in counts and "subscriptions" not in counts
    assert {t: s for t, s in checksums(db_conn).items() if t != "sophos.invoice_lines"} == mirror_tables
    assert (
        db_conn.execute(
            "SELECT count(*), sum(line_amount) FROM sophos.invoice_lines WHERE billing_month = %s", (OCTOBER,)
        ).fetchone()
        == october_lines
    )
    assert db_conn.execute(
        "SELECT count(*), sum(line_amount) FROM sophos.invoice_lines WHERE billing_month = %s", (SEPTEMBER,)
    ).fetchone() == (1, Decimal("99.9000"))


def test_two_loads_of_the_same_month_serialize(pg_dsn):
    with psycopg.connect(pg_dsn) as setup:
        map_manually(setup, {ACME: "org-acme", GLOBEX: "org-globex"})
        first_run, second_run = october().seed(setup), october().seed(setup)
    with psycopg.connect(pg_dsn) as first, psycopg.connect(pg_dsn) as second:
        # An open transaction around the first load keeps its lock until we commit.
        first.execute("SELECT 1")
        mirror.load_month(first, first_run, OCTOBER)
        outcome: dict = {}
        thread = threading.Thread(target=lambda: outcome.update(counts=mirror.load_month(second, second_run, OCTOBER)))
        thread.start()
        try:
            waited_on = None
            deadline = time.monotonic() + 10
            while waited_on is None and time.monotonic() < deadline:
                with psycopg.connect(pg_dsn, autocommit=True) as watcher:
                    waited_on = watcher.execute(
                        "SELECT wait_event FROM pg_stat_activity WHERE pid = %s AND wait_event_type = 'Lock'",
                        (second.info.backend_pid,),
                    ).fetchone()
                time.sleep(0.05)
            assert waited_on == ("advisory",)
            assert thread.is_alive()
        finally:
            first.commit()
            thread.join(30)
    # The second load ran against the first one's committed state.
    assert outcome["counts"]["customers"] == {"inserted": 0, "updated": 0, "removed": 0}
    assert outcome["counts"]["invoice_lines"] == {"deleted": 6, "inserted": 6}


def test_reconciliation_counts_rejected_and_collapsed_lines(db_conn):
    conflicting = [line(9, ACME, price="1.40"), line(9, ACME, price="1.50")]  # same key, both rejected
    month = october(
        rejected_lines=[line(8, ACME, price="1,40"), *conflicting],
        duplicated_lines=[line(1, ACME)],
        broken_lines=["not a line", "not a line"],
    )
    counts = mirror.load_month(db_conn, month.seed(db_conn), OCTOBER)
    assert counts["reconciliation"]["lines"] == {"loaded": 6, "rejected": 5, "collapsed_duplicates": 1, "reported": 12}
    assert counts["reconciliation"]["amounts"] == {"EUR": "48.8500", "USD": "14.0000"}


def test_amount_mismatch_rolls_back_with_both_figures(db_conn):
    map_manually(db_conn, {ACME: "org-acme", GLOBEX: "org-globex"})
    mirror.load_month(db_conn, october().seed(db_conn), OCTOBER)
    before = checksums(db_conn)
    altered = october(licenses=[license(uid(101), ACME, quantity=99)], stage_price_override={0: "1.41"})

    with pytest.raises(ReconciliationError) as failure:
        mirror.load_month(db_conn, altered.seed(db_conn), OCTOBER)

    assert "EUR: 48.9500" in str(failure.value) and "EUR: 48.85" in str(failure.value)
    assert checksums(db_conn) == before


def test_count_mismatch_rolls_back_with_both_figures(db_conn):
    map_manually(db_conn, {ACME: "org-acme", GLOBEX: "org-globex"})
    mirror.load_month(db_conn, october().seed(db_conn), OCTOBER)
    before = checksums(db_conn)

    with pytest.raises(ReconciliationError, match=r"reported 9 lines but the run accounts for 6"):
        mirror.load_month(db_conn, october(reported_extra=3).seed(db_conn), OCTOBER)
    assert checksums(db_conn) == before


def test_report_recheck_in_sql_agrees_with_the_raw_check_and_catches_a_changed_commit(db_conn):
    month = october(rejected_lines=[line(8, ACME, price="1,40")], duplicated_lines=[line(1, ACME)])
    run = month.seed(db_conn)
    figures = mirror.load_month(db_conn, run, OCTOBER)["reconciliation"]
    db_conn.commit()

    def staged() -> dict:
        return report.staged_line_amounts(db_conn, run)

    assert reconcile.reconcile(db_conn, run, OCTOBER, staged) == figures
    db_conn.execute(
        "UPDATE sophos.invoice_lines SET unit_price = unit_price + 0.01 WHERE line_key = "
        "(SELECT min(line_key) FROM sophos.invoice_lines WHERE currency = 'EUR')"
    )
    with pytest.raises(ReconciliationError, match=r"the lines validation staged \{EUR: 48\.8500"):
        reconcile.reconcile(db_conn, run, OCTOBER, staged, compared_with="the lines validation staged")


def test_finish_and_cleanup_keep_the_report_and_drop_the_run_data(db_conn):
    run = october(rejected_lines=[line(8, ACME, price="1,40")]).seed(db_conn)
    figures = mirror.load_month(db_conn, run, OCTOBER)["reconciliation"]
    assert reconcile.reconcile(db_conn, run, OCTOBER) == figures  # the committed month still adds up
    db_conn.commit()

    sync_run.finish(db_conn, run, "succeeded", {"reconcile": figures})
    sync_run.cleanup(db_conn, run)

    status, finished, counts = db_conn.execute(
        "SELECT status, finished_at IS NOT NULL, counts FROM sophos.sync_runs WHERE sync_run_id = %s", (run,)
    ).fetchone()
    assert (status, finished) == ("succeeded", True)
    assert counts["reconcile"] == figures and counts["validate"]["billing_usage"] == {
        "collapsed_duplicates": 0,
        "rejected": 1,
    }
    for table in (
        "landing_records",
        "landing_pages",
        "landing_batches",
        "stage_tenants",
        "stage_licenses",
        "stage_billing_lines",
        "stage_customer_decisions",
    ):
        assert db_conn.execute(f"SELECT count(*) FROM sophos.{table} WHERE sync_run_id = %s", (run,)).fetchone() == (0,)
    rejected = db_conn.execute("SELECT count(*) FROM sophos.rejected_records WHERE sync_run_id = %s", (run,))
    assert rejected.fetchone() == (2,)
    assert db_conn.execute("SELECT count(*) FROM sophos.invoice_lines").fetchone() == (6,)


def test_raw_records_that_no_one_needs_are_purged_once_the_month_is_loaded(db_conn):
    """Raw records carry contacts (personal data): a failed run's landing rows go once its month is loaded by a
    later run, or after the landing retention; rejected records after theirs. Runs in flight keep theirs."""
    failed_same_month = october().seed(db_conn)
    failed_other_month = Month(SEPTEMBER, [], [], [line(1, ACME)]).seed(db_conn)
    failed_long_ago = Month(SEPTEMBER, [], [], [line(2, ACME)]).seed(db_conn)
    in_flight = Month(SEPTEMBER, [], [], [line(3, ACME)]).seed(db_conn)
    for run, status, days_ago in (
        (failed_same_month, "failed", 1),
        (failed_other_month, "failed", 2),
        (failed_long_ago, "failed", 40),
        (in_flight, "running", 0),
    ):
        db_conn.execute(
            "UPDATE sophos.sync_runs SET status = %s, started_at = now() - make_interval(days => %s) "
            "WHERE sync_run_id = %s",
            (status, days_ago, run),
        )
    db_conn.execute(
        "INSERT INTO sophos.rejected_records (sync_run_id, entity, source_key, check_name, raw, rejected_at) VALUES "
        "(%s, 'billing_usage', 'k', 'decimal_string', '{}', now() - interval '1 day'), "
        "(%s, 'billing_usage', 'k', 'decimal_string', '{}', now() - interval '40 days')",
        (failed_same_month, failed_long_ago),
    )
    db_conn.commit()
    loaded = october().seed(db_conn)
    mirror.load_month(db_conn, loaded, OCTOBER)
    db_conn.commit()
    sync_run.finish(db_conn, loaded, "succeeded", {})
    sync_run.cleanup(db_conn, loaded)

    landing_purged, rejected_purged = sync_run.purge_raw_records(db_conn, loaded, rejected_days=30, landing_days=30)
    assert landing_purged > 0 and rejected_purged == 1

    def landed(run: int) -> int:
        return db_conn.execute(
            "SELECT (SELECT count(*) FROM sophos.landing_records WHERE sync_run_id = %(run)s)"
            " + (SELECT count(*) FROM sophos.landing_pages WHERE sync_run_id = %(run)s)",
            {"run": run},
        ).fetchone()[0]

    assert (landed(failed_same_month), landed(failed_long_ago)) == (0, 0)
    assert landed(failed_other_month) > 0 and landed(in_flight) > 0
    assert db_conn.execute("SELECT sync_run_id FROM sophos.rejected_records").fetchall() == [(failed_same_month,)]
