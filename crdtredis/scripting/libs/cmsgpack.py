"""lua-cmsgpack 0.4.0 (`cmsgpack`), as Redis links it (deps/lua/src/lua_cmsgpack.c).

pack encodes each argument and concatenates them; tables are arrays when their keys are
exactly 1..n, maps otherwise, and nesting deeper than 16 encodes as nil (so circular
references end). Numbers that are integral int64 values encode as the smallest integer
type, others as float32 when exact, else float64. unpack decodes every value of a
stream; unpack_one / unpack_limit decode some and return the next offset (-1 at the end).
"""
from __future__ import annotations

import math
import struct
from typing import Any

import lupa.lua51 as lua51

from . import ArgError, LibError, LibFn, Result, checkinteger, checkstring, guarded, ok

MAX_NESTING = 16
_INT64_MIN = -(1 << 63)
_INT64_MAX = (1 << 63) - 1


def _bytes_hdr(n: int) -> bytes:
    if n < 32:
        return bytes((0xA0 | n,))
    if n <= 0xFF:
        return bytes((0xD9, n))
    if n <= 0xFFFF:
        return b"\xda" + n.to_bytes(2, "big")
    return b"\xdb" + (n & 0xFFFFFFFF).to_bytes(4, "big")


def _int(n: int) -> bytes:
    if n >= 0:
        if n <= 127:
            return bytes((n,))
        if n <= 0xFF:
            return bytes((0xCC, n))
        if n <= 0xFFFF:
            return b"\xcd" + n.to_bytes(2, "big")
        if n <= 0xFFFFFFFF:
            return b"\xce" + n.to_bytes(4, "big")
        return b"\xcf" + (n & 0xFFFFFFFFFFFFFFFF).to_bytes(8, "big")
    if n >= -32:
        return bytes((n & 0xFF,))
    if n >= -128:
        return bytes((0xD0, n & 0xFF))
    if n >= -32768:
        return b"\xd1" + (n & 0xFFFF).to_bytes(2, "big")
    if n >= -2147483648:
        return b"\xd2" + (n & 0xFFFFFFFF).to_bytes(4, "big")
    return b"\xd3" + (n & 0xFFFFFFFFFFFFFFFF).to_bytes(8, "big")


def _double(d: float) -> bytes:
    try:
        f = struct.unpack(">f", struct.pack(">f", d))[0]
    except OverflowError:
        f = None
    if f is not None and f == d:
        return b"\xca" + struct.pack(">f", d)
    return b"\xcb" + struct.pack(">d", d)


def _number(v: float) -> bytes:
    d = float(v)
    if not math.isinf(d) and not math.isnan(d) and -9223372036854775808.0 <= d < 9223372036854775808.0 \
            and int(d) == d:
        return _int(int(d))
    return _double(d)


def _encode(v: Any, out: list[bytes], level: int) -> None:
    t = type(v)
    if t is bytes:
        out.append(_bytes_hdr(len(v)))
        out.append(v)
    elif t is bool:
        out.append(b"\xc3" if v else b"\xc2")
    elif t is int or t is float:
        out.append(_number(v))
    elif lua51.lua_type(v) == "table" and level < MAX_NESTING:
        keys = [k for k, _x in v.items()]
        mx = 0
        is_array = True
        for k in keys:
            kt = type(k)
            if not (kt is int or kt is float) or k <= 0 or int(k) != k:
                is_array = False
                break
            mx = max(mx, int(k))
        if is_array and mx == len(keys):
            n = len(v)  # lua_objlen
            out.append(_array_hdr(n))
            for j in range(1, n + 1):
                _encode(v[j], out, level + 1)
        else:
            items = list(v.items())
            out.append(_map_hdr(len(items)))
            for k, x in items:
                _encode(k, out, level + 1)
                _encode(x, out, level + 1)
    else:
        out.append(b"\xc0")


def _array_hdr(n: int) -> bytes:
    if n <= 15:
        return bytes((0x90 | n,))
    if n <= 0xFFFF:
        return b"\xdc" + n.to_bytes(2, "big")
    return b"\xdd" + (n & 0xFFFFFFFF).to_bytes(4, "big")


def _map_hdr(n: int) -> bytes:
    if n <= 15:
        return bytes((0x80 | n,))
    if n <= 0xFFFF:
        return b"\xde" + n.to_bytes(2, "big")
    return b"\xdf" + (n & 0xFFFFFFFF).to_bytes(4, "big")


class _Eof(Exception):
    pass


class _BadFmt(Exception):
    pass


def _num_out(n: int) -> Any:
    # Lua numbers are doubles: integers past 2^53 come out rounded, as in C.
    return n if -(1 << 53) <= n <= (1 << 53) else float(n)


