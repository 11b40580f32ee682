"""Streams: an add-only log of entries ordered by ID, with observed-remove deletions.

Rules (docs/semantics.md, "Streams"):

* **Entries** are added, never changed. IDs made by `XADD *` at different replicas never
  collide (the commands layer reserves the low 16 bits of the sequence for a replica tag
  when the replica has peers), so concurrent adds simply interleave by ID everywhere. An
  explicit ID written concurrently at two replicas is one entry: the add with the higher
  stamp `(hlc, origin)` shows its fields, the other is kept hidden until it can no longer
  matter (like two concurrent SETs of one key), so deletions stay order-independent.
* **XDEL, XTRIM, DEL remove what they observed**: XDEL names IDs, trimming ships the ID
  of the last entry it removed at its origin (`MAXLEN`/`MINID`, exact or `~`, become
  "remove the observed entries up to this ID"), DEL removes every observed entry. An
  entry added concurrently at another replica survives them, so two replicas trimming to
  MAXLEN 10 concurrently can leave more than 10 entries.
* **Counters converge**: the last ID and the max deleted ID are multi-value registers read
  as their maximum (an XADD or XDEL writes one, XSETID may lower them; concurrent writes
  keep the highest); entries-added is the value of the latest XSETID ENTRIESADDED plus the
  adds it had not observed, or without one, the number of adds no DEL of the key had
  observed (adds are counted per origin; what an effect observed of an origin's adds is a
  prefix of them).
* **Consumer groups**: crdt/stream_cg.py.

What is kept for concurrency: the stamps of adds that are not causally stable yet
(`recent`, per origin in stamp order; `vis`, the stamp of the visible version of an ID
written twice), hidden losers of ID collisions, and stamps on registers and group metadata. `gc` drops
all of it at causal stability; a replica alone in its cluster (`Keyspace.solo`) never
keeps any.
"""
from __future__ import annotations

import sys
from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from ..keyspace import Db, Entry, Keyspace, register_effect, register_type
from ..op import Ctx, Effect
from .schema import BYTES, FLAG, INT64, INT64_MAX, NONNEG, Kind, fixed, ints, optional, repeated
from .stream_cg import STABLE, Group, Stamp
from .stream_store import M64, MAX_SID, Chunk, EntryLog

# Effect codes (range 70-79; persisted and replicated: never renumber). An ID is two int
# args, ms and seq.
XADD = 70  # (XADD, db, key, ms, seq, f1, v1, ...)
XDEL = 71  # (XDEL, db, key, maxdel ms, maxdel seq, ms1, seq1, ...)  observed versions of those IDs
XTRIM = 72  # (XTRIM, db, key, ms, seq)   observed live entries with ID <= ms-seq
XSETID = 73  # (XSETID, db, key, ms, seq, entries_added | -1, maxdel ms | -1, maxdel seq)
XGCURSOR = 74  # (XGCURSOR, db, key, group, ms, seq, entries_read, fresh, *late ms, seq)
XGREMOVE = 75  # (XGREMOVE, db, key, group, consumer | None)  DESTROY / DELCONSUMER
XLOAD = 76  # (XLOAD, db, key, *(ms, seq, n, item1..itemn))  many adds (RENAME/COPY)
XGPEL = 77  # (XGPEL, db, key, group, consumer, seen ms, *(ms, seq, time, count))  no items: consumer only
XGACK = 78  # (XGACK, db, key, group, *(ms, seq))
# XREADGROUP `>`: a cursor write and the deliveries in one effect (the hot read path).
# consumer None: no consumer or pending write (NOACK of a known consumer).
XGREAD = 79  # (XGREAD, db, key, group, consumer | None, seen ms, ms, seq, entries_read, nlate,
#             *late ms, seq, *(ms, seq, time, count))

STATE_VERSION = 1
_BIG = sys.byteorder == "big"

Reg = list[tuple[int, int, str]]  # multi-value register: (value, hlc, origin)


