--- The runtime the SDK runs in: plain Lua (block in nanosleep) or OpenResty
-- (yield through ngx.sleep). Everything that waits goes through here, so the
-- retry, polling and workflow code is the same code in both.
local core = require("scravio.core")

local M = {}

local ngx = rawget(_G, "ngx")
local in_ngx = type(ngx) == "table" and type(ngx.sleep) == "function" and type(ngx.get_phase) == "function"

M.in_ngx = in_ngx

-- Phases of ngx_lua in which cosockets and ngx.sleep are available. Not in
-- init, init_worker, set, header_filter, body_filter, log, balancer,
-- exit_worker: there the ngx transport answers nil, err (kind "invalid").
local YIELDABLE = { rewrite = true, server_rewrite = true, access = true, content = true, timer = true,
  ssl_cert = true, ssl_session_fetch = true, ssl_client_hello = true, preread = true }
M.YIELDABLE = YIELDABLE

--- Current phase name under OpenResty, nil elsewhere.
function M.phase()
  if in_ngx then return ngx.get_phase() end
  return nil
end

--- Can this context do non-blocking I/O? (true, or false + phase name)
function M.can_yield()
  if not in_ngx then return true end
  local phase = ngx.get_phase()
  return YIELDABLE[phase] == true, phase
end

--- Monotonic seconds.
M.now = core.monotime

--- Wall-clock seconds (for timestamps sent to the API).
M.time = core.time

--- What a Ctrl-C raises: the standalone lua and luajit interpreters turn
-- SIGINT into this error (with a position in front) through a hook, and an
-- interrupted sleep of the SDK raises the same, so a script that does not
-- catch it stops as it always would. wait(), run(), download() and the
-- iterators catch both and answer kind = "cancelled" instead.
M.INTERRUPTED = "interrupted!"

--- Is x the error a Ctrl-C raised?
function M.is_interrupt(x)
  return type(x) == "string" and x:sub(-#M.INTERRUPTED) == M.INTERRUPTED
end

--- Sleep without blocking other requests when under OpenResty.
-- In an nginx phase that cannot yield, a worker serving requests must never
-- block: the sleep is skipped (nothing the SDK does there waits, since every
-- call answers nil, err at once). Only the master's init phase may block.
-- In plain Lua a Ctrl-C ends the sleep at once and raises M.INTERRUPTED
-- (core.sleep watches SIGINT when the program handles it, as lua does).
function M.sleep(seconds)
  if seconds <= 0 then return end
  if in_ngx then
    local phase = ngx.get_phase()
    if YIELDABLE[phase] then return ngx.sleep(seconds) end
    if phase ~= "init" then return end
    return core.sleep(seconds) -- (the master: its SIGINT is nginx's)
  end
  if core.sleep(seconds, true) then error(M.INTERRUPTED, 0) end
end

--- Uniform random in [0, 1): full jitter for backoff.
M.random = math.random

--- ISO 8601 UTC timestamp for a wall-clock time in seconds.
function M.iso8601(t)
  local whole = math.floor(t)
  local ms = math.floor((t - whole) * 1000)
  return os.date("!%Y-%m-%dT%H:%M:%S", whole) .. string.format(".%03dZ", ms)
end

return M
