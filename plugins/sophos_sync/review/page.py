"""Support's review page inside the Airflow UI: the FastAPI app the plugin `plugins/sophos_review_plugin.py`
mounts on the api-server, behind Airflow's own login. Its files are in ui/.

Who may do what is the auth manager's decision, on the DAG that fills the review table:
read the page = may read DAG `sophos_monthly_sync` (simple auth manager: VIEWER and up; FAB: can read on
DAG:sophos_monthly_sync); resolve = may edit it (simple auth manager: USER and up; FAB: can edit on
DAG:sophos_monthly_sync). The caller is the one the Airflow UI's JWT (cookie `_token`, or an
`Authorization: Bearer` header) names; that name is recorded as who resolved. Only the script, style and
icon (ui/static/) are served to anyone, like the Airflow UI's own assets: they hold no data.

Airflow's api-server modules are imported inside the functions: the scheduler, dag-processor and workers
also load plugins, and they have no auth manager.

Its endpoints stay in one module (a little over 350 lines) because they share one set of guards (who the
caller is, what they may do, the CSRF and origin checks): split off the guards if the page grows.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import uuid
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

import psycopg
from fastapi import Depends, FastAPI, HTTPException, Query, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from psycopg.rows import dict_row
from pydantic import BaseModel, ConfigDict

from sophos_sync.mapping.outcomes import REASONS
from sophos_sync.review import workflow
from sophos_sync.settings import settings
from sophos_sync.warehouse import db

TITLE = "Unmapped Sophos customers"
URL_PREFIX = settings.REVIEW_URL_PREFIX
# The Airflow UI shows the page in a frame at plugin/<UI_ROUTE>; both links are relative to its base URL.
UI_ROUTE = settings.REVIEW_UI_ROUTE
NAV_ENTRY = {
    "name": TITLE,
    "href": f"{URL_PREFIX.lstrip('/')}/",
    "icon": f"{URL_PREFIX.lstrip('/')}/static/icon.svg",
    "url_route": UI_ROUTE,
    "destination": "nav",
}

Method = Literal["GET", "PUT"]
READ: Method = "GET"
WRITE: Method = "PUT"
CSRF_HEADER = "X-CSRF-Token"
MAX_ROWS = 500
MAX_SUGGESTIONS = 20
MAX_ORG_ID_CHARS = 200
MAX_FILTER_CHARS = 200
SORTS = ("amount_desc", "amount_asc", "recent")
REASON_WORDS = {
    "no_match": "No organization of the seller has this name",
    "ambiguous": "Several organizations of the seller have this name",
    "unknown_seller": "Its Sophos partner is not linked to any seller",
}
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_UI_DIR = Path(__file__).with_name("ui")


class ResolveRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    org_id: str
    force: bool = False


# --- Authentication and authorization: Airflow's auth manager ---------------------------------------


async def current_user(request: Request) -> Any:
    """The Airflow user of the request, exactly as Airflow's own API finds it (bearer header, else the UI's
    cookie). No valid token: 401, whatever Airflow's reason."""
    from airflow.api_fastapi.core_api.security import bearer_scheme, get_user

    try:
        return await get_user(request, None, await bearer_scheme(request))
    except HTTPException as exc:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, f"Sign in to Airflow first ({exc.detail}).") from None


def may(user: Any, method: Method) -> bool:
    from airflow.api_fastapi.app import get_auth_manager
    from airflow.api_fastapi.auth.managers.models.resource_details import DagDetails

    return get_auth_manager().is_authorized_dag(method=method, details=DagDetails(id=settings.DAG_ID), user=user)


def reader(user: Annotated[Any, Depends(current_user)]) -> Any:
    if not may(user, READ):
        raise HTTPException(
            status.HTTP_403_FORBIDDEN, f"Reading this page needs read access to the DAG {settings.DAG_ID}."
        )
    return user


def csrf_token(user: Any) -> str:
    """A token only this server can compute for this user; the page sends it back in a header with every
    write, which a page of another site cannot (it cannot read ours)."""
    from airflow.configuration import conf

    key = (conf.get("api", "secret_key", fallback="") or conf.get("api_auth", "jwt_secret")).encode()
    return hmac.new(key, f"sophos-review:{user.get_name()}".encode(), hashlib.sha256).hexdigest()


def _same_origin(request: Request) -> bool:
    """Browsers name the page a write comes from; it must be this server (as the request reached it, or as
    [api] base_url names it behind a reverse proxy)."""
    from airflow.configuration import conf

    if request.headers.get("sec-fetch-site", "same-origin") not in ("same-origin", "none"):
        return False
    origin = request.headers.get("origin")
    if origin is None:
        return True
    ours = {f"{request.url.scheme}://{request.headers.get('host', '')}"}
    base = urlsplit(conf.get("api", "base_url", fallback="") or "")
    if base.scheme and base.netloc:
        ours.add(f"{base.scheme}://{base.netloc}")
    return origin in ours


