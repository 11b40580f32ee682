"""Keyspace notifications (Redis notify.c): `notify-keyspace-events` and the events.

Local writes: command handlers call `notify_event(node, class, event, key, db)` where
Redis calls notifyKeyspaceEvent, with Redis's event names ("set", "lpush", "hincrby",
"rename_from", ...). Around them, the node reports the rest: "new" when a local effect
creates a key (`Node.emit_hook`), "expired" when this replica deletes an expired key
(`Node.expired_hook`), "keymiss" when a read finds no key (commands/helpers.py).
Replicated writes: crdtredis/notify_remote.py derives events from the effects a peer's op
applied here, comparing the touched keys before and after (docs/semantics.md).

An event is published on `__keyspace@<db>__:<key>` (message = event) with K and on
`__keyevent@<db>__:<event>` (message = key) with E, to this replica's subscribers only
(never across the link: every replica notifies what it applies). With the setting empty,
`node.notify` is None and `notify_event` costs one attribute test.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .crdt.codes import SET as _SET
from .keyspace import CREATE as _CREATE

if TYPE_CHECKING:
    from .node import Node

# Classes (Redis server.h NOTIFY_*).
KEYSPACE = 1 << 0  # K
KEYEVENT = 1 << 1  # E
GENERIC = 1 << 2  # g
STRING = 1 << 3  # $
LIST = 1 << 4  # l
SET = 1 << 5  # s
HASH = 1 << 6  # h
ZSET = 1 << 7  # z
EXPIRED = 1 << 8  # x
EVICTED = 1 << 9  # e
STREAM = 1 << 10  # t
KEY_MISS = 1 << 11  # m
MODULE = 1 << 12  # d
NEW = 1 << 13  # n
ALL = GENERIC | STRING | LIST | SET | HASH | ZSET | EXPIRED | EVICTED | STREAM | MODULE

_CHARS = {
    "g": GENERIC, "$": STRING, "l": LIST, "s": SET, "h": HASH, "z": ZSET, "x": EXPIRED,
    "e": EVICTED, "K": KEYSPACE, "E": KEYEVENT, "t": STREAM, "m": KEY_MISS, "d": MODULE,
    "n": NEW, "A": ALL,
}


def parse_flags(s: str) -> int:
    """keyspaceEventsStringToFlags (the CONFIG value is validated by config_cmd)."""
    flags = 0
    for ch in s:
        flags |= _CHARS.get(ch, 0)
    return flags


def notify_event(node: Node, cls: int, event: bytes, key: bytes, dbid: int) -> None:
    """notifyKeyspaceEvent: publish `event` about `key` if its class is enabled."""
    n = node.notify
    if n is not None and n.flags & cls:
        n.publish(event, key, dbid)


class Notifier:
    """`node.notify` while notify-keyspace-events is not empty."""

    __slots__ = ("node", "flags", "before_remote", "after_remote")

    def __init__(self, node: Node, flags: int) -> None:
        from . import notify_remote

        self.node = node
        self.flags = flags
        # Called by Node.apply_remote around a peer's op (notify_remote.py).
        self.before_remote = lambda op: notify_remote.before_remote(self, op)
        self.after_remote = lambda op, before: notify_remote.after_remote(self, op, before)

    def publish(self, event: bytes, key: bytes, dbid: int) -> None:
        ps = self.node.pubsub
        if not ps.channels and not ps.patterns:
            return
        flags = self.flags
        if flags & KEYSPACE:
            ps.deliver(b"__keyspace@%d__:%s" % (dbid, key), event)
        if flags & KEYEVENT:
            ps.deliver(b"__keyevent@%d__:%s" % (dbid, event), key)

    def keymiss(self, dbid: int, key: bytes) -> None:
        if self.flags & KEY_MISS:
            self.publish(b"keymiss", key, dbid)

    def on_emit(self, eff: Any, existed: bool) -> None:
        """Node.emit_hook with 'n' on: a local effect created its key. A typed write says
        so itself (the CREATE bit: the key was absent at the origin; LMOVE k k keeps it
        existing), a SET by finding no key before it."""
        code = eff[0]
        if code & _CREATE or (code == _SET and not existed):
            key = eff[2]
            if key in self.node.keyspace.dbs[eff[1]].data:
                self.publish(b"new", key, eff[1])


def configure(node: Node, value: str) -> None:
    """Apply a notify-keyspace-events value: install or remove the notifier and hooks."""
    flags = parse_flags(value)
    if not flags & (KEYSPACE | KEYEVENT) or not flags & (ALL | KEY_MISS | NEW):
        # Redis publishes nothing unless K or E and some class are both on.
        node.notify = None
        node.emit_hook = None
        return
    n = Notifier(node, flags)
    node.notify = n
    node.emit_hook = n.on_emit if flags & NEW else None


__all__ = [
    "KEYSPACE", "KEYEVENT", "GENERIC", "STRING", "LIST", "SET", "HASH", "ZSET", "EXPIRED",
    "EVICTED", "STREAM", "KEY_MISS", "MODULE", "NEW", "ALL", "notify_event", "configure",
    "Notifier", "parse_flags",
]
