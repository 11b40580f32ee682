"""A tiny raw-socket RESP client that returns each reply as the exact bytes on the wire.

Client libraries normalise replies (RESP2 vs RESP3, error classes, decoding), which hides
exactly the differences a compatibility test must see. This client sends argv as a RESP
array and reads back exactly one reply, undecoded; `decode` turns those bytes into Python
values when a comparison should ignore element order.
"""
from __future__ import annotations

import socket
from collections.abc import Iterable, Sequence
from typing import Any

Arg = bytes | str | int | float


def encode_command(argv: Sequence[Arg]) -> bytes:
    """Encode argv as a RESP array of bulk strings (what every real client sends)."""
    parts = [b"*%d\r\n" % len(argv)]
    for arg in argv:
        b = to_bytes(arg)
        parts.append(b"$%d\r\n%s\r\n" % (len(b), b))
    return b"".join(parts)


def to_bytes(arg: Arg) -> bytes:
    if isinstance(arg, bytes):
        return arg
    if isinstance(arg, str):
        return arg.encode()
    if isinstance(arg, bool):
        raise TypeError("bool is not a Redis argument")
    return str(arg).encode()


class IncompleteReply(Exception):
    """The buffer ends before the reply does."""


class ProtocolViolation(Exception):
    """The bytes are not valid RESP (the server under test sent garbage)."""


# Types whose payload is the rest of the line.
_LINE_TYPES = frozenset(b"+-:,_#(")
# Types with a length line then a binary payload.
_BULK_TYPES = frozenset(b"$!=")
# Aggregates: element count multiplier (a map entry is two elements).
_AGG_TYPES = {ord("*"): 1, ord("~"): 1, ord(">"): 1, ord("%"): 2}
_ATTR = ord("|")


def _line_end(buf: bytes | bytearray, pos: int) -> int:
    end = buf.find(b"\r\n", pos)
    if end < 0:
        raise IncompleteReply
    return end


def reply_end(buf: bytes | bytearray, pos: int = 0) -> int:
    """Offset just past the one complete reply starting at `pos`.

    Iterative (a count of items still owed) rather than recursive, so deeply nested replies
    cannot blow the Python stack. An attribute (`|`) is metadata attached to the reply that
    follows it, so it owes its pairs plus that reply. Raises IncompleteReply if more bytes
    are needed.
    """
    owed = 1
    while owed:
        if pos >= len(buf):
            raise IncompleteReply
        t = buf[pos]
        end = _line_end(buf, pos)
        owed -= 1
        if t in _LINE_TYPES:
            pos = end + 2
        elif t in _BULK_TYPES:
            n = _int(buf[pos + 1:end], buf, pos)
            if n == -1 and t == ord("$"):
                pos = end + 2
            elif n < 0:
                raise ProtocolViolation(f"negative length at {pos}: {bytes(buf[pos:end])!r}")
            else:
                stop = end + 2 + n
                if len(buf) < stop + 2:
                    raise IncompleteReply
                if buf[stop:stop + 2] != b"\r\n":
                    raise ProtocolViolation(f"bulk payload not followed by CRLF at {stop}")
                pos = stop + 2
        elif t in _AGG_TYPES:
            n = _int(buf[pos + 1:end], buf, pos)
            if n < -1 or (n == -1 and t != ord("*")):
                raise ProtocolViolation(f"bad aggregate length at {pos}: {bytes(buf[pos:end])!r}")
            owed += max(n, 0) * _AGG_TYPES[t]
            pos = end + 2
        elif t == _ATTR:
            n = _int(buf[pos + 1:end], buf, pos)
            owed += 2 * n + 1
            pos = end + 2
        else:
            raise ProtocolViolation(f"unknown RESP type byte {chr(t)!r} at {pos}: {bytes(buf[pos:pos + 40])!r}")
    return pos


def _int(raw: bytes | bytearray, buf: bytes | bytearray, pos: int) -> int:
    if raw == b"?":
        raise ProtocolViolation(f"streamed RESP3 aggregates are not supported (at {pos})")
    try:
        return int(raw)
    except ValueError:
        raise ProtocolViolation(f"bad length {bytes(raw)!r} at {pos}") from None


