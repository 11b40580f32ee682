"""Scripting in-process: conversions both ways, error texts, sandbox protection, the Lua
libraries, busy-mode refusals, one op per script, and function libraries as a CRDT.

Texts asserted here were taken from a real redis-server 7.0.15 (the differential tests
compare the same scripts byte for byte against one)."""
from __future__ import annotations

import random
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crdtredis.client import Client
from crdtredis.commands import new_node
from crdtredis.config import Config
from crdtredis.crdt.functions import FunctionLibs
from crdtredis.op import Ctx, Op
from crdtredis.protocol.resp import encode_reply
from crdtredis.reply import ErrorReply, Map, SetReply, Status, Verbatim
from crdtredis.scripting import dump
from crdtredis.scripting.convert import ScriptError, number_reply, reply_to_lua
from crdtredis.scripting.runner import extract_shebang_flags, scripting_of
from tests.support.sim import Cluster


class Node:
    def __init__(self) -> None:
        self.node = new_node(Config())
        self.client = self.node.new_client("t", "t", lambda: None)
        self.ops: list[Op] = []
        self.node.op_listeners.append(self.ops.append)

    def raw(self, *argv: Any, resp: int = 2) -> bytes:
        self.client.resp = resp
        args = [a if isinstance(a, bytes) else str(a).encode() for a in argv]
        out = bytearray()
        encode_reply(out, self.node.execute(self.client, args), resp)
        return bytes(out)

    def eval(self, script: str, *args: Any, resp: int = 2) -> bytes:
        return self.raw("EVAL", script, *args, resp=resp)


@pytest.fixture
def n() -> Node:
    return Node()


def sha(script: str) -> str:
    import hashlib

    return hashlib.sha1(script.encode()).hexdigest()


# ---- Lua -> Redis ------------------------------------------------------------------------------
@pytest.mark.parametrize("script,wire", [
    ("return 'hello'", b"$5\r\nhello\r\n"),
    ("return 100.5", b":100\r\n"),
    ("return -2.9", b":-2\r\n"),
    ("return 0/0", b":-9223372036854775808\r\n"),
    ("return 1e300", b":-9223372036854775808\r\n"),
    ("return true", b":1\r\n"),
    ("return false", b"$-1\r\n"),
    ("return nil", b"$-1\r\n"),
    ("return {ok='fine'}", b"+fine\r\n"),
    ("return {ok='a\\r\\nb'}", b"+a  b\r\n"),
    ("return {err='ERR this is an error'}", b"-ERR this is an error\r\n"),
    ("return {err=''}", b"-\r\n"),
    ("return {1,2,3,'ciao',{1,2}}", b"*5\r\n:1\r\n:2\r\n:3\r\n$4\r\nciao\r\n*2\r\n:1\r\n:2\r\n"),
    ("return {1,2,nil,3}", b"*2\r\n:1\r\n:2\r\n"),
    ("return {1,{err='x'},{ok='y'}}", b"*3\r\n:1\r\n-x\r\n+y\r\n"),
    ("return _G", b"*0\r\n"),
    ("local a = {}; setmetatable(a,{__index=function() foo() end}) return a", b"*0\r\n"),
    ("return redis.error_reply('MY_ERR_CODE custom msg')", b"-MY_ERR_CODE custom msg\r\n"),
    ("return redis.error_reply('')", b"-ERR \r\n"),
    ("return redis.status_reply('MY_OK_CODE custom msg')", b"+MY_OK_CODE custom msg\r\n"),
    ("return {double=1.5}", b"$3\r\n1.5\r\n"),
    ("return {big_number='123\\r\\n123'}", b"$8\r\n123  123\r\n"),
    ("return {map={a=1}}", b"*2\r\n$1\r\na\r\n:1\r\n"),
    ("return {set={a=true}}", b"*1\r\n$1\r\na\r\n"),
    ("return {verbatim_string={format='txt',string='hi'}}", b"$2\r\nhi\r\n"),
])
def test_lua_to_resp2(n: Node, script: str, wire: bytes) -> None:
    assert n.eval(script, 0) == wire


@pytest.mark.parametrize("script,wire", [
    ("return {double=1.5}", b",1.5\r\n"),
    ("return {double=1/0}", b",inf\r\n"),
    ("return {big_number='123'}", b"(123\r\n"),
    ("return {map={a=1}}", b"%1\r\n$1\r\na\r\n:1\r\n"),
    ("return {set={a=true}}", b"~1\r\n$1\r\na\r\n"),
    ("return {verbatim_string={format='txt',string='hi'}}", b"=6\r\ntxt:hi\r\n"),
    ("return false", b"_\r\n"),
    ("redis.setresp(3) return true", b"#t\r\n"),
    ("redis.setresp(3) return false", b"#f\r\n"),
])
def test_lua_to_resp3(n: Node, script: str, wire: bytes) -> None:
    assert n.eval(script, 0, resp=3) == wire


