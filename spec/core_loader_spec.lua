-- A scravio/core.so built for another Lua (the ./scravio/core.so that
-- `luarocks make` leaves in a checkout, found by package.cpath's ./?.so) is
-- refused with a message naming the build to use, not dlopen's bare
-- "undefined symbol".
local H = require("spec.support.helpers")
local loader = require("scravio.core_loader")

local function sh_quote(s) return "'" .. tostring(s):gsub("'", "'\\''") .. "'" end

describe("scravio.core_loader", function()
  it("names the build of the running Lua", function()
    local expected = rawget(_G, "jit") and "luajit" or ("lua" .. _VERSION:match("%d+%.%d+"))
    assert.are.equal(expected, loader.build_name())
  end)

  it("explains an undefined Lua symbol and a version mismatch", function()
    local msg = loader.explain("error loading module 'scravio.core' from file './scravio/core.so':\n\t" ..
      "./scravio/core.so: undefined symbol: lua_getiuservalue")
    assert.truthy(msg:find("./scravio/core.so was built for another Lua", 1, true), msg)
    assert.truthy(msg:find("make build/" .. loader.build_name() .. "/scravio/core.so", 1, true), msg)
    assert.truthy(msg:find("luarocks make", 1, true), msg)
    assert.truthy(loader.explain("version mismatch: app. needs 503, Lua core provides 504"))
    -- anything else keeps its own message
    assert.is_nil(loader.explain("module 'scravio.core' not found"))
    assert.is_nil(loader.explain("undefined symbol: curl_easy_init"))
  end)

  it("refuses a build for another Lua found through ./?.so", function()
    local lua = os.getenv("SCRAVIO_TEST_LUA") or "lua5.4"
    if lua == "openresty" then lua = "luajit" end
    -- a build that is surely not this Lua's (and not ABI-compatible with it)
    local other = (lua == "lua5.4") and "lua5.1" or "lua5.4"
    local root = os.getenv("PWD")
    local so = root .. "/build/" .. other .. "/scravio/core.so"
    if not io.open(so, "rb") then -- make asan / make valgrind build only their own
      assert(os.execute("cd " .. sh_quote(root) .. " && env -u LD_PRELOAD make -s build/" .. other .. "/scravio/core.so"))
    end
    local dir = H.tmpdir()
    finally(function() H.rmdir(dir) end)
    assert(os.execute("mkdir -p " .. sh_quote(dir .. "/scravio") .. " && cp " .. sh_quote(so) .. " " ..
      sh_quote(dir .. "/scravio/core.so")))
    local code = "package.path = " .. string.format("%q", root .. "/lua/?.lua;" .. root .. "/lua/?/init.lua;") ..
      " .. package.path; local ok, err = pcall(require, 'scravio'); io.write(tostring(ok), ' ', tostring(err))"
    local p = assert(io.popen("cd " .. sh_quote(dir) .. " && LUA_CPATH='./?.so;;' " .. lua .. " -e " ..
      sh_quote(code) .. " 2>&1"))
    local out = p:read("*a")
    p:close()
    assert.truthy(out:find("^false "), out)
    assert.truthy(out:find("./scravio/core.so was built for another Lua", 1, true), out)
    assert.truthy(out:find("build/" .. (lua == "luajit" and "luajit" or lua) .. "/", 1, true), out)
  end)
end)
