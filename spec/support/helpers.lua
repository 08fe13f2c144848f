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

--- on_event hook that records every event; returns hook, list.
function H.recorder()
  local events = {}
  return function(ev) events[#events + 1] = ev end, events
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

function H.read_file(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local s = f:read("*a")
  f:close()
  return s
end

return H
