"""Differential scripts for EVAL/EVALSHA/EVAL_RO, SCRIPT, FUNCTION and FCALL: replies and
error texts byte for byte against a real redis-server, RESP2 and RESP3.

Left out on purpose: math.random without a seed (the generator state is per process, so
it depends on what ran before), INFO memory figures, timing (busy scripts are covered by
tests/test_scripting_integration.py)."""
from __future__ import annotations

import pytest

from tests.differential.harness import TYPE, Differ, Script, ScriptCase, scripts


def ev(script: str, numkeys: int = 0, *args: str) -> list[str | int]:
    return ["EVAL", script, numkeys, *args]


LIB = "#!lua name={name}\nredis.register_function('{fn}', function(keys, args) {body} end)"

CONVERSIONS: dict[str, Script] = {
    "lua_to_redis": [
        ev("return 'hello'"), ev("return 100.5"), ev("return -2.9"), ev("return 0/0"), ev("return 1e300"),
        ev("return true"), ev("return false"), ev("return nil"), ev("return {ok='fine'}"),
        ev("return {ok='a\\r\\nb'}"), ev("return {err='ERR this is an error'}"), ev("return {err=''}"),
        ev("return {err='a\\r\\nb'}"), ev("return {1,2,3,'ciao',{1,2}}"), ev("return {1,2,nil,3}"),
        ev("return {1,{err='x'},{ok='y'}}"), ev("return _G"), ev("return {}"),
        ev("local t = {} t[1]='a' t[3]='c' return t"),
        ev("local a = {}; setmetatable(a,{__index=function() foo() end}) return a"),
        ev("return {double=1.5}"), ev("return {double=1/0}"), ev("return {big_number='123\\r\\n123'}"),
        ev("return {map={a=1}}"), ev("return {set={a=true}}"),
        ev("return {verbatim_string={format='txt',string='hi'}}"), ev("return {double='x'}"),
        ev("redis.setresp(3) return true"), ev("redis.setresp(3) return false"),
        ev("return redis.error_reply('MY_ERR_CODE custom msg')"), ev("return redis.error_reply('')"),
        ev("return redis.error_reply('-x y')"), ev("return redis.status_reply('MY_OK')"),
        ev("return redis.status_reply(1)"), ev("return redis.error_reply({})"),
    ],
    "lua_to_redis_resp3": [
        ("HELLO 3", TYPE),
        ev("return {double=1.5}"), ev("return {double=1/0}"), ev("return {double=-1/0}"),
        ev("return {big_number='123'}"), ev("return {map={a=1}}"), ev("return {set={a=true}}"),
        ev("return {verbatim_string={format='txt',string='hi'}}"), ev("return false"), ev("return nil"),
        ev("return true"), ev("redis.setresp(3) return true"), ev("redis.setresp(3) return false"),
        ev("return {1,false,{2}}"),
    ],
    "redis_to_lua": [
        "SET s v", "RPUSH l a b c", "HSET h f v", "ZADD z 1.5 m", "SADD st x",
        ev("local r = redis.call('incr', KEYS[1]) return {type(r), r}", 1, "x"),
        ev("local r = redis.call('lrange', KEYS[1], 0, -1) return {type(r), #r, r[1], r[3]}", 1, "l"),
        ev("local r = redis.call('set', KEYS[1], 'v') return {type(r), r['ok']}", 1, "s"),
        ev("local r = redis.pcall('incr', KEYS[1]) return {type(r), r['err']}", 1, "s"),
        ev("return redis.call('get', 'nokey') == false"),
        ev("return redis.call('hgetall', KEYS[1])", 1, "h"),
        ev("return redis.call('zrange', KEYS[1], 0, -1, 'withscores')", 1, "z"),
        ev("return redis.call('zscore', KEYS[1], 'm')", 1, "z"),
        ev("redis.setresp(3); return redis.call('hgetall', KEYS[1])", 1, "h"),
        ev("redis.setresp(3); return redis.call('zscore', KEYS[1], 'm')", 1, "z"),
        ev("redis.setresp(3); local r = redis.call('zscore', KEYS[1], 'm') return r['double'] * 2", 1, "z"),
        ev("redis.setresp(3); return redis.call('smembers', KEYS[1])", 1, "st"),
        ev("redis.setresp(3); return redis.call('get', 'nokey') == nil"),
        ev("redis.setresp(2); return redis.call('hgetall', KEYS[1])", 1, "h"),
        ev("return redis.call('ping', 1.5, 100, 1e20, -0.5)"),
        ev("local value = 9007199254740991 redis.call('set','foo',value) return redis.call('get','foo')"),
        ev("redis.call('set', 'key', '12039611435714932082') return redis.call('get', 'key')"),
        ev("return {KEYS[1],KEYS[2],ARGV[1],ARGV[2]}", 2, "a", "b", "c", "d"),
    ],
    "redis_to_lua_resp3_caller": [
        ("HELLO 3", TYPE), "HSET h f v",
        ev("redis.setresp(3); return redis.call('hgetall', KEYS[1])", 1, "h"),
        ev("redis.setresp(2); return redis.call('hgetall', KEYS[1])", 1, "h"),
    ],
}

