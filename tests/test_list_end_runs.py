"""keyspace_batch.apply_local_all applies a run of one-value pushes to one list (runs.py's
pipelined LPUSH / RPUSH runs) in one move, and a run of pops of one list in one call
(crdt/list_ends.py): it must leave exactly what apply_insert and apply_remove leave one
effect at a time, solo and with peers, at the edges of the head block (HEAD_BLOCK) and of
a block (MAX_BLOCK), over packed blocks, a built id locator, a peer's concurrent pushes,
GC, and where it must decline (a watched key, a TTL, another type); and so must its
compiled copy."""
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
from crdtredis.crdt.list_blocks import _ORIGINS, HEAD_BLOCK, MAX_BLOCK
from crdtredis.crdt.list_rga import ListEntry
from crdtredis.node import Node
from tests.support.loops import loop_nodes, pipelined
from tests.support.state import assert_same_keyspaces
from tests.test_cmd_strings import R, from_peer

_KEYS = st.sampled_from(["a", "b"])
_PUSH = st.sampled_from(["LPUSH", "RPUSH"])
_STEPS = st.lists(st.one_of(
    st.tuples(st.just("run"), st.sampled_from(["LPUSH", "RPUSH", "LPOP", "RPOP"]),
              st.lists(_KEYS, min_size=1, max_size=40)),
    st.tuples(st.just("fill"), _PUSH, _KEYS,
              st.sampled_from([1, 100, HEAD_BLOCK - 3, HEAD_BLOCK, MAX_BLOCK - 3, MAX_BLOCK + 5])),
    st.tuples(st.sampled_from(["LPOP", "RPOP"]), _KEYS, st.sampled_from(["1", "30"])),
    st.tuples(st.just("DEL"), _KEYS),
    st.tuples(st.just("LSET"), _KEYS, st.sampled_from(["0", "1", "-1"])),  # with peers: a value stamp
    st.tuples(st.just("SET"), _KEYS),
    st.tuples(st.just("EXPIRE"), _KEYS),
    st.tuples(st.just("WATCH"), _KEYS),
    st.tuples(st.just("UNWATCH")),
    st.tuples(st.just("where"), _KEYS),  # build the list's id locator (a lookup that misses its hint)
    st.tuples(st.just("gc"), _KEYS),
    st.tuples(st.just("peer"), _PUSH, _KEYS),
    st.tuples(st.just("LREM"), _KEYS),  # the third element: with peers a tombstone inside the block
), max_size=16)


def _check_end_items(node: Node) -> None:
    """`end_items` (what a run of pops reads, runs.py `_pops`) is None or the first n
    elements from that end, as `iter_items` walks them."""
    for e in node.keyspace.dbs[0].data.values():
        if type(e) is not ListEntry:
            continue
        for left in (True, False):
            items = list(e.iter_items(reverse=not left))
            for n in sorted({1, 2, 5, 17, 64, e.size - 1, e.size}):
                got = e.end_items(n, left)
                if got is not None:
                    vals, hls, ois = got
                    ids = [(h, _ORIGINS[o >> 32], o & 0xFFFFFFFF) for h, o in zip(hls, ois, strict=True)]
                    assert list(zip(vals, ids, strict=True)) == items[:n]


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
@example(steps=[("fill", "RPUSH", "a", MAX_BLOCK + 5), ("fill", "RPUSH", "a", MAX_BLOCK + 5), ("where", "a"),
                ("run", "RPUSH", ["a"] * 5), ("run", "LPOP", ["a"] * 5), ("run", "LPUSH", ["a"] * 5)],
         peers=False)  # the id locator is built (several blocks): the runs keep it
@example(steps=[("fill", "LPUSH", "a", 1), ("EXPIRE", "a"), ("run", "LPUSH", ["a", "a"])], peers=False)
@example(steps=[("fill", "LPUSH", "a", 1), ("WATCH", "a"), ("run", "LPUSH", ["a", "a"])], peers=True)
@example(steps=[("fill", "RPUSH", "a", MAX_BLOCK + 5), ("fill", "RPUSH", "a", MAX_BLOCK + 5),
                ("fill", "RPUSH", "a", MAX_BLOCK + 5), ("run", "LPUSH", ["a"] * 5), ("run", "RPUSH", ["a"] * 5)],
         peers=False)  # packed blocks behind
@example(steps=[("fill", "RPUSH", "a", MAX_BLOCK + 5), ("run", "LPOP", ["a"] * 40), ("run", "RPOP", ["a"] * 9)],
         peers=True)  # the head block's last element, then the next block
