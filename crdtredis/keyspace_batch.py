"""The keyspace's bulk apply loops: a peer's batch (`apply_many`, the healing replica's hot
path), start-up replay of one op-log record (`replay`) and a local write's several effects
(`apply_local_all`: MSET, runs.py's runs). Each does for every op what
`Keyspace.apply` does (the same effects, vectors and counters), with the per-op bookkeeping
hoisted out of the loop: one context object reused from op to op (no apply function keeps
it; `apply_local` reuses its own the same way), the local deps rebuilt once per batch, and
the commonest dispatch inline (`_apply_one`): an effect calls its type's apply function
itself when `Keyspace._dispatch` would do nothing else, that is for

* a typed effect without CREATE on a key holding nothing of another type and nothing
  hidden (or a key-level effect on a key with nothing hidden);
* an effect with CREATE on a key holding nothing at all: no value, hidden value or expiry,
  nobody watching or blocked on it. `_dispatch`'s observed-remove of the key is then a
  no-op and no other type is there (most first writes of a key: a SET of a new key).

tests/test_keyspace_replay.py holds both loops to `Keyspace.apply`.

Compiled when it can be (setup.py: mypyc, as crdtredis._keyspace_batch_native): the loops'
own work (locals, tuple unpacking, dict reads, comparisons) then runs as C: ~10% fewer
instructions per replayed op of bench_persistence's log than the same loop interpreted. `apply_many` and `replay` are the compiled functions when that build was
made from this very source (wire/native.py), else these; both do the same. Values that
come from outside (effects, deps, origins, entries) are typed Any so that the compiled
copy checks nothing Python would not: it accepts and does exactly what this code does.
`apply_local_all`'s effects are the exception: this node's handlers made them, as tuples
(op.Effect), and typed so their items are read in C, not with a call each."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .atoms import untracked
from .crdt.codes import INCR as _INCR
from .crdt.codes import LINSERT as _LINSERT
from .crdt.codes import LREMOVE as _LREMOVE
from .crdt.codes import SET as _SET
from .crdt.codes import TTL_CLEAR as _TTL_CLEAR
from .crdt.list_rga import ListEntry as _ListEntry
from .crdt.list_rga import apply_insert as _apply_insert
from .crdt.list_rga import apply_remove as _apply_remove
from .crdt.map_fields import LISTPACK_MAX_ENTRIES as _HASH_MAX_ENTRIES
from .crdt.map_fields import LISTPACK_MAX_VALUE as _HASH_MAX_VALUE
from .crdt.map_fields import HashEntry as _HashEntry
from .crdt.map_fields import apply_hset as _apply_hset
from .crdt.numbers import incr_int as _incr_int
from .crdt.set_aw import _ORIGINS as _SET_ORIGINS
from .crdt.set_aw import SetEntry as _SetEntry
from .crdt.set_aw import _origin as _set_origin
from .crdt.set_aw import apply_sadd as _apply_sadd
from .crdt.string_counter import LEAN_MAKER
from .crdt.string_counter import LEAN_MAX as _LEAN_MAX
from .crdt.string_counter import CounterStr as _CounterStr
from .crdt.string_counter import apply_incr as _apply_incr
from .crdt.string_counter import apply_set as _apply_set
from .keyspace import _APPLY, _ETYPE, CREATE, STRING, Keyspace
from .op import Ctx, Effect, Op
from .wire.native import native_module

RawOp = tuple[str, int, int, dict[str, int], list[Effect]]  # origin, seq, hlc, deps, effects


def _plain(db: Any, key: Any) -> bool:
    """No TTL register, hidden type, watcher or blocked reader of `key` in `db`: the
    inline cases' condition (apply_local_all_py), per key. A key with one of them is its
    apply function's, which settles the TTL, resolves the types or touches the key."""
    return not (db.shadow and key in db.shadow or db.expires and key in db.expires
                or db.watched and key in db.watched or db.waiters and key in db.waiters)


