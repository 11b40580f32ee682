"""Node.js clients (ioredis, node-redis) subscribing through RESP2 and RESP3 against a
crdt-redis node (tests/js/pubsub_clients.mjs), and a BullMQ job queue, which must do what
it does against redis-server (tests/js/bullmq_queue.mjs).

Skips only when `node` is not installed. The npm packages are installed into a temporary
directory (kept between runs under the system temp dir, keyed by the pinned versions), so
the repository carries no node_modules; a failing install is a test failure."""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from tests.support.procs import CrdtRedisProc, RedisServerProc

pytestmark = pytest.mark.slow

PACKAGES = ("ioredis@6.0.0", "redis@6.3.1")
SCRIPT = Path(__file__).parent / "js" / "pubsub_clients.mjs"
BULLMQ = ("bullmq@5.81.5",)
BULLMQ_SCRIPT = Path(__file__).parent / "js" / "bullmq_queue.mjs"


def _node_modules(packages: tuple[str, ...] = PACKAGES) -> Path:
    npm = shutil.which("npm")
    if npm is None:
        pytest.fail("node is installed but npm is not: cannot install the client packages")
    key = hashlib.sha256(" ".join(packages).encode()).hexdigest()[:12]
    base = Path(tempfile.gettempdir()) / f"crdtredis-js-{key}"
    modules = base / "node_modules"
    if all((modules / p.rsplit("@", 1)[0]).is_dir() for p in packages):
        return modules
    base.mkdir(parents=True, exist_ok=True)
    r = subprocess.run([npm, "install", "--no-audit", "--no-fund", "--silent", "--prefix", str(base), *packages],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, f"npm install failed:\n{r.stdout}\n{r.stderr}"
    return modules


def test_ioredis_and_node_redis_subscribe_resp2_and_resp3(crdt_node: CrdtRedisProc) -> None:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")
    modules = _node_modules()
    env = dict(os.environ, NODE_PATH=str(modules))
    r = subprocess.run([node, str(SCRIPT), str(crdt_node.port)], capture_output=True, text=True,
                       timeout=180, env=env)
    lines = [ln for ln in r.stdout.splitlines() if ln.startswith("[")]
    assert lines, f"no result from the script:\n{r.stdout}\n{r.stderr}"
    results = json.loads(lines[-1])
    bad = [x for x in results if not x["ok"]]
    assert r.returncode == 0 and not bad and len(results) == 4, json.dumps(results, indent=1) + r.stderr


def _bullmq_run(node: str, modules: Path, port: int) -> dict[str, object]:
    r = subprocess.run([node, str(BULLMQ_SCRIPT), str(port)], capture_output=True, text=True, timeout=180,
                       env=dict(os.environ, NODE_PATH=str(modules)))
    lines = [ln for ln in r.stdout.splitlines() if ln.startswith("{")]
    assert r.returncode == 0 and lines, f"the BullMQ script failed (port {port}):\n{r.stdout}\n{r.stderr}"
    out: dict[str, object] = json.loads(lines[-1])
    return out


def test_a_bullmq_queue_does_what_it_does_against_redis(crdt_node: CrdtRedisProc) -> None:
    """Its Lua scripts, delayed, prioritized, retried, repeated and flow jobs, pause and
    resume, the rate limiter and the events stream: the same jobs done the same way."""
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")
    modules = _node_modules(BULLMQ)
    ref = RedisServerProc().start()
    try:
        want = _bullmq_run(node, modules, ref.port)
    finally:
        ref.stop()
    got = _bullmq_run(node, modules, crdt_node.port)
    assert got == want
    assert want["counts"] == {"active": 0, "completed": 12, "delayed": 0, "failed": 0, "paused": 0,
                              "prioritized": 0, "waiting": 0, "waiting-children": 0}
