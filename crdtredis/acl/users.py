"""ACL users and selectors as Redis 7.0 has them (src/acl.c): the rules ACL SETUSER takes,
the permission checks, and the description ACL LIST / GETUSER / SAVE print.

A user has flags (on/off, nopass, sanitize-payload), SHA-256 password hashes and selectors;
the first selector is the root one (the rules outside parentheses), each `(...)` adds
another, and a command is allowed when any selector allows it. A selector holds the
commands it allows (a set, where Redis keeps a bitmap of command ids, plus Redis's reserved
"future commands" bit that only `+@all` sets), first arguments allowed for otherwise
denied commands (`+select|0`), key patterns with their permissions (`~`, `%R~`, `%W~`) and
channel patterns (`&`).

Users are configuration of this node, not replicated data (docs/semantics.md, "ACL").
"""
from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import TYPE_CHECKING

from ..commands.introspection import acl_categories
from ..commands.registry import COMMANDS
from ..glob import stringmatch

if TYPE_CHECKING:
    from ..cmdtable import Command

# ACLCommandCategories, in Redis's order (ACL CAT, the describe algorithm).
CATEGORIES = (
    "keyspace", "read", "write", "set", "sortedset", "list", "hash", "string", "bitmap",
    "hyperloglog", "geo", "stream", "pubsub", "admin", "fast", "slow", "blocking", "dangerous",
    "connection", "transaction", "scripting",
)
READ, WRITE = 1, 2
ALL_PERMS = READ | WRITE
HASH_LEN = 64

# The ACLSetUser errno texts (ACLSetUserStringError).
E_SYNTAX = "Syntax error"
E_UNKNOWN = "Unknown command or category name in ACL"
E_KEYS_AFTER_ALL = ("Adding a pattern after the * pattern (or the 'allkeys' flag) is not valid and "
                    "does not have any effect. Try 'resetkeys' to start with an empty list of patterns")
E_CHANNELS_AFTER_ALL = ("Adding a pattern after the * pattern (or the 'allchannels' flag) is not valid "
                        "and does not have any effect. Try 'resetchannels' to start with an empty list "
                        "of channels")
E_NO_PASSWORD = "The password you are trying to remove from the user does not exist"
E_BAD_HASH = "The password hash must be exactly 64 characters and contain only lowercase hexadecimal characters"
E_FIRSTARG_SUB = "Allowing first-arg of a subcommand is not supported"


class RuleError(Exception):
    """An ACL rule Redis refuses; the message is Redis's errno text."""


def hash_password(pw: bytes) -> str:
    return hashlib.sha256(pw).hexdigest()


def _valid_hash(h: bytes) -> bool:
    return len(h) == HASH_LEN and all(c in b"0123456789abcdef" for c in h)


def has_spaces(s: bytes) -> bool:
    """ACLStringHasSpaces: C isspace() or a NUL anywhere."""
    return any(c in b" \t\n\v\f\r\0" for c in s)


# ---- the command universe ----------------------------------------------------------------
def all_commands() -> Iterator[Command]:
    """Every command and subcommand, parents first (the describe order)."""
    for c in COMMANDS.values():
        yield c
        yield from c.subcommands.values()


_CAT_CACHE: dict[str, list[Command]] = {}


def category_commands(cat: str) -> list[Command]:
    """Commands (and subcommands) of a category, Redis's implicit categories included."""
    cmds = _CAT_CACHE.get(cat)
    if cmds is None:
        cmds = _CAT_CACHE[cat] = [c for c in all_commands() if cat in acl_categories(c)]
    return cmds


def lookup_command(name: bytes) -> Command | None:
    """ACLLookupCommand: "get" or "config|get", any case."""
    parts = name.lower().split(b"|")
    cmd = COMMANDS.get(parts[0])
    if cmd is None or len(parts) == 1:
        return cmd
    if len(parts) > 2:
        return None
    return cmd.subcommands.get(parts[1])


