"""Connection and server commands (commands/connection.py, server.py, introspection.py,
config_cmd.py, client_cmds.py; info.py), driven in-process.

Two kinds of test. Unit tests call `Node.execute` and look at reply values. Differential
tests (`same`) encode our reply as RESP bytes with a small encoder that follows reply.py,
send the same argv to a real redis-server 7.0, and compare the bytes: that is how every
error text here is checked against Redis rather than against a copy of it.
"""
from __future__ import annotations

import asyncio
import json
import shlex
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from crdtredis import errors, info
from crdtredis.client import Client
from crdtredis.commands import config_cmd, connection, introspection, new_node
from crdtredis.node import Node
from crdtredis.reply import NULL_ARRAY, Deferred, ErrorReply, Map, SetReply, Status, Verbatim
from tests.support.procs import RedisServerProc
from tests.support.resp_client import RespConnection

try:
    import dataclasses

    from crdtredis.config import default_config

    def make_config(**kw: Any) -> Any:
        return dataclasses.replace(default_config(), **kw)
except ImportError:  # config.py not written yet: the fields the node reads
    def make_config(**kw: Any) -> Any:
        base = dict(replica_id="t", databases=16, peers=[], proto_max_bulk_len=512 * 1024 * 1024,
                    requirepass=None, server_port=6379, http_port=8080, bind="127.0.0.1", hz=10,
                    maxclients=10000, appendfsync="everysec", data_dir="./data")
        base.update(kw)
        return types.SimpleNamespace(**base)


# ---- harness --------------------------------------------------------------------------
def argv_of(line: str | list[Any]) -> list[bytes]:
    if isinstance(line, str):
        return [a.encode() for a in shlex.split(line)]
    return [a if isinstance(a, bytes) else str(a).encode() for a in line]


def encode(r: Any, resp: int) -> bytes:
    """Our reply value as wire bytes, per the table in reply.py."""
    if isinstance(r, ErrorReply):
        return b"-" + r.message.encode() + b"\r\n"
    if isinstance(r, Status):
        return b"+" + bytes(r) + b"\r\n"
    if isinstance(r, bool):
        raise TypeError("bool reply")
    if isinstance(r, int):
        return b":%d\r\n" % r
    if isinstance(r, bytes):
        return b"$%d\r\n%s\r\n" % (len(r), r)
    if r is None:
        return b"$-1\r\n" if resp == 2 else b"_\r\n"
    if r is NULL_ARRAY:
        return b"*-1\r\n" if resp == 2 else b"_\r\n"
    if isinstance(r, (list, tuple)):
        return b"*%d\r\n" % len(r) + b"".join(encode(x, resp) for x in r)
    if isinstance(r, Map):
        head = b"%%%d\r\n" % len(r.items) if resp == 3 else b"*%d\r\n" % (2 * len(r.items))
        return head + b"".join(encode(k, resp) + encode(v, resp) for k, v in r.items)
    if isinstance(r, SetReply):
        return (b"~" if resp == 3 else b"*") + b"%d\r\n" % len(r.items) + b"".join(encode(x, resp) for x in r.items)
    if isinstance(r, Verbatim):
        if resp == 3:
            return b"=%d\r\n%s:%s\r\n" % (len(r.data) + 4, r.fmt, r.data)
        return encode(r.data, resp)
    raise TypeError(f"cannot encode {r!r}")


class Session:
    """One client of an in-process node."""

    def __init__(self, node: Node, addr: str = "127.0.0.1:5000") -> None:
        self.node = node
        self.closed = False
        self.client: Client = node.new_client(addr, "127.0.0.1:6379", self._on_close)

    def _on_close(self) -> None:
        self.closed = True

    def __call__(self, line: str | list[Any]) -> Any:
        return self.node.execute(self.client, argv_of(line))

    def wire(self, line: str | list[Any]) -> bytes:
        r = self(line)
        return encode(r, self.client.resp)


def make_node(**kw: Any) -> Node:
    node = new_node(make_config(**kw))
    # Command counters live on the shared command table, not on the node: start from zero.
    info.reset_stats(node)
    return node


@pytest.fixture
def node() -> Node:
    return make_node()


@pytest.fixture
def s(node: Node) -> Session:
    return Session(node)


@pytest.fixture(scope="module")
def ref() -> Iterator[RedisServerProc]:
    server = RedisServerProc().start()
    try:
        yield server
    finally:
        server.cleanup()


@pytest.fixture(scope="module")
def ref_auth() -> Iterator[RedisServerProc]:
    server = RedisServerProc(extra_args=["--requirepass", "sekret"]).start()
    try:
        yield server
    finally:
        server.cleanup()


def same(ours: Session, theirs: RespConnection, lines: list[str | list[Any]]) -> None:
    """Run each line on both, in order, and require byte-identical replies."""
    for line in lines:
        # "!HELLO 3": run on both without comparing (the reply carries the client id).
        check = not (isinstance(line, str) and line.startswith("!"))
        argv = argv_of(line if check else line[1:])  # type: ignore[index]
        expected = theirs.call(*argv)
        got = ours.wire(argv)
        if check:
            assert got == expected, f"{line!r}: ours {got!r} != redis {expected!r}"


def diff(ref: RedisServerProc, lines: list[str | list[Any]], **node_kw: Any) -> None:
    conn = RespConnection(port=ref.port)
    try:
        same(Session(make_node(**node_kw)), conn, lines)
    finally:
        conn.close()


# ---- PING / ECHO ---------------------------------------------------------------------
def test_ping_replies_pong_or_message(s: Session) -> None:
    assert s("PING") == Status(b"PONG") and isinstance(s("PING"), Status)
    assert s("PING hello") == b"hello" and not isinstance(s("PING hello"), Status)


def test_ping_echo_match_redis(ref: RedisServerProc) -> None:
    diff(ref, ["PING", "PING hi", "PING a b", ["PING", ""], "ECHO", "ECHO x", ["ECHO", ""], "ECHO a b",
               "!HELLO 3", "PING", "PING hi"])


