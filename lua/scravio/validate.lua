--- Client-side request validation for the Scravio API v1.0.0.
--
-- Pure Lua, no dependencies; runs unchanged on Lua 5.1-5.4 and LuaJIT 2.1.
--
-- Every checker returns `true` (validate.emails: true and the number of
-- unique addresses) on success, or `nil, problems` where `problems` is an array of
-- `{param = ..., msg = ..., location = "body"|"query"|"path"}` naming each field
-- the way the server does ("inputs.hashtag", "targetEmails", "perPage"); items
-- of an array are named as the server (express-validator) names them, with a
-- 0-based index: the second hashtag is "inputs.hashtags[1]".
-- All problems are collected, not only the first one. Nothing is modified:
-- unknown fields pass through untouched (the API grows), and only documented
-- rules are enforced, with one exception: a key that is a likely typo of a
-- documented field of that endpoint (the same letters in another case, or a
-- small edit distance: see FIELDS and validate.fields) is refused with the
-- documented name as hint, because the server would ignore it silently.
--
-- Lengths are counted in characters (UTF-8 code points), not bytes.

local type, pairs, next, tostring, tonumber, error, setmetatable, rawget =
      type, pairs, next, tostring, tonumber, error, setmetatable, rawget
local floor, huge = math.floor, math.huge
local math_type = math.type -- nil on Lua 5.1 / LuaJIT
local byte, sub, find, format, upper, lower, gsub, gmatch =
      string.byte, string.sub, string.find, string.format, string.upper,
      string.lower, string.gsub, string.gmatch
local concat = table.concat
local match = string.match

local options = require("scravio.options") -- (pure Lua too: the did-you-mean)

local validate = {}

---------------------------------------------------------------------------
-- Reference data (private masters; the exported copies are read-only)
---------------------------------------------------------------------------