ERRORS: dict[str, Script] = {
    "runtime_errors": [
        ev("return a"), ev("a=10"), ev("rawset(_G,'a',1)"), ev("setmetatable(_G, {})"),
        ev("local g = getmetatable(_G); g.__index = {}"), ev("redis = function() return 1 end"),
        ev("_G = {}"), ev("redis.call = function() return 1 end"), ev("cjson.encode = function() return 1 end"),
        ev("cmsgpack.pack = function() return 1 end"), ev("bit.lshift = function() return 1 end"),
        ev("loadfile('some file')"), ev("dofile('some file')"), ev("print('some data')"),
        ev("error('boom')"), ev("error({err='MYERR boom'})"), ev("error()"), ev("error(12)"),
        ev("local x = nil + 1"), ev("return loadstring(string.dump(function() return 1 end))()"),
        ev("local ok, e = pcall(function() return foo end); return e"),
    ],
    "redis_call_errors": [
        "SET foo bar",
        ev("redis.call('nosuchcommand')"), ev("return redis.call('nosuchcommand')"),
        ev("redis.call('get','a','b','c')"), ev("return redis.call()"), ev("return redis.pcall()"),
        ev("return redis.pcall('nosuchcommand')"), ev("return redis.call('ping', {})"),
        ev("return redis.call('ping', true)"), ev("return redis.call('ping', nil)"),
        ev("redis.call('lpush',KEYS[1],'val')", 1, "foo"),
        ev("return redis.call('incr', KEYS[1])", 1, "foo"),
        ev("local ok, e = pcall(redis.call, 'nosuchcommand'); return e"),
        ev("return {pcall(redis.call, 'incr', KEYS[1])}", 1, "foo"),
        ev("return redis.call('blpop','x',0)"), ev("return redis.pcall('brpop','x',0)"),
        ev("return redis.pcall('bzpopmin','x',0)"), ev("return redis.call('eval','return 1',0)"),
        ev("return redis.call('multi')"), ev("return redis.call('script','load','return 1')"),
        ev("return redis.call('script')"), ev("return redis.call('config','nosuch')"),
        ev("return redis.call('select', 99)"), ev("return redis.pcall('select', 99)['err']"),
        ev("redis.sha1hex()"), ev("return redis.sha1hex('')"), ev("return redis.sha1hex('Pizza & Mandolino')"),
        ev("redis.set_repl(12345)"), ev("return redis.set_repl(redis.REPL_ALL)"),
        ev("return redis.replicate_commands()"), ev("return redis.setresp(4)"), ev("return redis.setresp()"),
        ev("redis.log(redis.LOG_WARNING, 'hello', 'x')"), ev("redis.log(99, 'hello')"), ev("redis.log('a')"),
        ev("return redis.REDIS_VERSION_NUM"), ev("return redis.REDIS_VERSION"),
        ev("return redis.breakpoint()"), ev("return redis.debug('x')"),
        ev("return redis.acl_check_cmd('set','xx',1)"), ev("return redis.acl_check_cmd('invalid-cmd','arg')"),
    ],
    "eval_argument_errors": [
        ev("return 1", -12), ["EVAL", "return 1", 2, "a"], ["EVAL", "return 1", "abc"],
        ["EVAL", "return 1"], "EVALSHA NotValidShaSUM 0", "EVALSHA ffd632c7d33e571e9f24556ebed26c3479a87130 0",
        ["EVALSHA", "ffd632c7d33e571e9f24556ebed26c3479a87130", "abc"], ev("x"), ev("return 'unfinished"),
        ev("#!not-lua\nreturn 1"), ev("#!lua badger=data\nreturn 1"), ev("#!lua flags=allow-oom,what?\nreturn 1"),
        ev("#!lua"), ev("#!lua\nreturn 1"), ev("#!lua flags=no-writes\nreturn redis.call('set','x',1)"),
        ["EVAL_RO", "return redis.call('set','x','y')", 1, "x"], ["EVAL_RO", "#!lua\nreturn 1", 0],
        ["EVAL_RO", "return redis.call('get','x')", 1, "x"], ["EVALSHA_RO", "abc", 0],
    ],
}