# ---- HELLO ---------------------------------------------------------------------------
def test_hello_reply_is_a_map_with_server_fields(s: Session) -> None:
    r = s("HELLO 3")
    assert isinstance(r, Map)
    d = dict(r.items)
    assert d[b"server"] == b"redis"
    assert d[b"version"] == b"7.0.15"
    assert d[b"proto"] == 3
    assert d[b"id"] == s.client.id
    assert d[b"mode"] == b"standalone" and d[b"role"] == b"master" and d[b"modules"] == []
    assert [k for k, _ in r.items] == [b"server", b"version", b"proto", b"id", b"mode", b"role", b"modules"]
    assert s.client.resp == 3


def test_hello_without_version_keeps_protocol(s: Session) -> None:
    s("HELLO 3")
    assert dict(s("HELLO").items)[b"proto"] == 3
    s("HELLO 2")
    assert s.client.resp == 2


def test_hello_setname_sets_name(s: Session) -> None:
    s("HELLO 3 SETNAME foo")
    assert s("CLIENT GETNAME") == b"foo"
    s("HELLO 3 setname a setname b")
    assert s("CLIENT GETNAME") == b"b"


def test_hello_bad_version_leaves_protocol(s: Session) -> None:
    assert s("HELLO 4") == ErrorReply(errors.NOPROTO)
    assert s.client.resp == 2


def test_hello_matches_redis_except_id(ref: RedisServerProc, s: Session) -> None:
    conn = RespConnection(port=ref.port)
    try:
        for line in ("HELLO 2", "HELLO 3", "HELLO 3 SETNAME x", "HELLO 2 AUTH default anything"):
            theirs = conn.call(*argv_of(line))
            # The id differs between servers; everything else must be identical.
            assert _mask_id(s.wire(line)) == _mask_id(theirs), line
    finally:
        conn.close()


def _mask_id(raw: bytes) -> bytes:
    head, _, rest = raw.partition(b"$2\r\nid\r\n:")
    return head + b"$2\r\nid\r\n:ID\r\n" + rest.split(b"\r\n", 1)[1]


def test_hello_errors_match_redis(ref: RedisServerProc) -> None:
    diff(ref, ["HELLO 4", "HELLO x", "HELLO 1", "HELLO 0", "HELLO -1", "HELLO 99999999999999999999",
               "HELLO 2 AUTH", "HELLO 2 AUTH default", "HELLO 2 SETNAME", "HELLO 2 FOO", "HELLO 3 FOO bar",
               ["HELLO", "2", "SETNAME", "a b"], ["HELLO", "2", "SETNAME", "a\nb"],
               "HELLO 3 AUTH foo bar", "!HELLO 2"])


# ---- AUTH / requirepass ----------------------------------------------------------------
def test_auth_without_password_configured_matches_redis(ref: RedisServerProc) -> None:
    diff(ref, ["AUTH x", "AUTH a b", "AUTH a b c", "AUTH", "AUTH default x", "AUTH default", "PING"])


def test_requirepass_flow_matches_redis(ref_auth: RedisServerProc) -> None:
    diff(ref_auth, [
        "PING", "ECHO x", "CLIENT ID", "SELECT 1", "CONFIG GET hz", "INFO",
        "HELLO", "HELLO 3", "HELLO 2 SETNAME x", ["HELLO", "2", "SETNAME", "a b"], "HELLO x",
        "HELLO 2 AUTH default wrong", "HELLO 2 AUTH bob sekret",
        "AUTH wrong", "AUTH default wrong", "AUTH foo sekret", "AUTH a b c",
        "AUTH sekret", "PING", "CLIENT SETNAME x", "SELECT 1",
        "RESET", "PING", "CLIENT GETNAME",
        "AUTH default sekret", "CLIENT GETNAME", "AUTH wrong", "PING",
        "RESET", "!HELLO 2 AUTH default sekret SETNAME y", "CLIENT GETNAME",
    ], requirepass="sekret")


def test_requirepass_rejects_until_auth(node: Node) -> None:
    n = make_node(requirepass="sekret")
    a = Session(n)
    assert not a.client.authenticated
    assert a("DBSIZE") == ErrorReply(errors.NOAUTH)
    assert a("HELLO 3") == ErrorReply(errors.HELLO_NOAUTH)
    assert a.client.resp == 2
    assert isinstance(a("HELLO 3 AUTH default sekret"), Map)
    assert a.client.authenticated and a.client.resp == 3
    assert a("DBSIZE") == 0


def test_requirepass_noauth_counts_as_rejected_call() -> None:
    n = make_node(requirepass="sekret")
    a = Session(n)
    a("DBSIZE")
    assert n.rejected_calls["dbsize"] == 1
    assert n.error_counts["NOAUTH"] == 1


def test_failed_auth_keeps_an_authenticated_client_authenticated() -> None:
    a = Session(make_node(requirepass="sekret"))
    assert a("AUTH sekret") == Status(b"OK")
    assert a("AUTH nope") == ErrorReply(errors.WRONGPASS)
    assert a("PING") == Status(b"PONG")


def test_hello_auth_transaction_rules(ref_auth: RedisServerProc) -> None:
    diff(ref_auth, ["AUTH sekret", "MULTI", "PING", "AUTH sekret", "EXEC", "MULTI", "!HELLO 3", "!EXEC", "PING"],
         requirepass="sekret")


# ---- SELECT ------------------------------------------------------------------------------
def test_select_changes_client_db(s: Session) -> None:
    assert s("SELECT 5") == Status(b"OK")
    assert s.client.db == 5


def test_select_errors_match_redis(ref: RedisServerProc) -> None:
    diff(ref, ["SELECT", "SELECT x", "SELECT 16", "SELECT -1", "SELECT 1.5", "SELECT 99999999999",
               "SELECT -99999999999", "SELECT 2147483648", "SELECT 99999999999999999999", "SELECT ' 1'",
               "SELECT +1", "SELECT 01", "SELECT 1", "SELECT 0", "SELECT 1 2"])


def test_select_respects_configured_databases() -> None:
    a = Session(make_node(databases=4))
    assert a("SELECT 3") == Status(b"OK")
    assert a("SELECT 4") == ErrorReply(errors.DB_INDEX)


# ---- QUIT / RESET --------------------------------------------------------------------------
def test_quit_replies_ok_and_marks_closing(s: Session) -> None:
    assert s("QUIT") == Status(b"OK")
    assert s.client.closing
    t = Session(s.node)
    assert t("QUIT extra args") == Status(b"OK")


