"""Request parsing: hiredis fast path, Redis's limits, inline requests, chunking."""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator, Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crdtredis.protocol.reader import (
    PROTO_INLINE_MAX_SIZE,
    ProtocolError,
    RequestReader,
    split_inline,
)
from crdtredis.protocol.resp import encode_command, encode_reply

Cmds = list[list[bytes]]


def parse(chunks: Sequence[bytes], *, auth_required: bool = False, max_bulk: int | None = None
          ) -> tuple[Cmds, str | None]:
    """Feed chunks like a connection does; return the commands and the error text, if any."""
    r = RequestReader() if max_bulk is None else RequestReader(max_bulk)
    r.auth_required = auth_required
    cmds: Cmds = []
    try:
        for chunk in chunks:
            r.feed(chunk)
            while batch := r.get_commands():
                cmds += batch
    except ProtocolError as e:
        return cmds, e.message
    return cmds, None


def ok(chunks: Sequence[bytes], **kw: object) -> Cmds:
    cmds, err = parse(chunks, **kw)  # type: ignore[arg-type]
    assert err is None, err
    return cmds


def err_of(chunks: Sequence[bytes], **kw: object) -> str | None:
    return parse(chunks, **kw)[1]  # type: ignore[arg-type]


# -- complete requests ----------------------------------------------------------------


def test_reader_pipeline_in_one_read() -> None:
    buf = encode_command([b"SET", b"k", b"v"]) * 3 + encode_command([b"GET", b"k"])
    assert ok([buf]) == [[b"SET", b"k", b"v"]] * 3 + [[b"GET", b"k"]]


def test_reader_binary_arguments() -> None:
    val = bytes(range(256)) + b"\r\n*1\r\n$4\r\nPING\r\n"
    assert ok([encode_command([b"SET", b"\0\r\n", val])]) == [[b"SET", b"\0\r\n", val]]


def test_reader_empty_multibulk_requests_are_skipped() -> None:
    assert ok([b"*0\r\n*-1\r\n*-10\r\n" + encode_command([b"PING"]) + b"*0\r\n"]) == [[b"PING"]]


def test_reader_returns_nothing_until_complete() -> None:
    r = RequestReader()
    buf = encode_command([b"SET", b"key", b"x" * 100])
    for b in buf[:-1]:
        r.feed(bytes([b]))
        assert r.get_commands() == []
    r.feed(buf[-1:])
    assert r.get_commands() == [[b"SET", b"key", b"x" * 100]]
    assert r.get_commands() == []


def test_reader_large_value_in_many_reads_keeps_no_copy_of_payload() -> None:
    value = os.urandom(300_000)
    buf = encode_command([b"SET", b"k", value]) + encode_command([b"PING"])
    r = RequestReader()
    cmds: Cmds = []
    for i in range(0, len(buf), 7000):
        r.feed(buf[i : i + 7000])
        cmds += r.get_commands()
        scanner = r._scanner
        # Only a partial header line may be kept while hiredis buffers the request.
        assert scanner is None or len(scanner._line) < 32
    assert cmds == [[b"SET", b"k", value], [b"PING"]]


def test_reader_parse_is_feed_plus_get_commands_and_sets_more() -> None:
    r = RequestReader()
    assert r.parse(encode_command([b"PING"]) * 3) == [[b"PING"]] * 3
    assert r.more is False
    assert r.parse(b"PING\r\n*1\r\n$4\r\nPI") == [[b"PING"]]
    assert r.parse(b"NG\r\n*1\r\n$-5\r\n") == [[b"PING"]]
    assert r.more is True  # the error is raised by the next call
    with pytest.raises(ProtocolError):
        r.get_commands()
    with pytest.raises(ProtocolError):
        r.parse(b"PING\r\n")


def test_reader_big_count_request_in_one_read_and_in_pieces() -> None:
    argv = [b"DEL"] + [b"k%d" % i for i in range(120_000)]
    wire = encode_command(argv) + encode_command([b"PING"])
    assert ok([wire]) == [argv, [b"PING"]]
    assert ok([wire[i : i + 70_000] for i in range(0, len(wire), 70_000)]) == [argv, [b"PING"]]


