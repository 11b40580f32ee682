"""Set commands in-process (commands/sets.py): replies, errors, RESP3 shapes, the effects
each command ships, SSCAN cursors. Exact byte-for-byte agreement with real Redis is
checked by tests/differential/test_diff_sets.py."""
from __future__ import annotations

import dataclasses
import random
from typing import Any

import pytest

from crdtredis import errors
from crdtredis.commands import new_node
from crdtredis.commands import sets as set_cmds
from crdtredis.commands.registry import COMMANDS
from crdtredis.config import default_config
from crdtredis.crdt import codes
from crdtredis.crdt.set_aw import SADD, SREM, SetEntry
from crdtredis.keyspace import CREATE
from crdtredis.op import Op
from crdtredis.protocol.resp import encode_reply
from crdtredis.reply import NULL_ARRAY, ErrorReply, SetReply
from tests.support.sim import Replica

WRONGTYPE = ErrorReply(errors.WRONGTYPE)
SYNTAX = ErrorReply(errors.SYNTAX)


class Single:
    """A node with no peers (every op causally stable at once), like a default server."""

    def __init__(self) -> None:
        self.node = new_node(dataclasses.replace(default_config(), replica_id="t", peers=()))
        self.client = self.node.new_client("test", "test", lambda: None)
        self.ops: list[Op] = []
        self.node.op_listeners.append(self.ops.append)

    def run(self, *argv: Any) -> Any:
        args = [a if isinstance(a, bytes) else str(a).encode() for a in argv]
        return self.node.execute(self.client, args)


@pytest.fixture(params=["single", "peers"])
def r(request: pytest.FixtureRequest) -> Any:
    """Every command behaves the same with and without peers, as seen by one client."""
    if request.param == "single":
        return Single()
    rep = Replica("p")
    rep.ops = rep.emitted  # type: ignore[attr-defined]
    return rep


@pytest.fixture
def single() -> Single:
    return Single()


@pytest.fixture
def peers() -> Any:
    rep = Replica("p")
    rep.ops = rep.emitted  # type: ignore[attr-defined]
    return rep


def items(reply: Any) -> list[bytes]:
    assert type(reply) is SetReply, reply
    return sorted(reply.items)


def wire(reply: Any, resp: int) -> bytes:
    out = bytearray()
    encode_reply(out, reply, resp)
    return bytes(out)


def entry(r: Any, key: bytes = b"s") -> SetEntry:
    e = r.node.keyspace.dbs[0].data[key]
    assert type(e) is SetEntry
    return e


# ---- SADD / SREM / reads --------------------------------------------------------------------


def test_sadd_counts_new_members_and_dedupes(r: Any) -> None:
    assert r.run("SADD", "s", "a", "b", "a") == 2
    assert r.run("SADD", "s", "b", "c") == 1
    assert items(r.run("SMEMBERS", "s")) == [b"a", b"b", b"c"]
    assert r.run("SCARD", "s") == 3
    assert r.run("TYPE", "s") == b"set"


def test_sadd_ships_one_effect_with_each_member_once(r: Any) -> None:
    r.run("SADD", "s", "a", "b", "a")
    assert r.ops[-1].effects == [(SADD | CREATE, 0, b"s", b"a", b"b")]  # a new key


def test_sadd_of_present_members_ships_nothing_with_or_without_peers(r: Any) -> None:
    r.run("SADD", "s", "a", "b")
    n = len(r.ops)
    assert r.run("SADD", "s", "a") == 0
    assert r.run("SADD", "s", "b", "a", "b") == 0
    assert len(r.ops) == n
    assert r.run("SADD", "s", "a", "c", "b", "c") == 1
    assert len(r.ops) == n + 1
    assert r.ops[-1].effects == [(SADD, 0, b"s", b"c")]  # the new member only


def test_srem_counts_and_ships_present_members_only(r: Any) -> None:
    r.run("SADD", "s", "a", "b", "c")
    assert r.run("SREM", "s", "a", "x", "a") == 1
    assert r.ops[-1].effects == [(SREM, 0, b"s", b"a")]
    n = len(r.ops)
    assert r.run("SREM", "s", "x") == 0
    assert r.run("SREM", "nokey", "x") == 0
    assert len(r.ops) == n