def test_quit_inside_multi_runs_at_once(s: Session) -> None:
    s("MULTI")
    assert s("QUIT") == Status(b"OK")
    assert s.client.closing


def test_reset_restores_connection_defaults(s: Session) -> None:
    s("HELLO 3 SETNAME foo")
    s("SELECT 3")
    s("WATCH k")
    s("MULTI")
    r = s("RESET")
    assert r == Status(b"RESET") and isinstance(r, Status)
    c = s.client
    assert (c.resp, c.db, c.name, c.in_multi, c.watching) == (2, 0, b"", False, set())
    assert s("EXEC") == ErrorReply(errors.EXEC_NO_MULTI)


def test_reset_keeps_library_info(s: Session) -> None:
    s("CLIENT SETINFO LIB-NAME redis-py")
    s("RESET")
    assert s.client.lib_name == b"redis-py"


def test_reset_runs_registered_hooks(s: Session) -> None:
    seen: list[int] = []

    def hook(node: Node, client: Client) -> None:
        seen.append(client.id)

    connection.register_reset_hook(hook)
    try:
        s("RESET")
    finally:
        connection.RESET_HOOKS.remove(hook)
    assert seen == [s.client.id]


def test_reset_and_arity_match_redis(ref: RedisServerProc) -> None:
    diff(ref, ["CLIENT SETNAME foo", "SELECT 3", "!HELLO 3", "RESET", "CLIENT GETNAME", "RESET x",
               "MULTI", "RESET", "EXEC", "TIME x", "DBSIZE x"])


# ---- TIME / DBSIZE ---------------------------------------------------------------------
def test_time_returns_seconds_and_microseconds(s: Session) -> None:
    import time

    sec, usec = s("TIME")
    assert abs(int(sec) - time.time()) < 5
    assert 0 <= int(usec) < 1_000_000


def test_dbsize_counts_keys_of_selected_db(s: Session) -> None:
    assert s("DBSIZE") == 0
    s("SET a 1")
    s("SET b 2")
    assert s("DBSIZE") == 2
    s("SELECT 1")
    assert s("DBSIZE") == 0


# ---- INFO ---------------------------------------------------------------------------------
def parse_info(data: bytes) -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {}
    cur: dict[str, str] = {}
    for line in data.decode().split("\r\n"):
        if line.startswith("# "):
            cur = out.setdefault(line[2:], {})
        elif line:
            k, _, v = line.partition(":")
            cur[k] = v
    return out


def test_info_default_sections_and_order(s: Session) -> None:
    r = s("INFO")
    assert isinstance(r, Verbatim) and r.fmt == b"txt"
    titles = [ln[2:] for ln in r.data.decode().split("\r\n") if ln.startswith("# ")]
    assert titles == ["Server", "Clients", "Memory", "Persistence", "Stats", "Replication", "CPU",
                      "Modules", "Errorstats", "Cluster", "Keyspace", "CRDT"]
    assert "\r\n\r\n# Clients\r\n" in r.data.decode()


def test_info_server_fields(s: Session) -> None:
    srv_ = parse_info(s("INFO server").data)["Server"]
    for field in ("redis_version", "redis_git_sha1", "redis_build_id", "redis_mode", "os", "arch_bits",
                  "multiplexing_api", "process_id", "run_id", "tcp_port", "server_time_usec",
                  "uptime_in_seconds", "uptime_in_days", "hz", "executable", "config_file",
                  "crdt_redis_version"):
        assert field in srv_, field
    assert srv_["redis_version"] == "7.0.15"
    assert srv_["redis_mode"] == "standalone"
    assert srv_["arch_bits"] == "64"
    assert len(srv_["run_id"]) == 40 and int(srv_["run_id"], 16) >= 0
    assert srv_["tcp_port"] == "6379"


def test_info_sections_come_in_fixed_order_whatever_asked(s: Session) -> None:
    data = s("INFO keyspace server").data.decode()
    assert data.index("# Server") < data.index("# Keyspace")


def test_info_unknown_section_is_empty_like_redis(ref: RedisServerProc) -> None:
    diff(ref, ["INFO nosuch", "!HELLO 3", "INFO nosuch", "INFO keyspace", "INFO cluster"])


def test_info_all_everything_and_default(s: Session) -> None:
    assert "# Commandstats" not in s("INFO").data.decode()
    assert "# Commandstats" in s("INFO all").data.decode()
    assert "# Commandstats" in s("INFO everything").data.decode()
    d = s("INFO default commandstats").data.decode()
    assert "# Commandstats" in d and "# Server" in d
    assert s("INFO SERVER").data.startswith(b"# Server\r\n")


def test_info_keyspace_lists_non_empty_dbs(s: Session) -> None:
    assert s("INFO keyspace").data == b"# Keyspace\r\n"
    s("SET a 1")
    s("SET b 2 EX 100")
    s("SELECT 2")
    s("SET c 3")
    lines = s("INFO keyspace").data.decode().split("\r\n")
    assert lines[1] == "db0:keys=2,expires=1,avg_ttl=" + lines[1].rsplit("=", 1)[1]
    assert 0 < int(lines[1].rsplit("=", 1)[1]) <= 100_000
    assert lines[2] == "db2:keys=1,expires=0,avg_ttl=0"


def test_info_clients_memory_persistence_stats(s: Session) -> None:
    Session(s.node, "127.0.0.1:5001")
    p = parse_info(s("INFO everything").data)
    assert p["Clients"]["connected_clients"] == "2"
    assert p["Clients"]["blocked_clients"] == "0"
    assert p["Clients"]["maxclients"] == "10000"
    assert int(p["Memory"]["used_memory"]) > 0
    assert p["Memory"]["maxmemory"] == "0"
    assert p["Memory"]["maxmemory_policy"] == "noeviction"
    assert p["Memory"]["used_memory_human"].endswith(("K", "M", "G"))
    assert p["Persistence"]["loading"] == "0"
    assert p["Stats"]["total_connections_received"] == "2"
    assert p["Replication"]["role"] == "master"
    assert p["Replication"]["connected_slaves"] == "0"
    assert p["Cluster"]["cluster_enabled"] == "0"
    s.node.loading = True
    assert parse_info(s("INFO persistence").data)["Persistence"]["loading"] == "1"