LIBRARIES: dict[str, Script] = {
    "cjson": [
        ev("return cjson.encode({1,2,{a=1}})"), ev("return cjson.encode({})"), ev("return cjson.encode('a/b\"\\n')"),
        ev("return cjson.encode(0.1)"), ev("return cjson.encode(1e20)"), ev("return cjson.encode(cjson.null)"),
        ev("return cjson.encode({1, nil, 3})"), ev("return cjson.encode({[1]=1, [4]=4})"),
        ev("return cjson.decode('null') == cjson.null"),
        ev("return table.concat(cjson.decode('[0.0, -5e3, -1, 0.3e-3, 1023.2, 0e10]'), ' ')"),
        ev("local d = cjson.decode('{\"keya\": \"a\", \"keyb\": \"b\"}') return {d.keya, d.keyb}"),
        ev("return {pcall(cjson.encode, {[false]=1})}"), ev("return {pcall(cjson.encode, 0/0)}"),
        ev("return cjson.encode_max_depth()"), ev("return {cjson.encode_sparse_array()}"),
        ev("return cjson.decode('[1,2,3]')[2]"),
    ],
    "cmsgpack": [
        ev("local e = cmsgpack.pack(0.1) local h='' for i=1,#e do h = h..string.format('%02x', string.byte(e,i)) end return h"),
        ev("local e = cmsgpack.pack(-1099511627776, 1, -1, 300, -300, 70000, 'x', true, {1,2}, {a=1}) "
           "local h='' for i=1,#e do h = h..string.format('%02x', string.byte(e,i)) end return h"),
        ev("local a = {x=nil,y=5} local b = {x=a} a['x'] = b local e = cmsgpack.pack(a) "
           "local h='' for i=1,#e do h = h..string.format('%02x', string.byte(e,i)) end return h"),
        ev("return {cmsgpack.unpack(cmsgpack.pack(1, 'a', {1,2}))}"),
        ev("return {cmsgpack.unpack_one(cmsgpack.pack(1, 2), 0)}"),
        ev("return {cmsgpack.unpack_limit(cmsgpack.pack(1, 2, 3), 2, 0)}"),
        ev("return {pcall(cmsgpack.unpack, '\\217')}"),
    ],
    "bit_and_struct": [
        ev("return {bit.tobit(1), bit.band(1), bit.bxor(1,2), bit.bor(1,2,4,8,16,32,64,128)}"),
        ev("return {bit.tobit(0xffffffff), bit.bnot(0), bit.lshift(1, 31), bit.rshift(-1, 28), bit.arshift(-16, 2)}"),
        ev("return {bit.rol(0x12345678, 8), bit.ror(0x12345678, 8), bit.bswap(0x12345678)}"),
        ev("return {bit.tohex(255), bit.tohex(-1, -4), bit.tohex(0x1234, 2), bit.tobit(2^32 + 5.5)}"),
        ev("return bit.band('x')"), ev("return bit.band('12', '4')"),
        ev("return {struct.unpack('>I2i4', struct.pack('>I2i4', 258, -5))}"),
        ev("return struct.pack('<hHbB', -2, 65535, -1, 255)"), ev("return struct.size('>I2i4d')"),
        ev("return {struct.unpack('s', 'ab\\0cd')}"), ev("return struct.pack('z', 1)"),
    ],
    "sandbox": [
        ev("return {type(string.upper), ('abc'):upper(), type(coroutine.wrap), type(gcinfo), _VERSION}"),
        ev("return type(newproxy)"), ev("return type(io)"), ev("return type(os)"), ev("return type(debug)"),
        ev("return type(require)"), ev("return type(getfenv)"), ev("return type(setfenv)"),
        ev("local t = {} for k,v in pairs(_G) do t[#t+1] = k .. ':' .. type(v) end table.sort(t) return t"),
        ev("local t = {} for k,v in pairs(redis) do t[#t+1] = k end table.sort(t) return t"),
        ev("return rawget(_G, 'redis') == redis"), ev("return next(string) ~= nil"), ev("local f = loadstring('return 1') return f()"),
        ev("local co = coroutine.create(function(a) coroutine.yield(a + 1) return 9 end) "
           "local _, x = coroutine.resume(co, 1) local _, y = coroutine.resume(co) return {x, y}"),
        ev("return 'hello' --trailing comment"),
        ev("assert(0x7fffffff == 2147483647) return tostring(0xffffffff)"),
        ev("math.randomseed(10) return {tostring(math.random()), math.random(10), math.random(5, 10)}"),
        ev("return {pcall(math.random, 0)}"), ev("return math.random(1, 2, 3)"),
    ],
}

