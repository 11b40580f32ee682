"""A node's scripting state: the two Lua engines, the script cache, the run context and
the dispatch of redis.call (Redis's eval.c, script.c, script_lua.c luaRedisGenericCommand).

Rules (docs/semantics.md, "Scripts and functions"):

* A script runs at the replica that received it, on the event loop, start to end. Each
  command it calls goes through `Node.call`, the entry point MULTI/EXEC uses, with a
  script client whose `in_exec` is set: so every write joins the op of the EVAL/FCALL
  (or of the EXEC around it), and peers apply the script's effects all-or-nothing. They
  never run the script (effects replication), so non-deterministic scripts are fine.
* A script that fails midway keeps the writes it made before the error (that op
  closes normally), as in Redis.
* The EVAL script cache is local to the replica (SCRIPT LOAD is not replicated), as in
  Redis 7.0; function libraries are data (crdt/functions.py).
"""
from __future__ import annotations

import logging
import math
import time
from typing import TYPE_CHECKING, Any

from .. import errors
from ..client import Client
from ..reply import ErrorReply, RawReply, Reply, Status
from .busy import BusyServer
from .convert import ERROR, STATUS, VALUE, ScriptError, clean_line, number_reply, reply_to_lua
from .engine import CallError, LuaEngine, LuaError, LuaMemoryError, sha1hex
from .libs import ArgError, LibError, tonumber, typename

if TYPE_CHECKING:
    from ..node import Node

log = logging.getLogger("crdtredis.scripting")

# Script flags (script.c scripts_flags_def), plus EVAL's backwards-compatible mode.
NO_WRITES = 1
ALLOW_OOM = 2
ALLOW_STALE = 4
NO_CLUSTER = 8
ALLOW_CROSS_SLOT = 16
EVAL_COMPAT = 32
FLAG_NAMES = (
    (NO_WRITES, "no-writes"), (ALLOW_OOM, "allow-oom"), (ALLOW_STALE, "allow-stale"),
    (NO_CLUSTER, "no-cluster"), (ALLOW_CROSS_SLOT, "allow-cross-slot-keys"),
)

# FUNCTION LOAD's time limit for running a library's code (functions.c LOAD_TIMEOUT_MS).
LOAD_TIMEOUT_MS = 500

# How sandbox.lua tags a script's result (its `convert` and `raised`).
R_VALUE, R_STATUS, R_ERROR, R_RAW, R_RAISED, R_FAILED = range(6)

# Log levels of redis.log (LL_DEBUG .. LL_WARNING) as Python logging levels.
_LOG_LEVELS = (logging.DEBUG, logging.INFO, logging.INFO, logging.WARNING)


class Script:
    """An EVAL script in the cache (SHA1 of its body -> compiled function)."""

    __slots__ = ("sha", "body", "fn", "flags", "name")

    def __init__(self, sha: bytes, body: bytes, fn: Any, flags: int) -> None:
        self.sha = sha
        self.name = sha.decode()
        self.body = body
        self.fn = fn
        self.flags = flags


class RunCtx:
    """The script being run (Redis's scriptRunCtx)."""

    __slots__ = ("caller", "funcname", "eval_mode", "read_only", "allow_oom", "dirty", "killed",
                 "timedout", "start", "lua_resp", "argv", "shutdown", "oom")

    def __init__(self, caller: Client, funcname: str, eval_mode: bool, flags: int, ro: bool,
                 argv: list[bytes]) -> None:
        self.caller = caller
        self.funcname = funcname
        self.eval_mode = eval_mode
        compat = bool(flags & EVAL_COMPAT)
        self.read_only = ro or (not compat and bool(flags & NO_WRITES))
        self.allow_oom = not compat and bool(flags & ALLOW_OOM)
        self.dirty = False
        self.killed = False
        self.timedout = False
        self.start = time.monotonic()
        self.lua_resp = 2
        self.argv = argv
        self.shutdown = False
        self.oom = False


