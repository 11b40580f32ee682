"""Encode ops as protobuf `Op` records (ops.proto) and decode them back.

Encoding is on the write path of every command, and building protobuf message objects
costs ~3.3 µs per op here (upb backend, measured with a SET-shaped op), more than the
whole per-request budget of DESIGN §7. So the encoder writes the protobuf wire format by
hand (varints and length-delimited fields), while decoding uses the generated module (C
parser). tests/test_wire_codec.py checks both directions agree on random ops.

At ~50-100 ns per Python-level step on these machines, the encoder is written to take as
few steps as possible: headers and small arguments come from tables, the two hot effect
shapes (SET without expiry, INCR by a small integer) have their own branch, and the op
log encodes a whole group commit in one call (`encode_ops`), not one call per op.
"""
from __future__ import annotations

import struct
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from ..crdt import codes
from ..op import Op
from . import ops_pb2 as pb

# Op field 4 (fixed64 hlc): its tag byte and the 8 bytes in one pack call.
_pack_hlc = struct.Struct("<BQ").pack

FORMAT_VERSION = 1


def _varint_slow(n: int) -> bytes:
    out = bytearray()
    while n > 127:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


# Varints below 2^14 (lengths, db, codes, small args) come from a table; up to 2^28 (seqs)
# from two: the low 14 bits as two continuation bytes, then the rest.
_VTAB_N = 1 << 14
_VTAB = [_varint_slow(i) for i in range(_VTAB_N)]
_VTAB_LO = [bytes(((i & 0x7F) | 0x80, (i >> 7) | 0x80)) for i in range(_VTAB_N)]


def _varint(n: int) -> bytes:
    if n < _VTAB_N:
        return _VTAB[n]
    if n < 1 << 28:
        return _VTAB_LO[n & 0x3FFF] + _VTAB[n >> 14]
    if n < 1 << 70:
        # HLCs (~2^57, ~2^58 zigzagged) and other big numbers: 14 bits per table lookup.
        lo = _VTAB_LO
        if n < 1 << 42:
            return lo[n & 0x3FFF] + lo[(n >> 14) & 0x3FFF] + _VTAB[n >> 28]
        if n < 1 << 56:
            return b"".join((lo[n & 0x3FFF], lo[(n >> 14) & 0x3FFF], lo[(n >> 28) & 0x3FFF], _VTAB[n >> 42]))
        return b"".join((lo[n & 0x3FFF], lo[(n >> 14) & 0x3FFF], lo[(n >> 28) & 0x3FFF],
                         lo[(n >> 42) & 0x3FFF], _VTAB[n >> 56]))
    return _varint_slow(n)


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


def _arg(value: bytes) -> bytes:
    """`Effect.args` field (tag 0x22, length) around an encoded Value."""
    return b"\x22" + _varint(len(value)) + value


# Whole `args` fields for small ints (-_ARG_INT_NEG <= i < _ARG_INT_N) and the field
# header (up to the payload) of a bytes argument shorter than _ARG_BYTES_N.
_ARG_INT_NEG = 1024
_ARG_INT_N = 8192
_ARG_INT = [_arg(_value(i)) for i in range(-_ARG_INT_NEG, _ARG_INT_N)]
_ARG_BYTES_N = 1024
_ARG_BYTES = [_arg(_value(b"\0" * n))[: -n or None] for n in range(_ARG_BYTES_N)]
_ARG_NIL = _arg(_NIL)
_ARG_EMPTY_STR = _arg(b"\x2a\x00")
# The arguments after the value of SET's effect (ttl_mode, None): TTL_CLEAR and TTL_KEEP.
_SET_TAILS = {
    codes.TTL_CLEAR: _ARG_INT[codes.TTL_CLEAR + _ARG_INT_NEG] + _ARG_NIL,
    codes.TTL_KEEP: _ARG_INT[codes.TTL_KEEP + _ARG_INT_NEG] + _ARG_NIL,
}
_SET = codes.SET
_INCR = codes.INCR
_LINSERT = codes.LINSERT
_LREMOVE = codes.LREMOVE

# (code, db) -> Effect fields 1 and 2 and the tag of field 3 (the key).
_EFF_HDR: dict[tuple[int, int], bytes] = {}


def _eff_hdr(code: int, db: int) -> bytes:
    hdr = _EFF_HDR[(code, db)] = b"\x08" + _varint(code) + b"\x10" + _varint(db) + b"\x1a"
    return hdr


