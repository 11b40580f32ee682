"""List commands in-process (commands/lists.py): replies, errors, RESP2/RESP3 null shapes,
the effects each command ships, blocking pops. Exact byte-for-byte agreement with real
Redis is checked by tests/differential/test_diff_lists.py."""
from __future__ import annotations

import asyncio
import dataclasses
from typing import Any

import pytest

from crdtredis import errors
from crdtredis.client import Client
from crdtredis.commands import new_node
from crdtredis.commands.registry import COMMANDS
from crdtredis.config import default_config
from crdtredis.crdt import codes
from crdtredis.crdt.list_rga import LINSERT, LREMOVE, LSETVAL, LTRIMR, ListEntry
from crdtredis.keyspace import CREATE
from crdtredis.node import Node
from crdtredis.op import Op
from crdtredis.protocol.resp import encode_reply
from crdtredis.reply import NULL_ARRAY, OK, Deferred, ErrorReply
from tests.support.sim import Replica

WRONGTYPE = ErrorReply(errors.WRONGTYPE)
SYNTAX = ErrorReply(errors.SYNTAX)
NOT_INT = ErrorReply(errors.NOT_INTEGER)


class Single:
    """A node with no peers (every op causally stable at once), like a default server."""

    def __init__(self) -> None:
        self.node = new_node(dataclasses.replace(default_config(), replica_id="t", peers=()))
        self.client = self.node.new_client("test", "test", lambda: None)
        self.ops: list[Op] = []
        self.node.op_listeners.append(self.ops.append)

    def run(self, *argv: Any) -> Any:
        return run_as(self.node, self.client, *argv)

    def other(self) -> Client:
        return self.node.new_client("other", "other", lambda: None)


def run_as(node: Node, client: Client, *argv: Any) -> Any:
    args = [a if isinstance(a, bytes) else str(a).encode() for a in argv]
    return node.execute(client, args)


@pytest.fixture(params=["single", "peers"])
def r(request: pytest.FixtureRequest) -> Any:
    """Every command behaves the same with and without peers, as seen by one client."""
    if request.param == "single":
        return Single()
    rep = Replica("p")
    rep.ops = rep.emitted  # type: ignore[attr-defined]
    rep.other = lambda: rep.node.new_client("other", "other", lambda: None)  # type: ignore[attr-defined]
    return rep


def wire(reply: Any, resp: int) -> bytes:
    out = bytearray()
    encode_reply(out, reply, resp)
    return bytes(out)


def effects(r: Any) -> list[Any]:
    return r.ops[-1].effects  # type: ignore[no-any-return]


def lrange(r: Any, key: str = "l") -> Any:
    return r.run("LRANGE", key, 0, -1)


# ---- pushes -------------------------------------------------------------------------------------


def test_lpush_rpush_order_and_lengths(r: Any) -> None:
    assert r.run("RPUSH", "l", "a", "b") == 2
    assert r.run("LPUSH", "l", "x", "y") == 4
    assert r.run("RPUSH", "l", "c") == 5
    assert lrange(r) == [b"y", b"x", b"a", b"b", b"c"]
    assert r.run("TYPE", "l") == b"list"
    assert r.run("OBJECT", "ENCODING", "l") == b"quicklist"


def test_pushes_ship_one_chain_effect(r: Any) -> None:
    r.run("LPUSH", "l", "a", "b", "c")
    assert effects(r) == [(LINSERT | CREATE, 0, b"l", 0, "", 0, -1, b"c", b"b", b"a")]
    r.run("RPUSH", "l", "x", "y")
    # After "a", the last live element: the writer's own element, so its origin is "".
    assert effects(r) == [(LINSERT, 0, b"l", r.ops[0].hlc, "", 2, -2, b"x", b"y")]  # -2: the last


def test_pushx_only_on_existing_lists(r: Any) -> None:
    n = len(r.ops)
    assert r.run("LPUSHX", "l", "a") == 0
    assert r.run("RPUSHX", "l", "a", "b") == 0
    assert r.run("EXISTS", "l") == 0 and len(r.ops) == n
    r.run("RPUSH", "l", "m")
    assert r.run("LPUSHX", "l", "a", "b") == 3
    assert r.run("RPUSHX", "l", "z") == 4
    assert lrange(r) == [b"b", b"a", b"m", b"z"]


