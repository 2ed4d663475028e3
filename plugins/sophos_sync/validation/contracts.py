"""The data contracts (include/schemas), loaded from $SOPHOS_SYNC_INCLUDE_DIR/schemas, and what validation
derives from each one's CONTRACT (include/schemas/contract.py): the API fields and their Arrow types, the stage
columns and the stage table's key column.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from functools import cache
from typing import TYPE_CHECKING

import pyarrow

from sophos_sync.entities import entity as declared
from sophos_sync.settings import settings

if TYPE_CHECKING:
    from types import ModuleType

# include/schemas is imported as this package (it is not on sys.path; its modules import each other).
_PACKAGE = "sophos_sync_contracts"

# The columns an entity's frame gets from its landing record, not from the API object: the Sophos connection,
# the tenant a licence was listed for, and that connection's contract currency (where the contract reads it).
LANDING = ("account", "tenantId", "contractCurrency")


def _package() -> ModuleType:
    if _PACKAGE not in sys.modules:
        init = settings.SCHEMAS_DIR / "__init__.py"
        if not init.is_file():
            raise FileNotFoundError(
                f"data contracts not found at {settings.SCHEMAS_DIR}: mount include/ beside plugins/ "
                "or set SOPHOS_SYNC_INCLUDE_DIR"
            )
        spec = importlib.util.spec_from_file_location(
            _PACKAGE, init, submodule_search_locations=[str(settings.SCHEMAS_DIR)]
        )
        assert spec is not None and spec.loader is not None
        package = importlib.util.module_from_spec(spec)
        sys.modules[_PACKAGE] = package
        spec.loader.exec_module(package)
    return sys.modules[_PACKAGE]


@cache
def contract(entity: str):  # -> include/schemas/contract.Contract (loaded by path, so not importable here)
    """The CONTRACT of an entity's contract module, loaded once per process."""
    module_name = declared(entity).contract
    _package()
    module = importlib.import_module(f"{_PACKAGE}.{module_name}")
    kind = importlib.import_module(f"{_PACKAGE}.contract").Contract
    found = getattr(module, "CONTRACT", None)
    if not isinstance(found, kind):
        raise TypeError(f"{contract_file(entity)} must define CONTRACT = Contract(...) (include/schemas/contract.py)")
    return found


def contract_file(entity: str) -> str:
    return f"include/schemas/{declared(entity).contract}.py"


def api_fields(entity: str) -> dict[str, pyarrow.DataType]:
    """The contract's API fields (dotted paths for nested ones) and the Arrow type of each: every column
    but the landing record's, the derived ones and the key."""
    found = contract(entity)
    added = {*LANDING, *found.derived, found.key_column}
    return {name: column.dtype.type.pyarrow_dtype for name, column in found.schema.columns.items() if name not in added}


def stage_columns(entity: str) -> list[str]:
    return list(contract(entity).stage)


def stage_key(entity: str) -> str:
    """The stage column that holds the entity's key (ValidationResult.unstage names its values)."""
    found = contract(entity)
    return next(name for name, source in found.stage.items() if source == found.key)


def currencies() -> frozenset[str]:
    """The ISO 4217 codes the contracts accept (include/schemas/checks.py)."""
    _package()
    return importlib.import_module(f"{_PACKAGE}.checks").CURRENCIES
