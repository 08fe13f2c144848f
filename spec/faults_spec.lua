-- Fault injection against the fake server, for three kinds of request:
--   GET /campaigns/{id}                a read: retried on anything transient
--   POST /campaigns/reserve-preview    an idempotent POST: retried the same way
--   POST /list-exports                 API-idempotent: retried the same way
--   POST /campaigns                    reserves credits: never resent once it may
--                                      have reached the server; reconciled when there
--                                      was no answer (an HTML 5xx page included), a
--                                      definite 500/503 (the API's envelope) returned as is
-- Each case asserts the outcome: the retried call succeeds, or the error kind is
-- right; for POST /campaigns how many requests the server saw and how many
-- campaigns exist (never two). Backoff and Retry-After waits go through an
-- injected clock, so nothing here really sleeps except the "slow" faults.
local H = require("spec.support.helpers")

local CAMPAIGN = { type = "INSTAGRAM_HASHTAG", inputs = { hashtags = { "fitness", "gym" } }, targetEmails = 500 }
local PREVIEW = CAMPAIGN

-- A clock whose sleep returns at once (recording the wait) and moves `now`.
describe("fault injection", function()
  local srv, events, client, clock

  setup(function() srv = H.start() end)
  teardown(function() if srv then srv:stop() end end)

  local function new_client(opts)
    local c
    c, events, clock = H.observed_client(srv, { timeout = 1, max_retries = 2 }, opts)
    return c
  end

  before_each(function()
    srv:reset()
    client = new_client()
  end)

  local function retries()
    return #H.events_of(events, "retry")
  end

  local function fault(spec)
    spec.count = spec.count or 1
    return srv:fault(spec)
  end

  -- ---------------------------------------------------------------------------
  describe("GET /campaigns/{id}", function()
    local id
    before_each(function() id = srv:seed_campaign({ status = "fully_completed", leads = 3 }) end)

    local function path() return "/api/campaigns/" .. id end

    local function retried_ok(kind_seen)
      local c, err = client.campaigns:get(id)
      assert.is_nil(err)
      assert.equals(id, c.id)
      assert.equals(2, H.count(srv, "GET", path()))
      assert.equals(1, retries())
      local first = H.events_of(events, "response")[1]
      assert.equals(kind_seen, first.error)
    end

    for _, status in ipairs({ 500, 502, 503 }) do
      it("retries a " .. status .. " with an HTML body and succeeds", function()
        fault({ method = "GET", path = path(), kind = "status", status = status })
        retried_ok("api")
      end)
    end

    it("gives up after max_retries on a persistent 503: kind api, attempts 3, a readable message", function()
      fault({ method = "GET", path = path(), kind = "status", status = 503, count = -1 })
      local c, err = client.campaigns:get(id)
      assert.is_nil(c)
      assert.equals("api", err.kind)
      assert.equals(503, err.status)
      assert.equals(3, err.attempts)
      assert.is_true(err.retryable)
      assert.equals("retries exhausted", err.gave_up)
      assert.truthy(err.message:find("non-JSON", 1, true))
      assert.falsy(err.message:find("<html>", 1, true))
      assert.equals(3, H.count(srv, "GET", path()))
      assert.equals(2, retries())
    end)

    it("honours Retry-After on a 429 and succeeds", function()
      fault({ method = "GET", path = path(), kind = "rate_limit", retry_after = 1 })
      retried_ok("rate_limited")
      local ev = H.events_of(events, "retry")[1]
      assert.equals(1, ev.delay)
      assert.equals("retry_after", ev.reason)
      assert.same({ 1 }, clock.sleeps)
    end)

    it("retries a connection closed before processing", function()
      fault({ method = "GET", path = path(), kind = "reset_before" })
      retried_ok("network")
    end)

    it("retries a connection closed after processing", function()
      fault({ method = "GET", path = path(), kind = "reset_after" })
      retried_ok("network")
    end)

    it("retries an answer slower than the client timeout", function()
      fault({ method = "GET", path = path(), kind = "slow", delay = 2.5 })
      retried_ok("timeout")
    end)

    it("retries a truncated JSON body", function()
      fault({ method = "GET", path = path(), kind = "truncated" })
      retried_ok("decode")
    end)

    it("retries a body cut short of its Content-Length", function()
      fault({ method = "GET", path = path(), kind = "truncated_body" })
      retried_ok("network")
    end)

    it("retries malformed JSON", function()
      fault({ method = "GET", path = path(), kind = "malformed" })
      retried_ok("decode")
    end)

  end)

  -- ---------------------------------------------------------------------------
  -- Hostile answers (bodies over max_response_bytes, an API redirect, wrong
  -- types, absurd numbers, deep nesting, list pages that would loop) live in
  -- spec/hostile/answers.lua, played to both transports by spec/hostile_spec.lua.

  -- ---------------------------------------------------------------------------
  describe("POST /campaigns/reserve-preview (idempotent)", function()
    local P = "/api/campaigns/reserve-preview"

    local function retried_ok(kind_seen)
      local pv, err = client.campaigns:preview(PREVIEW)
      assert.is_nil(err)
      assert.equals(500, pv.targetEmails)
      assert.equals(2, H.count(srv, "POST", P))
      assert.equals(1, retries())
      assert.equals(kind_seen, H.events_of(events, "response")[1].error)
    end

    for _, status in ipairs({ 500, 502, 503 }) do
      it("retries a " .. status .. " with an HTML body and succeeds", function()
        fault({ method = "POST", path = P, kind = "status", status = status })
        retried_ok("api")
      end)
    end

    it("honours Retry-After on a 429 and succeeds", function()
      fault({ method = "POST", path = P, kind = "rate_limit", retry_after = 1 })
      retried_ok("rate_limited")
      assert.same({ 1 }, clock.sleeps)
    end)

    for _, kind in ipairs({ "reset_before", "reset_after", "truncated_body" }) do
      it("retries " .. kind, function()
        fault({ method = "POST", path = P, kind = kind })
        retried_ok("network")
      end)
    end

    it("retries an answer slower than the client timeout", function()
      fault({ method = "POST", path = P, kind = "slow", delay = 2.5 })
      retried_ok("timeout")
    end)

    for _, kind in ipairs({ "truncated", "malformed" }) do
      it("retries " .. kind .. " JSON", function()
        fault({ method = "POST", path = P, kind = kind })
        retried_ok("decode")
      end)
    end

    it("refuses a 20 MB body as kind decode without retrying", function()
      fault({ method = "POST", path = P, kind = "huge" })
      local pv, err = client.campaigns:preview(PREVIEW)
      assert.is_nil(pv)
      assert.equals("decode", err.kind)
      assert.equals(1, H.count(srv, "POST", P))
    end)

    it("does not follow a redirect, and nothing reaches the other host", function()
      fault({ method = "POST", path = P, kind = "redirect" })
      local _, err = client.campaigns:preview(PREVIEW)
      assert.equals(302, err.status)
      assert.equals(1, H.count(srv, "POST", P))
      assert.same({}, srv:storage_requests({ path = "/capture" }))
    end)
  end)

  -- ---------------------------------------------------------------------------
  describe("POST /list-exports (API-idempotent)", function()
    local P = "/api/list-exports"
    local campaign
    before_each(function()
      campaign = assert(client.campaigns:get(srv:seed_campaign({ status = "fully_completed", leads = 5 })))
    end)

    for _, kind in ipairs({ "reset_after", "truncated", "slow" }) do
      it("retries " .. kind .. " and the server holds one export", function()
        fault({ method = "POST", path = P, kind = kind, delay = 2.5 })
        local e, err = campaign:export({ fileFormat = "csv" })
        assert.is_nil(err)
        assert.is_string(e.id)
        assert.equals(2, H.count(srv, "POST", P))
        local list = assert(client.exports:list({ campaignId = campaign.id }))
        assert.equals(1, #list.items)
        assert.equals(e.id, list.items[1].id)
      end)
    end

    it("retries a 503 and succeeds", function()
      fault({ method = "POST", path = P, kind = "status", status = 503 })
      assert(campaign:export({}))
      assert.equals(2, H.count(srv, "POST", P))
    end)
  end)

  -- ---------------------------------------------------------------------------
  describe("POST /campaigns (reserves credits)", function()
    local P = "/api/campaigns"

    local function reconciled_to_one(kind_seen)
      local c, err = client.campaigns:create(CAMPAIGN)
      assert.is_nil(err)
      assert.equals(1, H.count(srv, "POST", P), "POST /campaigns was resent")
      local n, items = H.campaigns_on_server(srv)
      assert.equals(1, n)
      assert.equals(items[1].id, c.id)
      assert.equals("INSTAGRAM_HASHTAG", c.type)
      assert.equals(1, #H.events_of(events, "reconcile"))
      assert.equals(1, #H.events_of(events, "reconciled"))
      assert.equals(kind_seen, H.events_of(events, "reconciled")[1].error)
      assert.equals(0, retries())
      return c
    end

    local function unknown_none(kind_seen)
      local c, err = client.campaigns:create(CAMPAIGN)
      assert.is_nil(c)
      assert.equals("unknown_outcome", err.kind)
      assert.equals(kind_seen, err.cause.kind)
      assert.is_false(err.retryable)
      assert.equals(1, err.attempts)
      assert.truthy(err.message:find("not sent again", 1, true))
      assert.equals(1, H.count(srv, "POST", P), "POST /campaigns was resent")
      assert.equals(1, #H.events_of(events, "reconcile"))
      assert.equals(0, #H.events_of(events, "reconciled"))
      assert.equals(0, retries())
      return err
    end

    -- A definite 500/503 answer is the API's answer: returned as it is, never
    -- resent, never reconciled (no GET), and not retryable by the caller blindly.
    local function definite(status)
      local c, err = client.campaigns:create(CAMPAIGN)
      assert.is_nil(c)
      assert.equals("api", err.kind)
      assert.equals(status, err.status)
      assert.is_false(err.retryable)
      assert.is_nil(err.reconciled)
      assert.equals(1, err.attempts)
      assert.truthy(err.gave_up:find("not resent", 1, true))
      assert.equals(1, H.count(srv, "POST", P))
      assert.equals(0, H.count(srv, "GET", P), "a reconciliation GET was sent")
      assert.equals(0, #H.events_of(events, "reconcile"))
      assert.equals(0, retries())
      return err
    end

    -- The API's own error envelope (it names a code): a definite answer.
    local function api_error(status)
      return { method = "POST", path = P, kind = "status", status = status, content_type = "application/json",
        body = '{"message":"Internal error","code":"INTERNAL_ERROR","errors":[],"requestId":"req_faults"}' }
    end

    it("after a 500 in the API's envelope: returns the 500, not resent, not reconciled", function()
      fault(api_error(500))
      local err = definite(500)
      assert.equals("INTERNAL_ERROR", err.code)
      assert.equals(0, (H.campaigns_on_server(srv)))
      -- The caller's own retry then creates exactly one.
      assert(client.campaigns:create(CAMPAIGN))
      assert.equals(1, (H.campaigns_on_server(srv)))
    end)

    it("after a 500 in the envelope although the server did create it: the 500 as it is, one campaign", function()
      local f = api_error(500)
      f.process_first = true
      fault(f)
      local err = definite(500)
      assert.is_nil(err.campaign)
      -- the campaign exists (the server's doing); the SDK did not make a second one
      local n = H.campaigns_on_server(srv)
      assert.equals(1, n)
    end)

    it("after a 500 in the envelope while an identical campaign exists: the 500, never the other campaign", function()
      local other = H.client(srv)
      local existing = assert(other.campaigns:create(CAMPAIGN))
      other:close()
      srv:clear_requests()
      fault(api_error(500))
      local err = definite(500)
      assert.is_nil(err.campaign)
      local n, items = H.campaigns_on_server(srv)
      assert.equals(1, n)
      assert.equals(existing.id, items[1].id)
    end)

    it("after a 503 in the envelope: not resent, not reconciled, returns the 503", function()
      fault(api_error(503))
      definite(503)
      assert.equals(0, (H.campaigns_on_server(srv)))
    end)

    it("after a 500 with a JSON body that names no code: still the API's answer, returned as it is", function()
      fault({ method = "POST", path = P, kind = "status", status = 500, content_type = "application/json",
        body = '{"message":"Internal error"}' })
      local err = definite(500)
      assert.is_nil(err.code)
      assert.is_nil(err.proxy_page)
      assert.equals("Internal error", err.message)
    end)

    it("after an empty 500: a proxy's answer (proxy_page), reconciled, never resent", function()
      fault({ method = "POST", path = P, kind = "status", status = 500, body = "" })
      local err = unknown_none("api")
      assert.equals(500, err.status)
      assert.is_true(err.cause.proxy_page)
    end)

    -- A 5xx page without the envelope (HTML from a proxy or load balancer)
    -- is not the API speaking: it may have created the campaign. It used to
    -- come back as a plain "api 500", retryable false, and the campaign the
    -- API had made (and charged) went unmentioned.
    it("after an HTML 500 although the server did create it: reconciled to that campaign, never resent", function()
      fault({ method = "POST", path = P, kind = "status", status = 500, process_first = true })
      reconciled_to_one("api")
    end)

    it("after an HTML 503 when nothing was created: unknown_outcome, never resent", function()
      fault({ method = "POST", path = P, kind = "status", status = 503 })
      local err = unknown_none("api")
      assert.equals(503, err.cause.status)
      assert.equals(0, (H.campaigns_on_server(srv)))
    end)

    it("after a 502 (a gateway lost the upstream): unknown_outcome when nothing is found", function()
      fault({ method = "POST", path = P, kind = "status", status = 502 })
      local err = unknown_none("api")
      assert.equals(502, err.status)
      assert.equals(0, (H.campaigns_on_server(srv)))
    end)

    it("after a 429 (refused before processing): resent after Retry-After, one campaign", function()
      fault({ method = "POST", path = P, kind = "rate_limit", retry_after = 1 })
      local c, err = client.campaigns:create(CAMPAIGN)
      assert.is_nil(err)
      assert.equals(2, H.count(srv, "POST", P))
      assert.equals(1, retries())
      assert.same({ 1 }, clock.sleeps)
      local n, items = H.campaigns_on_server(srv)
      assert.equals(1, n)
      assert.equals(items[1].id, c.id)
    end)

    it("after a 429 whose Retry-After is beyond max_retry_wait: rate_limited at once", function()
      client = new_client({ max_retry_wait = 5 })
      fault({ method = "POST", path = P, kind = "rate_limit", retry_after = 120 })
      local c, err = client.campaigns:create(CAMPAIGN)
      assert.is_nil(c)
      assert.equals("rate_limited", err.kind)
      assert.equals(120, err.retry_after)
      assert.equals(1, err.attempts)
      assert.same({}, clock.sleeps)
      assert.equals(1, H.count(srv, "POST", P))
      assert.equals(0, (H.campaigns_on_server(srv)))
    end)

    it("after reset_before: unknown_outcome, not resent, nothing created", function()
      fault({ method = "POST", path = P, kind = "reset_before" })
      unknown_none("network")
      assert.equals(0, (H.campaigns_on_server(srv)))
    end)

    it("after reset_after: reconciled to the one campaign the server created", function()
      fault({ method = "POST", path = P, kind = "reset_after" })
      reconciled_to_one("network")
    end)

    it("after truncated_body: reconciled to the one campaign", function()
      fault({ method = "POST", path = P, kind = "truncated_body" })
      reconciled_to_one("network")
    end)

    it("after a truncated JSON answer: reconciled to the one campaign", function()
      fault({ method = "POST", path = P, kind = "truncated" })
      reconciled_to_one("decode")
    end)

    it("after a timeout on a server that created it first: reconciled to the one campaign", function()
      fault({ method = "POST", path = P, kind = "slow", delay = 2.5, process_first = true })
      reconciled_to_one("timeout")
    end)

    it("after a timeout on a server still working: unknown_outcome, and never a second campaign", function()
      fault({ method = "POST", path = P, kind = "slow", delay = 2 })
      unknown_none("timeout")
      -- The server finishes the request it was holding: one campaign, not two.
      local n = 0
      for _ = 1, 50 do
        n = H.campaigns_on_server(srv)
        if n > 0 then break end
        os.execute("sleep 0.1")
      end
      assert.equals(1, n)
      assert.equals(1, H.count(srv, "POST", P))
    end)

    it("after malformed JSON: unknown_outcome, nothing created", function()
      fault({ method = "POST", path = P, kind = "malformed" })
      unknown_none("decode")
      assert.equals(0, (H.campaigns_on_server(srv)))
    end)

    it("after a 20 MB answer: unknown_outcome, no crash, nothing created", function()
      fault({ method = "POST", path = P, kind = "huge" })
      local err = unknown_none("decode")
      assert.truthy(err.cause.message:find("max_response_bytes", 1, true))
      assert.equals(0, (H.campaigns_on_server(srv)))
    end)

    it("after a redirect: not followed, not resent, nothing reaches the other host", function()
      fault({ method = "POST", path = P, kind = "redirect" })
      local c, err = client.campaigns:create(CAMPAIGN)
      assert.is_nil(c)
      assert.equals(302, err.status)
      assert.equals(1, H.count(srv, "POST", P))
      assert.same({}, srv:storage_requests({ path = "/capture" }))
      assert.equals(0, (H.campaigns_on_server(srv)))
    end)
  end)
end)
