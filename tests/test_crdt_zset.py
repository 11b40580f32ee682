"""Sorted sets as a CRDT (crdt/zset_aw.py): unit tests of ZsetEntry, named concurrency
scenarios on simulated replicas in every delivery order, and an antidote_crdt-style property
test against a spec computed from the emitted ops alone."""
from __future__ import annotations

import asyncio
import itertools
import math
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crdtredis.crdt import codes
from crdtredis.crdt.zset_aw import ZADD, ZINCR, ZREM, Member, ZsetEntry, rebuild
from crdtredis.keyspace import CREATE
from crdtredis.op import Ctx, Op
from crdtredis.reply import NULL_ARRAY, Deferred
from tests.support.sim import Cluster, Replica

# ---- helpers -------------------------------------------------------------------------------


def ctx(origin: str, hlc: int, deps: dict[str, int] | None = None) -> Ctx:
    return Ctx(origin, 1, hlc, deps or {})


def sign(x: float | None) -> float:
    assert x is not None
    return math.copysign(1.0, x)


def check_index(e: ZsetEntry) -> None:
    """The order index holds exactly (visible score, member) of every record."""
    assert list(e.index) == sorted((e.score(m), m) for m in e.recs)


def roundtrip(e: ZsetEntry) -> None:
    s = e.state()
    e2 = ZsetEntry.from_state(s)
    assert e2.state() == s
    assert list(e2.index) == list(e.index)


def zset_of(r: Replica, key: bytes = b"k") -> ZsetEntry | None:
    e = r.node.keyspace.dbs[0].data.get(key)
    return e if type(e) is ZsetEntry else None


def visible(r: Replica, key: str = "k") -> Any:
    return r.run("ZRANGE", key, 0, -1, "WITHSCORES")


def deliver_in_order(c: Cluster, ops: list[Op]) -> None:
    """Every replica applies `ops` in this order (skipping its own), then nothing is left."""
    for r in c.replicas:
        for op in ops:
            if not r.applied(op):
                r.node.apply_remote(op)
        r.inbox.clear()


def scenario(setup: list[tuple[int, tuple[Any, ...]]], concurrent: list[tuple[int, tuple[Any, ...]]]) -> list[Any]:
    """Run `setup` (delivered everywhere), then the `concurrent` commands without delivery
    in between, then deliver them in every order; returns the converged value per order."""
    results = []
    for perm in itertools.permutations(range(len(concurrent))):
        c = Cluster(3)
        for i, argv in setup:
            c.run(i, *argv)
        c.deliver_all()
        before = [len(r.emitted) for r in c.replicas]
        for i, argv in concurrent:
            c.run(i, *argv)
        new_ops = [op for r, b in zip(c.replicas, before, strict=True) for op in r.emitted[b:]]
        deliver_in_order(c, [new_ops[p] for p in perm])
        values = [visible(r) for r in c.replicas]
        assert values[0] == values[1] == values[2], f"diverged in order {perm}: {values}"
        for r in c.replicas:
            e = zset_of(r)
            if e is not None:
                check_index(e)
                roundtrip(e)
        results.append(values[0])
    assert all(v == results[0] for v in results), results
    return results[0]


# ---- the entry, single node (no peers: everything is stable at once) -------------------------


def test_zadd_single_node_keeps_plain_floats():
    e = ZsetEntry()
    e.zadd(b"a", 1.0, ctx("n", 10), True)
    e.zadd(b"b", 2.0, ctx("n", 11), True)
    e.zincr(b"a", 5.0, ctx("n", 12), True)
    assert e.recs == {b"a": 6.0, b"b": 2.0}
    assert [type(r) for r in e.recs.values()] == [float, float]
    assert list(e.index) == [(2.0, b"b"), (6.0, b"a")]
    e.zrem(b"a", ctx("n", 13), True)
    assert e.recs == {b"b": 2.0}
    check_index(e)


def test_zincr_single_node_nan_restarts_from_zero():
    e = ZsetEntry()
    e.zadd(b"a", math.inf, ctx("n", 1), True)
    e.zincr(b"a", -math.inf, ctx("n", 2), True)
    assert e.score(b"a") == 0.0


def test_rank_and_items_order_by_score_then_member():
    e = ZsetEntry()
    for i, (m, s) in enumerate([(b"b", 1.0), (b"a", 1.0), (b"c", 0.5), (b"aa", 1.0)]):
        e.zadd(m, s, ctx("n", i + 1), True)
    assert [m for _s, m in e.items()] == [b"c", b"a", b"aa", b"b"]
    assert e.rank(b"aa") == 2
    assert e.rank(b"zz") is None


