"""Consumer groups of a stream as replicated state: cursors, pending entries, consumers.

Rules (docs/semantics.md, "Streams"):

* **Cursor (last-delivered ID).** A multi-value register of cursor values, each
  `(last, late, entries_read)` stamped by the write that made it (XGROUP CREATE/SETID,
  XREADGROUP `>`, XCLAIM LASTID). A write replaces the values it observed. An entry counts
  as *delivered* to the group when some surviving value covers it: its ID is <= that
  value's `last` and it is not in that value's `late` set. `late` holds entries the write
  did not cover although their IDs are below `last`: entries the write's origin had not
  seen yet (added concurrently at another replica; computed where the write is applied,
  from the entry stamps that are not causally stable) and, at the origin, late entries it
  left undelivered (COUNT). So concurrent `>` reads at two replicas merge to the union of
  what each delivered, and an entry added concurrently at a third replica with a lower ID
  is still delivered by the next `>` read: every entry is delivered to every group at
  least once. A group exists while it has a cursor value.
* **Pending entries (PEL).** Per entry ID a multi-value register of NACKs
  `(consumer, delivery time, delivery count)`; a delivery or claim replaces the values it
  observed, XACK removes the values it observed. The visible NACK is the one with the
  highest stamp. Two replicas delivering one entry concurrently to two consumers both
  hand it out (at-least-once); afterwards the entry is pending for the consumer of the
  later stamp. A delivery or claim concurrent with an XACK survives it (the entry stays
  pending for the consumer that received it elsewhere, which can ack it).
* **Consumers.** Add-wins: a consumer exists while some write that named it (delivery,
  claim, CREATECONSUMER) was observed by no DELCONSUMER / DESTROY; its seen-time is the
  latest time recorded by those surviving writes.

Stamps are `(hlc, origin)`; `(0, "")` is a causally stable stamp (observed by everything).
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from sortedcontainers import SortedDict, SortedList

from ..op import Ctx

Stamp = tuple[int, str]
# (hlc, origin, consumer, delivery time ms, delivery count)
Nack = tuple[int, str, bytes, int, int]
STABLE: Stamp = (0, "")
INVALID_READ = -1  # SCG_INVALID_ENTRIES_READ


class Cursor:
    __slots__ = ("last", "late", "read", "hlc", "origin")

    def __init__(self, last: int, late: set[int] | None, read: int, hlc: int, origin: str) -> None:
        self.last = last
        self.late = late or None
        self.read = read
        self.hlc = hlc
        self.origin = origin

    def covers(self, sid: int) -> bool:
        return sid <= self.last and (self.late is None or sid not in self.late)

    def state(self) -> tuple[Any, ...]:
        return (self.last, sorted(self.late) if self.late else [], self.read, self.hlc, self.origin)


class Consumer:
    """`adds`: (hlc, origin, seen time) of the writes that keep it alive; `pel`: IDs whose
    visible NACK is this consumer's; `seen_local`: reads here that wrote nothing (not
    replicated, like Redis's own seen-time, which no replica receives)."""

    __slots__ = ("adds", "seen_local", "pel")

    def __init__(self) -> None:
        self.adds: list[tuple[int, str, int]] = []
        self.seen_local = 0
        self.pel: SortedList = SortedList()

    @property
    def seen(self) -> int:
        return max((a[2] for a in self.adds), default=0)

    def seen_time(self) -> int:
        return max(self.seen, self.seen_local)


def _stamp(ctx: Ctx | None) -> Stamp:
    return STABLE if ctx is None else (ctx.hlc, ctx.origin)


def _observed(ctx: Ctx | None, h: int, o: str) -> bool:
    return ctx is None or ctx.observed(h, o)


def visible(vals: list[Nack]) -> Nack:
    return vals[0] if len(vals) == 1 else max(vals)


