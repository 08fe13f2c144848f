-- Specs for lua/scravio/validate.lua (client-side request validation).
-- Run: busted --lpath='./lua/?.lua;./lua/?/init.lua' spec/validate_spec.lua
-- (under lua5.4 /usr/bin/busted, plain busted = Lua 5.1, and luajit).

local validate = require("scravio.validate")

local rep = string.rep

---------------------------------------------------------------------------
-- independent lists (never the module's own tables: that would be circular)
---------------------------------------------------------------------------

-- The transaction types as the API reference lists them (GET
-- /credit-transactions, query `type`), in its order.
local REFERENCE_TRANSACTION_TYPES = {
  "CAMPAIGN_RESERVATION", "CAMPAIGN_SETTLEMENT", "CAMPAIGN_OVERAGE",
  "EMAIL_VALIDATION_DEDUCTION", "EMAIL_VALIDATION_REFUND", "SUBSCRIPTION_INITIAL",
  "SUBSCRIPTION_RENEWAL", "SUBSCRIPTION_UPGRADE", "SUBSCRIPTION_DOWNGRADE",
  "PAYMENT_PADDLE", "PAYMENT_CRYPTOMUS", "PAYMENT_STRIPE_TOPUP",
  "PAYMENT_PADDLE_TOPUP", "ADMIN_CREDIT_ADJUSTMENT",
}

-- The assigned ISO 3166-1 alpha-2 codes, as a set, from Debian's iso-codes
-- package (one of make deps' packages: its absence is a failure).
local ISO_3166_JSON = "/usr/share/iso-codes/json/iso_3166-1.json"
local function iso3166()
  local f = assert(io.open(ISO_3166_JSON), ISO_3166_JSON .. " is missing: run make deps (package iso-codes)")
  local text = f:read("*a")
  f:close()
  local set = {}
  for code in text:gmatch('"alpha_2"%s*:%s*"(%u%u)"') do set[code] = true end
  return set
end

---------------------------------------------------------------------------
-- helpers
---------------------------------------------------------------------------

local function deepcopy(v)
  if type(v) ~= "table" then return v end
  local t = {}
  for k, x in pairs(v) do t[k] = deepcopy(x) end
  return t
end

-- Asserts a failure and returns the problems array.
local function problems_of(ok, problems)
  assert.is_nil(ok)
  assert.is_table(problems)
  assert.is_true(#problems >= 1)
  for _, p in ipairs(problems) do
    assert.is_string(p.param)
    assert.is_string(p.msg)
    assert.is_string(p.location)
  end
  return problems
end

local function params_of(problems)
  local t = {}
  for i, p in ipairs(problems) do t[i] = p.param end
  return t
end

-- Asserts a failure with exactly one problem, for `param`, and returns it.
local function only(param, ok, problems)
  problems_of(ok, problems)
  assert.same({ param }, params_of(problems))
  return problems[1]
end

local function passes(ok, problems)
  if ok ~= true then
    local lines = {}
    for _, p in ipairs(problems or {}) do lines[#lines + 1] = p.param .. ": " .. p.msg end
    error("expected success, got problems:\n  " .. table.concat(lines, "\n  "), 2)
  end
end

-- Independent statement of the reference (not read from the module).
local ALL_TYPES = {
  "INSTAGRAM_HASHTAG", "INSTAGRAM_USER_FOLLOWERS", "INSTAGRAM_USER_FOLLOWING",
  "INSTAGRAM_POST_LIKERS", "INSTAGRAM_POST_COMMENTERS", "INSTAGRAM_PROFILE_LIST",
  "INSTAGRAM_KEYWORD_SEARCH", "YOUTUBE_KEYWORD_SEARCH", "YOUTUBE_CHANNEL_SEARCH",
  "FACEBOOK_KEYWORD_SEARCH", "LINKEDIN_KEYWORD_SEARCH", "TWITTER_KEYWORD_SEARCH",
  "TIKTOK_KEYWORD_SEARCH", "TIKTOK_SEARCH_USERS", "TIKTOK_USER_FOLLOWERS",
  "TIKTOK_USER_FOLLOWING", "TIKTOK_POST_COMMENTERS", "X_KEYWORD_SEARCH",
  "X_FOLLOWERS", "X_FOLLOWING", "X_RETWEETS", "X_REPLIERS",
}
local REQUIRED = {
  INSTAGRAM_HASHTAG = "hashtag",
  INSTAGRAM_USER_FOLLOWERS = "targetUser", INSTAGRAM_USER_FOLLOWING = "targetUser",
  TIKTOK_USER_FOLLOWERS = "targetUser", TIKTOK_USER_FOLLOWING = "targetUser",
  X_FOLLOWERS = "targetUser", X_FOLLOWING = "targetUser",
  INSTAGRAM_POST_LIKERS = "mediaUrl", INSTAGRAM_POST_COMMENTERS = "mediaUrl",
  TIKTOK_POST_COMMENTERS = "mediaUrl", X_RETWEETS = "mediaUrl", X_REPLIERS = "mediaUrl",
  INSTAGRAM_KEYWORD_SEARCH = "keyword", YOUTUBE_KEYWORD_SEARCH = "keyword",
  YOUTUBE_CHANNEL_SEARCH = "keyword", FACEBOOK_KEYWORD_SEARCH = "keyword",
  LINKEDIN_KEYWORD_SEARCH = "keyword", TWITTER_KEYWORD_SEARCH = "keyword",
  TIKTOK_KEYWORD_SEARCH = "keyword", TIKTOK_SEARCH_USERS = "keyword",
  X_KEYWORD_SEARCH = "keyword",
  -- INSTAGRAM_PROFILE_LIST: none
}
local GOOD_INPUT = {
  hashtag = { hashtag = "fitness" },
  targetUser = { targetUser = "natgeo" },
  mediaUrl = { mediaUrl = "https://www.instagram.com/p/ABC123/" },
  keyword = { keyword = "coffee roaster" },
}
-- the multi-value alternative, where there is one
local GOOD_ALT_INPUT = {
  hashtag = { hashtags = { "fitness", "gym" } },
  keyword = { keywords = { "coffee", "tea" } },
}

local function campaign(ctype, inputs, extra)
  local p = {
    type = ctype or "INSTAGRAM_HASHTAG",
    inputs = inputs or deepcopy(GOOD_INPUT[REQUIRED[ctype or "INSTAGRAM_HASHTAG"]] or {}),
    targetEmails = 500,
  }
  for k, v in pairs(extra or {}) do p[k] = v end
  return p
end

-- campaign with the given inputs for INSTAGRAM_HASHTAG plus a valid hashtag
local function with_inputs(inputs)
  local i = { hashtag = "fitness" }
  for k, v in pairs(inputs) do i[k] = v end
  return campaign("INSTAGRAM_HASHTAG", i)
end

local function list_of(n, value)
  local t = {}
  for i = 1, n do t[i] = value or ("item" .. i) end
  return t
end

local E_ACUTE = "\195\169"         -- é, 2 bytes
local EURO = "\226\130\172"        -- €, 3 bytes
local EMOJI = "\240\159\152\128"   -- 😀, 4 bytes

---------------------------------------------------------------------------

describe("scravio.validate", function()

  describe("exported data", function()
    it("lists the 22 campaign types in reference order", function()
      local got = {}
      for i, t in ipairs(validate.CAMPAIGN_TYPES) do got[i] = t end
      assert.same(ALL_TYPES, got)
      assert.equal(22, #validate.CAMPAIGN_TYPES)
      assert.equal("INSTAGRAM_HASHTAG", validate.CAMPAIGN_TYPES[1])
      assert.equal("X_REPLIERS", validate.CAMPAIGN_TYPES[22])
    end)

    it("maps every type to its required input (none for INSTAGRAM_PROFILE_LIST)", function()
      for _, t in ipairs(ALL_TYPES) do
        assert.equal(REQUIRED[t], validate.REQUIRED_INPUT[t], t)
      end
      assert.is_nil(validate.REQUIRED_INPUT.INSTAGRAM_PROFILE_LIST)
      local n = 0
      for k, v in pairs(validate.REQUIRED_INPUT) do
        n = n + 1
        assert.equal(REQUIRED[k], v)
      end
      assert.equal(21, n)
    end)

    it("lists the 14 credit transaction types", function()
      local got = {}
      for i, t in ipairs(validate.TRANSACTION_TYPES) do got[i] = t end
      assert.same(REFERENCE_TRANSACTION_TYPES, got)
      assert.equal(14, #validate.TRANSACTION_TYPES)
    end)

    it("has the 249 assigned ISO 3166-1 alpha-2 codes as a set", function()
      local n = 0
      for code, v in pairs(validate.COUNTRIES) do
        n = n + 1
        assert.is_true(v)
        assert.truthy(code:match("^%u%u$"), code)
      end
      assert.equal(249, n)
      for _, c in ipairs { "US", "GB", "DE", "AQ", "BV", "SS", "XK_NOT", "UK", "EU", "XK" } do
        local expected = (c ~= "XK_NOT" and c ~= "UK" and c ~= "EU" and c ~= "XK") or nil
        assert.equal(expected, validate.COUNTRIES[c], c)
      end
    end)

    it("matches Debian's iso-codes ISO 3166-1 data", function()
      local sys = iso3166()
      local mine = {}
      for code in pairs(validate.COUNTRIES) do mine[code] = true end
      assert.same(sys, mine)
    end)

    it("is read-only", function()
      for _, name in ipairs { "CAMPAIGN_TYPES", "REQUIRED_INPUT", "TRANSACTION_TYPES", "COUNTRIES" } do
        local t = validate[name]
        assert.has_error(function() t.NEW_KEY = true end)
        assert.has_error(function() t[#t + 1] = "X" end)
        assert.has_error(function() setmetatable(t, nil) end)
      end
      assert.has_error(function() validate.REQUIRED_INPUT.INSTAGRAM_PROFILE_LIST = "keyword" end)
      assert.has_error(function() validate.COUNTRIES.XK = true end)
      assert.equal(22, #validate.CAMPAIGN_TYPES)
      assert.is_nil(validate.COUNTRIES.XK)
    end)

    it("refuses changes to existing entries, or (guarded copies) ignores them", function()
      local proxies = #setmetatable({}, { __len = function() return 1 end }) == 1
      if proxies then
        assert.has_error(function() validate.CAMPAIGN_TYPES[1] = "X" end)
        assert.has_error(function() validate.COUNTRIES.US = nil end)
        assert.equal("INSTAGRAM_HASHTAG", validate.CAMPAIGN_TYPES[1])
      else
        -- Lua 5.1/LuaJIT: the exports are copies; changing one changes no check.
        local t1 = validate.CAMPAIGN_TYPES[1]
        finally(function()
          rawset(validate.CAMPAIGN_TYPES, 1, t1)
          rawset(validate.COUNTRIES, "US", true)
        end)
        validate.CAMPAIGN_TYPES[1] = "X"
        validate.COUNTRIES.US = nil
        passes(validate.campaign(campaign("INSTAGRAM_HASHTAG", { hashtag = "coffee" })))
        passes(validate.campaign(with_inputs { countries = { "US" } }))
        only("type", validate.campaign(campaign("X", { hashtag = "coffee" })))
      end
    end)

    it("cannot be weakened by changing an export", function()
      -- on runtimes with guarded copies these assignments succeed; on others they raise
      local c_ok = pcall(function() validate.COUNTRIES.US = nil end)
      local r_ok = pcall(function() validate.REQUIRED_INPUT.X_FOLLOWERS = nil end)
      finally(function()
        if c_ok then rawset(validate.COUNTRIES, "US", true) end
        if r_ok then rawset(validate.REQUIRED_INPUT, "X_FOLLOWERS", "targetUser") end
      end)
      passes(validate.campaign(with_inputs { countries = { "US" } }))
      only("inputs.targetUser", validate.campaign(campaign("X_FOLLOWERS", {})))
    end)
  end)

  ---------------------------------------------------------------------------
  describe("campaign(): types and required inputs", function()
    for _, t in ipairs(ALL_TYPES) do
      local field = REQUIRED[t]
      if field then
        it(t .. " accepts " .. field .. " and rejects its absence as inputs." .. field, function()
          passes(validate.campaign(campaign(t, deepcopy(GOOD_INPUT[field]))))
          passes(validate.preview(campaign(t, deepcopy(GOOD_INPUT[field]))))
          if GOOD_ALT_INPUT[field] then
            passes(validate.campaign(campaign(t, deepcopy(GOOD_ALT_INPUT[field]))))
          end
          local p = only("inputs." .. field, validate.campaign(campaign(t, {})))
          assert.equal("body", p.location)
          assert.truthy(p.msg:find("required for " .. t .. " campaigns", 1, true), p.msg)
          only("inputs." .. field, validate.preview(campaign(t, { unrelated = 1 })))
          -- another type's input does not satisfy this one
          local other = field == "keyword" and { hashtag = "x" } or { keyword = "x" }
          only("inputs." .. field, validate.campaign(campaign(t, other)))
        end)
      else
        it(t .. " needs no particular input (the reference names none)", function()
          passes(validate.campaign(campaign(t, {})))
          passes(validate.campaign(campaign(t, { usernames = { "a", "b" } })))
          passes(validate.preview(campaign(t, {})))
        end)
      end
    end

    it("uses the reference's own message shape for a missing hashtag", function()
      local p = only("inputs.hashtag", validate.campaign(campaign("INSTAGRAM_HASHTAG", {})))
      assert.equal("inputs.hashtag (or inputs.hashtags, 1 to 20 hashtags) is required for "
        .. "INSTAGRAM_HASHTAG campaigns", p.msg)
    end)

    it("does not report 'required' when the field is present but invalid", function()
      local p = only("inputs.targetUser", validate.campaign(campaign("X_FOLLOWERS", { targetUser = "" })))
      assert.not_truthy(p.msg:find("required", 1, true))
      only("inputs.hashtags", validate.campaign(campaign("INSTAGRAM_HASHTAG", { hashtags = {} })))
    end)

    it("requires type, one of the 22", function()
      local p = only("type", validate.campaign { inputs = {}, targetEmails = 1 })
      assert.truthy(p.msg:find("type is required", 1, true))
      p = only("type", validate.campaign(campaign("INSTAGRAM_STORIES", {})))
      assert.truthy(p.msg:find('type "INSTAGRAM_STORIES" is not a campaign type', 1, true), p.msg)
      -- the platform's own types, not all 22
      assert.truthy(p.msg:find("INSTAGRAM_POST_LIKERS", 1, true), p.msg)
      assert.is_nil(p.msg:find("X_REPLIERS", 1, true), p.msg)
      p = only("type", validate.campaign(campaign(42, {})))
      assert.truthy(p.msg:find("got 42", 1, true), p.msg)
      assert.truthy(p.msg:find("CAMPAIGN_TYPES", 1, true), p.msg)
    end)

    it("names the closest type for a misspelt one, in one short line", function()
      local p = only("type", validate.campaign(campaign("INSTAGRAM_HASHTAGS", { hashtag = "x" })))
      assert.equal('type "INSTAGRAM_HASHTAGS" is not a campaign type: did you mean INSTAGRAM_HASHTAG?', p.msg)
      p = only("type", validate.campaign(campaign("TIKTOK_USER_FOLOWERS", { targetUser = "x" })))
      assert.truthy(p.msg:find("did you mean TIKTOK_USER_FOLLOWERS?", 1, true), p.msg)
      for _, t in ipairs({ "INSTAGRAM_HASHTAGS", "INSTAGRAM_STORIES", "NOPE", "X_FOLLOWER" }) do
        p = only("type", validate.campaign(campaign(t, {})))
        assert.is_true(#p.msg < 300, p.msg)
        assert.is_nil(p.msg:find("\n", 1, true))
      end
    end)

    it("suggests the uppercase spelling of a type", function()
      local p = only("type", validate.campaign(campaign("instagram_hashtag", { hashtag = "x" })))
      assert.equal('type must be uppercase: use "INSTAGRAM_HASHTAG" instead of "instagram_hashtag"', p.msg)
    end)

    it("still checks known inputs when the type is unknown", function()
      local problems = problems_of(validate.campaign(campaign("NOPE", { hashtag = rep("a", 101) })))
      assert.same({ "type", "inputs.hashtag" }, params_of(problems))
    end)

    it("requires inputs to be a table", function()
      local p = only("inputs", validate.campaign { type = "INSTAGRAM_PROFILE_LIST", targetEmails = 1 })
      assert.truthy(p.msg:find("inputs is required", 1, true))
      p = only("inputs", validate.campaign { type = "X_FOLLOWERS", inputs = "natgeo", targetEmails = 1 })
      assert.equal('inputs must be a table, got string "natgeo"', p.msg)
    end)

    it("requires params to be a table", function()
      for _, v in ipairs { "x", 1, true } do
        local p = only("body", validate.campaign(v))
        assert.equal("body", p.location)
        only("body", validate.preview(v))
      end
      only("body", validate.campaign(nil))
    end)
  end)

  ---------------------------------------------------------------------------
  describe("campaign(): input field rules", function()
    it("hashtag: 1..100 characters", function()
      passes(validate.campaign(with_inputs { hashtag = "a" }))
      passes(validate.campaign(with_inputs { hashtag = rep("a", 100) }))
      local p = only("inputs.hashtag", validate.campaign(with_inputs { hashtag = rep("a", 101) }))
      assert.equal("inputs.hashtag must be at most 100 characters, got 101", p.msg)
      p = only("inputs.hashtag", validate.campaign(with_inputs { hashtag = "" }))
      assert.truthy(p.msg:find("must not be empty", 1, true))
      only("inputs.hashtag", validate.campaign(with_inputs { hashtag = "  \t " }))
      p = only("inputs.hashtag", validate.campaign(with_inputs { hashtag = 5 }))
      assert.equal("inputs.hashtag must be a string of 1 to 100 characters, got 5", p.msg)
      only("inputs.hashtag", validate.campaign(with_inputs { hashtag = { "a" } }))
    end)

    it("hashtags: array of 1..20 strings of 1..100 characters", function()
      local function h(list) return campaign("INSTAGRAM_HASHTAG", { hashtags = list }) end
      passes(validate.campaign(h { "a" }))
      passes(validate.campaign(h(list_of(20))))
      local p = only("inputs.hashtags", validate.campaign(h(list_of(21))))
      assert.equal("inputs.hashtags must contain at most 20 items, got 21", p.msg)
      p = only("inputs.hashtags", validate.campaign(h {}))
      assert.truthy(p.msg:find("must contain at least 1 item", 1, true), p.msg)
      passes(validate.campaign(h { "a", rep("b", 100) }))
      p = only("inputs.hashtags[1]", validate.campaign(h { "a", rep("b", 101) }))
      assert.equal("inputs.hashtags[1] must be at most 100 characters, got 101", p.msg)
      only("inputs.hashtags[2]", validate.campaign(h { "a", "b", "" }))
      only("inputs.hashtags[0]", validate.campaign(h { 7 }))
      p = only("inputs.hashtags", validate.campaign(h "fitness,gym"))
      assert.equal('inputs.hashtags must be an array of 1 to 20 hashtags such as {"fitness", "gym"}, '
        .. 'got string "fitness,gym"', p.msg)
      only("inputs.hashtags", validate.campaign(h { first = "a" }))
      only("inputs.hashtags", validate.campaign(h { [1] = "a", [3] = "c" }))
    end)

    it("hashtags: reports the count and every bad item together", function()
      local list = list_of(21)
      list[4] = ""
      list[9] = rep("x", 101)
      local problems = problems_of(validate.campaign(campaign("INSTAGRAM_HASHTAG", { hashtags = list })))
      assert.same({ "inputs.hashtags", "inputs.hashtags[3]", "inputs.hashtags[8]" }, params_of(problems))
    end)

    it("hashtag and hashtags together are both checked", function()
      passes(validate.campaign(campaign("INSTAGRAM_HASHTAG", { hashtag = "a", hashtags = { "b" } })))
      only("inputs.hashtag", validate.campaign(campaign("INSTAGRAM_HASHTAG",
        { hashtag = "", hashtags = { "b" } })))
    end)

    it("targetUser: 1..100 characters", function()
      local function u(v) return campaign("INSTAGRAM_USER_FOLLOWERS", { targetUser = v }) end
      passes(validate.campaign(u(rep("u", 100))))
      local p = only("inputs.targetUser", validate.campaign(u(rep("u", 101))))
      assert.equal("inputs.targetUser must be at most 100 characters, got 101", p.msg)
      only("inputs.targetUser", validate.campaign(u("")))
      only("inputs.targetUser", validate.campaign(u(" ")))
      only("inputs.targetUser", validate.campaign(u(12345)))
      passes(validate.campaign(u("@natgeo"))) -- the prefix is not needed, but not refused
    end)

    it("keyword: 1..200 characters; keywords: 1..20 items of 1..200", function()
      local function k(v) return campaign("YOUTUBE_KEYWORD_SEARCH", { keyword = v }) end
      local function ks(v) return campaign("YOUTUBE_KEYWORD_SEARCH", { keywords = v }) end
      passes(validate.campaign(k(rep("k", 200))))
      local p = only("inputs.keyword", validate.campaign(k(rep("k", 201))))
      assert.equal("inputs.keyword must be at most 200 characters, got 201", p.msg)
      only("inputs.keyword", validate.campaign(k("")))
      passes(validate.campaign(ks(list_of(20, rep("k", 200)))))
      only("inputs.keywords", validate.campaign(ks(list_of(21))))
      only("inputs.keywords", validate.campaign(ks {}))
      only("inputs.keywords[19]", validate.campaign(ks((function()
        local l = list_of(20); l[20] = rep("k", 201); return l
      end)())))
      only("inputs.keywords[1]", validate.campaign(ks { "a", false }))
    end)

    it("counts characters, not bytes", function()
      -- 100 two-, three- and four-byte characters are 100 characters
      for _, ch in ipairs { E_ACUTE, EURO, EMOJI } do
        passes(validate.campaign(with_inputs { hashtag = rep(ch, 100) }))
        local p = only("inputs.hashtag", validate.campaign(with_inputs { hashtag = rep(ch, 101) }))
        assert.equal("inputs.hashtag must be at most 100 characters, got 101", p.msg)
      end
      passes(validate.campaign(campaign("X_KEYWORD_SEARCH", { keyword = rep(EURO, 200) })))
      only("inputs.keyword", validate.campaign(campaign("X_KEYWORD_SEARCH", { keyword = rep(EURO, 201) })))
      passes(validate.campaign(campaign("X_KEYWORD_SEARCH", { keywords = { rep(EMOJI, 200) } })))
      only("inputs.keywords[0]", validate.campaign(campaign("X_KEYWORD_SEARCH",
        { keywords = { rep(EMOJI, 201) } })))
      passes(validate.campaign(campaign("X_FOLLOWERS", { targetUser = rep("\228\184\173", 100) })))
      passes(validate.campaign(campaign(nil, nil, { title = rep(E_ACUTE, 100) })))
      only("title", validate.campaign(campaign(nil, nil, { title = rep(E_ACUTE, 101) })))
      -- mixed: 99 ASCII + 1 emoji = 100 characters (103 bytes)
      passes(validate.campaign(with_inputs { hashtag = rep("a", 99) .. EMOJI }))
      only("inputs.hashtag", validate.campaign(with_inputs { hashtag = rep("a", 100) .. EMOJI }))
    end)

    describe("mediaUrl", function()
      local function m(v) return campaign("X_RETWEETS", { mediaUrl = v }) end
      it("accepts https URLs with a host", function()
        for _, url in ipairs {
          "https://www.instagram.com/p/ABC123/",
          "https://x.com/natgeo/status/1234567890",
          "https://www.tiktok.com/@user/video/123?lang=en#top",
          "HTTPS://EXAMPLE.COM",
          "https://example.com:8443/path",
          "https://[2001:db8::1]/p",
          "https://user@example.com/p",
          "https://b\195\188cher.de/p",
          "https://example.com/caf%C3%A9",
        } do
          passes(validate.campaign(m(url)))
        end
      end)
      it("rejects other schemes, missing hosts, spaces and control characters", function()
        local cases = {
          "http://www.instagram.com/p/ABC123/",
          "ftp://example.com/x",
          "www.instagram.com/p/ABC123/",
          "https://",
          "https:///p/ABC",
          "https://:443/p",
          "https://exa mple.com/p",
          "https://example.com/a b",
          " https://example.com/p",
          "https://example.com/p\n",
          "https://example.com/\0",
          "https://example.com/\127",
          "https://example.com/\194\160nbsp",
          "https://example.com:99999/p",
          "https://example.com:abc/p",
          "https://exa_mple.com/p",
          "https://..com/p",
          "",
        }
        for _, url in ipairs(cases) do
          local problems = problems_of(validate.campaign(m(url)))
          for _, p in ipairs(problems) do assert.equal("inputs.mediaUrl", p.param, url) end
        end
        local p = only("inputs.mediaUrl", validate.campaign(m("http://x.com/a/status/1")))
        assert.equal('inputs.mediaUrl must be an https:// URL such as "https://www.instagram.com/p/ABC123/", '
          .. 'got "http://x.com/a/status/1"', p.msg)
        p = only("inputs.mediaUrl", validate.campaign(m("https://x.com/a b")))
        assert.truthy(p.msg:find("spaces or control characters", 1, true), p.msg)
        only("inputs.mediaUrl", validate.campaign(m(42)))
      end)
      it("allows at most 2048 characters", function()
        local prefix = "https://example.com/"
        passes(validate.campaign(m(prefix .. rep("a", 2048 - #prefix))))
        local p = only("inputs.mediaUrl", validate.campaign(m(prefix .. rep("a", 2049 - #prefix))))
        assert.equal("inputs.mediaUrl must be at most 2048 characters, got 2049", p.msg)
        passes(validate.campaign(m(prefix .. rep(E_ACUTE, 2048 - #prefix))))
      end)
    end)

    it("applies every known input's rule whatever the type", function()
      local problems = problems_of(validate.campaign(campaign("X_FOLLOWERS", {
        targetUser = "natgeo",
        hashtag = rep("h", 101),
        hashtags = {},
        mediaUrl = "http://nope",
        keyword = 12,
        keywords = list_of(21),
        countries = { "usa" },
        goal = "world_domination",
      })))
      assert.same({
        "inputs.hashtag", "inputs.hashtags", "inputs.mediaUrl", "inputs.keyword",
        "inputs.keywords", "inputs.countries[0]", "inputs.goal",
      }, params_of(problems))
      -- and for INSTAGRAM_PROFILE_LIST, which requires nothing
      only("inputs.keyword", validate.campaign(campaign("INSTAGRAM_PROFILE_LIST", { keyword = "" })))
    end)

    describe("countries", function()
      it("accepts up to 10 uppercase assigned codes", function()
        passes(validate.campaign(with_inputs { countries = { "US" } }))
        passes(validate.campaign(with_inputs {
          countries = { "US", "GB", "DE", "FR", "ES", "IT", "BR", "IN", "JP", "AU" } }))
        passes(validate.campaign(with_inputs { countries = {} })) -- same as omitted: global
      end)
      it("accepts every assigned code (ISO 3166-1, from the iso-codes data)", function()
        local n = 0
        for code in pairs(iso3166()) do
          n = n + 1
          passes(validate.campaign(with_inputs { countries = { code } }))
        end
        assert.equal(249, n)
      end)
      it("rejects an 11th country", function()
        local p = only("inputs.countries", validate.campaign(with_inputs {
          countries = { "US", "GB", "DE", "FR", "ES", "IT", "BR", "IN", "JP", "AU", "CA" } }))
        assert.equal("inputs.countries must contain at most 10 countries, got 11", p.msg)
      end)
      it("takes codes in any case (validators compare them case-insensitively) and sends them as given", function()
        passes(validate.campaign(with_inputs { countries = { "US", "de", "Fr" } }))
        only("inputs.countries[1]", validate.campaign(with_inputs { countries = { "US", "uk" } }))
      end)
      it("rejects unassigned codes, with a hint for UK", function()
        for _, c in ipairs { "XX", "XK", "EU", "USA", "U", "", " US", "ZZ" } do
          only("inputs.countries[0]", validate.campaign(with_inputs { countries = { c } }))
        end
        local p = only("inputs.countries[0]", validate.campaign(with_inputs { countries = { "UK" } }))
        assert.truthy(p.msg:find('use "GB"', 1, true), p.msg)
        only("inputs.countries[0]", validate.campaign(with_inputs { countries = { 840 } }))
      end)
      it("must be an array", function()
        local p = only("inputs.countries", validate.campaign(with_inputs { countries = "US" }))
        assert.truthy(p.msg:find("array", 1, true), p.msg)
        only("inputs.countries", validate.campaign(with_inputs { countries = { US = true } }))
      end)
      it("reports the count and every bad code together", function()
        local problems = problems_of(validate.campaign(with_inputs {
          countries = { "US", "xx", "GB", "DE", "FR", "ES", "IT", "BR", "IN", "JP", "uk" } }))
        assert.same({ "inputs.countries", "inputs.countries[1]", "inputs.countries[10]" }, params_of(problems))
        assert.truthy(problems[3].msg:find('use "GB"', 1, true))
      end)
    end)

    describe("goal and goalOther", function()
      it("accepts the six goals", function()
        for _, g in ipairs { "sell_products", "find_influencers", "remarketing", "agency_leads", "recruiting" } do
          passes(validate.campaign(with_inputs { goal = g }))
        end
        passes(validate.campaign(with_inputs { goal = "other", goalOther = "lead gen for a bakery" }))
      end)
      it("rejects other goals", function()
        local p = only("inputs.goal", validate.campaign(with_inputs { goal = "sales" }))
        assert.equal('inputs.goal must be one of sell_products, find_influencers, remarketing, agency_leads, '
          .. 'recruiting, other, got "sales"', p.msg)
        only("inputs.goal", validate.campaign(with_inputs { goal = "Other" }))
        only("inputs.goal", validate.campaign(with_inputs { goal = 1 }))
      end)
      it("requires a non-empty goalOther of at most 200 characters when goal is other", function()
        local p = only("inputs.goalOther", validate.campaign(with_inputs { goal = "other" }))
        assert.truthy(p.msg:find("required", 1, true))
        only("inputs.goalOther", validate.campaign(with_inputs { goal = "other", goalOther = "" }))
        only("inputs.goalOther", validate.campaign(with_inputs { goal = "other", goalOther = "   " }))
        passes(validate.campaign(with_inputs { goal = "other", goalOther = rep("g", 200) }))
        only("inputs.goalOther", validate.campaign(with_inputs { goal = "other", goalOther = rep("g", 201) }))
      end)
      it("limits goalOther to 200 characters otherwise", function()
        passes(validate.campaign(with_inputs { goalOther = rep("g", 200) }))
        passes(validate.campaign(with_inputs { goal = "recruiting", goalOther = "" }))
        local p = only("inputs.goalOther", validate.campaign(with_inputs { goal = "recruiting",
          goalOther = rep(EURO, 201) }))
        assert.equal("inputs.goalOther must be at most 200 characters, got 201", p.msg)
        only("inputs.goalOther", validate.campaign(with_inputs { goalOther = true }))
      end)
    end)
  end)

  ---------------------------------------------------------------------------
  describe("campaign(): top-level fields", function()
    it("title: optional string of at most 100 characters", function()
      passes(validate.campaign(campaign(nil, nil, { title = rep("t", 100) })))
      passes(validate.campaign(campaign(nil, nil, { title = "" })))
      local p = only("title", validate.campaign(campaign(nil, nil, { title = rep("t", 101) })))
      assert.equal("title must be at most 100 characters, got 101", p.msg)
      assert.equal("body", p.location)
      only("title", validate.campaign(campaign(nil, nil, { title = 12 })))
    end)

    it("preview(): the same rules without title", function()
      passes(validate.preview(campaign(nil, nil, { title = rep("t", 101) })))
      passes(validate.preview(campaign(nil, nil, { title = 12 })))
      only("targetEmails", validate.preview(campaign(nil, nil, { targetEmails = 0 })))
      only("inputs.hashtag", validate.preview(campaign(nil, { hashtag = rep("a", 101) })))
    end)

    it("targetEmails: required integer between 1 and 1000000", function()
      local function te(v) return campaign(nil, nil, { targetEmails = v }) end
      passes(validate.campaign(te(1)))
      passes(validate.campaign(te(1000000)))
      passes(validate.campaign(te(500.0)))
      passes(validate.campaign(te(1e6)))
      local p = only("targetEmails", validate.campaign(te(0)))
      assert.equal("targetEmails must be an integer between 1 and 1000000, got 0", p.msg)
      assert.equal("body", p.location)
      p = only("targetEmails", validate.campaign(te(1000001)))
      assert.equal("targetEmails must be an integer between 1 and 1000000, got 1000001", p.msg)
      p = only("targetEmails", validate.campaign(te(10.5)))
      assert.equal("targetEmails must be an integer between 1 and 1000000, got 10.5", p.msg)
      p = only("targetEmails", validate.campaign(te(1e7)))
      assert.equal("targetEmails must be an integer between 1 and 1000000, got 10000000", p.msg)
      p = only("targetEmails", validate.campaign(te("500")))
      assert.equal('targetEmails must be an integer between 1 and 1000000, got string "500"', p.msg)
      only("targetEmails", validate.campaign(te(-5)))
      only("targetEmails", validate.campaign(te(0 / 0)))
      only("targetEmails", validate.campaign(te(math.huge)))
      only("targetEmails", validate.campaign(te(true)))
      p = only("targetEmails", validate.campaign { type = "INSTAGRAM_HASHTAG", inputs = { hashtag = "a" } })
      assert.equal("targetEmails is required: an integer between 1 and 1000000", p.msg)
    end)

    it("maxCreditCap: optional number greater than 0", function()
      local function cap(v) return campaign(nil, nil, { maxCreditCap = v }) end
      passes(validate.campaign(cap(100)))
      passes(validate.campaign(cap(0.5)))
      passes(validate.preview(cap(2500.75)))
      local p = only("maxCreditCap", validate.campaign(cap(0)))
      assert.equal("maxCreditCap must be a number greater than 0, got 0", p.msg)
      only("maxCreditCap", validate.campaign(cap(-1)))
      only("maxCreditCap", validate.campaign(cap("100")))
      only("maxCreditCap", validate.campaign(cap(math.huge)))
      only("maxCreditCap", validate.campaign(cap(0 / 0)))
    end)

    it("enableEmailValidation and enableDeepEmailSearch: optional booleans", function()
      passes(validate.campaign(campaign(nil, nil, { enableEmailValidation = true, enableDeepEmailSearch = false })))
      local p = only("enableEmailValidation", validate.campaign(campaign(nil, nil, { enableEmailValidation = "true" })))
      assert.equal('enableEmailValidation must be a boolean (true or false), got string "true"', p.msg)
      only("enableDeepEmailSearch", validate.preview(campaign(nil, nil, { enableDeepEmailSearch = 1 })))
    end)

    it("lists every endpoint's documented fields in one read-only table", function()
      local listed = {}
      for i, name in ipairs(validate.FIELDS["POST /list-exports"]) do listed[i] = name end
      assert.same({ "campaignId", "emailOnly", "onlyValidEmails", "fileFormat" }, listed)
      assert.has_error(function() validate.FIELDS["GET /somewhere"] = {} end)
      assert.is_true(validate.fields("POST /validation-jobs/file/confirm", { parseId = "p", selectedColumn = "x" }))
      local ok, problems = validate.fields("POST /validation-jobs/file/confirm", { parseId = "p", selectedcolumn = "x" })
      assert.is_nil(ok)
      assert.equal("selectedcolumn", problems[1].param)
      assert.has_error(function() validate.fields("GET /nowhere", {}) end)
    end)

    it("lets unknown top-level and input fields through, untouched", function()
      local p = campaign("INSTAGRAM_HASHTAG", {
        hashtag = "fitness",
        minFollowers = "whatever",
        futureFilter = { nested = { 1, 2 } },
        [1] = "array part",
      }, {
        workspace = 12,
        newFlag = "yes",
        limits = { maxItemsToProcess = -1 },
      })
      local before = deepcopy(p)
      passes(validate.campaign(p))
      passes(validate.preview(p))
      assert.same(before, p)
    end)

    it("refuses a likely typo of a documented field, naming the field meant", function()
      local p = only("maxCreditcap", validate.campaign(campaign(nil, nil, { maxCreditcap = 5 })))
      assert.equal("body", p.location)
      assert.truthy(p.msg:find("(did you mean maxCreditCap?)", 1, true), p.msg)
      assert.truthy(p.msg:find("client:request", 1, true), p.msg)
      only("targetemails", validate.preview(campaign(nil, nil, { targetemails = 5 })))
      -- inputs too; two documented fields equally close are both offered
      p = only("inputs.hashtagz", validate.campaign(campaign("INSTAGRAM_HASHTAG",
        { hashtag = "fitness", hashtagz = "gym" })))
      assert.truthy(p.msg:find("(did you mean hashtag or hashtags?)", 1, true), p.msg)
      local _, problems = validate.campaign(campaign("INSTAGRAM_HASHTAG", { hashtagz = "gym" }))
      assert.equal("inputs.hashtagz", problems[1].param) -- the typo first: it explains the rest
      assert.truthy(problems[1].msg:find("(did you mean hashtag or hashtags?)", 1, true), problems[1].msg)
      assert.equal("inputs.hashtag", problems[2].param)
    end)

    it("does not modify params when reporting problems", function()
      local p = campaign("X_FOLLOWERS", { targetUser = " ", countries = { "us" } }, { targetEmails = 500.0 })
      local before = deepcopy(p)
      problems_of(validate.campaign(p))
      assert.same(before, p)
    end)

    it("collects every problem, in a stable order, all located in the body", function()
      local problems = problems_of(validate.campaign {
        title = rep("t", 101),
        type = "X_RETWEETS",
        inputs = { countries = { "US", "xx" }, goal = "other" },
        targetEmails = 0,
        maxCreditCap = -5,
        enableEmailValidation = "yes",
        enableDeepEmailSearch = "no",
      })
      assert.same({
        "title", "inputs.mediaUrl", "inputs.countries[1]", "inputs.goalOther",
        "targetEmails", "maxCreditCap", "enableEmailValidation", "enableDeepEmailSearch",
      }, params_of(problems))
      for _, p in ipairs(problems) do assert.equal("body", p.location) end
    end)
  end)

  ---------------------------------------------------------------------------
  describe("emails()", function()
    -- The reference: "Array of email addresses, or a single comma-separated
    -- string. Duplicates removed automatically (case-insensitive). Max 5,000
    -- after deduplication." No format rule: the job classifies bad addresses.
    local function unique(emails)
      local ok, n = validate.emails(emails)
      assert.is_true(ok)
      return n
    end

    it("accepts an array, changes nothing in it, and counts its unique entries", function()
      local input = { "b@example.org", "A@Example.com", "a@example.com" }
      local before = deepcopy(input)
      assert.equal(2, unique(input))
      assert.same(before, input)
    end)

    it("accepts a comma-separated string and counts its entries", function()
      assert.equal(3, unique("a@example.com,b@example.org, c@example.net"))
      assert.equal(1, unique("solo@example.com"))
    end)

    it("counts entries trimmed and ignores empty ones (nothing is removed from what is sent)", function()
      assert.equal(2, unique(" a@example.com ,\t,,\n b@example.com\r\n, ,"))
      assert.equal(2, unique { "  a@example.com", "", "   ", "b@example.com\t" })
    end)

    it("counts duplicates once, case-insensitively", function()
      assert.equal(3, unique { "Bob@Example.com", "alice@example.com", "bob@example.COM",
        "ALICE@EXAMPLE.COM", " carol@example.com", "Carol@Example.com " })
      assert.equal(1, unique("X@y.io,x@Y.IO,x@y.io"))
    end)

    it("sets no format rule: entries that do not look like addresses are accepted", function()
      assert.equal(6, unique { "plainaddress", "@example.com", "a@example", "a@@example.com",
        "a@b@example.com", "a@" })
      assert.equal(2, unique("ok@example.com, nope"))
      assert.equal(6, unique { "first.last+tag@sub.example.co.uk", "o'neil@example.ie",
        "user@xn--bcher-kva.de", "\195\188ser@b\195\188cher.de", "a@b.c", "weird name@example.com" })
    end)

    it("reports every entry that is not a string", function()
      local problems = problems_of(validate.emails { "x", 5, "ok@example.com", true })
      assert.equal(2, #problems)
      assert.equal("emails[2] must be a string, got 5", problems[1].msg)
      assert.truthy(problems[2].msg:find("emails[4]", 1, true))
      for _, p in ipairs(problems) do
        assert.equal("emails", p.param)
        assert.equal("body", p.location)
      end
    end)

    it("requires at least one non-empty entry", function()
      for _, v in ipairs { {}, "", " , ,", { " ", "" } } do
        local p = only("emails", validate.emails(v))
        assert.equal("emails must contain at least 1 email address (at most 5000)", p.msg)
      end
    end)

    it("allows 5000 unique entries after de-duplication, not 5001", function()
      local list = {}
      for i = 1, 5000 do list[i] = "user" .. i .. "@example.com" end
      assert.equal(5000, unique(list))
      list[5001] = "User1@EXAMPLE.com" -- a duplicate: still 5000 unique
      assert.equal(5000, unique(list))
      assert.equal("User1@EXAMPLE.com", list[5001])
      list[5001] = "user5001@example.com"
      local p = only("emails", validate.emails(list))
      assert.equal("emails must contain at most 5000 unique addresses, got 5001 after de-duplication", p.msg)
      -- the same through a comma-separated string
      only("emails", validate.emails(table.concat(list, ",")))
      list[5001] = "USER2@example.com"
      assert.equal(5000, unique(table.concat(list, ", ")))
      -- case beyond ASCII: the server may fold "Ä" to "ä"; never refuse what it would take
      list[5000], list[5001] = "\195\132NNE@example.com", "\195\164nne@example.com"
      assert.equal(5000, unique(list))
    end)

    it("rejects other types", function()
      for _, v in ipairs { 5, true } do only("emails", validate.emails(v)) end
      only("emails", validate.emails(nil))
      only("emails", validate.emails { a = "x@example.com" })
    end)
  end)

  ---------------------------------------------------------------------------
  describe("query()", function()
    local function q(kind, query) return validate.query(kind, query) end

    it("accepts nil and empty queries for every kind", function()
      for _, kind in ipairs { "campaigns", "leads", "validation_jobs", "exports", "credit_transactions" } do
        passes(q(kind, nil))
        passes(q(kind, {}))
      end
    end)

    it("raises for an unknown kind", function()
      assert.has_error(function() q("users", {}) end)
      assert.has_error(function() q(nil, nil) end)
    end)

    it("requires a table", function()
      local p = only("query", q("campaigns", "page=2"))
      assert.equal("query", p.location)
    end)

    it("refuses likely typos of the endpoint's documented fields", function()
      local p = only("hasEmails", q("leads", { hasEmails = true }))
      assert.equal("query", p.location)
      assert.truthy(p.msg:find("did you mean hasEmail?", 1, true), p.msg)
      p = only("perpage", q("campaigns", { perpage = 5 }))
      assert.truthy(p.msg:find("did you mean perPage?", 1, true), p.msg)
      p = only("Q", q("campaigns", { Q = "fit" }))           -- a short name: its case only
      assert.truthy(p.msg:find("did you mean q?", 1, true), p.msg)
      only("sortby", q("exports", { sortby = "status" }))
      only("campaignid", q("credit_transactions", { campaignid = "x" }))
      only("limt", q("validation_jobs", { limt = 5 }))
      -- short names are not guessed at, and most fields of other endpoints are not typos here ...
      passes(q("campaigns", { too = "x", qq = "y", hasEmail = true }))
      passes(q("exports", { hasEmail = true }))
      -- ... but a paging field carried over from the other lists names this one's (validate.ALIASES)
      p = only("perPage", q("validation_jobs", { perPage = 5 })) -- before: sent, and ignored
      assert.truthy(p.msg:find("did you mean limit?", 1, true), p.msg)
      p = only("limit", q("campaigns", { limit = 5 }))
      assert.truthy(p.msg:find("did you mean perPage?", 1, true), p.msg)
      assert.equals("limit", validate.ALIASES["GET /validation-jobs"].perPage)
      -- also next to the field it was probably meant for
      only("hasEmails", q("leads", { hasEmail = true, hasEmails = true }))
    end)

    it("lets unknown keys through", function()
      passes(q("campaigns", { futureParam = "x", [1] = "y", perPageMax = -1 }))
      passes(q("leads", { status = "nope" }))
    end)

    it("page: integer >= 1 everywhere", function()
      for _, kind in ipairs { "campaigns", "leads", "validation_jobs", "exports", "credit_transactions" } do
        passes(q(kind, { page = 1 }))
        passes(q(kind, { page = 1000000 }))
        passes(q(kind, { page = 2.0 }))
        local p = only("page", q(kind, { page = 0 }))
        assert.equal("query", p.location)
        assert.equal("page must be an integer greater than or equal to 1, got 0", p.msg)
        only("page", q(kind, { page = 1.5 }))
        only("page", q(kind, { page = -1 }))
        only("page", q(kind, { page = true }))
      end
    end)

    it("accepts decimal strings for integer parameters (query values are text)", function()
      passes(q("campaigns", { page = "2", perPage = "100" }))
      only("perPage", q("campaigns", { perPage = "101" }))
      only("page", q("campaigns", { page = "0" }))
      only("page", q("campaigns", { page = "two" }))
      only("page", q("campaigns", { page = "1.5" }))
      only("page", q("campaigns", { page = " 1" }))
    end)

    it("perPage: 1..100 for campaigns", function()
      passes(q("campaigns", { perPage = 1 }))
      passes(q("campaigns", { perPage = 100 }))
      local p = only("perPage", q("campaigns", { perPage = 101 }))
      assert.equal("perPage must be an integer between 1 and 100, got 101", p.msg)
      only("perPage", q("campaigns", { perPage = 0 }))
      only("perPage", q("campaigns", { perPage = 10.5 }))
    end)

    it("perPage: >= 1 with no invented maximum for leads, exports, credit transactions", function()
      for _, kind in ipairs { "leads", "exports", "credit_transactions" } do
        passes(q(kind, { perPage = 1 }))
        passes(q(kind, { perPage = 1000 }))
        passes(q(kind, { perPage = 100000 }))
        only("perPage", q(kind, { perPage = 0 }))
        only("perPage", q(kind, { perPage = "ten" }))
      end
    end)

    it("limit: >= 1 for validation jobs", function()
      passes(q("validation_jobs", { limit = 1 }))
      passes(q("validation_jobs", { limit = 500 }))
      only("limit", q("validation_jobs", { limit = 0 }))
    end)

    it("campaigns: status, sortBy, order, q", function()
      for _, s in ipairs { "pending", "scraping", "scraping_completed", "processing_emails",
        "fully_completed", "failed", "stopped" } do
        passes(q("campaigns", { status = s }))
      end
      passes(q("campaigns", { status = { "failed", "stopped" } }))
      local p = only("status", q("campaigns", { status = "completed" }))
      assert.truthy(p.msg:find('got "completed"', 1, true), p.msg)
      for _, s in ipairs { "createdAt", "progress", "status" } do passes(q("campaigns", { sortBy = s })) end
      only("sortBy", q("campaigns", { sortBy = "title" }))
      passes(q("campaigns", { order = "asc" }))
      passes(q("campaigns", { order = "desc" }))
      p = only("order", q("campaigns", { order = "DESC" }))
      assert.equal('order must be one of asc, desc, got "DESC" (did you mean "desc"?)', p.msg)
      passes(q("campaigns", { q = "fitness" }))
      only("q", q("campaigns", { q = 42 }))
    end)

    it("campaigns: type is a campaign type or shorthand, a string or an array", function()
      for _, t in ipairs(ALL_TYPES) do passes(q("campaigns", { type = t })) end
      for _, t in ipairs { "INSTAGRAM", "YOUTUBE", "FACEBOOK", "LINKEDIN", "TWITTER", "TIKTOK", "X" } do
        passes(q("campaigns", { type = t }))
      end
      passes(q("campaigns", { type = { "INSTAGRAM", "X_FOLLOWERS" } }))
      passes(q("campaigns", { type = "INSTAGRAM,X" }))
      local p = only("type", q("campaigns", { type = "SNAPCHAT" }))
      assert.truthy(p.msg:find('got "SNAPCHAT"', 1, true), p.msg)
      p = only("type", q("campaigns", { type = { "X", "instagram" } }))
      assert.truthy(p.msg:find('did you mean "INSTAGRAM"', 1, true), p.msg)
      only("type", q("campaigns", { type = {} }))
      only("type", q("campaigns", { type = "" }))
      only("type", q("campaigns", { type = "X,,INSTAGRAM" }))
      only("type", q("campaigns", { type = { 1 } }))
      only("type", q("campaigns", { type = { kind = "X" } }))
      only("type", q("campaigns", { type = 7 }))
      -- a transaction type is not a campaign type
      only("type", q("campaigns", { type = "CAMPAIGN_RESERVATION" }))
    end)

    it("from/to: ISO 8601 date or date-time strings", function()
      for _, d in ipairs { "2024-01-31", "2024-02-29", "2000-02-29", "2024-01-31T12:00",
        "2024-01-31T12:00:00Z", "2024-01-31T12:00:00.123Z", "2024-01-31T23:59:59+02:00",
        "2024-01-31T00:00:00-0530", "2024-01-31T00:00:00+01", "2024-01-31 08:15:00",
        "2016-12-31T23:59:60Z", "20240131", "20240131T120000Z", "20240131T1200+0100",
        "2024-01-31T24:00:00Z", "2024-01-31T24:00" } do
        for _, kind in ipairs { "campaigns", "validation_jobs", "credit_transactions" } do
          passes(q(kind, { from = d, to = d }))
        end
      end
      for _, d in ipairs { "2024-13-01", "2024-00-10", "2023-02-29", "1900-02-29", "2024-04-31",
        "2024-1-5", "31/01/2024", "2024-01-31T25:00", "2024-01-31T12:60", "2024-01-31T12",
        "2024-01-31Z", "2024-01-31T12:00:00+2", "yesterday", "", "2024013", "20241331",
        "2024-01-31T24:00:01Z", "2024-01-31T24:30", "20240131 1200" } do
        only("from", q("campaigns", { from = d }))
        only("to", q("credit_transactions", { to = d }))
      end
      local p = only("from", q("validation_jobs", { from = 1704067200 }))
      assert.equal('from must be an ISO 8601 date or date-time string such as "2024-01-31" or '
        .. '"2024-01-31T12:00:00Z", got 1704067200', p.msg)
    end)

    it("leads: hasEmail, validationStatus, platform, strings, sortBy", function()
      passes(q("leads", { hasEmail = true }))
      passes(q("leads", { hasEmail = false }))
      passes(q("leads", { hasEmail = "true" }))
      only("hasEmail", q("leads", { hasEmail = 1 }))
      only("hasEmail", q("leads", { hasEmail = "yes" }))
      for _, s in ipairs { "valid", "invalid", "pending" } do passes(q("leads", { validationStatus = s })) end
      only("validationStatus", q("leads", { validationStatus = "unknown" }))
      for _, s in ipairs { "instagram", "youtube", "linkedin", "facebook", "tiktok", "x" } do
        passes(q("leads", { platform = s }))
      end
      local p = only("platform", q("leads", { platform = "INSTAGRAM" }))
      assert.truthy(p.msg:find('did you mean "instagram"', 1, true), p.msg)
      only("platform", q("leads", { platform = "twitter" }))
      passes(q("leads", { sourceType = "anything", emailSource = "anything" }))
      only("sourceType", q("leads", { sourceType = 3 }))
      only("emailSource", q("leads", { emailSource = false }))
      for _, s in ipairs { "hasEmail", "followerCount", "scrapedAt" } do passes(q("leads", { sortBy = s })) end
      only("sortBy", q("leads", { sortBy = "createdAt" }))
      only("order", q("leads", { order = "up" }))
    end)

    it("validation_jobs: status and sortBy", function()
      for _, s in ipairs { "pending", "parsing", "queued", "processing", "completed", "failed" } do
        passes(q("validation_jobs", { status = s }))
      end
      only("status", q("validation_jobs", { status = "stopped" }))
      passes(q("validation_jobs", { sortBy = "completedAt" }))
      only("sortBy", q("validation_jobs", { sortBy = "status" }))
    end)

    it("exports: campaignId, status and sortBy", function()
      passes(q("exports", { campaignId = "507f1f77bcf86cd799439011" }))
      only("campaignId", q("exports", { campaignId = 507 }))
      for _, s in ipairs { "pending", "processing", "completed", "failed" } do
        passes(q("exports", { status = s }))
      end
      only("status", q("exports", { status = "queued" }))
      for _, s in ipairs { "createdAt", "completedAt", "status" } do passes(q("exports", { sortBy = s })) end
      only("sortBy", q("exports", { sortBy = "progress" }))
    end)

    it("credit_transactions: type is one of the 14, a string or an array", function()
      for _, t in ipairs(REFERENCE_TRANSACTION_TYPES) do passes(q("credit_transactions", { type = t })) end
      passes(q("credit_transactions", { type = { "CAMPAIGN_RESERVATION", "CAMPAIGN_SETTLEMENT" } }))
      passes(q("credit_transactions", { type = "PAYMENT_PADDLE,PAYMENT_STRIPE_TOPUP" }))
      local problems = problems_of(q("credit_transactions",
        { type = { "CAMPAIGN_RESERVATION", "REFUND", "payment_paddle" } }))
      assert.same({ "type", "type" }, params_of(problems))
      assert.truthy(problems[1].msg:find('got "REFUND"', 1, true))
      assert.truthy(problems[2].msg:find('did you mean "PAYMENT_PADDLE"', 1, true))
      only("type", q("credit_transactions", { type = "INSTAGRAM" }))
      only("type", q("credit_transactions", { type = {} }))
      for _, s in ipairs { "timestamp", "amount" } do passes(q("credit_transactions", { sortBy = s })) end
      only("sortBy", q("credit_transactions", { sortBy = "createdAt" }))
      passes(q("credit_transactions", { campaignId = "c1" }))
      only("campaignId", q("credit_transactions", { campaignId = {} }))
    end)

    it("collects every problem in the query", function()
      local problems = problems_of(q("campaigns", {
        page = 0, perPage = 500, status = "nope", type = "NOPE", q = 1,
        sortBy = "x", order = "y", from = "z", to = "w", extra = "ignored",
      }))
      assert.same({ "page", "perPage", "status", "type", "q", "sortBy", "order", "from", "to" },
        params_of(problems))
      for _, p in ipairs(problems) do assert.equal("query", p.location) end
    end)
  end)

  ---------------------------------------------------------------------------
  describe("export()", function()
    it("accepts a campaignId with optional flags and format", function()
      passes(validate.export { campaignId = "507f1f77bcf86cd799439011" })
      passes(validate.export { campaignId = "c1", emailOnly = true, onlyValidEmails = false, fileFormat = "csv" })
      passes(validate.export { campaignId = "c1", fileFormat = "xlsx", futureOption = 1 })
    end)

    it("requires campaignId as a non-empty string", function()
      local p = only("campaignId", validate.export {})
      assert.equal("body", p.location)
      assert.truthy(p.msg:find("required", 1, true))
      only("campaignId", validate.export { campaignId = "" })
      only("campaignId", validate.export { campaignId = 12 })
    end)

    it("checks the flags and the format", function()
      only("emailOnly", validate.export { campaignId = "c", emailOnly = "true" })
      only("onlyValidEmails", validate.export { campaignId = "c", onlyValidEmails = 0 })
      local p = only("fileFormat", validate.export { campaignId = "c", fileFormat = "CSV" })
      assert.equal('fileFormat must be one of csv, xlsx, got "CSV" (did you mean "csv"?)', p.msg)
      only("fileFormat", validate.export { campaignId = "c", fileFormat = "pdf" })
      local problems = problems_of(validate.export { emailOnly = 1, onlyValidEmails = 1, fileFormat = 1 })
      assert.same({ "campaignId", "emailOnly", "onlyValidEmails", "fileFormat" }, params_of(problems))
    end)

    it("requires a table", function()
      only("body", validate.export("c1"))
    end)
  end)

  ---------------------------------------------------------------------------
  describe("id()", function()
    it("accepts non-empty strings of at most 200 characters, any characters", function()
      passes(validate.id("507f1f77bcf86cd799439011"))
      passes(validate.id(rep("i", 200)))
      passes(validate.id(rep(EURO, 200)))
      passes(validate.id("../../auth/me"))
      passes(validate.id("a b/c?d#e%"))
    end)

    it("rejects the rest, naming the parameter, located in the path", function()
      local p = only("id", validate.id(rep("i", 201)))
      assert.equal("path", p.location)
      assert.equal("id must be at most 200 characters, got 201", p.msg)
      p = only("campaignId", validate.id("", "campaignId"))
      assert.equal("campaignId must not be empty", p.msg)
      only("id", validate.id(nil))
      p = only("jobId", validate.id(42, "jobId"))
      assert.equal("jobId must be a string, got 42", p.msg)
      only("id", validate.id({}))
    end)
  end)
end)
