"""crdtredis/crdt/blockpack.pyx: the compiled pack, from_runs, unpack and expand of
crdt/list_packed.py must give exactly what their Python twins give (the same Packed fields,
the same None, the same exception type) for any input, so a list's blocks do not depend
on which copy packed them."""
from __future__ import annotations

import os
from array import array
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from crdtredis.crdt import list_packed
from crdtredis.wire import fastdec

NATIVE = list_packed.native()
pytestmark = pytest.mark.skipif(NATIVE is None, reason="blockpack.pyx not compiled in this build")

U64 = (1 << 64) - 1
HLC = st.integers(min_value=-(1 << 63), max_value=(1 << 63) - 1)
OI = st.integers(min_value=0, max_value=U64)


def fields(p: Any) -> Any:
    if p is None:
        return None
    return (p.blob, p.offs.typecode, list(p.offs), p.rstart.typecode, list(p.rstart), p.rh.typecode, list(p.rh),
            p.roi.typecode, list(p.roi), p.n)


def outcome(f: Any, *args: Any) -> Any:
    """What f returns (Packed objects by their fields, arrays by typecode and items), or the
    type of what it raises."""
    try:
        r = f(*args)
    except Exception as e:  # noqa: BLE001 - the exception's type is the outcome compared
        return type(e)
    if isinstance(r, list_packed.Packed):
        return fields(r)
    if isinstance(r, tuple):
        return tuple(x if not isinstance(x, array) else (x.typecode, list(x)) for x in r)
    return r


@st.composite
def blocks(draw: Any) -> tuple[list[Any], array[int], array[int]]:
    """A block's columns as the list code holds them: ids in runs of consecutive indexes
    (one effect's chain) or each its own, values mostly bytes."""
    hl: list[int] = []
    oi: list[int] = []
    n = draw(st.integers(min_value=0, max_value=40))
    while len(hl) < n:
        h = draw(st.one_of(HLC, st.sampled_from([0, 1, hl[-1] if hl else 0])))
        o = draw(st.one_of(OI, st.sampled_from([U64, U64 - 1, 0, (oi[-1] + 1) & U64 if oi else 0])))
        k = draw(st.integers(min_value=1, max_value=5))
        for i in range(min(k, n - len(hl))):
            hl.append(h)
            oi.append((o + i) & U64)  # a run that reaches 2^64 - 1 wraps: a new run there
    vals: list[Any] = draw(st.lists(st.one_of(st.binary(max_size=6), st.just(b"")), min_size=n, max_size=n))
    if n and draw(st.integers(min_value=0, max_value=9)) == 0:
        vals[draw(st.integers(min_value=0, max_value=n - 1))] = draw(st.sampled_from(
            [None, bytearray(b"x"), "x", 1, memoryview(b"x")]))
    return vals, array("q", hl), array("Q", oi)


def test_list_packed_binds_the_compiled_twins_when_the_build_has_them() -> None:
    if os.environ.get("CRDT_REDIS_PURE") or not fastdec.compiled():
        return
    assert NATIVE is not None
    assert (list_packed.pack, list_packed.from_runs, list_packed.unpack, list_packed.expand) == NATIVE


@settings(max_examples=1500, deadline=None)
@given(b=blocks())
@example(b=([b"a", b"b"], array("q", [5, 5]), array("Q", [U64, 0])))  # no successor past 2^64 - 1
@example(b=([b"a", b"b", b"c"], array("q", [5, 5, 5]), array("Q", [7, 8, 9])))  # one run
@example(b=([b"a", None], array("q", [5, 6]), array("Q", [7, 8])))  # a tombstone: not packed
@example(b=([], array("q"), array("Q")))
def test_pack_and_unpack_are_their_twins(b: tuple[list[Any], array[int], array[int]]) -> None:
    assert NATIVE is not None
    pack, _from_runs, unpack, _expand = NATIVE
    vals, hl, oi = b
    got = pack(vals, hl, oi)
    want = list_packed.py_pack(vals, hl, oi)
    assert fields(got) == fields(want)
    if want is not None:
        assert outcome(unpack, got) == outcome(list_packed.py_unpack, want)
        assert unpack(got) == (vals, hl, oi)  # the round trip


