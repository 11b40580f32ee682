"""Shape checks of effects from peers (crdt/schema.py, replication/inbox.py; issue 13):
every effect code has one, the ops commands make pass them, an apply function never raises
on an effect its check accepts (whatever state it meets), a malformed effect anywhere in a
batch refuses all of the batch, and an apply that raises anyway leaves nothing of the
batch in memory (the process is gone) nor in the log."""
from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crdtredis.commands import load_all
from crdtredis.crdt import codes, hll
from crdtredis.crdt.schema import (
    BYTES,
    DELTA,
    HLC,
    INT64,
    SCORE,
    STR,
    UINT32,
    Kind,
    Shape,
    check_effect,
    effect_checks,
    fixed,
    ints,
    one_of,
    optional,
    repeated,
)
from crdtredis.crdt.string_bits import BITINCR, BITW, PFADD, PFMERGE, pack_pairs
from crdtredis.keyspace import CREATE, typed_codes, unchecked_codes
from crdtredis.op import Op
from crdtredis.replication import inbox
from crdtredis.replication.inbox import BadBatch, apply_batch, validate
from tests.support.sim import Replica
from tests.support.state import dump_keyspace
from tests.test_persistence import open_node, run

MAX_BULK = 512 * 1024 * 1024
load_all()  # every command module, and through them every CRDT module with its effects


def test_every_effect_code_has_a_shape_check() -> None:
    # A module that registers an effect without `check=` (or register_effect_check) leaves
    # its code refused from peers; this keeps that from shipping.
    assert unchecked_codes() == []
    assert check_effect((99, 0, b"k"), MAX_BULK) is not None  # unknown code: no check


@pytest.mark.parametrize(("eff", "words"), [
    ((codes.SET, 0, b"k", 5, 0, None), "argument 0 must be bytes"),
    ((codes.SET, 0, b"k", [b"a"], 0, None), "argument 0 must be bytes"),
    ((codes.SET, 0, b"k", b"v", 7, None), "argument 1 must be one of 0/1/2"),
    ((codes.SET, 0, b"k", b"v", 0), "2 arguments, expected 3"),
    ((codes.INCR, 0, b"k", 1.5), "argument 0 must be a 64-bit integer or a decimal"),
    ((codes.INCR, 0, b"k", 1 << 70), "argument 0 must be"),
    ((codes.EXPIRE, 0, b"k", "soon"), "argument 0 must be a 64-bit integer or None"),
    ((60, 0, b"z", b"m", float("nan")), "not NaN"),
    ((60, 0, b"z", b"m"), "a multiple of 2"),
    ((50, 0, b"h", b"f", 3), "argument 1 must be bytes"),
    ((40, 0, b"s", b"a", (b"b",)), "argument 1 must be bytes"),
    ((20, 0, b"l", -1, "", 0, -1, b"a"), "HLC timestamp"),
    ((20, 0, b"l", 1 << 63, "", 0, -1, b"a"), "HLC timestamp"),
    ((21, 0, b"l", 5, "o.1", 1 << 32, 0), "0..2^32-1"),
    ((22, 0, b"l", 5, 7, 0, 0, b"v"), "argument 1 must be a string"),
    ((BITW, 0, b"b", 1 << 40, 1, 1), "beyond proto-max-bulk-len"),
    ((BITW, 0, b"b", 3, 4, 16), "does not fit 4 bits"),
    ((BITINCR, 0, b"b", 0, 65, 1, 1, 0), "argument 1 must be an integer in 1..64"),
    ((PFADD, 0, b"h", b"\x00\x00", 3000), "3 per pair"),
    ((PFADD, 0, b"h", pack_pairs([(5, 60)]), 3000), "register count 60"),
    ((PFMERGE, 0, b"h", b"\x01" * 10, True, 3000), "registers"),
    ((PFMERGE, 0, b"h", b"\x40" * hll.REGISTERS, True, 3000), "registers"),
    ((95, 0, b"lib", 12), "argument 0 must be bytes"),
    ((codes.DEL, 0, b"k", b"extra"), "1 arguments, expected 0"),
])
def test_malformed_effects_are_named(eff: tuple[Any, ...], words: str) -> None:
    why = check_effect(eff, MAX_BULK)
    assert why is not None and words in why, why


