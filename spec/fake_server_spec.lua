-- Tests of the fake Scravio server itself (spec/support/), through the curl
-- CLI only, so they are independent of the SDK under test elsewhere.
-- Run: lua5.4 /usr/bin/busted spec/fake_server_spec.lua   and   busted spec/fake_server_spec.lua
package.path = "./?.lua;" .. package.path
local fake = require("spec.support.fake_server")
local cjson = require("cjson")

local srv, tmp

-- helpers ----------------------------------------------------------------------------

local function q(s) return "'" .. tostring(s):gsub("'", "'\\''") .. "'" end

local function sh(cmd)
  -- curl must not inherit a sanitizer preload meant for the SDK (it can hang)
  local p = io.popen("unset LD_PRELOAD 2>/dev/null; (" .. cmd .. ") 2>&1; echo \"__RC__$?\"")
  local out = p:read("*a")
  p:close()
  local rc = tonumber(out:match("__RC__(%d+)%s*$"))
  return (out:gsub("__RC__%d+%s*$", "")), rc
end

local H = require("spec.support.helpers")
local read, write = H.read_file, H.write_file

local function decode(s)
  local ok, v = pcall(cjson.decode, s)
  if ok then return v end
  return nil
end

local seq = 0
-- http(method, path_or_url, opts) -> { status, exit, headers, body, json, time }
--   opts.key (default srv.api_key; false = none), opts.bearer, opts.json, opts.body,
--   opts.headers, opts.cacert, opts.max_time, opts.follow, opts.content_type
local function http(method, target, opts)
  opts = opts or {}
  seq = seq + 1
  local url = target:match("^https?://") and target or (srv.base_url .. target)
  local hfile, bfile = tmp .. "/h" .. seq, tmp .. "/b" .. seq
  local verb = method == "HEAD" and "-I" or ("-X " .. method)     -- -X HEAD would wait for a body
  local args = { "curl -sS --noproxy '*' " .. verb, "-D " .. q(hfile), "-o " .. q(bfile),
                 "-w '%{http_code} %{time_total}'", "--max-time " .. (opts.max_time or 30) }
  local key = opts.key
  if key == nil and not opts.bearer then key = srv.api_key end
  if key then args[#args + 1] = "-H " .. q("X-API-Key: " .. key) end
  if opts.bearer then args[#args + 1] = "-H " .. q("Authorization: Bearer " .. opts.bearer) end
  for k, v in pairs(opts.headers or {}) do args[#args + 1] = "-H " .. q(k .. ": " .. v) end
  local body = opts.body
  if opts.json ~= nil then body = cjson.encode(opts.json) end
  if body then
    local f = tmp .. "/req" .. seq
    write(f, body)
    args[#args + 1] = "-H " .. q("Content-Type: " .. (opts.content_type or "application/json"))
    args[#args + 1] = "--data-binary @" .. q(f)
  end
  if opts.cacert then args[#args + 1] = "--cacert " .. q(opts.cacert) end
  if opts.follow then args[#args + 1] = "-L" end
  args[#args + 1] = q(url)
  local out, rc = sh(table.concat(args, " "))
  local code, time = out:match("(%d+) ([%d%.]+)%s*$")
  local res = { status = tonumber(code), exit = rc, out = out, time = tonumber(time), headers = {} }
  local htext = read(hfile) or ""
  -- keep the last header block (after redirects)
  for line in htext:gmatch("[^\r\n]+") do
    if line:match("^HTTP/") then res.headers = {} else
      local k, v = line:match("^([^:]+):%s*(.*)$")
      if k then res.headers[k:lower()] = v end
    end
  end
  res.body = read(bfile) or ""
  res.json = decode(res.body)
  os.remove(hfile); os.remove(bfile)
  return res
end

local function get(path, opts) return http("GET", path, opts) end
local function post(path, json, opts)
  opts = opts or {}
  if json ~= nil then opts.json = json end
  return http("POST", path, opts)
end

local function assert_error(res, status, code)
  assert.are.equal(status, res.status, res.body)
  assert.is_table(res.json, res.body)
  assert.is_string(res.json.message)
  if code then assert.are.equal(code, res.json.code, res.body) end
  assert.is_table(res.json.errors)
  assert.matches('"errors":%[', res.body)             -- an array, never {}
  assert.matches("^req_", res.json.requestId)
  assert.are.equal(res.json.requestId, res.headers["x-request-id"])
end

local function has_param(res, param)
  for _, e in ipairs(res.json.errors) do
    if e.param == param then
      assert.is_string(e.msg)
      assert.is_string(e.location)
      return true
    end
  end
  return false
end

local HASHTAG = { type = "INSTAGRAM_HASHTAG", inputs = { hashtags = { "fitness", "gym" } }, targetEmails = 500 }

local function create_campaign(body, opts)
  local res = post("/campaigns", body or HASHTAG, opts)
  assert.are.equal(201, res.status, res.body)
  return res.json.campaign, res
end

local function balance(key)
  return get("/auth/me", { key = key }).json.credits
end

local function ledger(query, key)
  return get("/credit-transactions" .. (query or ""), { key = key }).json.transactions
end

local function alive(pid) return fake.alive(pid) end

-- suite ------------------------------------------------------------------------------

describe("fake Scravio server", function()
  setup(function()
    local out = sh("mktemp -d ${TMPDIR:-/tmp}/fake-spec.XXXXXX")
    tmp = out:gsub("%s+$", "")
    srv = fake.start()
  end)

  teardown(function()
    if srv then srv:stop() end
    if tmp then sh("rm -rf " .. q(tmp)) end
  end)

  -- Frozen: states move only with srv:advance, so what a spec sees right after
  -- a create (pending, queued ...) does not depend on the machine's speed.
  before_each(function() srv:reset() srv:freeze() end)

  describe("controller", function()
    it("exposes the documented fields", function()
      assert.matches("^http://127%.0%.0%.1:%d+/api$", srv.base_url)
      assert.matches("^https://127%.0%.0%.1:%d+/api$", srv.tls_base_url)
      assert.matches("^http://127%.0%.0%.1:%d+$", srv.storage_url)
      assert.matches("^sk_live_", srv.api_key)
      for _, k in ipairs({ "other_api_key", "free_api_key", "poor_api_key", "access_token", "ca_file" }) do
        assert.is_string(srv[k])
      end
      assert.is_number(srv.api_port); assert.is_number(srv.storage_port); assert.is_number(srv.tls_port)
      assert.is_truthy(read(srv.ca_file):find("BEGIN CERTIFICATE", 1, true))
    end)

    it("freezes the clock: only advance moves it, unfreeze resumes from the same instant", function()
      local c = create_campaign()
      local t0 = srv:clock()
      assert.is_true(t0.frozen)
      os.execute("sleep 0.3") -- real time passes, the fake clock does not
      assert.are.equal(t0.epoch, srv:clock().epoch)
      assert.are.equal("pending", get("/campaigns/" .. c._id).json.status)
      srv:advance(1)
      assert.is_true(math.abs(srv:clock().epoch - t0.epoch - 1) < 1e-3) -- exactly 1 s later (JSON rounding aside)
      assert.are.equal("scraping", get("/campaigns/" .. c._id).json.status)
      srv:unfreeze()
      local t1 = srv:clock()
      assert.is_false(t1.frozen)
      assert.is_true(t1.epoch >= t0.epoch + 1 - 1e-3)
      srv:reset()
      assert.is_false(srv:clock().frozen)
    end)

    it("reset restores balances, clears campaigns, faults, logs and the clock", function()
      create_campaign()
      srv:fault({ path = "/api/auth/me", kind = "status", status = 500, count = 5 })
      srv:advance(100)
      srv:configure({ campaign_seconds = 99 })
      srv:reset()
      assert.are.equal(100000, balance())
      assert.are.equal(0, get("/campaigns").json.pagination.totalCount)
      assert.are.equal(0, #srv:faults())
      assert.are.equal(0, srv:clock().offset)
      assert.are.equal(3, srv:configure({}).campaign_seconds)
      assert.are.equal(2, #srv:requests())      -- just the two GETs above
    end)

    it("logs API requests (never control calls) with raw path, query, headers and body", function()
      post("/campaigns/reserve-preview", HASHTAG, { headers = { ["X-Workspace-Id"] = "ws_123" } })
      get("/campaigns?page=2&perPage=5&type=INSTAGRAM%2CX")
      srv:advance(1)
      local all = srv:requests()
      assert.are.equal(2, #all)
      local p = srv:requests({ method = "POST", path = "/api/campaigns/reserve-preview" })[1]
      assert.are.equal("ws_123", p.headers["x-workspace-id"])
      assert.are.equal(srv.api_key, p.headers["x-api-key"])
      assert.are.same(HASHTAG, cjson.decode(p.body))
      assert.are.equal(200, p.status)
      local g = srv:requests({ method = "GET" })[1]
      assert.are.equal("/api/campaigns", g.path)
      assert.are.equal("page=2&perPage=5&type=INSTAGRAM%2CX", g.query)
      assert.are.equal(1, #srv:requests({ path = "^/api/campaigns$", pattern = true }))
    end)

    it("advances the fake clock", function()
      local before = srv:clock()
      srv:advance(3600)
      local after = srv:clock()
      assert.are.equal(3600, after.offset)
      assert.is_true(after.epoch - before.epoch >= 3600)
    end)

    it("refuses unknown configuration keys", function()
      assert.has_error(function() srv:configure({ campain_seconds = 1 }) end)
    end)
  end)

  describe("auth and envelopes", function()
    it("GET /auth/me answers the bare account with integer credits", function()
      local res = get("/auth/me")
      assert.are.equal(200, res.status)
      assert.matches('"credits":100000[,}]', res.body)
      assert.are.equal(false, res.json.shouldMaskEmail)
      assert.are.equal("owner-a@example.com", res.json.email)
      assert.matches("^req_", res.headers["x-request-id"])
      assert.matches("application/json", res.headers["content-type"])
      for _, k in ipairs({ "id", "name", "isVerified", "concurrentCampaignLimit", "scrapingSpeed", "createdAt" }) do
        assert.is_not_nil(res.json[k], k)
      end
    end)

    it("accepts a Bearer access token", function()
      local res = get("/auth/me", { bearer = srv.access_token })
      assert.are.equal(200, res.status)
      assert.are.equal("owner-a@example.com", res.json.email)
    end)

    it("answers 401 with the error shape for missing or invalid credentials", function()
      assert_error(get("/auth/me", { key = false }), 401, "UNAUTHORIZED")
      assert_error(get("/auth/me", { key = "sk_live_nope" }), 401, "UNAUTHORIZED")
      assert_error(get("/auth/me", { bearer = "nope" }), 401, "UNAUTHORIZED")
    end)

    it("gives every response a fresh request id", function()
      local a, b = get("/auth/me"), get("/auth/me")
      assert.are_not.equal(a.headers["x-request-id"], b.headers["x-request-id"])
    end)

    it("masks emails for the free account and knows the poor one", function()
      assert.are.equal(true, get("/auth/me", { key = srv.free_api_key }).json.shouldMaskEmail)
      assert.are.equal(50, balance(srv.poor_api_key))
    end)

    it("answers unknown routes and escaping ids with a JSON 404", function()
      assert_error(get("/nope"), 404, "NOT_FOUND")
      assert_error(http("DELETE", "/campaigns"), 404, "NOT_FOUND")
      assert_error(get("/campaigns/..%2F..%2Fauth%2Fme"), 404, "NOT_FOUND")
    end)

    it("refuses malformed JSON bodies", function()
      assert_error(post("/campaigns", nil, { body = '{"type":' }), 400, "INVALID_JSON")
    end)
  end)

  describe("campaigns", function()
    it("reserve-preview answers {success, requestId, data} with the pricing model", function()
      local res = post("/campaigns/reserve-preview", HASHTAG)
      assert.are.equal(200, res.status)
      assert.is_true(res.json.success)
      assert.are.equal(res.headers["x-request-id"], res.json.requestId)
      local d = res.json.data
      assert.are.equal(1000, d.estimatedUsageCredits)          -- 500 emails x 2 credits
      assert.are.equal(1200, d.recommendedMaxCreditCap)         -- +20% buffer
      assert.are.equal(1200, d.creditReserved)
      assert.are.equal("recommended", d.budgetMode)
      assert.is_table(d.summary)
      assert.matches('"warnings":%[%]', res.body)
      assert.matches('"creditReserved":1200[,}]', res.body)
      local capped = post("/campaigns/reserve-preview", {
        type = "YOUTUBE_KEYWORD_SEARCH", inputs = { keyword = "coffee" }, targetEmails = 100,
        maxCreditCap = 150, enableEmailValidation = true }).json.data
      assert.are.equal(150, capped.creditReserved)
      assert.are.equal("user_limited", capped.budgetMode)
      assert.are.equal(125, capped.emailCollectionGoal)
      assert.are.equal(500, capped.estimatedUsageCredits)       -- 125 x (3 + 1)
      assert.are.equal("CAP_BELOW_ESTIMATE", capped.warnings[1].code)
    end)

    it("validates inputs per type with dotted params", function()
      local cases = {
        { { type = "INSTAGRAM_HASHTAG", inputs = {}, targetEmails = 10 }, "inputs.hashtag" },
        { { type = "TIKTOK_USER_FOLLOWERS", inputs = {}, targetEmails = 10 }, "inputs.targetUser" },
        { { type = "X_FOLLOWING", inputs = { targetUser = "" }, targetEmails = 10 }, "inputs.targetUser" },
        { { type = "X_RETWEETS", inputs = { mediaUrl = "http://x.com/a/status/1" }, targetEmails = 10 }, "inputs.mediaUrl" },
        { { type = "INSTAGRAM_POST_LIKERS", inputs = {}, targetEmails = 10 }, "inputs.mediaUrl" },
        { { type = "INSTAGRAM_POST_COMMENTERS", inputs = { mediaUrl = "https://i.com/" .. string.rep("a", 2048) }, targetEmails = 10 }, "inputs.mediaUrl" },
        { { type = "LINKEDIN_KEYWORD_SEARCH", inputs = {}, targetEmails = 10 }, "inputs.keyword" },
        { { type = "TIKTOK_SEARCH_USERS", inputs = { keywords = {} }, targetEmails = 10 }, "inputs.keyword" },
        { { type = "YOUTUBE_CHANNEL_SEARCH", inputs = { keyword = "a" }, targetEmails = 0 }, "targetEmails" },
        { { type = "YOUTUBE_CHANNEL_SEARCH", inputs = { keyword = "a" }, targetEmails = 1000001 }, "targetEmails" },
        { { type = "YOUTUBE_CHANNEL_SEARCH", inputs = { keyword = "a" }, targetEmails = 1.5 }, "targetEmails" },
        { { type = "YOUTUBE_CHANNEL_SEARCH", inputs = { keyword = "a" } }, "targetEmails" },
        { { type = "NOPE", inputs = {}, targetEmails = 1 }, "type" },
        { { type = "X_KEYWORD_SEARCH", inputs = { keyword = "a", countries = { "XX" } }, targetEmails = 1 }, "inputs.countries" },
        { { type = "INSTAGRAM_HASHTAG", inputs = { hashtag = "a" }, targetEmails = 1, title = string.rep("t", 101) }, "title" },
      }
      for _, c in ipairs(cases) do
        local res = post("/campaigns", c[1])
        assert_error(res, 400, "VALIDATION_ERROR")
        assert.is_true(has_param(res, c[2]), c[2] .. " in " .. res.body)
      end
      -- INSTAGRAM_PROFILE_LIST has no required input
      assert.are.equal(201, post("/campaigns", { type = "INSTAGRAM_PROFILE_LIST", inputs = {}, targetEmails = 5 }).status)
      -- nothing was charged for the refused ones
      assert.are.equal(1, #ledger("?type=CAMPAIGN_RESERVATION"))
    end)

    it("creates with 201 {campaign}, reserves credits and writes the ledger", function()
      local c, res = create_campaign()
      assert.matches('^{"campaign":', res.body)
      assert.are.equal("pending", c.status)
      assert.are.equal(1200, c.creditSettlement.creditReserved)
      assert.matches('"targetEmails":500[,}]', res.body)
      assert.are.equal(100000 - 1200, balance())
      local t = ledger("?type=CAMPAIGN_RESERVATION")[1]
      assert.are.equal(-1200, t.amount)
      assert.are.equal(100000, t.balanceBefore)
      assert.are.equal(98800, t.balanceAfter)
      assert.are.equal(c._id, t.campaignId)
    end)

    it("refuses to create beyond the balance with INSUFFICIENT_CREDITS", function()
      assert_error(post("/campaigns", HASHTAG, { key = srv.poor_api_key }), 400, "INSUFFICIENT_CREDITS")
      assert.are.equal(50, balance(srv.poor_api_key))
      -- a cap that fits the balance works
      local body = { type = "INSTAGRAM_HASHTAG", inputs = { hashtag = "a" }, targetEmails = 500, maxCreditCap = 40 }
      assert.are.equal(201, post("/campaigns", body, { key = srv.poor_api_key }).status)
      assert.are.equal(10, balance(srv.poor_api_key))
    end)

    it("runs the lifecycle on the fake clock and settles with a refund", function()
      srv:configure({ campaign_seconds = 10 })
      local c = create_campaign()
      local function status() return get("/campaigns/" .. c._id).json end
      srv:advance(3)
      local s = status()
      assert.are.equal("scraping", s.status)
      assert.is_true(s.progressPercentage > 0 and s.progressPercentage < 60)
      assert.is_true(s.profileScannedCount > 0)
      assert.are.equal("running", s.phaseState.scraping.status)
      srv:advance(3.2)
      assert.are.equal("scraping_completed", status().status)
      srv:advance(1.8)
      s = status()
      assert.are.equal("processing_emails", s.status)
      assert.are.equal("running", s.phaseState.deepsearch.status)
      srv:advance(2)
      s = status()
      assert.are.equal("fully_completed", s.status)
      assert.are.equal(100, s.progressPercentage)
      assert.are.equal(500, s.emailScanCount)
      assert.are.equal(2500, s.profileScannedCount)
      assert.are.same({ profiles = 2500, emails = 500 }, s.normalizedCounts)
      local cs = s.creditSettlement
      assert.is_true(cs.isSettled)
      assert.are.equal(1000, cs.creditUsed)
      assert.are.equal(200, cs.creditReturned)
      assert.are.equal(1000, cs.creditCharged)
      assert.are.equal(500, cs.breakdown.initialEmails + cs.breakdown.deepSearchEmails)
      assert.are.equal("done", s.phaseState.settlement.status)
      assert.is_string(s.finishedAt)
      local settle = ledger("?type=CAMPAIGN_SETTLEMENT")[1]
      assert.are.equal(200, settle.amount)
      assert.are.equal(100000 - 1000, balance())
    end)

    it("fails campaigns whose title contains [fail]", function()
      local body = { title = "will [fail] soon", type = "X_FOLLOWERS", inputs = { targetUser = "jack" }, targetEmails = 100 }
      local c = create_campaign(body)
      srv:advance(10)
      local s = get("/campaigns/" .. c._id).json
      assert.are.equal("failed", s.status)
      assert.is_true(s.creditSettlement.isSettled)
      assert.are.equal("failed", s.phaseState.scraping.status)
      assert.are.equal(s.creditSettlement.creditReturned, ledger("?type=CAMPAIGN_SETTLEMENT")[1].amount)
    end)

    it("lists with pagination and filters", function()
      local a = create_campaign()
      srv:advance(0.01)
      local b = create_campaign({ title = "jack followers", type = "X_FOLLOWERS", inputs = { targetUser = "jack" }, targetEmails = 10 })
      srv:seed_campaign({ status = "fully_completed", title = "done one" })
      local res = get("/campaigns?perPage=2")
      assert.are.equal(200, res.status)
      assert.are.same({ totalCount = 3, totalPages = 2, currentPage = 1, perPage = 2 }, res.json.pagination)
      assert.matches('"totalCount":3[,}]', res.body)
      assert.are.equal(b._id, res.json.items[1]._id)          -- newest first
      assert.are.equal(1, get("/campaigns?type=X").json.pagination.totalCount)
      assert.are.equal(2, get("/campaigns?type=INSTAGRAM").json.pagination.totalCount)
      assert.are.equal(1, get("/campaigns?type=INSTAGRAM_HASHTAG,X_FOLLOWERS&status=pending&order=asc").json.items[1]._id == a._id and 1 or 0)
      assert.are.equal(1, get("/campaigns?status=fully_completed").json.pagination.totalCount)
      assert.are.equal(b._id, get("/campaigns?q=JACK").json.items[1]._id)
      assert.are.equal(a._id, get("/campaigns?q=gym").json.items[1]._id)
      assert.are.equal(0, #get("/campaigns?page=9").json.items)
      assert.matches('"items":%[%]', get("/campaigns?page=9").body)
      assert_error(get("/campaigns?perPage=101"), 400, "VALIDATION_ERROR")
      assert_error(get("/campaigns?page=0"), 400, "VALIDATION_ERROR")
      assert_error(get("/campaigns?type=MYSPACE"), 400, "VALIDATION_ERROR")
      assert.are.equal(0, get("/campaigns?from=2999-01-01").json.pagination.totalCount)
      assert.are.equal(0, get("/campaigns", { key = srv.other_api_key }).json.pagination.totalCount)
    end)

    it("answers 404 for another account's campaign everywhere", function()
      local c = create_campaign()
      local other = { key = srv.other_api_key }
      assert_error(get("/campaigns/" .. c._id, other), 404, "NOT_FOUND")
      assert_error(get("/campaigns/" .. c._id .. "/leads", other), 404)
      assert_error(post("/campaigns/" .. c._id .. "/stop", nil, other), 404)
      assert_error(get("/campaigns/" .. c._id .. "/validate/preview", other), 404)
      assert_error(post("/campaigns/" .. c._id .. "/validate", nil, other), 404)
      assert_error(post("/list-exports", { campaignId = c._id }, other), 404)
      local bid = srv:seed_campaign({ account = "B" })
      assert_error(get("/campaigns/" .. bid), 404)
      assert.are.equal(200, get("/campaigns/" .. bid, other).status)
    end)

    it("stops active campaigns idempotently and refunds unused credits", function()
      srv:configure({ campaign_seconds = 10 })
      local c = create_campaign()
      srv:advance(3.5)
      local res = post("/campaigns/" .. c._id .. "/stop")
      assert.are.equal(200, res.status)
      assert.are.same({ campaignId = c._id, stopRequested = true, status = "stopped", stoppedBy = "user",
                        stoppedReason = "Stopped via API" }, res.json)
      local s = get("/campaigns/" .. c._id).json
      assert.are.equal("stopped", s.status)
      local cs = s.creditSettlement
      assert.is_true(cs.isSettled)
      assert.are.equal(1200 - cs.creditUsed, cs.creditReturned)
      assert.are.equal(s.emailScanCount * 2, cs.creditUsed)
      assert.are.equal(100000 - cs.creditUsed, balance())
      assert.are.equal(200, post("/campaigns/" .. c._id .. "/stop").status)   -- idempotent
      assert.are.equal(1, #ledger("?type=CAMPAIGN_SETTLEMENT"))
      srv:advance(100)
      assert.are.equal("stopped", get("/campaigns/" .. c._id).json.status)
      local done = srv:seed_campaign({ status = "fully_completed" })
      assert_error(post("/campaigns/" .. done .. "/stop"), 400, "CAMPAIGN_NOT_ACTIVE")
    end)

    it("rate-limits stop to 5 per minute per campaign with Retry-After", function()
      local id = srv:seed_campaign({ status = "stopped" })
      for _ = 1, 5 do assert.are.equal(200, post("/campaigns/" .. id .. "/stop").status) end
      local res = post("/campaigns/" .. id .. "/stop")
      assert_error(res, 429, "RATE_LIMIT_EXCEEDED")
      local ra = tonumber(res.headers["retry-after"])
      assert.is_true(ra >= 1 and ra <= 60)
      -- another campaign has its own budget
      assert.are.equal(200, post("/campaigns/" .. srv:seed_campaign({ status = "stopped" }) .. "/stop").status)
      srv:advance(61)
      assert.are.equal(200, post("/campaigns/" .. id .. "/stop").status)
      srv:configure({ rate_limits = false })
      for _ = 1, 6 do assert.are.equal(200, post("/campaigns/" .. id .. "/stop").status) end
    end)

    it("strict-reference mode: no Retry-After, refused 429s count, inputs normalised, q= names fields only", function()
      srv:configure({ strict_reference = true })
      local id = srv:seed_campaign({ status = "stopped" })
      for _ = 1, 5 do assert.are.equal(200, post("/campaigns/" .. id .. "/stop").status) end
      local res = post("/campaigns/" .. id .. "/stop")
      assert_error(res, 429, "RATE_LIMIT_EXCEEDED")
      assert.is_nil(res.headers["retry-after"])
      srv:advance(58)
      for _ = 1, 5 do assert_error(post("/campaigns/" .. id .. "/stop"), 429) end
      srv:advance(3) -- the five accepted ones left the window; the five refused ones did not
      assert_error(post("/campaigns/" .. id .. "/stop"), 429)
      srv:advance(60)
      assert.are.equal(200, post("/campaigns/" .. id .. "/stop").status)
      srv:fault({ method = "GET", path = "/api/auth/me", kind = "rate_limit" })
      assert.is_nil(get("/auth/me").headers["retry-after"])
      local c = create_campaign({ type = "INSTAGRAM_HASHTAG", targetEmails = 100, title = "One",
        inputs = { hashtags = { " #Fitness", "GYM" }, countries = { "us" } } })
      assert.are.same({ "fitness", "gym" }, c.inputs.hashtags)
      assert.are.same({ "US" }, c.inputs.countries)
      local u = create_campaign({ type = "INSTAGRAM_USER_FOLLOWERS", targetEmails = 100, title = "Two",
        inputs = { targetUser = "@NASA " } })
      assert.are.equal("nasa", u.inputs.targetUser)
      assert.are.equal(0, get("/campaigns?q=gym").json.pagination.totalCount)   -- arrays are not searched
      assert.are.equal(1, get("/campaigns?q=nasa").json.pagination.totalCount)
      srv:reset()
      assert.are.same({ " #Fitness", "GYM" }, create_campaign({ type = "INSTAGRAM_HASHTAG", targetEmails = 100,
        inputs = { hashtags = { " #Fitness", "GYM" } } }).inputs.hashtags) -- the default mode keeps them
    end)

    it("previews and runs post-campaign validation with 202, 409 and a refund", function()
      local id = srv:seed_campaign({ status = "fully_completed", leads = 1000, emails = 400 })
      local p = get("/campaigns/" .. id .. "/validate/preview")
      assert.are.equal(200, p.status)
      assert.are.same({ campaignId = id, emailsToValidate = 400, creditCost = 400, currentBalance = 100000,
                        hasSufficientCredits = true, canValidate = true }, p.json)
      local v = post("/campaigns/" .. id .. "/validate")
      assert.are.equal(202, v.status, v.body)
      assert.are.equal("validating", v.json.status)
      assert.are.equal(400, v.json.emailsToValidate)
      assert.is_string(v.json.jobId)
      assert.are.equal(100000 - 400, balance())
      assert_error(post("/campaigns/" .. id .. "/validate"), 409, "VALIDATION_IN_PROGRESS")
      assert_error(post("/campaigns/" .. id .. "/validate"), 409)
      assert_error(post("/campaigns/" .. id .. "/validate"), 429, "RATE_LIMIT_EXCEEDED")   -- 3/min
      srv:advance(1)
      local mid = get("/campaigns/" .. id).json.postValidation
      assert.are.equal("validating", mid.status)
      srv:advance(5)
      local pv = get("/campaigns/" .. id).json.postValidation
      assert.are.equal("completed", pv.status)
      assert.are.equal(400, pv.validated)
      assert.are.equal(400, pv.valid + pv.invalid)
      assert.are.equal(40, pv.creditReturned)
      assert.are.equal(100000 - 360, balance())
      assert.are.equal(40, ledger("?type=EMAIL_VALIDATION_REFUND")[1].amount)
      assert.are.equal(pv.valid, get("/campaigns/" .. id .. "/leads?validationStatus=valid").json.pagination.totalCount)
      local running = create_campaign()
      assert_error(post("/campaigns/" .. running._id .. "/validate"), 400, "INVALID_CAMPAIGN_STATUS")
    end)
  end)

  describe("leads", function()
    it("pages deterministic leads with filters and sorting", function()
      local id = srv:seed_campaign({ status = "fully_completed", leads = 1000, emails = 400, validated = true })
      local res = get("/campaigns/" .. id .. "/leads?perPage=3")
      assert.are.equal(200, res.status)
      assert.are.same({ totalCount = 1000, totalPages = 334, currentPage = 1, perPage = 3 }, res.json.pagination)
      local l = res.json.items[1]
      assert.are.equal(id, l.campaignId)
      assert.matches("@", l.email)
      assert.are.equal(false, l.emailMasked)
      assert.are.equal("instagram", l.platform)
      assert.are.equal(res.body, get("/campaigns/" .. id .. "/leads?perPage=3").body)    -- deterministic
      local function count(qs) return get("/campaigns/" .. id .. "/leads?perPage=1&" .. qs).json.pagination.totalCount end
      assert.are.equal(400, count("hasEmail=true"))
      assert.are.equal(600, count("hasEmail=false"))
      assert.are.equal(160, count("emailSource=deep_search"))
      assert.are.equal(240, count("emailSource=initial"))
      assert.are.equal(80, count("validationStatus=invalid"))
      assert.are.equal(320, count("validationStatus=valid"))
      assert.are.equal(0, count("validationStatus=pending"))
      assert.are.equal(1000, count("platform=instagram"))
      assert.are.equal(0, count("platform=x"))
      assert.are.equal(1000, count("sourceType=profile"))
      -- every valid lead says so
      for _, x in ipairs(get("/campaigns/" .. id .. "/leads?perPage=100&validationStatus=valid&page=2").json.items) do
        assert.are.equal("valid", x.emailValidation.status)
      end
      local asc = get("/campaigns/" .. id .. "/leads?perPage=5&sortBy=hasEmail&order=asc").json.items
      assert.are.equal(cjson.null, asc[1].email)
      local fc = get("/campaigns/" .. id .. "/leads?perPage=50&sortBy=followerCount").json.items
      for i = 2, #fc do assert.is_true(fc[i - 1].followerCount >= fc[i].followerCount) end
      assert_error(get("/campaigns/" .. id .. "/leads?perPage=1001"), 400, "VALIDATION_ERROR")
      assert_error(get("/campaigns/" .. id .. "/leads?validationStatus=maybe"), 400, "VALIDATION_ERROR")
    end)

    it("serves a 1,000,000-lead campaign lazily, up to 1000 per page", function()
      local id = srv:seed_campaign({ status = "fully_completed", leads = 1000000 })
      local before = srv:stats().memory_kb
      local res = get("/campaigns/" .. id .. "/leads?perPage=1000&page=1000")
      assert.are.equal(200, res.status)
      assert.are.equal(1000, #res.json.items)
      assert.are.same({ totalCount = 1000000, totalPages = 1000, currentPage = 1000, perPage = 1000 }, res.json.pagination)
      assert.are.equal(0, #get("/campaigns/" .. id .. "/leads?perPage=1000&page=1001").json.items)
      assert.is_true(srv:stats().memory_kb - before < 20000)
    end)

    it("masks emails for the free account", function()
      local id = srv:seed_campaign({ account = "free", leads = 10 })
      local items = get("/campaigns/" .. id .. "/leads", { key = srv.free_api_key }).json.items
      assert.matches("%*%*%*@", items[1].email)
      assert.is_true(items[1].emailMasked)
    end)
  end)

  describe("validation jobs", function()
    it("creates text jobs, deduplicates, charges, progresses and serves results", function()
      local res = post("/validation-jobs/text", { emails = { "Ann@Example.com", "ann@example.com", "bob@example.com", "bounce@example.com" } })
      assert.are.equal(201, res.status, res.body)
      assert.is_true(res.json.success)
      local d = res.json.data
      assert.are.equal(3, d.totalEmails)
      assert.are.equal(3, d.creditsUsed)
      assert.are.equal("pending", d.status)
      assert.are.equal(100000 - 3, balance())
      assert.are.equal(-3, ledger("?type=EMAIL_VALIDATION_DEDUCTION")[1].amount)
      local j = get("/validation-jobs/" .. d.jobId)
      assert.are.equal(200, j.status)
      assert.is_nil(j.json.data.downloadUrl)
      assert.is_falsy(j.body:find("downloadUrl", 1, true))
      assert_error(get("/validation-jobs/" .. d.jobId .. "/download"), 404)
      assert_error(post("/validation-jobs/text", { emails = "x@example.com" }), 409, "ACTIVE_JOB_EXISTS")
      srv:advance(3)
      j = get("/validation-jobs/" .. d.jobId).json.data
      assert.are.equal("completed", j.status)
      assert.are.equal(3, j.processedCount)
      assert.are.equal(2, j.validCount)
      assert.are.equal(1, j.invalidCount)
      assert.matches("^" .. srv.storage_url:gsub("%p", "%%%0"), j.downloadUrl)
      local dl = get("/validation-jobs/" .. d.jobId .. "/download")
      assert.are.equal(200, dl.status)
      assert.is_number(dl.json.data.expiresIn)
      local csv = get(dl.json.data.downloadUrl, { key = false })
      assert.are.equal(200, csv.status)
      assert.matches("^email,status,isValid,reason\r\n", csv.body)
      assert.matches("bounce@example.com,invalid,false", csv.body)
      local list = get("/validation-jobs?limit=5")
      assert.are.equal(200, list.status)
      assert.are.equal(1, list.json.data.total)
      assert.are.equal(1, list.json.data.pages)
      assert.are.equal(1, list.json.data.page)
      assert.are.equal(d.jobId, list.json.data.jobs[1].jobId)
      assert.is_string(list.json.requestId)
      assert.are.equal(0, get("/validation-jobs?status=failed").json.data.total)
      assert.matches('"jobs":%[%]', get("/validation-jobs?status=failed").body)
      assert_error(get("/validation-jobs/" .. d.jobId, { key = srv.other_api_key }), 404)
    end)

    it("accepts a comma string, validates size, and rate-limits to 3 per hour", function()
      local res = post("/validation-jobs/text", { emails = "a@example.com, b@example.com,A@EXAMPLE.com" })
      assert.are.equal(201, res.status)
      assert.are.equal(2, res.json.data.totalEmails)
      srv:advance(5)
      local many = {}
      for i = 1, 5001 do many[i] = "u" .. i .. "@example.com" end
      local big = post("/validation-jobs/text", { emails = many })
      assert_error(big, 400, "VALIDATION_ERROR")
      assert.is_true(has_param(big, "emails"))
      assert_error(post("/validation-jobs/text", { emails = {} }), 400, "VALIDATION_ERROR")   -- 3rd counts too
      assert_error(post("/validation-jobs/text", { emails = {} }), 429, "RATE_LIMIT_EXCEEDED")
      srv:advance(3600)
      assert_error(post("/validation-jobs/text", { emails = {} }), 400, "VALIDATION_ERROR")
      local poor = {}
      for i = 1, 51 do poor[i] = "p" .. i .. "@example.com" end
      assert_error(post("/validation-jobs/text", { emails = poor }, { key = srv.poor_api_key }), 400, "INSUFFICIENT_CREDITS")
    end)

    it("runs the file flow with idempotent ticket, process and confirm", function()
      local ticket_body = { filename = "leads.csv", contentType = "text/csv", sizeBytes = 100, idempotencyKey = "idem-1" }
      local t1 = post("/validation-jobs/file", ticket_body)
      assert.are.equal(201, t1.status, t1.body)
      local t = t1.json.data
      assert.matches("^upl_", t.uploadId)
      assert.matches("^" .. srv.storage_url:gsub("%p", "%%%0") .. "/", t.uploadUrl)
      assert.is_number(t.maxSizeBytes)
      assert.is_table(t.allowedContentTypes)
      assert.are.same(t, post("/validation-jobs/file", ticket_body).json.data)
      local proc_body = { uploadId = t.uploadId, key = t.key, filename = "leads.csv", idempotencyKey = "idem-1" }
      assert_error(post("/validation-jobs/file/process", proc_body), 400, "UPLOAD_NOT_FOUND")
      local file = tmp .. "/leads.csv"
      write(file, "name,email\r\nAnn,ann@example.com\r\nBob,bob@example.com\r\nBob again,BOB@example.com\r\nNobody,\r\n")
      local _, rc = sh("curl -sS -f --noproxy '*' -X PUT -H 'Content-Type: text/csv' --upload-file " .. q(file) .. " " .. q(t.uploadUrl))
      assert.are.equal(0, rc)
      local put = srv:storage_requests({ method = "PUT" })[1]
      assert.is_nil(put.headers["x-api-key"])
      assert.is_nil(put.headers["authorization"])
      assert.are.equal(#read(file), put.bytes)
      local p = post("/validation-jobs/file/process", proc_body)
      assert.are.equal(200, p.status, p.body)
      local pd = p.json.data
      assert.are.equal(2, pd.totalEmails)
      assert.are.equal(4, pd.totalRows)
      assert.are.equal(1, pd.duplicatesRemoved)
      assert.are.equal(1, pd.invalidRows)
      assert.are.equal("email", pd.recommendedColumn)
      assert.are.equal(2, #pd.columns)
      assert.are.equal(3, pd.columns[2].emailLikeCount)
      assert.are.same(pd, post("/validation-jobs/file/process", proc_body).json.data)
      local conf = { parseId = pd.parseId, selectedColumn = "email", idempotencyKey = "idem-1" }
      local c1 = post("/validation-jobs/file/confirm", conf)
      assert.are.equal(201, c1.status, c1.body)
      assert.are.equal(2, c1.json.data.creditsReserved)
      assert.are.equal("queued", c1.json.data.status)
      local c2 = post("/validation-jobs/file/confirm", conf)
      assert.are.equal(c1.json.data.jobId, c2.json.data.jobId)
      assert.are.equal(1, #ledger("?type=EMAIL_VALIDATION_DEDUCTION"))
      assert.are.equal(100000 - 2, balance())
      srv:advance(10)
      assert.are.equal("completed", get("/validation-jobs/" .. c1.json.data.jobId).json.data.status)
      -- the presigned upload URL expires on the fake clock (900 s)
      srv:advance(900)
      local _, rc2 = sh("curl -sS -f --noproxy '*' -X PUT --upload-file " .. q(file) .. " " .. q(t.uploadUrl))
      assert.are_not.equal(0, rc2)
      assert.are.equal(403, srv:storage_requests({ method = "PUT" })[2].status)
    end)
  end)

  describe("exports", function()
    it("creates, deduplicates, completes and downloads CSV", function()
      local id = srv:seed_campaign({ leads = 100, emails = 40, title = "Coffee people" })
      local r1 = post("/list-exports", { campaignId = id, emailOnly = true })
      assert.are.equal(201, r1.status, r1.body)
      local e = r1.json.data
      assert.are.equal("pending", e.status)
      assert.are.equal(true, e.isEmailOnly)
      assert.are.equal("csv", e.fileFormat)
      local r2 = post("/list-exports", { campaignId = id, emailOnly = true })
      assert.are.equal(201, r2.status)
      assert.are.equal(e.exportId, r2.json.data.exportId)
      assert_error(get("/list-exports/" .. e.exportId .. "/download"), 400, "EXPORT_NOT_READY")
      srv:advance(2)
      local r3 = post("/list-exports", { campaignId = id, emailOnly = true })
      assert.are.equal(200, r3.status)
      assert.are.equal(e.exportId, r3.json.data.exportId)
      local list = get("/list-exports?campaignId=" .. id)
      assert.are.equal(200, list.status)
      local item = list.json.data.exports[1]
      assert.are.equal("completed", item.status)
      assert.are.equal(40, item.totalRecords)
      assert.matches("^coffee%-people%-emails%-%d+%.csv$", item.filename)
      assert.are.same({ totalCount = 1, totalPages = 1, currentPage = 1, perPage = 10 }, list.json.data.pagination)
      local dl = get("/list-exports/" .. e.exportId .. "/download")
      assert.are.equal(200, dl.status)
      assert.are.equal(item.filename, dl.json.data.filename)
      local file = get(dl.json.data.downloadUrl, { key = false })
      assert.are.equal(200, file.status)
      assert.are.equal(item.fileSize, #file.body)
      assert.matches("^username,fullName,email,", file.body)
      local lines = 0
      for _ in file.body:gmatch("\r\n") do lines = lines + 1 end
      assert.are.equal(41, lines)
      assert_error(post("/list-exports", { campaignId = id, fileFormat = "pdf" }), 400, "VALIDATION_ERROR")
      assert_error(post("/list-exports", {}), 400, "VALIDATION_ERROR")
    end)

    it("produces a valid XLSX zip", function()
      local id = srv:seed_campaign({ leads = 50, emails = 20, validated = true })
      local e = post("/list-exports", { campaignId = id, fileFormat = "xlsx", onlyValidEmails = true }).json.data
      srv:advance(2)
      local dl = get("/list-exports/" .. e.exportId .. "/download").json.data
      assert.matches("%.xlsx$", dl.filename)
      local path = tmp .. "/export.xlsx"
      local _, rc = sh("curl -sS -f --noproxy '*' -o " .. q(path) .. " " .. q(dl.downloadUrl))
      assert.are.equal(0, rc)
      local data = read(path)
      assert.are.equal("PK\3\4", data:sub(1, 4))
      assert.is_truthy(data:find("PK\5\6", #data - 22 - 10, true))
      -- unzip is one of make deps' packages: its absence is a failure, not a skip.
      local _, has_unzip = sh("command -v unzip")
      assert.are.equal(0, has_unzip, "unzip is missing: run make deps")
      local out, urc = sh("unzip -t " .. q(path))
      assert.are.equal(0, urc, out)
      assert.matches("xl/worksheets/sheet1.xml", out)
      local sheet = sh("unzip -p " .. q(path) .. " xl/worksheets/sheet1.xml")
      local rows = 0
      for _ in sheet:gmatch("<row ") do rows = rows + 1 end
      assert.are.equal(1 + 17, rows)     -- header + 17 valid of 20 emails (12 initial, 8 deep; j % 5 == 4 invalid)
    end)

    it("rate-limits creation to 5 per hour and hides other accounts' exports", function()
      local id = srv:seed_campaign({ leads = 10 })
      local first
      for i = 1, 5 do
        local r = post("/list-exports", { campaignId = id, fileFormat = i % 2 == 0 and "xlsx" or "csv", emailOnly = i > 2 })
        assert.is_true(r.status == 201 or r.status == 200, r.body)
        first = first or r.json.data.exportId
      end
      assert_error(post("/list-exports", { campaignId = id }), 429, "RATE_LIMIT_EXCEEDED")
      assert_error(get("/list-exports/" .. first .. "/download", { key = srv.other_api_key }), 404)
      assert.are.equal(0, get("/list-exports", { key = srv.other_api_key }).json.data.pagination.totalCount)
    end)

    it("seeds a 1 GiB export that streams with the right length and supports ranges", function()
      local eid = srv:seed_export({ bytes = 1073741824 })
      local url = get("/list-exports/" .. eid .. "/download").json.data.downloadUrl
      local head = http("HEAD", url, { key = false })
      assert.are.equal(200, head.status)
      assert.are.equal("1073741824", head.headers["content-length"])
      local tail = get(url, { key = false, headers = { Range = "bytes=1073741800-" } })
      assert.are.equal(206, tail.status)
      assert.are.equal(24, #tail.body)
      assert.are.equal("bytes 1073741800-1073741823/1073741824", tail.headers["content-range"])
      local small = srv:seed_export({ bytes = 5 * 1048576 + 7 })
      local u2 = get("/list-exports/" .. small .. "/download").json.data.downloadUrl
      local out = sh("curl -sS --noproxy '*' -o /dev/null -w '%{size_download}' " .. q(u2))
      assert.are.equal(5 * 1048576 + 7, tonumber(out))
      for _, r in ipairs(srv:storage_requests()) do
        assert.is_nil(r.headers["x-api-key"])
        assert.is_nil(r.headers["authorization"])
        assert.is_nil(r.headers["x-workspace-id"])
      end
    end)
  end)

  describe("credit transactions", function()
    it("filters, sorts and paginates the ledger", function()
      local c = create_campaign()
      srv:advance(5)
      create_campaign({ type = "X_FOLLOWERS", inputs = { targetUser = "jack" }, targetEmails = 10 })
      local res = get("/credit-transactions?perPage=2")
      assert.are.equal(200, res.status)
      assert.are.same({ totalCount = 4, totalPages = 2, currentPage = 1, perPage = 2 }, res.json.pagination)
      assert.is_string(res.json.requestId)
      assert.is_nil(res.json.success)
      local newest = res.json.transactions[1]
      assert.are.equal("CAMPAIGN_RESERVATION", newest.type)
      assert.are.equal(newest.balanceBefore + newest.amount, newest.balanceAfter)
      assert.are.equal(2, #ledger("?campaignId=" .. c._id))
      assert.are.equal(3, #ledger("?type=CAMPAIGN_RESERVATION,CAMPAIGN_SETTLEMENT"))
      local by_amount = ledger("?sortBy=amount&order=asc")
      assert.are.equal(-1200, by_amount[1].amount)
      assert.are.equal(100000, by_amount[#by_amount].amount)
      assert.are.equal(0, #ledger("?to=2000-01-01"))
      assert_error(get("/credit-transactions?type=FREE_MONEY"), 400, "VALIDATION_ERROR")
      assert_error(get("/credit-transactions?sortBy=size"), 400, "VALIDATION_ERROR")
    end)
  end)

  describe("faults", function()
    it("status: HTML error page, Retry-After, count and skip", function()
      srv:fault({ method = "GET", path = "/api/auth/me", kind = "status", status = 503, retry_after = 2, skip = 1 })
      assert.are.equal(200, get("/auth/me").status)
      local res = get("/auth/me")
      assert.are.equal(503, res.status)
      assert.matches("text/html", res.headers["content-type"])
      assert.matches("<html>", res.body)
      assert.is_nil(res.json)
      assert.are.equal("2", res.headers["retry-after"])
      assert.are.equal(200, get("/auth/me").status)
      srv:fault({ path = "^/api/campaigns/", pattern = true, kind = "status", status = 502, count = 2,
                  body = "bad gateway", content_type = "text/plain" })
      assert.are.equal(502, get("/campaigns/abc").status)
      local r2 = get("/campaigns/abc/leads")
      assert.are.equal("bad gateway", r2.body)
      assert_error(get("/campaigns/abc"), 404)
      local f = srv:faults()
      assert.are.equal(2, f[2].hits)
      assert.is_true(f[2].exhausted)
      assert.are.equal("status", srv:requests({ path = "/api/campaigns/abc/leads" })[1].fault)
    end)

    it("rate_limit: 429 with Retry-After and the error body", function()
      srv:fault({ path = "/campaigns", method = "GET", kind = "rate_limit", retry_after = 7 })
      local res = get("/campaigns")
      assert_error(res, 429, "RATE_LIMIT_EXCEEDED")
      assert.are.equal("7", res.headers["retry-after"])
    end)

    it("reset_before drops the connection without processing", function()
      srv:fault({ method = "POST", path = "/api/campaigns", kind = "reset_before" })
      local res = post("/campaigns", HASHTAG)
      assert.are.equal(52, res.exit)                  -- empty reply from server
      assert.are.equal(0, get("/campaigns").json.pagination.totalCount)
      assert.are.equal(100000, balance())
      assert.are.equal(1, #srv:requests({ method = "POST", path = "/api/campaigns" }))
    end)

    it("reset_after processes the request, then drops the connection", function()
      srv:fault({ method = "POST", path = "/api/campaigns", kind = "reset_after" })
      local res = post("/campaigns", HASHTAG)
      assert.are.equal(52, res.exit)
      assert.are.equal(1, get("/campaigns").json.pagination.totalCount)
      assert.are.equal(100000 - 1200, balance())
    end)

    it("slow delays without blocking the worker; process_first processes before sleeping", function()
      -- No timing: the slow request must still be in flight (its curl still
      -- running, the server having seen it) when a second request has been answered.
      srv:fault({ path = "/api/auth/me", kind = "slow", delay = 10 })
      local hdr = q("X-API-Key: " .. srv.api_key)
      local out = sh("curl -s --noproxy '*' -o /dev/null -H " .. hdr .. " " .. q(srv.base_url .. "/auth/me") ..
        " & slow=$!; " ..
        "while ! curl -s --noproxy '*' -X POST -d '{}' " .. q(srv.control_url .. "/requests") ..
        " | grep -q auth/me; do sleep 0.05; done; " ..
        "curl -s --noproxy '*' -o /dev/null -w 'fast=%{http_code} ' -H " .. hdr .. " " ..
        q(srv.base_url .. "/campaigns") .. "; " ..
        "if kill -0 $slow 2>/dev/null; then echo slow=running; kill $slow; else echo slow=done; fi; wait")
      assert.matches("fast=200 slow=running", out)
      srv:fault({ method = "POST", path = "/api/campaigns", kind = "delay_upstream", delay = 2, process_first = true })
      local res = post("/campaigns", HASHTAG, { max_time = 0.5 })
      assert.are.equal(28, res.exit)                  -- client timed out...
      assert.are.equal(1, get("/campaigns").json.pagination.totalCount)   -- ...but it was created
    end)

    it("truncated: complete response with half a JSON body", function()
      srv:fault({ path = "/api/auth/me", kind = "truncated" })
      local res = get("/auth/me")
      assert.are.equal(200, res.status)
      assert.are.equal(0, res.exit)
      assert.are.equal(tostring(#res.body), res.headers["content-length"])
      assert.is_nil(res.json)
      assert.are.equal("{", res.body:sub(1, 1))
    end)

    it("truncated_body: Content-Length larger than the bytes sent", function()
      srv:fault({ path = "/api/auth/me", kind = "truncated_body" })
      local res = get("/auth/me")
      assert.are.equal(18, res.exit)                  -- partial file
      assert.is_true(tonumber(res.headers["content-length"]) > #res.body)
    end)

    it("malformed: 200 application/json that is not JSON", function()
      srv:fault({ path = "/api/campaigns", kind = "malformed" })
      local res = get("/campaigns")
      assert.are.equal(200, res.status)
      assert.matches("application/json", res.headers["content-type"])
      assert.is_nil(res.json)
    end)

    it("huge: a streamed 20 MB body by default", function()
      srv:fault({ path = "/api/auth/me", kind = "huge" })
      local out = sh("curl -sS --noproxy '*' -o /dev/null -w '%{http_code} %{size_download}' -H " ..
        q("X-API-Key: " .. srv.api_key) .. " " .. q(srv.base_url .. "/auth/me"))
      assert.are.equal("200 20971520", out:match("%d+ %d+"))
      srv:fault({ path = "/api/auth/me", kind = "huge", bytes = 1000 })
      local res = get("/auth/me")
      assert.are.equal(1000, #res.body)
      assert.is_table(res.json)
    end)

    it("redirect: 302 to the storage capture endpoint, which logs what arrives", function()
      srv:fault({ path = "/api/auth/me", kind = "redirect" })
      local res = get("/auth/me")
      assert.are.equal(302, res.status)
      assert.are.equal(srv.storage_url .. "/capture", res.headers["location"])
      srv:fault({ path = "/api/auth/me", kind = "redirect", status = 307 })
      local followed = get("/auth/me", { follow = true })
      assert.are.equal(200, followed.status)
      assert.is_true(followed.json.captured)
      local cap = srv:storage_requests({ path = "/capture" })
      assert.are.equal(1, #cap)
      assert.is_string(cap[1].headers["host"])
    end)

    it("storage faults and unlimited counts", function()
      local eid = srv:seed_export({ bytes = 1000 })
      local url = get("/list-exports/" .. eid .. "/download").json.data.downloadUrl
      local id = srv:fault({ target = "storage", method = "GET", path = "^/scravio%-exports/", pattern = true,
                             kind = "status", status = 503, count = -1 })
      assert.are.equal(503, get(url, { key = false }).status)
      assert.are.equal(503, get(url, { key = false }).status)
      srv:clear_faults(id)
      assert.are.equal(200, get(url, { key = false }).status)
      srv:fault({ target = "storage", method = "GET", kind = "truncated_body" })
      local cut = get(url, { key = false })
      assert.are.equal(18, cut.exit)
      assert.are.equal(500, #cut.body)
      assert.are.equal("1000", cut.headers["content-length"])
      srv:fault({ target = "storage", method = "GET", kind = "truncated" })
      local half = get(url, { key = false })
      assert.are.equal(0, half.exit)
      assert.are.equal(500, #half.body)
      -- reset_after on an upload: the bytes are stored, the client sees a dropped connection
      local t = post("/validation-jobs/file", { filename = "a.txt", contentType = "text/plain", sizeBytes = 16,
                                               idempotencyKey = "k-reset" }).json.data
      srv:fault({ target = "storage", method = "PUT", kind = "reset_after" })
      local file = tmp .. "/a.txt"
      write(file, "ann@example.com\n")
      local _, rc = sh("curl -sS --noproxy '*' -X PUT --upload-file " .. q(file) .. " " .. q(t.uploadUrl))
      assert.are.equal(52, rc)
      local p = post("/validation-jobs/file/process", { uploadId = t.uploadId, key = t.key, filename = "a.txt",
                                                        idempotencyKey = "k-reset" })
      assert.are.equal(200, p.status, p.body)
      assert.are.equal(1, p.json.data.totalEmails)
      assert.has_error(function() srv:fault({ kind = "explode" }) end)
    end)
  end)

  describe("transport", function()
    it("serves the API over TLS with the generated CA", function()
      local res = get(srv.tls_base_url .. "/auth/me", { cacert = srv.ca_file })
      assert.are.equal(200, res.status)
      assert.are.equal(0, res.exit)
      assert.is_true(srv:requests()[1].tls)
      local bad = get(srv.tls_base_url .. "/auth/me")
      assert.are.equal(60, bad.exit)                  -- unknown CA is refused
    end)

    it("keeps connections alive", function()
      local out = sh("curl -sS --noproxy '*' -o /dev/null -o /dev/null -w '%{num_connects}\\n' -H " ..
        q("X-API-Key: " .. srv.api_key) .. " " .. q(srv.base_url .. "/auth/me") .. " " .. q(srv.base_url .. "/auth/me"))
      local a, b = out:match("(%d+)%s+(%d+)")
      assert.are.equal("1", a)
      assert.are.equal("0", b)                        -- second request reused the connection
    end)
  end)

  describe("lifetime", function()
    it("stop() leaves nothing running and removes the run dir", function()
      local other = fake.start()
      assert.are.equal(200, get(other.base_url .. "/auth/me", { key = other.api_key }).status)
      local master, worker, dog, dir = other.master_pid, other.worker_pid, other.watchdog_pid, other.rundir
      assert.is_true(alive(master))
      assert.is_true(alive(worker))
      other:stop()
      assert.is_false(alive(master))
      assert.is_false(alive(worker))
      if dog then assert.is_false(alive(dog)) end
      assert.is_nil(read(dir .. "/nginx.conf"))
      assert.is_true(other:stop())                    -- idempotent
    end)

    it("the CLI starts a background server and stops it by run dir", function()
      local lua = "lua5.4"
      local _, has = sh("command -v lua5.4")
      if has ~= 0 then lua = "lua" end
      local out, rc = sh(lua .. " spec/support/fake_server_cli.lua start")
      assert.are.equal(0, rc, out)
      local base = out:match("export SCRAVIO_BASE_URL='([^']+)'")
      local key = out:match("export SCRAVIO_API_KEY='([^']+)'")
      local dir = out:match("export SCRAVIO_FAKE_RUNDIR='([^']+)'")
      assert.are.equal(200, get(base .. "/auth/me", { key = key }).status)
      local pid = tonumber(read(dir .. "/nginx.pid"))
      local _, src = sh(lua .. " spec/support/fake_server_cli.lua stop " .. q(dir))
      assert.are.equal(0, src)
      assert.is_false(alive(pid))
      assert.is_nil(read(dir .. "/nginx.conf"))
    end)
  end)
end)
