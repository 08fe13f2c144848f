-- The examples are documentation that runs: each one is executed against
-- the fake server exactly as a user would run it, and must exit 0.
local H = require("spec.support.helpers")

local LUA = os.getenv("SCRAVIO_TEST_LUA") == "luajit" and "luajit" or "lua5.4"

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

  -- Run an example with the fake server's URL and key; returns exit ok, output.
  local function run(script, args, stdin)
    local cmd = string.format("cd %s && SCRAVIO_BASE_URL=%s SCRAVIO_API_KEY=%s SCRAVIO_OUT_DIR=%s %s %s %s 2>&1",
      sh_quote(dir), sh_quote(srv.base_url), sh_quote(srv.api_key), sh_quote(dir), LUA,
      sh_quote(os.getenv("PWD") .. "/examples/" .. script), args or "")
    if stdin then cmd = "printf %s " .. sh_quote(stdin) .. " | (" .. cmd .. ")" end
    local p = assert(io.popen(cmd))
    local out = p:read("*a")
    local ok, _, code = p:close()
    return (ok == true or code == 0), out
  end

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
