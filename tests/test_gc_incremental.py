"""GC visits the keys ops wrote, not the whole keyspace (Keyspace.gc_chunks, issue 12).

The claim that makes this safe: after an incremental pass, a full pass with the same
stability finds nothing more to collect. The property test checks exactly that after every
GC of the convergence property's plans (every type, type conflicts, TTLs, flushes,
restarts, wipes and joins): the replica's snapshot bytes before and after an extra pass
over every key are equal, and it drops nothing. The same holds inside a set, hash or sorted
set: a visit looks at the members written since (crdt/members.py), and the extra pass
walks every member; the property runs with every collection tracking its members.
"""
from __future__ import annotations

import copy
import os
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crdtredis.commands import new_node
from crdtredis.config import default_config
from crdtredis.crdt import members
from crdtredis.node import Node
from tests.support.cluster_sim import Clock, SimReplica
from tests.support.loops import pipelined
from tests.test_convergence_property import check, plans, play

EXAMPLES = int(os.environ.get("CRDT_PROPERTY_EXAMPLES", "500")) // 2 or 1


def _full_pass(ks: Any, stable: Callable[[int, str], bool]) -> int:
    """What a pass over every key and every member collects (the old behaviour), without
    touching GC's work lists (each collection's `fresh` is put back after)."""
    n = 0
    for db in ks.dbs:
        for key in list(dict.fromkeys([*db.data, *db.shadow, *db.expires])):
            entries = [db.data.get(key), *(db.shadow.get(key) or {}).values()]
            kept = [(e, e.fresh) for e in entries if hasattr(e, "fresh")]
            for e, _ in kept:
                e.fresh = None
            n += ks._gc_key(db, key, stable)
            for e, fresh in kept:
                e.fresh = fresh
    return n


def _checked_gc(self: SimReplica) -> int:
    ks = self.node.keyspace
    chk = self.membership.stable_checker(ks.vv, ks.vh)
    n = _ORIGINAL_GC(self)
    if chk is not None:
        before = self.snapshot()
        extra = _full_pass(ks, chk)
        assert extra == 0, f"{self.rid}: a full pass after the incremental one dropped {extra}"
        assert self.snapshot() == before, f"{self.rid}: a full pass after the incremental one changed the state"
    return n


_ORIGINAL_GC = SimReplica.gc


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps=plans, seed=st.integers(0, 2**32 - 1))
def test_an_incremental_pass_leaves_nothing_a_full_pass_would_collect(steps: list[Any], seed: int) -> None:
    SimReplica.gc = _checked_gc  # type: ignore[method-assign]
    # Every collection tracks its members, and every visit looks at its list only.
    saved = members.TRACK_MIN, members.WALK_FACTOR
    members.TRACK_MIN, members.WALK_FACTOR = 0, 0
    try:
        check(play(steps, seed))
    finally:
        SimReplica.gc = _ORIGINAL_GC  # type: ignore[method-assign]
        members.TRACK_MIN, members.WALK_FACTOR = saved


def _peer_node() -> Node:
    cfg = default_config()
    node = new_node(cfg)
    node.set_solo(False)
    return node


def _with_keys(n: int) -> tuple[Node, Any]:
    """A node with peers, `n` strings written through its commands, and its client."""
    node = _peer_node()
    c = node.new_client("t", "t", lambda: None)
    for i in range(n):
        node.execute(c, [b"SET", b"k%d" % i, b"v"])
    return node, c


def _pass(node: Node, stable: Callable[[int, str], bool] = lambda h, o: True) -> int:
    ks = node.keyspace
    before = ks.gc_visited
    sum(ks.gc_chunks(stable))
    return int(ks.gc_visited - before)


