-- What comes back reads naturally (issue 11, section 3): JSON null in an API
-- object is nil, download_url() answers the URL, the last answer's request id
-- and rate-limit headers are reachable, and SCRAVIO_LOG=debug logs requests.
local H = require("spec.support.helpers")
local scravio = H.scravio

local HASHTAG = { type = "INSTAGRAM_HASHTAG", inputs = { hashtags = { "fitness", "gym" } }, targetEmails = 50 }

-- A campaign body with nulls at the top, nested in an object, and in arrays.
local NULLY = '{"_id":"cnull1","status":"pending","completedAt":null,"title":null,' ..
  '"creditSettlement":{"creditUsed":null,"creditReserved":10,"warnings":[null,{"code":"X","message":null}]},' ..
  '"inputs":{"hashtags":["a",null,"c"]},"title":"later wins"}'

local function has_key(t, key)
  for k in pairs(t) do if k == key then return true end end
  return false
end

describe("reads", function()
  local srv, client

  setup(function() srv = H.start() end)
  teardown(function() if srv then srv:stop() end end)
  before_each(function()
    srv:reset()
    client = H.client(srv)
  end)

  local function answer(method, path, body, count)
    return srv:fault({ method = method, path = path, kind = "status", status = 200,
      content_type = "application/json", body = body, count = count or 1 })
  end

  describe("JSON null", function()
    it("reads as nil in a Campaign fetched by id (lazily decoded), nested objects included", function()
      answer("GET", "/api/campaigns/cnull1", NULLY)
      local c = assert(client.campaigns:get("cnull1"))
      assert.is_nil(c.completedAt)
      assert.equals("later wins", c.title) -- the last duplicate wins
      assert.is_nil(c.creditSettlement.creditUsed)
      assert.equals(10, c.creditSettlement.creditReserved)
      -- inside arrays null stays scravio.null so positions hold
      assert.equals(scravio.null, c.creditSettlement.warnings[1])
      assert.is_nil(c.creditSettlement.warnings[2].message)
      assert.equals(3, #c.inputs.hashtags)
      assert.equals(scravio.null, c.inputs.hashtags[2])
      local data = c:data()
      assert.is_false(has_key(data, "completedAt"))
      assert.is_false(has_key(data.creditSettlement, "creditUsed"))
      if _VERSION ~= "Lua 5.1" then
        assert.is_false(has_key(c, "completedAt")) -- pairs(c) leaves null fields out
        assert.is_true(has_key(c, "status"))
      end
    end)

    it("reads as nil after refresh, in list items and in a lead without an email", function()
      local id = srv:seed_campaign({ status = "fully_completed", leads = 10, emails = 4 })
      local c = assert(client.campaigns:get(id))
      answer("GET", "/api/campaigns/" .. id, '{"_id":"' .. id .. '","status":"stopped","stoppedAt":null}')
      assert(c:refresh())
      assert.equals("stopped", c.status)
      assert.is_nil(c.stoppedAt)

      answer("GET", "/api/campaigns", '{"items":[{"_id":"x1","status":"pending","title":null}],' ..
        '"pagination":{"totalCount":1,"totalPages":1,"currentPage":1,"perPage":100}}')
      local page = assert(client.campaigns:list())
      assert.equals("x1", page.items[1].id)
      assert.is_nil(page.items[1].title)

      -- leads: `if lead.email` counts the leads that have one
      local with, total = 0, 0
      for lead in c:leads() do
        total = total + 1
        if lead.email then with = with + 1 end
        for _, v in pairs(lead) do assert.are_not.equal(scravio.null, v) end
      end
      assert.equals(10, total)
      assert.equals(4, with)
    end)

    it("reads as nil in plain result tables and client:request answers", function()
      answer("GET", "/api/auth/me", '{"success":true,"data":{"credits":7,"plan":null,"name":"n"}}')
      local me = assert(client:me())
      assert.equals(7, me.credits)
      assert.is_nil(me.plan)
      assert.is_false(has_key(me, "plan"))
      answer("GET", "/api/anything", '{"a":null,"b":[null]}')
      local body = assert(client:request("GET", "/anything"))
      assert.is_nil(body.a)
      assert.equals(scravio.null, body.b[1])
    end)

    it("prints as scravio.null and is still sent as an explicit null", function()
      assert.equals("scravio.null", tostring(scravio.null))
      assert(client:request("POST", "/campaigns/reserve-preview", { body = { type = "INSTAGRAM_HASHTAG",
        inputs = { hashtags = { "a" } }, targetEmails = 10, maxCreditCap = scravio.null } }))
      local sent = srv:requests({ method = "POST", path = "/api/campaigns/reserve-preview" })
      assert.matches('"maxCreditCap":null', sent[#sent].body, 1, true)
    end)

    it("scravio.json.decode reads the same way (documented)", function()
      local v = scravio.json.decode('{"a":null,"b":[1,null]}')
      assert.is_nil(v.a)
      assert.equals(scravio.null, v.b[2])
    end)
  end)

  describe("download_url()", function()
    it("returns the URL string first, then the answer's table, for an Export", function()
      local c = assert(client.campaigns:create(HASHTAG))
      srv:advance(3600)
      local e = assert(c:export({ fileFormat = "csv" }))
      srv:advance(3600)
      assert(e:refresh())
      local url, info = e:download_url()
      assert.equals("string", type(url))
      assert.matches("^http://127%.0%.0%.1:", url)
      assert.equals(url, info.downloadUrl)
      assert.is_string(info.filename)
    end)

    it("returns the URL string first, then the answer's table, for a ValidationJob", function()
      local j = assert(client.validation_jobs:submit({ "a@example.com" }))
      srv:advance(3600)
      local url, info = j:download_url()
      assert.equals("string", type(url))
      assert.equals(url, info.downloadUrl)
      assert.is_not_nil(info.expiresIn)
    end)

    it("is nil, err when the answer carries no URL", function()
      local j = assert(client.validation_jobs:submit({ "a@example.com" }))
      answer("GET", "/api/validation-jobs/" .. j.id .. "/download", '{"success":true,"data":{"expiresIn":60}}')
      local url, err = j:download_url()
      assert.is_nil(url)
      assert.equals("decode", err.kind)
    end)
  end)

  describe("client:last_response()", function()
    it("is nil before any answer, then names the last answer's request id", function()
      assert.is_nil(client:last_response())
      assert(client:me())
      local meta = client:last_response()
      local logged = srv:requests({ method = "GET", path = "/api/auth/me" })
      assert.equals(logged[#logged].requestId, meta.request_id)
      assert.equals(200, meta.status)
      assert.equals("GET", meta.method)
      assert.equals("/auth/me", meta.path)
      assert.equals(1, meta.attempts)
      assert.is_nil(meta.rate_limit)
    end)

    it("carries the rate-limit headers when the server sends them", function()
      local c = assert(client.campaigns:create(HASHTAG))
      srv:advance(3600)
      assert(c:export({ fileFormat = "csv" }))
      local meta = client:last_response()
      assert.equals("POST", meta.method)
      assert.equals(5, meta.rate_limit.limit)
      assert.equals(4, meta.rate_limit.remaining)
      if math.type then assert.equals("integer", math.type(meta.rate_limit.limit)) end
    end)

    it("follows the latest page of an iterator", function()
      local id = srv:seed_campaign({ status = "fully_completed", leads = 5 })
      local c = assert(client.campaigns:get(id))
      for _ in c:leads({ perPage = 2 }) do end
      local logged = srv:requests({ method = "GET", path = "/api/campaigns/" .. id .. "/leads" })
      assert.equals(logged[#logged].requestId, client:last_response().request_id)
    end)

    it("masks the client's own credential in what it copies", function()
      srv:fault({ method = "GET", path = "/api/auth/me", kind = "status", status = 200,
        content_type = "application/json", body = '{"credits":1}',
        headers = { ["X-Request-Id"] = "req_" .. srv.api_key, ["X-RateLimit-Limit"] = srv.api_key } })
      assert(client:me())
      local meta = client:last_response()
      assert.is_nil(meta.request_id:find(srv.api_key, 1, true))
      assert.matches("^req_", meta.request_id)
      assert.is_nil(tostring(meta.rate_limit.limit):find(srv.api_key, 1, true))
    end)
  end)

  describe("the debug log", function()
    local function lines_of(opts)
      local lines = {}
      opts.log = function(line) lines[#lines + 1] = line end
      return H.client(srv, opts), lines
    end

    it("writes one line per request: method, path, status, attempt, ms, request id", function()
      local c, lines = lines_of({})
      assert(c:me())
      assert.equals(1, #lines)
      local rid = c:last_response().request_id
      assert.matches("^scravio: GET /auth/me 200 attempt=1 %d+ms request_id=" .. rid:gsub("%p", "%%%0") .. "$",
        lines[1])
    end)

    it("says each attempt of a retried request, with the failure's kind", function()
      local c, lines = lines_of({ max_retries = 1, max_retry_wait = 0 })
      c._runtime = H.fake_clock(c)
      srv:fault({ method = "GET", path = "/api/auth/me", kind = "status", status = 503, count = 1 })
      assert(c:me())
      assert.equals(2, #lines)
      assert.matches("^scravio: GET /auth/me 503 attempt=1 ", lines[1])
      assert.matches("^scravio: GET /auth/me 200 attempt=2 ", lines[2])
    end)

    it("masks the credential in a logged line", function()
      local c, lines = lines_of({})
      assert(c:request("GET", "/echo/" .. srv.api_key) == nil)
      assert.equals(1, #lines)
      assert.is_nil(lines[1]:find(srv.api_key, 1, true))
      assert.matches("404", lines[1])
    end)

    it("is off by default, refuses an unknown level, and SCRAVIO_LOG=debug turns it on", function()
      local ok, err = scravio.new({ base_url = srv.base_url, api_key = srv.api_key, log = "verbose" })
      assert.is_nil(ok)
      assert.equals("invalid", err.kind)
      assert.equals("log", err.errors[1].param)
      local near
      ok, near = scravio.new({ base_url = srv.base_url, api_key = srv.api_key, lgo = "debug" })
      assert.is_nil(ok)
      assert.matches("did you mean log", near.message, 1, true)
      -- the environment switch, in a child process (stderr captured)
      local script = H.tmpname(".lua")
      H.write_file(script, "local s = require('scravio'); local c = assert(s.new{}); assert(c:me())\n")
      local cmd = string.format("SCRAVIO_LOG=debug SCRAVIO_BASE_URL='%s' SCRAVIO_API_KEY='%s' %s %s 2>&1",
        srv.base_url, srv.api_key, H.child_lua(), script)
      local p = assert(io.popen(cmd))
      local out = p:read("*a")
      p:close()
      os.remove(script)
      assert.matches("scravio: GET /auth/me 200 attempt=1 %d+ms request_id=req_", out)
      assert.is_nil(out:find(srv.api_key, 1, true))
    end)
  end)
end)
