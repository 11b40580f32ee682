"""Generic key commands (DEL ... OBJECT, SWAPDB) and active expiry, driven through Node
in-process; replies checked against a real redis-server 7.0.15. The CRDT tests at the end
exchange ops between replicas and check both delivery orders converge."""
from __future__ import annotations

import dataclasses
import time
from typing import Any

import pytest

from crdtredis import errors
from crdtredis.commands import keys as keys_mod
from crdtredis.commands import new_node
from crdtredis.commands.keys import ScanSnapshots, active_expire_cycle, parse_scan_cursor
from crdtredis.config import default_config
from crdtredis.crdt import codes
from crdtredis.node import Node
from crdtredis.op import Op
from crdtredis.reply import NULL_ARRAY, OK, CommandError, ErrorReply

FAR_S = 4102444800  # 2100-01-01
FAR_MS = FAR_S * 1000 + 7


def make_node(replica_id: str = "t", peers: tuple[str, ...] = ()) -> Node:
    return new_node(dataclasses.replace(default_config(), replica_id=replica_id, peers=peers))


class R:
    def __init__(self, node: Node) -> None:
        self.node = node
        self.c = node.new_client("", "", lambda: None)

    def __call__(self, *args: Any) -> Any:
        argv = [a if isinstance(a, bytes) else str(a).encode() for a in args]
        return self.node.execute(self.c, argv)


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


def expire_now(node: Node, key: bytes, origin: str | None = None, db: int = 0) -> None:
    """Give key a deadline in the past, written here (origin None) or by another replica."""
    if origin is None:
        node.emit((codes.EXPIRE, db, key, now_ms() - 1000))
        node.close_group()
    else:
        seq = node.keyspace.vv.get(origin, 0) + 1
        node.apply_remote(Op(origin, seq, node.hlc.now(), {}, [(codes.EXPIRE, db, key, now_ms() - 1000)]))


def has_hashes(r: R) -> bool:
    return r("HSET", "__probe", "f", "v") == 1 and r("DEL", "__probe") == 1


# ---- DEL / UNLINK / EXISTS / TOUCH / TYPE ------------------------------------------------
def test_del_unlink_exists_touch(r: R) -> None:
    r("MSET", "a", 1, "b", 2, "c", 3)
    assert r("EXISTS", "a") == 1 and r("EXISTS", "a", "b", "nokey") == 2 and r("EXISTS", "a", "a", "a") == 3
    assert r("TOUCH", "a", "b", "nokey") == 2 and r("TOUCH", "a", "a") == 2
    assert r("DEL", "a") == 1 and r("DEL", "a") == 0 and r("EXISTS", "a") == 0
    assert r("DEL", "b", "c", "nokey") == 2
    r("MSET", "a", 1, "b", 2)
    assert r("UNLINK", "a", "nokey", "b") == 2
    r("SET", "a", 1)
    assert r("DEL", "a", "a") == 1
    for cmd in ("DEL", "UNLINK", "EXISTS", "TOUCH"):
        assert r(cmd) == err(errors.wrong_arity(cmd.lower()))


def test_del_of_an_expired_key_counts_nothing(r: R, node: Node) -> None:
    r("SET", "k", "v")
    expire_now(node, b"k", "other.1")
    assert r("DEL", "k") == 0 and b"k" not in node.keyspace.dbs[0].data


def test_type(r: R) -> None:
    r("SET", "s", "v")
    assert r("TYPE", "s") == b"string" and r("TYPE", "nokey") == b"none"
    if has_hashes(r):
        r("HSET", "h", "f", "v")
        assert r("TYPE", "h") == b"hash"


# ---- KEYS --------------------------------------------------------------------------------
PATTERN_KEYS = [b"hello", b"hallo", b"hxllo", b"hllo", b"heeeello", b"h*llo", b"h?llo", b"h[a]llo", b"h\\llo",
                b"x", b"xy", b""]


@pytest.mark.parametrize("pattern,expected", [
    (b"*", PATTERN_KEYS),
    (b"**", [k for k in PATTERN_KEYS if k]),
    (b"h?llo", [b"hello", b"hallo", b"hxllo", b"h*llo", b"h?llo", b"h\\llo"]),
    (b"h*llo", [b"hello", b"hallo", b"hxllo", b"hllo", b"heeeello", b"h*llo", b"h?llo", b"h[a]llo", b"h\\llo"]),
    (b"h[ae]llo", [b"hello", b"hallo"]),
    (b"h[^e]llo", [b"hallo", b"hxllo", b"h*llo", b"h?llo", b"h\\llo"]),
    (b"h\\*llo", [b"h*llo"]),
    (b"h\\[a\\]llo", [b"h[a]llo"]),
    (b"", [b""]),
    (b"x?", [b"xy"]),
    (b"HELLO", []),
])
def test_keys_patterns(r: R, pattern: bytes, expected: list[bytes]) -> None:
    r("MSET", *[x for k in PATTERN_KEYS for x in (k, b"v")])
    assert sorted(r("KEYS", pattern)) == sorted(expected)


def test_keys_hides_expired_and_is_per_db(r: R, node: Node) -> None:
    r("MSET", "a", 1, "b", 2)
    expire_now(node, b"b", "other.1")
    assert r("KEYS", "*") == [b"a"]
    r("SELECT", 1)
    assert r("KEYS", "*") == []


