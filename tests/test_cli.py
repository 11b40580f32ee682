from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import types
from collections.abc import Iterator
from pathlib import Path

import pytest

from crdtredis import cli
from crdtredis.config import FIELDS, Config, default_config, load_config

REPO = Path(__file__).resolve().parent.parent


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CRDT_REDIS_")}
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    env.update(extra)
    return env


def run_cli(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None
            ) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "crdtredis", *args],
        capture_output=True, text=True, timeout=60, env=env or clean_env(), cwd=cwd,
    )


# --- real subprocesses ---------------------------------------------------------------------------


def test_generate_config_prints_every_default(tmp_path: Path) -> None:
    proc = run_cli("--generate-config")
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    data = json.loads(proc.stdout)
    assert list(data) == list(FIELDS)
    assert data == default_config().to_dict()
    assert proc.stdout.startswith("{\n  \"bind\"")  # indent 2
    path = tmp_path / "node.json"
    path.write_text(proc.stdout)
    assert load_config({}, {}, str(path)) == default_config()


def test_generate_config_with_peers_fills_peers() -> None:
    proc = run_cli("--generate-config", "--peers", "http://a:8080", "https://b:8443")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["peers"] == ["http://a:8080", "https://b:8443"]


def test_generate_config_applies_flags_env_and_file(tmp_path: Path) -> None:
    path = tmp_path / "in.json"
    path.write_text(json.dumps({"server": {"hz": 50, "server_port": 7001}}))
    proc = run_cli("--generate-config", "--config", str(path), "--port", "7002", "--bind", "0.0.0.0",
                   "--set", "sync_interval=2.5", "--peer", "http://x:1",
                   env=clean_env(CRDT_REDIS_REPLICA_ID="east"))
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["server_port"] == 7002 and data["hz"] == 50 and data["bind"] == "0.0.0.0"
    assert data["replica_id"] == "east" and data["sync_interval"] == 2.5
    assert data["peers"] == ["http://x:1"]


def test_bad_config_file_exits_2_with_one_line_naming_the_field(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({"server": {"server_port": 70000}}))
    proc = run_cli("--config", str(path))
    assert proc.returncode == 2
    assert proc.stdout == ""
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0] == (
        f"config error: server_port: must be an integer between 1 and 65535, got 70000 (from file {path})"
    )


def test_unparsable_config_file_exits_2_with_one_line(tmp_path: Path) -> None:
    path = tmp_path / "broken.json"
    path.write_text('{"server_port": 7000,,}')
    proc = run_cli("--config", str(path))
    assert proc.returncode == 2
    assert len(proc.stderr.splitlines()) == 1
    assert proc.stderr.startswith(f"config error: {path}: invalid JSON")


@pytest.mark.parametrize(("args", "env", "field"), [
    (["--port", "0"], {}, "server_port"),
    (["--set", "hz=fast"], {}, "hz"),
    (["--set", "colour=blue"], {}, "colour"),
    (["--peer", "ftp://a"], {}, "peers"),
    ([], {"CRDT_REDIS_DATABASES": "0"}, "databases"),
    (["--loglevel", "loud"], {}, "loglevel"),
])
def test_bad_flag_or_env_exits_2_with_one_line(args: list[str], env: dict[str, str], field: str) -> None:
    proc = run_cli(*args, env=clean_env(**env))
    assert proc.returncode == 2
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith(f"config error: {field}: ")


def test_unknown_subcommand_is_usage_error() -> None:
    proc = run_cli("frobnicate")
    assert proc.returncode == 2
    assert "unknown command 'frobnicate'" in proc.stderr


def test_version() -> None:
    proc = run_cli("--version")
    assert proc.returncode == 0
    assert proc.stdout.startswith("crdt-redis ")


# --- in process ----------------------------------------------------------------------------------


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for h in list(root.handlers):
        root.removeHandler(h)
        if h not in handlers:
            h.close()
    for h in handlers:
        root.addHandler(h)
    root.setLevel(level)


@pytest.fixture
def fake_server(monkeypatch: pytest.MonkeyPatch) -> list[Config]:
    """Stands in for crdtredis.server so main() can be run to the end without a real node."""
    calls: list[Config] = []
    module = types.ModuleType("crdtredis.server")

    def run(config: Config) -> int:
        calls.append(config)
        return 7

    module.run = run  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "crdtredis.server", module)
    for key in list(os.environ):
        if key.startswith("CRDT_REDIS_"):
            monkeypatch.delenv(key)
    return calls


def test_main_runs_server_with_loaded_config(fake_server: list[Config], restore_logging: None, tmp_path: Path) -> None:
    log = tmp_path / "node.log"
    status = cli.main(["--port", "7000", "--replica-id", "b", "--set", f"logfile={log}",
                       "--loglevel", "debug", "--peer", "http://a:1", "--peer", "http://c:1"])
    assert status == 7
    (cfg,) = fake_server
    assert (cfg.server_port, cfg.replica_id, cfg.loglevel) == (7000, "b", "debug")
    assert cfg.peers == ("http://a:1", "http://c:1")
    assert logging.getLogger().level == logging.DEBUG
    logging.getLogger("crdtredis.test").warning("hello from the test")
    for h in logging.getLogger().handlers:
        h.flush()
    assert "# hello from the test" in log.read_text()


def test_main_without_arguments_runs_defaults(fake_server: list[Config], restore_logging: None) -> None:
    assert cli.main([]) == 7
    assert fake_server == [default_config()]
    assert logging.getLogger().level == logging.INFO  # notice


def test_main_unopenable_logfile_is_config_error(fake_server: list[Config], restore_logging: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status = cli.main(["--set", f"logfile={tmp_path}/no/such/dir/log"])
    assert status == 2
    assert fake_server == []
    err = capsys.readouterr().err
    assert err.startswith("config error: logfile: cannot open")


def test_main_same_field_twice_on_command_line(fake_server: list[Config], capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["--port", "7000", "--set", "server_port=7001"]) == 2
    assert capsys.readouterr().err.startswith("config error: server_port: given twice")


def test_main_set_without_equals(fake_server: list[Config], capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["--set", "hz"]) == 2
    assert "FIELD=VALUE" in capsys.readouterr().err


def test_main_set_accepts_dashed_names_and_lists(fake_server: list[Config], restore_logging: None) -> None:
    assert cli.main(["--set", "forget-peers=old1,old2", "--set", 'peers=["http://a:1"]']) == 7
    assert fake_server[0].forget_peers == ("old1", "old2")
    assert fake_server[0].peers == ("http://a:1",)


def test_subcommand_dispatch(monkeypatch: pytest.MonkeyPatch, fake_server: list[Config]) -> None:
    seen: list[list[str]] = []

    def handler(argv: list[str]) -> int:
        seen.append(argv)
        return 5

    monkeypatch.setitem(cli.SUBCOMMANDS, "check-log", handler)
    assert cli.main(["check-log", "--data-dir", "/x", "extra"]) == 5
    assert seen == [["--data-dir", "/x", "extra"]]
    assert fake_server == []


def test_help_lists_every_field(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["--help"]) == 0
    out = capsys.readouterr().out
    for name in FIELDS:
        assert name in out


def test_stray_positional_after_flags_is_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["--port", "7000", "extra"]) == 2


def test_example_config_matches_generate_config() -> None:
    # Regenerate with: python -m crdtredis --generate-config --bind 0.0.0.0 --data-dir /data
    example = json.loads((REPO / "config" / "node.example.json").read_text())
    expected = load_config({"bind": "0.0.0.0", "data_dir": "/data"}, {}, None).to_dict()
    assert example == expected
