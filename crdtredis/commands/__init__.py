"""Command modules; importing one registers its handlers in registry.COMMANDS."""
from __future__ import annotations

import importlib

# Every module of commands/ that registers handlers. A new type adds one line here.
MODULES = (
    "strings",
    "keys",
    "server",
    "transactions",
    "persistence",
    "replication",
    "lists",
    "sets",
    "hashes",
    "zsets",
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
