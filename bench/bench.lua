--- The benchmark driver, run by bench/run.sh once nginx is up.
--
-- Every peer runs in its own process (bench/peers/*.lua, bench/c_loop.c), so
-- no peer inherits another's heap or connection. Request-overhead peers run in
-- interleaved rounds (the order rotates each round) and the median of the
-- rounds is reported, which keeps a noisy neighbour on a 2-core machine from
-- favouring one peer. Timing claims are ratios between peers of this run.
local util = require("util")

local getenv = os.getenv
local function env_num(name, default)
  local v = getenv(name)
  if v == nil or v == "" then return default end
  return math.tointeger(tonumber(v)) or error(name .. " must be a whole number")
end

local cfg = {
  base = assert(getenv("BENCH_BASE"), "BENCH_BASE not set: run bench/run.sh"),
  tmp = assert(getenv("BENCH_TMP")),
  c_loop = assert(getenv("BENCH_C_LOOP")),
  c_download = getenv("BENCH_C_DOWNLOAD"),
  resty_http_path = getenv("BENCH_RESTY_HTTP_PATH") or "",
  peers_src = getenv("BENCH_PEERS_SRC") or "",
  or_per_page = env_num("BENCH_OR_PER_PAGE", 100),
  or_pages = env_num("BENCH_OR_PAGES", 20),
  or_wrk_rounds = env_num("BENCH_OR_WRK_ROUNDS", 5),
  or_wrk_seconds = env_num("BENCH_OR_WRK_SECONDS", 3),
  or_long_requests = env_num("BENCH_OR_LONG_REQUESTS", 100000),
  lua = getenv("BENCH_LUA") or "lua5.4",
  have_lcurl = getenv("BENCH_HAVE_LCURL") == "1",
  gen = getenv("BENCH_GEN") or "",
  nginx = getenv("BENCH_NGINX") or "nginx",
  requests = env_num("BENCH_REQUESTS", 2000),
  rounds = env_num("BENCH_ROUNDS", 11),
  warmup = env_num("BENCH_WARMUP", 300),
  socket_requests = env_num("BENCH_SOCKET_REQUESTS", 1000),
  curl_requests = env_num("BENCH_CURL_REQUESTS", 200),
  per_page = env_num("BENCH_PER_PAGE", 1000),
  pages = env_num("BENCH_PAGES", 1000),
  pagination_rounds = env_num("BENCH_PAGINATION_ROUNDS", 3),
  download_rounds = env_num("BENCH_DOWNLOAD_ROUNDS", 3),
  download_dir = getenv("BENCH_DOWNLOAD_DIR"),
  only = getenv("BENCH_ONLY") or "requests pagination download openresty",
  or_requests = env_num("BENCH_OR_REQUESTS", 200),
  or_rounds = env_num("BENCH_OR_ROUNDS", 3),
  profile = getenv("BENCH_PROFILE") == "1",
}
cfg.api = cfg.base .. "/api"
local API_KEY = "sk_test_bench_0123456789abcdef"
local CAMPAIGN_ID = "665f1c2e8b3a4d0012ab34cd"
local EXPORT_ID = "6651e0c0ffee00112233aabb"

local function q(s) return "'" .. tostring(s):gsub("'", "'\\''") .. "'" end

local function capture(cmd)
  local p = assert(io.popen(cmd .. " 2>&1"))
  local out = p:read("a")
  local ok = p:close()
  return out, ok
end

local function first_line(cmd)
  local out = capture(cmd)
  return (out:match("[^\n]*") or ""):gsub("%s+$", "")
end

--- The User-Agent the SDK sends (client:info()), so that the C floor sends
-- the same request bytes (bench/c_loop.c). Asked once, in a child process.
local ua_cache
local function sdk_user_agent()
  if not ua_cache then
    ua_cache = first_line(q(cfg.lua) .. " -e " .. q("print(require('scravio').new{api_key='" .. API_KEY ..
      "', base_url='" .. cfg.api .. "'}:info().user_agent)"))
    assert(ua_cache:match("^scravio%-lua/"), "bench: cannot read the SDK's user agent: " .. ua_cache)
  end
  return ua_cache
end

--- Run a peer; its last output line is key=value pairs. Raises on failure.
local function run(cmd)
  local out, ok = capture(cmd)
  local last = out:match("([^\n]*)\n?$")
  if not ok or not last or not last:find("=") then
    error("benchmark command failed:\n  " .. cmd .. "\n" .. out, 0)
  end
  local t = {}
  for k, v in last:gmatch("(%S+)=(%S+)") do t[k] = tonumber(v) or v end
  return t
end

local function lua_peer(script, ...)
  local args = { q(cfg.lua), q("bench/peers/" .. script) }
  for _, a in ipairs({ ... }) do args[#args + 1] = q(a) end
  return table.concat(args, " ")
end

local function median(xs)
  local s = {}
  for i, x in ipairs(xs) do s[i] = x end
  table.sort(s)
  local n = #s
  if n == 0 then return nil end
  if n % 2 == 1 then return s[(n + 1) // 2] end
  return (s[n // 2] + s[n // 2 + 1]) / 2
end

local function minmax(xs)
  local lo, hi = math.huge, -math.huge
  for _, x in ipairs(xs) do
    if x < lo then lo = x end
    if x > hi then hi = x end
  end
  return lo, hi
end

local function has_module(name)
  local _, ok = capture(q(cfg.lua) .. " -e " .. q("require '" .. name .. "'"))
  return ok
end

local function section(title)
  io.write("\n== ", title, "\n")
end

local verdicts = {}
local function loadavg()
  local f = io.open("/proc/loadavg", "r")
  if not f then return "?" end
  local l = f:read("l"):match("^(%S+ %S+ %S+)") or "?"
  f:close()
  return l
end

--- One target's verdict. value: the best-of-rounds figure (the verdict);
-- med: the median of rounds, shown beside it (nil: one figure only). The
-- load average at the time is printed on the line: a MISS on a busy
-- machine is a measurement, not a verdict on the code.
local function verdict(name, value, op, target, fmt, med)
  local pass
  if value == nil then pass = nil
  elseif op == "<" then pass = value < target
  elseif op == "<=" then pass = value <= target
  elseif op == ">=" then pass = value >= target
  end
  fmt = fmt or "%.2f"
  local shown = value and string.format(fmt, value) or "n/a"
  if med then shown = shown .. " / " .. string.format(fmt, med) end
  verdicts[#verdicts + 1] = string.format("  %-4s %-58s %13s  (target %s %s; load %s)",
    pass == nil and "SKIP" or pass and "PASS" or "MISS", name, shown, op, string.format(fmt, target), loadavg())
end

local function wants(what) return cfg.only:find(what, 1, true) ~= nil end

-- ---- 4. machine and versions ---------------------------------------------------------
local function machine_info()
  section("machine")
  local cpu = "?"
  local f = io.open("/proc/cpuinfo", "r")
  if f then
    cpu = (f:read("a"):match("model name%s*:%s*([^\n]+)") or "?")
    f:close()
  end
  local mem = "?"
  f = io.open("/proc/meminfo", "r")
  if f then
    local kb = tonumber(f:read("a"):match("MemTotal:%s*(%d+)"))
    f:close()
    if kb then mem = string.format("%.1f GiB", kb / 1048576) end
  end
  local cjson_v = first_line(q(cfg.lua) .. " -e " .. q("print(require('cjson')._VERSION)"))
  local lcurl_v = cfg.have_lcurl and (getenv("BENCH_LCURL_DESC") or "Lua-cURLv3") or "Lua-cURLv3 not available"
  local socket_v = has_module("socket.http")
    and first_line(q(cfg.lua) .. " -e " .. q("print(require('socket')._VERSION)")) or "not installed"
  local load = "?"
  f = io.open("/proc/loadavg", "r")
  if f then
    load = f:read("l"):match("^(%S+ %S+ %S+)") or "?"
    f:close()
  end
  local rows = {
    { "cpu", string.format("%s x %s, %s RAM", first_line("nproc"), cpu, mem) },
    { "load", load .. "  (1/5/15 min before the run; other work on the machine adds noise)" },
    { "kernel", first_line("uname -srm") },
    { "lua", first_line(q(cfg.lua) .. " -v") },
    { "scravio", first_line(q(cfg.lua) .. " -e " .. q("print(require('scravio')._VERSION)")) },
    { "libcurl", first_line("curl --version") },
    { "server", cfg.nginx .. ", 1 worker, 127.0.0.1, access_log off" },
    { "peers", string.format("lua-cjson %s, %s, luasocket %s, %s", cjson_v, lcurl_v, socket_v,
      first_line("gcc --version")) },
    { "data", cfg.gen },
  }
  for _, r in ipairs(rows) do io.write(string.format("  %-8s %s\n", r[1], r[2])) end
end

-- ---- 1. request overhead ---------------------------------------------------------------
local function bench_requests()
  section(string.format("1. request overhead: sequential GET /campaigns/{id}, keep-alive; %d requests x %d rounds",
    cfg.requests, cfg.rounds))
  local n, w = cfg.requests, cfg.warmup
  local peers = {
    { key = "sdk", label = "(a) SDK client.campaigns:get -> Campaign",
      cmd = lua_peer("get_sdk.lua", cfg.api, n, w, API_KEY, CAMPAIGN_ID) },
  }
  if cfg.have_lcurl then
    peers[#peers + 1] = { key = "lcurl", label = "(b) Lua-cURLv3 + lua-cjson, one handle",
      cmd = lua_peer("get_lcurl.lua", cfg.api, n, w, API_KEY, CAMPAIGN_ID) }
  end
  peers[#peers + 1] = { key = "c", label = "(c) C libcurl loop, one handle, no decode",
    cmd = table.concat({ q(cfg.c_loop), q(cfg.api .. "/campaigns/" .. CAMPAIGN_ID), n, w, q(API_KEY),
      q(sdk_user_agent()) }, " ") }
  local us, cpu, round_ratio = {}, {}, { b = {}, c = {} }
  for _, p in ipairs(peers) do us[p.key], cpu[p.key] = {}, {} end
  for r = 1, cfg.rounds do
    local this = {}
    for i = 0, #peers - 1 do -- the order rotates, so no peer always runs first
      local p = peers[(r + i - 1) % #peers + 1]
      local t = run(p.cmd)
      table.insert(us[p.key], t.us)
      table.insert(cpu[p.key], t.cpu_us)
      this[p.key] = t.us
    end
    if this.lcurl then table.insert(round_ratio.b, this.sdk / this.lcurl) end
    table.insert(round_ratio.c, this.sdk / this.c)
  end
  -- best = min over rounds: other processes on the machine can only add time,
  -- so the minimum is the closest to each peer's own cost.
  local best, med, bestcpu = {}, {}, {}
  local rows = {}
  for _, p in ipairs(peers) do
    best[p.key] = minmax(us[p.key])
    med[p.key] = median(us[p.key])
    bestcpu[p.key] = minmax(cpu[p.key])
    rows[#rows + 1] = { p.label, best[p.key], med[p.key], bestcpu[p.key] }
  end
  if has_module("socket.http") then
    local sn = cfg.socket_requests
    local t = run(lua_peer("get_socket.lua", cfg.api, sn, math.min(50, sn), API_KEY, CAMPAIGN_ID))
    rows[#rows + 1] = { string.format("(d) luasocket http.request + cjson (%d req)", sn), t.us, nil, t.cpu_us }
  else
    rows[#rows + 1] = { "(d) luasocket: not installed (skipped)" }
  end
  do
    local cn = cfg.curl_requests
    local url = cfg.api .. "/campaigns/" .. CAMPAIGN_ID
    local loop = string.format(
      "i=0; while [ $i -lt %d ]; do curl -s -o /dev/null -H %s -H %s %s || exit 1; i=$((i+1)); done",
      cn, q("Accept: application/json"), q("X-API-Key: " .. API_KEY), q(url))
    local t0 = util.now()
    local ok = os.execute(loop)
    local dt = util.now() - t0
    if not ok then error("the curl-per-request loop failed", 0) end
    rows[#rows + 1] = { string.format("(e) one curl process per request (%d req)", cn), dt * 1e6 / cn }
  end
  local function f1(v) return v and string.format("%.1f", v) or "-" end
  local function f2(v) return v and string.format("%.2f", v) or "-" end
  io.write(string.format("  %-48s %9s %9s %8s %8s %10s\n", "peer", "best us", "median us", "x (c)", "x (b)",
    "client CPU"))
  for _, row in ipairs(rows) do
    local v = row[2]
    io.write(string.format("  %-48s %9s %9s %8s %8s %10s\n", row[1], f1(v), f1(row[3]),
      f2(v and v / best.c), f2(v and best.lcurl and v / best.lcurl), row[4] and f1(row[4]) .. " us" or "-"))
  end
  local sdk_b = best.lcurl and best.sdk / best.lcurl or nil
  local sdk_c = best.sdk / best.c
  io.write(string.format("  best-of-rounds: SDK/(b) = %s  SDK/(c) = %.2f  (SDK - C loop = %.1f us/request)\n",
    f2(sdk_b), sdk_c, best.sdk - best.c))
  io.write(string.format("  median of per-round ratios: SDK/(b) = %s  SDK/(c) = %.2f\n",
    f2(median(round_ratio.b)), median(round_ratio.c)))
  verdict("1. request: SDK / Lua-cURLv3+cjson (best / median)", sdk_b, "<", 0.85, nil, median(round_ratio.b))
  verdict("1. request: SDK / C libcurl loop (best / median)", sdk_c, "<=", 1.10, nil, median(round_ratio.c))
end

-- ---- 2. pagination ---------------------------------------------------------------------
local function bench_pagination()
  local total = cfg.per_page * cfg.pages
  section(string.format("2. pagination: all %d leads of a campaign, %d pages of perPage=%d, %d round(s)",
    total, cfg.pages, cfg.per_page, cfg.pagination_rounds))
  local peers = { { key = "sdk", label = "(a) SDK campaign:leads{} iterator", script = "leads_sdk.lua" } }
  if cfg.have_lcurl then
    peers[#peers + 1] = { key = "hand", label = "(b) page loop, Lua-cURLv3 + lua-cjson", script = "leads_lcurl.lua" }
  end
  -- (c) the floor: the same pages transferred by a C libcurl loop, nothing decoded
  local page_url = cfg.api .. "/campaigns/" .. CAMPAIGN_ID .. "/leads?perPage=" .. cfg.per_page .. "&page=%ld"
  peers[#peers + 1] = { key = "c", label = "(c) C libcurl loop, same pages, no decode",
    cmd = table.concat({ q(cfg.c_loop), q(page_url), cfg.pages, 0, q(API_KEY), q(sdk_user_agent()) }, " ") }
  local best, rate, ratio = {}, {}, { hand = {}, c = {} }
  for _, p in ipairs(peers) do rate[p.key] = {} end
  for r = 1, cfg.pagination_rounds do
    local this = {}
    for i = 0, #peers - 1 do
      local p = peers[(r + i - 1) % #peers + 1]
      local t
      if p.cmd then
        t = run(p.cmd)
        t.leads_per_s = cfg.per_page * 1e6 / t.us
        t.seconds = t.us * cfg.pages / 1e6
      else
        t = run(lua_peer(p.script, cfg.api, API_KEY, CAMPAIGN_ID, cfg.per_page))
        if t.leads ~= total then error(string.format("pagination walked %d leads, expected %d", t.leads, total), 0) end
        t.growth_kb = t.rss_peak_kb - t.rss_start_kb
      end
      this[p.key] = t.leads_per_s
      table.insert(rate[p.key], t.leads_per_s)
      local b = best[p.key]
      if not b then best[p.key] = t
      else -- keep the fastest run, but the worst memory growth seen
        local growth = b.growth_kb and math.max(b.growth_kb, t.growth_kb)
        if t.leads_per_s > b.leads_per_s then best[p.key] = t end
        best[p.key].growth_kb = growth
      end
    end
    if this.hand then table.insert(ratio.hand, this.sdk / this.hand) end
    table.insert(ratio.c, this.sdk / this.c)
  end
  local function mb(kb) return kb / 1024 end
  io.write(string.format("  %-42s %10s %10s %8s %9s %9s %9s %9s\n", "peer (fastest round; worst growth)", "leads/s",
    "median", "seconds", "RSS start", "1st page", "peak", "growth"))
  for _, p in ipairs(peers) do
    local t = best[p.key]
    if t.growth_kb then
      io.write(string.format("  %-42s %10.0f %10.0f %8.2f %7.1fMB %7.1fMB %7.1fMB %7.1fMB\n", p.label, t.leads_per_s,
        median(rate[p.key]), t.seconds, mb(t.rss_start_kb), mb(t.rss_first_page_kb), mb(t.rss_peak_kb),
        mb(t.growth_kb)))
    else
      io.write(string.format("  %-42s %10.0f %10.0f %8.2f\n", p.label, t.leads_per_s, median(rate[p.key]), t.seconds))
    end
  end
  local sdk, hand = best.sdk, best.hand
  io.write(string.format("  SDK: RSS growth after its first page %.1f MB; Lua heap at the end %.1f MB\n",
    mb(sdk.rss_peak_kb - sdk.rss_first_page_kb), mb(sdk.lua_heap_kb)))
  local to_c = sdk.leads_per_s / best.c.leads_per_s
  io.write(string.format("  SDK pages/s / C transfer-only loop: best %.2f, median of rounds %.2f\n", to_c,
    median(ratio.c)))
  if hand then
    io.write(string.format("  SDK leads/s / hand-written loop: best %.2f, median of rounds %.2f\n",
      sdk.leads_per_s / hand.leads_per_s, median(ratio.hand)))
  end
  verdict(string.format("2. pagination: SDK RSS growth over %d leads (MB)", total), mb(sdk.growth_kb), "<", 2,
    "%.1f")
  verdict("2. pagination: SDK pages/s / C transfer-only loop", to_c, ">=", 0.9, nil, median(ratio.c))
  verdict("2. pagination: SDK leads/s / hand-written loop (>=1.25)",
    hand and sdk.leads_per_s / hand.leads_per_s or nil, ">=", 1.25, nil, hand and median(ratio.hand))
end

-- ---- 3. download -----------------------------------------------------------------------
local function bench_download()
  local url = cfg.base .. "/files/export.bin"
  local dir = cfg.download_dir or (cfg.tmp .. "/out")
  local out = dir .. "/scravio-bench-download.bin"
  section(string.format("3. download: one file streamed to %s, %d rounds", dir, cfg.download_rounds))
  -- the source file into the page cache first, so no round pays for that
  if not os.execute("curl -s -o /dev/null " .. q(url)) then error("curl could not fetch " .. url, 0) end
  local secs, peaks, via, bytes = { sdk = {}, curl = {}, c = {} }, { sdk = {}, c = {} }, nil, nil
  local ratio = { curl = {}, c = {} }
  local steps = {
    sdk = function()
      local t = run(lua_peer("download_sdk.lua", cfg.api, API_KEY, EXPORT_ID, url, out))
      via, bytes = t.via, t.bytes
      table.insert(peaks.sdk, t.rss_peak_kb - t.rss_start_kb)
      return t.seconds
    end,
    curl = function()
      local t0 = util.now()
      local ok = os.execute("curl -s -o " .. q(out) .. " " .. q(url))
      local dt = util.now() - t0
      if not ok then error("curl -o failed", 0) end
      return dt
    end,
    c = cfg.c_download and function()
      local t = run(q(cfg.c_download) .. " " .. q(url) .. " " .. q(out))
      table.insert(peaks.c, t.rss_peak_kb - t.rss_start_kb)
      return t.seconds
    end or nil,
  }
  local order = { "sdk", "curl", "c" }
  if not steps.c then order[3] = nil end
  for r = 1, cfg.download_rounds do
    local this = {}
    for i = 0, #order - 1 do -- the order rotates, so no peer always runs first
      local key = order[(r + i - 1) % #order + 1]
      local dt = steps[key]()
      os.remove(out)
      this[key] = dt
      table.insert(secs[key], dt)
    end
    table.insert(ratio.curl, this.sdk / this.curl)
    if this.c then table.insert(ratio.c, this.sdk / this.c) end
  end
  local mib = bytes / 1048576
  local function worst(xs) return xs[1] and select(2, minmax(xs)) / 1024 end
  io.write(string.format("  %-44s %8s %9s %8s %8s %12s\n", "peer", "best s", "median s", "MiB/s", "median", "RSS growth"))
  local rows = { { "sdk", "(a) SDK " .. via }, { "curl", "(b) curl -s -o (one process)" },
    { "c", "(c) C libcurl loop, 512 KiB buffer, write(2)" } }
  for _, row in ipairs(rows) do
    local xs = secs[row[1]]
    if xs[1] then
      local b, m = minmax(xs), median(xs)
      local g = peaks[row[1]] and worst(peaks[row[1]])
      io.write(string.format("  %-44s %8.3f %9.3f %8.0f %8.0f %12s\n", row[2], b, m, mib / b, mib / m,
        g and string.format("%.1fMB", g) or "-"))
    end
  end
  local sb, cb = minmax(secs.sdk), minmax(secs.curl)
  local sm, cm = median(secs.sdk), median(secs.curl)
  io.write(string.format("  %.0f MiB; SDK/curl time: best %.2f, median %.2f (median of per-round ratios %.2f)\n",
    mib, sb / cb, sm / cm, median(ratio.curl)))
  if secs.c[1] then
    io.write(string.format("  SDK/C floor time: best %.2f, median %.2f (median of per-round ratios %.2f)\n",
      sb / minmax(secs.c), sm / median(secs.c), median(ratio.c)))
  end
  -- MB/s at least curl's = time at most curl's, in the best AND the median round
  verdict("3. download: SDK time / curl -o time (best / median)", sb / cb, "<=", 1.0, nil, sm / cm)
  verdict("3. download: SDK time / curl -o time, median round", sm / cm, "<=", 1.0)
  verdict("3. download: SDK peak RSS growth (MB)", worst(peaks.sdk), "<", 5, "%.1f")
end

-- ---- 4b. OpenResty: the SDK against lua-resty-http in one worker -------------------------
local function list(v)
  local t = {}
  for x in tostring(v):gmatch("[^,]+") do t[#t + 1] = tonumber(x) end
  return t
end

local function bench_openresty_peer()
  section(string.format("4b. OpenResty: SDK vs lua-resty-http + lua-cjson in one nginx worker (LuaJIT), wrk -c2, " ..
    "%d interleaved rounds of %d s", cfg.or_wrk_rounds, cfg.or_wrk_seconds))
  local labels = {
    get = { "GET campaigns:get vs request_uri + cjson.decode", "4. OpenResty GET: SDK / resty-http, worker CPU per call", 0.60 },
    pages = { string.format("%d pages perPage=%d: leads{} vs request_uri + cjson + loop", cfg.or_pages,
      cfg.or_per_page), "4. OpenResty pages: SDK / resty-http, worker CPU per call", 0.50 },
  }
  if cfg.resty_http_path == "" or not select(2, capture("command -v wrk")) then
    io.write("  SKIP: ", cfg.resty_http_path == "" and "lua-resty-http not found (no shared/peers, no RESTY_HTTP_PATH)"
      or "wrk is not installed (apt-get install wrk)", "\n")
    for _, k in ipairs({ "get", "pages" }) do verdict(labels[k][2], nil, "<=", labels[k][3]) end
    verdict("4. OpenResty: worker RSS growth over the long run (MB)", nil, "<", 0.5, "%.2f")
    return
  end
  local t = run(table.concat({ "LUA_PATH=" .. q("./bench/?.lua;./lua/?.lua;./lua/?/init.lua;./?.lua;;"),
    "LUA_CPATH=" .. q("./build/lua5.4/?.so;;"), q(cfg.lua), "bench/peers/openresty_wrk.lua", q(cfg.api),
    q(API_KEY), q(CAMPAIGN_ID), cfg.or_per_page, cfg.or_pages, q(cfg.resty_http_path), cfg.or_wrk_rounds,
    cfg.or_wrk_seconds, cfg.or_long_requests }, " "))
  -- The verdict is the worker's CPU per call (what a call costs the worker,
  -- whatever else the 2 cores run: wrk and the API server share them); the
  -- wall-clock ratio from wrk's requests/s is printed beside it.
  io.write(string.format("  %-58s %9s %9s %9s %8s %8s %8s\n", "row (best rounds)", "SDK rps", "peer rps",
    "wall x", "SDK cpu", "peer cpu", "cpu x"))
  for _, k in ipairs({ "get", "pages" }) do
    local sdk, peer, ratios = list(t[k .. "_sdk_rps"]), list(t[k .. "_peer_rps"]), list(t[k .. "_ratios"])
    local sdk_cpu, peer_cpu = minmax(list(t[k .. "_sdk_cpu_us"])), minmax(list(t[k .. "_peer_cpu_us"]))
    local _, sdk_best = minmax(sdk)
    local _, peer_best = minmax(peer)
    local cpu_x = sdk_cpu / peer_cpu
    io.write(string.format("  %-58s %9.1f %9.1f %9.2f %6.0fus %6.0fus %8.2f\n", labels[k][1], sdk_best, peer_best,
      peer_best / sdk_best, sdk_cpu, peer_cpu, cpu_x))
    io.write(string.format("  %-58s %9s %9s %9.2f %8s %8s %8.2f\n", "  (median of per-round ratios)", "", "",
      median(ratios), "", "", median(list(t[k .. "_cpu_ratios"]))))
    verdict(labels[k][2], cpu_x, "<=", labels[k][3], nil, median(list(t[k .. "_cpu_ratios"])))
  end
  local growth = (t.rss_end_kb - t.rss_warm_kb) / 1024
  io.write(string.format("  worker RSS over %d more SDK GETs: %.1f MB after the rows -> %.1f MB (samples, kB: %s)\n",
    t.long_requests, t.rss_warm_kb / 1024, t.rss_end_kb / 1024, t.rss_samples_kb))
  verdict(string.format("4. OpenResty: worker RSS growth over %d GETs (MB)", t.long_requests), growth, "<", 0.5,
    "%.2f")
end

-- ---- optional: where the SDK's time goes -------------------------------------------------
-- ---- 4. OpenResty: one worker, many slow API calls at once -----------------------------
local function bench_openresty()
  local n, delay = cfg.or_requests, 0.1
  section(string.format("4. OpenResty: %d concurrent requests into one nginx worker, each an SDK call the API " ..
    "answers after %.0f ms, %d rounds", n, delay * 1000, cfg.or_rounds))
  local _, lua_module = capture("ls /usr/share/nginx/modules/ngx_http_lua_module.so")
  if not lua_module then
    io.write("  SKIP: nginx's Lua module is not installed (make deps installs libnginx-mod-http-lua)\n")
    verdict("4. OpenResty: all requests done (seconds)", nil, "<", 0.5)
    return
  end
  local t = run(table.concat({ "LUA_PATH=" .. q("./bench/?.lua;./lua/?.lua;./lua/?/init.lua;./?.lua;;"),
    "LUA_CPATH=" .. q("./build/lua5.4/?.so;;"), q(cfg.lua), "bench/peers/openresty_concurrency.lua",
    n, delay, cfg.or_rounds }, " "))
  io.write(string.format("  %-52s %8s %10s\n", "peer (best round)", "seconds", "answered"))
  io.write(string.format("  %-52s %8.3f %10s\n", "(a) through the SDK in one nginx worker (cosockets)", t.sdk_s,
    t.answered .. "/" .. n))
  io.write(string.format("  %-52s %8.3f %10s\n", "(b) the same requests straight to the API (the floor)",
    t.direct_s, ""))
  io.write(string.format("  blocking would take about %d x %.1f s = %.0f s; SDK/(b) = %.2f\n", n, delay, n * delay,
    t.sdk_s / t.direct_s))
  verdict("4. OpenResty: all requests done (seconds)", t.answered == n and t.sdk_s or nil, "<", 0.5, "%.3f")
  bench_openresty_peer()
end

local function profile()
  section("profile (BENCH_PROFILE=1): perf, SDK processes, self time by function")
  if not select(2, capture("command -v perf")) then
    io.write("  perf not installed (apt-get install linux-perf): skipped\n")
    return
  end
  local data = cfg.tmp .. "/perf.data"
  local jobs = {
    { "GET /campaigns/{id} loop",
      lua_peer("get_sdk.lua", cfg.api, cfg.requests * 5, cfg.warmup, API_KEY, CAMPAIGN_ID) },
    { "leads iterator", lua_peer("leads_sdk.lua", cfg.api, API_KEY, CAMPAIGN_ID, cfg.per_page) },
  }
  for _, job in ipairs(jobs) do
    local _, ok = capture("perf record -q -F 2999 -o " .. q(data) .. " -- " .. job[2])
    if not ok then
      io.write("  perf record failed (perf_event_paranoid?): skipped\n")
      return
    end
    io.write("  -- ", job[1], ": share of samples by library\n")
    local by_dso = capture("perf report -i " .. q(data) ..
      " --stdio --no-children --sort dso --percent-limit 0.5 2>/dev/null")
    for line in by_dso:gmatch("[^\n]+") do
      if line:match("^%s+%d") then io.write("    ", line:gsub("%s+$", ""), "\n") end
    end
    io.write("     top functions (a stripped lua5.4 shows addresses: interpreter, GC, string interning)\n")
    local rep = capture("perf report -i " .. q(data) ..
      " --stdio --no-children --sort dso,symbol --percent-limit 1 2>/dev/null")
    local n = 0
    for line in rep:gmatch("[^\n]+") do
      if line:match("^%s+%d") and n < 16 then
        io.write("    ", (line:gsub("%s+%-%s+%-%s*$", "")), "\n")
        n = n + 1
      end
    end
    os.remove(data)
  end
end

-- ---- main ------------------------------------------------------------------------------------
local started = util.now()
machine_info()
if wants("requests") then bench_requests() end
if wants("pagination") then bench_pagination() end
if wants("download") then bench_download() end
if wants("openresty") then bench_openresty() end
if cfg.profile then profile() end
section("targets (DESIGN.md \"Performance targets\"; ratios from this run)")
for _, v in ipairs(verdicts) do io.write(v, "\n") end
io.write(string.format("\nbench: done in %.0f s; MISS lines are findings, not failures.\n", util.now() - started))