class Group:
    __slots__ = ("cursors", "pel", "consumers")

    def __init__(self) -> None:
        self.cursors: list[Cursor] = []
        self.pel: SortedDict = SortedDict()  # sid -> list[Nack]
        self.consumers: dict[bytes, Consumer] = {}

    # ---- reads -------------------------------------------------------------------------
    def exists(self) -> bool:
        return bool(self.cursors)

    def is_empty(self) -> bool:
        return not self.cursors and not self.pel and not self.consumers

    def top(self) -> Cursor:
        """The cursor value with the highest last ID (what XINFO shows)."""
        cs = self.cursors
        return cs[0] if len(cs) == 1 else max(cs, key=lambda c: (c.last, c.hlc, c.origin))

    def last_id(self) -> int:
        return self.top().last if self.cursors else 0

    def delivered(self, sid: int) -> bool:
        for c in self.cursors:
            if c.covers(sid):
                return True
        return False

    def late_candidates(self, present: Callable[[int], bool]) -> list[int]:
        """Entries below the top cursor's last ID not yet delivered, in ID order."""
        if not self.cursors:
            return []
        top = self.top()
        if not top.late:
            return []
        return sorted(s for s in top.late if present(s) and not self.delivered(s))

    def live_consumers(self) -> list[tuple[bytes, Consumer]]:
        return sorted((n, c) for n, c in self.consumers.items() if c.adds)

    def consumer(self, name: bytes) -> Consumer | None:
        c = self.consumers.get(name)
        return c if c is not None and c.adds else None

    def nack(self, sid: int) -> Nack | None:
        vals = self.pel.get(sid)
        return None if vals is None else visible(vals)

    # ---- writes --------------------------------------------------------------------------
    def write_cursor(self, last: int, late: Iterable[int], read: int, ctx: Ctx | None,
                     unseen: Iterable[int]) -> None:
        """A new cursor value replacing the observed ones. `unseen`: entries present here
        that the write had not observed (concurrent adds): late if below `last`."""
        lt = {s for s in late}
        lt.update(s for s in unseen if s <= last)
        h, o = _stamp(ctx)
        self.cursors = [c for c in self.cursors if not _observed(ctx, c.hlc, c.origin)]
        self.cursors.append(Cursor(last, lt, read, h, o))

    def entry_added(self, sid: int, ctx: Ctx | None) -> None:
        """A new entry: late for every cursor value below it that it had not observed."""
        if ctx is None:
            return
        for c in self.cursors:
            if sid <= c.last and not ctx.observed(c.hlc, c.origin):
                if c.late is None:
                    c.late = {sid}
                else:
                    c.late.add(sid)

    def _set(self, sid: int, vals: list[Nack]) -> None:
        old = self.pel.get(sid)
        before = visible(old)[2] if old else None
        after = visible(vals)[2] if vals else None
        if vals:
            self.pel[sid] = vals
        elif old is not None:
            del self.pel[sid]
        if before != after:
            if before is not None:
                c = self.consumers.get(before)
                if c is not None:
                    c.pel.discard(sid)
            if after is not None:
                c = self.consumers.get(after)
                if c is None:
                    c = self.consumers[after] = Consumer()
                c.pel.add(sid)

    def add_consumer(self, name: bytes, seen: int, ctx: Ctx | None) -> Consumer:
        c = self.consumers.get(name)
        if c is None:
            c = self.consumers[name] = Consumer()
        h, o = _stamp(ctx)
        c.adds = [a for a in c.adds if not _observed(ctx, a[0], a[1])]
        c.adds.append((h, o, seen))
        return c

    def deliver(self, consumer: bytes, seen: int, items: list[tuple[int, int, int]], ctx: Ctx | None) -> None:
        """NACKs (sid, delivery time, delivery count) for `consumer`, replacing observed."""
        self.add_consumer(consumer, seen, ctx)
        h, o = _stamp(ctx)
        pel = self.pel
        for sid, t, n in items:
            old = pel.get(sid)
            vals = [v for v in old if not _observed(ctx, v[0], v[1])] if old else []
            vals.append((h, o, consumer, t, n))
            self._set(sid, vals)

    def ack(self, sids: Iterable[int], ctx: Ctx | None) -> None:
        pel = self.pel
        for sid in sids:
            old = pel.get(sid)
            if old is not None:
                self._set(sid, [v for v in old if not _observed(ctx, v[0], v[1])])

    def del_consumer(self, name: bytes, ctx: Ctx | None) -> None:
        c = self.consumers.get(name)
        if c is None:
            return
        # Every NACK naming it, not only those it shows as owner: a concurrent delivery
        # to another consumer may hide one of its values.
        for sid, vals in list(self.pel.items()):
            if any(v[2] == name for v in vals):
                self._set(sid, [v for v in vals if v[2] != name or not _observed(ctx, v[0], v[1])])
        c.adds = [a for a in c.adds if not _observed(ctx, a[0], a[1])]
        if not c.adds and not c.pel:
            del self.consumers[name]

    def destroy(self, ctx: Ctx | None) -> None:
        """Observed-remove of the whole group (XGROUP DESTROY, DEL of the key)."""
        self.cursors = [c for c in self.cursors if not _observed(ctx, c.hlc, c.origin)]
        for sid in list(self.pel):
            vals = self.pel[sid]
            self._set(sid, [v for v in vals if not _observed(ctx, v[0], v[1])])
        for name in list(self.consumers):
            c = self.consumers[name]
            c.adds = [a for a in c.adds if not _observed(ctx, a[0], a[1])]
            if not c.adds and not c.pel:
                del self.consumers[name]

    # ---- garbage collection ---------------------------------------------------------
    def gc(self, stable: Callable[[int, str], bool], present: Callable[[int], bool]) -> int:
        """Fold stable metadata: stable cursor values into one, stable NACK and consumer
        stamps to STABLE. Every future op observes a stable stamp, so it is replaced or
        removed exactly as the folded form would be."""
        n = 0
        cs = self.cursors
        if cs and all(c.hlc == 0 or stable(c.hlc, c.origin) for c in cs):
            if len(cs) > 1 or cs[0].hlc or (cs[0].late and not all(present(s) for s in cs[0].late)):
                top = self.top()
                late = set(self.late_candidates(present))
                n += len(cs)
                self.cursors = [Cursor(top.last, late, top.read, 0, "")]
        for sid, vals in list(self.pel.items()):
            if any(v[0] for v in vals) and all(v[0] == 0 or stable(v[0], v[1]) for v in vals):
                v = visible(vals)
                n += len(vals)
                self.pel[sid] = [(0, "", v[2], v[3], v[4])]
        for c in self.consumers.values():
            if c.adds and (len(c.adds) > 1 or c.adds[0][0]) and all(stable(a[0], a[1]) for a in c.adds):
                n += len(c.adds)
                c.adds = [(0, "", c.seen)]
        if not self.cursors and all(stable(v[0], v[1]) for vals in self.pel.values() for v in vals) \
                and all(all(stable(a[0], a[1]) for a in c.adds) for c in self.consumers.values()):
            # An orphan (destroyed concurrently with writes that kept some of its parts)
            # whose parts every future op has observed: nothing can bring it back.
            n += len(self.pel) + len(self.consumers)
            self.pel.clear()
            self.consumers.clear()
        return n

    # ---- persistence -----------------------------------------------------------------
    def state(self) -> tuple[Any, ...]:
        return (
            [c.state() for c in sorted(self.cursors, key=lambda c: (c.hlc, c.origin))],
            [(sid, sorted(vals)) for sid, vals in self.pel.items()],
            [(n, sorted(c.adds)) for n, c in sorted(self.consumers.items())],
        )

    @classmethod
    def from_state(cls, s: Any) -> Group:
        cursors, pel, consumers = s
        g = cls()
        g.cursors = [Cursor(last, set(late), read, h, o) for last, late, read, h, o in cursors]
        for name, adds in consumers:
            c = g.consumers[name] = Consumer()
            c.adds = [(h, o, t) for h, o, t in adds]
        for sid, vals in pel:
            g._set(sid, [(v[0], v[1], v[2], v[3], v[4]) for v in vals])
        return g
