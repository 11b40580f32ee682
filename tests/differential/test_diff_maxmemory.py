"""maxmemory against a real redis-server, byte for byte: Redis's OOM error for denyoom
commands, what still runs over the limit (reads, deletes, DISCARD), MULTI queueing, scripts'
allow-oom rule, and a policy that evicts everything it can and then refuses. A limit of 1
byte is over for both servers whatever their sizes, so the scripts are deterministic.

Own servers (a script changes maxmemory, which a shared server would keep)."""
from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.differential.harness import KEEP_GOING, Differ, On, Script, ScriptCase, own_pair, scripts
from tests.support.resp_client import RespConnection


@pytest.fixture(scope="module")
def mm_diff(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Differ]:
    with own_pair(tmp_path_factory, "mm") as d:  # maxmemory is server-wide
        yield d


def _reset(port: int) -> None:
    with RespConnection(port=port) as c:
        c.call("CONFIG", "SET", "maxmemory", "0", "maxmemory-policy", "noeviction")


MAXMEMORY: dict[str, Script] = {
    "noeviction_refuses_denyoom": [
        KEEP_GOING,
        "SET k v", "RPUSH l a", "CONFIG SET maxmemory 1", "SET k2 v", "INCR n", "APPEND k x", "LPUSH l b",
        "SADD s m", "HSET h f v", "ZADD z 1 m", "GET k", "LRANGE l 0 -1", "EXISTS k", "DEL k", "LPOP l",
        "EXPIRE l 100", "PERSIST l", "FLUSHALL", "PING", "DBSIZE", "CONFIG SET maxmemory 0", "SET k v",
    ],
    "multi_queueing_is_refused": [
        "CONFIG SET maxmemory 1", "MULTI", "GET k", "SET k v", "DISCARD", "MULTI", "PING", "EXEC",
        "MULTI", "SET k v", "EXEC", "CONFIG SET maxmemory 0",
    ],
    "scripts_allow_oom": [
        KEEP_GOING,
        "CONFIG SET maxmemory 1",
        "EVAL \"return redis.call('set', 'k', 'v')\" 0",
        "EVAL \"return redis.call('get', 'k')\" 0",
        "EVAL \"return redis.pcall('set', 'k', 'v')\" 0",
        "EVAL \"#!lua\nreturn 1\" 0",
        "EVAL \"#!lua flags=no-writes\nreturn redis.call('get', 'k')\" 0",
        "EVAL \"#!lua flags=allow-oom\nreturn redis.call('set', 'k', 'v')\" 0",
        "CONFIG SET maxmemory 0",
    ],
    "allkeys_policy_evicts_everything_then_refuses": [
        "MSET a 1 b 2 c 3", "SADD s x", "CONFIG SET maxmemory-policy allkeys-random", "CONFIG SET maxmemory 1",
        "SET d 4", "DBSIZE", "GET a", "CONFIG SET maxmemory 0", "SET d 4", "DBSIZE",
    ],
    "volatile_policy_evicts_only_keys_with_ttl": [
        "SET a 1", "SET b 2 EX 1000", "SET c 3 PX 100000", "CONFIG SET maxmemory-policy volatile-ttl",
        "CONFIG SET maxmemory 1", "SET d 4", "DBSIZE", "GET a", "EXISTS b c", "CONFIG SET maxmemory 0",
    ],
    "oom_error_on_other_connection": [
        "CONFIG SET maxmemory 1", On(1, "SET x y"), On(1, "GET x"), "CONFIG SET maxmemory 0",
    ],
}


@pytest.mark.parametrize("case", scripts(MAXMEMORY))
def test_maxmemory(mm_diff: Differ, case: ScriptCase) -> None:
    for side in (mm_diff.ref, mm_diff.sub):
        _reset(side.port)
    mm_diff.run(case)
