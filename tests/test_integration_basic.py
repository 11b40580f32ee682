"""End-to-end: a real server process driven by redis-py (sync and asyncio), redis-cli and raw
sockets.

Every test runs against crdt-redis AND a real redis-server (`server` is parametrized): the
redis run proves the test's expectations are Redis's behaviour, so a crdt-only failure is
a compatibility bug, not a wrong test.
"""
from __future__ import annotations

import asyncio
import socket
import subprocess
from collections.abc import Iterator
from typing import Any

import pytest
import redis
import redis.asyncio as aioredis
from redis.backoff import NoBackoff
from redis.retry import Retry

from tests.support.procs import CrdtRedisProc, RedisServerProc, wait_until
from tests.support.resp_client import RespConnection

Server = CrdtRedisProc | RedisServerProc


@pytest.fixture(params=["redis", "crdt"])
def server(request: pytest.FixtureRequest) -> Iterator[Server]:
    if request.param == "redis":
        proc: Server = request.getfixturevalue("real_redis")
        proc.client().flushall()
    else:
        proc = request.getfixturevalue("crdt_node")
    yield proc


def test_sync_set_get_incr_expire(server: Server) -> None:
    r = server.client()
    assert r.ping() is True
    assert r.set("k", "v") is True
    assert r.get("k") == b"v"
    assert r.get("missing") is None
    assert r.set("k", "w", nx=True) is None
    assert r.set("k", "w", xx=True, get=True) == b"v"
    assert r.incr("n") == 1
    assert r.incrby("n", 41) == 42
    assert r.decr("n") == 41
    assert r.incrbyfloat("f", 10.5) == 10.5
    assert r.incrbyfloat("f", 0.1) == pytest.approx(10.6)
    assert r.get("f") == b"10.6"
    assert r.expire("k", 100) is True
    assert 98 <= r.ttl("k") <= 100
    assert r.persist("k") is True
    assert r.ttl("k") == -1
    assert r.mset({"a": "1", "b": "2"}) is True
    assert r.mget("a", "b", "missing") == [b"1", b"2", None]
    assert r.delete("a", "b", "missing") == 2
    assert r.exists("a", "k") == 1
    with pytest.raises(redis.ResponseError, match="value is not an integer or out of range"):
        r.incr("k")
    r.set("big", b"x" * 1_000_000)
    assert r.get("big") == b"x" * 1_000_000
    assert r.strlen("big") == 1_000_000


def test_sync_decode_responses_and_binary(server: Server) -> None:
    r = server.client(decode_responses=True)
    r.set("ключ", "значение")
    assert r.get("ключ") == "значение"
    rb = server.client()
    rb.set(b"\x00bin\xff", b"\r\n\x00")
    assert rb.get(b"\x00bin\xff") == b"\r\n\x00"


def test_sync_expiry_takes_effect(server: Server) -> None:
    r = server.client()
    r.set("k", "v", px=50)
    wait_until(lambda: r.get("k") is None, timeout=5, msg="k to expire")
    assert r.exists("k") == 0


@pytest.mark.parametrize("protocol", [2, 3])
def test_protocol_versions(server: Server, protocol: int) -> None:
    # redis-py 8 defaults to RESP3 (sends HELLO 3 on connect and checks proto in the reply).
    r = server.client(protocol=protocol)
    conn = r.connection_pool.get_connection()
    try:
        assert conn.protocol == protocol
        if protocol == 3:
            meta: Any = conn.handshake_metadata
            assert meta[b"proto"] == 3
    finally:
        r.connection_pool.release(conn)
    r.set("k", "v")
    assert r.get("k") == b"v"
    assert r.get("missing") is None
    assert r.incrbyfloat("f", 1.5) == 1.5
    assert r.mget("k", "missing") == [b"v", None]
    with r.pipeline(transaction=True) as pipe:
        pipe.set("t", 1)
        pipe.incr("t")
        pipe.get("missing")
        assert pipe.execute() == [True, 2, None]


def test_redis_py_default_protocol_is_resp3(server: Server) -> None:
    r = server.client()
    assert r.execute_command("HELLO")[b"proto"] == 3
    assert r.client_getname() is None
    r.client_setname("conn-a")
    # redis-py decodes CLIENT GETNAME itself, whatever decode_responses says.
    assert r.client_getname() == "conn-a"


