"""MEMORY USAGE (commands/memory_cmd.py): an estimate that grows with the value, for every
type, with Redis's SAMPLES handling."""
from __future__ import annotations

from crdtredis.commands.memory_cmd import deep_size
from crdtredis.reply import ErrorReply
from tests.support.sim import Replica


def test_memory_usage_grows_with_the_value_for_every_type() -> None:
    r = Replica("m")
    r.node.set_solo(True)
    r.run("SET", "s", "x" * 1000)
    r.run("RPUSH", "l", *[f"e{i}" for i in range(1000)])
    r.run("SADD", "set", *[f"m{i}" for i in range(1000)])
    r.run("HSET", "h", *[x for i in range(500) for x in (f"f{i}", "v")])
    r.run("ZADD", "z", *[x for i in range(500) for x in (str(i), f"m{i}")])
    for i in range(1000):
        r.run("XADD", "st", "*", "field", f"value{i}")
    r.run("XADD", "small", "*", "field", "v")
    assert r.run("MEMORY", "USAGE", "s") > 1000
    for key in ("l", "set", "h", "z", "st"):
        full = r.run("MEMORY", "USAGE", key, "SAMPLES", "0")
        sampled = r.run("MEMORY", "USAGE", key)
        assert full > 5000 and 0.3 * full < sampled < 3 * full, (key, full, sampled)
    assert r.run("MEMORY", "USAGE", "st") > 10 * r.run("MEMORY", "USAGE", "small")
    assert r.run("MEMORY", "USAGE", "nokey") is None
    assert r.run("MEMORY", "USAGE", "s", "SAMPLES", "-1") == ErrorReply("ERR syntax error")


def test_deep_size_counts_nested_containers_once_per_element() -> None:
    small = deep_size([b"a"], 5)
    assert deep_size([b"a"] * 100, 5) > 50 * (small - deep_size([], 5))
    assert deep_size({"k": [b"x" * 100]}, 5) > 100
