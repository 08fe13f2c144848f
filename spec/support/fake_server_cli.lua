-- Command line for the fake Scravio server from a checkout (used by `make demo`);
-- the same as the rock's `scravio-fake` command (lua/scravio/testing/cli.lua):
--
--   lua5.4 spec/support/fake_server_cli.lua start [--port N] [--campaign-seconds S] [--frozen]
--       starts nginx in the background and prints shell `export` lines:
--         eval "$(lua5.4 spec/support/fake_server_cli.lua start)"
--   lua5.4 spec/support/fake_server_cli.lua stop <rundir>      (or --stop <rundir>)
--       stops the server started by `start` and removes its run dir
--   lua5.4 spec/support/fake_server_cli.lua run [--port N]
--       foreground: prints the same lines, serves until Ctrl-C / SIGINT / SIGTERM
--       of the waiting shell, then stops; if this Lua process itself is killed,
--       a watchdog stops nginx within about a second.
-- Works with lua5.1-5.4 and luajit.
local function script_dir()
  local src = debug.getinfo(1, "S").source:sub(2)
  local dir = src:match("^(.*)/[^/]*$") or "."
  if dir:sub(1, 1) ~= "/" then dir = (os.getenv("PWD") or ".") .. "/" .. dir end
  return dir
end

local root = script_dir() .. "/../.."
package.path = root .. "/lua/?.lua;" .. root .. "/lua/?/init.lua;" .. package.path
os.exit(require("scravio.testing.cli").main(arg))
