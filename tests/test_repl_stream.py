"""The push stream (replication/stream.py) on the wire, both directions and both versions:
a real node against a peer played by this test (aiohttp), so each message is visible.

* An older peer (no /repl/stream route, version-1 batches over POST /repl/push): the node
  falls back to requests and ships its ops; the old peer's pushes are still accepted.
* A stream client speaking version 2: hello and acks, ops applied, and each refusal as its
  close code (4000 + the HTTP status) with nothing applied.
"""
from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
from aiohttp import web

from crdtredis.op import Op
from crdtredis.wire import ops_pb2 as pb
from crdtredis.wire.codec import OpDecoder, encode_op
from tests.support.procs import CrdtRedisProc, free_port, poll_until

FAST = {"sync_interval": "0.2", "retry_interval": "0.05"}
TOKEN = {"X-CRDT-Token": "sekrit"}


class OldPeer:
    """A peer of the version before streams: /repl/pull and /repl/push only (v1)."""

    def __init__(self) -> None:
        self.port = free_port()
        self.ops: list[Op] = []
        self.cluster_id = ""
        self.node_status = ""
        self.pushes = 0
        self.versions: set[int] = set()

    def state(self) -> bytes:
        founded = self.node_status == "member"
        b = pb.OpBatch(version=1, sender="old.1", replica_id="old", proposal="zzzz",
                       status="member" if founded else "joining", cluster_id=self.cluster_id if founded else "")
        return b.SerializeToString()

    async def _take(self, request: web.Request) -> pb.OpBatch:
        b = pb.OpBatch()
        b.ParseFromString(await request.read())
        self.versions.add(b.version)
        self.node_status = b.status
        if b.status == "member":
            self.cluster_id = b.cluster_id
        return b

    async def pull(self, request: web.Request) -> web.Response:
        await self._take(request)
        return web.Response(body=self.state(), content_type="application/x-protobuf")

    async def push(self, request: web.Request) -> web.Response:
        b = await self._take(request)
        dec = OpDecoder()
        self.ops += [dec.from_message(m) for m in b.ops]
        self.pushes += 1
        return web.Response(body=self.state(), content_type="application/x-protobuf")

    async def start(self) -> web.AppRunner:
        app = web.Application()
        app.router.add_post("/repl/pull", self.pull)
        app.router.add_post("/repl/push", self.push)
        runner = web.AppRunner(app)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", self.port).start()
        return runner




async def test_a_node_pushes_to_an_older_peer_with_requests_and_takes_its_pushes(tmp_path: Path) -> None:
    old = OldPeer()
    runner = await old.start()
    node = CrdtRedisProc(tmp_path / "a", "a", peers=[f"http://127.0.0.1:{old.port}"], settings=FAST)
    await asyncio.to_thread(node.start)
    try:
        # Both new: they found the cluster together, then the node pushes its writes.
        await poll_until(lambda: old.cluster_id != "", timeout=20.0)
        r = node.client()
        await poll_until(lambda: r.set("k", "v") is True, timeout=20.0)
        await poll_until(lambda: any(e[2] == b"k" for op in old.ops for e in op.effects), timeout=20.0)
        assert old.versions == {1}
        info = r.info("replication")
        assert info["peer0"]["stream"] == "http"
        assert 1 <= int(info["peer0"]["batches_sent"]) <= int(info["peer0"]["ops_sent"])
        # The old peer's own push (version 1, POST) is applied.
        b = pb.OpBatch(version=1, sender="old.1", replica_id="old", status="member", cluster_id=old.cluster_id)
        b.ops.add().ParseFromString(encode_op(Op("old.1", 1, time.time_ns() // 1_000_000 << 16, {},
                                                 [(10, 0, b"from-old", b"1", 0, None)])))
        async with aiohttp.ClientSession() as s:
            async with s.post(node.url + "/repl/push", data=b.SerializeToString(),
                              headers={"Content-Type": "application/x-protobuf"}) as resp:
                assert resp.status == 200
                ack = pb.OpBatch()
                ack.ParseFromString(await resp.read())
                assert ack.version == 1 and ack.vv["old.1"] == 1
        assert r.get("from-old") == b"1"
    finally:
        await asyncio.to_thread(node.stop)
        await runner.cleanup()


@contextlib.asynccontextmanager
async def stream_node(tmp_path: Path) -> AsyncIterator[tuple[OldPeer, CrdtRedisProc]]:
    """A node taking streams (token "sekrit"), in the cluster it founded with an old peer,
    which is only there for that."""
    old = OldPeer()
    runner = await old.start()
    node = CrdtRedisProc(tmp_path / "a", "a", peers=[f"http://127.0.0.1:{old.port}"],
                         settings={**FAST, "peer_token": "sekrit"})
    await asyncio.to_thread(node.start)
    try:
        await poll_until(lambda: old.cluster_id != "", timeout=20.0)
        yield old, node
    finally:
        await asyncio.to_thread(node.stop)
        await runner.cleanup()


