-- FUNCTION LOAD's side of the sandbox (function_lua.c), loaded by sandbox.lua in the
-- function engine only, with the sandbox's internals it needs as arguments.
--
-- While a library loads, its globals are only `redis` with register_function and the log
-- API (function_lua.c: LIBRARY_API); the functions it registers run with the globals.
local S = ...
local type, error, next, select, tostring, pcall, setfenv, getmetatable, setmetatable =
  type, error, next, select, tostring, pcall, setfenv, getmetatable, setmetatable
local string = string
local error_table, missing_global, protect, add_log_api = S.error_table, S.missing_global, S.protect, S.add_log_api
local FAKE_MT, P, G, API, PY = S.FAKE_MT, S.P, S.G, S.API, S.PY
local compile, hook, sethook, HOOK_EVERY, unwrap, raised = S.compile, S.hook, S.sethook, S.HOOK_EVERY, S.unwrap, S.raised
local LIB_G = {}
setmetatable(LIB_G, {__index = missing_global})
local LIB_R = {}
setmetatable(LIB_R, {__index = missing_global})
add_log_api(LIB_R)
local registering = nil
local function read_flags(t)
  local flags = {}
  local j = 1
  while true do
    local f = t[j]
    if f == nil then break end
    if type(f) ~= "string" and type(f) ~= "number" then return nil end
    flags[#flags + 1] = tostring(f)
    j = j + 1
  end
  return flags
end
LIB_R.register_function = function(...)
  if not registering then
    error(error_table("redis.register_function can only be called on FUNCTION LOAD command"))
  end
  local argc = select("#", ...)
  if argc < 1 or argc > 2 then error(error_table("wrong number of arguments to redis.register_function")) end
  local name, fn, desc, flags
  if argc == 1 then
    local t = ...
    if type(t) ~= "table" then
      error(error_table("calling redis.register_function with a single argument is only applicable to Lua table (representing named arguments)."))
    end
    for k, v in next, t do
      if type(k) ~= "string" and type(k) ~= "number" then
        error(error_table("named argument key given to redis.register_function is not a string"))
      end
      local key = string.lower(tostring(k))
      if key == "function_name" then
        if type(v) ~= "string" and type(v) ~= "number" then
          error(error_table("function_name argument given to redis.register_function must be a string"))
        end
        name = tostring(v)
      elseif key == "description" then
        if type(v) ~= "string" and type(v) ~= "number" then
          error(error_table("description argument given to redis.register_function must be a string"))
        end
        desc = tostring(v)
      elseif key == "callback" then
        if type(v) ~= "function" then
          error(error_table("callback argument given to redis.register_function must be a function"))
        end
        fn = v
      elseif key == "flags" then
        if type(v) ~= "table" then
          error(error_table("flags argument to redis.register_function must be a table representing function flags"))
        end
        flags = read_flags(v)
        if not flags then error(error_table("unknown flag given")) end
      else
        error(error_table("unknown argument given to redis.register_function"))
      end
    end
    if not name then error(error_table("redis.register_function must get a function name argument")) end
    if not fn then error(error_table("redis.register_function must get a callback argument")) end
  else
    name, fn = ...
    if type(name) ~= "string" and type(name) ~= "number" then
      error(error_table("first argument to redis.register_function must be a string"))
    end
    name = tostring(name)
    if type(fn) ~= "function" then
      error(error_table("second argument to redis.register_function must be a function"))
    end
  end
  local st, msg = PY.register(name, fn, desc, flags)
  if st ~= 0 then error(error_table(msg)) end
end
LIB_G.redis = LIB_R
local LIB_P = protect(LIB_G)
FAKE_MT[LIB_P] = FAKE_MT[P]
local ENV_META = getmetatable(P)

-- Run a library's code: globals are the library API while it runs; returns nil on
-- success or the error message (function_lua.c luaEngineCreate).
function API.load_library(code)
  local f, err = compile(code, "@user_function")
  if not f then return "compile", err end
  setfenv(f, P)
  ENV_META.__index = LIB_P
  registering = true
  sethook(hook, "", HOOK_EVERY)
  local ok, e = pcall(f)
  e = unwrap(e)
  sethook()
  registering = nil
  ENV_META.__index = G
  if ok then return nil end
  local kind, msg = raised(e)
  if kind == 4 then
    if type(e) == "table" then return "run", msg or "" end
  end
  return "run", "ERR " .. tostring(msg)
end
