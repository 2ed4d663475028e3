"""The batch's raw JSON texts, kept compressed, for the few records that are read back (rejected or copied)."""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow

_LZ4 = pyarrow.Codec("lz4")
_RAW_BLOCK = 128  # raw texts compressed together


class RawTexts:
    """The batch's raw JSON texts, read again only for the few records that are rejected or duplicated.
    As text a month of billing lines is about 850 MB, more than everything else validation holds, so
    they are kept LZ4-compressed (about a tenth of that) in small blocks: rejected records are scattered
    over the month, and only the blocks that hold one are decompressed again."""

    def __init__(self) -> None:
        # per block: (compressed lines, their size, where each text ends), or the texts themselves
        self._blocks: list[tuple[bytes, int, np.ndarray] | list[str]] = []
        self._starts: list[int] = []  # position of each block's first record

    def add_lines(self, start: int, lines: bytes, ends: np.ndarray) -> None:
        """JSON lines, each ending at its offset in `ends`."""
        view = memoryview(lines)
        for first in range(0, len(ends), _RAW_BLOCK):
            begin = int(ends[first - 1]) + 1 if first else 0
            block_ends = ends[first : first + _RAW_BLOCK] - begin
            self._starts.append(start + first)
            self._blocks.append(
                (
                    _LZ4.compress(view[begin : begin + int(block_ends[-1])], asbytes=True),
                    int(block_ends[-1]),
                    block_ends,
                )
            )

    def add_texts(self, start: int, texts: Sequence[str]) -> None:
        self._starts.append(start)
        self._blocks.append(list(texts))

    def get(self, positions: Iterable[int]) -> dict[int, str]:
        """The texts at these positions; one block decompressed at a time."""
        found: dict[int, str] = {}
        wanted = sorted(set(positions))
        i = 0
        while i < len(wanted):
            block = bisect_right(self._starts, wanted[i]) - 1
            first, texts = self._starts[block], self._texts(block)
            while i < len(wanted) and wanted[i] < first + len(texts):
                found[wanted[i]] = texts[wanted[i] - first]
                i += 1
        return found

    def _texts(self, block: int) -> list[str] | _Lines:
        stored = self._blocks[block]
        if isinstance(stored, list):
            return stored
        compressed, size, ends = stored
        return _Lines(_LZ4.decompress(compressed, decompressed_size=size, asbytes=True), ends)


def utf8(text: str) -> bytes:
    # surrogatepass: whatever str came in comes back out, even a lone surrogate in broken input
    return text.encode("utf-8", "surrogatepass")


@dataclass
class _Lines:
    """The lines of a decompressed chunk, each decoded only when asked for."""

    lines: bytes
    ends: np.ndarray

    def __len__(self) -> int:
        return len(self.ends)

    def __getitem__(self, at: int) -> str:
        start = int(self.ends[at - 1]) + 1 if at else 0
        return self.lines[start : int(self.ends[at])].decode("utf-8", "surrogatepass")
