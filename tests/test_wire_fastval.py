"""The fast snapshot value decoder (wire/fastval.py) agrees with the protobuf path
(codec.decode_value): the same value on anything encode_value writes, the same value or
the same DecodeError on damaged or non-canonical bytes. Every test runs the module as
written and, when setup.py compiled it (mypyc), the compiled copy that snapshot loading
uses."""
from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crdtredis.wire import fastval
from crdtredis.wire.codec import DecodeError, decode_value, encode_value

DECODERS: list[Callable[[bytes], Any]] = [fastval.decode_value_fast] + (
    [fastval.decode_value] if fastval.compiled() else [])

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-(1 << 63), (1 << 63) - 1), st.integers(-(1 << 80), 1 << 80),
    st.integers(0, 300), st.binary(max_size=300), st.text(max_size=80), st.floats(allow_nan=False),
)
keys = st.one_of(st.binary(max_size=20), st.text(max_size=10), st.integers(-5, 1 << 60))
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=6), st.lists(inner, max_size=6).map(tuple),
        st.dictionaries(keys, inner, max_size=5),
    ),
    max_leaves=40,
)


def outcome(dec: Callable[[bytes], Any], data: bytes) -> Any:
    try:
        return ("ok", dec(data))
    except DecodeError as e:
        return ("error", str(e))


def same(a: Any, b: Any) -> bool:
    """Equal, and of the same types all the way down (a tuple is not a list, True not 1)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    if isinstance(a, float) and math.isnan(a):
        return math.isnan(b)  # a damaged double may decode as NaN, which equals nothing
    return bool(a == b)


@pytest.mark.parametrize("dec", DECODERS)
@settings(max_examples=150, deadline=None)
@given(values)
def test_agrees_with_protobuf(dec: Callable[[bytes], Any], v: Any) -> None:
    data = encode_value(v)
    assert same(dec(data), decode_value(data))
    assert same(dec(data), v)


@pytest.mark.parametrize("dec", DECODERS)
@settings(max_examples=150, deadline=None)
@given(values, st.data())
def test_damaged_agrees(dec: Callable[[bytes], Any], v: Any, data: st.DataObject) -> None:
    enc = encode_value(v)
    pos = data.draw(st.integers(0, len(enc)))
    kind = data.draw(st.sampled_from(["flip", "cut", "insert"]))
    if kind == "flip" and pos < len(enc):
        bad = enc[:pos] + bytes([enc[pos] ^ data.draw(st.integers(1, 255))]) + enc[pos + 1:]
    elif kind == "cut":
        bad = enc[:pos]
    else:
        bad = enc[:pos] + data.draw(st.binary(min_size=1, max_size=3)) + enc[pos:]
    a, b = outcome(dec, bad), outcome(decode_value, bad)
    assert a[0] == b[0] and (a[0] == "error" and a == b or same(a[1], b[1]))


@pytest.mark.parametrize("dec", DECODERS)
def test_non_canonical_falls_back(dec: Callable[[bytes], Any]) -> None:
    # nil written as false, a bool as 2, an empty Value, a big int, an explicit is_list
    # false, two fields in one Value (protobuf: the last wins), deep nesting.
    nested: Any = 0
    for _ in range(fastval.MAX_DEPTH + 5):
        nested = [nested]
    deep = encode_value(nested)
    for data in (b"\x20\x00", b"\x48\x02", b"", encode_value(1 << 70), b"\x32\x02\x10\x00",
                 b"\x08\x02\x12\x01x", deep, b"\x2a\x02\xff\xfe"):
        assert outcome(dec, data) == outcome(decode_value, data)


def test_origins_are_shared() -> None:
    # What the snapshot of a list holds: one origin per element, one str object here.
    v = [[5, "node-a.1", 0, [b"x"]], [6, "node-a.1", 0, [b"y"]]]
    for dec in DECODERS:
        out = dec(encode_value(v))
        assert out == v and out[0][1] is out[1][1]
