"""The op encoder: ops as protobuf `Op` records (ops.proto), written by hand.

Encoding is on the write path of every command, and building protobuf message objects
costs ~3.3 µs per op here (upb backend, measured with a SET-shaped op), more than the
whole per-request budget of DESIGN §7. So this module writes the protobuf wire format
itself (varints and length-delimited fields); decoding (wire/codec.py, wire/fastdec.py)
uses the generated module's C parser or the compiled decoder. tests/test_wire_codec.py
checks both directions agree on random ops.

At ~50-100 ns per Python-level step on these machines, the encoder is written to take as
few steps as possible: headers and small arguments come from tables, the hot effect shapes
(SET without expiry, INCR by a small integer, a one-element push or pop) have their own
branch, and the op log encodes a whole group commit in one call (`encode_ops`), not one
call per op. Even so it was a fifth of a pipelined SET's CPU (the op log's group commit
encodes every write), so it is also compiled when it can be (setup.py, as
crdtredis.wire._fastenc_native; tests/test_wire_codec.py holds both copies to the same
bytes). When Cython built wire/encops.pyx, its OpEncoder is the one in use (ENCODER): it
writes a group commit's ops straight into one buffer, ~40 ns a SET effect against ~270
for the mypyc copy of this module, and calls back here for argument kinds it does not
write itself. Values that come from outside (ops, effects, their arguments) are typed Any so
that the compiled copy accepts and does exactly what this code does.
"""
from __future__ import annotations

import os
import struct
from collections.abc import Iterable
from decimal import Decimal
from typing import Any, Final

from ..crdt import codes
from .native import native_module

# Op field 4 (fixed64 hlc): its tag byte and the 8 bytes in one pack call.
_pack_hlc: Final = struct.Struct("<BQ").pack

FORMAT_VERSION: Final = 1


def _varint_slow(n: int) -> bytes:
    out = bytearray()
    while n > 127:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


# Varints below 2^14 (lengths, db, codes, small args) come from a table; up to 2^28 (seqs)
# from two: the low 14 bits as two continuation bytes, then the rest.
_VTAB_N: Final = 1 << 14
_VTAB: Final[list[bytes]] = [_varint_slow(i) for i in range(_VTAB_N)]
_VTAB_LO: Final[list[bytes]] = [bytes(((i & 0x7F) | 0x80, (i >> 7) | 0x80)) for i in range(_VTAB_N)]


def varint(n: int) -> bytes:
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


_INT64_MIN: Final = -(1 << 63)
_INT64_MAX: Final = (1 << 63) - 1
_NIL: Final = b"\x20\x01"  # Value.nil = true
_TRUE: Final = b"\x48\x01"
_FALSE: Final = b"\x48\x00"


def _value(a: Any) -> bytes:
    """Encoded `Value` message body for one effect argument."""
    t = type(a)
    if t is bytes:
        return b"\x12" + varint(len(a)) + a
    if t is int:
        if _INT64_MIN <= a <= _INT64_MAX:
            return b"\x08" + varint(_zigzag(a))
        s = str(a).encode()
        return b"\x3a" + varint(len(s)) + s
    if a is None:
        return _NIL
    if t is bool:
        return _TRUE if a else _FALSE
    if t is str:
        s = a.encode()
        return b"\x2a" + varint(len(s)) + s
    if t is float:
        return b"\x19" + struct.pack("<d", a)
    if t is tuple or t is list:
        body = b"".join(b"\x0a" + varint(len(v)) + v for v in map(_value, a))
        if t is list:
            body += b"\x10\x01"
        return b"\x32" + varint(len(body)) + body
    if t is dict:
        ks = b"".join(b"\x0a" + varint(len(v)) + v for v in map(_value, a.keys()))
        vs = b"".join(b"\x12" + varint(len(v)) + v for v in map(_value, a.values()))
        body = ks + vs
        return b"\x42" + varint(len(body)) + body
    if t is bytearray or t is memoryview:
        return _value(bytes(a))
    if t is Decimal:
        s = str(a).encode()
        return b"\x12" + varint(len(s)) + s
    raise TypeError(f"cannot encode effect argument of type {t.__name__}")


def _deps(deps: dict[str, int]) -> bytes:
    out = []
    for k, v in deps.items():
        kb = k.encode()
        entry = b"\x0a" + varint(len(kb)) + kb + b"\x10" + varint(v)
        out.append(b"\x2a" + varint(len(entry)) + entry)
    return b"".join(out)


def _arg(value: bytes) -> bytes:
    """`Effect.args` field (tag 0x22, length) around an encoded Value."""
    return b"\x22" + varint(len(value)) + value


# Whole `args` fields for small ints (-_ARG_INT_NEG <= i < _ARG_INT_N) and the field
# header (up to the payload) of a bytes argument shorter than _ARG_BYTES_N.
_ARG_INT_NEG: Final = 1024
_ARG_INT_N: Final = 8192
_ARG_INT: Final[list[bytes]] = [_arg(_value(i)) for i in range(-_ARG_INT_NEG, _ARG_INT_N)]
_ARG_BYTES_N: Final = 1024
_ARG_BYTES: Final[list[bytes]] = [_arg(_value(b"\0" * n))[: -n or None] for n in range(_ARG_BYTES_N)]
_ARG_NIL: Final = _arg(_NIL)
_ARG_EMPTY_STR: Final = _arg(b"\x2a\x00")
# The arguments after the value of SET's effect (ttl_mode, None): TTL_CLEAR and TTL_KEEP.
_SET_TAILS: Final[dict[int, bytes]] = {
    codes.TTL_CLEAR: _ARG_INT[codes.TTL_CLEAR + _ARG_INT_NEG] + _ARG_NIL,
    codes.TTL_KEEP: _ARG_INT[codes.TTL_KEEP + _ARG_INT_NEG] + _ARG_NIL,
}
_SET: Final = codes.SET
_INCR: Final = codes.INCR
_LINSERT: Final = codes.LINSERT
_LREMOVE: Final = codes.LREMOVE

