"""Client-side caching: the invalidation table (Redis tracking.c).

Default mode: after a read-only command of a tracking client, the keys it read are
remembered (key name -> client ids; names only, not databases, like Redis). When one of
them changes, each remembered client gets one invalidation message for that key and the
entry is dropped: it must read the key again to be told again. BCAST mode: nothing is
remembered; a client registers prefixes and gets, once per event-loop turn and prefix,
the list of every changed key that starts with one of them.

What "changes a key" means here: every effect of an op this replica applies, local or
replicated (`on_op`), an expired key this replica deletes (`on_expired`), and FLUSHDB /
FLUSHALL, which invalidate everything with a null key list. A merged concurrent write
therefore invalidates even when the value shown did not change (an invalidation too many
costs a re-read; one too few would serve stale data).

Delivery follows sendTrackingMessage: RESP3 clients get `>2 invalidate [keys]`, a RESP2
client only through a redirect to a connection in pub/sub mode (a `message` on
`__redis__:invalidate`). A client's own invalidations caused while it runs a command
wait until after that command's reply (`Client.after`). The table is bounded by
`tracking-table-max-keys`: over it, the oldest keys are evicted, with an invalidation.
"""
from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from .crdt import codes

if TYPE_CHECKING:
    from .client import Client
    from .cmdtable import Command
    from .node import Node
    from .op import Op

INVALIDATE = b"$10\r\ninvalidate\r\n"
CHANNEL_MESSAGE = b"*3\r\n$7\r\nmessage\r\n$20\r\n__redis__:invalidate\r\n"
_NULL = {2: b"$-1\r\n", 3: b"_\r\n"}


def keys_payload(keys: list[bytes]) -> bytes:
    return b"*%d\r\n" % len(keys) + b"".join(b"$%d\r\n%s\r\n" % (len(k), k) for k in keys)


class TrackingState:
    """One client's CLIENT TRACKING options."""

    __slots__ = ("redirect", "bcast", "optin", "optout", "noloop", "caching", "broken", "prefixes")

    def __init__(self) -> None:
        self.redirect = 0
        self.bcast = False
        self.optin = False
        self.optout = False
        self.noloop = False
        # CLIENT CACHING yes|no given for the next command.
        self.caching = False
        self.broken = False
        self.prefixes: list[bytes] = []


class _Bcast:
    __slots__ = ("clients", "keys")

    def __init__(self) -> None:
        self.clients: dict[Client, None] = {}
        # Changed keys since the last broadcast -> the client that changed it last.
        self.keys: dict[bytes, Client | None] = {}


