"""The asyncio adapter: bytes in, argument lists to the server, one write of replies out.

Per read: feed the reader, execute every complete request in order, encode each reply into
one buffer, call `server.batch_done()`, then write the buffer once. Writing once per read
instead of once per reply is the single largest speed factor for pipelining clients.

Slow paths share one rule: replies leave in request order, and never before the
`batch_done()` of the batch that produced them has completed (durability: with fsync
always, a client must not see OK for a write that is not yet on disk). A batch that wrote
usually waits: batch_done() then returns the op log's group-commit future, shared by every
connection that wrote in this loop turn, and the replies go out once the log write is done.
A batch that only read writes at the end of the turn too, with the other connections'
replies (protocol/turn.py), unless it is a lone client's: Redis writes every reply in
beforeSleep.

Out-of-band data (pub/sub messages, tracking invalidations, MONITOR lines) arrives through
`push`: it joins the replies not yet written, so it never overtakes them; with none
pending it is collected and written once per event-loop turn (a PUBLISH pipeline to ten
subscribers is ten writes per turn, not ten per message, like Redis's writes in
beforeSleep). Data a client must see only after its current reply (its own invalidations,
Redis's tracking_pending_keys) waits in `client.after`. Every write checks the client
against `client-output-buffer-limit` (see `_check_output`).

Fairness: a client whose reads are large (a flood of big PUBLISHes) has its reading
paused for the rest of the loop turn once it has sent FAIR_SHARE bytes in it, so the
other clients are served in between (Redis reads 16 KB per client per event).
"""
from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, Protocol, cast

from crdtredis import limits
from crdtredis.client import REPLY_OFF, REPLY_ON, REPLY_SKIP, REPLY_SKIP_NEXT, Client
from crdtredis.protocol import plainrun
from crdtredis.protocol.plainrun import CLOSING, DONE, RAISED
from crdtredis.protocol.reader import ProtocolError, RequestReader
from crdtredis.protocol.resp import _BULK_HDR, _INT_MIN, _INT_REPLY, _TABLE, encode_reply
from crdtredis.protocol.turn import TurnWriter, turn_writer
from crdtredis.reply import OK, Deferred, ErrorReply, Push
from crdtredis.storage.commit import GroupCommit

__all__ = ["RedisProtocol", "ServerLike", "WRITE_HIGH_WATER", "WRITE_LOW_WATER"]

log = logging.getLogger("crdtredis.connection")

# Stop reading a client once this much reply data is queued (it is not reading its
# replies: pipelined GETs of big values, or a stalled consumer), resume below the low mark.
WRITE_HIGH_WATER = 1024 * 1024
WRITE_LOW_WATER = 256 * 1024
# Requests a blocked client may send before reading from it pauses (Redis buffers a
# blocked client's query buffer too, up to client-query-buffer-limit).
BLOCKED_BUFFER_LIMIT = 64 * 1024 * 1024
# Bytes one connection may have processed in one event-loop turn (see the docstring).
# Only reads of at least FAIR_CHUNK start the count, so ordinary requests pay nothing.
FAIR_SHARE = 256 * 1024
FAIR_CHUNK = 64 * 1024

_OK_WIRE = b"+OK\r\n"
_now = time.time
_NOTHING: Any = object()  # "no pending reply" (None is a reply: the null bulk string)
# The compiled loop of a read batch's plain requests, or None: the loop below does it all.
_RUN_PLAIN = plainrun.native()


def _same_name(a: list[bytes], b: list[bytes]) -> bool:
    """Two requests spelled alike (runs.py), as plainrun.pyx compares them."""
    return bool(a) and bool(b) and a[0] == b[0]


