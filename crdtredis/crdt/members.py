"""Which members a GC visit of a set, hash or sorted set looks at (Keyspace.gc_chunks).

A pass visits the keys ops wrote (`Db.note`), and a collection's visit used to walk all of
its members: one written field of a hash of five million cost a walk of five million, in
one event-loop turn. So a collection of TRACK_MIN members or more keeps, from its first
visit on, `fresh`: every member whose record still holds a stamp that GC has not folded
(the visit leaves those), plus every member a write stamps after it (the write appends
them, inline: SADD, HSET, HINCRBY*, ZADD, ZINCRBY). The next visit looks at those members only; what it leaves is the next `fresh`.

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


def visit(d: dict[bytes, Any], fresh: list[bytes] | None) -> tuple[Iterable[tuple[bytes, Any]], bool]:
    """(the (member, record) pairs a visit looks at, whether it keeps `fresh` after).
    The walk of every member yields the dict's own items: a visit replaces the records of
    present members only, which never resizes the dict."""
    if fresh is None:
        return d.items(), len(d) >= TRACK_MIN
    # A generator, not a list of pairs: 100k tuples kept alive at once set off the cyclic
    # collector's full passes (over every object of the process) on the way.
    return ((x, d[x]) for x in dict.fromkeys(fresh) if x in d), True


def loaded(d: dict[bytes, Any], stamped: list[bytes]) -> list[bytes] | None:
    """`fresh` of a collection `d` just decoded, in which `stamped` hold stamps."""
    return stamped if len(d) >= TRACK_MIN else None