def test_reader_huge_count_costs_nothing_up_front() -> None:
    # hiredis would allocate a list of 2**31 slots here, and freeing it takes seconds.
    start = time.monotonic()
    for _ in range(3):
        r = RequestReader()
        r.feed(b"*2147483647\r\n" + b"$1\r\na\r\n" * 1000)
        assert r.get_commands() == []
        r.feed(b"$1\r\na\r\n")
        assert r.get_commands() == []
        del r
    assert err_of([b"*2147483648\r\n"]) == "Protocol error: invalid multibulk length"
    assert time.monotonic() - start < 0.5


def _count_exact_lines(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    from crdtredis.protocol import reader as mod

    calls = {"lines": 0}
    orig = mod._Scanner._read_line

    def counting(self: object, data: bytes, pos: int) -> object:
        calls["lines"] += 1
        return orig(self, data, pos)  # type: ignore[arg-type]

    monkeypatch.setattr(mod._Scanner, "_read_line", counting)
    return calls


def test_reader_never_finished_huge_request_is_skimmed_not_parsed_line_by_line(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # Issue 13: `*2147483647` followed by a stream of tiny arguments blocked every client
    # (2 µs of Python per argument, 77 ms per 256 KB read). Whole arguments are now taken
    # by hiredis; only the headers cut by a read boundary go through the exact path.
    calls = _count_exact_lines(monkeypatch)
    r = RequestReader()
    assert r.parse(b"*2147483647\r\n") == []
    data = b"$1\r\nx\r\n" * 200_000
    reads = 0
    for i in range(0, len(data), 65_539):  # reads that cut arguments anywhere
        assert r.parse(data[i:i + 65_539]) == []
        reads += 1
    assert calls["lines"] <= 2 * reads + 1


@pytest.mark.parametrize("step", [1, 7, 4093, 65_539])
def test_reader_skimmed_request_gives_the_exact_arguments(step: int) -> None:
    argv = [b"SADD", b"s"] + [os.urandom(i % 50) for i in range(110_000)] + [b"x" * 5000, b""]
    wire = encode_command(argv) + encode_command([b"PING"])
    if step == 1:
        chunks = [wire]
    else:  # `step`-byte reads over the first 300 KB, then the rest in one
        cut = 300_000 - 300_000 % step
        chunks = [wire[i:i + step] for i in range(0, cut, step)] + [wire[cut:]]
    assert ok(chunks) == [argv, [b"PING"]]


def test_reader_skim_leaves_redis_only_framing_and_limits_to_the_exact_path() -> None:
    head = b"*100001\r\n" + b"$3\r\nSET\r\n" + b"$1\r\nk\r\n" * 60_000
    # Redis skips the byte after a length's CR unchecked; hiredis refuses it.
    odd = head + b"$1\rXv\r\n" + b"$1\r\nk\r\n" * 39_999 + encode_command([b"PING"])
    cmds = ok([odd])
    assert len(cmds[0]) == 100_001 and cmds[0][60_001] == b"v" and cmds[1] == [b"PING"]
    # A length over proto-max-bulk-len, deep inside the stream: Redis's error, not a wait.
    assert err_of([head + b"$2000\r\n"], max_bulk=1024) == "Protocol error: invalid bulk length"
    assert err_of([head, b"$2000\r\n"], max_bulk=1024) == "Protocol error: invalid bulk length"
    assert err_of([head + b"$-1\r\n"]) == "Protocol error: invalid bulk length"
    assert err_of([head + b"$01\r\nx\r\n"]) == "Protocol error: invalid bulk length"
    assert err_of([head + b"X1\r\nx\r\n"]) == "Protocol error: expected '$', got 'X'"


# -- every split of a pipeline --------------------------------------------------------

MIXED = (
    encode_command([b"SET", b"k", b"v"])
    + b"PING\r\n"
    + encode_command([b"GET", b"a" * 12])
    + b"  set \"a b\\x41\" 'c d'  \n"
    + b"\r\n"
    + encode_command([b"x" * 11, b""])
    + b"*0\r\n"
    + encode_command([b"ECHO", b"\r\n"])
    + b"*-1\r\n"
    + b"ECHO z\n"
    + encode_command([b"END"])
)
MIXED_CMDS = [
    [b"SET", b"k", b"v"],
    [b"PING"],
    [b"GET", b"a" * 12],
    [b"set", b"a bA", b"c d"],
    [b"x" * 11, b""],
    [b"ECHO", b"\r\n"],
    [b"ECHO", b"z"],
    [b"END"],
]


def test_reader_mixed_buffer_in_one_read() -> None:
    assert ok([MIXED]) == MIXED_CMDS


def test_reader_every_split_in_two() -> None:
    for i in range(len(MIXED) + 1):
        assert ok([MIXED[:i], MIXED[i:]]) == MIXED_CMDS, i


def test_reader_every_split_in_three() -> None:
    n = len(MIXED)
    for i in range(n + 1):
        for j in range(i, n + 1):
            assert ok([MIXED[:i], MIXED[i:j], MIXED[j:]]) == MIXED_CMDS, (i, j)


def test_reader_byte_by_byte() -> None:
    assert ok([MIXED[i : i + 1] for i in range(len(MIXED))]) == MIXED_CMDS


def test_reader_multibulk_pipeline_every_split_in_two_then_python_path() -> None:
    # Only multibulk: the split positions exercise hiredis plus the tail scanner;
    # auth_required forces the exact Python parser: both must agree.
    buf = b"".join(encode_command([b"CMD%d" % i, b"v" * i]) for i in range(12))
    want = [[b"CMD%d" % i, b"v" * i] for i in range(12)]
    for i in range(len(buf) + 1):
        assert ok([buf[:i], buf[i:]]) == want, i
        assert ok([buf[:i], buf[i:]], auth_required=True) == want, i


argv_lists = st.lists(st.lists(st.binary(max_size=40), min_size=1, max_size=6), max_size=8)


@given(cmds=argv_lists, data=st.data())
@settings(max_examples=300, deadline=None)
def test_reader_roundtrip_any_chunking(cmds: Cmds, data: st.DataObject) -> None:
    buf = b"".join(encode_command(c) for c in cmds)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(buf)), max_size=6)))
    chunks = [buf[a:b] for a, b in zip([0, *cuts], [*cuts, len(buf)], strict=True)]
    assert ok(chunks) == cmds