class _Decoder:
    def __init__(self, lua: Any, data: bytes, pos: int) -> None:
        self.lua = lua
        self.d = data
        self.p = pos

    def need(self, n: int) -> None:
        if self.p + n > len(self.d):
            raise _Eof()

    def value(self) -> Any:
        self.need(1)
        d = self.d
        p = self.p
        b = d[p]
        if b == 0xCC:
            self.need(2)
            self.p += 2
            return d[p + 1]
        if b == 0xD0:
            self.need(2)
            self.p += 2
            return int.from_bytes(d[p + 1:p + 2], "big", signed=True)
        if b in (0xCD, 0xD1, 0xCE, 0xD2, 0xCF, 0xD3):
            size = {0xCD: 2, 0xD1: 2, 0xCE: 4, 0xD2: 4, 0xCF: 8, 0xD3: 8}[b]
            self.need(1 + size)
            self.p += 1 + size
            return _num_out(int.from_bytes(d[p + 1:p + 1 + size], "big", signed=b in (0xD1, 0xD2, 0xD3)))
        if b == 0xC0:
            self.p += 1
            return None
        if b == 0xC3:
            self.p += 1
            return True
        if b == 0xC2:
            self.p += 1
            return False
        if b == 0xCA:
            self.need(5)
            self.p += 5
            return struct.unpack(">f", d[p + 1:p + 5])[0]
        if b == 0xCB:
            self.need(9)
            self.p += 9
            return struct.unpack(">d", d[p + 1:p + 9])[0]
        if b in (0xD9, 0xDA, 0xDB):
            hl = {0xD9: 1, 0xDA: 2, 0xDB: 4}[b]
            self.need(1 + hl)
            n = int.from_bytes(d[p + 1:p + 1 + hl], "big")
            self.need(1 + hl + n)
            self.p += 1 + hl + n
            return d[p + 1 + hl:p + 1 + hl + n]
        if b in (0xDC, 0xDD, 0xDE, 0xDF):
            hl = 2 if b in (0xDC, 0xDE) else 4
            self.need(1 + hl)
            n = int.from_bytes(d[p + 1:p + 1 + hl], "big")
            self.p += 1 + hl
            return self.array(n) if b in (0xDC, 0xDD) else self.map(n)
        if b & 0x80 == 0:
            self.p += 1
            return b
        if b & 0xE0 == 0xE0:
            self.p += 1
            return b - 256
        if b & 0xE0 == 0xA0:
            n = b & 0x1F
            self.need(1 + n)
            self.p += 1 + n
            return d[p + 1:p + 1 + n]
        if b & 0xF0 == 0x90:
            self.p += 1
            return self.array(b & 0xF)
        if b & 0xF0 == 0x80:
            self.p += 1
            return self.map(b & 0xF)
        raise _BadFmt()

    def array(self, n: int) -> Any:
        t = self.lua.table()
        for i in range(1, n + 1):
            v = self.value()
            if v is not None:
                t[i] = v
        return t

    def map(self, n: int) -> Any:
        t = self.lua.table()
        for _ in range(n):
            k = self.value()
            v = self.value()
            if k is None:
                raise LibError("table index is nil")
            if isinstance(k, float) and math.isnan(k):
                raise LibError("table index is NaN")
            t[k] = v
        return t


def functions(lua: Any) -> dict[bytes, LibFn]:
    def unpack_full(data: bytes, limit: int, offset: int) -> Result:
        decode_all = not limit and not offset
        if offset < 0 or limit < 0:
            raise LibError(f"Invalid request to unpack with offset of {offset} and limit of {len(data)}.")
        if offset > len(data):
            raise LibError(f"Start offset {offset} greater than input length {len(data)}.")
        if decode_all:
            limit = 2**31 - 1
        dec = _Decoder(lua, data, offset)
        out: list[Any] = []
        try:
            while dec.p < len(data) and len(out) < limit:
                out.append(dec.value())
        except _Eof as e:
            raise LibError("Missing bytes in input.") from e
        except _BadFmt as e:
            raise LibError("Bad data format in input.") from e
        if not decode_all:
            return ok(-1 if dec.p >= len(data) else dec.p, *out)
        return ok(*out)

    def pack(*args: Any) -> Result:
        if not args:
            raise ArgError(0, "MessagePack pack needs input.")
        out: list[bytes] = []
        for v in args:
            _encode(v, out, 0)
        return ok(b"".join(out))

    def unpack(*args: Any) -> Result:
        return unpack_full(checkstring(args, 1), 0, 0)

    def unpack_one(*args: Any) -> Result:
        offset = checkinteger(args, 2) if len(args) >= 2 and args[1] is not None else 0
        return unpack_full(checkstring(args, 1), 1, offset)

    def unpack_limit(*args: Any) -> Result:
        limit = checkinteger(args, 2)
        offset = checkinteger(args, 3) if len(args) >= 3 and args[2] is not None else 0
        return unpack_full(checkstring(args, 1), limit, offset)

    table: dict[bytes, Any] = {f.__name__.encode(): guarded(f) for f in (pack, unpack, unpack_one, unpack_limit)}
    table[b"_NAME"] = b"cmsgpack"
    table[b"_VERSION"] = b"lua-cmsgpack 0.4.0"
    table[b"_COPYRIGHT"] = b"Copyright (C) 2012, Salvatore Sanfilippo"
    table[b"_DESCRIPTION"] = b"MessagePack C implementation for Lua"
    return table
