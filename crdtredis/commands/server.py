"""Server commands: TIME DBSIZE INFO SHUTDOWN. The rest of the family has its own module:
connection.py (PING ... RESET), introspection.py (COMMAND), config_cmd.py (CONFIG),
client_cmds.py (CLIENT); LASTSAVE lives in persistence.py.

None of these touch the keyspace's CRDT state: they read the node and change the session
(client.py). Replies and error texts follow Redis 7.0.15, checked against a real server
(tests/test_cmd_server.py); where we deviate, the handler's comment says why.
"""
from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING

from .. import errors, info
from ..reply import Deferred, ErrorReply, Reply, Verbatim
from .registry import command

if TYPE_CHECKING:
    from ..client import Client
    from ..node import Node


# ======================================================================================
# Server
# ======================================================================================

# TIME
@command("time", 1, "loading stale fast", group="server", summary="Return the current server time",
         since="2.6.0")
def time_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    us = time.time_ns() // 1000
    return [str(us // 1_000_000).encode(), str(us % 1_000_000).encode()]


# DBSIZE
@command("dbsize", 1, "readonly fast", group="server",
         summary="Return the number of keys in the selected database", acl="keyspace")
def dbsize_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    # Like Redis, keys that expired but were not reclaimed yet still count.
    return len(node.keyspace.dbs[client.db].data)


# INFO [section [section ...]]
@command("info", -1, "loading stale", group="server",
         summary="Get information and statistics about the server", acl="dangerous")
def info_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    return Verbatim(info.render(node, argv[1:]))


def _no_reply() -> Reply:
    """A reply that never comes: the connection waits until the server closes it."""
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        # In-process use without an event loop: nobody waits for a reply.
        return None
    return Deferred(loop.create_future())


# SHUTDOWN [NOSAVE|SAVE] [NOW] [FORCE] [ABORT]
@command("shutdown", -1, "admin noscript loading stale no_multi allow_busy", group="server",
         summary="Synchronously save the dataset to disk and then shut down the server")
def shutdown_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    opts: set[bytes] = set()
    for a in argv[1:]:
        o = a.lower()
        if o not in (b"nosave", b"save", b"now", b"force", b"abort"):
            return ErrorReply(errors.SYNTAX)
        opts.add(o)
    if (b"abort" in opts and len(opts) > 1) or {b"save", b"nosave"} <= opts:
        return ErrorReply(errors.SYNTAX)
    if b"abort" in opts:
        # Our shutdown has no waiting phase (no replicas to catch up) to abort.
        return ErrorReply(errors.NO_SHUTDOWN_IN_PROGRESS)
    if node.busy_error is not None and b"nosave" not in opts:
        # A busy script can only be ended by SHUTDOWN NOSAVE (Redis shutdownCommand).
        return ErrorReply(node.busy_error)
    if node.shutdown_cb is None:
        return ErrorReply(errors.SHUTDOWN_FAILED)
    node.shutdown_cb(b"nosave" not in opts)
    # Redis exits without replying; clients see the connection close.
    return _no_reply()
