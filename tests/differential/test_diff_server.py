"""Differential scripts for connection and server commands: PING/ECHO/HELLO/AUTH/QUIT/RESET,
COMMAND, CONFIG, CLIENT, INFO, unknown-command and arity errors, inline and malformed input."""
from __future__ import annotations

from typing import Any

import pytest

from tests.differential.harness import (
    IGNORE_VALUE,
    KEEP_GOING,
    TYPE,
    UNORDERED,
    Differ,
    ExpectClosed,
    On,
    Raw,
    Script,
    ScriptCase,
    contains,
    custom,
    hello_mode,
    pairs,
    scripts,
)
from tests.support.resp_client import RespMap


def _command_info_core(value: Any) -> list[Any]:
    """Name, arity, flags (as a sorted list: RESP3 sends a set), first key, last key, step.
    The rest (ACL categories, tips, key specs, subcommands) is not compared."""
    out = []
    for entry in value:
        if entry is None or not isinstance(entry, list):
            out.append(entry)
            continue
        name, arity, flags, first, last, step = entry[:6]
        out.append((bytes(name), arity, sorted(bytes(f) for f in flags), first, last, step))
    return out


COMMAND_INFO = custom(_command_info_core, "COMMAND INFO name/arity/flags/first/last/step")


def _client_fields(*names: str) -> Any:
    def extract(value: Any) -> dict[str, str]:
        text = bytes(value).decode().strip()
        fields = dict(item.split("=", 1) for item in text.split(" ") if "=" in item)
        return {n: fields.get(n, "<missing>") for n in names}

    return custom(extract, f"CLIENT INFO fields {', '.join(names)}")


CLIENT_INFO = _client_fields("name", "db", "multi", "resp", "cmd", "user", "sub", "psub", "flags")


def _hello_keys(value: Any) -> list[bytes]:
    items = list(value) if isinstance(value, RespMap) else list(zip(value[::2], value[1::2], strict=True))
    return sorted(bytes(k) for k, _ in items)