def _apply_one(ks: Keyspace, db: Any, eff: Any, ctx: Ctx) -> None:
    """What `Keyspace._dispatch` does for one effect, its commonest case inline (module
    docstring): the type's apply function called directly when `_dispatch` would do
    nothing else."""
    code = eff[0]
    key = eff[2]
    fn = _APPLY.get(code)
    if fn is None:
        if not (key in db.data or db.shadow and key in db.shadow or db.expires and key in db.expires
                or db.watched or db.waiters):
            fn = _APPLY.get(code & ~CREATE)
    elif db.shadow and key in db.shadow:
        fn = None
    else:
        etype = _ETYPE[code]
        if etype is not None:
            e = db.data.get(key)
            if e is not None and not (etype == STRING if type(e) is tuple else e.TYPE == etype):
                fn = None
    if fn is not None:
        fn(ks, db, eff, ctx)
    else:
        ks._dispatch(db, eff, ctx)


def apply_many_py(ks: Keyspace, ops: list[Op]) -> list[Op]:
    """`apply` for each op of a peer's batch, in order; returns the new ones (an op already
    applied in part applies only its effects past what we hold)."""
    vv, vh, dbs, ours = ks.vv, ks.vh, ks.dbs, ks.origin
    noted: bool = not ks.solo  # GC's work: the keys written (Keyspace.gc_chunks)
    done: list[Op] = []
    remote = 0
    ctx = Ctx(ours, 0, 0, {})
    db: Any
    origin: Any
    effects: Any
    eff: Any
    for op in ops:
        origin = op.origin
        have: int = vv.get(origin, 0)
        effects = op.effects
        n: int = len(effects)
        seq: int = op.seq
        if seq + n - 1 <= have:
            continue
        ctx.origin = origin
        ctx.seq = seq
        ctx.hlc = op.hlc
        ctx.deps = op.deps
        if n == 1:
            eff = effects[0]
            db = dbs[eff[1]]
            _apply_one(ks, db, eff, ctx)
            if noted:
                db.note(eff[2])
        else:  # a transaction's, a script's or a pipeline's op (node.MERGEABLE)
            for eff in effects:
                if ctx.seq > have:
                    db = dbs[eff[1]]
                    _apply_one(ks, db, eff, ctx)
                    if noted:
                        db.note(eff[2])
                ctx.seq += 1
                ctx.hlc += 1
        vv[origin] = seq + n - 1
        vh[origin] = op.hlc + n - 1
        done.append(op)
        if origin != ours:
            remote += 1
    ks.ops_applied += len(done)
    if remote:
        ks.ops_remote += remote
        deps = dict(vh)
        deps.pop(ours, None)
        ks.deps = deps
    return done


def replay_py(ks: Keyspace, ops: list[RawOp], listeners: list[Callable[[Op], Any]]) -> tuple[int, int, int, int]:
    """Start-up replay of one op-log record's ops, in order, each then passed to every
    listener as an Op. Returns (applied, duplicates skipped, ops skipped after a hole in
    their origin's seqs, highest hlc applied)."""
    applied = skipped = gaps = top = remote = 0
    ctx = ks._rctx
    vv, vh, dbs, me = ks.vv, ks.vh, ks.dbs, ks.origin
    origin: Any
    deps: Any
    effects: Any
    eff: Any
    seq: int
    hlc: int
    for origin, seq, hlc, deps, effects in ops:
        n: int = len(effects)
        have: int = vv.get(origin, 0)
        if seq + n - 1 <= have:
            skipped += 1
            continue
        if seq != have + 1:
            # A hole (deleted segment): applying past it would break causality. Peers
            # resend the missing ops; this origin's later ops here are dropped.
            gaps += 1
            continue
        ctx.origin = origin
        ctx.seq = seq
        ctx.hlc = hlc
        ctx.deps = deps
        if n == 1:
            eff = effects[0]
            _apply_one(ks, dbs[eff[1]], eff, ctx)
        else:
            for eff in effects:
                _apply_one(ks, dbs[eff[1]], eff, ctx)
                ctx.seq += 1
                ctx.hlc += 1
        vv[origin] = seq + n - 1
        h = vh[origin] = hlc + n - 1
        if h > top:
            top = h
        if origin != me:
            remote += 1
        applied += 1
        if listeners:
            op = Op(origin, seq, hlc, deps, effects)
            for listener in listeners:
                listener(op)
    ks.ops_applied += applied
    if remote:
        ks.ops_remote += remote
        d = dict(vh)
        d.pop(me, None)
        ks.deps = d
    return applied, skipped, gaps, top