def test_zero_and_negative_zero_reindex():
    e = ZsetEntry()
    e.zadd(b"a", 0.0, ctx("n", 1), True)
    e.zadd(b"a", -0.0, ctx("n", 2), True)
    assert sign(e.score(b"a")) == -1.0
    check_index(e)
    assert math.copysign(1.0, e.index[0][0]) == -1.0


def test_encoding_thresholds_and_stickiness():
    e = ZsetEntry()
    for i in range(128):
        e.zadd(b"m%d" % i, float(i), ctx("n", i + 1), True)
    assert e.encoding() == b"listpack"
    e.zadd(b"one-more", 1.0, ctx("n", 500), True)
    assert e.encoding() == b"skiplist"
    for i in range(120):
        e.zrem(b"m%d" % i, ctx("n", 600 + i), True)
    assert e.encoding() == b"skiplist"  # Redis never converts back
    f = ZsetEntry()
    f.zadd(b"x" * 64, 1.0, ctx("n", 1), True)
    assert f.encoding() == b"listpack"
    f.zadd(b"x" * 65, 1.0, ctx("n", 2), True)
    assert f.encoding() == b"skiplist"


# ---- the entry with peers: records, observed-remove, LWW + counter ----------------------------


def test_zadd_with_peers_is_a_stamped_tuple():
    e = ZsetEntry()
    e.zadd(b"a", 1.0, ctx("A", 10), False)
    assert e.recs[b"a"] == (1.0, 10, "A")
    # A later ZADD that observed it simply replaces it.
    e.zadd(b"a", 2.0, ctx("A", 11), False)
    assert e.recs[b"a"] == (2.0, 11, "A")
    roundtrip(e)


def test_concurrent_zadds_highest_stamp_wins_and_both_are_kept():
    e = ZsetEntry()
    e.zadd(b"a", 1.0, ctx("A", 10), False)
    e.zadd(b"a", 2.0, ctx("B", 9), False)  # concurrent, lower stamp
    assert e.score(b"a") == 1.0
    assert type(e.recs[b"a"]) is Member
    # A remove that observed only A's write leaves B's, which becomes the value.
    e.zrem(b"a", ctx("C", 20, {"A": 10}), False)
    assert e.score(b"a") == 2.0
    assert e.recs[b"a"] == (2.0, 9, "B")
    check_index(e)
    roundtrip(e)


def test_remove_keeps_concurrent_add():
    e = ZsetEntry()
    e.zadd(b"a", 1.0, ctx("A", 10), False)
    e.zrem(b"a", ctx("B", 11), False)  # B had not seen A's add
    assert e.score(b"a") == 1.0
    e.zrem(b"a", ctx("B", 12, {"A": 10}), False)
    assert e.score(b"a") is None
    assert e.is_empty()


def test_concurrent_increments_add_up_in_stamp_order():
    e = ZsetEntry()
    e.zadd(b"a", 1.0, ctx("A", 10), False)
    e.zincr(b"a", 0.2, ctx("B", 30, {"A": 10}), False)
    e.zincr(b"a", 0.1, ctx("C", 20, {"A": 10}), False)  # arrives late, smaller stamp
    assert e.score(b"a") == (1.0 + 0.1) + 0.2
    f = ZsetEntry()
    f.zadd(b"a", 1.0, ctx("A", 10), False)
    f.zincr(b"a", 0.1, ctx("C", 20, {"A": 10}), False)
    f.zincr(b"a", 0.2, ctx("B", 30, {"A": 10}), False)
    assert f.score(b"a") == e.score(b"a")
    check_index(e)


def test_zadd_resets_observed_increments_only():
    e = ZsetEntry()
    e.zadd(b"a", 1.0, ctx("A", 10), False)
    e.zincr(b"a", 5.0, ctx("B", 20, {"A": 10}), False)
    e.zincr(b"a", 7.0, ctx("C", 21, {"A": 10}), False)
    # A ZADD that saw B's increment but not C's: C's counts on top of it.
    e.zadd(b"a", 100.0, ctx("D", 30, {"A": 10, "B": 20}), False)
    assert e.score(b"a") == 107.0
    roundtrip(e)


