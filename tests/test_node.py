"""Node dispatch and the write path: the fast path agrees with the checked one."""
from __future__ import annotations

import asyncio
from typing import Any

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
