"""Lua scripting (EVAL, FUNCTION): Redis 7.0's scripting on lupa's Lua 5.1.

Layout:
  sandbox.lua  the Lua side: protected globals, the `redis` API, error handler, result encoder
  sandbox_functions.lua  what a library sees while FUNCTION LOAD runs it (register_function)
  engine.py    one Lua state (LuaRuntime) running the sandbox; compile and call
  convert.py   command replies -> Lua values (redis.call), script results -> replies
  libs/        cjson, cmsgpack, struct and bit, implemented in Python for the sandbox
  runner.py    the node's scripting state: script cache, run context, redis.call dispatch
  functions.py the compiled view of the function libraries (crdt/functions.py holds the data)
  busy.py      serving other clients while a script runs past busy-reply-threshold
  dump.py      FUNCTION DUMP / RESTORE payloads (RDB strings, CRC64)

How a script runs: on the event loop's thread, synchronously, like any command; every
write it makes through redis.call goes through `Node.call`, so all of them join the one
op of the EVAL (or of the enclosing EXEC). See runner.py for the rules and busy.py for
what happens while a script runs long.
"""
