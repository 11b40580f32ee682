"""The list CRDT (crdt/list_rga.py): unit tests of the RGA sequence and its block index,
named concurrency scenarios on three simulated replicas in every delivery order, and a
property test against a spec computed from the emitted ops and their causal pasts alone
(a naive tree-walk RGA, antidote_crdt's checker style)."""
from __future__ import annotations

import asyncio
import itertools
import random
from array import array
from collections import defaultdict
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import crdtredis.crdt.keys  # noqa: F401 - registers DEL / FLUSHDB
from crdtredis.crdt import codes, list_blocks, list_packed
from crdtredis.crdt import list_rga as rga
from crdtredis.crdt.list_rga import LINSERT, LREMOVE, LSETVAL, LTRIMR, ListEntry, rebuild_effects
from crdtredis.keyspace import CREATE, Keyspace
from crdtredis.op import Ctx, Op
from crdtredis.reply import Deferred
from tests.support.sim import Cluster, Replica

# ---- helpers --------------------------------------------------------------------------------


def keyspace(solo: bool = False) -> Keyspace:
    ks = Keyspace("me")
    ks.solo = solo
    return ks


def apply(ks: Keyspace, origin: str, hlc: int, deps: dict[str, int], *effects: Any) -> Op:
    op = Op(origin, ks.vv.get(origin, 0) + 1, hlc, deps, list(effects))
    ks.apply(op)
    return op


# Effects with every origin spelled out ("~" is nobody's origin: no "" shorthand).
def ins(ref: Any, vals: list[bytes], hint: int = -1, key: bytes = b"l") -> tuple[Any, ...]:
    return rga.insert_effect(0, key, ref, hint, vals, "~")


def rem(ids: list[Any], hints: list[int] | None = None, key: bytes = b"l") -> tuple[Any, ...]:
    return rga.remove_effect(0, key, ids, hints if hints is not None else [-1] * len(ids), "~")


def lset(eid: Any, hint: int, value: bytes, key: bytes = b"l") -> tuple[Any, ...]:
    return rga.set_effect(0, key, eid, hint, value, "~")


def trim(first: Any, fhint: int, last: Any, lhint: int, key: bytes = b"l") -> tuple[Any, ...]:
    return rga.trim_effect(0, key, first, fhint, last, lhint, "~")


def entry(ks: Keyspace, key: bytes = b"l") -> ListEntry:
    e = rga.existing(ks.dbs[0], key)
    assert e is not None
    return e


def visible(ks: Keyspace, key: bytes = b"l") -> list[bytes]:
    e = ks.dbs[0].data.get(key)
    return [] if e is None else e.values()


