--- The SDK's own option tables: one schema per table, one checker, one
-- did-you-mean. Every option table a user hands the SDK (scravio.new, the
-- per-call options of every request, launch, run, wait, download,
-- submit_file, client:request) is checked here before anything is sent: an
-- unknown key or a value of the wrong type is `nil, err` with kind
-- "invalid", err.errors[1].param naming the key, and the message naming the
-- option probably meant. A misspelt option is never silently ignored (a
-- `max_credit = 10` for `max_credits` would otherwise lift the budget check).
--
-- The schemas are plain data, readable by tools and annotations:
--   options.schemas.<name>.<key> = { type = "number", doc = "...", check = fn }
-- `type` is a Lua type name, several joined by "|" ("string|function"), or
-- "any"; `check(v) -> message | nil` adds a rule on the value (ranges ...).
--
-- options.nearest is also how API field typos are recognised
-- (scravio.validate): by letter case, or a small edit distance.
local errors = require("scravio.errors")

local M = {}

---------------------------------------------------------------------------
-- Did you mean ...?
---------------------------------------------------------------------------

--- Edit distance (optimal string alignment: an insertion, a deletion, a
-- substitution or a swap of two neighbours each count 1), stopping early
-- once it is certainly above `limit`.
local function distance(a, b, limit)
  local la, lb = #a, #b
  if math.abs(la - lb) > limit then return limit + 1 end
  local prev2, prev = {}, {}
  for j = 0, lb do prev[j] = j end
  for i = 1, la do
    local cur = { [0] = i }
    local ai = a:byte(i)
    local row_min = i
    for j = 1, lb do
      local bj = b:byte(j)
      local cost = ai == bj and 0 or 1
      local d = math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
      if i > 1 and j > 1 and ai == b:byte(j - 1) and a:byte(i - 1) == bj then
        d = math.min(d, prev2[j - 2] + 1)
      end
      cur[j] = d
      if d < row_min then row_min = d end
    end
    if row_min > limit then return limit + 1 end
    prev2, prev = prev, cur
  end
  return prev[lb]
end
M.distance = distance

--- How far a misspelling of `name` may be from it and still be taken for
-- it, strict form (API fields, where an unknown field is otherwise sent as
-- it is): only the letter case for names under 4 characters (`q`, `to`,
-- `key` are too short to guess at), 1 edit up to 7 characters, 2 beyond.
function M.strict_limit(name)
  local n = #name
  if n < 4 then return 0 end
  if n < 8 then return 1 end
  return 2
end