def test_recursive_table_ends_with_stack_limit_error(n: Node) -> None:
    wire = n.eval("local a = {}; local b = {a}; a[1] = b; return a", 0)
    assert wire.endswith(b"-ERR reached lua stack limit\r\n")
    assert set(wire[:-len(b"-ERR reached lua stack limit\r\n")].split(b"\r\n")[:-1]) == {b"*1"}


def test_number_reply_truncates_like_c() -> None:
    assert number_reply(2.9) == 2
    assert number_reply(-2.9) == -2
    assert number_reply(float("nan")) == -(1 << 63)
    assert number_reply(float("inf")) == -(1 << 63)


# ---- Redis -> Lua ------------------------------------------------------------------------------
def test_redis_to_lua_types(n: Node) -> None:
    n.raw("SET", "s", "v")
    n.raw("RPUSH", "l", "a", "b", "c")
    assert n.eval("local r = redis.call('incr', KEYS[1]) return {type(r), r}", 1, "x") == \
        b"*2\r\n$6\r\nnumber\r\n:1\r\n"
    assert n.eval("local r = redis.call('lrange', KEYS[1], 0, -1) return {type(r), #r, r[3]}", 1, "l") == \
        b"*3\r\n$5\r\ntable\r\n:3\r\n$1\r\nc\r\n"
    assert n.eval("local r = redis.call('set', KEYS[1], 'v') return r['ok']", 1, "s") == b"$2\r\nOK\r\n"
    assert n.eval("local r = redis.pcall('incr', KEYS[1]) return r['err']", 1, "s") == \
        b"$43\r\nERR value is not an integer or out of range\r\n"
    assert n.eval("return redis.call('get', 'nokey') == false", 0) == b":1\r\n"


def test_redis_to_lua_resp3_map_and_double(n: Node) -> None:
    n.raw("HSET", "h", "f", "v")
    n.raw("ZADD", "z", "1.5", "m")
    assert n.eval("redis.setresp(3); return redis.call('hgetall', KEYS[1])['map']['f']", 1, "h") == b"$1\r\nv\r\n"
    assert n.eval("redis.setresp(3); return redis.call('zscore', KEYS[1], 'm')['double'] * 2", 1, "z") == b":3\r\n"
    assert n.eval("redis.setresp(2); return redis.call('hgetall', KEYS[1])", 1, "h") == \
        b"*2\r\n$1\r\nf\r\n$1\r\nv\r\n"
    assert n.eval("redis.setresp(3); return redis.call('get', 'nokey') == nil", 0) == b":1\r\n"


def test_reply_to_lua_conversions_directly(n: Node) -> None:
    eng = scripting_of(n.node).eval_engine
    assert reply_to_lua(eng, b"x", False) == (0, b"x", False)
    assert reply_to_lua(eng, Status(b"OK"), False) == (1, b"OK", False)
    assert reply_to_lua(eng, ErrorReply("ERR boom"), False) == (2, b"-ERR boom", True)
    assert reply_to_lua(eng, None, False)[1] is False
    assert reply_to_lua(eng, None, True)[1] is None
    t = reply_to_lua(eng, Map([(b"a", 1)]), True)[1]
    assert t[b"map"][b"a"] == 1
    t = reply_to_lua(eng, SetReply([b"a"]), True)[1]
    assert t[b"set"][b"a"] is True
    assert reply_to_lua(eng, 1.5, False)[1] == b"1.5"
    assert reply_to_lua(eng, 1.5, True)[1][b"double"] == 1.5
    assert reply_to_lua(eng, True, False)[1] == 1
    assert reply_to_lua(eng, Verbatim(b"hi"), True)[1][b"verbatim_string"][b"string"] == b"hi"