@example(steps=[("fill", "RPUSH", "a", 600), ("run", "LPOP", ["a"] * 40), ("run", "LPOP", ["a", "b", "a"] * 13)],
         peers=False)  # solo: holes, then taken out together
@example(steps=[("fill", "RPUSH", "a", 3), ("run", "RPOP", ["a"] * 4)], peers=True)  # to the last one
@example(steps=[("fill", "LPUSH", "a", 200), ("run", "LPOP", ["a"] * 40), ("run", "LPOP", ["a"] * 40),
                ("run", "RPOP", ["a"] * 3)], peers=True)  # the head block is the hot one: inline removals
@example(steps=[("fill", "LPUSH", "a", 200), ("run", "LPOP", ["a"] * 40), ("run", "LPOP", ["a"] * 40)],
         peers=False)  # solo: holes in a big block, taken out together past HOLES
@example(steps=[("fill", "LPUSH", "a", 60), ("run", "LPOP", ["a"] * 10), ("LSET", "a", "3"),
                ("run", "RPOP", ["a", "b", "a"] * 5)], peers=False)  # solo: a small block shifts
@example(steps=[("fill", "RPUSH", "a", 200), ("run", "RPOP", ["a"] * 40), ("fill", "RPUSH", "a", 1),
                ("run", "LPOP", ["a"] * 3), ("run", "RPOP", ["a"] * 40)], peers=True)
@example(steps=[("fill", "RPUSH", "a", 200), ("run", "LPOP", ["a"] * 5), ("run", "RPOP", ["a"] * 40)],
         peers=False)  # solo, from the tail of a block with holes at its head
@example(steps=[("fill", "RPUSH", "a", 10), ("LSET", "a", "1"), ("run", "LPOP", ["a"] * 4)], peers=True)
@example(steps=[("fill", "RPUSH", "a", 100), ("where", "a"), ("run", "RPOP", ["a"] * 5)], peers=False)
@example(steps=[("fill", "RPUSH", "a", 10), ("LREM", "a"), ("run", "LPOP", ["a"] * 5),
                ("fill", "LPUSH", "a", 10), ("LREM", "a"), ("run", "RPOP", ["a"] * 12)], peers=True)
@example(steps=[("fill", "RPUSH", "a", MAX_BLOCK + 5), ("fill", "RPUSH", "a", MAX_BLOCK + 5),
                ("fill", "RPUSH", "a", MAX_BLOCK + 5), ("run", "LPOP", ["a"] * 40), ("run", "RPOP", ["a"] * 40)],
         peers=False)  # the head block packed: the pops walk it
@example(steps=[("fill", "LPUSH", "a", 100), ("run", "LPOP", ["a"] * 40), ("run", "LPOP", ["a"] * 40)],
         peers=False)  # solo: holes, taken out at HOLES, then shifts once the block is small
@example(steps=[("fill", "RPUSH", "a", MAX_BLOCK + 5), ("fill", "LPUSH", "a", 100), ("run", "LPOP", ["a"] * 40),
                ("run", "LPOP", ["a"] * 70)], peers=False)  # solo: the head block's last element is remove1's
@example(steps=[("fill", "LPUSH", "a", 70), ("run", "LPOP", ["a"] * 3), *[("LREM", "a")] * 7,
                ("run", "LPOP", ["a"] * 5)], peers=False)  # solo: holes lead a block shrunk below HOLE_MIN
@example(steps=[("fill", "LPUSH", "a", 30), ("run", "LPOP", ["a"] * 5)], peers=False)  # a small block shifts
def test_push_runs_leave_what_one_push_at_a_time_leaves(steps: list[tuple[Any, ...]], peers: bool) -> None:
    loops, nodes, peer = loop_nodes(peers)
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
                    cmds = [[step[1].encode(), k.encode(), b"v%d" % (counter + t)][:3 if "PUSH" in step[1] else 2]
                            for t, k in enumerate(step[2])]
                    replies.append(pipelined(n, r.c, cmds))
                elif step[0] == "fill":
                    replies.append(r(step[1], step[2], *[f"f{counter + t}" for t in range(step[3])]))
                elif step[0] in ("LPOP", "RPOP"):
                    replies.append(r(step[0], step[1], step[2]))
                elif step[0] == "LSET":
                    replies.append(r("LSET", step[1], step[2], "z"))
                elif step[0] == "LREM":
                    third = r("LINDEX", step[1], "2")
                    replies.append(r("LREM", step[1], "1", third) if isinstance(third, bytes) else third)
                elif step[0] == "SET":
                    replies.append(r("SET", step[1], "s"))
                elif step[0] == "EXPIRE":
                    replies.append(r("EXPIRE", step[1], "1000"))
                elif step[0] == "where":
                    e = n.keyspace.dbs[0].data.get(step[1].encode())
                    if type(e) is ListEntry and e.size:
                        blk = next(b for b in e.blocks if b.live)
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
            _check_end_items(nodes[0])
        assert_same_keyspaces(nodes, dbs=1)
        assert all(_lists(n) == _lists(nodes[0]) for n in nodes[1:])
    finally:
        keyspace_batch.apply_local_all = saved  # type: ignore[assignment]


