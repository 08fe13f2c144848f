-- Client-side pacing of the four documented rate limits:
--   stop 5/min per campaign, validate 3/min per campaign,
--   text validation 3/hour, exports 5/hour.
-- A short wait is taken and reported as a "pace" event; a wait longer than
-- max_retry_wait (or than the call's deadline) returns rate_limited with
-- retry_after at once, without sending. Nothing really waits: the client gets
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

  it("waits a short wait (reporting it) and refuses a long one without waiting", function()
    local c, clock = client_with(60)
    local seen = {}
    for _ = 1, 5 do assert.is_number((pacing.take(c, "stop", "x"))) end
    assert.is_number((pacing.take(c, "stop", "x", function(ev) seen[#seen + 1] = ev end)))
    assert.equals(1, #seen)
    assert.equals("pace", seen[1].type)
    assert.equals("stop", seen[1].limit)
    assert.equals("x", seen[1].scope)
    assert.near(60, seen[1].delay, 0.01)
    assert.equals(1, #clock.sleeps)

    for _ = 1, 2 do pacing.take(c, "validation_text") end
    assert.is_number((pacing.take(c, "validation_text")))
    local ok, err = pacing.take(c, "validation_text", nil, function() error("no pace event expected") end)
    assert.is_nil(ok)
    assert.equals("rate_limited", err.kind)
    assert.is_true(err.paced)
    assert.near(3600, err.retry_after, 0.01)
    assert.equals(1, #clock.sleeps) -- no new sleep
  end)

  it("refuses a wait longer than what is left of the deadline", function()
    local c = client_with(600)
    for _ = 1, 3 do pacing.take(c, "validate", "c") end
    local ok, err = pacing.take(c, "validate", "c", nil, 30)
    assert.is_nil(ok)
    assert.equals("rate_limited", err.kind)
  end)

  it("gives a slot back and honours a server's Retry-After", function()
    local c = client_with(5)
    local stamps = {}
    for i = 1, 5 do stamps[i] = pacing.take(c, "export") end
    assert.is_nil((pacing.take(c, "export")))
    pacing.release(c, "export", nil, stamps[5])
    assert.is_number((pacing.take(c, "export")))
    assert.equals(0, pacing.wait_needed(c, "stop", "y"))
    pacing.block(c, "stop", "y", 100)
    assert.near(100, pacing.wait_needed(c, "stop", "y"), 0.01)
  end)
end)

-- ---------------------------------------------------------------------------
describe("pacing against the fake server (its rate limits on)", function()
  local srv, client, clock, events

  setup(function() srv = H.start() end)
  teardown(function() if srv then srv:stop() end end)

  local function new_client(opts)
    local hook
    hook, events = H.recorder()
    local o = { on_event = hook }
    for k, v in pairs(opts or {}) do o[k] = v end
    local c = H.client(srv, o)
    clock = H.fake_clock(c, { srv = srv })
    return c
  end

  before_each(function()
    srv:reset()
    client = new_client()
  end)

  local function posts(path)
    return #srv:requests({ method = "POST", path = path })
  end

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

    it("refuses the 4th in an hour at once, with retry_after, sending nothing", function()
      for i = 1, 3 do assert(submit(i)) end
      local j, err = client.validation_jobs:submit({ "late@example.com" })
      assert.is_nil(j)
      assert.equals("rate_limited", err.kind)
      assert.is_true(err.paced)
      assert.is_true(err.retry_after > 3500 and err.retry_after <= 3600)
      assert.equals(0, err.attempts)
      assert.equals(3, posts(P))
      assert.equals(0, #H.events_of(events, "pace"))
      assert.same({}, clock.sleeps)
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
      assert.equals(4, posts(P))
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
      assert.equals(4, posts(P))
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
      assert.equals(6, posts("/api/campaigns/" .. a.id .. "/stop"))
      no_429("/api/campaigns/" .. a.id .. "/stop")
    end)

    it("by default refuses the 6th stop at once: a minute is not a short wait", function()
      local a = assert(client.campaigns:get(srv:seed_campaign({ status = "scraping", frozen = true })))
      for _ = 1, 5 do assert.is_table((a:stop())) end
      local res, err = a:stop()
      assert.is_nil(res)
      assert.equals("rate_limited", err.kind)
      assert.is_true(err.paced)
      assert.is_true(err.retry_after > 50 and err.retry_after <= 60)
      assert.same({}, clock.sleeps)
      assert.equals(5, posts("/api/campaigns/" .. a.id .. "/stop"))
    end)

    it("refuses at once when even a minute is more than max_retry_wait", function()
      client = new_client({ max_retry_wait = 10, max_pace_wait = 3600 }) -- the smaller bound wins
      local a = assert(client.campaigns:get(srv:seed_campaign({ status = "scraping", frozen = true })))
      for _ = 1, 5 do assert.is_table((a:stop())) end
      local res, err = a:stop()
      assert.is_nil(res)
      assert.equals("rate_limited", err.kind)
      assert.is_true(err.retry_after > 50 and err.retry_after <= 60)
      assert.equals(5, posts("/api/campaigns/" .. a.id .. "/stop"))
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
      assert.equals(4, posts("/api/campaigns/" .. c.id .. "/validate"))
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

    it("refuses the 6th in an hour without sending", function()
      for i = 1, 5 do assert(export(i)) end
      local e, err = export(6)
      assert.is_nil(e)
      assert.equals("rate_limited", err.kind)
      assert.is_true(err.paced)
      assert.equals(5, posts(P))
    end)

    it("counts retried attempts too: a retry uses a slot", function()
      srv:fault({ method = "POST", path = P, kind = "status", status = 503 })
      assert(export(1))
      assert.equals(2, posts(P))
      for i = 2, 4 do assert(export(i)) end
      local _, err = export(5)
      assert.equals("rate_limited", err.kind)
      assert.equals(5, posts(P))
      no_429(P)
    end)

    it("learns from the server's 429: after one, nothing more is sent until Retry-After", function()
      local other = H.client(srv, { pace = false })
      local oc = assert(other.campaigns:get(campaign.id))
      for i = 1, 5 do assert(oc:export({ fileFormat = (i % 2 == 0) and "xlsx" or "csv", emailOnly = i > 2 })) end
      local _, err = export(1)
      assert.equals(429, err.status)
      assert.equals(6, posts(P))
      local _, again = export(2)
      assert.equals("rate_limited", again.kind)
      assert.is_true(again.paced)
      assert.equals(6, posts(P))
    end)
  end)
end)