# ---- SCAN --------------------------------------------------------------------------------
def scan_all(r: R, *opts: Any, mutate: Any = None) -> tuple[list[bytes], int]:
    cursor: bytes = b"0"
    seen: list[bytes] = []
    calls = 0
    while True:
        cursor, batch = r("SCAN", cursor, *opts)
        seen.extend(batch)
        calls += 1
        if mutate is not None:
            mutate(calls)
        if cursor == b"0":
            return seen, calls
        assert calls < 10_000


def test_scan_returns_every_key_once(r: R) -> None:
    r("MSET", *[x for i in range(300) for x in (f"key:{i}", i)])
    seen, calls = scan_all(r)
    assert sorted(seen) == sorted(f"key:{i}".encode() for i in range(300)) and calls == 30
    seen, _ = scan_all(r, "COUNT", 7)
    assert len(seen) == 300 and len(set(seen)) == 300
    seen, _ = scan_all(r, "MATCH", "key:1*", "COUNT", 1000)
    assert sorted(seen) == sorted(k for k in (f"key:{i}".encode() for i in range(300)) if k.startswith(b"key:1"))


def test_scan_keys_present_throughout_are_returned_despite_changes(r: R) -> None:
    r("MSET", *[x for i in range(200) for x in (f"k{i}", i)])
    stable = {f"k{i}".encode() for i in range(100, 200)}

    def mutate(call: int) -> None:
        # Delete keys not yet (and already) returned, add new ones, re-create some.
        r("DEL", *[f"k{i}" for i in range(call * 5, call * 5 + 5) if i < 100])
        r("MSET", *[x for i in range(5) for x in (f"new{call}:{i}", 1)])
        r("SET", f"k{call}", "again")

    seen, _ = scan_all(r, "COUNT", 10, mutate=mutate)
    assert stable <= set(seen)
    assert not any(k.startswith(b"new") for k in seen)  # added after the scan began: not promised


def test_scan_small_db_in_one_call_and_empty(r: R, node: Node) -> None:
    assert r("SCAN", 0) == [b"0", []]
    r("MSET", "a", 1, "b", 2)
    assert r("SCAN", 0) == [b"0", [b"a", b"b"]]
    assert not keys_mod._scans(node).snaps


def test_scan_filters(r: R, node: Node) -> None:
    r("MSET", "s1", 1, "s2", 2, "other", 3)
    if has_hashes(r):
        r("HSET", "h1", "f", "v")
        seen, _ = scan_all(r, "TYPE", "hash")
        assert seen == [b"h1"]
        seen, _ = scan_all(r, "type", "HASH", "MATCH", "x*")
        assert seen == []
    seen, _ = scan_all(r, "TYPE", "STRING", "MATCH", "s*", "COUNT", 1)
    assert sorted(seen) == [b"s1", b"s2"]
    assert scan_all(r, "TYPE", "nosuchtype")[0] == []
    expire_now(node, b"s2", "other.1")
    assert sorted(scan_all(r, "MATCH", "s*")[0]) == [b"s1"]


@pytest.mark.parametrize("argv,msg", [
    (["abc"], errors.INVALID_CURSOR), (["1.5"], errors.INVALID_CURSOR), ([" 1"], errors.INVALID_CURSOR),
    (["18446744073709551616"], errors.INVALID_CURSOR), (["+"], errors.INVALID_CURSOR),
    (["0", "COUNT", 0], errors.SYNTAX), (["0", "COUNT", -1], errors.SYNTAX), (["0", "COUNT", "abc"], errors.NOT_INTEGER),
    (["0", "COUNT"], errors.SYNTAX), (["0", "MATCH"], errors.SYNTAX), (["0", "FOO"], errors.SYNTAX),
    (["0", "TYPE"], errors.SYNTAX), ([], errors.wrong_arity("scan")),
])
def test_scan_errors(r: R, argv: list[Any], msg: str) -> None:
    assert r("SCAN", *argv) == err(msg)


def test_scan_cursor_parsing_like_strtoul() -> None:
    assert parse_scan_cursor(b"") == 0
    assert parse_scan_cursor(b"-1") == (1 << 64) - 1
    assert parse_scan_cursor(b"+5") == 5
    assert parse_scan_cursor(b"-0") == 0
    assert parse_scan_cursor(b"18446744073709551615") == (1 << 64) - 1
    with pytest.raises(CommandError):
        parse_scan_cursor(b"0x10")


def test_scan_odd_cursors(r: R) -> None:
    r("MSET", "a", 1, "c", 2)
    assert r("SCAN", "") == [b"0", [b"a", b"c"]]
    assert r("SCAN", "-1") == [b"0", []]
    assert r("SCAN", "+1", "COUNT", 1) == [b"0", [b"c"]]


def test_scan_cursor_survives_snapshot_loss(r: R, node: Node) -> None:
    r("MSET", *[x for i in range(30) for x in (f"k{i}", i)])
    cursor, first = r("SCAN", 0, "COUNT", 10)
    keys_mod._scans(node).snaps.clear()  # as if evicted
    rest: list[bytes] = []
    while cursor != b"0":
        cursor, batch = r("SCAN", cursor, "COUNT", 10)
        rest.extend(batch)
    assert sorted(first + rest) == sorted(f"k{i}".encode() for i in range(30))


