"""keyspace_batch.apply_local_all folds an INCR on a replica without peers itself (runs.py's
INCR runs), and on a replica with peers makes the lean counter of a missing key's INCR and
counts a plain string's or a counter's INCR in its counter: it must leave exactly what
string_counter.apply_incr leaves one INCR at a time, over missing keys, plain strings
(integers, not integers, at the int64 edge), values with a TTL, watched keys, other types
and a replica with peers (counters past LEAN_MAX included); and so must its compiled copy."""
from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from crdtredis import keyspace_batch
from crdtredis.commands import new_node
from crdtredis.config import default_config
from crdtredis.crdt import codes
from crdtredis.keyspace import CREATE
from tests.support.loops import loop_nodes, pipelined
from tests.support.state import assert_same_keyspaces
from tests.test_cmd_strings import R, from_peer

_KEYS = st.sampled_from(["a", "b"])
_STEPS = st.lists(st.one_of(
    st.tuples(st.just("run"), st.lists(_KEYS, min_size=1, max_size=20)),
    st.tuples(st.just("SET"), _KEYS, st.sampled_from(["1", "-7", "x", "9223372036854775806", " 1"])),
    st.tuples(st.just("INCRBYFLOAT"), _KEYS, st.just("1.5")),
    st.tuples(st.just("DEL"), _KEYS),
    st.tuples(st.just("EXPIRE"), _KEYS, st.just("1000")),
    st.tuples(st.just("LPUSH"), _KEYS, st.just("v")),
    st.tuples(st.just("WATCH"), _KEYS),
    st.tuples(st.just("txn")),  # MULTI / PING / EXEC: nil when a WATCHed key was touched
), max_size=12)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=_STEPS, peers=st.booleans())
@example(steps=[("run", ["a", "a", "b"]), ("SET", "a", "9223372036854775806"), ("run", ["a", "a", "a"])], peers=False)
@example(steps=[("SET", "a", "1"), ("EXPIRE", "a", "1000"), ("run", ["a", "a"])], peers=False)
@example(steps=[("SET", "a", "1"), ("WATCH", "a"), ("run", ["b", "a"]), ("txn",)], peers=False)
@example(steps=[("SET", "a", "x"), ("run", ["b", "a"])], peers=False)
@example(steps=[("SET", "a", "1"), ("run", ["a", "b"] * 6), ("DEL", "b"), ("run", ["a", "b"])], peers=True)
def test_inline_incr_leaves_what_apply_incr_leaves(steps: list[tuple[Any, ...]], peers: bool) -> None:
    loops, nodes, _peer = loop_nodes(peers)
    clients = [R(n) for n in nodes]
    saved = keyspace_batch.apply_local_all
    try:
        for step in steps:
            replies = []
            for loop, n, r in zip(loops, nodes, clients, strict=True):
                keyspace_batch.apply_local_all = loop  # type: ignore[assignment]
                if step[0] == "run":
                    replies.append(pipelined(n, r.c, [[b"INCR", k.encode()] for k in step[1]]))
                elif step[0] == "txn":
                    r("MULTI")
                    r("PING")
                    replies.append(r("EXEC"))
                else:
                    replies.append(r(*step))
            assert all(repr(x) == repr(replies[0]) for x in replies), (step, replies)
        assert_same_keyspaces(nodes, dbs=1)
    finally:
        keyspace_batch.apply_local_all = saved  # type: ignore[assignment]


def test_an_incr_run_folds_in_the_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    # Without peers the run's INCRs never reach apply_incr (the test above compares the
    # inline case, not the fallback). Spied in the interpreted copy of the loop, which
    # finds apply_incr at call time (the compiled copy is the same source).
    from crdtredis.crdt import string_counter
    from crdtredis.keyspace import _APPLY

    node = new_node(dataclasses.replace(default_config(), replica_id="t"))
    r = R(node)
    r("SET", "a", "5")
    calls = []

    def spy(*a: Any) -> None:
        calls.append(a)
        string_counter.apply_incr(*a)

    code = next(c for c, f in _APPLY.items() if f is string_counter.apply_incr)
    monkeypatch.setitem(_APPLY, code, spy)
    monkeypatch.setattr(keyspace_batch, "_apply_incr", spy)
    monkeypatch.setattr(keyspace_batch, "apply_local_all", keyspace_batch.apply_local_all_py)
    assert pipelined(node, r.c, [[b"INCR", b"a"], [b"INCR", b"b"]] * 3) == [6, 1, 7, 2, 8, 3]
    assert calls == [] and r("MGET", "a", "b") == [b"8", b"3"]
    # With peers, the first INCR of a missing key makes its lean counter in the loop, the
    # next ones count in it there, and so do INCRs of a plain string (a SET's, or a counter
    # GC folded): none reaches apply_incr.
    node = new_node(dataclasses.replace(default_config(), replica_id="t", peers=("http://x",)))
    r = R(node)
    r("SET", "b", "5")
    assert type(node.keyspace.dbs[0].data[b"b"]) is tuple
    assert pipelined(node, r.c, [[b"INCR", b"a"], [b"INCR", b"b"]] * 3) == [1, 6, 2, 7, 3, 8]
    assert calls == [] and r("MGET", "a", "b") == [b"3", b"8"]
    assert all(type(node.keyspace.dbs[0].data[k]) is string_counter.CounterStr for k in (b"a", b"b"))
    # Past LEAN_MAX increments the counter takes its full form, in CounterStr.incr, still
    # from the loop.
    n = string_counter.LEAN_MAX + 2
    assert pipelined(node, r.c, [[b"INCR", b"a"]] * n) == list(range(4, 4 + n)) and calls == []
    assert node.keyspace.dbs[0].data[b"a"]._reg is not None


