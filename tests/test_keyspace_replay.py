"""keyspace_batch.replay (start-up replay's apply path) and keyspace_batch.apply_many (a peer's
batch) do what Keyspace.apply does: the same state, vectors and counters, on ops of every
common type, with concurrency (type conflicts, hidden entries, CREATE), multi-effect ops
and expiry, on a replica with peers and on a solo one; duplicates and ops after a hole are
skipped and counted, and listeners see every applied op. The inline dispatch of a CREATE
effect (no `_dispatch` when the key holds nothing at all) is checked against `_dispatch`
on keys that hold a value, only an expiry, hidden content, a WATCH or a blocked client."""
from __future__ import annotations

import copy
import random
from typing import Any

import pytest

from crdtredis import keyspace_batch
from crdtredis.crdt import codes
from crdtredis.keyspace import CREATE, Keyspace
from crdtredis.op import Op
from tests.support.sim import Cluster
from tests.support.state import dump_keyspace

KEYS = [b"k1", b"k2", b"k3"]

# The loops as written, and their compiled copy when built (setup.py): both must agree with apply.
LOOPS = {"pure": (keyspace_batch.apply_many_py, keyspace_batch.replay_py)}
if keyspace_batch.compiled():
    LOOPS["compiled"] = (keyspace_batch.apply_many, keyspace_batch.replay)
loops = pytest.mark.parametrize("impl", sorted(LOOPS))


def _command(rng: random.Random) -> list[Any]:
    k = rng.choice(KEYS)
    v = str(rng.randrange(100))
    return rng.choice([
        ["SET", k, v], ["SET", k, v, "PX", 100000], ["INCR", k], ["INCRBY", k, 5], ["APPEND", k, v],
        ["LPUSH", k, v, v], ["RPUSH", k, v], ["LPOP", k], ["SADD", k, v, "x"], ["SREM", k, v],
        ["HSET", k, v, v, "f", v], ["HDEL", k, v], ["ZADD", k, rng.randrange(9), v], ["DEL", k],
        ["EXPIRE", k, 1000], ["PERSIST", k], ["MSET", k, v, rng.choice(KEYS), v],
    ])


class _Holder:
    def __init__(self, ks: Keyspace) -> None:
        self.keyspace = ks


def _history(seed: int, replicas: int) -> tuple[str, list[Op]]:
    """The ops replica 0 applied, in the order it applied them (its own and its peers')."""
    rng = random.Random(seed)
    c = Cluster(replicas, seed=seed)
    r0 = c[0]
    order: list[Op] = []
    remote = r0.node.apply_remote

    def record(op: Op) -> Any:
        if not r0.applied(op):
            order.append(op)
        return remote(op)

    r0.node.apply_remote = record  # type: ignore[method-assign]
    for _ in range(150):
        i = rng.randrange(replicas)
        before = len(c[i].emitted)
        if rng.random() < 0.1:
            c.run(i, "MULTI")
            c.run(i, *_command(rng))
            c.run(i, *_command(rng))
            c.run(i, "EXEC")
        else:
            c.run(i, *_command(rng))
        if i == 0:
            order.extend(c[0].emitted[before:])
        if rng.random() < 0.3:
            c.deliver_some(rng.randrange(1, 6), dup_prob=0.0)
    c.deliver_all(dup_prob=0.0)
    return r0.node.keyspace.origin, order


def _raw(op: Op) -> tuple[str, int, int, dict[str, int], list[Any]]:
    return (op.origin, op.seq, op.hlc, op.deps, op.effects)


@loops
@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("solo", [False, True])
def test_replay_matches_apply(seed: int, solo: bool, impl: str) -> None:
    replay = LOOPS[impl][1]
    origin, ops = _history(seed, 1 if solo else 3)
    assert ops
    a, b = Keyspace(origin), Keyspace(origin)
    a.solo = b.solo = solo
    seen: list[Op] = []
    i = 0
    while i < len(ops):
        run = ops[i:i + 1 + i % 4]  # records of 1 to 4 ops
        i += len(run)
        for op in run:
            assert a.apply(op)
        assert replay(b, [_raw(op) for op in run], [seen.append]) == \
            (len(run), 0, 0, max(op.hlc + len(op.effects) - 1 for op in run))
        assert a.deps == b.deps
    assert seen == ops
    assert dump_keyspace(_Holder(a)) == dump_keyspace(_Holder(b))
    assert (a.vv, a.vh, a.ops_applied, a.ops_remote, a.type_conflicts) == \
        (b.vv, b.vh, b.ops_applied, b.ops_remote, b.type_conflicts)


@loops
def test_replay_skips_duplicates_and_ops_after_a_hole(impl: str) -> None:
    replay = LOOPS[impl][1]
    origin, ops = _history(1, 1)
    own = [op for op in ops if op.origin == origin]
    assert len(own) >= 4
    ks = Keyspace("other")
    seen: list[Op] = []
    assert replay(ks, [_raw(own[0]), _raw(own[1])], [seen.append])[:3] == (2, 0, 0)
    # own[1] again (a duplicate), then own[3] past the hole where own[2] is missing.
    assert replay(ks, [_raw(own[1]), _raw(own[3])], [seen.append]) == (0, 1, 1, 0)
    assert seen == own[:2]
    assert ks.vv[origin] == own[1].seq + len(own[1].effects) - 1
    assert ks.ops_applied == ks.ops_remote == 2 and ks.deps == {origin: ks.vh[origin]}


