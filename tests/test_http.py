from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from prometheus_client.parser import text_string_to_metric_families

from crdtredis.config import Config, load_config
from crdtredis.http import REGISTRY_KEY, make_app, start_http


class FakeNode:
    """The node interface http.py relies on, with plain counters like the real server keeps."""

    def __init__(self, config: Config | None = None) -> None:
        self.loading = False
        self.config = config or Config(replica_id="east")
        self.stats_calls = 0
        self.clients = 3

    def stats(self) -> dict[str, Any]:
        self.stats_calls += 1
        return {
            "replica_id": self.config.replica_id,
            "uptime_s": 12.5,
            "keys": {"0": 42, "3": 7, "10": 1},
            "expires": {"0": 5},
            "ops_applied": 130,
            "ops_local": 100,
            "ops_remote": 30,
            "clients": self.clients,
            "memory_rss_bytes": 123456789,
            "commands": {
                "get": {"calls": 90, "errors": 0, "usec": 1500},
                "set": {"calls": 40, "errors": 2, "usec": 2_000_000},
            },
            "errors": {"ERR": 1, "WRONGTYPE": 1},
            "connections_received": 17,
        }


@pytest.fixture
def node() -> FakeNode:
    return FakeNode(load_config({"replica_id": "east", "requirepass": "hunter2", "peer_token": "tok-xyzzy",
                                 "peers": ["http://west:8080"]}, {}, None))


Client = TestClient[web.Request, web.Application]


@pytest.fixture
async def client(node: FakeNode) -> AsyncIterator[Client]:
    # requirepass is set: the admin endpoints want it as a bearer token (test_http_security.py).
    async with TestClient(TestServer(make_app(node)), headers={"Authorization": "Bearer hunter2"}) as c:
        yield c


async def test_health_ok(client: Client, node: FakeNode) -> None:
    resp = await client.get("/health")
    assert resp.status == 200
    assert await resp.json() == {"status": "ok", "replica_id": "east", "uptime_s": 12.5, "writable": True}


async def test_health_loading_is_503(client: Client, node: FakeNode) -> None:
    node.loading = True
    resp = await client.get("/health")
    assert resp.status == 503
    assert await resp.json() == {"status": "loading"}
    assert node.stats_calls == 0  # stats are not consulted while recovery runs


async def test_stats_is_node_stats(client: Client, node: FakeNode) -> None:
    resp = await client.get("/stats")
    assert resp.status == 200
    assert resp.content_type == "application/json"
    assert await resp.json() == node.stats()


async def test_stats_tolerates_non_json_values(client: Client, node: FakeNode) -> None:
    node.stats = lambda: {"path": b"bytes", "n": 1}  # type: ignore[method-assign]
    resp = await client.get("/stats")
    assert resp.status == 200
    assert (await resp.json())["n"] == 1


async def test_config_is_redacted(client: Client, node: FakeNode) -> None:
    resp = await client.get("/config")
    assert resp.status == 200
    text = await resp.text()
    data = json.loads(text)
    assert data["requirepass"] == "***" and data["peer_token"] == "***"
    assert "hunter2" not in text and "xyzzy" not in text
    assert data["peers"] == ["http://west:8080"]
    assert data == node.config.redacted()


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


async def test_metrics_expose_node_counters(client: Client, node: FakeNode) -> None:
    resp = await client.get("/metrics")
    assert resp.status == 200
    assert resp.headers["Content-Type"].startswith("text/plain")
    got = samples(await resp.text())
    p = "crdt_redis_"
    assert got[(p + "commands_total", (("command", "get"),))] == 90
    assert got[(p + "commands_total", (("command", "set"),))] == 40
    assert got[(p + "command_errors_total", (("command", "set"),))] == 2
    assert got[(p + "command_errors_total", (("command", "get"),))] == 0
    assert got[(p + "command_duration_seconds_total", (("command", "set"),))] == 2.0
    assert got[(p + "errors_total", (("prefix", "WRONGTYPE"),))] == 1
    assert got[(p + "errors_total", (("prefix", "ERR"),))] == 1
    assert got[(p + "connected_clients", ())] == 3
    assert got[(p + "keys", (("db", "0"),))] == 42
    assert got[(p + "keys", (("db", "3"),))] == 7
    assert got[(p + "keys", (("db", "10"),))] == 1
    assert got[(p + "expires", (("db", "0"),))] == 5
    assert got[(p + "ops_applied_total", (("source", "local"),))] == 100
    assert got[(p + "ops_applied_total", (("source", "remote"),))] == 30
    assert got[(p + "memory_rss_bytes", ())] == 123456789
    assert got[(p + "uptime_seconds", ())] == 12.5
    assert got[(p + "connections_received_total", ())] == 17


async def test_metrics_read_at_scrape_time(client: Client, node: FakeNode) -> None:
    await client.get("/metrics")
    before = node.stats_calls
    node.clients = 9
    resp = await client.get("/metrics")
    assert node.stats_calls == before + 1  # one stats() snapshot per scrape
    assert samples(await resp.text())[("crdt_redis_connected_clients", ())] == 9


async def test_two_apps_have_independent_registries() -> None:
    a, b = FakeNode(Config(replica_id="a")), FakeNode(Config(replica_id="b"))
    app_a, app_b = make_app(a), make_app(b)
    assert app_a[REGISTRY_KEY] is not app_b[REGISTRY_KEY]


async def test_app_is_extensible_and_start_http_serves(node: FakeNode) -> None:
    app = make_app(node)

    async def hello(request: web.Request) -> web.Response:
        return web.Response(text="hi")

    app.router.add_post("/replication/push", hello)
    runner = await start_http(app, "127.0.0.1", 0)
    try:
        host, port = runner.addresses[0][:2]
        async with aiohttp.ClientSession() as session:
            async with session.get(f"http://{host}:{port}/health") as resp:
                assert resp.status == 200
            async with session.post(f"http://{host}:{port}/replication/push") as resp:
                assert await resp.text() == "hi"
    finally:
        await runner.cleanup()