def test_increment_seen_by_a_losing_zadd_is_reset():
    e = ZsetEntry()
    e.zincr(b"a", 1.0, ctx("A", 10), False)
    e.zadd(b"a", 5.0, ctx("B", 20, {"A": 10}), False)  # saw the +1, resets it
    assert e.score(b"a") == 5.0
    assert e.recs[b"a"] == (5.0, 20, "B")  # nothing kept aside
    e.zadd(b"a", 7.0, ctx("C", 30), False)  # concurrent with both, wins
    # Not 8: `ZINCRBY 1; ZADD 5; ZADD 7` is a serial order giving 7, none gives 8.
    assert e.score(b"a") == 7.0
    # Removing C's write (and nothing else) makes B's the winner again.
    e.zrem(b"a", ctx("D", 40, {"C": 30}), False)
    assert e.score(b"a") == 5.0
    check_index(e)
    roundtrip(e)


def test_increment_reset_by_a_losing_zadd_that_arrives_last():
    # The same three ops, the +1 and C's winning ZADD first: B's losing ZADD still resets it.
    e = ZsetEntry()
    e.zincr(b"a", 1.0, ctx("A", 10), False)
    e.zadd(b"a", 7.0, ctx("C", 30), False)
    assert e.score(b"a") == 8.0
    e.zadd(b"a", 5.0, ctx("B", 20, {"A": 10}), False)
    assert e.score(b"a") == 7.0
    assert e.recs[b"a"].incs == []
    check_index(e)
    roundtrip(e)


def test_increment_alone_survives_removed_register():
    e = ZsetEntry()
    e.zadd(b"a", 5.0, ctx("A", 10), False)
    e.zincr(b"a", 2.0, ctx("B", 20, {"A": 10}), False)
    e.zrem(b"a", ctx("C", 15, {"A": 10}), False)  # saw the ZADD, not the increment
    assert e.score(b"a") == 2.0


def test_concurrent_infinities_sum_to_zero_then_continue():
    e = ZsetEntry()
    e.zadd(b"a", 1.0, ctx("A", 10), False)
    e.zincr(b"a", math.inf, ctx("B", 20, {"A": 10}), False)
    e.zincr(b"a", -math.inf, ctx("C", 21, {"A": 10}), False)
    assert e.score(b"a") == 0.0
    e.zincr(b"a", 3.0, ctx("C", 22, {"A": 10, "B": 20}), False)
    assert e.score(b"a") == 3.0
    check_index(e)


def test_remove_observed_keeps_only_concurrent_content():
    e = ZsetEntry()
    e.zadd(b"a", 1.0, ctx("A", 10), False)
    e.zadd(b"b", 2.0, ctx("B", 11), False)
    e.zincr(b"c", 3.0, ctx("A", 12), False)
    e.remove_observed(ctx("C", 50, {"A": 12}))
    assert dict(e.recs) == {b"b": (2.0, 11, "B")}
    check_index(e)


def test_same_stamp_twice_in_one_effect_is_one_write():
    e = ZsetEntry()
    e.zadd(b"a", 1.0, ctx("B", 5), False)
    e.zadd(b"a", 2.0, ctx("A", 10), False)
    e.zadd(b"a", 3.0, ctx("A", 10), False)
    assert e.score(b"a") == 3.0
    assert len(e.recs[b"a"].base) == 2
    check_index(e)


# ---- gc ------------------------------------------------------------------------------------------


def test_gc_folds_stable_records_to_floats():
    e = ZsetEntry()
    e.zadd(b"a", 1.0, ctx("A", 10), False)
    e.zincr(b"b", 2.0, ctx("A", 11), False)
    e.zadd(b"c", 3.0, ctx("B", 12), False)
    dropped = e.gc(lambda h, o: o == "A")
    assert dropped == 2
    assert e.recs[b"a"] == 1.0 and e.recs[b"b"] == 2.0
    assert e.recs[b"c"] == (3.0, 12, "B")
    check_index(e)
    roundtrip(e)


def test_gc_folds_stable_prefix_of_increments_only():
    e = ZsetEntry()
    e.zadd(b"a", 0.1, ctx("A", 10), False)
    e.zincr(b"a", 0.2, ctx("A", 20), False)
    e.zincr(b"a", 0.3, ctx("B", 25, {"A": 10}), False)
    e.zincr(b"a", 0.4, ctx("A", 30), False)
    before = e.score(b"a")
    stable = {("A", 10), ("A", 20), ("A", 30)}
    e.gc(lambda h, o: (o, h) in stable)
    rec = e.recs[b"a"]
    assert isinstance(rec, Member)
    # A:10 and A:20 are folded; A:30 waits behind the unstable B:25 (stamp order).
    assert rec.base == [(0.1 + 0.2, 0, "")]
    assert [i[0] for i in rec.incs] == [25, 30]
    assert e.score(b"a") == before
    e.gc(lambda h, o: True)
    assert e.recs[b"a"] == before
    check_index(e)


