-- The foundation against the fake server over real HTTP: auth, query
-- encoding, error objects, pagination, hostile ids, key masking.
local H = require("spec.support.helpers")
local scravio = H.scravio

describe("API foundation", function()
  local srv, client

  setup(function()
    srv = H.start()
  end)

  teardown(function()
    if srv then srv:stop() end
  end)

  before_each(function()
    srv:reset()
    client = H.client(srv)
  end)

  local function last_request(method, path)
    local log = srv:requests({ method = method, path = path })
    return log[#log]
  end

  describe("authentication", function()
    it("sends X-API-Key, the user agent and no bearer header", function()
      local me = assert(client:me())
      assert.is_string(me.email)
      local req = last_request("GET", "/api/auth/me")
      assert.equals(srv.api_key, req.headers["x-api-key"])
      assert.is_nil(req.headers["authorization"])
      assert.truthy(req.headers["user-agent"]:match("^scravio%-lua/%d+%.%d+%.%d+ %(.+; libcurl/[%d.]+%)$"))
    end)

    it("sends Authorization: Bearer and X-Workspace-Id when configured", function()
      local c = H.client(srv, { access_token = srv.access_token, workspace_id = "ws_42" })
      assert(c:me())
      local req = last_request("GET", "/api/auth/me")
      assert.equals("Bearer " .. srv.access_token, req.headers["authorization"])
      assert.is_nil(req.headers["x-api-key"])
      assert.equals("ws_42", req.headers["x-workspace-id"])
    end)

    it("refuses api_key and access_token given together (pass one); SCRAVIO_API_KEY plus a token uses the token",
      function()
      local c, err = scravio.new({ base_url = srv.base_url, api_key = srv.api_key, access_token = srv.access_token })
      assert.is_nil(c) -- before: the key was silently dropped
      assert.equals("invalid", err.kind)
      assert.equals("api_key", err.errors[1].param)
      assert.truthy(err.message:find("pass one", 1, true), err.message)
      assert.is_nil(tostring(err):find(srv.api_key, 1, true))
      local real_getenv = os.getenv
      os.getenv = function(name) -- luacheck: ignore 122
        if name == "SCRAVIO_API_KEY" then return srv.api_key end
        return real_getenv(name)
      end
      c, err = scravio.new({ base_url = srv.base_url, access_token = srv.access_token })
      os.getenv = real_getenv -- luacheck: ignore 122
      assert.is_nil(err)
      assert.equals("access_token", c:info().auth)
      assert(c:me())
      local req = last_request("GET", "/api/auth/me")
      assert.equals("Bearer " .. srv.access_token, req.headers["authorization"])
      assert.is_nil(req.headers["x-api-key"])
    end)

    describe("environment variables", function()
      local real_getenv = os.getenv
      local env
      before_each(function()
        env = {}
        os.getenv = function(name) -- luacheck: ignore 122
          if env[name] ~= nil then return env[name] end
          return real_getenv(name)
        end
      end)
      after_each(function() os.getenv = real_getenv end) -- luacheck: ignore 122

      it("an empty SCRAVIO_BASE_URL counts as unset", function()
        env.SCRAVIO_BASE_URL = ""
        local c, err = scravio.new({ api_key = "sk_live_env_check_000000" })
        assert.is_nil(err)
        assert.equals("https://api.scravio.com/api", c:info().base_url)
        env.SCRAVIO_BASE_URL = srv.base_url
        c = assert(scravio.new({ api_key = srv.api_key }))
        assert.equals(srv.base_url, c:info().base_url)
      end)

      it("an empty SCRAVIO_API_KEY counts as unset", function()
        local core = require("scravio.core")
        local real_client, given = core.client, nil
        core.client = function(o) given = o return real_client(o) end
        env.SCRAVIO_API_KEY = ""
        local c, err = scravio.new({ base_url = srv.base_url })
        core.client = real_client
        assert.is_nil(c)
        assert.equals("invalid", err.kind)
        assert.equals("api_key", err.errors[1].param)
        assert.matches("no credentials", err.errors[1].msg)
        assert.is_nil(given.api_key)
        env.SCRAVIO_API_KEY = srv.api_key
        c = assert(scravio.new({ base_url = srv.base_url }))
        assert(c:me())
        assert.equals(srv.api_key, last_request("GET", "/api/auth/me").headers["x-api-key"])
      end)
    end)

    it("returns integers as integers", function()
      local me = assert(client:me())
      assert.is_true(H.is_integer(me.credits))
      assert.is_true(H.is_integer(me.concurrentCampaignLimit))
    end)

    it("answers a bad key with a 401 error object", function()
      local c = H.client(srv, { api_key = "sk_live_wrong_key_0000000000" })
      local me, err = c:me()
      assert.is_nil(me)
      assert.is_true(scravio.is_error(err))
      assert.equals("api", err.kind)
      assert.equals(401, err.status)
      assert.is_string(err.code)
      assert.matches("^req_", err.request_id)
      assert.is_false(err.retryable)
      assert.equals(1, err.attempts)
      assert.falsy(tostring(err):find("sk_live_wrong_key", 1, true))
    end)
  end)

  describe("query encoding", function()
    it("sends page=2, never 2.0, with sorted keys and comma-joined lists", function()
      for _ = 1, 3 do srv:seed_campaign({ status = "fully_completed" }) end
      assert(client.campaigns:list({ page = 2.0, perPage = 1, type = { "INSTAGRAM", "X" }, order = "desc" }))
      local req = last_request("GET", "/api/campaigns")
      assert.equals("order=desc&page=2&perPage=1&type=INSTAGRAM,X", req.query)
    end)

    it("client:request splits a query string off the path and merges it under opts.query", function()
      for _ = 1, 7 do srv:seed_campaign({ status = "fully_completed" }) end
      local body = assert(client:request("GET", "/campaigns?page=2&perPage=5"))
      local req = last_request("GET", "/api/campaigns")
      assert.equals("/api/campaigns", req.raw_path or req.path)
      assert.equals("page=2&perPage=5", req.query)
      assert.equals(2, body.pagination.currentPage)
      assert.equals(2, #body.items)

      assert(client:request("GET", "/campaigns?page=2&perPage=5", { query = { perPage = 3, order = "asc" } }))
      assert.equals("order=asc&page=2&perPage=3", last_request("GET", "/api/campaigns").query)
    end)

    it("client:request percent-decodes the query string's values once, keeps '+' and lists", function()
      client:request("GET", "/campaigns?note=a%20b+c&type=INSTAGRAM,X&empty=&flag&%6Eame=%2F")
      local req = last_request("GET", "/api/campaigns")
      assert.equals("/api/campaigns", req.raw_path or req.path)
      assert.equals("empty=&flag=&name=%2F&note=a%20b%2Bc&type=INSTAGRAM,X", req.query)
    end)

    it("sends booleans as true/false", function()
      local id = srv:seed_campaign({ status = "fully_completed", leads = 3 })
      local c = assert(client.campaigns:get(id))
      assert(c:leads_page({ hasEmail = true, perPage = 2 }))
      local req = last_request("GET", "/api/campaigns/" .. id .. "/leads")
      assert.equals("hasEmail=true&perPage=2", req.query)
    end)
  end)

  describe("misuse and closed clients", function()
    it("a closed client answers nil, err (kind invalid) and sends nothing", function()
      local c = H.client(srv)
      local camp = assert(c.campaigns:get(srv:seed_campaign({ status = "fully_completed", leads = 2 })))
      c:close()
      local before = #srv:requests({})
      local v, err = c:me()
      assert.is_nil(v)
      assert.equals("invalid", err.kind)
      assert.truthy(err.message:find("closed", 1, true))
      local ok, r, rerr = pcall(camp.refresh, camp)
      assert.is_true(ok)
      assert.is_nil(r)
      assert.equals("invalid", rerr.kind)
      assert.equals(before, #srv:requests({}))
    end)

    it("c:export with a non-table is an error value", function()
      local camp = assert(client.campaigns:get(srv:seed_campaign({ status = "fully_completed", leads = 2 })))
      local e, err = camp:export("csv")
      assert.is_nil(e)
      assert.equals("invalid", err.kind)
      assert.equals("opts", err.errors[1].param)
    end)

    it("info() gives whole seconds and sizes as integers; job pages always say perPage", function()
      local info = client:info()
      assert.is_true(H.is_integer(info.timeout))
      assert.is_true(H.is_integer(info.max_response_bytes))
      local page = assert(client.validation_jobs:list())
      assert.equals(10, page.pagination.perPage)
      assert.equals(25, assert(client.validation_jobs:list({ limit = 25 })).pagination.perPage)
    end)
  end)

  describe("client:request misuse", function()
    it("comes back as nil, err (kind invalid) and sends nothing", function()
      local before = #srv:requests({})
      for _, args in ipairs({ { "FOO BAR", "/auth/me" }, { nil, "/auth/me" }, { 42, "/auth/me" },
        { "GET", nil }, { "GET", "" }, { "GET", "/auth/me", "opts" } }) do
        local ok, v, err = pcall(client.request, client, args[1], args[2], args[3])
        assert.is_true(ok)
        assert.is_nil(v)
        assert.equals("invalid", err.kind)
        assert.is_string(err.errors[1].param)
      end
      assert.equals(before, #srv:requests({}))
    end)
  end)

  describe("kind = \"invalid\" errors (nothing sent)", function()
    it("carry the method and path of the call when it maps to one endpoint", function()
      local c = assert(client.campaigns:create({ type = "INSTAGRAM_HASHTAG", inputs = { hashtag = "x" },
        targetEmails = 10 }))
      local before = #srv:requests({})
      local cases = {
        { "GET", "/campaigns/{id}", client.campaigns:get(nil) }, -- before: no method, no path
        { "GET", "/campaigns/{id}", client.campaigns:get("x", { timeot = 5 }) },
        { "POST", "/campaigns", client.campaigns:create({}) },
        { "GET", "/validation-jobs", client.validation_jobs:list({ perPage = 5 }) },
        { "GET", "/auth/me", client:me({ bogus = 1 }) },
        { "GET", "/campaigns/" .. c.id, c:refresh({ bogus = 1 }) },
        { "POST", "/campaigns/" .. c.id .. "/stop", c:stop({ bogus = 1 }) },
        { "POST", "/list-exports", c:export({ fileFormat = "pdf" }) },
        { "GET", "/auth/me", client:request("get", "/auth/me", { bogus = 1 }) },
      }
      for i, case in ipairs(cases) do
        local v, err = case[3], case[4]
        assert.is_nil(v, i)
        assert.equals("invalid", err.kind, i)
        assert.equals(case[1], err.method, i)
        assert.equals(case[2], err.path, i)
      end
      assert.equals(before, #srv:requests({}))
      -- a successful call's results pass through untouched, their count too
      assert.equals(1, select("#", client:me()))
    end)
  end)

  describe("error objects", function()
    it("400 carries the API code, the parameter at fault and the request id", function()
      local res, err = client:request("POST", "/campaigns", { body = { type = "INSTAGRAM_HASHTAG", inputs = {}, targetEmails = 10 } })
      assert.is_nil(res)
      assert.equals("api", err.kind)
      assert.equals(400, err.status)
      assert.equals("VALIDATION_ERROR", err.code)
      assert.is_table(err.errors[1])
      assert.matches("^inputs%.", err.errors[1].param)
      assert.matches("^req_", err.request_id)
      assert.equals("POST", err.method)
      assert.equals("/campaigns", err.path)
    end)

    it("a page the pager cannot read names the real path, ids filled in", function()
      local id = srv:seed_campaign({ status = "fully_completed", leads = 3 })
      local c = assert(client.campaigns:get(id))
      srv:fault({ method = "GET", path = "/api/campaigns/" .. id .. "/leads", kind = "malformed",
        body = '{"success":true,"data":{"nothing":"here"}}', count = -1 })
      local page, err = c:leads_page()
      assert.is_nil(page)
      assert.equals("GET", err.method)
      assert.equals("/campaigns/" .. id .. "/leads", err.path)
      local ok, raised = pcall(function() for _ in c:leads() do end end)
      assert.is_false(ok)
      assert.equals("/campaigns/" .. id .. "/leads", raised.path)
    end)

    it("404 for an unknown id", function()
      local c, err = client.campaigns:get("000000000000000000000000")
      assert.is_nil(c)
      assert.equals(404, err.status)
      assert.equals("api", err.kind)
      assert.matches("^req_", err.request_id)
    end)

    it("429 is rate_limited with retry_after", function()
      srv:fault({ method = "GET", path = "/api/auth/me", kind = "rate_limit", retry_after = 120 })
      local me, err = client:me()
      assert.is_nil(me)
      assert.equals("rate_limited", err.kind)
      assert.equals(429, err.status)
      assert.equals(120, err.retry_after)
      assert.is_true(err.retryable)
    end)

    it("500 with an HTML body is an api error with the status, retried then reported", function()
      srv:fault({ method = "GET", path = "/api/auth/me", kind = "status", status = 500, count = 10 })
      local c = H.client(srv, { max_retries = 1 })
      local me, err = c:me()
      assert.is_nil(me)
      assert.equals("api", err.kind)
      assert.equals(500, err.status)
      assert.equals(2, err.attempts)
      assert.is_true(err.retryable)
      assert.equals(2, #srv:requests({ method = "GET", path = "/api/auth/me" }))
    end)

    it("a transient 503 is retried and the call succeeds", function()
      srv:fault({ method = "GET", path = "/api/auth/me", kind = "status", status = 503, count = 1 })
      local me = assert(client:me())
      assert.is_string(me.email)
      assert.equals(2, #srv:requests({ method = "GET", path = "/api/auth/me" }))
    end)
  end)

  describe("pagination", function()
    it("iterates every campaign across many pages", function()
      local ids = {}
      for _ = 1, 23 do ids[srv:seed_campaign({ status = "fully_completed" })] = true end
      local seen, n = {}, 0
      for c in client.campaigns:each({ perPage = 5 }) do
        assert.equals("Campaign", scravio.kind(c))
        assert.is_nil(seen[c.id])
        seen[c.id] = true
        n = n + 1
      end
      assert.equals(23, n)
      for id in pairs(ids) do assert.is_true(seen[id]) end
      assert.equals(5, #srv:requests({ method = "GET", path = "/api/campaigns" }))
    end)

    it("iterates every lead of a campaign", function()
      local id = srv:seed_campaign({ status = "fully_completed", leads = 257 })
      local c = assert(client.campaigns:get(id))
      local n = 0
      for lead in c:leads({ perPage = 50 }) do
        n = n + 1
        assert.equals(id, lead.campaignId)
      end
      assert.equals(257, n)
    end)

    it("returns one page with normalised pagination", function()
      for _ = 1, 7 do srv:seed_campaign({ status = "fully_completed" }) end
      local page = assert(client.campaigns:list({ page = 2, perPage = 3 }))
      assert.equals(3, #page.items)
      assert.equals(7, page.pagination.totalCount)
      assert.equals(3, page.pagination.totalPages)
      assert.equals(2, page.pagination.currentPage)
      assert.is_true(H.is_integer(page.pagination.totalCount))
    end)

    it("raises the error object from an iterator, not a truncated list", function()
      for _ = 1, 6 do srv:seed_campaign({ status = "fully_completed" }) end
      srv:fault({ method = "GET", path = "/api/campaigns", kind = "status", status = 404, skip = 1 })
      local n = 0
      local ok, err = pcall(function()
        for _ in client.campaigns:each({ perPage = 3 }) do n = n + 1 end
      end)
      assert.is_false(ok)
      assert.is_true(scravio.is_error(err))
      assert.equals(404, err.status)
      assert.equals(3, n)
    end)
  end)

  describe("hostile ids", function()
    it("never escape their path segment", function()
      local c, err = client.campaigns:get("../auth/me")
      assert.is_nil(c)
      assert.equals(404, err.status)
      local req = last_request("GET")
      assert.equals("/api/campaigns/..%2Fauth%2Fme", req.raw_path or req.path)
    end)

    it("another account's campaign is not found", function()
      local id = srv:seed_campaign({ status = "fully_completed", account = "B" })
      local c, err = client.campaigns:get(id)
      assert.is_nil(c)
      assert.equals(404, err.status)
    end)
  end)

  describe("secrets", function()
    it("never appear in tostring of the client, errors or resources", function()
      local id = srv:seed_campaign({ status = "fully_completed" })
      local c = assert(client.campaigns:get(id))
      local _, err = client.campaigns:get("nope")
      for _, v in ipairs({ tostring(client), tostring(err), tostring(c), err.message }) do
        assert.falsy(v:find(srv.api_key, 1, true))
      end
    end)
  end)
end)
