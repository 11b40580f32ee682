"""Hash commands in-process: replies, errors, RESP2/RESP3 wire shapes, the effects they emit,
single-node and replicated modes alike."""
from __future__ import annotations

import random
import time
from typing import Any

import pytest

from crdtredis.commands.hashes import parse_cursor
from crdtredis.commands.registry import COMMANDS
from crdtredis.crdt import codes
from crdtredis.crdt.map_fields import HDEL, HINCR, HSET, HashEntry
from crdtredis.keyspace import CREATE
from crdtredis.protocol.resp import encode_reply
from crdtredis.reply import CommandError, ErrorReply, Map, Status
from tests.support.sim import Cluster, Replica

WRONGTYPE = ErrorReply("WRONGTYPE Operation against a key holding the wrong kind of value")
NOT_INT = ErrorReply("ERR value is not an integer or out of range")
SYNTAX = ErrorReply("ERR syntax error")


@pytest.fixture(params=["single", "replicated"])
def r(request: pytest.FixtureRequest) -> Replica:
    """A node alone (values fold into plain bytes) or with peers (stamps kept): every
    command must answer the same in both."""
    rep = Replica("n1")
    rep.node.keyspace.solo = request.param != "replicated"
    return rep


def wire(r: Replica, *argv: Any, resp: int = 2) -> bytes:
    r.client.resp = resp
    try:
        out = bytearray()
        encode_reply(out, r.run(*argv), resp)
        return bytes(out)
    finally:
        r.client.resp = 2


def effects(r: Replica, *argv: Any) -> list[tuple[Any, ...]]:
    before = len(r.emitted)
    r.run(*argv)
    return [eff for op in r.emitted[before:] for eff in op.effects]


def hgetall(r: Replica, key: str = "h") -> list[tuple[bytes, bytes]]:
    reply = r.run("HGETALL", key)
    assert isinstance(reply, Map)
    return reply.items


# ---- the command table -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name, arity, flags",
    [
        ("hset", -4, ("write", "denyoom", "fast")),
        ("hsetnx", 4, ("write", "denyoom", "fast")),
        ("hmset", -4, ("write", "denyoom", "fast")),
        ("hget", 3, ("readonly", "fast")),
        ("hmget", -3, ("readonly", "fast")),
        ("hgetall", 2, ("readonly",)),
        ("hdel", -3, ("write", "fast")),
        ("hlen", 2, ("readonly", "fast")),
        ("hexists", 3, ("readonly", "fast")),
        ("hkeys", 2, ("readonly",)),
        ("hvals", 2, ("readonly",)),
        ("hincrby", 4, ("write", "denyoom", "fast")),
        ("hincrbyfloat", 4, ("write", "denyoom", "fast")),
        ("hstrlen", 3, ("readonly", "fast")),
        ("hrandfield", -2, ("readonly",)),
        ("hscan", -3, ("readonly",)),
    ],
)
def test_command_table_matches_redis_7_0(r: Replica, name: str, arity: int, flags: tuple[str, ...]) -> None:
    cmd = COMMANDS[name.encode()]
    assert (cmd.arity, cmd.flags, cmd.first_key, cmd.last_key, cmd.step) == (arity, flags, 1, 1, 1)
    assert cmd.group == "hash" and "@hash" in cmd.acl


# ---- HSET / HMSET / HSETNX / HGET / HMGET ----------------------------------------------------


def test_hset_counts_new_fields_and_overwrites(r: Replica) -> None:
    assert r.run("HSET", "h", "a", "1", "b", "2") == 2
    assert r.run("HSET", "h", "a", "10", "c", "3") == 1
    assert r.run("HGET", "h", "a") == b"10"
    assert r.run("HGET", "h", "zz") is None
    assert r.run("HGET", "nokey", "a") is None
    assert r.run("HMGET", "h", "a", "zz", "c") == [b"10", None, b"3"]
    assert r.run("HMGET", "nokey", "a", "b") == [None, None]
    assert r.run("HLEN", "h") == 3
    assert r.run("HLEN", "nokey") == 0


def test_hset_repeated_field_is_one_write_with_the_last_value(r: Replica) -> None:
    effs = effects(r, "HSET", "h", "a", "1", "b", "2", "a", "3")
    assert effs == [(HSET | CREATE, 0, b"h", b"a", b"3", b"b", b"2")]
    assert hgetall(r) == [(b"a", b"3"), (b"b", b"2")]
    assert r.run("HSET", "h", "c", "1", "c", "2") == 1


