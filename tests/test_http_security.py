"""http_guard.py in-process: the admin token rules, and the header timeout of the served
site with raw sockets (a request's headers half sent, none at all, a slow body, pipelined
requests that must keep working)."""
from __future__ import annotations

import asyncio
import logging
import socket
import struct
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from crdtredis.config import Config
from crdtredis.http import make_app, start_http
from crdtredis.http_guard import BodyError, header_text, read_body, refuse
from tests.support.procs import poll_until
from tests.test_http import FakeNode


@pytest.mark.parametrize(("cfg", "attr", "token"), [
    ({}, None, None),
    ({"requirepass": "pw"}, None, "pw"),
    ({"requirepass": "pw", "admin_token": "adm"}, None, "adm"),
    ({"admin_token": "adm"}, None, "adm"),
    ({"requirepass": "pw"}, "changed", "changed"),  # CONFIG SET requirepass
])
async def test_admin_token_is_admin_token_else_requirepass(cfg: dict[str, Any], attr: str | None,
                                                           token: str | None) -> None:
    node = FakeNode(Config(replica_id="a", **cfg))
    if attr is not None:
        node.requirepass = attr  # type: ignore[attr-defined]
    async with TestClient(TestServer(make_app(node))) as client:
        open_status = (await client.get("/stats")).status
        assert open_status == (200 if token is None else 401)
        if token is not None:
            assert (await client.get("/stats", headers={"Authorization": f"Bearer {token}"})).status == 200
            assert (await client.get("/stats", headers={"Authorization": f"Basic {token}"})).status == 403
            assert (await client.get("/metrics", headers={"Authorization": "Bearer x"})).status == 403
        assert (await client.get("/health")).status == 200


def test_header_text_never_carries_control_characters() -> None:
    assert header_text("op a\r\nSet-Cookie: x\x00\x7f é") == "op a??Set-Cookie: x?? ?"
    assert len(header_text("x" * 5000)) == 500


async def _serve(timeout: float) -> tuple[web.AppRunner, int]:
    app = make_app(FakeNode(Config(replica_id="a")))

    async def echo(request: web.Request) -> web.Response:
        try:
            body = await read_body(request, 1 << 20, timeout)
        except BodyError as e:
            return refuse(e.status, e.reason, close=True)  # as the peer routes answer
        return web.Response(body=body)

    app.router.add_post("/echo", echo)
    runner = await start_http(app, "127.0.0.1", 0, header_timeout=timeout)
    return runner, int(runner.addresses[0][1])


async def _exchange(port: int, data: bytes, wait: float = 10.0) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(data)
    out = b""
    try:
        while chunk := await asyncio.wait_for(reader.read(65536), wait):
            out += chunk
        out += b"<closed>"
    except TimeoutError:
        out += b"<open>"
    writer.close()
    return out


async def test_half_sent_headers_are_closed_after_the_header_timeout() -> None:
    runner, port = await _serve(0.3)
    try:
        assert await _exchange(port, b"GET /health HTTP/1.1\r\nHost: x\r\nUser-Ag") == b"<closed>"
        assert await _exchange(port, b"") == b"<closed>"
        # A body that stops coming: 408, then closed.
        out = await _exchange(port, b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc")
        assert out.startswith(b"HTTP/1.1 408") and out.endswith(b"<closed>")
    finally:
        await runner.cleanup()


@pytest.mark.parametrize("reset", [False, True])
async def test_a_sender_gone_mid_body_is_a_refusal_not_an_error(reset: bool, caplog: pytest.LogCaptureFixture) -> None:
    """A peer that goes away in the middle of a POST body (it shut down: a closed side or a
    reset) ends in a refusal that nobody reads, not an exception aiohttp logs."""
    app = make_app(FakeNode(Config(replica_id="a")))
    outcomes: list[Any] = []

    async def echo(request: web.Request) -> web.Response:
        try:
            body = await read_body(request, 1 << 20, 10.0)
        except BodyError as e:
            outcomes.append(e.status)
            return refuse(e.status, e.reason, close=True)
        except BaseException as e:
            outcomes.append(type(e).__name__)
            raise
        outcomes.append(body)
        return web.Response(body=body)

    app.router.add_post("/echo", echo)
    runner = await start_http(app, "127.0.0.1", 0, header_timeout=10.0)
    port = int(runner.addresses[0][1])
    try:
        with caplog.at_level(logging.ERROR, logger="aiohttp.server"):
            s = socket.create_connection(("127.0.0.1", port))
            s.sendall(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\nabc")
            if reset:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            else:
                s.shutdown(socket.SHUT_WR)
            s.close()
            await poll_until(lambda: outcomes, msg="the handler's outcome")
        assert outcomes == [400]
        assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    finally:
        await runner.cleanup()


async def test_complete_and_pipelined_requests_are_not_cut() -> None:
    runner, port = await _serve(0.3)
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        two = b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello" * 2
        writer.write(two)
        got = b""
        while got.count(b"hello") < 2:
            got += await asyncio.wait_for(reader.read(65536), 5)
        # Idle between requests longer than the header timeout: the connection stays
        # (keep-alive); the timer starts with a request's first byte.
        await asyncio.sleep(0.6)
        writer.write(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        got = await asyncio.wait_for(reader.read(65536), 5)
        assert got.startswith(b"HTTP/1.1 200")
        writer.close()
    finally:
        await runner.cleanup()
