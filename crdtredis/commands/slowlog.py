"""SLOWLOG (GET LEN RESET HELP) and what feeds it: every command that ran at least
slowlog-log-slower-than µs (Redis slowlog.c), and the latency monitor's "command" and
"fast-command" events for commands of at least latency-monitor-threshold ms (latency.c).

The node times every command already (INFO commandstats); one comparison against
`node.slow_ns`, the lower of the two thresholds, decides whether `on_slow` runs, so the
hot path pays nothing more while no command is that slow. An entry keeps what Redis keeps:
at most 32 arguments of at most 128 bytes each, the client's address and name, and
arguments that carry secrets (AUTH, HELLO AUTH, ACL SETUSER, CONFIG SET requirepass)
redacted. A command that blocked (BLPOP) is logged when it is served, with the original
arguments, as Redis does.
"""
from __future__ import annotations

import time
from collections import deque
from typing import TYPE_CHECKING, Any

from .. import errors
from ..reply import OK, Deferred, ErrorReply, Reply
from .config_cmd import register_config_hook
from .helpers import help_reply
from .registry import command

if TYPE_CHECKING:
    from ..client import Client
    from ..cmdtable import Command
    from ..node import Node

MAX_ARGC = 32
MAX_STRING = 128
REDACTED = b"(redacted)"
NEVER = 1 << 62


class Entry:
    __slots__ = ("id", "time", "duration", "argv", "peer", "name")

    def __init__(self, eid: int, argv: list[bytes], duration_us: int, peer: bytes, name: bytes) -> None:
        self.id = eid
        self.time = int(time.time())
        self.duration = duration_us
        self.argv = argv
        self.peer = peer
        self.name = name


