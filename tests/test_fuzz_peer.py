"""Peer-body fuzzer against a real process (issue 13): pushes, pulls and pub/sub batches
mutated from real ones (ops made by every command family), protobuf fields set to edge
values, random bodies, wrong headers. 0 crashes, 0 state change from a rejected request
(checked after every round in which nothing was accepted), RSS bounded, and the node
still replicates afterwards.

CRDT_FUZZ_PEER_REQUESTS sets the number of requests (default 4000), CRDT_FUZZ_SEED
replays a run.
"""
from __future__ import annotations

import asyncio
import random
import secrets
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from crdtredis.replication.pubsub_link import Msg, encode_batch
from crdtredis.wire import ops_pb2 as pb
from crdtredis.wire.codec import OpEncoder
from tests.support.fuzz import env_int, mutate, rss_bytes, splice
from tests.support.procs import HOST, CrdtRedisProc
from tests.support.sim import Replica
from tests.support.state import dump_client
from tests.test_replication import FAST

REQUESTS = env_int("CRDT_FUZZ_PEER_REQUESTS", 4000)
SEED = env_int("CRDT_FUZZ_SEED", secrets.randbelow(1 << 30))
ROUND = 8
TOKEN = "fuzz-token"
PB = "application/x-protobuf"

COMMANDS = [
    ("SET", "a", "v", "EX", "100"), ("INCRBY", "n", "3"), ("INCRBYFLOAT", "f", "1.5"), ("APPEND", "a", "x"),
    ("RPUSH", "l", "a", "b", "c"), ("LINSERT", "l", "BEFORE", "b", "x"), ("LSET", "l", "0", "q"), ("LPOP", "l"),
    ("LTRIM", "l", "0", "1"), ("SADD", "s", "a", "b"), ("SREM", "s", "a"), ("HSET", "h", "f", "1"),
    ("HINCRBYFLOAT", "h", "f", "0.5"), ("HDEL", "h", "f"), ("ZADD", "z", "1", "a", "2", "b"), ("ZINCRBY", "z", "2", "a"),
    ("ZREM", "z", "b"), ("SETBIT", "b", "9", "1"), ("BITFIELD", "b", "INCRBY", "u4", "0", "3"), ("PFADD", "p", "x"),
    ("PFCOUNT", "p"), ("PFMERGE", "p2", "p"), ("EXPIRE", "s", "50"), ("PERSIST", "s"), ("DEL", "a"),
    ("FUNCTION", "LOAD", "#!lua name=fz\nredis.register_function('f', function() return 1 end)"),
]


def base_batches(cluster_id: str, rnd: random.Random, n: int) -> list[bytes]:
    """Valid pushes: ops that real commands made, each batch from a new replica."""
    out = []
    for i in range(n):
        rep = Replica(f"fz{i}")
        for cmd in rnd.sample(COMMANDS, rnd.randrange(1, 8)):
            rep.run(*cmd)
        b = pb.OpBatch(version=1, sender=rep.node.origin, replica_id=f"fz{i}", cluster_id=cluster_id,
                       status="member")
        enc = OpEncoder()
        parts: list[bytes] = []
        enc.encode_ops(rep.emitted, parts)
        out.append(b.SerializeToString() + b"".join(parts))
    return out


