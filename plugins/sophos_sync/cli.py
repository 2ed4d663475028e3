"""`python -m sophos_sync <command>`: the operator's commands (docs/architecture.md, Interfaces).

Adding a command: write one `_cmd_<name>(args) -> int` function and register its parser in `build_parser`
with `set_defaults(handler=...)`. Handlers raise SophosSyncError for anything a person must fix; `main`
prints its message and exits 1.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

import psycopg

from sophos_sync.errors import SophosSyncError
from sophos_sync.review import workflow
from sophos_sync.warehouse import db, migrations


class OneLineErrorParser(argparse.ArgumentParser):
    """A wrong argument is one line on stderr (exit 2), not the usage block: `--help` has that."""

    def error(self, message: str):
        self.exit(2, f"error: {message} (see {self.prog} --help)\n")


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, not {value}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineErrorParser(prog="python -m sophos_sync", description="Sophos → Platform monthly sync.")
    parser.add_argument(
        "--dsn",
        help="PostgreSQL DSN (default: $SOPHOS_SYNC_DB_DSN, else the Airflow connection sophos_db)",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress to stderr")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    migrate = commands.add_parser("migrate", help="apply the database migrations not applied yet")
    migrate.set_defaults(handler=_cmd_migrate)

    review_parser = commands.add_parser("review", help="Support's work list of unmapped Sophos customers")
    review_commands = review_parser.add_subparsers(dest="review_command", required=True, metavar="ACTION")

    review_list = review_commands.add_parser("list", help="open unmapped customers, biggest amount first")
    review_list.add_argument("--limit", type=positive_int, help="show at most this many customers")
    review_list.set_defaults(handler=_cmd_review_list)

    review_resolve = review_commands.add_parser(
        "resolve", help="map a Sophos customer to a customer organization of its seller"
    )
    review_resolve.add_argument("sophos_customer_id", metavar="SOPHOS_CUSTOMER_ID")
    review_resolve.add_argument("org_id", metavar="ORG_ID")
    review_resolve.add_argument("--by", required=True, metavar="NAME", help="who resolves (recorded)")
    review_resolve.add_argument(
        "--force", action="store_true", help="replace an existing mapping (the old one is kept in the history)"
    )
    review_resolve.set_defaults(handler=_cmd_review_resolve)

    sellers_parser = commands.add_parser("sellers", help="link Platform sellers to their Sophos Partner Tenant IDs")
    sellers_commands = sellers_parser.add_subparsers(dest="sellers_command", required=True, metavar="ACTION")
    sellers_link = sellers_commands.add_parser(
        "link", help="validate a Partner Tenant ID through the Sophos API and store it as the seller's External ID"
    )
    sellers_link.add_argument("seller_id", metavar="SELLER_ID")
    sellers_link.add_argument("partner_id", metavar="PARTNER_TENANT_ID")
    sellers_link.add_argument(
        "--conn",
        action="append",
        metavar="CONN_ID",
        help="Sophos connection(s) to check with (default: all of SOPHOS_SYNC_CONN_IDS)",
    )
    sellers_link.add_argument("--force", action="store_true", help="replace the seller's existing link")
    sellers_link.set_defaults(handler=_cmd_sellers_link)
    sellers_list = sellers_commands.add_parser("list", help="sellers, their partner ids and when they last synced")
    sellers_list.set_defaults(handler=_cmd_sellers_list)

    prices_parser = commands.add_parser("prices", help="the distributor's price list of Sophos SKUs")
    prices_commands = prices_parser.add_subparsers(dest="prices_command", required=True, metavar="ACTION")
    prices_import = prices_commands.add_parser(
        "import", help="check a CSV (sku,currency,unit_price,valid_from[,valid_to]) and import it into the list"
    )
    prices_import.add_argument("file", metavar="FILE.csv", type=Path)
    prices_import.add_argument(
        "--replace", action="store_true", help="the list becomes exactly the file (default: its entries are added)"
    )
    prices_import.set_defaults(handler=_cmd_prices_import)
    prices_list = prices_commands.add_parser("list", help="the entries of the price list, or those valid in a month")
    prices_list.add_argument("--month", metavar="YYYY-MM", help="only the entries valid on some day of this month")
    prices_list.set_defaults(handler=_cmd_prices_list)

    subs_parser = commands.add_parser("subscriptions", help="Platform-side visibility of Sophos subscriptions")
    subs_commands = subs_parser.add_subparsers(dest="subscriptions_command", required=True, metavar="ACTION")
    subs_hide = subs_commands.add_parser(
        "hide", help="hide a subscription on the seller's page (Distributor Admin; cancel it in Sophos too)"
    )
    subs_hide.add_argument("subscription_id", metavar="SUBSCRIPTION_ID")
    subs_hide.add_argument("--by", required=True, metavar="NAME", help="the Distributor Admin (recorded)")
    subs_hide.add_argument("--reason", required=True, metavar="TEXT")
    subs_hide.set_defaults(handler=_cmd_subscriptions_hide)
    subs_unhide = subs_commands.add_parser("unhide", help="show a hidden subscription again")
    subs_unhide.add_argument("subscription_id", metavar="SUBSCRIPTION_ID")
    subs_unhide.add_argument("--by", required=True, metavar="NAME")
    subs_unhide.set_defaults(handler=_cmd_subscriptions_unhide)

    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s"
    )
    try:
        return args.handler(args)
    except SophosSyncError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except psycopg.OperationalError as exc:
        print(
            f"error: cannot reach PostgreSQL ({str(exc).strip()}). Check --dsn, $SOPHOS_SYNC_DB_DSN or the "
            f"Airflow connection sophos_db, and that the server is running.",
            file=sys.stderr,
        )
        return 1


def _cmd_migrate(args: argparse.Namespace) -> int:
    with db.connect(args.dsn) as conn:
        applied = migrations.migrate(conn)
    print(f"applied: {', '.join(applied)}" if applied else "schema is up to date")
    return 0


def _cmd_review_list(args: argparse.Namespace) -> int:
    with db.connect(args.dsn) as conn:
        rows = workflow.list_open(conn, limit=args.limit)
        total = workflow.count_open(conn)
    print(format_open_rows(rows, total))
    return 0


def _cmd_review_resolve(args: argparse.Namespace) -> int:
    with db.connect(args.dsn) as conn, conn.transaction():
        org = workflow.resolve(conn, args.sophos_customer_id, args.org_id, args.by, force=args.force)
    print(
        f"resolved: Sophos customer {args.sophos_customer_id} -> organization {org['org_id']} ({org['name']}, "
        f"seller {org['seller_id']}), by {args.by}. The next sync imports its subscriptions."
    )
    return 0


def _cmd_sellers_link(args: argparse.Namespace) -> int:
    from sophos_sync.platform import sellers
    from sophos_sync.settings import settings

    conn_ids = args.conn or settings.SOPHOS_CONN_IDS
    with db.connect(args.dsn) as conn:
        via = sellers.link(conn, args.seller_id, args.partner_id, conn_ids, force=args.force)
    print(f"linked: seller {args.seller_id} -> Sophos Partner Tenant ID {args.partner_id.strip().lower()} ({via})")
    return 0


def _cmd_sellers_list(args: argparse.Namespace) -> int:
    from sophos_sync.platform import sellers

    with db.connect(args.dsn) as conn:
        rows = sellers.list_sellers(conn)
    if not rows:
        print("No sellers in platform.sellers.")
        return 0
    print(f"{'SELLER':<20} {'PARTNER TENANT ID':<36} {'CUSTOMERS':>9}  {'LAST SYNCED':<20} NAME")
    for row in rows:
        synced = row["last_synced_at"].strftime("%Y-%m-%d %H:%M UTC") if row["last_synced_at"] else "never"
        print(
            f"{row['seller_id']:<20} {row['sophos_partner_id'] or '(not linked)':<36} {row['customers']:>9}  "
            f"{synced:<20} {row['name']}"
        )
    return 0


def _cmd_prices_import(args: argparse.Namespace) -> int:
    from sophos_sync.platform import prices
    from sophos_sync.validation.contracts import currencies

    with db.connect(args.dsn) as conn:
        done = prices.import_file(conn, args.file, currencies(), replace=args.replace)
    replaced = f", replacing the {done['replaced']:,} entries before" if args.replace else ""
    print(
        f"imported {done['imported']:,} price entries from {args.file}{replaced}. Lines Sophos sent without a "
        "unit price are valued from them when their month is loaded: run the month again to value a month "
        "already loaded."
    )
    return 0


def _cmd_prices_list(args: argparse.Namespace) -> int:
    from sophos_sync.platform import prices
    from sophos_sync.run.months import parse_month

    month = parse_month(args.month) if args.month else None
    with db.connect(args.dsn) as conn:
        rows = prices.valid_in(conn, month)
    if not rows:
        print(f"No price list entry valid in {args.month}." if month else "The price list is empty.")
        return 0
    print(f"{'SKU':<24} {'CUR':<4} {'UNIT PRICE':>14}  {'VALID FROM':<10}  VALID TO")
    for row in rows:
        until = row["valid_to"].isoformat() if row["valid_to"] else "(open)"
        print(
            f"{row['sku']:<24} {row['currency']:<4} {row['unit_price']:>14}  {row['valid_from'].isoformat():<10}  "
            f"{until}"
        )
    return 0


def _cmd_subscriptions_hide(args: argparse.Namespace) -> int:
    from sophos_sync.platform import visibility

    with db.connect(args.dsn) as conn:
        visibility.set_hidden(conn, args.subscription_id, True, args.by, args.reason)
    print(
        f"hidden: subscription {args.subscription_id} no longer shows on the seller's page (by {args.by}). "
        "Cancel it in Sophos Central too: the Platform does not change Sophos."
    )
    return 0


def _cmd_subscriptions_unhide(args: argparse.Namespace) -> int:
    from sophos_sync.platform import visibility

    with db.connect(args.dsn) as conn:
        visibility.set_hidden(conn, args.subscription_id, False, args.by)
    print(f"visible again: subscription {args.subscription_id} (by {args.by})")
    return 0


def format_open_rows(rows: list[dict], total: int) -> str:
    """Support's table: one line per customer, its candidates indented below it."""
    if not rows:
        return "No open unmapped customers."
    header = ("AMOUNT", "CUR", "SUBS", "REASON", "SELLER", "SOPHOS CUSTOMER ID", "NAME")
    lines = [
        (
            "" if row["billed_amount"] is None else f"{row['billed_amount']:,.2f}",
            row["currency"] or "",
            str(row["subscription_count"]),
            row["reason"],
            row["seller_id"] or f"? (partner {row['partner_id'] or 'none'})",
            row["sophos_customer_id"],
            row["customer_name"] or "",
        )
        for row in rows
    ]
    widths = [max(len(cells[i]) for cells in [header, *lines]) for i in range(len(header))]
    right_aligned = {0, 2}

    def render(cells: Sequence[str]) -> str:
        return "  ".join(
            cell.rjust(width) if i in right_aligned else cell.ljust(width)
            for i, (cell, width) in enumerate(zip(cells, widths, strict=True))
        ).rstrip()

    out = [render(header)]
    for row, cells in zip(rows, lines, strict=True):
        out.append(render(cells))
        for candidate in row["candidates"]:
            out.append(f"    candidate {candidate['score']:5.1f}  {candidate['org_id']}  {candidate['name']}")
    shown = f"{total:,} open" if len(rows) == total else f"showing {len(rows):,} of {total:,} open"
    out.append(f"{shown}; resolve with: python -m sophos_sync review resolve SOPHOS_CUSTOMER_ID ORG_ID --by NAME")
    return "\n".join(out)
