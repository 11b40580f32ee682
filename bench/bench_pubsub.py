"""Pub/sub numbers (issue 10), medians of runs, crdt-redis against redis-server in the same run.

    python bench/bench_pubsub.py [--runs 3] [--messages 100000] [--rate 10000] [--seconds 10]

1. fan-out at one replica: messages/s from 1 publisher (pipelined PUBLISH, 32-byte payload)
   to 1 and to 10 subscribers, until every subscriber has every message; and the server's
   CPU per published message (the stable figure on a shared machine);
2. cross-replica delivery latency p50/p99: publish at replica A at a steady rate, a
   subscriber at replica B timestamps each message on arrival (one machine, one clock);
3. a subscriber that never reads while 1 GB is published to it: RSS before/peak, the
   disconnection, and PING latency p50/p99 of another client, idle and during the flood.

Subscribers are separate processes that count bytes (frames have a known size), so the
client side costs little and the same for both servers.
"""
from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import threading
import time

import hiredis
from common import Server, free_port, median, start_crdt, start_redis, workdir

PAYLOAD = b"x" * 32
CHANNEL = b"bench"

SUBSCRIBER = r"""
import socket, sys, time
port, total = int(sys.argv[1]), int(sys.argv[2])
s = socket.create_connection(("127.0.0.1", port))
s.sendall(b"*2\r\n$9\r\nSUBSCRIBE\r\n$5\r\nbench\r\n")
confirm = b"*3\r\n$9\r\nsubscribe\r\n$5\r\nbench\r\n:1\r\n"
buf = b""
while len(buf) < len(confirm):
    buf += s.recv(65536)
print("ready", flush=True)
got = len(buf) - len(confirm)
while got < total:
    d = s.recv(1 << 20)
    if not d:
        break
    got += len(d)
print("done", time.perf_counter(), got, flush=True)
"""


def _cmd(*argv: bytes) -> bytes:
    return b"*%d\r\n" % len(argv) + b"".join(b"$%d\r\n%s\r\n" % (len(a), a) for a in argv)


def _frame(payload: bytes) -> bytes:
    return b"*3\r\n$7\r\nmessage\r\n" + b"$%d\r\n%s\r\n" % (len(CHANNEL), CHANNEL) + b"$%d\r\n%s\r\n" % (len(payload), payload)


