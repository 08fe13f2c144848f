--- The OpenResty rows: the SDK against lua-resty-http + lua-cjson inside ONE
-- nginx worker (bench/openresty/), driven by wrk in interleaved rounds (the
-- order rotates each round). Then a long run of SDK GETs with the worker's
-- RSS read from /proc after each round.
--   lua5.4 openresty_wrk.lua API_URL API_KEY CAMPAIGN_ID PER_PAGE PAGES RESTY_HTTP_PATH ROUNDS SECONDS LONG_REQUESTS
-- Runs from the repository root (LUA_PATH must reach bench/ and spec/).
-- Prints one line of key=value, lists comma-separated per round: <row>_sdk_rps,
-- <row>_peer_rps (wrk requests/s), <row>_ratios (SDK/peer wall time per call),
-- <row>_sdk_cpu_us, <row>_peer_cpu_us (the worker's CPU per call, from
-- /proc/<pid>/stat), <row>_cpu_ratios, rss_* (kB), long_requests.
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

local function worker_pids()
  local pids = {}
  for pid in sh("ps -o pid= --ppid " .. nginx.pid):gmatch("%d+") do pids[#pids + 1] = pid end
  return pids
end

-- CPU seconds (user + system) the worker has used: /proc/<pid>/stat fields 14 and 15.
local TICK = tonumber((sh("getconf CLK_TCK"))) or 100
local function worker_cpu_s()
  local ticks = 0
  for _, pid in ipairs(worker_pids()) do
    local f = io.open("/proc/" .. pid .. "/stat", "r")
    if f then
      local rest = f:read("a"):match("%) (.*)$") -- after the command name, which may hold spaces
      f:close()
      local fields = {}
      for x in rest:gmatch("%S+") do fields[#fields + 1] = x end
      ticks = ticks + tonumber(fields[12]) + tonumber(fields[13]) -- utime, stime (fields 14, 15 of the line)
    end
  end
  return ticks / TICK
end

--- wrk on one handler -> requests/s, requests, the worker's CPU microseconds per request
local function wrk(path, secs, conns)
  local cpu0 = worker_cpu_s()
  local out, ok = sh(string.format("env -u LD_PRELOAD wrk -t1 -c%d -d%ds %s", conns or 2, secs, q(nginx:url(path))))
  local rps = tonumber(out:match("Requests/sec:%s*([%d%.]+)"))
  local total = tonumber(out:match("(%d+) requests in"))
  if not ok or not rps or out:find("Non%-2xx") then
    error("wrk " .. path .. " failed:\n" .. out .. "\n" .. nginx:error_log():sub(-2000), 0)
  end
  return rps, total, (worker_cpu_s() - cpu0) * 1e6 / total
end

local function worker_rss_kb()
  local kb = 0
  for _, pid in ipairs(worker_pids()) do
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
    local sdk, peer, ratio, sdk_cpu, peer_cpu, cpu_ratio = {}, {}, {}, {}, {}, {}
    for r = 1, rounds do
      local a, b, ac, bc, _
      if r % 2 == 1 then
        a, _, ac = wrk("/sdk/" .. row, seconds)
        b, _, bc = wrk("/peer/" .. row, seconds)
      else
        b, _, bc = wrk("/peer/" .. row, seconds)
        a, _, ac = wrk("/sdk/" .. row, seconds)
      end
      sdk[#sdk + 1], peer[#peer + 1], ratio[#ratio + 1] = a, b, string.format("%.3f", b / a)
      sdk_cpu[#sdk_cpu + 1], peer_cpu[#peer_cpu + 1] = string.format("%.1f", ac), string.format("%.1f", bc)
      cpu_ratio[#cpu_ratio + 1] = string.format("%.3f", ac / bc)
    end
    res[row .. "_sdk"], res[row .. "_peer"], res[row .. "_ratios"] = sdk, peer, table.concat(ratio, ",")
    res[row .. "_sdk_cpu"], res[row .. "_peer_cpu"] = table.concat(sdk_cpu, ","), table.concat(peer_cpu, ",")
    res[row .. "_cpu_ratios"] = table.concat(cpu_ratio, ",")
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
    out[row .. "_sdk_cpu_us"], out[row .. "_peer_cpu_us"] = res[row .. "_sdk_cpu"], res[row .. "_peer_cpu"]
    out[row .. "_cpu_ratios"] = res[row .. "_cpu_ratios"]
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
