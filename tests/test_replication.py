"""Active-active replication with real processes on loopback: convergence under concurrent
writes of every type, partitions, crashes, a joining replica, and bad peer input."""
from __future__ import annotations

import random
import threading
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import redis

from crdtredis.op import Op
from crdtredis.wire import ops_pb2 as pb
from crdtredis.wire.codec import encode_op
from tests.support.procs import CrdtRedisProc, free_port, wait_until
from tests.support.proxy import TcpProxy
from tests.support.state import dump_client

pytestmark = pytest.mark.slow

FAST = {"sync_interval": "0.2", "retry_interval": "0.05", "gc_interval": "0.5"}


def make_cluster(tmp: Path, n: int = 3, proxies: bool = False, **settings: Any) -> tuple[list[CrdtRedisProc], dict[tuple[int, int], TcpProxy]]:
    http = [free_port() for _ in range(n)]
    links: dict[tuple[int, int], TcpProxy] = {}
    nodes = []
    for i in range(n):
        peers = []
        for j in range(n):
            if j == i:
                continue
            if proxies:
                links[(i, j)] = TcpProxy(http[j])
                peers.append(links[(i, j)].url)
            else:
                peers.append(f"http://127.0.0.1:{http[j]}")
        nodes.append(CrdtRedisProc(tmp / f"n{i}", f"n{i}", http_port=http[i], peers=peers,
                                   settings={**FAST, **settings}))
    for node in nodes:
        node.start()
    for node in nodes:  # all new: they found the cluster together once all have answered
        node.wait_synced()
    return nodes, links


def stop_all(nodes: list[CrdtRedisProc], links: dict[Any, TcpProxy]) -> None:
    for n in nodes:
        if n.is_running():
            n.sigcont()
        n.stop()
    for p in links.values():
        p.close()


def converged(nodes: list[CrdtRedisProc], dbs: int = 16) -> Callable[[], bool]:
    def check() -> bool:
        dumps = [dump_client(n.client(), dbs) for n in nodes]
        return all(d == dumps[0] for d in dumps[1:])
    return check


def random_writes(r: redis.Redis, rnd: random.Random, n: int, tag: str) -> None:
    keys = [f"k{i}" for i in range(12)]
    for _ in range(n):
        k = rnd.choice(keys)
        kind = rnd.randrange(14)
        try:
            if kind == 0:
                r.set(f"s:{k}", f"{tag}{rnd.randrange(100)}")
            elif kind == 1:
                r.incrby(f"c:{k}", rnd.randrange(1, 5))
            elif kind == 2:
                r.delete(rnd.choice([f"s:{k}", f"c:{k}", f"l:{k}", f"h:{k}"]))
            elif kind == 3:
                r.rpush(f"l:{k}", f"{tag}{rnd.randrange(100)}")
            elif kind == 4:
                r.lpop(f"l:{k}")
            elif kind == 5:
                r.sadd(f"S:{k}", rnd.randrange(20))
            elif kind == 6:
                r.srem(f"S:{k}", rnd.randrange(20))
            elif kind == 7:
                r.hset(f"h:{k}", f"f{rnd.randrange(5)}", tag)
            elif kind == 8:
                r.hincrby(f"h:{k}", f"n{rnd.randrange(3)}", 1)
            elif kind == 9:
                r.zadd(f"z:{k}", {f"m{rnd.randrange(8)}": rnd.randrange(50)})
            elif kind == 10:
                r.zincrby(f"z:{k}", 1, f"m{rnd.randrange(8)}")
            elif kind == 11:
                r.expire(f"s:{k}", 3600)
            elif kind == 12:
                r.execute_command("SELECT", 5)
                r.set(f"db5:{k}", tag)
                r.execute_command("SELECT", 0)
            else:
                r.set(rnd.choice(keys), tag)  # plain keys: type conflicts with other writers
                r.lpush(rnd.choice(keys), tag)
        except redis.ResponseError as e:
            assert "WRONGTYPE" in str(e), e


