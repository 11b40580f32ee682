"""CLIENT and its subcommands: ID SETNAME GETNAME SETINFO LIST INFO KILL NO-TOUCH HELP.
REPLY NO-EVICT UNBLOCK TRACKING CACHING GETREDIR TRACKINGINFO are in client_ctl.py,
PAUSE UNPAUSE in pause.py.

None of these touch the keyspace's CRDT state: they read the node and change the session
(client.py). Replies and error texts follow Redis 7.0.15, checked against a real server
(tests/test_cmd_server.py); where we deviate, the handler's comment says why.
"""
from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from .. import errors
from ..crdt.numbers import parse_int
from ..reply import OK, ErrorReply, Reply, Verbatim
from .helpers import help_reply, valid_client_name
from .registry import command

if TYPE_CHECKING:
    from ..client import Client
    from ..node import Node


def _s(b: bytes) -> str:
    return b.decode("utf-8", "replace")


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


def type_of(c: Client) -> str:
    """Redis getClientType: a subscribed client is "pubsub"; MONITOR clients are "normal"."""
    return "pubsub" if c.pubsub else c.kind


def _request_size(argv: list[bytes]) -> int:
    # The bytes of the request as sent: Redis's qbuf still holds the running command.
    return len(b"*%d\r\n" % len(argv)) + sum(len(b"$%d\r\n" % len(a)) + len(a) + 2 for a in argv)


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
    if not valid_client_name(argv[2]):
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
    if not valid_client_name(val):
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
    client.qbuf = _request_size(argv)
    try:
        return _client_list(node, argv)
    finally:
        client.qbuf = 0


def _client_list(node: Node, argv: list[bytes]) -> Reply:
    if len(argv) == 2:
        return Verbatim(_client_list_text(node.clients.values()))
    if len(argv) == 4 and argv[2].lower() == b"type":
        kind = _client_type(argv[3])
        if kind is None:
            return ErrorReply(errors.unknown_client_type(argv[3]))
        return Verbatim(_client_list_text(c for c in node.clients.values() if type_of(c) == kind))
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
    client.qbuf = _request_size(argv)
    try:
        return Verbatim(_client_list_text([client]))
    finally:
        client.qbuf = 0


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
        if (cid is not None and c.id != cid) or (kind is not None and type_of(c) != kind):
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


# CLIENT NO-TOUCH ON|OFF  (Redis 7.2; accepted; we keep no LRU/LFU clock to protect)
@command("no-touch", 3, "noscript loading stale", group="connection",
         summary="Controls whether commands sent by the client will alter the LRU/LFU of the keys they access.",
         since="7.2.0", acl="connection", parent="client")
def client_no_touch_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    return _on_off(argv)


_CLIENT_HELP = (
    "CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "CACHING (YES|NO)",
    "    Enable/disable tracking of the keys for next command in OPTIN/OPTOUT modes.",
    "GETREDIR",
    "    Return the client ID we are redirecting to when tracking is enabled.",
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
    "UNPAUSE",
    "    Stop the current client pause, resuming traffic.",
    "PAUSE <timeout> [WRITE|ALL]",
    "    Suspend all, or just write, clients for <timeout> milliseconds.",
    "REPLY (ON|OFF|SKIP)",
    "    Control the replies sent to the current connection.",
    "SETNAME <name>",
    "    Assign the name <name> to the current connection.",
    "SETINFO <option> <value>",
    "    Set client meta attr. Options are:",
    "    * LIB-NAME: the client lib name.",
    "    * LIB-VER: the client lib version.",
    "UNBLOCK <clientid> [TIMEOUT|ERROR]",
    "    Unblock the specified blocked client.",
    "TRACKING (ON|OFF) [REDIRECT <id>] [BCAST] [PREFIX <prefix> [...]]",
    "         [OPTIN] [OPTOUT] [NOLOOP]",
    "    Control server assisted client side caching.",
    "TRACKINGINFO",
    "    Report tracking status for the current connection.",
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
    return help_reply(_CLIENT_HELP)