def writer(request: Request, user: Annotated[Any, Depends(current_user)]) -> Any:
    if not _same_origin(request):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "Refused: the request comes from another site.")
    if not hmac.compare_digest(request.headers.get(CSRF_HEADER, ""), csrf_token(user)):
        raise HTTPException(
            status.HTTP_403_FORBIDDEN, f"Refused: the {CSRF_HEADER} header is missing or wrong; reload the page."
        )
    if not may(user, WRITE):
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            f"Your Airflow role may only read this page: resolving needs edit access to the DAG {settings.DAG_ID}.",
        )
    return user


# --- Input ----------------------------------------------------------------------------------------------


def _customer_id(value: str) -> str:
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise HTTPException(
            status.HTTP_400_BAD_REQUEST, f"'{value[:60]}' is not a Sophos customer id (a UUID)."
        ) from None


def _text(value: str | None, what: str, limit: int = MAX_FILTER_CHARS) -> str | None:
    if value is None or not value.strip():
        return None
    value = value.strip()
    if len(value) > limit or _CONTROL.search(value):
        raise HTTPException(status.HTTP_400_BAD_REQUEST, f"{what} must be at most {limit} printable characters.")
    return value


def _org_id(value: str) -> str:
    org_id = _text(value, "org_id", MAX_ORG_ID_CHARS)
    if org_id is None:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, "org_id is required: the organization to map the customer to.")
    return org_id


def _choice(value: str | None, what: str, allowed: tuple[str, ...]) -> str | None:
    if value in (None, ""):
        return None
    if value not in allowed:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, f"{what} must be one of: {', '.join(allowed)}.")
    return value


# --- Presentation ---------------------------------------------------------------------------------------


def _month(value: date | None) -> str | None:
    return value.strftime("%Y-%m") if value else None


def _timestamp(value: datetime | None) -> str | None:
    return value.isoformat(timespec="seconds") if value else None


def _amount(row: dict) -> dict:
    month = _month(row["billed_month"])
    if row["billed_amount"] is None:
        why = f"no billing line for this customer in {month}" if month else "no billing month recorded yet"
        return {"value": None, "currency": None, "month": month, "text": f"unknown: {why}"}
    amount: Decimal = row["billed_amount"]
    return {
        "value": str(amount),
        "currency": row["currency"],
        "month": month,
        "text": f"{row['currency'] or ''} {amount:,.2f}".strip(),
    }


def _todo_for_unknown_seller(row: dict) -> str:
    partner = row["partner_id"] or "(no partner id from Sophos)"
    return (
        f"Link the seller's Partner Tenant ID first: python -m sophos_sync sellers link SELLER_ID {partner} "
        "(the seller whose Sophos partner this is). The next sync then maps the customer or lists it with "
        "candidates."
    )


def present(row: dict) -> dict:
    item = {
        "sophos_customer_id": row["sophos_customer_id"],
        "name": row["customer_name"],
        "show_as": row["show_as"] if row["show_as"] != row["customer_name"] else None,
        "partner_id": row["partner_id"],
        "seller_id": row["seller_id"],
        "seller_name": row["seller_name"],
        "reason": row["reason"],
        "reason_text": REASON_WORDS[row["reason"]],
        "amount": _amount(row),
        "subscription_count": row["subscription_count"],
        "first_seen_at": _timestamp(row["first_seen_at"]),
        "last_seen_at": _timestamp(row["last_seen_at"]),
        "candidates": row["candidates"] if row["reason"] != "unknown_seller" else [],
        "todo": _todo_for_unknown_seller(row) if row["reason"] == "unknown_seller" else None,
        "status": row["status"],
    }
    if row["status"] == "resolved":
        item["resolved"] = {
            "org_id": row["resolved_org_id"],
            "org_name": row["resolved_org_name"],
            "by": row["resolved_by"],
            "at": _timestamp(row["resolved_at"]),
        }
    return item


# --- The app ---------------------------------------------------------------------------------------------


async def _database_unreachable(request: Request, exc: psycopg.OperationalError) -> JSONResponse:
    return JSONResponse(
        {"detail": "The sync's database cannot be reached (Airflow connection sophos_db); try again later."},
        status_code=status.HTTP_503_SERVICE_UNAVAILABLE,
    )


async def _invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
    problems = "; ".join(
        f"{'.'.join(str(part) for part in error['loc'][1:]) or 'body'}: {error['msg']}" for error in exc.errors()
    )
    return JSONResponse({"detail": f"Invalid request: {problems}."}, status_code=status.HTTP_400_BAD_REQUEST)


