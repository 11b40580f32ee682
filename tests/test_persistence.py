"""The op log in-process: recovery replays to the same state, compaction keeps it,
corruption is refused with file and offset, torn tails are truncated, check-log."""
from __future__ import annotations

import asyncio
import dataclasses
import os
from pathlib import Path
from typing import Any

import pytest

from crdtredis.commands import new_node
from crdtredis.config import default_config
from crdtredis.node import Node
from crdtredis.op import Op
from crdtredis.protocol.connection import RedisProtocol
from crdtredis.protocol.resp import encode_command
from crdtredis.storage import oplog as oplog_mod
from crdtredis.storage.component import Persistence
from crdtredis.storage.framing import MAGIC_SIZE, iter_records
from crdtredis.storage.manifest import StorageError, load_manifest
from crdtredis.storage.recovery import check_log
from crdtredis.wire.codec import OpDecoder
from tests.support.procs import poll_until
from tests.support.state import dump_keyspace


async def open_node(d: Path, **kw: Any) -> tuple[Node, Persistence]:
    cfg = dataclasses.replace(default_config(), data_dir=str(d), **kw)
    p = Persistence(cfg.data_dir, cfg.replica_id)
    node = new_node(cfg, incarnation=p.incarnation)
    p.attach(node)
    await p.start()
    return node, p


def flush(p: Persistence) -> None:
    """Write the group commit now (what the server does before replies leave)."""
    assert p.oplog is not None
    p.oplog.flush()


def run(node: Node, *argv: Any) -> Any:
    c = node.new_client("t", "t", lambda: None)
    return node.execute(c, [a if isinstance(a, bytes) else str(a).encode() for a in argv])


def load_some(node: Node) -> None:
    run(node, "SET", "s", "hello")
    run(node, "INCRBY", "n", 41)
    run(node, "INCR", "n")
    run(node, "SET", "ttl", "x", "EX", 1000)
    run(node, "APPEND", "s", " world")
    run(node, "INCRBYFLOAT", "f", "1.5")
    c = node.new_client("t", "t", lambda: None)
    node.execute(c, [b"SELECT", b"9"])
    node.execute(c, [b"SET", b"in9", b"nine"])
    node.execute(c, [b"MULTI"])
    node.execute(c, [b"SET", b"tx1", b"a"])
    node.execute(c, [b"INCR", b"tx2"])
    node.execute(c, [b"EXEC"])
    run(node, "DEL", "gone")
    run(node, "SET", "gone", "1")
    run(node, "DEL", "gone")


async def test_a_restart_reports_the_writes_it_replayed_as_well_as_the_ops(tmp_path: Path) -> None:
    node, p = await open_node(tmp_path)
    c = node.new_client("t", "t", lambda: None)
    c.batching = True  # one read batch: its three writes share an op (node.MERGEABLE)
    for argv in ([b"SET", b"a", b"1"], [b"INCR", b"n"], [b"SADD", b"s", b"x"]):
        node.execute(c, argv)
    c.batching = False
    node.batch_done()
    run(node, "SET", "b", "2")
    flush(p)
    await p.stop()
    _, p2 = await open_node(tmp_path)
    info = p2.info()
    assert (info["last_load_ops"], info["last_load_effects"]) == (2, 4)
    await p2.stop()


async def test_restart_replays_to_the_same_state(tmp_path: Path) -> None:
    node, p = await open_node(tmp_path)
    load_some(node)
    flush(p)
    before = dump_keyspace(node)
    await p.stop()
    node2, p2 = await open_node(tmp_path)
    assert dump_keyspace(node2) == before
    # A clean shutdown keeps the incarnation: the origin continues its seq numbering.
    assert node2.origin == node.origin
    assert node2.keyspace.vv[node.origin] == node.keyspace.vv[node.origin]
    await p2.stop()


async def test_unclean_stop_takes_a_new_incarnation(tmp_path: Path) -> None:
    node, p = await open_node(tmp_path)
    load_some(node)
    flush(p)
    before = dump_keyspace(node)
    # No stop(): as after kill -9.
    node2, p2 = await open_node(tmp_path)
    assert dump_keyspace(node2) == before
    assert node2.origin != node.origin
    run(node2, "SET", "after", "1")
    await p2.stop()
    node3, p3 = await open_node(tmp_path)
    assert run(node3, "GET", "after") == b"1"
    await p3.stop()


