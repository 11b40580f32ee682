"""Shared fixtures: crdt-redis nodes, a real redis-server, redis-cli.

Fixtures that need the crdt-redis server skip (not fail) while `crdtredis.server` cannot
be imported, so the suite stays usable while the server is being written.
"""
from __future__ import annotations

import shutil
import sys
from collections.abc import Callable, Generator, Iterator
from pathlib import Path
from typing import Any

import pytest

# `tests` has no __init__.py, so pytest puts tests/ (not the repo root) on sys.path; the
# root is needed for `tests.support` to import the same way from every test directory.
_ROOT = str(Path(__file__).resolve().parent.parent)
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

from tests.support.procs import CrdtRedisProc, RedisServerProc  # noqa: E402


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "slow: long-running integration tests")


def require_crdt_server() -> None:
    """Skip the calling test unless the crdt-redis server module exists yet."""
    pytest.importorskip("crdtredis.server", reason="crdtredis.server is not importable yet")


@pytest.fixture
def crdt_node(tmp_path: Path) -> Iterator[CrdtRedisProc]:
    """A fresh single crdt-redis node for one test (its own data dir under tmp_path)."""
    require_crdt_server()
    node = CrdtRedisProc(tmp_path / "n1", replica_id="n1").start()
    try:
        yield node
    finally:
        node.stop()


@pytest.fixture(scope="module")
def crdt_node_module(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CrdtRedisProc]:
    """One crdt-redis node shared by a module; tests FLUSHALL it themselves if they need to."""
    require_crdt_server()
    node = CrdtRedisProc(tmp_path_factory.mktemp("crdt-module") / "n1", replica_id="n1").start()
    try:
        yield node
    finally:
        node.stop()


class CrdtNodeFactory:
    """Makes nodes on demand (clusters, custom flags) and stops them all at teardown."""

    def __init__(self, base: Path) -> None:
        self.base = base
        self.procs: list[CrdtRedisProc] = []

    def __call__(self, replica_id: str = "n1", start: bool = True, **kw: Any) -> CrdtRedisProc:
        node = CrdtRedisProc(self.base / replica_id, replica_id=replica_id, **kw)
        self.procs.append(node)
        return node.start() if start else node

    def stop_all(self) -> None:
        for node in self.procs:
            node.stop()


@pytest.fixture
def crdt_factory(tmp_path: Path) -> Iterator[Callable[..., CrdtRedisProc]]:
    """`crdt_factory("a", peers=[...], settings={...})` -> a started CrdtRedisProc."""
    require_crdt_server()
    factory = CrdtNodeFactory(tmp_path)
    try:
        yield factory
    finally:
        factory.stop_all()


@pytest.fixture(scope="session")
def real_redis() -> Iterator[RedisServerProc]:
    """A real redis-server for the whole session (skips if it is not installed)."""
    server = RedisServerProc().start()
    try:
        yield server
    finally:
        server.cleanup()


@pytest.fixture(scope="session")
def redis_cli_path() -> str:
    path = shutil.which("redis-cli")
    if path is None:
        pytest.skip("redis-cli is not installed")
    return path


def _procs_of(value: Any) -> list[Any]:
    if isinstance(value, CrdtRedisProc | RedisServerProc):
        return [value]
    procs = getattr(value, "procs", None)
    if isinstance(procs, list):
        return [p for p in procs if isinstance(p, CrdtRedisProc | RedisServerProc)]
    return []


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, Any, None]:
    """On failure, append the log tails of the server processes the test used: a crash
    or traceback in the server is usually the real cause of a client-side failure."""
    outcome = yield
    report = outcome.get_result()
    if report.when == "teardown" or not report.failed:
        return
    seen: set[int] = set()
    for value in getattr(item, "funcargs", {}).values():
        for proc in _procs_of(value):
            if id(proc) in seen or isinstance(proc, RedisServerProc):
                continue
            seen.add(id(proc))
            report.sections.append((f"server log {proc.name}", proc.logs(40)))
