"""Run a real simulator server for a test: `with run_simulator(scale="small") as sim: ... sim.base_url ...`
(`unpriced_months=["2026-10"]`: those months without prices, as `serve --unpriced-months`).

The server is `python -m simulator serve` in a subprocess, on a socket this process binds first (so the
port is known and free before the child starts), killed when the block ends, failed test or not.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import date, datetime, timezone
from functools import cached_property
from pathlib import Path

import httpx

from simulator import generator

ROOT = Path(__file__).resolve().parents[1]


class SimulatorHandle:
    """A running simulator: where it is, what it serves, and its control endpoint."""

    def __init__(
        self,
        base_url: str,
        *,
        dataset_path: str | None,
        scale: str,
        seed: int,
        today: date | None,
        report_day: int,
        process: subprocess.Popen,
        unpriced_months: Sequence[str] = (),
    ):
        self.base_url = base_url
        self.token_url = f"{base_url}/api/v2/oauth2/token"
        self.process = process
        self._dataset_path, self._scale, self._seed = dataset_path, scale, seed
        self._today, self._report_day = today, report_day
        self._unpriced_months = tuple(unpriced_months)

    def set_today(self, day: str | date | None) -> None:
        """Move the simulated day (None: back to the clock); decides which billing reports exist."""
        value = day.isoformat() if isinstance(day, date) else day
        response = httpx.post(f"{self.base_url}/_sim/today", json={"today": value}, timeout=10)
        response.raise_for_status()
        self._today = date.fromisoformat(value) if value else None

    @property
    def credentials(self) -> list[tuple[str, str, str]]:
        """(client_id, client_secret, partner_id) per partner, in dataset order."""
        if self._dataset_path:
            return [(p["client_id"], p["client_secret"], p["partner_id"]) for p in self._file["partners"]]
        return [(p.client_id, p.client_secret, p.partner_id) for p in self.world.partners]

    def dataset(self, months: list[str] | None = None) -> dict:
        """What the server serves, as a dataset dict. Generated data: the months asked (default: the newest
        month whose report is out on the simulated day), exactly as `python -m simulator generate` writes them.
        """
        if self._dataset_path:
            return json.loads(Path(self._dataset_path).read_text(encoding="utf-8"))
        return generator.dataset(self.world, months or [self._default_month()])

    def billing(self, partner_index: int, month: str) -> list[dict]:
        """One partner's billing usage items of a month (YYYY-MM) as the server serves them."""
        if self._dataset_path:
            return self._file["partners"][partner_index].get("billing", {}).get(month, [])
        return list(self.world.billing(partner_index, *generator.parse_month(month)))

    def expected_mapping(self) -> dict[str, str]:
        """Generated data only: tenant id -> auto_matched | ambiguous | no_match | unknown_seller."""
        if self._dataset_path:
            raise ValueError("expected_mapping() is known for generated data only, not for a dataset file")
        return dict(self.world.expected_mapping)

    @cached_property
    def world(self) -> generator.World:
        if self._dataset_path:
            raise ValueError("world is generated data only; this simulator serves a dataset file")
        return generator.build_world(self._scale, self._seed, self._unpriced_months)

    @cached_property
    def _file(self) -> dict:
        return json.loads(Path(self._dataset_path).read_text(encoding="utf-8"))

    def _default_month(self) -> str:
        today = self._today or datetime.now(timezone.utc).date()
        return generator.latest_report_month(today, self._report_day)


@contextmanager
def run_simulator(
    *,
    dataset_path: str | Path | None = None,
    scale: str = "small",
    seed: int = 1,
    unpriced_months: Sequence[str] = (),
    today: str | date | None = None,
    report_day: int = 26,
    token_ttl: int | None = None,
    latency_ms: int = 0,
    rate_limit: float | str | None = None,
    error_rate: float = 0.0,
    drop_rate: float = 0.0,
    malformed_page_rate: float = 0.0,
    fault_seed: int = 0,
    startup_timeout: float = 60.0,
) -> Iterator[SimulatorHandle]:
    today_date = date.fromisoformat(today) if isinstance(today, str) else today
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(256)
    port = listener.getsockname()[1]
    command = [
        sys.executable,
        "-m",
        "simulator",
        "serve",
        "--fd",
        str(listener.fileno()),
        "--report-day",
        str(report_day),
        "--latency-ms",
        str(latency_ms),
        "--error-rate",
        str(error_rate),
        "--drop-rate",
        str(drop_rate),
        "--malformed-page-rate",
        str(malformed_page_rate),
        "--fault-seed",
        str(fault_seed),
    ]
    command += ["--dataset", str(dataset_path)] if dataset_path else ["--scale", scale, "--seed", str(seed)]
    if unpriced_months:
        command += ["--unpriced-months", ",".join(unpriced_months)]
    if today_date:
        command += ["--today", today_date.isoformat()]
    if token_ttl is not None:
        command += ["--token-ttl", str(token_ttl)]
    if rate_limit is not None:
        command += ["--rate-limit", str(rate_limit)]
    with tempfile.TemporaryFile() as output:
        process = subprocess.Popen(
            command, cwd=ROOT, stdout=output, stderr=subprocess.STDOUT, pass_fds=[listener.fileno()]
        )
        listener.close()  # the child holds its own copy
        base_url = f"http://127.0.0.1:{port}"
        try:
            _wait_until_ready(base_url, process, output, startup_timeout)
            yield SimulatorHandle(
                base_url,
                dataset_path=str(dataset_path) if dataset_path else None,
                scale=scale,
                seed=seed,
                today=today_date,
                report_day=report_day,
                process=process,
                unpriced_months=unpriced_months,
            )
        finally:
            process.terminate()
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _wait_until_ready(base_url: str, process: subprocess.Popen, output, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                f"the simulator exited with code {process.returncode} before it was ready:\n{_tail(output)}"
            )
        try:
            if httpx.get(f"{base_url}/_sim/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"the simulator did not answer on {base_url} within {timeout:.0f} s:\n{_tail(output)}")


def _tail(output, chars: int = 4000) -> str:
    output.seek(0)
    return output.read().decode("utf-8", "replace")[-chars:]