@pytest.mark.parametrize("via_save", [False, True])
async def test_compaction_keeps_state_and_restart_after_it(tmp_path: Path, via_save: bool) -> None:
    node, p = await open_node(tmp_path)
    load_some(node)
    flush(p)
    before = dump_keyspace(node)
    assert p.oplog is not None
    if via_save:
        assert p.oplog.save_sync()
    else:
        assert await p.oplog.compact()
    m = load_manifest(str(tmp_path))
    assert m is not None and m.base is not None
    assert len(m.segments) == 1  # everything before the snapshot retired
    assert dump_keyspace(node) == before
    run(node, "SET", "post", "compaction")
    flush(p)
    before2 = dump_keyspace(node)
    await p.stop()
    node2, p2 = await open_node(tmp_path)
    assert dump_keyspace(node2) == before2
    await p2.stop()


async def test_retention_hook_keeps_unacked_segments(tmp_path: Path) -> None:
    node, p = await open_node(tmp_path)
    assert p.oplog is not None
    p.oplog.retention = lambda end_vv: False
    load_some(node)
    flush(p)
    p.oplog.rotate()
    n_before = len(p.oplog.manifest.segments)
    assert await p.oplog.compact()
    assert len(p.oplog.manifest.segments) >= n_before  # nothing retired
    before = dump_keyspace(node)
    await p.stop()
    node2, p2 = await open_node(tmp_path)
    assert dump_keyspace(node2) == before
    await p2.stop()


async def test_rotation_at_max_segment_size(tmp_path: Path) -> None:
    node, p = await open_node(tmp_path, max_segment_size=4096, compaction_threshold=1000)
    for i in range(300):
        run(node, "SET", f"k{i}", "v" * 50)
        flush(p)
    assert p.oplog is not None and len(p.oplog.manifest.segments) > 3
    before = dump_keyspace(node)
    await p.stop()
    node2, p2 = await open_node(tmp_path)
    assert dump_keyspace(node2) == before
    await p2.stop()


