"""What the sync reads from Sophos, declared once per entity: the DAG's extract tasks, the landing form,
validation's contract and stage table, and the month's rejection rule all derive from these declarations.

    for entity in ENTITIES: ...          # tenant, license, billing_usage, in the order validate judges them
    BILLING_USAGE.stage_table            # 'sophos.stage_billing_lines'

A new entity is one more declaration here, its contract in include/schemas/, its stage table in a
migration and its extract module in sophos_sync.extract.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import Final


class Landing(Enum):
    """How an entity's records land: one jsonb row per API object (sophos.landing_records), or one row per
    API page holding its items as JSON lines, as Sophos sent them (sophos.landing_pages)."""

    RECORDS = "records"
    PAGES = "pages"


@dataclass(frozen=True)
class Entity:
    name: str  # landing_records.entity, rejected_records.entity, sync_runs.counts keys
    plural: str  # how logs and counts name its records
    contract: str  # its module in include/schemas/
    stage_table: str
    landing: Landing
    extract_task: str  # the DAG's mapped task that lands it, one per Sophos connection
    extract_title: str  # that task's name in the Airflow UI
    extract_module: str  # the sophos_sync.extract module whose `extract` lands it
    after: str | None = None  # the entity whose landing this one's extract reads (licences: the listed tenants)
    # Above SOPHOS_SYNC_REJECT_THRESHOLD of its records rejected, the month is not loaded (a missing line
    # misstates the invoice; a missing tenant or licence only waits for the next month).
    rejection_threshold: bool = False

    @property
    def extractor(self) -> Callable[..., dict]:
        """The extract function: extract(conn, client, sync_run_id, account, billing_month, hook) -> counts."""
        return importlib.import_module(self.extract_module).extract


TENANT: Final = Entity(
    name="tenant",
    plural="tenants",
    contract="tenants",
    stage_table="sophos.stage_tenants",
    landing=Landing.RECORDS,
    extract_task="extract_tenants",
    extract_title="Extract tenants",
    extract_module="sophos_sync.extract.tenants",
)
LICENSE: Final = Entity(
    name="license",
    plural="licenses",
    contract="licenses",
    stage_table="sophos.stage_licenses",
    landing=Landing.RECORDS,
    extract_task="extract_licenses",
    extract_title="Extract licences",
    extract_module="sophos_sync.extract.licenses",
    after="tenant",
)
BILLING_USAGE: Final = Entity(
    name="billing_usage",
    plural="billing lines",
    contract="billing_usage",
    stage_table="sophos.stage_billing_lines",
    landing=Landing.PAGES,
    extract_task="extract_billing_usage",
    extract_title="Extract billing usage",
    extract_module="sophos_sync.extract.billing_usage",
    rejection_threshold=True,
)

ENTITIES: Final = (TENANT, LICENSE, BILLING_USAGE)
BY_NAME: Final = {entity.name: entity for entity in ENTITIES}


def entity(name: str) -> Entity:
    """The declaration of `name`; an unknown name is a ValueError naming the known ones."""
    try:
        return BY_NAME[name]
    except KeyError:
        raise ValueError(f"unknown entity {name!r}: expected one of {', '.join(BY_NAME)}") from None
