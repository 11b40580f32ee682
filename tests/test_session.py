"""The session features through the real connection code (RedisProtocol on a fake
transport) and an in-process node: pub/sub delivery and subscribed mode, RESP3 push
ordering, CLIENT REPLY, MONITOR, tracking, CLIENT PAUSE/UNBLOCK, CLIENT KILL/LIST fields,
and the output buffer limits. Byte-level agreement with Redis for the same commands is
checked against real Redis by its own TCL units (tests/test_redis_tcl.py)."""
from __future__ import annotations

import asyncio
import dataclasses
from typing import Any, cast

import pytest

from crdtredis.commands import new_node
from crdtredis.config import default_config
from crdtredis.node import Node
from crdtredis.protocol.connection import RedisProtocol
from crdtredis.protocol.resp import encode_command
from tests.support.resp_client import NULL3, decode, reply_end
from tests.test_connection import FakeTransport, until


class Conn:
    """One client connection of the node: send commands, read what was written to it."""

    def __init__(self, node: Node, port: int) -> None:
        self.proto = RedisProtocol(node)
        self.t = FakeTransport(peer=("127.0.0.1", port))
        self.t.protocol = self.proto
        self.proto.connection_made(cast(asyncio.Transport, self.t))
        self.client = self.proto._client
        self.seen = 0

    def send(self, *argv: Any) -> None:
        self.proto.data_received(encode_command(list(argv)))

    def raw_now(self) -> bytes:
        """Bytes written since the last read."""
        out = self.t.output
        new, self.seen = out[self.seen:], len(out)
        return new

    async def raw(self) -> bytes:
        """Bytes written since the last read, once the loop turn's pushes are flushed."""
        await tick()
        return self.raw_now()

    async def replies(self) -> list[Any]:
        return parse(await self.raw())

    def call(self, *argv: Any) -> Any:
        """One command and its reply. Calls follow each other within one loop turn, where
        the reply of a read-only batch after the turn's first waits for the end of the
        turn (protocol/turn.py): `flush_turn` is that end, for this connection."""
        self.send(*argv)
        self.proto.flush_turn()
        r = parse(self.raw_now())
        assert len(r) == 1, r
        return r[0]


def parse(buf: bytes) -> list[Any]:
    out, pos = [], 0
    while pos < len(buf):
        end = reply_end(buf, pos)
        out.append(decode(buf[pos:end]))
        pos = end
    return out


async def tick() -> None:
    """Let the loop run its pending callbacks (pushes are flushed once per turn)."""
    for _ in range(3):
        await asyncio.sleep(0)


@pytest.fixture
def node() -> Node:
    return new_node(dataclasses.replace(default_config(), replica_id="s"))


def conn(node: Node, port: int = 40000) -> Conn:
    return Conn(node, port)


# ---- pub/sub -----------------------------------------------------------------------------
async def test_subscribe_publish_and_resp2_subscribed_mode(node: Node) -> None:
    sub, pub = conn(node, 1), conn(node, 2)
    sub.send("SUBSCRIBE", "a", "b")
    assert await sub.replies() == [[b"subscribe", b"a", 1], [b"subscribe", b"b", 2]]
    assert pub.call("PUBLISH", "a", "hi") == 1
    assert await sub.replies() == [[b"message", b"a", b"hi"]]
    sub.send("GET", "x")
    assert (await sub.replies())[0].startswith(b"ERR Can't execute 'get': only (P|S)SUBSCRIBE")
    assert sub.call("PING") == [b"pong", b""]
    sub.send("UNSUBSCRIBE")
    assert sorted(await sub.replies()) == [[b"unsubscribe", b"a", 1], [b"unsubscribe", b"b", 0]]
    assert sub.call("PING") == b"PONG"
    assert pub.call("PUBLISH", "a", "hi") == 0


