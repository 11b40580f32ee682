"""Replies of read-only batches leave together, at the end of the event-loop turn.

Redis writes every reply in beforeSleep (handleClientsWithPendingWrites), after it has
run the requests of every client that was readable. A batch that wrote already waits
for the op log's group commit, written at the end of the turn (storage/oplog.py); a
batch that only read (GETs) used to write its replies as soon as it had run. Under
load that is one send() per client interleaved with the Python work of the others, and
each send() to a client that is asleep waiting for it pays the full wake-up. Written
together at the end of the turn, the sends follow each other, and the clients they wake
run on the other core meanwhile: `redis-benchmark -c 50 -P 16 -t get` went from 2.76 to
2.24 µs of server CPU per request (bench/RESULTS.md).

A lone client (one batch per turn, an unpipelined request-reply loop) gains nothing from
the wait and would pay a loop hop in latency, so, as the op log does for its own write,
the first batch of a turn that follows a turn of one batch writes at once.
"""
from __future__ import annotations

import asyncio
import logging
import weakref
from typing import Protocol

__all__ = ["TurnWriter", "turn_writer"]

log = logging.getLogger("crdtredis.connection")


class Flushable(Protocol):
    def flush_turn(self) -> None: ...


class TurnWriter:
    """One per event loop: the connections whose output waits for the end of the turn."""

    __slots__ = ("_loop", "_waiting", "_batches", "_lone", "_scheduled")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        # Its loop, weakly (the registry below is keyed weakly by it): every turn of a
        # lone client schedules the end of the turn, and asyncio.get_running_loop() costs
        # a getpid() system call in Python 3.11 (~0.2 us here).
        self._loop = weakref.ref(loop)
        self._waiting: list[Flushable] = []
        self._batches = 0  # read-only batches run in this turn
        self._lone = True  # the last turn ran at most one
        self._scheduled = False

    def defer(self, conn: Flushable) -> bool:
        """A read-only batch of `conn` has run: True when its replies must wait for the end
        of the turn (which then flushes `conn`), False when they go out now."""
        if not self._scheduled:  # the end of even a lone turn tells whether the next is lone
            self._schedule()
        n = self._batches = self._batches + 1
        if n == 1 and self._lone:
            return False
        self._waiting.append(conn)
        return True

    def later(self, conn: Flushable) -> None:
        """Flush `conn` at the end of this turn (pub/sub messages, invalidations)."""
        if not self._scheduled:
            self._schedule()
        self._waiting.append(conn)

    def _schedule(self) -> None:
        loop = self._loop()
        if loop is None:  # only a writer whose loop is gone could get here
            loop = asyncio.get_running_loop()
        self._scheduled = True
        loop.call_soon(self._end_turn)

    def _end_turn(self) -> None:
        # call_soon callbacks run after all the I/O callbacks of the turn (uvloop and
        # asyncio alike), so every batch of this turn has run.
        self._scheduled = False
        self._lone = self._batches <= 1
        self._batches = 0
        self.flush()

    def flush(self) -> None:
        """Write what waits now. The end of the turn does; so does a script that serves
        clients while busy (scripting/busy.py), since the turn cannot end under it."""
        waiting, self._waiting = self._waiting, []
        for conn in waiting:
            try:
                conn.flush_turn()
            except Exception:  # noqa: BLE001 - one connection's failure must not hold the others' replies
                log.exception("writing a connection's replies at the end of the turn failed")


_writers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, TurnWriter] = weakref.WeakKeyDictionary()


def turn_writer(loop: asyncio.AbstractEventLoop) -> TurnWriter:
    """The loop's TurnWriter (a server's connections share one: one flush per turn)."""
    writer = _writers.get(loop)
    if writer is None:
        writer = _writers[loop] = TurnWriter(loop)
    return writer