def test_scan_snapshots_are_bounded() -> None:
    table = ScanSnapshots()
    db = make_node().keyspace.dbs[0]
    db.data.update({b"k%d" % i: (b"v", 0, "") for i in range(10)})
    ids = [table.start(db)[0] for _ in range(ScanSnapshots.MAX_SNAPSHOTS + 5)]
    assert len(table.snaps) == ScanSnapshots.MAX_SNAPSHOTS
    assert table.get(ids[0], db) is None and table.get(ids[-1], db) is not None
    assert table.held == 10 * ScanSnapshots.MAX_SNAPSHOTS


def test_scan_snapshots_respect_the_pointer_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ScanSnapshots, "MIN_BUDGET", 25)
    table = ScanSnapshots()
    db = make_node().keyspace.dbs[0]
    db.data.update({b"k%d" % i: (b"v", 0, "") for i in range(10)})
    ids = [table.start(db)[0] for _ in range(10)]
    assert list(table.snaps) == ids[-8:] and table.held == 80  # 8 snapshots of the database


def test_scan_finished_frees_its_snapshot(r: R, node: Node) -> None:
    r("MSET", *[x for i in range(30) for x in (f"k{i}", i)])
    scan_all(r, "COUNT", 3)
    assert not keys_mod._scans(node).snaps


def test_scan_cursor_from_another_db_restarts_there(r: R) -> None:
    r("MSET", *[x for i in range(30) for x in (f"k{i}", i)])
    cursor, _ = r("SCAN", 0)
    r("SELECT", 1)
    r("MSET", "x", 1)
    assert r("SCAN", cursor) == [b"0", []]


# ---- RANDOMKEY ---------------------------------------------------------------------------
def test_randomkey(r: R, node: Node) -> None:
    assert r("RANDOMKEY") is None
    r("SET", "only", "v")
    assert r("RANDOMKEY") == b"only"
    r("MSET", "a", 1, "b", 2)
    assert r("RANDOMKEY") in (b"only", b"a", b"b")
    for k in (b"only", b"a"):
        expire_now(node, k, "other.1")
    assert r("RANDOMKEY") == b"b"
    assert r("RANDOMKEY", "x") == err(errors.wrong_arity("randomkey"))


# ---- RENAME / RENAMENX / COPY ------------------------------------------------------------
def test_rename(r: R, node: Node) -> None:
    r("SET", "a", 1)
    assert r("RENAME", "a", "b") == OK and r("GET", "a") is None and r("GET", "b") == b"1"
    assert r("RENAME", "nokey", "x") == err(errors.NO_SUCH_KEY)
    assert r("RENAME", "nokey", "nokey") == err(errors.NO_SUCH_KEY)
    assert r("RENAME", "b", "b") == OK and r("GET", "b") == b"1"
    r("SET", "c", 3)
    assert r("RENAME", "b", "c") == OK and r("GET", "c") == b"1" and r("EXISTS", "b") == 0
    r("SET", "t", "v", "PXAT", FAR_MS)
    assert r("RENAME", "t", "t2") == OK and deadline(node, b"t2") == FAR_MS and deadline(node, b"t") is None
    r("SET", "u", "v")
    r("SET", "w", "x", "PXAT", FAR_MS)
    assert r("RENAME", "u", "w") == OK and deadline(node, b"w") is None and r("GET", "w") == b"v"


def test_renamenx(r: R, node: Node) -> None:
    r("MSET", "a", 1, "b", 2)
    assert r("RENAMENX", "a", "b") == 0 and r("GET", "a") == b"1"
    assert r("RENAMENX", "a", "c") == 1 and r("GET", "c") == b"1" and r("EXISTS", "a") == 0
    assert r("RENAMENX", "nokey", "d") == err(errors.NO_SUCH_KEY)
    assert r("RENAMENX", "c", "c") == 0
    r("SET", "t", "v", "PXAT", FAR_MS)
    assert r("RENAMENX", "t", "t2") == 1 and deadline(node, b"t2") == FAR_MS


def test_rename_is_one_op(r: R, node: Node) -> None:
    ops: list[Op] = []
    node.op_listeners.append(ops.append)
    r("SET", "a", 1, "PXAT", FAR_MS)
    r("RENAME", "a", "b")
    assert [e[0] for e in ops[-1].effects] == [codes.DEL, codes.SET, codes.EXPIRE, codes.DEL]


def test_rename_other_types(r: R) -> None:
    if not has_hashes(r):
        pytest.skip("hashes are not available")
    r("HSET", "h", "f", "v", "g", "w")
    r("SET", "s", "x")
    assert r("RENAME", "h", "s") == OK and r("TYPE", "s") == b"hash" and r("HGET", "s", "g") == b"w"
    assert r("COPY", "s", "s2") == 1 and r("HGETALL", "s2").items == r("HGETALL", "s").items


