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

Pending stamps (hashes and sets of PEND_MIN members or more, written one member at a time
in a run: keyspace_batch's HSET and SADD cases). The record holds the stable form (a hash
field's bare value, a set member's 0) and the write's stamp waits apart, in the entry's
`pend`: member, hlc, member, hlc, ... in the order written, all of the entry's `porigin`
(this replica), so their HLCs ascend. A member in `pend` holds the stamp of its last pair
there. With peers, the stamped record cost ~0.25 µs a write (a tuple and an HLC kept alive
per member, and a cold one freed when the member is written again); a pair costs two list
appends, and GC drops the stable ones wholesale (`drop_stable_pending`: one binary search,
since `stable` is monotone in the HLC) instead of folding member by member. Whatever else
reads or replaces a member's stamps (applies, removes, GC, `state`) first gives the pending
members their stamped records (the entry's `settle_pending`), or reads them (`state`,
through `pending_stamps`, without changing the entry). `pend` is not in `fresh`: settling
appends its members there. A pending pair stamps a member's stable form only: a member
holding a stamped record (written when `pend` was full, PEND_SLACK) holds a newer stamp
than any pair of it, and keeps it.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

# The least collection size whose visits track their stamped members.
TRACK_MIN = 1024
# A visit walks every member anyway when its list holds more than 1/WALK_FACTOR of them: a
# walk reads the dict in order, the list's members are looked up at random (a cache miss
# each). In process, after 100k random writes into a sorted set of 95k-600k members, a
# visit of the list cost 43-49 ms where a walk cost 29-47 (bench/RESULTS.md, "Inside big
# collections").
WALK_FACTOR = 8
# The least collection size whose runs of local writes keep their stamps pending (above):
# below it, a list of its own for a few writes costs more than their stamped records.
PEND_MIN = 128
# `pend` holds at most two pairs a member and PEND_SLACK / 2 more (a growing collection's
# writes rewrite some members): past that (no GC pass has dropped them: a peer down, or
# writes faster than the passes), a write takes its stamped record again. A pair costs
# ~50-90 bytes, a stamped hash field's tuple and HLC 96: at most about twice their memory,
# and no pause to settle them all at once.
PEND_SLACK = 4096


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


def pending_stamps(pend: list[Any]) -> dict[bytes, int]:
    """member -> the HLC of its last pair in `pend` (pending stamps, above)."""
    return dict(zip(pend[::2], pend[1::2], strict=True))


def drop_stable_pending(e: Any, stable: Callable[[int, str], bool]) -> set[bytes]:
    """GC of `e.pend`: drop its stable pairs, a prefix (HLCs ascend, `stable` is monotone in
    the HLC); returns the members whose pairs all went (a member written again by a pair
    still pending keeps its stamp). Of those, the ones in their stable form lost a stamp."""
    pend = e.pend
    o = e.porigin
    lo, hi = 0, len(pend) // 2
    while lo < hi:  # the first pair not stable
        mid = (lo + hi) // 2
        if stable(pend[2 * mid + 1], o):
            lo = mid + 1
        else:
            hi = mid
    if not lo:
        return set()
    gone = set(pend[0:2 * lo:2])
    if 2 * lo == len(pend):
        e.pend = None
    else:
        del pend[:2 * lo]
        gone.difference_update(pend[::2])  # still stamped by a later pair
    return gone
