"""Shared helpers for benchmarks: start crdt-redis and redis-server on free ports, run
redis-benchmark, and report medians as ratios against redis-server from the same run.

The per-type benchmarks (bench_hashes, bench_lists, bench_sets, bench_zsets) also share a
pipelining client, the targets they measure (a server, or crdt-redis in this process), the
CPU/wall measurement and the result table, so the figures of every type are taken alike."""
from __future__ import annotations

import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import hiredis
import redis


def free_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = int(s.getsockname()[1])
    s.close()
    return port


def wait_ping(port: int, timeout: float = 30.0) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            if redis.Redis(port=port, socket_timeout=1).ping():
                return
        except redis.RedisError:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"server on {port} did not answer PING")


# The checkout these benchmarks belong to. The servers run in a temporary directory, so
# without this `python -m crdtredis` would import whatever copy pip installed (an editable
# install of another clone, say) and the numbers would describe the wrong code.
REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (REPO_ROOT, env.get("PYTHONPATH", "")) if p)
    return env


class Server:
    def __init__(self, argv: list[str], port: int, workdir: str) -> None:
        self.port = port
        self.workdir = workdir
        self.log = open(os.path.join(workdir, f"server-{port}.log"), "wb")
        self.proc = subprocess.Popen(argv, stdout=self.log, stderr=subprocess.STDOUT, cwd=workdir, env=_env())
        wait_ping(port)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self.log.close()

    def cpu_seconds(self) -> float:
        return sum(self.cpu_split())

    def cpu_split(self) -> tuple[float, float]:
        """(user, system) CPU seconds of the server process so far, from /proc/PID/stat."""
        with open(f"/proc/{self.proc.pid}/stat") as f:
            parts = f.read().rsplit(")", 1)[1].split()
        tick = os.sysconf("SC_CLK_TCK")
        return int(parts[11]) / tick, int(parts[12]) / tick

    def rss(self) -> int:
        return rss_bytes(self.proc.pid)


def pinned(cpus: str | None) -> list[str]:
    """argv prefix that runs a command on the given CPUs (taskset execs it: same pid)."""
    return ["taskset", "-c", cpus] if cpus else []


def start_crdt(workdir: str, *extra: str, peers: list[str] | None = None,
               port: int | None = None, http_port: int = 0, replica_id: str = "bench",
               cpus: str | None = None) -> Server:
    port = port or free_port()
    argv = [*pinned(cpus), sys.executable, "-m", "crdtredis", "--port", str(port), "--http-port", str(http_port),
            "--data-dir", os.path.join(workdir, f"data-{replica_id}"), "--replica-id", replica_id,
            "--loglevel", "warning", *extra]
    for p in peers or []:
        argv += ["--peer", p]
    return Server(argv, port, workdir)


def start_redis(workdir: str, *extra: str, cpus: str | None = None) -> Server:
    exe = shutil.which("redis-server")
    if exe is None:
        sys.exit("redis-server is not installed (apt-get install redis-server)")
    port = free_port()
    argv = [*pinned(cpus), exe, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
            "--dir", workdir, *extra]
    return Server(argv, port, workdir)


# redis-benchmark seeds the generator of its -r keys with time(NULL) ^ getpid()
# (redis-benchmark.c, main). Two runs some seconds and as many pids apart can get the same
# seed, and the later one then writes exactly the keys the earlier one wrote: a window of
# SADDs meant to add members finds every one there and answers 0 without a write. That
# happened in bench_replication's windows (one family's per-run ratios spanned 0.76-2.31).
# So every run with -r gets a seed no earlier run had (`_fresh_pid`).
_SEEDS: set[int] = set()


def _seeds(t: int, pid: int) -> set[int]:
    """The seeds a redis-benchmark started at wall second t (or the next) with `pid` has."""
    return {t ^ pid, (t + 1) ^ pid}


def _fresh_pid() -> None:
    """Spawn throwaway processes until the next pid gives a seed no earlier run had."""
    for _ in range(1000):
        try:
            with open("/proc/sys/kernel/ns_last_pid") as f:
                nxt = int(f.read()) + 1
        except OSError:
            return  # no way to tell: hope
        if not _seeds(int(time.time()), nxt) & _SEEDS:
            return
        subprocess.run(["true"], check=True)