# ---- errors ----------------------------------------------------------------------------------
@pytest.mark.parametrize("script,message", [
    ("return a", "ERR user_script:1: Script attempted to access nonexistent global variable 'a' script: {sha}, on @user_script:1."),
    ("a=10", "ERR user_script:1: Attempt to modify a readonly table script: {sha}, on @user_script:1."),
    ("rawset(_G,'a',1)", "ERR Attempt to modify a readonly table script: {sha}, on @user_script:1."),
    ("setmetatable(_G, {})", "ERR Attempt to modify a readonly table script: {sha}, on @user_script:1."),
    ("local g = getmetatable(_G); g.__index = {}",
     "ERR user_script:1: Attempt to modify a readonly table script: {sha}, on @user_script:1."),
    ("redis = function() return 1 end",
     "ERR user_script:1: Attempt to modify a readonly table script: {sha}, on @user_script:1."),
    ("cjson.encode = function() return 1 end",
     "ERR user_script:1: Attempt to modify a readonly table script: {sha}, on @user_script:1."),
    ("error('boom')", "ERR user_script:1: boom script: {sha}, on @user_script:1."),
    ("error({err='MYERR boom'})", "MYERR boom script: {sha}, on @user_script:1."),
    ("redis.call('nosuchcommand')", "ERR Unknown Redis command called from script script: {sha}, on @user_script:1."),
    ("return redis.call('nosuchcommand')",
     "ERR Unknown Redis command called from script script: {sha}, on @user_script:1."),
    ("redis.call('get','a','b','c')",
     "ERR Wrong number of args calling Redis command from script script: {sha}, on @user_script:1."),
    ("return redis.call()",
     "ERR Please specify at least one argument for this redis lib call script: {sha}, on @user_script:1."),
    ("return redis.call('ping', {})",
     "ERR Lua redis lib command arguments must be strings or integers script: {sha}, on @user_script:1."),
    ("return redis.call('blpop','x',0)",
     "ERR This Redis command is not allowed from script script: {sha}, on @user_script:1."),
    ("return redis.call('eval','return 1',0)",
     "ERR This Redis command is not allowed from script script: {sha}, on @user_script:1."),
    ("redis.sha1hex()", "ERR wrong number of arguments script: {sha}, on @user_script:1."),
    ("redis.set_repl(12345)",
     "ERR Invalid replication flags. Use REPL_AOF, REPL_REPLICA, REPL_ALL or REPL_NONE. script: {sha}, on @user_script:1."),
    ("return redis.setresp(4)", "ERR RESP version must be 2 or 3. script: {sha}, on @user_script:1."),
    ("redis.log(99, 'hello')", "ERR Invalid debug level. script: {sha}, on @user_script:1."),
    ("return loadstring(string.dump(function() return 1 end))()",
     "ERR user_script:1: attempt to call a nil value script: {sha}, on @user_script:1."),
    ("print('x')", "ERR user_script:1: Script attempted to access nonexistent global variable 'print' script: {sha}, on @user_script:1."),
    ("return redis.pcall('nosuchcommand')", "ERR Unknown Redis command called from script"),
    ("x", "ERR Error compiling script (new function): user_script:1: '=' expected near '<eof>'"),
])
def test_error_texts(n: Node, script: str, message: str) -> None:
    assert n.eval(script, 0) == b"-" + message.format(sha=sha(script)).encode() + b"\r\n"


def test_argument_errors(n: Node) -> None:
    assert n.eval("return 1", -12) == b"-ERR Number of keys can't be negative\r\n"
    assert n.eval("return 1", 2, "a") == b"-ERR Number of keys can't be greater than number of args\r\n"
    assert n.eval("return 1", "abc") == b"-ERR value is not an integer or out of range\r\n"
    assert n.raw("EVALSHA", "NotValidShaSUM", 0) == b"-NOSCRIPT No matching script. Please use EVAL.\r\n"
    assert n.raw("EVALSHA", "ffd632c7d33e571e9f24556ebed26c3479a87130", 0).startswith(b"-NOSCRIPT")
    assert n.eval("#!not-lua\nreturn 1", 0) == b"-ERR Unexpected engine in script shebang: #!not-lua\r\n"
    assert n.eval("#!lua badger=data\nreturn 1", 0) == b"-ERR Unknown lua shebang option: badger=data\r\n"
    assert n.eval("#!lua flags=allow-oom,what?\nreturn 1", 0) == \
        b"-ERR Unexpected flag in script shebang: what?\r\n"
    assert n.raw("EVAL_RO", "return redis.call('set','x','y')", 1, "x").startswith(
        b"-ERR Write commands are not allowed from read-only scripts. script:")
    assert n.raw("EVAL_RO", "#!lua\nreturn 1", 0) == \
        b"-ERR Can not execute a script with write flag using *_ro command.\r\n"


def test_shebang_flags() -> None:
    assert extract_shebang_flags(b"return 1") == (32, 0, None)
    assert extract_shebang_flags(b"#!lua flags=no-writes,allow-oom\nx") == (3, 31, None)
    assert extract_shebang_flags(b"#!lua flags=\nx")[0] == 0
    assert extract_shebang_flags(b"#!lua")[2] == "Invalid script shebang"