@pytest.mark.parametrize("solo", [True, False])
async def test_everysec_fsyncs_follow_the_writes_paced_only_in_a_cluster(
        tmp_path: Path, solo: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    """Bytes written during an fsync: in a cluster (acks report durable ops) the next fsync
    follows, but no sooner than CLUSTER_FSYNC_GAP after the last one started; a replica
    alone leaves them to the next second, as Redis's everysec."""
    monkeypatch.setattr(oplog_mod, "CLUSTER_FSYNC_GAP", 0.3)
    node, p = await open_node(tmp_path)  # appendfsync everysec, the default
    log = p.oplog
    assert log is not None and log.appendfsync == "everysec"
    for t in log._tasks:
        t.cancel()  # no once-a-second fsync while this runs: only the one started below
    node.set_solo(solo)
    run(node, "SET", "a", "1")
    flush(p)
    target = log.written
    log._start_fsync()
    first = log._fsync_started
    run(node, "SET", "b", "2")  # written while that fsync runs
    flush(p)
    assert log.written > target
    await poll_until(lambda: log.synced >= target and not log._fsync_running, msg="the first fsync")
    if solo:
        assert target <= log.synced < log.written and log._fsync_timer is None
    else:
        await poll_until(lambda: log.synced == log.written, msg="the paced second fsync")
        assert log.synced == log.written
        assert log._fsync_started >= first + 0.3  # the second fsync waited out the gap
    await p.stop()


async def test_threshold_triggers_compaction(tmp_path: Path) -> None:
    node, p = await open_node(tmp_path, max_segment_size=4096, compaction_threshold=2)
    for i in range(400):
        run(node, "SET", f"k{i}", "v" * 50)
        flush(p)
    for _ in range(500):
        if p.oplog is not None and p.oplog.manifest.compactions and not p.oplog.compacting:
            break
        await asyncio.sleep(0.01)  # polling (bounded above) for the background compaction
    assert p.oplog is not None and p.oplog.manifest.compactions >= 1
    before = dump_keyspace(node)
    await p.stop()
    node2, p2 = await open_node(tmp_path)
    assert dump_keyspace(node2) == before
    await p2.stop()


async def _two_segments(tmp_path: Path) -> tuple[list[str], dict[Any, Any]]:
    node, p = await open_node(tmp_path)
    for i in range(20):
        run(node, "SET", f"a{i}", i)
    flush(p)
    assert p.oplog is not None
    p.oplog.rotate()
    for i in range(20):
        run(node, "SET", f"b{i}", i)
        flush(p)  # one group-commit record per write
    state = dump_keyspace(node)
    await p.stop()
    m = load_manifest(str(tmp_path))
    assert m is not None
    return [s.name for s in m.segments], state


async def test_torn_tail_of_last_segment_is_truncated(tmp_path: Path, caplog: Any) -> None:
    names, _state = await _two_segments(tmp_path)
    last = tmp_path / names[-1]
    size = last.stat().st_size
    with open(last, "r+b") as f:
        f.truncate(size - 3)  # a crash in the middle of the last record's write
    node, p = await open_node(tmp_path)
    assert run(node, "GET", "b18") == b"18"
    assert run(node, "GET", "b19") is None  # the torn record is gone
    assert "truncating" in caplog.text
    await p.stop()


async def test_corruption_in_an_earlier_segment_refuses_to_start(tmp_path: Path) -> None:
    names, _state = await _two_segments(tmp_path)
    first = tmp_path / names[0]
    data = bytearray(first.read_bytes())
    data[MAGIC_SIZE + 20] ^= 0xFF
    first.write_bytes(bytes(data))
    with pytest.raises(StorageError) as ei:
        await open_node(tmp_path)
    msg = str(ei.value)
    assert names[0] in msg and "offset" in msg and "check-log" in msg
    status, lines = check_log(str(tmp_path), fix=False)
    assert status == 1 and any("offset" in line for line in lines)
    status, lines = check_log(str(tmp_path), fix=True)
    assert status == 0
    assert check_log(str(tmp_path), fix=False)[0] == 0
    node, p = await open_node(tmp_path)  # starts, as a new incarnation, with the good prefix
    assert run(node, "GET", "b0") is None
    await p.stop()


async def test_replica_id_mismatch_is_refused(tmp_path: Path) -> None:
    node, p = await open_node(tmp_path)
    await p.stop()
    with pytest.raises(StorageError, match="belongs to replica"):
        await open_node(tmp_path, replica_id="someone-else")


async def test_a_missing_segment_refuses_start_until_check_log_fixes_it(tmp_path: Path) -> None:
    names, _state = await _two_segments(tmp_path)
    node, p = await open_node(tmp_path)
    inc = node.origin
    await p.stop()
    os.unlink(tmp_path / names[0])
    with pytest.raises(StorageError, match=rf"{names[0]}: segment listed in MANIFEST is missing; refusing"):
        await open_node(tmp_path)
    status, _lines = check_log(str(tmp_path), fix=True)
    node2, p2 = await open_node(tmp_path)  # what check-log kept: a new incarnation
    assert node2.origin != inc
    await p2.stop()


async def test_a_missing_manifest_with_data_refuses_start_and_check_log_rebuilds_it(tmp_path: Path) -> None:
    node, p = await open_node(tmp_path)
    load_some(node)
    flush(p)
    before = dump_keyspace(node)
    await p.stop()
    os.unlink(tmp_path / "MANIFEST")
    with pytest.raises(StorageError, match="MANIFEST: missing, but the data directory holds 000001.seg"):
        await open_node(tmp_path)
    assert check_log(str(tmp_path), fix=False)[0] == 1
    assert check_log(str(tmp_path), fix=True)[0] == 0
    node2, p2 = await open_node(tmp_path)
    assert dump_keyspace(node2) == before
    await p2.stop()


def test_a_second_process_on_the_same_data_dir_is_refused(tmp_path: Path) -> None:
    import subprocess
    import sys

    from crdtredis.storage.recovery import lock_data_dir

    fd = lock_data_dir(str(tmp_path))
    try:
        code = ("import sys; from crdtredis.storage.recovery import lock_data_dir\n"
                "from crdtredis.storage.manifest import StorageError\n"
                f"try: lock_data_dir({str(tmp_path)!r})\n"
                "except StorageError as e: print(e); sys.exit(3)\n")
        r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30)
        assert r.returncode == 3
        assert f"in use by another crdt-redis process (pid {os.getpid()})" in r.stdout
    finally:
        os.close(fd)


# -- group commit: one log write per loop turn, before any reply of it ---------------------


class _Transport:
    """Records each reply write with the op log's size at that moment."""

    def __init__(self, seg: Path) -> None:
        self.seg = seg
        self.writes: list[tuple[bytes, int]] = []

    def write(self, data: Any) -> None:
        self.writes.append((bytes(data), self.seg.stat().st_size))

    def is_closing(self) -> bool:
        return False

    def get_extra_info(self, name: str) -> Any:
        return ("127.0.0.1", 50000)

    def set_write_buffer_limits(self, high: int, low: int) -> None:
        pass

    def get_write_buffer_size(self) -> int:
        return 0

    def close(self) -> None:
        pass


