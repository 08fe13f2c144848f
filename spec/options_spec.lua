--- Issue 11 §1-2: what a user types is checked before anything is sent.
-- Every SDK option table refuses an unknown key or a wrong type (with the
-- option probably meant); API parameters refuse a likely typo of a
-- documented field; a dot-call says to use the colon; and the per-call
-- options of every method (timeout, deadline, max_retries, headers) take
-- effect on the wire.
local H = require("spec.support.helpers")
local options = require("scravio.options")
local receivers = require("scravio.receivers")

local HASHTAG = { type = "INSTAGRAM_HASHTAG", inputs = { hashtag = "fitness" }, targetEmails = 10 }

describe("options", function()
  local srv, client

  setup(function() srv = H.start() end)
  teardown(function() if srv then srv:stop() end end)
  before_each(function()
    srv:reset()
    client = H.client(srv)
    H.fake_clock(client, { srv = srv }) -- retries and waits never really sleep
  end)

  -- Asserts a refusal naming `param` (and `hint` in the message) with nothing sent.
  local function refused(param, hint, value, err)
    assert.is_nil(value)
    assert.is_table(err, "expected nil, err")
    assert.equals("invalid", err.kind)
    assert.equals(param, err.errors[1].param)
    if hint then assert.truthy(err.message:find(hint, 1, true), err.message) end
    assert.equals(0, #srv:requests({}), "a request was sent")
    return err
  end

  local function raised(fn)
    local ok, err = pcall(fn)
    assert.is_false(ok)
    return nil, err
  end

  local function seed_objects()
    local id = srv:seed_campaign{ leads = 30, emails = 20 }
    local c = assert(client.campaigns:get(id))
    local e = assert(c:export{ fileFormat = "csv" })
    local jid = assert(client.validation_jobs:submit({ "a@example.com" })).id
    local j = assert(client.validation_jobs:get(jid))
    srv:clear_requests()
    return c, e, j, id
  end

  describe("the schemas", function()
    it("are plain data: every option table lists its keys and types", function()
      for _, name in ipairs({ "new", "call", "request", "launch", "run", "wait", "download", "submit_file",
        "validate_guard" }) do
        local schema = options.schemas[name]
        assert.is_table(schema, name)
        for key, spec in pairs(schema) do
          assert.is_string(key)
          assert.is_string(spec.type, name .. "." .. key)
          assert.is_string(spec.doc, name .. "." .. key)
        end
      end
      assert.equals("number", options.schemas.call.timeout.type)
      assert.equals("table", options.schemas.call.headers.type)
      assert.equals("boolean", options.schemas.download.overwrite.type)
      assert.equals("number", options.schemas.launch.max_credits.type)
      for _, k in ipairs({ "timeout", "deadline", "max_retries", "headers" }) do
        assert.is_table(options.schemas.launch[k], k) -- launch takes the per-call options too
      end
      -- API.md: every method that makes a request takes timeout, deadline and
      -- max_retries at least (before: download, submit_file and run lacked deadline)
      -- (validate_guard is c:validate's second table: its per-call options
      -- are the first, the call schema)
      for name, schema in pairs(options.schemas) do
        if name ~= "new" and name ~= "validate_guard" then
          for _, k in ipairs({ "timeout", "deadline", "max_retries" }) do
            assert.is_table(schema[k], name .. " lacks " .. k)
          end
        end
      end
    end)

    it("suggest by letter case first, then by a small edit distance", function()
      assert.same({ "max_credits" }, options.nearest("max_credit", options.schemas.launch, options.loose_limit))
      assert.same({ "perPage" }, options.nearest("perpage", { "page", "perPage" }))
      assert.same({ "hashtag", "hashtags" }, options.nearest("hashtagz", { "hashtag", "hashtags" }))
      assert.same({ "from" }, options.nearest("form", { "from", "to" }))      -- a swap is one edit
      assert.same({}, options.nearest("too", { "to" }))                        -- short: case only
      assert.same({ "q" }, options.nearest("Q", { "q" }))
      assert.same({}, options.nearest("statuses", { "status" }))               -- 2 edits from 6 letters
    end)
  end)

  describe("every SDK option table refuses an unknown key before anything is sent", function()
    it("launch: max_credit -> max_credits (the budget check is never lifted)", function()
      refused("max_credit", "did you mean max_credits?",
        client.campaigns:launch(HASHTAG, { max_credit = 10 }))
      refused("max_credits", "max_credits must be a number",
        client.campaigns:launch(HASHTAG, { max_credits = "10" }))
    end)

    it("launch and run: no value of max_credits lifts the budget check (NaN, 0, negative, infinite)", function()
      for _, v in ipairs({ 0 / 0, 0, -5, math.huge }) do
        refused("max_credits", "greater than 0", client.campaigns:launch(HASHTAG, { max_credits = v }))
        refused("max_credits", "greater than 0", client.campaigns:run(HASHTAG, { max_credits = v }))
      end
    end)

    it("launch, run and create: max_credits or confirm put in the params, not after them, is refused", function()
      for _, key in ipairs({ "max_credits", "maxCredits", "confirm" }) do
        local p = {}
        for k, v in pairs(HASHTAG) do p[k] = v end
        p[key] = key == "confirm" and function() return true end or 10
        refused(key, "pass it in the table after the params", client.campaigns:launch(p))
        refused(key, "pass it in the table after the params", client.campaigns:run(p, { out = H.tmpname(".csv") }))
        refused(key, "pass it in the table after the params", client.campaigns:create(p))
        refused(key, "pass it in the table after the params", client.campaigns:preview(p))
      end
    end)

    it("run", function()
      refused("max_credit", "did you mean max_credits?", client.campaigns:run(HASHTAG, { max_credit = 5 }))
      refused("intervall", "did you mean interval?", client.campaigns:run(HASHTAG, { intervall = 1 }))
      refused("progress", "progress must be a boolean", client.campaigns:run(HASHTAG, { progress = "yes" }))
    end)

    it("wait, download, export and the per-call options of the objects", function()
      local c, e, j = seed_objects()
      refused("timout", "did you mean timeout?", c:wait{ timout = 5 })
      refused("timeout", "timeout must be a number, got string", c:wait{ timeout = "5" })
      refused("overwirte", "did you mean overwrite?", e:download(H.tmpname(".csv"), { overwirte = true }))
      refused("overwrite", "overwrite must be a boolean", e:download(H.tmpname(".csv"), { overwrite = "yes" }))
      refused("mode", "mode must be a number or a string", j:download(H.tmpname(".csv"), { mode = true }))
      refused("max_retry", "did you mean max_retries?", e:download_url({ max_retry = 1 }))
      refused("timeout", "timeout must be a number, got string", c:refresh({ timeout = "5" }))
      refused("headers", nil, c:stop({ headers = "X-A: b" }))
      refused("deadlin", "did you mean deadline?", c:validate({ deadlin = 5 }))
      refused("max_retries", "whole number", c:validation_preview({ max_retries = 1.5 }))
      refused("timeout", "greater than 0", j:refresh({ timeout = 0 }))
      refused("timeout", nil, c:export({ fileFormat = "csv" }, { timeout = "5" }))
      refused("timout", "did you mean timeout?", c:leads_page({ perPage = 5 }, { timout = 1 }))
      refused("timout", "did you mean timeout?", raised(function() return c:leads({ perPage = 5 }, { timout = 1 }) end))
    end)

    it("submit_file", function()
      local path = H.tmpname(".csv")
      H.write_file(path, "email\na@example.com\n")
      refused("colum", "did you mean column?", client.validation_jobs:submit_file(path, { colum = "email" }))
      refused("progress", "progress must be a boolean", client.validation_jobs:submit_file(path, { progress = 1 }))
      os.remove(path)
    end)

    it("every service method's per-call options", function()
      local bad = { timeout = "5" }
      refused("timeout", "timeout must be a number, got string", client:me(bad))
      refused("timeout", nil, client.campaigns:get("abc", bad))
      refused("timeout", nil, client.campaigns:preview(HASHTAG, bad))
      refused("timeout", nil, client.campaigns:create(HASHTAG, bad))
      refused("timeout", nil, client.campaigns:list({ perPage = 5 }, bad))
      refused("timeout", nil, raised(function() return client.campaigns:each({}, bad) end))
      refused("timeout", nil, client.validation_jobs:submit({ "a@example.com" }, bad))
      refused("timeout", nil, client.validation_jobs:get("abc", bad))
      refused("timeout", nil, client.validation_jobs:list(nil, bad))
      refused("timeout", nil, client.validation_jobs:request_upload(
        { filename = "a.csv", contentType = "text/csv", sizeBytes = 5 }, bad))
      refused("timeout", nil, client.validation_jobs:process_upload(
        { uploadId = "u", key = "k", filename = "a.csv", idempotencyKey = "i" }, bad))
      refused("timeout", nil, client.validation_jobs:confirm_upload({ parseId = "p", idempotencyKey = "i" }, bad))
      refused("timeout", nil, client.exports:create({ campaignId = "abc" }, bad))
      refused("timeout", nil, client.exports:list(nil, bad))
      refused("timeout", nil, client.credit_transactions:list(nil, bad))
      refused("timeout", nil, raised(function() return client.credit_transactions:each(nil, bad) end))
      refused("max_retrys", "did you mean max_retries?", client.campaigns:get("abc", { max_retrys = 0 }))
    end)

    it("client:request's options (the escape hatch checks its options, not the API's fields)", function()
      refused("querry", "did you mean query?", client:request("GET", "/campaigns", { querry = { page = 1 } }))
      refused("retry", "retry must be a boolean", client:request("POST", "/campaigns", { retry = "yes" }))
      -- ... while its query and body go as given, typos of documented fields included
      assert(client:request("GET", "/campaigns", { query = { perpage = 5 }, headers = { ["X-Note"] = "1" } }))
      local log = srv:requests({ path = "/api/campaigns" })
      assert.equals(1, #log)
      assert.equals("perpage=5", log[1].query)
    end)

    it("extra headers: never credentials, framing headers or CR/LF", function()
      for _, name in ipairs({ "X-API-Key", "authorization", "X-Workspace-Id", "Host", "Content-Length",
        "Transfer-Encoding", "Content-Type", "Connection", "Accept-Encoding", "content-encoding" }) do
        local err = refused("headers", name, client:me({ headers = { [name] = "x" } }))
        assert.is_nil(tostring(err):find(srv.api_key, 1, true))
      end
      refused("headers", "CR, LF", client:me({ headers = { ["X-Trace"] = "a\r\nX-API-Key: stolen" } }))
      refused("headers", "not a valid header name", client:me({ headers = { ["X Trace"] = "a" } }))
      refused("headers", "must be a string", client:me({ headers = { ["X-Trace"] = {} } }))
    end)
  end)

  describe("API parameters", function()
    it("refuse a body string that is not UTF-8 before sending (JSON is UTF-8)", function()
      -- A Latin-1 "café" went out as raw bytes: a strict server answered
      -- "invalid JSON", a lenient one would search for "caf\u{FFFD}".
      local latin1 = { type = "INSTAGRAM_HASHTAG", inputs = { hashtag = "caf\233" }, targetEmails = 10 }
      refused("body", "not valid UTF-8", client.campaigns:preview(latin1))
      refused("body", "not valid UTF-8", client.campaigns:launch(latin1, { max_credits = 1000 }))
      refused("body", "not valid UTF-8", client.validation_jobs:submit({ "jos\233@example.com" }))
      refused("body", "not valid UTF-8", client:request("POST", "/campaigns", { body = { title = "\192\175" } }))
      for _, bad in ipairs({ "\237\160\128", "\244\144\128\128", "\195", "\224\128\175" }) do
        refused("body", "not valid UTF-8", client:request("POST", "/x", { body = { s = bad } }))
      end
      -- well-formed UTF-8 of every length goes out
      local ok = { type = "INSTAGRAM_HASHTAG", inputs = { hashtags = { "caf\195\169", "\226\130\172", "\240\159\152\128" } },
        targetEmails = 10 }
      assert(client.campaigns:preview(ok))
      assert.equals(1, #srv:requests({}))
    end)

    it("refuse a likely typo of a documented field, with the documented name, before sending", function()
      local c = seed_objects()
      refused("hasEmails", "did you mean hasEmail?", c:leads_page({ hasEmails = true }))
      refused("hasEmails", "did you mean hasEmail?", raised(function() return c:leads({ hasEmails = true }) end))
      refused("perpage", "did you mean perPage?", client.campaigns:list({ perpage = 5 }))
      refused("emailonly", "did you mean emailOnly?", c:export({ emailonly = true }))
      refused("emailonly", "did you mean emailOnly?", client.exports:create({ campaignId = c.id, emailonly = true }))
      local p = {}
      for k, v in pairs(HASHTAG) do p[k] = v end
      p.maxCreditcap = 5
      refused("maxCreditcap", "did you mean maxCreditCap?", client.campaigns:launch(p, { max_credits = 100 }))
      refused("maxCreditcap", "did you mean maxCreditCap?", client.campaigns:create(p))
      refused("idempotencykey", "did you mean idempotencyKey?", client.validation_jobs:confirm_upload(
        { parseId = "p", idempotencyKey = "i", idempotencykey = "i" }))
      -- GET /campaigns has no hasEmail: there only perpage is a typo
      local err = refused("perpage", nil, client.campaigns:list({ hasEmails = true, perpage = 5 }))
      assert.equals(1, #err.errors)
    end)

    it("refuse a per-call option put in the API's table, saying where it goes", function()
      local c = seed_objects()
      local err = refused("timeout", "per-call option", c:leads_page({ perPage = 5, timeout = 5 }))
      assert.truthy(err.message:find("table after the query", 1, true), err.message)
      refused("max_retries", "per-call option", client.campaigns:list({ max_retries = 0 }))
      refused("headers", "table after the params", c:export({ fileFormat = "csv", headers = {} }))
    end)

    it("pass any other unknown field through (the API grows)", function()
      local c = seed_objects()
      assert(c:leads_page({ perPage = 5, futureFilter = "x" }))
      local log = srv:requests({ path = "/api/campaigns/" .. c.id .. "/leads" })
      assert.equals(1, #log)
      assert.truthy(log[1].query:find("futureFilter=x", 1, true), log[1].query)
    end)
  end)

  describe("a method called with a dot", function()
    it("says to use the colon, for every service, client and object method, with nothing sent", function()
      local c, e, j = seed_objects()
      local owners = {
        ["client"] = client, ["client.campaigns"] = client.campaigns,
        ["client.validation_jobs"] = client.validation_jobs, ["client.exports"] = client.exports,
        ["client.credit_transactions"] = client.credit_transactions,
        Campaign = c, ValidationJob = j, Export = e,
      }
      local shown = { Campaign = "c", ValidationJob = "j", Export = "e" }
      local checked = 0
      for owner, methods in pairs(receivers.SIGNATURES) do
        local obj = owners[owner]
        for name, sig in pairs(methods) do
          local fn = obj[name]
          assert.is_function(fn, owner .. "." .. name)
          local ok, value, err = pcall(fn, { "params" }) -- the first argument where self belongs
          if not ok then value, err = nil, value end -- iterators raise
          local want = string.format("use %s:%s(%s) (colon)", shown[owner] or owner, name, sig)
          refused("self", want, value, err)
          checked = checked + 1
        end
      end
      assert.is_true(checked >= 40, checked)
      local _, err = client.campaigns.preview(HASHTAG)
      assert.truthy(err.message:find("use client.campaigns:preview(params) (colon)", 1, true), err.message)
    end)
  end)

  describe("per-call options take effect", function()
    it("timeout: a slow answer times out under a per-call timeout shorter than the client's", function()
      local id = srv:seed_campaign{}
      srv:fault{ method = "GET", path = "/campaigns/" .. id, kind = "slow", delay = 3, count = 1 }
      local c, err = client.campaigns:get(id, { timeout = 0.3, max_retries = 0 })
      assert.is_nil(c)
      assert.equals("timeout", err.kind)
      assert.equals(1, err.attempts)
    end)

    it("deadline: bounds the whole call", function()
      local id = srv:seed_campaign{}
      srv:fault{ method = "GET", path = "/campaigns/" .. id, kind = "slow", delay = 3, count = 1 }
      local c, err = client.campaigns:get(id, { deadline = 0.3 })
      assert.is_nil(c)
      assert.equals("timeout", err.kind)
    end)

    it("wait's deadline also cuts off the refresh in flight", function()
      local hook, events = H.recorder()
      local c2 = H.client(srv, { on_event = hook })
      H.fake_clock(c2, { srv = srv })
      local id = srv:seed_campaign{ status = "scraping", frozen = true }
      local c = assert(c2.campaigns:get(id))
      srv:fault{ method = "GET", path = "/campaigns/" .. id, kind = "slow", delay = 3, count = -1 }
      local done, err = c:wait{ deadline = 0.3, interval = 1 }
      assert.is_nil(done)
      assert.equals("timeout", err.kind)
      assert.equals("scraping", err.last_status)
      local cut = 0
      for _, ev in ipairs(H.events_of(events, "response")) do
        if ev.error == "timeout" then cut = cut + 1 end
      end
      assert.is_true(cut >= 1, "the refresh was not cut off at the deadline")
      srv:clear_requests()
      refused("deadline", "greater than 0", c:wait{ deadline = 0 })
    end)

    it("launch's deadline bounds its three requests together", function()
      srv:fault{ method = "POST", path = "/campaigns/reserve-preview", kind = "slow", delay = 0.4 }
      srv:fault{ method = "GET", path = "/auth/me", kind = "slow", delay = 0.4 }
      local c, err = client.campaigns:launch(HASHTAG, { max_credits = 1000, deadline = 0.6, max_retries = 0 })
      assert.is_nil(c)
      assert.equals("timeout", err.kind)
      assert.equals(0, #srv:requests({ method = "POST", path = "/campaigns" })) -- nothing created
    end)

    it("max_retries: replaces the client's for that call only", function()
      srv:fault{ method = "GET", path = "/auth/me", kind = "status", status = 503, count = -1 }
      local _, err = client:me({ max_retries = 0 })
      assert.equals(1, err.attempts)
      _, err = client:me({ max_retries = 4 })
      assert.equals(5, err.attempts)
      _, err = client:me()
      assert.equals(3, err.attempts) -- the client's max_retries = 2
    end)

    it("headers: sent with that call's requests only, beside the credentials", function()
      local c = seed_objects()
      assert(c:refresh({ headers = { ["X-Trace-Id"] = "t-1" } }))
      assert(client.campaigns:preview(HASHTAG, { headers = { ["X-Trace-Id"] = "t-2" } })) -- a JSON body
      assert(client:me())
      local log = srv:requests({})
      assert.equals(3, #log)
      assert.equals("t-1", log[1].headers["x-trace-id"])
      assert.equals("t-2", log[2].headers["x-trace-id"])
      assert.equals("application/json", log[2].headers["content-type"])
      assert.is_nil(log[3].headers["x-trace-id"])
      for _, r in ipairs(log) do assert.equals(srv.api_key, r.headers["x-api-key"]) end
    end)

    it("iterators: every page's request carries them", function()
      local c = seed_objects()
      local n = 0
      for _ in c:leads({ perPage = 7 }, { headers = { ["X-Trace-Id"] = "pages" } }) do n = n + 1 end
      assert.equals(30, n)
      local log = srv:requests({ path = "/api/campaigns/" .. c.id .. "/leads" })
      assert.equals(5, #log)
      for _, r in ipairs(log) do assert.equals("pages", r.headers["x-trace-id"]) end
    end)

    it("workflows pass max_retries and headers to every API request they make", function()
      local _, e = seed_objects()
      local c = assert(client.campaigns:launch(HASHTAG, { max_credits = 1000, headers = { ["X-Run"] = "r" } }))
      local log = srv:requests({})
      assert.equals(3, #log) -- preview, me, create
      for _, r in ipairs(log) do assert.equals("r", r.headers["x-run"]) end
      srv:clear_requests()
      assert(c:wait({ interval = 1, headers = { ["X-Run"] = "w" } }))
      log = srv:requests({})
      assert.is_true(#log >= 1)
      for _, r in ipairs(log) do assert.equals("w", r.headers["x-run"]) end
      assert(e:wait({ interval = 1 }))
      srv:clear_requests()
      local file = H.tmpname(".csv")
      assert(e:download(file, { headers = { ["X-Run"] = "d" } }))
      os.remove(file)
      log = srv:requests({})
      assert.equals(1, #log)
      assert.equals("d", log[1].headers["x-run"])
      for _, r in ipairs(srv:storage_requests({})) do assert.is_nil(r.headers["x-run"]) end -- never to storage
    end)
  end)
end)
