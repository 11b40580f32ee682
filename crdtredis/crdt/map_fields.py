"""Hashes: a map of field -> string register with counter contributions, observed-remove fields.

Rule: a field update (HSET, HINCRBY*) wins over a concurrent HDEL/DEL, concurrent HSETs on a
field resolve by the highest (hlc, origin), concurrent increments all add up, and an HSET or
HDEL resets only the increments it observed.

Each field is `crdt.string_counter.CounterStr` in miniature, with one difference: the register
is multi-valued. A remove takes away only the writes it observed, so when it observed the
winning HSET but not a concurrent, lower-stamped one, the lower one must still be there to
become the value (a single-slot register would give different answers in different delivery
orders). Formally, after any set of ops, in any causal delivery order:

* live writes  = HSETs of the field observed by no HDEL/DEL of it and by no later HSET;
* live incrs   = HINCRBY* of the field observed by no HSET, HDEL or DEL of it;
* the field exists iff some live write or live incr does; its value is the highest-stamped
  live write (or nothing) plus the live incrs, added in stamp order.

A field takes the leanest form that holds its state (DESIGN §7: per-element memory):

* `bytes`                      causally stable: every future op has observed it. This is the
                               only form on a single node (`Keyspace.has_peers` False), where
                               increments fold into the value at once and removes need no dots;
* `(value, hlc, origin)`       one live write, no live increments;
* `Field`                      anything else (concurrent writes, increments kept apart).

Nothing needs a tombstone: causal delivery means a remove only ever has to forget what is
already here. `HashEntry.gc` folds fields back to `bytes` once their stamps are stable.

HINCRBYFLOAT arithmetic is x87 80-bit long double, like Redis on x86-64 (strtold, `+`,
"%.17Lf"), emulated exactly with integers, so replies match Redis digit for digit.
"""
from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction
from typing import Any

from ..keyspace import Db, Entry, Keyspace, register_effect, register_type
from ..op import Ctx, Effect
from .string_counter import parse_decimal

# Effect codes (range 50-59; persisted and replicated: never renumber).
HSET = 50  # (HSET, db, key, f1, v1, f2, v2, ...)  register writes, one stamp for all pairs
HINCR = 51  # (HINCR, db, key, field, delta)  delta: int (HINCRBY) or bytes (HINCRBYFLOAT text)
HDEL = 52  # (HDEL, db, key, f1, f2, ...)  observed-remove of those fields

# Redis 7.0 hash-max-listpack-entries / hash-max-listpack-value defaults.
LISTPACK_MAX_ENTRIES = 512
LISTPACK_MAX_VALUE = 64

STATE_VERSION = 1

Delta = int | bytes
Val = tuple[bytes, int, str]  # (value, hlc, origin): one register write
Contrib = tuple[int, str, Delta]  # (hlc, origin, delta): one increment


# ---- long double arithmetic (HINCRBYFLOAT) ------------------------------------------------
_LD_MIN_EXP = -16445  # the smallest subnormal is 2**-16445
_LD_MAX = Fraction(((1 << 64) - 1) << 16320)  # LDBL_MAX = (2**64 - 1) * 2**16320
_LD_DEC_MAX = 4933  # decimal exponents beyond these overflow / underflow for sure
_LD_DEC_MIN = -4952
_E17 = 10**17
_E4000 = 10**4000


def ld_round(x: Fraction) -> Fraction | None:
    """`x` rounded to the nearest long double (64-bit significand, ties to even); None on
    overflow to infinity."""
    if not x:
        return x
    n, d = abs(x.numerator), x.denominator
    e = n.bit_length() - d.bit_length()
    if (n < d << e) if e >= 0 else (n << -e < d):
        e -= 1
    sh = max(e - 63, _LD_MIN_EXP)  # 2**63 <= |x| / 2**sh < 2**64 for normal numbers
    if sh >= 0:
        q, r = divmod(n, d << sh)
        den = d << sh
    else:
        q, r = divmod(n << -sh, d)
        den = d
    if 2 * r > den or (2 * r == den and q & 1):
        q += 1
    v = Fraction(q << sh) if sh >= 0 else Fraction(q, 1 << -sh)
    if v > _LD_MAX:
        return None
    return v if x > 0 else -v