def _reg_write(reg: Reg, value: int, ctx: Ctx | None) -> Reg:
    """Write `value`, replacing the values the effect observed (an effect that writes
    several values, XLOAD, keeps the highest)."""
    if ctx is None:
        return [(value, 0, "")]
    h, o = ctx.hlc, ctx.origin
    out = []
    for v in reg:
        if v[1] == h and v[2] == o:
            value = max(value, v[0])
        elif not ctx.observed(v[1], v[2]):
            out.append(v)
    out.append((value, h, o))
    return out


def _reg_drop(reg: Reg, ctx: Ctx | None) -> Reg:
    return [] if ctx is None else [v for v in reg if not ctx.observed(v[1], v[2])]


class StreamEntry(Entry):
    __slots__ = ("log", "lastv", "maxdel", "added", "cut", "ea", "recent", "unsorted", "vis", "hidden",
                 "groups", "top")
    TYPE = b"stream"

    def __init__(self) -> None:
        self.thlc = 0
        self.torigin = ""
        self.log = EntryLog()
        self.lastv: Reg = []
        self.maxdel: Reg = []
        # Adds applied per origin, and how many of them key removals (DEL...) observed.
        self.added: dict[str, int] = {}
        self.cut: dict[str, int] = {}
        # XSETID ENTRIESADDED values: (value, hlc, origin, adds observed per origin).
        self.ea: list[tuple[int, int, str, dict[str, int]]] = []
        # Adds not causally stable yet, per origin in stamp order: hlc, ID ms, ID seq. The
        # only per-entry metadata, and only until stable (24 bytes an entry).
        self.recent: dict[str, tuple[array[int], array[int], array[int]]] = {}
        # Origins whose entries in `recent` are not in ID order (see _recent_adds).
        self.unsorted: set[str] = set()
        # The highest ID ever added here (an add above it cannot repeat a recent one).
        self.top = 0
        # Stamp of the visible version of IDs written concurrently more than once.
        self.vis: dict[int, Stamp] = {}
        self.hidden: dict[int, list[tuple[tuple[bytes, ...], int, str]]] = {}
        self.groups: dict[bytes, Group] = {}

    # ---- reads ----------------------------------------------------------------------
    def __len__(self) -> int:
        return self.log.length

    def last_id(self) -> int:
        lv = self.lastv
        if lv:
            return lv[0][0] if len(lv) == 1 else max(v[0] for v in lv)
        return self.log.last_sid() or 0

    def max_deleted(self) -> int:
        return max((v[0] for v in self.maxdel), default=0)

    def entries_added(self) -> int:
        total = sum(self.added.values())
        if not self.ea:
            return total - sum(self.cut.values())
        v, _h, _o, snap = max(self.ea, key=lambda x: (x[1], x[2]))
        return v + total - sum(snap.values())

    def group(self, name: bytes) -> Group | None:
        g = self.groups.get(name)
        return g if g is not None and g.cursors else None

    def live_groups(self) -> list[tuple[bytes, Group]]:
        return sorted((n, g) for n, g in self.groups.items() if g.cursors)

    def is_empty(self) -> bool:
        return not self.log.length and not self.lastv and not any(g.cursors for g in self.groups.values())

    def retain(self) -> bool:
        # An emptied stream waits, hidden, until what concurrent writes may still need
        # is stable: the counts of adds (entries-added of a concurrent XSETID), parts of
        # a group destroyed concurrently with writes to it (a concurrent cursor write may
        # bring the group back).
        return bool(self.groups) or bool(self.recent) or any(v[1] for v in self.ea)

    def encoding(self) -> bytes:
        return b"stream"

    # ---- what an effect had not observed -------------------------------------------
    def _unseen_adds(self, ctx: Ctx) -> Iterable[tuple[int, int, str]]:
        """(ID, hlc, origin) of the adds applied here that the effect had not observed."""
        for o, (hl, ms, sq) in self.recent.items():
            if o == ctx.origin:
                continue  # its own earlier adds are observed; later ones are not here yet
            for i in range(bisect_right(hl, ctx.deps.get(o, 0)), len(hl)):
                yield ms[i] << 64 | sq[i], hl[i], o

    def _unseen(self, ctx: Ctx | None) -> set[int]:
        """IDs whose visible version the effect had not observed (concurrent adds)."""
        if ctx is None or not self.recent:
            return set()
        vis = self.vis
        if not vis:
            return {s for s, _h, _o in self._unseen_adds(ctx)}
        out: set[int] = set()
        for s, h, o in self._unseen_adds(ctx):
            st = vis.get(s)
            if st is None or st == (h, o):
                out.add(s)
        return out

    def unseen_ids(self, ctx: Ctx | None) -> set[int]:
        """IDs with an add (of any version, deleted or not) the effect had not observed:
        entries a cursor write does not cover (stream_cg)."""
        if ctx is None or not self.recent:
            return set()
        return {s for s, _h, _o in self._unseen_adds(ctx)}

    def _observed_adds(self, ctx: Ctx | None) -> dict[str, int]:
        """Adds per origin the effect had observed (a prefix of each origin's adds)."""
        snap = dict(self.added)
        if ctx is None:
            return snap
        for o, (hl, _ms, _sq) in self.recent.items():
            if o != ctx.origin:
                snap[o] -= len(hl) - bisect_right(hl, ctx.deps.get(o, 0))
        return snap

    def _recent_adds(self, sid: int) -> list[Stamp]:
        """Stamps of the adds of `sid` that are not causally stable. An origin's adds to a
        stream usually have increasing IDs (each above the stream's last ID where it was
        made): those are bisected; an origin whose IDs went back (DEL, XSETID) is scanned."""
        m, q = sid >> 64, sid & M64
        out: list[Stamp] = []
        for o, (hl, ms, sq) in self.recent.items():
            if o in self.unsorted:
                out.extend((hl[i], o) for i in range(len(hl)) if ms[i] == m and sq[i] == q)
                continue
            lo = bisect_left(ms, m)
            hi = bisect_right(ms, m, lo)
            if lo < hi:
                k = bisect_left(sq, q, lo, hi)
                if k < hi and sq[k] == q:
                    out.append((hl[k], o))
        return out

    def _stamp_of(self, sid: int) -> Stamp:
        """Stamp of the visible version of a held ID (STABLE once causally stable). Without
        a `vis` entry the ID has had one add since it was last stable."""
        st = self.vis.get(sid)
        if st is not None:
            return st
        adds = self._recent_adds(sid)
        return max(adds) if adds else STABLE

    # ---- writes ----------------------------------------------------------------------
    def add(self, sid: int, items: Sequence[bytes], ctx: Ctx, solo: bool) -> None:
        log = self.log
        cx = None if solo else ctx
        chunks = log.chunks
        if chunks and sid <= chunks[-1].last() and (slot := log.slot(sid)) is not None:
            self._collide(slot[0], slot[1], sid, items, cx)
        else:
            log.add(sid, items)
            if cx is not None and self.recent and sid <= self.top and self._recent_adds(sid):
                # Written before, deleted (its chunk is gone), not stable: from now on tell
                # the versions apart.
                self.vis[sid] = (cx.hlc, cx.origin)
        if sid > self.top:
            self.top = sid
        o = ctx.origin
        self.added[o] = self.added.get(o, 0) + 1
        self.lastv = _reg_write(self.lastv, sid, cx) if self.lastv else [(sid, 0, "") if cx is None
                                                                         else (sid, ctx.hlc, o)]
        if cx is not None:
            r = self.recent.get(o)
            if r is None:
                r = self.recent[o] = (array("q"), array("Q"), array("Q"))
            elif (sid >> 64, sid & M64) <= (r[1][-1], r[2][-1]):
                self.unsorted.add(o)
            r[0].append(ctx.hlc)
            r[1].append(sid >> 64)
            r[2].append(sid & M64)
        if self.groups:
            for g in self.groups.values():
                g.entry_added(sid, cx)

    def _collide(self, c: Chunk, j: int, sid: int, items: Sequence[bytes], cx: Ctx | None) -> None:
        """An ID already held: a concurrent add of the same explicit ID (or one whose
        earlier version a concurrent delete removed). From now on `vis` knows the stamp of
        the ID's visible version (other IDs have one add: the one in `recent`)."""
        new: Stamp = STABLE if cx is None else (cx.hlc, cx.origin)
        if not c.is_live(j):
            self.log.revive(c, j, items)
            self.vis[sid] = new
            return
        cur = self._stamp_of(sid)
        losers = self.hidden.setdefault(sid, [])
        if new > cur:
            losers.append((tuple(c.items(j)), *cur))
            self.log.revive(c, j, items)
            self.vis[sid] = new
        else:
            losers.append((tuple(items), *new))
            self.vis[sid] = cur

    def _remove(self, sid: int, ctx: Ctx | None, unseen: set[int]) -> bool:
        """Observed-remove of the versions of one ID (`unseen`: IDs whose visible version
        the effect had not observed); True when its visible one went."""
        losers = self.hidden.get(sid) if self.hidden else None
        if losers:
            losers = [v for v in losers if not (ctx is None or ctx.observed(v[1], v[2]))]
        gone = sid not in unseen
        if gone:
            if losers:
                best = max(losers, key=lambda v: (v[1], v[2]))
                losers.remove(best)
                p = self.log.position(sid)
                if p is not None:
                    self.log.revive(p[0], p[1], best[0])
                self.vis[sid] = (best[1], best[2])
                gone = False
            elif not self.log.delete(sid):
                gone = False
        if self.hidden and sid in self.hidden:
            if losers:
                self.hidden[sid] = losers
            else:
                del self.hidden[sid]
        return gone

    def delete_ids(self, sids: Iterable[int], maxdel: int, ctx: Ctx | None) -> None:
        unseen = self._unseen(ctx)
        for sid in sids:
            self._remove(sid, ctx, unseen)
        self.maxdel = _reg_write(self.maxdel, maxdel, ctx)

    def trim_upto(self, top: int, ctx: Ctx | None) -> None:
        keep = self._unseen(ctx)
        special = [s for s in self.hidden if s <= top] if self.hidden else []
        self.log.remove_upto(top, keep | set(special) if special else keep)
        for s in special:
            self._remove(s, ctx, keep)

    def remove_observed(self, ctx: Ctx) -> None:
        keep = self._unseen(ctx)
        special = list(self.hidden) if self.hidden else []
        if not keep and not special:
            self.log.clear()
        else:
            self.log.remove_upto(MAX_SID, keep | set(special))
            for s in special:
                self._remove(s, ctx, keep)
        self.lastv = _reg_drop(self.lastv, ctx)
        self.maxdel = _reg_drop(self.maxdel, ctx)
        self.ea = [v for v in self.ea if not ctx.observed(v[1], v[2])]
        cut = self.cut
        for o, k in self._observed_adds(ctx).items():
            if k > cut.get(o, 0):
                cut[o] = k
        for name in list(self.groups):
            g = self.groups[name]
            g.destroy(ctx)
            if g.is_empty():
                del self.groups[name]

    def set_id(self, last: int, added: int, maxdel: int, ctx: Ctx | None) -> None:
        self.lastv = _reg_write(self.lastv, last, ctx)
        if added >= 0:
            ea = [] if ctx is None else [v for v in self.ea if not ctx.observed(v[1], v[2])]
            h, o = (0, "") if ctx is None else (ctx.hlc, ctx.origin)
            ea.append((added, h, o, self._observed_adds(ctx)))
            self.ea = ea
        if maxdel >= 0:
            self.maxdel = _reg_write(self.maxdel, maxdel, ctx)

    def group_for_write(self, name: bytes) -> Group:
        g = self.groups.get(name)
        if g is None:
            g = self.groups[name] = Group()
        return g

    def drop_group_if_empty(self, name: bytes) -> None:
        g = self.groups.get(name)
        if g is not None and g.is_empty():
            del self.groups[name]

    # ---- garbage collection ---------------------------------------------------------
    def gc(self, stable: Callable[[int, str], bool]) -> int:
        n = 0
        for o in list(self.recent):
            hl, ms, sq = self.recent[o]
            k = 0
            while k < len(hl) and stable(hl[k], o):
                k += 1
            if k:
                n += k
                if k == len(hl):
                    del self.recent[o]
                    self.unsorted.discard(o)
                else:
                    del hl[:k], ms[:k], sq[:k]
        for sid in list(self.hidden):
            kept = [v for v in self.hidden[sid] if not stable(v[1], v[2])]
            n += len(self.hidden[sid]) - len(kept)
            if kept:
                self.hidden[sid] = kept
            else:
                del self.hidden[sid]
        if self.vis and not self.recent:
            # Every add is stable: an ID's visible version no longer needs telling apart.
            for sid in [s for s in self.vis if s not in self.hidden]:
                del self.vis[sid]
                n += 1
        for attr in ("lastv", "maxdel"):
            reg: Reg = getattr(self, attr)
            if reg and (len(reg) > 1 or reg[0][1]) and all(stable(v[1], v[2]) for v in reg):
                n += len(reg)
                setattr(self, attr, [(max(v[0] for v in reg), 0, "")])
        if self.ea and (len(self.ea) > 1 or self.ea[0][1]) and all(stable(v[1], v[2]) for v in self.ea):
            n += len(self.ea)
            self.ea = [(self.entries_added(), 0, "", dict(self.added))]
        log = self.log
        for name in list(self.groups):
            g = self.groups[name]
            n += g.gc(stable, log.__contains__)
            if g.is_empty():
                del self.groups[name]
        return n

    # ---- persistence -----------------------------------------------------------------
    def state(self) -> tuple[Any, ...]:
        """Canonical: equal streams give equal states whatever their chunk layout."""
        return (
            STATE_VERSION, self.thlc, self.torigin, sys.byteorder, self.log.runs(),
            [(s, [(list(v[0]), v[1], v[2]) for v in vals]) for s, vals in sorted(self.hidden.items())],
            sorted((s, h, o) for s, (h, o) in self.vis.items()),
            [(o, list(hl), list(ms), list(sq)) for o, (hl, ms, sq) in sorted(self.recent.items())],
            sorted(self.lastv), sorted(self.maxdel), dict(sorted(self.added.items())),
            dict(sorted(self.cut.items())),
            [(v, h, o, dict(sorted(snap.items()))) for v, h, o, snap in sorted(self.ea, key=lambda x: (x[1], x[2]))],
            [(name, g.state()) for name, g in sorted(self.groups.items())],
        )

    @classmethod
    def from_state(cls, s: Any) -> StreamEntry:
        (version, thlc, torigin, order, runs, hidden, vis, recent, lastv, maxdel, added, cut, ea,
         groups) = s
        if version != STATE_VERSION:
            raise ValueError(f"stream state version {version} is not supported")
        e = cls()
        e.thlc, e.torigin = thlc, torigin
        e.log.load_runs(runs, order != sys.byteorder)
        e.hidden = {sid: [(tuple(v[0]), v[1], v[2]) for v in vals] for sid, vals in hidden}
        e.vis = {sid: (h, o) for sid, h, o in vis}
        e.recent = {o: (array("q", hl), array("Q", ms), array("Q", sq)) for o, hl, ms, sq in recent}
        e.top = max((max(ms[i] << 64 | sq[i] for i in range(len(ms))) for _hl, ms, sq in e.recent.values() if ms),
                    default=0)
        e.unsorted = {o for o, (_hl, ms, sq) in e.recent.items()
                      if any((ms[i], sq[i]) >= (ms[i + 1], sq[i + 1]) for i in range(len(ms) - 1))}
        e.lastv = [(v, h, o) for v, h, o in lastv]
        e.maxdel = [(v, h, o) for v, h, o in maxdel]
        e.added = dict(added)
        e.cut = dict(cut)
        e.ea = [(v, h, o, dict(snap)) for v, h, o, snap in ea]
        e.groups = {name: Group.from_state(gs) for name, gs in groups}
        return e


