"""Hybrid logical clock and version vectors: the identity and ordering of every op.

An HLC timestamp is one int: wall-clock milliseconds << 16 | a logical counter. It never
goes backwards and moves past every timestamp received, so a write that causally follows
another always has a larger timestamp, and LWW by (hlc, origin) respects causality.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from time import time_ns as _time_ns

LOGICAL_BITS = 16
LOGICAL_MASK = (1 << LOGICAL_BITS) - 1
# Stamps are encoded as unsigned 64-bit (ops.proto: fixed64 hlc, uint64 vectors). Effect i
# of an op is stamped hlc + i, so new ops keep 2^32 stamps of room below the end.
HLC_MAX = (1 << 64) - 1
HLC_WRITE_LIMIT = HLC_MAX - (1 << 32)

VersionVector = dict[str, int]


def hlc_ms(hlc: int) -> int:
    """Wall-clock milliseconds part of an HLC timestamp."""
    return hlc >> LOGICAL_BITS


def wall_hlc() -> int:
    """The wall-clock part of an HLC timestamp for now (logical part 0)."""
    # time_ns() and an integer division: a third cheaper than int(time() * 1000).
    return _time_ns() // 1_000_000 << LOGICAL_BITS


class HLC:
    """Hybrid logical clock (Kulkarni et al. 2014), packed in one int for cheap compares."""

    __slots__ = ("last",)

    def __init__(self, last: int = 0) -> None:
        self.last = last

    def now(self, wall: int = 0) -> int:
        """A fresh timestamp, strictly greater than every one issued or observed. `wall`:
        a `wall_hlc()` value the caller read recently (0: read the clock now)."""
        pt = wall or wall_hlc()
        last = self.last + 1
        if pt > last:
            last = pt
        self.last = last
        return last

    def observe(self, remote: int) -> None:
        """Move past a timestamp received from a peer (never backwards)."""
        if remote > self.last:
            self.last = remote


def stable_upto(stable: Callable[[int, str], bool], vh: Mapping[str, int], top: int) -> bool:
    """Is every op held here (`vh`: the highest HLC applied per origin) stamped at or before
    `top` causally stable? For a value whose latest write is `top`, that is everything it
    holds. Its latest write alone being stable is not enough: stability is per origin, and
    an older write from an origin whose ops travel slower may still be missing at some
    member, where an op would not observe it (a DEL would leave it alive). One check per
    origin, since `stable` is monotone in the HLC."""
    for o, h in vh.items():
        if not stable(h if h < top else top, o):
            return False
    return True


def vv_covers(a: Mapping[str, int], b: Mapping[str, int]) -> bool:
    """True when `a` has seen everything `b` has."""
    get = a.get
    for k, v in b.items():
        if get(k, 0) < v:
            return False
    return True


def vv_merge(a: Mapping[str, int], b: Mapping[str, int]) -> VersionVector:
    out = dict(a)
    for k, v in b.items():
        if out.get(k, 0) < v:
            out[k] = v
    return out


def vv_min(vectors: list[Mapping[str, int]]) -> VersionVector:
    """Pointwise minimum: what every vector has seen (the causal-stability watermark)."""
    if not vectors:
        return {}
    keys: set[str] = set()
    for v in vectors:
        keys.update(v)
    return {k: min(v.get(k, 0) for v in vectors) for k in keys}
