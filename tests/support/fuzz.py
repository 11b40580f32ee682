"""Fuzzing helpers shared by tests/test_fuzz_resp.py and tests/test_fuzz_peer.py: seeded
mutators of byte strings, and the process facts the fuzzers check (RSS)."""
from __future__ import annotations

import os
import random
from collections.abc import Callable

# Numbers that break length fields: zero, signs, the edges of int32/int64, far past them.
EDGE_NUMBERS = [b"0", b"-1", b"-2", b"1", b"65535", b"65536", b"2147483647", b"2147483648", b"-2147483648",
                b"4294967296", b"9223372036854775807", b"9223372036854775808", b"-9223372036854775808",
                b"99999999999999999999999", b"1e3", b"0x10", b" 1", b"+1", b"", b"nan", b"inf", b"-inf"]
SPECIAL = [b"\r\n", b"\r", b"\n", b"\0", b"*", b"$", b"+", b"-", b":", b"%", b"~", b">", b"_", b",", b"#",
           b"(", b"=", b"|", b"\"", b"'", b"\\", b" ", b"\xff", b"\xc3\x28"]


def env_int(name: str, default: int) -> int:
    try:
        return int(os.environ.get(name, "") or default)
    except ValueError:
        return default


def rss_bytes(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def _flip(rnd: random.Random, b: bytes) -> bytes:
    if not b:
        return b
    i = rnd.randrange(len(b))
    return b[:i] + bytes([b[i] ^ (1 << rnd.randrange(8))]) + b[i + 1:]


def _insert(rnd: random.Random, b: bytes) -> bytes:
    i = rnd.randrange(len(b) + 1)
    what = rnd.choice(SPECIAL) if rnd.random() < 0.7 else bytes(rnd.randrange(256) for _ in range(rnd.randrange(1, 8)))
    return b[:i] + what + b[i:]


def _delete(rnd: random.Random, b: bytes) -> bytes:
    if not b:
        return b
    i = rnd.randrange(len(b))
    return b[:i] + b[i + rnd.randrange(1, 8):]


def _truncate(rnd: random.Random, b: bytes) -> bytes:
    return b[:rnd.randrange(len(b) + 1)]


def _number(rnd: random.Random, b: bytes) -> bytes:
    """Replace one run of digits (a length, a count, an argument) with an edge number."""
    runs = [i for i in range(len(b)) if b[i:i + 1].isdigit() and (i == 0 or not b[i - 1:i].isdigit())]
    if not runs:
        return _insert(rnd, b)
    i = rnd.choice(runs)
    j = i
    while j < len(b) and b[j:j + 1].isdigit():
        j += 1
    return b[:i] + rnd.choice(EDGE_NUMBERS) + b[j:]


def _duplicate(rnd: random.Random, b: bytes) -> bytes:
    if not b:
        return b
    i = rnd.randrange(len(b))
    j = min(len(b), i + rnd.randrange(1, 64))
    return b[:j] + b[i:j] * rnd.randrange(1, 4) + b[j:]


MUTATORS: list[Callable[[random.Random, bytes], bytes]] = [_flip, _insert, _delete, _truncate, _number, _number,
                                                           _duplicate]


def mutate(rnd: random.Random, b: bytes, rounds: int | None = None) -> bytes:
    for _ in range(rounds if rounds is not None else rnd.choice((1, 1, 1, 2, 3))):
        b = rnd.choice(MUTATORS)(rnd, b)
    return b


def splice(rnd: random.Random, a: bytes, b: bytes) -> bytes:
    return a[:rnd.randrange(len(a) + 1)] + b[rnd.randrange(len(b) + 1):]