def test_push_wrongtype_and_arity(r: Any) -> None:
    r.run("SET", "s", "v")
    for cmd in ("LPUSH", "RPUSH", "LPUSHX", "RPUSHX"):
        assert r.run(cmd, "s", "a") == WRONGTYPE
        assert r.run(cmd, "l") == ErrorReply(errors.wrong_arity(cmd.lower()))


# ---- pops ---------------------------------------------------------------------------------------


def test_lpop_rpop_single_and_count(r: Any) -> None:
    r.run("RPUSH", "l", "a", "b", "c", "d", "e")
    assert r.run("LPOP", "l") == b"a"
    assert r.run("RPOP", "l") == b"e"
    assert r.run("LPOP", "l", 2) == [b"b", b"c"]
    assert r.run("RPOP", "l", 0) == []
    assert r.run("RPOP", "l", 10) == [b"d"]
    assert r.run("EXISTS", "l") == 0


def test_pop_null_shapes_resp2_and_resp3(r: Any) -> None:
    assert r.run("LPOP", "nokey") is None
    assert r.run("RPOP", "nokey", 1) is NULL_ARRAY
    assert r.run("LPOP", "nokey", 0) is NULL_ARRAY
    assert wire(None, 2) == b"$-1\r\n" and wire(None, 3) == b"_\r\n"
    assert wire(NULL_ARRAY, 2) == b"*-1\r\n" and wire(NULL_ARRAY, 3) == b"_\r\n"


def test_pop_errors(r: Any) -> None:
    r.run("RPUSH", "l", "a")
    r.run("SET", "s", "v")
    out = ErrorReply(errors.COUNT_NEGATIVE)
    assert r.run("LPOP", "l", -1) == out
    assert r.run("LPOP", "l", "x") == out
    assert r.run("LPOP", "nokey", -1) == out
    assert r.run("RPOP", "s", "x") == out
    assert r.run("LPOP", "l", 1, 2) == ErrorReply(errors.wrong_arity("lpop"))
    assert r.run("RPOP", "s") == WRONGTYPE
    assert r.run("LPOP", "s", 1) == WRONGTYPE


def test_lpop_ships_ids_with_hints(r: Any) -> None:
    r.run("RPUSH", "l", "a", "b", "c", "d")
    h = r.ops[-1].hlc
    origin = r.node.origin
    r.run("LPOP", "l", 2)
    assert effects(r) == [(LREMOVE, 0, b"l", h, "", 0, 0, h, "", 1, 0)]
    r.run("RPOP", "l")
    assert effects(r) == [(LREMOVE, 0, b"l", h, "", 3, 1)]
    assert origin == r.ops[-1].origin


def test_effects_name_other_origins_in_full() -> None:
    rep_a, rep_b = Replica("a"), Replica("b")
    rep_a.run("RPUSH", "l", "x", "y")
    rep_b.node.apply_remote(rep_a.emitted[-1])
    h = rep_a.emitted[-1].hlc
    rep_b.run("LPOP", "l")
    assert rep_b.emitted[-1].effects == [(LREMOVE, 0, b"l", h, rep_a.node.origin, 0, 0)]
    rep_b.run("RPUSH", "l", "z")
    assert rep_b.emitted[-1].effects == [(LINSERT, 0, b"l", h, rep_a.node.origin, 1, 0, b"z")]
    rep_a.node.apply_remote(rep_b.emitted[-2])
    rep_a.node.apply_remote(rep_b.emitted[-1])
    assert rep_a.run("LRANGE", "l", 0, -1) == [b"y", b"z"]


def test_popping_everything_ships_del_and_drops_the_ttl(r: Any) -> None:
    r.run("RPUSH", "l", "a", "b")
    r.run("EXPIRE", "l", 100)
    assert r.run("RPOP", "l", 5) == [b"b", b"a"]
    assert effects(r) == [(codes.DEL, 0, b"l")]
    assert r.run("EXISTS", "l") == 0
    r.run("RPUSH", "l", "c")
    assert r.run("TTL", "l") == -1


