"""One frozen Config, assembled from defaults < JSON file < CRDT_REDIS_* env < command-line flags.

The Config dataclass *is* the field table: every field line carries its default, its
type-and-range rule and its help text (see `_f`), so adding a setting is one line here, and
the loader, the env names, `--set`, `--generate-config` and the validation messages follow.

Errors are `ConfigError`, whose str is one line naming the field, the rule, the offending value
and where it came from, because operators read it in a container log with nothing around it.
"""
from __future__ import annotations

import dataclasses
import difflib
import json
import math
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import urlsplit

ENV_PREFIX = "CRDT_REDIS_"
REDACTED = "***"

Kind = Literal["str", "int", "float", "list", "secret"]

_REPLICA_ID_RE = re.compile(r"[A-Za-z0-9_.-]{1,64}")


class ConfigError(ValueError):
    """A bad setting. `field` is the field name (or the file path for whole-file errors)."""

    def __init__(self, field: str, problem: str, source: str | None = None) -> None:
        self.field = field
        self.problem = problem
        self.source = source
        text = f"config error: {field}: {problem}"
        if source:
            text += f" (from {source})"
        # One line, always: the CLI prints str(error) as the whole of its stderr.
        super().__init__(" ".join(text.splitlines()))


@dataclass(frozen=True, slots=True)
class Rule:
    """How a field's value is typed and what it must satisfy; `want` completes "must be ..."."""

    kind: Kind
    want: str
    check: Callable[[Any], bool]


@dataclass(frozen=True, slots=True)
class FieldSpec:
    name: str
    default: object
    rule: Rule
    help: str

    @property
    def secret(self) -> bool:
        return self.rule.kind == "secret"

    @property
    def env_var(self) -> str:
        return ENV_PREFIX + self.name.upper()


# --- rules --------------------------------------------------------------------------------------


def _ints(lo: int, hi: int | None = None) -> Rule:
    want = f"an integer between {lo} and {hi}" if hi is not None else f"an integer >= {lo}"
    return Rule("int", want, lambda v: v >= lo and (hi is None or v <= hi))


def _positive() -> Rule:
    return Rule("float", "a number > 0", lambda v: math.isfinite(v) and v > 0)


def _non_negative() -> Rule:
    return Rule("float", "a number >= 0", lambda v: math.isfinite(v) and v >= 0)


def _choice(*options: str) -> Rule:
    return Rule("str", "one of " + "|".join(options), lambda v: v in options)


def _text(non_empty: bool = False) -> Rule:
    if non_empty:
        return Rule("str", "a non-empty string", lambda v: v != "")
    return Rule("str", "a string", lambda v: True)


def _replica_id_ok(value: str) -> bool:
    return _REPLICA_ID_RE.fullmatch(value) is not None


def _url_ok(value: str) -> bool:
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError on a bad port number
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname) and not parts.query \
        and not parts.fragment


def _unique(values: Iterable[str]) -> bool:
    items = list(values)
    return len(items) == len(set(items))


def _urls() -> Rule:
    return Rule(
        "list",
        "a list of distinct http:// or https:// URLs",
        lambda v: all(_url_ok(u) for u in v) and _unique(v),
    )


def _replica_ids() -> Rule:
    return Rule(
        "list",
        "a list of distinct replica ids ([A-Za-z0-9_.-]{1,64})",
        lambda v: all(_replica_id_ok(r) for r in v) and _unique(v),
    )


def _secret() -> Rule:
    return Rule("secret", "a string or null", lambda v: True)


def _f(default: Any, rule: Rule, help: str) -> Any:
    # Typed Any so `port: int = _f(...)` type-checks; the dataclass still sees a Field.
    if isinstance(default, list):
        default = tuple(default)
    # Secrets stay out of repr() so logging a Config cannot leak them.
    return dataclasses.field(default=default, repr=rule.kind != "secret",
                             metadata={"rule": rule, "help": help})


