"""Seller onboarding ("Add Existing Contract" → "Validate" in the seller guide): link a seller of the
Platform to its Sophos Partner Tenant ID after checking, through the Sophos API, that we can reach it."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence

import psycopg

from sophos_sync.errors import SophosSyncError

log = logging.getLogger(__name__)


class SellerLinkError(SophosSyncError):
    """The link was refused; nothing was changed."""


def parse_partner_id(value: str) -> str:
    """A Partner Tenant ID in its canonical form; anything but a plain UUID is refused."""
    try:
        parsed = uuid.UUID(value.strip())
    except (ValueError, AttributeError):
        parsed = None
    if parsed is None or str(parsed) != value.strip().lower():
        raise SellerLinkError(
            f"{value!r} is not a Partner Tenant ID: expected a UUID like 3f2b8c1e-5d4a-4b6f-9e21-7a0c8d9e1f23 "
            "(Sophos Central → Partner settings). Nothing was changed."
        )
    return str(parsed)


def reachable_partners(conn_ids: Sequence[str]) -> dict[str, str]:
    """Partner id → connection id, for every partner the configured credentials reach: each credential's own
    partner (whoami) and, for a distributor-level credential, the partners of the tenants it lists."""
    from sophos_sync.sophos.hook import SophosHook

    reachable: dict[str, str] = {}
    for conn_id in conn_ids:
        with SophosHook(conn_id).get_client() as client:
            reachable.setdefault(client.whoami().id.lower(), conn_id)
            for tenant in client.tenants():
                partner = (tenant.get("partner") or {}).get("id") if isinstance(tenant, dict) else None
                if isinstance(partner, str):
                    reachable.setdefault(partner.lower(), conn_id)
    return reachable


def link(
    conn: psycopg.Connection, seller_id: str, partner_id: str, conn_ids: Sequence[str], force: bool = False
) -> str:
    """Validate and store the seller's External ID; returns the connection id that reaches the partner."""
    partner_id = parse_partner_id(partner_id)
    with conn.transaction():
        seller = conn.execute(
            "SELECT name, sophos_partner_id::text FROM platform.sellers WHERE seller_id = %s FOR UPDATE", (seller_id,)
        ).fetchone()
        if seller is None:
            raise SellerLinkError(f"unknown seller {seller_id!r}: it is not in platform.sellers. Nothing was changed.")
        holder = conn.execute(
            "SELECT seller_id FROM platform.sellers WHERE sophos_partner_id = %s AND seller_id <> %s",
            (partner_id, seller_id),
        ).fetchone()
        if holder:
            raise SellerLinkError(
                f"Partner Tenant ID {partner_id} is already linked to seller {holder[0]!r}; one Sophos partner "
                "belongs to one seller. Nothing was changed."
            )
        if seller[1] == partner_id:
            return "(already linked)"
        if seller[1] and not force:
            raise SellerLinkError(
                f"seller {seller_id!r} is already linked to Partner Tenant ID {seller[1]}; use --force to replace "
                "it. Nothing was changed."
            )
        reachable = reachable_partners(conn_ids)
        if partner_id not in reachable:
            raise SellerLinkError(
                f"no configured Sophos credential ({', '.join(conn_ids)}) reaches Partner Tenant ID {partner_id}: "
                "check the id with the seller, or add the credential of its distributor as an Airflow connection "
                "(SOPHOS_SYNC_CONN_IDS). Nothing was changed."
            )
        conn.execute("UPDATE platform.sellers SET sophos_partner_id = %s WHERE seller_id = %s", (partner_id, seller_id))
    log.info("linked seller %s to Sophos partner %s (reached through %s)", seller_id, partner_id, reachable[partner_id])
    return reachable[partner_id]


def list_sellers(conn: psycopg.Connection) -> list[dict]:
    """Each seller with its linked partner, its Sophos customers and when the sync last saw them."""
    rows = conn.execute(
        """SELECT s.seller_id, s.name, s.sophos_partner_id::text,
                  count(c.sophos_customer_id) FILTER (WHERE c.removed_at IS NULL) AS customers,
                  max(c.last_seen_at) AS last_synced_at
           FROM platform.sellers s
           LEFT JOIN sophos.customers c ON c.partner_id = s.sophos_partner_id
           GROUP BY s.seller_id, s.name, s.sophos_partner_id
           ORDER BY s.seller_id"""
    ).fetchall()
    keys = ("seller_id", "name", "sophos_partner_id", "customers", "last_synced_at")
    return [dict(zip(keys, row, strict=True)) for row in rows]
