-- Every endpoint of the reference through its documented method, success
-- path and documented failures, against the fake server.
local H = require("spec.support.helpers")
local scravio = H.scravio

local HASHTAG = { type = "INSTAGRAM_HASHTAG", inputs = { hashtags = { "fitness", "gym" } }, targetEmails = 50 }

describe("endpoints", function()
  local srv, client

  setup(function() srv = H.start() end)
  teardown(function() if srv then srv:stop() end end)
  before_each(function()
    srv:reset()
    client = H.client(srv)
  end)


  describe("account", function()
    it("GET /auth/me returns the profile", function()
      local me = assert(client:me())
      assert.is_string(me.id)
      assert.is_boolean(me.isVerified)
      assert.is_boolean(me.shouldMaskEmail)
      assert.is_string(me.scrapingSpeed)
    end)
  end)

  describe("campaigns", function()
    it("previews a reservation without spending", function()
      local before = assert(client:me()).credits
      local p = assert(client.campaigns:preview(HASHTAG))
      assert.equals("INSTAGRAM_HASHTAG", p.type)
      assert.is_number(p.creditReserved)
      assert.equals(50, p.targetEmails)
      assert.equals(before, assert(client:me()).credits)
    end)

    it("creates a campaign that reserves credits and is listed", function()
      local before = assert(client:me()).credits
      local c = assert(client.campaigns:create(HASHTAG))
      assert.equals("Campaign", scravio.kind(c))
      assert.is_string(c.id)
      assert.equals(c._id, c.id)
      assert.equals("INSTAGRAM_HASHTAG", c.type)
      assert.is_true(scravio.is_array(c.inputs.hashtags))
      local after = assert(client:me()).credits
      assert.is_true(after < before)
      local req = srv:requests({ method = "POST", path = "/api/campaigns" })[1]
      assert.truthy(req.body:find('"hashtags":["fitness","gym"]', 1, true))
      local page = assert(client.campaigns:list({ type = "INSTAGRAM" }))
      assert.equals(1, #page.items)
      assert.equals(c.id, page.items[1].id)
    end)

    it("rejects invalid params client-side, sending nothing", function()
      local c, err = client.campaigns:create({ type = "INSTAGRAM_HASHTAG", inputs = {}, targetEmails = 0 })
      assert.is_nil(c)
      assert.equals("invalid", err.kind)
      local params = {}
      for _, e in ipairs(err.errors) do params[e.param] = true end
      assert.is_true(params["inputs.hashtag"])
      assert.is_true(params["targetEmails"])
      assert.equals(0, H.count(srv, "POST", "/api/campaigns"))
    end)

    it("refuses a campaign the balance cannot cover (400, not retried)", function()
      local poor = H.client(srv, { api_key = srv.poor_api_key })
      local c, err = poor.campaigns:create({ type = "X_KEYWORD_SEARCH", inputs = { keyword = "coffee" }, targetEmails = 100000 })
      assert.is_nil(c)
      assert.equals("api", err.kind)
      assert.equals(400, err.status)
      assert.equals("INSUFFICIENT_CREDITS", err.code)
      assert.equals(1, H.count(srv, "POST", "/api/campaigns"))
    end)

    it("gets, refreshes in place and follows the lifecycle on the fake clock", function()
      local c = assert(client.campaigns:create(HASHTAG))
      local same = assert(client.campaigns:get(c.id))
      assert.is_true(same == c)
      srv:advance(3600)
      assert.equals(c, c:refresh())
      assert.equals("fully_completed", c.status)
      assert.equals(100, c.progressPercentage)
      assert.is_true(c.creditSettlement.isSettled)
      assert.is_table(c.phaseState)
    end)

    it("lists with filters, encoded as documented", function()
      srv:seed_campaign({ status = "fully_completed", type = "X_FOLLOWERS" })
      srv:seed_campaign({ status = "failed", type = "INSTAGRAM_HASHTAG" })
      local page = assert(client.campaigns:list({ status = "fully_completed", sortBy = "createdAt", order = "asc", perPage = 10 }))
      assert.equals(1, #page.items)
      assert.equals("fully_completed", page.items[1].status)
      local bad, err = client.campaigns:list({ perPage = 101 })
      assert.is_nil(bad)
      assert.equals("invalid", err.kind)
      assert.equals("perPage", err.errors[1].param)
    end)

    it("pages leads with filters", function()
      local id = srv:seed_campaign({ status = "fully_completed", leads = 40 })
      local c = assert(client.campaigns:get(id))
      local page = assert(c:leads_page({ hasEmail = true, perPage = 5, sortBy = "followerCount", order = "desc" }))
      assert.equals(5, #page.items) -- 40 leads, every one with an email: a full page
      assert.equals(5, page.pagination.perPage)
      for _, lead in ipairs(page.items) do
        assert.is_string(lead.email)
        assert.equals(id, lead.campaignId)
      end
      local prev
      for _, lead in ipairs(page.items) do
        if prev and lead.followerCount ~= scravio.null and prev ~= scravio.null then assert.is_true(prev >= lead.followerCount) end
        prev = lead.followerCount
      end
    end)

    it("masks lead emails for a free account", function()
      local id = srv:seed_campaign({ status = "fully_completed", leads = 5, account = "free" })
      local free = H.client(srv, { api_key = srv.free_api_key })
      local c = assert(free.campaigns:get(id))
      local page = assert(c:leads_page({ hasEmail = true }))
      assert.is_true(#page.items > 0)
      for _, lead in ipairs(page.items) do assert.is_true(lead.emailMasked) end
    end)

    it("stops a running campaign and refunds unused credits", function()
      local c = assert(client.campaigns:create(HASHTAG))
      local res = assert(c:stop())
      assert.equals(c.id, res.campaignId)
      assert.is_true(res.stopRequested)
      assert.is_string(res.status)
      assert.equals(res.status, c.status) -- the object follows the stop's answer
      srv:advance(60)
      c:refresh()
      assert.equals("stopped", c.status)
      local refunds = assert(client.credit_transactions:list({ campaignId = c.id }))
      assert.is_true(#refunds.items >= 2)
    end)

    it("stop is rate limited by the server at 5/min per campaign", function()
      local c = H.client(srv, { pace = false, max_retries = 0 })
      local camp = assert(c.campaigns:create(HASHTAG))
      for _ = 1, 5 do assert(camp:stop()) end
      local res, err = camp:stop()
      assert.is_nil(res)
      assert.equals("rate_limited", err.kind)
      assert.is_number(err.retry_after)
    end)

    it("previews and starts post-campaign validation; a second start is 409", function()
      local id = srv:seed_campaign({ status = "fully_completed", leads = 30 })
      local c = assert(client.campaigns:get(id))
      local pv = assert(c:validation_preview())
      assert.equals(id, pv.campaignId)
      assert.is_true(H.is_integer(pv.emailsToValidate))
      assert.is_boolean(pv.canValidate)
      local started = assert(c:validate())
      assert.equals("validating", started.status)
      local again, err = c:validate()
      assert.is_nil(again)
      assert.equals(409, err.status)
      assert.is_false(err.retryable)
    end)

    it("c:validate(call, {max_credits=, confirm=}) checks the free preview first; refusals POST nothing",
      function()
      local id = srv:seed_campaign({ status = "fully_completed", leads = 20, emails = 10 })
      local c = assert(client.campaigns:get(id))
      local function posts() return #srv:requests({ method = "POST", path = "/api/campaigns/" .. id .. "/validate" }) end
      local before = assert(client:me()).credits
      local res, err = c:validate(nil, { max_credits = 9 })
      assert.is_nil(res)
      assert.equals("budget", err.kind)
      assert.equals(10, err.reserve)
      assert.equals(9, err.max_credits)
      assert.truthy(err.message:find("more than max_credits 9", 1, true), err.message)
      assert.truthy(err.message:find("max_credits = 10", 1, true), err.message)
      for _, answer in ipairs({ false, "yes" }) do
        res, err = c:validate(nil, { max_credits = 10, confirm = function() return answer end })
        assert.is_nil(res)
        assert.equals("cancelled", err.kind)
        assert.truthy(err.message:find("nothing was spent", 1, true), err.message)
      end
      res, err = c:validate(nil, { max_credits = "10" })
      assert.is_nil(res)
      assert.equals("invalid", err.kind)
      assert.equals(0, posts())
      assert.equals(before, assert(client:me()).credits)
      local seen
      res, err = c:validate(nil, { max_credits = 10, confirm = function(pv, info)
        seen = { pv.emailsToValidate, info.reserve, info.max_credits }
        return true
      end })
      assert.is_truthy(res, err)
      assert.equals("validating", res.status)
      assert.same({ 10, 10, 10 }, seen)
      assert.equals(1, posts())
    end)

    it("a guarded c:validate does not POST past the preview's canValidate = false", function()
      -- (it POSTed anyway: the preview's own verdict went unread)
      local c = assert(client.campaigns:create(HASHTAG)) -- still running: the preview says canValidate false
      local vp = assert(c:validation_preview())
      assert.is_false(vp.canValidate)
      local res, err = c:validate(nil, { max_credits = 100000 })
      assert.is_nil(res)
      assert.equals("budget", err.kind)
      assert.truthy(err.message:find("canValidate = false", 1, true), err.message)
      assert.equals(0, #srv:requests({ method = "POST", path = "/api/campaigns/" .. c.id .. "/validate" }))
    end)

    it("refuses validation of a running campaign", function()
      local c = assert(client.campaigns:create(HASHTAG))
      local res, err = c:validate()
      assert.is_nil(res)
      assert.equals("api", err.kind)
      assert.is_true(err.status == 400 or err.status == 409)
    end)
  end)

  describe("validation jobs", function()
    local function sent_emails()
      local log = srv:requests({ method = "POST", path = "/api/validation-jobs/text" })
      assert.equals(1, #log)
      return log[1].body, scravio.json.decode(log[1].body).emails
    end

    it("sends an array exactly as given (order, case, duplicates); the server de-duplicates", function()
      local emails = { "b@example.com", "a@example.com", "A@example.com" }
      local job = assert(client.validation_jobs:submit(emails))
      assert.equals("ValidationJob", scravio.kind(job))
      assert.equals(job.jobId, job.id)
      assert.equals(2, job.totalEmails)
      local raw, sent = sent_emails()
      assert.truthy(raw:find('"emails":["b@example.com","a@example.com","A@example.com"]', 1, true), raw)
      assert.is_true(scravio.is_array(sent))
      assert.same({ "b@example.com", "a@example.com", "A@example.com" }, emails) -- the caller's table untouched
      local page = assert(client.validation_jobs:list({ limit = 5 }))
      assert.equals(1, #page.items)
      assert.equals(job.id, page.jobs[1].id)
      assert.equals(1, page.total)
    end)

    it("sends a comma-separated string as the same string", function()
      local job = assert(client.validation_jobs:submit("x@example.com, Y@example.com,x@EXAMPLE.com"))
      assert.equals(2, job.totalEmails)
      local raw, sent = sent_emails()
      assert.equals("x@example.com, Y@example.com,x@EXAMPLE.com", sent)
      assert.truthy(raw:find('"emails":"x@example.com, Y@example.com,x@EXAMPLE.com"', 1, true), raw)
    end)

    it("sends addresses that do not look valid: classifying them is the job's purpose", function()
      local job, err = client.validation_jobs:submit({ "not-an-email", "ok@example.com", "a@b@c", "@nowhere" })
      assert.is_nil(err)
      assert.equals(4, job.totalEmails)
      local _, sent = sent_emails()
      assert.same({ "not-an-email", "ok@example.com", "a@b@c", "@nowhere" }, sent)
      job, err = client.validation_jobs:submit("nope")
      assert.is_nil(job)
      assert.equals(409, err.status) -- sent (one active job per account), not refused client-side
    end)

    it("allows one active job per account (409)", function()
      assert(client.validation_jobs:submit({ "a@example.com" }))
      local job, err = client.validation_jobs:submit({ "c@example.com" })
      assert.is_nil(job)
      assert.equals(409, err.status)
    end)

    it("gets a job, which completes on the fake clock and then has a download URL", function()
      local job = assert(client.validation_jobs:submit({ "a@example.com", "b@example.com" }))
      local early, err = job:download_url()
      assert.is_nil(early)
      assert.equals(404, err.status)
      srv:advance(3600)
      local fresh = assert(client.validation_jobs:get(job.id))
      assert.equals("completed", fresh.status)
      job:refresh()
      assert.equals("completed", job.status)
      local url, dl = job:download_url()
      assert.is_string(url)
      assert.equals(dl.downloadUrl, url)
      assert.is_not_nil(dl.expiresIn)
    end)

    it("runs the presigned file flow step by step", function()
      local path = H.tmpname(".csv")
      local f = assert(io.open(path, "w"))
      f:write("name,email\nAda,ada@example.com\nBob,bob@example.com\n")
      f:close()
      local size = #H.read_file(path)
      local ticket = assert(client.validation_jobs:request_upload({ filename = "list.csv", contentType = "text/csv", sizeBytes = size }))
      assert.is_string(ticket.uploadUrl)
      assert.is_string(ticket.idempotencyKey)
      assert(client._core:allows_url(ticket.uploadUrl))
      assert(client._transport:upload(ticket.uploadUrl, path, "text/csv"))
      local review = assert(client.validation_jobs:process_upload({ uploadId = ticket.uploadId, key = ticket.key,
        filename = "list.csv", idempotencyKey = ticket.idempotencyKey }))
      assert.equals(2, review.totalEmails)
      local job = assert(client.validation_jobs:confirm_upload({ parseId = review.parseId,
        selectedColumn = review.recommendedColumn, idempotencyKey = ticket.idempotencyKey }))
      assert.equals("ValidationJob", scravio.kind(job))
      assert.equals(2, job.totalEmails)
      -- the confirm is idempotent: the same key returns the same job
      local again = assert(client.validation_jobs:confirm_upload({ parseId = review.parseId,
        selectedColumn = review.recommendedColumn, idempotencyKey = ticket.idempotencyKey }))
      assert.equals(job.id, again.id)
      os.remove(path)
    end)

    it("rejects empty and oversize email lists client-side", function()
      local job, err = client.validation_jobs:submit({})
      assert.is_nil(job)
      assert.equals("invalid", err.kind)
      assert.equals("emails", err.errors[1].param)
      local many = {}
      for i = 1, 5001 do many[i] = "u" .. i .. "@example.com" end
      job, err = client.validation_jobs:submit(many)
      assert.is_nil(job)
      assert.equals("invalid", err.kind)
      assert.equals(0, H.count(srv, "POST", "/api/validation-jobs/text"))
    end)
  end)

  describe("exports", function()
    it("creates, completes on the clock, lists and gives a download URL", function()
      local id = srv:seed_campaign({ status = "fully_completed", leads = 12 })
      local c = assert(client.campaigns:get(id))
      local e = assert(c:export({ emailOnly = true, fileFormat = "csv" }))
      assert.equals("Export", scravio.kind(e))
      assert.equals(e.exportId, e.id)
      local early, err = e:download_url()
      assert.is_nil(early)
      assert.equals(400, err.status)
      srv:advance(3600)
      e:refresh()
      assert.equals("completed", e.status)
      local url, dl = e:download_url()
      assert.is_string(url)
      assert.equals(dl.downloadUrl, url)
      assert.is_string(dl.filename)
      local page = assert(client.exports:list({ campaignId = id }))
      assert.equals(1, #page.items)
      assert.equals(e.id, page.exports[1].id)
      local n = 0
      for x in client.exports:each({ status = "completed" }) do
        n = n + 1
        assert.equals("completed", x.status)
      end
      assert.equals(1, n)
    end)

    it("refresh returns a scravio.Error, never a plain string, when the list cannot be read", function()
      local id = srv:seed_campaign({ status = "fully_completed", leads = 3 })
      local e = assert(assert(client.campaigns:get(id)):export({}))
      srv:fault({ method = "GET", path = "/api/list-exports", kind = "status", status = 200, count = -1,
        content_type = "application/json", body = '{"success":true,"data":{"exports":[7,"x"],'
          .. '"pagination":{"totalCount":2,"totalPages":1,"currentPage":1,"perPage":100}}}' })
      local ok, res, err = pcall(e.refresh, e)
      assert.is_true(ok, tostring(res))
      assert.is_nil(res)
      assert.is_true(scravio.is_error(err), tostring(err))
      assert.equals("decode", err.kind)
      assert.equals("GET", err.method)
      assert.is_string(tostring(err))
      srv:clear_faults()
      -- an export the list no longer holds: a 404-like api error, also an error object
      srv:fault({ method = "GET", path = "/api/list-exports", kind = "status", status = 200, count = -1,
        content_type = "application/json", body = '{"success":true,"data":{"exports":[],'
          .. '"pagination":{"totalCount":0,"totalPages":0,"currentPage":1,"perPage":100}}}' })
      res, err = e:refresh()
      assert.is_nil(res)
      assert.is_true(scravio.is_error(err))
      assert.equals(404, err.status)
    end)

    it("validates the export request client-side", function()
      local e, err = client.exports:create({ campaignId = "abc", fileFormat = "pdf" })
      assert.is_nil(e)
      assert.equals("invalid", err.kind)
      assert.equals("fileFormat", err.errors[1].param)
    end)
  end)

  describe("credit transactions", function()
    it("records reservations in the ledger, filterable by type", function()
      local c = assert(client.campaigns:create(HASHTAG))
      local page = assert(client.credit_transactions:list({ type = { "CAMPAIGN_RESERVATION" }, perPage = 5 }))
      assert.is_true(#page.items >= 1)
      local tx = page.items[1]
      assert.equals("CAMPAIGN_RESERVATION", tx.type)
      assert.equals(c.id, tx.campaignId)
      assert.equals(tx.balanceBefore + tx.amount, tx.balanceAfter)
      assert.is_true(tx.amount < 0)
      assert.equals(page.items, page.transactions)
      local n = 0
      for t in client.credit_transactions:each({ sortBy = "timestamp", order = "asc" }) do
        n = n + 1
        assert.is_string(t.type)
      end
      assert.is_true(n >= 1)
      local req = srv:requests({ method = "GET", path = "/api/credit-transactions" })[1]
      assert.equals("perPage=5&type=CAMPAIGN_RESERVATION", req.query)
    end)
  end)

  describe("escape hatch", function()
    it("client:request reaches any endpoint with the same auth and errors", function()
      local body = assert(client:request("GET", "/campaigns", { query = { perPage = 1 } }))
      assert.is_table(body.items)
      assert.is_table(body.pagination)
      local _, err = client:request("GET", "/no-such-endpoint")
      assert.equals(404, err.status)
    end)
  end)
end)
