"""Differential scripts for the set commands (SADD ... SSCAN).

A hashtable-encoded set has no defined member order in Redis (ours is insertion order), so
its replies are compared UNORDERED; an intset replies in numeric order on both sides and is
compared exactly. Random picks (SPOP, SRANDMEMBER) are compared by shape (IGNORE_VALUE)
unless the set leaves no choice.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pytest

from tests.differential.harness import (
    IGNORE_VALUE,
    TYPE,
    UNORDERED,
    Differ,
    Run,
    Script,
    ScriptCase,
    Step,
    WaitFor,
    custom,
    int_range,
    parse_argv,
    scripts,
)
from tests.support.resp_client import Arg, decode

SET_COMMANDS = (
    "sadd srem smembers sismember smismember scard spop srandmember smove sinter sintercard "
    "sinterstore sunion sunionstore sdiff sdiffstore sscan"
).split()


def _command_info(value: Any) -> list[Any]:
    """Name, arity, flags, first/last/step and ACL categories (as sorted lists)."""
    out = []
    for entry in value:
        name, arity, flags, first, last, step, cats = entry[:7]
        out.append((bytes(name), arity, sorted(bytes(f) for f in flags), first, last, step,
                    sorted(bytes(c) for c in cats)))
    return out


COMMAND_INFO = custom(_command_info, "COMMAND INFO name/arity/flags/keys/categories")
# One SSCAN reply of a small hashtable set: the cursor exactly, the members in any order.
SSCAN_UNORDERED = custom(lambda v: (bytes(v[0]), sorted(bytes(x) for x in v[1])), "SSCAN cursor + member set")


@dataclass
class SScanAll(Step):
    """SSCAN `key` with `args` until the cursor returns to 0 on each server; compares the
    set of members seen (cursors and batch sizes are implementation details)."""

    key: str
    args: str | Sequence[Arg] = ""
    max_calls: int = 10_000

    def run(self, ctx: Run) -> None:
        extra = parse_argv(self.args)
        seen: dict[str, Any] = {}
        for side in (ctx.ref, ctx.sub):
            cursor = b"0"
            members: set[bytes] = set()
            for _ in range(self.max_calls):
                argv = [b"SSCAN", self.key.encode(), cursor, *extra]
                raw = side.exchange(0, b"*%d\r\n" % len(argv) + b"".join(b"$%d\r\n%s\r\n" % (len(a), a) for a in argv))
                if isinstance(raw, str) or not raw.startswith(b"*2\r\n"):
                    seen[side.label] = f"SSCAN replied {raw!r}"
                    break
                cursor, batch = decode(raw)
                members.update(bytes(x) for x in batch)
                if cursor == b"0":
                    seen[side.label] = frozenset(members)
                    break
            else:
                seen[side.label] = f"cursor never returned to 0 after {self.max_calls} calls"
        what = f"SSCAN* {self.key} {self.args!s}"
        r, s = seen[ctx.ref.label], seen[ctx.sub.label]
        if r != s:
            ctx.fail(what, f"member sets differ:\n    ref: {r}\n    sub: {s}")
        ctx.log(what, f"{len(r)} members")


INTS_600 = [str(i) for i in range(600)]
WORDS_300 = [f"w{i}" for i in range(300)]

SETS: dict[str, Script] = {
    "sadd_srem_basic": [
        "SADD s a b c", "SADD s a d", ("SMEMBERS s", UNORDERED), "SCARD s", "SREM s a x", "SREM s a",
        "SREM nokey a", ("SMEMBERS s", UNORDERED), "SREM s b c d", "EXISTS s", "SADD s a a a", "SCARD s",
        "TYPE s", "SREM s a a", "EXISTS s", ["SADD", "bin", b"\x00\xff\r\n", ""], ("SMEMBERS bin", UNORDERED),
        ["SISMEMBER", "bin", b"\x00\xff\r\n"], "SISMEMBER bin ''",
    ],
    "arity": [
        "SADD s", "SREM s", "SMEMBERS", "SMEMBERS a b", "SISMEMBER s", "SISMEMBER s a b", "SMISMEMBER s",
        "SCARD", "SCARD a b", "SPOP", "SRANDMEMBER", "SMOVE a b", "SMOVE a b c d", "SINTER", "SINTERCARD",
        "SINTERCARD 1", "SINTERSTORE d", "SUNION", "SUNIONSTORE d", "SDIFF", "SDIFFSTORE d", "SSCAN s",
    ],
    "intset_order_and_encoding": [
        "SADD i 10 -3 5 0", "SMEMBERS i", "OBJECT ENCODING i", "SADD i 9223372036854775807 -9223372036854775808",
        "SMEMBERS i", "SADD i 9223372036854775808", "OBJECT ENCODING i", "SREM i 9223372036854775808",
        "OBJECT ENCODING i", "SADD a 01", "OBJECT ENCODING a", "SADD b -0", "OBJECT ENCODING b",
        "SADD c ' 1'", "OBJECT ENCODING c", "SADD d 1.5", "OBJECT ENCODING d", "SADD e ''", "OBJECT ENCODING e",
        "SADD f -1", "OBJECT ENCODING f", "SADD g x", "OBJECT ENCODING g", "SADD g 1", "OBJECT ENCODING g",
        ["SADD", "big", *INTS_600[:512]], "OBJECT ENCODING big", "SADD big 512", "OBJECT ENCODING big",
        "SCARD big", ["SADD", "big2", *INTS_600], "OBJECT ENCODING big2",
    ],
    "empty_set_is_deleted_with_its_ttl": [
        "SADD s a", "EXPIRE s 100", "SREM s a", "EXISTS s", "SADD s b", "TTL s", "EXPIRE s 100", "SPOP s",
        "SADD s c", "TTL s", "SADD t x", "EXPIRE t 100", "SMOVE t u x", "EXISTS t", "SADD t y", "TTL t",
        "SADD v 1 2", "EXPIRE v 100", "SPOP v 2", "EXISTS v", "SADD v 3", "TTL v",
    ],
    "ttl_kept_by_writes": [
        "SADD s a b", "EXPIRE s 100", "SADD s c", ("TTL s", int_range(98, 100)), "SREM s a",
        ("TTL s", int_range(98, 100)), "SMOVE s t b", ("TTL s", int_range(98, 100)), "TTL t",
        "SADD e x", "PEXPIRE e 1", WaitFor("EXISTS e", b":0"), "SMEMBERS e", "SCARD e", "SISMEMBER e x",
        "SADD e y", "SMEMBERS e", "TTL e",
    ],
    "sismember_smismember_scard": [
        "SADD s a 1", "SISMEMBER s a", "SISMEMBER s 1", "SISMEMBER s z", "SISMEMBER nokey a",
        "SMISMEMBER s a z 1 a", "SMISMEMBER nokey a b", "SCARD s", "SCARD nokey", "SMISMEMBER s a",
    ],
    "spop": [
        "SPOP nokey", "SPOP nokey 0", "SPOP nokey 3", "SADD s 1", "SPOP s", "EXISTS s", "SADD s a b c",
        ("SPOP s", IGNORE_VALUE), "SCARD s", ("SPOP s 1", IGNORE_VALUE), "SPOP s 0", "SCARD s",
        ("SPOP s 5", IGNORE_VALUE), "EXISTS s", "SADD i 3 1 2", "SPOP i 10", "EXISTS i", "SADD i 3 1 2",
        "SPOP i 3", "SADD w a b c d e f g h", ("SPOP w 3", IGNORE_VALUE), ("SPOP w 4", IGNORE_VALUE), "SCARD w",
        ["SADD", "big", *WORDS_300], ("SPOP big 10", IGNORE_VALUE), ("SPOP big 250", IGNORE_VALUE), "SCARD big",
    ],
    "spop_errors": [
        "SADD s a", "SPOP s -1", "SPOP s x", "SPOP s 1.5", "SPOP s ''", "SPOP s 9223372036854775808",
        "SPOP s 9223372036854775807", "SPOP s 1 2", "SET str v", "SPOP str", "SPOP str 0", "SPOP str -1",
        "SPOP nokey -1",
    ],
    "srandmember": [
        "SRANDMEMBER nokey", "SRANDMEMBER nokey 5", "SRANDMEMBER nokey -5", "SRANDMEMBER nokey 0",
        "SADD s 1 2 3", "SRANDMEMBER s 3", "SRANDMEMBER s 10", "SRANDMEMBER s 0", ("SRANDMEMBER s 2", IGNORE_VALUE),
        ("SRANDMEMBER s -5", IGNORE_VALUE), ("SRANDMEMBER s", IGNORE_VALUE), "SADD one x", "SRANDMEMBER one",
        "SRANDMEMBER one -3", "SRANDMEMBER one 1", "SRANDMEMBER one 9223372036854775807",
        "SADD w a b c d e", ("SRANDMEMBER w 10", UNORDERED), ("SRANDMEMBER w 4", IGNORE_VALUE),
        ["SADD", "big", *WORDS_300], ("SRANDMEMBER big 20", IGNORE_VALUE), ("SRANDMEMBER big 250", IGNORE_VALUE),
        ("SRANDMEMBER big -400", IGNORE_VALUE),
    ],
    "srandmember_errors": [
        "SADD s a", "SRANDMEMBER s x", "SRANDMEMBER s 1.5", "SRANDMEMBER s -9223372036854775808",
        "SRANDMEMBER s 9223372036854775808", "SRANDMEMBER s 1 2", "SET str v", "SRANDMEMBER str",
        "SRANDMEMBER str 0", "SRANDMEMBER str x", "SRANDMEMBER nokey x", "SRANDMEMBER nokey -9223372036854775808",
    ],
    "smove": [
        "SADD s a b", "SMOVE s t a", "SMEMBERS s", "SMEMBERS t", "SMOVE s t zz", "SMOVE nokey t a",
        "SMOVE s s b", "SMOVE s s zz", "SADD t b", "SMOVE s t b", "EXISTS s", ("SMEMBERS t", UNORDERED),
        "SET str v", "SMOVE nokey str a", "SMOVE t str a", "SMOVE str t a", "SMOVE t str zz", "SMOVE str str a",
        "SADD i 1 2", "SMOVE i j 1", "OBJECT ENCODING j", "SMOVE t i a", "OBJECT ENCODING i",
    ],
    "sinter": [
        "SADD a 1 2 3 4", "SADD b 2 3 4 5", "SADD c 3 4 9", "SINTER a b c", "SINTER a", "SINTER a b",
        "SINTER a nokey", "SINTER nokey a", "SINTER nokey", "SINTER a a", "SADD x p q r 3", "SADD y q r s 3",
        ("SINTER x y", UNORDERED), ("SINTER x a", UNORDERED), ("SINTER a x", UNORDERED), "SINTER x nokey y",
    ],
    "sintercard": [
        "SADD a 1 2 3 4", "SADD b 2 3 4 5", "SADD x p q 3", "SINTERCARD 2 a b", "SINTERCARD 2 a b LIMIT 2",
        "SINTERCARD 2 a b limit 0", "SINTERCARD 2 a b LIMIT 1 LIMIT 10", "SINTERCARD 1 nokey",
        "SINTERCARD 2 a nokey", "SINTERCARD 3 a b x", "SINTERCARD 1 a LIMIT 100", "SINTERCARD 0 a",
        "SINTERCARD -1 a", "SINTERCARD x a", "SINTERCARD 3 a b", "SINTERCARD 2147483648 a",
        "SINTERCARD 9999999999999999999 a", "SINTERCARD 1 a LIMIT", "SINTERCARD 1 a b", "SINTERCARD 1 a LIMIT -1",
        "SINTERCARD 1 a LIMIT x", "SINTERCARD 1 a FOO 2", "SET str v", "SINTERCARD 1 str", "SINTERCARD 2 nokey str",
        "SINTERCARD 1 str LIMIT -1",
    ],
    "sunion_sdiff": [
        "SADD a 1 2 3 4", "SADD b 2 3 4 5", "SADD c 3 4 9", "SUNION a b c", "SUNION a nokey", "SUNION nokey",
        "SDIFF a b", "SDIFF a b c", "SDIFF b a", "SDIFF a nokey", "SDIFF nokey a", "SDIFF a a", "SDIFF a c a",
        "SADD x p q r 3", ("SUNION a x", UNORDERED), ("SDIFF x a", UNORDERED), "SDIFF a x", ("SUNION x", UNORDERED),
        "SADD h 7 x", "SREM h x", "SUNION h", "SDIFF h nokey", ["SADD", "big", *INTS_600],
        ("SUNION big a", UNORDERED), ("SDIFF big a", UNORDERED),
    ],
    "stores": [
        "SADD a 1 2 3 4", "SADD b 2 3 4 5", "SADD x p q 3", "SINTERSTORE d a b", "SMEMBERS d", "OBJECT ENCODING d",
        "SUNIONSTORE d a x", ("SMEMBERS d", UNORDERED), "OBJECT ENCODING d", "SDIFFSTORE d a b", "SMEMBERS d",
        "OBJECT ENCODING d", "SINTERSTORE d a x", "SMEMBERS d", "SINTERSTORE d a nokey", "EXISTS d",
        "SADD d z", "SDIFFSTORE d a a", "EXISTS d", "SADD d z", "SUNIONSTORE d nokey", "EXISTS d",
        "SUNIONSTORE a a x", ("SMEMBERS a", UNORDERED), "SDIFFSTORE x x b", ("SMEMBERS x", UNORDERED),
        "SET str v EX 100", "SINTERSTORE str b", "TYPE str", "TTL str", "SMEMBERS str",
        "SADD t 1", "EXPIRE t 100", "SUNIONSTORE t b", "TTL t", "SINTERSTORE nokey2 nokey", "EXISTS nokey2",
    ],
    "wrongtype": [
        "SET str v", "SADD s a", "SADD str a", "SREM str a", "SMEMBERS str", "SISMEMBER str a", "SMISMEMBER str a",
        "SCARD str", "SRANDMEMBER str 2", "SINTER s str", "SINTER nokey str", "SINTER str nokey",
        "SINTERSTORE d nokey str", "SINTERSTORE d str s", "SUNION nokey str", "SUNIONSTORE d s str",
        "SDIFF nokey str", "SDIFF s str", "SDIFFSTORE d str", "SSCAN str 0", "SSCAN str x", "EXISTS d",
        "HSET h f v", "SADD h a", "SMEMBERS h", "SCARD h", "TYPE s",
    ],
    "sscan": [
        "SSCAN nokey 0", "SSCAN nokey 0 COUNT 0", "SSCAN nokey x", "SADD i 3 1 2", "SSCAN i 0", "SSCAN i 7",
        "SSCAN i 0 MATCH 1*", "SSCAN i 0 MATCH [23] COUNT 1", "SSCAN i 0 COUNT 1", "SSCAN i -1", "SSCAN i 01",
        "SSCAN i ''", "SSCAN i +0", "SSCAN i 18446744073709551615", "SSCAN i x", "SSCAN i ' 1'", "SSCAN i 1.5",
        "SSCAN i 18446744073709551616", "SSCAN i -", "SSCAN i 0 COUNT 0", "SSCAN i 0 COUNT -1", "SSCAN i 0 COUNT x",
        "SSCAN i 0 MATCH", "SSCAN i 0 FOO bar", "SSCAN i 0 TYPE set", "SSCAN i 0 count 10 match *",
        "SADD s a", "SSCAN s 0", "SADD w a b c d e", ("SSCAN w 0", SSCAN_UNORDERED),
        ("SSCAN w 0 MATCH [ab]", SSCAN_UNORDERED),
    ],
    "sscan_all": [
        ["SADD", "w", *WORDS_300], SScanAll("w"), SScanAll("w", "COUNT 1"), SScanAll("w", "COUNT 1000"),
        SScanAll("w", "MATCH w1*"), SScanAll("w", "MATCH w?5 COUNT 3"), SScanAll("w", "MATCH nomatch"),
        ["SADD", "big", *INTS_600], SScanAll("big"), SScanAll("big", "MATCH 5??"), "SADD i 3 1 2", SScanAll("i"),
    ],
    "resp3": [
        ("HELLO 3", TYPE), "SADD s 1 2 3", "SMEMBERS s", "SMEMBERS nokey", "SINTER s", "SINTER nokey",
        "SUNION s", "SDIFF s", "SPOP nokey 2", "SPOP s 0", "SRANDMEMBER s 3", "SRANDMEMBER nokey 2",
        "SRANDMEMBER nokey", "SPOP nokey", "SMISMEMBER s 1 9", "SSCAN s 0", "SINTERCARD 1 s", "SCARD s",
        "SPOP s 10", "SADD w a", "SPOP w 1", "SADD w a", "SPOP w", "SMEMBERS w",
    ],
    "multi_exec": [
        "MULTI", "SADD s a b", "SREM s a", "SMOVE s t b", "SMEMBERS t", "SCARD s", "EXEC", "EXISTS s",
        "MULTI", "SADD s x", "SPOP s 0", "SINTERCARD 0 s", "EXEC", "MULTI", "SADD s", "EXEC",
    ],
    "other_db_and_copy": [
        "SADD s 1 2", "SELECT 1", "SMEMBERS s", "SADD s 9", "SELECT 0", "SMEMBERS s", "COPY s c", "SMEMBERS c",
        "RENAME c r", "SMEMBERS r", "TYPE r", "OBJECT ENCODING r", "SELECT 1", "SMEMBERS s",
    ],
    "command_info": [
        (["COMMAND", "INFO", *SET_COMMANDS], COMMAND_INFO),
        ("COMMAND GETKEYS SINTERCARD 2 a b LIMIT 1", UNORDERED), ("COMMAND GETKEYS SMOVE a b m", UNORDERED),
        ("COMMAND GETKEYS SINTERSTORE d a b", UNORDERED),
    ],
}


@pytest.mark.parametrize("case", scripts(SETS))
def test_sets(diff: Differ, case: ScriptCase) -> None:
    diff.run(case)