def test_pcall_returns_error_message_and_stats_are_counted_once(n: Node) -> None:
    n.raw("SET", "s", "abc")
    before = dict(n.node.error_counts)
    r = n.eval("return redis.call('incr', KEYS[1])", 1, "s")
    assert r.startswith(b"-ERR value is not an integer or out of range script:")
    assert n.node.error_counts.get("ERR", 0) == before.get("ERR", 0) + 1
    assert n.eval("local ok, e = pcall(redis.call, 'nosuch') return {tostring(ok), e}", 0) == \
        b"*2\r\n$5\r\nfalse\r\n$44\r\nERR Unknown Redis command called from script\r\n"


def test_script_error_is_a_failed_call_not_a_new_error_reply(n: Node) -> None:
    n.raw("SET", "s", "abc")
    before = n.node.commands[b"eval"].errors
    reply = n.node.execute(n.client, [b"EVAL", b"return redis.call('incr','s')", b"0"])
    assert type(reply) is ScriptError
    assert n.node.commands[b"eval"].errors == before + 1


# ---- sandbox -----------------------------------------------------------------------------------
def test_globals_protection_and_allowed_globals(n: Node) -> None:
    assert n.eval("return {type(string.upper), ('abc'):upper(), type(coroutine.wrap), type(gcinfo)}", 0) == \
        b"*4\r\n$8\r\nfunction\r\n$3\r\nABC\r\n$8\r\nfunction\r\n$8\r\nfunction\r\n"
    for name in ("loadfile", "dofile", "print", "newproxy", "io", "os", "require", "debug", "python"):
        assert b"nonexistent global variable '" + name.encode() + b"'" in n.eval(f"return {name}", 0)
    assert b"readonly" in n.eval("table.insert(string, 1)", 0)
    assert b"readonly" in n.eval("getmetatable('').__index.upper = nil", 0)
    # Nothing a script does survives it in the globals.
    assert n.eval("local f = loadstring('x = 1') return pcall(f)", 0) == b"$-1\r\n"


def test_keys_argv_and_sha1hex(n: Node) -> None:
    assert n.eval("return {KEYS[1],KEYS[2],ARGV[1],ARGV[2]}", 2, "a", "b", "c", "d") == \
        b"*4\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n$1\r\nd\r\n"
    assert n.eval("return redis.sha1hex('Pizza & Mandolino')", 0) == \
        b"$40\r\n74822d82031af7493c20eefa13bd07ec4fada82f\r\n"


def test_math_random_is_redis_lrand48(n: Node) -> None:
    assert n.eval("math.randomseed(10) return {tostring(math.random()), math.random(10), math.random(5, 10)}", 0) \
        == n.eval("math.randomseed(10) return {tostring(math.random()), math.random(10), math.random(5, 10)}", 0)
    # A fresh node's sequence is Redis's: the lrand48 state starts from the default seed.
    fresh = Node()
    assert fresh.eval("return tostring(math.random())", 0) == b"$16\r\n0.39646477363839\r\n"
    assert fresh.eval("return math.random(10)", 0) == b":9\r\n"
    assert fresh.eval("return math.random(5, 10)", 0) == b":7\r\n"


def test_memory_cap_and_deep_recursion_end_the_script(monkeypatch: pytest.MonkeyPatch) -> None:
    from crdtredis.scripting import engine

    monkeypatch.setattr(engine, "DEFAULT_MAX_MEMORY", 16 * 1024 * 1024)
    n = Node()
    r = n.eval("local t = {} for i = 1, 1e9 do t[i] = i end", 0)
    assert r.startswith(b"-ERR") and b"memory" in r
    r = n.eval("local s = 'x' while true do s = s .. s end", 0)
    assert r.startswith(b"-ERR") and b"memory" in r
    r = n.eval("local function f() return 1 + f() end return f()", 0)
    assert r.startswith(b"-ERR") and b"stack overflow" in r
    assert n.eval("return 'still fine'", 0) == b"$10\r\nstill fine\r\n"