def apply_local_all_py(ks: Keyspace, effs: list[Effect], into: list[Effect], seq: int, hlc: int) -> None:
    """`Keyspace.apply_local` of each of `effs` in turn (Node._emit_all: MSET's SETs), the
    k-th with seq + k and hlc + k, each appended to `into` (its op's effects) just before
    it applies, as Node._emit does; the vectors and the dirty count are updated once,
    after the last effect that applied (an apply that raises leaves what `_emit` would).

    Each case below is of a key that is *plain*: no TTL register, hidden type, watcher or
    blocked reader (`Db.expires`, `Db.shadow`, `Db.watched`, `Db.waiters`). Such a key is
    the apply function's, which settles its TTL register, resolves its types or touches
    it. These are checked per key, not per db: a db where some keys expire (a cache's,
    sessions', locks'), where a worker blocks on a queue (BRPOP), or where, with peers, a
    DEL left a key's emptied collection hidden until GC, is most applications', and their
    other keys' writes still take these paths.

    A SET (dispatched to string_counter.apply_set) without TTL to a plain key holding
    nothing or a plain string whose stamp it observed is written here: what
    string_counter.apply_set does in that case (the stored tuple, the coarse stamp when
    solo), without a call per key (MSET of new or plain keys: the common case). The db's
    dicts are read once per run of such SETs, and again after any other apply, which
    may change them. tests/test_cmd_strings.py holds MSET to one SET per key.

    An HSET of one field (`HSET key field value`, runs.py's HSET runs) to a plain key's
    visible hash is written here too: what crdt/map_fields.apply_hset does in that case
    (the bare value when solo; with peers the stamped value over none, a stable value or
    one write's stamped value), without its call; a field holding increments kept apart
    goes to apply_hset. tests/test_inline_hset.py holds this path to apply_hset.

    A SADD of one member (runs.py's SADD runs) that a plain key's hashtable-encoded set
    lacks is written here too: what crdt/set_aw.apply_sadd does in that case, without its
    calls. tests/test_inline_sadd.py holds this path to apply_sadd.

    An INCR on a replica without peers, of a missing key or a plain string (no hidden
    type, watcher or blocked reader), is folded here: string_counter.apply_incr's solo
    case (the register's new value keeps its stamp) without its call; with peers, an INCR of
    a missing key makes apply_incr's lean counter here (CounterStr.of_incr), and one of a
    plain string or a counter without a TTL counts in it here (CounterStr.of_tuple_incr,
    CounterStr.incr), without the calls around them. tests/test_inline_incr.py holds these
    to apply_incr.

    Consecutive one-value pushes to one visible list of a plain key (runs.py's LPUSH and
    RPUSH runs: at the head, or each after the element the one before it added) go to the
    list in one call (crdt/list_ends.py's runs: one move of the end block's arrays instead
    of one each); when the list declines, they apply one by one. So do consecutive pops of
    one list from one end, for as long as it stays visible (list_ends.pop_run).
    tests/test_list_end_runs.py holds these paths to apply_insert and apply_remove."""
    ctx = ks._ctx
    deps: dict[Any, Any] = ks.deps
    ctx.deps = deps
    origin: Any = ctx.origin
    dbs: list[Any] = ks.dbs
    solo: bool = ks.solo
    noted: bool = not solo
    # Module globals as locals: the compiled loop reads a global from a dict each time.
    apply_fns = _APPLY
    set_fn: Any = _apply_set
    # Any: typed as `untracked`'s `(o: T) -> T`, the compiled call's result is unpacked and
    # packed again into a new tuple, which the collector tracks (the record it stores).
    untrack: Any = untracked
    ttl_clear: int = _TTL_CLEAR
    hash_cls: Any = _HashEntry
    insert_fn: Any = _apply_insert
    remove_fn: Any = _apply_remove
    hset_fn: Any = _apply_hset
    incr_fn: Any = _apply_incr
    incr_create: int = _INCR | CREATE
    incr: Any = _incr_int
    counter_of_tuple_incr: Any = _CounterStr.of_tuple_incr
    counter_cls: Any = _CounterStr
    lean: Any = LEAN_MAKER  # string_counter's maker of lean counters (LEAN_SLOTS, in that order)
    lean_cap: int = 3 * (_LEAN_MAX - 1)
    hb: Any  # an HLC as an object: a compiled int is boxed at each store
    list_cls: Any = _ListEntry
    fresh: Any
    sadd_fn: Any = _apply_sadd
    set_cls: Any = _SetEntry
    # The one str object every set stamp of this origin shares (set_aw._origin).
    set_origin: Any = _SET_ORIGINS.get(origin) or _set_origin(origin)
    members: dict[Any, Any]
    pool: Any
    max_value: int = _HASH_MAX_VALUE
    max_entries: int = _HASH_MAX_ENTRIES
    fields: dict[Any, Any]
    written: bool
    db: Any
    eff: tuple[Any, ...]  # local effects are tuples: their items read in C (Any: a call each)
    e: Any
    te: tuple[Any, ...]
    th: int
    ok: bool
    data: dict[Any, Any] = {}
    expires: dict[Any, Any] = {}  # the SETs' db's dicts that `_plain` reads
    shadow: dict[Any, Any] = {}
    watched: dict[Any, Any] = {}
    waiters: dict[Any, Any] = {}
    fast: Any = None  # the db whose plain SETs are written here (docstring), else None
    stamp: Any = None  # the coarse stamp of the second [lo, hi) (solo: Keyspace.coarse)
    lo: int = 0
    hi: int = 0
    done: int = 0
    n: int = len(effs)
    m: int
    k: int
    values: list[Any]
    singly: int = 0  # effects before this one are not tried as a run of pushes or pops again
    try:
        while done < n:
            eff = effs[done]
            h: int = hlc + done
            db = dbs[eff[1]]
            # The apply function, compared by identity below: cheaper in the compiled loop
            # than comparing the effect's code (an object) with each case's.
            fn = apply_fns.get(eff[0])
            if fn is insert_fn and len(eff) == 8 and done + 1 < n and done >= singly:
                # A run of one-value pushes to one list (runs.py's LPUSH / RPUSH runs): the
                # pushes apply_insert's fast path makes, in one move (crdt/list_ends.py).
                key = eff[2]
                e = db.data.get(key)
                if type(e) is list_cls and e.peers is not solo and _plain(db, key):
                    m = done + 1
                    if eff[3] == 0:
                        while m < n and _head_push(effs[m], eff[1], key):
                            m += 1
                    else:
                        while m < n and _next_push(effs[m], eff[1], key, hlc + m - 1):
                            m += 1
                    k = m - done
                    singly = m  # if the run declines, its pushes go one by one (no new scan)
                    if k > 1:
                        values = [effs[t][7] for t in range(done, m)]
                        if e.push_head_run(h, origin, values) if eff[3] == 0 else \
                                e.push_after_last_run(h, origin, eff[3], eff[4] or origin, eff[5], values):
                            e.thlc = h + k - 1  # apply_insert's: a local stamp is past every one
                            e.torigin = origin
                            _applied(effs, done, m, into, db, key, noted)
                            done = m
                            continue
            elif fn is remove_fn and len(eff) == 7 and done + 1 < n and done >= singly \
                    and (eff[6] == 0 or eff[6] == -2):
                # A run of pops of one list (runs.py's LPOP / RPOP runs) that leaves it
                # visible: apply_remove's fast path for each, in one call (crdt/list_ends.py).
                key = eff[2]
                e = db.data.get(key)
                if type(e) is list_cls and e.peers is not solo and _plain(db, key):
                    m = done + 1
                    while m < n and _pop(effs[m], eff[1], key, eff[6]):
                        m += 1
                    singly = m  # the ones the list declines go one by one (no new scan)
                    if m - done > 1:
                        k = e.pop_run(eff[6] == 0, h, origin, effs[done:m])
                        if k:
                            _applied(effs, done, done + k, into, db, key, noted)
                            done += k
                            continue
            into.append(eff)
            written = False  # by one of the inline cases below
            if fn is set_fn and len(eff) == 6 and eff[4] == ttl_clear and eff[5] is None:
                if db is not fast:
                    fast = db
                    data = db.data
                    expires = db.expires
                    shadow = db.shadow
                    watched = db.watched
                    waiters = db.waiters
                if fast is not None:
                    key = eff[2]
                    e = data.get(key)
                    # `_plain`, with the dicts read once per run of SETs (MSET's ten a request)
                    if expires and key in expires or shadow and key in shadow or watched and key in watched \
                            or waiters and key in waiters:
                        ok = False  # apply_set's
                    elif e is None:
                        ok = True
                    elif type(e) is tuple:
                        te = e
                        if te[2] == origin:
                            th = te[1]  # compared as ints, not h boxed to compare with an object
                            ok = th < h
                        else:
                            ok = deps.get(te[2], 0) >= te[1]
                    else:
                        ok = False
                    if ok:
                        if not solo:
                            data[key] = untrack((eff[3], h, origin))
                        else:
                            if not lo <= h < hi:
                                stamp = ks.coarse(h)
                                lo = ks.coarse_lo
                                hi = ks.coarse_hi
                            data[key] = untrack((eff[3], stamp, origin))
                        written = True
            elif fn is hset_fn and len(eff) == 5:
                key = eff[2]
                e = db.data.get(key)
                if type(e) is hash_cls and _plain(db, key):
                    f = eff[3]
                    v = eff[4]
                    hb = h  # boxed once, for the field's stamp and the type stamp
                    fields = e.fields
                    if solo:
                        fields[f] = v
                        ok = True
                    else:
                        # A local write observes every stamp the state holds (its deps are
                        # all that was applied): it replaces a stable value or one write's
                        # stamped value; a Field (increments kept apart) is apply_hset's.
                        cur = fields.get(f)
                        ok = cur is None or type(cur) is bytes or type(cur) is tuple
                        if ok:
                            fields[f] = untrack((v, hb, origin))
                            fresh = e.fresh
                            if fresh is not None:  # a big hash: its next GC visit looks at f
                                fresh.append(f)  # crdt/members.stamped, inlined
                                if len(fresh) > len(fields):
                                    e.fresh = None
                    if ok:
                        if len(v) > max_value or len(f) > max_value or len(fields) > max_entries:
                            e.big = True
                        # map_fields._finish: a local stamp is past every stamp applied.
                        e.thlc = hb
                        e.torigin = origin
                        written = True
            elif fn is sadd_fn and len(eff) == 4:
                # A SADD of one member (runs.py's SADD runs) new to a set in hashtable
                # encoding: what crdt/set_aw.apply_sadd does then (SetEntry.add: the member
                # unstamped when solo, with this write's stamp with peers, and GC's note of
                # it in a big set; the type stamp), without its calls. Small sets (intset
                # encoding: a member may convert it) and members already there are its.
                key = eff[2]
                e = db.data.get(key)
                if type(e) is set_cls and e.ht and _plain(db, key):
                    f = eff[3]
                    members = e.m
                    if f not in members:
                        pool = e.pool
                        if pool is not None:
                            pool.append(f)
                        hb = h  # boxed once, for the member's stamp and the type stamp
                        if solo:
                            members[f] = 0
                        else:
                            members[f] = untrack((hb, set_origin))
                            fresh = e.fresh
                            if fresh is not None:  # a big set: its next GC visit looks at f
                                fresh.append(f)  # crdt/members.stamped, inlined
                                if len(fresh) > len(members):
                                    e.fresh = None
                        # Entry.touch: a local stamp is past every stamp applied.
                        e.thlc = hb
                        e.torigin = origin
                        written = True
            elif (fn is incr_fn or fn is None and eff[0] == incr_create) and type(eff[3]) is int \
                    and _plain(db, eff[2]):
                # An INCR (runs.py's INCR runs) on a replica without peers: string_counter.
                # apply_incr's solo case, folded into the register at once, without its call.
                # With peers, of a missing key: apply_incr's lean counter (CounterStr.of_incr),
                # without `_dispatch` and apply_incr around it (~1 µs of a 4 µs INCR).
                # With CREATE (the origin saw no key) on a key holding nothing, no value or
                # TTL, `_dispatch`'s observed-remove has nothing to remove (`_apply_one`).
                key = eff[2]
                data = db.data
                e = data.get(key)
                if e is None:
                    if solo:
                        nv = incr(None, eff[3])
                        if nv is not None:
                            data[key] = untrack((nv, h, origin))
                            written = True
                    else:  # CounterStr.of_incr, without its call
                        data[key] = lean.make7(None, eff[3], None, (), incr(None, eff[3]), h, origin)
                        written = True
                elif solo and type(e) is tuple and fn is incr_fn:
                    te = e
                    nv = incr(te[0], eff[3])
                    if nv is not None:  # (else apply_incr stores nothing either: it answers)
                        data[key] = untrack((nv, te[1], te[2]))  # the value keeps its stamp
                        written = True
                elif not solo and fn is incr_fn:
                    # With peers, of a plain string (a counter GC folded) or of a counter:
                    # apply_incr's middle case without `_dispatch` and apply_incr around it,
                    # and when the increment is the newest (always, for a local one) the
                    # lean form's code itself: CounterStr.of_tuple_incr's and
                    # CounterStr.incr's lean branches, without their calls (~0.35 µs of a
                    # 3.2 µs INCR with peers in process). A key with a TTL is apply_incr's
                    # (`_plain`): it settles the TTL against the counter.
                    if type(e) is tuple:
                        te = e
                        th = te[1]
                        if h > th or h == th and origin > te[2]:
                            nv = incr(te[0], eff[3])
                            # te: a plain string's (value, hlc, origin); made untracked
                            data[key] = lean.make7(None, eff[3], untrack(te), (), te[0] if nv is None else nv, h,
                                                   origin)
                        else:
                            ctx.seq = seq + done
                            ctx.hlc = h
                            data[key] = counter_of_tuple_incr(e, eff[3], ctx)
                        written = True
                    elif type(e) is counter_cls:
                        if e._reg is None and len(e._e) < lean_cap \
                                and (h > e.thlc or h == e.thlc and origin > e.torigin):
                            e._e = untrack(e._e + (e.thlc, e.torigin, e._d))
                            e._d = eff[3]
                            nv = incr(e._v, eff[3])
                            if nv is not None:
                                e._v = nv
                            e.thlc = h
                            e.torigin = origin
                        else:
                            ctx.seq = seq + done
                            ctx.hlc = h
                            e.incr(eff[3], ctx)
                        written = True
                fast = None  # `data` is this db's now: the SET case looks again
            if not written:
                ctx.seq = seq + done
                ctx.hlc = h
                if fn is None or db.shadow and eff[2] in db.shadow:
                    ks._dispatch(db, eff, ctx)
                else:
                    fn(ks, db, eff, ctx)
                fast = None  # that apply may have changed what the fast case needs: look again
            if noted and not db.gc_all:  # Db.note, inlined as in apply_local
                keys = db.gc_keys
                key = eff[2]
                if not keys or keys[-1] != key:
                    keys.append(key)
                    if len(keys) > db.gc_cap:
                        db.visit_whole()
            done += 1
    finally:
        if done:
            ks.vv[ks.origin] = seq + done - 1
            ks.vh[ks.origin] = hlc + done - 1
            ks.dirty += done