def parse_ld(b: bytes) -> Fraction | float | None:
    """Redis string2ld: the long double `b` denotes, float +-inf for "inf", None when `b` is
    not a float (syntax, NaN, or a finite literal that overflows or underflows to zero)."""
    d = parse_decimal(b)
    if d is None:
        return None
    if d.is_infinite():
        return float(d)
    if not d:
        return Fraction(0)
    adj = d.adjusted()
    if adj > _LD_DEC_MAX or adj < _LD_DEC_MIN:
        return None
    v = ld_round(Fraction(d))
    if not v:  # None (overflow) or a nonzero literal rounded to 0 (ERANGE)
        return None
    return v


def ld_format(v: Fraction) -> bytes:
    """Redis ld2string(LD_STR_HUMAN): "%.17Lf" with trailing zeros and '.' removed, -0 -> 0."""
    a = abs(v)
    q, r = divmod(a.numerator * _E17, a.denominator)
    if 2 * r > a.denominator or (2 * r == a.denominator and q & 1):
        q += 1
    if not q:
        return b"0"
    s = _int_str(q).rjust(18, "0")
    s = (s[:-17] + "." + s[-17:]).rstrip("0").rstrip(".")
    return ("-" + s if v < 0 else s).encode()


def _int_str(q: int) -> str:
    # Python caps int -> str at 4300 digits; a long double has up to 4933.
    if q < _E4000:
        return str(q)
    hi, lo = divmod(q, _E4000)
    return _int_str(hi) + str(lo).rjust(4000, "0")


def ld_add(value: bytes | None, incr: Fraction | float) -> bytes | None:
    """value + incr as HINCRBYFLOAT stores it; None when value is not a float or the sum is
    not finite."""
    if not isinstance(incr, Fraction):
        return None
    base = Fraction(0) if value is None else parse_ld(value)
    if not isinstance(base, Fraction):
        return None
    s = ld_round(base + incr)
    return None if s is None else ld_format(s)


def parse_bigint(b: bytes) -> int | None:
    """An integer in canonical form (string2ll syntax) of any size; None otherwise."""
    s = b[1:] if b[:1] == b"-" else b
    if not s.isdigit() or (s[:1] == b"0" and (len(s) > 1 or len(b) > 1)) or len(s) > 4000:
        return None
    return int(s) if s is b else -int(s)


def incr_value(value: bytes | None, delta: Delta) -> bytes | None:
    """`value` after one increment, as Redis would store it; None when it is not numeric
    (a concurrent HSET of a non-number: the increments are then hidden, see Field)."""
    if type(delta) is int:
        if value is None:
            return str(delta).encode()
        iv = parse_bigint(value)
        if iv is not None:
            # Exact, even past int64 (only concurrent increments get there: HINCRBY checks
            # the range where it runs, and then reports such a value as not an integer).
            return str(iv + delta).encode()
        return ld_add(value, Fraction(delta))
    inc = parse_ld(delta)  # type: ignore[arg-type]
    if inc is None:
        return None
    return ld_add(value, inc)


# ---- one field ----------------------------------------------------------------------------
def _stamp(x: Val) -> tuple[int, str]:
    return (x[1], x[2])


def _cstamp(c: Contrib) -> tuple[int, str]:
    return (c[0], c[1])


