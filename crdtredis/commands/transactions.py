"""MULTI / EXEC / DISCARD / WATCH / UNWATCH.

Atomicity is local: EXEC runs the queued commands back to back on the one event loop,
and all their effects form ONE op, which peers apply all-or-nothing. WATCH is optimistic
locking against writes by anyone (local clients or replicated ops) via Db.touch.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from .. import errors
from ..reply import NULL_ARRAY, OK, ErrorReply, Reply
from .registry import command

if TYPE_CHECKING:
    from ..client import Client
    from ..node import Node


def unwatch_all(node: Node, client: Client) -> None:
    dbs = node.keyspace.dbs
    for dbi, key in client.watching:
        if dbi < len(dbs):
            w = dbs[dbi].watched.get(key)
            if w is not None:
                w.discard(client)
                if not w:
                    del dbs[dbi].watched[key]
    client.watching = set()
    client.watch_dirty = False


def discard_transaction(node: Node, client: Client) -> None:
    client.in_multi = False
    client.multi_queue = []
    client.multi_error = False
    unwatch_all(node, client)


# MULTI
@command("multi", 1, "noscript loading stale fast allow_busy", group="transactions",
         summary="Starts a transaction", since="1.2.0", acl="fast transaction")
def multi_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    if client.in_multi:
        return ErrorReply(errors.MULTI_NESTED)
    client.in_multi = True
    client.multi_queue = []
    client.multi_error = False
    return OK


# EXEC
@command("exec", 1, "noscript loading stale skip_slowlog", group="transactions",
         summary="Executes all commands in a transaction", since="1.2.0", acl="slow transaction")
def exec_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    if not client.in_multi:
        return ErrorReply(errors.EXEC_NO_MULTI)
    if client.multi_error:
        discard_transaction(node, client)
        return ErrorReply(errors.EXECABORT)
    if client.watch_dirty:
        discard_transaction(node, client)
        return NULL_ARRAY
    queue = client.multi_queue
    client.in_multi = False
    client.multi_queue = []
    unwatch_all(node, client)
    replies: list[Reply] = []
    client.in_exec = True
    try:
        for qargv in queue:
            cmd = node.commands[qargv[0].lower()]
            if cmd.subcommands and len(qargv) > 1:
                cmd = cmd.subcommands[qargv[1].lower()]
            if client.restricted:
                # The rules may have changed since the command was queued (Redis execCommand).
                err = node.acl.check_exec(client, cmd, qargv)
                if err is not None:
                    node.count_error(err)
                    replies.append(ErrorReply(err))
                    continue
            replies.append(node.call(cmd, client, qargv))
    finally:
        client.in_exec = False
        # Every write of the transaction leaves as one atomic op.
        op = node.close_group()
        if op is not None:
            client.last_seq = op.seq + len(op.effects) - 1
    return replies


# DISCARD
@command("discard", 1, "noscript loading stale fast allow_busy", group="transactions",
         summary="Discards a transaction", since="2.0.0", acl="fast transaction")
def discard_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    if not client.in_multi:
        return ErrorReply(errors.DISCARD_NO_MULTI)
    discard_transaction(node, client)
    return OK


# WATCH key [key ...]
@command("watch", -2, "noscript loading stale fast allow_busy", 1, -1, 1, group="transactions",
         summary="Monitors changes to keys to determine execution of a transaction", since="2.2.0",
         acl="fast transaction")
def watch_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    if client.in_multi:
        return ErrorReply(errors.WATCH_IN_MULTI)
    db = node.keyspace.dbs[client.db]
    for key in argv[1:]:
        if (client.db, key) in client.watching:
            continue
        client.watching.add((client.db, key))
        db.watched.setdefault(key, set()).add(client)
    return OK


# UNWATCH
@command("unwatch", 1, "noscript loading stale fast allow_busy", group="transactions",
         summary="Forgets about all watched keys", since="2.2.0", acl="fast transaction")
def unwatch_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    unwatch_all(node, client)
    return OK
