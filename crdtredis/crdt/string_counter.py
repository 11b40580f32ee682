"""Strings: an LWW register with per-origin counter contributions on top.

Rule: concurrent SETs resolve by the highest (hlc, origin); concurrent increments all add
up; a SET (or DEL) resets only the increments it observed, so an increment concurrent
with a SET survives on top of the new value.

A plain string is the tuple `(value, hlc, origin)` (lean: DESIGN §7). It becomes a
`CounterStr` only when increments must be kept apart from the base value, i.e. when a
peer may still send a concurrent SET. With no peers every op is causally stable at once,
so INCR simply writes the new total as a register value.
"""
from __future__ import annotations

from collections.abc import Callable
from decimal import Context, Decimal, InvalidOperation
from typing import Any

from ..keyspace import Db, Entry, Keyspace, register_effect
from ..op import Ctx, Effect
from . import codes

Delta = int | bytes

# Enough precision that sums of long-double-sized operands are exact before rounding to
# the 17 decimals Redis prints (ld2string LD_STR_HUMAN): a long double spans 10^-4951 ..
# 10^4932, so an exact sum needs under 10^4 digits. Every operation names this context;
# the thread's default (28 digits) would round 1e30 + 1.
_DEC = Context(prec=20000, Emax=10**6, Emin=-(10**6))
_Q17 = Decimal("1e-17")
# strtold's range (x86-64 80-bit long double): beyond it Redis's string2ld sees ERANGE.
_LDBL_MAX = Decimal("1.18973149535723176502e+4932")
_LDBL_UNDERFLOW = Decimal("1.8225997659412373e-4951")  # half the smallest denormal
# string2ld copies into a MAX_LONG_DOUBLE_CHARS (5k) buffer and rejects what does not fit.
_MAX_LD_CHARS = 5 * 1024
# Largest exponent of a delta: two long doubles' sum stays below 10^4933.
_MAX_DELTA_EXP = 4940


def parse_int(b: bytes) -> int | None:
    """Redis string2ll: optional '-', digits, no leading zeros/space/'+', fits int64."""
    # Hot (every INCR parses twice): a non-negative number below 10^18 in one test.
    # bytes.isdigit() accepts ASCII digits only.
    if b.isdigit() and len(b) < 19 and (b[0] != 48 or len(b) == 1):
        return int(b)
    n = len(b)
    if n == 0 or n > 20:
        return None
    if b == b"0":
        return 0
    s = b[1:] if b[:1] == b"-" else b
    if not s or not s.isdigit() or s[:1] == b"0" or not s.isascii():
        return None
    v = int(b)
    if v < -(1 << 63) or v > (1 << 63) - 1:
        return None
    return v


def parse_decimal(b: bytes) -> Decimal | None:
    """Redis string2ld for INCRBYFLOAT: strtold syntax, no surrounding space, not NaN,
    shorter than 5k, and inside the long double range (ERANGE overflow or underflow to
    zero is rejected; "inf" itself is accepted, as strtold reads it without ERANGE)."""
    if len(b) >= _MAX_LD_CHARS:
        return None
    d = _to_decimal(b)
    if d is not None and d.is_finite() and d and not (_LDBL_UNDERFLOW <= abs(d) <= _LDBL_MAX):
        return None
    return d


def _to_decimal(b: bytes) -> Decimal | None:
    """strtold syntax without the range limits (deltas shipped by an origin that checked)."""
    if not b or b[:1].isspace() or b[-1:].isspace():
        return None
    try:
        s = b.decode("ascii")
    except UnicodeDecodeError:
        return None
    low = s.lower().lstrip("+-")
    if low in ("inf", "infinity"):
        return Decimal("-Infinity") if s.startswith("-") else Decimal("Infinity")
    if low.startswith("nan") or "_" in s:
        return None
    if low.startswith("0x"):
        try:
            return Decimal(float.fromhex(s))
        except (ValueError, OverflowError):
            return None
    try:
        d = Decimal(s)
    except InvalidOperation:
        return None
    if not d.is_finite() or d.adjusted() > _MAX_DELTA_EXP:
        # Nothing an origin ships is that large; refusing it keeps apply from overflowing.
        return None
    return d


def format_decimal(d: Decimal) -> bytes:
    """Redis ld2string(LD_STR_HUMAN): "%.17Lf", trailing zeros and dot removed, -0 -> 0."""
    s = format(d.quantize(_Q17, context=_DEC), "f")
    if "." in s:
        s = s.rstrip("0").rstrip(".")
    if s in ("-0", ""):
        s = "0"
    return s.encode()


def add_delta(value: bytes | None, delta: Delta) -> bytes | None:
    """value + delta as Redis would print it, or None when value is not numeric."""
    if type(delta) is int:
        if value is None:
            return str(delta).encode()
        iv = parse_int(value)
        if iv is not None:
            return str(iv + delta).encode()
        d = parse_decimal(value)
        if d is None or not d.is_finite():
            return None
        return format_decimal(_DEC.add(d, delta))
    dd = _to_decimal(delta)  # type: ignore[arg-type]
    if dd is None or not dd.is_finite():
        return value
    if value is None:
        return format_decimal(dd)
    d = parse_decimal(value)
    if d is None or not d.is_finite():
        # "inf" is a valid float to Redis, but nothing finite can be added to it.
        return None
    return format_decimal(_DEC.add(d, dd))


