"""Bad input from Sophos, end to end: a hand-written dataset served over HTTP, extracted into the jsonb landing
rows, validated, mapped and loaded. Each bad record is quarantined in sophos.rejected_records with its reason
and raw record, or an entity broken as a whole stops the run before anything is staged; SQL in the data stays
data; every good record is loaded. (tests/unit/validation/test_contracts.py checks each contract rule on its own.)"""

from __future__ import annotations

import copy
import json
import logging
from dataclasses import dataclass

import psycopg
import pytest
from harness import CHECKSUM_QUERIES, OCTOBER, SEPTEMBER, TODAY, Sync, checksums, month_lines, run_status

from devtools.databases import seed_platform
from simulator import generator
from simulator.testing import run_simulator
from sophos_sync.errors import ContractViolation

INJECTIONS = (
    "'); DROP TABLE sophos.invoice_lines; --",
    "Robert'); DELETE FROM sophos.customers; --",
    "x' OR '1'='1",
    "$$; TRUNCATE sophos.subscriptions, sophos.sync_runs CASCADE; $$",
    "%(sync_run_id)s %s {billing_month}",
    "\\'; SELECT pg_terminate_backend(pg_backend_pid()); --",
)
NUL = "\x00"
TENANT_TEXT = ("name", "showAs", "dataGeography", "dataRegion", "apiHost")
# sophos.invoice_lines column -> billing field, for every free-text field (finance.invoice_lines has all
# but the last two).
LINE_TEXT = {
    "partner_account_id": "partnerAccountId",
    "partner_account_name": "partnerAccountName",
    "order_number": "orderNumber",
    "order_line_item_number": "orderLineItemNumber",
    "account_number_or_serial_number": "accountNumberOrSerialNumber",
    "sku": "sku",
    "product_code": "productCode",
    "product_description": "productDescription",
    "product_group": "productGroup",
    "distributor_account_name": "distributorAccountName",
    "external_id": "externalId",
}
# A billing line needs its period, its SKU and its quantity; prices (and so a currency) are optional.
LINE_NULLS = {"billingStartDate", "billingEndDate", "sku", "billableQuantity"}
# What each defect kind of the simulator's generator becomes (a new kind fails the test until it is added).
GENERATOR_DEFECTS = {
    "duplicate_identical": None,  # folded into its original, which is loaded
    "duplicate_conflict": {("conflicting_duplicate", "lineKey")},
    "invalid_date": {("iso_date", "billingEndDate")},
    "non_numeric_price": {("decimal_string", "netPrice")},
    "missing_quantity": {("required", "billableQuantity")},
    "unknown_enum": {("allowed_values", "accountStatus")},
}
HUGE_LINES = 3_000  # three full pages of 1,000 lines (the API's maximum), over 3 MB each


def uid(n: int) -> str:
    return f"00000000-0000-4000-8000-{n:012d}"


def injected(fields) -> dict:
    return {name: INJECTIONS[n % len(INJECTIONS)] for n, name in enumerate(fields)}


@dataclass
class Bad:
    """A record that must be rejected: with these (check, column) reasons, its raw record stored as landed."""

    entity: str
    record: object
    reasons: set[tuple[str, str | None]]

    @property
    def landed(self) -> object:
        """The record as landing_records.raw holds it: jsonb cannot hold NUL, which is landed as SUB."""
        return json.loads(json.dumps(self.record).replace("\\u0000", "\\u001a"))


