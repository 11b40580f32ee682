"""Connection limits, applied where Redis 7.0 applies them.

At accept (Redis acceptCommonHandler / clientAcceptHandler), in this order:

* `maxclients`: the connection that takes the count past it gets `-ERR max number of
  clients reached` and is closed;
* protected mode: with `protected-mode yes` and no password for the default user, a
  connection that does not come from a loopback address gets Redis's `-DENIED ...` text
  and is closed. (Redis 7.0 no longer looks at `bind` here: a loopback-only bind simply
  never sees such a connection.)

Both are counted in INFO stats `rejected_connections`. Every accepted socket gets
`tcp-keepalive` (Redis anetKeepAlive: SO_KEEPALIVE, first probe after that many seconds,
then every third of it, 3 probes).

While the connection lives:

* `client-query-buffer-limit`: a client whose unparsed input (the start of a request it
  has not finished sending) passes the limit is closed, as Redis closes it ("Closing
  client that reached max query buffer length"): a client that sends a never-ending
  request cannot make the server buffer it without bound;
* `timeout`: the cron closes clients idle for longer (Redis clientsCronHandleTimeout);
  blocked clients, subscribers and MONITOR are exempt, as in Redis.

The protocol layer calls `accept_error`, `keepalive` and `query_buffer_limit`; the cron
runs `close_idle` (installed by `attach`).
"""
from __future__ import annotations

import ipaddress
import logging
import socket
import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .node import Node

log = logging.getLogger("crdtredis.limits")

MAX_CLIENTS = b"-ERR max number of clients reached\r\n"
DENIED = (
    b"-DENIED Redis is running in protected mode because protected mode is enabled and no password is set "
    b"for the default user. In this mode connections are only accepted from the loopback interface. If you "
    b"want to connect from external computers to Redis you may adopt one of the following solutions: 1) Just "
    b"disable protected mode sending the command 'CONFIG SET protected-mode no' from the loopback interface by "
    b"connecting to Redis from the same host the server is running, however MAKE SURE Redis is not publicly "
    b"accessible from internet if you do so. Use CONFIG REWRITE to make this change permanent. 2) Alternatively "
    b"you can just disable the protected mode by editing the Redis configuration file, and setting the "
    b"protected mode option to 'no', and then restarting the server. 3) If you started the server manually "
    b"just for testing, restart it with the '--protected-mode no' option. 4) Setup a an authentication "
    b"password for the default user. NOTE: You only need to do one of the above things in order for the "
    b"server to start accepting connections from the outside.\r\n"
)


def is_loopback(host: str) -> bool:
    """Redis connIsLocal: a loopback address (127.0.0.0/8, ::1, and IPv4-mapped
    loopback, which a dual-stack listener reports) or a unix socket (no address)."""
    if not host:
        return True
    try:
        ip = ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return False
    mapped = getattr(ip, "ipv4_mapped", None)
    return bool(ip.is_loopback or (mapped is not None and mapped.is_loopback))


def protected_denies(protected_mode: bool, default_nopass: bool, peer_host: str) -> bool:
    """Whether protected mode refuses a connection from `peer_host`."""
    return protected_mode and default_nopass and not is_loopback(peer_host)


def _default_nopass(node: Node) -> bool:
    acl = node.acl
    if acl is not None:
        return bool(acl.default.nopass)
    return not node.requirepass


def _runtime_int(node: Node, name: str, default: int) -> int:
    try:
        return int(node.runtime.get(name, default))
    except (TypeError, ValueError):
        return default


def accept_error(node: Node, peer_host: str) -> bytes | None:
    """The line to write before closing a connection just accepted (its client is already
    counted in node.clients), or None to serve it."""
    if len(node.clients) > _runtime_int(node, "maxclients", 10000):
        node.rejected_connections += 1
        return MAX_CLIENTS
    if protected_denies(node.runtime.get("protected-mode", "yes") == "yes", _default_nopass(node), peer_host):
        node.rejected_connections += 1
        return DENIED
    return None


def keepalive(node: Node, sock: Any) -> None:
    """Redis anetKeepAlive on an accepted socket (tcp-keepalive seconds; 0 = off)."""
    interval = _runtime_int(node, "tcp-keepalive", 300)
    if sock is None or interval <= 0:
        return
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
        if hasattr(socket, "TCP_KEEPIDLE"):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE, interval)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL, max(interval // 3, 1))
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPCNT, 3)
    except (OSError, AttributeError, ValueError):
        pass  # not a TCP socket (unix), or the option is unsupported: nothing to keep alive


def query_buffer_limit(node: Node) -> int:
    return _runtime_int(node, "client-query-buffer-limit", 1 << 30)


def close_idle(node: Node) -> int:
    """Close clients idle longer than `timeout` seconds; returns how many."""
    maxidle = _runtime_int(node, "timeout", 0)
    if maxidle <= 0:
        return 0
    now = time.time()
    n = 0
    for c in list(node.clients.values()):
        if c.blocked or c.pubsub or c.monitor or c.conn is None or c.closing:
            continue
        if now - c.last_cmd_at > maxidle:
            log.info("Closing idle client id=%d addr=%s", c.id, c.addr)
            c.close()
            n += 1
    return n


def attach(node: Node) -> None:
    node.cron_hooks.append(lambda: _close_idle_cron(node))


def _close_idle_cron(node: Node) -> None:
    # Redis checks a slice of the clients per cron run; checking every client once a
    # second is as prompt (timeout is in seconds) and costs little.
    now = int(time.monotonic())
    if getattr(node, "_idle_checked", None) == now:
        return
    node._idle_checked = now  # type: ignore[attr-defined]
    close_idle(node)
