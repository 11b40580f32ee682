"""The keyspace: key -> typed CRDT entry + expiry register, and the one apply() choke point.

Every mutation, local or remote, goes through `Keyspace.apply` (whole ops from peers or the
log) or `Keyspace.apply_local` (one effect at a time while a command runs, so that later
commands of a MULTI read their own writes). Both call the same per-effect apply functions
registered by the CRDT modules with `register_effect`.

Type rule (DESIGN §3). Each key holds at most one *visible* entry. An effect of another type
can only arrive from a replica that had not seen the current type (the origin answers
WRONGTYPE otherwise), so it is concurrent. Each type's content keeps merging on its own;
the visible type is the one whose latest write has the highest (hlc, origin) stamp, and
the others wait, hidden, in `Db.shadow`. Dropping the loser outright, as a first sketch
of the design did, diverges: SET@5 then INCR@9 at A, LPUSH@8 at B gives a string holding
SET+INCR at one replica and INCR alone at another, depending on delivery order. Hidden
content is discarded once the key has no concurrent writers left (see `gc`).

Strings, the hot type, are stored as plain `(value, hlc, origin)` tuples (DESIGN §7:
per-key memory); every other entry is an `Entry` object.
"""
from __future__ import annotations

import random
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from .op import Ctx, Effect, Op

if TYPE_CHECKING:
    from .client import Client

ApplyFn = Callable[["Keyspace", "Db", Effect, Ctx], None]

# Effect code -> apply function; filled by the CRDT modules at import time.
_APPLY: dict[int, ApplyFn] = {}


def register_effect(code: int, fn: ApplyFn) -> None:
    if code in _APPLY and _APPLY[code] is not fn:
        raise ValueError(f"effect code {code} registered twice")
    _APPLY[code] = fn


class Entry(ABC):
    """Base of every non-string value. `thlc`/`torigin` stamp the latest write of this type
    (the key-level type register). Abstract: a type that forgets a method fails when its
    first entry is created (every test of the type), never later at a client's command."""

    __slots__ = ("thlc", "torigin")
    TYPE: bytes = b"none"
    # Tag naming this class in base snapshots (defaults to TYPE); part of the disk format.
    STATE_TAG: bytes = b""

    def __init_subclass__(cls, **kw: Any) -> None:
        super().__init_subclass__(**kw)
        ENTRY_CLASSES[cls.STATE_TAG or cls.TYPE] = cls

    def __init__(self) -> None:
        self.thlc = 0
        self.torigin = ""

    def touch(self, ctx: Ctx) -> None:
        if ctx.hlc > self.thlc or (ctx.hlc == self.thlc and ctx.origin > self.torigin):
            self.thlc = ctx.hlc
            self.torigin = ctx.origin

    @abstractmethod
    def remove_observed(self, ctx: Ctx) -> None:
        """Observed-remove of the whole content (DEL, FLUSHDB, an overwriting SET)."""

    @abstractmethod
    def is_empty(self) -> bool:
        """True when nothing of the value is visible."""

    def retain(self) -> bool:
        """True when an empty (invisible) entry must still be kept, hidden, because ops
        concurrent with its removals may reference what it holds (list tombstones)."""
        return False

    def encoding(self) -> bytes:
        return b"raw"

    def gc(self, stable: Callable[[int, str], bool]) -> int:
        """Drop tombstones / per-element metadata whose stamps are causally stable;
        returns how many were dropped. Types without such metadata keep the default."""
        return 0

    @abstractmethod
    def state(self) -> Any:
        """Full CRDT state as a plain structure (snapshots, convergence tests)."""

    @classmethod
    @abstractmethod
    def from_state(cls, s: Any) -> Entry:
        """The entry whose `state()` is `s`."""


# Snapshot tag -> Entry class (filled by Entry.__init_subclass__).
ENTRY_CLASSES: dict[bytes, type[Entry]] = {}


def entry_state(e: Any) -> tuple[bytes, Any]:
    """(tag, state) of any entry; plain strings are tagged b"str"."""
    if type(e) is tuple:
        return (b"str", e)
    cls = type(e)
    return (cls.STATE_TAG or cls.TYPE, e.state())


def entry_from_state(tag: bytes, s: Any) -> Any:
    if tag == b"str":
        return (s[0], s[1], s[2])
    cls = ENTRY_CLASSES.get(tag)
    if cls is None:
        raise ValueError(f"unknown entry tag {tag!r}")
    return cls.from_state(s)


