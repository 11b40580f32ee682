"""Scripting against real processes: redis-py's Lock, busy scripts (BUSY replies, SCRIPT
KILL from another connection, SHUTDOWN NOSAVE), a busy script that wrote and is ended
leaves no op at any peer, and function libraries replicate, persist and survive a base
snapshot. (Celery needs pub/sub, which crdt-redis does not have yet.)"""
from __future__ import annotations

import threading
from pathlib import Path

import pytest
import redis
from redis.exceptions import LockNotOwnedError, ResponseError

from tests.support.procs import CrdtRedisProc, wait_until
from tests.test_replication import FAST, make_cluster, stop_all

pytestmark = pytest.mark.slow

LIB = "#!lua name={name}\nredis.register_function('{fn}', function(keys, args) {body} end)"


def test_redis_py_lock_acquire_extend_reacquire_release(crdt_node: CrdtRedisProc) -> None:
    r = crdt_node.client()
    lock = r.lock("resource", timeout=5)
    assert lock.acquire(blocking=False)
    assert r.get("resource") is not None
    other = r.lock("resource", timeout=5)
    assert not other.acquire(blocking=False)
    assert lock.extend(10)
    assert 10_000 < r.pttl("resource") <= 15_000
    assert lock.extend(3, replace_ttl=True)
    assert r.pttl("resource") <= 3_000
    assert lock.reacquire()
    assert r.pttl("resource") > 3_000
    assert lock.locked() and lock.owned()
    lock.release()
    assert r.get("resource") is None
    # A lock whose key went away (expired) cannot be released or extended: the scripts say so.
    lost = r.lock("lost", timeout=5)
    assert lost.acquire(blocking=False)
    r.delete("lost")
    with pytest.raises(LockNotOwnedError):
        lost.release()
    with r.lock("ctx", timeout=5) as held:
        assert held.owned()
        assert r.exists("ctx")
    assert not r.exists("ctx")
    # The scripts were loaded once and run by SHA afterwards (EVALSHA, NOSCRIPT fallback).
    assert all(r.script_exists(*(s.sha for s in (lock.lua_release, lock.lua_extend, lock.lua_reacquire))))


def _start_busy(port: int, script: str, numkeys: int = 0) -> tuple[threading.Thread, list[object]]:
    out: list[object] = []

    def run() -> None:
        c = redis.Redis(port=port, socket_timeout=60)
        try:
            out.append(c.eval(script, numkeys))
        except Exception as e:  # noqa: BLE001 - the test inspects what came back
            out.append(e)
        finally:
            c.close()

    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t, out


def _busy(r: redis.Redis) -> bool:
    try:
        r.ping()
    except ResponseError as e:
        return str(e).startswith("BUSY")
    return False


def test_busy_script_answers_busy_and_script_kill_from_new_connection(crdt_node: CrdtRedisProc) -> None:
    r = crdt_node.client()
    r.config_set("busy-reply-threshold", 50)
    t, out = _start_busy(crdt_node.port, "local i = 0 while true do i = i + 1 end")
    wait_until(lambda: _busy(r), timeout=10)
    with pytest.raises(ResponseError, match="^BUSY Redis is busy running a script. You can only call SCRIPT KILL"):
        r.set("k", "v")
    with pytest.raises(ResponseError, match="BUSY"):
        r.function_kill()
    fresh = redis.Redis(port=crdt_node.port)  # accepted while the script runs
    assert fresh.script_kill() is True
    t.join(10)
    assert isinstance(out[0], ResponseError) and "Script killed by user with SCRIPT KILL" in str(out[0])
    assert r.ping() and fresh.set("k", "v")
    assert r.get("k") == b"v"


def test_killed_busy_script_that_wrote_leaves_no_op_at_any_peer(tmp_path: Path) -> None:
    nodes, links = make_cluster(tmp_path)
    try:
        a, b, c = (n.client() for n in nodes)
        a.set("before", "1")
        wait_until(lambda: b.get("before") == b"1" and c.get("before") == b"1", timeout=20)
        a.config_set("busy-reply-threshold", 50)
        t, out = _start_busy(nodes[0].port,
                             "redis.call('set', 'partial', 'x') redis.call('incr', 'n') while true do end")
        wait_until(lambda: _busy(a), timeout=10)
        with pytest.raises(ResponseError, match="^UNKILLABLE"):
            a.script_kill()
        with pytest.raises(ResponseError, match="^BUSY"):
            a.execute_command("SHUTDOWN")
        try:
            a.execute_command("SHUTDOWN", "NOSAVE")
        except redis.ConnectionError:
            pass
        wait_until(lambda: not nodes[0].is_running(), timeout=10)
        t.join(10)
        # Meanwhile the other replicas go on; the script's writes never reach them...
        b.set("after", "2")
        wait_until(lambda: c.get("after") == b"2", timeout=20)
        assert b.get("partial") is None and c.get("partial") is None
        assert b.get("n") is None and c.get("n") is None
        # ...nor its own log: restarted, it has neither, and it catches up with the rest.
        nodes[0].start()
        a = nodes[0].client()
        wait_until(lambda: a.get("after") == b"2", timeout=30)
        assert a.get("partial") is None and a.get("n") is None and a.get("before") == b"1"
    finally:
        stop_all(nodes, links)


