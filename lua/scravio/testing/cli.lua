--- The command line of the fake Scravio server: `scravio-fake` (installed by
-- the rock) and spec/support/fake_server_cli.lua (`make demo`) both run main().
--
--   scravio-fake [run] [--port N] [--campaign-seconds S] [--frozen]
--       serves in the foreground until Ctrl-C; prints the base URL and the
--       API key (and the same as shell `export` lines on stdout)
--   scravio-fake start [options]     background; prints only the export lines:
--       eval "$(scravio-fake start)"
--   scravio-fake stop <rundir>       stops what `start` started ($SCRAVIO_FAKE_RUNDIR)
local testing = require("scravio.testing")

local M = {}

local USAGE = [[
usage: scravio-fake [run] [--port N] [--campaign-seconds S] [--frozen]
       scravio-fake start [--port N] [--campaign-seconds S] [--frozen]
       scravio-fake stop <rundir>

A fake Scravio API on 127.0.0.1 for trying scripts without an account:
  run    (default) serve in the foreground until Ctrl-C
  start  serve in the background; eval "$(scravio-fake start)" sets
         SCRAVIO_BASE_URL, SCRAVIO_API_KEY, SCRAVIO_FAKE_RUNDIR, ...
  stop   stop a server started with start (its SCRAVIO_FAKE_RUNDIR)
Options: --port N (API port; default a free one), --campaign-seconds S
(campaign duration on the fake clock, default 3), --frozen (the clock moves
only with POST <control_url>/advance {"seconds": n}).
]]

local function q(s) return "'" .. tostring(s):gsub("'", "'\\''") .. "'" end

local function parse_opts(args, from)
  local opts = {}
  local i = from
  while i <= #args do
    local a = args[i]
    if a == "--port" and tonumber(args[i + 1]) then
      opts.port = tonumber(args[i + 1]); i = i + 2
    elseif a == "--campaign-seconds" and tonumber(args[i + 1]) then
      opts.config = { campaign_seconds = tonumber(args[i + 1]) }; i = i + 2
    elseif a == "--frozen" then
      opts.frozen = true; i = i + 1
    else
      return nil, "unknown or incomplete option " .. tostring(a)
    end
  end
  return opts
end

local function env_lines(srv)
  return table.concat({
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
  }, "\n") .. "\n"
end

local function start(opts)
  local ok, srv = pcall(testing.start, opts)
  if not ok then return nil, tostring(srv) end
  return srv
end

--- main(args, out, err) -> exit status (out/err default to io.stdout/io.stderr)
function M.main(args, out, err)
  out, err = out or io.stdout, err or io.stderr
  local cmd = args[1]
  local from = 2
  if cmd == "help" or cmd == "-h" or cmd == "--help" then out:write(USAGE) return 0 end
  if cmd == nil or cmd:sub(1, 2) == "--" then cmd, from = "run", 1 end
  if cmd == "stop" or cmd == "--stop" then
    if not args[2] then err:write(USAGE) return 2 end
    -- A mistyped run directory must not look like a stopped server.
    local recorded = false
    for _, name in ipairs({ "/server.json", "/nginx.pid" }) do
      local f = io.open(args[2] .. name, "r")
      if f then f:close() recorded = true end
    end
    if not recorded then
      err:write("scravio-fake: no server recorded in " .. args[2] ..
        " (no server.json or nginx.pid there): pass the SCRAVIO_FAKE_RUNDIR that start printed\n")
      return 1
    end
    testing.stop_rundir(args[2])
    return 0
  end
  if cmd ~= "start" and cmd ~= "run" then err:write(USAGE) return 2 end
  local opts, perr = parse_opts(args, from)
  if not opts then err:write("scravio-fake: " .. perr .. "\n" .. USAGE) return 2 end
  if cmd == "start" then opts.watchdog = false end
  local srv, serr = start(opts)
  if not srv then err:write(serr .. "\n") return 1 end
  if cmd == "start" then
    out:write(env_lines(srv))
    out:flush()
    return 0
  end
  err:write("fake Scravio server running (Ctrl-C stops it)\n" ..
    "  base_url  " .. srv.base_url .. "\n" ..
    "  api_key   " .. srv.api_key .. "\n" ..
    "  control   " .. srv.control_url .. "  (POST /advance {\"seconds\": n}, /fault {...}, /reset)\n")
  out:write(env_lines(srv))
  out:flush()
  os.execute("trap 'exit 0' INT TERM HUP; while kill -0 " .. math.floor(srv.master_pid) ..
             " 2>/dev/null; do sleep 1 & wait $!; done")
  srv:stop()
  err:write("fake Scravio server stopped\n")
  return 0
end

return M
