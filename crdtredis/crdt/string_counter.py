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

from ..keyspace import SET_KIND, STRING, Db, Entry, Keyspace, register_effect
from ..op import Ctx, Effect
from . import codes
from .counter_reg import CounterReg, Val
from .numbers import incr_value
from .schema import BYTES, DELTA, INT64, fixed, one_of, optional

_TTL_CLEAR = codes.TTL_CLEAR


class CounterStr(Entry):
    """A string whose register or counter state does not fit a plain tuple: concurrent
    writes kept until something observes the loser, or increments kept apart from the
    writes so that a concurrent SET removes only those it observed."""

    __slots__ = ("reg",)
    TYPE = STRING
    STATE_TAG = b"counter"

    def __init__(self) -> None:
        super().__init__()
        self.reg = CounterReg([], [])

    @classmethod
    def of_incr(cls, delta: int | bytes, ctx: Ctx) -> CounterStr:
        """`CounterStr()` then `incr(delta, ctx)` (CounterReg.of_incr)."""
        c = cls.__new__(cls)
        c.reg = CounterReg.of_incr((ctx.hlc, ctx.origin, delta))
        c.thlc, c.torigin = ctx.hlc, ctx.origin
        return c

    @classmethod
    def from_tuple(cls, t: tuple[Any, ...]) -> CounterStr:
        c = cls()
        c.reg = CounterReg([(t[0], t[1], t[2])], [])
        c.thlc, c.torigin = t[1], t[2]
        return c

    @property
    def value(self) -> bytes:
        return self.reg.value

    @property
    def regs(self) -> list[Val]:
        return self.reg.vals

    def set(self, value: bytes, ctx: Ctx) -> None:
        self.reg.write((value, ctx.hlc, ctx.origin), ctx)
        self.touch(ctx)

    def incr(self, delta: int | bytes, ctx: Ctx) -> None:
        self.reg.incr((ctx.hlc, ctx.origin, delta))
        self.touch(ctx)

    def remove_observed(self, ctx: Ctx) -> None:
        self.reg.remove_observed(ctx)

    def is_empty(self) -> bool:
        return self.reg.empty()

    def winner_stamp(self) -> tuple[int, str] | None:
        w = self.reg.winner()
        return None if w is None else (w[1], w[2])

    def state(self) -> Any:
        r = self.reg
        return (sorted(r.vals, key=lambda v: (v[1], v[2])), self.thlc, self.torigin,
                [(h, o, d) for h, o, d in r.contrib])

    @classmethod
    def from_state(cls, s: Any) -> CounterStr:
        c = cls()
        contrib = s[3]
        if isinstance(contrib, dict):
            # Format of earlier versions: {origin: [(hlc, delta), ...]}.
            contrib = [(h, o, d) for o, ds in contrib.items() for h, d in ds]
        c.reg = CounterReg([(v, h, o) for v, h, o in s[0]], sorted((h, o, d) for h, o, d in contrib))
        c.thlc, c.torigin = s[1], s[2]
        return c

    def fold_if_stable(self, stable: Callable[[int, str], bool]) -> tuple[Any, ...] | None:
        """Once every register write and increment is causally stable, any future write
        observes them all, so the plain register form loses nothing. The tuple keeps the
        winning write's stamp: a TTL written by that SET stays tied to it (ExpiryReg)."""
        r = self.reg
        if r.empty():
            return None
        for h, o in r.stamps():
            if h and not stable(h, o):
                return None
        return self.stable_tuple()

    def stable_tuple(self) -> tuple[Any, ...]:
        w = self.reg.winner()
        if w is None:
            return (self.reg.value, self.thlc, self.torigin)
        return (self.reg.value, w[1], w[2])


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
        data[key] = (eff[3], h, ctx.origin)
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
            data[key] = (nv, ctx.hlc, ctx.origin) if e is None else (nv, e[1], e[2])
        if db.watched or db.waiters:
            db.touch(key)
        return
    s, visible = _string_slot(db, key)
    c: Any
    if s is None:
        if e is None:  # a new key: nothing shadowed either (_string_slot)
            _store_string(ks, db, key, CounterStr.of_incr(delta, ctx), True)
            return
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
register_effect(codes.INCR, apply_incr, STRING, check=fixed(DELTA))
