--- The OpenResty rows of `make bench`: four handlers in one nginx worker,
-- driven by wrk (bench/peers/openresty_wrk.lua). Each answers "ok" after
-- its work, so wrk measures the worker's cost per call.
--   /sdk/get     client.campaigns:get(id) + one nested field (cosockets)
--   /peer/get    lua-resty-http request_uri + lua-cjson, the same field
--   /sdk/pages   every lead of campaign:leads{perPage = N}, lead.email read
--   /peer/pages  the same pages by request_uri + cjson.decode + a Lua loop over items
local cfg = require("openresty_bench_config")

local M = {}

local API_KEY = cfg.api_key
local client, campaign

local function sdk()
  if not client then
    local scravio = require("scravio")
    client = assert(scravio.new { api_key = API_KEY, base_url = cfg.api, max_retries = 0 })
    campaign = require("scravio.core").wrap("Campaign", { _id = cfg.campaign_id }, client)
  end
  return client, campaign
end

local http, cjson
local function peer()
  if not http then
    http = require("resty.http")
    cjson = require("cjson")
  end
  return http, cjson
end

local HEADERS = { ["Accept"] = "application/json", ["X-API-Key"] = API_KEY }

local function peer_get(url)
  local h = peer()
  local httpc = h.new()
  local res, err = httpc:request_uri(url, { headers = HEADERS, keepalive_timeout = 60000, keepalive_pool = 16 })
  if not res then error("lua-resty-http: " .. tostring(err)) end
  if res.status ~= 200 then error("lua-resty-http: HTTP " .. res.status) end
  return cjson.decode(res.body)
end

local handlers = {}

handlers["/sdk/get"] = function()
  local c = sdk()
  local camp, err = c.campaigns:get(cfg.campaign_id)
  if not camp then error(tostring(err)) end
  return camp.creditSettlement.creditCharged
end

handlers["/peer/get"] = function()
  local body = peer_get(cfg.api .. "/campaigns/" .. cfg.campaign_id)
  return body.creditSettlement.creditCharged
end

handlers["/sdk/pages"] = function()
  local _, camp = sdk()
  local n, emails = 0, 0
  for lead in camp:leads { perPage = cfg.per_page } do
    n = n + 1
    if lead.email then emails = emails + 1 end
  end
  if n ~= cfg.per_page * cfg.pages then error("SDK walked " .. n .. " leads") end
  return emails
end

handlers["/peer/pages"] = function()
  peer()
  local null = cjson.null
  local prefix = cfg.api .. "/campaigns/" .. cfg.campaign_id .. "/leads?perPage=" .. cfg.per_page .. "&page="
  local n, emails, page = 0, 0, 1
  while true do
    local body = peer_get(prefix .. page)
    local items = body.items
    for i = 1, #items do
      n = n + 1
      if items[i].email ~= null then emails = emails + 1 end
    end
    local p = body.pagination
    if #items == 0 or p.currentPage >= p.totalPages then break end
    page = page + 1
  end
  if n ~= cfg.per_page * cfg.pages then error("peer walked " .. n .. " leads") end
  return emails
end

-- by path, for profiling a handler in a loop (callgrind, jit.v)
M.handlers = handlers

function M.content()
  local h = handlers[ngx.var.uri]
  if not h then return ngx.exit(404) end
  local ok, err = pcall(h)
  if not ok then
    ngx.log(ngx.ERR, "bench handler ", ngx.var.uri, ": ", tostring(err))
    return ngx.exit(500)
  end
  ngx.print("ok")
end

return M
