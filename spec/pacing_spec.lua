-- Client-side pacing of the four documented rate limits:
--   stop 5/min per campaign, validate 3/min per campaign,
--   text validation 3/hour, exports 5/hour.
-- A short wait is taken and reported as a "pace" event. A longer predicted
-- wait (beyond max_pace_wait or the call's deadline) is, by default, not
-- taken: the call is sent and the server decides (its 429 comes back as it
-- is). With pace = "strict" it returns rate_limited with retry_after at once,
-- without sending. Nothing really waits: the client gets
-- a clock whose sleep moves both its own time and the fake server's clock, so
-- the server's own limiter sees exactly the time the client waited.
local H = require("spec.support.helpers")
local pacing = require("scravio.pacing")

-- ---------------------------------------------------------------------------
describe("pacing (no server)", function()
  local function client_with(max_wait)
    local c = { _max_retry_wait = max_wait }
    local clock = H.fake_clock(c)
    return c, clock
  end

  it("lets `limit` calls through, then asks for the time until the oldest leaves the window", function()
    local c, clock = client_with(60)
    for _ = 1, 3 do assert.is_number((pacing.take(c, "validate", "c1"))) end
    clock.advance(10)
    local wait = pacing.wait_needed(c, "validate", "c1")
    assert.near(50, wait, 0.01)
    assert.equals(0, pacing.wait_needed(c, "validate", "c2")) -- per campaign
  end)

  it("waits a short wait (reporting it) and sends a long one without waiting", function()
    local c, clock = client_with(60)
    local seen = {}
    local function rec(ev) seen[#seen + 1] = ev end
    for _ = 1, 5 do assert.is_number((pacing.take(c, "stop", "x"))) end
    assert.is_number((pacing.take(c, "stop", "x", rec)))
    assert.equals(1, #seen)
    assert.equals("pace", seen[1].type)
    assert.equals("stop", seen[1].limit)
    assert.equals("x", seen[1].scope)
    assert.is_true(seen[1].waited)
    assert.near(60, seen[1].delay, 0.01)
    assert.equals(1, #clock.sleeps)

    for _ = 1, 3 do pacing.take(c, "validation_text") end
    local stamp, err = pacing.take(c, "validation_text", nil, rec)
    assert.is_nil(err)
    assert.is_number(stamp) -- not refused: the server decides
    assert.equals(2, #seen)
    assert.equals("pace", seen[2].type)
    assert.is_false(seen[2].waited)
    assert.near(3600, seen[2].delay, 0.01)
    assert.matches("max_pace_wait", seen[2].reason)
    assert.equals(1, #clock.sleeps) -- no new sleep
  end)

  it("strict: refuses a long wait without waiting, retry_after rounded up to whole seconds", function()
    local c, clock = client_with(60)
    c._pace = "strict"
    for _ = 1, 3 do pacing.take(c, "validation_text") end
    clock.advance(0.4)
    local ok, err = pacing.take(c, "validation_text", nil, function() error("no pace event expected") end)
    assert.is_nil(ok)
    assert.equals("rate_limited", err.kind)
    assert.is_true(err.paced)
    assert.is_nil(err.status)
    assert.equals(3600, err.retry_after) -- 3599.6 rounded up
    assert.is_true(H.is_integer(err.retry_after))
    assert.matches("nothing was sent", err.message)
    assert.same({}, clock.sleeps)
  end)

  it("sends, without waiting, a wait longer than what is left of the deadline (strict: refuses it)", function()
    local c, clock = client_with(600)
    for _ = 1, 3 do pacing.take(c, "validate", "c") end
    local seen = {}
    assert.is_number((pacing.take(c, "validate", "c", function(ev) seen[#seen + 1] = ev end, 30)))
    assert.is_false(seen[1].waited)
    assert.matches("deadline", seen[1].reason)
    assert.same({}, clock.sleeps)

    local s = client_with(600)
    s._pace = "strict"
    for _ = 1, 3 do pacing.take(s, "validate", "c") end
    local ok, err = pacing.take(s, "validate", "c", nil, 30)
    assert.is_nil(ok)
    assert.equals("rate_limited", err.kind)
    assert.equals(60, err.retry_after)
  end)

  it("strict: gives a slot back and refuses until a server's Retry-After has passed", function()
    local c = client_with(5)
    c._pace = "strict"
    local stamps = {}
    for i = 1, 5 do stamps[i] = pacing.take(c, "export") end
    assert.is_nil((pacing.take(c, "export")))
    pacing.release(c, "export", nil, stamps[5])
    assert.is_number((pacing.take(c, "export")))
    assert.equals(0, pacing.wait_needed(c, "stop", "y"))
    pacing.block(c, "stop", "y", 100)
    assert.near(100, pacing.wait_needed(c, "stop", "y"), 0.01)
    local ok, err = pacing.take(c, "stop", "y")
    assert.is_nil(ok)
    assert.equals(100, err.retry_after)
  end)

  it("waits out a short Retry-After, and never refuses because of a long one", function()
    local c, clock = client_with(10)
    local seen = {}
    local function rec(ev) seen[#seen + 1] = ev end
    pacing.block(c, "stop", "y", 5)
    assert.is_number((pacing.take(c, "stop", "y", rec)))
    assert.equals(1, #clock.sleeps)
    assert.near(5, clock.sleeps[1], 0.01)
    assert.is_true(seen[1].waited)
    pacing.block(c, "stop", "z", 100)
    assert.is_number((pacing.take(c, "stop", "z", rec)))
    assert.equals(1, #clock.sleeps)
    assert.is_false(seen[2].waited)
    assert.near(100, seen[2].delay, 0.01)
  end)

  it("forgets stale stamps once the server accepted a call the count said was over the limit", function()
    local c = client_with(10)
    for _ = 1, 3 do pacing.settle(c, "validation_text", nil, pacing.take(c, "validation_text")) end
    assert.near(3600, pacing.wait_needed(c, "validation_text"), 1)
    local probe = pacing.take(c, "validation_text") -- sent anyway
    pacing.settle(c, "validation_text", nil, probe) -- answered, and not with a 429
    assert.equals(0, pacing.wait_needed(c, "validation_text"))
    local events = {}
    for _ = 1, 2 do
      pacing.settle(c, "validation_text", nil, pacing.take(c, "validation_text", nil,
        function(ev) events[#events + 1] = ev end))
    end
    assert.same({}, events) -- the 5th and 6th fit the corrected count
    assert.near(3600, pacing.wait_needed(c, "validation_text"), 1)
  end)

  it("keeps the count when the server refused the call sent over it (429)", function()
    local c = client_with(10)
    for _ = 1, 3 do pacing.settle(c, "validation_text", nil, pacing.take(c, "validation_text")) end
    local probe = pacing.take(c, "validation_text")
    probe = pacing.settle(c, "validation_text", nil, probe)
    pacing.release(c, "validation_text", nil, probe)
    assert.near(3600, pacing.wait_needed(c, "validation_text"), 1)
  end)

  it("forgets a server's block once the server accepted a call despite it", function()
    local c = client_with(10)
    pacing.block(c, "export", nil, 3000)
    local probe = pacing.take(c, "export")
    pacing.settle(c, "export", nil, probe)
    assert.equals(0, pacing.wait_needed(c, "export"))
  end)
end)

describe("the pace option", function()
  it("accepts true, false and \"strict\"; anything else is an invalid option named pace", function()
    for _, v in ipairs({ true, false, "strict" }) do
      local c, err = H.scravio.new({ api_key = "sk_test_pace", base_url = "http://127.0.0.1:9", pace = v })
      assert.is_nil(err)
      assert.equals(v, c._pace)
    end
    assert.is_true(assert(H.scravio.new({ api_key = "sk_test_pace", base_url = "http://127.0.0.1:9" }))._pace)
    for _, v in ipairs({ "yes", "STRICT", 1, {} }) do
      local c, err = H.scravio.new({ api_key = "sk_test_pace", base_url = "http://127.0.0.1:9", pace = v })
      assert.is_nil(c)
      assert.equals("invalid", err.kind)
      assert.equals("pace", err.errors[1].param)
    end
  end)
end)

-- ---------------------------------------------------------------------------
describe("pacing against the fake server (its rate limits on)", function()
  local srv, client, clock, events

  setup(function() srv = H.start() end)
  teardown(function() if srv then srv:stop() end end)

  local function new_client(opts)
    local c
    c, events, clock = H.observed_client(srv, nil, opts, { srv = srv })
    return c
  end

  before_each(function()
    srv:reset()
    client = new_client()
  end)

  local function statuses(path)
    local out = {}
    for _, r in ipairs(srv:requests({ method = "POST", path = path })) do out[#out + 1] = r.status end
    return out
  end

  local function no_429(path)
    for _, st in ipairs(statuses(path)) do assert.are_not.equal(429, st) end
  end

  describe("POST /validation-jobs/text (3 per hour)", function()
    local P = "/api/validation-jobs/text"
    local function submit(i)
      local j, err = client.validation_jobs:submit({ "user" .. i .. "@example.com" })
      clock.advance(5) -- let the job finish (one active job per account)
      return j, err
    end

    it("sends the 4th in an hour without waiting; the server's 429 comes back as it is", function()
      for i = 1, 3 do assert(submit(i)) end
      local j, err = client.validation_jobs:submit({ "late@example.com" })
      assert.is_nil(j)
      assert.equals("rate_limited", err.kind)
      assert.equals(429, err.status)
      assert.is_nil(err.paced)
      assert.matches("^req_", err.request_id)
      assert.is_true(err.retry_after > 3500 and err.retry_after <= 3600)
      assert.equals(1, err.attempts)
      assert.equals("POST", err.method)
      assert.equals("/validation-jobs/text", err.path)
      assert.equals(4, H.count(srv, "POST", P))
      local paced = H.events_of(events, "pace")
      assert.equals(1, #paced)
      assert.is_false(paced[1].waited)
      assert.equals("validation_text", paced[1].limit)
      assert.equals("/validation-jobs/text", paced[1].path)
      assert.same({}, clock.sleeps)
    end)

    it("strict: refuses the 4th in an hour at once, with a whole retry_after, sending nothing", function()
      client = new_client({ pace = "strict" })
      for i = 1, 3 do assert(submit(i)) end
      local j, err = client.validation_jobs:submit({ "late@example.com" })
      assert.is_nil(j)
      assert.equals("rate_limited", err.kind)
      assert.is_true(err.paced)
      assert.is_nil(err.status)
      assert.is_true(err.retry_after > 3500 and err.retry_after <= 3600)
      assert.is_true(H.is_integer(err.retry_after))
      assert.equals("POST", err.method)
      assert.equals("/validation-jobs/text", err.path)
      assert.equals(0, err.attempts)
      assert.equals(3, H.count(srv, "POST", P))
      assert.equals(0, #H.events_of(events, "pace"))
      assert.same({}, clock.sleeps)
    end)

    it("a client shared across server resets is not refused: the server's answer counts", function()
      for i = 1, 3 do assert(submit(i)) end
      srv:reset() -- e.g. the next acceptance test, with a fresh strict server
      for i = 4, 6 do
        local j, err = submit(i)
        assert.is_nil(err)
        assert.is_string(j.id)
      end
      assert.equals(3, H.count(srv, "POST", P))
      no_429(P)
      -- only the 4th was over the local count; the count was wrong, so it was
      -- corrected and the 5th and 6th went without a word
      local paced = H.events_of(events, "pace")
      assert.equals(1, #paced)
      assert.is_false(paced[1].waited)
      -- the server's own limit still applies, and its 429 is what comes back
      local _, err = client.validation_jobs:submit({ "seventh@example.com" })
      assert.equals(429, err.status)
      assert.is_nil(err.paced)
      assert.equals(4, H.count(srv, "POST", P))
      assert.same({}, clock.sleeps)
    end)

    it("strict: a client shared across server resets refuses the 4th locally", function()
      client = new_client({ pace = "strict" })
      for i = 1, 3 do assert(submit(i)) end
      srv:reset()
      local _, err = submit(4)
      assert.is_true(err.paced)
      assert.equals(0, H.count(srv, "POST", P))
    end)

    it("waits when max_retry_wait allows it, reports the wait, and the server accepts", function()
      client = new_client({ max_retry_wait = 7200, max_pace_wait = 7200, deadline = 7200 })
      for i = 1, 3 do assert(submit(i)) end
      local j, err = client.validation_jobs:submit({ "late@example.com" })
      assert.is_nil(err)
      assert.is_string(j.id)
      local paced = H.events_of(events, "pace")
      assert.equals(1, #paced)
      assert.equals("validation_text", paced[1].limit)
      assert.equals("POST", paced[1].method)
      assert.equals("/validation-jobs/text", paced[1].path)
      assert.is_true(paced[1].delay > 3500)
      assert.equals(1, #clock.sleeps)
      assert.equals(4, H.count(srv, "POST", P))
      no_429(P)
    end)

    it("with pace = false the server's own 429 comes back as rate_limited", function()
      client = new_client({ pace = false })
      for i = 1, 3 do assert(submit(i)) end
      local _, err = client.validation_jobs:submit({ "late@example.com" })
      assert.equals("rate_limited", err.kind)
      assert.equals(429, err.status)
      assert.is_nil(err.paced)
      assert.is_true(err.retry_after > 3500)
      assert.equals(1, err.attempts)
      assert.equals(4, H.count(srv, "POST", P))
    end)
  end)

  describe("POST /campaigns/{id}/stop (5 per minute per campaign)", function()
    it("takes the wait for the 6th stop of a campaign when max_pace_wait allows it, not for another campaign", function()
      client = new_client({ max_pace_wait = 60 })
      local a = assert(client.campaigns:get(srv:seed_campaign({ status = "scraping", frozen = true })))
      local b = assert(client.campaigns:get(srv:seed_campaign({ status = "scraping", frozen = true })))
      for _ = 1, 5 do assert.is_table((a:stop())) end
      assert.is_table((b:stop()))
      assert.equals(0, #H.events_of(events, "pace"))
      local res = a:stop()
      assert.is_table(res)
      assert.equals("stopped", res.status)
      local paced = H.events_of(events, "pace")
      assert.equals(1, #paced)
      assert.equals(a.id, paced[1].scope)
      assert.is_true(paced[1].delay > 50 and paced[1].delay <= 60)
      assert.equals(6, H.count(srv, "POST", "/api/campaigns/" .. a.id .. "/stop"))
      no_429("/api/campaigns/" .. a.id .. "/stop")
    end)

    it("by default sends the 6th stop (a minute is not a short wait) and honours the server's Retry-After", function()
      local a = assert(client.campaigns:get(srv:seed_campaign({ status = "scraping", frozen = true })))
      local path = "/api/campaigns/" .. a.id .. "/stop"
      for _ = 1, 5 do assert.is_table((a:stop())) end
      local res, err = a:stop()
      assert.is_nil(err)
      assert.equals("stopped", res.status)
      local paced = H.events_of(events, "pace")
      assert.equals(1, #paced)
      assert.is_false(paced[1].waited)
      -- the server said 429 + Retry-After: 60 (within max_retry_wait), so the
      -- stop, which is safe to resend, was retried after that wait
      assert.same({ 200, 200, 200, 200, 200, 429, 200 }, statuses(path))
      assert.equals(1, #clock.sleeps)
      assert.near(60, clock.sleeps[1], 1)
      local retries = H.events_of(events, "retry")
      assert.equals(1, #retries)
      assert.equals("retry_after", retries[1].reason)
    end)

    it("strict: refuses the 6th stop at once", function()
      client = new_client({ pace = "strict" })
      local a = assert(client.campaigns:get(srv:seed_campaign({ status = "scraping", frozen = true })))
      for _ = 1, 5 do assert.is_table((a:stop())) end
      local res, err = a:stop()
      assert.is_nil(res)
      assert.equals("rate_limited", err.kind)
      assert.is_true(err.paced)
      assert.is_true(H.is_integer(err.retry_after))
      assert.is_true(err.retry_after > 50 and err.retry_after <= 60)
      assert.equals("POST", err.method)
      assert.equals("/campaigns/" .. a.id .. "/stop", err.path)
      assert.same({}, clock.sleeps)
      assert.equals(5, H.count(srv, "POST", "/api/campaigns/" .. a.id .. "/stop"))
    end)

    it("returns the server's 429 when even a minute is more than max_retry_wait, and still sends the next", function()
      client = new_client({ max_retry_wait = 10, max_pace_wait = 3600 }) -- the smaller bound wins
      local a = assert(client.campaigns:get(srv:seed_campaign({ status = "scraping", frozen = true })))
      for _ = 1, 5 do assert.is_table((a:stop())) end
      local res, err = a:stop()
      assert.is_nil(res)
      assert.equals("rate_limited", err.kind)
      assert.equals(429, err.status)
      assert.is_nil(err.paced)
      assert.matches("^req_", err.request_id)
      assert.is_true(err.retry_after > 50 and err.retry_after <= 60)
      assert.equals(6, H.count(srv, "POST", "/api/campaigns/" .. a.id .. "/stop"))
      -- the 429's Retry-After is not a short wait either: not waited for, not refused
      local _, again = a:stop()
      assert.equals(429, again.status)
      assert.is_nil(again.paced)
      assert.equals(7, H.count(srv, "POST", "/api/campaigns/" .. a.id .. "/stop"))
      assert.same({}, clock.sleeps)
    end)

    it("strict: refuses at once when even a minute is more than max_retry_wait", function()
      client = new_client({ pace = "strict", max_retry_wait = 10, max_pace_wait = 3600 })
      local a = assert(client.campaigns:get(srv:seed_campaign({ status = "scraping", frozen = true })))
      for _ = 1, 5 do assert.is_table((a:stop())) end
      local res, err = a:stop()
      assert.is_nil(res)
      assert.equals("rate_limited", err.kind)
      assert.is_true(err.paced)
      assert.is_true(err.retry_after > 50 and err.retry_after <= 60)
      assert.equals(5, H.count(srv, "POST", "/api/campaigns/" .. a.id .. "/stop"))
    end)
  end)

  describe("POST /campaigns/{id}/validate (3 per minute per campaign)", function()
    it("paces the 4th validate of a campaign", function()
      client = new_client({ max_pace_wait = 60 })
      local c = assert(client.campaigns:get(srv:seed_campaign({ status = "fully_completed", leads = 10 })))
      assert(c:validate())
      for _ = 1, 2 do c:validate() end -- 409 while running: still counted
      c:validate()
      assert.equals(1, #H.events_of(events, "pace"))
      assert.equals(4, H.count(srv, "POST", "/api/campaigns/" .. c.id .. "/validate"))
      no_429("/api/campaigns/" .. c.id .. "/validate")
    end)
  end)

  describe("POST /list-exports (5 per hour)", function()
    local P = "/api/list-exports"
    local campaign
    before_each(function()
      campaign = assert(client.campaigns:get(srv:seed_campaign({ status = "fully_completed", leads = 4 })))
    end)

    local function export(i)
      return campaign:export({ fileFormat = (i % 2 == 0) and "xlsx" or "csv", emailOnly = i > 2 })
    end

    it("sends the 6th in an hour; the server's 429 comes back with its retry_after", function()
      for i = 1, 5 do assert(export(i)) end
      local e, err = export(6)
      assert.is_nil(e)
      assert.equals("rate_limited", err.kind)
      assert.equals(429, err.status)
      assert.is_nil(err.paced)
      assert.is_true(err.retry_after > 3500 and err.retry_after <= 3600)
      assert.matches("^req_", err.request_id)
      assert.equals(6, H.count(srv, "POST", P))
    end)

    it("strict: refuses the 6th in an hour without sending", function()
      client = new_client({ pace = "strict" })
      campaign = assert(client.campaigns:get(campaign.id))
      for i = 1, 5 do assert(export(i)) end
      local e, err = export(6)
      assert.is_nil(e)
      assert.equals("rate_limited", err.kind)
      assert.is_true(err.paced)
      assert.is_true(H.is_integer(err.retry_after))
      assert.equals("POST", err.method)
      assert.equals("/list-exports", err.path)
      assert.equals(5, H.count(srv, "POST", P))
    end)

    it("strict: counts retried attempts too: a retry uses a slot", function()
      client = new_client({ pace = "strict" })
      campaign = assert(client.campaigns:get(campaign.id))
      srv:fault({ method = "POST", path = P, kind = "status", status = 503 })
      assert(export(1))
      assert.equals(2, H.count(srv, "POST", P))
      for i = 2, 4 do assert(export(i)) end
      local _, err = export(5)
      assert.equals("rate_limited", err.kind)
      assert.equals(5, H.count(srv, "POST", P))
      no_429(P)
    end)

    it("a retried attempt the server did not count: the 5th export is sent and accepted, the count corrected", function()
      srv:fault({ method = "POST", path = P, kind = "status", status = 503 })
      assert(export(1))
      for i = 2, 4 do assert(export(i)) end
      assert.equals(0, #H.events_of(events, "pace"))
      assert(export(5)) -- the local count says 6th, the server says 5th
      assert.equals(1, #H.events_of(events, "pace"))
      local _, err = export(6) -- sent without a pace event: the stale stamps are gone
      assert.equals(1, #H.events_of(events, "pace"))
      assert.equals(429, err.status)
      assert.equals(7, H.count(srv, "POST", P))
    end)

    it("a server 429 refuses nothing locally: the next export is sent and the server answers again", function()
      local other = H.client(srv, { pace = false })
      local oc = assert(other.campaigns:get(campaign.id))
      for i = 1, 5 do assert(oc:export({ fileFormat = (i % 2 == 0) and "xlsx" or "csv", emailOnly = i > 2 })) end
      local _, err = export(1)
      assert.equals(429, err.status)
      assert.equals(6, H.count(srv, "POST", P))
      local _, again = export(2)
      assert.equals("rate_limited", again.kind)
      assert.equals(429, again.status)
      assert.is_nil(again.paced)
      assert.matches("^req_", again.request_id)
      assert.equals(7, H.count(srv, "POST", P))
      local paced = H.events_of(events, "pace")
      assert.equals(1, #paced)
      assert.is_false(paced[1].waited)
    end)

    it("a short Retry-After is waited out before the next export of that scope", function()
      client = new_client({ max_retries = 0 })
      campaign = assert(client.campaigns:get(campaign.id))
      srv:fault({ method = "POST", path = P, kind = "rate_limit", retry_after = 5 })
      local _, err = export(1)
      assert.equals(429, err.status)
      assert.equals(5, err.retry_after)
      assert(export(2))
      local paced = H.events_of(events, "pace")
      assert.equals(1, #paced)
      assert.is_true(paced[1].waited)
      assert.equals(1, #clock.sleeps)
      assert.near(5, clock.sleeps[1], 0.5)
      assert.same({ 429, 201 }, statuses(P))
    end)

    it("strict: learns from the server's 429: after one, nothing more is sent until Retry-After", function()
      client = new_client({ pace = "strict" })
      campaign = assert(client.campaigns:get(campaign.id))
      local other = H.client(srv, { pace = false })
      local oc = assert(other.campaigns:get(campaign.id))
      for i = 1, 5 do assert(oc:export({ fileFormat = (i % 2 == 0) and "xlsx" or "csv", emailOnly = i > 2 })) end
      local _, err = export(1)
      assert.equals(429, err.status)
      assert.equals(6, H.count(srv, "POST", P))
      local _, again = export(2)
      assert.equals("rate_limited", again.kind)
      assert.is_true(again.paced)
      assert.is_true(H.is_integer(again.retry_after))
      assert.equals(6, H.count(srv, "POST", P))
    end)
  end)
end)

-- ---------------------------------------------------------------------------
-- The reference documents each endpoint's window but never a Retry-After: a
-- strict-reference server sends none, and counts the refused requests too.
describe("pacing against a strict-reference server (429 without Retry-After)", function()
  local srv, client, clock, events

  setup(function() srv = H.start({ strict = true }) end)
  teardown(function() if srv then srv:stop() end end)

  local function new_client(opts)
    local c
    c, events, clock = H.observed_client(srv, nil, opts, { srv = srv })
    return c
  end

  before_each(function()
    srv:reset()
    client = new_client()
  end)

  local function statuses(path)
    local out = {}
    for _, r in ipairs(srv:requests({ method = "POST", path = path })) do out[#out + 1] = r.status end
    return out
  end

  local function submit(c, i)
    local j, err = c.validation_jobs:submit({ "user" .. i .. "@example.com" })
    clock.advance(5) -- let the job finish (one active job per account)
    return j, err
  end

  it("an hourly limit is not retried inside its window: rate_limited, retry_after from the ledger", function()
    for i = 1, 3 do assert(submit(client, i)) end
    local j, err = client.validation_jobs:submit({ "late@example.com" })
    assert.is_nil(j)
    assert.equals("rate_limited", err.kind)
    assert.equals(429, err.status)
    assert.is_true(err.retry_after_estimated)
    assert.is_true(H.is_integer(err.retry_after))
    assert.is_true(err.retry_after > 3500 and err.retry_after <= 3600, tostring(err.retry_after))
    assert.matches("no Retry%-After", err.message)
    assert.equals(1, err.attempts)
    assert.same({ 201, 201, 201, 429 }, statuses("/api/validation-jobs/text")) -- no wasted retries
    assert.same({}, clock.sleeps)
  end)

  it("a minute limit is retried once the ledger says the window has room, and the server accepts", function()
    local a = assert(client.campaigns:get(srv:seed_campaign({ status = "scraping", frozen = true })))
    local path = "/api/campaigns/" .. a.id .. "/stop"
    for _ = 1, 5 do assert.is_table((a:stop())) end
    local res, err = a:stop()
    assert.is_nil(err)
    assert.equals("stopped", res.status)
    assert.same({ 200, 200, 200, 200, 200, 429, 200 }, statuses(path))
    assert.equals(1, #clock.sleeps)
    assert.is_true(clock.sleeps[1] >= 59 and clock.sleeps[1] <= 61, tostring(clock.sleeps[1]))
    local retries = H.events_of(events, "retry")
    assert.equals(1, #retries)
    assert.equals("retry_after", retries[1].reason)
  end)

  it("strict pacing: after a 429 it cannot explain, the next call waits a whole window locally", function()
    local other = new_client()
    for i = 1, 3 do assert(submit(other, i)) end -- another process used the account's hour
    other:close()
    client = new_client({ pace = "strict" })
    local _, err = client.validation_jobs:submit({ "mine@example.com" })
    assert.equals("rate_limited", err.kind)
    assert.equals(429, err.status)
    assert.equals(3600, err.retry_after) -- nothing in this client's ledger explains it: one whole window
    local _, again = client.validation_jobs:submit({ "mine@example.com" })
    assert.equals("rate_limited", again.kind)
    assert.is_true(again.paced) -- refused locally, nothing sent
    assert.equals(4, #statuses("/api/validation-jobs/text"))
  end)
end)