# ---- apply --------------------------------------------------------------------------------
def existing(db: Db, key: bytes) -> StreamEntry | None:
    """The stream at key, visible or hidden (type conflict, retained group parts)."""
    e = db.data.get(key)
    if type(e) is StreamEntry:
        return e
    hidden = db.shadow.get(key) if db.shadow else None
    if hidden:
        h = hidden.get(StreamEntry.TYPE)
        if type(h) is StreamEntry:
            return h
    return None


def _for_write(ks: Keyspace, db: Db, key: bytes, ctx: Ctx) -> StreamEntry:
    e = db.data.get(key)
    if type(e) is StreamEntry:
        return e
    return ks.entry_for(db, key, StreamEntry, ctx)  # type: ignore[no-any-return]


def _cx(ks: Keyspace, ctx: Ctx) -> Ctx | None:
    return None if ks.solo else ctx


def _sids(args: Sequence[Any]) -> list[int]:
    return [args[k] << 64 | args[k + 1] for k in range(0, len(args) - 1, 2)]


def apply_xadd(ks: Keyspace, db: Db, eff: Effect, ctx: Ctx) -> None:
    key = eff[2]
    e = _for_write(ks, db, key, ctx)
    e.add(eff[3] << 64 | eff[4], eff[5:], ctx, ks.solo)
    e.touch(ctx)
    ks.settle(db, key)


