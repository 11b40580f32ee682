"""TLS (issue 13): Redis clients on `tls_port` (redis-cli --tls, redis-py ssl=True, client
certificates as Redis's tls-auth-clients), and peer links over HTTPS with CA verification
both ways, a 3-node cluster converging over them. Certificates are made by the tests with
the openssl command line (tests/support/certs.py)."""
from __future__ import annotations

import http.client
import random
import shutil
import ssl
import subprocess
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from tests.support.certs import Certs, make_ca
from tests.support.procs import HOST, CrdtRedisProc, free_port, wait_until
from tests.test_replication import FAST, converged, random_writes

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Certs:
    return make_ca(tmp_path_factory.mktemp("certs"))


@pytest.fixture(scope="module")
def tls_node(tmp_path_factory: pytest.TempPathFactory, certs: Certs) -> Iterator[tuple[CrdtRedisProc, int]]:
    server = certs.issue("resp-server")
    port = free_port()
    n = CrdtRedisProc(tmp_path_factory.mktemp("tls") / "n", "n", settings={
        "tls_port": port, "tls_cert_file": server.cert, "tls_key_file": server.key,
        "tls_ca_cert_file": certs.ca}).start()
    try:
        yield n, port
    finally:
        n.stop()


def test_redis_py_over_tls_with_a_client_certificate(tls_node: tuple[CrdtRedisProc, int], certs: Certs) -> None:
    n, port = tls_node
    client = certs.issue("client")
    r = redis.Redis(host=HOST, port=port, ssl=True, ssl_ca_certs=str(certs.ca), ssl_certfile=str(client.cert),
                    ssl_keyfile=str(client.key), socket_timeout=10)
    assert r.set("over-tls", "yes") and r.get("over-tls") == b"yes"
    r3 = redis.Redis(host=HOST, port=port, ssl=True, ssl_ca_certs=str(certs.ca), ssl_certfile=str(client.cert),
                     ssl_keyfile=str(client.key), protocol=3, socket_timeout=10)
    assert r3.hgetall("nothing") == {}
    assert n.client().get("over-tls") == b"yes"  # the plain port serves the same data
    got = r.config_get("tls-*")
    assert got["tls-port"] == str(port) and got["tls-auth-clients"] == "yes"
    assert got["tls-ca-cert-file"] == str(certs.ca)


def test_tls_clients_without_a_certificate_or_trust_are_refused(tls_node: tuple[CrdtRedisProc, int],
                                                                certs: Certs, tmp_path: Path) -> None:
    n, port = tls_node
    nocert = redis.Redis(host=HOST, port=port, ssl=True, ssl_ca_certs=str(certs.ca), socket_timeout=10)
    with pytest.raises(redis.ConnectionError):
        nocert.ping()
    other = make_ca(tmp_path / "other", "other-ca")
    stranger = other.issue("stranger")
    untrusted = redis.Redis(host=HOST, port=port, ssl=True, ssl_ca_certs=str(certs.ca),
                            ssl_certfile=str(stranger.cert), ssl_keyfile=str(stranger.key), socket_timeout=10)
    with pytest.raises(redis.ConnectionError):
        untrusted.ping()
    plain = redis.Redis(host=HOST, port=port, socket_timeout=5)  # RESP without TLS on the TLS port
    with pytest.raises(redis.ConnectionError):
        plain.ping()
    assert n.client().ping()


def test_redis_cli_tls(tls_node: tuple[CrdtRedisProc, int], certs: Certs) -> None:
    cli = shutil.which("redis-cli")
    if cli is None:
        pytest.skip("redis-cli is not installed")
    _, port = tls_node
    client = certs.issue("cli")
    out = subprocess.run([cli, "-h", HOST, "-p", str(port), "--tls", "--cacert", str(certs.ca), "--cert",
                          str(client.cert), "--key", str(client.key), "SET", "cli", "tls"],
                         capture_output=True, text=True, timeout=20)
    assert out.stdout.strip() == "OK", out.stderr
    out = subprocess.run([cli, "-h", HOST, "-p", str(port), "--tls", "--cacert", str(certs.ca), "--cert",
                          str(client.cert), "--key", str(client.key), "GET", "cli"],
                         capture_output=True, text=True, timeout=20)
    assert out.stdout.strip() == "tls"


