"""Which arguments of a command are keys, and how it uses each one (Redis key specs).

`keys_with_flags(cmd, argv)` is Redis 7.0's getKeysFromCommandWithSpecs: the key specs of
src/commands/*.json (keyspecs_data.py) interpreted as getKeysUsingKeySpecs does, and, where
a spec cannot be (an `unknown` or INCOMPLETE spec, VARIABLE_FLAGS), the command's own key
finder (Command.key_positions) with the flags Redis's getkeys procs give (sortGetKeys,
setGetKeys, bitfieldGetKeys). ACL key patterns (`%R~`, `%W~`) and COMMAND GETKEYSANDFLAGS
read the flags.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..crdt.numbers import parse_int
from .keyspecs_data import SPECS

if TYPE_CHECKING:
    from ..cmdtable import Command

RO, RW, OW, RM = 1 << 0, 1 << 1, 1 << 2, 1 << 3
ACCESS, UPDATE, INSERT, DELETE = 1 << 4, 1 << 5, 1 << 6, 1 << 7
NOT_KEY, INCOMPLETE, VARIABLE_FLAGS = 1 << 8, 1 << 9, 1 << 10

_BITS = {
    "RO": RO, "RW": RW, "OW": OW, "RM": RM, "ACCESS": ACCESS, "UPDATE": UPDATE,
    "INSERT": INSERT, "DELETE": DELETE, "NOT_KEY": NOT_KEY, "INCOMPLETE": INCOMPLETE,
    "VARIABLE_FLAGS": VARIABLE_FLAGS,
}
# addReplyFlagsForKeyArgs's names, in its order.
FLAG_NAMES = (
    (RO, b"RO"), (RW, b"RW"), (OW, b"OW"), (RM, b"RM"), (ACCESS, b"access"), (UPDATE, b"update"),
    (INSERT, b"insert"), (DELETE, b"delete"), (NOT_KEY, b"not_key"), (INCOMPLETE, b"incomplete"),
    (VARIABLE_FLAGS, b"variable_flags"),
)


class Spec:
    __slots__ = ("flags", "begin", "find")

    def __init__(self, flags: str, begin: tuple[Any, ...], find: tuple[Any, ...]) -> None:
        bits = 0
        for name in flags.split("|"):
            if name:
                bits |= _BITS[name]
        self.flags = bits
        self.begin = begin
        self.find = find


_SPECS: dict[str, tuple[Spec, ...]] = {
    name: tuple(Spec(*s) for s in specs) for name, specs in SPECS.items()
}
_NONE: tuple[Spec, ...] = ()


def specs_of(cmd: Command) -> tuple[Spec, ...]:
    return _SPECS.get(cmd.fullname, _NONE)


def flag_names(flags: int) -> list[bytes]:
    return [name for bit, name in FLAG_NAMES if flags & bit]


class _Invalid(Exception):
    pass


def _from_specs(specs: tuple[Spec, ...], argv: list[bytes]) -> list[tuple[int, int]]:
    """getKeysUsingKeySpecs; raises _Invalid where Redis falls back to the getkeys proc."""
    argc = len(argv)
    out: list[tuple[int, int]] = []
    for spec in specs:
        if spec.flags & NOT_KEY:
            continue
        b = spec.begin
        if b[0] == "index":
            first = b[1]
        elif b[0] == "keyword":
            kw, start = b[1].encode(), b[2]
            first = 0
            # Redis stops before argc - 1 (a keyword there names no key) or before 1.
            if start > 0:
                rng = range(start, argc - 1)
            else:
                rng = range(argc + start, 1, -1)
            for i in rng:
                if i >= argc or i < 1:
                    break
                if argv[i].lower() == kw.lower():
                    first = i + 1
                    break
            if not first:
                continue
        else:
            raise _Invalid
        f = spec.find
        if f[0] == "range":
            lastkey, step, limit = f[1], f[2], f[3]
            if lastkey >= 0:
                last = first + lastkey
            elif not limit:
                last = argc + lastkey
            else:
                last = first + ((argc - first) // limit + lastkey)
        elif f[0] == "keynum":
            idx, firstkey, step = f[1], f[2], f[3]
            if first + idx >= argc:
                raise _Invalid
            numkeys = parse_int(argv[first + idx])
            if numkeys is None or numkeys < 0:
                raise _Invalid
            first += firstkey
            last = first + numkeys - 1
        else:
            raise _Invalid
        if last >= argc or last < first or first >= argc:
            raise _Invalid
        out.extend((i, spec.flags) for i in range(first, last + 1, step) if i < argc)
        if spec.flags & INCOMPLETE:
            raise _Invalid
    return out


def keys_with_flags(cmd: Command, argv: list[bytes]) -> list[tuple[int, int]]:
    """(argument index, key-spec flags) of every key `argv` names (Redis
    getKeysFromCommandWithSpecs with GET_KEYSPEC_DEFAULT)."""
    specs = specs_of(cmd)
    if specs and not any(s.flags & VARIABLE_FLAGS for s in specs) \
            and any(not s.flags & NOT_KEY for s in specs):
        try:
            return _from_specs(specs, argv)
        except _Invalid:
            pass
    try:
        pos = [p for p in cmd.key_positions(argv) if 0 < p < len(argv)]
    except Exception:  # noqa: BLE001 - a key finder choking on bad input finds no keys
        return []
    return [(p, _proc_flags(cmd, specs, argv, p, i)) for i, p in enumerate(pos)]


def _proc_flags(cmd: Command, specs: tuple[Spec, ...], argv: list[bytes], pos: int, nth: int) -> int:
    """The flags Redis's getkeys procs give a key the specs could not place."""
    name = cmd.fullname
    if name == "set":
        if any(a.lower() == b"get" for a in argv[3:]):
            return RW | ACCESS | UPDATE
        return OW | UPDATE
    if name == "bitfield":
        return RO | ACCESS if _bitfield_readonly(argv) else RW | ACCESS | UPDATE
    if not specs:
        return RW | ACCESS | UPDATE if cmd.write else RO | ACCESS
    # sortGetKeys and the like: the first key as the first spec says, later ones (STORE
    # destinations) as the last spec says.
    return specs[0].flags if nth == 0 else specs[-1].flags


def _bitfield_readonly(argv: list[bytes]) -> bool:
    i = 2
    n = len(argv)
    while i < n:
        rem = n - i - 1
        a = argv[i].lower()
        if a == b"get" and rem >= 2:
            i += 3
        elif a in (b"set", b"incrby") and rem >= 3:
            return False
        elif a == b"overflow" and rem >= 1:
            i += 2
        else:
            return False
    return True


def has_keys(cmd: Command) -> bool:
    """doesCommandHaveKeys."""
    if cmd.getkeys is not None:
        return True
    specs = specs_of(cmd)
    if specs:
        return any(not s.flags & NOT_KEY for s in specs)
    return cmd.first_key > 0
