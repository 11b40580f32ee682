"""A node's ACL state: its users, the ACL log, and what the node asks of them (who a new
client is, whether a command may run, AUTH), as Redis 7.0's acl.c does.

The node keeps the state per process (`node.acl`): users are node configuration, set by
ACL SETUSER / `aclfile` / `requirepass` on each replica, never replicated. A client whose
user may run anything (the default user, unchanged) pays nothing per command: only a client
authenticated as a restricted user is marked `restricted`, which sends its commands through
the node's checked path, where `check` runs.
"""
from __future__ import annotations

import logging
import os
import time
from typing import TYPE_CHECKING, Any

from .keyspecs import has_keys, keys_with_flags
from .users import (
    RuleError,
    User,
    default_user,
    has_spaces,
    merge_selector_args,
)

if TYPE_CHECKING:
    from ..client import Client
    from ..cmdtable import Command
    from ..node import Node

log = logging.getLogger("crdtredis.acl")

OK, DENIED_CMD, DENIED_KEY, DENIED_AUTH, DENIED_CHANNEL = 0, 1, 2, 3, 4
CTX_TOPLEVEL, CTX_LUA, CTX_MULTI = 0, 1, 2
_REASONS = {DENIED_CMD: b"command", DENIED_KEY: b"key", DENIED_CHANNEL: b"channel", DENIED_AUTH: b"auth"}
_CONTEXTS = {CTX_TOPLEVEL: b"toplevel", CTX_LUA: b"lua", CTX_MULTI: b"multi"}
LOG_GROUPING_MS = 60000

# Channel arguments of the pub/sub commands (db.c ChannelSpecs): (first, count or -1, flags).
SUBSCRIBE, PUBLISH, PATTERN, UNSUBSCRIBE = 1, 2, 4, 8
_CHANNELS = {
    "subscribe": (1, -1, SUBSCRIBE), "ssubscribe": (1, -1, SUBSCRIBE),
    "psubscribe": (1, -1, PATTERN | SUBSCRIBE),
    "publish": (1, 1, PUBLISH), "spublish": (1, 1, PUBLISH),
}

# processCommand's NOPERM texts.
NOPERM_KEY = "NOPERM this user has no permissions to access one of the keys used as arguments"
NOPERM_CHANNEL = "NOPERM this user has no permissions to access one of the channels used as arguments"
WRONGPASS = "WRONGPASS invalid username-password pair or user is disabled."


def noperm_cmd(fullname: str) -> str:
    return f"NOPERM this user has no permissions to run the '{fullname}' command"


def error_text(result: int) -> str:
    """getAclErrorMessage (scripts: "The user executing the script " + this)."""
    if result == DENIED_CMD:
        return "can't run this command or subcommand"
    if result == DENIED_KEY:
        return "can't access at least one of the keys mentioned in the command arguments"
    if result == DENIED_CHANNEL:
        return "can't publish to the channel mentioned in the command"
    return "lacking the permissions for the command"


class LogEntry:
    __slots__ = ("count", "reason", "context", "obj", "username", "ctime", "cinfo")

    def __init__(self, reason: int, context: int, obj: bytes, username: bytes, cinfo: bytes) -> None:
        self.count = 1
        self.reason = reason
        self.context = context
        self.obj = obj
        self.username = username
        self.ctime = int(time.time() * 1000)
        self.cinfo = cinfo


