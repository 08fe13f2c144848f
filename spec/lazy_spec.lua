-- Objects fetched by id are decoded lazily (csrc/lazydoc.c): the values a
-- caller reads must be exactly those of the whole-body decode, for both
-- envelope shapes (a bare Campaign, a {success, data} ValidationJob), and
-- refresh must replace them in place.
local H = require("spec.support.helpers")
local scravio = H.scravio
local core = require("scravio.core")

local HASHTAG = { type = "INSTAGRAM_HASHTAG", inputs = { hashtags = { "fitness", "gym" } }, targetEmails = 50 }

describe("lazily decoded objects", function()
  local srv, client

  setup(function() srv = H.start() end)
  teardown(function() if srv then srv:stop() end end)
  before_each(function()
    srv:reset()
    client = H.client(srv)
  end)

  local function same_json(a, b) assert.equals(core.json_encode(a), core.json_encode(b)) end

  it("give a Campaign the same fields as the decoded body", function()
    -- a finished campaign, so nothing in it moves between the two reads
    local id = srv:seed_campaign({ status = "fully_completed", leads = 5, inputs = { hashtags = { "a", "b" } } })
    local c = assert(client.campaigns:get(id))
    local raw = assert(client:request("GET", "/campaigns/" .. id))
    assert.equals(raw._id, c.id)
    assert.equals(raw.status, c.status)
    if math.type then assert.equals("integer", math.type(c.targetEmails)) end
    assert.is_true(scravio.is_array(c.inputs.hashtags))
    assert.equals(c.inputs, c.inputs)
    same_json(raw, c:data())
    for k, v in pairs(raw) do same_json({ v }, { c[k] }) end
  end)

  it("refresh in place, dropping what was decoded before", function()
    local c = assert(client.campaigns:create(HASHTAG))
    local before = c.progressPercentage
    local seen = c.creditSettlement
    srv:advance(3600) -- long enough to finish: a finished campaign stays put
    assert(c:refresh())
    assert.equals("fully_completed", c.status)
    assert.are_not.equal(seen, c.creditSettlement)
    local raw = assert(client:request("GET", "/campaigns/" .. c.id))
    assert.equals(raw.status, c.status)
    assert.equals(raw.progressPercentage, c.progressPercentage)
    assert.is_true(c.progressPercentage >= before)
    same_json(raw, c:data())
  end)

  it("unwrap the ValidationJob envelope", function()
    local submitted = assert(client.validation_jobs:submit({ "a@example.com", "b@example.com" }))
    srv:advance(3600) -- a finished job, so nothing in it moves between the two reads
    local j = assert(client.validation_jobs:get(submitted.id))
    assert.equals("completed", j.status)
    local raw = assert(client:request("GET", "/validation-jobs/" .. submitted.id))
    assert.equals(submitted.id, j.id)
    assert.equals(raw.data.jobId, j.jobId)
    assert.is_nil(j.success)
    -- the presigned downloadUrl is signed anew on every read: compare the rest
    local mine = j:data()
    assert.is_string(mine.downloadUrl)
    mine.downloadUrl, raw.data.downloadUrl = nil, nil
    same_json(raw.data, mine)
  end)

  it("turn a malformed body into a decode error, as before", function()
    local created = assert(client.campaigns:create(HASHTAG))
    for _, kind in ipairs({ "malformed", "truncated" }) do
      srv:fault({ method = "GET", path = "/api/campaigns/" .. created.id, kind = kind, count = -1 })
      local c, err = client.campaigns:get(created.id)
      assert.is_nil(c)
      assert.equals("decode", err.kind)
      assert.equals(200, err.status)
      srv:clear_faults()
    end
    srv:fault({ method = "GET", path = "/api/campaigns/" .. created.id, kind = "malformed",
      body = '[{"_id":"x"}]', count = -1 })
    local c, err = client.campaigns:get(created.id)
    assert.is_nil(c)
    assert.equals("decode", err.kind)
  end)
end)
