--- The OpenResty rows: the SDK against lua-resty-http + lua-cjson inside ONE
-- nginx worker (bench/openresty/), driven by wrk in interleaved rounds (the
-- order rotates each round). Then a long run of SDK GETs with the worker's
-- RSS read from /proc after each round.
--   lua5.4 openresty_wrk.lua API_URL API_KEY CAMPAIGN_ID PER_PAGE PAGES RESTY_HTTP_PATH ROUNDS SECONDS LONG_REQUESTS
-- Runs from the repository root (LUA_PATH must reach bench/ and spec/).
-- Prints one line of key=value: <row>_best / <row>_median (requests/s),
-- <row>_ratios (per-round SDK/peer time, comma-separated), rss_* (kB), long_requests.
local util = require("util")
local ctl = require("spec.openresty.nginx_ctl")

local api, key, id = arg[1], arg[2], arg[3]
local per_page, pages = util.num(4), util.num(5)
local resty_path, rounds, seconds, long_requests = arg[6], util.num(7), util.num(8), util.num(9)

local function q(s) return "'" .. tostring(s):gsub("'", "'\\''") .. "'" end

local function sh(cmd)
  local p = assert(io.popen(cmd .. " 2>&1"))
  local out = p:read("a")
  local ok = p:close()
  return out, ok
end

local nginx
local function wrk(path, secs, conns)
  local out, ok = sh(string.format("env -u LD_PRELOAD wrk -t1 -c%d -d%ds %s", conns or 2, secs, q(nginx:url(path))))
  local rps = tonumber(out:match("Requests/sec:%s*([%d%.]+)"))
  local total = tonumber(out:match("(%d+) requests in"))
  if not ok or not rps or out:find("Non%-2xx") then
    error("wrk " .. path .. " failed:\n" .. out .. "\n" .. nginx:error_log():sub(-2000), 0)
  end
  return rps, total
end

local function worker_rss_kb()
  local pids = sh("ps -o pid= --ppid " .. nginx.pid)
  local kb = 0
  for pid in pids:gmatch("%d+") do
    local f = io.open("/proc/" .. pid .. "/status", "r")
    if f then
      kb = kb + (tonumber(f:read("a"):match("VmRSS:%s*(%d+) kB")) or 0)
      f:close()
    end
  end
  return kb
end

local ok, err = pcall(function()
  nginx = ctl.start({
    template = "bench/openresty/nginx.conf.tmpl",
    vars = { RESTY_HTTP_PATH = resty_path },
    config_module = "openresty_bench_config",
    config = { api = api, api_key = key, campaign_id = id, per_page = per_page, pages = pages },
  })
  local rows = { "get", "pages" }
  local res = {}
  for _, row in ipairs(rows) do
    -- warm up both sides: code loaded, connections pooled, JIT traces made
    wrk("/sdk/" .. row, 1)
    wrk("/peer/" .. row, 1)
    local sdk, peer, ratio = {}, {}, {}
    for r = 1, rounds do
      local a, b
      if r % 2 == 1 then
        a = wrk("/sdk/" .. row, seconds)
        b = wrk("/peer/" .. row, seconds)
      else
        b = wrk("/peer/" .. row, seconds)
        a = wrk("/sdk/" .. row, seconds)
      end
      sdk[#sdk + 1], peer[#peer + 1], ratio[#ratio + 1] = a, b, string.format("%.3f", b / a)
    end
    res[row .. "_sdk"], res[row .. "_peer"], res[row .. "_ratios"] = sdk, peer, table.concat(ratio, ",")
  end
  -- The long run: SDK GETs until long_requests are done, RSS after each round.
  local done, samples = 0, {}
  local rss_warm = worker_rss_kb()
  while done < long_requests do
    local _, total = wrk("/sdk/get", seconds, 2)
    done = done + total
    samples[#samples + 1] = worker_rss_kb()
  end
  local out = {
    rss_warm_kb = rss_warm, rss_end_kb = samples[#samples], rss_samples_kb = table.concat(samples, ","),
    long_requests = done,
  }
  for _, row in ipairs(rows) do
    out[row .. "_sdk_rps"] = table.concat(res[row .. "_sdk"], ",")
    out[row .. "_peer_rps"] = table.concat(res[row .. "_peer"], ",")
    out[row .. "_ratios"] = res[row .. "_ratios"]
  end
  nginx:stop()
  nginx = nil
  util.result(out)
end)
if nginx then nginx:stop() end
if not ok then
  io.stderr:write(tostring(err), "\n")
  os.exit(1)
end
