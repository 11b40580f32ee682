"""In-process CPU per request of the hot path (issue 2), no sockets, no redis-benchmark.

    python bench/bench_hotpath.py [--runs 5] [-n 200000] [--clients 8] [--pipeline 16] [--profile set] [--peers] [--random N]
                                  [--warm N] [--gc]

A Node with the op log attached (appendfsync everysec, as the server runs by default) is
driven through the real connection adapter (`RedisProtocol` on fake transports): each of
--clients connections gets a `data_received` of 16 (--pipeline) requests shaped like
redis-benchmark's (same keys, 3-byte values), then the event loop runs until every reply
is written. So a request pays for hiredis, dispatch, the handler, apply, its share of the
op log's group commit (encoding, one framed write per loop turn) and the reply encoding;
not the sockets.

`--profile TEST` runs cProfile over that test instead and prints the top functions.

`--random N --warm M --gc` times the steady state of a long write load with peers: M
requests of each test first (so most of the N keys or members exist), then one GC pass
with everything stable, as bench_replication's windows find it (e.g. INCR of counters GC
folded into plain strings).
"""
from __future__ import annotations

import argparse
import asyncio
import cProfile
import dataclasses
import itertools
import os
import pstats
import random
import shutil
import statistics
import sys
import tempfile
import time
from typing import Any

# Measure this checkout, not whatever copy of the package pip installed.
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from crdtredis import gctune  # noqa: E402
from crdtredis.commands import new_node  # noqa: E402
from crdtredis.config import default_config  # noqa: E402
from crdtredis.protocol.connection import RedisProtocol  # noqa: E402
from crdtredis.protocol.resp import encode_command  # noqa: E402
from crdtredis.storage.component import Persistence  # noqa: E402

PIPELINE = 16
_DRAWS = itertools.count(1)  # --random: each run draws anew, so runs do not repeat writes
RANDOM = 0  # --random N: keys/members drawn from N values, as redis-benchmark -r N
# redis-benchmark without -r sends these literal keys; MSET sets 10 keys at once.
REQUESTS: dict[str, list[bytes]] = {
    "ping": [b"PING"],
    "set": [b"SET", b"key:__rand_int__", b"xxx"],
    "get": [b"GET", b"key:__rand_int__"],
    "incr": [b"INCR", b"counter:__rand_int__"],
    "lpush": [b"LPUSH", b"mylist", b"xxx"],
    "rpush": [b"RPUSH", b"mylist", b"xxx"],
    "lpop": [b"LPOP", b"mylist"],
    "sadd": [b"SADD", b"myset", b"element:__rand_int__"],
    "hset": [b"HSET", b"myhash", b"element:__rand_int__", b"xxx"],
    "zadd": [b"ZADD", b"myzset", b"0", b"element:__rand_int__"],
    "mset": [b"MSET", *[b"key:__rand_int__", b"xxx"] * 10],
}


class _Transport:
    """The few transport methods the connection calls; replies are counted, not kept."""

    def __init__(self) -> None:
        self.writes = 0

    def write(self, data: Any) -> None:
        self.writes += 1

    def is_closing(self) -> bool:
        return False

    def get_extra_info(self, name: str) -> Any:
        return ("127.0.0.1", 50000)

    def set_write_buffer_limits(self, high: int, low: int) -> None:
        pass

    def get_write_buffer_size(self) -> int:
        return 0

    def close(self) -> None:
        pass


async def _setup(d: str, clients: int, peers: bool = False) -> tuple[Persistence, list[tuple[RedisProtocol, _Transport]]]:
    cfg = dataclasses.replace(default_config(), data_dir=d)
    p = Persistence(cfg.data_dir, cfg.replica_id)
    node = new_node(cfg, incarnation=p.incarnation)
    p.attach(node)
    await p.start()
    if peers:
        # What a node with peers applies (stamps and metadata kept until GC); the pushes,
        # acks and GC passes of replication are bench_replication's.
        node.keyspace.solo = False
    conns = []
    for _ in range(clients):
        proto, t = RedisProtocol(node), _Transport()
        proto.connection_made(t)  # type: ignore[arg-type]
        conns.append((proto, t))
    return p, conns


