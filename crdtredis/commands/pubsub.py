"""SUBSCRIBE UNSUBSCRIBE PSUBSCRIBE PUNSUBSCRIBE SSUBSCRIBE SUNSUBSCRIBE PUBLISH SPUBLISH
PUBSUB (CHANNELS NUMSUB NUMPAT SHARDCHANNELS SHARDNUMSUB HELP): Redis 7.0 pubsub.c.

Confirmations are `Push` replies (one message per channel, RESP3 `>`, RESP2 arrays) so
that CLIENT REPLY OFF does not silence them, as Redis marks them CLIENT_PUSHING. What a
subscribed RESP2 client may run is checked in commands/session.py. PUBLISH answers the
number of receivers at this replica; the message also goes to every other replica
(docs/semantics.md, "Pub/sub").
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .. import errors
from ..glob import compile_pattern
from ..reply import ErrorReply, Push, Reply
from .helpers import help_reply
from .registry import command

if TYPE_CHECKING:
    from ..client import Client
    from ..node import Node


def _count(client: Client) -> int:
    # Redis clientSubscriptionsCount: channels + patterns (shard channels count apart).
    return len(client.subs) + len(client.psubs)


# SUBSCRIBE channel [channel ...]
@command("subscribe", -2, "pubsub noscript loading stale", group="pubsub",
         summary="Listen for messages published to the given channels", since="2.0.0")
def subscribe_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    ps = node.pubsub
    msgs: list[list[Any]] = []
    for ch in argv[1:]:
        ps.subscribe(client, ch)
        msgs.append([b"subscribe", ch, _count(client)])
    client.refresh()
    return Push(msgs)


# UNSUBSCRIBE [channel [channel ...]]
@command("unsubscribe", -1, "pubsub noscript loading stale", group="pubsub",
         summary="Stop listening for messages posted to the given channels", since="2.0.0")
def unsubscribe_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    ps = node.pubsub
    msgs: list[list[Any]] = []
    for ch in argv[1:] if len(argv) > 1 else list(client.subs):
        ps.unsubscribe(client, ch)
        msgs.append([b"unsubscribe", ch, _count(client)])
    if not msgs:
        msgs.append([b"unsubscribe", None, _count(client)])
    client.refresh()
    return Push(msgs)


# PSUBSCRIBE pattern [pattern ...]
@command("psubscribe", -2, "pubsub noscript loading stale", group="pubsub",
         summary="Listen for messages published to channels matching the given patterns",
         since="2.0.0")
def psubscribe_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    ps = node.pubsub
    msgs: list[list[Any]] = []
    for pat in argv[1:]:
        ps.psubscribe(client, pat)
        msgs.append([b"psubscribe", pat, _count(client)])
    client.refresh()
    return Push(msgs)


# PUNSUBSCRIBE [pattern [pattern ...]]
@command("punsubscribe", -1, "pubsub noscript loading stale", group="pubsub",
         summary="Stop listening for messages posted to channels matching the given patterns",
         since="2.0.0")
def punsubscribe_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    ps = node.pubsub
    msgs: list[list[Any]] = []
    for pat in argv[1:] if len(argv) > 1 else list(client.psubs):
        ps.punsubscribe(client, pat)
        msgs.append([b"punsubscribe", pat, _count(client)])
    if not msgs:
        msgs.append([b"punsubscribe", None, _count(client)])
    client.refresh()
    return Push(msgs)


# SSUBSCRIBE shardchannel [shardchannel ...]
@command("ssubscribe", -2, "pubsub noscript loading stale", 1, -1, 1, group="pubsub",
         summary="Listen for messages published to the given shard channels", since="7.0.0")
def ssubscribe_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    if client.in_exec:
        # Redis sets CLIENT_DENY_BLOCKING while EXEC runs; SSUBSCRIBE refuses it (unlike
        # SUBSCRIBE, which makes an exception for MULTI).
        return ErrorReply(errors.SSUBSCRIBE_DENY_BLOCKING)
    ps = node.pubsub
    msgs: list[list[Any]] = []
    for ch in argv[1:]:
        ps.ssubscribe(client, ch)
        msgs.append([b"ssubscribe", ch, len(client.ssubs)])
    client.refresh()
    return Push(msgs)


# SUNSUBSCRIBE [shardchannel [shardchannel ...]]
@command("sunsubscribe", -1, "pubsub noscript loading stale", 1, -1, 1, group="pubsub",
         summary="Stop listening for messages posted to the given shard channels", since="7.0.0")
def sunsubscribe_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    ps = node.pubsub
    msgs: list[list[Any]] = []
    for ch in argv[1:] if len(argv) > 1 else list(client.ssubs):
        ps.sunsubscribe(client, ch)
        msgs.append([b"sunsubscribe", ch, len(client.ssubs)])
    if not msgs:
        msgs.append([b"sunsubscribe", None, len(client.ssubs)])
    client.refresh()
    return Push(msgs)


# PUBLISH channel message
@command("publish", 3, "pubsub loading stale fast may_replicate", group="pubsub",
         summary="Post a message to a channel", since="2.0.0")
def publish_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    return node.pubsub.publish(argv[1], argv[2])  # type: ignore[no-any-return]


# SPUBLISH shardchannel message
@command("spublish", 3, "pubsub loading stale fast may_replicate", 1, 1, 1, group="pubsub",
         summary="Post a message to a shard channel", since="7.0.0")
def spublish_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    return node.pubsub.publish(argv[1], argv[2], True)  # type: ignore[no-any-return]


# ---- PUBSUB ---------------------------------------------------------------------------------
@command("pubsub", -2, "", group="pubsub", summary="A container for Pub/Sub commands", since="2.8.0")
def pubsub_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    return ErrorReply(errors.unknown_subcommand(argv[1] if len(argv) > 1 else b"", "pubsub"))


def _channel_list(names: list[bytes], argv: list[bytes]) -> Reply:
    if len(argv) > 3:
        return ErrorReply(errors.subcommand_syntax(argv[1], "pubsub"))
    if len(argv) == 2:
        return names
    match = compile_pattern(argv[2])
    return [n for n in names if match(n)]


# PUBSUB CHANNELS [pattern]
@command("channels", -2, "pubsub loading stale", group="pubsub", summary="List active channels",
         since="2.8.0", parent="pubsub")
def pubsub_channels_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    return _channel_list(list(node.pubsub.channels), argv)


# PUBSUB SHARDCHANNELS [pattern]
@command("shardchannels", -2, "pubsub loading stale", group="pubsub",
         summary="List active shard channels", since="7.0.0", parent="pubsub")
def pubsub_shardchannels_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    return _channel_list(list(node.pubsub.shard), argv)


# PUBSUB NUMSUB [channel ...]
@command("numsub", -2, "pubsub loading stale", group="pubsub",
         summary="Get the count of subscribers for channels", since="2.8.0", parent="pubsub")
def pubsub_numsub_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    out: list[Any] = []
    for ch in argv[2:]:
        out += [ch, node.pubsub.numsub(ch)]
    return out


# PUBSUB SHARDNUMSUB [shardchannel ...]
@command("shardnumsub", -2, "pubsub loading stale", group="pubsub",
         summary="Get the count of subscribers for shard channels", since="7.0.0", parent="pubsub")
def pubsub_shardnumsub_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    out: list[Any] = []
    for ch in argv[2:]:
        out += [ch, node.pubsub.numsub(ch, True)]
    return out


# PUBSUB NUMPAT
@command("numpat", 2, "pubsub loading stale", group="pubsub",
         summary="Get the count of unique patterns pattern subscriptions", since="2.8.0",
         parent="pubsub")
def pubsub_numpat_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    return len(node.pubsub.patterns)


_PUBSUB_HELP = (
    "PUBSUB <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "CHANNELS [<pattern>]",
    "    Return the currently active channels matching a <pattern> (default: '*').",
    "NUMPAT",
    "    Return number of subscriptions to patterns.",
    "NUMSUB [<channel> ...]",
    "    Return the number of subscribers for the specified channels, excluding",
    "    pattern subscriptions(default: no channels).",
    "SHARDCHANNELS [<pattern>]",
    "    Return the currently active shard level channels matching a <pattern> (default: '*').",
    "SHARDNUMSUB [<shardchannel> ...]",
    "    Return the number of subscribers for the specified shard level channel(s)",
    "HELP",
    "    Prints this help.",
)


# PUBSUB HELP
@command("help", 2, "loading stale", group="pubsub",
         summary="Show helpful text about the different subcommands", since="6.2.0", parent="pubsub")
def pubsub_help_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    return help_reply(_PUBSUB_HELP)
