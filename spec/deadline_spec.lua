-- One deadline per call: computed once, it bounds every request, retry,
-- reconcile lookup, storage transfer and pause the call makes (request.lua's
-- deadline/within), and wait{} honours the client's deadline, else its own
-- documented default bound. Everything runs on a virtual clock
-- (H.virtual_clock: time moves only through sleep), so the bounds are checked
-- on that clock and nothing really waits.
local H = require("spec.support.helpers")
require("scravio.workflows")
local request = require("scravio.request")
local wait = require("scravio.wait")

local PARAMS = { type = "INSTAGRAM_HASHTAG", inputs = { hashtag = "fitness" }, targetEmails = 40 }

describe("one deadline", function()
  local srv, clock

  setup(function() srv = H.start() end)
  teardown(function() if srv then srv:stop() end end)

  local function client_with(opts)
    local c = H.client(srv, opts)
    c._runtime = clock
    return c
  end

  before_each(function()
    srv:reset()
    clock = H.virtual_clock(srv)
    -- A wait that never ends would loop forever on a virtual clock: stop it.
    local sleep = clock.sleep
    function clock.sleep(s)
      if clock.total > 100000 then error("slept past any bound: the deadline was ignored") end
      sleep(s)
    end
  end)

  describe("request.deadline / request.within", function()
    it("is now + the call's deadline, else the client's, never later than an enclosing one", function()
      local c = client_with({ deadline = 50 })
      assert.equals(clock.now() + 50, request.deadline(c))
      assert.equals(clock.now() + 5, request.deadline(c, { deadline = 5 }))
      local inner = request.within(c, clock.now() + 20, function()
        return request.deadline(c, { deadline = 100 }), request.deadline(c, { deadline = 3 })
      end)
      assert.equals(clock.now() + 20, inner)
      assert.equals(clock.now() + 50, request.deadline(c)) -- the scope ended with within
      local _, err = request.deadline(c, { deadline = 0 })
      assert.equals("invalid", err.kind)
      c:close()
    end)

    it("a request whose enclosing deadline has passed is not sent", function()
      local c = client_with({})
      srv:clear_requests()
      local me, err = request.within(c, clock.now() - 1, c.me, c)
      assert.is_nil(me)
      assert.equals("timeout", err.kind)
      assert.is_false(err.sent)
      assert.equals(0, #srv:requests({ path = "/api/auth/me" }))
      c:close()
    end)
  end)

  describe("wait{}", function()
    it("honours the client's deadline when no timeout is given", function()
      srv:configure({ campaign_seconds = 1000000 })
      local c = client_with({ deadline = 120 })
      local camp = assert(c.campaigns:create(PARAMS))
      local got, err = camp:wait{ interval = 5, max_interval = 10 }
      assert.is_nil(got)
      assert.equals("timeout", err.kind)
      assert.truthy(err.message:find("the client's deadline", 1, true), err.message)
      assert.is_true(clock.total <= 120 + 1e-9, tostring(clock.total))
      assert.is_true(clock.total >= 110, tostring(clock.total))
      c:close()
    end)

    it("has a documented default bound (wait.DEFAULT_TIMEOUT) a forgotten campaign cannot exceed", function()
      assert.equals(24 * 3600, wait.DEFAULT_TIMEOUT)
      local saved = wait.DEFAULT_TIMEOUT
      finally(function() wait.DEFAULT_TIMEOUT = saved end)
      wait.DEFAULT_TIMEOUT = 300 -- fewer polls; the mechanism is the same
      srv:configure({ campaign_seconds = 1000000 })
      local c = client_with({})
      local camp = assert(c.campaigns:create(PARAMS))
      local got, err = camp:wait{ interval = 30, max_interval = 30 }
      assert.is_nil(got)
      assert.equals("timeout", err.kind)
      assert.truthy(err.message:find("default bound", 1, true), err.message)
      assert.truthy(err.message:find("timeout", 1, true), err.message)
      assert.is_true(clock.total <= 300 + 1e-9)
      c:close()
    end)

    it("timeout bounds the refresh in flight too, and a sub-second one reads as such in the message", function()
      local c = client_with({ timeout = 30 })
      local camp = assert(c.campaigns:create(PARAMS))
      local seen = {}
      local t = c._transport
      c._transport = setmetatable({ send = function(_, ...)
        seen[#seen + 1] = select(5, ...) -- the attempt's timeout
        return t:send(...)
      end }, { __index = t })
      local got, err = camp:wait{ timeout = 0.3, interval = 0.1 }
      assert.is_nil(got)
      assert.equals("timeout", err.kind)
      assert.is_true(#seen >= 1)
      for _, s in ipairs(seen) do assert.is_true(s <= 0.3 + 1e-9, tostring(s)) end -- not the client's 30
      assert.truthy(err.message:find("after 0.3 s", 1, true), err.message) -- before: "after 0 s"
      assert.equals("0.3", wait.seconds(0.3))
      assert.equals("0.05", wait.seconds(0.05))
      assert.equals("12", wait.seconds(12.4))
      assert.equals("3", wait.seconds(3))
      c:close()
    end)

    it("a refresh's retries end by the wait's deadline", function()
      local c = client_with({ max_retries = 10, max_retry_wait = 60 })
      local camp = assert(c.campaigns:create(PARAMS))
      srv:fault({ method = "GET", path = "/api/campaigns/" .. camp.id, kind = "rate_limit", retry_after = 4,
        count = -1 })
      local got, err = camp:wait{ timeout = 10, interval = 1 }
      assert.is_nil(got)
      assert.equals("timeout", err.kind)
      -- before: ten retries of 4 s each inside the first refresh (40 s)
      assert.is_true(clock.total <= 10 + 1e-9, tostring(clock.total))
      c:close()
    end)
  end)

  it("a reconcile lookup gets what is left of the create's deadline, not a fresh one", function()
    local c = client_with({ deadline = 5, max_retries = 3, max_retry_wait = 60 })
    -- 3 s spent on a 429 (refused before processing: resent), then no answer at all
    srv:fault({ method = "POST", path = "/api/campaigns", kind = "rate_limit", retry_after = 3 })
    srv:fault({ method = "POST", path = "/api/campaigns", kind = "reset_after" })
    -- the lookup is refused with a Retry-After of 1 s each time
    srv:fault({ method = "GET", path = "/api/campaigns", kind = "rate_limit", retry_after = 1, count = -1 })
    local camp, err = c.campaigns:create(PARAMS)
    assert.is_nil(camp)
    assert.equals("unknown_outcome", err.kind)
    -- before: the lookup had 5 s of its own and slept 3 x 1 s (6 s in all)
    assert.is_true(clock.total <= 5 + 1e-9, tostring(clock.total))
    assert.is_true(#srv:requests({ method = "GET", path = "/api/campaigns" }) >= 1)
    c:close()
  end)

  describe("the per-call deadline of the workflow methods (download, submit_file, run)", function()
    local function finished_export(c)
      local camp = assert(c.campaigns:create(PARAMS))
      srv:advance(3600)
      assert(camp:refresh())
      local e = assert(camp:export{ fileFormat = "csv" })
      srv:advance(3600)
      assert(e:wait{ timeout = 0 })
      return e
    end

    it("e:download{deadline=} bounds the URL lookups, transfers and retry waits together", function()
      local c = client_with({ max_retries = 5, max_retry_wait = 60 })
      local e = finished_export(c)
      srv:fault({ target = "storage", method = "GET", kind = "rate_limit", retry_after = 4, count = -1 })
      local dir = H.tmpdir()
      finally(function() H.rmdir(dir) end)
      local before = clock.total
      local path, err = e:download(dir .. "/leads.csv", { deadline = 6 })
      assert.is_nil(path)
      assert.equals(429, err.status) -- before: refused as an unknown option (kind invalid)
      assert.is_true(clock.total - before <= 6 + 1e-9, tostring(clock.total - before))
      c:close()
    end)

    it("j:download{deadline=} too", function()
      local c = client_with({ max_retries = 5, max_retry_wait = 60 })
      local j = assert(c.validation_jobs:submit({ "a@example.com", "b@example.com" }))
      srv:advance(3600)
      assert(j:wait{ timeout = 0 })
      srv:fault({ target = "storage", method = "GET", kind = "rate_limit", retry_after = 4, count = -1 })
      local dir = H.tmpdir()
      finally(function() H.rmdir(dir) end)
      local before = clock.total
      local path, err = j:download(dir .. "/v.csv", { deadline = 6 })
      assert.is_nil(path)
      assert.equals(429, err.status)
      assert.is_true(clock.total - before <= 6 + 1e-9, tostring(clock.total - before))
      c:close()
    end)

    it("submit_file{deadline=} bounds the API calls, the PUT and its retries together", function()
      local c = client_with({ max_retries = 5, max_retry_wait = 60 })
      local dir = H.tmpdir()
      finally(function() H.rmdir(dir) end)
      local path = H.write_file(dir .. "/c.csv", "email\na@example.com\n")
      srv:fault({ target = "storage", method = "PUT", kind = "rate_limit", retry_after = 4, count = -1 })
      local job, err = c.validation_jobs:submit_file(path, { deadline = 6 })
      assert.is_nil(job)
      assert.equals(429, err.status)
      assert.is_true(clock.total <= 6 + 1e-9, tostring(clock.total))
      assert.equals(0, #srv:requests({ path = "/api/validation-jobs/file/process" }))
      c:close()
    end)

    it("run{deadline=} bounds the whole run, its waits included", function()
      srv:configure({ campaign_seconds = 1000000 })
      local c = client_with({})
      local camp, err = c.campaigns:run(PARAMS, { max_credits = 100000, deadline = 90, interval = 5,
        max_interval = 10 })
      assert.is_nil(camp)
      assert.equals("timeout", err.kind)
      assert.is_true(clock.total <= 90 + 1e-9, tostring(clock.total))
      assert.is_true(clock.total >= 80, tostring(clock.total))
      c:close()
    end)
  end)

  describe("the per-call timeout of download and submit_file is per attempt of every request", function()
    -- Records the timeout each transport call was given.
    local function recording(c)
      local seen = {}
      local t = c._transport
      c._transport = setmetatable({}, { __index = function(_, k)
        local v = t[k]
        if type(v) ~= "function" then return v end
        return function(_, ...)
          local args = { ... }
          if k == "send" then seen[#seen + 1] = { args[3], args[5] } end -- path, timeout
          if k == "upload" then seen[#seen + 1] = { "(upload)", args[5] } end
          if k == "download" then seen[#seen + 1] = { "(download)", args[4] } end
          return v(t, ...)
        end
      end })
      return seen
    end

    it("submit_file{timeout=}: the ticket, process and confirm attempts, and the PUT", function()
      local c = client_with({ timeout = 30 })
      local seen = recording(c)
      local dir = H.tmpdir()
      finally(function() H.rmdir(dir) end)
      local path = H.write_file(dir .. "/c.csv", "email\na@example.com\n")
      assert(c.validation_jobs:submit_file(path, { timeout = 7 }))
      assert.equals(4, #seen)
      for _, s in ipairs(seen) do
        assert.equals(7, s[2], s[1]) -- before: the API calls got the client's 30
      end
      c:close()
    end)

    it("e:download{timeout=}: the GET .../download attempt and the transfer", function()
      local c = client_with({ timeout = 30 })
      local camp = assert(c.campaigns:create(PARAMS))
      srv:advance(3600)
      assert(camp:refresh())
      local e = assert(camp:export{ fileFormat = "csv" })
      srv:advance(3600)
      assert(e:wait{ timeout = 0 })
      local seen = recording(c)
      local dir = H.tmpdir()
      finally(function() H.rmdir(dir) end)
      assert(e:download(dir .. "/x.csv", { timeout = 7 }))
      assert.equals(2, #seen)
      assert.same({ "/list-exports/" .. e.id .. "/download", 7 }, seen[1])
      assert.same({ "(download)", 7 }, seen[2])
      c:close()
    end)
  end)

  it("storage retries of a download get only what is left of the deadline", function()
    local c = client_with({ max_retries = 2, max_retry_wait = 60 })
    local camp = assert(c.campaigns:create(PARAMS))
    srv:advance(3600)
    assert(camp:refresh())
    local e = assert(camp:export{ fileFormat = "csv" })
    srv:advance(3600)
    assert(e:wait{ timeout = 0 })
    c:close()
    local d = client_with({ deadline = 6, max_retries = 5, max_retry_wait = 60 })
    local e2 = assert(d.exports:list()).items[1]
    srv:fault({ target = "storage", method = "GET", kind = "rate_limit", retry_after = 4, count = -1 })
    local dir = H.tmpdir()
    finally(function() H.rmdir(dir) end)
    local path, err = e2:download(dir .. "/leads.csv")
    assert.is_nil(path)
    assert.equals(429, err.status)
    -- before: five retries of 4 s (20 s) whatever the deadline
    assert.is_true(clock.total <= 6 + 1e-9, tostring(clock.total))
    d:close()
  end)
end)