def test_pipeline_with_and_without_transaction(server: Server) -> None:
    r = server.client()
    with r.pipeline(transaction=True) as pipe:
        pipe.set("a", 1)
        pipe.incr("a")
        pipe.incrby("a", 10)
        pipe.get("a")
        pipe.expire("a", 100)
        pipe.ttl("a")
        res = pipe.execute()
    assert res[:5] == [True, 2, 12, b"12", True]
    assert 98 <= res[5] <= 100
    with r.pipeline(transaction=False) as pipe:
        for i in range(1000):
            pipe.set(f"key:{i}", i)
        assert pipe.execute() == [True] * 1000
    assert r.dbsize() == 1001
    with r.pipeline(transaction=True) as pipe:
        pipe.set("s", "abc")
        pipe.incr("s")
        pipe.set("after", "ok")
        with pytest.raises(redis.ResponseError):
            pipe.execute()
    # A runtime error inside EXEC does not roll the others back.
    assert r.get("after") == b"ok"


def test_multi_exec_and_watch(server: Server) -> None:
    r = server.client()
    other = server.client()
    r.set("k", "v")
    with r.pipeline() as pipe:
        pipe.watch("k")
        assert pipe.get("k") == b"v"  # immediate mode after WATCH
        other.set("k", "changed")
        pipe.multi()
        pipe.set("k", "mine")
        with pytest.raises(redis.WatchError):
            pipe.execute()
    assert r.get("k") == b"changed"
    with r.pipeline() as pipe:
        pipe.watch("k")
        pipe.multi()
        pipe.set("k", "mine")
        assert pipe.execute() == [True]
    assert r.get("k") == b"mine"
    # Raw MULTI/EXEC on one connection, the way a hand-written client would.
    with RespConnection(port=server.port) as c:
        assert c.call("MULTI") == b"+OK\r\n"
        assert c.call("INCR", "n") == b"+QUEUED\r\n"
        assert c.call("INCR", "n") == b"+QUEUED\r\n"
        assert c.call("EXEC") == b"*2\r\n:1\r\n:2\r\n"


def test_select_db_9(server: Server) -> None:
    r9 = server.client(db=9)
    r0 = server.client(db=0)
    r9.set("k", "in-nine")
    assert r9.get("k") == b"in-nine"
    assert r0.get("k") is None
    assert r9.dbsize() == 1
    assert r0.dbsize() == 0
    r0.flushall()
    assert r9.get("k") is None


async def test_asyncio_client(server: Server) -> None:
    r = aioredis.Redis(host="127.0.0.1", port=server.port, socket_timeout=10)
    try:
        assert await r.ping() is True
        assert await r.set("k", "v") is True
        assert await r.get("k") == b"v"
        assert await r.incr("n") == 1
        assert await r.expire("k", 100) is True
        assert 98 <= await r.ttl("k") <= 100
        async with r.pipeline(transaction=True) as pipe:
            pipe.set("a", 1)
            pipe.incr("a")
            pipe.get("a")
            assert await pipe.execute() == [True, 2, b"2"]
        # Concurrent commands over 20 connections: every increment lands exactly once.
        pool = aioredis.BlockingConnectionPool(host="127.0.0.1", port=server.port, max_connections=20, timeout=30)
        rp = aioredis.Redis(connection_pool=pool)
        try:
            await asyncio.gather(*(rp.incr("counter") for _ in range(200)))
        finally:
            await rp.aclose()
            await pool.disconnect()
        assert await r.get("counter") == b"200"
        r9 = aioredis.Redis(host="127.0.0.1", port=server.port, db=9, protocol=2)
        try:
            await r9.set("k", "nine")
            assert await r9.get("k") == b"nine"
            assert await r.get("k") == b"v"
        finally:
            await r9.aclose()
    finally:
        await r.aclose()


def _cli(redis_cli: str, server: Server, *args: str) -> str:
    out = subprocess.run(
        [redis_cli, "-h", "127.0.0.1", "-p", str(server.port), *args],
        capture_output=True, text=True, timeout=30, check=True,
    )
    return out.stdout


