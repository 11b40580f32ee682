"""A fast decoder for generic `Value` messages (ops.proto) as `codec.encode_value` writes
them: base snapshot records (storage/snapshot.py) and snapshots sent to peers.

`codec.decode_value` parses with the protobuf runtime and then walks the message tree in
Python (`_from_value`, one call and a `WhichOneof` per node): ~10 µs per element of a big
list, set or hash, which kept snapshot install far from the 1,000,000 keys/s of issue 12.
This module reads the one layout `encode_value` writes (one field per Value; a list's
items then its `is_list` flag; a map's keys then its values) straight from the bytes.

Like wire/fastdec.py it is a pure function of the bytes and falls back to the protobuf
path for anything else: a byte that is not where the canonical layout puts it, a kind it
does not take (`big`), nesting deeper than `MAX_DEPTH`, or any error while building the
result makes `decode_value` hand the whole buffer to `codec.decode_value`, which decodes
it or raises DecodeError. So both give the same value or the same error
(tests/test_wire_fastval.py). The one difference is sharing: short strings (origins) are
the same object wherever they repeat in one buffer, which nothing can tell apart.

Compiled when it can be (setup.py, as crdtredis.wire._fastval_native).
"""
from __future__ import annotations

import struct
from typing import Any

from . import codec
from .native import native_module


class _Fallback(Exception):
    """Not the canonical layout: decode with protobuf."""


# Deeper than any state a type writes; protobuf has its own recursion limit, so deeper
# nesting is left to it.
MAX_DEPTH = 32
# Strings up to this length are shared per buffer (origins repeat once per element).
_INTERN_MAX = 64
_MASK64 = (1 << 64) - 1
_unpack_double = struct.Struct("<d").unpack_from


def _varint(data: bytes, i: int) -> tuple[int, int]:
    """(value, next offset) of the varint at i."""
    result = 0
    shift = 0
    n = len(data)
    while True:
        if i >= n or shift > 63:
            raise _Fallback
        b = data[i]
        i += 1
        result |= (b & 0x7F) << shift
        if b < 0x80:
            return result, i
        shift += 7


def _len(data: bytes, i: int, end: int) -> tuple[int, int]:
    """(end offset, start offset) of the length-delimited field whose length is at i."""
    ln = data[i]
    i += 1
    if ln >= 0x80:
        ln, i = _varint(data, i - 1)
    e = i + ln
    if e > end:
        raise _Fallback
    return e, i


def _val(data: bytes, i: int, end: int, strs: dict[bytes, str], depth: int) -> Any:
    """The Value message in data[i:end]."""
    if i >= end:
        raise _Fallback  # an empty Value (None in protobuf): never written
    t = data[i]
    if t == 0x12:  # bytes
        e, j = _len(data, i + 1, end)
        if e != end:
            raise _Fallback
        return data[j:e]
    if t == 0x08:  # sint64
        z = data[i + 1]
        j = i + 2
        if z >= 0x80:
            z, j = _varint(data, j - 1)
        if j != end or z > _MASK64:
            raise _Fallback
        return (z >> 1) ^ -(z & 1)
    if t == 0x32:  # list / tuple
        e, j = _len(data, i + 1, end)
        if e != end or depth >= MAX_DEPTH:
            raise _Fallback
        items: list[Any] = []
        while j < e and data[j] == 0x0A:
            ie, k = _len(data, j + 1, e)
            items.append(_val(data, k, ie, strs, depth + 1))
            j = ie
        if j == e:
            return tuple(items)
        if j + 2 == e and data[j] == 0x10 and data[j + 1] == 0x01:
            return items
        raise _Fallback
    if t == 0x2A:  # str
        e, j = _len(data, i + 1, end)
        if e != end:
            raise _Fallback
        if e - j > _INTERN_MAX:
            return data[j:e].decode()
        b = data[j:e]
        s = strs.get(b)
        if s is None:
            s = strs[b] = b.decode()
        return s
    if t == 0x20:  # nil
        if i + 2 != end or data[i + 1] != 0x01:
            raise _Fallback
        return None
    if t == 0x42:  # map: every key, then every value
        e, j = _len(data, i + 1, end)
        if e != end or depth >= MAX_DEPTH:
            raise _Fallback
        keys: list[Any] = []
        while j < e and data[j] == 0x0A:
            ie, k = _len(data, j + 1, e)
            keys.append(_val(data, k, ie, strs, depth + 1))
            j = ie
        vals: list[Any] = []
        while j < e and data[j] == 0x12:
            ie, k = _len(data, j + 1, e)
            vals.append(_val(data, k, ie, strs, depth + 1))
            j = ie
        if j != e or len(keys) != len(vals):
            raise _Fallback
        return dict(zip(keys, vals, strict=True))
    if t == 0x19:  # double
        if i + 9 != end:
            raise _Fallback
        return _unpack_double(data, i + 1)[0]
    if t == 0x48:  # bool
        if i + 2 != end or data[i + 1] > 1:
            raise _Fallback
        return data[i + 1] == 1
    raise _Fallback


def decode_value_fast(data: bytes) -> Any:
    """`codec.decode_value(data)`: the same value, or the same DecodeError."""
    try:
        return _val(data, 0, len(data), {}, 0)
    except Exception:  # noqa: BLE001 - whatever went wrong, protobuf decides
        return codec.decode_value(data)


def _native_decode() -> Any:
    nat = native_module("crdtredis.wire._fastval_native", __file__)
    return None if nat is None else getattr(nat, "decode_value_fast", None)


# Only this module looks for the compiled copy (the copy itself runs this code too).
_NATIVE: Any = _native_decode() if __name__ == "crdtredis.wire.fastval" else None
decode_value = _NATIVE or decode_value_fast


def compiled() -> bool:
    """True when `decode_value` is the compiled decoder."""
    return _NATIVE is not None
