"""COMMAND and its subcommands (COUNT INFO DOCS LIST GETKEYS GETKEYSANDFLAGS HELP): the command
table as Redis 7.0 describes it (flags, ACL categories, key specs, docs), and the helpers
that build those shapes (`command_info`, `command_docs`, `lookup_by_fullname`, ...).

Replies follow Redis 7.0.15, checked against a real server (tests/test_cmd_server.py).
"""
from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from .. import errors, info
from ..cmdtable import Command
from ..glob import stringmatch
from ..reply import ErrorReply, Map, Reply, SetReply, Status
from .helpers import help_reply
from .registry import COMMANDS, command

if TYPE_CHECKING:
    from ..client import Client
    from ..node import Node


# ======================================================================================
# COMMAND
# ======================================================================================

# Redis addReplyFlagsForCommand order; flags it hides (may_replicate, sentinel...) are dropped.
_FLAG_ORDER = (
    "write", "readonly", "denyoom", "module", "admin", "pubsub", "noscript", "blocking", "loading",
    "stale", "skip_monitor", "skip_slowlog", "asking", "fast", "no_auth", "no_mandatory_keys",
    "no_async_loading", "no_multi", "movablekeys", "allow_busy",
)
# Redis ACLCommandCategories order.
_ACL_ORDER = (
    "keyspace", "read", "write", "set", "sortedset", "list", "hash", "string", "bitmap",
    "hyperloglog", "geo", "stream", "pubsub", "admin", "fast", "slow", "blocking", "dangerous",
    "connection", "transaction", "scripting",
)
_ACL_RANK = {c: i for i, c in enumerate(_ACL_ORDER)}


def command_flags(cmd: Command) -> list[str]:
    present = set(cmd.flags)
    if cmd.getkeys is not None:
        present.add("movablekeys")
    return [f for f in _FLAG_ORDER if f in present]


def acl_categories(cmd: Command) -> list[str]:
    """Declared categories plus the implicit ones (Redis setImplicitACLCategories)."""
    cats = {a.lstrip("@") for a in cmd.acl}
    flags = set(cmd.flags)
    if "write" in flags:
        cats.add("write")
    if "readonly" in flags and "scripting" not in cats:
        cats.add("read")
    if "admin" in flags:
        cats.update(("admin", "dangerous"))
    if "pubsub" in flags:
        cats.add("pubsub")
    if "fast" in flags:
        cats.add("fast")
    if "blocking" in flags:
        cats.add("blocking")
    if "fast" not in cats:
        cats.add("slow")
    return sorted(cats, key=lambda c: (_ACL_RANK.get(c, len(_ACL_RANK)), c))


def _has_keys(cmd: Command) -> bool:
    return cmd.first_key > 0 or cmd.getkeys is not None


def _key_flags(cmd: Command) -> list[bytes]:
    if "write" in cmd.flags:
        return [b"RW", b"update"]
    return [b"RO", b"access"]


def _key_specs(cmd: Command) -> list[Any]:
    if not _has_keys(cmd):
        return []
    unknown = Map([(b"type", b"unknown"), (b"spec", Map([]))])
    if cmd.first_key > 0:
        begin = Map([(b"type", b"index"), (b"spec", Map([(b"index", cmd.first_key)]))])
    else:
        begin = unknown
    if cmd.getkeys is not None:
        find = unknown
    else:
        last = cmd.last_key - cmd.first_key if cmd.last_key >= 0 else cmd.last_key
        find = Map([
            (b"type", b"range"),
            (b"spec", Map([(b"lastkey", last), (b"keystep", cmd.step or 1), (b"limit", 0)])),
        ])
    return [Map([
        (b"flags", SetReply([Status(f) for f in _key_flags(cmd)])),
        (b"begin_search", begin),
        (b"find_keys", find),
    ])]


def command_info(cmd: Command) -> list[Any]:
    """One COMMAND INFO entry, Redis 7.0 shape (10 fields)."""
    return [
        cmd.fullname.encode(),
        cmd.arity,
        SetReply([Status(f.encode()) for f in command_flags(cmd)]),
        cmd.first_key,
        cmd.last_key,
        cmd.step,
        SetReply([Status(b"@" + c.encode()) for c in acl_categories(cmd)]),
        SetReply([]),
        SetReply(_key_specs(cmd)),
        SetReply([command_info(s) for s in cmd.subcommands.values()]),
    ]


def command_docs(cmd: Command) -> Map:
    # Fields we have no data for (complexity, arguments, history) are left out, as
    # Redis does for commands that lack them.
    items: list[tuple[Any, Any]] = []
    if cmd.summary:
        items.append((b"summary", cmd.summary.encode()))
    if cmd.since:
        items.append((b"since", cmd.since.encode()))
    items.append((b"group", cmd.group.encode()))
    if cmd.subcommands:
        items.append((b"subcommands", Map([(s.fullname.encode(), command_docs(s)) for s in cmd.subcommands.values()])))
    return Map(items)


def lookup_by_fullname(name: bytes) -> Command | None:
    """"get" or "config|get", any case."""
    parts = name.lower().split(b"|")
    cmd = COMMANDS.get(parts[0])
    if cmd is None or len(parts) == 1:
        return cmd
    if len(parts) > 2:
        return None
    return cmd.subcommands.get(parts[1])


def _lookup_argv(args: list[bytes]) -> Command | None:
    """Redis lookupCommand: the subcommand when the command has them and one is given."""
    base = COMMANDS.get(args[0].lower())
    if base is None or len(args) == 1 or not base.subcommands:
        return base
    return base.subcommands.get(args[1].lower())