inline_token = st.binary(min_size=1, max_size=10).filter(
    lambda b: all(c not in b" \t\r\n\v\f\0\"'" for c in b)
)
request = st.one_of(
    st.lists(st.binary(max_size=20), min_size=1, max_size=4).map(lambda a: (a, encode_command(a))),
    # A line starting with '*' would be a multibulk request.
    st.lists(inline_token, min_size=1, max_size=4)
    .filter(lambda a: not a[0].startswith(b"*"))
    .map(lambda a: (a, b" ".join(a) + b"\r\n")),
)


@given(reqs=st.lists(request, max_size=8), data=st.data())
@settings(max_examples=300, deadline=None)
def test_reader_roundtrip_mixed_inline_and_multibulk(
    reqs: list[tuple[list[bytes], bytes]], data: st.DataObject
) -> None:
    buf = b"".join(wire for _, wire in reqs)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(buf)), max_size=5)))
    chunks = [buf[a:b] for a, b in zip([0, *cuts], [*cuts, len(buf)], strict=True)]
    assert ok(chunks) == [argv for argv, _ in reqs]


stream_piece = st.one_of(
    st.lists(st.binary(max_size=12), min_size=1, max_size=4).map(encode_command),
    st.sampled_from([
        b"PING\r\n", b"ECHO 'a b'\r\n", b"\r\n", b"*0\r\n", b"*-1\r\n", b"*-7\r\n",
        b"*1\r\n$-1\r\n", b"*1\r\n:5\r\n", b"*2\r\n$1\r\na\r\n*1\r\n$1\r\nb\r\n",
        b"*1\r\n$3\r\nab", b"$5\r\n", b"*x\r\n", b"*1\r\n$9999999999\r\n", b'"open\r\n',
        b"*1\r\n\r\n", b"*200000\r\n", b"*1\r\n$1\r\nabc\r\n", b"\0\r\n", b"*1\0\r\n",
    ]),
)


@given(pieces=st.lists(stream_piece, max_size=6), data=st.data())
@settings(max_examples=300, deadline=None)
def test_reader_result_does_not_depend_on_chunking(pieces: list[bytes], data: st.DataObject) -> None:
    # Valid and malformed requests mixed: hiredis, the tail scanner and the Python path
    # must agree on the commands and on the error, wherever the reads split the bytes.
    buf = b"".join(pieces)
    whole = parse([buf])
    cuts = sorted(data.draw(st.lists(st.integers(0, len(buf)), max_size=4)))
    chunks = [buf[a:b] for a, b in zip([0, *cuts], [*cuts, len(buf)], strict=True)]
    assert parse(chunks) == whole
    assert parse([buf[i : i + 1] for i in range(len(buf))]) == whole