def test_info_stats_counts_commands(s: Session) -> None:
    before = int(parse_info(s("INFO stats").data)["Stats"]["total_commands_processed"])
    s("PING")
    s("PING")
    after = int(parse_info(s("INFO stats").data)["Stats"]["total_commands_processed"])
    assert after == before + 3  # two PINGs and the first INFO


def test_info_crdt_section(s: Session) -> None:
    s("SET a 1")
    c = parse_info(s("INFO crdt").data)["CRDT"]
    n = s.node
    assert c["replica_id"] == n.replica_id
    assert c["origin"] == n.origin
    assert c["ops_local"] == "1" and c["ops_applied"] == "1" and c["ops_remote"] == "0"
    assert c["type_conflicts"] == "0"
    assert c["version_vector"] == f"{n.origin}=1"


def test_info_errorstats_and_commandstats(s: Session) -> None:
    s("SELECT x")
    s("GET")  # arity: rejected before running
    s("NOSUCH")
    p = parse_info(s("INFO errorstats commandstats").data)
    assert p["Errorstats"]["errorstat_ERR"] == "count=3"
    cs = p["Commandstats"]
    calls, usec, per, rej, failed = cs["cmdstat_select"].split(",")
    assert calls == "calls=1" and rej == "rejected_calls=0" and failed == "failed_calls=1"
    assert usec.startswith("usec=") and per.startswith("usec_per_call=")
    assert cs["cmdstat_get"].endswith("rejected_calls=1,failed_calls=0")
    assert cs["cmdstat_get"].startswith("calls=0,")


def test_info_subcommand_stats_use_full_name(s: Session) -> None:
    s("CONFIG GET hz")
    s("CONFIG FOO")
    cs = parse_info(s("INFO commandstats").data)["Commandstats"]
    assert cs["cmdstat_config|get"].startswith("calls=1,")
    assert cs["cmdstat_config"].endswith("rejected_calls=1,failed_calls=0")


def test_info_provider_adds_and_overrides_lines(s: Session) -> None:
    def repl(node: Node) -> list[tuple[str, Any]]:
        return [("connected_slaves", 2), ("peer0", "ip=1.2.3.4,state=up")]

    def extra(node: Node) -> list[tuple[str, Any]]:
        return [("x", 1)]

    info.register_info_provider("replication", repl)
    info.register_info_provider("widgets", extra, title="Widgets")
    try:
        lines = s("INFO replication").data.decode().split("\r\n")
        assert lines[2] == "connected_slaves:2"
        assert "peer0:ip=1.2.3.4,state=up" in lines
        d = s("INFO").data.decode()
        assert d.endswith("# Widgets\r\nx:1\r\n")
        assert s("INFO widgets").data == b"# Widgets\r\nx:1\r\n"
    finally:
        info._PROVIDERS["replication"].remove(repl)
        del info._PROVIDERS["widgets"]
        del info.SECTIONS["widgets"]


def test_info_in_resp2_is_bulk_and_resp3_verbatim(s: Session) -> None:
    assert s.wire("INFO cluster") == b"$30\r\n# Cluster\r\ncluster_enabled:0\r\n\r\n"
    s("HELLO 3")
    assert s.wire("INFO cluster") == b"=34\r\ntxt:# Cluster\r\ncluster_enabled:0\r\n\r\n"


def test_info_instantaneous_ops(s: Session) -> None:
    info.track_instantaneous(s.node)
    for _ in range(50):
        s("PING")
    info.track_instantaneous(s.node)
    assert int(parse_info(s("INFO stats").data)["Stats"]["instantaneous_ops_per_sec"]) > 0


def test_bytes_to_human() -> None:
    assert info.bytes_to_human(0) == "0B"
    assert info.bytes_to_human(1023) == "1023B"
    assert info.bytes_to_human(1024) == "1.00K"
    assert info.bytes_to_human(1286736) == "1.23M"
    assert info.bytes_to_human(25276502016) == "23.54G"


# ---- SHUTDOWN -----------------------------------------------------------------------------
def test_shutdown_syntax_matches_redis(ref: RedisServerProc) -> None:
    diff(ref, ["SHUTDOWN foo", "SHUTDOWN ABORT", "SHUTDOWN NOSAVE SAVE", "SHUTDOWN ABORT NOW",
               "SHUTDOWN NOSAVE ABORT", "SHUTDOWN ABORT ABORT",
               "MULTI", "SHUTDOWN", "PING", "EXEC"])


def test_shutdown_calls_callback_and_never_replies(s: Session) -> None:
    calls: list[bool] = []
    s.node.shutdown_cb = calls.append

    async def go() -> Any:
        return s("SHUTDOWN NOSAVE NOW FORCE")

    r = asyncio.run(go())
    assert isinstance(r, Deferred) and not r.future.done()
    assert calls == [False]
    asyncio.run(go_save(s))
    assert calls == [False, True]


async def go_save(s: Session) -> Any:
    return s("SHUTDOWN")


def test_shutdown_without_server_fails_like_redis(s: Session) -> None:
    assert s("SHUTDOWN") == ErrorReply(errors.SHUTDOWN_FAILED)


# ---- COMMAND ------------------------------------------------------------------------------
def test_command_count_and_table(s: Session) -> None:
    n = s("COMMAND COUNT")
    table = s("COMMAND")
    assert n == len(table) > 20
    names = {e[0] for e in table}
    assert {b"ping", b"config", b"client", b"command", b"info", b"hello"} <= names


def test_command_info_shape(s: Session) -> None:
    (e,) = s("COMMAND INFO ping")
    assert len(e) == 10
    name, arity, flags, first, last, step, cats, tips, specs, subs = e
    assert (name, arity, first, last, step) == (b"ping", -1, 0, 0, 0)
    assert isinstance(flags, SetReply) and flags.items == [Status(b"fast")]
    assert isinstance(flags.items[0], Status)
    assert [bytes(c) for c in cats.items] == [b"@fast", b"@connection"]
    assert isinstance(tips, SetReply) and isinstance(specs, SetReply) and isinstance(subs, SetReply)