def test_a_pass_visits_what_was_written_since_not_the_keyspace() -> None:
    node, c = _with_keys(1000)
    assert _pass(node) >= 1000  # the first pass visits every key
    assert _pass(node) == 0  # nothing written since
    for k in (b"k1", b"k2", b"new"):
        node.execute(c, [b"SADD" if k == b"new" else b"SET", k, b"x"])
    assert _pass(node) == 3
    assert _pass(node) == 0
    # Keys whose ops are not stable yet are visited again until a pass finds them stable,
    # and then collected: the stamps fold as a full pass would fold them.
    node.execute(c, [b"SADD", b"new", b"y"])
    assert _pass(node, lambda h, o: False) == 1
    assert _pass(node, lambda h, o: False) == 1
    assert node.keyspace.dbs[0].data[b"new"].m[b"y"] != 0
    assert _pass(node) == 1
    assert node.keyspace.dbs[0].data[b"new"].m == {b"x": 0, b"y": 0}
    assert _pass(node) == 0


def test_a_flush_or_peers_joining_make_the_next_pass_visit_every_key() -> None:
    node, c = _with_keys(50)
    node.execute(c, [b"SELECT", b"1"])
    node.execute(c, [b"SET", b"other", b"v"])
    _pass(node)
    dbs = node.keyspace.dbs
    assert not dbs[0].gc_all and not dbs[1].gc_all
    # A flush leaves what concurrent ops may still need anywhere in the db, unnoted.
    node.execute(c, [b"FLUSHDB"])
    assert dbs[1].gc_all and not dbs[0].gc_all
    _pass(node)
    # What a solo replica wrote was never noted: when peers come, every key is visited.
    node.set_solo(True)
    node.execute(c, [b"SELECT", b"0"])
    node.execute(c, [b"SET", b"solo", b"v"])
    node.set_solo(False)
    assert all(db.gc_all for db in dbs)
    assert _pass(node) == 51


def test_the_work_list_stays_small() -> None:
    """Past a quarter of a db's keys (+1,024), noting stops and the next pass visits every
    key: past that, noting costs about what it saves, and memory."""
    node, c = _with_keys(8000)
    _pass(node)
    db = node.keyspace.dbs[0]
    cap = 8000 // 4 + 1024
    for i in range(cap):
        node.execute(c, [b"SET", b"n%d" % i, b"v"])
    assert len(db.gc_keys) == cap and not db.gc_all
    node.execute(c, [b"SET", b"one-more", b"v"])
    assert not db.gc_keys and db.gc_all
    node.execute(c, [b"SET", b"k1", b"w"])
    assert not db.gc_keys  # nothing more is noted until the pass
    assert _pass(node) == 8000 + cap + 1
    assert _pass(node) == 0


def test_a_key_written_again_right_after_its_note_is_not_noted_again() -> None:
    """One hot key written past the cap (a queue's list, a hash) keeps the next pass to
    the keys written: before, its repeats filled the list and the pass visited every key.
    Through each way a write is noted: a command alone (Keyspace.apply_local), a read
    batch (keyspace_batch's loop, its runs of pushes included), a peer's op (Db.note)."""
    node, c = _with_keys(8000)
    _pass(node)
    db = node.keyspace.dbs[0]
    cap = 8000 // 4 + 1024
    for _ in range(cap + 10):
        node.execute(c, [b"LPUSH", b"q", b"x"])
    assert db.gc_keys == [b"q"]
    pipelined(node, c, [[b"LPUSH", b"q", b"y"]] * 100 + [[b"HSET", b"h", b"f%d" % i, b"v"] for i in range(cap)]
              + [[b"SADD", b"s", b"m%d" % i] for i in range(cap)] + [[b"INCR", b"n"]] * 100)
    assert db.gc_keys == [b"q", b"h", b"s", b"n"] and not db.gc_all
    for k in (b"a", b"b", b"a", b"a"):
        node.execute(c, [b"SET", k, b"v"])
    for k in (b"p", b"p", b"a"):
        db.note(k)
    assert db.gc_keys == [b"q", b"h", b"s", b"n", b"a", b"b", b"a", b"p", b"a"]
    assert _pass(node) == 7
    assert db.gc_keys == [] and _pass(node) == 0