# ---- libraries -----------------------------------------------------------------------------------
@pytest.mark.parametrize("script,wire", [
    ("return cjson.encode({1,2,{a=1}})", b'$13\r\n[1,2,{"a":1}]\r\n'),
    ("return cjson.encode({})", b"$2\r\n{}\r\n"),
    ("return cjson.encode('a/b\"')", b'$8\r\n"a\\/b\\""\r\n'),
    ("return cjson.encode(0.1)", b"$3\r\n0.1\r\n"),
    ("return cjson.encode(cjson.null)", b"$4\r\nnull\r\n"),
    ("return cjson.decode('null') == cjson.null", b":1\r\n"),
    ("return table.concat(cjson.decode('[0.0, -5e3, -1, 0.3e-3, 1023.2, 0e10]'), ' ')",
     b"$26\r\n0 -5000 -1 0.0003 1023.2 0\r\n"),
    ("return {pcall(cjson.encode, {[false]=1})}",
     b"*2\r\n$-1\r\n$62\r\nCannot serialise boolean: table key must be a number or string\r\n"),
    ("local e = cmsgpack.pack(0.1) local h='' for i=1,#e do h = h..string.format('%02x', string.byte(e,i)) end return h",
     b"$18\r\ncb3fb999999999999a\r\n"),
    ("local e = cmsgpack.pack(-1099511627776) local h='' for i=1,#e do h = h..string.format('%02x', string.byte(e,i)) end return h",
     b"$18\r\nd3ffffff0000000000\r\n"),
    ("return cmsgpack.unpack(cmsgpack.pack({1,2,{a='x'}}))[3].a", b"$1\r\nx\r\n"),
    ("return bit.bor(1,2,4,8,16,32,64,128)", b":255\r\n"),
    ("return {bit.tobit(0xffffffff), bit.bnot(0), bit.lshift(1, 31), bit.tohex(255), bit.tohex(-1, -4)}",
     b"*5\r\n:-1\r\n:-1\r\n:-2147483648\r\n$8\r\n000000ff\r\n$4\r\nFFFF\r\n"),
    ("return {struct.unpack('>I2i4', struct.pack('>I2i4', 258, -5))}", b"*3\r\n:258\r\n:-5\r\n:7\r\n"),
    ("return struct.size('>I2i4d')", b":14\r\n"),
])
def test_libraries(n: Node, script: str, wire: bytes) -> None:
    assert n.eval(script, 0) == wire


def test_library_argument_errors_read_like_c(n: Node) -> None:
    assert n.eval("return bit.band('x')", 0).startswith(
        b"-ERR user_script:1: bad argument #1 to 'band' (number expected, got string)")
    assert n.eval("local r = cjson.decode('{') return r", 0).startswith(b"-ERR user_script:1: Expected")


# ---- SCRIPT ---------------------------------------------------------------------------------------
def test_script_cache(n: Node) -> None:
    s = "return 'loaded'"
    assert n.raw("SCRIPT", "LOAD", s) == b"$40\r\n" + sha(s).encode() + b"\r\n"
    assert n.raw("EVALSHA", sha(s).upper(), 0) == b"$6\r\nloaded\r\n"
    assert n.raw("SCRIPT", "EXISTS", sha(s), "0" * 40) == b"*2\r\n:1\r\n:0\r\n"
    assert n.raw("SCRIPT", "FLUSH", "ASYNC") == b"+OK\r\n"
    assert n.raw("SCRIPT", "EXISTS", sha(s)) == b"*1\r\n:0\r\n"
    assert n.raw("SCRIPT", "FLUSH", "x") == b"-ERR SCRIPT FLUSH only support SYNC|ASYNC option\r\n"
    assert n.raw("SCRIPT", "KILL") == b"-NOTBUSY No scripts in execution right now.\r\n"
    assert n.raw("SCRIPT", "DEBUG", "x") == b"-ERR Use SCRIPT DEBUG YES/SYNC/NO\r\n"
    assert n.raw("SCRIPT", "DEBUG", "YES") == b"+OK\r\n"
    assert n.eval("return 1", 0).startswith(b"-ERR Fork() failed: can't run EVAL in debugging mode")
    assert n.raw("SCRIPT", "DEBUG", "NO") == b"+OK\r\n"
    assert n.eval("return 1", 0) == b":1\r\n"


# ---- one op per script, busy refusals ----------------------------------------------------------------
def test_all_writes_of_a_script_are_one_op_and_errors_keep_earlier_writes(n: Node) -> None:
    n.eval("redis.call('set','a','1') redis.call('rpush','l','x','y') redis.call('sadd','s','m')", 0)
    assert len(n.ops) == 1 and len(n.ops[0].effects) >= 3
    r = n.eval("redis.call('set','b','1') redis.call('incr','l')", 0)
    assert r.startswith(b"-WRONGTYPE")
    assert len(n.ops) == 2 and n.raw("GET", "b") == b"$1\r\n1\r\n"
    n.eval("return redis.call('get','a')", 0)
    assert len(n.ops) == 2  # a read-only script makes no op


