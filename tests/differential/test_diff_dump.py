"""Differential tests of DUMP, RESTORE and MIGRATE against a real redis-server 7.0.

DUMP replies are compared byte for byte (crdt-redis produces Redis's own encodings, LZF
included) wherever Redis's output is deterministic (hash-table orders are not). The same
crafted payloads, in every encoding a 7.0 server loads (ziplists, quicklist 1, zipmaps,
plain lists, string-scored zsets), are restored on both sides and read back, and hostile
payloads must get the same error. Then payloads cross between the two servers both ways,
and MIGRATE moves keys from each server to the other."""
from __future__ import annotations

import os
import random
import socket
import struct
from typing import Any

import pytest

from crdtredis.rdb_encode import build_dump, intset, listpack, lp_entry, rdb_raw_string
from crdtredis.scripting.dump import _len_bytes
from tests.differential.harness import (
    UNORDERED,
    Differ,
    Script,
    ScriptCase,
    Side,
    WaitFor,
    custom,
    int_range,
    pairs,
    scripts,
)
from tests.support.procs import free_port
from tests.support.rdb_legacy import ziplist, zipmap
from tests.support.resp_client import RespConnection, decode

BIG = "x" * 100
NOISE = random.Random(5).randbytes(20000)  # LZF cannot compress it: DUMP writes it plain
TEXT = b"".join(b"line %d of a long text, " % i for i in range(5000))
LONG_LIST = ["RPUSH", "big", *[f"element-{i:05d}" for i in range(2000)]]
# Small entries: the node split depends on Redis's exact size estimate (8 bytes per entry).
INT_LIST = ["RPUSH", "ints", *[str(i % 11) if i % 3 else f"item {i % 10}" for i in range(20000)]]


def P(body: bytes) -> bytes:  # noqa: N802 - reads as a constructor in the tables
    return build_dump(body)


ZL = [b"a", b"0", b"12", b"13", b"-100", b"1000", b"-70000", b"100000", b"3000000000", b"x" * 100]

DUMPS: dict[str, Script] = {
    "strings": [
        "SET a bar", "DUMP a", "SET a 12", "DUMP a", "SET a -129", "DUMP a", "SET a 100000", "DUMP a",
        "SET a 99999999999", "DUMP a", "SET a 0123", "DUMP a", "SET a ''", "DUMP a", f"SET a {BIG}", "DUMP a",
        "SET a abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz", "DUMP a", "APPEND a 77", "DUMP a",
        "SETRANGE b 100 x", "DUMP b", "INCR c", "DUMP c", "INCRBYFLOAT d 1.5", "DUMP d", "DUMP nokey",
        "DUMP", "DUMP a b", ["SET", "noise", NOISE], "DUMP noise", ["SET", "text", TEXT], "DUMP text",
        ["SETRANGE", "noise", 100, TEXT[:3000]], "DUMP noise",
    ],
    "lists": [
        "RPUSH l a b 1 -5000 300000 9223372036854775807 -9223372036854775808", "DUMP l",
        f"RPUSH l2 {BIG} {BIG}{BIG}", "DUMP l2", "LPUSH l3 z y x", "DUMP l3", LONG_LIST, "DUMP big",
        INT_LIST, "DUMP ints",
    ],
    "sets": [
        "SADD s 1 2 3 -7", "DUMP s", "SADD s2 1 100000", "DUMP s2", "SADD s3 5 1099511627776", "DUMP s3",
        "SADD s4 onlyone", "DUMP s4", "SADD s5 -1", "DUMP s5",
    ],
    "hashes": [
        "HSET h f1 v1 f2 2 f3 -300", "DUMP h", "HSET h f1 changed", "DUMP h", "HDEL h f2", "DUMP h",
        f"HSET big f {BIG}", "DUMP big", "HSET h2 n 1", "HINCRBY h2 n 5", "DUMP h2",
    ],
    "zsets": [
        "ZADD z 1 a 2.5 b -3 c 1e20 d inf e 0.1 f -inf g 0 h", "DUMP z",
        f"ZADD big 1 {BIG} 2 b -1.5 c", "DUMP big", "ZADD z2 4611686018427387904 x 4611686018427387903 y", "DUMP z2",
        "ZINCRBY z3 0.5 m", "DUMP z3",
    ],
    "expired_and_wrong": [
        "SET a v PX 1", WaitFor("EXISTS a", b":0"), "DUMP a", "RPUSH l x", "DUMP l", "DEL l", "DUMP l",
    ],
}

