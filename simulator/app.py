"""The Sophos Partner API as an ASGI app: the paths, headers, paging and error bodies of
docs/architecture.md, Sophos API facts.

Simulator-only control endpoints live under /_sim/ (health, the simulated "today"); no real Sophos
host has them, and faults never touch them.
"""

from __future__ import annotations

import base64
import binascii
import calendar
import json
import math
import secrets
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from http import HTTPStatus
from urllib.parse import parse_qs

import msgspec
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from simulator.sources import Account

TENANT_PAGE_DEFAULT, TENANT_PAGE_MAX = 50, 100
BILLING_PAGE_DEFAULT, BILLING_PAGE_MAX = 100, 1000
GLOBAL_API_HOST = "https://api.central.sophos.com"
DOC_URL = "https://developer.sophos.com/intro"
ERROR_CODES = {
    400: "badRequest",
    401: "unauthorized",
    403: "forbidden",
    404: "notFound",
    405: "methodNotAllowed",
    429: "tooManyRequests",
    500: "internalServerError",
    502: "badGateway",
    503: "serviceUnavailable",
}


class ApiError(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status, self.message = status, message


def dump_json(obj: object) -> bytes:
    """Compact UTF-8 JSON as json.dumps(obj, ensure_ascii=False, separators=(",", ":")) writes it (the same bytes
    for the generated data), about ten times faster: a page of 1,000 billing lines took ~17 ms with json.dumps."""
    return msgspec.json.encode(obj)


def json_response(obj: object, status: int = 200, headers: dict | None = None) -> Response:
    return Response(dump_json(obj), status_code=status, media_type="application/json", headers=headers)


def sophos_error_body(status: int, message: str) -> dict:
    """The Central API error body: {error, message, correlationId, code, createdAt, requestId, docUrl}."""
    return {
        "error": HTTPStatus(status).phrase,
        "message": message,
        "correlationId": str(uuid.uuid4()),
        "code": ERROR_CODES.get(status, "error"),
        "createdAt": datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "requestId": str(uuid.uuid4()),
        "docUrl": DOC_URL,
    }


def sophos_error(status: int, message: str, headers: dict | None = None) -> Response:
    return json_response(sophos_error_body(status, message), status, headers)


def token_error(status: int, error_code: str, message: str) -> Response:
    """The identity service's error body: {errorCode, message, trackingId}."""
    return json_response({"errorCode": error_code, "message": message, "trackingId": str(uuid.uuid4())}, status)


@dataclass
class SimulatorState:
    accounts: list[Account]
    report_day: int = 26
    token_ttl: int = 3600
    today_override: date | None = None
    tokens: dict[str, tuple[Account, float]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.by_client_id = {a.client_id: a for a in self.accounts}
        self._tenants_by_id: dict[str, dict[str, dict]] = {}

    def tenant(self, account: Account, tenant_id: str) -> dict | None:
        """One of the account's tenants by id (the first listed, as a scan would find), indexed on first use."""
        index = self._tenants_by_id.get(account.client_id)
        if index is None:
            index = {}
            for tenant in account.tenants:
                if isinstance(tenant, dict) and isinstance(tenant.get("id"), str):
                    index.setdefault(tenant["id"], tenant)
            self._tenants_by_id[account.client_id] = index
        return index.get(tenant_id)

    def today(self) -> date:
        return self.today_override or datetime.now(timezone.utc).date()

    def report_available(self, year: int, month: int) -> bool:
        """Month M's report is out from day `report_day` of M (the month's last day if it is shorter)."""
        day = min(self.report_day, calendar.monthrange(year, month)[1])
        return self.today() >= date(year, month, day)

    def issue_token(self, account: Account) -> str:
        now = time.monotonic()
        if len(self.tokens) > 10_000:
            self.tokens = {t: v for t, v in self.tokens.items() if v[1] > now}
        token = secrets.token_urlsafe(48)
        self.tokens[token] = (account, now + self.token_ttl)
        return token


def create_app(state: SimulatorState) -> Starlette:
    async def token(request: Request) -> Response:
        form = {k: v[0] for k, v in parse_qs((await request.body()).decode("utf-8", "replace")).items()}
        if form.get("grant_type") != "client_credentials":
            return token_error(400, "oauth.unsupported_grant_type", "grant_type must be client_credentials")
        account = state.by_client_id.get(form.get("client_id", ""))
        if account is None:
            return token_error(401, "oauth.client_app_does_not_exist", "Unauthorized")
        if not secrets.compare_digest(form.get("client_secret", ""), account.client_secret):
            return token_error(401, "oauth.invalid_client_secret", "Unauthorized")
        access = state.issue_token(account)
        return json_response(
            {
                "access_token": access,
                "errorCode": "success",
                "expires_in": state.token_ttl,
                "message": "OK",
                "refresh_token": secrets.token_urlsafe(32),
                "token_type": "bearer",
                "trackingId": str(uuid.uuid4()),
            }
        )

    def authenticate(request: Request) -> Account:
        scheme, _, value = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            raise ApiError(401, "Missing bearer token in the Authorization header")
        entry = state.tokens.get(value.strip())
        if entry is None:
            raise ApiError(401, "Invalid bearer token")
        if entry[1] <= time.monotonic():
            raise ApiError(401, "The access token has expired; request a new one")
        return entry[0]

    def partner_account(request: Request) -> Account:
        account = authenticate(request)
        partner_id = request.headers.get("x-partner-id")
        if not partner_id:
            raise ApiError(401, "Missing required header X-Partner-ID")
        if partner_id != account.partner_id:
            raise ApiError(403, "The X-Partner-ID does not match the authorized partner")
        return account

    async def whoami(request: Request) -> Response:
        account = authenticate(request)
        hosts = {"global": GLOBAL_API_HOST}
        if account.id_type != "partner":
            hosts["dataRegion"] = "https://api-eu01.central.sophos.com"
        return json_response({"id": account.partner_id, "idType": account.id_type, "apiHosts": hosts})

    async def tenants(request: Request) -> Response:
        account = partner_account(request)
        page = _int_param(request, "page", 1, 1, None)
        size = _int_param(request, "pageSize", TENANT_PAGE_DEFAULT, 1, TENANT_PAGE_MAX)
        items = account.tenants
        pages = {"current": page, "size": size}
        if _flag(request, "pageTotal"):
            pages.update(total=math.ceil(len(items) / size), items=len(items))
        pages["maxSize"] = TENANT_PAGE_MAX
        return json_response({"items": items[(page - 1) * size : page * size], "pages": pages})

    async def tenant(request: Request) -> Response:
        account = partner_account(request)
        wanted = request.path_params["tenant_id"]
        found = state.tenant(account, wanted)
        if found is None:
            raise ApiError(404, "Tenant not found")
        return json_response(found)

    async def licenses(request: Request) -> Response:
        account = authenticate(request)
        tenant_id = request.headers.get("x-tenant-id")
        if not tenant_id:
            raise ApiError(401, "Missing required header X-Tenant-ID")
        found = account.licenses(tenant_id)
        if found is None:
            raise ApiError(403, "The tenant does not belong to the authorized partner")
        return json_response({"tenant": {"id": tenant_id}, "licenses": found})

    async def billing_usage(request: Request) -> Response:
        account = partner_account(request)
        year, month = _year_month(request)
        lines = account.billing(year, month) if state.report_available(year, month) else None
        if lines is None:
            raise ApiError(404, f"No billing usage report for {year:04d}-{month:02d} (yet)")
        size = _int_param(request, "pageSize", BILLING_PAGE_DEFAULT, 1, BILLING_PAGE_MAX)
        from_key = request.query_params.get("pageFromKey")
        offset = _decode_key(from_key, year, month, len(lines)) if from_key else 0
        pages: dict = {}
        if from_key:
            pages["fromKey"] = from_key
        if offset + size < len(lines):
            pages["nextKey"] = _encode_key(year, month, offset + size)
        pages.update(size=size, maxSize=BILLING_PAGE_MAX)
        if _flag(request, "pageTotal"):
            pages.update(total=math.ceil(len(lines) / size), items=len(lines))
        return json_response({"items": _slice(lines, offset, size), "pages": pages})

    async def health(request: Request) -> Response:
        return json_response({"status": "ok", "partners": len(state.accounts)})

    async def today(request: Request) -> Response:
        if request.method == "POST":
            try:
                body = json.loads(await request.body() or b"{}")
                value = body["today"]
                state.today_override = None if value is None else date.fromisoformat(value)
            except (ValueError, KeyError, TypeError) as exc:
                raise ApiError(400, 'send {"today": "YYYY-MM-DD"} (or null for the real clock)') from exc
        return json_response({"today": state.today().isoformat(), "override": state.today_override is not None})

    async def api_error(request: Request, exc: ApiError) -> Response:
        return sophos_error(exc.status, exc.message)

    async def http_error(request: Request, exc: HTTPException) -> Response:
        return sophos_error(exc.status_code, exc.detail or HTTPStatus(exc.status_code).phrase)

    return Starlette(
        routes=[
            Route("/api/v2/oauth2/token", token, methods=["POST"]),
            Route("/whoami/v1", whoami, methods=["GET"]),
            Route("/partner/v1/tenants", tenants, methods=["GET"]),
            Route("/partner/v1/tenants/{tenant_id}", tenant, methods=["GET"]),
            Route("/licenses/v1/licenses", licenses, methods=["GET"]),
            Route("/partner/v1/billing/usage/{year}/{month}", billing_usage, methods=["GET"]),
            Route("/_sim/health", health, methods=["GET"]),
            Route("/_sim/today", today, methods=["GET", "POST"]),
        ],
        exception_handlers={ApiError: api_error, HTTPException: http_error},
    )


def _int_param(request: Request, name: str, default: int, low: int, high: int | None) -> int:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ApiError(400, f"Query parameter {name} must be an integer, got {raw!r}") from None
    if value < low or (high is not None and value > high):
        bounds = f"between {low} and {high}" if high is not None else f"at least {low}"
        raise ApiError(400, f"Query parameter {name} must be {bounds}, got {value}")
    return value


def _flag(request: Request, name: str) -> bool:
    return request.query_params.get(name, "").lower() == "true"


def _year_month(request: Request) -> tuple[int, int]:
    try:
        year, month = int(request.path_params["year"]), int(request.path_params["month"])
    except ValueError:
        raise ApiError(400, "Year and month in the path must be numbers, e.g. /2026/10") from None
    if not (2000 <= year <= 2999 and 1 <= month <= 12):
        raise ApiError(400, f"No such billing month: {year}/{month}")
    return year, month


def _encode_key(year: int, month: int, offset: int) -> str:
    raw = f"{year:04d}-{month:02d}:{offset}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_key(key: str, year: int, month: int, count: int) -> int:
    """The offset a pageFromKey stands for; keys are opaque to clients and bound to their month."""
    try:
        raw = base64.urlsafe_b64decode(key + "=" * (-len(key) % 4)).decode()
        tag, _, offset_text = raw.partition(":")
        offset = int(offset_text)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise ApiError(400, "Invalid pageFromKey: pass pages.nextKey of the previous page unchanged") from None
    if tag != f"{year:04d}-{month:02d}" or not 0 <= offset <= count:
        raise ApiError(400, "Invalid pageFromKey: it belongs to another report")
    return offset


def _slice(lines: Sequence, offset: int, size: int) -> list:
    return list(lines[offset : offset + size])
