"""Shared helpers for benchmarks: start crdt-redis and redis-server on free ports, run
redis-benchmark, and report medians as ratios against redis-server from the same run."""
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
        with open(f"/proc/{self.proc.pid}/stat") as f:
            parts = f.read().rsplit(")", 1)[1].split()
        return (int(parts[11]) + int(parts[12])) / os.sysconf("SC_CLK_TCK")

    def rss(self) -> int:
        with open(f"/proc/{self.proc.pid}/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def start_crdt(workdir: str, *extra: str, peers: list[str] | None = None,
               port: int | None = None, http_port: int = 0, replica_id: str = "bench") -> Server:
    port = port or free_port()
    argv = [sys.executable, "-m", "crdtredis", "--port", str(port), "--http-port", str(http_port),
            "--data-dir", os.path.join(workdir, f"data-{replica_id}"), "--replica-id", replica_id,
            "--loglevel", "warning", *extra]
    for p in peers or []:
        argv += ["--peer", p]
    return Server(argv, port, workdir)


def start_redis(workdir: str, *extra: str) -> Server:
    exe = shutil.which("redis-server")
    if exe is None:
        sys.exit("redis-server is not installed (apt-get install redis-server)")
    port = free_port()
    argv = [exe, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
            "--dir", workdir, *extra]
    return Server(argv, port, workdir)


def redis_benchmark(port: int, tests: str, n: int, clients: int = 50, pipeline: int = 16,
                    extra: tuple[str, ...] = ()) -> dict[str, float]:
    out = subprocess.run(
        ["redis-benchmark", "-p", str(port), "-q", "-n", str(n), "-c", str(clients), "-P", str(pipeline),
         "-t", tests, *extra], capture_output=True, text=True, check=True, timeout=600,
    ).stdout
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
