"""Which members a GC visit of a set, hash or sorted set looks at (Keyspace.gc_chunks), and
the visit's fold of their one-stamp records.

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

Most records a visit reads hold nothing to fold, or one stamp: those it folds here
(`fold`); a record of several stamps goes to its type's code
(`Other`). With peers, in process, a pass after 300k HSETs into a hash of 730k fields
cost 1.08-1.21 µs per HSET in Python, 0.61-0.68 with memberfold.pyx's compiled twin;
after 300k SADDs, 0.23-0.26 and 0.17-0.20 (bench/RESULTS.md, "GC's visits of big
collections compiled").
"""
from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from typing import Any

from ..wire.native import native_module

# The least collection size whose visits track their stamped members.
TRACK_MIN = 1024
# A visit walks every member anyway when its list holds more than 1/WALK_FACTOR of them: a
# walk reads the dict in order, the list's members are looked up at random (a cache miss
# each). In process, after 100k random writes into a sorted set of 95k-600k members, a
# visit of the list cost 43-49 ms where a walk cost 29-47 (bench/RESULTS.md, "Inside big
# collections").
WALK_FACTOR = 8


def plan(d: dict[bytes, Any], fresh: list[bytes] | None) -> tuple[dict[bytes, None] | None, bool]:
    """(the members a visit looks at: None for every member of `d`, else a dict of them
    (each once), whether it keeps `fresh` after)."""
    if fresh is None or len(fresh) * WALK_FACTOR > len(d):
        return None, fresh is not None or len(d) >= TRACK_MIN
    return dict.fromkeys(fresh), True


# A visit's records. A walk reads the dict in order and replaces the records of present
# members only, which never resizes it. `other(member, record, stable) -> (stamps dropped,
# whether the member still holds a stamp)` takes the records with several stamps (a set's
# list, a hash's Field, a sorted set's Member); it may replace the member's record, never
# add or delete a member. A visit returns (stamps dropped, the members still stamped).
Other = Callable[[bytes, Any, Callable[[int, str], bool]], tuple[int, bool]]


def _records(d: dict[bytes, Any], keys: dict[bytes, None] | None) -> Iterable[tuple[bytes, Any]]:
    if keys is None:
        return d.items()
    # A generator, not a list of pairs: 100k pairs alive at once set off young-generation
    # collections that traverse them (a 100k-member visit: 206-232 ms as a list, 52-70 of
    # them in the collector; 104-113 ms as a generator).
    return ((x, r) for x in keys if (r := d.get(x)) is not None)


def fold_py(d: dict[bytes, Any], keys: dict[bytes, None] | None, stable: Callable[[int, str], bool],
            plain: type, at: int, other: Other) -> tuple[int, list[bytes]]:
    """A visit: a record of type `plain` holds no stamp; a tuple holds one, its hlc and
    origin at `at` and `at + 1`. A set's `(hlc, origin)` (at 0) folds to 0 once stable; a
    hash's or sorted set's `(value, hlc, origin)` (at 1) folds to its value once stable, or
    at once when its hlc is 0 (stable already). Any other record is `other`'s."""
    if at != 0 and at != 1:
        raise ValueError("a stamp's hlc is at 0 or 1")
    dropped = 0
    left: list[bytes] = []
    size = len(d)
    for x, cur in _records(d, keys):
        t = type(cur)
        if t is plain:
            continue
        if t is tuple:
            h = cur[at]
            if at and h == 0 or stable(h, cur[at + 1]):
                d[x] = cur[0] if at else 0
                dropped += 1
            else:
                left.append(x)
        else:
            n, keep = other(x, cur, stable)
            dropped += n
            if keep:
                left.append(x)
            if len(d) != size:
                raise RuntimeError("a GC visit changed the collection's size")
    return dropped, left


# memberfold.pyx's twin when built from it (the module docstring's figures), else this.
_NATIVE = native_module("crdtredis.crdt._memberfold_native", os.path.join(os.path.dirname(__file__), "memberfold.pyx"))
fold: Callable[[dict[bytes, Any], dict[bytes, None] | None, Callable[[int, str], bool], type, int, Other],
               tuple[int, list[bytes]]] = fold_py if _NATIVE is None else _NATIVE.fold


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