class Scripting:
    """Everything scripting a node has; `scripting_of(node)` creates it on first use."""

    def __init__(self, node: Node) -> None:
        self.node = node
        self.scripts: dict[bytes, Script] = {}
        self.scripts_body_bytes = 0
        self.client = Client(0, "", "")
        self.client.kind = "lua"
        self.client.in_exec = True  # every write joins the op of the EVAL / FCALL
        self.ctx: RunCtx | None = None
        self._eval: LuaEngine | None = None
        self._func: LuaEngine | None = None
        self.busy = BusyServer(node, self)
        # FUNCTION LOAD in progress: its deadline (monotonic seconds) and the functions
        # the library registered so far (name, Lua function, description, flags).
        self.load_deadline = 0.0
        self.registering: list[tuple[str, Any, bytes | None, int]] | None = None
        # Clients that asked for SCRIPT DEBUG YES|SYNC (by id).
        self.debug_clients: set[int] = set()
        # Commands by the exact name scripts call them with, for redis.call's fast path:
        # only commands without subcommands and allowed in scripts.
        self._fast: dict[bytes, Any] = {}
        for name, cmd in node.commands.items():
            if not cmd.subcommands and "noscript" not in cmd.flags and "may_replicate" not in cmd.flags:
                self._fast[name] = self._fast[name.upper()] = cmd
        self._threshold_text = ""
        self._threshold = 5000
        # math.random's state (redisLrand48), shared by EVAL scripts and functions.
        self.rand48 = 0x1234ABCD330E
        # The compiled view of the function libraries (functions.py), made on first use.
        self.function_view: Any = None

    def set_debug_mode(self, client: Client, on: bool) -> None:
        if on:
            self.debug_clients.add(client.id)
        else:
            self.debug_clients.discard(client.id)

    def debug_mode_for(self, client: Client) -> bool:
        return bool(self.debug_clients) and client.id in self.debug_clients

    # ---- engines -----------------------------------------------------------------------------
    @property
    def eval_engine(self) -> LuaEngine:
        if self._eval is None:
            self._eval = LuaEngine("eval", self)
        return self._eval

    @property
    def function_engine(self) -> LuaEngine:
        if self._func is None:
            self._func = LuaEngine("function", self)
        return self._func

    def start_engines(self) -> None:
        """Make both Lua states now. A served node does it at start, before
        used_memory_startup is measured, and SCRIPT FLUSH or an emptied function library
        makes its fresh state at once (as Redis's scriptingReset does): so INFO memory,
        which reports their size, is never what creates them. When it was, the first INFO
        grew the memory it had just reported by ~350 KB (two Lua states and their Python
        side), and a client that set maxmemory a little above that figure, as Redis's
        own tracking test does, had its next write refused."""
        self.eval_engine.memory()
        self.function_engine.memory()

    def eval_memory(self) -> int:
        return self.eval_engine.memory()

    def function_memory(self) -> int:
        return self.function_engine.memory()

    def flush_scripts(self) -> None:
        """SCRIPT FLUSH: drop the cache and start a fresh Lua state (frees its memory)."""
        self.scripts = {}
        self.scripts_body_bytes = 0
        self._eval = LuaEngine("eval", self)  # the old state goes: its memory with it

    def reset_function_engine(self) -> None:
        self._func = LuaEngine("function", self)

    # ---- the EVAL script cache ---------------------------------------------------------------
    def create_script(self, body: bytes, sha: bytes | None = None) -> Script | ErrorReply:
        """luaCreateFunction: compile and cache `body` (or find it cached)."""
        if sha is None:
            sha = sha1hex(body)
        s = self.scripts.get(sha)
        if s is not None:
            return s
        flags, shebang_len, err = extract_shebang_flags(body)
        if err is not None:
            return ErrorReply("ERR " + err)
        # A shebang line is skipped but its newline kept, so line numbers stay right.
        fn, msg = self.eval_engine.compile(body[shebang_len:], b"@user_script")
        if fn is None:
            return ErrorReply(f"ERR Error compiling script (new function): {msg}")
        s = Script(sha, body, fn, flags)
        self.scripts[sha] = s
        self.scripts_body_bytes += len(body) + 40
        return s

    # ---- running -----------------------------------------------------------------------------
    def prepare(self, client: Client, flags: int, ro: bool) -> ErrorReply | None:
        """scriptPrepareForRun's checks of the node's state against the script's flags."""
        if flags & EVAL_COMPAT:
            return None
        if not flags & NO_WRITES:
            node = self.node
            if node.persistence_error is not None:
                return ErrorReply(
                    "MISCONF Redis is configured to persist data to AOF, but it's currently unable to "
                    "persist to disk. Writable scripts are blocked. Use 'no-writes' flag for read only "
                    f"scripts. AOF error: {node.persistence_error}")
            if node.sync_error is not None:
                return ErrorReply(node.sync_error)
            if ro:
                return ErrorReply("ERR Can not execute a script with write flag using *_ro command.")
            if not enough_replicas(node):
                return ErrorReply(NOREPLICAS)
        if not flags & (ALLOW_OOM | NO_WRITES) and over_maxmemory(self.node):
            return ErrorReply("OOM allow-oom flag is not set on the script, can not run it when used memory > "
                              "'maxmemory'")
        return None

    def run(self, engine: LuaEngine, fn: Any, client: Client, funcname: str, eval_mode: bool, flags: int,
            ro: bool, nkeys: int, argv: list[bytes], args_at: int) -> Reply:
        if self.ctx is not None:
            # Scripts cannot call scripts (EVAL/FCALL are noscript); reaching here is a bug.
            return ErrorReply("ERR a script is already running")
        node = self.node
        ctx = RunCtx(client, funcname, eval_mode, flags, ro, argv)
        # Redis decides the OOM state once, before the script (pre_command_oom_state).
        ctx.oom = over_maxmemory(node)
        sc = self.client
        sc.db = client.db
        sc.resp = 2
        self.ctx = ctx
        # Time stands still for a script, as in Redis 7.0 (scriptTimeSnapshot): a key
        # does not expire between two of its commands.
        clock = node.clock
        now = clock()
        node.clock = lambda: now
        try:
            r = engine.run(fn, client.resp, self.busy_threshold() > 0, nkeys, argv[args_at:])
        except LuaMemoryError:
            r = (R_FAILED, b"not enough memory")
        except LuaError as e:
            r = (R_FAILED, str(e).encode("utf-8", "replace"))
        finally:
            node.clock = clock
            self.ctx = None
            if ctx.timedout:
                self.busy.leave()
        return self._result(r, ctx)

    def busy_threshold(self) -> int:
        """busy-reply-threshold in ms (parsed once per CONFIG SET, not once per script)."""
        text = self.node.runtime.get("busy-reply-threshold", "5000")
        if text != self._threshold_text:
            self._threshold_text = text
            self._threshold = _runtime_int(self.node, "busy-reply-threshold", 5000)
        return self._threshold

    def _result(self, r: Any, ctx: RunCtx) -> Reply:
        kind = r[0]
        if kind == R_VALUE:
            v = r[1]
            t = type(v)
            if t is bytes:
                return v  # type: ignore[no-any-return]
            if t is int:
                return v if -(1 << 63) <= v < (1 << 63) else number_reply(float(v))  # type: ignore[no-any-return]
            if t is float:
                return number_reply(v)
            if t is bool:
                if v:
                    return 1 if ctx.lua_resp == 2 or ctx.caller.resp == 2 else True
                if ctx.lua_resp == 2:
                    return None
                return False if ctx.caller.resp == 3 else 0
            return None
        if kind == R_STATUS:
            return Status(clean_line(r[1]))
        if kind == R_RAW:
            if r[2]:
                self._count_nested_errors(r[3])
            return RawReply(r[1])
        if kind == R_ERROR:
            msg = r[1].decode("utf-8", "surrogateescape")
            return ScriptError(msg) if r[2] else ErrorReply(msg)
        if kind == R_RAISED:
            msg = r[1].decode("utf-8", "surrogateescape") if r[1] is not None else "(null)"
            source, line = r[2], r[3]
            if source is not None and line is not None:
                msg += f" script: {ctx.funcname}, on {_text(source)}:{_text(line)}."
            return ScriptError(msg) if r[4] else ErrorReply(msg)
        # "failed": the error handler itself failed (out of memory, ...).
        text = _text(r[1])[:100]
        return ErrorReply(f"ERR Error running script {ctx.funcname}, {text}")

    def _count_nested_errors(self, prefixes: Any) -> None:
        counts = self.node.error_counts
        for _i, p in prefixes.items():
            code = _text(p).lstrip("-").split(" ", 1)[0]
            counts[code] = counts.get(code, 0) + 1

    # ---- callbacks from the sandbox ----------------------------------------------------------
    def lua_call(self, *args: Any) -> Any:
        """redis.call: the command's reply as a Lua value; errors raise (CallError)."""
        # The common case first: a known, plain command whose reply is a string or a number.
        fast = self._fast.get(args[0]) if args and args[0].__class__ is bytes else None
        ctx = self.ctx
        if fast is not None and ctx is not None and not (ctx.read_only and fast.write) \
                and not ctx.caller.restricted and (ctx.dirty or not fast.write or self._writable()):
            argv = _argv(args)
            n = len(argv) if argv is not None else 0
            arity = fast.arity
            if argv is not None and not ((arity > 0 and n != arity) or n < -arity) \
                    and not (ctx.oom and not ctx.allow_oom and not ctx.dirty and "denyoom" in fast.flags):
                if fast.write:
                    ctx.dirty = True
                sc = self.client
                sc.resp = ctx.lua_resp
                reply = self.node.call(fast, sc, argv)
                t = reply.__class__
                if t is bytes or t is int:
                    return reply
                tag, v, ignore = reply_to_lua(self.engine_for_ctx(), reply, ctx.lua_resp == 3)
                return self._lua_result(tag, v, ignore, True)
        tag, v, ignore = self.call_command(args)
        return self._lua_result(tag, v, ignore, True)

    def _writable(self) -> bool:
        """No refusal applies to a script's first write (persistence, sync, replicas)."""
        node = self.node
        return node.persistence_error is None and node.sync_error is None and enough_replicas(node)

    def _lua_result(self, tag: int, v: Any, ignore: bool, raise_error: bool) -> Any:
        if tag == VALUE:
            return v
        engine = self.engine_for_ctx()
        if tag == STATUS:
            return engine.table_from({b"ok": v})
        t = engine.error_table(v)
        if ignore:
            t[b"ignore_error_stats_update"] = True
        if raise_error:
            raise CallError(t)
        return t

    def lua_pcall(self, *args: Any) -> Any:
        """redis.pcall: like redis.call, errors returned as {err=...} tables."""
        tag, v, ignore = self.call_command(args)
        return self._lua_result(tag, v, ignore, False)

    def call_command(self, args: tuple[Any, ...]) -> tuple[int, Any, bool]:
        """Run one command as the script client (luaRedisGenericCommand + scriptCall)."""
        ctx = self.ctx
        if ctx is None:
            return ERROR, b"redis.call/pcall can only be called inside a script invocation", False
        if not args:
            return ERROR, b"Please specify at least one argument for this redis lib call", False
        argv = _argv(args)
        if argv is None:
            return ERROR, b"Lua redis lib command arguments must be strings or integers", False
        node = self.node
        cmd = node.commands.get(argv[0].lower())
        if cmd is not None and cmd.subcommands and len(argv) >= 2:
            cmd = cmd.subcommands.get(argv[1].lower())
        err = None
        if cmd is None:
            err = "Unknown Redis command called from script"
        else:
            arity = cmd.arity
            n = len(argv)
            if (arity > 0 and n != arity) or n < -arity:
                err = "Wrong number of args calling Redis command from script"
            elif "noscript" in cmd.flags:
                err = "This Redis command is not allowed from script"
            elif ctx.caller.restricted and (acl_err := node.acl.check_script(ctx.caller, cmd, argv)):
                err = acl_err
            elif ctx.read_only and (cmd.write or "may_replicate" in cmd.flags):
                err = "Write commands are not allowed from read-only scripts."
            elif cmd.write and not ctx.dirty and node.persistence_error is not None:
                err = "-" + errors.MISCONF_AOF + node.persistence_error
            elif cmd.write and not ctx.dirty and node.sync_error is not None:
                err = "-" + node.sync_error
            elif cmd.write and not ctx.dirty and not enough_replicas(node):
                err = "-" + NOREPLICAS
            elif ctx.oom and not ctx.allow_oom and not ctx.dirty and "denyoom" in cmd.flags:
                err = "-" + OOM
        if err is not None:
            # scriptCall's error path: counted as a rejected call and an error reply.
            if cmd is not None:
                name = cmd.fullname
                node.rejected_calls[name] = node.rejected_calls.get(name, 0) + 1
            code = err[1:].split(" ", 1)[0] if err.startswith("-") else "ERR"
            node.error_counts[code] = node.error_counts.get(code, 0) + 1
            return ERROR, err.encode("utf-8", "surrogateescape"), True
        assert cmd is not None
        if cmd.write:
            ctx.dirty = True
        sc = self.client
        sc.resp = ctx.lua_resp
        reply = node.call(cmd, sc, argv)
        if reply.__class__ is bytes:
            return VALUE, reply, False
        return reply_to_lua(self.engine_for_ctx(), reply, ctx.lua_resp == 3)

    def engine_for_ctx(self) -> LuaEngine:
        ctx = self.ctx
        if ctx is not None and not ctx.eval_mode:
            return self.function_engine
        return self.eval_engine

    def lua_acl_check(self, *args: Any) -> bool:
        """redis.acl_check_cmd: whether the caller's user may run this command (keys and
        channels included), without running it."""
        engine = self.engine_for_ctx()
        ctx = self.ctx
        if ctx is None:
            engine.raise_error("redis.acl_check_cmd can only be called inside a script invocation")
        if not args:
            engine.raise_error("Please specify at least one argument for this redis lib call")
        argv = _argv(args)
        if argv is None:
            engine.raise_error("Lua redis lib command arguments must be strings or integers")
        cmd = self.node.commands.get(argv[0].lower())
        if cmd is not None and cmd.subcommands and len(argv) >= 2:
            cmd = cmd.subcommands.get(argv[1].lower())
        if cmd is None:
            engine.raise_error("Invalid command passed to redis.acl_check_cmd()")
        assert ctx is not None and cmd is not None
        user = ctx.caller.user
        if user is None or not ctx.caller.restricted:
            return True
        from ..acl.manager import OK

        return bool(self.node.acl.check_user(user, cmd, argv)[0] == OK)

    def lua_random(self, *args: Any) -> float:
        """math.random on Redis's redisLrand48: one 48-bit LCG state per process (here
        per node), seeded only by math.randomseed, as Redis 7.0 does."""
        x = (0x5DEECE66D * self.rand48 + 0xB) & 0xFFFFFFFFFFFF
        self.rand48 = x
        r = ((x >> 17) % 0x7FFFFFFF) / 0x7FFFFFFF
        n = len(args)
        if n == 0:
            return r
        if n == 1:
            u = _checkint(args, 1)
            if u < 1:
                raise ArgError(1, "interval is empty")
            return float(math.floor(r * u) + 1)
        if n == 2:
            lo, hi = _checkint(args, 1), _checkint(args, 2)
            if lo > hi:
                raise ArgError(2, "interval is empty")
            return float(math.floor(r * (hi - lo + 1)) + lo)
        raise LibError("wrong number of arguments")

    def lua_randomseed(self, *args: Any) -> None:
        seed = _checkint(args, 1) & 0xFFFFFFFF
        self.rand48 = (seed << 16) | 0x330E

    def lua_setresp(self, resp: int) -> None:
        ctx = self.ctx
        if ctx is not None:
            ctx.lua_resp = int(resp)

    def lua_log(self, level: int, msg: bytes) -> None:
        verbosity = {"debug": 0, "verbose": 1, "notice": 2, "warning": 3}.get(
            self.node.runtime.get("loglevel", "notice"), 2)
        if int(level) < verbosity:
            return
        log.log(_LOG_LEVELS[int(level)], "%s", msg.decode("utf-8", "replace"))

    def lua_hook(self) -> int:
        """The count hook: 0 go on, 1 killed (SCRIPT/FUNCTION KILL, SHUTDOWN), 2 FUNCTION
        LOAD ran past its time limit. Past busy-reply-threshold it also serves the other
        clients (busy.py), as Redis's scriptInterrupt does."""
        ctx = self.ctx
        if ctx is None:
            if self.load_deadline and time.monotonic() > self.load_deadline:
                return 2
            return 0
        if ctx.killed:
            return 1
        if not ctx.timedout:
            elapsed = (time.monotonic() - ctx.start) * 1000
            if elapsed < self.busy_threshold():
                return 0
            log.warning(
                "Slow script detected: still in execution after %d milliseconds. You can try killing "
                "the script using the %s command. Script name is: %s.",
                int(elapsed), "SCRIPT KILL" if ctx.eval_mode else "FUNCTION KILL", ctx.funcname)
            ctx.timedout = True
            self.busy.enter(ctx)
        self.busy.poll()
        return 1 if ctx.killed else 0

    def lua_register(self, name: bytes, fn: Any, desc: bytes | None, flags: Any) -> tuple[int, bytes]:
        """redis.register_function while a library loads (function_lua.c luaRegisterFunction)."""
        reg = self.registering
        if reg is None:
            return 1, b"redis.register_function can only be called on FUNCTION LOAD command"
        fname = name.decode("utf-8", "surrogateescape")
        if not valid_name(fname):
            return 1, (b"Library names can only contain letters, numbers, or underscores(_) and must be "
                       b"at least one character long")
        if any(f[0] == fname for f in reg):
            return 1, b"Function already exists in the library"
        bits = 0
        if flags is not None:
            for _i, f in flags.items():
                name_l = _text(f).lower()
                for bit, fl in FLAG_NAMES:
                    if fl == name_l:
                        bits |= bit
                        break
                else:
                    return 1, b"unknown flag given"
        reg.append((fname, fn, desc, bits))
        return 0, b""

    # ---- SCRIPT KILL / FUNCTION KILL ------------------------------------------------------
    def kill(self, is_eval: bool) -> Reply:
        ctx = self.ctx
        if ctx is None:
            return ErrorReply("NOTBUSY No scripts in execution right now.")
        if ctx.dirty:
            return ErrorReply(
                "UNKILLABLE Sorry the script already executed write commands against the dataset. "
                "You can either wait the script termination or kill the server in a hard way using "
                "the SHUTDOWN NOSAVE command.")
        if is_eval and not ctx.eval_mode:
            return ErrorReply(SLOW_SCRIPT)
        if not is_eval and ctx.eval_mode:
            return ErrorReply(SLOW_EVAL)
        ctx.killed = True
        return Status(b"OK")