def apply_xload(ks: Keyspace, db: Db, eff: Effect, ctx: Ctx) -> None:
    key = eff[2]
    e = _for_write(ks, db, key, ctx)
    k = 3
    solo = ks.solo
    while k + 2 < len(eff):
        n = eff[k + 2]
        e.add(eff[k] << 64 | eff[k + 1], eff[k + 3:k + 3 + n], ctx, solo)
        k += 3 + n
    e.touch(ctx)
    ks.settle(db, key)


def apply_xdel(ks: Keyspace, db: Db, eff: Effect, ctx: Ctx) -> None:
    e = existing(db, eff[2])
    if e is None:
        return
    e.delete_ids(_sids(eff[5:]), eff[3] << 64 | eff[4], _cx(ks, ctx))
    ks.settle(db, eff[2])


def apply_xtrim(ks: Keyspace, db: Db, eff: Effect, ctx: Ctx) -> None:
    e = existing(db, eff[2])
    if e is None:
        return
    e.trim_upto(eff[3] << 64 | eff[4], _cx(ks, ctx))
    ks.settle(db, eff[2])


def apply_xsetid(ks: Keyspace, db: Db, eff: Effect, ctx: Ctx) -> None:
    key = eff[2]
    e = _for_write(ks, db, key, ctx)
    maxdel = -1 if eff[6] < 0 else eff[6] << 64 | eff[7]
    e.set_id(eff[3] << 64 | eff[4], eff[5], maxdel, _cx(ks, ctx))
    e.touch(ctx)
    ks.settle(db, key)


