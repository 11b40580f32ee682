"""crdtredis/cmdstats.py and its compiled twin cmdstats.pyx: every command's timing and
counters (INFO commandstats, LATENCY HISTOGRAM, SLOWLOG, errorstats). Both
implementations must follow the same rules; each test runs against each one built."""
from __future__ import annotations

import os
from typing import Any

import pytest

from crdtredis import cmdstats
from crdtredis.cmdtable import Command
from crdtredis.reply import OK, CommandError, ErrorReply
from crdtredis.wire import fastdec

IMPLS: dict[str, tuple[Any, Any]] = {"pure": (cmdstats.PyCmdStats, cmdstats.py_timed_call)}
_NATIVE = cmdstats.native()
if _NATIVE is not None:
    IMPLS["compiled"] = (_NATIVE.CmdStats, _NATIVE.timed_call)


class _Node:
    """What timed_call reads of a node: the SLOWLOG threshold and the two rare-path hooks."""

    def __init__(self, slow_ns: int = 1 << 62) -> None:
        self.slow_ns = slow_ns
        self.slow: list[tuple[Any, ...]] = []
        self.error_messages: list[str] = []

    def on_slow(self, client: Any, cmd: Any, argv: list[bytes], dt: int, reply: Any) -> None:
        self.slow.append((client, cmd, argv, dt, reply))

    def _count_error(self, message: str) -> None:
        self.error_messages.append(message)


def test_the_compiled_module_is_used_when_the_build_is() -> None:
    """CI builds the compiled modules: there Command must get the compiled CmdStats and the
    node the compiled timed_call, or the saving silently goes."""
    if os.environ.get("CRDT_REDIS_PURE") or not fastdec.compiled():
        return
    assert _NATIVE is not None
    assert cmdstats.CmdStats is _NATIVE.CmdStats
    assert cmdstats.timed_call is _NATIVE.timed_call
    assert isinstance(Command("x", lambda n, c, a: OK, 1, (), 0, 0, 0, "g", "", "", ()).stats,
                      _NATIVE.CmdStats)


@pytest.mark.parametrize("impl", sorted(IMPLS))
def test_a_call_is_counted_timed_and_bucketed(impl: str) -> None:
    stats_cls, timed_call = IMPLS[impl]
    st, node = stats_cls(), _Node()
    seen: list[Any] = []

    def handler(n: Any, c: Any, argv: list[bytes]) -> Any:
        seen.append((n, c, argv))
        return b"reply"

    assert timed_call(st, handler, node, "client", [b"GET", b"k"], "cmd") == b"reply"
    assert seen == [(node, "client", [b"GET", b"k"])]
    assert (st.calls, st.errors) == (1, 0)
    assert st.nsec > 0
    hist = st.histogram()
    assert len(hist) == cmdstats.HIST_BUCKETS
    assert hist[st.nsec.bit_length()] == 1 and sum(hist) == 1
    assert node.slow == [] and node.error_messages == []
    timed_call(st, handler, node, "client", [b"GET", b"k"], "cmd")
    assert st.calls == 2 and sum(st.histogram()) == 2


@pytest.mark.parametrize("impl", sorted(IMPLS))
def test_errors_raised_or_returned_count_as_failed_calls(impl: str) -> None:
    stats_cls, timed_call = IMPLS[impl]
    st, node = stats_cls(), _Node()

    def raises(n: Any, c: Any, argv: list[bytes]) -> Any:
        raise CommandError("WRONGTYPE Operation against a key holding the wrong kind of value")

    reply = timed_call(st, raises, node, None, [b"X"], None)
    assert type(reply) is ErrorReply
    assert reply.message.startswith("WRONGTYPE ")
    reply2 = timed_call(st, lambda n, c, a: ErrorReply("ERR nope"), node, None, [b"X"], None)
    assert reply2.message == "ERR nope"
    assert (st.calls, st.errors) == (2, 2)
    assert node.error_messages == [reply.message, "ERR nope"]


