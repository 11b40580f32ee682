from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from crdtredis.config import (
    FIELDS,
    Config,
    ConfigError,
    default_config,
    load_config,
)


def write(tmp_path: Path, data: object, name: str = "node.json") -> str:
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else json.dumps(data))
    return str(path)


def error_of(argv: dict[str, object] | None = None, env: dict[str, str] | None = None,
             path: str | None = None) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        load_config(argv or {}, env or {}, path)
    return info.value


# --- defaults and precedence ---------------------------------------------------------------------


def test_defaults_match_the_documented_values() -> None:
    cfg = default_config()
    assert cfg == Config()
    assert cfg.bind == "127.0.0.1"
    assert cfg.server_port == 6379
    assert cfg.http_port == 8080
    assert cfg.replica_id == "node1"
    assert cfg.data_dir == "./data"
    assert cfg.peers == ()
    assert cfg.requirepass is None
    assert cfg.databases == 16
    assert cfg.proto_max_bulk_len == 536870912
    assert cfg.maxclients == 10000
    assert cfg.loglevel == "notice"
    assert cfg.logfile == ""
    assert cfg.hz == 10
    assert cfg.appendfsync == "everysec"
    assert cfg.max_segment_size == 67108864
    assert cfg.compaction_threshold == 4
    assert cfg.sync_interval == 1.0
    assert cfg.gc_interval == 10.0
    assert cfg.sync_timeout == 5.0
    assert cfg.max_retries == 0
    assert cfg.retry_interval == 0.5
    assert cfg.push_linger_ms == 1.0
    assert cfg.peer_token is None
    assert (cfg.tls_cert, cfg.tls_key, cfg.tls_ca) == ("", "", "")
    assert cfg.forget_peers == ()


def test_load_config_with_no_sources_is_default() -> None:
    assert load_config({}, {}, None) == default_config()


def test_precedence_flag_over_env_over_file_over_default(tmp_path: Path) -> None:
    path = write(tmp_path, {"server_port": 7001, "http_port": 8001, "hz": 20})
    env = {"CRDT_REDIS_SERVER_PORT": "7002", "CRDT_REDIS_HTTP_PORT": "8002"}
    cfg = load_config({"server_port": "7003"}, env, path)
    assert cfg.server_port == 7003  # flag
    assert cfg.http_port == 8002  # env
    assert cfg.hz == 20  # file
    assert cfg.databases == 16  # default


def test_env_ignores_unrelated_variables() -> None:
    assert load_config({}, {"HOME": "/root", "REDIS_PORT": "1"}, None) == default_config()


def test_config_is_frozen_and_hashable() -> None:
    cfg = load_config({"peers": ["http://a:8080"]}, {}, None)
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.server_port = 1  # type: ignore[misc]
    assert cfg.peers == ("http://a:8080",)
    hash(cfg)


def test_direct_construction_is_validated() -> None:
    with pytest.raises(ConfigError, match="server_port"):
        Config(server_port=0)
    assert Config(peers=["http://a:1"]).peers == ("http://a:1",)  # type: ignore[arg-type]
    assert dataclasses.replace(Config(), sync_interval=2).sync_interval == 2.0


# --- file ----------------------------------------------------------------------------------------


def test_file_nested_blocks_are_flattened(tmp_path: Path) -> None:
    path = write(tmp_path, {
        "replica_id": "east",
        "server": {"server_port": 7000, "bind": "0.0.0.0"},
        "replication": {"peers": ["http://b:8080", "https://c:8443/"], "tuning": {"sync_interval": 2}},
    })
    cfg = load_config({}, {}, path)
    assert cfg.replica_id == "east"
    assert cfg.server_port == 7000
    assert cfg.bind == "0.0.0.0"
    assert cfg.peers == ("http://b:8080", "https://c:8443/")
    assert cfg.sync_interval == 2.0


def test_file_field_set_twice_is_an_error(tmp_path: Path) -> None:
    path = write(tmp_path, {"server_port": 7000, "server": {"server_port": 7001}})
    err = error_of(path=path)
    assert err.field == "server_port"
    assert "twice" in str(err) and path in str(err)


def test_file_unknown_field(tmp_path: Path) -> None:
    path = write(tmp_path, {"server_prot": 7000})
    err = error_of(path=path)
    assert err.field == "server_prot"
    assert "unknown field" in str(err) and "did you mean server_port?" in str(err)


def test_file_unknown_field_inside_block_names_the_block(tmp_path: Path) -> None:
    err = error_of(path=write(tmp_path, {"server": {"colour": "blue"}}))
    assert err.field == "server.colour"


@pytest.mark.parametrize("text", ["{", "[1, 2]", "", "{\"a\": }"])
def test_file_unparsable_or_not_an_object(tmp_path: Path, text: str) -> None:
    path = write(tmp_path, text)
    err = error_of(path=path)
    assert err.field == path
    assert str(err).startswith(f"config error: {path}: ")
    assert "\n" not in str(err)


