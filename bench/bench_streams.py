"""Stream commands: server CPU per XADD, XREADGROUP (and a few reads) and memory per entry
at 1,000,000 entries, crdt-redis against redis-server in the same run.

    python bench/bench_streams.py [--runs 5] [--ops 20000] [--entries 1000000] [--inprocess]

Each measurement sends `--ops` commands from one client, pipelined 100 deep, and reports the
median over `--runs` runs of the server's CPU time per op (from /proc, the stable figure,
DESIGN §7) and the wall time per op seen by the client. XREADGROUP reads one new entry per
call (COUNT 1, `>`: a cursor write and a pending entry each time), XACK acknowledges them.
Memory per entry is the growth of crdt-redis's RSS and of redis-server's INFO used_memory
while a stream is filled with `--entries` entries of one field (`field`, `value<n>`), the
shape most producers write. The server runs without peers, so it keeps no add stamps; the
last line measures, in this process, what the stamps cost on a replica with peers before
they become causally stable and are collected (`StreamEntry.gc`).
"""
from __future__ import annotations

import argparse
import os
import sys
import tracemalloc
from collections.abc import Callable, Iterator

from common import Cmd, Results, Target, measure, print_results, ratio, run_all, run_targets

Workload = tuple[str, str, int, Callable[[int], Iterator[Cmd]]]


def fill(t: Target, key: bytes, n: int) -> None:
    run_all(t, ([b"XADD", key, b"*", b"field", b"value%d" % i] for i in range(n)), 1000)


def workloads(ops: int, runs: int) -> list[Workload]:
    def xadd(run: int) -> Iterator[Cmd]:
        for i in range(ops):
            yield [b"XADD", b"w:%d" % run, b"*", b"field", b"value%d" % i]

    def xadd_maxlen(run: int) -> Iterator[Cmd]:
        for i in range(ops):
            yield [b"XADD", b"cap:%d" % run, b"MAXLEN", b"~", b"1000", b"*", b"field", b"value%d" % i]

    def xreadgroup(run: int) -> Iterator[Cmd]:
        for _ in range(ops):
            yield [b"XREADGROUP", b"GROUP", b"g", b"c1", b"COUNT", b"1", b"STREAMS", b"q:%d" % run, b">"]

    def xrange(run: int) -> Iterator[Cmd]:
        for _ in range(ops):
            yield [b"XRANGE", b"q:%d" % run, b"-", b"+", b"COUNT", b"10"]

    def xlen(run: int) -> Iterator[Cmd]:
        for _ in range(ops):
            yield [b"XLEN", b"q:%d" % run]

    return [
        ("XADD *", "new entries", ops, xadd),
        ("XADD MAXLEN ~ 1000 *", "capped", ops, xadd_maxlen),
        ("XREADGROUP COUNT 1 >", "1 entry", ops, xreadgroup),
        ("XRANGE - + COUNT 10", "10 entries", ops, xrange),
        ("XLEN", "-", ops, xlen),
    ]


def setup_groups(t: Target, runs: int, ops: int) -> None:
    for run in range(runs):
        key = b"q:%d" % run
        run_all(t, ([b"XADD", key, b"*", b"field", b"value%d" % i] for i in range(ops)), 1000)
        run_all(t, [[b"XGROUP", b"CREATE", key, b"g", b"0"]], 1)


def bench(t: Target, ns: argparse.Namespace) -> tuple[Results, float]:
    setup_groups(t, ns.runs, ns.ops)
    m0 = t.memory()
    fill(t, b"big", ns.entries)
    m1 = t.memory()
    res: Results = {}
    for op, size, n, make in workloads(ns.ops, ns.runs):
        res[(op, size)] = measure(t, make, n, ns.runs)
    # XACK of what XREADGROUP delivered, per run's stream.
    ack_runs = []
    for run in range(ns.runs):
        pend = t.run([[b"XPENDING", b"q:%d" % run, b"g", b"-", b"+", b"%d" % ns.ops]])[0]
        ids = [p[0] for p in pend]
        ack_runs.append([[b"XACK", b"q:%d" % run, b"g", i] for i in ids])
    res[("XACK", "1 id")] = measure(t, lambda run: iter(ack_runs[run]), ns.ops, ns.runs)
    return res, (m1 - m0) / ns.entries


def stamped_bytes_per_entry(n: int) -> float:
    """Bytes per entry of a stream built by XADDs on a replica with peers (each entry's add
    stamp is kept until it is causally stable), measured with tracemalloc in this process."""
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
    from tests.support.sim import Replica

    rep = Replica("bench")
    rep.node.set_solo(False)
    rep.node.op_listeners.clear()  # the simulation's own record of ops is not the server's memory
    ex, c = rep.node.execute, rep.client
    tracemalloc.start()
    s0 = tracemalloc.get_traced_memory()[0]
    for i in range(n):
        ex(c, [b"XADD", b"s", b"*", b"field", b"value%d" % i])
    s1 = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    rep.node.close_group()
    return (s1 - s0) / n


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--ops", type=int, default=20000)
    ap.add_argument("--entries", type=int, default=1_000_000)
    ap.add_argument("--inprocess", action="store_true", help="measure crdt-redis in this process")
    ns = ap.parse_args()
    rname, cname, results, memory, note = run_targets(ns.inprocess, lambda t: bench(t, ns))
    print(f"# streams: {ns.ops} ops x {ns.runs} runs, pipeline 100, one client{note}")
    print_results("entries", results[rname], results[cname])
    print()
    rm, cm = memory[rname], memory[cname]
    print(f"memory per entry at {ns.entries:,} entries (XADD * field value<n>): redis {rm:.1f} B, "
          f"crdt {cm:.1f} B, ratio {ratio(cm, rm)}")
    n = min(ns.entries, 200_000)
    print(f"with peers, before GC (in-process tracemalloc, {n:,} entries): "
          f"{stamped_bytes_per_entry(n):.1f} B per entry")


if __name__ == "__main__":
    main()
