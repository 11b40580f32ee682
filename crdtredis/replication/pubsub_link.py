"""Pub/sub across replicas: PUBLISH/SPUBLISH messages ride the peer link, but are not ops.

A message published here gets an id: (stream, counter), where the stream names this
process run of this replica (its origin plus a nonce drawn at start-up, so a restart
starts a new stream) and the counter counts its messages from 1. It is delivered to the
local subscribers at once and queued for every peer whose link is up, each peer with its
own bounded queue and one sender task (one HTTP POST /repl/publish at a time, so a link
keeps the publisher's order). Nothing is written to the op log; nothing is replayed.

Relaying over a partial mesh: each message carries the replica ids it was already sent to
("visited": the sender, plus every peer the sender queued it for). A receiver delivers it
to its subscribers and forwards it only to its own peers not in that set, adding them.
In a full mesh nothing is forwarded; in a chain A-B-C, B forwards A's messages to C.

Exactly once, in order, at most once across failures: per stream a receiver remembers the
highest counter it delivered and drops anything not above it (a copy that arrives on a
second path, or an older message overtaken by a newer one on another path). A message
for a peer whose link is down, whose queue is full, or whose POST fails, is dropped for
that peer (counted in INFO). docs/semantics.md, "Pub/sub", has the timeline.
"""
from __future__ import annotations

import asyncio
import logging
import secrets
from collections import OrderedDict, deque
from typing import TYPE_CHECKING, Any

from aiohttp import web

from ..wire.fastenc import varint

if TYPE_CHECKING:
    from .peer import Peer
    from .service import Replication

log = logging.getLogger("crdtredis.replication.pubsub")

ROUTE = "/repl/publish"
MAGIC = b"PSB1"
# Per peer: messages waiting to be sent, and the bytes one POST may carry.
QUEUE_MAX = 100_000
BATCH_BYTES = 1 << 20
# Streams whose last counter a receiver remembers (least recently seen forgotten first).
STREAMS_MAX = 4096


class Msg:
    __slots__ = ("stream", "counter", "shard", "channel", "message", "visited", "_wire")

    def __init__(self, stream: str, counter: int, shard: bool, channel: bytes, message: bytes,
                 visited: frozenset[str]) -> None:
        self.stream = stream
        self.counter = counter
        self.shard = shard
        self.channel = channel
        self.message = message
        self.visited = visited
        self._wire: bytes | None = None

    def wire(self) -> bytes:
        w = self._wire
        if w is None:
            parts = [_str(self.stream), varint(self.counter), b"\x01" if self.shard else b"\x00",
                     _bytes(self.channel), _bytes(self.message), varint(len(self.visited))]
            parts += [_str(v) for v in sorted(self.visited)]
            w = self._wire = b"".join(parts)
        return w


# ---- encoding: varint-prefixed fields (varints: the op encoder's) --------------------------
def _bytes(b: bytes) -> bytes:
    return varint(len(b)) + b


def _str(s: str) -> bytes:
    return _bytes(s.encode())


class DecodeError(ValueError):
    pass


class _Reader:
    __slots__ = ("buf", "pos")

    def __init__(self, buf: bytes) -> None:
        self.buf = buf
        self.pos = 0

    def varint(self) -> int:
        n = shift = 0
        buf = self.buf
        while True:
            if self.pos >= len(buf) or shift > 63:
                raise DecodeError("truncated or oversized varint")
            b = buf[self.pos]
            self.pos += 1
            n |= (b & 0x7F) << shift
            if not b & 0x80:
                return n
            shift += 7

    def bytes(self) -> bytes:
        n = self.varint()
        end = self.pos + n
        if end > len(self.buf):
            raise DecodeError("field runs past the end")
        b = self.buf[self.pos:end]
        self.pos = end
        return b

    def str(self) -> str:
        try:
            return self.bytes().decode()
        except UnicodeDecodeError:
            raise DecodeError("bad name") from None


def encode_batch(sender: str, msgs: list[Msg]) -> bytes:
    return b"".join([MAGIC, _str(sender), varint(len(msgs)), *[m.wire() for m in msgs]])