def test_an_incr_of_a_key_whose_ttl_outlived_its_value_refreshes_it_as_apply_incr_does() -> None:
    """With peers, a missing key can still have a TTL: a peer's EXPIRE concurrent with our
    DEL of its value. Its INCR is then not the loop's lean case (apply_incr settles the TTL
    against the new counter, refresh_expiry), and every copy of the loop must leave what
    the reference leaves."""
    loops, nodes, peer = loop_nodes(True)
    from_peer(peer, nodes, "SET", "a", "1")
    for n in nodes:
        R(n)("DEL", "a")
    from_peer(peer, nodes, "PEXPIRE", "a", "100000000")
    for n in nodes:
        assert n.keyspace.dbs[0].data.get(b"a") is None and b"a" in n.keyspace.dbs[0].expires
    saved = keyspace_batch.apply_local_all
    try:
        replies = []
        for loop, n in zip(loops, nodes, strict=True):
            keyspace_batch.apply_local_all = loop  # type: ignore[assignment]
            # runs.py's INCR runs decline in a db with TTLs: the effects go to the loop here,
            # as a run's would (what `_incrs` emits for a key it sees missing).
            n._emit_all([(codes.INCR | CREATE, 0, b"a", 1), (codes.INCR, 0, b"a", 1)])
            n.close_group()
            r = R(n)
            replies.append((r("GET", "a"), r("PTTL", "a")))
        assert all(x == replies[0] for x in replies), replies
        assert replies[0][0] == b"2"
        assert_same_keyspaces(nodes, dbs=1)
    finally:
        keyspace_batch.apply_local_all = saved  # type: ignore[assignment]


def test_a_peers_string_or_counter_counts_in_the_loop_as_apply_incr_counts() -> None:
    """With peers, the loop's own lean code (a plain string becoming a lean counter, a lean
    counter taking one more increment) must leave what apply_incr leaves when the value or
    the last increment is a peer's (its stamp, not ours, was the type stamp), for any
    delta, not only a run's 1, and for increments the value refuses (the loop never gets
    one from a run, which stops before them, but its copies must still fold as apply_incr)."""
    loops, nodes, peer = loop_nodes(True)
    from_peer(peer, nodes, "SET", "a", "1")  # a plain string, the peer's stamp
    from_peer(peer, nodes, "INCRBY", "b", "3")  # a lean counter, its last increment the peer's
    from_peer(peer, nodes, "SET", "c", "x")  # an increment of it is refused (skipped in the fold)
    for n in nodes:
        assert type(n.keyspace.dbs[0].data[b"a"]) is tuple
    saved = keyspace_batch.apply_local_all
    try:
        replies = []
        for loop, n in zip(loops, nodes, strict=True):
            keyspace_batch.apply_local_all = loop  # type: ignore[assignment]
            n._emit_all([(codes.INCR, 0, b"a", 5), (codes.INCR, 0, b"b", 7), (codes.INCR, 0, b"b", -2),
                         (codes.INCR, 0, b"c", 1), (codes.INCR, 0, b"c", 2)])
            n.close_group()
            e = n.keyspace.dbs[0].data[b"b"]
            replies.append((R(n)("MGET", "a", "b", "c"), e.thlc, e.torigin, e.state()))
        assert all(x == replies[0] for x in replies), replies
        assert replies[0][0] == [b"6", b"8", b"x"] and replies[0][2] == nodes[0].origin
        assert_same_keyspaces(nodes, dbs=1)
    finally:
        keyspace_batch.apply_local_all = saved  # type: ignore[assignment]