# -- Redis's limits, reported at once --------------------------------------------------


@pytest.mark.parametrize(
    ("wire", "message"),
    [
        (b"*1\r\n$999999999999\r\n", "Protocol error: invalid bulk length"),
        (b"*1\r\n$536870913\r\n", "Protocol error: invalid bulk length"),
        (b"*1\r\n$-1\r\n", "Protocol error: invalid bulk length"),
        (b"*1\r\n$-5\r\n", "Protocol error: invalid bulk length"),
        (b"*1\r\n$04\r\n", "Protocol error: invalid bulk length"),
        (b"*1\r\n$1x\r\n", "Protocol error: invalid bulk length"),
        (b"*2147483648\r\n", "Protocol error: invalid multibulk length"),
        (b"*20000000000\r\n", "Protocol error: invalid multibulk length"),
        (b"*99999999999999999999999\r\n", "Protocol error: invalid multibulk length"),
        (b"*abc\r\n", "Protocol error: invalid multibulk length"),
        (b"*01\r\n", "Protocol error: invalid multibulk length"),
        (b"*3\r\n$3\r\nSET\r\n$1\r\nx\r\nfooz\r\n", "Protocol error: expected '$', got 'f'"),
        (b"*1\r\n:5\r\n", "Protocol error: expected '$', got ':'"),
        (b"*1\r\n*1\r\n$4\r\nPING\r\n", "Protocol error: expected '$', got '*'"),
        (b"*1\r\n\r\n", "Protocol error: expected '$', got ' '"),
        (b"*1\r\n\xff\r\n", "Protocol error: expected '$', got '\xff'"),
    ],
)
def test_reader_bad_header_is_reported_at_once(wire: bytes, message: str) -> None:
    assert err_of([wire]) == message
    # Also when the header arrives a byte at a time: no waiting for a payload.
    assert err_of([wire[i : i + 1] for i in range(len(wire))]) == message


def test_reader_huge_bulk_after_complete_requests() -> None:
    r = RequestReader()
    r.feed(encode_command([b"PING"]) * 2 + b"*2\r\n$3\r\nGET\r\n$99999999999\r\n")
    assert r.get_commands() == [[b"PING"], [b"PING"]]
    with pytest.raises(ProtocolError, match="invalid bulk length"):
        r.get_commands()


def test_reader_bulk_len_limit_is_configurable() -> None:
    assert err_of([b"*1\r\n$101\r\n"], max_bulk=100) == "Protocol error: invalid bulk length"
    assert ok([encode_command([b"x" * 100])], max_bulk=100) == [[b"x" * 100]]


def test_reader_error_comes_after_the_requests_before_it() -> None:
    r = RequestReader()
    r.feed(b"PING\r\n" + encode_command([b"ECHO", b"a"]) + b"*1\r\n$-5\r\n" + b"PING\r\n")
    assert r.get_commands() == [[b"PING"], [b"ECHO", b"a"]]
    with pytest.raises(ProtocolError) as info:
        r.get_commands()
    assert info.value.wire() == b"-ERR Protocol error: invalid bulk length\r\n"
    # Dead from now on.
    r.feed(b"PING\r\n")
    with pytest.raises(ProtocolError):
        r.get_commands()


@pytest.mark.parametrize(("head", "line", "message"), [
    (b"", b"*", "Protocol error: too big mbulk count string"),
    (b"*1\r\n", b"$", "Protocol error: too big bulk count string"),
    (b"*1\r\n", b"X", "Protocol error: too big bulk count string"),  # the length before the '$'
    (b"PING\r\n", b"A", "Protocol error: too big inline request"),
    (b"", b"PING\0\r\n", "Protocol error: too big inline request"),  # strchr stops at NUL
])
def test_reader_header_line_waits_up_to_64k_then_fails(head: bytes, line: bytes, message: str) -> None:
    # The limit counts from the start of the unfinished line, not of the read.
    r = RequestReader()
    r.feed(head + line + b"1" * (PROTO_INLINE_MAX_SIZE - len(line)))
    r.get_commands()
    assert r.get_commands() == []
    r.feed(b"1")
    with pytest.raises(ProtocolError) as info:
        r.get_commands()
    assert info.value.message == message