def test_file_missing(tmp_path: Path) -> None:
    err = error_of(path=str(tmp_path / "nope.json"))
    assert "cannot read" in str(err)


def test_file_error_names_the_file_as_source(tmp_path: Path) -> None:
    path = write(tmp_path, {"server_port": 70000})
    assert str(error_of(path=path)) == (
        f"config error: server_port: must be an integer between 1 and 65535, got 70000 (from file {path})"
    )


# --- validation: every field has a bad value that names it ---------------------------------------

BAD_VALUES: dict[str, list[object]] = {
    "bind": ["", 1],
    "server_port": [0, 65536, 70000, "6379", True, 6379.0],
    "http_port": [-1, 65536, None],
    "replica_id": ["", "a b", "x" * 65, "é", 5],
    "data_dir": ["", None],
    "peers": ["http://a:1", ["ftp://a"], ["a:8080"], ["http://"], ["http://a:99999"], [1],
              ["http://a:1", "http://a:1"], ["http://a:1/?q=1"]],
    "requirepass": [123, True, ["x"]],
    "databases": [0, 1025],
    "proto_max_bulk_len": [1023],
    "maxclients": [0],
    "protected_mode": ["on", True, ""],
    "maxmemory": [-1, "100mb"],
    "maxmemory_policy": ["lru", "ALLKEYS-LRU", 1],
    "loglevel": ["info", "DEBUG", 1],
    "logfile": [None, 0],
    "aclfile": [None, 1],
    "hz": [0, 501],
    "appendfsync": ["sometimes", True],
    "max_segment_size": [4095],
    "compaction_threshold": [0],
    "sync_interval": [0, -1.0, "1", False, 10**400],
    "gc_interval": [0.0],
    "sync_timeout": [-5],
    "max_retries": [-1, 1.5],
    "retry_interval": [0],
    "push_linger_ms": [-0.1],
    "peer_token": [1],
    "tls_cert": [None],
    "tls_key": [1],
    "tls_ca": [False],
    "admin_token": [7],
    "max_clock_skew_ms": [999, "5m"],
    "max_members": [1],
    "peer_max_body": [1000],
    "http_header_timeout": [0],
    "tls_port": [-1, 65536],
    "tls_cert_file": [None],
    "tls_key_file": [3],
    "tls_ca_cert_file": [[]],
    "tls_auth_clients": ["maybe", True],
    "forget_peers": ["node2", ["bad id"], ["a", "a"], [None]],
}


def test_every_field_has_bad_value_cases() -> None:
    assert set(BAD_VALUES) == set(FIELDS)


@pytest.mark.parametrize(
    ("field", "value"), [(f, v) for f, values in BAD_VALUES.items() for v in values]
)
def test_bad_file_value_names_its_field(tmp_path: Path, field: str, value: object) -> None:
    path = write(tmp_path, {field: value})
    err = error_of(path=path)
    assert err.field == field
    text = str(err)
    assert text.startswith(f"config error: {field}: must be ")
    assert f"(from file {path})" in text
    assert "\n" not in text


def test_bool_is_not_an_int_but_int_is_a_float(tmp_path: Path) -> None:
    assert "got true" in str(error_of(path=write(tmp_path, {"hz": True})))
    cfg = load_config({}, {}, write(tmp_path, {"sync_interval": 3, "push_linger_ms": 0}))
    assert cfg.sync_interval == 3.0 and isinstance(cfg.sync_interval, float)
    assert cfg.push_linger_ms == 0.0


def test_secret_values_are_never_echoed_in_errors(tmp_path: Path) -> None:
    text = str(error_of(path=write(tmp_path, {"requirepass": 987654})))
    assert "987654" not in text
    assert text.startswith("config error: requirepass: must be a string or null")


def test_tls_cert_and_key_must_come_together() -> None:
    err = error_of(env={"CRDT_REDIS_TLS_CERT": "/c.pem"})
    assert err.field == "tls_key"
    cfg = load_config({"tls_key": "/k.pem"}, {"CRDT_REDIS_TLS_CERT": "/c.pem"}, None)
    assert (cfg.tls_cert, cfg.tls_key) == ("/c.pem", "/k.pem")


def test_valid_boundaries_are_accepted() -> None:
    cfg = load_config({"server_port": 65535, "http_port": 0, "databases": 1024, "hz": 500,
                       "replica_id": "a" * 64, "max_retries": 0, "push_linger_ms": 0}, {}, None)
    assert cfg.http_port == 0 and cfg.server_port == 65535


# --- env -----------------------------------------------------------------------------------------


def test_env_numbers_and_strings_are_parsed() -> None:
    cfg = load_config({}, {
        "CRDT_REDIS_SERVER_PORT": "7000",
        "CRDT_REDIS_SYNC_INTERVAL": "0.25",
        "CRDT_REDIS_RETRY_INTERVAL": "2",
        "CRDT_REDIS_REPLICA_ID": "west-1",
        "CRDT_REDIS_APPENDFSYNC": "always",
    }, None)
    assert (cfg.server_port, cfg.sync_interval, cfg.retry_interval) == (7000, 0.25, 2.0)
    assert (cfg.replica_id, cfg.appendfsync) == ("west-1", "always")


