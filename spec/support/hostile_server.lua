--- A scripted HTTP server for the hostile-server harness (spec/hostile_spec.lua).
-- Runs as its own process (Lua 5.4 + luasocket), on 127.0.0.1 only:
--
--   lua5.4 spec/support/hostile_server.lua <script> <portfile> <logfile> [lifetime]
--
-- <script> is a Lua file returning { answers = { answer, ... } }. The i-th
-- request the server reads (counted over all connections) gets answers[i];
-- requests past the end get the last one. An answer is a list of steps:
--   "bytes"                          sent as they are (byte-exact); "${BASE}" becomes
--                                    http://127.0.0.1:<port> (for redirects, download URLs),
--                                    "${PORT}" the port alone
--   { sleep = s }                    pause s seconds (other connections go on)
--   { trickle = "bytes", every = s, size = n }  n bytes (default 1) every s seconds
--   { close = true }                 close the connection now
-- and these fields:
--   close = true       close the connection after the last step (default: keep
--                      it open and read the next request on it)
--   read_body = false  do not read the request body (an answer "before the upload")
--
-- The log (rewritten after every request head, so a stalled answer still shows
-- its request) is a Lua file returning { connections = n, answered = n (answers
-- whose steps have all been sent, a step `{close = true}` excepted), requests =
-- { {conn =, method =, target =, headers = {lowercase name = value}, body_bytes =,
-- body = (first 4 KB)} ... } }. The server exits after `lifetime` seconds (default
-- 120) even if nobody stops it.
local socket = require("socket")

local script_path, portfile, logfile, lifetime = arg[1], arg[2], arg[3], tonumber(arg[4]) or 120
local script = assert(dofile(script_path), "the script returns nothing")
local answers = assert(script.answers, "the script has no answers")

local server = assert(socket.bind("127.0.0.1", 0))
server:settimeout(0)
local _, port = server:getsockname()
local base = "http://127.0.0.1:" .. port

-- ---- the log --------------------------------------------------------------

local log = { connections = 0, requests = {}, answered = 0 }

local function literal(v)
  local t = type(v)
  if t == "string" then return string.format("%q", v) end
  if t ~= "table" then return tostring(v) end
  local out = {}
  for k, x in pairs(v) do
    out[#out + 1] = "[" .. literal(k) .. "]=" .. literal(x)
  end
  return "{" .. table.concat(out, ",") .. "}"
end

local function write_log()
  local tmp = logfile .. ".tmp"
  local f = assert(io.open(tmp, "wb"))
  f:write("return ", literal(log), "\n")
  f:close()
  assert(os.rename(tmp, logfile))
end

-- ---- a tiny scheduler: one coroutine per connection ------------------------

local waiting_r, waiting_w, sleeping = {}, {}, {} -- socket -> coroutine; coroutine -> wake time

local function wait_readable(c)
  waiting_r[c] = coroutine.running()
  coroutine.yield()
end

local function wait_writable(c)
  waiting_w[c] = coroutine.running()
  coroutine.yield()
end

local function sleep(s)
  sleeping[coroutine.running()] = socket.gettime() + s
  coroutine.yield()
end

-- Send all of data (non-blocking, yielding while the client does not read).
local function send_all(c, data)
  local i = 1
  while i <= #data do
    local n, err, last = c:send(data, i)
    if n then
      i = n + 1
    elseif err == "timeout" then
      i = last + 1
      wait_writable(c)
    else
      return nil, err
    end
  end
  return true
end

-- A connection's input buffer.
local function reader(c)
  local buf = ""
  local r = {}
  local function more()
    while true do
      local data, err, partial = c:receive(65536)
      data = data or partial
      if data and #data > 0 then
        buf = buf .. data
        return true
      end
      if err == "closed" then return nil end
      wait_readable(c)
    end
  end
  function r.head()
    while true do
      local i = buf:find("\r\n\r\n", 1, true)
      if i then
        local head = buf:sub(1, i + 1)
        buf = buf:sub(i + 4)
        return head
      end
      if not more() then return nil end
    end
  end
  function r.body(n)
    while #buf < n do
      if not more() then break end
    end
    local b = buf:sub(1, n)
    buf = buf:sub(n + 1)
    return b
  end
  return r
end

local seen = 0

local function serve(c, conn)
  local r = reader(c)
  while true do
    local head = r.head()
    if not head then break end
    seen = seen + 1
    local answer = answers[seen] or answers[#answers]
    local method, target = head:match("^(%S+) (%S+)")
    local headers = {}
    for name, value in head:gmatch("\r\n([^:\r\n]+):[ \t]*([^\r\n]*)") do
      name = name:lower()
      headers[name] = headers[name] and (headers[name] .. ", " .. value) or value
    end
    local rec = { conn = conn, method = method, target = target, headers = headers, body_bytes = 0, body = "" }
    log.requests[#log.requests + 1] = rec
    write_log()
    local length = tonumber(headers["content-length"] or "0") or 0
    if length > 0 and answer.read_body ~= false then
      local body = r.body(length)
      rec.body_bytes = #body
      rec.body = body:sub(1, 4096)
      write_log()
    end
    for _, step in ipairs(answer) do
      if type(step) == "string" then
        if not send_all(c, (step:gsub("%${BASE}", base):gsub("%${PORT}", tostring(port)))) then c:close() return end
      elseif step.sleep then
        sleep(step.sleep)
      elseif step.trickle then
        local size = step.size or 1
        for i = 1, #step.trickle, size do
          if not send_all(c, step.trickle:sub(i, i + size - 1)) then c:close() return end
          sleep(step.every or 0.1)
        end
      elseif step.close then
        c:close()
        return
      end
    end
    log.answered = log.answered + 1 -- every step of this answer is out
    write_log()
    if answer.close then break end
  end
  c:close()
end

-- ---- main loop --------------------------------------------------------------

do
  local f = assert(io.open(portfile .. ".tmp", "wb"))
  f:write(tostring(port), "\n")
  f:close()
  assert(os.rename(portfile .. ".tmp", portfile))
end
write_log()

local stop_at = socket.gettime() + lifetime
local function resume(co)
  local ok, err = coroutine.resume(co)
  if not ok then io.stderr:write("hostile_server: ", tostring(err), "\n") end
end

while socket.gettime() < stop_at do
  local now = socket.gettime()
  for co, at in pairs(sleeping) do
    if at <= now then
      sleeping[co] = nil
      resume(co)
    end
  end
  local timeout = 0.2
  now = socket.gettime()
  for _, at in pairs(sleeping) do
    if at - now < timeout then timeout = math.max(at - now, 0) end
  end
  local rs, ws = { server }, {}
  for c in pairs(waiting_r) do rs[#rs + 1] = c end
  for c in pairs(waiting_w) do ws[#ws + 1] = c end
  local readable, writable = socket.select(rs, ws, timeout)
  for _, c in ipairs(readable) do
    if c == server then
      local client = server:accept()
      if client then
        client:settimeout(0)
        client:setoption("tcp-nodelay", true)
        log.connections = log.connections + 1
        local co = coroutine.create(serve)
        local conn = log.connections
        local ok, err = coroutine.resume(co, client, conn)
        if not ok then io.stderr:write("hostile_server: ", tostring(err), "\n") end
      end
    elseif waiting_r[c] then
      local co = waiting_r[c]
      waiting_r[c] = nil
      resume(co)
    end
  end
  for _, c in ipairs(writable) do
    local co = waiting_w[c]
    if co then
      waiting_w[c] = nil
      resume(co)
    end
  end
end
