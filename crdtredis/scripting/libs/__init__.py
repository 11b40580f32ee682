"""The C libraries Redis links into its Lua (cjson, cmsgpack, struct, bit), in Python.

Each function takes the Lua arguments as lupa hands them over (numbers as int/float,
strings as bytes, tables as lupa tables) and returns its Lua results (a tuple for
several). Failures raise ArgError (luaL_argerror) or LibError (luaL_error); the engine
exposes every function to Lua as a C closure and turns those into Lua errors worded and
positioned exactly like the C libraries' (engine.LuaEngine._lib).
"""
from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import lupa.lua51 as lua51

Result = Any
LibFn = Callable[..., Result]


class ArgError(Exception):
    """luaL_argerror(L, narg, message)."""

    def __init__(self, narg: int, message: str) -> None:
        super().__init__(message)
        self.narg = narg
        self.message = message


class LibError(Exception):
    """luaL_error(L, message): raised at the caller's line."""


def ok(*values: Any) -> Any:
    """The Lua results: one value as it is, several as a tuple (lupa unpacks it)."""
    if len(values) == 1:
        return values[0]
    return values


def guarded(fn: LibFn) -> LibFn:
    """Library functions raise ArgError / LibError; the engine turns those into Lua
    errors worded and positioned like the C libraries' (engine.LuaEngine._lib)."""
    return fn


def typename(args: tuple[Any, ...], i: int) -> str:
    """lua_typename of argument i (1-based), "no value" past the end."""
    if i > len(args):
        return "no value"
    v = args[i - 1]
    if v is None:
        return "nil"
    t = type(v)
    if t is bool:
        return "boolean"
    if t is int or t is float:
        return "number"
    if t is bytes:
        return "string"
    lt = lua51.lua_type(v)
    return lt if lt is not None else "userdata"


_NUM = re.compile(rb"\s*([-+]?(?:\d+\.?\d*(?:[eE][-+]?\d+)?|\.\d+(?:[eE][-+]?\d+)?|inf(?:inity)?|nan))\s*\Z", re.I)
_HEX = re.compile(rb"\s*(0[xX][0-9a-fA-F]+)\s*\Z")


def str2number(s: bytes) -> float | None:
    """lua_tonumber of a string (luaO_str2d: strtod, or a 0x hex integer)."""
    m = _NUM.match(s)
    if m:
        return float(m.group(1))
    m = _HEX.match(s)
    if m:
        return float(int(m.group(1), 16) & 0xFFFFFFFFFFFFFFFF)
    return None


def tonumber(v: Any) -> float | None:
    t = type(v)
    if t is int or t is float:
        return float(v)
    if t is bytes:
        return str2number(v)
    return None


def checknumber(args: tuple[Any, ...], i: int) -> float:
    """luaL_checknumber."""
    v = args[i - 1] if i <= len(args) else None
    n = tonumber(v)
    if n is None:
        raise ArgError(i, f"number expected, got {typename(args, i)}")
    return n


def checkinteger(args: tuple[Any, ...], i: int) -> int:
    """luaL_checkinteger: the number truncated toward zero."""
    n = checknumber(args, i)
    if n != n or n in (float("inf"), float("-inf")):
        return -(1 << 63)
    return int(n)


def optinteger(args: tuple[Any, ...], i: int, default: int) -> int:
    if i > len(args) or args[i - 1] is None:
        return default
    return checkinteger(args, i)


def number_text(n: float) -> bytes:
    """lua_tostring of a number: LUAI_NUMFMT "%.14g"."""
    return b"%.14g" % n


def checkstring(args: tuple[Any, ...], i: int) -> bytes:
    """luaL_checklstring: a string, or a number as Lua prints it."""
    v: Any = args[i - 1] if i <= len(args) else None
    if isinstance(v, bytes):
        return v
    if isinstance(v, int | float) and not isinstance(v, bool):
        return number_text(float(v))
    raise ArgError(i, f"string expected, got {typename(args, i)}")