def test_gc_drops_stable_zadd_below_the_winner():
    e = ZsetEntry()
    e.zadd(b"a", 1.0, ctx("A", 10), False)
    e.zadd(b"a", 2.0, ctx("B", 20), False)
    assert e.gc(lambda h, o: o == "A") == 1
    assert e.recs[b"a"] == (2.0, 20, "B")


def test_gc_folds_stable_register_keeps_unstable_increment():
    e = ZsetEntry()
    e.zincr(b"a", 1.0, ctx("A", 10), False)
    e.zadd(b"a", 5.0, ctx("B", 20, {"A": 10}), False)
    e.zincr(b"a", 2.0, ctx("C", 30, {"A": 10, "B": 20}), False)
    e.zincr(b"a", 0.5, ctx("B", 25, {"A": 10}), False)
    e.gc(lambda h, o: o in ("A", "B"))
    rec = e.recs[b"a"]
    assert rec.base == [(5.5, 0, "")] and rec.incs == [(30, "C", 2.0)]
    assert e.score(b"a") == 7.5
    check_index(e)
    roundtrip(e)


# ---- persistence and rebuild -----------------------------------------------------------------


def test_state_roundtrip_all_record_forms():
    e = ZsetEntry()
    e.zadd(b"f", 1.5, ctx("A", 1), True)
    e.zadd(b"t", 2.5, ctx("A", 2), False)
    e.zadd(b"m", 3.0, ctx("A", 3), False)
    e.zadd(b"m", 4.0, ctx("B", 2), False)
    e.zincr(b"m", -0.5, ctx("C", 9, {"A": 3}), False)
    e.zadd(b"n", -0.0, ctx("A", 4), False)
    e.touch(ctx("A", 9))
    s = e.state()
    assert s[0] == 2 and s[1] == 9 and s[2] == "A"
    roundtrip(e)
    e2 = ZsetEntry.from_state(s)
    assert sign(e2.score(b"n")) == -1.0
    # Lists instead of tuples (a serialiser that does not keep tuples) load the same.
    as_lists = [s[0], s[1], s[2], s[3], [list(x) for x in s[4]]]
    assert ZsetEntry.from_state(as_lists).state() == s


def test_state_version_1_drops_increments_a_live_zadd_observed():
    # Version 1 kept such increments aside, with the stamps of the ZADDs that observed them.
    s = (1, 9, "A", False, [
        (2, b"m", [(5.0, 20, "B"), (7.0, 30, "C")], [(10, "A", 1.0, [(20, "B")]), (40, "D", 2.0, [])]),
        (2, b"n", [(5.0, 20, "B")], [(10, "A", 1.0, [[20, "B"]])]),
    ])
    e = ZsetEntry.from_state(s)
    assert e.score(b"m") == 9.0 and e.recs[b"m"].incs == [(40, "D", 2.0)]
    assert e.recs[b"n"] == (5.0, 20, "B")
    assert e.state()[0] == 2
    check_index(e)
    roundtrip(e)


def test_rebuild_writes_every_member():
    e = ZsetEntry()
    e.zadd(b"a", 1.0, ctx("A", 1), True)
    e.zadd(b"b", -2.0, ctx("A", 2), True)
    assert rebuild(3, b"dst", e) == [(ZADD, 3, b"dst", b"b", -2.0, b"a", 1.0)]
    assert rebuild(3, b"dst", ZsetEntry()) == []


def test_apply_remove_on_missing_key_creates_nothing():
    r = Replica("solo")
    ks = r.node.keyspace
    op = Op("x.1", 1, 100, {}, [(ZREM, 0, b"k", b"a"), (ZINCR, 0, b"k2", b"a", 1.0)])
    assert r.node.apply_remote(op)
    assert b"k" not in ks.dbs[0].data
    e = zset_of(r, b"k2")
    assert e is not None and e.score(b"a") == 1.0


# ---- named scenarios on 3 simulated replicas, every delivery order -------------------------------


