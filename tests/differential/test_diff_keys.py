"""Differential scripts for the generic key commands: existence, patterns, SCAN, renames,
copies, expiry, databases, OBJECT."""
from __future__ import annotations

import pytest

from tests.differential.harness import (
    KEEP_GOING,
    TYPE,
    UNORDERED,
    Differ,
    ScanAll,
    Script,
    ScriptCase,
    WaitFor,
    int_range,
    scripts,
)

FAR = 4102444800  # 2100-01-01: far-future absolute deadlines keep EXPIRETIME exact
FAR_MS = FAR * 1000 + 7
PATTERN_KEYS = "MSET hello 1 hallo 2 hxllo 3 hllo 4 heeeello 5 h*llo 6 h?llo 7 'h[a]llo' 8 'h\\llo' 9 x 10 xy 11 '' 12"

KEYS: dict[str, Script] = {
    "del_unlink_exists": [
        "MSET a 1 b 2 c 3", "EXISTS a", "EXISTS a b nokey", "EXISTS a a a", "DEL a", "DEL a", "EXISTS a",
        "DEL b c nokey", "DBSIZE", "MSET a 1 b 2", "UNLINK a nokey b", "UNLINK a", "DBSIZE", "SET a 1",
        "DEL a a", "DEL", "UNLINK", "EXISTS",
    ],
    "type": [
        "SET s v", "TYPE s", "TYPE nokey", "SET i 12", "TYPE i", "TYPE", "TYPE a b",
    ],
    "keys_patterns": [
        PATTERN_KEYS, ("KEYS *", UNORDERED), ("KEYS h?llo", UNORDERED), ("KEYS h*llo", UNORDERED),
        ("KEYS h[ae]llo", UNORDERED), ("KEYS h[^e]llo", UNORDERED), ("KEYS h[a-b]llo", UNORDERED),
        ("KEYS h[b-a]llo", UNORDERED), ("KEYS 'h\\*llo'", UNORDERED), ("KEYS 'h\\?llo'", UNORDERED),
        ("KEYS 'h\\[a\\]llo'", UNORDERED), ("KEYS 'h\\\\llo'", UNORDERED), ("KEYS x?", UNORDERED),
        ("KEYS x*", UNORDERED), ("KEYS ?", UNORDERED), ("KEYS ''", UNORDERED), ("KEYS nomatch*", UNORDERED),
        ("KEYS *llo", UNORDERED), ("KEYS **", UNORDERED), ("KEYS h[", UNORDERED), ("KEYS 'h[a'", UNORDERED),
        ("KEYS [hx]*", UNORDERED), ("KEYS [!h]*", UNORDERED), ("KEYS '*\\'", UNORDERED), ("KEYS hello", UNORDERED),
        ("KEYS HELLO", UNORDERED), "KEYS", "KEYS a b",
    ],
    "keys_per_db_and_expired": [
        "MSET a 1 b 2", "SELECT 1", "SET c 3", ("KEYS *", UNORDERED), "SELECT 0", ("KEYS *", UNORDERED),
        "SET e v PX 1", WaitFor("EXISTS e", b":0"), ("KEYS *", UNORDERED), "DBSIZE",
    ],
    "scan_all": [
        PATTERN_KEYS, ScanAll(), ScanAll("MATCH h*"), ScanAll("MATCH h?llo COUNT 2"), ScanAll("COUNT 1"),
        ScanAll("COUNT 1000"), ScanAll("TYPE string"), ScanAll("TYPE list"), ScanAll("MATCH x* TYPE string"),
        ScanAll("match h[ae]llo count 3"), ScanAll("MATCH nomatch"), ScanAll("type STRING"),
    ],
    "scan_many_keys": [
        ["MSET", *[x for i in range(300) for x in (f"key:{i}", str(i))]], ScanAll(), ScanAll("COUNT 7"),
        ScanAll("MATCH key:1*"), ScanAll("MATCH key:2?"), "DBSIZE",
    ],
    "scan_errors_and_empty": [
        KEEP_GOING,
        "SCAN 0", "SCAN abc", "SCAN -1", "SCAN 1.5", "SCAN 0 COUNT 0", "SCAN 0 COUNT -1", "SCAN 0 COUNT abc",
        "SCAN 0 COUNT", "SCAN 0 MATCH", "SCAN 0 FOO", "SCAN 0 TYPE", "SCAN", "SCAN 18446744073709551616",
        "SCAN 0 MATCH * COUNT 10 TYPE string", "SCAN 0 TYPE nosuchtype",
    ],
    "scan_other_db": [
        "MSET a 1 b 2", "SELECT 5", "MSET c 1 d 2 e 3", ScanAll(), "SELECT 0", ScanAll(),
    ],
    "randomkey": [
        "RANDOMKEY", "SET only v", "RANDOMKEY", "MSET a 1 b 2 c 3", ("RANDOMKEY", TYPE), "FLUSHDB", "RANDOMKEY",
        "RANDOMKEY x", "SELECT 2", "RANDOMKEY",
    ],
    "rename": [
        "SET a 1", "RENAME a b", "GET a", "GET b", "RENAME nokey x", "RENAME b b", "GET b", "RENAME nokey nokey",
        "SET c 3", "RENAME b c", "GET c", "EXISTS b", "SET t v EX 100", "RENAME t t2", ("TTL t2", int_range(98, 100)),
        "SET u v", "SET w x EX 100", "RENAME u w", "TTL w", "GET w", "RENAME", "RENAME a", "RENAME a b c",
    ],
    "renamenx": [
        "SET a 1", "SET b 2", "RENAMENX a b", "GET a", "GET b", "RENAMENX a c", "GET c", "EXISTS a",
        "RENAMENX nokey d", "RENAMENX c c", "SET t v EX 100", "RENAMENX t t2", ("TTL t2", int_range(98, 100)),
        "RENAMENX", "RENAMENX a", "RENAMENX a b c",
    ],
    "copy": [
        "SET a 1", "COPY a b", "GET b", "COPY a b", "SET a 2", "COPY a b REPLACE", "GET b", "COPY a a",
        "COPY a a REPLACE", "COPY nokey x", "EXISTS x", "COPY a c DB 1", "SELECT 1", "GET c", "SELECT 0",
        "COPY a c DB 1", "COPY a c DB 1 REPLACE", "COPY a a DB 0", "COPY a a DB 1", "COPY a c DB 16",
        "COPY a c DB -1", "COPY a c DB abc", "COPY a c DB", "COPY a c FOO", "COPY a c REPLACE REPLACE",
        "COPY a", "COPY", "SET t v EX 100", "COPY t t2", ("TTL t2", int_range(98, 100)), "SET i 123",
        "COPY i i2", "OBJECT ENCODING i2", "GET i2", "COPY a c db 2 replace", "SELECT 2", "GET c",
    ],
    "move": [
        "SET a 1", "MOVE a 1", "EXISTS a", "DBSIZE", "SELECT 1", "GET a", "DBSIZE", "SELECT 0", "SET a 2",
        "MOVE a 1", "GET a", "MOVE nokey 1", "MOVE a 0", "MOVE a 16", "MOVE a -1", "MOVE a abc", "MOVE a 1.5",
        "MOVE a 9223372036854775808", "MOVE a", "MOVE", "MOVE a 1 2", "SET t v EX 100", "MOVE t 2", "TTL t",
        "SELECT 2", ("TTL t", int_range(98, 100)), "GET t", "MOVE t 0", "SELECT 0", ("TTL t", int_range(98, 100)),
        "SET p v", "MOVE p 3", "SELECT 3", "TTL p", "RPUSH l x y", "MOVE l 0", "SELECT 0", "LRANGE l 0 -1",
        "TYPE l", "SET i 123", "MOVE i 4", "SELECT 4", "OBJECT ENCODING i", "GET i",
    ],
    "touch": [
        "MSET a 1 b 2", "TOUCH a", "TOUCH a b nokey", "TOUCH a a", "TOUCH nokey", "TOUCH",
    ],
    "expire_basic": [
        "SET k v", "EXPIRE k 100", ("TTL k", int_range(98, 100)), ("PTTL k", int_range(98000, 100000)),
        "EXPIRE nokey 100", "TTL nokey", "PTTL nokey", "SET p v", "TTL p", "PTTL p", "PEXPIRE k 50000",
        ("PTTL k", int_range(48000, 50000)), "PEXPIRE nokey 10", "SET k v", "TTL k",
        "EXPIRE k 100", "PERSIST k", "PERSIST k", "PERSIST nokey", "TTL k", "EXPIRE k 0", "EXISTS k",
        "SET k v", "EXPIRE k -1", "EXISTS k", "SET k v", "PEXPIRE k 0", "EXISTS k", "SET k v", "PEXPIRE k 1",
        WaitFor("EXISTS k", b":0"), "GET k",
    ],
    "expireat_expiretime": [
        "SET k v", f"EXPIREAT k {FAR}", "EXPIRETIME k", "PEXPIRETIME k", ("TTL k", TYPE), f"PEXPIREAT k {FAR_MS}",
        "PEXPIRETIME k", "EXPIRETIME k", "EXPIRETIME nokey", "PEXPIRETIME nokey", "SET p v", "EXPIRETIME p",
        "PEXPIRETIME p", "EXPIREAT k 1", "EXISTS k", "SET k v", "PEXPIREAT k 1", "EXISTS k",
        f"EXPIREAT nokey {FAR}", "SET k v", "EXPIREAT k 0", "EXISTS k", "SET k v", "EXPIREAT k -100", "EXISTS k",
        "EXPIRETIME", "PEXPIRETIME a b",
    ],
    "expire_errors": [
        KEEP_GOING,
        "SET k v", "EXPIRE k abc", "EXPIRE k 1.5", "EXPIRE k ''", "EXPIRE k 9223372036854775807",
        "EXPIRE k 9223372036854775", "PEXPIRE k 9223372036854775807", "EXPIREAT k 9223372036854775807",
        "PEXPIREAT k 9223372036854775807", "EXPIRE k -9223372036854775808", "PEXPIRE k -9223372036854775808",
        "EXPIREAT k 92233720368547758", "TTL k", "EXPIRE k", "EXPIRE", "PEXPIRE k", "EXPIREAT k", "PEXPIREAT k",
        "EXPIRE k 10 FOO", "EXPIRE k 10 NX FOO", "TTL", "PTTL", "TTL a b", "PERSIST", "PERSIST a b",
        "EXPIRE nokey abc", "EXPIRE nokey 9223372036854775807",
    ],
    "expire_nx_xx_gt_lt": [
        "SET k v", "EXPIRE k 100 XX", "TTL k", "EXPIRE k 100 GT", "TTL k", "EXPIRE k 100 NX",
        ("TTL k", int_range(98, 100)), "EXPIRE k 200 NX", ("TTL k", int_range(98, 100)), "EXPIRE k 200 XX",
        ("TTL k", int_range(198, 200)), "EXPIRE k 100 GT", "EXPIRE k 300 GT", ("TTL k", int_range(298, 300)),
        "EXPIRE k 400 LT", "EXPIRE k 50 LT", ("TTL k", int_range(48, 50)), "PERSIST k", "EXPIRE k 50 LT",
        ("TTL k", int_range(48, 50)), "PERSIST k", "EXPIRE k 50 GT", "TTL k", "EXPIRE nokey 10 NX",
        "EXPIRE nokey 10 XX", "EXPIRE k 10 nx", "PEXPIRE k 5000 xx", ("PTTL k", int_range(4000, 5000)),
        f"EXPIREAT k {FAR} GT", "EXPIRETIME k", f"EXPIREAT k {FAR + 1} LT", "EXPIRETIME k",
        f"PEXPIREAT k {FAR_MS} LT", "PEXPIRETIME k", f"PEXPIREAT k {FAR_MS} NX", "EXPIRE k 0 LT", "EXISTS k",
        "SET g v EX 100", "EXPIRE g -1 GT", "EXISTS g", "SET g v EX 100", "EXPIRE g -1 LT", "EXISTS g",
    ],
    "expire_option_conflicts": [
        "SET k v", "EXPIRE k 10 NX XX", "EXPIRE k 10 GT LT", "EXPIRE k 10 NX GT", "EXPIRE k 10 NX LT",
        "EXPIRE k 10 XX GT", "TTL k", "EXPIRE k 10 XX LT", "PEXPIRE k 10 NX XX", "EXPIREAT k 10 GT LT",
        "PEXPIREAT k 10 NX LT", "EXPIRE k 10 NX NX", ("TTL k", int_range(8, 10)),
        # 20 > 10 whatever the clock did since the last EXPIRE (10 GT 10 depends on the millisecond).
        "EXPIRE k 20 GT GT",
        "EXPIRE k 10 XX XX", "EXPIRE k 10 LT GT NX", "EXPIRE nokey 10 NX XX", "EXPIRE k abc NX XX",
        "EXPIRE k 10 NX XX FOO",
    ],
    "expire_overwrite_and_persist_paths": [
        "SET k v EX 100", "SET k w", "TTL k", "SET k v EX 100", "GETSET k w", "TTL k", "SET k v EX 100",
        "APPEND k x", ("TTL k", int_range(98, 100)), "DEL k", "SET k v", "TTL k", "SET k 1 EX 100", "INCR k",
        ("TTL k", int_range(98, 100)), "SET k v EX 100", "GETEX k PERSIST", "TTL k",
    ],
    "dbsize_flush": [
        "DBSIZE", "MSET a 1 b 2 c 3", "DBSIZE", "SELECT 1", "SET d 4", "DBSIZE", "FLUSHDB", "DBSIZE", "SELECT 0",
        "DBSIZE", "SELECT 1", "SET d 4", "SELECT 0", "FLUSHALL", "DBSIZE", "SELECT 1", "DBSIZE", "SET x 1",
        "FLUSHDB ASYNC", "DBSIZE", "SET x 1", "FLUSHDB SYNC", "DBSIZE", "SET x 1", "FLUSHALL ASYNC", "DBSIZE",
        "SET x 1", "FLUSHALL SYNC", "DBSIZE", "FLUSHALL async", "FLUSHDB sync", "FLUSHDB FOO", "FLUSHALL FOO",
        "FLUSHDB SYNC ASYNC", "FLUSHALL SYNC SYNC", "DBSIZE x",
    ],
    "object_commands": [
        KEEP_GOING,
        "SET i 123", "OBJECT ENCODING i", "SET e abc", "OBJECT ENCODING e", ["SET", "r", "x" * 60],
        "OBJECT ENCODING r", "OBJECT ENCODING nokey", "OBJECT FREQ i", "OBJECT FREQ nokey",
        "OBJECT ENCODING", "OBJECT FREQ", "OBJECT ENCODING a b", "OBJECT", "OBJECT FOO", "OBJECT FOO a",
        ("OBJECT IDLETIME i", int_range(0, 5)), "OBJECT IDLETIME nokey", ("OBJECT HELP", TYPE),
    ],
    "select": [
        *[f"SELECT {i}" for i in range(16)], "SELECT 16", "SELECT -1", "SELECT abc", "SELECT 1.5", "SELECT ''",
        "SELECT 9223372036854775808", "SELECT", "SELECT 1 2", "SELECT 0", "SET k db0", "SELECT 9", "GET k",
        "SET k db9", "GET k", "SELECT 0", "GET k", "SELECT 15", "SET k db15", "DBSIZE", "SELECT 00",
        "GET k", "select 9", "GET k",
    ],
    "keys_resp3": [
        ("HELLO 3", TYPE), "MSET a 1 b 2", ("KEYS *", UNORDERED), "TYPE a", "EXISTS a b", ("RANDOMKEY", TYPE), "DEL a",
        "RANDOMKEY", "FLUSHDB", "RANDOMKEY", "SCAN 0", "TTL a", "OBJECT ENCODING nokey", "EXPIRETIME nokey",
        "SET i 1", "OBJECT ENCODING i", "COPY i j", "RENAME nokey x",
    ],
}

