-- The C core on its own: JSON, request building, classification, pagination
-- state and resource objects. No server needed.
local scravio = require("scravio")
local core = require("scravio.core")
local H = require("spec.support.helpers")

local KEY = "sk_live_0123456789abcdefSECRET"

local function client(opts)
  local o = { api_key = KEY, base_url = "http://127.0.0.1:9/api" }
  for k, v in pairs(opts or {}) do o[k] = v end
  return assert(scravio.new(o))
end

describe("JSON codec", function()
  it("keeps integers as integers and floats as floats", function()
    local v = core.json_decode('{"credits":100000,"rate":0.5,"big":1e2,"neg":-7}')
    assert.is_true(H.is_integer(v.credits))
    assert.equals(100000, v.credits)
    assert.equals(0.5, v.rate)
    assert.equals(-7, v.neg)
    if math.type then assert.equals("float", math.type(v.big)) end
  end)

  it("reads a null member as nil, keeps null in arrays, and keeps arrays arrays", function()
    local v = core.json_decode('{"a":null,"list":[],"obj":{},"arr":[1,null,3],"dup":1,"dup":null}')
    assert.is_nil(v.a)
    assert.is_nil(v.dup) -- the last duplicate wins, null included
    assert.equals(scravio.null, v.arr[2])
    assert.equals(3, #v.arr)
    assert.is_true(scravio.is_array(v.list))
    assert.is_false(scravio.is_array(v.obj))
    for k in pairs(v) do assert.are_not.equal("a", k) end
    assert.equals('{"arr":[1,null,3],"list":[],"obj":{}}', core.json_encode(v))
    assert.equals(scravio.null, core.json_decode("null"))
  end)

  it("sends scravio.null (and cjson's lightuserdata null) as null", function()
    assert.equals("scravio.null", tostring(scravio.null))
    assert.equals('{"a":null,"b":[null,1]}', core.json_encode({ a = scravio.null, b = { scravio.null, 1 } }))
    assert.equals("[null]", core.json_encode({ core.json_decode("[null]")[1] }))
    local cjson_ok, cjson = pcall(require, "cjson")
    if cjson_ok then assert.equals('{"a":null}', core.json_encode({ a = cjson.null })) end
    assert.is_nil(core.json_encode({ a = io.stdout }))
  end)

  it("encodes marked empty arrays as [] and sorts object keys", function()
    assert.equals('{"a":[],"b":2,"c":"x"}', core.json_encode({ c = "x", b = 2, a = scravio.array() }))
    assert.equals("[1,2,3]", core.json_encode({ 1, 2, 3 }))
  end)

  it("refuses a number whose exponent is too long to keep, rather than decode a wrong finite value", function()
    -- 100000 fraction digits and e1000000: the kept exponent (saturated at
    -- 100000) once cancelled the fraction and made this 1.0; it is 1e900000.
    local huge = "0." .. ("0"):rep(99999) .. "1e1000000"
    for _, text in ipairs({ "[" .. huge .. "]", '{"a":' .. huge .. "}", "[-" .. huge .. "]" }) do
      local v, err = core.json_decode(text)
      assert.is_nil(v)
      assert.matches("number out of range", err, 1, true)
    end
    -- the same exponent with a value that is in range stays exact
    local tiny = core.json_decode("[0." .. ("0"):rep(99999) .. "1e-1000000]")
    assert.equals(0, tiny[1])
    assert.equals(10, core.json_decode("[0." .. ("0"):rep(99999) .. "1e100001]")[1])
  end)

  it("reports malformed input as nil, message", function()
    local v, err = core.json_decode('{"a":')
    assert.is_nil(v)
    assert.is_string(err)
  end)
end)

describe("request building", function()
  local c = client()

  it("sends integers as integers, booleans as true/false, arrays comma-joined, keys sorted", function()
    local url = c._core:prepare("/campaigns", { perPage = 10, page = 2.0, hasEmail = true,
      type = { "INSTAGRAM", "X" }, q = "a b&c=d", skip = scravio.null })
    assert.equals("http://127.0.0.1:9/api/campaigns?hasEmail=true&page=2&perPage=10&q=a%20b%26c%3Dd&type=INSTAGRAM,X", url)
  end)

  it("omits an empty query", function()
    assert.equals("http://127.0.0.1:9/api/campaigns", (c._core:prepare("/campaigns", {})))
  end)

  it("keeps hostile ids inside their path segment", function()
    local url, path = c._core:prepare("/campaigns/{}/leads", nil, nil, "../../auth/me?x=1#frag")
    assert.equals("/campaigns/..%2F..%2Fauth%2Fme%3Fx%3D1%23frag/leads", path)
    assert.equals("http://127.0.0.1:9/api" .. path, url)
    local _, p2 = c._core:prepare("/campaigns/{}", nil, nil, "a b%20\r\n")
    assert.equals("/campaigns/a%20b%2520%0D%0A", p2)
  end)

  it("refuses dot segments and empty ids before sending", function()
    for _, id in ipairs({ "", ".", ".." }) do
      local res, err = c.campaigns:get(id)
      assert.is_nil(res)
      assert.equals("invalid", err.kind)
      assert.equals("id", err.errors[1].param)
    end
  end)

  it("refuses query values it cannot send", function()
    local url, err = c._core:prepare("/campaigns", { page = function() end })
    assert.is_nil(url)
    assert.equals("invalid", err.kind)
    assert.equals("query", err.errors[1].param)
  end)

  it("encodes the body and marks list inputs as arrays", function()
    local _, _, body = c._core:prepare("/campaigns", nil,
      require("scravio.body").campaign({ type = "X_KEYWORD_SEARCH", inputs = { keywords = {}, countries = {} }, targetEmails = 5 }))
    assert.equals('{"inputs":{"countries":[],"keywords":[]},"targetEmails":5,"type":"X_KEYWORD_SEARCH"}', body)
  end)

  it("puts the auth header, workspace and user agent in the request head", function()
    -- a handle made here (not by scravio.new) still hands its head builder out once
    local h = assert(core.client{ api_key = KEY, base_url = "http://127.0.0.1:9/api", workspace_id = "ws_1" })
    local build = assert(h:api_head_builder())
    local head = assert(build("GET", "http://127.0.0.1:9/api/auth/me", nil, true))
    assert.truthy(head:find("GET /api/auth/me HTTP/1.1\r\n", 1, true))
    assert.truthy(head:find("X-API-Key: " .. KEY .. "\r\n", 1, true))
    assert.truthy(head:find("X-Workspace-Id: ws_1\r\n", 1, true))
    assert.truthy(head:find("User%-Agent: scravio%-lua/" .. scravio.version .. " %(.-; libcurl/[%d.]+%)\r\n"))
    -- not real: the hint instead of the key
    local shown = assert(build("GET", "http://127.0.0.1:9/api/auth/me", nil, false))
    assert.falsy(shown:find(KEY, 1, true))
    assert.truthy(shown:find("X-API-Key: " .. h:info().key_hint .. "\r\n", 1, true))
    local b = assert(core.client{ access_token = "tok_abcdefghijklmnop", base_url = "http://127.0.0.1:9/api" })
    local h2 = assert(assert(b:api_head_builder())("GET", "http://127.0.0.1:9/api/auth/me", nil, true))
    assert.truthy(h2:find("Authorization: Bearer tok_abcdefghijklmnop\r\n", 1, true))
    assert.falsy(h2:find("X-API-Key", 1, true))
  end)

  it("never returns a client's credential to Lua: no head getter, one builder taken by scravio.new", function()
    local cl = client()
    assert.is_nil(cl._core.wire_head)
    local build, err = cl._core:api_head_builder() -- scravio.new took it
    assert.is_nil(build)
    assert.equals("invalid", err.kind)
    for _, opts in ipairs({ { transport = "curl" }, { transport = { send = function() end } } }) do
      assert.is_nil(client(opts)._core:api_head_builder())
    end
    -- and a builder only builds for the client's own base_url
    local h = assert(core.client{ api_key = KEY, base_url = "http://127.0.0.1:9/api" })
    local own = assert(h:api_head_builder())
    for _, url in ipairs({ "http://127.0.0.1:10/api/auth/me", "http://127.0.0.1:9/apix", "http://127.0.0.1:9/api.evil/x",
      "http://127.0.0.1:9", "https://evil.example/api" }) do
      local head, herr = own("GET", url, nil, true)
      assert.is_nil(head, url)
      assert.equals("invalid", herr.kind)
    end
    assert.truthy(own("GET", "http://127.0.0.1:9/api?x=1", nil, true))
  end)

  it("libcurl sends the credential only under the client's base_url (send, prefetch)", function()
    local cl = client()
    local v, err = cl._core:send("GET", "http://127.0.0.1:1/elsewhere", "/elsewhere", nil, 1)
    assert.is_nil(v)
    assert.equals("invalid", err.kind)
    assert.is_false((cl._core:prefetch("http://127.0.0.1:1/elsewhere", "/elsewhere", 1)))
  end)

  it("sends no credentials in a storage request head", function()
    local head = client({ workspace_id = "ws_1" })._core:storage_head("PUT", "http://127.0.0.1:9/up", 3, "text/csv")
    assert.falsy(head:find(KEY, 1, true))
    assert.falsy(head:find("X-Workspace-Id", 1, true))
    assert.truthy(head:find("Content-Type: text/csv\r\n", 1, true))
  end)
end)

describe("client configuration", function()
  it("masks the key in tostring and info", function()
    local c = client()
    assert.falsy(tostring(c):find(KEY, 1, true))
    assert.truthy(tostring(c):find("...", 1, true))
    for _, v in pairs(c:info()) do
      assert.falsy(tostring(v):find(KEY, 1, true))
    end
  end)

  it("refuses CR/LF in header values", function()
    local c, err = scravio.new{ api_key = "sk_live_abc\r\nX-Evil: 1", base_url = "http://127.0.0.1:9/api" }
    assert.is_nil(c)
    assert.equals("invalid", err.kind)
    c, err = scravio.new{ api_key = KEY, workspace_id = "w\n1", base_url = "http://127.0.0.1:9/api" }
    assert.is_nil(c)
    assert.equals("workspace_id", err.errors[1].param)
  end)

  it("refuses plain http to a non-loopback host unless allowed", function()
    local c, err = scravio.new{ api_key = KEY, base_url = "http://api.example.com/api" }
    assert.is_nil(c)
    assert.equals("base_url", err.errors[1].param)
    assert.truthy(scravio.new{ api_key = KEY, base_url = "http://api.example.com/api", allow_http = true })
    assert.truthy(scravio.new{ api_key = KEY, base_url = "http://localhost:8080/api" })
    assert.truthy(scravio.new{ api_key = KEY, base_url = "http://127.10.0.254:1/api" })
    -- schemes and host names are case-insensitive
    local up = assert(scravio.new{ api_key = KEY, base_url = "HTTP://LocalHost:8080/api" })
    assert.equals("http://LocalHost:8080/api/me", (up._core:prepare("/me")))
    -- forms that resolvers read as other addresses (0127 is octal: 87.0.0.1)
    for _, host in ipairs({ "0127.0.0.1", "127.1", "127.0.0.01", "2130706433", "127.0.0.256", "127.0.0.1.5" }) do
      local bad, berr = scravio.new{ api_key = KEY, base_url = "http://" .. host .. "/api" }
      assert.is_nil(bad, host)
      assert.equals("base_url", berr.errors[1].param)
    end
  end)

  it("refuses an unknown option by name, suggesting the one meant", function()
    local c, err = scravio.new{ api_key = KEY, base_url = "http://127.0.0.1:9/api", max_retry = 0 }
    assert.is_nil(c)
    assert.equals("invalid", err.kind)
    assert.equals("max_retry", err.errors[1].param)
    assert.truthy(tostring(err):find("max_retries", 1, true))
    assert.is_nil(scravio.new{ api_key = KEY, base_url = "http://127.0.0.1:9/api", bogus = true })
    assert.truthy(scravio.new{ api_key = KEY, base_url = "http://127.0.0.1:9/api", pace = "strict", transport = "curl" })
  end)

  it("refuses every way of turning TLS verification off, whichever the transport", function()
    for _, o in ipairs({ { verify = false }, { insecure = true }, { ssl_verify = false } }) do
      o.api_key, o.base_url = KEY, "https://api.example.com/api"
      local c, err = scravio.new(o)
      assert.is_nil(c)
      assert.equals("invalid", err.kind)
      assert.truthy(err.message:find("ca_file", 1, true))
    end
    assert.truthy(scravio.new{ api_key = KEY, base_url = "https://api.example.com/api", ssl_verify = true })
  end)

  it("requires credentials and names the option", function()
    local c, err = scravio.new{ base_url = "http://127.0.0.1:9/api", api_key = "" }
    assert.is_nil(c)
    assert.equals("invalid", err.kind)
    c, err = scravio.new{ base_url = "http://127.0.0.1:9/api", api_key = KEY, timeout = "soon" }
    assert.is_nil(c)
    assert.equals("timeout", err.errors[1].param)
  end)

  it("reports an unreachable server as a network error with attempts", function()
    local c = client({ max_retries = 0 })
    local res, err = c:me()
    assert.is_nil(res)
    assert.equals("network", err.kind)
    assert.equals(1, err.attempts)
    assert.is_false(err.sent)
  end)
end)

describe("classification", function()
  it("builds API errors from the error body", function()
    local v, err = core.classify(400, { ["content-type"] = "application/json" },
      '{"message":"Validation failed","code":"VALIDATION_ERROR","errors":[{"param":"inputs.hashtag",' ..
        '"msg":"Hashtag is required","location":"body"}],"requestId":"req_abc123"}',
      "POST", "/campaigns")
    assert.is_nil(v)
    assert.is_true(scravio.is_error(err))
    assert.equals("api", err.kind)
    assert.equals(400, err.status)
    assert.equals("VALIDATION_ERROR", err.code)
    assert.equals("inputs.hashtag", err.errors[1].param)
    assert.equals("req_abc123", err.request_id)
    assert.is_false(err.retryable)
    local s = tostring(err)
    assert.truthy(s:find("VALIDATION_ERROR", 1, true))
    assert.truthy(s:find("req_abc123", 1, true))
    assert.truthy(s:find("POST /campaigns", 1, true))
  end)

  it("classifies HTML error pages by status, with Retry-After", function()
    local _, err = core.classify(503, { ["content-type"] = "text/html", ["retry-after"] = "7", ["x-request-id"] = "req_h" },
      "<html><body>Service Unavailable</body></html>", "GET", "/auth/me")
    assert.equals("api", err.kind)
    assert.equals(503, err.status)
    assert.equals(7, err.retry_after)
    assert.is_true(err.retryable)
    assert.equals("req_h", err.request_id)
    assert.falsy(err.message:find("<html>", 1, true))
  end)

  it("makes 429 rate_limited and never retries insufficient credits", function()
    local _, err = core.classify(429, {}, '{"message":"slow down","code":"RATE_LIMITED"}', "POST", "/list-exports")
    assert.equals("rate_limited", err.kind)
    assert.is_true(err.retryable)
    local _, e2 = core.classify(500, {}, '{"message":"no","code":"INSUFFICIENT_CREDITS"}', "POST", "/campaigns")
    assert.is_false(e2.retryable)
  end)

  it("turns a malformed 2xx body into a decode error", function()
    local v, err = core.classify(200, {}, '{"items":[', "GET", "/campaigns")
    assert.is_nil(v)
    assert.equals("decode", err.kind)
  end)
end)

describe("pager", function()
  it("walks the items/pagination envelope and stops on the last page", function()
    local p = core.pager(1)
    assert.equals(1, p:next())
    local items = p:feed({ items = { 1, 2 }, pagination = { currentPage = 1, totalPages = 2, totalCount = 3 } })
    assert.equals(2, #items)
    assert.equals(2, p:next())
    p:feed({ items = { 3 }, pagination = { currentPage = 2, totalPages = 2, totalCount = 3 } })
    assert.is_nil(p:next())
  end)

  it("understands the exports, jobs and transactions envelopes", function()
    local p = core.pager(1)
    assert.equals(1, #p:feed({ success = true, data = { exports = { {} }, pagination = { currentPage = 1, totalPages = 3 } } }))
    assert.equals(2, p:next())
    -- the exports' pagination beside data (the other reading of the reference)
    local x = core.pager(1)
    assert.equals(1, #x:feed({ success = true, data = { exports = { {} } }, pagination = { currentPage = 1, totalPages = 1 } }))
    assert.is_nil(x:next())
    local j = core.pager(1)
    assert.equals(2, #j:feed({ success = true, data = { jobs = { {}, {} }, total = 2, page = 1, pages = 1 } }))
    assert.is_nil(j:next())
    local t = core.pager(1)
    assert.equals(1, #t:feed({ transactions = { {} }, pagination = { currentPage = 1, totalPages = 1 } }))
    assert.is_nil(t:next())
  end)

  it("refuses a server that repeats a page", function()
    local p = core.pager(1)
    p:feed({ items = { 1 }, pagination = { currentPage = 1, totalPages = 5 } })
    local items, err = p:feed({ items = { 1 }, pagination = { currentPage = 1, totalPages = 5 } })
    assert.is_nil(items)
    assert.equals("decode", err.kind)
  end)

  it("refuses a page with the same items as the page before, numbered or not", function()
    -- a server that ignores ?page= and sends no page numbers
    local p = core.pager(1)
    local page = { items = { { _id = "a", tags = { "x" } }, { _id = "b" } } }
    assert.equals(2, #p:feed(page))
    assert.equals(2, p:next())
    local items, err = p:feed({ items = { { _id = "a", tags = { "x" } }, { _id = "b" } } }) -- a fresh decode
    assert.is_nil(items)
    assert.equals("decode", err.kind)
    assert.truthy(err.message:find("same items", 1, true), err.message)
    -- null page numbers (the JSON null is a userdata): the same
    local null = core.null
    p = core.pager(1)
    local nulls = { currentPage = null, totalPages = null, totalCount = null }
    p:feed({ items = { { _id = "a" } }, pagination = nulls })
    assert.is_nil((p:feed({ items = { { _id = "a" } }, pagination = nulls })))
    -- numbered pages with the same content are refused too
    p = core.pager(1)
    p:feed({ items = { 1, 2 }, pagination = { currentPage = 1, totalPages = 9 } })
    assert.is_nil((p:feed({ items = { 1, 2 }, pagination = { currentPage = 2, totalPages = 9 } })))
    -- different items are pages, whatever the order of their keys
    p = core.pager(1)
    p:feed({ items = { { a = 1, b = 2 } } })
    assert.equals(1, #p:feed({ items = { { a = 1, b = 3 } } }))
    assert.equals(1, #p:feed({ items = { { a = 1, b = 2 } } }))
  end)

  it("refuses a server that sends more items than its own totalCount", function()
    local p = core.pager(1)
    p:feed({ items = { "a", "b" }, pagination = { totalCount = 3 } })
    local items, err = p:feed({ items = { "c", "d" }, pagination = { totalCount = 3 } })
    assert.is_nil(items)
    assert.equals("decode", err.kind)
    assert.truthy(err.message:find("totalCount", 1, true), err.message)
    -- the count may grow while we walk (new items): the latest count is the bound
    p = core.pager(1)
    p:feed({ items = { "a", "b" }, pagination = { totalCount = 3 } })
    assert.equals(2, #p:feed({ items = { "c", "d" }, pagination = { totalCount = 5 } }))
  end)

  it("stops on an empty page and rejects an unknown envelope", function()
    local p = core.pager(1)
    p:feed({ items = {}, pagination = {} })
    assert.is_nil(p:next())
    p = core.pager(1) -- the last page the server counts, empty (the list shrank)
    p:feed({ items = { 1 }, pagination = { currentPage = 1, totalPages = 2 } })
    p:feed({ items = {}, pagination = { currentPage = 2, totalPages = 2 } })
    assert.is_nil(p:next())
    local _, err = core.pager(1):feed({ foo = 1 })
    assert.equals("decode", err.kind)
  end)

  it("skips an empty page before the last one the server counts, never truncating silently", function()
    local p = core.pager(1)
    p:feed({ items = { "a" }, pagination = { currentPage = 1, totalPages = 4 } })
    assert.equals(0, #p:feed({ items = {}, pagination = { currentPage = 2, totalPages = 4 } }))
    assert.equals(3, p:next())
    p = core.pager(1) -- page 1 empty, yet five pages counted
    p:feed({ items = {}, pagination = { currentPage = 1, totalPages = 5 } })
    assert.equals(2, p:next())
    -- a server answering empty pages forever is refused, not followed forever
    p = core.pager(1)
    local items, err
    for page = 1, 20 do
      items, err = p:feed({ items = {}, pagination = { currentPage = page, totalPages = 1000 } })
      if not items then break end
    end
    assert.is_nil(items)
    assert.equals("decode", err.kind)
    -- an empty page that does not move forward ends the walk
    p = core.pager(1)
    p:feed({ items = { 1 }, pagination = { currentPage = 1, totalPages = 3 } })
    p:feed({ items = {}, pagination = { currentPage = 1, totalPages = 3 } })
    assert.is_nil(p:next())
  end)
end)

describe("resource objects", function()
  it("read fields through, map id, and are read-only", function()
    local c = core.wrap("Campaign", { _id = "c1", status = "scraping", creditSettlement = { creditCharged = 5 } }, nil)
    assert.equals("c1", c.id)
    assert.equals("scraping", c.status)
    assert.equals(5, c.creditSettlement.creditCharged)
    assert.equals("Campaign", scravio.kind(c))
    assert.has_error(function() c.status = "x" end)
    assert.equals("scravio.Campaign(c1, scraping)", tostring(c))
    local j = core.wrap("ValidationJob", { jobId = "j1" }, nil)
    assert.equals("j1", j.id)
    local e = core.wrap("Export", { exportId = "e1" }, nil)
    assert.equals("e1", e.id)
  end)

  it("compare equal by kind and id, and data() is a deep copy", function()
    local a = core.wrap("Campaign", { _id = "c1", inputs = { hashtags = scravio.array({ "x" }) } }, nil)
    local b = core.wrap("Campaign", { _id = "c1" }, nil)
    assert.is_true(a == b)
    local d = a:data()
    d.inputs.hashtags[1] = "changed"
    assert.equals("x", a.inputs.hashtags[1])
    assert.is_true(scravio.is_array(d.inputs.hashtags))
  end)
end)

describe("lazy documents (objects fetched by id)", function()
  local BODIES = {
    '{"_id":"c1","status":"scraping","n":1,"f":0.5,"neg":-0,"big":123456789012345678901234,' ..
      '"nul":null,"t":true,"arr":[1,[2,{}],[]],"obj":{"x":{"y":[null]}},"s":"a\\"b\\u00e9\\ud83d\\ude00"}',
    ' \n{"dup":1,"dup":2,"empty":{},"k":"\\/"}\t',
    '\239\187\191{"bom":1}',
    '{}',
  }

  it("decode each field to what the whole-body decoder gives", function()
    for _, body in ipairs(BODIES) do
      local doc = assert(core.lazy_decode(body), body)
      local whole = core.json_decode(body)
      assert.equals(core.json_encode(whole), core.json_encode(doc:table()))
      for k, v in pairs(whole) do
        assert.equals(core.json_encode({ v }), core.json_encode({ doc:get(k) }), k)
      end
      assert.is_nil(doc:get("missing"))
    end
    assert.equals(2, core.lazy_decode('{"dup":1,"dup":2}'):get("dup"))
    if math.type then assert.equals("integer", math.type(core.lazy_decode('{"n":7}'):get("n"))) end
  end)

  it("unwrap the {success, data} envelope like request.unwrap", function()
    local doc = assert(core.lazy_decode('{"success":true,"data":{"jobId":"j1","validCount":3}}'))
    assert.equals("j1", doc:get("jobId"))
    assert.is_nil(doc:get("success"))
    -- data that is not an object: the body itself is the object
    assert.equals(1, core.lazy_decode('{"success":true,"data":1}'):get("data"))
  end)

  it("leave everything else to the eager decoder", function()
    for _, body in ipairs({ "[1,2]", '"s"', "", "{", '{"a":1}x', '{"a":01}', '{"a":1e999}',
      '{"a":"\1"}', '{"k\\u0041":1}', '{"success":true,"data":[1]}', '{"a":[' .. ("["):rep(300) }) do
      assert.is_nil(core.lazy_decode(body), body)
    end
  end)

  it("back resource objects: fields decode once, keep identity, and survive unwrap and refresh", function()
    local body = '{"_id":"c1","status":"scraping","creditSettlement":{"creditCharged":5},"inputs":{"hashtags":["x"]}}'
    local c = core.wrap("Campaign", assert(core.lazy_decode(body)), "client")
    assert.equals("c1", c.id)
    assert.equals("scravio.Campaign(c1, scraping)", tostring(c))
    local cs = c.creditSettlement
    assert.equals(5, cs.creditCharged)
    assert.equals(cs, c.creditSettlement) -- the same table on every read
    assert.is_nil(c.nope)
    assert.is_nil(c[1])
    assert.is_true(c == core.wrap("Campaign", { _id = "c1" }, nil))
    assert.equals("client", core.owner(c))
    local data, owner = core.unwrap(c)
    assert.equals("client", owner)
    assert.equals(cs, data.creditSettlement) -- what was handed out stays the same table
    assert.is_true(scravio.is_array(data.inputs.hashtags))
    assert.equals(core.json_encode(core.json_decode(body)), core.json_encode(c:data()))
    core.replace(c, assert(core.lazy_decode('{"_id":"c1","status":"stopped","creditSettlement":{"creditCharged":9}}')))
    assert.equals("stopped", c.status)
    assert.equals(9, c.creditSettlement.creditCharged)
    assert.is_nil(c.inputs)
    core.replace(c, { _id = "c1", status = "failed" })
    assert.equals("failed", c.status)
    assert.has_error(function() core.wrap("Campaign", "nope", nil) end)
  end)
end)