def _restore_then(payload: bytes, *reads: Any) -> Script:
    return [["RESTORE", "k", 0, payload], "TYPE k", "OBJECT ENCODING k", *reads]


LEGACY: dict[str, Script] = {
    "list_ziplist": _restore_then(P(b"\x0a" + rdb_raw_string(ziplist(ZL))), "LRANGE k 0 -1"),
    "list_quicklist1": _restore_then(
        P(b"\x0e" + _len_bytes(2) + rdb_raw_string(ziplist(ZL[:4])) + rdb_raw_string(ziplist(ZL[4:]))),
        "LRANGE k 0 -1"),
    "list_plain_rdb": _restore_then(P(b"\x01" + _len_bytes(3) + b"".join(rdb_raw_string(v) for v in ZL[:3])),
                                    "LRANGE k 0 -1"),
    "list_quicklist2_plain_node": _restore_then(
        P(b"\x12" + _len_bytes(2) + _len_bytes(1) + rdb_raw_string(b"plain")
          + _len_bytes(2) + rdb_raw_string(listpack([lp_entry(b"7")], 1))), "LRANGE k 0 -1"),
    "hash_ziplist": _restore_then(P(b"\x0d" + rdb_raw_string(ziplist([b"f", b"1", b"g", b"v"]))),
                                  ("HGETALL k", pairs())),
    "hash_zipmap": _restore_then(P(b"\x09" + rdb_raw_string(zipmap([(b"f", b"v"), (b"k", b"")]))),
                                 ("HGETALL k", pairs())),
    "hash_plain_rdb": _restore_then(P(b"\x04" + _len_bytes(1) + rdb_raw_string(b"f") + rdb_raw_string(b"v")),
                                    ("HGETALL k", pairs())),
    "zset_ziplist": _restore_then(P(b"\x0c" + rdb_raw_string(ziplist([b"a", b"1", b"b", b"2.5"]))),
                                  "ZRANGE k 0 -1 WITHSCORES"),
    "zset_string_scores": _restore_then(
        P(b"\x03" + _len_bytes(2) + rdb_raw_string(b"a") + b"\x031.5" + rdb_raw_string(b"b") + b"\xfe"),
        "ZRANGE k 0 -1 WITHSCORES"),
    "zset_binary_scores": _restore_then(
        P(b"\x05" + _len_bytes(1) + rdb_raw_string(b"a") + struct.pack("<d", -2.25)), "ZRANGE k 0 -1 WITHSCORES"),
    "set_intset": _restore_then(P(b"\x0b" + rdb_raw_string(intset([3, -1, 70000]))), ("SMEMBERS k", UNORDERED)),
    "set_plain_ints_becomes_intset": _restore_then(
        P(b"\x02" + _len_bytes(2) + rdb_raw_string(b"5") + rdb_raw_string(b"6")), ("SMEMBERS k", UNORDERED)),
    "set_plain": _restore_then(P(b"\x02" + _len_bytes(2) + rdb_raw_string(b"a") + rdb_raw_string(b"6")),
                               ("SMEMBERS k", UNORDERED)),
    "string_lzf": _restore_then(P(b"\x00" + rdb_raw_string(b"abc" * 30)), "GET k", "STRLEN k"),
    "string_int16": _restore_then(P(b"\x00\xc1\x39\x30"), "GET k"),
}