--- The loose form, for the SDK's own options: any unknown option is refused
-- anyway, the hint only has to be helpful.
function M.loose_limit(name)
  return math.max(2, math.floor(#name / 3))
end

--- nearest(name, candidates, limit) -> array of the closest candidates (the
-- same letters in another case first, else the smallest edit distance
-- within limit(candidate)), sorted; empty when none is close.
-- candidates: an array of names, or a set (name -> anything).
-- limit: a function(candidate) -> edits (default M.strict_limit).
function M.nearest(name, candidates, limit)
  limit = limit or M.strict_limit
  local list = {}
  if candidates[1] ~= nil then
    for _, c in ipairs(candidates) do list[#list + 1] = c end
  else
    for c in pairs(candidates) do
      if type(c) == "string" then list[#list + 1] = c end
    end
  end
  local folded = name:lower()
  local best, best_d = {}, math.huge
  for _, c in ipairs(list) do
    if c ~= name then
      local d
      if c:lower() == folded then
        d = 0 -- the same name in another case: the likeliest typo of all
      else
        local lim = limit(c)
        d = distance(folded, c:lower(), lim)
        if d > lim then d = nil end -- (d >= 1 here: any real edit ranks after a case-only difference)
      end
      if d and d < best_d then
        best, best_d = { c }, d
      elseif d and d == best_d then
        best[#best + 1] = c
      end
    end
  end
  table.sort(best)
  return best
end

--- " (did you mean x?)", " (did you mean x or y?)" or "".
function M.hint(names)
  if not names or #names == 0 then return "" end
  if #names == 1 then return " (did you mean " .. names[1] .. "?)" end
  return " (did you mean " .. table.concat(names, ", ", 1, #names - 1) .. " or " .. names[#names] .. "?)"
end

---------------------------------------------------------------------------
-- Value rules shared by several schemas
---------------------------------------------------------------------------

local function positive(name)
  return function(v)
    if not (v > 0) then return name .. " must be a number of seconds greater than 0" end
  end
end

local function not_negative(name)
  return function(v)
    if v ~= v or v < 0 then return name .. " must be a number >= 0" end
  end
end

local function whole(name)
  return function(v)
    if v ~= v or v < 0 or v ~= math.floor(v) or v == math.huge then
      return name .. " must be a whole number >= 0"
    end
  end
end

-- A file the SDK will read later (a CA bundle): a misspelt path is refused
-- now, not as a TLS failure of every request.
local function readable(name)
  return function(v)
    local f, err = io.open(v, "rb")
    if not f then
      return string.format("%s cannot be read: %s", name, tostring(err):gsub("^" .. v:gsub("%p", "%%%0") .. ": ", ""))
        .. " (" .. v .. ")"
    end
    f:close()
  end
end

local function nonempty(name)
  return function(v)
    if v == "" then return name .. " must not be empty" end
  end
end

-- Headers the SDK owns: credentials (never settable per call), and the ones
-- that frame the request. Lower case.
M.RESERVED_HEADERS = {
  ["x-api-key"] = true, authorization = true, ["x-workspace-id"] = true, ["proxy-authorization"] = true,
  cookie = true, host = true, ["content-length"] = true, ["transfer-encoding"] = true,
  connection = true, ["keep-alive"] = true, te = true, trailer = true, upgrade = true, expect = true,
  ["content-type"] = true, accept = true, ["user-agent"] = true,
  -- the bodies' encodings: the SDK sends Accept-Encoding: identity and
  -- reads (and streams to disk) bodies as sent; a second Accept-Encoding
  -- went out beside it and a server honouring it would compress.
  ["accept-encoding"] = true, ["content-encoding"] = true,
}

--- headers = {["X-Trace-Id"] = "abc", ...}: extra request headers for the
-- API call. Names are HTTP tokens, values single-line strings; the
-- credential and framing headers are the SDK's and refused.
local function check_headers(t)
  for k, v in pairs(t) do
    if type(k) ~= "string" or not k:match("^[%w!#$%%&'*+%-.^_`|~]+$") then
      return string.format("headers: %s is not a valid header name (letters, digits and -)", tostring(k))
    end
    if M.RESERVED_HEADERS[k:lower()] then
      return string.format("headers: %s is set by the SDK and cannot be given per call%s", k,
        (k:lower() == "x-api-key" or k:lower() == "authorization" or k:lower() == "x-workspace-id")
          and " (credentials are set once, in scravio.new)" or "")
    end
    if type(v) ~= "string" and type(v) ~= "number" then
      return string.format("headers: the value of %s must be a string, got %s", k, type(v))
    end
    if tostring(v):find("[%z\r\n]") then
      return string.format("headers: the value of %s must not contain CR, LF or NUL", k)
    end
  end
end
M.check_headers = check_headers

---------------------------------------------------------------------------
-- Schemas
---------------------------------------------------------------------------

M.schemas = {}

local function extend(base, more)
  local s = {}
  for k, v in pairs(base or {}) do s[k] = v end
  for k, v in pairs(more or {}) do s[k] = v end
  return s
end
M.extend = extend

--- The per-call options every method that makes a request accepts, as its
-- last argument: they apply to that call's requests only.
M.schemas.call = {
  timeout = { type = "number", check = positive("timeout"), doc = "seconds per attempt (default: the client's timeout)" },
  deadline = { type = "number", check = positive("deadline"),
    doc = "seconds for the whole call, retries and waits included (default: the client's)" },
  max_retries = { type = "number", check = whole("max_retries"), doc = "retries of a retryable failure (default: the client's)" },
  headers = { type = "table", check = check_headers, doc = "extra request headers (no credentials, no framing headers)" },
}

M.schemas.new = {
  api_key = { type = "string", doc = "X-API-Key (default: SCRAVIO_API_KEY)" },
  access_token = { type = "string", doc = "Authorization: Bearer, instead of api_key" },
  workspace_id = { type = "string", doc = "sends X-Workspace-Id" },
  base_url = { type = "string", doc = "default: SCRAVIO_BASE_URL or https://api.scravio.com/api" },
  timeout = { type = "number", check = positive("timeout"), doc = "seconds per attempt (default 60)" },
  connect_timeout = { type = "number", check = positive("connect_timeout"), doc = "seconds (default 10)" },
  max_retries = { type = "number", check = whole("max_retries"), doc = "retries of safe requests (default 2)" },
  ca_file = { type = "string", check = readable("ca_file"), doc = "PEM bundle of trusted CAs (must be readable)" },
  proxy = { type = "string", doc = "proxy URL" },
  on_event = { type = "function", doc = "function(event) for logging and metrics" },
  allow_http = { type = "boolean", doc = "permit plain http:// to non-loopback hosts" },
  max_response_bytes = { type = "number", check = function(v)
    if not (v > 0) then return "max_response_bytes must be greater than 0" end
  end, doc = "larger answers are refused (default 16 MiB)" },
  max_retry_wait = { type = "number", check = not_negative("max_retry_wait"), doc = "longest Retry-After slept through (default 60)" },
  max_pace_wait = { type = "number", check = not_negative("max_pace_wait"), doc = "longest pacing wait taken (default 10)" },
  deadline = { type = "number", check = positive("deadline"), doc = "bound on one call, retries included" },
  pace = { type = "boolean|string", check = function(v)
    if v ~= true and v ~= false and v ~= "strict" then
      return string.format('pace must be true, false or "strict", got %q', v)
    end
  end, doc = 'true (default), "strict" or false' },
  transport = { type = "string|table", doc = '"curl", "ngx" or a transport object' },
  log = { type = "boolean|string|function", check = function(v)
    if type(v) == "string" and v ~= "debug" and v ~= "off" then
      return string.format('log must be "debug", "off", a boolean or a function(line), got %q', v)
    end
  end, doc = '"debug": one line per request on stderr (default: SCRAVIO_LOG); a function(line) gets them' },
  -- OpenResty (cosocket transport) only
  pool_size = { type = "number", doc = "cosocket pool size (OpenResty)" },
  keepalive_timeout = { type = "number", doc = "cosocket keepalive, ms (OpenResty)" },
  -- Known only to be refused with a useful message (scravio.new): TLS
  -- verification is never off.
  ssl_verify = { type = "any", doc = "only true is accepted (verification cannot be turned off)" },
  verify = { type = "any", doc = "only true is accepted (verification cannot be turned off)" },
  insecure = { type = "any", doc = "only false is accepted (verification cannot be turned off)" },
}

M.schemas.request = extend(M.schemas.call, {
  query = { type = "table", doc = "query parameters, sent as given" },
  body = { type = "any", doc = "the JSON body (a table), or a string sent as it is" },
  retry = { type = "boolean", doc = "true marks a non-GET as safe to resend" },
})

M.schemas.launch = extend(M.schemas.call, {
  max_credits = { type = "number", check = function(v)
    if not (v == v and v > 0 and v < math.huge) then return "max_credits must be a number of credits greater than 0" end
  end, doc = "refuse when the launch would reserve more (client-side; never sent)" },
  confirm = { type = "function", doc = "function(preview, info) -> true to create" },
})

-- The second table of c:validate(call, guard): its budget guard.
M.schemas.validate_guard = {
  max_credits = { type = "number", check = M.schemas.launch.max_credits.check,
    doc = "refuse when the validation preview's creditCost is more (client-side; never sent)" },
  confirm = { type = "function", doc = "function(preview, info) -> true to validate" },
}

M.schemas.wait = {
  timeout = { type = "number", check = not_negative("timeout"),
    doc = "seconds for the whole wait, the refresh in flight included (default: the client's deadline if set, else 24 h)" },
  interval = { type = "number", check = not_negative("interval"), doc = "first pause between refreshes (default 2)" },
  max_interval = { type = "number", check = not_negative("max_interval"), doc = "longest pause (default 30)" },
  max_errors = { type = "number", check = not_negative("max_errors"), doc = "consecutive retryable failures tolerated (default 5)" },
  on_progress = { type = "function", doc = "function(obj), on every change of status or progress" },
  progress = { type = "boolean", doc = "a progress line on stderr (terminals only)" },
  deadline = { type = "number", check = positive("deadline"),
    doc = "seconds for the whole wait, the refresh in flight included" },
  max_retries = M.schemas.call.max_retries,
  headers = M.schemas.call.headers,
}

-- `timeout` of the workflows that make several requests (download,
-- submit_file) is per attempt, as everywhere: it bounds each attempt of each
-- API request they make and each storage transfer attempt. `deadline` bounds
-- the whole call: every request, transfer, retry and pause (request.within).
local PER_ATTEMPT_OF_EACH = "seconds per attempt of each request: every API request's attempt, and every storage " ..
  "transfer attempt (default: the client's timeout for API requests; transfers: none, but one moving less than " ..
  "1 KB/s for the client's timeout ends as stalled)"
local WHOLE_CALL = "seconds for the whole call: every request, transfer, retry and pause (default: the client's " ..
  "deadline if one was set, else none)"

M.schemas.download = {
  progress = { type = "boolean", doc = "a progress bar on stderr (terminals only)" },
  timeout = { type = "number", check = positive("timeout"), doc = PER_ATTEMPT_OF_EACH },
  deadline = { type = "number", check = positive("deadline"), doc = WHOLE_CALL },
  max_retries = M.schemas.call.max_retries,
  overwrite = { type = "boolean", doc = "without a path: replace an existing file of the suggested name" },
  mode = { type = "number|string", doc = "permissions of a new file (default 0600; a replaced file keeps its own)" },
  headers = M.schemas.call.headers,
}

M.schemas.submit_file = {
  column = { type = "string|function", check = nonempty("column"),
    doc = "the email column (key or label), or function(review) -> key|label|nil" },
  content_type = { type = "string", check = nonempty("content_type"), doc = "MIME type (default from the extension)" },
  max_credits = { type = "number", check = M.schemas.launch.max_credits.check,
    doc = "refuse to confirm when the review's estimatedCredits is more (client-side; never sent)" },
  confirm = { type = "function", doc = "function(review, info) -> true to confirm" },
  progress = { type = "boolean", doc = "an upload progress bar on stderr (terminals only)" },
  timeout = { type = "number", check = positive("timeout"), doc = PER_ATTEMPT_OF_EACH },
  deadline = { type = "number", check = positive("deadline"), doc = WHOLE_CALL },
  idempotency_key = { type = "string", check = nonempty("idempotency_key"), doc = "reuse a key (to resume)" },
  max_retries = M.schemas.call.max_retries,
  headers = M.schemas.call.headers,
}

M.schemas.run = {
  max_credits = M.schemas.launch.max_credits,
  confirm = M.schemas.launch.confirm,
  out = { type = "string", check = nonempty("out"), doc = "where the leads file goes (default leads.csv / leads.xlsx)" },
  overwrite = { type = "boolean", doc = "replace a file already at out (default: yes for an out you name, " ..
    "no for the default leads.csv; false: never, refused before anything is sent)" },
  emailOnly = { type = "boolean", doc = "export option" },
  onlyValidEmails = { type = "boolean", doc = "export option" },
  fileFormat = { type = "string", doc = 'export option: "csv" or "xlsx"' },
  progress = M.schemas.wait.progress,
  timeout = { type = "number", check = not_negative("timeout"),
    doc = "seconds for the two waits together (default: each wait's own bound)" },
  deadline = { type = "number", check = positive("deadline"), doc = "seconds for the whole run: every request, " ..
    "wait, pause and the download (default: the client's deadline if one was set, else none)" },
  interval = M.schemas.wait.interval,
  max_interval = M.schemas.wait.max_interval,
  on_progress = M.schemas.wait.on_progress,
  max_retries = M.schemas.call.max_retries,
  headers = M.schemas.call.headers,
}

---------------------------------------------------------------------------
-- Checking
---------------------------------------------------------------------------

local function type_ok(want, v)
  if want == "any" then return true end
  local t = type(v)
  if want == t then return true end
  for alt in want:gmatch("[^|]+") do
    if alt == t then return true end
  end
  return false
end

local function describe(want)
  local parts = {}
  for alt in want:gmatch("[^|]+") do parts[#parts + 1] = alt end
  if #parts == 1 then return "a " .. parts[1] end
  return "a " .. table.concat(parts, " or a ")
end

local function refuse(what, param, msg, location)
  return nil, errors.invalid({ { param = param, msg = msg, location = location or "option" } }, what)
end

-- What check answers for absent options: one shared, read-only empty table
-- (no allocation on the hot path: every get and refresh checks its call).
local NONE = setmetatable({}, { __newindex = function() error("scravio.options: the empty options are read-only", 2) end })
M.NONE = NONE

--- check(schema, opts, what) -> opts (or options.NONE for nil) | nil, err
-- schema: a name in M.schemas or a schema table; what: how messages name
-- the call ("launch", "campaigns:get" ...). The options are returned as
-- given: callers read them, never write to them.
function M.check(schema, opts, what)
  local s = type(schema) == "string" and M.schemas[schema] or schema
  if opts == nil then return NONE end
  if type(opts) ~= "table" then
    return refuse(what, "opts", string.format("options must be a table such as {timeout = 10}, got %s", type(opts)))
  end
  for k, v in pairs(opts) do
    local spec = s[k]
    if spec == nil then
      local near = type(k) == "string" and M.nearest(k, s, M.loose_limit) or nil
      return refuse(what, tostring(k), string.format("unknown option %s%s", tostring(k), M.hint(near)))
    end
    if not type_ok(spec.type, v) then
      return refuse(what, k, string.format("%s must be %s, got %s", k, describe(spec.type), type(v)))
    end
    if spec.check then
      local msg = spec.check(v)
      if msg then return refuse(what, k, msg) end
    end
  end
  return opts
end

--- The per-call options of a method (its last argument). -> opts | nil, err
function M.call(opts, what)
  return M.check(M.schemas.call, opts, what)
end

--- The entries of opts that are per-call options, for the requests a
-- workflow makes (launch, wait, download ...): a new table, or nil when
-- none. keys: which ones (default: every per-call option).
function M.call_part(opts, keys)
  if not opts then return nil end
  local out
  if not keys then
    keys = {}
    for k in pairs(M.schemas.call) do keys[#keys + 1] = k end
  end
  for _, k in ipairs(keys) do
    if opts[k] ~= nil then
      out = out or {}
      out[k] = opts[k]
    end
  end
  return out
end

return M
