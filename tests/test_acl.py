"""ACL against real processes: the parts of Redis's unit/acl.tcl and unit/auth.tcl that
restart servers or read files (aclfile, ACL LOAD/SAVE, requirepass at start-up), subscribers
killed when their channels are revoked, and the rule that users are configuration of each
node, never replicated. Byte-for-byte comparisons with Redis are in
tests/differential/test_diff_acl.py; unit tests of the rule engine are at the end."""
from __future__ import annotations

import socket
from pathlib import Path

import pytest
import redis

from crdtredis.acl.users import Selector, User, default_user, hash_password
from crdtredis.commands import new_node
from crdtredis.config import default_config
from tests.support.procs import CrdtRedisProc, wait_until
from tests.support.resp_client import RespConnection, encode_command


def _node_with_aclfile(tmp_path: Path, text: str, **kw: object) -> CrdtRedisProc:
    (tmp_path / "users.acl").write_text(text)
    return CrdtRedisProc(tmp_path / "n", "a", settings={"aclfile": str(tmp_path / "users.acl")}, **kw)  # type: ignore[arg-type]


def test_aclfile_is_loaded_at_start_and_acl_save_load_round_trip(tmp_path: Path) -> None:
    # unit/acl.tcl "ACL load and save", "Alice: can execute all command", "Bob: just
    # execute @set and acl command".
    node = _node_with_aclfile(tmp_path, (
        "user alice on allcommands allkeys &* >alice\n"
        "user bob on -@all +@set +acl ~set* &* >bob\n"
        "user default on nopass ~* &* +@all\n"
    )).start()
    try:
        r = node.client()
        assert r.execute_command("ACL", "USERS") == [b"alice", b"bob", b"default"]
        alice = node.client(username="alice", password="alice")
        assert alice.execute_command("ACL", "WHOAMI") == b"alice"
        assert alice.set("k", "v") and alice.get("k") == b"v"
        bob = node.client(username="bob", password="bob")
        assert bob.sadd("set:1", "x") == 1
        bob_raw = RespConnection(port=node.port)
        assert bob_raw.call("AUTH", "bob", "bob") == b"+OK\r\n"
        with pytest.raises(redis.exceptions.NoPermissionError, match="no permissions to run the 'get' command"):
            bob.get("set:1")
        with pytest.raises(redis.exceptions.NoPermissionError, match="one of the keys"):
            bob.sadd("other", "x")
        # SAVE, change users, LOAD: the saved state comes back and every client of a
        # non-default user is disconnected (its user object is gone, as in Redis).
        assert r.execute_command("ACL", "SAVE") == b"OK"
        saved = (tmp_path / "users.acl").read_text()
        assert "user alice on" in saved and "#" + hash_password(b"alice") in saved
        r.execute_command("ACL", "SETUSER", "carol", "on", ">c", "+@all", "~*")
        r.execute_command("ACL", "DELUSER", "alice")
        assert r.execute_command("ACL", "LOAD") == b"OK"
        assert r.execute_command("ACL", "USERS") == [b"alice", b"bob", b"default"]
        assert bob_raw.is_closed_by_peer(5)
        bob_raw.close()
        assert node.client(username="alice", password="alice").ping()
        assert node.client().acl_whoami() == "default"
    finally:
        node.stop()


def test_acl_load_with_errors_changes_nothing(tmp_path: Path) -> None:
    # unit/acl.tcl "Test loading an ACL file with duplicate users".
    node = _node_with_aclfile(tmp_path, "user alice on nopass +@all ~*\n").start()
    try:
        r = node.client()
        path = tmp_path / "users.acl"
        path.write_text("user alice on nopass +@all\nuser bob on +nosuch\nuser alice off\n")
        with pytest.raises(redis.exceptions.ResponseError) as e:
            r.execute_command("ACL", "LOAD")
        msg = str(e.value)
        assert f"{path}:2: Error in applying operation '+nosuch': Unknown command or category name in ACL." in msg
        assert "WARNING: Duplicate user 'alice' found on line 3." in msg
        assert msg.endswith("WARNING: ACL errors detected, no change to the previously active ACL rules was "
                            "performed")
        assert r.execute_command("ACL", "LIST") == [b"user alice on nopass ~* resetchannels +@all",
                                                    b"user default on nopass ~* &* +@all"]
    finally:
        node.stop()


def test_a_bad_aclfile_refuses_to_start(tmp_path: Path) -> None:
    node = _node_with_aclfile(tmp_path, "user alice on +nosuch\n")
    with pytest.raises(RuntimeError, match="exited with code"):
        node.start()
    assert "Unknown command or category name in ACL" in node.logs()


def test_acl_load_save_without_aclfile(crdt_node: CrdtRedisProc) -> None:
    r = crdt_node.client()
    for sub in ("LOAD", "SAVE"):
        with pytest.raises(redis.exceptions.ResponseError, match="not configured to use an ACL file"):
            r.execute_command("ACL", sub)


