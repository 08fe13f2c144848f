-- Controller for the fake Scravio server (spec/support/fake/*, hosted by nginx
-- with the Lua module).  Used by specs, benchmarks and `make demo`:
--
--   local fake = require("spec.support.fake_server")
--   local srv = fake.start()        -- nginx on free loopback ports, ready to use
--   ... srv.base_url, srv.api_key, srv:advance(5), srv:fault{...} ...
--   srv:stop()                      -- nginx gone, run dir removed
--
-- Runs under Lua 5.1, LuaJIT and Lua 5.4.  It needs only lua-cjson and the
-- `nginx`, `curl` and `openssl` programs: the control interface
-- (POST /__control/<action>) is reached by running curl through io.popen.
-- See spec/support/README.md for the accounts, the pricing model, the
-- lifecycle timings, the control actions and the fault kinds.
local cjson = require "cjson"

local M = {}

M.NGINX = os.getenv("SCRAVIO_FAKE_NGINX") or "nginx"
M.MODULES = os.getenv("SCRAVIO_FAKE_NGINX_MODULES") or "/usr/share/nginx/modules"

-- helpers -------------------------------------------------------------------------

local function q(s) return "'" .. tostring(s):gsub("'", "'\\''") .. "'" end

-- Child processes (nginx, curl, openssl) must not inherit a sanitizer
-- preload meant for the SDK under test (an LD_PRELOADed libasan can hang curl),
-- nor this Lua's module paths: nginx's LuaJIT would load a Lua 5.4 cjson.so
-- from a LUA_CPATH set by `luarocks path` or a user's environment.
local CLEAN_ENV = "unset LD_PRELOAD LUA_INIT LUA_PATH LUA_CPATH LUA_INIT_5_2 LUA_PATH_5_2 LUA_CPATH_5_2" ..
  " LUA_INIT_5_3 LUA_PATH_5_3 LUA_CPATH_5_3 LUA_INIT_5_4 LUA_PATH_5_4 LUA_CPATH_5_4 2>/dev/null; "

-- is_alive shell function: a zombie (state Z/X in /proc/<pid>/stat) counts as
-- gone.  Where PID 1 does not reap orphans promptly, `kill -0` alone would
-- report a stopped nginx as running.
local IS_ALIVE = "is_alive() { if [ -r /proc/$1/stat ]; then read -r l < /proc/$1/stat 2>/dev/null || return 1; " ..
  "case \"${l##*) }\" in Z*|X*) return 1;; esac; return 0; fi; kill -0 $1 2>/dev/null; }; "

-- run(cmd) -> ok, output, exit_code   (stdout and stderr together)
local function run(cmd)
  local p = assert(io.popen(CLEAN_ENV .. "(" .. cmd .. ") 2>&1; echo \"__RC__$?\""))
  local out = p:read("*a")
  p:close()
  local rc = tonumber(out:match("__RC__(%d+)%s*$"))
  out = out:gsub("__RC__%d+%s*$", "")
  return rc == 0, out, rc
end

local function sleep(s) os.execute("sleep " .. tostring(s)) end

local function read_file(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local s = f:read("*a")
  f:close()
  return s
end

local function write_file(path, data)
  local f = assert(io.open(path, "wb"))
  f:write(data)
  f:close()
end

-- alive(pid): running and not a zombie
local function alive(pid)
  if not pid then return false end
  return (run(IS_ALIVE .. "is_alive " .. math.floor(pid)))
end
M.alive = alive

local function this_dir()
  local src = debug.getinfo(1, "S").source
  local dir = src:sub(1, 1) == "@" and src:sub(2):match("^(.*)/[^/]*$") or nil
  if not dir or dir == "" then dir = "." end
  if dir:sub(1, 1) ~= "/" then
    local pwd = os.getenv("PWD")
    if not pwd then
      local ok, out = run("pwd")
      pwd = ok and out:gsub("%s+$", "") or "."
    end
    dir = pwd .. "/" .. dir
  end
  return (dir:gsub("/%./", "/"):gsub("/%.$", ""))
end

M.SUPPORT_DIR = this_dir()

local RNG
local function random_int(n)
  if not RNG then
    local f = io.open("/dev/urandom", "rb")
    local b = f and f:read(4) or tostring(os.time())
    if f then f:close() end
    local seed = 0
    for i = 1, #b do seed = (seed * 256 + b:byte(i)) % 2147483647 end
    RNG = { x = (seed + os.time()) % 2147483646 + 1 }
  end
  RNG.x = (RNG.x * 48271) % 2147483647
  return RNG.x % n
end

-- cjson under Lua 5.3+ decodes every number as a float; give callers integers
-- where the value is integral, and drop JSON nulls.
local tointeger = math.tointeger
local function normalize(v)
  if v == cjson.null then return nil end
  if type(v) == "number" then
    if tointeger and v == math.floor(v) and v > -2^53 and v < 2^53 then return tointeger(v) end
    return v
  end
  if type(v) == "table" then
    local o = {}
    for k, x in pairs(v) do o[k] = normalize(x) end
    return o
  end
  return v
end
M.normalize = normalize

-- TLS material -----------------------------------------------------------------------

local function make_certs(dir)
  local tls = dir .. "/tls"
  local ext = tls .. "/server.ext"
  write_file(ext, "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=critical,CA:FALSE\n" ..
    "keyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n")
  local cmds = {
    "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 3650" ..
      " -keyout " .. q(tls .. "/ca.key") .. " -out " .. q(tls .. "/ca.pem") ..
      " -subj '/CN=Scravio Fake Test CA' -addext 'basicConstraints=critical,CA:TRUE'" ..
      " -addext 'keyUsage=critical,keyCertSign,cRLSign'",
    "openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes" ..
      " -keyout " .. q(tls .. "/server.key") .. " -out " .. q(tls .. "/server.csr") .. " -subj '/CN=127.0.0.1'",
    "openssl x509 -req -days 825 -in " .. q(tls .. "/server.csr") .. " -CA " .. q(tls .. "/ca.pem") ..
      " -CAkey " .. q(tls .. "/ca.key") .. " -CAcreateserial -out " .. q(tls .. "/server.pem") ..
      " -extfile " .. q(ext),
  }
  for _, c in ipairs(cmds) do
    local ok, out = run(c)
    if not ok then error("fake server: openssl failed: " .. out, 0) end
  end
  return tls .. "/ca.pem"
end

-- nginx config -----------------------------------------------------------------------

local function render(tmpl, vars)
  return (tmpl:gsub("%${([%w_]+)}", function(k)
    if vars[k] == nil then error("fake server: template variable " .. k .. " not set", 0) end
    return tostring(vars[k])
  end))
end

-- nginx started as root runs its workers as `nobody`, who cannot read a
-- checkout under /root or a mktemp -d directory (mode 0700): run them as the
-- invoking user instead. Without root, nginx ignores `user` (and warns), so the
-- line is only written for root.
local function user_line()
  local ok, uid = run("id -u")
  if not (ok and uid:match("^0%s*$")) then return "# not root: the workers run as the invoking user" end
  local _, user = run("id -un")
  local _, group = run("id -gn")
  return "user " .. user:gsub("%s+$", "") .. " " .. group:gsub("%s+$", "") .. ";"
end

-- Server object ----------------------------------------------------------------------

local Server = {}
Server.__index = Server

local ctl_seq = 0

-- srv:control(action, payload) -> decoded JSON (raises on failure)
function Server:control(action, payload)
  ctl_seq = ctl_seq + 1
  local file = self.rundir .. "/ctl-body.json"
  local body = (payload == nil or next(payload) == nil) and "{}" or cjson.encode(payload)
  write_file(file, body)
  local cmd = "curl -sS --noproxy '*' --max-time 120 -X POST -H 'Content-Type: application/json'" ..
    " --data-binary @" .. q(file) .. " -w '\\n__HTTP__%{http_code}' " ..
    q(self.control_url .. "/" .. action)
  local p = assert(io.popen(CLEAN_ENV .. cmd .. " 2>&1"))
  local out = p:read("*a")
  p:close()
  local code = tonumber(out:match("\n__HTTP__(%d+)%s*$"))
  local text = out:gsub("\n__HTTP__%d+%s*$", "")
  if not code or code == 0 then
    error("fake server: control " .. action .. " failed: " .. text, 2)
  end
  local ok, decoded = pcall(cjson.decode, text)
  if not ok or type(decoded) ~= "table" then
    error("fake server: control " .. action .. " answered " .. code .. ": " .. text, 2)
  end
  if code ~= 200 then
    error("fake server: control " .. action .. " failed (" .. code .. "): " .. tostring(decoded.error), 2)
  end
  return normalize(decoded)
end

-- A strict-reference server (fake.start{strict = true}) stays one across resets.
function Server:reset()
  local r = self:control("reset")
  if self.strict then self:configure({ strict_reference = true }) end
  return r
end

function Server:advance(seconds)
  return self:control("advance", { seconds = seconds })
end

-- srv:freeze(): real time stops counting on the fake clock, only srv:advance
-- moves it (a spec then sees the same states on a slow machine); srv:unfreeze()
-- restarts it from the same instant. srv:reset() unfreezes.
function Server:freeze() return self:control("freeze", { frozen = true }) end
function Server:unfreeze() return self:control("freeze", { frozen = false }) end

function Server:configure(tbl) return self:control("configure", tbl or {}).config end

-- srv:fault{method=, path=, kind=, count=, skip=, ...} -> fault id
function Server:fault(spec) return self:control("fault", spec).id end

function Server:faults() return self:control("faults").faults or {} end

-- srv:clear_faults() clears all; srv:clear_faults(id) removes one
function Server:clear_faults(id) return self:control("clear_faults", id and { id = id } or nil) end

-- srv:requests{method=, path=, pattern=} -> array of logged API requests
function Server:requests(filter) return self:control("requests", filter).requests or {} end

function Server:storage_requests(filter) return self:control("storage_requests", filter).requests or {} end

function Server:clear_requests() return self:control("clear_requests") end

-- srv:seed_campaign{status=, leads=, emails=, type=, title=, account=, ...} -> id
function Server:seed_campaign(tbl) return self:control("seed_campaign", tbl).id end

-- srv:seed_export{bytes=} or {campaign_id=, format=} -> export id
function Server:seed_export(tbl) return self:control("seed_export", tbl).id end

function Server:set_credits(account, credits)
  return self:control("set_credits", { account = account, credits = credits }).credits
end

function Server:clock() return self:control("clock") end
function Server:stats() return self:control("stats") end
function Server:accounts() return self:control("accounts").accounts end

function Server:url(path) return self.base_url .. path end

function Server:error_log() return read_file(self.rundir .. "/error.log") or "" end

-- stop(): TERM nginx, wait for master and worker to exit, remove the run dir.
function Server:stop()
  if self.stopped then return true end
  self.stopped = true
  M.stop_rundir(self.rundir, { master = self.master_pid, worker = self.worker_pid, watchdog = self.watchdog_pid })
  return true
end

-- module functions ------------------------------------------------------------------

-- Stop whatever a run dir describes (also used by the CLI's `stop <rundir>`).
function M.stop_rundir(rundir, pids)
  pids = pids or {}
  local saved = read_file(rundir .. "/server.json")
  if saved then
    local ok, s = pcall(cjson.decode, saved)
    if ok and type(s) == "table" then
      pids.master = pids.master or tonumber(s.master_pid)
      pids.worker = pids.worker or tonumber(s.worker_pid)
      pids.watchdog = pids.watchdog or tonumber(s.watchdog_pid)
    end
  end
  if not pids.master then pids.master = tonumber((read_file(rundir .. "/nginx.pid") or ""):match("%d+")) end
  local m, w = pids.master and math.floor(pids.master), pids.worker and math.floor(pids.worker)
  local list = (m and (" " .. m) or "") .. (w and (" " .. w) or "")
  if list ~= "" then
    if m then run("kill -TERM " .. m .. " 2>/dev/null") end
    -- one shell loop instead of one process per poll
    local function wait_gone(tries, pause)
      return run(IS_ALIVE .. "i=0; while [ $i -lt " .. tries .. " ]; do a=0; for p in" .. list ..
        "; do is_alive $p && a=1; done; [ $a = 0 ] && exit 0; sleep " .. pause .. "; i=$((i+1)); done; exit 1")
    end
    if not wait_gone(200, 0.025) then
      run("kill -KILL" .. list .. " 2>/dev/null")
      wait_gone(100, 0.02)
    end
  end
  if pids.watchdog then
    run("kill -TERM -- -" .. math.floor(pids.watchdog) .. " 2>/dev/null || kill -TERM " ..
      math.floor(pids.watchdog) .. " 2>/dev/null")
  end
  if rundir and rundir:match("/scravio%-fake%.[%w]+$") then run("rm -rf " .. q(rundir)) end
  return true
end

local function own_pid()
  local ok, out = run("echo $PPID")
  return ok and tonumber(out:match("%d+")) or nil
end

-- A watchdog that stops nginx (and removes the run dir) if the Lua process that
-- started it dies without calling stop(), e.g. a crashed or killed busted run.
local function start_watchdog(lua_pid, master, rundir)
  local script = IS_ALIVE .. "while is_alive " .. lua_pid .. " && is_alive " .. master ..
    "; do sleep 1; done; if is_alive " .. master .. "; then kill -TERM " .. master ..
    "; i=0; while is_alive " .. master .. " && [ $i -lt 50 ]; do sleep 0.1; i=$((i+1)); done; kill -KILL " ..
    master .. " 2>/dev/null; rm -rf " .. q(rundir) .. "; fi"
  local has_setsid = run("command -v setsid >/dev/null")
  local launcher = has_setsid and "setsid sh -c " or "sh -c "
  local p = io.popen(CLEAN_ENV .. launcher .. q(script) .. " </dev/null >/dev/null 2>&1 & echo $!")
  local out = p:read("*a")
  p:close()
  return tonumber(out:match("%d+"))
end

local function ping(url)
  local ok, out = run("curl -sS --noproxy '*' --max-time 2 " .. q(url .. "/ping"))
  if not ok then return nil end
  local okd, v = pcall(cjson.decode, out)
  if okd and type(v) == "table" and v.ok then return normalize(v) end
  return nil
end

-- fake.start(opts) -> server
--   opts.port / tls_port / storage_port   fixed ports (default: random free ones)
--   opts.watchdog = false                  leave nginx running if this process dies
--   opts.config = {...}                    configure{} right after start
--   opts.strict = true                     strict-reference mode (config
--                                          strict_reference), kept across reset()
--   opts.frozen = true                     freeze() right after start
function M.start(opts)
  opts = opts or {}
  local ok, out = run("command -v " .. M.NGINX .. " && command -v curl && command -v openssl")
  if not ok then error("fake server: needs nginx, curl and openssl on PATH: " .. out, 2) end
  if not read_file(M.MODULES .. "/ngx_http_lua_module.so") then
    error("fake server: " .. M.MODULES .. "/ngx_http_lua_module.so missing (apt-get install libnginx-mod-http-lua)", 2)
  end
  local tmp = os.getenv("TMPDIR") or "/tmp"
  local mk, dir = run("mktemp -d " .. q(tmp .. "/scravio-fake.XXXXXXXX"))
  if not mk then error("fake server: mktemp failed: " .. dir, 2) end
  local rundir = dir:gsub("%s+$", "")
  for _, d in ipairs({ "tmp", "tls" }) do run("mkdir -p " .. q(rundir .. "/" .. d)) end
  local ok_cert, cert_or_err = pcall(make_certs, rundir)
  if not ok_cert then run("rm -rf " .. q(rundir)); error(cert_or_err, 2) end

  local tmpl = read_file(M.SUPPORT_DIR .. "/fake/nginx.conf.tmpl")
  if not tmpl then error("fake server: cannot read " .. M.SUPPORT_DIR .. "/fake/nginx.conf.tmpl", 2) end
  local conf = rundir .. "/nginx.conf"
  local ports, last_err
  local user = user_line()
  for _ = 1, 30 do
    local used = {}
    local function pick(fixed)
      if fixed then used[fixed] = true return fixed end
      local p
      repeat p = 20000 + random_int(12000) until not used[p]
      used[p] = true
      return p
    end
    ports = { api = pick(opts.port), tls = pick(opts.tls_port), storage = pick(opts.storage_port) }
    write_file(conf, render(tmpl, {
      RUNDIR = rundir, SUPPORT_DIR = M.SUPPORT_DIR, USER_LINE = user, MODULES = M.MODULES,
      API_PORT = ports.api, TLS_PORT = ports.tls, STORAGE_PORT = ports.storage,
    }))
    local started, msg = run(M.NGINX .. " -p " .. q(rundir) .. " -c " .. q(conf) .. " -e " .. q(rundir .. "/error.log"))
    if started then last_err = nil break end
    last_err = msg
    local in_use = msg:find("Address already in use", 1, true) or msg:find("bind%(%)")
    if not in_use or (opts.port and opts.tls_port and opts.storage_port) then break end
  end
  if last_err then
    run("rm -rf " .. q(rundir))
    error("fake server: nginx did not start: " .. last_err, 2)
  end

  local srv = setmetatable({
    rundir = rundir,
    api_port = ports.api, tls_port = ports.tls, storage_port = ports.storage,
    base_url = "http://127.0.0.1:" .. ports.api .. "/api",
    tls_base_url = "https://127.0.0.1:" .. ports.tls .. "/api",
    storage_url = "http://127.0.0.1:" .. ports.storage,
    control_url = "http://127.0.0.1:" .. ports.api .. "/__control",
    ca_file = rundir .. "/tls/ca.pem",
    conf_file = conf,
  }, Server)

  local info
  for _ = 1, 200 do
    info = ping(srv.control_url)
    if info then break end
    sleep(0.05)
  end
  srv.master_pid = tonumber((read_file(rundir .. "/nginx.pid") or ""):match("%d+"))
  if not info then
    local log = read_file(rundir .. "/error.log") or ""
    M.stop_rundir(rundir, { master = srv.master_pid })
    error("fake server: nginx started but never answered /__control/ping; error.log:\n" .. log, 2)
  end
  srv.worker_pid = info.pid

  if opts.watchdog ~= false then
    local me = own_pid()
    if me and srv.master_pid then srv.watchdog_pid = start_watchdog(me, srv.master_pid, rundir) end
  end
  write_file(rundir .. "/server.json", cjson.encode({
    master_pid = srv.master_pid, worker_pid = srv.worker_pid, watchdog_pid = srv.watchdog_pid,
    base_url = srv.base_url, tls_base_url = srv.tls_base_url, storage_url = srv.storage_url,
    ca_file = srv.ca_file,
  }))

  local accounts = srv:accounts()
  srv.keys, srv.access_tokens = {}, {}
  for _, a in ipairs(accounts) do
    srv.keys[a.name] = a.api_key
    srv.access_tokens[a.name] = a.access_token
  end
  srv.api_key = srv.keys.A
  srv.access_token = srv.access_tokens.A
  srv.other_api_key = srv.keys.B
  srv.other_access_token = srv.access_tokens.B
  srv.free_api_key = srv.keys.free
  srv.poor_api_key = srv.keys.poor
  srv.strict = opts.strict and true or nil
  if srv.strict then srv:configure({ strict_reference = true }) end
  if opts.config then srv:configure(opts.config) end
  if opts.frozen then srv:freeze() end
  return srv
end

return M
