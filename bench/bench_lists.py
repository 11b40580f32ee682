"""List commands: per-op time on a 10-element and a 1,000,000-element key, and memory per
element, crdt-redis against redis-server in the same run.

    python bench/bench_lists.py [--runs 5] [--ops 20000] [--elements 1000000] [--inprocess]

Each measurement sends `--ops` commands from one client, pipelined 100 deep, and reports the
median over `--runs` runs of the server's CPU time per op (from /proc, the stable figure,
DESIGN §7) and the wall time per op seen by the client. Ops on "10" keys each hit a
different 10-element list (RPUSH makes it 11, LPOP brings it back, LINSERT makes it 11).
On the big list, "middle" is index n/2 (LINDEX, LSET) and LINSERT's pivot is the element
that started at n/2: like Redis, crdt-redis first scans for the pivot by value (a C scan of
each block's values), then inserts in O(log n). Memory per element is the growth of
crdt-redis's RSS and of redis-server's INFO used_memory while the big list is filled (RPUSH,
1000 elements per command). The server runs without peers, so it keeps no tombstones; the
last line measures, in this process, a replica with peers whose removed elements are still
tombstones (half the list popped, before gc).

With --inprocess (or when the server cannot start) crdt-redis is measured inside this
process through Node.execute: no sockets, no RESP, so its figures are lower bounds.
"""
from __future__ import annotations

import argparse
import os
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
PER_CMD = 1000
ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")

# The server is started from a temporary directory: without this it would run whatever
# crdtredis is installed (an editable install may point at another checkout).
os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (ROOT, os.environ.get("PYTHONPATH")) if p)


def value(i: int) -> bytes:
    return b"v%d" % i


def fill(t: Target, key: bytes, n: int) -> None:
    fill_key(t, b"RPUSH", key, n, value, PER_CMD)


def small_key(run: int, i: int) -> bytes:
    return b"l10:%d:%d" % (run, i)


def setup_small(t: Target, runs: int, ops: int) -> None:
    fill_small_keys(t, b"RPUSH", small_key, [b"e%d" % j for j in range(10)], runs, ops)


def workloads(nbig: int, ops: int) -> list[Workload]:
    big = b"big"
    mid = b"%d" % (nbig // 2)
    pivot = value(nbig // 2)

    def small(*argv: bytes) -> Callable[[int], Iterator[Cmd]]:
        def make(run: int) -> Iterator[Cmd]:
            for i in range(ops):
                yield [argv[0], small_key(run, i), *argv[1:]]
        return make

    def big_op(*argv: bytes, unique: bool = False) -> Callable[[int], Iterator[Cmd]]:
        def make(run: int) -> Iterator[Cmd]:
            for i in range(ops):
                tail = [*argv[1:-1], b"n%d:%d" % (run, i)] if unique else list(argv[1:])
                yield [argv[0], big, *tail]
        return make

    big_n = f"{nbig:,}"
    return [
        ("RPUSH", "10", ops, small(b"RPUSH", b"new")),
        ("LPOP", "10", ops, small(b"LPOP")),
        ("LINDEX middle", "10", ops, small(b"LINDEX", b"5")),
        ("LSET middle", "10", ops, small(b"LSET", b"5", b"set")),
        ("LINSERT middle", "10", ops, small(b"LINSERT", b"BEFORE", b"e5", b"ins")),
        ("LRANGE 0 9", "10", ops, small(b"LRANGE", b"0", b"9")),
        ("RPUSH", big_n, ops, big_op(b"RPUSH", b"x", unique=True)),
        ("LPOP", big_n, ops, big_op(b"LPOP")),
        ("LINDEX middle", big_n, ops, big_op(b"LINDEX", mid)),
        ("LSET middle", big_n, ops, big_op(b"LSET", mid, b"x", unique=True)),
        # Each LINSERT scans to the pivot: fewer ops keep the run short on both servers.
        ("LINSERT middle", big_n, max(1, ops // 20), big_op(b"LINSERT", b"BEFORE", pivot, b"x", unique=True)),
        ("LRANGE 0 9", big_n, ops, big_op(b"LRANGE", b"0", b"9")),
    ]


def bench(t: Target, ns: argparse.Namespace) -> tuple[Results, float]:
    setup_small(t, ns.runs, ns.ops)
    m0 = t.memory()
    fill(t, b"big", ns.elements)
    m1 = t.memory()
    res: Results = {}
    for op, size, n, make in workloads(ns.elements, ns.ops):
        res[(op, size)] = measure(t, make, n, ns.runs)
    return res, (m1 - m0) / ns.elements


def tombstoned_bytes_per_element(n: int) -> float:
    """Bytes per element still held by a list of n elements (filled like the server's)
    once half of them were popped at a replica with peers, before gc: the removed ones are
    tombstones (value dropped, id and removal stamp kept). tracemalloc, in this process."""
    sys.path.insert(0, ROOT)
    from crdtredis.crdt.list_rga import insert_effect, remove_effect
    from crdtredis.keyspace import Keyspace
    from crdtredis.op import Op

    ks = Keyspace("me")
    ks.solo = False
    vals = [value(i) for i in range(n)]
    tracemalloc.start()
    t0 = tracemalloc.get_traced_memory()[0]
    h = 1 << 40
    ks.apply(Op("peer", 1, h, {}, [insert_effect(0, b"big", None, -1, vals[:PER_CMD], "peer")]))
    seq = 2
    for start in range(PER_CMD, n, PER_CMD):
        ref = (h + start - PER_CMD, "peer", PER_CMD - 1)  # the last element of the previous batch
        eff = insert_effect(0, b"big", ref, start - 1, vals[start:start + PER_CMD], "peer")
        ks.apply(Op("peer", seq, h + start, {}, [eff]))
        seq += 1
    ids = [(h + (i // PER_CMD) * PER_CMD, "peer", i % PER_CMD) for i in range(n // 2)]
    for start in range(0, len(ids), PER_CMD):
        chunk = ids[start:start + PER_CMD]
        ks.apply(Op("peer", seq, h + n + start, {}, [remove_effect(0, b"big", chunk, [0] * len(chunk), "peer")]))
        seq += 1
    del ids
    t1 = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    # Values were allocated before tracing: count the surviving half as the server would.
    return (t1 - t0) / n + sum(sys.getsizeof(v) for v in vals[:1000]) / 1000 / 2


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--ops", type=int, default=20000)
    ap.add_argument("--elements", type=int, default=1_000_000)
    ap.add_argument("--inprocess", action="store_true", help="measure crdt-redis through Node.execute")
    ns = ap.parse_args()
    if ns.ops * ns.runs > ns.elements // 4:
        sys.exit("--ops * --runs must not exceed a quarter of --elements (LPOP drains the big list)")
    rname, cname, results, memory, crdt_note = run_targets(ns.inprocess, lambda t: bench(t, ns))
    tomb = tombstoned_bytes_per_element(ns.elements)
    print(f"List ops, {ns.ops} ops per run pipelined {PIPELINE} deep (LINSERT on the big list: "
          f"{max(1, ns.ops // 20)} ops), median of {ns.runs} runs{crdt_note}.\n")
    print_results("elements", results[rname], results[cname])
    rm, cm = memory[rname], memory[cname]
    print(f"| memory per element at {ns.elements:,} elements (bytes) | | {rm:.0f} | {cm:.0f} | "
          f"{ratio(cm, rm)} | | |")
    print(f"| same, with peers, half popped, tombstones not yet collected (in-process estimate) | | "
          f"{rm:.0f} | {tomb:.0f} | {ratio(tomb, rm)} | | |")


if __name__ == "__main__":
    main()
