"""Strings: a multi-value register with counter contributions (crdt/counter_reg.py).

Rule: concurrent SETs resolve by the highest (hlc, origin); concurrent increments all apply,
in stamp order, on top of the winning write; a SET (or DEL) removes only the writes and
increments it observed, so an increment concurrent with a SET survives on top of the new
value. An increment Redis would refuse at its turn in that order is skipped (overflow,
INCRBY of a float): one rule with hashes' HINCRBY*.

A plain string is the tuple `(value, hlc, origin)` (lean: DESIGN §7). It becomes a
`CounterStr` only when increments must be kept apart from the base value, i.e. when a
concurrent SET may still arrive. A solo replica (Keyspace.solo) applies every op as stable,
so INCR simply writes the new total as a register value.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..atoms import slot_maker, tracked, untracked
from ..keyspace import SET_KIND, STRING, Db, Entry, Keyspace, register_effect
from ..op import Ctx, Effect
from . import codes
from .counter_reg import CounterReg, Val
from .numbers import Delta, incr_value
from .schema import BYTES, DELTA, INT64, INT64_MAX, INT64_MIN, fixed, one_of, optional

_TTL_CLEAR = codes.TTL_CLEAR
# Increments a lean counter keeps before its second one and on (CounterStr docstring): a
# key incremented that many times before GC folds it takes the full form.
LEAN_MAX = 8


class CounterStr(Entry):
    """A string whose register or counter state does not fit a plain tuple: concurrent
    writes kept until something observes the loser, or increments kept apart from the
    writes so that a concurrent SET removes only those it observed.

    Lean form (`of_incr`, `of_tuple_incr`): up to LEAN_MAX increments, in stamp
    order, on top of nothing or of one register write `_b` (a plain string's tuple, older
    than the increments): the INCRs of a key on a replica with peers until GC folds them.
    The last increment's stamp is the entry's type stamp (`thlc`, `torigin`) and its delta
    `_d`; the ones before it are `_e`, a flat tuple (hlc, origin, delta, hlc, ...). There
    is no register (`_reg` None) until an op the lean form cannot hold needs one (`reg`:
    a write, a removal, an increment older than the last, one past LEAN_MAX).
    `_v` is the value those increments fold to (in stamp order, a refused one skipped, as
    CounterReg.recompute folds them), kept as each joins: `value` reads it. Folding them
    again at each read cost a few hundred ns per INCR of a counter incremented since GC
    (every INCR of a hot counter; bench/RESULTS.md, 2026-12-07 morning).
    The lean object holds atoms only, so the collector never tracks it: the full form was
    five or six objects (the entry, its CounterReg, two lists, the contribution and the
    write), every one tracked until the GC pass folded it, and the young collections their
    allocations brought cost an INCR with peers ~1 µs (bench/RESULTS.md). The lean form is
    the same state: every answer equals the full form's."""

    __slots__ = ("_reg", "_d", "_b", "_e", "_v")
    TYPE = STRING
    STATE_TAG = b"counter"

    def __init__(self) -> None:
        super().__init__()
        self._reg: CounterReg | None = CounterReg([], [])
        self._d: Delta = 0
        self._b: Val | None = None
        self._e: tuple[Any, ...] = ()
        self._v: bytes | None = None  # the lean form's value (class docstring)

    @classmethod
    def of_incr(cls, delta: Delta, ctx: Ctx) -> CounterStr:
        """`CounterStr()` then `incr(delta, ctx)`, in the lean form (class docstring)."""
        # atoms only until _unlean: made untracked (crdtredis/atoms.py)
        return LEAN_MAKER.make7(None, delta, None, (), incr_value(None, delta), ctx.hlc, ctx.origin)  # type: ignore[no-any-return]

    @classmethod
    def of_tuple_incr(cls, t: Any, delta: Delta, ctx: Ctx) -> CounterStr:
        """`from_tuple(t)` then `incr(delta, ctx)`, without the general path: an INCR on
        a plain string (a counter GC folded) on a replica with peers. The lean form when
        the increment is the newer (always, for a local INCR; class docstring)."""
        h, o = ctx.hlc, ctx.origin
        if h > t[1] or (h == t[1] and o > t[2]):
            nv = incr_value(t[0], delta)
            # A plain string's (value, hlc, origin) is shared (immutable); atoms only until
            # _unlean: made untracked (crdtredis/atoms.py).
            return LEAN_MAKER.make7(None, delta, untracked(t), (), t[0] if nv is None else nv, h, o)  # type: ignore[no-any-return]
        c = cls.__new__(cls)
        c._b = None
        c._e = ()
        c._reg = CounterReg.of_val_incr((t[0], t[1], t[2]), (h, o, delta))
        c._d = 0
        c._v = None
        c.thlc, c.torigin = t[1], t[2]
        return c

    @property
    def reg(self) -> CounterReg:
        r = self._reg
        return self._unlean() if r is None else r

    def _unlean(self) -> CounterReg:
        """The full form of a lean one: its register, holding the lean increments."""
        tracked(self)  # a lean one may be untracked: it is about to hold a container
        b = self._b
        last = (self.thlc, self.torigin, self._d)
        if self._e:
            r = self._reg = CounterReg([] if b is None else [b], [*self._lean_contrib(), last])
            self._e = ()
        elif b is None:
            r = self._reg = CounterReg.of_incr(last)
        else:
            r = self._reg = CounterReg.of_val_incr(b, last)
        self._b = None
        self._d = 0
        self._v = None
        return r

    def _lean_contrib(self) -> list[tuple[Any, Any, Any]]:
        """The lean form's increments before its last, in stamp order."""
        e = self._e
        return [(e[i], e[i + 1], e[i + 2]) for i in range(0, len(e), 3)]

    def touch(self, ctx: Ctx) -> None:
        if self._reg is None:
            self._unlean()  # the lean increment's stamp is the one touch may change
        super().touch(ctx)

    @classmethod
    def from_tuple(cls, t: tuple[Any, ...]) -> CounterStr:
        c = cls()
        c._reg = CounterReg([(t[0], t[1], t[2])], [])
        c.thlc, c.torigin = t[1], t[2]
        return c

    @property
    def value(self) -> bytes:
        r = self._reg
        if r is None:
            v = self._v  # folded as each increment joined (class docstring)
            return b"" if v is None else v
        return r.value

    @property
    def regs(self) -> list[Val]:
        return self.reg.vals

    def set(self, value: bytes, ctx: Ctx) -> None:
        self.reg.write((value, ctx.hlc, ctx.origin), ctx)
        Entry.touch(self, ctx)  # the register exists now

    def incr(self, delta: Delta, ctx: Ctx) -> None:
        # Hot for a counter many replicas increment (a healing replica merges a partition's
        # worth into one key): the register and Entry.touch inline.
        r = self._reg
        h, o = ctx.hlc, ctx.origin
        if r is None:
            if (h > self.thlc or (h == self.thlc and o > self.torigin)) and len(self._e) < 3 * (LEAN_MAX - 1):
                # Stays lean: the last increment joins the earlier ones (atoms only, untracked).
                self._e = untracked(self._e + (self.thlc, self.torigin, self._d))
                self._d = delta
                nv = incr_value(self._v, delta)
                if nv is not None:  # refused: skipped, as CounterReg.recompute skips it
                    self._v = nv
                self.thlc = h
                self.torigin = o
                return
            r = self._unlean()
        r.incr((h, o, delta))
        if h > self.thlc or (h == self.thlc and o > self.torigin):
            self.thlc = h
            self.torigin = o

    def remove_observed(self, ctx: Ctx) -> None:
        self.reg.remove_observed(ctx)

    def is_empty(self) -> bool:
        return self._reg is not None and self._reg.empty()

    def winner_stamp(self) -> tuple[int, str] | None:
        if self._reg is None:
            b = self._b
            return None if b is None else (b[1], b[2])  # the register write, if any
        w = self._reg.winner()
        return None if w is None else (w[1], w[2])

    def state(self) -> Any:
        if self._reg is None:
            b = self._b
            return ([] if b is None else [b], self.thlc, self.torigin,
                    [*self._lean_contrib(), (self.thlc, self.torigin, self._d)])
        r = self._reg
        return (sorted(r.vals, key=lambda v: (v[1], v[2])), self.thlc, self.torigin,
                [(h, o, d) for h, o, d in r.contrib])

    @classmethod
    def from_state(cls, s: Any) -> CounterStr:
        c = cls()
        contrib = s[3]
        if isinstance(contrib, dict):
            # Format of earlier versions: {origin: [(hlc, delta), ...]}.
            contrib = [(h, o, d) for o, ds in contrib.items() for h, d in ds]
        c._reg = CounterReg([(v, h, o) for v, h, o in s[0]], sorted((h, o, d) for h, o, d in contrib))
        c.thlc, c.torigin = s[1], s[2]
        return c

    def fold_if_stable(self, stable: Callable[[int, str], bool]) -> tuple[Any, ...] | None:
        """Once every register write and increment is causally stable, any future write
        observes them all, so the plain register form loses nothing. The tuple keeps the
        winning write's stamp: a TTL written by that SET stays tied to it (ExpiryReg)."""
        r = self._reg
        if r is None:
            # The lean form, every counter an INCR with peers made, which each GC pass then
            # visits: stable_tuple's and `value`'s lean cases written out here (their calls
            # were ~0.4 µs of the ~1.2 of each visit).
            h = self.thlc
            o = self.torigin
            b = self._b
            if h and not stable(h, o) or b is not None and not stable(b[1], b[2]):
                return None
            e = self._e
            for i in range(0, len(e), 3):
                if not stable(e[i], e[i + 1]):
                    return None
            v = self._v
            if v is None:
                v = b""
            return (v, h, o) if b is None else (v, b[1], b[2])
        if r.empty() or not r.all_stable(stable):
            return None
        w = r.winner()
        h = self.thlc
        if h and (w is None or w[1] != h or w[2] != self.torigin) and not stable(h, self.torigin):
            # The entry's type stamp may be newer than its writes (a removal here kept it:
            # Keyspace._bury_string) and not stable. As the stamp of a tuple of increments
            # alone, it would outrank a concurrent write in flight that observed the
            # increments but not that stamp; left behind for the winner's older stamp, it
            # would no longer outrank a concurrent write of another type, here alone. So
            # fold only once it is stable too.
            return None
        return self.stable_tuple()

    def stable_tuple(self) -> tuple[Any, ...]:
        w = self._b if self._reg is None else self._reg.winner()
        if w is None:
            return (self.value, self.thlc, self.torigin)
        return (self.value, w[1], w[2])


