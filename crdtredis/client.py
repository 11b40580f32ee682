"""Per-connection state, grouped by lifetime. Owned by the connection; read by commands."""
from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

# CLIENT REPLY modes (Client.reply_mode).
REPLY_ON = 0
REPLY_OFF = 1
REPLY_SKIP_NEXT = 2
REPLY_SKIP = 3


class Client:
    """One client connection's session state.

    The protocol adapter creates it and passes it to every command; commands read and
    change session fields (db, resp, auth, name, transaction state) here and nowhere else.
    """

    __slots__ = (
        "id", "addr", "laddr", "name", "lib_name", "lib_ver", "created", "last_cmd_at",
        "last_cmd", "db", "resp", "authenticated", "closing", "in_multi", "multi_queue",
        "multi_error", "in_exec", "last_seq", "batching", "watching", "watch_dirty", "close_cb", "blocked", "kind",
        # Pub/sub, tracking, MONITOR, CLIENT REPLY (see `special`).
        "special", "conn", "subs", "psubs", "ssubs", "reply_mode", "tracking", "monitor",
        "no_evict", "unblocker", "script", "qbuf", "after",
        # ACL: the user (crdtredis.acl.users.User; None for internal clients) and whether
        # its commands must be checked (see `special`).
        "user", "restricted",
    )

    def __init__(
        self,
        cid: int,
        addr: str = "",
        laddr: str = "",
        close_cb: Callable[[], None] | None = None,
        authenticated: bool = True,
    ) -> None:
        self.id = cid
        self.addr = addr
        self.laddr = laddr
        self.name = b""
        self.lib_name = b""
        self.lib_ver = b""
        self.created = time.time()
        self.last_cmd_at = self.created
        self.last_cmd = b"NULL"
        self.db = 0
        self.resp = 2
        # False while the default user needs a password (requirepass) and no AUTH succeeded.
        self.authenticated = authenticated
        self.user: Any = None
        self.restricted = False
        # Set by QUIT / CLIENT KILL / protocol errors: close after the pending replies are written.
        self.closing = False
        # MULTI state: commands queued as argv lists; an error while queuing aborts EXEC.
        self.in_multi = False
        self.multi_queue: list[list[bytes]] = []
        self.multi_error = False
        # True while EXEC runs the queued commands: their effects form one op.
        self.in_exec = False
        # Our origin's seq after this client's last write (WAIT counts peers that acked it).
        self.last_seq = 0
        # Inside a connection's read batch, which calls Node.batch_done after it: the
        # batch's consecutive writes may share one op (Node.execute).
        self.batching = False
        # WATCH: set of (db, key); watch_dirty flips when any of them is written by anyone.
        self.watching: set[tuple[int, bytes]] = set()
        self.watch_dirty = False
        self.close_cb = close_cb
        # True while a blocking command (BLPOP...) waits for this client.
        self.blocked = False
        self.kind = "normal"
        # True while the client needs more than the straight command path: subscribed,
        # tracking, MONITOR, or CLIENT REPLY OFF/SKIP. The node then runs the session hooks
        # for it (subscribed-mode checks, tracked reads) and the connection the reply modes.
        # Kept by `refresh()`; False for nearly every client, so the hot path pays one test.
        self.special = False
        # The connection, for out-of-band data (pub/sub messages, invalidations, MONITOR
        # lines): `conn.push(bytes)`. None for clients without a socket (tests, scripts).
        self.conn: Any = None
        # Channel / pattern / shard-channel subscriptions, in subscription order.
        self.subs: dict[bytes, None] = {}
        self.psubs: dict[bytes, None] = {}
        self.ssubs: dict[bytes, None] = {}
        # CLIENT REPLY: REPLY_ON, REPLY_OFF, REPLY_SKIP_NEXT (set by CLIENT REPLY SKIP),
        # REPLY_SKIP (the reply of the command being run is dropped).
        self.reply_mode = REPLY_ON
        # CLIENT TRACKING state (crdtredis.tracking.TrackingState) or None when off.
        self.tracking: Any = None
        self.monitor = False
        self.no_evict = False
        # Set by a blocking command while it waits: `unblocker(error)` ends the wait
        # (CLIENT UNBLOCK); None otherwise.
        self.unblocker: Callable[[bool], None] | None = None
        # A script's pseudo-client (MONITOR shows its commands as `[db lua]`).
        self.script = False
        # Bytes of the request being run (CLIENT LIST/INFO `qbuf`).
        self.qbuf = 0
        # Out-of-band data to send right after the reply of the command being run (a
        # client's own tracking invalidations); only ever filled while `special`.
        self.after = bytearray()

    def refresh(self) -> None:
        """Recompute `special` after a change of subscriptions, tracking, MONITOR or
        CLIENT REPLY mode."""
        self.special = bool(
            self.subs or self.psubs or self.ssubs or self.tracking is not None or self.monitor
            or self.reply_mode != REPLY_ON or self.restricted
        )

    @property
    def pubsub(self) -> bool:
        """Subscribed to anything (Redis CLIENT_PUBSUB): the `pubsub` client class."""
        return bool(self.subs or self.psubs or self.ssubs)

    def push(self, data: bytes) -> None:
        """Send out-of-band bytes (already encoded for this client's protocol)."""
        conn = self.conn
        if conn is not None:
            conn.push(data)

    def close(self) -> None:
        """Ask the connection to close (CLIENT KILL, SHUTDOWN)."""
        self.closing = True
        if self.close_cb is not None:
            self.close_cb()

    def flags(self) -> str:
        """CLIENT LIST `flags`, in Redis catClientInfoString order."""
        f = "O" if self.monitor else ""
        if self.pubsub:
            f += "P"
        if self.in_multi:
            f += "x"
        if self.blocked:
            f += "b"
        t = self.tracking
        if t is not None:
            f += "t"
            if t.broken:
                f += "R"
            if t.bcast:
                f += "B"
        if self.watch_dirty:
            f += "d"
        if self.closing:
            f += "c"
        if self.no_evict:
            f += "e"
        return f or "N"

    def info_fields(self) -> dict[str, Any]:
        now = time.time()
        conn = self.conn
        omem = conn.output_size() if conn is not None else 0
        multi_mem = sum(len(a) for q in self.multi_queue for a in q) if self.in_multi else 0
        return {
            "id": self.id,
            "addr": self.addr,
            "laddr": self.laddr,
            "fd": 8,
            "name": self.name.decode("utf-8", "replace"),
            "age": int(now - self.created),
            "idle": int(now - self.last_cmd_at),
            "flags": self.flags(),
            "db": self.db,
            "sub": len(self.subs),
            "psub": len(self.psubs),
            "ssub": len(self.ssubs),
            "multi": len(self.multi_queue) if self.in_multi else -1,
            "qbuf": self.qbuf,
            "qbuf-free": 0,
            "argv-mem": max(self.qbuf - 16, 0),
            "multi-mem": multi_mem,
            "rbs": 1024,
            "rbp": 0,
            "obl": 0,
            "oll": 0,
            "omem": omem,
            # Python cannot size a connection's objects cheaply: this counts the buffers
            # Redis counts (query, output, queued MULTI arguments) plus a fixed base.
            "tot-mem": 1024 + self.qbuf + omem + multi_mem,
            "events": "r" + ("w" if omem else ""),
            "cmd": self.last_cmd.decode("utf-8", "replace").lower(),
            "user": self.user.name.decode("utf-8", "replace") if self.user is not None else "default",
            "redir": self.tracking.redirect if self.tracking is not None else -1,
            "resp": self.resp,
            "lib-name": self.lib_name.decode("utf-8", "replace"),
            "lib-ver": self.lib_ver.decode("utf-8", "replace"),
        }

    def info_line(self) -> str:
        return " ".join(f"{k}={v}" for k, v in self.info_fields().items())
