"""CPU of one GC pass (Keyspace.gc_chunks) over a big keyspace, in process (issue 12).

    python bench/bench_gc.py [--runs 3] [-n 1000000] [--dirty 100000]

The server runs a pass every `gc_interval` (10 s); a pass visits the keys ops wrote since
about two passes ago (Keyspace.gc_chunks), and walks each such key whole (every member of
a written hash). Its cost, spread over the writes of those 10 s, is part of the origin's
CPU per write with peers (bench_replication cpu charges it so). Three keyspaces as
redis-benchmark `-r` leaves them: `n` plain strings, one sorted set and one hash of `n / 2`
members. Each is written through the commands of a node with peers, folded once by a pass
with everything stable (the steady state), then timed: a clean pass (nothing written
since), and a pass after `--dirty` of its elements were written again (what a pass finds
after a burst of writes; a ZADD of a member's own score writes nothing).
"""
from __future__ import annotations

import argparse
import dataclasses
import os
import random
import statistics
import sys
import time
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from crdtredis import gctune  # noqa: E402
from crdtredis.commands import new_node  # noqa: E402
from crdtredis.config import default_config  # noqa: E402


def _all_stable(h: int, o: str) -> bool:
    return True


def _pass(ks: Any) -> float:
    t0 = time.process_time()
    sum(ks.gc_chunks(_all_stable))
    return (time.process_time() - t0) * 1e3


def bench(kind: str, n: int, dirty: int) -> tuple[float, float]:
    cfg = dataclasses.replace(default_config(), replica_id="a", peers=("http://x",))
    node = new_node(cfg)
    node.keyspace.solo = False
    client = node.new_client("bench", "bench", lambda: None)

    def write(i: int) -> None:
        if kind == "strings":
            node.execute(client, [b"SET", b"key:%012d" % i, b"xxx"])
        elif kind == "zset":
            node.execute(client, [b"ZADD", b"myzset", b"%d" % (i % 7), b"element:%012d" % i])
        else:
            node.execute(client, [b"HSET", b"myhash", b"element:%012d" % i, b"xxx"])

    size = n if kind == "strings" else n // 2
    for i in range(size):
        write(i)
    _pass(node.keyspace)  # the steady state: everything folded once
    clean = _pass(node.keyspace)
    for i in random.sample(range(size), min(dirty, size)):
        write(i)
    return clean, _pass(node.keyspace)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("-n", type=int, default=1_000_000)
    ap.add_argument("--dirty", type=int, default=100_000)
    ns = ap.parse_args()
    gctune.tune()
    print(f"one GC pass, in process, n={ns.n}, dirty={ns.dirty}, median of {ns.runs} runs\n")
    print("| keyspace | clean pass ms | pass after the dirty writes ms |")
    print("|---|---|---|")
    for kind in ("strings", "zset", "hash"):
        res = [bench(kind, ns.n, ns.dirty) for _ in range(ns.runs)]
        print(f"| {kind} | {statistics.median(r[0] for r in res):.0f} | {statistics.median(r[1] for r in res):.0f} |")


if __name__ == "__main__":
    main()
