--- Turning command-line flags into the API's request tables, with the API's
-- own field names (type, inputs, targetEmails, maxCreditCap ...), so that
-- what the SDK validates and sends is what the reference documents.
local scravio = require("scravio")

local M = {}

local function usage(msg)
  error(scravio.error("usage", msg, { retryable = false }), 0)
end

-- Inputs the reference documents as arrays: a value is split on commas, and
-- a repeated --input appends.
M.LIST_INPUTS = { hashtags = true, keywords = true, countries = true }

--- A whole number from a flag ("500" -> 500, an integer where Lua has them).
function M.integer(s, flag)
  local n = tonumber(s)
  if n == nil or n ~= math.floor(n) then usage(string.format("%s expects a whole number, got %q", flag, tostring(s))) end
  if math.tointeger then n = math.tointeger(n) or n end
  return n
end

--- A number of credits or seconds (> 0 unless zero_ok).
function M.number(s, flag, zero_ok)
  local n = tonumber(s)
  if n == nil or n ~= n or n == math.huge or n < 0 or (n == 0 and not zero_ok) then
    usage(string.format("%s expects a number greater than 0, got %q", flag, tostring(s)))
  end
  if math.tointeger then n = math.tointeger(n) or n end
  return n
end

--- Read a file ("-" is stdin) whole.
function M.slurp(path, flag)
  local f, err
  if path == "-" then f = io.stdin else f, err = io.open(path, "rb") end
  if not f then usage(string.format("%s: cannot read %s", flag, tostring(err))) end
  local data = f:read("*a")
  if f ~= io.stdin then f:close() end
  return data
end

--- Decode JSON text from a flag; raises a usage error naming the flag.
function M.json(text, flag)
  local v, err = scravio.json.decode(text)
  if v == nil and err then usage(string.format("%s is not valid JSON: %s", flag, tostring(err))) end
  return v
end

--- "k=v" -> k, v
function M.pair(s, flag)
  local k, v = s:match("^([^=]+)=(.*)$")
  if not k then usage(string.format("%s expects KEY=VALUE, got %q", flag, s)) end
  return k, v
end

--- The campaign params of preview/launch/run: --file params.json first,
-- then --type, --input k=v ..., --target, --title, --max-credit-cap,
-- --validate-emails, --deep-search on top of it.
function M.campaign(args)
  local p = {}
  if args.file then
    p = M.json(M.slurp(args.file, "--file"), "--file")
    if type(p) ~= "table" or scravio.is_array(p) then usage("--file must hold a JSON object (the campaign params)") end
  end
  if args.type then p.type = args.type end
  if args.input and #args.input > 0 then
    local inputs = type(p.inputs) == "table" and p.inputs or {}
    for _, kv in ipairs(args.input) do
      local k, v = M.pair(kv, "--input")
      if M.LIST_INPUTS[k] then
        local list = type(inputs[k]) == "table" and inputs[k] or scravio.array({})
        for item in v:gmatch("[^,]+") do list[#list + 1] = item end
        inputs[k] = list
      else
        inputs[k] = v
      end
    end
    p.inputs = inputs
  end
  if args.target then p.targetEmails = M.integer(args.target, "--target") end
  if args.title then p.title = args.title end
  if args.max_credit_cap then p.maxCreditCap = M.number(args.max_credit_cap, "--max-credit-cap") end
  if args.validate_emails then p.enableEmailValidation = true end
  if args.deep_search then p.enableDeepEmailSearch = true end
  if p.type == nil then usage("say what to launch: --type TYPE --input KEY=VALUE --target N, or --file params.json") end
  return p
end

--- A list query from the common list flags (--page, --per-page and the
-- filters each command declares): {flag_name = "apiName", ...}
function M.query(args, map, size_name)
  local q = {}
  for flag, name in pairs(map) do q[name] = args[flag] end
  if args.page then q.page = M.integer(args.page, "--page") end
  if args.per_page then q[size_name or "perPage"] = M.integer(args.per_page, "--per-page") end
  return q
end

--- Comma-separated filter values as a list ("A,B" -> {"A", "B"}); one value stays a string.
function M.list(s)
  if s == nil or not s:find(",", 1, true) then return s end
  local out = {}
  for item in s:gmatch("[^,]+") do out[#out + 1] = item end
  return out
end

return M
