"""Measuring the benchmark's own process: peak resident set per block (exact, from the kernel), memory handed
back between stages, /proc memory figures of any process, and the time spent in one function of a stage."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

MB = 1024 * 1024


class PeakRss:
    """Peak resident set of this process within blocks, read from the kernel's own high-water mark (VmHWM)
    and reset at each block's start (/proc/self/clear_refs, Linux 4.0+): exact however short a spike is,
    which a sampling thread, starved of the GIL by a busy stage, is not. Blocks may nest: an enclosing
    block's peak includes those of the blocks within it.
    """

    def __init__(self) -> None:
        self._open: list[dict] = []
        self._lock = threading.Lock()  # stages the DAG runs side by side are timed from two threads

    @staticmethod
    def _high_water_mb() -> float:
        return proc_status_mb(os.getpid(), "VmHWM")

    def _fold_into_open_blocks(self, peak_mb: float) -> None:
        for figures in self._open:
            figures["peak_mb"] = max(figures["peak_mb"], peak_mb)

    @contextmanager
    def window(self) -> Iterator[dict]:
        """Yields a dict that holds 'start_mb' at once and 'peak_mb' when the block ends. Blocks may also
        overlap (opened in two threads): each still gets the peak of its own time."""
        with self._lock:
            self._fold_into_open_blocks(self._high_water_mb())
            Path("/proc/self/clear_refs").write_text("5")  # 5: reset the peak RSS to the current RSS
            figures = {"start_mb": proc_status_mb(os.getpid(), "VmRSS"), "peak_mb": 0.0}
            self._open.append(figures)
        try:
            yield figures
        finally:
            with self._lock:
                self._fold_into_open_blocks(self._high_water_mb())
                self._open = [block for block in self._open if block is not figures]


def release_memory() -> None:
    """Hand freed memory back to the system, as a task's process does by ending: CPython, glibc and Arrow keep
    what a stage freed, so without this a stage's RSS at start would be the earlier stages' leftovers."""
    import ctypes
    import gc

    import pyarrow

    gc.collect()
    pyarrow.default_memory_pool().release_unused()
    ctypes.CDLL("libc.so.6").malloc_trim(0)


def proc_status_mb(pid: int, field_name: str) -> float:
    """A memory figure of /proc/PID/status in MB, e.g. VmHWM (the peak resident set) or VmRSS."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field_name + ":"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"{field_name} is not in /proc/{pid}/status")


@contextmanager
def timed_calls(owner: object, name: str) -> Iterator[dict]:
    """Within the block, times every call of owner.<name> (the real function, called as usual).

    Lets a stage report how long one step of it took without changing the stage's code.
    """
    original = getattr(owner, name)
    spent = {"calls": 0, "seconds": 0.0}

    def timed(*args, **kwargs):
        started = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            spent["calls"] += 1
            spent["seconds"] += time.perf_counter() - started

    setattr(owner, name, timed)
    try:
        yield spent
    finally:
        setattr(owner, name, original)