def test_hset_arity_errors(r: Replica) -> None:
    assert r.run("HSET", "h", "f") == ErrorReply("ERR wrong number of arguments for 'hset' command")
    assert r.run("HSET", "h", "f", "v", "g") == ErrorReply("ERR wrong number of arguments for 'hset' command")
    assert r.run("HMSET", "h", "f", "v", "g") == ErrorReply("ERR wrong number of arguments for 'hmset' command")
    assert r.run("HSETNX", "h", "f") == ErrorReply("ERR wrong number of arguments for 'hsetnx' command")
    assert not r.node.keyspace.dbs[0].data


def test_hmset_replies_ok(r: Replica) -> None:
    reply = r.run("HMSET", "h", "a", "1", "b", "2")
    assert isinstance(reply, Status) and reply == b"OK"
    assert wire(r, "HMSET", "h", "a", "1") == b"+OK\r\n"
    assert hgetall(r) == [(b"a", b"1"), (b"b", b"2")]


def test_hsetnx_sets_only_missing_fields_and_emits_nothing_otherwise(r: Replica) -> None:
    assert r.run("HSETNX", "h", "a", "1") == 1
    assert effects(r, "HSETNX", "h", "a", "2") == []
    assert r.run("HSETNX", "h", "a", "2") == 0
    assert r.run("HGET", "h", "a") == b"1"


def test_binary_and_empty_fields_and_values(r: Replica) -> None:
    assert r.run("HSET", "h", b"", b"", b"\x00\xff", b"\r\n") == 2
    assert r.run("HGET", "h", b"") == b""
    assert r.run("HSTRLEN", "h", b"") == 0
    assert r.run("HEXISTS", "h", b"") == 1
    assert r.run("HGET", "h", b"\x00\xff") == b"\r\n"


# ---- reads of the whole hash -------------------------------------------------------------------


def test_hgetall_hkeys_hvals_in_insertion_order(r: Replica) -> None:
    r.run("HSET", "h", "b", "2", "a", "1", "c", "3")
    r.run("HSET", "h", "b", "20")
    r.run("HDEL", "h", "a")
    r.run("HSET", "h", "a", "1")
    assert hgetall(r) == [(b"b", b"20"), (b"c", b"3"), (b"a", b"1")]
    assert r.run("HKEYS", "h") == [b"b", b"c", b"a"]
    assert r.run("HVALS", "h") == [b"20", b"3", b"1"]
    assert r.run("HKEYS", "nokey") == [] and r.run("HVALS", "nokey") == []


def test_hgetall_wire_shapes(r: Replica) -> None:
    r.run("HSET", "h", "a", "1")
    assert wire(r, "HGETALL", "h") == b"*2\r\n$1\r\na\r\n$1\r\n1\r\n"
    assert wire(r, "HGETALL", "h", resp=3) == b"%1\r\n$1\r\na\r\n$1\r\n1\r\n"
    assert wire(r, "HGETALL", "nokey") == b"*0\r\n"
    assert wire(r, "HGETALL", "nokey", resp=3) == b"%0\r\n"
    assert wire(r, "HGET", "nokey", "f", resp=3) == b"_\r\n"
    assert wire(r, "HMGET", "h", "zz", resp=3) == b"*1\r\n_\r\n"


def test_hexists_hstrlen(r: Replica) -> None:
    r.run("HSET", "h", "a", "hello", "n", "-12")
    assert r.run("HEXISTS", "h", "a") == 1
    assert r.run("HEXISTS", "h", "b") == 0
    assert r.run("HEXISTS", "nokey", "a") == 0
    assert r.run("HSTRLEN", "h", "a") == 5
    assert r.run("HSTRLEN", "h", "n") == 3
    assert r.run("HSTRLEN", "h", "zz") == 0
    assert r.run("HSTRLEN", "nokey", "a") == 0


# ---- HDEL --------------------------------------------------------------------------------------


