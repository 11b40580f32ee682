"""RESP wire protocol: request parsing (hiredis), reply encoding, the asyncio connection."""
from __future__ import annotations

from crdtredis.protocol.reader import ProtocolError, RequestReader, split_inline
from crdtredis.protocol.resp import encode_command, encode_error, encode_reply, format_double

__all__ = [
    "ProtocolError",
    "RequestReader",
    "split_inline",
    "encode_command",
    "encode_error",
    "encode_reply",
    "format_double",
]
