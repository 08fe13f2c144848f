--- (b) What a Lua user would write by hand: Lua-cURLv3 (its C binding,
-- `lcurl`, which `cURL` wraps) with one easy handle reused for every request,
-- the body collected from the write callback, decoded with lua-cjson.
--   lua5.4 get_lcurl.lua BASE_URL N WARMUP API_KEY ID
local util = require("util")
local curl = require("lcurl")
local cjson = require("cjson")

local base, n, warm, key, id = arg[1], util.num(2), util.num(3), arg[4], arg[5]
local easy = curl.easy {
  url = base .. "/campaigns/" .. id,
  httpheader = { "Accept: application/json", "X-API-Key: " .. key },
  useragent = "bench-lcurl",
  tcp_nodelay = true,
}
local chunks, nchunks = {}, 0
easy:setopt_writefunction(function(s)
  nchunks = nchunks + 1
  chunks[nchunks] = s
end)

local sink = 0
local function one()
  nchunks = 0
  easy:perform()
  local code = easy:getinfo_response_code()
  if code ~= 200 then error("HTTP " .. tostring(code)) end
  local c = cjson.decode(table.concat(chunks, "", 1, nchunks))
  sink = sink + c.creditSettlement.creditCharged
end

for _ = 1, warm do one() end
local t0, c0 = util.now(), os.clock()
for _ = 1, n do one() end
local dt, cpu = util.now() - t0, os.clock() - c0
util.result { us = dt * 1e6 / n, cpu_us = cpu * 1e6 / n, sink = sink, rss_kb = util.rss_kb() }
