"""Differential scripts for the sorted set commands: same script, real Redis vs crdt-redis,
raw replies compared (scores as Redis 7.0 prints them, errors byte for byte)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from tests.differential.harness import (
    IGNORE_VALUE,
    TYPE,
    UNORDERED,
    Differ,
    On,
    Run,
    Script,
    ScriptCase,
    Step,
    custom,
    parse_argv,
    scripts,
)
from tests.support.resp_client import decode

LONG = "x" * 65  # longer than zset-max-listpack-value: forces a skiplist
LONG67 = "a" * 67
MANY = [str(x) for i in range(1, 130) for x in (i, f"m{i}")]  # 129 members
E127 = [str(x) for i in range(1, 128) for x in (i, f"m{i}")]


def _pairs(v: Any) -> list[tuple[Any, Any]]:
    """Member/score pairs of a flat (RESP2) or nested (RESP3) reply, sorted."""
    if v and isinstance(v[0], list):
        return sorted((m, s) for m, s in v)
    return sorted(zip(v[::2], v[1::2], strict=True))


PAIRS_UNORDERED = custom(_pairs, "member/score pairs, order ignored")


@dataclass
class ZScanAll(Step):
    """ZSCAN a key to completion on each server; compares the set of (member, score)."""

    key: str
    args: str = ""

    def run(self, ctx: Run) -> None:
        extra = parse_argv(self.args)
        seen: dict[str, Any] = {}
        for side in (ctx.ref, ctx.sub):
            cursor = b"0"
            pairs: set[tuple[bytes, bytes]] = set()
            for _ in range(10_000):
                argv = [b"ZSCAN", self.key.encode(), cursor, *extra]
                raw = side.exchange(0, b"*%d\r\n" % len(argv) + b"".join(b"$%d\r\n%s\r\n" % (len(a), a) for a in argv))
                if isinstance(raw, str):
                    seen[side.label] = raw
                    break
                cursor, batch = decode(raw)
                pairs.update(zip(batch[::2], batch[1::2], strict=True))
                if cursor == b"0":
                    seen[side.label] = pairs
                    break
        r, s = seen[ctx.ref.label], seen[ctx.sub.label]
        if r != s:
            ctx.fail(f"ZSCAN* {self.key} {self.args}", f"pairs differ: ref {r!r} sub {s!r}")
        ctx.log(f"ZSCAN* {self.key} {self.args}", f"{len(r)} pairs")


ZSETS: dict[str, Script] = {
    "zadd_basic_scores": [
        "ZADD z 1 a 2 b 1.1 c", "ZSCORE z c", "ZSCORE z nope", "ZSCORE nokey a", "ZADD z inf i", "ZSCORE z i",
        "ZADD z 0x10 x", "ZSCORE z x", "ZADD z infinity y", "ZADD z +inf y", "ZADD z -Infinity y", "ZADD z 1e5 y",
        "ZSCORE z y", "ZADD z 1e-310 sub", "ZSCORE z sub", "ZADD z -0x10.8p1 h", "ZSCORE z h", "ZADD z .5 h2",
        "ZADD z 5. h3", "ZADD z +.5e+1 h5", "ZSCORE z h5", "ZRANGE z 0 -1 WITHSCORES", "ZCARD z",
        "ZADD z 0.1 f", "ZINCRBY z 0.2 f", "ZSCORE z f", "ZADD z 1e16 big", "ZSCORE z big", "ZADD z 1e17 big",
        "ZSCORE z big", "ZADD z 123456789.123456789 p", "ZSCORE z p", "ZADD z -1e-5 t", "ZSCORE z t",
    ],
    "zadd_bad_scores": [
        "ZADD z 1e400 x", "ZADD z 1e-400 x", "ZADD z 0x1p2000 x", "ZADD z ' 1' x", "ZADD z '1 ' x", "ZADD z 1_0 x",
        "ZADD z '' x", "ZADD z nan x", "ZADD z 1e x", "ZADD z abc x", ["ZADD", "z", b"1\x002", "x"], "EXISTS z",
    ],
    "zadd_negative_zero": [
        "ZADD z -0 d", "ZSCORE z d", "ZADD z 0 d", "ZADD z 0 e", "ZADD z -0 e", "ZSCORE z e",
        "ZINCRBY z -0 newm", "ZSCORE z newm", "ZADD z 5 y", "ZADD z -0 y", "ZSCORE z y",
        "ZADD z INCR -0 nn", "ZSCORE z nn",
        ["ZADD", "sk", "1", LONG67], "ZADD sk 5 y", "ZADD sk -0 y", "ZSCORE sk y", "ZADD sk INCR -0 nn",
        "ZSCORE sk nn", "ZADD sk INCR -0 nn", "ZSCORE sk nn", "ZADD sk -0 b", "ZSCORE sk b",
        "ZRANGESTORE d1 sk 0 -1", "OBJECT ENCODING d1", "ZSCORE d1 b", "ZUNIONSTORE d2 1 sk", "OBJECT ENCODING d2",
        "ZSCORE d2 b", ["ZREM", "d2", LONG67], "ZUNIONSTORE d3 1 d2", "OBJECT ENCODING d3", "ZSCORE d3 b",
        "ZUNION 1 sk WITHSCORES", "ZRANGESTORE d7 sk -inf +inf BYSCORE", "OBJECT ENCODING d7", "ZSCORE d7 b",
        ["ZADD", "e127", *E127], "ZADD e127 -0 x 5 y", "OBJECT ENCODING e127", "ZSCORE e127 x", "ZSCORE e127 y",
        "ZADD e127 -0 y", "ZSCORE e127 y",
    ],
    "zadd_flags": [
        "ZADD z 1 a 2 b", "ZADD z NX 9 a 9 c", "ZADD z XX 9 a 9 d", "ZRANGE z 0 -1 WITHSCORES",
        "ZADD z GT CH 0 a 5 b 1 zz", "ZADD z LT CH 0 a 5 b 1 zz2", "ZADD z CH 0 a", "ZADD z ch incr 1 a",
        "ZADD z xx gt ch 100 a 1 b", "ZADD z XX LT 0 a", "ZRANGE z 0 -1 WITHSCORES", "ZADD z GT 1 new",
        "ZADD dup 1 a 2 a", "ZADD dup CH 3 a 4 a 5 b", "ZRANGE dup 0 -1 WITHSCORES", "ZADD dup NX 1 q 2 q",
        "ZSCORE dup q", "ZADD nokey XX 1 a", "ZADD nokey XX INCR 1 a", "EXISTS nokey",
    ],
    "zadd_incr": [
        "ZADD z INCR 1 a", "ZADD z INCR 1.5 a", "ZADD z XX INCR 1 nope", "ZADD z NX INCR 1 a",
        "ZADD z GT INCR -5 a", "ZADD z LT INCR -5 a", "ZADD z GT INCR 0 a", "ZADD z INCR 0 a",
        "ZADD z inf i", "ZADD z INCR -inf i", "ZSCORE z i", "ZADD z INCR inf i", "ZSCORE z i",
    ],
    "zadd_errors": [
        "ZADD z NX XX 1 a", "ZADD z NX GT 1 a", "ZADD z GT LT 1 a", "ZADD z NX LT 1 a", "ZADD z INCR 1 a 2 b",
        "ZADD z INCR", "ZADD z 1", "ZADD z 1 a 2", "ZADD z NX", "ZADD z foo 1 a", "ZADD z 1 a foo",
        "ZADD z XX 1 a GT", "ZADD", "ZADD z", "SET s v", "ZADD s 1 a", "ZADD s x a", "ZADD s NX XX x a",
        "ZADD s INCR 1 a 2 b", "GET s",
    ],
    "zincrby": [
        "ZINCRBY z 1 a", "ZINCRBY z 1.5 a", "ZADD z 1.1 ff", "ZINCRBY z 2.2 ff", "ZINCRBY z -0 m", "ZSCORE z m",
        "ZINCRBY z x a", "ZINCRBY z '' a", "ZINCRBY z inf i", "ZINCRBY z -inf i", "ZSCORE z i", "ZINCRBY z",
        "ZINCRBY z 1", "ZINCRBY z 1 a b", "SET s v", "ZINCRBY s 1 a", "ZINCRBY s x a",
    ],
    "zrem_zcard": [
        "ZADD z 1 a 2 b 3 c", "ZREM z a a nope", "ZCARD z", "ZREM z nope", "ZREM z b c", "EXISTS z",
        "ZREM nokey a", "ZREM z", "ZCARD nokey", "ZCARD", "SET s v", "ZREM s a", "ZCARD s",
    ],
    "zscore_zmscore": [
        "ZADD z 1 a 2 b", "ZMSCORE z a b nope", "ZMSCORE nokey a b", "ZMSCORE z", "ZSCORE z", "ZSCORE z a b",
        "SET s v", "ZSCORE s a", "ZMSCORE s a",
    ],
    "zcount": [
        "ZADD z 1 a 2 b 3 c 4 d 5 e", "ZCOUNT z 2 4", "ZCOUNT z (2 4", "ZCOUNT z '(' 4", "ZCOUNT z '' ''",
        "ZCOUNT z ' 1' 4", "ZCOUNT z '1 ' 4", "ZCOUNT z -inf +inf", "ZCOUNT z x 4", "ZCOUNT z 1 [4",
        "ZCOUNT z 1e400 inf", "ZCOUNT z 0x1 0x3", "ZCOUNT z nan 1", "ZCOUNT z (inf +inf", "ZCOUNT z -inf (-inf",
        "ZCOUNT z (1 (1", "ZCOUNT z 3 2", "ZCOUNT z 1 1", "ZCOUNT nokey x 1", "ZCOUNT nokey 0 1",
        ["ZCOUNT", "z", b"2\x00junk", "4"], "SET s v", "ZCOUNT s 1 2", "ZCOUNT s x 2",
    ],
    "zlexcount": [
        "ZADD z 0 a 0 b 0 c 0 d 0 e", "ZLEXCOUNT z - +", "ZLEXCOUNT z [b (d", "ZLEXCOUNT z b d",
        "ZLEXCOUNT z + -", "ZLEXCOUNT z [ [", "ZLEXCOUNT z ( +", "ZLEXCOUNT z +a -", "ZLEXCOUNT z -a +",
        "ZLEXCOUNT z (a (a", "ZLEXCOUNT z [e [a", "ZLEXCOUNT nokey x +", "ZLEXCOUNT nokey - +", "SET s v",
        "ZLEXCOUNT s - +", "ZLEXCOUNT s x +",
    ],
    "zrange_rank": [
        "ZADD z 1 a 2 b 3 c 4 d 5 e", "ZRANGE z 0 -1", "ZRANGE z 0 -1 WITHSCORES", "ZRANGE z -2 -1 withscores",
        "ZRANGE z 3 1", "ZRANGE z 0 100", "ZRANGE z -100 1", "ZRANGE z -100 -50", "ZRANGE z 5 10", "ZRANGE z a 1",
        "ZRANGE z 0 1 REV", "ZRANGE z 0 1 REV WITHSCORES", "ZRANGE z -1 -1 REV WITHSCORES",
        "ZRANGE z 0 1 withscores withscores", "ZRANGE z 0 1 rev rev", "ZRANGE z 0 -1 LIMIT 0 -1",
        "ZRANGE z 0 -1 LIMIT 1 -5", "ZRANGE z 1 5 LIMIT 0 1", "ZRANGE nokey 0 1", "ZRANGE z 0 1 FOO",
        "ZRANGE z 0 1 LIMIT", "ZRANGE z 0", "SET s v", "ZRANGE s 0 1", "ZRANGE s x 1", "ZRANGE s 0 1 FOO",
        "ZREVRANGE z 0 1", "ZREVRANGE z 0 1 WITHSCORES", "ZREVRANGE z 0 1 LIMIT 0 1", "ZREVRANGE z 0 1 FOO",
        "ZREVRANGE z -1 100 WITHSCORES",
    ],
    "zrange_byscore": [
        "ZADD z 1 a 2 b 3 c 4 d 5 e", "ZRANGE z 2 4 BYSCORE", "ZRANGE z 4 2 BYSCORE", "ZRANGE z 4 2 BYSCORE REV",
        "ZRANGE z (4 -inf BYSCORE REV", "ZRANGE z 1 5 BYSCORE LIMIT 1 2", "ZRANGE z 1 5 BYSCORE LIMIT 1 -1",
        "ZRANGE z 1 5 BYSCORE LIMIT -1 2", "ZRANGE z 1 5 BYSCORE LIMIT 0 0", "ZRANGE z 1 5 BYSCORE LIMIT 4 10",
        "ZRANGE z 1 5 BYSCORE LIMIT 5 10", "ZRANGE z 5 1 BYSCORE REV LIMIT 1 2", "ZRANGE z 5 1 BYSCORE REV LIMIT 3 5",
        "ZRANGE z 5 1 BYSCORE REV LIMIT 4 -3", "ZRANGE z 5 1 BYSCORE REV LIMIT 5 1",
        "ZRANGE z 0 1 BYSCORE BYLEX", "ZRANGE z x 1 BYSCORE", "ZRANGE z 0 1 BYSCORE LIMIT 1",
        "ZRANGE z 0 1 BYSCORE LIMIT x 1", "ZRANGE z 0 1 BYSCORE LIMIT 1 x", "ZRANGE z 0 1 BYSCORE LIMIT 0 1 LIMIT 1 1",
        "ZRANGE z -inf +inf BYSCORE WITHSCORES LIMIT 1 2", "SET s v", "ZRANGE s x 1 BYSCORE", "ZRANGE s 0 1 BYSCORE",
        "ZRANGEBYSCORE z 1 3", "ZRANGEBYSCORE z 1 3 WITHSCORES LIMIT 1 1", "ZRANGEBYSCORE z 1 3 LIMIT 1 1 WITHSCORES",
        "ZRANGEBYSCORE z 1 3 REV", "ZRANGEBYSCORE z 1 3 BYSCORE", "ZRANGEBYSCORE z 1 3 LIMIT 1",
        "ZRANGEBYSCORE z 1 3 FOO", "ZRANGEBYSCORE z (1 (3", "ZREVRANGEBYSCORE z 3 1", "ZREVRANGEBYSCORE z 1 3",
        "ZREVRANGEBYSCORE z +inf -inf WITHSCORES LIMIT 0 2", "ZREVRANGEBYSCORE z (5 (1", "ZRANGEBYSCORE nokey 0 1",
    ],
    "zrange_bylex": [
        "ZADD z 0 a 0 b 0 c 0 d 0 e", "ZRANGE z [a [c BYLEX", "ZRANGE z [c [a BYLEX REV",
        "ZRANGE z - + BYLEX LIMIT 1 2", "ZRANGE z + - BYLEX REV LIMIT 1 2", "ZRANGE z - + BYLEX WITHSCORES",
        "ZRANGE z 0 1 BYLEX", "ZRANGEBYLEX z - +", "ZRANGEBYLEX z - + WITHSCORES", "ZRANGEBYLEX z - + LIMIT 0 2",
        "ZREVRANGEBYLEX z + - LIMIT 0 2", "ZREVRANGEBYLEX z - +", "ZRANGEBYLEX z a b", "ZRANGEBYLEX z [c (f",
        "ZRANGEBYLEX z (c [f", "ZRANGEBYLEX z [aa [cc", "ZRANGEBYLEX z [f [c", "ZRANGEBYLEX z - [c LIMIT 1 1",
        "ZREVRANGEBYLEX z [e (b LIMIT 1 10", "ZREVRANGEBYLEX z + [zz", "ZREVRANGEBYLEX z + - LIMIT -1 1",
        "ZRANGEBYLEX z ( (", "ZRANGEBYLEX z [ +", "ZRANGEBYLEX z - (", "ZRANGE z [b [d BYLEX LIMIT 0 -5",
        "ZADD mixed 1 b 2 a 3 d 4 c 0 z", "ZRANGEBYLEX mixed - +", "ZRANGEBYLEX mixed [b [c",
        "ZRANGEBYLEX mixed [c +", "ZRANGEBYLEX mixed (a [d", "ZREVRANGEBYLEX mixed [d [b", "ZREVRANGEBYLEX mixed + (c",
        "ZLEXCOUNT mixed [b [d", "ZLEXCOUNT mixed [a [z", "SET s v", "ZRANGEBYLEX s - +", "ZRANGEBYLEX s a +",
    ],
    "zrank": [
        "ZADD z 1 a 2 b 3 c", "ZRANK z c", "ZRANK z nope", "ZRANK nokey a", "ZREVRANK z c", "ZREVRANK z a",
        "ZREVRANK z nope", "ZRANK z c WITHSCORE", "ZRANK z", "SET s v", "ZRANK s a", "ZREVRANK s a",
    ],
    "zrangestore": [
        "ZADD src 1 a 2 b 3 c", "ZRANGESTORE dst src 0 1", "ZRANGE dst 0 -1 WITHSCORES",
        "ZRANGESTORE dst src 0 -1 WITHSCORES", "ZRANGESTORE dst src 0 -1 REV", "ZRANGE dst 0 -1 WITHSCORES",
        "ZRANGESTORE dst src x 1", "ZRANGESTORE dst src (1 +inf BYSCORE LIMIT 0 1", "ZRANGE dst 0 -1 WITHSCORES",
        "ZRANGESTORE dst src [a [b BYLEX", "ZRANGESTORE dst src 0 -1 BYLEX", "ZRANGESTORE dst src 0 1 LIMIT 0 1",
        "ZRANGESTORE dst src 5 6", "EXISTS dst", "SET s v", "ZRANGESTORE dst s 0 1", "ZRANGESTORE s nokey 0 1",
        "TYPE s", "SET s v", "ZRANGESTORE s src 0 0", "TYPE s", "ZRANGE s 0 -1", "ZRANGESTORE src src 1 -1",
        "ZRANGE src 0 -1", "ZRANGESTORE dst src", "SET s2 v EX 100", "ZRANGESTORE s2 src 0 0", "TTL s2",
    ],
    "zremrangeby": [
        "ZADD z 1 a 2 b 3 c", "ZREMRANGEBYRANK z 0 0", "ZREMRANGEBYRANK z x 0", "ZREMRANGEBYRANK nokey 0 1",
        "ZREMRANGEBYRANK z 5 10", "ZREMRANGEBYRANK z -1 -1", "ZCARD z", "ZREMRANGEBYSCORE z x 1",
        "ZREMRANGEBYSCORE z -inf +inf", "EXISTS z", "ZADD z 0 a 0 b 0 c", "ZREMRANGEBYLEX z [a (c",
        "ZREMRANGEBYLEX z a c", "ZREMRANGEBYLEX nokey - +", "ZRANGE z 0 -1", "ZADD z 1 x 2 y 3 w",
        "ZREMRANGEBYSCORE z (1 3", "ZRANGE z 0 -1 WITHSCORES", "ZREMRANGEBYRANK z 0", "SET s v",
        "ZREMRANGEBYRANK s 0 1", "ZREMRANGEBYRANK s x 1", "ZREMRANGEBYSCORE s x 1", "ZREMRANGEBYSCORE s 1 1",
        "ZREMRANGEBYLEX s - +", "ZREMRANGEBYLEX s a +",
    ],
    "zpop": [
        "ZADD z 1 a 2 b 3 c 4 d 5 e", "SET s v", "ZPOPMIN z", "ZPOPMAX z", "ZPOPMIN z 0", "ZPOPMIN z -1",
        "ZPOPMIN z x", "ZPOPMIN z 1 2", "ZPOPMIN z 2", "ZPOPMIN nokey", "ZPOPMIN nokey 2", "ZPOPMIN nokey 0",
        "ZPOPMIN nokey -1", "ZPOPMIN s", "ZPOPMIN s 0", "ZPOPMIN s -1", "ZPOPMAX z 10", "EXISTS z", "ZPOPMAX",
    ],
    "zmpop": [
        "ZADD z 1 a 2 b 3 c 4 d 5 e", "SET s v", "ZMPOP 1 z MIN", "ZMPOP 1 z MAX COUNT 2",
        "ZMPOP 2 nokey z MIN COUNT 10", "ZMPOP 1 z MIN", "ZMPOP 0 z MIN", "ZMPOP -1 z MIN", "ZMPOP x z MIN",
        "ZMPOP 2 z MIN", "ZMPOP 1 z FOO", "ZMPOP 1 z MIN COUNT 0", "ZMPOP 1 z MIN COUNT -1",
        "ZMPOP 1 z MIN COUNT x", "ZMPOP 1 z MIN COUNT", "ZMPOP 1 z MIN COUNT 1 COUNT 2", "ZMPOP 1 z MIN FOO",
        "ZMPOP 1 s MIN", "ZMPOP 2 nokey s MIN", "ZMPOP 2 s nokey MIN", "ZADD z 1 a", "ZMPOP 2 s z MIN",
        "ZMPOP 2 z s MIN", "ZMPOP 1 z min count 5", "ZMPOP 9999999999 z MIN",
    ],
    "bzpop": [
        "SET s v", "BZPOPMIN nokey 0.01", "BZPOPMAX nokey 0.01", "ZADD z 1 a 2 b", "BZPOPMIN z 0",
        "BZPOPMAX nokey z 0", "BZPOPMIN z 0.0001", "BZPOPMIN z -1", "BZPOPMIN z x", "BZPOPMIN z inf",
        "BZPOPMIN z -inf", "BZPOPMIN z 1e20", "BZPOPMIN z 1e400", "BZPOPMIN z ''", "BZPOPMIN z ' 1'",
        "BZPOPMIN s 0.01", "BZPOPMIN nokey s 0.01", "BZPOPMIN s x", "BZPOPMIN nokey 9223372036854776", "BZPOPMIN z",
        "ZADD z 3 c", "MULTI", "BZPOPMIN z 0", "BZPOPMIN z 0", "EXEC",
    ],
    "bzmpop": [
        "SET s v", "ZADD z 1 a 2 b", "BZMPOP 0.01 1 z MIN", "BZMPOP 0.01 1 z MAX COUNT 5",
        "BZMPOP 0.01 1 z MAX COUNT 5", "BZMPOP -1 1 z MAX", "BZMPOP x 1 z MAX", "BZMPOP 0 0 z MAX",
        "BZMPOP 0 x z MAX", "BZMPOP 0 1 z FOO", "BZMPOP 0.01 1 s MIN", "BZMPOP 0.01 2 nokey s MIN",
        "BZMPOP x 0 z MAX", "BZMPOP x 1 z FOO", "BZMPOP x 1 z MAX COUNT 0", "BZMPOP 0 1 z",
    ],
    "zrandmember": [
        "ZADD r 1 a", "ZRANDMEMBER r", "ZRANDMEMBER r 1 WITHSCORES", "ZRANDMEMBER r -2 WITHSCORES",
        "ZRANDMEMBER r 0", "ZRANDMEMBER r 0 WITHSCORES", "ZRANDMEMBER r x", "ZRANDMEMBER r 1 FOO",
        "ZRANDMEMBER r 1 WITHSCORES FOO", "ZRANDMEMBER r -9223372036854775808",
        "ZRANDMEMBER r 9223372036854775807 WITHSCORES", "ZRANDMEMBER r -9223372036854775807 WITHSCORES",
        "ZRANDMEMBER r 4611686018427387904 WITHSCORES", "ZRANDMEMBER r 4611686018427387903 WITHSCORES",
        "ZRANDMEMBER r -4611686018427387904 WITHSCORES", "SET s v", "ZRANDMEMBER s", "ZRANDMEMBER s 1",
        "ZRANDMEMBER s x", "ZRANDMEMBER nokey x", "ZRANDMEMBER nokey", "ZRANDMEMBER nokey 2",
        "ZRANDMEMBER nokey 2 WITHSCORES", "ZRANDMEMBER r 1 withscores", "ZRANDMEMBER r 5", "ZRANDMEMBER r -3",
        "ZADD z 1 a 2 b 3 c 4 d", ("ZRANDMEMBER z 10", UNORDERED), ("ZRANDMEMBER z 4 WITHSCORES", PAIRS_UNORDERED),
        ("ZRANDMEMBER z 2", IGNORE_VALUE), ("ZRANDMEMBER z -7 WITHSCORES", IGNORE_VALUE), ("ZRANDMEMBER z", TYPE),
        ("ZRANDMEMBER z 400 WITHSCORES", PAIRS_UNORDERED),
    ],
    "zunion_zinter_zdiff": [
        "ZADD z1 1 a 2 b 3 c", "ZADD z2 10 b 20 c 30 d", "SADD st b c x", "ZUNION 2 z1 z2",
        "ZUNION 2 z1 z2 WITHSCORES", "ZUNION 2 z1 z2 WEIGHTS 2 3 WITHSCORES", "ZUNION 2 z1 z2 AGGREGATE MIN WITHSCORES",
        "ZUNION 2 z1 z2 AGGREGATE MAX WITHSCORES", "ZUNION 2 z1 z2 aggregate sum withscores weights 1 -1",
        "ZUNION 2 z1 st WITHSCORES", "ZINTER 2 z1 st WITHSCORES", "ZINTER 2 z1 z2 WITHSCORES",
        "ZINTER 2 z1 nokey WITHSCORES", "ZINTER 2 z1 z2", "ZDIFF 2 z1 z2 WITHSCORES", "ZDIFF 2 z1 st WITHSCORES",
        "ZDIFF 2 st z1 WITHSCORES", "ZDIFF 1 z1", "ZDIFF 2 nokey z1", "ZUNION 2 z1 z1 WITHSCORES",
        "ZINTER 2 z1 z1 WEIGHTS 2 3 WITHSCORES", "ZUNION 1 z1 AGGREGATE MIN AGGREGATE MAX WITHSCORES WITHSCORES",
        "ZADD f1 0.1 a", "ZADD f2 0.2 a", "ZADD f3 0.3 a 1 b", "ZUNION 3 f3 f2 f1 WITHSCORES",
        "ZUNION 3 f1 f2 f3 WITHSCORES", "ZINTER 3 f3 f2 f1 WITHSCORES",
    ],
    "zsetop_infinities": [
        "ZADD z1 1 a 2 b 3 c", "ZADD z2 10 b 20 c 30 d", "ZUNION 2 z1 z2 WEIGHTS inf 1 WITHSCORES",
        "ZUNION 2 z1 z2 WEIGHTS 0 1 WITHSCORES", "ZADD zi 1 a", "ZADD zn -inf a", "ZUNION 2 zi zn WITHSCORES",
        "ZUNION 2 zi zn WEIGHTS inf 1 WITHSCORES", "ZADD zinf inf a", "ZUNION 2 zinf zn WITHSCORES",
        "ZUNION 2 zinf zn AGGREGATE MIN WITHSCORES", "ZUNION 2 zinf zn AGGREGATE MAX WITHSCORES",
        "ZINTER 2 zinf zn WITHSCORES", "ZINTER 2 zinf zn WEIGHTS 0 1 WITHSCORES",
        "ZUNION 2 z1 z2 WEIGHTS 0 0 WITHSCORES", "ZINTER 2 z1 z2 WEIGHTS 0 inf WITHSCORES",
        "ZUNION 2 z1 z2 WEIGHTS -0 1 WITHSCORES",
    ],
    "zsetop_errors": [
        "ZADD z1 1 a", "ZADD z2 2 a", "SET s v", "ZDIFF 2 z1 z2 WEIGHTS 1 2", "ZDIFF 2 z1 z2 AGGREGATE MIN",
        "ZUNION 2 z1 s", "ZUNION 2 s z1", "ZUNION 0 z1", "ZUNION -1 z1", "ZUNION x z1", "ZUNION 3 z1 z2",
        "ZUNION 2 z1 z2 WEIGHTS 1", "ZUNION 2 z1 z2 WEIGHTS 1 x", "ZUNION 2 z1 z2 WEIGHTS 1 2 3",
        "ZUNION 2 z1 z2 AGGREGATE FOO", "ZUNION 2 z1 z2 AGGREGATE", "ZUNION 2 z1 z2 FOO",
        "ZUNION 2 z1 z2 WEIGHTS 1 nan", "ZUNION 2 z1 s WEIGHTS x", "ZINTER 0 z1", "ZDIFF 0 z1",
        "ZUNION 1", "ZUNION 2 z1 nokey WEIGHTS 1 x", "ZINTER 2 z1 z2 WEIGHTS 1e400 1",
    ],
    "zsetop_store": [
        "ZADD z1 1 a 2 b 3 c", "ZADD z2 10 b 20 c 30 d", "ZUNIONSTORE dst 2 z1 z2", "ZRANGE dst 0 -1 WITHSCORES",
        "ZUNIONSTORE dst 2 z1 z2 WITHSCORES", "ZUNIONSTORE dst 2 nokey nokey2", "EXISTS dst", "SET dst v",
        "ZUNIONSTORE dst 1 z1", "TYPE dst", "ZINTERSTORE dst 2 z1 z2", "ZRANGE dst 0 -1 WITHSCORES",
        "ZINTERSTORE dst 2 z1 nokey", "EXISTS dst", "ZDIFFSTORE dst 2 z1 z2", "ZRANGE dst 0 -1 WITHSCORES",
        "ZDIFFSTORE dst 1 z1 WEIGHTS 2", "SET s v", "ZUNIONSTORE dst 2 z1 s", "ZUNIONSTORE dst 0 z1",
        "ZDIFFSTORE dst 0 z1", "ZINTERSTORE dst 0 z1", "ZUNIONSTORE z1 2 z1 z2", "ZRANGE z1 0 -1 WITHSCORES",
        "ZINTERSTORE dst 2 z1 z2 WEIGHTS 1 2 AGGREGATE MAX", "ZRANGE dst 0 -1 WITHSCORES", "ZUNIONSTORE dst",
        "SET t v EX 100", "ZUNIONSTORE t 1 z2", "TTL t", "OBJECT ENCODING dst",
    ],
    "zintercard": [
        "ZADD z1 1 a 2 b 3 c", "ZADD z2 10 b 20 c 30 d", "SADD st b c x", "SET s v", "ZINTERCARD 2 z1 z2",
        "ZINTERCARD 2 z1 z2 LIMIT 1", "ZINTERCARD 2 z1 z2 LIMIT 0", "ZINTERCARD 2 z1 z2 LIMIT -1",
        "ZINTERCARD 2 z1 z2 LIMIT x", "ZINTERCARD 2 z1 st", "ZINTERCARD 2 z1 s", "ZINTERCARD 0 z1",
        "ZINTERCARD 3 z1 z2", "ZINTERCARD 2 z1 z2 FOO", "ZINTERCARD 2 z1 z2 LIMIT", "ZINTERCARD 2 z1 nokey",
        "ZINTERCARD x z1", "ZINTERCARD 2 z1 z1 WITHSCORES", "ZINTERCARD 2 z1 z1 LIMIT 1 LIMIT 2",
        "ZINTERCARD 1 z1 WEIGHTS 1",
    ],
    "zscan": [
        "ZADD z 1 a 2 b 3 c", "SET s v", "ZSCAN z 0", "ZSCAN z 0 MATCH a*", "ZSCAN z 0 COUNT 1", "ZSCAN z 0 COUNT 0",
        "ZSCAN z 0 COUNT -1", "ZSCAN z 0 COUNT x", "ZSCAN z 0 MATCH", "ZSCAN z 0 FOO bar", "ZSCAN z x", "ZSCAN z -1",
        "ZSCAN z 18446744073709551616", "ZSCAN z 18446744073709551615", "ZSCAN z ''", "ZSCAN nokey 0",
        "ZSCAN s 0", "ZSCAN s x", "ZSCAN nokey x", "ZSCAN z 0 NOVALUES", "ZSCAN nokey 0 COUNT 0",
        "ZADD f 1.1 x inf y -inf w 1e17 v", "ZSCAN f 0", "ZSCAN f 0 MATCH [xy]",
        ["ZADD", "big", *MANY], ZScanAll("big"), ZScanAll("big", "COUNT 7"), ZScanAll("big", "MATCH m1*"),
    ],
    "object_encoding": [
        "ZADD z 1 a 2 b 3 c", "OBJECT ENCODING z", ["ZADD", "big", "1", LONG], "OBJECT ENCODING big",
        ["ZREM", "big", LONG], ["ZADD", "big", "1", "a", "2", LONG], "OBJECT ENCODING big", ["ZREM", "big", LONG],
        "OBJECT ENCODING big", ["ZADD", "b64", "1", "a" * 64], "OBJECT ENCODING b64", ["ZADD", "many", *MANY],
        "OBJECT ENCODING many", "ZRANGESTORE m2 many 0 127", "OBJECT ENCODING m2", "ZRANGESTORE m3 many 0 128",
        "OBJECT ENCODING m3", "ZRANGESTORE m4 many 0 127 REV", "OBJECT ENCODING m4", "ZREMRANGEBYRANK many 0 100",
        "OBJECT ENCODING many", "ZUNIONSTORE m5 1 many", "OBJECT ENCODING m5", ["ZADD", "dupes", *MANY[:256], "5", "m1"],
        "OBJECT ENCODING dupes", "ZCARD dupes", "ZINCRBY inc 1 a", "OBJECT ENCODING inc",
        ["ZINCRBY", "inc2", "1", LONG], "OBJECT ENCODING inc2", "ZRANGESTORE d inc2 -inf +inf BYSCORE",
        "OBJECT ENCODING d",
    ],
    "zsets_resp3": [
        ("HELLO 3", TYPE), "ZADD z 1 a 2 b 3.5 c inf d", "ZSCORE z a", "ZSCORE z c", "ZSCORE z d", "ZSCORE z nope",
        "ZMSCORE z a nope", "ZMSCORE nokey a", "ZINCRBY z 1 a", "ZADD z INCR 1 a", "ZADD z XX INCR 1 nope",
        "ZRANGE z 0 -1", "ZRANGE z 0 1 WITHSCORES", "ZRANGEBYSCORE z 1 2 WITHSCORES", "ZREVRANGE z 0 1 WITHSCORES",
        "ZRANGE nokey 0 1 WITHSCORES", "ZRANK z nope", "ZPOPMIN z", "ZPOPMIN z 1", "ZPOPMIN z 0", "ZPOPMIN nokey",
        "ZPOPMIN nokey 1", "ZADD z 1 a 2 b", "ZMPOP 1 z MIN", "ZMPOP 1 nokey MIN", "BZPOPMIN z 0.01",
        "BZPOPMIN nokey 0.01", "BZMPOP 0.01 1 nokey MIN", "ZADD z 1 a 2 b", "BZMPOP 0.01 1 z MAX COUNT 3",
        "ZADD r 1 a", "ZRANDMEMBER nokey", "ZRANDMEMBER nokey 2", "ZRANDMEMBER nokey 2 WITHSCORES",
        "ZRANDMEMBER r 1 WITHSCORES", "ZRANDMEMBER r -2 WITHSCORES", "ZRANDMEMBER r", "ZUNION 1 z WITHSCORES",
        "ZUNION 1 z", "ZINTER 1 z WITHSCORES", "ZDIFF 1 z WITHSCORES", "ZSCAN z 0", "ZADD z -0 m", "ZSCAN z 0",
        "ZRANGE z 0 -1 WITHSCORES",
    ],
    "zadd_noop_is_not_a_write": [
        "ZADD z 1 a 2 b", "WATCH z", On(1, "ZADD z 1 a"), On(1, "ZADD z XX GT 0 b"), On(1, "ZINCRBY z 0 a"),
        On(1, "ZADD z NX 5 a"), On(1, "ZADD z INCR 0 b"), On(1, "ZREM z nope"), "MULTI", "ZCARD z", "EXEC",
        "WATCH z", On(1, "ZADD z 3 a"), "MULTI", "ZCARD z", "EXEC",
        "WATCH z", On(1, "ZINCRBY z 1 a"), "MULTI", "ZCARD z", "EXEC",
        "WATCH z", On(1, "ZPOPMIN z"), "MULTI", "ZCARD z", "EXEC",
        "WATCH z", On(1, "ZRANGESTORE z z 0 -1"), "MULTI", "ZCARD z", "EXEC",
    ],
    "zsets_in_multi": [
        "MULTI", "ZADD z 1 a 2 b", "ZINCRBY z 5 a", "ZRANGE z 0 -1 WITHSCORES", "ZPOPMIN z", "ZADD z x a", "EXEC",
        "ZRANGE z 0 -1 WITHSCORES", "MULTI", "ZADD z NX XX 1 a", "ZCARD z", "EXEC", "MULTI", "ZADD z 1", "EXEC",
    ],
    "zsets_wrongtype_and_overwrite": [
        "HSET l f v", "ZADD l 1 a", "ZRANGE l 0 -1", "ZUNIONSTORE l2 1 l", "ZADD z 1 a", "SADD z x", "GET z",
        "SET z v", "TYPE z", "ZADD z2 1 a", "RENAME z2 z3", "ZRANGE z3 0 -1 WITHSCORES", "COPY z3 z4",
        "ZRANGE z4 0 -1 WITHSCORES", "DEL z3", "EXISTS z3", "ZADD e 1 a", "EXPIRE e 100", "ZADD e 2 b", "TTL e",
        "ZREM e a b", "TTL e",
    ],
}


@pytest.mark.parametrize("case", scripts(ZSETS))
def test_zsets(diff: Differ, case: ScriptCase) -> None:
    diff.run(case)