def entry_type(e: Any) -> bytes:
    if type(e) is tuple:
        return b"string"
    return e.TYPE  # type: ignore[no-any-return]


def entry_stamp(e: Any) -> tuple[int, str]:
    if type(e) is tuple:
        return (e[1], e[2])
    return (e.thlc, e.torigin)


class ExpiryReg:
    """Multi-value register of deadlines: concurrent writes are all kept, an overwrite
    removes only what it observed. Resolved value: PERSIST wins over a concurrent expire,
    and between concurrent expires the later deadline wins (DESIGN §3)."""

    __slots__ = ("vals", "deadline")

    def __init__(self, vals: list[tuple[int | None, int, str]]) -> None:
        self.vals = vals  # (deadline ms or None for PERSIST, hlc, origin)
        self.deadline = self._resolve()

    def _resolve(self) -> int | None:
        best: int | None = None
        for d, _h, _o in self.vals:
            if d is None:
                return None
            if best is None or d > best:
                best = d
        return best

    def write(self, ctx: Ctx, deadline: int | None) -> None:
        obs = ctx.observed
        self.vals = [v for v in self.vals if not obs(v[1], v[2])]
        self.vals.append((deadline, ctx.hlc, ctx.origin))
        self.deadline = self._resolve()

    def remove_observed(self, ctx: Ctx) -> bool:
        """Drop observed values; True when nothing is left."""
        obs = ctx.observed
        self.vals = [v for v in self.vals if not obs(v[1], v[2])]
        self.deadline = self._resolve()
        return not self.vals

    def owner(self) -> str:
        """Origin of the value that decides the deadline: that replica emits the delete."""
        best: tuple[int, str] = (-1, "")
        for d, _h, o in self.vals:
            if d is not None and (d, o) > best:
                best = (d, o)
        return best[1]


class Db:
    """One logical database (SELECT n)."""

    __slots__ = ("index", "data", "expires", "shadow", "watched", "waiters")

    def __init__(self, index: int) -> None:
        self.index = index
        self.data: dict[bytes, Any] = {}
        self.expires: dict[bytes, ExpiryReg] = {}
        # key -> {type name -> hidden entry}: content of types that lost the type register.
        self.shadow: dict[bytes, dict[bytes, Any]] = {}
        # key -> clients WATCHing it (MULTI/EXEC optimistic locking).
        self.watched: dict[bytes, set[Client]] = {}
        # key -> callbacks of blocked clients (BLPOP...), run after a write to the key.
        self.waiters: dict[bytes, list[Callable[[], None]]] = {}

    def touch(self, key: bytes) -> None:
        """A key was written by anyone: invalidate WATCHes and wake blocked readers."""
        w = self.watched.get(key)
        if w:
            for c in w:
                c.watch_dirty = True
        cbs = self.waiters.get(key)
        if cbs:
            for cb in list(cbs):
                cb()

    def touch_all(self) -> None:
        for key in list(self.watched):
            self.touch(key)


