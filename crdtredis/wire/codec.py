"""Encode ops as protobuf `Op` records (ops.proto) and decode them back.

Encoding is on the write path of every command, and building protobuf message objects
costs ~3.3 µs per op here (upb backend, measured with a SET-shaped op), more than the
whole per-request budget of DESIGN §7. So `encode_op` writes the protobuf wire format by
hand (varints and length-delimited fields, ~1 µs), while decoding uses the generated
module (C parser). tests/test_wire_codec.py checks both directions agree on random ops.
"""
from __future__ import annotations

import struct
from decimal import Decimal
from typing import Any

from ..op import Op
from . import ops_pb2 as pb

_pack_q = struct.Struct("<Q").pack

FORMAT_VERSION = 1

def _varint_slow(n: int) -> bytes:
    out = bytearray()
    while n > 127:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


# Varints below 2^14 (lengths, seqs of young logs, db, codes) come from a table: the
# encoder calls this several times per op.
_VTAB = [_varint_slow(i) for i in range(1 << 14)]
_VTAB_N = 1 << 14


def _varint(n: int) -> bytes:
    if n < _VTAB_N:
        return _VTAB[n]
    out = bytearray()
    while n > 127:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def _zigzag(n: int) -> int:
    return (n << 1) ^ (n >> 63)


_INT64_MIN = -(1 << 63)
_INT64_MAX = (1 << 63) - 1
_NIL = b"\x20\x01"  # Value.nil = true
_TRUE = b"\x48\x01"
_FALSE = b"\x48\x00"


def _value(a: Any) -> bytes:
    """Encoded `Value` message body for one effect argument."""
    t = type(a)
    if t is bytes:
        return b"\x12" + _varint(len(a)) + a
    if t is int:
        if _INT64_MIN <= a <= _INT64_MAX:
            return b"\x08" + _varint(_zigzag(a))
        s = str(a).encode()
        return b"\x3a" + _varint(len(s)) + s
    if a is None:
        return _NIL
    if t is bool:
        return _TRUE if a else _FALSE
    if t is str:
        s = a.encode()
        return b"\x2a" + _varint(len(s)) + s
    if t is float:
        return b"\x19" + struct.pack("<d", a)
    if t is tuple or t is list:
        body = b"".join(b"\x0a" + _varint(len(v)) + v for v in map(_value, a))
        if t is list:
            body += b"\x10\x01"
        return b"\x32" + _varint(len(body)) + body
    if t is dict:
        ks = b"".join(b"\x0a" + _varint(len(v)) + v for v in map(_value, a.keys()))
        vs = b"".join(b"\x12" + _varint(len(v)) + v for v in map(_value, a.values()))
        body = ks + vs
        return b"\x42" + _varint(len(body)) + body
    if t is bytearray or t is memoryview:
        return _value(bytes(a))
    if t is Decimal:
        s = str(a).encode()
        return b"\x12" + _varint(len(s)) + s
    raise TypeError(f"cannot encode effect argument of type {t.__name__}")


def _deps(deps: dict[str, int]) -> bytes:
    out = []
    for k, v in deps.items():
        kb = k.encode()
        entry = b"\x0a" + _varint(len(kb)) + kb + b"\x10" + _varint(v)
        out.append(b"\x2a" + _varint(len(entry)) + entry)
    return b"".join(out)


_EFF_HDR: dict[tuple[int, int], bytes] = {}
_ARG_NIL = b"\x22\x02" + _NIL


def encode_effect(eff: tuple[Any, ...]) -> bytes:
    code_db = (eff[0], eff[1])
    hdr = _EFF_HDR.get(code_db)
    if hdr is None:
        hdr = b"\x08" + _varint(eff[0]) + b"\x10" + _varint(eff[1]) + b"\x1a"
        _EFF_HDR[code_db] = hdr
    key = eff[2]
    vt = _VTAB
    body = [hdr, vt[len(key)] if len(key) < _VTAB_N else _varint(len(key)), key]
    app = body.append
    for a in eff[3:]:
        t = type(a)
        if t is bytes:
            n = len(a)
            if n < 127:
                # Value{b: a} is 0x12 len a; the args field wraps it: 0x22 len(value).
                app(b"\x22" + vt[n + 2] + b"\x12" + vt[n])
                app(a)
                continue
        elif a is None:
            app(_ARG_NIL)
            continue
        elif t is int and 0 <= a < 8192:
            z = vt[a << 1]
            app(b"\x22" + vt[len(z) + 1] + b"\x08" + z)
            continue
        v = _value(a)
        app(b"\x22")
        app(_varint(len(v)))
        app(v)
    return b"".join(body)


class OpEncoder:
    """Encodes ops of any origin; caches each origin's header bytes and, per origin, the
    deps last written so an unchanged deps map is sent as `deps_same` (DESIGN §2: consecutive
    local ops share deps, so this is the common case)."""

    __slots__ = ("_origin_hdr", "_last_deps")

    def __init__(self) -> None:
        self._origin_hdr: dict[str, bytes] = {}
        self._last_deps: dict[str, dict[str, int]] = {}

    def reset_deps(self) -> None:
        """Forget the deps context (start of a new segment or batch: each is self-contained)."""
        self._last_deps = {}

    def encode(self, op: Op) -> bytes:
        hdr = self._origin_hdr.get(op.origin)
        if hdr is None:
            ob = op.origin.encode()
            hdr = b"\x08" + _varint(FORMAT_VERSION) + b"\x12" + _varint(len(ob)) + ob
            self._origin_hdr[op.origin] = hdr
        parts = [hdr, b"\x18", _varint(op.seq), b"\x21", _pack_q(op.hlc)]
        last = self._last_deps.get(op.origin)
        if last is not None and (last is op.deps or last == op.deps):
            parts.append(b"\x30\x01")
        else:
            if op.deps:
                parts.append(_deps(op.deps))
            self._last_deps[op.origin] = op.deps
        for eff in op.effects:
            e = encode_effect(eff)
            parts.append(b"\x3a")
            parts.append(_varint(len(e)))
            parts.append(e)
        return b"".join(parts)


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
