"""Fault configuration and the rate limiter, without a server."""

from __future__ import annotations

import time

import pytest

from simulator.faults import FaultConfig, TokenBucket, parse_rate


def test_rate_limit_accepts_per_second_notation():
    assert parse_rate("5/s") == 5.0
    assert parse_rate("2.5") == 2.5
    for bad in ("0/s", "fast", "5/min"):
        with pytest.raises(ValueError, match="N/s"):
            parse_rate(bad)


def test_fault_rates_must_be_probabilities():
    with pytest.raises(ValueError, match="error-rate"):
        FaultConfig(error_rate=1.5)
    with pytest.raises(ValueError, match="latency-ms"):
        FaultConfig(latency_ms=-1)


def test_all_faults_at_zero_is_inactive():
    assert not FaultConfig().active
    assert FaultConfig().describe() == "none"
    assert FaultConfig(drop_rate=0.1).active


def test_token_bucket_allows_a_burst_then_asks_to_wait_whole_seconds():
    bucket = TokenBucket(3.0)
    assert [bucket.take() for _ in range(3)] == [None, None, None]
    wait = bucket.take()
    assert isinstance(wait, int) and wait >= 1


def test_token_bucket_refills_over_time():
    bucket = TokenBucket(50.0)
    while bucket.take() is None:
        pass
    time.sleep(0.05)
    assert bucket.take() is None
