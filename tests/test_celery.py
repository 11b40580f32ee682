"""Celery with crdt-redis as its broker and its result backend (issue 9: Celery's worker
died at start-up without Lua scripting; issue 10: its result backend waits on pub/sub).

Celery is installed with pip into a directory of its own (not the system site); the test
skips only when the package index cannot be reached. Slow: a real worker process."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.support.procs import CrdtRedisProc
from tests.test_replication import make_cluster, stop_all

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def celery_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("celery")
    proc = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--disable-pip-version-check",
                           "--target", str(target), "celery[redis]>=5.3,<6"], capture_output=True, text=True,
                          timeout=600)
    if proc.returncode != 0:
        pytest.skip(f"cannot pip install celery: {proc.stderr.strip()[-300:]}")
    (target / "tasks.py").write_text(textwrap.dedent('''
        import os
        from celery import Celery
        app = Celery("tasks", broker=os.environ["BROKER"], backend=os.environ["BACKEND"])
        app.conf.broker_connection_retry_on_startup = True

        @app.task
        def add(x, y):
            return x + y
    '''))
    return target


def _env(celery_dir: Path, broker: int, backend: int) -> dict[str, str]:
    # The package dir first: celery pins its own redis-py and kombu.
    return dict(os.environ, PYTHONPATH=str(celery_dir), BROKER=f"redis://127.0.0.1:{broker}/0",
                BACKEND=f"redis://127.0.0.1:{backend}/1")


def test_a_celery_worker_runs_tasks_and_returns_results(tmp_path: Path, celery_dir: Path) -> None:
    node = CrdtRedisProc(tmp_path / "n", "n").start()
    env = _env(celery_dir, node.port, node.port)
    worker = subprocess.Popen([sys.executable, "-m", "celery", "-A", "tasks", "worker", "-c", "1",
                               "--without-mingle", "--without-gossip", "--loglevel=warning"],
                              cwd=celery_dir, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        out = subprocess.run([sys.executable, "-c",
                              "from tasks import add\n"
                              "rs = [add.delay(i, i) for i in range(5)]\n"
                              "print([r.get(timeout=60) for r in rs])"],
                             cwd=celery_dir, env=env, capture_output=True, text=True, timeout=120)
        assert out.stdout.strip() == "[0, 2, 4, 6, 8]", out.stderr[-2000:]
        assert worker.poll() is None  # the worker did not die at start-up
    finally:
        worker.terminate()
        worker.wait(30)
        node.stop()


def test_tasks_sent_at_one_replica_run_by_a_worker_at_another(tmp_path: Path, celery_dir: Path) -> None:
    # The queue (a list) replicates; the result is published at the worker's replica and
    # reaches the waiting client at the other through the cross-replica pub/sub link.
    nodes, links = make_cluster(tmp_path, n=2)
    try:
        worker_env = _env(celery_dir, nodes[1].port, nodes[1].port)
        client_env = _env(celery_dir, nodes[0].port, nodes[0].port)
        worker = subprocess.Popen([sys.executable, "-m", "celery", "-A", "tasks", "worker", "-c", "1",
                                   "--without-mingle", "--without-gossip", "--loglevel=warning"],
                                  cwd=celery_dir, env=worker_env, stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT)
        try:
            out = subprocess.run([sys.executable, "-c",
                                  "from tasks import add\n"
                                  "print(add.delay(20, 22).get(timeout=60))"],
                                 cwd=celery_dir, env=client_env, capture_output=True, text=True, timeout=120)
            assert out.stdout.strip() == "42", out.stderr[-2000:]
        finally:
            worker.terminate()
            worker.wait(30)
    finally:
        stop_all(nodes, links)
