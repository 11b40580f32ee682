"""EVAL EVALSHA EVAL_RO EVALSHA_RO and SCRIPT (LOAD EXISTS FLUSH KILL DEBUG HELP).

Scripts run locally and synchronously (crdtredis/scripting/runner.py); the writes they
make through redis.call form one op with the EVAL, replicated as effects. The script cache
is local to this replica, as in Redis 7.0: SCRIPT LOAD and SCRIPT FLUSH are not
replicated, and EVALSHA of a script loaded at another replica answers NOSCRIPT.
Error texts are Redis 7.0's (eval.c, script.c), checked against a real redis-server in
tests/differential/test_diff_scripting.py.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from .. import errors
from ..crdt.numbers import parse_int
from ..reply import OK, ErrorReply, Reply
from ..scripting.convert import ScriptError
from ..scripting.engine import sha1hex
from ..scripting.runner import EVAL_COMPAT, Script, scripting_of
from .helpers import help_reply
from .registry import command

if TYPE_CHECKING:
    from ..client import Client
    from ..node import Node

NOSCRIPT = "NOSCRIPT No matching script. Please use EVAL."
TOO_MANY_KEYS = "ERR Number of keys can't be greater than number of args"
NEGATIVE_KEYS = "ERR Number of keys can't be negative"


def numkeys_positions(argv: list[bytes]) -> list[int]:
    """Keys of EVAL/EVALSHA/FCALL: `numkeys` at argv[2], the keys after it."""
    n = parse_int(argv[2]) if len(argv) > 2 else None
    if n is None or n < 0 or n > len(argv) - 3:
        return []
    return list(range(3, 3 + n))


def parse_numkeys(argv: list[bytes]) -> int | ErrorReply:
    n = parse_int(argv[2])
    if n is None:
        return ErrorReply(errors.NOT_INTEGER)
    if n > len(argv) - 3:
        return ErrorReply(TOO_MANY_KEYS)
    if n < 0:
        return ErrorReply(NEGATIVE_KEYS)
    return n


def _eval(node: Node, client: Client, argv: list[bytes], evalsha: bool, ro: bool) -> Reply:
    st = scripting_of(node)
    if evalsha and len(argv[1]) != 40:
        return ErrorReply(NOSCRIPT)
    if st.debug_mode_for(client):
        # No Lua debugger here: EVAL answers as Redis does when it cannot start a
        # debugging session (ldbStartSession's fork failure).
        if evalsha:
            return ErrorReply("ERR Please use EVAL instead of EVALSHA for debugging")
        return ErrorReply("ERR Fork() failed: can't run EVAL in debugging mode: Operation not supported")
    nkeys = parse_numkeys(argv)
    if isinstance(nkeys, ErrorReply):
        return nkeys
    script: Script | ErrorReply | None
    if evalsha:
        script = st.scripts.get(argv[1].lower())
        if script is None:
            return ErrorReply(NOSCRIPT)
    else:
        script = st.create_script(argv[1])
        if isinstance(script, ErrorReply):
            return script
    err = st.prepare(client, script.flags, ro)
    if err is not None:
        return err
    reply = st.run(st.eval_engine, script.fn, client, script.name, True, script.flags, ro, nkeys, argv, 3)
    if type(reply) is ScriptError:
        # Not counted as an error reply again, but still a failed call (commandstats).
        cmd = node.commands.get(argv[0].lower())
        if cmd is not None:
            cmd.errors += 1
    return reply


# EVAL script numkeys [key ...] [arg ...]
@command("eval", -3, "noscript skip_monitor may_replicate no_mandatory_keys stale movablekeys",
         group="scripting", summary="Execute a Lua script server side", since="2.6.0", acl="slow scripting",
         getkeys=numkeys_positions)
def eval_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    return _eval(node, client, argv, False, False)


# EVALSHA sha1 numkeys [key ...] [arg ...]
@command("evalsha", -3, "noscript skip_monitor may_replicate no_mandatory_keys stale movablekeys",
         group="scripting", summary="Execute a Lua script server side", since="2.6.0", acl="slow scripting",
         getkeys=numkeys_positions)
def evalsha_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    return _eval(node, client, argv, True, False)


# EVAL_RO script numkeys [key ...] [arg ...]
@command("eval_ro", -3, "noscript skip_monitor no_mandatory_keys stale readonly movablekeys",
         group="scripting", summary="Execute a read-only Lua script server side", since="7.0.0",
         acl="slow scripting", getkeys=numkeys_positions)
def eval_ro_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    return _eval(node, client, argv, False, True)


# EVALSHA_RO sha1 numkeys [key ...] [arg ...]
@command("evalsha_ro", -3, "noscript skip_monitor no_mandatory_keys stale readonly movablekeys",
         group="scripting", summary="Execute a read-only Lua script server side", since="7.0.0",
         acl="slow scripting", getkeys=numkeys_positions)
def evalsha_ro_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    return _eval(node, client, argv, True, True)


# ---- SCRIPT -----------------------------------------------------------------------------------
@command("script", -2, "", group="scripting", summary="A container for Lua scripts management commands",
         since="2.6.0")
def script_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    return ErrorReply(errors.unknown_subcommand(argv[1] if len(argv) > 1 else b"", "script"))


# SCRIPT LOAD script
@command("load", 3, "noscript stale", group="scripting", summary="Load the specified Lua script into the script cache.",
         since="2.6.0", acl="slow scripting", parent="script")
def script_load_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    s = scripting_of(node).create_script(argv[2])
    if isinstance(s, ErrorReply):
        return s
    return s.sha


# SCRIPT EXISTS sha1 [sha1 ...]
@command("exists", -3, "noscript", group="scripting",
         summary="Check existence of scripts in the script cache.", since="2.6.0", acl="slow scripting",
         parent="script")
def script_exists_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    scripts = scripting_of(node).scripts
    # Redis's script dict compares SHAs case-insensitively.
    return [1 if a.lower() in scripts else 0 for a in argv[2:]]


# SCRIPT FLUSH [ASYNC|SYNC]
@command("flush", -2, "noscript", group="scripting", summary="Remove all the scripts from the script cache.",
         since="2.6.0", acl="slow scripting", parent="script")
def script_flush_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    if len(argv) > 3 or (len(argv) == 3 and argv[2].lower() not in (b"sync", b"async")):
        return ErrorReply("ERR SCRIPT FLUSH only support SYNC|ASYNC option")
    # ASYNC and SYNC end the same way here: the old Lua state is dropped at once.
    scripting_of(node).flush_scripts()
    return OK


# SCRIPT KILL
@command("kill", 2, "noscript allow_busy", group="scripting", summary="Kill the script currently in execution.",
         since="2.6.0", acl="slow scripting", parent="script")
def script_kill_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    return scripting_of(node).kill(True)


# SCRIPT DEBUG YES|SYNC|NO
@command("debug", 3, "noscript", group="scripting", summary="Set the debug mode for executed scripts.",
         since="3.2.0", acl="slow scripting", parent="script")
def script_debug_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    mode = argv[2].lower()
    if mode not in (b"yes", b"sync", b"no"):
        return ErrorReply("ERR Use SCRIPT DEBUG YES/SYNC/NO")
    scripting_of(node).set_debug_mode(client, mode != b"no")
    return OK


_SCRIPT_HELP = (
    "SCRIPT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "DEBUG (YES|SYNC|NO)",
    "    Set the debug mode for subsequent scripts executed.",
    "EXISTS <sha1> [<sha1> ...]",
    "    Return information about the existence of the scripts in the script cache.",
    "FLUSH [ASYNC|SYNC]",
    "    Flush the Lua scripts cache. Very dangerous on replicas.",
    "    When called without the optional mode argument, the behavior is determined by the",
    "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
    "    * ASYNC: Asynchronously flush the scripts cache.",
    "    * SYNC: Synchronously flush the scripts cache.",
    "KILL",
    "    Kill the currently executing Lua script.",
    "LOAD <script>",
    "    Load a script into the scripts cache without executing it.",
    "HELP",
    "    Prints this help.",
)


# SCRIPT HELP
@command("help", 2, "loading stale", group="scripting",
         summary="Show helpful text about the different subcommands", since="5.0.0", acl="slow scripting",
         parent="script")
def script_help_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    return help_reply(_SCRIPT_HELP)


__all__ = ["EVAL_COMPAT", "NOSCRIPT", "numkeys_positions", "parse_numkeys", "sha1hex"]


def _info_memory(node: Node) -> list[tuple[str, object]]:
    """INFO memory's scripting fields, as Redis 7.0 names them."""
    from ..info import bytes_to_human
    from .functions import view_of

    st = scripting_of(node)
    # The libraries as they are now: a FUNCTION LOAD, or a peer's, shows at once (as in
    # Redis), not at the next function command. Synced before the Lua memory is read.
    view = view_of(node)
    vm_eval = st.eval_memory()
    vm_functions = st.function_memory()
    scripts = st.scripts_body_bytes
    nfun = len(view.functions)
    functions_mem = sum(len(lib.code) for lib in view.libraries.values())
    return [
        ("used_memory_lua", vm_eval),
        ("used_memory_vm_eval", vm_eval),
        ("used_memory_lua_human", bytes_to_human(vm_eval)),
        ("used_memory_scripts_eval", scripts),
        ("number_of_cached_scripts", len(st.scripts)),
        ("number_of_functions", nfun),
        ("used_memory_vm_functions", vm_functions),
        ("used_memory_vm_total", vm_eval + vm_functions),
        ("used_memory_vm_total_human", bytes_to_human(vm_eval + vm_functions)),
        ("used_memory_functions", functions_mem),
        ("used_memory_scripts", scripts + functions_mem),
        ("used_memory_scripts_human", bytes_to_human(scripts + functions_mem)),
    ]


def _register_info() -> None:
    from ..info import register_info_provider

    register_info_provider("memory", _info_memory)


_register_info()
