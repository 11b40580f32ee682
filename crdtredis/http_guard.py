"""What the HTTP side checks before it does any work for a caller (docs/security.md).

* **Slow or half-sent requests.** aiohttp has no header-read timeout: a client that sends
  half a request line keeps its connection (and a slot of the server) for as long as the
  keep-alive timeout, an hour in recent versions. `GuardedSite` serves the app through a
  thin protocol wrapper that closes a connection whose request headers are not complete
  `header_timeout` seconds after its first byte (or after the connection opened); bodies
  are read by `read_body`, which gives up when the sender pauses that long.
* **Admin endpoints.** /config, /stats and /metrics answer only with `Authorization:
  Bearer <token>`, the token being `admin_token`, else the node's `requirepass`, when
  either is set. /health stays open (load balancers).
* **Peer endpoints** (/repl/*): the peer token (`X-CRDT-Token`), when one is configured;
  with `tls_ca`, a client certificate that CA signed; `Content-Type:
  application/x-protobuf` (a browser cannot send that without a CORS preflight, which
  nothing here answers, so a web page cannot post to a peer); and a `Content-Length` not
  above `peer_max_body`. All of it is checked before a byte of the body is read.
"""
from __future__ import annotations

import asyncio
import hmac
import logging
import ssl
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError

log = logging.getLogger("crdtredis.http")

PEER_CONTENT_TYPE = "application/x-protobuf"
TOKEN_HEADER = "X-CRDT-Token"
REASON_HEADER = "X-CRDT-Reason"

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def header_text(text: str) -> str:
    """`text` fit for a header value: reasons quote what a peer sent, which may hold any
    character (a newline would be header injection, and aiohttp refuses to send it)."""
    return "".join(c if " " <= c <= "~" else "?" for c in text[:500])


def refuse(status: int, reason: str, close: bool = False) -> web.Response:
    """An error answer with its reason in a header (read by the peer that sent the request).
    `close`: the request's body was not read, so the connection must not be reused."""
    reason = header_text(reason)
    resp = web.Response(status=status, text=reason + "\n", headers={REASON_HEADER: reason})
    if close:
        resp.force_close()
    return resp


def _same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode(), expected.encode())


# ---- admin endpoints -------------------------------------------------------------------------
def admin_token(node: Any) -> str | None:
    """The token /config, /stats and /metrics require now (None: they are open)."""
    cfg = node.config
    tok = getattr(cfg, "admin_token", None)
    if tok:
        return str(tok)
    # The node's requirepass follows CONFIG SET; a bare test double only has its config.
    pw = getattr(node, "requirepass", cfg.requirepass)
    return str(pw) if pw else None


def require_admin(get_node: Callable[[web.Request], Any], handler: Handler) -> Handler:
    async def guarded(request: web.Request) -> web.StreamResponse:
        token = admin_token(get_node(request))
        if token is not None:
            auth = request.headers.get("Authorization", "")
            scheme, _, given = auth.partition(" ")
            if not auth:
                resp = refuse(401, "this endpoint needs Authorization: Bearer <admin_token or requirepass>")
                resp.headers["WWW-Authenticate"] = 'Bearer realm="crdt-redis"'
                return resp
            if scheme.lower() != "bearer" or not _same(given.strip(), token):
                return refuse(403, "wrong admin token")
        return await handler(request)

    return guarded


# ---- peer endpoints ----------------------------------------------------------------------------
def peer_preflight(request: web.Request, config: Any, body: bool = True) -> web.Response | None:
    """Refusal of a peer request from its headers alone (nothing read yet), or None."""
    token = config.peer_token
    if token:
        got = request.headers.get(TOKEN_HEADER, "")
        if not got:
            return refuse(401, "missing peer token", close=True)
        if not _same(got, token):
            return refuse(403, "wrong peer token", close=True)
    if config.tls_ca and config.tls_cert and not _client_cert(request):
        return refuse(401, "peers must present a client certificate signed by tls_ca", close=True)
    if not body:
        return None
    ctype = request.headers.get("Content-Type", "").split(";", 1)[0].strip().lower()
    if ctype != PEER_CONTENT_TYPE:
        return refuse(415, f"peer requests must be {PEER_CONTENT_TYPE}", close=True)
    n = request.content_length
    if n is not None and n > config.peer_max_body:
        return refuse(413, f"request body of {n} bytes exceeds peer_max_body ({config.peer_max_body}) "
                           "on this node", close=True)
    return None


async def read_peer_body(request: web.Request, config: Any, loading: bool) -> tuple[bytes, web.Response | None]:
    """A peer POST's body once its headers pass `peer_preflight` (token, client certificate,
    content type and length are checked before any of it is read), or the refusal."""
    bad = peer_preflight(request, config)
    if bad is not None:
        return b"", bad
    if not config.peers:
        return b"", refuse(409, "this node runs without peers; restart it with --peer to replicate", close=True)
    if loading:
        return b"", refuse(503, "loading", close=True)
    try:
        return await read_body(request, config.peer_max_body, config.http_header_timeout), None
    except BodyError as e:
        return b"", refuse(e.status, e.reason, close=True)


