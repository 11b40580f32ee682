"""String and counter commands, driven through Node in-process.

Replies were checked against a real redis-server 7.0.15; the CRDT tests at the end exchange
hand-made or captured ops between replicas and check both delivery orders converge.
"""
from __future__ import annotations

import dataclasses
import time
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from crdtredis import errors, keyspace_batch
from crdtredis.commands import new_node
from crdtredis.config import default_config
from crdtredis.crdt import codes
from crdtredis.node import Node
from crdtredis.op import Op
from crdtredis.reply import OK, ErrorReply, Map

FAR_S = 4102444800  # 2100-01-01
FAR_MS = FAR_S * 1000 + 123


def make_node(replica_id: str = "t", peers: tuple[str, ...] = ()) -> Node:
    return new_node(dataclasses.replace(default_config(), replica_id=replica_id, peers=peers))


class R:
    """A client of a node: r("SET", "k", 1) -> reply value."""

    def __init__(self, node: Node) -> None:
        self.node = node
        self.c = node.new_client("", "", lambda: None)

    def __call__(self, *args: Any) -> Any:
        argv = [a if isinstance(a, bytes) else str(a).encode() for a in args]
        return self.node.execute(self.c, argv)


def from_peer(peer: Node, nodes: list[Node], *argv: Any) -> None:
    """`argv` run at `peer`, then its ops applied at each of `nodes` (a concurrent write)."""
    ops: list[Op] = []
    peer.op_listeners.append(ops.append)
    R(peer)(*argv)
    peer.op_listeners.remove(ops.append)
    for n in nodes:
        for op in ops:
            n.apply_remote(op)


def err(msg: str) -> ErrorReply:
    return ErrorReply(msg)


def now_ms() -> int:
    return int(time.time() * 1000)


@pytest.fixture
def node() -> Node:
    return make_node()


@pytest.fixture
def r(node: Node) -> R:
    return R(node)


def deadline(node: Node, key: bytes, db: int = 0) -> Any:
    return node.keyspace.deadline(node.keyspace.dbs[db], key)


# ---- GET / SET -----------------------------------------------------------------------------
def test_get_set_basic_and_binary(r: R) -> None:
    assert r("GET", "k") is None
    assert r("SET", "k", "v") == OK
    assert r("GET", "k") == b"v"
    assert r("SET", b"bin", b"\x00\xff\r\n") == OK
    assert r("GET", b"bin") == b"\x00\xff\r\n"
    assert r("SET", "e", "") == OK and r("GET", "e") == b"" and r("EXISTS", "e") == 1


def test_get_set_arity_errors(r: R) -> None:
    assert r("GET") == err(errors.wrong_arity("get"))
    assert r("GET", "a", "b") == err(errors.wrong_arity("get"))
    assert r("SET", "k") == err(errors.wrong_arity("set"))


def test_set_nx_xx(r: R) -> None:
    assert r("SET", "k", "v", "NX") == OK
    assert r("SET", "k", "w", "NX") is None
    assert r("SET", "k2", "v", "XX") is None and r("EXISTS", "k2") == 0
    assert r("SET", "k", "w", "XX") == OK and r("GET", "k") == b"w"
    assert r("SET", "k", "v", "NX", "XX") == err(errors.SYNTAX)
    assert r("SET", "k", "v", "xx", "nx") == err(errors.SYNTAX)
    assert r("SET", "k", "v", "NX", "NX") is None  # a repeated flag is fine in Redis


def test_set_get_option(r: R) -> None:
    assert r("SET", "k", "v", "GET") is None
    assert r("SET", "k", "w", "GET") == b"v"
    assert r("SET", "k", "x", "NX", "GET") == b"w" and r("GET", "k") == b"w"  # NX GET: 7.0
    assert r("SET", "n", "x", "NX", "GET") is None and r("GET", "n") == b"x"
    assert r("SET", "nokey", "y", "XX", "GET") is None and r("EXISTS", "nokey") == 0
    assert r("SET", "k", "z", "GET", "GET") == b"w"


def test_set_ex_px_exat_pxat(r: R, node: Node) -> None:
    t0 = now_ms()
    assert r("SET", "k", "v", "EX", 100) == OK
    assert t0 + 100_000 <= deadline(node, b"k") <= now_ms() + 100_000
    assert r("SET", "k", "v", "PX", 5000) == OK
    assert t0 + 5000 <= deadline(node, b"k") <= now_ms() + 5000
    assert r("SET", "k", "v", "EXAT", FAR_S) == OK and deadline(node, b"k") == FAR_S * 1000
    assert r("SET", "k", "v", "PXAT", FAR_MS) == OK and deadline(node, b"k") == FAR_MS
    assert r("SET", "k", "v") == OK and deadline(node, b"k") is None
    assert r("SET", "k", "v", "ex", 10, "EX", 20) == OK  # the last one wins
    assert deadline(node, b"k") >= t0 + 20_000


def test_set_deadline_in_the_past_deletes(r: R, node: Node) -> None:
    r("SET", "p", "old")
    assert r("SET", "p", "v", "EXAT", 1) == OK
    assert r("GET", "p") is None and r("EXISTS", "p") == 0
    assert b"p" not in node.keyspace.dbs[0].data
    r("SET", "p", "old")
    assert r("SET", "p", "v", "PXAT", 1, "GET") == b"old" and r("EXISTS", "p") == 0


def test_a_relative_ttl_is_never_past_when_the_clock_ticks_during_the_command(r: R, node: Node) -> None:
    """SET/SETEX/PSETEX/GETEX with EX or PX judge "already expired" against the reading of
    the clock the deadline was made from: a clock that moves 1 ms per reading (a command
    that straddles a millisecond) still creates the key with its TTL, which then expires on
    access and counts in expired_keys, as in Redis."""
    ticks = iter(range(1_000_000, 10_000_000))
    node.clock = lambda: next(ticks)
    for argv in (["SET", "k", "v", "PX", 1], ["PSETEX", "k", 1, "v"], ["SETEX", "k", 1, "v"]):
        r("DEL", "k")
        assert r(*argv) == OK and b"k" in node.keyspace.dbs[0].data, argv
    r("SET", "g", "v")
    assert r("GETEX", "g", "PX", 1) == b"v" and deadline(node, b"g") is not None
    before = node.expired_keys
    node.clock = lambda: 20_000_000
    assert r("GET", "g") is None and node.expired_keys == before + 1


