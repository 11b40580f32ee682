"""MONITOR, and the feed of executed commands to monitoring clients (Redis
replicationFeedMonitors).

A command is fed after it ran (so the commands of a MULTI appear between "multi" and
"exec", in the order EXEC runs them), unless it is an admin command or flagged
skip_monitor (Redis hides those). The line is a status reply in both protocols:

    +1339518083.107412 [0 127.0.0.1:60866] "keys" "*"

Scripts: the scripting engine feeds EVAL itself before running the script (EVAL is
skip_monitor, as in Redis) and its `redis.call` commands appear as `[db lua]` when they
run through `Node.call` with a pseudo-client whose `script` flag is set.
"""
from __future__ import annotations

import time
from typing import TYPE_CHECKING

from ..reply import OK, ErrorReply, Push, Reply
from .registry import command

if TYPE_CHECKING:
    from ..client import Client
    from ..node import Node

MONITOR_DENY_BLOCKING = "ERR MONITOR isn't allowed for DENY BLOCKING client"


def _repr_table() -> list[bytes]:
    """Redis sdscatrepr, per byte: \\\\ \\" \\n \\r \\t \\a \\b, printable ASCII as is, the
    rest as \\xHH."""
    t = []
    for b in range(256):
        ch = bytes([b])
        if ch in (b"\\", b'"'):
            t.append(b"\\" + ch)
        elif ch == b"\n":
            t.append(b"\\n")
        elif ch == b"\r":
            t.append(b"\\r")
        elif ch == b"\t":
            t.append(b"\\t")
        elif ch == b"\a":
            t.append(b"\\a")
        elif ch == b"\b":
            t.append(b"\\b")
        elif 0x20 <= b <= 0x7E:
            t.append(ch)
        else:
            t.append(b"\\x%02x" % b)
    return t


_REPR = _repr_table()
# Bytes that print as themselves: most arguments take the fast path.
_PLAIN = bytes(b for b in range(0x20, 0x7F) if b not in (0x22, 0x5C))


def quote(arg: bytes) -> bytes:
    """One argument as MONITOR shows it (sdscatrepr)."""
    if not arg.translate(None, _PLAIN):
        return b'"' + arg + b'"'
    r = _REPR
    return b'"' + b"".join([r[b] for b in arg]) + b'"'


def monitor_line(client: Client, db: int, argv: list[bytes]) -> bytes:
    now = time.time()
    sec = int(now)
    usec = int((now - sec) * 1_000_000)
    origin = b"lua" if client.script or client.kind == "lua" else client.addr.encode()
    return b"+%d.%06d [%d %s] %s\r\n" % (sec, usec, db, origin, b" ".join([quote(a) for a in argv]))


def feed(node: Node, client: Client, argv: list[bytes], db: int | None = None) -> None:
    """Send one executed command to every MONITOR client. A monitor that ran the command
    itself sees the line after its own reply, as in Redis."""
    monitors = node.monitors
    if not monitors:
        return
    line = monitor_line(client, client.db if db is None else db, argv)
    for m in monitors:
        if m is client:
            if not m.closing:
                m.after += line
        else:
            m.push(line)


def stop_monitor(node: Node, client: Client) -> None:
    if client.monitor:
        client.monitor = False
        try:
            node.monitors.remove(client)
        except ValueError:
            pass
        client.refresh()
        node.pause.update_hooked(node)


# MONITOR
@command("monitor", 1, "admin noscript loading stale", group="server",
         summary="Listen for all requests received by the server in real time")
def monitor_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    if client.in_exec:
        return ErrorReply(MONITOR_DENY_BLOCKING)
    if client.monitor:
        return Push([])  # Redis ignores a second MONITOR without a reply
    client.monitor = True
    node.monitors.append(client)
    client.refresh()
    node.pause.update_hooked(node)
    return OK
