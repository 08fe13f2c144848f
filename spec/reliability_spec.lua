-- The retry policy and the "never charge twice" rules.
--   * retry.lua's decisions, as a table of cases (no network);
--   * the pipeline against the fake server: which statuses are retried, the
--     max_retries and deadline bounds, on_event visibility, err.attempts;
--   * credit-spending requests: the fresh connection that stops libcurl's own
--     silent resend; a definite 500/503 (the API's envelope; an HTML page is
--     reconciled like a 502) returned as it is (never resent, never
--     reconciled, not retryable); and the reconcile functions of campaign
--     creation, campaign validation and text validation jobs, which only
--     accept what was created since the call began and not by an earlier call;
--   * requests that carry an idempotency key are retried like GETs.
-- Backoff and Retry-After waits go through an injected clock: nothing sleeps.
local H = require("spec.support.helpers")
local reconcile = require("scravio.reconcile")
local retry = require("scravio.retry")

local CAMPAIGN = { type = "INSTAGRAM_HASHTAG", inputs = { hashtag = "running" }, targetEmails = 300 }

-- ---------------------------------------------------------------------------
describe("retry policy (retry.lua)", function()
  local function e(t)
    return t
  end
  local ctx = { attempt = 1, max_retries = 2, safe = true, remaining = 100, max_wait = 60,
    random = function() return 0.5 end }
  local function with(over)
    local c = {}
    for k, v in pairs(ctx) do c[k] = v end
    for k, v in pairs(over or {}) do c[k] = v end
    return c
  end

  it("retries network errors, timeouts, 408, 429 and 5xx on safe requests", function()
    for _, err in ipairs({
      e({ kind = "network", retryable = true, sent = true }),
      e({ kind = "timeout", retryable = true, sent = true }),
      e({ kind = "api", status = 408, retryable = true }),
      e({ kind = "rate_limited", status = 429, retryable = true }),
      e({ kind = "api", status = 500, retryable = true }),
      e({ kind = "api", status = 502, retryable = true }),
      e({ kind = "api", status = 503, retryable = true }),
      e({ kind = "api", status = 504, retryable = true }),
    }) do
      assert.is_number((retry.decide(err, ctx)), tostring(err.status or err.kind))
    end
  end)

  it("never retries 400/401/403/404/409 or INSUFFICIENT_CREDITS (errors as the core classifies them)", function()
    local core = require("scravio.core")
    local function classified(status, code)
      local body = string.format('{"success":false,"code":"%s","message":"no"}', code)
      local v, err = core.classify(status, { ["content-type"] = "application/json" }, body, "POST", "/campaigns")
      assert.is_nil(v)
      return err
    end
    for _, status in ipairs({ 400, 401, 403, 404, 409 }) do
      local d, why = retry.decide(classified(status, "SOME_ERROR"), ctx)
      assert.is_nil(d, status)
      assert.equals("not retryable", why)
    end
    -- The reference answers 400; the code alone decides, whatever the status:
    -- spending more money is never automatic.
    for _, status in ipairs({ 400, 402, 503 }) do
      local err = classified(status, "INSUFFICIENT_CREDITS")
      assert.equals("INSUFFICIENT_CREDITS", err.code)
      local d, why = retry.decide(err, ctx)
      assert.is_nil(d, status)
      assert.equals("not retryable", why)
    end
    assert.is_number((retry.decide(classified(503, "SERVICE_UNAVAILABLE"), ctx))) -- the status alone is retried
  end)

  it("stops after max_retries", function()
    local err = { kind = "api", status = 503, retryable = true }
    assert.is_number((retry.decide(err, with({ attempt = 2 }))))
    local d, why = retry.decide(err, with({ attempt = 3 }))
    assert.is_nil(d)
    assert.equals("retries exhausted", why)
    assert.is_nil((retry.decide(err, with({ attempt = 1, max_retries = 0 }))))
  end)

  it("resends an unsafe request only when the server certainly did not act on it", function()
    local unsafe = with({ safe = false })
    assert.is_number((retry.decide({ kind = "network", retryable = true, sent = false }, unsafe)))
    assert.is_number((retry.decide({ kind = "timeout", retryable = true, sent = false }, unsafe)))
    assert.is_number((retry.decide({ kind = "rate_limited", status = 429, retryable = true }, unsafe)))
    for _, err in ipairs({
      { kind = "network", retryable = true, sent = true },
      { kind = "timeout", retryable = true },
      { kind = "api", status = 500, retryable = true },
      { kind = "api", status = 503, retryable = true },
      { kind = "decode", status = 200, retryable = true },
    }) do
      local d, why = retry.decide(err, unsafe)
      assert.is_nil(d)
      assert.equals("not safe to resend", why)
    end
  end)

  it("tells certain, unknown and silent outcomes apart", function()
    assert.is_true(retry.not_processed({ kind = "network", sent = false }))
    assert.is_false(retry.not_processed({ kind = "network", sent = true }))
    assert.is_false(retry.not_processed({ kind = "network" })) -- unknown counts as sent
    assert.is_true(retry.outcome_unknown({ kind = "timeout" }))
    assert.is_true(retry.outcome_unknown({ kind = "decode", status = 201 }))
    assert.is_true(retry.outcome_unknown({ kind = "api", status = 500 }))
    assert.is_false(retry.outcome_unknown({ kind = "api", status = 400 }))
    assert.is_false(retry.outcome_unknown({ kind = "api", status = 302 }))
    assert.is_true(retry.no_answer({ kind = "api", status = 502 }))
    assert.is_false(retry.no_answer({ kind = "api", status = 500, code = "INTERNAL_ERROR" })) -- the API's envelope
    assert.is_false(retry.no_answer({ kind = "api", status = 503, code = "UNAVAILABLE" }))
    assert.is_false(retry.no_answer({ kind = "api", status = 500 })) -- a JSON error body without a code
    assert.is_true(retry.no_answer({ kind = "api", status = 500, proxy_page = true })) -- an HTML page: a proxy answered
    assert.is_true(retry.no_answer({ kind = "api", status = 503, proxy_page = true }))
    assert.is_false(retry.no_answer({ kind = "api", status = 400, proxy_page = true }))
    assert.is_false(retry.no_answer({ kind = "api", status = 400 }))
  end)

  it("reads createdAt client-side, with the 2 s clock-skew allowance", function()
    assert.equals(0, reconcile.parse_time("1970-01-01T00:00:00Z"))
    assert.equals(951782400, reconcile.parse_time("2000-02-29T00:00:00.000Z"))
    assert.equals(1706702400.5, reconcile.parse_time("2024-01-31T12:00:00.500Z"))
    assert.equals(1706702400, reconcile.parse_time("2024-01-31T14:00:00+02:00"))
    assert.equals(1706702400, reconcile.parse_time("2024-01-31T12:00:00"))
    for _, bad in ipairs({ "2024-01-31", "yesterday", "2024-13-01T00:00:00Z", 5, false }) do
      assert.is_nil(reconcile.parse_time(bad))
    end
    local t0 = 1706702400
    assert.is_true(reconcile.created_since("2024-01-31T11:59:58.000Z", t0))
    assert.is_false(reconcile.created_since("2024-01-31T11:59:57.999Z", t0))
    assert.is_false(reconcile.created_since(nil, t0))
  end)

  it("backs off exponentially with full jitter, capped", function()
    local zero, one = function() return 0 end, function() return 0.999999 end
    for n = 1, 10 do
      assert.equals(0, retry.backoff(n, zero))
      local ceiling = math.min(retry.MAX_DELAY, retry.BASE_DELAY * 2 ^ (n - 1))
      assert.near(ceiling, retry.backoff(n, one), 1e-3)
    end
    assert.near(0.25, retry.backoff(1, function() return 0.5 end), 1e-9)
    assert.near(4, retry.backoff(6, function() return 0.5 end), 1e-9)
  end)

  it("honours Retry-After up to max_wait, and no further", function()
    local d, how = retry.decide({ kind = "rate_limited", status = 429, retryable = true, retry_after = 7 }, ctx)
    assert.equals(7, d)
    assert.equals("retry_after", how)
    local none, why = retry.decide({ kind = "rate_limited", status = 429, retryable = true, retry_after = 61 }, ctx)
    assert.is_nil(none)
    assert.equals("Retry-After beyond max_retry_wait", why)
  end)

  it("ignores a Retry-After that is not a finite, non-negative number", function()
    for _, ra in ipairs({ 0 / 0, math.huge, -1, "5" }) do
      local d, how = retry.decide({ kind = "api", status = 503, retryable = true, retry_after = ra }, ctx)
      assert.equals("backoff", how)
      assert.is_true(d >= 0 and d <= retry.MAX_DELAY)
    end
  end)

  it("never waits past the deadline", function()
    local err = { kind = "rate_limited", status = 429, retryable = true, retry_after = 5 }
    local d, why = retry.decide(err, with({ remaining = 5 }))
    assert.is_nil(d)
    assert.equals("deadline", why)
    assert.equals(5, (retry.decide(err, with({ remaining = 6 }))))
  end)
end)