def test_three_nodes_concurrent_writes_of_every_type_converge(tmp_path: Path) -> None:
    nodes, links = make_cluster(tmp_path)
    try:
        threads = [
            threading.Thread(target=random_writes, args=(n.client(), random.Random(i), 400, f"n{i}"))
            for i, n in enumerate(nodes)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        wait_until(converged(nodes), timeout=60, interval=0.2, msg="replicas did not converge")
        # Documented rules for conflicting pairs, at every node.
        r0, r1, r2 = (n.client() for n in nodes)
        # SET then concurrent INCRs at two other nodes: all increments add up on the value.
        r0.set("rule:ctr", 10)
        wait_until(lambda: all(n.client().get("rule:ctr") == b"10" for n in nodes), timeout=20)
        r1.incr("rule:ctr")
        r2.incrby("rule:ctr", 5)
        wait_until(lambda: all(n.client().get("rule:ctr") == b"16" for n in nodes), timeout=20)
        r0.sadd("rule:set", "a")
        wait_until(lambda: all(n.client().sismember("rule:set", "a") for n in nodes), timeout=20)
    finally:
        stop_all(nodes, links)


def test_partition_by_proxy_isolated_node_keeps_writing_then_converges(tmp_path: Path) -> None:
    nodes, links = make_cluster(tmp_path, proxies=True)
    try:
        r = [n.client() for n in nodes]
        r[0].set("before", "x")
        wait_until(lambda: all(c.get("before") == b"x" for c in r), timeout=20)
        # Cut node 2 off from both others, both directions.
        for (i, j), p in links.items():
            if 2 in (i, j):
                p.cut()
        for i in range(200):
            r[0].incr("ctr")
            r[2].incr("ctr")
            r[1].rpush("list", f"a{i}")
            r[2].rpush("list", f"c{i}")
            r[2].set(f"iso:{i}", i)
        assert r[2].get("iso:199") == b"199"  # the isolated node kept accepting writes
        assert r[0].get("iso:199") is None
        for p in links.values():
            p.heal()
        wait_until(converged(nodes), timeout=60, interval=0.2, msg="no convergence after heal")
        assert r[1].get("ctr") == b"400"
        assert r[0].llen("list") == 400
    finally:
        stop_all(nodes, links)


def _peer_state(r: redis.Redis) -> dict[str, str]:
    return r.info("replication")["peer0"]  # redis-py parses "k=v,..." into a dict


def test_a_peer_that_calls_us_after_a_heal_ends_our_backoff(tmp_path: Path) -> None:
    """n1 probes a down peer only every 10-30 s (its retry/sync intervals); n0 every 0.2 s.
    Once the heal lets n0's requests through, n1's link to n0 retries at once: both
    directions resume together, not n1's at its next probe (Replication._called_by)."""
    http = [free_port(), free_port()]
    links = {(0, 1): TcpProxy(http[1]), (1, 0): TcpProxy(http[0])}
    slow = {"sync_interval": "20", "retry_interval": "20", "gc_interval": "0.5"}
    nodes = [CrdtRedisProc(tmp_path / f"n{i}", f"n{i}", http_port=http[i], peers=[links[(i, 1 - i)].url],
                           settings=FAST if i == 0 else slow) for i in range(2)]
    try:
        for n in nodes:
            n.start()
        for n in nodes:
            n.wait_synced()
        r0, r1 = nodes[0].client(), nodes[1].client()
        r1.set("k", "before")
        wait_until(lambda: r0.get("k") == b"before", timeout=30, msg="n1's push stream never came up")
        sent = _peer_state(r1)  # what pushed it is counted: ops, and the batches that held them
        assert 1 <= int(sent["batches_sent"]) <= int(sent["ops_sent"]), sent
        for p in links.values():
            p.cut()
        wait_until(lambda: _peer_state(r1)["state"] == "down", timeout=20, msg="n1 never saw the cut")
        r1.set("k", "during")
        for p in links.values():
            p.heal()
        # n1's own backoff is 10-30 s from here: only n0's calls can bring its link up this soon.
        wait_until(lambda: _peer_state(r1)["state"] == "up" and _peer_state(r1)["stream"] == "up",
                   timeout=6, msg="n1's link stayed down until its own next probe")
        wait_until(lambda: r0.get("k") == b"during", timeout=10)
    finally:
        stop_all(nodes, links)


def test_sigstop_one_node_others_write_then_it_catches_up(tmp_path: Path) -> None:
    nodes, links = make_cluster(tmp_path)
    try:
        nodes[2].sigstop()
        r0 = nodes[0].client()
        r1 = nodes[1].client()
        for i in range(300):
            r0.set(f"a{i}", i)
            r1.sadd("members", i)
        nodes[2].sigcont()
        wait_until(converged(nodes), timeout=60, interval=0.2)
        assert nodes[2].client().scard("members") == 300
    finally:
        stop_all(nodes, links)


def test_kill9_mid_load_restart_converges_nothing_acknowledged_lost(tmp_path: Path) -> None:
    nodes, links = make_cluster(tmp_path, appendfsync="always")
    try:
        acked: list[int] = []
        stop = threading.Event()

        def load() -> None:
            c = redis.Redis(port=nodes[1].port, socket_timeout=5)
            i = 0
            while not stop.is_set():
                try:
                    c.rpush("seq", i)
                except (redis.ConnectionError, redis.TimeoutError):
                    return
                acked.append(i)
                i += 1

        t = threading.Thread(target=load)
        t.start()
        wait_until(lambda: len(acked) > 200, timeout=30)
        nodes[1].kill()
        stop.set()
        t.join()
        r0 = nodes[0].client()
        for i in range(100):
            r0.set(f"during:{i}", i)
        nodes[1].start()
        wait_until(converged(nodes), timeout=60, interval=0.2)
        got = [int(x) for x in nodes[2].client().lrange("seq", 0, -1)]
        assert got[: len(acked)] == acked
        assert nodes[1].client().get("during:99") == b"99"
    finally:
        stop_all(nodes, links)


def test_new_replica_joins_a_loaded_cluster_by_snapshot(tmp_path: Path) -> None:
    # A small log backlog, so the joining node cannot be served from the log alone.
    nodes, links = make_cluster(tmp_path, n=2, max_segment_size="4096")
    try:
        r0 = nodes[0].client()
        pipe = r0.pipeline(transaction=False)
        for i in range(20000):
            pipe.set(f"key:{i}", "v" * 80)
        pipe.sadd("set", *range(100))
        pipe.execute()
        wait_until(converged(nodes), timeout=60, interval=0.2)
        new = CrdtRedisProc(tmp_path / "n9", "n9", peers=[n.url for n in nodes], settings=FAST).start()
        try:
            wait_until(converged([*nodes, new]), timeout=90, interval=0.5, msg="joiner did not converge")
            new.wait_synced()
            info = new.client().info("replication")
            assert info.get("crdt_snapshot_installs", 0) >= 1
            new.client().set("from-joiner", 1)
            wait_until(lambda: r0.get("from-joiner") == b"1", timeout=30)
        finally:
            new.stop()
    finally:
        stop_all(nodes, links)


def _post(url: str, body: bytes, headers: dict[str, str] | None = None) -> int:
    req = urllib.request.Request(url, data=body, method="POST", headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=5) as resp:
            return int(resp.status)
    except urllib.error.HTTPError as e:
        return int(e.code)


def test_bad_peer_input_is_rejected_and_changes_nothing(tmp_path: Path) -> None:
    node = CrdtRedisProc(tmp_path / "a", "a", peers=["http://127.0.0.1:1"],
                         settings={**FAST, "peer_token": "sekrit"}).start()
    try:
        r = node.client()
        # Its only peer never answers: forgetting it founds the cluster alone.
        r.execute_command("CRDT.FORGETPEER", "http://127.0.0.1:1")
        node.wait_synced()
        r.set("k", "v")
        before = dump_client(r)
        push = node.url + "/repl/push"
        tok = {"X-CRDT-Token": "sekrit", "Content-Type": "application/x-protobuf"}
        cid = str(r.info("replication")["crdt_cluster_id"])
        assert _post(push, b"\xff\x00garbage", tok) == 400
        good = pb.OpBatch(version=1, sender="x.1", replica_id="x", cluster_id=cid)
        op = Op("x.1", 1, 1 << 40, {}, [(10, 0, b"k", b"evil", 0, None)])
        good.ops.add().ParseFromString(encode_op(op))
        body = good.SerializeToString()
        assert _post(push, body[:-3], tok) == 400  # truncated protobuf
        assert _post(push, body, {"Content-Type": "application/x-protobuf"}) == 401  # no token
        assert _post(push, body, {**tok, "X-CRDT-Token": "wrong"}) == 403
        gap = pb.OpBatch(version=1, sender="x.1", replica_id="x", cluster_id=cid)
        gap.ops.add().ParseFromString(encode_op(Op("x.1", 1000, 1 << 40, {}, [(10, 0, b"k", b"evil", 0, None)])))
        assert _post(push, gap.SerializeToString(), tok) == 422  # impossible sequence number
        badcode = pb.OpBatch(version=1, sender="x.1", replica_id="x", cluster_id=cid)
        badcode.ops.add().ParseFromString(encode_op(Op("x.1", 1, 1 << 40, {}, [(250, 0, b"k")])))
        assert _post(push, badcode.SerializeToString(), tok) == 422
        baddb = pb.OpBatch(version=1, sender="x.1", replica_id="x", cluster_id=cid)
        baddb.ops.add().ParseFromString(encode_op(Op("x.1", 1, 1 << 40, {}, [(10, 99, b"k", b"v", 0, None)])))
        assert _post(push, baddb.SerializeToString(), tok) == 422
        assert _post(node.url + "/repl/pull", b"\x01\x02", tok) == 400
        assert dump_client(node.client()) == before
        assert node.client().ping()
    finally:
        node.stop()


def test_wait_and_waitclock(tmp_path: Path) -> None:
    nodes, links = make_cluster(tmp_path, n=2)
    try:
        r0, r1 = nodes[0].client(), nodes[1].client()
        r0.set("w", 1)
        assert r0.execute_command("WAIT", 1, 5000) == 1
        r0.set("w", 2)
        tok = r0.execute_command("CRDT.CLOCK")
        assert r1.execute_command("CRDT.WAITCLOCK", tok, 5000) == 1
        assert r1.get("w") == b"2"
        with pytest.raises(redis.ResponseError, match="invalid clock token"):
            r1.execute_command("CRDT.WAITCLOCK", "nope", 10)
    finally:
        stop_all(nodes, links)


def test_a_pipeline_s_writes_replicate_and_wait_covers_them(tmp_path: Path) -> None:
    """A pipeline's consecutive writes travel as one op (Node.execute, MERGEABLE): WAIT at
    its end counts a peer only once that peer holds every one of them."""
    nodes, links = make_cluster(tmp_path, n=2)
    try:
        r0, r1 = nodes[0].client(), nodes[1].client()
        for rnd in range(5):
            p = r0.pipeline(transaction=False)
            for i in range(40):
                p.set(f"p{i}", rnd)
                p.incr("n")
                p.rpush("l", f"{rnd}.{i}")
            p.execute_command("WAIT", 1, 5000)
            assert p.execute()[-1] == 1
            assert r1.mget([f"p{i}" for i in range(40)]) == [str(rnd).encode()] * 40
            assert r1.get("n") == str(40 * (rnd + 1)).encode()
            assert r1.llen("l") == 40 * (rnd + 1)
        assert r1.lrange("l", 0, -1) == r0.lrange("l", 0, -1)
        wait_until(converged(nodes), timeout=10)
    finally:
        stop_all(nodes, links)


def test_restore_at_one_replica_shows_at_the_other(tmp_path: Path) -> None:
    nodes, links = make_cluster(tmp_path, n=2)
    try:
        r0, r1 = nodes[0].client(), nodes[1].client()
        r0.hset("src", mapping={"f": "v", "n": "1"})
        r0.rpush("l", "a", "b")
        payload = r0.dump("src")
        assert r0.restore("h", 100000, payload)
        r1.set("l2", "old")
        wait_until(lambda: r0.exists("l2") == 1, timeout=10)
        assert r0.restore("l2", 0, r0.dump("l"), replace=True)
        wait_until(lambda: r1.hgetall("h") == {b"f": b"v", b"n": b"1"} and r1.type("l2") == b"list", timeout=10)
        assert 0 < r1.pttl("h") <= 100000
        assert r1.lrange("l2", 0, -1) == [b"a", b"b"]
        wait_until(converged(nodes), timeout=10)
    finally:
        stop_all(nodes, links)
