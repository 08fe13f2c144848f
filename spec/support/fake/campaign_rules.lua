-- Campaign types and the request-body validation of POST /campaigns and
-- POST /campaigns/reserve-preview, following the reference field by field.
-- Every problem is reported (not just the first) as errors[] entries whose
-- param uses the documented dotted names: "type", "inputs.hashtag",
-- "inputs.targetUser", "inputs.mediaUrl", "inputs.keyword", "targetEmails"...
local config = require "fake.config"
local util = require "fake.util"
local json = require "fake.json"

local M = {}

M.TYPES = {
  "INSTAGRAM_HASHTAG", "INSTAGRAM_USER_FOLLOWERS", "INSTAGRAM_USER_FOLLOWING", "INSTAGRAM_POST_LIKERS",
  "INSTAGRAM_POST_COMMENTERS", "INSTAGRAM_PROFILE_LIST", "INSTAGRAM_KEYWORD_SEARCH", "YOUTUBE_KEYWORD_SEARCH",
  "YOUTUBE_CHANNEL_SEARCH", "FACEBOOK_KEYWORD_SEARCH", "LINKEDIN_KEYWORD_SEARCH", "TWITTER_KEYWORD_SEARCH",
  "TIKTOK_KEYWORD_SEARCH", "TIKTOK_SEARCH_USERS", "TIKTOK_USER_FOLLOWERS", "TIKTOK_USER_FOLLOWING",
  "TIKTOK_POST_COMMENTERS", "X_KEYWORD_SEARCH", "X_FOLLOWERS", "X_FOLLOWING", "X_RETWEETS", "X_REPLIERS",
}
M.TYPE_SET = util.set(M.TYPES)

M.STATUSES = { "pending", "scraping", "scraping_completed", "processing_emails", "fully_completed", "failed", "stopped" }
M.STATUS_SET = util.set(M.STATUSES)

function M.platform(t)
  local p = t:match("^(%u+)_")
  if p == "TWITTER" or p == "X" then return "x" end
  return p:lower()
end

-- which inputs a type requires
function M.rule(t)
  if t == "INSTAGRAM_HASHTAG" then return "hashtag" end
  if t:match("_USER_FOLLOWERS$") or t:match("_USER_FOLLOWING$") or t == "X_FOLLOWERS" or t == "X_FOLLOWING" then
    return "targetUser"
  end
  if t:match("_POST_LIKERS$") or t:match("_POST_COMMENTERS$") or t == "X_RETWEETS" or t == "X_REPLIERS" then
    return "mediaUrl"
  end
  if t:match("KEYWORD_SEARCH$") or t == "YOUTUBE_CHANNEL_SEARCH" or t == "TIKTOK_SEARCH_USERS" then
    return "keyword"
  end
  return nil   -- INSTAGRAM_PROFILE_LIST: no required input
end

-- Keyword-search types find emails directly ("email-only"), so automatic deep
-- email search does not apply to them; every other type gets it.
function M.deep_supported(t) return not t:match("KEYWORD_SEARCH$") end

-- Leads of keyword campaigns have sourceType "keyword", the rest "profile".
function M.source_type(t) return t:match("KEYWORD_SEARCH$") and "keyword" or "profile" end