@pytest.mark.parametrize("text", [
    "http://a:8080,http://b:8080",
    " http://a:8080 , http://b:8080 ,",
    '["http://a:8080", "http://b:8080"]',
])
def test_env_peers_comma_separated_or_json(text: str) -> None:
    cfg = load_config({}, {"CRDT_REDIS_PEERS": text}, None)
    assert cfg.peers == ("http://a:8080", "http://b:8080")


def test_env_empty_list_clears_file_value(tmp_path: Path) -> None:
    path = write(tmp_path, {"peers": ["http://a:1"]})
    assert load_config({}, {"CRDT_REDIS_PEERS": ""}, path).peers == ()


@pytest.mark.parametrize("text", ["", "null"])
def test_env_null_or_empty_unsets_a_secret(tmp_path: Path, text: str) -> None:
    path = write(tmp_path, {"requirepass": "s3cret", "peer_token": "tok"})
    cfg = load_config({}, {"CRDT_REDIS_REQUIREPASS": text, "CRDT_REDIS_PEER_TOKEN": text}, path)
    assert cfg.requirepass is None and cfg.peer_token is None


@pytest.mark.parametrize(("var", "value", "field"), [
    ("CRDT_REDIS_SERVER_PORT", "abc", "server_port"),
    ("CRDT_REDIS_SERVER_PORT", "70000", "server_port"),
    ("CRDT_REDIS_SERVER_PORT", "7000.0", "server_port"),
    ("CRDT_REDIS_SYNC_INTERVAL", "soon", "sync_interval"),
    ("CRDT_REDIS_SYNC_INTERVAL", "nan", "sync_interval"),
    ("CRDT_REDIS_SYNC_INTERVAL", "inf", "sync_interval"),
    ("CRDT_REDIS_PEERS", "[not json", "peers"),
    ("CRDT_REDIS_PEERS", '{"a": 1}', "peers"),
    ("CRDT_REDIS_PEERS", "http://a:1,gopher://b", "peers"),
    ("CRDT_REDIS_LOGLEVEL", "loud", "loglevel"),
    ("CRDT_REDIS_SERVERPORT", "1", "serverport"),
])
def test_env_errors_name_field_and_variable(var: str, value: str, field: str) -> None:
    err = error_of(env={var: value})
    assert err.field == field
    assert str(err).startswith(f"config error: {field}: ")
    assert f"(from env {var})" in str(err)


def test_env_error_message_exact() -> None:
    assert str(error_of(env={"CRDT_REDIS_SERVER_PORT": "70000"})) == (
        "config error: server_port: must be an integer between 1 and 65535, got 70000 "
        "(from env CRDT_REDIS_SERVER_PORT)"
    )


# --- overrides (flags) ---------------------------------------------------------------------------


def test_overrides_accept_strings_and_typed_values() -> None:
    cfg = load_config({"server_port": "7000", "http_port": 0, "peers": ["http://a:1"],
                       "forget_peers": "old1,old2", "requirepass": "pw"}, {}, None)
    assert (cfg.server_port, cfg.http_port) == (7000, 0)
    assert cfg.peers == ("http://a:1",)
    assert cfg.forget_peers == ("old1", "old2")
    assert cfg.requirepass == "pw"


def test_override_errors_name_the_flag() -> None:
    with pytest.raises(ConfigError) as info:
        load_config({"server_port": "x"}, {}, None, flag_names={"server_port": "--port"})
    assert str(info.value).endswith("(from flag --port)")
    assert error_of(argv={"nosuch": 1}).field == "nosuch"


# --- output --------------------------------------------------------------------------------------


def test_to_dict_is_complete_json_and_round_trips(tmp_path: Path) -> None:
    cfg = load_config({"peers": ["http://a:1"], "requirepass": "pw", "sync_interval": 3}, {}, None)
    data = cfg.to_dict()
    assert list(data) == list(FIELDS)
    assert data["peers"] == ["http://a:1"]
    text = json.dumps(data, indent=2)
    assert load_config({}, {}, write(tmp_path, text)) == cfg


def test_default_to_dict_round_trips(tmp_path: Path) -> None:
    path = write(tmp_path, json.dumps(default_config().to_dict(), indent=2))
    assert load_config({}, {}, path) == default_config()


def test_redacted_hides_set_secrets_only() -> None:
    cfg = load_config({"requirepass": "hunter2-pass", "peer_token": "tok-xyzzy"}, {}, None)
    red = cfg.redacted()
    assert red["requirepass"] == "***" and red["peer_token"] == "***"
    assert "hunter2" not in json.dumps(red) and "xyzzy" not in json.dumps(red)
    assert cfg.to_dict()["requirepass"] == "hunter2-pass"
    assert "hunter2" not in repr(cfg) and "xyzzy" not in repr(cfg)
    plain = default_config().redacted()
    assert plain["requirepass"] is None and plain["peer_token"] is None
    assert set(red) == set(FIELDS)
