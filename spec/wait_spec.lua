-- c:wait / j:wait / e:wait against the fake server, on a virtual clock: every
-- runtime.sleep advances the fake server's clock instead of sleeping, so the
-- backoff schedule is observable and nothing waits in real time.
local H = require("spec.support.helpers")
require("scravio.workflows")
local core = require("scravio.core")
local progress = require("scravio.progress")
local wait = require("scravio.wait")

local PARAMS = {
  type = "INSTAGRAM_HASHTAG",
  inputs = { hashtag = "fitness" },
  targetEmails = 40,
}

local function params(title)
  local p = {}
  for k, v in pairs(PARAMS) do p[k] = v end
  p.title = title
  return p
end

local virtual_clock = H.virtual_clock

local function close_to(a, b) return math.abs(a - b) < 1e-9 end

-- A stream that records what progress lines write.
local function sink()
  local s = { text = "" }
  function s.write(self, ...)
    for _, x in ipairs({ ... }) do self.text = self.text .. x end
    return self
  end
  function s.flush() end
  return s
end

describe("wait", function()
  local srv, client, clock

  setup(function() srv = H.start() end)
  teardown(function() if srv then srv:stop() end end)

  before_each(function()
    srv:reset()
    clock = virtual_clock(srv)
    client = H.client(srv)
    client._runtime = clock
  end)

  describe("pause schedule", function()
    it("starts at interval and grows x1.5 up to the ceiling", function()
      local got = {}
      for n = 1, 6 do got[n] = wait.pause(n, 2, 8) end
      assert.same({ 2, 3, 4.5, 6.75, 8, 8 }, got)
      assert.equals(30, wait.pause(50))
    end)
  end)

  describe("campaign:wait", function()
    it("polls until fully_completed, reporting each change, without sleeping in real time", function()
      srv:configure{ campaign_seconds = 20 }
      local c = assert(client.campaigns:create(params("wait spec")))
      local seen = {}
      local got, err = c:wait{ interval = 2, max_interval = 5, on_progress = function(x)
        seen[#seen + 1] = { status = x.status, pct = x.progressPercentage }
      end }
      assert.equals(c, got, err and tostring(err))
      assert.equals("fully_completed", c.status)
      assert.equals("fully_completed", seen[#seen].status)
      assert.is_true(#seen >= 3)
      for i = 2, #seen do
        local a, b = seen[i - 1], seen[i]
        assert.is_true(a.status ~= b.status or a.pct ~= b.pct) -- only changes are reported
        assert.is_true(b.pct >= a.pct)
      end
      -- the backoff: 2, 3, 4.5, then the ceiling of 5
      assert.is_true(#clock.slept >= 4)
      assert.is_true(close_to(clock.slept[1], 2) and close_to(clock.slept[2], 3) and close_to(clock.slept[3], 4.5))
      for i = 4, #clock.slept do assert.is_true(close_to(clock.slept[i], 5)) end
      assert.is_true(clock.total >= 20)
    end)

    it("returns nil, timeout when the time is up, naming the last status", function()
      srv:configure{ campaign_seconds = 100000 }
      local c = assert(client.campaigns:create(params("slow")))
      local got, err = c:wait{ timeout = 10, interval = 3 }
      assert.is_nil(got)
      assert.equals("timeout", err.kind)
      assert.is_nil(err.status) -- not an HTTP status
      assert.is_string(err.last_status)
      assert.equals(c.status, err.last_status)
      assert.truthy(err.message:find(err.last_status, 1, true))
      assert.equals(c, err.object)
      assert.is_true(close_to(clock.total, 10)) -- never sleeps past the deadline
    end)

    it("takes a validation job cancelled on the server (either spelling) as final, without polling", function()
      for _, st in ipairs({ "cancelled", "canceled" }) do
        srv:clear_requests()
        local j = assert(core.wrap("ValidationJob", { jobId = "job_x", status = st }, client))
        local got, err = j:wait{ interval = 1, timeout = 3600 }
        assert.equals(j, got, err and tostring(err))
        assert.equals(0, #srv:requests(), st)
      end
    end)

    it("returns a failed campaign as it is (callers check c.status)", function()
      local c = assert(client.campaigns:create(params("broken [fail]")))
      local got, err = c:wait{ interval = 1, timeout = 3600 }
      assert.equals(c, got, err and tostring(err))
      assert.equals("failed", c.status)
    end)

    it("returns a stopped campaign", function()
      srv:configure{ campaign_seconds = 1000 }
      local c = assert(client.campaigns:create(params("to stop")))
      assert(c:stop())
      local got = assert(c:wait{ interval = 1, timeout = 3600 })
      assert.equals("stopped", got.status)
    end)

    it("makes no request for a campaign that already finished", function()
      local c = assert(client.campaigns:create(params("done")))
      srv:advance(3600)
      assert(c:refresh())
      assert.equals("fully_completed", c.status)
      local before = #srv:requests({ method = "GET" })
      local calls = 0
      assert(c:wait{ on_progress = function() calls = calls + 1 end })
      assert.equals(before, #srv:requests({ method = "GET" }))
      assert.equals(1, calls)
      assert.equals(0, #clock.slept)
    end)

    it("survives a transient 500 (the pipeline retries it)", function()
      local c = assert(client.campaigns:create(params("flaky")))
      srv:fault{ method = "GET", path = "/campaigns/" .. c.id, kind = "status", status = 500, count = 1 }
      local got, err = c:wait{ interval = 1, timeout = 3600 }
      assert.equals(c, got, err and tostring(err))
      assert.equals("fully_completed", c.status)
    end)

    it("returns a permanent error at once", function()
      local c = assert(client.campaigns:create(params("gone")))
      srv:fault{ method = "GET", path = "/campaigns/" .. c.id, kind = "status", status = 404, count = -1,
        body = '{"message":"Campaign not found","code":"NOT_FOUND","errors":[]}', content_type = "application/json" }
      local got, err = c:wait{ interval = 1, timeout = 3600 }
      assert.is_nil(got)
      assert.equals("api", err.kind)
      assert.equals(404, err.status)
      assert.equals(0, #clock.slept)
    end)

    it("rejects bad options", function()
      local c = assert(client.campaigns:create(params("opts")))
      local got, err = c:wait{ timeout = "soon" }
      assert.is_nil(got)
      assert.equals("invalid", err.kind)
      got, err = c:wait{ on_progress = 42 }
      assert.is_nil(got)
      assert.equals("invalid", err.kind)
    end)
  end)

  describe("job:wait", function()
    it("waits for a validation job to complete", function()
      local j = assert(client.validation_jobs:submit({ "a@example.com", "b@example.org", "c@example.net" }))
      local got, err = j:wait{ interval = 1, timeout = 600 }
      assert.equals(j, got, err and tostring(err))
      assert.equals("completed", j.status)
      assert.equals(3, j.validCount + j.invalidCount)
    end)

    it("times out", function()
      srv:configure{ job_seconds = 100000 }
      local j = assert(client.validation_jobs:submit({ "a@example.com" }))
      local got, err = j:wait{ interval = 1, timeout = 5 }
      assert.is_nil(got)
      assert.equals("timeout", err.kind)
    end)
  end)

  describe("export:wait", function()
    it("waits for an export to complete; before that its download answers 400", function()
      srv:configure{ export_seconds = 30 }
      local c = assert(client.campaigns:create(params("export me")))
      srv:advance(3600)
      assert(c:refresh())
      local e = assert(c:export{ fileFormat = "csv" })
      local info, err = e:download_url()
      assert.is_nil(info)
      assert.equals("api", err.kind)
      assert.equals(400, err.status)
      local got, werr = e:wait{ interval = 2, timeout = 600 }
      assert.equals(e, got, werr and tostring(werr))
      assert.equals("completed", e.status)
      assert.is_string((assert(e:download_url())))
    end)
  end)

  describe("progress line", function()
    it("draws nothing unless stderr is a terminal", function()
      assert.equals(core.isatty(2) == true, progress.enabled(true))
      assert.is_false(progress.enabled(false))
      assert.is_false(progress.enabled(nil))
    end)

    it("redraws one line in place and ends it with a newline", function()
      local s = sink()
      local line = progress.new("campaign", true, s)
      line:update("c1", "scraping", 40, "12 emails")
      line:update("c1", "done", 100)
      line:done()
      assert.truthy(s.text:find("^\rcampaign c1 scraping %[########%-+%]  40%% 12 emails"))
      assert.truthy(s.text:find("\rcampaign c1 done %[#+%] 100%%", 1))
      assert.equals("\n", s.text:sub(-1))
      assert.is_nil(s.text:find("\n", 1, true) < #s.text and true or nil)
    end)

    it("writes nothing when progress was not asked for", function()
      local s = sink()
      local line = progress.new("campaign", false, s)
      line:update("c1", "scraping", 40)
      line:done()
      assert.equals("", s.text)
    end)
  end)
end)
