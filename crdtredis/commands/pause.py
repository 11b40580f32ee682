"""CLIENT PAUSE timeout [WRITE|ALL] and CLIENT UNPAUSE (Redis pauseClients).

While paused, a command that Redis would postpone is parked: the client's connection gets
a Deferred and reads nothing more from it until the pause ends, when the parked requests
run again from the start, in the order they arrived (they may be refused or block then).
WRITE parks commands that write or may publish (write, may_replicate; an EXEC whose queue
holds one); ALL parks everything. MONITOR clients are never parked (Redis exempts
replicas, which monitors are flagged as). While any pause is in force expired keys are
hidden but not deleted (`node.pause_writes`), so no delete happens while paused.

A command that started a pause inside MULTI does not park the rest of its transaction:
the check runs before a command starts, and EXEC's queued commands are already running.

Some commands' flags depend on their arguments (Redis getCommandFlags: EVAL of a script
declared `no-writes`, FCALL of such a function, is neither write nor may_replicate).
Their module registers the rule with `register_command_flags`.
"""
from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Collection
from typing import TYPE_CHECKING

from .. import errors
from ..crdt.numbers import parse_int
from ..reply import OK, Deferred, ErrorReply, Reply
from .registry import command

if TYPE_CHECKING:
    from ..client import Client
    from ..cmdtable import Command
    from ..node import Node

PAUSE_WRITE = 1
PAUSE_ALL = 2

# Command full name -> fn(node, argv): the flags this invocation has, or None for the
# command's own (see the module docstring).
FlagsFn = Callable[["Node", list[bytes]], "Collection[str] | None"]
COMMAND_FLAGS: dict[str, FlagsFn] = {}


def register_command_flags(name: str, fn: FlagsFn) -> None:
    COMMAND_FLAGS[name] = fn


def command_flags(node: Node, cmd: Command, argv: list[bytes]) -> Collection[str]:
    fn = COMMAND_FLAGS.get(cmd.fullname)
    if fn is not None:
        flags = fn(node, argv)
        if flags is not None:
            return flags
    return cmd.flags


class PauseState:
    """The node's pause: its kind, deadline, and the requests it parked."""

    __slots__ = ("kind", "end", "timer", "parked")

    def __init__(self) -> None:
        self.kind = 0
        self.end = 0.0
        self.timer: asyncio.TimerHandle | None = None
        self.parked: list[tuple[Client, list[bytes], asyncio.Future[Reply]]] = []

    def update_hooked(self, node: Node) -> None:
        """Every command takes the hooked path while a MONITOR exists or clients are paused."""
        node.hooked = bool(node.monitors) or self.kind != 0
        node.pause_writes = self.kind != 0

    def parks(self, node: Node, client: Client, cmd: Command, argv: list[bytes]) -> bool:
        if client.monitor:
            return False
        if self.kind == PAUSE_ALL:
            return True
        return _may_replicate(node, client, cmd, argv)

    def park(self, client: Client, argv: list[bytes]) -> Reply:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return ErrorReply("ERR paused")  # no event loop (in-process callers) to wait on
        fut: asyncio.Future[Reply] = loop.create_future()
        self.parked.append((client, argv, fut))
        client.blocked = True
        fut.add_done_callback(lambda _f: _unpark(client))
        return Deferred(fut)

    def start(self, node: Node, kind: int, end_ms: int) -> None:
        """Redis pauseClients: a pause never shortens or weakens one in force."""
        end = end_ms / 1000.0
        if self.kind and end < self.end:
            end = self.end
        if kind < self.kind:
            kind = self.kind
        self.kind = kind
        self.end = end
        if self.timer is not None:
            self.timer.cancel()
        try:
            loop = asyncio.get_running_loop()
            self.timer = loop.call_later(max(end - time.time(), 0.0), self.stop, node)
        except RuntimeError:
            self.timer = None
        self.update_hooked(node)

    def stop(self, node: Node) -> None:
        """End the pause and run the parked requests again, in arrival order."""
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        self.kind = 0
        self.update_hooked(node)
        parked, self.parked = self.parked, []
        for client, argv, fut in parked:
            if fut.done():
                continue  # the client went away meanwhile
            client.blocked = False
            fut.set_result(node.execute(client, argv))


def _unpark(client: Client) -> None:
    client.blocked = False


def _may_replicate(node: Node, client: Client, cmd: Command, argv: list[bytes]) -> bool:
    flags = command_flags(node, cmd, argv)
    if "write" in flags or "may_replicate" in flags:
        return True
    if cmd.name == "exec" and client.in_multi:
        for q in client.multi_queue:
            c = node.commands.get(q[0].lower())
            if c is None:
                continue
            if c.subcommands and len(q) > 1:
                c = c.subcommands.get(q[1].lower(), c)
            qflags = command_flags(node, c, q)
            if "write" in qflags or "may_replicate" in qflags:
                return True
    return False


# CLIENT PAUSE timeout [WRITE|ALL]
@command("pause", -3, "admin noscript loading stale", group="connection",
         summary="Stop processing commands from clients for some time", since="2.9.50",
         acl="connection", parent="client")
def client_pause_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    if len(argv) > 4:
        return ErrorReply(errors.subcommand_syntax(argv[1], "client"))
    kind = PAUSE_ALL
    if len(argv) == 4:
        mode = argv[3].lower()
        if mode == b"write":
            kind = PAUSE_WRITE
        elif mode != b"all":
            return ErrorReply(errors.PAUSE_MODE)
    # getTimeoutFromObjectOrReply in milliseconds: a long long, not a float.
    timeout = parse_int(argv[2])
    if timeout is None:
        return ErrorReply(errors.TIMEOUT_NOT_INT)
    if timeout < 0:
        return ErrorReply(errors.TIMEOUT_NEGATIVE)
    node.pause.start(node, kind, int(time.time() * 1000) + timeout)
    return OK


# CLIENT UNPAUSE
@command("unpause", 2, "admin noscript loading stale", group="connection",
         summary="Resume processing of clients that were paused", since="6.2.0",
         acl="connection", parent="client")
def client_unpause_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    node.pause.stop(node)
    return OK
