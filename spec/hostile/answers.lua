--- Hostile-server cases: answers whose HTTP is fine but whose JSON is not
-- what the API sends (wrong types, absurd numbers, deep nesting, list pages
-- that would make an iteration endless). Moved here from faults_spec so both
-- transports are held to them. Format: spec/support/README.md,
-- "Hostile-server cases".
local H = require("spec.support.hostile")

local cases = {}

-- A GET by id answering JSON that is not an object: a decode error, retried
-- like any unreadable answer, never raised.
for _, body in ipairs({ '"hello"', "42", "true", "null", string.rep("[", 100000) .. string.rep("]", 100000),
  '{"a":' .. string.rep('{"a":', 300) .. "1" .. string.rep("}", 301) }) do
  cases[#cases + 1] = {
    name = "GET /campaigns/{id} answering " .. body:sub(1, 12) .. " is a decode error, retried, never raised",
    client = { max_retries = 2 },
    answers = { { H.json(200, body) } },
    calls = { { op = "sdk", fn = "campaigns.get", args = { "c1" },
      expect = { ok = false, kind = "decode", attempts = 3 } } },
    requests = 3,
  }
end

cases[#cases + 1] = {
  name = "a campaign whose fields have the wrong types still reads",
  answers = { { H.json(200, '{"_id":5,"status":[],"creditSettlement":"x","inputs":null}') } },
  calls = { { op = "sdk", fn = "campaigns.get", args = { "c1" }, expect = { ok = true } } },
  requests = 1,
  check = function(outcomes)
    local v = outcomes[1].value
    assert(v._id == 5 and v.creditSettlement == "x", "the fields did not read as sent")
  end,
}

cases[#cases + 1] = {
  name = "an error body with the wrong types still makes a readable error",
  answers = { { H.json(400, '{"message":5,"code":[],"errors":"x","requestId":{}}') } },
  calls = { { op = "sdk", fn = "campaigns.get", args = { "c1" }, expect = { ok = false, kind = "api", status = 400 } } },
  same = { "message" },
  requests = 1,
  check = function(outcomes)
    assert(type(outcomes[1].message) == "string" and type(outcomes[1].text) == "string", "no readable message")
  end,
}

