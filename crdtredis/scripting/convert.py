"""Conversions between command replies and Lua values.

Redis to Lua (what redis.call returns; script_lua.c redisProtocolToLuaType_*): integer ->
number, bulk -> string, null -> false (RESP2) or nil (RESP3), status -> {ok=...}, error ->
{err=...}, array -> table; under redis.setresp(3) also map -> {map={...}}, set ->
{set={k=true}}, double -> {double=n}, boolean -> boolean, verbatim -> {verbatim_string=
{format=, string=}}. A RESP3-only type reaching a RESP2 script is converted the way Redis
writes it for a RESP2 client first (map -> flat array, double -> bulk string, ...).

Lua to Redis (a script's result) is done in Lua (sandbox.lua `convert`): walking tables
raw, as Redis does, with no Python round trip per element. This module turns what it
returns into a reply value.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..protocol.resp import format_double
from ..reply import NULL_ARRAY, ErrorReply, Map, SetReply, Status, Verbatim

if TYPE_CHECKING:
    from .engine import LuaEngine

# Tags of what the Python side of redis.call returns to sandbox.lua (check_call_result).
VALUE = 0
STATUS = 1
ERROR = 2

LLONG_MIN = -(1 << 63)


class ScriptError(ErrorReply):
    """An error reply whose error was already counted (INFO errorstats) when the command
    called from the script failed: Redis's ERR_REPLY_FLAG_NO_STATS_UPDATE. The node
    counts only exact ErrorReply instances, so this one is not counted twice."""

    __slots__ = ()


def reply_to_lua(engine: LuaEngine, reply: Any, resp3: bool) -> tuple[int, Any, bool]:
    """(tag, value, ignore-stats) for sandbox.lua's check_call_result."""
    t = reply.__class__
    if t is bytes:
        return VALUE, reply, False
    if t is int:
        return VALUE, reply, False
    if t is Status:
        return STATUS, bytes(reply), False
    if t is ErrorReply or isinstance(reply, ErrorReply):
        # Already counted by the node when the command failed.
        return ERROR, ("-" + reply.message).encode("utf-8", "surrogateescape"), True
    if reply is None or reply is NULL_ARRAY:
        return VALUE, (None if resp3 else False), False
    return VALUE, _value(engine, reply, resp3), False


def _value(engine: LuaEngine, x: Any, resp3: bool) -> Any:
    t = x.__class__
    if t is bytes or t is int:
        return x
    if t is list or t is tuple:
        return engine.table_from([_value(engine, v, resp3) for v in x])
    if x is None or x is NULL_ARRAY:
        return None if resp3 else False
    if t is Status:
        return engine.table_from({b"ok": bytes(x)})
    if isinstance(x, ErrorReply):
        return engine.error_table("-" + x.message)
    if t is bool:
        return x if resp3 else int(x)
    if t is float:
        if resp3:
            return engine.table_from({b"double": x})
        return format_double(x)
    if t is Map:
        if resp3:
            inner = engine.table_from({_key(engine, k, resp3): _value(engine, v, resp3) for k, v in x.items})
            return engine.table_from({b"map": inner})
        flat: list[Any] = []
        for k, v in x.items:
            flat.append(_value(engine, k, resp3))
            flat.append(_value(engine, v, resp3))
        return engine.table_from(flat)
    if t is SetReply:
        if resp3:
            return engine.table_from({b"set": engine.table_from({_key(engine, k, resp3): True for k in x.items})})
        return engine.table_from([_value(engine, v, resp3) for v in x.items])
    if t is Verbatim:
        if resp3:
            inner = engine.table_from({b"format": bytes(x.fmt[:3]), b"string": x.data})
            return engine.table_from({b"verbatim_string": inner})
        return x.data
    if isinstance(x, bytes):
        return bytes(x)
    if isinstance(x, int):
        return int(x)
    raise TypeError(f"cannot convert reply of type {t.__name__} for Lua")


def _key(engine: LuaEngine, k: Any, resp3: bool) -> Any:
    v = _value(engine, k, resp3)
    if v is None:
        # A nil key cannot be stored in a Lua table; Redis's lua_settable would fail too.
        return False
    return v


def number_reply(d: float) -> int:
    """(long long) of a Lua number, as C casts it on x86: truncation toward zero, and
    LLONG_MIN for NaN, infinities and values out of range."""
    if d != d or d >= 9223372036854775808.0 or d < -9223372036854775808.0:
        return LLONG_MIN
    return int(d)


def clean_line(s: bytes) -> bytes:
    """CR and LF become spaces (sdsmapchars in luaReplyToRedisReply)."""
    if b"\r" in s or b"\n" in s:
        return s.replace(b"\r", b" ").replace(b"\n", b" ")
    return s
