"""The command table a Node dispatches through.

`Command` is one entry: name, arity, flags, key positions, handler and its counters.
`CommandTable` is what a Node receives when it is built: the commands by name plus the few
things the node needs from the command layer (CONFIG's runtime defaults, the transaction
clean-up it runs when a client goes away or an EXEC is rejected). The command modules fill
it in (`crdtredis.commands.command_table()`); this module imports none of them, so neither
does node.py.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .cmdstats import CmdStats
from .reply import Reply

if TYPE_CHECKING:
    from .client import Client
    from .config import Config
    from .node import Node

Handler = Callable[["Node", "Client", list[bytes]], Reply]
ClientHook = Callable[["Node", "Client"], None]
# Runs a command for a client that needs the session checks (see Node.hooked).
HookedRun = Callable[["Node", "Client", "Command", list[bytes]], Reply]
# Called after every handler run on the hooked path (MONITOR feed, tracked reads).
AfterCall = Callable[["Node", "Client", "Command", list[bytes], Reply], None]
ClientCommandHook = Callable[["Node", "Client", "Command", list[bytes]], None]


class Command:
    __slots__ = (
        "name", "handler", "arity", "flags", "first_key", "last_key", "step", "group",
        "summary", "since", "acl", "stats", "write", "noauth",
        "subcommands", "parent", "getkeys", "merge",
    )

    def __init__(
        self,
        name: str,
        handler: Handler,
        arity: int,
        flags: tuple[str, ...],
        first_key: int,
        last_key: int,
        step: int,
        group: str,
        summary: str,
        since: str,
        acl: tuple[str, ...],
        getkeys: Callable[[list[bytes]], list[int]] | None = None,
    ) -> None:
        self.name = name
        self.handler = handler
        self.arity = arity
        self.flags = flags
        self.first_key = first_key
        self.last_key = last_key
        self.step = step
        self.group = group
        self.summary = summary
        self.since = since
        self.acl = acl
        # Calls, time, failed calls and the latency histogram (LATENCY HISTOGRAM, INFO
        # latencystats): recorded by cmdstats.timed_call, read through the properties below.
        self.stats = CmdStats()
        self.write = "write" in flags
        self.noauth = "no_auth" in flags
        self.subcommands: dict[bytes, Command] = {}
        self.parent: Command | None = None
        # For commands whose keys are not a fixed first/last/step range (e.g. LMPOP numkeys).
        self.getkeys = getkeys
        # Its op may stay open for the next writes of the same read batch (Node.execute).
        self.merge = False

    def key_positions(self, argv: list[bytes]) -> list[int]:
        if self.getkeys is not None:
            return self.getkeys(argv)
        if self.first_key == 0:
            return []
        last = self.last_key if self.last_key >= 0 else len(argv) + self.last_key
        return list(range(self.first_key, last + 1, self.step))

    @property
    def calls(self) -> int:
        return self.stats.calls

    @calls.setter
    def calls(self, value: int) -> None:
        self.stats.calls = value

    @property
    def errors(self) -> int:
        return self.stats.errors

    @errors.setter
    def errors(self, value: int) -> None:
        self.stats.errors = value

    @property
    def nsec(self) -> int:
        return self.stats.nsec

    @nsec.setter
    def nsec(self, value: int) -> None:
        self.stats.nsec = value

    @property
    def hist(self) -> list[int]:
        """A copy of the duration histogram: bucket b counts the calls of b-bit durations
        in ns (cmdstats.HIST_BUCKETS)."""
        return self.stats.histogram()

    @property
    def usec(self) -> int:
        return self.nsec // 1000

    @usec.setter
    def usec(self, value: int) -> None:
        self.nsec = value * 1000

    @property
    def fullname(self) -> str:
        return f"{self.parent.name}|{self.name}" if self.parent else self.name


@dataclass(frozen=True, slots=True)
class CommandTable:
    # Top-level commands by lower-case name; subcommands hang off their container.
    commands: dict[bytes, Command]
    # Every CONFIG parameter's starting value for a node running with a Config (node.runtime).
    default_runtime: Callable[[Config], dict[str, str]]
    # Run when a client goes away (Node.drop_client): forget the keys it WATCHes.
    drop_client: ClientHook
    # Ends a client's MULTI; a rejected EXEC calls it before answering EXECABORT.
    discard_transaction: ClientHook
    # Gives a new node the per-node state of the session features (pub/sub, MONITOR,
    # tracking, CLIENT PAUSE, output buffer limits).
    attach: Callable[[Node], None]
    # The command path of a client (or a node) that needs session checks: RESP2
    # subscribed mode, MONITOR clients, CLIENT PAUSE. Ends in Node.dispatch.
    hooked_command: HookedRun
    # Before / after a handler runs on that path (Node.call): MONITOR feed (skip_monitor
    # commands, i.e. scripts, are fed before they run, so their commands follow them),
    # tracking of the keys read.
    before_call: ClientCommandHook
    after_call: AfterCall
