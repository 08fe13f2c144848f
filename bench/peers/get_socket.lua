--- (d) luasocket's http.request + lua-cjson: what many Lua scripts use. It
-- opens a new TCP connection for every request (no keep-alive).
--   lua5.4 get_socket.lua BASE_URL N WARMUP API_KEY ID
local util = require("util")
local http = require("socket.http")
local ltn12 = require("ltn12")
local cjson = require("cjson")

local base, n, warm, key, id = arg[1], util.num(2), util.num(3), arg[4], arg[5]
local url = base .. "/campaigns/" .. id
local headers = { ["Accept"] = "application/json", ["X-API-Key"] = key }

local sink = 0
local function one()
  local t = {}
  local ok, code = http.request { url = url, headers = headers, sink = ltn12.sink.table(t) }
  if not ok or code ~= 200 then error("HTTP " .. tostring(code)) end
  local c = cjson.decode(table.concat(t))
  sink = sink + c.creditSettlement.creditCharged
end

for _ = 1, warm do one() end
local t0, c0 = util.now(), os.clock()
for _ = 1, n do one() end
local dt, cpu = util.now() - t0, os.clock() - c0
util.result { us = dt * 1e6 / n, cpu_us = cpu * 1e6 / n, sink = sink, rss_kb = util.rss_kb() }