def field_mutation(rnd: random.Random, body: bytes) -> bytes:
    """Parse a valid batch and set one field to an edge value (the body stays protobuf)."""
    b = pb.OpBatch()
    b.ParseFromString(body)
    r = rnd.random()
    ops = list(b.ops)
    if ops and r < 0.6:
        op = rnd.choice(ops)
        which = rnd.randrange(6)
        if which == 0:
            op.seq = rnd.choice([0, 2, 1 << 40, (1 << 64) - 1])
        elif which == 1:
            op.hlc = rnd.choice([0, 1, (1 << 64) - 1, (1 << 63), op.hlc + (1 << 40)])
        elif which == 2:
            op.origin = rnd.choice(["", "x", b.sender, "évil.1", "a" * 300 + ".1"])
        elif which == 3 and op.effects:
            e = rnd.choice(list(op.effects))
            e.code = rnd.choice([0, 4, 99, 127, 128, 130, 200, e.code | 0x80])
        elif which == 4 and op.effects:
            e = rnd.choice(list(op.effects))
            e.db = rnd.choice([15, 16, 1000, (1 << 32) - 1])
        else:
            op.deps[rnd.choice([b.sender, "zz.1", ""])] = rnd.choice([1, 1 << 62, (1 << 64) - 1])
    elif r < 0.8:
        b.replica_id = rnd.choice(["", "me", "x" * 100, b.replica_id + "x"])
    elif r < 0.9:
        b.cluster_id = rnd.choice(["", "other"])
    else:
        b.version = rnd.choice([0, 2, 1 << 31])
    return b.SerializeToString()


def pubsub_body(rnd: random.Random) -> bytes:
    msgs = [Msg(f"s{rnd.randrange(3)}", rnd.randrange(1, 1 << 20), rnd.random() < 0.5, b"ch", b"m" * rnd.randrange(50),
                frozenset({"x"})) for _ in range(rnd.randrange(1, 5))]
    return encode_batch("fz", msgs)


class Gen:
    def __init__(self, rnd: random.Random, pushes: list[bytes], pull: bytes) -> None:
        self.rnd = rnd
        self.pushes = pushes
        self.pull = pull

    def request(self) -> tuple[str, bytes, dict[str, str]]:
        rnd = self.rnd
        headers = {"X-CRDT-Token": TOKEN, "Content-Type": PB}
        route = rnd.choices(["/repl/push", "/repl/pull", "/repl/publish"], [6, 2, 1])[0]
        base = rnd.choice(self.pushes) if route == "/repl/push" else (
            self.pull if route == "/repl/pull" else pubsub_body(rnd))
        r = rnd.random()
        if r < 0.05:
            body = base
        elif r < 0.45:
            body = mutate(rnd, base, rnd.randrange(1, 4))
        elif r < 0.75 and route != "/repl/publish":
            body = field_mutation(rnd, base)
        elif r < 0.85:
            body = splice(rnd, base, rnd.choice(self.pushes))
        else:
            body = bytes(rnd.randrange(256) for _ in range(rnd.randrange(0, 200)))
        h = rnd.random()
        if h < 0.05:
            headers["Content-Type"] = rnd.choice(["text/plain", "application/json", "", PB + "; charset=x"])
        elif h < 0.08:
            headers["X-CRDT-Token"] = rnd.choice(["", "wrong", TOKEN + "x"])
        return route, body, headers


RAW = [
    b"POST /repl/push HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n",
    b"POST /repl/push HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999\r\n\r\n",
    b"POST /repl/push HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 7\r\n\r\nabcdefg",
    b"POST /repl/push HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    b"GET /repl/snapshot HTTP/1.1\r\nX-CRDT-Token: " + TOKEN.encode() + b"\r\nRange: bytes=0-5\r\n\r\n",
    b"POST /repl/pull HTTP/1.0\r\n\r\n",
    b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03",  # a TLS ClientHello on the plain port
    b"GET / HTTP/1.1\r\nHost: " + b"x" * 10000 + b"\r\n\r\n",
    b"POST /repl/push" + b"/x" * 5000 + b" HTTP/1.1\r\n\r\n",
]


def raw_requests(port: int, rnd: random.Random, n: int) -> None:
    for i in range(n):
        data = RAW[i % len(RAW)] if i < len(RAW) else mutate(rnd, rnd.choice(RAW), rnd.randrange(1, 4))
        try:
            with socket.create_connection((HOST, port), timeout=5) as s:
                s.sendall(data)
                s.settimeout(3)
                while s.recv(65536):
                    pass
        except OSError:
            pass


