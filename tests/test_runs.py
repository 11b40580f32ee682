"""crdtredis/runs.py: a read batch's run of pipelined requests of one write command in one call.

Whatever a connection's read batch holds, running its runs in one call must give what
running each request one by one gives: the same reply bytes, the same keyspace events, the
same ops (boundaries, seqs, effects), the same values, the same counters. Each test drives
a real RedisProtocol over a real Node, with the compiled request loop and with the Python
one."""
from __future__ import annotations

import asyncio
import dataclasses
import itertools
from collections.abc import Callable
from typing import Any

import hiredis
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from crdtredis import errors, keyspace, run_effects, runs
from crdtredis.clock import HLC_MAX
from crdtredis.commands import new_node
from crdtredis.config import default_config
from crdtredis.crdt import codes
from crdtredis.node import MERGE_CAP, Node
from crdtredis.op import Op
from crdtredis.protocol import connection, plainrun
from crdtredis.protocol.connection import RedisProtocol
from crdtredis.protocol.resp import encode_command
from tests.support.aio import until
from tests.support.state import dump_keyspace

LOOPS = ["compiled", "python"] if plainrun.native() is not None else ["python"]
# runs.py and the loops that build a push or pop run's effects (run_effects.py): the
# build's, and the pure-Python source when the build compiled them.
BUILDS = ["compiled", "python"] if run_effects.compiled() or runs.compiled() else ["python"]


