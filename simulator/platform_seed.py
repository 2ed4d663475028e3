"""Load a dataset's Platform section (sellers, customer organizations) into the platform schema."""

from __future__ import annotations

import logging

import psycopg

log = logging.getLogger(__name__)


def load_platform_seed(conn: psycopg.Connection, dataset: dict) -> dict[str, int]:
    """Replace platform.sellers and platform.customer_organizations with the dataset's "platform" section.

    Idempotent: the two tables hold exactly the dataset's rows afterwards. Runs in one transaction (a
    savepoint if the caller has one open), so a failure leaves the previous contents in place.
    """
    platform = dataset.get("platform")
    if not isinstance(platform, dict):
        raise ValueError("the dataset has no 'platform' section; generate one with `python -m simulator generate`")
    sellers = platform.get("sellers", [])
    orgs = platform.get("customer_organizations", [])
    with conn.transaction(), conn.cursor() as cur:
        cur.execute("DELETE FROM platform.customer_organizations")
        cur.execute("DELETE FROM platform.sellers")
        with cur.copy("COPY platform.sellers (seller_id, name, sophos_partner_id) FROM STDIN") as copy:
            for seller in sellers:
                copy.write_row((seller["seller_id"], seller["name"], seller.get("sophos_partner_id")))
        with cur.copy("COPY platform.customer_organizations (org_id, seller_id, name) FROM STDIN") as copy:
            for org in orgs:
                copy.write_row((org["org_id"], org["seller_id"], org["name"]))
    counts = {"sellers": len(sellers), "customer_organizations": len(orgs)}
    log.info(
        "seeded platform: %d sellers, %d customer organizations", counts["sellers"], counts["customer_organizations"]
    )
    return counts
