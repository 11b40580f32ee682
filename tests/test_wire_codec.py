"""The hand-written protobuf encoder agrees with the generated parser on random ops."""
from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from crdtredis.op import Op
from crdtredis.wire import ops_pb2 as pb
from crdtredis.wire.codec import (
    DecodeError,
    OpDecoder,
    OpEncoder,
    decode_op,
    decode_value,
    encode_op,
    encode_value,
)

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(1 << 70), max_value=1 << 70),
    st.binary(max_size=300),
    st.text(max_size=20),
    st.floats(allow_nan=False),
)
values = st.recursive(scalars, lambda inner: st.tuples(inner, inner) | st.lists(inner, max_size=4), max_leaves=12)
effects = st.tuples(st.integers(0, 200), st.integers(0, 15), st.binary(max_size=40)).flatmap(
    lambda head: st.lists(values, max_size=5).map(lambda args: (*head, *args))
)
ops = st.builds(
    Op,
    origin=st.text(alphabet="abcdefghij.0123456789", min_size=1, max_size=20),
    seq=st.integers(1, 1 << 40),
    hlc=st.integers(0, (1 << 64) - 1),
    deps=st.dictionaries(st.text(alphabet="xyz.1", min_size=1, max_size=6), st.integers(0, 1 << 60), max_size=3),
    effects=st.lists(effects, min_size=1, max_size=4),
)


@settings(max_examples=300, deadline=None)
@given(ops)
def test_encode_then_decode_round_trips(op: Op) -> None:
    data = encode_op(op)
    assert decode_op(data) == op
    # The generated module parses the same bytes field by field.
    m = pb.Op()
    m.ParseFromString(data)
    assert m.origin == op.origin and m.seq == op.seq and m.hlc == op.hlc and len(m.effects) == len(op.effects)


@settings(max_examples=100, deadline=None)
@given(st.lists(ops, min_size=1, max_size=6))
def test_stream_with_elided_deps_round_trips(stream: list[Op]) -> None:
    enc, dec = OpEncoder(), OpDecoder()
    for op in stream:
        assert dec.decode(enc.encode(op)) == op


@given(values)
def test_values_round_trip(v: object) -> None:
    assert decode_value(encode_value(v)) == v


def test_garbage_is_a_decode_error_not_a_crash() -> None:
    for junk in (b"\xff\xff\xff", b"\x08\x02", b"", b"\x12\x05ab"):
        try:
            decode_op(junk)
        except DecodeError:
            continue
        raise AssertionError(f"accepted {junk!r}")


def test_deps_same_without_context_is_rejected() -> None:
    enc = OpEncoder()
    a = Op("o.1", 1, 10, {"p.1": 3}, [(10, 0, b"k", b"v", 0, None)])
    b = Op("o.1", 2, 11, a.deps, [(10, 0, b"k", b"w", 0, None)])
    enc.encode(a)
    second = enc.encode(b)
    try:
        OpDecoder().decode(second)
    except DecodeError:
        return
    raise AssertionError("deps_same decoded without context")


def test_hot_effect_shapes_and_table_boundaries_round_trip() -> None:
    # The encoder's shortcuts (SET without expiry, INCR by a small int, table-sized
    # lengths and seqs) against the generated parser, at and around every boundary.
    effects = [
        (10, 0, b"k", b"v", 0, None), (10, 3, b"k", b"v", 1, None), (10, 0, b"k", b"v", 2, 1 << 41),
        (10, 0, b"k", b"v", False, None), (10, 0, b"k", b"v", True, None), (10, 0, b"k", "s", 0, None),
        (10, 0, b"k" * 16384, b"x" * 1023, 0, None), (10, 0, b"k", b"x" * 1024, 0, None),
        (10, 0, b"k", b"v", 0, 0), (10, 0, b"k", b"v", 3, None), (10, 0, b"k", b"v", 0),
        (11, 0, b"n", 1), (11, 0, b"n", -1), (11, 0, b"n", -1024), (11, 0, b"n", -1025), (11, 0, b"n", 8191),
        (11, 0, b"n", 8192), (11, 0, b"n", 1 << 70), (11, 0, b"n", b"1.5"), (11, 0, b"n", True),
        (11, 0, b"n", 1, 2), (1, 15, b"d"), (200, 1000, b"", None, [b"a", 1], (2.5, "x")),
    ]
    seqs = [1, (1 << 14) - 1, 1 << 14, (1 << 28) - 1, 1 << 28, 1 << 40]
    ops = [Op("o.1", seq, 1 << 50, {"p.2": 7}, [eff]) for seq in seqs for eff in effects]
    ops.append(Op("o.1", 5, 1 << 50, {}, effects))
    enc, dec = OpEncoder(), OpDecoder()
    out: list[bytes] = [b"\x08\x01"]  # an OpBatch with version 1, then its ops
    enc.encode_ops(ops, out)

    def shapes(ops: list[Op]) -> list[object]:  # False == 0: compare the types too
        return [[tuple(map(type, e)) for e in op.effects] for op in ops]

    decoded = dec.decode_batch(b"".join(out))
    assert decoded == ops and shapes(decoded) == shapes(ops)
    for op in ops:
        assert decode_op(encode_op(op)) == op and shapes([decode_op(encode_op(op))]) == shapes([op])