def _cmd_run(run_cmds: Callable[..., Any], client: Client, cmds: list[list[bytes]], a: int,
             out: bytearray) -> tuple[int, Any, BaseException | None, int]:
    """The Python loop's twin of plainrun.pyx's runs: cmds[a] and cmds[a + 1] are spelled
    alike; the run of them from a goes to `run_cmds` (runs.py). Returns `(k, last, exc, j)`:
    j ends the run; k and exc as `run_cmds` returns them. With exc, the k replies are
    written; else those but the last are, and `last` is the last (the caller writes it)."""
    j = a + 2
    while j < len(cmds) and _same_name(cmds[a], cmds[j]):
        j += 1
    k, replies, exc = run_cmds(client, cmds, a, j)
    if k <= 0 and exc is None:
        return k, _NOTHING, None, j
    resp = client.resp
    done = k if exc is not None else k - 1
    if replies is None:
        out += _OK_WIRE * done
    else:
        for x in range(done):
            encode_reply(out, replies[x], resp)
    if exc is not None:
        return k, _NOTHING, exc, j
    return k, OK if replies is None else replies[k - 1], None, j


class ServerLike(Protocol):
    proto_max_bulk_len: int
    # client-output-buffer-limit by class: {"normal": (hard, soft, soft_seconds), ...}.
    obuf_limits: dict[str, tuple[int, int, int]]
    obuf_disconnections: int

    def new_client(self, addr: str, laddr: str, close_cb: Callable[[], None]) -> Client: ...

    def execute(self, client: Client, argv: list[bytes]) -> Any: ...

    def drop_client(self, client: Client) -> None: ...

    def batch_done(self) -> Awaitable[None] | None: ...


def format_addr(info: Any) -> str:
    """`ip:port` the way Redis prints it in CLIENT LIST: IPv6 in brackets, a unix socket
    as `path:0`."""
    if isinstance(info, tuple) and len(info) >= 2:
        host, port = info[0], info[1]
        return f"[{host}]:{port}" if ":" in str(host) else f"{host}:{port}"
    if isinstance(info, str) and info:
        return f"{info}:0"
    return ""


