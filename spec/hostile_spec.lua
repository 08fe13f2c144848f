--- The differential hostile-server harness: every case in spec/hostile/*.lua
-- is played by a scripted server (spec/support/hostile_server.lua) twice,
-- once to libcurl (in this process) and once to the cosocket transport inside
-- a real nginx (spec/openresty), and the two outcomes must agree: same success
-- or err.kind (and status, code, value, bytes on disk), same number of requests
-- seen by the server; each case's own expectations hold on both.
-- How to add a case: spec/support/README.md, "Hostile-server cases".
local hostile = require("spec.support.hostile")
local run = require("spec.support.hostile_run")
local scravio = require("scravio")

local function sh(cmd)
  local p = assert(io.popen(cmd .. " 2>&1"))
  local out = p:read("*a")
  p:close()
  return out
end

-- Every spec/hostile/*.lua returns a list of cases; their file names say whose.
local function load_cases()
  local all = {}
  local files = {}
  for name in sh("ls spec/hostile/*.lua"):gmatch("[^\n]+") do files[#files + 1] = name end
  table.sort(files)
  for _, file in ipairs(files) do
    local list = assert(dofile(file), file .. " returns no cases")
    for _, case in ipairs(list) do
      case.file = file
      all[#all + 1] = case
    end
  end
  return all
end

local cases = load_cases()

-- The cosocket half needs nginx with the Lua module (skipped with
-- SCRAVIO_SKIP_OPENRESTY=1); it runs once, under Lua 5.4 (as spec/openresty
-- does: nginx_ctl is 5.4 code), the libcurl half under every Lua.
local function ngx_available()
  if os.getenv("SCRAVIO_SKIP_OPENRESTY") == "1" or _VERSION ~= "Lua 5.4" then return false end
  local ctl = require("spec.openresty.nginx_ctl")
  return sh("command -v " .. ctl.NGINX .. " >/dev/null && ls " .. ctl.MODULES ..
    "/ngx_http_lua_module.so >/dev/null && echo yes"):match("yes") ~= nil
end

-- A comparable copy (the cosocket outcomes come back through JSON).
local function normal(v)
  return scravio.json.decode(assert(scravio.json.encode(v)))
end

local COMPARED = { "ok", "kind", "status", "code", "value", "file", "bytes" }

local function show(v)
  local ok, s = pcall(scravio.json.encode, v)
  return ok and s or tostring(v)
end

-- One call's outcome against its expectation (a table of fields; `message` is
-- a plain substring; `file` the raw bytes expected on disk, false for none).
local function check_expect(label, outcome, expect)
  for k, want in pairs(expect) do
    local got = outcome[k]
    if k == "message" then
      assert(type(got) == "string" and got:find(want, 1, true),
        string.format("%s: message %q does not contain %q", label, tostring(got), want))
    elseif k == "file" then
      local hex = want and run.hex(want) or false
      assert(got == hex, string.format("%s: file on disk is %s, expected %s", label, tostring(got), tostring(hex)))
    else
      assert.same(normal(want), got, label .. ": field " .. k .. " (outcome " .. show(outcome) .. ")")
    end
  end
end

describe("hostile servers, libcurl and cosockets alike", function()
  local nginx, dir
  local with_ngx = ngx_available()

  lazy_setup(function()
    dir = sh("mktemp -d /tmp/scravio-hostile-files-XXXXXX"):gsub("%s+$", "")
    sh("chmod 777 " .. dir) -- nginx's worker writes here too
    if with_ngx then
      nginx = require("spec.openresty.nginx_ctl").start{
        template = "spec/openresty/nginx.conf.tmpl",
        vars = { CA_FILE = "/etc/ssl/certs/ca-certificates.crt" },
        config = { base_url = "http://127.0.0.1:1/api", api_key = run.API_KEY },
      }
    end
  end)

  lazy_teardown(function()
    if nginx then nginx:stop() end
    if dir and dir:match("^/tmp/scravio%-hostile%-files%-") then sh("rm -rf " .. dir) end
  end)

  -- Play the case to one transport: -> outcomes, server log
  local function play(case, transport)
    local srv = hostile.start(case.answers)
    local ok, outcomes = pcall(function()
      local env = { base_url = srv.base_url, dir = dir, transport = transport, log_file = srv.logfile }
      if transport == "curl" then return normal(run.run(case, env)) end
      local status, text = nginx:post("/hostile", assert(scravio.json.encode({
        case = { client = case.client, calls = case.calls, api_prefix = case.api_prefix, events = case.events },
        base_url = srv.base_url, dir = dir, log_file = srv.logfile })), 60)
      local dok, res = pcall(scravio.json.decode, text)
      if status ~= 200 or not dok or type(res) ~= "table" or not res.ok then
        error(string.format("nginx answered %d: %s\n--- error.log (tail):\n%s", status, text,
          nginx:error_log():sub(-3000)), 0)
      end
      return res.outcomes
    end)
    local log = srv:log()
    local stderr = srv:stderr()
    srv:stop()
    if not ok then error(outcomes, 0) end
    -- Each play has its own server port: messages name it as "<port>".
    local function unport(v)
      if type(v) == "string" then return (v:gsub(":" .. srv.port .. "([^%d])", ":<port>%1"):gsub(":" .. srv.port .. "$",
        ":<port>")) end
      if type(v) ~= "table" then return v end
      local out = {}
      for k, x in pairs(v) do out[k] = unport(x) end
      return out
    end
    outcomes = unport(outcomes)
    assert(stderr == "", "the hostile server failed: " .. stderr)
    return outcomes, log
  end

  for _, case in ipairs(cases) do
    it(case.name .. " (" .. case.file:match("[^/]+$") .. ")", function()
      local runs = { { "curl" } }
      if with_ngx then runs[2] = { "ngx" } end
      for _, r in ipairs(runs) do
        r.outcomes, r.log = play(case, r[1])
        for i, c in ipairs(case.calls) do
          local label = r[1] .. " call " .. i
          assert(r.outcomes[i], label .. ": no outcome")
          if c.expect then check_expect(label, r.outcomes[i], c.expect) end
        end
        if case.requests then
          assert.equals(case.requests, #r.log.requests, r[1] .. ": requests the server saw")
        end
        if case.check then
          local cok, cerr = pcall(case.check, r.outcomes, r.log, r[1])
          assert(cok, r[1] .. ": check: " .. tostring(cerr))
        end
      end
      if runs[2] then
        local a, b = runs[1], runs[2]
        assert.equals(#a.log.requests, #b.log.requests, "requests the server saw (curl vs ngx)")
        for i in ipairs(case.calls) do
          for _, k in ipairs(COMPARED) do
            assert.same(a.outcomes[i][k], b.outcomes[i][k], string.format(
              "call %d, %s: curl %s vs ngx %s", i, k, show(a.outcomes[i]), show(b.outcomes[i])))
          end
          for _, k in ipairs(case.same or {}) do
            assert.same(a.outcomes[i][k], b.outcomes[i][k], string.format("call %d, %s (curl vs ngx)", i, k))
          end
        end
      end
    end)
  end
end)