def _applied(effs: list[Any], i: int, j: int, into: list[Any], db: Any, key: Any, noted: bool) -> None:
    """effs[i:j], a run applied to `key` in one call: appended to their op, and the key
    noted for GC (Db.note, once: the notes of one key in a row are one)."""
    for t in range(i, j):
        into.append(effs[t])
    if noted and not db.gc_all:
        keys = db.gc_keys
        if not keys or keys[-1] != key:
            keys.append(key)
            if len(keys) > db.gc_cap:
                db.visit_whole()


def _pop(eff: Any, dbi: Any, key: Any, hint: Any) -> bool:
    """`eff` pops list `key` of db `dbi` from the same end (LPOP / RPOP of one element)."""
    return bool(type(eff) is tuple and len(eff) == 7 and eff[0] == _LREMOVE and eff[6] == hint and eff[1] == dbi
                and eff[2] == key)


def _head_push(eff: Any, dbi: Any, key: Any) -> bool:
    """`eff` is a one-value push at the head of list `key` of db `dbi` (LPUSH)."""
    return bool(type(eff) is tuple and len(eff) == 8 and eff[0] == _LINSERT and eff[3] == 0 and eff[1] == dbi
                and eff[2] == key)


def _next_push(eff: Any, dbi: Any, key: Any, prev: int) -> bool:
    """`eff` is a one-value push of list `key` of db `dbi` right after the element the
    effect stamped `prev` added (RPUSH after RPUSH, runs.py: that element is (prev, this
    node, 0))."""
    return bool(type(eff) is tuple and len(eff) == 8 and eff[0] == _LINSERT and eff[3] == prev and eff[4] == ""
                and eff[5] == 0 and eff[1] == dbi and eff[2] == key)