def test_list_effect_hot_shapes_encode_as_the_generic_loop() -> None:
    """encode_effect's branch for one-id LINSERT / LREMOVE effects gives the bytes of the
    generic argument loop (reached here through an effect code without a hot shape)."""
    import random as _random

    from crdtredis.wire import codec, fastenc

    rnd = _random.Random(5)
    ints = [0, 1, 5, 8191, 8192, -1, -2, -1024, -1025, 2**57 + 12345, 2**63 - 1, 2**63, True, False]
    for _ in range(3000):
        code = rnd.choice([20, 21])
        eff: tuple[object, ...] = (code, 0, b"mylist", rnd.choice(ints), rnd.choice(["", "a", b"x"]),
                                rnd.choice(ints), rnd.choice(ints))
        if code == 20:
            eff += (rnd.choice([b"xxx", b"", b"y" * 2000, "s", None]),)
        generic = codec.encode_effect((99, *eff[1:]))
        hdr99 = fastenc._eff_hdr(99, 0)
        hdr = fastenc._eff_hdr(code, 0)
        assert codec.encode_effect(eff) == hdr + generic[len(hdr99):], eff


@settings(max_examples=300, deadline=None)
@given(st.lists(ops, min_size=1, max_size=6), st.sampled_from([b"\x12", b""]))
def test_the_compiled_encoder_writes_the_pure_encoders_bytes(stream: list[Op], tag: bytes) -> None:
    """wire/fastenc.py runs compiled when setup.py built it (codec.OpEncoder is then the
    Cython class of wire/encops.pyx, or mypyc's copy of fastenc's): every copy gives the
    same bytes for the same ops, deps elision included (what `out` joins to: the Cython
    one appends a tagged call's ops as one item). Without a build all names are the pure
    encoder, and this still holds."""
    import pytest

    from crdtredis.wire import fastenc

    encoders = [OpEncoder, fastenc.ENCODER, fastenc.OpEncoder]
    if fastenc._NATIVE is not None:
        encoders.append(fastenc._NATIVE.OpEncoder)
    if fastenc._CYTHON is not None:
        encoders.append(fastenc._CYTHON.OpEncoder)
    outs = []
    for cls in encoders:
        enc = cls()
        out: list[bytes] = [b"head"]
        enc.encode_ops(stream, out, tag)
        enc.encode_ops(stream[:1], out, tag)  # the deps context carries over: elided
        enc.reset_deps()
        enc.encode_ops(stream[-1:], out, tag)  # and is gone after reset_deps
        outs.append(b"".join(out))
        if not tag:  # untagged, one item per op: encode() returns the last
            assert len(out) == 1 + len(stream) + 2 and cls().encode(stream[0]) == fastenc.OpEncoder().encode(stream[0])
    assert all(o == outs[0] for o in outs[1:])
    for op in stream:
        for eff in op.effects:
            assert fastenc.encode_effect(eff) == fastenc.EFFECT(eff)
            assert fastenc.EFFECT(list(eff)) == fastenc.encode_effect(eff)  # not a tuple: made one
    bad = Op("o.1", 1, 1, {}, [("x", 0, b"k")])  # not an effect: a clear error from each
    for cls in encoders:
        with pytest.raises(TypeError):
            cls().encode_ops([bad], [])