@loops
@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("solo", [False, True])
def test_apply_many_matches_apply(seed: int, solo: bool, impl: str) -> None:
    apply_many = LOOPS[impl][0]
    origin, ops = _history(seed, 1 if solo else 3)
    a, b = Keyspace(origin), Keyspace(origin)
    a.solo = b.solo = solo
    i = 0
    while i < len(ops):
        run = ops[i:i + 1 + i % 5]
        i += len(run)
        want = [op for op in run if a.apply(op)]
        # With the run's first op again in front: a duplicate, skipped.
        assert apply_many(b, run[:1] + run if i > len(run) else run) == want
        assert a.deps == b.deps
    assert dump_keyspace(_Holder(a)) == dump_keyspace(_Holder(b))
    assert (a.vv, a.vh, a.ops_applied, a.ops_remote, a.type_conflicts) == \
        (b.vv, b.vh, b.ops_applied, b.ops_remote, b.type_conflicts)


def _created_set(origin: str, seq: int, hlc: int, key: bytes) -> Op:
    """A SET made where `key` did not exist (the CREATE bit), observing nothing."""
    return Op(origin, seq, hlc, {}, [(codes.SET | CREATE, 0, key, b"new", codes.TTL_CLEAR, None)])


class _Watcher:
    watch_dirty = False


@loops
@pytest.mark.parametrize("held", ["nothing", "value", "expiry only", "hidden", "watched", "blocked"])
def test_create_dispatch_inline_matches_dispatch(held: str, impl: str) -> None:
    """What a CREATE effect finds at its key decides whether `_dispatch` may be skipped:
    each loop must end where `Keyspace.apply` does, watchers and blocked clients told alike."""
    c = Cluster(2, seed=1)
    k = b"k"
    if held == "value":
        c.run(1, "SET", k, "old")
    elif held == "expiry only":
        c.run(1, "SET", k, "old", "EX", 1000)
    elif held == "hidden":
        c.run(1, "SADD", k, "m")
        c.run(0, "SET", k, "x")
        c.deliver_all(dup_prob=0.0)
        c.run(0, "DEL", k)
    c.deliver_all(dup_prob=0.0)
    base = c[1].node.keyspace
    if held == "expiry only":  # the value gone, its expiry value kept
        del base.dbs[0].data[k]
        assert k in base.dbs[0].expires
    if held == "hidden":
        assert base.dbs[0].shadow and k not in base.dbs[0].data
    origin = c[0].node.keyspace.origin
    op = _created_set(origin, base.vv.get(origin, 0) + 1, max(base.vh.values(), default=0) + (1 << 20), k)
    apply_many, replay = LOOPS[impl]
    results = []
    for how in ("apply", "apply_many", "replay"):
        ks = copy.deepcopy(base)
        db = ks.dbs[0]
        w = _Watcher()
        woke: list[int] = []
        if held == "watched":
            db.watched[k] = {w}  # type: ignore[arg-type]
        elif held == "blocked":
            db.waiters[k] = [lambda: woke.append(1)]  # noqa: B023 - called before the next turn
        if how == "apply":
            assert ks.apply(op)
        elif how == "apply_many":
            assert apply_many(ks, [op]) == [op]
        else:
            assert replay(ks, [_raw(op)], [])[0] == 1
        results.append((dump_keyspace(_Holder(ks)), ks.vv, ks.vh, ks.deps, w.watch_dirty, woke))
    assert results[0] == results[1] == results[2]
    assert results[0][4] == (held == "watched") and bool(results[0][5]) == (held == "blocked")


def test_the_compiled_loops_are_used_when_built() -> None:
    """A build from this source is found and used (setup.py; CI builds it)."""
    native = keyspace_batch._native()
    if native is None:
        pytest.skip("no compiled build of crdtredis/keyspace_batch.py (python3 setup.py build_ext --inplace)")
    assert keyspace_batch.compiled()
    assert keyspace_batch.apply_many is native.apply_many_py and keyspace_batch.replay is native.replay_py


def test_gc_gives_stable_plain_strings_the_shared_coarse_stamp_and_leaves_the_rest() -> None:
    """The GC pass's plain-string loop: a stable stamp becomes its second's shared object
    (Keyspace.coarse), an unstable one stays exact, a coarse one is left alone, and a
    string with a TTL keeps its exact stamp (ExpiryReg ties a SET's TTL to it)."""
    from crdtredis.clock import LOGICAL_BITS
    from crdtredis.op import Ctx

    ks = Keyspace("a")
    db = ks.dbs[0]
    sec = 1000 << LOGICAL_BITS
    t0 = 1_800_000_000_123 << LOGICAL_BITS
    for i, (h, o) in enumerate([(t0 + 1, "a"), (t0 + 2, "b"), (t0 + 5, "a")]):
        db.data[b"k%d" % i] = (b"v", h, o)

    def stable(h: int, o: str) -> bool:
        return o == "a"

    sum(ks.gc_chunks(stable))
    c0, c2 = db.data[b"k0"][1], db.data[b"k2"][1]
    assert c0 == t0 - t0 % sec and c0 is c2  # one shared object per second
    assert db.data[b"k1"][1] == t0 + 2  # not stable: exact
    sum(ks.gc_chunks(stable))
    assert db.data[b"k0"][1] is c0
    ks.write_expiry(db, b"k2", Ctx("a", 9, t0 + 9, {}), 2_000_000_000_000)
    db.data[b"k2"] = (b"v", t0 + 5, "a")
    sum(ks.gc_chunks(stable))
    assert db.data[b"k2"][1] == t0 + 5  # a TTL'd string keeps its exact stamp
