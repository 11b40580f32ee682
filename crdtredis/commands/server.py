"""Connection and server commands: PING ECHO HELLO AUTH SELECT QUIT RESET, TIME DBSIZE INFO
SHUTDOWN, and the COMMAND, CONFIG and CLIENT containers (LASTSAVE lives in persistence.py).

None of these touch the keyspace's CRDT state: they read the node and change the session
(client.py). Replies and error texts follow Redis 7.0.15, checked against a real server
(tests/test_cmd_server.py); where we deviate, the handler's comment says why.

CONFIG parameters live in one table (`PARAMS`): each has a kind that parses and normalises
values like Redis's config.c, and a mode (mutable, immutable, protected). Values are kept
as strings in `node.runtime`, seeded by `default_runtime` when the node starts; parts of
the server that must react to a change register with `register_config_hook`.
"""
from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import secrets
import tempfile
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

import crdtredis

from .. import errors, info
from ..crdt.string_counter import parse_int
from ..glob import stringmatch
from ..reply import OK, PONG, Deferred, ErrorReply, Map, Reply, SetReply, Status, Verbatim
from .registry import COMMANDS, Command, command
from .transactions import discard_transaction

if TYPE_CHECKING:
    from ..client import Client
    from ..node import Node

INT_MIN, INT_MAX = -(1 << 31), (1 << 31) - 1
UINT_MAX = (1 << 32) - 1
LLONG_MAX = (1 << 63) - 1
ULLONG_MAX = (1 << 64) - 1

ResetHook = Callable[["Node", "Client"], None]
# Run by RESET after the built-in session reset (pub/sub unsubscribes, tracking...).
RESET_HOOKS: list[ResetHook] = []


def register_reset_hook(fn: ResetHook) -> None:
    if fn not in RESET_HOOKS:
        RESET_HOOKS.append(fn)


def _s(b: bytes) -> str:
    return b.decode("utf-8", "replace")


def _valid_name(b: bytes) -> bool:
    # Redis validateClientName: printable ASCII without space ('!'..'~').
    return all(33 <= ch <= 126 for ch in b)


# ======================================================================================
# Connection
# ======================================================================================

# PING [message]
@command("ping", -1, "fast", group="connection", summary="Ping the server", acl="connection")
def ping_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    if len(argv) > 2:
        return ErrorReply(errors.wrong_arity("ping"))
    return argv[1] if len(argv) == 2 else PONG


# ECHO message
@command("echo", 2, "loading stale fast", group="connection", summary="Echo the given string",
         acl="connection")
def echo_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    return argv[1]


def _auth_error(node: Node, user: bytes, password: bytes) -> str | None:
    """None when user/password authenticate as the only user, "default" (Redis without
    ACL files): with no requirepass the default user is "nopass" and takes any password."""
    if user != b"default":
        return errors.WRONGPASS
    if node.requirepass is None:
        return None
    if not secrets.compare_digest(password, node.requirepass.encode()):
        return errors.WRONGPASS
    return None


# HELLO [protover [AUTH username password] [SETNAME clientname]]
@command("hello", -1, "noscript loading stale fast no_auth allow_busy", group="connection",
         summary="Handshake with Redis", since="6.0.0", acl="connection")
def hello_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    ver = 0
    i = 1
    if len(argv) >= 2:
        v = parse_int(argv[1])
        if v is None:
            return ErrorReply(errors.HELLO_PROTO_NOT_INT)
        if v < 2 or v > 3:
            return ErrorReply(errors.NOPROTO)
        ver = v
        i = 2
    user: bytes | None = None
    password = b""
    name: bytes | None = None
    while i < len(argv):
        opt = argv[i].lower()
        more = len(argv) - 1 - i
        if opt == b"auth" and more >= 2:
            user, password = argv[i + 1], argv[i + 2]
            i += 3
        elif opt == b"setname" and more >= 1:
            name = argv[i + 1]
            if not _valid_name(name):
                return ErrorReply(errors.CLIENT_NAME_INVALID)
            i += 2
        else:
            return ErrorReply(errors.hello_syntax(argv[i]))
    if user is not None:
        err = _auth_error(node, user, password)
        if err is not None:
            return ErrorReply(err)
        client.authenticated = True
    if not client.authenticated:
        return ErrorReply(errors.HELLO_NOAUTH)
    if name is not None:
        client.name = name
    if ver:
        client.resp = ver
    return Map([
        (b"server", b"redis"),
        (b"version", crdtredis.REDIS_VERSION.encode()),
        (b"proto", client.resp),
        (b"id", client.id),
        (b"mode", b"standalone"),
        (b"role", b"master"),
        (b"modules", []),
    ])


# AUTH [username] password
@command("auth", -2, "noscript loading stale fast no_auth allow_busy", group="connection",
         summary="Authenticate to the server", acl="connection")
def auth_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    if len(argv) > 3:
        return ErrorReply(errors.SYNTAX)
    if len(argv) == 2:
        if node.requirepass is None:
            return ErrorReply(errors.AUTH_NOT_SET)
        user, password = b"default", argv[1]
    else:
        user, password = argv[1], argv[2]
    err = _auth_error(node, user, password)
    if err is not None:
        return ErrorReply(err)
    client.authenticated = True
    return OK


