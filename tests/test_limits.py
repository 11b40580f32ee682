"""Connection limits, each against the abusive client it is meant for (crdtredis/limits.py):
protected mode, maxclients, timeout, tcp-keepalive, client-query-buffer-limit. The refusal
texts and the closing behaviour are checked against a real redis-server where the machine
allows it (the same abusive client, both servers)."""
from __future__ import annotations

import shutil
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from crdtredis import limits
from tests.support.procs import CrdtRedisProc, RedisServerProc, wait_until


# ---- the protected-mode decision -------------------------------------------------------------
@pytest.mark.parametrize(("host", "local"), [
    ("127.0.0.1", True), ("127.0.0.2", True), ("::1", True), ("::ffff:127.0.0.1", True), ("", True),
    ("192.0.2.2", False), ("10.0.0.1", False), ("::ffff:10.0.0.1", False), ("fd00::2", False),
    ("fe80::1%eth0", False), ("not-an-ip", False),
])
def test_loopback_addresses(host: str, local: bool) -> None:
    assert limits.is_loopback(host) is local


def test_protected_mode_decision() -> None:
    assert limits.protected_denies(True, True, "192.0.2.2")
    assert not limits.protected_denies(True, True, "127.0.0.1")
    assert not limits.protected_denies(False, True, "192.0.2.2")  # protected-mode no
    assert not limits.protected_denies(True, False, "192.0.2.2")  # the default user has a password


def test_denied_text_is_redis_7_0s() -> None:
    exe = shutil.which("redis-server")
    if exe is None:
        pytest.skip("redis-server is not installed")
    import re

    m = re.search(rb"-DENIED Redis is running[^\x00]*", Path(exe).read_bytes())
    assert m is not None and m.group(0) == limits.DENIED


