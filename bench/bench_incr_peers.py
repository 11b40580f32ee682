"""In-process CPU of INCR on new keys, as a replica with peers vs a solo node (issue 12).

    python bench/bench_incr_peers.py [--runs 5] [-n 50000]

(then the same on keys that already hold a plain string: a counter GC folded)

redis-benchmark's `INCR counter:<random>` with `-r 1000000` makes nearly every INCR the
first of its key: on a replica with peers that INCR keeps its contribution apart (a
CounterStr) where a solo node folds it into a plain tuple. This drives `Node.execute`
directly (no sockets, no op log, no listeners) with the keyspace solo and not, alternating,
and prints the median µs per INCR of each and their ratio: the part of bench_replication's
cpu ratio that the keyspace decides, without the shared machine's noise.
"""
from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from crdtredis import gctune  # noqa: E402
from tests.support.sim import Replica  # noqa: E402


def run(solo: bool, tag: bytes, n: int, existing: bool = False) -> float:
    r = Replica("n0")
    r.node.set_solo(solo)
    r.node.op_listeners.clear()
    argvs = [[b"INCR", b"%s:%012d" % (tag, random.randrange(10**6))] for _ in range(n)]
    execute, client = r.node.execute, r.client
    if existing:  # each key already holds a plain string, as a counter GC folded does
        for argv in argvs:
            execute(client, [b"SET", argv[1], b"5"])
    t0 = time.process_time()
    for argv in argvs:
        execute(client, argv)
    return (time.process_time() - t0) / n * 1e6


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("-n", type=int, default=50_000)
    ns = ap.parse_args()
    gctune.tune()  # as the server runs
    for existing in (False, True):
        res: dict[bool, list[float]] = {True: [], False: []}
        for i in range(ns.runs):
            for solo in (True, False):
                res[solo].append(run(solo, b"k%d" % i, ns.n, existing))
        s, p = statistics.median(res[True]), statistics.median(res[False])
        what = "keys holding a plain string" if existing else "new keys"
        print(f"INCR on {what}, in process, median of {ns.runs}: solo {s:.2f} µs, with peers {p:.2f} µs "
              f"({p / s:.2f}x)")


if __name__ == "__main__":
    main()