class SlowLog:
    def __init__(self, node: Node) -> None:
        self.node = node
        self.entries: deque[Entry] = deque()
        self.next_id = 0
        self.threshold_us = 10000
        self.max_len = 128
        self.latency_ms = 0

    def configure(self) -> None:
        """Read the thresholds from CONFIG and set the node's `slow_ns`."""
        rt = self.node.runtime
        self.threshold_us = _int(rt.get("slowlog-log-slower-than", "10000"), 10000)
        self.max_len = max(_int(rt.get("slowlog-max-len", "128"), 128), 0)
        self.latency_ms = _int(rt.get("latency-monitor-threshold", "0"), 0)
        cands = []
        if self.threshold_us >= 0:
            cands.append(self.threshold_us * 1000)
        if self.latency_ms > 0:
            cands.append(self.latency_ms * 1_000_000)
        self.node.slow_ns = min(cands) if cands else NEVER
        self.trim()

    def trim(self) -> None:
        while len(self.entries) > self.max_len:
            self.entries.pop()

    def on_slow(self, client: Client, cmd: Command, argv: list[bytes], ns: int, reply: Reply) -> None:
        if reply.__class__ is Deferred:
            # A blocked command is logged once it is served (Redis updateStatsOnUnblock).
            reply.future.add_done_callback(lambda _f: self.record(client, cmd, argv, ns))  # type: ignore[union-attr]
            return
        self.record(client, cmd, argv, ns)

    def record(self, client: Client, cmd: Command, argv: list[bytes], ns: int) -> None:
        us = ns // 1000
        if self.latency_ms > 0 and us // 1000 >= self.latency_ms:
            from .latency import add_sample

            add_sample(self.node, "fast-command" if "fast" in cmd.flags else "command", us // 1000)
        if self.threshold_us < 0 or us < self.threshold_us or "skip_slowlog" in cmd.flags:
            return
        self.entries.appendleft(Entry(self.next_id, _trimmed(redacted(cmd, argv)), us,
                                      client.addr.encode() or b"?:0", client.name))
        self.next_id += 1
        self.trim()


def redacted(cmd: Command, argv: list[bytes]) -> list[bytes]:
    """redactClientCommandArgument's uses: what must never reach the slow log or MONITOR."""
    name = cmd.fullname
    if name == "migrate":
        return _migrate_redacted(argv)
    if name == "auth":
        return [argv[0]] + [REDACTED] * (len(argv) - 1)
    if name == "acl|setuser":
        return argv[:2] + [REDACTED] * (len(argv) - 2)
    if name == "hello":
        out = list(argv)
        for i in range(2, len(argv) - 2):
            if argv[i].lower() == b"auth":
                out[i + 1] = out[i + 2] = REDACTED
        return out
    if name == "config|set":
        out = list(argv)
        for i in range(2, len(argv) - 1, 2):
            if argv[i].lower() in (b"requirepass", b"masterauth", b"masteruser"):
                out[i + 1] = REDACTED
        return out
    return argv


def _migrate_redacted(argv: list[bytes]) -> list[bytes]:
    """MIGRATE's AUTH password, AUTH2 username and password, as its parser redacts them
    (up to KEYS, or the option that is a syntax error)."""
    out = list(argv)
    j = 6
    while j < len(argv):
        opt = argv[j].lower()
        if opt == b"auth" and j + 1 < len(argv):
            out[j + 1] = REDACTED
            j += 2
        elif opt == b"auth2" and j + 2 < len(argv):
            out[j + 1] = out[j + 2] = REDACTED
            j += 3
        elif opt in (b"copy", b"replace"):
            j += 1
        else:
            break
    return out


def _trimmed(argv: list[bytes]) -> list[bytes]:
    """slowlogCreateEntry: at most 32 arguments (the last says how many more), each
    at most 128 bytes (then how many more)."""
    n = len(argv)
    keep = argv[:MAX_ARGC] if n <= MAX_ARGC else argv[:MAX_ARGC - 1]
    out = [a if len(a) <= MAX_STRING else a[:MAX_STRING] + b"... (%d more bytes)" % (len(a) - MAX_STRING)
           for a in keep]
    if n > MAX_ARGC:
        out.append(b"... (%d more arguments)" % (n - MAX_ARGC + 1))
    return out


def _int(text: str, default: int) -> int:
    try:
        return int(text)
    except ValueError:
        return default


def slowlog_of(node: Node) -> SlowLog:
    s: Any = getattr(node, "_slowlog", None)
    if s is None:
        s = SlowLog(node)
        node._slowlog = s  # type: ignore[attr-defined]
        node.on_slow = s.on_slow
        s.configure()
    return s  # type: ignore[no-any-return]


def attach(node: Node) -> None:
    slowlog_of(node)


def _reconfigure(node: Node, value: str) -> None:
    slowlog_of(node).configure()


for _name in ("slowlog-log-slower-than", "slowlog-max-len", "latency-monitor-threshold"):
    register_config_hook(_name, _reconfigure)


# SLOWLOG <subcommand> [<arg> ...]
@command("slowlog", -2, "", group="server", summary="A container for slow log commands", since="2.2.12",
         acl="slow")
def slowlog_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    return ErrorReply(errors.unknown_subcommand(argv[1], "slowlog"))


# SLOWLOG GET [count]
@command("get", -2, "admin loading stale", group="server", summary="Get the slow log's entries",
         since="2.2.12", parent="slowlog")
def slowlog_get_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    if len(argv) > 3:
        return ErrorReply(errors.subcommand_syntax(argv[1], "SLOWLOG"))
    log = slowlog_of(node)
    count = 10
    if len(argv) == 3:
        from ..crdt.numbers import parse_int

        v = parse_int(argv[2])
        if v is None or v < -1:
            return ErrorReply("ERR count should be greater than or equal to -1")
        count = len(log.entries) if v == -1 else v
    out: list[Any] = []
    for e in list(log.entries)[:count]:
        out.append([e.id, e.time, e.duration, list(e.argv), e.peer, e.name])
    return out


# SLOWLOG LEN
@command("len", 2, "admin loading stale", group="server", summary="Get the slow log's length",
         since="2.2.12", parent="slowlog")
def slowlog_len_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    return len(slowlog_of(node).entries)


# SLOWLOG RESET
@command("reset", 2, "admin loading stale", group="server", summary="Clear all entries from the slow log",
         since="2.2.12", parent="slowlog")
def slowlog_reset_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    slowlog_of(node).entries.clear()
    return OK


_HELP = (
    "SLOWLOG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "GET [<count>]",
    "    Return top <count> entries from the slowlog (default: 10, -1 mean all).",
    "    Entries are made of:",
    "    id, timestamp, time in microseconds, arguments array, client IP and port,",
    "    client name",
    "LEN",
    "    Return the length of the slowlog.",
    "RESET",
    "    Reset the slowlog.",
    "HELP",
    "    Prints this help.",
)


# SLOWLOG HELP
@command("help", 2, "loading stale", group="server", summary="Show helpful text about the different subcommands",
         since="6.2.0", parent="slowlog")
def slowlog_help_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    return help_reply(_HELP)