def test_eval_inside_multi_stays_one_op(n: Node) -> None:
    n.raw("MULTI")
    n.eval("redis.call('set','a','1')", 0)
    n.raw("SET", "b", "2")
    n.eval("redis.call('set','c','3')", 0)
    assert n.raw("EXEC") == b"*3\r\n$-1\r\n+OK\r\n$-1\r\n"
    assert len(n.ops) == 1 and len(n.ops[0].effects) == 3


def test_busy_node_refuses_all_but_allow_busy_commands(n: Node) -> None:
    node = n.node
    node.enter_busy("BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.")
    try:
        assert n.raw("PING").startswith(b"-BUSY Redis is busy running a script.")
        assert n.raw("SET", "k", "v").startswith(b"-BUSY")
        assert n.raw("SCRIPT", "KILL") == b"-NOTBUSY No scripts in execution right now.\r\n"
        assert n.raw("MULTI") == b"+OK\r\n"
        assert n.raw("DISCARD") == b"+OK\r\n"
        assert n.raw("SHUTDOWN").startswith(b"-BUSY")
        assert node.batch_done() is None
    finally:
        node.leave_busy()
    assert n.raw("PING") == b"+PONG\r\n"


def test_script_kill_rules(n: Node) -> None:
    st = scripting_of(n.node)
    from crdtredis.scripting.runner import RunCtx

    st.ctx = RunCtx(n.client, "f", True, 32, False, [b"EVAL"])
    try:
        assert n.raw("FUNCTION", "KILL").startswith(b"-BUSY Redis is busy running a script. You can only call SCRIPT")
        st.ctx.dirty = True
        assert n.raw("SCRIPT", "KILL").startswith(b"-UNKILLABLE Sorry the script already executed write commands")
        st.ctx.dirty = False
        assert n.raw("SCRIPT", "KILL") == b"+OK\r\n"
        assert st.ctx.killed
    finally:
        st.ctx = None


# ---- functions ---------------------------------------------------------------------------------
LIB = "#!lua name={name}\nredis.register_function('{fn}', function(keys, args) {body} end)"


def test_function_load_fcall_list_delete(n: Node) -> None:
    code = LIB.format(name="lib", fn="f1", body="return redis.call('set', keys[1], args[1])")
    assert n.raw("FUNCTION", "LOAD", code) == b"$3\r\nlib\r\n"
    assert n.raw("FUNCTION", "LOAD", code) == b"-ERR Library 'lib' already exists\r\n"
    assert n.raw("FCALL", "F1", 1, "k", "v") == b"+OK\r\n"
    assert n.raw("GET", "k") == b"$1\r\nv\r\n"
    assert n.raw("FCALL_RO", "f1", 1, "k", "v") == \
        b"-ERR Can not execute a script with write flag using *_ro command.\r\n"
    assert n.raw("FCALL", "nosuch", 0) == b"-ERR Function not found\r\n"
    assert n.raw("FCALL", "f1", "x") == b"-ERR Bad number of keys provided\r\n"
    other = LIB.format(name="lib2", fn="f1", body="return 1")
    assert n.raw("FUNCTION", "LOAD", other) == b"-ERR Function f1 already exists\r\n"
    assert n.raw("FUNCTION", "LIST") == (
        b"*1\r\n*6\r\n$12\r\nlibrary_name\r\n$3\r\nlib\r\n$6\r\nengine\r\n$3\r\nLUA\r\n$9\r\nfunctions\r\n"
        b"*1\r\n*6\r\n$4\r\nname\r\n$2\r\nf1\r\n$11\r\ndescription\r\n$-1\r\n$5\r\nflags\r\n*0\r\n")
    assert n.raw("FUNCTION", "STATS") == (
        b"*4\r\n$14\r\nrunning_script\r\n$-1\r\n$7\r\nengines\r\n*2\r\n$3\r\nLUA\r\n*4\r\n"
        b"$15\r\nlibraries_count\r\n:1\r\n$15\r\nfunctions_count\r\n:1\r\n")
    assert n.raw("FUNCTION", "DELETE", "nosuch") == b"-ERR Library not found\r\n"
    assert n.raw("FUNCTION", "DELETE", "lib") == b"+OK\r\n"
    assert n.raw("FUNCTION", "LIST") == b"*0\r\n"


