--- Where the `scravio` command gets its credentials and endpoint (and the
-- other client settings of the global flags), turned into scravio.new options. Secrets come from the environment or a file, never
-- from the command line (shell history, `ps`): --api-key exists for quick
-- tries only and warns every time.
--
--   --access-token-file PATH, SCRAVIO_ACCESS_TOKEN   Bearer token (wins over a key)
--   --api-key-file PATH, SCRAVIO_API_KEY             X-API-Key
--   --workspace ID, SCRAVIO_WORKSPACE_ID             X-Workspace-Id
--   --base-url URL, SCRAVIO_BASE_URL                 the API (default https://api.scravio.com/api)
-- A flag wins over the variable it stands for.
local M = {}

local function usage(msg)
  return nil, require("scravio").error("usage", msg, { retryable = false })
end

--- An environment variable, an empty one counted as unset (as the SDK does).
local function env(getenv, name)
  local v = getenv(name)
  if v == "" then return nil end
  return v
end

--- The first line of a file, without surrounding whitespace.
-- -> secret | nil, err (kind "usage": nothing was sent)
function M.read_secret(path, flag)
  local f, ferr = io.open(path, "rb")
  if not f then return usage(string.format("%s: cannot read %s", flag, tostring(ferr))) end
  local data = f:read("*a") or ""
  f:close()
  local secret = data:match("^%s*([^\r\n]-)%s*\r?\n") or data:match("^%s*(.-)%s*$")
  if secret == nil or secret == "" then
    return usage(string.format("%s: %s is empty (it should hold the secret on its first line)", flag, path))
  end
  return secret
end

--- args (parsed command line), getenv (os.getenv), warn (function(line))
-- -> scravio.new options | nil, err
function M.options(args, getenv, warn)
  getenv = getenv or os.getenv
  local opts = {}
  if args.api_key then
    warn("warning: --api-key puts the key in your shell history and in `ps`; " ..
      "use SCRAVIO_API_KEY or --api-key-file PATH instead")
  end
  local token, key, err
  if args.access_token_file then
    token, err = M.read_secret(args.access_token_file, "--access-token-file")
    if not token then return nil, err end
  end
  if args.api_key_file then
    key, err = M.read_secret(args.api_key_file, "--api-key-file")
    if not key then return nil, err end
  end
  key = key or args.api_key
  -- A key given on the command line wins over a token from the environment.
  if not token and not key then token = env(getenv, "SCRAVIO_ACCESS_TOKEN") end
  if not token and not key then key = env(getenv, "SCRAVIO_API_KEY") end
  if not token and not key then
    return usage("no credentials: set SCRAVIO_API_KEY (or SCRAVIO_ACCESS_TOKEN), " ..
      "or pass --api-key-file PATH (a file holding the key)")
  end
  if token then opts.access_token = token else opts.api_key = key end
  opts.workspace_id = args.workspace or env(getenv, "SCRAVIO_WORKSPACE_ID")
  opts.base_url = args.base_url or env(getenv, "SCRAVIO_BASE_URL")
  opts.timeout = args.request_timeout
  opts.max_retries = args.max_retries
  -- -v: the SDK's debug log (one line per request on stderr, secrets masked);
  -- SCRAVIO_LOG=debug does the same, read by the SDK itself.
  if args.verbose then opts.log = "debug" end
  return opts
end

return M
