--- DESIGN.md target 4: N concurrent requests into ONE nginx worker, each of
-- which makes an SDK call (client:me() over cosockets) that the API answers
-- only after DELAY seconds. If the SDK blocked the worker, the calls would
-- queue and take N x DELAY; with cosockets they overlap and all finish in
-- about DELAY.
--
-- Peers, measured in the same run with the same client (one curl process
-- sending N requests at once):
--   (a) through the SDK in one nginx worker (spec/openresty handlers, /me)
--   (b) the same N requests sent straight to the fake API, which delays them
--       the same way: the floor (client, loopback and server cost)
--
--   lua5.4 openresty_concurrency.lua N DELAY ROUNDS
-- Runs from the repository root (LUA_PATH must reach lua/, spec/ and bench/).
local util = require("util")
local fake = require("spec.support.fake_server")
local ctl = require("spec.openresty.nginx_ctl")

local n, delay, rounds = tonumber(arg[1]) or 200, tonumber(arg[2]) or 0.1, tonumber(arg[3]) or 3

local function q(s) return "'" .. tostring(s):gsub("'", "'\\''") .. "'" end

--- Send `n` GETs at once with one curl process; -> seconds, number answered 200.
local function burst(url, headers)
  local cfg = os.tmpname()
  local f = assert(io.open(cfg, "w"))
  for _ = 1, n do
    f:write("url = ", string.format("%q", url), "\n", "output = \"/dev/null\"\n")
  end
  f:close()
  local hdr = ""
  for _, h in ipairs(headers or {}) do hdr = hdr .. " -H " .. q(h) end
  local cmd = "env -u LD_PRELOAD curl -s --parallel --parallel-immediate --parallel-max " .. n ..
    " --max-time 60 -w '%{http_code}\\n'" .. hdr .. " -K " .. q(cfg) .. " 2>/dev/null"
  local t0 = util.now()
  local p = assert(io.popen(cmd))
  local out = p:read("a")
  p:close()
  local dt = util.now() - t0
  os.remove(cfg)
  local ok = 0
  for code in out:gmatch("(%d+)\n") do
    if code == "200" then ok = ok + 1 end
  end
  return dt, ok
end

local srv, nginx
local function cleanup()
  if nginx then nginx:stop() end
  if srv then srv:stop() end
end

local ok, err = pcall(function()
  srv = fake.start()
  srv:fault({ method = "GET", path = "/auth/me", kind = "slow", delay = delay, count = -1 })
  nginx = ctl.start({
    template = "spec/openresty/nginx.conf.tmpl",
    vars = { CA_FILE = srv.ca_file },
    config = {
      base_url = srv.base_url, api_key = srv.api_key, ca_file = srv.ca_file,
      tls_base_url = srv.tls_base_url, tls_ip_base_url = srv.tls_base_url, storage_url = srv.storage_url,
    },
  })
  -- Warm up: the worker's client, its connection pool, and curl itself.
  assert(nginx:get("/me") == 200, "the SDK handler did not answer")
  burst(nginx:url("/me"))

  local best_sdk, best_direct, worst_ok = math.huge, math.huge, n
  for _ = 1, rounds do
    local t, got = burst(nginx:url("/me"))
    if t < best_sdk then best_sdk = t end
    if got < worst_ok then worst_ok = got end
    local d, dgot = burst(srv.base_url .. "/auth/me", { "X-API-Key: " .. srv.api_key })
    if d < best_direct then best_direct = d end
    if dgot < worst_ok then worst_ok = dgot end
  end
  util.result({ sdk_s = best_sdk, direct_s = best_direct, answered = worst_ok, n = n, delay = delay })
end)
cleanup()
if not ok then
  io.stderr:write(tostring(err), "\n")
  os.exit(1)
end