def test_copy(r: R, node: Node) -> None:
    r("SET", "a", 1)
    assert r("COPY", "a", "b") == 1 and r("GET", "b") == b"1"
    assert r("COPY", "a", "b") == 0
    r("SET", "a", 2)
    assert r("COPY", "a", "b", "REPLACE") == 1 and r("GET", "b") == b"2"
    assert r("COPY", "a", "a") == err(errors.SAME_OBJECT)
    assert r("COPY", "a", "a", "DB", 0) == err(errors.SAME_OBJECT)
    assert r("COPY", "nokey", "x") == 0 and r("EXISTS", "x") == 0
    assert r("COPY", "a", "c", "DB", 1) == 1 and r("COPY", "a", "c", "DB", 1) == 0
    assert r("COPY", "a", "a", "db", 2, "replace") == 1
    r("SELECT", 2)
    assert r("GET", "a") == b"2"
    r("SELECT", 0)
    r("SET", "t", "v", "PXAT", FAR_MS)
    assert r("COPY", "t", "t2") == 1 and deadline(node, b"t2") == FAR_MS and deadline(node, b"t") == FAR_MS


@pytest.mark.parametrize("opts,msg", [
    (["DB", 16], errors.DB_INDEX), (["DB", -1], errors.DB_INDEX), (["DB", "abc"], errors.NOT_INTEGER),
    (["DB", "9223372036854775807"], errors.INT_RANGE), (["DB"], errors.SYNTAX), (["FOO"], errors.SYNTAX),
])
def test_copy_errors(r: R, opts: list[Any], msg: str) -> None:
    r("SET", "a", 1)
    assert r("COPY", "a", "c", *opts) == err(msg)


def test_move(r: R, node: Node) -> None:
    r("SET", "a", 1)
    assert r("MOVE", "a", 1) == 1 and r("EXISTS", "a") == 0
    r("SET", "a", 2)
    assert r("MOVE", "a", 1) == 0 and r("GET", "a") == b"2"  # the target db has it: nothing moves
    assert r("MOVE", "nokey", 1) == 0
    r("SELECT", 1)
    assert r("GET", "a") == b"1"
    r("SELECT", 0)
    r("SET", "t", "v", "PXAT", FAR_MS)
    assert r("MOVE", "t", 2) == 1 and deadline(node, b"t", 2) == FAR_MS and r("EXISTS", "t") == 0
    r("SET", "p", "v")
    assert r("MOVE", "p", 3) == 1 and deadline(node, b"p", 3) is None
    r("RPUSH", "l", "x", "y")
    assert r("MOVE", "l", 4) == 1
    r("SELECT", 4)
    assert r("LRANGE", "l", 0, -1) == [b"x", b"y"]


@pytest.mark.parametrize("db,msg", [
    (0, errors.SAME_OBJECT), (16, errors.DB_INDEX), (-1, errors.DB_INDEX), ("abc", errors.NOT_INTEGER),
    ("9223372036854775808", errors.NOT_INTEGER), ("2147483648", errors.INT_RANGE),
])
def test_move_errors(r: R, db: Any, msg: str) -> None:
    r("SET", "a", 1)
    assert r("MOVE", "a", db) == err(msg) and r("GET", "a") == b"1"


# ---- EXPIRE family -------------------------------------------------------------------------
def test_expire_pexpire_expireat_pexpireat(r: R, node: Node) -> None:
    r("SET", "k", "v")
    t0 = now_ms()
    assert r("EXPIRE", "k", 100) == 1 and t0 + 100_000 <= deadline(node, b"k") <= now_ms() + 100_000
    assert r("PEXPIRE", "k", 50_000) == 1 and t0 + 50_000 <= deadline(node, b"k") <= now_ms() + 50_000
    assert r("EXPIREAT", "k", FAR_S) == 1 and deadline(node, b"k") == FAR_S * 1000
    assert r("PEXPIREAT", "k", FAR_MS) == 1 and deadline(node, b"k") == FAR_MS
    assert r("EXPIRE", "nokey", 100) == 0 and r("EXISTS", "nokey") == 0


@pytest.mark.parametrize("cmd,arg", [("EXPIRE", 0), ("EXPIRE", -1), ("PEXPIRE", 0), ("EXPIREAT", 1),
                                     ("PEXPIREAT", 1), ("EXPIREAT", -100), ("PEXPIRE", "-9223372036854775808")])
def test_expire_in_the_past_deletes(r: R, node: Node, cmd: str, arg: Any) -> None:
    r("SET", "k", "v")
    assert r(cmd, "k", arg) == 1
    assert r("EXISTS", "k") == 0 and b"k" not in node.keyspace.dbs[0].data


@pytest.mark.parametrize("argv,msg", [
    (["EXPIRE", "k", "abc"], errors.NOT_INTEGER),
    (["EXPIRE", "k", "1.5"], errors.NOT_INTEGER),
    (["EXPIRE", "k", "9223372036854775807"], errors.invalid_expire("expire")),
    (["EXPIRE", "k", "9223372036854775"], errors.invalid_expire("expire")),
    (["EXPIRE", "k", "-9223372036854775808"], errors.invalid_expire("expire")),
    (["PEXPIRE", "k", "9223372036854775807"], errors.invalid_expire("pexpire")),
    (["EXPIREAT", "k", "9223372036854775807"], errors.invalid_expire("expireat")),
    (["EXPIREAT", "k", "92233720368547758"], errors.invalid_expire("expireat")),
    (["EXPIRE", "nokey", "9223372036854775807"], errors.invalid_expire("expire")),
    (["EXPIRE", "k", 10, "FOO"], "ERR Unsupported option FOO"),
    (["EXPIRE", "k", 10, "NX", "foo"], "ERR Unsupported option foo"),
    (["EXPIRE", "k", 10, "NX", "XX"], keys_mod.EXPIRE_NX_CONFLICT),
    (["EXPIRE", "k", 10, "NX", "GT"], keys_mod.EXPIRE_NX_CONFLICT),
    (["EXPIRE", "k", 10, "LT", "NX"], keys_mod.EXPIRE_NX_CONFLICT),
    (["EXPIRE", "k", 10, "GT", "LT"], keys_mod.EXPIRE_GT_LT_CONFLICT),
    (["EXPIRE", "k", "abc", "NX", "XX"], keys_mod.EXPIRE_NX_CONFLICT),  # options are parsed first
    (["EXPIRE", "k", 10, "NX", "XX", "FOO"], "ERR Unsupported option FOO"),
    (["EXPIRE", "k"], errors.wrong_arity("expire")),
])
def test_expire_errors(r: R, node: Node, argv: list[Any], msg: str) -> None:
    r("SET", "k", "v")
    assert r(*argv) == err(msg)
    assert deadline(node, b"k") is None


