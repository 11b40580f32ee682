"""crdtredis/atoms.py: objects of atoms leave the cyclic collector's sight when made.

`untracked` must untrack exactly what holds no object the collector follows (the
collector's own test for tuples), never anything else; `tracked` undoes it. The write
paths that use it must leave their records untracked on a compiled build, and a lean
counter that becomes a full one must be tracked again before it holds containers.
"""
from __future__ import annotations

import abc
import dataclasses
import gc
import os
import sys
from typing import Any

import pytest

from crdtredis import atoms
from crdtredis.commands import new_node
from crdtredis.config import default_config
from crdtredis.crdt.string_counter import LEAN_MAX, LEAN_SLOTS, CounterStr
from crdtredis.wire import fastdec

IMPLS = {"pure": (atoms.unchanged, atoms.unchanged)}
_NATIVE = atoms.native()
if _NATIVE is not None:
    IMPLS["compiled"] = _NATIVE
COMPILED = _NATIVE is not None and atoms.untracked is _NATIVE[0]


def test_the_compiled_module_is_used_when_the_build_is() -> None:
    """CI builds the compiled modules (Cython beside mypyc): there the write paths must
    get the compiled `untracked`, or the saving silently goes (CRDT_REDIS_PURE=1 builds
    none)."""
    if os.environ.get("CRDT_REDIS_PURE") or not fastdec.compiled():
        return
    assert COMPILED
    from crdtredis.crdt import string_counter
    assert type(string_counter.LEAN_MAKER).__module__ == "crdtredis._atoms_native"


def _atoms_tuple() -> tuple[Any, ...]:
    return (b"v" + os.urandom(4), 1 << 62, "origin", 1.5, None, -7)


@pytest.mark.parametrize("impl", sorted(IMPLS))
def test_untracked_takes_only_what_holds_nothing_to_follow(impl: str) -> None:
    untracked, tracked = IMPLS[impl]
    lean = untracked(_atoms_tuple())
    nested_lean = untracked((b"x", lean))
    keep = [
        (b"x", []),                       # a list
        (b"x", {"a": 1}),                 # a dict
        (b"x", (1, [])),                  # a tuple that holds a list
        (b"x", gc.collect.__self__),      # a module
        [b"x", []],                       # a list that holds a list
    ]
    for o in keep:
        assert gc.is_tracked(o)
        assert untracked(o) is o
        assert gc.is_tracked(o), o
    moved = impl == "compiled"
    assert gc.is_tracked(lean) is not moved
    assert gc.is_tracked(nested_lean) is not moved
    # Not only tuples: any object of atoms (a mutable one is its caller's to track again
    # before it takes a container, the module's rule).
    mutable = untracked([b"x", 1])
    assert gc.is_tracked(mutable) is not moved
    # Values are never touched, and tracking again is idempotent.
    assert lean[2] == "origin" and nested_lean[1] is lean and mutable == [b"x", 1]
    for o in (lean, mutable):
        assert tracked(o) is o
        tracked(o)
        assert gc.is_tracked(o)


@pytest.mark.parametrize("impl", sorted(IMPLS))
def test_a_lean_counter_is_tracked_again_before_it_holds_a_container(impl: str, monkeypatch: Any) -> None:
    from crdtredis.crdt import string_counter

    untracked, tracked = IMPLS[impl]
    monkeypatch.setattr(string_counter, "untracked", untracked)
    monkeypatch.setattr(string_counter, "tracked", tracked)
    monkeypatch.setattr(string_counter, "LEAN_MAKER", MAKERS[impl](CounterStr, LEAN_SLOTS))

    class Ctx:
        hlc = 5 << 16
        origin = "a"

    c = CounterStr.of_incr(3, Ctx())  # type: ignore[arg-type]
    assert gc.is_tracked(c) is (impl == "pure")
    c2 = CounterStr.of_tuple_incr((b"10", 1 << 16, "b"), 2, Ctx())  # type: ignore[arg-type]
    assert gc.is_tracked(c2) is (impl == "pure")
    for x in (c, c2):
        reg = x.reg  # the full form: a CounterReg with lists
        assert gc.is_tracked(x)
        gc.collect()
        assert x.reg is reg and x.value == reg.value
    assert c.value == b"3" and c2.value == b"12"


MAKERS: dict[str, Any] = {"pure": lambda cls, names: atoms.PySlotMaker(cls, names, atoms.unchanged)}
if _NATIVE is not None:
    MAKERS["compiled"] = atoms.slot_maker  # the compiled SlotMaker when the build is there


class Seven:
    __slots__ = ("a", "b", "c", "d", "e", "f", "g", "unset")


@pytest.mark.parametrize("impl", sorted(MAKERS))
def test_a_slot_maker_fills_the_slots_as_attribute_stores_do(impl: str) -> None:
    make7 = MAKERS[impl](Seven, tuple("abcdefg")).make7
    v = b"value" + os.urandom(4)
    before = sys.getrefcount(v)
    cls_refs = sys.getrefcount(Seven)  # each instance holds its heap class
    lean = make7(1, v, None, (), "o", 1.5, untracked_tuple := atoms.untracked((b"x", 2)))
    assert type(lean) is Seven and [getattr(lean, n) for n in "abcdefg"] == [1, v, None, (), "o", 1.5, untracked_tuple]
    assert not hasattr(lean, "unset")  # a slot not named stays unset, as after object.__new__
    assert gc.is_tracked(lean) is (impl == "pure")  # atoms only: untracked when compiled
    held = make7(1, v, None, [], "o", 1.5, 2)  # a list: must stay tracked either way
    assert gc.is_tracked(held) and held.d == []
    made = [make7(i, v, v, v, v, v, v) for i in range(100)]
    assert sys.getrefcount(v) == before + 2 + 600  # (lean and held hold one each)
    assert sys.getrefcount(Seven) == cls_refs + 102
    del made, lean, held
    assert sys.getrefcount(v) == before and sys.getrefcount(Seven) == cls_refs


