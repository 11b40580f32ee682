"""The fast op-log record decoder (wire/fastdec.py) agrees with the protobuf path: on
random ops (canonical or not), across records sharing a deps context, and on damage.
Every test runs the module as written and, when setup.py compiled it (mypyc), the
compiled copy that recovery uses."""
from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crdtredis.op import Op
from crdtredis.wire import fastdec
from crdtredis.wire.codec import DecodeError, OpDecoder, OpEncoder
from crdtredis.wire.fastdec import FastOpDecoder, new_decoder
from tests.test_wire_codec import ops

# Mostly the kinds the fast path handles, so most records take it.
fast_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-(1 << 63), (1 << 63) - 1),
    st.integers(0, 300), st.binary(max_size=300), st.text(max_size=20),
    st.floats(allow_nan=False),
)
fast_effects = st.tuples(st.integers(0, 300), st.integers(0, 200), st.binary(max_size=200)).flatmap(
    lambda head: st.lists(fast_scalars, max_size=6).map(lambda args: (*head, *args))
)
fast_ops = st.builds(
    Op,
    origin=st.sampled_from(["a.1", "b.22", "c" * 130]),
    seq=st.integers(1, 1 << 40),
    hlc=st.integers(0, (1 << 64) - 1),
    deps=st.sampled_from([{}, {"a.1": 5}, {"b.22": 1 << 50, "x": 0}]),
    effects=st.lists(fast_effects, min_size=1, max_size=4),
)


def record(enc: OpEncoder, batch: list[Op]) -> bytes:
    out: list[bytes] = [b"\x08\x01"]
    enc.encode_ops(batch, out)
    return b"".join(out)


# The module as written, and the compiled copy when there is one.
FACTORIES = [FastOpDecoder] + ([new_decoder] if fastdec.compiled() else [])


def same(x: object, y: object) -> bool:
    """Equal, or equal but for NaNs: a damaged float can decode to NaN, and two NaNs are
    never ==, so decoders that agree would compare unequal. repr tells 1 from 1.0 and
    0.0 from -0.0 as == does not, so it is no looser than == anywhere else."""
    return x == y or repr(x) == repr(y)


def both(records: list[bytes]) -> tuple[list[object], list[object], list[object]]:
    """What protobuf, the pure decoder and the compiled one (or the pure one again)
    make of the same records, in order."""
    decs = [OpDecoder(), FastOpDecoder(), new_decoder()]
    outs: list[list[object]] = [[], [], []]
    for r in records:
        for dec, out in zip(decs, outs, strict=True):
            try:
                out.append(dec.decode_batch(r))
            except DecodeError as e:
                out.append(("error", str(e)))
    assert same(outs[1], outs[2]), (outs[1], outs[2])
    return outs[0], outs[1], decs


@settings(max_examples=150, deadline=None)
@given(st.lists(st.lists(fast_ops | ops, min_size=1, max_size=5), min_size=1, max_size=4))
def test_agrees_with_protobuf(batches: list[list[Op]]) -> None:
    enc = OpEncoder()
    records = [record(enc, b) for b in batches]
    a, b, _ = both(records)
    assert same(a, b), (a, b)
    assert [op for batch in a for op in batch] == [op for batch in batches for op in batch]  # type: ignore[attr-defined]


@settings(max_examples=150, deadline=None)
@given(st.lists(fast_ops, min_size=1, max_size=5), st.data())
def test_damaged_records_agree(batch: list[Op], data: st.DataObject) -> None:
    rec = record(OpEncoder(), batch)
    pos = data.draw(st.integers(0, len(rec) - 1))
    kind = data.draw(st.sampled_from(["flip", "cut", "insert"]))
    if kind == "flip":
        bad = rec[:pos] + bytes([rec[pos] ^ data.draw(st.integers(1, 255))]) + rec[pos + 1:]
    elif kind == "cut":
        bad = rec[:pos]
    else:
        bad = rec[:pos] + data.draw(st.binary(min_size=1, max_size=3)) + rec[pos:]
    a, b, _ = both([bad])
    assert same(a, b), (a, b)


def test_a_float_damaged_into_a_nan_decodes_alike() -> None:
    # Found by test_damaged_records_agree in CI (a flipped bit made a stored inf a NaN):
    # every decoder read the NaN, and `==` called the agreeing outputs different.
    import math
    import struct

    rec = record(OpEncoder(), [Op("a.1", 1, 0, {}, [(0, 0, b"", None, float("inf"))])])
    i = rec.index(struct.pack("<d", float("inf")))
    bad = rec[:i] + struct.pack("<d", float("nan")) + rec[i + 8:]
    a, b, _ = both([bad])
    assert same(a, b)
    assert math.isnan(b[0][0].effects[0][4])  # type: ignore[index]


@pytest.mark.parametrize("factory", FACTORIES)
def test_canonical_records_take_the_fast_path(factory) -> None:
    enc = OpEncoder()
    ops1 = [Op("n.1", 1, 1 << 57, {}, [(10, 0, b"k", b"v", 0, None)]),
            Op("n.1", 2, (1 << 57) + 1, {}, [(12, 3, b"c", -5), (20, 0, b"l", 0, "", 0, -1, b"a", b"b")]),
            Op("n.1", 4, (1 << 57) + 3, {"p.2": 7}, [(11, 0, b"k", True, False, None, "s")])]
    rec = record(enc, ops1)
    fast = factory()
    assert fast.decode_batch(rec) == ops1
    assert (fast.fast, fast.fallbacks) == (1, 0)
    # The deps context carries over to the next record (deps_same).
    ops2 = [Op("n.1", 5, (1 << 57) + 4, {"p.2": 7}, [(10, 0, b"k", b"w", 0, None)])]
    assert fast.decode_batch(record(enc, ops2)) == ops2
    assert fast.fast == 2
    # deps_same without context: protobuf's error.
    with pytest.raises(DecodeError):
        factory().decode_batch(record(enc, ops2))


@pytest.mark.parametrize("factory", FACTORIES)
@settings(max_examples=100, deadline=None)
@given(st.lists(st.lists(fast_ops | ops, min_size=1, max_size=5), min_size=1, max_size=4))
def test_raw_ops_are_the_ops_fields(factory: object, batches: list[list[Op]]) -> None:
    # decode_raw (start-up replay) gives each op's fields as a tuple, canonical or not,
    # with the same deps context as decode_batch.
    enc = OpEncoder()
    records = [record(enc, b) for b in batches]
    a, b = factory(), factory()  # type: ignore[operator]
    for r in records:
        assert a.decode_raw(r) == [(o.origin, o.seq, o.hlc, o.deps, o.effects) for o in b.decode_batch(r)]