def test_requirepass_at_start_is_the_default_users_password(tmp_path: Path) -> None:
    # unit/auth.tcl, second block (a server started with requirepass foobar).
    node = CrdtRedisProc(tmp_path / "n", "a", requirepass="foobar").start()
    try:
        with RespConnection(port=node.port) as c:
            assert c.call("SET", "foo", "bar") == b"-NOAUTH Authentication required.\r\n"
            assert c.call("AUTH", "wrong!") == (b"-WRONGPASS invalid username-password pair or user is "
                                                b"disabled.\r\n")
            assert c.call("AUTH", "foobar") == b"+OK\r\n"
        r = node.client(password="foobar")
        r.set("foo", 100)
        assert r.incr("foo") == 101
        with RespConnection(port=node.port) as c:
            assert c.call("AUTH", "foobar") == b"+OK\r\n"
            assert hash_password(b"foobar").encode() in c.call("ACL", "GETUSER", "default")
        # Unauthenticated clients are held to small requests (CVE-2021-32675).
        for req, err in ((b"*100\r\n", b"unauthenticated multibulk length"),
                         (b"*1\r\n$100000000\r\n", b"unauthenticated bulk length")):
            with socket.create_connection(("127.0.0.1", node.port)) as s:
                s.sendall(req)
                assert err in s.recv(200)
    finally:
        node.stop()


def test_subscribers_are_killed_when_their_channels_are_revoked(crdt_node: CrdtRedisProc) -> None:
    # unit/acl.tcl "Subscribers are killed when revoked of channel permission" (and the
    # pattern / allchannels variants; a subscriber keeping its channels is pardoned).
    r = crdt_node.client()
    r.execute_command("ACL", "SETUSER", "psuser", "on", "nopass", "+@all", "~*", "resetchannels", "&foo", "&bar*")
    subs = []
    for cmd in (["SUBSCRIBE", "foo"], ["PSUBSCRIBE", "bar*"]):
        c = RespConnection(port=crdt_node.port)
        assert c.call("AUTH", "psuser", "x") == b"+OK\r\n"
        c.sock.sendall(encode_command(cmd))
        c.sock.recv(100)
        subs.append(c)
    r.execute_command("ACL", "SETUSER", "psuser", "&other")  # a superset: both pardoned
    wait_until(lambda: r.execute_command("PUBSUB", "NUMSUB", "foo")[1] == 1)
    r.execute_command("ACL", "SETUSER", "psuser", "resetchannels", "&foo")
    assert subs[1].is_closed_by_peer(5)  # bar* was revoked
    assert not subs[0].is_closed_by_peer(0.2)
    r.execute_command("ACL", "SETUSER", "psuser", "resetchannels")
    assert subs[0].is_closed_by_peer(5)
    for c in subs:
        c.close()


@pytest.mark.slow
def test_users_are_node_configuration_not_replicated(tmp_path: Path) -> None:
    from tests.test_replication import make_cluster, stop_all

    nodes, links = make_cluster(tmp_path, n=2)
    try:
        ra, rb = nodes[0].client(), nodes[1].client()
        ra.execute_command("ACL", "SETUSER", "alice", "on", ">pw", "+@all", "~*")
        ra.set("k", "v")
        wait_until(lambda: rb.get("k") == b"v", timeout=30)  # data replicates...
        assert rb.execute_command("ACL", "USERS") == [b"default"]  # ...users do not
        with RespConnection(port=nodes[1].port) as c:
            assert c.call("AUTH", "alice", "pw").startswith(b"-WRONGPASS")
    finally:
        stop_all(nodes, links)


def test_restricted_client_shows_its_user_and_unrestricted_ones_take_the_fast_path() -> None:
    node = new_node(default_config())
    c = node.new_client("t", "t", lambda: None)
    assert c.user is node.acl.default and not c.restricted and not c.special
    node.execute(c, [b"ACL", b"SETUSER", b"u", b"on", b"nopass", b"+@all", b"~k*"])
    node.execute(c, [b"AUTH", b"u", b"x"])
    assert c.user.name == b"u" and c.restricted and c.special  # the checked path
    assert "user=u " in c.info_line()
    node.execute(c, [b"ACL", b"SETUSER", b"u", b"allkeys", b"allchannels"])
    assert not c.restricted and not c.special  # rules widened: back to the fast path


# ---- the rule engine ------------------------------------------------------------------------
def test_describe_rebuilds_the_same_commands_for_random_rule_sets() -> None:
    import random

    from crdtredis.acl.users import CATEGORIES, all_commands

    new_node(default_config())  # loads the command table
    names = [c.fullname.encode() for c in all_commands()]
    rng = random.Random(7)
    for _ in range(200):
        s = Selector()
        for _ in range(rng.randrange(1, 8)):
            kind = rng.random()
            if kind < 0.3:
                s.apply(rng.choice([b"+@", b"-@"]) + rng.choice(CATEGORIES).encode())
            elif kind < 0.9:
                s.apply(rng.choice([b"+", b"-"]) + rng.choice(names))
            else:
                s.apply(rng.choice([b"+@all", b"-@all"]))
        rebuilt = Selector()
        for rule in s.describe_commands().split(b" "):
            rebuilt.apply(rule)
        assert rebuilt.allowed == s.allowed and rebuilt.future == s.future


def test_user_rules_unit() -> None:
    new_node(default_config())
    u = User(b"x")
    assert u.describe() == b"off resetchannels -@all"
    for r in (b"on", b">a", b">a", b"#" + hash_password(b"b").encode(), b"%RW~k*", b"%R~k*", b"~q"):
        u.apply(r)
    assert u.passwords == [hash_password(b"a"), hash_password(b"b")]
    assert u.check_password(b"b") and not u.check_password(b"c")
    assert u.root.describe_keys() == b"~k* ~q"
    assert default_user().unrestricted()
