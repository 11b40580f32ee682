"""Keyspace notifications, differential: the same commands on real Redis and crdt-redis
must publish the same events, in the same order, on the same channels.

Each scenario runs on a fresh database of each server with `notify-keyspace-events KEAn`
(every class, plus "new") while a subscriber listens on `__key*__:*`; a final PUBLISH on a
marker channel tells the subscriber the scenario is over. The reference is whatever real
redis-server is installed, so nothing here states the expected events.
"""
from __future__ import annotations

from collections.abc import Iterator, Sequence

import pytest

from tests.support.procs import CrdtRedisProc, RedisServerProc
from tests.support.resp_client import RespConnection, decode

MARKER = b"zz-notify-end"

SCENARIOS: dict[str, list[Sequence[str | bytes]]] = {
    "strings": [
        ["SET", "s", "1"], ["SET", "s", "2", "EX", "100"], ["SETNX", "s", "x"], ["SETNX", "s2", "x"],
        ["SETEX", "s3", "100", "v"], ["PSETEX", "s4", "100000", "v"], ["GETSET", "s", "3"],
        ["GETDEL", "s2"], ["GETDEL", "nosuch"], ["GETEX", "s3", "EX", "50"], ["GETEX", "s3", "PERSIST"],
        ["GETEX", "s4", "PXAT", "1"], ["MSET", "a", "1", "b", "2"], ["MSETNX", "a", "1", "c", "3"],
        ["MSETNX", "d", "1", "e", "2"], ["APPEND", "a", "x"], ["APPEND", "new", "x"],
        ["SETRANGE", "a", "5", "yy"], ["SETRANGE", "a", "0", ""], ["INCR", "n"], ["DECR", "n"],
        ["INCRBY", "n", "5"], ["DECRBY", "n", "2"], ["INCRBYFLOAT", "n", "1.5"],
        ["SET", "a", "z", "NX"], ["SET", "a", "z", "XX", "GET"], ["SET", "a", "z", "KEEPTTL"],
    ],
    "keys": [
        ["MSET", "a", "1", "b", "2", "c", "3"], ["DEL", "a", "nosuch", "b"], ["UNLINK", "c"],
        ["SET", "x", "1"], ["RENAME", "x", "y"], ["SET", "z", "2"], ["RENAMENX", "y", "z"],
        ["RENAMENX", "y", "w"], ["COPY", "w", "v"], ["COPY", "w", "z", "REPLACE"],
        ["EXPIRE", "v", "100"], ["PEXPIRE", "v", "100000"], ["EXPIRE", "v", "100", "NX"],
        ["PERSIST", "v"], ["PERSIST", "v"], ["EXPIREAT", "v", "1"], ["EXPIRE", "nosuch", "10"],
        ["SET", "t", "1"], ["PEXPIREAT", "t", "1"], ["SET", "m", "1"], ["MOVE", "m", "1"],
        ["MOVE", "nosuch", "1"], ["FLUSHDB"],
    ],
    "lists": [
        ["LPUSH", "l", "a", "b"], ["RPUSH", "l", "c"], ["LPUSHX", "nol", "x"], ["RPUSHX", "l", "d"],
        ["LINSERT", "l", "BEFORE", "c", "x"], ["LINSERT", "l", "AFTER", "zz", "x"], ["LSET", "l", "0", "q"],
        ["LPOP", "l"], ["RPOP", "l", "2"], ["LREM", "l", "0", "nothing"], ["RPUSH", "l", "a", "a", "b"],
        ["LREM", "l", "1", "a"], ["LTRIM", "l", "0", "-1"], ["LTRIM", "l", "1", "1"],
        ["RPUSH", "m", "1", "2"], ["LMOVE", "m", "l", "LEFT", "RIGHT"], ["RPOPLPUSH", "m", "k"],
        ["RPOPLPUSH", "k", "k"], ["LMPOP", "2", "nol", "l", "LEFT", "COUNT", "10"],
        ["RPUSH", "p", "1"], ["BLPOP", "p", "0"], ["LTRIM", "k", "5", "6"], ["LPOP", "nol"],
    ],
    "sets": [
        ["SADD", "s", "a", "b", "c"], ["SADD", "s", "a"], ["SREM", "s", "zz"], ["SREM", "s", "a"],
        ["SMOVE", "s", "t", "b"], ["SMOVE", "s", "t", "zz"], ["SADD", "t", "c"], ["SMOVE", "s", "t", "c"],
        ["SADD", "u", "1", "2", "3"], ["SPOP", "u"], ["SPOP", "u", "0"], ["SPOP", "u", "5"],
        ["SADD", "a", "1", "2"], ["SADD", "b", "2", "3"], ["SINTERSTORE", "i", "a", "b"],
        ["SINTERSTORE", "i", "a", "nosuch"], ["SUNIONSTORE", "un", "a", "b"], ["SDIFFSTORE", "d", "a", "b"],
        ["SDIFFSTORE", "d", "a", "a"], ["SREM", "t", "b", "c"],
    ],
    "hashes": [
        ["HSET", "h", "f", "1", "g", "2"], ["HMSET", "h", "f", "3"], ["HSETNX", "h", "f", "x"],
        ["HSETNX", "h", "n", "x"], ["HINCRBY", "h", "i", "5"], ["HINCRBYFLOAT", "h", "j", "1.5"],
        ["HDEL", "h", "nosuch"], ["HDEL", "h", "f", "g"], ["HDEL", "h", "n", "i", "j"],
    ],
    "zsets": [
        ["ZADD", "z", "1", "a", "2", "b"], ["ZADD", "z", "1", "a"], ["ZADD", "z", "XX", "5", "nosuch"],
        ["ZADD", "z", "INCR", "2", "a"], ["ZINCRBY", "z", "0", "a"], ["ZINCRBY", "z", "1", "c"],
        ["ZREM", "z", "zz"], ["ZREM", "z", "c"], ["ZADD", "y", "1", "x", "2", "y", "3", "w"],
        ["ZREMRANGEBYSCORE", "y", "10", "20"], ["ZREMRANGEBYSCORE", "y", "1", "1"],
        ["ZREMRANGEBYRANK", "y", "0", "0"], ["ZREMRANGEBYLEX", "y", "-", "+"], ["ZPOPMIN", "z"],
        ["ZADD", "q", "1", "a", "2", "b", "3", "c"], ["ZPOPMAX", "q", "2"], ["ZMPOP", "1", "q", "MIN"],
        ["ZADD", "a", "1", "x"], ["ZADD", "b", "2", "x", "3", "y"], ["ZUNIONSTORE", "u", "2", "a", "b"],
        ["ZINTERSTORE", "i", "2", "a", "b"], ["ZINTERSTORE", "i", "2", "a", "nosuch"],
        ["ZDIFFSTORE", "d", "2", "b", "a"], ["ZRANGESTORE", "r", "b", "0", "-1"],
        ["ZRANGESTORE", "r", "b", "5", "6"], ["ZADD", "p", "1", "m"], ["BZPOPMIN", "p", "0"],
    ],
    "transaction": [
        ["MULTI"], ["SET", "a", "1"], ["LPUSH", "l", "x"], ["INCR", "a"], ["DEL", "l"], ["EXEC"],
        ["FLUSHALL"],
    ],
}


