"""RedisProtocol on a fake transport and a fake server: batching, blocking, closing."""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any, cast

import pytest

from crdtredis.client import Client
from crdtredis.protocol import connection, plainrun
from crdtredis.protocol.connection import (
    WRITE_HIGH_WATER,
    WRITE_LOW_WATER,
    RedisProtocol,
    format_addr,
)
from crdtredis.protocol.resp import encode_command
from crdtredis.reply import OK, PONG, Deferred, ErrorReply, Map
from tests.support.aio import until


class FakeTransport:
    """Duck-typed like uvloop's transports, which do not subclass asyncio.Transport."""

    def __init__(self, peer: Any = ("127.0.0.1", 50000), sock: Any = ("127.0.0.1", 6379)) -> None:
        self.writes: list[bytes] = []
        self.closed = False
        self.reading = True
        self.limits: tuple[int | None, int | None] | None = None
        self.extra = {"peername": peer, "sockname": sock}
        self.protocol: RedisProtocol | None = None
        # Bytes the "socket" has not taken yet (output buffer limit tests set it).
        self.buffered = 0
        self.aborted = False

    def write(self, data: Any) -> None:
        assert not self.closed, "write after close"
        self.writes.append(bytes(data))

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            if self.protocol is not None:
                asyncio.get_running_loop().call_soon(self.protocol.connection_lost, None)

    def is_closing(self) -> bool:
        return self.closed

    def pause_reading(self) -> None:
        assert self.reading
        self.reading = False

    def resume_reading(self) -> None:
        assert not self.reading
        self.reading = True

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        self.limits = (high, low)

    def get_write_buffer_size(self) -> int:
        return self.buffered

    def abort(self) -> None:
        self.aborted = True
        self.close()

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return self.extra.get(name, default)

    @property
    def output(self) -> bytes:
        return b"".join(self.writes)


