"""The data contracts (include/schemas), loaded from settings.SCHEMAS_DIR, and what validation reads in them.

A contract module declares its Pandera model and, once each: NATURAL_KEY, KEY_COLUMN (the column a
conflicting duplicate is reported under, None when the key is one field), DERIVED (columns computed
from the API fields), STAGE (stage-table column -> contract column), INFORMATIONAL (fields whose type
change is drift, not a rejection), IGNORED (fields known and never read) and CHECK_COLUMNS (the column
a line-level check reports).
"""
from __future__ import annotations

import importlib
import importlib.util
import sys
from functools import cache
from types import ModuleType

import pandera.pandas as pa
import pyarrow

from sophos_sync import settings

ENTITIES = ("tenant", "license", "billing_usage")
_MODULES = {"tenant": "tenants", "license": "licenses", "billing_usage": "billing_usage"}
# include/schemas is imported as this package (it is not on sys.path; its modules import each other).
_PACKAGE = "sophos_sync_contracts"

# The columns every entity's frame gets from its landing record, not from the API object.
LANDING = ("account", "tenantId")


@cache
def contract(entity: str) -> ModuleType:
    """The contract module of an entity, loaded from settings.SCHEMAS_DIR once per process."""
    if entity not in _MODULES:
        raise ValueError(f"unknown entity {entity!r}: expected one of {', '.join(ENTITIES)}")
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
        package = importlib.util.module_from_spec(spec)
        sys.modules[_PACKAGE] = package
        spec.loader.exec_module(package)
    return importlib.import_module(f"{_PACKAGE}.{_MODULES[entity]}")


def contract_file(entity: str) -> str:
    return f"include/schemas/{_MODULES[entity]}.py"


@cache
def schema(entity: str) -> pa.DataFrameSchema:
    module = contract(entity)
    models = [v for v in vars(module).values()
              if isinstance(v, type) and issubclass(v, pa.DataFrameModel) and v.__module__ == module.__name__]
    return models[0].to_schema()


def api_fields(entity: str) -> dict[str, pyarrow.DataType]:
    """The contract's API fields (dotted paths for nested ones) and the Arrow type of each: every column
    but the landing record's, the derived ones and the key."""
    module = contract(entity)
    added = {*LANDING, *module.DERIVED, module.KEY_COLUMN}
    return {name: column.dtype.type.pyarrow_dtype for name, column in schema(entity).columns.items()
            if name not in added}


def stage_columns(entity: str) -> list[str]:
    return list(contract(entity).STAGE)
