"""Differential scripts for bitmaps and bitfields (SETBIT ... BITFIELD_RO)."""
from __future__ import annotations

import random

import pytest

from tests.differential.harness import KEEP_GOING, Differ, Script, ScriptCase, hello_mode, int_range, scripts


def _random_bitops(seed: int) -> Script:
    rng = random.Random(seed)
    steps: Script = []
    for _ in range(120):
        k = rng.choice(["a", "b", "c"])
        r = rng.random()
        if r < 0.3:
            steps.append(["SETBIT", k, rng.randrange(200), rng.randrange(2)])
        elif r < 0.4:
            steps.append(["SET", k, bytes(rng.getrandbits(8) for _ in range(rng.randrange(12)))])
        elif r < 0.5:
            steps.append(["APPEND", k, bytes(rng.getrandbits(8) for _ in range(3))])
        elif r < 0.6:
            steps.append(["BITOP", rng.choice(["AND", "OR", "XOR"]), rng.choice(["a", "b", "c", "d"]), "a", "b", "c"])
        elif r < 0.65:
            steps.append(["BITOP", "NOT", rng.choice(["a", "d"]), k])
        elif r < 0.8:
            t = rng.choice(["u1", "u7", "u8", "i8", "i13", "u63", "i64", "u16"])
            op = rng.choice(["GET", "SET", "INCRBY"])
            ov = rng.choice(["WRAP", "SAT", "FAIL"])
            argv = ["BITFIELD", k, "OVERFLOW", ov, op, t, rng.choice([str(rng.randrange(90)), f"#{rng.randrange(5)}"])]
            if op != "GET":
                argv.append(str(rng.randint(-(2**64), 2**64) if rng.random() < 0.2 else rng.randint(-300, 300)))
            steps.append(argv)
        else:
            steps.append(["BITCOUNT", k, rng.randint(-20, 20), rng.randint(-20, 20), rng.choice(["BIT", "BYTE"])])
            steps.append(["BITPOS", k, rng.randrange(2), rng.randint(-20, 20), rng.randint(-20, 20),
                          rng.choice(["BIT", "BYTE"])])
        steps.append(["GET", k])
    return [KEEP_GOING, *steps]


