"""The session features wired into the node: pub/sub, MONITOR, tracking, CLIENT PAUSE,
CLIENT REPLY, output buffer limits and keyspace notifications.

The node takes this module's functions from its CommandTable:

* `attach(node)` installs the per-node state (node.pubsub, node.monitors, node.tracking,
  node.pause, node.notify, node.obuf_limits, node.expired_hook);
* `hooked_command` is the command path of a client that is `special` (subscribed,
  tracking, MONITOR, CLIENT REPLY off/skip) or of every client while the node is `hooked`
  (a MONITOR is connected, or clients are paused). It adds Redis processCommand's checks
  (RESP2 subscribed mode, MONITOR clients, CLIENT PAUSE) and marks the running client;
* `after_call` runs after each handler on that path: MONITOR feed, tracked reads;
* `drop_client` and the RESET hook undo a client's subscriptions, tracking and MONITOR.

Everything else takes the straight path in Node.execute and pays nothing for these.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .. import errors, info
from ..notify import EXPIRED, configure, notify_event
from ..pubsub import PubSub
from ..reply import Reply
from ..tracking import Tracking
from . import monitor
from .config_cmd import register_config_hook
from .connection import register_reset_hook
from .pause import PauseState
from .slowlog import redacted
from .transactions import unwatch_all

if TYPE_CHECKING:
    from ..client import Client
    from ..cmdtable import Command
    from ..node import Node

# What a RESP2 client in pub/sub mode may run (Redis processCommand).
_PUBSUB_ALLOWED = frozenset({
    "ping", "subscribe", "ssubscribe", "unsubscribe", "sunsubscribe", "psubscribe",
    "punsubscribe", "quit", "reset",
})
_OBUF_CLASSES = ("normal", "slave", "pubsub")
# Read-only script commands: the keys their scripts read are tracked, not the script's own
# (Redis call(): "for read-only scripts, don't process the script").
_RO_SCRIPTS = frozenset({"eval_ro", "evalsha_ro", "fcall_ro"})


def parse_obuf(value: str) -> dict[str, tuple[int, int, int]]:
    """The normalised client-output-buffer-limit value (config_cmd) as numbers."""
    parts = value.split()
    out = {c: (0, 0, 0) for c in _OBUF_CLASSES}
    for i in range(0, len(parts) - 3, 4):
        out[parts[i]] = (int(parts[i + 1]), int(parts[i + 2]), int(parts[i + 3]))
    return out


def attach(node: Node) -> None:
    node.pubsub = PubSub()
    node.monitors = []
    node.tracking = Tracking(node)
    node.pause = PauseState()
    node.obuf_limits = parse_obuf(node.runtime.get("client-output-buffer-limit", ""))
    configure(node, node.runtime.get("notify-keyspace-events", ""))
    node.expired_hook = lambda dbi, key: _on_expired(node, dbi, key)


def _on_expired(node: Node, dbi: int, key: bytes) -> None:
    notify_event(node, EXPIRED, b"expired", key, dbi)
    node.tracking.on_expired(key)


def hooked_command(node: Node, client: Client, cmd: Command, argv: list[bytes]) -> Reply:
    if client.special:
        if client.resp == 2 and client.pubsub and cmd.name not in _PUBSUB_ALLOWED:
            return node.reject(client, errors.pubsub_context(cmd.fullname), cmd)
        if client.monitor and ("readonly" in cmd.flags or "write" in cmd.flags or "may_replicate" in cmd.flags):
            # A MONITOR connection is a replica to Redis, which keeps it off the keyspace.
            return node.reject(client, errors.REPLICA_KEYSPACE, cmd)
    pause = node.pause
    if pause.kind and pause.parks(node, client, cmd, argv):
        return pause.park(client, argv)
    prev = node.current_client
    node.current_client = client
    tracking = node.tracking
    prev_running = tracking.running
    if client.tracking is not None:
        tracking.running = (client, cmd, argv)
    try:
        return node.dispatch(client, cmd, argv)
    finally:
        node.current_client = prev
        tracking.running = prev_running
        t = client.tracking
        if t is not None and t.caching and not client.in_multi and cmd.fullname != "client|caching":
            t.caching = False  # CLIENT CACHING applies to the next command only


def before_call(node: Node, client: Client, cmd: Command, argv: list[bytes]) -> None:
    # Redis feeds EVAL/EVALSHA/FCALL (the skip_monitor commands) itself before running
    # them, so that the commands of the script follow their script.
    if node.monitors and "skip_monitor" in cmd.flags:
        monitor.feed(node, client, argv)


def after_call(node: Node, client: Client, cmd: Command, argv: list[bytes], reply: Reply) -> None:
    if node.monitors and "admin" not in cmd.flags and "skip_monitor" not in cmd.flags:
        monitor.feed(node, client, redacted(cmd, argv))  # passwords show as "(redacted)"
    if "readonly" in cmd.flags and cmd.name not in _RO_SCRIPTS:
        if client.script or client.kind == "lua":
            # A read inside a script tracks the keys the script declared, for its caller.
            running = node.tracking.running
            if running is not None and running[0] is node.current_client:
                client, cmd, argv = running
        t = client.tracking
        if t is not None and not t.bcast:
            node.tracking.remember(client, cmd, argv)


def drop_client(node: Node, client: Client) -> None:
    unwatch_all(node, client)
    _clear_session(node, client)
    if client.unblocker is not None:
        client.unblocker = None


def _clear_session(node: Node, client: Client) -> None:
    if client.subs or client.psubs or client.ssubs:
        node.pubsub.drop_client(client)
    if client.tracking is not None:
        node.tracking.disable(client)
    monitor.stop_monitor(node, client)


def _reset(node: Node, client: Client) -> None:
    """RESET (Redis clearClientConnectionState): no MONITOR, tracking or subscriptions
    (unsubscribed without confirmations), replies on."""
    _clear_session(node, client)
    from ..client import REPLY_ON

    client.reply_mode = REPLY_ON
    client.refresh()


register_reset_hook(_reset)


# ---- configuration ------------------------------------------------------------------------
def _set_notify(node: Node, value: str) -> None:
    configure(node, value)


def _set_obuf(node: Node, value: str) -> None:
    node.obuf_limits = parse_obuf(value)


def _set_tracking_max(node: Node, value: str) -> None:
    node.tracking.config_changed()


register_config_hook("notify-keyspace-events", _set_notify, raw=True)
register_config_hook("client-output-buffer-limit", _set_obuf)
register_config_hook("tracking-table-max-keys", _set_tracking_max)


# ---- INFO -----------------------------------------------------------------------------------
def _info_clients(node: Node) -> list[tuple[str, Any]]:
    clients = node.clients.values()
    return [
        ("blocked_clients", sum(1 for c in clients if c.blocked)),
        ("tracking_clients", node.tracking.clients),
        ("pubsub_clients", sum(1 for c in clients if c.pubsub)),
    ]


def _info_stats(node: Node) -> list[tuple[str, Any]]:
    ps = node.pubsub
    t = node.tracking.info()
    return [
        ("pubsub_channels", len(ps.channels)),
        ("pubsub_patterns", len(ps.patterns)),
        ("pubsubshard_channels", len(ps.shard)),
        ("tracking_total_keys", t["tracking_total_keys"]),
        ("tracking_total_items", t["tracking_total_items"]),
        ("tracking_total_prefixes", t["tracking_total_prefixes"]),
        ("client_output_buffer_limit_disconnections", node.obuf_disconnections),
    ]


info.register_info_provider("clients", _info_clients)
info.register_info_provider("stats", _info_stats)