def test_the_work_list_stays_small_while_no_pass_completes() -> None:
    """Generations that stability does not complete add up: once they hold more than a
    quarter of the db's keys, the db is visited whole instead."""
    node, c = _with_keys(8000)
    _pass(node)
    ks = node.keyspace
    for r, visited in ((0, 2500), (1, 13000)):  # 5,000 noted > 13,000 / 4 + 1,024: whole
        for i in range(2500):
            node.execute(c, [b"SET", b"r%d-%d" % (r, i), b"v"])
        assert _pass(node, lambda h, o: False) == visited
    assert ks.gc_gens and all(g[1][0] is None for g in ks.gc_gens)
    assert _pass(node) == 13000
    assert not ks.gc_gens and _pass(node) == 0


def test_a_hidden_loser_waiting_on_an_op_that_came_during_the_pass_is_visited_again() -> None:
    """A type conflict's loser goes only once every op held up to its stamp is stable, ops
    of other keys included (stable_upto). One that arrives while a pass runs (passes are
    chunked: clients and peers are served between chunks) can keep it, after the pass
    has found its key's generation complete: the key is then noted again, not forgotten."""
    clock = Clock()
    a, b, c = (SimReplica(f"r{i}", clock, i) for i in range(3))
    a.run("SET", "a", "v")  # db 0: the pass's first chunk, before db 1's
    for r in (a, b):
        r.run("SELECT", "1")
    a.run("SET", "k", "v")
    b.run("SADD", "k", "x")  # concurrent with A's SET: one of the two is hidden
    c.run("SET", "j", "v")
    a.deliver(b.log[-1])
    db1 = a.node.keyspace.dbs[1]
    assert b"k" in db1.shadow
    slow = c.origin
    passing = a.node.keyspace.gc_chunks(lambda h, o: o != slow, chunk=1)
    next(passing)  # sealed, db 0 visited
    a.deliver(c.log[-1])  # arrives mid-pass, not stable yet
    sum(passing)
    assert b"k" in db1.shadow and b"k" in db1.gc_keys
    sum(a.node.keyspace.gc_chunks(lambda h, o: True))
    assert b"k" not in db1.shadow


_COLLECTIONS = [
    # (the commands writing member x anew (the k-th time), the entry's member dict, what a
    # folded record looks like)
    (lambda x, k: [[b"SREM", b"c", x], [b"SADD", b"c", x]], "m", lambda r: r == 0),
    (lambda x, k: [[b"HSET", b"c", x, b"v%d" % k]], "fields", lambda r: type(r) is bytes),
    (lambda x, k: [[b"ZADD", b"c", b"%d" % k, x]], "recs", lambda r: type(r) is float),
]


class _Collection:
    """A node with peers and one collection `c` of `n` members written through its
    commands (`put(x, k)` writes member x anew, the k-th time)."""

    def __init__(self, write: Any, attr: str, n: int) -> None:
        self.node = _peer_node()
        self.client = self.node.new_client("t", "t", lambda: None)
        self.write = write
        for i in range(n):
            self.put(b"m%d" % i)
        self.e = self.node.keyspace.dbs[0].data[b"c"]
        self.d = getattr(self.e, attr)

    def put(self, x: bytes, k: int = 0) -> None:
        for argv in self.write(x, k):
            self.node.execute(self.client, argv)