GOOD = P(b"\x00\x03bar")
ERRORS: dict[str, Script] = {
    "restore_errors": [
        "SET k v", ["RESTORE", "k", 0, GOOD], ["RESTORE", "k", 0, "..."], ["RESTORE", "k2", -1, GOOD],
        ["RESTORE", "k2", "x", GOOD], ["RESTORE", "k2", 0, GOOD, "bogus"], ["RESTORE", "k2", 0, GOOD, "IDLETIME"],
        ["RESTORE", "k2", 0, GOOD, "IDLETIME", -1], ["RESTORE", "k2", 0, GOOD, "IDLETIME", "x"],
        ["RESTORE", "k2", 0, GOOD, "FREQ", 256], ["RESTORE", "k2", 0, GOOD, "FREQ", 1, "IDLETIME", 1],
        ["RESTORE", "k2", 0, GOOD[:-1] + b"\x00"], ["RESTORE", "k2", 0, b"short"],
        ["RESTORE", "k2", 0, GOOD[:-10] + b"\x0b\x00" + GOOD[-8:]], "RESTORE k2 0", "EXISTS k2",
        ["RESTORE", "k", 0, GOOD, "REPLACE"], "GET k", ["RESTORE", "k", 0, GOOD, "REPLACE", "ABSTTL", "FREQ", 3],
        ["RESTORE", "k3", 0, GOOD, "IDLETIME", 10, "REPLACE"], "GET k3",
    ],
    "bad_data_format": [
        ["RESTORE", "k", 0, P(b"\x00")], ["RESTORE", "k", 0, P(b"\x00\x05ab")], ["RESTORE", "k", 0, P(b"\x63")],
        ["RESTORE", "k", 0, P(b"\x02\x00")], ["RESTORE", "k", 0, P(b"\x0b" + rdb_raw_string(b"\x03\x00\x00\x00"))],
        ["RESTORE", "k", 0, P(b"\x10" + rdb_raw_string(b"\x09\x00\x00\x00\x00\x00\xfe"))],
        ["RESTORE", "k", 0, P(b"\x12" + _len_bytes(1) + _len_bytes(7) + rdb_raw_string(b"x"))],
        ["RESTORE", "k", 0, P(b"\x00\x81" + (1 << 62).to_bytes(8, "big"))],
        ["RESTORE", "k", 0, P(b"\x00\x82")], "EXISTS k",
    ],
    "ttls": [
        "SET a v", "DUMP a", ["RESTORE", "t", 5000, GOOD], ("PTTL t", int_range(4000, 5000)),
        ["RESTORE", "t2", 4102444800000, GOOD, "ABSTTL"], "PEXPIRETIME t2",
        ["RESTORE", "t3", 1, GOOD, "ABSTTL"], "EXISTS t3", "GET t2", ["RESTORE", "t4", 9223372036854775807, GOOD],
        "EXISTS t4", ["RESTORE", "t5", 9223372036854775808, GOOD], ["RESTORE", "t6", 9223372036854775807, GOOD, "ABSTTL"],
        "PEXPIRETIME t6", ["RESTORE", "t2", 0, GOOD, "REPLACE"], "TTL t2",
    ],
}


@pytest.mark.parametrize("case", scripts(DUMPS))
def test_dump_bytes(diff: Differ, case: ScriptCase) -> None:
    diff.run(case)


@pytest.mark.parametrize("case", scripts(LEGACY))
def test_restore_every_encoding(diff: Differ, case: ScriptCase) -> None:
    diff.run(case)


@pytest.mark.parametrize("case", scripts(ERRORS))
def test_restore_errors(diff: Differ, case: ScriptCase) -> None:
    diff.run(case)


# ---- payloads crossing between the servers ------------------------------------------------
FILL = [
    ["SET", "s", "hello"], ["SET", "n", "42"], ["SET", "lz", "abc" * 50], ["RPUSH", "l", "a", "1", "x" * 70],
    LONG_LIST, ["SADD", "is", "1", "2", "-3"], ["SADD", "hs", *[f"m{i}" for i in range(600)]],
    ["HSET", "h", "f", "v", "g", "1"], ["HSET", "hh", *[x for i in range(600) for x in (f"f{i}", f"v{i}")]],
    ["ZADD", "z", "1", "a", "2.5", "b"], ["ZADD", "zz", *[x for i in range(300) for x in (str(i / 7), f"m{i}")]],
]
KEYS = ["s", "n", "lz", "l", "big", "is", "hs", "h", "hh", "z", "zz"]
READS = {"string": ["GET"], "list": ["LRANGE", 0, -1], "set": ["SMEMBERS"], "hash": ["HGETALL"],
         "zset": ["ZRANGE", 0, -1, "WITHSCORES"]}


def _state(c: RespConnection, key: str) -> tuple[Any, ...]:
    t = decode(c.call("TYPE", key))
    v = decode(c.call(*[READS[t.decode()][0], key, *READS[t.decode()][1:]]))
    if t in (b"set", b"hash"):
        v = sorted(v) if t == b"set" else sorted(zip(v[0::2], v[1::2], strict=True))
    return t, decode(c.call("OBJECT", "ENCODING", key)), v, decode(c.call("TTL", key))


