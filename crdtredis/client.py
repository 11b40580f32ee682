"""Per-connection state, grouped by lifetime. Owned by the connection; read by commands."""
from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any


class Client:
    """One client connection's session state.

    The protocol adapter creates it and passes it to every command; commands read and
    change session fields (db, resp, auth, name, transaction state) here and nowhere else.
    """

    __slots__ = (
        "id", "addr", "laddr", "name", "lib_name", "lib_ver", "created", "last_cmd_at",
        "last_cmd", "db", "resp", "authenticated", "closing", "in_multi", "multi_queue",
        "multi_error", "in_exec", "last_seq", "watching", "watch_dirty", "close_cb", "blocked", "kind",
        "conn",
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
        # False only when requirepass is set and AUTH has not succeeded yet.
        self.authenticated = authenticated
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
        # WATCH: set of (db, key); watch_dirty flips when any of them is written by anyone.
        self.watching: set[tuple[int, bytes]] = set()
        self.watch_dirty = False
        self.close_cb = close_cb
        # True while a blocking command (BLPOP...) waits for this client.
        self.blocked = False
        self.kind = "normal"
        # The connection (protocol object) serving this client, when there is one: a busy
        # script polls the other clients' sockets through it (scripting/busy.py).
        self.conn: Any = None

    def close(self) -> None:
        """Ask the connection to close (CLIENT KILL, SHUTDOWN)."""
        self.closing = True
        if self.close_cb is not None:
            self.close_cb()

    def info_fields(self) -> dict[str, Any]:
        now = time.time()
        flags = "x" if self.in_multi else ("b" if self.blocked else "N")
        return {
            "id": self.id,
            "addr": self.addr,
            "laddr": self.laddr,
            "fd": 8,
            "name": self.name.decode("utf-8", "replace"),
            "age": int(now - self.created),
            "idle": int(now - self.last_cmd_at),
            "flags": flags,
            "db": self.db,
            "sub": 0,
            "psub": 0,
            "ssub": 0,
            "multi": len(self.multi_queue) if self.in_multi else -1,
            "qbuf": 0,
            "qbuf-free": 0,
            "argv-mem": 0,
            "multi-mem": 0,
            "rbs": 1024,
            "rbp": 0,
            "obl": 0,
            "oll": 0,
            "omem": 0,
            "tot-mem": 0,
            "events": "r",
            "cmd": self.last_cmd.decode("utf-8", "replace").lower(),
            "user": "default",
            "redir": -1,
            "resp": self.resp,
            "lib-name": self.lib_name.decode("utf-8", "replace"),
            "lib-ver": self.lib_ver.decode("utf-8", "replace"),
        }

    def info_line(self) -> str:
        return " ".join(f"{k}={v}" for k, v in self.info_fields().items())