def test_ops_made_by_commands_pass_their_checks() -> None:
    # Every simulated replica checks each op it makes (tests/support/sim.py), so the
    # property tests of every type cover this too; here one of each command family.
    r = Replica("me")
    for argv in (
        ("SET", "s", "v", "EX", "100"), ("SET", "s", "w", "KEEPTTL"), ("INCRBYFLOAT", "f", "1.5"),
        ("INCRBY", "n", "-3"), ("APPEND", "s", "x"), ("SETRANGE", "s", "5", "yy"), ("GETEX", "s", "PERSIST"),
        ("RPUSH", "l", "a", "b", "c"), ("LPUSH", "l", "z"), ("LINSERT", "l", "BEFORE", "b", "x"),
        ("LSET", "l", "0", "q"), ("LREM", "l", "0", "a"), ("LTRIM", "l", "0", "1"), ("LPOP", "l"),
        ("SADD", "st", "a", "b"), ("SREM", "st", "a"), ("SPOP", "st"), ("SMOVE", "st", "st2", "b"),
        ("HSET", "h", "f", "1", "g", "x"), ("HINCRBY", "h", "f", "2"), ("HINCRBYFLOAT", "h", "f", "0.5"),
        ("HDEL", "h", "g"), ("ZADD", "z", "1", "a", "inf", "b"), ("ZINCRBY", "z", "2", "a"), ("ZREM", "z", "b"),
        ("ZPOPMIN", "z"), ("SETBIT", "b", "100", "1"), ("BITFIELD", "b", "SET", "i8", "0", "-5", "INCRBY",
                                                     "u4", "3", "20"),
        ("PFADD", "p", "a", "b"), ("PFCOUNT", "p"), ("PFADD", "p2", "c"), ("PFMERGE", "p3", "p", "p2"),
        ("PFDEBUG", "TODENSE", "p"), ("EXPIRE", "st2", "100"), ("PERSIST", "st2"), ("RENAME", "h", "h2"),
        ("COPY", "z", "z2"), ("DEL", "l"), ("SUNIONSTORE", "u", "st2", "st"), ("FLUSHDB",),
        ("FUNCTION", "LOAD", "#!lua name=lib\nredis.register_function('f', function() return 1 end)"),
        ("FUNCTION", "DELETE", "lib"),
        ("FUNCTION", "LOAD", "#!lua name=lib2\nredis.register_function('g', function() return 1 end)"),
        ("FUNCTION", "FLUSH"),
        ("XADD", "x", "*", "f", "v"), ("XADD", "x", "MAXLEN", "1", "*", "g", "w"), ("XTRIM", "x", "MAXLEN", "0"),
        ("XADD", "y", "5-1", "f", "v"), ("XDEL", "y", "5-1"), ("XSETID", "y", "9-9", "ENTRIESADDED", "9",
                                                               "MAXDELETEDID", "5-1"),
        ("XADD", "y", "10-1", "a", "b"), ("XGROUP", "CREATE", "y", "g", "0"),
        ("XGROUP", "CREATECONSUMER", "y", "g", "c2"), ("XREADGROUP", "GROUP", "g", "c", "STREAMS", "y", ">"),
        ("XCLAIM", "y", "g", "c2", "0", "10-1"), ("XACK", "y", "g", "10-1"), ("XGROUP", "SETID", "y", "g", "$"),
        ("XGROUP", "DELCONSUMER", "y", "g", "c"), ("COPY", "y", "y2"), ("XGROUP", "DESTROY", "y", "g"),
    ):
        reply = r.run(*argv)
        assert not (hasattr(reply, "message") and "internal" in reply.message), (argv, reply)
    seen = {eff[0] & ~CREATE for op in r.emitted for eff in op.effects}
    assert seen == set(effect_checks())
    for op in r.emitted:
        for eff in op.effects:
            assert check_effect(eff, MAX_BULK) is None, eff


