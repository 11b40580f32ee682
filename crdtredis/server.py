"""Wires the parts: node, RESP listener, HTTP, periodic tasks. A fixed start/tick/shutdown
sequence (like uvicorn's server.py); persistence and replication plug in as components."""
from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
import time
from typing import TYPE_CHECKING, Any, Protocol

from . import gctune
from .commands import new_node

if TYPE_CHECKING:
    from .config import Config

log = logging.getLogger("crdtredis.server")


class Component(Protocol):
    """A part with a lifetime tied to the server: op log, replication, ..."""

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


class Server:
    def __init__(self, config: Config) -> None:
        from .storage.component import Persistence

        self.config = config
        # The data dir decides the incarnation, which names the node's origin.
        self.persistence = Persistence(config.data_dir, config.replica_id, bool(config.peers))
        self.node = new_node(config, incarnation=self.persistence.incarnation)
        self.persistence.attach(self.node)
        self.components: list[Component] = [self.persistence]
        if config.http_port:
            from .replication.service import Replication

            # Created before recovery so the replayed log tail fills the backlog.
            self.components.append(Replication(self.node, config))
        self._listener: asyncio.base_events.Server | None = None
        self._tls_listener: asyncio.base_events.Server | None = None
        self._http: Any = None
        self._tasks: list[asyncio.Task[None]] = []
        self._stop = asyncio.Event()
        self.exit_code = 0

    # ---- lifecycle ---------------------------------------------------------------------
    async def start(self) -> None:
        from .protocol.connection import RedisProtocol

        cfg = self.config
        node = self.node
        node.shutdown_cb = self.request_shutdown
        from .limits import attach as attach_limits

        attach_limits(node)  # `timeout` (idle clients) in the cron
        from .commands.maxmemory import evictor_of
        from .scripting.runner import scripting_of

        scripting_of(node).start_engines()  # counted from the start, not made by an INFO
        evictor_of(node).start_meter()  # used_memory_startup: before the data is loaded
        # HTTP first, so /health answers 503 "loading" while the log is replayed.
        if cfg.http_port:
            from .http import make_app, start_http
            from .tls import http_server_context

            # Peer routes read their bodies themselves, bounded by peer_max_body (http_guard.py).
            app = make_app(node, client_max_size=cfg.peer_max_body)
            for comp in self.components:
                add = getattr(comp, "add_routes", None)
                if add is not None:
                    add(app)
            try:
                self._http = await start_http(app, cfg.bind, cfg.http_port, ssl_context=http_server_context(cfg),
                                              header_timeout=cfg.http_header_timeout)
            except OSError as e:
                if cfg.peers:
                    raise  # replication needs it
                # A user who only asked for a Redis on its port gets one: the HTTP side
                # (/health, /metrics, replication) is optional without peers.
                log.warning("HTTP port %s:%d unavailable (%s): /health, /stats, /metrics are off; "
                            "set --http-port to another port (0 turns it off)", cfg.bind, cfg.http_port,
                            e.strerror or e)
        for comp in self.components:
            await comp.start()
        from .commands.functions import view_of

        view_of(node)  # the loaded function libraries compiled now, as Redis does: not by an INFO
        loop = asyncio.get_running_loop()
        self._listener = await loop.create_server(
            lambda: RedisProtocol(node), cfg.bind, cfg.server_port, reuse_address=True, backlog=511
        )
        if cfg.tls_port:
            from .tls import HANDSHAKE_TIMEOUT, resp_server_context

            # Not in listen_sockets: a busy script's accept loop speaks plain RESP only.
            self._tls_listener = await loop.create_server(
                lambda: RedisProtocol(node), cfg.bind, cfg.tls_port, ssl=resp_server_context(cfg),
                reuse_address=True, backlog=511, ssl_handshake_timeout=HANDSHAKE_TIMEOUT)
        # A script running past busy-reply-threshold keeps accepting (scripting/busy.py).
        node.listen_sockets = list(self._listener.sockets)
        node.listen_cb = self._listen_on
        self._tasks.append(asyncio.create_task(self._cron(), name="cron"))
        log.info(
            "crdt-redis %s ready: replica %s, RESP on %s:%d, HTTP on %s",
            node.origin, cfg.replica_id, cfg.bind, cfg.server_port,
            f"{cfg.bind}:{cfg.http_port}" if cfg.http_port else "off",
        )
        log.info("Ready to accept connections tcp")
        if cfg.tls_port:
            log.info("Ready to accept connections tls (port %d)", cfg.tls_port)

    def _listen_on(self, port: int) -> str | None:
        """CONFIG SET port: bind the new port now (so a failure is reported), then serve it
        and close the old listener; clients already connected stay."""
        from .protocol.connection import RedisProtocol

        sock = socket.socket(socket.AF_INET6 if ":" in self.config.bind else socket.AF_INET)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((self.config.bind, port))
            sock.listen(511)
        except OSError as e:
            sock.close()
            log.warning("Could not create server TCP listening socket %s:%d: %s", self.config.bind, port, e)
            return "Unable to listen on this port. Check server logs."
        node = self.node
        old = self._listener

        async def swap() -> None:
            self._listener = await asyncio.get_running_loop().create_server(
                lambda: RedisProtocol(node), sock=sock, backlog=511)
            if old is not None:
                old.close()

        self._tasks.append(asyncio.get_running_loop().create_task(swap(), name="listen"))
        return None

    async def _cron(self) -> None:
        """Redis's serverCron: active expiry at `hz`, never letting one failure stop it."""
        from .commands.keys import active_expire_cycle
        from .commands.latency import add_sample_if_needed

        period = 1.0 / self.config.hz
        while True:
            await asyncio.sleep(period)
            try:
                t0 = time.perf_counter_ns()
                active_expire_cycle(self.node)
                add_sample_if_needed(self.node, "expire-cycle", (time.perf_counter_ns() - t0) // 1_000_000)
            except Exception:  # noqa: BLE001 - the cron must survive any bug in one pass
                log.exception("active expiry pass failed")
            for hook in self.node.cron_hooks:
                try:
                    hook()
                except Exception:  # noqa: BLE001 - nor in one hook
                    log.exception("cron hook failed")

    def request_shutdown(self, save: bool = True) -> None:
        self._stop.set()

    async def wait(self) -> None:
        await self._stop.wait()

    async def shutdown(self) -> None:
        log.info("shutting down: closing listeners and clients")
        if self._listener is not None:
            self._listener.close()
        if self._tls_listener is not None:
            self._tls_listener.close()
        for t in self._tasks:
            t.cancel()
        for c in list(self.node.clients.values()):
            c.close()
        if self._http is not None:
            await self._http.cleanup()
        for comp in reversed(self.components):
            # Also after a failed start (a busy port): everything the log took is flushed
            # and fsynced, so the next start keeps this incarnation instead of burning one.
            try:
                await comp.stop()
            except Exception:  # noqa: BLE001 - stop the others even if one fails
                log.exception("component stop failed")
        log.info("crdt-redis is now ready to exit, bye bye...")


async def serve(config: Config) -> int:
    from .storage.manifest import StorageError

    try:
        server = Server(config)
    except StorageError as e:
        log.error("cannot use the data directory: %s", e)
        return 1
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        try:
            loop.add_signal_handler(sig, server.request_shutdown)
        except (NotImplementedError, RuntimeError):
            pass
    try:
        await server.start()
    except StorageError as e:
        log.error("refusing to start: %s", e)
        await server.shutdown()
        return 1
    except OSError as e:
        log.error("could not start: %s", e)
        await server.shutdown()
        return 1
    gctune.freeze_loaded()  # what start-up loaded is never traversed again (gctune.py)
    await server.wait()
    await server.shutdown()
    return server.exit_code


def run(config: Config) -> int:
    """Run a node until SHUTDOWN or SIGTERM/SIGINT; returns the process exit code."""
    t0 = time.time()
    gctune.tune()
    try:
        import uvloop

        return uvloop.run(serve(config))
    except ImportError:
        return asyncio.run(serve(config))
    finally:
        log.debug("ran for %.1fs (pid %d)", time.time() - t0, os.getpid())
