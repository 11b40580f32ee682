"""Pub/sub across three replicas (real processes on loopback): subscribers and publishers
on every replica; exactly once and in per-publisher order for channels, patterns and
shard channels; relaying over a partial mesh; a partition (messages for the cut side
dropped, nothing duplicated after the heal); a restart (nothing replayed); keyspace
events and tracking invalidations caused by replicated writes."""
from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.procs import CrdtRedisProc, free_port, wait_until
from tests.support.proxy import TcpProxy
from tests.support.resp_client import NULL3, RespConnection, decode

pytestmark = pytest.mark.slow

FAST = {"sync_interval": "0.2", "retry_interval": "0.05"}


def cluster(tmp: Path, edges: set[tuple[int, int]] | None = None, proxies: bool = False,
            n: int = 3) -> tuple[list[CrdtRedisProc], dict[tuple[int, int], TcpProxy]]:
    """n nodes; `edges` (i, j): i has j as a peer (default: full mesh)."""
    http = [free_port() for _ in range(n)]
    if edges is None:
        edges = {(i, j) for i in range(n) for j in range(n) if i != j}
    links: dict[tuple[int, int], TcpProxy] = {}
    nodes = []
    for i in range(n):
        peers = []
        for j in sorted(j for (a, j) in edges if a == i):
            if proxies:
                links[(i, j)] = TcpProxy(http[j])
                peers.append(links[(i, j)].url)
            else:
                peers.append(f"http://127.0.0.1:{http[j]}")
        nodes.append(CrdtRedisProc(tmp / f"n{i}", f"n{i}", http_port=http[i], peers=peers, settings=FAST))
    for node in nodes:
        node.start()
    return nodes, links


def stop(nodes: list[CrdtRedisProc], links: dict[Any, TcpProxy]) -> None:
    for node in nodes:
        node.stop()
    for p in links.values():
        p.close()


def wait_links(nodes: list[CrdtRedisProc], counts: list[int]) -> None:
    """Every replica has synced (founded the cluster or joined it), then sees its peers up."""
    for node in nodes:
        node.wait_synced(timeout=30)
    for node, c in zip(nodes, counts, strict=True):
        wait_until(lambda node=node, c=c: _up(node) >= c, timeout=30, msg=f"{node.name} peers up")


def _up(node: CrdtRedisProc) -> int:
    info = node.client().info("replication")
    return sum(1 for k, v in info.items() if re.fullmatch(r"peer\d+", k) and isinstance(v, dict)
               and v.get("state") == "up")


def links_report(nodes: list[CrdtRedisProc]) -> str:
    """Each node's pub/sub counters and peer links, for a failure message."""
    out = []
    for node in nodes:
        info = node.client().info("replication")
        keep = {k: v for k, v in info.items() if k.startswith(("crdt_pubsub", "pubsub_peer", "peer"))}
        out.append(f"{node.name}: {keep}")
    return "; ".join(out)


class Sub:
    """A subscriber connection (redis-py PubSub) collecting every message it gets."""

    def __init__(self, node: CrdtRedisProc, channels: tuple[str, ...] = ("ch",), patterns: tuple[str, ...] = ("c*",),
                 shard: tuple[str, ...] = ("sh",)) -> None:
        self.r = node.client()
        self.ps = self.r.pubsub()
        n = 0
        if channels:
            self.ps.subscribe(*channels)
            n += len(channels)
        if patterns:
            self.ps.psubscribe(*patterns)
            n += len(patterns)
        if shard:
            self.ps.ssubscribe(*shard)
            n += len(shard)
        got = 0
        deadline = time.monotonic() + 10
        while got < n and time.monotonic() < deadline:
            m = self.ps.get_message(timeout=1)
            if m is not None and m["type"].endswith("subscribe"):
                got += 1
        assert got == n
        self.msgs: list[tuple[str, bytes]] = []

    def drain(self) -> list[tuple[str, bytes]]:
        while True:
            m = self.ps.get_message(timeout=0.05)
            if m is None:
                return self.msgs
            self.msgs.append((m["type"], m["data"]))

    def wait_count(self, n: int, timeout: float = 30) -> list[tuple[str, bytes]]:
        wait_until(lambda: len(self.drain()) >= n, timeout=timeout, msg=f"{n} messages")
        return self.drain()

    def close(self) -> None:
        self.ps.close()
        self.r.close()


def per_publisher(msgs: list[tuple[str, bytes]], kind: str) -> dict[str, list[int]]:
    out: dict[str, list[int]] = {}
    for t, data in msgs:
        if t == kind:
            src, i = data.decode().split(":")
            out.setdefault(src, []).append(int(i))
    return out


@pytest.fixture
def full(tmp_path: Path) -> Iterator[list[CrdtRedisProc]]:
    nodes, links = cluster(tmp_path)
    try:
        wait_links(nodes, [2, 2, 2])
        yield nodes
    finally:
        stop(nodes, links)


