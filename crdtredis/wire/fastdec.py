"""A fast decoder for op-log records as this package writes them (start-up replay, and the
ops peers push, which are those records: replication/fastin.py).

`OpDecoder` parses a record with the protobuf runtime and then reads every field of every
message back through Python attribute access: ~3.5 µs an op here, more than half of a
replay (issue 12 asks for 500,000 ops/s). `OpEncoder` writes one canonical layout (field
order, which fields are present, argument kinds), so this module reads that layout straight
from the bytes, with no message objects.

It is a pure function of the bytes, like the protobuf path, and falls back to it: any byte
that is not where the canonical layout puts it (a field order, a field or a value kind it
does not handle, a malformed varint, a length running past its message) makes
`decode_batch` hand the whole record to `OpDecoder`, which decodes it or raises
DecodeError. tests/test_wire_fastdec.py checks that both agree, on random ops and on
damaged records.

Handled argument kinds: bytes, int64 (zigzag), None, str, bool, float. Others (lists,
maps, big ints) fall back.

Compiled when it can be (setup.py: mypyc, as crdtredis.wire._fastdec_native; ~3.5x faster
again). `new_decoder()` returns the compiled decoder when that build was made from this
very source (its SHA-256), else this module's: both decode the same bytes the same way.
"""
from __future__ import annotations

import struct
from typing import Any

from ..op import Op
from .codec import FORMAT_VERSION, OpDecoder
from .native import native_module


class _Fallback(Exception):
    """The record is not in the canonical layout: decode it with protobuf."""


def _varint(data: bytes, i: int) -> tuple[int, int]:
    """(value, next offset) of the varint at i (more than one byte)."""
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


_MASK64 = (1 << 64) - 1
# An op as a tuple: (origin, seq, hlc, deps, effects).
RawOp = tuple[str, int, int, dict[str, int], list[tuple[Any, ...]]]
_unpack_double = struct.Struct("<d").unpack_from


class FastOpDecoder:
    """Decodes op-log records (OpBatch holding version and ops), keeping the per-origin
    deps context across records like OpDecoder, whose instance it falls back to."""

    __slots__ = ("slow", "_origins", "fast", "fallbacks")

    def __init__(self) -> None:
        self.slow = OpDecoder()
        self._origins: dict[bytes, str] = {}
        self.fast = 0  # records decoded here
        self.fallbacks = 0  # records handed to protobuf

    def decode_batch(self, data: bytes) -> list[Op]:
        try:
            if data[:2] != b"\x08\x01" or FORMAT_VERSION != 1:
                raise _Fallback
            ops, deps = self._parse(data, 2)
        except (_Fallback, IndexError, UnicodeDecodeError):
            self.fallbacks += 1
            return self.slow.decode_batch(data)
        self.slow._last_deps.update(deps)
        self.fast += 1
        return ops

    def decode_raw(self, data: bytes) -> list[RawOp]:
        """`decode_batch` with each op as a tuple `(origin, seq, hlc, deps, effects)`, the
        fields of Op in order: start-up replay makes an Op object only for a listener."""
        try:
            if data[:2] != b"\x08\x01" or FORMAT_VERSION != 1:
                raise _Fallback
            ops, deps = self._parse(data, 2, True)
        except (_Fallback, IndexError, UnicodeDecodeError):
            self.fallbacks += 1
            return [(op.origin, op.seq, op.hlc, op.deps, op.effects) for op in self.slow.decode_batch(data)]
        self.slow._last_deps.update(deps)
        self.fast += 1
        return ops

    def decode_ops(self, data: bytes, start: int) -> list[Op] | None:
        """The ops of `data[start:]`, which must be nothing but `ops` fields (field 2 of an
        OpBatch) in the canonical layout (a pushed batch's tail: replication/fastin.py);
        None when they are not, and the caller decodes the message with protobuf. Decoded
        with this decoder's deps context, which it then keeps, like decode_batch."""
        if FORMAT_VERSION != 1:
            return None
        try:
            ops, deps = self._parse(data, start)
        except (_Fallback, IndexError, UnicodeDecodeError):
            self.fallbacks += 1
            return None
        self.slow._last_deps.update(deps)
        self.fast += 1
        return ops

    def _parse(self, data: bytes, i: int, raw: bool = False) -> tuple[list[Any], dict[str, dict[str, int]]]:
        """(ops, deps context after them); each op an Op, or with `raw` a RawOp tuple."""
        n = len(data)
        ops: list[Any] = []
        # Deps context of this record, committed only when the whole record parsed.
        last = dict(self.slow._last_deps)
        origins = self._origins
        while i < n:
            if data[i] != 0x12:
                raise _Fallback
            ln = data[i + 1]
            i += 2
            if ln >= 0x80:
                ln, i = _varint(data, i - 1)
            end = i + ln
            if end > n:
                raise _Fallback
            # Op: version 1, origin, seq, hlc, deps, effects: exactly this order.
            if data[i] != 0x08 or data[i + 1] != 0x01 or data[i + 2] != 0x12:
                raise _Fallback
            ol = data[i + 3]
            i += 4
            if ol >= 0x80 or ol == 0:
                raise _Fallback
            ob = data[i:i + ol]
            i += ol
            origin = origins.get(ob)
            if origin is None:
                origin = origins[ob] = ob.decode()
            if data[i] != 0x18:
                raise _Fallback
            seq = data[i + 1]
            i += 2
            if seq >= 0x80:
                seq, i = _varint(data, i - 1)
            if seq < 1 or data[i] != 0x21 or i + 9 > end:
                raise _Fallback
            hlc = (data[i + 1] | data[i + 2] << 8 | data[i + 3] << 16 | data[i + 4] << 24 | data[i + 5] << 32
                   | data[i + 6] << 40 | data[i + 7] << 48 | data[i + 8] << 56)
            i += 9
            tag = data[i] if i < end else 0
            if tag == 0x30:
                if data[i + 1] != 0x01:
                    raise _Fallback
                i += 2
                deps = last.get(origin)
                if deps is None:
                    raise _Fallback  # protobuf's path raises the DecodeError
            else:
                deps = {}
                while tag == 0x2A:
                    el = data[i + 1]
                    if el >= 0x80 or data[i + 2] != 0x0A:
                        raise _Fallback
                    eend = i + 2 + el
                    if eend > end:
                        raise _Fallback
                    kl = data[i + 3]
                    if kl >= 0x80:
                        raise _Fallback
                    k = data[i + 4:i + 4 + kl].decode()
                    j = i + 4 + kl
                    if data[j] != 0x10:
                        raise _Fallback
                    v = data[j + 1]
                    j += 2
                    if v >= 0x80:
                        v, j = _varint(data, j - 1)
                    if j != eend or v > _MASK64:
                        raise _Fallback
                    deps[k] = v
                    i = eend
                    tag = data[i] if i < end else 0
                last[origin] = deps
            effects: list[tuple[Any, ...]] = []
            while i < end:
                if data[i] != 0x3A:
                    raise _Fallback
                el = data[i + 1]
                i += 2
                if el >= 0x80:
                    el, i = _varint(data, i - 1)
                eend = i + el
                if eend > end:
                    raise _Fallback
                effects.append(_effect(data, i, eend))
                i = eend
            if i != end or not effects:
                raise _Fallback
            ops.append((origin, seq, hlc, deps, effects) if raw else Op(origin, seq, hlc, deps, effects))
        return ops, last