NOREPLICAS = "NOREPLICAS Not enough good replicas to write."
OOM = "OOM command not allowed when used memory > 'maxmemory'."


def over_maxmemory(node: Node) -> bool:
    """Redis's pre_command_oom_state as scripts see it: maxmemory is set and the eviction
    attempt before the command running the script could not get under it
    (commands/maxmemory.py)."""
    ev = getattr(node, "maxmem", None)
    return ev is not None and ev.maxmemory > 0 and bool(ev.oom)


def enough_replicas(node: Node) -> bool:
    """checkGoodReplicasStatus for scripts: with min-replicas-to-write set, enough peers
    reachable within min-replicas-max-lag seconds."""
    if node.runtime.get("min-replicas-to-write", "0") == "0":
        return True
    want = _runtime_int(node, "min-replicas-to-write", 0)
    lag = _runtime_int(node, "min-replicas-max-lag", 10)
    if want <= 0 or lag <= 0:
        return True
    repl = node.replication
    good = 0
    if repl is not None:
        now = time.time()
        good = sum(1 for p in repl.live_peers() if p.state == "up" and now - p.last_contact <= lag)
    return good >= want


SLOW_EVAL = "BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE."
SLOW_SCRIPT = "BUSY Redis is busy running a script. You can only call FUNCTION KILL or SHUTDOWN NOSAVE."