# --- the table ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Config:
    """Every setting of one node. Lists are tuples so the whole object stays immutable."""

    bind: str = _f("127.0.0.1", _text(non_empty=True), "address the RESP and HTTP listeners bind to")
    server_port: int = _f(6379, _ints(1, 65535), "TCP port for Redis clients (RESP)")
    http_port: int = _f(8080, _ints(0, 65535), "HTTP port for health, metrics and replication; 0 = off")
    replica_id: str = _f("node1", Rule("str", "1-64 characters of [A-Za-z0-9_.-]", _replica_id_ok),
                         "this replica's name, unique in the cluster")
    data_dir: str = _f("./data", _text(non_empty=True), "directory holding the op log and snapshots")
    peers: tuple[str, ...] = _f([], _urls(), "base URLs of the other replicas' HTTP endpoints")
    requirepass: str | None = _f(None, _secret(), "password clients must AUTH with; null = none")
    aclfile: str = _f("", _text(), "ACL users file (Redis's format, ACL LOAD/SAVE); empty = none")
    databases: int = _f(16, _ints(1, 1024), "number of logical databases (SELECT 0..n-1)")
    proto_max_bulk_len: int = _f(536870912, _ints(1024), "largest bulk string a client may send, bytes")
    maxclients: int = _f(10000, _ints(1), "maximum simultaneous client connections")
    protected_mode: str = _f("yes", _choice("yes", "no"), "yes: without a password, only loopback clients "
                             "are served (Redis's protected mode)")
    maxmemory: int = _f(0, _ints(0), "memory limit in bytes (evictions or OOM errors past it); 0 = none")
    maxmemory_policy: str = _f("noeviction", _choice("noeviction", "allkeys-lru", "allkeys-lfu", "allkeys-random",
                                                     "volatile-lru", "volatile-lfu", "volatile-random",
                                                     "volatile-ttl"), "what maxmemory evicts")
    loglevel: str = _f("notice", _choice("debug", "verbose", "notice", "warning"), "log verbosity")
    logfile: str = _f("", _text(), "log file path; empty = stderr")
    hz: int = _f(10, _ints(1, 500), "background ticks per second (expiry, fsync everysec)")
    appendfsync: str = _f("everysec", _choice("always", "everysec", "no"), "op log fsync policy")
    max_segment_size: int = _f(67108864, _ints(4096), "op log segment size that triggers rotation, bytes")
    compaction_threshold: int = _f(4, _ints(1), "retired segments that trigger writing a new base")
    sync_interval: float = _f(1.0, _positive(), "seconds between anti-entropy pulls from each peer")
    gc_interval: float = _f(10.0, _positive(), "seconds between tombstone / segment collection passes")
    sync_timeout: float = _f(5.0, _positive(), "seconds before a replication HTTP request times out")
    max_retries: int = _f(0, _ints(0), "failed attempts before a peer request is abandoned; 0 = forever")
    retry_interval: float = _f(0.5, _positive(), "first retry delay in seconds (backoff doubles it)")
    push_linger_ms: float = _f(1.0, _non_negative(), "milliseconds to wait to batch ops before a push")
    peer_token: str | None = _f(None, _secret(), "shared token the replication endpoints require")
    tls_cert: str = _f("", _text(), "PEM certificate for HTTPS; empty = plain HTTP")
    tls_key: str = _f("", _text(), "PEM private key for tls_cert")
    tls_ca: str = _f("", _text(), "CA bundle verifying peers' certificates (server and client side: with it, "
                     "/repl/* requires a client certificate it signed)")
    # Security (docs/security.md): who may call the HTTP side, and bounds on what peers send.
    admin_token: str | None = _f(None, _secret(), "token /config, /stats and /metrics require "
                                 "(Authorization: Bearer); null = requirepass, if set")
    max_clock_skew_ms: int = _f(300000, _ints(1000), "ops stamped further ahead of this node's clock are "
                                "refused (ms); keep clocks in sync")
    max_members: int = _f(64, _ints(2, 100000), "most replicas a cluster may hold (each member holds GC back "
                          "until it acks)")
    peer_max_body: int = _f(67108864, _ints(1 << 20), "largest peer request body, bytes; an op bigger than the "
                            "receiver's limit does not replicate")
    http_header_timeout: float = _f(10.0, _positive(), "seconds an HTTP client may take to send a request's "
                                    "headers, or pause while sending its body")
    # TLS for Redis clients, as Redis's tls-* directives.
    tls_port: int = _f(0, _ints(0, 65535), "TCP port for Redis clients over TLS; 0 = off")
    tls_cert_file: str = _f("", _text(), "PEM certificate of the TLS port")
    tls_key_file: str = _f("", _text(), "PEM private key of tls_cert_file")
    tls_ca_cert_file: str = _f("", _text(), "CA bundle verifying client certificates on the TLS port")
    tls_auth_clients: str = _f("yes", _choice("yes", "no", "optional"),
                               "client certificates on the TLS port: yes = required, optional, no")
    forget_peers: tuple[str, ...] = _f([], _replica_ids(), "replica ids declared gone for good (GC stops waiting)")

    def __post_init__(self) -> None:
        # Direct construction (tests, dataclasses.replace) gets the same checks as loading,
        # and lists become tuples so Config stays hashable.
        for spec in FIELDS.values():
            value = _coerce(spec, getattr(self, spec.name), "Config()")
            object.__setattr__(self, spec.name, value)
        _check_cross_fields(self)

    def to_dict(self) -> dict[str, Any]:
        """Every field, JSON-ready (tuples as lists), in table order."""
        return {
            name: list(value) if isinstance(value, tuple) else value
            for name, value in ((n, getattr(self, n)) for n in FIELDS)
        }

    def redacted(self) -> dict[str, Any]:
        """`to_dict()` with set secrets replaced by "***", for /config and logs."""
        out = self.to_dict()
        for spec in FIELDS.values():
            if spec.secret and out[spec.name] is not None:
                out[spec.name] = REDACTED
        return out


