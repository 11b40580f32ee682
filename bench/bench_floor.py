"""The request loop's floor: what a pipelined request costs before any command runs (issue 12).

    python bench/bench_floor.py [--runs 3] [-n 1000000]

Three servers, `redis-benchmark -c 50 -P 16 -t ping_mbulk` against each, runs alternating:
redis-server with AOF everysec; crdt-redis; and crdt-redis with `Node.execute` replaced by
one that answers PING with PONG and runs nothing else (the real server otherwise: uvloop,
the connection adapter, hiredis, the reply encoding, the op log). Server CPU per request
from /proc/PID/stat, user and system time apart, and ops/s; medians of the runs.

The stubbed server's user time is the floor every pipelined request pays in Python. The
ratios of bench_basic.py follow from µs per request (the server is CPU-bound), so the
floor bounds what any command can reach: a ratio r against redis-server needs
redis_µs / r per request in all, of which the floor takes its share first.
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys

from common import Server, free_port, median, start_crdt, start_redis, workdir

# The real server, with Node.execute answering a bare PING and nothing else.
STUB = """
import sys
from crdtredis import node
from crdtredis.cli import main
from crdtredis.reply import PONG
real = node.Node.execute
def execute(self, client, argv):
    if len(argv) == 1 and argv[0] == b"PING":
        return PONG
    return real(self, client, argv)
node.Node.execute = execute
sys.exit(main(sys.argv[1:]))
"""


def run(port: int, n: int) -> float:
    out = subprocess.run(["redis-benchmark", "-p", str(port), "-n", str(n), "-c", "50", "-P", "16",
                          "-t", "ping_mbulk", "--csv"], capture_output=True, text=True, check=True,
                         timeout=600).stdout
    line = next(x for x in out.splitlines() if x.startswith('"PING_MBULK'))
    return float(line.split(",")[1].strip('"'))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("-n", type=int, default=1_000_000)
    ns = ap.parse_args()
    wd = workdir()
    port = free_port()
    servers = {
        "redis-server AOF everysec": start_redis(wd, "--appendonly", "yes", "--appendfsync", "everysec"),
        "crdt-redis, execute stubbed": Server(
            [sys.executable, "-c", STUB, "--port", str(port), "--http-port", "0",
             "--data-dir", os.path.join(wd, "data-stub"), "--replica-id", "stub", "--loglevel", "warning"],
            port, wd),
        "crdt-redis": start_crdt(wd),
    }
    got: dict[str, list[tuple[float, float, float]]] = {k: [] for k in servers}
    try:
        for _ in range(ns.runs):
            for name, srv in servers.items():
                u0, s0 = srv.cpu_split()
                rps = run(srv.port, ns.n)
                u1, s1 = srv.cpu_split()
                got[name].append((rps, (u1 - u0) / ns.n * 1e6, (s1 - s0) / ns.n * 1e6))
    finally:
        for s in servers.values():
            s.stop()
        shutil.rmtree(wd, ignore_errors=True)
    print(f"redis-benchmark -n {ns.n} -c 50 -P 16 -t ping_mbulk; medians of {ns.runs} runs\n")
    print("| server | user µs/request | system µs/request | total | ops/s | ops/s ratio |")
    print("|---|---|---|---|---|---|")
    base = median([x[0] for x in got["redis-server AOF everysec"]])
    for name, xs in got.items():
        rps, u, s = (median([x[i] for x in xs]) for i in range(3))
        print(f"| {name} | {u:.2f} | {s:.2f} | {u + s:.2f} | {rps:,.0f} | {rps / base:.2f} |")


if __name__ == "__main__":
    main()
