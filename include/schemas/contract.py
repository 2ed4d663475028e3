"""What a contract module declares, as one typed object (`CONTRACT`): the model, and what validation needs to
read a record into it and a stage row out of it. A missing or misspelt part fails when the module loads."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property

import pandera.pandas as pa


@dataclass(frozen=True)
class Contract:
    model: type[pa.DataFrameModel]
    # The fields that identify a record: identical copies are kept once, differing ones all rejected.
    natural_key: tuple[str, ...]
    # stage-table column -> contract column, in table order (sync_run_id is added by the loader).
    stage: Mapping[str, str]
    # The column holding the natural key (conflicting copies are reported under it); None when the key is
    # one field, reported on that field.
    key_column: str | None = None
    # Columns computed from the API fields before the checks, each once for the whole batch (Arrow columns
    # in, Arrow column out).
    derived: Mapping[str, Callable] = field(default_factory=dict)
    # Fields whose change of JSON type is drift, kept and reported, not a rejection.
    informational: tuple[str, ...] = ()
    # Fields known and never read (personal data, unused lists), with why: not drift.
    ignored: Mapping[str, str] = field(default_factory=dict)
    # The column a line-level (dataframe) check reports, for sophos.rejected_records.column_name.
    check_columns: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        columns = set(self.schema.columns)
        unknown = {
            *self.natural_key,
            *self.stage.values(),
            *self.derived,
            *self.check_columns.values(),
            *([self.key_column] if self.key_column else []),
        } - columns
        if unknown:
            raise ValueError(f"contract {self.model.__name__} names columns its model lacks: {sorted(unknown)}")

    @cached_property
    def schema(self) -> pa.DataFrameSchema:
        return self.model.to_schema()

    @property
    def name(self) -> str:
        return self.schema.name

    @property
    def key(self) -> str:
        """The column a conflicting copy is reported under."""
        return self.key_column or self.natural_key[0]
