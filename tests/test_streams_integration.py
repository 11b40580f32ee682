"""Streams with real processes: a consumer group read at one replica while another replica
adds entries, blocked readers woken by replicated entries, producers and consumers at both
replicas (every entry delivered at least once), restart from the op log and a snapshot,
and rq 3.x (which keeps job results in streams) across two replicas."""
from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from tests.support.procs import CrdtRedisProc, free_port, wait_until
from tests.support.state import dump_client

FAST = {"sync_interval": "0.2", "retry_interval": "0.05", "gc_interval": "0.5"}


def pair(tmp: Path) -> list[CrdtRedisProc]:
    http = [free_port(), free_port()]
    nodes = [CrdtRedisProc(tmp / f"n{i}", f"n{i}", http_port=http[i], peers=[f"http://127.0.0.1:{http[1 - i]}"],
                           settings=FAST) for i in range(2)]
    for n in nodes:
        n.start()
    for n in nodes:
        # Checkouts with explicit founding: a new cluster takes writes once all have met.
        wait_synced = getattr(n, "wait_synced", None)
        if wait_synced is not None:
            wait_synced()
    return nodes


def stop(nodes: list[CrdtRedisProc]) -> None:
    for n in nodes:
        n.stop()


def _converged(nodes: list[CrdtRedisProc]) -> bool:
    dumps = [dump_client(n.client(), 1) for n in nodes]
    return dumps[0] == dumps[1]


def test_xreadgroup_at_one_replica_sees_every_xadd_of_the_other(tmp_path: Path) -> None:
    nodes = pair(tmp_path)
    try:
        a, b = (n.client() for n in nodes)
        a.xgroup_create("jobs", "workers", id="0", mkstream=True)
        wait_until(lambda: b.exists("jobs") == 1, timeout=20, msg="group not replicated")
        seen: list[bytes] = []
        errors: list[BaseException] = []

        def consume() -> None:
            c = nodes[0].client()
            try:
                while len(seen) < 50:
                    # Blocks at replica A until entries written at B arrive by replication.
                    reply = c.xreadgroup("workers", "w1", {"jobs": ">"}, count=10, block=10_000)
                    for _key, entries in reply or []:
                        for eid, fields in entries:
                            seen.append(fields[b"n"])
                            c.xack("jobs", "workers", eid)
            except BaseException as e:  # noqa: BLE001 - reported by the main thread
                errors.append(e)

        t = threading.Thread(target=consume)
        t.start()
        for i in range(50):
            b.xadd("jobs", {"n": str(i)})
        t.join(timeout=60)
        assert not errors and not t.is_alive()
        assert sorted(seen, key=int) == [str(i).encode() for i in range(50)]
        wait_until(lambda: _converged(nodes), timeout=20, msg="replicas differ")
        for c in (a, b):
            assert c.xpending("jobs", "workers")["pending"] == 0
            assert c.xinfo_groups("jobs")[0]["lag"] == 0
    finally:
        stop(nodes)


def test_blocked_xread_is_woken_by_a_replicated_entry(tmp_path: Path) -> None:
    nodes = pair(tmp_path)
    try:
        a, b = (n.client() for n in nodes)
        b.xadd("s", {"f": "old"}, id="1-1")
        wait_until(lambda: a.xlen("s") == 1, timeout=20)
        out: list[Any] = []
        t = threading.Thread(target=lambda: out.append(nodes[0].client().xread({"s": "$"}, block=20_000)))
        t.start()
        wait_until(lambda: int(a.info("clients")["blocked_clients"]) == 1, timeout=10)
        b.xadd("s", {"f": "new"}, id="2-1")
        t.join(timeout=30)
        assert out == [[[b"s", [(b"2-1", {b"f": b"new"})]]]]
    finally:
        stop(nodes)


