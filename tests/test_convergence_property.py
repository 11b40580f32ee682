"""Whole-keyspace convergence (issue 8): 3-4 replicas, random commands of every type on the
same few keys (type conflicts included), TTLs that expire while the test runs, random causal
delivery with duplicates, durable acks and gossip at random moments, GC and expiry without
ops at random points, crash restarts (new incarnations), a wiped replica rejoining and a new
replica joining by snapshot. Pipelines run as a connection runs them: runs of one command
in one call (runs.py). After everything is delivered, every replica shows exactly
what one replica that applied every op once, in order, without GC, shows; and a restart
never changes what a replica shows.

CRDT_PROPERTY_EXAMPLES raises the number of examples (500 in CI)."""
from __future__ import annotations

import os
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.cluster_sim import SimCluster, assert_same
from tests.support.state import assert_one_entry_per_type, visible_state

EXAMPLES = int(os.environ.get("CRDT_PROPERTY_EXAMPLES", "500"))
KEYS = ["k0", "k0", "k0", "k1"]
VALS = ["a", "b"]

key = st.sampled_from(KEYS)
val = st.sampled_from(VALS)
num = st.sampled_from(["7", "1.5", "x"])
ms = st.integers(1, 400)  # a deadline this far in the (fake) future
side = st.sampled_from(["LEFT", "RIGHT"])

# Commands by family: an example mostly draws from one family (so that concurrent writes
# meet on the same key and member often enough), always with the key-level commands.
KEYLEVEL = [
    st.tuples(st.just("DEL"), key),
    st.tuples(st.just("EXPIRE"), key, ms),
    st.tuples(st.just("PERSIST"), key),
    st.tuples(st.just("RENAME"), key, key),
    st.tuples(st.just("MOVE"), key, st.sampled_from([0, 1])),  # db 0 -> 1, or 1 -> 0
    st.tuples(st.just("FLUSHDB")),
]
FAMILIES: dict[str, list[Any]] = {
    "string": [
        st.tuples(st.just("SET"), key, num),
        st.tuples(st.just("SETPX"), key, num, ms),
        st.tuples(st.just("SET"), key, num, st.just("KEEPTTL")),
        # MSET's SETs are applied in one call (keyspace_batch.apply_local_all).
        st.tuples(st.just("MSET"), key, num, key, val),
        st.tuples(st.just("INCRBY"), key, st.integers(-3, 3)),
        st.tuples(st.just("INCRBYFLOAT"), key, st.sampled_from(["0.5", "-1.25"])),
        st.tuples(st.just("APPEND"), key, val),
        st.tuples(st.just("DB1SET"), key, val),
        st.tuples(st.just("SETBIT"), key, st.integers(0, 12), st.integers(0, 1)),
        st.tuples(st.just("BITFIELD"), key, st.just("INCRBY"), st.just("u4"), st.integers(0, 8), st.integers(-3, 3)),
        st.tuples(st.just("PFADD"), key, val),
    ],
    "list": [
        st.tuples(st.sampled_from(["LPUSH", "RPUSH"]), key, val),
        st.tuples(st.sampled_from(["LPOP", "RPOP"]), key),
        st.tuples(st.just("LREM"), key, st.just(0), val),
        st.tuples(st.just("LINSERT"), key, st.sampled_from(["BEFORE", "AFTER"]), val, val),
        st.tuples(st.just("LSET"), key, st.integers(-2, 1), val),
        st.tuples(st.just("LMOVE"), key, key, side, side),
    ],
    "set": [
        st.tuples(st.just("SADD"), key, val),
        st.tuples(st.just("SREM"), key, val),
        st.tuples(st.just("SPOP"), key),
        st.tuples(st.just("SMOVE"), key, key, val),
    ],
    "hash": [
        st.tuples(st.just("HSET"), key, st.sampled_from(["f", "g"]), num),
        st.tuples(st.just("HDEL"), key, st.sampled_from(["f", "g"])),
        st.tuples(st.just("HINCRBY"), key, st.sampled_from(["f", "n"]), st.integers(-2, 2)),
    ],
    "zset": [
        st.tuples(st.just("ZADD"), key, st.integers(0, 5), val),
        st.tuples(st.just("ZREM"), key, val),
        st.tuples(st.just("ZINCRBY"), key, st.integers(-2, 2), val),
        st.tuples(st.just("ZPOPMIN"), key),
    ],
    "ttl": [
        st.tuples(st.just("SET"), key, num),
        st.tuples(st.just("SETPX"), key, num, ms),
        st.tuples(st.just("MSET"), key, num, key, val),
        st.tuples(st.just("SADD"), key, val),
        st.tuples(st.just("SREM"), key, val),
        st.tuples(st.just("EXPIRE"), key, ms),
        st.tuples(st.just("EXPIRE"), key, ms),
        st.tuples(st.just("PERSIST"), key),
        st.tuples(st.just("TICK")),
    ],
}
MIXED = [c for cs in FAMILIES.values() for c in cs]


