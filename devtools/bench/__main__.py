"""`python -m devtools.bench [--scale small|medium|large] ...` (`make bench`): run the benchmark, write
bench/results.json and the tables of bench/README.md, and print them."""

from __future__ import annotations

import argparse
import logging
from collections.abc import Sequence
from pathlib import Path

from devtools.bench.output import README_PATH, RESULTS_PATH, markdown, write_results
from devtools.bench.run import Options, run


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m devtools.bench",
        description="benchmark a whole month against the simulator and a throwaway PostgreSQL (bench/README.md)",
    )
    parser.add_argument("--scale", choices=("small", "medium", "large"), default="large")
    parser.add_argument("--latency-ms", type=int, default=20, help="API latency the simulator adds to every call")
    parser.add_argument("--seed", type=int, default=1, help="the simulator's data seed")
    parser.add_argument("--to-sql-rows", type=int, default=100_000, help="invoice lines in the to_sql baseline")
    parser.add_argument(
        "--sequential-tenants", type=int, default=2_000, help="tenants in the sequential licence baseline"
    )
    parser.add_argument("--out", help="where the results JSON goes (default: bench/results.json)")
    parser.add_argument("--readme", help="Markdown file whose results section is rewritten (default: bench/README.md)")
    parser.add_argument(
        "--pg-server",
        metavar="DSN",
        help="PostgreSQL server to create the bench database on (default: start scripts/pg.sh's 'bench' server)",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress to stderr")
    args = parser.parse_args(argv)
    if args.verbose:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    options = Options(
        scale=args.scale,
        latency_ms=args.latency_ms,
        seed=args.seed,
        to_sql_rows=args.to_sql_rows,
        sequential_tenants=args.sequential_tenants,
        server_dsn=args.pg_server,
        verbose=args.verbose,
    )
    out = Path(args.out) if args.out else RESULTS_PATH
    readme = Path(args.readme) if args.readme else README_PATH
    results = run(options)
    write_results(results, out, readme)
    print()
    print(markdown(results))
    print(f"written: {out}, {readme}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
