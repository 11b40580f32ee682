"""The tail of the op log in memory, in apply order, for pushes and pulls.

Apply order is a causal order, so any subsequence filtered by a receiver's version vector
is deliverable in order: each op's dependencies are either earlier in it or already held
by the receiver. Bounded by bytes (like Redis's repl-backlog-size); a peer that needs ops
older than the backlog gets a snapshot instead.

Each op is encoded once for the wire (self-contained, full deps) and the bytes are cached,
so a batch to any number of peers is a concatenation of cached records.
"""
from __future__ import annotations

from bisect import bisect_right
from collections import deque
from collections.abc import Mapping

from ..op import Op
from ..wire.codec import encode_op

# Rough per-op overhead of the Op object and its effect tuples, for the byte bound.
_OP_OVERHEAD = 200


class TooOld(Exception):
    """The backlog no longer holds ops that the requester lacks."""


class _OriginIndex:
    """For one origin: last seq of each op in the backlog and its absolute position."""

    __slots__ = ("lasts", "firsts", "poss", "head")

    def __init__(self) -> None:
        self.lasts: list[int] = []
        self.firsts: list[int] = []
        self.poss: list[int] = []
        self.head = 0

    def trim(self) -> None:
        if self.head > 1024 and self.head * 2 > len(self.lasts):
            del self.lasts[: self.head]
            del self.firsts[: self.head]
            del self.poss[: self.head]
            self.head = 0


class Backlog:
    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.ops: deque[Op] = deque()
        self.wire: deque[bytes | None] = deque()
        self.start = 0  # absolute position of ops[0]
        self.bytes = 0
        self.index: dict[str, _OriginIndex] = {}
        # Highest seq per origin ever evicted: a requester below it needs a snapshot.
        self.evicted: dict[str, int] = {}

    @property
    def end(self) -> int:
        return self.start + len(self.ops)

    def add(self, op: Op) -> None:
        pos = self.end
        self.ops.append(op)
        self.wire.append(None)
        idx = self.index.get(op.origin)
        if idx is None:
            idx = self.index[op.origin] = _OriginIndex()
        idx.lasts.append(op.seq + len(op.effects) - 1)
        idx.firsts.append(op.seq)
        idx.poss.append(pos)
        self.bytes += _size(op)
        while self.bytes > self.max_bytes and len(self.ops) > 1:
            self._evict()

    def _evict(self) -> None:
        op = self.ops.popleft()
        self.wire.popleft()
        self.start += 1
        self.bytes -= _size(op)
        idx = self.index[op.origin]
        idx.head += 1
        self.evicted[op.origin] = op.seq + len(op.effects) - 1
        if idx.head >= len(idx.lasts):
            del self.index[op.origin]
        else:
            idx.trim()

    def encoded(self, pos: int) -> bytes:
        i = pos - self.start
        b = self.wire[i]
        if b is None:
            b = encode_op(self.ops[i])
            self.wire[i] = b
        return b

    def first_needed(self, have: Mapping[str, int], ours: Mapping[str, int]) -> int | None:
        """Position of the first op not covered by `have`, None if it lacks nothing we hold.
        Raises TooOld when `have` lacks ops that were already evicted."""
        for origin, seq in ours.items():
            if have.get(origin, 0) < seq and self.evicted.get(origin, 0) > have.get(origin, 0):
                raise TooOld(origin)
        best: int | None = None
        for origin, idx in self.index.items():
            h = have.get(origin, 0)
            i = bisect_right(idx.lasts, h, lo=idx.head)
            if i < len(idx.lasts):
                if idx.firsts[i] > h + 1 and i == idx.head and self.evicted.get(origin, 0) > h:
                    raise TooOld(origin)
                p = idx.poss[i]
                if best is None or p < best:
                    best = p
        return best

    def collect(
        self, pos: int, have: Mapping[str, int], max_ops: int, max_bytes: int
    ) -> tuple[list[tuple[Op, bytes]], int, bool]:
        """Ops from `pos` not covered by `have`: (ops with wire bytes, next pos, more)."""
        out: list[tuple[Op, bytes]] = []
        size = 0
        p = max(pos, self.start)
        end = self.end
        ops = self.ops
        start = self.start
        while p < end:
            op = ops[p - start]
            if op.seq + len(op.effects) - 1 > have.get(op.origin, 0):
                if len(out) >= max_ops or (out and size >= max_bytes):
                    return out, p, True
                b = self.encoded(p)
                out.append((op, b))
                size += len(b)
            p += 1
        return out, p, False


def _size(op: Op) -> int:
    n = _OP_OVERHEAD
    for e in op.effects:
        n += 64
        for a in e:
            if type(a) is bytes:
                n += len(a)
    return n
