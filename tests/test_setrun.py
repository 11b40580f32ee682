"""crdtredis/setrun.py: a read batch's run of pipelined SETs in one call.

Whatever a connection's read batch holds, running its SETs as runs must give what running
them one by one gives: the same reply bytes, the same ops (boundaries, seqs, HLC offsets,
effects), the same values, the same counters. Each test drives a real RedisProtocol over a
real Node, with the compiled request loop and with the Python one."""
from __future__ import annotations

import asyncio
from typing import Any

import hiredis
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from crdtredis import keyspace, setrun
from crdtredis.commands import new_node
from crdtredis.config import default_config
from crdtredis.crdt import codes
from crdtredis.node import MERGE_CAP, Node
from crdtredis.protocol import connection, plainrun
from crdtredis.protocol.connection import RedisProtocol
from crdtredis.protocol.resp import encode_command

LOOPS = ["compiled", "python"] if plainrun.native() is not None else ["python"]


class _Transport:
    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.closed = False

    def write(self, data: Any) -> None:
        self.writes.append(bytes(data))

    def close(self) -> None:
        self.closed = True

    def abort(self) -> None:
        self.closed = True

    def is_closing(self) -> bool:
        return self.closed

    def pause_reading(self) -> None: ...

    def resume_reading(self) -> None: ...

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None: ...

    def get_write_buffer_size(self) -> int:
        return 0

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"peername": ("127.0.0.1", 50000), "sockname": ("127.0.0.1", 6379)}.get(name, default)


def _count_replies(data: bytes) -> int:
    r = hiredis.Reader()
    r.feed(data)
    n = 0
    while r.gets() is not False:
        n += 1
    return n


def _drive(node: Node, chunks: list[bytes], runs: bool, loop: str) -> tuple[bytes, Any]:
    """Feed `chunks` to one connection (each a read), then wait for every reply."""
    want = _count_replies(b"".join(chunks))

    async def go() -> tuple[bytes, Any]:
        proto = RedisProtocol(node)
        if not runs:
            proto._run_sets = None
        t = _Transport()
        proto.connection_made(t)  # type: ignore[arg-type]
        for chunk in chunks:
            proto.data_received(chunk)
            await asyncio.sleep(0)
        for _ in range(1000):  # a bounded number of loop turns, not a timed wait
            if _count_replies(b"".join(t.writes)) >= want:
                break
            await asyncio.sleep(0)
        return b"".join(t.writes), proto._client

    saved = connection._RUN_PLAIN
    if loop == "python":
        connection._RUN_PLAIN = None
    try:
        return asyncio.run(go())
    finally:
        connection._RUN_PLAIN = saved


def _ops(node: Node) -> list[Any]:
    ops: list[Any] = []
    node.op_listeners.append(ops.append)
    return ops


def _shape(ops: list[Any]) -> list[Any]:
    """What must match between two nodes: seqs, effects, and each effect's HLC offset
    within its op (the absolute HLCs follow each node's clock)."""
    return [(op.seq, list(op.effects)) for op in ops]


_KEYS = [b"a", b"b", b"c"]
_SET = st.tuples(st.sampled_from([b"SET", b"set"]), st.sampled_from(_KEYS), st.binary(max_size=4)).map(list)
_REQ = st.one_of(
    _SET, _SET, _SET,  # SETs are most requests, so that runs of them are long and many
    st.sampled_from(_KEYS).map(lambda k: [b"Set", k, b"mixed"]),  # neither spelling: checked path
    # Deadlines fixed in advance, so that both nodes' ops hold the same ones.
    st.sampled_from(_KEYS).map(lambda k: [b"SET", k, b"t", b"PXAT", b"4102444800000"]),
    st.sampled_from(_KEYS).map(lambda k: [b"GET", k]),
    st.sampled_from(_KEYS).map(lambda k: [b"INCR", k]),
    st.sampled_from(_KEYS).map(lambda k: [b"LPUSH", k, b"x"]),
    st.sampled_from(_KEYS).map(lambda k: [b"DEL", k]),
    st.sampled_from(_KEYS).map(lambda k: [b"PEXPIREAT", k, b"4102444800000"]),
    st.just([b"SET", b"a"]),  # wrong arity
    st.just([b"MULTI"]), st.just([b"EXEC"]), st.just([b"WATCH", b"a"]),
)