class Field:
    """A field whose state does not fit a plain tuple: concurrent writes (the multi-value
    register `vals`) and/or increments not yet observed by a write or remove (`contrib`,
    kept in stamp order so every replica sums them identically).

    `value` is the fold of `contrib` over the winning write, kept up to date incrementally:
    a local increment always has the highest stamp, so a counter field that only its own
    replica increments costs O(1) per HINCRBY, not O(increments since the last gc)."""

    __slots__ = ("vals", "contrib", "value", "hidden")

    def __init__(self, vals: list[Val], contrib: list[Contrib]) -> None:
        self.vals = vals
        self.contrib = contrib
        self.value = b""
        # True when the fold met a non-number: the value is the write alone (see recompute).
        self.hidden = False
        self.recompute()

    def _base(self) -> bytes | None:
        vals = self.vals
        if not vals:
            return None
        if len(vals) == 1:
            return vals[0][0]
        return max(vals, key=_stamp)[0]

    def recompute(self) -> None:
        base = self._base()
        v = base
        self.hidden = False
        # Integer increments on an integer are summed exactly in one go: the same result as
        # folding them one by one with incr_value, without a parse and a format per step.
        iv = 0 if base is None else parse_bigint(base)
        for _h, _o, d in self.contrib:
            if iv is not None:
                if type(d) is int:
                    iv += d
                    continue
                v = str(iv).encode()
                iv = None
            nv = incr_value(v, d)
            if nv is None:
                # A non-numeric value hides the increments (docs/semantics.md), as for strings.
                self.value = base if base is not None else b""
                self.hidden = True
                return
            v = nv
        if iv is not None and (base is not None or self.contrib):
            v = str(iv).encode()
        self.value = v if v is not None else b""

    def write(self, t: Val, ctx: Ctx) -> Any:
        """An HSET: forget what it observed, add it. Returns the field's new form."""
        obs = ctx.observed
        h, o = t[1], t[2]
        self.vals = [x for x in self.vals if not (obs(x[1], x[2]) or (x[1] == h and x[2] == o))]
        self.vals.append(t)
        if self.contrib:
            self.contrib = [c for c in self.contrib if not obs(c[0], c[1])]
        return self.settle()

    def incr(self, c: Contrib) -> Field:
        contrib = self.contrib
        if contrib and _cstamp(contrib[-1]) > _cstamp(c):
            # A concurrent increment with a lower stamp arrived late: re-fold in stamp order.
            contrib.append(c)
            contrib.sort(key=_cstamp)
            self.recompute()
            return self
        prev = self.value if (self.vals or contrib) else None
        contrib.append(c)
        if not self.hidden:
            nv = incr_value(prev, c[2])
            if nv is None:
                base = self._base()
                self.value = base if base is not None else b""
                self.hidden = True
            else:
                self.value = nv
        return self

    def remove_observed(self, ctx: Ctx) -> Any:
        obs = ctx.observed
        self.vals = [x for x in self.vals if not obs(x[1], x[2])]
        self.contrib = [c for c in self.contrib if not obs(c[0], c[1])]
        return self.settle()

    def settle(self) -> Any:
        """The leanest form holding this state: None (gone), bytes, a tuple, or self."""
        if not self.contrib:
            if not self.vals:
                return None
            if len(self.vals) == 1:
                t = self.vals[0]
                return t[0] if t[1] == 0 else t
        self.recompute()
        return self

    def stamps(self) -> list[tuple[int, str]]:
        return [_stamp(x) for x in self.vals] + [_cstamp(c) for c in self.contrib]


def visible(x: Any) -> bytes:
    """The value a reader sees for a field in any of its forms."""
    t = type(x)
    if t is bytes:
        return x  # type: ignore[no-any-return]
    if t is tuple:
        return x[0]  # type: ignore[no-any-return]
    return x.value  # type: ignore[no-any-return]


def _as_field(x: Any) -> Field:
    if type(x) is bytes:
        # Stable: stamp (0, "") is observed by every op (Ctx.observed: deps.get("", 0) >= 0).
        return Field([(x, 0, "")], [])
    if type(x) is tuple:
        return Field([x], [])
    return x  # type: ignore[no-any-return]


def _remove_field(x: Any, ctx: Ctx) -> Any:
    """Observed-remove of one field; returns its new form (None when gone)."""
    t = type(x)
    if t is bytes:
        return None
    if t is tuple:
        return None if ctx.observed(x[1], x[2]) else x
    return x.remove_observed(ctx)