class BadDataset:
    """The suite's generated October, with bad and odd records added to the first partner's tenants,
    licences and billing, and huge pages of good lines to the third partner's billing."""

    def __init__(self, dataset: dict, auto_matched: str):
        self.dataset = dataset
        self.bad: list[Bad] = []
        self.added: set[str] = set()  # ids and order numbers of the records added, bad or good
        first, third = dataset["partners"][0], dataset["partners"][2]
        self._tenant = first["tenants"][0]
        self._license = next(lic for items in first["licenses"].values() for lic in items)
        self._line = {k: v for k, v in first["billing"][OCTOBER][0].items() if k != "accountId"}
        self._add_tenants(first)
        self._add_licenses(first, auto_matched)
        self._add_lines(first["billing"][OCTOBER])
        self._add_huge_pages(third["billing"][OCTOBER])

    def tenant(self, n: int, **changes) -> dict:
        self.added.add(uid(n))
        return {
            **copy.deepcopy(self._tenant),
            "id": uid(n),
            "name": f"Bad Input {n} GmbH",
            "showAs": f"Bad Input {n}",
            **changes,
        }

    def license(self, n: int, **changes) -> dict:
        self.added.add(uid(n))
        return {**copy.deepcopy(self._license), "id": uid(n), **changes}

    def line(self, n: int, **changes) -> dict:
        self.added.add(f"BAD-{n:04d}")
        return {**self._line, "orderNumber": f"BAD-{n:04d}", **changes}

    def _add_tenants(self, partner: dict) -> None:
        nulls = {name: None for name in self._tenant}
        urn = f"urn:uuid:{uid(1)}"
        bad = [
            (self.tenant(1, id=urn), {("uuid_format", "id")}),
            (self.tenant(2, id=INJECTIONS[0]), {("uuid_format", "id")}),
            # ids no HTTP header can carry, so their licences cannot even be asked for
            (self.tenant(3, id=f"{uid(3)}\n"), {("uuid_format", "id")}),
            (self.tenant(4, id=f"Müller-{uid(4)}"), {("uuid_format", "id")}),
            (self.tenant(5, id=f"{uid(5)}{NUL}"), {("uuid_format", "id")}),
            (self.tenant(6, name="N" * 10_000), {("max_chars", "name")}),
            (self.tenant(7, name=f"Acme{NUL} Gmb\x1bH\n"), {("no_control_characters", "name")}),
            # billingType is informational: its boolean is drift, not a reason (name and partner reject it)
            (
                self.tenant(8, name=42, billingType=True, partner=[partner["partner_id"]]),
                {("json_string", "name"), ("json_object", "partner")},
            ),
            (nulls, {("required", "id"), ("required", "name")}),
            ({**nulls, "id": uid(9)}, {("required", "name")}),
            (None, {("invalid_json", None)}),
        ]
        self.bad += [Bad("tenant", record, reasons) for record, reasons in bad]
        # Valid, however odd: a tenant without its partner object (its seller is unknown) and SQL in every
        # text field of another.
        self.no_partner = self.tenant(10)
        del self.no_partner["partner"]
        self.sql_tenant = self.tenant(11, **injected(TENANT_TEXT))
        partner["tenants"] += [record for record, _ in bad] + [self.no_partner, self.sql_tenant]
        # Sophos lists licences under the ids it listed, but one that is no UUID is not asked for.
        self.unasked = self.license(20)
        partner["licenses"][urn] = [self.unasked]

    def _add_licenses(self, partner: dict, tenant_id: str) -> None:
        no_product = self.license(22)
        del no_product["product"]
        bad = [
            (self.license(21, id=f"urn:uuid:{uid(21)}"), {("uuid_format", "id")}),
            (no_product, {("required", "product.code")}),
            (
                {name: None for name in self._license},
                {("required", "id"), ("required", "product.code"), ("required", "type")},
            ),
            (
                self.license(23, quantity="10", usage={"current": {"count": "7"}}),
                {("json_integer", "quantity"), ("json_integer", "usage.current.count")},
            ),
            (
                self.license(24, product={"code": "CIXA", "name": f"Intercept{NUL}X\x07"}),
                {("no_control_characters", "product.name")},
            ),
            (self.license(25, product={"code": "CIXA", "name": "P" * 10_000}), {("max_chars", "product.name")}),
            (None, {("invalid_json", None)}),
        ]
        self.bad += [Bad("license", record, reasons) for record, reasons in bad]
        sql = injected(("licenseIdentifier", "code", "name", "genericCode", "collectedAt"))
        self.sql_license = self.license(
            26,
            licenseIdentifier=sql["licenseIdentifier"],
            product={"code": sql["code"], "name": sql["name"], "genericCode": sql["genericCode"]},
            usage={"current": {"count": 1, "date": "2026-11-01", "collectedAt": sql["collectedAt"]}},
        )
        partner["licenses"][tenant_id] = (
            partner["licenses"].get(tenant_id, []) + [record for record, _ in bad] + [self.sql_license]
        )

    def _add_lines(self, lines: list) -> None:
        self.good_lines = []
        for n, (kind, reasons) in enumerate(GENERATOR_DEFECTS.items(), start=100):
            original = self.line(n)
            # A duplicate copies the line before it; the other kinds spoil the line itself.
            defective = generator._apply_defect(kind, original, original, 2026, 10, 31)
            if kind.startswith("duplicate"):
                lines.append(original)
                if reasons is None:
                    self.good_lines.append(original)
                else:
                    self.bad.append(Bad("billing_usage", original, reasons))
            lines.append(defective)
            if reasons is not None:
                self.bad.append(Bad("billing_usage", defective, reasons))
        typed = {
            "accountId": INJECTIONS[0],
            "accountStatus": INJECTIONS[1],
            "unitPrice": INJECTIONS[2],
            "netPriceCurrency": INJECTIONS[3],
            "billingStartDate": INJECTIONS[4],
        }
        bad = [
            (self.line(1, accountId=f"urn:uuid:{uid(1)}"), {("uuid_format", "accountId")}),
            (self.line(2, partnerAccountName="A" * 10_000), {("max_chars", "partnerAccountName")}),
            (
                self.line(3, productDescription=f"Intercept X{NUL}Advanced\x1b[31m"),
                {("no_control_characters", "productDescription")},
            ),
            ({name: None for name in self._line}, {("required", name) for name in LINE_NULLS}),
            (
                self.line(5, billableQuantity="5", netPrice=1.62, sku=1234, orderLineItemNumber={"n": 10}),
                {
                    ("json_integer", "billableQuantity"),
                    ("json_string", "netPrice"),
                    ("json_string", "sku"),
                    ("json_string", "orderLineItemNumber"),
                },
            ),
            (
                self.line(6, **typed),
                {
                    ("uuid_format", "accountId"),
                    ("allowed_values", "accountStatus"),
                    ("decimal_string", "unitPrice"),
                    ("allowed_values", "netPriceCurrency"),
                    ("iso_date", "billingStartDate"),
                },
            ),
            (None, {("invalid_json", None)}),
            (42, {("invalid_json", None)}),
        ]
        self.bad += [Bad("billing_usage", record, reasons) for record, reasons in bad]
        self.sql_line = {**self._line, **injected(LINE_TEXT.values())}
        self.added.add(self.sql_line["orderNumber"])
        self.good_lines.append(self.sql_line)
        lines += [record for record, _ in bad] + [self.sql_line]

    def _add_huge_pages(self, lines: list) -> None:
        template = {k: v for k, v in lines[0].items() if k != "accountId"}
        for n in range(HUGE_LINES):
            self.added.add(f"HUGE-{n:05d}")
            lines.append(
                {
                    **template,
                    "orderNumber": f"HUGE-{n:05d}",
                    "partnerAccountName": "R" * 1_000,
                    "distributorAccountName": "D" * 1_000,
                    "productDescription": "P" * 1_000,
                }
            )
        self.huge_report = len(lines)