def check_index(e: ListEntry) -> None:
    """The block index agrees with a plain scan: sizes, Fenwick prefix sums, lookups."""
    vals = e.values()
    assert e.size == len(vals) == sum(b.live for b in e.blocks)
    for i, blk in enumerate(e.blocks):
        assert blk.idx - e.blocks[0].idx == i  # positions are relative (list_blocks._Block.idx)
        assert blk.vals, "no empty blocks"
        assert blk.live == len(blk.vals) - blk.vals.count(None)
        live = [j for j, v in enumerate(blk.vals) if v is not None]
        assert (blk.lo, blk.hi) == ((live[0], live[-1] + 1) if live else (len(blk.vals), len(blk.vals)))
        assert len(blk.vals) == len(blk.hl) == len(blk.oi)
    for k in range(len(vals)):
        assert e.at(k)[0] == vals[k]
    if vals:
        assert e.range_values(0, len(vals) - 1) == vals
        assert e.end(True) == e.at(0) and e.end(False) == e.at(len(vals) - 1)
    if e.fw is not None and e.blocks:
        # The lazily updated Fenwick tree, once its pending blocks are applied, is the one
        # built from scratch.
        got = list(e._fw_flush())
        assert got == list(e._fw_build())
    for blk in e.blocks:
        if blk.packed is not None:
            # A packed block reads like the thawed one it came from.
            v, h, o = list_packed.unpack(blk.packed)
            assert list(blk.vals) == v and list(blk.hl) == list(h) and list(blk.oi) == list(o)
            assert [blk.vals[j] for j in range(len(v))] == v and blk.vals[-1] == v[-1]
            assert [blk.hl[j] for j in range(len(v))] == list(h)
            assert [blk.oi[j] for j in range(len(v))] == list(o)
            for j in {0, len(v) // 2, len(v) - 1}:
                assert blk.vals.index(v[j]) == v.index(v[j])
                assert blk.find(h[j], o[j]) == j
                assert v[j] in blk.vals and blk.vals.count(v[j]) == v.count(v[j])


@pytest.fixture
def packing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tiny blocks, every block but the last written packed: packed blocks everywhere."""
    monkeypatch.setattr(list_blocks, "BLOCK", 4)
    monkeypatch.setattr(list_blocks, "MAX_BLOCK", 8)
    monkeypatch.setattr(list_blocks, "HEAD_BLOCK", 3)
    monkeypatch.setattr(list_blocks, "HOLE_MIN", 2)
    monkeypatch.setattr(list_blocks, "HOLES", 3)
    monkeypatch.setattr(list_blocks, "MIN_PACK", 2)
    monkeypatch.setattr(list_blocks, "HOT", 1)


# ---- unit tests -----------------------------------------------------------------------------


def test_insert_chain_at_head_and_after_reference() -> None:
    ks = keyspace()
    apply(ks, "a", 10, {}, ins(None, [b"x", b"y", b"z"]))
    assert visible(ks) == [b"x", b"y", b"z"]
    apply(ks, "a", 20, {}, ins((10, "a", 1), [b"1", b"2"]))
    assert visible(ks) == [b"x", b"y", b"1", b"2", b"z"]
    apply(ks, "a", 30, {}, ins(None, [b"h"]))
    assert visible(ks) == [b"h", b"x", b"y", b"1", b"2", b"z"]
    assert entry(ks).encoding() == b"quicklist"
    assert ks.dbs[0].data[b"l"].TYPE == b"list"


def test_concurrent_inserts_after_the_same_element_newest_first() -> None:
    for order in itertools.permutations([("b", 20), ("c", 30), ("d", 25)]):
        ks = keyspace()
        apply(ks, "a", 10, {}, ins(None, [b"r"]))
        for origin, h in order:
            apply(ks, origin, h, {"a": 10}, ins((10, "a", 0), [origin.encode()]))
        assert visible(ks) == [b"r", b"c", b"d", b"b"]


def test_same_hlc_ties_break_by_origin() -> None:
    for first in ("a", "b"):
        ks = keyspace()
        apply(ks, "z", 5, {}, ins(None, [b"r"]))
        second = "b" if first == "a" else "a"
        apply(ks, first, 10, {"z": 5}, ins((5, "z", 0), [first.encode()]))
        apply(ks, second, 10, {"z": 5}, ins((5, "z", 0), [second.encode()]))
        assert visible(ks) == [b"r", b"b", b"a"]


def test_single_node_deletes_at_once() -> None:
    ks = keyspace(solo=True)
    apply(ks, "me", 10, {}, ins(None, [b"a", b"b", b"c"]))
    apply(ks, "me", 20, {}, rem([(10, "me", 0), (10, "me", 2)], [0, 1]))
    e = entry(ks)
    assert visible(ks) == [b"b"]
    assert not e.rm and not e.retain()
    assert sum(len(b.vals) for b in e.blocks) == 1
    apply(ks, "me", 30, {}, rem([(10, "me", 1)], [0]))
    assert b"l" not in ks.dbs[0].data and not ks.dbs[0].shadow


def test_peers_keep_tombstones_until_gc() -> None:
    ks = keyspace()
    apply(ks, "a", 10, {}, ins(None, [b"a", b"b", b"c"]))
    apply(ks, "a", 20, {}, rem([(10, "a", 1)], [1]))
    e = entry(ks)
    assert visible(ks) == [b"a", b"c"]
    assert e.rm == {rga._pid(10, rga._code("a") << 32 | 1): (20, "a")}
    assert e.gc(lambda h, o: h < 20) == 0  # the removal is not stable yet
    assert e.gc(lambda h, o: True) == 1
    assert not e.rm and sum(len(b.vals) for b in e.blocks) == 2
    check_index(e)


def test_gc_waits_for_the_insert_after_the_tombstone() -> None:
    # x (removed) is followed by y; an insert concurrent with y that lands after x's
    # reference must still see x, so x goes only once y's insert is stable too.
    ks = keyspace()
    apply(ks, "a", 10, {}, ins(None, [b"w", b"x"]))
    apply(ks, "a", 20, {}, ins((10, "a", 1), [b"y"]))
    apply(ks, "a", 30, {}, rem([(10, "a", 1)], [1]))
    e = entry(ks)
    assert e.gc(lambda h, o: h != 20) == 0
    assert e.retain()
    assert e.gc(lambda h, o: True) == 1
    assert visible(ks) == [b"w", b"y"]


def test_gc_without_the_tombstones_gives_the_same_order() -> None:
    # Replica P collects x's tombstone (its removal and y's insert stable), replica Q has
    # not: a later insert after w (causally after everything) lands at the same place.
    def build(collect: bool) -> list[bytes]:
        ks = keyspace()
        apply(ks, "a", 10, {}, ins(None, [b"w", b"x"]))
        apply(ks, "b", 20, {"a": 10}, ins((10, "a", 1), [b"y"]))
        apply(ks, "a", 30, {"b": 20}, rem([(10, "a", 1)], [1]))
        if collect:
            assert entry(ks).gc(lambda h, o: True) == 1
        apply(ks, "c", 40, {"a": 30, "b": 20}, ins((10, "a", 0), [b"n"], hint=0))
        return visible(ks)

    assert build(True) == build(False) == [b"w", b"n", b"y"]


def test_removal_twice_keeps_the_smallest_stamp() -> None:
    for order in ([("b", 30), ("c", 25)], [("c", 25), ("b", 30)]):
        ks = keyspace()
        apply(ks, "a", 10, {}, ins(None, [b"a", b"b"]))
        for origin, h in order:
            apply(ks, origin, h, {"a": 10}, rem([(10, "a", 0)]))
        assert list(entry(ks).rm.values()) == [(25, "c")]
        assert visible(ks) == [b"b"]


def test_unknown_ids_and_references_never_raise() -> None:
    ks = keyspace()
    apply(ks, "a", 10, {}, ins(None, [b"a"]))
    apply(ks, "a", 20, {}, rem([(99, "zz", 0), (10, "a", 7)], [5, 0]))
    apply(ks, "a", 30, {}, lset((98, "q", 0), 3, b"v"))
    apply(ks, "a", 40, {}, trim((97, "q", 0), 0, (10, "a", 0), 0))
    apply(ks, "a", 50, {}, ins((96, "nobody", 0), [b"h"], hint=9))
    assert visible(ks) == [b"h", b"a"]
    apply(ks, "a", 60, {}, rem([(10, "a", 0)]), rem([(10, "a", 0)]))
    apply(ks, "a", 70, {}, rem([(50, "a", 0)]))
    assert b"l" not in ks.dbs[0].data
    apply(ks, "a", 80, {}, rem([(50, "a", 0)]), lset((50, "a", 0), 0, b"v"))
    apply(ks, "a", 90, {}, rem([(1, "a", 0)], [0], key=b"nokey"), lset((1, "a", 0), 0, b"v", key=b"nokey"))
    assert b"nokey" not in ks.dbs[0].data


def test_lset_is_lww_per_element_and_removal_wins() -> None:
    for order in itertools.permutations([("b", 30, b"B"), ("c", 20, b"C"), ("d", 30, b"D")]):
        ks = keyspace()
        apply(ks, "a", 10, {}, ins(None, [b"x", b"y"]))
        for origin, h, v in order:
            apply(ks, origin, h, {"a": 10}, lset((10, "a", 0), 0, v))
        assert visible(ks) == [b"D", b"y"]
    ks = keyspace()
    apply(ks, "a", 10, {}, ins(None, [b"x", b"y"]))
    apply(ks, "b", 20, {"a": 10}, rem([(10, "a", 0)], [0]))
    apply(ks, "c", 30, {"a": 10}, lset((10, "a", 0), 0, b"X"))
    assert visible(ks) == [b"y"]
    assert not entry(ks).vst


def test_lset_stamps_are_collected_when_stable() -> None:
    ks = keyspace()
    apply(ks, "a", 10, {}, ins(None, [b"x"]))
    apply(ks, "a", 20, {}, lset((10, "a", 0), 0, b"y"))
    e = entry(ks)
    assert len(e.vst) == 1
    assert e.gc(lambda h, o: h != 20) == 0
    assert e.gc(lambda h, o: True) == 1 and not e.vst
    ks1 = keyspace(solo=True)
    apply(ks1, "me", 10, {}, ins(None, [b"x"]))
    apply(ks1, "me", 20, {}, lset((10, "me", 0), 0, b"y"))
    assert visible(ks1) == [b"y"] and not entry(ks1).vst


def test_del_removes_only_observed_elements() -> None:
    ks = keyspace()
    apply(ks, "a", 10, {}, ins(None, [b"a", b"b"]))
    apply(ks, "b", 20, {"a": 10}, ins((10, "a", 1), [b"c"], hint=1))
    apply(ks, "a", 30, {}, (codes.DEL, 0, b"l"))  # a had not seen b's insert
    assert visible(ks) == [b"c"]
    e = entry(ks)
    assert len(e.rm) == 2
    check_index(e)


def test_trim_removes_observed_elements_outside_the_kept_range() -> None:
    ks = keyspace()
    apply(ks, "a", 10, {}, ins(None, [b"0", b"1", b"2", b"3", b"4"]))
    apply(ks, "b", 20, {"a": 10}, ins(None, [b"head"]))
    apply(ks, "b", 21, {"a": 10}, ins((10, "a", 4), [b"tail"], hint=5))
    apply(ks, "b", 22, {"a": 10}, ins((10, "a", 1), [b"mid"], hint=2))
    # a trims to [1, 3] without having seen b's inserts
    apply(ks, "a", 30, {}, trim((10, "a", 1), 1, (10, "a", 3), 3))
    assert visible(ks) == [b"head", b"1", b"mid", b"2", b"3", b"tail"]


def test_trim_single_node_bulk_path() -> None:
    ks = keyspace(solo=True)
    vals = [str(i).encode() for i in range(5000)]
    apply(ks, "me", 10, {}, ins(None, vals))
    apply(ks, "me", 20, {}, trim((10, "me", 1200), 1200, (10, "me", 3999), 3999))
    e = entry(ks)
    assert visible(ks) == vals[1200:4000]
    assert not e.rm
    check_index(e)


def test_retained_empty_list_is_invisible_and_keeps_positions() -> None:
    ks = keyspace()
    apply(ks, "a", 10, {}, ins(None, [b"x", b"y"]))
    apply(ks, "a", 20, {}, rem([(10, "a", 0), (10, "a", 1)], [0, 0]))
    db = ks.dbs[0]
    assert b"l" not in db.data
    hidden = db.shadow[b"l"][b"list"]
    assert type(hidden) is ListEntry and hidden.retain()
    # Concurrent inserts after x and after y (made before the removals were seen) still
    # land in x/y order, whatever order they arrive in.
    apply(ks, "c", 15, {"a": 10}, ins((10, "a", 1), [b"after-y"], hint=1))
    apply(ks, "b", 16, {"a": 10}, ins((10, "a", 0), [b"after-x"], hint=0))
    assert visible(ks) == [b"after-x", b"after-y"]
    assert db.data[b"l"] is hidden and b"l" not in db.shadow


def test_retained_list_dropped_once_its_tombstones_are_collected() -> None:
    ks = keyspace()
    apply(ks, "a", 10, {}, ins(None, [b"x"]))
    apply(ks, "a", 20, {}, rem([(10, "a", 0)], [0]))
    db = ks.dbs[0]
    assert b"l" in db.shadow
    for _ in ks.gc_chunks(lambda h, o: h < 20):
        pass
    assert b"l" in db.shadow
    for _ in ks.gc_chunks(lambda h, o: True):
        pass
    assert b"l" not in db.shadow


def test_set_over_a_list_keeps_its_tombstones_hidden() -> None:
    ks = keyspace()
    apply(ks, "a", 10, {}, ins(None, [b"x"]))
    apply(ks, "a", 20, {}, (codes.SET, 0, b"l", b"str", codes.TTL_CLEAR, None))
    db = ks.dbs[0]
    assert db.data[b"l"][0] == b"str"
    assert db.shadow[b"l"][b"list"].retain()


def test_losing_peers_purges_tombstones() -> None:
    ks = keyspace()
    apply(ks, "a", 10, {}, ins(None, [b"x", b"y"]))
    apply(ks, "a", 20, {}, rem([(10, "a", 0)], [0]))
    assert entry(ks).rm
    ks.solo = True
    apply(ks, "a", 30, {}, ins(None, [b"z"]))
    e = entry(ks)
    assert not e.rm and visible(ks) == [b"z", b"y"]
    check_index(e)


@pytest.mark.parametrize("holes", [False, True])
def test_a_solo_list_meets_a_joining_replicas_inserts_as_a_member(monkeypatch: pytest.MonkeyPatch,
                                                                  holes: bool) -> None:
    """A replica founded alone keeps its lists in their solo form (removals deleted on the
    spot, holes from pops); a new replica joins with its list, and A's DEL of the list is
    concurrent with B's inserts after two of its elements. When A leaves solo, its lists take
    their peers form at once: the DEL reaches the list through remove_observed (no list
    apply brings the flag up to date first), so with a solo list A would delete p and q on
    the spot and put B's inserts at the head, newest first: [y, x] at A, [x, y] at B."""
    monkeypatch.setattr(list_blocks, "HOLE_MIN", 2)
    a, b = keyspace(solo=True), keyspace()
    vals = [b"o", b"n", b"p", b"q", b"r"]
    for ks in (a, b):
        apply(ks, "a", 10, {}, ins(None, vals))
        if holes:  # two pops at the head: holes in A's solo list (tombstones in B's)
            apply(ks, "a", 11, {}, rem([(10, "a", 0)], [0]))
            apply(ks, "a", 12, {}, rem([(10, "a", 1)], [0]))
    if holes:
        assert None in entry(a).blocks[0].vals
    a.leave_solo()
    assert entry(a).peers and None not in entry(a).blocks[0].vals
    dl = ("a", 30, {"a": 12}, (codes.DEL, 0, b"l"))
    xs = [("b", 20, {"a": 12}, ins((10, "a", 2), [b"x"], hint=0)),
          ("b", 21, {"a": 12}, ins((10, "a", 3), [b"y"], hint=2))]
    apply(a, *dl)
    for op in xs:
        apply(b, *op)
    for op in xs:
        apply(a, *op)
    apply(b, *dl)
    assert visible(a) == visible(b) == [b"x", b"y"]
    check_index(entry(a))


def test_wrong_hint_falls_back_to_nearby_blocks_then_the_id_dict(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(list_blocks, "BLOCK", 4)
    monkeypatch.setattr(list_blocks, "MAX_BLOCK", 8)
    monkeypatch.setattr(list_blocks, "HEAD_BLOCK", 3)
    monkeypatch.setattr(list_blocks, "HOLE_MIN", 2)
    monkeypatch.setattr(list_blocks, "HOLES", 3)
    ks = keyspace()
    vals = [str(i).encode() for i in range(100)]
    apply(ks, "a", 10, {}, ins(None, vals))
    e = entry(ks)
    assert len(e.blocks) == 25
    apply(ks, "a", 20, {}, rem([(10, "a", 50)], [49]))  # one off: a neighbour
    assert e.where is None
    apply(ks, "a", 30, {}, rem([(10, "a", 90)], [3]))  # far off: the dict
    assert e.where is not None
    apply(ks, "a", 40, {}, ins((10, "a", 10), [b"new"], hint=70))
    apply(ks, "a", 50, {}, rem([(10, "a", 0)], [-1]))
    expected = vals[1:11] + [b"new"] + vals[11:50] + vals[51:90] + vals[91:]
    assert visible(ks) == expected
    assert set(e.where) == {rga._pid(h, o) for b in e.blocks for h, o in zip(b.hl, b.oi, strict=True)}
    assert all(e.where[rga._pid(h, o)] is b for b in e.blocks for h, o in zip(b.hl, b.oi, strict=True))
    check_index(e)


@pytest.mark.parametrize("packed", [False, True])
@pytest.mark.parametrize("peers", [True, False])
def test_block_index_matches_a_plain_list_under_random_ops(monkeypatch: pytest.MonkeyPatch, peers: bool,
                                                            packed: bool) -> None:
    monkeypatch.setattr(list_blocks, "BLOCK", 4)
    monkeypatch.setattr(list_blocks, "MAX_BLOCK", 8)
    monkeypatch.setattr(list_blocks, "HEAD_BLOCK", 3)
    monkeypatch.setattr(list_blocks, "HOLE_MIN", 2)
    monkeypatch.setattr(list_blocks, "HOLES", 3)
    if packed:
        monkeypatch.setattr(list_blocks, "MIN_PACK", 2)
        monkeypatch.setattr(list_blocks, "HOT", 1)
    rnd = random.Random(7)
    ks = keyspace(solo=not peers)
    model: list[tuple[bytes, Any]] = []  # (value, id)
    h = 0
    for step in range(1500):
        h += 1
        e = rga.existing(ks.dbs[0], b"l")
        op = rnd.random()
        if op < 0.45 or not model:
            n = rnd.choice([1, 1, 2, 3, 12])
            vals = [f"{h}.{i}".encode() for i in range(n)]
            k = rnd.randrange(-1, len(model))
            ref = None if k < 0 else model[k][1]
            apply(ks, "me", h, {}, ins(ref, vals, hint=k))
            model[k + 1:k + 1] = [(v, (h, "me", i)) for i, v in enumerate(vals)]
        elif op < 0.8:
            ks_ = sorted(rnd.sample(range(len(model)), min(len(model), rnd.choice([1, 1, 3]))))
            ids = [model[k][1] for k in ks_]
            hints = [k - j for j, k in enumerate(ks_)]
            apply(ks, "me", h, {}, rem(ids, hints))
            for k in reversed(ks_):
                del model[k]
        elif op < 0.9:
            k = rnd.randrange(len(model))
            v = f"set{h}".encode()
            apply(ks, "me", h, {}, lset(model[k][1], k, v))
            model[k] = (v, model[k][1])
        else:
            a = rnd.randrange(len(model))
            b = rnd.randrange(a, len(model))
            apply(ks, "me", h, {}, trim(model[a][1], a, model[b][1], b))
            model = model[a:b + 1]
        assert visible(ks) == [v for v, _ in model], step
        e = rga.existing(ks.dbs[0], b"l")
        if e is not None and step % 10 == 0:
            check_index(e)
            if peers and step % 200 == 0:
                e.gc(lambda hh, o: True)
                check_index(e)
                assert not e.rm


def push_one(ks: Keyspace, model: list[tuple[bytes, Any]], h: int, left: bool) -> None:
    """LPUSH (left, or an empty list) or RPUSH of one value at hlc h, on the list and its model."""
    v = str(h).encode()
    if left or not model:
        apply(ks, "me", h, {}, ins(None, [v]))
        model.insert(0, (v, (h, "me", 0)))
    else:
        k = len(model) - 1
        apply(ks, "me", h, {}, rga.insert_effect(0, b"l", model[k][1], k, [v], "~", len(model)))
        model.append((v, (h, "me", 0)))


@pytest.mark.parametrize("packed", [False, True])
@pytest.mark.parametrize("peers", [True, False])
def test_queue_and_stack_ops_keep_the_lazy_index_exact(monkeypatch: pytest.MonkeyPatch, peers: bool,
                                                       packed: bool) -> None:
    """One-value pushes and pops at both ends (the fast paths: push_head, push_after_last,
    remove1, end) interleaved with lookups in the middle (the Fenwick tree, updated lazily,
    rebuilt after splits and dropped blocks), against a plain list."""
    monkeypatch.setattr(list_blocks, "BLOCK", 4)
    monkeypatch.setattr(list_blocks, "MAX_BLOCK", 8)
    monkeypatch.setattr(list_blocks, "HEAD_BLOCK", 3)
    monkeypatch.setattr(list_blocks, "HOLE_MIN", 2)
    monkeypatch.setattr(list_blocks, "HOLES", 3)
    if packed:
        monkeypatch.setattr(list_blocks, "MIN_PACK", 2)
        monkeypatch.setattr(list_blocks, "HOT", 1)
    rnd = random.Random(11)
    ks = keyspace(solo=not peers)
    model: list[tuple[bytes, Any]] = []
    for h in range(1, 3000):
        r = rnd.random()
        e = rga.existing(ks.dbs[0], b"l")
        if r < 0.5 or not model:
            push_one(ks, model, h, r < 0.25)
        elif r < 0.85:
            assert e is not None
            left = rnd.random() < 0.5
            k = 0 if left else len(model) - 1
            assert e.end(left) == model[k]
            apply(ks, "me", h, {}, rga.remove_effect(0, b"l", [model[k][1]], [k], "~", len(model)))
            del model[k]
        else:
            assert e is not None
            k = rnd.randrange(len(model))
            assert e.at(k) == model[k]
        assert visible(ks) == [v for v, _ in model]
        e = rga.existing(ks.dbs[0], b"l")
        if e is not None and h % 50 == 0:
            check_index(e)


@pytest.mark.parametrize("seed", range(3))
def test_solo_pops_leave_holes_that_read_restart_and_join_as_the_list(monkeypatch: pytest.MonkeyPatch,
                                                                       seed: int) -> None:
    """Without peers, popping the head of a block longer than HOLE_MIN leaves a hole instead
    of shifting the block (list_blocks._kill); pushes at the head then land before the holes,
    pops at either end and removals in the middle meet them, and every lookup, a restart
    from the state and a switch to peers (with gc) show the plain list. Head blocks bigger
    than HOLE_MIN, as in production (512 > 64), so an LPUSH can put a value before holes."""
    monkeypatch.setattr(list_blocks, "BLOCK", 6)
    monkeypatch.setattr(list_blocks, "MAX_BLOCK", 12)
    monkeypatch.setattr(list_blocks, "HEAD_BLOCK", 8)
    monkeypatch.setattr(list_blocks, "HOLE_MIN", 3)
    monkeypatch.setattr(list_blocks, "HOLES", 4)
    rnd = random.Random(seed)
    ks = keyspace(solo=True)
    model: list[tuple[bytes, Any]] = []
    removed: list[Any] = []
    holes = 0
    for h in range(1, 2500):
        r = rnd.random()
        e = rga.existing(ks.dbs[0], b"l")
        if r < 0.45 or len(model) < 2:
            push_one(ks, model, h, r < 0.2)
        elif r < 0.9:
            assert e is not None
            k = 0 if r < 0.75 else (len(model) - 1 if r < 0.85 else rnd.randrange(len(model)))
            apply(ks, "me", h, {}, rga.remove_effect(0, b"l", [model[k][1]], [k], "~", len(model)))
            removed.append(model[k][1])
            del model[k]
        else:
            assert e is not None
            k = rnd.randrange(len(model))
            assert e.at(k) == model[k]
            if removed:
                # Removing an element again (perhaps a hole now) changes nothing, stamps nothing.
                apply(ks, "me", h, {}, rem([removed[-1]], [0]))
        e = rga.existing(ks.dbs[0], b"l")
        assert visible(ks) == [v for v, _ in model]
        if e is not None:
            holes = max(holes, sum(b.vals.count(None) for b in e.blocks))
            assert not e.rm
            if h % 25 == 0:
                check_index(e)
    assert holes >= 3, "the test never made holes"
    e = rga.existing(ks.dbs[0], b"l")
    assert e is not None
    assert any(None in b.vals for b in e.blocks), "the test ended without holes"
    # The state has no holes: the one the solo code that shifted made (a restart shows the
    # list, and its snapshot is the bytes it was).
    s = e.state()
    assert None not in s["vals"] and not s["rm"]
    assert ListEntry.from_state(s).values() == [v for v, _ in model]
    check_index(ListEntry.from_state(s))
    # Peers join: the holes go before any peer's op meets them (no stampless tombstones).
    e.set_peers(True)
    assert not any(None in b.vals for b in e.blocks)
    assert e.values() == [v for v, _ in model]
    assert e.state() == s
    check_index(e)


@pytest.mark.parametrize("seed", range(4))
def test_push_fast_paths_decide_as_insert_does(seed: int) -> None:
    """push_head / push_after_last take an insert only when `insert` would put the value
    at the same place; with concurrent ids (smaller or equal hlcs, other origins) they
    decline and `insert` runs. Two entries, one through the fast paths when they accept,
    one through `insert` alone, hold the same state after every step."""
    rnd = random.Random(seed)
    fast, slow = ListEntry(), ListEntry()
    taken: set[tuple[int, str]] = set()  # element ids are unique
    last: list[bool] = []
    for step in range(400):
        head = rnd.random() < 0.5 or not slow.size
        ref = None if head else slow.end(False)[1]
        # An insert's id is past its reference's (its origin observed it), so past every
        # id so far for a tail push here; at the head anything goes (concurrent inserts).
        top = max((x for x, _ in taken), default=0)
        h, origin = top + 1, rnd.choice(["a", "b", "c"])
        if ref is None and rnd.random() < 0.6:
            cand = (rnd.randrange(1, top + 2), rnd.choice(["a", "b", "c"]))
            if cand not in taken:
                h, origin = cand
        taken.add((h, origin))
        ctx = Ctx(origin, step + 1, h, {})
        v = f"{step}".encode()
        if head:
            ok = fast.push_head(h, origin, v) if fast.blocks else False
        else:
            assert ref is not None
            ok = fast.push_after_last(h, origin, ref[0], ref[1], ref[2], v)
        if not ok:
            fast.insert(ctx, ref, -1, [v])
        slow.insert(ctx, ref, -1, [v])
        assert fast.state() == slow.state(), step
        last.append(ok)
    assert any(last) and not all(last)  # both branches ran


def test_large_insert_is_split_into_blocks() -> None:
    ks = keyspace(solo=True)
    vals = [str(i).encode() for i in range(3000)]
    apply(ks, "me", 10, {}, ins(None, vals[:1]))
    apply(ks, "me", 20, {}, ins((10, "me", 0), vals[1:], hint=0))
    e = entry(ks)
    assert all(len(b.vals) <= list_blocks.MAX_BLOCK for b in e.blocks)
    assert visible(ks) == vals
    check_index(e)


def test_tail_appends_fill_blocks_and_touch_one_block() -> None:
    ks = keyspace(solo=True)
    apply(ks, "me", 1, {}, ins(None, [b"0"]))
    for i in range(1, 2500):
        apply(ks, "me", i + 1, {}, ins((i, "me", 0), [str(i).encode()], hint=i - 1))
    e = entry(ks)
    assert [len(b.vals) for b in e.blocks] == [1024, 1024, 452]
    for i in range(2500):
        apply(ks, "me", 10000 + i, {}, rem([(i + 1, "me", 0)], [0]))
        if i % 500 == 0:
            check_index(e)
    assert b"l" not in ks.dbs[0].data


def test_state_roundtrip_with_tombstones_and_lset_stamps() -> None:
    ks = keyspace()
    apply(ks, "a", 10, {}, ins(None, [b"a", b"b", b"c"]))
    apply(ks, "b", 20, {"a": 10}, ins((10, "a", 0), [b"x"], hint=0))
    apply(ks, "a", 30, {}, rem([(10, "a", 1)], [1]))
    apply(ks, "a", 40, {"b": 20}, lset((10, "a", 2), 2, b"C"))
    e = entry(ks)
    s = e.state()
    e2 = ListEntry.from_state(s)
    assert e2.state() == s
    assert e2.values() == e.values() == [b"a", b"x", b"C"]
    assert e2.rm == e.rm and e2.vst == e.vst
    assert (e2.thlc, e2.torigin) == (e.thlc, e.torigin)
    check_index(e2)


def _v1_state(s: dict) -> dict:
    """A version-2 list state written the way version 1 was: one list per run."""
    cols = []
    for name, tc in (("rh", "q"), ("ro", "I"), ("ri", "I"), ("rn", "I")):
        a = array(tc)
        a.frombytes(s[name])
        cols.append(a)
    runs, k = [], 0
    for h, o, i0, n in zip(*cols, strict=True):
        runs.append([h, s["origins"][o], i0, s["vals"][k:k + n]])
        k += n
    return {"v": 1, "type": s["type"], "runs": runs, "rm": s["rm"], "vst": s["vst"]}


def test_state_is_columnar_and_version_1_states_still_load() -> None:
    ks = keyspace()
    apply(ks, "a", 10, {}, ins(None, [b"a", b"b", b"c"]))  # one run of three
    apply(ks, "b", 20, {"a": 10}, ins((10, "a", 0), [b"x"], hint=0))  # splits it
    apply(ks, "a", 30, {}, rem([(10, "a", 1)], [1]))  # a tombstone inside a run
    for t in range(5):  # one-value pushes: one run each
        apply(ks, "b", 40 + t, {"a": 30}, ins(None, [b"p%d" % t]))
    e = entry(ks)
    s = e.state()
    assert s["v"] == 2 and sorted(s["origins"]) == ["a", "b"]
    assert array("I", s["rn"]).tolist() == [1] * 5 + [1, 1, 2]  # p4..p0, a, x, b(tomb) c
    assert s["vals"] == [b"p4", b"p3", b"p2", b"p1", b"p0", b"a", b"x", None, b"c"]
    old = ListEntry.from_state(_v1_state(s))
    assert old.state() == s and old.values() == e.values()
    check_index(old)


def _blocks(e: ListEntry) -> list[Any]:
    """Every block's stored form: packed columns, or thawed values and ids."""
    out: list[Any] = []
    for b in e.blocks:
        p = b.packed
        if p is None:
            out.append(("thawed", list(b.vals), list(b.hl), list(b.oi)))
        else:
            out.append(("packed", p.blob, list(p.offs), list(p.rstart), list(p.rh), list(p.roi)))
    return out


# (continues the previous run's ids, origin, values): runs that continue one another are
# merged by state(), the others start at a new hlc (ids stay unique).
_RUNS = st.lists(st.tuples(st.booleans(), st.sampled_from(["a", "b", "c"]),
                           st.lists(st.sampled_from([b"v", b"w", b"xy", b"", None]), min_size=1, max_size=9)),
                 max_size=40)


@settings(max_examples=300, deadline=None)
@given(runs=_RUNS, block=st.integers(2, 9), min_pack=st.integers(1, 5))
def test_a_columnar_state_loads_into_the_blocks_expanding_it_would_make(
        runs: list[Any], block: int, min_pack: int) -> None:
    """from_state packs a version-2 state's runs as they are (list_blocks.blocks_from_runs);
    the blocks must be those that expanding the runs to per-element ids and packing them
    (`_compact`, what version 1 states still take) makes."""
    v1_runs: list[list[Any]] = []
    for h, (cont, o, vs) in enumerate(runs):
        if cont and v1_runs:
            ph, po, pi, pvs = v1_runs[-1]
            v1_runs.append([ph, po, pi + len(pvs), vs])
        else:
            v1_runs.append([h + 1, o, h % 3, vs])
    v1 = {"v": 1, "type": [7, "a"], "runs": v1_runs, "rm": [], "vst": []}
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(list_blocks, "BLOCK", block)
        mp.setattr(list_blocks, "MIN_PACK", min_pack)
        old = ListEntry.from_state(v1)
        s = old.state()  # columnar, runs merged where ids are consecutive
        new = ListEntry.from_state(s)
        assert _blocks(new) == _blocks(ListEntry.from_state(_v1_state(s))) == _blocks(old)
    assert new.state() == s and new.values() == old.values()
    if new.blocks:
        check_index(new)


def test_a_block_whose_values_need_offsets_past_32_bits_stays_unpacked() -> None:
    class Huge:  # stands for a 3 GB value without allocating it
        def __len__(self) -> int:
            return 3_000_000_000

    ids = array("q", [1, 2]), array("Q", [1, 2])
    assert list_packed._assemble([Huge(), Huge()], array("I", [0, 1]), *ids) is None  # type: ignore[list-item]
    assert list_packed._assemble([b"a", b"bc"], array("I", [0, 1]), *ids) is not None


def test_a_list_of_one_value_pushes_loads_packed_from_its_runs() -> None:
    """The shape a snapshot of LPUSH-one-value lists has: one run per element."""
    ks = keyspace(solo=True)
    for i in range(3000):
        apply(ks, "me", i + 1, {}, ins(None, [b"%d" % i]))
    e = entry(ks)
    s = e.state()
    assert array("I", s["rn"]).tolist() == [1] * 3000
    e2 = ListEntry.from_state(s)
    assert [b.packed is not None for b in e2.blocks] == [True] * len(e2.blocks) and len(e2.blocks) > 1
    assert e2.values() == e.values() and e2.state() == s
    check_index(e2)


@pytest.mark.parametrize("damage", ["short column", "odd bytes", "origin index", "values"])
def test_a_malformed_columnar_state_raises_value_error(damage: str) -> None:
    ks = keyspace()
    apply(ks, "a", 10, {}, ins(None, [b"a", b"b"]))
    apply(ks, "b", 20, {"a": 10}, ins(None, [b"c"]))
    s = dict(entry(ks).state())
    if damage == "short column":
        s["ri"] = s["ri"][:4]
    elif damage == "odd bytes":
        s["rh"] = s["rh"] + b"\x00"
    elif damage == "origin index":
        s["origins"] = s["origins"][:1]
    else:
        s["vals"] = s["vals"][:-1]
    with pytest.raises(ValueError):
        ListEntry.from_state(s)
    # Plain structure only.
    def plain(x: Any) -> bool:
        if isinstance(x, dict):
            return all(isinstance(k, str) and plain(v) for k, v in x.items())
        if isinstance(x, (list, tuple)):
            return all(plain(v) for v in x)
        return x is None or isinstance(x, (bool, int, float, str, bytes))

    assert plain(s)


def test_rebuild_effects_write_an_equal_list() -> None:
    ks = keyspace()
    apply(ks, "a", 10, {}, ins(None, [b"a", b"b", b"c"]))
    apply(ks, "a", 20, {}, rem([(10, "a", 1)], [1]))
    effs = rebuild_effects(0, b"copy", entry(ks))
    apply(ks, "a", 30, {}, *effs)
    assert visible(ks, b"copy") == [b"a", b"c"]


# ---- named scenarios on three replicas ------------------------------------------------------


def sync_from(c: Cluster, i: int, mark: int) -> None:
    """Deliver replica i's ops emitted since `mark` to every other replica."""
    for op in c[i].emitted[mark:]:
        for j, r in enumerate(c.replicas):
            if j != i:
                r.node.apply_remote(op)


def lrange(r: Replica, key: str = "l") -> Any:
    return r.run("LRANGE", key, 0, -1)


def exchange(c: Cluster, marks: dict[int, int], observer_order: tuple[int, ...]) -> None:
    """Replicas in `marks` each emitted ops concurrently since their mark: deliver them to
    each other, and to the remaining replica in `observer_order`."""
    ops = {i: c[i].emitted[m:] for i, m in marks.items()}
    for i in marks:
        for j in marks:
            if i != j:
                for op in ops[j]:
                    c[i].node.apply_remote(op)
    for j, r in enumerate(c.replicas):
        if j not in marks:
            for i in observer_order:
                for op in ops[i]:
                    r.node.apply_remote(op)


def converged(c: Cluster, key: str = "l") -> Any:
    vals = [lrange(r, key) for r in c.replicas]
    assert vals[0] == vals[1] == vals[2], vals
    return vals[0]


ORDERS = [(0, 1), (1, 0)]


@pytest.mark.parametrize("order", ORDERS)
def test_lpush_concurrent_lpush_keeps_both_in_one_order(order: tuple[int, int]) -> None:
    c = Cluster(3)
    m = {0: len(c[0].emitted), 1: len(c[1].emitted)}
    assert c[0].run("LPUSH", "l", "a") == 1
    assert c[1].run("LPUSH", "l", "b") == 1
    exchange(c, m, order)
    result = converged(c)
    assert sorted(result) == [b"a", b"b"]
    # The later push (higher stamp) is nearer the head everywhere.
    assert result == [b"b", b"a"]


@pytest.mark.parametrize("order", ORDERS)
def test_lpop_concurrent_pops_same_element_both_return_it(order: tuple[int, int]) -> None:
    c = Cluster(3)
    c[0].run("RPUSH", "l", "a", "b", "c")
    sync_from(c, 0, 0)
    m = {0: len(c[0].emitted), 1: len(c[1].emitted)}
    assert c[0].run("LPOP", "l") == b"a"
    assert c[1].run("LPOP", "l") == b"a"  # at-least-once pop: both get it
    exchange(c, m, order)
    assert converged(c) == [b"b", b"c"]  # and the list loses it once


@pytest.mark.parametrize("order", ORDERS)
@pytest.mark.parametrize("where", ["BEFORE", "AFTER"])
def test_linsert_next_to_concurrently_removed_element(order: tuple[int, int], where: str) -> None:
    c = Cluster(3)
    c[0].run("RPUSH", "l", "a", "b", "c")
    sync_from(c, 0, 0)
    m = {0: len(c[0].emitted), 1: len(c[1].emitted)}
    assert c[0].run("LREM", "l", 0, "b") == 1
    assert c[1].run("LINSERT", "l", where, "b", "x") == 4
    exchange(c, m, order)
    assert converged(c) == [b"a", b"x", b"c"]


@pytest.mark.parametrize("order", ORDERS)
def test_linsert_after_two_concurrently_popped_elements_same_everywhere(order: tuple[int, int]) -> None:
    c = Cluster(3)
    c[0].run("RPUSH", "l", "a", "b")
    sync_from(c, 0, 0)
    m0, m1, m2 = (len(r.emitted) for r in c.replicas)
    c[0].run("DEL", "l")
    c[1].run("LINSERT", "l", "AFTER", "b", "after-b")
    c[2].run("LINSERT", "l", "AFTER", "a", "after-a")
    ops = [c[0].emitted[m0:], c[1].emitted[m1:], c[2].emitted[m2:]]
    for j in range(3):
        others = [i for i in range(3) if i != j]
        if order == (1, 0):
            others.reverse()
        for i in others:
            for op in ops[i]:
                c[j].node.apply_remote(op)
    assert converged(c) == [b"after-a", b"after-b"]


@pytest.mark.parametrize("order", ORDERS)
def test_del_concurrent_rpush_keeps_only_the_concurrent_element(order: tuple[int, int]) -> None:
    c = Cluster(3)
    c[0].run("RPUSH", "l", "a", "b")
    sync_from(c, 0, 0)
    m = {0: len(c[0].emitted), 1: len(c[1].emitted)}
    assert c[0].run("DEL", "l") == 1
    assert c[1].run("RPUSH", "l", "new") == 3
    exchange(c, m, order)
    assert converged(c) == [b"new"]


@pytest.mark.parametrize("order", ORDERS)
def test_set_concurrent_lpush_one_type_everywhere(order: tuple[int, int]) -> None:
    c = Cluster(3)
    m = {0: len(c[0].emitted), 1: len(c[1].emitted)}
    c[0].run("SET", "k", "v")
    c[1].run("LPUSH", "k", "a")
    exchange(c, m, order)
    types = {r.run("TYPE", "k") for r in c.replicas}
    assert len(types) == 1
    winner = "list" if (c[1].emitted[-1].hlc, c[1].node.origin) > (c[0].emitted[-1].hlc, c[0].node.origin) else "string"
    assert types == {winner.encode()}
    # The loser's origin saw its content replaced by the winner: a counted conflict.
    loser = 0 if winner == "list" else 1
    assert c[loser].node.keyspace.type_conflicts == 1


async def test_blpop_woken_by_a_replicated_push() -> None:
    c = Cluster(2)
    reply = c[0].run("BLPOP", "q", "nothing", 0)
    assert isinstance(reply, Deferred)
    assert c[0].client.blocked
    c[1].run("RPUSH", "q", "job")
    c[0].node.apply_remote(c[1].emitted[-1])
    assert await asyncio.wait_for(reply.future, 2) == [b"q", b"job"]
    assert not c[0].client.blocked and not c[0].node.keyspace.dbs[0].waiters
    # The pop is an ordinary op of the woken replica: peers apply it.
    c[1].node.apply_remote(c[0].emitted[-1])
    assert c[1].run("LLEN", "q") == 0


# ---- the property test ----------------------------------------------------------------------

KEYS = ("a", "b")
VALUES = ("x", "y", "z")

push = st.tuples(st.sampled_from(["LPUSH", "RPUSH", "LPUSH", "RPUSH", "LPUSHX", "RPUSHX"]),
                 st.sampled_from(KEYS), st.lists(st.sampled_from(VALUES), min_size=1, max_size=4)).map(
    lambda t: [t[0], t[1], *t[2]])
linsert = st.tuples(st.sampled_from(KEYS), st.sampled_from(["BEFORE", "AFTER"]), st.sampled_from(VALUES),
                    st.sampled_from(VALUES)).map(lambda t: ["LINSERT", t[0], t[1], t[2], t[3]])
pop = st.tuples(st.sampled_from(["LPOP", "RPOP"]), st.sampled_from(KEYS), st.integers(0, 3)).map(
    lambda t: [t[0], t[1]] if t[2] == 0 else [t[0], t[1], str(t[2])])
command = st.one_of(
    push, push, push, push, push, push, linsert, linsert, pop, pop,
    st.tuples(st.sampled_from(KEYS), st.integers(-4, 3), st.sampled_from(VALUES)).map(
        lambda t: ["LSET", t[0], str(t[1]), t[2]]),
    st.tuples(st.sampled_from(KEYS), st.integers(-2, 2), st.sampled_from(VALUES)).map(
        lambda t: ["LREM", t[0], str(t[1]), t[2]]),
    st.tuples(st.sampled_from(KEYS), st.integers(-5, 4), st.integers(-4, 5)).map(
        lambda t: ["LTRIM", t[0], str(t[1]), str(t[2])]),
    st.tuples(st.sampled_from(KEYS), st.sampled_from(KEYS), st.sampled_from(["LEFT", "RIGHT"]),
              st.sampled_from(["LEFT", "RIGHT"])).map(lambda t: ["LMOVE", *t]),
    st.tuples(st.sampled_from(["LEFT", "RIGHT"]), st.integers(1, 3)).map(
        lambda t: ["LMPOP", "2", "a", "b", t[0], "COUNT", str(t[1])]),
    st.sampled_from(KEYS).map(lambda k: ["DEL", k]),
)

cmd_step = st.tuples(st.just("cmd"), st.integers(0, 2), command)
step = st.one_of(
    cmd_step, cmd_step, cmd_step,
    st.tuples(st.just("deliver"), st.integers(1, 6)),
    st.tuples(st.just("gc"), st.integers(0, 2)),
)


def _observes(ctx_origin: str, ctx_hlc: int, deps: dict[str, int], h: int, o: str) -> bool:
    return Ctx(ctx_origin, 0, ctx_hlc, deps).observed(h, o)


def spec(ops: list[Op], key: bytes) -> list[bytes]:
    """The visible list from the set of all ops alone: RGA as a tree walk (children of an
    element in descending id order, each after its parent), minus removed elements."""
    value: dict[Any, bytes] = {}
    children: dict[Any, list[Any]] = defaultdict(list)
    removals: list[tuple[str, Any, str, int, dict[str, int]]] = []
    lsets: dict[Any, tuple[tuple[int, str], bytes]] = {}
    for op in ops:
        for j, eff in enumerate(op.effects):
            if eff[2] != key:
                continue
            h = op.hlc + j

            def eid_at(k: int, op: Op = op, eff: Any = eff) -> Any:  # flat (hlc, origin or "" = own, i)
                return (eff[k], eff[k + 1] or op.origin, eff[k + 2])

            if eff[0] & CREATE:
                # Delete first: the key did not exist where this write was made.
                removals.append(("del", None, op.origin, h, op.deps))
                eff = (eff[0] & ~CREATE, *eff[1:])
            if eff[0] == LINSERT:
                ref = eid_at(3) if eff[3] else None
                for i, v in enumerate(eff[7:]):
                    eid = (h, op.origin, i)
                    value[eid] = v
                    children[ref if i == 0 else (h, op.origin, i - 1)].append(eid)
            elif eff[0] == LSETVAL:
                stamp = (h, op.origin)
                target = eid_at(3)
                if target not in lsets or lsets[target][0] < stamp:
                    lsets[target] = (stamp, eff[7])
            elif eff[0] == LREMOVE:
                removals.append(("ids", [eid_at(k) for k in range(3, len(eff), 4)], op.origin, h, op.deps))
            elif eff[0] == LTRIMR:
                removals.append(("trim", (eid_at(3), eid_at(7)), op.origin, h, op.deps))
            else:
                removals.append(("del", None, op.origin, h, op.deps))
    order: list[Any] = []
    stack: list[Any] = sorted(children[None])  # ascending: pop() takes the largest first
    while stack:
        eid = stack.pop()
        order.append(eid)
        stack.extend(sorted(children[eid]))
    pos = {eid: k for k, eid in enumerate(order)}
    removed: set[Any] = set()
    for kind, arg, origin, h, deps in removals:
        if kind == "ids":
            removed.update(arg)
        elif kind == "del":
            removed.update(e for e in order if _observes(origin, h, deps, e[0], e[1]))
        else:
            lo, hi = pos[arg[0]], pos[arg[1]]
            removed.update(e for k, e in enumerate(order)
                           if (k < lo or k > hi) and _observes(origin, h, deps, e[0], e[1]))
    return [lsets[e][1] if e in lsets else value[e] for e in order if e not in removed]


def stable_oracle(c: Cluster) -> Any:
    """(hlc, origin) is stable when every replica applied it and no op still in flight
    (in any inbox, not yet applied there) is concurrent with it."""
    pending = [op for r in c.replicas for op in r.inbox if not r.applied(op)]

    def stable(h: int, o: str) -> bool:
        if any(r.node.keyspace.vh.get(o, 0) < h for r in c.replicas):
            return False
        return all(_observes(op.origin, op.hlc, op.deps, h, o) for op in pending)

    return stable


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps=st.lists(step, min_size=60, max_size=120), seed=st.integers(0, 2**32 - 1))
def test_property_replicas_converge_to_the_rga_spec(steps: list[Any], seed: int) -> None:
    c = Cluster(3, seed=seed)
    for s in steps:
        if s[0] == "cmd":
            c.run(s[1], *s[2])
        elif s[0] == "deliver":
            c.deliver_some(s[1], dup_prob=0.2)
        else:
            stable = stable_oracle(c)
            ks = c[s[1]].node.keyspace
            for _ in ks.gc_chunks(stable):
                pass
    c.deliver_all()
    ops = c.all_ops()
    collected = any(s[0] == "gc" for s in steps)
    for key in KEYS:
        want = spec(ops, key.encode())
        states = []
        for r in c.replicas:
            assert lrange(r, key) == want, (key, r.node.origin)
            e = rga.existing(r.node.keyspace.dbs[0], key.encode())
            states.append(None if e is None else e.state())
            if e is not None:
                s = e.state()
                assert ListEntry.from_state(s).state() == s
                check_index(e)
        if not collected:  # without gc, the whole state (tombstones too) is the same everywhere
            assert states[0] == states[1] == states[2]
    # Once everything is delivered, everything is stable: collection changes nothing visible.
    for r in c.replicas:
        for _ in r.node.keyspace.gc_chunks(lambda h, o: True):
            pass
        for key in KEYS:
            assert lrange(r, key) == spec(ops, key.encode())
            e = rga.existing(r.node.keyspace.dbs[0], key.encode())
            assert e is None or not e.rm


@pytest.mark.parametrize("seed", range(6))
def test_random_long_runs_converge_with_packed_blocks(seed: int, packing: None) -> None:
    test_random_long_runs_converge_to_the_rga_spec(seed + 100)


@pytest.mark.parametrize("seed", range(12))
def test_random_long_runs_converge_to_the_rga_spec(seed: int) -> None:
    collect = seed % 2 == 0
    """Longer, denser runs than hypothesis draws: hundreds of commands, lists of dozens."""
    rnd = random.Random(seed)
    c = Cluster(3, seed=seed)
    for _ in range(400):
        x = rnd.random()
        if x < 0.7:
            k = rnd.choice(KEYS)
            v = rnd.choice(VALUES)
            cmds = [
                ["RPUSH", k, *rnd.choices(VALUES, k=rnd.randint(1, 4))], ["LPUSH", k, v],
                ["LINSERT", k, rnd.choice(["BEFORE", "AFTER"]), rnd.choice(VALUES), v],
                [rnd.choice(["LPOP", "RPOP"]), k, str(rnd.randint(1, 2))],
                ["LSET", k, str(rnd.randint(-5, 5)), v], ["LREM", k, str(rnd.randint(-2, 2)), v],
                ["LTRIM", k, str(rnd.randint(-12, 2)), str(rnd.randint(-3, 12))],
                ["LMOVE", k, rnd.choice(KEYS), rnd.choice(["LEFT", "RIGHT"]), rnd.choice(["LEFT", "RIGHT"])],
            ]
            weights = [6, 3, 3, 2, 1, 1, 1, 1]
            c.run(rnd.randrange(3), *rnd.choices(cmds, weights)[0])
            if rnd.random() < 0.01:
                c.run(rnd.randrange(3), "DEL", k)
        elif x < 0.95:
            c.deliver_some(rnd.randint(1, 5), dup_prob=0.2)
        elif collect:
            for _ in c[rnd.randrange(3)].node.keyspace.gc_chunks(stable_oracle(c)):
                pass
    c.deliver_all()
    ops = c.all_ops()
    for key in KEYS:
        want = spec(ops, key.encode())
        for r in c.replicas:
            assert lrange(r, key) == want
        if not collect:
            states = [rga.existing(r.node.keyspace.dbs[0], key.encode()) for r in c.replicas]
            assert len({repr(None if e is None else e.state()) for e in states}) == 1


def test_hints_count_from_the_nearer_end() -> None:
    ks = keyspace(solo=True)
    apply(ks, "me", 10, {}, ins(None, [str(i).encode() for i in range(10)]))
    e = entry(ks)
    eff = rga.remove_effect(0, b"l", [(10, "me", 9), (10, "me", 8), (10, "me", 0)], [9, 8, 0], "me", size=10)
    assert eff == (LREMOVE, 0, b"l", 10, "", 9, -2, 10, "", 8, -2, 10, "", 0, 0)
    assert rga.insert_effect(0, b"l", (10, "x", 6), 6, [b"v"], "me", size=10)[6] == -5
    assert rga.set_effect(0, b"l", (10, "x", 5), 5, b"v", "me", size=10)[6] == 5
    apply(ks, "me", 20, {}, eff)
    apply(ks, "me", 30, {}, rga.insert_effect(0, b"l", (10, "me", 6), 5, [b"new"], "me", size=7))
    assert visible(ks) == [b"1", b"2", b"3", b"4", b"5", b"6", b"new", b"7"]
    assert e.where is None  # every hint was exact


def test_docs_example_timeline() -> None:
    """The timeline of docs/sections/lists.md."""
    c = Cluster(2)
    a, b = c[0], c[1]
    a.run("RPUSH", "q", "a", "b", "c")
    sync_from(c, 0, 0)
    ma, mb = len(a.emitted), len(b.emitted)
    assert a.run("LPOP", "q") == b"a"
    assert b.run("LPOP", "q") == b"a"
    assert a.run("LINSERT", "q", "AFTER", "b", "x") == 3
    assert b.run("LREM", "q", 0, "b") == 1
    a.run("LPUSH", "q", "h1")
    b.run("LPUSH", "q", "h2")
    for op in b.emitted[mb:]:
        a.node.apply_remote(op)
    for op in a.emitted[ma:]:
        b.node.apply_remote(op)
    first, second = (b"h2", b"h1") if (b.emitted[-1].hlc, b.node.origin) > (a.emitted[-1].hlc, a.node.origin) \
        else (b"h1", b"h2")
    assert lrange(a, "q") == lrange(b, "q") == [first, second, b"x", b"c"]