def test_srem_emptying_the_set_ships_del_and_drops_the_ttl(r: Any) -> None:
    r.run("SADD", "s", "a", "b")
    r.run("EXPIRE", "s", "100")
    assert r.run("SREM", "s", "a", "b") == 2
    assert r.ops[-1].effects == [(codes.DEL, 0, b"s")]
    assert r.run("EXISTS", "s") == 0
    r.run("SADD", "s", "c")
    assert r.run("TTL", "s") == -1


def test_sismember_smismember_scard(r: Any) -> None:
    r.run("SADD", "s", "a", "1")
    assert r.run("SISMEMBER", "s", "a") == 1
    assert r.run("SISMEMBER", "s", "z") == 0
    assert r.run("SISMEMBER", "nokey", "a") == 0
    assert r.run("SMISMEMBER", "s", "a", "z", "1") == [1, 0, 1]
    assert r.run("SMISMEMBER", "nokey", "a", "b") == [0, 0]
    assert r.run("SCARD", "nokey") == 0


def test_smembers_intset_sorted_missing_key_empty(r: Any) -> None:
    r.run("SADD", "s", "10", "-2", "3")
    assert r.run("SMEMBERS", "s").items == [b"-2", b"3", b"10"]
    assert r.run("OBJECT", "ENCODING", "s") == b"intset"
    r.run("SADD", "s", "x")
    assert r.run("OBJECT", "ENCODING", "s") == b"hashtable"
    assert items(r.run("SMEMBERS", "nokey")) == []


@pytest.mark.parametrize("argv", [
    ("SADD", "str", "a"), ("SREM", "str", "a"), ("SMEMBERS", "str"), ("SISMEMBER", "str", "a"),
    ("SMISMEMBER", "str", "a"), ("SCARD", "str"), ("SPOP", "str"), ("SPOP", "str", "1"),
    ("SRANDMEMBER", "str"), ("SRANDMEMBER", "str", "1"), ("SMOVE", "str", "s", "a"),
    ("SMOVE", "s", "str", "a"), ("SINTER", "s", "str"), ("SINTER", "nokey", "str"),
    ("SINTERCARD", "2", "nokey", "str"), ("SINTERSTORE", "d", "nokey", "str"), ("SUNION", "s", "str"),
    ("SUNIONSTORE", "d", "str"), ("SDIFF", "nokey", "str"), ("SDIFFSTORE", "d", "s", "str"),
    ("SSCAN", "str", "0"),
])
def test_wrongtype(r: Any, argv: tuple[str, ...]) -> None:
    r.run("SET", "str", "v")
    r.run("SADD", "s", "a")
    assert r.run(*argv) == WRONGTYPE


@pytest.mark.parametrize("argv", [
    ("SADD", "s"), ("SREM", "s"), ("SMEMBERS",), ("SMEMBERS", "a", "b"), ("SISMEMBER", "s"),
    ("SMISMEMBER", "s"), ("SCARD",), ("SPOP",), ("SRANDMEMBER",), ("SMOVE", "a", "b"),
    ("SINTER",), ("SINTERCARD", "1"), ("SINTERSTORE", "d"), ("SUNION",), ("SUNIONSTORE", "d"),
    ("SDIFF",), ("SDIFFSTORE", "d"), ("SSCAN", "s"),
])
def test_wrong_arity(r: Any, argv: tuple[str, ...]) -> None:
    assert r.run(*argv) == ErrorReply(errors.wrong_arity(argv[0].lower()))


# ---- SPOP / SRANDMEMBER ---------------------------------------------------------------------


def test_spop_single_removes_and_returns_a_member(r: Any) -> None:
    r.run("SADD", "s", "a", "b", "c")
    x = r.run("SPOP", "s")
    assert x in (b"a", b"b", b"c")
    assert r.ops[-1].effects == [(SREM, 0, b"s", x)]
    assert r.run("SISMEMBER", "s", x) == 0
    assert r.run("SCARD", "s") == 2
    assert r.run("SPOP", "nokey") is None


def test_spop_last_member_ships_del(r: Any) -> None:
    r.run("SADD", "s", "a")
    r.run("EXPIRE", "s", "100")
    assert r.run("SPOP", "s") == b"a"
    assert r.ops[-1].effects == [(codes.DEL, 0, b"s")]
    r.run("SADD", "s", "b")
    assert r.run("TTL", "s") == -1