def test_producers_and_consumers_at_both_replicas_deliver_every_entry(tmp_path: Path) -> None:
    nodes = pair(tmp_path)
    try:
        a, b = (n.client() for n in nodes)
        a.xgroup_create("q", "g", id="0", mkstream=True)
        wait_until(lambda: b.exists("q") == 1, timeout=20)
        got: dict[int, list[bytes]] = {0: [], 1: []}

        def consumer(i: int, stop_at: threading.Event) -> None:
            c = nodes[i].client()
            while not stop_at.is_set():
                reply = c.xreadgroup("g", f"c{i}", {"q": ">"}, count=5, block=200)
                for _key, entries in reply or []:
                    for eid, fields in entries:
                        got[i].append(fields[b"v"])
                        c.xack("q", "g", eid)

        done = threading.Event()
        threads = [threading.Thread(target=consumer, args=(i, done)) for i in (0, 1)]
        for t in threads:
            t.start()
        for k in range(60):
            (a if k % 2 else b).xadd("q", {"v": f"{k}"})
        total = {str(k).encode() for k in range(60)}
        wait_until(lambda: set(got[0]) | set(got[1]) == total, timeout=60, msg="entries never delivered")
        wait_until(lambda: _converged(nodes), timeout=30)
        done.set()
        for t in threads:
            t.join(timeout=10)
        # At least once: every entry reached a consumer; an entry read at both replicas
        # before they exchanged the reads is the documented duplicate.
        assert set(got[0]) | set(got[1]) == total
        assert a.xlen("q") == b.xlen("q") == 60
        ids = [e[0] for e in a.xrange("q")]
        assert len(set(ids)) == 60  # IDs made at two replicas never collide
    finally:
        stop(nodes)


def test_stream_and_groups_survive_restart(tmp_path: Path) -> None:
    node = CrdtRedisProc(tmp_path / "n1", "n1").start()
    try:
        r = node.client()
        for i in range(300):
            r.xadd("s", {"i": str(i)}, id=f"{i + 1}-0")
        r.xgroup_create("s", "g", id="0")
        r.xreadgroup("g", "alice", {"s": ">"}, count=7)
        r.xdel("s", "3-0")
        before = (r.xrange("s"), r.xpending_range("s", "g", "-", "+", 100), r.xinfo_stream("s"))
        r.execute_command("SAVE")
        r.xadd("s", {"i": "after-save"}, id="1000-0")
        node.restart()
        r = node.client()
        after = (r.xrange("s"), r.xpending_range("s", "g", "-", "+", 100), r.xinfo_stream("s"))
        assert after[0] == before[0] + [(b"1000-0", {b"i": b"after-save"})]
        assert [p["message_id"] for p in after[1]] == [p["message_id"] for p in before[1]]
        assert after[2]["entries-added"] == before[2]["entries-added"] + 1
    finally:
        node.stop()


# ---- rq 3.x --------------------------------------------------------------------------
JOBS = '''
def add(a, b):
    return a + b
'''


@pytest.fixture(scope="session")
def rq_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """rq 3.x installed with pip into a directory of its own (not the system site): the
    test runs the worker and the client with it on PYTHONPATH. Skips without an index."""
    target = tmp_path_factory.mktemp("rq")
    proc = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--disable-pip-version-check",
                           "--target", str(target), "rq>=3,<4"], capture_output=True, text=True, timeout=300)
    if proc.returncode != 0:
        pytest.skip(f"cannot pip install rq 3.x: {proc.stderr.strip()[-300:]}")
    return target


