"""CPU of one GC pass (Keyspace.gc_chunks) over a big keyspace, in process (issue 12).

    python bench/bench_gc.py [--runs 3] [-n 1000000] [--dirty 100000] [--trickle 1000]

The server runs a pass every `gc_interval` (10 s); a pass visits the keys ops wrote since
about two passes ago (Keyspace.gc_chunks), and in a big set, hash or sorted set the members
written since (crdt/members.py). Its cost, spread over the writes of those 10 s, is part of
the origin's CPU per write with peers (bench_replication cpu charges it so), and it runs in
one event-loop turn per 2,000 keys. Four keyspaces as redis-benchmark `-r` leaves them: `n`
plain strings, and one sorted set, one hash and one set of `n / 2` members. Each is written
through the commands of a node with peers, folded once by a pass with everything stable
(the steady state), then timed: a clean pass (nothing written since), a pass after
`--trickle` of its elements were written again (a big collection that a few writes touch),
and one after `--dirty` (a burst of writes). The sorted set's writes change the score (a
ZADD of a member's own score writes nothing); the set's are SREM and SADD of the member.
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


def bench(kind: str, n: int, trickle: int, dirty: int) -> tuple[float, float, float]:
    cfg = dataclasses.replace(default_config(), replica_id="a", peers=("http://x",))
    node = new_node(cfg)
    node.keyspace.solo = False
    client = node.new_client("bench", "bench", lambda: None)

    def write(i: int, k: int = 0) -> None:
        if kind == "strings":
            node.execute(client, [b"SET", b"key:%012d" % i, b"xxx"])
        elif kind == "zset":
            node.execute(client, [b"ZADD", b"myzset", b"%d" % ((i + k) % 7), b"element:%012d" % i])
        elif kind == "hash":
            node.execute(client, [b"HSET", b"myhash", b"element:%012d" % i, b"xxx"])
        else:
            if k:
                node.execute(client, [b"SREM", b"myset", b"element:%012d" % i])
            node.execute(client, [b"SADD", b"myset", b"element:%012d" % i])

    size = n if kind == "strings" else n // 2
    for i in range(size):
        write(i)
    _pass(node.keyspace)  # the steady state: everything folded once
    clean = _pass(node.keyspace)
    timed = [clean]
    for k, m in enumerate((trickle, dirty), 1):
        for i in random.sample(range(size), min(m, size)):
            write(i, k)
        timed.append(_pass(node.keyspace))
    return clean, timed[1], timed[2]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("-n", type=int, default=1_000_000)
    ap.add_argument("--dirty", type=int, default=100_000)
    ap.add_argument("--trickle", type=int, default=1_000)
    ns = ap.parse_args()
    gctune.tune()
    print(f"one GC pass, in process, n={ns.n}, trickle={ns.trickle}, dirty={ns.dirty}, median of {ns.runs} runs\n")
    print("| keyspace | clean pass ms | pass after the trickle ms | pass after the dirty writes ms |")
    print("|---|---|---|---|")
    for kind in ("strings", "zset", "hash", "set"):
        res = [bench(kind, ns.n, ns.trickle, ns.dirty) for _ in range(ns.runs)]
        print(f"| {kind} | " + " | ".join(f"{statistics.median(r[j] for r in res):.1f}" for j in range(3)) + " |")


if __name__ == "__main__":
    main()
