"""keyspace_batch.apply_local_all writes a one-field HSET itself (runs.py's HSET runs): it
must leave exactly what crdt/map_fields.apply_hset leaves, solo and with peers, over hashes
that are new, small or big, tracked by GC (`fresh`), folded stable, holding a peer's
concurrent write or increment, watched, or shadowed by another type; and so must its
compiled copy."""
from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from crdtredis import keyspace_batch
from crdtredis.crdt import members
from crdtredis.crdt.map_fields import HSET, HashEntry
from crdtredis.keyspace import CREATE
from crdtredis.node import Node
from tests.support.loops import loop_nodes
from tests.support.state import assert_same_keyspaces
from tests.test_cmd_strings import R, from_peer

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


def _run(node: Node, triples: list[tuple[str, str, str]]) -> None:
    """HSETs emitted as runs._hsets emits them (CREATE on a key it creates; none from a key
    of another type on), in one `Node._emit_all`, then the op closed."""
    db = node.keyspace.dbs[0]
    made: set[bytes] = set()
    effs: list[Any] = []
    for k, f, v in triples:
        key = k.encode()
        code = HSET
        e = db.data.get(key)
        if e is None and key not in made:
            code |= CREATE
            made.add(key)
        elif e is not None and type(e) is not HashEntry:
            break
        effs.append((code, 0, key, f.encode(), v.encode()))
    if effs:
        node._emit_all(effs)
        node.close_group()


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
    loops, nodes, peer = loop_nodes(peers)
    clients = [R(n) for n in nodes]
    saved = keyspace_batch.apply_local_all
    try:
        for step in steps:
            if step[0] == "peer":
                if not peers:
                    continue
                key, f = step[2], step[3]
                argv = {"HSET": ("HSET", key, f, "p"), "HINCRBY": ("HINCRBY", key, f, "2"),
                        "SET": ("SET", key, "p")}[step[1]]
                from_peer(peer, nodes, *argv)
                continue
            replies = []
            for loop, n, r in zip(loops, nodes, clients, strict=True):
                keyspace_batch.apply_local_all = loop  # type: ignore[assignment]
                if step[0] == "run":
                    _run(n, step[1])
                elif step[0] == "fill":
                    replies.append(r("HSET", step[1], *[x for i in range(511) for x in (f"m{i}", "1")]))
                elif step[0] == "txn":
                    r("MULTI")
                    r("PING")
                    replies.append(r("EXEC"))
                elif step[0] == "gc":
                    ks = n.keyspace
                    replies.append(ks._gc_key(ks.dbs[0], step[1].encode(), lambda hlc, origin: True))
                else:
                    replies.append(r(*step))
            assert all(x == replies[0] for x in replies), (step, replies)
        assert_same_keyspaces(nodes, dbs=1)
        assert all(_hashes(n) == _hashes(nodes[0]) for n in nodes[1:])
    finally:
        keyspace_batch.apply_local_all = saved  # type: ignore[assignment]
