"""Per-command statistics and the timed run of a command's handler.

Every command Redis runs is timed and counted: INFO commandstats (calls, usec, failed
calls), LATENCY HISTOGRAM and INFO latencystats (the duration histogram), SLOWLOG and the
latency monitor (the calls over slowlog-log-slower-than). `timed_call` runs a handler and
records all of that in its command's `CmdStats`.

As in Redis's call(), the time is the handler's alone: the op log and the replication
queue see the command's op after it (Node.close_group), as Redis propagates after it
has measured the command.

Why a module of its own: in Python the timing and the counters cost ~230 ns a command,
two fifths of what the node adds to a pipelined GET (two clock reads, three counters, the
bucket's index). crdtredis/cmdstats.pyx does the same in C, with the counters in the
object itself, for ~80 ns (bench/RESULTS.md); setup.py builds it with Cython as
crdtredis._cmdstats_native, and this module uses that build only while it was built from
the cmdstats.pyx beside it (crdtredis/wire/native.py). Without it the functions below run:
the same rules, slower.
"""
from __future__ import annotations

import os
from collections.abc import Callable
from time import perf_counter_ns as _perf_ns
from typing import TYPE_CHECKING, Any

from .reply import CommandError, ErrorReply
from .wire.native import native_module

if TYPE_CHECKING:
    from .client import Client
    from .cmdtable import Command
    from .node import Node
    from .reply import Reply

# Bucket b of a histogram counts the durations of b bits (octaves of nanoseconds; one index
# per call costs ~40 ns, quarter octaves cost ~100 ns: 20% of a GET). 64 bits at most.
HIST_BUCKETS = 65


class PyCmdStats:
    """One command's counters. `histogram()` is a copy of the duration histogram; with
    `track` off (latency-tracking no) durations are not recorded in it."""

    __slots__ = ("calls", "nsec", "errors", "track", "_hist")

    def __init__(self) -> None:
        self.calls = 0
        # Nanoseconds, not µs: a GET takes well under 1 µs, so summing whole µs per call
        # would count it as 0 (INFO shows `usec`).
        self.nsec = 0
        self.errors = 0
        self.track = True
        self._hist = [0] * HIST_BUCKETS

    def histogram(self) -> list[int]:
        return list(self._hist)

    def clear_histogram(self) -> None:
        self._hist = [0] * HIST_BUCKETS

    def record(self, dt: int) -> None:
        """Count one call of `dt` ns (`timed_call` counts each call with it)."""
        self.calls += 1
        self.nsec += dt
        if self.track:
            self._hist[dt.bit_length()] += 1

    def record_run(self, k: int, dt: int) -> None:
        """Count `k` calls that took `dt` ns together (a run of pipelined requests run in
        one call, runs.py): `dt` in the total, `dt // k` each in the histogram."""
        if k <= 0:
            return
        dt = max(dt, 0)
        self.calls += k
        self.nsec += dt
        if self.track:
            self._hist[(dt // k).bit_length()] += k


def py_timed_call(st: PyCmdStats, handler: Callable[[Node, Client, list[bytes]], Reply], node: Node,
                  client: Client, argv: list[bytes], cmd: Command) -> Reply:
    """Run `handler`, a CommandError becoming its ErrorReply; count the call in `st`; a
    call of `node.slow_ns` or more (the threshold after the call: CONFIG SET
    slowlog-log-slower-than logs itself) goes to `node.on_slow`, an error reply to the node's
    errorstats. Any other exception propagates uncounted (the connection answers an
    internal error)."""
    t0 = _perf_ns()
    try:
        reply = handler(node, client, argv)
    except CommandError as e:
        reply = ErrorReply(e.message)
    dt = _perf_ns() - t0
    st.record(dt)
    if dt >= node.slow_ns:
        node.on_slow(client, cmd, argv, dt, reply)
    if reply.__class__ is ErrorReply:
        st.errors += 1
        node._count_error(reply.message)
    return reply


def native() -> Any:
    """The compiled module if it was built from the cmdstats.pyx beside this file, else None."""
    return native_module("crdtredis._cmdstats_native", os.path.join(os.path.dirname(__file__), "cmdstats.pyx"))


if TYPE_CHECKING:
    CmdStats = PyCmdStats
    timed_call = py_timed_call
else:
    _nat = native()
    CmdStats = PyCmdStats if _nat is None else _nat.CmdStats
    timed_call = py_timed_call if _nat is None else _nat.timed_call
