"""Tests of the test harness itself: RESP framing/decoding, comparison modes, helpers.

If the harness mis-frames a reply, every differential test after it reads garbage; these
pin the parser on hand-written RESP3 that real Redis 7.0 rarely or never sends."""
from __future__ import annotations

import pytest

from tests.differential.harness import IGNORE_VALUE, TYPE, UNORDERED, contains, int_range, pairs
from tests.support.procs import free_port, wait_until
from tests.support.resp_client import (
    NULL3,
    NULL_ARRAY,
    Attributed,
    BigNumber,
    BlobError,
    Double,
    Error,
    IncompleteReply,
    ProtocolViolation,
    RespMap,
    RespSet,
    Simple,
    Verbatim,
    canonical,
    decode,
    encode_command,
    reply_end,
    resp_type,
)

FRAMES = [
    b"+OK\r\n",
    b"-ERR x\r\n",
    b":-12\r\n",
    b"$-1\r\n",
    b"$0\r\n\r\n",
    b"$5\r\na\r\nbc\r\n",
    b"*-1\r\n",
    b"*0\r\n",
    b"*2\r\n*1\r\n:1\r\n$-1\r\n",
    b"%2\r\n+a\r\n:1\r\n+b\r\n*1\r\n_\r\n",
    b"~2\r\n+x\r\n+y\r\n",
    b",3.5\r\n",
    b",inf\r\n",
    b"_\r\n",
    b"#t\r\n",
    b"(12345678901234567890123\r\n",
    b"=8\r\ntxt:ab\r\n\r\n",
    b"!5\r\nERR x\r\n",
    b">2\r\n+message\r\n$1\r\nx\r\n",
    b"|1\r\n+ttl\r\n:3\r\n$1\r\nv\r\n",
    b"*1\r\n|1\r\n+a\r\n:1\r\n%1\r\n+k\r\n~0\r\n",
]


@pytest.mark.parametrize("frame", FRAMES)
def test_reply_end_finds_exact_boundary(frame: bytes) -> None:
    assert reply_end(frame + b"+NEXT\r\n") == len(frame)
    for cut in range(len(frame)):
        with pytest.raises(IncompleteReply):
            reply_end(frame[:cut])
    decode(frame)  # no trailing bytes, no exception


def test_reply_end_deep_nesting_is_iterative() -> None:
    depth = 50_000
    frame = b"*1\r\n" * depth + b":1\r\n"
    assert reply_end(frame) == len(frame)


def test_reply_end_rejects_garbage() -> None:
    with pytest.raises(ProtocolViolation):
        reply_end(b"?what\r\n")
    with pytest.raises(ProtocolViolation):
        reply_end(b"$3\r\nabcd\r\n")


def test_decode_types() -> None:
    assert decode(b"+OK\r\n") == Simple(b"OK") and isinstance(decode(b"+OK\r\n"), Simple)
    assert isinstance(decode(b"-ERR x\r\n"), Error)
    assert decode(b"$-1\r\n") is None
    assert decode(b"*-1\r\n") is NULL_ARRAY
    assert decode(b"_\r\n") is NULL3
    assert decode(b"#f\r\n") is False
    assert isinstance(decode(b",1.5\r\n"), Double)
    assert isinstance(decode(b"(1\r\n"), BigNumber)
    v = decode(b"=8\r\ntxt:ab\r\n\r\n")
    assert isinstance(v, Verbatim) and v.fmt == b"txt" and bytes(v) == b"ab\r\n"
    assert isinstance(decode(b"!5\r\nERR x\r\n"), BlobError)
    m = decode(b"%1\r\n+k\r\n~2\r\n:1\r\n:2\r\n")
    assert isinstance(m, RespMap) and isinstance(m[0][1], RespSet)
    a = decode(b"|1\r\n+ttl\r\n:3\r\n$1\r\nv\r\n")
    assert isinstance(a, Attributed) and a.value == b"v"


def test_canonical_keeps_types_apart() -> None:
    assert canonical(decode(b"+OK\r\n")) != canonical(decode(b"$2\r\nOK\r\n"))
    assert canonical(decode(b"$-1\r\n")) != canonical(decode(b"_\r\n"))
    assert canonical(decode(b"~2\r\n:1\r\n:2\r\n")) == canonical(decode(b"~2\r\n:2\r\n:1\r\n"))
    assert canonical(decode(b"*2\r\n:1\r\n:2\r\n")) != canonical(decode(b"*2\r\n:2\r\n:1\r\n"))


def test_resp_type_names_null_forms() -> None:
    assert resp_type(b"$-1\r\n") == "null-bulk"
    assert resp_type(b"$1\r\nx\r\n") == "bulk"
    assert resp_type(b"*-1\r\n") == "null-array"
    assert resp_type(b"|1\r\n+a\r\n:1\r\n:5\r\n") == "attribute+integer"


def test_modes() -> None:
    assert TYPE.check(b":1\r\n", b":2\r\n") is None
    assert TYPE.check(b":1\r\n", b"$1\r\n1\r\n") is not None
    assert TYPE.check(b"$-1\r\n", b"$1\r\nx\r\n") is not None
    assert UNORDERED.check(b"*2\r\n$1\r\na\r\n$1\r\nb\r\n", b"*2\r\n$1\r\nb\r\n$1\r\na\r\n") is None
    assert UNORDERED.check(b"*2\r\n$1\r\na\r\n$1\r\na\r\n", b"*2\r\n$1\r\na\r\n$1\r\nb\r\n") is not None
    assert UNORDERED.check(b"*1\r\n$1\r\na\r\n", b"~1\r\n$1\r\na\r\n") is not None
    assert IGNORE_VALUE.check(b"*2\r\n$1\r\n1\r\n$1\r\n2\r\n", b"*2\r\n$2\r\n10\r\n$1\r\n3\r\n") is None
    assert IGNORE_VALUE.check(b"*2\r\n$1\r\n1\r\n$1\r\n2\r\n", b"*1\r\n$2\r\n10\r\n") is not None
    assert int_range(1, 5).check(b":1\r\n", b":5\r\n") is None
    assert int_range(1, 5).check(b":1\r\n", b":6\r\n") is not None
    assert int_range(1, 5).check(b":1\r\n", b"$1\r\n1\r\n") is not None
    assert contains(b"b").check(b"$3\r\nabc\r\n", b"$1\r\nb\r\n") is None
    assert contains(b"b").check(b"$3\r\nabc\r\n", b"$1\r\nx\r\n") is not None
    flat = b"*4\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$1\r\n2\r\n"
    swapped = b"*4\r\n$1\r\nb\r\n$1\r\n2\r\n$1\r\na\r\n$1\r\n1\r\n"
    other_vals = b"*4\r\n$1\r\nb\r\n$1\r\n9\r\n$1\r\na\r\n$1\r\n1\r\n"
    assert pairs().check(flat, swapped) is None
    assert pairs().check(flat, other_vals) is not None
    assert pairs(ignore_values=True).check(flat, other_vals) is None
    assert pairs(ignore=frozenset({b"b"})).check(flat, other_vals) is None


def test_encode_command() -> None:
    assert encode_command(["SET", b"k", 1]) == b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\n1\r\n"


def test_free_port_never_repeats() -> None:
    ports = [free_port() for _ in range(200)]
    assert len(set(ports)) == len(ports)


def test_wait_until() -> None:
    calls = iter([0, 0, 7])
    assert wait_until(lambda: next(calls), timeout=5) == 7
    with pytest.raises(TimeoutError, match="never"):
        wait_until(lambda: False, timeout=0.05, msg="never")
