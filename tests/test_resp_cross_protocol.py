"""An HTTP request sent to the RESP port (issue 13): before, the commands in its body ran (a
web page could post `SET` to a Redis on localhost). Redis drops such a connection at its
`POST` or `Host:` line without answering anything (securityWarningCommand, checked here
against a real redis-server too) and logs one warning a minute."""
from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from tests.support.procs import HOST, CrdtRedisProc, RedisServerProc

WARNING = ("Possible SECURITY ATTACK detected. It looks like somebody is sending POST or Host: commands to "
           "Redis. This is likely due to an attacker attempting to use Cross Protocol Scripting to compromise "
           "your Redis instance. Connection aborted.")

BROWSER_POST = (b"POST / HTTP/1.1\r\nHost: 127.0.0.1:6379\r\nUser-Agent: Mozilla/5.0 (X11; \"Linux\")\r\n"
                b"Content-Type: text/plain\r\nContent-Length: 24\r\n\r\nSET pwned 1\r\nQUIT\r\n")

CASES = [
    BROWSER_POST,
    b"PING\r\nPOST / HTTP/1.1\r\nHost: x\r\n\r\nSET pwned 1\r\n",  # the PONG is not sent either
    b"Host: x\r\nSET pwned 1\r\n",
    b"*1\r\n$4\r\npost\r\n*3\r\n$3\r\nSET\r\n$5\r\npwned\r\n$1\r\n1\r\n",
    b"PING\r\n*2\r\n$5\r\nHOST:\r\n$1\r\nx\r\nSET pwned 1\r\n",
    b"MULTI\r\nPOST x\r\nSET pwned 1\r\n",
]


def exchange(port: int, data: bytes) -> bytes:
    with socket.create_connection((HOST, port), timeout=10) as s:
        s.sendall(data)
        out = b""
        try:
            while chunk := s.recv(65536):
                out += chunk
        except (TimeoutError, ConnectionResetError):
            return out + b"<open or reset>"
        return out + b"<closed>"


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CrdtRedisProc]:
    n = CrdtRedisProc(tmp_path_factory.mktemp("xproto") / "n", "n", requirepass="pw").start()
    try:
        yield n
    finally:
        n.stop()


@pytest.mark.parametrize("data", CASES)
def test_http_requests_to_the_resp_port_are_dropped_without_a_reply(node: CrdtRedisProc, data: bytes) -> None:
    # Authenticated first (AUTH inline), so only the POST/Host: line can stop the commands.
    # (AUTH's +OK goes out only if the server read it before the rest, as with Redis.)
    assert exchange(node.port, b"AUTH pw\r\n" + data) in (b"+OK\r\n<closed>", b"<closed>")
    assert node.client(password="pw").get("pwned") is None


def test_unauthenticated_http_requests_are_dropped_too(node: CrdtRedisProc) -> None:
    assert exchange(node.port, BROWSER_POST) == b"<closed>"


def test_the_warning_is_logged_once_a_minute_and_other_unknown_commands_still_answer(node: CrdtRedisProc) -> None:
    for _ in range(3):
        exchange(node.port, b"POST /x HTTP/1.1\r\n")
    assert node.logs(500).count(WARNING) == 1
    r = node.client(password="pw")
    with pytest.raises(redis.ResponseError, match="unknown command 'POSTS'"):
        r.execute_command("POSTS")
    assert r.ping()


def test_redis_does_the_same(tmp_path: Path) -> None:
    real = RedisServerProc(dir=tmp_path).start()
    try:
        for data in CASES:
            got = exchange(real.port, data)
            assert got == b"<closed>", (data, got)
        assert real.client().get("pwned") is None
    finally:
        real.cleanup()
