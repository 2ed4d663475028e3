"""What the server serves, per credential: from a dataset file (verbatim) or from a generated world."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import msgspec

from simulator.generator import GeneratedPartner, World, build_world


class Account(Protocol):
    client_id: str
    client_secret: str
    partner_id: str
    id_type: str
    tenants: Sequence

    def licenses(self, tenant_id: str) -> list | None:
        """The tenant's licences, or None when the tenant is not this credential's (the API answers 403)."""

    def billing(self, year: int, month: int) -> Sequence | None:
        """The month's usage items (sliceable), or None when there is no report for it."""


@dataclass
class DatasetAccount:
    """One partner of a dataset file. Objects are handed out exactly as loaded: never reshaped or checked."""

    client_id: str
    client_secret: str
    partner_id: str
    id_type: str
    tenants: list
    _licenses: dict
    _billing: dict
    _tenant_ids: frozenset

    @classmethod
    def from_json(cls, entry: dict) -> DatasetAccount:
        tenants = entry.get("tenants", [])
        licenses = entry.get("licenses", {})
        listed = {t.get("id") for t in tenants if isinstance(t, dict) and isinstance(t.get("id"), str)}
        return cls(
            client_id=entry["client_id"],
            client_secret=entry["client_secret"],
            partner_id=entry["partner_id"],
            # Lets a dataset hold a non-partner credential, which a client must refuse.
            id_type=entry.get("id_type", "partner"),
            tenants=tenants,
            _licenses=licenses,
            _billing=entry.get("billing", {}),
            _tenant_ids=frozenset(listed | set(licenses)),
        )

    def licenses(self, tenant_id: str) -> list | None:
        if tenant_id not in self._tenant_ids:
            return None
        return self._licenses.get(tenant_id, [])

    def billing(self, year: int, month: int) -> Sequence | None:
        return self._billing.get(f"{year:04d}-{month:02d}")


@dataclass
class GeneratedAccount:
    world: World
    partner: GeneratedPartner
    id_type: str = "partner"

    @property
    def client_id(self) -> str:
        return self.partner.client_id

    @property
    def client_secret(self) -> str:
        return self.partner.client_secret

    @property
    def partner_id(self) -> str:
        return self.partner.partner_id

    @property
    def tenants(self) -> list:
        return self.partner.tenants

    def licenses(self, tenant_id: str) -> list | None:
        return self.partner.license_objects(tenant_id)

    def billing(self, year: int, month: int) -> Sequence | None:
        return self.world.billing(self.partner.index, year, month)


def load_dataset_file(path: str | Path) -> dict:
    with open(path, encoding="utf-8") as fh:
        try:
            # NaN and Infinity (which Python's parser accepts) stay the literal the file has: the encoder would
            # otherwise answer null for them, and a dataset is served as written.
            data = json.load(fh, parse_constant=lambda literal: msgspec.Raw(literal.encode()))
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path} is not valid JSON ({exc}); a dataset file is one JSON object") from None
    if not isinstance(data, dict) or not isinstance(data.get("partners"), list):
        raise ValueError(f"{path}: a dataset is a JSON object with a 'partners' list (see simulator/__init__.py)")
    for n, entry in enumerate(data["partners"]):
        missing = [k for k in ("client_id", "client_secret", "partner_id") if k not in entry]
        if missing:
            raise ValueError(f"{path}: partners[{n}] lacks {', '.join(missing)}; each partner needs its credential")
    return data


def accounts_from_dataset(data: dict) -> list[Account]:
    return [DatasetAccount.from_json(entry) for entry in data["partners"]]


def accounts_from_scale(scale: str, seed: int, unpriced_months: Iterable[str] = ()) -> list[Account]:
    world = build_world(scale, seed, unpriced_months)
    return [GeneratedAccount(world, partner) for partner in world.partners]