# What makes a lean CounterStr in one call (of_incr, of_tuple_incr, keyspace_batch's INCR
# with peers), instead of object.__new__ and seven attribute stores (atoms.py slot_maker).
# The slots in make7's argument order:
LEAN_SLOTS = ("_reg", "_d", "_b", "_e", "_v", "thlc", "torigin")
LEAN_MAKER = slot_maker(CounterStr, LEAN_SLOTS)


def _is_str(e: Any) -> bool:
    """Any string entry: a plain tuple or an Entry of TYPE string (CounterStr, and the bit
    and HyperLogLog strings of crdt/string_bits.py)."""
    return type(e) is tuple or e.TYPE == STRING


def _string_slot(db: Db, key: bytes) -> tuple[Any, bool]:
    """(current string entry or None, whether it is the visible one)."""
    e = db.data.get(key)
    if e is not None and _is_str(e):
        return e, True
    hidden = db.shadow.get(key) if db.shadow else None
    if hidden:
        return hidden.get(STRING), False
    return None, e is None


def _store_string(ks: Keyspace, db: Db, key: bytes, s: Any, visible: bool) -> None:
    if visible:
        db.data[key] = s
        hidden = db.shadow.get(key) if db.shadow else None
        if hidden is not None and hidden.get(STRING) is not s and STRING in hidden:
            # `s` was made from the hidden string (_string_slot found no visible one), so it
            # replaces it: a key holds one entry per type, or the stale one would later
            # outrank it (settle) at this replica alone.
            del hidden[STRING]
            if not hidden:
                del db.shadow[key]
    else:
        db.shadow.setdefault(key, {})[STRING] = s
    ks.settle(db, key)