# ---- reads --------------------------------------------------------------------------------------


def test_llen_lindex_lrange(r: Any) -> None:
    assert r.run("LLEN", "nokey") == 0
    assert r.run("LRANGE", "nokey", 0, -1) == []
    assert r.run("LINDEX", "nokey", 0) is None
    r.run("RPUSH", "l", "a", "b", "c")
    assert r.run("LLEN", "l") == 3
    assert [r.run("LINDEX", "l", i) for i in (0, 2, 3, -1, -3, -4)] == [b"a", b"c", None, b"c", b"a", None]
    cases = {(0, -1): [b"a", b"b", b"c"], (1, 1): [b"b"], (-2, 10): [b"b", b"c"], (2, 1): [],
             (5, 10): [], (-100, 0): [b"a"], (0, -100): [], (-9223372036854775808, 9223372036854775807):
             [b"a", b"b", b"c"]}
    for (a, b), want in cases.items():
        assert r.run("LRANGE", "l", a, b) == want, (a, b)
    assert r.run("LRANGE", "l", "x", 1) == NOT_INT
    assert r.run("LINDEX", "l", "1.5") == NOT_INT
    r.run("SET", "s", "v")
    for argv in (("LLEN", "s"), ("LRANGE", "s", 0, 1), ("LINDEX", "s", 0)):
        assert r.run(*argv) == WRONGTYPE


def test_lpos_options(r: Any) -> None:
    r.run("RPUSH", "l", "a", "b", "c", "a", "b", "c")
    assert r.run("LPOS", "l", "a") == 0
    assert r.run("LPOS", "l", "c") == 2
    assert r.run("LPOS", "l", "z") is None
    assert r.run("LPOS", "l", "a", "RANK", 2) == 3
    assert r.run("LPOS", "l", "a", "RANK", -1) == 3
    assert r.run("LPOS", "l", "a", "RANK", -2) == 0
    assert r.run("LPOS", "l", "a", "RANK", 3) is None
    assert r.run("LPOS", "l", "a", "COUNT", 0) == [0, 3]
    assert r.run("LPOS", "l", "a", "COUNT", 1) == [0]
    assert r.run("LPOS", "l", "b", "RANK", -1, "COUNT", 0) == [4, 1]
    assert r.run("LPOS", "l", "c", "MAXLEN", 2) is None
    assert r.run("LPOS", "l", "c", "MAXLEN", 3) == 2
    assert r.run("LPOS", "l", "c", "RANK", -1, "MAXLEN", 1) == 5
    assert r.run("LPOS", "l", "z", "COUNT", 0) == []
    assert r.run("LPOS", "nokey", "z", "COUNT", 0) == []
    assert r.run("LPOS", "nokey", "z") is None
    # RANK LLONG_MIN: -rank overflows in C, every match qualifies and COUNT never stops it.
    assert r.run("LPOS", "l", "a", "RANK", -9223372036854775808, "COUNT", 1) == [3, 0]
    assert r.run("lpos", "l", "a", "rank", 9223372036854775807, "count", 0) == []


def test_lpos_errors(r: Any) -> None:
    r.run("RPUSH", "l", "a")
    r.run("SET", "s", "v")
    assert r.run("LPOS", "l", "a", "RANK", 0) == ErrorReply(errors.LPOS_RANK_ZERO)
    assert r.run("LPOS", "l", "a", "RANK", "x") == NOT_INT
    assert r.run("LPOS", "l", "a", "COUNT", -1) == ErrorReply(errors.LPOS_COUNT_NEGATIVE)
    assert r.run("LPOS", "l", "a", "COUNT", "x") == ErrorReply(errors.LPOS_COUNT_NEGATIVE)
    assert r.run("LPOS", "l", "a", "MAXLEN", -1) == ErrorReply(errors.LPOS_MAXLEN_NEGATIVE)
    assert r.run("LPOS", "l", "a", "RANK") == SYNTAX
    assert r.run("LPOS", "l", "a", "FOO", 1) == SYNTAX
    assert r.run("LPOS", "s", "a", "COUNT", "x") == ErrorReply(errors.LPOS_COUNT_NEGATIVE)
    assert r.run("LPOS", "s", "a") == WRONGTYPE


