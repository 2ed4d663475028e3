"""extract.prefetched: the next pages are fetched in a thread while the current ones are landed."""

from __future__ import annotations

import threading

import pytest

from sophos_sync.extract.landing import prefetched


def test_every_item_in_order():
    assert list(prefetched(range(2_503), depth=2)) == list(range(2_503))
    assert list(prefetched([])) == []


def test_the_source_runs_in_another_thread_and_its_error_reaches_the_consumer():
    threads = set()

    def pages():
        for n in range(5):
            threads.add(threading.current_thread().name)
            yield n
        raise ConnectionError("page 2 failed")

    received = []
    with pytest.raises(ConnectionError, match="page 2 failed"):
        for item in prefetched(pages(), depth=1):
            received.append(item)
    assert received == [0, 1, 2, 3, 4]  # every page fetched before the error, then the error
    assert threads == {"prefetch"}


def test_a_consumer_that_stops_early_stops_the_fetching():
    fetched = []

    def endless():
        n = 0
        while True:
            fetched.append(n)
            yield n
            n += 1

    stream = prefetched(endless(), depth=2)
    assert [next(stream) for _ in range(5)] == [0, 1, 2, 3, 4]
    stream.close()  # joins the thread: it stopped within a few pages
    assert len(fetched) <= 5 + 2 + 2
