-- What goes on the wire and what comes back in an error, byte for byte:
-- headers of a bodyless POST, query value encoding, Retry-After as an
-- integer, and error text that is one line with no echoed credential.
local H = require("spec.support.helpers")
local scravio = H.scravio
local core = require("scravio.core")

describe("on the wire", function()
  local srv, client

  setup(function() srv = H.start() end)
  teardown(function() if srv then srv:stop() end end)
  before_each(function()
    srv:reset()
    client = H.client(srv)
  end)

  it("sends a POST without a body with no Content-Type (stop, validate)", function()
    local id = srv:seed_campaign({ status = "scraping" })
    local c = assert(client.campaigns:get(id))
    assert(c:stop())
    local req = srv:requests({ method = "POST", path = "/api/campaigns/" .. id .. "/stop" })[1]
    assert.is_nil(req.headers["content-type"])
    assert.equals("", req.body or "")
    -- a POST with a JSON body still says so
    assert(client.campaigns:preview({ type = "INSTAGRAM_HASHTAG", inputs = { hashtag = "gym" }, targetEmails = 10 }))
    req = srv:requests({ method = "POST", path = "/api/campaigns/reserve-preview" })[1]
    assert.equals("application/json", req.headers["content-type"])
  end)

  it("builds the cosocket request head the same way", function()
    local build = assert(assert(core.client{ api_key = srv.api_key, base_url = srv.base_url }):api_head_builder())
    local head = build("POST", srv.base_url .. "/campaigns/x/stop", 0, true)
    assert.is_nil(head:lower():find("content-type", 1, true))
    assert.truthy(head:find("Content-Length: 0\r\n", 1, true))
    head = build("POST", srv.base_url .. "/campaigns", 2, true)
    assert.truthy(head:find("Content-Type: application/json\r\n", 1, true))
  end)

  it("keeps commas and colons bare in query values, but not inside list items", function()
    assert(client.campaigns:list({ type = "INSTAGRAM,X", from = "2025-05-01T00:00:00Z" }))
    assert(client:request("GET", "/campaigns", { query = { type = { "INSTAGRAM", "X" }, q = { "a,b" } } }))
    local reqs = srv:requests({ method = "GET", path = "/api/campaigns" })
    assert.equals("from=2025-05-01T00:00:00Z&type=INSTAGRAM,X", reqs[1].query)
    assert.equals("q=a%2Cb&type=INSTAGRAM,X", reqs[2].query)
  end)

  it("gives Retry-After in whole seconds as an integer", function()
    srv:fault({ method = "GET", path = "/api/auth/me", kind = "rate_limit", retry_after = 30 })
    local me, err = H.client(srv, { max_retries = 0 }):me()
    assert.is_nil(me)
    assert.equals("rate_limited", err.kind)
    assert.equals(30, err.retry_after)
    if math.type then assert.equals("integer", math.type(err.retry_after)) end
  end)

  -- (A server echoing the key over HTTP: spec/hostile/answers.lua, both transports.)
  it("core.classify masks a credential an error body echoes, a NUL in front of it too", function()
    local body = string.format('{"success":false,"message":"Invalid key %s\\nsee docs","code":"UNAUTHORIZED",' ..
      '"errors":[{"param":"X-API-Key","msg":"bad key %s","location":"header"}],"requestId":"req_1"}',
      srv.api_key, srv.api_key)
    -- the cosocket transport classifies through core.classify with its client
    local _, e2 = core.classify(401, { ["content-type"] = "application/json" }, body, "GET", "/auth/me", client._core)
    assert.is_nil(tostring(e2):find(srv.api_key, 1, true))
    assert.is_true(scravio.is_error(e2))
    -- a NUL in front of the key does not hide it from the search
    local _, e3 = core.classify(401, { ["content-type"] = "application/json" },
      '{"message":"bad\\u0000 key ' .. srv.api_key .. '","errors":[{"param":"k","msg":"m","location":"' ..
      srv.api_key .. '"}]}', "GET", "/auth/me", client._core)
    assert.is_nil(e3.message:find(srv.api_key, 1, true))
    assert.truthy(e3.message:find("\0", 1, true))
    assert.is_nil(e3.errors[1].location:find(srv.api_key, 1, true))
  end)

  it("classifies for a closed client without raising (it only lends its key for masking)", function()
    local other = H.client(srv)
    local handle = other._core
    handle:close()
    local ok, v = pcall(core.classify, 200, {}, '{"a":1}', "GET", "/x", handle, true)
    assert.is_true(ok)
    assert.equals(1, v:get("a"))
    local ok2, _, err = pcall(core.classify, 500, {}, '{"message":"no"}', "GET", "/x", handle)
    assert.is_true(ok2)
    assert.equals(500, err.status)
  end)
end)
