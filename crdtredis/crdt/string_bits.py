"""Strings written by bit, HyperLogLog and APPEND commands: a string register plus an
overlay of partial writes that replay, in stamp order, on top of the register's value.

Rule: a partial write (APPEND, SETBIT, BITFIELD SET/INCRBY, PFADD, PFMERGE, PFCOUNT's cached
cardinality, PFDEBUG's conversion to dense; and INCR* once the string has an overlay)
changes only what it names, so concurrent partial writes all survive: concurrent APPENDs
both land, the lower (hlc, origin) stamp first; SETBITs of different bits both stay, the
same bit goes to the highest stamp, concurrent BITFIELD INCRBYs of one field add up (each
one applied with its own OVERFLOW rule at its turn), and concurrent PFADDs merge
register-wise (max), so no add is lost. A whole-value write (SET, SETRANGE, BITOP's
destination, DEL) removes the partial writes it observed, like a SET removes the
increments it observed (crdt/string_counter.py): a partial write concurrent with it stays,
on top of the new value (an APPEND concurrent with a SET appends to the SET's value).

Formally, for one key after any set of ops in any causal order, the value is the string
register's winning SET (none if there is no live write), then every live increment and
partial write, in stamp order, applied exactly as Redis applies that command, where a
write is live iff no whole-value write or remove observed it. Increments join the overlay
(an INCR after an APPEND it saw applies after it, as in Redis); a counter that never had
a partial write keeps them in its register (crdt/counter_reg.py), which is the same rule. A PFADD whose turn finds a value that is not a HyperLogLog (a concurrent SET
of other bytes won) is skipped, as a SET wins over a concurrent INCR of a non-number. The
value is thus a function of the set of ops, so replicas converge to identical bytes, and
with no concurrency (one replica, or causally ordered ops) it is the bytes Redis produces
for the same commands, the HLL's sparse/dense layout and cached cardinality included.

Memory and speed: the materialized value is kept in `buf`, a bytearray changed in place
by a partial write that is the newest by stamp (the usual case), recomputed only when a
lower-stamped concurrent write arrives late. An overlay write is kept even when a later one
rewrites the same bits: a concurrent write may fall between the two in the stamp order and
its effect can depend on the first (a PFADD on a missing value creates the HLL, on a
bitmap it is skipped). Once causally stable (GC, or at once on a solo
replica), the overlay folds into the value: `reg` None means `buf` is a stable base with
the stamp `wst` (the winning SET's, so a TTL that SET wrote stays tied to it).
"""
from __future__ import annotations

from bisect import insort
from collections.abc import Callable
from typing import Any

from ..atoms import untracked
from ..keyspace import CREATE, STRING, Db, Entry, Keyspace, register_effect
from ..op import Ctx, Effect
from . import codes, hll
from .counter_reg import CounterReg
from .hll_batch import add_many
from .numbers import incr_value
from .schema import BYTES, FLAG, INT64, NONNEG, Kind, fixed, ints, one_of
from .string_counter import CounterStr, _store_string, _string_slot

# Effect codes (range 80-89; persisted and replicated: never renumber).
BITW = 80  # (BITW, db, key, bitoffset, width, value)   write `width` bits (0: only extend)
BITINCR = 81  # (BITINCR, db, key, bitoffset, width, signed, delta, overflow)  BITFIELD INCRBY
PFADD = 82  # (PFADD, db, key, pairs, max_bytes)  pairs: 3 bytes per register update
PFCACHE = 83  # (PFCACHE, db, key)                  PFCOUNT stores the cardinality it computed
PFMERGE = 84  # (PFMERGE, db, key, registers, dense, max_bytes)  registers: 16384 bytes or b""
PFDENSE = 85  # (PFDENSE, db, key)                  PFDEBUG GETREG/TODENSE: convert to dense

OVERFLOW_WRAP, OVERFLOW_SAT, OVERFLOW_FAIL = 0, 1, 2
_APPEND = codes.APPEND
_INCR = codes.INCR
# A BITW value: up to 64 bits wide, so up to 2^64-1 (past int64: encoded as a big integer).
NONNEG_BIG = Kind("a non-negative integer", lambda v, _m: type(v) is int and 0 <= v < 1 << 64,
                  (0, 1, 255, (1 << 63) - 1, (1 << 64) - 1))

Op = tuple[int, str, Effect]  # (hlc, origin, effect): one live partial write