# SELECT index
@command("select", 2, "loading stale fast", group="connection",
         summary="Change the selected database for the current connection", acl="connection")
def select_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    v = parse_int(argv[1])
    if v is None:
        return ErrorReply(errors.NOT_INTEGER)
    if v < INT_MIN or v > INT_MAX:
        return ErrorReply(errors.INT_RANGE)
    if v < 0 or v >= len(node.keyspace.dbs):
        return ErrorReply(errors.DB_INDEX)
    client.db = v
    return OK


# QUIT  (Redis 7.0 accepts and ignores extra arguments)
@command("quit", -1, "noscript loading stale fast no_auth allow_busy", group="connection",
         summary="Close the connection", acl="connection")
def quit_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    client.closing = True
    return OK


# RESET
@command("reset", 1, "noscript loading stale fast no_auth allow_busy", group="connection",
         summary="Reset the connection", since="6.2.0", acl="connection")
def reset_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    # Redis clearClientConnectionState; lib-name/lib-ver survive, like there.
    discard_transaction(node, client)
    client.db = 0
    client.resp = 2
    client.name = b""
    client.authenticated = not node.requirepass
    for hook in RESET_HOOKS:
        hook(node, client)
    return Status(b"RESET")


# ======================================================================================
# Server
# ======================================================================================

# TIME
@command("time", 1, "loading stale fast", group="server", summary="Return the current server time",
         since="2.6.0")
