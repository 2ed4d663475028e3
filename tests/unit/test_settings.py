"""Settings are read from the environment when used, so a changed variable takes effect without a re-import."""

from __future__ import annotations

import ast
import re
from datetime import timedelta

import pytest

from sophos_sync.errors import ConfigurationError
from sophos_sync.settings import VARIABLES, settings
from sophos_sync.sophos.client import SophosClient


def test_a_setting_follows_its_environment_variable(monkeypatch):
    monkeypatch.delenv("SOPHOS_SYNC_CONN_IDS", raising=False)
    assert settings.SOPHOS_CONN_IDS == ["sophos_default"]
    monkeypatch.setenv("SOPHOS_SYNC_CONN_IDS", " eu, us ,")
    monkeypatch.setenv("SOPHOS_SYNC_TASK_RETRY_DELAY_SECONDS", "7")
    assert settings.SOPHOS_CONN_IDS == ["eu", "us"]
    assert timedelta(seconds=7) == settings.TASK_RETRY_DELAY


def test_include_dir_moves_the_sql_and_contracts(monkeypatch, tmp_path):
    monkeypatch.setenv("SOPHOS_SYNC_INCLUDE_DIR", str(tmp_path))
    assert (tmp_path / "sql", tmp_path / "schemas") == (settings.SQL_DIR, settings.SCHEMAS_DIR)


def test_a_malformed_number_names_its_variable(monkeypatch):
    monkeypatch.setenv("SOPHOS_SYNC_REJECT_THRESHOLD", "one percent")
    with pytest.raises(ConfigurationError, match="SOPHOS_SYNC_REJECT_THRESHOLD must be a number, got 'one percent'"):
        _ = settings.REJECT_THRESHOLD


def test_an_unknown_setting_is_an_attribute_error():
    with pytest.raises(AttributeError, match="NO_SUCH_SETTING"):
        _ = settings.NO_SUCH_SETTING


def test_client_options_left_out_come_from_the_settings_of_the_moment(monkeypatch):
    monkeypatch.setenv("SOPHOS_SYNC_BILLING_PAGE_SIZE", "25")
    monkeypatch.setenv("SOPHOS_SYNC_LICENSE_CONCURRENCY", "3")
    monkeypatch.setenv("SOPHOS_SYNC_MAX_PAGES", "7")
    with SophosClient(client_id="id", client_secret="secret", page_size=50) as client:
        assert (client.page_size, client.concurrency, client.max_pages) == (50, 3, 7)


def _tunables_in_readme() -> set[str]:
    """The variables the README's tunables table names (`_X` after a `SOPHOS_SYNC_X` stands for SOPHOS_SYNC_X)."""
    readme = (settings.PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    table = readme[readme.index("| variable | default | meaning |") :]
    table = table[: table.index("\n\n")]
    names: set[str] = set()
    for row in table.splitlines()[2:]:
        for name in re.findall(r"`(SOPHOS_SYNC_\w+|_\w+)`", row.split("|")[1]):
            names.add(name if name.startswith("SOPHOS_SYNC_") else f"SOPHOS_SYNC{name}")
    return names


def test_the_readme_lists_every_variable_the_settings_define():
    assert _tunables_in_readme() == {variable.name for variable in VARIABLES}


def test_no_deployed_module_reads_a_sophos_sync_variable_but_the_settings():
    readers = []
    for path in [*(settings.PROJECT_ROOT / "plugins").rglob("*.py"), *(settings.PROJECT_ROOT / "dags").rglob("*.py")]:
        if path.name == "settings.py" and path.parent.name == "sophos_sync":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Constant)
                and isinstance(node.value, str)
                and re.fullmatch(r"SOPHOS_SYNC_\w+", node.value)
            ):
                readers.append(f"{path.name}: {node.value}")
    assert readers == []