def set_effects_py(dbi: int, argv: list[Any]) -> list[Effect]:
    """MSET's effects, (SET, dbi, key, value, TTL_CLEAR, None) for each key and value of
    argv[1:] (an even number of them). Interpreted, building them cost ~80 ns a key, 11% of
    a 10-key MSET (a comprehension: the range, two subscripts, two globals and the tuple
    per key); the compiled loop builds each tuple in C (bench/RESULTS.md)."""
    code: Any = _SET  # Any, not int: the compiled tuple takes the objects without boxing
    ttl: Any = _TTL_CLEAR
    db: Any = dbi
    out: list[Effect] = []
    for j in range(1, len(argv), 2):
        out.append((code, db, argv[j], argv[j + 1], ttl, None))
    return out


def run_effects_py(dbi: int, cmds: list[Any], i: int, j: int) -> list[Effect]:
    """The effects of cmds[i:j], each a `SET key value` (runs.py: a read batch's run of
    pipelined SETs): (SET, dbi, key, value, TTL_CLEAR, None) each, as set_cmd emits."""
    code: Any = _SET
    ttl: Any = _TTL_CLEAR
    db: Any = dbi
    out: list[Effect] = []
    argv: Any
    for x in range(i, j):
        argv = cmds[x]
        out.append((code, db, argv[1], argv[2], ttl, None))
    return out


