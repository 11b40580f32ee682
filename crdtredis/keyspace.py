"""The keyspace: key -> typed CRDT entry + expiry register, and the one apply() choke point.

Every mutation, local or remote, goes through `Keyspace.apply` (whole ops from peers or the
log) or `Keyspace.apply_local` (one effect at a time while a command runs, so that later
commands of a MULTI read their own writes). Both dispatch through `_dispatch`, which runs
the rules every type shares before the type's own apply function (registered with
`register_effect`):

* **Delete first.** An effect whose code carries the `CREATE` bit was made where the key did
  not exist (or had just expired): it first removes everything of the key its origin had
  observed, content of every type and expiry values, like Redis deleting an expired key
  before a write recreates it. The origin decides, so the outcome never depends on what a
  replica's GC has dropped in the meantime (docs/semantics.md, "Keys").
* **A write of one type removes the other types it observed.** At its origin the key was of
  the effect's type (anything else answers WRONGTYPE), so whatever content of another type
  it had seen had lost the type register there; the write removes it everywhere. A loser is
  therefore never revived by emptying the winner (LPOP, DEL), whatever was collected where.

Type rule (DESIGN §3). Each key holds at most one *visible* entry. Content of another type
can only come from a replica that had not seen the current type, so it is concurrent. Each
type's content keeps merging on its own; the visible type is the one whose latest write has
the highest (hlc, origin) stamp, and the others wait, hidden, in `Db.shadow`, until a write
that observed them removes them or GC finds them causally stable (then every future write
observes, and so removes, them).

Solo. A replica that is alone in its cluster (durable: `Keyspace.solo`, set from the data
dir's cluster state, never from the peer list) applies every op as causally stable the
moment it is applied: no stamps, no tombstones. That is exact because all ops of a solo
replica are its own and each observed every earlier one; a replica that joins it later
syncs its state first, so its ops observe everything too. Replay is therefore a function
of the log (and the durable state), never of the current configuration.

Strings, the hot type, are stored as plain `(value, hlc, origin)` tuples (DESIGN §7:
per-key memory); every other entry is an `Entry` object. A stable plain string without TTL
(solo: at once; else at GC) keeps its hlc rounded down to the second, one shared int per
second (`coarse`), not a 32-byte int per key: every future op observes and outranks it as
it would the exact stamp (OBJECT IDLETIME reads it, at a second's resolution). A TTL'd
string keeps its exact stamp: ExpiryReg ties a SET-kind TTL to it.
"""
from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from itertools import chain
from typing import Any

from .atoms import untracked
from .clock import LOGICAL_BITS as _LOGICAL_BITS
from .clock import stable_upto
from .crdt.schema import Check, has_check, register_check
from .entries import ENTRY_CLASSES as ENTRY_CLASSES
from .entries import EXPIRE_KIND as EXPIRE_KIND
from .entries import SET_KIND as SET_KIND
from .entries import STRING as STRING
from .entries import Db as Db
from .entries import Entry as Entry
from .entries import ExpiryReg as ExpiryReg
from .entries import _never, _winner_stamp
from .entries import entry_from_state as entry_from_state
from .entries import entry_stamp as entry_stamp
from .entries import entry_state as entry_state
from .entries import entry_type as entry_type
from .op import Ctx, Effect, Op

ApplyFn = Callable[["Keyspace", "Db", Effect, Ctx], None]

# One second of HLC (ms << logical bits): coarse stamps are multiples of it.
_SECOND = 1000 << _LOGICAL_BITS

# Bit set on an effect code by the origin when the key did not exist there (see module doc).
CREATE = 0x80

# Effect code -> apply function; filled by the CRDT modules at import time.
_APPLY: dict[int, ApplyFn] = {}
# Effect code -> the type name it writes (b"string", b"set", ...); None for key-level effects
# (DEL, EXPIRE, FLUSHDB) that belong to no type.
_ETYPE: dict[int, bytes | None] = {}