class RedisProtocol(asyncio.Protocol):
    """One client connection. See the module docstring for the write discipline."""

    def __init__(self, server: ServerLike) -> None:
        self._server = server
        self._execute = server.execute
        # A read batch's runs of one command, in one call each (crdtredis/runs.py);
        # None for a server without it (a test's plain ServerLike).
        self._run_cmds: Callable[..., Any] | None = getattr(server, "run_cmds", None)
        self._reader = RequestReader(server.proto_max_bulk_len)
        self._transport: asyncio.Transport | None = None
        self._client: Client = Client(0)  # replaced in connection_made
        # Requests parsed but not yet executed because an earlier one blocked.
        self._backlog: list[list[bytes]] = []
        # A Deferred or a batch_done() awaitable is pending: buffer input, execute nothing.
        self._waiting = False
        self._commit_out: bytearray | None = None  # the replies a GroupCommit holds
        # Bytes received while a request is blocked (bounded by BLOCKED_BUFFER_LIMIT).
        self._blocked_bytes = 0
        self._deferred: Deferred | None = None
        self._task: asyncio.Task[None] | None = None
        self._running = False  # inside _run, so a close_cb is handled there
        self._done = False  # closing or closed: ignore further input
        self._lost = False
        self._write_paused = False
        self._read_paused = False
        # Bytes produced and not written yet: replies of the running (or waiting) batch when
        # `_out_owned`, else pushes collected for the end-of-turn flush.
        self._out: bytearray | None = None
        self._out_owned = False
        # Input bytes processed in this loop turn (fairness), and the pause it caused.
        self._turn_bytes = 0
        self._fair_paused = False
        # When the output first went over the soft limit (0: it is not over).
        self._soft_since = 0.0
        # The node whose client-query-buffer-limit applies (limits.py); None: no limit.
        self._limits_node: Any = None
        # Where a read-only batch's replies wait for the end of the turn (protocol/turn.py).
        self._turn: TurnWriter | None = None

    # -- asyncio callbacks -------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not asyncio.Transport subclasses: no isinstance check.
        self._transport = transport = cast(asyncio.Transport, transport)
        transport.set_write_buffer_limits(high=WRITE_HIGH_WATER, low=WRITE_LOW_WATER)
        self._client = self._server.new_client(
            format_addr(transport.get_extra_info("peername")),
            format_addr(transport.get_extra_info("sockname")),
            self._close_requested,
        )
        self._client.conn = self
        node = cast(Any, self._server)
        if hasattr(node, "runtime"):  # a Node (tests may serve a plain ServerLike)
            peer = transport.get_extra_info("peername")
            refusal = limits.accept_error(node, peer[0] if isinstance(peer, tuple) else "")
            if refusal is not None:
                transport.write(refusal)
                self._close_transport()
                return
            limits.keepalive(node, transport.get_extra_info("socket"))
            self._limits_node = node

    def data_received(self, data: bytes) -> None:
        if self._done:
            return
        self._client.last_cmd_at = _now()  # Redis lastinteraction: `timeout`, CLIENT LIST idle
        if self._waiting:
            self._reader.feed(data)  # runs when the pending reply has gone out
            if self._deferred is not None:
                self._blocked_bytes += len(data)
                if self._blocked_bytes > BLOCKED_BUFFER_LIMIT:
                    self._update_reading()
            return
        if len(data) >= FAIR_CHUNK or self._turn_bytes:
            self._count_turn(len(data))
        self._run(data)
        if not self._done and self._limits_node is not None:
            n = self._reader.buffered()
            if n and n > limits.query_buffer_limit(self._limits_node):
                self._query_buffer_overrun()

    def _query_buffer_overrun(self) -> None:
        """client-query-buffer-limit (limits.py): closed at once, its input dropped."""
        client = self._client
        log.warning("Closing client that reached max query buffer length: id=%d addr=%s (qbuf %d bytes)",
                    client.id, client.addr, self._reader.buffered())
        self._abort()

    def _count_turn(self, n: int) -> None:
        if not self._turn_bytes:
            asyncio.get_running_loop().call_soon(self._end_turn)
        self._turn_bytes += n
        if self._turn_bytes >= FAIR_SHARE and not self._fair_paused:
            self._fair_paused = True
            self._update_reading()

    def _end_turn(self) -> None:
        self._turn_bytes = 0
        if self._fair_paused:
            self._fair_paused = False
            self._update_reading()

    def connection_lost(self, exc: Exception | None) -> None:
        self._lost = True
        self._done = True
        deferred = self._deferred
        if deferred is not None and not deferred.future.done():
            deferred.future.cancel()  # the server's blocked-client bookkeeping sees this
        self._deferred = None
        self._backlog = []
        self._server.drop_client(self._client)

    def fileno(self) -> int:
        """The socket's file descriptor, or -1 (a busy script polls it: scripting/busy.py)."""
        transport = self._transport
        if transport is None or self._lost or transport.is_closing():
            return -1
        sock = transport.get_extra_info("socket")
        try:
            return int(sock.fileno()) if sock is not None else -1
        except (OSError, ValueError):
            return -1

    # -- out-of-band data ----------------------------------------------------------------

    def push(self, data: bytes) -> None:
        """Queue `data` behind every reply already produced for this client."""
        if self._done:
            return
        out = self._out
        if out is None:
            out = self._out = bytearray()
            self._out_owned = False
            self._turn_writer().later(self)
        out += data

    def _turn_writer(self) -> TurnWriter:
        turn = self._turn
        if turn is None:
            turn = self._turn = turn_writer(asyncio.get_running_loop())
        return turn

    def flush_turn(self) -> None:
        """Write what is produced and not owned by a waiting batch (the end-of-turn flush of
        pushes and of deferred replies)."""
        out = self._out
        if out is not None and not self._out_owned:
            self._write(out)

    def output_size(self) -> int:
        """Bytes produced for this client and not yet sent (CLIENT LIST omem)."""
        transport = self._transport
        n = len(self._out) if self._out is not None else 0
        if transport is not None and not self._lost:
            n += transport.get_write_buffer_size()
        return n

    def _check_output(self) -> None:
        """Redis checkClientOutputBufferLimits: over the hard limit, or over the soft limit
        for longer than its seconds, the client is disconnected at once (its pending
        output is discarded, so the memory is freed) and counted in INFO stats."""
        client = self._client
        limits = self._server.obuf_limits
        if client.pubsub:
            hard, soft, secs = limits["pubsub"]
        else:
            hard, soft, secs = limits["normal"]
            if client.monitor and not (hard or soft):
                # Redis treats MONITOR clients as "normal", unlimited by default: a monitor
                # that stops reading would grow without bound. We hold it to the pubsub
                # limits then (docs/semantics.md, "Pub/sub").
                hard, soft, secs = limits["pubsub"]
        if not (hard or soft):
            return
        size = self.output_size()
        over = bool(hard) and size >= hard
        if not over and soft:
            if size >= soft:
                now = time.monotonic()
                if not self._soft_since:
                    self._soft_since = now
                elif now - self._soft_since > secs:
                    over = True
            else:
                self._soft_since = 0.0
        if over:
            log.warning(
                "Client id=%d addr=%s scheduled to be closed ASAP for overcoming of output buffer limits.",
                client.id, client.addr,
            )
            self._server.obuf_disconnections += 1
            self._abort()

    def abort(self) -> None:
        """Close now, discarding what is not written yet (Redis freeClientAsync)."""
        self._abort()

    def _abort(self) -> None:
        self._done = True
        self._out = None
        transport = self._transport
        if transport is not None and not self._lost:
            transport.abort()

    def pause_writing(self) -> None:
        self._write_paused = True
        self._update_reading()

    def resume_writing(self) -> None:
        self._write_paused = False
        self._update_reading()

    # -- the request loop --------------------------------------------------------------

    def _run(self, data: bytes | None = None, pending: Any = _NOTHING) -> None:
        """Execute the requests in `data` and whatever else is buffered, then write.
        `pending` is the reply of a request that was blocked and has resolved: it goes
        out before the replies of the requests after it."""
        client = self._client
        reader = self._reader
        execute = self._execute
        run_plain = _RUN_PLAIN
        run_cmds = self._run_cmds
        out = self._out
        if out is None:
            out = self._out = bytearray()
        # Pushes collected before this batch go out first; the batch now owns the buffer.
        self._out_owned = True
        # Whether this batch ran anything, so batch_done() must precede its write.
        executed = pending is not _NOTHING
        self._running = True
        client.batching = True  # batch_done() follows: the node may merge its writes
        try:
            if executed:
                if pending.__class__ is Deferred:
                    self._block(out, pending)
                    return
                if client.special:
                    self._special_reply(out, pending, client)
                else:
                    self._encode(out, pending, client)
                if client.closing:
                    self._finish(out, executed, close=True)
                    return
            reader.auth_required = not client.authenticated
            cmds = self._backlog
            if cmds:
                self._backlog = []
                if data is not None:
                    reader.feed(data)
            elif data is not None:
                cmds = reader.parse(data)
            else:
                cmds = reader.get_commands()
            if len(cmds) == 1 and not reader.more:
                client.batching = False  # one request: nothing could share its op
            while cmds:
                executed = True
                i, n = 0, len(cmds)
                skip = 0  # the Python loop starts no run before cmds[skip] (run_cmds declined one)
                while i < n:
                    argv = cmds[i]
                    i += 1
                    try:
                        if run_plain is None or client.special:
                            reply = _NOTHING
                            if run_cmds is not None and skip < i < n and _same_name(argv, cmds[i]):
                                # A run in one call, as the compiled loop hands it over.
                                k, reply, exc, j = _cmd_run(run_cmds, client, cmds, i - 1, out)
                                if k < 0:
                                    skip = j
                                elif exc is not None:
                                    i += k
                                    argv = cmds[i - 1]
                                    raise exc
                                elif k > 0:  # the run's last reply is handled below
                                    i += k - 1
                                    argv = cmds[i - 1]
                            if reply is _NOTHING:
                                reply = execute(client, argv)
                        else:
                            # The compiled loop runs and encodes what it can (plainrun.py),
                            # then hands over the request it stopped on, if any.
                            j, reply, state = run_plain(execute, client, cmds, i - 1, out, run_cmds)
                            if state == DONE:
                                break
                            if state == CLOSING:
                                self._finish(out, executed, close=True)
                                return
                            argv = cmds[j]
                            i = j + 1
                            if state == RAISED:
                                raise reply
                        if reply.__class__ is Deferred:
                            self._backlog = cmds[i:]
                            self._block(out, reply)
                            return
                        if client.special:
                            self._special_reply(out, reply, client)
                        elif reply is OK:  # the most common reply: skip the encoder call
                            out += _OK_WIRE
                        elif reply.__class__ is int:  # every other write family's reply
                            out += _INT_REPLY[reply - _INT_MIN] if _INT_MIN <= reply < _TABLE \
                                else b":%d\r\n" % reply
                        elif reply.__class__ is bytes:  # GET's: a bulk string in RESP2 and 3 alike
                            ln = len(reply)
                            out += _BULK_HDR[ln] if ln < _TABLE else b"$%d\r\n" % ln
                            out += reply
                            out += b"\r\n"
                        else:
                            encode_reply(out, reply, client.resp)
                    except Exception as exc:
                        self._internal_error(out, argv, exc)
                    if client.closing:  # QUIT, CLIENT KILL of itself: later requests are dropped
                        self._finish(out, executed, close=True)
                        return
                if not reader.more:
                    break
                reader.auth_required = not client.authenticated
                cmds = reader.get_commands()
        except ProtocolError as e:
            out += e.wire()
            self._finish(out, executed, close=True)
            return
        finally:
            self._running = False
            client.batching = False
        if executed:
            aw = self._server.batch_done()
            if aw is not None:
                if aw.__class__ is GroupCommit:
                    # The op log's group commit, awaited by every writing batch: the write
                    # calls us back directly (storage/commit.py), no Task, no Future.
                    self._waiting = True
                    self._commit_out = out
                    aw.add_waiter(self._committed)
                    return
                if isinstance(aw, asyncio.Future):  # appendfsync always: the fsync's future
                    self._waiting = True
                    self._commit_out = out
                    aw.add_done_callback(self._future_done)
                    return
                self._wait(self._write_later(aw, out, False, None))
                return
            if self._turn_writer().defer(self):
                self._out_owned = False  # the turn's end writes it, with what is pushed meanwhile
                return
        self._write(out)

    def _special_reply(self, out: bytearray, reply: Any, client: Client) -> None:
        """Encode a reply under CLIENT REPLY OFF/SKIP (Push data always goes out), then
        whatever must follow it (`client.after`)."""
        mode = client.reply_mode
        if mode == REPLY_ON or reply.__class__ is Push:
            self._encode(out, reply, client)
        if mode != REPLY_ON and mode != REPLY_OFF:
            # SKIP_NEXT drops the reply of CLIENT REPLY SKIP itself, then SKIP the next one.
            client.reply_mode = REPLY_SKIP if mode == REPLY_SKIP_NEXT else REPLY_ON
            client.refresh()
        after = client.after
        if after:
            client.after = bytearray()
            out += after

    def _future_done(self, fut: asyncio.Future[Any]) -> None:
        self._committed(asyncio.CancelledError() if fut.cancelled() else fut.exception())

    def _committed(self, exc: BaseException | None) -> None:
        """The group commit batch_done() returned is done: write the batch's replies, go on."""
        out, self._commit_out = self._commit_out, None
        if self._lost or out is None:
            return
        if exc is not None:
            # The batch may not be durable: do not acknowledge it.
            log.error("batch_done failed; closing the connection without replies", exc_info=exc)
            self._close_transport()
            return
        self._write(out)
        self._resume(_NOTHING)

    def _encode(self, out: bytearray, reply: Any, client: Client) -> None:
        try:
            encode_reply(out, reply, client.resp)
        except Exception as exc:
            self._internal_error(out, None, exc)

    @staticmethod
    def _internal_error(out: bytearray, argv: list[bytes] | None, exc: Exception) -> None:
        # Only the command name: arguments may hold secrets (AUTH) or megabytes.
        name = argv[0][:64] if argv else b"?"
        log.error("internal error in %r", name, exc_info=exc)
        out += b"-ERR internal error: " + type(exc).__name__.encode() + b"\r\n"

    def _finish(self, out: bytearray, executed: bool, close: bool) -> None:
        """Write `out` after batch_done() (if anything ran), then close if asked."""
        if close:
            self._done = True
        aw = self._server.batch_done() if executed else None
        if aw is not None:
            self._wait(self._write_later(aw, out, close, None))
            return
        self._write(out)
        if close:
            self._close_transport()

    def _write(self, out: bytearray) -> None:
        if self._out is out:
            self._out = None
            self._out_owned = False
        transport = self._transport
        # After a close (CLIENT KILL while a batch_done() was pending) nothing more goes out.
        if out and transport is not None and not self._lost and not transport.is_closing():
            transport.write(out)
            if transport.get_write_buffer_size():
                self._check_output()

    def _block(self, out: bytearray, deferred: Deferred) -> None:
        """A request blocked: send what is ready, run nothing more until it resolves."""
        self._deferred = deferred
        self._update_reading()
        self._wait(self._write_later(self._server.batch_done(), out, False, deferred))

    def _wait(self, coro: Any) -> None:
        self._waiting = True
        self._task = asyncio.get_running_loop().create_task(coro)

    async def _write_later(
        self, aw: Awaitable[None] | None, out: bytearray, close: bool, deferred: Deferred | None
    ) -> None:
        try:
            if aw is not None:
                try:
                    await aw
                except Exception:
                    # The batch may not be durable: do not acknowledge it.
                    log.exception("batch_done failed; closing the connection without replies")
                    self._close_transport()
                    return
            if self._lost:
                return
            self._write(out)
            if close:
                self._close_transport()
                return
            if deferred is None:
                self._resume(_NOTHING)
                return
            try:
                result = await deferred.future
            except asyncio.CancelledError:
                if not self._lost:  # cancelled by the server (shutdown), not by us
                    self._close_transport()
                return
            except Exception as exc:
                log.error("blocked request failed", exc_info=exc)
                result = ErrorReply(f"ERR internal error: {type(exc).__name__}")
            self._deferred = None
            self._resume(result)
        finally:
            # _resume may have started the next wait: keep the reference to that task
            # (the loop holds tasks only weakly).
            if self._task is asyncio.current_task():
                self._task = None

    def _resume(self, pending: Any) -> None:
        self._waiting = False
        self._blocked_bytes = 0
        if self._done:
            return
        self._update_reading()
        if pending is _NOTHING and not self._backlog and self._out is None and self._reader.idle():
            return  # nothing arrived meanwhile: no batch to run
        self._run(None, pending)

    # -- closing and flow control ------------------------------------------------------

    def _close_requested(self) -> None:
        """Client.close(): CLIENT KILL, SHUTDOWN. While this connection runs a request
        (it killed itself) _run closes after that request's reply; otherwise close now."""
        if self._running:
            return
        self._close_transport()

    def _close_transport(self) -> None:
        self._done = True
        if self._transport is not None and not self._lost:
            self._transport.close()

    def _update_reading(self) -> None:
        transport = self._transport
        if transport is None or self._lost or transport.is_closing():
            return
        # A blocked client keeps being read (its requests are only buffered): that is how
        # its disconnect is noticed, which cancels the blocked pop before it takes an
        # element for nobody. Only a flood of requests while blocked pauses reading.
        pause = self._write_paused or self._fair_paused or (
            self._deferred is not None and self._blocked_bytes > BLOCKED_BUFFER_LIMIT
        )
        if pause != self._read_paused:
            self._read_paused = pause
            if pause:
                transport.pause_reading()
            else:
                transport.resume_reading()