def _cross(src: Side, dst: Side) -> None:
    with RespConnection(port=src.port) as a, RespConnection(port=dst.port) as b:
        for c in (a, b):
            assert c.call("FLUSHALL") == b"+OK\r\n"
        for cmd in FILL:
            a.call(*cmd)
        a.call("EXPIRE", "s", 1000)
        for k in KEYS:
            p = decode(a.call("DUMP", k))
            ttl = 1000000 if k == "s" else 0
            assert b.call("RESTORE", k, ttl, p) == b"+OK\r\n", k
            assert _state(a, k)[:3] == _state(b, k)[:3], k
        assert decode(b.call("TTL", "s")) > 900


def test_redis_payloads_restore_here(diff: Differ) -> None:
    _cross(diff.ref, diff.sub)


def test_our_payloads_restore_in_redis(diff: Differ) -> None:
    _cross(diff.sub, diff.ref)


# ---- MIGRATE ---------------------------------------------------------------------------
def _migrate_between(src: Side, dst: Side) -> None:
    with RespConnection(port=src.port) as a, RespConnection(port=dst.port) as b:
        for c in (a, b):
            assert c.call("FLUSHALL") == b"+OK\r\n"
        a.call("RPUSH", "l", "a", "b")
        a.call("SET", "t", "v", "EX", 100)
        a.call("MSET", "k1", "1", "k2", "2", "k3", "3")
        assert a.call("MIGRATE", "127.0.0.1", dst.port, "l", 0, 5000) == b"+OK\r\n"
        assert a.call("EXISTS", "l") == b":0\r\n"
        assert decode(b.call("LRANGE", "l", 0, -1)) == [b"a", b"b"]
        assert a.call("MIGRATE", "127.0.0.1", dst.port, "t", 0, 5000, "COPY") == b"+OK\r\n"
        assert a.call("GET", "t") == b"$1\r\nv\r\n"
        assert 90 <= decode(b.call("TTL", "t")) <= 100
        # Busy target key: the target's error comes back, the key stays here.
        assert a.call("MIGRATE", "127.0.0.1", dst.port, "t", 0, 5000) == (
            b"-ERR Target instance replied with error: BUSYKEY Target key name already exists.\r\n")
        assert a.call("EXISTS", "t") == b":1\r\n"
        assert a.call("MIGRATE", "127.0.0.1", dst.port, "t", 0, 5000, "REPLACE") == b"+OK\r\n"
        b.call("SET", "k2", "busy")
        reply = a.call("MIGRATE", "127.0.0.1", dst.port, "", 0, 5000, "KEYS", "k1", "nokey", "k2", "k3")
        assert reply.startswith(b"-ERR Target instance replied with error: BUSYKEY")
        assert decode(a.call("EXISTS", "k1", "k2", "k3")) == 1  # only the acknowledged ones went
        assert decode(b.call("MGET", "k1", "k2", "k3")) == [b"1", b"busy", b"3"]
        assert a.call("MIGRATE", "127.0.0.1", dst.port, "", 0, 5000, "KEYS", "nokey") == b"+NOKEY\r\n"
        a.call("SET", "x", "1")
        assert a.call("MIGRATE", "127.0.0.1", dst.port, "x", 3, 5000) == b"+OK\r\n"
        b.call("SELECT", 3)
        assert b.call("GET", "x") == b"$1\r\n1\r\n"
        # Inside MULTI and scripts the I/O is synchronous.
        a.call("MSET", "m1", "1", "m2", "2")
        assert a.call("MULTI") == b"+OK\r\n"
        a.call("MIGRATE", "127.0.0.1", dst.port, "m1", 3, 5000)
        a.call("MIGRATE", "127.0.0.1", dst.port, "m2", 3, 5000, "COPY")
        assert a.call("EXEC") == b"*2\r\n+OK\r\n+OK\r\n"
        script = "return redis.call('MIGRATE', '127.0.0.1', ARGV[1], KEYS[1], 3, 5000, 'REPLACE')"
        assert a.call("EVAL", script, 1, "m2", dst.port) == b"+OK\r\n"
        assert decode(a.call("EXISTS", "m1", "m2")) == 0
        assert decode(b.call("MGET", "m1", "m2")) == [b"1", b"2"]


def test_migrate_from_here_to_redis(diff: Differ) -> None:
    _migrate_between(diff.sub, diff.ref)


def test_migrate_from_redis_to_here(diff: Differ) -> None:
    _migrate_between(diff.ref, diff.sub)