class Keyspace:
    """All databases, the applied version vector and the apply choke point."""

    def __init__(self, origin: str, databases: int = 16) -> None:
        self.origin = origin
        self.dbs = [Db(i) for i in range(databases)]
        # Applied effects: seq vector (contiguous counts, for delivery and acks) and the
        # highest HLC applied per origin (what a local op's deps record).
        self.vv: dict[str, int] = {}
        self.vh: dict[str, int] = {}
        # deps of the next local op: `vh` without our own origin; replaced, never mutated.
        self.deps: dict[str, int] = {}
        # Whether concurrent remote effects may still arrive. With no peers every op is
        # causally stable the moment it is applied, so hidden state is dropped at once.
        self.has_peers = False
        self.ops_applied = 0
        self.ops_local = 0
        self.ops_remote = 0
        self.type_conflicts = 0
        self.dirty = 0
        self._ctx = Ctx(origin, 0, 0, {})

    # ---- the choke point -------------------------------------------------------------
    def apply(self, op: Op) -> bool:
        """Apply a whole op atomically (from a peer or the log). Duplicates are no-ops."""
        vv = self.vv
        have = vv.get(op.origin, 0)
        if op.seq + len(op.effects) - 1 <= have:
            return False
        ctx = Ctx(op.origin, op.seq, op.hlc, op.deps)
        dbs = self.dbs
        for eff in op.effects:
            if ctx.seq > have:
                _APPLY[eff[0]](self, dbs[eff[1]], eff, ctx)
            ctx.seq += 1
            ctx.hlc += 1
        vv[op.origin] = op.seq + len(op.effects) - 1
        self.vh[op.origin] = op.hlc + len(op.effects) - 1
        self.ops_applied += 1
        if op.origin != self.origin:
            self.ops_remote += 1
            deps = dict(self.vh)
            deps.pop(self.origin, None)
            self.deps = deps
        return True

    def apply_local(self, eff: Effect, seq: int, hlc: int) -> None:
        """Apply one effect prepared here, at once (the op is closed by the node later)."""
        ctx = self._ctx
        ctx.seq = seq
        ctx.hlc = hlc
        ctx.deps = self.deps
        _APPLY[eff[0]](self, self.dbs[eff[1]], eff, ctx)
        self.vv[self.origin] = seq
        self.vh[self.origin] = hlc
        self.dirty += 1

    # ---- typed access used by CRDT apply functions -------------------------------------
    def entry_for(self, db: Db, key: bytes, cls: type[Entry], ctx: Ctx) -> Any:
        """The entry of type `cls` that an effect on `key` must update, creating it if
        needed. Usually the visible entry; a hidden one when the key's visible type differs."""
        e = db.data.get(key)
        if e is not None and type(e) is cls:
            return e
        if e is None and not (db.shadow and key in db.shadow):
            e = cls()
            db.data[key] = e
            return e
        hidden = db.shadow.setdefault(key, {})
        h = hidden.get(cls.TYPE)
        if h is None:
            h = cls()
            hidden[cls.TYPE] = h
        return h

    def settle(self, db: Db, key: bytes) -> None:
        """After a write to `key`: drop empty entries and, if several types hold content,
        make the one with the latest write visible (the key-level type register)."""
        data = db.data
        e = data.get(key)
        hidden = db.shadow.get(key) if db.shadow else None
        if hidden is None:
            if e is not None and type(e) is not tuple and e.is_empty():
                self.drop_empty(db, key, e)
            if db.watched or db.waiters:
                db.touch(key)
            return
        cands = [h for h in hidden.values() if not _empty(h)]
        if e is not None and not _empty(e):
            cands.append(e)
        # Empty entries that must stay (hidden) while concurrent ops may reference them.
        kept: dict[bytes, Any] = {}
        if self.has_peers:
            kept = {entry_type(h): h for h in hidden.values() if _empty(h) and h.retain()}
            if e is not None and _empty(e) and e.retain():
                kept[entry_type(e)] = e
        if not cands:
            data.pop(key, None)
            if kept:
                db.shadow[key] = kept
            else:
                del db.shadow[key]
        else:
            win = max(cands, key=entry_stamp)
            if win is not e:
                if e is not None and not _empty(e):
                    self.type_conflicts += 1
                data[key] = win
            rest = {entry_type(h): h for h in cands if h is not win}
            if (rest or kept) and self.has_peers:
                db.shadow[key] = {**kept, **rest}
            else:
                if rest:
                    self.type_conflicts += len(rest)
                del db.shadow[key]
        if db.watched or db.waiters:
            db.touch(key)

    def remove_key_observed(self, db: Db, key: bytes, ctx: Ctx) -> None:
        """Observed-remove of everything at `key` (all types, expiry values)."""
        data = db.data
        e = data.get(key)
        if e is not None:
            if type(e) is tuple:
                if ctx.observed(e[1], e[2]):
                    del data[key]
            else:
                e.remove_observed(ctx)
                if e.is_empty():
                    self.drop_empty(db, key, e)
        if db.shadow and key in db.shadow:
            for h in list(db.shadow[key].values()):
                if type(h) is not tuple:
                    h.remove_observed(ctx)
            self.settle(db, key)
        reg = db.expires.get(key)
        if reg is not None and (reg.remove_observed(ctx) or not self.has_peers):
            del db.expires[key]
        if db.watched or db.waiters:
            db.touch(key)

    def drop_empty(self, db: Db, key: bytes, e: Entry) -> None:
        """Remove the empty visible entry at `key`; keep it hidden if it must be retained."""
        del db.data[key]
        if self.has_peers and e.retain():
            db.shadow.setdefault(key, {})[e.TYPE] = e

    # ---- garbage collection at causal stability ----------------------------------------
    def gc_chunks(self, stable: Callable[[int, str], bool], chunk: int = 2000) -> Iterator[int]:
        """Collect what only concurrency needed, key by key, yielding after each chunk.
        `stable(hlc, origin)` is True once every replica has applied that effect and no op
        concurrent with it can still arrive: then no future op can observe it differently."""
        for db in self.dbs:
            keys = list(dict.fromkeys([*db.data, *db.shadow, *db.expires]))
            for i in range(0, len(keys), chunk):
                n = 0
                for key in keys[i:i + chunk]:
                    n += self._gc_key(db, key, stable)
                yield n

    def _gc_key(self, db: Db, key: bytes, stable: Callable[[int, str], bool]) -> int:
        n = 0
        e = db.data.get(key)
        if e is not None and type(e) is not tuple:
            fold = getattr(e, "fold_if_stable", None)
            if fold is not None:
                t = fold(stable)
                if t is not None:
                    db.data[key] = t
                    n += 1
            else:
                n += e.gc(stable)
        hidden = db.shadow.get(key)
        if hidden:
            for h in hidden.values():
                if type(h) is not tuple:
                    n += h.gc(stable)
        if hidden and all(stable(*entry_stamp(h)) and not _retains(h) for h in hidden.values()):
            # The type register's losers can never win again: every later write sees the
            # winner. Their content is discarded, as DESIGN §3 says, now that it is safe.
            del db.shadow[key]
            n += len(hidden)
        reg = db.expires.get(key)
        if reg is not None and all(stable(h, o) for _d, h, o in reg.vals):
            if reg.deadline is None or key not in db.data:
                del db.expires[key]
                n += len(reg.vals)
            elif len(reg.vals) > 1:
                win = max((v for v in reg.vals if v[0] is not None), key=lambda v: (v[0], v[2]))
                n += len(reg.vals) - 1
                reg.vals = [win]
        return n

    # ---- expiry ----------------------------------------------------------------------
    def write_expiry(self, db: Db, key: bytes, ctx: Ctx, deadline: int | None) -> None:
        reg = db.expires.get(key)
        if reg is None:
            if deadline is None and not self.has_peers:
                return
            db.expires[key] = ExpiryReg([(deadline, ctx.hlc, ctx.origin)])
            return
        reg.write(ctx, deadline)
        if reg.deadline is None and not self.has_peers:
            del db.expires[key]

    def clear_expiry_observed(self, db: Db, key: bytes, ctx: Ctx) -> None:
        """An overwrite (SET without KEEPTTL) forgets the TTLs it saw; a concurrent
        EXPIRE survives (documented in docs/semantics.md)."""
        reg = db.expires.get(key)
        if reg is not None and (reg.remove_observed(ctx) or not self.has_peers):
            del db.expires[key]

    def deadline(self, db: Db, key: bytes) -> int | None:
        reg = db.expires.get(key)
        return None if reg is None else reg.deadline

    # ---- reads -------------------------------------------------------------------------
    def live_keys(self, db: Db, now_ms: int) -> Iterator[bytes]:
        exp = db.expires
        for k in db.data:
            if exp:
                reg = exp.get(k)
                if reg is not None and reg.deadline is not None and reg.deadline <= now_ms:
                    continue
            yield k

    def random_key(self, db: Db, now_ms: int) -> bytes | None:
        data = db.data
        if not data:
            return None
        keys = list(data)
        for _ in range(100):
            k = random.choice(keys)
            reg = db.expires.get(k)
            if reg is None or reg.deadline is None or reg.deadline > now_ms:
                return k
        live = list(self.live_keys(db, now_ms))
        return random.choice(live) if live else None


def _empty(e: Any) -> bool:
    if type(e) is tuple:
        return False
    return bool(e.is_empty())


def _retains(e: Any) -> bool:
    return type(e) is not tuple and bool(e.retain())


# ---- rebuilding a value elsewhere (RENAME / COPY) ----------------------------------------
# type name -> function(db index, key, visible entry) -> effects that write an equal value
# at (db, key). RENAME/COPY emit DEL dst + these + EXPIRE, so the destination is built from
# each type's ordinary effects and merges with concurrent writes like any other write.
RebuildFn = Callable[[int, bytes, Any], list[Effect]]
TYPE_CODECS: dict[bytes, RebuildFn] = {}


def register_type(name: bytes, rebuild: RebuildFn) -> None:
    TYPE_CODECS[name] = rebuild