def time_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    us = time.time_ns() // 1000
    return [str(us // 1_000_000).encode(), str(us % 1_000_000).encode()]


# DBSIZE
@command("dbsize", 1, "readonly fast", group="server",
         summary="Return the number of keys in the selected database", acl="keyspace")
def dbsize_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    # Like Redis, keys that expired but were not reclaimed yet still count.
    return len(node.keyspace.dbs[client.db].data)


# INFO [section [section ...]]
@command("info", -1, "loading stale", group="server",
         summary="Get information and statistics about the server", acl="dangerous")
def info_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    return Verbatim(info.render(node, argv[1:]))


def _no_reply() -> Reply:
    """A reply that never comes: the connection waits until the server closes it."""
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        # In-process use without an event loop: nobody waits for a reply.
        return None
    return Deferred(loop.create_future())


# SHUTDOWN [NOSAVE|SAVE] [NOW] [FORCE] [ABORT]
@command("shutdown", -1, "admin noscript loading stale no_multi allow_busy", group="server",
         summary="Synchronously save the dataset to disk and then shut down the server")
def shutdown_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    opts: set[bytes] = set()
    for a in argv[1:]:
        o = a.lower()
        if o not in (b"nosave", b"save", b"now", b"force", b"abort"):
            return ErrorReply(errors.SYNTAX)
        opts.add(o)
    if (b"abort" in opts and len(opts) > 1) or {b"save", b"nosave"} <= opts:
        return ErrorReply(errors.SYNTAX)
    if b"abort" in opts:
        # Our shutdown has no waiting phase (no replicas to catch up) to abort.
        return ErrorReply(errors.NO_SHUTDOWN_IN_PROGRESS)
    if node.shutdown_cb is None:
        return ErrorReply(errors.SHUTDOWN_FAILED)
    node.shutdown_cb(b"nosave" not in opts)
    # Redis exits without replying; clients see the connection close.
    return _no_reply()


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
    flags = _key_flags(cmd)
    return [[args[p], SetReply([Status(f) for f in flags])] for p in pos]


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


def _help(lines: Iterable[str]) -> Reply:
    return [Status(line.encode()) for line in lines]


# COMMAND HELP
@command("help", 2, "loading stale", group="server",
         summary="Show helpful text about the different subcommands", since="5.0.0",
         acl="connection", parent="command")
def command_help_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    return _help(_COMMAND_HELP)


# ======================================================================================
# CONFIG: the parameter table
# ======================================================================================

class ConfigInvalid(Exception):
    """A CONFIG SET value Redis would refuse; the message is Redis's reason text."""


Default = str | Callable[[Any], str]
ConfigHook = Callable[["Node", str], None]


class Param:
    """One CONFIG parameter. `kind` selects the parser; `mode` is "" (settable),
    "immutable" or "protected" (Redis's enable-protected-configs, off)."""

    __slots__ = ("name", "kind", "default", "lo", "hi", "choices", "mode", "alias")

    def __init__(
        self, name: str, kind: str, default: Default, lo: int = 0, hi: int = LLONG_MAX,
        choices: tuple[str, ...] = (), mode: str = "", alias: str = "",
    ) -> None:
        self.name = name
        self.kind = kind
        self.default = default
        self.lo = lo
        self.hi = hi
        self.choices = choices
        self.mode = mode
        self.alias = alias

    def initial(self, config: Any) -> str:
        return self.default(config) if callable(self.default) else self.default


PARAMS: dict[str, Param] = {}
# Lower-case name or alias -> parameter.
_BY_NAME: dict[str, Param] = {}
_HOOKS: dict[str, list[ConfigHook]] = {}


def register_config_param(p: Param) -> None:
    """Add a parameter (other modules may add the ones they own)."""
    PARAMS[p.name] = p
    _BY_NAME[p.name] = p
    if p.alias:
        _BY_NAME[p.alias] = p


def register_config_hook(name: str, fn: ConfigHook) -> None:
    """Call `fn(node, new_value)` after CONFIG SET changes parameter `name`."""
    hooks = _HOOKS.setdefault(name, [])
    if fn not in hooks:
        hooks.append(fn)


def default_runtime(config: Any) -> dict[str, str]:
    """Every parameter's starting value, from the node's Config and Redis's defaults."""
    return {p.name: p.initial(config) for p in PARAMS.values()}


def config_value(node: Node, name: str) -> str:
    p = _BY_NAME[name]
    v = node.runtime.get(p.name)
    return v if v is not None else p.initial(node.config)


def _cfg(attr: str, default: Any) -> Callable[[Any], str]:
    def get(config: Any) -> str:
        v = getattr(config, attr, default)
        return "" if v is None else str(v)
    return get


_POLICIES = ("volatile-lru", "volatile-lfu", "volatile-random", "volatile-ttl", "allkeys-lru",
             "allkeys-lfu", "allkeys-random", "noeviction")
_OBUF_DEFAULT = "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60"

for _p in (
    Param("bind", "str", _cfg("bind", "127.0.0.1"), mode="immutable"),
    # Rebinding at runtime is not supported, so port/bind are immutable here (not in Redis).
    Param("port", "int", _cfg("server_port", 6379), 0, 65535, mode="immutable"),
    Param("databases", "int", _cfg("databases", 16), 1, INT_MAX, mode="immutable"),
    Param("requirepass", "str", _cfg("requirepass", None)),
    Param("masterauth", "str", ""),
    Param("masteruser", "str", ""),
    Param("maxmemory", "mem", "0", 0, ULLONG_MAX),
    Param("maxmemory-policy", "enum", "noeviction", choices=_POLICIES),
    Param("maxmemory-samples", "int", "5", 1, INT_MAX),
    Param("maxmemory-eviction-tenacity", "int", "10", 0, 100),
    Param("maxmemory-clients", "mempct", "0", 0, LLONG_MAX),
    # The op log is the database (DESIGN §4): it cannot be switched off at runtime.
    Param("appendonly", "bool", "yes", mode="immutable"),
    Param("appendfsync", "enum", _cfg("appendfsync", "everysec"), choices=("everysec", "always", "no")),
    Param("appendfilename", "str", "appendonly.aof", mode="immutable"),
    Param("appenddirname", "str", "appendonlydir", mode="immutable"),
    Param("no-appendfsync-on-rewrite", "bool", "no"),
    Param("auto-aof-rewrite-percentage", "int", "100", 0, INT_MAX),
    Param("auto-aof-rewrite-min-size", "mem", "67108864", 0, LLONG_MAX),
    Param("aof-use-rdb-preamble", "bool", "yes"),
    Param("aof-load-truncated", "bool", "yes"),
    Param("aof-timestamp-enabled", "bool", "no"),
    Param("save", "save", ""),
    Param("dir", "str", lambda c: os.path.abspath(getattr(c, "data_dir", ".")), mode="protected"),
    Param("dbfilename", "str", "dump.rdb", mode="protected"),
    Param("rdbcompression", "bool", "yes"),
    Param("rdbchecksum", "bool", "yes"),
    Param("stop-writes-on-bgsave-error", "bool", "yes"),
    Param("hz", "hz", _cfg("hz", 10), 0, INT_MAX),
    Param("dynamic-hz", "bool", "yes"),
    Param("timeout", "int", "0", 0, INT_MAX),
    Param("tcp-keepalive", "int", "300", 0, INT_MAX),
    Param("tcp-backlog", "int", "511", 0, INT_MAX, mode="immutable"),
    Param("maxclients", "int", _cfg("maxclients", 10000), 1, UINT_MAX),
    Param("proto-max-bulk-len", "mem", _cfg("proto_max_bulk_len", 536870912), 1024 * 1024, LLONG_MAX),
    Param("client-query-buffer-limit", "mem", "1073741824", 1024 * 1024, LLONG_MAX),
    Param("client-output-buffer-limit", "obuf", _OBUF_DEFAULT),
    Param("loglevel", "enum", _cfg("loglevel", "notice"), choices=("debug", "verbose", "notice", "warning")),
    Param("logfile", "str", _cfg("logfile", ""), mode="immutable"),
    Param("daemonize", "bool", "no", mode="immutable"),
    Param("supervised", "enum", "no", choices=("upstart", "systemd", "auto", "no"), mode="immutable"),
    Param("pidfile", "str", "", mode="immutable"),
    Param("unixsocket", "str", "", mode="immutable"),
    Param("protected-mode", "bool", "yes"),
    Param("io-threads", "int", "1", 1, 128, mode="immutable"),
    Param("io-threads-do-reads", "bool", "no", mode="immutable"),
    Param("cluster-enabled", "bool", "no", mode="immutable"),
    Param("replicaof", "str", "", mode="immutable", alias="slaveof"),
    Param("replica-read-only", "bool", "yes", alias="slave-read-only"),
    Param("replica-serve-stale-data", "bool", "yes", alias="slave-serve-stale-data"),
    Param("replica-priority", "int", "100", 0, INT_MAX, alias="slave-priority"),
    Param("repl-backlog-size", "mem", "1048576", 1, LLONG_MAX),
    Param("repl-timeout", "int", "60", 1, INT_MAX),
    Param("repl-diskless-sync", "bool", "yes"),
    Param("repl-diskless-sync-delay", "int", "5", 0, INT_MAX),
    Param("min-replicas-to-write", "int", "0", 0, INT_MAX, alias="min-slaves-to-write"),
    Param("min-replicas-max-lag", "int", "10", 0, INT_MAX, alias="min-slaves-max-lag"),
    Param("notify-keyspace-events", "events", ""),
    Param("busy-reply-threshold", "int", "5000", 0, LLONG_MAX, alias="lua-time-limit"),
    Param("slowlog-log-slower-than", "int", "10000", -1, LLONG_MAX),
    Param("slowlog-max-len", "int", "128", 0, LLONG_MAX),
    Param("latency-monitor-threshold", "int", "0", 0, LLONG_MAX),
    Param("latency-tracking", "bool", "yes"),
    Param("latency-tracking-info-percentiles", "pctl", "50 99 99.9"),
    Param("hash-max-listpack-entries", "int", "512", 0, LLONG_MAX, alias="hash-max-ziplist-entries"),
    Param("hash-max-listpack-value", "int", "64", 0, LLONG_MAX, alias="hash-max-ziplist-value"),
    Param("list-max-listpack-size", "int", "-2", INT_MIN, INT_MAX, alias="list-max-ziplist-size"),
    Param("list-compress-depth", "int", "0", 0, INT_MAX),
    Param("set-max-intset-entries", "int", "512", 0, LLONG_MAX),
    Param("zset-max-listpack-entries", "int", "128", 0, LLONG_MAX, alias="zset-max-ziplist-entries"),
    Param("zset-max-listpack-value", "int", "64", 0, LLONG_MAX, alias="zset-max-ziplist-value"),
    Param("hll-sparse-max-bytes", "mem", "3000", 0, LLONG_MAX),
    Param("stream-node-max-bytes", "mem", "4096", 0, LLONG_MAX),
    Param("stream-node-max-entries", "int", "100", 0, LLONG_MAX),
    Param("activerehashing", "bool", "yes"),
    Param("activedefrag", "bool", "no"),
    Param("active-expire-effort", "int", "1", 1, 10),
    Param("lazyfree-lazy-eviction", "bool", "no"),
    Param("lazyfree-lazy-expire", "bool", "no"),
    Param("lazyfree-lazy-server-del", "bool", "no"),
    Param("lazyfree-lazy-user-del", "bool", "no"),
    Param("lazyfree-lazy-user-flush", "bool", "no"),
    Param("lfu-log-factor", "int", "10", 0, INT_MAX),
    Param("lfu-decay-time", "int", "1", 0, INT_MAX),
    Param("tracking-table-max-keys", "int", "1000000", 0, LLONG_MAX),
    Param("acllog-max-len", "int", "128", 0, LLONG_MAX),
    Param("enable-debug-command", "enum", "no", choices=("no", "yes", "local"), mode="immutable"),
    Param("enable-protected-configs", "enum", "no", choices=("no", "yes", "local"), mode="immutable"),
    Param("enable-module-command", "enum", "no", choices=("no", "yes", "local"), mode="immutable"),
    Param("shutdown-timeout", "int", "10", 0, INT_MAX),
    Param("oom-score-adj", "enum", "no", choices=("no", "yes", "relative", "absolute")),
):
    register_config_param(_p)


# ---- value parsers: each returns the normalised string GET will show -----------------------
def _range(p: Param, v: int) -> int:
    if v < p.lo or v > p.hi:
        raise ConfigInvalid(f"argument must be between {p.lo} and {p.hi} inclusive")
    return v


def _parse_int(p: Param, s: str) -> str:
    v = parse_int(s.encode())
    if v is None:
        raise ConfigInvalid("argument couldn't be parsed into an integer")
    return str(_range(p, v))


def memtoull(s: str) -> int | None:
    """Redis memtoull: digits with an optional b/k/kb/m/mb/g/gb unit (k = 1000, kb = 1024)."""
    m = re.fullmatch(r"(\d*)([a-zA-Z]*)", s)
    if m is None:
        return None
    mul = {"": 1, "b": 1, "k": 1000, "kb": 1024, "m": 1000**2, "mb": 1024**2, "g": 1000**3,
           "gb": 1024**3}.get(m.group(2).lower())
    if mul is None or len(m.group(1)) > 20:
        return None
    return int(m.group(1) or "0") * mul


def _parse_mem(p: Param, s: str) -> str:
    v = memtoull(s)
    if v is None:
        raise ConfigInvalid("argument must be a memory value")
    return str(_range(p, v))


def _parse_mempct(p: Param, s: str) -> str:
    if s.endswith("%"):
        v = parse_int(s[:-1].encode())
        if v is not None and v >= 0:
            return f"{v}%"
    else:
        m = memtoull(s)
        if m is not None:
            return str(_range(p, m))
    raise ConfigInvalid("argument must be a memory or percent value")


def _parse_bool(p: Param, s: str) -> str:
    low = s.lower()
    if low not in ("yes", "no"):
        raise ConfigInvalid("argument must be 'yes' or 'no'")
    return low


def _parse_enum(p: Param, s: str) -> str:
    low = s.lower()
    if low not in p.choices:
        raise ConfigInvalid("argument(s) must be one of the following: " + ", ".join(p.choices))
    return low


def _parse_str(p: Param, s: str) -> str:
    return s


def _parse_hz(p: Param, s: str) -> str:
    # Redis accepts any non-negative int and clamps it to 1..500 (CONFIG_MIN_HZ/MAX_HZ).
    return str(min(max(int(_parse_int(p, s)), 1), 500))


def _parse_save(p: Param, s: str) -> str:
    args = s.split()
    if len(args) % 2:
        raise ConfigInvalid("Invalid save parameters")
    vals: list[int] = []
    for j, a in enumerate(args):
        if not re.fullmatch(r"[+-]?\d+", a):
            raise ConfigInvalid("Invalid save parameters")
        v = int(a)
        if (j % 2 == 0 and v < 1) or (j % 2 == 1 and v < 0):
            raise ConfigInvalid("Invalid save parameters")
        vals.append(v)
    return " ".join(str(v) for v in vals)


_EVENT_ALL = "g$lshzxetd"


def _parse_events(p: Param, s: str) -> str:
    """Redis keyspaceEventsStringToFlags + keyspaceEventsFlagsToString."""
    flags: set[str] = set()
    for ch in s:
        if ch == "A":
            flags.update(_EVENT_ALL)
        elif ch in "g$lshzxeKEtmdn":
            flags.add(ch)
        else:
            raise ConfigInvalid("Invalid event class character. Use 'Ag$lshzxeKEtmdn'.")
    # Like Redis 7.0, "A" hides the other classes, "n" (not part of A) included.
    out = "A" if set(_EVENT_ALL) <= flags else "".join(c for c in "g$lshzxetdn" if c in flags)
    return out + "".join(c for c in "KEm" if c in flags)


_OBUF_CLASSES = {"normal": "normal", "slave": "slave", "replica": "slave", "pubsub": "pubsub"}


def _parse_obuf(p: Param, s: str, current: str = _OBUF_DEFAULT) -> str:
    args = s.split()
    if len(args) % 4:
        raise ConfigInvalid("Wrong number of arguments in buffer limit configuration.")
    cur = current.split()
    limits = {cur[i]: cur[i + 1:i + 4] for i in range(0, len(cur), 4)}
    for j in range(0, len(args), 4):
        cls = _OBUF_CLASSES.get(args[j].lower())
        if cls is None:
            raise ConfigInvalid("Invalid client class specified in buffer limit configuration.")
        hard, soft = memtoull(args[j + 1]), memtoull(args[j + 2])
        secs = parse_int(args[j + 3].encode())
        if hard is None or soft is None or secs is None or secs < 0:
            raise ConfigInvalid("Error in hard, soft or soft_seconds setting in buffer limit configuration.")
        limits[cls] = [str(hard), str(soft), str(secs)]
    return " ".join(f"{c} {' '.join(limits.get(c, ['0', '0', '0']))}" for c in ("normal", "slave", "pubsub"))


def _parse_pctl(p: Param, s: str) -> str:
    out: list[str] = []
    for a in s.split():
        try:
            v = float(a)
        except ValueError:
            raise ConfigInvalid("Invalid latency-tracking-info-percentiles parameters") from None
        if not 0.0 <= v <= 100.0:
            raise ConfigInvalid("latency-tracking-info-percentiles parameters should sit between [0.0,100.0]")
        out.append(f"{v:g}")
    return " ".join(out)


_PARSERS: dict[str, Callable[[Param, str], str]] = {
    "int": _parse_int, "mem": _parse_mem, "mempct": _parse_mempct, "bool": _parse_bool,
    "enum": _parse_enum, "str": _parse_str, "hz": _parse_hz, "save": _parse_save,
    "events": _parse_events, "obuf": _parse_obuf, "pctl": _parse_pctl,
}


# ---- built-in reactions to CONFIG SET ---------------------------------------------------
def _set_requirepass(node: Node, value: str) -> None:
    # Connections already authenticated stay so, like Redis.
    node.requirepass = value or None


def _set_proto_max_bulk_len(node: Node, value: str) -> None:
    node.proto_max_bulk_len = int(value)


_LOG_LEVELS = {"debug": logging.DEBUG, "verbose": 15, "notice": logging.INFO, "warning": logging.WARNING}


def _set_loglevel(node: Node, value: str) -> None:
    logging.getLogger().setLevel(_LOG_LEVELS[value])


register_config_hook("requirepass", _set_requirepass)
register_config_hook("proto-max-bulk-len", _set_proto_max_bulk_len)
register_config_hook("loglevel", _set_loglevel)


# ======================================================================================
# CONFIG commands
# ======================================================================================

@command("config", -2, "", group="server", summary="A container for server configuration commands",
         since="2.0.0")
def config_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    return ErrorReply(errors.unknown_subcommand(argv[1] if len(argv) > 1 else b"", "config"))


# CONFIG GET parameter [parameter ...]
@command("get", -3, "admin noscript loading stale", group="server",
         summary="Get the values of configuration parameters", since="2.0.0", parent="config")
def config_get_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    seen: set[str] = set()
    out: list[tuple[Any, Any]] = []
    for pat in argv[2:]:
        if not any(ch in pat for ch in b"[*?"):
            # An exact name answers under the spelling asked for (Redis does the same).
            name = _s(pat)
            p = _BY_NAME.get(name.lower())
            if p is not None and name.lower() not in seen:
                seen.add(name.lower())
                out.append((pat, config_value(node, p.name).encode()))
            continue
        for name, p in _BY_NAME.items():
            if name not in seen and stringmatch(pat, name.encode(), nocase=True):
                seen.add(name)
                out.append((name.encode(), config_value(node, p.name).encode()))
    return Map(out)


# CONFIG SET parameter value [parameter value ...]
@command("set", -4, "admin noscript loading stale", group="server",
         summary="Set configuration parameters to the given values", since="2.0.0", parent="config")
def config_set_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    if len(argv) % 2:
        return ErrorReply(errors.SYNTAX)
    chosen: list[tuple[bytes, Param, bytes]] = []
    for i in range(2, len(argv), 2):
        name = argv[i]
        p = _BY_NAME.get(_s(name).lower())
        if p is None:
            return ErrorReply(errors.config_set_unknown(name))
        if p.mode == "immutable":
            return ErrorReply(errors.config_set_failed(name, "can't set immutable config"))
        if p.mode == "protected":
            return ErrorReply(errors.config_set_failed(name, "can't set protected config"))
        if any(q is p for _n, q, _v in chosen):
            return ErrorReply(errors.config_set_failed(name, "duplicate parameter"))
        chosen.append((name, p, argv[i + 1]))
    # All values are checked before any is set, so a bad one changes nothing (like Redis).
    new: list[tuple[Param, str]] = []
    for name, p, raw in chosen:
        try:
            if p.kind == "obuf":
                v = _parse_obuf(p, _s(raw), config_value(node, p.name))
            else:
                v = _PARSERS[p.kind](p, _s(raw))
        except ConfigInvalid as e:
            return ErrorReply(errors.config_set_failed(name, str(e)))
        new.append((p, v))
    for p, v in new:
        node.runtime[p.name] = v
        for hook in _HOOKS.get(p.name, ()):
            hook(node, v)
    return OK


# CONFIG RESETSTAT
@command("resetstat", 2, "admin noscript loading stale", group="server",
         summary="Reset the stats returned by INFO", since="2.0.0", parent="config")
def config_resetstat_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    info.reset_stats(node)
    return OK


# Runtime parameters CONFIG REWRITE writes back to the JSON config file, as config fields.
_REWRITE_FIELDS: dict[str, tuple[str, Callable[[str], Any]]] = {
    "requirepass": ("requirepass", lambda v: v or None),
    "maxclients": ("maxclients", int),
    "hz": ("hz", int),
    "appendfsync": ("appendfsync", str),
    "proto-max-bulk-len": ("proto_max_bulk_len", int),
    "loglevel": ("loglevel", str),
}


def _set_in_json(doc: dict[str, Any], field: str, value: Any) -> bool:
    """Replace `field` wherever the file has it (fields may sit in nested groups)."""
    if field in doc:
        doc[field] = value
        return True
    return any(isinstance(v, dict) and _set_in_json(v, field, value) for v in doc.values())


def rewrite_config_file(node: Node, path: str) -> None:
    with open(path, encoding="utf-8") as fh:
        doc = json.load(fh)
    if not isinstance(doc, dict):
        raise OSError("the config file does not hold a JSON object")
    for param, (field, conv) in _REWRITE_FIELDS.items():
        value = conv(config_value(node, param))
        # Fields the file lacks are added only when they differ from what the node runs with.
        if not _set_in_json(doc, field, value) and value != getattr(node.config, field, None):
            doc[field] = value
    # Temp file, fsync, rename: a crash leaves the old file or the new one, never half.
    d = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".config-rewrite-", dir=d)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(doc, fh, indent=2)
            fh.write("\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


# CONFIG REWRITE
@command("rewrite", 2, "admin noscript loading stale", group="server",
         summary="Rewrite the configuration file with the in memory configuration", since="2.8.0",
         parent="config")
def config_rewrite_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    if not node.config_file:
        return ErrorReply(errors.NO_CONFIG_FILE)
    try:
        rewrite_config_file(node, node.config_file)
    except (OSError, ValueError) as e:
        return ErrorReply(errors.config_rewrite_failed(getattr(e, "strerror", None) or str(e)))
    return OK


_CONFIG_HELP = (
    "CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "GET <pattern>",
    "    Return parameters matching the glob-like <pattern> and their values.",
    "SET <directive> <value>",
    "    Set the configuration <directive> to <value>.",
    "RESETSTAT",
    "    Reset statistics reported by the INFO command.",
    "REWRITE",
    "    Rewrite the configuration file.",
    "HELP",
    "    Prints this help.",
)


# CONFIG HELP
@command("help", 2, "loading stale", group="server",
         summary="Show helpful text about the different subcommands", since="5.0.0", parent="config")
def config_help_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    return _help(_CONFIG_HELP)


# ======================================================================================
# CLIENT
# ======================================================================================

@command("client", -2, "", group="connection", summary="A container for client connection commands",
         since="2.4.0")
def client_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    return ErrorReply(errors.unknown_subcommand(argv[1] if len(argv) > 1 else b"", "client"))


_CLIENT_TYPES = {b"normal": "normal", b"slave": "replica", b"replica": "replica", b"pubsub": "pubsub",
                 b"master": "master"}


def _client_type(name: bytes) -> str | None:
    return _CLIENT_TYPES.get(name.lower())


# CLIENT ID
@command("id", 2, "noscript loading stale", group="connection",
         summary="Returns the client ID for the current connection", since="5.0.0", acl="connection",
         parent="client")
def client_id_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    return client.id


# CLIENT SETNAME connection-name
@command("setname", 3, "noscript loading stale", group="connection",
         summary="Set the current connection name", since="2.6.9", acl="connection", parent="client")
def client_setname_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    if not _valid_name(argv[2]):
        return ErrorReply(errors.CLIENT_NAME_INVALID)
    client.name = argv[2]
    return OK


# CLIENT GETNAME
@command("getname", 2, "noscript loading stale", group="connection",
         summary="Get the current connection name", since="2.6.9", acl="connection", parent="client")
def client_getname_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    return client.name or None


# CLIENT SETINFO LIB-NAME libname | LIB-VER libver   (Redis 7.2; clients send it at connect)
@command("setinfo", 4, "noscript loading stale", group="connection",
         summary="Set client or connection specific info", since="7.2.0", acl="connection",
         parent="client")
def client_setinfo_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    attr, val = argv[2], argv[3]
    low = attr.lower()
    if low not in (b"lib-name", b"lib-ver"):
        return ErrorReply(errors.unrecognized_option(attr))
    if not _valid_name(val):
        return ErrorReply(errors.client_attr_invalid(attr))
    if low == b"lib-name":
        client.lib_name = val
    else:
        client.lib_ver = val
    return OK


def _client_list_text(clients: Iterable[Client]) -> bytes:
    return "".join(c.info_line() + "\n" for c in clients).encode()


# CLIENT LIST [TYPE NORMAL|MASTER|REPLICA|PUBSUB] [ID client-id [client-id ...]]
@command("list", -2, "admin noscript loading stale", group="connection",
         summary="Get the list of client connections", since="2.4.0", acl="connection", parent="client")
def client_list_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    client.last_cmd = b"client|list"
    if len(argv) == 2:
        return Verbatim(_client_list_text(node.clients.values()))
    if len(argv) == 4 and argv[2].lower() == b"type":
        kind = _client_type(argv[3])
        if kind is None:
            return ErrorReply(errors.unknown_client_type(argv[3]))
        return Verbatim(_client_list_text(c for c in node.clients.values() if c.kind == kind))
    if len(argv) > 3 and argv[2].lower() == b"id":
        picked: list[Client] = []
        for a in argv[3:]:
            cid = parse_int(a)
            if cid is None:
                return ErrorReply(errors.INVALID_CLIENT_ID)
            c = node.clients.get(cid)
            if c is not None:
                picked.append(c)
        return Verbatim(_client_list_text(picked))
    return ErrorReply(errors.SYNTAX)


# CLIENT INFO
@command("info", 2, "noscript loading stale", group="connection",
         summary="Returns information about the current client connection.", since="6.2.0",
         acl="connection", parent="client")
def client_info_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    client.last_cmd = b"client|info"
    return Verbatim(_client_list_text([client]))


def _kill(client: Client, victim: Client) -> None:
    if victim is client:
        # Killing yourself: the OK goes out first, then the connection closes.
        client.closing = True
    else:
        victim.close()


# CLIENT KILL ip:port | [ID id] [TYPE type] [USER user] [ADDR ip:port] [LADDR ip:port] [SKIPME yes|no]
@command("kill", -3, "admin noscript loading stale", group="connection",
         summary="Kill the connection of a client", since="2.4.0", acl="connection", parent="client")
def client_kill_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    if len(argv) == 3:
        addr = _s(argv[2])
        for c in list(node.clients.values()):
            if c.addr == addr:
                _kill(client, c)
                return OK
        return ErrorReply(errors.NO_SUCH_CLIENT)
    cid: int | None = None
    kind: str | None = None
    addr_f: str | None = None
    laddr_f: str | None = None
    skipme = True
    i = 2
    while i < len(argv):
        opt = argv[i].lower()
        if i + 1 >= len(argv):
            return ErrorReply(errors.SYNTAX)
        val = argv[i + 1]
        if opt == b"id":
            v = parse_int(val)
            if v is None or v < 1:
                return ErrorReply(errors.CLIENT_ID_POSITIVE)
            cid = v
        elif opt == b"type":
            kind = _client_type(val)
            if kind is None:
                return ErrorReply(errors.unknown_client_type(val))
        elif opt == b"addr":
            addr_f = _s(val)
        elif opt == b"laddr":
            laddr_f = _s(val)
        elif opt == b"user":
            if val != b"default":
                return ErrorReply(errors.no_such_user(val))
        elif opt == b"skipme":
            low = val.lower()
            if low not in (b"yes", b"no"):
                return ErrorReply(errors.SYNTAX)
            skipme = low == b"yes"
        else:
            return ErrorReply(errors.SYNTAX)
        i += 2
    killed = 0
    for c in list(node.clients.values()):
        if (cid is not None and c.id != cid) or (kind is not None and c.kind != kind):
            continue
        if (addr_f is not None and c.addr != addr_f) or (laddr_f is not None and c.laddr != laddr_f):
            continue
        if skipme and c is client:
            continue
        _kill(client, c)
        killed += 1
    return killed


def _on_off(argv: list[bytes]) -> Reply:
    return OK if argv[2].lower() in (b"on", b"off") else ErrorReply(errors.SYNTAX)


# CLIENT NO-EVICT ON|OFF  (accepted; we never evict clients)
@command("no-evict", 3, "admin noscript loading stale", group="connection",
         summary="Set client eviction mode for the current connection", since="7.0.0",
         acl="connection", parent="client")
def client_no_evict_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    return _on_off(argv)


# CLIENT NO-TOUCH ON|OFF  (Redis 7.2; accepted; we keep no LRU/LFU clock to protect)
@command("no-touch", 3, "noscript loading stale", group="connection",
         summary="Controls whether commands sent by the client will alter the LRU/LFU of the keys they access.",
         since="7.2.0", acl="connection", parent="client")
def client_no_touch_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    return _on_off(argv)


# CLIENT REPLY ON|OFF|SKIP
@command("reply", 3, "noscript loading stale", group="connection",
         summary="Instruct the server whether to reply to commands", since="3.2.0", acl="connection",
         parent="client")
def client_reply_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    mode = argv[2].lower()
    if mode == b"on":
        return OK
    if mode in (b"off", b"skip"):
        return ErrorReply(errors.CLIENT_REPLY_UNSUPPORTED)
    return ErrorReply(errors.SYNTAX)


_CLIENT_HELP = (
    "CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "GETNAME",
    "    Return the name of the current connection.",
    "ID",
    "    Return the ID of the current connection.",
    "INFO",
    "    Return information about the current client connection.",
    "KILL <ip:port>",
    "    Kill connection made from <ip:port>.",
    "KILL <option> <value> [<option> <value> [...]]",
    "    Kill connections. Options are:",
    "    * ADDR (<ip:port>|<unixsocket>:0)",
    "      Kill connections made from the specified address",
    "    * LADDR (<ip:port>|<unixsocket>:0)",
    "      Kill connections made to specified local address",
    "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
    "      Kill connections by type.",
    "    * USER <username>",
    "      Kill connections authenticated by <username>.",
    "    * SKIPME (YES|NO)",
    "      Skip killing current connection (default: yes).",
    "LIST [options ...]",
    "    Return information about client connections. Options:",
    "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
    "      Return clients of specified type.",
    "REPLY (ON|OFF|SKIP)",
    "    Control the replies sent to the current connection.",
    "SETNAME <name>",
    "    Assign the name <name> to the current connection.",
    "SETINFO <LIB-NAME|LIB-VER> <value>",
    "    Set client library name or version.",
    "NO-EVICT (ON|OFF)",
    "    Protect current client connection from eviction.",
    "NO-TOUCH (ON|OFF)",
    "    Will not touch LRU/LFU stats when this mode is on.",
    "HELP",
    "    Prints this help.",
)


# CLIENT HELP
@command("help", 2, "loading stale", group="connection",
         summary="Show helpful text about the different subcommands", since="5.0.0", acl="connection",
         parent="client")
def client_help_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    return _help(_CLIENT_HELP)


__all__ = [
    "PARAMS", "Param", "config_value", "default_runtime",
    "register_config_hook", "register_config_param", "register_reset_hook",
]