def _client_cert(request: web.Request) -> bool:
    transport = request.transport
    obj = transport.get_extra_info("ssl_object") if transport is not None else None
    # getpeercert() is {} when the client sent none (CERT_OPTIONAL), else the verified cert.
    return bool(obj is not None and obj.getpeercert())


class QuietBadRequests(logging.Filter):
    """aiohttp logs every malformed request (a bad Content-Length, a TLS hello on the plain
    port) with a traceback at ERROR: anyone could fill our log. One debug line instead."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if isinstance(exc, HttpProcessingError):
            log.debug("malformed HTTP request: %s", str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
            return False
        return True


_QUIET = QuietBadRequests()


def quiet_bad_requests() -> None:
    logger = logging.getLogger("aiohttp.server")
    if _QUIET not in logger.filters:
        logger.addFilter(_QUIET)


class BodyError(Exception):
    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


async def read_body(request: web.Request, limit: int, idle_timeout: float) -> bytes:
    """The whole body, at most `limit` bytes, the sender never pausing `idle_timeout`
    seconds (a slow but steady peer on a thin link is fine; a stalled one is not)."""
    buf = bytearray()
    content = request.content
    while True:
        try:
            chunk = await asyncio.wait_for(content.readany(), idle_timeout)
        except TimeoutError:
            raise BodyError(408, f"request body stalled for {idle_timeout:g}s") from None
        except ConnectionResetError:
            # The sender went away mid-body (a peer shutting down): a refusal nobody will
            # read, where the raise would reach aiohttp and be logged as an error.
            raise BodyError(400, "connection lost before the request body was complete") from None
        if not chunk:
            return bytes(buf)
        buf += chunk
        if len(buf) > limit:
            raise BodyError(413, f"request body exceeds peer_max_body ({limit}) on this node")


# ---- slow clients ------------------------------------------------------------------------------
# The wrapper of each open connection, by aiohttp's protocol object (request.protocol).
_GUARDS: dict[Any, _Guard] = {}


class _Guard(asyncio.Protocol):
    """Wraps aiohttp's per-connection protocol; see the module docstring. A request is
    "in progress" from when the app sees it (headers complete) until its handler returns."""

    def __init__(self, inner: Any, timeout: float, loop: asyncio.AbstractEventLoop) -> None:
        self.inner = inner
        self.timeout = timeout
        self.loop = loop
        self.transport: asyncio.BaseTransport | None = None
        self.timer: asyncio.TimerHandle | None = None
        self.busy = False
        self.more = False  # bytes arrived while a request was in progress (pipelining)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport
        _GUARDS[self.inner] = self
        self._arm()  # a connection that never sends a whole request is closed too
        self.inner.connection_made(transport)

    def data_received(self, data: bytes) -> None:
        if self.busy:
            self.more = True
        elif self.timer is None:
            self._arm()
        self.inner.data_received(data)

    def eof_received(self) -> bool | None:
        return self.inner.eof_received()  # type: ignore[no-any-return]

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        _GUARDS.pop(self.inner, None)
        self.inner.connection_lost(exc)

    def pause_writing(self) -> None:
        self.inner.pause_writing()

    def resume_writing(self) -> None:
        self.inner.resume_writing()

    def _arm(self) -> None:
        self._disarm()
        self.timer = self.loop.call_later(self.timeout, self._expired)

    def _disarm(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None

    def _expired(self) -> None:
        self.timer = None
        if not self.busy and self.transport is not None and not self.transport.is_closing():
            log.debug("closing an HTTP connection whose request headers took over %gs", self.timeout)
            self.transport.close()

    def started(self) -> None:
        self.busy = True
        self.more = False
        self._disarm()

    def finished(self) -> None:
        self.busy = False
        if self.more:
            self._arm()


@web.middleware
async def track_requests(request: web.Request, handler: Handler) -> web.StreamResponse:
    g = _GUARDS.get(request.protocol)
    if g is None:
        return await handler(request)
    g.started()
    try:
        return await handler(request)
    finally:
        g.finished()


class GuardedSite(web.BaseSite):
    """A TCP site whose connections get `_Guard`; TLS handshakes get the same timeout."""

    __slots__ = ("_host", "_port", "_timeout")

    def __init__(self, runner: web.BaseRunner, host: str, port: int, *, header_timeout: float,
                 ssl_context: ssl.SSLContext | None = None, backlog: int = 511) -> None:
        super().__init__(runner, ssl_context=ssl_context, backlog=backlog)
        self._host = host
        self._port = port
        self._timeout = header_timeout

    @property
    def name(self) -> str:
        scheme = "https" if self._ssl_context else "http"
        return f"{scheme}://{self._host}:{self._port}"

    async def start(self) -> None:
        await super().start()
        loop = asyncio.get_running_loop()
        server = self._runner.server
        assert server is not None
        timeout = self._timeout
        self._server = await loop.create_server(
            lambda: _Guard(server(), timeout, loop), self._host, self._port, ssl=self._ssl_context,
            backlog=self._backlog, reuse_address=True,
            ssl_handshake_timeout=timeout if self._ssl_context is not None else None,
        )


__all__ = [
    "BodyError", "GuardedSite", "PEER_CONTENT_TYPE", "REASON_HEADER", "TOKEN_HEADER", "admin_token",
    "peer_preflight", "read_body", "read_peer_body", "refuse", "require_admin", "track_requests",
]