@settings(max_examples=500, deadline=None)
@given(b=blocks(), as_list=st.sampled_from(["vals", "hl", "oi", "typecode"]))
def test_pack_of_other_shapes_is_the_twins(b: tuple[list[Any], array[int], array[int]], as_list: str) -> None:
    """Not a list of values with arrays q and Q: the compiled pack hands it to the twin."""
    assert NATIVE is not None
    vals: Any
    hl: Any
    oi: Any
    vals, hl, oi = b
    if as_list == "vals":
        vals = tuple(vals)
    elif as_list == "hl":
        hl = list(hl)
    elif as_list == "oi":
        oi = list(oi)
    else:
        oi = array("q", [x - (1 << 63) for x in oi])  # a signed array: wrong typecode
    assert outcome(NATIVE[0], vals, hl, oi) == outcome(list_packed.py_pack, vals, hl, oi)


@settings(max_examples=1000, deadline=None)
@given(n=st.integers(min_value=-2, max_value=30),
       rstart=st.lists(st.integers(min_value=0, max_value=35), max_size=12),
       rh=st.lists(HLC, max_size=14), roi=st.lists(st.integers(min_value=0, max_value=U64 - 64), max_size=14),
       vals=st.lists(st.binary(max_size=4), max_size=30))
@example(n=3, rstart=[0, 1, 2], rh=[1, 2, 3], roi=[4, 5, 6], vals=[b"a", b"b", b"c"])
@example(n=4, rstart=[0, 3, 1], rh=[1, 2, 3], roi=[4, 5, 6], vals=[])  # runs out of order
@example(n=2, rstart=[0, 1, 2], rh=[1], roi=[4], vals=[])  # more starts than run columns
def test_expand_and_from_runs_are_their_twins(n: int, rstart: list[int], rh: list[int], roi: list[int],
                                              vals: list[bytes]) -> None:
    assert NATIVE is not None
    _pack, from_runs, _unpack, expand = NATIVE
    cols = array("I", rstart), array("q", rh), array("Q", roi)
    assert outcome(expand, n, *cols) == outcome(list_packed.py_expand, n, *cols)
    assert outcome(from_runs, vals, *cols) == outcome(list_packed.py_from_runs, vals, *cols)
    as_lists = list(cols[0]), list(cols[1]), list(cols[2])
    assert outcome(expand, n, *as_lists) == outcome(list_packed.py_expand, n, *as_lists)


@settings(max_examples=500, deadline=None)
@given(blob=st.binary(max_size=12), offs=st.lists(st.integers(min_value=0, max_value=14), min_size=1, max_size=8))
@example(blob=b"abc", offs=[0, 2, 1])  # decreasing offsets
@example(blob=b"abc", offs=[0, 5])  # past the blob
def test_unpack_of_any_offsets_is_the_twins(blob: bytes, offs: list[int]) -> None:
    """Offsets no pack wrote (a corrupt or hand-made Packed) give what the twin's slicing gives."""
    assert NATIVE is not None
    n = len(offs) - 1
    p = list_packed.Packed(blob, array("I", offs), array("I", range(n)), array("q", range(n)), array("Q", range(n)))
    assert outcome(NATIVE[2], p) == outcome(list_packed.py_unpack, p)


def test_a_block_whose_values_need_offsets_past_32_bits_stays_unpacked_compiled() -> None:
    """The compiled pack's 32-bit limit, without allocating 4 GB: the sum of the lengths is
    checked before anything is copied (the Python twin's is tested in test_crdt_list.py)."""
    assert NATIVE is not None
    big = b"x" * (1 << 20)
    vals = [big] * 4096  # 4 GiB of offsets, one 1 MiB object shared
    hl = array("q", range(4096))
    oi = array("Q", range(4096))
    assert NATIVE[0](vals, hl, oi) is None
    assert list_packed.py_pack(vals, hl, oi) is None
