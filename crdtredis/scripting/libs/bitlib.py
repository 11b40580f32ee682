"""LuaBitOp 1.0.2 (`bit`), as Redis links it (deps/lua/src/lua_bit.c).

Arguments are converted the way the C library does: add 2^52+2^51 to the double and
keep the low 32 bits of its representation, which rounds to the nearest integer and
wraps modulo 2^32. Results are signed 32-bit numbers.
"""
from __future__ import annotations

import struct
from typing import Any

from . import ArgError, LibFn, Result, guarded, ok, tonumber, typename

_pack_d = struct.Struct("<d").pack
_unpack_q = struct.Struct("<Q").unpack


def _barg(args: tuple[Any, ...], i: int) -> int:
    v = args[i - 1] if i <= len(args) else None
    n = tonumber(v)
    if n is None:
        # lua_tonumber gave 0 for something that is not a number: luaL_typerror.
        raise ArgError(i, f"number expected, got {typename(args, i)}")
    b: int = _unpack_q(_pack_d(n + 6755399441055744.0))[0] & 0xFFFFFFFF
    return b


def _ret(b: int) -> Result:
    b &= 0xFFFFFFFF
    return ok(b - 0x100000000 if b & 0x80000000 else b)


def tobit(*a: Any) -> Result:
    return _ret(_barg(a, 1))


def bnot(*a: Any) -> Result:
    return _ret(~_barg(a, 1))


def band(*a: Any) -> Result:
    b = _barg(a, 1)
    for i in range(len(a), 1, -1):
        b &= _barg(a, i)
    return _ret(b)


def bor(*a: Any) -> Result:
    b = _barg(a, 1)
    for i in range(len(a), 1, -1):
        b |= _barg(a, i)
    return _ret(b)


def bxor(*a: Any) -> Result:
    b = _barg(a, 1)
    for i in range(len(a), 1, -1):
        b ^= _barg(a, i)
    return _ret(b)


def lshift(*a: Any) -> Result:
    b, n = _barg(a, 1), _barg(a, 2) & 31
    return _ret(b << n)


def rshift(*a: Any) -> Result:
    b, n = _barg(a, 1), _barg(a, 2) & 31
    return _ret(b >> n)


def arshift(*a: Any) -> Result:
    b, n = _barg(a, 1), _barg(a, 2) & 31
    s = b - 0x100000000 if b & 0x80000000 else b
    return _ret(s >> n)


def rol(*a: Any) -> Result:
    b, n = _barg(a, 1), _barg(a, 2) & 31
    return _ret((b << n) | (b >> (32 - n)))


def ror(*a: Any) -> Result:
    b, n = _barg(a, 1), _barg(a, 2) & 31
    return _ret((b << (32 - n)) | (b >> n))


def bswap(*a: Any) -> Result:
    b = _barg(a, 1)
    return _ret(((b >> 24) & 0xFF) | ((b >> 8) & 0xFF00) | ((b & 0xFF00) << 8) | ((b & 0xFF) << 24))


def tohex(*a: Any) -> Result:
    b = _barg(a, 1)
    n = 8
    if len(a) >= 2:
        n = _barg(a, 2)
        n = n - 0x100000000 if n & 0x80000000 else n
    digits = "0123456789abcdef"
    if n < 0:
        n = -n
        digits = "0123456789ABCDEF"
    n = min(n, 8)
    out = []
    for _ in range(n):
        out.append(digits[b & 15])
        b >>= 4
    return ok("".join(reversed(out)).encode())


def functions() -> dict[bytes, LibFn]:
    fns = (tobit, bnot, band, bor, bxor, lshift, rshift, arshift, rol, ror, bswap, tohex)
    return {f.__name__.encode(): guarded(f) for f in fns}