@pytest.mark.parametrize(("write", "attr", "folded"), _COLLECTIONS, ids=["set", "hash", "zset"])
def test_a_big_collection_s_visit_looks_at_the_members_written_since(write: Any, attr: str, folded: Any) -> None:
    n = members.TRACK_MIN + 10
    col = _Collection(write, attr, n)
    node, e, d, put = col.node, col.e, col.d, col.put
    assert e.fresh is None  # never visited: the first visit walks every member
    _pass(node)
    assert e.fresh == [] and all(folded(r) for r in d.values())
    for x in (b"m1", b"m2", b"new"):
        put(x, 1)
    assert sorted(e.fresh) == [b"m1", b"m2", b"new"], attr
    _pass(node, lambda h, o: False)  # not stable yet: kept for the next visit
    assert sorted(e.fresh) == [b"m1", b"m2", b"new"] and not folded(d[b"m1"])
    # A stamped record the visit was not told of stays as it is: visits do not walk.
    d[b"m3"] = d[b"m1"]
    _pass(node)
    assert e.fresh == [] and all(folded(d[x]) for x in (b"m1", b"m2", b"new"))
    assert not folded(d[b"m3"]), attr
    e.fresh = None  # (a walk folds it)
    node.keyspace.dbs[0].note(b"c")
    _pass(node)
    assert folded(d[b"m3"]) and e.fresh == []
    # Rewrites of one member past the collection's size: the list goes, the next visit walks.
    for k in range(n + 5):
        put(b"m4", k + 2)
    assert e.fresh is None, attr
    _pass(node)
    assert e.fresh == [] and all(folded(r) for r in d.values())


@pytest.mark.parametrize(("write", "attr", "folded"), _COLLECTIONS, ids=["set", "hash", "zset"])
def test_a_small_collection_keeps_no_member_list(write: Any, attr: str, folded: Any) -> None:
    col = _Collection(write, attr, 10)
    _pass(col.node)
    col.put(b"m1", 1)
    assert col.e.fresh is None


@pytest.mark.parametrize(("write", "attr", "folded"), _COLLECTIONS, ids=["set", "hash", "zset"])
def test_a_decoded_big_collection_tracks_the_members_its_state_shows_stamped(
        write: Any, attr: str, folded: Any) -> None:
    col = _Collection(write, attr, members.TRACK_MIN + 10)
    e = col.e
    _pass(col.node)
    assert type(e).from_state(e.state()).fresh == []  # everything folded
    for x in (b"m7", b"m8"):
        col.put(x, 1)
    loaded = type(e).from_state(e.state())
    assert sorted(loaded.fresh) == [b"m7", b"m8"]
    assert not folded(getattr(loaded, attr)[b"m7"])
    small = type(e).from_state((*e.state()[:-1], e.state()[-1][:10]))
    assert small.fresh is None