def test_migrate_errors_match(diff: Differ) -> None:
    closed = free_port()
    diff.run(ScriptCase("migrate_errors", [
        "SET k v", f"MIGRATE 127.0.0.1 {closed} k 0 500", "EXISTS k", f"MIGRATE 127.0.0.1 {closed} nokey 0 500",
        f"MIGRATE 127.0.0.1 {closed} k 0 500 KEYS a", f"MIGRATE 127.0.0.1 {closed} '' 0 500 KEYS nokey",
        f"MIGRATE 127.0.0.1 {closed} k 0 500 AUTH", f"MIGRATE 127.0.0.1 {closed} k 0 500 AUTH2 u",
        f"MIGRATE 127.0.0.1 {closed} k 0 500 BOGUS", f"MIGRATE 127.0.0.1 {closed} k 0 x",
        f"MIGRATE 127.0.0.1 {closed} k x 500", "MIGRATE 127.0.0.1 1 k", "MIGRATE 127.0.0.1 notaport k 0 500",
        "MIGRATE 127.0.0.1 -5 k 0 500", "MIGRATE 127.0.0.1 70000 k 0 500",
        # Name, arity, flags, key positions, ACL categories (tips and key specs are
        # generic project-wide: introspection.py).
        ("COMMAND INFO migrate dump restore", custom(lambda v: [x[:7] for x in v], "command info")),
        "COMMAND GETKEYS MIGRATE 127.0.0.1 1 '' 0 5 KEYS a b", "COMMAND GETKEYS MIGRATE 127.0.0.1 1 k 0 5",
        "MULTI", f"MIGRATE 127.0.0.1 {closed} k 0 500", "EXEC",
    ]))


def test_migrate_auth_and_timeout_against_a_third_server(diff: Differ, second_redis: Any) -> None:
    """Both servers migrate to the same target: its replies (WRONGPASS) and its silence (a
    read timeout) come back as the same errors; meanwhile crdt-redis keeps serving others."""
    if os.environ.get("CRDT_DIFF_SUBJECT", "crdt") == "redis":
        pytest.skip("the subject is the third server here")
    port = second_redis.port
    with RespConnection(port=port) as t:
        t.call("FLUSHALL")
        assert t.call("CONFIG", "SET", "requirepass", "foobar") == b"+OK\r\n"
        try:
            assert t.call("AUTH", "foobar") == b"+OK\r\n"
            replies: dict[str, list[bytes]] = {}
            for side in (diff.ref, diff.sub):
                with RespConnection(port=side.port) as a:
                    a.call("FLUSHALL")
                    a.call("RPUSH", "l", "a", "b", "c", "d")
                    got = [a.call("MIGRATE", "127.0.0.1", port, "l", 0, 5000, "AUTH", "foobar", "REPLACE"),
                           a.call("RPUSH", "l", "x"),
                           a.call("MIGRATE", "127.0.0.1", port, "l", 0, 5000, "AUTH", "wrong"),
                           a.call("MIGRATE", "127.0.0.1", port, "l", 0, 5000, "AUTH2", "default", "foobar",
                                  "REPLACE", "COPY"),
                           a.call("EXISTS", "l")]
                    replies[side.label] = got
                    assert decode(t.call("LRANGE", "l", 0, -1)) == [b"x"]
            assert replies[diff.ref.label] == replies[diff.sub.label]
            assert replies[diff.sub.label][2].startswith(b"-ERR Target instance replied with error: WRONGPASS")
        finally:
            t.call("CONFIG", "SET", "requirepass", "")
    # A target that accepts connections and never answers: the read times out.
    hole = socket.socket()
    hole.bind(("127.0.0.1", 0))
    hole.listen(8)
    hole_port = hole.getsockname()[1]
    try:
        with RespConnection(port=diff.ref.port) as r:
            r.call("SET", "k", "v")
            want = r.call("MIGRATE", "127.0.0.1", hole_port, "k", 0, 300)
        assert want == b"-IOERR error or timeout reading to target instance\r\n"
        with RespConnection(port=diff.sub.port) as a, RespConnection(port=diff.sub.port) as b:
            a.call("SET", "k", "v")
            a.send("MIGRATE", "127.0.0.1", hole_port, "k", 0, 3000)
            # The migrating client waits for the target; the server answers others meanwhile.
            assert b.call("PING") == b"+PONG\r\n"
            assert b.call("SET", "other", "1") == b"+OK\r\n"
            a.sock.setblocking(False)
            try:
                pending = a.sock.recv(100)
            except BlockingIOError:
                pending = b""
            a.sock.setblocking(True)
            assert pending == b""
            assert a.read_reply() == want
            assert a.call("GET", "k") == b"$1\r\nv\r\n"
    finally:
        hole.close()
