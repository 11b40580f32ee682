"""Differential scripts for the string commands (GET/SET family, ranges, LCS)."""
from __future__ import annotations

import pytest

from tests.differential.harness import (
    KEEP_GOING,
    TYPE,
    Differ,
    Script,
    ScriptCase,
    WaitFor,
    int_range,
    scripts,
)

# 2100-01-01T00:00:00Z: an absolute deadline far enough away that EXPIRETIME is exact.
FAR = 4102444800
FAR_MS = FAR * 1000 + 123
BIG = "x" * 100

STRINGS: dict[str, Script] = {
    "get_set_basic": [
        "GET k", "SET k v", "GET k", "SET k v2", "GET k",
        ["SET", "bin", b"\x00\xff\r\n$3\r\n"], "GET bin", "STRLEN bin",
        "SET empty ''", "GET empty", "STRLEN empty", "EXISTS empty",
        ["SET", "big", BIG * 100], "GET big",
        ["SET", b"\xe2\x82\xac key", "val"], ["GET", b"\xe2\x82\xac key"],
        "set K upper", "GET K", "get k",
    ],
    "set_get_arity": [
        KEEP_GOING,
        "SET", "SET k", "GET", "GET a b", "SET k v EX", "SET k v PX", "SET k v EXAT", "SET k v PXAT",
    ],
    "set_nx_xx": [
        "SET k v NX", "SET k w NX", "GET k", "SET k2 v XX", "GET k2", "EXISTS k2",
        "SET k w XX", "GET k", "SET k v NX XX", "SET k v XX NX", "set k v nx", "SET k v xx",
        "SET k v NX NX", "SET k v XX XX",
    ],
    "set_get_option": [
        "SET k v GET", "SET k w GET", "GET k", "SET k x NX GET", "GET k", "SET n x NX GET", "GET n",
        "SET k y XX GET", "SET nokey y XX GET", "EXISTS nokey", "SET k z GET GET", "SET k z get",
    ],
    "set_ex_px": [
        "SET k v EX 100", ("TTL k", int_range(98, 100)), ("PTTL k", int_range(98000, 100000)),
        "SET k v PX 100000", ("PTTL k", int_range(98000, 100000)), ("TTL k", int_range(98, 100)),
        "SET k v", "TTL k", "PTTL k", "SET k v ex 50", ("TTL k", int_range(48, 50)),
        "SET k v EX 1000000000", ("TTL k", int_range(999999998, 1000000000)),
    ],
    "set_exat_pxat": [
        f"SET k v EXAT {FAR}", "EXPIRETIME k", "PEXPIRETIME k", "GET k",
        f"SET k v PXAT {FAR_MS}", "PEXPIRETIME k", "EXPIRETIME k",
        "SET p v EXAT 1", "GET p", "EXISTS p", "SET p v PXAT 1", "GET p",
        "SET p v PX 1", WaitFor("EXISTS p", b":0"), "GET p",
    ],
    "set_keepttl": [
        "SET k v EX 100", "SET k w KEEPTTL", ("TTL k", int_range(98, 100)), "GET k",
        "SET k x", "TTL k", "SET n v KEEPTTL", "TTL n", "SET k v KEEPTTL GET", "SET k v KEEPTTL XX",
        "SET k v KEEPTTL EX 10", "SET k v EX 10 KEEPTTL", "SET k v PX 10 KEEPTTL",
    ],
    "set_invalid_expire": [
        KEEP_GOING,
        "SET k v EX 0", "SET k v EX -1", "SET k v PX 0", "SET k v PX -5", "SET k v EXAT 0", "SET k v PXAT -1",
        "SET k v EX abc", "SET k v PX 1.5", "SET k v EX ''", "SET k v EX 9223372036854775807",
        "SET k v PX 9223372036854775807", "SET k v EX 9223372036854775808", "SET k v EX 92233720368547758",
        "SET k v EXAT 9223372036854775807", "SET k v PXAT 9223372036854775807", "EXISTS k",
    ],
    "set_syntax_errors": [
        KEEP_GOING,
        "SET k v EX 10 PX 10", "SET k v PX 10 EX 10", "SET k v EX 10 EX 10", "SET k v EX 10 EXAT 10",
        "SET k v FOO", "SET k v NX FOO", "SET k v 10", "SET k v KEEPTTL KEEPTTL", "EXISTS k",
    ],
    "set_option_combos": [
        "SET k v NX EX 100 GET", ("TTL k", int_range(98, 100)), "SET k w XX PX 50000 GET",
        ("PTTL k", int_range(48000, 50000)), "SET k w XX KEEPTTL GET", ("PTTL k", int_range(48000, 50000)),
        f"SET k z EXAT {FAR} GET XX", "EXPIRETIME k", "SET k2 v GET NX EX 10", ("TTL k2", int_range(8, 10)),
        "SET k3 v PXAT 1 GET", "EXISTS k3",
    ],
    "setnx_setex_psetex": [
        "SETNX k v", "SETNX k w", "GET k", "SETNX k", "SETNX k v x",
        "SETEX s 100 v", ("TTL s", int_range(98, 100)), "GET s", "SETEX s 0 v", "SETEX s -1 v", "SETEX s abc v",
        "SETEX s 9223372036854775807 v", "SETEX s 100", "SETEX s 100 v extra",
        "PSETEX p 100000 v", ("PTTL p", int_range(98000, 100000)), "PSETEX p 0 v", "PSETEX p -10 v",
        "PSETEX p 1.5 v", "PSETEX p 100", "GET p", "SETEX s 10 new", ("TTL s", int_range(8, 10)), "GET s",
    ],
    "getset_getdel": [
        "GETSET k v", "GETSET k w", "GET k", "GETSET k", "GETSET k a b",
        "SET t v EX 100", "GETSET t w", "TTL t",
        "GETDEL k", "GETDEL k", "EXISTS k", "GETDEL", "GETDEL a b", "SET n 10", "GETDEL n", "GETDEL nokey",
    ],
    "getex": [
        "SET k v", "GETEX k", "TTL k", "GETEX k EX 100", ("TTL k", int_range(98, 100)),
        "GETEX k PX 50000", ("PTTL k", int_range(48000, 50000)), f"GETEX k EXAT {FAR}", "EXPIRETIME k",
        f"GETEX k PXAT {FAR_MS}", "PEXPIRETIME k", "GETEX k PERSIST", "TTL k", "GETEX nokey EX 10",
        "GETEX nokey PERSIST", "EXISTS nokey", "GETEX k ex 10", ("TTL k", int_range(8, 10)), "GETEX k persist",
        "TTL k", "GETEX k EXAT 1", "EXISTS k",
    ],
    "getex_errors": [
        KEEP_GOING,
        "SET k v", "GETEX k EX 0", "GETEX k EX -1", "GETEX k PX 0", "GETEX k EXAT 0", "GETEX k PXAT -1",
        "GETEX k EX abc", "GETEX k EX", "GETEX k EX 10 PX 10", "GETEX k EX 10 PERSIST", "GETEX k PERSIST EX 10",
        "GETEX k FOO", "GETEX k KEEPTTL", "GETEX k EX 9223372036854775807", "GETEX k PX 9223372036854775807",
        "GETEX", "TTL k", "GETEX nokey EX 0", "GETEX nokey FOO",
    ],
    "mget_mset_msetnx": [
        "MSET a 1 b 2 c 3", "MGET a b c nokey", "MGET a", "MGET", "MSET", "MSET a", "MSET a 1 b",
        "MSET a 10 a 20", "GET a", "MSETNX x 1 y 2", "MGET x y", "MSETNX y 3 z 4", "MGET y z", "EXISTS z",
        "MSETNX", "MSETNX x", "MSETNX p 1 q", "MSETNX q 1 q 2", "GET q",
        "SET t v EX 100", "MSET t w", "TTL t",
    ],
    "append_strlen": [
        "APPEND k abc", "APPEND k def", "GET k", "STRLEN k", "STRLEN nokey", "APPEND k ''", "GET k",
        "APPEND n ''", "EXISTS n", "GET n", "SET i 10", "APPEND i 5", "GET i", "STRLEN i",
        "APPEND", "APPEND k", "APPEND k a b", "STRLEN", "STRLEN a b",
        "SET t v EX 100", "APPEND t x", ("TTL t", int_range(98, 100)), "SET num 12345", "STRLEN num",
    ],
    "getrange_substr": [
        "SET k 'This is a string'", "GETRANGE k 0 3", "GETRANGE k -3 -1", "GETRANGE k 0 -1", "GETRANGE k 10 100",
        "GETRANGE k 5 2", "GETRANGE k -100 2", "GETRANGE k -1 -100", "GETRANGE k 100 200", "GETRANGE k -1 0",
        "GETRANGE k 0 0", "GETRANGE nokey 0 10", "GETRANGE k a 1", "GETRANGE k 0 b", "GETRANGE k 0",
        "GETRANGE k 0 9223372036854775807", "GETRANGE k -9223372036854775808 3", "GETRANGE k 0 99999999999999999999",
        "SUBSTR k 0 3", "SUBSTR k -3 -1", "SUBSTR nokey 0 1", "SUBSTR k x 1", "SUBSTR k 0",
        "SET i 12345", "GETRANGE i 1 2", "SET e ''", "GETRANGE e 0 -1", "GETRANGE e 0 0",
    ],
    "setrange": [
        "SETRANGE k 0 hello", "GET k", "SETRANGE k 6 world", "GET k", "STRLEN k", "SETRANGE k 1 a", "GET k",
        "SETRANGE n 3 x", "GET n", "SETRANGE e 0 ''", "EXISTS e", "SETRANGE e 10 ''", "EXISTS e",
        "SETRANGE k 100 ''", "STRLEN k", "SETRANGE k -1 x", "SETRANGE k abc x", "SETRANGE k 1.5 x",
        "SETRANGE k 536870912 x", "SETRANGE k 536870911 xx", "SETRANGE n2 536870912 x", "EXISTS n2",
        "SETRANGE k 9223372036854775807 x", "SETRANGE k -1 ''", "SETRANGE", "SETRANGE k 0", "SETRANGE k 0 a b",
        "SET i 123", "SETRANGE i 1 9", "GET i", "OBJECT ENCODING i",
        "SET t v EX 100", "SETRANGE t 0 w", ("TTL t", int_range(98, 100)),
    ],
    "lcs": [
        "MSET k1 ohmytext k2 mynewtext", "LCS k1 k2", "LCS k1 k2 LEN", "LCS k1 k2 IDX",
        "LCS k1 k2 IDX MINMATCHLEN 4", "LCS k1 k2 IDX WITHMATCHLEN", "LCS k1 k2 IDX MINMATCHLEN 4 WITHMATCHLEN",
        "LCS k1 k2 WITHMATCHLEN IDX", "LCS k1 k2 idx withmatchlen minmatchlen 2", "LCS k1 k2 MINMATCHLEN 4",
        "LCS k1 k2 LEN IDX", "LCS k1 k2 IDX LEN", "LCS k1 k2 MINMATCHLEN", "LCS k1 k2 MINMATCHLEN abc",
        "LCS k1 k2 MINMATCHLEN -1 IDX", "LCS k1 k2 FOO", "LCS k1 nokey", "LCS nokey nokey2", "LCS nokey k1 LEN",
        "LCS nokey nokey IDX", "LCS k1 k1", "LCS k1", "LCS", "LCS k1 k2 LEN LEN",
        "MSET a abcdefgh b xxabyycdzzefgh", "LCS a b", "LCS a b IDX", "LCS a b IDX WITHMATCHLEN MINMATCHLEN 2",
        "MSET e '' f abc", "LCS e f", "LCS e f IDX", "LCS e f LEN",
    ],
    "lcs_resp3": [
        ("HELLO 3", TYPE), "MSET k1 ohmytext k2 mynewtext", "LCS k1 k2", "LCS k1 k2 LEN", "LCS k1 k2 IDX",
        "LCS k1 k2 IDX WITHMATCHLEN MINMATCHLEN 2", "LCS k1 nokey IDX",
    ],
    "strings_resp3": [
        ("HELLO 3", TYPE), "GET nokey", "SET k v", "GET k", "SET k w GET", "SET n v XX GET", "MGET k nokey",
        "GETDEL nokey", "GETEX nokey", "GETSET k x", "APPEND k y", "STRLEN k", "GETRANGE k 0 -1",
        "SETRANGE k 0 z", "SET k v FOO", "GET",
    ],
    "object_encoding_strings": [
        "SET i 123", "OBJECT ENCODING i", "SET neg -5", "OBJECT ENCODING neg", "SET lead 0123", "OBJECT ENCODING lead",
        "SET huge 12345678901234567890", "OBJECT ENCODING huge", "SET s abc", "OBJECT ENCODING s",
        ["SET", "r44", "a" * 44], "OBJECT ENCODING r44", ["SET", "r45", "a" * 45], "OBJECT ENCODING r45",
        "APPEND s d", "OBJECT ENCODING s", "SETRANGE i 0 9", "OBJECT ENCODING i", "OBJECT ENCODING nokey",
        "SET f 1.5", "OBJECT ENCODING f", "SET sp ' 1'", "OBJECT ENCODING sp", "SET z 0", "OBJECT ENCODING z",
    ],
}

