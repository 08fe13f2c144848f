-- campaigns:launch (preview, budget and balance checks, confirm, create) and
-- campaigns:run (launch, wait, export, wait, download), against the fake
-- server. Waiting runs on a virtual clock: every runtime.sleep advances the
-- fake server's clock instead of sleeping, so nothing here waits in real time.
local H = require("spec.support.helpers")
require("scravio.workflows")
local workflows = require("scravio.workflows")

local PARAMS = {
  title = "workflow spec",
  type = "INSTAGRAM_HASHTAG",
  inputs = { hashtags = { "fitness", "gym" } },
  targetEmails = 100,
}

local function params(over)
  local p = {}
  for k, v in pairs(PARAMS) do p[k] = v end
  for k, v in pairs(over or {}) do p[k] = v end
  return p
end

local virtual_clock = H.virtual_clock

local function decode(body) return H.scravio.json.decode(body) end

local tmpdir, listdir = H.tmpdir, H.listdir

describe("workflows", function()
  local srv, client, clock

  setup(function() srv = H.start() end)
  teardown(function() if srv then srv:stop() end end)

  before_each(function()
    srv:reset()
    clock = virtual_clock(srv)
    client = H.client(srv)
    client._runtime = clock
  end)

  describe("reservation()", function()
    it("is the caller's maxCreditCap when given, else the largest default cap the preview names", function()
      assert.equals(70, (workflows.reservation({ maxCreditCap = 70 }, { creditReserved = 240, estimatedCredits = 900 })))
      local r, src = workflows.reservation({}, { creditReserved = 240, recommendedMaxCreditCap = 200 })
      assert.equals(240, r)
      assert.equals("creditReserved", src)
      -- estimatedCredits is the reference's "Recommended/default hard cap", recommendedMaxCreditCap
      -- its "recommended reservation": either may be the cap applied (before: creditReserved only)
      r, src = workflows.reservation({}, { creditReserved = 240, estimatedCredits = 300, recommendedMaxCreditCap = 280 })
      assert.equals(300, r)
      assert.equals("estimatedCredits", src)
      assert.equals(310, (workflows.reservation({}, { creditReserved = 240, recommendedMaxCreditCap = 310 })))
      assert.equals(300, (workflows.reservation({}, { recommendedMaxCreditCap = 300, estimatedCredits = 9 })))
      assert.is_nil(workflows.reservation({}, { warnings = {} }))
    end)
  end)

  describe("campaigns:preview", function()
    it("sends the params less the create-only title; other keys go as given", function()
      local p = params({ maxCreditCap = 300, enableEmailValidation = false, enableDeepEmailSearch = true })
      p.inputs = { hashtags = { "fitness" }, countries = { "US" }, futureInput = "kept" }
      local preview = assert(client.campaigns:preview(p))
      assert.is_number(preview.creditReserved)
      local sent = srv:requests({ method = "POST", path = "/campaigns/reserve-preview" })
      assert.equals(1, #sent)
      assert.same({
        type = "INSTAGRAM_HASHTAG",
        inputs = { hashtags = { "fitness" }, countries = { "US" }, futureInput = "kept" },
        targetEmails = 100, maxCreditCap = 300, enableEmailValidation = false, enableDeepEmailSearch = true,
      }, decode(sent[1].body))
      -- the caller's table is untouched
      assert.equals("workflow spec", p.title)
      -- a likely typo of a documented field is refused before anything is sent ...
      local none, err = client.campaigns:preview(params({ maxCreditcap = 5 }))
      assert.is_nil(none)
      assert.equals("invalid", err.kind)
      assert.equals("maxCreditcap", err.errors[1].param)
      assert.truthy(err.message:find("did you mean maxCreditCap?", 1, true), err.message)
      assert.equals(1, #srv:requests({ method = "POST", path = "/campaigns/reserve-preview" }))
      -- ... while any other unknown field goes as given (the API grows)
      assert(client.campaigns:preview(params({ budgetHint = 5 })))
      sent = srv:requests({ method = "POST", path = "/campaigns/reserve-preview" })
      assert.equals(5, decode(sent[2].body).budgetHint)
      assert.is_nil(decode(sent[2].body).title)
    end)

    it("sends inputs lists as arrays and leaves out fields that are absent", function()
      assert(client.campaigns:preview({ type = "INSTAGRAM_HASHTAG", inputs = { hashtags = { "a" } },
        targetEmails = 10, title = "t" }))
      local body = srv:requests({ method = "POST", path = "/campaigns/reserve-preview" })[1].body
      assert.truthy(body:find('"hashtags":["a"]', 1, true))
      assert.same({ type = "INSTAGRAM_HASHTAG", inputs = { hashtags = { "a" } }, targetEmails = 10 }, decode(body))
    end)

    it("create still sends every field the caller gave", function()
      local p = params({ someFutureCreateField = "x" })
      assert(client.campaigns:create(p))
      local cb = decode(srv:requests({ method = "POST", path = "/campaigns" })[1].body)
      assert.equals("workflow spec", cb.title)
      assert.equals("x", cb.someFutureCreateField)
    end)
  end)

  describe("campaigns:launch", function()
    it("previews, checks and creates with the caller's params unchanged (max_credits is never sent)", function()
      local c, preview = client.campaigns:launch(params({ enableEmailValidation = true }), { max_credits = 1000 })
      assert.is_truthy(c, preview)
      assert.equals("Campaign", H.scravio.kind(c))
      assert.is_number(preview.creditReserved)
      local previews = srv:requests({ method = "POST", path = "/campaigns/reserve-preview" })
      local creates = srv:requests({ method = "POST", path = "/campaigns" })
      assert.equals(1, #previews)
      assert.equals(1, #creates)
      local pb, cb = decode(previews[1].body), decode(creates[1].body)
      -- the preview: the documented preview fields only, no title
      assert.same({ type = "INSTAGRAM_HASHTAG", inputs = { hashtags = { "fitness", "gym" } },
        targetEmails = 100, enableEmailValidation = true }, pb)
      -- the create: the same fields plus title, and no maxCreditCap the caller never gave
      assert.same({ title = "workflow spec", type = "INSTAGRAM_HASHTAG",
        inputs = { hashtags = { "fitness", "gym" } }, targetEmails = 100, enableEmailValidation = true }, cb)
      for k, v in pairs(pb) do assert.same(v, cb[k]) end
      assert.is_nil(cb.maxCreditCap)
      assert.is_nil(cb.max_credits)
      -- without a cap the backend caps at the reservation launch checked
      assert.is_true(preview.creditReserved <= 1000)
      assert.equals(preview.creditReserved, c.creditSettlement.creditReserved)
      -- the caller's table is untouched
      assert.is_nil(PARAMS.maxCreditCap)
      assert.is_nil(PARAMS.enableEmailValidation)
    end)

    it("checks the largest default cap when params carry no maxCreditCap (money never exceeds max_credits)",
      function()
      srv:fault({ method = "POST", path = "/api/campaigns/reserve-preview", kind = "malformed", count = -1,
        body = '{"success":true,"requestId":"req_x","data":{"type":"INSTAGRAM_HASHTAG","creditReserved":240,' ..
          '"estimatedCredits":600,"recommendedMaxCreditCap":600}}' })
      local c, err = client.campaigns:launch(params(), { max_credits = 500 })
      assert.is_nil(c) -- before: 240 <= 500 passed, and the server could cap (and charge) at 600
      assert.equals("budget", err.kind)
      assert.equals(600, err.reserve)
      assert.truthy(err.message:find("estimatedCredits", 1, true), err.message)
      assert.truthy(err.message:find("maxCreditCap <= 500", 1, true), err.message)
      assert.equals(0, #srv:requests({ method = "POST", path = "/campaigns" }))
      -- the caller's own cap is what binds: params go unchanged
      c = assert(client.campaigns:launch(params({ maxCreditCap = 500 }), { max_credits = 500 }))
      assert.equals(500, decode(srv:requests({ method = "POST", path = "/campaigns" })[1].body).maxCreditCap)
      assert.is_string(c.id)
    end)

    it("refuses when the preview names no reservation, unless params carry a maxCreditCap", function()
      srv:fault({ method = "POST", path = "/api/campaigns/reserve-preview", kind = "malformed", count = -1,
        body = '{"success":true,"requestId":"req_x","data":{"type":"INSTAGRAM_HASHTAG"}}' })
      for _, opts in ipairs({ { max_credits = 50 }, {} }) do
        local c, err = client.campaigns:launch(params(), opts)
        assert.is_nil(c)
        assert.equals("budget", err.kind)
        assert.truthy(err.message:find("maxCreditCap", 1, true))
      end
      assert.equals(0, #srv:requests({ method = "POST", path = "/campaigns" }))
      -- with a cap in params there is a bound the server enforces: it goes ahead
      local c = assert(client.campaigns:launch(params({ maxCreditCap = 40 }), { max_credits = 50 }))
      assert.equals(40, decode(srv:requests({ method = "POST", path = "/campaigns" })[1].body).maxCreditCap)
      assert.is_string(c.id)
    end)

    it("sends the same maxCreditCap to preview and create when the caller gives one", function()
      local c = client.campaigns:launch(params({ maxCreditCap = 150 }), { max_credits = 200 })
      assert.is_truthy(c)
      local pb = decode(srv:requests({ method = "POST", path = "/campaigns/reserve-preview" })[1].body)
      local cb = decode(srv:requests({ method = "POST", path = "/campaigns" })[1].body)
      assert.equals(150, pb.maxCreditCap)
      assert.equals(150, cb.maxCreditCap)
      assert.is_nil(pb.title)
      assert.equals("workflow spec", cb.title)
    end)

    it("sends the params unchanged when no max_credits is given", function()
      local c, preview = client.campaigns:launch(params())
      assert.is_truthy(c, preview)
      local creates = srv:requests({ method = "POST", path = "/campaigns" })
      assert.equals(1, #creates)
      assert.is_nil(decode(creates[1].body).maxCreditCap)
    end)

    it("refuses over max_credits: err.kind budget, nothing created, nothing spent", function()
      local before = assert(client:me()).credits
      local c, err, preview = client.campaigns:launch(params(), { max_credits = 10 })
      assert.is_nil(c)
      assert.equals("budget", err.kind)
      assert.is_false(err.retryable)
      assert.equals(10, err.max_credits)
      assert.is_true(err.reserve > 10)
      assert.matches("max_credits", err.message)
      assert.is_table(preview)
      assert.equals(err.reserve, preview.creditReserved)
      assert.equals(0, #srv:requests({ method = "POST", path = "/campaigns" }))
      assert.equals(before, assert(client:me()).credits)
      local page = assert(client.campaigns:list())
      assert.equals(0, #page.items)
    end)

    it("refuses a maxCreditCap above max_credits", function()
      local c, err = client.campaigns:launch(params({ maxCreditCap = 500 }), { max_credits = 400 })
      assert.is_nil(c)
      assert.equals("budget", err.kind)
      assert.equals(500, err.reserve)
      assert.equals(0, #srv:requests({ method = "POST", path = "/campaigns" }))
    end)

    it("accepts a maxCreditCap within max_credits even when the estimate is higher, and sends it as given", function()
      local c, preview = client.campaigns:launch(params({ maxCreditCap = 50 }), { max_credits = 60 })
      assert.is_truthy(c, preview)
      local creates = srv:requests({ method = "POST", path = "/campaigns" })
      assert.equals(1, #creates)
      assert.equals(50, decode(creates[1].body).maxCreditCap)
      assert.equals(50, c.creditSettlement.creditReserved)
    end)

    it("refuses over the balance (the low-balance account), creating nothing", function()
      local poor = H.client(srv, { api_key = srv.poor_api_key })
      poor._runtime = clock
      local balance = assert(poor:me()).credits
      local c, err, preview = poor.campaigns:launch(params(), { max_credits = 100000 })
      assert.is_nil(c)
      assert.equals("budget", err.kind)
      assert.equals(balance, err.balance)
      assert.is_true(err.reserve > balance)
      assert.matches("balance", err.message)
      assert.is_table(preview)
      assert.equals(0, #srv:requests({ method = "POST", path = "/campaigns" }))
      assert.equals(balance, assert(poor:me()).credits)
    end)

    it("checks the balance even without max_credits", function()
      local poor = H.client(srv, { api_key = srv.poor_api_key })
      local c, err = poor.campaigns:launch(params())
      assert.is_nil(c)
      assert.equals("budget", err.kind)
      assert.equals(0, #srv:requests({ method = "POST", path = "/campaigns" }))
    end)

    it("asks confirm(preview, info) and cancels on a false answer", function()
      local seen, info_seen
      local c, err, preview = client.campaigns:launch(params(), {
        max_credits = 1000,
        confirm = function(p, info) seen, info_seen = p, info return false end,
      })
      assert.is_nil(c)
      assert.equals("cancelled", err.kind)
      assert.is_table(seen)
      assert.equals(preview, seen)
      assert.equals(seen.creditReserved, info_seen.reserve)
      assert.is_number(info_seen.balance)
      assert.equals(0, #srv:requests({ method = "POST", path = "/campaigns" }))
    end)

    it("tells confirm when the account gets masked emails (a free plan), and only then", function()
      local infos = {}
      local function ask(_, info) infos[#infos + 1] = info return false end
      client.campaigns:launch(params(), { max_credits = 1000, confirm = ask })
      local free = H.client(srv, { api_key = srv.free_api_key })
      free.campaigns:launch(params(), { max_credits = 1000, confirm = ask })
      free:close()
      assert.is_nil(infos[1].masked_emails)
      assert.is_true(infos[2].masked_emails)
    end)

    it("creates only on an explicit true: \"no\", 1 or a forgotten return cancel", function()
      for _, answer in ipairs({ "no", 1, "nil" }) do
        local c, err = client.campaigns:launch(params(), { max_credits = 1000, confirm = function()
          if answer ~= "nil" then return answer end
        end })
        assert.is_nil(c)
        assert.equals("cancelled", err.kind)
        assert.truthy(err.message:find("not true", 1, true), err.message)
      end
      assert.equals(0, #srv:requests({ method = "POST", path = "/campaigns" }))
    end)

    it("creates when confirm answers true", function()
      local calls = 0
      local c = client.campaigns:launch(params(), { confirm = function() calls = calls + 1 return true end })
      assert.is_truthy(c)
      assert.equals(1, calls)
      assert.equals(1, #srv:requests({ method = "POST", path = "/campaigns" }))
    end)

    it("does not ask confirm when the budget already refused", function()
      local calls = 0
      local c, err = client.campaigns:launch(params(), {
        max_credits = 1, confirm = function() calls = calls + 1 return true end,
      })
      assert.is_nil(c)
      assert.equals("budget", err.kind)
      assert.equals(0, calls)
    end)

    it("rejects bad options and bad params before sending anything", function()
      local c, err = client.campaigns:launch(params(), { max_credits = -5 })
      assert.is_nil(c)
      assert.equals("invalid", err.kind)
      c, err = client.campaigns:launch(params(), { confirm = "yes" })
      assert.is_nil(c)
      assert.equals("invalid", err.kind)
      c, err = client.campaigns:launch(params({ targetEmails = 0 }), { max_credits = 100 })
      assert.is_nil(c)
      assert.equals("invalid", err.kind)
      c, err = client.campaigns:launch(params({ title = string.rep("t", 101) }), { max_credits = 1000 })
      assert.is_nil(c)
      assert.equals("invalid", err.kind)
      assert.equals("title", err.errors[1].param)
      assert.equals(0, #srv:requests({ path = "/campaigns/reserve-preview" }))
      assert.equals(0, #srv:requests({ method = "POST", path = "/campaigns" }))
    end)
  end)

  describe("campaigns:run", function()
    it("launches, waits, exports and downloads the leads to `out`", function()
      local dir = tmpdir()
      local out = dir .. "/leads.csv"
      local statuses = {}
      local c, path, bytes = client.campaigns:run(params(), {
        max_credits = 1000, out = out, emailOnly = true, timeout = 600,
        on_progress = function(x) statuses[#statuses + 1] = x.status end,
      })
      assert.is_truthy(c, path)
      assert.equals("fully_completed", c.status)
      assert.equals(out, path)
      local data = assert(H.read_file(out))
      assert.equals(#data, bytes)
      assert.truthy(data:find("email", 1, true))
      assert.same({ "leads.csv" }, listdir(dir)) -- no .part file left behind
      assert.is_true(#statuses >= 1)
      assert.equals("completed", statuses[#statuses]) -- the export's wait reports last
      local ex = srv:requests({ method = "POST", path = "/list-exports" })
      assert.equals(1, #ex)
      assert.is_true(decode(ex[1].body).emailOnly)
      assert.is_true(clock.total > 0) -- it waited, on the virtual clock
      os.remove(out)
      os.remove(dir)
    end)

    it("exports what a campaign stopped half-way collected", function()
      srv:configure{ campaign_seconds = 1000 }
      local out = H.tmpname(".csv")
      local kinds = {}
      local c, path = client.campaigns:run(params(), { out = out, timeout = 3600,
        on_progress = function(x)
          kinds[H.scravio.kind(x)] = true
          if H.scravio.kind(x) == "Campaign" and x.status ~= "stopped" then assert(x:stop()) end
        end })
      assert.is_truthy(c, path)
      assert.equals("stopped", c.status)
      assert.equals(out, path)
      assert.is_true(kinds.Campaign and kinds.Export)
      os.remove(out)
    end)

    it("returns a budget refusal from launch and creates nothing", function()
      local dir = tmpdir()
      local c, err = client.campaigns:run(params(), { max_credits = 5, out = dir .. "/x.csv" })
      assert.is_nil(c)
      assert.equals("budget", err.kind)
      assert.equals(0, #srv:requests({ method = "POST", path = "/campaigns" }))
      assert.same({}, listdir(dir))
      os.remove(dir)
    end)

    it("stops at a failed campaign: CAMPAIGN_FAILED, no export, no file", function()
      local dir = tmpdir()
      local c, err, campaign = client.campaigns:run(params({ title = "doomed [fail]" }),
        { out = dir .. "/x.csv", timeout = 600 })
      assert.is_nil(c)
      assert.equals("api", err.kind)
      assert.equals("CAMPAIGN_FAILED", err.code)
      assert.equals("failed", err.campaign.status)
      assert.equals(err.campaign, campaign)
      assert.equals(0, #srv:requests({ method = "POST", path = "/list-exports" }))
      assert.same({}, listdir(dir))
      os.remove(dir)
    end)

    it("times out with the campaign attached when it does not finish in time", function()
      srv:configure{ campaign_seconds = 100000 }
      local c, err, campaign = client.campaigns:run(params(), { out = H.tmpname(".csv"), timeout = 30 })
      assert.is_nil(c)
      assert.equals("timeout", err.kind)
      assert.equals("Campaign", H.scravio.kind(campaign))
      assert.is_true(clock.total <= 30 + 1e-9)
      assert.equals(0, #srv:requests({ method = "POST", path = "/list-exports" }))
    end)

    it("refuses an out it cannot write before spending anything", function()
      -- The file is written last, after the campaign has spent: a typo in
      -- its directory, or a directory given for the file, is refused first.
      local dir = tmpdir()
      for _, out in ipairs({ dir .. "/missing/leads.csv", dir, dir .. "/" }) do
        local c, err = client.campaigns:run(params(), { max_credits = 1000, out = out })
        assert.is_nil(c, out)
        assert.equals("invalid", err.kind)
        assert.equals("out", err.errors[1].param)
        assert.truthy(err.message:find(out, 1, true), err.message)
      end
      assert.equals(0, #srv:requests({}))
      assert.same({}, listdir(dir))
      os.remove(dir)
    end)

    it("replaces a file at an out the caller named (as e:download(path) does); overwrite = false keeps it",
      function()
      local dir = tmpdir()
      local out = dir .. "/leads.csv"
      H.write_file(out, "precious")
      local c, err = client.campaigns:run(params(), { max_credits = 1000, out = out, overwrite = false })
      assert.is_nil(c)
      assert.equals("invalid", err.kind)
      assert.equals("out", err.errors[1].param)
      assert.truthy(err.message:find("overwrite = true", 1, true), err.message)
      assert.equals(0, #srv:requests({}))
      assert.equals("precious", H.read_file(out))
      local c2, path = client.campaigns:run(params(), { max_credits = 1000, out = out, timeout = 600 })
      assert.is_truthy(c2, path)
      assert.equals(out, path)
      assert.truthy(H.read_file(out):find("email", 1, true))
      os.remove(out)
      os.remove(dir)
    end)

    it("never replaces a file with the default name (leads.csv in the current directory) unless overwrite = true",
      function()
      -- In a child process whose current directory is a fresh one.
      local dir = tmpdir()
      H.write_file(dir .. "/leads.csv", "precious")
      local script = H.write_file(dir .. "/run.lua", string.format([[
        local scravio = require("scravio")
        local c = assert(scravio.new{ base_url = %q, api_key = %q })
        local ok, err = c.campaigns:run({ type = "INSTAGRAM_HASHTAG", inputs = { hashtag = "fitness" },
          targetEmails = 40 }, { max_credits = 1000 })
        io.write(tostring(ok), " ", err and err.kind or "-", " ", err and err.errors[1] and err.errors[1].param or "-")
      ]], srv.base_url, srv.api_key))
      local p = assert(io.popen("cd " .. dir .. " && " .. H.child_lua() .. " " .. script .. " 2>&1"))
      local got = p:read("*a")
      p:close()
      assert.equals("nil invalid out", got)
      assert.equals("precious", H.read_file(dir .. "/leads.csv"))
      assert.equals(0, #srv:requests({ method = "POST" }))
      os.remove(dir .. "/leads.csv")
      os.remove(script)
      os.remove(dir)
    end)

    it("with overwrite = false keeps a file that appeared at out while the campaign ran; the error carries the export",
      function()
      local dir = tmpdir()
      local out = dir .. "/leads.csv"
      local c, err = client.campaigns:run(params(), { max_credits = 1000, out = out, timeout = 600, overwrite = false,
        on_progress = function(x)
          if H.scravio.kind(x) == "Export" and not H.read_file(out) then H.write_file(out, "theirs") end
        end })
      assert.is_nil(c)
      assert.equals("invalid", err.kind)
      assert.equals("out", err.errors[1].param)
      assert.equals("Export", H.scravio.kind(err.export))
      assert.equals("Campaign", H.scravio.kind(err.campaign))
      assert.equals("theirs", H.read_file(out))
      os.remove(out)
      os.remove(dir)
    end)

    it("refuses unknown options before sending anything", function()
      local c, err = client.campaigns:run(params(), { max_credit = 5 })
      assert.is_nil(c)
      assert.equals("invalid", err.kind)
      assert.equals(0, #srv:requests({}))
    end)
  end)
end)
