"""MIGRATE (Redis 7.0 cluster.c migrateCommand): send keys to another server as RESTORE
commands carrying DUMP payloads, then delete them here (unless COPY).

The payloads are made when the command runs; the network I/O then runs on the event loop
while the client waits (a Deferred reply, as blocking commands do), so other clients are
served meanwhile. Each step (connect, each 64 kB written, each reply line) is bounded by
the timeout, as in Redis. Because the keys are no longer frozen during the I/O, a key
written by someone else meanwhile is not deleted afterwards (its newer value survives, as
an update survives a concurrent delete everywhere in crdt-redis). Inside MULTI or a script,
where a reply cannot wait, the I/O is done synchronously, bounded by the same timeouts.

Connections are cached per host:port for 10 seconds of idleness, at most 64 of them, with
the database they last selected (Redis's migrate_cached_sockets); a failed cached
connection is retried once on a fresh one when nothing was processed yet.
"""
from __future__ import annotations

import asyncio
import logging
import socket
import time
from typing import TYPE_CHECKING, Any

from .. import errors
from ..crdt import codes
from ..crdt.numbers import parse_int
from ..keyspace import Db, entry_stamp
from ..notify import GENERIC, notify_event
from ..reply import OK, CommandError, Deferred, ErrorReply, Reply, Status
from .dump_cmds import dump_payload
from .helpers import db_of, lookup_read, lookup_write, ttl_ms
from .registry import command
from .stream_util import from_script

if TYPE_CHECKING:
    from ..client import Client
    from ..node import Node

log = logging.getLogger(__name__)

KEYS_NOT_EMPTY = "ERR When using MIGRATE KEYS option, the key argument must be set to the empty string"
IOERR_CONNECT = "IOERR error or timeout connecting to the client"
IOERR_READ = "IOERR error or timeout reading to target instance"
IOERR_WRITE = "IOERR error or timeout writing to target instance"
NOKEY = Status(b"NOKEY")

CACHE_ITEMS = 64
CACHE_TTL_S = 10.0
CHUNK = 64 * 1024
LONG_MIN, LONG_MAX = -(1 << 63), (1 << 63) - 1


class _Conn:
    """A cached connection to a target: its streams and the database it last selected."""

    __slots__ = ("reader", "writer", "last_dbid", "last_use")

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.last_dbid = -1
        self.last_use = time.monotonic()

    def close(self) -> None:
        try:
            self.writer.close()
        except Exception:  # noqa: BLE001 - a dead socket: nothing to close
            pass


def _cache(node: Node) -> dict[bytes, _Conn]:
    c: dict[bytes, _Conn] | None = getattr(node, "migrate_sockets", None)
    if c is None:
        c = {}
        node.migrate_sockets = c  # type: ignore[attr-defined]
    return c


def _bulk(b: bytes) -> bytes:
    return b"$%d\r\n%s\r\n" % (len(b), b)


def _cmd(*args: bytes) -> bytes:
    return b"*%d\r\n" % len(args) + b"".join(_bulk(a) for a in args)


def _long(b: bytes) -> int:
    v = parse_int(b)
    if v is None or not LONG_MIN <= v <= LONG_MAX:
        raise CommandError(errors.NOT_INTEGER)
    return v


def _atoi(b: bytes) -> int:
    """C atoi, as Redis reads the port: leading blanks, a sign, digits; anything else 0."""
    s = b.lstrip(b" \t\n\v\f\r")
    i = 1 if s[:1] in (b"-", b"+") else 0
    j = i
    while j < len(s) and 48 <= s[j] <= 57:
        j += 1
    return int(s[:j]) if j > i else 0


class _Plan:
    """What one MIGRATE sends and what it needs to finish: the RESTORE commands and, per
    key, the entry and write stamp the payload was made from."""

    __slots__ = ("host", "port", "target", "dbid", "timeout_s", "copy", "auth", "restores", "keys")

    def __init__(self) -> None:
        self.host = ""
        self.port = 0
        self.target = b""
        self.dbid = 0
        self.timeout_s = 1.0
        self.copy = False
        self.auth = b""  # the AUTH command, if any
        self.restores = b""
        self.keys: list[tuple[bytes, Any, tuple[int, str]]] = []

    def request(self, select: bool) -> bytes:
        sel = _cmd(b"SELECT", b"%d" % self.dbid) if select else b""
        return self.auth + sel + self.restores


def _migrate_keys(argv: list[bytes]) -> list[int]:
    """migrateGetKeys: the key argument, or everything after KEYS when it is empty."""
    if len(argv) > 6:
        for i in range(6, len(argv)):
            if argv[i].lower() == b"keys" and argv[3] == b"":
                return list(range(i + 1, len(argv)))
    return [3]