def test_set_keepttl(r: R, node: Node) -> None:
    r("SET", "k", "v", "PXAT", FAR_MS)
    assert r("SET", "k", "w", "KEEPTTL") == OK and deadline(node, b"k") == FAR_MS
    assert r("SET", "k", "x") == OK and deadline(node, b"k") is None
    assert r("SET", "n", "v", "KEEPTTL") == OK and deadline(node, b"n") is None
    for bad in (["KEEPTTL", "EX", 10], ["EX", 10, "KEEPTTL"], ["PX", 10, "KEEPTTL"]):
        assert r("SET", "k", "v", *bad) == err(errors.SYNTAX)


@pytest.mark.parametrize("opts,msg", [
    (["EX", 0], errors.invalid_expire("set")),
    (["EX", -1], errors.invalid_expire("set")),
    (["PX", 0], errors.invalid_expire("set")),
    (["EXAT", 0], errors.invalid_expire("set")),
    (["PXAT", -1], errors.invalid_expire("set")),
    (["EX", "abc"], errors.NOT_INTEGER),
    (["PX", "1.5"], errors.NOT_INTEGER),
    (["EX", ""], errors.NOT_INTEGER),
    (["EX", "9223372036854775807"], errors.invalid_expire("set")),
    (["PX", "9223372036854775807"], errors.invalid_expire("set")),
    (["EX", "9223372036854775808"], errors.NOT_INTEGER),
    (["EX", "92233720368547758"], errors.invalid_expire("set")),
    (["EXAT", "9223372036854775807"], errors.invalid_expire("set")),
    (["EX", 10, "PX", 10], errors.SYNTAX),
    (["EX", 10, "EXAT", 10], errors.SYNTAX),
    (["FOO"], errors.SYNTAX),
    (["NX", "FOO"], errors.SYNTAX),
    (["10"], errors.SYNTAX),
    (["EX"], errors.SYNTAX),
])
def test_set_errors_leave_no_key(r: R, opts: list[Any], msg: str) -> None:
    assert r("SET", "k", "v", *opts) == err(msg)
    assert r("EXISTS", "k") == 0


def test_set_pxat_near_llong_max_is_accepted(r: R, node: Node) -> None:
    assert r("SET", "k", "v", "PXAT", "9223372036854775807") == OK
    assert deadline(node, b"k") == (1 << 63) - 1


def test_setnx_setex_psetex(r: R, node: Node) -> None:
    assert r("SETNX", "k", "v") == 1 and r("SETNX", "k", "w") == 0 and r("GET", "k") == b"v"
    assert r("SETEX", "s", 100, "v") == OK and r("GET", "s") == b"v"
    assert now_ms() + 99_000 <= deadline(node, b"s") <= now_ms() + 100_000
    assert r("SETEX", "s", 0, "v") == err(errors.invalid_expire("setex"))
    assert r("SETEX", "s", "abc", "v") == err(errors.NOT_INTEGER)
    assert r("SETEX", "s", "9223372036854775807", "v") == err(errors.invalid_expire("setex"))
    assert r("PSETEX", "p", 100_000, "v") == OK and r("GET", "p") == b"v"
    assert r("PSETEX", "p", -10, "v") == err(errors.invalid_expire("psetex"))
    assert r("SETEX", "s", 1) == err(errors.wrong_arity("setex"))


def test_getset_clears_ttl(r: R, node: Node) -> None:
    assert r("GETSET", "k", "v") is None
    assert r("GETSET", "k", "w") == b"v"
    r("SET", "t", "v", "PXAT", FAR_MS)
    assert r("GETSET", "t", "w") == b"v" and deadline(node, b"t") is None


def test_getdel(r: R) -> None:
    r("SET", "k", "v")
    assert r("GETDEL", "k") == b"v" and r("GETDEL", "k") is None and r("EXISTS", "k") == 0


def test_getex(r: R, node: Node) -> None:
    r("SET", "k", "v")
    assert r("GETEX", "k") == b"v" and deadline(node, b"k") is None
    assert r("GETEX", "k", "EX", 100) == b"v" and deadline(node, b"k") >= now_ms() + 99_000
    assert r("GETEX", "k", "PXAT", FAR_MS) == b"v" and deadline(node, b"k") == FAR_MS
    assert r("GETEX", "k", "EXAT", FAR_S) == b"v" and deadline(node, b"k") == FAR_S * 1000
    assert r("GETEX", "k", "PERSIST") == b"v" and deadline(node, b"k") is None
    assert r("GETEX", "nokey", "EX", 10) is None and r("EXISTS", "nokey") == 0
    assert r("GETEX", "k", "EXAT", 1) == b"v" and r("EXISTS", "k") == 0


def test_getex_errors(r: R) -> None:
    r("SET", "k", "v")
    assert r("GETEX", "k", "EX", 0) == err(errors.invalid_expire("getex"))
    assert r("GETEX", "k", "PX", "9223372036854775807") == err(errors.invalid_expire("getex"))
    assert r("GETEX", "k", "EX", "abc") == err(errors.NOT_INTEGER)
    for bad in (["EX"], ["EX", 10, "PX", 10], ["EX", 10, "PERSIST"], ["PERSIST", "EX", 10], ["KEEPTTL"],
                ["NX"], ["GET"], ["FOO"]):
        assert r("GETEX", "k", *bad) == err(errors.SYNTAX)
    assert r("GETEX", "nokey", "EX", 0) is None  # the key is looked up before the time is checked
    assert r("GETEX", "nokey", "FOO") == err(errors.SYNTAX)


def test_mget_mset_msetnx(r: R, node: Node) -> None:
    ops: list[Op] = []
    node.op_listeners.append(ops.append)
    assert r("MSET", "a", 1, "b", 2, "c", 3) == OK
    assert len(ops) == 1 and [e[0] for e in ops[0].effects] == [codes.SET] * 3
    assert r("MGET", "a", "b", "c", "nokey") == [b"1", b"2", b"3", None]
    assert r("MSET", "a", 1, "b") == err(errors.wrong_arity("mset"))
    assert r("MSET", "a", 10, "a", 20) == OK and r("GET", "a") == b"20"
    assert r("MSETNX", "x", 1, "y", 2) == 1
    assert r("MSETNX", "y", 3, "z", 4) == 0 and r("EXISTS", "z") == 0
    assert r("MSETNX", "q", 1, "q", 2) == 1 and r("GET", "q") == b"2"
    assert r("MSETNX", "p", 1, "q") == err(errors.wrong_arity("msetnx"))
    r("SET", "t", "v", "PXAT", FAR_MS)
    assert r("MSET", "t", "w") == OK and deadline(node, b"t") is None