# The column that tells a table's rows of records BadDataset added.
ADDED_BY = {
    "customers": "sophos_customer_id",
    "customer_mappings": "sophos_customer_id",
    "unmapped_customers": "sophos_customer_id",
    "subscriptions": "subscription_id",
    "status_history": "subscription_id",
    "invoice_lines": "order_number",
}


def checksums_without(dsn: str, added: set[str]) -> dict:
    """harness.checksums over the rows that do not come from records BadDataset added."""
    with psycopg.connect(dsn) as conn:
        found = {}
        for name, query in CHECKSUM_QUERIES.items():
            keep = f"coalesce(t.{ADDED_BY[name]}::text <> ALL(%(added)s), true)" if name in ADDED_BY else "true"
            found[name] = conn.execute(
                f"SELECT count(*), md5(string_agg(t::text, '|' ORDER BY t::text)) FROM ({query}) t WHERE {keep}",
                {"added": list(added)},
            ).fetchone()
        return found


def reasons_of(conn: psycopg.Connection, sync_run_id: int, bad: Bad) -> set[tuple[str, str | None]]:
    rows = conn.execute(
        "SELECT check_name, column_name FROM sophos.rejected_records "
        "WHERE sync_run_id = %s AND entity = %s AND raw = %s::jsonb",
        (sync_run_id, bad.entity, json.dumps(bad.landed)),
    ).fetchall()
    return set(rows)


