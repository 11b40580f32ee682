"""The replies waiting for one op-log write (group commit), released by that write.

Every read batch that wrote in an event-loop turn waits for the turn's one log write
(oplog.batch_hook). An asyncio Future would do, but its callbacks each go through the
loop's ready queue: a Handle per waiting connection and a loop iteration between the write
and the replies. At one request per read (most applications: unpipelined clients) that
plumbing is a visible part of a write. Here the write calls its waiters directly, in the
order they came, as soon as it is done; anything that needs an awaitable (the slow paths
of connection.py) still gets a Future, made only on request.
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Generator
from typing import Any

log = logging.getLogger("crdtredis.storage")

Waiter = Callable[[BaseException | None], None]


class GroupCommit:
    __slots__ = ("_loop", "_waiters", "_future", "done", "error")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._waiters: list[Waiter] = []
        self._future: asyncio.Future[None] | None = None
        self.done = False
        self.error: BaseException | None = None

    def add_waiter(self, fn: Waiter) -> None:
        """`fn(None)` once the write is done, `fn(exc)` if it failed (not durable)."""
        if self.done:
            fn(self.error)
        else:
            self._waiters.append(fn)

    def future(self) -> asyncio.Future[None]:
        fut = self._future
        if fut is None:
            fut = self._future = self._loop.create_future()
            if self.done:
                self._settle(fut)
        return fut

    def __await__(self) -> Generator[Any, None, None]:
        return self.future().__await__()

    def resolve(self, exc: BaseException | None = None) -> None:
        """The write is done (exc None) or failed: release every waiter now. A waiter
        that raises is logged; the others are still released."""
        if self.done:
            return
        self.done = True
        self.error = exc
        waiters, self._waiters = self._waiters, []
        for fn in waiters:
            try:
                fn(exc)
            except Exception:
                log.exception("a reply waiting for the op log write failed")
        if self._future is not None:
            self._settle(self._future)

    def _settle(self, fut: asyncio.Future[None]) -> None:
        if fut.done():
            return
        if self.error is None:
            fut.set_result(None)
        else:
            fut.set_exception(self.error)