# ---- against real processes ------------------------------------------------------------------
def _local_address() -> str | None:
    """A non-loopback address of this machine (no packet is sent), or None."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("192.0.2.1", 9))
            addr = str(s.getsockname()[0])
        except OSError:
            return None
    return None if limits.is_loopback(addr) else addr


def _read_until_closed(s: socket.socket, limit: int = 1 << 20) -> bytes:
    s.settimeout(10)
    out = b""
    while len(out) < limit:
        try:
            chunk = s.recv(65536)
        except ConnectionResetError:
            break
        if not chunk:
            break
        out += chunk
    return out


def _call(s: socket.socket, *args: bytes) -> bytes:
    s.sendall(b"*%d\r\n" % len(args) + b"".join(b"$%d\r\n%s\r\n" % (len(a), a) for a in args))
    s.settimeout(10)
    return s.recv(65536)


@pytest.fixture
def node(tmp_path: Path) -> Iterator[CrdtRedisProc]:
    n = CrdtRedisProc(tmp_path / "n", "a", settings={"appendfsync": "no"}).start()
    try:
        yield n
    finally:
        n.stop()


def test_protected_mode_refuses_non_loopback_clients(tmp_path: Path) -> None:
    addr = _local_address()
    if addr is None:
        pytest.skip("this machine has no non-loopback address to connect from")
    # Bound to every interface so that a non-loopback client can reach it; protected mode
    # (the default) keeps it closed to them.
    n = CrdtRedisProc(tmp_path / "n", "a", settings={"appendfsync": "no", "bind": "0.0.0.0"}).start()
    try:
        r = n.client()
        with socket.create_connection((addr, n.port)) as s:
            assert _read_until_closed(s) == limits.DENIED
        assert r.info("stats")["rejected_connections"] == 1
        assert r.ping()  # loopback clients are served
        # A password for the default user lifts it (the client must then AUTH).
        r.config_set("requirepass", "pw")
        r.execute_command("AUTH", "pw")
        with socket.create_connection((addr, n.port)) as s:
            assert _call(s, b"PING").startswith(b"-NOAUTH")
        r.config_set("requirepass", "")
        # protected-mode no opts out.
        r.config_set("protected-mode", "no")
        with socket.create_connection((addr, n.port)) as s:
            assert _call(s, b"PING") == b"+PONG\r\n"
        r.config_set("protected-mode", "yes")
        with socket.create_connection((addr, n.port)) as s:
            assert _read_until_closed(s).startswith(b"-DENIED")
    finally:
        n.stop()


def test_protected_mode_no_at_start(tmp_path: Path) -> None:
    addr = _local_address()
    if addr is None:
        pytest.skip("this machine has no non-loopback address to connect from")
    n = CrdtRedisProc(tmp_path / "n", "a", settings={"bind": "0.0.0.0", "protected_mode": "no"}).start()
    try:
        assert n.client().config_get("protected-mode") == {"protected-mode": "no"}
        with socket.create_connection((addr, n.port)) as s:
            assert _call(s, b"PING") == b"+PONG\r\n"
    finally:
        n.stop()


def _maxclients_abuse(port: int) -> tuple[bytes, list[bytes]]:
    """Three clients at maxclients 3 (one of them sets it); a fourth is refused."""
    with socket.create_connection(("127.0.0.1", port)) as admin:
        assert _call(admin, b"CONFIG", b"SET", b"maxclients", b"3") == b"+OK\r\n"
        held = [socket.create_connection(("127.0.0.1", port)) for _ in range(2)]
        try:
            with socket.create_connection(("127.0.0.1", port)) as s:
                refused = _read_until_closed(s)
            served = [_call(h, b"PING") for h in held]
        finally:
            for h in held:
                h.close()
        # A slot is free again once one of them left.
        wait_until(lambda: _call(admin, b"CLIENT", b"LIST").count(b"id=") == 1, timeout=10,
                   msg="the other clients to be gone")
        with socket.create_connection(("127.0.0.1", port)) as s:
            served.append(_call(s, b"PING"))
        stats = _call(admin, b"INFO", b"stats")
        assert b"rejected_connections:1\r\n" in stats
        _call(admin, b"CONFIG", b"SET", b"maxclients", b"10000")
    return refused, served


def test_maxclients_refuses_the_client_past_it_as_redis(node: CrdtRedisProc) -> None:
    ref = RedisServerProc().start()
    try:
        expected = _maxclients_abuse(ref.port)
    finally:
        ref.cleanup()
    got = _maxclients_abuse(node.port)
    assert got == expected == (b"-ERR max number of clients reached\r\n", [b"+PONG\r\n"] * 3)


def test_timeout_closes_idle_clients_but_not_subscribers_or_blocked(node: CrdtRedisProc) -> None:
    r = node.client()
    with socket.create_connection(("127.0.0.1", node.port)) as sub, \
            socket.create_connection(("127.0.0.1", node.port)) as blocked, \
            socket.create_connection(("127.0.0.1", node.port)) as idle:
        assert _call(sub, b"SUBSCRIBE", b"ch").startswith(b"*3")
        blocked.sendall(b"*3\r\n$5\r\nBLPOP\r\n$1\r\nq\r\n$1\r\n0\r\n")
        assert _call(idle, b"PING") == b"+PONG\r\n"
        r.config_set("timeout", 1)
        assert _read_until_closed(idle) == b""  # closed by the server after ~1 s idle
        # The subscriber and the blocked client outlived it.
        assert r.publish("ch", "m") == 1
        r.rpush("q", "v")
        blocked.settimeout(10)
        assert blocked.recv(100) == b"*2\r\n$1\r\nq\r\n$1\r\nv\r\n"
        r.config_set("timeout", 0)


def test_tcp_keepalive_is_set_on_accepted_sockets(node: CrdtRedisProc) -> None:
    if shutil.which("ss") is None:
        pytest.skip("ss (iproute2) is not installed")
    r = node.client()
    r.config_set("tcp-keepalive", 60)
    with socket.create_connection(("127.0.0.1", node.port)) as s:
        assert _call(s, b"PING") == b"+PONG\r\n"
        out = subprocess.run(["ss", "-tnoH", "state", "established", f"( sport = :{node.port} )"],
                             capture_output=True, text=True).stdout
        mine = [line for line in out.splitlines() if f":{s.getsockname()[1]}" in line]
        assert mine and "keepalive" in mine[0], out
    r.config_set("tcp-keepalive", 0)
    with socket.create_connection(("127.0.0.1", node.port)) as s:
        assert _call(s, b"PING") == b"+PONG\r\n"
        out = subprocess.run(["ss", "-tnoH", "state", "established", f"( sport = :{node.port} )"],
                             capture_output=True, text=True).stdout
        mine = [line for line in out.splitlines() if f":{s.getsockname()[1]}" in line]
        assert mine and "keepalive" not in mine[0], out


def _never_finished_request(port: int, total: int) -> int:
    """Send the start of a SET whose value never ends, `total` bytes of it; returns how
    many bytes were sent before the server closed the connection (total if it did not)."""
    sent = 0
    chunk = b"x" * 65536
    with socket.create_connection(("127.0.0.1", port)) as s:
        s.sendall(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$%d\r\n" % (total * 2))
        try:
            while sent < total:
                s.sendall(chunk)
                sent += len(chunk)
        except (BrokenPipeError, ConnectionResetError):
            return sent
        return sent if _read_until_closed(s) == b"" else total


def test_query_buffer_limit_closes_the_client_as_redis(node: CrdtRedisProc) -> None:
    ref = RedisServerProc().start()
    try:
        for port in (ref.port, node.port):
            with socket.create_connection(("127.0.0.1", port)) as admin:
                assert _call(admin, b"CONFIG", b"SET", b"client-query-buffer-limit", b"1mb") == b"+OK\r\n"
                # 64 MB of a request that never ends: both servers close the client once
                # its query buffer passes 1 MB (the sender sees the close well before 64 MB).
                sent = _never_finished_request(port, 64 << 20)
                assert sent < 32 << 20, (port, sent)
                assert _call(admin, b"PING") == b"+PONG\r\n"
                # Requests under the limit are served.
                assert _call(admin, b"SET", b"k", b"v" * 500_000) == b"+OK\r\n"
    finally:
        ref.cleanup()
    rss_kb = int(next(line.split()[1] for line in Path(f"/proc/{node.pid}/status").read_text().splitlines()
                      if line.startswith("VmRSS")))
    assert rss_kb < 200_000  # the 64 MB request was never buffered


def _oversized_bulk(port: int) -> tuple[bytes, bytes]:
    with socket.create_connection(("127.0.0.1", port)) as admin:
        assert _call(admin, b"CONFIG", b"SET", b"proto-max-bulk-len", b"1mb") == b"+OK\r\n"
        try:
            with socket.create_connection(("127.0.0.1", port)) as s:
                # The header alone is refused: none of the 2 MB it announces is read.
                s.sendall(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$2000000\r\n")
                refused = _read_until_closed(s)
            with socket.create_connection(("127.0.0.1", port)) as s:
                served = _call(s, b"SET", b"k", b"v" * 1_000_000)
        finally:
            _call(admin, b"CONFIG", b"SET", b"proto-max-bulk-len", b"512mb")
    return refused, served


def test_proto_max_bulk_len_refuses_the_header_as_redis(node: CrdtRedisProc) -> None:
    ref = RedisServerProc().start()
    try:
        expected = _oversized_bulk(ref.port)
    finally:
        ref.cleanup()
    assert _oversized_bulk(node.port) == expected == (b"-ERR Protocol error: invalid bulk length\r\n", b"+OK\r\n")
