"""runs.py's ZADD runs (`ZADD key score member`, pipelined) answer and emit what
commands/zsets.py `_zadd_one` answers and emits one request at a time, over sorted sets
that are new, in listpack or skiplist encoding (by size or by a long member), holding a
peer's concurrent score, folded stable by GC, watched, expiring or shadowed by another type,
with scores that are zero (either sign), infinite, repeated, invalid or a flag."""
from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from crdtredis.crdt import members
from crdtredis.crdt.zset_aw import ZsetEntry
from crdtredis.node import Node
from tests.support.loops import compare_runs, one_by_one_node, pipelined
from tests.test_cmd_strings import R

_KEYS = st.sampled_from(["a", "b"])
_MEMBERS = st.sampled_from(["x", "y", "m7", "l" * 70])  # the last is past listpack's value size
_SCORES = st.sampled_from(["0", "-0", "1.5", "2", "-inf", "+inf", "nan", "x", "NX", "1e-400"])
_STEPS = st.lists(st.one_of(
    st.tuples(st.just("run"), st.lists(st.tuples(_KEYS, _SCORES, _MEMBERS), min_size=1, max_size=6)),
    st.tuples(st.just("ZADD"), _KEYS, _SCORES, _MEMBERS),
    st.tuples(st.just("ZINCRBY"), _KEYS, st.just("1"), _MEMBERS),
    st.tuples(st.just("ZREM"), _KEYS, _MEMBERS),
    st.tuples(st.just("SET"), _KEYS, st.just("v")),
    st.tuples(st.just("DEL"), _KEYS),
    st.tuples(st.just("EXPIRE"), _KEYS, st.just("1000")),
    st.tuples(st.just("WATCH"), _KEYS),
    st.tuples(st.just("UNWATCH")),
    st.tuples(st.just("fill"), _KEYS),  # 127 members: one short of listpack's most entries
    st.tuples(st.just("enc"), _KEYS),  # OBJECT ENCODING
    st.tuples(st.just("ZSCORE"), _KEYS, _MEMBERS),  # 0 and -0 told apart
    st.tuples(st.just("txn")),  # MULTI / PING / EXEC: nil when a WATCHed key was touched
    st.tuples(st.just("gc"), _KEYS),  # every stamp of the key stable: folded
    st.tuples(st.just("peer"), st.sampled_from(["ZADD", "ZREM", "SET"]), _KEYS, _MEMBERS),
), max_size=20)


def _zsets(node: Node) -> dict[bytes, tuple[Any, ...]]:
    """What the state dump leaves out of a sorted set: its encoding, the index, the type stamp."""
    return {k: (e.big, list(e.index), e.thlc, e.torigin)
            for k, e in node.keyspace.dbs[0].data.items() if type(e) is ZsetEntry}


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=_STEPS, peers=st.booleans())
@example(steps=[("run", [("a", "0", "x"), ("a", "-0", "y"), ("a", "-0", "x"), ("a", "2", "x"), ("a", "2", "x")]),
                ("enc", "a")], peers=False)
@example(steps=[("fill", "a"), ("run", [("a", "-0", "x"), ("a", "-0", "y"), ("a", "-0", "m7")]), ("enc", "a"),
                ("ZSCORE", "a", "x"), ("ZSCORE", "a", "y")],
         peers=False)  # the run's second new member makes it a skiplist: its -0 stays -0
@example(steps=[("fill", "a"), ("run", [("a", "-0", "x")]), ("run", [("a", "-0", "y"), ("a", "-0", "m7")])],
         peers=False)  # the key's own size: the second run starts at 128 members
@example(steps=[("fill", "a"), ("ZADD", "a", "1", "x"), ("ZADD", "a", "1", "y"), ("run", [("a", "-0", "x")]),
                ("ZSCORE", "a", "x")], peers=False)  # a skiplist already: -0 stays -0
@example(steps=[("run", [("a", "-0", "x"), ("a", "-0", "l" * 70), ("a", "-0", "y")])], peers=True)
@example(steps=[("run", [("a", "1.5", "x"), ("a", "NX", "y"), ("a", "2", "x")])], peers=False)
@example(steps=[("run", [("a", "1.5", "x"), ("a", "nan", "y"), ("a", "2", "x")])], peers=False)
@example(steps=[("SET", "b", "v"), ("run", [("a", "1", "x"), ("b", "1", "x")])], peers=False)
@example(steps=[("ZADD", "a", "1", "x"), ("peer", "ZADD", "a", "x"), ("run", [("a", "1", "x"), ("a", "2", "x")])],
         peers=True)
@example(steps=[("ZADD", "a", "1", "x"), ("WATCH", "a"), ("run", [("a", "1", "x")]), ("txn",)], peers=False)
@example(steps=[("ZADD", "a", "1", "x"), ("WATCH", "a"), ("run", [("a", "2", "x")]), ("txn",)], peers=True)
@example(steps=[("ZADD", "a", "1", "x"), ("EXPIRE", "a", "1000"), ("run", [("a", "2", "x")])], peers=True)
@example(steps=[("ZADD", "a", "1", "x"), ("gc", "a"), ("ZINCRBY", "a", "1", "x"), ("run", [("a", "2", "x")])],
         peers=True)
def test_zadd_runs_leave_what_zadd_leaves(steps: list[tuple[Any, ...]], peers: bool,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    # Every GC visit starts tracking the sorted set's members (the same value for every example).
    monkeypatch.setattr(members, "TRACK_MIN", 0)
    compare_runs(
        steps, peers,
        run=lambda step: [[b"ZADD", k.encode(), sc.encode(), m.encode()] for k, sc, m in step[1]],
        peer=lambda step: {"ZADD": ("ZADD", step[2], "7", step[3]), "ZREM": ("ZREM", step[2], step[3]),
                           "SET": ("SET", step[2], "p")}[step[1]],
        own={"fill": lambda r, step: r("ZADD", step[1], *[x for i in range(127) for x in ("1", f"m{i}")]),
             "enc": lambda r, step: r("OBJECT", "ENCODING", step[1])},
        summary=_zsets)


def test_a_zadd_run_goes_in_one_call() -> None:
    node = one_by_one_node(False)
    r = R(node)
    r("ZADD", "z", "1", "a")
    ran = []
    real = node.run_cmds

    def spy(*a: Any) -> Any:
        got = real(*a)
        ran.append(got[0])
        return got

    node.run_cmds = spy  # type: ignore[method-assign, assignment]
    cmds = [[b"ZADD", b"z", b"1", b"a"], [b"ZADD", b"z", b"2", b"a"], [b"ZADD", b"z", b"3", b"b"],
            [b"ZADD", b"n", b"-0", b"a"], [b"ZADD", b"z", b"3", b"b"]]
    assert pipelined(node, r.c, cmds) == [0, 0, 1, 1, 0] and ran == [5]
    assert r("ZRANGE", "z", "0", "-1", "WITHSCORES") == [b"a", 2.0, b"b", 3.0]
    assert repr(r("ZSCORE", "n", "a")) == "0.0"  # a listpack stores -0 as 0, as Redis does
