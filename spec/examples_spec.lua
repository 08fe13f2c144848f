-- The examples are documentation that runs: each one is executed against
-- the fake server exactly as a user would run it, and must exit 0.
local H = require("spec.support.helpers")

-- The examples run under the Lua the suite is testing (luajit, lua5.1 ...);
-- each finds build/<its lua>/ itself.
local LUA = os.getenv("SCRAVIO_TEST_LUA") or ""
if not LUA:match("^lua[%w%.]*$") then LUA = "lua5.4" end

local function sh_quote(s) return "'" .. tostring(s):gsub("'", "'\\''") .. "'" end

-- The suite's module search path with every relative entry made absolute: the
-- examples run from another directory, and a build given by SCRAVIO_CPATH
-- (make asan: build/asan/?.so) must still be found there.
local function absolute(search_path)
  local pwd = os.getenv("PWD")
  return (search_path:gsub("[^;]+", function(entry)
    if entry:sub(1, 1) ~= "/" then return pwd .. "/" .. entry:gsub("^%./", "") end
  end))
end
local CPATH = absolute(os.getenv("LUA_CPATH") or "")

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

  -- Run an example with the fake server's URL and key, from `dir`, writing into
  -- out_dir (default `dir`; false: SCRAVIO_OUT_DIR unset).
  -- Returns exit ok, output, exit status; key: another API key than the server's.
  local function run(script, args, stdin, key, out_dir)
    if out_dir == nil then out_dir = dir end
    local cmd = string.format("cd %s && unset SCRAVIO_OUT_DIR; LUA_CPATH=%s SCRAVIO_BASE_URL=%s SCRAVIO_API_KEY=%s %s %s %s %s 2>&1",
      sh_quote(dir), sh_quote(CPATH), sh_quote(srv.base_url), sh_quote(key or srv.api_key),
      out_dir and "SCRAVIO_OUT_DIR=" .. sh_quote(out_dir) or "", LUA,
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

  it("credits_report.lua summarises the ledger, also of a fresh account", function()
    srv:reset() -- only the opening entry, dated 30 days back
    local ok, out = run("credits_report.lua", "")
    assert.is_true(ok, out)
    assert.truthy(out:find("balance", 1, true) or out:find("Balance", 1, true), out)
    assert.truthy(out:find("SUBSCRIPTION_INITIAL", 1, true), out)
    assert.truthy(out:find("ledger and balance agree", 1, true), out)
  end)

  it("write into a new temporary directory without SCRAVIO_OUT_DIR, never the current one", function()
    srv:reset()
    srv:configure({ campaign_seconds = 1, export_seconds = 1, job_seconds = 1 })
    local before = H.listdir(dir)
    local ok, out = run("validate_list.lua", "ada@example.com", nil, nil, false)
    assert.is_true(ok, out)
    local written = out:match("results: (%S+)")
    assert.truthy(written, out)
    assert.are.same(before, H.listdir(dir))
    assert.is_nil(written:find(dir, 1, true), written)
    local f = assert(io.open(written, "rb"), written)
    f:close()
    os.execute("rm -rf " .. sh_quote(written:match("^(.*)/[^/]+$")))
  end)
end)