def test_hdel_counts_distinct_present_fields_and_deletes_empty_key(r: Replica) -> None:
    r.run("HSET", "h", "a", "1", "b", "2")
    assert effects(r, "HDEL", "h", "zz") == []
    assert effects(r, "HDEL", "h", "a", "a", "zz") == [(HDEL, 0, b"h", b"a")]
    assert effects(r, "HDEL", "h", "b", "b") == [(codes.DEL, 0, b"h")]  # emptied: the key goes
    assert b"h" not in r.node.keyspace.dbs[0].data
    assert r.run("HDEL", "h", "a") == 0
    assert r.run("HDEL", "nokey", "a") == 0


# ---- HINCRBY / HINCRBYFLOAT --------------------------------------------------------------------


def test_hincrby(r: Replica) -> None:
    assert r.run("HINCRBY", "h", "n", "5") == 5
    assert r.run("HINCRBY", "h", "n", "-7") == -2
    assert r.run("HGET", "h", "n") == b"-2"
    assert effects(r, "HINCRBY", "h", "n", "3") == [(HINCR, 0, b"h", b"n", 3)]
    assert r.run("HINCRBY", "h", "big", "9223372036854775807") == 9223372036854775807
    assert r.run("HINCRBY", "h", "big", "1") == ErrorReply("ERR increment or decrement would overflow")
    assert r.run("HINCRBY", "h", "neg", "-9223372036854775808") == -9223372036854775808
    assert r.run("HINCRBY", "h", "neg", "-1") == ErrorReply("ERR increment or decrement would overflow")


def test_hincrby_errors(r: Replica) -> None:
    r.run("HSET", "h", "s", "abc", "f", "1.5", "sp", " 1", "z", "007")
    for f in ("s", "f", "sp", "z"):
        assert r.run("HINCRBY", "h", f, "1") == ErrorReply("ERR hash value is not an integer"), f
    for bad in ("x", "1.0", "", " 1", "9223372036854775808", "-0"):
        assert r.run("HINCRBY", "h", "n", bad) == NOT_INT, bad
    r.run("SET", "str", "v")
    # The increment is parsed before the key is looked up, as in Redis.
    assert r.run("HINCRBY", "str", "f", "x") == NOT_INT
    assert r.run("HINCRBY", "str", "f", "1") == WRONGTYPE


def test_hincrbyfloat(r: Replica) -> None:
    assert r.run("HINCRBYFLOAT", "h", "f", "10.5") == b"10.5"
    assert r.run("HINCRBYFLOAT", "h", "f", "0.1") == b"10.6"
    assert r.run("HINCRBYFLOAT", "h", "f", "-5e-1") == b"10.1"
    assert r.run("HINCRBYFLOAT", "h", "i", "3.0e3") == b"3000"
    assert r.run("HINCRBYFLOAT", "h", "x", "10000000000.1") == b"10000000000.09999999962747097"
    r.run("HSET", "h", "n", "5")
    assert r.run("HINCRBYFLOAT", "h", "n", "0x1p-1") == b"5.5"
    assert effects(r, "HINCRBYFLOAT", "h", "n", "1.25") == [(HINCR, 0, b"h", b"n", b"1.25")]
    assert r.run("HGET", "h", "n") == b"6.75"
    assert wire(r, "HINCRBYFLOAT", "h", "n", "1", resp=3) == b"$4\r\n7.75\r\n"


def test_hincrbyfloat_errors(r: Replica) -> None:
    r.run("HSET", "h", "s", "abc", "sp", " 1", "inf", "inf")
    assert r.run("HINCRBYFLOAT", "h", "s", "1") == ErrorReply("ERR hash value is not a float")
    assert r.run("HINCRBYFLOAT", "h", "sp", "1") == ErrorReply("ERR hash value is not a float")
    for bad in ("x", "nan", " 1", "1 ", "", "1e5000"):
        assert r.run("HINCRBYFLOAT", "h", "f", bad) == ErrorReply("ERR value is not a valid float"), bad
    assert r.run("HINCRBYFLOAT", "h", "f", "inf") == ErrorReply("ERR value is NaN or Infinity")
    assert r.run("HINCRBYFLOAT", "h", "f", "-infinity") == ErrorReply("ERR value is NaN or Infinity")
    nan_inf = ErrorReply("ERR increment would produce NaN or Infinity")
    assert r.run("HINCRBYFLOAT", "h", "inf", "1") == nan_inf
    assert r.run("HINCRBYFLOAT", "h", "big", "1e4932") != nan_inf
    assert r.run("HINCRBYFLOAT", "h", "big", "1e4932") == nan_inf
    assert r.run("HEXISTS", "h", "f") == 0
    r.run("SET", "str", "v")
    assert r.run("HINCRBYFLOAT", "str", "f", "x") == ErrorReply("ERR value is not a valid float")
    assert r.run("HINCRBYFLOAT", "str", "f", "1") == WRONGTYPE