async def test_resp3_push_goes_before_the_reply_of_the_running_command(node: Node) -> None:
    c = conn(node)
    c.call("HELLO", "3")
    c.send("SUBSCRIBE", "me")
    await c.replies()
    # Redis adds the message to the publisher's output during the command: before its reply.
    c.send("PUBLISH", "me", "x")
    assert await c.raw() == b">3\r\n$7\r\nmessage\r\n$2\r\nme\r\n$1\r\nx\r\n:1\r\n"
    assert c.call("GET", "k") is NULL3  # any command runs in RESP3 pub/sub mode


async def test_push_waits_behind_replies_not_yet_written(node: Node) -> None:
    """A message for a client whose replies wait for the op log (batch_done) goes out
    after them, never before."""
    sub, pub = conn(node, 1), conn(node, 2)
    sub.call("HELLO", "3")
    sub.send("SUBSCRIBE", "c")
    await sub.replies()
    gate: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    node.batch_hooks.append(lambda: gate if not gate.done() else None)
    sub.send("SET", "k", "v")  # its +OK waits for the gate
    pub.proto._server.batch_hooks.clear()
    pub.call("PUBLISH", "c", "m")
    assert await sub.raw() == b""
    gate.set_result(None)
    await until(lambda: sub.t.output.endswith(b"m\r\n"))
    assert await sub.raw() == b"+OK\r\n>3\r\n$7\r\nmessage\r\n$1\r\nc\r\n$1\r\nm\r\n"


async def test_client_reply_off_skip_on(node: Node) -> None:
    c = conn(node)
    c.send("CLIENT", "REPLY", "OFF")
    c.send("PING")
    assert await c.raw() == b""
    c.send("SUBSCRIBE", "x")  # confirmations are pushes: sent even with replies off
    assert await c.replies() == [[b"subscribe", b"x", 1]]
    c.send("UNSUBSCRIBE")
    await c.replies()
    assert c.call("CLIENT", "REPLY", "ON") == b"OK"
    c.send("CLIENT", "REPLY", "SKIP")
    c.send("PING", "skipped")
    c.send("PING", "seen")
    assert await c.replies() == [b"seen"]
    c.send("CLIENT", "REPLY", "SKIP")
    assert c.call("CLIENT", "REPLY", "ON") == b"OK"  # ON also clears a pending SKIP


# ---- MONITOR -------------------------------------------------------------------------------
async def test_monitor_lines_multi_exec_order_and_own_commands(node: Node) -> None:
    m, c = conn(node, 1), conn(node, 2)
    assert m.call("MONITOR") == b"OK"
    c.call("SET", "k", 'a"b')
    c.call("MULTI")
    c.call("INCR", "n")
    c.call("EXEC")
    c.call("CLIENT", "LIST")  # admin: never shown
    lines = [x.split(b"] ", 1)[1] for x in await m.replies()]
    assert lines == [b'"SET" "k" "a\\"b"', b'"MULTI"', b'"INCR" "n"', b'"EXEC"']
    assert m.call("GET", "k").startswith(b"ERR Replica can't interact with the keyspace")
    m.send("PING")
    out = await m.replies()
    assert out[0] == b"PONG" and out[1].endswith(b'"PING"')  # its own line after its reply
    assert m.call("RESET") == b"RESET"
    c.call("PING")
    assert await m.raw() == b""


# ---- tracking ------------------------------------------------------------------------------
async def test_tracking_default_mode_resp3_after_reply(node: Node) -> None:
    c, w = conn(node, 1), conn(node, 2)
    c.call("HELLO", "3")
    assert c.call("CLIENT", "TRACKING", "ON") == b"OK"
    c.call("GET", "k")
    w.call("SET", "k", "1")
    assert await c.replies() == [[b"invalidate", [b"k"]]]
    c.call("GET", "k")
    c.send("SET", "k", "2")  # its own write: the invalidation follows the +OK
    assert await c.raw() == b"+OK\r\n>2\r\n$10\r\ninvalidate\r\n*1\r\n$1\r\nk\r\n"