-- Platform shorthands accepted by GET /campaigns?type=
function M.expand_type(tok)
  if M.TYPE_SET[tok] then return { tok } end
  local up = tok:upper()
  local out = {}
  for _, t in ipairs(M.TYPES) do
    local p = t:match("^(%u+)_")
    if p == up or ((up == "X" or up == "TWITTER") and (p == "X" or p == "TWITTER")) then out[#out + 1] = t end
  end
  if #out == 0 then return nil end
  return out
end

local ISO = [[AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY BZ
CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD
GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM
KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA
NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ
SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU
WF WS YE YT ZA ZM ZW]]
M.COUNTRIES = {}
for cc in ISO:gmatch("%u%u") do M.COUNTRIES[cc] = true end

local GOALS = { "sell_products", "find_influencers", "remarketing", "agency_leads", "recruiting", "other" }

local function is_array(v)
  if type(v) ~= "table" then return false end
  local n = 0
  for k in pairs(v) do
    if type(k) ~= "number" then return false end
    n = n + 1
  end
  return n == #v
end

local function nonempty_string(v) return type(v) == "string" and util.trim(v) ~= "" end

-- validate(body, with_title) -> normalized request | raises nothing, returns errors
-- Returns: req (normalized), errors (array, empty when valid)
function M.validate(body, with_title)
  local errs = {}
  local function fail(param, msg) errs[#errs + 1] = { param = param, msg = msg, location = "body" } end
  local req = {}

  if with_title and body.title ~= nil then
    if type(body.title) ~= "string" then fail("title", "Title must be a string")
    elseif #body.title > 100 then fail("title", "Title must be at most 100 characters")
    else req.title = util.trim(body.title) ~= "" and body.title or nil end
  end

  local t = body.type
  if t == nil then fail("type", "Campaign type is required")
  elseif type(t) ~= "string" or not M.TYPE_SET[t] then fail("type", "Invalid campaign type") t = nil end
  req.type = t

  local inputs = body.inputs
  if inputs == nil then fail("inputs", "inputs is required") inputs = {}
  elseif type(inputs) ~= "table" or (next(inputs) ~= nil and is_array(inputs)) then
    fail("inputs", "inputs must be an object") inputs = {}
  end
  local ni = {}
  req.inputs = ni

  -- field-level checks (whatever the type)
  local function str_field(name, max, what)
    local v = inputs[name]
    if v == nil or v == json.null then return end
    if type(v) ~= "string" then fail("inputs." .. name, what .. " must be a string") return end
    if #v > max then fail("inputs." .. name, what .. " must be at most " .. max .. " characters") return end
    ni[name] = v
  end
  local function list_field(name, maxn, maxlen, what)
    local v = inputs[name]
    if v == nil or v == json.null then return end
    if not is_array(v) then fail("inputs." .. name, what .. " must be an array") return end
    if #v > maxn then fail("inputs." .. name, what .. " must contain at most " .. maxn .. " items") return end
    local out = {}
    for _, s in ipairs(v) do
      if type(s) ~= "string" or util.trim(s) == "" then fail("inputs." .. name, what .. " must contain non-empty strings") return end
      if #s > maxlen then fail("inputs." .. name, "Each of " .. name .. " must be at most " .. maxlen .. " characters") return end
      out[#out + 1] = s
    end
    ni[name] = out
  end
  str_field("hashtag", 100, "Hashtag")
  list_field("hashtags", 20, 100, "hashtags")
  str_field("targetUser", 100, "Target user")
  str_field("keyword", 200, "Keyword")
  list_field("keywords", 20, 200, "keywords")
  if config.values.strict_reference then
    -- A server may store what it was sent in a canonical form (strict mode).
    local function tag(s) return (util.trim(s):gsub("^#", ""):lower()) end
    local function handle(s) return (util.trim(s):gsub("^@", ""):lower()) end
    local function each(list, f)
      if not list then return nil end
      local out = {}
      for i, s in ipairs(list) do out[i] = f(s) end
      return out
    end
    if ni.hashtag then ni.hashtag = tag(ni.hashtag) end
    ni.hashtags = each(ni.hashtags, tag)
    if ni.targetUser then ni.targetUser = handle(ni.targetUser) end
    if ni.keyword then ni.keyword = util.trim(ni.keyword) end
    ni.keywords = each(ni.keywords, util.trim)
  end

  if inputs.mediaUrl ~= nil and inputs.mediaUrl ~= json.null then
    local u = inputs.mediaUrl
    if type(u) ~= "string" then fail("inputs.mediaUrl", "Media URL must be a string")
    elseif #u > 2048 then fail("inputs.mediaUrl", "Media URL must be at most 2048 characters")
    else
      local host = u:match("^https://([^/?#%s]+)")
      if u:find("%s") or not host or not host:match("^[%w%-%.]+%.%a[%w%-]*:?%d*$") then
        fail("inputs.mediaUrl", "Media URL must be a valid HTTPS URL")
      else ni.mediaUrl = u end
    end
  end

  if inputs.countries ~= nil and inputs.countries ~= json.null then
    local c = inputs.countries
    if not is_array(c) then fail("inputs.countries", "countries must be an array")
    elseif #c > 10 then fail("inputs.countries", "countries must contain at most 10 items")
    else
      local out = {}
      for _, cc in ipairs(c) do
        if type(cc) ~= "string" or not M.COUNTRIES[cc:upper()] or #cc ~= 2 then
          fail("inputs.countries", "Invalid country code: " .. tostring(cc) .. " (use ISO 3166-1 alpha-2)")
          break
        end
        out[#out + 1] = cc:upper()
      end
      ni.countries = out
    end
  end

  if inputs.goal ~= nil and inputs.goal ~= json.null then
    if type(inputs.goal) ~= "string" or not util.contains(GOALS, inputs.goal) then
      fail("inputs.goal", "goal must be one of: " .. table.concat(GOALS, ", "))
    else ni.goal = inputs.goal end
  end
  str_field("goalOther", 200, "goalOther")
  if ni.goal == "other" and not nonempty_string(ni.goalOther) then
    fail("inputs.goalOther", "goalOther is required when goal is \"other\"")
  end
  -- INSTAGRAM_PROFILE_LIST and friends may carry other inputs; keep them verbatim
  for k, v in pairs(inputs) do
    if ni[k] == nil and type(k) == "string" and v ~= json.null and
       not ({ hashtag = 1, hashtags = 1, targetUser = 1, mediaUrl = 1, keyword = 1, keywords = 1,
              countries = 1, goal = 1, goalOther = 1 })[k] then
      ni[k] = v
    end
  end

  -- type-specific requirements
  if t then
    local r = M.rule(t)
    if r == "hashtag" and not nonempty_string(ni.hashtag) and not (ni.hashtags and #ni.hashtags > 0) then
      fail("inputs.hashtag", "Hashtag is required for INSTAGRAM_HASHTAG campaigns")
    elseif r == "targetUser" and not nonempty_string(ni.targetUser) then
      fail("inputs.targetUser", "Target user is required for " .. t .. " campaigns")
    elseif r == "mediaUrl" and not ni.mediaUrl then
      if not (inputs.mediaUrl ~= nil and inputs.mediaUrl ~= json.null) then
        fail("inputs.mediaUrl", "Media URL is required for " .. t .. " campaigns")
      end
    elseif r == "keyword" and not nonempty_string(ni.keyword) and not (ni.keywords and #ni.keywords > 0) then
      fail("inputs.keyword", "Keyword is required for " .. t .. " campaigns")
    end
  end
  if ni.hashtag then ni.hashtag = ni.hashtag:gsub("^#", "") end
  if ni.hashtags then for i, h in ipairs(ni.hashtags) do ni.hashtags[i] = h:gsub("^#", "") end end
  if ni.targetUser then ni.targetUser = ni.targetUser:gsub("^@", "") end

  local te = body.targetEmails
  if te == nil or te == json.null then fail("targetEmails", "targetEmails is required")
  elseif not util.is_integer(te) then fail("targetEmails", "targetEmails must be an integer")
  elseif te < 1 or te > 1000000 then fail("targetEmails", "targetEmails must be between 1 and 1000000")
  end
  req.targetEmails = util.is_integer(te) and te or nil

  local cap = body.maxCreditCap
  if cap ~= nil and cap ~= json.null then
    if type(cap) ~= "number" or cap ~= cap or cap <= 0 or cap == math.huge then
      fail("maxCreditCap", "maxCreditCap must be a positive number")
    else
      req.maxCreditCap = math.floor(cap)   -- credits are whole; a fractional cap rounds down
      if req.maxCreditCap < 1 then fail("maxCreditCap", "maxCreditCap must be at least 1") end
    end
  end

  for _, f in ipairs({ "enableEmailValidation", "enableDeepEmailSearch" }) do
    local v = body[f]
    if v ~= nil and v ~= json.null and type(v) ~= "boolean" then fail(f, f .. " must be a boolean") end
  end
  req.enableEmailValidation = body.enableEmailValidation == true
  req.enableDeepEmailSearch = body.enableDeepEmailSearch
  return req, errs
end

return M
