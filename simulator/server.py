"""Run the simulator under uvicorn: on a host and port, or on a listening socket handed over by a parent."""

from __future__ import annotations

import logging
import socket
from datetime import date

import uvicorn

from simulator.app import SimulatorState, create_app
from simulator.faults import DroppedConnection, FaultConfig, FaultInjector
from simulator.sources import Account

log = logging.getLogger("simulator")


class _HideDeliberateDrops(logging.Filter):
    """uvicorn logs a traceback for every exception; a --drop-rate drop is not an error of the simulator."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and isinstance(record.exc_info[1], DroppedConnection))


def build_asgi_app(
    accounts: list[Account],
    *,
    today: date | None = None,
    report_day: int = 26,
    token_ttl: int = 3600,
    faults: FaultConfig | None = None,
):
    state = SimulatorState(accounts, report_day=report_day, token_ttl=token_ttl, today_override=today)
    return FaultInjector(create_app(state), faults or FaultConfig()), state


def serve(
    accounts: list[Account],
    *,
    host: str = "127.0.0.1",
    port: int = 8080,
    fd: int | None = None,
    today: date | None = None,
    report_day: int = 26,
    token_ttl: int = 3600,
    faults: FaultConfig | None = None,
) -> None:
    faults = faults or FaultConfig()
    app, state = build_asgi_app(accounts, today=today, report_day=report_day, token_ttl=token_ttl, faults=faults)
    config = uvicorn.Config(app, host=host, port=port, log_level="warning", access_log=False, lifespan="off")
    server = uvicorn.Server(config)
    logging.getLogger("uvicorn.error").addFilter(_HideDeliberateDrops())
    sockets = None
    if fd is not None:
        sock = socket.socket(fileno=fd)
        host, port = sock.getsockname()[:2]
        sockets = [sock]
    tenants = sum(len(a.tenants) for a in accounts)
    clock = "override" if today else "clock"
    log.info(
        "Sophos simulator on http://%s:%s: %d partners, %s tenants; report day %d, today %s (%s); "
        "token ttl %d s; faults: %s",
        host,
        port,
        len(accounts),
        f"{tenants:,}",
        report_day,
        state.today().isoformat(),
        clock,
        token_ttl,
        faults.describe(),
    )
    server.run(sockets=sockets)
