"""Packed storage for cold list blocks (crdt/list_rga.py; issue 12, memory per element).

A block of a list holds three parallel sequences: values (list of bytes, None for a
tombstone), hlcs (array 'q') and origin-code<<32|index (array 'Q'). That is ~75 bytes per
element of a short value (a bytes object each, a list slot, 16 bytes of id): 8x what Redis's
listpack takes. A block that no write has touched lately and that holds no tombstone is
*frozen* into a `Packed`:

* values: one bytes blob plus an array of n+1 offsets (4 bytes an element);
* ids: runs of consecutive ids (one effect inserts a chain (hlc, origin, i0..i0+k), so a
  block filled by multi-element pushes has a handful of runs): run start, hlc, first
  origin-code<<32|index. An element costs its value bytes, 4 bytes of offset and its
  share of a run.

A frozen block exposes the same read protocol as a thawed one through three read-only views
(`vals`, `hl`, `oi`: len, indexing, slices, iteration, `index`, `count`, `in`), so every
read path of list_rga works on both; every write thaws the block first (list_rga's
`_thaw`). Freezing changes no state: `state()` and every read give the same results.
"""
from __future__ import annotations

import os
from abc import ABC, abstractmethod
from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Iterator, Sequence
from itertools import accumulate
from typing import TYPE_CHECKING, Any

from ..wire.native import native_module


class Packed:
    __slots__ = ("blob", "offs", "rstart", "rh", "roi", "n")

    def __init__(self, blob: bytes, offs: array[int], rstart: array[int], rh: array[int], roi: array[int]) -> None:
        self.blob = blob
        self.offs = offs
        self.rstart = rstart
        self.rh = rh
        self.roi = roi
        self.n = len(offs) - 1

    def run_of(self, j: int) -> int:
        return bisect_right(self.rstart, j) - 1


def py_pack(vals: Sequence[bytes | None], hl: Sequence[int], oi: Sequence[int]) -> Packed | None:
    """The packed form of a block, or None when it holds a tombstone (or a non-bytes value).
    Comprehensions and C calls, not a loop per element: a stack or a queue fed one value
    per command packs a block every 512 (LPUSH) or 1,024 (RPUSH) writes (and `pack`, below,
    is compiled)."""
    n = len(vals)
    if n and set(map(type, vals)) != {bytes}:
        return None
    # A run starts where the id is not the previous one's successor (same hlc, index + 1).
    starts = [j for j in range(1, n) if hl[j] != hl[j - 1] or oi[j] != oi[j - 1] + 1]
    if len(starts) == n - 1:  # every element its own run (one-value pushes)
        rstart = array("I", range(n))
        rh = array("q", hl)
        roi = array("Q", oi)
    else:
        rstart = array("I", [0] if n else [])
        rstart.extend(starts)
        rh = array("q", [hl[j] for j in rstart])
        roi = array("Q", [oi[j] for j in rstart])
    return _assemble(vals, rstart, rh, roi)  # type: ignore[arg-type]


def py_from_runs(vals: Sequence[bytes | None], rstart: array[int], rh: array[int], roi: array[int]) -> Packed | None:
    """`pack` of a block whose runs are known already (a snapshot's run columns:
    list_blocks.blocks_from_runs), so they are not found again element by element."""
    if vals and set(map(type, vals)) != {bytes}:
        return None
    return _assemble(vals, rstart, rh, roi)  # type: ignore[arg-type]


def _assemble(vals: Sequence[bytes], rstart: array[int], rh: array[int], roi: array[int]) -> Packed | None:
    offs = array("I", [0])
    try:
        offs.extend(accumulate(map(len, vals)))
    except OverflowError:
        return None  # offsets are 32-bit
    return Packed(b"".join(vals), offs, rstart, rh, roi)


def py_unpack(p: Packed) -> tuple[list[bytes | None], array[int], array[int]]:
    """(values, hlcs, origin-index codes) of a packed block, as a thawed block holds them."""
    blob, offs = p.blob, p.offs
    vals: list[bytes | None] = [blob[a:b] for a, b in zip(offs, offs[1:])]  # noqa: B905
    hl, oi = py_expand(p.n, p.rstart, p.rh, p.roi)
    return vals, hl, oi


def py_expand(n: int, rstart: array[int], rh: array[int], roi: array[int]) -> tuple[array[int], array[int]]:
    """Per-element hlcs and origin-index codes of n elements in the given runs."""
    nr = len(rstart)
    if nr == n:  # every element its own run (one-value pushes): the run columns are the ids
        return array("q", rh), array("Q", roi)
    hl = array("q")
    oi = array("Q")
    for r in range(nr):
        k = (rstart[r + 1] if r + 1 < nr else n) - rstart[r]
        hl.extend(array("q", [rh[r]]) * k)
        oi.extend(array("Q", range(roi[r], roi[r] + k)))
    return hl, oi