def _compare(batches: list[list[list[bytes]]], cuts: list[int], loop: str, solo: bool) -> None:
    got = []
    for runs in (False, True):
        node = new_node(default_config())
        node.set_solo(solo)
        ops = _ops(node)
        stats = node.commands[b"set"].stats
        calls = stats.calls
        chunks = []
        for reqs in batches:
            data = b"".join(encode_command(r) for r in reqs)
            cut = min(cuts[len(chunks) % len(cuts)], len(data)) if cuts else len(data)
            chunks += [data[:cut], data[cut:]] if 0 < cut < len(data) else [data]
        out, client = _drive(node, chunks, runs, loop)
        last = (stats.calls - calls, client.last_seq, client.last_cmd)
        values = [(k, node.execute(client, [b"TYPE", k]), node.execute(client, [b"DUMP", k])) for k in _KEYS]
        got.append((out, _shape(ops), values, last))
    assert got[1] == got[0]


@pytest.mark.parametrize("loop", LOOPS)
@pytest.mark.parametrize("solo", [True, False])
@settings(max_examples=150, deadline=None)
@given(batches=st.lists(st.lists(_REQ, max_size=40), min_size=1, max_size=4),
       cuts=st.lists(st.integers(min_value=0, max_value=400), max_size=3))
@example(batches=[[[b"SET", b"a", b"1"], [b"SET", b"b", b"2"], [b"set", b"c", b"3"]]], cuts=[])  # last_cmd: set
def test_a_batch_s_set_runs_give_what_one_by_one_gives(batches: list[list[list[bytes]]], cuts: list[int],
                                                        loop: str, solo: bool) -> None:
    _compare(batches, cuts, loop, solo)


@pytest.mark.parametrize("loop", LOOPS)
def test_runs_longer_than_an_op_holds_close_it_where_one_by_one_does(loop: str) -> None:
    sets = [[b"SET", b"k%d" % (i % 7), b"v%d" % i] for i in range(3 * MERGE_CAP + 5)]
    _compare([[[b"INCR", b"n"], *sets], sets[:MERGE_CAP - 1] + [[b"GET", b"k1"]] + sets], [], loop, False)
    node = new_node(default_config())
    ops = _ops(node)
    _drive(node, [b"".join(encode_command(r) for r in sets)], True, loop)
    assert [len(op.effects) for op in ops] == [MERGE_CAP, MERGE_CAP, MERGE_CAP, 5]


@pytest.mark.parametrize("loop", LOOPS)
def test_a_set_whose_apply_raises_answers_an_internal_error_and_the_run_goes_on(loop: str) -> None:
    real = keyspace._APPLY[codes.SET]

    def apply(ks: Any, db: Any, eff: Any, ctx: Any) -> None:
        if eff[3] == b"boom":
            raise RuntimeError("boom")
        real(ks, db, eff, ctx)

    reqs = [[b"SET", b"a", b"1"], [b"SET", b"b", b"2"], [b"SET", b"c", b"boom"], [b"SET", b"a", b"3"],
            [b"SET", b"b", b"boom"], [b"SET", b"c", b"4"]]
    outs = []
    for runs in (False, True):
        with pytest.MonkeyPatch.context() as mp:
            mp.setitem(keyspace._APPLY, codes.SET, apply)
            node = new_node(default_config())
            node.set_solo(False)
            # A watched key turns off apply_local_all's inline SETs: each goes through _APPLY.
            watcher = node.new_client("w", "w", lambda: None)
            node.execute(watcher, [b"WATCH", b"zzz"])
            ops = _ops(node)
            out, client = _drive(node, [b"".join(encode_command(r) for r in reqs)], runs, loop)
        outs.append((out, _shape(ops), [node.execute(client, [b"GET", k]) for k in _KEYS]))
    assert outs[1] == outs[0]
    assert outs[1][0].count(b"-ERR") == 2 and outs[1][0].count(b"+OK") == 4
    assert outs[1][2] == [b"3", b"2", b"4"]