@pytest.mark.parametrize("ttl_elsewhere", [False, True])
@pytest.mark.parametrize("cmd", [b"LPUSH", b"RPUSH"])
def test_a_push_run_is_applied_in_one_move(cmd: bytes, ttl_elsewhere: bool) -> None:
    # The run's pushes reach the list through one call (not one each), so the test above
    # compares the run path, not the one-by-one fallback; a TTL on another key of the db
    # changes nothing (runs.py).
    node = new_node(dataclasses.replace(default_config(), replica_id="t"))
    r = R(node)
    r("RPUSH", "a", "x")
    if ttl_elsewhere:
        r("SET", "t", "v", "EX", "1000")
    calls = []
    name = "push_head_run" if cmd == b"LPUSH" else "push_after_last_run"
    real = getattr(ListEntry, name)

    def spy(self: ListEntry, *args: Any) -> bool:
        calls.append(len(args[-1]))
        return bool(real(self, *args))

    setattr(ListEntry, name, spy)
    try:
        assert pipelined(node, r.c, [[cmd, b"a", b"v%d" % t] for t in range(10)]) == list(range(2, 12))
    finally:
        setattr(ListEntry, name, real)
    assert calls == [10]
    pushed = [b"v%d" % t for t in range(10)]
    assert r("LRANGE", "a", "0", "-1") == (pushed[::-1] + [b"x"] if cmd == b"LPUSH" else [b"x"] + pushed)


@pytest.mark.parametrize("peers", [False, True])
def test_blocked_readers_are_woken_by_each_write_to_their_key_and_leave_other_keys_runs_in_one_move(
        peers: bool) -> None:
    # keyspace_batch checks blocked readers per key: a run's write to a key someone waits
    # on (BLPOP q, or a WAIT-like reader of any type) goes to the apply function, which
    # touches the key, once a write as one by one; the pushes to `a` still go in one move.
    node = new_node(dataclasses.replace(default_config(), replica_id="t", peers=("http://x",) if peers else ()))
    r = R(node)
    r("RPUSH", "a", "x")
    r("RPUSH", "q", "x")
    r("SADD", "s", *[f"m{i}" for i in range(600)])  # hashtable encoding: SADD's inline case
    r("HSET", "h", "f", "v")
    r("SET", "k", "v")
    woken: dict[bytes, int] = {}
    for key in (b"q", b"s", b"h", b"k", b"n"):
        node.keyspace.dbs[0].waiters[key] = [lambda key=key: woken.__setitem__(key, woken.get(key, 0) + 1)]
    calls = []
    real = ListEntry.push_head_run

    def spy(self: ListEntry, *args: Any) -> bool:
        calls.append(len(args[-1]))
        return bool(real(self, *args))

    ListEntry.push_head_run = spy  # type: ignore[method-assign]
    try:
        pipelined(node, r.c, [[b"LPUSH", b"a", b"v%d" % t] for t in range(5)])
        pipelined(node, r.c, [[b"LPUSH", b"q", b"v%d" % t] for t in range(3)])
        pipelined(node, r.c, [[b"SADD", b"s", b"new%d" % t] for t in range(4)])
        pipelined(node, r.c, [[b"HSET", b"h", b"f%d" % t, b"v"] for t in range(2)])
        pipelined(node, r.c, [[b"SET", b"k", b"v%d" % t] for t in range(2)])
        pipelined(node, r.c, [[b"INCR", b"n"] for t in range(3)])
    finally:
        ListEntry.push_head_run = real  # type: ignore[method-assign]
    assert calls == [5]
    # (n: a touch for each INCR, and one for the first's delete-first of a missing key,
    # as one by one: Node.emit's CREATE.)
    assert woken == {b"q": 3, b"s": 4, b"h": 2, b"k": 2, b"n": 4}
    assert r("LLEN", "q") == 4 and r("SCARD", "s") == 604 and r("GET", "n") == b"3"


