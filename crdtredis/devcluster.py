"""`crdt-redis devcluster -n 3`: a local N-node cluster wired as peers, for development.

Ports in a row (RESP base-port+i, HTTP http-base+i), data under one folder, each node a
child process; Ctrl-C (or SIGTERM) stops them all.
"""
from __future__ import annotations

import argparse
import json
import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="crdt-redis devcluster", description=__doc__.splitlines()[0])
    p.add_argument("-n", "--nodes", type=int, default=3, help="number of nodes (1-16)")
    p.add_argument("--port", type=int, default=7001, help="RESP port of the first node")
    p.add_argument("--http-port", type=int, default=8001, help="HTTP port of the first node")
    p.add_argument("--dir", default="./devcluster", help="folder holding every node's data dir")
    p.add_argument("--appendfsync", default="everysec", choices=["always", "everysec", "no"])
    ns = p.parse_args(argv)
    if not 1 <= ns.nodes <= 16:
        print("devcluster: -n must be between 1 and 16", file=sys.stderr)
        return 2
    n = ns.nodes
    http = [ns.http_port + i for i in range(n)]
    procs: list[subprocess.Popen[bytes]] = []
    os.makedirs(ns.dir, exist_ok=True)
    # One peer token for the cluster, through the environment (not visible in `ps`): the
    # nodes replicate only among themselves, even on a shared machine.
    env = dict(os.environ, CRDT_REDIS_PEER_TOKEN=os.environ.get("CRDT_REDIS_PEER_TOKEN") or secrets.token_hex(16))
    for i in range(n):
        cmd = [
            sys.executable, "-m", "crdtredis",
            "--port", str(ns.port + i), "--http-port", str(http[i]),
            "--replica-id", f"node{i + 1}", "--data-dir", os.path.join(ns.dir, f"node{i + 1}"),
            "--appendfsync", ns.appendfsync,
        ]
        for j in range(n):
            if j != i:
                cmd += ["--peer", f"http://127.0.0.1:{http[j]}"]
        procs.append(subprocess.Popen(cmd, env=env))
        print(f"node{i + 1}: redis-cli -p {ns.port + i}   http://127.0.0.1:{http[i]}/stats   "
              f"data {os.path.join(ns.dir, f'node{i + 1}')}", flush=True)
    print("Ctrl-C stops all nodes", flush=True)
    founded = False

    stopping = False

    def stop(_sig: int = 0, _frm: object = None) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    status = 0
    try:
        while not stopping:
            for i, pr in enumerate(procs):
                if pr.poll() is not None:
                    print(f"node{i + 1} exited with status {pr.returncode}; stopping the cluster",
                          file=sys.stderr, flush=True)
                    status = 1
                    stopping = True
            if not founded and not stopping and all(_writable(h) for h in http):
                # New nodes found the cluster once all have answered each other.
                founded = True
                print(f"cluster founded: all {n} nodes take writes", flush=True)
            time.sleep(0.2)
    finally:
        for pr in procs:
            if pr.poll() is None:
                pr.send_signal(signal.SIGTERM)
        deadline = time.time() + 10
        for pr in procs:
            try:
                pr.wait(timeout=max(0.1, deadline - time.time()))
            except subprocess.TimeoutExpired:
                pr.kill()
    return status


def _writable(http_port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{http_port}/health", timeout=1) as r:
            return bool(json.loads(r.read()).get("writable"))
    except (OSError, ValueError, urllib.error.URLError):
        return False