SCRIPT_CMDS: dict[str, Script] = {
    "script_cache": [
        "SCRIPT FLUSH",
        ["SCRIPT", "LOAD", "return 'loaded'"], "EVALSHA b534286061d4b9e4026607613b95c06c06015ae8 0",
        "EVALSHA B534286061D4B9E4026607613B95C06C06015AE8 0",
        "SCRIPT EXISTS b534286061d4b9e4026607613b95c06c06015ae8 a27e7e8a43702b7046d4f6a7ccf5b60cef6b9bda",
        ev("return 1+1"), "SCRIPT EXISTS a27e7e8a43702b7046d4f6a7ccf5b60cef6b9bd9",
        "SCRIPT FLUSH ASYNC", "SCRIPT EXISTS b534286061d4b9e4026607613b95c06c06015ae8",
        "EVALSHA b534286061d4b9e4026607613b95c06c06015ae8 0", "SCRIPT FLUSH SYNC", "SCRIPT FLUSH x",
        "SCRIPT FLUSH SYNC x", "SCRIPT EXISTS", "SCRIPT LOAD", ["SCRIPT", "LOAD", "x"], "SCRIPT KILL",
        "SCRIPT DEBUG x", "SCRIPT DEBUG NO", "SCRIPT NOSUCH", "SCRIPT", "SCRIPT HELP",
    ],
    "eval_in_multi_and_writes": [
        "MULTI", ev("redis.call('set','a','1')"), "SET b 2", ev("return redis.call('incr','a')"), "EXEC",
        "MGET a b", ev("redis.call('set','c','1') redis.call('incr','b') return redis.call('nosuch')"),
        "MGET a b c", ev("redis.call('select', '5') redis.call('set','db5','x')"), "GET db5",
        ev("return redis.call('spop', KEYS[1])", 1, "nokey"),
    ],
}

