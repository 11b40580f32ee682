"""Who listens to what, and delivery to the listeners of this replica (Redis pubsub.c).

One `PubSub` per node holds three tables, each name -> subscribers in subscription order:
channels (SUBSCRIBE), patterns (PSUBSCRIBE, with their compiled matcher) and shard
channels (SSUBSCRIBE). A client keeps the names it is subscribed to (`Client.subs`,
`psubs`, `ssubs`) so that unsubscribing everything is proportional to its own
subscriptions, as in Redis.

`deliver` sends one message to the local listeners and returns how many got it: channel
subscribers first, then every matching pattern's subscribers (a client subscribed both
ways gets it twice, like Redis). Shard channels ignore patterns. The wire form of a
message is built once per protocol version and handed to each connection as bytes.

`publish` is what PUBLISH/SPUBLISH call: local delivery, then the message goes to the
cross-replica link (`link`, installed by crdtredis/replication/pubsub_link.py when the
node has peers). Messages that arrive from peers come in through `deliver` only.
Keyspace notifications and RESP2 tracking invalidations use `deliver` too: they are
events of this replica and never cross the link.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from ..glob import compile_pattern

if TYPE_CHECKING:
    from ..client import Client

Subscribers = dict["Client", None]
# (channel, message, shard) -> None: the cross-replica link's entry point.
Link = Callable[[bytes, bytes, bool], None]

_MESSAGE = b"$7\r\nmessage\r\n"
_SMESSAGE = b"$8\r\nsmessage\r\n"


def _bulk(b: bytes) -> bytes:
    return b"$%d\r\n%s\r\n" % (len(b), b)


class PubSub:
    __slots__ = ("channels", "patterns", "shard", "link", "published", "delivered")

    def __init__(self) -> None:
        self.channels: dict[bytes, Subscribers] = {}
        # pattern -> (matcher, subscribers)
        self.patterns: dict[bytes, tuple[Callable[[bytes], bool], Subscribers]] = {}
        self.shard: dict[bytes, Subscribers] = {}
        self.link: Link | None = None
        # Messages published at this replica, and messages handed to local clients.
        self.published = 0
        self.delivered = 0

    # ---- subscriptions -------------------------------------------------------------
    def subscribe(self, client: Client, channel: bytes) -> bool:
        """True when the client was not subscribed to `channel` yet."""
        return _add(self.channels, client.subs, client, channel)

    def unsubscribe(self, client: Client, channel: bytes) -> bool:
        return _remove(self.channels, client.subs, client, channel)

    def ssubscribe(self, client: Client, channel: bytes) -> bool:
        return _add(self.shard, client.ssubs, client, channel)

    def sunsubscribe(self, client: Client, channel: bytes) -> bool:
        return _remove(self.shard, client.ssubs, client, channel)

    def psubscribe(self, client: Client, pattern: bytes) -> bool:
        if pattern in client.psubs:
            return False
        client.psubs[pattern] = None
        entry = self.patterns.get(pattern)
        if entry is None:
            entry = self.patterns[pattern] = (compile_pattern(pattern), {})
        entry[1][client] = None
        return True

    def punsubscribe(self, client: Client, pattern: bytes) -> bool:
        if pattern not in client.psubs:
            return False
        del client.psubs[pattern]
        entry = self.patterns.get(pattern)
        if entry is not None:
            entry[1].pop(client, None)
            if not entry[1]:
                del self.patterns[pattern]
        return True

    def drop_client(self, client: Client) -> None:
        """Forget every subscription of a client that went away (or RESET)."""
        for ch in list(client.subs):
            self.unsubscribe(client, ch)
        for ch in list(client.ssubs):
            self.sunsubscribe(client, ch)
        for pat in list(client.psubs):
            self.punsubscribe(client, pat)

    # ---- messages ------------------------------------------------------------------
    def publish(self, channel: bytes, message: bytes, shard: bool = False) -> int:
        """PUBLISH / SPUBLISH at this replica: deliver here, then send to the peers.
        Returns the number of local receivers (what Redis answers)."""
        self.published += 1
        n = self.deliver(channel, message, shard)
        link = self.link
        if link is not None:
            link(channel, message, shard)
        return n

    def deliver(self, channel: bytes, message: bytes, shard: bool = False) -> int:
        """Send a message to this replica's subscribers; returns how many got it."""
        receivers = 0
        subs = (self.shard if shard else self.channels).get(channel)
        if subs:
            # The frame is built once per protocol version; pushes only append to each
            # connection's pending output (written at the end of the loop turn), so the
            # subscriber table cannot change under this loop.
            body = b"%s$%d\r\n%s\r\n$%d\r\n%s\r\n" % (
                _SMESSAGE if shard else _MESSAGE, len(channel), channel, len(message), message)
            w2 = w3 = b""
            for c in subs:
                conn = c.conn
                if conn is not None:
                    if c.resp == 2:
                        if not w2:
                            w2 = b"*3\r\n" + body
                        conn.push(w2)
                    else:
                        if not w3:
                            w3 = b">3\r\n" + body
                        conn.push(w3)
            receivers = len(subs)
        if not shard and self.patterns:
            for pattern, (match, psubs) in list(self.patterns.items()):
                if not match(channel):
                    continue
                wire = _Wire(_bulk(b"pmessage") + _bulk(pattern) + _bulk(channel) + _bulk(message), 4)
                for c in list(psubs):
                    c.push(wire.get(c.resp))
                    receivers += 1
        self.delivered += receivers
        return receivers

    def has_listeners(self, channel: bytes) -> bool:
        """Could a message on `channel` reach anyone here (keyspace events skip the work)."""
        if channel in self.channels:
            return True
        for match, _subs in self.patterns.values():
            if match(channel):
                return True
        return False

    # ---- introspection -------------------------------------------------------------
    def numsub(self, channel: bytes, shard: bool = False) -> int:
        subs = (self.shard if shard else self.channels).get(channel)
        return len(subs) if subs else 0


class _Wire:
    """A message's frames for RESP2 (`*n`) and RESP3 (`>n`), built once each."""

    __slots__ = ("body", "n", "resp2", "resp3")

    def __init__(self, body: bytes, n: int) -> None:
        self.body = body
        self.n = n
        self.resp2: bytes | None = None
        self.resp3: bytes | None = None

    def get(self, resp: int) -> bytes:
        if resp == 2:
            w = self.resp2
            if w is None:
                w = self.resp2 = b"*%d\r\n%s" % (self.n, self.body)
            return w
        w = self.resp3
        if w is None:
            w = self.resp3 = b">%d\r\n%s" % (self.n, self.body)
        return w


def message_frame(resp: int, items: list[bytes]) -> bytes:
    """One pub/sub-shaped frame of bulk strings (RESP2 array, RESP3 push)."""
    head = b"*%d\r\n" % len(items) if resp == 2 else b">%d\r\n" % len(items)
    return head + b"".join(_bulk(i) for i in items)


def _add(table: dict[bytes, Subscribers], mine: dict[bytes, None], client: Client, channel: bytes) -> bool:
    if channel in mine:
        return False
    mine[channel] = None
    subs = table.get(channel)
    if subs is None:
        subs = table[channel] = {}
    subs[client] = None
    return True


def _remove(table: dict[bytes, Subscribers], mine: dict[bytes, None], client: Client, channel: bytes) -> bool:
    if channel not in mine:
        return False
    del mine[channel]
    subs = table.get(channel)
    if subs is not None:
        subs.pop(client, None)
        if not subs:
            del table[channel]
    return True


__all__ = ["PubSub", "message_frame"]