class CounterStr(Entry):
    """A string as a multi-value register plus counter contributions.

    `regs` holds every register write (SET, APPEND...) that no later overwrite or delete has
    observed: usually one, several only while writes were concurrent. The visible base is
    the one with the highest (hlc, origin). A single-slot LWW register is not enough once
    deletes only remove what they observed: SET@5 ‖ SET@10 then a DEL that saw only SET@10
    would leave "SET@5" at a replica that applied it last and nothing at one that applied it
    first. Keeping the concurrent loser until something observes it makes every delivery
    order agree.

    Increments are kept per origin until a register write or delete observes them; their
    exact sum is maintained incrementally (INCR is O(1)) and rounded once for display.
    """

    __slots__ = ("regs", "contrib", "value", "_isum", "_dsum")
    TYPE = b"string"
    STATE_TAG = b"counter"

    def __init__(self) -> None:
        super().__init__()
        self.regs: list[tuple[bytes, int, str]] = []
        # origin -> [(hlc, delta)], in the origin's order.
        self.contrib: dict[str, list[tuple[int, Delta]]] = {}
        self.value: bytes = b""
        self._isum = 0  # exact sum of integer deltas
        self._dsum: Decimal | None = None  # exact sum of INCRBYFLOAT deltas, if any

    @classmethod
    def from_tuple(cls, t: tuple[Any, ...]) -> CounterStr:
        c = cls()
        c.regs = [(t[0], t[1], t[2])]
        c.thlc, c.torigin = t[1], t[2]
        c.value = t[0]
        return c

    @property
    def base(self) -> bytes | None:
        if not self.regs:
            return None
        if len(self.regs) == 1:
            return self.regs[0][0]
        return max(self.regs, key=_reg_stamp)[0]

    def _resum(self) -> None:
        isum = 0
        dsum: Decimal | None = None
        for deltas in self.contrib.values():
            for _h, d in deltas:
                if type(d) is int:
                    isum += d
                else:
                    dd = _to_decimal(d)  # type: ignore[arg-type]
                    if dd is not None and dd.is_finite():
                        dsum = dd if dsum is None else _DEC.add(dsum, dd)
        self._isum, self._dsum = isum, dsum

    def recompute(self) -> None:
        # One exact sum, rounded once: rounding after each contribution (to the 17 decimals
        # Redis prints) made the result depend on the order contributions arrived in.
        base = self.base
        if not self.contrib:
            self.value = base if base is not None else b"0"
            return
        total = 0
        dec: Decimal | None = None
        if base is not None:
            iv = parse_int(base)
            if iv is not None:
                total = iv
            else:
                dec = parse_decimal(base)
                if dec is None or not dec.is_finite():
                    # A non-numeric base hides the increments (docs/semantics.md).
                    self.value = base
                    return
        total_i = total + self._isum if dec is None else 0
        if dec is None and self._dsum is None:
            self.value = str(total_i).encode()
            return
        acc = dec if dec is not None else Decimal(total_i)
        if dec is not None:
            acc = _DEC.add(acc, self._isum)
        if self._dsum is not None:
            acc = _DEC.add(acc, self._dsum)
        self.value = format_decimal(acc)

    def set(self, value: bytes, ctx: Ctx) -> None:
        obs = ctx.observed
        self.regs = [r for r in self.regs if not obs(r[1], r[2])]
        self.regs.append((value, ctx.hlc, ctx.origin))
        if self._reset_observed(ctx):
            self._resum()
        self.touch(ctx)
        self.recompute()

    def incr(self, delta: Delta, ctx: Ctx) -> None:
        self.contrib.setdefault(ctx.origin, []).append((ctx.hlc, delta))
        if type(delta) is int:
            self._isum += delta
        else:
            dd = _to_decimal(delta)  # type: ignore[arg-type]
            if dd is not None and dd.is_finite():
                self._dsum = dd if self._dsum is None else _DEC.add(self._dsum, dd)
        self.touch(ctx)
        self.recompute()

    def _reset_observed(self, ctx: Ctx) -> bool:
        """Drop the increments `ctx` observed; True when any was dropped."""
        obs = ctx.observed
        changed = False
        for o in list(self.contrib):
            ds = self.contrib[o]
            kept = [(h, d) for h, d in ds if not obs(h, o)]
            if len(kept) != len(ds):
                changed = True
                if kept:
                    self.contrib[o] = kept
                else:
                    del self.contrib[o]
        return changed

    def remove_observed(self, ctx: Ctx) -> None:
        if self._reset_observed(ctx):
            self._resum()
        obs = ctx.observed
        self.regs = [r for r in self.regs if not obs(r[1], r[2])]
        self.recompute()

    def is_empty(self) -> bool:
        return not self.regs and not self.contrib

    def state(self) -> Any:
        return (
            sorted(self.regs, key=_reg_stamp), self.thlc, self.torigin,
            {o: [(h, d) for h, d in ds] for o, ds in sorted(self.contrib.items())},
        )

    @classmethod
    def from_state(cls, s: Any) -> CounterStr:
        c = cls()
        c.regs = [(v, h, o) for v, h, o in s[0]]
        c.thlc, c.torigin = s[1], s[2]
        c.contrib = {o: [(h, d) for h, d in ds] for o, ds in s[3].items()}
        c._resum()
        c.recompute()
        return c

    def fold_if_stable(self, stable: Callable[[int, str], bool]) -> tuple[Any, ...] | None:
        """Once every register write and increment is causally stable, any future write
        observes them all, so the plain register form loses nothing."""
        for _v, h, o in self.regs:
            if not stable(h, o):
                return None
        for o, ds in self.contrib.items():
            if ds and not stable(ds[-1][0], o):
                return None
        if self.is_empty():
            return None
        return self.stable_tuple()

    def stable_tuple(self) -> tuple[Any, ...]:
        """The plain-register form, once no concurrent op can arrive (see Keyspace.gc)."""
        return (self.value, self.thlc, self.torigin)


