"""The one command table, `COMMANDS`: name -> Command (name, arity, flags, key positions,
handler; the class lives in crdtredis/cmdtable.py, so node.py needs nothing from here).

Modules under commands/ register handlers with the `command` decorator, in the manner of
Redis's src/commands/*.json: negative arity means "at least |arity| arguments including
the name". A handler validates everything before touching state, emits effects through
the node, and returns a reply value (see reply.py), never encoded bytes.
"""
from __future__ import annotations

from collections.abc import Callable

from ..cmdtable import Command, Handler

COMMANDS: dict[bytes, Command] = {}


def command(
    name: str,
    arity: int,
    flags: str = "",
    first_key: int = 0,
    last_key: int = 0,
    step: int = 0,
    group: str = "generic",
    summary: str = "",
    since: str = "1.0.0",
    acl: str = "",
    parent: str | None = None,
    getkeys: Callable[[list[bytes]], list[int]] | None = None,
) -> Callable[[Handler], Handler]:
    """Register a handler. `flags`/`acl` are space-separated Redis flag/category names,
    e.g. flags="write denyoom fast", acl="string". `parent` registers a subcommand
    (CONFIG GET: name="get", parent="config")."""

    def deco(fn: Handler) -> Handler:
        cats = tuple(f"@{a}" for a in acl.split()) if acl else ()
        base_cats = ("@write",) if "write" in flags.split() else (("@read",) if "readonly" in flags.split() else ())
        cmd = Command(
            name.lower(), fn, arity, tuple(flags.split()), first_key, last_key, step, group,
            summary, since, base_cats + cats, getkeys,
        )
        if parent is None:
            key = name.lower().encode()
            if key in COMMANDS:
                raise ValueError(f"command {name} registered twice")
            COMMANDS[key] = cmd
        else:
            p = COMMANDS[parent.lower().encode()]
            cmd.parent = p
            p.subcommands[name.lower().encode()] = cmd
        return fn

    return deco


def lookup(argv: list[bytes]) -> Command | None:
    return COMMANDS.get(argv[0].lower())