def test_zincrby_concurrent_zincrby_sum():
    v = scenario([(0, ("ZADD", "k", 1, "a"))], [(1, ("ZINCRBY", "k", 2, "a")), (2, ("ZINCRBY", "k", 3.5, "a"))])
    assert v == [b"a", 6.5]


def test_zincrby_concurrent_on_missing_member_sum():
    v = scenario([], [(0, ("ZINCRBY", "k", 2, "a")), (1, ("ZINCRBY", "k", 3, "a")), (2, ("ZINCRBY", "k", 4, "a"))])
    assert v == [b"a", 9.0]


def test_zadd_concurrent_zrem_member_present():
    v = scenario([(0, ("ZADD", "k", 1, "a", 2, "b"))], [(0, ("ZREM", "k", "a")), (1, ("ZADD", "k", 5, "a"))])
    assert v == [b"b", 2.0, b"a", 5.0]


def test_zadd_concurrent_zincrby_increment_on_top():
    v = scenario([(0, ("ZADD", "k", 1, "a"))], [(0, ("ZADD", "k", 10, "a")), (1, ("ZINCRBY", "k", 5, "a"))])
    assert v == [b"a", 15.0]


def test_del_concurrent_zadd_only_concurrent_member_remains():
    v = scenario([(0, ("ZADD", "k", 1, "a", 2, "b"))], [(0, ("DEL", "k")), (1, ("ZADD", "k", 3, "c"))])
    assert v == [b"c", 3.0]


def test_del_concurrent_zadd_existing_member_survives():
    v = scenario([(0, ("ZADD", "k", 1, "a", 2, "b"))], [(2, ("DEL", "k")), (1, ("ZADD", "k", 7, "a"))])
    assert v == [b"a", 7.0]


def test_concurrent_zadds_last_writer_wins():
    c = Cluster(3)
    c.run(0, "ZADD", "k", 1, "a")
    c.run(1, "ZADD", "k", 2, "a")
    ops = c.all_ops()
    win = max(ops, key=lambda op: (op.hlc, op.origin))
    c.deliver_all()
    expected = win.effects[0][4]
    for r in c.replicas:
        assert r.run("ZSCORE", "k", "a") == expected


def deliver_every_causal_order(c: Cluster, ops: list[Op]) -> list[list[Any]]:
    """Apply `ops` at every replica that lacks them, in this order as far as causality
    allows (an op waits for its dependencies); returns each replica's value."""
    out = []
    for r in c.replicas:
        pending = [op for op in ops if not r.applied(op)]
        while pending:
            op = next(op for op in pending if r.ready(op))
            r.node.apply_remote(op)
            pending.remove(op)
        r.inbox.clear()
        e = zset_of(r)
        if e is not None:
            check_index(e)
            roundtrip(e)
        out.append(visible(r))
    return out


def test_zrem_that_saw_only_the_winning_zadd_leaves_the_loser():
    # ZADD@5 at r0 ‖ ZADD@10 at r1 (the higher stamp); r1 then removes the member having
    # seen only its own ZADD. A single-slot register would keep 5 where ZADD@5 arrived
    # last and lose the member where it arrived first.
    for perm in itertools.permutations(range(3)):
        c = Cluster(3)
        c.run(0, "ZADD", "k", 5, "a")
        c.run(1, "ZADD", "k", 10, "a")
        c.run(1, "ZREM", "k", "a")
        lo, hi, rem = c[0].emitted[0], c[1].emitted[0], c[1].emitted[1]
        assert (hi.hlc, hi.origin) > (lo.hlc, lo.origin)  # the case this test is about
        ops = [lo, hi, rem]
        assert deliver_every_causal_order(c, [ops[p] for p in perm]) == [[b"a", 5.0]] * 3, perm


def test_zincrby_then_losing_zadd_that_saw_it_and_winning_concurrent_zadd():
    # r0: ZINCRBY +1; r1 (having seen it): ZADD 5; r2 concurrently: ZADD 7, the winner.
    # Serially `ZINCRBY; ZADD 5; ZADD 7` gives 7; no order gives 8.
    for perm in itertools.permutations(range(3)):
        c = Cluster(3)
        c.run(0, "ZINCRBY", "k", 1, "a")
        inc = c[0].emitted[0]
        c[1].node.apply_remote(inc)
        c[1].inbox.remove(inc)
        c.run(1, "ZADD", "k", 5, "a")
        c[2].node.hlc.observe(c[1].emitted[0].hlc)  # r2's clock is ahead: its ZADD wins
        c.run(2, "ZADD", "k", 7, "a")
        lose, win = c[1].emitted[0], c[2].emitted[0]
        assert (win.hlc, win.origin) > (lose.hlc, lose.origin)  # the case this test is about
        ops = [inc, lose, win]
        assert deliver_every_causal_order(c, [ops[p] for p in perm]) == [[b"a", 7.0]] * 3, perm