def decode_batch(body: bytes) -> tuple[str, list[Msg]]:
    if body[:4] != MAGIC:
        raise DecodeError("not a pub/sub batch")
    r = _Reader(body)
    r.pos = 4
    sender = r.str()
    n = r.varint()
    msgs: list[Msg] = []
    for _ in range(n):
        stream = r.str()
        counter = r.varint()
        if r.pos >= len(body):
            raise DecodeError("truncated")
        shard = body[r.pos] == 1
        r.pos += 1
        channel = r.bytes()
        message = r.bytes()
        nv = r.varint()
        if nv > 10_000:
            raise DecodeError("too many visited replicas")
        visited = frozenset(r.str() for _ in range(nv))
        msgs.append(Msg(stream, counter, shard, channel, message, visited))
    if r.pos != len(body):
        raise DecodeError("trailing bytes")
    return sender, msgs


# ---- the link ------------------------------------------------------------------------------
class _Sender:
    """One peer's queue and the task that posts it, FIFO."""

    def __init__(self, link: PubsubLink, peer: Peer) -> None:
        self.link = link
        self.peer = peer
        self.queue: deque[Msg] = deque()
        self.wake = asyncio.Event()
        self.sent = 0
        self.dropped = 0
        self.task: asyncio.Task[None] | None = None

    def offer(self, msg: Msg) -> None:
        if len(self.queue) >= QUEUE_MAX:
            self.dropped += 1
            self.link.dropped += 1
            return
        self.queue.append(msg)
        self.wake.set()

    def drop_all(self) -> None:
        n = len(self.queue)
        self.queue.clear()
        self.dropped += n
        self.link.dropped += n

    async def run(self) -> None:
        link = self.link
        repl = link.repl
        while True:
            await self.wake.wait()
            self.wake.clear()
            while self.queue:
                if not link.link_up(self.peer):
                    self.drop_all()  # the other side is unreachable: at-most-once
                    break
                batch: list[Msg] = []
                size = 0
                while self.queue and size < BATCH_BYTES:
                    m = self.queue.popleft()
                    batch.append(m)
                    size += len(m.wire())
                body = encode_batch(link.replica_id, batch)
                try:
                    assert repl.session is not None and self.peer.url is not None
                    # Sent as application/x-protobuf like every peer POST (http_guard.py), though
                    # the body is this module's own encoding.
                    async with repl.session.post(self.peer.url + ROUTE, data=body, headers=repl._headers()) as r:
                        await r.read()
                        if r.status != 204:
                            raise RuntimeError(f"HTTP {r.status}")
                    self.sent += len(batch)
                    link.sent += len(batch)
                except asyncio.CancelledError:
                    raise
                except Exception as e:  # noqa: BLE001 - a bad peer never stops the sender
                    self.dropped += len(batch)
                    link.dropped += len(batch)
                    log.debug("pub/sub batch to %s lost: %s", self.peer.url, e)
                    self.drop_all()
                    # The replication loops notice the failure too and mark the peer down.
                    await asyncio.sleep(min(repl.config.retry_interval, 1.0))

    def info(self) -> dict[str, Any]:
        return {"url": self.peer.url, "queued": len(self.queue), "sent": self.sent, "dropped": self.dropped}