# ---- HRANDFIELD --------------------------------------------------------------------------------


def test_hrandfield_without_count(r: Replica) -> None:
    assert r.run("HRANDFIELD", "nokey") is None
    r.run("HSET", "h", "a", "1", "b", "2", "c", "3")
    seen = {r.run("HRANDFIELD", "h") for _ in range(200)}
    assert seen == {b"a", b"b", b"c"}


def test_hrandfield_with_count(r: Replica) -> None:
    r.run("HSET", "h", "a", "1", "b", "2", "c", "3")
    assert r.run("HRANDFIELD", "h", "0") == []
    assert r.run("HRANDFIELD", "nokey", "5") == []
    assert r.run("HRANDFIELD", "h", "3") == [b"a", b"b", b"c"]
    assert r.run("HRANDFIELD", "h", "10", "WITHVALUES") == [b"a", b"1", b"b", b"2", b"c", b"3"]
    two = r.run("HRANDFIELD", "h", "2")
    assert len(two) == 2 and len(set(two)) == 2 and set(two) <= {b"a", b"b", b"c"}
    many = r.run("HRANDFIELD", "h", "-50")
    assert len(many) == 50 and set(many) == {b"a", b"b", b"c"}
    pairs = r.run("HRANDFIELD", "h", "-4", "withvalues")
    assert len(pairs) == 8 and all(dict([(b"a", b"1"), (b"b", b"2"), (b"c", b"3")])[f] == v
                                   for f, v in zip(pairs[::2], pairs[1::2], strict=False))


def test_hrandfield_resp3_withvalues_is_nested(r: Replica) -> None:
    r.run("HSET", "h", "a", "1")
    assert wire(r, "HRANDFIELD", "h", "1", "WITHVALUES", resp=3) == b"*1\r\n*2\r\n$1\r\na\r\n$1\r\n1\r\n"
    assert wire(r, "HRANDFIELD", "h", "-2", "WITHVALUES", resp=3) == b"*2\r\n" + b"*2\r\n$1\r\na\r\n$1\r\n1\r\n" * 2
    assert wire(r, "HRANDFIELD", "h", "1", "WITHVALUES") == b"*2\r\n$1\r\na\r\n$1\r\n1\r\n"
    assert wire(r, "HRANDFIELD", "nokey", resp=3) == b"_\r\n"


def test_hrandfield_errors(r: Replica) -> None:
    r.run("HSET", "h", "a", "1")
    assert r.run("HRANDFIELD", "h", "x") == NOT_INT
    assert r.run("HRANDFIELD", "h", "-0") == NOT_INT
    assert r.run("HRANDFIELD", "h", "-9223372036854775808") == ErrorReply(
        "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807")
    assert r.run("HRANDFIELD", "h", "9223372036854775807", "WITHVALUES") == ErrorReply("ERR value is out of range")
    assert r.run("HRANDFIELD", "h", "-4611686018427387904", "WITHVALUES") == ErrorReply("ERR value is out of range")
    assert r.run("HRANDFIELD", "h", "1", "x") == SYNTAX
    assert r.run("HRANDFIELD", "h", "1", "WITHVALUES", "x") == SYNTAX
    assert r.run("HRANDFIELD", "h", "x", "y", "z") == NOT_INT  # the count is parsed first
    too_many = ErrorReply("ERR value is out of range, a negative HRANDFIELD count returns at most 16777216 fields "
                          "and proto-max-bulk-len bytes")
    assert r.run("HRANDFIELD", "h", "-16777217") == too_many
    assert r.run("HRANDFIELD", "h", "-9223372036854775807") == too_many
    assert r.run("HRANDFIELD", "nokey", "-9223372036854775807") == []
    r.run("SET", "str", "v")
    assert r.run("HRANDFIELD", "str") == WRONGTYPE
    assert r.run("HRANDFIELD", "str", "0") == WRONGTYPE


