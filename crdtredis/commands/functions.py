"""FUNCTION (LOAD DELETE FLUSH LIST DUMP RESTORE STATS KILL HELP), FCALL and FCALL_RO.

Libraries are data: FUNCTION LOAD/DELETE/FLUSH/RESTORE validate here (the library
compiles, names do not collide with what this replica holds) and then emit effects of
crdt/functions.py, replicated and logged like any write; concurrent loads of one library
resolve by the later stamp (docs/semantics.md, "Functions"). FCALL runs a function like
EVAL runs a script: locally, its writes forming one op.
Error texts are Redis 7.0's (functions.c, function_lua.c).
"""
from __future__ import annotations

import time
from typing import TYPE_CHECKING

from .. import errors
from ..crdt.functions import FN_DELETE, FN_FLUSH, FN_LOAD
from ..crdt.numbers import parse_int
from ..glob import stringmatch
from ..reply import OK, ErrorReply, Map, Reply, SetReply, Status
from ..scripting.convert import ScriptError
from ..scripting.dump import PayloadError, build_payload, parse_payload, verify_payload
from ..scripting.functions import BAD_NAME, FunctionView, Library, parse_metadata
from ..scripting.runner import FLAG_NAMES, LOAD_TIMEOUT_MS, SLOW_EVAL, scripting_of, valid_name
from .helpers import help_reply
from .registry import command
from .scripting import NEGATIVE_KEYS, TOO_MANY_KEYS, numkeys_positions

if TYPE_CHECKING:
    from ..client import Client
    from ..node import Node

def view_of(node: Node) -> FunctionView:
    st = scripting_of(node)
    v = getattr(st, "function_view", None)
    if v is None:
        v = st.function_view = FunctionView(st)
    v.sync()
    return v


def _syntax(sub: bytes) -> ErrorReply:
    name = sub.decode("utf-8", "surrogateescape")[:128]
    return ErrorReply(f"ERR unknown subcommand or wrong number of arguments for '{name}'. Try FUNCTION HELP.")


# ---- FCALL -----------------------------------------------------------------------------------
def _fcall(node: Node, client: Client, argv: list[bytes], ro: bool) -> Reply:
    view = view_of(node)
    f = view.functions.get(argv[1].decode("utf-8", "surrogateescape").lower())
    if f is None:
        return ErrorReply("ERR Function not found")
    n = parse_int(argv[2])
    if n is None:
        return ErrorReply("ERR Bad number of keys provided")
    if n > len(argv) - 3:
        return ErrorReply(TOO_MANY_KEYS)
    if n < 0:
        return ErrorReply(NEGATIVE_KEYS)
    st = scripting_of(node)
    err = st.prepare(client, f.flags, ro)
    if err is not None:
        return err
    reply = st.run(st.function_engine, f.fn, client, f.name, False, f.flags, ro, n, argv, 3)
    if type(reply) is ScriptError:
        cmd = node.commands.get(argv[0].lower())
        if cmd is not None:
            cmd.errors += 1
    return reply


# FCALL function numkeys [key ...] [arg ...]
@command("fcall", -3, "noscript skip_monitor may_replicate no_mandatory_keys stale movablekeys",
         group="scripting", summary="Invoke a function", since="7.0.0", acl="slow scripting",
         getkeys=numkeys_positions)
def fcall_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    return _fcall(node, client, argv, False)


# FCALL_RO function numkeys [key ...] [arg ...]
@command("fcall_ro", -3, "noscript skip_monitor no_mandatory_keys stale readonly movablekeys",
         group="scripting", summary="Invoke a read-only function", since="7.0.0", acl="slow scripting",
         getkeys=numkeys_positions)
def fcall_ro_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    return _fcall(node, client, argv, True)


# ---- FUNCTION ----------------------------------------------------------------------------------
@command("function", -2, "", group="scripting", summary="A container for function commands", since="7.0.0")
def function_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    return ErrorReply(errors.unknown_subcommand(argv[1] if len(argv) > 1 else b"", "function"))


def _check_collisions(view: FunctionView, libs: list[Library], replacing: set[bytes]) -> str | None:
    """Function names of `libs` against the other libraries (libraryJoin)."""
    taken: dict[str, bytes] = {}
    for name, lib in view.libraries.items():
        if name in replacing:
            continue
        for f in lib.functions.values():
            taken[f.name.lower()] = name
    for lib in libs:
        for f in lib.functions.values():
            if f.name.lower() in taken:
                return f"ERR Function {f.name} already exists"
        for f in lib.functions.values():
            taken[f.name.lower()] = lib.name
    return None


# FUNCTION LOAD [REPLACE] function-code
@command("load", -3, "noscript write denyoom", group="scripting",
         summary="Create a function with the given arguments (name, code, description)", since="7.0.0",
         acl="write slow scripting", parent="function")
