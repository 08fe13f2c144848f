-- The examples are documentation that runs: each one is executed against
-- the fake server exactly as a user would run it, and must exit 0.
local H = require("spec.support.helpers")

-- The examples run under the Lua the suite is testing (luajit, lua5.1 ...).
local LUA = os.getenv("SCRAVIO_TEST_LUA") or ""
if not LUA:match("^lua[%w%.]*$") then LUA = "lua5.4" end

local function sh_quote(s) return "'" .. tostring(s):gsub("'", "'\\''") .. "'" end

describe("examples", function()
  local srv, dir

  setup(function()
    srv = H.start()
    srv:configure({ campaign_seconds = 1, export_seconds = 1, job_seconds = 1 })
    dir = H.tmpname("-examples")
    assert(os.execute("mkdir -p " .. sh_quote(dir)))
  end)

  teardown(function()
    if srv then srv:stop() end
    if dir then os.execute("rm -rf " .. sh_quote(dir)) end
  end)

  -- Run an example with the fake server's URL and key.
  -- Returns exit ok, output, exit status; key: another API key than the server's.
  local function run(script, args, stdin, key)
    local cmd = string.format("cd %s && SCRAVIO_BASE_URL=%s SCRAVIO_API_KEY=%s SCRAVIO_OUT_DIR=%s %s %s %s 2>&1",
      sh_quote(dir), sh_quote(srv.base_url), sh_quote(key or srv.api_key), sh_quote(dir), LUA,
      sh_quote(os.getenv("PWD") .. "/examples/" .. script), args or "")
    if stdin then cmd = "printf %s " .. sh_quote(stdin) .. " | (" .. cmd .. ")" end
    -- The exit status is printed by the shell: under LuaJIT and Lua 5.1,
    -- io.popen(...):close() returns true whatever it was.
    local p = assert(io.popen("(" .. cmd .. "); echo \"<exit $?>\""))
    local out = p:read("*a")
    p:close()
    local code = out:match("<exit (%d+)>%s*$")
    out = out:gsub("<exit %d+>%s*$", "")
    return code == "0", out, tonumber(code)
  end

  it("reports an example's failing exit status", function()
    -- a key the server does not know: the example stops with a message and status 1
    local ok, out, code = run("credits_report.lua", "", nil, "sk_live_not_a_key")
    assert.is_false(ok, out)
    assert.is_number(code, out)
    assert.is_true(code ~= 0, out)
  end)

  it("validate_list.lua validates addresses from the command line", function()
    local ok, out = run("validate_list.lua", "ada@example.com grace@example.org")
    assert.is_true(ok, out)
    assert.truthy(out:find("completed", 1, true), out)
  end)

  it("validate_file.lua runs the presigned upload flow", function()
    local csv = dir .. "/contacts.csv"
    local f = assert(io.open(csv, "w"))
    f:write("name,email\nAda,ada@example.com\nGrace,grace@example.org\n")
    f:close()
    srv:reset()
    srv:configure({ campaign_seconds = 1, export_seconds = 1, job_seconds = 1 })
    local ok, out = run("validate_file.lua", sh_quote(csv))
    assert.is_true(ok, out)
    assert.equals(1, #srv:storage_requests({ method = "PUT" }))
  end)

  it("export_leads.lua exports the latest completed campaign", function()
    srv:seed_campaign({ status = "fully_completed", leads = 30 })
    local ok, out = run("export_leads.lua", "")
    assert.is_true(ok, out)
    assert.is_true(#srv:requests({ method = "POST", path = "/api/list-exports" }) >= 1)
  end)

  it("credits_report.lua summarises the ledger", function()
    local ok, out = run("credits_report.lua", "")
    assert.is_true(ok, out)
    assert.truthy(out:find("balance", 1, true) or out:find("Balance", 1, true), out)
  end)
end)
