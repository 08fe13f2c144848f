-- Keys must never leak (issue 10): the one masking function (core.mask,
-- csrc/mask.c) on its own, and proxies named by the environment. What servers
-- echo back is played to both transports in spec/hostile/leaks.lua (and to
-- scripted cosockets in spec/openresty/ngx_transport_spec.lua).
local H = require("spec.support.helpers")
local hostile = require("spec.support.hostile")
local core = require("scravio.core")
local scravio = H.scravio

local KEY = "sk_live_" .. "Q7rT2mXa9LpZ4kW8nB3vC6yD"

-- No 12-byte piece of the key (its public prefix is 8 bytes) may show.
local function assert_clean(text, what)
  text = tostring(text)
  for i = 1, #KEY - 11 do
    local piece = KEY:sub(i, i + 11)
    assert.falsy(text:find(piece, 1, true), what .. " holds part of the key: " .. piece)
  end
end

describe("masking values a server sends back", function()
  it("core.mask: the key, and any prefix of it past the public part, become the hint; idempotent", function()
    local c = assert(scravio.new({ base_url = "http://127.0.0.1:1/api", api_key = KEY }))
    local masked = core.mask(c._core, "a" .. KEY .. "b" .. KEY:sub(1, 14) .. "|" .. KEY:sub(1, 10))
    assert_clean(masked, "core.mask")
    local hint = c:info().key_hint
    assert.equals("a" .. hint .. "b" .. hint .. "|" .. KEY:sub(1, 10), masked)
    assert.equals(masked, core.mask(c._core, masked))
    -- masked before cut: the cut applies to the masked text
    assert.equals(("x"):rep(10) .. hint:sub(1, 5), core.mask(c._core, ("x"):rep(10) .. KEY, 15))
    -- a piece of the key from anywhere in it (no public prefix, its tail, its
    -- middle) is masked once it is 12 bytes or more; 11 bytes are left alone
    for _, piece in ipairs({ KEY:sub(9), KEY:sub(15), KEY:sub(12, 23), KEY:sub(3, 20) }) do
      assert_clean(core.mask(c._core, "key " .. piece .. " refused"), "core.mask of " .. piece)
      assert.equals("key " .. hint .. " refused", core.mask(c._core, "key " .. piece .. " refused"))
    end
    assert.equals("x" .. KEY:sub(12, 22), core.mask(c._core, "x" .. KEY:sub(12, 22)))
    assert.equals(42, core.mask(c._core, 42))
    assert.equals("plain", core.mask(nil, "plain"))
  end)
end)

describe("proxies from the environment", function()
  -- One rule on both transports: http_proxy / HTTPS_PROXY / ALL_PROXY are
  -- ignored; only the `proxy` option (libcurl) sends through a proxy. Lua
  -- cannot set its own environment, so the call runs in a child process.
  local function me_in_child(env, opts)
    local proxy = hostile.start({ { hostile.json(200, "{}"), close = true } })
    local code = string.format([[local c = assert(require("scravio").new{ api_key = %q,
      base_url = "http://127.0.0.1:1/api", max_retries = 0, timeout = 5, proxy = %s })
      local v, err = c:me() io.write(v and "ok" or err.kind)]], KEY, opts.proxy and string.format("%q", proxy.base_url) or "nil")
    local vars = {}
    for _, name in ipairs(env) do vars[#vars + 1] = name .. "=" .. proxy.base_url end
    local p = io.popen(table.concat(vars, " ") .. [[ LUA_PATH="./lua/?.lua;./lua/?/init.lua;;" ]] ..
      [[LUA_CPATH="./build/lua5.4/?.so;;" lua5.4 -e ']] .. code:gsub("'", [['\'']]) .. "'")
    local out = p:read("*a")
    p:close()
    local seen = proxy:log().requests
    proxy:stop()
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
    assert.equals("http://127.0.0.1:1/api/auth/me", seen[1].target)
  end)
end)

describe("credit-spending answers without an id", function()
  it("c:validate() answered 202 without a jobId is reconciled, then an unknown outcome", function()
    local srv = hostile.start({
      { hostile.json(202, '{"campaignId":"507f1f77bcf86cd799439011","status":"validating"}') },
      { hostile.json(200, '{"success":true,"data":{"_id":"507f1f77bcf86cd799439011"}}') }, -- no postValidation
    })
    local c = assert(scravio.new({ base_url = srv.base_url .. "/api", api_key = KEY, max_retries = 0 }))
    local campaign = assert(core.wrap("Campaign", { _id = "507f1f77bcf86cd799439011", status = "fully_completed" }, c))
    local res, err = campaign:validate()
    local log = srv:log()
    srv:stop()
    assert.is_nil(res)
    assert.equals("unknown_outcome", err.kind)
    assert.equals(2, #log.requests)
    assert.equals("POST", log.requests[1].method)
    assert.equals("GET", log.requests[2].method)
  end)
end)
