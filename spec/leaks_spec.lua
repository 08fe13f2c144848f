-- A key must never leak from values a server sends back (issue 10, "Keys must
-- never leak"), through the libcurl transport; the cosocket transport's side
-- is in spec/openresty/ngx_transport_spec.lua ("server echoes"). A scripted
-- server sends byte-exact answers that carry the client's own key:
--   * in X-Request-Id of a successful answer (the result's request_id and the
--     "response" event),
--   * just past the old 255-byte cut of a header value,
--   * already cut by the server (a prefix of the key),
--   * in a Content-Type and a redirect Location that end up in err.message.
-- One function masks them all (core.mask, csrc/mask.c), before any cut.
local H = require("spec.support.helpers")
local S = require("spec.support.scripted_server")
local core = require("scravio.core")
local scravio = H.scravio

local KEY = "sk_live_" .. "Q7rT2mXa9LpZ4kW8nB3vC6yD"

-- No piece of the key beyond its public prefix (8 bytes) + 3 may show.
local function assert_clean(text, what)
  text = tostring(text)
  for len = 12, #KEY do
    for i = 1, #KEY - len + 1 do
      local piece = KEY:sub(i, i + len - 1)
      assert.falsy(text:find(piece, 1, true), what .. " holds part of the key: " .. piece)
      if len > 12 then break end
    end
  end
end

local function http(status, headers, body)
  local out = { "HTTP/1.1 " .. status }
  for _, h in ipairs(headers) do out[#out + 1] = h end
  body = body or ""
  out[#out + 1] = "Content-Length: " .. #body
  out[#out + 1] = "Connection: close"
  return table.concat(out, "\r\n") .. "\r\n\r\n" .. body
end

describe("masking values a server sends back (libcurl)", function()
  local srv
  after_each(function() if srv then srv.stop() end srv = nil end)

  local function client_for(responses, opts)
    srv = S.start(responses)
    local o = { base_url = srv.url .. "/api", api_key = KEY, max_retries = 0, transport = "curl", timeout = 5 }
    for k, v in pairs(opts or {}) do o[k] = v end
    return assert(scravio.new(o))
  end

  it("core.mask: the key, and any prefix of it past the public part, become the hint; idempotent", function()
    local c = assert(scravio.new({ base_url = "http://127.0.0.1:1/api", api_key = KEY }))
    local masked = core.mask(c._core, "a" .. KEY .. "b" .. KEY:sub(1, 14) .. "|" .. KEY:sub(1, 10))
    assert_clean(masked, "core.mask")
    local hint = c:info().key_hint
    assert.equals("a" .. hint .. "b" .. hint .. "|" .. KEY:sub(1, 10), masked)
    assert.equals(masked, core.mask(c._core, masked))
    -- masked before cut: the cut applies to the masked text
    assert.equals(("x"):rep(10) .. hint:sub(1, 5), core.mask(c._core, ("x"):rep(10) .. KEY, 15))
    assert.equals(42, core.mask(c._core, 42))
    assert.equals("plain", core.mask(nil, "plain"))
  end)

  it("a successful answer's X-Request-Id: the result and the response event are masked", function()
    local hook, events = H.recorder()
    local c = client_for({ http("200 OK", { "Content-Type: application/json", "X-Request-Id: req-" .. KEY },
      '{"credits":1}') }, { on_event = hook })
    local me, status, rid = require("scravio.request").call(c, "GET", "/auth/me")
    assert.equals(1, me.credits)
    assert.equals(200, status)
    assert.equals("req-" .. c:info().key_hint, rid)
    local responses = H.events_of(events, "response")
    assert.equals(1, #responses)
    assert.equals(rid, responses[1].request_id)
  end)

  it("a key just past the old 255-byte cut, or cut by the server itself, never survives in part", function()
    for _, rid in ipairs({ ("r"):rep(240) .. KEY, "r-" .. KEY:sub(1, 15), ("r"):rep(5000) .. KEY }) do
      local c = client_for({ http("500 Internal Server Error", { "X-Request-Id: " .. rid }, "") })
      local v, err = c:request("GET", "/auth/me")
      assert.is_nil(v)
      assert.equals(500, err.status)
      assert_clean(err.request_id, "err.request_id")
      assert_clean(tostring(err), "tostring(err)")
      -- long ids are kept whole up to core.HEADER_VALUE_MAX, then cut (after masking)
      assert.is_true(#err.request_id <= core.HEADER_VALUE_MAX)
      if #rid < 300 then assert.equals(core.mask(c._core, rid), err.request_id) end
      srv.stop()
      srv = nil
    end
  end)

  it("a key in a Content-Type or a redirect Location does not reach err.message", function()
    local c = client_for({ http("502 Bad Gateway", { "Content-Type: text/" .. ("h"):rep(230) .. KEY }, "<html/>") })
    local _, err = c:request("GET", "/auth/me")
    assert.equals(502, err.status)
    assert_clean(err.message, "err.message")
    assert_clean(tostring(err), "tostring(err)")
    srv.stop()
    c = client_for({ http("302 Found", { "Location: https://" .. ("h"):rep(230) .. KEY .. ".example/x" }, "") })
    _, err = c:request("GET", "/auth/me")
    assert.equals(302, err.status)
    assert_clean(err.message, "err.message")
    assert_clean(tostring(err), "tostring(err)")
  end)
end)

describe("proxies from the environment", function()
  -- One rule on both transports: http_proxy / HTTPS_PROXY / ALL_PROXY are
  -- ignored; only the `proxy` option (libcurl) sends through a proxy. Lua
  -- cannot set its own environment, so the call runs in a child process.
  local function me_in_child(env, opts)
    local proxy = S.start({ http("200 OK", { "Content-Type: application/json" }, "{}") })
    local code = string.format([[local c = assert(require("scravio").new{ api_key = %q,
      base_url = "http://127.0.0.1:1/api", max_retries = 0, timeout = 5, proxy = %s })
      local v, err = c:me() io.write(v and "ok" or err.kind)]], KEY, opts.proxy and string.format("%q", proxy.url) or "nil")
    local vars = {}
    for _, name in ipairs(env) do vars[#vars + 1] = name .. "=" .. proxy.url end
    local p = io.popen(table.concat(vars, " ") .. [[ LUA_PATH="./lua/?.lua;./lua/?/init.lua;;" ]] ..
      [[LUA_CPATH="./build/lua5.4/?.so;;" lua5.4 -e ']] .. code:gsub("'", [['\'']]) .. "'")
    local out = p:read("*a")
    p:close()
    local seen = proxy.requests()
    proxy.stop()
    return out, seen
  end

  it("a proxy listener named by http_proxy, HTTPS_PROXY and ALL_PROXY sees nothing", function()
    local out, seen = me_in_child({ "http_proxy", "HTTP_PROXY", "HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy" }, {})
    assert.equals("network", out) -- 127.0.0.1:1, directly: refused
    assert.equals(0, #seen)
  end)

  it("the proxy option still sends through the proxy (the listener works)", function()
    local out, seen = me_in_child({}, { proxy = true })
    assert.equals("ok", out)
    assert.equals(1, #seen)
    assert.truthy(seen[1]:find("GET http://127.0.0.1:1/api/auth/me", 1, true))
  end)
end)
