"""Op log numbers (issue 4), against redis-server in the same run.

    python bench/bench_persistence.py [--ops 1000000] [--runs 3]

1. replay speed and start-up time for a log of --ops mixed ops, beside redis-server loading
   an AOF of the same commands (appendonly yes; its "DB loaded from append only file" time);
2. disk bytes per op before and after compaction; the snapshot install speed (a restart
   that loads only the base the compaction wrote), beside redis-server loading an RDB of
   the same commands;
3. p50/p99 client latency during a compaction of the loaded keyspace vs without;
4. SET throughput with appendfsync everysec and always, as a ratio to redis-server with
   appendonly yes and the same appendfsync.
"""
from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import threading
import time

import redis
from common import Server, median, redis_benchmark, start_crdt, start_redis, workdir


def redis_load_seconds(srv: Server, what: str) -> float:
    """The load time redis-server logged at start-up ("DB loaded from <what>: N seconds")."""
    with open(os.path.join(srv.workdir, f"server-{srv.port}.log")) as f:
        m = re.search(r"DB loaded from " + what + r": ([0-9.]+) seconds", f.read())
    if m is None:
        raise RuntimeError(f"redis-server logged no {what} load time")
    return float(m.group(1))


def redis_loads(wd: str, total: int, runs: int) -> tuple[float, float, int]:
    """(AOF replay commands/s, RDB load keys/s, keys) of redis-server for the same load."""
    rwd = os.path.join(wd, "redis")
    os.makedirs(rwd, exist_ok=True)
    aof = ("--appendonly", "yes", "--appendfsync", "everysec")
    srv = start_redis(rwd, *aof)
    load_mixed(srv.port, total)
    keys = sum(v["keys"] for v in redis.Redis(port=srv.port).info("keyspace").values())
    redis.Redis(port=srv.port).save()
    srv.stop()
    aof_rates, rdb_rates = [], []
    for _ in range(runs):
        srv = start_redis(rwd, *aof)
        aof_rates.append(total / max(1e-6, redis_load_seconds(srv, "append only file")))
        srv.stop()
        srv = start_redis(rwd, "--appendonly", "no")
        rdb_rates.append(keys / max(1e-6, redis_load_seconds(srv, "disk")))
        srv.stop()
    return median(aof_rates), median(rdb_rates), keys


def dir_bytes(path: str) -> int:
    return sum(os.path.getsize(os.path.join(path, f)) for f in os.listdir(path))


def load_mixed(port: int, total: int) -> None:
    # Five write commands in equal parts over 100k random keys: strings, counters, lists, sets, hashes.
    per = total // 5
    subprocess.run(["redis-benchmark", "-p", str(port), "-q", "-n", str(per), "-r", "100000", "-c", "20",
                    "-P", "64", "-t", "set,incr,lpush,sadd,hset"], check=True, capture_output=True, timeout=1800)