def test_pexpireat_llong_max_is_accepted(r: R, node: Node) -> None:
    r("SET", "k", "v")
    assert r("PEXPIREAT", "k", "9223372036854775807") == 1 and deadline(node, b"k") == (1 << 63) - 1


def test_expire_nx_xx_gt_lt(r: R, node: Node) -> None:
    r("SET", "k", "v")
    assert r("EXPIRE", "k", 100, "XX") == 0 and r("EXPIRE", "k", 100, "GT") == 0
    assert r("EXPIRE", "k", 100, "NX") == 1 and r("EXPIRE", "k", 200, "NX") == 0
    assert r("EXPIRE", "k", 200, "XX") == 1
    assert r("EXPIRE", "k", 100, "GT") == 0 and r("EXPIRE", "k", 300, "GT") == 1
    assert r("EXPIRE", "k", 400, "LT") == 0 and r("EXPIRE", "k", 50, "LT") == 1
    assert r("PERSIST", "k") == 1 and r("EXPIRE", "k", 50, "LT") == 1  # no TTL = infinite
    assert r("PERSIST", "k") == 1 and r("EXPIRE", "k", 50, "GT") == 0 and deadline(node, b"k") is None
    assert r("EXPIRE", "k", 10, "nx") == 1 and r("PEXPIRE", "k", 5000, "xx") == 1
    assert r("EXPIRE", "nokey", 10, "NX") == 0
    r("SET", "g", "v", "EX", 100)
    assert r("EXPIRE", "g", -1, "GT") == 0 and r("EXISTS", "g") == 1
    assert r("EXPIRE", "g", -1, "LT") == 1 and r("EXISTS", "g") == 0


def test_ttl_family(r: R, node: Node) -> None:
    assert [r(c, "nokey") for c in ("TTL", "PTTL", "EXPIRETIME", "PEXPIRETIME")] == [-2, -2, -2, -2]
    r("SET", "p", "v")
    assert [r(c, "p") for c in ("TTL", "PTTL", "EXPIRETIME", "PEXPIRETIME")] == [-1, -1, -1, -1]
    r("SET", "k", "v", "PXAT", FAR_MS)
    assert r("PEXPIRETIME", "k") == FAR_MS and r("EXPIRETIME", "k") == FAR_S
    r("SET", "k", "v", "PXAT", FAR_S * 1000 + 600)
    assert r("EXPIRETIME", "k") == FAR_S + 1  # rounded like Redis: (ms + 500) / 1000
    r("SET", "k", "v", "EX", 100)
    assert 99 <= r("TTL", "k") <= 100 and 99_000 <= r("PTTL", "k") <= 100_000
    assert r("TTL", "a", "b") == err(errors.wrong_arity("ttl"))


def test_persist(r: R, node: Node) -> None:
    r("SET", "k", "v", "EX", 100)
    assert r("PERSIST", "k") == 1 and r("PERSIST", "k") == 0 and r("PERSIST", "nokey") == 0
    assert r("TTL", "k") == -1


def test_overwrites_and_ttl(r: R, node: Node) -> None:
    r("SET", "k", "v", "PXAT", FAR_MS)
    r("SET", "k", "w")
    assert r("TTL", "k") == -1
    r("SET", "k", "v", "PXAT", FAR_MS)
    r("DEL", "k")
    r("SET", "k", "v")
    assert r("TTL", "k") == -1


# ---- FLUSHDB / FLUSHALL / SWAPDB -----------------------------------------------------------
def test_flushdb_flushall(r: R, node: Node) -> None:
    ops: list[Op] = []
    node.op_listeners.append(ops.append)
    r("MSET", "a", 1, "b", 2)
    r("SELECT", 1)
    r("SET", "d", 4)
    assert r("FLUSHDB") == OK and r("DBSIZE") == 0
    r("SELECT", 0)
    assert r("DBSIZE") == 2
    r("SELECT", 1)
    r("SET", "d", 4)
    r("SELECT", 0)
    assert r("FLUSHALL", "async") == OK and r("DBSIZE") == 0
    r("SELECT", 1)
    assert r("DBSIZE") == 0
    flush = ops[-1]
    assert [e[:2] for e in flush.effects] == [(codes.FLUSHDB, i) for i in range(16)]
    for argv in (["FLUSHDB", "SYNC"], ["FLUSHDB", "ASYNC"], ["FLUSHALL", "sync"]):
        assert r(*argv) == OK
    for argv in (["FLUSHDB", "FOO"], ["FLUSHALL", "FOO"], ["FLUSHDB", "SYNC", "ASYNC"], ["FLUSHALL", "SYNC", "SYNC"]):
        assert r(*argv) == err(errors.SYNTAX)