def _connect(node: Node, seg: Path, n: int) -> list[tuple[RedisProtocol, _Transport]]:
    """n client connections of `node` on transports that record each reply write."""
    conns = []
    for _ in range(n):
        proto, t = RedisProtocol(node), _Transport(seg)
        proto.connection_made(t)  # type: ignore[arg-type]
        conns.append((proto, t))
    return conns


def _records(seg: Path) -> list[bytes]:
    return [payload for _pos, payload in iter_records(seg.read_bytes(), MAGIC_SIZE)]


async def test_group_commit_writes_batches_of_all_connections_once_before_replies(tmp_path: Path) -> None:
    node, p = await open_node(tmp_path)
    assert p.oplog is not None
    seg = tmp_path / p.oplog.seg_name
    conns = _connect(node, seg, 3)
    # A turn with two writing batches: the first is written at once (the turn before had
    # none), the second waits for the turn's shared write. The next turn is then a busy one.
    conns[0][0].data_received(encode_command(["SET", "w0", "v"]))
    assert conns[0][1].writes == [(b"+OK\r\n", seg.stat().st_size)]
    conns[1][0].data_received(encode_command(["SET", "w1", "v"]))
    assert not conns[1][1].writes
    for _ in range(100):
        if conns[1][1].writes:
            break
        await asyncio.sleep(0)
    for _proto, t in conns:
        t.writes.clear()
    size0, records0 = seg.stat().st_size, len(_records(seg))
    for i, (proto, _t) in enumerate(conns):
        proto.data_received(encode_command(["SET", f"k{i}", "v"]) + encode_command(["INCR", f"n{i}"]))
    assert all(not t.writes for _p, t in conns)  # replies wait for the log write
    for _ in range(100):
        if all(t.writes for _p, t in conns):
            break
        await asyncio.sleep(0)
    records = _records(seg)
    assert len(records) == records0 + 1  # one write for the three connections
    ops = OpDecoder().decode_batch(records[-1])
    assert sorted(e[2] for op in ops for e in op.effects) == [b"k0", b"k1", b"k2", b"n0", b"n1", b"n2"]
    for _proto, t in conns:
        assert t.writes == [(b"+OK\r\n:1\r\n", seg.stat().st_size)]
        assert t.writes[0][1] > size0
    # A batch that wrote nothing does not wait.
    proto, t = conns[0]
    proto.data_received(encode_command(["GET", "k0"]))
    assert t.writes[-1][0] == b"$1\r\nv\r\n"
    await p.stop()


async def test_a_lone_writers_batch_is_written_before_its_replies_at_once(tmp_path: Path) -> None:
    """A turn whose writes come from one batch alone (an unpipelined client) does not wait
    for the turn's end: the log is written, then the reply, inside data_received. As soon
    as a turn has two writing batches, the next turn's batches share one write again."""
    node, p = await open_node(tmp_path)
    assert p.oplog is not None
    seg = tmp_path / p.oplog.seg_name
    conns = _connect(node, seg, 2)
    (a, ta), (b, tb) = conns
    for i in range(3):
        records0 = len(_records(seg))
        a.data_received(encode_command(["SET", f"k{i}", "v"]))
        assert len(_records(seg)) == records0 + 1
        assert ta.writes[-1] == (b"+OK\r\n", seg.stat().st_size)
        await asyncio.sleep(0)  # the turn ends
    a.data_received(encode_command(["INCR", "n"]))
    b.data_received(encode_command(["INCR", "n"]))  # a second writer in the same turn waits
    assert ta.writes[-1][0] == b":1\r\n" and not tb.writes
    for _ in range(100):
        if tb.writes:
            break
        await asyncio.sleep(0)
    assert tb.writes == [(b":2\r\n", seg.stat().st_size)]
    ta.writes.clear()
    a.data_received(encode_command(["SET", "x", "1"]))  # the turn before was a busy one
    assert not ta.writes
    for _ in range(100):
        if ta.writes:
            break
        await asyncio.sleep(0)
    assert ta.writes == [(b"+OK\r\n", seg.stat().st_size)]
    await p.stop()


