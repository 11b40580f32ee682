-- The Lua side of the scripting sandbox (loaded by crdtredis/scripting/engine.py).
--
-- Redis 7.0 runs scripts in a patched Lua 5.1 whose tables carry a "readonly" flag. Stock
-- Lua (lupa.lua51) has no such flag, so protection is built from proxies: every table a
-- script can reach from its globals (the globals themselves, string, math, redis, cjson,
-- ...) is an empty proxy whose metatable reads through to the real table and refuses
-- writes with Redis's message. The builtins that could reach past a proxy (rawset,
-- rawget, next, pairs, setmetatable, getmetatable, table.insert, ...) are wrapped to
-- see the real table or refuse, as Redis's readonly flag does.
--
-- Functions defined here stand in for Redis's C functions: the error handler skips their
-- frames, so errors point at the user's line exactly as in Redis. Everything this chunk
-- needs is held in locals, and the globals of the bootstrap are emptied at the end.
--
-- Called with (mode, py): mode "eval" or "function"; py a table of Python callbacks.
local MODE, PY = ...
local type, error, pairs, ipairs, next, rawget, rawset, rawequal = type, error, pairs, ipairs, next, rawget, rawset, rawequal
local setmetatable, getmetatable, tostring, tonumber, select, unpack = setmetatable, getmetatable, tostring, tonumber, select, unpack
local pcall, xpcall, getfenv, setfenv, loadstring, load = pcall, xpcall, getfenv, setfenv, loadstring, load
local assert, collectgarbage, gcinfo = assert, collectgarbage, gcinfo
local string, table, math, coroutine, debug = string, table, math, coroutine, debug
local getinfo, sethook, gethook = debug.getinfo, debug.sethook, debug.gethook
local concat, format, sub, byte, gsub = table.concat, string.format, string.sub, string.byte, string.gsub
local floor, ceil = math.floor, math.ceil
local BOOT_ENV = getfenv(1)
local SANDBOX_SRC = "=sandbox"

-- ---- readonly proxies -------------------------------------------------------------------
local TARGET = setmetatable({}, {__mode = "k"})   -- proxy -> real table
local PROXY = setmetatable({}, {__mode = "k"})    -- real table -> proxy
local FAKE_MT = setmetatable({}, {__mode = "k"})  -- proxy -> what getmetatable shows

local READONLY = "Attempt to modify a readonly table"
local function readonly_newindex() error(READONLY, 2) end

local function proxy_of(t, index)
  local p = PROXY[t]
  if p then return p end
  p = {}
  setmetatable(p, {__index = index or t, __newindex = readonly_newindex})
  TARGET[p] = t
  PROXY[t] = p
  return p
end

-- Protect a table and, recursively, the tables it holds (luaSetTableProtectionRecursively).
local function protect(t)
  if TARGET[t] then return t end
  local p = PROXY[t]
  if p then return p end
  p = proxy_of(t)
  for k, v in next, t do
    if type(v) == "table" and not TARGET[v] then rawset(t, k, protect(v)) end
  end
  return p
end

local function missing_global(_, name)
  error("Script attempted to access nonexistent global variable '" .. tostring(name) .. "'", 2)
end

