"""Redis 7.0.15's own TCL units for the types of issue 11 that live here (HyperLogLog,
bitops, bitfield, geo), run against a throw-away node: the pass counts must not drop
below what this branch reached (every unit passes all that real Redis passes there in
the external mode of ../shared/tools/redis-tcl-suite.sh).

Needs tclsh and the suite runner from the shared tools folder beside the checkout (CI has
both: .ci/run installs tcl); the runner fetches Redis's test sources once (Debian's redis
source package). Slow: the HyperLogLog unit alone takes about two minutes here."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.support.procs import CrdtRedisProc

pytestmark = pytest.mark.slow

# unit -> tests that must pass (real Redis 7.0.15 passes 16, 45, 16, 59 in this mode).
FLOORS = {"unit/hyperloglog": 16, "unit/bitops": 45, "unit/bitfield": 16, "unit/geo": 59}


def _suite() -> Path | None:
    env = os.environ.get("REDIS_TCL_SUITE")
    cands = [Path(env)] if env else []
    root = Path(__file__).resolve().parents[1]
    cands += [root.parent / "shared" / "tools" / "redis-tcl-suite.sh", Path("/work/shared/tools/redis-tcl-suite.sh")]
    return next((p for p in cands if p.is_file()), None)


@pytest.mark.timeout(1500)
def test_redis_tcl_units_for_hll_bits_geo_do_not_regress(tmp_path: Path) -> None:
    suite = _suite()
    if suite is None or shutil.which("tclsh") is None:
        pytest.skip("needs tclsh and shared/tools/redis-tcl-suite.sh")
    node = CrdtRedisProc(tmp_path / "n1", replica_id="tcl").start()
    try:
        env = dict(os.environ, REDIS_TCL_LOGDIR=str(tmp_path / "logs"))
        out = subprocess.run(["bash", str(suite), "127.0.0.1", str(node.port), *FLOORS],
                             capture_output=True, text=True, env=env, timeout=1400)
    finally:
        node.stop()
    text = out.stdout + out.stderr
    got = {m.group(1): int(m.group(2)) for m in re.finditer(r"^(unit/\S+)\s+passed=(\d+)", text, re.M)}
    assert set(got) == set(FLOORS), text[-3000:]
    low = {u: (got[u], n) for u, n in FLOORS.items() if got[u] < n}
    assert not low, f"passed below the floor (got, floor): {low}\n{text[-3000:]}"
