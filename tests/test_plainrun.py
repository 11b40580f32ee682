"""crdtredis/protocol/plainrun.pyx: the compiled loop of a read batch's plain requests.

Its replies must be byte for byte what protocol/resp.py's encode_reply writes, and it must
hand back exactly the request it stopped on. (tests/test_connection.py runs every
connection test with it and without it.)"""
from __future__ import annotations

import os
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crdtredis.protocol import connection, plainrun
from crdtredis.protocol.resp import encode_reply
from crdtredis.reply import OK, PONG, Deferred, ErrorReply, Status
from crdtredis.wire import fastdec

RUN = plainrun.native()
pytestmark = pytest.mark.skipif(RUN is None, reason="plainrun.pyx not compiled in this build")


class _Client:
    def __init__(self, resp: int = 2) -> None:
        self.resp = resp
        self.special = False
        self.closing = False


def test_the_connection_uses_the_compiled_loop_when_the_build_has_it() -> None:
    if os.environ.get("CRDT_REDIS_PURE") or not fastdec.compiled():
        return
    assert RUN is not None and connection._RUN_PLAIN is RUN


_PLAIN = st.one_of(
    st.just(OK), st.none(),
    st.integers(min_value=-(1 << 63), max_value=(1 << 63) - 1),
    st.integers(min_value=-3, max_value=1025),
    st.binary(max_size=1100),
    st.binary(min_size=1020, max_size=1030),
    st.binary(max_size=30).filter(lambda b: b"\r" not in b and b"\n" not in b).map(Status),
)


@settings(max_examples=400, deadline=None)
@given(replies=st.lists(_PLAIN, max_size=20), resp=st.sampled_from([2, 3]), prefix=st.binary(max_size=8))
def test_plain_replies_are_encoded_as_encode_reply_writes_them(replies: list[Any], resp: int, prefix: bytes) -> None:
    assert RUN is not None
    it = iter(replies)
    out = bytearray(prefix)
    cmds = [[b"X", b"%d" % k] for k in range(len(replies))]
    seen: list[list[bytes]] = []

    def execute(client: Any, argv: list[bytes]) -> Any:
        seen.append(argv)
        return next(it)

    assert RUN(execute, _Client(resp), cmds, 0, out) == (len(cmds), None, plainrun.DONE)
    want = bytearray(prefix)
    for r in replies:
        encode_reply(want, r, resp)
    assert bytes(out) == bytes(want)
    assert seen == cmds


@pytest.mark.parametrize("other", [
    [b"a", 1], (b"a",), ErrorReply("ERR x"), 1 << 63, -(1 << 63) - 1, True, 1.5, Deferred(None),
    bytearray(b"x"),
])
def test_any_other_reply_is_handed_back_unencoded_with_its_request(other: Any) -> None:
    assert RUN is not None
    replies = iter([OK, b"v", other, OK])
    out = bytearray()
    cmds = [[b"A"], [b"B"], [b"C"], [b"D"]]
    j, reply, state = RUN(lambda c, a: next(replies), _Client(), cmds, 0, out)
    assert (j, state) == (2, plainrun.REPLY) and reply is other
    assert bytes(out) == b"+OK\r\n$1\r\nv\r\n"
    # The connection goes on from the request after it.
    assert RUN(lambda c, a: next(replies), _Client(), cmds, 3, out) == (4, None, plainrun.DONE)
    assert bytes(out).endswith(b"\r\n+OK\r\n")


def test_a_client_that_becomes_special_gets_its_reply_handed_back() -> None:
    assert RUN is not None
    client = _Client()

    def execute(c: Any, argv: list[bytes]) -> Any:
        if argv[0] == b"REPLYOFF":
            c.special = True
        return OK

    out = bytearray()
    j, reply, state = RUN(execute, client, [[b"PING"], [b"REPLYOFF"], [b"PING"]], 0, out)
    assert (j, reply, state) == (1, OK, plainrun.REPLY)
    assert bytes(out) == b"+OK\r\n"


def test_closing_stops_after_the_closing_request_with_its_reply_written() -> None:
    assert RUN is not None
    client = _Client()
    ran: list[bytes] = []

    def execute(c: Any, argv: list[bytes]) -> Any:
        ran.append(argv[0])
        if argv[0] == b"QUIT":
            c.closing = True
        return OK

    out = bytearray()
    assert RUN(execute, client, [[b"SET"], [b"QUIT"], [b"SET"]], 0, out) == (2, None, plainrun.CLOSING)
    assert ran == [b"SET", b"QUIT"] and bytes(out) == b"+OK\r\n+OK\r\n"


def test_an_exception_is_handed_back_with_the_request_that_raised_it() -> None:
    assert RUN is not None
    boom = ValueError("kaboom")

    def execute(c: Any, argv: list[bytes]) -> Any:
        if argv[0] == b"BOOM":
            raise boom
        return PONG

    out = bytearray()
    assert RUN(execute, _Client(), [[b"PING"], [b"BOOM"], [b"PING"]], 0, out) == (1, boom, plainrun.RAISED)
    assert bytes(out) == b"+PONG\r\n"
    with pytest.raises(KeyboardInterrupt):  # not an Exception: it propagates, as in the Python loop
        RUN(lambda c, a: (_ for _ in ()).throw(KeyboardInterrupt()), _Client(), [[b"X"]], 0, out)


def test_a_run_s_replies_are_written_and_its_last_other_kind_handed_back() -> None:
    """runs.py hands back (k, replies, exc); the loop writes them in order. A last reply of
    another kind goes back to the connection with its request; one before the last (not
    expected from runs.py) is written by encode_reply, never re-run."""
    assert RUN is not None
    ran: list[list[bytes]] = []

    def execute(c: Any, argv: list[bytes]) -> Any:
        ran.append(argv)
        return OK

    cmds = [[b"A", b"1"], [b"A", b"2"], [b"A", b"3"], [b"B"]]
    err = ErrorReply("ERR x")

    def runs(c: Any, cs: list[list[bytes]], i: int, j: int) -> Any:
        assert (i, j) == (0, 3)
        return 3, [7, err, b"v"], None

    out = bytearray()
    assert RUN(execute, _Client(), cmds, 0, out, runs) == (4, None, plainrun.DONE)
    assert bytes(out) == b":7\r\n-ERR x\r\n$1\r\nv\r\n+OK\r\n" and ran == [[b"B"]]

    def runs_last(c: Any, cs: list[list[bytes]], i: int, j: int) -> Any:
        return 2, [b"v", [b"a"]], None

    out = bytearray()
    assert RUN(execute, _Client(), cmds, 0, out, runs_last) == (1, [b"a"], plainrun.REPLY)
    assert bytes(out) == b"$1\r\nv\r\n"


def test_a_declined_run_is_not_offered_again_and_its_requests_run_one_by_one() -> None:
    assert RUN is not None
    offered: list[tuple[int, int]] = []

    def runs(c: Any, cs: list[list[bytes]], i: int, j: int) -> Any:
        offered.append((i, j))
        return -1, None, None

    ran: list[bytes] = []
    cmds = [[b"A", b"%d" % k] for k in range(5)] + [[b"B"], [b"B"]]

    def execute(c: Any, argv: list[bytes]) -> Any:
        ran.append(argv[0])
        return PONG

    out = bytearray()
    assert RUN(execute, _Client(), cmds, 0, out, runs) == (7, None, plainrun.DONE)
    assert offered == [(0, 5), (5, 7)] and len(ran) == 7