@pytest.fixture(autouse=True, params=["compiled", "python"] if plainrun.native() is not None else ["python"])
def request_loop(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Every test here runs with the compiled loop of plain requests (plainrun.pyx) and with
    the connection's Python loop alone (a build without it): the wire must be the same."""
    if request.param == "python":
        monkeypatch.setattr(connection, "_RUN_PLAIN", None)
    else:
        assert connection._RUN_PLAIN is not None
    return str(request.param)


class FakeServer:
    """A few commands, enough to drive the connection through its paths."""

    proto_max_bulk_len = 512 * 1024 * 1024
    obuf_limits = {"normal": (0, 0, 0), "slave": (0, 0, 0), "pubsub": (32 << 20, 8 << 20, 60)}
    obuf_disconnections = 0

    def __init__(self) -> None:
        self.data: dict[bytes, bytes] = {}
        self.clients: list[Client] = []
        self.dropped: list[Client] = []
        self.executed: list[list[bytes]] = []
        self.batching: list[bool] = []  # client.batching as each request ran
        self.batches = 0
        self.futures: list[asyncio.Future[Any]] = []
        self.batch_hook: Callable[[], Awaitable[None] | None] = lambda: None

    def new_client(self, addr: str, laddr: str, close_cb: Callable[[], None]) -> Client:
        c = Client(len(self.clients) + 1, addr, laddr, close_cb)
        self.clients.append(c)
        return c

    def drop_client(self, client: Client) -> None:
        self.dropped.append(client)

    def batch_done(self) -> Awaitable[None] | None:
        self.batches += 1
        return self.batch_hook()

    def execute(self, client: Client, argv: list[bytes]) -> Any:
        self.executed.append(argv)
        self.batching.append(client.batching)
        name = argv[0].upper()
        if name == b"PING":
            return PONG
        if name == b"SET":
            self.data[argv[1]] = argv[2]
            return OK
        if name == b"GET":
            return self.data.get(argv[1])
        if name == b"QUIT":
            client.closing = True
            return OK
        if name == b"BLOCK":
            fut = asyncio.get_running_loop().create_future()
            self.futures.append(fut)
            return Deferred(fut)
        if name == b"BOOM":
            raise ValueError("kaboom")
        if name == b"BADREPLY":
            return [b"ok", object()]
        if name == b"AUTH":
            client.authenticated = True
            return OK
        if name == b"HELLO":
            # A map, as the real server answers: redis-py 8 sends HELLO on connect and reads it.
            client.resp = int(argv[1])
            return Map([(b"server", b"redis"), (b"proto", client.resp)])
        if name == b"KILLME":
            client.close()
            return OK
        return ErrorReply(f"ERR unknown command '{argv[0].decode()}'")


def connect(server: FakeServer | None = None, **kw: Any) -> tuple[RedisProtocol, FakeTransport, FakeServer]:
    server = server or FakeServer()
    proto = RedisProtocol(server)
    transport = FakeTransport(**kw)
    transport.protocol = proto
    proto.connection_made(cast(asyncio.Transport, transport))
    return proto, transport, server


def cmds(*argvs: list[bytes]) -> bytes:
    return b"".join(encode_command(a) for a in argvs)


# -- batching ----------------------------------------------------------------------------


async def test_connection_pipeline_is_one_write_per_read() -> None:
    proto, t, server = connect()
    proto.data_received(cmds(*([[b"SET", b"k%d" % i, b"v"] for i in range(8)] +
                                [[b"GET", b"k%d" % i] for i in range(8)])))
    assert t.writes == [b"+OK\r\n" * 8 + b"$1\r\nv\r\n" * 8]
    assert server.batches == 1


async def test_only_a_read_of_several_requests_lets_the_node_merge_their_writes() -> None:
    """`client.batching` tells Node.execute that batch_done() follows, so a write may leave
    its op open for the next requests of the read (node.MERGEABLE). A read of one request
    has nothing to share it with: its op closes at once, without the merge's bookkeeping
    (3% of an unpipelined SET, bench/RESULTS.md)."""
    proto, t, server = connect()
    proto.data_received(cmds([b"SET", b"a", b"1"]))
    proto.data_received(cmds([b"SET", b"a", b"1"], [b"SET", b"b", b"2"]))
    assert server.batching == [False, True, True]
    await until(lambda: len(t.writes) == 2)
    assert t.writes == [b"+OK\r\n", b"+OK\r\n+OK\r\n"]


async def test_read_only_batches_of_a_busy_turn_are_written_together_at_its_end() -> None:
    """Like Redis's beforeSleep: in a turn that runs several clients' batches, a batch that
    only read waits for the end of the turn, so the sends follow each other (turn.py)."""
    server = FakeServer()
    p1, t1, _ = connect(server)
    p2, t2, _ = connect(server)
    p1.data_received(cmds([b"GET", b"a"]))
    assert t1.writes == [b"$-1\r\n"]  # the first batch after a quiet turn: at once
    p2.data_received(cmds([b"GET", b"b"], [b"PING"]))
    assert t2.writes == []  # the second in the turn waits for its end
    await until(lambda: bool(t2.writes))
    assert t2.writes == [b"$-1\r\n+PONG\r\n"]
    # The turn after a busy one: even its first batch waits, then both go out together.
    p1.data_received(cmds([b"PING"]))
    p2.data_received(cmds([b"PING"]))
    assert len(t1.writes) == 1 and len(t2.writes) == 1
    await until(lambda: len(t1.writes) == 2 and len(t2.writes) == 2)
    assert t1.writes[1] == t2.writes[1] == b"+PONG\r\n"


async def _turn_ended() -> None:
    """Return once the callbacks the loop turn scheduled so far have run (the turn's end:
    protocol/turn.py), by waiting for one scheduled after them."""
    loop = asyncio.get_running_loop()
    done = loop.create_future()
    loop.call_soon(done.set_result, None)
    await done


async def test_a_lone_client_is_answered_within_its_batch() -> None:
    """One batch per turn (a request-reply client): no wait for the end of the turn."""
    proto, t, _ = connect()
    for i in range(3):
        proto.data_received(cmds([b"PING"]))
        assert len(t.writes) == i + 1
        await _turn_ended()  # the next read comes in a later turn, as from a real client


async def test_a_push_after_a_deferred_reply_follows_it() -> None:
    """Data pushed to a connection whose replies wait for the turn's end joins them, behind."""
    server = FakeServer()
    p1, t1, _ = connect(server)
    p2, t2, _ = connect(server)
    p1.data_received(cmds([b"PING"]))
    p2.data_received(cmds([b"GET", b"x"]))
    p2.push(b">2\r\n$7\r\nmessage\r\n$2\r\nhi\r\n")
    assert t2.writes == []
    await until(lambda: bool(t2.writes))
    assert t2.writes == [b"$-1\r\n>2\r\n$7\r\nmessage\r\n$2\r\nhi\r\n"]


async def test_connection_partial_read_writes_nothing() -> None:
    proto, t, server = connect()
    wire = cmds([b"PING"], [b"GET", b"x"])
    proto.data_received(wire[:-3])
    assert t.writes == [b"+PONG\r\n"]
    proto.data_received(wire[-3:])
    # The second batch of this loop turn: its reply waits for the turn's end (protocol/turn.py).
    await until(lambda: len(t.writes) == 2)
    assert t.writes == [b"+PONG\r\n", b"$-1\r\n"]
    assert server.batches == 2
    proto.data_received(b"*1\r\n$4\r\nPI")
    assert len(t.writes) == 2 and server.batches == 2  # no batch_done without a command


async def test_connection_inline_commands() -> None:
    proto, t, _ = connect()
    proto.data_received(b"PING\r\nSET a 'b c'\r\nGET a\r\n")
    assert t.writes == [b"+PONG\r\n+OK\r\n$3\r\nb c\r\n"]


async def test_connection_hello_3_changes_encoding_of_later_replies() -> None:
    proto, t, _ = connect()
    proto.data_received(b"GET nope\r\nHELLO 3\r\nGET nope\r\n")
    assert t.output == b"$-1\r\n%2\r\n$6\r\nserver\r\n$5\r\nredis\r\n$5\r\nproto\r\n:3\r\n_\r\n"


# -- blocking (Deferred) -----------------------------------------------------------------


async def test_connection_deferred_keeps_order_and_keeps_reading() -> None:
    proto, t, server = connect()
    proto.data_received(cmds([b"SET", b"a", b"1"], [b"BLOCK"], [b"GET", b"a"], [b"PING"]))
    await until(lambda: len(t.writes) == 1)
    assert t.writes == [b"+OK\r\n"]  # what was ready before the blocked request
    # Still reading while blocked: a disconnect must be noticed (it cancels the pop).
    assert t.reading
    # Requests arriving meanwhile wait behind the blocked one.
    proto.data_received(cmds([b"SET", b"a", b"2"]))
    assert [a[0] for a in server.executed] == [b"SET", b"BLOCK"]
    server.futures[0].set_result([b"list", b"x"])
    await until(lambda: len(t.writes) == 2)
    assert t.writes[1] == b"*2\r\n$4\r\nlist\r\n$1\r\nx\r\n" + b"$1\r\n1\r\n+PONG\r\n+OK\r\n"
    assert t.reading
    assert server.batches == 2


async def test_connection_deferred_resolving_to_another_deferred_blocks_again() -> None:
    proto, t, server = connect()
    proto.data_received(cmds([b"BLOCK"], [b"PING"]))
    await until(lambda: len(server.futures) == 1)
    fut2: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
    server.futures[0].set_result(Deferred(fut2))
    for _ in range(5):
        await asyncio.sleep(0)
    assert t.output == b""
    fut2.set_result(None)
    await until(lambda: t.output == b"$-1\r\n+PONG\r\n")


async def test_connection_deferred_exception_becomes_internal_error(caplog: pytest.LogCaptureFixture) -> None:
    proto, t, server = connect()
    proto.data_received(cmds([b"BLOCK"], [b"PING"]))
    await until(lambda: len(server.futures) == 1)
    with caplog.at_level(logging.ERROR, logger="crdtredis.connection"):
        server.futures[0].set_exception(RuntimeError("lost"))
        await until(lambda: t.output == b"-ERR internal error: RuntimeError\r\n+PONG\r\n")
    assert not t.closed


async def test_connection_lost_cancels_pending_deferred() -> None:
    proto, t, server = connect()
    proto.data_received(cmds([b"BLOCK"]))
    await until(lambda: len(server.futures) == 1)
    proto.connection_lost(None)
    assert server.futures[0].cancelled()
    assert server.dropped == [server.clients[0]]
    for _ in range(5):
        await asyncio.sleep(0)
    assert t.output == b""


async def test_connection_deferred_cancelled_by_server_closes() -> None:
    proto, t, server = connect()
    proto.data_received(cmds([b"BLOCK"]))
    await until(lambda: len(server.futures) == 1)
    server.futures[0].cancel()
    await until(lambda: t.closed)


# -- closing -------------------------------------------------------------------------------


async def test_connection_quit_writes_pending_replies_then_closes() -> None:
    proto, t, server = connect()
    proto.data_received(b"PING\r\nQUIT\r\nPING\r\n")
    assert t.writes == [b"+PONG\r\n+OK\r\n"]
    assert t.closed
    proto.data_received(b"PING\r\n")
    assert t.writes == [b"+PONG\r\n+OK\r\n"]
    assert [a[0] for a in server.executed] == [b"PING", b"QUIT"]
    await until(lambda: server.dropped == server.clients)


async def test_connection_protocol_error_replies_then_closes() -> None:
    proto, t, _ = connect()
    proto.data_received(b"PING\r\n" + b"*1\r\n$-5\r\n" + b"PING\r\n")
    assert t.writes == [b"+PONG\r\n-ERR Protocol error: invalid bulk length\r\n"]
    assert t.closed


async def test_connection_huge_bulk_length_rejected_at_once() -> None:
    proto, t, _ = connect()
    proto.data_received(b"*2\r\n$3\r\nGET\r\n$9999999999\r\n")
    assert t.writes == [b"-ERR Protocol error: invalid bulk length\r\n"]
    assert t.closed


async def test_connection_unauthenticated_limits_and_auth_in_same_read() -> None:
    server = FakeServer()
    proto, t, _ = connect(server)
    server.clients[0].authenticated = False
    big = cmds([b"SET", b"k", b"x" * 20000])
    proto.data_received(cmds([b"AUTH", b"pw"]) + big)
    assert t.output == b"+OK\r\n+OK\r\n"
    proto2, t2, _ = connect(server)
    server.clients[1].authenticated = False
    proto2.data_received(big)
    assert t2.output == b"-ERR Protocol error: unauthenticated bulk length\r\n"
    assert t2.closed


async def test_connection_client_close_from_elsewhere_closes_transport() -> None:
    proto, t, server = connect()
    server.clients[0].close()
    assert t.closed


async def test_connection_client_killing_itself_gets_its_reply_first() -> None:
    proto, t, server = connect()
    proto.data_received(b"PING\r\nKILLME\r\nPING\r\n")
    assert t.writes == [b"+PONG\r\n+OK\r\n"]
    assert t.closed


# -- failures inside commands ------------------------------------------------------------


async def test_connection_handler_exception_is_logged_and_connection_survives(
    caplog: pytest.LogCaptureFixture,
) -> None:
    proto, t, _ = connect()
    with caplog.at_level(logging.ERROR, logger="crdtredis.connection"):
        proto.data_received(b"PING\r\nBOOM secret\r\nPING\r\n")
    assert t.writes == [b"+PONG\r\n-ERR internal error: ValueError\r\n+PONG\r\n"]
    assert not t.closed
    record = next(r for r in caplog.records if r.name == "crdtredis.connection")
    assert record.exc_info is not None and "secret" not in record.getMessage()


async def test_connection_unencodable_reply_leaves_no_partial_bytes(caplog: pytest.LogCaptureFixture) -> None:
    proto, t, _ = connect()
    with caplog.at_level(logging.ERROR, logger="crdtredis.connection"):
        proto.data_received(b"BADREPLY\r\nPING\r\n")
    assert t.writes == [b"-ERR internal error: TypeError\r\n+PONG\r\n"]


# -- batch_done (durability) ---------------------------------------------------------------


async def test_connection_replies_wait_for_batch_done_awaitable() -> None:
    proto, t, server = connect()
    gate: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    server.batch_hook = lambda: gate
    proto.data_received(b"SET a 1\r\n")
    assert t.writes == []
    proto.data_received(b"GET a\r\n")  # buffered: runs after the first batch is written
    assert [a[0] for a in server.executed] == [b"SET"]
    server.batch_hook = lambda: None
    gate.set_result(None)
    await until(lambda: len(t.writes) == 2)
    assert t.writes == [b"+OK\r\n", b"$1\r\n1\r\n"]


async def test_connection_batch_done_coroutine_and_close_after_quit() -> None:
    proto, t, server = connect()

    async def fsync() -> None:
        await asyncio.sleep(0)

    server.batch_hook = fsync
    proto.data_received(b"SET a 1\r\nQUIT\r\n")
    assert t.writes == [] and not t.closed
    await until(lambda: t.closed)
    assert t.writes == [b"+OK\r\n+OK\r\n"]


async def test_connection_batch_done_failure_closes_without_replies(caplog: pytest.LogCaptureFixture) -> None:
    proto, t, server = connect()

    async def broken() -> None:
        raise OSError("disk full")

    server.batch_hook = broken
    with caplog.at_level(logging.ERROR, logger="crdtredis.connection"):
        proto.data_received(b"SET a 1\r\n")
        await until(lambda: t.closed)
    assert t.writes == []


async def test_connection_batch_done_future_failure_closes_without_replies(caplog: pytest.LogCaptureFixture) -> None:
    proto, t, server = connect()
    gate: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    server.batch_hook = lambda: gate
    proto.data_received(b"SET a 1\r\n")
    with caplog.at_level(logging.ERROR, logger="crdtredis.connection"):
        gate.set_exception(OSError("disk full"))
        await until(lambda: t.closed)
    assert t.writes == []


# -- flow control and addresses --------------------------------------------------------------


async def test_connection_flow_control_pauses_reading_on_high_water() -> None:
    proto, t, _ = connect()
    assert t.limits == (WRITE_HIGH_WATER, WRITE_LOW_WATER)
    proto.pause_writing()
    assert not t.reading
    proto.data_received(b"PING\r\n")  # already-read requests still run
    assert t.writes == [b"+PONG\r\n"]
    proto.resume_writing()
    assert t.reading


async def test_connection_flow_control_and_blocking_combine() -> None:
    from crdtredis.protocol import connection

    proto, t, server = connect()
    proto.data_received(b"BLOCK\r\n")
    await until(lambda: len(server.futures) == 1)
    assert t.reading  # blocked clients are still read (buffered only)
    proto.pause_writing()
    assert not t.reading
    proto.resume_writing()
    assert t.reading
    # A flood of requests while blocked pauses reading until the block resolves.
    big = b"PING\r\n" * (connection.BLOCKED_BUFFER_LIMIT // 6 + 1)
    proto.data_received(big)
    assert not t.reading
    server.futures[0].set_result(b"v")
    await until(lambda: t.reading)


async def test_connection_addresses() -> None:
    _, _, server = connect()
    assert (server.clients[0].addr, server.clients[0].laddr) == ("127.0.0.1:50000", "127.0.0.1:6379")
    assert format_addr(("::1", 7000, 0, 0)) == "[::1]:7000"
    assert format_addr("/tmp/redis.sock") == "/tmp/redis.sock:0"
    assert format_addr(None) == ""


# -- over a real socket, with asyncio's and uvloop's transports ----------------------------


async def _roundtrip_over_socket() -> list[Any]:
    import redis.asyncio as aioredis

    server = FakeServer()
    loop = asyncio.get_running_loop()
    srv = await loop.create_server(lambda: RedisProtocol(server), "127.0.0.1", 0)
    port = srv.sockets[0].getsockname()[1]
    client = aioredis.Redis(host="127.0.0.1", port=port)
    try:
        async with client.pipeline(transaction=False) as pipe:
            for i in range(50):
                pipe.set(f"k{i}", b"v" * i)
            pipe.get("k49")
            pipe.get("missing")
            results: list[Any] = await pipe.execute()
        results.append(await client.ping())
        return results[-3:]
    finally:
        await client.aclose()
        srv.close()
        await srv.wait_closed()


@pytest.mark.parametrize("loop_kind", ["asyncio", "uvloop"])
def test_connection_over_real_socket(loop_kind: str) -> None:
    if loop_kind == "uvloop":
        uvloop = pytest.importorskip("uvloop")
        result = uvloop.run(asyncio.wait_for(_roundtrip_over_socket(), 10))
    else:
        result = asyncio.run(asyncio.wait_for(_roundtrip_over_socket(), 10))
    assert result == [b"v" * 49, None, True]


async def test_a_failed_end_of_turn_write_does_not_hold_the_other_replies() -> None:
    server = FakeServer()
    p1, t1, _ = connect(server)
    p2, t2, _ = connect(server)
    p3, t3, _ = connect(server)
    p1.data_received(cmds([b"PING"]))  # the turn's first batch: written at once
    p2.data_received(cmds([b"PING"]))

    def broken(data: Any) -> None:
        raise RuntimeError("transport gone")

    t2.write = broken  # type: ignore[method-assign]
    p3.data_received(cmds([b"PING"]))
    await until(lambda: bool(t3.writes))
    assert t3.writes == [b"+PONG\r\n"]
