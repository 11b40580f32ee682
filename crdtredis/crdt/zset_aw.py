"""Sorted sets: add-wins members; a member's score is an LWW register plus a counter.

Rule: a ZADD/ZINCRBY of a member wins over a concurrent ZREM of it (add wins); concurrent
ZADDs resolve by the highest (hlc, origin); concurrent ZINCRBYs all add up; an increment
counts iff no ZADD, ZREM or DEL of the member observed it (the rule of strings and hashes).

Formally, for one member, after any set of ops delivered in any causal order:

* live ZADDs = ZADDs of the member observed by no remove of it (ZREM, ZPOP*, ZREMRANGE*,
  DEL, an overwriting *STORE) and by no later ZADD of it;
* live incrs = ZINCRBYs (and ZADD INCR) of the member observed by no ZADD and no remove of
  it; any ZADD counts, including one that loses the LWW comparison;
* the member is present iff some live ZADD or live incr exists;
* its score is the highest-stamped live ZADD's score (none: start from the first delta) plus
  every live incr, added in stamp order; a sum that becomes NaN (concurrent +inf and -inf
  increments) restarts from 0, Redis's ZUNIONSTORE convention.

Why any ZADD, not just the winner: with A: ZINCRBY +1, B (having seen it): ZADD 5, and C
concurrently: ZADD 7, which wins, counting the +1 on C's score gives 8, which no serial order
of the three ops produces; dropping it gives 7, the result of `ZINCRBY; ZADD 5; ZADD 7`.
It also means an increment is dropped once, when the ZADD arrives, and never kept aside.

A ZADD observed by a later ZADD can be forgotten: any remove that observes the later one
observes it too. The register is multi-valued, as for strings and hashes: after ZADD@5 ‖
ZADD@10, a remove that observed only ZADD@10 leaves ZADD@5, which becomes the score; a
single-slot register would give 5 at a replica that applied ZADD@5 last and no member at
one that applied it first.

A member record takes the leanest form that holds its state (DESIGN §7):

* `float`                    causally stable: every future op has observed it. The only form
                             on a solo replica (`Keyspace.solo`), where increments
                             fold into the score at once and removes need no dots;
* `(score, hlc, origin)`     one live ZADD, no live increments;
* `Member`                   anything else.

No tombstones: causal delivery means a remove only has to forget what is already here. The
order index is a sortedcontainers SortedList of (score, member), kept in step with the
member -> record dict, so rank and range reads are O(log n).
"""
from __future__ import annotations

import math
from bisect import insort
from collections.abc import Callable, Iterable
from sys import intern
from typing import Any

from sortedcontainers import SortedList

from ..atoms import untracked
from ..keyspace import Db, Entry, Keyspace, register_effect, register_type
from ..op import Ctx, Effect
from . import members as _members
from .schema import BYTES, SCORE, fixed, repeated

# Effect codes (range 60-69; persisted and replicated: never renumber).
ZADD = 60  # (ZADD, db, key, m1, s1, m2, s2, ...)  register writes (scores: float), one stamp
ZINCR = 61  # (ZINCR, db, key, member, delta)      one increment (delta: float)
ZREM = 62  # (ZREM, db, key, m1, m2, ...)          observed-remove of those members

# Redis 7.0 zset-max-listpack-entries / zset-max-listpack-value defaults.
LISTPACK_MAX_ENTRIES = 128
LISTPACK_MAX_VALUE = 64

# 2: increments lost their observed-by stamps (version 1 kept those a live ZADD observed).
STATE_VERSION = 2

Base = tuple[float, int, str]  # (score, hlc, origin): one live ZADD
Inc = tuple[int, str, float]  # (hlc, origin, delta): one live increment


def _add(s: float, d: float) -> float:
    r = s + d
    return 0.0 if r != r else r


def same_score(a: float, b: float) -> bool:
    """Equal and, for zeros, of the same sign (so -0.0 replacing 0.0 re-indexes)."""
    return a == b and (a != 0.0 or math.copysign(1.0, a) == math.copysign(1.0, b))