def test_redis_cli(server: Server, redis_cli_path: str) -> None:
    assert _cli(redis_cli_path, server, "SET", "a", "b") == "OK\n"
    assert _cli(redis_cli_path, server, "GET", "a") == "b\n"
    assert _cli(redis_cli_path, server, "--no-raw", "GET", "a") == '"b"\n'
    assert _cli(redis_cli_path, server, "--no-raw", "GET", "missing") == "(nil)\n"
    assert _cli(redis_cli_path, server, "--no-raw", "INCR", "n") == "(integer) 1\n"
    assert _cli(redis_cli_path, server, "--no-raw", "MGET", "a", "missing") == '1) "b"\n2) (nil)\n'
    assert _cli(redis_cli_path, server, "--no-raw", "INCR", "a") == "(error) ERR value is not an integer or out of range\n"
    assert _cli(redis_cli_path, server, "-n", "9", "SET", "x", "nine") == "OK\n"
    assert _cli(redis_cli_path, server, "-n", "9", "GET", "x") == "nine\n"
    assert _cli(redis_cli_path, server, "-3", "--no-raw", "GET", "missing") == "(nil)\n"
    assert _cli(redis_cli_path, server, "PING") == "PONG\n"
    # Commands on stdin, one per line, as in `cat cmds | redis-cli`.
    out = subprocess.run(
        [redis_cli_path, "-p", str(server.port)], input="SET c 1\nINCR c\nGET c\n",
        capture_output=True, text=True, timeout=30, check=True,
    ).stdout
    assert out == "OK\n2\n2\n"


def test_raw_inline_commands(server: Server) -> None:
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as s:
        s.sendall(b"PING\r\n")
        assert _recv_exact(s, 7) == b"+PONG\r\n"
        # Inline commands pipelined in one write, with a quoted argument.
        s.sendall(b'SET k "hello world"\r\nGET k\r\nEXISTS k\r\n')
        want = b"+OK\r\n$11\r\nhello world\r\n:1\r\n"
        assert _recv_exact(s, len(want)) == want


def _recv_exact(s: socket.socket, n: int) -> bytes:
    buf = b""
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        if not chunk:
            raise ConnectionError(f"closed after {buf!r}")
        buf += chunk
    return buf


# Byte-exact Redis 7.0 replies; the closing of the connection afterwards is part of it.
MALFORMED = {
    "multibulk_len_not_int": (b"*abc\r\n", b"-ERR Protocol error: invalid multibulk length\r\n"),
    "multibulk_len_huge": (b"*99999999999\r\n", b"-ERR Protocol error: invalid multibulk length\r\n"),
    "expected_dollar": (b"*1\r\nxyz\r\n", b"-ERR Protocol error: expected '$', got 'x'\r\n"),
    "bulk_len_huge": (b"*1\r\n$999999999999\r\n", b"-ERR Protocol error: invalid bulk length\r\n"),
    "bulk_len_negative": (b"*1\r\n$-5\r\n", b"-ERR Protocol error: invalid bulk length\r\n"),
    "bulk_len_not_int": (b"*1\r\n$abc\r\n", b"-ERR Protocol error: invalid bulk length\r\n"),
    "unbalanced_quotes": (b'ECHO "unbalanced\r\n', b"-ERR Protocol error: unbalanced quotes in request\r\n"),
    "inline_too_big": (b"a" * 70_000, b"-ERR Protocol error: too big inline request\r\n"),
}


@pytest.mark.parametrize("payload,reply", MALFORMED.values(), ids=MALFORMED.keys())
def test_malformed_input_errors_and_server_keeps_serving(server: Server, payload: bytes, reply: bytes) -> None:
    bystander = RespConnection(port=server.port)
    try:
        assert bystander.call("SET", "k", "v") == b"+OK\r\n"
        with RespConnection(port=server.port) as bad:
            bad.send_raw(payload)
            assert bad.read_reply() == reply
            assert bad.is_closed_by_peer(timeout=5), "server must close the connection after a protocol error"
        # The server is still up for a client connected before and one connected after.
        assert bystander.call("GET", "k") == b"$1\r\nv\r\n"
        with RespConnection(port=server.port) as fresh:
            assert fresh.call("PING") == b"+PONG\r\n"
    finally:
        bystander.close()


