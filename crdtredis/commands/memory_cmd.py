"""MEMORY USAGE and MEMORY HELP (Redis object.c memoryCommand) for every type.

The size is an estimate, like Redis's: the value's Python objects are walked (arrays, byte
strings and containers by their allocated size), and as in Redis's objectComputeSize an
aggregate with more elements than SAMPLES (default 5, 0 = all) is measured on the first
SAMPLES of them and extrapolated. It includes the CRDT metadata a value carries (stamps,
tombstones), so it is what the key costs here, not what Redis would use. MEMORY STATS,
DOCTOR, MALLOC-STATS and PURGE are in memory_stats.py.
"""
from __future__ import annotations

import sys
from array import array
from itertools import islice
from typing import TYPE_CHECKING, Any

from .. import errors
from ..crdt.numbers import parse_int
from ..reply import CommandError, Reply, Status
from .helpers import db_of, lookup_read
from .registry import command

if TYPE_CHECKING:
    from ..client import Client
    from ..node import Node

DEFAULT_SAMPLES = 5
# What a key costs besides its value: the dict slot holding it (hash, key, value).
KEY_SLOT = 3 * 8 + 24

_FLAT = (bytes, bytearray, str, int, float, bool, type(None), array, memoryview)
_SLOTS: dict[type, tuple[str, ...]] = {}


def _slots(t: type) -> tuple[str, ...]:
    s = _SLOTS.get(t)
    if s is None:
        names: list[str] = []
        for k in t.__mro__:
            for n in getattr(k, "__slots__", ()):
                if n not in names and n != "__weakref__":
                    names.append(n)
        s = _SLOTS[t] = tuple(names)
    return s


def deep_size(o: Any, samples: int, depth: int = 0) -> int:
    """Estimated bytes of `o` and what it holds (sampling aggregates, see module doc)."""
    if isinstance(o, _FLAT) or depth > 12:
        return sys.getsizeof(o)
    base = sys.getsizeof(o)
    if isinstance(o, dict):
        n = len(o)
        if not n:
            return base
        k = min(n, samples)
        part = sum(deep_size(a, samples, depth + 1) + deep_size(b, samples, depth + 1)
                   for a, b in islice(o.items(), k))
        return base + part * n // k
    if isinstance(o, list | tuple | set | frozenset):
        n = len(o)
        if not n:
            return base
        k = min(n, samples)
        part = sum(deep_size(x, samples, depth + 1) for x in islice(o, k))
        return base + part * n // k
    slots = _slots(type(o))
    if slots:
        for name in slots:
            v = getattr(o, name, None)
            if v is not None:
                base += deep_size(v, samples, depth + 1)
    d = getattr(o, "__dict__", None)
    if d:
        base += deep_size(d, samples, depth + 1)
    return base


# MEMORY <subcommand> [<arg> ...]
@command("memory", -2, "", group="server", summary="A container for memory diagnostics commands",
         since="4.0.0", acl="slow")
def memory_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    raise CommandError(errors.unknown_subcommand(argv[1], "memory"))


# MEMORY USAGE key [SAMPLES count]
@command("usage", -3, "readonly", 2, 2, 1, group="server", summary="Estimate the memory usage of a key",
         since="4.0.0", acl="read slow", parent="memory")
def memory_usage_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    samples = DEFAULT_SAMPLES
    j = 3
    while j < len(argv):
        if argv[j].lower() == b"samples" and j + 1 < len(argv):
            v = parse_int(argv[j + 1])
            if v is None:
                raise CommandError(errors.NOT_INTEGER)
            if v < 0:
                raise CommandError(errors.SYNTAX)
            samples = v or (1 << 62)
            j += 2
        else:
            raise CommandError(errors.SYNTAX)
    key = argv[2]
    e = lookup_read(node, db_of(node, client), key)
    if e is None:
        return None
    return deep_size(e, samples) + sys.getsizeof(key) + KEY_SLOT


_MEMORY_HELP = [
    "MEMORY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "DOCTOR",
    "    Return memory problems reports.",
    "MALLOC-STATS",
    "    Return internal statistics report from the memory allocator.",
    "PURGE",
    "    Attempt to purge dirty pages for reclamation by the allocator.",
    "STATS",
    "    Return information about the memory usage of the server.",
    "USAGE <key> [SAMPLES <count>]",
    "    Return memory in bytes used by <key> and its value. Nested values are",
    "    sampled up to <count> times (default: 5, 0 means sample all).",
    "HELP",
    "    Prints this help.",
]


# MEMORY HELP
@command("help", 2, "loading stale", group="server", summary="Show helpful text about the different subcommands",
         since="4.0.0", acl="slow", parent="memory")
def memory_help_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    return [Status(line.encode()) for line in _MEMORY_HELP]