FIELDS: dict[str, FieldSpec] = {
    f.name: FieldSpec(f.name, f.default, f.metadata["rule"], f.metadata["help"])
    for f in dataclasses.fields(Config)
}


def default_config() -> Config:
    return Config()


# --- typing and parsing -------------------------------------------------------------------------


def _show(spec: FieldSpec, value: object) -> str:
    # Never echo a secret, even a mistyped one: the message ends up in logs.
    if spec.secret:
        return f"a {type(value).__name__}" if value is not None else "null"
    try:
        return json.dumps(value)
    except (TypeError, ValueError):
        return repr(value)


def _fail(spec: FieldSpec, value: object, source: str) -> ConfigError:
    return ConfigError(spec.name, f"must be {spec.rule.want}, got {_show(spec, value)}", source)


def _coerce(spec: FieldSpec, value: object, source: str) -> object:
    """Type-check a JSON-shaped value (bool is not an int; an int is a fine float), then rule-check."""
    kind = spec.rule.kind
    out: object
    if kind == "int":
        if not isinstance(value, int) or isinstance(value, bool):
            raise _fail(spec, value, source)
        out = value
    elif kind == "float":
        if not isinstance(value, int | float) or isinstance(value, bool):
            raise _fail(spec, value, source)
        try:
            out = float(value)
        except OverflowError:  # a JSON integer too big for a double
            raise _fail(spec, value, source) from None
    elif kind == "str":
        if not isinstance(value, str):
            raise _fail(spec, value, source)
        out = value
    elif kind == "secret":
        if value is not None and not isinstance(value, str):
            raise _fail(spec, value, source)
        return value
    else:
        if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
            raise _fail(spec, value, source)
        out = tuple(value)
        if not spec.rule.check(out):
            raise _list_fail(spec, out, source)
        return out
    if not spec.rule.check(out):
        raise _fail(spec, value, source)
    return out


def _list_fail(spec: FieldSpec, items: tuple[str, ...], source: str) -> ConfigError:
    # Point at the one bad item: a list of ten peer URLs with one typo is the usual case.
    seen: set[str] = set()
    for item in items:
        if not spec.rule.check((item,)):
            return ConfigError(spec.name, f"must be {spec.rule.want}, got {json.dumps(item)}", source)
        if item in seen:
            return ConfigError(spec.name, f"must be {spec.rule.want}, got {json.dumps(item)} twice", source)
        seen.add(item)
    return _fail(spec, list(items), source)


def _parse_text(spec: FieldSpec, text: str, source: str) -> object:
    """Turn an env var / flag string into a JSON-shaped value for `_coerce`."""
    kind = spec.rule.kind
    if kind == "int":
        try:
            return int(text.strip(), 10)
        except ValueError:
            raise _fail(spec, text, source) from None
    if kind == "float":
        try:
            return float(text.strip())
        except ValueError:
            raise _fail(spec, text, source) from None
    if kind == "secret":
        # There is no other way to unset a secret inherited from the file via the environment.
        return None if text in ("", "null") else text
    if kind == "list":
        stripped = text.strip()
        if stripped.startswith("["):
            try:
                return json.loads(stripped)
            except json.JSONDecodeError as exc:
                raise ConfigError(spec.name, f"invalid JSON list: {exc.msg} at column {exc.colno}",
                                  source) from None
        return [item.strip() for item in stripped.split(",") if item.strip()]
    return text