# ---- HSCAN -------------------------------------------------------------------------------------


def test_parse_cursor_like_strtoul() -> None:
    assert parse_cursor(b"0") == 0 and parse_cursor(b"") == 0 and parse_cursor(b"+7") == 7
    assert parse_cursor(b"-1") == (1 << 64) - 1
    assert parse_cursor(b"18446744073709551615") == (1 << 64) - 1
    for bad in (b"x", b" 1", b"1 ", b"18446744073709551616", b"-", b"0x10", b"1.5"):
        with pytest.raises(CommandError):
            parse_cursor(bad)


def test_hscan_small_hash_in_one_call(r: Replica) -> None:
    r.run("HSET", "h", "a", "1", "b", "2", "ab", "3")
    assert r.run("HSCAN", "h", "0") == [b"0", [b"a", b"1", b"b", b"2", b"ab", b"3"]]
    assert r.run("HSCAN", "h", "12345", "COUNT", "1") == [b"0", [b"a", b"1", b"b", b"2", b"ab", b"3"]]
    assert r.run("HSCAN", "h", "0", "MATCH", "a*") == [b"0", [b"a", b"1", b"ab", b"3"]]
    assert r.run("HSCAN", "h", "0", "match", "zz", "count", "5") == [b"0", []]
    assert r.run("HSCAN", "h", "0", "MATCH", "a", "MATCH", "b") == [b"0", [b"b", b"2"]]
    assert r.run("HSCAN", "nokey", "0") == [b"0", []]
    assert wire(r, "HSCAN", "h", "0", "MATCH", "b", resp=3) == b"*2\r\n$1\r\n0\r\n*2\r\n$1\r\nb\r\n$1\r\n2\r\n"


def test_hscan_errors(r: Replica) -> None:
    r.run("HSET", "h", "a", "1")
    assert r.run("HSCAN", "h", "x") == ErrorReply("ERR invalid cursor")
    assert r.run("HSCAN", "h", "0", "COUNT", "0") == SYNTAX
    assert r.run("HSCAN", "h", "0", "COUNT", "x") == NOT_INT
    assert r.run("HSCAN", "h", "0", "MATCH") == SYNTAX
    assert r.run("HSCAN", "h", "0", "TYPE", "string") == SYNTAX
    assert r.run("HSCAN", "h", "0", "FOO", "bar") == SYNTAX
    assert r.run("HSCAN", "nokey", "0", "FOO") == [b"0", []]  # options are read after the lookup
    assert r.run("HSCAN", "nokey", "x") == ErrorReply("ERR invalid cursor")
    r.run("SET", "str", "v")
    assert r.run("HSCAN", "str", "0") == WRONGTYPE


def _scan_all(r: Replica, key: str, *opts: str, during: Any = None) -> tuple[list[bytes], int]:
    cursor = b"0"
    seen: list[bytes] = []
    calls = 0
    while True:
        cursor, batch = r.run("HSCAN", key, cursor, *opts)
        seen.extend(batch[::2])
        calls += 1
        if during is not None:
            during(calls)
        if cursor == b"0":
            return seen, calls


def test_hscan_big_hash_iterates_everything_in_batches(r: Replica) -> None:
    pairs = [x for i in range(1000) for x in (b"f%d" % i, b"%d" % i)]
    r.run("HSET", "h", *pairs)
    seen, calls = _scan_all(r, "h")
    assert sorted(seen) == sorted(pairs[::2]) and len(seen) == 1000
    assert calls >= 100
    seen, calls = _scan_all(r, "h", "COUNT", "300", "MATCH", "f1*")
    assert sorted(seen) == sorted(f for f in pairs[::2] if f.startswith(b"f1"))
    assert 3 <= calls <= 5
    _c, batch = r.run("HSCAN", "h", "0", "COUNT", "3")
    assert dict(zip(batch[::2], batch[1::2], strict=False)) == {f: f[1:] for f in batch[::2]}


def test_hscan_returns_fields_present_throughout_despite_changes(r: Replica) -> None:
    keep = [b"k%d" % i for i in range(500)]
    gone = [b"g%d" % i for i in range(500)]
    r.run("HSET", "h", *[x for f in keep + gone for x in (f, b"v")])
    rng = random.Random(7)

    def churn(call: int) -> None:
        r.run("HDEL", "h", gone[call % 500])
        r.run("HSET", "h", b"new%d" % call, b"v")
        r.run("HSET", "h", rng.choice(keep), b"updated")

    seen, _calls = _scan_all(r, "h", during=churn)
    assert set(keep) <= set(seen)
    assert len(seen) == len(set(seen))