def test_spop_count(r: Any) -> None:
    r.run("SADD", "s", *[f"m{i}" for i in range(20)])
    got = items(r.run("SPOP", "s", "5"))
    assert len(set(got)) == 5
    assert sorted(r.ops[-1].effects[0][3:]) == got
    assert r.run("SCARD", "s") == 15
    assert r.run("SMISMEMBER", "s", *got) == [0] * 5
    assert items(r.run("SPOP", "s", "0")) == []
    assert items(r.run("SPOP", "nokey", "3")) == []
    rest = items(r.run("SPOP", "s", "100"))
    assert len(rest) == 15 and not set(rest) & set(got)
    assert r.ops[-1].effects == [(codes.DEL, 0, b"s")]
    assert r.run("EXISTS", "s") == 0


def test_spop_count_of_most_members(r: Any) -> None:
    r.run("SADD", "s", *[f"m{i}" for i in range(200)])
    got = items(r.run("SPOP", "s", "150"))
    assert len(set(got)) == 150 and r.run("SCARD", "s") == 50


@pytest.mark.parametrize("count", ["-1", "x", "1.5", "9223372036854775808", ""])
def test_spop_bad_count(r: Any, count: str) -> None:
    r.run("SADD", "s", "a")
    assert r.run("SPOP", "s", count) == ErrorReply(errors.COUNT_NEGATIVE)
    assert r.run("SPOP", "str", count) == ErrorReply(errors.COUNT_NEGATIVE)  # checked first


def test_spop_syntax(r: Any) -> None:
    assert r.run("SPOP", "s", "1", "2") == SYNTAX


def test_srandmember(r: Any) -> None:
    r.run("SADD", "s", "a", "b", "c")
    assert r.run("SRANDMEMBER", "s") in (b"a", b"b", b"c")
    assert r.run("SRANDMEMBER", "nokey") is None
    two = r.run("SRANDMEMBER", "s", "2")
    assert type(two) is list and len(set(two)) == 2 and set(two) <= {b"a", b"b", b"c"}
    assert sorted(r.run("SRANDMEMBER", "s", "10")) == [b"a", b"b", b"c"]
    rep = r.run("SRANDMEMBER", "s", "-10")
    assert len(rep) == 10 and set(rep) <= {b"a", b"b", b"c"}
    assert r.run("SRANDMEMBER", "s", "0") == []
    assert r.run("SRANDMEMBER", "nokey", "5") == []
    assert r.run("SRANDMEMBER", "nokey", "-5") == []
    n = len(r.ops)
    r.run("SRANDMEMBER", "s", "2")
    assert len(r.ops) == n  # a read: nothing shipped


def test_srandmember_big_set_distinct_and_covering() -> None:
    s = Single()
    s.run("SADD", "s", *[f"m{i}" for i in range(1000)])
    seen: set[bytes] = set()
    for _ in range(400):
        got = s.run("SRANDMEMBER", "s", "10")
        assert len(set(got)) == 10
        seen.update(got)
    assert len(seen) > 950
    assert len(set(s.run("SRANDMEMBER", "s", "900"))) == 900


def test_srandmember_errors(r: Any) -> None:
    r.run("SADD", "s", "a")
    assert r.run("SRANDMEMBER", "s", "x") == ErrorReply(errors.NOT_INTEGER)
    assert r.run("SRANDMEMBER", "str", "x") == ErrorReply(errors.NOT_INTEGER)
    assert r.run("SRANDMEMBER", "s", "-9223372036854775808") == ErrorReply(
        errors.value_out_of_range(-(2**63 - 1), 2**63 - 1))
    assert r.run("SRANDMEMBER", "s", "1", "2") == SYNTAX
    assert r.run("SRANDMEMBER", "s", str(-(1 << 24) - 1)) == ErrorReply(errors.SRANDMEMBER_TOO_MANY)
    assert len(r.run("SRANDMEMBER", "s", "9223372036854775807")) == 1
    # The reply's size counts too (proto-max-bulk-len bytes), not only the number of picks.
    r.run("CONFIG", "SET", "proto-max-bulk-len", str(1 << 20))
    r.run("SADD", "big", "x" * 10_000)
    assert r.run("SRANDMEMBER", "big", "-100") == [b"x" * 10_000] * 100
    assert r.run("SRANDMEMBER", "big", "-200") == ErrorReply(errors.SRANDMEMBER_TOO_MANY)


# ---- SMOVE ----------------------------------------------------------------------------------


