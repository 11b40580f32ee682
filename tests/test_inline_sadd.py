"""runs.py's SADD runs answer and emit what commands/sets.py `sadd_cmd` answers and emits
one request at a time, and keyspace_batch.apply_local_all writes a new member of a set in
hashtable encoding itself: it must leave exactly what crdt/set_aw.apply_sadd leaves, solo
and with peers, over sets that are new, small (intset), big, tracked by GC (`fresh`),
folded stable, holding a peer's concurrent add, with a pool of random picks, watched,
expiring, or shadowed by another type; and so must its compiled copy."""
from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from crdtredis import keyspace_batch
from crdtredis.crdt import members
from crdtredis.crdt.set_aw import SetEntry
from crdtredis.node import Node
from tests.support.loops import compare_runs, one_by_one_node, pipelined
from tests.test_cmd_strings import R

_KEYS = st.sampled_from(["a", "b"])
_MEMBERS = st.sampled_from(["1", "2", "x", "element:000000000007"])
_STEPS = st.lists(st.one_of(
    st.tuples(st.just("run"), st.lists(st.tuples(_KEYS, _MEMBERS), min_size=1, max_size=6)),
    st.tuples(st.just("SADD"), _KEYS, _MEMBERS),
    st.tuples(st.just("SREM"), _KEYS, _MEMBERS),
    st.tuples(st.just("SET"), _KEYS, st.just("v")),
    st.tuples(st.just("DEL"), _KEYS),
    st.tuples(st.just("EXPIRE"), _KEYS, st.just("1000")),
    st.tuples(st.just("WATCH"), _KEYS),
    st.tuples(st.just("UNWATCH")),
    st.tuples(st.just("fill"), _KEYS),  # 600 members: hashtable encoding, a GC-tracked size
    st.tuples(st.just("pick"), _KEYS),  # SRANDMEMBER: a big set builds its pool of picks
    st.tuples(st.just("txn")),  # MULTI / PING / EXEC: nil when a WATCHed key was touched
    st.tuples(st.just("gc"), _KEYS),  # every stamp of the key stable: folded, `fresh` kept
    st.tuples(st.just("peer"), st.sampled_from(["SADD", "SREM", "SET"]), _KEYS, _MEMBERS),
), max_size=20)


def _sets(node: Node) -> dict[bytes, tuple[Any, ...]]:
    """What the state dump leaves out of a set: GC's list, the pool, the type stamp."""
    return {k: (e.ht, None if e.fresh is None else list(e.fresh), e.pool, e.thlc, e.torigin)
            for k, e in node.keyspace.dbs[0].data.items() if type(e) is SetEntry}


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=_STEPS, peers=st.booleans())
@example(steps=[("fill", "a"), ("run", [("a", "x"), ("a", "x"), ("b", "1"), ("b", "1"), ("a", "1")])], peers=True)
@example(steps=[("fill", "a"), ("gc", "a"), ("run", [("a", "x"), ("a", "2")])], peers=True)
@example(steps=[("fill", "a"), ("pick", "a"), ("run", [("a", "x")])], peers=False)
@example(steps=[("fill", "a"), ("peer", "SADD", "a", "x"), ("run", [("a", "x"), ("a", "2")])], peers=True)
@example(steps=[("peer", "SADD", "a", "x"), ("fill", "a"), ("peer", "SREM", "a", "x"), ("run", [("a", "x")])],
         peers=True)
@example(steps=[("fill", "a"), ("fill", "b"), ("WATCH", "a"), ("run", [("b", "x"), ("a", "x")]), ("txn",)],
         peers=False)  # the inline one touches a
@example(steps=[("SET", "a", "v"), ("run", [("b", "1"), ("a", "1"), ("b", "2")])], peers=False)
@example(steps=[("fill", "a"), ("EXPIRE", "b", "1000"), ("run", [("a", "x")])], peers=True)
@example(steps=[("fill", "a"), ("SET", "b", "v"), ("peer", "SADD", "b", "x"), ("run", [("a", "x")])],
         peers=True)  # a hidden set in the db: nothing inline there
@example(steps=[("SADD", "a", "x"), ("gc", "a"), ("run", [("a", "1")]), ("SREM", "a", "1"), ("run", [("a", "2")]),
                ("SREM", "a", "2"), ("run", [("a", "2")])], peers=True)  # `fresh` grows past the set's size
def test_sadd_runs_leave_what_sadd_leaves(steps: list[tuple[Any, ...]], peers: bool,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    # Every GC visit starts tracking the set's members (the same value for every example).
    monkeypatch.setattr(members, "TRACK_MIN", 0)
    compare_runs(
        steps, peers,
        run=lambda step: [[b"SADD", k.encode(), m.encode()] for k, m in step[1]],
        peer=lambda step: {"SADD": ("SADD", step[2], step[3]), "SREM": ("SREM", step[2], step[3]),
                           "SET": ("SET", step[2], "p")}[step[1]],
        own={"fill": lambda r, step: r("SADD", step[1], *[f"m{i}" for i in range(600)]),
             # SRANDMEMBER builds a big set's pool; its pick is random: not compared.
             "pick": lambda r, step: r("SRANDMEMBER", step[1]) and None},
        summary=_sets)


@pytest.mark.parametrize("elsewhere", ["", "ttl", "deleted"])
@pytest.mark.parametrize("peers", [False, True])
def test_a_sadd_run_adds_in_the_loop(peers: bool, elsewhere: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # New members of a big set never reach apply_sadd (the test above compares the inline
    # case, not the fallback), and members already there emit nothing; nor does another
    # key of the db with a TTL, or (with peers) a set deleted there and kept hidden until
    # GC (db.shadow), change that. Spied in the interpreted copy of the loop, which finds
    # apply_sadd at call time.
    from crdtredis.crdt import set_aw
    from crdtredis.keyspace import _APPLY

    node = one_by_one_node(peers)
    r = R(node)
    r("SADD", "s", *[f"m{i}" for i in range(600)])
    if elsewhere == "ttl":
        r("SET", "t", "v", "EX", "1000")
    elif elsewhere == "deleted":
        r("SADD", "t", "x")
        r("DEL", "t")
        assert bool(node.keyspace.dbs[0].shadow) == peers
    calls = []

    def spy(*a: Any) -> None:
        calls.append(a)
        set_aw.apply_sadd(*a)

    monkeypatch.setitem(_APPLY, set_aw.SADD, spy)
    monkeypatch.setattr(keyspace_batch, "_apply_sadd", spy)
    monkeypatch.setattr(keyspace_batch, "apply_local_all", keyspace_batch.apply_local_all_py)
    seq = node.keyspace.vv[node.origin]
    cmds = [[b"SADD", b"s", x] for x in (b"new1", b"m3", b"new2", b"new1", b"m599")]
    assert pipelined(node, r.c, cmds) == [1, 0, 1, 0, 0]
    assert calls == [] and r("SCARD", "s") == 602
    assert node.keyspace.vv[node.origin] == seq + 2  # one effect per new member, none for the rest
    e = node.keyspace.dbs[0].data[b"s"]
    assert e.m[b"new1"] == (0 if not peers else (e.m[b"new1"][0], node.origin))
    # A run of members all there writes nothing.
    assert pipelined(node, r.c, [[b"SADD", b"s", b"m1"], [b"SADD", b"s", b"new2"]]) == [0, 0]
    assert node.keyspace.vv[node.origin] == seq + 2