@pytest.mark.parametrize("impl", sorted(IMPLS))
def test_other_exceptions_propagate_uncounted(impl: str) -> None:
    stats_cls, timed_call = IMPLS[impl]
    st, node = stats_cls(), _Node()

    def broken(n: Any, c: Any, argv: list[bytes]) -> Any:
        raise KeyError("bug")

    with pytest.raises(KeyError):
        timed_call(st, broken, node, None, [b"X"], None)
    assert (st.calls, st.nsec, st.errors, sum(st.histogram())) == (0, 0, 0, 0)


@pytest.mark.parametrize("impl", sorted(IMPLS))
def test_slow_calls_go_to_the_node_with_the_threshold_after_the_call(impl: str) -> None:
    stats_cls, timed_call = IMPLS[impl]
    st, node = stats_cls(), _Node()
    timed_call(st, lambda n, c, a: OK, node, "c", [b"GET"], "cmd")
    assert node.slow == []

    def lowers_threshold(n: Any, c: Any, argv: list[bytes]) -> Any:
        n.slow_ns = 0  # CONFIG SET slowlog-log-slower-than 0: logs itself, as in Redis
        return OK

    timed_call(st, lowers_threshold, node, "c", [b"CONFIG"], "cmd")
    assert len(node.slow) == 1
    client, cmd, argv, dt, reply = node.slow[0]
    assert (client, cmd, argv, reply) == ("c", "cmd", [b"CONFIG"], OK)
    assert 0 < dt <= st.nsec


@pytest.mark.parametrize("impl", sorted(IMPLS))
def test_tracking_off_keeps_the_histogram_empty_not_the_counters(impl: str) -> None:
    stats_cls, timed_call = IMPLS[impl]
    st, node = stats_cls(), _Node()
    st.record(1000)
    assert st.histogram()[(1000).bit_length()] == 1
    st.track = False
    st.clear_histogram()
    timed_call(st, lambda n, c, a: OK, node, None, [b"GET"], None)
    st.record(5)
    assert st.calls == 3 and st.nsec >= 1005
    assert not any(st.histogram())
    st.track = True
    st.record(0)
    st.record((1 << 40) + 3)
    hist = st.histogram()
    assert hist[0] == 1 and hist[41] == 1 and sum(hist) == 2


@pytest.mark.parametrize("impl", sorted(IMPLS))
def test_a_run_of_calls_counts_each_with_the_run_s_mean(impl: str) -> None:
    """record_run (setrun.py): k calls, the whole time in the total, the mean in the
    histogram k times; nothing for an empty run, a negative time as 0."""
    st = IMPLS[impl][0]()
    st.record_run(16, 16 * 1000 + 15)
    hist = st.histogram()
    assert (st.calls, st.nsec) == (16, 16015)
    assert hist[(1000).bit_length()] == 16 and sum(hist) == 16
    st.record_run(0, 500)
    st.record_run(3, -7)
    assert (st.calls, st.nsec) == (19, 16015) and st.histogram()[0] == 3
    st.track = False
    st.record_run(2, 1 << 40)
    assert st.calls == 21 and sum(st.histogram()) == 19


@pytest.mark.parametrize("impl", sorted(IMPLS))
def test_command_reads_and_resets_its_counters_through_the_stats(impl: str) -> None:
    stats_cls, timed_call = IMPLS[impl]
    cmd = Command("x", lambda n, c, a: OK, 1, (), 0, 0, 0, "g", "", "", ())
    cmd.stats = stats_cls()
    timed_call(cmd.stats, cmd.handler, _Node(), None, [b"x"], cmd)
    assert cmd.calls == 1 and cmd.nsec == cmd.stats.nsec and sum(cmd.hist) == 1
    cmd.hist[0] += 5  # a copy: the histogram is the stats' own
    assert sum(cmd.hist) == 1
    cmd.errors += 2
    cmd.usec = 7
    assert (cmd.stats.errors, cmd.nsec, cmd.usec) == (2, 7000, 7)
    cmd.calls = 0
    assert cmd.stats.calls == 0
