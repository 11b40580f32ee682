"""The `crdt-redis` command: flags -> Config -> logging -> server.run, plus pluggable subcommands.

A subcommand is one entry in SUBCOMMANDS, recognised only as the *first* argument
(`crdt-redis check-log ...`), so a subcommand name can never be mistaken for a flag value.
Subcommands that need the node's settings can reuse `add_config_arguments` and
`config_from_args` to accept the same flags, env vars and file as the server.
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from collections.abc import Callable, Mapping

from crdtredis import REDIS_VERSION, __version__
from crdtredis.config import Config, ConfigError, field_help, load_config

PROG = "crdt-redis"

# name -> handler(argv after the name) -> exit status. Add a line here whose handler imports
# its module lazily, so `crdt-redis --port ...` never pays for (or breaks on) a subcommand.
def _check_log(argv: list[str]) -> int:
    from crdtredis.storage.checklog_cli import main as check_log_main

    return check_log_main(argv)


def _devcluster(argv: list[str]) -> int:
    from crdtredis.devcluster import main as devcluster_main

    return devcluster_main(argv)


SUBCOMMANDS: dict[str, Callable[[list[str]], int]] = {
    "check-log": _check_log,
    "devcluster": _devcluster,
}

# Dedicated flags for the settings people change most; everything else goes through --set.
_FIELD_FLAGS: tuple[tuple[str, str, str], ...] = (
    ("--port", "server_port", "TCP port for Redis clients"),
    ("--http-port", "http_port", "HTTP port (health, metrics, replication); 0 = off"),
    ("--replica-id", "replica_id", "this replica's unique name"),
    ("--data-dir", "data_dir", "directory for the op log and snapshots"),
    ("--bind", "bind", "address to listen on"),
    ("--requirepass", "requirepass", "password clients must AUTH with"),
    ("--appendfsync", "appendfsync", "always | everysec | no"),
    ("--loglevel", "loglevel", "debug | verbose | notice | warning"),
    ("--protected-mode", "protected_mode", "yes | no: serve non-loopback clients without a password"),
    ("--maxmemory", "maxmemory", "memory limit in bytes; 0 = none"),
    ("--maxmemory-policy", "maxmemory_policy", "noeviction | allkeys-lru | ... (what maxmemory evicts)"),
)

# Redis's four levels; "verbose" sits between DEBUG and INFO so it can be told apart.
VERBOSE = 15
LOG_LEVELS: dict[str, int] = {
    "debug": logging.DEBUG,
    "verbose": VERBOSE,
    "notice": logging.INFO,
    "warning": logging.WARNING,
}


def _dest(flag: str) -> str:
    return "flag_" + flag.lstrip("-").replace("-", "_")


def add_config_arguments(parser: argparse.ArgumentParser) -> None:
    """The flags that feed load_config; values stay strings so config.py reports every error."""
    parser.add_argument("--config", metavar="PATH", help="JSON config file")
    for flag, field, text in _FIELD_FLAGS:
        parser.add_argument(flag, dest=_dest(flag), metavar=field.upper(), help=f"{text} ({field})")
    parser.add_argument("--peer", dest="peer", action="append", metavar="URL",
                        help="a peer's HTTP base URL; repeat for each peer (peers)")
    parser.add_argument("--peers", dest="peer", action="extend", nargs="+", metavar="URL",
                        help="several peer URLs at once (peers)")
    parser.add_argument("--set", dest="sets", action="append", default=[], metavar="FIELD=VALUE",
                        help="any config field; lists are comma-separated or JSON; repeatable")


def _overrides(args: argparse.Namespace) -> tuple[dict[str, object], dict[str, str]]:
    """Field -> value from the parsed flags, and field -> flag name for error messages."""
    values: dict[str, object] = {}
    flags: dict[str, str] = {}

    def put(field: str, value: object, flag: str) -> None:
        if field in values:
            raise ConfigError(field, f"given twice on the command line ({flags[field]} and {flag})")
        values[field] = value
        flags[field] = flag

    for flag, field, _ in _FIELD_FLAGS:
        value = getattr(args, _dest(flag))
        if value is not None:
            put(field, value, flag)
    if args.peer:
        put("peers", list(args.peer), "--peer")
    for item in args.sets:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise ConfigError(item, "--set expects FIELD=VALUE", "flag --set")
        put(name.strip().replace("-", "_"), value, "--set")
    return values, flags


def config_from_args(args: argparse.Namespace, env: Mapping[str, str] | None = None) -> Config:
    """Config from a namespace built by a parser that had `add_config_arguments`."""
    values, flags = _overrides(args)
    return load_config(values, os.environ if env is None else env, args.config, flag_names=flags)


def build_parser() -> argparse.ArgumentParser:
    lines = ["config fields (file keys; env CRDT_REDIS_<FIELD>; --set FIELD=VALUE):"]
    lines += [f"  {name:<22} {default:<12} {text}" for name, default, text in field_help()]
    lines.append("precedence: flag > env > file > default")
    if SUBCOMMANDS:
        lines.append("commands (first argument): " + ", ".join(sorted(SUBCOMMANDS)))
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="A Redis-compatible active-active server whose replicas converge by CRDT rules.",
        epilog="\n".join(lines),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version",
                        version=f"{PROG} {__version__} (redis {REDIS_VERSION} compatible)")
    parser.add_argument("--generate-config", action="store_true",
                        help="print the complete config as JSON (defaults + other flags/env/file) and exit")
    add_config_arguments(parser)
    return parser


class _RedisFormatter(logging.Formatter):
    """Redis's log line: `pid:M 22 Nov 2024 04:38:01.123 * message`, one marker per level."""

    _MARKS = {logging.DEBUG: ".", VERBOSE: "-", logging.INFO: "*", logging.WARNING: "#"}

    def format(self, record: logging.LogRecord) -> str:
        stamp = time.strftime("%d %b %Y %H:%M:%S", time.localtime(record.created))
        mark = self._MARKS.get(record.levelno, "#")
        line = f"{record.process}:M {stamp}.{int(record.msecs):03d} {mark} {record.getMessage()}"
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


