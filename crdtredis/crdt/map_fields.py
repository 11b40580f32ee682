"""Hashes: a map of field -> string register with counter contributions, observed-remove fields.

Rule: a field update (HSET, HINCRBY*) wins over a concurrent HDEL/DEL, concurrent HSETs on a
field resolve by the highest (hlc, origin), concurrent increments all add up, and an HSET or
HDEL resets only the increments it observed.

Each field is a counter register (crdt/counter_reg.py), the rule strings use too: the
highest-stamped live write, then the live increments in stamp order, each as Redis applies
it (an increment Redis would refuse at its turn is skipped).

A field takes the leanest form that holds its state (DESIGN §7: per-element memory):

* `bytes`                      causally stable: every future op has observed it. This is the
                               only form on a solo replica (`Keyspace.solo`), where increments
                               fold into the value at once and removes need no dots;
* `(value, hlc, origin)`       one live write, no live increments;
* `Field` (a CounterReg)       anything else (concurrent writes, increments kept apart).

Nothing needs a tombstone: causal delivery means a remove only ever has to forget what is
already here. `HashEntry.gc` folds fields back to `bytes` once their stamps are stable.

HINCRBYFLOAT arithmetic is Redis's x87 80-bit long double (crdt/numbers.py).
"""
from __future__ import annotations

from collections.abc import Callable
from operator import itemgetter
from typing import Any

from ..atoms import untracked
from ..keyspace import Db, Entry, Keyspace, register_effect, register_type
from ..op import Ctx, Effect
from . import members as _members
from .counter_reg import CounterReg as Field
from .numbers import incr_value
from .schema import BYTES, DELTA, fixed, repeated

# Effect codes (range 50-59; persisted and replicated: never renumber).
HSET = 50  # (HSET, db, key, f1, v1, f2, v2, ...)  register writes, one stamp for all pairs
HINCR = 51  # (HINCR, db, key, field, delta)  delta: int (HINCRBY) or bytes (HINCRBYFLOAT text)
HDEL = 52  # (HDEL, db, key, f1, f2, ...)  observed-remove of those fields

# Redis 7.0 hash-max-listpack-entries / hash-max-listpack-value defaults.
LISTPACK_MAX_ENTRIES = 512
LISTPACK_MAX_VALUE = 64

STATE_VERSION = 1
_KIND, _FIELD, _VALUE = itemgetter(0), itemgetter(1), itemgetter(2)  # of a state's field items



def _as_field(x: Any) -> Field:
    if type(x) is bytes:
        # Stable: stamp (0, "") is observed by every op (Ctx.observed: deps.get("", 0) >= 0).
        return Field([(x, 0, "")], [])
    if type(x) is tuple:
        return Field([x], [])
    return x  # type: ignore[no-any-return]


def visible(x: Any) -> bytes:
    """The value a reader sees for a field in any of its forms."""
    t = type(x)
    if t is bytes:
        return x  # type: ignore[no-any-return]
    if t is tuple:
        return x[0]  # type: ignore[no-any-return]
    return x.value  # type: ignore[no-any-return]


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
    HSCAN (a small hash is returned in one call). `fresh`: the fields a GC visit looks at
    (crdt/members.py)."""

    __slots__ = ("fields", "big", "fresh")
    TYPE = b"hash"

    def __init__(self) -> None:
        super().__init__()
        self.fields: dict[bytes, Any] = {}
        self.big = False
        self.fresh: list[bytes] | None = None

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
        keys, track = _members.plan(self.fields, self.fresh)
        dropped, left = _members.fold(self.fields, keys, stable, bytes, 1, self._gc_field)
        self.fresh = left if track else None
        return dropped

    def _gc_field(self, f: bytes, x: Field, stable: Callable[[int, str], bool]) -> tuple[int, bool]:
        """A field holding increments kept apart (members.Other): folded to its value once
        every stamp is stable, else its stable losers dropped."""
        stamps = x.stamps()
        if all(h == 0 or stable(h, o) for h, o in stamps):
            self.fields[f] = x.value
            return len(stamps), False
        n = x.drop_stable_losers(stable)
        if n:
            self.fields[f] = x.settle()
        return n, True

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
        if set(map(_KIND, fields)) <= {0}:  # plain values only (a solo hash, or GC folded it): in C
            out.update(zip(map(_FIELD, fields), map(_VALUE, fields), strict=True))
            e.fresh = _members.loaded(out, [])
            return e
        stamped: list[bytes] = []
        for item in fields:
            kind = item[0]
            if kind == 0:
                out[item[1]] = item[2]
                continue
            if kind == 1:
                out[item[1]] = (item[2], item[3], item[4])
            else:
                out[item[1]] = Field([tuple(v) for v in item[2]], [tuple(c) for c in item[3]])  # type: ignore[misc]
            stamped.append(item[1])
        e.fresh = _members.loaded(out, stamped)
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
    if ks.solo:
        # Causally stable at once: no stamps to keep.
        if n == 5:  # one field (HSET's common case): no range loop, ~90 ns less
            f = eff[3]
            v = eff[4]
            fields[f] = v
            if len(v) > LISTPACK_MAX_VALUE or len(f) > LISTPACK_MAX_VALUE:
                e.big = True
        else:
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
            t = untracked((v, h, o))
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
        if e.fresh is not None:  # a big hash: its next GC visit looks at these
            _members.stamped(e, eff[3:n:2], len(fields))
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
    if ks.solo:
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
        if e.fresh is not None:
            _members.stamped(e, (f,), len(fields))
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


register_effect(HSET, apply_hset, HashEntry.TYPE, check=repeated(group=(BYTES, BYTES)))
register_effect(HINCR, apply_hincr, HashEntry.TYPE, check=fixed(BYTES, DELTA))
register_effect(HDEL, apply_hdel, HashEntry.TYPE, check=repeated(group=(BYTES,)))
register_type(HashEntry.TYPE, rebuild)
