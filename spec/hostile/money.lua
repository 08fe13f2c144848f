--- Hostile-server cases: a credit-spending POST is never sent twice once it
-- may have reached the server, whatever comes back, even with retries
-- allowed; what cannot be read is reconciled or ends as unknown_outcome
-- (README "Reliability", Money). Format: spec/support/README.md,
-- "Hostile-server cases".
local H = require("spec.support.hostile")

local CAMPAIGN = { type = "INSTAGRAM_HASHTAG", inputs = { hashtag = "gym" }, targetEmails = 10 }
local EMPTY_LIST = H.json(200, '{"success":true,"data":[]}')
local CREATED = H.json(201, '{"success":true,"data":{"_id":"507f1f77bcf86cd799439011","type":"INSTAGRAM_HASHTAG"}}')

-- The server saw exactly `posts` POSTs, and nothing but GETs besides.
local function posts(n)
  return function(_, log, transport)
    local seen = 0
    for _, r in ipairs(log.requests) do
      if r.method == "POST" then seen = seen + 1 else assert(r.method == "GET", transport .. ": " .. r.method) end
    end
    assert(seen == n, transport .. ": the server saw " .. seen .. " POSTs, expected " .. n)
  end
end

local function create(name, answers, expect, requests, n)
  return {
    name = name,
    client = { max_retries = 2, max_retry_wait = 1 },
    answers = answers,
    calls = { { op = "sdk", fn = "campaigns.create", args = { CAMPAIGN }, expect = expect } },
    requests = requests,
    check = posts(n or 1),
  }
end

return {
  create("POST /campaigns: connection closed after the request, no answer: reconciled, never resent",
    { { close = true }, { EMPTY_LIST } },
    { ok = false, kind = "unknown_outcome" }, 2),
  create("POST /campaigns: a definite 500 comes back as it is, never resent, no lookup",
    { { H.json(500, '{"message":"boom","code":"INTERNAL_ERROR","errors":[]}') } },
    { ok = false, kind = "api", status = 500, retryable = false }, 1),
  create("POST /campaigns: a 503 with Retry-After: 0 is not resent either",
    { { H.response(503, { "Retry-After: 0", "Content-Type: application/json" },
      '{"message":"busy","code":"SERVICE_UNAVAILABLE","errors":[]}') } },
    { ok = false, kind = "api", status = 503, retryable = false }, 1),
  create("POST /campaigns: a 502 (no answer from the API behind the proxy) is reconciled, never resent",
    { { H.response(502, { "Content-Type: text/html" }, "<html>bad gateway</html>") }, { EMPTY_LIST } },
    { ok = false, kind = "unknown_outcome" }, 2),
  create("POST /campaigns: a 201 whose body is not JSON is reconciled, never a success",
    { { H.response(201, { "Content-Type: application/json" }, "{\"success\":tru") }, { EMPTY_LIST } },
    { ok = false, kind = "unknown_outcome" }, 2),
  create("POST /campaigns: a 201 cut short of its Content-Length is reconciled, never resent",
    { { "HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nContent-Length: 80\r\n\r\n{\"success\":true",
      close = true }, { EMPTY_LIST } },
    { ok = false, kind = "unknown_outcome" }, 2),
  create("POST /campaigns: a 201 whose id is empty is reconciled, never a campaign without id",
    { { H.json(201, '{"success":true,"data":{"_id":"","type":"INSTAGRAM_HASHTAG"}}') }, { EMPTY_LIST } },
    { ok = false, kind = "unknown_outcome" }, 2),
  create("POST /campaigns: a 201 whose id is not a string is reconciled too",
    { { H.json(201, '{"success":true,"data":{"_id":{"$oid":"x"},"type":"INSTAGRAM_HASHTAG"}}') }, { EMPTY_LIST } },
    { ok = false, kind = "unknown_outcome" }, 2),
  create("POST /campaigns: refused with a 429 (not processed), it is sent again once",
    { { H.response(429, { "Retry-After: 0", "Content-Type: application/json" },
      '{"message":"slow down","code":"RATE_LIMIT_EXCEEDED","errors":[]}') }, { CREATED } },
    { ok = true }, 2, 2),
  {
    name = "launch: a preview whose reservation is negative checks nothing, so nothing is created",
    answers = { { H.json(200, '{"success":true,"data":{"creditReserved":-1,"estimatedCredits":-5}}') } },
    calls = { { op = "sdk", fn = "campaigns.launch", args = { CAMPAIGN, { max_credits = 100 } },
      expect = { ok = false, kind = "budget" } } },
    requests = 1, -- the preview only: no balance lookup, no POST /campaigns
    check = function(_, log) assert(log.requests[1].target:find("reserve-preview", 1, true), "the preview") end,
  },
  {
    name = "POST /validation-jobs/text: connection closed after the request: reconciled, never resent",
    client = { max_retries = 2 },
    answers = { { close = true }, { EMPTY_LIST } },
    calls = { { op = "sdk", fn = "validation_jobs.submit", args = { { "ann@example.com" } },
      expect = { ok = false, kind = "unknown_outcome" } } },
    requests = 2,
    check = posts(1),
  },
}