BITS: dict[str, Script] = {
    "setbit_getbit": [
        "SETBIT k 7 1", "GET k", "GETBIT k 7", "GETBIT k 6", "GETBIT k 100", "GETBIT nokey 0",
        "SETBIT k 7 0", "SETBIT k 100 1", "STRLEN k", "GET k", "SETBIT k 100 1", "TYPE k", "OBJECT ENCODING k",
        "SET n 123", "GETBIT n 2", "SETBIT n 0 1", "GET n",
    ],
    "setbit_errors": [
        KEEP_GOING,
        "SETBIT k -1 1", "SETBIT k 4294967296 1", "SETBIT k abc 1", "SETBIT k 1 2", "SETBIT k 1 -1",
        "SETBIT k 1 x", "GETBIT k -1", "GETBIT k x", "SETBIT k 1", "RPUSH l a", "SETBIT l 0 1", "GETBIT l 0",
        "SETBIT k 4294967295 1", "STRLEN k",
    ],
    "bitcount": [
        KEEP_GOING,
        "BITCOUNT nokey", "SET k foobar", "BITCOUNT k", "BITCOUNT k 0 0", "BITCOUNT k 1 1", "BITCOUNT k 1 -2",
        "BITCOUNT k -3 -1", "BITCOUNT k -1 -3", "BITCOUNT k 5 100", "BITCOUNT k 0 -1 BIT", "BITCOUNT k 5 30 BIT",
        "BITCOUNT k 5 30 byte", "BITCOUNT k 1", "BITCOUNT k 0 1 WORD", "BITCOUNT k a b", "BITCOUNT k 0 1 BIT x",
        "BITCOUNT nokey 1", "RPUSH l a", "BITCOUNT l",
    ],
    "bitpos": [
        KEEP_GOING,
        "BITPOS nokey 1", "BITPOS nokey 0", "SET k \xff\xf0\x00", "BITPOS k 0", "BITPOS k 1", "BITPOS k 0 2",
        "BITPOS k 1 2", "BITPOS k 0 0 0", "BITPOS k 1 7 15 BIT", "BITPOS k 0 7 15 BIT", "BITPOS k 0 0 -1 BIT",
        "BITPOS k 1 -1", "BITPOS k 2", "BITPOS k 0 1 2 WORD", "SET z \xff\xff", "BITPOS z 0", "BITPOS z 0 0 -1",
        "BITPOS z 0 0", "SET e ''", "BITPOS e 0", "BITPOS e 1",
    ],
    "bitop": [
        KEEP_GOING,
        "SET a \x0f\xf0", "SET b \xff", "BITOP AND d a b", "GET d", "BITOP OR d a b", "GET d", "BITOP XOR d a b",
        "GET d", "BITOP NOT d a", "GET d", "BITOP NOT d a b", "BITOP FOO d a", "BITOP AND d nokey1 nokey2",
        "EXISTS d", "SET d x", "BITOP OR d nokey", "EXISTS d", "RPUSH l x", "BITOP AND d a l", "BITOP and d a",
        "SET d v EX 100", "BITOP OR d a", "TTL d",
    ],
    "bitfield": [
        KEEP_GOING,
        "BITFIELD k SET u8 0 255", "BITFIELD k GET u8 0", "BITFIELD k INCRBY u8 0 10", "BITFIELD k GET i8 0",
        "BITFIELD k OVERFLOW SAT INCRBY u8 0 500", "BITFIELD k OVERFLOW FAIL INCRBY u8 0 1",
        "BITFIELD k OVERFLOW WRAP INCRBY i5 100 7 INCRBY i5 100 7 GET i5 100", "GET k",
        "BITFIELD k SET i64 #2 -1 GET u63 #2 GET i64 #2", "BITFIELD k GET u64 0", "BITFIELD k GET x8 0",
        "BITFIELD k GET u0 0", "BITFIELD k GET i65 0", "BITFIELD k OVERFLOW BAD", "BITFIELD k FOO",
        "BITFIELD k GET u8", "BITFIELD k SET u8 0", "BITFIELD k SET u8 0 x", "BITFIELD k GET u8 -1",
        "BITFIELD k OVERFLOW FAIL SET u2 0 7", "BITFIELD k OVERFLOW SAT SET i4 0 -100", "GET k",
        "BITFIELD nokey GET u8 0", "EXISTS nokey", "BITFIELD new OVERFLOW FAIL INCRBY u2 20 10", "GET new",
        "BITFIELD k", "RPUSH l a", "BITFIELD l GET u8 0", "BITFIELD l SET u8 0 1",
    ],
    "bitfield_ro": [
        KEEP_GOING,
        "SET k \x01\x02", "BITFIELD_RO k GET u8 0 GET u8 8 GET i16 0", "BITFIELD_RO k SET u8 0 1",
        "BITFIELD_RO k INCRBY u8 0 1", "BITFIELD_RO nokey GET u4 0", "BITFIELD_RO k GET u8 #1",
    ],
    "bits_resp3": [("HELLO 3", hello_mode()), "SETBIT k 3 1", "BITFIELD k GET u8 0 OVERFLOW FAIL INCRBY u2 0 9",
                   "BITCOUNT k", "BITPOS k 1"],
    "generic_key_commands": [
        "SETBIT b 5 1", "PFADD h a b", "GEOADD g 13.361389 38.115556 p", "TYPE b", "TYPE h", "TYPE g",
        "OBJECT ENCODING b", "OBJECT ENCODING h", "OBJECT ENCODING g", "COPY b b2", "GET b2", "COPY h h2",
        "GET h2", "PFCOUNT h2", "RENAME b b3", "GET b3", "EXISTS b", "RENAME g g2", "GEOPOS g2 p",
        "SET t v EX 100", "SETBIT t 1 1", ("TTL t", int_range(98, 100)), "PFADD t2 x", "EXPIRE t2 100",
        "PFADD t2 y", ("TTL t2", int_range(98, 100)), "BITFIELD t SET u8 0 1", ("TTL t", int_range(98, 100)),
        "DEL b3 h2 g2", "EXISTS b3 h2 g2", "SET s 10", "SETBIT s 7 0", "GET s", "INCR s", "SETBIT s 0 0",
        "APPEND s x", "GET s", "SETRANGE s 0 Z", "GETRANGE s 0 -1", "STRLEN s", "INCR s",
    ],
    "random_1": _random_bitops(1),
    "random_2": _random_bitops(2),
    "random_3": _random_bitops(3),
}


@pytest.mark.parametrize("case", scripts(BITS))
def test_bits(diff: Differ, case: ScriptCase) -> None:
    diff.run(case)
