"""Joining and founding with real processes (issue 8, hole 2; docs/semantics.md "Joining a
cluster"): a replica that has not synced takes no writes; a wiped replica rejoins without
deleting what it never saw; replicas of different clusters never exchange ops."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import redis

from tests.support.procs import CrdtRedisProc, free_port, wait_until
from tests.support.proxy import TcpProxy
from tests.support.state import dump_client
from tests.test_replication import FAST, converged, make_cluster, stop_all

pytestmark = pytest.mark.slow

NOT_SYNCED = "You can't write against a replica that has not synced with its cluster yet."


def test_a_new_replica_refuses_writes_until_it_has_synced_and_forgetpeer_founds_alone(tmp_path: Path) -> None:
    node = CrdtRedisProc(tmp_path / "a", "a", peers=["http://127.0.0.1:1"], settings=FAST).start()
    try:
        r = node.client()
        assert node.sync_state() == "joining"
        with pytest.raises(redis.ReadOnlyError, match="not synced"):
            r.set("k", "v")
        assert r.get("k") is None  # reads are served
        raw = redis.Redis(port=node.port, protocol=2)
        with pytest.raises(redis.ResponseError) as e:
            raw.execute_command("SADD", "s", "x")
        assert str(e.value) == NOT_SYNCED
        # The only peer never answers: forgetting it founds the cluster alone.
        r.execute_command("CRDT.FORGETPEER", "http://127.0.0.1:1")
        node.wait_synced()
        assert r.set("k", "v") and r.get("k") == b"v"
        node.restart()
        assert node.sync_state() == "member" and r.get("k") == b"v"  # durable
    finally:
        node.stop()


def test_a_wiped_replica_rejoins_and_deletes_only_what_it_has_seen(tmp_path: Path) -> None:
    nodes, links = make_cluster(tmp_path, proxies=True)
    try:
        r0, r1 = nodes[0].client(), nodes[1].client()
        r0.sadd("s", "a", "old")
        r0.zadd("z", {"m": 5, "old": 1})
        r0.execute_command("SELECT", 1)
        r0.set("d1", "v")
        r0.execute_command("SELECT", 0)
        wait_until(converged(nodes), timeout=30, interval=0.1)
        for n in nodes:  # collect: the members become stable forms everywhere
            wait_until(lambda n=n: n.client().execute_command("CRDT.GC") >= 0, timeout=5)
        # n2 loses its data dir and restarts cut off from both others.
        nodes[2].stop()
        shutil.rmtree(nodes[2].data_dir)
        for (i, j), p in links.items():
            if 2 in (i, j):
                p.cut()
        nodes[2].start()
        r2 = nodes[2].client()
        assert nodes[2].sync_state() == "joining"
        for cmd in (("SADD", "s", "a"), ("SREM", "s", "a"), ("ZREM", "z", "m"), ("FLUSHDB",)):
            with pytest.raises(redis.ReadOnlyError):
                r2.execute_command(*cmd)
        r1.sadd("s", "concurrent")
        for p in links.values():
            p.heal()
        nodes[2].wait_synced()
        # Synced: its writes observe what it synced, so they delete exactly that.
        r2.srem("s", "a")
        r2.execute_command("SELECT", 1)
        r2.flushdb()
        r2.execute_command("SELECT", 0)
        wait_until(converged(nodes), timeout=60, interval=0.2)
        assert sorted(r0.smembers("s")) == [b"concurrent", b"old"]
        assert r0.zrange("z", 0, -1) == [b"old", b"m"]
        r0.execute_command("SELECT", 1)
        assert r0.dbsize() == 0
    finally:
        stop_all(nodes, links)


def test_replicas_of_different_clusters_never_exchange_ops(tmp_path: Path) -> None:
    a = CrdtRedisProc(tmp_path / "a", "a", settings=FAST).start()  # founded alone
    b = CrdtRedisProc(tmp_path / "b", "b", settings=FAST).start()  # founded alone
    try:
        a.client().set("from", "a")
        b.client().set("from", "b")
        a.stop()
        b.stop()
        # Now each is told the other is a peer: both hold data of their own.
        a.peers, b.peers = [b.url], [a.url]
        a.start()
        b.start()
        wait_until(lambda: "founded alone" in a.logs(200) or "founded alone" in b.logs(200)
                   or "different clusters" in a.logs(200), timeout=20,
                   msg="a refusal between the two clusters")
        assert a.client().get("from") == b"a" and b.client().get("from") == b"b"
    finally:
        a.stop()
        b.stop()


def test_a_solo_replica_restarted_with_a_new_peer_is_joined_by_it(tmp_path: Path) -> None:
    http_a, http_b = free_port(), free_port()
    a = CrdtRedisProc(tmp_path / "a", "a", http_port=http_a, settings=FAST).start()
    try:
        ra = a.client()
        ra.sadd("s", "x")
        ra.set("k", "v")
        a.stop()
        a.peers = [f"http://127.0.0.1:{http_b}"]
        a.start()
        assert a.sync_state() == "solo"  # still alone: nobody has joined yet
        b = CrdtRedisProc(tmp_path / "b", "b", http_port=http_b, peers=[a.url], settings=FAST).start()
        try:
            b.wait_synced()
            wait_until(lambda: a.sync_state() == "member", timeout=20)
            rb = b.client()
            assert rb.get("k") == b"v" and rb.smembers("s") == {b"x"}
            rb.sadd("s", "y")
            ra.srem("s", "x")
            wait_until(converged([a, b]), timeout=30, interval=0.1)
            assert ra.smembers("s") == {b"y"}
            assert dump_client(ra) == dump_client(rb)
        finally:
            b.stop()
    finally:
        a.stop()


def test_a_joining_replica_behind_a_dead_link_stays_read_only(tmp_path: Path) -> None:
    nodes, links = make_cluster(tmp_path, n=2)
    try:
        nodes[0].client().set("k", "v")
        proxy = TcpProxy(nodes[0].http_port)
        proxy.cut()
        j = CrdtRedisProc(tmp_path / "j", "j", peers=[proxy.url], settings=FAST).start()
        try:
            assert j.sync_state() == "joining"
            with pytest.raises(redis.ReadOnlyError):
                j.client().set("x", 1)
            proxy.heal()
            j.wait_synced()
            assert j.client().get("k") == b"v"
        finally:
            j.stop()
            proxy.close()
    finally:
        stop_all(nodes, links)
