"""Real op logs of two 3-node runs that diverged live (issue 8; tests/fixtures/README in the
archive): each data dir must replay to the same state as its two peers, and to the same
state whether or not peers are configured (a restart never changes what a node shows)."""
from __future__ import annotations

import tarfile
import time
from pathlib import Path

import pytest

from tests.support.state import load_data_dir, visible_state

ARCHIVE = Path(__file__).parent / "fixtures" / "diverged-runs.tar.xz"
RUNS = ["ttl-divergence-r4", "ttl-divergence-r5"]
PEERS = ("http://127.0.0.1:1", "http://127.0.0.1:2")


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    dest = tmp_path_factory.mktemp("fixtures")
    with tarfile.open(ARCHIVE) as tar:
        tar.extractall(dest, filter="data")
    return dest


@pytest.mark.parametrize("run", RUNS)
def test_the_three_replicas_of_a_diverged_run_replay_to_one_state(runs: Path, run: str, tmp_path: Path) -> None:
    now = int(time.time() * 1000)
    states = {}
    for name in ("n1", "n2", "n3"):
        for peers in ((), PEERS):
            # A fresh copy each time: recovery marks the dir (new incarnation, cluster file).
            src = runs / run / name
            copy = tmp_path / f"{name}-{len(peers)}"
            copy.mkdir()
            for f in src.iterdir():
                (copy / f.name).write_bytes(f.read_bytes())
            node = load_data_dir(copy, name, peers)
            states[(name, len(peers))] = visible_state(node, now)
    first = states[("n1", 0)]
    assert len(first) > 100  # the runs wrote hundreds of keys of every type
    for k, s in states.items():
        diff = {key: (first.get(key), s.get(key)) for key in set(first) | set(s) if first.get(key) != s.get(key)}
        assert not diff, (k, sorted(diff.items())[:5])
