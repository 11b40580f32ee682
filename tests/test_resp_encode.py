"""Reply encoding, RESP2 and RESP3, against literal wire bytes."""
from __future__ import annotations

import math

import pytest

from crdtredis.protocol.resp import encode_command, encode_error, encode_reply, format_double
from crdtredis.reply import (
    NULL_ARRAY,
    OK,
    PONG,
    QUEUED,
    Deferred,
    ErrorReply,
    Map,
    SetReply,
    Status,
    Verbatim,
)


def enc(reply: object, resp: int) -> bytes:
    out = bytearray()
    encode_reply(out, reply, resp)
    return bytes(out)


BOTH = [
    (b"foo", b"$3\r\nfoo\r\n"),
    (b"", b"$0\r\n\r\n"),
    (b"a\r\nb", b"$4\r\na\r\nb\r\n"),
    (b"x" * 1023, b"$1023\r\n" + b"x" * 1023 + b"\r\n"),
    (b"x" * 5000, b"$5000\r\n" + b"x" * 5000 + b"\r\n"),
    (0, b":0\r\n"),
    (1, b":1\r\n"),
    (-1, b":-1\r\n"),
    (-2, b":-2\r\n"),
    (-3, b":-3\r\n"),
    (1023, b":1023\r\n"),
    (1024, b":1024\r\n"),
    (2**63 - 1, b":9223372036854775807\r\n"),
    (-(2**63), b":-9223372036854775808\r\n"),
    (OK, b"+OK\r\n"),
    (PONG, b"+PONG\r\n"),
    (QUEUED, b"+QUEUED\r\n"),
    (Status(b"FULLRESYNC x 0"), b"+FULLRESYNC x 0\r\n"),
    (ErrorReply("ERR syntax error"), b"-ERR syntax error\r\n"),
    (ErrorReply("WRONGTYPE Operation against a key holding the wrong kind of value"),
     b"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"),
    ([], b"*0\r\n"),
    ([b"a", 1, OK], b"*3\r\n$1\r\na\r\n:1\r\n+OK\r\n"),
    ((b"a", b"b"), b"*2\r\n$1\r\na\r\n$1\r\nb\r\n"),
    ([[b"a"], []], b"*2\r\n*1\r\n$1\r\na\r\n*0\r\n"),
    ([ErrorReply("ERR x"), b"y"], b"*2\r\n-ERR x\r\n$1\r\ny\r\n"),
]


@pytest.mark.parametrize("resp", [2, 3])
@pytest.mark.parametrize(("reply", "wire"), BOTH)
def test_encode_same_in_resp2_and_resp3(reply: object, wire: bytes, resp: int) -> None:
    assert enc(reply, resp) == wire