def _native() -> Any:
    """The compiled copy of this module, if it was built from this source."""
    return native_module("crdtredis._keyspace_batch_native", __file__)


# Only this module looks for the compiled copy (the copy itself runs this code too).
_NATIVE: Any = _native() if __name__ == "crdtredis.keyspace_batch" else None
apply_many: Callable[[Keyspace, list[Op]], list[Op]] = apply_many_py if _NATIVE is None else _NATIVE.apply_many_py
replay: Callable[[Keyspace, list[RawOp], list[Callable[[Op], Any]]], tuple[int, int, int, int]] = \
    replay_py if _NATIVE is None else _NATIVE.replay_py
apply_local_all: Callable[[Keyspace, list[Effect], list[Effect], int, int], None] = \
    apply_local_all_py if _NATIVE is None else _NATIVE.apply_local_all_py
set_effects: Callable[[int, list[Any]], list[Effect]] = set_effects_py if _NATIVE is None else _NATIVE.set_effects_py
run_effects: Callable[[int, list[Any], int, int], list[Effect]] = \
    run_effects_py if _NATIVE is None else _NATIVE.run_effects_py


def compiled() -> bool:
    """True when `apply_many`, `replay`, `apply_local_all`, `set_effects` and `run_effects`
    are the compiled loops."""
    return _NATIVE is not None