def scripting_of(node: Node) -> Scripting:
    s = node.scripting
    if s is None:
        s = node.scripting = Scripting(node)
    return s  # type: ignore[no-any-return]


def _argv(args: tuple[Any, ...]) -> list[bytes] | None:
    """luaArgsToRedisArgv: strings as they are, numbers as "%.17g"."""
    argv: list[bytes] = []
    for a in args:
        t = a.__class__
        if t is bytes:
            argv.append(a)
        elif t is int:
            argv.append(b"%d" % a if -(10**17) < a < 10**17 else b"%.17g" % float(a))
        elif t is float:
            argv.append(b"%.17g" % a)
        else:
            return None
    return argv


def _checkint(args: tuple[Any, ...], i: int) -> int:
    """luaL_checkint: a number (or numeric string), cast to int."""
    v = args[i - 1] if i <= len(args) else None
    n = tonumber(v)
    if n is None:
        raise ArgError(i, f"number expected, got {typename(args, i)}")
    if n != n or n in (float("inf"), float("-inf")):
        return -(1 << 31)
    return int(n)


def _runtime_int(node: Node, name: str, default: int) -> int:
    try:
        return int(node.runtime.get(name, default))
    except (TypeError, ValueError):
        return default


def _text(v: Any) -> str:
    if isinstance(v, bytes):
        return v.decode("utf-8", "surrogateescape")
    return str(v)


