"""One Lua state running the sandbox (sandbox.lua): compile user code, call it, measure it.

Redis keeps two Lua states, one for EVAL scripts and one for function libraries; so does
a node (runner.py). Each is a `lupa.lua51.LuaRuntime` with a memory cap: an allocation
past it fails inside Lua ("not enough memory"), which ends the script with an error and
leaves the state usable, so runaway tables or strings never take the server down. Deep
recursion ends with Lua's own "stack overflow" error.

The Python callbacks the sandbox calls (redis.call, the hook, the libraries) are handed
to it once, at creation, in a table the sandbox keeps in locals; nothing Python is
reachable from user code, and attribute access on Python objects is refused anyway.
"""
from __future__ import annotations

import hashlib
from collections.abc import Callable
from importlib import resources
from typing import Any, Protocol

import lupa.lua51 as lua51

from .libs import bitlib, cjson, cmsgpack, structlib

LuaError = lua51.LuaError
LuaMemoryError = lua51.LuaMemoryError

# Redis 7.0.15 (REDIS_VERSION / REDIS_VERSION_NUM: 0x00MMmmpp).
REDIS_VERSION = b"7.0.15"
REDIS_VERSION_NUM = (7 << 16) | (0 << 8) | 15

# The Lua heap of one state. Redis has no cap (a script can exhaust the machine); a node
# caps each of its two states so that a script fails instead.
DEFAULT_MAX_MEMORY = 512 * 1024 * 1024

_SANDBOX = resources.files(__package__).joinpath("sandbox.lua").read_bytes()


class Host(Protocol):
    """What the sandbox calls back into (runner.Scripting implements it)."""

    def lua_call(self, *args: Any) -> Any: ...

    def lua_pcall(self, *args: Any) -> Any: ...


    def lua_acl_check(self, *args: Any) -> tuple[int, Any, bool]: ...

    def lua_setresp(self, resp: int) -> None: ...

    def lua_log(self, level: int, msg: bytes) -> None: ...

    def lua_hook(self) -> int: ...

    def lua_register(self, name: bytes, fn: Any, desc: bytes | None, flags: Any) -> tuple[int, bytes]: ...


class CallError(Exception):
    """redis.call's error: carries the Lua error table to raise (see sandbox.lua)."""

    def __init__(self, table: Any) -> None:
        super().__init__("redis.call error")
        self.table = table


def _unwrap(e: Any) -> Any:
    return e.table if isinstance(e, CallError) else None


def _deny_attributes(obj: Any, name: Any, is_setting: bool) -> Any:
    raise AttributeError("access to Python attributes is not allowed")


def sha1hex(data: bytes) -> bytes:
    return hashlib.sha1(data).hexdigest().encode()


class LuaEngine:
    """A sandboxed Lua state; `mode` is "eval" or "function" (sandbox.lua differs only in
    the globals a library sees while it loads, and redis.breakpoint/debug/replicate_commands)."""

    def __init__(self, mode: str, host: Host, max_memory: int = DEFAULT_MAX_MEMORY) -> None:
        self.mode = mode
        lua = lua51.LuaRuntime(
            encoding=None, register_eval=False, register_builtins=False,
            unpack_returned_tuples=True, max_memory=max_memory, attribute_filter=_deny_attributes,
        )
        self.lua = lua
        self.table_from: Callable[..., Any] = lua.table_from
        py = lua.table_from({
            b"call": host.lua_call,
            b"pcall": host.lua_pcall,
            b"unwrap": _unwrap,
            b"acl_check": host.lua_acl_check,
            b"setresp": host.lua_setresp,
            b"log": host.lua_log,
            b"hook": host.lua_hook,
            b"register": host.lua_register,
            b"sha1hex": sha1hex,
            b"version": REDIS_VERSION,
            b"version_num": REDIS_VERSION_NUM,
            b"cjson": lua.table_from(cjson.functions(lua)),
            b"cjson_null": cjson.NULL,
            b"cmsgpack": lua.table_from(cmsgpack.functions(lua)),
            b"struct": lua.table_from(structlib.functions()),
            b"bit": lua.table_from(bitlib.functions()),
        })
        api = lua.execute(_SANDBOX, mode.encode(), py, name="=sandbox")
        self._run_eval = api[b"run_eval"]
        self._run_function = api[b"run_function"]
        self._compile = api[b"compile"]
        self._gc_step = api[b"gc_step"]
        self._gc_full = api[b"gc_full"]
        self._load_library = api[b"load_library"] if mode == "function" else None
        self._memory = api[b"memory"]
        self.calls = 0
        # The bootstrap leaves garbage behind (its main chunk): start from the live size.
        self._gc_full()

    # ---- compiling ---------------------------------------------------------------------------
    def compile(self, code: bytes, chunkname: bytes) -> tuple[Any, str | None]:
        """(function, None) or (None, Lua's error message)."""
        try:
            r = self._compile(code, chunkname)
        except LuaMemoryError:
            return None, "not enough memory"
        if isinstance(r, tuple):
            return None, _text(r[1])
        return r, None

    def load_library(self, code: bytes) -> tuple[str, str] | None:
        """Run a library's code (its functions register through the host); None when it
        ran, else ("compile" | "run", message)."""
        assert self._load_library is not None
        try:
            r = self._load_library(code)
        except LuaMemoryError:
            return ("run", "ERR not enough memory")
        if r is None:
            return None
        return (_text(r[0]), _text(r[1]))

    # ---- running -----------------------------------------------------------------------------
    def run(self, fn: Any, caller_resp: int, hook: bool, nkeys: int, args: list[bytes]) -> tuple[Any, ...]:
        """Call a compiled EVAL script (eval mode) or a registered function (function mode).
        Returns the tuple sandbox.lua's `convert`/`raised` produce."""
        run = self._run_eval if self.mode == "eval" else self._run_function
        r = run(fn, caller_resp, hook, nkeys, *args)
        self.calls += 1
        if self.calls % 50 == 0:
            # Redis steps the collector every 50 calls rather than letting a full cycle
            # land inside one script (luaCallFunction, LUA_GC_CYCLE_PERIOD).
            self._gc_step(50)
        return r  # type: ignore[no-any-return]

    def error_table(self, msg: bytes | str) -> Any:
        """{err="CODE message"} as luaPushErrorBuff builds it from "-CODE message"."""
        if isinstance(msg, str):
            msg = msg.encode("utf-8", "surrogateescape")
        if msg.startswith(b"-"):
            code, sep, rest = msg[1:].partition(b" ")
            if not sep:
                code, rest = b"ERR", msg[1:]
        else:
            code, rest = b"ERR", msg
        return self.lua.table_from({b"err": code + b" " + rest.strip(b"\r\n")})

    # ---- memory ------------------------------------------------------------------------------
    def memory(self) -> int:
        """Bytes in use by this Lua state (INFO used_memory_lua)."""
        return int(self.lua.get_memory_used() or 0)

    def collect(self) -> None:
        self._gc_full()

    def is_table(self, v: Any) -> bool:
        return bool(lua51.lua_type(v) == "table")


def _text(v: Any) -> str:
    if isinstance(v, bytes):
        return v.decode("utf-8", "surrogateescape")
    return str(v)
