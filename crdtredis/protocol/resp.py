"""RESP2/RESP3 reply encoder: reply values (see `crdtredis.reply`) -> wire bytes.

The connection calls `encode_reply` once per command and writes the whole buffer once per
read, so this is on the hot path. Dispatch is on the exact type, most frequent first
(bulk string, +OK, integer, nil, array); everything rarer goes through `_encode_other`.

`encode_reply` is atomic: it either appends the complete reply or raises with `out`
unchanged, so a handler returning a bad value cannot corrupt the stream of a pipeline.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from crdtredis.reply import (
    NULL_ARRAY,
    OK,
    Deferred,
    DoubleText,
    ErrorReply,
    Map,
    Push,
    RawReply,
    SetReply,
    Status,
    Verbatim,
)

__all__ = ["encode_reply", "encode_command", "encode_error", "format_double"]

CRLF = b"\r\n"

# Headers and integers up to this size are table lookups: `b"%d" % n` costs about twice
# as much as an index plus two bytearray appends.
_TABLE = 1024
_INT_MIN = -2  # TTL/PTTL answer -2 and -1; small negatives are as common as small positives
_BULK_HDR = [b"$%d\r\n" % n for n in range(_TABLE)]
_ARRAY_HDR = [b"*%d\r\n" % n for n in range(_TABLE)]
_INT_REPLY = [b":%d\r\n" % n for n in range(_INT_MIN, _TABLE)]

_OK_WIRE = b"+OK\r\n"
_NULL_BULK = b"$-1\r\n"
_NULL_ARRAY2 = b"*-1\r\n"
_NULL3 = b"_\r\n"
_TRUE3 = b"#t\r\n"
_FALSE3 = b"#f\r\n"
_ONE = b":1\r\n"
_ZERO = b":0\r\n"


def format_double(d: float) -> bytes:
    """Redis 7.0 `addReplyDouble` text: `%.17g`, with inf/-inf spelled out like Redis does
    explicitly (libc spellings differ) and nan as `nan`."""
    if d != d:
        return b"nan"
    return b"%.17g" % d  # Python spells +-inf as inf/-inf already


def encode_error(message: str) -> bytes:
    """`-<message>\\r\\n` with newlines neutralised the way `addReplyErrorFormat` does:
    trim CR/LF at both ends, then map the remaining ones to spaces (otherwise the client
    would read the rest of the message as a new reply)."""
    if "\r" in message or "\n" in message:
        message = message.strip("\r\n").replace("\r", " ").replace("\n", " ")
    try:
        data = message.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        data = message.encode("utf-8", "replace")
    return b"-" + data + CRLF


def encode_reply(out: bytearray, reply: Any, resp: int) -> None:
    """Append the wire form of one reply value for protocol version `resp` (2 or 3)."""
    t = reply.__class__
    if t is bytes:
        n = len(reply)
        out += _BULK_HDR[n] if n < _TABLE else b"$%d\r\n" % n
        out += reply
        out += CRLF
    elif reply is OK:
        out += _OK_WIRE
    elif t is int:
        if _INT_MIN <= reply < _TABLE:
            out += _INT_REPLY[reply - _INT_MIN]
        else:
            out += b":%d\r\n" % reply
    elif reply is None:
        out += _NULL_BULK if resp == 2 else _NULL3
    elif t is Status:
        out += b"+"
        out += reply
        out += CRLF
    elif t is list or t is tuple:
        start = len(out)
        try:
            _encode_array(out, reply, resp)
        except BaseException:
            del out[start:]
            raise
    else:
        start = len(out)
        try:
            _encode_other(out, reply, resp)
        except BaseException:
            del out[start:]
            raise


def _encode_array(out: bytearray, items: Sequence[Any], resp: int) -> None:
    n = len(items)
    out += _ARRAY_HDR[n] if n < _TABLE else b"*%d\r\n" % n
    _encode_items(out, items, resp)


def _encode_items(out: bytearray, items: Iterable[Any], resp: int) -> None:
    # LRANGE/MGET/KEYS/SMEMBERS return long lists of bulk strings: encode those inline
    # instead of paying a call per element.
    for x in items:
        t = x.__class__
        if t is bytes:
            n = len(x)
            out += _BULK_HDR[n] if n < _TABLE else b"$%d\r\n" % n
            out += x
            out += CRLF
        elif t is float:  # sorted-set scores (ZRANGE WITHSCORES): format_double inline
            text = b"%.17g" % x
            if resp == 2:
                out += _BULK_HDR[len(text)]
            else:
                out += b","
            out += text
            out += CRLF
        elif t is tuple and len(x) == 2:  # [member, score] pairs (RESP3 ZRANGE WITHSCORES)
            out += b"*2\r\n"
            _encode_items(out, x, resp)
        else:
            _encode_nested(out, x, resp)


def _encode_nested(out: bytearray, x: Any, resp: int) -> None:
    t = x.__class__
    if t is int:
        out += _INT_REPLY[x - _INT_MIN] if _INT_MIN <= x < _TABLE else b":%d\r\n" % x
    elif x is None:
        out += _NULL_BULK if resp == 2 else _NULL3
    elif t is list or t is tuple:
        _encode_array(out, x, resp)
    else:
        _encode_other(out, x, resp)


def _encode_other(out: bytearray, x: Any, resp: int) -> None:
    """Every type outside the hot few. isinstance order matters: Status before bytes,
    bool before int (both are subclasses)."""
    if isinstance(x, Status):
        out += b"+"
        out += x
        out += CRLF
    elif isinstance(x, bytes | bytearray | memoryview):
        n = len(x) if not isinstance(x, memoryview) else x.nbytes
        out += b"$%d\r\n" % n
        out += x
        out += CRLF
    elif isinstance(x, bool):
        if resp == 2:
            out += _ONE if x else _ZERO
        else:
            out += _TRUE3 if x else _FALSE3
    elif isinstance(x, int):
        out += b":%d\r\n" % x
    elif x is None:
        out += _NULL_BULK if resp == 2 else _NULL3
    elif isinstance(x, ErrorReply):
        out += encode_error(x.message)
    elif isinstance(x, float):
        text = format_double(x)
        if resp == 2:
            out += b"$%d\r\n" % len(text)
            out += text
            out += CRLF
        else:
            out += b","
            out += text
            out += CRLF
    elif isinstance(x, list | tuple):
        _encode_array(out, x, resp)
    elif isinstance(x, Map):
        items = x.items
        if resp == 2:
            out += b"*%d\r\n" % (2 * len(items))
        else:
            out += b"%%%d\r\n" % len(items)
        for k, v in items:
            _encode_items(out, (k, v), resp)
    elif isinstance(x, SetReply):
        out += b"%s%d\r\n" % (b"*" if resp == 2 else b"~", len(x.items))
        _encode_items(out, x.items, resp)
    elif isinstance(x, Verbatim):
        data = x.data
        if resp == 2:
            out += b"$%d\r\n" % len(data)
        else:
            # The length counts the 4-byte "txt:" prefix.
            out += b"=%d\r\n" % (len(data) + len(x.fmt) + 1)
            out += x.fmt
            out += b":"
        out += data
        out += CRLF
    elif x is NULL_ARRAY:
        out += _NULL_ARRAY2 if resp == 2 else _NULL3
    elif isinstance(x, DoubleText):
        if resp == 2:
            out += b"$%d\r\n" % len(x.text)
        else:
            out += b","
        out += x.text
        out += CRLF
    elif isinstance(x, RawReply):
        out += x.data
    elif isinstance(x, Push):
        for msg in x.msgs:
            out += b"%s%d\r\n" % (b"*" if resp == 2 else b">", len(msg))
            _encode_items(out, msg, resp)
    elif isinstance(x, Deferred):
        raise TypeError("a Deferred reply must be resolved by the connection, not encoded")
    else:
        raise TypeError(f"cannot encode reply of type {type(x).__name__}")


def encode_command(argv: Sequence[bytes | str | int]) -> bytes:
    """A request as clients send it (multibulk of bulk strings). For tests and tools."""
    parts = [b"*%d\r\n" % len(argv)]
    for a in argv:
        if isinstance(a, str):
            a = a.encode()
        elif isinstance(a, int):
            a = b"%d" % a
        parts.append(b"$%d\r\n" % len(a))
        parts.append(a)
        parts.append(CRLF)
    return b"".join(parts)
