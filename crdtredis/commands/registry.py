"""The one command table: name, arity, flags, key positions, handler.

Modules under commands/ register handlers with the `command` decorator, in the manner of
Redis's src/commands/*.json: negative arity means "at least |arity| arguments including
the name". A handler validates everything before touching state, emits effects through
the node, and returns a reply value (see reply.py), never encoded bytes.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from ..reply import Reply

if TYPE_CHECKING:
    from ..client import Client
    from ..node import Node

Handler = Callable[["Node", "Client", list[bytes]], Reply]


class Command:
    __slots__ = (
        "name", "handler", "arity", "flags", "first_key", "last_key", "step", "group",
        "summary", "since", "acl", "calls", "errors", "nsec", "write", "noauth",
        "subcommands", "parent", "getkeys",
    )

    def __init__(
        self,
        name: str,
        handler: Handler,
        arity: int,
        flags: tuple[str, ...],
        first_key: int,
        last_key: int,
        step: int,
        group: str,
        summary: str,
        since: str,
        acl: tuple[str, ...],
        getkeys: Callable[[list[bytes]], list[int]] | None = None,
    ) -> None:
        self.name = name
        self.handler = handler
        self.arity = arity
        self.flags = flags
        self.first_key = first_key
        self.last_key = last_key
        self.step = step
        self.group = group
        self.summary = summary
        self.since = since
        self.acl = acl
        self.calls = 0
        self.errors = 0
        # Nanoseconds, not µs: a GET takes well under 1 µs, so summing whole µs per call
        # would count it as 0 (INFO shows `usec`).
        self.nsec = 0
        self.write = "write" in flags
        self.noauth = "no_auth" in flags
        self.subcommands: dict[bytes, Command] = {}
        self.parent: Command | None = None
        # For commands whose keys are not a fixed first/last/step range (e.g. LMPOP numkeys).
        self.getkeys = getkeys

    def key_positions(self, argv: list[bytes]) -> list[int]:
        if self.getkeys is not None:
            return self.getkeys(argv)
        if self.first_key == 0:
            return []
        last = self.last_key if self.last_key >= 0 else len(argv) + self.last_key
        return list(range(self.first_key, last + 1, self.step))

    @property
    def usec(self) -> int:
        return self.nsec // 1000

    @usec.setter
    def usec(self, value: int) -> None:
        self.nsec = value * 1000

    @property
    def fullname(self) -> str:
        return f"{self.parent.name}|{self.name}" if self.parent else self.name


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
