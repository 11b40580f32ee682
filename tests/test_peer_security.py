"""The peer endpoints under abuse (issue 13), with real processes: what a caller without
the token, a web page, a peer with a wrong clock, a flood of fake replicas, a huge or
half-sent request, and concurrent snapshot requests can do to a node, and what they no
longer can. docs/security.md has the rules."""
from __future__ import annotations

import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from crdtredis.op import Op
from crdtredis.wire import ops_pb2 as pb
from crdtredis.wire.codec import encode_op
from tests.support.procs import HOST, CrdtRedisProc, wait_until
from tests.support.state import dump_client
from tests.test_replication import FAST

PB = "application/x-protobuf"
TOKEN = "s3cret-peer-token"


def http(url: str, body: bytes | None = None, headers: dict[str, str] | None = None,
         method: str | None = None) -> tuple[int, bytes, dict[str, str]]:
    req = urllib.request.Request(url, data=body, method=method or ("POST" if body is not None else "GET"),
                                 headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return int(resp.status), resp.read(), dict(resp.headers)
    except urllib.error.HTTPError as e:
        return int(e.code), e.read(), dict(e.headers)


def member(tmp: Path, name: str = "a", **settings: Any) -> CrdtRedisProc:
    """A node that is a member of a cluster of its own (its only peer was forgotten)."""
    node = CrdtRedisProc(tmp / name, name, peers=["http://127.0.0.1:1"],
                         settings={**FAST, "peer_token": TOKEN, **settings}).start()
    node.client().execute_command("CRDT.FORGETPEER", "http://127.0.0.1:1")
    node.wait_synced()
    return node


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CrdtRedisProc]:
    n = member(tmp_path_factory.mktemp("peersec"), http_header_timeout="1", peer_max_body=str(1 << 20),
               max_clock_skew_ms="60000")
    try:
        yield n
    finally:
        n.stop()


def cluster_id(n: CrdtRedisProc) -> str:
    return str(n.client().info("replication")["crdt_cluster_id"])


def members(n: CrdtRedisProc) -> list[str]:
    v = n.client().info("replication").get("crdt_members", "")
    items = v if isinstance(v, list) else str(v or "").split(",")  # redis-py splits "a,b"
    return sorted(str(x) for x in items if x)


def batch(n: CrdtRedisProc, ops: list[Op], rid: str = "x", sender: str = "x.1", **fields: Any) -> bytes:
    b = pb.OpBatch(version=1, sender=sender, replica_id=rid, cluster_id=cluster_id(n), status="member")
    for k, v in fields.items():
        setattr(b, k, v)
    for op in ops:
        b.ops.add().ParseFromString(encode_op(op))
    return b.SerializeToString()


def peer_headers(**extra: str) -> dict[str, str]:
    return {"X-CRDT-Token": TOKEN, "Content-Type": PB, **extra}


