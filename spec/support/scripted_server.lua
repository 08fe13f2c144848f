--- A scripted HTTP server on 127.0.0.1 for specs that need byte-exact
-- answers through the libcurl transport (which blocks, so the server runs in
-- its own process). In a spec:
--
--   local S = require("spec.support.scripted_server")
--   local srv = S.start({ "HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n", ... })
--   srv.url            -- "http://127.0.0.1:PORT"
--   srv:requests()     -- the raw requests it read, in order
--   srv:stop()
--
-- Each accepted connection reads one request (head + Content-Length body),
-- answers with the next scripted response (the last one repeats) and closes.
-- Run as a program (`lua5.4 scripted_server.lua responses.lua log`), it is
-- that server: it prints its port, then serves until killed.
local M = {}

local function quote_all(list)
  local out = { "return {" }
  for _, r in ipairs(list) do out[#out + 1] = string.format("%q,", r) end
  out[#out + 1] = "}"
  return table.concat(out, "\n")
end

function M.start(responses)
  local base = os.tmpname()
  local script, log = base .. ".responses.lua", base .. ".log"
  local f = assert(io.open(script, "wb"))
  f:write(quote_all(responses))
  f:close()
  os.remove(base)
  local me = debug.getinfo(1, "S").source:sub(2)
  local p = assert(io.popen(string.format("echo $$; exec lua5.4 %s %s %s", me, script, log), "r"))
  local pid = assert(tonumber(p:read("*l")), "scripted server: no pid")
  local port = assert(tonumber(p:read("*l")), "scripted server: no port")
  local srv = { pid = pid, port = port, url = "http://127.0.0.1:" .. port, log = log, pipe = p }
  function srv.requests()
    local lf = io.open(log, "rb")
    if not lf then return {} end
    local text = lf:read("*a")
    lf:close()
    local clean, pos = {}, 1
    while pos <= #text do
      local n, nl = text:match("^(%d+)\n()", pos)
      if not n then break end
      clean[#clean + 1] = text:sub(nl, nl + tonumber(n) - 1)
      pos = nl + tonumber(n)
    end
    return clean
  end
  function srv.stop()
    os.execute("kill " .. pid .. " 2>/dev/null")
    p:close()
    os.remove(script)
    os.remove(log)
  end
  return srv
end

-- ---- the server process ----
local function serve(script, logfile)
  local socket = require("socket")
  local responses = dofile(script)
  local server = assert(socket.bind("127.0.0.1", 0))
  local _, port = server:getsockname()
  io.stdout:write(port, "\n")
  io.stdout:flush()
  local i = 0
  while true do
    local conn = server:accept()
    if conn then
      conn:settimeout(10)
      local head = {}
      local len = 0
      while true do
        local line = conn:receive("*l")
        if not line then break end
        head[#head + 1] = line
        local cl = line:lower():match("^content%-length:%s*(%d+)")
        if cl then len = tonumber(cl) end
        if line == "" then break end
      end
      local body = len > 0 and (conn:receive(len) or "") or ""
      local req = table.concat(head, "\r\n") .. "\r\n" .. body
      local lf = io.open(logfile, "ab")
      lf:write(#req, "\n", req)
      lf:close()
      i = i + 1
      conn:send(responses[math.min(i, #responses)])
      conn:close()
    end
  end
end

if arg and arg[0] and arg[0]:match("scripted_server%.lua$") and arg[1] then
  serve(arg[1], arg[2])
else
  return M
end
