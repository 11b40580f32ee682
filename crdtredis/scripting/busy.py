"""Serving clients while a script runs past busy-reply-threshold.

The mechanism (Redis's processEventsWhileBlocked, transposed): scripts run on the event
loop's thread, so while one runs nothing else does, and no keyspace mutation can
interleave with it. The sandbox's count hook calls `Scripting.lua_hook` every 100000 Lua
instructions; once the script has run past the threshold, each hook call polls, with a
zero timeout, the sockets of every other client and the listening sockets, and feeds
what arrives to the connections exactly as the event loop would. The node is then
"busy": `Node.execute` answers every command without Redis's `allow_busy` flag with the
BUSY error, replies leave at once (no op-log wait: nothing is written meanwhile), and
SCRIPT KILL / FUNCTION KILL set the flag the hook turns into an error inside the script.

Everything else on the loop simply waits for the script: timers (active expiry,
replication GC, the op log's flush) and the HTTP server, so replication pushes and pulls
are not answered until the script ends (peers retry with backoff) and nothing replicated
is applied meanwhile. The script's own connection is not read (Redis's protectClient).

SHUTDOWN NOSAVE while busy ends the process at once, as in Redis: the ops already closed
are written to the op log first; the running script's op was never closed, so none of
its writes reaches the log or any peer. SHUTDOWN without NOSAVE answers BUSY.
"""
from __future__ import annotations

import asyncio
import logging
import os
import selectors
import socket
from typing import TYPE_CHECKING, Any

from ..protocol.connection import WRITE_HIGH_WATER, WRITE_LOW_WATER, RedisProtocol
from ..protocol.turn import turn_writer

if TYPE_CHECKING:
    from ..node import Node
    from .runner import RunCtx, Scripting

log = logging.getLogger("crdtredis.scripting")

_READ_SIZE = 65536


class _Listener:
    __slots__ = ("sock",)

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock


class BusyServer:
    def __init__(self, node: Node, scripting: Scripting) -> None:
        self.node = node
        self.scripting = scripting
        self.sel: selectors.BaseSelector | None = None
        self.accepted: list[tuple[_AdoptedProtocol, socket.socket]] = []
        self._shutdown_cb: Any = None

    def enter(self, ctx: RunCtx) -> None:
        from .runner import SLOW_EVAL, SLOW_SCRIPT

        node = self.node
        node.enter_busy(SLOW_EVAL if ctx.eval_mode else SLOW_SCRIPT)
        sel = selectors.DefaultSelector()
        for c in list(node.clients.values()):
            conn = c.conn
            if c is ctx.caller or conn is None:
                continue
            fd = conn.fileno()
            if fd >= 0:
                try:
                    sel.register(fd, selectors.EVENT_READ, conn)
                except (ValueError, KeyError, OSError):
                    pass
        for ls in node.listen_sockets:
            try:
                dup = socket.socket(fileno=os.dup(ls.fileno()))
                dup.setblocking(False)
                sel.register(dup, selectors.EVENT_READ, _Listener(dup))
            except OSError:
                continue
        self.sel = sel
        self._shutdown_cb = node.shutdown_cb
        node.shutdown_cb = self._shutdown

    def poll(self) -> None:
        sel = self.sel
        if sel is None:
            return
        try:
            ready = sel.select(0)
        except OSError:
            return
        for key, _mask in ready:
            what = key.data
            if isinstance(what, _Listener):
                self._accept(what.sock)
                continue
            try:
                data = os.read(key.fd, _READ_SIZE)
            except BlockingIOError:
                continue
            except OSError:
                data = b""
            if not data:
                # Closed or failed: the event loop notices once it runs again.
                sel.unregister(key.fileobj)
                continue
            try:
                what.data_received(data)
            except Exception:  # noqa: BLE001 - one client's failure must not end the script
                log.exception("serving a client while a script is busy")
        if ready:
            # Replies and pushes that wait for the end of the loop turn go out now: the
            # turn ends only after the script (Redis's beforeSleep runs in
            # processEventsWhileBlocked too).
            turn_writer(asyncio.get_running_loop()).flush()

    def _accept(self, lsock: socket.socket) -> None:
        assert self.sel is not None
        while True:
            try:
                sock, _addr = lsock.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                return
            sock.setblocking(False)
            proto = _AdoptedProtocol(self.node)
            proto.connection_made(_SocketTransport(sock, proto))
            self.accepted.append((proto, sock))
            self.sel.register(sock, selectors.EVENT_READ, proto)

    def leave(self) -> None:
        node = self.node
        sel = self.sel
        self.sel = None
        if sel is not None:
            for key in list(sel.get_map().values()):
                if isinstance(key.data, _Listener):
                    key.data.sock.close()
            sel.close()
        node.shutdown_cb = self._shutdown_cb
        self._shutdown_cb = None
        node.leave_busy()
        accepted, self.accepted = self.accepted, []
        if accepted:
            loop = asyncio.get_running_loop()
            for proto, sock in accepted:
                if proto.closed:
                    continue
                # The event loop takes the socket over; the protocol keeps its client.
                loop.create_task(loop.connect_accepted_socket(lambda p=proto: p, sock))  # type: ignore[misc]

    def _shutdown(self, save: bool = True) -> None:
        """SHUTDOWN NOSAVE while a script is busy: exit now, like Redis."""
        log.warning("SHUTDOWN NOSAVE while a script is busy: exiting without running it to the end")
        p = self.node.persistence
        try:
            if p is not None and p.oplog is not None:
                p.oplog.flush()
        except Exception:  # noqa: BLE001 - exiting anyway
            log.exception("could not flush the op log before exiting")
        logging.shutdown()
        os._exit(0)


class _SocketTransport(asyncio.Transport):
    """The transport of a connection accepted while the loop is held by a script: writes
    go straight to the socket (replies during a busy script are small)."""

    def __init__(self, sock: socket.socket, proto: _AdoptedProtocol) -> None:
        super().__init__()
        self.sock = sock
        self.proto = proto
        self.closing = False

    def write(self, data: Any) -> None:
        view = memoryview(bytes(data))
        self.sock.setblocking(True)
        self.sock.settimeout(1.0)
        try:
            self.sock.sendall(view)
        except OSError:
            self.close()
        finally:
            self.sock.setblocking(False)

    def is_closing(self) -> bool:
        return self.closing

    def close(self) -> None:
        if self.closing:
            return
        self.closing = True
        self.proto.closed = True
        try:
            self.sock.close()
        finally:
            self.proto.connection_lost(None)

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        try:
            if name == "peername":
                return self.sock.getpeername()
            if name == "sockname":
                return self.sock.getsockname()
            if name == "socket":
                return self.sock
        except OSError:
            return default
        return default

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        pass

    def get_write_buffer_size(self) -> int:
        return 0

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass


class _AdoptedProtocol(RedisProtocol):
    """A connection accepted while a script is busy. Served through _SocketTransport
    until the loop adopts the socket; then it keeps its client (AUTH, HELLO, SELECT...)."""

    def __init__(self, node: Node) -> None:
        super().__init__(node)
        self.adopted = False
        self.closed = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        if not self.adopted:
            self.adopted = True
            super().connection_made(transport)
            return
        self._transport = transport  # type: ignore[assignment]
        transport.set_write_buffer_limits(high=WRITE_HIGH_WATER, low=WRITE_LOW_WATER)  # type: ignore[attr-defined]
