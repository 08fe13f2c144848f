--- Shared spec helpers: the SDK, the fake server, and an event recorder.
local H = {}

H.scravio = require("scravio")
--- Start the fake Scravio server (spec/support/fake_server.lua).
function H.start(opts)
  return require("spec.support.fake_server").start(opts)
end

--- A client for the fake server (account A by default); opts override.
function H.client(srv, opts)
  local o = { base_url = srv.base_url, api_key = srv.api_key, max_retries = 2, timeout = 10 }
  for k, v in pairs(opts or {}) do o[k] = v end
  if o.access_token then o.api_key = nil end
  local c, err = H.scravio.new(o)
  assert(c, err and tostring(err))
  return c
end

--- The command that runs a Lua script in a child process against this
-- checkout's SDK: lua5.4 with the repository's paths (whichever Lua runs
-- the suite, every build is there), e.g. H.child_lua() .. " script.lua"
-- (an `env` command line, so `exec` may precede it).
function H.child_lua()
  local root = os.getenv("PWD") or "."
  return string.format("env LUA_PATH='%s/lua/?.lua;%s/lua/?/init.lua;%s/?.lua;;' " ..
    "LUA_CPATH='%s/build/lua5.4/?.so;;' lua5.4", root, root, root, root)
end

--- A frozen clock for client._runtime: time stands still except through
-- sleep, which records the wait (clock.slept, clock.total) and advances the
-- fake server's clock by as much. Unlike H.fake_clock, nothing moves with
-- real time, so poll counts and waits are exact (wait and workflow specs).
function H.virtual_clock(srv)
  local runtime = require("scravio.runtime")
  local clock = { t = runtime.now(), slept = {}, total = 0, random = math.random }
  function clock.now() return clock.t end
  function clock.time() return runtime.time() + (clock.t - clock.start) end
  function clock.sleep(s)
    clock.slept[#clock.slept + 1] = s
    clock.total = clock.total + s
    clock.t = clock.t + s
    if s > 0 then srv:advance(s) end
  end
  clock.start = clock.t
  return clock
end

--- on_event hook that records every event; returns hook, list.
function H.recorder()
  local events = {}
  return function(ev) events[#events + 1] = ev end, events
end

--- A clock for client._runtime (the pipeline's test hook) so specs never
-- really wait: every sleep is recorded (clock.sleeps, clock.total) and moves
-- this clock forward, and the fake server's clock too when opts.srv is given.
-- opts.random fixes the backoff jitter (default 0.5).
function H.fake_clock(client, opts)
  opts = opts or {}
  local runtime = require("scravio.runtime")
  local clock = { sleeps = {}, total = 0, offset = 0 }
  local jitter = opts.random or 0.5
  function clock.now() return runtime.now() + clock.offset end
  function clock.time() return runtime.time() + clock.offset end
  function clock.random() return jitter end
  function clock.advance(s)
    clock.offset = clock.offset + s
    if opts.srv and s > 0 then opts.srv:advance(s) end
  end
  function clock.sleep(s)
    clock.sleeps[#clock.sleeps + 1] = s
    clock.total = clock.total + s
    clock.advance(s)
  end
  if client then client._runtime = clock end
  return clock
end

--- A client for the fake server whose events are recorded and whose clock
-- is an H.fake_clock. defaults: the spec's own client options; opts override
-- them; clock_opts go to H.fake_clock. -> client, events, clock
function H.observed_client(srv, defaults, opts, clock_opts)
  local hook, events = H.recorder()
  local o = { on_event = hook }
  for k, v in pairs(defaults or {}) do o[k] = v end
  for k, v in pairs(opts or {}) do o[k] = v end
  local c = H.client(srv, o)
  return c, events, H.fake_clock(c, clock_opts)
end

--- How many `method` requests to `path` the fake server logged.
function H.count(srv, method, path)
  return #srv:requests({ method = method, path = path })
end

--- The campaigns account A holds, asked through a clean client. -> n, items
function H.campaigns_on_server(srv)
  local c = H.client(srv)
  local page = assert(c.campaigns:list({ perPage = 100 }))
  c:close()
  return #page.items, page.items
end

--- Events of one type from a recorded list.
function H.events_of(events, kind)
  local out = {}
  for _, ev in ipairs(events) do
    if ev.type == kind then out[#out + 1] = ev end
  end
  return out
end

--- Is integer in the sense the API promises (math.type where it exists)?
function H.is_integer(v)
  if math.type then return math.type(v) == "integer" end
  return type(v) == "number" and v == math.floor(v)
end

--- A temporary path (removed by the caller).
function H.tmpname(suffix)
  local p = os.tmpname()
  os.remove(p)
  return p .. (suffix or "")
end

--- A new empty temporary directory (the caller removes it with H.rmdir).
function H.tmpdir()
  local p = os.tmpname()
  os.remove(p)
  assert(os.execute("mkdir -p '" .. p .. "'"))
  return p
end

--- The names in a directory, sorted (dot files included).
function H.listdir(dir)
  local out = {}
  local p = io.popen("ls -A '" .. dir .. "'")
  for name in p:lines() do out[#out + 1] = name end
  p:close()
  table.sort(out)
  return out
end

function H.rmdir(dir) os.execute("rm -rf '" .. dir .. "'") end

--- Write data to path (binary); returns path.
function H.write_file(path, data)
  local f = assert(io.open(path, "wb"))
  f:write(data)
  f:close()
  return path
end

function H.read_file(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local s = f:read("*a")
  f:close()
  return s
end

return H
