--- The cosocket transport's HTTP/1.1 handling, driven through a scripted fake
-- socket (no nginx needed): framing, keep-alive, limits, error kinds and the
-- `sent` flag, stale pooled connections, storage downloads and uploads.
-- The same code runs on real cosockets in sdk_spec.lua.
local core = require("scravio.core")
local runtime = require("scravio.runtime")
local ngxt = require("scravio.transport.ngx")

local KEY = "sk_test_abcdefghijklmnop1234"

-- A fake cosocket. script: { data = "<bytes the server sends>", after = "closed" |
-- "timeout" (what a read past the data gives), reused = n, connect_err =,
-- send_err =, handshake = {nil, "err"} }
local function fake_socket(script, log)
  local buffer, pos = script.data or "", 1
  local s = { sent = {}, closed = false, kept = false, script = script }
  log[#log + 1] = s
  local function fail()
    local e = script.after or "closed"
    if e ~= "timeout" then s.closed = true end
    return e
  end
  function s.settimeouts(self, c, w, r)
    self.timeouts = { c, w, r }
    self.max_read = math.max(self.max_read or 0, r)
  end
  function s.connect(self, host, port, opts)
    self.host, self.port, self.pool = host, port, opts and opts.pool
    if script.connect_err then return nil, script.connect_err end
    return 1
  end
  function s.getreusedtimes(self)
    if self.closed then return nil, "closed" end
    return script.reused or 0
  end
  function s.sslhandshake(self, session, name, verify)
    self.handshake_args = { session, name, verify }
    if script.handshake then return table.unpack(script.handshake) end
    return true
  end
  function s.send(self, data)
    if type(data) == "table" then data = table.concat(data) end
    if script.send_err then
      self.closed = true
      return nil, script.send_err
    end
    self.sent[#self.sent + 1] = data
    return #data
  end
  function s.receive(_, pat)
    if pat == "*l" then
      local i = buffer:find("\n", pos, true)
      if not i then
        local partial = buffer:sub(pos)
        pos = #buffer + 1
        return nil, fail(), partial
      end
      local line = buffer:sub(pos, i - 1):gsub("\r", "")
      pos = i + 1
      return line
    end
    if #buffer - pos + 1 < pat then
      local partial = buffer:sub(pos)
      pos = #buffer + 1
      return nil, fail(), partial
    end
    local d = buffer:sub(pos, pos + pat - 1)
    pos = pos + pat
    return d
  end
  function s.receiveany(_, max)
    if pos > #buffer then return nil, fail() end
    local d = buffer:sub(pos, pos + max - 1)
    pos = pos + #d
    return d
  end
  function s.receiveuntil(_, pattern)
    local at_end = false
    return function(size)
      if at_end then
        at_end = false
        return nil, nil
      end
      local i = buffer:find(pattern, pos, true)
      if not i then
        if pos > #buffer then return nil, fail() end
        local d = buffer:sub(pos, pos + size - 1)
        pos = pos + #d
        return d
      end
      if i == pos then
        pos = pos + #pattern
        return nil, nil
      end
      local d = buffer:sub(pos, math.min(i - 1, pos + size - 1))
      pos = pos + #d
      if pos == i then
        pos = pos + #pattern
        at_end = true
      end
      return d
    end
  end
  function s.setkeepalive(self)
    self.kept = true
    self.closed = true
    return 1
  end
  function s.close(self)
    self.closed = true
    return 1
  end
  return s
end

local function response(status_line, headers, body)
  local out = { status_line }
  for _, h in ipairs(headers or {}) do out[#out + 1] = h end
  return table.concat(out, "\r\n") .. "\r\n\r\n" .. (body or "")
end

local function json_response(body, extra)
  local h = { "Content-Type: application/json", "Content-Length: " .. #body, "X-Request-Id: rid-1" }
  for _, x in ipairs(extra or {}) do h[#h + 1] = x end
  return response("HTTP/1.1 200 OK", h, body)
end

describe("ngx transport (scripted sockets)", function()
  local saved_tcp, saved_can_yield, saved_chunk
  local scripts, sockets, handle, t

  local function transport(opts, base)
    handle = assert(core.client{ base_url = base or "http://127.0.0.1:8080/api", api_key = KEY, timeout = 5,
      connect_timeout = 2 })
    local tr, err = ngxt.new(handle, opts or {})
    assert(tr, err and tostring(err))
    return tr
  end

  before_each(function()
    saved_tcp, saved_can_yield, saved_chunk = ngxt.tcp, runtime.can_yield, ngxt.CHUNK
    scripts, sockets = {}, {}
    ngxt.tcp = function()
      local script = table.remove(scripts, 1)
      assert(script, "the transport opened more connections than scripted")
      return fake_socket(script, sockets)
    end
    t = transport()
  end)

  after_each(function()
    ngxt.tcp, runtime.can_yield, ngxt.CHUNK = saved_tcp, saved_can_yield, saved_chunk
    if handle then handle:close() end
  end)

  local URL = "http://127.0.0.1:8080/api/auth/me"

  describe("new()", function()
    it("refuses to run without cosockets", function()
      ngxt.tcp = nil
      local tr, err = ngxt.new(handle, {})
      assert.is_nil(tr)
      assert.equals("invalid", err.kind)
      assert.matches("OpenResty", err.message, 1, true)
    end)

    it("refuses ssl_verify = false and proxies", function()
      local tr, err = ngxt.new(handle, { ssl_verify = false })
      assert.is_nil(tr)
      assert.equals("ssl_verify", err.errors[1].param)
      tr, err = ngxt.new(handle, { proxy = "http://proxy:3128" })
      assert.is_nil(tr)
      assert.equals("proxy", err.errors[1].param)
      tr, err = ngxt.new(handle, { pool_size = 0 })
      assert.is_nil(tr)
      assert.equals("pool_size", err.errors[1].param)
    end)
  end)

  describe("send", function()
    it("writes the C-built head and decodes a Content-Length body", function()
      scripts[1] = { data = json_response('{"credits":100000,"email":"a@b.c"}') }
      local value, status, rid = t:send("GET", URL, "/auth/me", nil, 5, false)
      assert.equals(100000, value.credits)
      assert.equals(200, status)
      assert.equals("rid-1", rid)
      local sock = sockets[1]
      local head = sock.sent[1]
      assert.matches("^GET /api/auth/me HTTP/1%.1\r\n", head)
      assert.matches("\r\nHost: 127%.0%.0%.1:8080\r\n", head)
      -- a socket that is not nginx's own (this scripted one) never gets the key: its hint
      assert.truthy(head:find("\r\nX-API-Key: " .. handle:info().key_hint .. "\r\n", 1, true))
      assert.is_nil(head:find(KEY, 1, true))
      assert.is_nil(head:find("Content-Length", 1, true))
      assert.is_true(sock.kept)
      assert.equals("127.0.0.1", sock.host)
      assert.equals(8080, sock.port)
      assert.equals("scravio:http:127.0.0.1:8080:plain:", sock.pool)
    end)

    it("answers a LazyDoc for a 2xx object when asked (lazy), a table otherwise", function()
      local body = '{"success":true,"data":{"jobId":"j1","validCount":3,"list":[1,2]}}'
      scripts[1] = { data = json_response(body) }
      local doc, status = t:send("GET", URL, "/validation-jobs/j1", nil, 5, false, true)
      assert.equals(200, status)
      assert.equals(core.lazydoc_mt, getmetatable(doc))
      assert.equals("j1", doc:get("jobId"))
      assert.equals(3, doc:get("validCount"))
      scripts[1] = { data = json_response('[1,2]') } -- not an object: decoded as before
      local arr = t:send("GET", URL, "/x", nil, 5, false, true)
      assert.equals("table", type(arr))
      assert.equals(2, #arr)
    end)

    it("sends a JSON body with its length, and Content-Length: 0 for a bodiless POST", function()
      scripts[1] = { data = json_response('{}') }
      scripts[2] = { data = json_response('{}') }
      assert(t:send("POST", "http://127.0.0.1:8080/api/campaigns", "/campaigns", '{"a":1}', 5, false))
      assert.matches("\r\nContent%-Type: application/json\r\nContent%-Length: 7\r\n\r\n{\"a\":1}$", sockets[1].sent[1])
      assert(t:send("POST", "http://127.0.0.1:8080/api/campaigns/x/stop", "/campaigns/x/stop", nil, 5, false))
      assert.matches("\r\nContent%-Length: 0\r\n\r\n$", sockets[2].sent[1])
    end)

    it("reads chunked bodies with extensions and trailers, and keeps the connection", function()
      local body = "7;ext=1\r\n{\"a\":[1\r\n6\r\n,2,3]}\r\n0\r\nX-Trailer: yes\r\n\r\n"
      scripts[1] = { data = response("HTTP/1.1 200 OK", { "Content-Type: application/json",
        "Transfer-Encoding: chunked" }, body) }
      local value = assert(t:send("GET", URL, "/auth/me", nil, 5, false))
      assert.same({ 1, 2, 3 }, { value.a[1], value.a[2], value.a[3] })
      assert.is_true(sockets[1].kept)
    end)

    it("skips interim 1xx responses", function()
      scripts[1] = { data = "HTTP/1.1 100 Continue\r\n\r\n" .. json_response('{"ok":true}') }
      local value, status = t:send("GET", URL, "/auth/me", nil, 5, false)
      assert.is_true(value.ok)
      assert.equals(200, status)
    end)

    it("closes on Connection: close, on HTTP/1.0, and reads to the end without a length", function()
      scripts[1] = { data = json_response('{}', { "Connection: close" }) }
      scripts[2] = { data = response("HTTP/1.0 200 OK", { "Content-Length: 2" }, "{}") }
      scripts[3] = { data = response("HTTP/1.1 200 OK", { "Content-Type: application/json" }, '{"n":1}') }
      assert(t:send("GET", URL, "/auth/me", nil, 5, false))
      assert(t:send("GET", URL, "/auth/me", nil, 5, false))
      local value = assert(t:send("GET", URL, "/auth/me", nil, 5, false))
      assert.equals(1, value.n)
      for i = 1, 3 do
        assert.is_false(sockets[i].kept)
        assert.is_true(sockets[i].closed)
      end
    end)

    it("classifies API errors in C (same error object as libcurl)", function()
      local body = '{"message":"nope","code":"NOT_FOUND","requestId":"r-404"}'
      scripts[1] = { data = response("HTTP/1.1 404 Not Found", { "Content-Type: application/json",
        "Content-Length: " .. #body }, body) }
      local value, err = t:send("GET", URL, "/campaigns/x", nil, 5, false)
      assert.is_nil(value)
      assert.equals("api", err.kind)
      assert.equals(404, err.status)
      assert.equals("NOT_FOUND", err.code)
      assert.equals("r-404", err.request_id)
      assert.equals("/campaigns/x", err.path)
      assert.is_true(core.is_error(err))
      assert.is_true(sockets[1].kept) -- a complete error response keeps the connection
    end)

    it("refuses a body over max_response_bytes without reading it", function()
      t = transport({ max_response_bytes = 10 })
      scripts[1] = { data = json_response('{"a":"0123456789"}') }
      local value, err = t:send("GET", URL, "/auth/me", nil, 5, false)
      assert.is_nil(value)
      assert.equals("decode", err.kind)
      assert.equals(200, err.status)
      assert.is_false(err.retryable)
      assert.matches("max_response_bytes (10 bytes)", err.message, 1, true)
      assert.is_false(sockets[1].kept)
    end)

    it("refuses a chunked body that grows over max_response_bytes", function()
      t = transport({ max_response_bytes = 10 })
      scripts[1] = { data = response("HTTP/1.1 200 OK", { "Transfer-Encoding: chunked" },
        "8\r\n12345678\r\n8\r\n12345678\r\n0\r\n\r\n") }
      local _, err = t:send("GET", URL, "/auth/me", nil, 5, false)
      assert.equals("decode", err.kind)
      assert.matches("max_response_bytes", err.message, 1, true)
    end)

    it("reports a body cut short as a network error that was sent", function()
      scripts[1] = { data = response("HTTP/1.1 200 OK", { "Content-Length: 100" }, '{"a":') }
      local _, err = t:send("GET", URL, "/auth/me", nil, 5, false)
      assert.equals("network", err.kind)
      assert.is_true(err.sent)
      assert.is_true(err.retryable)
      assert.matches("5 of 100 bytes", err.message, 1, true)
    end)

    it("reports malformed framing", function()
      scripts[1] = { data = response("HTTP/1.1 200 OK", { "Content-Length: 2", "Content-Length: 3" }, "{}") }
      scripts[2] = { data = "SSH-2.0-OpenSSH\r\n\r\n" }
      local _, err = t:send("GET", URL, "/auth/me", nil, 5, false)
      assert.equals("network", err.kind)
      assert.matches("malformed", err.message, 1, true)
      _, err = t:send("GET", URL, "/auth/me", nil, 5, false)
      assert.matches("malformed status line", err.message, 1, true)
    end)

    it("marks connect and send failures as not sent", function()
      scripts[1] = { connect_err = "connection refused" }
      scripts[2] = { send_err = "broken pipe" }
      local _, err = t:send("POST", URL, "/campaigns", "{}", 5, true)
      assert.equals("network", err.kind)
      assert.is_false(err.sent)
      assert.is_true(err.retryable)
      assert.matches("connection refused", err.message, 1, true)
      _, err = t:send("POST", URL, "/campaigns", "{}", 5, true)
      assert.equals("network", err.kind)
      assert.is_false(err.sent)
    end)

    it("reports a read timeout as kind timeout, sent", function()
      scripts[1] = { data = "", after = "timeout" }
      local _, err = t:send("GET", URL, "/auth/me", nil, 0.5, false)
      assert.equals("timeout", err.kind)
      assert.is_true(err.sent)
      assert.is_true(err.retryable)
      assert.is_true(sockets[1].closed)
    end)

    it("bounds every read by what is left of the call's timeout", function()
      scripts[1] = { data = json_response("{}") }
      assert(t:send("GET", URL, "/auth/me", nil, 0.25, false))
      local c, _, r = table.unpack(sockets[1].timeouts)
      assert.is_true(r <= 250 and r >= 1)
      assert.is_true(c <= 250)
    end)

    it("replaces a dead pooled connection once, on a fresh one", function()
      scripts[1] = { reused = 3, data = "" } -- the server closed it while idle
      scripts[2] = { data = json_response('{"ok":true}') }
      local value = assert(t:send("GET", URL, "/auth/me", nil, 5, false))
      assert.is_true(value.ok)
      assert.equals(2, #sockets)
      assert.matches(":fresh$", sockets[2].pool)
      assert.equals(1, t.stats.stale)
      assert.equals(1, t.stats.reused)
    end)

    it("never resends on a dead connection when some response arrived", function()
      scripts[1] = { reused = 3, data = "HTTP/1.1 200 OK\r\nContent-Le" }
      local _, err = t:send("GET", URL, "/auth/me", nil, 5, false)
      assert.equals("network", err.kind)
      assert.equals(1, #sockets)
    end)

    it("gives unsafe requests (fresh) their own connection and never pools it", function()
      scripts[1] = { data = json_response('{"campaign":{}}') }
      assert(t:send("POST", URL, "/campaigns", "{}", 5, true))
      assert.matches(":fresh$", sockets[1].pool)
      assert.is_false(sockets[1].kept)
    end)

    it("answers nil, err (kind invalid) in a phase without cosockets", function()
      runtime.can_yield = function() return false, "log" end
      local value, err = t:send("GET", URL, "/auth/me", nil, 5, false)
      assert.is_nil(value)
      assert.equals("invalid", err.kind)
      assert.equals("log", err.phase)
      assert.is_false(err.retryable)
      assert.is_false(err.sent)
      assert.matches('"log" phase', err.message, 1, true)
      assert.equals(0, #sockets)
      local _, derr = t:download("http://127.0.0.1:9/x", "/nonexistent-dir/never-written", false, 5)
      assert.equals("invalid", derr.kind)
      local _, uerr = t:upload("http://127.0.0.1:9/x", "/etc/hostname", "text/plain", false, 5)
      assert.equals("invalid", uerr.kind)
    end)

    -- (spec/hostile_spec.lua plays these on real cosockets, against libcurl)
    it("reads bare-LF heads and lines split across receives", function()
      ngxt.CHUNK = 3 -- every receive returns at most 3 bytes: "\r" and "\n" land apart
      local body = '{"credits":7}'
      scripts[1] = { data = "HTTP/1.1 200 OK\nContent-Type: application/json\r\nContent-Length: " .. #body ..
        "\n\n" .. body }
      local value = assert(t:send("GET", URL, "/auth/me", nil, 5, false))
      assert.equals(7, value.credits)
      assert.is_true(sockets[1].kept)
    end)

    it("refuses a chunk-size line longer than LINE_LIMIT without reading on", function()
      scripts[1] = { data = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" ..
        string.rep("0", ngxt.LINE_LIMIT * 4), after = "timeout" } -- and then nothing, ever
      local value, err = t:send("GET", URL, "/auth/me", nil, 5, false)
      assert.is_nil(value)
      assert.equals("network", err.kind)
      assert.matches("chunk size line longer than", err.message, 1, true)
      assert.is_false(sockets[1].kept)
    end)

    it("never pools a connection with bytes read past the response", function()
      scripts[1] = { data = json_response('{"a":1}') .. json_response('{"injected":true}') }
      assert(t:send("GET", URL, "/auth/me", nil, 5, false))
      assert.is_false(sockets[1].kept)
      assert.is_true(sockets[1].closed)
    end)
  end)

  -- The response head is read with byte scans, not Lua patterns, and the API
  -- destination is kept between calls (bench/README.md, 4b): these pin what
  -- the patterns read, so that no answer is read differently.
  describe("reading the response head", function()
    local function head_of(data)
      local sock = fake_socket({ data = data }, {})
      return ngxt.read_head(ngxt.reader(sock, core.monotime() + 5))
    end

    it("names are what comes before the first colon, lowercased; values are trimmed of spaces and tabs", function()
      local status, h, keep = head_of("HTTP/1.1 200 OK\r\n" ..
        "X-A:\t  v a\tl \t \r\n" ..
        "X-B:no-space\r\n" ..
        "X-Url: http://h:80/p?q=a:b \r\n" ..
        "X-Empty: \t \r\n" ..
        "Mixed-CASE: V\r\n" ..
        "X-Sp : kept\r\n" ..
        ": no name\r\n" ..
        "no colon at all\r\n" ..
        "X-List: a\r\nx-list:b\r\n" ..
        "Content-Type: text/a\r\ncontent-type: text/b\r\n\r\n")
      assert.equals(200, status)
      assert.is_true(keep)
      assert.equals("v a\tl", h["x-a"])
      assert.equals("no-space", h["x-b"])
      assert.equals("http://h:80/p?q=a:b", h["x-url"])
      assert.equals("", h["x-empty"])
      assert.equals("V", h["mixed-case"])
      assert.equals("kept", h["x-sp "]) -- the name is not trimmed (as before: everything up to the colon)
      assert.equals("a, b", h["x-list"]) -- list-valued repeats are joined
      assert.equals("text/a", h["content-type"]) -- single-valued ones keep the first
      local names = {}
      for k in pairs(h) do names[#names + 1] = k end
      table.sort(names)
      assert.same({ "content-type", "mixed-case", "x-a", "x-b", "x-empty", "x-list", "x-sp ", "x-url" }, names)
    end)

    it("reads the status line's version and code, and refuses anything else as malformed", function()
      local status, _, keep = head_of("HTTP/1.1 204\r\n\r\n") -- no reason phrase
      assert.equals(204, status)
      assert.is_true(keep)
      status, _, keep = head_of("HTTP/1.0 200 OK\r\n\r\n")
      assert.equals(200, status)
      assert.is_false(keep) -- HTTP/1.0 closes unless it says keep-alive
      status, _, keep = head_of("HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\n\r\n")
      assert.equals(200, status)
      assert.is_true(keep)
      status = head_of("HTTP/1.1 2000 OK\r\n\r\n") -- the first three digits, as the pattern read them
      assert.equals(200, status)
      for _, bad in ipairs({ "HTTP/1.1 20 OK", "HTTP/1.x 200 OK", "HTTP/2 200", "http/1.1 200 OK",
        "HTTP/1.1  200 OK", "HTTP/11.1 200 OK", "ICY 200 OK", "HTTP/1.1" }) do
        local st, err, got = head_of(bad .. "\r\n\r\n")
        assert.is_nil(st, bad)
        assert.equals("malformed: malformed status line", err, bad)
        assert.is_true(got)
      end
    end)

    it("reads Content-Length with leading zeros or repeated, and refuses other forms", function()
      local body = '{"a":1}'
      for _, cl in ipairs({ "007", "7", " 7 ", "7, 7", "7,7" }) do
        scripts[1] = { data = response("HTTP/1.1 200 OK", { "Content-Length: " .. cl }, body) }
        local value = t:send("GET", URL, "/auth/me", nil, 5, false)
        assert.equals(1, value and value.a, cl)
        assert.is_true(sockets[#sockets].kept, cl)
      end
      for _, cl in ipairs({ "+7", "7a", "", "7, 8", "0x7", "1234567890123456789", "-7" }) do
        scripts[1] = { data = response("HTTP/1.1 200 OK", { "Content-Length: " .. cl }, body) }
        local value, err = t:send("GET", URL, "/auth/me", nil, 5, false)
        assert.is_nil(value, cl)
        assert.equals("network", err.kind, cl)
        assert.matches("invalid Content-Length", err.message, 1, true)
      end
    end)

    it("reads a Content-Length body that arrives in pieces, and reports one cut short with what arrived", function()
      ngxt.CHUNK = 4
      local body = '{"long":"' .. ("x"):rep(50) .. '"}'
      scripts[1] = { data = json_response(body) }
      local value = assert(t:send("GET", URL, "/auth/me", nil, 5, false))
      assert.equals(50, #value.long)
      assert.is_true(sockets[1].kept)
      scripts[1] = { data = response("HTTP/1.1 200 OK", { "Content-Length: 10" }, '{"a":') }
      local _, err = t:send("GET", URL, "/auth/me", nil, 5, false)
      assert.equals("network", err.kind)
      assert.is_true(err.sent)
      assert.matches("5 of 10 bytes", err.message, 1, true)
    end)

    it("connects each URL to its own origin, though the last origin's destination is kept", function()
      -- (a head builder that builds for any URL: the client's own sends only under base_url)
      local tr = assert(ngxt.new(handle, {}, function(method, url) return method .. " " .. url .. " HTTP/1.1\r\n\r\n" end))
      local cases = {
        { "http://127.0.0.1:80/api/x", "127.0.0.1", 80, "scravio:http:127.0.0.1:80:plain:" },
        { "http://127.0.0.1:80/api/y", "127.0.0.1", 80, "scravio:http:127.0.0.1:80:plain:" },
        { "http://127.0.0.1:8080/api/x", "127.0.0.1", 8080, "scravio:http:127.0.0.1:8080:plain:" }, -- ":80" is its prefix
        { "http://127.0.0.1:8080?q=1", "127.0.0.1", 8080, "scravio:http:127.0.0.1:8080:plain:" },
        { "http://127.0.0.1:8080", "127.0.0.1", 8080, "scravio:http:127.0.0.1:8080:plain:" },
        { "http://localhost:8080/api/x", "127.0.0.1", 8080, "scravio:http:localhost:8080:plain:" },
        { "http://LOCALHOST:8080/api/x", "127.0.0.1", 8080, "scravio:http:localhost:8080:plain:" },
        { "https://127.0.0.1:8080/api/x", "127.0.0.1", 8080, "scravio:https:127.0.0.1:8080:verify:" },
        { "http://127.0.0.1/api/x", "127.0.0.1", 80, "scravio:http:127.0.0.1:80:plain:" },
      }
      for i, c in ipairs(cases) do
        scripts[1] = { data = json_response("{}") }
        assert(tr:send("GET", c[1], "/x", nil, 5, false))
        local sock = sockets[#sockets]
        assert.equals(i, #sockets)
        assert.same({ c[2], c[3], c[4] }, { sock.host, sock.port, sock.pool }, c[1])
        assert.equals("GET " .. c[1] .. " HTTP/1.1\r\n\r\n", sock.sent[1])
      end
      -- a fresh connection draws from its own pool name, on the kept destination too
      scripts[1] = { data = json_response("{}") }
      assert(tr:send("POST", "http://127.0.0.1/api/x", "/x", nil, 5, true))
      assert.equals("scravio:http:127.0.0.1:80:plain::fresh", sockets[#sockets].pool)
      -- an authority the parser refuses is refused even right after a kept origin
      for _, bad in ipairs({ "http://127.0.0.1@evil/api/x", "http://127.0.0.1:80@evil/api/x", "ftp://127.0.0.1/x" }) do
        local v, err = tr:send("GET", bad, "/x", nil, 5, false)
        assert.is_nil(v, bad)
        assert.equals("invalid", err.kind, bad)
        assert.matches("unsupported URL", err.message, 1, true)
      end
      assert.equals(#cases + 1, #sockets)
    end)
  end)

  describe("TLS", function()
    it("verifies with SNI and keys the pool by verification and CA file", function()
      handle:close()
      handle = assert(core.client{ base_url = "https://api.example.com/api", api_key = KEY })
      t = assert(ngxt.new(handle, { ca_file = "/etc/ca.pem" }))
      scripts[1] = { data = json_response("{}") }
      assert(t:send("GET", "https://api.example.com/api/auth/me", "/auth/me", nil, 5, false))
      local s = sockets[1]
      assert.equals("scravio:https:api.example.com:443:verify:/etc/ca.pem", s.pool)
      assert.same({ false, "api.example.com", true }, s.handshake_args)
      assert.equals(1, t.stats.handshakes)
    end)

    it("reports a failed verification as a network error that is not retried", function()
      handle:close()
      handle = assert(core.client{ base_url = "https://api.example.com/api", api_key = KEY })
      t = assert(ngxt.new(handle, {}))
      scripts[1] = { handshake = { nil, "20: unable to get local issuer certificate" } }
      local _, err = t:send("GET", "https://api.example.com/api/auth/me", "/auth/me", nil, 5, false)
      assert.equals("network", err.kind)
      assert.is_false(err.retryable)
      assert.is_false(err.sent)
      assert.matches("lua_ssl_trusted_certificate", err.message, 1, true)
    end)
  end)

  describe("download", function()
    local function tmp()
      local p = os.tmpname()
      finally(function() os.remove(p) end)
      return p
    end

    it("replaces a dead pooled storage connection once; a second failure is an error", function()
      local payload = "a,b\n"
      scripts[1] = { reused = 2, data = "" } -- closed by storage while idle in the pool
      scripts[2] = { data = response("HTTP/1.1 200 OK", { "Content-Length: " .. #payload }, payload) }
      local file = tmp()
      assert.equals(#payload, (t:download("http://127.0.0.1:9000/e.csv", file, false, 10)))
      assert.equals(1, t.stats.stale)
      scripts[1] = { reused = 2, data = "HTTP/1.1 200 OK\r\nContent-Le" } -- bytes arrived: no second try
      local bytes, err = t:download("http://127.0.0.1:9000/e.csv", file, false, 10)
      assert.is_nil(bytes)
      assert.equals("network", err.kind)
      assert.equals(1, t.stats.stale)
    end)

    it("streams a 2xx body to the file in pieces, with no credentials", function()
      ngxt.CHUNK = 7
      local payload = string.rep("lead,email@example.com\n", 50)
      scripts[1] = { data = response("HTTP/1.1 200 OK", { "Content-Length: " .. #payload }, payload) }
      local file = tmp()
      local bytes, status = t:download("http://127.0.0.1:9000/exports/e.csv?sig=1", file, false, 10)
      assert.equals(#payload, bytes)
      assert.equals(200, status)
      local f = io.open(file, "rb")
      assert.equals(payload, f:read("a"))
      f:close()
      local head = sockets[1].sent[1]
      assert.matches("^GET /exports/e%.csv%?sig=1 HTTP/1%.1\r\n", head)
      assert.is_nil(head:find("X-API-Key", 1, true))
      assert.is_nil(head:find("Accept: application/json", 1, true))
    end)

    it("bounds each read by the client's timeout (a stall), not by the whole-transfer bound", function()
      scripts[1] = { data = response("HTTP/1.1 200 OK", { "Content-Length: 2" }, "ok") }
      assert(t:download("http://127.0.0.1:9000/f", tmp(), false, nil))
      local r = sockets[1].max_read
      assert.is_true(r <= 5000, "read timeout " .. r .. " ms") -- the client's timeout is 5 s
    end)

    it("streams chunked bodies too", function()
      scripts[1] = { data = response("HTTP/1.1 200 OK", { "Transfer-Encoding: chunked" },
        "3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n") }
      local file = tmp()
      assert.equals(5, (t:download("http://127.0.0.1:9000/f", file, false, 10)))
    end)

    it("follows storage redirects to allowed URLs", function()
      scripts[1] = { data = response("HTTP/1.1 302 Found", { "Location: /real/path", "Content-Length: 0" }) }
      scripts[2] = { data = response("HTTP/1.1 200 OK", { "Content-Length: 2" }, "ok") }
      local file = tmp()
      assert.equals(2, (t:download("http://127.0.0.1:9000/f", file, false, 10)))
      assert.matches("^GET /real/path HTTP", sockets[2].sent[1])
    end)

    it("refuses a redirect to plain http on a public host", function()
      scripts[1] = { data = response("HTTP/1.1 302 Found", { "Location: http://evil.example.com/x",
        "Content-Length: 0" }) }
      local _, err = t:download("http://127.0.0.1:9000/f", tmp(), false, 10)
      assert.equals("invalid", err.kind)
      assert.equals(1, #sockets)
    end)

    it("keeps an error status's body for the error object", function()
      local body = "<Error><Code>NoSuchKey</Code></Error>"
      scripts[1] = { data = response("HTTP/1.1 404 Not Found", { "Content-Type: application/xml",
        "Content-Length: " .. #body }, body) }
      local _, err = t:download("http://127.0.0.1:9000/f", tmp(), false, 10)
      assert.equals("api", err.kind)
      assert.equals(404, err.status)
      assert.equals("(download)", err.path)
    end)

    it("reports an unwritable file as kind io", function()
      local _, err = t:download("http://127.0.0.1:9000/f", "/nonexistent-dir/x/y", false, 10)
      assert.equals("io", err.kind)
    end)
  end)

  describe("upload", function()
    local function file_with(text)
      local p = os.tmpname()
      local f = io.open(p, "wb")
      f:write(text)
      f:close()
      finally(function() os.remove(p) end)
      return p
    end

    it("streams the file after a storage head without credentials", function()
      ngxt.CHUNK = 5
      local text = "email\na@example.com\nb@example.com\n"
      scripts[1] = { data = response("HTTP/1.1 200 OK", { "Content-Length: 0" }) }
      local status = t:upload("http://127.0.0.1:9000/up?sig=2", file_with(text), "text/csv", false, 10)
      assert.equals(200, status)
      local sent = sockets[1].sent
      assert.is_true(#sent > 3) -- streamed in pieces
      local head = sent[1]
      assert.matches("^PUT /up%?sig=2 HTTP/1%.1\r\n", head)
      assert.matches("\r\nContent%-Type: text/csv\r\nContent%-Length: " .. #text .. "\r\n\r\n$", head)
      assert.is_nil(head:find("X-API-Key", 1, true))
      assert.equals(text, table.concat(sent, "", 2))
    end)

    it("never pools the fresh connection of a retried download: unsafe requests draw only unused ones", function()
      scripts[1] = { reused = 1, send_err = "broken pipe" }
      scripts[2] = { data = response("HTTP/1.1 200 OK", { "Content-Length: 3" }, "abc") }
      local file = os.tmpname()
      assert.equals(3, t:download("http://127.0.0.1:9000/f", file, false, 10))
      os.remove(file)
      assert.equals(1, t.stats.stale)
      assert.is_false(sockets[2].kept) -- closed, not put back into the pool fresh connections come from
      assert.is_true(sockets[2].closed)
      -- a fresh connection that comes out of a pool anyway is never used
      scripts[1] = { reused = 1, data = json_response('{}') }
      local v, err = t:send("POST", "http://127.0.0.1:8080/api/campaigns", "/campaigns", "{}", 5, true)
      assert.is_nil(v)
      assert.equals("network", err.kind)
      assert.is_false(err.sent)
      assert.equals(0, #sockets[3].sent)
    end)

    it("a download (scravio.download) creates a new file 0600 and keeps an existing file's mode", function()
      local download = require("scravio.download")
      local client = { _transport = t, _core = handle }
      local function mode_of(path)
        local p = io.popen("stat -c %a '" .. path .. "'")
        local m = p:read("*l")
        p:close()
        return m
      end
      local dir = os.tmpname()
      os.remove(dir)
      os.execute("mkdir -m 700 '" .. dir .. "'")
      local url = function() return "http://127.0.0.1:9000/f" end
      scripts[1] = { data = response("HTTP/1.1 200 OK", { "Content-Length: 3" }, "abc") }
      assert(download.to_file(client, url, dir .. "/new.csv", {}))
      assert.equals("600", mode_of(dir .. "/new.csv"))
      local f = assert(io.open(dir .. "/old.csv", "wb"))
      f:write("old")
      f:close()
      os.execute("chmod 640 '" .. dir .. "/old.csv'")
      scripts[1] = { data = response("HTTP/1.1 200 OK", { "Content-Length: 3" }, "new") }
      assert(download.to_file(client, url, dir .. "/old.csv", {}))
      assert.equals("640", mode_of(dir .. "/old.csv"))
      f = assert(io.open(dir .. "/old.csv", "rb"))
      assert.equals("new", f:read("*a"))
      f:close()
      os.execute("rm -rf '" .. dir .. "'")
    end)

    it("replaces a dead pooled storage connection once for an upload too", function()
      scripts[1] = { reused = 1, send_err = "broken pipe" }
      scripts[2] = { data = response("HTTP/1.1 200 OK", { "Content-Length: 0" }) }
      assert.equals(200, t:upload("http://127.0.0.1:9000/up", file_with("x\n"), "text/csv", false, 10))
      assert.equals(1, t.stats.stale)
      scripts[1] = { send_err = "broken pipe" } -- a fresh connection failing: not retried
      local status, err = t:upload("http://127.0.0.1:9000/up", file_with("x\n"), "text/csv", false, 10)
      assert.is_nil(status)
      assert.equals("network", err.kind)
      assert.is_false(err.sent)
    end)

    it("follows a 307/308 (a region redirect): the whole file again, to the new URL, no credentials", function()
      local text = "email\na@example.com\n"
      scripts[1] = { data = response("HTTP/1.1 307 Temporary Redirect",
        { "Location: http://127.0.0.1:9001/other/up?sig=3", "Content-Length: 0" }) }
      scripts[2] = { data = response("HTTP/1.1 308 Permanent Redirect", { "Location: /third", "Content-Length: 0" }) }
      scripts[3] = { data = response("HTTP/1.1 200 OK", { "Content-Length: 0" }) }
      assert.equals(200, t:upload("http://127.0.0.1:9000/up?sig=2", file_with(text), "text/csv", false, 10))
      assert.equals(3, #sockets)
      assert.matches("^PUT /other/up%?sig=3 HTTP/1%.1\r\n", sockets[2].sent[1])
      assert.matches("^PUT /third HTTP/1%.1\r\n", sockets[3].sent[1])
      for i = 2, 3 do
        local head = sockets[i].sent[1]
        assert.is_nil(head:find("X-API-Key", 1, true))
        assert.is_nil(head:lower():find("authorization", 1, true))
        assert.equals(text, table.concat(sockets[i].sent, "", 2))
      end
    end)

    it("refuses an upload redirect to plain http on a public host, and ends a redirect loop", function()
      scripts[1] = { data = response("HTTP/1.1 307 Temporary Redirect", { "Location: http://evil.example.com/x",
        "Content-Length: 0" }) }
      local _, err = t:upload("http://127.0.0.1:9000/up", file_with("x"), nil, false, 10)
      assert.equals("invalid", err.kind)
      assert.equals("(upload)", err.path)
      assert.equals(1, #sockets)
      for i = 1, 7 do
        scripts[i] = { data = response("HTTP/1.1 307 Temporary Redirect", { "Location: /again", "Content-Length: 0" }) }
      end
      local status
      status, err = t:upload("http://127.0.0.1:9000/up", file_with("x"), nil, false, 10)
      assert.is_nil(status)
      assert.equals("api", err.kind)
      assert.is_false(err.retryable)
      assert.truthy(err.message:find("redirect loop", 1, true))
    end)

    it("does not follow a 302 on an upload (it does not promise to keep the PUT)", function()
      scripts[1] = { data = response("HTTP/1.1 302 Found", { "Location: /elsewhere", "Content-Length: 0" }) }
      local status, err = t:upload("http://127.0.0.1:9000/up", file_with("x"), nil, false, 10)
      assert.is_nil(status)
      assert.equals(302, err.status)
      assert.equals(1, #sockets)
    end)

    it("turns a storage refusal into an error object", function()
      scripts[1] = { data = response("HTTP/1.1 403 Forbidden", { "Content-Length: 9" }, "Forbidden") }
      local status, err = t:upload("http://127.0.0.1:9000/up", file_with("x"), nil, false, 10)
      assert.is_nil(status)
      assert.equals("api", err.kind)
      assert.equals(403, err.status)
      assert.equals("(upload)", err.path)
    end)
  end)

  describe("server echoes of the key (masked as the libcurl transport masks: core.mask)", function()
    -- No 12-byte prefix of the key may show (its public part is 9 bytes: "sk_test_a").
    local function assert_clean(text, what)
      assert.falsy(tostring(text):find(KEY:sub(1, 12), 1, true), what .. " holds part of the key")
    end

    it("adds per-call header lines in C, into the one head (CR/LF refused)", function()
      scripts[1] = { data = json_response('{}') }
      assert(t:send("GET", URL, "/auth/me", nil, 5, false, false, { "X-Note: 1", "X-Other: two" }))
      assert.matches("\r\nX%-Note: 1\r\nX%-Other: two\r\n\r\n$", sockets[1].sent[1])
      local v, err = t:send("GET", URL, "/auth/me", nil, 5, false, false, { "X-Note: a\r\nX-API-Key: x" })
      assert.is_nil(v)
      assert.equals("invalid", err.kind)
      assert.is_false(err.sent)
      -- and the builder sends nothing outside base_url
      v, err = t:send("GET", "http://127.0.0.1:8081/api/auth/me", "/auth/me", nil, 5, false)
      assert.is_nil(v)
      assert.equals("invalid", err.kind)
      assert.equals(1, #sockets)
    end)

    it("masks a successful answer's X-Request-Id", function()
      scripts[1] = { data = response("HTTP/1.1 200 OK", { "Content-Length: 2", "X-Request-Id: req-" .. KEY }, "{}") }
      local value, status, rid = t:send("GET", URL, "/auth/me", nil, 5, false)
      assert.same({}, value)
      assert.equals(200, status)
      assert.equals("req-" .. handle:info().key_hint, rid)
    end)

    it("masks before cutting, and masks a key the server cut itself; long ids as the C transport keeps them", function()
      for _, rid in ipairs({ ("r"):rep(240) .. KEY, "r-" .. KEY:sub(1, 15), ("r"):rep(5000) .. KEY }) do
        scripts[1] = { data = response("HTTP/1.1 500 Internal Server Error", { "Content-Length: 0",
          "X-Request-Id: " .. rid }) }
        local value, err = t:send("GET", URL, "/auth/me", nil, 5, false)
        assert.is_nil(value)
        assert_clean(err.request_id, "err.request_id")
        assert_clean(tostring(err), "tostring(err)")
        assert.equals(core.mask(handle, rid, core.HEADER_VALUE_MAX), err.request_id)
      end
      scripts[1] = { data = response("HTTP/1.1 200 OK", { "Content-Length: 2", "X-Request-Id: " .. ("r"):rep(5000) }, "{}") }
      local _, _, rid = t:send("GET", URL, "/auth/me", nil, 5, false)
      assert.equals(core.HEADER_VALUE_MAX, #rid) -- the same cut as libcurl's
    end)
  end)
end)
