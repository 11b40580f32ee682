"""Differential scripts for HyperLogLog (PFADD ... PFSELFTEST): replies and the exact bytes
of the values (GET), sparse and dense, including values copied between the two servers'
formats (a blob Redis wrote, SET here, then PFADD/PFCOUNT)."""
from __future__ import annotations

import random
from typing import Any

import pytest

from tests.differential.harness import KEEP_GOING, Differ, Script, ScriptCase, hello_mode, scripts

# Written by redis-server 7.0.15 (PFADD k a b c foo bar): a sparse HLL blob.
REDIS_BLOB = bytes.fromhex("48594c4c0100000000000000000000805cb390443e804621804a8e844bfb80425a")


def _random_hll(seed: int) -> Script:
    rng = random.Random(seed)
    steps: Script = [KEEP_GOING]
    for _ in range(60):
        k = rng.choice(["h1", "h2", "h3"])
        r = rng.random()
        if r < 0.5:
            n = rng.choice([1, 3, 20, 200, 2000])
            steps.append(["PFADD", k, *[f"e{rng.randrange(100000)}" for _ in range(n)]])
        elif r < 0.65:
            steps.append(["PFCOUNT", k])
        elif r < 0.75:
            steps.append(["PFCOUNT", "h1", "h2", "h3"])
        elif r < 0.85:
            steps.append(["PFMERGE", k, *rng.sample(["h1", "h2", "h3", "h4"], 2)])
        elif r < 0.9:
            steps.append(["CONFIG", "SET", "hll-sparse-max-bytes", str(rng.choice([100, 500, 3000]))])
        else:
            steps.append(["PFDEBUG", rng.choice(["ENCODING", "TODENSE", "DECODE"]), k])
        steps.append(["GET", k])
    steps.append("CONFIG SET hll-sparse-max-bytes 3000")
    return steps


HLL: dict[str, Script] = {
    "pfadd_pfcount": [
        "PFADD h", "GET h", "PFCOUNT h", "GET h", "PFADD h a b c", "GET h", "PFADD h a", "PFCOUNT h", "GET h",
        "PFADD h d", "PFCOUNT h", "PFCOUNT nokey", "TYPE h", "STRLEN h", "OBJECT ENCODING h",
    ],
    "pfadd_dense": [
        ["PFADD", "h", *[f"x{i}" for i in range(3000)]], "GET h", "PFCOUNT h", "GET h",
        ["PFADD", "h", *[f"y{i}" for i in range(500)]], "GET h", "PFDEBUG ENCODING h",
    ],
    "sparse_max_bytes": [
        "CONFIG SET hll-sparse-max-bytes 200", ["PFADD", "h", *[f"z{i}" for i in range(60)]], "GET h",
        "PFDEBUG ENCODING h", "CONFIG SET hll-sparse-max-bytes 3000",
    ],
    "pfcount_many": [
        ["PFADD", "a", *[f"a{i}" for i in range(100)]], ["PFADD", "b", *[f"b{i}" for i in range(5000)]],
        "PFCOUNT a b", "PFCOUNT a b nokey", "PFCOUNT a a", "GET a", "GET b",
    ],
    "pfmerge": [
        ["PFADD", "a", *[f"a{i}" for i in range(100)]], ["PFADD", "b", *[f"b{i}" for i in range(100)]],
        "PFMERGE d a b", "GET d", "PFCOUNT d", "PFMERGE d", "GET d", "PFMERGE e nokey", "GET e",
        ["PFADD", "c", *[f"c{i}" for i in range(4000)]], "PFMERGE a c", "GET a", "PFDEBUG ENCODING a",
        "PFMERGE a", "GET a",
    ],
    "type_errors": [
        KEEP_GOING,
        "SET s bar", "PFADD s x", "PFCOUNT s", "PFMERGE d s", "PFMERGE s d", "RPUSH l a", "PFADD l x",
        "PFCOUNT l", "PFCOUNT s nokey", "SET i 12345", "PFADD i x", "SET short HYLL", "PFADD short x",
        "PFADD", "PFCOUNT", "PFMERGE",
    ],
    "copied_blob": [
        ["SET", "h", REDIS_BLOB], "PFCOUNT h", "GET h", "PFADD h more", "GET h", "PFDEBUG DECODE h",
        "APPEND h x", "PFCOUNT h", "PFADD h y",
    ],
    "corrupt": [
        KEEP_GOING,
        "PFADD h a b c", "SETRANGE h 17 \x7f\xff\xff", "PFCOUNT h", "PFADD h zzz", "PFDEBUG GETREG h",
        ["SET", "d", "HYLL" + "\x00" * 20], "PFADD d a", "PFCOUNT d",
    ],
    "pfdebug": [
        KEEP_GOING,
        "PFDEBUG ENCODING nokey", "PFADD h a b", "PFDEBUG ENCODING h", "PFDEBUG DECODE h", "PFDEBUG FOO h",
        "PFDEBUG TODENSE h", "GET h", "PFDEBUG TODENSE h", "PFDEBUG DECODE h", "PFDEBUG ENCODING h",
        "PFADD g x", "PFDEBUG GETREG g", "GET g", "PFDEBUG", "PFDEBUG GETREG h extra",
    ],
    "pfselftest": ["PFSELFTEST", "PFSELFTEST x"],
    "hll_resp3": [("HELLO 3", hello_mode()), "PFADD h a b", "PFCOUNT h", "PFDEBUG ENCODING h"],
    "random_1": _random_hll(1),
    "random_2": _random_hll(2),
}


@pytest.mark.parametrize("case", scripts(HLL))
def test_hll(diff: Differ, case: ScriptCase) -> None:
    diff.run(case)


@pytest.mark.parametrize("n", [5, 300, 5000])
def test_hll_values_move_both_ways_between_redis_and_crdt(real_redis: Any, crdt_node_module: Any, n: int) -> None:
    """A value written here reads the same in Redis, and the reverse, sparse and dense."""
    import redis

    ref = redis.Redis(port=real_redis.port)
    sub = redis.Redis(port=crdt_node_module.port)
    ref.flushall()
    sub.flushall()
    elems = [f"v{i}" for i in range(n)]
    sub.pfadd("mine", *elems)
    ref.pfadd("theirs", *elems)
    mine, theirs = sub.get("mine"), ref.get("theirs")
    assert mine == theirs
    ref.set("copy", mine)
    sub.set("copy", theirs)
    assert ref.pfcount("copy") == sub.pfcount("copy") == ref.pfcount("theirs")
    ref.pfadd("copy", "extra1", "extra2")
    sub.pfadd("copy", "extra1", "extra2")
    assert ref.get("copy") == sub.get("copy")
