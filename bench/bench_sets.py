"""Set commands: per-op time on 10-member and 1,000,000-member keys, and memory per member,
crdt-redis against redis-server in the same run.

    python bench/bench_sets.py [--runs 5] [--ops 20000] [--members 1000000] [--inprocess]

Each measurement sends `--ops` commands from one client, pipelined 100 deep, and reports the
median over `--runs` runs of the server's CPU time per op (from /proc, the stable figure,
DESIGN §7) and the wall time per op seen by the client. Write ops on "10" keys each hit a
different 10-member set (SADD makes it 11, SREM brings it back, SPOP takes it to 9). Memory
per member is the growth of crdt-redis's RSS and of redis-server's INFO used_memory while
the big set is filled. The server runs without peers, so it keeps no add stamps; the last
line measures, in this process, what the stamps cost on a replica with peers before they
become causally stable and are collected (`SetEntry.gc`).

With --inprocess (or when the server cannot start) crdt-redis is measured inside this
process through Node.execute: no sockets, no RESP, so its figures are lower bounds.
"""
from __future__ import annotations

import argparse
import os
import random
import sys
import tracemalloc
from collections.abc import Callable, Iterator

from common import (
    PIPELINE,
    Cmd,
    Results,
    Target,
    fill_key,
    fill_small_keys,
    measure,
    print_results,
    ratio,
    run_targets,
)

Workload = tuple[str, str, int, Callable[[int], Iterator[Cmd]]]


def fill(t: Target, key: bytes, n: int, per_cmd: int = 1000) -> None:
    fill_key(t, b"SADD", key, n, lambda i: b"m%d" % i, per_cmd)


def small_key(run: int, i: int) -> bytes:
    return b"s10:%d:%d" % (run, i)


def setup_small(t: Target, runs: int, ops: int) -> None:
    """One 10-member set per op and run (members are strings: a hashtable, like big)."""
    fill_small_keys(t, b"SADD", small_key, [b"m%d" % j for j in range(10)], runs, ops)


def workloads(nbig: int, ops: int) -> list[Workload]:
    rng = random.Random(1)
    big = b"big"

    def small(verb: bytes, *args: bytes) -> Callable[[int], Iterator[Cmd]]:
        def make(run: int) -> Iterator[Cmd]:
            for i in range(ops):
                yield [verb, small_key(run, i), *args]
        return make

    def big_sadd(run: int) -> Iterator[Cmd]:
        for i in range(ops):
            yield [b"SADD", big, b"n%d:%d" % (run, i)]

    def big_srem(run: int) -> Iterator[Cmd]:
        for i in range(ops):
            yield [b"SREM", big, b"n%d:%d" % (run, i)]

    def big_sismember(run: int) -> Iterator[Cmd]:
        for _ in range(ops):
            yield [b"SISMEMBER", big, b"m%d" % rng.randrange(nbig)]

    def big_scard(run: int) -> Iterator[Cmd]:
        for _ in range(ops):
            yield [b"SCARD", big]

    def big_spop(run: int) -> Iterator[Cmd]:
        for _ in range(ops):
            yield [b"SPOP", big]

    def big_smembers(run: int) -> Iterator[Cmd]:
        yield [b"SMEMBERS", big]

    big_n = f"{nbig:,}"
    return [
        ("SADD", "10", ops, small(b"SADD", b"new")),
        ("SREM", "10", ops, small(b"SREM", b"new")),
        ("SISMEMBER", "10", ops, small(b"SISMEMBER", b"m3")),
        ("SCARD", "10", ops, small(b"SCARD")),
        ("SMEMBERS", "10", ops, small(b"SMEMBERS")),
        ("SPOP", "10", ops, small(b"SPOP")),
        ("SADD", big_n, ops, big_sadd),
        ("SREM", big_n, ops, big_srem),
        ("SISMEMBER", big_n, ops, big_sismember),
        ("SCARD", big_n, ops, big_scard),
        ("SPOP", big_n, ops, big_spop),
        ("SMEMBERS", big_n, 1, big_smembers),
    ]


def bench(t: Target, ns: argparse.Namespace) -> tuple[Results, float]:
    setup_small(t, ns.runs, ns.ops)
    m0 = t.memory()
    fill(t, b"big", ns.members)
    m1 = t.memory()
    res: Results = {}
    for op, size, n, make in workloads(ns.members, ns.ops):
        res[(op, size)] = measure(t, make, n, ns.runs)
    return res, (m1 - m0) / ns.members


def stamped_bytes_per_member(n: int) -> float:
    """Bytes per member of a set built by n one-member SADDs from peers (every member keeps
    its own (hlc, origin) stamp until GC), measured with tracemalloc in this process."""
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
    from crdtredis.crdt.set_aw import SADD
    from crdtredis.keyspace import Keyspace
    from crdtredis.op import Op

    ks = Keyspace("me")
    ks.solo = False
    members = [b"m%d" % i for i in range(n)]  # allocated before: the same bytes as the server's
    tracemalloc.start()
    t0 = tracemalloc.get_traced_memory()[0]
    for i, m in enumerate(members):
        ks.apply(Op("peer", i + 1, (1 << 40) + i, {}, [(SADD, 0, b"big", m)]))
    t1 = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    # The member bytes objects were allocated before tracing; count them as the server would.
    return (t1 - t0) / n + sum(sys.getsizeof(m) for m in members[:1000]) / 1000


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--ops", type=int, default=20000)
    ap.add_argument("--members", type=int, default=1_000_000)
    ap.add_argument("--inprocess", action="store_true", help="measure crdt-redis through Node.execute")
    ns = ap.parse_args()
    if ns.ops * ns.runs > ns.members // 2:
        sys.exit("--ops * --runs must not exceed half of --members (SPOP drains the big set)")
    rname, cname, results, memory, crdt_note = run_targets(ns.inprocess, lambda t: bench(t, ns))
    stamped = stamped_bytes_per_member(ns.members)
    print(f"Set ops, {ns.ops} ops per run pipelined {PIPELINE} deep (SMEMBERS of the big set: 1 op), "
          f"median of {ns.runs} runs{crdt_note}.\n")
    print_results("members", results[rname], results[cname])
    rm, cm = memory[rname], memory[cname]
    print(f"| memory per member at {ns.members:,} members (bytes) | | {rm:.0f} | {cm:.0f} | {ratio(cm, rm)} | | |")
    print(f"| same, with peers, stamps not yet collected (in-process estimate) | | {rm:.0f} | {stamped:.0f} | "
          f"{ratio(stamped, rm)} | | |")


if __name__ == "__main__":
    main()
