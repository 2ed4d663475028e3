"""Platform-side cancellation: hiding a subscription on the seller's page (seller guide, "Cancelling
Subscriptions"). The real cancellation happens in Sophos; the sync never touches this Platform-owned state."""

from __future__ import annotations

import psycopg

from sophos_sync.errors import SophosSyncError


class VisibilityError(SophosSyncError):
    """The change was refused; nothing was changed."""


def set_hidden(
    conn: psycopg.Connection, subscription_id: str, hidden: bool, changed_by: str, reason: str | None = None
) -> None:
    """Through platform.set_subscription_hidden, which only the distributor_admin role may execute."""
    try:
        with conn.transaction():
            conn.execute(
                "SELECT platform.set_subscription_hidden(%s::uuid, %s, %s, %s)",
                (subscription_id, hidden, changed_by, reason),
            )
    except psycopg.errors.InvalidTextRepresentation:
        raise VisibilityError(f"{subscription_id!r} is not a subscription id (a UUID); nothing was changed") from None
    except (psycopg.errors.NoDataFound, psycopg.errors.InvalidParameterValue) as exc:
        raise VisibilityError(exc.diag.message_primary) from None
    except psycopg.errors.InsufficientPrivilege:
        raise VisibilityError(
            "only a Distributor Admin may hide or unhide subscriptions: connect as a user granted the "
            "distributor_admin role; nothing was changed"
        ) from None
