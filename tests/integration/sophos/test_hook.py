"""SophosHook: an Airflow connection (AIRFLOW_CONN_<ID>, JSON or URI form) becomes a configured SophosClient."""

from __future__ import annotations

import json
import uuid

import pytest
from airflow.sdk._shared.secrets_masker import redact

from sophos_sync.errors import ConfigurationError
from sophos_sync.sophos.hook import SophosHook


def _set_connection(monkeypatch, conn_id: str, value: dict | str) -> None:
    monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", value if isinstance(value, str) else json.dumps(value))


def test_json_connection_configures_hosts_and_credentials(monkeypatch):
    _set_connection(
        monkeypatch,
        "sophos_eu",
        {
            "conn_type": "http",
            "host": "https://api.central.sophos.com",
            "login": "client-1",
            "password": "secret-one-1234",
            "extra": {
                "token_url": "https://id-eu.sophos.com/token",
                "api_host_override": "http://127.0.0.1:8123/",
                "currency": "eur",
            },
        },
    )
    hook = SophosHook("sophos_eu")
    with hook.get_client() as client:
        assert client.name == "sophos_eu"
        assert client.token_url == "https://id-eu.sophos.com/token"
        assert client.global_url == "https://api.central.sophos.com"
        assert client.api_host_override == "http://127.0.0.1:8123"
    assert hook.contract_currency == "EUR"


def test_uri_connection_with_port_and_schema_and_defaults(monkeypatch):
    _set_connection(
        monkeypatch, "sophos_sim", "http://client-2:se%2Fcret-two-5678@api-test.central.sophos.com:8443/https"
    )
    hook = SophosHook("sophos_sim")
    with hook.get_client() as client:
        assert client.global_url == "https://api-test.central.sophos.com:8443"
        assert client.token_url == "https://id.sophos.com/api/v2/oauth2/token"
        assert client.api_host_override is None
        assert "se/cret-two-5678" not in repr(client)
    assert hook.contract_currency is None


def test_connection_without_host_talks_to_sophos_global(monkeypatch):
    _set_connection(monkeypatch, "sophos_plain", {"conn_type": "http", "login": "c", "password": "secret-3-abcdef"})
    assert SophosHook("sophos_plain").base_url == "https://api.central.sophos.com"


def test_reading_the_connection_masks_its_secret_in_airflow_logs(monkeypatch):
    secret = f"secret-{uuid.uuid4().hex}"
    _set_connection(monkeypatch, "sophos_masked", {"conn_type": "http", "login": "c", "password": secret})
    SophosHook("sophos_masked").get_client().close()
    assert secret not in redact(f"token request with {secret} failed")


def test_missing_connection_says_how_to_configure_it(monkeypatch):
    monkeypatch.delenv("AIRFLOW_CONN_SOPHOS_NOWHERE", raising=False)
    with pytest.raises(ConfigurationError, match=r"'sophos_nowhere' is not configured.*AIRFLOW_CONN_SOPHOS_NOWHERE"):
        SophosHook("sophos_nowhere").get_client()


def test_connection_without_password_is_a_configuration_error(monkeypatch):
    _set_connection(monkeypatch, "sophos_nopass", {"conn_type": "http", "login": "client-4"})
    with pytest.raises(ConfigurationError, match="'sophos_nopass'.*client secret"):
        SophosHook("sophos_nopass").get_client()


def test_invalid_currency_is_a_configuration_error(monkeypatch):
    _set_connection(
        monkeypatch,
        "sophos_cur",
        {"conn_type": "http", "login": "c", "password": "secret-5-abcdef", "extra": {"currency": "euro"}},
    )
    with pytest.raises(ConfigurationError, match="three-letter ISO code"):
        _ = SophosHook("sophos_cur").contract_currency


def test_unknown_extra_key_is_warned_about(monkeypatch, caplog):
    _set_connection(
        monkeypatch,
        "sophos_typo",
        {"conn_type": "http", "login": "c", "password": "secret-6-abcdef", "extra": {"api_host": "http://127.0.0.1:1"}},
    )
    SophosHook("sophos_typo").get_client().close()
    assert "ignoring unknown extra keys api_host" in caplog.text


def test_client_from_a_connection_reads_the_simulator(monkeypatch):
    from simulator.testing import run_simulator

    with run_simulator(scale="small", today="2026-10-27") as sim:
        client_id, secret, partner_id = sim.credentials[0]
        _set_connection(
            monkeypatch,
            "sophos_sim",
            {
                "conn_type": "http",
                "host": sim.base_url,
                "login": client_id,
                "password": secret,
                "extra": {"token_url": sim.token_url, "api_host_override": sim.base_url},
            },
        )
        with SophosHook("sophos_sim").get_client() as client:
            assert client.whoami().id == partner_id
            assert [t["id"] for t in client.tenants()] == [t["id"] for t in sim.dataset()["partners"][0]["tenants"]]


def test_airflows_test_button_on_a_sophos_connection_checks_the_credentials(monkeypatch):
    """What the connection form's *Test* button runs: Connection.test_connection finds our hook for the
    `sophos` type through the providers manager (the sophos-sync distribution's entry point)."""
    from airflow.models.connection import Connection

    from simulator.testing import run_simulator

    with run_simulator(scale="small", today="2026-10-27") as sim:
        client_id, secret, partner_id = sim.credentials[0]
        extra = {"token_url": sim.token_url, "api_host_override": sim.base_url}
        good = {"conn_type": "sophos", "host": sim.base_url, "login": client_id, "password": secret, "extra": extra}
        _set_connection(monkeypatch, "sophos_tested", good)
        _set_connection(monkeypatch, "sophos_wrong", {**good, "password": "not-the-secret"})

        assert Connection(conn_id="sophos_tested", conn_type="sophos").test_connection() == (
            True,
            f"Sophos accepted the credentials of 'sophos_tested': partner {partner_id}",
        )
        ok, message = Connection(conn_id="sophos_wrong", conn_type="sophos").test_connection()
    assert not ok
    assert "Sophos rejected the client credentials" in message and "not-the-secret" not in message


def test_the_sophos_connection_form_names_its_fields():
    from airflow.providers_manager import ProvidersManager

    manager = ProvidersManager()
    assert manager.hooks["sophos"].hook_class_name == "sophos_sync.sophos.hook.SophosHook"
    assert manager.field_behaviours["sophos"]["relabeling"] == {
        "login": "Client ID",
        "password": "Client secret",
        "host": "API base URL",
    }