PER_VERSION = [
    # reply, RESP2, RESP3
    (None, b"$-1\r\n", b"_\r\n"),
    (NULL_ARRAY, b"*-1\r\n", b"_\r\n"),
    ([None, b"a"], b"*2\r\n$-1\r\n$1\r\na\r\n", b"*2\r\n_\r\n$1\r\na\r\n"),
    ([NULL_ARRAY], b"*1\r\n*-1\r\n", b"*1\r\n_\r\n"),
    (True, b":1\r\n", b"#t\r\n"),
    (False, b":0\r\n", b"#f\r\n"),
    ([True, 1], b"*2\r\n:1\r\n:1\r\n", b"*2\r\n#t\r\n:1\r\n"),
    (1.5, b"$3\r\n1.5\r\n", b",1.5\r\n"),
    (0.1, b"$19\r\n0.10000000000000001\r\n", b",0.10000000000000001\r\n"),
    (3.0, b"$1\r\n3\r\n", b",3\r\n"),
    (-0.0, b"$2\r\n-0\r\n", b",-0\r\n"),
    (1e20, b"$5\r\n1e+20\r\n", b",1e+20\r\n"),
    (math.inf, b"$3\r\ninf\r\n", b",inf\r\n"),
    (-math.inf, b"$4\r\n-inf\r\n", b",-inf\r\n"),
    (math.nan, b"$3\r\nnan\r\n", b",nan\r\n"),
    (Map([(b"a", 1), (b"b", None)]),
     b"*4\r\n$1\r\na\r\n:1\r\n$1\r\nb\r\n$-1\r\n",
     b"%2\r\n$1\r\na\r\n:1\r\n$1\r\nb\r\n_\r\n"),
    (Map([]), b"*0\r\n", b"%0\r\n"),
    (Map([(b"m", Map([(b"k", [b"v"])]))]),
     b"*2\r\n$1\r\nm\r\n*2\r\n$1\r\nk\r\n*1\r\n$1\r\nv\r\n",
     b"%1\r\n$1\r\nm\r\n%1\r\n$1\r\nk\r\n*1\r\n$1\r\nv\r\n"),
    (SetReply([b"x", b"y"]), b"*2\r\n$1\r\nx\r\n$1\r\ny\r\n", b"~2\r\n$1\r\nx\r\n$1\r\ny\r\n"),
    (SetReply([]), b"*0\r\n", b"~0\r\n"),
    (Verbatim(b"# Server\r\n"), b"$10\r\n# Server\r\n\r\n", b"=14\r\ntxt:# Server\r\n\r\n"),
    (Verbatim(b"**x**", b"mkd"), b"$5\r\n**x**\r\n", b"=9\r\nmkd:**x**\r\n"),
    ([1.5, SetReply([2.0])], b"*2\r\n$3\r\n1.5\r\n*1\r\n$1\r\n2\r\n", b"*2\r\n,1.5\r\n~1\r\n,2\r\n"),
]


@pytest.mark.parametrize(("reply", "resp2", "resp3"), PER_VERSION)
def test_encode_per_version(reply: object, resp2: bytes, resp3: bytes) -> None:
    assert enc(reply, 2) == resp2
    assert enc(reply, 3) == resp3


def test_encode_error_newlines_become_spaces_like_add_reply_error_format() -> None:
    assert enc(ErrorReply("ERR bad\r\nthing\n"), 2) == b"-ERR bad  thing\r\n"
    assert encode_error("\r\nERR x\ry") == b"-ERR x y\r\n"


def test_encode_error_keeps_surrogate_escaped_bytes() -> None:
    raw = b"ERR unknown command '\xff'"
    assert encode_error(raw.decode("utf-8", "surrogateescape")) == b"-" + raw + b"\r\n"


def test_encode_long_array_uses_computed_header() -> None:
    items = [b"v"] * 1500
    assert enc(items, 2) == b"*1500\r\n" + b"$1\r\nv\r\n" * 1500


def test_encode_bytearray_and_memoryview_as_bulk() -> None:
    assert enc(bytearray(b"ab"), 2) == b"$2\r\nab\r\n"
    assert enc(memoryview(b"abc"), 3) == b"$3\r\nabc\r\n"


def test_encode_appends_to_existing_buffer() -> None:
    out = bytearray(b"+OK\r\n")
    encode_reply(out, 7, 2)
    assert out == b"+OK\r\n:7\r\n"


@pytest.mark.parametrize("bad", [object(), "a str", {"a": 1}, [b"ok", object()], Map([(b"k", object())])])
def test_encode_bad_reply_raises_and_leaves_buffer_unchanged(bad: object) -> None:
    out = bytearray(b"+OK\r\n")
    with pytest.raises(TypeError):
        encode_reply(out, bad, 2)
    assert out == b"+OK\r\n"


def test_encode_deferred_is_refused() -> None:
    import asyncio

    loop = asyncio.new_event_loop()
    try:
        with pytest.raises(TypeError):
            encode_reply(bytearray(), Deferred(loop.create_future()), 2)
    finally:
        loop.close()


def test_format_double_matches_redis_percent_17g() -> None:
    assert format_double(1.0) == b"1"
    assert format_double(2.5e-7) == b"2.4999999999999999e-07"
    assert format_double(123456789.125) == b"123456789.125"


def test_encode_command() -> None:
    assert encode_command([b"SET", "k", 10]) == b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$2\r\n10\r\n"
    assert encode_command([]) == b"*0\r\n"
    assert encode_command([b""]) == b"*1\r\n$0\r\n\r\n"
