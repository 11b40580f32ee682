"""redis-benchmark against crdt-redis and redis-server in the same run (issue 2).

    python bench/bench_basic.py [--runs 5] [-n 100000]

Reports ops/s per test (median of runs) and server CPU µs/request, overall and per test
(each test is its own redis-benchmark invocation so its CPU can be attributed), each as a
ratio to redis-server. Server CPU per request is the stable figure (DESIGN §7); ops/s
swings with machine noise. MSET is redis-benchmark's 10-key MSET: one request, 10 writes.
"""
from __future__ import annotations

import argparse
import shutil

from common import median, redis_benchmark, start_crdt, start_redis, workdir

TESTS = "ping,set,get,incr,mset"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("-n", type=int, default=100000)
    ns = ap.parse_args()
    wd = workdir()
    results: dict[str, dict[str, list[float]]] = {"redis": {}, "crdt": {}}
    cpu: dict[str, list[float]] = {"redis": [], "crdt": []}
    # Per test: server CPU µs/request of each run.
    tcpu: dict[str, dict[str, list[float]]] = {"redis": {}, "crdt": {}}
    # crdt-redis runs with its default op log (appendfsync everysec); redis-server with its
    # defaults minus RDB saves, as in the comparison.
    servers = {"redis": start_redis(wd), "crdt": start_crdt(wd)}
    try:
        for _ in range(ns.runs):
            for name, srv in servers.items():
                spent = 0.0
                total = 0
                for test in TESTS.split(","):
                    c0 = srv.cpu_seconds()
                    r = redis_benchmark(srv.port, test, ns.n)
                    c1 = srv.cpu_seconds()
                    spent += c1 - c0
                    total += ns.n * len(r)
                    tcpu[name].setdefault(test, []).append((c1 - c0) / (ns.n * len(r)) * 1e6)
                    for t, v in r.items():
                        results[name].setdefault(t, []).append(v)
                cpu[name].append(spent / total * 1e6)
    finally:
        for s in servers.values():
            s.stop()
        shutil.rmtree(wd, ignore_errors=True)
    print(f"redis-benchmark -q -n {ns.n} -c 50 -P 16 -t {TESTS}; median of {ns.runs} runs\n")
    print("| test | redis-server ops/s | crdt-redis ops/s | ratio |")
    print("|---|---|---|---|")
    for t in results["redis"]:
        a, b = median(results["redis"][t]), median(results["crdt"].get(t, []))
        print(f"| {t} | {a:,.0f} | {b:,.0f} | {b / a:.2f} |")
    a, b = median(cpu["redis"]), median(cpu["crdt"])
    print(f"| server CPU µs/request (all tests) | {a:.2f} | {b:.2f} | {b / a:.2f}x |")
    print("\n| test | redis-server CPU µs/request | crdt-redis CPU µs/request | ratio |")
    print("|---|---|---|---|")
    for t in TESTS.split(","):
        a, b = median(tcpu["redis"][t]), median(tcpu["crdt"][t])
        print(f"| {t} | {a:.2f} | {b:.2f} | {b / a:.2f}x |")


if __name__ == "__main__":
    main()