def _reg_stamp(r: tuple[bytes, int, str]) -> tuple[int, str]:
    return (r[1], r[2])


def _string_slot(db: Db, key: bytes) -> tuple[Any, bool]:
    """(current string entry or None, whether it is the visible one)."""
    e = db.data.get(key)
    if e is not None and (type(e) is tuple or type(e) is CounterStr):
        return e, True
    hidden = db.shadow.get(key) if db.shadow else None
    if hidden:
        return hidden.get(b"string"), False
    return None, e is None


def _store_string(ks: Keyspace, db: Db, key: bytes, s: Any, visible: bool) -> None:
    if visible:
        db.data[key] = s
    else:
        db.shadow.setdefault(key, {})[b"string"] = s
    ks.settle(db, key)


def apply_set(ks: Keyspace, db: Db, eff: Effect, ctx: Ctx) -> None:
    key = eff[2]
    data = db.data
    e = data.get(key)
    shadowed = bool(db.shadow) and key in db.shadow
    if type(e) is tuple and not shadowed and ctx.observed(e[1], e[2]):
        data[key] = (eff[3], ctx.hlc, ctx.origin)
    elif e is None and not shadowed:
        data[key] = (eff[3], ctx.hlc, ctx.origin)
    else:
        _set_slow(ks, db, key, eff[3], ctx)
    mode = eff[4]
    if mode == codes.TTL_CLEAR:
        if db.expires:
            ks.clear_expiry_observed(db, key, ctx)
    elif mode == codes.TTL_SET:
        ks.write_expiry(db, key, ctx, eff[5])
    if db.watched or db.waiters:
        db.touch(key)


def _set_slow(ks: Keyspace, db: Db, key: bytes, value: bytes, ctx: Ctx) -> None:
    # SET overwrites a key of any type: remove the other types' content it observed.
    e = db.data.get(key)
    if e is not None and type(e) is not tuple and type(e) is not CounterStr:
        e.remove_observed(ctx)
    for h in list(db.shadow.get(key, {}).values()):
        if type(h) is not tuple and type(h) is not CounterStr:
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
    else:
        s.set(value, ctx)
        ns = s
        if not s.contrib and len(s.regs) == 1 and not ks.has_peers:
            ns = s.stable_tuple()
    cur = db.data.get(key)
    if cur is None or type(cur) is tuple or type(cur) is CounterStr or cur.is_empty():
        visible = True
        if cur is not None and type(cur) is not tuple and type(cur) is not CounterStr:
            ks.drop_empty(db, key, cur)  # a list keeps its tombstones hidden (Entry.retain)
    _store_string(ks, db, key, ns, visible)


def apply_incr(ks: Keyspace, db: Db, eff: Effect, ctx: Ctx) -> None:
    key = eff[2]
    delta = eff[3]
    data = db.data
    e = data.get(key)
    if not ks.has_peers and not (db.shadow and key in db.shadow) and (e is None or type(e) is tuple):
        # Causally stable at once: fold the increment into the register.
        nv = add_delta(None if e is None else e[0], delta)
        if nv is not None:
            data[key] = (nv, ctx.hlc, ctx.origin)
        if db.watched or db.waiters:
            db.touch(key)
        return
    s, visible = _string_slot(db, key)
    if s is None:
        c = CounterStr()
    elif type(s) is tuple:
        c = CounterStr.from_tuple(s)
    else:
        c = s
    c.incr(delta, ctx)
    cur = data.get(key)
    if cur is None or cur is s or type(cur) is tuple:
        visible = True
    _store_string(ks, db, key, c, visible)


def string_value(e: Any) -> bytes:
    """Visible bytes of a string entry (tuple or CounterStr)."""
    if type(e) is tuple:
        return e[0]  # type: ignore[no-any-return]
    return e.value  # type: ignore[no-any-return]


register_effect(codes.SET, apply_set)
register_effect(codes.INCR, apply_incr)