def register_effect(code: int, fn: ApplyFn, etype: bytes | None = None, check: Check | None = None) -> None:
    """Register the apply function of an effect code. `etype` names the type the effect
    writes; typed effects may carry the CREATE bit and remove other types they observed.
    `check(effect, max_bulk)` says why an effect from a peer is malformed (crdt/schema.py);
    a code without one is refused from peers."""
    if code & CREATE or code in _APPLY and _APPLY[code] is not fn:
        raise ValueError(f"effect code {code} registered twice or out of range")
    _APPLY[code] = fn
    _ETYPE[code] = etype
    if check is not None:
        register_check(code, check)


def unchecked_codes() -> list[int]:
    """Registered effect codes without a shape check (a test keeps this empty)."""
    return sorted(c for c in _APPLY if not has_check(c))


def effect_known(code: Any) -> bool:
    """True when `code` is a registered effect code (with CREATE only on typed effects)."""
    if type(code) is not int:
        return False
    if code & CREATE:
        return _ETYPE.get(code & ~CREATE) is not None
    return code in _APPLY


def typed_codes() -> frozenset[int]:
    """The effect codes that write a type's content (so may carry CREATE)."""
    return frozenset(c for c, t in _ETYPE.items() if t is not None)


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
        # Alone in the cluster (see the module docstring): ops are stable once applied.
        # False is always correct, only slower; the node sets it from durable state.
        self.solo = False
        # May the content of this expired key be dropped here without an op? Only once no
        # op that could still see the key alive can arrive (replication installs the rule;
        # a solo replica may always). See `drop_expired`.
        self.expiry_safe: Callable[[ExpiryReg, int], bool] = _never
        self.ops_applied = 0
        self.ops_local = 0
        self.ops_remote = 0
        self.type_conflicts = 0
        self.dirty = 0
        self.expired_dropped = 0
        # (db, key) of the last key an emptying write removed; the node clears it before each
        # command, so it tells "this command emptied the key" (Node._typed_write).
        self.emptied: tuple[int, bytes] | None = None
        self._ctx = Ctx(origin, 0, 0, {})
        self._rctx = Ctx(origin, 0, 0, {})  # replay's
        # Coarse stamps (see the module docstring): rounded hlc -> the one shared int object.
        self._coarse: dict[int, int] = {}
        # The second `coarse` returned last, as [lo, hi) bounds of hlc: most calls fall in it.
        self.coarse_lo = 0
        self.coarse_hi = 0
        self.coarse_last = 0
        # GC passes not yet complete (gc_chunks): (the HLC vector when the pass began, per
        # db the keys written before it, None for every key).
        self.gc_gens: list[tuple[dict[str, int], list[list[bytes] | None]]] = []
        self.gc_visited = 0  # keys GC passes visited (INFO: the work they did)
        # Function libraries: replicated data that is not a key (crdt/functions.py).
        from .crdt.functions import FunctionLibs

        self.functions = FunctionLibs()

    # ---- the choke point -------------------------------------------------------------
    def apply(self, op: Op) -> bool:
        """Apply a whole op atomically (from a peer or the log). Duplicates are no-ops."""
        vv = self.vv
        have = vv.get(op.origin, 0)
        if op.seq + len(op.effects) - 1 <= have:
            return False
        ctx = Ctx(op.origin, op.seq, op.hlc, op.deps)
        dbs = self.dbs
        solo = self.solo
        for eff in op.effects:
            if ctx.seq > have:
                db = dbs[eff[1]]
                self._dispatch(db, eff, ctx)
                if not solo:
                    db.note(eff[2])  # GC's work (gc_chunks)
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

    def _dispatch(self, db: Db, eff: Effect, ctx: Ctx) -> None:
        code = eff[0]
        fn = _APPLY.get(code)
        if fn is None:
            code &= ~CREATE
            fn = _APPLY[code]
            # Delete first: what the origin saw of the key, which it saw as absent.
            self.remove_key_observed(db, eff[2], ctx)
        etype = _ETYPE[code]
        if etype is not None:
            key = eff[2]
            e = db.data.get(key)
            if (e is not None and (etype != STRING if type(e) is tuple else e.TYPE != etype)) \
                    or (db.shadow and key in db.shadow):
                self.remove_other_types(db, key, etype, ctx)
        fn(self, db, eff, ctx)

    def apply_local(self, eff: Effect, seq: int, hlc: int) -> None:
        """Apply one effect prepared here, at once (the op is closed by the node later)."""
        ctx = self._ctx
        ctx.seq = seq
        ctx.hlc = hlc
        ctx.deps = self.deps
        db = self.dbs[eff[1]]
        code = eff[0]
        fn = _APPLY.get(code)
        if fn is None or db.shadow:
            # The origin's own view: a typed write sees only its own type as visible (or
            # nothing); other types can only be hidden, so the full check is the rare path.
            self._dispatch(db, eff, ctx)
        else:
            fn(self, db, eff, ctx)
        if not (self.solo or db.gc_all):  # GC's work (gc_chunks): Db.note, inlined
            keys = db.gc_keys
            key = eff[2]
            if not keys or keys[-1] != key:
                keys.append(key)
                if len(keys) > db.gc_cap:
                    db.visit_whole()
        self.vv[self.origin] = seq
        self.vh[self.origin] = hlc
        self.dirty += 1

    def coarse(self, hlc: int) -> int:
        """`hlc` rounded down to its second, as a shared object (module docstring)."""
        if self.coarse_lo <= hlc < self.coarse_hi:
            return self.coarse_last
        ms = hlc >> _LOGICAL_BITS
        c = (ms - ms % 1000) << _LOGICAL_BITS
        got = self._coarse.get(c)
        if got is None:
            if len(self._coarse) >= 4096:
                self._coarse.clear()
            got = self._coarse[c] = c
        self.coarse_lo = c
        self.coarse_hi = c + (1000 << _LOGICAL_BITS)
        self.coarse_last = got
        return got

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
        elif type(h) is cls and h.is_empty() and not h.retain():
            # An emptied value kept for its stamp alone (drop_empty): the write starts a
            # new value, as on a node that had dropped it (a set starts as an intset
            # again, a zset as a listpack), under the kept stamp.
            fresh = cls()
            fresh.thlc, fresh.torigin = h.thlc, h.torigin
            h = hidden[cls.TYPE] = fresh
        return h

    def has_hidden(self, db: Db, key: bytes) -> bool:
        """Whether `key` holds hidden content (a type conflict's loser), not counting
        emptied values kept for their stamps."""
        hidden = db.shadow.get(key) if db.shadow else None
        return hidden is not None and any(type(h) is tuple or not h.is_empty() for h in hidden.values())

    def settle(self, db: Db, key: bytes, changed: bool = True) -> None:
        """After a write to `key`: drop empty entries and, if several types hold content,
        make the one with the latest write visible (the key-level type register).
        `changed` False: the write changed nothing a reader sees (SADD of present members),
        so WATCHes and blocked readers are not touched (Redis's signalModifiedKey)."""
        data = db.data
        e = data.get(key)
        hidden = db.shadow.get(key) if db.shadow else None
        if hidden is None:
            if e is not None and type(e) is not tuple and e.is_empty():
                self.drop_empty(db, key, e)
            if db.expires and key in db.expires:
                self.refresh_expiry(db, key)
            if changed and (db.watched or db.waiters):
                db.touch(key)
            return
        cands = [h for h in hidden.values() if not _empty(h)]
        if e is not None and not _empty(e):
            cands.append(e)
        # Empty entries stay (hidden) while concurrent ops may still arrive: they keep the
        # type register's stamp of their type (drop_empty) and what concurrent ops may
        # reference (list tombstones). GC drops them at causal stability (_gc_key).
        kept: dict[bytes, Any] = {}
        if not self.solo:
            kept = {entry_type(h): h for h in hidden.values() if _empty(h)}
            if e is not None and _empty(e):
                kept[entry_type(e)] = e
        if not cands:
            if data.pop(key, None) is not None:
                self.emptied = (db.index, key)
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
            if (rest or kept) and not self.solo:
                db.shadow[key] = {**kept, **rest}
            else:
                if rest:
                    self.type_conflicts += len(rest)
                del db.shadow[key]
        if db.expires and key in db.expires:
            self.refresh_expiry(db, key)
        if db.watched or db.waiters:
            db.touch(key)

    def remove_other_types(self, db: Db, key: bytes, etype: bytes, ctx: Ctx) -> None:
        """Observed-remove of the content of every type but `etype` at `key` (see the
        module docstring: a write of one type removes the other types it observed)."""
        data = db.data
        e = data.get(key)
        if e is not None and entry_type(e) != etype:
            if type(e) is tuple:
                if ctx.observed(e[1], e[2]):
                    del data[key]
                    self._bury_string(db, key, e)
            else:
                e.remove_observed(ctx)
                if e.is_empty():
                    self.drop_empty(db, key, e)
        hidden = db.shadow.get(key) if db.shadow else None
        if hidden:
            for t, h in list(hidden.items()):
                if t == etype:
                    continue
                if type(h) is tuple:
                    if ctx.observed(h[1], h[2]):
                        del hidden[t]
                        self._bury_string(db, key, h)
                else:
                    h.remove_observed(ctx)
            if not hidden:
                del db.shadow[key]
        self.settle(db, key)

    def remove_key_observed(self, db: Db, key: bytes, ctx: Ctx) -> None:
        """Observed-remove of everything at `key` (all types, expiry values)."""
        data = db.data
        e = data.get(key)
        if e is not None:
            if type(e) is tuple:
                if ctx.observed(e[1], e[2]):
                    del data[key]
                    self._bury_string(db, key, e)
            else:
                e.remove_observed(ctx)
                if e.is_empty():
                    self.drop_empty(db, key, e)
        hidden = db.shadow.get(key) if db.shadow else None
        if hidden:
            for t, h in list(hidden.items()):
                if type(h) is tuple:
                    if ctx.observed(h[1], h[2]):
                        del hidden[t]
                        self._bury_string(db, key, h)
                else:
                    h.remove_observed(ctx)
            if not hidden:
                del db.shadow[key]
            else:
                self.settle(db, key)
        reg = db.expires.get(key)
        if reg is not None:
            if reg.remove_observed(ctx) or self.solo:
                del db.expires[key]
            else:
                self.refresh_expiry(db, key)
        if db.watched or db.waiters:
            db.touch(key)

    def _bury_string(self, db: Db, key: bytes, e: tuple[Any, ...]) -> None:
        """A plain string `e` was removed: with peers, its stamp stays as an empty hidden
        string value, as an emptied value of any type stays (drop_empty), so that the type
        register's stamp of strings is the same whether or not a concurrent SET arrives
        after the removal."""
        if not self.solo:
            c = ENTRY_CLASSES[b"counter"]()
            c.thlc, c.torigin = e[1], e[2]
            db.shadow.setdefault(key, {})[STRING] = c

    def drop_empty(self, db: Db, key: bytes, e: Entry) -> None:
        """Remove the empty visible entry at `key`. With peers it stays hidden until GC
        finds its stamp stable: the type register's stamp of its type is the latest write
        of that type, and forgetting it when the value empties would let a concurrent
        write of the type, arriving later with an older stamp, lose to another type here
        while it wins where the value never emptied (ZADD, ZPOPMIN to empty ‖ ZADD ‖ SET)."""
        del db.data[key]
        self.emptied = (db.index, key)
        if not self.solo:
            db.shadow.setdefault(key, {})[e.TYPE] = e

    # ---- garbage collection at causal stability ----------------------------------------
    def gc_chunks(self, stable: Callable[[int, str], bool], chunk: int = 2000) -> Iterator[int]:
        """Collect what only concurrency needed, key by key, yielding after each chunk.
        `stable(hlc, origin)` is True once every replica has applied that effect and no op
        concurrent with it can still arrive: then every future op observes it, so dropping
        what only told it apart from later writes changes nothing any op can see.

        Only keys an op wrote can hold anything to collect, so a pass visits those, not the
        keyspace: every apply on a replica with peers notes its key (`Db.note`), and a pass
        seals what was noted into a generation stamped with the HLC vector of that moment.
        Each pass visits every generation's keys, once each; a generation whose vector is
        stable when a pass begins was then collected whole (every op it covers was stable
        for that pass: so a visit must leave nothing a second visit would collect), and is
        dropped. A pass costs what was written since about two passes ago, not the size of
        the keyspace (~0.35 s of CPU per million keys, every `gc_interval` while anything
        is written). `Db.gc_all` stands for every key: at start, after a snapshot install
        or a flush, when a solo replica gets peers, and past `_gc_cap` notes."""
        gens = self._gc_seal()
        for db in self.dbs:
            work = [g[1][db.index] for g in gens]
            if any(w is None for w in work):
                # The keys of `data` are copied in C (15 ms per million); merging the three
                # dicts through one Python-level list took 170 ms, in one loop turn.
                keys = list(db.data)
                if db.shadow:
                    keys += db.shadow.keys() - db.data.keys()
                if db.expires:
                    keys += db.expires.keys() - db.data.keys() - db.shadow.keys()
            else:
                some = [w for w in work if w]
                if not some:
                    continue
                keys = _distinct(some)
            data = db.data
            coarse = self.coarse
            second = _SECOND
            self.gc_visited += len(keys)
            for i in range(0, len(keys), chunk):
                n = 0
                # A key without a hidden type or a TTL register (the dicts read per chunk:
                # other code runs between chunks): a plain string is _gc_key's tuple case alone,
                # inlined (most keys, usually), and an entry that folds to one
                # (`fold_if_stable`) its fold case alone. A stamp already on a second's
                # boundary is coarse (the one shared object, or a value equal to it):
                # nothing to do, without asking `stable`.
                shadow = db.shadow
                expires = db.expires
                e: Any
                for key in keys[i:i + chunk]:
                    if not (shadow and key in shadow or expires and key in expires):
                        e = data.get(key)
                        if type(e) is tuple:
                            h = e[1]
                            if h % second and stable(h, e[2]):
                                data[key] = untracked((e[0], coarse(h), e[2]))  # stable: the coarse stamp
                            continue
                        fold = getattr(e, "fold_if_stable", None)
                        if fold is not None:
                            # A counter (each INCR with peers makes one) or a bit string:
                            # _gc_key's fold and the folded tuple's coarse stamp, without its
                            # call and its other steps: 1.17-1.48 µs per INCR'd key was
                            # 0.88-1.15 so (bench/RESULTS.md).
                            t = fold(stable)
                            if t is not None:
                                h = t[1]
                                data[key] = untracked((t[0], coarse(h), t[2])) if stable(h, t[2]) else t
                                n += 1
                            continue
                    n += self._gc_key(db, key, stable)
                yield n
        done = [id(g) for g in gens if all(stable(h, o) for o, h in g[0].items())]
        if done:
            self.gc_gens = [g for g in self.gc_gens if id(g) not in done]

    def _gc_seal(self) -> list[tuple[dict[str, int], list[list[bytes] | None]]]:
        """Seal the keys noted since the last pass into a generation; all generations."""
        dbs = self.dbs
        if any(db.gc_all or db.gc_keys for db in dbs):
            noted: list[list[bytes] | None] = []
            for db in dbs:
                noted.append(None if db.gc_all else db.gc_keys)
                db.gc_keys = []
                db.gc_all = False
            self.gc_gens.append((dict(self.vh), noted))
        for db in dbs:
            db.gc_cap = _gc_cap(db)
        self.gc_bound()
        return list(self.gc_gens)

    def gc_bound(self) -> None:
        """Keep GC's work lists small (also while no pass can run: stability blocked, a
        peer down): a db whose noted keys, over every generation, outgrow a quarter of its
        keys is marked whole (`_gc_cap`)."""
        gens = self.gc_gens
        for i, db in enumerate(self.dbs):
            noted = len(db.gc_keys)
            for _vh, work in gens:
                w = work[i]
                if w is not None:
                    noted += len(w)
            if noted > _gc_cap(db):
                db.visit_whole()
                for _vh, work in gens:
                    work[i] = None

    def gc_visit_all(self) -> None:
        """The next GC pass visits every key (the keyspace changed without noting them)."""
        for db in self.dbs:
            db.visit_whole()

    def leave_solo(self) -> None:
        """No longer alone: every entry takes its peers form now (Entry.leave_solo; a list
        deletes removed elements on the spot while solo). Each list apply brings a list's
        form up to date, but a removal of the key (DEL, a write of another type, FLUSHDB)
        reaches the entry through `remove_observed`, which cannot tell; a stale solo list
        there deleted elements that a concurrent insert of the replica that just joined
        refers to, and the two placed that insert apart."""
        self.solo = False
        for db in self.dbs:
            for e in db.data.values():
                if type(e) is not tuple:  # a plain string has no form of its own
                    e.leave_solo()
            for hidden in db.shadow.values():
                for h in hidden.values():
                    if type(h) is not tuple:
                        h.leave_solo()

    def _gc_key(self, db: Db, key: bytes, stable: Callable[[int, str], bool]) -> int:
        n = 0
        e = db.data.get(key)
        if e is not None and type(e) is not tuple:
            fold = getattr(e, "fold_if_stable", None)
            if fold is not None:
                t = fold(stable)
                if t is not None:
                    db.data[key] = e = t
                    n += 1
            else:
                n += e.gc(stable)
        hidden = db.shadow.get(key)
        if hidden:
            for h in hidden.values():
                if type(h) is not tuple:
                    n += h.gc(stable)
        if hidden and all(not _retains(h) and stable_upto(stable, self.vh, entry_stamp(h)[0]) for h in hidden.values()) \
                and (e is None or stable(*entry_stamp(e))):
            # The type register's losers can never win again once all they hold and the
            # winner's latest write are stable: a later write of another type observes, and so
            # removes, them; a later write of a loser's type that saw the winner answers
            # WRONGTYPE at its origin; and none that missed the winner can still arrive (it
            # would be concurrent with that write). Their content is discarded now.
            del db.shadow[key]
            n += len(hidden)
        elif hidden:
            # Whether it goes also waits on other keys' ops (stable_upto): this key's
            # generation may be complete before then, so it is visited again (gc_chunks).
            db.note(key)
        reg = db.expires.get(key)
        if reg is not None and all(stable(v[1], v[2]) for v in reg.vals):
            # A TTL on a key with no content (a removal that did not observe a concurrent
            # EXPIRE emptied it) is left as it is until the key expires (drop_expired): a
            # write in flight that observed the TTL but not that removal finds the key
            # alive at its origin, so it adds content without deleting first, and the TTL
            # must still be there (docs/semantics.md, "Expiry").
            if reg.deadline is None:
                # No TTL: every future write observes these values, so they can never
                # decide anything.
                del db.expires[key]
                n += len(reg.vals)
            elif key in db.data and (len(reg.vals) > 1 or reg.vals[0][3] != EXPIRE_KIND):
                # Final: one value with the resolved deadline; kinds only told concurrent
                # writes apart, and none can arrive any more.
                h, o = max((v[1], v[2]) for v in reg.vals)
                n += len(reg.vals) - 1
                reg.vals = [(reg.deadline, h, o, EXPIRE_KIND)]
        # Last: the expiry register may have gone just above (a pass must leave nothing that
        # a second one would collect: gc_chunks does not visit a key again without a write).
        if type(e) is tuple and key not in db.expires and stable(e[1], e[2]):
            c = self.coarse(e[1])
            if c is not e[1]:
                db.data[key] = untracked((e[0], c, e[2]))  # stable, no TTL: the coarse stamp (module doc)
        return n

    # ---- expiry ----------------------------------------------------------------------
    def write_expiry(self, db: Db, key: bytes, ctx: Ctx, deadline: int | None, kind: int = EXPIRE_KIND) -> None:
        """Write one expiry value, replacing the values it observed."""
        reg = db.expires.get(key)
        if reg is None:
            if deadline is None and self.solo:
                return
            reg = db.expires[key] = ExpiryReg([(deadline, ctx.hlc, ctx.origin, kind)])
        else:
            reg.remove_observed(ctx)
            reg.vals.append((deadline, ctx.hlc, ctx.origin, kind))
        if self.refresh_expiry(db, key) is None and self.solo:
            del db.expires[key]

    def clear_expiry_observed(self, db: Db, key: bytes, ctx: Ctx) -> None:
        """An overwrite (SET without KEEPTTL) forgets the TTLs it saw; a concurrent EXPIRE
        survives (documented in docs/semantics.md)."""
        reg = db.expires.get(key)
        if reg is not None:
            if reg.remove_observed(ctx) or self.solo:
                del db.expires[key]
            else:
                self.refresh_expiry(db, key)

    def refresh_expiry(self, db: Db, key: bytes) -> int | None:
        """Recompute the key's deadline (the string value shown may have changed)."""
        reg = db.expires[key]
        return reg.resolve(_winner_stamp(db.data.get(key)))

    def deadline(self, db: Db, key: bytes) -> int | None:
        reg = db.expires.get(key)
        return None if reg is None else reg.deadline

    def drop_expired(self, db: Db, key: bytes) -> bool:
        """Forget an expired key here, without an op, if that is safe: no op that could
        still see the key alive can arrive (`expiry_safe`). Every replica does the same on
        its own; until then the key is only hidden. True when dropped."""
        reg = db.expires.get(key)
        if reg is None:
            return False
        # The latest write the key holds: no stamp in an entry is later than its type
        # stamp (every adding write touches it), nor in a string than its tuple's.
        e = db.data.get(key)
        top = 0 if e is None else entry_stamp(e)[0]
        hidden = db.shadow.get(key) if db.shadow else None
        if hidden:
            for h in hidden.values():
                top = max(top, entry_stamp(h)[0])
        if not self.expiry_safe(reg, top):
            return False
        db.data.pop(key, None)
        if db.shadow:
            db.shadow.pop(key, None)
        del db.expires[key]
        self.expired_dropped += 1
        if db.watched or db.waiters:
            db.touch(key)
        return True

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


def _distinct(lists: list[list[bytes]]) -> list[bytes]:
    """The keys of GC's work lists, each once (in C: `dict.fromkeys` keeps the first)."""
    if len(lists) == 1:
        return list(dict.fromkeys(lists[0]))
    return list(dict.fromkeys(chain.from_iterable(lists)))


def _gc_cap(db: Db) -> int:
    """How many notes (writes) of a db GC's work lists hold before the db is marked whole: a
    quarter of its keys. A note costs an append per write and, in the pass, its share of
    removing repeats; visiting a key ~0.3 µs, against ~0.35 µs per key for a pass over
    every key. Memory (8 bytes a note) is the other bound."""
    return (len(db.data) >> 2) + 1024


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