-- Bodies over max_response_bytes are refused whole, not retried, and the
-- client stays usable (moved from faults_spec).
local BIG = '{"a":"' .. string.rep("x", 2 * 1024 * 1024) .. '"}'
local OK_CAMPAIGN = '{"_id":"c1","status":"scraping"}'
for _, framing in ipairs({ "Content-Length", "chunked" }) do
  local answer = framing == "chunked"
    and "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n" ..
      string.format("%x\r\n", #BIG) .. BIG .. "\r\n0\r\n\r\n"
    or H.json(200, BIG)
  cases[#cases + 1] = {
    name = "a 2 MB body (" .. framing .. ") over max_response_bytes is a decode error, not retried",
    client = { max_response_bytes = 1024 * 1024, max_retries = 2 },
    answers = { { answer, close = true }, { H.json(200, OK_CAMPAIGN) } },
    calls = {
      { op = "sdk", fn = "campaigns.get", args = { "c1" },
        expect = { ok = false, kind = "decode", retryable = false, attempts = 1, message = "max_response_bytes" } },
      { op = "sdk", fn = "campaigns.get", args = { "c1" }, expect = { ok = true } }, -- still usable
    },
    requests = 2,
  }
end

-- A redirect from the API is never followed (the credential would go with
-- it): nothing reaches the other address (moved from faults_spec and
-- secrets_spec: one case).
for _, m in ipairs({ { "GET", "/auth/me", 302 }, { "POST", "/campaigns/reserve-preview", 307 } }) do
  cases[#cases + 1] = {
    name = "a " .. m[3] .. " from the API to " .. m[1] .. " " .. m[2] .. " is not followed",
    client = { max_retries = 2, workspace_id = "ws_3" },
    answers = { { H.response(m[3], { "Location: ${BASE}/capture" }, ""), close = true } },
    calls = { { op = "request", method = m[1], path = m[2], body = m[1] == "POST" and { a = 1 } or nil,
      expect = { ok = false, kind = "api", status = m[3], retryable = false, message = "not followed" } } },
    requests = 1, -- nothing reached /capture
  }
end

-- A server that echoes the key back: never printed, on one line (moved from
-- wire_spec).
local KEY = require("spec.support.hostile_run").API_KEY
cases[#cases + 1] = {
  name = "a credential the server echoes in an error is masked in the message, the errors and tostring",
  answers = { { H.json(401, string.format('{"success":false,"message":"Invalid key %s\\nsee docs",' ..
    '"code":"UNAUTHORIZED","errors":[{"param":"X-API-Key","msg":"bad key %s","location":"header"}],' ..
    '"requestId":"req_1"}', KEY, KEY)) } },
  calls = { { op = "request", path = "/auth/me",
    expect = { ok = false, status = 401, code = "UNAUTHORIZED", request_id = "req_1", message = "Invalid key" } } },
  same = { "message" },
  events = true,
  requests = 1,
  check = function(outcomes)
    local o = outcomes[1]
    assert(not o.message:find(KEY, 1, true), "the key is in err.message")
    assert(not o.text:find(KEY, 1, true), "the key is in tostring(err)")
    assert(not o.text:find("[\r\n]"), "tostring(err) is not one line")
    for _, ev in ipairs(o.events) do
      for k, v in pairs(ev) do
        assert(not (type(v) == "string" and v:find(KEY, 1, true)), "event field " .. k .. " holds the key")
      end
    end
  end,
}

-- A list endpoint answering the same body whatever ?page= says: list() gives
-- the page (or a decode error), and each() must end with a decode error
-- after handing out the first page's items, never loop (issue 10).
local LISTS = {
  { "items that are not an array", '{"items":"nope","pagination":{}}', page = false, items = 0, requests = 2 },
  { "no items at all", '{"pagination":{"totalPages":2}}', page = false, items = 0, requests = 2 },
  { "absurd page numbers",
    '{"items":[{"_id":"a"}],"pagination":{"totalPages":1e300,"currentPage":-1e300,"totalCount":1e300}}',
    page = true, items = 1, requests = 3 },
  { "fractional page numbers", '{"items":[{"_id":"a"}],"pagination":{"totalPages":2.5,"currentPage":0.5}}',
    page = true, items = 1, requests = 3 },
  { "no page numbers (?page= ignored)", '{"items":[{"_id":"a"},{"_id":"b"}]}', page = true, items = 2, requests = 3 },
  { "null page numbers (?page= ignored)",
    '{"items":[{"_id":"a"}],"pagination":{"currentPage":null,"totalPages":null,"totalCount":null}}',
    page = true, items = 1, requests = 3 },
  { "more items than its own totalCount", '{"items":[{"_id":"a"},{"_id":"b"}],"pagination":{"totalCount":3}}',
    page = true, items = 2, requests = 3 },
}
for _, l in ipairs(LISTS) do
  cases[#cases + 1] = {
    name = "a list page with " .. l[1] .. " gives a page or a decode error; each() ends with one",
    answers = { { H.json(200, l[2]) } },
    calls = {
      { op = "sdk", fn = "campaigns.list", args = { {} },
        expect = l.page and { ok = true } or { ok = false, kind = "decode" } },
      { op = "each", fn = "campaigns.each", args = { {} }, expect = { ok = false, kind = "decode", value = l.items } },
    },
    requests = l.requests,
    check = function(outcomes)
      if l.page then
        local items = outcomes[1].value.items
        assert(#items == l.items and items[1]._id == "a", "list() did not give the page as sent")
      end
    end,
  }
end

return cases