def apply_set(ks: Keyspace, db: Db, eff: Effect, ctx: Ctx) -> None:
    key = eff[2]
    data = db.data
    e = data.get(key)
    mode = eff[4]
    # `ctx.observed(e[1], e[2])` inlined: this is the hottest write (DESIGN §7).
    if (e is None or e.__class__ is tuple and (
            e[1] < ctx.hlc if e[2] == ctx.origin else ctx.deps.get(e[2], 0) >= e[1])) \
            and not (db.shadow and key in db.shadow):
        h = ctx.hlc
        if ks.solo and mode == _TTL_CLEAR:
            # Solo and no TTL: stable at once, so the coarse stamp (keyspace module
            # docstring); `ks.coarse` inlined for the second it returned last.
            h = ks.coarse_last if ks.coarse_lo <= h < ks.coarse_hi else ks.coarse(h)
        data[key] = untracked((eff[3], h, ctx.origin))
    else:
        _set_slow(ks, db, key, eff[3], ctx)
    if mode == _TTL_CLEAR:
        if db.expires and key in db.expires:
            ks.clear_expiry_observed(db, key, ctx)
    elif mode == codes.TTL_SET:
        # The TTL belongs to this write's value (ExpiryReg: SET-kind).
        ks.write_expiry(db, key, ctx, eff[5], SET_KIND)
    elif db.expires and key in db.expires:
        ks.refresh_expiry(db, key)  # the value shown changed: so may its TTL
    if db.watched or db.waiters:
        db.touch(key)