def now_hlc(ahead_ms: int = 0) -> int:
    return (time.time_ns() // 1_000_000 + ahead_ms) << 16


def set_op(origin: str, seq: int, hlc: int, key: bytes, value: Any) -> Op:
    return Op(origin, seq, hlc, {}, [(10, 0, key, value, 0, None)])


# ---- the clock ---------------------------------------------------------------------------------
def test_push_stamped_far_in_the_future_is_refused_and_later_writes_are_logged(tmp_path: Path) -> None:
    # Before: an op at 2^64-1 was applied; every later local op got a stamp past 64 bits, so
    # it was acknowledged but never logged nor replicated, also after a restart.
    n = member(tmp_path)
    try:
        r = n.client()
        status, _, hdrs = http(n.url + "/repl/push", batch(n, [set_op("x.1", 1, (1 << 64) - 1, b"evil", b"v")]),
                               peer_headers())
        assert status == 422
        assert "ahead of this node's clock" in hdrs["X-CRDT-Reason"]
        # Within the allowed skew (default 5 minutes) a fast clock is fine.
        ok = batch(n, [set_op("x.1", 1, now_hlc(60_000), b"soon", b"v")])
        assert http(n.url + "/repl/push", ok, peer_headers())[0] == 200
        assert r.set("after", "1")
        n.restart()
        r = n.client()
        assert r.get("after") == b"1" and r.get("soon") == b"v" and r.get("evil") is None
    finally:
        n.stop()


def test_wrongly_typed_pushed_values_are_refused_whole(node: CrdtRedisProc) -> None:
    # Before: a SET whose value was an int or a list was stored, and GET returned it as such;
    # and the valid ops before a malformed one in the same batch were applied (answer 500).
    r = node.client()
    before = dump_client(r)
    o = "w.1"
    ops = [set_op(o, 1, now_hlc(), b"fine", b"v"), set_op(o, 2, now_hlc() + 1, b"typed", 12345)]
    status, _, hdrs = http(node.url + "/repl/push", batch(node, ops, "w", o), peer_headers())
    assert status == 422 and "argument 0 must be bytes" in hdrs["X-CRDT-Reason"]
    ops[1] = set_op(o, 2, now_hlc() + 1, b"typed", [b"a", b"b"])
    assert http(node.url + "/repl/push", batch(node, ops, "w", o), peer_headers())[0] == 422
    bad_rpush = Op(o, 2, now_hlc() + 1, {}, [(20, 0, b"l", 0, "", 0, -1, b"a", 7)])
    assert http(node.url + "/repl/push", batch(node, [ops[0], bad_rpush], "w", o), peer_headers())[0] == 422
    assert dump_client(r) == before
    assert r.get("fine") is None


# ---- who may call ------------------------------------------------------------------------------
def test_pages_cannot_post_to_peer_routes(node: CrdtRedisProc) -> None:
    body = batch(node, [set_op("p.1", 1, now_hlc(), b"page", b"v")], "p", "p.1")
    for ctype in ("text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", ""):
        for route in ("/repl/push", "/repl/pull", "/repl/publish"):
            status, _, _ = http(node.url + route, body, {"X-CRDT-Token": TOKEN, "Content-Type": ctype})
            assert status == 415, (route, ctype)
    assert node.client().get("page") is None


def test_snapshot_needs_the_token(node: CrdtRedisProc) -> None:
    assert http(node.url + "/repl/snapshot")[0] == 401
    assert http(node.url + "/repl/snapshot", headers={"X-CRDT-Token": "nope"})[0] == 403
    status, body, _ = http(node.url + "/repl/snapshot", headers={"X-CRDT-Token": TOKEN})
    assert status == 200 and body


def test_callers_must_be_replicas_of_this_cluster(node: CrdtRedisProc) -> None:
    before = members(node)
    pull = node.url + "/repl/pull"

    def state(**fields: Any) -> bytes:
        b = pb.OpBatch(version=1, **fields)
        return b.SerializeToString()

    # A pull that names no cluster (it is not joining): before, it became a permanent member.
    assert http(pull, state(sender="junk.1", replica_id="junk", status="member"), peer_headers())[0] == 409
    assert http(pull, state(sender="junk.1", replica_id="junk", status="member", cluster_id="other"),
                peer_headers())[0] == 409
    # Names a replica could not have.
    for rid, sender in (("a b", "a b.1"), ("x" * 65, "x" * 65 + ".1"), ("ok", "other.1"), ("ok", "ok")):
        assert http(pull, state(sender=sender, replica_id=rid, status="joining"), peer_headers())[0] == 409
    assert members(node) == before


def test_cluster_size_is_bounded_by_max_members(tmp_path: Path) -> None:
    # Before: every pull with a new replica id added a permanent member (20,000 of them made
    # WAIT 3 return 3 and cut SET from 36k to 833 requests/s).
    n = member(tmp_path, max_members="3")
    try:
        pull = n.url + "/repl/pull"

        def joiner(i: int) -> bytes:
            return pb.OpBatch(version=1, sender=f"j{i}.1", replica_id=f"j{i}", status="joining",
                              proposal=f"p{i}").SerializeToString()

        assert http(pull, joiner(1), peer_headers())[0] == 200
        assert http(pull, joiner(2), peer_headers())[0] == 200
        status, _, hdrs = http(pull, joiner(3), peer_headers())
        assert status == 409 and "max_members=3" in hdrs["X-CRDT-Reason"]
        assert members(n) == ["j1", "j2"]
        # Gossip cannot add more either.
        b = pb.OpBatch(version=1, sender="j1.1", replica_id="j1", status="joining", proposal="p1")
        b.members.add(replica_id="j9", origin="j9.1")
        assert http(pull, b.SerializeToString(), peer_headers())[0] == 409
        assert members(n) == ["j1", "j2"]
        # Members already known keep working.
        assert http(pull, joiner(2), peer_headers())[0] == 200
    finally:
        n.stop()


def test_peers_without_a_token_warn_at_start(tmp_path: Path) -> None:
    n = CrdtRedisProc(tmp_path / "w", "w", peers=["http://127.0.0.1:1"], settings=FAST).start()
    try:
        wait_until(lambda: "no peer_token" in n.logs(200), timeout=10)
    finally:
        n.stop()


def test_admin_endpoints_need_requirepass_or_admin_token(tmp_path: Path) -> None:
    n = CrdtRedisProc(tmp_path / "adm", "adm", requirepass="pw").start()
    try:
        for path in ("/stats", "/config", "/metrics"):
            status, _, hdrs = http(n.url + path)
            assert status == 401 and hdrs["WWW-Authenticate"].startswith("Bearer")
            assert http(n.url + path, headers={"Authorization": "Bearer nope"})[0] == 403
            assert http(n.url + path, headers={"Authorization": "Bearer pw"})[0] == 200
        assert http(n.url + "/health")[0] == 200
        # CONFIG SET requirepass moves the token with it.
        n.client(password="pw").config_set("requirepass", "pw2")
        assert http(n.url + "/stats", headers={"Authorization": "Bearer pw"})[0] == 403
        assert http(n.url + "/stats", headers={"Authorization": "Bearer pw2"})[0] == 200
    finally:
        n.stop()


# ---- sizes and slow senders -----------------------------------------------------------------------
def _raw(port: int, data: bytes, timeout: float = 15.0) -> bytes:
    """Send `data`, then read until the server closes (or answers and keeps waiting)."""
    with socket.create_connection((HOST, port), timeout=timeout) as s:
        s.sendall(data)
        out = b""
        try:
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    return out + b"<closed>"
                out += chunk
        except TimeoutError:
            return out + b"<open>"


def test_oversized_body_is_refused_before_it_is_sent(node: CrdtRedisProc) -> None:
    # Before: bodies up to ~528 MB were read before any check. Now the headers decide: the
    # answer comes while the body is still unsent, and the connection closes.
    head = (f"POST /repl/push HTTP/1.1\r\nHost: x\r\nX-CRDT-Token: {TOKEN}\r\nContent-Type: {PB}\r\n"
            f"Content-Length: {600 << 20}\r\n\r\n").encode()
    out = _raw(node.http_port, head)
    assert out.startswith(b"HTTP/1.1 413") and out.endswith(b"<closed>")
    # Without the token nothing is read either.
    out = _raw(node.http_port, head.replace(TOKEN.encode(), b"wrong"))
    assert out.startswith(b"HTTP/1.1 403") and out.endswith(b"<closed>")
    # A chunked body (no Content-Length) is cut at peer_max_body (1 MiB here).
    with socket.create_connection((HOST, node.http_port), timeout=15) as s:
        s.sendall(f"POST /repl/push HTTP/1.1\r\nHost: x\r\nX-CRDT-Token: {TOKEN}\r\nContent-Type: {PB}\r\n"
                  "Transfer-Encoding: chunked\r\n\r\n".encode())
        chunk = b"\0" * 65536
        answer = b""
        try:
            for _ in range(64):
                s.sendall(b"%x\r\n" % len(chunk) + chunk + b"\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass
        try:
            answer = s.recv(65536)
        except ConnectionResetError:
            pass
        assert answer.startswith(b"HTTP/1.1 413") or answer == b""


def test_half_sent_headers_and_stalled_bodies_are_closed(node: CrdtRedisProc) -> None:
    # Before: a request's half-sent headers kept their connection past 60 s (aiohttp has no
    # header timeout). http_header_timeout is 1 s on this node.
    assert _raw(node.http_port, b"POST /repl/push HTTP/1.1\r\nHost: x\r\nX-CRDT") == b"<closed>"
    assert _raw(node.http_port, b"") == b"<closed>"  # a connection that never sends a request
    stalled = (f"POST /repl/push HTTP/1.1\r\nHost: x\r\nX-CRDT-Token: {TOKEN}\r\nContent-Type: {PB}\r\n"
               "Content-Length: 100\r\n\r\n0123456789").encode()
    out = _raw(node.http_port, stalled)
    assert out.startswith(b"HTTP/1.1 408") and out.endswith(b"<closed>")
    # A client that keeps its connection between complete requests is served each time.
    with socket.create_connection((HOST, node.http_port), timeout=10) as s:
        for _ in range(3):
            s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
            assert s.recv(65536).startswith(b"HTTP/1.1 200")
    assert node.client().ping()


# ---- snapshots -----------------------------------------------------------------------------------
def test_concurrent_snapshot_requests_share_one_fork(tmp_path: Path) -> None:
    # Before: each request forked (8 requests: 3.75 GB on a big dataset).
    n = member(tmp_path)
    try:
        r = n.client()
        pipe = r.pipeline(transaction=False)
        for i in range(30000):
            pipe.set(f"k{i}", "v" * 100)
        pipe.execute()
        bodies: list[bytes] = []
        start = threading.Barrier(8)

        def get() -> None:
            start.wait()
            status, body, _ = http(n.url + "/repl/snapshot", headers={"X-CRDT-Token": TOKEN})
            assert status == 200
            bodies.append(body)

        threads = [threading.Thread(target=get) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(bodies) == 8 and all(b == bodies[0] for b in bodies)
        status, data, _ = http(n.url + "/stats")
        import json

        forks = json.loads(data)["replication"]["snapshot_forks"]
        assert 1 <= forks <= 2, forks  # (a straggler may arrive after the last reader is done)
        assert not list(n.data_dir.glob("snapshot-*.tmp"))  # every file went with its readers
    finally:
        n.stop()
