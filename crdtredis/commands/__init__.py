"""Command modules; importing one registers its handlers in registry.COMMANDS.

`command_table()` loads them all and returns the table a Node dispatches through;
`new_node()` builds a Node with it. Everything that makes a Node (the server, tools,
tests, benchmarks) goes through `new_node`: node.py itself imports nothing from here.
"""
from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from ..cmdtable import CommandTable
from ..node import Node
from .registry import COMMANDS

if TYPE_CHECKING:
    from ..config import Config

# Every module of commands/ that registers handlers. A new type adds one line here.
# Loading order is registration order (a module's imports may load another one first, e.g.
# connection -> transactions), which is the order COMMAND and INFO commandstats list.
MODULES = (
    "acl_cmd",
    "strings",
    "keys",
    "rename",
    "connection",
    "server",
    "introspection",
    "config_cmd",
    "client_cmds",
    "client_ctl",
    "pause",
    "monitor",
    "pubsub",
    "session",
    "transactions",
    "persistence",
    "replication",
    "lists",
    "streams",
    "stream_read",
    "stream_groups",
    "sort",
    "dump_cmds",
    "migrate",
    "memory_cmd",
    "sets",
    "hashes",
    "zsets",
    "zset_pop",
    "zset_setops",
    "bits",
    "hyperloglog",
    "geo",
    "scripting",
    "functions",
    "script_flags",
    "cluster_cmds",
    "slowlog",
    "latency",
    "memory_cmd",
    "memory_stats",
    "maxmemory",
)

_loaded = False


def load_all() -> None:
    global _loaded
    if _loaded:
        return
    for name in MODULES:
        importlib.import_module(f"{__name__}.{name}")
    # Every CRDT module registers its effect apply functions on import.
    importlib.import_module("crdtredis.crdt.keys")
    _loaded = True


def command_table() -> CommandTable:
    """Every command registered, plus what the node needs from the command layer."""
    load_all()
    # Imported once load_all has run, so that registration keeps the MODULES order.
    from . import session
    from .config_cmd import default_runtime
    from .transactions import discard_transaction

    return CommandTable(
        commands=COMMANDS,
        default_runtime=default_runtime,
        drop_client=session.drop_client,
        discard_transaction=discard_transaction,
        attach=_attach,
        hooked_command=session.hooked_command,
        before_call=session.before_call,
        after_call=session.after_call,
    )


def _attach(node: Node) -> None:
    """Install the per-node state of the command layer: ACL first (clients made by the
    others already get a user), then the session features."""
    from . import acl_cmd, maxmemory, session, slowlog

    acl_cmd.attach(node)
    session.attach(node)
    slowlog.attach(node)
    maxmemory.attach(node)


def new_node(config: Config, incarnation: str | None = None) -> Node:
    """A Node running every command (`incarnation`: see Node; a fresh one when None)."""
    return Node(config, command_table(), incarnation=incarnation)