# ---- updates ------------------------------------------------------------------------------------


def test_lset(r: Any) -> None:
    assert r.run("LSET", "nokey", 0, "x") == ErrorReply(errors.NO_SUCH_KEY)
    assert r.run("LSET", "nokey", "abc", "x") == ErrorReply(errors.NO_SUCH_KEY)
    r.run("RPUSH", "l", "a", "b", "c")
    assert r.run("LSET", "l", 1, "B") == OK
    assert r.run("LSET", "l", -1, "C") == OK
    assert lrange(r) == [b"a", b"B", b"C"]
    ((code, _db, _k, _h, origin, i, hint, value),) = effects(r)
    assert (code, origin, i, hint, value) == (LSETVAL, "", 2, -2, b"C")
    assert r.run("LSET", "l", 3, "x") == ErrorReply(errors.INDEX_OUT_OF_RANGE)
    assert r.run("LSET", "l", -4, "x") == ErrorReply(errors.INDEX_OUT_OF_RANGE)
    assert r.run("LSET", "l", "abc", "x") == NOT_INT
    r.run("SET", "s", "v")
    assert r.run("LSET", "s", 0, "x") == WRONGTYPE


def test_linsert(r: Any) -> None:
    assert r.run("LINSERT", "nokey", "BEFORE", "a", "x") == 0
    assert r.run("EXISTS", "nokey") == 0
    r.run("RPUSH", "l", "a", "b", "a")
    assert r.run("LINSERT", "l", "BEFORE", "a", "x") == 4
    assert r.run("LINSERT", "l", "after", "a", "y") == 5
    assert r.run("LINSERT", "l", "AFTER", "b", "z") == 6
    assert r.run("LINSERT", "l", "before", "b", "w") == 7
    assert lrange(r) == [b"x", b"a", b"y", b"w", b"b", b"z", b"a"]
    assert r.run("LINSERT", "l", "BEFORE", "nope", "v") == -1
    assert r.run("LINSERT", "l", "MIDDLE", "a", "v") == SYNTAX
    assert r.run("LINSERT", "nokey", "MIDDLE", "a", "v") == SYNTAX
    r.run("SET", "s", "v")
    assert r.run("LINSERT", "s", "BEFORE", "a", "v") == WRONGTYPE


def test_linsert_before_head_ships_a_head_insert(r: Any) -> None:
    r.run("RPUSH", "l", "a", "b")
    r.run("LINSERT", "l", "BEFORE", "a", "x")
    assert effects(r) == [(LINSERT, 0, b"l", 0, "", 0, -1, b"x")]


def test_lrem(r: Any) -> None:
    assert r.run("LREM", "nokey", 1, "a") == 0
    assert r.run("LREM", "nokey", "x", "a") == NOT_INT
    r.run("RPUSH", "l", "a", "b", "a", "c", "a", "b")
    assert r.run("LREM", "l", 2, "a") == 2
    assert lrange(r) == [b"b", b"c", b"a", b"b"]
    assert r.run("LREM", "l", -1, "b") == 1
    assert lrange(r) == [b"b", b"c", b"a"]
    assert r.run("LREM", "l", 0, "zz") == 0
    r.run("RPUSH", "l", "b", "b")
    assert r.run("LREM", "l", 0, "b") == 3
    assert lrange(r) == [b"c", b"a"]
    assert r.run("LREM", "l", 0, "c") == 1 and r.run("LREM", "l", -5, "a") == 1
    assert r.run("EXISTS", "l") == 0
    r.run("SET", "s", "v")
    assert r.run("LREM", "s", 0, "v") == WRONGTYPE