local function words(s)
  local t = {}
  for w in gmatch(s, "%S+") do t[#t + 1] = w end
  return t
end

local function set_of(list)
  local s = {}
  for i = 1, #list do s[list[i]] = true end
  return s
end

-- The 22 campaign types, in the order of the reference.
local CAMPAIGN_TYPES = words [[
  INSTAGRAM_HASHTAG INSTAGRAM_USER_FOLLOWERS INSTAGRAM_USER_FOLLOWING
  INSTAGRAM_POST_LIKERS INSTAGRAM_POST_COMMENTERS INSTAGRAM_PROFILE_LIST
  INSTAGRAM_KEYWORD_SEARCH YOUTUBE_KEYWORD_SEARCH YOUTUBE_CHANNEL_SEARCH
  FACEBOOK_KEYWORD_SEARCH LINKEDIN_KEYWORD_SEARCH TWITTER_KEYWORD_SEARCH
  TIKTOK_KEYWORD_SEARCH TIKTOK_SEARCH_USERS TIKTOK_USER_FOLLOWERS
  TIKTOK_USER_FOLLOWING TIKTOK_POST_COMMENTERS X_KEYWORD_SEARCH X_FOLLOWERS
  X_FOLLOWING X_RETWEETS X_REPLIERS
]]
local CAMPAIGN_TYPE_SET = set_of(CAMPAIGN_TYPES)

-- type -> the input that type requires (INSTAGRAM_PROFILE_LIST: the reference
-- names none, so none is enforced).
local REQUIRED_INPUT = {}
do
  local groups = {
    hashtag = "INSTAGRAM_HASHTAG",
    targetUser = [[INSTAGRAM_USER_FOLLOWERS INSTAGRAM_USER_FOLLOWING
      TIKTOK_USER_FOLLOWERS TIKTOK_USER_FOLLOWING X_FOLLOWERS X_FOLLOWING]],
    mediaUrl = [[INSTAGRAM_POST_LIKERS INSTAGRAM_POST_COMMENTERS
      TIKTOK_POST_COMMENTERS X_RETWEETS X_REPLIERS]],
    keyword = [[INSTAGRAM_KEYWORD_SEARCH YOUTUBE_KEYWORD_SEARCH
      YOUTUBE_CHANNEL_SEARCH FACEBOOK_KEYWORD_SEARCH LINKEDIN_KEYWORD_SEARCH
      TWITTER_KEYWORD_SEARCH TIKTOK_KEYWORD_SEARCH TIKTOK_SEARCH_USERS
      X_KEYWORD_SEARCH]],
  }
  for field, list in pairs(groups) do
    for _, t in pairs(words(list)) do REQUIRED_INPUT[t] = field end
  end
end

-- Query shorthands accepted by GET /campaigns `type` besides the full types.
local PLATFORM_SHORTHANDS = words "INSTAGRAM YOUTUBE FACEBOOK LINKEDIN TWITTER TIKTOK X"

local CAMPAIGN_STATUSES = words [[
  pending scraping scraping_completed processing_emails fully_completed
  failed stopped
]]

local GOALS = words "sell_products find_influencers remarketing agency_leads recruiting other"

local TRANSACTION_TYPES = words [[
  CAMPAIGN_RESERVATION CAMPAIGN_SETTLEMENT CAMPAIGN_OVERAGE
  EMAIL_VALIDATION_DEDUCTION EMAIL_VALIDATION_REFUND SUBSCRIPTION_INITIAL
  SUBSCRIPTION_RENEWAL SUBSCRIPTION_UPGRADE SUBSCRIPTION_DOWNGRADE
  PAYMENT_PADDLE PAYMENT_CRYPTOMUS PAYMENT_STRIPE_TOPUP PAYMENT_PADDLE_TOPUP
  ADMIN_CREDIT_ADJUSTMENT
]]

-- The 249 officially assigned ISO 3166-1 alpha-2 codes (same list as the
-- iso-codes package and tzdata's iso3166.tab).
local COUNTRY_LIST = words [[
  AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ
  BL BM BN BO BQ BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR
  CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR
  GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU
  ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ
  LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ
  MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF
  PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI
  SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR
  TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW
]]
local COUNTRIES = set_of(COUNTRY_LIST)
-- Codes people commonly use that are not assigned alpha-2 codes.
local COUNTRY_HINTS = { UK = "GB", EL = "GR" }

local LIMITS = {
  TITLE_MAX = 100,
  HASHTAG_MAX = 100,
  TARGET_USER_MAX = 100,
  MEDIA_URL_MAX = 2048,
  KEYWORD_MAX = 200,
  LIST_MAX_ITEMS = 20,       -- hashtags, keywords
  COUNTRIES_MAX = 10,
  GOAL_OTHER_MAX = 200,
  TARGET_EMAILS_MIN = 1,
  TARGET_EMAILS_MAX = 1000000,
  EMAILS_MAX = 5000,         -- POST /validation-jobs/text, after de-duplication
  CAMPAIGNS_PER_PAGE_MAX = 100,
  ID_MAX = 200,
}

-- The documented fields of every endpoint's request body and query, from
-- the API reference v1.0.0 (shared/api/scravio-api-v1.0.0.txt), in one
-- table. A key that is not among them passes through (the API grows)
-- unless it is a likely typo of one of them (validate.fields).
-- "campaign inputs" is the `inputs` object of POST /campaigns and
-- reserve-preview. reserve-preview also lists title: the SDK sends the same
-- params to both and leaves title out of the preview (body.CREATE_ONLY).
local FIELDS = {
  ["POST /campaigns"] = words "title type inputs targetEmails maxCreditCap enableDeepEmailSearch enableEmailValidation",
  ["POST /campaigns/reserve-preview"] = words [[title type inputs targetEmails maxCreditCap
    enableEmailValidation enableDeepEmailSearch]],
  ["campaign inputs"] = words "hashtag hashtags targetUser mediaUrl keyword keywords countries goal goalOther",
  ["POST /validation-jobs/text"] = words "emails",
  ["POST /validation-jobs/file"] = words "filename contentType sizeBytes idempotencyKey",
  ["POST /validation-jobs/file/process"] = words "uploadId key filename idempotencyKey",
  ["POST /validation-jobs/file/confirm"] = words "parseId selectedColumn idempotencyKey",
  ["POST /list-exports"] = words "campaignId emailOnly onlyValidEmails fileFormat",
  ["GET /campaigns"] = words "page perPage status type q sortBy order from to",
  ["GET /campaigns/{id}/leads"] = words [[page perPage hasEmail validationStatus platform sourceType
    emailSource sortBy order]],
  ["GET /validation-jobs"] = words "page limit status from to sortBy order",
  ["GET /list-exports"] = words "page perPage campaignId status sortBy order",
  ["GET /credit-transactions"] = words "page perPage type campaignId from to sortBy order",
}

-- Names that are documented for a neighbouring endpoint but not this one,
-- with the field this endpoint has for the same thing: a field a caller
-- carries over from another list (GET /validation-jobs pages with `limit`,
-- the other lists with `perPage`) would otherwise be sent and ignored.
-- Refused with that field as the hint (validate.fields / check_fields).
local ALIASES = {
  ["GET /validation-jobs"] = { perPage = "limit", per_page = "limit", pageSize = "limit" },
  ["GET /campaigns"] = { limit = "perPage" },
  ["GET /campaigns/{id}/leads"] = { limit = "perPage" },
  ["GET /list-exports"] = { limit = "perPage" },
  ["GET /credit-transactions"] = { limit = "perPage" },
}

-- The list kinds (validate.query) and the endpoint each one is.
local QUERY_ENDPOINT = {
  campaigns = "GET /campaigns", leads = "GET /campaigns/{id}/leads", validation_jobs = "GET /validation-jobs",
  exports = "GET /list-exports", credit_transactions = "GET /credit-transactions",
}

---------------------------------------------------------------------------
-- Read-only exports
---------------------------------------------------------------------------

-- Where tables honour __len, __pairs and ipairs-through-__index/__ipairs
-- (Lua 5.2+), exports are empty proxies: nothing in them can be changed. On
-- Lua 5.1 / LuaJIT a proxy would break `#`, `pairs` and `ipairs`, so exports
-- are copies whose metatable refuses new keys. Either way the checkers below
-- use private tables, so changing an export cannot weaken validation.
local PROXY_OK
do
  local len_ok = #setmetatable({}, { __len = function() return 1 end }) == 1
  local pairs_ok, ipairs_ok = false, false
  for _ in pairs(setmetatable({}, { __pairs = function() return next, { 1 }, nil end })) do
    pairs_ok = true
  end
  for _ in ipairs(setmetatable({}, {
    __index = { 1 },
    __ipairs = function() return ipairs({ 1 }) end,
  })) do
    ipairs_ok = true
  end
  PROXY_OK = len_ok and pairs_ok and ipairs_ok
end

local function readonly(master, name)
  local function refuse(_, k)
    error(format("scravio.validate.%s is read-only (cannot set %s)", name, tostring(k)), 2)
  end
  if PROXY_OK then
    return setmetatable({}, {
      __index = master,
      __newindex = refuse,
      __len = function() return #master end,
      __pairs = function() return next, master, nil end,
      __ipairs = function() return ipairs(master) end,
      __metatable = false,
    })
  end
  local copy = {}
  for k, v in pairs(master) do copy[k] = v end
  return setmetatable(copy, { __newindex = refuse, __metatable = false })
end

validate.CAMPAIGN_TYPES = readonly(CAMPAIGN_TYPES, "CAMPAIGN_TYPES")
validate.REQUIRED_INPUT = readonly(REQUIRED_INPUT, "REQUIRED_INPUT")
validate.TRANSACTION_TYPES = readonly(TRANSACTION_TYPES, "TRANSACTION_TYPES")
validate.COUNTRIES = readonly(COUNTRIES, "COUNTRIES")
validate.CAMPAIGN_STATUSES = readonly(CAMPAIGN_STATUSES, "CAMPAIGN_STATUSES")
validate.PLATFORM_SHORTHANDS = readonly(PLATFORM_SHORTHANDS, "PLATFORM_SHORTHANDS")
validate.GOALS = readonly(GOALS, "GOALS")
validate.LIMITS = readonly(LIMITS, "LIMITS")
do
  local copy = {}
  for k, v in pairs(FIELDS) do copy[k] = readonly(v, "FIELDS") end
  validate.FIELDS = readonly(copy, "FIELDS")
  copy = {}
  for k, v in pairs(ALIASES) do copy[k] = readonly(v, "ALIASES") end
  validate.ALIASES = readonly(copy, "ALIASES")
end

---------------------------------------------------------------------------
-- Helpers
---------------------------------------------------------------------------

--- Number of UTF-8 characters (code points) in s. A byte that does not start
-- a well-formed sequence counts as one character (as a decoder replacing it
-- with U+FFFD would).
local function ulen(s)
  if not find(s, "[\128-\255]") then return #s end
  local n, i, len = 0, 1, #s
  while i <= len do
    local c = byte(s, i)
    local size = 1
    if c >= 0xC2 and c <= 0xDF then size = 2
    elseif c >= 0xE0 and c <= 0xEF then size = 3
    elseif c >= 0xF0 and c <= 0xF4 then size = 4 end
    for k = 1, size - 1 do
      local cc = byte(s, i + k)
      if not cc or cc < 0x80 or cc > 0xBF then size = 1; break end
    end
    n = n + 1
    i = i + size
  end
  return n
end

--- The first n characters of s (whole UTF-8 sequences), and whether s was cut.
local function uprefix(s, n)
  if #s <= n then return s, false end
  local count, i, len = 0, 1, #s
  while i <= len do
    if count == n then return sub(s, 1, i - 1), true end
    local c = byte(s, i)
    i = i + 1
    if c >= 0xC0 then
      while i <= len do
        local cc = byte(s, i)
        if cc < 0x80 or cc > 0xBF then break end
        i = i + 1
      end
    end
    count = count + 1
  end
  return s, false
end

local function is_finite(x)
  return x - x == 0 -- false for inf, -inf and NaN
end

local function is_integral(x)
  if type(x) ~= "number" then return false end
  if math_type and math_type(x) == "integer" then return true end
  return is_finite(x) and x == floor(x)
end

local function fmt_number(v)
  if v ~= v then return "NaN" end
  if v == huge then return "inf" end
  if v == -huge then return "-inf" end
  if math_type and math_type(v) == "integer" then return tostring(v) end
  if v == floor(v) and v > -1e15 and v < 1e15 then return format("%d", v) end
  return format("%.14g", v)
end

local function quote(s)
  local shown, cut = uprefix(s, 40)
  shown = gsub(shown, '[%c"\\]', function(c)
    if c == '"' then return '\\"' end
    if c == "\\" then return "\\\\" end
    return format("\\%d", byte(c))
  end)
  return '"' .. shown .. (cut and '..."' or '"')
end

--- Describes a value for "got ..." in messages.
local function got(v)
  local t = type(v)
  if t == "number" then return fmt_number(v) end
  if t == "string" then return "string " .. quote(v) end
  if t == "boolean" then return "boolean " .. tostring(v) end
  if t == "nil" then return "nil" end
  return t
end

local function add(problems, param, location, fmt, ...)
  problems[#problems + 1] = { param = param, msg = format(fmt, ...), location = location }
end

-- FIELDS as sets, for lookups.
local FIELD_SETS = {}
for endpoint, list in pairs(FIELDS) do FIELD_SETS[endpoint] = set_of(list) end

--- Adds a problem to P for every key of t that is not a documented field of
-- endpoint but a likely typo of one (options.nearest, strict: another
-- letter case, or 1 edit for names of 4-7 characters, 2 from 8; never a
-- guess at names under 4 characters beyond their case). Keys are visited in
-- sorted order, so problems come out in a stable order.
-- The options of launch/run that guard spending, per endpoint whose params
-- they could be mistaken for: launch{..., max_credits = 100} (in the params
-- instead of the table after them) would otherwise be sent as an unknown
-- field and the call would run with no budget check at all.
local MISPLACED_OPTIONS = {
  ["POST /campaigns"] = { "max_credits", "confirm" },
  ["POST /campaigns/reserve-preview"] = { "max_credits", "confirm" },
}

local function check_fields(P, endpoint, t, loc, prefix)
  local known = FIELD_SETS[endpoint]
  local misplaced = not prefix and MISPLACED_OPTIONS[endpoint]
  local unknown = {}
  for k in pairs(t) do
    if type(k) == "string" and not known[k] then unknown[#unknown + 1] = k end
  end
  if not unknown[1] then return end
  table.sort(unknown)
  local aliases = ALIASES[endpoint]
  for _, k in ipairs(unknown) do
    local near = aliases and aliases[k] and { aliases[k] } or options.nearest(k, FIELDS[endpoint])
    local option = misplaced and ((k == misplaced[1] or k == misplaced[2]) and k
      or options.nearest(k, misplaced, options.loose_limit)[1])
    if option then
      add(P, k, loc, "%s is %s of launch and run, not a field of %s: pass it in the table after the params, "
        .. "e.g. launch(params, {%s = ...})", k, k == option and "an option" or ("like the option " .. option),
        endpoint, option)
    elseif options.schemas.call[k] then
      -- c:leads{timeout = 5}: a per-call option in the API's table would
      -- be sent as a field, and the call would run with the defaults.
      add(P, (prefix or "") .. k, loc, "%s is a per-call option, not a field of %s: pass it in the "
        .. "table after the %s, e.g. list(query, {%s = ...})", (prefix or "") .. k,
        find(endpoint, "^%u+ /") and endpoint or ("the " .. endpoint), loc == "query" and "query" or "params", k)
    elseif near[1] then
      local param = (prefix or "") .. k
      add(P, param, loc, "%s is not a documented field of %s%s; to send it anyway, use client:request",
        param, find(endpoint, "^%u+ /") and endpoint or ("the " .. endpoint), options.hint(near))
    end
  end
end

--- validate.fields(endpoint, t, location, prefix) -> true | nil, problems:
-- the likely typos among t's keys (see check_fields). endpoint is a key of
-- validate.FIELDS ("POST /list-exports" ...); an unknown one raises.
function validate.fields(endpoint, t, location, prefix)
  if not FIELD_SETS[endpoint] then
    error(format("scravio.validate.fields: unknown endpoint %s", tostring(endpoint)), 2)
  end
  local P = {}
  if type(t) == "table" then check_fields(P, endpoint, t, location or "body", prefix) end
  if P[1] then return nil, P end
  return true
end

local function result(problems, value)
  if problems[1] then return nil, problems end
  if value == nil then return true end
  return value
end

--- n if t is a Lua array (keys exactly 1..n), else nil.
local function array_len(t)
  local n = 0
  for _ in next, t do n = n + 1 end
  for i = 1, n do
    if rawget(t, i) == nil then return nil end
  end
  return n
end

local function trim(s)
  local i = find(s, "%S")
  if not i then return "" end
  local j = #s
  local c = byte(s, j)
  while c == 32 or (c >= 9 and c <= 13) do
    j = j - 1
    c = byte(s, j)
  end
  return sub(s, i, j)
end

local function join(list, sep)
  local t = {}
  for i = 1, #list do t[i] = list[i] end
  return concat(t, sep or ", ")
end

local function one_of(list)
  return "one of " .. join(list)
end

-- Suggests the intended spelling when v matches an allowed value in another
-- letter case.
local function case_hint(v, list)
  local lv = lower(v)
  for i = 1, #list do
    if lower(list[i]) == lv then return format(' (did you mean "%s"?)', list[i]) end
  end
  return ""
end

-- What to say about a campaign type that is not one: the closest type(s)
-- when it looks like a typo (INSTAGRAM_HASHTAGS -> INSTAGRAM_HASHTAG), else
-- the types of the platform it names, else two examples; never the whole
-- list of 22 (a 400-character line cut mid-word helps nobody).
local function unknown_type(ctype)
  local all = 'require("scravio.validate").CAMPAIGN_TYPES lists all ' .. #CAMPAIGN_TYPES
  if type(ctype) == "string" then
    local near = options.nearest(upper(ctype), CAMPAIGN_TYPES, function(c) return math.max(2, math.floor(#c / 5)) end)
    if #near > 0 and #near <= 3 then
      return format("type %s is not a campaign type: did you mean %s?", quote(ctype), concat(near, " or "))
    end
    local platform = match(upper(ctype), "^(%u+)_")
    local same = {}
    for i = 1, #CAMPAIGN_TYPES do
      if platform and sub(CAMPAIGN_TYPES[i], 1, #platform + 1) == platform .. "_" then
        same[#same + 1] = CAMPAIGN_TYPES[i]
      end
    end
    if #same > 0 then
      return format("type %s is not a campaign type; the %s ones are %s (%s)", quote(ctype), platform,
        join(same), all)
    end
  end
  return format("type must be a campaign type such as INSTAGRAM_HASHTAG or X_FOLLOWERS, got %s (%s)", got(ctype), all)
end

---------------------------------------------------------------------------
-- Field rules
---------------------------------------------------------------------------

--- A string of at most `max` characters; `nonempty` also refuses "" and
-- whitespace-only strings.
local function check_text(P, v, param, loc, max, nonempty)
  if type(v) ~= "string" then
    if nonempty then
      add(P, param, loc, "%s must be a string of 1 to %d characters, got %s", param, max, got(v))
    else
      add(P, param, loc, "%s must be a string of at most %d characters, got %s", param, max, got(v))
    end
    return false
  end
  if nonempty and not find(v, "%S") then
    add(P, param, loc, "%s must not be empty (1 to %d characters)", param, max)
    return false
  end
  local n = ulen(v)
  if n > max then
    add(P, param, loc, "%s must be at most %d characters, got %d", param, max, n)
    return false
  end
  return true
end

--- An array of 1..max_items non-empty strings of at most max_len characters.
local function check_text_array(P, v, param, loc, max_items, max_len, what, example)
  if type(v) ~= "table" then
    add(P, param, loc, "%s must be an array of 1 to %d %s such as %s, got %s", param, max_items, what,
      example, got(v))
    return
  end
  local n = array_len(v)
  if not n then
    add(P, param, loc, "%s must be an array (a Lua sequence with keys 1..n) of 1 to %d %s",
      param, max_items, what)
    return
  end
  if n == 0 then
    add(P, param, loc, "%s must contain at least 1 item (1 to %d %s)", param, max_items, what)
  elseif n > max_items then
    add(P, param, loc, "%s must contain at most %d items, got %d", param, max_items, n)
  end
  for i = 1, n do
    check_text(P, v[i], format("%s[%d]", param, i - 1), loc, max_len, true)
  end
end

-- Unicode whitespace and C1 controls, which no URL may contain unencoded.
local URL_BAD_UTF8 = {
  "\194[\128-\160]",                  -- U+0080-U+009F, U+00A0
  "\225\154\128",                     -- U+1680
  "\226\128[\128-\138\168\169\175]",  -- U+2000-U+200A, U+2028, U+2029, U+202F
  "\226\129\159",                     -- U+205F
  "\227\128\128",                     -- U+3000
  "\239\187\191",                     -- U+FEFF
}

local URL_EXAMPLE = '"https://www.instagram.com/p/ABC123/"'

local function check_https_url(P, v, param, loc, max)
  if type(v) ~= "string" then
    add(P, param, loc, "%s must be an https:// URL such as %s, got %s", param, URL_EXAMPLE, got(v))
    return
  end
  if v == "" then
    add(P, param, loc, "%s must not be empty: an https:// URL such as %s", param, URL_EXAMPLE)
    return
  end
  local n = ulen(v)
  if n > max then
    add(P, param, loc, "%s must be at most %d characters, got %d", param, max, n)
  end
  local bad = find(v, "[%c ]")
  if not bad and find(v, "[\128-\255]") then
    for i = 1, #URL_BAD_UTF8 do
      if find(v, URL_BAD_UTF8[i]) then bad = true; break end
    end
  end
  if bad then
    add(P, param, loc, "%s must not contain spaces or control characters (percent-encode them)", param)
  end
  if lower(sub(v, 1, 8)) ~= "https://" then
    add(P, param, loc, "%s must be an https:// URL such as %s, got %s", param, URL_EXAMPLE, quote(v))
    return
  end
  local authority = v:match("^[^/?#]*", 9)
  local hostport = authority:match("[^@]*$") -- drop any userinfo
  local host, port
  if sub(hostport, 1, 1) == "[" then
    host, port = hostport:match("^(%[[%x:%.]+%])(.*)$")
  else
    host, port = hostport:match("^([^:]*)(.*)$")
    if host and (host == "" or find(host, "[^%w%-%.\128-\255]") or find(host, "^[%.%-]")
        or find(host, "%.%.")) then
      host = nil
    end
  end
  if not host then
    add(P, param, loc, "%s must include a valid host after https://, got %s", param, quote(v))
    return
  end
  if port ~= "" then
    local digits = port:match("^:(%d%d?%d?%d?%d?)$")
    if not digits or tonumber(digits) < 1 or tonumber(digits) > 65535 then
      add(P, param, loc, "%s has an invalid port (1 to 65535), got %s", param, quote(v))
    end
  end
end

local function check_enum(P, v, param, loc, list, set)
  if type(v) == "string" and set[v] then return true end
  if type(v) == "string" then
    add(P, param, loc, "%s must be %s, got %s%s", param, one_of(list), quote(v), case_hint(v, list))
  else
    add(P, param, loc, "%s must be %s, got %s", param, one_of(list), got(v))
  end
  return false
end

local function check_boolean(P, v, param, loc)
  if type(v) ~= "boolean" then
    add(P, param, loc, "%s must be a boolean (true or false), got %s", param, got(v))
  end
end

local function check_countries(P, v, param, loc)
  local max = LIMITS.COUNTRIES_MAX
  if type(v) ~= "table" then
    add(P, param, loc, "%s must be an array of at most %d ISO 3166-1 alpha-2 codes such as {\"US\", \"DE\"}, got %s",
      param, max, got(v))
    return
  end
  local n = array_len(v)
  if not n then
    add(P, param, loc, "%s must be an array (a Lua sequence with keys 1..n) of at most %d country codes",
      param, max)
    return
  end
  if n > max then
    add(P, param, loc, "%s must contain at most %d countries, got %d", param, max, n)
  end
  for i = 1, n do
    local c, p = v[i], format("%s[%d]", param, i - 1)
    if type(c) ~= "string" then
      add(P, p, loc, "%s must be an ISO 3166-1 alpha-2 code such as \"US\", got %s", p, got(c))
    elseif not COUNTRIES[upper(c)] then
      -- Case is not checked: the codes are case-insensitive to the usual
      -- validators (validator.js isISO31661Alpha2 upper-cases first), so
      -- "us" goes as given rather than be refused on a guess.
      local u = upper(c)
      if COUNTRY_HINTS[u] then
        add(P, p, loc, "%s must be an ISO 3166-1 alpha-2 code: %s is not assigned, use \"%s\"",
          p, quote(c), COUNTRY_HINTS[u])
      else
        add(P, p, loc, "%s must be an assigned ISO 3166-1 alpha-2 country code such as \"US\" or \"DE\", got %s",
          p, quote(c))
      end
    end
  end
end

---------------------------------------------------------------------------
-- Campaigns: POST /campaigns and POST /campaigns/reserve-preview
---------------------------------------------------------------------------

local GOAL_SET = set_of(GOALS)

-- Rules for every known input field, whatever the campaign type.
local function check_inputs(P, inputs)
  local L = LIMITS
  local v = inputs.hashtag
  if v ~= nil then check_text(P, v, "inputs.hashtag", "body", L.HASHTAG_MAX, true) end
  v = inputs.hashtags
  if v ~= nil then
    check_text_array(P, v, "inputs.hashtags", "body", L.LIST_MAX_ITEMS, L.HASHTAG_MAX, "hashtags",
      '{"fitness", "gym"}')
  end
  v = inputs.targetUser
  if v ~= nil then check_text(P, v, "inputs.targetUser", "body", L.TARGET_USER_MAX, true) end
  v = inputs.mediaUrl
  if v ~= nil then check_https_url(P, v, "inputs.mediaUrl", "body", L.MEDIA_URL_MAX) end
  v = inputs.keyword
  if v ~= nil then check_text(P, v, "inputs.keyword", "body", L.KEYWORD_MAX, true) end
  v = inputs.keywords
  if v ~= nil then
    check_text_array(P, v, "inputs.keywords", "body", L.LIST_MAX_ITEMS, L.KEYWORD_MAX, "keywords",
      '{"coffee", "tea"}')
  end
  v = inputs.countries
  if v ~= nil then check_countries(P, v, "inputs.countries", "body") end

  local goal = inputs.goal
  if goal ~= nil then check_enum(P, goal, "inputs.goal", "body", GOALS, GOAL_SET) end
  v = inputs.goalOther
  if goal == "other" then
    if v == nil then
      add(P, "inputs.goalOther", "body",
        'inputs.goalOther is required when inputs.goal is "other" (1 to %d characters)', L.GOAL_OTHER_MAX)
    else
      check_text(P, v, "inputs.goalOther", "body", L.GOAL_OTHER_MAX, true)
    end
  elseif v ~= nil then
    check_text(P, v, "inputs.goalOther", "body", L.GOAL_OTHER_MAX, false)
  end
end

local REQUIRED_MSG = {
  hashtag = "inputs.hashtag (or inputs.hashtags, 1 to 20 hashtags) is required for %s campaigns",
  targetUser = "inputs.targetUser (a username, at most 100 characters) is required for %s campaigns",
  mediaUrl = "inputs.mediaUrl (the post's https:// URL) is required for %s campaigns",
  keyword = "inputs.keyword (or inputs.keywords, 1 to 20 keywords) is required for %s campaigns",
}
local ALTERNATIVE = { hashtag = "hashtags", keyword = "keywords" }

local function check_campaign(params, with_title)
  local P = {}
  if type(params) ~= "table" then
    add(P, "body", "body", "campaign params must be a table, got %s", got(params))
    return nil, P
  end
  -- Likely typos first: a misspelt field explains the problems that follow.
  check_fields(P, with_title and "POST /campaigns" or "POST /campaigns/reserve-preview", params, "body")
  if type(params.inputs) == "table" then check_fields(P, "campaign inputs", params.inputs, "body", "inputs.") end

  if with_title and params.title ~= nil then
    check_text(P, params.title, "title", "body", LIMITS.TITLE_MAX, false)
  end

  local ctype = params.type
  local known_type = false
  if ctype == nil then
    add(P, "type", "body", "type is required: a campaign type such as INSTAGRAM_HASHTAG or X_FOLLOWERS " ..
      '(require("scravio.validate").CAMPAIGN_TYPES lists all %d)', #CAMPAIGN_TYPES)
  elseif type(ctype) == "string" and CAMPAIGN_TYPE_SET[ctype] then
    known_type = true
  elseif type(ctype) == "string" and CAMPAIGN_TYPE_SET[upper(ctype)] then
    add(P, "type", "body", 'type must be uppercase: use "%s" instead of %s', upper(ctype), quote(ctype))
  else
    add(P, "type", "body", "%s", unknown_type(ctype))
  end

  local inputs = params.inputs
  if inputs == nil then
    add(P, "inputs", "body", "inputs is required: a table of the campaign type's inputs")
  elseif type(inputs) ~= "table" then
    add(P, "inputs", "body", "inputs must be a table, got %s", got(inputs))
  else
    if known_type then
      local field = REQUIRED_INPUT[ctype]
      local alt = ALTERNATIVE[field]
      if field and inputs[field] == nil and (not alt or inputs[alt] == nil) then
        add(P, "inputs." .. field, "body", REQUIRED_MSG[field], ctype)
      end
    end
    check_inputs(P, inputs)
  end

  local te = params.targetEmails
  local lo, hi = LIMITS.TARGET_EMAILS_MIN, LIMITS.TARGET_EMAILS_MAX
  if te == nil then
    add(P, "targetEmails", "body", "targetEmails is required: an integer between %d and %d", lo, hi)
  elseif not is_integral(te) or te < lo or te > hi then
    add(P, "targetEmails", "body", "targetEmails must be an integer between %d and %d, got %s", lo, hi, got(te))
  end

  local cap = params.maxCreditCap
  if cap ~= nil and not (type(cap) == "number" and is_finite(cap) and cap > 0) then
    add(P, "maxCreditCap", "body", "maxCreditCap must be a number greater than 0, got %s", got(cap))
  end

  if params.enableEmailValidation ~= nil then
    check_boolean(P, params.enableEmailValidation, "enableEmailValidation", "body")
  end
  if params.enableDeepEmailSearch ~= nil then
    check_boolean(P, params.enableDeepEmailSearch, "enableDeepEmailSearch", "body")
  end

  return result(P)
end

--- Rules for POST /campaigns. Returns true or nil, problems.
function validate.campaign(params)
  return check_campaign(params, true)
end

--- Rules for POST /campaigns/reserve-preview: as validate.campaign, except
-- that `title` is not part of a preview (it passes through unchecked).
function validate.preview(params)
  return check_campaign(params, false)
end

---------------------------------------------------------------------------
-- POST /validation-jobs/text
---------------------------------------------------------------------------

--- Checks the `emails` of POST /validation-jobs/text, as the reference
-- defines it: an array of strings or one comma-separated string, at least 1
-- and at most 5,000 addresses after case-insensitive de-duplication. Nothing
-- is changed or refused for its format: the caller's value is sent as it is,
-- and the server removes duplicates and classifies bad addresses (that is
-- what the job is for). Returns true, the number of unique non-empty entries
-- (trimmed, compared case-insensitively; a string is split on commas), or
-- nil, problems.
function validate.emails(emails)
  local P = {}
  local entries, n
  if type(emails) == "string" then
    entries, n = {}, 0
    local pos, len = 1, #emails
    while pos <= len + 1 do
      local comma = find(emails, ",", pos, true) or len + 1
      n = n + 1
      entries[n] = sub(emails, pos, comma - 1)
      pos = comma + 1
    end
  elseif type(emails) == "table" then
    n = array_len(emails)
    if not n then
      add(P, "emails", "body", "emails must be an array (a Lua sequence with keys 1..n) of email addresses")
      return nil, P
    end
    entries = emails
  else
    add(P, "emails", "body", "emails must be an array of email addresses or a comma-separated string, got %s",
      got(emails))
    return nil, P
  end

  local unique, seen = 0, {}
  for i = 1, n do
    local e = entries[i]
    if type(e) ~= "string" then
      add(P, "emails", "body", "emails[%d] must be a string, got %s", i, got(e))
    else
      -- The server folds case itself, perhaps beyond ASCII ("Ä" and "ä"):
      -- every run of non-ASCII bytes counts as one same character here, so
      -- this count is never above the server's and a list it would take is
      -- never refused (one it would refuse may be sent: its 400 says so).
      local key = gsub(lower(trim(e)), "[\128-\255]+", "\0")
      if key ~= "" and not seen[key] then
        seen[key] = true
        unique = unique + 1
      end
    end
  end

  local max = LIMITS.EMAILS_MAX
  if unique > max then
    add(P, "emails", "body", "emails must contain at most %d unique addresses, got %d after de-duplication",
      max, unique)
  elseif unique == 0 and not P[1] then
    add(P, "emails", "body", "emails must contain at least 1 email address (at most %d)", max)
  end
  if P[1] then return nil, P end
  return true, unique
end

---------------------------------------------------------------------------
-- List-endpoint queries
---------------------------------------------------------------------------

local function days_in_month(y, m)
  if m == 2 then
    local leap = (y % 4 == 0 and y % 100 ~= 0) or y % 400 == 0
    return leap and 29 or 28
  end
  if m == 4 or m == 6 or m == 9 or m == 11 then return 30 end
  return 31
end

--- ISO 8601 calendar date, extended (YYYY-MM-DD) or basic (YYYYMMDD),
-- optionally followed by a time (T or space, hh:mm[:ss[.fraction]], or
-- hhmm[ss] in the basic form; 24:00:00 for the end of a day) and a zone
-- (Z, ±hh, ±hhmm, ±hh:mm). Lenient on form, strict on values: the server
-- reads the date, so only what cannot be a date is refused.
local function is_iso8601(s)
  local basic = false
  local y, m, d, rest = s:match("^(%d%d%d%d)%-(%d%d)%-(%d%d)(.*)$")
  if not y then
    y, m, d, rest = s:match("^(%d%d%d%d)(%d%d)(%d%d)(.*)$")
    basic = true
  end
  if not y then return false end
  y, m, d = tonumber(y), tonumber(m), tonumber(d)
  if m < 1 or m > 12 or d < 1 or d > days_in_month(y, m) then return false end
  if rest == "" then return true end
  local hh, mm
  if basic then
    hh, mm, rest = rest:match("^[Tt](%d%d)(%d%d)(.*)$")
  else
    hh, mm, rest = rest:match("^[Tt ](%d%d):(%d%d)(.*)$")
  end
  if not hh or tonumber(hh) > 24 or tonumber(mm) > 59 then return false end
  local end_of_day = tonumber(hh) == 24
  if end_of_day and tonumber(mm) ~= 0 then return false end
  local ss, r = rest:match(basic and "^(%d%d)(.*)$" or "^:(%d%d)(.*)$")
  if ss then
    if tonumber(ss) > 60 or (end_of_day and tonumber(ss) ~= 0) then return false end -- 60: leap second
    rest = r
    local frac
    frac, r = rest:match("^[%.,](%d+)(.*)$")
    if r then
      if end_of_day and tonumber(frac) ~= 0 then return false end
      rest = r
    end
  end
  if rest == "" or rest == "Z" or rest == "z" then return true end
  local zh, zm = rest:match("^[%+%-](%d%d):?(%d%d)$")
  if not zh then zh = rest:match("^[%+%-](%d%d)$"); zm = "00" end
  return zh ~= nil and tonumber(zh) <= 23 and tonumber(zm) <= 59
end

local Q = "query"

local function q_integer(min, max)
  return function(P, v, param)
    local n = v
    if type(v) == "string" and find(v, "^%d+$") then n = tonumber(v) end
    if is_integral(n) and n >= min and (not max or n <= max) then return end
    if max then
      add(P, param, Q, "%s must be an integer between %d and %d, got %s", param, min, max, got(v))
    else
      add(P, param, Q, "%s must be an integer greater than or equal to %d, got %s", param, min, got(v))
    end
  end
end

local function q_boolean(P, v, param)
  if type(v) == "boolean" or v == "true" or v == "false" then return end
  add(P, param, Q, "%s must be a boolean (true or false), got %s", param, got(v))
end

local function q_string(P, v, param)
  if type(v) ~= "string" then
    add(P, param, Q, "%s must be a string, got %s", param, got(v))
  end
end

local function q_date(P, v, param)
  if type(v) == "string" and is_iso8601(v) then return end
  add(P, param, Q, '%s must be an ISO 8601 date or date-time string such as "2024-01-31" or '
    .. '"2024-01-31T12:00:00Z", got %s', param, got(v))
end

local function q_enum(list)
  local set = set_of(list)
  return function(P, v, param)
    check_enum(P, v, param, Q, list, set)
  end
end

--- A documented enum that may also be a list: one value, a comma-separated
-- string of values (the wire form), or a Lua array of values.
local function q_enum_list(list, describe)
  local set = set_of(list)
  local allowed = describe or one_of(list)
  local function item(P, s, param)
    if type(s) ~= "string" then
      add(P, param, Q, "%s items must be strings (%s), got %s", param, allowed, got(s))
    elseif s == "" then
      add(P, param, Q, "%s must not contain empty items (%s)", param, allowed)
    elseif not set[s] then
      add(P, param, Q, "%s must be %s, got %s%s", param, allowed, quote(s), case_hint(s, list))
    end
  end
  return function(P, v, param)
    if type(v) == "string" then
      if v == "" then
        add(P, param, Q, "%s must not be empty (%s)", param, allowed)
        return
      end
      local pos = 1
      while true do
        local comma = find(v, ",", pos, true)
        item(P, sub(v, pos, (comma or 0) - 1), param)
        if not comma then break end
        pos = comma + 1
      end
    elseif type(v) == "table" then
      local n = array_len(v)
      if not n then
        add(P, param, Q, "%s must be a string or an array (a Lua sequence with keys 1..n) of strings", param)
      elseif n == 0 then
        add(P, param, Q, "%s must contain at least 1 item (%s)", param, allowed)
      else
        for i = 1, n do item(P, v[i], param) end
      end
    else
      add(P, param, Q, "%s must be a string or an array of strings (%s), got %s", param, allowed, got(v))
    end
  end
end

local page = q_integer(1)
local per_page = q_integer(1)
local order = q_enum { "asc", "desc" }

local CAMPAIGN_TYPE_FILTER = {}
for i = 1, #CAMPAIGN_TYPES do CAMPAIGN_TYPE_FILTER[i] = CAMPAIGN_TYPES[i] end
for i = 1, #PLATFORM_SHORTHANDS do
  CAMPAIGN_TYPE_FILTER[#CAMPAIGN_TYPE_FILTER + 1] = PLATFORM_SHORTHANDS[i]
end

-- Ordered so that problems come out in a stable order.
local QUERY_RULES = {
  campaigns = {
    { "page", page },
    { "perPage", q_integer(1, LIMITS.CAMPAIGNS_PER_PAGE_MAX) },
    { "status", q_enum_list(CAMPAIGN_STATUSES) },
    { "type", q_enum_list(CAMPAIGN_TYPE_FILTER,
        "a campaign type such as INSTAGRAM_HASHTAG or a platform shorthand (" .. join(PLATFORM_SHORTHANDS) .. ")") },
    { "q", q_string },
    { "sortBy", q_enum { "createdAt", "progress", "status" } },
    { "order", order },
    { "from", q_date },
    { "to", q_date },
  },
  leads = {
    { "page", page },
    { "perPage", per_page },
    { "hasEmail", q_boolean },
    { "validationStatus", q_enum { "valid", "invalid", "pending" } },
    { "platform", q_enum { "instagram", "youtube", "linkedin", "facebook", "tiktok", "x" } },
    { "sourceType", q_string },
    { "emailSource", q_string },
    { "sortBy", q_enum { "hasEmail", "followerCount", "scrapedAt" } },
    { "order", order },
  },
  validation_jobs = {
    { "page", page },
    { "limit", q_integer(1) },
    { "status", q_enum_list { "pending", "parsing", "queued", "processing", "completed", "failed" } },
    { "from", q_date },
    { "to", q_date },
    { "sortBy", q_enum { "createdAt", "completedAt" } },
    { "order", order },
  },
  exports = {
    { "page", page },
    { "perPage", per_page },
    { "campaignId", q_string },
    { "status", q_enum_list { "pending", "processing", "completed", "failed" } },
    { "sortBy", q_enum { "createdAt", "completedAt", "status" } },
    { "order", order },
  },
  credit_transactions = {
    { "page", page },
    { "perPage", per_page },
    { "type", q_enum_list(TRANSACTION_TYPES) },
    { "campaignId", q_string },
    { "from", q_date },
    { "to", q_date },
    { "sortBy", q_enum { "timestamp", "amount" } },
    { "order", order },
  },
}

-- Every rule is for a documented field (FIELDS is the one list of them).
for kind, rules in pairs(QUERY_RULES) do
  for i = 1, #rules do
    assert(FIELD_SETS[QUERY_ENDPOINT[kind]][rules[i][1]], "validate: " .. rules[i][1] .. " is not in FIELDS")
  end
end

--- Checks the documented parameters of a list endpoint's query.
-- kind: "campaigns" (also GET /campaigns/{id}/leads uses "leads"),
-- "validation_jobs", "exports", "credit_transactions". query may be nil.
-- An unknown kind is a programming error and raises.
function validate.query(kind, query)
  local rules = QUERY_RULES[kind]
  if not rules then
    error(format("scravio.validate.query: unknown kind %s (expected campaigns, leads, "
      .. "validation_jobs, exports or credit_transactions)", tostring(kind)), 2)
  end
  if query == nil then return true end
  local P = {}
  if type(query) ~= "table" then
    add(P, "query", Q, "query must be a table, got %s", got(query))
    return nil, P
  end
  check_fields(P, QUERY_ENDPOINT[kind], query, Q)
  for i = 1, #rules do
    local name, rule = rules[i][1], rules[i][2]
    local v = query[name]
    if v ~= nil then rule(P, v, name) end
  end
  return result(P)
end

---------------------------------------------------------------------------
-- POST /list-exports, path ids
---------------------------------------------------------------------------

local FILE_FORMATS = { "csv", "xlsx" }
local FILE_FORMAT_SET = set_of(FILE_FORMATS)

--- Rules for POST /list-exports.
function validate.export(params)
  local P = {}
  if type(params) ~= "table" then
    add(P, "body", "body", "export params must be a table, got %s", got(params))
    return nil, P
  end
  check_fields(P, "POST /list-exports", params, "body")
  local id = params.campaignId
  if id == nil then
    add(P, "campaignId", "body", "campaignId is required: the id of the campaign to export")
  elseif type(id) ~= "string" or id == "" then
    add(P, "campaignId", "body", "campaignId must be a non-empty string, got %s", got(id))
  end
  if params.emailOnly ~= nil then check_boolean(P, params.emailOnly, "emailOnly", "body") end
  if params.onlyValidEmails ~= nil then
    check_boolean(P, params.onlyValidEmails, "onlyValidEmails", "body")
  end
  if params.fileFormat ~= nil then
    check_enum(P, params.fileFormat, "fileFormat", "body", FILE_FORMATS, FILE_FORMAT_SET)
  end
  return result(P)
end

--- An id used as a path segment: a non-empty string of at most 200
-- characters. Characters are not restricted (the path encoder escapes them).
-- param names the parameter in problems (default "id").
function validate.id(value, param)
  -- The common case costs one type check and a length (this runs on every get).
  if type(value) == "string" and value ~= "" and #value <= LIMITS.ID_MAX then return true end
  param = param or "id"
  local P = {}
  if value == nil then
    add(P, param, "path", "%s is required: a non-empty string", param)
  elseif type(value) ~= "string" then
    add(P, param, "path", "%s must be a string, got %s", param, got(value))
  elseif value == "" then
    add(P, param, "path", "%s must not be empty", param)
  else
    local n = ulen(value)
    if n > LIMITS.ID_MAX then
      add(P, param, "path", "%s must be at most %d characters, got %d", param, LIMITS.ID_MAX, n)
    end
  end
  return result(P)
end

return validate
