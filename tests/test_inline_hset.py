"""runs.py's HSET runs answer and emit what commands/hashes.py `hset_cmd` answers and emits
one request at a time, and keyspace_batch.apply_local_all writes a one-field HSET itself:
it must leave exactly what crdt/map_fields.apply_hset leaves, solo and with peers, over
hashes that are new, small or big, tracked by GC (`fresh`), folded stable, holding a peer's
concurrent write or increment, watched, or shadowed by another type; and so must its
compiled copy (tests/support/loops.compare_runs)."""
from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from crdtredis.crdt import members
from crdtredis.crdt.map_fields import HashEntry
from crdtredis.node import Node
from tests.support.loops import compare_runs

_KEYS = st.sampled_from(["a", "b"])
_FIELDS = st.sampled_from(["f", "g", "h" * 70])  # the last is past listpack's value size
_VALS = st.sampled_from(["1", "x", "v" * 70])
_STEPS = st.lists(st.one_of(
    st.tuples(st.just("run"), st.lists(st.tuples(_KEYS, _FIELDS, _VALS), min_size=1, max_size=5)),
    st.tuples(st.just("HSET"), _KEYS, _FIELDS, _VALS),
    st.tuples(st.just("HINCRBY"), _KEYS, st.just("n"), st.just("1")),
    st.tuples(st.just("HDEL"), _KEYS, _FIELDS),
    st.tuples(st.just("SET"), _KEYS, _VALS),
    st.tuples(st.just("DEL"), _KEYS),
    st.tuples(st.just("WATCH"), _KEYS),
    st.tuples(st.just("UNWATCH")),
    st.tuples(st.just("fill"), _KEYS),  # 511 fields: one short of listpack's most entries
    st.tuples(st.just("txn")),  # MULTI / PING / EXEC: nil when a WATCHed key was touched
    st.tuples(st.just("gc"), _KEYS),  # every stamp of the key stable: folded, `fresh` kept
    st.tuples(st.just("peer"), st.sampled_from(["HSET", "HINCRBY", "SET"]), _KEYS, _FIELDS),
), max_size=20)


def _hashes(node: Node) -> dict[bytes, tuple[Any, ...]]:
    """What the state dump leaves out of a hash: listpack/hashtable, GC's list, the type stamp."""
    return {k: (e.big, None if e.fresh is None else list(e.fresh), e.thlc, e.torigin)
            for k, e in node.keyspace.dbs[0].data.items() if type(e) is HashEntry}


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=_STEPS, peers=st.booleans())
@example(steps=[("HSET", "a", "f", "1"), ("run", [("a", "f", "x"), ("a", "g", "1")])], peers=True)
@example(steps=[("fill", "a"), ("gc", "a"), ("run", [("a", "f", "x"), ("a", "g", "1")])], peers=True)
@example(steps=[("peer", "HSET", "a", "f"), ("run", [("a", "f", "x")])], peers=True)
@example(steps=[("peer", "HINCRBY", "a", "f"), ("run", [("a", "f", "x")])], peers=True)
@example(steps=[("SET", "a", "1"), ("peer", "HSET", "a", "f"), ("run", [("a", "f", "x")])], peers=True)
@example(steps=[("peer", "HSET", "a", "f"), ("HSET", "b", "f", "1"), ("run", [("b", "f", "x"), ("a", "g", "y")])],
         peers=True)  # the inline one takes the type stamp from the peer's
@example(steps=[("HSET", "a", "f", "1"), ("HSET", "b", "f", "1"), ("WATCH", "a"),
                ("run", [("b", "f", "x"), ("a", "f", "y")]), ("txn",)], peers=False)  # the inline one touches a
@example(steps=[("fill", "a"), ("HSET", "a", "f", "1"), ("run", [("a", "f", "x"), ("a", "g", "x")])],
         peers=False)  # the inline one writes the 513th field
@example(steps=[("HSET", "a", "f", "1"), ("run", [("a", "f", "x"), ("a", "h" * 70, "1")])],
         peers=False)  # the inline one writes a field past listpack's value size
@example(steps=[("HSET", "a", "f", "1"), ("HSET", "a", "g", "1"), ("gc", "a"),
                ("run", [("a", "f", "x"), ("a", "f", "y")])], peers=True)  # `fresh` as long as the hash
def test_inline_hset_leaves_what_apply_hset_leaves(steps: list[tuple[Any, ...]], peers: bool,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    # Every GC visit starts tracking the hash's fields (the same value for every example).
    monkeypatch.setattr(members, "TRACK_MIN", 0)
    compare_runs(
        steps, peers,
        run=lambda step: [[b"HSET", k.encode(), f.encode(), v.encode()] for k, f, v in step[1]],
        peer=lambda step: {"HSET": ("HSET", step[2], step[3], "p"), "HINCRBY": ("HINCRBY", step[2], step[3], "2"),
                           "SET": ("SET", step[2], "p")}[step[1]],
        own={"fill": lambda r, step: r("HSET", step[1], *[x for i in range(511) for x in (f"m{i}", "1")])},
        summary=_hashes)
