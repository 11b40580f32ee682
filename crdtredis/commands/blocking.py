"""Blocking pops (BLPOP BRPOP BLMOVE BRPOPLPUSH BLMPOP BZPOPMIN BZPOPMAX BZMPOP): the
timeout argument, and the waiter that parks a client on its keys until one holds data.

One place, because the list and sorted-set families block the same way in Redis
(blockForKeys / serveClientsBlockedOnKey): the same timeout parsing and errors, the same
FIFO order of clients blocked on a key, the same cleanup on timeout or disconnect, and the
same rule that MULTI, or a caller without an event loop, never blocks.
"""
from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .. import errors
from ..crdt.numbers import parse_decimal
from ..keyspace import Db
from ..reply import NULL_ARRAY, CommandError, Deferred, ErrorReply, Reply
from .helpers import LLONG_MAX, LLONG_MIN, check_type, lookup_write

if TYPE_CHECKING:
    from ..client import Client
    from ..node import Node

# What a blocked client does once a key it waits on holds data of its type: `serve(db, key,
# entry)` pops, emits and returns the reply.
Serve = Callable[[Db, bytes, Any], Any]


def parse_timeout(b: bytes) -> int:
    """Redis getTimeoutFromObjectOrReply in seconds: strtold, ms rounded up, 0 = forever.
    A value whose ms overflow a long long becomes LLONG_MIN in C, hence 'negative'."""
    d = parse_decimal(b)
    if d is None:
        raise CommandError(errors.TIMEOUT_NOT_FLOAT)
    v = LLONG_MIN
    if d.is_finite():
        v = int((d * 1000).to_integral_value(rounding="ROUND_CEILING"))
        if v > LLONG_MAX or v < LLONG_MIN:
            v = LLONG_MIN
    if v < 0:
        raise CommandError(errors.TIMEOUT_NEGATIVE)
    return v


class Waiter:
    """One client blocked on `keys` until one of them holds a non-empty `kind`.

    `wake` runs inside apply (a local or a replicated write to one of its keys): it only
    schedules `retry`, which pops outside apply, closes the op and resolves the client's
    future. Waiters of a key are woken in the order they blocked and retry in that order
    (FIFO fairness, as Redis serves clients blocked on the same key). With `signal_order`
    a client blocked on several keys is served from the key written first, as Redis serves
    ready keys in the order they were signalled; without it, from its first key in
    argument order."""

    __slots__ = ("node", "client", "db", "keys", "kind", "serve", "signal_order", "future", "timer",
                 "scheduled", "cbs", "ready", "loop")

    def __init__(self, node: Node, client: Client, db: Db, keys: list[bytes], kind: type[Any], serve: Serve,
                 signal_order: bool, loop: asyncio.AbstractEventLoop) -> None:
        self.node = node
        self.client = client
        self.db = db
        self.keys = list(dict.fromkeys(keys))
        self.kind = kind
        self.serve = serve
        self.signal_order = signal_order
        self.loop = loop
        self.future: asyncio.Future[Any] = loop.create_future()
        self.timer: asyncio.TimerHandle | None = None
        self.scheduled = False
        self.ready: list[bytes] = []  # keys written since the last retry, in that order
        self.cbs: dict[bytes, Callable[[], None]] = {k: self._waker(k) for k in self.keys}

    def _waker(self, key: bytes) -> Callable[[], None]:
        return lambda: self.wake(key)

    def block(self, timeout_ms: int) -> Deferred:
        waiters = self.db.waiters
        for k, cb in self.cbs.items():
            waiters.setdefault(k, []).append(cb)
        if timeout_ms > 0:
            self.timer = self.loop.call_later(timeout_ms / 1000.0, self._timeout)
        self.future.add_done_callback(self._done)
        self.client.blocked = True
        self.client.unblocker = self.unblock
        return Deferred(self.future)

    def unblock(self, error: bool) -> None:
        """CLIENT UNBLOCK: end the wait as a timeout would, or with Redis's UNBLOCKED error."""
        if not self.future.done():
            self.future.set_result(ErrorReply(errors.UNBLOCKED) if error else NULL_ARRAY)

    def wake(self, key: bytes) -> None:
        if self.future.done():
            return
        if self.signal_order and key not in self.ready:
            self.ready.append(key)
        if not self.scheduled:
            self.scheduled = True
            # Served at the end of the batch whose write woke us (Node.serve_wakeups), before
            # its replies leave; the loop's next turn serves a wake with no batch around it
            # (a replicated write, a timer).
            self.node.wakeups.append(self)
            self.loop.call_soon(self._retry_soon)

    def _retry_soon(self) -> None:
        if self.scheduled:
            wakeups = self.node.wakeups
            if self in wakeups:
                wakeups.remove(self)
            self.retry()

    def retry(self) -> None:
        self.scheduled = False
        if self.future.done():
            return
        node, db = self.node, self.db
        ready, self.ready = self.ready, []
        # The served client is the one running a command now: its own tracking
        # invalidations follow its reply (Redis serves it as server.current_client).
        node.current_client = self.client
        try:
            for k in dict.fromkeys([*ready, *self.keys]):
                e = lookup_write(node, db, k)
                if type(e) is not self.kind or not len(e):
                    continue  # another type keeps the client blocked, like Redis 7.0
                self.future.set_result(self.serve(db, k, e))
                return
        except CommandError as exc:  # BLMOVE whose destination is not a list
            self.future.set_result(ErrorReply(exc.message))
        finally:
            node.close_group()  # the pop, or an expired key's delete on the way
            node.current_client = None

    def _timeout(self) -> None:
        if not self.future.done():
            self.future.set_result(NULL_ARRAY)

    def _done(self, _f: asyncio.Future[Any]) -> None:
        if self.timer is not None:
            self.timer.cancel()
        waiters = self.db.waiters
        for k, cb in self.cbs.items():
            cbs = waiters.get(k)
            if cbs is not None:
                try:
                    cbs.remove(cb)
                except ValueError:
                    pass
                if not cbs:
                    del waiters[k]
        self.client.blocked = False
        self.client.unblocker = None


def serve_or_block(node: Node, client: Client, db: Db, keys: list[bytes], timeout_ms: int, kind: type[Any],
                   serve: Serve, signal_order: bool, in_multi_reply: Reply = NULL_ARRAY) -> Reply:
    """Serve from the first of `keys` holding a non-empty `kind` (WRONGTYPE at a key of
    another type before it), else block the client on `keys`."""
    for k in keys:
        e = check_type(lookup_write(node, db, k), kind)
        if e is not None and len(e):
            return serve(db, k, e)  # type: ignore[no-any-return]
    if client.in_exec:
        return in_multi_reply  # inside MULTI a blocking command never blocks
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return in_multi_reply  # no event loop to wait on (synchronous in-process callers)
    return Waiter(node, client, db, keys, kind, serve, signal_order, loop).block(timeout_ms)
