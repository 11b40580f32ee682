"""Replication numbers (issues 5 and 12), medians of runs, beside redis-server's.

    python bench/bench_replication.py [--runs 3] [--only cpu|lag|partition] [--plot FILE.png]

1. **Origin cost** per write family (SET, INCR, LPUSH, SADD, HSET, ZADD): redis-benchmark
   `-c 50 -P 16` against one node, without peers and with 2 live peers; the origin's CPU
   per write (schedstat of all its threads, counted until both peers hold every write and
   the origin has collected them) and its ops/s. Both stay up and their windows alternate
   (cpu_bench). CPU pinning: the origin and redis-benchmark on core 0, the peers on core 1,
   so the peers' work never runs on the origin's core (nor steals the client's). The same
   for redis-server with AOF everysec, alone and as a master with 2 replicas, pinned alike.
2. **Replication lag** p50/p99 under a steady 10,000 writes/s at one node of 3 (write at A
   to visible at B, polled every 0.5 ms), beside a redis-server master and replica.
3. **Partition and heal**: 2 nodes behind TCP proxies, cut for `--partition-s` seconds
   while `--partition-writes` SET + INCR pairs land on each side; the time from heal to
   equal version vectors, the catch-up rate per link, and the CPU the busier node spent
   from heal to convergence (what a shared machine does not distort). `--plot` draws each side's
   backlog (ops it lacks of the other) over time for the first run.
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import threading
import time
from collections.abc import Callable

import redis
from common import Server, free_port, median, redis_benchmark, start_crdt, start_redis, thread_cpu_ns, workdir

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
from tests.support.proxy import TcpProxy  # noqa: E402

FAST = ("--set", "sync_interval=0.2", "--set", "retry_interval=0.05")
FAMILIES = ("set", "incr", "lpush", "sadd", "hset", "zadd")
ORIGIN_CPU, OTHERS_CPU = "0", "1"
# Random keys / members, so that every request is a real write (without -r, SADD and ZADD
# add the same member every time).
BENCH_EXTRA = ("-r", "1000000")


def cluster(wd: str, n: int, proxies: bool = False, tag: str = "", pin: bool = False,
            extra: tuple[str, ...] = FAST) -> tuple[list[Server], list[TcpProxy]]:
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
        cpus = (ORIGIN_CPU if i == 0 else OTHERS_CPU) if pin else None
        nodes.append(start_crdt(wd, *extra, peers=peers if n > 1 else None, http_port=http[i],
                                replica_id=f"{tag}n{i}", cpus=cpus))
    for node in nodes:
        wait_writable(node.port)
    return nodes, prox


def wait_writable(port: int, timeout: float = 30.0) -> None:
    """A new cluster takes writes once its members have found each other."""
    r = redis.Redis(port=port)
    deadline = time.time() + timeout
    while time.time() < deadline:
        if r.info("replication").get("crdt_sync_state") in ("member", "solo"):
            return
        time.sleep(0.05)
    raise RuntimeError(f"node on {port} never synced")


def vv(r: redis.Redis) -> dict[str, int]:
    text = str(r.info("replication").get("crdt_version_vector") or "")
    out = {}
    for part in text.split(";"):
        if ":" in part:
            k, v = part.rsplit(":", 1)
            out[k] = int(v)
    return out


def behind(mine: dict[str, int], theirs: dict[str, int]) -> int:
    return sum(max(0, s - mine.get(o, 0)) for o, s in theirs.items())


def covers(a: dict[str, int], b: dict[str, int]) -> bool:
    return all(a.get(o, 0) >= s for o, s in b.items())


# ---- 1. origin cost per write family --------------------------------------------------------
# The server's GC pass is timed (every gc_interval, 10 s by default) and walks every key, so
# a window of a second or two counts a whole pass, or none, by chance. Here it never runs on
# its own: each window is timed until the peers hold every write, then one pass is timed on
# its own once those writes are stable, and charged at the server's cadence: a pass every
# GC_INTERVAL_S, i.e. (window's wall time / GC_INTERVAL_S) of one, for every window of
# writes (a pass costs what it costs at that keyspace size, whatever the write rate).
NO_TIMED_GC = ("--set", "gc_interval=3600")
# One window's (ops/s, origin CPU µs per write, GC µs per write at cadence, the others' CPU
# µs per write each): Setup.window.
Window = tuple[float, float, float, float]
GC_INTERVAL_S = 10.0  # the server's default gc_interval


class Setup:
    """One system under test, alive for the whole bench: its origin, the others that must
    hold every write before a window ends, and how to end a window."""

    def __init__(self, name: str, servers: list[Server], crdt: bool) -> None:
        self.name = name
        self.servers = servers
        self.crdt = crdt
        self.origin = redis.Redis(port=servers[0].port)
        self.others = [redis.Redis(port=x.port) for x in servers[1:]]

    def settle(self) -> None:
        """Every other server holds every write (crdt: and has acked it to the origin)."""
        deadline = time.time() + 120
        if self.crdt:
            want = vv(self.origin)
            while not all(covers(vv(o), want) for o in self.others):
                if time.time() > deadline:
                    raise RuntimeError("peers never caught up")
                time.sleep(0.01)
            while not all(covers(a, want) for a in peer_acks(self.origin, len(self.others))):
                if time.time() > deadline:
                    raise RuntimeError("the origin never saw its writes stable")
                time.sleep(0.01)
            return
        off = int(self.origin.info("replication")["master_repl_offset"])
        while not all(int(o.info("replication").get("slave_repl_offset", 0)) >= off for o in self.others):
            if time.time() > deadline:
                raise RuntimeError("redis replicas never caught up")
            time.sleep(0.01)

    def gc(self) -> None:
        if self.crdt:
            self.origin.execute_command("CRDT.GC")

    def compact(self) -> None:
        """Rewrite the origin's log now (crdt-redis: a base snapshot, BGREWRITEAOF; Redis:
        its AOF rewrite) and wait for it: cpu_bench does it for every setup before each
        run, so that no rewrite lands inside a window (see cpu_bench)."""
        deadline = time.time() + 300
        while True:
            before = int(self.origin.info("persistence")["aof_rewrites"])
            try:
                self.origin.execute_command("BGREWRITEAOF")
                break
            except redis.ResponseError as e:  # Redis: one of its own rewrites runs; wait for it
                if "in progress" not in str(e) or time.time() > deadline:
                    raise
            while self.origin.info("persistence")["aof_rewrite_in_progress"]:
                time.sleep(0.05)
        while True:
            info = self.origin.info("persistence")
            if not (info["aof_rewrite_in_progress"] or info.get("aof_rewrite_scheduled")) \
                    and int(info["aof_rewrites"]) > before:
                return
            if time.time() > deadline:
                raise RuntimeError("the log rewrite never ended")
            time.sleep(0.05)

    def window(self, fam: str, n: int) -> Window:
        """(ops/s, origin CPU µs per write until settled, µs per write of the GC pass that
        follows, charged at the server's cadence, the others' CPU µs per write until
        settled, per server) for `n` writes of `fam`."""
        pid = self.servers[0].proc.pid
        self.settle()
        self.gc()
        o0 = [thread_cpu_ns(x.proc.pid) for x in self.servers[1:]]
        c0 = thread_cpu_ns(pid)
        t0 = time.perf_counter()
        res = redis_benchmark(self.servers[0].port, fam, n, extra=BENCH_EXTRA, cpus=ORIGIN_CPU)
        wall = time.perf_counter() - t0
        self.settle()
        c1 = thread_cpu_ns(pid)
        o1 = [thread_cpu_ns(x.proc.pid) for x in self.servers[1:]]
        self.gc()
        c2 = thread_cpu_ns(pid)
        share = min(1.0, wall / GC_INTERVAL_S)
        others = sum(b - a for a, b in zip(o0, o1, strict=True)) / max(1, len(o0)) / n / 1e3
        return next(iter(res.values()), 0.0), (c1 - c0) / n / 1e3, (c2 - c1) * share / n / 1e3, others

    def stop(self) -> None:
        for x in self.servers:
            x.stop()


def peer_acks(r: redis.Redis, peers: int) -> list[dict[str, int]]:
    """What each peer has durably acked to `r` (INFO replication's peerN acked=)."""
    info = r.info("replication")
    out = []
    for i in range(peers):
        p = info.get(f"peer{i}")
        text = p.get("acked", "") if isinstance(p, dict) else str(p or "").split("acked=")[-1]
        out.append({k: int(v) for k, v in (x.rsplit(":", 1) for x in str(text).split(";") if ":" in x)})
    return out


def redis_setup(wd: str, replicas: int) -> Setup:
    d = os.path.join(wd, f"redis-{time.time_ns()}")
    os.makedirs(d)
    # No automatic AOF rewrite: cpu_bench rewrites every setup's log between runs (Setup.compact).
    servers = [start_redis(wd, "--appendonly", "yes", "--appendfsync", "everysec", "--auto-aof-rewrite-percentage", "0",
                           "--dir", d, cpus=ORIGIN_CPU)]
    for i in range(replicas):
        rd = os.path.join(d, f"r{i}")
        os.makedirs(rd)
        servers.append(start_redis(wd, "--appendonly", "yes", "--dir", rd, "--replicaof", "127.0.0.1",
                                   str(servers[0].port), cpus=OTHERS_CPU))
    m = redis.Redis(port=servers[0].port)
    deadline = time.time() + 30
    while int(m.info("replication")["connected_slaves"]) < replicas:
        if time.time() > deadline:
            raise RuntimeError("redis replicas never connected")
        time.sleep(0.05)
    return Setup(f"redis + {replicas}", servers, crdt=False)


def cpu_bench(wd: str, runs: int, n: int) -> None:
    """Every setup stays up for the whole bench and the windows alternate, family by
    family and run by run (the order reversed every other run), so that a setup and its
    peerless twin are measured seconds apart and machine noise that drifts over minutes
    cancels in their ratio; the ratio reported is the median of the per-run ratios.

    Each run starts with every setup's log rewritten (Setup.compact). A run writes ~100 MB
    of log per node, and a crdt-redis node compacts after 5 segments of 64 MB: left alone,
    each node's one compaction landed in a window of the 4th run, a forked child writing
    a 150 MB snapshot on the origin's core, and doubled that window's CPU (ZADD: 27 µs a
    write instead of 14; bench/RESULTS.md), for one setup and not its twin. Both setups log
    the same writes, so they pay the same for compaction: outside the windows, it no
    longer decides which of them a run's noise favours."""
    setups: list[Setup] = []
    try:
        setups.append(redis_setup(wd, 0))
        setups.append(redis_setup(wd, 2))
        nodes, _ = cluster(wd, 1, tag="alone", pin=True, extra=(*FAST, *NO_TIMED_GC))
        setups.append(Setup("crdt alone", nodes, crdt=True))
        nodes, _ = cluster(wd, 3, tag="peers", pin=True, extra=(*FAST, *NO_TIMED_GC))
        setups.append(Setup("crdt + 2", nodes, crdt=True))
        got: dict[tuple[str, str], list[Window]] = {}
        for r in range(runs):
            order = setups if r % 2 == 0 else setups[::-1]
            for st in setups:
                st.compact()
            for fam in FAMILIES:
                for st in order:
                    got.setdefault((st.name, fam), []).append(st.window(fam, n))
            print(f"run {r + 1}/{runs} done", file=sys.stderr)
    finally:
        for st in setups:
            st.stop()
    print(f"\nredis-benchmark -n {n} -c 50 -P 16 -r 1000000 per family and setup, windows alternating; "
          f"origin and redis-benchmark on core {ORIGIN_CPU}, peers and replicas on core {OTHERS_CPU}; "
          f"crdt GC: one pass per {GC_INTERVAL_S:.0f} s of writes (module comment); medians of {runs} runs\n")
    print("| family | redis CPU µs/write alone / +2 replicas (ratio) | crdt CPU µs/write alone / +2 peers, "
          "writes and replication (ratio) | that ratio in each run, in order | + GC at its cadence (ratio) | "
          "redis ops/s alone / +2 | crdt ops/s alone / +2 peers (ratio) | CPU µs/write of each replica / peer |")
    print("|---|---|---|---|---|---|---|---|")

    def ratios(a: str, b: str, fam: str, f: Callable[[Window], float]) -> list[float]:
        return [f(y) / f(x) for x, y in zip(got[(a, fam)], got[(b, fam)], strict=True)]  # run order

    def ratio(a: str, b: str, fam: str, f: Callable[[Window], float]) -> float:
        return median(ratios(a, b, fam, f))

    def ops(x: Window) -> float:
        return x[0]

    def cpu(x: Window) -> float:
        return x[1]

    def total(x: Window) -> float:
        return x[1] + x[2]

    def others(x: Window) -> float:
        return x[3]

    for f in FAMILIES:
        m = {st.name: [median([g(x) for x in got[(st.name, f)]]) for g in (ops, cpu, total, others)] for st in setups}
        ra, rr, ca, cp = (m[st.name] for st in setups)
        print(f"| {f.upper()} | {ra[1]:.2f} / {rr[1]:.2f} ({ratio('redis + 0', 'redis + 2', f, cpu):.2f}x) | "
              f"{ca[1]:.2f} / {cp[1]:.2f} ({ratio('crdt alone', 'crdt + 2', f, cpu):.2f}x) | "
              f"{' '.join(f'{x:.2f}' for x in ratios('crdt alone', 'crdt + 2', f, cpu))} | "
              f"{ca[2]:.2f} / {cp[2]:.2f} ({ratio('crdt alone', 'crdt + 2', f, total):.2f}x) | "
              f"{ra[0]:,.0f} / {rr[0]:,.0f} | {ca[0]:,.0f} / {cp[0]:,.0f} "
              f"({ratio('crdt alone', 'crdt + 2', f, ops):.2f}) | {rr[3]:.2f} / {cp[3]:.2f} |")


# ---- 2. replication lag ----------------------------------------------------------------------
def lag_probe(writer: redis.Redis, reader: redis.Redis, seconds: float, rate: int) -> list[float]:
    """Write `rate` SETs/s at `writer` (a pipeline every 10 ms, a probe key last); the lag
    of each probe until `reader` shows it, in ms."""
    stop = threading.Event()
    sent: dict[int, float] = {}
    lags: list[float] = []

    def load() -> None:
        i = 0
        batch = rate // 100
        nxt = time.perf_counter()
        while not stop.is_set():
            pipe = writer.pipeline(transaction=False)
            for _ in range(batch - 1):
                pipe.set(f"load:{i % 50000}", i)
                i += 1
            i += 1
            sent[i] = time.perf_counter()
            pipe.set("probe", i)
            pipe.execute()
            nxt += 0.01
            time.sleep(max(0.0, nxt - time.perf_counter()))

    def watch() -> None:
        last = None
        while not stop.is_set():
            v = reader.get("probe")
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
    return lags


def crdt_lag_run(wd: str, seconds: float, rate: int) -> list[float]:
    nodes, _ = cluster(wd, 3, tag=f"lag{time.time_ns()}")
    try:
        return lag_probe(redis.Redis(port=nodes[0].port), redis.Redis(port=nodes[1].port), seconds, rate)
    finally:
        for n in nodes:
            n.stop()


def redis_lag_run(wd: str, seconds: float, rate: int) -> list[float]:
    d = os.path.join(wd, f"redislag-{time.time_ns()}")
    os.makedirs(os.path.join(d, "r"))
    master = start_redis(wd, "--appendonly", "yes", "--dir", d)
    replica = start_redis(wd, "--appendonly", "yes", "--dir", os.path.join(d, "r"), "--replicaof",
                          "127.0.0.1", str(master.port))
    try:
        m = redis.Redis(port=master.port)
        while int(m.info("replication")["connected_slaves"]) < 1:
            time.sleep(0.05)
        return lag_probe(m, redis.Redis(port=replica.port), seconds, rate)
    finally:
        replica.stop()
        master.stop()


def lag_bench(wd: str, runs: int, seconds: float, rate: int) -> None:
    res: dict[str, tuple[list[float], list[float]]] = {"redis-server master -> replica": ([], []),
                                                       "crdt-redis, 3 nodes, A -> B": ([], [])}
    for _ in range(runs):
        for name, fn in (("redis-server master -> replica", redis_lag_run), ("crdt-redis, 3 nodes, A -> B", crdt_lag_run)):
            lags = sorted(fn(wd, seconds, rate))
            res[name][0].append(statistics.median(lags))
            res[name][1].append(lags[int(len(lags) * 0.99)])
    print(f"\nreplication lag at {rate:,} writes/s for {seconds:.0f} s, medians of {runs} runs\n")
    print("| server | lag p50 | lag p99 |")
    print("|---|---|---|")
    for name, (p50s, p99s) in res.items():
        print(f"| {name} | {median(p50s):.2f} ms | {median(p99s):.2f} ms |")


# ---- 3. partition and heal -------------------------------------------------------------------
def partition_run(wd: str, writes: int, seconds: float, trace: list[tuple[float, int, int]] | None
                  ) -> tuple[float, int, float]:
    """(seconds from heal to convergence, ops each side lacked at the heal, CPU seconds the
    busier node spent from the heal to convergence: on a shared machine the wall time
    mostly measures the other load, this does not)."""
    nodes, prox = cluster(wd, 2, proxies=True, tag=f"part{time.time_ns()}")
    a, b = redis.Redis(port=nodes[0].port), redis.Redis(port=nodes[1].port)
    stop = threading.Event()
    t_start = time.time()

    def sample() -> None:
        sa, sb = redis.Redis(port=nodes[0].port), redis.Redis(port=nodes[1].port)
        while not stop.is_set():
            va, vb = vv(sa), vv(sb)
            if trace is not None:
                trace.append((time.time() - t_start, behind(va, vb), behind(vb, va)))
            time.sleep(0.05)

    try:
        for p in prox:
            p.cut()
        sampler = threading.Thread(target=sample)
        sampler.start()
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
        va, vb = vv(a), vv(b)
        lacked = max(behind(va, vb), behind(vb, va))
        cpu0 = [thread_cpu_ns(x.proc.pid) for x in nodes]
        t_heal = time.time()
        if trace is not None:
            trace.append((t_heal - t_start, -1, -1))  # the heal marker
        for p in prox:
            p.heal()
        deadline = t_heal + 300
        while not (vv(a) == vv(b) and a.dbsize() == b.dbsize()):
            if time.time() > deadline:
                raise RuntimeError("no convergence after 300 s")
            time.sleep(0.01)
        took = time.time() - t_heal
        cpu = max(thread_cpu_ns(x.proc.pid) - c for x, c in zip(nodes, cpu0, strict=True)) / 1e9
        time.sleep(1.0)
        stop.set()
        sampler.join()
        assert a.get("shared") == b.get("shared") == str(2 * writes).encode()
        return took, lacked, cpu
    finally:
        stop.set()
        for n in nodes:
            n.stop()
        for p in prox:
            p.close()


def plot(trace: list[tuple[float, int, int]], path: str, seconds: float) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    heal = next(t for t, x, _y in trace if x < 0)
    pts = [(t - heal, x, y) for t, x, y in trace if x >= 0]
    fig, ax = plt.subplots(figsize=(8, 4))
    ax.plot([p[0] for p in pts], [p[1] for p in pts], label="ops node A lacks of B")
    ax.plot([p[0] for p in pts], [p[2] for p in pts], label="ops node B lacks of A", linestyle="--")
    ax.axvline(0.0, color="grey", linewidth=1)
    ax.axvline(-seconds, color="grey", linewidth=1)
    ax.text(0.1, ax.get_ylim()[1] * 0.9, "heal")
    ax.text(-seconds + 0.1, ax.get_ylim()[1] * 0.9, "cut")
    ax.set_xlabel("seconds from the heal")
    ax.set_ylabel("replication lag (ops not yet applied)")
    ax.set_title("2 nodes, partition with writes on both sides, then heal")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)