def encode_effect(eff: tuple[Any, ...]) -> bytes:
    code = eff[0]
    db = eff[1]
    hdr = _EFF_HDR.get((code, db)) or _eff_hdr(code, db)
    key = eff[2]
    n = len(key)
    klen = _VTAB[n] if n < _VTAB_N else _varint(n)
    # The hot shapes. Exact type checks: False == 0, but a bool must stay a bool.
    if code == _SET and len(eff) == 6 and eff[5] is None:
        v = eff[3]
        mode = eff[4]
        if v.__class__ is bytes and mode.__class__ is int and mode in _SET_TAILS:
            n = len(v)
            if n < _ARG_BYTES_N:
                return b"".join((hdr, klen, key, _ARG_BYTES[n], v, _SET_TAILS[mode]))
    elif code == _INCR and len(eff) == 4:
        d = eff[3]
        if d.__class__ is int and -_ARG_INT_NEG <= d < _ARG_INT_N:
            return b"".join((hdr, klen, key, _ARG_INT[d + _ARG_INT_NEG]))
    elif (code == _LINSERT and len(eff) == 8) or (code == _LREMOVE and len(eff) == 7):
        # One element id of the writer's own (hlc, "", i, hint), then LINSERT's one value:
        # LPUSH / RPUSH / LPOP / RPOP of one element. The same bytes as the loop below.
        h = eff[3]
        o = eff[4]
        i = eff[5]
        k = eff[6]
        if h.__class__ is int and o.__class__ is str and not o and i.__class__ is int and k.__class__ is int \
                and 0 <= i < _ARG_INT_N and -_ARG_INT_NEG <= k < _ARG_INT_N and 0 <= h <= _INT64_MAX:
            if h < _ARG_INT_N:
                hb = _ARG_INT[h + _ARG_INT_NEG]
            else:
                z = _varint(h << 1)
                hb = b"\x22" + _VTAB[len(z) + 1] + b"\x08" + z
            if code == _LREMOVE:
                return b"".join((hdr, klen, key, hb, _ARG_EMPTY_STR, _ARG_INT[i + _ARG_INT_NEG],
                                 _ARG_INT[k + _ARG_INT_NEG]))
            v = eff[-1]  # eff[7] (mypy narrows on the length test of the other shape)
            if v.__class__ is bytes and len(v) < _ARG_BYTES_N:
                return b"".join((hdr, klen, key, hb, _ARG_EMPTY_STR, _ARG_INT[i + _ARG_INT_NEG],
                                 _ARG_INT[k + _ARG_INT_NEG], _ARG_BYTES[len(v)], v))
    parts = [hdr, klen, key]
    for a in eff[3:]:
        t = a.__class__
        if t is bytes:
            n = len(a)
            if n < _ARG_BYTES_N:
                parts += (_ARG_BYTES[n], a)
                continue
        elif a is None:
            parts.append(_ARG_NIL)
            continue
        elif t is int:
            if -_ARG_INT_NEG <= a < _ARG_INT_N:
                parts.append(_ARG_INT[a + _ARG_INT_NEG])
                continue
            if 0 <= a <= _INT64_MAX:
                # Element ids and references carry HLCs: a Value {i: zigzag(a) = 2a}.
                z = _varint(a << 1)
                parts += (b"\x22", _VTAB[len(z) + 1], b"\x08", z)
                continue
        elif t is str and not a:
            parts.append(_ARG_EMPTY_STR)  # "": an element id's origin when it is the writer's
            continue
        v = _value(a)
        parts += (b"\x22", _varint(len(v)), v)
    return b"".join(parts)


class OpEncoder:
    """Encodes ops of any origin; caches each origin's header bytes and, per origin, the
    deps last written so an unchanged deps map is sent as `deps_same` (DESIGN §2: consecutive
    local ops share deps, so this is the common case)."""

    __slots__ = ("_origin_hdr", "_last_deps")

    def __init__(self) -> None:
        # origin -> Op fields 1 (version) and 2 (origin) and the tag of field 3 (seq).
        self._origin_hdr: dict[str, bytes] = {}
        self._last_deps: dict[str, dict[str, int]] = {}

    def reset_deps(self) -> None:
        """Forget the deps context (start of a new segment or batch: each is self-contained)."""
        self._last_deps = {}

    def _new_origin(self, origin: str) -> bytes:
        ob = origin.encode()
        hdr = b"\x08" + _varint(FORMAT_VERSION) + b"\x12" + _varint(len(ob)) + ob + b"\x18"
        self._origin_hdr[origin] = hdr
        return hdr

    def _deps_field(self, op: Op) -> bytes:
        last = self._last_deps.get(op.origin)
        deps = op.deps
        if last is not None and (last is deps or last == deps):
            return b"\x30\x01"
        self._last_deps[op.origin] = deps
        return _deps(deps)

    def encode(self, op: Op) -> bytes:
        out: list[bytes] = []
        self.encode_ops((op,), out, b"")
        return out[-1]

    def encode_ops(self, ops: Iterable[Op], out: list[bytes], tag: bytes = b"\x12") -> None:
        """Append each op's encoding to `out`, each preceded by `tag` and its length (the
        default: as field 2, `ops`, of an OpBatch), or by nothing when `tag` is empty.
        One call per group commit: the loop below is the op log's whole per-op cost."""
        origin_hdr = self._origin_hdr
        last_deps = self._last_deps
        vt = _VTAB
        vt_lo = _VTAB_LO
        for op in ops:
            origin = op.origin
            hdr = origin_hdr.get(origin) or self._new_origin(origin)
            seq = op.seq
            deps = op.deps
            dp = b"\x30\x01" if last_deps.get(origin) is deps else self._deps_field(op)
            # The seq varint inline: past 2^14 (any busy log) as low bits + the rest.
            if seq < _VTAB_N:
                seqv = vt[seq]
            elif seq < 1 << 28:
                seqv = vt_lo[seq & 0x3FFF] + vt[seq >> 14]
            else:
                seqv = _varint_slow(seq)
            effects = op.effects
            if len(effects) == 1:  # one command's op: one join, no list to grow
                e = encode_effect(effects[0])
                n = len(e)
                body = b"".join((
                    hdr, seqv, _pack_hlc(0x21, op.hlc), dp, b"\x3a", vt[n] if n < _VTAB_N else _varint(n), e,
                ))
            else:
                parts = [hdr, seqv, _pack_hlc(0x21, op.hlc), dp]
                for eff in effects:
                    e = encode_effect(eff)
                    n = len(e)
                    parts += (b"\x3a", vt[n] if n < _VTAB_N else _varint(n), e)
                body = b"".join(parts)
            if tag:
                n = len(body)
                out += (tag, vt[n] if n < _VTAB_N else _varint(n), body)
            else:
                out.append(body)


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