def test_lrem_hints_are_exact_at_the_origin(r: Any) -> None:
    r.run("RPUSH", "l", "a", "x", "a", "x", "a")
    r.run("LREM", "l", 0, "a")
    assert list(effects(r)[0][6::4]) == [0, 1, -2]  # the last at its turn
    r.run("RPUSH", "l", "x")
    r.run("LREM", "l", -2, "x")
    assert list(effects(r)[0][6::4]) == [-2, 1]


def test_ltrim(r: Any) -> None:
    assert r.run("LTRIM", "nokey", 0, 1) == OK
    assert r.run("LTRIM", "nokey", "a", 1) == NOT_INT
    r.run("RPUSH", "l", *"abcdefg")
    assert r.run("LTRIM", "l", 1, -2) == OK
    assert lrange(r) == [b"b", b"c", b"d", b"e", b"f"]
    ((code, _db, _k, _fh, _fo, fi, fhint, _lh, _lo, li, lhint),) = effects(r)
    assert (code, fi, fhint, li, lhint) == (LTRIMR, 1, 1, 5, -3)
    n = len(r.ops)
    assert r.run("LTRIM", "l", 0, 100) == OK
    assert len(r.ops) == n  # nothing removed: nothing shipped
    assert r.run("LTRIM", "l", -2, -1) == OK
    assert lrange(r) == [b"e", b"f"]
    r.run("EXPIRE", "l", 100)
    assert r.run("LTRIM", "l", 5, 1) == OK
    assert effects(r) == [(codes.DEL, 0, b"l")]
    assert r.run("EXISTS", "l") == 0
    r.run("SET", "s", "v")
    assert r.run("LTRIM", "s", 0, 1) == WRONGTYPE


def test_ltrim_noop_still_touches_watchers(r: Any) -> None:
    r.run("RPUSH", "l", "a")
    other = r.other()
    run_as(r.node, other, "WATCH", "l")
    r.run("LTRIM", "l", 0, -1)
    run_as(r.node, other, "MULTI")
    run_as(r.node, other, "GET", "x")
    assert run_as(r.node, other, "EXEC") is NULL_ARRAY


# ---- moves --------------------------------------------------------------------------------------


@pytest.mark.parametrize("wf,wt,src,dst", [
    ("LEFT", "LEFT", [b"b", b"c"], [b"a", b"x"]),
    ("LEFT", "RIGHT", [b"b", b"c"], [b"x", b"a"]),
    ("RIGHT", "LEFT", [b"a", b"b"], [b"c", b"x"]),
    ("RIGHT", "RIGHT", [b"a", b"b"], [b"x", b"c"]),
])
def test_lmove_directions(r: Any, wf: str, wt: str, src: list[bytes], dst: list[bytes]) -> None:
    r.run("RPUSH", "s", "a", "b", "c")
    r.run("RPUSH", "d", "x")
    assert r.run("LMOVE", "s", "d", wf.lower(), wt) in (b"a", b"c")
    assert lrange(r, "s") == src and lrange(r, "d") == dst


def test_lmove_same_key_rotates(r: Any) -> None:
    r.run("RPUSH", "l", "a", "b", "c")
    assert r.run("LMOVE", "l", "l", "LEFT", "RIGHT") == b"a"
    assert lrange(r) == [b"b", b"c", b"a"]
    assert r.run("RPOPLPUSH", "l", "l") == b"a"
    assert lrange(r) == [b"a", b"b", b"c"]
    r.run("RPUSH", "one", "x")
    assert r.run("LMOVE", "one", "one", "RIGHT", "LEFT") == b"x"
    assert lrange(r, "one") == [b"x"]


def test_lmove_missing_wrongtype_syntax(r: Any) -> None:
    r.run("SET", "s", "v")
    r.run("RPUSH", "l", "a")
    assert r.run("LMOVE", "nokey", "s", "LEFT", "LEFT") is None
    assert r.run("LMOVE", "s", "l", "LEFT", "LEFT") == WRONGTYPE
    assert r.run("LMOVE", "l", "s", "LEFT", "LEFT") == WRONGTYPE
    assert lrange(r) == [b"a"]  # nothing popped
    assert r.run("LMOVE", "l", "d", "LEFT", "MIDDLE") == SYNTAX
    assert r.run("RPOPLPUSH", "l", "new") == b"a"
    assert r.run("EXISTS", "l") == 0 and lrange(r, "new") == [b"a"]


