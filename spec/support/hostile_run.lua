--- Runs one hostile-server case's calls with one transport and describes what
-- came back as plain data (so the two transports' outcomes can be compared).
-- Loaded by spec/hostile_spec.lua (libcurl, in the busted process) and by
-- spec/openresty/handlers.lua (cosockets, inside nginx).
--
--   run(case, env) -> { outcome, ... }   one per entry of case.calls
-- env: base_url (the hostile server, http://127.0.0.1:<port>), transport
-- ("curl" | "ngx"), dir (a scratch directory for files), log_file (the
-- server's log).
local scravio = require("scravio")

local M = {}

M.API_KEY = "sk_test_hostile_0123456789abcdef"

local ERROR_FIELDS = { "kind", "status", "code", "message", "request_id", "retryable", "sent", "gave_up",
  "attempts", "retry_after" }

-- Files on disk are reported as hex (outcomes travel as JSON out of nginx).
local function hex(s)
  return (s:gsub(".", function(ch) return string.format("%02x", ch:byte()) end))
end
M.hex = hex

-- The file's bytes as hex, false when there is no file.
local function read_file(path)
  local f = io.open(path, "rb")
  if not f then return false end
  local s = f:read("*a")
  f:close()
  return hex(s)
end

local function write_file(path, data)
  local f = assert(io.open(path, "wb"))
  f:write(data)
  f:close()
end

-- A plain copy of a result (objects become their fields).
local function plain(v, depth)
  depth = depth or 0
  if v == scravio.null then return "<null>" end -- (tostring differs between VMs)
  if type(v) ~= "table" and type(v) ~= "userdata" then return v end
  if depth > 6 then return "..." end
  local ok, data = pcall(function()
    if type(v.data) == "function" then return v:data() end
    return nil
  end)
  if ok and type(data) == "table" then v = data end
  if type(v) ~= "table" then return tostring(v) end
  local out = {}
  for k, x in pairs(v) do
    if type(x) ~= "function" then out[k] = plain(x, depth + 1) end
  end
  return out
end

local function describe_error(err)
  if type(err) ~= "table" then return { ok = false, kind = "raised", message = tostring(err) } end
  local out = { ok = false }
  for _, k in ipairs(ERROR_FIELDS) do out[k] = err[k] end
  out.text = tostring(err)
  return out
end

-- The object a dotted name ("campaigns.create") is called on, and the function.
local function resolve(client, name)
  local obj, fn = client, nil
  for part in name:gmatch("[^.]+") do
    if fn then obj = fn end
    fn = obj[part]
    if fn == nil then error("no " .. name .. " on the client", 0) end
  end
  return obj, fn
end

-- One call. Kinds:
--   { op = "request", method =, path =, body =, opts = {...} }  client:request
--   { op = "sdk", fn = "campaigns.create", args = {...} }       any SDK method
--   { op = "each", fn = "campaigns.each", args = {...}, max = 50 }  iterate an SDK
--                                  iterator: value = items handed out (an
--                                  error raised ends it, as its outcome);
--                                  collect = true: value = {count =, items =
--                                  (plain copies), plain = every item a
--                                  table without metatable (arrays: the
--                                  array metatable)}
--   { op = "download", path =, opts = {...} }  scravio.download.to_file of <base><path>
--   { op = "upload", path =, data =, times =, content_type =, timeout = }
--                                  transport:upload of data repeated `times` times
--   { op = "pause", seconds = s }  wait s seconds
--   { op = "await", answers = n }  wait (at most 10 s) until the server has sent
--                                  all of its first n answers (e.g. unrequested
--                                  bytes after a response): an order, not a time
local function sleep(s)
  local ngx = rawget(_G, "ngx")
  if ngx and ngx.sleep then ngx.sleep(s) else require("scravio.core").sleep(s) end
end

local function answered(log_file)
  local chunk = (loadfile or load)(log_file)
  local ok, log = pcall(chunk or function() return nil end)
  return ok and type(log) == "table" and log.answered or 0
end

local function call(client, c, env, i)
  if c.op == "pause" then
    sleep(c.seconds)
    return { ok = true }
  elseif c.op == "await" then
    for _ = 1, 1000 do
      if answered(env.log_file) >= c.answers then return { ok = true } end
      sleep(0.01)
    end
    error("the server never finished answer " .. c.answers, 0)
  elseif c.op == "request" then
    local opts = {}
    for k, v in pairs(c.opts or {}) do opts[k] = v end
    opts.body = c.body
    local value, err = client:request(c.method or "GET", c.path, opts)
    if value == nil then return describe_error(err) end
    return { ok = true, value = plain(value) }
  elseif c.op == "sdk" then
    local obj, fn = resolve(client, c.fn)
    local args = c.args or {}
    local value, err = fn(obj, (table.unpack or unpack)(args, 1, c.nargs or #args))
    if value == nil then return describe_error(err) end
    return { ok = true, value = plain(value) }
  elseif c.op == "each" then
    local obj, fn = resolve(client, c.fn)
    local args = c.args or {}
    local n, items, all_plain = 0, {}, true
    local array_mt = require("scravio.core").array_mt
    local function is_plain(t)
      if type(t) ~= "table" then return true end
      local mt = getmetatable(t)
      if mt ~= nil and mt ~= array_mt then return false end
      for _, v in pairs(t) do if not is_plain(v) then return false end end
      return true
    end
    local ok, err = pcall(function()
      for item in fn(obj, (table.unpack or unpack)(args, 1, c.nargs or #args)) do
        n = n + 1
        if c.collect then
          items[n] = plain(item)
          all_plain = all_plain and type(item) == "table" and getmetatable(item) == nil and is_plain(item)
        end
        if n >= (c.max or 50) then break end
      end
    end)
    local out = ok and { ok = true } or describe_error(err)
    out.value = c.collect and { count = n, items = items, plain = all_plain } or n
    return out
  elseif c.op == "download" then
    local file = env.dir .. "/download-" .. i
    local url = env.base_url .. c.path
    local path, bytes = require("scravio.download").to_file(client, function() return url end, file, c.opts or {})
    local on_disk = read_file(file)
    os.remove(file)
    if not path then
      local out = describe_error(bytes)
      out.file = on_disk
      return out
    end
    return { ok = true, bytes = bytes, file = on_disk }
  elseif c.op == "upload" then
    local file = env.dir .. "/upload-" .. i
    write_file(file, string.rep(c.data or "", c.times or 1))
    local status, err = client._transport:upload(env.base_url .. c.path, file, c.content_type or "text/csv", false,
      c.timeout)
    os.remove(file)
    if not status then return describe_error(err) end
    return { ok = true, status = status }
  end
  error("unknown op " .. tostring(c.op), 0)
end

function M.run(case, env)
  local opts = { base_url = env.base_url .. (case.api_prefix or "/api"), api_key = M.API_KEY,
    transport = env.transport, max_retries = 0 }
  for k, v in pairs(case.client or {}) do opts[k] = v end
  -- case.events: each outcome also lists the on_event events of its call
  -- (plain copies), e.g. to prove that none carries a credential.
  local events
  if case.events then
    opts.on_event = function(ev) events[#events + 1] = plain(ev) end
  end
  local client, cerr = scravio.new(opts)
  if not client then return { describe_error(cerr) } end
  local out = {}
  for i, c in ipairs(case.calls) do
    events = {}
    local ok, res = pcall(call, client, c, env, i)
    if not ok then res = { ok = false, kind = "raised", message = tostring(res) } end
    if case.events then res.events = events end
    out[i] = res
  end
  client:close()
  return out
end

return M