@pytest.fixture
def bad_dataset(simulator, tmp_path) -> tuple[BadDataset, object]:
    dataset = simulator.dataset(months=[OCTOBER])
    auto_matched = next(
        t["id"]
        for t in dataset["partners"][0]["tenants"]
        if simulator.expected_mapping().get(t["id"]) == "auto_matched"
    )
    bad = BadDataset(dataset, auto_matched)
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(bad.dataset, ensure_ascii=False), encoding="utf-8")
    return bad, path


def test_bad_records_are_quarantined_with_their_reason_and_every_good_record_is_loaded(
    bad_dataset, monkeypatch, pg_dsn, baseline, caplog
):
    bad, path = bad_dataset
    seed_platform(pg_dsn, bad.dataset)
    with run_simulator(dataset_path=path, today=TODAY) as sim, caplog.at_level(logging.INFO):
        sync_run_id = Sync(monkeypatch, pg_dsn, sim).run_month(OCTOBER)
    assert run_status(pg_dsn, sync_run_id) == "succeeded"

    with psycopg.connect(pg_dsn) as conn:
        wrong = [
            (b.entity, b.record if len(json.dumps(b.record)) < 300 else "(long)", found)
            for b in bad.bad
            if (found := reasons_of(conn, sync_run_id, b)) != b.reasons
        ]
        assert wrong == []
        assert conn.execute(
            "SELECT count(*) FROM sophos.rejected_records WHERE raw->>'id' = %s", (bad.unasked["id"],)
        ).fetchone() == (0,)
        # SQL is data: stored verbatim wherever the field is valid text, executed nowhere.
        sql_tenant = conn.execute(
            "SELECT name, show_as, data_geography, data_region FROM sophos.customers WHERE sophos_customer_id = %s",
            (bad.sql_tenant["id"],),
        ).fetchone()
        assert sql_tenant == tuple(bad.sql_tenant[f] for f in ("name", "showAs", "dataGeography", "dataRegion"))
        assert conn.execute(
            "SELECT customer_name, reason FROM review.unmapped_customers WHERE sophos_customer_id = %s",
            (bad.sql_tenant["id"],),
        ).fetchone() == (bad.sql_tenant["name"], "no_match")
        assert conn.execute(
            "SELECT license_identifier, product_code, product_name FROM sophos.subscriptions "
            "WHERE subscription_id = %s",
            (bad.sql_license["id"],),
        ).fetchone() == (
            bad.sql_license["licenseIdentifier"],
            bad.sql_license["product"]["code"],
            bad.sql_license["product"]["name"],
        )
        for view, columns in (
            ("sophos.invoice_lines", list(LINE_TEXT)),
            ("finance.invoice_lines", list(LINE_TEXT)[:-2]),
        ):
            assert conn.execute(
                f"SELECT {', '.join(columns)} FROM {view} WHERE order_number = %s", (bad.sql_line["orderNumber"],)
            ).fetchone() == tuple(bad.sql_line[LINE_TEXT[c]] for c in columns)
        assert all(
            conn.execute("SELECT to_regclass(%s)", (table,)).fetchone()[0]
            for table in ("sophos.invoice_lines", "sophos.customers", "sophos.subscriptions", "sophos.sync_runs")
        )
        # A tenant without its partner object is kept, and Support sees why it cannot be mapped.
        assert conn.execute(
            "SELECT partner_id, reason FROM review.unmapped_customers WHERE sophos_customer_id = %s",
            (bad.no_partner["id"],),
        ).fetchone() == (None, "unknown_seller")
        loaded = {
            order
            for (order,) in conn.execute(
                "SELECT order_number FROM sophos.invoice_lines WHERE billing_month = '2026-10-01'"
            )
        }
        huge = conn.execute(
            "SELECT count(*), min(length(product_description)) FROM sophos.invoice_lines "
            "WHERE order_number LIKE 'HUGE-%'"
        ).fetchone()
    assert {line["orderNumber"] for line in bad.good_lines} <= loaded
    assert huge == (HUGE_LINES, 1_000)
    assert any(f"{bad.huge_report:,} lines in 4 pages" in r.getMessage() for r in caplog.records), (
        "the huge lines did not come in full pages"
    )
    # Nothing else lost or changed: everything but the added records is exactly the undisturbed October.
    assert checksums_without(pg_dsn, bad.added) == baseline(OCTOBER)