@pytest.mark.parametrize("busy", [False, True])
async def test_a_writes_reply_leaves_after_the_blocked_clients_it_woke_are_served(tmp_path: Path, busy: bool) -> None:
    """A chain of blocked clients (as in Redis's "Circular BRPOPLPUSH"): an RPUSH to list1
    moves the value list1 -> list2 -> list3 before its reply leaves, so whoever reads the
    reply sees the chain done (Redis serves blocked clients before writing any reply).
    Both for a lone writer (its batch writes the log and replies at once) and one whose
    reply waits for the turn's shared write."""
    node, p = await open_node(tmp_path)
    assert p.oplog is not None
    seg = tmp_path / p.oplog.seg_name
    conns = _connect(node, seg, 4)
    (r, tr), (rd1, _t1), (rd2, _t2), (other, _to) = conns
    rd1.data_received(encode_command(["BRPOPLPUSH", "list1", "list2", "0"]))
    rd2.data_received(encode_command(["BRPOPLPUSH", "list2", "list3", "0"]))
    for _ in range(3):
        await asyncio.sleep(0)
    if busy:  # two writers in a turn: the next turn's writers share one write
        r.data_received(encode_command(["SET", "a", "1"]))
        other.data_received(encode_command(["SET", "b", "1"]))
        for _ in range(3):
            await asyncio.sleep(0)
    tr.writes.clear()
    seen: list[Any] = []
    write = tr.write

    def on_reply(data: Any) -> None:
        seen.append([run(node, "LRANGE", k, 0, -1) for k in ("list1", "list2", "list3")])
        write(data)

    tr.write = on_reply  # type: ignore[method-assign]
    r.data_received(encode_command(["RPUSH", "list1", "foo"]))
    for _ in range(100):
        if tr.writes:
            break
        await asyncio.sleep(0)
    assert tr.writes[0][0] == b":1\r\n"
    assert seen == [[[], [], [b"foo"]]]
    await p.stop()


async def test_an_op_the_encoder_rejects_is_left_out_alone(tmp_path: Path, caplog: Any) -> None:
    node, p = await open_node(tmp_path)
    assert p.oplog is not None
    seg = tmp_path / p.oplog.seg_name
    good = Op(node.origin, 1, 1 << 40, {"x.1": 5}, [(10, 0, b"a", b"1", 0, None)])
    bad = Op(node.origin, 2, (1 << 40) + 1, {"x.1": 5}, [(10, 0, b"b", object(), 0, None)])
    after = Op(node.origin, 3, (1 << 40) + 2, good.deps, [(10, 0, b"c", b"3", 0, None)])
    for op in (good, bad, after):
        p.oplog.append(op)
    p.oplog.flush()
    assert "cannot encode" in caplog.text
    assert OpDecoder().decode_batch(_records(seg)[-1]) == [good, after]
    await p.stop()


@pytest.mark.parametrize("cmd", [["BGREWRITEAOF"], ["BGSAVE", "SCHEDULE"]])
async def test_a_rewrite_asked_for_during_a_compaction_runs_after_it(tmp_path: Path, cmd: list[str]) -> None:
    """Redis answers "scheduled" and runs it once the busy child ends: so does this node.
    The first compaction covers the log up to where it began; the scheduled one, the
    writes made while the first ran."""
    node, p = await open_node(tmp_path)
    log = p.oplog
    assert log is not None
    run(node, "SET", "before", "1")
    flush(p)
    held = asyncio.Event()  # the first child keeps writing until this is set
    entered = asyncio.Event()  # the first child is writing
    second_done = asyncio.Event()  # the second child wrote its snapshot
    real = log._fork_write
    calls = 0

    async def slow_fork_write(ks: Any, hlc: int, path: str) -> bool:
        nonlocal calls
        calls += 1
        entered.set()
        await held.wait()
        ok = await real(ks, hlc, path)
        if calls == 2:
            second_done.set()
        return ok

    log._fork_write = slow_fork_write  # type: ignore[method-assign]
    assert run(node, "BGREWRITEAOF") == b"Background append only file rewriting started"
    assert log.compacting  # before its task ran: a second request now is scheduled, not started
    await asyncio.wait_for(entered.wait(), 30)  # the first snapshot began before the next write
    run(node, "SET", "during", "2")
    flush(p)
    reply = run(node, *cmd)
    assert reply == (b"Background append only file rewriting scheduled" if cmd[0] == "BGREWRITEAOF"
                     else b"Background saving scheduled")
    assert log.compact_scheduled and b"aof_rewrite_scheduled:1" in run(node, "INFO", "persistence").data
    held.set()
    # The second compaction ends in the same task step as its child's write: once woken
    # here, both are done.
    await asyncio.wait_for(second_done.wait(), 60)
    assert log.manifest.compactions == 2 and not log.compacting and not log.compact_scheduled
    # The second base holds the write made during the first: no segment is needed for it.
    log._fork_write = real  # type: ignore[method-assign]
    before = dump_keyspace(node)
    await p.stop()
    node2, p2 = await open_node(tmp_path)
    assert dump_keyspace(node2) == before and run(node2, "GET", "during") == b"2"
    await p2.stop()