def _events(port: int, steps: list[Sequence[str | bytes]], resp: int) -> list[object]:
    with RespConnection(port=port) as admin, RespConnection(port=port) as sub, \
            RespConnection(port=port) as cmd:
        admin.call("FLUSHALL")
        admin.call("CONFIG", "SET", "notify-keyspace-events", "KEAn")
        if resp == 3:
            sub.call("HELLO", "3")
        sub.call("PSUBSCRIBE", "__key*__:*")
        sub.call("SUBSCRIBE", MARKER)
        try:
            for argv in steps:
                cmd.call(*argv)
            admin.call("PUBLISH", MARKER, "end")
            out: list[object] = []
            while True:
                msg = decode(sub.read_reply())
                if msg[0] == b"message" and msg[1] == MARKER:
                    return out
                out.append(list(msg))
        finally:
            admin.call("CONFIG", "SET", "notify-keyspace-events", "")


@pytest.fixture(scope="module")
def servers(real_redis: RedisServerProc, crdt_node_module: CrdtRedisProc) -> Iterator[tuple[int, int]]:
    yield real_redis.port, crdt_node_module.port


@pytest.mark.parametrize("resp", [2, 3])
@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_keyspace_events_match_redis(servers: tuple[int, int], name: str, resp: int) -> None:
    ref_port, sub_port = servers
    ref = _events(ref_port, SCENARIOS[name], resp)
    got = _events(sub_port, SCENARIOS[name], resp)
    assert got == ref, f"{name}: events differ\nredis: {ref}\ncrdt:  {got}"


def test_expired_event_match_redis(servers: tuple[int, int]) -> None:
    """`expired` comes from the key's deletion, by the background cycle here as there."""
    for port in servers:
        with RespConnection(port=port) as admin, RespConnection(port=port) as sub:
            admin.call("FLUSHALL")
            admin.call("CONFIG", "SET", "notify-keyspace-events", "Ex")
            try:
                sub.call("PSUBSCRIBE", "__keyevent@*__:expired")
                admin.call("PSETEX", "gone", "50", "v")
                assert decode(sub.read_reply()) == [b"pmessage", b"__keyevent@*__:expired",
                                                    b"__keyevent@0__:expired", b"gone"]
            finally:
                admin.call("CONFIG", "SET", "notify-keyspace-events", "")