# ---- partial writes on a value (pure) --------------------------------------------------
def get_bits(v: bytes | bytearray, off: int, width: int) -> int:
    """Unsigned value of `width` bits at bit `off` (big-endian bit order, zero padded)."""
    first = off >> 3
    last = (off + width - 1) >> 3
    chunk = bytes(v[first:last + 1])
    n = last - first + 1
    if len(chunk) < n:
        chunk += bytes(n - len(chunk))
    shift = n * 8 - (off & 7) - width
    return (int.from_bytes(chunk, "big") >> shift) & ((1 << width) - 1)


def extend_to_bit(v: bytearray, bit: int) -> None:
    need = (bit >> 3) + 1
    if len(v) < need:
        v.extend(bytes(need - len(v)))


def set_bits(v: bytearray, off: int, width: int, value: int) -> None:
    extend_to_bit(v, off + width - 1)
    if width == 1:
        byte = off >> 3
        bit = 1 << (7 - (off & 7))
        if value & 1:
            v[byte] |= bit
        else:
            v[byte] &= ~bit & 0xFF
        return
    first = off >> 3
    last = (off + width - 1) >> 3
    n = last - first + 1
    shift = n * 8 - (off & 7) - width
    mask = ((1 << width) - 1) << shift
    chunk = int.from_bytes(v[first:last + 1], "big")
    chunk = (chunk & ~mask) | ((value << shift) & mask)
    v[first:last + 1] = chunk.to_bytes(n, "big")


def to_signed(u: int, width: int) -> int:
    return u - (1 << width) if u >> (width - 1) else u


def field_incr(old: int, delta: int, width: int, signed: bool, overflow: int) -> int | None:
    """Redis check{Signed,Unsigned}BitfieldOverflow: the new value of a field (as a signed
    or unsigned integer), or None when OVERFLOW FAIL refuses the change."""
    if signed:
        hi = (1 << (width - 1)) - 1
        lo = -hi - 1
    else:
        hi = (1 << width) - 1
        lo = 0
    s = old + delta
    if lo <= s <= hi:
        return s
    if overflow == OVERFLOW_FAIL:
        return None
    if overflow == OVERFLOW_SAT:
        return hi if s > hi else lo
    s &= (1 << width) - 1
    return to_signed(s, width) if signed else s


def unpack_pairs(pairs: bytes) -> list[tuple[int, int]]:
    out = []
    for i in range(0, len(pairs) - 2, 3):
        w = pairs[i] | pairs[i + 1] << 8 | pairs[i + 2] << 16
        out.append((w & hll.P_MASK, w >> hll.HLL_P))
    return out


def pack_pairs(pairs: list[tuple[int, int]]) -> bytes:
    out = bytearray()
    for idx, cnt in pairs:
        w = idx | cnt << hll.HLL_P
        out += bytes((w & 0xFF, (w >> 8) & 0xFF, w >> 16))
    return bytes(out)


def apply_partial(v: bytearray | None, eff: Effect) -> bytearray | None:
    """One partial write on the value `v` (None: no value), as Redis's command applies it.
    May change `v` in place; returns the value after it."""
    code = eff[0] & ~CREATE
    if code == _APPEND:
        if v is None:
            return bytearray(eff[3])
        v += eff[3]
        return v
    if code == _INCR:
        # Redis's INCR* at its turn; one Redis would refuse there is skipped (counter_reg.py).
        nv = incr_value(None if v is None else bytes(v), eff[3])
        return v if nv is None else bytearray(nv)
    if code == BITW:
        if v is None:
            v = bytearray()
        off, width = eff[3], eff[4]
        if width == 0:
            extend_to_bit(v, off)
        else:
            set_bits(v, off, width, eff[5])
        return v
    if code == BITINCR:
        if v is None:
            v = bytearray()
        off, width, signed, delta, overflow = eff[3:8]
        extend_to_bit(v, off + width - 1)
        old = get_bits(v, off, width)
        if signed:
            old = to_signed(old, width)
        new = field_incr(old, delta, width, bool(signed), overflow)
        if new is not None:
            set_bits(v, off, width, new & ((1 << width) - 1))
        return v
    if code == PFADD:
        if v is None:
            v = hll.new_sparse()
            hll.invalidate(v)
        elif not hll.is_valid(v):
            return v  # a concurrent SET of other bytes won (module docstring)
        if add_many(v, unpack_pairs(eff[3]), eff[4]) == 1:
            hll.invalidate(v)
        return v
    if code == PFMERGE:
        if v is None:
            v = hll.new_sparse()
        elif not hll.is_valid(v):
            return v
        regs, dense, max_bytes = eff[3], eff[4], eff[5]
        if dense and not hll.to_dense(v):
            return v
        if v[4] == hll.DENSE:
            hll.merge_dense(v, regs)
        else:
            add_many(v, [(i, r) for i, r in enumerate(regs) if r], max_bytes)
        hll.invalidate(v)
        return v
    if v is None or not hll.is_valid(v):
        return v
    if code == PFCACHE:
        if not hll.cache_valid(v):
            card = hll.count(v)
            if card is not None:
                hll.set_cached_card(v, card)
        return v
    if code == PFDENSE:
        hll.to_dense(v)
        return v
    raise ValueError(f"not a partial string write: {code}")