app = FastAPI(
    title=TITLE,
    description="Support's work list of Sophos customers the sync could not map (see the module docstring).",
    docs_url=None,
    redoc_url=None,
    openapi_url=None,
    exception_handlers={RequestValidationError: _invalid_request, psycopg.OperationalError: _database_unreachable},
)
app.mount("/static", StaticFiles(directory=_UI_DIR / "static"), name="static")


@app.get("/", response_class=HTMLResponse, include_in_schema=False)
async def page(request: Request):
    """The page itself. Without a session the browser is sent to the Airflow UI's entry of this page, which
    sends it through Airflow's login and back; inside the UI's frame, a link does that for the whole tab."""
    try:
        await current_user(request)
    except HTTPException:
        if request.headers.get("sec-fetch-dest") == "iframe":
            return HTMLResponse(
                f'<p>Your Airflow session has ended. <a href="../plugin/{UI_ROUTE}" target="_top">Sign in</a>.</p>',
                status_code=status.HTTP_401_UNAUTHORIZED,
            )
        return RedirectResponse(f"../plugin/{UI_ROUTE}", status_code=status.HTTP_303_SEE_OTHER)
    return FileResponse(_UI_DIR / "index.html", headers={"Cache-Control": "no-store"})


@app.get("/api/session")
def session(user: Annotated[Any, Depends(reader)]) -> dict:
    return {"user": user.get_name(), "can_resolve": may(user, WRITE), "csrf_token": csrf_token(user)}


@app.get("/api/customers")
def customers(
    user: Annotated[Any, Depends(reader)],
    status_: Annotated[str, Query(alias="status")] = "open",
    seller_id: str | None = None,
    reason: str | None = None,
    sort: str | None = None,
) -> dict:
    params = {
        "status": _choice(status_, "status", ("open", "resolved")),
        "seller_id": _text(seller_id, "seller_id"),
        "reason": _choice(reason, "reason", REASONS),
        "sort": _choice(sort, "sort", SORTS) or ("recent" if status_ == "resolved" else "amount_desc"),
        "limit": MAX_ROWS,
    }
    with db.connect() as conn, conn.cursor(row_factory=dict_row) as cur:
        rows = cur.execute(db.sql("review/page_customers"), params).fetchall()
        counts = cur.execute(db.sql("review/page_counts")).fetchone()
        sellers = cur.execute(db.sql("review/page_sellers")).fetchall()
    return {
        "counts": counts,
        "sellers": sellers,
        "reasons": [{"reason": key, "text": text} for key, text in REASON_WORDS.items()],
        "sort": params["sort"],
        "limit": MAX_ROWS,
        "customers": [present(row) for row in rows],
    }


@app.get("/api/customers/{sophos_customer_id}/organizations")
def organizations(sophos_customer_id: str, user: Annotated[Any, Depends(reader)], q: str | None = None) -> dict:
    """Type-ahead: the organizations of the customer's own seller matching `q` (name or id)."""
    customer = _customer_id(sophos_customer_id)
    text = _text(q, "q") or ""
    pattern = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    with db.connect() as conn, conn.cursor(row_factory=dict_row) as cur:
        row = cur.execute(db.sql("review/page_customer_seller"), {"sophos_customer_id": customer}).fetchone()
        if row is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"No review row for Sophos customer {customer}.")
        if row["seller_id"] is None:
            return {"seller_id": None, "organizations": []}
        found = cur.execute(
            db.sql("review/seller_organizations"),
            {"seller_id": row["seller_id"], "pattern": pattern, "limit": MAX_SUGGESTIONS},
        ).fetchall()
    return {"seller_id": row["seller_id"], "organizations": found}


@app.post("/api/customers/{sophos_customer_id}/resolve")
def resolve(sophos_customer_id: str, body: ResolveRequest, user: Annotated[Any, Depends(writer)]):
    """Map the customer through workflow.resolve, as `python -m sophos_sync review resolve` does; a refusal
    answers 409 with the sentence the command prints, and nothing changes. `replaceable`: the customer is
    mapped to another organization, which `force` (the command's --force) replaces."""
    customer = _customer_id(sophos_customer_id)
    org_id = _org_id(body.org_id)
    by = user.get_name()
    try:
        with db.connect() as conn, conn.transaction():
            org = workflow.resolve(conn, customer, org_id, by, force=body.force)
    except workflow.ReviewError as exc:
        with db.connect() as conn:
            mapped = conn.execute(db.sql("review/current_mapping"), {"sophos_customer_id": customer}).fetchone()
        replaceable = not body.force and mapped is not None and mapped[0] != org_id
        return JSONResponse({"detail": str(exc), "replaceable": replaceable}, status_code=status.HTTP_409_CONFLICT)
    return {
        "message": (
            f"Resolved: Sophos customer {customer} -> organization {org['org_id']} ({org['name']}, seller "
            f"{org['seller_id']}), by {by}. The next sync imports its subscriptions."
        ),
        "organization": org,
        "resolved_by": by,
    }
