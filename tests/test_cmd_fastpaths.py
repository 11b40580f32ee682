"""The one-element forms of SADD, HSET and ZADD skip `_write` and Node.emit's CREATE check
for a key of their type in a db without TTLs. Each must decide as its general path does.

The general path is reached through the same command with its element repeated (SADD k m m,
HSET k f v f v, ZADD k s m s m: the same effect after deduplication). Two nodes run the
same random commands, one in each form, with TTLs set and expiring, keys deleted and
retyped; their replies and the effects they ship (compared as repr: -0.0 == 0.0) must match.
"""
from __future__ import annotations

import dataclasses
import random
from collections.abc import Callable
from typing import Any

import pytest

from crdtredis.commands import new_node
from crdtredis.config import default_config
from crdtredis.op import Op


class _Node:
    def __init__(self, now: list[int]) -> None:
        self.node = new_node(dataclasses.replace(default_config(), replica_id="n1", peers=()))
        self.node.clock = lambda: now[0]
        self.ops: list[Op] = []
        self.node.op_listeners.append(self.ops.append)
        self.client = self.node.new_client("t", "t", lambda: None)

    def run(self, argv: list[bytes]) -> Any:
        return self.node.execute(self.client, list(argv))


Forms = Callable[[random.Random, bytes], tuple[list[bytes], list[bytes]]]


def _sadd(rnd: random.Random, key: bytes) -> tuple[list[bytes], list[bytes]]:
    m = rnd.choice([b"a", b"b", b"1", b"%d" % rnd.randrange(40)])
    return [b"SADD", key, m], [b"SADD", key, m, m]


def _hset(rnd: random.Random, key: bytes) -> tuple[list[bytes], list[bytes]]:
    f, v = rnd.choice([b"f", b"g", b"h%d" % rnd.randrange(40)]), rnd.choice([b"v", b"w", b"1"])
    return [b"HSET", key, f, v], [b"HSET", key, f, v, f, v]


def _zadd(rnd: random.Random, key: bytes) -> tuple[list[bytes], list[bytes]]:
    s, m = rnd.choice([b"0", b"-0", b"1", b"2.5", b"inf", b"x"]), rnd.choice([b"a", b"b", b"m%d" % rnd.randrange(40)])
    return [b"ZADD", key, s, m], [b"ZADD", key, s, m, s, m]


@pytest.mark.parametrize("forms", [_sadd, _hset, _zadd], ids=["sadd", "hset", "zadd"])
@pytest.mark.parametrize("seed", range(4))
def test_the_one_element_form_decides_as_the_general_path(forms: Forms, seed: int) -> None:
    rnd = random.Random(seed)
    now = [1_000_000]
    fast, general = _Node(now), _Node(now)
    for step in range(500):
        key = rnd.choice([b"k", b"k", b"k", b"j"])
        r = rnd.random()
        if r < 0.06:
            one = other = [b"PEXPIRE", key, b"%d" % rnd.choice([5, 50])]
        elif r < 0.09:
            one = other = [b"PERSIST", key]
        elif r < 0.11:
            one = other = [b"DEL", key]
        elif r < 0.13:
            one = other = [b"SET", key, b"s"]
        else:
            one, other = forms(rnd, key)
        if rnd.random() < 0.1:
            now[0] += rnd.choice([1, 10, 100])
        a, b = fast.run(one), general.run(other)
        assert a == b, (step, one)
        assert repr([o.effects for o in fast.ops]) == repr([o.effects for o in general.ops]), (step, one)
    shipped = [o.effects[0][0] for o in fast.ops]
    assert len(set(shipped)) > 3  # writes, deletes and CREATE-marked recreations all ran
