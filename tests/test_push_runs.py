"""keyspace_batch.apply_local_all applies a run of one-value pushes to one list (runs.py's
pipelined LPUSH / RPUSH runs) in one move (crdt/list_push.py): it must leave exactly what
apply_insert leaves one push at a time, solo and with peers, at the edges of the head block
(HEAD_BLOCK) and of a block (MAX_BLOCK), over packed blocks, a built id locator, a peer's
concurrent pushes, GC, and where it must decline (a watched key, a TTL, another type); and
so must its compiled copy."""
from __future__ import annotations

import dataclasses
from typing import Any

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from crdtredis import keyspace_batch
from crdtredis.commands import new_node
from crdtredis.config import default_config
from crdtredis.crdt.list_blocks import _ORIGINS, HEAD_BLOCK, MAX_BLOCK
from crdtredis.crdt.list_rga import ListEntry
from crdtredis.node import Node
from tests.support.state import assert_same_keyspaces
from tests.test_cmd_strings import FAR_MS, R, from_peer

_KEYS = st.sampled_from(["a", "b"])
_PUSH = st.sampled_from(["LPUSH", "RPUSH"])
_STEPS = st.lists(st.one_of(
    st.tuples(st.just("run"), _PUSH, st.lists(_KEYS, min_size=1, max_size=40)),
    st.tuples(st.just("fill"), _PUSH, _KEYS,
              st.sampled_from([1, 100, HEAD_BLOCK - 3, HEAD_BLOCK, MAX_BLOCK - 3, MAX_BLOCK + 5])),
    st.tuples(st.sampled_from(["LPOP", "RPOP"]), _KEYS, st.sampled_from(["1", "30"])),
    st.tuples(st.just("DEL"), _KEYS),
    st.tuples(st.just("SET"), _KEYS),
    st.tuples(st.just("EXPIRE"), _KEYS),
    st.tuples(st.just("WATCH"), _KEYS),
    st.tuples(st.just("UNWATCH")),
    st.tuples(st.just("where"), _KEYS),  # build the list's id locator (a lookup that misses its hint)
    st.tuples(st.just("gc"), _KEYS),
    st.tuples(st.just("peer"), _PUSH, _KEYS),
), max_size=16)


def _reference(ks: Any, effs: list[Any], into: list[Any], seq: int, hlc: int) -> None:
    """What `Node._emit` does for each effect one by one: `Keyspace.apply_local`, every
    push through apply_insert."""
    for k, eff in enumerate(effs):
        into.append(eff)
        ks.apply_local(eff, seq + k, hlc + k)


def _pipelined(node: Node, client: Any, cmds: list[list[bytes]]) -> list[Any]:
    """`cmds` as one read batch of one client: runs.run_cmds where it takes them, else
    `Node.execute` (as the request loops do)."""
    client.batching = True
    out: list[Any] = []
    i = 0
    while i < len(cmds):
        k, replies, exc = node.run_cmds(client, cmds, i, len(cmds))
        assert exc is None
        if k <= 0:
            out.append(node.execute(client, cmds[i]))
            k = 1
        else:
            out += replies if replies is not None else [None] * k
        i += k
    node.batch_done()
    client.batching = False
    return out


def _lists(node: Node) -> dict[bytes, Any]:
    """What the state dump leaves out of a list: its blocks, the locator, the type stamp."""
    out = {}
    for key, e in node.keyspace.dbs[0].data.items():
        if type(e) is ListEntry:
            first = e.blocks[0].idx if e.blocks else 0
            blocks = [(list(b.vals), list(b.hl), list(b.oi), b.live, b.lo, b.hi, b.packed is not None, b.idx - first)
                      for b in e.blocks]
            where = None if e.where is None else {p: b.idx - first for p, b in e.where.items()}
            out[key] = (blocks, where, e.size, e.thlc, e.torigin, None if e.hot is None else [b.idx - first for b in e.hot],
                        sorted(b.idx - first for b in e.fwd))
    return out


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=_STEPS, peers=st.booleans())
@example(steps=[("fill", "LPUSH", "a", HEAD_BLOCK - 3), ("run", "LPUSH", ["a"] * 3)], peers=False)  # fills it
@example(steps=[("fill", "LPUSH", "a", HEAD_BLOCK - 3), ("run", "LPUSH", ["a"] * 4)], peers=True)  # one over
@example(steps=[("fill", "RPUSH", "a", MAX_BLOCK - 3), ("run", "RPUSH", ["a"] * 3)], peers=False)
@example(steps=[("fill", "RPUSH", "a", MAX_BLOCK - 3), ("run", "RPUSH", ["a"] * 4)], peers=True)
@example(steps=[("fill", "RPUSH", "a", 100), ("where", "a"), ("run", "RPUSH", ["a", "b", "a", "a"]),
                ("run", "LPUSH", ["a", "a"])], peers=True)