def test_smove(r: Any) -> None:
    r.run("SADD", "s", "a", "b")
    assert r.run("SMOVE", "s", "t", "a") == 1
    assert r.ops[-1].effects == [(SREM, 0, b"s", b"a"), (SADD | CREATE, 0, b"t", b"a")]
    assert items(r.run("SMEMBERS", "s")) == [b"b"] and items(r.run("SMEMBERS", "t")) == [b"a"]
    assert r.run("SMOVE", "s", "t", "zz") == 0
    assert r.run("SMOVE", "nokey", "t", "a") == 0
    assert r.run("SMOVE", "s", "s", "b") == 1
    assert r.run("SMOVE", "s", "s", "zz") == 0
    assert r.run("SMOVE", "s", "t", "b") == 1  # last member: DEL src
    assert r.ops[-1].effects == [(codes.DEL, 0, b"s"), (SADD, 0, b"t", b"b")]
    assert r.run("EXISTS", "s") == 0
    assert items(r.run("SMEMBERS", "t")) == [b"a", b"b"]


def test_smove_missing_source_ignores_destination_type(r: Any) -> None:
    r.run("SET", "str", "v")
    assert r.run("SMOVE", "nokey", "str", "a") == 0
    r.run("SADD", "s", "a")
    assert r.run("SMOVE", "s", "str", "a") == WRONGTYPE
    assert r.run("SMOVE", "s", "str", "zz") == WRONGTYPE


# ---- algebra --------------------------------------------------------------------------------


def setup_abc(r: Any) -> None:
    r.run("SADD", "a", "1", "2", "3", "x")
    r.run("SADD", "b", "2", "3", "4", "x")
    r.run("SADD", "c", "3", "x", "y")


def test_sinter_sunion_sdiff(r: Any) -> None:
    setup_abc(r)
    assert items(r.run("SINTER", "a", "b", "c")) == [b"3", b"x"]
    assert items(r.run("SINTER", "a")) == [b"1", b"2", b"3", b"x"]
    assert items(r.run("SINTER", "a", "nokey")) == []
    assert items(r.run("SUNION", "a", "nokey", "c")) == [b"1", b"2", b"3", b"x", b"y"]
    assert items(r.run("SDIFF", "a", "b")) == [b"1"]
    assert items(r.run("SDIFF", "a", "nokey")) == [b"1", b"2", b"3", b"x"]
    assert items(r.run("SDIFF", "nokey", "a")) == []
    assert items(r.run("SDIFF", "a", "a")) == []
    assert items(r.run("SDIFF", "a", "b", "c")) == [b"1"]


def test_sunion_sdiff_of_integers_are_sorted_like_an_intset(r: Any) -> None:
    r.run("SADD", "a", "30", "x", "-1")
    r.run("SADD", "b", "7", "x")
    assert r.run("SDIFF", "a", "b").items == [b"-1", b"30"]
    assert r.run("SUNION", "b", "nokey").items == [b"7", b"x"]  # not all integers: as built
    r.run("SREM", "a", "x")
    assert r.run("SUNION", "a").items == [b"-1", b"30"]


def test_sintercard(r: Any) -> None:
    setup_abc(r)
    assert r.run("SINTERCARD", "2", "a", "b") == 3
    assert r.run("SINTERCARD", "2", "a", "b", "LIMIT", "2") == 2
    assert r.run("SINTERCARD", "2", "a", "b", "limit", "0") == 3
    assert r.run("SINTERCARD", "2", "a", "b", "LIMIT", "1", "LIMIT", "5") == 3
    assert r.run("SINTERCARD", "1", "nokey") == 0
    assert r.run("SINTERCARD", "3", "a", "b", "c") == 2
    numkeys = ErrorReply(errors.ZSET_NUMKEYS)
    assert r.run("SINTERCARD", "0", "a") == numkeys
    assert r.run("SINTERCARD", "-1", "a") == numkeys
    assert r.run("SINTERCARD", "x", "a") == numkeys
    assert r.run("SINTERCARD", "3", "a", "b") == ErrorReply(errors.NUMKEYS_EXCEED_ARGS)
    assert r.run("SINTERCARD", "1", "a", "LIMIT") == SYNTAX
    assert r.run("SINTERCARD", "1", "a", "b") == SYNTAX
    assert r.run("SINTERCARD", "1", "a", "LIMIT", "-1") == ErrorReply(errors.ZSET_LIMIT_NEGATIVE)
    assert r.run("SINTERCARD", "1", "a", "LIMIT", "x") == ErrorReply(errors.ZSET_LIMIT_NEGATIVE)


