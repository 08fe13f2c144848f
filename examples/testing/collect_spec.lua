-- Testing your own code against the fake Scravio server (README "Testing
-- your code"): no account, no credits, nothing leaves 127.0.0.1.
--
--   busted examples/testing/collect_spec.lua
local testing = require("scravio.testing")

-- The code under test: launch a hashtag campaign within a budget ...
local function start_collection(client, hashtags, budget)
  return client.campaigns:launch({
    type = "INSTAGRAM_HASHTAG", inputs = { hashtags = hashtags }, targetEmails = 100,
  }, { max_credits = budget })
end

-- ... and, once it is done, count the leads that have an email.
local function finish(campaign)
  local c, err = campaign:wait{ timeout = 60 }
  if not c then return nil, err end
  local with_email = 0
  for lead in c:leads{ hasEmail = true } do
    if lead.email then with_email = with_email + 1 end
  end
  return { status = c.status, emails = with_email, credits = c.creditSettlement.creditUsed }
end

describe("collecting emails", function()
  local srv, client

  setup(function()
    srv = testing.start() -- raises, saying what to install, without nginx and its Lua module
  end)

  teardown(function()
    if srv then srv:stop() end
  end)

  before_each(function()
    srv:reset()  -- fresh accounts, no campaigns, no faults
    srv:freeze() -- the fake clock moves only with srv:advance
    client = srv:client{ max_retries = 0 }
  end)

  it("launches within the budget and counts the emails found", function()
    local campaign = assert(start_collection(client, { "coffee" }, 1000))
    assert.are.equal("pending", campaign.status)
    srv:advance(60) -- the whole campaign lifecycle, instantly
    local report = assert(finish(campaign))
    assert.are.same({ status = "fully_completed", emails = 100, credits = 200 }, report)
  end)

  it("spends nothing when the estimate is over the budget", function()
    local campaign, err = start_collection(client, { "coffee" }, 10)
    assert.is_nil(campaign)
    assert.are.equal("budget", err.kind)
    assert.are.equal(0, #srv:requests{ method = "POST", path = "/api/campaigns" })
  end)

  it("reports an API outage as an error value", function()
    srv:fault{ method = "POST", path = "/api/campaigns/reserve-preview", kind = "status", status = 503, count = -1 }
    local campaign, err = start_collection(client, { "coffee" }, 1000)
    assert.is_nil(campaign)
    assert.are.equal(503, err.status)
  end)

  it("sees the fixed accounts", function()
    local poor = srv:client{ api_key = srv.poor_api_key }
    assert.are.equal(testing.accounts.poor.credits, assert(poor:me()).credits)
  end)
end)
