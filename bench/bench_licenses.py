"""Licence fetching speed-up: 2,000 tenants at 50 ms API latency, sequential vs the default concurrency.

Starts the simulator (--scale medium --latency-ms 50), lists every partner's tenants, then fetches their
licences twice in the same run, once with concurrency 1 and once with the client's default, and prints
both times and the ratio. Target: at least 10x.

    .venv/bin/python bench/bench_licenses.py [--tenants 2000] [--latency-ms 50] [--concurrency N]
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "plugins"), str(ROOT)]

from simulator.testing import run_simulator  # noqa: E402
from sophos_sync import settings  # noqa: E402
from sophos_sync.client import SophosClient  # noqa: E402


def fetch_licences(sim, tenants_by_credential, concurrency: int) -> tuple[float, int]:
    """Seconds to fetch the licences of every listed tenant, and how many licences came back."""
    started = time.perf_counter()
    licences = 0
    for (client_id, secret, _), tenants in tenants_by_credential.items():
        with SophosClient(client_id=client_id, client_secret=secret, name=f"bench-{client_id[:8]}",
                          token_url=sim.token_url, api_host_override=sim.base_url,
                          concurrency=concurrency) as client:
            for result in client.licenses(tenants):
                if result.licenses is None:
                    raise SystemExit(f"tenant {result.tenant_id} skipped: {result.skipped_reason}")
                licences += len(result.licenses)
    return time.perf_counter() - started, licences


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tenants", type=int, default=2000)
    parser.add_argument("--latency-ms", type=int, default=50)
    parser.add_argument("--concurrency", type=int, default=settings.LICENSE_CONCURRENCY)
    args = parser.parse_args()

    with run_simulator(scale="medium", latency_ms=args.latency_ms) as sim:
        tenants_by_credential, remaining = {}, args.tenants
        for credential in sim.credentials:
            client_id, secret, _ = credential
            with SophosClient(client_id=client_id, client_secret=secret, token_url=sim.token_url,
                              api_host_override=sim.base_url) as client:
                listed = [(t["id"], t.get("apiHost")) for t in client.tenants()][:remaining]
            tenants_by_credential[credential] = listed
            remaining -= len(listed)
            if remaining <= 0:
                break
        count = sum(len(t) for t in tenants_by_credential.values())
        print(f"licences of {count:,} tenants ({len(tenants_by_credential)} credentials), "
              f"{args.latency_ms} ms latency per call")
        sequential, licences_seq = fetch_licences(sim, tenants_by_credential, 1)
        print(f"  concurrency  1: {sequential:7.2f} s  ({licences_seq:,} licences)")
        parallel, licences_par = fetch_licences(sim, tenants_by_credential, args.concurrency)
        print(f"  concurrency {args.concurrency:2d}: {parallel:7.2f} s  ({licences_par:,} licences)")
        if licences_par != licences_seq:
            raise SystemExit(f"the two runs disagree: {licences_seq:,} vs {licences_par:,} licences")
        print(f"  speed-up: {sequential / parallel:.1f}x (target >= 10x)")


if __name__ == "__main__":
    main()
