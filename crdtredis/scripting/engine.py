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
from typing import Any, NoReturn, Protocol

import lupa.lua51 as lua51

from .libs import ArgError, LibError, bitlib, cjson, cmsgpack, number_text, structlib, tonumber

LuaError = lua51.LuaError
LuaMemoryError = lua51.LuaMemoryError

# Redis 7.0.15 (REDIS_VERSION / REDIS_VERSION_NUM: 0x00MMmmpp).
REDIS_VERSION = b"7.0.15"
REDIS_VERSION_NUM = (7 << 16) | (0 << 8) | 15

# The Lua heap of one state. Redis has no cap (a script can exhaust the machine); a node
# caps each of its two states so that a script fails instead.
DEFAULT_MAX_MEMORY = 512 * 1024 * 1024

_SANDBOX = resources.files(__package__).joinpath("sandbox.lua").read_bytes()
_SANDBOX_FUNCTIONS = resources.files(__package__).joinpath("sandbox_functions.lua").read_bytes()


class Host(Protocol):
    """What the sandbox calls back into (runner.Scripting implements it)."""

    def lua_call(self, *args: Any) -> Any: ...

    def lua_pcall(self, *args: Any) -> Any: ...


    def lua_acl_check(self, *args: Any) -> Any: ...

    def lua_random(self, *args: Any) -> Any: ...

    def lua_randomseed(self, *args: Any) -> Any: ...

    def lua_setresp(self, resp: int) -> None: ...

    def lua_log(self, level: int, msg: bytes) -> None: ...

    def lua_hook(self) -> int: ...

    def lua_register(self, name: bytes, fn: Any, desc: bytes | None, flags: Any) -> tuple[int, bytes]: ...


class CallError(Exception):
    """redis.call's error: carries the Lua error table to raise (see sandbox.lua)."""

    def __init__(self, table: Any) -> None:
        super().__init__("redis.call error")
        self.table = table


def _false(*args: Any) -> bool:
    return False


def _true(*args: Any) -> bool:
    return True


def _nothing(*args: Any) -> None:
    return None


def _c_int(d: float) -> int:
    """(int) of a double, as C casts it (truncation; out of range wraps like x86)."""
    if d != d or d in (float("inf"), float("-inf")):
        return -(1 << 31)
    i = int(d)
    if not -(1 << 31) <= i < (1 << 31):
        return -(1 << 31)
    return i


def _libs(fns: dict[bytes, Any], lib: Callable[[Callable[..., Any]], Callable[..., Any]]) -> dict[bytes, Any]:
    return {k: lib(v) if callable(v) else v for k, v in fns.items()}


def _unwrap(e: Any) -> Any:
    return e.table if isinstance(e, CallError) else None


def _deny_attributes(obj: Any, name: Any, is_setting: bool) -> Any:
    raise AttributeError("access to Python attributes is not allowed")


def sha1hex(data: bytes) -> bytes:
    return hashlib.sha1(data).hexdigest().encode()