def test_the_encoder_is_compiled_when_the_build_is() -> None:
    """CI builds the compiled modules (setup.py): there the encoder in use must be the
    compiled one, or its speed silently goes (CRDT_REDIS_PURE=1 builds none)."""
    import os

    from crdtredis.wire import fastdec, fastenc

    if os.environ.get("CRDT_REDIS_PURE") or not fastdec.compiled():
        return
    assert fastenc.compiled() and OpEncoder is not fastenc.OpEncoder
    assert fastenc.cython() and OpEncoder is fastenc._CYTHON.OpEncoder  # Cython builds with mypyc


def test_the_cython_encoder_writes_every_argument_kind_and_length_as_fastenc() -> None:
    """wire/encops.pyx writes bytes, ints, floats, strings and None itself and hands the
    rest to fastenc; each length field starts as one byte and moves when it needs more
    (the boundaries at 127/128 and 16383/16384 bytes), big values included."""
    import random as _random

    import pytest

    from crdtredis.wire import fastenc

    if fastenc._CYTHON is None:
        return
    rnd = _random.Random(7)
    args: list[object] = [None, True, False, 0, 1, -1, 63, 64, -64, -65, 2**63 - 1, -(2**63), 2**63, -(2**63) - 1,
                          2**70, 0.0, -0.0, 1.5, float("inf"), float("nan"), "", "a", "é" * 70, "\U0001f600",
                          b"", b"x", (1, b"a"), [b"a", 2], {b"f": 1}, bytearray(b"ba"), 10**30]
    for n in (125, 126, 127, 128, 129, 16380, 16383, 16384, 16385, 2**21 + 3):
        args.append(b"v" * n)
    for _ in range(2000):
        eff = (rnd.choice([0, 10, 127, 128, 300, 2**31]), rnd.choice([0, 1, 15, 200]),
               rnd.choice([b"", b"k", b"k" * 130, b"k" * 16400]), *rnd.sample(args, rnd.randint(0, 4)))
        ops = [Op(rnd.choice(["o.1", "é.2"]), rnd.choice([1, 2**14, 2**40]), rnd.choice([0, 2**57, 2**64 - 1]),
                  {"p.1": rnd.randint(0, 5)}, [eff] * rnd.randint(1, 3))]
        for tag in (b"\x12", b""):
            a: list[bytes] = []
            b: list[bytes] = []
            fastenc.OpEncoder().encode_ops(ops, a, tag)
            fastenc._CYTHON.OpEncoder().encode_ops(ops, b, tag)
            assert b"".join(a) == b"".join(b), eff
    # A string that is not UTF-8 (a lone surrogate): both raise what str.encode raises.
    lone = Op("o.1", 1, 1, {}, [(10, 0, b"k", "\ud800")])
    for cls in (fastenc.OpEncoder, fastenc._CYTHON.OpEncoder):
        with pytest.raises(UnicodeEncodeError):
            cls().encode_ops([lone], [])
    # A seq outside uint64 (no origin gets there): the Cython encoder refuses it and
    # appends nothing, where fastenc would write bytes no decoder reads back.
    for seq in (2**64, -1):
        out: list[bytes] = []
        with pytest.raises(OverflowError):
            fastenc._CYTHON.OpEncoder().encode_ops([Op("o.1", seq, 1, {}, [(10, 0, b"k")])], out)
        assert out == []


def test_one_encoder_shared_by_threads_writes_each_calls_bytes() -> None:
    """An encoder used by two threads at once (the GIL can pass to another thread while a
    call is in a Python callback, here fastenc's `_value` for list arguments) must not
    mix their bytes: the Cython encoder's second caller writes into its own buffer."""
    import threading

    from crdtredis.wire import fastenc

    enc = OpEncoder()
    errors: list[str] = []

    def work(t: int) -> None:
        origin = f"o.{t}"  # one deps context per thread: the bytes are deterministic
        deps = {"p.1": t}
        ops = [Op(origin, s, 1 << 40, deps, [(10, 0, b"k%d" % s, [b"v" * 40] * 30, (1, [2, 3]), True)])
               for s in range(1, 201)]
        want_enc = fastenc.OpEncoder()
        for op in ops:
            want = want_enc.encode(op)
            got = enc.encode(op)
            if got != want:
                errors.append(f"thread {t} seq {op.seq}")
                return

    import sys

    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as the interpreter can
    try:
        threads = [threading.Thread(target=work, args=(t,)) for t in range(4)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
    finally:
        sys.setswitchinterval(old)
    assert not errors, errors