class RespConnection:
    """One TCP connection speaking raw RESP. Not thread-safe; one per test conversation."""

    def __init__(self, host: str = "127.0.0.1", port: int = 6379, timeout: float = 5.0) -> None:
        self.host = host
        self.port = port
        self.timeout = timeout
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.settimeout(timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = bytearray()

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self) -> RespConnection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def send_raw(self, data: bytes) -> None:
        self.sock.sendall(data)

    def send(self, *argv: Arg) -> None:
        self.send_raw(encode_command(argv))

    def read_reply(self) -> bytes:
        """Exactly one reply's bytes (attributes included). Raises ConnectionError on EOF."""
        while True:
            try:
                end = reply_end(self.buf)
            except IncompleteReply:
                self._fill()
                continue
            reply = bytes(self.buf[:end])
            del self.buf[:end]
            return reply

    def _fill(self) -> None:
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionError(f"connection closed by server; unparsed bytes: {bytes(self.buf)!r}")
        self.buf += chunk

    def call(self, *argv: Arg) -> bytes:
        """Send one command and return its raw reply."""
        self.send(*argv)
        return self.read_reply()

    def pipeline(self, commands: Iterable[Sequence[Arg]]) -> list[bytes]:
        """Send all commands in one write, then read one reply per command."""
        cmds = list(commands)
        self.send_raw(b"".join(encode_command(c) for c in cmds))
        return [self.read_reply() for _ in cmds]

    def is_closed_by_peer(self, timeout: float = 2.0) -> bool:
        """True once the server has closed the connection (EOF or reset) within `timeout`.
        Bytes that arrive instead are kept in the buffer and make this return False."""
        self.sock.settimeout(timeout)
        try:
            chunk = self.sock.recv(65536)
        except (ConnectionResetError, BrokenPipeError):
            return True
        except TimeoutError:
            return False
        finally:
            self.sock.settimeout(self.timeout)
        if not chunk:
            return True
        self.buf += chunk
        return False


# ---------------------------------------------------------------------------------------
# Decoding raw replies into comparable Python values. Each RESP type keeps a distinct
# Python type, so `+OK` never compares equal to `$2 OK`, nor a set to an array.


class Simple(bytes):
    """+simple string"""

    def __repr__(self) -> str:
        return f"Simple({bytes(self)!r})"


class Error(bytes):
    """-error"""

    def __repr__(self) -> str:
        return f"Error({bytes(self)!r})"


class BigNumber(int):
    """(big number"""

    def __repr__(self) -> str:
        return f"BigNumber({int(self)})"


class Double(float):
    """,double (kept apart from floats that arrive as bulk strings in RESP2)"""

    def __repr__(self) -> str:
        return f"Double({float(self)!r})"


class Verbatim(bytes):
    """=verbatim string; `fmt` is the three-letter format (txt, mkd)."""

    fmt: bytes

    def __new__(cls, fmt: bytes, data: bytes) -> Verbatim:
        obj = super().__new__(cls, data)
        obj.fmt = fmt
        return obj

    def __repr__(self) -> str:
        return f"Verbatim({self.fmt!r}, {bytes(self)!r})"


class BlobError(bytes):
    """!blob error"""

    def __repr__(self) -> str:
        return f"BlobError({bytes(self)!r})"


class RespSet(list[Any]):
    """~set (kept as a list so unhashable members survive; compare with `canonical`)."""

    def __repr__(self) -> str:
        return f"RespSet({list.__repr__(self)})"


class Push(list[Any]):
    """>push"""

    def __repr__(self) -> str:
        return f"Push({list.__repr__(self)})"


class RespMap(list[tuple[Any, Any]]):
    """%map as a list of (key, value) pairs: keys may be unhashable, and order is visible
    to whoever wants it. `as_dict()` when keys are hashable."""

    def as_dict(self) -> dict[Any, Any]:
        return dict(self)

    def __repr__(self) -> str:
        return f"RespMap({list.__repr__(self)})"


class _NullArray:
    """*-1 (RESP2 null array), distinct from $-1 and from RESP3 `_`."""

    _inst: _NullArray | None = None

    def __new__(cls) -> _NullArray:
        if cls._inst is None:
            cls._inst = super().__new__(cls)
        return cls._inst

    def __repr__(self) -> str:
        return "NULL_ARRAY"


NULL_ARRAY = _NullArray()


class Null:
    """RESP3 `_` null, distinct from RESP2 $-1 (decoded as None)."""

    _inst: Null | None = None

    def __new__(cls) -> Null:
        if cls._inst is None:
            cls._inst = super().__new__(cls)
        return cls._inst

    def __repr__(self) -> str:
        return "NULL3"


NULL3 = Null()


class Attributed:
    """A reply preceded by a RESP3 attribute map."""

    def __init__(self, attrs: RespMap, value: Any) -> None:
        self.attrs = attrs
        self.value = value

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Attributed) and (self.attrs, self.value) == (other.attrs, other.value)

    def __repr__(self) -> str:
        return f"Attributed({self.attrs!r}, {self.value!r})"


def decode(raw: bytes) -> Any:
    """Decode exactly one raw reply; raises ProtocolViolation on trailing bytes."""
    value, pos = _decode_at(raw, 0)
    if pos != len(raw):
        raise ProtocolViolation(f"trailing bytes after reply: {raw[pos:pos + 40]!r}")
    return value


