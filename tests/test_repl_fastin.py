"""Pushed batches decoded from their bytes (replication/fastin.py) and logged as received
(OpLog.append_encoded): the same head and ops as protobuf's parse, or the protobuf path;
a log holding received bytes replays to the same state."""
from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from crdtredis.commands import new_node
from crdtredis.config import default_config
from crdtredis.op import Op
from crdtredis.replication.fastin import head_end, parse_push
from crdtredis.replication.inbox import apply_batch
from crdtredis.storage.framing import MAGIC_SIZE, iter_records
from crdtredis.wire import ops_pb2 as pb
from crdtredis.wire.codec import DecodeError, OpDecoder, OpEncoder
from tests.support.state import dump_keyspace
from tests.test_persistence import flush, open_node, run
from tests.test_wire_codec import ops as any_ops
from tests.test_wire_fastdec import fast_ops


def head(**kw: Any) -> pb.OpBatch:
    b = pb.OpBatch(version=2, sender="a.1", replica_id="a", status="member", cluster_id="c")
    b.vv.update({"a.1": 7, "b.2": 1 << 40})
    b.dvh.update({"a.1": 1 << 60})
    a = b.members.add(replica_id="b", origin="b.2", incarnation_ms=5)
    a.vv.update({"b.2": 3})
    for k, v in kw.items():
        setattr(b, k, v)
    return b


def body(h: pb.OpBatch, batch: list[Op]) -> bytes:
    out: list[bytes] = []
    OpEncoder().encode_ops(batch, out)
    return h.SerializeToString() + b"".join(out)


def reference(data: bytes) -> tuple[pb.OpBatch, list[Op]] | None:
    """What the protobuf path makes of a message: its head and ops, or None (refused)."""
    m = pb.OpBatch()
    try:
        m.ParseFromString(data)
        dec = OpDecoder()
        ops = [dec.from_message(x) for x in m.ops]
    except (DecodeError, Exception):  # noqa: BLE001 - protobuf's DecodeError
        return None
    del m.ops[:]
    return m, ops


@settings(max_examples=150, deadline=None)
@given(st.lists(fast_ops | any_ops, max_size=6))
def test_agrees_with_protobuf(batch: list[Op]) -> None:
    data = body(head(), batch)
    assert head_end(data) == len(head().SerializeToString())
    got = parse_push(data)
    ref = reference(data)
    assert ref is not None
    if got is None:
        return  # a kind the fast path leaves to protobuf (floats, lists, maps...)
    h, ops, raw = got
    assert (h, ops) == ref
    assert ops == batch
    assert raw == (data[head_end(data):] if batch else None)  # type: ignore[index]


def test_canonical_batches_take_the_fast_path() -> None:
    batch = [Op("a.1", 1, 1 << 57, {}, [(10, 0, b"k", b"v", 0, None)]),
             Op("a.1", 2, (1 << 57) + 1, {}, [(10, 0, b"k2", b"v", 0, None)])]
    assert parse_push(body(head(), batch)) is not None
    assert parse_push(head().SerializeToString()) == (head(), [], None)


def _comparable(x: Any) -> Any:
    """`x` with every NaN made equal to every other: a flipped byte can turn a double into
    NaN in both decodings, and NaN != NaN."""
    if isinstance(x, float) and x != x:
        return "NaN"
    if isinstance(x, (tuple, list)):
        return tuple(_comparable(y) for y in x)
    if isinstance(x, dict):
        return {k: _comparable(v) for k, v in x.items()}
    if isinstance(x, Op):
        return ("Op", x.origin, x.seq, x.hlc, _comparable(x.deps), _comparable(x.effects))
    return x


@settings(max_examples=200, deadline=None)
@given(st.lists(fast_ops, min_size=1, max_size=4), st.data())
def test_damaged_or_reordered_messages_never_differ(batch: list[Op], data: st.DataObject) -> None:
    good = body(head(), batch)
    kind = data.draw(st.sampled_from(["flip", "cut", "insert", "head_after", "op_first"]))
    if kind == "head_after":  # a head field after the ops: protobuf's parse decides
        bad = good + pb.OpBatch(sender="z.9").SerializeToString()
    elif kind == "op_first":
        h = head().SerializeToString()
        bad = good[len(h):] + h
    else:
        pos = data.draw(st.integers(0, len(good) - 1))
        if kind == "flip":
            bad = good[:pos] + bytes([good[pos] ^ data.draw(st.integers(1, 255))]) + good[pos + 1:]
        elif kind == "cut":
            bad = good[:pos]
        else:
            bad = good[:pos] + data.draw(st.binary(min_size=1, max_size=3)) + good[pos:]
    got = parse_push(bad)
    if got is not None:
        assert _comparable(reference(bad)) == _comparable(got[:2])
    if kind == "head_after":
        assert got is None


def _ops_of(replica_id: str, *cmds: tuple[Any, ...]) -> list[Op]:
    cfg = dataclasses.replace(default_config(), replica_id=replica_id)
    src = new_node(cfg, incarnation="1")
    out: list[Op] = []
    src.op_listeners.append(out.append)
    for c in cmds:
        run(src, *c)
    return out


async def test_received_bytes_are_logged_as_they_are_and_replay(tmp_path: Path) -> None:
    a_ops = _ops_of("a", ("SET", "x", "1"), ("INCR", "n"), ("INCR", "n"), ("RPUSH", "l", "p", "q"),
                    ("SADD", "s", "m"), ("HSET", "h", "f", "v"), ("ZADD", "z", "1", "m"))
    node, p = await open_node(tmp_path, replica_id="b")
    run(node, "SET", "local", "before")
    data = body(head(), a_ops[:4])
    got = parse_push(data)
    assert got is not None and got[2] is not None
    assert apply_batch(node, got[1], got[2]) == 4
    run(node, "INCR", "n")  # encoded after the received run: its deps are its own
    got2 = parse_push(body(head(), a_ops[4:]))
    assert got2 is not None
    assert apply_batch(node, got2[1], got2[2]) == 3
    flush(p)
    before = dump_keyspace(node)
    assert p.oplog is not None
    seg = Path(p.oplog.dir) / p.oplog.seg_name
    records = b"".join(r for _, r in iter_records(seg.read_bytes(), MAGIC_SIZE))
    assert got[2] in records and got2[2] in records  # written as received
    await p.stop()
    node2, p2 = await open_node(tmp_path, replica_id="b")
    assert dump_keyspace(node2) == before
    await p2.stop()


async def test_a_batch_with_duplicates_is_encoded_again(tmp_path: Path) -> None:
    a_ops = _ops_of("a", ("SET", "x", "1"), ("SET", "y", "2"), ("SET", "z", "3"))
    node, p = await open_node(tmp_path, replica_id="b")
    got = parse_push(body(head(), a_ops[:1]))
    assert got is not None
    apply_batch(node, got[1], got[2])
    got = parse_push(body(head(), a_ops))  # the first one again
    assert got is not None
    assert apply_batch(node, got[1], got[2]) == 2
    flush(p)
    before = dump_keyspace(node)
    await p.stop()
    node2, p2 = await open_node(tmp_path, replica_id="b")
    assert dump_keyspace(node2) == before
    await p2.stop()