class Member:
    """A member's full CRDT state: live ZADDs (usually one) and live increments, all of
    which count. `score` is their fold, kept up to date incrementally: a local increment
    has the newest stamp, so a member only its own replica increments costs O(1) per
    ZINCRBY."""

    __slots__ = ("base", "incs", "score")

    def __init__(self, base: list[Base], incs: list[Inc]) -> None:
        self.base = base
        self.incs = incs  # sorted by (hlc, origin)
        self.score = 0.0
        self.recompute()

    def winner(self) -> Base | None:
        base = self.base
        if not base:
            return None
        if len(base) == 1:
            return base[0]
        return max(base, key=_bstamp)

    def recompute(self) -> None:
        w = self.winner()
        s: float | None = None if w is None else w[0]
        for _h, _o, d in self.incs:
            s = d if s is None else _add(s, d)
        self.score = 0.0 if s is None else s

    def zadd(self, score: float, ctx: Ctx) -> None:
        obs = ctx.observed
        h, o = ctx.hlc, intern(ctx.origin)
        # A write of the same stamp (a member named twice in one effect) is replaced too.
        base = [b for b in self.base if not (obs(b[1], b[2]) or (b[1] == h and b[2] == o))]
        base.append((score, h, o))
        self.base = base
        if self.incs:
            # Every ZADD resets what it observed, winner or not (see the module docstring).
            self.incs = [i for i in self.incs if not obs(i[0], i[1])]
        self.recompute()

    def zincr(self, delta: float, ctx: Ctx) -> None:
        inc: Inc = (ctx.hlc, intern(ctx.origin), delta)
        incs = self.incs
        if not incs or _istamp(incs[-1]) < (ctx.hlc, ctx.origin):
            # The usual case (the newest stamp): the left fold just continues.
            incs.append(inc)
            self.score = delta if (not self.base and len(incs) == 1) else _add(self.score, delta)
            return
        insort(incs, inc, key=_istamp)
        self.recompute()

    def remove(self, ctx: Ctx) -> None:
        obs = ctx.observed
        self.base = [b for b in self.base if not obs(b[1], b[2])]
        if self.incs:
            self.incs = [i for i in self.incs if not obs(i[0], i[1])]
        self.recompute()

    def stamps(self) -> list[tuple[int, str]]:
        return [(b[1], b[2]) for b in self.base] + [(i[0], i[1]) for i in self.incs]


def _bstamp(b: Base) -> tuple[int, str]:
    return (b[1], b[2])


def _istamp(i: Inc) -> tuple[int, str]:
    return (i[0], i[1])


def rec_score(rec: Any) -> float:
    """The visible score of a member record in any of its forms."""
    t = type(rec)
    if t is float:
        return rec  # type: ignore[no-any-return]
    if t is tuple:
        return rec[0]  # type: ignore[no-any-return]
    return rec.score  # type: ignore[no-any-return]


def _expand(rec: Any) -> Member:
    t = type(rec)
    if t is float:
        return Member([(rec, 0, "")], [])
    if t is tuple:
        return Member([rec], [])
    return rec  # type: ignore[no-any-return]


def _compact(m: Member, stable_now: bool) -> Any:
    """The leanest form holding this state: None (gone), a float, a tuple or the Member."""
    if not m.base and not m.incs:
        return None
    if stable_now:
        return m.score
    if not m.incs and len(m.base) == 1:
        b = m.base[0]
        return b[0] if b[1] == 0 else b
    return m