FUNCTIONS: dict[str, Script] = {
    "function_basics": [
        "FUNCTION FLUSH",
        ["FUNCTION", "LOAD", LIB.format(name="test", fn="test", body="return 'hello'")], "FCALL test 0",
        "FCALL TEST 0", ["FUNCTION", "LOAD", LIB.format(name="test", fn="test", body="return 'hello1'")],
        ["FUNCTION", "LOAD", "foo", "bar", LIB.format(name="x", fn="x", body="return 1")],
        ["FUNCTION", "LOAD", "REPLACE", LIB.format(name="test", fn="test", body="return 'hello1'")],
        "FCALL test 0", "FCALL test bad_arg", "FCALL test 10 key1", "FCALL test -1 key1",
        "FUNCTION DELETE test1", "FUNCTION KILL", "FUNCTION bad_subcommand", "FUNCTION LIST",
        "FUNCTION LIST WITHCODE", "FUNCTION LIST LIBRARYNAME te*", "FUNCTION LIST LIBRARYNAME zz*",
        "FUNCTION LIST bad_argument", "FUNCTION LIST libraryname", "FUNCTION LIST withcode withcode",
        "FUNCTION STATS", "FUNCTION DELETE test", "FCALL test 0", "FUNCTION STATS", "FUNCTION FLUSH x",
        "FUNCTION FLUSH sync extra_arg", "FUNCTION FLUSH ASYNC", "FUNCTION HELP",
    ],
    "function_load_errors": [
        "FUNCTION FLUSH",
        ["FUNCTION", "LOAD", LIB.format(name="bad\0format", fn="t", body="return 1")],
        ["FUNCTION", "LOAD", "#!bad_engine name=test\nredis.register_function('t', function() return 1 end)"],
        ["FUNCTION", "LOAD", "#! name=test\nredis.register_function('t', function() return 1 end)"],
        ["FUNCTION", "LOAD", "#!lua name=test foo=bar\nredis.register_function('t', function() return 1 end)"],
        ["FUNCTION", "LOAD", "#!lua\nredis.register_function('t', function() return 1 end)"],
        ["FUNCTION", "LOAD", "#!lua name=foo name=bar\nredis.register_function('t', function() return 1 end)"],
        ["FUNCTION", "LOAD", "#!lua name=\"foo\"\nredis.register_function('foo', function() return 1 end)"],
        ["FUNCTION", "LOAD", "no metadata"], ["FUNCTION", "LOAD", "#!lua name=a"], "FUNCTION LOAD",
        ["FUNCTION", "LOAD", "REPLACE"],
        ["FUNCTION", "LOAD", "REPLACE", "#!lua name=t\nbad script"],
        ["FUNCTION", "LOAD", "REPLACE", "#!lua name=t\nreturn 1"],
        ["FUNCTION", "LOAD", "REPLACE", "#!lua name=t\nreturn math.random()"],
        ["FUNCTION", "LOAD", "REPLACE", "#!lua name=t\nreturn redis.call('ping')"],
        ["FUNCTION", "LOAD", "REPLACE", "#!lua name=t\nredis.register_function()"],
        ["FUNCTION", "LOAD", "REPLACE", "#!lua name=t\nredis.register_function('f1')"],
        ["FUNCTION", "LOAD", "REPLACE", "#!lua name=t\nredis.register_function(nil, function() end)"],
        ["FUNCTION", "LOAD", "REPLACE", "#!lua name=t\nredis.register_function('', function() end)"],
        ["FUNCTION", "LOAD", "REPLACE", "#!lua name=t\nredis.register_function('f1', 'x')"],
        ["FUNCTION", "LOAD", "REPLACE", "#!lua name=t\nredis.register_function{function_name='f1'}"],
        ["FUNCTION", "LOAD", "REPLACE",
         "#!lua name=t\nredis.register_function{function_name='f1', callback=function() end, flags='x'}"],
        ["FUNCTION", "LOAD", "REPLACE",
         "#!lua name=t\nredis.register_function{function_name='f1', callback=function() end, flags={'bad'}}"],
        ["FUNCTION", "LOAD", "REPLACE",
         "#!lua name=t\nredis.register_function{function_name='f1', callback=function() end, other=1}"],
        ["FUNCTION", "LOAD", "REPLACE",
         "#!lua name=t\nredis.register_function('f1', function() end) redis.register_function('f1', function() end)"],
        ["FUNCTION", "LOAD", "REPLACE", "#!lua name=t\na = 1"],
        ["FUNCTION", "LOAD", "REPLACE", "#!lua name=t\nmt = getmetatable(_G)"],
        "FUNCTION LIST",
    ],
    "function_calls": [
        "FUNCTION FLUSH",
        ["FUNCTION", "LOAD", "#!lua name=lib\n"
         "redis.register_function('f1', function(keys, args) return redis.call('set', keys[1], args[1]) end)\n"
         "redis.register_function{function_name='ro', callback=function(keys) return redis.call('get', keys[1]) end,"
         " flags={'no-writes'}, description='reads'}\n"
         "redis.register_function{function_name='bad', callback=function() return redis.call('set', 'x', 1) end,"
         " flags={'no-writes'}}\n"
         "redis.register_function('err', function() return redis.call('nosuch') end)\n"
         "redis.register_function('g', function() mt = 1 end)\n"
         "redis.register_function('reg', function() redis.register_function('x', function() end) end)"],
        "FCALL f1 1 k v", "GET k", "FCALL_RO f1 1 k v", "FCALL_RO ro 1 k", "FCALL ro 1 k", "FCALL bad 0",
        "FCALL_RO bad 0", "FCALL err 0", "FCALL g 0", "FCALL reg 0", "FCALL nosuch 0",
        # (FUNCTION LIST of several functions: Redis lists them in its dict's hash order,
        # seeded at random per process, so there is no order to compare against.)
        ("FUNCTION STATS", TYPE),
        ["FUNCTION", "LOAD", LIB.format(name="lib2", fn="f1", body="return 2")],
        "COMMAND GETKEYS FCALL f1 1 x foo", "COMMAND GETKEYS EVAL x 2 a b c",
    ],
    "function_dump_restore": [
        "FUNCTION FLUSH", "FUNCTION RESTORE bad_payload", "FUNCTION RESTORE a b c",
        ["FUNCTION", "RESTORE", "x", "BADPOLICY"], "FUNCTION DUMP",
    ],
}


@pytest.mark.parametrize("case", scripts(CONVERSIONS))
def test_scripting_conversions(diff: Differ, case: ScriptCase) -> None:
    diff.run(case)


@pytest.mark.parametrize("case", scripts(ERRORS))
def test_scripting_errors(diff: Differ, case: ScriptCase) -> None:
    diff.run(case)


@pytest.mark.parametrize("case", scripts(LIBRARIES))
def test_scripting_libraries(diff: Differ, case: ScriptCase) -> None:
    diff.run(case)


@pytest.mark.parametrize("case", scripts(SCRIPT_CMDS))
def test_script_commands(diff: Differ, case: ScriptCase) -> None:
    diff.run(case)


@pytest.mark.parametrize("case", scripts(FUNCTIONS))
def test_functions(diff: Differ, case: ScriptCase) -> None:
    diff.run(case)