def test_lmpop(r: Any) -> None:
    r.run("RPUSH", "b", "1", "2", "3")
    assert r.run("LMPOP", 2, "a", "b", "LEFT") == [b"b", [b"1"]]
    assert r.run("LMPOP", 2, "a", "b", "right", "COUNT", 5) == [b"b", [b"3", b"2"]]
    assert r.run("LMPOP", 1, "b", "LEFT") is NULL_ARRAY
    numkeys = ErrorReply(errors.ZSET_NUMKEYS)
    count = ErrorReply(errors.ZSET_COUNT)
    assert r.run("LMPOP", 0, "a", "LEFT") == numkeys
    assert r.run("LMPOP", "x", "a", "LEFT") == numkeys
    assert r.run("LMPOP", 2, "a", "LEFT") == SYNTAX
    assert r.run("LMPOP", 1, "a", "MIDDLE") == SYNTAX
    assert r.run("LMPOP", 1, "a", "LEFT", "COUNT", 0) == count
    assert r.run("LMPOP", 1, "a", "LEFT", "COUNT", "x") == count
    assert r.run("LMPOP", 1, "a", "LEFT", "COUNT", 1, "COUNT", 1) == SYNTAX
    assert r.run("LMPOP", 1, "a", "LEFT", "COUNT") == SYNTAX
    r.run("SET", "s", "v")
    r.run("RPUSH", "l", "x")
    assert r.run("LMPOP", 2, "l", "s", "LEFT") == [b"l", [b"x"]]
    assert r.run("LMPOP", 2, "nokey", "s", "LEFT") == WRONGTYPE


def test_movablekeys_positions() -> None:
    lmpop = COMMANDS[b"lmpop"]
    assert lmpop.key_positions([b"LMPOP", b"2", b"a", b"b", b"LEFT"]) == [2, 3]
    assert COMMANDS[b"blmpop"].key_positions([b"BLMPOP", b"0", b"1", b"a", b"LEFT"]) == [3]
    assert COMMANDS[b"blpop"].key_positions([b"BLPOP", b"a", b"b", b"0"]) == [1, 2]
    assert COMMANDS[b"lmove"].key_positions([b"LMOVE", b"a", b"b", b"LEFT", b"LEFT"]) == [1, 2]


def test_command_table_matches_redis_7_0() -> None:
    want = {
        "lpush": (-3, ("write", "denyoom", "fast")), "lpop": (-2, ("write", "fast")),
        "lrange": (4, ("readonly",)), "lset": (4, ("write", "denyoom")), "lmpop": (-4, ("write", "movablekeys")),
        "blpop": (-3, ("write", "noscript", "blocking")), "blmove": (6, ("write", "denyoom", "noscript", "blocking")),
        "blmpop": (-5, ("write", "blocking", "movablekeys")), "lpos": (-3, ("readonly",)),
    }
    for name, (arity, flags) in want.items():
        cmd = COMMANDS[name.encode()]
        assert (cmd.arity, cmd.flags) == (arity, flags), name
    assert COMMANDS[b"blpop"].acl == ("@write", "@list", "@slow", "@blocking")
    assert COMMANDS[b"llen"].acl == ("@read", "@list", "@fast")


# ---- blocking -----------------------------------------------------------------------------------


def test_blocking_commands_serve_at_once_when_data_is_there(r: Any) -> None:
    r.run("RPUSH", "b", "1", "2", "3")
    assert r.run("BLPOP", "a", "b", 0) == [b"b", b"1"]
    assert r.run("BRPOP", "a", "b", 0) == [b"b", b"3"]
    assert r.run("BLMOVE", "b", "d", "LEFT", "LEFT", 0) == b"2"
    assert r.run("BRPOPLPUSH", "d", "b", 0) == b"2"
    assert r.run("BLMPOP", 0, 2, "a", "b", "LEFT", "COUNT", 2) == [b"b", [b"2"]]


