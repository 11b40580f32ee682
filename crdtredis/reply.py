"""Reply values that command handlers return; the protocol layer encodes them.

Handlers never build wire bytes: they return one of these and the connection renders
them for the client's protocol version (RESP2 or RESP3).

    int                    -> integer            (:1)
    bytes                  -> bulk string        ($3 foo)
    None                   -> null bulk          ($-1 / RESP3 _)
    list / tuple           -> array              (*2 ...)
    Status                 -> simple string      (+OK)
    ErrorReply             -> error              (-ERR ...)
    float                  -> RESP3 double (,1.5); RESP2 bulk string formatted like Redis 7.0
    Map                    -> RESP3 map (%); RESP2 flat array k1 v1 k2 v2
    SetReply               -> RESP3 set (~); RESP2 array
    Verbatim               -> RESP3 verbatim (=... txt:); RESP2 bulk string
    NULL_ARRAY             -> RESP2 *-1; RESP3 _  (EXEC aborted, blocking pop timeout)
    DoubleText             -> RESP3 double (,text) with Redis's own text; RESP2 bulk string
                              (addReplyHumanLongDouble: GEOPOS coordinates)
    Deferred               -> the connection stops processing this client's later commands
                              until the future resolves, then writes its result (blocking ops)
    RawReply               -> bytes already encoded for the client's protocol (a Lua
                              script's table result, encoded by the sandbox)
    Push                   -> out-of-band messages (pub/sub confirmations): each a RESP3 push
                              (>) or a RESP2 array, one after another; sent even under
                              CLIENT REPLY OFF; no messages = nothing at all
"""
from __future__ import annotations

import asyncio
from typing import Any


class Status(bytes):
    """A simple string reply (+OK). Subclass of bytes so it is cheap and immutable."""

    __slots__ = ()


class ErrorReply:
    """An error reply. `message` is the full text after the '-', e.g. 'ERR syntax error'."""

    __slots__ = ("message",)

    def __init__(self, message: str) -> None:
        self.message = message

    def __repr__(self) -> str:
        return f"ErrorReply({self.message!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ErrorReply) and other.message == self.message

    def __hash__(self) -> int:
        return hash(self.message)


class CommandError(Exception):
    """Raised by handlers deep in validation; the dispatcher turns it into an ErrorReply."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class Map:
    """Key/value pairs: a RESP3 map, flattened to an array in RESP2."""

    __slots__ = ("items",)

    def __init__(self, items: list[tuple[Any, Any]]) -> None:
        self.items = items

    def __repr__(self) -> str:
        return f"Map({self.items!r})"


class SetReply:
    """A RESP3 set (~); an array in RESP2."""

    __slots__ = ("items",)

    def __init__(self, items: list[Any]) -> None:
        self.items = items


class Verbatim:
    """A RESP3 verbatim string (INFO, CLIENT INFO); a bulk string in RESP2."""

    __slots__ = ("data", "fmt")

    def __init__(self, data: bytes, fmt: bytes = b"txt") -> None:
        self.data = data
        self.fmt = fmt


class DoubleText:
    """A double whose text Redis formats itself (e.g. "%.17Lf" trimmed)."""

    __slots__ = ("text",)

    def __init__(self, text: bytes) -> None:
        self.text = text

    def __repr__(self) -> str:
        return f"DoubleText({self.text!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, DoubleText) and other.text == self.text

    def __hash__(self) -> int:
        return hash(self.text)


class RawReply:
    """A reply already encoded for the client's protocol version; written as it is."""

    __slots__ = ("data",)

    def __init__(self, data: bytes) -> None:
        self.data = data

    def __repr__(self) -> str:
        return f"RawReply({self.data!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, RawReply) and other.data == self.data

    def __hash__(self) -> int:
        return hash(self.data)


class _NullArray:
    __slots__ = ()

    def __repr__(self) -> str:
        return "NULL_ARRAY"


NULL_ARRAY = _NullArray()


class Deferred:
    """A reply that is not ready yet (blocking commands). The connection waits for
    `future` (whose result is another reply value) before handling later commands."""

    __slots__ = ("future",)

    def __init__(self, future: asyncio.Future[Any]) -> None:
        self.future = future


class Push:
    """Messages a command answers with out of band (SUBSCRIBE a b confirms each channel
    with one message), like Redis's addReplyPushLen: RESP3 push frames, RESP2 arrays,
    written one after the other (not as one array) and never silenced by CLIENT REPLY."""

    __slots__ = ("msgs",)

    def __init__(self, msgs: list[list[Any]]) -> None:
        self.msgs = msgs

    def __repr__(self) -> str:
        return f"Push({self.msgs!r})"


Reply = (
    int | bytes | None | list | tuple | Status | ErrorReply | float | Map | SetReply | Verbatim
    | _NullArray | Deferred | DoubleText | RawReply | Push
)

OK = Status(b"OK")
QUEUED = Status(b"QUEUED")
PONG = Status(b"PONG")
