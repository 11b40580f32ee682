"""Server CPU per call of a one-call script vs the plain commands (issue 9).

    python bench/bench_scripting.py [--runs 5] [-n 100000]

redis-benchmark (-c 50 -P 16) runs, against crdt-redis and redis-server in the same run:
    EVALSHA of `local v = redis.call('GET', KEYS[1]) return redis.call('INCR', KEYS[2])`
    GET and INCR as plain commands
and reports server CPU µs per request (median of runs), so that the script's cost reads
against the two commands it runs and against one plain command. The goal on crdt-redis:
a one-call script costs at most 3x the plain command.
"""
from __future__ import annotations

import argparse
import shutil
import subprocess

from common import median, start_crdt, start_redis, workdir

SCRIPT = "local v = redis.call('GET', KEYS[1]) return redis.call('INCR', KEYS[2])"


def bench(port: int, n: int, argv: list[str]) -> None:
    subprocess.run(["redis-benchmark", "-p", str(port), "-q", "-n", str(n), "-c", "50", "-P", "16", *argv],
                   capture_output=True, text=True, check=True, timeout=600)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("-n", type=int, default=100000)
    ns = ap.parse_args()
    wd = workdir()
    servers = {"redis": start_redis(wd), "crdt": start_crdt(wd)}
    cases = {
        "EVALSHA (GET + INCR)": lambda sha: ["EVALSHA", sha, "2", "bench:v", "bench:n"],
        "GET": lambda sha: ["GET", "bench:v"],
        "INCR": lambda sha: ["INCR", "bench:n"],
    }
    cpu: dict[str, dict[str, list[float]]] = {s: {c: [] for c in cases} for s in servers}
    try:
        shas = {}
        for name, srv in servers.items():
            out = subprocess.run(["redis-cli", "-p", str(srv.port), "SCRIPT", "LOAD", SCRIPT],
                                 capture_output=True, text=True, check=True).stdout.strip()
            shas[name] = out
            subprocess.run(["redis-cli", "-p", str(srv.port), "SET", "bench:v", "x" * 16], check=True,
                           capture_output=True)
        for _ in range(ns.runs):
            for name, srv in servers.items():
                for case, argv in cases.items():
                    c0 = srv.cpu_seconds()
                    bench(srv.port, ns.n, argv(shas[name]))
                    cpu[name][case].append((srv.cpu_seconds() - c0) / ns.n * 1e6)
    finally:
        for s in servers.values():
            s.stop()
        shutil.rmtree(wd, ignore_errors=True)
    print(f"redis-benchmark -q -n {ns.n} -c 50 -P 16; server CPU µs/request, median of {ns.runs} runs\n")
    print("| request | redis-server | crdt-redis | crdt / redis |")
    print("|---|---|---|---|")
    med = {s: {c: median(v) for c, v in d.items()} for s, d in cpu.items()}
    for case in cases:
        a, b = med["redis"][case], med["crdt"][case]
        print(f"| {case} | {a:.2f} | {b:.2f} | {b / a:.2f}x |")
    print("\n| script cost relative to | redis-server | crdt-redis |")
    print("|---|---|---|")
    for label, base in (("GET + INCR (the commands it runs)", ("GET", "INCR")), ("one plain INCR", ("INCR",))):
        row = []
        for s in ("redis", "crdt"):
            row.append(med[s]["EVALSHA (GET + INCR)"] / sum(med[s][c] for c in base))
        print(f"| {label} | {row[0]:.2f}x | {row[1]:.2f}x |")


if __name__ == "__main__":
    main()
