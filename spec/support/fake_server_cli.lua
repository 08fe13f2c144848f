-- Command line for the fake Scravio server (used by `make demo`).
--
--   lua5.4 spec/support/fake_server_cli.lua start [--port N] [--campaign-seconds S]
--       starts nginx in the background and prints shell `export` lines:
--         eval "$(lua5.4 spec/support/fake_server_cli.lua start)"
--   lua5.4 spec/support/fake_server_cli.lua stop <rundir>      (or --stop <rundir>)
--       stops the server started by `start` and removes its run dir
--   lua5.4 spec/support/fake_server_cli.lua run [--port N]
--       foreground: prints the same lines, serves until Ctrl-C / SIGINT / SIGTERM
--       of the waiting shell, then stops; if this Lua process itself is killed,
--       a watchdog stops nginx within about a second.
-- Works with lua5.1, luajit and lua5.4.
local function script_dir()
  local src = debug.getinfo(1, "S").source:sub(2)
  local dir = src:match("^(.*)/[^/]*$") or "."
  if dir:sub(1, 1) ~= "/" then dir = (os.getenv("PWD") or ".") .. "/" .. dir end
  return dir
end

local root = script_dir() .. "/../.."
package.path = root .. "/?.lua;" .. package.path
local fake = require("spec.support.fake_server")

local function usage(code)
  io.stderr:write("usage: fake_server_cli.lua start [--port N] [--campaign-seconds S]\n" ..
                  "       fake_server_cli.lua run [--port N] [--campaign-seconds S]\n" ..
                  "       fake_server_cli.lua stop <rundir>\n")
  os.exit(code)
end

local function q(s) return "'" .. tostring(s):gsub("'", "'\\''") .. "'" end

local function parse_opts(args, from)
  local opts = {}
  local i = from
  while i <= #args do
    local a = args[i]
    if a == "--port" then opts.port = tonumber(args[i + 1]); i = i + 2
    elseif a == "--campaign-seconds" then opts.config = { campaign_seconds = tonumber(args[i + 1]) }; i = i + 2
    else usage(2) end
  end
  return opts
end

local function print_env(srv)
  local lines = {
    "export SCRAVIO_BASE_URL=" .. q(srv.base_url),
    "export SCRAVIO_API_KEY=" .. q(srv.api_key),
    "export SCRAVIO_FAKE_RUNDIR=" .. q(srv.rundir),
    "export SCRAVIO_FAKE_TLS_BASE_URL=" .. q(srv.tls_base_url),
    "export SCRAVIO_FAKE_CA_FILE=" .. q(srv.ca_file),
    "export SCRAVIO_FAKE_STORAGE_URL=" .. q(srv.storage_url),
    "export SCRAVIO_FAKE_CONTROL_URL=" .. q(srv.control_url),
    "export SCRAVIO_FAKE_OTHER_API_KEY=" .. q(srv.other_api_key),
    "export SCRAVIO_FAKE_FREE_API_KEY=" .. q(srv.free_api_key),
    "export SCRAVIO_FAKE_POOR_API_KEY=" .. q(srv.poor_api_key),
    "export SCRAVIO_FAKE_ACCESS_TOKEN=" .. q(srv.access_token),
  }
  io.stdout:write(table.concat(lines, "\n") .. "\n")
  io.stdout:flush()
end

local cmd = arg[1]
if cmd == "start" then
  local opts = parse_opts(arg, 2)
  opts.watchdog = false
  local ok, srv = pcall(fake.start, opts)
  if not ok then io.stderr:write(tostring(srv) .. "\n") os.exit(1) end
  print_env(srv)
  os.exit(0)
elseif cmd == "stop" or cmd == "--stop" then
  local dir = arg[2]
  if not dir then usage(2) end
  fake.stop_rundir(dir)
  os.exit(0)
elseif cmd == "run" then
  local opts = parse_opts(arg, 2)
  local ok, srv = pcall(fake.start, opts)
  if not ok then io.stderr:write(tostring(srv) .. "\n") os.exit(1) end
  print_env(srv)
  io.stderr:write("fake Scravio server running at " .. srv.base_url .. " (Ctrl-C to stop)\n")
  os.execute("trap 'exit 0' INT TERM HUP; while kill -0 " .. math.floor(srv.master_pid) ..
             " 2>/dev/null; do sleep 1 & wait $!; done")
  srv:stop()
  io.stderr:write("fake Scravio server stopped\n")
  os.exit(0)
else
  usage(cmd and 2 or 0)
end