-- ---- error handler (Redis's __redis__err__handler) --------------------------------------
-- Redis looks at level 2 and, when that is a C function, level 3. Our Lua stand-ins for C
-- functions are skipped together with what they called, counting as one C frame.
local C_FRAME = {what = "C", source = "=[C]", currentline = -1}
local unwrap
local function err_handler(err)
  err = unwrap(err)
  local frames, n, lvl, internal = {}, 0, 2, false
  while n < 2 do
    local i = getinfo(lvl, "Sl")
    if not i then break end
    if i.source == SANDBOX_SRC then
      frames, n, internal = {C_FRAME}, 1, true
    elseif not (internal and i.what == "tail") then
      n = n + 1
      frames[n] = i
      internal = false
    end
    lvl = lvl + 1
  end
  local i = frames[1]
  if i and i.what == "C" then i = frames[2] end
  if type(err) ~= "table" then err = {err = "ERR " .. tostring(err)} end
  if i then
    err.source = i.source
    err.line = i.currentline
  end
  return err
end

-- luaPushErrorBuff: "-CODE msg" keeps its code, anything else gets ERR.
local function error_table(msg)
  local code, rest
  if sub(msg, 1, 1) == "-" then
    local sp = string.find(msg, " ", 1, true)
    if sp then code, rest = sub(msg, 2, sp - 1), sub(msg, sp + 1) else code, rest = "ERR", sub(msg, 2) end
  else
    code, rest = "ERR", msg
  end
  rest = gsub((gsub(rest, "^[\r\n]+", "")), "[\r\n]+$", "")
  return {err = code .. " " .. rest}
end

-- ---- the globals ------------------------------------------------------------------------
local G = {}          -- the real globals scripts see through the proxy P
local P = proxy_of(G)
local GMETA = {__index = missing_global}
setmetatable(G, GMETA)
FAKE_MT[P] = protect({__index = missing_global})

-- Builtin wrappers that keep protected tables readonly.
local function w_rawset(t, k, v)
  if TARGET[t] then error(READONLY, 0) end
  return rawset(t, k, v)
end
local function w_rawget(t, k)
  local real = TARGET[t]
  if real then return rawget(real, k) end
  return rawget(t, k)
end
local function w_next(t, k)
  local real = TARGET[t]
  if real then return next(real, k) end
  return next(t, k)
end
local function w_pairs(t)
  if TARGET[t] then return w_next, t, nil end
  return pairs(t)
end
local function ipairs_aux(t, i)
  i = i + 1
  local v = w_rawget(t, i)
  if v ~= nil then return i, v end
end
local function w_ipairs(t)
  if TARGET[t] then return ipairs_aux, t, 0 end
  return ipairs(t)
end
local function w_setmetatable(t, mt)
  if TARGET[t] then error(READONLY, 0) end
  return setmetatable(t, mt)
end
local function w_getmetatable(t)
  if type(t) == "table" and TARGET[t] then return FAKE_MT[t] end
  return getmetatable(t)
end
-- Redis's Lua parses every chunk as text: bytecode never loads.
local function w_loadstring(s, name)
  if type(s) == "string" and byte(s, 1) == 27 then
    return nil, "[string \"?\"]:1: unexpected symbol near '<\\27>'"
  end
  local f, err = loadstring(s, name)
  if f then setfenv(f, P) end
  return f, err
end
local function w_load(f, name)
  if type(f) ~= "function" then return load(f, name) end
  local parts = {}
  while true do
    local piece = f()
    if piece == nil or piece == "" then break end
    if type(piece) ~= "string" then return nil, "reader function must return a string" end
    parts[#parts + 1] = piece
  end
  return w_loadstring(concat(parts), name or "=(load)")
end
-- An error raised by redis.call arrives as a userdata (see redis.call below).
local py_unwrap = PY.unwrap
unwrap = function(e)
  if type(e) == "userdata" then
    local t = py_unwrap(e)
    if t ~= nil then return t end
  end
  return e
end

-- Redis 7.0's pcall: an error table with an `err` field comes back as its message.
local function pcall_result(ok, ...)
  if ok then return true, ... end
  local e = unwrap((...))
  if type(e) == "table" then
    local m = e.err
    if type(m) == "string" or type(m) == "number" then return false, m end
  end
  return false, e
end
local function w_pcall(f, ...)
  return pcall_result(pcall(f, ...))
end
local function w_xpcall(f, h)
  return xpcall(f, function(e) return h(unwrap(e)) end)
end

-- table functions that write raw must not write into a protected table.
local tinsert, tremove, tsort = table.insert, table.remove, table.sort
local function guard(fn)
  return function(t, ...)
    if TARGET[t] then error(READONLY, 0) end
    return fn(t, ...)
  end
end

-- ---- the redis API -----------------------------------------------------------------------
-- The redis API and the libraries are Python functions made C closures by lupa's
-- as_function. Being C functions, as in Redis, a script's `return redis.call(...)` keeps
-- its frame, so errors point at its line; and a C closure takes a stack slot less than a
-- userdata's __call. Their errors are Python exceptions, which reach Lua as a userdata:
-- every place Lua code can see an error value unwraps it first (see `unwrap`).
local as_function = python.as_function
local function add_log_api(t)
  t.log = as_function(PY.log)
  t.LOG_DEBUG, t.LOG_VERBOSE, t.LOG_NOTICE, t.LOG_WARNING = 0, 1, 2, 3
  t.REDIS_VERSION_NUM = PY.version_num
  t.REDIS_VERSION = PY.version
end

local R = {
  call = as_function(PY.call),
  pcall = as_function(PY.pcall),
  sha1hex = as_function(PY.sha1hex),
  error_reply = as_function(PY.error_reply),
  status_reply = as_function(PY.status_reply),
  set_repl = as_function(PY.set_repl),
  setresp = as_function(PY.setresp),
  acl_check_cmd = as_function(PY.acl_check),
  REPL_NONE = 0, REPL_AOF = 1, REPL_SLAVE = 2, REPL_REPLICA = 2, REPL_ALL = 3,
}
add_log_api(R)
if MODE == "eval" then
  -- No debugger here: breakpoint() is false and debug() a no-op, as in Redis outside
  -- a SCRIPT DEBUG session; replicate_commands() is always true (effects replication).
  R.breakpoint = as_function(PY.breakpoint)
  R.debug = as_function(PY.debug)
  R.replicate_commands = as_function(PY.replicate_commands)
end

-- ---- assemble the globals ------------------------------------------------------------------
local function lib_from(py_lib)
  local t = {}
  for k, v in next, py_lib do
    if type(v) == "userdata" then t[k] = as_function(v) else t[k] = v end
  end
  return t
end

local M = {}
for k, v in next, math do M[k] = v end
M.random, M.randomseed = as_function(PY.random), as_function(PY.randomseed)
local T = {}
for k, v in next, table do T[k] = v end
T.insert, T.remove, T.sort = guard(tinsert), guard(tremove), guard(tsort)
local S = {}
for k, v in next, string do S[k] = v end
local CO = {}
for k, v in next, coroutine do CO[k] = v end

local builtins = {
  xpcall = w_xpcall, tostring = tostring, setmetatable = w_setmetatable,
  next = w_next, assert = assert, tonumber = tonumber, rawequal = rawequal,
  collectgarbage = collectgarbage, getmetatable = w_getmetatable, rawset = w_rawset,
  pcall = w_pcall, type = type, select = select, unpack = unpack, gcinfo = gcinfo,
  pairs = w_pairs, rawget = w_rawget, loadstring = w_loadstring, ipairs = w_ipairs,
  _VERSION = _VERSION, load = w_load, error = error,
}
-- Redis 7.0 keeps getfenv/setfenv on its allow list but its globals have neither (nor
-- newproxy); its EVAL globals do hold the error handler.
if MODE == "eval" then builtins.__redis__err__handler = err_handler end
for k, v in next, builtins do G[k] = v end
G.string = S
G.table = T
G.math = M
G.coroutine = CO
G.redis = R
G.cjson = lib_from(PY.cjson)
G.cjson.null = PY.cjson_null
G.cmsgpack = lib_from(PY.cmsgpack)
G.struct = lib_from(PY.struct)
G.bit = lib_from(PY.bit)
for k, v in next, G do
  if type(v) == "table" then rawset(G, k, protect(v)) end
end
G._G = P
-- "x"::upper() goes through the string metatable: it must see the protected table too.
getmetatable("").__index = G.string

-- Scripts are timed and killed by a count hook (Redis: every 100000 instructions).
local HOOK_EVERY = 100000
local py_hook = PY.hook
local function hook()
  -- Never raise inside the sandbox's own code (its cleanup after a kill, for one).
  local where = getinfo(2, "S")
  if where and where.source == SANDBOX_SRC then return end
  local action = py_hook()
  if action ~= 0 then
    -- From now on every line raises again, so that pcall cannot keep the script alive.
    sethook(hook, "l")
    if action == 1 then error(error_table("Script killed by user with SCRIPT KILL..."))
    else error(error_table("FUNCTION LOAD timeout")) end
  end
end
-- Coroutines get the running hook too (debug.sethook is per thread).
local co_create, co_resume = coroutine.create, coroutine.resume
local function resume_result(ok, ...)
  if ok then return true, ... end
  return false, unwrap((...))
end
CO.resume = function(co, ...)
  return resume_result(co_resume(co, ...))
end
CO.create = function(f)
  local co = co_create(f)
  if gethook() then sethook(co, hook, "", HOOK_EVERY) end
  return co
end
CO.wrap = function(f)
  local co = CO.create(f)
  return function(...)
    local r = {CO.resume(co, ...)}
    if not r[1] then error(r[2], 0) end
    return unpack(r, 2, table.maxn(r))
  end
end

-- ---- converting a script's result into a reply (luaReplyToRedisReply) -------------------
local MAX_DEPTH = 7990  -- Redis runs out of Lua stack (LUAI_MAXCSTACK) at about this depth
local CRLF = "\r\n"
local buf, nb, nerr, caller_resp, lua_resp, err_prefixes
local function emit(s) nb = nb + 1; buf[nb] = s end
local function to_ll(d)
  if d ~= d or d >= 9223372036854775808 or d < -9223372036854775808 then return "-9223372036854775808" end
  if d >= 0 then d = floor(d) else d = ceil(d) end
  return format("%d", d)
end
local function clean(s) return (gsub(s, "[\r\n]", " ")) end
local function double_text(d)
  if d == 1 / 0 then return "inf" elseif d == -1 / 0 then return "-inf" end
  return format("%.17g", d)
end
local encode
local function emit_error(v)
  local m = v.err
  local ignore = v.ignore_error_stats_update
  local s = gsub((gsub("-" .. m, "^[\r\n]+", "")), "[\r\n]+$", "")
  emit(clean(s) .. CRLF)
  if ignore ~= true then
    nerr = nerr + 1
    err_prefixes[nerr] = s
  end
end
encode = function(v, depth)
  local t = type(v)
  if t == "string" then
    emit("$" .. #v .. CRLF); emit(v); emit(CRLF)
  elseif t == "number" then
    emit(":" .. to_ll(v) .. CRLF)
  elseif t == "boolean" then
    if lua_resp == 2 then
      if v then emit(":1\r\n") elseif caller_resp == 2 then emit("$-1\r\n") else emit("_\r\n") end
    elseif caller_resp == 3 then emit(v and "#t\r\n" or "#f\r\n")
    else emit(v and ":1\r\n" or ":0\r\n") end
  elseif t == "table" then
    if depth >= MAX_DEPTH then
      emit("-ERR reached lua stack limit\r\n")
      nerr = nerr + 1
      err_prefixes[nerr] = "-ERR"
      return
    end
    local f = rawget(v, "err")
    if type(f) == "string" then return emit_error(v) end
    f = rawget(v, "ok")
    if type(f) == "string" then emit("+" .. clean(f) .. CRLF); return end
    f = rawget(v, "double")
    if type(f) == "number" then
      local s = double_text(f)
      if caller_resp == 2 then emit("$" .. #s .. CRLF .. s .. CRLF) else emit("," .. s .. CRLF) end
      return
    end
    f = rawget(v, "big_number")
    if type(f) == "string" then
      local s = clean(f)
      if caller_resp == 2 then emit("$" .. #s .. CRLF .. s .. CRLF) else emit("(" .. s .. CRLF) end
      return
    end
    f = rawget(v, "verbatim_string")
    if type(f) == "table" then
      local fmt = rawget(f, "format")
      if type(fmt) == "string" then
        local s = rawget(f, "string")
        if type(s) == "string" then
          if caller_resp == 2 then emit("$" .. #s .. CRLF .. s .. CRLF)
          else
            fmt = sub(fmt .. "\0\0\0", 1, 3)
            emit("=" .. (#s + 4) .. CRLF .. fmt .. ":" .. s .. CRLF)
          end
          return
        end
      end
    end
    f = rawget(v, "map")
    if type(f) == "table" then
      local at = nb + 1
      emit("")
      local n = 0
      for k, x in next, f do
        encode(k, depth + 1)
        encode(x, depth + 1)
        n = n + 1
      end
      buf[at] = (caller_resp == 2 and "*" .. (2 * n) or "%" .. n) .. CRLF
      return
    end
    f = rawget(v, "set")
    if type(f) == "table" then
      local at = nb + 1
      emit("")
      local n = 0
      for k in next, f do
        encode(k, depth + 1)
        n = n + 1
      end
      buf[at] = (caller_resp == 2 and "*" or "~") .. n .. CRLF
      return
    end
    local at = nb + 1
    emit("")
    local j = 1
    while true do
      local x = rawget(v, j)
      if x == nil then break end
      encode(x, depth + 1)
      j = j + 1
    end
    buf[at] = "*" .. (j - 1) .. CRLF
  else
    emit(caller_resp == 2 and "$-1\r\n" or "_\r\n")
  end
end

-- The reply for the result of a script, tagged by a number (runner.py R_*): simple
-- values go back as they are (0); a status reply as (1, text); an error table as
-- (2, message, ignore-stats); any other table as (3, RESP bytes, number of nested
-- errors, their prefixes). A raised error is (4, ...) and a failed run (5, message).
local function convert(v, cresp, lresp)
  if type(v) ~= "table" then return 0, v end
  local e = rawget(v, "err")
  if type(e) == "string" then
    return 2, e, v.ignore_error_stats_update == true
  end
  local ok = rawget(v, "ok")
  if type(ok) == "string" then return 1, ok end
  buf, nb, nerr, caller_resp, lua_resp, err_prefixes = {}, 0, 0, cresp, lresp, {}
  encode(v, 0)
  local out, n, p = concat(buf), nerr, err_prefixes
  buf, err_prefixes = nil, nil
  return 3, out, n, p
end

-- luaExtractErrorInformation + luaCallFunction's reply for a raised error.
local function raised(err)
  if type(err) ~= "table" then
    if type(err) == "string" or type(err) == "number" then return 5, tostring(err) end
    return 5, "execution failure"
  end
  local msg, source, line = err.err, err.source, err.line
  if type(msg) ~= "string" and type(msg) ~= "number" then msg = nil end
  if type(source) ~= "string" and type(source) ~= "number" then source = nil end
  if type(line) ~= "string" and type(line) ~= "number" then line = nil end
  return 4, msg and tostring(msg), source and tostring(source), line and tostring(line),
         err.ignore_error_stats_update == true
end

-- The protocol redis.call replies come in (redis.setresp; kept in Python too).
local LRESP = 2

-- ---- running -------------------------------------------------------------------------
local CUR_F, CUR_K, CUR_A
local function fcall_trampoline() return CUR_F(CUR_K, CUR_A) end

local function finish(ok, r, cresp, lresp)
  sethook()
  CUR_F, CUR_K, CUR_A = nil, nil, nil
  if ok then return convert(r, cresp, lresp) end
  return raised(r)
end

local API = {}
-- EVAL: f is the compiled script; keys and args arrive as varargs after their count.
local function split_args(nkeys, ...)
  local n = select("#", ...)
  if n == 0 then return {}, {} end
  local packed = ...
  if type(packed) == "table" then
    -- Many arguments come as one table (a call cannot carry more than ~8000 values).
    local keys, args = {}, {}
    for i = 1, nkeys do keys[i] = packed[i] end
    for i = nkeys + 1, #packed do args[i - nkeys] = packed[i] end
    return keys, args
  end
  if nkeys == 0 then return {}, {...} end
  if nkeys == n then return {...}, {} end
  local all = {...}
  local keys, args = {}, {}
  for i = 1, nkeys do keys[i] = all[i] end
  for i = nkeys + 1, n do args[i - nkeys] = all[i] end
  return keys, args
end

function API.run_eval(f, cresp, hook_on, nkeys, ...)
  -- KEYS and ARGV stay set after the script, as in Redis (the next script replaces them).
  G.KEYS, G.ARGV = split_args(nkeys, ...)
  if hook_on then sethook(hook, "", HOOK_EVERY) end
  LRESP = 2
  local ok, r = xpcall(f, err_handler)
  return finish(ok, r, cresp, LRESP)
end

function API.run_function(f, cresp, hook_on, nkeys, ...)
  local keys, args = split_args(nkeys, ...)
  CUR_F, CUR_K, CUR_A = f, keys, args
  if hook_on then sethook(hook, "", HOOK_EVERY) end
  LRESP = 2
  local ok, r = xpcall(fcall_trampoline, err_handler)
  return finish(ok, r, cresp, LRESP)
end

-- Compile user code with P as its environment; returns the function or (nil, message).
local function compile(code, chunkname)
  if byte(code, 1) == 27 then
    return nil, sub(chunkname, 2) .. ":1: unexpected symbol near '<\\27>'"
  end
  return loadstring(code, chunkname)
end
function API.compile(code, chunkname)
  local f, err = compile(code, chunkname)
  if not f then return nil, err end
  setfenv(f, P)
  return f
end

function API.set_lresp(n) LRESP = n end

-- For Python library functions: luaL_error's message (the position of the line that
-- called the C function) and luaL_argerror's (the name it was called by). Level 1 is
-- the helper, 2 the C closure, 3 its caller.
function API.where(msg)
  local i = getinfo(3, "Sl")
  if i and i.currentline and i.currentline > 0 then return i.short_src .. ":" .. i.currentline .. ": " .. msg end
  return msg
end
function API.argerror(narg, extramsg)
  local ar = getinfo(2, "n")
  local name = ar and ar.name or "?"
  if ar and ar.namewhat == "method" then
    narg = narg - 1
    if narg == 0 then return API.where("calling '" .. name .. "' on bad self (" .. extramsg .. ")") end
  end
  local i = getinfo(3, "Sl")
  local msg = "bad argument #" .. narg .. " to '" .. name .. "' (" .. extramsg .. ")"
  if i and i.currentline and i.currentline > 0 then return i.short_src .. ":" .. i.currentline .. ": " .. msg end
  return msg
end

API.memory = function() return floor(collectgarbage("count")) * 1024 end
API.gc_step = function(n) collectgarbage("step", n) end
API.gc_full = function() collectgarbage("collect") end

-- ---- function libraries (FUNCTION LOAD) ------------------------------------------------
if MODE == "function" then
  -- FUNCTION LOAD's part (sandbox_functions.lua): it adds API.load_library.
  local f = assert(loadstring(PY.functions_src, SANDBOX_SRC))
  f({
    error_table = error_table, missing_global = missing_global, protect = protect, add_log_api = add_log_api,
    FAKE_MT = FAKE_MT, P = P, G = G, API = API, PY = PY, compile = compile, hook = hook, sethook = sethook,
    HOOK_EVERY = HOOK_EVERY, unwrap = unwrap, raised = raised,
  })
end

-- The bootstrap's own globals stay the thread's globals, emptied but for what lupa itself
-- looks up there on every call (debug.traceback). User code never sees them: every chunk
-- it gets is given P as its environment (compile, loadstring, load), getfenv maps them to
-- P and setfenv(0) is refused.
local traceback = debug.traceback
for k in next, BOOT_ENV do BOOT_ENV[k] = nil end
BOOT_ENV.debug = {traceback = traceback}
return API
