"""Secrets of Airflow connections masked in Airflow's logs, however a URI spells them."""

from __future__ import annotations

from urllib.parse import quote, quote_plus


def mask_password(password: str | None) -> None:
    """Mask a connection's password in Airflow's logs as given and as URIs spell it: Airflow masks only the
    first, so `postgresql://user:p%40ss@host/db` (AIRFLOW_CONN_* values, a quoted URL) would show it."""
    # Imported when a password is read: importing Airflow's logging configures it, and the CLI, which
    # imports this module through the warehouse, prints its own lines.
    from airflow.sdk.log import mask_secret

    if password:
        for spelling in {password, quote(password, safe=""), quote_plus(password)}:
            mask_secret(spelling)