def test_tls_auth_clients_no_takes_clients_without_certificates(tmp_path: Path, certs: Certs) -> None:
    server = certs.issue("open-server")
    port = free_port()
    n = CrdtRedisProc(tmp_path / "n", "n", settings={
        "tls_port": port, "tls_cert_file": server.cert, "tls_key_file": server.key,
        "tls_auth_clients": "no"}).start()
    try:
        r = redis.Redis(host=HOST, port=port, ssl=True, ssl_ca_certs=str(certs.ca), socket_timeout=10)
        assert r.ping()
    finally:
        n.stop()


def test_tls_config_errors_name_the_field(tmp_path: Path) -> None:
    from crdtredis.config import ConfigError, load_config

    with pytest.raises(ConfigError, match="tls_cert_file"):
        load_config({"tls_port": 7000}, {}, None)
    with pytest.raises(ConfigError, match="tls_ca_cert_file"):
        load_config({"tls_port": 7000, "tls_cert_file": "c", "tls_key_file": "k"}, {}, None)
    load_config({"tls_port": 7000, "tls_cert_file": "c", "tls_key_file": "k", "tls_auth_clients": "no"}, {}, None)


# ---- peer links over HTTPS -------------------------------------------------------------------------
def tls_cluster(tmp: Path, certs: Certs, n: int = 3, **settings: Any) -> list[CrdtRedisProc]:
    http = [free_port() for _ in range(n)]
    nodes = []
    for i in range(n):
        pair = certs.issue(f"peer{i}")
        peers = [f"https://127.0.0.1:{http[j]}" for j in range(n) if j != i]
        nodes.append(CrdtRedisProc(tmp / f"n{i}", f"n{i}", http_port=http[i], peers=peers, settings={
            **FAST, "tls_cert": pair.cert, "tls_key": pair.key, "tls_ca": certs.ca, "peer_token": "tok",
            **settings}))
    for node in nodes:
        node.start()
    return nodes


def https(url: str, ca: Path, cert: Any = None, headers: dict[str, str] | None = None) -> int:
    ctx = ssl.create_default_context(cafile=str(ca))
    if cert is not None:
        ctx.load_cert_chain(str(cert.cert), str(cert.key))
    req = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=10, context=ctx) as resp:
            return int(resp.status)
    except urllib.error.HTTPError as e:
        return int(e.code)


def test_three_nodes_converge_over_https_peer_links(tmp_path: Path, certs: Certs) -> None:
    nodes = tls_cluster(tmp_path, certs)
    try:
        for node in nodes:
            node.wait_synced()
        threads = [threading.Thread(target=random_writes, args=(n.client(), random.Random(i), 150, f"n{i}"))
                   for i, n in enumerate(nodes)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        wait_until(converged(nodes), timeout=60, interval=0.2, msg="replicas did not converge over TLS")
        base = f"https://127.0.0.1:{nodes[0].http_port}"
        assert https(base + "/health", certs.ca) == 200
        # /repl/* wants a certificate the CA signed, on top of the token.
        assert https(base + "/repl/snapshot", certs.ca, headers={"X-CRDT-Token": "tok"}) == 401
        assert https(base + "/repl/snapshot", certs.ca, certs.issue("peer-x"), {"X-CRDT-Token": "tok"}) == 200
        with pytest.raises((OSError, http.client.HTTPException)):  # plain HTTP is not served
            urllib.request.urlopen(f"http://127.0.0.1:{nodes[0].http_port}/health", timeout=5)
    finally:
        for n in nodes:
            n.stop()


def test_a_peer_whose_certificate_the_ca_did_not_sign_gets_nothing(tmp_path: Path, certs: Certs) -> None:
    other = make_ca(tmp_path / "other", "rogue-ca")
    good = tls_cluster(tmp_path, certs, n=2)
    try:
        for node in good:
            node.wait_synced()
        good[0].client().set("secret", "v")
        rogue_pair = other.issue("rogue")
        rogue = CrdtRedisProc(tmp_path / "rogue", "rogue", peers=[f"https://127.0.0.1:{good[0].http_port}"],
                              settings={**FAST, "tls_cert": rogue_pair.cert, "tls_key": rogue_pair.key,
                                        "tls_ca": other.ca, "peer_token": "tok"}).start()
        try:
            wait_until(lambda: "CERTIFICATE_VERIFY_FAILED" in rogue.logs(200), timeout=20)
            assert rogue.sync_state() == "joining" and rogue.client().get("secret") is None
        finally:
            rogue.stop()
    finally:
        for n in good:
            n.stop()
