"""A subscriber that never reads while a publisher pushes 1 GB through its channel: the
server disconnects it at the pubsub class's hard limit (32mb by default), counts it in
INFO stats, keeps serving everyone else, and its memory stays bounded (RSS sampled from
/proc throughout). The latency other clients see during the flood is measured by
bench/bench_pubsub.py, not asserted here."""
from __future__ import annotations

import socket
import threading
import time
from pathlib import Path

import pytest

from tests.support.procs import CrdtRedisProc, wait_until
from tests.support.resp_client import RespConnection, encode_command

pytestmark = pytest.mark.slow

TOTAL = 1 << 30  # bytes published
MSG = 64 * 1024
BATCH = 64  # PUBLISH commands per write


def rss(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS")


def test_slow_subscriber_is_disconnected_and_memory_stays_bounded(tmp_path: Path) -> None:
    node = CrdtRedisProc(tmp_path / "n", "slow", settings={"appendfsync": "no"}).start()
    try:
        pid = node.pid
        assert pid is not None
        # The subscriber: a tiny receive buffer, and it never reads after SUBSCRIBE.
        sub = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sub.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sub.connect(("127.0.0.1", node.port))
        sub.sendall(encode_command(["SUBSCRIBE", "flood"]))
        time.sleep(0.2)
        sub.recv(4096)
        r = node.client()
        wait_until(lambda: r.pubsub_numsub("flood")[0][1] == 1, timeout=10)
        base = rss(pid)
        peak = base
        stop = threading.Event()

        def sample() -> None:
            nonlocal peak
            while not stop.is_set():
                peak = max(peak, rss(pid))
                time.sleep(0.02)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        other = RespConnection(port=node.port, timeout=60)
        pongs = 0
        payload = b"x" * MSG
        chunk = encode_command([b"PUBLISH", b"flood", payload]) * BATCH
        with RespConnection(port=node.port, timeout=120) as pub:
            sent = 0
            receivers = 0
            while sent < TOTAL:
                pub.send_raw(chunk)
                for _ in range(BATCH):
                    receivers += int(pub.read_reply()[1:-2])
                sent += MSG * BATCH
                # Another client is served all along.
                assert other.call("PING") == b"+PONG\r\n"
                pongs += 1
        stop.set()
        sampler.join()
        other.close()
        info = r.info("stats")
        assert info["client_output_buffer_limit_disconnections"] == 1
        assert r.pubsub_numsub("flood")[0][1] == 0
        # Only the messages up to the limit reached it: at most ~32 MB worth (+ one batch).
        assert receivers * MSG <= (32 << 20) + 2 * BATCH * MSG
        # Bounded: the hard limit plus the server's own buffers, far below the 1 GB sent.
        grown = peak - base
        print(f"RSS before {base >> 20} MB, peak {peak >> 20} MB (+{grown >> 20} MB) for {TOTAL >> 20} MB published")
        assert grown < 160 << 20, f"RSS grew by {grown >> 20} MB"
        assert pongs == TOTAL // (MSG * BATCH)
        sub.close()
    finally:
        node.stop()
