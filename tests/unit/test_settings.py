"""Settings are read from the environment when used, so a changed variable takes effect without a re-import."""
from __future__ import annotations

from datetime import timedelta

import pytest

from sophos_sync.settings import settings
from sophos_sync.sophos.client import SophosClient
from sophos_sync.errors import ConfigurationError


def test_a_setting_follows_its_environment_variable(monkeypatch):
    monkeypatch.delenv("SOPHOS_SYNC_CONN_IDS", raising=False)
    assert settings.SOPHOS_CONN_IDS == ["sophos_default"]
    monkeypatch.setenv("SOPHOS_SYNC_CONN_IDS", " eu, us ,")
    monkeypatch.setenv("SOPHOS_SYNC_TASK_RETRY_DELAY_SECONDS", "7")
    assert settings.SOPHOS_CONN_IDS == ["eu", "us"]
    assert settings.TASK_RETRY_DELAY == timedelta(seconds=7)


def test_include_dir_moves_the_sql_and_contracts(monkeypatch, tmp_path):
    monkeypatch.setenv("SOPHOS_SYNC_INCLUDE_DIR", str(tmp_path))
    assert (settings.SQL_DIR, settings.SCHEMAS_DIR) == (tmp_path / "sql", tmp_path / "schemas")


def test_a_malformed_number_names_its_variable(monkeypatch):
    monkeypatch.setenv("SOPHOS_SYNC_REJECT_THRESHOLD", "one percent")
    with pytest.raises(ConfigurationError, match="SOPHOS_SYNC_REJECT_THRESHOLD must be a number, got 'one percent'"):
        settings.REJECT_THRESHOLD


def test_an_unknown_setting_is_an_attribute_error():
    with pytest.raises(AttributeError, match="NO_SUCH_SETTING"):
        settings.NO_SUCH_SETTING


def test_client_options_left_out_come_from_the_settings_of_the_moment(monkeypatch):
    monkeypatch.setenv("SOPHOS_SYNC_BILLING_PAGE_SIZE", "25")
    monkeypatch.setenv("SOPHOS_SYNC_LICENSE_CONCURRENCY", "3")
    monkeypatch.setenv("SOPHOS_SYNC_MAX_PAGES", "7")
    with SophosClient(client_id="id", client_secret="secret", page_size=50) as client:
        assert (client.page_size, client.concurrency, client.max_pages) == (50, 3, 7)