class ZsetEntry(Entry):
    """member -> record (a plain float once stable), and the (score, member) index.
    `fresh`: the members a GC visit looks at (crdt/members.py)."""

    __slots__ = ("recs", "index", "big", "fresh")
    TYPE = b"zset"

    def __init__(self) -> None:
        super().__init__()
        self.recs: dict[bytes, Any] = {}
        self.index: SortedList = SortedList()
        # Sticky, like Redis: once converted to a skiplist a zset never goes back.
        self.big = False
        self.fresh: list[bytes] | None = None

    def __len__(self) -> int:
        return len(self.recs)

    def __bool__(self) -> bool:
        # An entry is a value, not a container test: `if entry:` must not mean "non-empty".
        return True

    # ---- reads ---------------------------------------------------------------------------
    def score(self, member: bytes) -> float | None:
        rec = self.recs.get(member)
        return None if rec is None else rec_score(rec)

    def rank(self, member: bytes) -> int | None:
        rec = self.recs.get(member)
        if rec is None:
            return None
        return int(self.index.bisect_left((rec_score(rec), member)))

    def items(self) -> Iterable[tuple[float, bytes]]:
        """(score, member) in Redis order: by score, then member bytes."""
        return iter(self.index)

    # ---- writes (called by the apply functions) ------------------------------------------
    def _store(self, member: bytes, old: float | None, new: Any) -> None:
        """Record `new` (a record or None) for `member`, whose indexed score was `old`."""
        index = self.index
        if new is None:
            if old is not None:
                del self.recs[member]
                index.remove((old, member))
            return
        self.recs[member] = new
        if self.fresh is not None and type(new) is not float:  # its next GC visit looks at it
            _members.stamped(self, (member,), len(self.recs))
        ns = rec_score(new)
        if old is None:
            index.add(untracked((ns, member)))
            if len(member) > LISTPACK_MAX_VALUE or len(self.recs) > LISTPACK_MAX_ENTRIES:
                self.big = True
        elif not same_score(old, ns):
            index.remove((old, member))
            index.add(untracked((ns, member)))

    def zadd(self, member: bytes, score: float, ctx: Ctx, stable_now: bool) -> None:
        rec = self.recs.get(member)
        if rec is None:
            self._store(member, None, score if stable_now else untracked((score, ctx.hlc, intern(ctx.origin))))
            return
        t = type(rec)
        if stable_now and t is float:
            self._store(member, rec, score)
            return
        old = rec_score(rec)
        if t is float or (t is tuple and (ctx.observed(rec[1], rec[2]) or (rec[1] == ctx.hlc and rec[2] == ctx.origin))):
            new: Any = score if stable_now else untracked((score, ctx.hlc, intern(ctx.origin)))
        else:
            m = _expand(rec)
            m.zadd(score, ctx)
            new = _compact(m, stable_now)
        self._store(member, old, new)

    def zincr(self, member: bytes, delta: float, ctx: Ctx, stable_now: bool) -> None:
        rec = self.recs.get(member)
        if rec is None:
            self._store(member, None, delta if stable_now else Member([], [(ctx.hlc, intern(ctx.origin), delta)]))
            return
        old = rec_score(rec)
        if stable_now and type(rec) is float:
            self._store(member, old, _add(rec, delta))
            return
        m = _expand(rec)
        m.zincr(delta, ctx)
        self._store(member, old, _compact(m, stable_now))

    def zrem(self, member: bytes, ctx: Ctx, stable_now: bool) -> None:
        rec = self.recs.get(member)
        if rec is None:
            return
        old = rec_score(rec)
        t = type(rec)
        if stable_now or t is float or (t is tuple and ctx.observed(rec[1], rec[2])):
            self._store(member, old, None)
        elif t is tuple:
            return
        else:
            rec.remove(ctx)
            self._store(member, old, _compact(rec, stable_now))

    # ---- Entry protocol ------------------------------------------------------------------
    def remove_observed(self, ctx: Ctx) -> None:
        obs = ctx.observed
        kept: dict[bytes, Any] = {}
        for m, rec in self.recs.items():
            t = type(rec)
            if t is float:
                continue
            if t is tuple:
                if not obs(rec[1], rec[2]):
                    kept[m] = rec
                continue
            rec.remove(ctx)
            nrec = _compact(rec, False)
            if nrec is not None:
                kept[m] = nrec
        self.recs = kept
        # Usually everything goes (a DEL or FLUSHDB at its origin observed it all).
        self.index = SortedList((rec_score(r), m) for m, r in kept.items()) if kept else SortedList()

    def is_empty(self) -> bool:
        return not self.recs

    def encoding(self) -> bytes:
        if self.big or len(self.recs) > LISTPACK_MAX_ENTRIES:
            return b"skiplist"
        return b"listpack"

    def gc(self, stable: Callable[[int, str], bool]) -> int:
        """Fold members whose stamps are causally stable back to plain floats; drop ZADDs
        that can no longer win and fold stable increments into the score. `stable(hlc,
        origin)` must mean: every op still to be delivered here has observed that stamp.
        Returns how many stamps were dropped. Visible scores never change."""
        keys, track = _members.plan(self.recs, self.fresh)
        dropped, left = _members.fold(self.recs, keys, stable, float, 1, self._gc_record)
        self.fresh = left if track else None
        return dropped

    def _gc_record(self, m: bytes, rec: Member, stable: Callable[[int, str], bool]) -> tuple[int, bool]:
        """A member with several stamps (members.Other): folded to its score once every
        stamp is stable, else collected in part (`_gc_member`)."""
        stamps = rec.stamps()
        if all(h == 0 or stable(h, o) for h, o in stamps):
            self.recs[m] = rec.score
            return len(stamps), False
        before = rec.score
        dropped = _gc_member(rec, stable)
        nrec = _compact(rec, False)
        if not same_score(before, rec.score):  # never expected: folding keeps the sum exact
            self.index.remove((before, m))
            self.index.add(untracked((rec.score, m)))
        if nrec is not rec:
            self.recs[m] = nrec
        return dropped, type(nrec) is not float

    # ---- persistence ---------------------------------------------------------------------
    def state(self) -> tuple[Any, ...]:
        out: list[tuple[Any, ...]] = []
        for m, rec in self.recs.items():
            t = type(rec)
            if t is float:
                out.append((0, m, rec))
            elif t is tuple:
                out.append((1, m, rec[0], rec[1], rec[2]))
            else:
                out.append((2, m, [tuple(b) for b in rec.base], [tuple(i) for i in rec.incs]))
        return (STATE_VERSION, self.thlc, self.torigin, self.big, out)

    @classmethod
    def from_state(cls, s: Any) -> ZsetEntry:
        version, thlc, torigin, big, recs = s
        if version != STATE_VERSION and version != 1:
            raise ValueError(f"zset state version {version} is not supported")
        e = cls()
        e.thlc, e.torigin, e.big = thlc, torigin, bool(big)
        out = e.recs
        stamped: list[bytes] = []
        for item in recs:
            kind, m = item[0], item[1]
            if kind == 0:
                out[m] = float(item[2])
                continue
            stamped.append(m)
            if kind == 1:
                out[m] = (float(item[2]), item[3], intern(item[4]))
            else:
                base = [(float(b[0]), b[1], intern(b[2])) for b in item[2]]
                # Version 1 kept increments a live ZADD had observed (with its stamps): under
                # the current rule that ZADD dropped them.
                incs = [(i[0], intern(i[1]), float(i[2])) for i in item[3] if version != 1 or not i[3]]
                rec = _compact(Member(base, incs), False)
                if rec is not None:
                    out[m] = rec
        e.index = SortedList((rec_score(r), m) for m, r in out.items())
        e.fresh = _members.loaded(out, stamped)
        return e