class LuaEngine:
    """A sandboxed Lua state; `mode` is "eval" or "function" (sandbox.lua differs only in
    the globals a library sees while it loads, and redis.breakpoint/debug/replicate_commands)."""

    def __init__(self, mode: str, host: Host, max_memory: int | None = None) -> None:
        self.mode = mode
        if max_memory is None:
            max_memory = DEFAULT_MAX_MEMORY
        lua = lua51.LuaRuntime(
            encoding=None, register_eval=False, register_builtins=False,
            unpack_returned_tuples=True, max_memory=max_memory, attribute_filter=_deny_attributes,
        )
        self.lua = lua
        self.table_from: Callable[..., Any] = lua.table_from
        self.host = host
        lib = self._lib
        py = lua.table_from({
            b"call": host.lua_call,
            b"pcall": host.lua_pcall,
            b"unwrap": _unwrap,
            b"acl_check": host.lua_acl_check,
            b"setresp": self._setresp,
            b"log": self._log,
            b"hook": host.lua_hook,
            b"register": host.lua_register,
            b"sha1hex": self._sha1hex,
            b"error_reply": self._error_reply,
            b"status_reply": self._status_reply,
            b"set_repl": self._set_repl,
            b"breakpoint": _false,
            b"debug": _nothing,
            b"replicate_commands": _true,
            b"random": lib(host.lua_random),
            b"randomseed": lib(host.lua_randomseed),
            b"version": REDIS_VERSION,
            b"version_num": REDIS_VERSION_NUM,
            b"cjson": lua.table_from(_libs(cjson.functions(lua), lib)),
            b"cjson_null": cjson.NULL,
            b"cmsgpack": lua.table_from(_libs(cmsgpack.functions(lua), lib)),
            b"struct": lua.table_from(_libs(structlib.functions(), lib)),
            b"bit": lua.table_from(_libs(bitlib.functions(), lib)),
            b"functions_src": _SANDBOX_FUNCTIONS,
        })
        api = lua.execute(_SANDBOX, mode.encode(), py, name="=sandbox")
        self._run_eval = api[b"run_eval"]
        self._run_function = api[b"run_function"]
        self._compile = api[b"compile"]
        self._gc_step = api[b"gc_step"]
        self._gc_full = api[b"gc_full"]
        self._load_library = api[b"load_library"] if mode == "function" else None
        self._memory = api[b"memory"]
        self._set_lresp = api[b"set_lresp"]
        self._where = api[b"where"]
        self._argerror = api[b"argerror"]
        self.calls = 0
        # The bootstrap leaves garbage behind (its main chunk): start from the live size.
        self._gc_full()

    # ---- Python functions seen from Lua ------------------------------------------------
    def _lib(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        """A library function as Lua calls it: ArgError/LibError become the Lua errors the
        C libraries raise (luaL_argerror / luaL_error: message and caller's position)."""

        def call(*args: Any) -> Any:
            try:
                return fn(*args)
            except ArgError as e:
                raise CallError(self._argerror(e.narg, e.message.encode())) from None
            except LibError as e:
                raise CallError(self._where(str(e).encode())) from None
            except RecursionError:
                raise CallError(self._where(b"stack overflow")) from None

        return call

    def raise_error(self, msg: str) -> NoReturn:
        """luaPushError + luaError: raise {err="ERR msg"}."""
        raise CallError(self.error_table(msg))

    def _sha1hex(self, *args: Any) -> bytes:
        if len(args) != 1:
            self.raise_error("wrong number of arguments")
        s = args[0]
        if type(s) is int or type(s) is float:
            s = number_text(float(s))
        return sha1hex(s if type(s) is bytes else b"")

    def _error_reply(self, *args: Any) -> Any:
        if len(args) != 1 or type(args[0]) is not bytes:
            return self.error_table("wrong number or type of arguments")
        e = args[0]
        return self.error_table(e if e.startswith(b"-") else b"-" + e)

    def _status_reply(self, *args: Any) -> Any:
        if len(args) != 1 or type(args[0]) is not bytes:
            return self.error_table("wrong number or type of arguments")
        return self.table_from({b"ok": args[0]})

    def _set_repl(self, *args: Any) -> None:
        # Scripts are always replicated as their effects, in one op: the flags are
        # checked as Redis checks them and otherwise change nothing.
        if len(args) != 1:
            self.raise_error("redis.set_repl() requires two arguments.")
        flags = _c_int(tonumber(args[0]) or 0.0)
        if flags & ~3:
            self.raise_error("Invalid replication flags. Use REPL_AOF, REPL_REPLICA, REPL_ALL or REPL_NONE.")

    def _setresp(self, *args: Any) -> None:
        if len(args) != 1:
            self.raise_error("redis.setresp() requires one argument.")
        resp = _c_int(tonumber(args[0]) or 0.0)
        if resp not in (2, 3):
            self.raise_error("RESP version must be 2 or 3.")
        self._set_lresp(resp)
        self.host.lua_setresp(resp)

    def _log(self, *args: Any) -> None:
        if len(args) < 2:
            self.raise_error("redis.log() requires two arguments or more.")
        level = tonumber(args[0])
        if level is None:
            self.raise_error("First argument must be a number (log level).")
        lv = _c_int(level)
        if lv < 0 or lv > 3:
            self.raise_error("Invalid debug level.")
        parts = []
        for a in args[1:]:
            if type(a) is bytes:
                parts.append(a)
            elif type(a) is int or type(a) is float:
                parts.append(number_text(float(a)))
        self.host.lua_log(lv, b" ".join(parts))

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
        if len(args) <= 256:
            r = run(fn, caller_resp, hook, nkeys, *args)
        else:
            r = run(fn, caller_resp, hook, nkeys, self.table_from(args))
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
