-- `luarocks test` (the rockspec's test section): builds the module for the Lua
-- LuaRocks runs this script with (make build/<lua>/scravio/core.so), then runs
-- the busted suite under that Lua (spec/support/run_suite.sh). Extra arguments
-- are ignored. Exits with the suite's status.
local name = rawget(_G, "jit") and "luajit" or ("lua" .. _VERSION:match("%d+%.%d+"))
local function sh(cmd)
  local ok, _, code = os.execute(cmd)
  return ok == true or ok == 0, code
end
print("luarocks test: the suite under " .. name)
if not sh("make -s build/" .. name .. "/scravio/core.so") then os.exit(1) end
local ok = sh("SCRAVIO_LUAS=" .. name .. " sh spec/support/run_suite.sh")
os.exit(ok and 0 or 1)
