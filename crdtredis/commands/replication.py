"""WAIT, ROLE and the CRDT.* commands: acknowledgements and session guarantees across replicas.

`CRDT.CLOCK` returns this node's version vector as an opaque token; `CRDT.WAITCLOCK token
ms` blocks until this node has applied everything the token covers. A client that moves
from replica A to B does `t = CRDT.CLOCK` on A and `CRDT.WAITCLOCK t 1000` on B, and so
keeps read-your-writes and monotonic reads with a stock Redis client.
"""
from __future__ import annotations

import asyncio
import base64
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .. import errors
from ..clock import vv_covers
from ..reply import OK, CommandError, Deferred, ErrorReply, Reply
from ..wire.codec import DecodeError, decode_value, encode_value
from .helpers import arg_int
from .registry import command

if TYPE_CHECKING:
    from ..client import Client
    from ..node import Node

BAD_TOKEN = "ERR invalid clock token"
TOKEN_PREFIX = b"v1:"


def _timeout_ms(b: bytes) -> int:
    t = arg_int(b, "ERR timeout is not an integer or out of range")
    if t < 0:
        raise CommandError(errors.TIMEOUT_NEGATIVE)
    return t


def _block(
    node: Node, waiters: list[Callable[[], bool]], ready: Callable[[], Any | None],
    timeout_ms: int, on_timeout: Callable[[], Any],
) -> Reply:
    """Reply now if `ready()` gives a value, else a Deferred resolved when it does or on timeout."""
    v = ready()
    if v is not None:
        return v  # type: ignore[no-any-return]
    loop = asyncio.get_running_loop()
    fut: asyncio.Future[Any] = loop.create_future()

    def check() -> bool:
        if fut.done():
            return True
        r = ready()
        if r is None:
            return False
        fut.set_result(r)
        return True

    waiters.append(check)
    if timeout_ms:
        def expire() -> None:
            if not fut.done():
                fut.set_result(on_timeout())

        handle = loop.call_later(timeout_ms / 1000.0, expire)
        fut.add_done_callback(lambda _f: handle.cancel())
    return Deferred(fut)


def acked_count(node: Node, seq: int) -> int:
    repl = node.replication
    if repl is None:
        return 0
    n = 0
    for p in repl.live_peers():
        if p.acked_vv is not None and p.acked_vv.get(node.origin, 0) >= seq:
            n += 1
    return n


# WAIT numreplicas timeout
@command("wait", 3, "noscript", group="generic", summary="Blocks until the asynchronous replication of all "
         "preceding write commands sent by the connection is completed", since="3.0.0", acl="slow connection")
def wait_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    want = arg_int(argv[1])
    timeout = _timeout_ms(argv[2])
    seq = client.last_seq
    if client.in_exec or want <= 0 or node.replication is None:
        return acked_count(node, seq)

    def ready() -> int | None:
        n = acked_count(node, seq)
        return n if n >= want else None

    # Peers ack on their next push/pull; wake the pushers so it happens now.
    for p in node.replication.peers.values():
        p.wake.set()
    return _block(node, node.replication.ack_waiters, ready, timeout, lambda: acked_count(node, seq))


# ROLE
@command("role", 1, "noscript loading stale fast", group="server", summary="Returns the replication role",
         since="2.8.12", acl="admin fast dangerous")
def role_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    """Every replica takes writes: each is a master, with no Redis replicas (its peers are
    CRDT peers, listed by INFO replication's crdt_* fields), at INFO's master_repl_offset,
    0. What INFO replication says, as Redis's ROLE does."""
    return [b"master", 0, []]


def encode_token(vv: dict[str, int]) -> bytes:
    return TOKEN_PREFIX + base64.urlsafe_b64encode(encode_value(dict(sorted(vv.items())))).rstrip(b"=")


def decode_token(tok: bytes) -> dict[str, int] | None:
    if not tok.startswith(TOKEN_PREFIX):
        return None
    raw = tok[len(TOKEN_PREFIX):]
    try:
        v = decode_value(base64.urlsafe_b64decode(raw + b"=" * (-len(raw) % 4)))
    except (ValueError, DecodeError):
        return None
    if not isinstance(v, dict) or not all(isinstance(k, str) and type(x) is int for k, x in v.items()):
        return None
    return v


# CRDT.CLOCK
@command("crdt.clock", 1, "readonly fast", group="crdt", summary="This replica's version vector as an "
         "opaque token for CRDT.WAITCLOCK", since="0.1.0", acl="fast connection")
def clock_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    return encode_token(node.keyspace.vv)


# CRDT.WAITCLOCK token timeout-ms
@command("crdt.waitclock", 3, "readonly noscript", group="crdt", summary="Block until this replica has "
         "applied everything a CRDT.CLOCK token covers; 1 when it has, 0 on timeout", since="0.1.0",
         acl="slow connection")
def waitclock_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    want = decode_token(argv[1])
    if want is None:
        return ErrorReply(BAD_TOKEN)
    timeout = _timeout_ms(argv[2])

    def ready() -> int | None:
        return 1 if vv_covers(node.keyspace.vv, want) else None

    if client.in_exec or node.replication is None:
        return ready() or 0
    return _block(node, node.replication.apply_waiters, ready, timeout, lambda: 0)


# CRDT.FORGETPEER replica-id|peer-url
@command("crdt.forgetpeer", 2, "admin noscript", group="crdt", summary="Declare a replica (by replica id, "
         "or by peer URL if it never answered) gone for good so tombstones and log segments it never "
         "acked can be collected", since="0.1.0", acl="admin dangerous")
def forgetpeer_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    if node.replication is None:
        return ErrorReply("ERR replication is not enabled on this node")
    rid = argv[1].decode("utf-8", "replace")
    if rid == node.replica_id:
        return ErrorReply("ERR cannot forget this node itself")
    node.replication.forget(rid)
    return OK


# CRDT.GC
@command("crdt.gc", 1, "admin noscript", group="crdt", summary="Run a garbage-collection pass at causal "
         "stability now; returns the number of tombstones and metadata items dropped", since="0.1.0",
         acl="admin slow")
def gc_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    if node.replication is None:
        return 0
    return int(node.replication.run_gc())
