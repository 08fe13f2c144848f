--- The SDK inside a real nginx with the Lua module (LuaJIT, cosockets),
-- against the fake Scravio server. Run by spec/support/run_suite.sh (once,
-- under Lua 5.4 busted): this process drives nginx with the curl tool; the
-- SDK itself runs in nginx's worker (spec/openresty/handlers.lua).
local fake = require("spec.support.fake_server")
local ctl = require("spec.openresty.nginx_ctl")
local scravio = require("scravio")

local decode = scravio.json.decode

local HASHTAG = { type = "INSTAGRAM_HASHTAG", inputs = { hashtags = { "fitness", "gym" } }, targetEmails = 50 }

local function sleep(s)
  require("scravio.core").sleep(s)
end

describe("OpenResty (ngx_lua cosockets)", function()
  local srv, nginx

  -- GET a handler; returns the decoded JSON answer (asserting a JSON 200).
  local function call(path, body)
    local status, text
    if body then
      status, text = nginx:post(path, assert(scravio.json.encode(body)), 60)
    else
      status, text = nginx:get(path, 60)
    end
    local ok, value = pcall(decode, text)
    if status ~= 200 or not ok or type(value) ~= "table" then
      error(string.format("%s answered %d: %s\n--- nginx error.log (tail):\n%s", path, status, text,
        nginx:error_log():sub(-3000)), 2)
    end
    return value
  end

  local function expect_ok(res)
    assert(res.ok, "handler failed: " .. tostring(res.err and res.err.text or res.message))
    return res
  end

  local function state()
    return call("/state")
  end

  lazy_setup(function()
    srv = fake.start()
    nginx = ctl.start{
      template = "spec/openresty/nginx.conf.tmpl",
      vars = { CA_FILE = srv.ca_file },
      config = {
        base_url = srv.base_url,
        -- cosockets match certificate names as DNS names: reach TLS by name
        tls_base_url = (srv.tls_base_url:gsub("//127%.0%.0%.1:", "//localhost:")),
        tls_ip_base_url = srv.tls_base_url,
        storage_url = srv.storage_url,
        ca_file = srv.ca_file,
        api_key = srv.api_key,
      },
    }
  end)

  lazy_teardown(function()
    if nginx then nginx:stop() end
    if srv then srv:stop() end
  end)

  describe("transport selection and plain calls", function()
    it("picks the cosocket transport and reads GET /auth/me", function()
      local res = expect_ok(call("/me"))
      assert.equals("ngx", res.transport)
      assert.equals(100000, res.credits)
      local log = srv:requests{ path = "/api/auth/me" }
      assert.is_true(#log >= 1)
      assert.equals(srv.api_key, log[#log].headers["x-api-key"])
    end)

    it("keeps connections alive in the cosocket pool", function()
      call("/me")
      local before = expect_ok(call("/stats")).stats
      for _ = 1, 4 do expect_ok(call("/me")) end
      local after = expect_ok(call("/stats")).stats
      assert.equals(before.connects, after.connects)
      assert.equals(before.reused + 4, after.reused)
      -- A client with its own pool size and idle time (setkeepalive(ms, size))
      -- shares the worker's pool for the same target: connections are reused.
      for _ = 1, 3 do expect_ok(call("/me?client=pooled")) end
      local pooled = expect_ok(call("/stats?client=pooled")).stats
      assert.equals(3, pooled.connects + pooled.reused)
      assert.is_true(pooled.reused >= 2)
    end)

    it("speaks TLS with verification through lua_ssl_trusted_certificate", function()
      local res = expect_ok(call("/me?client=tls"))
      assert.equals(100000, res.credits)
      expect_ok(call("/me?client=tls"))
      local stats = expect_ok(call("/stats?client=tls")).stats
      assert.equals(1, stats.handshakes)
      assert.is_true(stats.reused >= 1)
      local log = srv:requests{ path = "/api/auth/me" }
      assert.is_true(log[#log].tls)
    end)

    it("refuses a certificate that does not name the host, without retrying", function()
      local res = call("/me?client=tls_ip")
      assert.is_false(res.ok)
      assert.equals("network", res.err.kind)
      assert.is_false(res.err.retryable)
      assert.is_false(res.err.sent)
      assert.matches("TLS handshake", res.err.message, 1, true)
    end)

    it("refuses to turn TLS verification off, and proxies", function()
      local res = call("/new?opt=ssl_verify")
      assert.equals("invalid", res.err.kind)
      assert.matches("ssl_verify", res.err.text, 1, true)
      res = call("/new?opt=proxy")
      assert.equals("invalid", res.err.kind)
      assert.matches("proxy", res.err.text, 1, true)
    end)

    it("works from a timer (ngx.timer.at)", function()
      local res = expect_ok(call("/timer"))
      assert.equals(100000, res.credits)
    end)
  end)

  describe("campaign flows", function()
    it("previews a campaign", function()
      local res = expect_ok(call("/preview", HASHTAG))
      assert.equals(50, res.preview.targetEmails)
    end)

    it("launches a campaign (preview, budget, create)", function()
      srv:clear_requests()
      local res = call("/launch", { params = HASHTAG, max_credits = 100000 })
      expect_ok(res)
      assert.is_string(res.id)
      assert.is_table(res.preview)
      assert.equals(1, #srv:requests{ method = "POST", path = "/api/campaigns" })
    end)

    it("waits for a campaign with ngx.sleep between polls", function()
      srv:configure{ campaign_seconds = 1 }
      finally(function() srv:configure{ campaign_seconds = 3 } end)
      local created = expect_ok(call("/create", HASHTAG))
      local res = call("/wait?id=" .. created.id .. "&interval=0.1&timeout=30")
      expect_ok(res)
      assert.equals("fully_completed", res.status)
    end)

    it("honours per-call options: a timeout shorter than the client's, extra headers", function()
      local id = srv:seed_campaign{}
      srv:fault{ method = "GET", path = "/campaigns/" .. id, kind = "slow", delay = 3, count = 1 }
      local res = call("/percall?id=" .. id .. "&timeout=0.3&max_retries=0")
      assert.is_false(res.ok)
      assert.equals("timeout", res.err.kind)
      assert.equals(1, res.err.attempts)
      expect_ok(call("/percall?id=" .. id .. "&trace=or-1"))
      local log = srv:requests{ path = "/api/campaigns/" .. id }
      local last = log[#log]
      assert.equals("or-1", last.headers["x-trace-id"])
      assert.equals(srv.api_key, last.headers["x-api-key"])
    end)

    it("iterates every lead over several pages", function()
      local id = srv:seed_campaign{ status = "fully_completed", leads = 230 }
      local res = expect_ok(call("/leads?id=" .. id .. "&perPage=100"))
      assert.equals(230, res.count)
      assert.is_table(res.first)
      assert.equals(3, #srv:requests{ method = "GET", path = "/api/campaigns/" .. id .. "/leads" })
    end)

    it("streams the pages (a LazyPage over the body string), undisturbed by calls inside the loop", function()
      local id = srv:seed_campaign{ status = "fully_completed", leads = 45 }
      local plain = expect_ok(call("/leads?id=" .. id .. "&perPage=20"))
      assert.equals(3, plain.streamed)
      local inner = expect_ok(call("/leads?id=" .. id .. "&perPage=20&inner=1"))
      assert.equals(45, inner.count)
      assert.same(plain.ids, inner.ids)
      assert.same(plain.first, inner.first)
      assert.same(plain.last, inner.last)
    end)

    it("exports and streams the file to disk, without credentials to storage", function()
      local id = srv:seed_campaign{ status = "fully_completed", leads = 40 }
      local file = nginx.prefix .. "/files/export.csv"
      local res = call("/export?id=" .. id .. "&file=" .. file)
      expect_ok(res)
      local data = assert(ctl.read_file(file))
      assert.equals(#data, res.bytes)
      local _, lines = data:gsub("\n", "")
      assert.is_true(lines >= 40)
      local gets = srv:storage_requests{ method = "GET" }
      assert.is_true(#gets >= 1)
      for _, r in ipairs(gets) do
        assert.is_nil(r.headers["x-api-key"])
        assert.is_nil(r.headers["authorization"])
      end
    end)

    it("uploads a file for validation (presigned PUT streamed from disk)", function()
      local file = nginx.prefix .. "/files/emails.csv"
      local rows = { "email" }
      for i = 1, 200 do rows[#rows + 1] = "person" .. i .. "@example.com" end
      local text = table.concat(rows, "\n") .. "\n"
      ctl.write_file(file, text)
      local res = call("/upload", { file = file })
      expect_ok(res)
      assert.is_string(res.id)
      local puts = srv:storage_requests{ method = "PUT" }
      assert.is_true(#puts >= 1)
      local put = puts[#puts]
      assert.is_nil(put.headers["x-api-key"])
      assert.is_nil(put.headers["authorization"])
      assert.equals(tostring(#text), put.headers["content-length"])
    end)
  end)

  describe("what comes back (cosockets)", function()
    it("reads JSON null as nil in objects and as scravio.null in arrays", function()
      srv:fault{ method = "GET", path = "/api/campaigns/cnull9", kind = "status", status = 200,
        content_type = "application/json", count = 1,
        body = '{"_id":"cnull9","status":"pending","completedAt":null,' ..
          '"creditSettlement":{"creditUsed":null},"inputs":{"hashtags":["a",null,"c"]}}' }
      local res = expect_ok(call("/nulls?id=cnull9"))
      assert.equals("pending", res.status)
      assert.is_true(res.completed_nil)
      assert.is_true(res.used_nil)
      assert.is_true(res.second_is_null)
      assert.equals(3, res.n)
      assert.is_false(res.data_has_key)
      local log = srv:requests{ method = "GET", path = "/api/campaigns/cnull9" }
      assert.equals(log[#log].requestId, res.request_id)
    end)

    it("answers download_url() with the URL string, then the answer's table", function()
      local id = srv:seed_campaign{ status = "fully_completed", leads = 5 }
      local res = expect_ok(call("/download_url?id=" .. id))
      assert.equals("string", res.url_type)
      assert.equals(res.url, res.info_url)
      assert.is_string(res.filename)
    end)
  end)

  describe("phases without cosockets", function()
    local function phase_record(name)
      local raw = state()["phase:" .. name]
      assert(raw, "no record for phase " .. name)
      return decode(raw)
    end

    it("answers nil, err (kind invalid) in set_by_lua, naming the phase", function()
      srv:clear_requests()
      local status, body = nginx:get("/phase/set")
      assert.equals(200, status)
      assert.matches("^invalid|set|", body)
      assert.matches("\"set\" phase", body, 1, true)
      assert.equals(0, #srv:requests{ path = "/api/auth/me" })
    end)

    for _, phase in ipairs({ "log", "header_filter", "body_filter" }) do
      it("answers nil, err (kind invalid) in the " .. phase .. " phase", function()
        srv:clear_requests()
        assert.equals(200, (nginx:get("/phase/" .. phase)))
        local rec
        for _ = 1, 100 do -- the log phase runs after the response went out
          local raw = state()["phase:" .. phase]
          if raw then rec = decode(raw) break end
          sleep(0.02)
        end
        assert(rec, "the " .. phase .. " handler left no record")
        assert.is_nil(rec.crashed)
        assert.equals(phase, rec.ngx_phase)
        assert.equals("invalid", rec.kind)
        assert.equals(phase, rec.phase)
        assert.is_false(rec.sent)
        assert.is_false(rec.retryable)
        assert.matches(phase, rec.message, 1, true)
        assert.equals(0, #srv:requests{ path = "/api/auth/me" })
      end)
    end

    for _, phase in ipairs({ "init", "init_worker" }) do
      it("answers nil, err in " .. phase .. "_by_lua", function()
        local rec = phase_record(phase)
        assert.is_nil(rec.crashed)
        assert.equals(phase, rec.ngx_phase)
        assert.equals("invalid", rec.kind)
        assert.equals(phase, rec.phase)
        assert.is_false(rec.sent)
      end)
    end
  end)

  describe("never blocks the worker", function()
    -- One worker. Request A's upstream call is held by the fake server; a
    -- shared-dict flag reads "started" while A's SDK call is in flight and
    -- "done" after. Request B, through the same worker, makes an SDK call of
    -- its own and reports the flag: "started" means B was served while A
    -- waited. No clocks involved.
    local function run_pair(key, client)
      srv:fault{ method = "GET", path = "/auth/me", kind = "slow", delay = 3, count = 1 }
      local a = nginx:get_async("/slow?key=" .. key .. (client and ("&client=" .. client) or ""), 60)
      local seen
      local ok = pcall(function()
        for _ = 1, 1000 do
          seen = state()[key]
          if seen then break end
          sleep(0.01)
        end
      end)
      local b = ok and seen == "started" and call("/quick?key=" .. key) or nil
      for _ = 1, 2000 do
        if a.done() then break end
        sleep(0.01)
      end
      local a_status, a_body = a.result()
      a.stop()
      return seen, b, a_status, a_body
    end

    it("serves B while A's API call is still in flight (cosockets)", function()
      local seen, b, a_status, a_body = run_pair("nb1")
      assert.equals("started", seen)
      assert.is_table(b)
      expect_ok(b)
      assert.equals("started", b.seen)
      assert.equals("started", b.after) -- B's own SDK call finished before A's
      assert.equals(200, a_status)
      assert.is_true(decode(a_body).ok)
      assert.equals("done", state().nb1)
    end)

    it("control: the same probe detects a blocking call (libcurl inside nginx)", function()
      local seen, b, a_status = run_pair("nb2", "curl")
      -- The worker was stuck in libcurl: the first answer it gave came after A.
      assert.equals("done", seen)
      assert.is_nil(b)
      assert.equals(200, a_status)
    end)
  end)

  describe("errors identical to the libcurl transport", function()
    local curl_clients = {}
    local FLAVOURS = {
      noretry = { max_retries = 0 },
      small = { max_retries = 0, max_response_bytes = 64 * 1024 },
      short = { max_retries = 0, timeout = 1 },
    }
    local function curl_client(name)
      if not curl_clients[name] then
        local opts = { base_url = srv.base_url, api_key = srv.api_key, timeout = 10, transport = "curl" }
        for k, v in pairs(FLAVOURS[name]) do opts[k] = v end
        curl_clients[name] = assert(scravio.new(opts))
      end
      return curl_clients[name]
    end

    local CASES = {
      { "an HTML 500 page", { kind = "status", status = 500 }, "noretry", true },
      { "a 503 with a JSON error body", { kind = "status", status = 503, content_type = "application/json",
        body = '{"message":"down for maintenance","code":"UNAVAILABLE","requestId":"req-503"}' }, "noretry", true },
      { "429 with Retry-After", { kind = "rate_limit", retry_after = 7 }, "noretry", true },
      { "a truncated JSON body", { kind = "truncated" }, "noretry", true },
      { "a non-JSON 200", { kind = "malformed" }, "noretry", true },
      { "a redirect (never followed)", { kind = "redirect" }, "noretry", true },
      { "a body larger than max_response_bytes", { kind = "huge", bytes = 300000 }, "small", true },
      { "a body cut short", { kind = "truncated_body" }, "noretry", false },
      { "a connection closed without an answer", { kind = "reset_before" }, "noretry", false },
      { "a response slower than the timeout", { kind = "slow", delay = 2 }, "short", false },
    }

    for _, case in ipairs(CASES) do
      local name, fault, flavour, same_message = case[1], case[2], case[3], case[4]
      it("for " .. name, function()
        local spec = { method = "GET", path = "/auth/me", count = -1 }
        for k, v in pairs(fault) do spec[k] = v end
        srv:clear_faults()
        srv:fault(spec)
        finally(function() srv:clear_faults() end)
        local via_ngx = call("/probe?path=/auth/me&client=" .. flavour)
        local value, err = curl_client(flavour):request("GET", "/auth/me", { max_retries = 0 })
        assert.is_nil(value)
        assert.is_false(via_ngx.ok)
        local got = via_ngx.err
        for _, field in ipairs({ "kind", "status", "code", "retryable", "retry_after", "method", "path" }) do
          assert.are.same(err[field], got[field], field .. " differs (" .. tostring(err) .. " / " .. got.text .. ")")
        end
        assert.equals(type(err.request_id), type(got.request_id)) -- each response has its own id
        if err.sent ~= nil then assert.equals(err.sent, got.sent, "sent differs: " .. got.text) end
        if same_message then assert.equals(err.message, got.message) end
      end)
    end

    it("for a storage download that answers 404", function()
      local url = srv.storage_url .. "/no-such-object?sig=x"
      local file = nginx.prefix .. "/files/missing.bin"
      local res = call("/download?client=noretry&url=" .. url:gsub("[?&=]", function(c)
        return string.format("%%%02X", c:byte())
      end) .. "&file=" .. file)
      local tmp = os.tmpname()
      local bytes, err = curl_client("noretry")._transport:download(url, tmp, false, 10)
      os.remove(tmp)
      assert.is_nil(bytes)
      assert.is_false(res.ok)
      for _, field in ipairs({ "kind", "status", "code", "retryable", "message", "method", "path" }) do
        assert.are.same(err[field], res.err[field], field .. " differs")
      end
    end)
  end)
end)