def function_load_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    replace = False
    pos = 2
    while pos < len(argv) - 1:
        arg = argv[pos]
        pos += 1
        if arg.lower() == b"replace":
            replace = True
            continue
        return ErrorReply(f"ERR Unknown option given: {arg.decode('utf-8', 'surrogateescape')}")
    if pos >= len(argv):
        return ErrorReply("ERR Function code is missing")
    code = argv[pos]
    view = view_of(node)
    r = _prepare_library(view, code, replace)
    if isinstance(r, ErrorReply):
        return r
    lib = r
    err = _check_collisions(view, [lib], {lib.name})
    if err is not None:
        return ErrorReply(err)
    view.remember(lib)
    node.emit((FN_LOAD, 0, lib.name, code))
    return lib.name


def _prepare_library(view: FunctionView, code: bytes, replace: bool) -> Library | ErrorReply:
    """functionsCreateWithLibraryCtx's checks, in its order."""
    md = parse_metadata(code)
    if isinstance(md, str):
        return ErrorReply("ERR " + md)
    engine, name, body = md
    if not valid_name(name.decode("utf-8", "surrogateescape")):
        return ErrorReply("ERR " + BAD_NAME)
    if engine.lower() != b"lua":
        return ErrorReply(f"ERR Engine '{engine.decode('utf-8', 'surrogateescape')}' not found")
    if name in view.libraries and not replace:
        return ErrorReply(f"ERR Library '{name.decode('utf-8', 'surrogateescape')}' already exists")
    lib = view.run_library(name, code, body, LOAD_TIMEOUT_MS)
    if isinstance(lib, str):
        return ErrorReply("ERR " + lib)
    return lib


# FUNCTION DELETE library-name
@command("delete", 3, "noscript write", group="scripting", summary="Delete a function by name",
         since="7.0.0", acl="write slow scripting", parent="function")
def function_delete_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    view = view_of(node)
    if argv[2] not in view.libraries:
        return ErrorReply("ERR Library not found")
    node.emit((FN_DELETE, 0, argv[2]))
    return OK


# FUNCTION FLUSH [ASYNC|SYNC]
@command("flush", -2, "noscript write", group="scripting", summary="Deleting all functions",
         since="7.0.0", acl="write slow scripting", parent="function")
def function_flush_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    if len(argv) > 3:
        return _syntax(argv[1])
    if len(argv) == 3 and argv[2].lower() not in (b"sync", b"async"):
        return ErrorReply("ERR FUNCTION FLUSH only supports SYNC|ASYNC option")
    if node.keyspace.functions.libs:
        node.emit((FN_FLUSH, 0, b""))
    return OK


# FUNCTION LIST [LIBRARYNAME library-name-pattern] [WITHCODE]
@command("list", -2, "noscript", group="scripting", summary="List information about all the functions",
         since="7.0.0", acl="slow scripting", parent="function")
def function_list_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    with_code = False
    pattern: bytes | None = None
    i = 2
    while i < len(argv):
        arg = argv[i]
        if not with_code and arg.lower() == b"withcode":
            with_code = True
            i += 1
            continue
        if pattern is None and arg.lower() == b"libraryname":
            if i >= len(argv) - 1:
                return ErrorReply("ERR library name argument was not given")
            pattern = argv[i + 1]
            i += 2
            continue
        return ErrorReply(f"ERR Unknown argument {arg.decode('utf-8', 'surrogateescape')}")
    out = []
    for name, lib in view_of(node).libraries.items():
        if pattern is not None and not stringmatch(pattern, name, nocase=True):
            continue
        fns = [Map([(b"name", f.name.encode()), (b"description", f.desc),
                    (b"flags", SetReply([Status(fl.encode()) for bit, fl in FLAG_NAMES if f.flags & bit]))])
               for f in lib.functions.values()]
        items: list[tuple[bytes, object]] = [(b"library_name", name), (b"engine", b"LUA"), (b"functions", fns)]
        if with_code:
            items.append((b"library_code", lib.code))
        out.append(Map(items))
    return out


# FUNCTION STATS
@command("stats", 2, "noscript allow_busy", group="scripting",
         summary="Return information about the function currently running (name, description, duration)",
         since="7.0.0", acl="slow scripting", parent="function")
def function_stats_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    st = scripting_of(node)
    ctx = st.ctx
    if ctx is not None and ctx.eval_mode:
        return ErrorReply(SLOW_EVAL)
    running: object = None
    if ctx is not None:
        running = Map([(b"name", ctx.funcname.encode()), (b"command", list(ctx.argv)),
                       (b"duration_ms", int((time.monotonic() - ctx.start) * 1000))])
    view = st.function_view if ctx is not None else view_of(node)
    nlib = len(view.libraries)
    nfun = sum(len(lib.functions) for lib in view.libraries.values())
    engines = Map([(b"LUA", Map([(b"libraries_count", nlib), (b"functions_count", nfun)]))])
    return Map([(b"running_script", running), (b"engines", engines)])