def test_flushdb_touches_only_existing_watched_keys(r: R, node: Node) -> None:
    r2 = R(node)
    r("WATCH", "k")
    r2("FLUSHALL")
    r("MULTI")
    r("PING")
    assert r("EXEC") == [b"PONG"]
    r("SET", "k", "v")
    r("WATCH", "k")
    r2("FLUSHDB")
    r("MULTI")
    r("PING")
    assert r("EXEC") is NULL_ARRAY


@pytest.mark.parametrize("argv,reply", [
    (["a", "b"], err(keys_mod.SWAPDB_FIRST)), (["0", "b"], err(keys_mod.SWAPDB_SECOND)),
    (["9223372036854775807", "0"], err(keys_mod.SWAPDB_FIRST)), (["-1", "0"], err(errors.DB_INDEX)),
    (["0", "16"], err(errors.DB_INDEX)), (["0", "0"], OK), (["0", "1"], err(errors.SWAPDB_UNSUPPORTED)),
])
def test_swapdb(r: R, argv: list[str], reply: Any) -> None:
    assert r("SWAPDB", *argv) == reply


# ---- OBJECT ------------------------------------------------------------------------------
def test_object_encoding_refcount_idletime(r: R, node: Node) -> None:
    r("SET", "i", 123)
    r("SET", "j", 123456)
    r("SET", "s", "abc")
    assert r("OBJECT", "ENCODING", "i") == b"int" and r("OBJECT", "encoding", "s") == b"embstr"
    assert r("OBJECT", "ENCODING", "nokey") is None
    assert r("OBJECT", "REFCOUNT", "i") == 2147483647 and r("OBJECT", "REFCOUNT", "j") == 1
    assert r("OBJECT", "REFCOUNT", "s") == 1 and r("OBJECT", "REFCOUNT", "nokey") is None
    assert r("OBJECT", "IDLETIME", "i") == 0 and r("OBJECT", "IDLETIME", "nokey") is None
    # Idle time counts from the key's last write (its HLC stamp).
    node.apply_remote(Op("old.1", 1, (now_ms() - 5000) << 16, {},
                         [(codes.SET, 0, b"old", b"v", codes.TTL_CLEAR, None)]))
    assert 4 <= r("OBJECT", "IDLETIME", "old") <= 6
    if has_hashes(r):
        r("HSET", "h", "f", "v")
        assert r("OBJECT", "ENCODING", "h") == b"listpack"


def test_object_freq_and_lfu_policy(r: R, node: Node) -> None:
    r("SET", "k", "v")
    assert r("OBJECT", "FREQ", "nokey") is None
    assert r("OBJECT", "FREQ", "k") == err(keys_mod.LFU_NOT_SELECTED)
    node.runtime["maxmemory-policy"] = "allkeys-lfu"
    assert r("OBJECT", "FREQ", "k") == 5  # LFU_INIT_VAL: a key never read, as Redis
    assert r("OBJECT", "IDLETIME", "k") == err(keys_mod.LFU_SELECTED)


def test_object_help_and_errors(r: R) -> None:
    help_lines = r("OBJECT", "HELP")
    assert len(help_lines) == 15 and help_lines[0].startswith(b"OBJECT <subcommand>")
    assert r("OBJECT", "help") == help_lines
    assert r("OBJECT") == err(errors.wrong_arity("object"))
    assert r("OBJECT", "FOO", "a") == err(errors.unknown_subcommand(b"FOO", "object"))
    assert r("OBJECT", "ENCODING") == err(errors.wrong_arity("object|encoding"))
    assert r("OBJECT", "ENCODING", "a", "b") == err(errors.wrong_arity("object|encoding"))
    assert r("OBJECT", "help", "a") == err(errors.wrong_arity("object|help"))


# ---- active expiry -------------------------------------------------------------------------
def test_active_expire_drops_expired_keys_without_ops(r: R, node: Node) -> None:
    r("MSET", *[x for i in range(50) for x in (f"mine{i}", i)])
    r("MSET", "theirs", 1, "alive", 2)
    r("EXPIRE", "alive", 1000)
    for i in range(50):
        expire_now(node, f"mine{i}".encode())
    expire_now(node, b"theirs", "other.1")
    ops: list[Op] = []
    node.op_listeners.append(ops.append)
    deleted = 0
    for _ in range(10):
        deleted += active_expire_cycle(node, budget_s=1.0)
    # A solo replica drops every expired key, whoever wrote the TTL; expiry is not an op.
    assert deleted == 51 and ops == []
    data = node.keyspace.dbs[0].data
    assert not any(k.startswith(b"mine") for k in data)
    assert b"theirs" not in data and b"alive" in data
    assert r("EXISTS", "theirs") == 0
    assert node._group is None and ops == []
    assert node.expired_keys == 51


def test_active_expire_stops_when_few_keys_expired(node: Node) -> None:
    r = R(node)
    r("MSET", *[x for i in range(100) for x in (f"k{i}", i)])
    for i in range(100):
        r("EXPIRE", f"k{i}", 1000)
    expire_now(node, b"k0")
    assert active_expire_cycle(node, budget_s=1.0) in (0, 1)


