"""Pushes over one long-lived WebSocket per peer (`GET /repl/stream`), acks coming back on it.

The pusher opens the stream and sends binary messages, each one `OpBatch` (version 2):
the same head every batch carries (vectors, durable vectors, member gossip, cluster status;
Replication.state_batch) followed by the ops' encoded records exactly as the op log wrote
them (backlog.py: encoded once, never per peer). The first message carries no ops (hello):
its ack tells the pusher where the peer stands. The receiver applies each batch whole or
not at all (inbox.py) and answers every batch with its own head (the ack), in order.

Batches are sized by what is pending, not by a timer: a new batch leaves as soon as the
op log wrote a record and no batch waits for its ack (WINDOW); while one does, ops
accumulate and the next batch takes all of them. A broken stream loses
nothing: the pusher starts again from the peer's last ack (duplicates are no-ops).

Refusals are the close code 4000 + the status the HTTP routes answer (409: joining, other
cluster, forgotten; 422: not deliverable, after the ack; 400: malformed; 401/403 come
before the upgrade as HTTP answers), with the reason as the close message. A peer without
the route (404: an older version) is pushed to with `POST /repl/push` instead. A node that
shuts down closes the streams it receives with 1001 (going away): its peers then mark it
down at once and quietly (a stopped peer is not a fault; one that vanishes is).
"""
from __future__ import annotations

import asyncio
import logging
import time
from typing import TYPE_CHECKING, Any

import aiohttp
from aiohttp import web

from ..http_guard import peer_preflight
from ..wire import ops_pb2 as pb
from .backlog import TooOld

if TYPE_CHECKING:
    from .peer import PeerLink
    from .service import Replication

log = logging.getLogger("crdtredis.replication")

ROUTE = "/repl/stream"
VERSION = 2
# Batches sent and not yet acked, per stream. One: the next batch leaves with the ack of
# the one before, and holds every op written meanwhile, so batches grow with the peer's
# round trip. With four in flight, a peer that kept up got ~3x as many batches, and each
# costs the origin a send, a wakeup of the peer's core and an ack to read: 0.1-0.2 µs a
# write of a pipelined SADD load (bench/RESULTS.md); lag and catch-up did not change.
WINDOW = 1
CLOSE_BASE = 4000


class NoStream(Exception):
    """The peer has no stream route (an older version): push with HTTP requests."""


class StreamClosed(Exception):
    def __init__(self, status: int, reason: str, stopped: bool = False) -> None:
        super().__init__(f"{status}: {reason}" if status else reason)
        self.status = status
        self.reason = reason
        self.stopped = stopped  # the peer said it is shutting down


# ---- the receiving side ------------------------------------------------------------------
async def serve(repl: Replication, request: web.Request) -> web.StreamResponse:
    try:
        return await _serve(repl, request)
    finally:
        repl.streams_in_ended += 1


async def _serve(repl: Replication, request: web.Request) -> web.StreamResponse:
    bad = peer_preflight(request, repl.config, body=False)
    if bad is not None:
        return bad
    if repl.node.loading:
        return _refuse(503, "loading")
    if not bool(repl.config.peers):
        return _refuse(409, "this node runs without peers; restart it with --peer to replicate")
    ws = web.WebSocketResponse(max_msg_size=repl.max_message_bytes, compress=False,
                               heartbeat=max(repl.config.sync_timeout, 1.0))
    # The pusher may be gone before we answer (it shut down, the link broke): then writing
    # raises ConnectionResetError. That ends the stream and is no error: the pusher resends
    # whatever we did not ack once it is back, and causal delivery drops the copies. The
    # handler returns, and aiohttp drops the response quietly, where a raise is logged as
    # "Error handling request" (a devcluster's Ctrl-C did that now and then).
    try:
        await ws.prepare(request)
    except ConnectionResetError:
        return web.Response(status=499)  # never sent: aiohttp finds the connection gone
    repl.streams_in += 1
    repl.open_streams.add(ws)
    try:
        async for msg in ws:
            if msg.type != aiohttp.WSMsgType.BINARY:
                await _close(ws, 400, "binary OpBatch messages only")
                break
            status, reason, ack = repl.take_push(msg.data, VERSION)
            if ack is not None:
                await ws.send_bytes(ack)
            if status != 200:
                await _close(ws, status, reason)
                break
    except ConnectionResetError:
        return ws  # the pusher is gone (above): its stream ends here
    finally:
        repl.streams_in -= 1
        repl.open_streams.discard(ws)
    return ws


async def close_all(repl: Replication) -> None:
    """At shutdown (the HTTP app's on_shutdown): tell every pusher we are going away."""
    for ws in list(repl.open_streams):
        try:
            await ws.close(code=aiohttp.WSCloseCode.GOING_AWAY, message=b"shutting down")
        except Exception:  # noqa: BLE001 - the connection may already be gone
            pass