def test_zpopmin_concurrent_pops_same_member():
    v = scenario([(0, ("ZADD", "k", 1, "a", 2, "b"))], [(0, ("ZPOPMIN", "k")), (1, ("ZPOPMIN", "k"))])
    assert v == [b"b", 2.0]  # both replicas popped a (at-least-once pop)


def test_zrem_concurrent_zincrby_member_present_with_increment():
    v = scenario([(0, ("ZADD", "k", 5, "a"))], [(0, ("ZREM", "k", "a")), (1, ("ZINCRBY", "k", 2, "a"))])
    assert v == [b"a", 2.0]


async def test_bzpopmin_woken_by_replicated_zadd():
    c = Cluster(2)
    waiter = c[1]
    d = waiter.run("BZPOPMIN", "k", 0)
    assert isinstance(d, Deferred)
    assert waiter.client.blocked
    c.run(0, "ZADD", "k", 2, "b", 1, "a")
    assert not d.future.done()
    c.deliver_all()
    result = await asyncio.wait_for(d.future, 2)
    assert result == [b"k", b"a", 1.0]
    assert not waiter.client.blocked
    assert waiter.node.keyspace.dbs[0].waiters == {}
    # The pop is an op of the woken replica, and replicates like any other.
    c.replicas[1].inbox.clear()
    for op in waiter.emitted:
        if not c[0].applied(op):
            c[0].node.apply_remote(op)
    assert c[0].run("ZRANGE", "k", 0, -1) == [b"b"]
    assert waiter.run("ZRANGE", "k", 0, -1) == [b"b"]


async def test_bzpopmin_timeout_gives_null_array():
    r = Replica("solo")
    d = r.run("BZPOPMIN", "k", "0.01")
    assert isinstance(d, Deferred)
    assert await asyncio.wait_for(d.future, 2) is NULL_ARRAY
    assert r.node.keyspace.dbs[0].waiters == {}


# ---- the property test ---------------------------------------------------------------------------
MEMBERS = ["a", "b", "c"]
SCORES = st.one_of(st.integers(-3, 3).map(float), st.sampled_from([0.1, 0.2, 0.3, -0.0, 1.5, math.inf, -math.inf]))
DELTAS = st.one_of(st.integers(-2, 2).map(float), st.sampled_from([0.1, 0.7, -0.0, math.inf, -math.inf]))

COMMAND = st.one_of(
    st.tuples(st.just("zadd"), st.lists(st.tuples(SCORES, st.sampled_from(MEMBERS)), min_size=1, max_size=3)),
    st.tuples(st.just("zaddflag"), st.sampled_from(["NX", "XX", "GT", "LT", "CH"]), SCORES, st.sampled_from(MEMBERS)),
    st.tuples(st.just("zincrby"), DELTAS, st.sampled_from(MEMBERS)),
    st.tuples(st.just("zrem"), st.lists(st.sampled_from(MEMBERS), min_size=1, max_size=2)),
    st.tuples(st.just("zpop"), st.sampled_from(["ZPOPMIN", "ZPOPMAX"])),
    st.tuples(st.just("zremrangebyscore"), st.integers(-2, 2), st.integers(-2, 3)),
    st.tuples(st.just("del")),
    st.tuples(st.just("multi"), SCORES, DELTAS, st.sampled_from(MEMBERS)),
    st.tuples(st.just("deliver"), st.integers(1, 8)),
    st.tuples(st.just("gc")),
)
PROGRAM = st.lists(st.tuples(st.integers(0, 2), COMMAND), max_size=30)


def _fmt(x: float) -> str:
    return repr(x)