# ---- the entry -------------------------------------------------------------------------
class BitStr(Entry):
    """A string value with an overlay of partial writes (module docstring)."""

    __slots__ = ("reg", "ops", "buf", "wst")
    TYPE = STRING
    STATE_TAG = b"bits"

    def __init__(self) -> None:
        super().__init__()
        # None: `buf` is the stable base value (no live register writes to keep apart).
        self.reg: CounterReg | None = CounterReg([], [])
        self.ops: list[Op] = []
        self.buf: bytearray | None = None
        self.wst: tuple[int, str] = (0, "")

    @classmethod
    def from_string(cls, s: Any) -> BitStr:
        """From a plain tuple or a CounterStr (its register and increments carry over)."""
        b = cls()
        if type(s) is tuple:
            b.reg = CounterReg([(s[0], s[1], s[2])], [])
            b.thlc, b.torigin = s[1], s[2]
        elif s is not None:
            # The increments join the overlay, so that they and the partial writes replay
            # in one stamp order whatever order they arrived in (module docstring).
            b.reg = CounterReg(list(s.reg.vals), [])
            b.ops = [(h, o, (_INCR, 0, b"", d)) for h, o, d in s.reg.contrib]
            b.thlc, b.torigin = s.thlc, s.torigin
        b.recompute()
        return b

    # ---- reads -----------------------------------------------------------------------
    @property
    def value(self) -> bytes:
        return b"" if self.buf is None else bytes(self.buf)

    def view(self) -> bytearray:
        """The value without a copy (readers must not keep or change it)."""
        return bytearray() if self.buf is None else self.buf

    def _base(self) -> bytearray | None:
        r = self.reg
        if r is None:
            return self.buf
        if r.empty():
            return None
        return bytearray(r.value)

    def recompute(self) -> None:
        assert self.reg is not None
        v = self._base()
        for op in self.ops:
            v = apply_partial(v, op[2])
        self.buf = v

    def stamps(self) -> list[tuple[int, str]]:
        out = [] if self.reg is None else self.reg.stamps()
        out += [(h, o) for h, o, _e in self.ops]
        return out

    # ---- writes ----------------------------------------------------------------------
    def _unfold(self) -> CounterReg:
        """The register form of a stable base (needed once something may be concurrent)."""
        if self.reg is None:
            v = self.buf
            self.reg = CounterReg([] if v is None else [(bytes(v), *self.wst)], [])
        return self.reg

    def partial(self, eff: Effect, ctx: Ctx, solo: bool) -> None:
        """Apply one partial write (a BITW/BITINCR/PF* effect)."""
        self.touch(ctx)
        if solo:
            # Stable at once: fold into the base (every future op observes it).
            if self.reg is not None:
                # `buf` already holds the register's value with the overlay replayed.
                w = self.reg.winner()
                if w is not None:
                    self.wst = (w[1], w[2])
                self.reg = None
                self.ops = []
            self.buf = apply_partial(self.buf, eff)
            return
        self._unfold()
        h, o = ctx.hlc, ctx.origin
        ops = self.ops
        if not ops or (ops[-1][0], ops[-1][1]) < (h, o):
            ops.append((h, o, eff))
            self.buf = apply_partial(self.buf, eff)
            return
        insort(ops, (h, o, eff), key=lambda x: (x[0], x[1]))
        self.recompute()

    def set(self, value: bytes, ctx: Ctx) -> Any:
        """A whole-value write; returns the new form (a plain tuple once nothing it did
        not observe is left)."""
        obs = ctx.observed
        if all(not h or obs(h, o) for h, o in self.stamps()) \
                and (not self.thlc or obs(self.thlc, self.torigin)):
            # The tuple's stamp is also the key's type stamp of strings: only when this
            # write observed the entry's (a removal kept it: Keyspace._bury_string,
            # drop_empty) is its own stamp the latest string write everywhere.
            return (value, ctx.hlc, ctx.origin)
        reg = self._unfold()
        reg.write((value, ctx.hlc, ctx.origin), ctx)
        self.ops = [x for x in self.ops if not obs(x[0], x[1])]
        self.touch(ctx)
        self.recompute()
        return self

    def incr(self, delta: int | bytes, ctx: Ctx, solo: bool = False) -> None:
        """INCR*: a partial write in the overlay, in stamp order with the others."""
        self.partial((_INCR, 0, b"", delta), ctx, solo)

    def remove_observed(self, ctx: Ctx) -> None:
        obs = ctx.observed
        if self.reg is None:
            self.reg = CounterReg([], [])  # a stable base is observed by every op
        else:
            self.reg.remove_observed(ctx)
        self.ops = [x for x in self.ops if not obs(x[0], x[1])]
        self.recompute()

    def is_empty(self) -> bool:
        if self.ops:
            return False
        r = self.reg
        # A stable base (`reg` None) of no value is empty too: GC folds an emptied entry,
        # kept hidden for its stamp, into that form, and it must stay as empty as before.
        return self.buf is None if r is None else r.empty()

    def encoding(self) -> bytes:
        return b"raw"

    def winner_stamp(self) -> tuple[int, str] | None:
        if self.reg is None:
            return self.wst if self.wst[0] else None
        w = self.reg.winner()
        return None if w is None else (w[1], w[2])

    # ---- GC --------------------------------------------------------------------------
    def gc(self, stable: Callable[[int, str], bool]) -> int:
        """Fold the stable prefix of the overlay into the base once the register is
        stable: an op concurrent with a stable op can no longer arrive, so nothing can be
        inserted before that prefix."""
        reg = self.reg
        if reg is not None and any(h and not stable(h, o) for h, o in reg.stamps()):
            return 0
        k = 0
        for h, o, _e in self.ops:
            if h and not stable(h, o):
                break
            k += 1
        if reg is None and k == 0:
            return 0
        if reg is not None:
            w = reg.winner()
            if w is not None:
                self.wst = (w[1], w[2])
        base = self._base()
        for op in self.ops[:k]:
            base = apply_partial(base, op[2])
        self.reg = None
        rest = self.ops[k:]
        self.ops = []
        self.buf = base
        n = k
        if rest:
            self._unfold()
            self.ops = rest
            self.recompute()
        return n

    def fold_if_stable(self, stable: Callable[[int, str], bool]) -> tuple[Any, ...] | None:
        """GC; the plain tuple once everything is stable and there is a value."""
        self.gc(stable)
        if self.reg is None and not self.ops and self.buf is not None:
            th, to = self.thlc, self.torigin
            h, o = self.wst if self.wst[0] else (th, to)
            if th and (not self.wst[0] or (h, o) != (th, to)) and not stable(th, to):
                # As for a counter (CounterStr.fold_if_stable): the tuple's stamp becomes
                # the key's type stamp of strings, and it carries no register write of its
                # own when the base is partial writes alone, so fold only once the entry's
                # type stamp is stable too.
                return None
            return (bytes(self.buf), h, o)
        return None

    # ---- snapshots -------------------------------------------------------------------
    def state(self) -> Any:
        r = self.reg
        reg = None if r is None else (sorted(r.vals, key=lambda v: (v[1], v[2])), list(r.contrib))
        base = None if r is not None or self.buf is None else bytes(self.buf)
        return (1, reg, base, [(h, o, tuple(e)) for h, o, e in self.ops], self.thlc, self.torigin,
                self.wst[0], self.wst[1])

    @classmethod
    def from_state(cls, s: Any) -> BitStr:
        b = cls()
        _version, reg, base, ops, b.thlc, b.torigin, wh, wo = s
        b.wst = (wh, wo)
        if reg is None:
            b.reg = None
            b.buf = None if base is None else bytearray(base)
        else:
            b.reg = CounterReg([(v, h, o) for v, h, o in reg[0]], [(h, o, d) for h, o, d in reg[1]])
        b.ops = [(h, o, tuple(e)) for h, o, e in ops]
        if b.reg is not None:
            b.recompute()
        return b