def test_command_info_for_containers_lists_subcommands(s: Session) -> None:
    (e,) = s("COMMAND INFO config")
    assert e[1] == -2
    assert [bytes(c) for c in e[6].items] == [b"@slow"]
    subs = {x[0]: x for x in e[9].items}
    assert set(subs) == {b"config|get", b"config|set", b"config|resetstat", b"config|rewrite", b"config|help"}
    assert subs[b"config|get"][1] == -3


def test_command_info_key_specs(s: Session) -> None:
    (e,) = s("COMMAND INFO set")
    (spec,) = e[8].items
    d = dict(spec.items)
    assert dict(d[b"begin_search"].items) [b"type"] == b"index"
    find = dict(d[b"find_keys"].items)
    assert find[b"type"] == b"range"
    assert dict(find[b"spec"].items) == {b"lastkey": 0, b"keystep": 1, b"limit": 0}


def test_command_info_unknown_is_null(s: Session) -> None:
    assert s("COMMAND INFO nosuch ping")[0] is None
    assert s.wire("COMMAND INFO nosuch") == b"*1\r\n$-1\r\n"
    s("HELLO 3")
    assert s.wire("COMMAND INFO nosuch") == b"*1\r\n_\r\n"


def test_command_info_matches_redis_for_our_commands(ref: RedisServerProc) -> None:
    # Commands whose Redis entry has no tips or key specs can match byte for byte.
    lines: list[str | list[Any]] = [
        "COMMAND INFO echo select quit reset hello auth",
        "COMMAND INFO config|get config|resetstat config|rewrite config|help",
        "COMMAND INFO client|setname client|getname client|kill client|id",
        "COMMAND INFO command|count command|getkeys command|help",
        "COMMAND INFO CONFIG|GET",
    ]
    diff(ref, lines + ["!HELLO 3"] + lines)


def test_command_docs_shape(s: Session) -> None:
    r = s("COMMAND DOCS ping config nosuch")
    assert isinstance(r, Map)
    d = dict(r.items)
    assert set(d) == {b"ping", b"config"}
    ping = dict(d[b"ping"].items)
    assert ping[b"summary"] == b"Ping the server"
    assert ping[b"since"] == b"1.0.0"
    assert ping[b"group"] == b"connection"
    subs = dict(dict(d[b"config"].items)[b"subcommands"].items)
    assert dict(subs[b"config|get"].items)[b"group"] == b"server"
    assert len(s("COMMAND DOCS").items) == s("COMMAND COUNT")
    assert s.wire("COMMAND DOCS nosuch") == b"*0\r\n"


def test_command_list_and_filters(s: Session) -> None:
    names = s("COMMAND LIST")
    assert b"config" in names and b"config|get" in names and b"ping" in names
    assert sorted(s("COMMAND LIST FILTERBY PATTERN conf*")) == sorted(
        [b"config", b"config|get", b"config|set", b"config|resetstat", b"config|rewrite", b"config|help"])
    assert s("COMMAND LIST FILTERBY PATTERN CONFIG|G*") == [b"config|get"]
    conn = s("COMMAND LIST FILTERBY ACLCAT connection")
    assert b"ping" in conn and b"client|setname" in conn and b"config|get" not in conn
    assert b"config|get" in s("COMMAND LIST FILTERBY ACLCAT ADMIN")
    assert s("COMMAND LIST FILTERBY MODULE x") == []


def test_command_errors_match_redis(ref: RedisServerProc) -> None:
    diff(ref, [
        "COMMAND GETKEYS", "COMMAND GETKEYS get", "COMMAND GETKEYS nosuch a", "COMMAND GETKEYS ping x",
        "COMMAND GETKEYS config get", "COMMAND GETKEYS config nosuch", "COMMAND GETKEYS config",
        "COMMAND GETKEYS echo a", "COMMAND GETKEYS select 1",
        "COMMAND LIST FILTERBY", "COMMAND LIST FILTERBY PATTERN", "COMMAND LIST FILTERBY MODULE x",
        "COMMAND LIST FILTERBY FOO x", "COMMAND LIST FOO", "COMMAND LIST FILTERBY aclcat nosuch",
        "COMMAND COUNT x", "COMMAND DOCS nosuch", "COMMAND FOO", "COMMAND HELP", "COMMAND HELP x",
        "COMMAND INFO nosuch", "COMMAND LIST FILTERBY PATTERN config|*x",
    ])


def test_command_getkeys_with_a_keyed_command(ref: RedisServerProc) -> None:
    diff(ref, ["COMMAND GETKEYS set a b", "COMMAND GETKEYS get a", "COMMAND GETKEYS get a b",
               "COMMAND GETKEYS SET k v EX 10"])


def test_command_getkeysandflags(s: Session) -> None:
    ((key, flags),) = s("COMMAND GETKEYSANDFLAGS set k v")
    assert key == b"k"
    assert [bytes(f) for f in flags.items] == [b"OW", b"update"]  # as Redis 7.0 (SET's key spec)


def test_command_flags_and_categories_follow_redis_order() -> None:
    cmd = introspection.lookup_by_fullname(b"config|get")
    assert cmd is not None
    assert introspection.command_flags(cmd) == ["admin", "noscript", "loading", "stale"]
    assert introspection.acl_categories(cmd) == ["admin", "slow", "dangerous"]
    dbsize = introspection.lookup_by_fullname(b"dbsize")
    assert dbsize is not None and introspection.acl_categories(dbsize) == ["keyspace", "read", "fast"]
    assert introspection.lookup_by_fullname(b"a|b|c") is None


# ---- CONFIG -------------------------------------------------------------------------------
def test_config_get_returns_a_map(s: Session) -> None:
    r = s("CONFIG GET maxmemory")
    assert isinstance(r, Map) and r.items == [(b"maxmemory", b"0")]


def test_config_get_glob_and_multiple_patterns(s: Session) -> None:
    d = dict(s("CONFIG GET maxmemory* port hz hz h?").items)
    assert {b"maxmemory", b"maxmemory-policy", b"maxmemory-samples", b"port", b"hz"} <= set(d)
    assert d[b"port"] == b"6379"
    assert len(s("CONFIG GET hz hz h?").items) == 1
    assert dict(s("CONFIG GET *").items)[b"databases"] == b"16"