@example(steps=[("fill", "RPUSH", "a", 100), ("peer", "RPUSH", "a"), ("run", "RPUSH", ["a", "a"])], peers=True)
@example(steps=[("fill", "LPUSH", "a", 1), ("EXPIRE", "a"), ("run", "LPUSH", ["a", "a"])], peers=False)
@example(steps=[("fill", "LPUSH", "a", 1), ("WATCH", "a"), ("run", "LPUSH", ["a", "a"])], peers=True)
@example(steps=[("fill", "RPUSH", "a", MAX_BLOCK + 5), ("fill", "RPUSH", "a", MAX_BLOCK + 5),
                ("fill", "RPUSH", "a", MAX_BLOCK + 5), ("run", "LPUSH", ["a"] * 5), ("run", "RPUSH", ["a"] * 5)],
         peers=False)  # packed blocks behind
def test_push_runs_leave_what_one_push_at_a_time_leaves(steps: list[tuple[Any, ...]], peers: bool) -> None:
    loops: list[Any] = [_reference, keyspace_batch.apply_local_all_py]
    if keyspace_batch.compiled():
        loops.append(keyspace_batch._NATIVE.apply_local_all_py)
    cfg = dataclasses.replace(default_config(), replica_id="t", peers=("http://x",) if peers else ())
    nodes = [new_node(cfg, incarnation="1") for _ in loops]
    peer = new_node(dataclasses.replace(default_config(), replica_id="p", peers=("http://x",)))
    for n in [*nodes, peer]:
        n.clock = lambda: FAR_MS  # the same stamps on every node
        n.keyspace._gc_seal()  # from here GC notes each key written
    clients = [R(n) for n in nodes]
    saved = keyspace_batch.apply_local_all
    counter = 0
    try:
        for step in steps:
            if step[0] == "peer":
                if peers:
                    from_peer(peer, nodes, step[1], step[2], "p")
                continue
            replies = []
            for loop, n, r in zip(loops, nodes, clients, strict=True):
                keyspace_batch.apply_local_all = loop  # type: ignore[assignment]
                if step[0] == "run":
                    cmds = [[step[1].encode(), k.encode(), b"v%d" % (counter + t)] for t, k in enumerate(step[2])]
                    replies.append(_pipelined(n, r.c, cmds))
                elif step[0] == "fill":
                    replies.append(r(step[1], step[2], *[f"f{counter + t}" for t in range(step[3])]))
                elif step[0] in ("LPOP", "RPOP"):
                    replies.append(r(step[0], step[1], step[2]))
                elif step[0] == "SET":
                    replies.append(r("SET", step[1], "s"))
                elif step[0] == "EXPIRE":
                    replies.append(r("EXPIRE", step[1], "1000"))
                elif step[0] == "where":
                    e = n.keyspace.dbs[0].data.get(step[1].encode())
                    if type(e) is ListEntry and e.size:
                        blk = e.blocks[0]
                        j = next(j for j, v in enumerate(blk.vals) if v is not None)
                        # The first element, asked for with a hint that misses it.
                        replies.append(e._find((blk.hl[j], _ORIGINS[blk.oi[j] >> 32], blk.oi[j] & 0xFFFFFFFF),
                                               e.size - 1) is not None)
                elif step[0] == "gc":
                    ks = n.keyspace
                    replies.append(ks._gc_key(ks.dbs[0], step[1].encode(), lambda hlc, origin: True))
                else:
                    replies.append(r(*step))
            counter += 1000
            assert all(x == replies[0] for x in replies), (step, replies)
        assert_same_keyspaces(nodes, dbs=1)
        assert all(_lists(n) == _lists(nodes[0]) for n in nodes[1:])
    finally:
        keyspace_batch.apply_local_all = saved  # type: ignore[assignment]


def test_a_push_run_is_applied_in_one_move() -> None:
    # The run's pushes reach the list through one push_head_run call (not one each), so
    # the test above compares the run path, not the one-by-one fallback.
    node = new_node(dataclasses.replace(default_config(), replica_id="t"))
    r = R(node)
    r("RPUSH", "a", "x")
    calls = []
    real = ListEntry.push_head_run

    def spy(self: ListEntry, h: int, origin: str, values: list[bytes]) -> bool:
        calls.append(len(values))
        return real(self, h, origin, values)

    ListEntry.push_head_run = spy  # type: ignore[method-assign]
    try:
        assert _pipelined(node, r.c, [[b"LPUSH", b"a", b"v%d" % t] for t in range(10)]) == list(range(2, 12))
    finally:
        ListEntry.push_head_run = real  # type: ignore[method-assign]
    assert calls == [10]
    assert r("LRANGE", "a", "0", "-1") == [b"v%d" % t for t in range(9, -1, -1)] + [b"x"]
