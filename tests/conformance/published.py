"""Sophos's published example payloads (fixtures/, sources in fixtures/README.md) and what to compare them by."""

from __future__ import annotations

import json
from pathlib import Path

FIXTURES = Path(__file__).parent / "fixtures"


def load(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def tenants() -> list[dict]:
    return [*load("tenants_page_2026-01-08.json")["items"], *load("tenants_page_2024-07-15.json")["items"]]


def billing_lines(version: str) -> list[dict]:
    return load(f"billing_usage_page_{version}.json")["items"]


def shape(value: object) -> object:
    """The JSON shape of a value: an object's keys with their shapes, a list's merged item shape, else the
    JSON type ("number" for any number: Sophos's examples write 25 where others write 12.5)."""
    if isinstance(value, dict):
        return {key: shape(item) for key, item in value.items()}
    if isinstance(value, list):
        merged: dict = {}
        for item in value:
            merged = merge(merged, shape(item)) if isinstance(item, dict) else shape(item)
        return [merged]
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    return "null" if value is None else "string"


def merge(one: object, other: object) -> object:
    if isinstance(one, dict) and isinstance(other, dict):
        return {
            key: merge(one[key], other[key]) if key in one and key in other else one.get(key, other.get(key))
            for key in {*one, *other}
        }
    if isinstance(one, list) and isinstance(other, list) and one and other:
        return [merge(one[0], other[0])]
    return one if one == other else f"{one}|{other}"


def missing_from(published: object, served: object, path: str = "") -> list[str]:
    """Where `served` lacks a field of `published` or gives it another JSON type."""
    if isinstance(published, dict):
        if not isinstance(served, dict):
            return [f"{path or '.'}: object expected, got {served}"]
        return [
            problem
            for key, item in published.items()
            for problem in (
                missing_from(item, served[key], f"{path}.{key}") if key in served else [f"{path}.{key}: missing"]
            )
        ]
    if isinstance(published, list):
        if not isinstance(served, list) or not served:
            return [f"{path}: list expected, got {served}"]
        return missing_from(published[0], served[0], f"{path}[]") if published else []
    return [] if published == served else [f"{path}: {published} expected, got {served}"]