def apply_xgcursor(ks: Keyspace, db: Db, eff: Effect, ctx: Ctx) -> None:
    key = eff[2]
    e = _for_write(ks, db, key, ctx)
    cx = _cx(ks, ctx)
    g = e.group_for_write(eff[3])
    if eff[7]:
        g.destroy(cx)  # a new group: first remove what its origin saw of an older one
    g.write_cursor(eff[4] << 64 | eff[5], _sids(eff[8:]), eff[6], cx, e.unseen_ids(cx))
    e.touch(ctx)
    ks.settle(db, key)


def apply_xgremove(ks: Keyspace, db: Db, eff: Effect, ctx: Ctx) -> None:
    e = existing(db, eff[2])
    if e is None:
        return
    g = e.groups.get(eff[3])
    if g is None:
        return
    if eff[4] is None:
        g.destroy(_cx(ks, ctx))
    else:
        g.del_consumer(eff[4], _cx(ks, ctx))
    e.drop_group_if_empty(eff[3])
    ks.settle(db, eff[2])


def apply_xgpel(ks: Keyspace, db: Db, eff: Effect, ctx: Ctx) -> None:
    key = eff[2]
    e = _for_write(ks, db, key, ctx)
    g = e.group_for_write(eff[3])
    a = eff[6:]
    items = [(a[k] << 64 | a[k + 1], a[k + 2], a[k + 3]) for k in range(0, len(a) - 3, 4)]
    g.deliver(eff[4], eff[5], items, _cx(ks, ctx))
    e.touch(ctx)
    ks.settle(db, key)