def test_each_set_of_a_run_is_counted_timed_and_slowlogged(monkeypatch: pytest.MonkeyPatch) -> None:
    node = new_node(default_config())
    client = node.new_client("t", "t", lambda: None)
    assert node.execute(client, [b"CONFIG", b"SET", b"slowlog-log-slower-than", b"0"]) is not None
    node.execute(client, [b"SLOWLOG", b"RESET"])
    st_ = node.commands[b"set"].stats
    calls, hist = st_.calls, sum(st_.histogram())
    ran = []
    real = setrun.run_sets

    def spy(*a: Any) -> Any:
        r = real(*a)
        ran.append(r[0])
        return r

    monkeypatch.setattr(setrun, "run_sets", spy)
    reqs = [[b"SET", b"k%d" % i, b"v"] for i in range(20)]
    out, _ = _drive(node, [b"".join(encode_command(r) for r in reqs)], True, LOOPS[0])
    assert out == b"+OK\r\n" * 20
    assert ran and sum(k for k in ran if k > 0) == 19  # the first opens the op, one by one
    assert st_.calls - calls == 20 and sum(st_.histogram()) - hist == 20
    log = node.execute(client, [b"SLOWLOG", b"GET", b"100"])
    assert [e[3] for e in log][:20] == [r for r in reversed(reqs)]


@pytest.mark.parametrize("setup", [
    [b"CONFIG", b"SET", b"notify-keyspace-events", b"KEA"],  # each key's event after its write
    [b"CLIENT", b"TRACKING", b"ON", b"REDIRECT", b"1"],  # invalidations after each op
    [b"CLIENT", b"PAUSE", b"10000", b"WRITE"],
    [b"CONFIG", b"SET", b"maxmemory", b"100mb"],  # evictions before each command
    [b"MULTI"],  # queued, not run
])
def test_a_run_declines_where_a_set_does_more_than_write(setup: list[bytes]) -> None:
    node = new_node(default_config())
    other = node.new_client("o", "o", lambda: None)
    client = node.new_client("t", "t", lambda: None)
    node.execute(other if setup[:2] == [b"CLIENT", b"PAUSE"] else client, setup)
    client.batching = True
    if setup != [b"MULTI"]:
        node.execute(client, [b"SET", b"x", b"1"])
    cmds = [[b"SET", b"a", b"1"], [b"SET", b"b", b"2"]]
    assert node.run_sets(client, cmds, 0, 2) == (setrun.NOT_HERE, None)
    assert node.execute(other, [b"EXISTS", b"a", b"b"]) == 0  # nothing ran


def test_a_run_waits_for_the_batch_s_op_to_be_open_for_its_client() -> None:
    node = new_node(default_config())
    client = node.new_client("t", "t", lambda: None)
    other = node.new_client("o", "o", lambda: None)
    cmds = [[b"SET", b"a", b"1"], [b"SET", b"b", b"2"]]
    client.batching = other.batching = True
    assert node.run_sets(client, cmds, 0, 2) == (0, None)  # no op open yet
    node.execute(other, [b"SET", b"z", b"0"])
    assert node.run_sets(client, cmds, 0, 2) == (0, None)  # open, but for another client
    node.execute(client, [b"SET", b"z", b"1"])
    assert node.run_sets(client, cmds, 0, 2) == (2, None)
    assert node.execute(client, [b"GET", b"b"]) == b"2"


def test_a_run_that_fills_the_op_closes_it_with_the_client_s_last_seq() -> None:
    """What WAIT after the run waits for: the seq of its last SET, as `execute` records it
    when a SET fills the op (the batch's end finds no open op to record it then)."""
    node = new_node(default_config())
    client = node.new_client("t", "t", lambda: None)
    ops = _ops(node)
    client.batching = True
    node.execute(client, [b"SET", b"z", b"1"])
    cmds = [[b"SET", b"k%d" % i, b"v"] for i in range(MERGE_CAP + 3)]
    assert node.run_sets(client, cmds, 0, len(cmds)) == (MERGE_CAP - 1, None)
    assert len(ops) == 1 and len(ops[0].effects) == MERGE_CAP and node._merging is None
    assert client.last_seq == ops[0].seq + MERGE_CAP - 1
    assert node.run_sets(client, cmds, MERGE_CAP - 1, len(cmds)) == (0, None)  # a new op: one by one first
