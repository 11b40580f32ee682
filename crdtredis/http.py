"""The node's HTTP face: /health, /stats, /config, /metrics; replication adds its own routes.

/config, /stats and /metrics require `Authorization: Bearer <token>` when `admin_token` or
`requirepass` is set; connections that dawdle over their headers are closed (http_guard.py).

/metrics reads the node's plain counters at scrape time through a custom collector on a
private registry: the command hot path only bumps ints in dicts, never a prometheus_client
Counter (whose label lookup and lock would cost more than the command itself), and a
private registry keeps several nodes in one process (tests, devcluster) from colliding.
"""
from __future__ import annotations

import json
import ssl
from collections.abc import Iterable, Mapping
from typing import Any, Protocol

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from crdtredis.config import Config
from crdtredis.http_guard import GuardedSite, quiet_bad_requests, require_admin, track_requests

METRIC_PREFIX = "crdt_redis_"


class Node(Protocol):
    """What the HTTP layer needs from the server (see server.py for the real one)."""

    @property
    def loading(self) -> bool: ...

    @property
    def config(self) -> Config: ...

    def stats(self) -> dict[str, Any]: ...


NODE_KEY: web.AppKey[Node] = web.AppKey("crdt_redis_node")
# Other parts register extra collectors here (e.g. per-peer replication lag) before start.
REGISTRY_KEY: web.AppKey[CollectorRegistry] = web.AppKey("crdt_redis_registry", CollectorRegistry)


def _int_map(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


class NodeCollector(Collector):
    """Turns one `node.stats()` snapshot into Prometheus families, once per scrape."""

    def __init__(self, node: Node) -> None:
        self._node = node

    def collect(self) -> Iterable[Metric]:
        s = self._node.stats()
        p = METRIC_PREFIX

        calls = CounterMetricFamily(p + "commands", "Commands executed, by command.", labels=["command"])
        cerrs = CounterMetricFamily(p + "command_errors", "Commands that replied with an error, by command.",
                                    labels=["command"])
        usec = CounterMetricFamily(p + "command_duration_seconds", "Time spent executing commands, by command.",
                                   labels=["command"])
        for name, c in sorted(_int_map(s.get("commands")).items()):
            c = _int_map(c)
            calls.add_metric([str(name)], c.get("calls", 0))
            cerrs.add_metric([str(name)], c.get("errors", 0))
            usec.add_metric([str(name)], c.get("usec", 0) / 1e6)
        yield from (calls, cerrs, usec)

        errors = CounterMetricFamily(p + "errors", "Error replies, by error prefix (ERR, WRONGTYPE, ...).",
                                     labels=["prefix"])
        for prefix, n in sorted(_int_map(s.get("errors")).items()):
            errors.add_metric([str(prefix)], n)
        yield errors

        for name, text in (("keys", "Keys per database."), ("expires", "Keys with a TTL per database.")):
            fam = GaugeMetricFamily(p + name, text, labels=["db"])
            for db, n in sorted(_int_map(s.get(name)).items(), key=lambda kv: (len(str(kv[0])), str(kv[0]))):
                fam.add_metric([str(db)], n)
            yield fam

        ops = CounterMetricFamily(p + "ops_applied", "CRDT operations applied, by where they were prepared.",
                                  labels=["source"])
        ops.add_metric(["local"], s.get("ops_local", 0))
        ops.add_metric(["remote"], s.get("ops_remote", 0))
        yield ops

        yield GaugeMetricFamily(p + "connected_clients", "Client connections open now.",
                                value=s.get("clients", 0))
        yield CounterMetricFamily(p + "connections_received", "Client connections accepted since start.",
                                  value=s.get("connections_received", 0))
        yield GaugeMetricFamily(p + "memory_rss_bytes", "Resident set size of the process.",
                                value=s.get("memory_rss_bytes", 0))
        yield GaugeMetricFamily(p + "uptime_seconds", "Seconds since the node started.",
                                value=s.get("uptime_s", 0.0))


def _json(data: object, status: int = 200) -> web.Response:
    # default=str: a stats value the server adds later (bytes, a Path) must not break /stats.
    return web.json_response(data, status=status, dumps=lambda o: json.dumps(o, default=str))


async def _health(request: web.Request) -> web.Response:
    node = request.app[NODE_KEY]
    if node.loading:
        # 503 keeps load balancers and orchestrators away until recovery finishes.
        return _json({"status": "loading"}, status=503)
    s = node.stats()
    # Alive either way; "writable" is false while a new replica has not synced yet.
    return _json({"status": "ok", "replica_id": s.get("replica_id", node.config.replica_id),
                  "uptime_s": s.get("uptime_s", 0.0), "writable": getattr(node, "sync_error", None) is None})


async def _stats(request: web.Request) -> web.Response:
    return _json(request.app[NODE_KEY].stats())


async def _config(request: web.Request) -> web.Response:
    return _json(request.app[NODE_KEY].config.redacted())


async def _metrics(request: web.Request) -> web.Response:
    body = generate_latest(request.app[REGISTRY_KEY])
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


def make_app(node: Node, **app_kwargs: Any) -> web.Application:
    """The node's aiohttp app. Add more routes (`app.router.add_*`) before `start_http`.

    `app_kwargs` go to `web.Application` (e.g. `client_max_size` for large replication batches).
    """
    app = web.Application(middlewares=[track_requests], **app_kwargs)
    app[NODE_KEY] = node
    registry = CollectorRegistry(auto_describe=False)
    registry.register(NodeCollector(node))
    app[REGISTRY_KEY] = registry
    app.router.add_get("/health", _health)
    for path, handler in (("/stats", _stats), ("/config", _config), ("/metrics", _metrics)):
        app.router.add_get(path, require_admin(_node_of, handler))
    return app


def _node_of(request: web.Request) -> Node:
    return request.app[NODE_KEY]


async def start_http(
    app: web.Application,
    host: str,
    port: int,
    *,
    access_log: bool = False,
    shutdown_timeout: float = 5.0,
    ssl_context: ssl.SSLContext | None = None,
    header_timeout: float = 10.0,
    keepalive_timeout: float = 75.0,
) -> web.AppRunner:
    """Serve `app` on host:port; the caller awaits `runner.cleanup()` at shutdown.

    Port 0 binds an ephemeral port: read it back from `runner.addresses`. A request's
    headers must arrive within `header_timeout` seconds; an idle keep-alive connection is
    closed after `keepalive_timeout` (peer links reconnect).
    """
    # access_log=None is aiohttp's switch for "no access logger at all", not just a silent one.
    kwargs: dict[str, Any] = {} if access_log else {"access_log": None}
    quiet_bad_requests()
    # lingering_time: after refusing a request whose body was not read (401, 413, ...), the
    # rest of it is read and dropped for at most this long, so the sender sees the answer
    # rather than a reset, without the server draining a huge body for aiohttp's 10 s.
    runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=shutdown_timeout,
                           keepalive_timeout=keepalive_timeout, lingering_time=min(header_timeout, 2.0), **kwargs)
    await runner.setup()
    site = GuardedSite(runner, host, port, header_timeout=header_timeout, ssl_context=ssl_context)
    try:
        await site.start()
    except BaseException:
        await runner.cleanup()
        raise
    return runner