def test_reader_64k_header_line_is_judged_on_its_value_once_cr_arrives() -> None:
    assert err_of([b"*" + b"1" * (PROTO_INLINE_MAX_SIZE - 1), b"\r\n"]) == (
        "Protocol error: invalid multibulk length")


def test_reader_nul_in_header_line_hides_the_cr() -> None:
    r = RequestReader()
    r.feed(b"*1\0\r\n$4\r\nPING\r\n")
    assert r.get_commands() == []


def test_reader_cr_may_be_followed_by_any_byte_and_payload_by_any_two() -> None:
    # Redis skips the byte after a header's CR and the two after a payload unchecked.
    assert ok([b"*1\rX$4\r\nPINGXY*1\r\n$4\r\nPING\r\n"]) == [[b"PING"], [b"PING"]]


# -- unauthenticated clients (CVE-2021-32675 limits) ----------------------------------


def test_reader_unauthenticated_limits() -> None:
    assert err_of([b"*11\r\n"], auth_required=True) == (
        "Protocol error: unauthenticated multibulk length")
    assert err_of([b"*1\r\n$16385\r\n"], auth_required=True) == (
        "Protocol error: unauthenticated bulk length")
    assert ok([encode_command([b"x" * 16384] * 10)], auth_required=True) == [[b"x" * 16384] * 10]
    # Inline requests are not limited by count.
    assert ok([b"a b c d e f g h i j k l\r\n"], auth_required=True) == [[bytes([c]) for c in b"abcdefghijkl"]]


def test_reader_auth_in_the_same_read_lifts_the_limits_for_later_requests() -> None:
    r = RequestReader()
    big = encode_command([b"ECHO", b"x" * 20000])
    r.feed(encode_command([b"AUTH", b"pw"]) + big + b"*12\r\n")
    r.auth_required = True
    assert r.get_commands() == [[b"AUTH", b"pw"]]  # one at a time until authenticated
    r.auth_required = False
    assert r.get_commands() == [[b"ECHO", b"x" * 20000]]
    assert r.get_commands() == []  # `*12` waits: no limit any more


# -- inline splitting (sdssplitargs) ---------------------------------------------------


@pytest.mark.parametrize(
    ("line", "args"),
    [
        (b"", []),
        (b"   ", []),
        (b"SET a b", [b"SET", b"a", b"b"]),
        (b" \t SET  a\tb ", [b"SET", b"a", b"b"]),
        (b'SET "a b" c', [b"SET", b"a b", b"c"]),
        (b'ECHO "\\x41\\x4a\\xzz"', [b"ECHO", b"AJxzz"]),  # a bad \\x escape: just x
        (b'ECHO "a\\n\\r\\t\\b\\a\\"\\\\q"', [b"ECHO", b"a\n\r\t\b\x07\"\\q"]),
        (b"ECHO 'it\\'s' '\\n'", [b"ECHO", b"it's", b"\\n"]),
        (b'ECHO ""', [b"ECHO", b""]),
        (b"ECHO ''", [b"ECHO", b""]),
        (b'ab"cd"', [b"abcd"]),  # a quote opens mid-token
        (b"a\vb", [b"a\vb"]),  # \v and \f do not end a token...
        (b"\va\f b", [b"a\f", b"b"]),  # ...but are skipped between tokens
        (b'"a"\vb', [b"a", b"b"]),  # and count as space after a closing quote
        (b"a\rb", [b"a", b"b"]),
    ],
)
def test_split_inline(line: bytes, args: list[bytes]) -> None:
    assert split_inline(line) == args


@pytest.mark.parametrize("line", [b'"abc', b"'abc", b'"a"b', b"'a'b", b'"a\\', b'x "a'])
def test_split_inline_unbalanced(line: bytes) -> None:
    assert split_inline(line) is None


def test_reader_inline_unbalanced_quotes_error() -> None:
    assert err_of([b'ECHO "abc\r\n']) == "Protocol error: unbalanced quotes in request"


def test_reader_inline_lf_or_crlf_and_empty_lines() -> None:
    assert ok([b"\r\n\n  \r\nPING\nECHO a\r\n"]) == [[b"PING"], [b"ECHO", b"a"]]