def test_sintercard_key_positions() -> None:
    cmd = COMMANDS[b"sintercard"]
    assert cmd.key_positions([b"sintercard", b"2", b"a", b"b", b"LIMIT", b"1"]) == [2, 3]
    assert cmd.key_positions([b"sintercard", b"9", b"a"]) == []
    assert cmd.key_positions([b"sintercard", b"x", b"a"]) == []


def test_store_commands(r: Any) -> None:
    setup_abc(r)
    assert r.run("SINTERSTORE", "d", "a", "b") == 3
    assert items(r.run("SMEMBERS", "d")) == [b"2", b"3", b"x"]
    assert r.run("SUNIONSTORE", "d", "c", "nokey") == 3
    assert items(r.run("SMEMBERS", "d")) == [b"3", b"x", b"y"]
    assert r.ops[-1].effects == [(codes.DEL, 0, b"d"), (SADD, 0, b"d", b"3", b"x", b"y")]  # the DEL deleted first
    assert r.run("SDIFFSTORE", "d", "a", "b", "c") == 1
    assert items(r.run("SMEMBERS", "d")) == [b"1"]
    # A destination that is also a source.
    assert r.run("SUNIONSTORE", "a", "a", "c") == 5
    assert items(r.run("SMEMBERS", "a")) == [b"1", b"2", b"3", b"x", b"y"]


def test_store_empty_result_deletes_destination(r: Any) -> None:
    setup_abc(r)
    r.run("SADD", "d", "old")
    r.run("EXPIRE", "d", "100")
    assert r.run("SINTERSTORE", "d", "a", "nokey") == 0
    assert r.run("EXISTS", "d") == 0
    n = len(r.ops)
    assert r.run("SDIFFSTORE", "d", "a", "a") == 0
    assert r.run("SUNIONSTORE", "d", "nokey") == 0
    assert len(r.ops) == n  # nothing to delete: nothing shipped


def test_store_overwrites_any_type_and_drops_ttl(r: Any) -> None:
    setup_abc(r)
    r.run("SET", "d", "v", "EX", "100")
    assert r.run("SINTERSTORE", "d", "a", "c") == 2
    assert r.run("TYPE", "d") == b"set"
    assert r.run("TTL", "d") == -1
    assert r.run("OBJECT", "ENCODING", "d") == b"hashtable"
    assert r.run("SINTERSTORE", "d", "a", "b", "c") == 2
    r.run("SADD", "n", "5", "1")
    assert r.run("SUNIONSTORE", "d", "n") == 2
    assert r.run("OBJECT", "ENCODING", "d") == b"intset"


def test_rename_and_copy_rebuild_the_set(r: Any) -> None:
    r.run("SADD", "s", "a", "b")
    assert r.run("COPY", "s", "t") == 1
    assert r.run("RENAME", "s", "u") == b"OK"
    assert items(r.run("SMEMBERS", "t")) == items(r.run("SMEMBERS", "u")) == [b"a", b"b"]


# ---- SSCAN ----------------------------------------------------------------------------------


def sscan_all(r: Any, key: str, *opts: str, start: str = "0", max_calls: int = 10_000) -> tuple[list[bytes], int]:
    cursor = start
    out: list[bytes] = []
    for calls in range(1, max_calls):
        rep = r.run("SSCAN", key, cursor, *opts)
        assert type(rep) is list and len(rep) == 2, rep
        cursor = rep[0].decode()
        out.extend(rep[1])
        if cursor == "0":
            return out, calls
    raise AssertionError("SSCAN never finished")


def test_sscan_intset_whole_in_one_call(r: Any) -> None:
    r.run("SADD", "s", "3", "1", "2")
    assert r.run("SSCAN", "s", "0") == [b"0", [b"1", b"2", b"3"]]
    assert r.run("SSCAN", "s", "12345") == [b"0", [b"1", b"2", b"3"]]
    assert r.run("SSCAN", "s", "0", "MATCH", "[12]") == [b"0", [b"1", b"2"]]
    assert r.run("SSCAN", "nokey", "0") == [b"0", []]
    assert r.run("SSCAN", "nokey", "0", "COUNT", "0") == [b"0", []]  # options unchecked