# ---- WRONGTYPE, expiry, transactions, replication ----------------------------------------------


@pytest.mark.parametrize(
    "argv",
    [
        ("HSET", "str", "f", "v"), ("HMSET", "str", "f", "v"), ("HSETNX", "str", "f", "v"), ("HGET", "str", "f"),
        ("HMGET", "str", "f"), ("HGETALL", "str"), ("HKEYS", "str"), ("HVALS", "str"), ("HLEN", "str"),
        ("HEXISTS", "str", "f"), ("HSTRLEN", "str", "f"), ("HDEL", "str", "f"), ("HINCRBY", "str", "f", "1"),
        ("HINCRBYFLOAT", "str", "f", "1"), ("HRANDFIELD", "str"), ("HRANDFIELD", "str", "2", "WITHVALUES"),
        ("HSCAN", "str", "0"),
    ],
)
def test_wrongtype(r: Replica, argv: tuple[str, ...]) -> None:
    r.run("SET", "str", "v")
    assert r.run(*argv) == WRONGTYPE
    assert r.run("GET", "str") == b"v"


def test_hdel_of_the_last_field_drops_the_ttl(r: Replica) -> None:
    r.run("HSET", "h", "a", "1")
    r.node.emit((codes.EXPIRE, 0, b"h", int(time.time() * 1000) + 100_000))
    r.node.close_group()
    r.run("HSET", "h", "b", "2")
    r.run("HDEL", "h", "a", "b")
    r.run("HSET", "h", "c", "3")
    assert b"h" not in r.node.keyspace.dbs[0].expires


def test_hash_commands_on_expired_key(r: Replica) -> None:
    r.run("HSET", "h", "a", "1", "b", "2")
    past = int(time.time() * 1000) - 10
    r.node.emit((codes.EXPIRE, 0, b"h", past))
    r.node.close_group()
    assert r.run("HGET", "h", "a") is None
    assert r.run("HLEN", "h") == 0
    assert r.run("HSET", "h", "c", "3") == 1  # a writer deletes the expired hash first
    assert hgetall(r) == [(b"c", b"3")]


def test_multi_exec_writes_form_one_op(r: Replica) -> None:
    assert r.run("MULTI") == b"OK"
    r.run("HSET", "h", "a", "1")
    r.run("HINCRBY", "h", "a", "4")
    r.run("HDEL", "h", "zz")
    before = len(r.emitted)
    assert r.run("EXEC") == [1, 5, 0]
    assert [op.effects for op in r.emitted[before:]] == [[(HSET | CREATE, 0, b"h", b"a", b"1"), (HINCR, 0, b"h", b"a", 4)]]


def test_watch_is_invalidated_by_a_replicated_hset() -> None:
    c = Cluster(2)
    assert c.run(0, "WATCH", "h") == b"OK"
    c.run(1, "HSET", "h", "f", "v")
    c.deliver_all()
    c.run(0, "MULTI")
    c.run(0, "HSET", "h", "f", "mine")
    assert repr(c.run(0, "EXEC")) == "NULL_ARRAY"
    assert c.run(0, "HGET", "h", "f") == b"v"


def test_replicas_agree_after_mixed_commands() -> None:
    c = Cluster(3, seed=3)
    c.run(0, "HSET", "h", "a", "1", "b", "x")
    c.run(1, "HINCRBY", "h", "a", "2")
    c.run(2, "HINCRBYFLOAT", "h", "c", "0.5")
    c.deliver_all()
    c.run(1, "HDEL", "h", "b")
    c.run(2, "HSETNX", "h", "d", "4")
    c.deliver_all()
    replies = [sorted(c.run(i, "HGETALL", "h").items) for i in range(3)]
    assert replies[0] == replies[1] == replies[2]
    assert dict(replies[0]) == {b"a": b"3", b"c": b"0.5", b"d": b"4"}
    entry = c[0].node.keyspace.dbs[0].data[b"h"]
    assert type(entry) is HashEntry and entry.encoding() == b"listpack"
