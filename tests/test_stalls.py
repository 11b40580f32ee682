"""Issue 13's stalls, against a real node: what each abusive request costs is bounded by
what it carries, not by what the key holds. (Times are measured by bench/bench_abuse.py;
these tests check the cause: bytes logged, work done.)"""
from __future__ import annotations

from pathlib import Path

from tests.support.procs import CrdtRedisProc


def _log_bytes(data_dir: Path) -> int:
    return sum(p.stat().st_size for p in data_dir.rglob("*.seg"))


def test_append_to_a_big_string_logs_only_the_appended_bytes(tmp_path: Path) -> None:
    # APPEND of 1 byte to a 400 MB string took 3.5 s and logged 400 MB (the whole value).
    node = CrdtRedisProc(tmp_path / "n", "a", settings={"appendfsync": "no"}).start()
    try:
        r = node.client()
        r.set("big", b"x" * (20 << 20))
        # A reply leaves once its op is written to the log (group commit): sizes are final.
        before = _log_bytes(node.data_dir)
        assert before > 20 << 20
        for _ in range(50):
            r.append("big", b"y")
        grown = _log_bytes(node.data_dir) - before
        assert grown < 64 * 1024, grown
        assert r.strlen("big") == (20 << 20) + 50
        assert r.getrange("big", -3, -1) == b"yyy"
        node.restart()
        r = node.client()
        assert r.strlen("big") == (20 << 20) + 50  # the appends replay from the log
        assert r.getrange("big", (20 << 20) - 1, (20 << 20) + 1) == b"xyy"
    finally:
        node.stop()