def _every_quantity_a_string(dataset: dict) -> None:
    for partner in dataset["partners"]:
        for line in partner["billing"][OCTOBER]:
            line["billableQuantity"] = str(line["billableQuantity"])


def _every_license_without_product(dataset: dict) -> None:
    for partner in dataset["partners"]:
        for licenses in partner["licenses"].values():
            for license in licenses:
                del license["product"]


def _no_tenant_an_object(dataset: dict) -> None:
    for partner in dataset["partners"]:
        partner["tenants"] = [None] * len(partner["tenants"])


BROKEN = {
    "every billing quantity a string": (
        _every_quantity_a_string,
        r"billableQuantity is a string in all [\d,]+ records.*billing_usage\.py",
    ),
    "every licence without its product": (
        _every_license_without_product,
        r"product\.code is missing in all [\d,]+ records.*licenses\.py",
    ),
    "no tenant a JSON object": (_no_tenant_an_object, r"tenant: none of the [\d,]+ records is a JSON object"),
}


@pytest.mark.parametrize("case", list(BROKEN))
def test_entity_broken_as_a_whole_stops_the_run_before_anything_is_staged(
    case, simulator, sync, pg_dsn, tmp_path, baseline
):
    """Sophos changes a field's type or drops an object in every record: the month is refused as a whole
    (ContractViolation) and the previous month stays exactly as it was."""
    breaks, message = BROKEN[case]
    dataset = simulator.dataset(months=[OCTOBER])
    breaks(dataset)
    path = tmp_path / "broken.json"
    path.write_text(json.dumps(dataset), encoding="utf-8")
    sync.run_month(SEPTEMBER)

    with run_simulator(dataset_path=path, today=TODAY) as broken:
        sync.point_at(broken)
        sync_run_id = sync.start(OCTOBER)
        sync.extract(sync_run_id, OCTOBER)
        with pytest.raises(ContractViolation, match=message) as refused:
            sync.prepare(sync_run_id, OCTOBER)
    assert "nothing was loaded" in str(refused.value)

    with psycopg.connect(pg_dsn) as conn:
        staged = conn.execute(
            """SELECT (SELECT count(*) FROM sophos.stage_tenants WHERE sync_run_id = %(run)s)
                    + (SELECT count(*) FROM sophos.stage_licenses WHERE sync_run_id = %(run)s)
                    + (SELECT count(*) FROM sophos.stage_billing_lines WHERE sync_run_id = %(run)s)
                    + (SELECT count(*) FROM sophos.rejected_records WHERE sync_run_id = %(run)s)""",
            {"run": sync_run_id},
        ).fetchone()[0]
    assert staged == 0
    assert month_lines(pg_dsn, OCTOBER) == (0, set())
    assert checksums(pg_dsn) == baseline(SEPTEMBER)