def test_sscan_hashtable_visits_every_member_once(r: Any) -> None:
    names = [f"m{i}" for i in range(500)]
    r.run("SADD", "s", *names)
    got, calls = sscan_all(r, "s")
    assert sorted(got) == sorted(n.encode() for n in names) and len(got) == 500
    assert calls >= 50
    got, calls = sscan_all(r, "s", "COUNT", "100")
    assert len(got) == 500 and calls == 5
    got, _ = sscan_all(r, "s", "MATCH", "m1?", "COUNT", "7")
    assert sorted(got) == sorted(f"m1{i}".encode() for i in range(10))


def test_sscan_guarantees_under_concurrent_changes(r: Any) -> None:
    r.run("SADD", "s", *[f"m{i}" for i in range(300)])
    cursor = "0"
    seen: list[bytes] = []
    step = 0
    while True:
        cursor_b, batch = r.run("SSCAN", "s", cursor, "COUNT", "20")
        seen.extend(batch)
        cursor = cursor_b.decode()
        step += 1
        # Meanwhile: remove some early members, add new ones.
        r.run("SREM", "s", f"m{step}")
        r.run("SADD", "s", f"new{step}")
        if cursor == "0":
            break
    removed = {f"m{i}".encode() for i in range(1, step + 1)}
    always = {f"m{i}".encode() for i in range(300)} - removed
    assert always <= set(seen)
    assert len(seen) == len(set(seen))


def test_sscan_cursor_whose_snapshot_is_gone_resumes(r: Any) -> None:
    r.run("SADD", "s", *[f"m{i}" for i in range(100)])
    first = r.run("SSCAN", "s", "0", "COUNT", "30")
    set_cmds._SCANS.clear()
    got, _ = sscan_all(r, "s", "COUNT", "30", start=first[0].decode())
    assert len(set(first[1]) | set(got)) == 100


@pytest.mark.parametrize("cursor,ok", [
    ("x", False), (" 1", False), ("1 ", False), ("-", False), ("+", False), ("1.5", False),
    ("18446744073709551616", False), ("18446744073709551615", True), ("-1", True), ("01", True),
    ("+5", True), ("", True),
])
def test_sscan_cursor_parsing(r: Any, cursor: str, ok: bool) -> None:
    r.run("SADD", "s", "1")  # an intset: returned whole whatever the cursor
    rep = r.run("SSCAN", "s", cursor)
    if ok:
        assert rep == [b"0", [b"1"]]
    else:
        assert rep == ErrorReply(errors.INVALID_CURSOR)
        assert r.run("SSCAN", "nokey", cursor) == ErrorReply(errors.INVALID_CURSOR)


def test_sscan_option_errors(r: Any) -> None:
    r.run("SADD", "s", "a")
    assert r.run("SSCAN", "s", "0", "COUNT", "0") == SYNTAX
    assert r.run("SSCAN", "s", "0", "COUNT", "-1") == SYNTAX
    assert r.run("SSCAN", "s", "0", "COUNT", "x") == ErrorReply(errors.NOT_INTEGER)
    assert r.run("SSCAN", "s", "0", "MATCH") == SYNTAX
    assert r.run("SSCAN", "s", "0", "TYPE", "set") == SYNTAX
    assert r.run("SSCAN", "s", "0", "FOO", "bar") == SYNTAX
    assert r.run("SSCAN", "s", "0", "count", "5", "match", "*") == [b"0", [b"a"]]


# ---- RESP3 and transactions ------------------------------------------------------------------


def test_resp2_and_resp3_shapes(r: Any) -> None:
    r.run("SADD", "s", "1", "2")
    cases = [
        (("SMEMBERS", "s"), b"*2\r\n", b"~2\r\n"),
        (("SMEMBERS", "nokey"), b"*0\r\n", b"~0\r\n"),
        (("SINTER", "s"), b"*2\r\n", b"~2\r\n"),
        (("SUNION", "s"), b"*2\r\n", b"~2\r\n"),
        (("SDIFF", "s"), b"*2\r\n", b"~2\r\n"),
        (("SRANDMEMBER", "s", "2"), b"*2\r\n", b"*2\r\n"),
        (("SRANDMEMBER", "nokey", "2"), b"*0\r\n", b"*0\r\n"),
        (("SRANDMEMBER", "nokey"), b"$-1\r\n", b"_\r\n"),
        (("SMISMEMBER", "s", "1"), b"*1\r\n", b"*1\r\n"),
        (("SPOP", "nokey", "2"), b"*0\r\n", b"~0\r\n"),
        (("SSCAN", "s", "0"), b"*2\r\n", b"*2\r\n"),
    ]
    for argv, two, three in cases:
        rep = r.run(*argv)
        assert wire(rep, 2).startswith(two), argv
        assert wire(rep, 3).startswith(three), argv
    assert wire(r.run("SPOP", "s", "1"), 3).startswith(b"~1\r\n")


