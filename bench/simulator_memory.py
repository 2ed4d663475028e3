"""Peak RSS of the simulator while it serves a whole `large` month, and how fast it pages.

    .venv/bin/python bench/simulator_memory.py [--scale large] [--seed 1] [--month 2026-10] [--page-size 1000]

Starts `python -m simulator serve` (simulator.testing.run_simulator), pages every partner's billing usage
of the month with pageFromKey, and reads the server's VmHWM (peak resident set) from /proc.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "plugins"), str(ROOT)]

from devtools.bench.measurement import proc_status_mb  # noqa: E402
from simulator.testing import run_simulator  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", default="large")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--month", default="2026-10")
    parser.add_argument("--page-size", type=int, default=1000)
    args = parser.parse_args()
    year, month = (int(part) for part in args.month.split("-"))
    started = time.monotonic()
    with (
        run_simulator(scale=args.scale, seed=args.seed, today=f"{args.month}-28") as sim,
        httpx.Client(base_url=sim.base_url, timeout=60) as http,
    ):
        pid = sim.process.pid
        ready = time.monotonic() - started
        idle = proc_status_mb(pid, "VmRSS")
        lines = pages = 0
        paging_started = time.monotonic()
        for client_id, secret, partner_id in sim.credentials:
            token = http.post(
                "/api/v2/oauth2/token",
                data={
                    "grant_type": "client_credentials",
                    "client_id": client_id,
                    "client_secret": secret,
                },
            ).json()["access_token"]
            headers = {"Authorization": f"Bearer {token}", "X-Partner-ID": partner_id}
            params = {"pageSize": args.page_size}
            while True:
                response = http.get(f"/partner/v1/billing/usage/{year}/{month}", headers=headers, params=params)
                response.raise_for_status()
                body = response.json()
                lines += len(body["items"])
                pages += 1
                next_key = body["pages"].get("nextKey")
                if not next_key:
                    break
                params = {"pageSize": args.page_size, "pageFromKey": next_key}
        seconds = time.monotonic() - paging_started
        peak = proc_status_mb(pid, "VmHWM")
    print(
        f"simulator {args.scale} seed {args.seed}, {args.month}: ready in {ready:.1f} s, RSS idle {idle:.0f} MB; "
        f"served {lines:,} billing lines in {pages:,} pages of {args.page_size} in {seconds:.1f} s "
        f"({lines / seconds:,.0f} lines/s); peak RSS {peak:.0f} MB"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
