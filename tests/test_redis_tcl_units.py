"""Redis 7.0.15's own TCL units for streams and SORT against a throw-away crdt-redis node,
with the shared runner (`../shared/tools/redis-tcl-suite.sh` next to the repository, or
$REDIS_TCL_SUITE). The counts must not drop below what this branch reached (real Redis
passes 63, 48 and 48 in this mode); the remaining failures are listed in the issue report:
stream-cgroups' legacy RDB test needs RESTORE, sort's script test needs EVAL.

Slow: each unit runs the real suite (tclsh). `.ci/run` installs tcl when it is missing."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.support.procs import CrdtRedisProc, free_port

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[1]
RUNNER = Path(os.environ.get("REDIS_TCL_SUITE", REPO.parent / "shared" / "tools" / "redis-tcl-suite.sh"))

# unit -> tests that must pass (real Redis 7.0.15: 63, 48, 48).
FLOOR = {"unit/type/stream": 63, "unit/type/stream-cgroups": 47, "unit/sort": 47}


@pytest.mark.parametrize("unit", sorted(FLOOR))
def test_redis_tcl_unit_pass_count_does_not_drop(tmp_path: Path, unit: str) -> None:
    if not RUNNER.exists():
        pytest.skip(f"Redis TCL suite runner not found at {RUNNER} (set REDIS_TCL_SUITE)")
    if not any(shutil.which(f"tclsh{v}") for v in ("8.5", "8.6", "8.7")):
        pytest.skip("tclsh 8.5+ is not installed (apt-get install -y tcl; .ci/run does it)")
    node = CrdtRedisProc(tmp_path / "tcl", "tcl").start()
    try:
        env = {
            **os.environ,
            "REDIS_TCL_LOGDIR": str(tmp_path / "logs"),
            # A private copy of the suite and a free range for its test-server port: other
            # runs on the machine use the defaults.
            "REDIS_TCL_WORK": str(tmp_path / "suite"),
            "REDIS_TCL_EXTRA_ARGS": f"--baseport {free_port() + 40}",
        }
        if Path("/tmp/redis-tcl-apt/x/redis-7.0.15").is_dir() and "REDIS_SRC_PRISTINE" not in env:
            env["REDIS_SRC_PRISTINE"] = "/tmp/redis-tcl-apt/x/redis-7.0.15"
        out = subprocess.run([str(RUNNER), "127.0.0.1", str(node.port), unit], capture_output=True, text=True,
                             timeout=1500, env=env)
    finally:
        node.stop()
    line = next((x for x in out.stdout.splitlines() if x.startswith(unit + " ")), "")
    m = re.search(r"passed=(\d+)", line)
    assert m, f"no result line for {unit}:\n{out.stdout[-3000:]}\n{out.stderr[-3000:]}"
    fails = (tmp_path / "logs" / "failures.txt")
    listed = fails.read_text() if fails.exists() else ""
    assert int(m.group(1)) >= FLOOR[unit], f"{line}\nfailures:\n{listed}"