def apply_xgread(ks: Keyspace, db: Db, eff: Effect, ctx: Ctx) -> None:
    key = eff[2]
    e = _for_write(ks, db, key, ctx)
    cx = _cx(ks, ctx)
    g = e.group_for_write(eff[3])
    k = 10 + 2 * eff[9]
    g.write_cursor(eff[6] << 64 | eff[7], _sids(eff[10:k]), eff[8], cx, e.unseen_ids(cx))
    if eff[4] is not None:
        a = eff[k:]
        g.deliver(eff[4], eff[5], [(a[i] << 64 | a[i + 1], a[i + 2], a[i + 3]) for i in range(0, len(a) - 3, 4)], cx)
    e.touch(ctx)
    ks.settle(db, key)


def apply_xgack(ks: Keyspace, db: Db, eff: Effect, ctx: Ctx) -> None:
    e = existing(db, eff[2])
    if e is None:
        return
    g = e.groups.get(eff[3])
    if g is None:
        return
    g.ack(_sids(eff[4:]), _cx(ks, ctx))
    e.drop_group_if_empty(eff[3])
    ks.settle(db, eff[2])


def id_args(sid: int) -> tuple[int, int]:
    return (sid >> 64, sid & M64)


def rebuild(dbi: int, key: bytes, e: Any) -> list[Effect]:
    """RENAME/COPY (after DEL dst): the entries, the ID counters, then each group with its
    cursor, consumers and pending entries, as ordinary effects."""
    out: list[Effect] = []
    args: list[Any] = []
    for sid, c, j in e.log.walk(0, MAX_SID):
        items = c.items(j)
        args += (sid >> 64, sid & M64, len(items), *items)
        if len(args) > 4096:
            out.append((XLOAD, dbi, key, *args))
            args = []
    if args:
        out.append((XLOAD, dbi, key, *args))
    md = e.max_deleted()
    out.append((XSETID, dbi, key, *id_args(e.last_id()), e.entries_added(),
                *(id_args(md) if md else (-1, -1))))
    for name, g in e.live_groups():
        top = g.top()
        late = g.late_candidates(e.log.__contains__)
        out.append((XGCURSOR, dbi, key, name, *id_args(top.last), top.read, True,
                    *[x for s in late for x in id_args(s)]))
        for cname, cons in g.live_consumers():
            quads: list[int] = []
            for sid in cons.pel:
                n = g.nack(sid)
                if n is not None:
                    quads += (*id_args(sid), n[3], n[4])
            # seen_time(): the seen-time this replica shows, reads that wrote nothing included
            # (the copy shows what the source showed here, as XINFO STREAM FULL does in Redis).
            out.append((XGPEL, dbi, key, name, cname, cons.seen_time(), *quads))
    return out


