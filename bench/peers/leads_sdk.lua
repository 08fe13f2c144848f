--- 2. Pagination through the SDK: every lead of a campaign via campaign:leads{},
-- with the process's RSS sampled once per page.
--   lua5.4 leads_sdk.lua BASE_URL API_KEY ID PER_PAGE
local util = require("util")
local scravio = require("scravio")

local base, key, id, per_page = arg[1], arg[2], arg[3], util.num(4)
local client = assert(scravio.new { api_key = key, base_url = base, max_retries = 0 })
local campaign = assert(client.campaigns:get(id))

collectgarbage("collect")
local rss_start = util.rss_kb()
util.reset_peak()
local peak, rss_first = rss_start, nil
local count, emails = 0, 0
local t0 = util.now()
for lead in campaign:leads { perPage = per_page } do
  count = count + 1
  if lead.email then emails = emails + 1 end -- JSON null reads as nil
  if count % per_page == 0 then
    local r = util.rss_kb()
    if r > peak then peak = r end
    rss_first = rss_first or r
  end
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