@pytest.mark.slow
def test_rq_job_enqueued_at_one_replica_runs_by_a_burst_worker_at_the_other(tmp_path: Path, rq_path: Path) -> None:
    (tmp_path / "jobs.py").write_text(JOBS)
    nodes = pair(tmp_path)
    env = {**os.environ, "PYTHONPATH": f"{rq_path}{os.pathsep}{tmp_path}"}
    try:
        enqueue = (
            "import redis, rq, jobs, sys\n"
            "assert rq.__version__.startswith('3.'), rq.__version__\n"
            f"q = rq.Queue(connection=redis.Redis(port={nodes[0].port}))\n"
            "print(q.enqueue(jobs.add, 2, 3).id)\n"
        )
        out = subprocess.run([sys.executable, "-c", enqueue], env=env, capture_output=True, text=True,
                             timeout=60, cwd=tmp_path)
        assert out.returncode == 0, out.stderr
        job_id = out.stdout.strip().splitlines()[-1]
        b = nodes[1].client()
        wait_until(lambda: b.llen("rq:queue:default") == 1, timeout=20, msg="queue not replicated")
        # A burst worker, its own process, at the other replica.
        work = subprocess.run([sys.executable, "-m", "rq.cli", "worker", "--burst", "--url",
                               f"redis://127.0.0.1:{nodes[1].port}", "default"],
                              env=env, capture_output=True, text=True, timeout=120, cwd=tmp_path)
        assert work.returncode == 0, work.stderr[-2000:]
        read = (
            "import redis, rq\n"
            f"job = rq.job.Job.fetch({job_id!r}, connection=redis.Redis(port={nodes[0].port}))\n"
            "print(job.get_status(), job.return_value(), [r.type.name for r in job.results()])\n"
        )

        def finished() -> bool:
            r = subprocess.run([sys.executable, "-c", read], env=env, capture_output=True, text=True,
                               timeout=60, cwd=tmp_path)
            return r.returncode == 0 and r.stdout.split() == ["JobStatus.FINISHED", "5", "['SUCCESSFUL']"]

        wait_until(finished, timeout=30, msg="the job's result did not reach the first replica")
        assert nodes[0].client().xlen(f"rq:results:{job_id}") == 1
    finally:
        stop(nodes)


def _events(p: Any, n: int) -> list[bytes]:
    out: list[bytes] = []

    def got() -> bool:
        m = p.get_message(timeout=0.1)
        if m and m["type"] == "pmessage":
            out.append(m["data"])
        return len(out) >= n

    wait_until(got, timeout=20, interval=0.01, msg=f"{n} keyspace events (got {out})")
    return out


def test_stream_keyspace_events_local_and_replicated(tmp_path: Path) -> None:
    from crdtredis.commands.stream_notify import HAS_NOTIFY

    if not HAS_NOTIFY:
        pytest.skip("keyspace notifications are not in this checkout")
    nodes = pair(tmp_path)
    try:
        a, b = (n.client() for n in nodes)
        for c in (a, b):
            c.config_set("notify-keyspace-events", "Kt")
        p = a.pubsub()
        p.psubscribe("__keyspace@0__:*")
        _events_ready = p.get_message(timeout=5)
        assert _events_ready is not None and _events_ready["type"] == "psubscribe"
        # The sequence of Redis's "stream events" test (unit/pubsub), at this replica.
        a.xgroup_create("mystream", "mygroup", id="$", mkstream=True)
        a.xgroup_createconsumer("mystream", "mygroup", "Bob")
        eid = a.xadd("mystream", {"field1": "A"}, id="1")
        a.xreadgroup("mygroup", "Alice", {"mystream": ">"})
        a.xclaim("mystream", "mygroup", "Mike", 0, [eid], force=True)
        a.xgroup_delconsumer("mystream", "mygroup", "Lee")
        a.xautoclaim("mystream", "mygroup", "Bob", 0, eid)
        a.xgroup_delconsumer("mystream", "mygroup", "Bob")
        assert _events(p, 6) == [b"xgroup-create", b"xgroup-createconsumer", b"xadd", b"xgroup-createconsumer",
                                 b"xgroup-createconsumer", b"xgroup-delconsumer"]
        # Written at the other replica: the event fires here when the entry arrives.
        b.xadd("mystream", {"f": "v"}, id="2")
        assert _events(p, 1) == [b"xadd"]
        b.xtrim("mystream", maxlen=0)
        assert _events(p, 1) == [b"xtrim"]
        p.close()
    finally:
        stop(nodes)
