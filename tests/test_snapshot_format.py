"""Base snapshot format 2 (packed string batches) and the reader of format 1."""
from __future__ import annotations

import io

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crdtredis.keyspace import Keyspace, entry_state
from crdtredis.storage import strbatch
from crdtredis.storage.framing import BASE_MAGIC, MAGIC_SIZE, frame, scan
from crdtredis.storage.manifest import StorageError
from crdtredis.storage.snapshot import load_base_bytes, write_base
from crdtredis.wire.codec import encode_value
from tests.support.sim import Cluster, Replica
from tests.support.state import dump_keyspace


def _mixed(r: Replica, n: int) -> None:
    for i in range(n):
        r.run("SET", f"k{i}", f"v{i}")
    r.run("SET", "bin", b"\x00\xff\r\n")
    r.run("SET", "empty", b"")
    r.run("SET", "ttl", "x", "EX", 1000)
    r.run("INCRBY", "n", 5)
    r.run("RPUSH", "l", "a", "b")
    r.run("HSET", "h", "f", "1")
    r.run("SELECT", 3)
    for i in range(10):
        r.run("SET", f"db3:{i}", "x" * i)
    r.run("SELECT", 0)


def _round_trip(node: object, ks: Keyspace) -> tuple[bytes, Keyspace]:
    buf = io.BytesIO()
    write_base(ks, 0, buf)
    fresh = Keyspace(ks.origin)
    load_base_bytes(buf.getvalue(), "mem", fresh)
    return buf.getvalue(), fresh


class _Holder:
    def __init__(self, ks: Keyspace) -> None:
        self.keyspace = ks


@pytest.mark.parametrize("n", [0, 1, strbatch.BATCH - 1, strbatch.BATCH, strbatch.BATCH + 3])
def test_round_trip_across_batch_sizes(n: int) -> None:
    r = Replica("a")
    _mixed(r, n)
    data, fresh = _round_trip(r.node, r.node.keyspace)
    assert dump_keyspace(_Holder(fresh)) == dump_keyspace(r.node)
    assert fresh.vv == r.node.keyspace.vv and fresh.vh == r.node.keyspace.vh
    records, bad = scan(data, MAGIC_SIZE)
    assert bad is None
    batches = [p for _o, p in records if p[:2] == strbatch.MARKER]
    # db 0's plain strings (n of them plus bin and empty) and db 3's ten, packed.
    assert sum(len(strbatch.decode(p)[1]) for p in batches) == n + 2 + 10


def test_strings_of_several_origins_keep_their_stamps() -> None:
    c = Cluster(3, 0)
    for i in range(3):
        c.run(i, "SET", f"from{i}", str(i))
    c.deliver_all()
    c[0].node.keyspace.solo = False
    _, fresh = _round_trip(c[0].node, c[0].node.keyspace)
    assert dump_keyspace(_Holder(fresh)) == dump_keyspace(c[0].node)
    origins = {fresh.dbs[0].data[f"from{i}".encode()][2] for i in range(3)}
    assert len(origins) == 3


def _write_v1(ks: Keyspace) -> bytes:
    """A base as format 1 wrote it: every key its own record."""
    out = [BASE_MAGIC, frame(encode_value({
        "version": 1, "origin": ks.origin, "vv": dict(ks.vv), "vh": dict(ks.vh), "hlc": 0,
        "databases": len(ks.dbs), "type_conflicts": ks.type_conflicts}))]
    n = 0
    for db in ks.dbs:
        for key in dict.fromkeys([*db.data, *db.shadow, *db.expires]):
            e = db.data.get(key)
            reg = db.expires.get(key)
            hidden = db.shadow.get(key)
            out.append(frame(encode_value((
                db.index, key, entry_state(e) if e is not None else None,
                {t: entry_state(h) for t, h in hidden.items()} if hidden else None,
                list(reg.vals) if reg is not None else None))))
            n += 1
    out.append(frame(encode_value({"end": n})))
    return b"".join(out)


def test_format_1_bases_still_load() -> None:
    r = Replica("a")
    _mixed(r, 50)
    fresh = Keyspace(r.node.keyspace.origin)
    load_base_bytes(_write_v1(r.node.keyspace), "old", fresh)
    assert dump_keyspace(_Holder(fresh)) == dump_keyspace(r.node)


def test_damaged_batch_is_refused() -> None:
    rec = strbatch.encode(0, [b"a", b"bb"], [(b"1", 5, "o"), (b"22", 6, "o")])
    assert strbatch.decode(rec) == (0, [b"a", b"bb"], [(b"1", 5, "o"), (b"22", 6, "o")])
    with pytest.raises(ValueError):
        strbatch.decode(rec[:-1])
    with pytest.raises(ValueError):
        strbatch.decode(rec + b"x")
    # A record whose crc is right but whose content is not (a bad writer) fails the load.
    r = Replica("a")
    _mixed(r, 3)
    buf = io.BytesIO()
    write_base(r.node.keyspace, 0, buf)
    records, _ = scan(buf.getvalue(), MAGIC_SIZE)
    payloads = [p if p[:2] != strbatch.MARKER else p[:-1] for _o, p in records]
    with pytest.raises(StorageError):
        load_base_bytes(BASE_MAGIC + b"".join(frame(p) for p in payloads), "bad", Keyspace("x"))


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.binary(max_size=12), st.binary(max_size=12), st.integers(0, (1 << 63) - 1),
                          st.sampled_from(["a.1", "b.2", "ü"])), max_size=20), st.data())
def test_batch_decoders_agree(items: list[tuple[bytes, bytes, int, str]], data: st.DataObject) -> None:
    """The compiled loop (when built), the loop as written and the array passes of the pure
    build decode the same records the same way, and refuse the same damaged ones."""
    rec = strbatch.encode(1, [k for k, *_ in items], [(v, h, o) for _k, v, h, o in items])
    pos = data.draw(st.integers(0, len(rec)))
    flip = data.draw(st.integers(0, 255))
    bad = rec[:pos] + bytes([rec[pos] ^ flip]) + rec[pos + 1:] if pos < len(rec) else rec[:data.draw(
        st.integers(0, len(rec)))]
    for r in (rec, bad):
        outs = []
        for dec in (strbatch.decode_arrays, strbatch.decode_loop, strbatch.decode):
            try:
                outs.append(dec(r))
            except (ValueError, IndexError):
                outs.append("refused")
        assert outs[0] == outs[1] == outs[2]
    assert strbatch.decode(rec) == (1, [k for k, *_ in items], [(v, h, o) for _k, v, h, o in items])