def _gc_member(rec: Member, stable: Callable[[int, str], bool]) -> int:
    """Partial collection of a member that still has unstable stamps."""
    dropped = 0
    w = rec.winner()
    # A stable ZADD below the winner can never win again: every future remove observes it
    # (so it cannot outlive the winner) and every future ZADD replaces it.
    base = [b for b in rec.base if b is w or not (b[1] == 0 or stable(b[1], b[2]))]
    dropped += len(rec.base) - len(base)
    rec.base = base
    if w is None or (w[1] == 0 or stable(w[1], w[2])) and len(base) == 1:
        # The register is final (or absent): fold the stable prefix of the increments, in
        # stamp order, into it. Stopping at the first unstable one keeps the float sums
        # bit-identical to the unfolded left fold on every replica, whenever each collects.
        # The folded register is stamped (0, ""): every future op observes it, as it
        # observes the stamps it absorbed.
        s: float | None = None if w is None else w[0]
        n = 0
        for h, o, d in rec.incs:
            if not stable(h, o):
                break
            n += 1
            s = d if s is None else _add(s, d)
        if n and s is not None:
            rec.base = [(s, 0, "")]
            rec.incs = rec.incs[n:]
            dropped += n
            rec.recompute()
    return dropped


# ---- apply --------------------------------------------------------------------------------
def _existing(db: Db, key: bytes) -> ZsetEntry | None:
    """The zset at key, visible or hidden by a type conflict, without creating one."""
    e = db.data.get(key)
    if type(e) is ZsetEntry:
        return e
    hidden = db.shadow.get(key) if db.shadow else None
    if hidden:
        h = hidden.get(ZsetEntry.TYPE)
        if type(h) is ZsetEntry:
            return h
    return None


