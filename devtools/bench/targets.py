"""What the benchmark aims for: its targets, judged at the scale they are set for."""

from __future__ import annotations

TARGET_SCALE = "large"
TARGETS = {
    "total_seconds": 90.0,
    "peak_rss_mb": 1024.0,
    "load_vs_raw_copy": 0.5,
    "load_vs_to_sql": 20.0,
    "licenses_vs_sequential": 10.0,
    "peer_speedup": 2.0,
}


def verdict(met: bool, scale: str) -> bool | None:
    """Whether a target is met; None below the scale the targets are set for."""
    return met if scale == TARGET_SCALE else None