# ---- shape checks of effects from peers (crdt/schema.py) --------------------------------------
U64 = ints(0, M64, "an integer in 0..2^64-1")  # half of a 128-bit stream ID
U64_OR_NONE = ints(-1, M64, "-1 (none) or an integer in 0..2^64-1")
READ = ints(-1, INT64_MAX, "entries-read (-1 or a non-negative 64-bit integer)")
ANY = Kind("an argument", lambda _v, _m: True, (0, b""))


def _check_xload(eff: Effect, _max_bulk: int) -> str | None:
    """*(ms, seq, n, item1..itemn): n bytes items, an even number (field, value)."""
    i, n = 3, len(eff)
    while i < n:
        if i + 3 > n:
            return f"effect {eff[0]}: truncated entry at argument {i - 3}"
        ms, seq, k = eff[i], eff[i + 1], eff[i + 2]
        if not (U64.ok(ms, 0) and U64.ok(seq, 0)):
            return f"effect {eff[0]}: argument {i - 3} must be {U64.name}"
        if type(k) is not int or k < 0 or k % 2 or i + 3 + k > n:
            return f"effect {eff[0]}: argument {i - 1} must be an even item count within the effect"
        if any(type(v) is not bytes for v in eff[i + 3:i + 3 + k]):
            return f"effect {eff[0]}: entry items must be bytes"
        i += 3 + k
    return None