# -- against a real redis-server -------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def redis_port() -> Iterator[int]:
    exe = shutil.which("redis-server")
    if exe is None:
        pytest.skip("redis-server is not installed")
    port = _free_port()
    proc = subprocess.Popen(
        [exe, "--port", str(port), "--save", "", "--appendonly", "no", "--bind", "127.0.0.1"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    pytest.fail("redis-server did not start")
                time.sleep(0.02)  # polling interval, bounded by the deadline above
        yield port
    finally:
        proc.terminate()
        proc.wait(10)


def _oracle(wire: bytes) -> tuple[bytes, bool]:
    """What a server built on our reader answers, with PING and ECHO implemented."""
    r = RequestReader()
    r.feed(wire)
    out = bytearray()
    try:
        while cmds := r.get_commands():
            for argv in cmds:
                name = argv[0].upper()
                if name == b"PING" and len(argv) == 1:
                    out += b"+PONG\r\n"
                elif name == b"ECHO" and len(argv) == 2:
                    encode_reply(out, argv[1], 2)
                elif name == b"ECHO":
                    out += b"-ERR wrong number of arguments for 'echo' command\r\n"
                else:
                    raise AssertionError(f"unexpected command {argv!r}")
    except ProtocolError as e:
        return bytes(out + e.wire()), True
    return bytes(out), False


def _ask_redis(port: int, wire: bytes, want: int, closes: bool) -> tuple[bytes, bool]:
    """Send `wire`; read until `want` bytes (and EOF, if expected) or a deadline."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(wire)
        data = b""
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            if len(data) >= want and not closes:
                s.settimeout(0.05)  # catch a reply we did not expect
            try:
                chunk = s.recv(65536)
            except TimeoutError:
                return data, False
            except ConnectionResetError:
                return data, True
            if not chunk:
                return data, True
            data += chunk
        return data, False


REAL_REDIS_CASES = [
    b"*20000000000\r\n",
    b"*3000000000\r\n",
    b"*1\r\n$999999999999\r\n",
    b"*1\r\n$536870913\r\n",
    b"*1\r\n$-1\r\n",
    b"*1\r\n$-5\r\n",
    b"*1\r\n$-0\r\n",
    b"*1\r\n$1x\r\n",
    b"*1\r\n$04\r\nPING\r\n",
    b"*abc\r\n",
    b"*01\r\n$4\r\nPING\r\n",
    b"*3\r\n$3\r\nSET\r\n$1\r\nx\r\nfooz\r\n",
    b"*1\r\n:5\r\n",
    b"*1\r\n*1\r\n$4\r\nPING\r\n",
    b"*1\r\n\r\n",
    b"*1\r\n\n\r\n",
    b"*1\r\n\xff\r\n",
    b"*-10\r\nPING\r\n",
    b"*0\r\n*-1\r\nPING\r\n",
    b"*1\rX$4\r\nPING\r\n",
    b"*1\r\n$4\r\nPINGXY*1\r\n$4\r\nPING\r\n",
    b"*" + b"1" * 70000,
    b"*1\r\n$" + b"1" * 70000,
    b"*1\r\n" + b"X" * 70000,
    b"A" * 70000,
    b"PING\0\r\n" + b"A" * 70000,
    b"*" + b"1" * 65535 + b"\r\n",
    b'ECHO "abc\r\n',
    b'ECHO "a"b\r\n',
    b"ECHO 'a\r\n",
    b'ECHO "a\\x41\\n\\z"\r\n',
    b"ECHO 'x\\'y'\r\n",
    b'ECHO "a"\vb\r\n',
    b"ECHO a\vb\r\n",
    b"ECHO a\rb\r\n",
    b'ECHO ""\r\n',
    b"\r\n\n  \r\nPING\nPING\r\n",
    b"PING\r\n" + encode_command([b"ECHO", b"a\0b"]) + b"*1\r\n$-5\r\n",
]


@pytest.mark.parametrize("wire", REAL_REDIS_CASES, ids=lambda w: repr(w[:40]))
def test_reader_errors_match_real_redis(redis_port: int, wire: bytes) -> None:
    want, closes = _oracle(wire)
    assert want or closes, "every case must produce a reply or a close"
    got, closed = _ask_redis(redis_port, wire, len(want), closes)
    assert (got, closed) == (want, closes)
