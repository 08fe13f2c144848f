-- Errors that say what to do (issue 11, section 4): each is one line that
-- names the cause once and then the fix.
local H = require("spec.support.helpers")
local scravio = H.scravio

local PARAMS = { type = "INSTAGRAM_HASHTAG", inputs = { hashtag = "fitness" }, targetEmails = 40 }

local function count(s, needle)
  local n, i = 0, 1
  while true do
    local a, b = s:find(needle, i, true)
    if not a then return n end
    n, i = n + 1, b + 1
  end
end

describe("error text", function()
  local srv

  setup(function() srv = H.start() end)
  teardown(function() if srv then srv:stop() end end)
  before_each(function() srv:reset() end)

  it("a misspelt campaign type names the closest type, not the list, and nothing is sent", function()
    local c = H.client(srv)
    local before = #srv:requests({})
    local got, err = c.campaigns:launch({ type = "INSTAGRAM_HASHTAGS", inputs = { hashtag = "x" }, targetEmails = 10 },
      { max_credits = 100 })
    assert.is_nil(got)
    assert.equals("invalid", err.kind)
    local text = tostring(err)
    assert.truthy(text:find("did you mean INSTAGRAM_HASHTAG?", 1, true), text)
    assert.is_nil(text:find("X_REPLIERS", 1, true), text)
    assert.is_true(#text < 200, text)
    assert.equals(before, #srv:requests({}))
  end)

  it("an unreachable server is said once, with the attempts made and what to check", function()
    -- a closed port on loopback; the fake clock makes the backoff free
    local c = assert(scravio.new({ api_key = srv.api_key, base_url = "http://127.0.0.1:1/api", max_retries = 2 }))
    H.fake_clock(c)
    local me, err = c:me()
    assert.is_nil(me)
    assert.equals("network", err.kind)
    assert.equals(3, err.attempts)
    local text = tostring(err)
    assert.is_nil(text:find("\n", 1, true))
    assert.equals(1, count(text, "Couldn't connect to server"))
    assert.equals(1, count(text, "127.0.0.1 port 1"))
    assert.truthy(text:find("tried 3 times", 1, true), text)
    assert.truthy(text:find("base_url", 1, true), text)
    -- cause before fix
    assert.is_true(text:find("Couldn't connect", 1, true) < text:find("base_url", 1, true))
  end)

  it("a base_url without /api hints at the path instead of a bare 404", function()
    local bare = srv.base_url:gsub("/api$", "")
    local c = assert(scravio.new({ api_key = srv.api_key, base_url = bare .. "/" }))
    local me, err = c:me()
    assert.is_nil(me)
    assert.equals(404, err.status)
    local text = tostring(err)
    assert.truthy(text:find("/api", 1, true), text)
    assert.truthy(text:find("try " .. srv.base_url, 1, true), text)
    assert.is_nil(text:find("\n", 1, true))
  end)

  it("a real 404 under the right base_url gets no such hint", function()
    local c = H.client(srv)
    local got, err = c.campaigns:get("nope")
    assert.is_nil(got)
    assert.equals(404, err.status)
    assert.is_nil(tostring(err):find("no /api path", 1, true))
  end)

  it("a TLS verification failure says to pass ca_file", function()
    local c = assert(scravio.new({ api_key = srv.api_key, base_url = srv.tls_base_url, max_retries = 0 }))
    local me, err = c:me()
    assert.is_nil(me)
    assert.equals("network", err.kind)
    assert.is_false(err.retryable)
    local text = tostring(err)
    assert.truthy(text:find("ca_file", 1, true), text)
    assert.truthy(text:lower():find("certificate", 1, true), text)
    -- and with it, the same server answers
    local ok = assert(scravio.new({ api_key = srv.api_key, base_url = srv.tls_base_url, ca_file = srv.ca_file }))
    assert(ok:me())
  end)

  describe("a download destination that cannot be written", function()
    local dir, client

    before_each(function()
      dir = H.tmpdir()
      client = H.client(srv)
      H.fake_clock(client, { srv = srv })
    end)
    after_each(function() H.rmdir(dir) end)

    local function completed_export()
      local campaign = assert(client.campaigns:create(PARAMS))
      srv:advance(3600)
      assert(campaign:refresh())
      local e = assert(campaign:export({ fileFormat = "csv" }))
      srv:advance(3600)
      assert(e:wait({ timeout = 0 }))
      return e
    end

    it("names the destination, not the temporary .part file (missing directory)", function()
      local e = completed_export()
      local target = dir .. "/missing/leads.csv"
      local got, err = e:download(target)
      assert.is_nil(got)
      assert.equals("invalid", err.kind)
      assert.truthy(err.message:find("cannot write " .. target .. ": ", 1, true), err.message)
      assert.is_nil(err.message:find(".part", 1, true), err.message)
    end)

    it("names the destination, not the temporary .part file (a directory in the way)", function()
      local e = completed_export()
      local target = dir .. "/taken"
      assert(os.execute("mkdir '" .. target .. "'"))
      local got, err = e:download(target)
      assert.is_nil(got)
      -- refused before any request now (download_spec: "refuses a directory given as the path")
      assert.equals("invalid", err.kind)
      assert.truthy(err.message:find("cannot write " .. target .. ": ", 1, true), err.message)
      assert.is_nil(err.message:find(".part", 1, true), err.message)
      assert.same({ "taken" }, H.listdir(dir)) -- no temporary left behind
    end)
  end)
end)