def run_command(c: Cluster, i: int, cmd: tuple[Any, ...]) -> None:
    kind = cmd[0]
    if kind == "zadd":
        args: list[Any] = []
        for s, m in cmd[1]:
            args += [_fmt(s), m]
        c.run(i, "ZADD", "k", *args)
    elif kind == "zaddflag":
        c.run(i, "ZADD", "k", cmd[1], _fmt(cmd[2]), cmd[3])
    elif kind == "zincrby":
        c.run(i, "ZINCRBY", "k", _fmt(cmd[1]), cmd[2])
    elif kind == "zrem":
        c.run(i, "ZREM", "k", *cmd[1])
    elif kind == "zpop":
        c.run(i, cmd[1], "k")
    elif kind == "zremrangebyscore":
        c.run(i, "ZREMRANGEBYSCORE", "k", cmd[1], cmd[2])
    elif kind == "del":
        c.run(i, "DEL", "k")
    elif kind == "multi":
        c.run(i, "MULTI")
        c.run(i, "ZADD", "k", _fmt(cmd[1]), cmd[3])
        c.run(i, "ZINCRBY", "k", _fmt(cmd[2]), cmd[3])
        c.run(i, "EXEC")
    elif kind == "deliver":
        c.deliver_some(cmd[1], dup_prob=0.2)
    elif kind == "gc":
        r = c.replicas[i]
        e = zset_of(r)
        if e is not None:
            e.gc(stable_at(c, r))
            check_index(e)


def stable_at(c: Cluster, r: Replica) -> Any:
    """Causal stability at `r`, known exactly in the simulation: every replica has applied
    the stamp (so their future ops observe it) and every op still to reach `r` observed it."""
    pending = [op for op in r.inbox if not r.applied(op)]

    def stable(h: int, o: str) -> bool:
        if h == 0:
            return True
        if any(rep.node.keyspace.vh.get(o, 0) < h for rep in c.replicas):
            return False
        return all(observes(op.origin, op.hlc, op.deps, h, o) for op in pending)

    return stable


def observes(origin: str, hlc: int, deps: dict[str, int], h: int, o: str) -> bool:
    """Whether an effect stamped (hlc, origin) with these deps had seen stamp (h, o)."""
    if o == origin:
        return h < hlc
    return deps.get(o, 0) >= h


def spec(ops: list[Op]) -> list[Any]:
    """The visible value (ZRANGE k 0 -1 WITHSCORES) from the ops and their causal order
    alone: a member is present iff some ZADD/ZINCRBY of it is observed by no remove of it;
    its score is the highest-stamped unremoved ZADD plus the increments observed by no ZADD
    (winning or not) and no remove of it, added in stamp order (NaN restarts from 0)."""
    events: dict[str, list[tuple[str, int, str, dict[str, int], float]]] = {m: [] for m in MEMBERS}
    for op in ops:
        for n, eff in enumerate(op.effects):
            h = op.hlc + n
            code = eff[0]
            if code & CREATE:
                # Delete first: the key did not exist where this write was made.
                for m in MEMBERS:
                    events[m].append(("rem", h, op.origin, op.deps, 0.0))
                code &= ~CREATE
            if code == ZADD:
                for j in range(3, len(eff), 2):
                    events[eff[j].decode()].append(("set", h, op.origin, op.deps, eff[j + 1]))
            elif code == ZINCR:
                events[eff[3].decode()].append(("inc", h, op.origin, op.deps, eff[4]))
            elif code == ZREM:
                for m in eff[3:]:
                    events[m.decode()].append(("rem", h, op.origin, op.deps, 0.0))
            elif code in (codes.DEL, codes.FLUSHDB):
                for m in MEMBERS:
                    events[m].append(("rem", h, op.origin, op.deps, 0.0))
            else:
                raise AssertionError(f"unexpected effect {eff!r}")
    out: list[tuple[float, bytes]] = []
    for m, evs in events.items():
        rems = [x for x in evs if x[0] == "rem"]

        def removed(x: tuple[str, int, str, dict[str, int], float], rems: list[Any] = rems) -> bool:
            return any(observes(r[2], r[1], r[3], x[1], x[2]) for r in rems)

        all_sets = [x for x in evs if x[0] == "set"]

        def reset(x: tuple[str, int, str, dict[str, int], float], all_sets: list[Any] = all_sets) -> bool:
            return any(observes(z[2], z[1], z[3], x[1], x[2]) for z in all_sets)

        sets = [x for x in all_sets if not removed(x)]
        incs = sorted((x for x in evs if x[0] == "inc" and not removed(x) and not reset(x)),
                      key=lambda x: (x[1], x[2]))
        if not sets and not incs:
            continue
        w = max(sets, key=lambda x: (x[1], x[2])) if sets else None
        score = None if w is None else w[4]
        for x in incs:
            if score is None:
                score = x[4]
            else:
                score = score + x[4]
                if score != score:
                    score = 0.0
        assert score is not None
        out.append((score, m.encode()))
    flat: list[Any] = []
    for s, m in sorted(out):
        flat += [m, s]
    return flat


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(program=PROGRAM, seed=st.integers(0, 2**32 - 1))
def test_property_converges_to_spec(program: list[tuple[int, tuple[Any, ...]]], seed: int) -> None:
    c = Cluster(3, seed=seed)
    for i, cmd in program:
        run_command(c, i, cmd)
    c.deliver_all(dup_prob=0.2)
    values = [visible(r) for r in c.replicas]
    assert values[0] == values[1] == values[2]
    expected = spec(c.all_ops())
    assert values[0] == expected
    # Signs of zero are part of the value too (ZSCORE prints -0).
    assert [math.copysign(1.0, x) for x in values[0][1::2]] == [math.copysign(1.0, x) for x in expected[1::2]]
    for r in c.replicas:
        e = zset_of(r)
        if e is not None:
            check_index(e)
            roundtrip(e)
            # Once everything is delivered, everything is stable: gc folds it all away.
            e.gc(stable_at(c, r))
            assert all(type(x) is float for x in e.recs.values())
            assert visible(r) == expected