def steps_of(family: str) -> Any:
    """Rounds: a burst of concurrent commands at random replicas, then one thing that moves
    state around (a partial delivery, acks and a collection, a restart...). Rounds make the
    interleavings that matter (a collection while a concurrent op is still in flight to the
    collector) frequent instead of astronomically rare."""
    kinds = [*(MIXED if family == "mixed" else FAMILIES[family]), *KEYLEVEL]
    cmds = st.one_of(*kinds)
    cmd = st.one_of(
        st.tuples(st.just("cmd"), st.integers(0, 3), cmds),
        st.tuples(st.just("cmd"), st.integers(0, 3), cmds),
        # A pipeline: one read batch, whose consecutive writes share an op (MERGEABLE).
        st.tuples(st.just("pipe"), st.integers(0, 3), st.lists(cmds, min_size=2, max_size=5)),
        # Requests of one command: a run, applied in one call (runs.py, the inline
        # cases of keyspace_batch.apply_local_all), which the checks below hold to the rest.
        st.tuples(st.just("pipe"), st.integers(0, 3),
                  st.sampled_from(kinds).flatmap(lambda k: st.lists(k, min_size=2, max_size=6))),
    )
    after = st.one_of(
        st.tuples(st.just("deliver"), st.integers(1, 8)),
        st.tuples(st.just("flood"), st.integers(0, 3)),
        st.tuples(st.just("ackgc"), st.integers(0, 3)),
        st.tuples(st.just("floodgc"), st.integers(0, 3)),
        st.tuples(st.just("floodgc"), st.integers(0, 3)),
        st.tuples(st.just("ack"), st.integers(0, 3), st.integers(0, 3)),
        st.tuples(st.just("acks"), st.integers(0, 3)),
        st.tuples(st.just("gc"), st.integers(0, 3)),
        st.tuples(st.just("tick"), st.integers(0, 250)),
        st.tuples(st.just("restart"), st.integers(0, 3)),
        st.tuples(st.just("wipe"), st.integers(0, 3), st.integers(0, 3)),
        st.tuples(st.just("join"), st.integers(0, 3)),
    )
    rnd = st.tuples(st.lists(cmd, min_size=1, max_size=3), st.lists(after, min_size=1, max_size=2))
    return st.lists(rnd, min_size=3, max_size=25).map(lambda rs: [x for c, a in rs for x in (*c, *a)])


plans = st.sampled_from([*FAMILIES, "ttl", "mixed", "mixed"]).flatmap(steps_of)