@pytest.fixture
def fuzz_node(tmp_path: Path) -> Iterator[CrdtRedisProc]:
    n = CrdtRedisProc(tmp_path / "pf", "pf", peers=["http://127.0.0.1:1"], settings={
        **FAST, "peer_token": TOKEN, "max_members": 100000, "http_header_timeout": 2,
        "peer_max_body": 1 << 20}).start()
    try:
        n.client().execute_command("CRDT.FORGETPEER", "http://127.0.0.1:1")
        n.wait_synced()
        yield n
    finally:
        n.stop()


def fingerprint(node: CrdtRedisProc) -> Any:
    r = node.client()
    return dump_client(r), r.info("replication").get("crdt_version_vector")


def test_peer_body_fuzzer(fuzz_node: CrdtRedisProc) -> None:
    node = fuzz_node
    rnd = random.Random(SEED)
    cid = str(node.client().info("replication")["crdt_cluster_id"])
    pushes = base_batches(cid, rnd, 40)
    pull = pb.OpBatch(version=1, sender="fzpull.1", replica_id="fzpull", cluster_id=cid,
                      status="member").SerializeToString()
    gen = Gen(rnd, pushes, pull)
    assert node.pid is not None
    node.client().set("seed", "x")
    rss0 = rss_bytes(node.pid)
    statuses: dict[int, int] = {}
    checked_rounds = 0
    t0 = time.monotonic()

    async def run() -> int:
        nonlocal checked_rounds
        sent = 0
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session:
            async def one(route: str, body: bytes, headers: dict[str, str]) -> int:
                try:
                    async with session.post(node.url + route, data=body, headers=headers) as resp:
                        await resp.read()
                        return resp.status
                except aiohttp.ClientError:
                    return -1

            before = await asyncio.to_thread(fingerprint, node)
            while sent < REQUESTS:
                reqs = [gen.request() for _ in range(ROUND)]
                got = await asyncio.gather(*(one(*q) for q in reqs))
                sent += len(reqs)
                for s in got:
                    statuses[s] = statuses.get(s, 0) + 1
                assert node.is_running(), f"seed {SEED}: the server died"
                accepted = any(200 <= s < 300 for (route, _b, _h), s in zip(reqs, got, strict=True)
                               if route == "/repl/push")
                # Every round: the state is compared when nothing was accepted, else re-read.
                if True:
                    after = await asyncio.to_thread(fingerprint, node)
                    if not accepted:
                        checked_rounds += 1
                        assert after == before, (f"seed {SEED}: a round of rejected requests changed the state: "
                                                 f"{[(q[0], s) for q, s in zip(reqs, got, strict=True)]}")
                    before = after
        return sent

    sent = asyncio.run(run())
    raw_requests(node.http_port, rnd, 60)
    secs = time.monotonic() - t0
    print(f"\npeer fuzz seed {SEED}: {sent} requests in {secs:.1f}s, statuses {sorted(statuses.items())}, "
          f"{checked_rounds} all-rejected rounds checked for state changes")
    assert statuses.get(-1, 0) < sent // 100, statuses  # the server answered (nearly) everything
    assert 500 not in statuses, f"seed {SEED}: {statuses}"
    assert checked_rounds > 0
    assert node.is_running() and node.client().ping()
    # It still replicates: a fresh valid batch is taken.
    fresh = base_batches(cid, random.Random(SEED + 1), 1)[0]
    import urllib.request

    req = urllib.request.Request(node.url + "/repl/push", data=fresh, headers={"X-CRDT-Token": TOKEN,
                                                                               "Content-Type": PB})
    with urllib.request.urlopen(req, timeout=10) as resp:
        assert resp.status == 200
    rss1 = rss_bytes(node.pid)
    assert rss1 - rss0 < 150 << 20, f"seed {SEED}: RSS grew from {rss0 >> 20} MiB to {rss1 >> 20} MiB"
    logs = node.logs(5000)
    for bad in ("Traceback", "CRITICAL", "internal error", "BUG"):
        assert bad not in logs, f"seed {SEED}: {bad} in the server log:\n{logs[-5000:]}"