# Packing costs a Python loop step per element in the twins above: with one-value pushes,
# 7% of an LPUSH or RPUSH (a block packed for every block's worth of pushes) and 4% of an
# LPOP (a block thawed for every block's worth of pops); crdt/blockpack.pyx does the same in
# C (bench/RESULTS.md).
# setup.py builds it with Cython, and it is used only while built from the blockpack.pyx
# beside this file.
def native() -> tuple[Any, Any, Any, Any] | None:
    """The compiled (pack, from_runs, unpack, expand), or None when not built from this source."""
    nat = native_module("crdtredis.crdt._blockpack_native", os.path.join(os.path.dirname(__file__), "blockpack.pyx"))
    return None if nat is None else (nat.pack, nat.from_runs, nat.unpack, nat.expand)


if TYPE_CHECKING:
    pack, from_runs, unpack, expand = py_pack, py_from_runs, py_unpack, py_expand
else:
    pack, from_runs, unpack, expand = native() or (py_pack, py_from_runs, py_unpack, py_expand)


class _View(ABC):
    __slots__ = ("p",)

    def __init__(self, p: Packed) -> None:
        self.p = p

    def __len__(self) -> int:
        return self.p.n

    def __bool__(self) -> bool:
        return self.p.n > 0

    @abstractmethod
    def _get(self, j: int) -> Any: ...

    def __getitem__(self, j: Any) -> Any:
        if type(j) is slice:
            return [self._get(k) for k in range(*j.indices(self.p.n))]
        if j < 0:
            j += self.p.n
        if not 0 <= j < self.p.n:
            raise IndexError("packed block index out of range")
        return self._get(j)

    def __iter__(self) -> Iterator[Any]:
        return iter(self[:])


class Vals(_View):
    """The values of a packed block (never None: a packed block holds no tombstone)."""

    __slots__ = ()

    def _get(self, j: int) -> bytes:
        p = self.p
        return p.blob[p.offs[j]:p.offs[j + 1]]

    def __getitem__(self, j: Any) -> Any:
        p = self.p
        if type(j) is slice:
            start, stop, step = j.indices(p.n)
            if step == 1:
                offs, blob = p.offs, p.blob
                return [blob[offs[k]:offs[k + 1]] for k in range(start, stop)]
        return super().__getitem__(j)

    def __contains__(self, x: object) -> bool:
        return self._find(x, 0, self.p.n) >= 0

    def index(self, x: object, start: int = 0, stop: int | None = None) -> int:
        k = self._find(x, start, self.p.n if stop is None else min(stop, self.p.n))
        if k < 0:
            raise ValueError("value not in packed block")
        return k

    def count(self, x: object) -> int:
        n = 0
        k = self._find(x, 0, self.p.n)
        while k >= 0:
            n += 1
            k = self._find(x, k + 1, self.p.n)
        return n

    def _find(self, x: object, start: int, stop: int) -> int:
        """First k in [start, stop) whose value equals x, else -1 (a C search of the blob,
        each hit checked against the element boundaries)."""
        if type(x) is not bytes or start >= stop:
            return -1
        p = self.p
        blob, offs = p.blob, p.offs
        lx = len(x)
        pos = blob.find(x, offs[start], offs[stop])
        while pos >= 0:
            k = bisect_left(offs, pos, start, stop)
            while k < stop and offs[k] == pos:
                if offs[k + 1] - pos == lx:
                    return k
                k += 1
            pos = blob.find(x, pos + 1, offs[stop])
        return -1


class Hlcs(_View):
    __slots__ = ()

    def _get(self, j: int) -> int:
        p = self.p
        return p.rh[bisect_right(p.rstart, j) - 1]  # type: ignore[no-any-return]

    def index(self, h: int, start: int = 0) -> int:
        p = self.p
        rstart, rh = p.rstart, p.rh
        for r in range(max(0, bisect_right(rstart, start) - 1), len(rstart)):
            if rh[r] == h:
                j = max(start, rstart[r])
                if j < (rstart[r + 1] if r + 1 < len(rstart) else p.n):
                    return j
        raise ValueError("hlc not in packed block")


class Ois(_View):
    __slots__ = ()

    def _get(self, j: int) -> int:
        p = self.p
        r = bisect_right(p.rstart, j) - 1
        return p.roi[r] + j - p.rstart[r]  # type: ignore[no-any-return]


def runs(p: Packed) -> Iterator[tuple[int, int, int, int]]:
    """(first offset, count, hlc, first origin-index code) of each run of a packed block."""
    rstart, rh, roi = p.rstart, p.rh, p.roi
    nr = len(rstart)
    for r in range(nr):
        end = rstart[r + 1] if r + 1 < nr else p.n
        yield rstart[r], end - rstart[r], rh[r], roi[r]