@pytest.mark.parametrize("body,message", [
    ("redis.register_function()",
     "ERR Error registering functions: ERR wrong number of arguments to redis.register_function"),
    ("local x = nil + 1", "ERR Error registering functions: ERR user_function:2: attempt to perform arithmetic on a nil value"),
    ("return math.random()",
     "ERR Error registering functions: ERR user_function:2: Script attempted to access nonexistent global variable 'math'"),
    ("bad syntax here", "ERR Error compiling function: user_function:2: '=' expected near 'syntax'"),
    ("local a = 1 while 1 do a = a + 1 end", "ERR Error registering functions: ERR FUNCTION LOAD timeout"),
    ("return 1", "ERR No functions registered"),
])
def test_function_load_errors(n: Node, body: str, message: str) -> None:
    assert n.raw("FUNCTION", "LOAD", f"#!lua name=lib\n{body}") == b"-" + message.encode() + b"\r\n"


def test_function_dump_restore_roundtrip_and_policies(n: Node) -> None:
    n.raw("FUNCTION", "LOAD", LIB.format(name="lib", fn="f1", body="return 1"))
    payload = n.node.execute(n.client, [b"FUNCTION", b"DUMP"])
    assert isinstance(payload, bytes) and dump.verify_payload(payload)
    assert n.raw("FUNCTION", "RESTORE", payload) == b"-ERR Library lib already exists\r\n"
    assert n.raw("FUNCTION", "RESTORE", payload, "REPLACE") == b"+OK\r\n"
    assert n.raw("FUNCTION", "RESTORE", payload, "FLUSH") == b"+OK\r\n"
    assert n.raw("FUNCTION", "RESTORE", b"bad_payload") == b"-ERR DUMP payload version or checksum are wrong\r\n"
    assert n.raw("FCALL", "f1", 0) == b":1\r\n"


def test_dump_payload_crc_and_lzf() -> None:
    assert dump.crc64(b"123456789") == 0xE9C6D914C4B8D9CA
    codes = [b"#!lua name=a\nx", b"#!lua name=b\n" + b"y" * 100]
    assert dump.parse_payload(dump.build_payload(codes)) == codes
    # "aaaaaaaaaa" LZF-compressed: a literal run, then a back reference.
    assert dump.lzf_decompress(b"\x00a\xe0\x01\x00", 11) == b"a" * 11


# ---- function libraries as a CRDT ---------------------------------------------------------------
def _ctx(origin: str, hlc: int, deps: dict[str, int]) -> Ctx:
    return Ctx(origin, 1, hlc, deps)


def test_concurrent_loads_later_stamp_wins_and_delete_removes_only_observed() -> None:
    libs = FunctionLibs()
    libs.load(b"lib", b"code-a", _ctx("a", 10, {}), False)
    libs.load(b"lib", b"code-b", _ctx("b", 11, {}), False)  # concurrent with a's load
    assert libs.get(b"lib") == (b"code-b", 11, "b")
    libs.delete(b"lib", _ctx("c", 20, {"b": 11}), False)  # observed b's load only
    assert libs.get(b"lib") == (b"code-a", 10, "a")
    libs.flush(_ctx("c", 21, {"a": 10, "b": 11}), False)
    assert libs.get(b"lib") is None


ACTIONS = st.lists(st.tuples(st.integers(0, 2), st.sampled_from(["load", "delete", "flush"]),
                             st.sampled_from(["x", "y"]), st.integers(0, 3)), min_size=1, max_size=25)


@settings(max_examples=60, deadline=None)
@given(ACTIONS, st.integers(0, 10_000))
def test_function_libraries_converge_under_any_causal_delivery(actions: list[Any], seed: int) -> None:
    c = Cluster(3, seed=seed)
    rnd = random.Random(seed)
    for who, kind, name, v in actions:
        if kind == "load":
            c.run(who, "FUNCTION", "LOAD", "REPLACE", LIB.format(name=name, fn=f"{name}{who}", body=f"return {v}"))
        elif kind == "delete":
            c.run(who, "FUNCTION", "DELETE", name)
        else:
            c.run(who, "FUNCTION", "FLUSH")
        c.deliver_some(rnd.randrange(4))
    c.deliver_all()
    states = [r.node.keyspace.functions.visible() for r in c.replicas]
    assert states[0] == states[1] == states[2]


