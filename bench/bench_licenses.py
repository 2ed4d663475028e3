"""Licence fetching speed-up: 2,000 tenants at 50 ms API latency, sequential vs the default concurrency.

Starts the simulator (--scale medium --latency-ms 50), lists every partner's tenants, then fetches their
licences twice in the same run, once with concurrency 1 and once with the client's default, and prints
both times and the ratio. Target: at least 10x.

    .venv/bin/python bench/bench_licenses.py [--tenants 2000] [--latency-ms 50] [--concurrency N]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "plugins"), str(ROOT)]

from devtools.bench.baselines import fetch_licenses  # noqa: E402
from simulator.testing import run_simulator  # noqa: E402
from sophos_sync.settings import settings  # noqa: E402
from sophos_sync.sophos.client import SophosClient  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tenants", type=int, default=2000)
    parser.add_argument("--latency-ms", type=int, default=50)
    parser.add_argument("--concurrency", type=int, default=settings.LICENSE_CONCURRENCY)
    args = parser.parse_args()

    with run_simulator(scale="medium", latency_ms=args.latency_ms) as sim:

        def client(credential, concurrency: int = 1) -> SophosClient:
            client_id, secret, _ = credential
            return SophosClient(
                client_id=client_id,
                client_secret=secret,
                name=f"bench-{client_id[:8]}",
                token_url=sim.token_url,
                api_host_override=sim.base_url,
                concurrency=concurrency,
            )

        tenants_by_credential, remaining = {}, args.tenants
        for credential in sim.credentials:
            with client(credential) as listing:
                listed = [t["id"] for t in listing.tenants()][:remaining]
            tenants_by_credential[credential] = listed
            remaining -= len(listed)
            if remaining <= 0:
                break
        count = sum(len(t) for t in tenants_by_credential.values())
        print(
            f"licences of {count:,} tenants ({len(tenants_by_credential)} credentials), "
            f"{args.latency_ms} ms latency per call"
        )
        runs = []
        for concurrency in (1, args.concurrency):
            fetched = fetch_licenses(client, tenants_by_credential, concurrency)
            if fetched.skipped:
                raise SystemExit(f"{fetched.skipped} tenants were skipped (403); the credentials should see them all")
            print(f"  concurrency {concurrency:2d}: {fetched.seconds:7.2f} s  ({fetched.licenses:,} licences)")
            runs.append(fetched)
        sequential, parallel = runs
        if parallel.licenses != sequential.licenses:
            raise SystemExit(f"the two runs disagree: {sequential.licenses:,} vs {parallel.licenses:,} licences")
        print(f"  speed-up: {sequential.seconds / parallel.seconds:.1f}x (target >= 10x)")


if __name__ == "__main__":
    main()
