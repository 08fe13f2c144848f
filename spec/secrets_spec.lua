-- Secrets, against the fake server with real requests:
--   * the API key / access token never shows in tostring of the client, of
--     errors or of resources, in error fields, or in any on_event payload
--     (every event serialized deeply and searched);
--   * it is never sent to storage (presigned upload and download) nor to
--     another host after a redirect;
--   * plain http:// only to loopback unless allow_http; CR/LF in header
--     values refused before anything is sent.
-- (TLS verification is in tls_spec.lua.)
local H = require("spec.support.helpers")
local scravio = H.scravio

-- Every string reachable from v (keys, values, metatable __tostring results,
-- userdata through tostring), in one string. Cycles are followed once.
local function serialize(v, seen, out)
  seen, out = seen or {}, out or {}
  local t = type(v)
  if t == "table" then
    if seen[v] then return out end
    seen[v] = true
    local mt = getmetatable(v)
    if type(mt) == "table" and mt.__tostring then out[#out + 1] = tostring(v) end
    for k, x in pairs(v) do
      serialize(k, seen, out)
      serialize(x, seen, out)
    end
  elseif t == "userdata" then
    if not seen[v] then
      seen[v] = true
      out[#out + 1] = tostring(v)
      if scravio.kind(v) then serialize(v:data(), seen, out) end
    end
  else
    out[#out + 1] = tostring(v)
  end
  return out
end

local function dump(v)
  return table.concat(serialize(v), "\n")
end

local function assert_no_secret(text, secrets, what)
  for _, s in ipairs(secrets) do
    assert.falsy(text:find(s, 1, true), (what or "text") .. " contains a secret")
    -- a long enough tail of it either
    assert.falsy(text:find(s:sub(9, 24), 1, true), (what or "text") .. " contains part of a secret")
  end
end

local write = H.write_file

describe("secrets", function()
  local srv, secrets

  setup(function()
    srv = H.start()
    secrets = { srv.api_key, srv.access_token }
  end)
  teardown(function() if srv then srv:stop() end end)
  before_each(function() srv:reset() end)

  describe("never printed", function()
    it("tostring(client) and client:info() mask the key and the token", function()
      for _, opts in ipairs({ {}, { access_token = srv.access_token } }) do
        local c = H.client(srv, opts)
        local s = tostring(c)
        assert.truthy(s:find("scravio.Client", 1, true))
        assert_no_secret(s, secrets, "tostring(client)")
        assert_no_secret(dump(c:info()), secrets, "client:info()")
        assert_no_secret(dump(c), secrets, "the client table")
        c:close()
        assert_no_secret(tostring(c), secrets, "a closed client")
      end
    end)

    it("a Bearer token's hint is its last 4 characters only; an API key keeps its sk_live_/sk_test_ prefix", function()
      local t = H.scravio.new({ base_url = srv.base_url, access_token = "my_secret_token_1234567890" })
      assert.equals("...7890", t:info().key_hint) -- before: my_secret_...7890
      assert.is_nil(tostring(t):find("my_secret", 1, true), tostring(t))
      local k = H.scravio.new({ base_url = srv.base_url, api_key = "sk_test_abcdefghijkl7890" })
      assert.equals("sk_test_...7890", k:info().key_hint)
      t:close()
      k:close()
    end)

    it("error objects, their fields and tostring hold no secret", function()
      local c = H.client(srv, { max_retries = 0, timeout = 1 })
      local errs = {}
      local function keep(_, err) if err then errs[#errs + 1] = err end end
      keep(H.client(srv, { api_key = srv.api_key .. "x", max_retries = 0 }):me()) -- 401
      keep(c.campaigns:get("ffffffffffffffffffffffff"))                          -- 404
      keep(c.campaigns:create({ type = "INSTAGRAM_HASHTAG", inputs = {}, targetEmails = 5 })) -- invalid
      keep(c:request("POST", "/campaigns", { body = { type = "NOPE" } }))          -- 400 from the server
      srv:fault({ method = "POST", path = "/api/campaigns", kind = "reset_before" })
      keep(c.campaigns:create({ type = "INSTAGRAM_HASHTAG", inputs = { hashtag = "a" }, targetEmails = 5 })) -- unknown_outcome
      srv:fault({ method = "GET", path = "/api/auth/me", kind = "redirect" })
      keep(c:me())                                                                -- 302
      keep(H.client(srv, { base_url = "http://127.0.0.1:1/api", max_retries = 0 }):me()) -- network
      keep(scravio.new({ api_key = srv.api_key .. "\r\nX: y", base_url = srv.base_url })) -- invalid option
      assert.is_true(#errs >= 8)
      for _, err in ipairs(errs) do
        assert.is_true(scravio.is_error(err))
        assert_no_secret(tostring(err), secrets, "tostring(err) " .. err.kind)
        assert_no_secret(dump(err), secrets, "err fields " .. err.kind)
      end
    end)

    it("resources print their id and status only", function()
      local c = H.client(srv)
      local camp = assert(c.campaigns:get(srv:seed_campaign({ status = "fully_completed", leads = 2 })))
      local e = assert(camp:export({}))
      local j = assert(c.validation_jobs:submit({ "ann@example.com" }))
      for _, obj in ipairs({ camp, e, j }) do
        assert_no_secret(tostring(obj), secrets, "tostring(resource)")
        assert_no_secret(dump(obj), secrets, "resource data")
      end
    end)

    it("no on_event payload holds a secret, over a session with retries, reconciles, pacing, uploads and downloads", function()
      local events = {}
      local c = H.client(srv, { workspace_id = "ws_secret_check", timeout = 1, max_retries = 2, max_retry_wait = 5,
        on_event = function(ev) events[#events + 1] = ev end })
      H.fake_clock(c)
      assert(c:me())
      srv:fault({ method = "GET", path = "/api/auth/me", kind = "status", status = 503 })
      assert(c:me())
      srv:fault({ method = "GET", path = "/api/auth/me", kind = "rate_limit", retry_after = 1 })
      assert(c:me())
      srv:fault({ method = "POST", path = "/api/campaigns", kind = "reset_after" })
      local camp = assert(c.campaigns:create({ type = "INSTAGRAM_HASHTAG", inputs = { hashtag = "x" }, targetEmails = 5 }))
      srv:fault({ method = "POST", path = "/api/campaigns", kind = "reset_before" })
      assert.is_nil(c.campaigns:create({ type = "INSTAGRAM_HASHTAG", inputs = { hashtag = "y" }, targetEmails = 5 }))
      srv:advance(60)
      for _ = 1, 6 do c:request("GET", "/campaigns/" .. camp.id) end
      -- pacing: the 6th export in an hour is sent anyway and the server answers 429
      local done = assert(c.campaigns:get(srv:seed_campaign({ status = "fully_completed", leads = 3 })))
      for i = 1, 6 do done:export({ fileFormat = (i % 2 == 0) and "xlsx" or "csv", emailOnly = i > 2 }) end
      -- a download and an upload
      local eid = srv:seed_export({ bytes = 4096 })
      local ex
      for x in c.exports:each({}) do if x.id == eid then ex = x end end
      local out = H.tmpname(".csv")
      assert(ex:download(out))
      os.remove(out)
      local up = H.tmpname(".csv")
      write(up, "email\nann@example.com\nbob@example.com\n")
      local job = c.validation_jobs:submit_file(up)
      os.remove(up)
      assert.is_not_nil(job)

      local kinds = {}
      for _, ev in ipairs(events) do kinds[ev.type] = (kinds[ev.type] or 0) + 1 end
      for _, k in ipairs({ "request", "response", "retry", "reconcile", "reconciled", "error" }) do
        assert.is_true((kinds[k] or 0) > 0, "no " .. k .. " event was seen")
      end
      assert.is_true(#events > 40)
      assert_no_secret(dump(events), secrets, "on_event payloads")
    end)
  end)

  describe("never sent where it does not belong", function()
    local function api_headers_absent(log, what)
      assert.is_true(#log > 0, "no " .. what .. " request was logged")
      for _, r in ipairs(log) do
        assert.is_nil(r.headers["x-api-key"], what .. " got X-API-Key")
        assert.is_nil(r.headers["authorization"], what .. " got Authorization")
        assert.is_nil(r.headers["x-workspace-id"], what .. " got X-Workspace-Id")
      end
      assert_no_secret(dump(log), secrets, what .. " log")
    end

    it("presigned upload and download carry no credentials (api key and bearer token)", function()
      for _, opts in ipairs({ { workspace_id = "ws_1" }, { access_token = srv.access_token, workspace_id = "ws_2" } }) do
        srv:reset()
        local c = H.client(srv, opts)
        local up = H.tmpname(".csv")
        write(up, "email\nann@example.com\n")
        assert(c.validation_jobs:submit_file(up))
        os.remove(up)
        local eid = srv:seed_export({ bytes = 10000 })
        local ex
        for x in c.exports:each({}) do if x.id == eid then ex = x end end
        local out = H.tmpname(".csv")
        local path, bytes = assert(ex:download(out))
        assert.equals(10000, bytes)
        os.remove(path)
        local log = srv:storage_requests()
        local methods = {}
        for _, r in ipairs(log) do methods[r.method] = true end
        assert.is_true(methods.PUT and methods.GET)
        api_headers_absent(log, "storage")
        -- while the API itself did get them
        local api = srv:requests({ path = "/api/validation-jobs/file" })
        assert.equals("ws_" .. (opts.access_token and 2 or 1), api[1].headers["x-workspace-id"])
      end
    end)

    it("a redirect on a storage download is followed without credentials", function()
      local c = H.client(srv, { workspace_id = "ws_4" })
      local eid = srv:seed_export({ bytes = 100 })
      local ex
      for x in c.exports:each({}) do if x.id == eid then ex = x end end
      srv:fault({ target = "storage", method = "GET", kind = "redirect" })
      local out = H.tmpname(".csv")
      ex:download(out) -- /capture answers JSON, not the file; what matters is what it received
      os.remove(out)
      local captured = srv:storage_requests({ path = "/capture" })
      assert.equals(1, #captured)
      api_headers_absent(srv:storage_requests(), "storage and /capture")
    end)

    it("the key never travels in a URL", function()
      local c = H.client(srv)
      assert(c:me())
      assert(c.campaigns:list({ q = "x" }))
      for _, r in ipairs(srv:requests()) do
        assert_no_secret(r.path .. "?" .. (r.query or ""), secrets, "request line")
      end
    end)
  end)

  describe("plain http:// and header injection", function()
    it("refuses http:// to a non-loopback host unless allow_http, before sending anything", function()
      local base = "http://[::ffff:127.0.0.1]:" .. srv.api_port .. "/api" -- not a loopback name or address literal
      local c, err = scravio.new({ base_url = base, api_key = srv.api_key })
      assert.is_nil(c)
      assert.equals("invalid", err.kind)
      assert.equals("base_url", err.errors[1].param)
      assert.equals(0, #srv:requests())
      -- explicitly allowed: the request goes out
      local ok = H.client(srv, { base_url = base, allow_http = true })
      assert(ok:me())
      assert.equals(1, #srv:requests())
      -- loopback needs no permission
      assert(H.client(srv):me())
      assert(H.client(srv, { base_url = "http://localhost:" .. srv.api_port .. "/api" }):me())
    end)

    it("refuses a non-https presigned URL to a non-loopback host", function()
      local c = H.client(srv)
      local ok, err = c._core:allows_url("http://storage.example.com/file.csv?sig=1")
      assert.is_nil(ok)
      assert.equals("invalid", err.kind)
      assert.is_true(c._core:allows_url("https://storage.example.com/file.csv"))
      assert.is_true(c._core:allows_url(srv.storage_url .. "/x"))
      local lax = H.client(srv, { allow_http = true })
      assert.is_true(lax._core:allows_url("http://storage.example.com/file.csv"))
    end)

    -- Each {param=, opts=} makes scravio.new refuse that param, with an
    -- error that shows no secret, and nothing is sent.
    local function refused_by_new(cases)
      for _, bad in ipairs(cases) do
        local o = { base_url = srv.base_url }
        for k, v in pairs(bad.opts) do o[k] = v end
        local c, err = scravio.new(o)
        assert.is_nil(c, bad.param .. " was accepted")
        assert.equals("invalid", err.kind)
        assert.equals(bad.param, err.errors[1].param)
        assert_no_secret(tostring(err), secrets, "tostring(err)")
      end
      assert.equals(0, #srv:requests())
    end

    it("refuses CR/LF in api_key, access_token and workspace_id; nothing is sent", function()
      refused_by_new({
        { param = "api_key", opts = { api_key = srv.api_key .. "\r\nX-Injected: 1" } },
        { param = "api_key", opts = { api_key = "sk_live_abc\ndef" } },
        { param = "access_token", opts = { access_token = srv.access_token .. "\r\n" } },
        { param = "workspace_id", opts = { api_key = srv.api_key, workspace_id = "ws\r\nX-Injected: 1" } },
        { param = "workspace_id", opts = { api_key = srv.api_key, workspace_id = "ws\n" } },
      })
    end)

    it("refuses a tab, a space or a non-ASCII byte in a credential (a paste error, not a 401 later)", function()
      -- A tab is legal inside a header value, so the header check alone let
      -- "key\t" through to the server, which answered 401.
      refused_by_new({
        { param = "api_key", opts = { api_key = srv.api_key .. "\t" } },
        { param = "api_key", opts = { api_key = "\t" .. srv.api_key } },
        { param = "api_key", opts = { api_key = srv.api_key .. "\194\160" } }, -- a pasted no-break space
        { param = "access_token", opts = { access_token = srv.access_token .. "\t" } },
        { param = "workspace_id", opts = { api_key = srv.api_key, workspace_id = "ws_1\t" } },
        { param = "workspace_id", opts = { api_key = srv.api_key, workspace_id = "ws 1" } },
      })
    end)

    it("refuses a base_url carrying user:password@ (a second credential, shown wherever the URL is)", function()
      -- It was accepted: libcurl sent it as Basic auth beside X-API-Key,
      -- and tostring(client) and client:info() showed the password.
      for _, base in ipairs({
        "http://user:s3cretpw@127.0.0.1:" .. srv.api_port .. "/api",
        "http://s3cretpw@127.0.0.1:" .. srv.api_port .. "/api",
        "https://user:s3cretpw@127.0.0.1:" .. srv.api_port .. "/api",
      }) do
        local c, err = scravio.new({ base_url = base, api_key = srv.api_key })
        assert.is_nil(c, base)
        assert.equals("invalid", err.kind)
        assert.equals("base_url", err.errors[1].param)
        assert.is_nil(tostring(err):find("s3cretpw", 1, true), tostring(err))
      end
      assert.equals(0, #srv:requests())
      -- an @ after the authority is a path character, not userinfo
      assert(H.client(srv, { base_url = srv.base_url .. "/@x/.." }))
    end)

    it("refuses a NUL byte in a credential or header value (C would cut the value there)", function()
      for _, bad in ipairs({
        { param = "api_key", opts = { api_key = srv.api_key .. "\0tail" } },
        { param = "access_token", opts = { access_token = srv.access_token .. "\0" } },
        { param = "workspace_id", opts = { api_key = srv.api_key, workspace_id = "ws\0x" } },
      }) do
        local o = { base_url = srv.base_url }
        for k, v in pairs(bad.opts) do o[k] = v end
        local c, err = scravio.new(o)
        assert.is_nil(c, bad.param .. " with a NUL byte was accepted")
        assert.equals("invalid", err.kind)
        assert.equals(bad.param, err.errors[1].param)
      end
      assert.equals(0, #srv:requests())
    end)

    it("sends a clean workspace_id as X-Workspace-Id", function()
      assert(H.client(srv, { workspace_id = "ws_clean-1" }):me())
      assert.equals("ws_clean-1", srv:requests()[1].headers["x-workspace-id"])
    end)
  end)
end)
