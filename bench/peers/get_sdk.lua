--- (a) The SDK's full path: client.campaigns:get(id) -> Campaign userdata
-- (id check, URL build, libcurl transfer on a kept-alive handle, JSON decode,
-- error classification, wrapping).
--   lua5.4 get_sdk.lua BASE_URL N WARMUP API_KEY ID
local util = require("util")
local scravio = require("scravio")

local base, n, warm, key, id = arg[1], util.num(2), util.num(3), arg[4], arg[5]
local client = assert(scravio.new { api_key = key, base_url = base, max_retries = 0 })
local campaigns = client.campaigns

local sink = 0
local function one()
  local c, err = campaigns:get(id)
  if not c then error(tostring(err)) end
  sink = sink + c.creditSettlement.creditCharged -- touch a nested field, as a caller would
end

for _ = 1, warm do one() end
local t0, c0 = util.now(), os.clock()
for _ = 1, n do one() end
local dt, cpu = util.now() - t0, os.clock() - c0
util.result { us = dt * 1e6 / n, cpu_us = cpu * 1e6 / n, sink = sink, rss_kb = util.rss_kb() }