WRONGTYPE: dict[str, Script] = {
    "keys_with_list": [
        "RPUSH l a b c", "TYPE l", "EXISTS l", ("KEYS *", UNORDERED), "OBJECT ENCODING l", "EXPIRE l 100",
        ("TTL l", int_range(98, 100)), "PERSIST l", "RENAME l l2", "TYPE l2", "LRANGE l2 0 -1",
        "COPY l2 l3", "LRANGE l3 0 -1", "SET s v", "RENAME l3 s", "TYPE s", "RENAMENX s l2", "DEL l2 s",
        "EXISTS l2 s", "RPUSH l x", "DBSIZE", "RANDOMKEY", "TOUCH l", "UNLINK l", "TYPE l",
    ],
    "scan_type_filters": [
        "RPUSH l a", "SADD st m", "SET s v", "SET i 12", ScanAll("TYPE list"), ScanAll("TYPE set"),
        ScanAll("TYPE string"), ScanAll("TYPE hash"), ScanAll(), "TYPE st", "OBJECT ENCODING st",
    ],
    "copy_and_type_change": [
        "RPUSH l a", "SET s v", "COPY s l", "COPY s l REPLACE", "TYPE l", "GET l", "RPUSH l2 x", "COPY l2 s REPLACE",
        "TYPE s", "LRANGE s 0 -1", "RPUSH s y", "LRANGE s 0 -1", "LRANGE l2 0 -1",
    ],
}


@pytest.mark.parametrize("case", scripts(KEYS))
def test_keys(diff: Differ, case: ScriptCase) -> None:
    diff.run(case)


@pytest.mark.parametrize("case", scripts(WRONGTYPE))
def test_keys_wrongtype(diff: Differ, case: ScriptCase) -> None:
    diff.run(case)