# ---- selectors ---------------------------------------------------------------------------
# acl-pubsub-default: whether new selectors (and `reset`) get allchannels. Redis keeps it
# in the server's global state too; CONFIG SET sets it (commands/acl_cmd.py).
PUBSUB_DEFAULT = {"allchannels": False}


class Selector:
    __slots__ = ("root", "allowed", "future", "allcmds", "firstargs", "allkeys", "patterns",
                 "allchannels", "channels")

    def __init__(self, root: bool = False) -> None:
        self.root = root
        self.allowed: set[Command] = set()
        self.future = False  # Redis's reserved command bit: set by +@all, cleared by -@all
        self.allcmds = False  # SELECTOR_FLAG_ALLCOMMANDS: cleared by any removal
        self.firstargs: dict[Command, list[bytes]] = {}
        self.allkeys = False
        self.patterns: list[list[object]] = []  # [pattern bytes, READ|WRITE]
        self.allchannels = PUBSUB_DEFAULT["allchannels"]  # acl-pubsub-default (Redis ACLCreateSelector)
        self.channels: list[bytes] = []

    def copy(self) -> Selector:
        s = Selector(self.root)
        s.allowed = set(self.allowed)
        s.future = self.future
        s.allcmds = self.allcmds
        s.firstargs = {c: list(v) for c, v in self.firstargs.items()}
        s.allkeys = self.allkeys
        s.patterns = [list(p) for p in self.patterns]
        s.allchannels = self.allchannels
        s.channels = list(self.channels)
        return s

    # -- rules (ACLSetSelector) ------------------------------------------------------------
    def _set_bit(self, cmd: Command, allow: bool) -> None:
        if allow:
            self.allowed.add(cmd)
        else:
            self.allowed.discard(cmd)
            self.allcmds = False

    def change_perm(self, cmd: Command, allow: bool) -> None:
        """ACLChangeSelectorPerm: a container's subcommands follow it."""
        self._set_bit(cmd, allow)
        self.firstargs.pop(cmd, None)
        for sub in cmd.subcommands.values():
            self._set_bit(sub, allow)

    def set_category(self, cat: str, allow: bool) -> None:
        for cmd in category_commands(cat):
            self.change_perm(cmd, allow)

    def apply(self, op: bytes) -> None:
        low = op.lower()
        if low in (b"allkeys", b"~*"):
            self.allkeys = True
            self.patterns = []
        elif low == b"resetkeys":
            self.allkeys = False
            self.patterns = []
        elif low in (b"allchannels", b"&*"):
            self.allchannels = True
            self.channels = []
        elif low == b"resetchannels":
            self.allchannels = False
            self.channels = []
        elif low in (b"allcommands", b"+@all"):
            self.allowed = set(all_commands())
            self.future = True
            self.allcmds = True
            self.firstargs = {}
        elif low in (b"nocommands", b"-@all"):
            self.allowed = set()
            self.future = False
            self.allcmds = False
            self.firstargs = {}
        elif op[:1] in (b"~", b"%"):
            self._add_pattern(op)
        elif op[:1] == b"&":
            if self.allchannels:
                raise RuleError(E_CHANNELS_AFTER_ALL)
            if has_spaces(op[1:]):
                raise RuleError(E_SYNTAX)
            if op[1:] not in self.channels:
                self.channels.append(op[1:])
            self.allchannels = False
        elif op[:1] == b"+" and op[1:2] != b"@":
            self._allow(op[1:])
        elif op[:1] == b"-" and op[1:2] != b"@":
            cmd = lookup_command(op[1:])
            if cmd is None:
                raise RuleError(E_UNKNOWN)
            self.change_perm(cmd, False)
        elif op[:2] in (b"+@", b"-@"):
            cat = op[2:].lower().decode("latin-1")
            if cat not in CATEGORIES:
                raise RuleError(E_UNKNOWN)
            self.set_category(cat, op[:1] == b"+")
        else:
            raise RuleError(E_SYNTAX)

    def _add_pattern(self, op: bytes) -> None:
        if self.allkeys:
            raise RuleError(E_KEYS_AFTER_ALL)
        flags = 0
        off = 1
        if op[:1] == b"%":
            while off < len(op):
                c = op[off:off + 1].upper()
                if c == b"R" and not flags & READ:
                    flags |= READ
                elif c == b"W" and not flags & WRITE:
                    flags |= WRITE
                elif c == b"~":
                    off += 1
                    break
                else:
                    raise RuleError(E_SYNTAX)
                off += 1
        else:
            flags = ALL_PERMS
        pat = op[off:]
        if has_spaces(pat):
            raise RuleError(E_SYNTAX)
        for p in self.patterns:
            if p[0] == pat:
                p[1] = int(p[1]) | flags  # type: ignore[call-overload]
                break
        else:
            self.patterns.append([pat, flags])
        self.allkeys = False

    def _allow(self, name: bytes) -> None:
        if b"|" not in name:
            cmd = lookup_command(name)
            if cmd is None:
                raise RuleError(E_UNKNOWN)
            self.change_perm(cmd, True)
            return
        base, sub = name.rsplit(b"|", 1)
        cmd = lookup_command(base)
        if cmd is None:
            raise RuleError(E_UNKNOWN)
        if cmd.parent is not None:
            raise RuleError(E_FIRSTARG_SUB)
        if not sub:
            raise RuleError(E_SYNTAX)
        if cmd.subcommands:
            subcmd = lookup_command(name)
            if subcmd is None:
                raise RuleError(E_UNKNOWN)
            self.change_perm(subcmd, True)
        else:
            # The first-arg form (+select|0): deprecated in Redis, still honoured.
            args = self.firstargs.setdefault(cmd, [])
            if not any(a.lower() == sub.lower() for a in args):
                args.append(sub)

    # -- checks (ACLSelectorCheckCmd and friends) ------------------------------------------
    def command_allowed(self, cmd: Command, argv: list[bytes]) -> bool:
        if self.allcmds or cmd.noauth or cmd in self.allowed:
            return True
        args = self.firstargs.get(cmd)
        if not args or len(argv) < 2:
            return False
        idx = 2 if cmd.parent is not None else 1
        if idx >= len(argv):
            return False
        a = argv[idx].lower()
        return any(x.lower() == a for x in args)

    def key_allowed(self, key: bytes, keyflags: int) -> bool:
        if self.allkeys:
            return True
        from .keyspecs import ACCESS, DELETE, INSERT, UPDATE

        need = (READ if keyflags & ACCESS else 0) | (WRITE if keyflags & (INSERT | DELETE | UPDATE) else 0)
        for pat, flags in self.patterns:
            if int(flags) & need != need:  # type: ignore[call-overload]
                continue
            if stringmatch(pat, key):  # type: ignore[arg-type]
                return True
        return False

    def channel_allowed(self, channel: bytes, is_pattern: bool) -> bool:
        if self.allchannels:
            return True
        for pat in self.channels:
            if (is_pattern and pat == channel) or (not is_pattern and stringmatch(pat, channel)):
                return True
        return False

    def unrestricted(self) -> bool:
        return self.allcmds and self.allkeys and self.allchannels

    # -- description (ACLDescribeSelector) -------------------------------------------------
    def describe_keys(self) -> bytes:
        if self.allkeys:
            return b"~*"
        return b" ".join(_pattern_text(p) for p in self.patterns)

    def describe_channels(self) -> bytes:
        if self.allchannels:
            return b"&*"
        return b" ".join(b"&" + c for c in self.channels)

    def describe(self) -> bytes:
        parts: list[bytes] = []
        if self.allkeys:
            parts.append(b"~*")
        else:
            parts.extend(_pattern_text(p) for p in self.patterns)
        if self.allchannels:
            parts.append(b"&*")
        else:
            parts.append(b"resetchannels")
            parts.extend(b"&" + c for c in self.channels)
        parts.append(self.describe_commands())
        return b" ".join(parts)

    def describe_commands(self) -> bytes:
        """ACLDescribeSelectorCommandRules: +@all or -@all, then the categories that fit
        best, then single commands, then first-args; applied to a scratch selector as it
        goes, so the result always rebuilds exactly this selector's commands."""
        fake = Selector()
        additive = not self.future
        rules = [b"-@all" if additive else b"+@all"]
        fake.apply(rules[0])
        temp = Selector()
        temp.allowed = set(self.allowed)
        applied: set[str] = set()
        while True:
            best = None
            mindiff, maxsame = 1 << 62, 0
            for cat in CATEGORIES:
                if cat in applied:
                    continue
                cmds = category_commands(cat)
                on = sum(1 for c in cmds if c in temp.allowed)
                off = len(cmds) - on
                diff, same = (off, on) if additive else (on, off)
                if same > diff and (diff < mindiff or (diff == mindiff and same > maxsame)):
                    best, mindiff, maxsame = cat, diff, same
            if best is None:
                break
            fake.set_category(best, additive)
            temp.set_category(best, not additive)
            rules.append((b"+@" if additive else b"-@") + best.encode())
            applied.add(best)
        for cmd in all_commands():
            user = cmd in self.allowed
            if user != (cmd in fake.allowed):
                rules.append((b"+" if user else b"-") + cmd.fullname.encode())
                fake.change_perm(cmd, user)
            if not user:
                for a in self.firstargs.get(cmd, ()):
                    rules.append(b"+" + cmd.fullname.encode() + b"|" + a)
        return b" ".join(rules)


