"""maxmemory under a write flood: RSS against the limit, for redis-server and crdt-redis
(one node, and a cluster of replicas written at every replica), and whether the replicas
agree on the keys that remain.

    python3 bench/bench_maxmemory.py                         # 100mb, 1 GB of 1 KB values
    python3 bench/bench_maxmemory.py --maxmemory-mb 20 --total-mb 200 --replicas 3

Per target: peak RSS (sampled after every pipeline of 1000 SETs) over maxmemory, the final
used_memory and RSS, evicted_keys, keys left, and the wall time of the flood.
"""
from __future__ import annotations

import argparse
import os
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import redis  # noqa: E402

from bench.common import Server, free_port, start_crdt, start_redis, workdir  # noqa: E402

BATCH = 1000


def _cmd(*args: bytes) -> bytes:
    return b"*%d\r\n" % len(args) + b"".join(b"$%d\r\n%s\r\n" % (len(a), a) for a in args)


def flood(servers: list[Server], total: int, size: int, prefix: bytes) -> tuple[int, float, int]:
    """SETs of `size`-byte values, `total` bytes in all, pipelines of BATCH sent to the
    servers in turn; returns (peak RSS of any server, seconds, OOM errors)."""
    value = b"x" * size
    socks = [socket.create_connection(("127.0.0.1", s.port)) for s in servers]
    peak = 0
    oom = 0
    t0 = time.perf_counter()
    n = total // size
    try:
        for b in range(n // BATCH):
            i = b % len(servers)
            s = socks[i]
            s.sendall(b"".join(_cmd(b"SET", b"%s:%d:%d" % (prefix, b, j), value) for j in range(BATCH)))
            got = b""
            while got.count(b"\r\n") < BATCH:
                got += s.recv(1 << 20)
            oom += got.count(b"-OOM")
            peak = max(peak, max(srv.rss() for srv in servers))
    finally:
        for s in socks:
            s.close()
    return peak, time.perf_counter() - t0, oom


def run(name: str, servers: list[Server], args: argparse.Namespace) -> None:
    limit = args.maxmemory_mb << 20
    clients = [redis.Redis(port=s.port) for s in servers]
    for c in clients:
        c.config_set("maxmemory", limit)
        c.config_set("maxmemory-policy", args.policy)
    peak, secs, oom = flood(servers, args.total_mb << 20, args.value_size, name.encode())
    if len(servers) > 1:
        deadline = time.time() + 300
        while time.time() < deadline:
            sets = [set(c.scan_iter(count=5000)) for c in clients]
            if all(s == sets[0] for s in sets):
                break
            time.sleep(1)
        agree = all(s == sets[0] for s in sets)
    else:
        agree = True
    for i, c in enumerate(clients):
        info = c.info()
        print(f"{name}[{i}]: peak_rss={peak / limit:.2f}x maxmemory ({peak >> 20} MB) "
              f"final used_memory={int(info['used_memory']) >> 20} MB rss={servers[i].rss() >> 20} MB "
              f"evicted_keys={info['evicted_keys']} keys={c.dbsize()} oom={oom} "
              f"flood={secs:.1f}s ({(args.total_mb / secs):.0f} MB/s)" + ("" if agree else " REPLICAS DISAGREE"))
    if len(servers) > 1:
        print(f"{name}: replicas agree on the keys that remain: {agree}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--maxmemory-mb", type=int, default=100)
    ap.add_argument("--total-mb", type=int, default=1024)
    ap.add_argument("--value-size", type=int, default=1024)
    ap.add_argument("--policy", default="allkeys-lru")
    ap.add_argument("--replicas", type=int, default=3)
    ap.add_argument("--skip-redis", action="store_true")
    ap.add_argument("--skip-solo", action="store_true")
    ap.add_argument("--set", dest="sets", action="append", default=[], help="crdt-redis config field=value")
    args = ap.parse_args()
    wd = workdir()
    if not args.skip_redis:
        r = start_redis(wd)
        try:
            run("redis-server", [r], args)
        finally:
            r.stop()
    extra = ["--appendfsync", "no", *(a for kv in args.sets for a in ("--set", kv))]
    if not args.skip_solo:
        c = start_crdt(wd, *extra, replica_id="solo")
        try:
            run("crdt-redis", [c], args)
        finally:
            c.stop()
    if args.replicas > 1:
        http = [free_port() for _ in range(args.replicas)]
        nodes: list[Server] = []
        try:
            for i in range(args.replicas):
                peers = [f"http://127.0.0.1:{h}" for j, h in enumerate(http) if j != i]
                nodes.append(start_crdt(wd, *extra, peers=peers, http_port=http[i],
                                        replica_id=f"r{i}"))
            time.sleep(2)  # let the cluster form (the first pulls)
            run(f"crdt-redis x{args.replicas}", nodes, args)
        finally:
            for n in nodes:
                n.stop()


if __name__ == "__main__":
    main()
