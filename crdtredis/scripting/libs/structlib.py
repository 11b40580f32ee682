"""Roberto Ierusalimschy's `struct` library, as Redis links it (deps/lua/src/lua_struct.c).

Formats: > < ! (endianness, alignment), b B h H l L T i[n] I[n] (integers of their C
sizes on x86-64), f d (floats), c[n] s (strings), x (padding), spaces ignored.
"""
from __future__ import annotations

import struct
from typing import Any

from . import ArgError, LibError, LibFn, Result, checkinteger, checknumber, checkstring, guarded, ok

_MAXINTSIZE = 32
_MAXALIGN = 8  # max(padding of a double in a struct, sizeof(int)) on x86-64
_SIZES = {"b": 1, "B": 1, "h": 2, "H": 2, "l": 8, "L": 8, "T": 8, "f": 4, "d": 8, "x": 1}
_INT_OPTS = "bBhHlLTiI"


class _Fmt:
    def __init__(self, fmt: bytes) -> None:
        self.s = fmt.split(b"\0", 1)[0].decode("latin-1")
        self.i = 0
        self.little = True  # native x86-64
        self.align = 1

    def getnum(self, default: int) -> int:
        s = self.s
        if self.i >= len(s) or not s[self.i].isdigit():
            return default
        a = 0
        while self.i < len(s) and s[self.i].isdigit():
            if a > (2**31 - 1) // 10 or a * 10 > (2**31 - 1) - int(s[self.i]):
                raise LibError("integral size overflow")
            a = a * 10 + int(s[self.i])
            self.i += 1
        return a

    def optsize(self, opt: str) -> int:
        if opt in _SIZES:
            return _SIZES[opt]
        if opt == "c":
            return self.getnum(1)
        if opt in "iI":
            sz = self.getnum(4)
            if sz > _MAXINTSIZE:
                raise LibError(f"integral size {sz} is larger than limit of {_MAXINTSIZE}")
            return sz
        return 0

    def toalign(self, length: int, opt: str, size: int) -> int:
        if size == 0 or opt == "c":
            return 0
        size = min(size, self.align)
        return (size - (length & (size - 1))) & (size - 1)

    def control(self, opt: str) -> None:
        if opt == " ":
            return
        if opt == ">":
            self.little = False
        elif opt == "<":
            self.little = True
        elif opt == "!":
            a = self.getnum(_MAXALIGN)
            if a <= 0 or a & (a - 1):
                raise LibError(f"alignment {a} is not a power of 2")
            self.align = a
        else:
            raise ArgError(1, f"invalid format option '{opt}'")


def pack(*args: Any) -> Result:
    f = _Fmt(checkstring(args, 1))
    out = bytearray()
    arg = 2
    total = 0
    while f.i < len(f.s):
        opt = f.s[f.i]
        f.i += 1
        size = f.optsize(opt)
        pad = f.toalign(total, opt, size)
        total += pad
        out += b"\0" * pad
        if opt in _INT_OPTS:
            n = checknumber(args, arg)
            arg += 1
            value = int(n) if n == n and abs(n) != float("inf") else 0
            value &= (1 << (8 * size)) - 1 if size else 0
            out += value.to_bytes(size, "little" if f.little else "big") if size else b""
        elif opt == "x":
            out += b"\0"
        elif opt == "f":
            n = checknumber(args, arg)
            arg += 1
            try:
                out += struct.pack("<f" if f.little else ">f", n)
            except OverflowError:
                out += struct.pack("<f" if f.little else ">f", float("inf") if n > 0 else float("-inf"))
        elif opt == "d":
            n = checknumber(args, arg)
            arg += 1
            out += struct.pack("<d" if f.little else ">d", n)
        elif opt in "cs":
            s = checkstring(args, arg)
            arg += 1
            if size == 0:
                size = len(s)
            if len(s) < size:
                raise ArgError(arg, "string too short")
            out += s[:size]
            if opt == "s":
                out += b"\0"
                size += 1
        else:
            f.control(opt)
        total += size
    return ok(bytes(out))


def unpack(*args: Any) -> Result:
    f = _Fmt(checkstring(args, 1))
    data = checkstring(args, 2)
    ld = len(data)
    pos = 1
    if len(args) >= 3 and args[2] is not None:
        pos = checkinteger(args, 3)
    if pos <= 0:
        raise ArgError(3, "offset must be 1 or greater")
    pos -= 1
    res: list[Any] = []
    while f.i < len(f.s):
        opt = f.s[f.i]
        f.i += 1
        size = f.optsize(opt)
        pos += f.toalign(pos, opt, size)
        if not (size <= ld and pos <= ld - size):
            raise ArgError(2, "data string too short")
        if opt in _INT_OPTS:
            raw = data[pos:pos + size]
            v = int.from_bytes(raw, "little" if f.little else "big")
            if opt.islower() and size and v & (1 << (8 * size - 1)):
                v -= 1 << (8 * size)
            if size > 8:
                # C keeps only the low 64 bits in a long.
                v &= (1 << 64) - 1
                if v & (1 << 63):
                    v -= 1 << 64
            res.append(float(v) if abs(v) >= 1 << 53 else v)
        elif opt == "x":
            pass
        elif opt == "f":
            res.append(struct.unpack("<f" if f.little else ">f", data[pos:pos + 4])[0])
        elif opt == "d":
            res.append(struct.unpack("<d" if f.little else ">d", data[pos:pos + 8])[0])
        elif opt == "c":
            if size == 0:
                if not res or not isinstance(res[-1], int | float):
                    raise LibError("format 'c0' needs a previous size")
                size = int(res.pop())
                if not (size <= ld and pos <= ld - size):
                    raise ArgError(2, "data string too short")
            res.append(data[pos:pos + size])
        elif opt == "s":
            e = data.find(b"\0", pos)
            if e < 0:
                raise LibError("unfinished string in data")
            size = e - pos + 1
            res.append(data[pos:e])
        else:
            f.control(opt)
        pos += size
    res.append(pos + 1)
    return ok(*res)


def size(*args: Any) -> Result:
    f = _Fmt(checkstring(args, 1))
    pos = 0
    while f.i < len(f.s):
        opt = f.s[f.i]
        f.i += 1
        sz = f.optsize(opt)
        pos += f.toalign(pos, opt, sz)
        if opt == "s":
            raise ArgError(1, "option 's' has no fixed size")
        if opt == "c" and sz == 0:
            raise ArgError(1, "option 'c0' has no fixed size")
        if not opt.isalnum():
            f.control(opt)
        pos += sz
    return ok(pos)


def functions() -> dict[bytes, LibFn]:
    return {b"pack": guarded(pack), b"unpack": guarded(unpack), b"size": guarded(size)}