SERVER: dict[str, Script] = {
    "ping_echo": [
        "PING", "PING hello", "PING ''", ["PING", b"\x00\xff"], "PING a b", "ping", "ECHO hello", "ECHO ''",
        ["ECHO", b"bin\r\nary\x00"], "ECHO", "ECHO a b", "echo x",
    ],
    "ping_echo_resp3": [("HELLO 3", TYPE), "PING", "PING hello", "ECHO hello", "PING a b"],
    "hello_versions": [
        ("HELLO", hello_mode()), ("HELLO 2", hello_mode()), "GET nokey", ("HELLO 3", hello_mode()), "GET nokey",
        ("HELLO", hello_mode()), ("HELLO 2", hello_mode()), "GET nokey", ("HELLO 3", custom(_hello_keys, "HELLO keys")),
    ],
    "hello_errors": [
        KEEP_GOING,
        "HELLO 4", "HELLO 1", "HELLO 0", "HELLO -1", "HELLO abc", "HELLO 3.0", "HELLO ''", "HELLO 9223372036854775808",
        "HELLO 3 FOO", "HELLO 3 AUTH", "HELLO 3 AUTH default", "HELLO 3 SETNAME", "HELLO 3 SETNAME 'a b'",
        "HELLO 3 SETNAME 'a\nb'", "HELLO 3 AUTH nouser pw", "HELLO 4 AUTH default x", "GET nokey", "HELLO 2 FOO",
        "GET nokey",
    ],
    "hello_auth_setname": [
        ("HELLO 3 AUTH default anything", hello_mode()), "GET nokey", "CLIENT GETNAME",
        ("HELLO 2 SETNAME myname", hello_mode()), "CLIENT GETNAME", ("HELLO 3 AUTH default x SETNAME other", hello_mode()),
        "CLIENT GETNAME", ("HELLO 2 setname third auth default y", hello_mode()), "CLIENT GETNAME", "GET nokey",
        ("HELLO 3 SETNAME ''", hello_mode()), "CLIENT GETNAME",
    ],
    "auth_without_password": [
        KEEP_GOING,
        "AUTH foo", "AUTH default foo", "AUTH default ''", "AUTH nouser foo", "AUTH a b c", "AUTH", "PING",
    ],
    "quit": ["SET k v", "QUIT", ExpectClosed(), On(1, "GET k")],
    "quit_with_args": ["QUIT now please", ExpectClosed()],
    "reset": [
        "SELECT 3", "SET k v3", ("HELLO 3", TYPE), "CLIENT SETNAME named", "MULTI", "SET k other", "RESET",
        "GET k", "CLIENT GETNAME", "EXEC", "PING", "HELLO 2 FOO", "SELECT 3", "GET k", "RESET x",
    ],
    "reset_clears_watch": [
        "SET k v", "WATCH k", "RESET", On(1, "SET k changed"), "MULTI", "GET k", "EXEC",
    ],
    "time_dbsize": [
        ("TIME", IGNORE_VALUE), "TIME x", "DBSIZE", "SET a 1", "DBSIZE", ("HELLO 3", TYPE), ("TIME", IGNORE_VALUE),
        "DBSIZE",
    ],
    "command_count_info": [
        ("COMMAND COUNT", TYPE), "COMMAND COUNT x", ("COMMAND INFO get set", COMMAND_INFO),
        ("COMMAND INFO GET", COMMAND_INFO), ("COMMAND INFO incr incrbyfloat mset mget del expire", COMMAND_INFO),
        ("COMMAND INFO ping echo multi exec watch", COMMAND_INFO), ("COMMAND INFO lcs getex copy scan", COMMAND_INFO),
        "COMMAND INFO nosuchcommand", ("COMMAND INFO get nosuch", COMMAND_INFO), ("COMMAND INFO", TYPE),
    ],
    "role": ["SET k v", "ROLE", "ROLE x", ("COMMAND INFO role move", COMMAND_INFO), ("HELLO 3", TYPE), "ROLE"],
    "command_info_resp3": [
        ("HELLO 3", TYPE), ("COMMAND INFO get set mset", COMMAND_INFO), "COMMAND INFO nosuchcommand",
        ("COMMAND COUNT", TYPE),
    ],
    "command_getkeys": [
        KEEP_GOING,
        "COMMAND GETKEYS SET k v", "COMMAND GETKEYS set k v EX 10", "COMMAND GETKEYS MSET a 1 b 2 c 3",
        "COMMAND GETKEYS GET k", "COMMAND GETKEYS MGET a b c", "COMMAND GETKEYS DEL a b", "COMMAND GETKEYS COPY a b",
        "COMMAND GETKEYS RENAME a b", "COMMAND GETKEYS LCS a b", "COMMAND GETKEYS", "COMMAND GETKEYS foo a",
        "COMMAND GETKEYS GET", "COMMAND GETKEYS GET a b", "COMMAND GETKEYS MSET a", "COMMAND GETKEYS PING",
        "COMMAND GETKEYS SET k", "COMMAND FOO", ("COMMAND HELP", TYPE),
    ],
    "config_get": [
        "CONFIG GET maxmemory", "CONFIG GET databases", "CONFIG GET DATABASES",
        ("CONFIG GET *max-*-entries*", pairs(ignore_values=True)), ("CONFIG GET maxmemory databases", pairs()),
        "CONFIG GET nosuchparam", "CONFIG GET maxmemory-policy", ("CONFIG GET maxmemory*", pairs(ignore_values=True)),
        "CONFIG GET", "CONFIG", "CONFIG FOO", ("CONFIG HELP", TYPE),
    ],
    "config_get_resp3": [
        ("HELLO 3", TYPE), "CONFIG GET maxmemory", "CONFIG GET nosuchparam",
        ("CONFIG GET *max-*-entries*", pairs(ignore_values=True)),
    ],
    "config_set_errors": [
        KEEP_GOING,
        "CONFIG SET nosuchparam 1", "CONFIG SET maxmemory abc", "CONFIG SET maxmemory", "CONFIG SET",
        "CONFIG SET maxmemory 0 databases", "CONFIG SET databases 32", "CONFIG SET maxmemory-policy nosuchpolicy",
        "CONFIG SET maxmemory 0 maxmemory 0", "CONFIG GET maxmemory", "CONFIG RESETSTAT", "CONFIG RESETSTAT x",
    ],
    "client_commands": [
        ("CLIENT ID", TYPE), "CLIENT GETNAME", "CLIENT SETNAME myconn", "CLIENT GETNAME", "CLIENT SETNAME 'a b'",
        "CLIENT SETNAME 'a\nb'", "CLIENT GETNAME", "CLIENT SETNAME ''", "CLIENT GETNAME", "CLIENT SETNAME",
        "CLIENT SETNAME a b", "CLIENT GETNAME x", "CLIENT ID x", "CLIENT", "CLIENT FOO", ("CLIENT HELP", TYPE),
        "CLIENT SETNAME myconn", ("CLIENT INFO", CLIENT_INFO), "SELECT 4", ("CLIENT INFO", CLIENT_INFO),
        ("CLIENT LIST", TYPE), ("CLIENT LIST TYPE normal", TYPE), "CLIENT LIST TYPE foo", "CLIENT LIST FOO",
        ("CLIENT INFO", contains(b"name=myconn")),
    ],
    # CLIENT SETINFO is a Redis 7.2 command that crdt-redis implements on purpose (the issue
    # asks for it; redis-py 8 sends it on connect): 7.0.15 answers "unknown subcommand", so it
    # is tested in tests/test_cmd_server.py instead (documented in docs/semantics.md).
    "client_resp3": [
        ("HELLO 3", TYPE), ("CLIENT ID", TYPE), "CLIENT GETNAME", "CLIENT SETNAME x", "CLIENT GETNAME",
        ("CLIENT INFO", TYPE), ("CLIENT LIST", TYPE), ("CLIENT INFO", CLIENT_INFO),
    ],
    "info": [
        ("INFO", contains(b"# Server")), ("INFO server", contains(b"redis_version:7.0")),
        ("INFO SERVER", contains(b"redis_version:7.0")), ("INFO keyspace", IGNORE_VALUE), "SET a 1",
        "SET b 2 EX 100", ("INFO keyspace", contains(b"db0:keys=2,expires=1")), "SELECT 9", "SET c 3",
        ("INFO keyspace", contains(b"db9:keys=1,expires=0")), ("INFO clients", contains(b"connected_clients:")),
        ("INFO server clients", contains(b"# Clients")), ("INFO all", contains(b"# Keyspace")),
        ("INFO default", contains(b"# Server")), ("INFO everything", contains(b"# Keyspace")),
        ("INFO stats", contains(b"total_commands_processed:")), ("INFO memory", contains(b"used_memory:")),
        ("INFO persistence", contains(b"loading:0")), ("INFO replication", contains(b"role:master")),
        "INFO nosuchsection",
    ],
    "info_resp3": [("HELLO 3", TYPE), ("INFO server", contains(b"redis_version:7.0"))],
    "unknown_command": [
        KEEP_GOING,
        "FOO", "FOO a b", "foo a b", "FOO a b c d", ["FOO", "x" * 200], ["FOO", *(["arg"] * 50)],
        ["FOO", "a\r\nb"], [""], ["", "x"], ["GET\r\n", "k"], "NOSUCH", ["FOO", b"\xff\xfe"],
    ],
    "unknown_subcommand": [
        KEEP_GOING,
        "CLIENT FOO", "CONFIG FOO x", "COMMAND FOO", "OBJECT FOO", "CLIENT FOO a b",
    ],
    "wrong_arity": [
        KEEP_GOING,
        "GET", "SET k", "PING a b", "ECHO", "DBSIZE x", "TIME x", "SELECT", "INCR", "DEL", "EXISTS", "MGET",
        "MSET a", "EXPIRE k", "TTL", "TYPE", "KEYS", "SCAN", "RENAME a", "COPY a", "APPEND k", "STRLEN",
        "GETRANGE k 0", "SETRANGE k 0", "LCS a", "MULTI x", "EXEC x", "DISCARD x", "WATCH", "UNWATCH x",
        "AUTH", "CLIENT", "CONFIG", "COMMAND GETKEYS", "OBJECT", "FLUSHALL a b", "HELLO 3 AUTH x", "RESET x",
        "RANDOMKEY x", "SETNX k", "GETSET k", "SETEX k 1", "PSETEX k 1", "GETDEL", "GETEX", "DECRBY k",
        "INCRBYFLOAT k", "TOUCH", "UNLINK", "PERSIST", "EXPIRETIME", "PEXPIRE k", "SUBSTR k 0",
    ],
    "wrong_arity_resp3": [KEEP_GOING, ("HELLO 3", TYPE), "GET", "SET k", "FOO a"],
    "inline_commands": [
        Raw(b"PING\r\n"), Raw(b"ECHO hello\r\n"), Raw(b'SET k "a b"\r\n'), Raw(b"GET k\r\n"), Raw(b"ECHO 'x y'\r\n"),
        Raw(b'ECHO "\\x41\\n"\r\n'), Raw(b"ECHO  spaced   out \r\n"), Raw(b"ping\n"), Raw(b"\r\nPING\r\n"),
        Raw(b"*0\r\n*1\r\n$4\r\nPING\r\n"), Raw(b"*-1\r\n*1\r\n$4\r\nPING\r\n"), Raw(b"SET k2 v\r\n"), "GET k2",
        Raw(b"FOO bar\r\n"), Raw(b"GET\r\n"), Raw(b"ECHO ''\r\n"), Raw(b'ECHO "a"b\r\n'),
    ],
    "protocol_errors": [
        Raw(b'ECHO "unbalanced\r\n', conn=1), ExpectClosed(1),
        Raw(b"*1\r\n$-5\r\n", conn=2), ExpectClosed(2),
        Raw(b"*abc\r\n", conn=3), ExpectClosed(3),
        Raw(b"*1\r\n$999999999999\r\n", conn=4), ExpectClosed(4),
        Raw(b"*1\r\nfoo\r\n", conn=5), ExpectClosed(5),
        Raw(b"*1\r\n$abc\r\n", conn=6), ExpectClosed(6),
        Raw(b"*99999999999\r\n", conn=7), ExpectClosed(7),
        Raw(b"*2\r\n$4\r\nECHO\r\n:1\r\n", conn=8), ExpectClosed(8),
        "PING",
    ],
    "resp3_null_forms": [
        ("HELLO 3", TYPE), "GET nokey", "MGET nokey k2", "CLIENT GETNAME", "OBJECT ENCODING nokey", "MULTI",
        "EXEC", "RANDOMKEY", ("KEYS *", UNORDERED),
    ],
}


@pytest.mark.parametrize("case", scripts(SERVER))
def test_server(diff: Differ, case: ScriptCase) -> None:
    diff.run(case)