def fanout(srv: Server, subs: int, messages: int) -> tuple[float, float]:
    """(published messages/s, server CPU µs per published message)."""
    total = len(_frame(PAYLOAD)) * messages
    procs = [subprocess.Popen([sys.executable, "-c", SUBSCRIBER, str(srv.port), str(total)],
                              stdout=subprocess.PIPE, text=True) for _ in range(subs)]
    for p in procs:
        assert p.stdout is not None and p.stdout.readline().strip() == "ready"
    sock = socket.create_connection(("127.0.0.1", srv.port))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    reader = hiredis.Reader()
    batch = _cmd(b"PUBLISH", CHANNEL, PAYLOAD) * 1000
    cpu0 = srv.cpu_seconds()
    t0 = time.perf_counter()
    for _ in range(messages // 1000):
        sock.sendall(batch)
        n = 0
        while n < 1000:
            reader.feed(sock.recv(1 << 16))
            while reader.gets() is not False:
                n += 1
    ends = []
    for p in procs:
        out, _ = p.communicate(timeout=600)
        word, t, got = out.split()
        assert word == "done" and int(got) >= total, out
        ends.append(float(t))
    took = max(ends) - t0
    cpu = srv.cpu_seconds() - cpu0
    sock.close()
    return messages / took, cpu / messages * 1e6


def latency(wd: str, rate: int, seconds: float) -> tuple[float, float, int, int]:
    """(p50 ms, p99 ms, sent, received) from PUBLISH at replica A to a subscriber at B."""
    http = [free_port(), free_port()]
    fast = ("--set", "sync_interval=0.2", "--set", "retry_interval=0.05", "--appendfsync", "no")
    a = start_crdt(wd, *fast, peers=[f"http://127.0.0.1:{http[1]}"], http_port=http[0], replica_id=f"la{time.time_ns()}")
    b = start_crdt(wd, *fast, peers=[f"http://127.0.0.1:{http[0]}"], http_port=http[1], replica_id=f"lb{time.time_ns()}")
    try:
        _wait_up(a.port)
        _wait_up(b.port)
        sub = socket.create_connection(("127.0.0.1", b.port))
        sub.sendall(_cmd(b"SUBSCRIBE", CHANNEL))
        reader = hiredis.Reader()
        lat: list[float] = []
        stop = threading.Event()

        def receive() -> None:
            sub.settimeout(0.5)
            while True:
                try:
                    data = sub.recv(1 << 20)
                except TimeoutError:
                    if stop.is_set():
                        return
                    continue
                now = time.perf_counter_ns()
                reader.feed(data)
                while True:
                    m = reader.gets()
                    if m is False:
                        break
                    if m[0] == b"message":
                        lat.append((now - int(m[2])) / 1e6)

        th = threading.Thread(target=receive)
        th.start()
        pub = socket.create_connection(("127.0.0.1", a.port))
        pub.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        preader = hiredis.Reader()
        per_tick = max(rate // 1000, 1)  # a batch every millisecond
        sent = 0
        t0 = time.perf_counter()
        nxt = t0
        while time.perf_counter() - t0 < seconds:
            pub.sendall(b"".join(_cmd(b"PUBLISH", CHANNEL, b"%d" % time.perf_counter_ns()) for _ in range(per_tick)))
            n = 0
            while n < per_tick:
                preader.feed(pub.recv(1 << 16))
                while preader.gets() is not False:
                    n += 1
            sent += per_tick
            nxt += per_tick / rate
            time.sleep(max(0.0, nxt - time.perf_counter()))
        time.sleep(1.0)
        stop.set()
        th.join()
        pub.close()
        sub.close()
        lat.sort()
        return (statistics.median(lat) if lat else float("nan"),
                lat[int(len(lat) * 0.99)] if lat else float("nan"), sent, len(lat))
    finally:
        a.stop()
        b.stop()


def _wait_up(port: int) -> None:
    import redis

    r = redis.Redis(port=port)
    deadline = time.time() + 30
    while time.time() < deadline:
        info = r.info("replication")
        if any(isinstance(v, dict) and v.get("state") == "up" for v in info.values()):
            return
        time.sleep(0.05)
    raise RuntimeError("peer link never came up")


def slow_reader(srv: Server, total: int = 1 << 30) -> dict[str, float]:
    """RSS and another client's PING latency while `total` bytes go to a non-reader."""
    sub = socket.socket()
    sub.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sub.connect(("127.0.0.1", srv.port))
    sub.sendall(_cmd(b"SUBSCRIBE", b"flood"))
    time.sleep(0.2)
    other = socket.create_connection(("127.0.0.1", srv.port))
    other.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def ping() -> float:
        t = time.perf_counter()
        other.sendall(b"*1\r\n$4\r\nPING\r\n")
        buf = b""
        while not buf.endswith(b"\r\n"):
            buf += other.recv(64)
        return (time.perf_counter() - t) * 1e3

    idle = sorted(ping() for _ in range(2000))
    base = srv.rss()
    peak = base
    busy: list[float] = []
    stop = threading.Event()

    def pinger() -> None:
        nonlocal peak
        while not stop.is_set():
            busy.append(ping())
            peak = max(peak, srv.rss())
            time.sleep(0.001)

    th = threading.Thread(target=pinger)
    th.start()
    pub = socket.create_connection(("127.0.0.1", srv.port))
    msg = 64 * 1024
    chunk = _cmd(b"PUBLISH", b"flood", b"y" * msg) * 64
    reader = hiredis.Reader()
    for _ in range(total // (msg * 64)):
        pub.sendall(chunk)
        n = 0
        while n < 64:
            reader.feed(pub.recv(1 << 16))
            while reader.gets() is not False:
                n += 1
    stop.set()
    th.join()
    busy.sort()
    for s in (sub, other, pub):
        s.close()
    return {"rss_base_mb": base / 2**20, "rss_peak_mb": peak / 2**20,
            "idle_p50": idle[len(idle) // 2], "idle_p99": idle[int(len(idle) * 0.99)],
            "busy_p50": busy[len(busy) // 2], "busy_p99": busy[int(len(busy) * 0.99)]}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--messages", type=int, default=100_000)
    ap.add_argument("--rate", type=int, default=10_000)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--skip-slow-reader", action="store_true")
    args = ap.parse_args()
    wd = workdir()
    print(f"# pub/sub, medians of {args.runs} runs; {args.messages} messages of {len(PAYLOAD)} bytes")
    for subs in (1, 10):
        rate: dict[str, list[float]] = {"redis": [], "crdt": []}
        cpu: dict[str, list[float]] = {"redis": [], "crdt": []}
        for _ in range(args.runs):
            for name in ("redis", "crdt"):
                srv = start_redis(wd) if name == "redis" else start_crdt(wd, "--appendfsync", "no",
                                                                        replica_id=f"f{time.time_ns()}")
                try:
                    r, c = fanout(srv, subs, args.messages)
                finally:
                    srv.stop()
                rate[name].append(r)
                cpu[name].append(c)
        rr, rc = median(rate["redis"]), median(rate["crdt"])
        cr, cc = median(cpu["redis"]), median(cpu["crdt"])
        print(f"1 publisher -> {subs:2d} subscriber(s): redis {rr:9.0f} msg/s ({cr:.2f} µs CPU/msg), "
              f"crdt {rc:9.0f} msg/s ({cc:.2f} µs CPU/msg); crdt/redis {rc / rr:.2f} msg/s, "
              f"{cc / cr:.1f}x CPU per message")
    p50s, p99s, loss = [], [], []
    for _ in range(args.runs):
        p50, p99, sent, got = latency(wd, args.rate, args.seconds)
        p50s.append(p50)
        p99s.append(p99)
        loss.append(sent - got)
    print(f"cross-replica delivery at {args.rate} msg/s for {args.seconds:.0f} s: p50 {median(p50s):.2f} ms, "
          f"p99 {median(p99s):.2f} ms (runs: p50 {[round(x, 2) for x in p50s]}, p99 {[round(x, 2) for x in p99s]}; "
          f"messages lost per run {loss})")
    if not args.skip_slow_reader:
        for name in ("redis", "crdt"):
            srv = start_redis(wd) if name == "redis" else start_crdt(wd, "--appendfsync", "no",
                                                                    replica_id=f"s{time.time_ns()}")
            try:
                d = slow_reader(srv)
            finally:
                srv.stop()
            print(f"slow reader, 1 GB published ({name}): RSS {d['rss_base_mb']:.0f} -> peak {d['rss_peak_mb']:.0f} MB; "
                  f"other client's PING p50/p99 idle {d['idle_p50']:.3f}/{d['idle_p99']:.3f} ms, "
                  f"during the flood {d['busy_p50']:.3f}/{d['busy_p99']:.3f} ms")
    os.system(f"rm -rf {wd}")


if __name__ == "__main__":
    main()