def test_active_expire_finds_a_new_key_after_many_volatile_keys_were_flushed(node: Node) -> None:
    # The walk's snapshot of 5000 keys, all deleted since, must not hide a new expired key
    # for 250 cycles (20 stale keys per cycle): Redis's TCL units wait at most ~2 s.
    r = R(node)
    r("MSET", *[x for i in range(5000) for x in (f"v{i}", i)])
    for i in range(5000):
        r("EXPIRE", f"v{i}", 1000)
    assert active_expire_cycle(node, budget_s=1.0) == 0  # takes the snapshot, nothing expired
    r("FLUSHALL")
    r("SET", "new", "1")
    r("EXPIRE", "new", 1000)
    expire_now(node, b"new")
    assert sum(active_expire_cycle(node, budget_s=1.0) for _ in range(3)) == 1
    assert b"new" not in node.keyspace.dbs[0].data


def test_active_expire_default_budget(node: Node) -> None:
    assert active_expire_cycle(node) == 0


# ---- CRDT: concurrent key operations -------------------------------------------------------
class Pair:
    def __init__(self) -> None:
        self.a = make_node("a", ("http://b",))
        self.b = make_node("b", ("http://a",))
        self.ra, self.rb = R(self.a), R(self.b)
        self.out: dict[str, list[Op]] = {"a": [], "b": []}
        self.sent = {"a": 0, "b": 0}
        self.a.op_listeners.append(self.out["a"].append)
        self.b.op_listeners.append(self.out["b"].append)

    def pending(self, side: str) -> list[Op]:
        ops = self.out[side][self.sent[side]:]
        self.sent[side] = len(self.out[side])
        return ops

    def sync(self) -> None:
        pa, pb = self.pending("a"), self.pending("b")
        for op in pb:
            self.a.apply_remote(op)
        for op in pa:
            self.b.apply_remote(op)


def state(node: Node) -> dict[tuple[int, bytes], Any]:
    ks = node.keyspace
    out: dict[tuple[int, bytes], Any] = {}
    for db in ks.dbs:
        for k, e in db.data.items():
            v = e[0] if type(e) is tuple else getattr(e, "value", repr(e))
            out[(db.index, k)] = (v, ks.deadline(db, k))
    return out


def test_expire_concurrent_with_persist_persist_wins() -> None:
    p = Pair()
    p.ra("SET", "k", "v", "PXAT", FAR_MS)
    p.sync()
    assert p.ra("PEXPIREAT", "k", FAR_MS + 1000) == 1
    assert p.rb("PERSIST", "k") == 1
    p.sync()
    assert p.ra("TTL", "k") == p.rb("TTL", "k") == -1
    assert state(p.a) == state(p.b)


def test_expire_concurrent_with_expire_later_deadline_wins() -> None:
    p = Pair()
    p.ra("SET", "k", "v")
    p.sync()
    p.ra("PEXPIREAT", "k", FAR_MS + 5000)
    p.rb("PEXPIREAT", "k", FAR_MS)
    p.sync()
    assert p.ra("PEXPIRETIME", "k") == p.rb("PEXPIRETIME", "k") == FAR_MS + 5000
    # A later EXPIRE that saw both replaces them.
    p.rb("PEXPIREAT", "k", FAR_MS)
    p.sync()
    assert p.ra("PEXPIRETIME", "k") == p.rb("PEXPIRETIME", "k") == FAR_MS


def test_set_clears_only_the_ttl_it_saw() -> None:
    p = Pair()
    p.ra("SET", "k", "v")
    p.sync()
    p.ra("PEXPIREAT", "k", FAR_MS)
    p.rb("SET", "k", "w")
    p.sync()
    assert p.ra("PEXPIRETIME", "k") == p.rb("PEXPIRETIME", "k") == FAR_MS
    assert state(p.a) == state(p.b)


def test_del_concurrent_with_set_update_wins() -> None:
    p = Pair()
    p.ra("MSET", "k", "v1", "other", "x")
    p.sync()
    p.ra("DEL", "k", "other")
    p.rb("SET", "k", "v2")
    p.sync()
    assert p.ra("GET", "k") == p.rb("GET", "k") == b"v2"
    assert p.ra("EXISTS", "other") == p.rb("EXISTS", "other") == 0


def test_flushall_concurrent_with_set_keeps_the_set() -> None:
    p = Pair()
    p.ra("MSET", "a", 1, "b", 2)
    p.sync()
    p.ra("FLUSHALL")
    p.rb("SELECT", 3)
    p.rb("SET", "c", 3)
    p.rb("SELECT", 0)
    p.rb("INCR", "a")
    p.sync()
    assert state(p.a) == state(p.b) == {(3, b"c"): (b"3", None), (0, b"a"): (b"1", None)}


def test_rename_concurrent_with_write_to_source() -> None:
    p = Pair()
    p.ra("SET", "src", 10)
    p.sync()
    p.ra("RENAME", "src", "dst")
    p.rb("INCR", "src")
    p.sync()
    # The rename moved what it saw; the concurrent increment survives at the old name.
    assert state(p.a) == state(p.b)
    assert p.ra("GET", "dst") == b"10" and p.ra("GET", "src") == b"1"