def test_blocking_commands_inside_multi_do_not_block(r: Any) -> None:
    r.run("MULTI")
    for argv in (("BLPOP", "a", 1), ("BLMOVE", "a", "b", "LEFT", "RIGHT", 1), ("BRPOPLPUSH", "a", "b", 1),
                 ("BLMPOP", 1, 1, "a", "LEFT"), ("BRPOP", "a", 0)):
        r.run(*argv)
    assert r.run("EXEC") == [NULL_ARRAY, None, None, NULL_ARRAY, NULL_ARRAY]


def test_blocking_argument_errors(r: Any) -> None:
    r.run("SET", "s", "v")
    neg = ErrorReply(errors.TIMEOUT_NEGATIVE)
    nf = ErrorReply(errors.TIMEOUT_NOT_FLOAT)
    assert r.run("BLPOP", "a", -1) == neg
    assert r.run("BLPOP", "a", "inf") == neg
    assert r.run("BLPOP", "a", "1e100") == neg
    assert r.run("BLPOP", "a", 9223372036854775807) == neg
    assert r.run("BLPOP", "a", "abc") == nf
    assert r.run("BLPOP", "a", "nan") == nf
    assert r.run("BLPOP", "a", " 1") == nf
    assert r.run("BLPOP", "s", -1) == neg  # the timeout is checked before the key
    assert r.run("BLPOP", "s", 0) == WRONGTYPE
    assert r.run("BLMOVE", "s", "d", "MIDDLE", "LEFT", -1) == SYNTAX
    assert r.run("BLMPOP", -1, 0, "a", "LEFT") == ErrorReply(errors.ZSET_NUMKEYS)
    assert r.run("BLMPOP", -1, 1, "a", "LEFT", "COUNT", 0) == ErrorReply(errors.ZSET_COUNT)
    assert r.run("BLMPOP", -1, 1, "a", "LEFT") == neg


async def test_blpop_blocks_until_a_push_from_another_client(r: Any) -> None:
    d = r.run("BLPOP", "a", "b", 0)
    assert isinstance(d, Deferred) and r.client.blocked
    run_as(r.node, r.other(), "RPUSH", "b", "x", "y")
    assert await asyncio.wait_for(d.future, 2) == [b"b", b"x"]
    assert lrange(r, "b") == [b"y"]
    assert not r.client.blocked and not r.node.keyspace.dbs[0].waiters
    assert effects(r)[0][0] == LREMOVE  # the pop is its own op


async def test_blocked_clients_are_served_in_order(r: Any) -> None:
    c2, c3 = r.other(), r.other()
    d1 = r.run("BRPOP", "q", 0)
    d2 = run_as(r.node, c2, "BRPOP", "q", 0)
    run_as(r.node, c3, "LPUSH", "q", "1")
    assert await asyncio.wait_for(d1.future, 2) == [b"q", b"1"]
    await asyncio.sleep(0.01)
    assert not d2.future.done()
    run_as(r.node, c3, "LPUSH", "q", "2", "3")
    assert await asyncio.wait_for(d2.future, 2) == [b"q", b"2"]
    assert lrange(r, "q") == [b"3"]


async def test_blocking_timeout_and_disconnect_clean_up(r: Any) -> None:
    d = r.run("BLPOP", "a", 0.01)
    assert await asyncio.wait_for(d.future, 2) is NULL_ARRAY
    assert not r.node.keyspace.dbs[0].waiters and not r.client.blocked
    d = r.run("BLMOVE", "a", "b", "LEFT", "LEFT", 0.01)
    assert await asyncio.wait_for(d.future, 2) is NULL_ARRAY  # a null array, like Redis
    d = r.run("BLMPOP", 0, 2, "a", "b", "LEFT")
    d.future.cancel()  # the connection went away
    await asyncio.sleep(0)
    assert not r.node.keyspace.dbs[0].waiters and not r.client.blocked
    run_as(r.node, r.other(), "RPUSH", "a", "x")
    await asyncio.sleep(0.01)
    assert lrange(r, "a") == [b"x"]  # nobody popped it