def test_script_writes_replicate_as_one_op(tmp_path: Path) -> None:
    nodes, links = make_cluster(tmp_path, n=2)
    try:
        a, b = (n.client() for n in nodes)
        a.eval("for i = 1, 50 do redis.call('rpush', KEYS[1], i) end redis.call('set', KEYS[2], 'done')", 2, "l", "d")
        wait_until(lambda: b.get("d") == b"done", timeout=20)
        # One op: the peer never shows the flag without the whole list.
        assert b.llen("l") == 50
        with pytest.raises(ResponseError):
            a.eval("redis.call('set', 'e1', '1') redis.call('nosuch')", 0)
        wait_until(lambda: b.get("e1") == b"1", timeout=20)
    finally:
        stop_all(nodes, links)


def test_function_libraries_replicate_persist_and_survive_snapshots(tmp_path: Path) -> None:
    nodes, links = make_cluster(tmp_path, n=2)
    try:
        a, b = (n.client() for n in nodes)
        a.function_load(LIB.format(name="lib", fn="f1", body="return redis.call('incr', keys[1])"))
        wait_until(lambda: b.function_list() != [], timeout=20)
        assert b.fcall("f1", 1, "x") == 1
        assert a.fcall("f1", 1, "x") in (1, 2)
        b.function_load(LIB.format(name="lib2", fn="f2", body="return 'two'"))
        wait_until(lambda: len(a.function_list()) == 2, timeout=20)
        a.function_delete("lib")
        wait_until(lambda: len(b.function_list()) == 1, timeout=20)
        # A base snapshot carries the libraries; a restart restores them.
        a.save()
        nodes[0].restart()
        a = nodes[0].client()
        assert a.fcall("f2", 0) == b"two"
        with pytest.raises(ResponseError, match="Function not found"):
            a.fcall("f1", 0)
        assert [lib[b"library_name"] if isinstance(lib, dict) else lib[1] for lib in a.function_list()] == [b"lib2"]
    finally:
        stop_all(nodes, links)


def test_restart_without_peers_keeps_libraries(tmp_path: Path) -> None:
    node = CrdtRedisProc(tmp_path / "solo", "solo", settings=FAST).start()
    try:
        r = node.client()
        r.function_load(LIB.format(name="lib", fn="f", body="return 7"))
        node.restart()
        assert node.client().fcall("f", 0) == 7
    finally:
        node.stop()


def test_joining_replica_gets_libraries_in_the_snapshot(tmp_path: Path) -> None:
    # A small log backlog (1 MB of encoded ops at least: this writes ~1.6 MB), so the
    # joining node is served a snapshot, not the log.
    nodes, links = make_cluster(tmp_path, n=2, max_segment_size="4096")
    try:
        r0 = nodes[0].client()
        r0.function_load(LIB.format(name="lib", fn="f", body="return 'from the snapshot'"))
        pipe = r0.pipeline(transaction=False)
        for i in range(5000):
            pipe.set(f"key:{i}", "v" * 300)
        pipe.execute()
        wait_until(lambda: nodes[1].client().dbsize() == 5000, timeout=60)
        new = CrdtRedisProc(tmp_path / "n9", "n9", peers=[n.url for n in nodes], settings=FAST).start()
        try:
            r9 = new.client()
            wait_until(lambda: r9.dbsize() == 5000, timeout=90)
            new.wait_synced()  # a function without no-writes is refused until then (READONLY)
            assert r9.info("replication").get("crdt_snapshot_installs", 0) >= 1
            new.wait_synced()  # FCALL may write: it waits for the pull that follows the snapshot
            assert r9.fcall("f", 0) == b"from the snapshot"
        finally:
            new.stop()
    finally:
        stop_all(nodes, links)
