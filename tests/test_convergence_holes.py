"""Issue 8's convergence holes, each as the sequence that exposed it, in every causal
delivery order (tests/support/cluster_sim.py: causal_orders), with GC where it mattered.

Each test names the hole it covers; docs/semantics.md gives the rules they check."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.support.cluster_sim import SimCluster, assert_same, causal_orders
from tests.support.state import visible_state


def settle(c: SimCluster) -> list[dict[Any, Any]]:
    """Everything delivered, acked twice (gossip), collected everywhere: what each shows."""
    c.deliver_all()
    c.ack_all()
    c.ack_all()
    for r in c.replicas:
        r.gc()
    return [visible_state(r.node, c.clock.ms) for r in c.replicas]


def check_all_orders(build: Callable[[], SimCluster], expect: Callable[[dict[Any, Any]], None]) -> int:
    """Every delivery order ends with equal replicas, equal to the reference, that pass
    `expect`; returns how many orders were tried."""
    n = 0
    for c in causal_orders(build):
        n += 1
        states = settle(c)
        ref = visible_state(c.reference(), c.clock.ms)
        for r, s in zip(c.replicas, states, strict=True):
            assert_same(s, ref, r.rid)
        expect(states[0])
    return n


def stabilize(c: SimCluster) -> None:
    """Everyone has everything and every stamp is collected: the state GC loves."""
    c.deliver_all()
    c.ack_all()
    c.ack_all()
    for r in c.replicas:
        r.gc()


# ---- hole 1: GC across incarnations ----------------------------------------------------------
@pytest.mark.parametrize("n2_saw_n0", [False, True])
@pytest.mark.parametrize("gc_at", [0, 1])
def test_gc_after_a_crash_restart_waits_for_the_old_incarnations_ops(n2_saw_n0: bool, gc_at: int) -> None:
    # n2, cut off, removes m and inserts after t; n0 concurrently removes and re-adds m and removes t;
    # n2 crashes and restarts as a new incarnation whose acks cover its old ops, which n0
    # and n1 have not received: they must not collect n0's writes before those ops arrive.
    def build() -> SimCluster:
        c = SimCluster(3, 0)
        c.run(0, "SADD", "s", "keep", "m")
        c.run(0, "RPUSH", "l", "a", "t", "b")
        stabilize(c)
        c.run(2, "SREM", "s", "m")
        c.run(2, "LINSERT", "l", "AFTER", "t", "y")
        c.run(0, "SREM", "s", "m")
        c.run(0, "SADD", "s", "m")  # a new add (an SADD of a present m would be a no-op)
        c.run(0, "LREM", "l", 0, "t")
        if n2_saw_n0:
            c.flood(0)  # n1 and n2 get n0's ops; n0 lacks n2's
        else:
            c.flood(2)
            c.flood(0)
            c.replicas[2].inbox = [op for op in c.history if not c.replicas[2].applied(op)]
        c.restart(2)
        c.ack_all()
        c.ack_all()
        c.replicas[gc_at].gc()
        return c

    def expect(s: dict[Any, Any]) -> None:
        assert s[(0, b"s")][1] == [b"keep", b"m"]  # the concurrent new add wins over SREM
        assert s[(0, b"l")][1] == [b"a", b"y", b"b"]  # y after the removed t: before b

    assert check_all_orders(build, expect) >= 1


def test_gc_after_a_wipe_waits_for_the_old_incarnations_ops_that_another_member_holds() -> None:
    """Found by the property test (seed 1515): r1 and r2 write k0 concurrently; r1 is wiped
    and rejoins from r0 before r0 has r1's old op, which r2 holds. r0 must not collect (and
    coarsen the stamp of) r2's write until that op is here, even though every member's
    current incarnation has acked it."""
    from tests.test_convergence_property import check, play

    steps = [
        ("cmd", 0, ("SET", "k0", "7")), ("deliver", 2), ("cmd", 2, ("SET", "k0", "1.5")),
        ("cmd", 1, ("SET", "k0", "7")), ("ackgc", 0), ("cmd", 0, ("DEL", "k1")), ("deliver", 2),
        ("cmd", 0, ("INCRBY", "k0", 0)), ("cmd", 0, ("INCRBY", "k0", 0)), ("ackgc", 0),
        ("wipe", 1, 0), ("cmd", 0, ("SET", "k1", "7")), ("ackgc", 0),
    ]
    check(play(steps, 702772))


# ---- hole 2: a replica that has not synced ------------------------------------------------------
@pytest.mark.parametrize("new_replica", [False, True])
def test_a_wiped_or_new_replica_syncs_before_writing_and_deletes_only_what_it_saw(new_replica: bool) -> None:
    def build() -> SimCluster:
        c = SimCluster(3, 0)
        c.run(0, "SADD", "s", "a", "old")
        c.run(0, "ZADD", "z", 5, "m", 1, "old")
        c.run(0, "SELECT", 1)
        c.run(0, "SET", "d1", "v")
        c.run(0, "SELECT", 0)
        stabilize(c)  # collected everywhere: the members are stable forms now
        j = c.join(1) if new_replica else (c.wipe(2, 1) or 2)
        # Its first writes, once synced: they observe the collected state.
        c.run(0, "SADD", "s", "concurrent")
        c.run(j, "SADD", "s", "a")
        c.run(j, "SREM", "s", "a")
        c.run(j, "ZADD", "z", 5, "m")
        c.run(j, "ZREM", "z", "m")
        c.run(j, "SELECT", 1)
        c.run(j, "FLUSHDB")
        c.run(j, "SELECT", 0)
        return c

    def expect(s: dict[Any, Any]) -> None:
        assert s[(0, b"s")][1] == [b"concurrent", b"old"]
        assert s[(0, b"z")][1] == [(1.0, b"old")]
        assert (1, b"d1") not in s

    assert check_all_orders(build, expect) >= 1


# ---- hole 3: a type conflict's loser -------------------------------------------------------------
@pytest.mark.parametrize("gc_before", [None, 0, 1, 2])
@pytest.mark.parametrize("how", ["del", "pops"])
def test_a_type_conflicts_loser_never_comes_back(gc_before: int | None, how: str) -> None:
    def build() -> SimCluster:
        c = SimCluster(3, 0)
        c.run(0, "SET", "k", "x")
        c.clock.ms += 1  # the list's write is the later one: the list wins
        c.run(1, "LPUSH", "k", "y")
        c.deliver_all()
        if gc_before is not None:
            c.ack_all()
            c.ack_all()
            c.replicas[gc_before].gc()  # may drop the hidden string here only
        if how == "del":
            c.run(2, "DEL", "k")
        else:
            c.run(0, "LPOP", "k")
            c.run(1, "RPOP", "k")
        return c

    def expect(s: dict[Any, Any]) -> None:
        assert (0, b"k") not in s  # not the string x, at no replica

    assert check_all_orders(build, expect) >= 1



@pytest.mark.parametrize("empty_by", ["ZPOPMIN", "SPOP", "HDEL", "DEL"])
def test_a_value_emptied_at_one_replica_keeps_its_types_latest_write(empty_by: str) -> None:
    # Found by the property test: r1 writes a zset and empties it; concurrently r0 adds to
    # the zset and r2 SETs the key, both stamped before r1's write. Where r1's write and
    # its emptying arrive first, a forgotten emptied value would let the SET beat r0's
    # later-arriving add; elsewhere r1's write keeps the zset the winner. Every order must
    # show the same.
    write = {"ZPOPMIN": [("ZADD", "k", "0", "a"), ("ZPOPMIN", "k")],
             "SPOP": [("SADD", "k", "a"), ("SPOP", "k")],
             "HDEL": [("HSET", "k", "a", "1"), ("HDEL", "k", "a")],
             "DEL": [("ZADD", "k", "0", "a"), ("DEL", "k")]}[empty_by]
    other = {"SPOP": ("SADD", "k", "b"), "HDEL": ("HSET", "k", "b", "1")}.get(empty_by, ("ZADD", "k", "0", "b"))

    def build() -> SimCluster:
        c = SimCluster(3, 0)
        c.run(0, *other)
        c.run(2, "SET", "k", "7")
        c.clock.ms += 1  # r1's write is the latest of all
        for argv in write:
            c.run(1, *argv)
        return c

    def expect(s: dict[Any, Any]) -> None:
        assert s[(0, b"k")][0] != b"string"  # r1's type write is the latest: it wins

    assert check_all_orders(build, expect) >= 1


@pytest.mark.parametrize("removal", ["DEL", "FLUSHDB"])
@pytest.mark.parametrize("partial", [(), ("APPEND", "k", "x"), ("SETBIT", "k", "3", "1")])
def test_a_removed_plain_string_keeps_its_stamp_in_the_type_register(removal: str, partial: tuple[str, ...]) -> None:
    # Found by the property test in CI: r2 SETs and removes a string; r1's LPUSH is older
    # than r2's SET and newer than r0's concurrent SET. The strings' latest write is r2's
    # whether r0's SET arrives before the removal (one value of two removed) or after it.
    # With an APPEND or SETBIT, r2's string is an overlay entry (crdt/string_bits.py):
    # where r0's SET arrives after the removal it lands on the emptied entry kept for its
    # stamp, and may not turn it into a plain string under r0's older stamp.
    def build() -> SimCluster:
        c = SimCluster(3, 0)
        c.run(0, "SET", "k", "7")
        c.clock.ms += 1
        c.run(1, "LPUSH", "k", "a")
        c.clock.ms += 1
        c.run(2, "SET", "k", "8")
        if partial:
            c.run(2, *partial)
        c.run(2, removal, *(("k",) if removal == "DEL" else ()))
        return c

    def expect(s: dict[Any, Any]) -> None:
        assert s[(0, b"k")][:2] == (b"string", b"7")  # r0's value, under r2's stamp

    assert check_all_orders(build, expect) >= 1

def test_del_of_a_type_conflict_returns_1_and_removes_both() -> None:
    c = SimCluster(2, 0)
    c.run(0, "SET", "k", "x")
    c.clock.ms += 1
    c.run(1, "LPUSH", "k", "y")
    c.deliver_all()
    assert c.run(0, "TYPE", "k") == b"list"
    assert c.run(0, "DEL", "k") == 1
    assert c.run(0, "GET", "k") is None and c.run(0, "EXISTS", "k") == 0
    c.deliver_all()
    assert c.run(1, "EXISTS", "k") == 0


# ---- hole 4 and 7: TTLs that outlive their keys, expiry racing a PERSIST ------------------------
EMPTYING = {
    "srem||srem": (("SADD", "k", "a", "b"), [(0, ("SREM", "k", "a")), (1, ("SREM", "k", "b"))]),
    "hdel||hdel": (("HSET", "k", "f", "1", "g", "2"), [(0, ("HDEL", "k", "f")), (1, ("HDEL", "k", "g"))]),
    "zrem": (("ZADD", "k", 1, "a"), [(0, ("ZREM", "k", "a"))]),
    "zpopmin": (("ZADD", "k", 1, "a"), [(0, ("ZPOPMIN", "k"))]),
    "zremrangebyscore": (("ZADD", "k", 1, "a"), [(0, ("ZREMRANGEBYSCORE", "k", 0, 5))]),
    "del||expire": (("SADD", "k", "a"), [(0, ("DEL", "k")), (1, ("EXPIRE", "k", 5000))]),
}


@pytest.mark.parametrize("case", sorted(EMPTYING))
@pytest.mark.parametrize("gc_at", [None, 0, 2])
def test_a_recreated_key_never_inherits_an_old_ttl(case: str, gc_at: int | None) -> None:
    setup, removals = EMPTYING[case]

    def build() -> SimCluster:
        c = SimCluster(3, 0)
        c.run(0, *setup)
        c.run(0, "EXPIRE", "k", 5000)
        stabilize(c)
        for i, cmd in removals:
            c.run(i, *cmd)
        c.deliver_all()
        if gc_at is not None:
            c.ack_all()
            c.ack_all()
            c.replicas[gc_at].gc()  # may drop the leftover expiry register here only
        c.run(2, "SADD", "k", "c")  # recreates the key: no TTL, like Redis
        return c

    def expect(s: dict[Any, Any]) -> None:
        assert s[(0, b"k")] == (b"set", [b"c"], None)

    assert check_all_orders(build, expect) >= 1


def test_the_fixture_runs_expire_concurrent_with_del_then_recreations() -> None:
    # ttl-divergence-r4: EXPIRE at n1 ‖ DEL at n2, later ZINCRBY/ZADD recreate the key at
    # n1 and n2; GC runs at different moments at each replica.
    def build() -> SimCluster:
        c = SimCluster(3, 0)
        c.run(0, "ZADD", "z", 1, "a")
        stabilize(c)
        c.run(0, "EXPIRE", "z", 5000)
        c.run(1, "DEL", "z")
        c.flood(2)
        c.ack_all()
        c.replicas[0].gc()
        c.run(0, "ZINCRBY", "z", 1, "b")
        c.run(1, "ZADD", "z", 2, "c")
        return c

    def expect(s: dict[Any, Any]) -> None:
        t, v, deadline = s[(0, b"z")]
        assert t == b"zset" and b"a" not in [m for _s, m in v]

    assert check_all_orders(build, expect) >= 1


@pytest.mark.parametrize("write", [("PERSIST", "k"), ("PEXPIRE", "k", 600_000)])
def test_an_acknowledged_persist_or_extension_before_the_deadline_wins(write: tuple[Any, ...]) -> None:
    # Hole 7: the TTL owner passed the deadline while a PERSIST (or an extension) made
    # elsewhere before it was still on its way: the key must survive everywhere.
    def build() -> SimCluster:
        c = SimCluster(3, 0)
        c.run(0, "SET", "k", "v", "PX", 100)
        stabilize(c)
        c.run(1, *write)
        c.clock.ms += 200  # past the old deadline
        c.ack_all()
        for r in c.replicas:
            r.gc()  # expiry without ops: n0 and n2 must not drop k yet
        return c

    def expect(s: dict[Any, Any]) -> None:
        assert s[(0, b"k")][1] == b"v"

    assert check_all_orders(build, expect) >= 1


def test_an_expired_key_is_dropped_everywhere_once_nothing_can_revive_it() -> None:
    c = SimCluster(3, 0)
    c.run(0, "SET", "k", "v", "PX", 100)
    stabilize(c)
    c.clock.ms += 200
    c.run(1, "SET", "other", "x")  # an op stamped past the deadline, seen by everyone
    stabilize(c)
    for r in c.replicas:
        assert b"k" not in r.node.keyspace.dbs[0].data  # dropped, without any op
    assert all(op.effects[0][2] != b"k" for op in c.history[1:])


# ---- hole 5: single node ---------------------------------------------------------------------------
@pytest.mark.parametrize("replicas", [1, 2])
def test_emptying_a_sorted_set_deletes_the_key_and_its_ttl(replicas: int) -> None:
    c = SimCluster(replicas, 0)
    for cmd in (("ZADD", "z", 1, "a"), ("EXPIRE", "z", 2), ("ZREM", "z", "a"), ("ZADD", "z", 1, "b")):
        c.run(0, *cmd)
    assert c.run(0, "TTL", "z") == -1
    assert c.run(0, "ZRANGE", "z", 0, -1) == [b"b"]


def test_set_keepttl_on_an_expired_key_stores_the_value_without_ttl() -> None:
    c = SimCluster(2, 0)
    c.run(0, "SET", "k", "old", "PX", 50)
    c.clock.ms += 100
    assert c.run(0, "SET", "k", "v", "KEEPTTL") is not None
    assert c.run(0, "GET", "k") == b"v" and c.run(0, "PTTL", "k") == -1
    c.deliver_all()
    assert c.run(1, "GET", "k") == b"v" and c.run(1, "PTTL", "k") == -1


def test_a_write_to_a_key_that_is_only_a_ttl_deletes_first() -> None:
    c = SimCluster(2, 0)
    c.run(0, "SADD", "k", "a")
    c.deliver_all()
    c.run(0, "EXPIRE", "k", 100)
    c.run(1, "SREM", "k", "a")  # concurrent: k is empty, only its TTL value is left
    c.deliver_all()
    c.run(0, "LPUSH", "k", "x")
    c.deliver_all()
    for i in (0, 1):
        assert c.run(i, "TTL", "k") == -1 and c.run(i, "LRANGE", "k", 0, -1) == [b"x"]


# ---- rules revisited ---------------------------------------------------------------------------------
@pytest.mark.parametrize("ttl_first", [True, False])
def test_a_value_written_with_its_ttl_wins_or_loses_with_it(ttl_first: bool) -> None:
    def build() -> SimCluster:
        c = SimCluster(2, 0)
        if ttl_first:
            c.run(0, "SET", "k", "v", "EX", 1000)
            c.clock.ms += 1
            c.run(1, "SET", "k", "w")
        else:
            c.run(1, "SET", "k", "w")
            c.clock.ms += 1
            c.run(0, "SET", "k", "v", "EX", 1000)
        return c

    def expect(s: dict[Any, Any]) -> None:
        if ttl_first:
            assert s[(0, b"k")] == (b"string", b"w", None)  # w is later: no TTL
        else:
            assert s[(0, b"k")][1] == b"v" and s[(0, b"k")][2] is not None

    assert check_all_orders(build, expect) >= 1


@pytest.mark.parametrize("cmd", ["INCRBYFLOAT", "HINCRBYFLOAT"])
def test_concurrent_float_increments_fold_in_stamp_order_like_redis(cmd: str) -> None:
    def build() -> SimCluster:
        c = SimCluster(2, 0)
        args = ("f",) if cmd == "HINCRBYFLOAT" else ()
        setter = ("HSET", "k", "f", "5.6") if args else ("SET", "k", "5.6")
        c.run(0, *setter)
        c.deliver_all()
        c.run(0, cmd, "k", *args, "3.0e3")
        c.clock.ms += 1
        c.run(1, cmd, "k", *args, "0.1")
        return c

    def expect(s: dict[Any, Any]) -> None:
        v = s[(0, b"k")][1]
        # Redis: SET 5.6; INCRBYFLOAT 3.0e3; INCRBYFLOAT 0.1 (the stamp order).
        assert (v if cmd == "INCRBYFLOAT" else dict(v)[b"f"]) == b"3005.70000000000000018"

    assert check_all_orders(build, expect) >= 1


def test_concurrent_increments_past_int64_skip_the_one_redis_would_refuse() -> None:
    big = 1 << 62

    def build() -> SimCluster:
        c = SimCluster(2, 0)
        c.run(0, "SET", "k", big)
        c.deliver_all()
        assert c.run(0, "INCRBY", "k", big - 1) == (1 << 63) - 1
        c.clock.ms += 1
        assert c.run(1, "INCRBY", "k", 5) == big + 5
        return c

    def expect(s: dict[Any, Any]) -> None:
        # The later (by stamp) increment would overflow after the first: skipped.
        assert s[(0, b"k")][1] == str((1 << 63) - 1).encode()

    assert check_all_orders(build, expect) >= 1


def test_rename_rules_are_the_documented_copy_rules() -> None:
    c = SimCluster(2, 0)
    c.run(0, "SET", "a", "A")
    c.run(0, "SET", "b", "B")
    c.run(0, "SET", "x", "X")
    c.deliver_all()
    c.run(0, "RENAME", "a", "b")
    c.run(1, "RENAME", "b", "a")
    c.run(0, "RENAME", "x", "y")
    c.run(1, "RENAME", "x", "z")
    states = settle(c)
    assert states[0] == states[1]
    s = states[0]
    # docs/semantics.md: RENAME copies what its origin saw, then deletes what it saw.
    assert (s[(0, b"a")][1], s[(0, b"b")][1]) == (b"B", b"A")
    assert s[(0, b"y")][1] == s[(0, b"z")][1] == b"X" and (0, b"x") not in s


def test_increments_folded_by_gc_keep_their_stamp_until_the_types_stamp_is_stable() -> None:
    """Found by the property test (8,000+ examples): r1's INCRBY reaches r0 only after r0's
    FLUSHDB, so it survives there (add wins) on the entry that FLUSHDB kept for its stamp
    (Keyspace._bury_string). r1 then FLUSHDBs, observing its INCRBY but not r0's FLUSHDB.
    r0's GC folded the increment into a plain string stamped with the entry's type stamp
    (r0's), which r1's FLUSHDB did not observe: r0 showed "0" for good, every other replica
    nothing. A fold that would carry the type stamp now waits until that stamp is stable."""
    from tests.test_convergence_property import check, play

    steps = [
        ("cmd", 0, ("SET", "k0", "7")), ("deliver", 1), ("cmd", 0, ("SET", "k0", "7")), ("deliver", 2),
        ("cmd", 0, ("SET", "k0", "7")), ("cmd", 0, ("SET", "k0", "7")), ("cmd", 0, ("SET", "k0", "7")),
        ("deliver", 7), ("cmd", 1, ("INCRBY", "k0", 0)), ("deliver", 1), ("floodgc", 0),
        ("cmd", 0, ("SET", "k0", "7")), ("cmd", 0, ("SET", "k0", "7")), ("cmd", 1, ("SET", "k0", "7")),
        ("deliver", 1), ("deliver", 2), ("deliver", 1), ("cmd", 0, ("FLUSHDB",)), ("deliver", 1),
        ("cmd", 1, ("FLUSHDB",)), ("gc", 0),
    ]
    check(play(steps, 0))


def test_an_overlay_string_folded_by_gc_keeps_its_stamp_until_the_types_stamp_is_stable() -> None:
    """Found by the property test (500 examples, CI's count): r2's INCRBY reaches r0 after
    r0's APPEND and FLUSHDB, so it survives there on the emptied overlay entry
    (crdt/string_bits.py) kept for the APPEND's stamp. r1's SET observed the INCRBY but not
    the APPEND. r0's GC folded the stable increment into a plain string under the APPEND's
    stamp, which r1's SET did not observe, so the SET lost at r0 alone ("0" vs "7"), as for
    counters (test_increments_folded_by_gc_keep_their_stamp_until_the_types_stamp_is_stable)."""
    from tests.test_convergence_property import check, play

    set7 = ("SET", "k0", "7")
    steps = [
        ("cmd", 0, set7), ("deliver", 1), ("cmd", 0, set7), ("deliver", 1), ("cmd", 0, set7), ("deliver", 1),
        ("deliver", 1), ("cmd", 1, set7), ("deliver", 1), ("deliver", 2), ("cmd", 0, set7),
        ("cmd", 2, ("INCRBY", "k0", 0)), ("deliver", 1), ("floodgc", 0), ("cmd", 0, set7), ("cmd", 0, set7),
        ("cmd", 1, set7), ("deliver", 1), ("cmd", 0, set7), ("deliver", 1), ("cmd", 0, ("APPEND", "k0", "a")),
        ("cmd", 0, ("FLUSHDB",)), ("deliver", 1), ("cmd", 1, set7), ("gc", 0),
    ]
    check(play(steps, 252))


def test_an_emptied_overlay_string_stays_empty_when_gc_folds_it() -> None:
    """Found by the property test: GC folded an emptied overlay entry (kept hidden for its
    stamp after APPEND then FLUSHDB) into a base of no value, which then counted as content:
    r0's next INCRBY made it visible over the concurrent SET that had arrived ("0" vs "7",
    and a restart, which rebuilt the entry unfolded, showed "7")."""
    from tests.test_convergence_property import check, play

    set7 = ("SET", "k0", "7")
    steps = [
        ("cmd", 0, set7), ("deliver", 1), ("cmd", 0, set7), ("deliver", 1), ("cmd", 0, set7), ("deliver", 1),
        ("deliver", 1), ("cmd", 0, set7), ("deliver", 1), ("deliver", 1), ("cmd", 0, set7), ("deliver", 1),
        ("deliver", 1), ("cmd", 0, ("APPEND", "k0", "a")), ("cmd", 0, ("FLUSHDB",)), ("deliver", 1),
        ("cmd", 1, set7), ("deliver", 1), ("ackgc", 0), ("cmd", 0, ("INCRBY", "k0", 0)), ("restart", 0),
    ]
    check(play(steps, 0))


def test_a_wiped_replica_loses_the_ops_it_alone_held_of_an_earlier_wiped_one() -> None:
    """Found by the property test: r2's first incarnation pushed its op to r0 alone and was
    wiped; then r0 was wiped before pushing its own ops that op depended on. Both data dirs
    are gone, so that op is lost with them (docs/semantics.md, "Replicas"); the simulation
    kept it in flight forever ("causal delivery stuck")."""
    from tests.test_convergence_property import check, play

    set7 = ("SET", "k0", "7")
    steps = [
        ("cmd", 0, set7), ("deliver", 1), ("cmd", 0, set7), ("deliver", 1), ("cmd", 0, set7), ("deliver", 1),
        ("deliver", 1), ("cmd", 0, set7), ("deliver", 1), ("cmd", 0, set7), ("deliver", 1), ("deliver", 1),
        ("cmd", 0, set7), ("deliver", 1), ("deliver", 1), ("cmd", 0, set7), ("deliver", 1), ("deliver", 1),
        ("cmd", 2, set7), ("wipe", 2, 1), ("cmd", 0, set7), ("wipe", 0, 1),
    ]
    check(play(steps, 0))


@pytest.mark.parametrize("case", ["SET over a type conflict", "APPEND after a DEL"])
def test_a_string_built_from_the_hidden_string_replaces_it(case: str) -> None:
    # A string write that finds no visible string builds on the hidden one (a type
    # conflict's loser, or the emptied value a removal kept for its stamp) and becomes
    # visible; the hidden one must then leave the shadow: one entry per type, or it would
    # outrank the visible one later, at this replica alone.
    from tests.support.state import assert_one_entry_per_type

    c = SimCluster(2, 0)
    c.run(0, "SET", "k", "1")
    if case == "SET over a type conflict":
        c.clock.ms += 1
        c.run(1, "SADD", "k", "m")  # later: the set wins, r0's string waits hidden
        c.deliver_all()
        c.run(0, "SET", "k", "b")  # observed both
    else:
        c.deliver_all()
        c.run(0, "DEL", "k")  # r0 keeps the removed string's stamp, hidden
        c.run(1, "APPEND", "k", "x")  # concurrent: survives on top of nothing at r0
        c.deliver_all()
    for r in c.replicas:
        assert_one_entry_per_type(r.node)
    states = settle(c)
    assert states[0] == states[1] == visible_state(c.reference(), c.clock.ms)


def test_a_ttl_left_on_a_key_with_no_content_stays_until_the_key_expires() -> None:
    """Found by the property test: r2's EXPIRE survives r0's concurrent HDEL of the last
    field. r0's GC then found the TTL stable on a key with no content and dropped it, while
    r2's HSET, made before r0's HDEL arrived there, was still in flight: it observed the
    TTL, found the key alive at r2 and so did not delete first. Everywhere else the hash
    came back with its TTL; at r0 without (docs/semantics.md, "Expiry")."""
    from tests.test_convergence_property import check, play

    steps = [
        ("cmd", 0, ("HSET", "k0", "f", "7")), ("deliver", 1), ("cmd", 0, ("HSET", "k0", "f", "7")),
        ("cmd", 2, ("EXPIRE", "k0", 1)), ("deliver", 1), ("cmd", 0, ("HDEL", "k0", "f")), ("floodgc", 2),
        ("cmd", 2, ("HSET", "k0", "f", "7")), ("gc", 0),
    ]
    check(play(steps, 0))


def test_an_expired_key_is_dropped_without_an_op_only_once_its_value_is_stable() -> None:
    """Found by the property test (seed 1616): r1's EXPIRE (B) on r0's first value ends;
    r0's second SET (C), concurrent with B, keeps B's passed deadline (it clears only the
    TTLs it saw). r1's PERSIST finds the key expired and deletes what it saw: the first
    value and B, not C. Before that reached r0, r0's GC dropped the key as expired, C
    included; everywhere else C stayed, with no TTL left (docs/semantics.md, "Expiry")."""
    from tests.test_convergence_property import check, play

    steps = [
        ("cmd", 0, ("SET", "k0", "7")), ("deliver", 1), ("deliver", 1),
        ("cmd", 1, ("EXPIRE", "k0", 1)), ("cmd", 0, ("TICK",)), ("cmd", 0, ("SET", "k0", "7")),
        ("cmd", 1, ("SET", "k1", "7")), ("floodgc", 1), ("cmd", 1, ("PERSIST", "k0")), ("gc", 0),
    ]
    check(play(steps, 0))


def test_a_hidden_type_loser_is_collected_only_once_all_it_holds_is_stable() -> None:
    """r0's SADD x and r2's later SADD y both lose the type register to r1's SET. r1
    holds all three, r2 has not received x yet. The hidden set's latest write (y) and the
    winner are stable at r1, so its GC used to drop the set, x included. r2's DEL, which
    saw y and the string but not x, leaves x alive everywhere else (docs/semantics.md,
    "Type conflicts")."""

    def send(c: SimCluster, op: Any, j: int) -> None:
        r = c.replicas[j]
        r.deliver(op)
        r.inbox = [o for o in r.inbox if o is not op]

    c = SimCluster(3, 0)
    c.clock.ms += 10
    c.run(0, "SADD", "k", "x")
    x = c.history[-1]
    c.clock.ms += 10
    c.run(2, "SADD", "k", "y")
    y = c.history[-1]
    c.clock.ms += 10
    c.run(1, "SET", "k", "s")
    w = c.history[-1]
    send(c, x, 1)
    for op, to in ((y, 0), (y, 1), (w, 0), (w, 2)):
        send(c, op, to)
    for _ in range(2):
        c.ack(0, 1)
        c.ack(2, 1)
    c.replicas[1].gc()
    c.run(2, "DEL", "k")
    states = settle(c)
    ref = visible_state(c.reference(), c.clock.ms)
    assert ref == {(0, b"k"): (b"set", [b"x"], None)}
    for r, s in zip(c.replicas, states, strict=True):
        assert_same(s, ref, r.rid)