# (code, db) -> Effect fields 1 and 2 and the tag of field 3 (the key).
_EFF_HDR: Final[dict[tuple[int, int], bytes]] = {}


# The same for db 0 (nearly every effect), by code: a list index instead of a tuple key.
_EFF_HDR0: Final[list[bytes]] = [b"\x08" + varint(c) + b"\x10" + varint(0) + b"\x1a" for c in range(256)]


def _eff_hdr(code: int, db: int) -> bytes:
    hdr = _EFF_HDR[(code, db)] = b"\x08" + varint(code) + b"\x10" + varint(db) + b"\x1a"
    return hdr


def encode_effect(eff: Any) -> bytes:
    # Effects are tuples; the compiled copy reads a tuple's items directly (~35% of an
    # effect's encoding, bench/RESULTS.md), so anything else is made one first.
    return _encode_effect(eff if type(eff) is tuple else tuple(eff))


def _encode_effect(eff: tuple[Any, ...]) -> bytes:
    # Typed: the compiled copy compares them as C integers (an effect's code and db are
    # always ints; anything else fails in varint either way).
    code: int = eff[0]
    db: int = eff[1]
    hdr = _EFF_HDR0[code] if db == 0 and 0 <= code < 256 else b""
    if not hdr:
        hdr = _EFF_HDR.get((code, db)) or _eff_hdr(code, db)
    key = eff[2]
    n = len(key)
    klen = _VTAB[n] if n < _VTAB_N else varint(n)
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
                z = varint(h << 1)
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
                z = varint(a << 1)
                parts += (b"\x22", _VTAB[len(z) + 1], b"\x08", z)
                continue
        elif t is str and not a:
            parts.append(_ARG_EMPTY_STR)  # "": an element id's origin when it is the writer's
            continue
        v = _value(a)
        parts += (b"\x22", varint(len(v)), v)
    return b"".join(parts)


class OpEncoder:
    """Encodes ops of any origin; caches each origin's header bytes and, per origin, the
    deps last written so an unchanged deps map is sent as `deps_same` (DESIGN §2: consecutive
    local ops share deps, so this is the common case)."""

    def __init__(self) -> None:
        # origin -> Op fields 1 (version) and 2 (origin) and the tag of field 3 (seq).
        self._origin_hdr: dict[str, bytes] = {}
        self._last_deps: dict[str, dict[str, int]] = {}

    def reset_deps(self) -> None:
        """Forget the deps context (start of a new segment or batch: each is self-contained)."""
        self._last_deps = {}

    def _new_origin(self, origin: str) -> bytes:
        ob = origin.encode()
        hdr = b"\x08" + varint(FORMAT_VERSION) + b"\x12" + varint(len(ob)) + ob + b"\x18"
        self._origin_hdr[origin] = hdr
        return hdr

    def _deps_field(self, op: Any) -> bytes:
        last = self._last_deps.get(op.origin)
        deps = op.deps
        if last is not None and (last is deps or last == deps):
            return b"\x30\x01"
        self._last_deps[op.origin] = deps
        return _deps(deps)

    def encode(self, op: Any) -> bytes:
        out: list[bytes] = []
        self.encode_ops((op,), out, b"")
        return out[-1]

    def encode_ops(self, ops: Iterable[Any], out: list[bytes], tag: bytes = b"\x12") -> None:
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
            seq: int = op.seq
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
                    hdr, seqv, _pack_hlc(0x21, op.hlc), dp, b"\x3a", vt[n] if n < _VTAB_N else varint(n), e,
                ))
            else:
                parts = [hdr, seqv, _pack_hlc(0x21, op.hlc), dp]
                for eff in effects:
                    e = encode_effect(eff)
                    n = len(e)
                    parts += (b"\x3a", vt[n] if n < _VTAB_N else varint(n), e)
                body = b"".join(parts)
            if tag:
                n = len(body)
                out += (tag, vt[n] if n < _VTAB_N else varint(n), body)
            else:
                out.append(body)


def _native() -> Any:
    """The compiled copy of this module, if it was built from this source."""
    return native_module("crdtredis.wire._fastenc_native", __file__)


def _cython() -> Any:
    """The Cython encoder (wire/encops.pyx: the op loop writing into one buffer), if it
    was built from that very source."""
    return native_module("crdtredis.wire._encops_native", os.path.join(os.path.dirname(__file__), "encops.pyx"))


# Only this module looks for the compiled copies (the mypyc copy runs this code too).
_NATIVE: Any = _native() if __name__ == "crdtredis.wire.fastenc" else None
_CYTHON: Any = _cython() if __name__ == "crdtredis.wire.fastenc" else None
# What wire/codec.py exports: the fastest encoder there is. The Cython one calls this
# module's `_value` and `encode_effect` for shapes it does not write itself.
ENCODER: Any = _CYTHON.OpEncoder if _CYTHON is not None else OpEncoder if _NATIVE is None else _NATIVE.OpEncoder
EFFECT: Any = encode_effect if _NATIVE is None else _NATIVE.encode_effect
VALUE: Any = _value if _NATIVE is None else _NATIVE._value


def compiled() -> bool:
    """True when ENCODER, EFFECT and VALUE are the compiled ones."""
    return _NATIVE is not None


def cython() -> bool:
    """True when ENCODER is the Cython one (wire/encops.pyx)."""
    return _CYTHON is not None