def test_scripts_writing_every_type_concurrently_converge() -> None:
    c = Cluster(3, seed=7)
    script = """
        local me = ARGV[1]
        redis.call('set', 's', me) redis.call('incr', 'n')
        redis.call('rpush', 'l', me) redis.call('sadd', 'set', me)
        redis.call('hset', 'h', me, me) redis.call('zadd', 'z', #me, me)
        if me == 'r1' then redis.call('del', 'set') end
        redis.call('expire', 's', 1000)
        return 1"""
    rnd = random.Random(7)
    for round_ in range(6):
        for i in range(3):
            c.run(i, "EVAL", script, 0, f"r{i}{round_}" if round_ % 2 else f"r{i}")
            c.deliver_some(rnd.randrange(3))
    for i in range(3):
        c.run(i, "EVAL", "redis.call('lpop','l') redis.call('hincrby','h','c',1)", 0)
    c.deliver_all()
    views = [_view(r) for r in c.replicas]
    assert views[0] == views[1] == views[2]
    assert views[0]["l"][0] == "list" and views[0]["h"][0] == "hash" and views[0]["z"][0] == "zset"
    # Each script made exactly one op at its replica.
    assert all(len(op.effects) >= 1 for op in c.all_ops())
    assert len(c.all_ops()) == 6 * 3 + 3


def _view(r: Any) -> dict[str, Any]:
    """What a client of replica `r` sees of db 0."""
    out: dict[str, Any] = {}
    for k in sorted(r.run("KEYS", "*")):
        t = bytes(r.run("TYPE", k)).decode()
        if t == "string":
            v: Any = r.run("GET", k)
        elif t == "list":
            v = r.run("LRANGE", k, 0, -1)
        elif t == "set":
            v = sorted(r.run("SMEMBERS", k).items if hasattr(r.run("SMEMBERS", k), "items") else r.run("SMEMBERS", k))
        elif t == "hash":
            h = r.run("HGETALL", k)
            v = sorted(h.items if hasattr(h, "items") else zip(h[::2], h[1::2], strict=True))
        else:
            v = r.run("ZRANGE", k, 0, -1, "WITHSCORES")
        out[k.decode()] = (t, repr(v), r.run("TTL", k) > 0)
    return out


def test_script_client_is_not_a_listed_client(n: Node) -> None:
    assert isinstance(scripting_of(n.node).client, Client)
    assert scripting_of(n.node).client.id not in n.node.clients


def test_many_keys_and_args_and_big_replies(n: Node) -> None:
    args = [f"x{i}" for i in range(20000)]
    assert n.eval("return {#KEYS, #ARGV, KEYS[1], ARGV[#ARGV]}", 1, *args) == \
        b"*4\r\n:1\r\n:19999\r\n$2\r\nx0\r\n$6\r\nx19999\r\n"
    n.raw("RPUSH", "big", *args)
    assert n.eval("return #redis.call('lrange', KEYS[1], 0, -1)", 1, "big") == b":20000\r\n"
    assert n.eval("local a = {} for i=1,7000 do a[i] = i end return redis.call('rpush', 'l2', unpack(a))", 0) == \
        b":7000\r\n"


def test_time_stands_still_during_a_script(n: Node) -> None:
    from tests.support.procs import wait_until

    n.raw("SET", "k", "v", "PX", "30")
    # The script waits (by TIME, which is the real clock) until the key's deadline has
    # passed, then finds it still alive: expiry is judged at the script's start time.
    script = """
        local t0 = redis.call('time')
        local start = t0[1] * 1000000 + t0[2]
        while true do
            local t = redis.call('time')
            if t[1] * 1000000 + t[2] - start > 60000 then break end
        end
        return redis.call('exists', 'k')"""
    assert n.eval(script, 0) == b":1\r\n"
    wait_until(lambda: n.raw("EXISTS", "k") == b":0\r\n", timeout=5)


def _info_memory_field(c: Cluster, i: int, field: str) -> int:
    info = c.run(i, "INFO", "memory")
    text = (info.data if isinstance(info, Verbatim) else info).decode()
    return int(next(line.split(":", 1)[1] for line in text.splitlines() if line.startswith(field + ":")))


def test_info_counts_the_functions_as_they_are_now() -> None:
    """INFO memory's function fields follow a FUNCTION LOAD or FLUSH at once, here and at a
    peer that applied it (they used to show the libraries as of the last function command)."""
    c = Cluster(2, seed=3)
    c.run(0, "FUNCTION", "LOAD", LIB.format(name="lib", fn="f", body="return 1"))
    assert _info_memory_field(c, 0, "number_of_functions") == 1
    assert _info_memory_field(c, 0, "used_memory_functions") > 0
    c.deliver_all()
    assert _info_memory_field(c, 1, "number_of_functions") == 1
    c.run(1, "FUNCTION", "FLUSH")
    assert _info_memory_field(c, 1, "number_of_functions") == 0
    assert _info_memory_field(c, 1, "used_memory_functions") == 0
    c.deliver_all()
    assert _info_memory_field(c, 0, "number_of_functions") == 0