def is_str_entry(e: Any) -> bool:
    return type(e) is tuple or type(e) is CounterStr or type(e) is BitStr


# On a solo replica an APPEND to a plain string up to this long stays a plain string (the
# copy is cheap; the overlay entry would cost more memory than the value).
APPEND_COPY_MAX = 4096


def apply_partial_effect(ks: Keyspace, db: Db, eff: Effect, ctx: Ctx) -> None:
    key = eff[2]
    s, visible = _string_slot(db, key)
    if ks.solo and type(s) is tuple and visible and eff[0] == _APPEND \
            and len(s[0]) + len(eff[3]) <= APPEND_COPY_MAX:
        # Stable at once, like a solo INCR: the value's stamp stays (a TTL its SET wrote).
        db.data[key] = untracked((s[0] + eff[3], s[1], s[2]))
        if db.watched or db.waiters:
            db.touch(key)
        return
    if type(s) is BitStr:
        b = s
    else:
        b = BitStr.from_string(s)
    b.partial(eff, ctx, ks.solo)
    cur = db.data.get(key)
    if cur is None or cur is s or is_str_entry(cur):
        visible = True
    _store_string(ks, db, key, b, visible)
    if db.expires and key in db.expires:
        ks.refresh_expiry(db, key)


# ---- shape checks of effects from peers (crdt/schema.py) --------------------------------
def _bits_fit(eff: Effect, max_bulk: int) -> str | None:
    # A bit offset costs a few bytes on the wire and (offset / 8) bytes applied: bounded
    # like the receiver's own SETBIT/BITFIELD (offset >> 3 < proto-max-bulk-len).
    if (eff[3] + eff[4]) >> 3 > max_bulk:
        return f"effect {eff[0]}: bit offset {eff[3]} beyond proto-max-bulk-len"
    return None


