"""The op log under disk faults (issue 13): a failed write(), fsync or rotation refuses
writes with Redis's MISCONF text until the log works again, never touches another file
descriptor, never answers OK for what is not on disk under `appendfsync always`, keeps one
retry timer, and loses nothing acknowledged (a restart shows every acknowledged write).

Faults are injected by replacing the `os` functions the op log module calls."""
from __future__ import annotations

import asyncio
import errno
import os
import threading
from pathlib import Path
from typing import Any

import pytest

from crdtredis.protocol.connection import RedisProtocol
from crdtredis.protocol.resp import encode_command
from crdtredis.storage import oplog as oplog_mod
from tests.support.state import dump_keyspace
from tests.test_persistence import _Transport, open_node, run


class FaultyOS:
    """`oplog.os` with switchable failures of write, fsync and open."""

    def __init__(self) -> None:
        self.fail_write = self.fail_fsync = self.fail_open = False
        self.calls = {"write": 0, "fsync": 0}

    def __getattr__(self, name: str) -> Any:
        return getattr(os, name)

    def write(self, fd: int, data: bytes) -> int:
        self.calls["write"] += 1
        if self.fail_write:
            raise OSError(errno.ENOSPC, "No space left on device")
        return os.write(fd, data)

    def fsync(self, fd: int) -> None:
        self.calls["fsync"] += 1
        if self.fail_fsync:
            raise OSError(errno.EIO, "Input/output error")
        os.fsync(fd)

    def open(self, path: str, flags: int, mode: int = 0o777) -> int:
        if self.fail_open:
            raise OSError(errno.EMFILE, "Too many open files")
        return os.open(path, flags, mode)


@pytest.fixture
def faulty(monkeypatch: pytest.MonkeyPatch) -> FaultyOS:
    f = FaultyOS()
    monkeypatch.setattr(oplog_mod, "os", f)
    return f


async def turn() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def test_disk_full_refuses_writes_with_misconf_then_recovers_losing_nothing(
        tmp_path: Path, faulty: FaultyOS) -> None:
    node, p = await open_node(tmp_path)
    assert p.oplog is not None
    run(node, "SET", "before", "1")
    p.oplog.flush()
    faulty.fail_write = True
    run(node, "SET", "during", "1")  # applied; its write fails
    p.oplog.flush()
    assert node.persistence_error is not None
    reply = run(node, "SET", "refused", "1")
    assert reply.message.startswith("MISCONF Errors writing to the AOF file: No space left on device")
    assert run(node, "GET", "before") == b"1"  # reads keep working
    info = p.info()
    assert info["write_error"] == "No space left on device"
    # Many refused writes, one retry timer.
    for i in range(200):
        run(node, "SET", f"x{i}", "1")
    handles = [h for h in asyncio.get_running_loop()._scheduled if not h.cancelled()]  # type: ignore[attr-defined]
    assert sum(1 for h in handles if getattr(h, "_callback", None) == p.oplog._retry) == 1
    faulty.fail_write = False
    for _ in range(50):  # the retry timer writes what was kept
        if node.persistence_error is None:
            break
        await asyncio.sleep(0.05)
    assert node.persistence_error is None and p.info()["write_error"] == ""
    assert run(node, "SET", "after", "1") == b"OK" or run(node, "GET", "after") == b"1"
    p.oplog.flush()
    state = dump_keyspace(node)
    await p.stop()
    node2, p2 = await open_node(tmp_path)
    assert dump_keyspace(node2) == state
    assert run(node2, "GET", "during") == b"1"
    await p2.stop()


async def test_with_always_a_write_that_hits_a_full_disk_never_gets_ok(tmp_path: Path, faulty: FaultyOS) -> None:
    node, p = await open_node(tmp_path, appendfsync="always")
    assert p.oplog is not None
    seg = tmp_path / p.oplog.seg_name
    proto, t = RedisProtocol(node), _Transport(seg)
    closed: list[bool] = []
    t.close = lambda: closed.append(True)  # type: ignore[method-assign]
    proto.connection_made(t)  # type: ignore[arg-type]
    faulty.fail_write = True
    proto.data_received(encode_command(["SET", "k", "v"]))
    await turn()
    assert not any(b"+OK" in w for w, _size in t.writes)
    assert closed  # the client sees its connection end, never a false OK
    await p.stop()


async def test_with_always_an_fsync_error_never_answers_ok_and_refuses_writes(
        tmp_path: Path, faulty: FaultyOS) -> None:
    node, p = await open_node(tmp_path, appendfsync="always")
    assert p.oplog is not None
    seg = tmp_path / p.oplog.seg_name
    proto, t = RedisProtocol(node), _Transport(seg)
    closed: list[bool] = []
    t.close = lambda: closed.append(True)  # type: ignore[method-assign]
    proto.connection_made(t)  # type: ignore[arg-type]
    faulty.fail_fsync = True
    proto.data_received(encode_command(["SET", "k", "v"]))
    for _ in range(100):
        if closed or t.writes:
            break
        await asyncio.sleep(0.01)
    assert not any(b"+OK" in w for w, _size in t.writes) and closed
    assert node.persistence_error is not None and node.persistence_error.startswith("fsync")
    faulty.fail_fsync = False
    for _ in range(100):
        if node.persistence_error is None:
            break
        await asyncio.sleep(0.05)
    assert node.persistence_error is None
    await p.stop()


