-- TLS verification against the fake server's TLS port (its own CA):
-- on by default, hostname checked, a custom CA honoured, and a refused
-- certificate is a "network" error that is never retried and never reaches
-- the API (the key is not sent to an unverified peer).
local H = require("spec.support.helpers")

describe("TLS", function()
  local srv

  setup(function() srv = H.start() end)
  teardown(function() if srv then srv:stop() end end)
  before_each(function() srv:reset() end)

  local function tls_requests()
    local n = 0
    for _, r in ipairs(srv:requests()) do
      if r.tls then n = n + 1 end
    end
    return n
  end

  it("refuses the server's certificate by default (its CA is not trusted): kind network, not retried", function()
    local events = {}
    local c = H.client(srv, { base_url = srv.tls_base_url, max_retries = 3,
      on_event = function(ev) events[#events + 1] = ev end })
    local me, err = c:me()
    assert.is_nil(me)
    assert.equals("network", err.kind)
    assert.is_false(err.retryable)
    assert.is_false(err.sent)
    assert.equals(1, err.attempts)
    assert.equals(0, #H.events_of(events, "retry"))
    assert.truthy(err.message:lower():find("certificate", 1, true) or err.message:lower():find("ssl", 1, true))
    assert.equals(0, tls_requests())
  end)

  it("accepts it with ca_file = the server's CA", function()
    local c = H.client(srv, { base_url = srv.tls_base_url, ca_file = srv.ca_file })
    local me = assert(c:me())
    assert.is_string(me.email)
    assert.equals(1, tls_requests())
    assert.is_true(c:info().custom_ca)
    -- and keeps using it across requests (a kept-alive TLS connection)
    for _ = 1, 3 do assert(c:me()) end
    assert.equals(4, tls_requests())
  end)

  it("accepts it under the name in its certificate (localhost)", function()
    local base = srv.tls_base_url:gsub("127%.0%.0%.1", "localhost")
    local c = H.client(srv, { base_url = base, ca_file = srv.ca_file })
    assert(c:me())
  end)

  it("checks the host name: a valid certificate for another name is refused", function()
    -- The certificate names 127.0.0.1 and localhost; the v4-mapped IPv6 form of
    -- the same address reaches the same server under a name it does not carry.
    local base = "https://[::ffff:127.0.0.1]:" .. srv.tls_port .. "/api"
    local c = H.client(srv, { base_url = base, ca_file = srv.ca_file, max_retries = 2 })
    local me, err = c:me()
    assert.is_nil(me)
    assert.equals("network", err.kind)
    assert.is_false(err.retryable)
    assert.equals(1, err.attempts)
    assert.equals(0, tls_requests())
  end)

  it("refuses a CA file it cannot read in scravio.new, before any request", function()
    -- (it was accepted, and every request then failed as a network error)
    local c, err = H.scravio.new({ base_url = srv.tls_base_url, api_key = srv.api_key,
      ca_file = "/nonexistent/ca.pem" })
    assert.is_nil(c)
    assert.equals("invalid", err.kind)
    assert.equals("ca_file", err.errors[1].param)
    assert.truthy(err.message:find("/nonexistent/ca.pem", 1, true), err.message)
    assert.truthy(err.message:find("No such file", 1, true), err.message)
    assert.equals(0, tls_requests())
  end)

  it("plain http to the TLS port fails cleanly", function()
    local base = "http://127.0.0.1:" .. srv.tls_port .. "/api"
    local c = H.client(srv, { base_url = base, max_retries = 0 })
    local me, err = c:me()
    assert.is_nil(me)
    assert.is_string(err.kind)
  end)
end)