async def _close(ws: web.WebSocketResponse, status: int, reason: str) -> None:
    # A close reason is at most 123 bytes of UTF-8 (RFC 6455): cut on a character boundary.
    await ws.close(code=CLOSE_BASE + status, message=reason.encode()[:120].decode("utf-8", "ignore").encode())


def _refuse(status: int, reason: str) -> web.Response:
    from .service import REASON_HEADER

    return web.Response(status=status, text=reason + "\n", headers={REASON_HEADER: reason})


# ---- the pushing side --------------------------------------------------------------------
async def push(link: PeerLink) -> None:
    """Run one stream to the peer until it breaks (raises) or the peer refuses (returns)."""
    repl = link.repl
    p = link.peer
    assert repl.session is not None and p.url is not None
    try:
        ws = await repl.session.ws_connect(
            p.url + ROUTE, headers=repl.auth_headers(), max_msg_size=repl.max_message_bytes,
            heartbeat=max(repl.config.sync_timeout, 1.0), compress=0)
    except aiohttp.WSServerHandshakeError as e:
        if e.status in (404, 405):
            raise NoStream() from e
        if e.status == 409:
            link.refused(e.headers.get("X-CRDT-Reason", "") if e.headers else "")
            return
        raise
    state = _Stream(link, ws)
    reader = asyncio.create_task(state.read(), name=f"acks {p.url}")
    p.streaming = True
    try:
        await state.run(reader)
    finally:
        p.streaming = False
        p.cursor = None  # what was in flight is resent from the last ack next time
        reader.cancel()
        try:
            await reader
        except (asyncio.CancelledError, Exception):  # noqa: BLE001 - the stream is gone
            pass
        if not ws.closed:
            await ws.close()


class _Stream:
    def __init__(self, link: PeerLink, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.link = link
        self.ws = ws
        self.inflight = 0
        self.closed: StreamClosed | None = None

    async def read(self) -> None:
        """Acks, in order: each one is the peer's answer to one batch."""
        repl = self.link.repl
        p = self.link.peer
        try:
            while True:
                msg = await self.ws.receive()
                if msg.type != aiohttp.WSMsgType.BINARY:
                    break
                p.bytes_in += len(msg.data)
                ack = pb.OpBatch()
                ack.ParseFromString(msg.data)
                repl.note_ack(p, ack)
                self.link._up()
                self.inflight -= 1
                p.wake.set()
            if msg.type == aiohttp.WSMsgType.CLOSE and msg.data == aiohttp.WSCloseCode.GOING_AWAY:
                self.closed = StreamClosed(0, "the peer is shutting down", stopped=True)
            elif msg.type == aiohttp.WSMsgType.CLOSE and int(msg.data or 0) >= CLOSE_BASE:
                self.closed = StreamClosed(int(msg.data) - CLOSE_BASE, str(msg.extra or ""))
            else:
                err = self.ws.exception()
                self.closed = StreamClosed(0, f"stream closed ({msg.type.name}{': ' + str(err) if err else ''})")
        except Exception as e:  # noqa: BLE001 - reported by the sending loop
            self.closed = StreamClosed(0, f"{type(e).__name__}: {e}")
        finally:
            p.wake.set()

    async def run(self, reader: asyncio.Task[None]) -> None:
        link = self.link
        repl = link.repl
        p = link.peer
        bl = repl.backlog
        await self._send([], 0)  # hello: its ack says where the peer stands
        while True:
            await p.wake.wait()
            p.wake.clear()
            if self.closed is not None:
                self._closed(self.closed)
                return
            if p.forgotten or repl.cluster.joining or p.acked_vv is None:
                continue
            while self.inflight < WINDOW:
                if p.cursor is None or p.cursor < bl.start:
                    try:
                        pos = bl.first_needed(p.acked_vv, repl.node.keyspace.vv)
                    except TooOld:
                        # It lacks ops we no longer hold: its pull asks for a snapshot.
                        p.cursor = None
                        break
                    p.cursor = bl.end if pos is None else pos
                parts, n, nxt, _more = bl.collect(p.cursor, p.acked_vv, repl.max_batch_ops,
                                                  repl.max_batch_bytes)
                p.cursor = nxt
                if not n:
                    break
                await self._send(parts, n)

    async def _send(self, parts: list[Any], n: int) -> None:
        p = self.link.peer
        body = self.link.repl.batch_bytes(parts, version=VERSION)
        self.inflight += 1
        p.ops_sent += n
        if n:  # not the hello
            p.batches_sent += 1
        p.bytes_out += len(body)
        await self.ws.send_bytes(body)

    def _closed(self, c: StreamClosed) -> None:
        link = self.link
        if c.stopped:
            link.peer_stopped()
            return
        if c.status == 409:
            link.refused(c.reason)
            return
        if c.status == 422:
            # Not deliverable (its ack came first): start again from that ack, later.
            link.peer.last_error = f"push refused: {c.reason}"
            log.warning("peer %s refused a push: %s", link.peer.url, c.reason)
            link.peer.refused_until = time.monotonic() + link._backoff()
            return
        raise c