def _pattern_text(p: list[object]) -> bytes:
    pat, flags = p
    prefix = {ALL_PERMS: b"~", READ: b"%R~", WRITE: b"%W~"}[int(flags)]  # type: ignore[call-overload]
    return prefix + pat  # type: ignore[operator]


# ---- users -------------------------------------------------------------------------------
class User:
    __slots__ = ("name", "enabled", "disabled", "nopass", "sanitize", "skip_sanitize", "passwords",
                 "selectors")

    def __init__(self, name: bytes) -> None:
        self.name = name
        # Redis keeps both flags: a new user is only "off"; "on" sets one and clears the other.
        self.enabled = False
        self.disabled = True
        self.nopass = False
        self.sanitize = False
        self.skip_sanitize = False
        self.passwords: list[str] = []  # SHA-256 hex digests
        self.selectors: list[Selector] = [Selector(root=True)]

    @property
    def root(self) -> Selector:
        return self.selectors[0]

    def copy(self, name: bytes | None = None) -> User:
        u = User(self.name if name is None else name)
        u.enabled, u.disabled, u.nopass = self.enabled, self.disabled, self.nopass
        u.sanitize, u.skip_sanitize = self.sanitize, self.skip_sanitize
        u.passwords = list(self.passwords)
        u.selectors = [s.copy() for s in self.selectors]
        return u

    def assign(self, other: User) -> None:
        """ACLCopyUser: take `other`'s rules, keep this name (clients keep this object)."""
        c = other.copy(self.name)
        for slot in User.__slots__:
            if slot != "name":
                setattr(self, slot, getattr(c, slot))

    def apply(self, op: bytes) -> None:
        """ACLSetUser: one rule."""
        if not op:
            return
        low = op.lower()
        if low == b"on":
            self.enabled, self.disabled = True, False
        elif low == b"off":
            self.enabled, self.disabled = False, True
        elif low == b"skip-sanitize-payload":
            self.skip_sanitize, self.sanitize = True, False
        elif low == b"sanitize-payload":
            self.skip_sanitize, self.sanitize = False, True
        elif low == b"nopass":
            self.nopass = True
            self.passwords = []
        elif low == b"resetpass":
            self.nopass = False
            self.passwords = []
        elif op[:1] in (b">", b"#"):
            if op[:1] == b">":
                h = hash_password(op[1:])
            else:
                if not _valid_hash(op[1:]):
                    raise RuleError(E_BAD_HASH)
                h = op[1:].decode()
            if h not in self.passwords:
                self.passwords.append(h)
            self.nopass = False
        elif op[:1] in (b"<", b"!"):
            if op[:1] == b"<":
                h = hash_password(op[1:])
            else:
                if not _valid_hash(op[1:]):
                    raise RuleError(E_BAD_HASH)
                h = op[1:].decode()
            if h not in self.passwords:
                raise RuleError(E_NO_PASSWORD)
            self.passwords.remove(h)
        elif op[:1] == b"(" and op[-1:] == b")":
            s = Selector()
            from ..protocol.reader import split_inline

            for part in split_inline(op[1:-1]) or []:
                s.apply(part)
            self.selectors.append(s)
        elif low == b"clearselectors":
            del self.selectors[1:]
        elif low == b"reset":
            for r in (b"resetpass", b"resetkeys", b"resetchannels", b"off", b"sanitize-payload",
                      b"clearselectors", b"-@all"):
                self.apply(r)
                if r == b"resetchannels" and PUBSUB_DEFAULT["allchannels"]:
                    self.apply(b"allchannels")
        else:
            self.root.apply(op)

    def check_password(self, pw: bytes) -> bool:
        if self.nopass:
            return True
        h = hash_password(pw)
        # Every stored hash is compared (Redis compares in constant time per hash).
        ok = False
        for p in self.passwords:
            ok |= _const_eq(h, p)
        return ok

    def unrestricted(self) -> bool:
        return any(s.unrestricted() for s in self.selectors)

    def describe(self) -> bytes:
        """ACLDescribeUser: flags, password hashes, the root selector, then `(...)` ones."""
        parts: list[bytes] = []
        for name, on in ((b"on", self.enabled), (b"off", self.disabled), (b"nopass", self.nopass),
                         (b"skip-sanitize-payload", self.skip_sanitize),
                         (b"sanitize-payload", self.sanitize)):
            if on:
                parts.append(name)
        parts.extend(b"#" + p.encode() for p in self.passwords)
        text = b" ".join(parts)
        for s in self.selectors:
            d = s.describe()
            if s.root:
                text = text + b" " + d if text else d
            else:
                text += b" (" + d + b")"
        return text

    def flag_names(self) -> list[bytes]:
        return [n for n, on in ((b"on", self.enabled), (b"off", self.disabled), (b"nopass", self.nopass),
                                (b"skip-sanitize-payload", self.skip_sanitize),
                                (b"sanitize-payload", self.sanitize)) if on]


def _const_eq(a: str, b: str) -> bool:
    import hmac

    return hmac.compare_digest(a, b)


def default_user() -> User:
    """ACLCreateDefaultUser."""
    u = User(b"default")
    for r in (b"+@all", b"~*", b"&*", b"on", b"nopass"):
        u.apply(r)
    return u


def merge_selector_args(args: list[bytes]) -> list[bytes] | int:
    """ACLMergeSelectorArguments: a `(...)` selector spread over several arguments becomes
    one; an unclosed one returns the index of its first argument."""
    out: list[bytes] = []
    cur: bytes | None = None
    start = -1
    for i, a in enumerate(args):
        if a[:1] == b"(" and a[-1:] != b")" and cur is None:
            cur = a
            start = i
            continue
        if cur is not None:
            cur += b" " + a
            if a[-1:] == b")":
                out.append(cur)
                cur = None
            continue
        out.append(a)
    if cur is not None:
        return start
    return out
