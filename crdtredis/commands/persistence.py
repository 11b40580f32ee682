"""SAVE / BGSAVE / BGREWRITEAOF / LASTSAVE on the op log (a base snapshot each).

With an op log there is one snapshot kind: a base that lets covered segments retire.
BGREWRITEAOF and BGSAVE both start it in a forked child; SAVE writes it while blocking.
"""
from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from ..reply import OK, ErrorReply, Reply, Status
from .registry import command

if TYPE_CHECKING:
    from ..client import Client
    from ..node import Node

_NO_LOG = "ERR persistence is not enabled on this node"
_IN_PROGRESS = "ERR Background save already in progress"


def _oplog(node: Node):  # type: ignore[no-untyped-def]
    p = node.persistence
    return None if p is None else p.oplog


# SAVE
@command("save", 1, "admin noscript no_async_loading no_multi", group="server",
         summary="Synchronously saves the database(s) to disk", since="1.0.0", acl="admin slow dangerous")
def save_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    log = _oplog(node)
    if log is None:
        return ErrorReply(_NO_LOG)
    if log.compacting:
        return ErrorReply(_IN_PROGRESS)
    return OK if log.save_sync() else ErrorReply("ERR snapshot failed, see the server log")


# BGSAVE [SCHEDULE]
@command("bgsave", -1, "admin noscript no_async_loading", group="server",
         summary="Asynchronously saves the database(s) to disk", since="1.0.0", acl="admin slow dangerous")
def bgsave_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    if len(argv) > 2 or (len(argv) == 2 and argv[1].lower() != b"schedule"):
        return ErrorReply("ERR syntax error")
    log = _oplog(node)
    if log is None:
        return ErrorReply(_NO_LOG)
    if log.compacting:
        if len(argv) == 2:
            log.compact_scheduled = True
            return Status(b"Background saving scheduled")
        return ErrorReply(_IN_PROGRESS)
    log.start_compaction(asyncio.get_running_loop())
    return Status(b"Background saving started")


# BGREWRITEAOF
@command("bgrewriteaof", 1, "admin noscript no_async_loading", group="server",
         summary="Asynchronously rewrites the append-only file", since="1.0.0", acl="admin slow dangerous")
def bgrewriteaof_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    log = _oplog(node)
    if log is None:
        return ErrorReply(_NO_LOG)
    if log.compacting:
        log.compact_scheduled = True
        return Status(b"Background append only file rewriting scheduled")
    log.start_compaction(asyncio.get_running_loop())
    return Status(b"Background append only file rewriting started")


# LASTSAVE
@command("lastsave", 1, "loading stale fast", group="server",
         summary="Returns the Unix timestamp of the last successful save to disk", since="1.0.0",
         acl="admin fast dangerous")
def lastsave_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    return int(node.last_save_time)
