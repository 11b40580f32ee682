"""CONFIG and its subcommands (GET SET RESETSTAT REWRITE HELP), and the parameter table.

CONFIG parameters live in one table (`PARAMS`): each has a kind that parses and normalises
values like Redis's config.c, and a mode (mutable, immutable, protected). Values are kept
as strings in `node.runtime`, seeded by `default_runtime` when the node starts; parts of
the server that must react to a change register with `register_config_hook`.

Replies and error texts follow Redis 7.0.15, checked against a real server
(tests/test_cmd_server.py); where we deviate, the comment says why.
"""
from __future__ import annotations

import json
import logging
import os
import re
import tempfile
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .. import errors, info
from ..crdt.numbers import parse_int
from ..glob import stringmatch
from ..reply import OK, ErrorReply, Map, Reply
from .helpers import help_reply
from .registry import command

if TYPE_CHECKING:
    from ..client import Client
    from ..node import Node

INT_MIN, INT_MAX = -(1 << 31), (1 << 31) - 1
UINT_MAX = (1 << 32) - 1
LLONG_MAX = (1 << 63) - 1
ULLONG_MAX = (1 << 64) - 1


def _s(b: bytes) -> str:
    return b.decode("utf-8", "replace")


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


ConfigApply = Callable[["Node", str], "str | None"]
_APPLY: dict[str, ConfigApply] = {}


def register_config_apply(name: str, fn: ConfigApply) -> None:
    """`fn(node, new_value)` makes a change that may fail; it returns Redis's error reason
    or None. Run before anything is set; on a failure the others are applied back."""
    _APPLY[name] = fn


def register_config_hook(name: str, fn: ConfigHook, raw: bool = False) -> None:
    """Call `fn(node, new_value)` after CONFIG SET changes parameter `name`. With `raw`,
    the value as the client gave it (notify-keyspace-events: its shown form hides "n"
    once "A" is on, as in Redis, but the class stays enabled)."""
    hooks = _HOOKS.setdefault(name, [])
    if fn not in hooks:
        hooks.append(fn)
        if raw:
            _RAW_HOOKS.add(fn)


_RAW_HOOKS: set[ConfigHook] = set()


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
    # "fixed": settable in Redis, not here; setting the value it already has is accepted.
    Param("bind", "str", _cfg("bind", "127.0.0.1"), mode="fixed"),
    # A new port re-listens at once (apply hook installed by the server, `node.listen_cb`).
    Param("port", "int", _cfg("server_port", 6379), 0, 65535),
    Param("databases", "int", _cfg("databases", 16), 1, INT_MAX, mode="immutable"),
    Param("requirepass", "str", _cfg("requirepass", None)),
    Param("masterauth", "str", ""),
    Param("masteruser", "str", ""),
    Param("maxmemory", "mem", _cfg("maxmemory", 0), 0, ULLONG_MAX),
    Param("maxmemory-policy", "enum", _cfg("maxmemory_policy", "noeviction"), choices=_POLICIES),
    Param("maxmemory-samples", "int", "5", 1, INT_MAX),
    Param("maxmemory-eviction-tenacity", "int", "10", 0, 100),
    Param("maxmemory-clients", "mempct", "0", 0, LLONG_MAX),
    # The op log is the database (DESIGN §4): it cannot be switched off at runtime.
    Param("appendonly", "bool", "yes", mode="fixed"),
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
    # RESTORE always validates deeply (rdb_decode.py), whatever this says.
    Param("sanitize-dump-payload", "enum", "no", choices=("no", "yes", "clients")),
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
    Param("protected-mode", "bool", _cfg("protected_mode", "yes")),
    # TLS for clients (crdtredis/tls.py): set at start-up, as config fields tls_*; CONFIG SET
    # accepts only the value in force (Redis's CONFIG sanity test sets each back).
    Param("tls-port", "int", _cfg("tls_port", 0), 0, 65535, mode="fixed"),
    Param("tls-cert-file", "str", _cfg("tls_cert_file", ""), mode="fixed"),
    Param("tls-key-file", "str", _cfg("tls_key_file", ""), mode="fixed"),
    Param("tls-ca-cert-file", "str", _cfg("tls_ca_cert_file", ""), mode="fixed"),
    Param("tls-auth-clients", "enum", _cfg("tls_auth_clients", "yes"), choices=("no", "yes", "optional"),
          mode="fixed"),
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
            if v > 100:
                raise ConfigInvalid("percentage argument must be less or equal to 100")
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


def _apply_port(node: Node, value: str) -> str | None:
    if node.listen_cb is None:
        return "can't set immutable config"  # no listener to move (in-process nodes)
    return node.listen_cb(int(value))


register_config_apply("port", _apply_port)
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
        if p.mode == "fixed" and v != config_value(node, p.name):
            return ErrorReply(errors.config_set_failed(name, "can't set immutable config"))
        new.append((p, v))
    # Then the changes that can fail (listening on a new port); one failure undoes the
    # others that were applied, and nothing is set (Redis's apply + rollback).
    applied: list[tuple[Param, str]] = []
    for (name, _p, _raw), (p, v) in zip(chosen, new, strict=True):
        fn = _APPLY.get(p.name)
        old = config_value(node, p.name)
        if fn is None or v == old:
            continue
        err = fn(node, v)
        if err is not None:
            for q, prev in reversed(applied):
                _APPLY[q.name](node, prev)
            return ErrorReply(errors.config_set_failed(name, err))
        applied.append((p, old))
    for (_name, _p, raw), (p, v) in zip(chosen, new, strict=True):
        node.runtime[p.name] = v
        for hook in _HOOKS.get(p.name, ()):
            hook(node, _s(raw) if hook in _RAW_HOOKS else v)
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
    return help_reply(_CONFIG_HELP)


__all__ = [
    "PARAMS", "Param", "config_value", "default_runtime", "register_config_hook", "register_config_param",
]