def partition_bench(wd: str, runs: int, writes: int, seconds: float, plot_path: str | None) -> None:
    took: list[float] = []
    rates: list[float] = []
    cpus: list[float] = []
    for r in range(runs):
        trace: list[tuple[float, int, int]] | None = [] if (plot_path and r == 0) else None
        t, lacked, cpu = partition_run(wd, writes, seconds, trace)
        took.append(t)
        cpus.append(cpu)
        rates.append(lacked / t)
        if trace is not None and plot_path:
            plot(trace, plot_path, seconds)
    print(f"\npartition of {seconds:.0f} s with {writes:,} SET + INCR pairs per side ({2 * writes:,} ops), "
          f"medians of {runs} runs\n")
    print(f"| converge after the heal | {median(took):.2f} s | catch-up {median(rates):,.0f} ops/s per link |")
    print(f"| CPU of the busier node, heal to convergence | {median(cpus):.2f} s | "
          f"{lacked / median(cpus):,.0f} ops per CPU-second |")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--only", choices=["cpu", "lag", "partition"], default=None)
    ap.add_argument("-n", type=int, default=100_000, help="writes per family (cpu)")
    ap.add_argument("--lag-seconds", type=float, default=10.0)
    ap.add_argument("--lag-rate", type=int, default=10_000)
    ap.add_argument("--partition-writes", type=int, default=100_000)
    ap.add_argument("--partition-s", type=float, default=30.0)
    ap.add_argument("--plot", default=None, help="PNG of the first partition run's lag over time")
    ns = ap.parse_args()
    wd = workdir()
    try:
        if ns.only in (None, "cpu"):
            cpu_bench(wd, ns.runs, ns.n)
        if ns.only in (None, "lag"):
            lag_bench(wd, ns.runs, ns.lag_seconds, ns.lag_rate)
        if ns.only in (None, "partition"):
            partition_bench(wd, ns.runs, ns.partition_writes, ns.partition_s, ns.plot)
    finally:
        shutil.rmtree(wd, ignore_errors=True)


if __name__ == "__main__":
    main()
