"""Lua CJSON 2.1.0 (`cjson`), as Redis links it (deps/lua/src/lua_cjson.c).

encode: tables whose keys are all positive integers are arrays (sparse ones beyond the
encode_sparse_array ratio are refused), other tables objects, numbers as "%.14g",
strings with lua_cjson's escapes ("/" included). decode: every number is a double, null
is cjson.null, objects and arrays become tables. The configuration functions keep their
values per Lua state, like the C library's upvalue.
"""
from __future__ import annotations

import json
import math
import sys
from contextlib import contextmanager
from typing import Any

import lupa.lua51 as lua51

from . import ArgError, LibError, Result, checkinteger, checkstring, guarded, ok, typename


class _Null:
    """cjson.null: a userdata for Lua, recognised here when it comes back."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "userdata: NULL"

    __str__ = __repr__


NULL = _Null()

_ESCAPES = {i: f"\\u{i:04x}" for i in range(32)}
_ESCAPES.update({8: "\\b", 9: "\\t", 10: "\\n", 12: "\\f", 13: "\\r", 34: '\\"', 47: "\\/", 92: "\\\\", 127: "\\u007f"})
_ESC_TABLE = dict(_ESCAPES)


@contextmanager
def _deep(depth: int) -> Any:
    """Room on the Python stack for `depth` nested levels (bounded by the max-depth
    settings, so the recursion is bounded too)."""
    old = sys.getrecursionlimit()
    need = depth * 2 + 200
    if need > old:
        sys.setrecursionlimit(need + old)
    try:
        yield
    finally:
        if need > old:
            sys.setrecursionlimit(old)


class _Config:
    def __init__(self) -> None:
        self.sparse_convert = False
        self.sparse_ratio = 2
        self.sparse_safe = 10
        self.encode_max_depth = 1000
        self.decode_max_depth = 1000
        self.encode_invalid_numbers = 0  # 0 off, 1 on, 2 null
        self.decode_invalid_numbers = True
        self.keep_buffer = True
        self.precision = 14


def _lua_type(v: Any) -> str:
    if v is None:
        return "nil"
    t = type(v)
    if t is bool:
        return "boolean"
    if t is int or t is float:
        return "number"
    if t is bytes:
        return "string"
    return lua51.lua_type(v) or "userdata"


class _Encoder:
    def __init__(self, cfg: _Config) -> None:
        self.cfg = cfg
        self.out: list[str] = []

    def fail(self, v: Any, reason: str) -> LibError:
        return LibError(f"Cannot serialise {_lua_type(v)}: {reason}")

    def number(self, v: float, as_key: bool = False) -> str:
        cfg = self.cfg
        d = float(v)
        if math.isinf(d) or math.isnan(d):
            if cfg.encode_invalid_numbers == 0:
                raise self.fail(v, "must not be NaN or Inf")
            if cfg.encode_invalid_numbers == 1:
                if math.isnan(d):
                    return "nan"
                return "inf" if d > 0 else "-inf"
            return "null"
        return f"{d:.{cfg.precision}g}"

    def string(self, s: bytes) -> str:
        text = s.decode("latin-1")
        return '"' + text.translate(_ESC_TABLE) + '"'

    def value(self, v: Any, depth: int) -> None:
        out = self.out
        t = type(v)
        if t is bytes:
            out.append(self.string(v))
        elif t is int or t is float:
            out.append(self.number(v))
        elif t is bool:
            out.append("true" if v else "false")
        elif v is None or v is NULL:
            out.append("null")
        elif lua51.lua_type(v) == "table":
            depth += 1
            if depth > self.cfg.encode_max_depth:
                raise LibError(f"Cannot serialise, excessive nesting ({depth})")
            items = list(v.items())
            n = self.array_length(v, items)
            if n > 0:
                by_index = {int(k): x for k, x in items}
                out.append("[")
                for i in range(1, n + 1):
                    if i > 1:
                        out.append(",")
                    self.value(by_index.get(i), depth)
                out.append("]")
            else:
                out.append("{")
                first = True
                for k, x in items:
                    if not first:
                        out.append(",")
                    first = False
                    kt = type(k)
                    if kt is int or kt is float:
                        out.append('"' + self.number(k, True) + '":')
                    elif kt is bytes:
                        out.append(self.string(k) + ":")
                    else:
                        raise self.fail(k, "table key must be a number or string")
                    self.value(x, depth)
                out.append("}")
        else:
            raise self.fail(v, "type not supported")

    def array_length(self, v: Any, items: list[tuple[Any, Any]]) -> int:
        cfg = self.cfg
        mx = 0
        count = 0
        for k, _x in items:
            kt = type(k)
            if (kt is int or kt is float) and k and k == math.floor(k) and k >= 1:
                mx = max(mx, int(k))
                count += 1
                continue
            return -1
        if cfg.sparse_ratio > 0 and mx > count * cfg.sparse_ratio and mx > cfg.sparse_safe:
            if not cfg.sparse_convert:
                raise self.fail(v, "excessively sparse array")
            return -1
        return mx


def _to_lua(lua: Any, v: Any, depth: int, max_depth: int) -> Any:
    t = type(v)
    if t is str:
        return v.encode("utf-8", "surrogateescape")
    if t is float or t is bool:
        return v
    if v is None:
        return NULL
    if t is list:
        depth += 1
        if depth > max_depth:
            raise LibError(f"Found too many nested data structures ({depth}) at character 1")
        return lua.table_from([_to_lua(lua, x, depth, max_depth) for x in v])
    if t is dict:
        depth += 1
        if depth > max_depth:
            raise LibError(f"Found too many nested data structures ({depth}) at character 1")
        return lua.table_from({k.encode("utf-8", "surrogateescape"): _to_lua(lua, x, depth, max_depth)
                               for k, x in v.items()})
    return v


def _bad_constant(name: str) -> float:
    raise ValueError(name)


def functions(lua: Any) -> dict[bytes, Any]:
    cfg = _Config()

    def _check_args(args: tuple[Any, ...], n: int) -> None:
        if len(args) > n:
            raise ArgError(n + 1, "found too many arguments")

    def _int_option(args: tuple[Any, ...], i: int, cur: int, lo: int, hi: int) -> int:
        if len(args) >= i and args[i - 1] is not None:
            v = checkinteger(args, i)
            if not lo <= v <= hi:
                raise ArgError(1, f"expected integer between {lo} and {hi}")
            return v
        return cur

    def _enum_option(args: tuple[Any, ...], i: int, cur: int, options: tuple[str, ...]) -> int:
        if len(args) >= i and args[i - 1] is not None:
            v = args[i - 1]
            if type(v) is bool:
                return int(v)
            s = checkstring(args, i).decode("latin-1")
            if s not in options:
                raise ArgError(i, f"invalid option '{s}'")
            return options.index(s)
        return cur

    def _enum_result(value: int, options: tuple[str, ...]) -> Any:
        if value in (0, 1):
            return bool(value)
        return options[value].encode()

    def encode(*args: Any) -> Result:
        if len(args) != 1:
            raise ArgError(1, "expected 1 argument")
        enc = _Encoder(cfg)
        with _deep(min(cfg.encode_max_depth, 100000)):
            enc.value(args[0], 0)
        return ok("".join(enc.out).encode("latin-1"))

    def decode(*args: Any) -> Result:
        if len(args) != 1:
            raise ArgError(1, "expected 1 argument")
        data = checkstring(args, 1)
        if len(data) >= 2 and (data[0] == 0 or data[1] == 0):
            raise LibError("JSON parser does not support UTF-16 or UTF-32")
        text = data.decode("utf-8", "surrogateescape")
        with _deep(min(cfg.decode_max_depth, 100000)):
            try:
                py = json.loads(
                    text, parse_int=float,
                    parse_constant=(float if cfg.decode_invalid_numbers else _bad_constant),
                )
            except RecursionError as e:
                raise LibError(f"Found too many nested data structures ({cfg.decode_max_depth + 1}) "
                               f"at character 1") from e
            except ValueError as e:
                pos = getattr(e, "pos", 0) + 1
                raise LibError(f"Expected value but found invalid token at character {pos}") from e
            return ok(_to_lua(lua, py, 0, cfg.decode_max_depth))

    def encode_sparse_array(*args: Any) -> Result:
        _check_args(args, 3)
        cfg.sparse_convert = bool(_enum_option(args, 1, int(cfg.sparse_convert), ("off", "on")))
        cfg.sparse_ratio = _int_option(args, 2, cfg.sparse_ratio, 0, 2**31 - 1)
        cfg.sparse_safe = _int_option(args, 3, cfg.sparse_safe, 0, 2**31 - 1)
        return ok(cfg.sparse_convert, cfg.sparse_ratio, cfg.sparse_safe)

    def encode_max_depth(*args: Any) -> Result:
        _check_args(args, 1)
        cfg.encode_max_depth = _int_option(args, 1, cfg.encode_max_depth, 1, 2**31 - 1)
        return ok(cfg.encode_max_depth)

    def decode_max_depth(*args: Any) -> Result:
        _check_args(args, 1)
        cfg.decode_max_depth = _int_option(args, 1, cfg.decode_max_depth, 1, 2**31 - 1)
        return ok(cfg.decode_max_depth)

    def encode_number_precision(*args: Any) -> Result:
        _check_args(args, 1)
        cfg.precision = _int_option(args, 1, cfg.precision, 1, 14)
        return ok(cfg.precision)

    def encode_keep_buffer(*args: Any) -> Result:
        _check_args(args, 1)
        cfg.keep_buffer = bool(_enum_option(args, 1, int(cfg.keep_buffer), ("off", "on")))
        return ok(cfg.keep_buffer)

    def encode_invalid_numbers(*args: Any) -> Result:
        _check_args(args, 1)
        opts = ("off", "on", "null")
        cfg.encode_invalid_numbers = _enum_option(args, 1, cfg.encode_invalid_numbers, opts)
        return ok(_enum_result(cfg.encode_invalid_numbers, opts))

    def decode_invalid_numbers(*args: Any) -> Result:
        _check_args(args, 1)
        cfg.decode_invalid_numbers = bool(_enum_option(args, 1, int(cfg.decode_invalid_numbers), ("off", "on")))
        return ok(cfg.decode_invalid_numbers)

    fns = (encode, decode, encode_sparse_array, encode_max_depth, decode_max_depth,
           encode_number_precision, encode_keep_buffer, encode_invalid_numbers, decode_invalid_numbers)
    table: dict[bytes, Any] = {f.__name__.encode(): guarded(f) for f in fns}
    table[b"_NAME"] = b"cjson"
    table[b"_VERSION"] = b"2.1.0"
    return table


__all__ = ["NULL", "functions", "typename"]