async def test_tracking_redirect_to_resp2_subscriber_and_broken_redirect(node: Node) -> None:
    c, r, w = conn(node, 1), conn(node, 2), conn(node, 3)
    rid = r.call("CLIENT", "ID")
    r.call("SUBSCRIBE", "__redis__:invalidate")
    c.call("CLIENT", "TRACKING", "ON", "REDIRECT", rid)
    c.call("MGET", "a", "b")
    w.call("MSET", "a", "1", "b", "2")
    assert sorted(await r.replies()) == [[b"message", b"__redis__:invalidate", [b"a"]],
                                   [b"message", b"__redis__:invalidate", [b"b"]]]
    assert c.call("CLIENT", "GETREDIR") == rid
    c.call("HELLO", "3")
    c.call("GET", "a")
    r.proto.connection_lost(None)
    w.call("SET", "a", "3")
    assert await c.replies() == [[b"tracking-redir-broken", rid]]
    info = dict(c.call("CLIENT", "TRACKINGINFO"))
    assert set(info[b"flags"]) == {b"on", b"broken_redirect"}


async def test_tracking_bcast_prefixes_noloop_and_batching(node: Node) -> None:
    c, w = conn(node, 1), conn(node, 2)
    c.call("HELLO", "3")
    c.call("CLIENT", "TRACKING", "ON", "BCAST", "PREFIX", "a:", "PREFIX", "b:", "NOLOOP")
    assert c.call("CLIENT", "TRACKING", "ON", "BCAST", "PREFIX", "a").startswith(b"ERR Prefix 'a'")
    w.call("MSET", "a:1", "x", "b:1", "y", "c:1", "z")
    c.call("SET", "a:own", "1")  # NOLOOP: not reported back
    await asyncio.sleep(0)
    got = sorted(await c.replies())
    assert got == [[b"invalidate", [b"a:1"]], [b"invalidate", [b"b:1"]]]


async def test_tracking_optin_optout_and_flush(node: Node) -> None:
    c, w = conn(node, 1), conn(node, 2)
    c.call("HELLO", "3")
    c.call("CLIENT", "TRACKING", "ON", "OPTIN")
    c.call("GET", "x")  # not cached: OPTIN without CACHING YES
    c.call("CLIENT", "CACHING", "YES")
    c.call("GET", "y")
    w.call("MSET", "x", "1", "y", "1")
    assert await c.replies() == [[b"invalidate", [b"y"]]]
    assert c.call("CLIENT", "CACHING", "NO").startswith(b"ERR CLIENT CACHING NO is only valid")
    c.call("GET", "y")
    w.call("FLUSHDB")
    assert await c.replies() == [[b"invalidate", NULL3]]  # everything is invalid


async def test_tracking_table_limit_evicts_with_invalidations(node: Node) -> None:
    c, w = conn(node, 1), conn(node, 2)
    c.call("HELLO", "3")
    c.call("CLIENT", "TRACKING", "ON")
    for i in range(150):
        c.call("GET", f"k{i}")
    w.call("CONFIG", "SET", "tracking-table-max-keys", "1")
    await until(lambda: len(node.tracking.table) <= 1)
    assert len(await c.replies()) == 149
    assert node.tracking.items == 1


# ---- CLIENT PAUSE / UNBLOCK / KILL / LIST ------------------------------------------------
async def test_client_pause_write_parks_writes_in_order(node: Node) -> None:
    admin, a, b = conn(node, 1), conn(node, 2), conn(node, 3)
    admin.call("CLIENT", "PAUSE", "100000", "WRITE")
    a.send("SET", "k", "1")
    b.send("GET", "k")
    assert await b.replies() == [None]  # reads go on
    b.send("INCR", "n")
    assert await a.raw() == b"" and await b.raw() == b""
    assert node.clients[a.client.id].blocked
    admin.call("CLIENT", "UNPAUSE")
    await until(lambda: a.t.output != b"" and b.t.output.endswith(b":1\r\n"))
    assert await a.replies() == [b"OK"] and await b.replies() == [1]


async def test_client_pause_hides_expired_keys_without_deleting(node: Node) -> None:
    now = [1_000_000]
    node.clock = lambda: now[0]
    admin = conn(node)
    admin.call("SET", "k", "v", "PX", "1")
    now[0] += 10
    before = node.expired_keys
    admin.call("CLIENT", "PAUSE", "100000", "WRITE")
    assert admin.call("GET", "k") is None and node.expired_keys == before
    admin.call("CLIENT", "UNPAUSE")
    admin.call("GET", "k")
    assert node.expired_keys == before + 1