class Tracking:
    """The node's tracking table and prefix table."""

    def __init__(self, node: Node) -> None:
        self.node = node
        self.table: dict[bytes, set[int]] = {}
        self.items = 0
        self.prefixes: dict[bytes, _Bcast] = {}
        self.clients = 0
        # (client, command, argv) of the tracking client whose command runs now: a script's
        # reads are remembered against its caller's declared keys.
        self.running: tuple[Client, Command, list[bytes]] | None = None
        self._listening = False
        self._broadcast_due = False
        self._limit_due = False
        self._effort_round = 0

    # ---- enabling ------------------------------------------------------------------
    def enable(self, client: Client, redirect: int, bcast: bool, optin: bool, optout: bool,
               noloop: bool, prefixes: list[bytes]) -> None:
        t = client.tracking
        if t is None:
            t = client.tracking = TrackingState()
            self.clients += 1
        t.broken = False
        t.redirect = redirect
        t.bcast, t.optin, t.optout, t.noloop = bcast, optin, optout, noloop
        if bcast:
            for p in prefixes or [b""]:
                bs = self.prefixes.get(p)
                if bs is None:
                    bs = self.prefixes[p] = _Bcast()
                if client not in bs.clients:
                    bs.clients[client] = None
                    t.prefixes.append(p)
            t.prefixes.sort()
        client.refresh()
        if not self._listening:
            self._listening = True
            # Invalidations follow each write, as in Redis: no write waits in an open op.
            self.node.merge_writes = False
            self.node.op_listeners.append(self.on_op)
            self.node.remote_op_listeners.append(self.on_op)

    def disable(self, client: Client) -> None:
        """Tracking off. Like Redis, the client's entries in the key table stay until the
        keys change (they are skipped then): cleaning them would cost a table walk."""
        t = client.tracking
        if t is None:
            return
        for p in t.prefixes:
            bs = self.prefixes.get(p)
            if bs is not None:
                bs.clients.pop(client, None)
                if not bs.clients:
                    del self.prefixes[p]
        client.tracking = None
        self.clients -= 1
        client.refresh()

    # ---- remembering reads ---------------------------------------------------------
    def remember(self, client: Client, cmd: Command, argv: list[bytes]) -> None:
        """trackingRememberKeys, after a read-only command of a client in default mode."""
        t = client.tracking
        if t is None or t.bcast or (t.optin and not t.caching) or (t.optout and t.caching):
            return
        if "pubsub" in cmd.flags:
            return  # shard channels are "keys" for routing only
        try:
            positions = cmd.key_positions(argv)
        except (IndexError, ValueError):
            return
        table = self.table
        cid = client.id
        n = len(argv)
        for pos in positions:
            if 0 < pos < n:
                ids = table.get(argv[pos])
                if ids is None:
                    ids = table[argv[pos]] = set()
                if cid not in ids:
                    ids.add(cid)
                    self.items += 1
        self._check_limit()

    # ---- invalidation --------------------------------------------------------------
    def on_op(self, op: Op) -> None:
        """An op was applied here (ours or a peer's): its keys changed."""
        if not self.table and not self.prefixes and not self.clients:
            return
        writer = self.node.current_client if op.origin == self.node.origin else None
        seen: set[bytes] = set()
        flushed = False
        for eff in op.effects:
            if eff[0] == codes.FLUSHDB:
                if not flushed:
                    flushed = True
                    self.invalidate_all()
                continue
            key = eff[2]
            if key not in seen:
                seen.add(key)
                self.invalidate(key, writer)

    def on_expired(self, key: bytes) -> None:
        self.invalidate(key, None)

    def invalidate(self, key: bytes, writer: Client | None, bcast: bool = True) -> None:
        """trackingInvalidateKey."""
        if bcast and self.prefixes:
            due = False
            for p, bs in self.prefixes.items():
                if key.startswith(p):
                    bs.keys[key] = writer
                    due = True
            if due:
                self._schedule_broadcast()
        ids = self.table.pop(key, None)
        if not ids:
            return
        self.items -= len(ids)
        clients = self.node.clients
        payload = b"*1\r\n$%d\r\n%s\r\n" % (len(key), key)
        for cid in ids:
            target = clients.get(cid)
            if target is None:
                continue
            t = target.tracking
            if t is None or t.bcast or (t.noloop and target is writer):
                continue
            self.send(target, payload)

    def invalidate_all(self) -> None:
        """FLUSHDB / FLUSHALL: every tracking client is told that all keys are invalid
        (a null key list); the whole table is dropped."""
        if self.clients:
            for c in list(self.node.clients.values()):
                if c.tracking is not None:
                    self.send(c, _NULL[3 if c.resp > 2 else 2])
        self.table = {}
        self.items = 0

    def send(self, client: Client, payload: bytes) -> None:
        """sendTrackingMessage: `payload` is the RESP of the key list (or null)."""
        t = client.tracking
        assert t is not None
        node = self.node
        dest = client
        redirected = False
        if t.redirect:
            redir = node.clients.get(t.redirect)
            if redir is None:
                t.broken = True
                if client.resp > 2:
                    _deliver(node, client, b">2\r\n$21\r\ntracking-redir-broken\r\n:%d\r\n" % t.redirect)
                return
            dest = redir
            redirected = True
        if dest.resp > 2:
            frame = b">2\r\n" + INVALIDATE + payload
        elif redirected and dest.pubsub:
            frame = CHANNEL_MESSAGE + payload
        else:
            return  # RESP2 without a redirect: no way to send it
        _deliver(node, dest, frame)

    def _schedule_broadcast(self) -> None:
        if self._broadcast_due:
            return
        self._broadcast_due = True
        try:
            asyncio.get_running_loop().call_soon(self.broadcast)
        except RuntimeError:
            self.broadcast()

    def broadcast(self) -> None:
        """trackingBroadcastInvalidationMessages: per prefix, the keys changed since the
        last call, to every client of the prefix (minus its own changes under NOLOOP)."""
        self._broadcast_due = False
        for _p, bs in sorted(self.prefixes.items()):
            if not bs.keys:
                continue
            keys = sorted(bs.keys)
            common = keys_payload(keys)
            for c in list(bs.clients):
                t = c.tracking
                if t is None:
                    continue
                if t.noloop:
                    mine = [k for k in keys if bs.keys[k] is not c]
                    if mine:
                        self.send(c, keys_payload(mine))
                else:
                    self.send(c, common)
            bs.keys = {}

    # ---- the size limit ------------------------------------------------------------
    def _check_limit(self) -> None:
        if not self._limit_due and len(self.table) > self._max_keys():
            self._limit_due = True
            try:
                asyncio.get_running_loop().call_soon(self.limit)
            except RuntimeError:
                self.limit()

    def _max_keys(self) -> int:
        try:
            return int(self.node.runtime.get("tracking-table-max-keys", "1000000"))
        except ValueError:
            return 1000000

    def limit(self) -> None:
        """trackingLimitUsedSlots: evict keys (oldest first) with an invalidation until
        the table fits, at most 100 x (rounds so far + 1) per call; retried shortly."""
        self._limit_due = False
        max_keys = self._max_keys()
        if max_keys == 0 or len(self.table) <= max_keys:
            self._effort_round = 0
            return
        effort = 100 * (self._effort_round + 1)
        while effort > 0 and self.table:
            effort -= 1
            self.invalidate(next(iter(self.table)), None, bcast=False)
            if len(self.table) <= max_keys:
                self._effort_round = 0
                return
        self._effort_round += 1
        self._limit_due = True
        try:
            asyncio.get_running_loop().call_later(0.01, self.limit)
        except RuntimeError:
            self._limit_due = False

    def config_changed(self) -> None:
        self._limit_due = False
        self._check_limit()

    # ---- introspection -------------------------------------------------------------
    def info(self) -> dict[str, Any]:
        return {
            "tracking_clients": self.clients,
            "tracking_total_keys": len(self.table),
            "tracking_total_items": self.items,
            "tracking_total_prefixes": len(self.prefixes),
        }


def _deliver(node: Node, client: Client, frame: bytes) -> None:
    """To the running client: after its reply. To anyone else: now."""
    if client is node.current_client and client.special:
        client.after += frame
    else:
        client.push(frame)


__all__ = ["Tracking", "TrackingState", "keys_payload"]