def redis_benchmark(port: int, tests: str, n: int, clients: int = 50, pipeline: int = 16,
                    extra: tuple[str, ...] = (), cpus: str | None = None) -> dict[str, float]:
    argv = [*pinned(cpus), "redis-benchmark", "-p", str(port), "-q", "-n", str(n), "-c", str(clients), "-P",
            str(pipeline), "-t", tests, *extra]
    if "-r" in extra:
        _fresh_pid()
    t = int(time.time())
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if "-r" in extra:
        seeds = _seeds(t, proc.pid)  # taskset execs redis-benchmark: the same pid
        if seeds & _SEEDS:
            print(f"warning: redis-benchmark (pid {proc.pid}) may repeat an earlier run's keys", file=sys.stderr)
        _SEEDS.update(seeds)
    try:
        out, err = proc.communicate(timeout=600)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise
    if proc.returncode:
        raise subprocess.CalledProcessError(proc.returncode, argv, out, err)
    res: dict[str, float] = {}
    for line in out.replace("\r", "\n").splitlines():
        m = re.match(r"^([A-Z_a-z ()0-9]+): ([0-9.]+) requests per second", line.strip())
        if m:
            res[m.group(1).strip().split(" ")[0]] = float(m.group(2))
    return res


def median(xs: list[float]) -> float:
    return statistics.median(xs) if xs else float("nan")


def workdir() -> str:
    return tempfile.mkdtemp(prefix="crdt-bench-")


# ---- per-type benchmarks: a pipelining client and the targets it measures -----------------
PIPELINE = 100
Cmd = list[bytes]
Results = dict[tuple[str, str], tuple[float, float]]  # (op, key size) -> (CPU µs/op, wall µs/op)


def resp(argv: Cmd) -> bytes:
    return b"*%d\r\n" % len(argv) + b"".join(b"$%d\r\n%s\r\n" % (len(a), a) for a in argv)


class Conn:
    """A pipelining client: send a batch, read exactly as many replies."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.reader = hiredis.Reader()

    def read(self, n: int) -> list[Any]:
        """The next `n` replies."""
        out: list[Any] = []
        while len(out) < n:
            data = self.sock.recv(1 << 20)
            if not data:
                raise ConnectionError("server closed the connection")
            self.reader.feed(data)
            while True:
                r = self.reader.gets()
                if r is False:
                    break
                out.append(r)
        return out

    def batch(self, cmds: list[Cmd]) -> list[Any]:
        self.sock.sendall(b"".join(resp(c) for c in cmds))
        return self.read(len(cmds))

    def close(self) -> None:
        self.sock.close()


def thread_cpu_ns(pid: int) -> int:
    """CPU time of every thread of `pid` so far, in ns (schedstat; /proc/<pid>/stat counts
    10 ms ticks: too coarse per op)."""
    total = 0
    base = f"/proc/{pid}/task"
    for tid in os.listdir(base):
        try:
            with open(f"{base}/{tid}/schedstat") as f:
                total += int(f.read().split()[0])
        except OSError:
            pass  # a thread that just ended
    return total


def rss_bytes(pid: int | str = "self") -> int:
    with open(f"/proc/{pid}/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def parse_used_memory(info: bytes) -> int:
    for line in info.decode().splitlines():
        if line.startswith("used_memory:"):
            return int(line.split(":")[1])
    raise RuntimeError("no used_memory in INFO")


def redis_used_memory(port: int) -> Callable[[], int]:
    def get() -> int:
        c = Conn(port)
        try:
            return parse_used_memory(c.batch([[b"INFO", b"memory"]])[0])
        finally:
            c.close()
    return get


class Target:
    """One server under test (or the in-process node)."""

    name: str

    def run(self, cmds: list[Cmd]) -> list[Any]:
        raise NotImplementedError

    def cpu(self) -> float:
        raise NotImplementedError

    def memory(self) -> int:
        raise NotImplementedError


class RemoteTarget(Target):
    def __init__(self, name: str, srv: Server, memory: Callable[[], int]) -> None:
        self.name = name
        self.srv = srv
        self.conn = Conn(srv.port)
        self._memory = memory

    def run(self, cmds: list[Cmd]) -> list[Any]:
        out: list[Any] = []
        for i in range(0, len(cmds), PIPELINE):
            out += self.conn.batch(cmds[i:i + PIPELINE])
        return out

    def cpu(self) -> float:
        return thread_cpu_ns(self.srv.proc.pid) / 1e9

    def memory(self) -> int:
        return self._memory()


class InProcessTarget(Target):
    def __init__(self) -> None:
        sys.path.insert(0, REPO_ROOT)
        from tests.support.sim import Replica

        self.name = "crdt (in-process)"
        self.rep = Replica("bench")
        self.rep.node.set_solo(True)

    def run(self, cmds: list[Cmd]) -> list[Any]:
        ex = self.rep.node.execute
        c = self.rep.client
        return [ex(c, argv) for argv in cmds]

    def cpu(self) -> float:
        return time.process_time()

    def memory(self) -> int:
        return rss_bytes()


def check(replies: list[Any]) -> None:
    for r in replies:
        if isinstance(r, Exception) or type(r).__name__ == "ErrorReply":
            raise RuntimeError(f"unexpected error reply: {r!r}")


def run_all(t: Target, cmds: Iterable[Cmd], chunk: int) -> None:
    """Run `cmds` (setup: errors abort) `chunk` commands at a time, so a lazy `cmds` is
    never held whole."""
    part: list[Cmd] = []
    for c in cmds:
        part.append(c)
        if len(part) == chunk:
            check(t.run(part))
            part = []
    if part:
        check(t.run(part))


def fill_key(t: Target, verb: bytes, key: bytes, n: int, item: Callable[[int], bytes], per_cmd: int = 1000) -> None:
    """Fill `key` with item(0) .. item(n - 1), `per_cmd` to a command (VERB key item ...)."""
    cmds = ([verb, key, *(item(i) for i in range(start, min(n, start + per_cmd)))]
            for start in range(0, n, per_cmd))
    run_all(t, cmds, 20)


def fill_small_keys(t: Target, verb: bytes, key: Callable[[int, int], bytes], items: list[bytes],
                    runs: int, ops: int) -> None:
    """One small key per op and run (key(run, i)), for ops that change the key they hit."""
    run_all(t, ([verb, key(run, i), *items] for run in range(runs) for i in range(ops)), 1000)


def measure(t: Target, make: Callable[[int], Iterator[Cmd]], ops: int, runs: int) -> tuple[float, float]:
    """(server CPU µs/op, wall µs/op), medians over runs; `make(run)` yields that run's ops."""
    cpu: list[float] = []
    wall: list[float] = []
    for run in range(runs):
        cmds = list(make(run))[:ops]
        c0 = t.cpu()
        w0 = time.perf_counter()
        check(t.run(cmds))
        w1 = time.perf_counter()
        c1 = t.cpu()
        cpu.append((c1 - c0) / len(cmds) * 1e6)
        wall.append((w1 - w0) / len(cmds) * 1e6)
    return median(cpu), median(wall)