async def test_stream_protocol_version_2_acks_applies_and_refuses_by_close_code(tmp_path: Path) -> None:
    async with stream_node(tmp_path) as (old, node):
        r = node.client()
        url = node.url + "/repl/stream"

        def batch(version: int = 2, ops: tuple[Op, ...] = ()) -> bytes:
            b = pb.OpBatch(version=version, sender="s.1", replica_id="s", status="member",
                           cluster_id=old.cluster_id)
            for op in ops:
                b.ops.add().ParseFromString(encode_op(op))
            return b.SerializeToString()

        hlc = time.time_ns() // 1_000_000 << 16
        async with aiohttp.ClientSession() as s:
            async with s.get(url) as resp:
                assert resp.status == 401  # no token: refused before the upgrade
            async with s.ws_connect(url, headers=TOKEN) as ws:
                await ws.send_bytes(batch())  # hello
                ack = pb.OpBatch()
                ack.ParseFromString(await ws.receive_bytes())
                assert ack.version == 2 and ack.replica_id == "a" and ack.status == "member"
                await ws.send_bytes(batch(ops=(Op("s.1", 1, hlc, {}, [(10, 0, b"st", b"1", 0, None)]),
                                               Op("s.1", 2, hlc + 1, {}, [(10, 0, b"st2", b"2", 0, None)]))))
                ack.ParseFromString(await ws.receive_bytes())
                assert ack.vv["s.1"] == 2
                assert r.get("st") == b"1" and r.get("st2") == b"2"
                # Not deliverable (seq 9 after 2): the ack first, then close 4422.
                await ws.send_bytes(batch(ops=(Op("s.1", 9, hlc + 9, {}, [(10, 0, b"gap", b"x", 0, None)]),)))
                ack.ParseFromString(await ws.receive_bytes())
                assert ack.vv["s.1"] == 2
                msg = await ws.receive()
                assert msg.type == aiohttp.WSMsgType.CLOSE and msg.data == 4422
                assert "not deliverable" in msg.extra
            async with s.ws_connect(url, headers=TOKEN) as ws:
                await ws.send_bytes(batch(version=1))
                msg = await ws.receive()
                assert msg.type == aiohttp.WSMsgType.CLOSE and msg.data == 4400
            async with s.ws_connect(url, headers=TOKEN) as ws:
                b = pb.OpBatch(version=2, sender="x.1", replica_id="x", status="member", cluster_id="other")
                await ws.send_bytes(b.SerializeToString())
                msg = await ws.receive()
                assert msg.type == aiohttp.WSMsgType.CLOSE and msg.data == 4409
                assert "different clusters" in msg.extra
        assert r.get("gap") is None
        assert r.info("replication")["crdt_streams_in"] == 0


def _ws_frame(payload: bytes) -> bytes:
    """One masked binary WebSocket frame, as a client sends it (RFC 6455)."""
    mask = b"\x01\x02\x03\x04"
    n = len(payload)
    head = bytes([0x82]) + (bytes([0x80 | n]) if n < 126 else bytes([0x80 | 126]) + n.to_bytes(2, "big"))
    return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


async def test_a_pusher_gone_before_its_ack_is_no_error(tmp_path: Path) -> None:
    """A pusher gone before our answer (it shut down, the link broke): the stream ends,
    nothing is logged as an error, and the node goes on serving streams."""
    async with stream_node(tmp_path) as (old, node):
        r = node.client()
        hlc = time.time_ns() // 1_000_000 << 16

        def batch(sender: str) -> bytes:
            b = pb.OpBatch(version=2, sender=f"{sender}.1", replica_id=sender, status="member",
                           cluster_id=old.cluster_id)
            op = Op(f"{sender}.1", 1, hlc, {}, [(10, 0, sender.encode(), b"v", 0, None)])
            b.ops.add().ParseFromString(encode_op(op))
            return b.SerializeToString()

        upgrade = (b"GET /repl/stream HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                   b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
                   b"X-CRDT-Token: sekrit\r\n\r\n")
        senders = [f"gone{i}" for i in range(20)]
        for sender in senders:
            # The upgrade, a batch and the end of the connection in one go: the node reads
            # the batch from a connection that is already closing, so its ack has nowhere to go.
            with socket.create_connection(("127.0.0.1", node.http_port)) as s:
                s.sendall(upgrade + _ws_frame(batch(sender)))
                s.shutdown(socket.SHUT_WR)
        # Each ended, one way or another: some batches may be applied, the others are lost
        # with their connection (a pusher resends what was not acked).
        await poll_until(lambda: r.info("replication")["crdt_streams_in_ended"] >= len(senders), timeout=20.0)
        async with aiohttp.ClientSession() as cs, cs.ws_connect(node.url + "/repl/stream", headers=TOKEN) as ws:
            await ws.send_bytes(batch("after"))
            ack = pb.OpBatch()
            ack.ParseFromString(await ws.receive_bytes())
            assert ack.vv["after.1"] == 1
        assert r.get("after") == b"v"
        logged = node.stdout_path.read_text() + node.stderr_path.read_text()
        errors = [line for line in logged.splitlines() if " # " in line or "Traceback" in line]
        assert errors == [], logged[-4000:]
