"""The one place that turns an Airflow connection into a SophosClient.

Connection (conn type sophos, registered by sophos_sync.sophos.provider; a connection of type http works the
same), configured the standard way (AIRFLOW_CONN_<ID>, the UI, a secrets backend):
    host      API base URL, e.g. https://api.central.sophos.com (the default); `schema` may give the scheme
    login     the API credential's client id
    password  its client secret (masked in every Airflow log once the hook has read it)
    extra     {"token_url": ..., "api_host_override": ..., "currency": "EUR"}, all optional
"""

from __future__ import annotations

import logging
import re

from airflow.sdk import BaseHook
from airflow.sdk.exceptions import AirflowNotFoundException

from sophos_sync.errors import ConfigurationError, SophosSyncError
from sophos_sync.masking import mask_password
from sophos_sync.settings import settings
from sophos_sync.sophos.client import SophosClient
from sophos_sync.sophos.endpoints import DEFAULT_GLOBAL_URL, DEFAULT_TOKEN_URL

log = logging.getLogger(__name__)

KNOWN_EXTRAS = frozenset({"token_url", "api_host_override", "currency"})


class SophosHook(BaseHook):
    """Reads a Sophos API connection; `get_client()` gives a ready SophosClient for it."""

    conn_name_attr = "conn_id"
    default_conn_name = settings.DEFAULT_SOPHOS_CONN_ID
    conn_type = "sophos"
    hook_name = "Sophos Central Partner API"

    def __init__(self, conn_id: str = default_conn_name, **client_options) -> None:
        """`client_options` go to SophosClient as they are (concurrency, timeouts...), e.g. for benchmarks."""
        super().__init__()
        self.conn_id = conn_id
        self._client_options = client_options
        self._conn = None

    def _connection(self):
        if self._conn is None:
            try:
                conn = self.get_connection(self.conn_id)
            except AirflowNotFoundException:
                raise ConfigurationError(
                    f"Sophos connection '{self.conn_id}' is not configured. Add it in the Airflow UI or set "
                    f"AIRFLOW_CONN_{self.conn_id.upper()} (conn type sophos; login = API client id, password = "
                    f"client secret, host = https://api.central.sophos.com; extra: token_url, "
                    f"api_host_override, currency)"
                ) from None
            mask_password(conn.password)
            unknown = sorted(set(conn.extra_dejson) - KNOWN_EXTRAS)
            if unknown:
                log.warning(
                    "Sophos connection '%s': ignoring unknown extra keys %s (known: %s)",
                    self.conn_id,
                    ", ".join(unknown),
                    ", ".join(sorted(KNOWN_EXTRAS)),
                )
            self._conn = conn
        return self._conn

    @property
    def base_url(self) -> str:
        """scheme://host[:port] of the API: the host field as given, else https://api.central.sophos.com."""
        conn = self._connection()
        host = (conn.host or "").strip().rstrip("/")
        if not host:
            return DEFAULT_GLOBAL_URL
        if "://" not in host:
            scheme = conn.schema if conn.schema in ("http", "https") else "https"
            host = f"{scheme}://{host}"
        if conn.port and not re.search(r":\d+$", host):
            host = f"{host}:{conn.port}"
        return host

    @property
    def contract_currency(self) -> str | None:
        """The contract currency (ISO 4217 code) from the extra `currency`, or None when not set."""
        value = self._connection().extra_dejson.get("currency")
        if value in (None, ""):
            return None
        code = str(value).strip().upper()
        if not re.fullmatch(r"[A-Z]{3}", code):
            raise ConfigurationError(
                f"Sophos connection '{self.conn_id}': extra 'currency' must be a three-letter ISO code "
                f"such as EUR, got {value!r}"
            )
        return code

    def get_client(self) -> SophosClient:
        conn = self._connection()
        extra = conn.extra_dejson
        return SophosClient(
            client_id=conn.login or "",
            client_secret=conn.password or "",
            name=self.conn_id,
            token_url=extra.get("token_url") or DEFAULT_TOKEN_URL,
            global_url=self.base_url,
            api_host_override=extra.get("api_host_override") or None,
            **self._client_options,
        )

    def get_conn(self) -> SophosClient:
        return self.get_client()

    def test_connection(self) -> tuple[bool, str]:
        """Airflow's *Test* button: a token for the credentials and whoami, the two calls every run starts with."""
        try:
            with self.get_client() as client:
                me = client.whoami()
        except SophosSyncError as exc:
            return False, str(exc)
        return True, f"Sophos accepted the credentials of '{self.conn_id}': partner {me.id}"