def requests(c: SimCluster, cmd: tuple[Any, ...]) -> list[tuple[Any, ...]]:
    """The requests a drawn command stands for."""
    name, *args = cmd
    now = c.clock.ms
    if name == "SETPX":
        return [("SET", args[0], args[1], "PXAT", now + args[2])]
    if name == "EXPIRE":
        return [("PEXPIREAT", args[0], now + args[1])]
    if name == "DB1SET":
        return [("SELECT", 1), ("SET", *args), ("SELECT", 0)]
    if name == "MOVE":
        return [("MOVE", args[0], 1)] if args[1] else [("SELECT", 1), ("MOVE", args[0], 0), ("SELECT", 0)]
    return [(name, *args)]


def run_command(c: SimCluster, i: int, cmd: tuple[Any, ...]) -> None:
    if cmd[0] == "TICK":  # time passes between two commands of one burst
        c.clock.ms += 150
        return
    for argv in requests(c, cmd):
        c.run(i, *argv)


def play(steps: list[Any], seed: int, replicas: int = 3, solo: bool = False) -> SimCluster:
    c = SimCluster(replicas, seed, solo)
    for s in steps:
        n = len(c.replicas)
        kind = s[0]
        if kind == "cmd":
            run_command(c, s[1] % n, s[2])
        elif kind == "pipe":
            # A batch runs in one instant (no TICK); its runs go in one call (runs.py).
            c.pipeline(s[1] % n, [argv for cmd in s[2] if cmd[0] != "TICK" for argv in requests(c, cmd)])
        elif kind == "deliver":
            for _ in range(s[1]):
                if not c.deliver_one(dup=0.2):
                    break
        elif kind == "ack":
            c.ack(s[1] % n, s[2] % n)
        elif kind == "acks":
            for j in range(n):
                c.ack(s[1] % n, j)
        elif kind == "gc":
            c.replicas[s[1] % n].gc()
        elif kind == "flood":
            c.flood(s[1] % n)
        elif kind == "ackgc":
            c.ack_all()
            c.replicas[s[1] % n].gc()
        elif kind == "floodgc":
            c.flood(s[1] % n)
            c.ack_all()
            c.replicas[s[1] % n].gc()
        elif kind == "tick":
            c.clock.ms += s[1]
        elif kind == "restart":
            c.restart(s[1] % n)
        elif kind == "wipe" and s[1] % n != s[2] % n:
            c.wipe(s[1] % n, s[2] % n)
        elif kind == "join" and n < 4:
            c.join(s[1] % n)
    return c


def check(c: SimCluster) -> None:
    c.deliver_all()
    now = c.clock.ms
    expect = visible_state(c.reference(), now)
    for r in c.replicas:
        assert_same(visible_state(r.node, now), expect, f"{r.rid} before GC")
        assert_one_entry_per_type(r.node)
    for _ in range(2):  # gossip needs two rounds to reach everyone
        c.ack_all()
    for r in c.replicas:
        r.gc()
        assert_same(visible_state(r.node, now), expect, f"{r.rid} after GC")
        assert_one_entry_per_type(r.node)
    # Time passes: what expires, expires everywhere alike (and may be dropped everywhere).
    c.clock.ms += 1000
    c.ack_all()
    later = visible_state(c.reference(), c.clock.ms)
    for i, r in enumerate(c.replicas):
        r.gc()
        assert_same(visible_state(r.node, c.clock.ms), later, f"{r.rid} after expiry")
        c.restart(i)


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps=plans, seed=st.integers(0, 2**32 - 1))
def test_replicas_converge_with_gc_restarts_wipes_and_joins(steps: list[Any], seed: int) -> None:
    check(play(steps, seed))


@settings(max_examples=max(50, EXAMPLES // 2), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps=plans, seed=st.integers(0, 2**32 - 1))
def test_a_replica_founded_alone_converges_with_the_replicas_that_join_it(steps: list[Any], seed: int) -> None:
    """One replica founded alone (solo: removals final at once, coarse stamps, list holes)
    takes writes, then replicas join it by snapshot (it leaves solo at the first) and
    everything above goes on: all of them end up showing what the reference shows."""
    check(play(steps, seed, replicas=1, solo=True))
