--- scravio.testing: a fake Scravio server for testing your own code, the way
-- stripe-mock serves Stripe users. No account, no credits, nothing leaves
-- 127.0.0.1: a local nginx (with its Lua module) serves the whole API v1.0.0,
-- with fixed accounts, a controllable clock and fault injection.
--
--   local testing = require("scravio.testing")
--   local srv = testing.start{ frozen = true }   -- raises with what to install when it cannot
--   local client = srv:client()                   -- scravio.new{} for account A
--   ... your code, given srv.base_url and srv.api_key ...
--   srv:advance(3)                                -- campaigns, jobs, exports move on
--   srv:stop()
--
-- Needs nginx with the Lua module (Debian: nginx-light libnginx-mod-http-lua),
-- curl, openssl and lua-cjson. README "Testing your code" documents it for
-- users; spec/support/README.md is the fake server's full reference.
local M = {}

-- The controller lives next to the fake's own files: in the rock as
-- scravio.testing.fake_server (+ scravio/testing/fake/*.lua), in a checkout as
-- spec/support/fake_server.lua (+ spec/support/fake/*.lua).
local function controller()
  local ok, fake = pcall(require, "scravio.testing.fake_server")
  if ok then return fake end
  local installed_err = fake
  local src = debug.getinfo(1, "S").source
  local dir = src:sub(1, 1) == "@" and src:sub(2):match("^(.*)/lua/scravio/testing/[^/]+$")
  local path = (dir or ".") .. "/spec/support/fake_server.lua"
  local chunk, err = loadfile(path)
  if not chunk then
    error("scravio.testing: the fake server is not installed (" .. tostring(installed_err):match("^[^\n]*") ..
      "; no " .. path .. ": " .. tostring(err) .. ")", 0)
  end
  fake = chunk()
  package.loaded["scravio.testing.fake_server"] = fake
  return fake
end

local function have_program(name)
  local p = io.popen("command -v " .. name .. " 2>/dev/null")
  local out = p and p:read("*a") or ""
  if p then p:close() end
  return out:match("%S") ~= nil
end

--- What the fake server needs and is missing here: nil when everything is
-- there, otherwise a message that says what to install.
function M.missing()
  local nginx = os.getenv("SCRAVIO_FAKE_NGINX") or "nginx"
  local modules = os.getenv("SCRAVIO_FAKE_NGINX_MODULES") or "/usr/share/nginx/modules"
  local lacks = {}
  if not have_program(nginx) then
    lacks[#lacks + 1] = "nginx (" .. nginx .. " is not on PATH; Debian: apt-get install nginx-light libnginx-mod-http-lua;" ..
      " another one: SCRAVIO_FAKE_NGINX=/path/to/nginx)"
  end
  local so = io.open(modules .. "/ngx_http_lua_module.so", "rb")
  if so then so:close() else
    lacks[#lacks + 1] = "the nginx Lua module (" .. modules .. "/ngx_http_lua_module.so; Debian: apt-get install" ..
      " libnginx-mod-http-lua; elsewhere: SCRAVIO_FAKE_NGINX_MODULES=<dir>)"
  end
  for _, tool in ipairs({ "curl", "openssl" }) do
    if not have_program(tool) then lacks[#lacks + 1] = tool .. " (apt-get install " .. tool .. ")" end
  end
  if not pcall(require, "cjson") then
    lacks[#lacks + 1] = "lua-cjson for this Lua (apt-get install lua-cjson, or luarocks install lua-cjson)"
  end
  if #lacks == 0 then return nil end
  return "scravio.testing: the fake Scravio server cannot start here; missing: " .. table.concat(lacks, "; ")
end

--- The fixed accounts (the same on every run): name -> {api_key, credits, notes}.
M.accounts = {
  A = { api_key = "sk_live_fakeA_4f1c2b9d8e7a6b5c4d3e2f1a0b9c8d7e", credits = 100000,
        notes = "the default (srv.api_key): paid, 10 concurrent campaigns" },
  B = { api_key = "sk_live_fakeB_9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d", credits = 100000,
        notes = "another customer (srv.other_api_key): its ids are 404 to A and vice versa" },
  free = { api_key = "sk_live_fakeFree_0a1b2c3d4e5f60718293a4b5c6d7e8f9", credits = 500,
           notes = "free plan (srv.free_api_key): lead emails come back masked" },
  poor = { api_key = "sk_live_fakePoor_f9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4", credits = 50,
           notes = "almost no credits (srv.poor_api_key): for insufficient-credit paths" },
}

--- start(opts) -> server (raises a message naming what to install when it cannot).
-- opts.frozen = true        the clock moves only with srv:advance (recommended in tests)
-- opts.config = {...}       lifecycle durations etc.: campaign_seconds (3), job_seconds (2),
--                           export_seconds (1), rate_limits (true), ...
-- opts.port / tls_port / storage_port   fixed ports (default: free random ones)
-- opts.watchdog = false     keep nginx running when this process dies (scravio-fake)
--
-- The server object (fields base_url, api_key, other_api_key, free_api_key,
-- poor_api_key, tls_base_url, ca_file, keys) has:
--   srv:client(opts)        a scravio client for it (account A; opts as scravio.new)
--   srv:advance(seconds)    move the fake clock; srv:freeze(), srv:unfreeze(), srv:clock()
--   srv:fault{method=, path=, kind=, count=, ...}   fault injection (kinds: status,
--                           rate_limit, reset_before, reset_after, slow, truncated,
--                           truncated_body, malformed, huge, redirect); srv:clear_faults()
--   srv:requests{method=, path=}    what the server received (headers, body, status)
--   srv:seed_campaign{status=, leads=, emails=, ...}, srv:seed_export{...}, srv:set_credits(a, n)
--   srv:configure{...}, srv:reset(), srv:stop()
function M.start(opts)
  local missing = M.missing()
  if missing then error(missing, 2) end
  local srv = controller().start(opts)
  --- A client for this server: account A unless opts.api_key / access_token says otherwise.
  function srv.client(self, copts)
    local o = { base_url = self.base_url, api_key = self.api_key }
    for k, v in pairs(copts or {}) do o[k] = v end
    if o.access_token and not (copts or {}).api_key then o.api_key = nil end
    local client, err = require("scravio").new(o)
    if not client then error(tostring(err), 2) end
    return client
  end
  return srv
end

--- Stop a server started without a watchdog, from its run directory (scravio-fake stop).
function M.stop_rundir(rundir) return controller().stop_rundir(rundir) end

return M
