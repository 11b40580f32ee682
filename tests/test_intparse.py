"""crdtredis/crdt/intparse.pyx: the compiled parse_int and format_int of crdt/numbers.py
must answer exactly as their Python twins (Redis's string2ll and %lld) for any input."""
from __future__ import annotations

import os

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from crdtredis.crdt import numbers
from crdtredis.wire import fastdec

NATIVE = numbers.native()
pytestmark = pytest.mark.skipif(NATIVE is None, reason="intparse.pyx not compiled in this build")

INT64 = st.integers(min_value=numbers.LLONG_MIN, max_value=numbers.LLONG_MAX)


def test_numbers_binds_the_compiled_twins_when_the_build_has_them() -> None:
    if os.environ.get("CRDT_REDIS_PURE") or not fastdec.compiled():
        return
    assert NATIVE is not None and (numbers.parse_int, numbers.format_int, numbers.incr_int) == NATIVE


@settings(max_examples=3000, deadline=None)
@given(b=st.one_of(
    st.binary(max_size=24),
    st.from_regex(rb"\A[-+ 0]?[0-9]{0,21}\Z"),
    INT64.map(lambda v: b"%d" % v),
    st.integers(min_value=-(1 << 70), max_value=1 << 70).map(lambda v: b"%d" % v),
    st.sampled_from([b"\xd9\xa1", b"1\x00", b"\x001", b"1 ", b"1\r\n", b"-", b"--1", b"0x1", b"1e3"]),
))
@example(b=b"9223372036854775807")
@example(b=b"9223372036854775808")
@example(b=b"-9223372036854775808")
@example(b=b"-9223372036854775809")
@example(b=b"18446744073709551615")
@example(b=b"18446744073709551616")
@example(b=b"-18446744073709551616")
@example(b=b"99999999999999999999")
def test_parse_int_answers_as_string2ll(b: bytes) -> None:
    assert NATIVE is not None
    got = NATIVE[0](b)
    assert got == numbers.py_parse_int(b)
    assert got is None or type(got) is int


def test_parse_int_of_other_buffers_takes_the_python_path() -> None:
    assert NATIVE is not None
    for b in (bytearray(b"12"), bytearray(b"-7"), bytearray(b"007")):
        assert NATIVE[0](b) == numbers.py_parse_int(b)  # type: ignore[arg-type]


@settings(max_examples=2000, deadline=None)
@given(v=st.one_of(INT64, st.integers(), st.sampled_from([0, -1, numbers.LLONG_MIN, numbers.LLONG_MAX])))
def test_format_int_prints_as_percent_d(v: int) -> None:
    assert NATIVE is not None
    assert NATIVE[1](v) == b"%d" % v == numbers.py_format_int(v)


@settings(max_examples=3000, deadline=None)
@given(value=st.one_of(
    st.none(),
    INT64.map(lambda v: b"%d" % v),
    st.sampled_from([b"9223372036854775807", b"-9223372036854775808", b"0", b"-0", b"007", b"", b"x", b"1 "]),
    st.binary(max_size=22),
), delta=st.one_of(
    INT64,
    st.sampled_from([0, 1, -1, numbers.LLONG_MAX, numbers.LLONG_MIN]),
    st.integers(min_value=-(1 << 70), max_value=1 << 70),
))
@example(value=b"9223372036854775807", delta=1)
@example(value=b"-9223372036854775808", delta=-1)
@example(value=b"9223372036854775806", delta=1)
@example(value=b"-1", delta=numbers.LLONG_MIN)
@example(value=None, delta=1 << 64)
def test_incr_int_answers_as_its_python_twin(value: bytes | None, delta: int) -> None:
    """INCRBY's apply (numbers.incr_value): the text of the sum, or None when the value is
    not an int64's text or the sum leaves int64, exactly as the Python twin, which is the
    parse, sum and print it replaces."""
    assert NATIVE is not None
    got = NATIVE[2](value, delta)
    assert got == numbers.py_incr_int(value, delta)
    want = None
    iv = 0 if value is None else numbers.py_parse_int(value)
    if iv is not None and (value is None or numbers.LLONG_MIN <= iv + delta <= numbers.LLONG_MAX):
        want = b"%d" % (iv + delta)
    assert got == want


def test_incr_int_of_other_buffers_takes_the_python_path() -> None:
    assert NATIVE is not None
    assert NATIVE[2](bytearray(b"12"), 3) == numbers.py_incr_int(bytearray(b"12"), 3) == b"15"  # type: ignore[arg-type]
