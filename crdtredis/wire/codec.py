"""Encode ops as protobuf `Op` records (ops.proto) and decode them back.

The encoder is wire/fastenc.py (written by hand for the write path, compiled when it can
be); this module re-exports it beside the decoders, which use the generated module (C
parser). tests/test_wire_codec.py checks both directions agree on random ops.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..op import Op
from . import fastenc
from . import ops_pb2 as pb

# The encoder lives in wire/fastenc.py, compiled when it can be; these are its exports.
if TYPE_CHECKING:
    from .fastenc import OpEncoder as OpEncoder
    from .fastenc import encode_effect as encode_effect
else:
    OpEncoder = fastenc.ENCODER
    encode_effect = fastenc.EFFECT
_value = fastenc.VALUE
FORMAT_VERSION = fastenc.FORMAT_VERSION


def split_records(buf: bytes | memoryview) -> list[tuple[int, int]]:
    """(start, end) of each `ops` field (tag 0x12, length, Op) in an OpBatch's encoded ops."""
    out: list[tuple[int, int]] = []
    i = 0
    n = len(buf)
    while i < n:
        if buf[i] != 0x12:
            raise ValueError(f"not an ops field at offset {i}")
        j = i + 1
        ln = shift = 0
        while True:
            b = buf[j]
            j += 1
            ln |= (b & 0x7F) << shift
            if b < 0x80:
                break
            shift += 7
        out.append((i, j + ln))
        i = j + ln
    return out


def encode_op(op: Op) -> bytes:
    """Self-contained encoding (full deps)."""
    return OpEncoder().encode(op)


# ---- decoding ------------------------------------------------------------------------------
class DecodeError(ValueError):
    pass


def _from_value(v: Any) -> Any:
    which = v.WhichOneof("v")
    if which == "b":
        return v.b
    if which == "i":
        return v.i
    if which == "nil" or which is None:
        return None
    if which == "s":
        return v.s
    if which == "l":
        items = [_from_value(x) for x in v.l.items]
        return items if v.l.is_list else tuple(items)
    if which == "d":
        return v.d
    if which == "big":
        try:
            return int(v.big)
        except ValueError as e:
            raise DecodeError("bad big integer") from e
    if which == "m":
        if len(v.m.keys) != len(v.m.vals):
            raise DecodeError("map with unequal keys and values")
        return {_from_value(k): _from_value(x) for k, x in zip(v.m.keys, v.m.vals, strict=True)}
    if which == "t":
        return v.t
    raise DecodeError(f"unknown value kind {which}")


class OpDecoder:
    """Inverse of OpEncoder, with the same per-origin deps context."""

    __slots__ = ("_last_deps",)

    def __init__(self) -> None:
        self._last_deps: dict[str, dict[str, int]] = {}

    def reset_deps(self) -> None:
        self._last_deps = {}

    def decode(self, data: bytes) -> Op:
        m = pb.Op()
        try:
            m.ParseFromString(data)
        except Exception as e:  # noqa: BLE001 - the protobuf runtime raises its own DecodeError
            raise DecodeError(f"invalid op record: {e}") from e
        return self.from_message(m)

    def decode_batch(self, data: bytes) -> list[Op]:
        """The ops of one op-log record (an OpBatch holding only version and ops)."""
        m = pb.OpBatch()
        try:
            m.ParseFromString(data)
        except Exception as e:  # noqa: BLE001 - the protobuf runtime raises its own DecodeError
            raise DecodeError(f"invalid op batch record: {e}") from e
        if m.version != FORMAT_VERSION:
            raise DecodeError(f"unsupported record format version {m.version}")
        return [self.from_message(x) for x in m.ops]

    def note_deps(self, m: Any) -> None:
        """Keep the deps context of an op that is not decoded (a duplicate)."""
        if not m.deps_same:
            self._last_deps[m.origin] = dict(m.deps)

    def from_message(self, m: Any) -> Op:
        if m.version != FORMAT_VERSION:
            raise DecodeError(f"unsupported op format version {m.version}")
        if not m.origin or m.seq < 1 or not m.effects:
            raise DecodeError("op without origin, seq or effects")
        if m.deps_same:
            deps = self._last_deps.get(m.origin)
            if deps is None:
                raise DecodeError("deps_same without a previous op of that origin")
        else:
            deps = dict(m.deps)
            self._last_deps[m.origin] = deps
        effects = []
        for e in m.effects:
            effects.append((e.code, e.db, e.key, *(_from_value(a) for a in e.args)))
        return Op(m.origin, m.seq, m.hlc, deps, effects)


def decode_op(data: bytes) -> Op:
    return OpDecoder().decode(data)


# ---- generic values (snapshots) -------------------------------------------------------------
def encode_value(x: Any) -> bytes:
    """A plain structure (Entry.state()) as an encoded `Value`."""
    return _value(x)


def decode_value(data: bytes) -> Any:
    v = pb.Value()
    try:
        v.ParseFromString(data)
    except Exception as e:  # noqa: BLE001
        raise DecodeError(f"invalid value: {e}") from e
    return _from_value(v)