def ratio(a: float, b: float) -> str:
    return f"{a / b:.1f}x" if b > 0 else "n/a"


def run_targets(inprocess: bool, bench: Callable[[Target], tuple[Results, float]],
                ) -> tuple[str, str, dict[str, Results], dict[str, float], str]:
    """Run `bench` on redis-server, then on crdt-redis (a server, or in this process with
    `inprocess` or when the server does not start): (redis name, crdt name, results and
    memory per target name, a note on how crdt-redis was measured)."""
    wd = workdir()
    servers: list[Server] = []
    try:
        rsrv = start_redis(wd)
        servers.append(rsrv)
        targets: list[Target] = [RemoteTarget("redis", rsrv, redis_used_memory(rsrv.port))]
        crdt_note = ""
        if inprocess:
            targets.append(InProcessTarget())
            crdt_note = " (crdt-redis measured in-process through Node.execute)"
        else:
            try:
                csrv = start_crdt(wd)
            except Exception as exc:  # noqa: BLE001 - fall back, and say so in the output
                print(f"crdt-redis did not start ({exc}); measuring it in-process", file=sys.stderr)
                targets.append(InProcessTarget())
                crdt_note = " (crdt-redis measured in-process: the server did not start)"
            else:
                servers.append(csrv)
                targets.append(RemoteTarget("crdt", csrv, csrv.rss))
        results: dict[str, Results] = {}
        memory: dict[str, float] = {}
        for t in targets:
            t0 = time.time()
            results[t.name], memory[t.name] = bench(t)
            print(f"{t.name}: done in {time.time() - t0:.0f}s", file=sys.stderr)
    finally:
        for s in servers:
            s.stop()
        shutil.rmtree(wd, ignore_errors=True)
    return targets[0].name, targets[1].name, results, memory, crdt_note


def print_results(what: str, rres: Results, cres: Results) -> None:
    """The per-op table: `what` names the key size column ("fields", "members", ...)."""
    print(f"| op | {what} in key | redis CPU µs/op | crdt CPU µs/op | ratio | redis wall µs/op | crdt wall µs/op |")
    print("|---|---|---|---|---|---|---|")
    for key in rres:
        rc, rw = rres[key]
        cc, cw = cres[key]
        print(f"| {key[0]} | {key[1]} | {rc:.2f} | {cc:.2f} | {ratio(cc, rc)} | {rw:.2f} | {cw:.2f} |")