def test_every_subscriber_gets_every_message_once_in_publisher_order(full: list[CrdtRedisProc]) -> None:
    subs = [Sub(n) for n in full]
    pubs = [n.client() for n in full]
    n = 200
    local = []
    for i in range(n):
        for k, p in enumerate(pubs):
            local.append(p.publish("ch", f"p{k}:{i}"))
            p.spublish("sh", f"p{k}:{i}")
    # PUBLISH answers the receivers at the replica it was sent to: channel + pattern.
    assert set(local) == {2}
    for s in subs:
        try:
            msgs = s.wait_count(3 * 3 * n)
        except TimeoutError as e:
            # Say why: messages for a peer whose link is down are dropped (at most once).
            raise AssertionError(f"got {len(s.msgs)} of {3 * 3 * n}: {links_report(full)}") from e
        for kind in ("message", "pmessage", "smessage"):
            order = per_publisher(msgs, kind)
            assert order == {f"p{k}": list(range(n)) for k in range(3)}, kind
    time.sleep(0.5)  # nothing more may arrive: no duplicates
    assert all(len(s.drain()) == 9 * n for s in subs)
    relayed = dropped = 0
    for node in full:
        info = node.client().info("replication")
        assert info["crdt_pubsub_duplicates"] == 0, links_report(full)
        assert info["crdt_pubsub_published"] == 2 * n
        relayed += info["crdt_pubsub_relayed"]
        dropped += info["crdt_pubsub_dropped"]
    # In a full mesh a replica relays only what a publisher could not send directly (its
    # link to that peer was not up at that moment; a loaded CI run of 2026-12-05 relayed 56
    # messages, without a duplicate): normally neither happens.
    assert relayed <= dropped, links_report(full)


def test_partial_mesh_relays_without_duplicates(tmp_path: Path) -> None:
    # A chain: n0 - n1 - n2 (n0 and n2 do not know each other).
    nodes, links = cluster(tmp_path, edges={(0, 1), (1, 0), (1, 2), (2, 1)})
    try:
        wait_links(nodes, [1, 2, 1])
        subs = [Sub(n, patterns=(), shard=()) for n in nodes]
        for i in range(100):
            nodes[0].client().publish("ch", f"p0:{i}")
            nodes[2].client().publish("ch", f"p2:{i}")
        for s in subs:
            order = per_publisher(s.wait_count(200), "message")
            assert order == {"p0": list(range(100)), "p2": list(range(100))}
        time.sleep(0.5)
        assert all(len(s.drain()) == 200 for s in subs)
        assert nodes[1].client().info("replication")["crdt_pubsub_relayed"] == 200
    finally:
        stop(nodes, links)


def test_partition_drops_messages_for_the_cut_side_and_heals_without_duplicates(tmp_path: Path) -> None:
    nodes, links = cluster(tmp_path, proxies=True)
    try:
        wait_links(nodes, [2, 2, 2])
        subs = [Sub(n, patterns=(), shard=()) for n in nodes]
        pub0, pub2 = nodes[0].client(), nodes[2].client()
        pub0.publish("ch", "p0:0")
        for s in subs:
            s.wait_count(1)
        for (i, j), p in links.items():
            if 2 in (i, j):
                p.cut()
        for i in range(1, 51):
            pub0.publish("ch", f"p0:{i}")
            pub2.publish("ch", f"p2:{i}")
        # Each side still gets its own side's messages; nothing crosses the cut.
        assert per_publisher(subs[1].wait_count(51), "message") == {"p0": list(range(51))}
        assert per_publisher(subs[2].wait_count(51), "message") == {"p0": [0], "p2": list(range(1, 51))}
        for p in links.values():
            p.heal()
        wait_links(nodes, [2, 2, 2])
        for i in range(51, 101):
            pub0.publish("ch", f"p0:{i}")
            pub2.publish("ch", f"p2:{i}")
        for k, s in enumerate(subs):
            msgs = s.wait_count(151 if k != 0 else 151)
            order = per_publisher(msgs, "message")
            # Per publisher: increasing, no duplicates; what was sent across the cut is lost.
            for src, seq in order.items():
                assert seq == sorted(set(seq)), (k, src)
            assert order["p0"][-50:] == list(range(51, 101))
            assert order["p2"][-50:] == list(range(51, 101))
        time.sleep(0.5)
        for s in subs:
            assert len(s.drain()) == len(set(s.msgs))
        dropped = sum(n.client().info("replication")["crdt_pubsub_dropped"] for n in nodes)
        assert dropped > 0
    finally:
        stop(nodes, links)


def test_restart_replays_nothing_and_new_messages_flow(full: list[CrdtRedisProc]) -> None:
    a, b, _c = full
    sub_a = Sub(a, patterns=(), shard=())
    a.client().publish("ch", "pa:0")
    b.client().publish("ch", "pb:0")
    sub_a.wait_count(2)
    b.restart()
    wait_links(full, [2, 2, 2])
    sub_b = Sub(b, patterns=(), shard=())
    b.client().publish("ch", "pb:1")  # a new stream: counters start again, not dropped
    a.client().publish("ch", "pa:1")
    assert per_publisher(sub_b.wait_count(2), "message") == {"pb": [1], "pa": [1]}  # nothing old
    assert per_publisher(sub_a.wait_count(4), "message") == {"pa": [0, 1], "pb": [0, 1]}


def test_replicated_writes_notify_and_invalidate(full: list[CrdtRedisProc]) -> None:
    a, b, _c = full
    b.client().config_set("notify-keyspace-events", "KEA")
    sub = Sub(b, channels=(), patterns=("__keyspace@0__:*",), shard=())
    with RespConnection(port=b.port, timeout=10) as tracker:
        tracker.call("HELLO", "3")
        tracker.call("CLIENT", "TRACKING", "ON")
        assert decode(tracker.call("GET", "k")) is NULL3
        a.client().set("k", "v")
        a.client().set("k2", "w")
        a.client().delete("k2")
        msgs = sub.wait_count(3)
        assert msgs == [("pmessage", b"set"), ("pmessage", b"set"), ("pmessage", b"del")]
        # The write made at replica a invalidates what the client cached from replica b.
        assert decode(tracker.read_reply()) == [b"invalidate", [b"k"]]
