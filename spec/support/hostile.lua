--- Controller for the scripted hostile HTTP server (hostile_server.lua): one
-- process per start, on 127.0.0.1 and a free port. Works under Lua 5.1,
-- LuaJIT and 5.4 (the server itself runs under SCRAVIO_HOSTILE_LUA, default lua5.4).
--
--   local hostile = require("spec.support.hostile")
--   local srv = hostile.start(answers)     -- see hostile_server.lua for the format
--   srv.base_url                           -- http://127.0.0.1:<port>
--   srv:log()                              -- { connections = n, requests = {...} }
--   srv:stop()
local M = {}

M.LUA = os.getenv("SCRAVIO_HOSTILE_LUA") or "lua5.4"

local function sh_quote(s)
  return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end

local function run(cmd)
  local p = assert(io.popen(cmd .. " 2>&1"))
  local out = p:read("*a")
  p:close()
  return out
end

local function read_file(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local s = f:read("*a")
  f:close()
  return s
end

local function literal(v)
  local t = type(v)
  if t == "string" then return string.format("%q", v) end
  if t == "number" or t == "boolean" then return tostring(v) end
  assert(t == "table", "an answer holds a " .. t)
  local out = {}
  for k, x in pairs(v) do out[#out + 1] = "[" .. literal(k) .. "]=" .. literal(x) end
  return "{" .. table.concat(out, ",") .. "}"
end

local function here()
  local src = debug.getinfo(1, "S").source:gsub("^@", "")
  return src:match("^(.*)/[^/]+$") or "."
end

local REASONS = { [200] = "OK", [201] = "Created", [204] = "No Content", [301] = "Moved Permanently",
  [302] = "Found", [400] = "Bad Request", [404] = "Not Found", [429] = "Too Many Requests",
  [500] = "Internal Server Error", [503] = "Service Unavailable" }

--- response(status, headers, body) -> the bytes of an HTTP/1.1 response.
-- headers: a list of "Name: value" lines, sent in order; a Content-Length
-- is added unless one (or a Transfer-Encoding) is among them. Use plain
-- strings in an answer instead for anything this cannot say.
function M.response(status, headers, body)
  body = body or ""
  local lines = { "HTTP/1.1 " .. status .. " " .. (REASONS[status] or "Whatever") }
  local framed = false
  for _, h in ipairs(headers or {}) do
    lines[#lines + 1] = h
    local name = h:match("^([^:]+):"):lower()
    if name == "content-length" or name == "transfer-encoding" then framed = true end
  end
  if not framed then lines[#lines + 1] = "Content-Length: " .. #body end
  return table.concat(lines, "\r\n") .. "\r\n\r\n" .. body
end

--- json(status, body_text, extra_headers) -> a JSON response with an X-Request-Id.
function M.json(status, text, extra)
  local headers = { "Content-Type: application/json", "X-Request-Id: req_hostile_1" }
  for _, h in ipairs(extra or {}) do headers[#headers + 1] = h end
  return M.response(status, headers, text)
end

local Server = {}
Server.__index = Server

--- start(answers) -> server (raises when it does not come up)
function M.start(answers)
  local dir = run("mktemp -d /tmp/scravio-hostile-XXXXXX"):gsub("%s+$", "")
  assert(dir:match("^/tmp/scravio%-hostile%-"), "mktemp failed: " .. dir)
  run("chmod 755 " .. sh_quote(dir)) -- nginx's worker reads the log (the await op)
  local script = dir .. "/script.lua"
  local f = assert(io.open(script, "wb"))
  f:write("return { answers = ", literal(answers), " }\n")
  f:close()
  local portfile, logfile = dir .. "/port", dir .. "/log.lua"
  local cmd = "env -u LD_PRELOAD " .. M.LUA .. " " .. sh_quote(here() .. "/hostile_server.lua") .. " " ..
    sh_quote(script) .. " " .. sh_quote(portfile) .. " " .. sh_quote(logfile) .. " 120"
  local pid = tonumber(run(cmd .. " >" .. sh_quote(dir .. "/stderr") .. " 2>&1 & echo $!"):match("%d+"))
  local self = setmetatable({ dir = dir, pid = pid, logfile = logfile }, Server)
  for _ = 1, 400 do
    local p = read_file(portfile)
    if p and p:match("%d+") then
      self.port = tonumber(p:match("%d+"))
      self.base_url = "http://127.0.0.1:" .. self.port
      return self
    end
    run("sleep 0.01")
  end
  local err = read_file(dir .. "/stderr") or ""
  self:stop()
  error("the hostile server did not start: " .. err, 2)
end

--- log() -> { connections = n, requests = { {conn, method, target, headers, body_bytes, body} ... } }
function Server:log()
  local text = read_file(self.logfile)
  if not text then return { connections = 0, requests = {} } end
  local chunk = assert((loadstring or load)(text))
  return chunk()
end

--- What the server wrote on stderr (a script error shows here).
function Server:stderr()
  return read_file(self.dir .. "/stderr") or ""
end

function Server:stop()
  if self.pid then
    run("kill " .. self.pid)
    self.pid = nil
  end
  if self.dir then
    run("rm -rf " .. sh_quote(self.dir))
    self.dir = nil
  end
end

return M