def test_copy_to_another_db_replicates() -> None:
    p = Pair()
    p.ra("SET", "k", "v", "PXAT", FAR_MS)
    p.ra("COPY", "k", "k", "DB", 5)
    p.sync()
    assert state(p.a) == state(p.b)
    assert state(p.b)[(5, b"k")] == (b"v", FAR_MS)


def test_move_replicates_and_a_concurrent_write_to_the_source_survives_there() -> None:
    p = Pair()
    p.ra("SET", "k", "v", "PXAT", FAR_MS)
    p.sync()
    assert p.ra("MOVE", "k", 5) == 1
    p.rb("APPEND", "k", "w")  # concurrent with the MOVE: the move deletes only what it saw
    p.sync()
    assert state(p.a) == state(p.b)
    assert state(p.b)[(5, b"k")] == (b"v", FAR_MS) and p.rb("GET", "k") == b"w"


def test_concurrent_moves_of_one_key_to_two_dbs_leave_it_in_both() -> None:
    """docs/semantics.md, Keys: MOVE is RENAMENX to another db, a copy at its origin."""
    p = Pair()
    p.ra("SET", "k", "v")
    p.sync()
    assert p.ra("MOVE", "k", 1) == 1 and p.rb("MOVE", "k", 2) == 1
    p.sync()
    assert state(p.a) == state(p.b)
    assert {k for k in state(p.a)} == {(1, b"k"), (2, b"k")}


def test_expired_key_is_hidden_until_safe_then_dropped_everywhere_without_ops() -> None:
    p = Pair()
    p.ra("SET", "k", "v")
    p.sync()
    p.a.emit((codes.EXPIRE, 0, b"k", now_ms() - 1000))
    p.a.close_group()
    p.sync()
    for n, rn in ((p.a, p.ra), (p.b, p.rb)):
        assert rn("GET", "k") is None and b"k" in n.keyspace.dbs[0].data  # only hidden
        assert active_expire_cycle(n, budget_s=1.0) == 0
    # Once no op that could see the key alive can arrive (replication decides), each
    # replica drops it on its own: no op is needed, so a concurrent PERSIST is never beaten.
    before = (len(p.out["a"]), len(p.out["b"]))
    for n in (p.a, p.b):
        n.keyspace.expiry_safe = lambda reg, top: True
        assert active_expire_cycle(n, budget_s=1.0) == 1
    assert (len(p.out["a"]), len(p.out["b"])) == before
    assert b"k" not in p.b.keyspace.dbs[0].data and state(p.a) == state(p.b) == {}


def test_observers_converge_in_both_delivery_orders() -> None:
    p = Pair()
    p.ra("SET", "x", 1, "PXAT", FAR_MS)
    p.ra("MSET", "y", 2, "z", 3)
    base = list(p.out["a"])
    p.sync()
    p.ra("EXPIRE", "x", 100)
    p.ra("DEL", "y")
    p.ra("INCRBY", "z", 5)
    p.rb("PERSIST", "x")
    p.rb("SET", "y", "b")
    p.rb("INCR", "z")
    p.rb("RENAME", "z", "w")
    from_a, from_b = p.pending("a"), p.pending("b")
    observers = []
    for order in (from_a + from_b, from_b + from_a):
        obs = make_node("o", ("http://a",))
        for op in base + order:
            obs.apply_remote(op)
        observers.append(state(obs))
    for op in from_b:
        p.a.apply_remote(op)
    for op in from_a:
        p.b.apply_remote(op)
    assert state(p.a) == state(p.b) == observers[0] == observers[1]
    assert p.ra("TTL", "x") == -1  # PERSIST won over the concurrent EXPIRE
    assert p.ra("GET", "y") == b"b"  # the unobserved SET survived the DEL


def test_relative_ttls_and_ttl_replies_follow_the_clock_expiry_is_judged_by() -> None:
    """A replica judges deadlines by Node.now_ms (its clock, or the HLC when a peer's
    stamps are ahead). Relative TTLs are set and reported by that same clock, so a key
    set with EX 10 lives 10 s by the judge, and PTTL counts down on it: with the clock
    held still, PTTL is exactly what was asked, and a step of the clock past the deadline
    expires the key whatever the machine's wall clock says."""
    node = make_node()
    now = [1_000_000_000_000]  # 2001: far behind this machine's wall clock
    node.clock = lambda: now[0]
    r = R(node)
    assert r("SET", "k", "v", "EX", 10) == OK
    assert r("PTTL", "k") == 10_000
    assert r("PEXPIRE", "p", 5) == 0
    assert r("SET", "p", "v", "PX", 2500) == OK
    assert r("GETEX", "g", "EX", 3) is None
    now[0] += 2_000
    assert r("PTTL", "k") == 8_000 and r("PTTL", "p") == 500
    assert r("EXPIRE", "p", 7) == 1 and r("PTTL", "p") == 7_000
    now[0] += 10_001
    assert r("GET", "k") is None and r("EXISTS", "p") == 0
    # An absolute deadline past the judge's clock deletes at once, even if the wall clock
    # has not reached it yet... and one the wall clock passed long ago but the judge has
    # not is kept (this replica's clock is behind: 2001).
    assert r("SET", "a", "v", "PXAT", now[0] - 1) == OK and r("EXISTS", "a") == 0
    assert r("SET", "b", "v", "PXAT", now[0] + 60_000) == OK and r("PTTL", "b") == 60_000