def valid_name(name: str) -> bool:
    """functionsVerifyName: [a-zA-Z0-9_]+."""
    return bool(name) and all(c.isascii() and (c.isalnum() or c == "_") for c in name)


def extract_shebang_flags(body: bytes) -> tuple[int, int, str | None]:
    """evalExtractShebangFlags: (flags, length of the shebang line, error)."""
    if not body.startswith(b"#!"):
        return EVAL_COMPAT, 0, None
    end = body.find(b"\n")
    nul = body.find(b"\0")
    if end < 0 or 0 <= nul < end:  # strchr: the C string ends at its first NUL
        return 0, 0, "Invalid script shebang"
    from ..protocol.reader import split_inline

    parts = split_inline(body[:end])
    if not parts:
        return 0, 0, "Invalid engine in script shebang"
    if parts[0] != b"#!lua":
        return 0, 0, f"Unexpected engine in script shebang: {_text(parts[0])}"
    flags = 0
    for p in parts[1:]:
        if p.startswith(b"flags="):
            for f in p[6:].split(b","):
                # sdssplitlen of an empty string gives no elements ("flags=" is no flags).
                if not f and p == b"flags=":
                    continue
                for bit, name in FLAG_NAMES:
                    if f == name.encode():
                        flags |= bit
                        break
                else:
                    return 0, 0, f"Unexpected flag in script shebang: {_text(f)}"
        else:
            return 0, 0, f"Unknown lua shebang option: {_text(p)}"
    return flags, end, None
