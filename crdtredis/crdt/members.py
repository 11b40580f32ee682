"""Which members a GC visit of a set, hash or sorted set looks at (Keyspace.gc_chunks).

A pass visits the keys ops wrote (`Db.note`), and a collection's visit used to walk all of
its members: one written field of a hash of five million cost a walk of five million, in
one event-loop turn. So a collection of TRACK_MIN members or more keeps, from its first
visit on, `fresh`: every member whose record still holds a stamp that GC has not folded
(the visit leaves those), plus every member a write stamps after it (`stamped`: SADD,
HSET, HINCRBY*, ZADD, ZINCRBY). The next visit looks at those members
only, or walks every member when they are more than an eighth of them (WALK_FACTOR); what
it leaves is the next `fresh`.

`fresh` is None for "every member": a new entry (its first walk costs what writing it
did), one below TRACK_MIN (a walk costs little, and its writes append nothing), or one
whose list outgrew the collection (repeats past its size make a walk the cheaper visit;
the write that sees it drops the list, which also bounds it while no pass can run). A
decoded one (start-up, a snapshot install) starts with the members its state shows
stamped (`loaded`): the first pass after start-up visits every key, not every member.

A visit must look at every member that still holds a stamp: what it misses stays
unfolded until a walk (tests/test_gc_incremental.py holds every visit to a full walk's
result, with TRACK_MIN 0).
"""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

# The least collection size whose visits track their stamped members.
TRACK_MIN = 1024
# A visit walks every member anyway when its list holds more than 1/WALK_FACTOR of them: a
# walk reads the dict in order, the list's members are looked up at random (a cache miss
# each). In process, after 100k random writes into a sorted set of 95k-600k members, a
# visit of the list cost 43-49 ms where a walk cost 29-47 (bench/RESULTS.md, "Inside big
# collections").
WALK_FACTOR = 8


def visit(d: dict[bytes, Any], fresh: list[bytes] | None) -> tuple[Iterable[tuple[bytes, Any]], bool]:
    """(the (member, record) pairs a visit looks at, whether it keeps `fresh` after).
    The walk of every member yields the dict's own items: a visit replaces the records of
    present members only, which never resizes the dict."""
    if fresh is None or len(fresh) * WALK_FACTOR > len(d):
        return d.items(), fresh is not None or len(d) >= TRACK_MIN
    # A generator, not a list of pairs: 100k pairs alive at once set off young-generation
    # collections that traverse them (a 100k-member visit: 206-232 ms as a list, 52-70 of
    # them in the collector; 104-113 ms as a generator).
    return ((x, r) for x in dict.fromkeys(fresh) if (r := d.get(x)) is not None), True


def loaded(d: dict[bytes, Any], stamped: list[bytes]) -> list[bytes] | None:
    """`fresh` of a collection `d` just decoded, in which `stamped` hold stamps."""
    return stamped if len(d) >= TRACK_MIN else None


def stamped(e: Any, xs: Iterable[bytes], size: int) -> None:
    """Members `xs` of collection `e` (of `size` members) now hold stamps: the next visit
    looks at them. The caller tests `e.fresh is not None` first, so a collection without
    a list pays one attribute test per write; a list grown past the collection's size is
    dropped (the next visit walks)."""
    fresh = e.fresh
    fresh.extend(xs)
    if len(fresh) > size:
        e.fresh = None
