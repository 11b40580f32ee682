"""CLIENT REPLY, NO-EVICT, UNBLOCK, TRACKING, CACHING, GETREDIR, TRACKINGINFO: the CLIENT
subcommands that change how the server talks to a connection (Redis networking.c
clientCommand). CLIENT PAUSE/UNPAUSE live in pause.py; the others in client_cmds.py.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .. import errors
from ..client import REPLY_OFF, REPLY_ON, REPLY_SKIP_NEXT
from ..crdt.numbers import parse_int
from ..reply import OK, ErrorReply, Map, Reply, SetReply
from .registry import command

if TYPE_CHECKING:
    from ..client import Client
    from ..node import Node

_ADMIN = "admin noscript loading stale"


# CLIENT REPLY ON|OFF|SKIP
@command("reply", 3, "noscript loading stale", group="connection",
         summary="Instruct the server whether to reply to commands", since="3.2.0", acl="connection",
         parent="client")
def client_reply_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    # OFF and SKIP have no reply of their own: the connection drops it (connection.py).
    mode = argv[2].lower()
    if mode == b"on":
        client.reply_mode = REPLY_ON
    elif mode == b"off":
        client.reply_mode = REPLY_OFF
    elif mode == b"skip":
        if client.reply_mode != REPLY_OFF:
            client.reply_mode = REPLY_SKIP_NEXT
    else:
        return ErrorReply(errors.SYNTAX)
    client.refresh()
    return OK


# CLIENT NO-EVICT ON|OFF  (we never evict clients for memory; the flag shows as "e")
@command("no-evict", 3, _ADMIN, group="connection",
         summary="Set client eviction mode for the current connection", since="7.0.0",
         acl="connection", parent="client")
def client_no_evict_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    mode = argv[2].lower()
    if mode not in (b"on", b"off"):
        return ErrorReply(errors.SYNTAX)
    client.no_evict = mode == b"on"
    return OK


# CLIENT UNBLOCK client-id [TIMEOUT|ERROR]
@command("unblock", -3, _ADMIN, group="connection",
         summary="Unblock a client blocked in a blocking command from a different connection",
         since="5.0.0", acl="connection", parent="client")
def client_unblock_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    if len(argv) > 4:
        return ErrorReply(errors.subcommand_syntax(argv[1], "client"))
    error = False
    if len(argv) == 4:
        reason = argv[3].lower()
        if reason == b"error":
            error = True
        elif reason != b"timeout":
            return ErrorReply(errors.UNBLOCK_REASON)
    cid = parse_int(argv[2])
    if cid is None:
        return ErrorReply(errors.NOT_INTEGER)
    target = node.clients.get(cid)
    # Only clients in a blocking command (BLPOP, WAIT...) can be unblocked; a client
    # parked by CLIENT PAUSE is not, as in Redis (its command has not started).
    if target is None or target.unblocker is None:
        return 0
    target.unblocker(error)
    return 1


# CLIENT TRACKING ON|OFF [REDIRECT id] [BCAST] [PREFIX p [PREFIX p ...]] [OPTIN] [OPTOUT] [NOLOOP]
@command("tracking", -3, "noscript loading stale", group="connection",
         summary="Enable or disable server assisted client side caching support", since="6.0.0",
         acl="connection", parent="client")
def client_tracking_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    redir = 0
    bcast = optin = optout = noloop = False
    prefixes: list[bytes] = []
    j = 3
    n = len(argv)
    while j < n:
        opt = argv[j].lower()
        more = n - 1 - j
        if opt == b"redirect" and more:
            j += 1
            if redir != 0:
                return ErrorReply(errors.TRACKING_ONE_REDIRECT)
            v = parse_int(argv[j])
            if v is None:
                return ErrorReply(errors.NOT_INTEGER)
            if v not in node.clients:
                return ErrorReply(errors.TRACKING_NO_REDIRECT_CLIENT)
            redir = v
        elif opt == b"bcast":
            bcast = True
        elif opt == b"optin":
            optin = True
        elif opt == b"optout":
            optout = True
        elif opt == b"noloop":
            noloop = True
        elif opt == b"prefix" and more:
            j += 1
            prefixes.append(argv[j])
        else:
            return ErrorReply(errors.SYNTAX)
        j += 1
    mode = argv[2].lower()
    if mode == b"off":
        node.tracking.disable(client)
        return OK
    if mode != b"on":
        return ErrorReply(errors.SYNTAX)
    t = client.tracking
    if not bcast and prefixes:
        return ErrorReply(errors.TRACKING_PREFIX_NEEDS_BCAST)
    if t is not None and t.bcast != bcast:
        return ErrorReply(errors.TRACKING_BCAST_SWITCH)
    if bcast and (optin or optout):
        return ErrorReply(errors.TRACKING_OPT_BCAST)
    if optin and optout:
        return ErrorReply(errors.TRACKING_OPTIN_OPTOUT)
    if t is not None and ((optin and t.optout) or (optout and t.optin)):
        return ErrorReply(errors.TRACKING_OPT_SWITCH)
    if bcast:
        err = _prefix_collision(client, prefixes)
        if err is not None:
            return ErrorReply(err)
    node.tracking.enable(client, redir, bcast, optin, optout, noloop, prefixes)
    return OK


def _prefix_collision(client: Client, prefixes: list[bytes]) -> str | None:
    """checkPrefixCollisionsOrReply: two prefixes collide when one starts the other."""
    have = client.tracking.prefixes if client.tracking is not None else []
    for i, p in enumerate(prefixes):
        for old in have:
            if old.startswith(p) or p.startswith(old):
                return errors.prefix_overlaps_existing(p, old)
        for q in prefixes[i + 1:]:
            if q.startswith(p) or p.startswith(q):
                return errors.prefix_overlaps_other(p, q)
    return None


# CLIENT CACHING YES|NO
@command("caching", 3, "noscript loading stale", group="connection",
         summary="Instruct the server about tracking or not keys in the next request", since="6.0.0",
         acl="connection", parent="client")
def client_caching_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    t = client.tracking
    if t is None:
        return ErrorReply(errors.CACHING_NOT_TRACKING)
    opt = argv[2].lower()
    if opt == b"yes":
        if not t.optin:
            return ErrorReply(errors.CACHING_YES_OPTIN)
    elif opt == b"no":
        if not t.optout:
            return ErrorReply(errors.CACHING_NO_OPTOUT)
    else:
        return ErrorReply(errors.SYNTAX)
    t.caching = True
    return OK


# CLIENT GETREDIR
@command("getredir", 2, "noscript loading stale", group="connection",
         summary="Get tracking notifications redirection client ID if any", since="6.0.0",
         acl="connection", parent="client")
def client_getredir_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    t = client.tracking
    return t.redirect if t is not None else -1


# CLIENT TRACKINGINFO
@command("trackinginfo", 2, "noscript loading stale", group="connection",
         summary="Return information about server assisted client side caching for the current connection",
         since="6.2.0", acl="connection", parent="client")
def client_trackinginfo_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    t = client.tracking
    flags: list[Any] = [b"on" if t is not None else b"off"]
    if t is not None:
        if t.bcast:
            flags.append(b"bcast")
        if t.optin:
            flags.append(b"optin")
            if t.caching:
                flags.append(b"caching-yes")
        if t.optout:
            flags.append(b"optout")
            if t.caching:
                flags.append(b"caching-no")
        if t.noloop:
            flags.append(b"noloop")
        if t.broken:
            flags.append(b"broken_redirect")
    return Map([
        (b"flags", SetReply(flags)),
        (b"redirect", t.redirect if t is not None else -1),
        (b"prefixes", list(t.prefixes) if t is not None else []),
    ])
