"""Sets: an add-wins observed-remove set (SADD wins over a concurrent SREM/SPOP/DEL of the member).

The optimized OR-set of Bieniusa et al. 2012 ("An optimized conflict-free replicated set"):
each member carries the stamps `(hlc, origin)` of the adds that are still alive; an add
replaces the stamps of the member it observed with its own; a remove (SREM, SPOP, the
source side of SMOVE, DEL, FLUSHDB, an overwriting *STORE) takes away the stamps it
observed. A member is present iff some add of it is observed by no remove of it. Causal
delivery means a remove only ever forgets what is already here, so nothing needs a
tombstone, and remove effects just name the members: `Ctx.observed` decides which stamps go.

A member's stamps take the leanest form that holds them (DESIGN §7: per-element memory):

* `0`                         causally stable: every future op has observed the add. The only
                              form on a solo replica (`Keyspace.solo`), where every
                              op is stable at once; `SetEntry.gc` folds stamps back to it;
* `(hlc, origin)`             one live add (the usual case with peers);
* `[(hlc, origin), ...]`      several concurrent adds, none observed by the others.

OBJECT ENCODING follows Redis 7.0 (t_set.c), which has no listpack sets: `intset` while
every member is an integer (string2ll) and there are at most 512, else `hashtable`, and the
conversion never goes back (`SetEntry.ht`).
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..atoms import untracked
from ..keyspace import Db, Entry, Keyspace, register_effect, register_type
from ..op import Ctx, Effect
from . import members as _members
from .numbers import parse_int
from .schema import BYTES, repeated

# Effect codes (range 40-49; persisted and replicated: never renumber).
SADD = 40  # (SADD, db, key, m1, m2, ...)  one add stamp shared by every member named
SREM = 41  # (SREM, db, key, m1, m2, ...)  observed-remove of those members

# Redis 7.0 set-max-intset-entries default.
INTSET_MAX_ENTRIES = 512

STATE_VERSION = 1

# Sets bigger than this pick random members from a lazily built pool instead of a fresh
# list of all members (SPOP/SRANDMEMBER would otherwise be O(N) on big sets).
_POOL_MIN = 64

# One str object per origin name: every stamp of an origin shares it (memory per element).
_ORIGINS: dict[str, str] = {}


def _origin(o: str) -> str:
    s = _ORIGINS.get(o)
    if s is None:
        s = _ORIGINS.setdefault(o, o)
    return s


class SetEntry(Entry):
    """member -> 0 | (hlc, origin) | [(hlc, origin), ...], in insertion order.

    `ht` is Redis's one-way intset -> hashtable conversion (OBJECT ENCODING, member order of
    an intset, SSCAN returning a small set whole). `pool` is a cache for random picks, not
    part of the CRDT state. `fresh`: the members a GC visit looks at (crdt/members.py)."""

    __slots__ = ("m", "ht", "pool", "fresh")
    TYPE = b"set"

    def __init__(self) -> None:
        self.thlc = 0  # Entry's fields, set here: one call less per new set
        self.torigin = ""
        self.m: dict[bytes, Any] = {}
        self.ht = False
        self.pool: list[bytes] | None = None
        self.fresh: list[bytes] | None = None

    # ---- the CRDT operations ---------------------------------------------------------
    def add(self, members: tuple[bytes, ...], ctx: Ctx | None) -> None:
        """Add `members` with one stamp, replacing the stamps of them it observed. `ctx`
        None means causally stable (a solo replica): no stamp is kept."""
        m = self.m
        pool = self.pool
        if pool is not None:
            for x in members:
                if x not in m:
                    pool.append(x)
        if ctx is None:
            for x in members:
                m[x] = 0
        else:
            h = ctx.hlc
            o = ctx.origin
            o = _ORIGINS.get(o) or _origin(o)  # the interned origin, its call saved (every add with peers)
            st = untracked((h, o))
            for x in members:
                cur = m.get(x)
                if cur is None or cur == 0:
                    m[x] = st
                elif type(cur) is tuple:
                    if ctx.observed(cur[0], cur[1]) or cur == st:
                        m[x] = st
                    else:
                        m[x] = [cur, st]
                else:
                    obs = ctx.observed
                    kept = [s for s in cur if not obs(s[0], s[1]) and s != st]
                    if kept:
                        kept.append(st)
                        m[x] = kept
                    else:
                        m[x] = st
            if self.fresh is not None:  # a big set: its next GC visit looks at these
                _members.stamped(self, members, len(m))
        if not self.ht:
            if len(m) > INTSET_MAX_ENTRIES:
                self.ht = True
            else:
                for x in members:
                    # isdigit first: most non-integers are rejected without parsing.
                    if not (x.isdigit() or x[:1] == b"-") or parse_int(x) is None:
                        self.ht = True
                        break

    def remove(self, members: tuple[bytes, ...], ctx: Ctx | None) -> None:
        """Observed-remove of `members`; `ctx` None removes them outright (a solo replica)."""
        m = self.m
        if ctx is None:
            for x in members:
                m.pop(x, None)
            return
        obs = ctx.observed
        for x in members:
            cur = m.get(x)
            if cur is None:
                continue
            if cur == 0:
                del m[x]
            elif type(cur) is tuple:
                if obs(cur[0], cur[1]):
                    del m[x]
            else:
                kept = [s for s in cur if not obs(s[0], s[1])]
                if not kept:
                    del m[x]
                elif len(kept) != len(cur):
                    m[x] = kept if len(kept) > 1 else kept[0]

    def remove_observed(self, ctx: Ctx) -> None:
        obs = ctx.observed
        kept: dict[bytes, Any] = {}
        for x, cur in self.m.items():
            if cur == 0:
                continue
            if type(cur) is tuple:
                if not obs(cur[0], cur[1]):
                    kept[x] = cur
            else:
                live = [s for s in cur if not obs(s[0], s[1])]
                if live:
                    kept[x] = live if len(live) > 1 else live[0]
        self.m = kept

    def is_empty(self) -> bool:
        return not self.m

    def encoding(self) -> bytes:
        return b"hashtable" if self.ht else b"intset"

    def gc(self, stable: Callable[[int, str], bool]) -> int:
        """Fold stamps that are causally stable (seen by every replica) to `0`; a stable
        stamp next to live ones is dropped (every future remove observes it, so it can
        never be the one that keeps the member). Returns how many stamps were dropped."""
        keys, track = _members.plan(self.m, self.fresh)
        dropped, left = _members.fold(self.m, keys, stable, int, 0, self._gc_stamps)
        self.fresh = left if track else None
        return dropped

    def _gc_stamps(self, x: bytes, cur: list[tuple[int, str]], stable: Callable[[int, str], bool]) -> tuple[int, bool]:
        """A member with several stamps (members.Other): the stable ones go."""
        live = [s for s in cur if not stable(s[0], s[1])]
        if len(live) != len(cur):
            self.m[x] = 0 if not live else live if len(live) > 1 else live[0]
        return len(cur) - len(live), bool(live)

    # ---- reads -----------------------------------------------------------------------
    def members(self) -> list[bytes]:
        """All members in Redis's order for this encoding: an intset is sorted by value;
        a hashtable has no defined order (ours is insertion order)."""
        if self.ht:
            return list(self.m)
        return sorted(self.m, key=int)

    def random_member(self, rand: Callable[[int], int]) -> bytes:
        """A uniformly random member (non-empty set). `rand(n)` returns 0 <= i < n."""
        m = self.m
        n = len(m)
        if n <= _POOL_MIN:
            self.pool = None
            if n == 1:
                return next(iter(m))
            return list(m)[rand(n)]
        pool = self.pool
        if pool is None or len(pool) > 2 * n:
            # Every member is in the pool once; removed ones are skipped (rejection), and
            # the pool is rebuilt when they make up half of it: O(1) amortised per pick.
            pool = self.pool = list(m)
        while True:
            x = pool[rand(len(pool))]
            if x in m:
                return x

    # ---- persistence: a plain structure ------------------------------------------------
    def state(self) -> tuple[Any, ...]:
        """(version, thlc, torigin, ht, items): an item is `member` (stable), `(member,
        hlc, origin)` (one live add) or `(member, [(hlc, origin), ...])` (several)."""
        items: list[Any] = []
        for x, cur in self.m.items():
            if cur == 0:
                items.append(x)
            elif type(cur) is tuple:
                items.append((x, cur[0], cur[1]))
            else:
                items.append((x, sorted(cur)))
        return (STATE_VERSION, self.thlc, self.torigin, self.ht, items)

    @classmethod
    def from_state(cls, s: Any) -> SetEntry:
        version, thlc, torigin, ht, items = s
        if version != STATE_VERSION:
            raise ValueError(f"set state version {version} is not supported")
        e = cls()
        e.thlc, e.torigin, e.ht = thlc, torigin, bool(ht)
        if set(map(type, items)) <= {bytes}:  # no stamps (a solo set, or GC folded them): in C
            e.m.update(dict.fromkeys(items, 0))
            e.fresh = _members.loaded(e.m, [])
            return e
        m = e.m
        stamped: list[bytes] = []
        for item in items:
            if type(item) is bytes:
                m[item] = 0
                continue
            if len(item) == 3:
                m[item[0]] = (item[1], _origin(item[2]))
            else:
                m[item[0]] = [(h, _origin(o)) for h, o in item[1]]
            stamped.append(item[0])
        e.fresh = _members.loaded(m, stamped)
        return e


# ---- apply --------------------------------------------------------------------------------
def _existing(db: Db, key: bytes) -> SetEntry | None:
    """The set entry at key, visible or hidden by a type conflict, without creating one."""
    e = db.data.get(key)
    if type(e) is SetEntry:
        return e
    hidden = db.shadow.get(key) if db.shadow else None
    if hidden:
        return hidden.get(SetEntry.TYPE)  # type: ignore[no-any-return]
    return None


def apply_sadd(ks: Keyspace, db: Db, eff: Effect, ctx: Ctx) -> None:
    key = eff[2]
    e = db.data.get(key)
    if type(e) is not SetEntry:
        e = ks.entry_for(db, key, SetEntry, ctx)
    m = e.m
    changed = not (db.watched or db.waiters) or any(x not in m for x in eff[3:])
    e.add(eff[3:], None if ks.solo else ctx)
    e.touch(ctx)
    ks.settle(db, key, changed)


def apply_srem(ks: Keyspace, db: Db, eff: Effect, ctx: Ctx) -> None:
    key = eff[2]
    e = _existing(db, key)
    if e is None:
        return
    e.remove(eff[3:], None if ks.solo else ctx)
    ks.settle(db, key)


def rebuild(db_index: int, key: bytes, e: Any) -> list[Effect]:
    """RENAME/COPY (after DEL dst): one SADD of every member at (db, key)."""
    if not e.m:
        return []
    return [(SADD, db_index, key, *e.m)]


register_effect(SADD, apply_sadd, SetEntry.TYPE, check=repeated(group=(BYTES,)))
register_effect(SREM, apply_srem, SetEntry.TYPE, check=repeated(group=(BYTES,)))
register_type(SetEntry.TYPE, rebuild)
