"""Node dispatch and the write path: the fast path agrees with the checked one."""
from __future__ import annotations

import asyncio
from typing import Any

import pytest

from crdtredis.clock import hlc_ms
from crdtredis.commands import new_node
from crdtredis.config import default_config
from crdtredis.node import Node
from crdtredis.reply import OK, ErrorReply


def _node() -> tuple[Node, Any]:
    node = new_node(default_config())
    return node, node.new_client("t", "t", lambda: None)


def test_execute_any_case_and_subcommands_reach_the_same_handler() -> None:
    node, c = _node()
    calls = node.commands[b"set"].calls  # the command table is shared by every Node
    assert node.execute(c, [b"SET", b"k", b"1"]) is OK
    assert node.execute(c, [b"set", b"k", b"2"]) is OK
    assert node.execute(c, [b"sEt", b"k", b"3"]) is OK  # neither case: the checked path
    assert node.execute(c, [b"GET", b"k"]) == b"3"
    assert node.execute(c, [b"config", b"GET", b"maxmemory"]).items == [(b"maxmemory", b"0")]
    assert node.commands[b"set"].calls == calls + 3


def test_execute_rejections_on_the_fast_path_match_redis() -> None:
    node, c = _node()
    assert node.execute(c, [b"GET"]) == ErrorReply("ERR wrong number of arguments for 'get' command")
    assert node.execute(c, [b"nosuch", b"a"]) == ErrorReply(
        "ERR unknown command 'nosuch', with args beginning with: 'a' ")
    node.persistence_error = "disk full"
    refused = node.execute(c, [b"SET", b"k", b"v"])
    assert isinstance(refused, ErrorReply) and refused.message.startswith("MISCONF")
    assert node.execute(c, [b"GET", b"k"]) is None  # reads still run
    assert node.rejected_calls == {"get": 1, "set": 1}


def test_command_time_is_counted_in_ns_so_sub_microsecond_calls_add_up() -> None:
    node, c = _node()
    get = node.commands[b"get"]
    get.usec = 0  # as CONFIG RESETSTAT does
    assert get.nsec == 0
    for _ in range(2000):
        node.execute(c, [b"GET", b"k"])
    assert get.nsec > 0 and get.usec == get.nsec // 1000


async def test_hlc_wall_clock_is_read_once_per_event_loop_turn() -> None:
    node, c = _node()
    node.execute(c, [b"SET", b"a", b"1"])
    first = node.hlc.last
    node.execute(c, [b"SET", b"b", b"1"])
    assert node.hlc.last == first + 1  # same turn: the logical part alone advances
    await asyncio.sleep(0.005)
    node.execute(c, [b"SET", b"c", b"1"])
    assert hlc_ms(node.hlc.last) > hlc_ms(first)  # a later turn reads the clock again


def test_without_an_event_loop_every_op_reads_the_clock() -> None:
    node, c = _node()
    node.execute(c, [b"SET", b"a", b"1"])
    assert node._wall == 0


def test_the_loop_kept_for_the_wall_clock_is_the_one_running(monkeypatch: pytest.MonkeyPatch) -> None:
    """_read_wall keeps the loop it ran in (no get_running_loop, a getpid() each turn):
    once that loop has stopped, the node reads the clock per op without a loop, and takes
    the next loop it runs in."""
    node, c = _node()
    asked = []
    real = asyncio.get_running_loop
    monkeypatch.setattr(asyncio, "get_running_loop", lambda: asked.append(1) or real())

    async def two_turns() -> None:
        for turn in range(2):
            node.execute(c, [b"SET", b"a", b"%d" % turn])
            first = node.hlc.last
            node.execute(c, [b"SET", b"b", b"1"])
            assert node.hlc.last == first + 1  # the turn's wall, kept
            await asyncio.sleep(0)  # one loop turn: its end-of-turn callbacks run first
            assert node._wall == 0  # forgotten at the end of the turn

    asyncio.run(two_turns())
    assert len(asked) == 1  # the second turn used the loop it kept
    node.execute(c, [b"SET", b"a", b"1"])
    assert node._wall == 0  # that loop is closed: no loop, nothing kept
    asyncio.run(two_turns())


# ---- a read batch's writes share one op (Node.execute, MERGEABLE) --------------------------
def _ops(node: Node) -> list[Any]:
    ops: list[Any] = []
    node.op_listeners.append(ops.append)
    return ops


def _batch(node: Node, c: Any, *argvs: list[bytes]) -> list[Any]:
    """Run argvs as one connection read batch does: batching on, then batch_done()."""
    c.batching = True
    try:
        replies = [node.execute(c, argv) for argv in argvs]
    finally:
        c.batching = False
    node.batch_done()
    return replies


def test_a_read_batch_s_consecutive_writes_share_one_op() -> None:
    node, c = _node()
    ops = _ops(node)
    replies = _batch(node, c, [b"SET", b"a", b"1"], [b"INCR", b"n"], [b"LPUSH", b"l", b"x"],
                     [b"GET", b"a"], [b"SADD", b"s", b"m"], [b"HSET", b"h", b"f", b"v"])
    assert replies == [OK, 1, 1, b"1", 1, 1]
    # GET cannot join: it closes the op of the three writes before it.
    assert [len(op.effects) for op in ops] == [3, 2]
    assert [op.seq for op in ops] == [1, 4]
    assert c.last_seq == 5  # the last effect's seq: what WAIT waits for
    assert node.keyspace.ops_local == 2


def test_outside_a_read_batch_every_write_is_its_own_op() -> None:
    node, c = _node()
    ops = _ops(node)
    for argv in ([b"SET", b"a", b"1"], [b"INCR", b"n"], [b"SADD", b"s", b"m"]):
        node.execute(c, argv)
        assert c.last_seq == len(ops)
    assert [len(op.effects) for op in ops] == [1, 1, 1]


def test_a_command_that_cannot_join_closes_the_open_op_before_it_runs() -> None:
    node, c = _node()
    ops = _ops(node)
    replies = _batch(node, c, [b"SET", b"a", b"1"], [b"MULTI"], [b"SET", b"b", b"2"], [b"EXEC"],
                     [b"SET", b"c", b"3"], [b"RENAME", b"c", b"d"])
    assert replies == [OK, OK, b"QUEUED", [OK], OK, OK]
    # SET a | EXEC's SET b | SET c | RENAME's own: MULTI and RENAME each closed the op first.
    assert [[e[2] for e in op.effects] for op in ops[:3]] == [[b"a"], [b"b"], [b"c"]]
    assert len(ops) == 4 and all(e[0:4] != ops[2].effects[0][0:4] for e in ops[3].effects)


def test_an_op_shared_by_a_batch_holds_at_most_merge_cap_effects() -> None:
    from crdtredis.node import MERGE_CAP

    node, c = _node()
    ops = _ops(node)
    _batch(node, c, *([b"SET", b"k%d" % i, b"v"] for i in range(MERGE_CAP + 10)))
    assert [len(op.effects) for op in ops] == [MERGE_CAP, 10]


def test_tracking_on_keeps_every_write_its_own_op() -> None:
    node, c = _node()
    ops = _ops(node)
    other = node.new_client("o", "o", lambda: None)
    assert node.execute(other, [b"CLIENT", b"TRACKING", b"ON", b"REDIRECT", b"%d" % c.id]) is OK
    _batch(node, c, [b"SET", b"a", b"1"], [b"SET", b"b", b"2"])
    assert [len(op.effects) for op in ops] == [1, 1]
