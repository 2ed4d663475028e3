"""`python -m simulator serve ...` and `python -m simulator generate ...` (see simulator/__init__.py)."""

from __future__ import annotations

import argparse
import logging
import sys
import time
from datetime import date, datetime, timezone

from simulator import generator
from simulator.faults import FaultConfig, parse_rate
from simulator.sources import accounts_from_dataset, accounts_from_scale, load_dataset_file


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m simulator", description="Sophos Partner API simulator")
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="serve the API over HTTP")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8080)
    serve.add_argument("--fd", type=int, help=argparse.SUPPRESS)  # a listening socket from simulator.testing
    source = serve.add_mutually_exclusive_group(required=True)
    source.add_argument("--dataset", help="JSON dataset file to serve verbatim")
    source.add_argument("--scale", choices=sorted(generator.SCALES), help="generate data of this size")
    serve.add_argument("--seed", type=int, default=1, help="seed of the generated data (with --scale)")
    serve.add_argument(
        "--unpriced-months",
        type=_months,
        default=[],
        help="with --scale: months (e.g. 2026-09,2026-10) whose billing lines have no price, currency, contact or "
        "discount fields, as in Sophos's 2026-01-08 example",
    )
    serve.add_argument("--today", type=_date, help="judge report availability as if today were YYYY-MM-DD")
    serve.add_argument("--report-day", type=int, default=26, help="day of month M from which M's report exists")
    serve.add_argument("--token-ttl", type=int, default=3600, help="access token lifetime in seconds")
    serve.add_argument("--latency-ms", type=int, default=0, help="delay every API answer by N ms")
    serve.add_argument("--rate-limit", type=_rate, help="N/s: above it answer 429 with Retry-After")
    serve.add_argument("--error-rate", type=float, default=0.0, help="share of answers that are 500/502/503")
    serve.add_argument("--drop-rate", type=float, default=0.0, help="share of connections closed mid-answer")
    serve.add_argument(
        "--malformed-page-rate", type=float, default=0.0, help="share of data pages whose JSON body is cut short"
    )
    serve.add_argument("--fault-seed", type=int, default=0)

    generate = commands.add_parser("generate", help="write a generated dataset file")
    generate.add_argument("--scale", choices=sorted(generator.SCALES), required=True)
    generate.add_argument("--seed", type=int, default=1)
    generate.add_argument(
        "--unpriced-months",
        type=_months,
        default=[],
        help="months whose billing lines have no price, currency, contact or discount fields (see serve)",
    )
    generate.add_argument(
        "--months",
        type=_months,
        help="billing months, e.g. 2026-08,2026-09,2026-10 (default: the newest month "
        "whose report is out, by the clock and report day 26)",
    )
    generate.add_argument("--out", required=True, help="file to write ('-' for stdout)")

    seed_platform = commands.add_parser(
        "seed-platform", help="load the Platform sellers and organizations matching the data into PostgreSQL"
    )
    seed_source = seed_platform.add_mutually_exclusive_group(required=True)
    seed_source.add_argument("--dataset", help="JSON dataset file whose 'platform' section to load")
    seed_source.add_argument("--scale", choices=sorted(generator.SCALES))
    seed_platform.add_argument("--seed", type=int, default=1)
    seed_platform.add_argument("--dsn", required=True, help="PostgreSQL DSN of the migrated sophos-sync database")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        if args.command == "serve":
            return _serve(args)
        if args.command == "seed-platform":
            return _seed_platform(args)
        return _generate(args)
    except (ValueError, OSError) as exc:
        print(f"simulator: {exc}", file=sys.stderr)
        return 2


def _serve(args: argparse.Namespace) -> int:
    from simulator.server import serve

    faults = FaultConfig(
        latency_ms=args.latency_ms,
        rate_limit=args.rate_limit,
        error_rate=args.error_rate,
        drop_rate=args.drop_rate,
        malformed_page_rate=args.malformed_page_rate,
        seed=args.fault_seed,
    )
    if not 1 <= args.report_day <= 31:
        raise ValueError(f"--report-day must be 1..31, got {args.report_day}")
    if args.token_ttl < 1:
        raise ValueError(f"--token-ttl must be at least 1 second, got {args.token_ttl}")
    if args.dataset and args.unpriced_months:
        raise ValueError("--unpriced-months shapes generated data: use it with --scale, not --dataset")
    if args.dataset:
        accounts = accounts_from_dataset(load_dataset_file(args.dataset))
    else:
        accounts = accounts_from_scale(args.scale, args.seed, args.unpriced_months)
    serve(
        accounts,
        host=args.host,
        port=args.port,
        fd=args.fd,
        today=args.today,
        report_day=args.report_day,
        token_ttl=args.token_ttl,
        faults=faults,
    )
    return 0


def _generate(args: argparse.Namespace) -> int:
    started = time.monotonic()
    months = args.months or [generator.latest_report_month(datetime.now(timezone.utc).date())]
    world = generator.build_world(args.scale, args.seed, args.unpriced_months)
    if args.out == "-":
        counts = generator.write_dataset(world, months, sys.stdout)
    else:
        with open(args.out, "w", encoding="utf-8") as out:
            counts = generator.write_dataset(world, months, out)
    logging.getLogger("simulator").info(
        "generated %s seed %d: %d partners, %s tenants, %s licences, %s billing lines (%s) in %.1f s -> %s",
        args.scale,
        args.seed,
        counts["partners"],
        f"{counts['tenants']:,}",
        f"{counts['licenses']:,}",
        f"{counts['billing_lines']:,}",
        ",".join(months),
        time.monotonic() - started,
        args.out,
    )
    return 0


def _seed_platform(args: argparse.Namespace) -> int:
    import psycopg

    from simulator.platform_seed import load_platform_seed

    if args.dataset:
        dataset = load_dataset_file(args.dataset)
    else:
        dataset = {"platform": generator.build_world(args.scale, args.seed).platform}
    with psycopg.connect(args.dsn) as conn:
        counts = load_platform_seed(conn, dataset)
    print(f"seeded platform: {counts['sellers']} sellers, {counts['customer_organizations']} customer organizations")
    return 0


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date YYYY-MM-DD") from None


def _rate(text: str) -> float:
    try:
        return parse_rate(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _months(text: str) -> list[str]:
    try:
        months = [part.strip() for part in text.split(",") if part.strip()]
        for month in months:
            generator.parse_month(month)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return months


if __name__ == "__main__":
    sys.exit(main())
