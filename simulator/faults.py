"""Seeded, combinable faults in front of the API: latency, rate limiting, 5xx, dropped connections, truncated JSON.

Each API request draws its fault dice from one seeded stream in arrival order, so a fault seed replays
the same faults for the same sequence of requests. With every rate at 0 and no rate limit, nothing
here ever changes a response. Paths under /_sim/ are never touched.
"""

from __future__ import annotations

import asyncio
import math
import random
import re
import time
from dataclasses import dataclass

from simulator.app import dump_json, sophos_error_body

# Successful answers of these paths are the "pages" --malformed-page-rate may truncate.
DATA_PATHS = re.compile(r"^/(partner/v1/tenants|licenses/v1/licenses|partner/v1/billing/usage/[^/]+/[^/]+)$")
SERVER_ERRORS = (500, 502, 503)


class DroppedConnection(Exception):
    """Raised mid-response on purpose so the server closes the connection (the --drop-rate fault)."""


@dataclass(frozen=True)
class FaultConfig:
    latency_ms: int = 0
    rate_limit: float | None = None  # requests per second over all credentials
    error_rate: float = 0.0
    drop_rate: float = 0.0
    malformed_page_rate: float = 0.0
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("error_rate", "drop_rate", "malformed_page_rate"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name.replace('_', '-')} must be a probability between 0 and 1, got {value}")
        if self.latency_ms < 0:
            raise ValueError(f"latency-ms must be 0 or more, got {self.latency_ms}")
        if self.rate_limit is not None and self.rate_limit <= 0:
            raise ValueError(f"rate-limit must be more than 0 requests per second, got {self.rate_limit}")

    @property
    def active(self) -> bool:
        return bool(self.latency_ms or self.rate_limit or self.error_rate or self.drop_rate or self.malformed_page_rate)

    def describe(self) -> str:
        if not self.active:
            return "none"
        parts = [
            f"latency {self.latency_ms} ms" if self.latency_ms else "",
            f"rate limit {self.rate_limit:g}/s" if self.rate_limit else "",
            f"errors {self.error_rate:g}" if self.error_rate else "",
            f"drops {self.drop_rate:g}" if self.drop_rate else "",
            f"malformed pages {self.malformed_page_rate:g}" if self.malformed_page_rate else "",
        ]
        return ", ".join(p for p in parts if p) + f" (fault seed {self.seed})"


def parse_rate(text: str) -> float:
    """'5/s' or '5' -> 5.0 requests per second."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(?:/\s*s)?\s*", text)
    if not match or float(match.group(1)) <= 0:
        raise ValueError(f"rate limit {text!r} is not N/s with N > 0 (e.g. 5/s)")
    return float(match.group(1))


class TokenBucket:
    """Allows `rate` requests per second with bursts of up to one second's worth."""

    def __init__(self, rate: float):
        self.rate, self.capacity = rate, max(1.0, rate)
        self.tokens, self.updated = self.capacity, time.monotonic()

    def take(self) -> float | None:
        """None when the request may go; else the whole seconds to wait (the Retry-After value)."""
        now = time.monotonic()
        self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return None
        return max(1, math.ceil((1.0 - self.tokens) / self.rate))


class FaultInjector:
    """ASGI middleware wrapping the API app."""

    def __init__(self, app, config: FaultConfig):
        self.app, self.config = app, config
        self.rng = random.Random(config.seed)
        self.bucket = TokenBucket(config.rate_limit) if config.rate_limit else None

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["path"].startswith("/_sim/") or not self.config.active:
            await self.app(scope, receive, send)
            return
        config = self.config
        # Always draw the same dice per request, so one fault's rate does not shift another's sequence.
        error_roll, drop_roll, malformed_roll = self.rng.random(), self.rng.random(), self.rng.random()
        error_status = self.rng.choice(SERVER_ERRORS)
        if config.latency_ms:
            await asyncio.sleep(config.latency_ms / 1000)
        if self.bucket is not None:
            wait = self.bucket.take()
            if wait is not None:
                await _send_json(
                    send,
                    429,
                    sophos_error_body(429, "Too many requests; retry after the given delay"),
                    {"retry-after": str(wait)},
                )
                return
        if error_roll < config.error_rate:
            await _send_json(send, error_status, sophos_error_body(error_status, "Simulated server fault"))
            return
        drop = drop_roll < config.drop_rate
        malform = malformed_roll < config.malformed_page_rate and DATA_PATHS.match(scope["path"]) is not None
        if not (drop or malform):
            await self.app(scope, receive, send)
            return
        start, body = await _capture(self.app, scope, receive)
        if drop:
            # Promise the whole body, deliver half of it, then close: the client sees a cut connection.
            await send(start)
            await send({"type": "http.response.body", "body": body[: len(body) // 2], "more_body": True})
            raise DroppedConnection(f"simulated drop of {scope['path']}")
        if start["status"] == 200:
            body = body[: max(1, len(body) // 2)]
            start = dict(
                start,
                headers=[(k, v) for k, v in start["headers"] if k.lower() != b"content-length"]
                + [(b"content-length", str(len(body)).encode())],
            )
        await send(start)
        await send({"type": "http.response.body", "body": body})


async def _capture(app, scope, receive) -> tuple[dict, bytes]:
    start: dict = {}
    chunks: list[bytes] = []

    async def keep(message):
        if message["type"] == "http.response.start":
            start.update(message)
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(scope, receive, keep)
    return start, b"".join(chunks)


async def _send_json(send, status: int, obj: object, headers: dict | None = None) -> None:
    body = dump_json(obj)
    raw_headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    raw_headers += [(k.encode(), v.encode()) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": raw_headers})
    await send({"type": "http.response.body", "body": body})