# FUNCTION KILL
@command("kill", 2, "noscript allow_busy", group="scripting", summary="Kill the function currently in execution.",
         since="7.0.0", acl="slow scripting", parent="function")
def function_kill_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    return scripting_of(node).kill(False)


# FUNCTION DUMP
@command("dump", 2, "noscript", group="scripting",
         summary="Dump all functions into a serialized binary payload", since="7.0.0", acl="slow scripting",
         parent="function")
def function_dump_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    return build_payload([lib.code for lib in view_of(node).libraries.values()])


# FUNCTION RESTORE serialized-value [FLUSH|APPEND|REPLACE]
@command("restore", -3, "noscript write denyoom", group="scripting",
         summary="Restore all the functions on the given payload", since="7.0.0", acl="write slow scripting",
         parent="function")
def function_restore_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    if len(argv) > 4:
        return _syntax(argv[1])
    policy = b"append"
    if len(argv) == 4:
        policy = argv[3].lower()
        if policy not in (b"append", b"replace", b"flush"):
            return ErrorReply("ERR Wrong restore policy given, value should be either FLUSH, APPEND or REPLACE.")
    data = argv[2]
    if not verify_payload(data):
        return ErrorReply("ERR DUMP payload version or checksum are wrong")
    try:
        codes = parse_payload(data)
    except PayloadError as e:
        return ErrorReply(f"ERR {e}")
    view = view_of(node)
    libs: list[Library] = []
    names: set[bytes] = set()
    for code in codes:
        r = _prepare_library(view, code, True)
        if isinstance(r, ErrorReply):
            return r
        if r.name in names:
            return ErrorReply(f"ERR Library '{r.name.decode('utf-8', 'surrogateescape')}' already exists")
        names.add(r.name)
        libs.append(r)
    if policy == b"flush":
        replacing = set(view.libraries)
    else:
        for lib in libs:
            if lib.name in view.libraries and policy == b"append":
                return ErrorReply(f"ERR Library {lib.name.decode('utf-8', 'surrogateescape')} already exists")
        replacing = names
    err = _check_collisions(view, libs, replacing)
    if err is not None:
        return ErrorReply(err)
    if policy == b"flush" and node.keyspace.functions.libs:
        node.emit((FN_FLUSH, 0, b""))
    for lib in libs:
        view.remember(lib)
        node.emit((FN_LOAD, 0, lib.name, lib.code))
    return OK


_FUNCTION_HELP = (
    "FUNCTION <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "LOAD [REPLACE] <FUNCTION CODE>",
    "    Create a new library with the given library name and code.",
    "DELETE <LIBRARY NAME>",
    "    Delete the given library.",
    "LIST [LIBRARYNAME PATTERN] [WITHCODE]",
    "    Return general information on all the libraries:",
    "    * Library name",
    "    * The engine used to run the Library",
    "    * Library description",
    "    * Functions list",
    "    * Library code (if WITHCODE is given)",
    "    It also possible to get only function that matches a pattern using LIBRARYNAME argument.",
    "STATS",
    "    Return information about the current function running:",
    "    * Function name",
    "    * Command used to run the function",
    "    * Duration in MS that the function is running",
    "    If no function is running, return nil",
    "    In addition, returns a list of available engines.",
    "KILL",
    "    Kill the current running function.",
    "FLUSH [ASYNC|SYNC]",
    "    Delete all the libraries.",
    "    When called without the optional mode argument, the behavior is determined by the",
    "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
    "    * ASYNC: Asynchronously flush the libraries.",
    "    * SYNC: Synchronously flush the libraries.",
    "DUMP",
    "    Return a serialized payload representing the current libraries, can be restored using FUNCTION "
    "RESTORE command",
    "RESTORE <PAYLOAD> [FLUSH|APPEND|REPLACE]",
    "    Restore the libraries represented by the given payload, it is possible to give a restore policy to",
    "    control how to handle existing libraries (default APPEND):",
    "    * FLUSH: delete all existing libraries.",
    "    * APPEND: appends the restored libraries to the existing libraries. On collision, abort.",
    "    * REPLACE: appends the restored libraries to the existing libraries, On collision, replace the old",
    "      libraries with the new libraries (notice that even on this option there is a chance of failure",
    "      in case of functions name collision with another library).",
    "HELP",
    "    Prints this help.",
)


# FUNCTION HELP
@command("help", 2, "loading stale", group="scripting",
         summary="Show helpful text about the different subcommands", since="7.0.0", acl="slow scripting",
         parent="function")
def function_help_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    return help_reply(_FUNCTION_HELP)