def test_multi_exec_ships_one_op(r: Any) -> None:
    r.run("SADD", "s", "a", "b")
    n = len(r.ops)
    r.run("MULTI")
    r.run("SADD", "s", "c")
    r.run("SREM", "s", "a")
    r.run("SMOVE", "s", "t", "b")
    assert r.run("EXEC") == [1, 1, 1]
    assert len(r.ops) == n + 1
    assert [e[0] for e in r.ops[-1].effects] == [SADD, SREM, SREM, SADD | CREATE]
    assert items(r.run("SMEMBERS", "s")) == [b"c"]


def test_watch_is_invalidated_by_sadd(r: Any) -> None:
    c2 = r.node.new_client("c2", "c2", lambda: None)
    r.run("WATCH", "s")
    r.node.execute(c2, [b"SADD", b"s", b"a"])
    r.run("MULTI")
    r.run("SCARD", "s")
    assert r.run("EXEC") is NULL_ARRAY
    r.run("WATCH", "s")
    r.node.execute(c2, [b"SADD", b"s", b"a"])  # already there: no change, no touch (peers too)
    r.run("MULTI")
    r.run("SCARD", "s")
    assert r.run("EXEC") == [1]


def test_command_table_matches_redis_7() -> None:
    expect = {
        "sadd": (-3, "write denyoom fast", 1, 1, 1), "srem": (-3, "write fast", 1, 1, 1),
        "smembers": (2, "readonly", 1, 1, 1), "sismember": (3, "readonly fast", 1, 1, 1),
        "smismember": (-3, "readonly fast", 1, 1, 1), "scard": (2, "readonly fast", 1, 1, 1),
        "spop": (-2, "write fast", 1, 1, 1), "srandmember": (-2, "readonly", 1, 1, 1),
        "smove": (4, "write fast", 1, 2, 1), "sinter": (-2, "readonly", 1, -1, 1),
        "sintercard": (-3, "readonly movablekeys", 0, 0, 0), "sinterstore": (-3, "write denyoom", 1, -1, 1),
        "sunion": (-2, "readonly", 1, -1, 1), "sunionstore": (-3, "write denyoom", 1, -1, 1),
        "sdiff": (-2, "readonly", 1, -1, 1), "sdiffstore": (-3, "write denyoom", 1, -1, 1),
        "sscan": (-3, "readonly", 1, 1, 1),
    }
    for name, (arity, flags, first, last, step) in expect.items():
        cmd = COMMANDS[name.encode()]
        assert (cmd.arity, cmd.flags, cmd.first_key, cmd.last_key, cmd.step) == (
            arity, tuple(flags.split()), first, last, step), name
        assert cmd.group == "set" and "@set" in cmd.acl


def test_random_choices_use_the_module_rng(monkeypatch: pytest.MonkeyPatch) -> None:
    s = Single()
    s.run("SADD", "s", *[f"m{i}" for i in range(100)])
    monkeypatch.setattr(set_cmds, "_RNG", random.Random(1))
    a = [s.run("SRANDMEMBER", "s"), s.run("SRANDMEMBER", "s", "5"), s.run("SRANDMEMBER", "s", "-5")]
    monkeypatch.setattr(set_cmds, "_RNG", random.Random(1))
    b = [s.run("SRANDMEMBER", "s"), s.run("SRANDMEMBER", "s", "5"), s.run("SRANDMEMBER", "s", "-5")]
    assert a == b


def test_sadd_of_one_member_checks_the_ttl_and_the_type_first(single: Single) -> None:
    """SADD key member skips `_write` for a set in a db without TTLs: a db with one still
    expires the key first (the member is then new again), and another type still refuses."""
    now = [1_000_000]
    single.node.clock = lambda: now[0]
    assert single.run("SADD", "s", "a") == 1
    assert single.run("SADD", "s", "a") == 0
    assert single.run("PEXPIRE", "s", 100) == 1
    assert single.run("SADD", "s", "a") == 0  # not expired yet
    now[0] += 200
    assert single.run("SADD", "s", "a") == 1  # the set expired: a new one
    single.run("SET", "str", "v")
    assert single.run("SADD", "str", "a") == WRONGTYPE
