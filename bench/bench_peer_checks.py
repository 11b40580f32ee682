"""What checking a peer batch costs (issue 13): validation (causal, clock, effect shapes)
next to decoding and applying the same ops, per op, in this process; medians of runs.

    python bench/bench_peer_checks.py [--runs 5] [--ops 20000]

Workloads: SET of a small value (the hot type), one op of each family in turn (lists, sets,
hashes, sorted sets, bits, HLL), and SADD of 20 members per op (a long argument list).
"""
from __future__ import annotations

import argparse
import os
import sys
import time

from common import median

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
from crdtredis.replication.inbox import validate  # noqa: E402
from crdtredis.wire import ops_pb2 as pb  # noqa: E402
from crdtredis.wire.codec import OpDecoder, OpEncoder  # noqa: E402
from tests.support.sim import Replica  # noqa: E402

MIXED = [
    ("SET", "s{i}", "v"), ("INCRBY", "n{i}", "3"), ("RPUSH", "l{m}", "a", "b"), ("LPOP", "l{m}"),
    ("SADD", "S{m}", "a{i}"), ("HSET", "h{m}", "f{i}", "1"), ("ZADD", "z{m}", "{i}", "m{i}"),
    ("SETBIT", "b{m}", "{i}", "1"), ("PFADD", "p{m}", "e{i}"), ("EXPIRE", "s{i}", "100"),
]


def make_ops(kind: str, n: int) -> list:  # type: ignore[type-arg]
    r = Replica("src")
    for i in range(n):
        if kind == "set":
            r.run("SET", f"k{i}", "value")
        elif kind == "sadd20":
            r.run("SADD", f"s{i % 100}", *[f"m{i}-{j}" for j in range(20)])
        else:
            cmd = MIXED[i % len(MIXED)]
            r.run(*(a.format(i=i, m=i % 50) for a in cmd))
    return r.emitted


def decode_time(ops: list) -> float:  # type: ignore[type-arg]
    """Decoding the same ops from their wire form (what a receiver does first)."""
    enc = OpEncoder()
    parts: list[bytes] = []
    enc.encode_ops(ops, parts)
    body = pb.OpBatch(version=1).SerializeToString() + b"".join(parts)
    t0 = time.perf_counter()
    batch = pb.OpBatch()
    batch.ParseFromString(body)
    dec = OpDecoder()
    [dec.from_message(m) for m in batch.ops]
    return time.perf_counter() - t0


def one_run(ops: list) -> tuple[float, float]:  # type: ignore[type-arg]
    dst = Replica("dst")
    t0 = time.perf_counter()
    validate(dst.node, ops)  # nothing applied yet: every op is new, every check runs
    checked = time.perf_counter() - t0
    t0 = time.perf_counter()
    for op in ops:
        dst.node.apply_remote(op)
    return checked, time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--ops", type=int, default=20000)
    ns = ap.parse_args()
    print(f"{'workload':<10} {'decode us/op':>13} {'validate us/op':>15} {'apply us/op':>12} {'validate/apply':>15}")
    for kind in ("set", "mixed", "sadd20"):
        ops = make_ops(kind, ns.ops)
        runs = [one_run(ops) for _ in range(ns.runs)]
        v = median([r[0] for r in runs]) / len(ops) * 1e6
        a = median([r[1] for r in runs]) / len(ops) * 1e6
        d = median([decode_time(ops) for _ in range(ns.runs)]) / len(ops) * 1e6
        print(f"{kind:<10} {d:>13.2f} {v:>15.2f} {a:>12.2f} {v / a:>14.0%}")


if __name__ == "__main__":
    main()
