"""maxmemory: evictions are replicated deletes (every replica drops the same keys, a
concurrent write survives), counted and announced like Redis's; the memory measure keeps
RSS near the limit while writes go on. Error texts are compared with Redis in
tests/differential/test_diff_maxmemory.py; RSS under 1 GB of writes is measured by
bench/bench_abuse.py."""
from __future__ import annotations

import socket
import time
from pathlib import Path
from typing import Any

import pytest

from crdtredis.crdt import codes
from crdtredis.memory import Meter
from tests.support.procs import CrdtRedisProc, wait_until
from tests.support.resp_client import encode_command
from tests.support.sim import Cluster


def _evict_all_at(c: Cluster, i: int) -> None:
    """Replica i over a 1-byte limit with allkeys-random: the next command evicts all."""
    c.run(i, "CONFIG", "SET", "maxmemory-policy", "allkeys-random")
    c.run(i, "CONFIG", "SET", "maxmemory", "1")
    c.run(i, "PING")
    c.run(i, "CONFIG", "SET", "maxmemory", "0")


def test_eviction_is_one_replicated_op_of_deletes() -> None:
    c = Cluster(3, 0)
    for k in ("a", "b", "c"):
        c.run(0, "SET", k, "v")
    c.deliver_all()
    before = len(c[0].emitted)
    _evict_all_at(c, 0)
    evictions = c[0].emitted[before:]
    assert len(evictions) == 1
    assert sorted(e[2] for e in evictions[0].effects) == [b"a", b"b", b"c"]
    assert all(e[0] == codes.DEL for e in evictions[0].effects)
    c.deliver_all()
    assert [r.run("DBSIZE") for r in c.replicas] == [0, 0, 0]
    assert b"evicted_keys:3" in c[0].run("INFO", "stats").data


def test_write_concurrent_with_an_eviction_survives_it() -> None:
    c = Cluster(3, 0)
    c.run(0, "SET", "k", "old")
    c.run(0, "SADD", "s", "a")
    c.deliver_all()
    c.run(1, "SET", "k", "new")  # concurrent with A's eviction: A never saw it
    c.run(2, "SADD", "s", "b")
    _evict_all_at(c, 0)
    c.deliver_all()
    assert [r.run("GET", "k") for r in c.replicas] == [b"new"] * 3
    assert [r.run("SMEMBERS", "s").items for r in c.replicas] == [[b"b"]] * 3


def test_evicted_keyspace_event_and_tracking_invalidation() -> None:
    c = Cluster(1, 0)
    r = c[0]
    r.run("CONFIG", "SET", "notify-keyspace-events", "Ee")
    client = r.node.new_client("sub", "sub", lambda: None)
    pushed: list[bytes] = []

    class Conn:
        def push(self, data: bytes) -> None:
            pushed.append(data)

    client.conn = Conn()
    r.node.execute(client, [b"SUBSCRIBE", b"__keyevent@0__:evicted"])
    r.run("SET", "victim", "v")
    _evict_all_at(c, 0)
    assert any(b"victim" in p for p in pushed), pushed


def test_meter_follows_the_allocators_not_rss() -> None:
    m = Meter()
    if not m.alloc.ok:
        pytest.skip("mallinfo2 (glibc) is not available here")
    before = m.sample()
    blob = [bytes([i % 256]) * 2000 for i in range(10_000)] + [str(i) * 3 for i in range(100_000)]
    grown = m.sample() - before
    assert grown > 20_000_000
    del blob
    # Freed memory stays in the process (RSS does not drop), but is no longer used.
    assert m.sample() - before < grown / 4
    # Between samples, writes add and evictions subtract.
    base = m.sample()
    m.note_write(1000)
    m.note_freed(400)
    assert m.used() == base + 600


class _Jitter:
    """Allocators whose in-use figure the test sets."""

    ok = True

    def __init__(self, n: int) -> None:
        self.n = n

    def in_use(self) -> int:
        return self.n


def test_meter_band_keeps_the_estimate_against_allocator_jitter() -> None:
    a = _Jitter(50_000_000)
    m = Meter(alloc=a)  # type: ignore[arg-type]
    assert m.used() == 50_000_000
    m.band = 256 << 10
    # An op record or a reply buffer comes and goes: the data did not change.
    a.n = 50_000_000 - 200_000
    assert m.sample() == 50_000_000
    a.n = 50_000_000 + 200_000
    assert m.sample() == 50_000_000
    # What was written moves used_memory by what it wrote, and a sample agreeing with
    # that within the band keeps it.
    m.note_write(100_000)
    a.n = 50_000_000 + 250_000
    assert m.sample() == 50_100_000
    assert m.used() == 50_100_000
    # Beyond the band the allocators win, and exact samples ignore the band.
    a.n = 50_100_000 + 300_000
    assert m.sample() == 50_400_000
    a.n = 50_400_000 - 1_000
    assert m.sample(exact=True) == 50_399_000
    # Without a band (maxmemory off) every sample is what the allocators say.
    m.band = 0
    a.n = 50_399_000 + 10_000
    assert m.sample() == 50_409_000