def _effect(data: bytes, i: int, end: int) -> tuple[Any, ...]:
    """One Effect message in data[i:end]: code, db, key, then args."""
    if data[i] != 0x08:
        raise _Fallback
    code = data[i + 1]
    i += 2
    if code >= 0x80:
        code, i = _varint(data, i - 1)
    if data[i] != 0x10:
        raise _Fallback
    db = data[i + 1]
    i += 2
    if db >= 0x80:
        db, i = _varint(data, i - 1)
    if data[i] != 0x1A:
        raise _Fallback
    kl = data[i + 1]
    i += 2
    if kl >= 0x80:
        kl, i = _varint(data, i - 1)
    out: list[Any] = [code, db, data[i:i + kl]]
    i += kl
    while i < end:
        if data[i] != 0x22:
            raise _Fallback
        vl = data[i + 1]
        i += 2
        if vl >= 0x80:
            vl, i = _varint(data, i - 1)
        vend = i + vl
        if vend > end or vl == 0:
            raise _Fallback
        t = data[i]
        if t == 0x12:  # bytes
            bl = data[i + 1]
            j = i + 2
            if bl >= 0x80:
                bl, j = _varint(data, j - 1)
            if j + bl != vend:
                raise _Fallback
            out.append(data[j:vend])
        elif t == 0x08:  # sint64
            z = data[i + 1]
            j = i + 2
            if z >= 0x80:
                z, j = _varint(data, j - 1)
            if j != vend or z > _MASK64:
                raise _Fallback
            out.append((z >> 1) ^ -(z & 1))
        elif t == 0x20:  # nil
            if vl != 2 or data[i + 1] != 0x01:
                raise _Fallback
            out.append(None)
        elif t == 0x2A:  # str
            sl = data[i + 1]
            if sl >= 0x80 or i + 2 + sl != vend:
                raise _Fallback
            out.append(data[i + 2:vend].decode())
        elif t == 0x19:  # double (ZADD scores, INCRBYFLOAT)
            if vl != 9:
                raise _Fallback
            out.append(_unpack_double(data, i + 1)[0])
        elif t == 0x48:  # bool
            if vl != 2 or data[i + 1] > 1:
                raise _Fallback
            out.append(data[i + 1] == 1)
        else:
            raise _Fallback
        i = vend
    if i != end:
        raise _Fallback
    return tuple(out)


def _native_class() -> Any:
    """FastOpDecoder of the compiled copy of this module, if it was built from this source."""
    nat = native_module("crdtredis.wire._fastdec_native", __file__)
    return None if nat is None else getattr(nat, "FastOpDecoder", None)


# Only this module looks for the compiled copy (the copy itself runs this code too).
_NATIVE: Any = _native_class() if __name__ == "crdtredis.wire.fastdec" else None


def new_decoder(native: bool = True) -> FastOpDecoder:
    """A record decoder: the compiled one when available (and `native`), else this module's."""
    if native and _NATIVE is not None:
        return _NATIVE()  # type: ignore[no-any-return]
    return FastOpDecoder()


def compiled() -> bool:
    """True when `new_decoder()` returns the compiled decoder."""
    return _NATIVE is not None
