"""HyperLogLog, bitmap and geo benchmark: crdt-redis against redis-server, in the same run.

Server CPU per op (µs, from /proc, pipelined 100 deep, median of --runs runs) of PFADD,
PFCOUNT, SETBIT, GETBIT, GEOADD and GEOSEARCH, and memory:

* per HLL key holding 1,000,000 elements (dense: one key filled by PFADD, then copied into
  --copies keys by PFMERGE; growth of crdt-redis's RSS / redis's used_memory per copy),
* per small (sparse) HLL key of 10 elements,
* per geo member in a 1,000,000-member geo set.

    python bench/bench_types.py [--runs 5] [--ops 5000] [--elements 1000000] [--inprocess]

Not a test: numbers depend on the machine; read them as ratios against redis.
"""
from __future__ import annotations

import argparse
import random
from collections.abc import Callable, Iterator

from common import PIPELINE, Cmd, Results, Target, measure, print_results, ratio, run_all, run_targets

Workload = tuple[str, str, int, Callable[[int], Iterator[Cmd]]]


def _pt(rng: random.Random) -> tuple[bytes, bytes]:
    return b"%.6f" % rng.uniform(-180, 180), b"%.6f" % rng.uniform(-85, 85)


def setup(t: Target, ns: argparse.Namespace) -> dict[str, float]:
    mem: dict[str, float] = {}
    n = ns.elements
    # One 1M-element HLL, then copies of it (PFMERGE into new keys).
    run_all(t, ([b"PFADD", b"hll", *(b"e%d" % i for i in range(s, min(n, s + 1000)))]
                for s in range(0, n, 1000)), 20)
    m0 = t.memory()
    run_all(t, ([b"PFMERGE", b"hcopy:%d" % i, b"hll"] for i in range(ns.copies)), 100)
    mem["HLL key, 1,000,000 elements (dense)"] = (t.memory() - m0) / ns.copies
    m0 = t.memory()
    run_all(t, ([b"PFADD", b"hs:%d" % i, *(b"x%d" % j for j in range(10))] for i in range(ns.small)), 1000)
    mem["HLL key, 10 elements (sparse)"] = (t.memory() - m0) / ns.small
    # A 1M-member geo set.
    rng = random.Random(7)
    m0 = t.memory()

    def geo_cmds() -> Iterator[Cmd]:
        for s in range(0, n, 1000):
            cmd: Cmd = [b"GEOADD", b"geo"]
            for i in range(s, min(n, s + 1000)):
                lon, lat = _pt(rng)
                cmd += [lon, lat, b"m%d" % i]
            yield cmd
    run_all(t, geo_cmds(), 20)
    mem["geo member, 1,000,000-member set"] = (t.memory() - m0) / n
    # A 1M-bit bitmap.
    run_all(t, [[b"SETBIT", b"bm", b"%d" % (n - 1), b"1"]], 1)
    return mem


def workloads(ns: argparse.Namespace) -> list[Workload]:
    rng = random.Random(1)
    ops = ns.ops
    big = f"{ns.elements:,}"

    def pfadd_big(run: int) -> Iterator[Cmd]:
        for i in range(ops):
            yield [b"PFADD", b"hll", b"new%d:%d" % (run, i)]

    def pfadd_small(run: int) -> Iterator[Cmd]:
        for i in range(ops):
            yield [b"PFADD", b"hs:%d" % (i % ns.small), b"y%d:%d" % (run, i)]

    def pfcount_cached(run: int) -> Iterator[Cmd]:
        for _ in range(ops):
            yield [b"PFCOUNT", b"hcopy:0"]

    def pfcount_fresh(run: int) -> Iterator[Cmd]:
        # Each PFADD of a new element makes the cache stale: PFCOUNT recomputes.
        for i in range(ops // 2):
            yield [b"PFADD", b"hcopy:1", b"z%d:%d" % (run, i)]
            yield [b"PFCOUNT", b"hcopy:1"]

    def pfcount_union(run: int) -> Iterator[Cmd]:
        for _ in range(ops // 10):
            yield [b"PFCOUNT", b"hcopy:2", b"hcopy:3", b"hcopy:4"]

    def setbit(run: int) -> Iterator[Cmd]:
        for _ in range(ops):
            yield [b"SETBIT", b"bm", b"%d" % rng.randrange(ns.elements), b"%d" % rng.randrange(2)]

    def getbit(run: int) -> Iterator[Cmd]:
        for _ in range(ops):
            yield [b"GETBIT", b"bm", b"%d" % rng.randrange(ns.elements)]

    def geoadd(run: int) -> Iterator[Cmd]:
        for i in range(ops):
            lon, lat = _pt(rng)
            yield [b"GEOADD", b"geo", lon, lat, b"n%d:%d" % (run, i)]

    def geosearch(run: int) -> Iterator[Cmd]:
        for _ in range(ops // 10):
            lon, lat = _pt(rng)
            yield [b"GEOSEARCH", b"geo", b"FROMLONLAT", lon, lat, b"BYRADIUS", b"100", b"km", b"ASC", b"COUNT", b"10"]

    def georadius_withdist(run: int) -> Iterator[Cmd]:
        for _ in range(ops // 10):
            lon, lat = _pt(rng)
            yield [b"GEOSEARCH", b"geo", b"FROMLONLAT", lon, lat, b"BYBOX", b"300", b"300", b"km", b"WITHDIST",
                   b"WITHCOORD"]

    return [
        ("PFADD", big, ops, pfadd_big),
        ("PFADD", "10", ops, pfadd_small),
        ("PFCOUNT (cached)", big, ops, pfcount_cached),
        ("PFADD+PFCOUNT (recount)", big, ops, pfcount_fresh),
        ("PFCOUNT 3 keys", big, ops // 10, pfcount_union),
        ("SETBIT", big + " bits", ops, setbit),
        ("GETBIT", big + " bits", ops, getbit),
        ("GEOADD", big, ops, geoadd),
        ("GEOSEARCH 100 km COUNT 10", big, ops // 10, geosearch),
        ("GEOSEARCH BYBOX 300 km", big, ops // 10, georadius_withdist),
    ]


_MEM: dict[str, dict[str, float]] = {}


def bench(t: Target, ns: argparse.Namespace) -> tuple[Results, float]:
    _MEM[t.name] = setup(t, ns)
    res: Results = {}
    for op, size, n, make in workloads(ns):
        res[(op, size)] = measure(t, make, n, ns.runs)
    return res, 0.0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--ops", type=int, default=5000)
    ap.add_argument("--elements", type=int, default=1_000_000)
    ap.add_argument("--copies", type=int, default=1000)
    ap.add_argument("--small", type=int, default=20000)
    ap.add_argument("--inprocess", action="store_true", help="measure crdt-redis through Node.execute")
    ns = ap.parse_args()
    rname, cname, results, _memory, note = run_targets(ns.inprocess, lambda t: bench(t, ns))
    print(f"HyperLogLog / bitmap / geo ops, {ns.ops} ops per run (searches and unions: a tenth), pipelined "
          f"{PIPELINE} deep, median of {ns.runs} runs{note}.\n")
    print_results("elements", results[rname], results[cname])
    print("\n| memory | redis bytes | crdt bytes | ratio |\n|---|---|---|---|")
    for what, rb in _MEM[rname].items():
        cb = _MEM[cname][what]
        print(f"| {what} | {rb:.0f} | {cb:.0f} | {ratio(cb, rb)} |")


if __name__ == "__main__":
    main()