def test_partial_command_does_not_block_other_clients(server: Server) -> None:
    with RespConnection(port=server.port) as slow, RespConnection(port=server.port) as fast:
        slow.send_raw(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nab")
        assert fast.call("PING") == b"+PONG\r\n"
        assert fast.call("GET", "k") == b"$-1\r\n"
        slow.send_raw(b"cde\r\n")
        assert slow.read_reply() == b"+OK\r\n"
        assert fast.call("GET", "k") == b"$5\r\nabcde\r\n"


def test_unknown_command_keeps_connection(server: Server) -> None:
    with RespConnection(port=server.port) as c:
        assert c.call("FOO", "a", "b") == b"-ERR unknown command 'FOO', with args beginning with: 'a' 'b' \r\n"
        assert c.call("PING") == b"+PONG\r\n"


def test_many_connections(server: Server) -> None:
    conns = [RespConnection(port=server.port) for _ in range(50)]
    try:
        for c in conns:
            c.send("INCR", "n")
        assert sorted(int(c.read_reply()[1:-2]) for c in conns) == list(range(1, 51))
    finally:
        for c in conns:
            c.close()


@pytest.fixture(params=["redis", "crdt"])
def password_server(request: pytest.FixtureRequest, tmp_path) -> Iterator[Server]:
    if request.param == "redis":
        proc = RedisServerProc(extra_args=["--requirepass", "s3cret"]).start()
        try:
            yield proc
        finally:
            proc.cleanup()
    else:
        factory = request.getfixturevalue("crdt_factory")
        yield factory("pw", requirepass="s3cret")


def test_requirepass(password_server: Server) -> None:
    with RespConnection(port=password_server.port) as c:
        assert c.call("GET", "k") == b"-NOAUTH Authentication required.\r\n"
        assert c.call("AUTH", "wrong") == b"-WRONGPASS invalid username-password pair or user is disabled.\r\n"
        assert c.call("AUTH", "s3cret") == b"+OK\r\n"
        assert c.call("GET", "k") == b"$-1\r\n"
    with pytest.raises(redis.AuthenticationError):
        password_server.client(protocol=2).ping()
    assert password_server.client(password="s3cret").set("k", "v") is True
    assert password_server.client(password="s3cret", protocol=2).get("k") == b"v"


# ----- crdt-redis only: things a real redis-server does not have.


def test_health_endpoint(crdt_node: CrdtRedisProc) -> None:
    assert wait_until(lambda: crdt_node.health() == 200, timeout=10, msg="/health to return 200")


def test_restart_keeps_data_and_ports(crdt_node: CrdtRedisProc) -> None:
    r = crdt_node.client()
    r.set("persisted", "yes")
    r.incrby("counter", 5)
    crdt_node.restart()
    r = crdt_node.client()
    assert r.get("persisted") == b"yes"
    assert r.get("counter") == b"5"


def test_sigstop_blocks_then_sigcont_resumes(crdt_node: CrdtRedisProc) -> None:
    # No retries: redis-py 8 retries timeouts 3 times with backoff by default.
    r = crdt_node.client(socket_timeout=0.5, retry=Retry(NoBackoff(), 0))
    r.set("k", "v")
    crdt_node.sigstop()
    try:
        with pytest.raises(redis.TimeoutError):
            r.get("k")
    finally:
        crdt_node.sigcont()
    r2 = crdt_node.client()
    assert wait_until(lambda: r2.get("k") == b"v", timeout=10, msg="node to answer after SIGCONT")


def test_blocked_client_that_disconnects_does_not_consume_an_element(crdt_node) -> None:
    """A BLPOP whose client went away must not pop the next pushed element for nobody."""
    import socket

    from tests.support.procs import wait_until

    s = socket.create_connection(("127.0.0.1", crdt_node.port))
    s.sendall(b"*3\r\n$5\r\nBLPOP\r\n$7\r\nblocked\r\n$1\r\n0\r\n")
    r = crdt_node.client()
    wait_until(lambda: r.info("clients")["blocked_clients"] == 1, timeout=10)
    s.close()
    wait_until(lambda: r.info("clients")["blocked_clients"] == 0, timeout=10,
               msg="the server did not notice the blocked client leaving")
    r.rpush("blocked", "x")
    assert r.lrange("blocked", 0, -1) == [b"x"]