class WithDict:
    x = 1


class WithWeakref:
    __slots__ = ("a", "b", "c", "d", "e", "f", "g", "__weakref__")


class Abstract(abc.ABC):
    __slots__ = ("a", "b", "c", "d", "e", "f", "g")

    @abc.abstractmethod
    def m(self) -> None: ...


@pytest.mark.parametrize("impl", sorted(MAKERS))
@pytest.mark.parametrize(("cls", "names"), [
    (Seven, tuple("abcdef")), (Seven, tuple("abcdefga")), (Seven, tuple("aabcdef")), (Seven, (*"abcdef", "nope")),
    (CounterStr, (*LEAN_SLOTS[:6], "value")), (WithDict, tuple("abcdefg")),
])
def test_a_slot_maker_refuses_what_is_not_seven_slots(impl: str, cls: type, names: tuple[str, ...]) -> None:
    with pytest.raises(TypeError):
        MAKERS[impl](cls, names)


@pytest.mark.parametrize("cls", [WithWeakref, Abstract])
def test_the_compiled_slot_maker_refuses_what_object_new_would_not_make_plain(cls: type) -> None:
    if "compiled" not in MAKERS:
        pytest.skip("atoms.pyx is not compiled in this build")
    with pytest.raises(TypeError):
        MAKERS["compiled"](cls, tuple("abcdefg"))


def _node(solo: bool) -> Any:
    node = new_node(dataclasses.replace(default_config(), replica_id="n1", peers=()))
    node.keyspace.solo = solo
    return node, node.new_client("t", "t", lambda: None)


@pytest.mark.parametrize("solo", [True, False], ids=["solo", "peers"])
def test_the_write_paths_leave_their_records_untracked(solo: bool) -> None:
    if not COMPILED:
        pytest.skip("atoms.pyx is not compiled in this build")
    node, client = _node(solo)
    for argv in ([b"SET", b"s", b"v"], [b"INCR", b"n"], [b"HSET", b"h", b"f", b"v"],
                 [b"SADD", b"t", b"m"], [b"ZADD", b"z", b"1.5", b"m"], [b"ZADD", b"z", b"2", b"m"]):
        node.execute(client, argv)
    data = node.keyspace.dbs[0].data
    assert data[b"s"][0] == b"v" and not gc.is_tracked(data[b"s"])
    if solo:  # with peers an APPEND makes a BitStr (partial writes that merge)
        node.execute(client, [b"APPEND", b"s", b"w"])
        assert data[b"s"][0] == b"vw" and not gc.is_tracked(data[b"s"])
    assert not gc.is_tracked(data[b"n"])  # a tuple (solo) or a lean CounterStr (peers)
    z = data[b"z"]
    assert list(z.index) == [(2.0, b"m")] and not any(gc.is_tracked(x) for x in z.index)
    if not solo:
        assert not gc.is_tracked(data[b"h"].fields[b"f"])
        assert not gc.is_tracked(data[b"t"].m[b"m"])
        assert not gc.is_tracked(z.recs[b"m"])
    node.execute(client, [b"INCR", b"n"])  # a second increment: still lean, untracked
    assert node.execute(client, [b"GET", b"n"]) == b"2" and not gc.is_tracked(data[b"n"])
    for _ in range(LEAN_MAX - 2):
        node.execute(client, [b"INCR", b"n"])
    assert not gc.is_tracked(data[b"n"])  # LEAN_MAX increments: lean
    node.execute(client, [b"INCR", b"n"])  # one more: the full counter, tracked again
    assert node.execute(client, [b"GET", b"n"]) == b"%d" % (LEAN_MAX + 1)
    assert gc.is_tracked(data[b"n"]) is (not solo)


@pytest.mark.parametrize("solo", [True, False], ids=["solo", "peers"])
def test_pipelined_runs_and_mset_leave_their_records_untracked(solo: bool) -> None:
    """runs.py's runs and MSET write their records in keyspace_batch.apply_local_all's
    compiled loop: those must be untracked too (a compiled call typed `(o: T) -> T` once
    handed back a fresh, tracked copy of what `untracked` untracked)."""
    if not COMPILED:
        pytest.skip("atoms.pyx is not compiled in this build")
    node, client = _node(solo)
    node.execute(client, [b"HSET", b"h", b"f0", b"v"])
    client.batching = True
    for cmds in ([[b"SET", b"s%d" % i, b"v"] for i in range(3)], [[b"INCR", b"n%d" % i] for i in range(3)],
                 [[b"HSET", b"h", b"f%d" % i, b"v"] for i in range(3)],
                 [[b"MSET", b"m%d" % i, b"v", b"p%d" % i, b"w"] for i in range(3)]):
        assert node.run_cmds(client, cmds, 0, len(cmds))[0] == 3
    node.batch_done()
    node.execute(client, [b"MSET", b"m9", b"v", b"s0", b"w"])
    data = node.keyspace.dbs[0].data
    records = [data[k] for k in (b"s0", b"s1", b"s2", b"m0", b"m2", b"p1", b"m9", b"n0", b"n2")]
    assert all(type(r) is tuple for r in records[:7]), records
    fields = list(data[b"h"].fields.values())
    assert all(type(f) is (bytes if solo else tuple) for f in fields), fields
    tracked = [x for x in records + fields if gc.is_tracked(x)]
    assert not tracked