def apply_zadd(ks: Keyspace, db: Db, eff: Effect, ctx: Ctx) -> None:
    key = eff[2]
    e = ks.entry_for(db, key, ZsetEntry, ctx)
    if not ks.solo:
        # With peers: ZsetEntry.zadd's two common cases written out (a member without a
        # record; one holding a plain score or one write it observed, which this write
        # replaces), without its calls (zadd, _store, rec_score, intern per member); a
        # member with increments or a concurrent write goes to zadd.
        # tests/test_crdt_zset.py holds this loop to zadd.
        recs = e.recs
        index = e.index
        h = ctx.hlc
        o = intern(ctx.origin)
        observed = ctx.observed
        for i in range(3, len(eff), 2):
            m = eff[i]
            s = eff[i + 1]
            rec = recs.get(m)
            t = type(rec)
            if rec is None:
                old = None
            elif t is float:
                old = rec
            elif t is tuple and (observed(rec[1], rec[2]) or (rec[1] == h and rec[2] == o)):
                old = rec[0]
            else:
                e.zadd(m, s, ctx, False)
                continue
            recs[m] = untracked((s, h, o))
            if e.fresh is not None:  # its next GC visit looks at it (ZsetEntry._store)
                _members.stamped(e, (m,), len(recs))
            if old is None:
                index.add(untracked((s, m)))
                if len(m) > LISTPACK_MAX_VALUE or len(recs) > LISTPACK_MAX_ENTRIES:
                    e.big = True
            elif not same_score(old, s):
                index.remove((old, m))
                index.add(untracked((s, m)))
    else:
        # Single node, the hot path: every record is a plain float.
        recs = e.recs
        index = e.index
        for i in range(3, len(eff), 2):
            m = eff[i]
            s = eff[i + 1]
            old = recs.get(m)
            if old is None:
                recs[m] = s
                index.add(untracked((s, m)))
                if not e.big and (len(m) > LISTPACK_MAX_VALUE or len(recs) > LISTPACK_MAX_ENTRIES):
                    e.big = True
            elif type(old) is float:
                if not same_score(old, s):
                    index.remove((old, m))
                    index.add(untracked((s, m)))
                recs[m] = s
            else:
                e.zadd(m, s, ctx, True)
    e.touch(ctx)
    ks.settle(db, key)


def apply_zincr(ks: Keyspace, db: Db, eff: Effect, ctx: Ctx) -> None:
    key = eff[2]
    e = ks.entry_for(db, key, ZsetEntry, ctx)
    m = eff[3]
    old = e.recs.get(m)
    if type(old) is float and ks.solo:
        # Single node, the hot path: fold the increment into the plain score.
        s = _add(old, eff[4])
        if not same_score(old, s):
            e.index.remove((old, m))
            e.index.add(untracked((s, m)))
        e.recs[m] = s
    else:
        e.zincr(m, eff[4], ctx, ks.solo)
    e.touch(ctx)
    ks.settle(db, key)


def apply_zrem(ks: Keyspace, db: Db, eff: Effect, ctx: Ctx) -> None:
    key = eff[2]
    e = _existing(db, key)
    if e is None:
        return
    stable_now = ks.solo
    zrem = e.zrem
    for i in range(3, len(eff)):
        zrem(eff[i], ctx, stable_now)
    ks.settle(db, key)


def rebuild(db_index: int, key: bytes, e: Any) -> list[Effect]:
    """RENAME/COPY/*STORE: one ZADD writing every visible member and score at (db, key)."""
    args: list[Any] = []
    for s, m in e.index:
        args.append(m)
        args.append(s)
    if not args:
        return []
    return [(ZADD, db_index, key, *args)]


register_effect(ZADD, apply_zadd, ZsetEntry.TYPE, check=repeated(group=(BYTES, SCORE)))
register_effect(ZINCR, apply_zincr, ZsetEntry.TYPE, check=fixed(BYTES, SCORE))
register_effect(ZREM, apply_zrem, ZsetEntry.TYPE, check=repeated(group=(BYTES,)))
register_type(ZsetEntry.TYPE, rebuild)
