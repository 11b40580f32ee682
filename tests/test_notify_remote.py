"""Keyspace events and tracking invalidations for ops that arrive from peers (in-process
replicas, tests/support/sim.py): an event fires when the op changes what this replica
shows, named after the effect (crdtredis/notify_remote.py; docs/semantics.md, "Pub/sub")."""
from __future__ import annotations

from typing import Any

import pytest

from tests.support.resp_client import NULL3, decode, reply_end
from tests.support.sim import Cluster, Replica


class Rec:
    """A connection stand-in that records what is pushed to its client."""

    def __init__(self) -> None:
        self.data = bytearray()

    def push(self, data: bytes) -> None:
        self.data += data

    def output_size(self) -> int:
        return 0

    def messages(self) -> list[Any]:
        out = []
        buf = bytes(self.data)
        pos = 0
        while pos < len(buf):
            end = reply_end(buf, pos)
            out.append(decode(buf[pos:end]))
            pos = end
        self.data.clear()
        return out


def listen(r: Replica, flags: str = "KEA") -> Rec:
    """A subscriber of every keyspace event on replica `r`."""
    r.run("CONFIG", "SET", "notify-keyspace-events", flags)
    c = r.node.new_client("sub", "sub", lambda: None)
    rec = Rec()
    c.conn = rec
    r.node.execute(c, [b"PSUBSCRIBE", b"__keyspace@0__:*"])
    rec.data.clear()
    return rec


def events(rec: Rec) -> list[tuple[bytes, bytes]]:
    """(key, event) of each keyspace message received."""
    return [(m[2].split(b":", 1)[1], m[3]) for m in rec.messages() if m[0] == b"pmessage"]


@pytest.fixture
def two() -> Cluster:
    return Cluster(2, seed=1)


def sync(c: Cluster) -> None:
    c.deliver_all()


def test_remote_writes_fire_the_events_of_their_effects(two: Cluster) -> None:
    rec = listen(two[1])
    two.run(0, "SET", "s", "1")
    two.run(0, "INCRBY", "s", "2")
    two.run(0, "INCRBYFLOAT", "s", "0.5")
    two.run(0, "RPUSH", "l", "a", "b")
    two.run(0, "LPUSH", "l", "z")
    two.run(0, "RPUSH", "l", "c")
    two.run(0, "LINSERT", "l", "BEFORE", "b", "x")
    two.run(0, "LPOP", "l")
    two.run(0, "RPOP", "l")
    two.run(0, "LSET", "l", "0", "q")
    two.run(0, "SADD", "st", "m")
    two.run(0, "SREM", "st", "m")
    two.run(0, "HSET", "h", "f", "1")
    two.run(0, "HINCRBY", "h", "f", "1")
    two.run(0, "HDEL", "h", "f")
    two.run(0, "ZADD", "z", "1", "a")
    two.run(0, "ZINCRBY", "z", "1", "a")
    two.run(0, "EXPIRE", "z", "100")
    two.run(0, "PERSIST", "z")
    two.run(0, "DEL", "z")
    sync(two)
    assert events(rec) == [
        (b"s", b"set"), (b"s", b"incrby"), (b"s", b"incrbyfloat"),
        (b"l", b"lpush"), (b"l", b"lpush"), (b"l", b"rpush"), (b"l", b"linsert"),
        (b"l", b"lpop"), (b"l", b"rpop"), (b"l", b"lset"),
        # Emptying a set or hash ships DEL (the key goes with its TTL): peers see "del".
        (b"st", b"sadd"), (b"st", b"del"),
        (b"h", b"hset"), (b"h", b"hincrby"), (b"h", b"del"),
        (b"z", b"zadd"), (b"z", b"zincr"), (b"z", b"expire"), (b"z", b"persist"), (b"z", b"del"),
    ]


def test_remote_write_that_changes_nothing_here_fires_nothing(two: Cluster) -> None:
    rec = listen(two[1])
    # Both replicas add the same member concurrently: the second add changes nothing shown.
    two.run(0, "SADD", "s", "m")
    two.run(1, "SADD", "s", "m")
    rec.messages()  # the local SADD's own event
    sync(two)
    assert events(rec) == []
    # A concurrent SET that loses the register here shows nothing new.
    two.run(0, "SET", "k", "old")
    two.run(1, "SET", "k", "new")  # later stamp: wins everywhere
    rec.messages()
    sync(two)
    assert two[1].run("GET", "k") == b"new"
    assert events(rec) == []


def test_remote_concurrent_set_fires_only_if_it_wins(two: Cluster) -> None:
    rec = listen(two[1])
    two[0].node.clock = lambda: 4_000_000_000_000  # replica 0's write gets the later stamp
    two.run(1, "SET", "k", "mine")
    two.run(0, "SET", "k", "theirs")
    rec.messages()
    sync(two)
    assert two[1].run("GET", "k") == b"theirs"
    assert events(rec) == [(b"k", b"set")]
    # A concurrent LPUSH of a key that is a string here: the type with the later write
    # is shown; the list lost, so nothing changed here.
    two.run(1, "SET", "t", "s")
    two[1].node.clock = lambda: 4_000_000_100_000
    two.run(1, "SET", "t", "s2")
    two.run(0, "LPUSH", "t", "x")
    rec.messages()
    sync(two)
    assert two[1].run("TYPE", "t") == b"string"
    assert events(rec) == []


def test_remote_new_event(two: Cluster) -> None:
    rec = listen(two[1], "KEAn")
    two.run(0, "SET", "a", "1")
    two.run(0, "SET", "a", "2")
    sync(two)
    assert events(rec) == [(b"a", b"new"), (b"a", b"set"), (b"a", b"set")]


def test_remote_events_skipped_without_subscribers(two: Cluster) -> None:
    two[1].run("CONFIG", "SET", "notify-keyspace-events", "KEA")
    n = two[1].node.notify
    assert n is not None
    two.run(0, "SET", "a", "1")
    op = two[1].inbox[0]
    assert n.before_remote(op) is None  # nobody listens: no look at the keys at all
    sync(two)


def test_remote_ops_invalidate_tracked_keys(two: Cluster) -> None:
    r1 = two[1]
    c = r1.node.new_client("t", "t", lambda: None)
    rec = Rec()
    c.conn = rec
    r1.node.execute(c, [b"HELLO", b"3"])
    r1.node.execute(c, [b"CLIENT", b"TRACKING", b"ON"])
    r1.node.execute(c, [b"GET", b"k"])
    rec.data.clear()
    two.run(0, "SET", "k", "v")
    sync(two)
    assert rec.messages() == [[b"invalidate", [b"k"]]]
    # Untracked now: a second write sends nothing until the key is read again.
    two.run(0, "SET", "k", "w")
    sync(two)
    assert rec.messages() == []
    # A replicated FLUSHALL invalidates everything with a null key list.
    r1.node.execute(c, [b"GET", b"k"])
    rec.data.clear()
    two.run(0, "FLUSHALL")
    sync(two)
    assert rec.messages() == [[b"invalidate", NULL3]]