async def _drive(conns: list[tuple[RedisProtocol, _Transport]], test: str, n: int) -> float:
    """µs of CPU per request for about n requests of `test`."""
    rounds = max(1, n // (PIPELINE * len(conns)))
    if RANDOM:
        # Like redis-benchmark -r: __rand_int__ replaced per request (chunks built before timing).
        rnd = random.Random(next(_DRAWS))
        req = REQUESTS[test]
        chunks = [b"".join(encode_command([a.replace(b"__rand_int__", b"%012d" % rnd.randrange(RANDOM))
                                           for a in req]) for _ in range(PIPELINE))  # type: ignore[arg-type]
                  for _ in range(rounds * len(conns))]
    else:
        chunks = [encode_command(REQUESTS[test]) * PIPELINE] * (rounds * len(conns))  # type: ignore[arg-type]
    nxt = iter(chunks).__next__
    expected = sum(t.writes for _p, t in conns)
    t0 = time.process_time()
    for _ in range(rounds):
        for proto, _t in conns:
            proto.data_received(nxt())
        expected += len(conns)
        await asyncio.sleep(0)  # a loop turn, as the server takes one per poll
        while sum(t.writes for _p, t in conns) < expected:
            await asyncio.sleep(0)
    return (time.process_time() - t0) / (rounds * len(conns) * PIPELINE) * 1e6


def _gc_pass(conns: list[tuple[RedisProtocol, _Transport]]) -> None:
    """--gc: one GC pass with everything applied stable, as a node with peers runs it once
    every peer has acked what it wrote (bench_replication's windows begin with one): what
    the timed requests then find is what GC folded (counters as plain strings, fields and
    members without stamps), the steady state of a long write load."""
    ks = conns[0][0]._server.keyspace  # type: ignore[attr-defined]
    sum(ks.gc_chunks(lambda hlc, origin: True))


async def _main(ns: argparse.Namespace) -> None:
    d = tempfile.mkdtemp(prefix="crdt-hot-")
    gctune.tune()  # the server's GC thresholds: young collections otherwise dominate lists
    try:
        p, conns = await _setup(d, ns.clients, ns.peers)
        gctune.freeze_loaded()
        tests = ns.tests.split(",")
        if ns.profile:
            await _drive(conns, ns.profile, ns.n // 10)  # warm up
            pr = cProfile.Profile()
            pr.enable()
            await _drive(conns, ns.profile, ns.n)
            pr.disable()
            pstats.Stats(pr).sort_stats("tottime").print_stats(25)
            return
        res: dict[str, list[float]] = {t: [] for t in tests}
        for t in tests:
            await _drive(conns, t, ns.warm if ns.warm is not None else ns.n // 10)  # warm up
            if ns.gc:
                _gc_pass(conns)
        for _ in range(ns.runs):
            for t in tests:
                res[t].append(await _drive(conns, t, ns.n))
        print(f"in-process, op log attached (everysec), {ns.clients} clients, pipeline {PIPELINE}, "
              f"n={ns.n}, median of {ns.runs} runs\n")
        print("| test | µs/request |")
        print("|---|---|")
        for t in tests:
            print(f"| {t} | {statistics.median(res[t]):.2f} |")
        await p.stop()
    finally:
        shutil.rmtree(d, ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("-n", type=int, default=200_000)
    ap.add_argument("--tests", default=",".join(REQUESTS))
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--pipeline", type=int, default=16, help="requests per read (1: unpipelined clients)")
    ap.add_argument("--profile", default="")
    ap.add_argument("--random", type=int, default=0, help="as redis-benchmark -r N (0: the literal keys)")
    ap.add_argument("--peers", action="store_true", help="apply as a node with peers does (not solo)")
    ap.add_argument("--warm", type=int, default=None, help="requests of each test before timing (default n/10)")
    ap.add_argument("--gc", action="store_true", help="a GC pass after each test's warm-up (_gc_pass)")
    ns = ap.parse_args()
    globals()["PIPELINE"] = ns.pipeline
    globals()["RANDOM"] = ns.random
    try:
        import uvloop

        uvloop.run(_main(ns))
    except ImportError:
        asyncio.run(_main(ns))


if __name__ == "__main__":
    main()