async def test_blocked_key_of_another_type_keeps_waiting(r: Any) -> None:
    d = r.run("BLPOP", "k", 0)
    other = r.other()
    run_as(r.node, other, "SET", "k", "v")
    await asyncio.sleep(0.01)
    assert not d.future.done()
    run_as(r.node, other, "DEL", "k")
    run_as(r.node, other, "RPUSH", "k", "a")
    assert await asyncio.wait_for(d.future, 2) == [b"k", b"a"]


async def test_blocked_in_one_db_not_woken_by_another(r: Any) -> None:
    d = r.run("BLPOP", "k", 0)
    other = r.other()
    run_as(r.node, other, "SELECT", 1)
    run_as(r.node, other, "RPUSH", "k", "a")
    await asyncio.sleep(0.01)
    assert not d.future.done()
    assert run_as(r.node, other, "LLEN", "k") == 1
    run_as(r.node, other, "SELECT", 0)
    run_as(r.node, other, "RPUSH", "k", "b")
    assert await asyncio.wait_for(d.future, 2) == [b"k", b"b"]


async def test_blmove_and_blmpop_when_woken(r: Any) -> None:
    d1 = r.run("BLMOVE", "src", "dst", "RIGHT", "LEFT", 0)
    c2 = r.other()
    d2 = run_as(r.node, c2, "BLMPOP", 0, 2, "x", "y", "RIGHT", "COUNT", 2)
    other = r.other()
    run_as(r.node, other, "RPUSH", "src", "a", "b")
    assert await asyncio.wait_for(d1.future, 2) == b"b"
    assert lrange(r, "src") == [b"a"] and lrange(r, "dst") == [b"b"]
    run_as(r.node, other, "RPUSH", "y", "1", "2", "3")
    assert await asyncio.wait_for(d2.future, 2) == [b"y", [b"3", b"2"]]
    d3 = r.run("BRPOPLPUSH", "e", "dst", 0)
    run_as(r.node, other, "RPUSH", "e", "z")
    assert await asyncio.wait_for(d3.future, 2) == b"z"
    assert lrange(r, "dst") == [b"z", b"b"]


async def test_blmove_to_a_wrongtype_destination_errors_when_woken(r: Any) -> None:
    d = r.run("BLMOVE", "src", "dst", "LEFT", "LEFT", 0)
    other = r.other()
    run_as(r.node, other, "SET", "dst", "v")
    run_as(r.node, other, "RPUSH", "src", "a")
    assert await asyncio.wait_for(d.future, 2) == WRONGTYPE
    assert lrange(r, "src") == [b"a"]


async def test_expired_key_is_not_served(r: Any) -> None:
    other = r.other()
    run_as(r.node, other, "RPUSH", "k", "a")
    run_as(r.node, other, "PEXPIRE", "k", 1)
    await asyncio.sleep(0.01)
    d = r.run("BLPOP", "k", 0)
    assert isinstance(d, Deferred)
    run_as(r.node, other, "RPUSH", "k", "b")
    assert await asyncio.wait_for(d.future, 2) == [b"k", b"b"]


def test_single_node_lists_keep_no_tombstones() -> None:
    s = Single()
    s.run("RPUSH", "l", *[str(i) for i in range(100)])
    s.run("LPOP", "l", 10)
    s.run("LREM", "l", 0, "50")
    s.run("LTRIM", "l", 5, -5)
    e = s.node.keyspace.dbs[0].data[b"l"]
    assert type(e) is ListEntry
    assert not e.rm and sum(len(b.vals) for b in e.blocks) == e.size == 80


async def test_blocked_on_several_keys_served_from_the_key_written_first(r: Any) -> None:
    d = r.run("BLPOP", "k1", "k2", 0)
    other = r.other()
    for argv in (("MULTI",), ("RPUSH", "k2", "x"), ("RPUSH", "k1", "y"), ("EXEC",)):
        run_as(r.node, other, *argv)
    assert await asyncio.wait_for(d.future, 2) == [b"k2", b"x"]
    assert lrange(r, "k1") == [b"y"]