_ALL_IMPLS = ["py"] + (["native"] if keyspace_batch.compiled() else [])


@pytest.fixture(params=_ALL_IMPLS)
def emit_all_impl(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """MSET's bulk apply, both as Python and as the compiled copy when it was built."""
    native = keyspace_batch._NATIVE
    monkeypatch.setattr(keyspace_batch, "apply_local_all", keyspace_batch.apply_local_all_py
                        if request.param == "py" else native.apply_local_all_py)
    return str(request.param)


def test_mset_stamps_each_key_as_its_own_set_would(emit_all_impl: str) -> None:
    """MSET emits its SETs in one go (Node._emit_all): each key still gets the seq and HLC
    one `_emit` after the other gives it, and the clock's vector and dirty count end where
    they would."""
    node = make_node("t", ("http://x",))
    r = R(node)
    ops: list[Op] = []
    node.op_listeners.append(ops.append)
    ks = node.keyspace
    dirty = ks.dirty
    assert r("MSET", "a", 1, "b", 2, "a", 3, "c", 4) == OK
    (op,) = ops
    assert [e[2] for e in op.effects] == [b"a", b"b", b"a", b"c"]
    assert ks.vv[op.origin] == op.seq + 3 and ks.vh[op.origin] == op.hlc + 3
    assert ks.dirty == dirty + 4 and node.hlc.last >= op.hlc + 3
    data = ks.dbs[0].data
    assert data[b"a"][:2] == (b"3", op.hlc + 2) and data[b"b"][:2] == (b"2", op.hlc + 1)
    assert data[b"c"][:2] == (b"4", op.hlc + 3)
    assert r("SET", "d", 5) == OK and ops[-1].seq == op.seq + 4 and ops[-1].hlc > op.hlc + 3
    # A peer applying the op ends where the origin is.
    peer = make_node("p", ("http://x",))
    assert peer.apply_remote(op)
    assert {k: v[:2] for k, v in peer.keyspace.dbs[0].data.items()} == \
        {k: v[:2] for k, v in data.items() if k != b"d"}


_SET_EFFECTS = [keyspace_batch.set_effects_py] + ([keyspace_batch._NATIVE.set_effects_py]
                                                  if keyspace_batch.compiled() else [])


@pytest.mark.parametrize("set_effects", _SET_EFFECTS)
@settings(max_examples=300, deadline=None)
@given(dbi=st.integers(min_value=0, max_value=15),
       pairs=st.lists(st.tuples(st.binary(max_size=8), st.binary(max_size=8)), min_size=1, max_size=12))
def test_mset_effects_are_one_set_per_key_and_value(set_effects: Any, dbi: int,
                                                    pairs: list[tuple[bytes, bytes]]) -> None:
    """keyspace_batch.set_effects (Python and compiled): MSET's effects are what `SET key
    value` emits for each pair, in argv's order (repeated keys included)."""
    argv = [b"MSET", *[x for p in pairs for x in p]]
    want = [(codes.SET, dbi, k, v, codes.TTL_CLEAR, None) for k, v in pairs]
    got = set_effects(dbi, argv)
    assert got == want and all(type(e) is tuple for e in got)


def test_mset_joining_a_read_batchs_open_op_stamps_as_emit_would(emit_all_impl: str) -> None:
    """In a read batch the writes share one op (MERGEABLE): an MSET after a SET appends all
    its SETs to that open op in one call, each with the seq and HLC that one `_emit` after
    the other gives it; a peer applying the op ends where the origin is."""
    node = make_node("t", ("http://x",))
    client = node.new_client("a:1", "b:2", lambda: None)
    client.batching = True
    ops: list[Op] = []
    node.op_listeners.append(ops.append)
    ks = node.keyspace
    dirty = ks.dirty
    assert node.execute(client, [b"SET", b"x", b"0"]) == OK
    op = node._group
    assert op is not None and not ops  # left open for the batch's next write
    assert node.execute(client, [b"MSET", b"a", b"1", b"b", b"2", b"a", b"3"]) == OK
    assert node._group is op
    node.batch_done()
    assert ops == [op] and [e[2] for e in op.effects] == [b"x", b"a", b"b", b"a"]
    assert ks.vv[op.origin] == op.seq + 3 and ks.vh[op.origin] == op.hlc + 3
    assert ks.dirty == dirty + 4 and node.hlc.last >= op.hlc + 3
    data = ks.dbs[0].data
    assert data[b"x"][:2] == (b"0", op.hlc) and data[b"b"][:2] == (b"2", op.hlc + 2)
    assert data[b"a"][:2] == (b"3", op.hlc + 3)
    assert client.last_seq == op.seq + 3
    peer = make_node("p", ("http://x",))
    assert peer.apply_remote(op)
    assert {k: v[:2] for k, v in peer.keyspace.dbs[0].data.items()} == {k: v[:2] for k, v in data.items()}


def test_mset_with_an_emit_hook_sees_each_key_before_its_write(emit_all_impl: str) -> None:
    node = make_node()
    r = R(node)
    seen: list[tuple[bytes, bool]] = []
    node.emit_hook = lambda eff, existed: seen.append((eff[2], existed))
    assert r("MSET", "a", 1, "b", 2, "a", 3) == OK
    assert seen == [(b"a", False), (b"b", False), (b"a", True)]
    assert r("MGET", "a", "b") == [b"3", b"2"]


def test_mset_effect_that_fails_to_apply_leaves_the_op_as_emit_does(emit_all_impl: str,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """An apply that raises (a bug, MemoryError) mid-MSET: the effects before it applied and
    counted, it in the op as `_emit` leaves it, the rest never emitted."""
    from crdtredis import keyspace as ks_mod
    node = make_node("t", ("http://x",))
    r = R(node)
    real = ks_mod._APPLY[codes.SET]

    def failing(ks: Any, db: Any, eff: Any, ctx: Any) -> None:
        if eff[2] == b"b":
            raise MemoryError("boom")
        real(ks, db, eff, ctx)

    monkeypatch.setitem(ks_mod._APPLY, codes.SET, failing)
    with pytest.raises(MemoryError):
        r("MSET", "a", 1, "z", 0, "b", 2, "c", 3)
    op = node._group
    assert op is not None and [e[2] for e in op.effects] == [b"a", b"z", b"b"]
    assert node.keyspace.vv[op.origin] == op.seq + 1
    assert r("MGET", "a", "z", "b", "c") == [b"1", b"0", None, None]


# ---- APPEND / STRLEN / ranges ------------------------------------------------------------
def test_append_strlen(r: R, node: Node) -> None:
    assert r("APPEND", "k", "abc") == 3 and r("APPEND", "k", "def") == 6
    assert r("GET", "k") == b"abcdef" and r("STRLEN", "k") == 6 and r("STRLEN", "nokey") == 0
    assert r("APPEND", "n", "") == 0 and r("EXISTS", "n") == 1
    r("SET", "t", "v", "PXAT", FAR_MS)
    assert r("APPEND", "t", "x") == 2 and deadline(node, b"t") == FAR_MS


def test_append_respects_proto_max_bulk_len(r: R, node: Node) -> None:
    node.proto_max_bulk_len = 10
    r("SET", "k", "12345")
    assert r("APPEND", "k", "123456") == err(errors.STRING_TOO_LONG)
    assert r("APPEND", "k", "12345") == 10


@pytest.mark.parametrize("start,end,expected", [
    (0, 3, b"This"), (-3, -1, b"ing"), (0, -1, b"This is a string"), (10, 100, b"string"),
    (5, 2, b""), (-100, 2, b"Thi"), (-1, -100, b""), (100, 200, b""), (-1, 0, b""), (0, 0, b"T"),
    ("0", "9223372036854775807", b"This is a string"), ("-9223372036854775808", 3, b"This"),
])
def test_getrange(r: R, start: Any, end: Any, expected: bytes) -> None:
    r("SET", "k", "This is a string")
    assert r("GETRANGE", "k", start, end) == expected
    assert r("SUBSTR", "k", start, end) == expected


def test_getrange_edge_cases(r: R) -> None:
    assert r("GETRANGE", "nokey", 0, 10) == b""
    r("SET", "e", "")
    assert r("GETRANGE", "e", 0, -1) == b""
    r("SET", "k", "abc")
    assert r("GETRANGE", "k", "a", 1) == err(errors.NOT_INTEGER)
    assert r("GETRANGE", "k", 0, "99999999999999999999") == err(errors.NOT_INTEGER)


def test_setrange(r: R, node: Node) -> None:
    assert r("SETRANGE", "k", 0, "hello") == 5
    assert r("SETRANGE", "k", 6, "world") == 11 and r("GET", "k") == b"hello\x00world"
    assert r("SETRANGE", "k", 1, "a") == 11 and r("GET", "k") == b"hallo\x00world"
    assert r("SETRANGE", "n", 3, "x") == 4 and r("GET", "n") == b"\x00\x00\x00x"
    assert r("SETRANGE", "e", 0, "") == 0 and r("EXISTS", "e") == 0
    assert r("SETRANGE", "k", 100, "") == 11
    assert r("SETRANGE", "k", -1, "x") == err(errors.OFFSET_OUT_OF_RANGE)
    assert r("SETRANGE", "k", "abc", "x") == err(errors.NOT_INTEGER)
    assert r("SETRANGE", "k", 536870912, "x") == err(errors.STRING_TOO_LONG)
    assert r("SETRANGE", "k", "9223372036854775807", "x") == err(errors.STRING_TOO_LONG)
    assert r("SETRANGE", "n2", 536870912, "x") == err(errors.STRING_TOO_LONG) and r("EXISTS", "n2") == 0
    r("SET", "t", "v", "PXAT", FAR_MS)
    assert r("SETRANGE", "t", 0, "w") == 1 and deadline(node, b"t") == FAR_MS


# ---- LCS ---------------------------------------------------------------------------------
def test_lcs(r: R) -> None:
    r("MSET", "k1", "ohmytext", "k2", "mynewtext")
    assert r("LCS", "k1", "k2") == b"mytext"
    assert r("LCS", "k1", "k2", "LEN") == 6
    idx = r("LCS", "k1", "k2", "IDX")
    assert isinstance(idx, Map)
    assert idx.items == [(b"matches", [[[4, 7], [5, 8]], [[2, 3], [0, 1]]]), (b"len", 6)]
    idx = r("LCS", "k1", "k2", "IDX", "MINMATCHLEN", 4, "WITHMATCHLEN")
    assert idx.items == [(b"matches", [[[4, 7], [5, 8], 4]]), (b"len", 6)]
    assert r("LCS", "k1", "nokey") == b"" and r("LCS", "nokey", "k1", "LEN") == 0


def test_lcs_errors(r: R, node: Node) -> None:
    r("MSET", "a", "x", "b", "y")
    assert r("LCS", "a", "b", "LEN", "IDX") == err("ERR If you want both the length and indexes, please just use IDX.")
    assert r("LCS", "a", "b", "MINMATCHLEN") == err(errors.SYNTAX)
    assert r("LCS", "a", "b", "MINMATCHLEN", "abc") == err(errors.NOT_INTEGER)
    assert r("LCS", "a", "b", "FOO") == err(errors.SYNTAX)
    assert r("LCS", "a") == err(errors.wrong_arity("lcs"))
    node.proto_max_bulk_len = 1024
    r("MSET", "a", "a" * 100, "b", "b" * 100)
    assert r("LCS", "a", "b") == err("ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len")


# ---- counters ----------------------------------------------------------------------------
def test_incr_decr_family(r: R) -> None:
    assert r("INCR", "c") == 1 and r("INCR", "c") == 2 and r("DECR", "c") == 1
    assert r("INCRBY", "c", 10) == 11 and r("DECRBY", "c", 5) == 6 and r("GET", "c") == b"6"
    assert r("DECR", "d") == -1
    r("SET", "n", "-1")
    assert r("INCR", "n") == 0


@pytest.mark.parametrize("value", [b"abc", b"", b" 1", b"1 ", b"010", b"-0", b"+1", b"1.0",
                                   b"12345678901234567890", b"0x1", b"1e3", b"-", b"1\x00"])
def test_incr_rejects_non_integers(r: R, value: bytes) -> None:
    r("SET", "s", value)
    assert r("INCR", "s") == err(errors.NOT_INTEGER)
    assert r("GET", "s") == value


def test_incrby_argument_errors(r: R) -> None:
    for bad in ("abc", "1.5", "", " 1", "0x10", "+1", "99999999999999999999"):
        assert r("INCRBY", "c", bad) == err(errors.NOT_INTEGER)


def test_incr_overflow(r: R) -> None:
    r("SET", "c", "9223372036854775807")
    assert r("INCR", "c") == err(errors.OVERFLOW) and r("INCRBY", "c", 0) == 9223372036854775807
    r("SET", "c", "-9223372036854775808")
    assert r("DECR", "c") == err(errors.OVERFLOW)
    r("SET", "c", 0)
    assert r("DECRBY", "c", "-9223372036854775808") == err("ERR decrement would overflow")
    assert r("INCRBY", "c", "-9223372036854775808") == -9223372036854775808


def test_incr_keeps_ttl(r: R, node: Node) -> None:
    r("SET", "c", 1, "PXAT", FAR_MS)
    assert r("INCR", "c") == 2 and r("INCRBYFLOAT", "c", "1.5") == b"3.5"
    assert deadline(node, b"c") == FAR_MS


@pytest.mark.parametrize("start,incr,expected", [
    (None, "10.5", b"10.5"), ("10.5", "0.1", b"10.6"), (None, "3.0e3", b"3000"), ("1", "1.0", b"2"),
    ("0.1", "0.2", b"0.3"), (None, "-0.0", b"0"), ("1.50", "0", b"1.5"), ("1e2", "1", b"101"),
    (None, "0x10", b"16"), (None, ".5", b"0.5"),
    # Redis adds in 80-bit long double: these are its exact replies.
    ("5.6", "3.0e3", b"3005.60000000000000009"), ("1", "0.3333333333333333333", b"1.33333333333333333"),
    (None, "3.14159265358979323846", b"3.14159265358979324"),
])
def test_incrbyfloat_matches_redis(r: R, start: Any, incr: str, expected: bytes) -> None:
    if start is not None:
        r("SET", "f", start)
    assert r("INCRBYFLOAT", "f", incr) == expected
    assert r("GET", "f") == expected


def test_incrbyfloat_huge_values(r: R) -> None:
    r("SET", "m", "1e308")
    v = r("INCRBYFLOAT", "m", "1e308")
    assert v.startswith(b"19999999999999999999337175931169129132112019969483") and len(v) == 309
    assert r("GET", "m") == v
    assert len(r("INCRBYFLOAT", "h", "1e4932")) == 4933


@pytest.mark.parametrize("value,incr,msg", [
    ("abc", "1", errors.NOT_FLOAT), ("1.5", "abc", errors.NOT_FLOAT), ("1.5", "", errors.NOT_FLOAT),
    ("1.5", " 1", errors.NOT_FLOAT), ("1.5", "nan", errors.NOT_FLOAT), ("1.5", "1e5000", errors.NOT_FLOAT),
    ("1.5", "1e-5000", errors.NOT_FLOAT), ("1e5000", "1", errors.NOT_FLOAT), ("1.5\x00", "1", errors.NOT_FLOAT),
    ("1.5", "inf", errors.INCR_NAN_INF), ("1.5", "-Infinity", errors.INCR_NAN_INF), ("inf", "1", errors.INCR_NAN_INF),
    ("1e4932", "1e4932", errors.INCR_NAN_INF),
])
def test_incrbyfloat_errors(r: R, value: str, incr: str, msg: str) -> None:
    r("SET", "f", value)
    assert r("INCRBYFLOAT", "f", incr) == err(msg)
    assert r("GET", "f") == value.encode()


def test_incrbyfloat_ships_the_increment(r: R, node: Node) -> None:
    # Every replica folds the increment as Redis adds it (long double), in stamp order.
    ops: list[Op] = []
    node.op_listeners.append(ops.append)
    r("SET", "f", "5.6")
    assert r("INCRBYFLOAT", "f", "3.0e3") == b"3005.60000000000000009"
    assert ops[-1].effects == [(codes.INCR, 0, b"f", b"3.0e3")]


def test_float_then_int(r: R) -> None:
    assert r("INCRBYFLOAT", "c", "1.5") == b"1.5"
    assert r("INCR", "c") == err(errors.NOT_INTEGER)
    assert r("INCRBYFLOAT", "c", "0.5") == b"2" and r("INCR", "c") == 3


# ---- WRONGTYPE (a hash stands in for any non-string type) --------------------------------
def test_string_commands_on_another_type(r: R) -> None:
    if r("HSET", "h", "f", "v") != 1:
        pytest.skip("hashes are not available")
    wt = err(errors.WRONGTYPE)
    for cmd in (["GET", "h"], ["GETSET", "h", "v"], ["GETDEL", "h"], ["GETEX", "h"], ["APPEND", "h", "x"],
                ["STRLEN", "h"], ["GETRANGE", "h", 0, 1], ["SETRANGE", "h", 0, "x"], ["SETRANGE", "h", 0, ""],
                ["INCR", "h"], ["INCRBYFLOAT", "h", 1], ["SET", "h", "v", "GET"], ["SET", "h", "v", "XX", "GET"]):
        assert r(*cmd) == wt, cmd
    assert r("INCRBY", "h", "abc") == err(errors.NOT_INTEGER)  # the argument is parsed first
    assert r("LCS", "h", "nokey") == err("ERR The specified keys must contain string values")
    assert r("MGET", "h", "nokey") == [None, None]
    assert r("SETNX", "h", "v") == 0 and r("MSETNX", "h", "v", "x", "y") == 0
    assert r("SET", "h", "v", "NX") is None
    assert r("SET", "h", "v") == OK and r("GET", "h") == b"v" and r("TYPE", "h") == b"string"


# ---- expiry seen by string reads ----------------------------------------------------------
def _force_deadline(node: Node, key: bytes, when: int, origin: str) -> None:
    """Put a (past) deadline on key as if replica `origin` had written it."""
    seq = node.keyspace.vv.get(origin, 0) + 1
    node.apply_remote(Op(origin, seq, node.hlc.now(), {}, [(codes.EXPIRE, 0, key, when)]))


def test_expired_key_is_hidden_and_dropped_by_a_solo_replica(r: R, node: Node) -> None:
    r("SET", "k", "v")
    node.emit((codes.EXPIRE, 0, b"k", now_ms() - 1000))
    node.close_group()
    assert b"k" in node.keyspace.dbs[0].data
    assert r("GET", "k") is None
    assert b"k" not in node.keyspace.dbs[0].data  # alone: nothing can still see it alive
    assert node.expired_keys == 1


def test_expired_key_with_peers_is_only_hidden_until_safe(r: R, node: Node) -> None:
    node.set_solo(False)
    r("SET", "k", "v")
    _force_deadline(node, b"k", now_ms() - 1000, "other.1")
    assert r("GET", "k") is None and r("STRLEN", "k") == 0 and r("MGET", "k") == [None]
    assert b"k" in node.keyspace.dbs[0].data  # a PERSIST made elsewhere may still arrive
    # A writer deletes it first, so the write starts from scratch (like Redis).
    assert r("INCR", "k") == 1 and deadline(node, b"k") is None


def test_incr_on_expired_key_starts_from_zero(r: R, node: Node) -> None:
    r("SET", "c", 41)
    node.emit((codes.EXPIRE, 0, b"c", now_ms() - 1))
    node.close_group()
    assert r("INCR", "c") == 1


# ---- OBJECT ENCODING of strings (how the value was written matters, as in Redis) ----------
def test_object_encoding_strings(r: R) -> None:
    cases = [("123", b"int"), ("-5", b"int"), ("0123", b"embstr"), ("12345678901234567890", b"embstr"),
             ("abc", b"embstr"), ("a" * 44, b"embstr"), ("a" * 45, b"raw"), ("1.5", b"embstr"), (" 1", b"embstr")]
    for value, enc in cases:
        r("SET", "k", value)
        assert r("OBJECT", "ENCODING", "k") == enc, value
    r("SET", "s", "abc")
    r("APPEND", "s", "d")
    assert r("OBJECT", "ENCODING", "s") == b"raw"
    r("SET", "i", "123")
    r("SETRANGE", "i", 0, "9")
    assert r("OBJECT", "ENCODING", "i") == b"raw"
    r("SETRANGE", "n", 0, "12")
    assert r("OBJECT", "ENCODING", "n") == b"raw"
    r("SET", "h", 1)
    assert r("INCRBYFLOAT", "h", "1.0") == b"2" and r("OBJECT", "ENCODING", "h") == b"embstr"
    assert r("INCR", "h") == 3 and r("OBJECT", "ENCODING", "h") == b"int"
    r("SET", "s", "abc")
    assert r("OBJECT", "ENCODING", "s") == b"embstr"  # a later write drops the hint
    r("APPEND", "s", "x")
    r("COPY", "s", "s2")
    r("RENAME", "s", "s3")
    assert r("OBJECT", "ENCODING", "s2") == b"raw" and r("OBJECT", "ENCODING", "s3") == b"raw"


# ---- CRDT: concurrent string writes -------------------------------------------------------
class Pair:
    """Two replicas with peers configured; each keeps the ops it produced, to ship later."""

    def __init__(self) -> None:
        self.a = make_node("a", ("http://b",))
        self.b = make_node("b", ("http://a",))
        self.ra, self.rb = R(self.a), R(self.b)
        self.out: dict[str, list[Op]] = {"a": [], "b": []}
        self.sent: dict[str, int] = {"a": 0, "b": 0}
        self.a.op_listeners.append(self.out["a"].append)
        self.b.op_listeners.append(self.out["b"].append)

    def pending(self, side: str) -> list[Op]:
        ops = self.out[side][self.sent[side]:]
        self.sent[side] = len(self.out[side])
        return ops

    def sync(self) -> None:
        """Cross-deliver everything pending: each side applies the other's ops after its own,
        so the two replicas see the concurrent ops in opposite orders."""
        pa, pb = self.pending("a"), self.pending("b")
        for op in pb:
            self.a.apply_remote(op)
        for op in pa:
            self.b.apply_remote(op)


def string_state(node: Node) -> dict[bytes, Any]:
    out: dict[bytes, Any] = {}
    ks = node.keyspace
    for db in ks.dbs:
        for k, e in db.data.items():
            v = e[0] if type(e) is tuple else getattr(e, "value", e)
            out[bytes([db.index]) + k] = (v, ks.deadline(db, k))
    return out


def test_set_concurrent_with_incr_keeps_the_increment() -> None:
    p = Pair()
    p.ra("SET", "k", 5)
    p.sync()
    p.ra("SET", "k", 100)
    p.rb("INCR", "k")
    p.rb("INCRBY", "k", 10)
    p.sync()
    assert p.ra("GET", "k") == p.rb("GET", "k") == b"111"
    # A SET that has seen the increments resets them.
    p.rb("SET", "k", 7)
    p.sync()
    assert p.ra("GET", "k") == p.rb("GET", "k") == b"7"
    assert p.ra("INCR", "k") == 8
    p.sync()
    assert p.rb("GET", "k") == b"8"


def test_concurrent_incrbyfloat_converges_and_keeps_redis_replies() -> None:
    p = Pair()
    p.ra("SET", "f", "5.6")
    p.sync()
    assert p.ra("INCRBYFLOAT", "f", "3.0e3") == b"3005.60000000000000009"
    assert p.rb("INCRBYFLOAT", "f", "0.1") == b"5.7"
    assert p.rb("INCR", "f") == err(errors.NOT_INTEGER)
    p.sync()
    # The increments apply in stamp order, as Redis would in that serial order.
    assert p.ra("GET", "f") == p.rb("GET", "f")
    assert p.ra("GET", "f") in (b"3005.70000000000000018", b"3005.69999999999999996")


def test_concurrent_sets_highest_stamp_wins_in_both_orders() -> None:
    p = Pair()
    p.ra("SET", "k", "from-a")
    p.rb("SET", "k", "from-b")
    op_a, op_b = p.out["a"][-1], p.out["b"][-1]
    p.sync()
    winner = b"from-a" if (op_a.hlc, op_a.origin) > (op_b.hlc, op_b.origin) else b"from-b"
    assert p.ra("GET", "k") == p.rb("GET", "k") == winner


def test_concurrent_sets_with_equal_hlc_break_ties_by_origin() -> None:
    n1, n2 = make_node("x", ("http://y",)), make_node("y", ("http://x",))
    op1 = Op("r1.0", 1, 1000 << 16, {}, [(codes.SET, 0, b"k", b"one", codes.TTL_CLEAR, None)])
    op2 = Op("r2.0", 1, 1000 << 16, {}, [(codes.SET, 0, b"k", b"two", codes.TTL_CLEAR, None)])
    n1.apply_remote(op1)
    n1.apply_remote(op2)
    n2.apply_remote(op2)
    n2.apply_remote(op1)
    assert R(n1)("GET", "k") == R(n2)("GET", "k") == b"two"


def test_del_concurrent_with_set_keeps_the_unobserved_set() -> None:
    p = Pair()
    p.ra("SET", "k", "v1")
    p.sync()
    assert p.ra("DEL", "k") == 1
    p.rb("SET", "k", "v2")
    p.sync()
    assert p.ra("GET", "k") == p.rb("GET", "k") == b"v2"


def test_getdel_concurrent_with_incr_keeps_the_increment() -> None:
    p = Pair()
    p.ra("SET", "c", 10)
    p.sync()
    assert p.ra("GETDEL", "c") == b"10"
    assert p.rb("INCR", "c") == 11
    p.sync()
    assert p.ra("GET", "c") == p.rb("GET", "c") == b"1"


def test_concurrent_appends_both_land_in_stamp_order() -> None:
    p = Pair()
    p.ra("SET", "s", "x")
    p.sync()
    p.ra("APPEND", "s", "a")
    p.rb("APPEND", "s", "b")
    op_a, op_b = p.out["a"][-1], p.out["b"][-1]
    p.sync()
    both = b"xab" if (op_a.hlc, op_a.origin) < (op_b.hlc, op_b.origin) else b"xba"
    assert p.ra("GET", "s") == p.rb("GET", "s") == both


def test_append_concurrent_with_set_lands_on_the_new_value() -> None:
    p = Pair()
    p.ra("SET", "s", "old")
    p.sync()
    p.ra("APPEND", "s", "+a")
    p.rb("SET", "s", "new")
    p.sync()
    assert p.ra("GET", "s") == p.rb("GET", "s") == b"new+a"


def test_append_ships_only_the_chunk_and_incr_after_it_sees_it() -> None:
    p = Pair()
    p.ra("SET", "s", "1" + "0" * 5)
    p.sync()
    assert p.rb("APPEND", "s", "0") == 7
    op = p.out["b"][-1]
    assert op.effects == [(codes.APPEND, 0, b"s", b"0")]
    assert p.rb("INCR", "s") == 1000001
    p.sync()
    assert p.ra("GET", "s") == p.rb("GET", "s") == b"1000001"


def test_set_with_ttl_concurrent_with_plain_set() -> None:
    p = Pair()
    p.ra("SET", "k", "v", "PXAT", FAR_MS)
    p.rb("SET", "k", "w")
    p.sync()
    assert string_state(p.a) == string_state(p.b)


def test_mset_is_one_atomic_op_at_peers() -> None:
    p = Pair()
    p.ra("MSET", "a", 1, "b", 2, "c", 3)
    assert len(p.out["a"]) == 1
    p.sync()
    assert p.rb("MGET", "a", "b", "c") == [b"1", b"2", b"3"]


def test_remote_ops_are_idempotent() -> None:
    p = Pair()
    p.ra("INCR", "c")
    op = p.out["a"][-1]
    assert p.b.apply_remote(op) is True
    assert p.b.apply_remote(op) is False
    assert p.rb("GET", "c") == b"1"


def test_three_way_float_increments_converge_in_any_order() -> None:
    base = make_node("base", ("http://x",))
    rb = R(base)
    ops: list[Op] = []
    base.op_listeners.append(ops.append)
    rb("SET", "f", "0.000000000000000004")
    seed = ops[-1]
    deltas = []
    for i, (origin, d) in enumerate([("p.1", b"0.000000000000000004"), ("q.1", b"0.000000000000000004"),
                                     ("r.1", b"0.000000000000000001")]):
        deltas.append(Op(origin, 1, seed.hlc + 10 + i, {seed.origin: seed.hlc}, [(codes.INCR, 0, b"f", d)]))
    results = set()
    for order in ([0, 1, 2], [2, 0, 1], [1, 2, 0]):
        n = make_node("obs", ("http://x",))
        n.apply_remote(seed)
        for i in order:
            n.apply_remote(deltas[i])
        results.add(R(n)("GET", "f"))
    assert results == {b"0.00000000000000001"}


def _lcs_reference(a: bytes, b: bytes, idx: bool) -> Any:
    """Redis's t_string.c LCS, transcribed with its full (len(a)+1)*(len(b)+1) table."""
    alen, blen = len(a), len(b)
    t = [[0] * (blen + 1) for _ in range(alen + 1)]
    for i in range(1, alen + 1):
        for j in range(1, blen + 1):
            t[i][j] = t[i - 1][j - 1] + 1 if a[i - 1] == b[j - 1] else max(t[i - 1][j], t[i][j - 1])
    total = t[alen][blen]
    result = bytearray(total)
    k, matches = total, []
    a_start, a_end, b_start, b_end = alen, 0, 0, 0
    i, j = alen, blen
    while i > 0 and j > 0:
        emit = False
        if a[i - 1] == b[j - 1]:
            result[k - 1] = a[i - 1]
            if a_start == alen:
                a_start = a_end = i - 1
                b_start = b_end = j - 1
            elif a_start == i and b_start == j:
                a_start, b_start = a_start - 1, b_start - 1
            else:
                emit = True
            emit = emit or a_start == 0 or b_start == 0
            k, i, j = k - 1, i - 1, j - 1
        else:
            if t[i - 1][j] > t[i][j - 1]:
                i -= 1
            else:
                j -= 1
            emit = a_start != alen
        if emit:
            matches.append([[a_start, a_end], [b_start, b_end], a_end - a_start + 1])
            a_start = alen
    return (matches, total) if idx else bytes(result)


def test_lcs_bit_parallel_table_matches_redis_dp(r: R) -> None:
    import random

    rng = random.Random(7)
    for _ in range(400):
        a = bytes(rng.choice(b"abc") for _ in range(rng.randint(0, 14)))
        b = bytes(rng.choice(b"abcd") for _ in range(rng.randint(0, 14)))
        r("MSET", "a", a, "b", b)
        assert r("LCS", "a", "b") == _lcs_reference(a, b, False)
        got = r("LCS", "a", "b", "IDX", "WITHMATCHLEN").items
        assert (got[0][1], got[1][1]) == _lcs_reference(a, b, True)


def test_lcs_long_strings_are_fast(r: R) -> None:
    a = bytes(range(256)) * 20
    r("MSET", "a", a, "b", a[::-1] + a[:1000])
    t0 = time.perf_counter()
    assert r("LCS", "a", "b", "LEN") >= 1000
    assert time.perf_counter() - t0 < 2


# ---- string_counter number handling (core fixes) -------------------------------------------
def test_incr_value_applies_or_refuses_like_redis() -> None:
    from decimal import Decimal

    from crdtredis.crdt.numbers import format_decimal, incr_value, parse_decimal

    assert incr_value(b"9223372036854775806", 1) == b"9223372036854775807"
    assert incr_value(b"9223372036854775807", 1) is None  # overflow: Redis refuses it
    # A long double holds 64 bits of mantissa: real Redis prints the same digits.
    assert incr_value(b"1000000000000000000000000000000", b"1") == b"1000000000000000000024696061952"
    assert incr_value(b"1.5", 1) is None  # INCRBY of a float: refused
    assert incr_value(b"inf", b"1") is None and incr_value(b"inf", 1) is None  # never raises in apply
    assert incr_value(b"1", b"1e100000") is None  # not a long double: refused, not an overflow
    assert len(format_decimal(Decimal("1e4932"))) == 4933
    assert parse_decimal(b"1e5000") is None and parse_decimal(b"1e-5000") is None
    assert parse_decimal(b"0." + b"1" * 5117) is not None and parse_decimal(b"0." + b"1" * 5118) is None


def _reference_apply_local_all(ks: Any, effs: list[Any], into: list[Any], seq: int, hlc: int) -> None:
    """What `Node._emit` does for each effect one by one: `Keyspace.apply_local`, every
    effect through its type's apply function (no inline SET or HSET)."""
    for k, eff in enumerate(effs):
        into.append(eff)
        ks.apply_local(eff, seq + k, hlc + k)


_KEYS = st.sampled_from(["a", "b", "c"])
_VALS = st.sampled_from(["1", "x", "22"])
_STEPS = st.lists(st.one_of(
    st.lists(st.tuples(_KEYS, _VALS), min_size=1, max_size=4).map(lambda kv: ("MSET", *[x for p in kv for x in p])),
    st.tuples(st.just("SET"), _KEYS, _VALS),
    st.tuples(st.just("SET"), _KEYS, _VALS, st.just("PXAT"), st.just(str(FAR_MS + 10**9))),  # the clock: FAR_MS
    st.tuples(st.just("INCR"), _KEYS),
    st.tuples(st.just("HSET"), _KEYS, st.just("f"), _VALS),
    st.tuples(st.just("DEL"), _KEYS),
    st.tuples(st.just("SELECT"), st.sampled_from(["0", "1"])),
    st.tuples(st.just("WATCH"), _KEYS),
    st.tuples(st.just("UNWATCH")),
    st.tuples(st.just("txn")),  # MULTI / PING / EXEC: nil when a WATCHed key was touched
    st.tuples(st.just("peer"), st.sampled_from(["SET", "INCR", "HSET"]), _KEYS),
), max_size=25)


@settings(max_examples=300, deadline=None)
@given(steps=_STEPS, peers=st.booleans())
@example(steps=[("SET", "b", "1"), ("peer", "HSET", "b"), ("MSET", "a", "1", "b", "2")], peers=True)  # b's hash hidden
@example(steps=[("WATCH", "b"), ("MSET", "a", "1", "b", "2"), ("txn",)], peers=False)
@example(steps=[("MSET", "a", "1", "b", "2")], peers=True)  # GC's notes
def test_mset_inline_set_leaves_the_state_every_apply_function_would(steps: list[tuple[str, ...]], peers: bool) -> None:
    """keyspace_batch.apply_local_all writes the common SETs of an MSET itself (no apply_set
    call per key): with and without peers, over keys that are new, plain strings, counters,
    hashes, expiring, watched, or hidden behind a peer's concurrent write, it leaves the
    exact CRDT state, vectors and dirty count the call-per-key loop leaves (both copies of
    the loop, Python and compiled)."""
    impls = [keyspace_batch.apply_local_all_py]
    if keyspace_batch.compiled():
        impls.append(keyspace_batch._NATIVE.apply_local_all_py)
    from tests.support.state import assert_same_keyspaces

    ids = ("http://x",) if peers else ()
    cfg = dataclasses.replace(default_config(), replica_id="t", peers=ids)
    nodes = [new_node(cfg, incarnation="1") for _ in range(1 + len(impls))]  # one origin
    loops = [_reference_apply_local_all, *impls]
    peer = make_node("p", ("http://x",))
    for n in [*nodes, peer]:
        n.clock = lambda: FAR_MS  # the same stamps on every node
    clients = [R(n) for n in nodes]
    for n in nodes:
        n.keyspace._gc_seal()  # from here GC notes each key written (Db.gc_all is off)
    saved = keyspace_batch.apply_local_all
    try:
        for step in steps:
            if step[0] == "peer":
                if not peers:
                    continue
                argv = {"SET": ("SET", step[2], "p"), "INCR": ("INCR", step[2]),
                        "HSET": ("HSET", step[2], "g", "p")}[step[1]]
                from_peer(peer, nodes, *argv)
                continue
            replies = []
            for loop, r in zip(loops, clients, strict=True):
                keyspace_batch.apply_local_all = loop  # type: ignore[assignment]
                if step[0] == "txn":
                    r("MULTI")
                    r("PING")
                    replies.append(r("EXEC"))
                else:
                    replies.append(r(*step))
            assert all(x == replies[0] for x in replies), (step, replies)
        assert_same_keyspaces(nodes)
    finally:
        keyspace_batch.apply_local_all = saved  # type: ignore[assignment]
