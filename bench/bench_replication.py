"""Replication numbers (issue 5), medians of runs.

    python bench/bench_replication.py [--runs 3] [--partition-writes 100000] [--partition-s 30]

1. replication lag p50/p99, write at node A to visibility at node B, under a steady
   10,000 writes/s at A;
2. time to converge after a partition (TCP proxies cut) during which N writes landed on
   each side;
3. SET throughput at one node with 2 live peers, as a ratio of the same node with none.
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import threading
import time

import redis
from common import free_port, median, redis_benchmark, start_crdt, workdir

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
from tests.support.proxy import TcpProxy  # noqa: E402

FAST = ("--set", "sync_interval=0.2", "--set", "retry_interval=0.05")


def cluster(wd: str, n: int, proxies: bool = False, tag: str = "", linger_ms: float = 1.0) -> tuple[list, list[TcpProxy]]:
    http = [free_port() for _ in range(n)]
    prox: list[TcpProxy] = []
    nodes = []
    for i in range(n):
        peers = []
        for j in range(n):
            if j != i:
                if proxies:
                    p = TcpProxy(http[j])
                    prox.append(p)
                    peers.append(p.url)
                else:
                    peers.append(f"http://127.0.0.1:{http[j]}")
        nodes.append(start_crdt(wd, *FAST, "--set", f"push_linger_ms={linger_ms}", peers=peers,
                                http_port=http[i], replica_id=f"{tag}n{i}"))
    return nodes, prox


def lag_run(wd: str, seconds: float, rate: int, linger_ms: float = 1.0) -> list[float]:
    nodes, _ = cluster(wd, 2, tag=f"lag{time.time_ns()}", linger_ms=linger_ms)
    a, b = redis.Redis(port=nodes[0].port), redis.Redis(port=nodes[1].port)
    stop = threading.Event()
    sent: dict[int, float] = {}
    lags: list[float] = []

    def load() -> None:
        i = 0
        batch = rate // 100
        nxt = time.perf_counter()
        while not stop.is_set():
            pipe = a.pipeline(transaction=False)
            for _ in range(batch):
                pipe.set(f"load:{i % 50000}", i)
                i += 1
            sent[i] = time.perf_counter()
            pipe.set("probe", i)
            pipe.execute()
            nxt += 0.01
            time.sleep(max(0.0, nxt - time.perf_counter()))

    def watch() -> None:
        last = None
        while not stop.is_set():
            v = b.get("probe")
            if v is not None and v != last:
                last = v
                t = sent.get(int(v))
                if t is not None:
                    lags.append((time.perf_counter() - t) * 1e3)
            time.sleep(0.0005)

    th = [threading.Thread(target=load), threading.Thread(target=watch)]
    for t in th:
        t.start()
    time.sleep(seconds)
    stop.set()
    for t in th:
        t.join()
    for n in nodes:
        n.stop()
    return lags


def vv(r: redis.Redis) -> str:
    return str(r.info("replication").get("crdt_version_vector"))


def partition_run(wd: str, writes: int, seconds: float) -> float:
    nodes, prox = cluster(wd, 2, proxies=True, tag=f"part{time.time_ns()}")
    a, b = redis.Redis(port=nodes[0].port), redis.Redis(port=nodes[1].port)
    for p in prox:
        p.cut()
    t0 = time.time()
    for side, r in (("a", a), ("b", b)):
        pipe = r.pipeline(transaction=False)
        for i in range(writes):
            pipe.set(f"{side}:{i}", i)
            pipe.incr("shared")
            if i % 1000 == 999:
                pipe.execute()
        pipe.execute()
    time.sleep(max(0.0, seconds - (time.time() - t0)))  # hold the partition for its full length
    t_heal = time.time()
    for p in prox:
        p.heal()
    while not (vv(a) == vv(b) and a.dbsize() == b.dbsize()):
        time.sleep(0.05)
    took = time.time() - t_heal
    assert a.get("shared") == b.get("shared") == str(2 * writes).encode()
    for n in nodes:
        n.stop()
    for p in prox:
        p.close()
    return took


def throughput_run(wd: str, peers: int, n: int) -> tuple[float, float]:
    """(SET ops/s, CPU µs per request of the node taking the writes). All nodes share this
    machine's 2 cores, so ops/s with peers also pays for the peers applying every write; the
    origin's CPU per request isolates what replication costs the node itself."""
    nodes, _ = cluster(wd, peers + 1, tag=f"thr{peers}{time.time_ns()}")
    c0 = nodes[0].cpu_seconds()
    res = redis_benchmark(nodes[0].port, "set", n)
    cpu = (nodes[0].cpu_seconds() - c0) / n * 1e6
    for x in nodes:
        x.stop()
    return res.get("SET", 0.0), cpu


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--lag-seconds", type=float, default=10.0)
    ap.add_argument("--partition-writes", type=int, default=100_000)
    ap.add_argument("--partition-s", type=float, default=30.0)
    ap.add_argument("--set-n", type=int, default=200_000)
    ap.add_argument("--only", choices=["lag", "partition", "throughput"], default=None)
    ns = ap.parse_args()
    wd = workdir()
    try:
        lag: dict[float, tuple[list[float], list[float]]] = {1.0: ([], []), 5.0: ([], [])}
        for _ in range(ns.runs if ns.only in (None, "lag") else 0):
            for linger, (p50s, p99s) in lag.items():
                lags = sorted(lag_run(wd, ns.lag_seconds, 10_000, linger))
                p50s.append(statistics.median(lags))
                p99s.append(lags[int(len(lags) * 0.99)])
        runs = ns.runs
        conv = [partition_run(wd, ns.partition_writes, ns.partition_s)
                for _ in range(runs if ns.only in (None, "partition") else 0)]
        thr = ns.only in (None, "throughput")
        solo = [throughput_run(wd, 0, ns.set_n) for _ in range(runs if thr else 0)]
        duo = [throughput_run(wd, 2, ns.set_n) for _ in range(runs if thr else 0)]
        print(f"medians of {ns.runs} runs")
        for linger, (p50s, p99s) in lag.items():
            if p50s:
                print(f"| replication lag at 10,000 writes/s, push linger {linger:.0f} ms: p50 / p99 | "
                      f"{median(p50s):.1f} / {median(p99s):.1f} ms |")
        if conv:
            print(f"| converge after a {ns.partition_s:.0f} s partition, {ns.partition_writes:,} writes "
                  f"per side | {median(conv):.2f} s |")
        if thr:
            s_ops, s_cpu = median([x[0] for x in solo]), median([x[1] for x in solo])
            d_ops, d_cpu = median([x[0] for x in duo]), median([x[1] for x in duo])
            print(f"| SET -c 50 -P 16, no peers | {s_ops:,.0f} ops/s | {s_cpu:.2f} µs CPU/request |")
            print(f"| SET -c 50 -P 16, 2 live peers (3 nodes on 2 cores) | {d_ops:,.0f} ops/s (ratio "
                  f"{d_ops / s_ops:.2f}) | {d_cpu:.2f} µs CPU/request (ratio {s_cpu / d_cpu:.2f}) |")
    finally:
        shutil.rmtree(wd, ignore_errors=True)


if __name__ == "__main__":
    main()
