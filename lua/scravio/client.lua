--- The Client: configuration, the resource services, and the escape hatch.
-- Credentials live in the C handle (`self._core`), never in this table.
local core = require("scravio.core")
local errors = require("scravio.errors")
local options = require("scravio.options")
local request = require("scravio.request")
local transports = require("scravio.transport")
-- The pure-Lua workflows (launch, run, wait, download, submit_file) attach
-- themselves to the services and resource objects when loaded.
require("scravio.workflows")

local Client = {}
Client.__index = Client

local DEFAULT_BASE_URL = "https://api.scravio.com/api"

-- Credentials: api_key (X-API-Key; default SCRAVIO_API_KEY) or access_token
-- (Authorization: Bearer, instead of api_key). Both given explicitly is
-- refused (which one was meant is the caller's to say); SCRAVIO_API_KEY in
-- the environment with an explicit access_token is fine: the token is used.
-- pace: true (default: short waits only, the server decides the rest),
-- "strict" (refuse locally rather than risk a 429) or false (off).
-- Every option, its type and its rule: scravio.options.schemas.new.

local function bad_option(param, msg)
  return nil, errors.invalid({ { param = param, msg = msg, location = "option" } }, "scravio.new")
end

local function bad_argument(param, msg)
  return nil, errors.invalid({ { param = param, msg = msg, location = "argument" } }, "client:request")
end

--- An environment variable, with an empty one counted as unset.
local function env(name)
  local v = os.getenv(name)
  if v == "" then return nil end
  return v
end

local function lua_version()
  local jit = rawget(_G, "jit")
  if type(jit) == "table" and jit.version then return jit.version end
  return _VERSION
end

local function api_path_missing(base_url)
  local trimmed = base_url:gsub("/+$", "")
  local path = trimmed:match("^%a[%w+.-]*://[^/]+(/.*)$") or ""
  if path:match("/api$") then return nil end
  return { base_url, trimmed .. "/api" }
end

--- scravio.new(opts) -> Client | nil, err
function Client.new(opts)
  opts = opts or {}
  if type(opts) ~= "table" then return bad_option("opts", "scravio.new expects a table of options") end
  local checked, oerr = options.check("new", opts, "scravio.new")
  if not checked then return nil, oerr end
  -- Verification is never off, whichever transport: refuse rather than ignore.
  for _, k in ipairs({ "ssl_verify", "verify", "insecure" }) do
    local v = opts[k]
    if (k == "insecure" and v ~= nil and v ~= false) or (k ~= "insecure" and v ~= nil and v ~= true) then
      return bad_option(k, "TLS verification cannot be turned off; for a private CA set ca_file " ..
        "(under OpenResty: lua_ssl_trusted_certificate)")
    end
  end
  local pace = opts.pace
  if pace == nil then pace = true end
  -- The debug log: "debug" (or true) writes one line per request to stderr,
  -- a function receives each line instead; SCRAVIO_LOG=debug turns it on
  -- without touching the script. "off"/false: nothing.
  local log = opts.log
  if log == nil then
    local e = env("SCRAVIO_LOG")
    if e ~= nil then log = e:lower() end
    if log ~= nil and log ~= "debug" and log ~= "off" then log = nil end -- an unknown level: no log, never an error
  end
  if log == true then log = "debug" end
  if log == "off" then log = false end
  local api_key = opts.api_key
  if api_key ~= nil and opts.access_token ~= nil then
    return bad_option("api_key", "both api_key and access_token were given: pass one (api_key sends X-API-Key, " ..
      "access_token sends Authorization: Bearer)")
  end
  if opts.access_token ~= nil then
    api_key = nil -- only SCRAVIO_API_KEY's default could be here: the explicit token wins
  elseif api_key == nil then
    api_key = env("SCRAVIO_API_KEY")
  end
  local timeout = opts.timeout or 60
  local base_url = opts.base_url or env("SCRAVIO_BASE_URL") or DEFAULT_BASE_URL
  local handle, err = core.client{
    base_url = base_url,
    api_key = api_key,
    access_token = opts.access_token,
    workspace_id = opts.workspace_id,
    timeout = timeout,
    connect_timeout = opts.connect_timeout or 10,
    ca_file = opts.ca_file,
    proxy = opts.proxy,
    allow_http = opts.allow_http,
    max_response_bytes = opts.max_response_bytes,
    lua_version = lua_version(),
  }
  if not handle then return nil, err end
  local transport, terr = transports.select(handle, opts)
  if not transport then
    handle:close()
    return nil, terr
  end
  local max_retries = opts.max_retries or 2
  local self = setmetatable({
    _core = handle,
    _transport = transport,
    _on_event = opts.on_event,
    _timeout = timeout,
    _max_retries = max_retries,
    _max_retry_wait = opts.max_retry_wait or 60,
    -- Pacing only takes short waits: a longer predicted wait (the 6th stop of
    -- a minute) is not taken; the call is sent and the server decides (or,
    -- with pace = "strict", it comes back as rate_limited, retry_after ~60).
    -- It never exceeds max_retry_wait, the longest wait the client takes at all.
    _max_pace_wait = math.min(opts.max_pace_wait or 10, opts.max_retry_wait or 60),
    _deadline = opts.deadline or (timeout * (max_retries + 1) + 60),
    -- The deadline the caller set, if any: it also bounds whole operations
    -- (wait, download, run); the default above bounds one request only.
    _deadline_set = opts.deadline,
    _pace = pace, -- true, "strict" or false (see scravio.pacing)
    _log = log or nil, -- "debug" or a function(line) (see request.lua)
    -- A base URL whose path does not end in /api answers 404 to every route:
    -- {given, suggested} so that 404s say so (request.spell_out).
    _api_path_missing = api_path_missing(base_url),
  }, Client)
  self.campaigns = require("scravio.campaigns").service(self)
  self.validation_jobs = require("scravio.validation_jobs").service(self)
  self.exports = require("scravio.exports").service(self)
  self.credit_transactions = require("scravio.credit_transactions").service(self)
  return self
end

function Client:__tostring()
  return tostring(self._core)
end

--- GET /auth/me -> account table. call: per-call options (options.schemas.call).
function Client:me(call)
  local copts, cerr = options.call(call, "client:me")
  if not copts then return nil, cerr end
  local body, err = request.call(self, "GET", "/auth/me", request.with(nil, copts))
  if body == nil then return nil, err end
  return request.unwrap(body)
end

local function unescape(s)
  return (s:gsub("%%(%x%x)", function(h) return string.char(tonumber(h, 16)) end))
end

--- "a=1&b=x%20y&t=A,B" -> { a = "1", b = "x y", t = { "A", "B" } }. Values are
-- percent-decoded ('+' stays '+'); a raw comma makes a list (sent comma-joined
-- again), as does a repeated key.
local function parse_query(qs)
  local out = {}
  for pair in qs:gmatch("[^&]+") do
    local k, v = pair:match("^([^=]*)=(.*)$")
    if not k then k, v = pair, "" end
    k = unescape(k)
    if k ~= "" then
      local value
      if v:find(",", 1, true) then
        value = {}
        for item in (v .. ","):gmatch("([^,]*),") do value[#value + 1] = unescape(item) end
      else
        value = unescape(v)
      end
      local prev = out[k]
      if prev == nil then
        out[k] = value
      else
        if type(prev) ~= "table" then prev = { prev } end
        if type(value) == "table" then
          for _, item in ipairs(value) do prev[#prev + 1] = item end
        else
          prev[#prev + 1] = value
        end
        out[k] = prev
      end
    end
  end
  return out
end

--- The escape hatch: any endpoint, with the same auth, retries and errors.
-- client:request("GET", "/campaigns", {query = {page = 2}}) -> decoded body
-- client:request("GET", "/campaigns?page=2&perPage=5") is the same as
-- {query = {page = "2", perPage = "5"}}: the query string is parsed (values
-- percent-decoded) and merged under opts.query, whose entries win.
-- opts.retry = true marks a non-GET as safe to resend (idempotent); the
-- per-call options (timeout, deadline, max_retries, headers) apply too.
-- Every key of opts is checked (options.schemas.request); query and body
-- are sent as given, unknown fields included.
function Client:request(method, path, opts)
  -- Errors are values, misuse included: nothing is sent.
  if type(method) ~= "string" or not method:match("^%a+$") or #method > 16 then
    return bad_argument("method", "method must be an HTTP method name such as \"GET\" or \"POST\", got "
      .. (type(method) == "string" and string.format("%q", method) or type(method)))
  end
  if type(path) ~= "string" or path == "" then
    return bad_argument("path", "path must be a non-empty string such as \"/campaigns\", got "
      .. (type(path) == "string" and '""' or type(path)))
  end
  if opts ~= nil and type(opts) ~= "table" then return bad_argument("opts", "opts must be a table") end
  local checked, oerr = options.check("request", opts, "client:request")
  if not checked then return nil, oerr end
  opts = checked
  method = method:upper()
  local safe = method == "GET" or method == "HEAD" or opts.retry == true
  local query = opts.query
  local q = path:find("?", 1, true)
  if q then
    local parsed = parse_query(path:sub(q + 1))
    path = path:sub(1, q - 1)
    if type(query) == "table" then
      for k, v in pairs(query) do parsed[k] = v end
      query = parsed
    elseif query == nil then
      query = parsed
    end -- anything else: prepare() reports it
  end
  -- A literal path: '{' would be read as a placeholder, so escape it.
  local template = path:gsub("{}", "%%7B%%7D")
  local body, err = request.call(self, method, template, {
    query = query, body = opts.body, safe = safe, timeout = opts.timeout,
    max_retries = opts.max_retries, deadline = opts.deadline, headers = opts.headers,
  })
  if body == nil then return nil, err end
  return body -- (not request.call's status as a second value: callers read `body, err`)
end

local function number_of(s)
  local n = tonumber(s)
  if n and math.tointeger then n = math.tointeger(n) or n end
  return n or s
end

--- What the last HTTP answer this client received said about itself:
-- {method, path, status, request_id, attempts, rate_limit = {limit, remaining,
-- reset}} (rate_limit only when the server sent X-RateLimit-* headers), or
-- nil before the first answer. The answer behind the result a call just
-- returned; for an iterator, its latest page. Values are masked like errors.
function Client:last_response()
  if self._last_status == nil then return nil end
  local rl
  if self._last_rl_limit or self._last_rl_left or self._last_rl_reset then
    rl = { limit = number_of(self._last_rl_limit), remaining = number_of(self._last_rl_left),
      reset = number_of(self._last_rl_reset) }
  end
  return { method = self._last_method, path = self._last_path, status = self._last_status,
    request_id = self._last_request_id, attempts = self._last_attempts, rate_limit = rl }
end

--- Non-secret configuration (base_url, auth kind, masked key, timeouts).
function Client:info()
  return self._core:info()
end

--- Release the connection now rather than at garbage collection.
function Client:close()
  self._core:close()
end

-- client.me() (a dot) answers with what to write instead (scravio.receivers).
require("scravio.receivers").guard(Client, "client",
  function(x) return type(x) == "table" and getmetatable(x) == Client end, { new = true })

return Client