# MIGRATE host port key|"" destination-db timeout [COPY] [REPLACE] [AUTH password] [AUTH2 username password] [KEYS key [key ...]]
@command("migrate", -6, "write", 3, 3, 1,
         summary="Atomically transfer a key from a Redis instance to another one.", since="2.6.0",
         acl="keyspace dangerous", getkeys=_migrate_keys)
def migrate_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    plan = _Plan()
    replace = False
    username: bytes | None = None
    password: bytes | None = None
    first, num = 3, 1
    j = 6
    n = len(argv)
    while j < n:
        more = n - 1 - j
        opt = argv[j].lower()
        if opt == b"copy":
            plan.copy = True
        elif opt == b"replace":
            replace = True
        elif opt == b"auth":
            if not more:
                raise CommandError(errors.SYNTAX)
            j += 1
            password = argv[j]
        elif opt == b"auth2":
            if more < 2:
                raise CommandError(errors.SYNTAX)
            username, password = argv[j + 1], argv[j + 2]
            j += 2
        elif opt == b"keys":
            if argv[3]:
                raise CommandError(KEYS_NOT_EMPTY)
            first, num = j + 1, n - j - 1
            break
        else:
            raise CommandError(errors.SYNTAX)
        j += 1
    timeout = _long(argv[5])
    plan.dbid = _long(argv[4])
    if timeout <= 0:
        timeout = 1000
    plan.timeout_s = timeout / 1000.0

    db = db_of(node, client)
    found = [(k, e) for k in argv[first:first + num] if (e := lookup_read(node, db, k)) is not None]
    if not found:
        return NOKEY
    if password is not None:
        plan.auth = _cmd(b"AUTH", password) if username is None else _cmd(b"AUTH", username, password)
    out: list[bytes] = []
    now = node.now_ms()
    for k, e in found:
        ttl = 0
        deadline = ttl_ms(db, k)
        if deadline is not None:
            ttl = deadline - now
            if ttl < 0:
                continue
            ttl = max(ttl, 1)
        args = [b"RESTORE", k, b"%d" % ttl, dump_payload(node, e)]
        if replace:
            args.append(b"REPLACE")
        out.append(_cmd(*args))
        plan.keys.append((k, e, entry_stamp(e)))
    plan.restores = b"".join(out)
    try:
        plan.host = argv[1].decode()
    except UnicodeDecodeError:
        return ErrorReply(IOERR_CONNECT)
    plan.port = _atoi(argv[2])
    plan.target = argv[1] + b":" + argv[2]
    if plan.port < 0:  # getaddrinfo refuses a negative service: no connection is tried
        return ErrorReply(IOERR_CONNECT)

    if client.in_exec or from_script(client):
        return _finish(node, db, plan, *_exchange_sync(plan))
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return _finish(node, db, plan, *_exchange_sync(plan))
    fut: asyncio.Future[Any] = loop.create_future()
    # The task finishes even if the client goes away meanwhile: the target may have taken
    # the keys, which must then go from here, as in Redis.
    _TASKS.add(task := loop.create_task(_run_async(node, client, db, plan, fut)))
    task.add_done_callback(_TASKS.discard)
    return Deferred(fut)


_TASKS: set[asyncio.Task[None]] = set()  # the loop holds tasks only weakly


def _finish(node: Node, db: Db, plan: _Plan, lines: list[bytes], head: int, err: str | None) -> Reply:
    """The reply, from the lines read (`head` AUTH/SELECT replies first): delete each key
    whose RESTORE the target acknowledged (unless COPY), report the first error."""
    target_error: str | None = None
    head_error = False
    for line in lines[:head]:
        if line[:1] == b"-":
            target_error = line[1:].decode("utf-8", "replace")
            head_error = True
            break
    for i, line in enumerate(lines[head:]):
        if head_error or line[:1] == b"-":
            if target_error is None:
                target_error = line[1:].decode("utf-8", "replace")
            continue
        if plan.copy or i >= len(plan.keys):
            continue
        key, e, stamp = plan.keys[i]
        cur = lookup_write(node, db, key)
        if cur is e and entry_stamp(cur) == stamp:
            node.emit((codes.DEL, db.index, key))
            notify_event(node, GENERIC, b"del", key, db.index)
    if target_error is not None:
        conn = _cache(node).get(plan.target)
        if conn is not None:
            conn.last_dbid = -1  # SELECT again next time
        return ErrorReply("ERR Target instance replied with error: " + target_error.replace("\r", " ").replace("\n", " "))
    if err is not None:
        return ErrorReply(err)
    return OK