def test_config_get_aliases(s: Session) -> None:
    d = dict(s("CONFIG GET hash-max-*").items)
    assert d == {b"hash-max-listpack-entries": b"512", b"hash-max-ziplist-entries": b"512",
                 b"hash-max-listpack-value": b"64", b"hash-max-ziplist-value": b"64"}
    s("CONFIG SET hash-max-ziplist-entries 100")
    assert s("CONFIG GET hash-max-listpack-entries").items == [(b"hash-max-listpack-entries", b"100")]


def test_config_values_come_from_node_config() -> None:
    a = Session(make_node(databases=4, hz=20, requirepass="pw", server_port=7000))
    a("AUTH pw")
    d = dict(a("CONFIG GET databases hz requirepass port appendfsync").items)
    assert d == {b"databases": b"4", b"hz": b"20", b"requirepass": b"pw", b"port": b"7000",
                 b"appendfsync": b"everysec"}


def test_config_get_matches_redis(ref: RedisServerProc) -> None:
    diff(ref, ["CONFIG GET", "CONFIG GET nosuch", "CONFIG GET maxmemory", "CONFIG GET MAXMEMORY",
               "CONFIG GET SLAVEOF", "CONFIG GET save", "CONFIG GET timeout", "CONFIG GET a b",
               "CONFIG GET maxmemory-policy", "CONFIG GET hz hz", "CONFIG GET requirepass",
               "CONFIG GET notify-keyspace-events", "CONFIG GET list-max-ziplist-size",
               "!HELLO 3", "CONFIG GET hz", "CONFIG GET nosuch"])


def test_config_set_errors_match_redis(ref: RedisServerProc) -> None:
    diff(ref, [
        "CONFIG SET foo bar", "CONFIG SET maxmemory", "CONFIG SET databases 3", "CONFIG SET maxmemory abc",
        "CONFIG SET maxmemory -1", "CONFIG SET maxmemory 1.5", "CONFIG SET maxmemory-policy foo",
        "CONFIG SET hz 5 hz 6", "CONFIG SET hz 5 hz", "CONFIG SET hz 5 maxmemory 1 nosuch 2",
        "CONFIG SET hz 5 daemonize yes", "CONFIG SET hz 5 hz 6 daemonize yes", "CONFIG SET hz abc hz 6",
        "CONFIG SET appendfsync xx", "CONFIG SET timeout -1", "CONFIG SET timeout 1.5",
        "CONFIG SET timeout ' 5'", "CONFIG SET timeout 010", "CONFIG SET timeout +5", "CONFIG SET timeout ''",
        "CONFIG SET dir /x", "CONFIG SET dbfilename x", "CONFIG SET daemonize yes", "CONFIG SET hz abc",
        "CONFIG SET hz 99999999999", "CONFIG SET hz -1", "CONFIG SET maxclients 0", "CONFIG SET save abc",
        "CONFIG SET save '1 2 3'", "CONFIG SET save '-1 1'", "CONFIG SET save '1 -1'",
        "CONFIG SET notify-keyspace-events Q", "CONFIG SET proto-max-bulk-len 10", "CONFIG SET loglevel foo",
        "CONFIG SET activerehashing 1", "CONFIG SET maxmemory-clients abc",
        "CONFIG SET slowlog-log-slower-than -5", "CONFIG SET list-max-listpack-size 9999999999",
        "CONFIG SET list-max-listpack-size abc",
        "CONFIG SET client-output-buffer-limit 'normal 0 0'", "CONFIG SET client-output-buffer-limit 'foo 0 0 0'",
        "CONFIG SET client-output-buffer-limit 'normal 1mb x 0'",
        "CONFIG SET latency-tracking-info-percentiles '50 abc'",
        "CONFIG SET latency-tracking-info-percentiles '50 101'",
        "CONFIG SET requirepass foo bar", "CONFIG SET slaveof x", "CONFIG SET unixsocket x",
        "CONFIG RESETSTAT x", "CONFIG FOO", "CONFIG", "CONFIG HELP", "CONFIG HELP x",
    ])


def test_config_set_then_get_matches_redis(ref: RedisServerProc) -> None:
    sets = [
        ("maxmemory 10mb", "maxmemory 0"), ("maxmemory 1KB", "maxmemory 0"), ("maxmemory 1k", "maxmemory 0"),
        ("maxmemory 0100", "maxmemory 0"), ("maxmemory ''", "maxmemory 0"),
        ("maxmemory-policy ALLKEYS-LRU", "maxmemory-policy noeviction"), ("hz 501", "hz 10"), ("hz 0", "hz 10"),
        ("timeout 70", "timeout 0"), ("activerehashing Yes", "activerehashing yes"),
        ("notify-keyspace-events KEA", "notify-keyspace-events ''"),
        ("notify-keyspace-events Kx$", "notify-keyspace-events ''"),
        ("notify-keyspace-events AnKm", "notify-keyspace-events ''"),
        ("save '100 10'", "save ''"), ("save '3600 1 300 100'", "save ''"),
        ("client-output-buffer-limit 'normal 1mb 2mb 3'", "client-output-buffer-limit 'normal 0 0 0'"),
        ("client-output-buffer-limit 'replica 1 2 3 pubsub 4 5 6'",
         "client-output-buffer-limit 'slave 268435456 67108864 60 pubsub 33554432 8388608 60'"),
        ("maxmemory-clients 10%", "maxmemory-clients 0"), ("proto-max-bulk-len 1mb", "proto-max-bulk-len 512mb"),
        ("appendfsync ALWAYS", "appendfsync everysec"), ("lua-time-limit 100", "lua-time-limit 5000"),
        ("hz 5 maxmemory 7", "hz 10 maxmemory 0"), ("list-max-ziplist-size -1", "list-max-ziplist-size -2"),
        ("latency-tracking-info-percentiles '50 99 99.9'", "latency-tracking-info-percentiles '50 99 99.9'"),
    ]
    lines: list[str | list[Any]] = []
    for do, undo in sets:
        names = shlex.split(do)[0::2]
        # One name per GET: Redis orders a multi-name reply by its hash table.
        lines += [f"CONFIG SET {do}", *(f"CONFIG GET {n}" for n in names), f"CONFIG SET {undo}"]
    lines += ["CONFIG GET busy-reply-threshold", "CONFIG GET client-output-buffer-limit"]
    diff(ref, lines)


