"""ACL, AUTH and HELLO AUTH against a real redis-server, byte for byte: rules and their
errors, ACL LIST/GETUSER descriptions, NOPERM texts for commands, keys (~, %R~, %W~) and
channels (&), selectors, MULTI/EXEC, scripts, the ACL log. Ported in part from Redis's
unit/acl.tcl and unit/auth.tcl (external:skip upstream: they change the server's users).

Both servers are this module's own (a script changes users, which a shared server would
keep): before each script an `admin` user resets every other user."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.differential.harness import (
    IGNORE_VALUE,
    KEEP_GOING,
    TYPE,
    Differ,
    ExpectClosed,
    On,
    Script,
    ScriptCase,
    custom,
    hello_mode,
    own_pair,
    scripts,
)
from tests.support.resp_client import RespConnection, RespMap

ADMIN = ["ACL", "SETUSER", "admin", "on", ">adminpw", "+@all", "~*", "&*"]


@pytest.fixture(scope="module")
def acl_diff(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Differ]:
    with own_pair(tmp_path_factory, "acl") as d:  # ACL users are server-wide
        for side in (d.ref, d.sub):
            with RespConnection(port=side.port) as c:
                assert c.call(*ADMIN) == b"+OK\r\n"
        yield d


def _reset_users(port: int) -> None:
    with RespConnection(port=port) as c:
        assert c.call("AUTH", "admin", "adminpw") == b"+OK\r\n"
        c.call("CONFIG", "SET", "requirepass", "")
        assert c.call("ACL", "SETUSER", "default", "reset", "on", "nopass", "~*", "&*", "+@all") == b"+OK\r\n"
        users = c.call("ACL", "USERS")
        for name in users.split(b"\r\n")[2::2]:
            if name not in (b"default", b"admin"):
                c.call("ACL", "DELUSER", name)
        c.call("ACL", "LOG", "RESET")


def _log_core(value: Any) -> list[Any]:
    """ACL LOG entries without the parts that differ between servers by nature (age,
    client info: ids, ports, memory)."""
    out = []
    for e in value:
        items = list(e) if isinstance(e, RespMap) else list(zip(e[::2], e[1::2], strict=True))
        out.append({bytes(k): v for k, v in items if bytes(k) not in (b"age-seconds", b"client-info")})
    return out


LOG = custom(_log_core, "ACL LOG without age and client-info")


def _len(value: Any) -> int:
    return len(value)


LENGTH = custom(_len, "reply length")


def _canon_rules(text: bytes) -> bytes:
    """Single-command rules (`+hset -get`) after the categories come in Redis's command
    dict order, a hash order: compare them as a set."""
    out: list[bytes] = []
    run: list[bytes] = []
    for tok in text.split(b" "):
        if tok[:1] in (b"+", b"-") and tok[1:2] != b"@":
            run.append(tok)
            continue
        out.extend(sorted(run))
        run = []
        out.append(tok)
    out.extend(sorted(run))
    return b" ".join(out)


def _canon(value: Any) -> Any:
    if isinstance(value, bytes):
        return _canon_rules(value)
    if isinstance(value, RespMap):
        return [(_canon(k), _canon(v)) for k, v in value]
    if isinstance(value, list):
        return [_canon(v) for v in value]
    return value


RULES = custom(_canon, "ACL rules, single commands as a set")
# Redis 7.2 subcommands crdt-redis has (docs/semantics.md, "Deliberate differences").
REDIS_7_2 = {b"client|setinfo", b"client|no-touch"}

ACL: dict[str, Script] = {
    # unit/acl.tcl: users, passwords, flags.
    "connections_start_as_default": ["ACL WHOAMI", "ACL USERS"],
    "new_users_start_disabled": [
        "ACL SETUSER newuser", "ACL LIST", "ACL GETUSER newuser", "AUTH newuser passwd1",
        "ACL SETUSER newuser >passwd1", "AUTH newuser passwd1", "ACL SETUSER newuser on", "AUTH newuser passwd1",
        "ACL WHOAMI", "AUTH newuser wrong",
    ],
    "usernames_no_spaces": [KEEP_GOING, "ACL SETUSER 'a a'", ["ACL", "SETUSER", b"a\x00a"], "ACL SETUSER ''"],
    "passwords_sets_and_hashes": [
        KEEP_GOING,
        "ACL SETUSER u on >p1 >p2 >p3", "AUTH u p1", "AUTH u p2", "AUTH u p3", "AUTH u p4",
        "ACL SETUSER u <p2", "AUTH u p2", "ACL SETUSER u <nosuch",
        "ACL SETUSER u #34344e4d60718c9d0f4f7d2bb2f5c5f7fd6bdf9b1eaae9f0a7c5f1a7d2b1d0a9",
        "ACL SETUSER u #34344e4d60718c9d0f4f7d2bb2f5c5f7fd6bdf9b1eaae9f0a7c5f1a7d2b1d0a9a",
        "ACL SETUSER u #34344E4D60718C9D0F4F7D2BB2F5C5F7FD6BDF9B1EAAE9F0A7C5F1A7D2B1D0A9",
        "ACL SETUSER u #short", "ACL SETUSER u !34344e4d60718c9d0f4f7d2bb2f5c5f7fd6bdf9b1eaae9f0a7c5f1a7d2b1d0a9",
        "ACL SETUSER u !34344e4d60718c9d0f4f7d2bb2f5c5f7fd6bdf9b1eaae9f0a7c5f1a7d2b1d0a9", "ACL GETUSER u",
        "ACL SETUSER u nopass", "AUTH u anything", "ACL SETUSER u resetpass", "AUTH u anything", "ACL LIST",
    ],
    "user_flags_and_reset": [
        "ACL SETUSER f on nopass skip-sanitize-payload", "ACL LIST", "ACL SETUSER f sanitize-payload off",
        "ACL GETUSER f", "ACL SETUSER f reset", "ACL LIST", "ACL SETUSER f allkeys allchannels allcommands",
        "ACL LIST", "ACL SETUSER f resetkeys resetchannels nocommands", "ACL LIST",
    ],
    "setuser_errors": [
        KEEP_GOING,
        "ACL SETUSER u +nosuch", "ACL SETUSER u -nosuch", "ACL SETUSER u +@nosuch", "ACL SETUSER u bogus",
        "ACL SETUSER u ~* ~x", "ACL SETUSER v &* &x", "ACL SETUSER w %X~a", "ACL SETUSER w %RR~a",
        "ACL SETUSER w +config|get|x", "ACL SETUSER w +config|", "ACL SETUSER w +get|", "ACL SETUSER w (+get",
        "ACL SETUSER w (+get ~a", "ACL SETUSER w '(nosuch)'", "ACL SETUSER w '(+get (~a))'",
        "ACL SETUSER w '~a b'", "ACL USERS",
    ],
    "rules_are_all_or_nothing": ["ACL SETUSER u on >x +get", "ACL SETUSER u -get +nosuch", "ACL LIST"],
    # Commands and categories.
    "commands_and_categories": [
        KEEP_GOING,
        "ACL SETUSER u on nopass ~* -@all +@string -get", "AUTH u x", "SET k v", "GET k", "INCR n",
        "LPUSH l a", "PING", "ACL WHOAMI",
    ],
    "nopermissions_by_default": [
        "ACL SETUSER u on nopass", "AUTH u x", "GET k", "PING", "SET k v", "AUTH default x", "ACL GETUSER u",
    ],
    "subcommands": [
        KEEP_GOING,
        "ACL SETUSER u on nopass -@all +client|id +config|get", "AUTH u x", "CLIENT ID x", ("CLIENT ID", TYPE),
        "CLIENT GETNAME", "CONFIG GET maxmemory", "CONFIG SET maxmemory 0", "AUTH default x",
        "ACL SETUSER u +client -client|kill", ("ACL GETUSER u", RULES), "ACL SETUSER u -config +config|set",
        ("ACL GETUSER u", RULES),
    ],
    "first_args": [
        KEEP_GOING,
        "ACL SETUSER u on nopass -@all +select|0 ~*", "AUTH u x", "SELECT 0", "SELECT 1", "SELECT",
        "AUTH default x", "ACL GETUSER u", "ACL LIST",
    ],
    "all_minus_categories": [
        "ACL SETUSER u +@all -@dangerous", "ACL GETUSER u", "ACL SETUSER u +@all -@write", "ACL GETUSER u",
        "ACL SETUSER v -@all +@read +@hash", ("ACL GETUSER v", RULES), "ACL SETUSER w +@all -@keyspace",
        ("ACL GETUSER w", RULES), ("ACL LIST", RULES),
    ],
    # Keys and channels.
    "key_patterns": [
        KEEP_GOING,
        "ACL SETUSER u on nopass +@all ~k* %R~r* %W~w*", "AUTH u x", "SET k1 v", "GET k1", "GET r1", "SET r1 v",
        "SET w1 v", "GET w1", "GETSET w1 v", "COPY r1 w1", "COPY w1 r1", "MSET k1 1 k2 2", "MSET k1 1 x 2",
        "MGET k1 r1", "MGET k1 w1", "LMOVE k1 w1 left right", "LMOVE r1 k1 left right", "OBJECT ENCODING r1",
        "ACL DRYRUN u GET w1", "AUTH default x", "ACL DRYRUN u GET w1", "ACL DRYRUN u SET r1 v",
        "ACL DRYRUN u GET r1", "ACL DRYRUN u LPUSH nokey v", "ACL DRYRUN u CONFIG GET x",
    ],
    "read_write_same_pattern_merges": ["ACL SETUSER u %R~k* %W~k*", "ACL GETUSER u", "ACL LIST"],
    "channels": [
        KEEP_GOING,
        "ACL SETUSER u on nopass +@all ~* resetchannels &news.* &alerts", "AUTH u x", "PUBLISH news.a hi",
        "PUBLISH other hi", "PUBLISH alerts hi", "SPUBLISH news.a hi", "SPUBLISH x hi", "PSUBSCRIBE news.*",
        "AUTH default x", "ACL DRYRUN u PUBLISH x y", "ACL DRYRUN u SUBSCRIBE news.b other",
        "ACL DRYRUN u PSUBSCRIBE news.*", "ACL DRYRUN u PSUBSCRIBE news.a", "ACL GETUSER u",
    ],
    "channel_subscribe_denied": [
        "ACL SETUSER u on nopass +@all ~* resetchannels &a", "AUTH u x", "SUBSCRIBE b", "PSUBSCRIBE *",
        "SUBSCRIBE a",
    ],
    "selectors": [
        KEEP_GOING,
        "ACL SETUSER u on nopass -@all +get ~a* (+set ~b*) (+@hash ~h*)", "AUTH u x", "GET a1", "GET b1", "SET b1 v",
        "SET a1 v", "HSET h1 f v", "HSET a1 f v", "AUTH default x", "ACL GETUSER u", "ACL LIST",
        "ACL SETUSER u clearselectors", "ACL LIST", "ACL SETUSER v on '(+get' '~x)'", "ACL LIST",
        "ACL DRYRUN v GET x", "ACL DRYRUN v GET y",
    ],
    # MULTI/EXEC: queued commands are checked when queued and again at EXEC.
    "multi_noperm_aborts": [
        "ACL SETUSER u on nopass +@all -set ~*", "AUTH u x", "MULTI", "GET k", "SET k v", "EXEC",
    ],
    "exec_rechecks": [
        "ACL SETUSER u on nopass +@all ~*", "AUTH u x", "MULTI", "SET k v", "GET k",
        On(1, "ACL SETUSER u -set"), "EXEC", "AUTH default x",
    ],
    # Scripts: commands run as the caller's user; redis.acl_check_cmd.
    "scripts": [
        KEEP_GOING,
        "ACL SETUSER u on nopass +@all -set ~k* ~x", "AUTH u x",
        "EVAL \"return redis.call('get', KEYS[1])\" 1 k1",
        "EVAL \"return redis.call('set', KEYS[1], 'v')\" 1 k1",
        "EVAL \"return redis.pcall('set', KEYS[1], 'v')\" 1 k1",
        "EVAL \"return redis.call('get', 'other')\" 0",
        "EVAL \"return redis.acl_check_cmd('set', 'k1', 'v')\" 0",
        "EVAL \"return redis.acl_check_cmd('get', 'k1')\" 0",
        "EVAL \"return redis.acl_check_cmd('get', 'zz')\" 0",
        "EVAL \"return redis.acl_check_cmd('nosuch')\" 0",
        "EVAL \"return redis.acl_check_cmd()\" 0",
    ],
    # AUTH / HELLO (unit/auth.tcl).
    "auth_without_password": [KEEP_GOING, "AUTH foo", "AUTH a b c", "AUTH default anything"],
    "requirepass": [
        KEEP_GOING,
        "CONFIG SET requirepass foobar", On(1, "GET k"), On(1, "AUTH wrong!"), On(1, "PING"),
        On(1, "AUTH foobar"), On(1, "SET foo 100"), On(1, "INCR foo"), On(2, "AUTH default foobar"),
        On(2, "ACL WHOAMI"), "ACL LIST", On(3, ("HELLO 3", TYPE)), On(3, ("HELLO 3 AUTH default foobar", hello_mode())),
        On(3, "ACL WHOAMI"),
    ],
    "requirepass_binary": [
        ["CONFIG", "SET", "requirepass", b"abc\x00def"], On(1, "AUTH abc"), On(1, ["AUTH", b"abc\x00def"]),
    ],
    "hello_auth_users": [
        KEEP_GOING,
        "ACL SETUSER u on >pw +@all ~*", ("HELLO 3 AUTH u pw", hello_mode()), "ACL WHOAMI",
        "HELLO 2 AUTH u wrong", "HELLO 2 AUTH nouser pw", "ACL WHOAMI",
    ],
    "default_user_off": [
        "ACL SETUSER default off", On(1, "PING"), On(1, "AUTH admin adminpw"), On(1, "ACL WHOAMI"),
        On(1, "ACL SETUSER default on"),
    ],
    "hello_with_default_without_commands": [
        "ACL SETUSER default -@all", On(1, ("HELLO 2 AUTH admin adminpw", hello_mode())), On(1, "ACL WHOAMI"),
        On(1, "ACL SETUSER default +@all"),
    ],
    # Deleting users; the ACL log.
    "deluser": [
        KEEP_GOING,
        "ACL SETUSER u1 on nopass +@all", "ACL SETUSER u2", "ACL DELUSER u1 u2 nosuch", "ACL DELUSER default",
        "ACL DELUSER u1 default", "ACL USERS", "ACL SETUSER u3 on nopass +@all", On(1, "AUTH u3 x"),
        On(1, "ACL WHOAMI"), "ACL DELUSER u3", ExpectClosed(1),
    ],
    "deluser_self": ["ACL SETUSER me on nopass +@all", "AUTH me x", "ACL DELUSER me", ExpectClosed()],
    "acl_log": [
        "ACL SETUSER u on nopass +@all -get ~k* &ch", "AUTH u x", "GET k", "GET k", "SET other v",
        "PUBLISH nope m", "MULTI", "GET k", "DISCARD", "AUTH u2 bad", "AUTH default x",
        ("ACL LOG", LOG), ("ACL LOG 2", LOG), "ACL LOG -1", ("ACL LOG 0", LOG), "ACL LOG x", "ACL LOG 1 2",
        "ACL LOG RESET", "ACL LOG",
    ],
    "acl_log_lua": [
        "ACL SETUSER u on nopass +@all -get ~*", "AUTH u x", "EVAL \"return redis.call('get', 'k')\" 0",
        "AUTH default x", ("ACL LOG", LOG),
    ],
    # The rest of ACL.
    "genpass_cat_help": [
        KEEP_GOING,
        ("ACL GENPASS", LENGTH), ("ACL GENPASS 5", LENGTH), ("ACL GENPASS 4096", LENGTH), "ACL GENPASS 0",
        "ACL GENPASS 4097", "ACL GENPASS -1", "ACL GENPASS x", "ACL GENPASS 1 2", "ACL CAT", "ACL CAT nosuch",
        "ACL CAT a b", ("ACL CAT string", TYPE), ("ACL HELP", TYPE), "ACL HELP x", "ACL", "ACL NOSUCH",
        "ACL LOAD", "ACL SAVE", "ACL WHOAMI x", "ACL GETUSER nosuch", "ACL DRYRUN nosuch get k",
        "ACL DRYRUN default nosuch", "ACL DRYRUN default get", "ACL DRYRUN default get k", "ACL DRYRUN default config",
        "ACL DRYRUN default config nosuch",
    ],
    # unit/acl: "default: with config acl-pubsub-default ..." and "Update acl-pubsub-default,
    # existing users shouldn't get affected".
    "acl_pubsub_default": [
        "CONFIG GET acl-pubsub-default", "ACL SETUSER before on nopass +@all ~*",
        "CONFIG SET acl-pubsub-default allchannels", "CONFIG GET acl-pubsub-default",
        "ACL SETUSER after on nopass +@all ~*", "ACL GETUSER before", "ACL GETUSER after",
        "ACL SETUSER before reset", "ACL GETUSER before", "ACL SETUSER sel on nopass (+get ~x)", "ACL GETUSER sel",
        "AUTH after x", "PUBLISH anything m", "AUTH before x", "PUBLISH anything m", "AUTH admin adminpw",
        "CONFIG SET acl-pubsub-default resetchannels", "ACL SETUSER later on nopass", "ACL GETUSER later",
        "ACL SETUSER after reset", "ACL GETUSER after", "CONFIG SET acl-pubsub-default nosuch",
    ],
    # unit/acl: "ACL LOG entries are limited to a maximum amount", "ACL LOG can log failed
    # auth attempts".
    "acl_log_max_len_and_auth_failures": [
        KEEP_GOING,
        "CONFIG SET acllog-max-len 3", "ACL SETUSER u on nopass -@all", "AUTH u x", "GET a", "GET b", "GET c",
        "GET d", "GET e", "AUTH admin adminpw", ("ACL LOG", LOG), "AUTH nosuch pw", "AUTH admin wrong",
        "AUTH admin adminpw", ("ACL LOG 2", LOG), "CONFIG SET acllog-max-len 128",
    ],
    # unit/acl: "ACLs can block SELECT of all but a specific DB".
    "select_first_arg": [
        "ACL SETUSER u on nopass +@all -select +select|0 ~*", "AUTH u x", "SELECT 0", "SELECT 1", "GET k",
        "AUTH admin adminpw", "ACL GETUSER u",
    ],
    "resp3_getuser": [
        ("HELLO 3", TYPE), "ACL SETUSER u on >p ~a %R~b &c -@all +get (+set ~d)", "ACL GETUSER u",
        ("ACL LOG", IGNORE_VALUE),
    ],
}


@pytest.mark.parametrize("case", scripts(ACL))
def test_acl(acl_diff: Differ, case: ScriptCase) -> None:
    for side in (acl_diff.ref, acl_diff.sub):
        side.close_all()
        _reset_users(side.port)
    acl_diff.run(case)


def test_acl_cat_lists_what_exists_here(acl_diff: Differ) -> None:
    # ACL CAT <category> names Redis's commands that this server has (streams, MODULE,
    # and a few others are missing here; everything listed exists in Redis's category),
    # plus crdt-redis's own CRDT.* commands and the Redis 7.2 commands clients need.
    for cat in (b"string", b"keyspace", b"dangerous", b"pubsub", b"scripting", b"connection"):
        with RespConnection(port=acl_diff.ref.port) as r, RespConnection(port=acl_diff.sub.port) as s:
            ref = set(r.call("ACL", "CAT", cat).split(b"\r\n")[2::2])
            sub = {c for c in s.call("ACL", "CAT", cat).split(b"\r\n")[2::2]
                   if not c.startswith(b"crdt.") and c not in REDIS_7_2}
            assert sub and sub <= ref, sorted(sub - ref)


def test_acl_getuser_after_each_category_removal(acl_diff: Differ, tmp_path: Path) -> None:
    # unit/acl.tcl "ACL GETUSER provides reasonable results": +@all -@<cat> describes
    # itself as exactly that, for every category that has commands here.
    with RespConnection(port=acl_diff.sub.port) as c:
        cats = c.call("ACL", "CAT").split(b"\r\n")[2::2]
        for cat in cats:
            if c.call("ACL", "CAT", cat) == b"*0\r\n":
                continue  # e.g. @stream before streams exist
            for add, rem in ((b"+@all", b"-@"), (b"-@all", b"+@")):
                c.call("ACL", "SETUSER", "additive", "reset", add, rem + cat)
                got = c.call("ACL", "GETUSER", "additive")
                assert add + b" " + rem + cat + b"\r\n" in got, (cat, got)