@pytest.mark.parametrize("ttl_elsewhere", [False, True])
@pytest.mark.parametrize("cmd", [b"LPOP", b"RPOP"])
def test_a_pop_run_is_applied_in_one_call(cmd: bytes, ttl_elsewhere: bool) -> None:
    node = new_node(dataclasses.replace(default_config(), replica_id="t", peers=("http://x",)))
    r = R(node)
    r("RPUSH", "a", *[f"x{t}" for t in range(20)])
    if ttl_elsewhere:
        r("SET", "t", "v", "EX", "1000")
    calls = []
    read = []
    real = ListEntry.pop_run
    real_items = ListEntry.end_items

    def spy(self: ListEntry, left: bool, h: int, origin: str, effs: list[Any]) -> int:
        calls.append(len(effs))
        return real(self, left, h, origin, effs)

    def spy_items(self: ListEntry, n: int, left: bool) -> Any:
        got = real_items(self, n, left)
        read.append(None if got is None else len(got[0]))
        return got

    ListEntry.pop_run = spy  # type: ignore[method-assign]
    ListEntry.end_items = spy_items  # type: ignore[method-assign]
    try:
        popped = pipelined(node, r.c, [[cmd, b"a"]] * 10)
    finally:
        ListEntry.pop_run = real  # type: ignore[method-assign]
        ListEntry.end_items = real_items  # type: ignore[method-assign]
    assert calls == [10]
    assert read == [10]  # what they pop is read in one slice (runs.py _pops)
    xs = [b"x%d" % t for t in range(20)]
    assert popped == (xs[:10] if cmd == b"LPOP" else xs[:9:-1])
    assert r("LRANGE", "a", "0", "-1") == (xs[10:] if cmd == b"LPOP" else xs[:10])


@pytest.mark.parametrize("code", ["push", "pop"])
def test_a_run_stays_in_its_db(code: str) -> None:
    # Effects of one list key in two dbs, one after the other, are two lists' writes.
    loops, nodes, _peer = loop_nodes(False)
    saved = keyspace_batch.apply_local_all
    try:
        for loop, n in zip(loops, nodes, strict=True):
            r = R(n)
            for db in (b"0", b"1"):
                r("SELECT", db)
                r("RPUSH", "a", "x", "y", "z")
            keyspace_batch.apply_local_all = loop  # type: ignore[assignment]
            if code == "push":
                effs = [(codes.LINSERT, db, b"a", 0, "", 0, -1, b"v%d" % db) for db in (0, 0, 1, 1)]
            else:
                ids = {db: [(h, o, i) for _v, (h, o, i) in n.keyspace.dbs[db].data[b"a"].iter_items()]
                       for db in (0, 1)}
                effs = [(codes.LREMOVE, db, b"a", *ids[db][t], 0) for db, t in ((0, 0), (0, 1), (1, 0), (1, 1))]
                effs = [(c, db, k, h, "", i, hint) for c, db, k, h, _o, i, hint in effs]
            n._emit_all(effs)
            n.close_group()
        assert_same_keyspaces(nodes, dbs=2)
    finally:
        keyspace_batch.apply_local_all = saved  # type: ignore[assignment]


@pytest.mark.parametrize("peers", [False, True])
@pytest.mark.parametrize("left", [True, False])
@pytest.mark.parametrize("size", [30, 100])
def test_a_pop_run_naming_another_element_changes_nothing(peers: bool, left: bool, size: int) -> None:
    # pop_run takes an element only if the effect names the one at that end: an effect
    # naming the next one (same origin and op, another HLC) is declined, list untouched.
    node = new_node(dataclasses.replace(default_config(), replica_id="t", peers=("http://x",) if peers else ()))
    r = R(node)
    for t in range(size):  # one op each: the elements differ by HLC only
        r("LPUSH", "a", f"x{t}")
    e = node.keyspace.dbs[0].data[b"a"]
    before = _lists(node)
    items = list(e.iter_items(reverse=not left))
    second = items[1][1]
    eff = (codes.LREMOVE, 0, b"a", second[0], "", second[2], 0 if left else -2)
    assert e.pop_run(left, 1 << 60, node.origin, [eff, eff]) == 0
    assert _lists(node) == before