def _unknown(name: str, source: str, shown: str | None = None) -> ConfigError:
    close = difflib.get_close_matches(name, list(FIELDS), n=1)
    hint = f" (did you mean {close[0]}?)" if close else ""
    return ConfigError(shown or name, f"unknown field{hint}", source)


def _check_cross_fields(cfg: Config) -> None:
    # No source: the two halves may come from different places.
    if bool(cfg.tls_cert) != bool(cfg.tls_key):
        field = "tls_key" if cfg.tls_cert else "tls_cert"
        raise ConfigError(field, "tls_cert and tls_key must be set together")
    if cfg.tls_port:
        for name in ("tls_cert_file", "tls_key_file"):
            if not getattr(cfg, name):
                raise ConfigError(name, "tls_port needs tls_cert_file and tls_key_file")
        if cfg.tls_auth_clients != "no" and not cfg.tls_ca_cert_file:
            # Redis: "Either tls-ca-cert-file or tls-ca-cert-dir must be specified ..."
            raise ConfigError("tls_ca_cert_file", "tls_auth_clients yes|optional needs a CA to verify "
                              "client certificates (or set tls_auth_clients no)")
        if cfg.tls_port == cfg.server_port:
            raise ConfigError("tls_port", "must differ from server_port")


# --- sources ------------------------------------------------------------------------------------


def _flatten(obj: Mapping[str, Any], path: str, where: str, out: dict[str, object]) -> None:
    """Nested blocks are free-form grouping: any object under a non-field key is merged flat."""
    for key, value in obj.items():
        if key not in FIELDS and isinstance(value, dict):
            _flatten(value, path, f"{where}{key}.", out)
            continue
        if key not in FIELDS:
            raise _unknown(key, f"file {path}", shown=f"{where}{key}")
        if key in out:
            raise ConfigError(key, f"set twice (again at {where}{key})", f"file {path}")
        out[key] = value


def read_file(path: str) -> dict[str, object]:
    """The file's settings, flattened and type-checked (but not cross-checked) by field name."""
    try:
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
    except OSError as exc:
        raise ConfigError(path, f"cannot read config file: {exc.strerror or exc}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(path, f"invalid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
    if not isinstance(data, dict):
        raise ConfigError(path, "the config file must hold a JSON object")
    raw: dict[str, object] = {}
    _flatten(data, path, "", raw)
    return {name: _coerce(FIELDS[name], value, f"file {path}") for name, value in raw.items()}


def read_env(env: Mapping[str, str]) -> dict[str, object]:
    out: dict[str, object] = {}
    for var, text in env.items():
        if not var.startswith(ENV_PREFIX):
            continue
        name = var[len(ENV_PREFIX):].lower()
        source = f"env {var}"
        if name not in FIELDS:
            # A typo'd variable silently ignored is a node running with the wrong setting.
            raise _unknown(name, source)
        spec = FIELDS[name]
        out[name] = _coerce(spec, _parse_text(spec, text, source), source)
    return out


def read_overrides(overrides: Mapping[str, object], flag_names: Mapping[str, str] | None = None
                   ) -> dict[str, object]:
    """Command-line values: strings are parsed like env vars, anything else checked like JSON."""
    out: dict[str, object] = {}
    for name, value in overrides.items():
        flag = (flag_names or {}).get(name)
        source = f"flag {flag}" if flag else "command line"
        if name not in FIELDS:
            raise _unknown(name, source)
        spec = FIELDS[name]
        if isinstance(value, str) and spec.rule.kind != "str":
            value = _parse_text(spec, value, source)
        out[name] = _coerce(spec, value, source)
    return out


def load_config(
    argv_overrides: Mapping[str, object],
    env: Mapping[str, str],
    path: str | None,
    *,
    flag_names: Mapping[str, str] | None = None,
) -> Config:
    """Merge flag > env > file > default into a validated Config.

    `argv_overrides` maps field names to values (strings are parsed like env vars);
    `flag_names` optionally maps a field to the flag it came from, for error messages.
    """
    merged: dict[str, object] = {}
    if path is not None:
        merged.update(read_file(path))
    merged.update(read_env(env))
    merged.update(read_overrides(argv_overrides, flag_names))
    return Config(**merged)  # type: ignore[arg-type]  # each value was checked against its field


def field_help() -> list[tuple[str, str, str]]:
    """(name, default as JSON, help) for every field, for --help listings."""
    return [(s.name, json.dumps(list(s.default) if isinstance(s.default, tuple) else s.default), s.help)
            for s in FIELDS.values()]
