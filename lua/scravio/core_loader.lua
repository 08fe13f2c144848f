--- Loads the C core (scravio.core) and, when that fails because the file found
-- was built for another Lua, says which build to use instead of dlopen's bare
-- "undefined symbol: lua_getiuservalue".
--
-- The usual cause: `luarocks make` leaves ./scravio/core.so (built for the Lua
-- LuaRocks is configured for) in the checkout, and package.cpath's "./?.so"
-- finds it first from another Lua. The checkout's own builds live side by side
-- in build/<lua>/ (`make all`), one per Lua.
local M = {}

--- The build directory name of the running Lua: "luajit", "lua5.1" ... "lua5.4".
function M.build_name()
  if rawget(_G, "jit") then return "luajit" end
  return "lua" .. (_VERSION:match("%d+%.%d+") or "")
end

--- The message for a failed require("scravio.core") (nil when it is not a
-- mismatched build, so the original error stands).
function M.explain(err)
  err = tostring(err)
  local file = err:match("from file '([^']+)'")
  local mismatch = err:match("undefined symbol: (lua[L_]?[%w_]*)") or err:match("(version mismatch[^\n]*)")
  if not mismatch then return nil end
  local name = M.build_name()
  local this = rawget(_G, "jit") and (jit.version or "LuaJIT") or _VERSION
  local hint = ""
  if file and file:match("^%./") then
    hint = " " .. file .. " in the current directory is probably what `luarocks make` left there:" ..
      " remove it (make clean), or run from another directory."
  end
  return string.format(
    "scravio: %s was built for another Lua than this %s (%s). Use the build for %s:" ..
    " `make build/%s/scravio/core.so` and put build/%s/?.so first on LUA_CPATH," ..
    " or install the rock for it (luarocks --lua-version=%s make).%s",
    file or "scravio.core", this, mismatch, name, name, name,
    name == "luajit" and "5.1" or name:gsub("^lua", ""), hint)
end

--- require("scravio.core") with the explanation above on a mismatched build.
function M.load()
  local ok, core = pcall(require, "scravio.core")
  if ok then return core end
  error(M.explain(core) or core, 2)
end

return M