def _append_fits(eff: Effect, max_bulk: int) -> str | None:
    if len(eff[3]) > max_bulk:
        return f"effect {eff[0]}: appended chunk beyond proto-max-bulk-len"
    return None


def _bitw_value(eff: Effect, max_bulk: int) -> str | None:
    if not eff[5] < 1 << eff[4]:
        return f"effect {eff[0]}: value {eff[5]} does not fit {eff[4]} bits"
    return _bits_fit(eff, max_bulk)


def _pairs_ok(eff: Effect, max_bulk: int) -> str | None:
    pairs = eff[3]
    if len(pairs) % 3:
        return f"effect {eff[0]}: register pairs of {len(pairs)} bytes (3 per pair)"
    # count = bits 14..23 of each little-endian 3-byte pair: 1..Q+1 as hllPatLen makes it.
    for mid, hi in zip(pairs[1::3], pairs[2::3], strict=True):
        cnt = mid >> 6 | hi << 2
        if not 1 <= cnt <= hll.HLL_Q + 1:
            return f"effect {eff[0]}: register count {cnt} out of range"
    return None


def _registers_ok(eff: Effect, max_bulk: int) -> str | None:
    regs = eff[3]
    if len(regs) not in (0, hll.REGISTERS) or (regs and max(regs) > hll.REGISTER_MAX):
        return f"effect {eff[0]}: not {hll.REGISTERS} registers of at most {hll.REGISTER_MAX}"
    return None


_CHECKS = {
    BITW: fixed(NONNEG, ints(0, 64), NONNEG_BIG, extra=_bitw_value),
    BITINCR: fixed(NONNEG, ints(1, 64), FLAG, INT64, one_of(OVERFLOW_WRAP, OVERFLOW_SAT, OVERFLOW_FAIL),
                   extra=_bits_fit),
    PFADD: fixed(BYTES, NONNEG, extra=_pairs_ok),
    PFCACHE: fixed(),
    PFMERGE: fixed(BYTES, FLAG, NONNEG, extra=_registers_ok),
    PFDENSE: fixed(),
    _APPEND: fixed(BYTES, extra=_append_fits),
}
for _code, _check in _CHECKS.items():
    register_effect(_code, apply_partial_effect, STRING, check=_check)