def _lines_expected(plan: _Plan, select: bool) -> tuple[int, int]:
    head = (1 if plan.auth else 0) + (1 if select else 0)
    return head, head + len(plan.keys)


# ---- asynchronous I/O (the event loop keeps serving others) ------------------------------
async def _run_async(node: Node, client: Client, db: Db, plan: _Plan, fut: asyncio.Future[Any]) -> None:
    try:
        lines, head, err = await _exchange_async(node, plan)
    except Exception:  # noqa: BLE001 - whatever the socket layer raises, the client gets a reply
        log.exception("MIGRATE to %s failed", plan.target)
        lines, head, err = [], 0, IOERR_CONNECT
    node.current_client = client
    try:
        reply = _finish(node, db, plan, lines, head, err)
    except CommandError as exc:
        reply = ErrorReply(exc.message)
    finally:
        node.close_group()  # the deletes are one op, acknowledged once logged
        node.current_client = None
    if not fut.done():
        fut.set_result(reply)


async def _exchange_async(node: Node, plan: _Plan) -> tuple[list[bytes], int, str | None]:
    cache = _cache(node)
    t = plan.timeout_s
    may_retry = True
    while True:
        conn = cache.pop(plan.target, None)
        if conn is None:
            try:
                r, w = await asyncio.wait_for(asyncio.open_connection(plan.host, plan.port), t)
            except (OSError, TimeoutError, ValueError, OverflowError) as exc:
                cerr = _connect_error(exc)
                if cerr == IOERR_WRITE and may_retry:
                    may_retry = False
                    continue
                return [], 0, cerr
            conn = _Conn(r, w)
        select = conn.last_dbid != plan.dbid
        head, total = _lines_expected(plan, select)
        req = plan.request(select)
        lines: list[bytes] = []
        timed_out = False
        err: str | None = None
        try:
            for pos in range(0, len(req), CHUNK):
                conn.writer.write(req[pos:pos + CHUNK])
                await asyncio.wait_for(conn.writer.drain(), t)
        except (OSError, TimeoutError) as exc:
            err, timed_out = IOERR_WRITE, isinstance(exc, TimeoutError)
        if err is None:
            try:
                while len(lines) < total:
                    line = await asyncio.wait_for(conn.reader.readline(), t)
                    if not line.endswith(b"\n"):
                        raise ConnectionError("closed")
                    lines.append(line.rstrip(b"\r\n"))
            except (OSError, TimeoutError, ValueError) as exc:
                err, timed_out = IOERR_READ, isinstance(exc, TimeoutError)
        if err is None:
            conn.last_dbid = plan.dbid
            conn.last_use = time.monotonic()
            _keep(node, cache, plan.target, conn)
            return lines, head, None
        conn.close()
        if may_retry and not timed_out and len(lines) <= head:
            may_retry = False
            continue
        return lines, head, err


def _connect_error(exc: BaseException) -> str:
    """Redis connects without blocking and waits for the socket to be writable: a refused
    connection shows as a failed write, only a timeout or a bad address as a failed connect."""
    if isinstance(exc, (TimeoutError, socket.gaierror, ValueError, OverflowError)):
        return IOERR_CONNECT
    return IOERR_WRITE


def _keep(node: Node, cache: dict[bytes, _Conn], target: bytes, conn: _Conn) -> None:
    old = cache.pop(target, None)
    if old is not None:
        old.close()
    if len(cache) >= CACHE_ITEMS:
        cache.pop(next(iter(cache))).close()
    cache[target] = conn

    def expire() -> None:
        if cache.get(target) is conn and time.monotonic() - conn.last_use >= CACHE_TTL_S - 0.01:
            del cache[target]
            conn.close()

    asyncio.get_running_loop().call_later(CACHE_TTL_S, expire)


# ---- synchronous I/O (inside MULTI or a script) ------------------------------------------
def _exchange_sync(plan: _Plan) -> tuple[list[bytes], int, str | None]:
    t = plan.timeout_s
    head, total = _lines_expected(plan, True)
    try:
        sock = socket.create_connection((plan.host, plan.port), timeout=t)
    except (OSError, ValueError, OverflowError) as exc:
        return [], 0, _connect_error(exc)
    lines: list[bytes] = []
    with sock:
        req = plan.request(True)
        try:
            for pos in range(0, len(req), CHUNK):
                sock.sendall(req[pos:pos + CHUNK])
        except OSError:
            return [], head, IOERR_WRITE
        f = sock.makefile("rb")
        try:
            while len(lines) < total:
                line = f.readline(64 * 1024)
                if not line.endswith(b"\n"):
                    raise ConnectionError("closed")
                lines.append(line.rstrip(b"\r\n"))
        except OSError:
            return lines, head, IOERR_READ
    return lines, head, None
