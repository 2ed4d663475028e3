"""What Airflow deploys (`plugins/`, `dags/`) stands on its own: no import of the simulator or the dev tooling."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DEPLOYED = [ROOT / "plugins", ROOT / "dags"]
DEVELOPMENT_ONLY = ("simulator", "devtools")


def _imported_top_level_names(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_no_deployed_module_imports_development_tooling_even_lazily():
    offenders = {
        str(path.relative_to(ROOT)): sorted(_imported_top_level_names(path) & set(DEVELOPMENT_ONLY))
        for folder in DEPLOYED
        for path in folder.rglob("*.py")
    }
    assert {path: names for path, names in offenders.items() if names} == {}


@pytest.mark.slow  # imports every deployed module, Airflow included, in a fresh interpreter
def test_every_deployed_module_imports_where_the_development_tooling_is_absent():
    # `None` in sys.modules makes any import of those packages fail, as on a deployment without them.
    script = f"""
import importlib, pkgutil, sys
for name in {DEVELOPMENT_ONLY!r}:
    sys.modules[name] = None
sys.path[:0] = [{str(ROOT / "plugins")!r}]
import sophos_sync
for module in pkgutil.walk_packages(sophos_sync.__path__, "sophos_sync."):
    importlib.import_module(module.name)
import runpy
for plugin_file in {[str(p) for p in (ROOT / "plugins").glob("*.py")]!r}:
    runpy.run_path(plugin_file)
for dag_file in {[str(p) for p in (ROOT / "dags").glob("*.py")]!r}:
    runpy.run_path(dag_file)
print("ok")
"""
    result = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=300,
        cwd="/",
        env={
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "PATH": "/usr/bin:/bin",
            "AIRFLOW_HOME": str(ROOT / ".local" / "airflow-import-check"),
        },
    )
    assert result.returncode == 0 and result.stdout.strip().endswith("ok"), result.stderr[-3000:]
