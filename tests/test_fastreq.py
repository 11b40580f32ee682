"""The compiled request splitter (protocol/fastreq.py) changes no parse.

RequestReader takes canonical requests through `split_requests` and everything else through
hiredis and its Python checks. Whatever the bytes and however they are split into reads,
the reader must give the same argument lists and the same error with the splitter compiled,
interpreted, or absent.
"""
from __future__ import annotations

import os
from collections.abc import Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crdtredis.protocol import fastreq, reader
from crdtredis.protocol.reader import ProtocolError, RequestReader
from crdtredis.protocol.resp import encode_command

Cmds = list[list[bytes]]
SPLITTERS = {"compiled": reader.native_split(), "interpreted": fastreq.split_requests, "none": None}


def as_connection(chunks: Sequence[bytes], auth_required: bool = False, max_bulk: int = 512 * 1024 * 1024
                  ) -> tuple[Cmds, str | None]:
    """Read `chunks` the way connection.py does: parse() per read, then get_commands()
    while `more`."""
    r = RequestReader(max_bulk)
    r.auth_required = auth_required
    cmds: Cmds = []
    try:
        for chunk in chunks:
            cmds += r.parse(chunk)
            while r.more:
                cmds += r.get_commands()
    except ProtocolError as e:
        return cmds, e.message
    return cmds, None


def under_each(chunks: Sequence[bytes], **kw: object) -> dict[str, tuple[Cmds, str | None]]:
    out = {}
    saved = reader._SPLIT
    try:
        for name, fn in SPLITTERS.items():
            if name == "compiled" and fn is None:
                continue
            reader._SPLIT = fn
            out[name] = as_connection(chunks, **kw)  # type: ignore[arg-type]
    finally:
        reader._SPLIT = saved
    return out


piece = st.one_of(
    st.lists(st.binary(max_size=12), min_size=1, max_size=4).map(encode_command),
    st.lists(st.binary(max_size=12), min_size=1, max_size=4).map(encode_command),
    st.sampled_from([
        b"PING\r\n", b"\r\n", b"*0\r\n", b"*-1\r\n", b"*00\r\n", b"*01\r\n$1\r\na\r\n",
        b"*1\r\n$01\r\na\r\n", b"*1\r\n$00\r\n\r\n", b"*1\r\n$0\r\n\r\n", b"*1\r\n$-1\r\n",
        b"*1\r\n:5\r\n", b"*1\r\n+x\r\n", b"*1\r\n*1\r\n$1\r\na\r\n", b"*1\r\n$1\r\nabc\r\n",
        b"*1\r\n$1\r\nab\n", b"*1\n$1\r\na\r\n", b"*1\r\n$1\na\r\n", b"*1\r$1\r\na\r\n",
        b"*+1\r\n$1\r\na\r\n", b"*1\r\n$+1\r\na\r\n", b"*99999\r\n", b"*100000\r\n",
        b"*1\r\n$9999999999\r\n", b"*1\r\n$1234567890123456789\r\n", b"*1\r\n$6\r\nabcdef\r\n",
        b"*1 \r\n$1\r\na\r\n", b"*1\r\n$1 \r\na\r\n", b"*1\0\r\n", b'"open\r\n', b"*x\r\n",
    ]),
)


@given(pieces=st.lists(piece, max_size=8), data=st.data(), auth=st.booleans(),
       max_bulk=st.sampled_from([512 * 1024 * 1024, 5]))
@settings(max_examples=500, deadline=None)
def test_same_parse_with_and_without_the_splitter(
    pieces: list[bytes], data: st.DataObject, auth: bool, max_bulk: int
) -> None:
    buf = b"".join(pieces)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(buf)), max_size=4)))
    chunks = [buf[a:b] for a, b in zip([0, *cuts], [*cuts, len(buf)], strict=True)]
    for split in ([buf], chunks):
        got = under_each(split, auth_required=auth, max_bulk=max_bulk)
        assert len(set(map(repr, got.values()))) == 1, got


def test_the_splitter_is_compiled_when_the_build_is() -> None:
    """CI builds the compiled modules: there the reader must use the compiled splitter,
    or the hot path silently loses it (CRDT_REDIS_PURE=1 builds none)."""
    from crdtredis.wire import fastdec

    if os.environ.get("CRDT_REDIS_PURE") or not fastdec.compiled():
        return
    assert reader._SPLIT is not None and reader._SPLIT is not fastreq.split_requests


# -- split_requests itself: where it stops ---------------------------------------------

SET = b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$0\r\n\r\n"


@pytest.mark.parametrize("impl", ["compiled", "interpreted"])
@pytest.mark.parametrize(("tail", "why"), [
    (b"", "end of the read"),
    (b"*1\r\n$4\r\nPIN", "incomplete payload"),
    (b"*1\r\n$4\r\nPING\r", "incomplete CRLF"),
    (b"*1\r\n$4", "incomplete length line"),
    (b"*", "incomplete count line"),
    (b"PING\r\n", "inline"),
    (b"*0\r\n", "empty request"),
    (b"*01\r\n$1\r\na\r\n", "count with a leading zero"),
    (b"*1\r\n$01\r\na\r\n", "length with a leading zero"),
    (b"*100000\r\n", "count of 100,000"),
    (b"*1\r\n$6\r\nabc\r\n", "payload without its CRLF"),
    (b"*1\r\n:1\r\n", "not a bulk string"),
    (b"*1\r\n$11\r\nhello world\r\n", "length over max_bulk (10)"),
])
def test_split_takes_the_canonical_requests_before_what_it_stops_at(impl: str, tail: bytes, why: str) -> None:
    fn = SPLITTERS[impl]
    if fn is None:
        pytest.skip("no compiled build")
    data = SET + SET + tail
    cmds: Cmds = []
    assert fn(data, 0, cmds, 10) == 2 * len(SET), why
    assert cmds == [[b"SET", b"k", b""]] * 2
    cmds = []
    assert fn(data, len(SET), cmds, 10) == 2 * len(SET)
    assert cmds == [[b"SET", b"k", b""]]


@pytest.mark.parametrize("impl", ["compiled", "interpreted"])
def test_split_bounds(impl: str) -> None:
    fn = SPLITTERS[impl]
    if fn is None:
        pytest.skip("no compiled build")
    big = encode_command([b"x"] * 99_999)
    cmds: Cmds = []
    assert fn(big, 0, cmds, 1) == len(big) and len(cmds[0]) == 99_999
    ten = b"*1\r\n$10\r\n0123456789\r\n"
    assert fn(ten, 0, cmds := [], 10) == len(ten) and cmds == [[b"0123456789"]]
    # A limit past what a C long long holds (the compiled twin clamps it) refuses nothing.
    assert fn(ten, 0, cmds := [], 2**70) == len(ten) and cmds == [[b"0123456789"]]
    # 18 digits of length are read (then the payload is missing); 19 are refused outright,
    # whatever the limit, and so is a value past the long long's range.
    for line in (b"*1\r\n$999999999999999999\r\nab\r\n", b"*1\r\n$9999999999999999999\r\n",
                 b"*1\r\n$99999999999999999999999\r\n"):
        assert fn(ten + line, 0, cmds := [], 2**70) == len(ten) and cmds == [[b"0123456789"]]