async def test_a_failed_rotation_keeps_the_listed_segment_and_no_stale_descriptor(
        tmp_path: Path, faulty: FaultyOS) -> None:
    node, p = await open_node(tmp_path, max_segment_size=4096)
    assert p.oplog is not None
    first = p.oplog.seg_name
    faulty.fail_open = True  # no file descriptor left for the next segment
    for i in range(300):
        run(node, "SET", f"k{i}", "v" * 40)
        p.oplog.flush()
    assert p.oplog.seg_name == first and p.oplog._fd >= 0
    assert p.info()["rotate_error"] == "Too many open files"
    assert node.persistence_error is None  # writes go on into the listed segment
    os.fstat(p.oplog._fd)  # still our segment's descriptor
    assert os.path.samestat(os.fstat(p.oplog._fd), os.stat(tmp_path / first))
    faulty.fail_open = False
    p.oplog._next_rotate = 0.0
    run(node, "SET", "more", "1")
    p.oplog.flush()
    assert p.oplog.seg_name != first and p.info()["rotate_error"] == ""
    state = dump_keyspace(node)
    await p.stop()
    node2, p2 = await open_node(tmp_path)
    assert dump_keyspace(node2) == state
    await p2.stop()


async def test_a_manifest_that_cannot_be_saved_leaves_rotation_undone(
        tmp_path: Path, faulty: FaultyOS, monkeypatch: pytest.MonkeyPatch) -> None:
    node, p = await open_node(tmp_path, max_segment_size=4096)
    assert p.oplog is not None
    first = p.oplog.seg_name

    def no_manifest(*_a: Any) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(oplog_mod, "save_manifest", no_manifest)
    for i in range(300):
        run(node, "SET", f"k{i}", "v" * 40)
        p.oplog.flush()
    assert p.oplog.seg_name == first  # never switched to an unlisted segment
    assert sorted(f for f in os.listdir(tmp_path) if f.endswith(".seg")) == [first]
    state = dump_keyspace(node)
    # As after kill -9: nothing acknowledged may be missing.
    monkeypatch.undo()
    node2, p2 = await open_node(tmp_path)
    assert dump_keyspace(node2) == state
    await p2.stop()


class _HeldFsync:
    """`oplog.os` whose fsyncs from the worker thread wait until released (the rotation's
    own fsync, on the event loop's thread, goes through)."""

    def __init__(self) -> None:
        self.release = threading.Event()

    def __getattr__(self, name: str) -> Any:
        return getattr(os, name)

    def fsync(self, fd: int) -> None:
        if threading.current_thread() is not threading.main_thread():
            assert self.release.wait(10)
        os.fsync(fd)


@pytest.mark.parametrize("policy", ["everysec", "always"])
async def test_an_fsync_that_ends_after_a_rotation_leaves_the_new_segment_syncing(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, policy: str) -> None:
    """An fsync running while the segment rotates ends with an offset of the old segment:
    it must not count as synced in the new one. It did: no fsync started again until the
    new segment outgrew that offset, so the durable vectors (acks, causal stability) stood
    still, and `always` answered writes without waiting for their fsync."""
    held = _HeldFsync()
    monkeypatch.setattr(oplog_mod, "os", held)
    node, p = await open_node(tmp_path, max_segment_size=4096, appendfsync=policy)
    log = p.oplog
    assert log is not None
    first = log.seg_name
    for i in range(20):
        run(node, "SET", f"k{i}", "v" * 40)
    log.flush()
    log._start_fsync()  # held in the worker thread, its target an offset of `first`
    assert log._fsync_running
    i = 20
    while log.seg_name == first:
        run(node, "SET", f"k{i}", "v" * 40)
        log.flush()
        i += 1
    run(node, "SET", "after", "1")
    log.flush()
    held.release.set()
    for _ in range(200):
        if not log._fsync_running and not log._sync_waiters:
            break
        await asyncio.sleep(0.01)
    assert log.synced <= log.written
    # The next fsync covers the new segment and moves the durable vectors to every write.
    run(node, "SET", "later", "1")
    if policy == "always":
        assert log.batch_hook() is not None  # a write waits for its fsync
    else:
        log.flush()
        log._start_fsync()
    for _ in range(200):
        if not log._fsync_running and log.synced == log.written:
            break
        await asyncio.sleep(0.01)
    assert log.synced == log.written
    vv, _vh = log.durable()
    assert vv == node.keyspace.vv
    await p.stop()