def test_config_set_is_all_or_nothing(s: Session) -> None:
    assert isinstance(s("CONFIG SET hz 20 maxmemory abc"), ErrorReply)
    assert s("CONFIG GET hz").items == [(b"hz", b"10")]


def test_config_set_requirepass_applies_to_new_clients(s: Session) -> None:
    assert s("CONFIG SET requirepass pw") == Status(b"OK")
    assert s("PING") == Status(b"PONG")  # already-connected clients stay authenticated
    b = Session(s.node, "127.0.0.1:5002")
    assert b("PING") == ErrorReply(errors.NOAUTH)
    assert b("AUTH pw") == Status(b"OK")
    s("CONFIG SET requirepass ''")
    assert s.node.requirepass is None
    assert Session(s.node)("PING") == Status(b"PONG")


def test_config_set_proto_max_bulk_len_updates_node(s: Session) -> None:
    s("CONFIG SET proto-max-bulk-len 2mb")
    assert s.node.proto_max_bulk_len == 2 * 1024 * 1024


def test_config_set_hooks_and_runtime(s: Session) -> None:
    seen: list[str] = []

    def hook(node: Node, value: str) -> None:
        seen.append(value)

    config_cmd.register_config_hook("appendfsync", hook)
    try:
        s("CONFIG SET appendfsync always")
    finally:
        config_cmd._HOOKS["appendfsync"].remove(hook)
    assert seen == ["always"]
    assert s.node.runtime["appendfsync"] == "always"


def test_config_immutable_parameters(s: Session) -> None:
    # port: an in-process node has no listener to move (a server re-listens: test_session.py).
    for name, value in (("port", "1"), ("bind", "1"), ("databases", "1"), ("appendonly", "no"),
                        ("daemonize", "yes")):
        r = s(f"CONFIG SET {name} {value}")
        assert r == ErrorReply(f"ERR CONFIG SET failed (possibly related to argument '{name}') - "
                               "can't set immutable config"), name
    # Settable in Redis but not here: the value they already have is accepted (CONFIG sanity).
    for name in ("bind", "appendonly"):
        current = s(f"CONFIG GET {name}").items[0][1]
        assert s([b"CONFIG", b"SET", name.encode(), current]) == Status(b"OK")


def test_config_maxmemory_clients_percent_bound(s: Session) -> None:
    assert s("CONFIG SET maxmemory-clients 200%") == ErrorReply(
        "ERR CONFIG SET failed (possibly related to argument 'maxmemory-clients') - "
        "percentage argument must be less or equal to 100")
    assert s("CONFIG SET maxmemory-clients 100%") == Status(b"OK")


def test_config_resetstat_zeroes_counters(s: Session) -> None:
    s("PING")
    s("SELECT x")
    s("GET")
    assert s("CONFIG RESETSTAT") == Status(b"OK")
    p = parse_info(s("INFO everything").data)
    assert p["Errorstats"] == {}
    # RESETSTAT itself is counted after it ran; this INFO only once it returns (like Redis).
    assert list(p["Commandstats"]) == ["cmdstat_config|resetstat"]
    assert p["Stats"]["total_connections_received"] == "0"
    assert p["Stats"]["total_commands_processed"] == "1"


def test_config_rewrite_without_file(ref: RedisServerProc) -> None:
    diff(ref, ["CONFIG REWRITE"])


def test_config_rewrite_updates_json_file(s: Session, tmp_path: Path) -> None:
    path = tmp_path / "node.json"
    path.write_text(json.dumps({"replica_id": "t", "tuning": {"hz": 10}}))
    s.node.config_file = str(path)
    s("CONFIG SET hz 50 maxclients 77 timeout 5")
    assert s("CONFIG REWRITE") == Status(b"OK")
    doc = json.loads(path.read_text())
    assert doc["tuning"]["hz"] == 50
    assert doc["maxclients"] == 77
    assert doc["replica_id"] == "t"
    assert "requirepass" not in doc
    assert [p.name for p in tmp_path.iterdir()] == ["node.json"]


def test_config_rewrite_reports_io_errors(s: Session, tmp_path: Path) -> None:
    s.node.config_file = str(tmp_path / "missing.json")
    r = s("CONFIG REWRITE")
    assert isinstance(r, ErrorReply) and r.message.startswith("ERR Rewriting config file: ")


def test_config_help_matches_redis(ref: RedisServerProc) -> None:
    diff(ref, ["CONFIG HELP"])


def test_default_runtime_has_every_parameter() -> None:
    rt = config_cmd.default_runtime(make_config())
    assert set(rt) == set(config_cmd.PARAMS)
    assert rt["maxmemory-policy"] == "noeviction" and rt["appendonly"] == "yes"


# ---- CLIENT -------------------------------------------------------------------------------
def test_client_id_setname_getname(s: Session) -> None:
    assert s("CLIENT ID") == s.client.id
    assert s("CLIENT GETNAME") is None
    assert s("CLIENT SETNAME conn1") == Status(b"OK")
    assert s("CLIENT GETNAME") == b"conn1"
    s("CLIENT SETNAME ''")
    assert s("CLIENT GETNAME") is None


def test_client_errors_match_redis(ref: RedisServerProc) -> None:
    diff(ref, [
        "CLIENT", "CLIENT ID x", "CLIENT SETNAME", ["CLIENT", "SETNAME", "a b"], ["CLIENT", "SETNAME", "a\nb"],
        ["CLIENT", "SETNAME", "é"], ["CLIENT", "SETNAME", ""], "CLIENT GETNAME", "CLIENT SETNAME foo",
        "CLIENT GETNAME", "CLIENT GETNAME x", "CLIENT NO-EVICT", "CLIENT NO-EVICT on", "CLIENT NO-EVICT OFF",
        "CLIENT NO-EVICT maybe", "CLIENT REPLY", "CLIENT REPLY maybe", "CLIENT REPLY ON",
        "CLIENT LIST TYPE foo", "CLIENT LIST ID 1 2 x", "CLIENT LIST ID 99999", "CLIENT LIST ID",
        "CLIENT LIST FOO", "CLIENT LIST TYPE master", "CLIENT LIST TYPE pubsub", "CLIENT LIST TYPE replica",
        "CLIENT KILL", "CLIENT KILL 1.2.3.4:5", "CLIENT KILL ID 9999", "CLIENT KILL ID x", "CLIENT KILL FOO bar",
        "CLIENT KILL ADDR 1.2.3.4:5", "CLIENT KILL ID", "CLIENT KILL SKIPME maybe", "CLIENT KILL TYPE foo",
        "CLIENT KILL ID 0", "CLIENT KILL ID -1", "CLIENT KILL USER nosuch", "CLIENT KILL MAXAGE 5",
        "CLIENT KILL LADDR 1.2.3.4:5", "CLIENT KILL ID 1 SKIPME", "CLIENT KILL USER default ID 99999",
        "CLIENT FOO", "!HELLO 3", "CLIENT GETNAME", "CLIENT LIST ID 99999",
    ])