def _build(build: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The source's loops instead of the build's: runs.py's, and run_effects.py's."""
    if build == "python":
        monkeypatch.setattr(runs, "run_cmds", runs.run_cmds_py)
        monkeypatch.setattr(runs, "_ONE_PASS", runs._ONE_PASS_PY)
        monkeypatch.setattr(run_effects, "push_effects", run_effects.push_effects_py)
        monkeypatch.setattr(run_effects, "pop_effects", run_effects.pop_effects_py)


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


def _drive(node: Node, chunks: list[bytes], use_runs: bool, loop: str, events: bool = False) -> tuple[bytes, Any, bytes]:
    """Feed `chunks` to one connection (each a read), then wait for every reply. With
    `events`, another connection subscribed to every keyspace event first: its bytes come
    third."""

    async def go() -> tuple[bytes, Any, bytes]:
        sub = _Transport()
        sp: RedisProtocol | None = None
        if events:
            node.execute(node.new_client("c", "c", lambda: None), [b"CONFIG", b"SET", b"notify-keyspace-events", b"KEA"])
            sp = RedisProtocol(node)
            sp.connection_made(sub)  # type: ignore[arg-type]
            sp.data_received(encode_command([b"PSUBSCRIBE", b"__key*__:*"]))
        proto = RedisProtocol(node)
        if not use_runs:
            proto._run_cmds = None
        t = _Transport()
        proto.connection_made(t)  # type: ignore[arg-type]
        sent = b""
        for chunk in chunks:
            proto.data_received(chunk)
            sent += chunk
            # The next chunk comes once this one's replies are out, as a client's next read
            # would follow them (the turn's end closes the batch's op and writes its replies).
            await until(lambda n=_count_replies(sent): _count_replies(b"".join(t.writes)) >= n)
        # And every keyspace event pushed to the subscriber (written at a turn's end) is out.
        await until(lambda: sp is None or not sp.output_size())
        return b"".join(t.writes), proto._client, b"".join(sub.writes)

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
    """What must match between two nodes: each op's seq, HLC and effects."""
    return [(op.seq, op.hlc, list(op.effects)) for op in ops]


_KEYS = [b"a", b"b", b"c"]
_T = b"4102444800000"  # deadlines fixed in advance, so that both nodes' ops hold the same ones
_NOW = 1_800_000_000_000  # the tests' clock at its first reading (_compare)
_SOON = b"%d" % (_NOW + 30)
# Request shapes, each taking a key and a small value. Runs of one shape are drawn, so runs
# of every mergeable write come up, with type conflicts (WRONGTYPE in the middle of a run),
# wrong arity, replies the loops do not encode (LPOP with a count: an array), reads and
# MULTI between them.
_SHAPES = [
    lambda k, v: [b"SET", k, v], lambda k, v: [b"set", k, v], lambda k, v: [b"Set", k, v],
    lambda k, v: [b"SET", k, v, b"PXAT", _T], lambda k, v: [b"SET", k], lambda k, v: [b"GET", k],
    lambda k, v: [b"INCR", k], lambda k, v: [b"incrby", k, b"2"], lambda k, v: [b"INCR"],
    lambda k, v: [b"LPUSH", k, v], lambda k, v: [b"RPUSH", k, v, v], lambda k, v: [b"LPOP", k],
    lambda k, v: [b"LPOP", k, b"2"], lambda k, v: [b"SADD", k, v], lambda k, v: [b"SREM", k, v],
    lambda k, v: [b"HSET", k, v, v], lambda k, v: [b"HDEL", k, v], lambda k, v: [b"ZADD", k, b"1", v],
    lambda k, v: [b"DEL", k], lambda k, v: [b"PEXPIREAT", k, _T], lambda k, v: [b"APPEND", k, v],
    lambda k, v: [b"PEXPIREAT", k, _SOON], lambda k, v: [b"EXISTS", k], lambda k, v: [b"HGET", k, v],
    lambda k, v: [b"SISMEMBER", k, v], lambda k, v: [b"LLEN", k], lambda k, v: [b"TTL", k],
    lambda k, v: [b"SMEMBERS", k], lambda k, v: [b"INCR", k], lambda k, v: [b"incr", k],
    lambda k, v: [b"SET", k, b"9223372036854775805"],  # INCRs overflow a few later
    lambda k, v: [b"RPUSH", k, v], lambda k, v: [b"RPOP", k], lambda k, v: [b"rpush", k, v],
    lambda k, v: [b"LPUSH", k, v, v],
    lambda k, v: [b"MSET", k, v], lambda k, v: [b"mset", k, v, b"c", v], lambda k, v: [b"MSET", k, v, k],
    lambda k, v: [b"MSET"],
    lambda k, v: [b"MSET", *[k, v, b"b", v] * 13],  # 26 SETs: a run of them fills the op
    lambda k, v: [b"MULTI"], lambda k, v: [b"EXEC"], lambda k, v: [b"WATCH", k],
]
_REQ = st.tuples(st.sampled_from(_KEYS), st.sampled_from([b"x", b"y", b"1", b""]))
_RUN = st.tuples(st.sampled_from(range(len(_SHAPES))), st.lists(_REQ, min_size=1, max_size=6)).map(
    lambda t: [_SHAPES[t[0]](k, v) for k, v in t[1]])
_BATCH = st.lists(_RUN, max_size=8).map(lambda rs: [r for run in rs for r in run])
_COUNTED = [b"set", b"mset", b"incr", b"incrby", b"lpush", b"rpush", b"lpop", b"rpop", b"sadd", b"srem", b"hset", b"hdel", b"zadd",
            b"del", b"append", b"get", b"exists", b"hget", b"sismember", b"llen", b"ttl"]


def _stats(node: Node) -> list[tuple[int, int]]:
    return [(node.commands[c].stats.calls, node.commands[c].stats.errors) for c in _COUNTED]


def _compare(batches: list[list[list[bytes]]], cuts: list[int], loop: str, solo: bool, events: bool = False,
             prep: Callable[[Node], None] | None = None) -> int:
    """Run the batches at two nodes (each first given to `prep`), one by one and in runs:
    all must match. Returns how many keys expired lazily at the second."""
    got = []
    for use_runs in (False, True):
        node = new_node(default_config())
        node.set_solo(solo)
        if prep is not None:
            prep(node)
        # A wall clock that ticks 1 ms a reading: HLCs and expiry then follow from the
        # requests alone (element ids in list effects are HLCs), the same at both nodes
        # however long each request took, and keys expire while the batches run.
        node.clock = itertools.count(_NOW).__next__
        ops = _ops(node)
        before = _stats(node)
        chunks = []
        for reqs in batches:
            data = b"".join(encode_command(r) for r in reqs)
            cut = min(cuts[len(chunks) % len(cuts)], len(data)) if cuts else len(data)
            chunks += [data[:cut], data[cut:]] if 0 < cut < len(data) else [data]
        out, client, pushed = _drive(node, chunks, use_runs, loop, events)
        counted = [(a - c, b - d) for (a, b), (c, d) in zip(_stats(node), before, strict=True)]
        last = (counted, dict(node.error_counts), client.last_seq, client.last_cmd)
        values = [(k, node.execute(client, [b"TYPE", k]), node.execute(client, [b"DUMP", k])) for k in _KEYS]
        got.append((out, pushed, _shape(ops), values, last, node.expired_keys))
    assert got[1] == got[0]
    return int(got[1][-1])


@pytest.mark.parametrize("loop", LOOPS)
@pytest.mark.parametrize("solo", [True, False])
@settings(max_examples=150, deadline=None)
@given(batches=st.lists(_BATCH, min_size=1, max_size=4),
       cuts=st.lists(st.integers(min_value=0, max_value=400), max_size=3))
@example(batches=[[[b"SET", b"a", b"1"], [b"SET", b"b", b"2"], [b"set", b"c", b"3"]]], cuts=[])  # last_cmd: set
def test_a_batch_s_runs_give_what_one_by_one_gives(batches: list[list[list[bytes]]], cuts: list[int],
                                                    loop: str, solo: bool) -> None:
    _compare(batches, cuts, loop, solo)


@pytest.mark.skipif(len(BUILDS) < 2, reason="the build compiled neither runs.py nor run_effects.py: the test above runs them")
@pytest.mark.parametrize("solo", [True, False])
@settings(max_examples=100, deadline=None)
@given(batches=st.lists(_BATCH, min_size=1, max_size=4))
def test_a_batch_s_runs_give_what_one_by_one_gives_with_the_source_s_loops(batches: list[list[list[bytes]]],
                                                                           solo: bool) -> None:
    with pytest.MonkeyPatch.context() as mp:
        _build("python", mp)
        _compare(batches, [], LOOPS[0], solo)


@pytest.mark.parametrize("loop", LOOPS)
@settings(max_examples=60, deadline=None)
@given(batches=st.lists(_BATCH, min_size=1, max_size=3))
def test_keyspace_events_of_a_run_follow_each_write_as_one_by_one(batches: list[list[list[bytes]]], loop: str) -> None:
    _compare(batches, [], loop, False, events=True)


@pytest.mark.parametrize("loop", LOOPS)
@pytest.mark.parametrize("solo", [True, False])
def test_a_key_that_expires_during_a_run_of_reads_is_deleted_where_one_by_one_does(loop: str, solo: bool) -> None:
    reads = [[b"GET", b"a"], [b"EXISTS", b"a"], [b"TTL", b"a"], [b"HGET", b"a", b"f"]]
    for read in reads:
        batch = [[b"SET", b"a", b"1"], [b"PEXPIREAT", b"a", _SOON], *[read] * 60, *[[b"SET", b"b", b"2"]] * 3]
        # Alone, the read deletes it (with peers it hides it: docs/semantics.md, "Expiry").
        assert _compare([batch], [], loop, solo, events=True) == (1 if solo else 0)


def _ttls(node: Node) -> None:
    """Keys t and u of db 0 have TTLs (a string, a counter); g (a string) and _KEYS have
    none, and a is a list (a push to a missing key is its handler's), written at a fixed time (an RPUSH
    names the list's last element by its HLC)."""
    node.clock = lambda: _NOW - 10
    c = node.new_client("p", "p", lambda: None)
    node.execute(c, [b"RPUSH", b"a", b"1", b"2", b"3"])
    node.execute(c, [b"SET", b"g", b"v"])
    node.execute(c, [b"SET", b"t", b"v", b"PXAT", _T])
    node.execute(c, [b"SET", b"u", b"5", b"PXAT", _T])


@pytest.mark.parametrize("loop", LOOPS)
@pytest.mark.parametrize("solo", [True, False])
def test_ttls_on_other_keys_leave_runs_in_one_pass_and_a_key_with_one_to_its_handler(
        loop: str, solo: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    """TTLs in the db stop only their own keys' runs (runs.py docstring): every run below
    but those of t and u is computed in one pass, and all answer as one by one. Spied in
    the source's loops, which find `_each` at call time."""
    _build("python", monkeypatch)
    handled: list[bytes] = []
    each = runs._each

    def spy(node: Node, client: Any, cmds: list[list[bytes]], i: int, j: int, cmd: Any, merge_cap: int) -> Any:
        handled.append(cmds[i][1])
        return each(node, client, cmds, i, j, cmd, merge_cap)

    monkeypatch.setattr(runs, "_each", spy)
    two = lambda *argv: [list(argv)] * 2  # noqa: E731 - a run of two alike
    batch = [*two(b"LPUSH", b"a", b"x"), *two(b"RPUSH", b"a", b"y"), *two(b"LPOP", b"a"), *two(b"RPOP", b"a"),
             *two(b"INCR", b"b"), [b"HSET", b"c", b"f", b"1"], [b"HSET", b"c", b"g", b"2"],
             [b"SADD", b"s", b"m"], [b"SADD", b"s", b"n"], [b"ZADD", b"z", b"1", b"m"], [b"ZADD", b"z", b"2", b"n"],
             *two(b"GET", b"g"), *two(b"GET", b"t"), *two(b"INCR", b"u")]
    _compare([batch], [], loop, solo, prep=_ttls)
    assert handled == [b"t", b"u"]


def _hidden_type(node: Node) -> None:
    """Key c of db 0 holds a string and, hidden, a peer's concurrent hash (db.shadow)."""
    node.execute(node.new_client("p", "p", lambda: None), [b"SET", b"c", b"1"])
    peer = new_node(dataclasses.replace(default_config(), replica_id="p"))
    peer.set_solo(False)
    peer.clock = lambda: _NOW - 5
    ops = _ops(peer)
    peer.execute(peer.new_client("p", "p", lambda: None), [b"HSET", b"c", b"f", b"v"])
    for op in ops:
        assert node.apply_remote(op)
    assert node.keyspace.dbs[0].shadow


@pytest.mark.parametrize("loop", LOOPS)
@pytest.mark.parametrize("build", BUILDS)
@pytest.mark.parametrize("solo, prep", [(True, None), (False, None), (False, _hidden_type)])
def test_list_runs_name_each_element_as_one_by_one_does(loop: str, build: str, solo: bool,
                                                        prep: Callable[[Node], None] | None,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """Runs of pushes and pops computed in one pass (runs._pushes, runs._pops): an RPUSH
    after another of the run refers to the element that one adds, the pops of one list take
    its elements in turn, and a pop of a list's last element is left to the handler. A
    hidden type is checked per key: with one on key c, the pushes and pops of lists a and b
    are still computed in one pass, and c's requests go to the handlers' generic paths."""
    _build(build, monkeypatch)
    done: list[int] = []

    def counted(run: Any) -> Any:
        def wrapper(*args: Any) -> Any:
            got = run(*args)
            done.append(got[0])
            return got
        return wrapper

    for name in ("lpush", "rpush", "lpop", "rpop"):
        monkeypatch.setitem(runs._ONE_PASS, name, counted(runs._ONE_PASS[name]))
    seed = [[b"RPUSH", b"a", b"s"], [b"RPUSH", b"b", b"s"]]
    rpush = [[b"RPUSH", b"ab"[i % 2:i % 2 + 1], b"r%d" % i] for i in range(30)]
    lpush = [[b"LPUSH", b"ab"[i % 3 // 2:i % 3 // 2 + 1], b"l%d" % i] for i in range(30)]
    lpop = [[b"LPOP", b"ab"[i % 2:i % 2 + 1]] for i in range(40)]
    rpop = [[b"RPOP", b"a"] for i in range(30)]
    # A run whose first push finds another type, and runs cut by a push of two elements.
    mixed = [[b"SET", b"c", b"x"], [b"RPUSH", b"c", b"1"], [b"RPUSH", b"a", b"m1"], [b"RPUSH", b"a", b"m2"],
             [b"RPUSH", b"a", b"m3", b"m4"], [b"RPUSH", b"a", b"m5"], [b"RPUSH", b"b", b"m6"], [b"LPUSH", b"c", b"2"],
             [b"LPUSH", b"a", b"m7"], [b"LPUSH", b"a", b"m8", b"m9"], [b"LPUSH", b"b", b"m10"], [b"LPUSH", b"b", b"m11"]]
    _compare([seed, [[b"GET", b"c"], *rpush, *lpush], [[b"GET", b"c"], *lpop, *rpop, *rpush], mixed], [], loop, solo,
             prep=prep)
    assert sum(done) >= 100  # (the node that runs them: the other runs none)


@pytest.mark.parametrize("loop", LOOPS)
def test_runs_longer_than_an_op_holds_close_it_where_one_by_one_does(loop: str) -> None:
    sets = [[b"SET", b"k%d" % (i % 7), b"v%d" % i] for i in range(3 * MERGE_CAP + 5)]
    _compare([[[b"INCR", b"n"], *sets], sets[:MERGE_CAP - 1] + [[b"GET", b"k1"]] + sets], [], loop, False)
    node = new_node(default_config())
    ops = _ops(node)
    _drive(node, [b"".join(encode_command(r) for r in sets)], True, loop)
    assert [len(op.effects) for op in ops] == [MERGE_CAP, MERGE_CAP, MERGE_CAP, 5]
    incrs = [[b"INCRBY", b"n%d" % (i % 5), b"3"] for i in range(2 * MERGE_CAP + 1)]
    _compare([[[b"SET", b"x", b"1"], *incrs, *sets]], [], loop, True)


def _with_raising_sets(reqs: list[list[bytes]], loop: str, solo: bool) -> list[Any]:
    """`reqs` driven one by one, then in runs, each time at a node whose SET apply raises
    for the value b"boom" (a watched key sends every SET through _APPLY, not the loop's
    inline case): for each, the bytes written, the ops, the keys' values, `last_seq`."""
    real = keyspace._APPLY[codes.SET]

    def apply(ks: Any, db: Any, eff: Any, ctx: Any) -> None:
        if eff[3] == b"boom":
            raise RuntimeError("boom")
        real(ks, db, eff, ctx)

    outs = []
    for use_runs in (False, True):
        with pytest.MonkeyPatch.context() as mp:
            mp.setitem(keyspace._APPLY, codes.SET, apply)
            node = new_node(default_config())
            node.set_solo(solo)
            node.clock = lambda: 1_800_000_000_000  # as _compare fixes it
            watcher = node.new_client("w", "w", lambda: None)
            node.execute(watcher, [b"WATCH", b"zzz"])
            ops = _ops(node)
            out, client, _ = _drive(node, [b"".join(encode_command(r) for r in reqs)], use_runs, loop)
        outs.append((out, _shape(ops), [node.execute(client, [b"GET", k]) for k in _KEYS], client.last_seq))
    return outs


@pytest.mark.parametrize("loop", LOOPS)
def test_a_set_whose_apply_raises_answers_an_internal_error_and_the_run_goes_on(loop: str) -> None:
    reqs = [[b"SET", b"a", b"1"], [b"SET", b"b", b"2"], [b"SET", b"c", b"boom"], [b"SET", b"a", b"3"],
            [b"SET", b"b", b"boom"], [b"SET", b"c", b"4"]]
    outs = _with_raising_sets(reqs, loop, False)
    assert outs[1] == outs[0]
    assert outs[1][0].count(b"-ERR") == 2 and outs[1][0].count(b"+OK") == 4
    assert outs[1][2] == [b"3", b"2", b"4"]


@pytest.mark.parametrize("loop", LOOPS)
@pytest.mark.parametrize("solo", [True, False])
def test_an_mset_whose_apply_raises_leaves_what_one_by_one_leaves(loop: str, solo: bool) -> None:
    """An MSET run's SETs apply in one call: when one of them raises, the MSETs before it
    are done and answered, that MSET's SETs before it applied (as its handler leaves them),
    and the run goes on after it, all as one by one."""
    reqs = [[b"MSET", b"a", b"1", b"b", b"2"], [b"MSET", b"c", b"3"], [b"MSET", b"a", b"4", b"b", b"boom", b"c", b"5"],
            [b"MSET", b"c", b"6", b"b", b"7"], [b"MSET", b"a", b"boom"], [b"MSET", b"a", b"8"]]
    outs = _with_raising_sets(reqs, loop, solo)
    assert outs[1] == outs[0]
    assert outs[1][0].count(b"-ERR") == 2 and outs[1][0].count(b"+OK") == 4
    assert outs[1][2] == [b"8", b"7", b"6"]


@pytest.mark.parametrize("loop", LOOPS)
def test_a_run_of_bare_msets_answers_each_the_arity_error(loop: str) -> None:
    node = new_node(default_config())
    reqs = [[b"MSET"], [b"MSET"], [b"MSET", b"a", b"1"], [b"MSET", b"a"]]
    out, _, _ = _drive(node, [b"".join(encode_command(r) for r in reqs)], True, loop)
    # What redis-server 7.0 answers to these four, byte for byte.
    arity = b"-ERR wrong number of arguments for 'mset' command\r\n"
    assert out == arity * 2 + b"+OK\r\n" + arity


def test_an_mset_run_fills_the_op_as_one_by_one_and_never_splits_an_mset() -> None:
    """MSETs join the op while it holds fewer than MERGE_CAP effects, so the one that
    fills it ends the run, whole, past the cap (as `execute` merges them)."""
    node = new_node(default_config())
    client = node.new_client("t", "t", lambda: None)
    ops = _ops(node)
    client.batching = True
    node.execute(client, [b"SET", b"z", b"1"])
    cmds = [[b"MSET", b"k%d" % i, b"v", b"j%d" % i, b"w", b"i%d" % i, b"x"] for i in range(40)]
    k, replies, exc = node.run_cmds(client, cmds, 0, len(cmds))
    assert (k, replies, exc) == (21, None, None)  # 1 + 3 * 21 = 64 effects
    assert len(ops) == 1 and len(ops[0].effects) == MERGE_CAP and node._merging is None
    assert client.last_seq == ops[0].seq + MERGE_CAP - 1
    cmds = [[b"MSET", *[b"m%d" % i, b"v"] * 5] for i in range(20)]
    assert node.run_cmds(client, cmds, 0, len(cmds))[0] == 13  # 13 * 5 = 65: the 13th crosses the cap
    assert len(ops) == 2 and len(ops[1].effects) == 65
    assert node.run_cmds(client, cmds, 13, len(cmds))[0] == 7
    node.batch_done()
    assert len(ops) == 3 and len(ops[2].effects) == 35
    assert node.execute(client, [b"MGET", b"k20", b"j20", b"i20", b"k21", b"m19"]) == [b"v", b"w", b"x", None, b"v"]


@pytest.mark.parametrize("reqs", [
    [[b"SET", b"k%d" % i, b"v"] for i in range(20)],
    [[b"INCR", b"k%d" % (i % 3)] for i in range(20)],
    [[b"SADD", b"s", b"m%d" % (i % 3)] for i in range(20)],
    [[b"MSET", b"k%d" % i, b"v", b"j", b"w"] for i in range(20)],
])
def test_each_request_of_a_run_is_counted_timed_and_slowlogged(reqs: list[list[bytes]],
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    node = new_node(default_config())
    client = node.new_client("t", "t", lambda: None)
    assert node.execute(client, [b"CONFIG", b"SET", b"slowlog-log-slower-than", b"0"]) is not None
    node.execute(client, [b"SLOWLOG", b"RESET"])
    st_ = node.commands[reqs[0][0].lower()].stats
    calls, hist = st_.calls, sum(st_.histogram())
    ran = []
    real = runs.run_cmds

    def spy(*a: Any) -> Any:
        r = real(*a)
        ran.append(r[0])
        return r

    monkeypatch.setattr(runs, "run_cmds", spy)
    out, _, _ = _drive(node, [b"".join(encode_command(r) for r in reqs)], True, LOOPS[0])
    assert _count_replies(out) == 20 and b"-" not in out
    # The whole run goes in one call, its first request included (that one opens the
    # batch's op, in `_emit_all`).
    assert ran == [20]
    assert st_.calls - calls == 20 and sum(st_.histogram()) - hist == 20
    log = node.execute(client, [b"SLOWLOG", b"GET", b"100"])
    assert [e[3] for e in log][:20] == [r for r in reversed(reqs)]


def test_a_run_s_error_reply_is_counted_and_ends_the_run() -> None:
    node = new_node(default_config())
    client = node.new_client("t", "t", lambda: None)
    node.execute(client, [b"LPUSH", b"l", b"x"])
    node.execute(client, [b"SADD", b"s", b"b", b"c"])
    st_ = node.commands[b"srem"].stats
    calls, errors = st_.calls, st_.errors
    client.batching = True
    node.execute(client, [b"SREM", b"s", b"a"])
    # SREM runs take each request's handler in turn (`_each`).
    cmds = [[b"SREM", b"s", b"b"], [b"SREM", b"l", b"a"], [b"SREM", b"s", b"c"]]
    k, replies, exc = node.run_cmds(client, cmds, 0, 3)
    assert (k, exc) == (2, None) and replies is not None and replies[0] == 1
    assert replies[1].message.startswith("WRONGTYPE")
    assert (st_.calls - calls, st_.errors - errors) == (3, 1)
    assert node.error_counts.get("WRONGTYPE") == 1


def test_an_hset_run_stops_before_an_hset_of_another_type() -> None:
    node = new_node(default_config())
    client = node.new_client("t", "t", lambda: None)
    node.execute(client, [b"LPUSH", b"l", b"x"])
    client.batching = True
    node.execute(client, [b"HSET", b"h", b"f", b"1"])
    # h exists: f is there, g is new, then there; n is new, then there, with f, then g.
    cmds = [[b"HSET", b"h", b"f", b"2"], [b"HSET", b"h", b"g", b"1"], [b"HSET", b"h", b"g", b"2"],
            [b"HSET", b"n", b"f", b"1"], [b"HSET", b"n", b"f", b"2"], [b"HSET", b"n", b"g", b"3"],
            [b"HSET", b"l", b"f", b"1"], [b"HSET", b"h", b"k", b"3"]]
    assert node.run_cmds(client, cmds, 0, 8) == (6, [0, 1, 0, 1, 0, 1], None)
    k, replies, exc = node.run_cmds(client, cmds, 6, 8)
    assert k == 1 and replies is not None and replies[0].message.startswith("WRONGTYPE")
    assert node.execute(client, [b"HGETALL", b"n"]).items == [(b"f", b"2"), (b"g", b"3")]


def test_a_sadd_run_stops_before_a_sadd_of_another_type() -> None:
    node = new_node(default_config())
    client = node.new_client("t", "t", lambda: None)
    node.execute(client, [b"LPUSH", b"l", b"x"])
    client.batching = True
    node.execute(client, [b"SADD", b"s", b"a"])
    # s exists: a is there, b is new, then there; n is new, then holds a, then b too.
    cmds = [[b"SADD", b"s", b"a"], [b"SADD", b"s", b"b"], [b"SADD", b"s", b"b"],
            [b"SADD", b"n", b"a"], [b"SADD", b"n", b"a"], [b"SADD", b"n", b"b"],
            [b"SADD", b"l", b"a"], [b"SADD", b"s", b"c"]]
    assert node.run_cmds(client, cmds, 0, 8) == (6, [0, 1, 0, 1, 0, 1], None)
    k, replies, exc = node.run_cmds(client, cmds, 6, 8)
    assert k == 1 and replies is not None and replies[0].message.startswith("WRONGTYPE")
    assert node.execute(client, [b"SCARD", b"n"]) == 2 and node.execute(client, [b"SISMEMBER", b"n", b"b"]) == 1
    # A run whose members are all there answers 0s and writes nothing.
    node.end_merge()
    ops = node.keyspace.ops_applied
    assert node.run_cmds(client, cmds, 0, 3)[:2] == (3, [0, 0, 0])
    node.end_merge()
    assert node.keyspace.ops_applied == ops


@pytest.mark.parametrize("setup, bad, err", [
    ([b"LPUSH", b"b", b"x"], b"b", "WRONGTYPE"),
    ([b"SET", b"b", b"abc"], b"b", "ERR value is not an integer"),
    ([b"SET", b"b", b"9223372036854775806"], b"b", "ERR increment or decrement would overflow"),
])
def test_an_incr_run_stops_before_an_incr_it_would_refuse(setup: list[bytes], bad: bytes, err: str) -> None:
    """Another type, a value that is not an integer, an overflow (the second INCR of b
    there): the INCRs before it go in one call, and it goes through the handler, which
    answers the error."""
    node = new_node(default_config())
    client = node.new_client("t", "t", lambda: None)
    node.execute(client, setup)
    client.batching = True
    node.execute(client, [b"INCR", b"a"])
    cmds = [[b"INCR", b"a"], [b"INCR", b"b"], [b"INCR", b"b"], [b"INCR", b"a"]]
    k, replies, exc = node.run_cmds(client, cmds, 0, 4)
    first = 2 if err.startswith("ERR increment") else 1
    assert exc is None and k == first and replies is not None
    assert replies == [2, 9223372036854775807][:first]
    k, replies, exc = node.run_cmds(client, cmds, first, 4)
    assert exc is None and k == 1 and replies is not None and replies[0].message.startswith(err)


@pytest.mark.parametrize("setup", [
    [b"CLIENT", b"TRACKING", b"ON", b"REDIRECT", b"1"],  # invalidations after each op
    [b"CLIENT", b"PAUSE", b"10000", b"WRITE"],
    [b"CONFIG", b"SET", b"maxmemory", b"100mb"],  # evictions before each command
    [b"MULTI"],  # queued, not run
])
def test_a_run_declines_where_a_request_does_more_than_write(setup: list[bytes]) -> None:
    node = new_node(default_config())
    other = node.new_client("o", "o", lambda: None)
    client = node.new_client("t", "t", lambda: None)
    node.execute(other if setup[:2] == [b"CLIENT", b"PAUSE"] else client, setup)
    client.batching = True
    if setup != [b"MULTI"]:
        node.execute(client, [b"SET", b"x", b"1"])
    for cmds in ([[b"SET", b"a", b"1"], [b"SET", b"b", b"2"]], [[b"SADD", b"a", b"1"], [b"SADD", b"b", b"2"]]):
        assert node.run_cmds(client, cmds, 0, 2) == (runs.NOT_HERE, None, None)
    assert node.execute(other, [b"EXISTS", b"a", b"b"]) == 0  # nothing ran


@pytest.mark.parametrize("cmds", [
    [[b"SMEMBERS", b"a"], [b"SMEMBERS", b"b"]],  # not one of the reads that run
    [[b"LINSERT", b"a", b"BEFORE", b"x", b"y"]] * 2,  # a write that does not share ops
    [[b"sEt", b"a", b"1"]] * 2,  # neither spelling: the checked path
])
def test_a_run_of_anything_but_a_mergeable_write_or_a_common_read_declines(cmds: list[list[bytes]]) -> None:
    node = new_node(default_config())
    client = node.new_client("t", "t", lambda: None)
    client.batching = True
    node.execute(client, [b"SET", b"x", b"1"])
    assert node.run_cmds(client, cmds, 0, 2) == (runs.NOT_HERE, None, None)


def test_a_set_run_opens_the_batch_s_op_with_its_first_set() -> None:
    node = new_node(default_config())
    client = node.new_client("t", "t", lambda: None)
    other = node.new_client("o", "o", lambda: None)
    ops = _ops(node)
    cmds = [[b"SET", b"a", b"1"], [b"SET", b"b", b"2"], [b"SET", b"c", b"3"], [b"SET", b"d", b"4"]]
    client.batching = other.batching = True
    node.execute(other, [b"SET", b"z", b"0"])  # another client's op is open: closed first
    assert node.run_cmds(client, cmds, 0, 3) == (3, None, None)  # in one call, the first opening it
    assert len(ops) == 1 and node._merging is client
    assert node.run_cmds(client, cmds, 3, 4) == (1, None, None)  # the next run joins it
    node.batch_done()
    assert [[e[2] for e in op.effects] for op in ops] == [[b"z"], [b"a", b"b", b"c", b"d"]]


def test_a_run_of_writes_that_write_nothing_runs_without_an_op() -> None:
    """SADDs of a present member emit nothing (docs/semantics.md, "Sets"): no op is open,
    and the run still goes in one call."""
    node = new_node(default_config())
    client = node.new_client("t", "t", lambda: None)
    node.execute(client, [b"SADD", b"s", b"m"])
    ops = _ops(node)
    client.batching = True
    assert node.run_cmds(client, [[b"SADD", b"s", b"m"]] * 5, 0, 5) == (5, [0] * 5, None)
    assert node._group is None and ops == []


@pytest.mark.parametrize("cmds", [
    [[b"SET", b"k%d" % i, b"v"] for i in range(MERGE_CAP + 3)],
    [[b"HSET", b"h", b"f%d" % i, b"v"] for i in range(MERGE_CAP + 3)],
    [[b"SADD", b"s", b"m%d" % i] for i in range(MERGE_CAP + 3)],
])
def test_a_run_that_fills_the_op_closes_it_with_the_client_s_last_seq(cmds: list[list[bytes]]) -> None:
    """What WAIT after the run waits for: the seq of its last write, as `execute` records it
    when a write fills the op (the batch's end finds no open op to record it then)."""
    node = new_node(default_config())
    client = node.new_client("t", "t", lambda: None)
    ops = _ops(node)
    client.batching = True
    node.execute(client, [b"SET", b"z", b"1"])
    k, _, exc = node.run_cmds(client, cmds, 0, len(cmds))
    assert (k, exc) == (MERGE_CAP - 1, None)
    assert len(ops) == 1 and len(ops[0].effects) == MERGE_CAP and node._merging is None
    assert client.last_seq == ops[0].seq + MERGE_CAP - 1
    # The rest of the run goes on in a new op (its first write opens it).
    assert node.run_cmds(client, cmds, MERGE_CAP - 1, len(cmds))[0] == 4
    node.batch_done()
    assert len(ops) == 2 and len(ops[1].effects) == 4


@pytest.mark.parametrize("loop", LOOPS)
@pytest.mark.parametrize("reqs", [
    [[b"SET", b"k", b"v"]] * 3,
    [[b"INCR", b"n"]] * 3,
    [[b"HSET", b"h", b"f", b"v"]] * 3,
    [[b"RPUSH", b"l", b"v"]] * 3,
    [[b"LPUSH", b"l", b"v"]] * 3,
    [[b"LPOP", b"l"]] * 3,
    [[b"MSET", b"k", b"v", b"j", b"w"]] * 3,
])
def test_a_run_on_a_clock_at_its_end_answers_each_request_the_refusal(reqs: list[list[bytes]], loop: str) -> None:
    # The run's first write opens the op; when the clock refuses a new stamp, each request
    # answers the handler's refusal and nothing is applied or logged (as one by one).
    node = new_node(default_config())
    c = node.new_client("t", "t", lambda: None)
    for cmd in ([b"HSET", b"h", b"f", b"v"], [b"RPUSH", b"l", b"a", b"b", b"c", b"d"], [b"SET", b"n", b"1"]):
        node.execute(c, cmd)
    node.apply_remote(Op("x.1", 1, HLC_MAX - 5, {}, [(10, 0, b"other", b"v", 0, None)]))
    before = (dump_keyspace(node), dict(node.keyspace.vv))
    out, _, _ = _drive(node, [b"".join(encode_command(r) for r in reqs)], True, loop)
    r = hiredis.Reader()
    r.feed(out)
    replies = [r.gets() for _ in reqs]
    assert all(isinstance(x, hiredis.ReplyError) and str(x) == errors.CLOCK_EXHAUSTED for x in replies), replies
    assert (dump_keyspace(node), dict(node.keyspace.vv)) == before