def _set_slow(ks: Keyspace, db: Db, key: bytes, value: bytes, ctx: Ctx) -> None:
    # SET overwrites a key of any type: remove the other types' content it observed.
    e = db.data.get(key)
    if e is not None and not _is_str(e):
        e.remove_observed(ctx)
    for h in list(db.shadow.get(key, {}).values()):
        if not _is_str(h):
            h.remove_observed(ctx)
    s, visible = _string_slot(db, key)
    if s is None:
        ns: Any = (value, ctx.hlc, ctx.origin)
    elif type(s) is tuple:
        if ctx.observed(s[1], s[2]):
            ns = (value, ctx.hlc, ctx.origin)
        else:
            # Concurrent writes: keep both until something observes the loser.
            c = CounterStr.from_tuple(s)
            c.set(value, ctx)
            ns = c
    elif type(s) is CounterStr:
        s.set(value, ctx)
        ns = s
        if not s.reg.contrib and len(s.reg.vals) == 1 and ks.solo:
            ns = s.stable_tuple()
    else:
        ns = s.set(value, ctx)  # another string entry class: it returns its new form
    cur = db.data.get(key)
    if cur is None or _is_str(cur) or cur.is_empty():
        visible = True
        if cur is not None and not _is_str(cur):
            ks.drop_empty(db, key, cur)  # a list keeps its tombstones hidden (Entry.retain)
    _store_string(ks, db, key, ns, visible)


def apply_incr(ks: Keyspace, db: Db, eff: Effect, ctx: Ctx) -> None:
    key = eff[2]
    delta = eff[3]
    data = db.data
    e = data.get(key)
    if ks.solo and not (db.shadow and key in db.shadow) and (e is None or type(e) is tuple):
        # Causally stable at once: fold the increment into the register. An existing value
        # keeps its stamp, so a TTL its SET wrote stays tied to it (ExpiryReg).
        nv = incr_value(None if e is None else e[0], delta)
        if nv is not None:
            data[key] = untracked((nv, ctx.hlc, ctx.origin) if e is None else (nv, e[1], e[2]))
        if db.watched or db.waiters:
            db.touch(key)
        return
    if (e is None or type(e) is CounterStr or type(e) is tuple) and not (db.shadow and key in db.shadow):
        # A new key (the lean one-increment form), a counter in place, or a plain string
        # (one GC folded) becoming a counter: settled as _store_string would (an increment
        # leaves a CounterStr non-empty).
        if e is None:
            data[key] = CounterStr.of_incr(delta, ctx)
        elif type(e) is CounterStr:
            e.incr(delta, ctx)
        else:
            data[key] = CounterStr.of_tuple_incr(e, delta, ctx)
        if db.expires and key in db.expires:
            ks.refresh_expiry(db, key)
        if db.watched or db.waiters:
            db.touch(key)
        return
    s, visible = _string_slot(db, key)
    c: Any
    if s is None:
        c = CounterStr()
    elif type(s) is tuple:
        c = CounterStr.from_tuple(s)
    else:
        c = s
    if type(c) is CounterStr:
        c.incr(delta, ctx)
    else:  # a string with an overlay (APPEND, bits): in it, in stamp order (string_bits.py)
        c.incr(delta, ctx, ks.solo)
    cur = data.get(key)
    if cur is None or cur is s or type(cur) is tuple:
        visible = True
    _store_string(ks, db, key, c, visible)


def string_value(e: Any) -> bytes:
    """Visible bytes of a string entry (tuple, or any string Entry's `value`)."""
    if type(e) is tuple:
        return e[0]  # type: ignore[no-any-return]
    return e.value  # type: ignore[no-any-return]


def _plain_set(eff: Effect) -> bool:
    # The hot shape: (SET, db, key, value, TTL_CLEAR|TTL_KEEP, None), checked in one go.
    return len(eff) == 6 and type(eff[3]) is bytes and eff[5] is None and type(eff[4]) is int \
        and 0 <= eff[4] <= 2


register_effect(codes.SET, apply_set, STRING,
                check=fixed(BYTES, one_of(codes.TTL_CLEAR, codes.TTL_KEEP, codes.TTL_SET), optional(INT64),
                            fast=_plain_set))
def _int_incr(eff: Effect) -> bool:
    # The hot shape: (INCR, db, key, an int64 delta), checked in one go.
    return len(eff) == 4 and type(eff[3]) is int and INT64_MIN <= eff[3] <= INT64_MAX


register_effect(codes.INCR, apply_incr, STRING, check=fixed(DELTA, fast=_int_incr))