# ---- apply_zadd's loop with peers, held to ZsetEntry.zadd ----------------------------------


class _OneEntry:
    """What apply_zadd asks of a keyspace with peers: the entry, and a settle."""

    solo = False

    def __init__(self, e: ZsetEntry) -> None:
        self.e = e

    def entry_for(self, db: Any, key: bytes, cls: type, ctx: Ctx) -> ZsetEntry:
        return self.e

    def settle(self, db: Any, key: bytes) -> None:
        pass


def _form(rec: Any) -> Any:
    """A record as a comparable value (a Member has no __eq__)."""
    return ("Member", rec.base, rec.incs, rec.score) if type(rec) is Member else rec


_MEMBERS = st.sampled_from([b"a", b"b", b"c", b"d" * 70])
_SCORES = st.sampled_from([0.0, -0.0, 1.0, 2.5, -3.0, math.inf])
_ORIGINS = st.sampled_from(["A", "B", "C"])
_PRIOR = st.lists(st.tuples(st.sampled_from(["zadd", "zincr", "zrem"]), _MEMBERS, _SCORES, _ORIGINS,
                            st.integers(1, 40), st.dictionaries(_ORIGINS, st.integers(0, 40), max_size=3)),
                  max_size=12)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_PRIOR, st.lists(st.tuples(_MEMBERS, _SCORES), min_size=1, max_size=4), _ORIGINS, st.integers(1, 45),
       st.dictionaries(_ORIGINS, st.integers(0, 45), max_size=3), st.booleans())
def test_apply_zadd_with_peers_does_what_zadd_does(prior: list[Any], pairs: list[tuple[bytes, float]], origin: str,
                                                   hlc: int, deps: dict[str, int], fresh: bool) -> None:
    from crdtredis.crdt.zset_aw import apply_zadd

    twins = (ZsetEntry(), ZsetEntry())
    for e in twins:
        for kind, m, s, o, h, d in prior:
            c = Ctx(o, 1, h, d)
            if kind == "zadd":
                e.zadd(m, s, c, False)
            elif kind == "zincr":
                e.zincr(m, s if math.isfinite(s) else 1.0, c, False)
            else:
                e.zrem(m, c, False)
        e.fresh = [] if fresh else None  # a big zset's GC list, or none
    inline, called = twins
    c = Ctx(origin, 1, hlc, deps)
    eff = (ZADD, 0, b"k", *itertools.chain.from_iterable(pairs))
    apply_zadd(_OneEntry(inline), None, eff, c)  # type: ignore[arg-type]
    for m, s in pairs:
        called.zadd(m, s, c, False)
    called.touch(c)
    assert {m: _form(r) for m, r in inline.recs.items()} == {m: _form(r) for m, r in called.recs.items()}
    for m, rec in inline.recs.items():
        assert type(rec) is type(called.recs[m])
        assert sign(inline.score(m)) == sign(called.score(m))
    assert list(inline.index) == list(called.index)
    assert [sign(s) for s, _m in inline.index] == [sign(s) for s, _m in called.index]
    assert (inline.big, inline.fresh, inline.thlc, inline.torigin) == (called.big, called.fresh, called.thlc,
                                                                        called.torigin)
    check_index(inline)