# ---- apply never raises on what its check accepts --------------------------------------------------
KEYS = [b"k1", b"k2", b"k3"]
PRESTATE = st.sampled_from([
    ("SET", "k1", "10"), ("INCRBY", "k2", "5"), ("RPUSH", "k1", "a", "b"), ("LPUSH", "k3", "x"),
    ("SADD", "k2", "m", "n"), ("HSET", "k3", "f", "1"), ("ZADD", "k1", "2", "m"), ("SETBIT", "k2", "7", "1"),
    ("PFADD", "k3", "a"), ("EXPIRE", "k1", "100"), ("DEL", "k2"), ("LPOP", "k1"),
])


@st.composite
def arg(draw: Any, kind: Any) -> Any:
    if kind.name == "bytes":
        return draw(st.one_of(st.sampled_from(kind.examples), st.binary(max_size=6)))
    return draw(st.sampled_from(kind.examples))


@st.composite
def effect(draw: Any) -> tuple[Any, ...]:
    checks = effect_checks()
    code = draw(st.sampled_from(sorted(checks)))
    shape = checks[code]
    assert isinstance(shape, Shape)
    key = draw(st.sampled_from(KEYS))
    if code == PFADD:
        pairs = draw(st.lists(st.tuples(st.integers(0, hll.REGISTERS - 1), st.integers(1, hll.HLL_Q + 1)),
                              max_size=40))
        args: list[Any] = [pack_pairs(pairs), draw(st.sampled_from([0, 3000]))]
    elif code == PFMERGE:
        regs = draw(st.sampled_from([b"", bytes(hll.REGISTERS), bytes([5]) * hll.REGISTERS,
                                     bytes(range(64)) * (hll.REGISTERS // 64)]))
        args = [regs, draw(st.booleans()), 3000]
    elif code in (BITW, BITINCR):
        width = draw(st.integers(0 if code == BITW else 1, 64))
        args = [draw(st.integers(0, 200)), width]
        if code == BITW:
            args.append(draw(st.integers(0, (1 << width) - 1)))
        else:
            args += [draw(st.booleans()), draw(st.sampled_from([0, 1, -5, 1 << 62, -(1 << 63)])),
                     draw(st.integers(0, 2))]
    else:
        args = [draw(arg(k)) for k in shape.head]
        groups = draw(st.integers(shape.min_groups, 3)) if shape.group else 0
        for _ in range(groups):
            args += [draw(arg(k)) for k in shape.group]
    c = code | CREATE if code in typed_codes() and draw(st.booleans()) else code
    return (c, 0, key, *args)


# ---- a shape's compiled `fast` agrees with its full check --------------------------------------
WRONG = [None, True, False, 0, 1, -1, 1 << 63, -(1 << 63) - 1, 1 << 32, (1 << 32) - 1, 2.5, -0.0, float("nan"),
         float("inf"), "", "s", b"", b"b", (b"t",), [1], bytearray(b"x")]


# Shapes no module registers today, for the kinds they would compile.
SYNTHETIC = {1000: fixed(one_of(1, 2, 5)), 1001: repeated(head=(optional(ints(-3, 7)),), group=(STR, SCORE)),
             1002: repeated(group=(BYTES,), min_groups=2), 1003: fixed(BYTES, extra=lambda _e, _m: None)}


def _fast_cases() -> list[tuple[int, Shape, tuple[Any, ...]]]:
    """Every shape that has a `fast`, with effects of the hot length (the head and one
    group) made valid but for one argument, set to each example of every kind and each
    value of WRONG in turn; then one argument fewer and one more."""
    out: list[tuple[int, Shape, tuple[Any, ...]]] = []
    pool = [*WRONG, *range(-4, 10), *(x for k in (BYTES, STR, SCORE, HLC, INT64, UINT32, DELTA) for x in k.examples)]
    for code, shape in sorted({**effect_checks(), **SYNTHETIC}.items()):
        if not isinstance(shape, Shape) or shape.fast is None:
            continue
        kinds = [*shape.head, *shape.group]
        base = [k.examples[0] for k in kinds]
        out.append((code, shape, (code, 0, b"k", *base)))
        for i in range(len(kinds)):
            for x in pool:
                out.append((code, shape, (code, 0, b"k", *base[:i], x, *base[i + 1:])))
        out.append((code, shape, (code, 0, b"k", *base[:-1])))
        out.append((code, shape, (code, 0, b"k", *base, b"x")))
    return out


def test_a_shapes_fast_accepts_only_what_its_full_check_accepts() -> None:
    cases = _fast_cases()
    assert len({c for c, _, _ in cases}) >= 20
    for code, shape, eff in cases:
        assert shape.fast is not None
        ok = shape.general(eff, MAX_BULK) is None
        if shape.fast(eff):
            assert ok, (code, eff)
        elif shape.fast.__name__ == "compiled_fast":  # (a module's own fast may take less: SET with a TTL)
            # A valid effect of the hot shape (one group, or the head alone) is fast's to
            # take, or peers pay the general path for their most common effects.
            assert not (ok and len(eff) == 3 + len(shape.head) + len(shape.group)), (code, eff)


def test_fast_is_compiled_only_where_one_group_is_the_whole_check() -> None:
    assert SYNTHETIC[1000].fast is not None and SYNTHETIC[1001].fast is not None
    assert SYNTHETIC[1002].fast is None  # one group is too few
    assert SYNTHETIC[1003].fast is None  # `extra` has no expr
    assert repeated(group=(Kind("odd", lambda v, _m: v % 2 == 1),)).fast is None  # a kind without expr


def test_the_hot_effects_have_a_compiled_fast() -> None:
    checks = effect_checks()
    for code, eff in ((40, (40, 0, b"s", b"m")), (50, (50, 0, b"h", b"f", b"v")), (60, (60, 0, b"z", b"m", 1.5)),
                      (20, (20, 0, b"l", 5, "o.1", 0, -1, b"a")), (41, (41, 0, b"s", b"m"))):
        shape = checks[code]
        assert isinstance(shape, Shape) and shape.fast is not None and shape.fast(eff), code
        assert shape.general(eff, MAX_BULK) is None


READS = {
    b"string": [("GET",), ("STRLEN",), ("GETRANGE", "0", "-1"), ("BITCOUNT",), ("PFCOUNT",)],
    b"list": [("LRANGE", "0", "-1"), ("LLEN",), ("LINDEX", "0")],
    b"set": [("SMEMBERS",), ("SCARD",), ("SRANDMEMBER", "2")],
    b"hash": [("HGETALL",), ("HLEN",)],
    b"zset": [("ZRANGE", "0", "-1", "WITHSCORES"), ("ZCARD",)],
}


@settings(max_examples=int(os.environ.get("CRDT_CHECK_EXAMPLES", "300")), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(solo=st.booleans(), pre=st.lists(PRESTATE, max_size=8),
       ops=st.lists(st.lists(effect(), min_size=1, max_size=3), min_size=1, max_size=5))
def test_apply_never_raises_on_effects_their_checks_accept(solo: bool, pre: list[Any],
                                                         ops: list[list[Any]]) -> None:
    r = Replica("me")
    r.node.set_solo(solo)
    for argv in pre:
        r.run(*argv)
    hlc = (time.time_ns() // 1_000_000) << 16
    batch = []
    seq = 1
    for effs in ops:
        effs = [e for e in effs if check_effect(e, MAX_BULK) is None]
        if effs:
            batch.append(Op("p.1", seq, hlc + seq * 8, {}, effs))
            seq += len(effs)
    if not batch:
        return
    validate(r.node, batch)
    for op in batch:
        r.node.apply_remote(op)  # must not raise
    for key in KEYS:
        t = r.run("TYPE", key)
        for cmd, *rest in READS.get(getattr(t, "status", b"none"), []):
            reply = r.run(cmd, key, *rest)
            msg = getattr(reply, "message", "")
            assert "internal error" not in msg, (cmd, key, msg)
            if cmd == "GET":
                assert reply is None or type(reply) is bytes


@pytest.mark.parametrize("solo", [True, False], ids=["solo", "peers"])
@pytest.mark.parametrize("code", [40, 50, 60], ids=["sadd", "hset", "zadd"])
def test_an_add_of_nothing_leaves_no_empty_key(code: int, solo: bool) -> None:
    """A peer's SADD/HSET/ZADD effect naming no member passes its check (no local command
    makes one, but a repeated group may be empty): it must not leave an empty collection
    behind (Redis never shows one), whatever shortcut the apply takes past
    Keyspace.settle."""
    r = Replica("me")
    r.node.set_solo(solo)
    hlc = (time.time_ns() // 1_000_000) << 16
    eff = (code, 0, b"k")
    assert check_effect(eff, MAX_BULK) is None
    r.node.apply_remote(Op("p.1", 1, hlc, {}, [eff]))
    assert r.run("EXISTS", "k") == 0 and r.run("DBSIZE") == 0 and r.run("TYPE", "k") == b"none"


# ---- whole batches ---------------------------------------------------------------------------------
def test_a_malformed_effect_refuses_the_whole_batch() -> None:
    r = Replica("me")
    hlc = (time.time_ns() // 1_000_000) << 16
    good = Op("p.1", 1, hlc, {}, [(codes.SET, 0, b"a", b"1", 0, None)])
    bad = Op("p.1", 2, hlc + 1, {}, [(codes.SET, 0, b"b", b"2", 0, None), (40, 0, b"s", 7)])
    with pytest.raises(BadBatch, match="argument 0 must be bytes"):
        apply_batch(r.node, [good, bad])
    assert r.node.keyspace.vv.get("p.1") is None
    assert r.run("GET", "a") is None


class _Died(Exception):
    pass


async def test_an_apply_that_raises_anyway_leaves_nothing_of_the_batch(tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    import crdtredis.keyspace as keyspace  # (its apply table: one function made buggy)

    node, p = await open_node(tmp_path, peers=("http://127.0.0.1:1",))
    node.set_solo(False)
    run(node, "SET", "before", "1")
    original = keyspace._APPLY[40]

    def buggy(ks: Any, db: Any, eff: Any, ctx: Any) -> None:
        original(ks, db, eff, ctx)
        if b"boom" in eff[3:]:
            raise RuntimeError("a bug in an apply function")

    def die(code: int) -> None:
        raise _Died(code)

    monkeypatch.setitem(keyspace._APPLY, 40, buggy)
    monkeypatch.setattr(inbox, "die", die)
    hlc = (time.time_ns() // 1_000_000) << 16
    ops = [Op("p.1", 1, hlc, {}, [(codes.SET, 0, b"a", b"1", 0, None)]),
           Op("p.1", 2, hlc + 1, {}, [(40, 0, b"s", b"x"), (40, 0, b"s", b"boom"), (codes.SET, 0, b"c", b"3", 0, None)])]
    with pytest.raises(_Died) as died:
        apply_batch(node, ops)
    assert died.value.args == (inbox.EXIT_APPLY_BUG,)
    # The process is gone at this point; what it left on disk is the state before the batch.
    p.release()
    monkeypatch.undo()
    node2, p2 = await open_node(tmp_path, peers=("http://127.0.0.1:1",))
    try:
        assert run(node2, "GET", "before") == b"1"
        assert run(node2, "EXISTS", "a", "s", "c") == 0
        assert node2.keyspace.vv.get("p.1") is None
        assert {k for _db, k in dump_keyspace(node2)} == {b"before"}
    finally:
        await p2.stop()