def configure_logging(config: Config) -> None:
    """Root logger per loglevel/logfile. Raises ConfigError if the log file cannot be opened."""
    logging.addLevelName(VERBOSE, "VERBOSE")
    handler: logging.Handler
    if config.logfile:
        try:
            handler = logging.FileHandler(config.logfile, encoding="utf-8")
        except OSError as exc:
            raise ConfigError("logfile", f"cannot open {config.logfile}: {exc.strerror or exc}") from None
    else:
        handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_RedisFormatter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(LOG_LEVELS[config.loglevel])
    # aiohttp's access log is off in http.py; keep its other chatter out of notice-level logs.
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)


def _exit_status(exc: SystemExit) -> int:
    code = exc.code
    if code is None:
        return 0
    return code if isinstance(code, int) else 2


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    if args and not args[0].startswith("-"):
        handler = SUBCOMMANDS.get(args[0])
        if handler is None:
            known = ", ".join(sorted(SUBCOMMANDS)) or "none"
            parser.print_usage(sys.stderr)
            print(f"{PROG}: error: unknown command {args[0]!r} (commands: {known})", file=sys.stderr)
            return 2
        return handler(args[1:])
    try:
        ns = parser.parse_args(args)
    except SystemExit as exc:  # --help, --version, usage errors: argparse already printed
        return _exit_status(exc)
    try:
        config = config_from_args(ns)
        if ns.generate_config:
            try:
                print(json.dumps(config.to_dict(), indent=2), flush=True)
            except BrokenPipeError:
                # `crdt-redis --generate-config | head`: the reader left; not an error.
                # Point stdout at devnull so the interpreter's final flush stays quiet.
                os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return 0
        configure_logging(config)
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 2
    # Imported here so config and CLI tests run without the server's dependencies.
    from crdtredis.server import run

    try:
        return run(config)
    except KeyboardInterrupt:
        return 130