# ---- the hash -----------------------------------------------------------------------------
class HashEntry(Entry):
    """field -> bytes | (value, hlc, origin) | Field, in insertion order (like a listpack).
    `big` is Redis's one-way listpack -> hashtable conversion, kept for OBJECT ENCODING and
    HSCAN (a small hash is returned in one call)."""

    __slots__ = ("fields", "big")
    TYPE = b"hash"

    def __init__(self) -> None:
        super().__init__()
        self.fields: dict[bytes, Any] = {}
        self.big = False

    def get(self, field: bytes) -> bytes | None:
        x = self.fields.get(field)
        return None if x is None else visible(x)

    def items(self) -> list[tuple[bytes, bytes]]:
        return [(f, visible(x)) for f, x in self.fields.items()]

    def remove_observed(self, ctx: Ctx) -> None:
        kept: dict[bytes, Any] = {}
        for f, x in self.fields.items():
            if type(x) is bytes:
                continue
            nx = _remove_field(x, ctx)
            if nx is not None:
                kept[f] = nx
        self.fields = kept

    def is_empty(self) -> bool:
        return not self.fields

    def encoding(self) -> bytes:
        if self.big or len(self.fields) > LISTPACK_MAX_ENTRIES:
            return b"hashtable"
        return b"listpack"

    def note_size(self, field: bytes, value: bytes) -> None:
        if len(field) > LISTPACK_MAX_VALUE or len(value) > LISTPACK_MAX_VALUE:
            self.big = True

    def gc(self, stable: Callable[[int, str], bool]) -> int:
        """Fold fields whose stamps are causally stable back to plain bytes; drop stable
        writes that can no longer win. Returns how many stamps were dropped."""
        dropped = 0
        fields = self.fields
        for f, x in list(fields.items()):
            t = type(x)
            if t is bytes:
                continue
            if t is tuple:
                if x[1] == 0 or stable(x[1], x[2]):
                    fields[f] = x[0]
                    dropped += 1
                continue
            stamps = x.stamps()
            if all(h == 0 or stable(h, o) for h, o in stamps):
                fields[f] = x.value
                dropped += len(stamps)
                continue
            # A stable write below the winner can never win again: every future remove of
            # the winner observes it too, and every future write replaces it.
            win = max(x.vals, key=_stamp) if x.vals else None
            vals = [v for v in x.vals if v is win or not (v[1] == 0 or stable(v[1], v[2]))]
            if len(vals) != len(x.vals):
                dropped += len(x.vals) - len(vals)
                x.vals = vals
                fields[f] = x.settle()
        return dropped

    # ---- persistence: a plain structure ------------------------------------------------
    def state(self) -> tuple[Any, ...]:
        out: list[tuple[Any, ...]] = []
        for f, x in self.fields.items():
            t = type(x)
            if t is bytes:
                out.append((0, f, x))
            elif t is tuple:
                out.append((1, f, x[0], x[1], x[2]))
            else:
                out.append((2, f, [tuple(v) for v in x.vals], [tuple(c) for c in x.contrib]))
        return (STATE_VERSION, self.thlc, self.torigin, self.big, out)

    @classmethod
    def from_state(cls, s: Any) -> HashEntry:
        version, thlc, torigin, big, fields = s
        if version != STATE_VERSION:
            raise ValueError(f"hash state version {version} is not supported")
        e = cls()
        e.thlc, e.torigin, e.big = thlc, torigin, bool(big)
        out = e.fields
        for item in fields:
            kind = item[0]
            if kind == 0:
                out[item[1]] = item[2]
            elif kind == 1:
                out[item[1]] = (item[2], item[3], item[4])
            else:
                out[item[1]] = Field([tuple(v) for v in item[2]], [tuple(c) for c in item[3]])  # type: ignore[misc]
        return e


# ---- apply --------------------------------------------------------------------------------
def _existing(db: Db, key: bytes) -> HashEntry | None:
    """The hash entry at key, visible or hidden by a type conflict, without creating one."""
    e = db.data.get(key)
    if type(e) is HashEntry:
        return e
    hidden = db.shadow.get(key) if db.shadow else None
    if hidden:
        return hidden.get(HashEntry.TYPE)
    return None