-- ---------------------------------------------------------------------------
-- Everything below runs twice: against the bundled fake as it is, and against
-- its strict-reference mode (no Retry-After the reference never promised,
-- normalised inputs, 429s that count against the window, `q=` searching only
-- the fields the reference names), so no promise holds only because the fake
-- is kind.
for _, mode in ipairs({ "default", "strict-reference" }) do
describe("reliability against the fake server (" .. mode .. ")", function()
  local srv, client, events, clock

  setup(function() srv = H.start({ strict = mode == "strict-reference" }) end)
  teardown(function() if srv then srv:stop() end end)

  local function new_client(opts)
    local c
    c, events, clock = H.observed_client(srv, { timeout = 2, max_retries = 2 }, opts, { random = 0.999 })
    return c
  end

  before_each(function()
    srv:reset()
    client = new_client()
  end)


  describe("what is retried", function()
    local id
    before_each(function() id = srv:seed_campaign({ status = "fully_completed", leads = 3 }) end)

    it("makes every retry visible through on_event, and the final error carries attempts", function()
      srv:fault({ method = "GET", path = "/api/campaigns/" .. id, kind = "status", status = 500, count = -1 })
      local c, err = client.campaigns:get(id)
      assert.is_nil(c)
      assert.equals(3, err.attempts)
      local reqs, rets = H.events_of(events, "request"), H.events_of(events, "retry")
      assert.equals(3, #reqs)
      assert.equals(2, #rets)
      for i, ev in ipairs(rets) do
        assert.equals(i, ev.attempt)
        assert.equals("GET", ev.method)
        assert.equals("/campaigns/" .. id, ev.path)
        assert.equals(500, ev.status)
        assert.equals("backoff", ev.reason)
        assert.is_true(ev.delay >= 0 and ev.delay <= retry.MAX_DELAY)
      end
      local final = H.events_of(events, "error")
      assert.equals(1, #final)
      assert.equals(3, final[1].attempts)
      assert.equals("retries exhausted", final[1].reason)
      assert.equals(2, #clock.sleeps)
    end)

    it("honours the client's max_retries", function()
      client = new_client({ max_retries = 0 })
      srv:fault({ method = "GET", path = "/api/campaigns/" .. id, kind = "status", status = 503 })
      local _, err = client.campaigns:get(id)
      assert.equals(503, err.status)
      assert.equals(1, err.attempts)
      assert.equals(1, H.count(srv, "GET", "/api/campaigns/" .. id))
    end)

    it("honours a per-call max_retries, and refuses a bad one before sending", function()
      client = new_client({ max_retries = 5 })
      srv:fault({ method = "GET", path = "/api/auth/me", kind = "status", status = 503, count = -1 })
      local _, err = client:request("GET", "/auth/me", { max_retries = 1 })
      assert.equals(2, err.attempts)
      assert.equals(2, H.count(srv, "GET", "/api/auth/me"))
      local _, bad = client:request("GET", "/auth/me", { max_retries = -1 })
      assert.equals("invalid", bad.kind)
      assert.equals(2, H.count(srv, "GET", "/api/auth/me"))
    end)

    it("bounds a whole call by the client's deadline", function()
      client = new_client({ max_retries = 10, deadline = 2.5 })
      srv:fault({ method = "GET", path = "/api/auth/me", kind = "rate_limit", retry_after = 1, count = -1 })
      local _, err = client:me()
      assert.equals("rate_limited", err.kind)
      assert.equals("deadline", err.gave_up)
      assert.equals(3, err.attempts)
      assert.same({ 1, 1 }, clock.sleeps)
    end)

    it("returns a Retry-After beyond max_retry_wait at once, with retry_after", function()
      client = new_client({ max_retry_wait = 10 })
      srv:fault({ method = "GET", path = "/api/auth/me", kind = "rate_limit", retry_after = 30 })
      local _, err = client:me()
      assert.equals("rate_limited", err.kind)
      assert.equals(30, err.retry_after)
      assert.equals(1, err.attempts)
      assert.same({}, clock.sleeps)
    end)

    it("reads Retry-After as an HTTP date", function()
      srv:fault({ method = "GET", path = "/api/auth/me", kind = "rate_limit",
        retry_after = "Thu, 01 Jan 1970 00:00:01 GMT" })
      assert(client:me())
      assert.same({ 0 }, clock.sleeps)
    end)

    it("falls back to backoff on a Retry-After it cannot read", function()
      srv:fault({ method = "GET", path = "/api/auth/me", kind = "status", status = 503, retry_after = "nan" })
      assert(client:me())
      assert.equals("backoff", H.events_of(events, "retry")[1].reason)
    end)

    it("retries a 408", function()
      srv:fault({ method = "GET", path = "/api/auth/me", kind = "status", status = 408 })
      assert(client:me())
      assert.equals(2, H.count(srv, "GET", "/api/auth/me"))
    end)

    it("never retries 400, 401, 403, 404, 409 or INSUFFICIENT_CREDITS", function()
      local cases = {
        { 400, function() return client:request("GET", "/campaigns", { query = { perPage = 1000 } }) end, "/api/campaigns" },
        { 401, function()
          local bad = new_client({ api_key = "sk_live_not_a_real_key_000000000000" })
          return bad:me()
        end, "/api/auth/me" },
        { 404, function() return client.campaigns:get("ffffffffffffffffffffffff") end,
          "/api/campaigns/ffffffffffffffffffffffff" },
      }
      for _, case in ipairs(cases) do
        srv:clear_requests()
        local res, err = case[2]()
        assert.is_nil(res)
        assert.equals(case[1], err.status)
        assert.equals(1, err.attempts)
        assert.equals(1, #srv:requests({ path = case[3] }))
      end
      -- 403 and 409 as the server would send them
      for _, status in ipairs({ 403, 409 }) do
        srv:clear_requests()
        srv:fault({ method = "GET", path = "/api/auth/me", kind = "status", status = status,
          content_type = "application/json", body = '{"message":"no","code":"X","errors":[]}' })
        local _, err = client:me()
        assert.equals(status, err.status)
        assert.equals(1, err.attempts)
        assert.equals(1, H.count(srv, "GET", "/api/auth/me"))
      end
      -- a 5xx that says INSUFFICIENT_CREDITS is not retried either
      srv:clear_requests()
      srv:fault({ method = "GET", path = "/api/auth/me", kind = "status", status = 500,
        content_type = "application/json",
        body = '{"message":"Insufficient credits","code":"INSUFFICIENT_CREDITS","errors":[]}' })
      local _, err = client:me()
      assert.equals("INSUFFICIENT_CREDITS", err.code)
      assert.is_false(err.retryable)
      assert.equals(1, H.count(srv, "GET", "/api/auth/me"))
    end)

    it("does not retry an insufficient-credits refusal of POST /campaigns", function()
      local poor = new_client({ api_key = srv.poor_api_key })
      local c, err = poor.campaigns:create(CAMPAIGN)
      assert.is_nil(c)
      assert.equals("INSUFFICIENT_CREDITS", err.code)
      assert.equals(1, err.attempts)
      assert.equals(0, #H.events_of(events, "retry"))
    end)

    it("sends HEAD as HEAD and does not wait for a body", function()
      local res = client:request("HEAD", "/auth/me")
      assert.same({}, res)
      local log = srv:requests({ path = "/api/auth/me" })
      assert.equals(1, #log)
      assert.equals("HEAD", log[1].method)
    end)

    it("takes absurd but legal numeric options (math.huge timeouts, 1e30 bytes) without undefined behaviour", function()
      -- (under `make asan` a double converted out of range aborts the run)
      local c = H.client(srv, { timeout = math.huge, connect_timeout = 1e300, max_response_bytes = 1e30 })
      assert(c:me())
      assert(c:request("GET", "/auth/me", { timeout = math.huge }))
      srv:fault({ method = "GET", path = "/api/auth/me", kind = "status", status = 503, retry_after = "1e999" })
      H.fake_clock(c, { random = 0.999 })
      assert(c:me())
    end)

    it("survives an on_event hook that raises", function()
      client = H.client(srv, { on_event = function() error("hook failure") end })
      srv:fault({ method = "GET", path = "/api/auth/me", kind = "status", status = 503 })
      H.fake_clock(client, { random = 0.999 })
      assert(client:me())
    end)

    it("retries a connection refused even for a request that spends credits (nothing was sent)", function()
      local port = srv.api_port + 0
      -- a port nothing listens on: the fake server's own port + 1 is not guaranteed free, so
      -- find one by trying to connect through a throwaway client.
      local dead
      for p = 1, 50 do
        local base = "http://127.0.0.1:" .. ((port + 7 * p) % 10000 + 40000) .. "/api"
        local probe = H.client(srv, { base_url = base, max_retries = 0, timeout = 1 })
        local _, perr = probe:me()
        probe:close()
        if perr and perr.kind == "network" and perr.sent == false then dead = base break end
      end
      assert.is_string(dead)
      local c2 = new_client({ base_url = dead, max_retries = 2, timeout = 1 })
      local res, err = c2.campaigns:create(CAMPAIGN)
      assert.is_nil(res)
      assert.equals("network", err.kind)
      assert.is_false(err.sent)
      assert.equals(3, err.attempts) -- resent: the server never saw it
      assert.equals(0, #H.events_of(events, "reconcile"))
    end)
  end)

  describe("POST /campaigns is never sent twice", function()
    it("uses a fresh connection, so libcurl cannot silently resend it on a dead kept-alive one", function()
      -- Warm up a kept-alive connection with other requests, then the server
      -- creates the campaign and drops the connection without answering.
      assert(client:me())
      assert(client.campaigns:list())
      assert(client.campaigns:preview(CAMPAIGN))
      srv:fault({ method = "POST", path = "/api/campaigns", kind = "reset_after" })
      local c, err = client.campaigns:create(CAMPAIGN)
      assert.is_nil(err)
      assert.equals(1, H.count(srv, "POST", "/api/campaigns"))
      assert.equals(1, (H.campaigns_on_server(srv)))
      assert.equals(1, #H.events_of(events, "reconciled"))
      assert.is_string(c.id)
    end)

    it("reconciles a reset_after to the campaign just created, not an older identical one", function()
      local first = assert(client.campaigns:create(CAMPAIGN))
      srv:fault({ method = "POST", path = "/api/campaigns", kind = "reset_after" })
      local second, err = client.campaigns:create(CAMPAIGN)
      assert.is_nil(err)
      assert.are_not.equal(first.id, second.id)
      assert.equals(2, (H.campaigns_on_server(srv)))
      assert.equals(2, H.count(srv, "POST", "/api/campaigns"))
      assert.equals(1, #H.events_of(events, "reconciled"))
    end)

    -- A server may store inputs normalised (the fake upper-cases countries;
    -- in strict-reference mode it also trims and lower-cases hashtags and
    -- handles and drops "#"/"@"): the lookup compares normalised values.
    for name, inputs in pairs({
      ["lower-case countries"] = { hashtag = "running", countries = { "us", "gb" } },
      ["hashtags with '#', capitals and blanks"] = { hashtags = { "#Running ", "Trail" } },
      ["a handle with '@'"] = { targetUser = "@Nasa" },
    }) do
      it("reconciles a lost answer although the server normalised the inputs (" .. name .. ")", function()
        local params = { type = inputs.targetUser and "INSTAGRAM_USER_FOLLOWERS" or "INSTAGRAM_HASHTAG",
          inputs = inputs, targetEmails = 300 }
        srv:fault({ method = "POST", path = "/api/campaigns", kind = "reset_after" })
        local c, err = client.campaigns:create(params)
        assert.is_nil(err)
        assert.is_string(c.id)
        assert.equals(1, #H.events_of(events, "reconciled"))
        assert.equals(1, H.count(srv, "POST", "/api/campaigns"))
        assert.equals(1, (H.campaigns_on_server(srv)))
      end)
    end

    it("reconciles past the first page when many newer campaigns of the same type exist", function()
      -- 101 other campaigns of the same type, stamped after this call (another
      -- process busy on the account): ours is on the second page of 100.
      local later = os.date("!%Y-%m-%dT%H:%M:%SZ", os.time() + 600)
      for i = 1, 101 do
        srv:seed_campaign({ type = "INSTAGRAM_HASHTAG", status = "pending", created_at = later,
          inputs = { hashtag = "other" .. i }, targetEmails = 300 })
      end
      srv:fault({ method = "POST", path = "/api/campaigns", kind = "reset_after" })
      local c, err = client.campaigns:create(CAMPAIGN)
      assert.is_nil(err)
      assert.equals("running", c.inputs.hashtag)
      assert.equals(1, #H.events_of(events, "reconciled"))
      assert.equals(2, H.count(srv, "GET", "/api/campaigns"))
    end)

    it("never returns an identical campaign this client created earlier when the server created none", function()
      local first = assert(client.campaigns:create(CAMPAIGN))
      assert.is_truthy(client._created[first.id])
      srv:fault({ method = "POST", path = "/api/campaigns", kind = "reset_before" })
      local c, err = client.campaigns:create(CAMPAIGN)
      assert.is_nil(c)
      assert.equals("unknown_outcome", err.kind)
      assert.equals("network", err.cause.kind)
      assert.is_true(err.reconciled) -- it looked (GET /campaigns) and took nothing
      assert.equals(1, H.count(srv, "GET", "/api/campaigns"))
      assert.equals(0, #H.events_of(events, "reconciled"))
      assert.equals(2, H.count(srv, "POST", "/api/campaigns"))
      assert.equals(1, (H.campaigns_on_server(srv)))
    end)

    it("never returns an identical campaign this client created earlier after a timeout", function()
      client = new_client({ timeout = 1 })
      local first = assert(client.campaigns:create(CAMPAIGN))
      -- the server holds the request past the client's timeout, then creates it
      srv:fault({ method = "POST", path = "/api/campaigns", kind = "slow", delay = 2 })
      local c, err = client.campaigns:create(CAMPAIGN)
      assert.is_nil(c)
      assert.equals("unknown_outcome", err.kind)
      assert.equals("timeout", err.cause.kind)
      assert.equals(1, #H.events_of(events, "reconcile"))
      assert.equals(0, #H.events_of(events, "reconciled"))
      assert.equals(2, H.count(srv, "POST", "/api/campaigns"))
      local n = 0
      for _ = 1, 50 do -- let the held request finish: then there are two, never three
        n = (H.campaigns_on_server(srv))
        if n == 2 then break end
        os.execute("sleep 0.1")
      end
      assert.equals(2, n)
      assert.is_truthy(client._created[first.id])
    end)

    it("answers unknown_outcome when two identical campaigns appeared: it cannot tell which is its own", function()
      -- another process launched the same campaign just now (inside the clock-skew allowance)
      local other = srv:seed_campaign({ type = CAMPAIGN.type, inputs = CAMPAIGN.inputs,
        targetEmails = CAMPAIGN.targetEmails, status = "pending", frozen = true })
      srv:fault({ method = "POST", path = "/api/campaigns", kind = "reset_after" })
      local c, err = client.campaigns:create(CAMPAIGN)
      assert.is_nil(c)
      assert.equals("unknown_outcome", err.kind)
      assert.equals(2, (H.campaigns_on_server(srv)))
      assert.truthy(err.message:find("2 matching campaigns", 1, true))
      assert.truthy(err.message:find(other, 1, true))
      assert.equals(0, #H.events_of(events, "reconciled"))
      assert.equals(1, H.count(srv, "POST", "/api/campaigns"))
    end)

    it("never returns an identical campaign created a few seconds before the call began", function()
      -- created 5 s ago (by another process): outside the 2 s clock-skew allowance
      srv:seed_campaign({ type = CAMPAIGN.type, inputs = CAMPAIGN.inputs, targetEmails = CAMPAIGN.targetEmails,
        age = 2 })
      assert.equals(1, (H.campaigns_on_server(srv)))
      srv:fault({ method = "POST", path = "/api/campaigns", kind = "reset_before" })
      local c, err = client.campaigns:create(CAMPAIGN)
      assert.is_nil(c)
      assert.equals("unknown_outcome", err.kind)
      assert.equals(1, #H.events_of(events, "reconcile"))
      assert.equals(0, #H.events_of(events, "reconciled"))
    end)

    it("checks createdAt itself, even when the listing ignores `from`", function()
      srv:fault({ method = "POST", path = "/api/campaigns", kind = "reset_before" })
      local old = {
        _id = "0123456789abcdef01234567", type = CAMPAIGN.type, targetEmails = CAMPAIGN.targetEmails,
        inputs = CAMPAIGN.inputs, status = "pending", createdAt = os.date("!%Y-%m-%dT%H:%M:%S.000Z", os.time() - 30),
      }
      srv:fault({ method = "GET", path = "/api/campaigns", kind = "status", status = 200, count = -1,
        content_type = "application/json",
        body = H.scravio.json.encode({ items = H.scravio.array({ old }),
          pagination = { totalCount = 1, totalPages = 1, currentPage = 1, perPage = 20 } }) })
      local c, err = client.campaigns:create(CAMPAIGN)
      assert.is_nil(c)
      assert.equals("unknown_outcome", err.kind)
      assert.equals(1, H.count(srv, "GET", "/api/campaigns"))
      -- the same listing with a createdAt inside the call's window is taken
      client = new_client()
      srv:clear_faults()
      srv:fault({ method = "POST", path = "/api/campaigns", kind = "reset_before" })
      old.createdAt = os.date("!%Y-%m-%dT%H:%M:%S.000Z", os.time() + 1)
      srv:fault({ method = "GET", path = "/api/campaigns", kind = "status", status = 200, count = -1,
        content_type = "application/json",
        body = H.scravio.json.encode({ items = H.scravio.array({ old }),
          pagination = { totalCount = 1, totalPages = 1, currentPage = 1, perPage = 20 } }) })
      c, err = client.campaigns:create(CAMPAIGN)
      assert.is_nil(err)
      assert.equals(old._id, c.id)
    end)

    it("returns a definite 500 as it is: kind api, not retryable, never resent, no reconciliation GET", function()
      srv:fault({ method = "POST", path = "/api/campaigns", kind = "status", status = 500,
        content_type = "application/json",
        body = '{"message":"Something broke","code":"INTERNAL_ERROR","errors":[],"requestId":"req_0123456789abcdef0123"}' })
      local c, err = client.campaigns:create(CAMPAIGN)
      assert.is_nil(c)
      assert.equals("api", err.kind)
      assert.equals(500, err.status)
      assert.equals("INTERNAL_ERROR", err.code)
      assert.equals("Something broke", err.message)
      assert.equals("req_0123456789abcdef0123", err.request_id)
      assert.is_false(err.retryable)
      assert.is_nil(err.reconciled)
      assert.equals(1, err.attempts)
      assert.truthy(err.gave_up:find("not resent", 1, true))
      assert.truthy(err.gave_up:find("check", 1, true))
      assert.equals(1, H.count(srv, "POST", "/api/campaigns"))
      assert.equals(0, #srv:requests({ method = "GET" }))
      assert.equals(0, #H.events_of(events, "reconcile"))
      assert.equals(0, #H.events_of(events, "retry"))
      assert.equals(0, (H.campaigns_on_server(srv)))
    end)

    it("returns a definite 503 the same way, even when an identical campaign exists", function()
      local first = H.client(srv)
      assert(first.campaigns:create(CAMPAIGN)) -- another client's, just now
      first:close()
      srv:clear_requests()
      srv:fault({ method = "POST", path = "/api/campaigns", kind = "status", status = 503,
        content_type = "application/json",
        body = '{"message":"Unavailable","code":"SERVICE_UNAVAILABLE","errors":[],"requestId":"req_rel"}' })
      local c, err = client.campaigns:create(CAMPAIGN)
      assert.is_nil(c)
      assert.equals("api", err.kind)
      assert.equals(503, err.status)
      assert.is_false(err.retryable)
      assert.equals(1, H.count(srv, "POST", "/api/campaigns"))
      assert.equals(0, H.count(srv, "GET", "/api/campaigns"))
      assert.equals(0, #H.events_of(events, "reconcile"))
    end)

    it("still resends after a 408 (refused before processing): one campaign", function()
      srv:fault({ method = "POST", path = "/api/campaigns", kind = "status", status = 408 })
      local c, err = client.campaigns:create(CAMPAIGN)
      assert.is_nil(err)
      assert.equals(2, H.count(srv, "POST", "/api/campaigns"))
      assert.equals(1, (H.campaigns_on_server(srv)))
      assert.is_string(c.id)
    end)

    it("keeps at most CREATED_MAX ids per client, oldest first out", function()
      local c = new_client()
      for i = 1, reconcile.CREATED_MAX + 5 do reconcile.remember(c, "id" .. i) end
      assert.equals(reconcile.CREATED_MAX, #c._created)
      assert.is_nil(reconcile.known(c, "id5"))
      assert.is_number(reconcile.known(c, "id6"))
      assert.equals("id6", c._created[1])
      assert.is_number(reconcile.known(c, "id" .. (reconcile.CREATED_MAX + 5)))
    end)

    it("answers unknown_outcome with the cause when a reconcile function fails", function()
      srv:fault({ method = "POST", path = "/api/campaigns", kind = "reset_before" })
      -- the reconcile lookup (GET /campaigns) fails as well, every time
      srv:fault({ method = "GET", path = "/api/campaigns", kind = "status", status = 500, count = -1 })
      local c, err = client.campaigns:create(CAMPAIGN)
      assert.is_nil(c)
      assert.equals("unknown_outcome", err.kind)
      assert.equals("network", err.cause.kind)
      assert.equals(1, H.count(srv, "POST", "/api/campaigns"))
      assert.truthy(tostring(err):find("unknown_outcome", 1, true))
    end)
  end)

  describe("campaign validation (reserves credits)", function()
    local campaign
    before_each(function()
      campaign = assert(client.campaigns:get(srv:seed_campaign({ status = "fully_completed", leads = 20 })))
    end)

    local P = function() return "/api/campaigns/" .. campaign.id .. "/validate" end

    it("reconciles a reset_after to the validation the server started; never resent", function()
      srv:fault({ method = "POST", path = P(), kind = "reset_after" })
      local res, err = campaign:validate()
      assert.is_nil(err)
      assert.equals(campaign.id, res.campaignId)
      assert.equals("validating", res.status)
      assert.equals(1, H.count(srv, "POST", P()))
      assert.equals(1, #H.events_of(events, "reconciled"))
    end)

    it("answers unknown_outcome after reset_before, and nothing is running", function()
      srv:fault({ method = "POST", path = P(), kind = "reset_before" })
      local res, err = campaign:validate()
      assert.is_nil(res)
      assert.equals("unknown_outcome", err.kind)
      assert.equals(1, H.count(srv, "POST", P()))
      local fresh = assert(client.campaigns:get(campaign.id))
      local pv = fresh.postValidation
      assert.is_true(pv == nil or pv == H.scravio.null or pv.status ~= "validating")
    end)

    it("does not take an earlier, finished validation for this one", function()
      local done = assert(client.campaigns:get(srv:seed_campaign({ status = "fully_completed", leads = 20,
        validated = true })))
      srv:fault({ method = "POST", path = "/api/campaigns/" .. done.id .. "/validate", kind = "reset_before" })
      local res, err = done:validate()
      assert.is_nil(res)
      assert.equals("unknown_outcome", err.kind)
    end)

    it("returns a definite 500 as it is: not retryable, never resent, no reconciliation GET", function()
      srv:clear_requests()
      srv:fault({ method = "POST", path = P(), kind = "status", status = 500,
        content_type = "application/json",
        body = '{"message":"Unavailable","code":"SERVICE_UNAVAILABLE","errors":[],"requestId":"req_rel"}' })
      local res, err = campaign:validate()
      assert.is_nil(res)
      assert.equals("api", err.kind)
      assert.equals(500, err.status)
      assert.is_false(err.retryable)
      assert.equals(1, H.count(srv, "POST", P()))
      assert.equals(0, H.count(srv, "GET", "/api/campaigns/" .. campaign.id))
      assert.equals(0, #H.events_of(events, "reconcile"))
    end)

    it("does not take a validation this client started just before for this one", function()
      assert(campaign:validate())
      srv:advance(5) -- it completes
      srv:fault({ method = "POST", path = P(), kind = "reset_before" })
      local res, err = campaign:validate()
      assert.is_nil(res)
      assert.equals("unknown_outcome", err.kind)
      assert.equals(2, H.count(srv, "POST", P()))
      assert.equals(1, #H.events_of(events, "reconcile"))
      assert.equals(0, #H.events_of(events, "reconciled"))
    end)

    it("is resent after a 429 (not processed) and starts once", function()
      srv:fault({ method = "POST", path = P(), kind = "rate_limit", retry_after = 1 })
      local res, err = campaign:validate()
      assert.is_nil(err)
      assert.equals("validating", res.status)
      assert.equals(2, H.count(srv, "POST", P()))
    end)

    it("is never retried on 409 (validation already running)", function()
      assert(campaign:validate())
      local res, err = campaign:validate()
      assert.is_nil(res)
      assert.equals(409, err.status)
      assert.equals(1, err.attempts)
      assert.equals(2, H.count(srv, "POST", P()))
    end)
  end)

  describe("text validation jobs (reserve credits)", function()
    local P = "/api/validation-jobs/text"
    local EMAILS = { "ann@example.com", "bob@example.com", "cid@example.org" }

    local function jobs_on_server()
      local page = assert(client.validation_jobs:list({}))
      return #page.items, page.items
    end

    it("reconciles a reset_after to the job the server created; never resent", function()
      srv:fault({ method = "POST", path = P, kind = "reset_after" })
      local job, err = client.validation_jobs:submit(EMAILS)
      assert.is_nil(err)
      assert.equals(1, H.count(srv, "POST", P))
      local n, items = jobs_on_server()
      assert.equals(1, n)
      assert.equals(items[1].id, job.id)
      assert.equals(3, job.totalEmails)
    end)

    it("answers unknown_outcome after reset_before, and no job exists", function()
      srv:fault({ method = "POST", path = P, kind = "reset_before" })
      local job, err = client.validation_jobs:submit(EMAILS)
      assert.is_nil(job)
      assert.equals("unknown_outcome", err.kind)
      assert.equals(1, H.count(srv, "POST", P))
      assert.equals(0, (jobs_on_server()))
    end)

    it("reconciles using the unique count of what was sent, which is sent unchanged", function()
      srv:fault({ method = "POST", path = P, kind = "reset_after" })
      local sent = { "Ann@Example.com", "ann@example.com", "not-an-address", "bob@example.com" }
      local job, err = client.validation_jobs:submit(sent)
      assert.is_nil(err)
      assert.equals(3, job.totalEmails)
      assert.equals(1, #H.events_of(events, "reconciled"))
      local body = H.scravio.json.decode(srv:requests({ method = "POST", path = P })[1].body)
      assert.same(sent, body.emails)
    end)

    it("never returns a job this client submitted earlier with as many emails", function()
      local first = assert(client.validation_jobs:submit(EMAILS))
      srv:advance(10) -- it completes, so another may be submitted
      srv:fault({ method = "POST", path = P, kind = "reset_before" })
      local job, err = client.validation_jobs:submit({ "dan@example.com", "eve@example.com", "fay@example.org" })
      assert.is_nil(job)
      assert.equals("unknown_outcome", err.kind)
      assert.equals(1, #H.events_of(events, "reconcile"))
      assert.equals(0, #H.events_of(events, "reconciled"))
      local n, items = jobs_on_server()
      assert.equals(1, n)
      assert.equals(first.id, items[1].id)
    end)

    it("does not match a new job whose totalEmails differs from the unique count sent", function()
      srv:fault({ method = "POST", path = P, kind = "reset_after" })
      -- the server counts 3 unique addresses; a count of 4 (duplicates counted) would not match
      local job, err = client.validation_jobs:submit("a@example.com,b@example.com,c@example.com,A@EXAMPLE.COM")
      assert.is_nil(err)
      assert.equals(3, job.totalEmails)
      -- a job of 2 emails created by someone else does not pass for one of 5
      srv:advance(10)
      local other = H.client(srv)
      assert(other.validation_jobs:submit({ "x@example.com", "y@example.com" }))
      other:close()
      srv:advance(10)
      srv:fault({ method = "POST", path = P, kind = "reset_before" })
      local none, uerr = client.validation_jobs:submit({ "1@example.com", "2@example.com", "3@example.com",
        "4@example.com", "5@example.com" })
      assert.is_nil(none)
      assert.equals("unknown_outcome", uerr.kind)
    end)

    it("returns a definite 503 as it is: not retryable, never resent, no reconciliation GET", function()
      srv:fault({ method = "POST", path = P, kind = "status", status = 503,
        content_type = "application/json",
        body = '{"message":"Unavailable","code":"SERVICE_UNAVAILABLE","errors":[],"requestId":"req_rel"}' })
      local job, err = client.validation_jobs:submit(EMAILS)
      assert.is_nil(job)
      assert.equals("api", err.kind)
      assert.equals(503, err.status)
      assert.is_false(err.retryable)
      assert.equals(1, H.count(srv, "POST", P))
      assert.equals(0, H.count(srv, "GET", "/api/validation-jobs"))
      assert.equals(0, #H.events_of(events, "reconcile"))
    end)

    it("is never retried on 409 (a job is already active)", function()
      assert(client.validation_jobs:submit(EMAILS))
      local job, err = client.validation_jobs:submit({ "dan@example.com" })
      assert.is_nil(job)
      assert.equals(409, err.status)
      assert.equals(1, err.attempts)
    end)
  end)

  describe("requests with an idempotency key are retried", function()
    it("resends request_upload after reset_after and gets the same ticket", function()
      local P = "/api/validation-jobs/file"
      srv:fault({ method = "POST", path = P, kind = "reset_after" })
      local params = { filename = "list.csv", contentType = "text/csv", sizeBytes = 100, idempotencyKey = "k-123" }
      local t1, err = client.validation_jobs:request_upload(params)
      assert.is_nil(err)
      assert.equals(2, H.count(srv, "POST", P))
      local t2 = assert(client.validation_jobs:request_upload(params))
      assert.equals(t1.uploadId, t2.uploadId)
    end)

    it("resends POST /campaigns/{id}/stop (idempotent) after a 503", function()
      local c = assert(client.campaigns:get(srv:seed_campaign({ status = "scraping", frozen = true })))
      srv:fault({ method = "POST", path = "/api/campaigns/" .. c.id .. "/stop", kind = "status", status = 503 })
      -- (only the first value: Campaign.stop passes request.call's status through as a 2nd value)
      local res = c:stop()
      assert.is_table(res)
      assert.equals("stopped", res.status)
      assert.equals(2, H.count(srv, "POST", "/api/campaigns/" .. c.id .. "/stop"))
    end)
  end)
end)
end