@pytest.mark.parametrize(("write", "attr", "folded"), _COLLECTIONS, ids=["set", "hash", "zset"])
def test_a_visit_walks_when_its_list_holds_more_than_a_part_of_the_members(
        write: Any, attr: str, folded: Any) -> None:
    n = members.TRACK_MIN + 10
    col = _Collection(write, attr, n)
    d = col.d
    _pass(col.node)
    for i in range(n // members.WALK_FACTOR + 1):
        col.put(b"m%d" % i, 1)
    d[b"m%d" % (n - 1)] = d[b"m0"]  # a stamp the list does not name: only a walk folds it
    _pass(col.node)
    assert col.e.fresh == [] and all(folded(r) for r in d.values())


def _lean_counters(ks: Any) -> list[bytes]:
    """Lean counters in every form an INCR with peers leaves (of a new key, of a plain
    string, incremented again, from two origins), under keys k0..kN of db 0."""
    from crdtredis.crdt.string_counter import CounterStr
    from crdtredis.op import Ctx

    data = ks.dbs[0].data
    base = 1_000_000 << 16
    keys = []
    for i, (start, incs) in enumerate([
        (None, [("a", 10)]), (None, [("a", 10), ("a", 20)]), (None, [("a", 10), ("b", 30), ("a", 40)]),
        ((b"5", 5, "b"), [("a", 10)]), ((b"5", 5, "b"), [("a", 10), ("b", 25)]), ((b"x", 5, "a"), [("b", 12)]),
        (None, [("b", 0)]), ((b"7", 3, "a"), [("a", 10)] * 1 + [("b", 11), ("a", 12), ("b", 13)]),
    ]):
        key = b"k%d" % i
        for o, h in incs:
            ctx = Ctx(o, 1, base + h if h else 0, {})
            e = data.get(key)
            if e is None and start is None:
                data[key] = CounterStr.of_incr(1, ctx)
            elif e is None:
                data[key] = CounterStr.of_tuple_incr((start[0], base + start[1], start[2]), 1, ctx)
            else:
                e.incr(1, ctx)
        assert type(data[key]) is CounterStr and data[key]._reg is None
        keys.append(key)
    return keys


@pytest.mark.parametrize("cut", [(0, 0), (50, 50), (10, 0), (10, 30), (40, 12), (5, 5), (12, 25)])
def test_a_pass_folds_a_lean_counter_as_its_own_fold_does(cut: tuple[int, int]) -> None:
    """gc_chunks folds a counter in its plain-db loop: the same tuples, stamps and counts
    as _gc_key (its fold, then the coarse stamp), for each stability cut."""
    base = 1_000_000 << 16
    marks = {"a": base + cut[0], "b": base + cut[1]}

    def stable(h: int, o: str) -> bool:
        return h <= marks[o]

    got = []
    for inline in (True, False):
        node = new_node(default_config())
        ks = node.keyspace
        ks.solo = False
        keys = _lean_counters(ks)
        db = ks.dbs[0]
        n = sum(ks.gc_chunks(stable)) if inline else sum(ks._gc_key(db, k, stable) for k in keys)
        got.append((n, [(k, ("folded", db.data[k]) if type(db.data[k]) is tuple else ("lean", db.data[k].state()))
                        for k in keys]))
    assert got[0] == got[1]
    folded = sum(1 for _, (form, _v) in got[0][1] if form == "folded")
    assert folded == got[0][0]
    if cut == (50, 50):
        assert folded == 8
    if cut == (0, 0):
        assert folded == 1  # only k6, whose one increment has no stamp


@pytest.mark.parametrize("cut", [0, 3, 6, 9, 12, 100])
def test_a_pass_folds_what_commands_leave_as_gc_key_does(cut: int) -> None:
    """The same through commands on a replica with peers: counters in lean and full form,
    bit strings, and a value GC has nothing to fold, each folded (or not) by gc_chunks's
    plain-db loop exactly as by _gc_key, with every stamp up to the cut-th write stable."""
    node = new_node(default_config())
    ks = node.keyspace
    ks.solo = False
    client = node.new_client("t", "t", lambda: None)
    stamps: list[int] = []
    for argv in ([b"INCR", b"c1"], [b"SET", b"c2", b"5"], [b"INCRBY", b"c2", b"3"], [b"INCR", b"c3"],
                 [b"INCRBYFLOAT", b"c3", b"1.5"], [b"SETBIT", b"b1", b"7", b"1"], [b"SETBIT", b"b1", b"9", b"1"],
                 [b"SET", b"s1", b"x"], [b"INCR", b"c1"], [b"APPEND", b"c1", b"0"], [b"SETBIT", b"b2", b"3", b"1"],
                 [b"INCR", b"c4"]):
        node.execute(client, argv)
        stamps.append(ks.vh[node.origin])
    mark = 0 if cut == 0 else stamps[min(cut, len(stamps)) - 1]

    def stable(h: int, _o: str) -> bool:
        return h <= mark

    db = ks.dbs[0]
    keys = sorted(db.data)
    before = copy.deepcopy(db.data)
    got = []
    for inline in (True, False):
        db.data = copy.deepcopy(before)
        db.visit_whole()
        n = sum(ks.gc_chunks(stable)) if inline else sum(ks._gc_key(db, k, stable) for k in keys)
        got.append((n, [(k, ("folded", db.data[k]) if type(db.data[k]) is tuple else ("kept", db.data[k].state()))
                        for k in keys]))
    assert got[0] == got[1]
    forms = [form for _, (form, _v) in got[0][1]]
    if cut == 100:
        assert forms.count("kept") == 0
    if cut == 6:
        assert forms.count("kept") >= 3  # (c1, b1, b2: written after the cut)