WRONGTYPE: dict[str, Script] = {
    "strings_on_list": [
        KEEP_GOING,
        "RPUSH l a b", "GET l", "GETSET l v", "GETDEL l", "GETEX l", "GETEX l EX 10", "APPEND l x", "STRLEN l",
        "GETRANGE l 0 1", "SUBSTR l 0 1", "SETRANGE l 0 x", "SETRANGE l 0 ''", "MGET l nokey", "SETNX l v",
        "MSETNX l v x y", "EXISTS x", "LCS l nokey", "LCS nokey l", "SET l v XX GET", "SET l v GET", "TYPE l",
        "SET l v", "GET l", "TYPE l",
    ],
    "set_overwrites_list": [
        "RPUSH l a", "SET l v NX", "SET l v XX", "GET l", "RPUSH l2 a", "MSET l2 x", "GET l2",
        "RPUSH l3 a", "SETEX l3 100 v", "GET l3", "RPUSH l4 a", "PSETEX l4 100000 v", "GET l4",
    ],
}


@pytest.mark.parametrize("case", scripts(STRINGS))
def test_strings(diff: Differ, case: ScriptCase) -> None:
    diff.run(case)


@pytest.mark.parametrize("case", scripts(WRONGTYPE))
def test_strings_wrongtype(diff: Differ, case: ScriptCase) -> None:
    diff.run(case)
