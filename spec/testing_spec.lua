-- scravio.testing, the kit users test their own code with, and the
-- scravio-fake command: run the way a user runs them (from another directory,
-- with only the SDK on the paths).
local H = require("spec.support.helpers")
local testing = require("scravio.testing")

local ROOT = os.getenv("PWD")
local LUA = os.getenv("SCRAVIO_TEST_LUA") or "lua5.4"
if not LUA:match("^lua5%.%d$") and LUA ~= "luajit" then LUA = "lua5.4" end

local function sh_quote(s) return "'" .. tostring(s):gsub("'", "'\\''") .. "'" end

-- The suite's module paths with relative entries made absolute (the commands
-- below run from a temporary directory).
local function absolute(search_path)
  return (search_path:gsub("[^;]+", function(entry)
    if entry:sub(1, 1) ~= "/" then return ROOT .. "/" .. entry:gsub("^%./", "") end
  end))
end
local ENV = "LUA_PATH=" .. sh_quote(ROOT .. "/lua/?.lua;" .. ROOT .. "/lua/?/init.lua;;") ..
  " LUA_CPATH=" .. sh_quote(absolute(os.getenv("LUA_CPATH") or ""))

-- run(cmd, env) from a new temporary directory -> ok, output (the exit status
-- is echoed: under Lua 5.1 and LuaJIT, close() of a popen file does not say it)
local function run(cmd, env)
  local dir = H.tmpdir()
  local p = assert(io.popen("cd " .. sh_quote(dir) .. " && " .. ENV .. " " .. (env or "") .. " " .. cmd ..
    " 2>&1; echo \"__RC__$?\""))
  local out = p:read("*a")
  p:close()
  H.rmdir(dir)
  local rc = tonumber(out:match("__RC__(%d+)%s*$"))
  return rc == 0, (out:gsub("__RC__%d+%s*$", ""))
end

describe("scravio.testing", function()
  it("runs the README's example spec as a user would", function()
    local ok, out = run(LUA .. " /usr/bin/busted " .. sh_quote(ROOT .. "/examples/testing/collect_spec.lua"))
    assert.is_true(ok, out)
    assert.truthy(out:find("4 successes / 0 failures / 0 errors / 0 pending", 1, true), out)
  end)

  it("is the example the README shows, verbatim", function()
    local readme = H.read_file(ROOT .. "/README.md")
    local example = H.read_file(ROOT .. "/examples/testing/collect_spec.lua")
    assert.truthy(readme:find("```lua\n" .. example .. "```", 1, true),
      "README \"Testing your code\" must show examples/testing/collect_spec.lua as it is")
  end)

  it("starts a frozen server with a client, the accounts and the clock", function()
    local srv = testing.start{ frozen = true }
    finally(function() srv:stop() end)
    assert.is_true(srv:clock().frozen)
    local me = assert(srv:client():me())
    assert.are.equal(testing.accounts.A.credits, me.credits)
    for name, account in pairs(testing.accounts) do assert.are.equal(account.api_key, srv.keys[name]) end
    local other = assert(srv:client{ api_key = srv.other_api_key }:me())
    assert.are_not.equal(me.email, other.email)
  end)

  it("says what to install when nginx or its Lua module is missing", function()
    local code = sh_quote("local ok, err = pcall(require('scravio.testing').start); io.write(tostring(ok), ' ', err)")
    local ok, out = run(LUA .. " -e " .. code, "SCRAVIO_FAKE_NGINX=/nonexistent/nginx")
    assert.is_true(ok, out)
    assert.truthy(out:find("^false scravio.testing: the fake Scravio server cannot start here; missing: nginx"), out)
    assert.truthy(out:find("apt-get install nginx-light libnginx-mod-http-lua", 1, true), out)
    ok, out = run(LUA .. " -e " .. code, "SCRAVIO_FAKE_NGINX_MODULES=/nonexistent")
    assert.is_true(ok, out)
    assert.truthy(out:find("the nginx Lua module (/nonexistent/ngx_http_lua_module.so", 1, true), out)
    assert.is_nil(out:find("missing: nginx (", 1, true), out)
  end)
end)

describe("scravio-fake", function()
  local cmd = LUA .. " " .. sh_quote(ROOT .. "/bin/scravio-fake")

  it("starts a server in the background, prints base_url and key, and stops it", function()
    local ok, out = run(cmd .. " start --frozen")
    assert.is_true(ok, out)
    local base_url = out:match("export SCRAVIO_BASE_URL='([^']+)'")
    local key = out:match("export SCRAVIO_API_KEY='([^']+)'")
    local rundir = out:match("export SCRAVIO_FAKE_RUNDIR='([^']+)'")
    assert.truthy(base_url and key and rundir, out)
    assert.matches("^http://127%.0%.0%.1:%d+/api$", base_url)
    assert.are.equal(testing.accounts.A.api_key, key)
    local client = assert(H.scravio.new{ base_url = base_url, api_key = key, max_retries = 0 })
    local me, err = client:me()
    assert.truthy(me, tostring(err))
    assert.is_true(run(cmd .. " stop " .. sh_quote(rundir)))
    assert.is_nil(io.open(rundir .. "/nginx.conf", "rb"))
    assert.is_nil(client:me())
  end)

  it("says so, and fails, when stop is given a directory no server was started in", function()
    local missing = os.tmpname()
    os.remove(missing)
    local ok, out = run(cmd .. " stop " .. sh_quote(missing))
    assert.is_false(ok, out)
    assert.truthy(out:find("no server recorded in " .. missing, 1, true), out)
  end)

  it("explains its usage", function()
    local ok, out = run(cmd .. " --help")
    assert.is_true(ok, out)
    assert.truthy(out:find("usage: scravio-fake", 1, true), out)
    ok, out = run(cmd .. " --bogus")
    assert.is_false(ok)
    assert.truthy(out:find("unknown or incomplete option --bogus", 1, true), out)
  end)
end)