class PubsubLink:
    """The node's side of cross-replica pub/sub (see the module docstring)."""

    def __init__(self, repl: Replication) -> None:
        self.repl = repl
        node = repl.node
        self.replica_id = node.replica_id
        # This process run's stream: a restart never reuses counters.
        self.stream = f"{node.origin}/{secrets.token_hex(4)}"
        self.counter = 0
        self.last: OrderedDict[str, int] = OrderedDict()
        self.senders: dict[str, _Sender] = {}
        self.published = 0
        self.sent = 0
        self.received = 0
        self.duplicates = 0
        self.relayed = 0
        self.dropped = 0
        self.bad_batches = 0
        self._started = False
        if repl.config.peers:
            node.pubsub.link = self.publish

    # ---- lifecycle ---------------------------------------------------------------------
    def add_routes(self, app: web.Application) -> None:
        app.router.add_post(ROUTE, self.handle)

    def start(self) -> None:
        self._started = True

    async def stop(self) -> None:
        self._started = False
        for s in self.senders.values():
            if s.task is not None:
                s.task.cancel()
        for s in self.senders.values():
            if s.task is not None:
                try:
                    await s.task
                except (asyncio.CancelledError, Exception):  # noqa: BLE001 - shutting down
                    pass

    # ---- sending -----------------------------------------------------------------------
    def link_up(self, peer: Peer) -> bool:
        # A peer that answers but is still joining (it refused our ops until it has synced,
        # peer.py `refused`), or that we are fetching a snapshot from, is reachable: pub/sub
        # messages are not data, and its POST /repl/publish takes them. Treating it as down
        # dropped messages for it while the cluster formed, and the copies relayed through a
        # third replica could then be overtaken by direct ones and lost.
        return not peer.forgotten and not peer.unreachable and self.repl.session is not None

    def publish(self, channel: bytes, message: bytes, shard: bool) -> None:
        """PUBLISH/SPUBLISH at this replica (already delivered locally)."""
        self.counter += 1
        self.published += 1
        self._fanout(Msg(self.stream, self.counter, shard, channel, message, frozenset()))

    def _fanout(self, msg: Msg) -> int:
        """Queue `msg` for every peer not in its visited set; returns how many."""
        if not self._started:
            return 0
        targets: list[_Sender] = []
        visited = set(msg.visited)
        visited.add(self.replica_id)
        for peer in list(self.repl.peers.values()):
            if peer.url is None or (peer.replica_id and peer.replica_id in msg.visited):
                continue
            if not self.link_up(peer):
                self.dropped += 1
                continue
            s = self.senders.get(peer.url)
            if s is None:
                s = self.senders[peer.url] = _Sender(self, peer)
                s.task = asyncio.get_running_loop().create_task(s.run(), name=f"pubsub {peer.url}")
            targets.append(s)
            if peer.replica_id:
                visited.add(peer.replica_id)
        if targets:
            out = Msg(msg.stream, msg.counter, msg.shard, msg.channel, msg.message, frozenset(visited))
            for s in targets:
                s.offer(out)
        return len(targets)

    # ---- receiving ---------------------------------------------------------------------
    async def handle(self, request: web.Request) -> web.Response:
        body, bad = await self.repl.read_peer_body(request)
        if bad is not None:
            return bad
        try:
            _sender, msgs = decode_batch(body)
        except DecodeError as e:
            self.bad_batches += 1
            return web.Response(status=400, text=f"bad pub/sub batch: {e}\n")
        self.receive(msgs)
        return web.Response(status=204)

    def receive(self, msgs: list[Msg]) -> None:
        pubsub = self.repl.node.pubsub
        last = self.last
        for m in msgs:
            self.received += 1
            seen = last.get(m.stream, 0)
            if m.counter <= seen:
                self.duplicates += 1
                continue
            last[m.stream] = m.counter
            last.move_to_end(m.stream)
            if len(last) > STREAMS_MAX:
                last.popitem(last=False)
            pubsub.deliver(m.channel, m.message, m.shard)
            self.relayed += self._fanout(m)

    # ---- introspection -----------------------------------------------------------------
    def info_items(self) -> list[tuple[str, Any]]:
        items: list[tuple[str, Any]] = [
            ("crdt_pubsub_published", self.published),
            ("crdt_pubsub_sent", self.sent),
            ("crdt_pubsub_received", self.received),
            ("crdt_pubsub_duplicates", self.duplicates),
            ("crdt_pubsub_relayed", self.relayed),
            ("crdt_pubsub_dropped", self.dropped),
        ]
        for i, s in enumerate(self.senders.values()):
            d = s.info()
            items.append((f"pubsub_peer{i}", f"url={d['url']},queued={d['queued']},sent={d['sent']},dropped={d['dropped']}"))
        return items


def _info(node: Any) -> list[tuple[str, Any]]:
    repl = node.replication
    link = getattr(repl, "pubsub_link", None) if repl is not None else None
    return link.info_items() if link is not None else []


def _register_info() -> None:
    from ..info import register_info_provider

    register_info_provider("replication", _info)


_register_info()

__all__ = ["PubsubLink", "Msg", "encode_batch", "decode_batch", "ROUTE"]