async def test_client_unblock_timeout_and_error(node: Node) -> None:
    admin, a = conn(node, 1), conn(node, 2)
    a.send("BLPOP", "q", "0")
    assert admin.call("CLIENT", "UNBLOCK", a.client.id) == 1
    await until(lambda: a.t.output != b"")
    assert await a.raw() == b"*-1\r\n"
    a.send("BLPOP", "q", "0")
    assert admin.call("CLIENT", "UNBLOCK", a.client.id, "ERROR") == 1
    await until(lambda: a.t.output[a.seen:] != b"")
    assert await a.raw() == b"-UNBLOCKED client unblocked via CLIENT UNBLOCK\r\n"
    assert admin.call("CLIENT", "UNBLOCK", a.client.id) == 0


async def test_client_list_fields_and_kill_type_pubsub(node: Node) -> None:
    s, c = conn(node, 1), conn(node, 2)
    s.send("SUBSCRIBE", "a")
    s.send("PSUBSCRIBE", "p*")
    s.send("SSUBSCRIBE", "sh")
    await s.replies()
    text = c.call("CLIENT", "LIST")
    line = [x for x in text.split(b"\n") if x.startswith(b"id=%d " % s.client.id)][0]
    assert b" flags=P " in line and b" sub=1 psub=1 ssub=1 " in line
    mine = c.call("CLIENT", "INFO")
    assert b" qbuf=26 " in mine and b" multi=-1 " in mine and b" omem=0 " in mine
    assert c.call("CLIENT", "KILL", "TYPE", "pubsub") == 1
    assert s.t.closed


# ---- output buffer limits -------------------------------------------------------------------
async def test_pubsub_hard_limit_disconnects_and_is_counted(node: Node) -> None:
    sub, pub = conn(node, 1), conn(node, 2)
    sub.call("SUBSCRIBE", "c")
    pub.call("CONFIG", "SET", "client-output-buffer-limit", "pubsub 1000 0 0")
    sub.t.buffered = 5000  # the subscriber stopped reading: its socket buffer is full
    pub.call("PUBLISH", "c", "x")
    await tick()  # the message is written at the end of the loop turn: over the limit
    assert sub.t.aborted
    info = pub.call("INFO", "stats")
    assert b"client_output_buffer_limit_disconnections:1" in info
    await until(lambda: not node.pubsub.channels)  # gone from the channel


async def test_soft_limit_needs_its_seconds(node: Node) -> None:
    sub, pub = conn(node, 1), conn(node, 2)
    sub.call("SUBSCRIBE", "c")
    pub.call("CONFIG", "SET", "client-output-buffer-limit", "pubsub 0 1000 1")
    sub.t.buffered = 5000
    pub.call("PUBLISH", "c", "x")
    await tick()
    assert not sub.t.aborted  # over the soft limit, but not for a second yet
    sub.proto._soft_since -= 2.0
    pub.call("PUBLISH", "c", "x")
    await tick()
    assert sub.t.aborted


async def test_normal_class_is_unlimited_by_default_but_limits_apply(node: Node) -> None:
    c = conn(node)
    c.t.buffered = 10 << 20
    c.call("PING")
    assert not c.t.aborted
    c.call("CONFIG", "SET", "client-output-buffer-limit", "normal 1mb 0 0")
    c.send("PING")
    assert c.t.aborted


async def test_a_flooding_client_yields_to_the_others_each_loop_turn(node: Node) -> None:
    from crdtredis.protocol.connection import FAIR_SHARE

    c = conn(node)
    big = encode_command([b"PUBLISH", b"none", b"x" * (FAIR_SHARE // 2)])
    c.proto.data_received(big)
    assert c.t.reading
    c.proto.data_received(big)  # the turn's share is used up: reading pauses
    assert not c.t.reading
    await tick()
    assert c.t.reading  # the next turn reads again
    assert await c.replies() == [0, 0]
