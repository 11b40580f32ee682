"""Connection commands: PING ECHO HELLO AUTH SELECT QUIT RESET, and the registry of hooks
RESET runs (`register_reset_hook`) for parts that keep more per-connection state.

None of these touch the keyspace's CRDT state: they read the node and change the session
(client.py). Replies and error texts follow Redis 7.0.15, checked against a real server
(tests/test_cmd_server.py); where we deviate, the handler's comment says why.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import crdtredis

from .. import errors
from ..crdt.numbers import parse_int
from ..reply import OK, PONG, ErrorReply, Map, Reply, Status
from .helpers import valid_client_name
from .registry import command
from .transactions import discard_transaction

if TYPE_CHECKING:
    from ..client import Client
    from ..node import Node

INT_MIN, INT_MAX = -(1 << 31), (1 << 31) - 1

ResetHook = Callable[["Node", "Client"], None]
# Run by RESET after the built-in session reset (pub/sub unsubscribes, tracking...).
RESET_HOOKS: list[ResetHook] = []


def register_reset_hook(fn: ResetHook) -> None:
    if fn not in RESET_HOOKS:
        RESET_HOOKS.append(fn)


# ======================================================================================
# Connection
# ======================================================================================

# PING [message]
@command("ping", -1, "fast", group="connection", summary="Ping the server", acl="connection")
def ping_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    if len(argv) > 2:
        return ErrorReply(errors.wrong_arity("ping"))
    if client.resp == 2 and client.special and client.pubsub:
        # In RESP2 pub/sub mode a reply must look like a message: ["pong", arg or ""].
        return [b"pong", argv[1] if len(argv) == 2 else b""]
    return argv[1] if len(argv) == 2 else PONG


# ECHO message
@command("echo", 2, "loading stale fast", group="connection", summary="Echo the given string",
         acl="connection")
def echo_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    return argv[1]


def _authenticate(node: Node, client: Client, user: bytes, password: bytes, argv0: bytes) -> str | None:
    """ACLAuthenticateUser: None when user/password authenticate (the client is then that
    user), else WRONGPASS (and an ACL LOG entry)."""
    if node.acl.authenticate(client, user, password, argv0):
        return None
    return errors.WRONGPASS


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
            if not valid_client_name(name):
                return ErrorReply(errors.CLIENT_NAME_INVALID)
            i += 2
        else:
            return ErrorReply(errors.hello_syntax(argv[i]))
    if user is not None:
        err = _authenticate(node, client, user, password, argv[0])
        if err is not None:
            return ErrorReply(err)
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
        if node.acl.default.nopass:
            return ErrorReply(errors.AUTH_NOT_SET)
        user, password = b"default", argv[1]
    else:
        user, password = argv[1], argv[2]
    err = _authenticate(node, client, user, password, argv[0])
    if err is not None:
        return ErrorReply(err)
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


__all__ = ["register_reset_hook"]