# COMMAND
@command("command", -1, "loading stale", group="server", summary="Get array of Redis command details",
         since="2.8.13", acl="connection")
def command_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    return [command_info(c) for c in COMMANDS.values()]


# COMMAND COUNT
@command("count", 2, "loading stale", group="server", summary="Get total number of Redis commands",
         since="2.8.13", acl="connection", parent="command")
def command_count_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    return len(COMMANDS)


# COMMAND INFO [command-name ...]
@command("info", -2, "loading stale", group="server",
         summary="Get array of specific Redis command details, or all when no argument is given",
         since="2.8.13", acl="connection", parent="command")
def command_info_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    if len(argv) == 2:
        return [command_info(c) for c in COMMANDS.values()]
    out: list[Any] = []
    for name in argv[2:]:
        cmd = lookup_by_fullname(name)
        out.append(command_info(cmd) if cmd is not None else None)
    return out


# COMMAND DOCS [command-name ...]
@command("docs", -2, "loading stale", group="server",
         summary="Get array of specific Redis command documentation", since="7.0.0",
         acl="connection", parent="command")
def command_docs_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    if len(argv) == 2:
        cmds: Iterable[Command] = COMMANDS.values()
    else:
        cmds = [c for c in (lookup_by_fullname(n) for n in argv[2:]) if c is not None]
    return Map([(c.fullname.encode(), command_docs(c)) for c in cmds])


# COMMAND LIST [FILTERBY MODULE name | ACLCAT category | PATTERN pattern]
@command("list", -2, "loading stale", group="server", summary="Get an array of Redis command names",
         since="7.0.0", acl="connection", parent="command")
def command_list_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    cmds = info.all_commands()
    if len(argv) == 2:
        return [c.fullname.encode() for c in cmds]
    if len(argv) != 5 or argv[2].lower() != b"filterby":
        return ErrorReply(errors.SYNTAX)
    kind, arg = argv[3].lower(), argv[4]
    if kind == b"module":
        return []
    if kind == b"aclcat":
        cat = arg.lower().decode("utf-8", "replace")
        return [c.fullname.encode() for c in cmds if cat in acl_categories(c)]
    if kind == b"pattern":
        return [c.fullname.encode() for c in cmds if stringmatch(arg, c.fullname.encode(), nocase=True)]
    return ErrorReply(errors.SYNTAX)


def _getkeys(argv: list[bytes]) -> ErrorReply | tuple[Command, list[int]]:
    args = argv[2:]
    cmd = _lookup_argv(args)
    if cmd is None:
        return ErrorReply(errors.GETKEYS_INVALID_COMMAND)
    if not _has_keys(cmd):
        return ErrorReply(errors.GETKEYS_NO_KEYS)
    n = len(args)
    if (cmd.arity > 0 and cmd.arity != n) or n < -cmd.arity:
        return ErrorReply(errors.GETKEYS_BAD_ARITY)
    try:
        pos = [p for p in cmd.key_positions(args) if 0 < p < n]
    except Exception:  # noqa: BLE001 - a getkeys function choking on bad input means "invalid"
        pos = []
    if not pos and "no_mandatory_keys" not in cmd.flags:
        return ErrorReply(errors.GETKEYS_BAD_ARGS)
    return cmd, pos


# COMMAND GETKEYS command [arg ...]
@command("getkeys", -4, "loading stale", group="server", summary="Extract keys given a full Redis command",
         since="2.8.13", acl="connection", parent="command")
def command_getkeys_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    r = _getkeys(argv)
    if isinstance(r, ErrorReply):
        return r
    args = argv[2:]
    return [args[p] for p in r[1]]


# COMMAND GETKEYSANDFLAGS command [arg ...]
@command("getkeysandflags", -4, "loading stale", group="server",
         summary="Extract keys and access flags given a full Redis command", since="7.0.0",
         acl="connection", parent="command")
def command_getkeysandflags_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    r = _getkeys(argv)
    if isinstance(r, ErrorReply):
        return r
    cmd, pos = r
    args = argv[2:]
    from ..acl.keyspecs import flag_names, keys_with_flags

    # Each key with the flags of the key spec that found it (Redis's getKeysResult).
    found = dict(keys_with_flags(cmd, args))
    out: list[Any] = []
    for p in pos:
        f = found.get(p)
        names = flag_names(f) if f is not None else _key_flags(cmd)
        out.append([args[p], SetReply([Status(n) for n in names])])
    return out


_COMMAND_HELP = (
    "COMMAND <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "(no subcommand)",
    "    Return details about all Redis commands.",
    "COUNT",
    "    Return the total number of commands in this Redis server.",
    "LIST",
    "    Return a list of all commands in this Redis server.",
    "INFO [<command-name> ...]",
    "    Return details about multiple Redis commands.",
    "    If no command names are given, documentation details for all",
    "    commands are returned.",
    "DOCS [<command-name> ...]",
    "    Return documentation details about multiple Redis commands.",
    "    If no command names are given, documentation details for all",
    "    commands are returned.",
    "GETKEYS <full-command>",
    "    Return the keys from a full Redis command.",
    "GETKEYSANDFLAGS <full-command>",
    "    Return the keys and the access flags from a full Redis command.",
    "HELP",
    "    Prints this help.",
)


# COMMAND HELP
@command("help", 2, "loading stale", group="server",
         summary="Show helpful text about the different subcommands", since="5.0.0",
         acl="connection", parent="command")
def command_help_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    return help_reply(_COMMAND_HELP)