def test_a_held_meter_keeps_the_estimate_while_a_snapshot_loads() -> None:
    """A peer's snapshot loads beside the keyspace it replaces: while it does, samples never
    raise used_memory above the estimate (writes still count), and the exact sample when
    the install ends measures what is left."""
    a = _Jitter(50_000_000)
    m = Meter(alloc=a)  # type: ignore[arg-type]
    with m.hold():
        a.n = 90_000_000  # the second keyspace, growing
        assert m.sample() == 50_000_000 and m.sample(exact=True) == 50_000_000
        m.note_write(1_000)  # a client's write meanwhile counts
        assert m.used() == 50_001_000
        a.n = 40_000_000  # an eviction frees memory: a lower measure is taken
        assert m.sample() == 40_000_000
        a.n = 60_000_000
    # The install replaced the keyspace: the sample that ends the hold is the allocators'.
    assert m.used() == 60_000_000
    a.n = 70_000_000
    assert m.sample() == 70_000_000


def test_a_snapshot_install_holds_the_meter(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Replication._fetch_snapshot installs with the node's meter held, and samples when done."""
    import asyncio
    import dataclasses

    from crdtredis.commands import new_node
    from crdtredis.config import default_config
    from crdtredis.replication.service import Replication

    cfg = dataclasses.replace(default_config(), replica_id="me", peers=("http://127.0.0.1:1",),
                              data_dir=str(tmp_path))
    node = new_node(cfg)  # loads the command table: maxmemory imports only after it
    from crdtredis.commands.maxmemory import evictor_of

    repl = Replication(node, cfg)
    meter = evictor_of(node).meter
    seen: list[int] = []
    monkeypatch.setattr(repl, "_install_snapshot", lambda path: seen.append(meter.held) or True)

    class _Body:
        async def iter_chunked(self, n: int) -> Any:
            yield b"snapshot bytes"

    class _Resp:
        status = 200
        content = _Body()

        async def __aenter__(self) -> _Resp:
            return self

        async def __aexit__(self, *a: Any) -> None:
            return None

    class _Session:
        def get(self, url: str, headers: Any = None) -> _Resp:
            return _Resp()

    repl.session = _Session()  # type: ignore[assignment]
    peer = next(iter(repl.peers.values()))
    at = meter.at
    assert asyncio.run(repl._fetch_snapshot(peer)) is True
    assert seen == [1] and meter.held == 0 and meter.at > at


def test_maxmemory_sets_the_band() -> None:
    c = Cluster(1, 0)  # loads the command table: maxmemory imports only after it
    from crdtredis.commands.maxmemory import BAND, evictor_of

    r = c[0]
    ev = evictor_of(r.node)
    assert ev.meter.band == 0
    r.run("CONFIG", "SET", "maxmemory", str(1 << 40))
    assert ev.meter.band == BAND
    r.run("CONFIG", "SET", "maxmemory", "0")
    assert ev.meter.band == 0


def test_info_sees_a_flushall_at_once(tmp_path: Path) -> None:
    node = CrdtRedisProc(tmp_path / "n", "a", settings={"appendfsync": "no"}).start()
    try:
        r = node.client()
        for i in range(5):
            r.set(f"big{i}", "x" * (1 << 20))
        grown = int(r.info("memory")["used_memory"])
        r.flushall()
        # 10 ms on (less than the 0.1 s INFO otherwise reuses a sample for), INFO measures
        # again: the data changed.
        time.sleep(0.011)
        assert int(r.info("memory")["used_memory"]) < grown - (4 << 20)
    finally:
        node.stop()


def test_meter_rss_fallback_credits_evictions_until_reused() -> None:
    import crdtredis.memory as mem

    class NoAlloc:
        ok = False

    rss = [100_000_000]
    orig = mem.read_rss
    mem.read_rss = lambda _m=None: rss[0]  # type: ignore[assignment]
    try:
        m = Meter(alloc=NoAlloc())  # type: ignore[arg-type]
        assert m.used() == 100_000_000
        m.note_freed(30_000_000)  # evicted: RSS stays, the memory is free inside
        assert m.sample() == 70_000_000
        m.note_write(10_000_000)  # reused: RSS still flat
        assert m.sample() == 80_000_000
        m.note_write(5_000_000)  # RSS grew by more than was written: no reuse after all
        rss[0] = 130_000_000
        assert m.sample() == 130_000_000
    finally:
        mem.read_rss = orig  # type: ignore[assignment]


@pytest.mark.slow
def test_three_replicas_under_maxmemory_agree_on_the_keys_that_remain(tmp_path: Path) -> None:
    from tests.test_replication import make_cluster, stop_all

    nodes, links = make_cluster(tmp_path, n=3, appendfsync="no")
    try:
        clients = [n.client() for n in nodes]
        # A limit 32 MB above what each process holds now (72 MB get written). Not less:
        # what replication holds in flight (batches being received and applied from two
        # peers, the 8 MB backlog) counts in used_memory too, and with 16 MB of room it
        # alone could reach the limit with every key evicted.
        for r in clients:
            used = int(r.info("memory")["used_memory"])
            r.config_set("maxmemory", used + (32 << 20))
            r.config_set("maxmemory-policy", "allkeys-lru")
        value = b"v" * 2000
        oom = 0
        rounds = 24
        for b in range(rounds):  # 72 MB written at the three replicas in turn, 1 MB at a time
            for i in range(3):
                pipe = clients[i].pipeline(transaction=False)
                for j in range(500):
                    pipe.set(f"k{i}:{b}:{j}", value)
                oom += sum(isinstance(x, Exception) for x in pipe.execute(raise_on_error=False))
                # Each MB reaches both peers before the next: a peer that fell more than the
                # backlog (8 MB here) behind would catch up with a snapshot, and while one
                # loads a replica can be over its limit with nothing left to evict, so writes
                # there are refused (docs/semantics.md, "maxmemory"). A loaded 2-core CI
                # machine did that once; this test is about eviction, not that fallback.
                clients[i].execute_command("WAIT", 2, 30000)

        def keysets() -> list[set[bytes]]:
            return [set(r.scan_iter(count=1000)) for r in clients]

        def agree() -> bool:
            sets = keysets()
            return sets[0] == sets[1] == sets[2]

        wait_until(agree, timeout=120, interval=0.5, msg="replicas to agree on the keys that remain")
        remaining = len(keysets()[0])
        evicted = sum(int(r.info("stats")["evicted_keys"]) for r in clients)
        # allkeys-lru always finds a key to evict while there are keys: no write refused.
        assert oom == 0
        assert 0 < remaining < 3 * 500 * rounds
        # Every key is either there or was evicted by some replica (a key evicted by two
        # replicas at once counts twice).
        assert remaining + evicted >= 3 * 500 * rounds
    finally:
        stop_all(nodes, links)


def test_maxmemory_refuses_writes_but_replication_and_reads_go_on(tmp_path: Path) -> None:
    node = CrdtRedisProc(tmp_path / "n", "a", settings={"appendfsync": "no"}).start()
    try:
        r = node.client()
        r.set("k", "v")
        r.config_set("maxmemory", 1)
        with pytest.raises(Exception, match="command not allowed when used memory"):
            r.set("k2", "v")
        assert r.get("k") == b"v"
        assert r.info("memory")["maxmemory_policy"] == "noeviction"
        r.config_set("maxmemory", 0)
        assert r.set("k2", "v")
    finally:
        node.stop()


def test_the_first_info_does_not_grow_the_memory_it_reports(tmp_path: Path) -> None:
    """Redis's tracking test sets maxmemory 100 KB above INFO's used_memory and writes: the
    first INFO must not itself allocate what the next measure counts (it made both Lua
    states, ~350 KB, after measuring; the write was then refused whenever a sample fell
    between: 2 of 28 runs of Redis's tracking unit under load)."""
    node = CrdtRedisProc(tmp_path / "n", "a", settings={"appendfsync": "no"}).start()

    def growth() -> int:
        r = node.client()
        r.execute_command("MEMORY", "PURGE")  # its first call alone grows memory by ~2 MB
        used = r.info("memory")["used_memory"]
        r.execute_command("MEMORY", "PURGE")  # measures afresh
        return int(r.info("memory")["used_memory"]) - int(used)

    try:
        assert growth() < 100 * 1024
        # Restarted with 300 function libraries: compiled at start (~450 KB), not by an INFO.
        lib = "#!lua name=lib{i}\nredis.register_function('f{i}', function() return {{1}} end)"
        for i in range(300):
            node.client().function_load(lib.format(i=i))
        node.restart()
        assert growth() < 100 * 1024
    finally:
        node.stop()


def test_evictions_keep_rss_bounded_while_writing(tmp_path: Path) -> None:
    # 60 MB of writes into a node allowed 20 MB above its start: RSS stays within 1.5x.
    node = CrdtRedisProc(tmp_path / "n", "a", settings={"appendfsync": "no"}).start()
    try:
        r = node.client()
        base = int(r.info("memory")["used_memory"])
        limit = base + (20 << 20)
        r.config_set("maxmemory", limit)
        r.config_set("maxmemory-policy", "allkeys-random")
        value = b"x" * 1000
        peak = 0
        with socket.create_connection(("127.0.0.1", node.port)) as s:
            for batch in range(60):
                s.sendall(b"".join(encode_command([b"SET", b"k%d:%d" % (batch, j), value]) for j in range(1000)))
                got = 0
                while got < 5000:
                    got += len(s.recv(65536))
                with open(f"/proc/{node.pid}/status") as f:
                    rss = next(int(line.split()[1]) * 1024 for line in f if line.startswith("VmRSS"))
                peak = max(peak, rss)
        info = r.info()
        assert int(info["evicted_keys"]) > 0
        assert peak < 1.5 * limit, (peak, limit)
        assert int(info["used_memory"]) <= limit + (4 << 20)
    finally:
        node.stop()


def test_replicated_writes_and_gc_go_on_while_client_writes_are_refused() -> None:
    c = Cluster(2, 0)
    c.run(0, "SADD", "s", "a", "b")
    c.deliver_all()
    c.run(0, "CONFIG", "SET", "maxmemory", "1")  # noeviction: over the limit at once
    assert "OOM" in str(c.run(0, "SET", "mine", "v"))
    c.run(1, "SET", "theirs", "v")
    c.run(1, "SREM", "s", "a")
    c.deliver_all()
    assert c.run(0, "GET", "theirs") == b"v"  # a peer's write is applied over the limit
    assert c.run(0, "SMEMBERS", "s").items == [b"b"]
    assert c.run(0, "EXISTS", "mine") == 0
    # GC collects the SREM's tombstone while writes are refused (everything is stable).
    assert sum(c[0].node.keyspace.gc_chunks(lambda hlc, origin: True)) > 0
    assert c.run(0, "SMEMBERS", "s").items == [b"b"]
    c.run(0, "CONFIG", "SET", "maxmemory", "0")
    c.run(0, "SET", "mine", "v")
    assert c.run(0, "GET", "mine") == b"v"


def test_maxmemory_bounds_the_replication_backlog() -> None:
    from types import SimpleNamespace

    from crdtredis.replication.backlog import Backlog

    c = Cluster(1, 0)  # (loads the command table before the module below)
    from crdtredis.commands.maxmemory import evictor_of

    node = c[0].node
    node.replication = SimpleNamespace(backlog=Backlog(64 << 20))
    evictor_of(node).cron()  # replication attached after the node: the cron notices
    assert node.replication.backlog.max_bytes == 64 << 20
    c.run(0, "CONFIG", "SET", "maxmemory", "1gb")
    assert node.replication.backlog.max_bytes == (1 << 30) // 32
    c.run(0, "CONFIG", "SET", "maxmemory", "100mb")
    assert node.replication.backlog.max_bytes == 8 << 20  # never below 8 MB
    c.run(0, "CONFIG", "SET", "maxmemory", "0")
    assert node.replication.backlog.max_bytes == 64 << 20


def test_a_write_is_refused_only_on_a_fresh_measure() -> None:
    """Between samples used memory is an estimate that can stay high after memory was
    freed in ways it does not count (another replica's evictions applied here): with
    nothing left to evict, the evictor measures again before answering OOM."""
    c = Cluster(1, 0)
    from crdtredis.commands.maxmemory import evictor_of

    ev = evictor_of(c[0].node)
    c.run(0, "CONFIG", "SET", "maxmemory-policy", "allkeys-lru")
    c.run(0, "CONFIG", "SET", "maxmemory", str(ev.meter.sample() + (64 << 20)))
    ev.meter.written += 1 << 30  # an estimate 1 GB over what the allocators hold
    ev.meter.at -= 1.0  # and the last sample a second old
    assert c.run(0, "SET", "k", "v") == b"OK"
    assert c.run(0, "GET", "k") == b"v"
    ev.meter.written += 1 << 30
    ev.meter.at = time.monotonic()  # a sample this instant: not taken again
    assert "OOM" in str(c.run(0, "SET", "k2", "v"))
