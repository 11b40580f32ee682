"""Differential scripts for the hash commands (HSET family, HINCRBY*, HRANDFIELD, HSCAN).

Small hashes are listpacks in Redis, so field order (insertion order) is compared exactly;
hashtable-encoded ones are compared as sets of pairs. Random replies (HRANDFIELD) are
compared by what is deterministic about them: length, shape, membership.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pytest

from tests.differential.harness import (
    TYPE,
    UNORDERED,
    Differ,
    Run,
    Script,
    ScriptCase,
    Step,
    custom,
    pairs,
    parse_argv,
    scripts,
)
from tests.support.resp_client import decode

MAX = "9223372036854775807"
MIN = "-9223372036854775808"
LONG = "x" * 65
BIG_PAIRS = [x for i in range(600) for x in (f"f{i}", str(i))]  # > 512: a hashtable


def _flat_pairs(v: Any) -> list[tuple[Any, Any]]:
    """HRANDFIELD ... WITHVALUES as (field, value) pairs in either protocol."""
    if v and isinstance(v[0], list):
        return [tuple(p) for p in v]
    return list(zip(v[::2], v[1::2], strict=False))


def _rand_shape(v: Any) -> Any:
    """Length and the set of distinct elements of a random reply."""
    if v is None or isinstance(v, bytes):
        return v
    if v and isinstance(v[0], list):
        return ("nested", len(v), sorted({tuple(p) for p in v}))
    return (len(v), sorted(set(v)))


def _pair_count_and_consistency(v: Any) -> Any:
    """Number of pairs, and whether each field carries the value its name encodes."""
    ps = _flat_pairs(v)
    return (len(ps), all(f == b"f" + val for f, val in ps))


def _subset_size(v: Any) -> Any:
    """Distinct picks (HRANDFIELD positive count < size): size and distinctness only."""
    return (len(v), len(set(v)) == len(v))


RAND = custom(_rand_shape, "length and distinct elements")
PAIRS_OK = custom(_pair_count_and_consistency, "pair count and field/value consistency")
DISTINCT = custom(_subset_size, "size and distinctness")
HGETALL_SET = pairs()


@dataclass
class HScanAll(Step):
    """HSCAN `key` with `args` until the cursor returns to 0 on each server; compares the set
    of (field, value) pairs seen (cursors of hashtable encodings are implementation details)."""

    key: str
    args: str | Sequence[Any] = ""
    max_calls: int = 10_000

    def run(self, ctx: Run) -> None:
        extra = parse_argv(self.args)
        results: dict[str, Any] = {}
        for side in (ctx.ref, ctx.sub):
            cursor = b"0"
            seen: set[tuple[bytes, bytes]] = set()
            for _ in range(self.max_calls):
                argv = [b"HSCAN", self.key.encode(), cursor, *extra]
                raw = side.exchange(0, b"*%d\r\n" % len(argv) + b"".join(b"$%d\r\n%s\r\n" % (len(a), a) for a in argv))
                if isinstance(raw, str) or not raw.startswith(b"*2\r\n"):
                    results[side.label] = f"HSCAN {cursor!r} replied {raw!r}"
                    break
                cursor, batch = decode(raw)
                seen.update(zip(batch[::2], batch[1::2], strict=False))
                if cursor == b"0":
                    results[side.label] = frozenset(seen)
                    break
            else:
                results[side.label] = "cursor never returned to 0"
        r, s = results[ctx.ref.label], results[ctx.sub.label]
        what = f"HSCAN* {self.key} {' '.join(a.decode() for a in extra)}"
        if r != s:
            ctx.fail(what, f"pair sets differ:\n    ref: {sorted(r) if isinstance(r, frozenset) else r}\n"
                           f"    sub: {sorted(s) if isinstance(s, frozenset) else s}")
        ctx.log(what, f"{len(r)} pairs")


HASHES: dict[str, Script] = {
    "hset_hget_basic": [
        "HSET h a 1", "HSET h a 2 b 3", "HGET h a", "HGET h b", "HGET h zz", "HGET nokey a",
        "HSET h a 1 a 2 a 3", "HGET h a", "HSET h c 1 c 2", "HGETALL h", "HLEN h", "HLEN nokey",
        ["HSET", "bin", b"\x00\xff", b"\r\n$3\r\n"], ["HGET", "bin", b"\x00\xff"], "HSET e '' ''", "HGET e ''",
        "HGETALL e", "hset H upper 1", "HGET H upper", "hget h A",
    ],
    "hset_hmset_arity": [
        "HSET", "HSET h", "HSET h f", "HSET h f v g", "HMSET h f", "HMSET h f v g", "HMSET h", "HGET h",
        "HGET h f g", "HSETNX h f", "HSETNX h f v x", "HMGET h", "HGETALL", "HGETALL h x", "HLEN", "HKEYS",
        "HVALS a b", "HDEL h", "HEXISTS h", "HSTRLEN h", "HINCRBY h f", "HINCRBYFLOAT h f", "HRANDFIELD",
        "HSCAN h", "EXISTS h",
    ],
    "hmset_hsetnx": [
        "HMSET h a 1 b 2", "HGETALL h", "HMSET h a 10", "HGET h a", "HSETNX h a 100", "HSETNX h c 3",
        "HGETALL h", "HSETNX n f v", "HGETALL n",
    ],
    "hmget": [
        "HSET h a 1 b 2", "HMGET h a b zz a", "HMGET nokey a b", "HMGET h zz",
    ],
    "hgetall_hkeys_hvals_order": [
        "HSET h b 2 a 1 c 3", "HGETALL h", "HKEYS h", "HVALS h", "HSET h b 20", "HDEL h a", "HSET h a 1",
        "HGETALL h", "HKEYS h", "HVALS h", "HGETALL nokey", "HKEYS nokey", "HVALS nokey",
    ],
    "hdel": [
        "HSET h a 1 b 2 c 3", "HDEL h a", "HDEL h a", "HDEL h b b zz", "HGETALL h", "HDEL h c", "EXISTS h",
        "HDEL nokey a", "HSET h a 1", "HDEL h zz a zz", "EXISTS h",
    ],
    "hexists_hstrlen": [
        "HSET h a hello n -12 e ''", "HEXISTS h a", "HEXISTS h zz", "HEXISTS nokey a", "HSTRLEN h a",
        "HSTRLEN h n", "HSTRLEN h e", "HSTRLEN h zz", "HSTRLEN nokey a", "HSET h i 12345", "HSTRLEN h i",
    ],
    "hincrby": [
        "HINCRBY h n 5", "HINCRBY h n -7", "HGET h n", "HINCRBY h n 0", f"HINCRBY h big {MAX}", "HINCRBY h big 1",
        "HGET h big", f"HINCRBY h neg {MIN}", "HINCRBY h neg -1", "HINCRBY h n x", "HINCRBY h n 1.0",
        "HINCRBY h n ''", "HINCRBY h n ' 1'", "HINCRBY h n 9223372036854775808", "HINCRBY h n -0",
        "HINCRBY h n +1", "HGET h n",
    ],
    "hincrby_bad_values": [
        "HSET h s abc f 1.5 sp ' 1' z 007 b 99999999999999999999 e ''", "HINCRBY h s 1", "HINCRBY h f 1",
        "HINCRBY h sp 1", "HINCRBY h z 1", "HINCRBY h b 1", "HINCRBY h e 1", "HGETALL h",
    ],
    "hincrbyfloat": [
        "HINCRBYFLOAT h f 10.5", "HINCRBYFLOAT h f 0.1", "HINCRBYFLOAT h f -5e-1", "HGET h f",
        "HINCRBYFLOAT h i 3.0e3", "HINCRBYFLOAT h x 10000000000.1", "HINCRBYFLOAT h y 1.23456789012345678901",
        "HINCRBYFLOAT h z 123456789.123456789", "HINCRBYFLOAT h t 1e-20", "HINCRBYFLOAT h u 5e-18",
        "HSET h n 5", "HINCRBYFLOAT h n 0x1p-1", "HINCRBYFLOAT h n -0x1p3", "HINCRBYFLOAT h b 99999999999999999999",
        "HINCRBYFLOAT h b 1", "HINCRBYFLOAT h n 1e70", "OBJECT ENCODING h", "HINCRBYFLOAT h g +.5",
        "HINCRBYFLOAT h g 1.", "HINCRBYFLOAT h m -0", ("HGETALL h", HGETALL_SET),
    ],
    "hincrbyfloat_errors": [
        "HSET h s abc sp ' 1' inf inf nan nan", "HINCRBYFLOAT h s 1", "HINCRBYFLOAT h sp 1", "HINCRBYFLOAT h nan 1",
        "HINCRBYFLOAT h f x", "HINCRBYFLOAT h f nan", "HINCRBYFLOAT h f ' 1'", "HINCRBYFLOAT h f '1 '",
        "HINCRBYFLOAT h f ''", "HINCRBYFLOAT h f 1e5000", "HINCRBYFLOAT h f 1e-5000", "HINCRBYFLOAT h f inf",
        "HINCRBYFLOAT h f -infinity", "HINCRBYFLOAT h inf 1", "HINCRBYFLOAT h big 1e4932",
        "HINCRBYFLOAT h big 1e4932", "HINCRBYFLOAT h big -0x1p3", "HEXISTS h f", "HINCRBYFLOAT h f 0x",
        "HINCRBYFLOAT h f 1_0",
    ],
    "hrandfield_deterministic": [
        "HRANDFIELD nokey", "HRANDFIELD nokey 5", "HRANDFIELD nokey -5 WITHVALUES", "HSET h a 1",
        "HRANDFIELD h", "HRANDFIELD h 1", "HRANDFIELD h -3", "HRANDFIELD h -3 WITHVALUES", "HRANDFIELD h 0",
        "HRANDFIELD h 0 WITHVALUES", "HSET h b 2 c 3", "HRANDFIELD h 3", "HRANDFIELD h 10 WITHVALUES",
        "HRANDFIELD h 3 withvalues",
    ],
    "hrandfield_random": [
        "HSET h a 1 b 2 c 3 d 4", ("HRANDFIELD h", TYPE), ("HRANDFIELD h -20", custom(len, "length")),
        ("HRANDFIELD h 2", DISTINCT), ("HRANDFIELD h 3", DISTINCT), ("HRANDFIELD h -5 WITHVALUES", custom(len, "length")),
        ("HRANDFIELD h 2 WITHVALUES", custom(len, "length")),
        ["HSET", "fv", *[x for i in range(5) for x in (f"f{i}", str(i))]],
        ("HRANDFIELD fv -30 WITHVALUES", PAIRS_OK), ("HRANDFIELD fv 3 WITHVALUES", PAIRS_OK),
        ("HRANDFIELD fv 2 WITHVALUES", PAIRS_OK),
    ],
    "hrandfield_errors": [
        "HSET h a 1", "HRANDFIELD h x", "HRANDFIELD h -0", "HRANDFIELD h 1.5", f"HRANDFIELD h {MIN}",
        f"HRANDFIELD h {MAX} WITHVALUES", "HRANDFIELD h -4611686018427387904 WITHVALUES",
        "HRANDFIELD h 4611686018427387904 WITHVALUES", "HRANDFIELD h 1 x", "HRANDFIELD h 1 WITHVALUES x",
        "HRANDFIELD h x y z", "HRANDFIELD nokey 1 x", "HRANDFIELD nokey x",
    ],
    "hscan_small": [
        "HSET h a 1 b 2 ab 3", "HSCAN h 0", "HSCAN h 12345 COUNT 1", "HSCAN h 0 MATCH a*", "HSCAN h 0 match zz count 5",
        "HSCAN h 0 MATCH a MATCH b", "HSCAN h 0 COUNT 10 MATCH *b", "HSCAN h '' MATCH *", "HSCAN h +0",
        "HSCAN h -1", "HSCAN nokey 0", "HSCAN nokey 0 FOO", "HSCAN h 0 MATCH '[ab]'", "HSCAN h 0 MATCH '?b'",
    ],
    "hscan_errors": [
        "HSET h a 1", "HSCAN h x", "HSCAN h ' 1'", "HSCAN h 18446744073709551616", "HSCAN h 0x10",
        "HSCAN h 0 COUNT 0", "HSCAN h 0 COUNT -1", "HSCAN h 0 COUNT x", "HSCAN h 0 MATCH", "HSCAN h 0 COUNT",
        "HSCAN h 0 TYPE string", "HSCAN h 0 FOO bar", "HSCAN nokey x",
    ],
    "hscan_hashtable": [
        ["HSET", "big", *BIG_PAIRS], "HLEN big", "OBJECT ENCODING big", HScanAll("big"), HScanAll("big", "COUNT 7"),
        HScanAll("big", "COUNT 1000"), HScanAll("big", "MATCH f1*"), HScanAll("big", "MATCH *9 COUNT 3"),
        ("HGETALL big", HGETALL_SET), ("HKEYS big", UNORDERED), ("HVALS big", UNORDERED),
    ],
    "encoding_thresholds": [
        ["HSET", "h", *BIG_PAIRS[:1024]], "OBJECT ENCODING h", "HSET h extra 1", "OBJECT ENCODING h", "HDEL h extra f0",
        "OBJECT ENCODING h", "HLEN h",
        ["HSET", "v", "f", "x" * 64], "OBJECT ENCODING v", ["HSET", "v", "f", LONG], "OBJECT ENCODING v",
        "HSET v f small", "OBJECT ENCODING v", ["HSET", "k", "x" * 65, "1"], "OBJECT ENCODING k",
        ["HSET", "d", "x" * 65, "1"], ["HDEL", "d", "x" * 65], "EXISTS d", "HSET d a 1", "OBJECT ENCODING d",
        "HSET n a 1", "HINCRBYFLOAT n a 1e70", "OBJECT ENCODING n", "HSET nx a 1", ["HSETNX", "nx", "a", LONG],
        "OBJECT ENCODING nx",
    ],
    "hashes_resp3": [
        ("HELLO 3", TYPE), "HSET h a 1 b 2", "HGETALL h", "HGETALL nokey", "HGET h zz", "HMGET h a zz",
        "HKEYS h", "HVALS h", "HINCRBYFLOAT h f 1.5", "HINCRBY h n 1", "HRANDFIELD nokey", "HRANDFIELD h 5 WITHVALUES",
        "HRANDFIELD h 5", "HSCAN h 0", "HSCAN nokey 0", "HSET one a 1", "HRANDFIELD one -2 WITHVALUES",
        "HRANDFIELD one 1 WITHVALUES", "HMSET h c 3", "HSETNX h c 3", "HEXISTS h c", "HDEL h c", "HLEN h",
    ],
    "hashes_in_multi": [
        "MULTI", "HSET h a 1", "HINCRBY h a 4", "HGET h a", "HDEL h zz", "HGETALL h", "EXEC",
        "MULTI", "HSET h a", "EXEC", "HGET h a",
    ],
    "hash_key_lifecycle": [
        "HSET h a 1", "TYPE h", "EXISTS h", "HDEL h a", "TYPE h", "EXISTS h", "HSET h a 1", "DEL h", "HGET h a",
        "HSET h a 1", "EXPIRE h 100", "HSET h b 2", "TTL h", "HDEL h a b", "TTL h", "HSET h a 1", "TTL h",
        "HSET h a 1", "RENAME h h2", "HGETALL h2", "COPY h2 h3", "HGETALL h3", "TYPE h3",
    ],
}

WRONGTYPE: dict[str, Script] = {
    "hashes_on_string": [
        "SET s v", "HSET s f v", "HMSET s f v", "HSETNX s f v", "HGET s f", "HMGET s f", "HGETALL s", "HKEYS s",
        "HVALS s", "HLEN s", "HEXISTS s f", "HSTRLEN s f", "HDEL s f", "HINCRBY s f 1", "HINCRBY s f x",
        "HINCRBYFLOAT s f 1", "HINCRBYFLOAT s f x", "HRANDFIELD s", "HRANDFIELD s 0", "HRANDFIELD s 2 WITHVALUES",
        "HRANDFIELD s x", "HSCAN s 0", "HSCAN s x", "HSCAN s 0 FOO", "GET s", "TYPE s",
    ],
    "strings_on_hash": [
        "HSET h f v", "GET h", "INCR h", "APPEND h x", "STRLEN h", "SET h v", "GET h", "TYPE h",
    ],
}


@pytest.mark.parametrize("case", scripts(HASHES))
def test_hashes(diff: Differ, case: ScriptCase) -> None:
    diff.run(case)


@pytest.mark.parametrize("case", scripts(WRONGTYPE))
def test_hashes_wrongtype(diff: Differ, case: ScriptCase) -> None:
    diff.run(case)
