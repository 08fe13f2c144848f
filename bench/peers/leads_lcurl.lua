--- 2. Pagination by hand: a page loop with Lua-cURLv3 (one easy handle) and
-- lua-cjson, walking pages until currentPage reaches totalPages.
--   lua5.4 leads_lcurl.lua BASE_URL API_KEY ID PER_PAGE
local util = require("util")
local curl = require("lcurl")
local cjson = require("cjson")

local base, key, id, per_page = arg[1], arg[2], arg[3], util.num(4)
local null = cjson.null
local easy = curl.easy {
  httpheader = { "Accept: application/json", "X-API-Key: " .. key },
  useragent = "bench-lcurl",
  tcp_nodelay = true,
}
local chunks, nchunks = {}, 0
easy:setopt_writefunction(function(s)
  nchunks = nchunks + 1
  chunks[nchunks] = s
end)
local function get(url)
  nchunks = 0
  easy:setopt_url(url)
  easy:perform()
  local code = easy:getinfo_response_code()
  if code ~= 200 then error("HTTP " .. tostring(code) .. " for " .. url) end
  local body = cjson.decode(table.concat(chunks, "", 1, nchunks))
  for i = 1, nchunks do chunks[i] = nil end
  return body
end

collectgarbage("collect")
local rss_start = util.rss_kb()
util.reset_peak()
local peak, rss_first = rss_start, nil
local count, emails = 0, 0
local prefix = base .. "/campaigns/" .. id .. "/leads?perPage=" .. per_page .. "&page="
local t0 = util.now()
local page = 1
while true do
  local body = get(prefix .. page)
  local items = body.items
  for i = 1, #items do
    count = count + 1
    if items[i].email ~= null then emails = emails + 1 end
  end
  local r = util.rss_kb()
  if r > peak then peak = r end
  rss_first = rss_first or r
  local p = body.pagination
  if #items == 0 or p.currentPage >= p.totalPages then break end
  page = page + 1 -- (lua-cjson decodes every number as a float: 2.0 would not do in a URL)
end
local dt = util.now() - t0
local rss_end = util.rss_kb()
local hwm = util.peak_kb() or peak
if hwm > peak then peak = hwm end
util.result {
  leads = count, emails = emails, seconds = dt, leads_per_s = count / dt,
  rss_start_kb = rss_start, rss_first_page_kb = rss_first or rss_end, rss_peak_kb = peak,
  rss_end_kb = rss_end, lua_heap_kb = math.floor(collectgarbage("count")),
}