def latencies(port: int, seconds: float, stop: threading.Event | None = None) -> list[float]:
    r = redis.Redis(port=port)
    out: list[float] = []
    end = time.time() + seconds
    while time.time() < end and not (stop and stop.is_set()):
        t = time.perf_counter()
        r.get("key:000000000001")
        out.append((time.perf_counter() - t) * 1e3)
    return out


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(len(xs) * p))] if xs else float("nan")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--ops", type=int, default=1_000_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--set-n", type=int, default=200_000)
    ns = ap.parse_args()
    wd = workdir()
    try:
        # 1. replay / start-up
        srv = start_crdt(wd, "--set", "max_segment_size=1073741824", "--set", "compaction_threshold=100")
        load_mixed(srv.port, ns.ops)
        data = os.path.join(wd, "data-bench")
        r = redis.Redis(port=srv.port)
        info = r.info("persistence")
        ops_logged = int(info["oplog_ops_logged"])
        bytes_before = dir_bytes(data)
        srv.stop()
        starts, rates = [], []
        writes = 0
        for _ in range(ns.runs):
            t0 = time.time()
            srv = start_crdt(wd, "--set", "max_segment_size=1073741824", "--set", "compaction_threshold=100",
                             port=srv.port)
            starts.append(time.time() - t0)
            info = redis.Redis(port=srv.port).info("persistence")
            # Writes (effects), not ops: a pipeline's writes share an op (node.MERGEABLE), and
            # redis-server's figure is AOF commands. Older trees report ops only.
            done = writes = int(info.get("oplog_last_load_effects", info["oplog_last_load_ops"]))
            rates.append(done / max(1e-9, float(info["oplog_last_load_seconds"])))
            srv.stop()
        # 2. + 3. compaction: size and latency
        srv = start_crdt(wd, "--set", "max_segment_size=1073741824", "--set", "compaction_threshold=100",
                         port=srv.port)
        r = redis.Redis(port=srv.port)
        base_lat = latencies(srv.port, 3.0)
        last = r.lastsave()
        stop = threading.Event()
        during: list[float] = []
        th = threading.Thread(target=lambda: during.extend(latencies(srv.port, 600, stop)))
        th.start()
        t0 = time.time()
        r.execute_command("BGREWRITEAOF")
        while r.lastsave() == last:
            time.sleep(0.05)
        compaction_s = time.time() - t0
        stop.set()
        th.join()
        bytes_after = dir_bytes(data)
        keys = sum(v["keys"] for k, v in r.info("keyspace").items())
        srv.stop()
        # Snapshot install: a start that loads the base alone (what follows it in the log is
        # the latency loop's GETs: no ops).
        installs = []
        for _ in range(ns.runs):
            srv = start_crdt(wd, "--set", "max_segment_size=1073741824", "--set", "compaction_threshold=100",
                             port=srv.port)
            info = redis.Redis(port=srv.port).info("persistence")
            installs.append(keys / max(1e-9, float(info["oplog_last_load_seconds"])))
            srv.stop()
        red_replay, red_install, red_keys = redis_loads(wd, ns.ops, ns.runs)
        # 4. SET throughput vs redis appendonly yes
        thr: dict[str, dict[str, list[float]]] = {}
        for fsync in ("everysec", "always"):
            for _ in range(ns.runs):
                red = start_redis(wd, "--appendonly", "yes", "--appendfsync", fsync)
                crdt = start_crdt(wd, "--appendfsync", fsync, replica_id=f"b{fsync}")
                for name, s in (("redis", red), ("crdt", crdt)):
                    n = ns.set_n if fsync == "everysec" else ns.set_n // 4
                    res = redis_benchmark(s.port, "set", n)
                    thr.setdefault(fsync, {}).setdefault(name, []).append(res.get("SET", 0.0))
                red.stop()
                crdt.stop()
                shutil.rmtree(os.path.join(wd, f"data-b{fsync}"), ignore_errors=True)
                for f in os.listdir(wd):
                    if f.startswith("appendonly") or f == "appendonlydir":
                        shutil.rmtree(os.path.join(wd, f), ignore_errors=True)
        print(f"log of {writes:,} writes in {ops_logged:,} ops (mixed SET/INCR/LPUSH/SADD/HSET over 100k keys), "
              f"median of {ns.runs}")
        print(f"| replay speed | {median(rates):,.0f} writes/s | redis-server AOF load {red_replay:,.0f} "
              f"commands/s | ratio {median(rates) / red_replay:.2f} |")
        print(f"| snapshot install ({keys:,} keys) | {median(installs):,.0f} keys/s | redis-server RDB load "
              f"{red_install:,.0f} keys/s ({red_keys:,} keys) | ratio {median(installs) / red_install:.2f} |")
        print(f"| start-up time (process start to PING) | {median(starts):.2f} s |")
        print(f"| disk before compaction | {bytes_before / writes:.1f} B/write ({bytes_before / 1e6:.1f} MB) |")
        print(f"| disk after compaction | {bytes_after / writes:.1f} B/write ({bytes_after / 1e6:.1f} MB, {keys:,} keys) |")
        print(f"| compaction time ({keys:,} keys) | {compaction_s:.2f} s |")
        print(f"| GET latency p50 / p99 without compaction | {pct(base_lat, .5):.3f} / {pct(base_lat, .99):.3f} ms |")
        print(f"| GET latency p50 / p99 during compaction | {pct(during, .5):.3f} / {pct(during, .99):.3f} ms (max {max(during or [0]):.1f}) |")
        for fsync, d in thr.items():
            a, b = median(d["redis"]), median(d["crdt"])
            print(f"| SET -c 50 -P 16, appendfsync {fsync} | redis {a:,.0f} ops/s | crdt {b:,.0f} ops/s | ratio {b / a:.2f} |")
    finally:
        shutil.rmtree(wd, ignore_errors=True)


if __name__ == "__main__":
    main()
