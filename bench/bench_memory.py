"""Memory per element at 1,000,000 elements, crdt-redis against redis-server (issue 12).

    python bench/bench_memory.py [--elements 1000000] [--types strings,lists,sets,hashes,zsets]

For each type the same commands fill the same data on every target:

* strings: N keys `SET s:<i> v<i>`;
* lists: one key, `RPUSH big v<i> ...` (1000 elements per command);
* sets: one key, `SADD big m<i> ...`; hashes: one key, `HSET big f<i> <i> ...`;
* sorted sets: one key, `ZADD big <i> m<i> ...`.

Targets, per type:

* redis-server (no persistence): growth of INFO used_memory;
* crdt-redis as a server without peers (solo: stable at once): growth of its RSS;
* crdt-redis with peers after GC: a Node whose keyspace is not solo (Keyspace.solo False, as
  on a replica with peers), filled through Node.execute in a child process, with a
  `Keyspace.gc_chunks` pass (every stamp stable: peers that acked everything) after every
  100,000 elements and at the end, as the replication's periodic pass (gc_interval, 10 s)
  runs while a replica takes writes; growth of the child's RSS. (One pass only at the end
  shows the peak instead: the per-element stamps dropped then stay in the allocator's
  pools, reused by later allocations but still counted in RSS.)

Each figure is printed beside redis-server's with the ratio (issue 12 target: <= 2.5x).
"""
from __future__ import annotations

import argparse
import gc
import json
import os
import subprocess
import sys
from collections.abc import Iterator

from common import REPO_ROOT, Conn, parse_used_memory, rss_bytes, start_crdt, start_redis, workdir

TYPES = ["strings", "lists", "sets", "hashes", "zsets"]
PER_CMD = 1000


def commands(kind: str, n: int) -> Iterator[list[bytes]]:
    if kind == "strings":
        for i in range(n):
            yield [b"SET", b"s:%d" % i, b"v%d" % i]
        return
    verb = {"lists": b"RPUSH", "sets": b"SADD", "hashes": b"HSET", "zsets": b"ZADD"}[kind]
    for start in range(0, n, PER_CMD):
        argv = [verb, b"big"]
        for i in range(start, min(n, start + PER_CMD)):
            if kind == "lists":
                argv.append(b"v%d" % i)
            elif kind == "sets":
                argv.append(b"m%d" % i)
            elif kind == "hashes":
                argv += [b"f%d" % i, b"%d" % i]
            else:
                argv += [b"%d" % i, b"m%d" % i]
        yield argv


def fill_remote(port: int, kind: str, n: int) -> None:
    c = Conn(port)
    batch: list[list[bytes]] = []
    size = 1000 if kind == "strings" else 10
    for argv in commands(kind, n):
        batch.append(argv)
        if len(batch) == size:
            c.batch(batch)
            batch = []
    if batch:
        c.batch(batch)
    c.close()


def used_memory(port: int) -> int:
    c = Conn(port)
    try:
        return parse_used_memory(c.batch([[b"INFO", b"memory"]])[0])
    finally:
        c.close()


def peers_child(kind: str, n: int) -> None:
    """Run in a child process: fill a non-solo node, gc with everything stable, print the
    RSS growth per element."""
    sys.path.insert(0, REPO_ROOT)
    from tests.support.sim import Replica

    rep = Replica("bench")
    rep.node.set_solo(False)
    rep.node.op_listeners.clear()  # ops are not kept (the op log would hold them on disk)
    ex, client = rep.node.execute, rep.client
    gc.collect()
    m0 = rss_bytes()
    ks = rep.node.keyspace
    every = 100_000 if kind == "strings" else 100_000 // PER_CMD
    for i, argv in enumerate(commands(kind, n), 1):
        ex(client, argv)
        if i % every == 0:
            for _ in ks.gc_chunks(lambda h, o: True):
                pass
    for _ in ks.gc_chunks(lambda h, o: True):
        pass
    gc.collect()
    m1 = rss_bytes()
    print(json.dumps({"bytes": (m1 - m0) / n}))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--elements", type=int, default=1_000_000)
    ap.add_argument("--types", default=",".join(TYPES))
    ap.add_argument("--peers-child", default="", help=argparse.SUPPRESS)
    ns = ap.parse_args()
    if ns.peers_child:
        peers_child(ns.peers_child, ns.elements)
        return
    kinds = ns.types.split(",")
    wd = workdir()
    rows = []
    for kind in kinds:
        red = start_redis(wd)
        crdt = start_crdt(wd, "--appendfsync", "no", replica_id=f"mem{kind}")
        try:
            r0 = used_memory(red.port)
            fill_remote(red.port, kind, ns.elements)
            rb = (used_memory(red.port) - r0) / ns.elements
            c0 = crdt.rss()
            fill_remote(crdt.port, kind, ns.elements)
            cb = (crdt.rss() - c0) / ns.elements
        finally:
            red.stop()
            crdt.stop()
        out = subprocess.run([sys.executable, os.path.abspath(__file__), "--peers-child", kind,
                              "--elements", str(ns.elements)], capture_output=True, text=True, check=True)
        pb = json.loads(out.stdout.strip().splitlines()[-1])["bytes"]
        rows.append((kind, rb, cb, pb))
        print(f"{kind}: redis {rb:.1f} B, crdt solo {cb:.1f} B, crdt with peers after gc {pb:.1f} B",
              file=sys.stderr)
    print(f"Memory per element at {ns.elements:,} elements (redis-server: INFO used_memory growth; "
          "crdt-redis: RSS growth)\n")
    print("| type | redis-server B | crdt-redis alone B | ratio | crdt-redis with peers, after GC B | ratio |")
    print("|---|---|---|---|---|---|")
    for kind, rb, cb, pb in rows:
        print(f"| {kind} | {rb:.1f} | {cb:.1f} | {cb / rb:.2f}x | {pb:.1f} | {pb / rb:.2f}x |")


if __name__ == "__main__":
    main()