def _decode_at(buf: bytes, pos: int) -> tuple[Any, int]:
    t = buf[pos:pos + 1]
    end = buf.find(b"\r\n", pos)
    if end < 0:
        raise IncompleteReply
    line = buf[pos + 1:end]
    nxt = end + 2
    if t == b"+":
        return Simple(line), nxt
    if t == b"-":
        return Error(line), nxt
    if t == b":":
        return int(line), nxt
    if t == b",":
        return Double(_parse_double(line)), nxt
    if t == b"_":
        return NULL3, nxt
    if t == b"#":
        if line not in (b"t", b"f"):
            raise ProtocolViolation(f"bad boolean {line!r}")
        return line == b"t", nxt
    if t == b"(":
        return BigNumber(int(line)), nxt
    if t in (b"$", b"!", b"="):
        n = int(line)
        if n == -1 and t == b"$":
            return None, nxt
        data = buf[nxt:nxt + n]
        after = nxt + n + 2
        if t == b"$":
            return data, after
        if t == b"!":
            return BlobError(data), after
        if data[3:4] != b":":
            raise ProtocolViolation(f"verbatim string without a format prefix: {data[:8]!r}")
        return Verbatim(data[:3], data[4:]), after
    if t in (b"*", b"~", b">"):
        n = int(line)
        if n == -1:
            return NULL_ARRAY, nxt
        items = []
        for _ in range(n):
            item, nxt = _decode_at(buf, nxt)
            items.append(item)
        if t == b"~":
            return RespSet(items), nxt
        if t == b">":
            return Push(items), nxt
        return items, nxt
    if t in (b"%", b"|"):
        n = int(line)
        pairs = RespMap()
        for _ in range(n):
            k, nxt = _decode_at(buf, nxt)
            v, nxt = _decode_at(buf, nxt)
            pairs.append((k, v))
        if t == b"%":
            return pairs, nxt
        value, nxt = _decode_at(buf, nxt)
        return Attributed(pairs, value), nxt
    raise ProtocolViolation(f"unknown RESP type {t!r} at {pos}")


def _parse_double(line: bytes) -> float:
    if line == b"inf":
        return float("inf")
    if line == b"-inf":
        return float("-inf")
    if line == b"nan":
        return float("nan")
    return float(line)


def canonical(value: Any, ordered: bool = True) -> Any:
    """A hashable, totally ordered form of a decoded value for order-insensitive comparison.

    Sets and maps always become sorted; arrays become sorted only when `ordered` is False
    (and then at every nesting level). Each element is tagged with its RESP type name, so
    values of different types never collapse into each other.
    """
    if isinstance(value, Attributed):
        return ("attributed", canonical(value.attrs, ordered), canonical(value.value, ordered))
    if isinstance(value, RespMap):
        return ("map", tuple(sorted((canonical(k, ordered), canonical(v, ordered)) for k, v in value)))
    if isinstance(value, RespSet):
        return ("set", tuple(sorted(canonical(v, ordered) for v in value)))
    if isinstance(value, Push):
        return ("push", tuple(canonical(v, ordered) for v in value))
    if isinstance(value, list):
        items = [canonical(v, ordered) for v in value]
        return ("array", tuple(items if ordered else sorted(items)))
    if isinstance(value, bool):
        return ("bool", value)
    if value is None:
        return ("null", b"")
    if value is NULL3:
        return ("null3", b"")
    if value is NULL_ARRAY:
        return ("nullarray", b"")
    if isinstance(value, Double):
        # repr keeps nan comparable with itself and -0.0 apart from 0.0.
        return ("double", repr(float(value)))
    if isinstance(value, BigNumber):
        return ("bignum", int(value))
    if isinstance(value, int):
        return ("int", value)
    if isinstance(value, Verbatim):
        return ("verbatim", value.fmt + b":" + bytes(value))
    for cls, tag in ((Simple, "simple"), (Error, "error"), (BlobError, "bloberror")):
        if isinstance(value, cls):
            return (tag, bytes(value))
    if isinstance(value, bytes):
        return ("bulk", value)
    raise TypeError(f"cannot canonicalise {value!r}")


def resp_type(raw: bytes) -> str:
    """The RESP type of a raw reply by name; the null forms are their own types, so `type`
    comparisons still notice nil-vs-value (RANDOMKEY on an empty db, WATCH-aborted EXEC)."""
    if raw.startswith(b"$-1\r\n"):
        return "null-bulk"
    if raw.startswith(b"*-1\r\n"):
        return "null-array"
    if raw.startswith(b"|"):
        return "attribute+" + resp_type(_after_attr(raw))
    return {
        "+": "simple", "-": "error", ":": "integer", "$": "bulk", "*": "array", "%": "map",
        "~": "set", ",": "double", "_": "null", "#": "boolean", "(": "bignum", "=": "verbatim",
        "!": "bloberror", ">": "push",
    }.get(raw[:1].decode("latin-1"), f"unknown({raw[:1]!r})")


def _after_attr(raw: bytes) -> bytes:
    end = raw.find(b"\r\n")
    n = int(raw[1:end])
    pos = end + 2
    for _ in range(2 * n):
        pos = reply_end(raw, pos)
    return raw[pos:]