class Acl:
    def __init__(self, node: Node) -> None:
        self.node = node
        self.default = default_user()
        self.users: dict[bytes, User] = {b"default": self.default}
        self.log: list[LogEntry] = []
        if node.config.requirepass:
            self.set_requirepass(node.config.requirepass)

    # ---- who a client is -----------------------------------------------------------------
    def default_authenticated(self) -> bool:
        d = self.default
        return d.nopass and not d.disabled

    def auth_required(self) -> bool:
        """Protected mode and new clients: the default user needs a password (or is off)."""
        return not self.default_authenticated()

    def on_new_client(self, client: Client) -> None:
        client.user = self.default
        client.authenticated = self.default_authenticated()
        self.refresh(client)

    def set_user(self, client: Client, user: User) -> None:
        client.user = user
        self.refresh(client)

    def refresh(self, client: Client) -> None:
        """Mark a client whose commands must be checked (see the module docstring)."""
        user = client.user
        client.restricted = user is not None and not user.unrestricted()
        client.refresh()

    def refresh_user(self, user: User) -> None:
        for c in list(self.node.clients.values()):
            if c.user is user:
                self.refresh(c)

    def set_requirepass(self, password: str | None) -> None:
        """ACLUpdateDefaultUserPassword: requirepass is the default user's one password."""
        d = self.default
        d.apply(b"resetpass")
        d.apply(b">" + password.encode() if password else b"nopass")
        self.refresh_user(d)

    # ---- AUTH ----------------------------------------------------------------------------
    def check_credentials(self, username: bytes, password: bytes) -> User | None:
        u = self.users.get(username)
        if u is None or u.disabled:
            return None
        return u if u.check_password(password) else None

    def authenticate(self, client: Client, username: bytes, password: bytes, argv0: bytes) -> bool:
        """ACLAuthenticateUser: on success the client is that user; a failure is logged."""
        u = self.check_credentials(username, password)
        if u is None:
            self.add_log(client, DENIED_AUTH, CTX_MULTI if client.in_multi else CTX_TOPLEVEL,
                         argv0, username)
            return False
        client.authenticated = True
        self.set_user(client, u)
        return True

    # ---- command checks --------------------------------------------------------------------
    def check_user(self, user: User, cmd: Command, argv: list[bytes]) -> tuple[int, int]:
        """ACLCheckAllUserCommandPerm: (result, index of the key or channel denied)."""
        relevant, last = DENIED_CMD, 0
        keys: list[tuple[int, int]] | None = None
        for s in user.selectors:
            r, idx = OK, 0
            if not s.command_allowed(cmd, argv):
                r = DENIED_CMD
            else:
                if not s.allkeys and has_keys(cmd):
                    if keys is None:
                        keys = keys_with_flags(cmd, argv)
                    for pos, flags in keys:
                        if not s.key_allowed(argv[pos], flags):
                            r, idx = DENIED_KEY, pos
                            break
                if r == OK and not s.allchannels:
                    spec = _CHANNELS.get(cmd.fullname)
                    if spec is not None:
                        first, count, flags = spec
                        end = len(argv) if count < 0 else min(first + count, len(argv))
                        for pos in range(first, end):
                            if not s.channel_allowed(argv[pos], bool(flags & PATTERN)):
                                r, idx = DENIED_CHANNEL, pos
                                break
            if r == OK:
                return OK, 0
            if r > relevant or (r == relevant and idx > last):
                relevant, last = r, idx
        return relevant, last

    def check(self, client: Client, cmd: Command, argv: list[bytes]) -> str | None:
        """processCommand's ACL step: None, or the NOPERM error (and a log entry)."""
        user = client.user
        if user is None:
            return None
        r, idx = self.check_user(user, cmd, argv)
        if r == OK:
            return None
        self.add_log(client, r, CTX_MULTI if client.in_multi else CTX_TOPLEVEL,
                     cmd.fullname.encode() if r == DENIED_CMD else argv[idx])
        if r == DENIED_CMD:
            return noperm_cmd(cmd.fullname)
        if r == DENIED_KEY:
            return NOPERM_KEY
        return NOPERM_CHANNEL

    def check_exec(self, client: Client, cmd: Command, argv: list[bytes]) -> str | None:
        """EXEC re-checks each queued command: the rules may have changed meanwhile."""
        user = client.user
        if user is None:
            return None
        r, idx = self.check_user(user, cmd, argv)
        if r == OK:
            return None
        self.add_log(client, r, CTX_MULTI, cmd.fullname.encode() if r == DENIED_CMD else argv[idx])
        reason = {
            DENIED_CMD: "no permission to execute the command or subcommand",
            DENIED_KEY: "no permission to touch the specified keys",
            DENIED_CHANNEL: "no permission to access one of the channels used as arguments",
        }[r]
        return ("NOPERM ACLs rules changed between the moment the transaction was accumulated and "
                f"the EXEC call. This command is no longer allowed for the following reason: {reason}")

    def check_script(self, caller: Client, cmd: Command, argv: list[bytes]) -> str | None:
        """scriptVerifyACL: the script's commands run as its caller's user."""
        user = caller.user
        if user is None or not caller.restricted:
            return None
        r, idx = self.check_user(user, cmd, argv)
        if r == OK:
            return None
        self.add_log(caller, r, CTX_LUA, cmd.fullname.encode() if r == DENIED_CMD else argv[idx])
        return "The user executing the script " + error_text(r)

    # ---- the ACL log -----------------------------------------------------------------------
    def add_log(self, client: Client, reason: int, context: int, obj: bytes,
                username: bytes | None = None) -> None:
        """addACLLogEntry: a similar entry of the last minute (among the 10 newest) is bumped."""
        name = username if username is not None else (client.user.name if client.user else b"default")
        caller = client
        script = self.node.scripting
        if client.script and script is not None and script.ctx is not None:
            caller = script.ctx.caller
        e = LogEntry(reason, context, obj, name, caller.info_line().encode())
        for i, cur in enumerate(self.log[:10]):
            if (cur.reason == e.reason and cur.context == e.context and abs(cur.ctime - e.ctime)
                    <= LOG_GROUPING_MS and cur.obj == e.obj and cur.username == e.username):
                cur.cinfo = e.cinfo
                cur.ctime = e.ctime
                cur.count += 1
                del self.log[i]
                self.log.insert(0, cur)
                return
        self.log.insert(0, e)
        maxlen = _int(self.node.runtime.get("acllog-max-len", "128"), 128)
        del self.log[max(maxlen, 0):]

    def log_reply(self, count: int) -> list[Any]:
        from ..reply import Map

        now = int(time.time() * 1000)
        out: list[Any] = []
        for e in self.log[:count]:
            out.append(Map([
                (b"count", e.count),
                (b"reason", _REASONS.get(e.reason, b"unknown")),
                (b"context", _CONTEXTS.get(e.context, b"unknown")),
                (b"object", e.obj),
                (b"username", e.username),
                (b"age-seconds", (now - e.ctime) / 1000),
                (b"client-info", e.cinfo),
            ]))
        return out

    # ---- changing users --------------------------------------------------------------------
    def setuser(self, name: bytes, args: list[bytes]) -> str | None:
        """ACLStringSetUser: every rule is tried on a copy first; None or Redis's error."""
        merged = merge_selector_args(args)
        if isinstance(merged, int):
            return (f"ERR Unmatched parenthesis in acl selector starting at "
                    f"'{args[merged].decode('utf-8', 'replace')}'.")
        u = self.users.get(name)
        temp = u.copy() if u is not None else User(name)
        for op in merged:
            try:
                temp.apply(op)
            except RuleError as e:
                return f"ERR Error in ACL SETUSER modifier '{op.decode('utf-8', 'replace')}': {e}"
        if u is None:
            self.users[name] = temp
            return None
        self._kill_pubsub_if_needed(temp, u)
        u.assign(temp)
        self.refresh_user(u)
        return None

    def deluser(self, names: list[bytes]) -> int | str:
        if any(n == b"default" for n in names):
            return "ERR The 'default' user cannot be removed"
        deleted = 0
        for n in names:
            u = self.users.pop(n, None)
            if u is not None:
                self._kill_clients_of(u)
                deleted += 1
        return deleted

    def _kill_clients_of(self, user: User) -> None:
        """ACLFreeUserAndKillClients: the user's connections close (after the reply, for
        the one running this command)."""
        for c in list(self.node.clients.values()):
            if c.user is user:
                c.user = self.default
                c.authenticated = False
                self.refresh(c)
                c.close()

    def _kill_pubsub_if_needed(self, new: User, old: User) -> None:
        """ACLKillPubsubClientsIfNeeded: subscribers whose channels the new rules forbid."""
        if any(s.allchannels for s in new.selectors):
            return
        upcoming = [ch for s in new.selectors for ch in s.channels]
        if not any(s.allchannels for s in old.selectors) and \
                all(ch in upcoming for s in old.selectors for ch in s.channels):
            return
        for c in list(self.node.clients.values()):
            if c.user is not old or not c.pubsub:
                continue
            bad = any(p not in upcoming for p in c.psubs) or any(
                not any(_match(pat, ch) for pat in upcoming) for ch in (*c.subs, *c.ssubs))
            if bad:
                c.close()

    # ---- the ACL file ----------------------------------------------------------------------
    def aclfile(self) -> str:
        return self.node.runtime.get("aclfile", "") or ""

    def load_file(self, path: str) -> str | None:
        """ACLLoadFromFile: all or nothing; None, or the errors in one line."""
        try:
            with open(path, "rb") as f:
                text = f.read()
        except OSError as e:
            return f"Error loading ACLs, opening file '{path}': {e.strerror}"
        fname = path
        errors: list[str] = []
        users: dict[bytes, User] = {}
        for lineno, raw in enumerate(text.split(b"\n"), 1):
            line = raw.strip(b" \t\r\n")
            if not line:
                continue
            argv = line.split(b" ")  # sdssplitlen: each space splits (empty rules are no-ops)
            if argv[0] != b"user" or len(argv) < 2:
                errors.append(f"{fname}:{lineno} should start with user keyword followed by the username. ")
                continue
            name = argv[1]
            if has_spaces(name):
                errors.append(f"'{fname}:{lineno}: username '{name.decode('utf-8', 'replace')}' "
                              "contains invalid characters. ")
                continue
            if name in users:
                errors.append(f"WARNING: Duplicate user '{name.decode('utf-8', 'replace')}' found on line "
                              f"{lineno}. ")
                continue
            u = users[name] = User(name)
            merged = merge_selector_args(argv[2:])
            if isinstance(merged, int):
                errors.append(f"{fname}:{lineno}: Unmatched parenthesis in selector definition.")
                continue
            syntax = False
            for op in merged:
                op = op.strip(b"\t\r\n")
                try:
                    u.apply(op)
                except RuleError as e:
                    if str(e).startswith("Unknown command"):
                        errors.append(f"{fname}:{lineno}: Error in applying operation "
                                      f"'{op.decode('utf-8', 'replace')}': {e}. ")
                    elif not syntax:
                        errors.append(f"{fname}:{lineno}: {e}. ")
                        syntax = True
        if errors:
            return "".join(errors) + ("WARNING: ACL errors detected, no change to the previously active "
                                      "ACL rules was performed")
        new_default = users.pop(b"default", None) or default_user()
        old = self.users
        self.default.assign(new_default)
        self.users = {b"default": self.default, **users}
        # The old user objects are gone: their clients close, as in Redis (only the default
        # user object survives a load).
        for u in old.values():
            if u is not self.default:
                self._kill_clients_of(u)
        self.refresh_user(self.default)
        return None

    def save_file(self, path: str) -> bool:
        """ACLSaveToFile: temp file, then rename (the old file or the new one, never half)."""
        body = b"".join(b"user " + n + b" " + self.users[n].describe() + b"\n" for n in sorted(self.users))
        tmp = f"{path}.tmp-{os.getpid()}-{int(time.time() * 1000)}"
        try:
            with open(tmp, "wb") as f:
                f.write(body)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        except OSError as e:
            log.warning("Writing ACL file for ACL SAVE: %s", e.strerror)
            try:
                os.unlink(tmp)
            except OSError:
                pass
            return False
        return True


def _match(pattern: bytes, channel: bytes) -> bool:
    from ..glob import stringmatch

    return stringmatch(pattern, channel)


def _int(text: str, default: int) -> int:
    try:
        return int(text)
    except ValueError:
        return default