def _finish(ks: Keyspace, db: Db, key: bytes, e: HashEntry, ctx: Ctx) -> None:
    """The end of an adding apply: the type register, then Keyspace.settle, which has
    nothing to do (the hot path skips it) for a non-empty visible hash that no client
    watches or waits on and no other type shadows."""
    if ctx.hlc > e.thlc or (ctx.hlc == e.thlc and ctx.origin > e.torigin):
        e.thlc = ctx.hlc
        e.torigin = ctx.origin
    if db.shadow or db.watched or db.waiters or not e.fields:
        ks.settle(db, key)


def apply_hset(ks: Keyspace, db: Db, eff: Effect, ctx: Ctx) -> None:
    key = eff[2]
    e = db.data.get(key)
    if type(e) is not HashEntry:
        e = ks.entry_for(db, key, HashEntry, ctx)
    fields = e.fields
    n = len(eff)
    if not ks.has_peers:
        # Causally stable at once: no stamps to keep.
        for i in range(3, n, 2):
            f = eff[i]
            v = eff[i + 1]
            fields[f] = v
            if len(v) > LISTPACK_MAX_VALUE or len(f) > LISTPACK_MAX_VALUE:
                e.big = True
    else:
        h = ctx.hlc
        o = ctx.origin
        for i in range(3, n, 2):
            f = eff[i]
            v = eff[i + 1]
            t = (v, h, o)
            cur = fields.get(f)
            if cur is None or type(cur) is bytes:
                fields[f] = t
            elif type(cur) is tuple:
                if ctx.observed(cur[1], cur[2]) or (cur[1] == h and cur[2] == o):
                    fields[f] = t
                else:
                    fields[f] = Field([cur, t], [])
            else:
                fields[f] = cur.write(t, ctx)
            if len(v) > LISTPACK_MAX_VALUE or len(f) > LISTPACK_MAX_VALUE:
                e.big = True
    if len(fields) > LISTPACK_MAX_ENTRIES:
        e.big = True
    _finish(ks, db, key, e, ctx)


def apply_hincr(ks: Keyspace, db: Db, eff: Effect, ctx: Ctx) -> None:
    key = eff[2]
    f = eff[3]
    delta = eff[4]
    e = db.data.get(key)
    if type(e) is not HashEntry:
        e = ks.entry_for(db, key, HashEntry, ctx)
    fields = e.fields
    cur = fields.get(f)
    if not ks.has_peers:
        nv = incr_value(None if cur is None else visible(cur), delta)
        if nv is not None:  # a correct origin never increments a non-number
            fields[f] = nv
    else:
        c = (ctx.hlc, ctx.origin, delta)
        if cur is None:
            nx: Any = Field([], [c])
        else:
            nx = _as_field(cur).incr(c)
        fields[f] = nx
        nv = visible(nx)
    if nv is not None:
        e.note_size(f, nv)
    if len(fields) > LISTPACK_MAX_ENTRIES:
        e.big = True
    _finish(ks, db, key, e, ctx)


def apply_hdel(ks: Keyspace, db: Db, eff: Effect, ctx: Ctx) -> None:
    key = eff[2]
    e = _existing(db, key)
    if e is None:
        return
    fields = e.fields
    for f in eff[3:]:
        cur = fields.get(f)
        if cur is None:
            continue
        nx = _remove_field(cur, ctx)
        if nx is None:
            del fields[f]
        elif nx is not cur:
            fields[f] = nx
    ks.settle(db, key)


def rebuild(db_index: int, key: bytes, e: Any) -> list[Effect]:
    """RENAME/COPY: one HSET writing every visible field value at (db, key)."""
    args: list[bytes] = []
    for f, x in e.fields.items():
        args.append(f)
        args.append(visible(x))
    if not args:
        return []
    return [(HSET, db_index, key, *args)]


register_effect(HSET, apply_hset)
register_effect(HINCR, apply_hincr)
register_effect(HDEL, apply_hdel)
register_type(HashEntry.TYPE, rebuild)