def _check_xgread(eff: Effect, _max_bulk: int) -> str | None:
    """(group, consumer | None, seen, ms, seq, read, nlate, *late ms, seq, *(ms, seq, time, count))."""
    n = len(eff)
    if n < 10:
        return f"effect {eff[0]}: {n - 3} arguments, expected at least 7"
    heads = ((3, BYTES), (4, optional(BYTES)), (5, INT64), (6, U64), (7, U64), (8, READ), (9, NONNEG))
    for i, k in heads:
        if not k.ok(eff[i], 0):
            return f"effect {eff[0]}: argument {i - 3} must be {k.name}"
    k = 10 + 2 * eff[9]
    if k > n or (n - k) % 4:
        return f"effect {eff[0]}: {n - 3} arguments do not fit {eff[9]} late IDs and whole deliveries"
    if not all(U64.ok(v, 0) for v in eff[10:k]):
        return f"effect {eff[0]}: late IDs must be {U64.name}"
    kinds = (U64, U64, INT64, INT64)
    for i in range(k, n):
        if not kinds[(i - k) % 4].ok(eff[i], 0):
            return f"effect {eff[0]}: argument {i - 3} must be {kinds[(i - k) % 4].name}"
    return None


register_effect(XADD, apply_xadd, StreamEntry.TYPE,
                check=repeated(head=(U64, U64), group=(BYTES, BYTES), min_groups=1))
register_effect(XDEL, apply_xdel, StreamEntry.TYPE, check=repeated(head=(U64, U64), group=(U64, U64)))
register_effect(XTRIM, apply_xtrim, StreamEntry.TYPE, check=fixed(U64, U64))
register_effect(XSETID, apply_xsetid, StreamEntry.TYPE,
                check=fixed(U64, U64, READ, U64_OR_NONE, U64_OR_NONE))
register_effect(XGCURSOR, apply_xgcursor, StreamEntry.TYPE,
                check=repeated(head=(BYTES, U64, U64, READ, FLAG), group=(U64, U64)))
register_effect(XGREMOVE, apply_xgremove, StreamEntry.TYPE, check=fixed(BYTES, optional(BYTES)))
register_effect(XLOAD, apply_xload, StreamEntry.TYPE, check=repeated(group=(ANY,), extra=_check_xload))
register_effect(XGPEL, apply_xgpel, StreamEntry.TYPE,
                check=repeated(head=(BYTES, BYTES, INT64), group=(U64, U64, INT64, INT64)))
register_effect(XGACK, apply_xgack, StreamEntry.TYPE, check=repeated(head=(BYTES,), group=(U64, U64)))
register_effect(XGREAD, apply_xgread, StreamEntry.TYPE, check=repeated(group=(ANY,), extra=_check_xgread))
register_type(StreamEntry.TYPE, rebuild)