def test_client_list_and_info(s: Session) -> None:
    other = Session(s.node, "127.0.0.1:5001")
    other("CLIENT SETNAME other")
    r = s("CLIENT LIST")
    assert isinstance(r, Verbatim)
    lines = r.data.decode().split("\n")
    assert lines[-1] == "" and len(lines) == 3
    assert lines[0].startswith(f"id={s.client.id} addr=127.0.0.1:5000 laddr=127.0.0.1:6379 ")
    assert "cmd=client|list" in lines[0]
    assert "name=other" in lines[1]
    mine = s("CLIENT INFO").data.decode()
    assert mine.endswith("\n") and mine.count("\n") == 1 and "cmd=client|info" in mine
    ids = s(f"CLIENT LIST ID {other.client.id} 999 {other.client.id}").data.decode()
    assert ids.count("name=other") == 2
    assert s("CLIENT LIST TYPE normal").data.decode().count("\n") == 2
    assert s("CLIENT LIST TYPE pubsub").data == b""


def test_client_list_resp3_is_verbatim(s: Session) -> None:
    s("HELLO 3")
    assert s.wire("CLIENT INFO").startswith(b"=")
    assert b"txt:id=" in s.wire("CLIENT INFO")


def test_client_setinfo(s: Session) -> None:
    assert s("CLIENT SETINFO LIB-NAME redis-py") == Status(b"OK")
    assert s("CLIENT SETINFO lib-ver 5.0.1") == Status(b"OK")
    assert (s.client.lib_name, s.client.lib_ver) == (b"redis-py", b"5.0.1")
    assert s("CLIENT SETINFO foo x") == ErrorReply("ERR Unrecognized option 'foo'")
    assert s("CLIENT SETINFO lib-NAME 'a b'") == ErrorReply(
        "ERR lib-NAME cannot contain spaces, newlines or special characters.")
    assert s("CLIENT SETINFO lib-name") == ErrorReply(errors.wrong_arity("client|setinfo"))


def test_client_no_touch_and_reply_modes(s: Session) -> None:
    from crdtredis.client import REPLY_OFF, REPLY_ON, REPLY_SKIP_NEXT

    assert s("CLIENT NO-TOUCH on") == Status(b"OK")
    assert s("CLIENT NO-TOUCH maybe") == ErrorReply(errors.SYNTAX)
    # The reply modes are applied by the connection (tests/test_session.py); here: state.
    s("CLIENT REPLY skip")
    assert s.client.reply_mode == REPLY_SKIP_NEXT and s.client.special
    s("CLIENT REPLY OFF")
    assert s.client.reply_mode == REPLY_OFF
    s("CLIENT REPLY skip")  # SKIP while OFF changes nothing (Redis)
    assert s.client.reply_mode == REPLY_OFF
    assert s("CLIENT REPLY ON") == Status(b"OK")
    assert s.client.reply_mode == REPLY_ON and not s.client.special
    assert s("CLIENT REPLY maybe") == ErrorReply(errors.SYNTAX)


def test_client_kill_old_form(s: Session) -> None:
    other = Session(s.node, "127.0.0.1:5001")
    assert s("CLIENT KILL 127.0.0.1:5001") == Status(b"OK")
    assert other.closed and other.client.closing
    assert s("CLIENT KILL 127.0.0.1:9") == ErrorReply(errors.NO_SUCH_CLIENT)
    # The old form may kill yourself: the OK goes out, then the connection closes.
    assert s("CLIENT KILL 127.0.0.1:5000") == Status(b"OK")
    assert s.client.closing and not s.closed


def test_client_kill_filters(s: Session) -> None:
    a = Session(s.node, "127.0.0.1:5001")
    b = Session(s.node, "127.0.0.1:5002")
    assert s(f"CLIENT KILL ID {a.client.id}") == 1 and a.closed
    assert s("CLIENT KILL ADDR 127.0.0.1:5002 TYPE pubsub") == 0 and not b.closed
    assert s("CLIENT KILL ADDR 127.0.0.1:5002 LADDR 127.0.0.1:6379 USER default") == 1 and b.closed
    assert s(f"CLIENT KILL ID {s.client.id}") == 0  # SKIPME yes by default
    assert not s.client.closing
    assert s(f"CLIENT KILL ID {s.client.id} SKIPME no") == 1
    assert s.client.closing


def test_client_kill_type_normal_spares_me(s: Session) -> None:
    a = Session(s.node, "127.0.0.1:5001")
    assert s("CLIENT KILL TYPE normal") == 1 and a.closed and not s.client.closing


def test_client_help_lists_our_subcommands(s: Session) -> None:
    text = b"\n".join(s("CLIENT HELP"))
    for sub in (b"GETNAME", b"SETNAME", b"SETINFO", b"LIST", b"KILL", b"NO-EVICT", b"NO-TOUCH", b"REPLY"):
        assert sub in text


# ---- dispatch details this module relies on ------------------------------------------------
def test_no_multi_commands_abort_transaction(s: Session) -> None:
    s("MULTI")
    assert s("SHUTDOWN") == ErrorReply(errors.NO_MULTI)
    assert s("EXEC") == ErrorReply(errors.EXECABORT)


def test_memtoull() -> None:
    m = config_cmd.memtoull
    assert (m("0"), m("1k"), m("1kb"), m("1M"), m("1mb"), m("2g"), m("2GB"), m("5b"), m("")) == (
        0, 1000, 1024, 10**6, 1024**2, 2 * 10**9, 2 * 1024**3, 5, 0)
    assert m("-1") is None and m("1.5") is None and m("1x") is None and m(" 1") is None
