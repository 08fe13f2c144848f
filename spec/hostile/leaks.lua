--- Hostile-server cases: keys that servers echo back, credit-spending calls
-- answered 2xx without an id, and connection reuse for unsafe requests
-- (issue 10, "Keys must never leak" and "Money"). Format:
-- spec/support/README.md, "Hostile-server cases".
local H = require("spec.support.hostile")
local run = require("spec.support.hostile_run")

local KEY = run.API_KEY
local HINT = "sk_test_...cdef" -- the client's key_hint for KEY

-- No 12-byte piece of the key (its public part "sk_test_" + 4) anywhere in
-- what a call gave back: fields, tostring, events.
local function assert_no_key(outcomes, transport)
  local text = require("scravio").json.encode(outcomes)
  for i = 1, #KEY - 11 do
    local piece = KEY:sub(i, i + 11)
    assert(not text:find(piece, 1, true), transport .. ": the outcome holds part of the key: " .. piece)
  end
end

local CAMPAIGN = { type = "INSTAGRAM_HASHTAG", inputs = { hashtag = "gym" }, targetEmails = 10 }
local EMPTY_LIST = H.json(200, '{"success":true,"data":[]}')

local function unreadable_create(name, answer)
  return {
    name = name,
    answers = { { answer }, { EMPTY_LIST } },
    calls = { { op = "sdk", fn = "campaigns.create", args = { CAMPAIGN },
      expect = { ok = false, kind = "unknown_outcome", status = 201 } } },
    requests = 2, -- the POST, then the reconciliation's GET /campaigns; never a second POST
    check = function(_, log)
      assert(log.requests[1].method == "POST" and log.requests[2].method == "GET", "POST then GET")
    end,
  }
end

return {
  {
    name = "a successful answer's X-Request-Id holding the key is masked, in the response event too",
    events = true,
    answers = { { H.response(200, { "Content-Type: application/json", "X-Request-Id: req-" .. KEY },
      '{"credits":5}') } },
    calls = { { op = "request", path = "/auth/me", expect = { ok = true } } },
    requests = 1,
    check = function(outcomes, _, transport)
      assert_no_key(outcomes, transport)
      local seen
      for _, ev in ipairs(outcomes[1].events) do
        if ev.type == "response" then seen = ev.request_id end
      end
      assert(seen == "req-" .. HINT, transport .. ": the response event's request_id is " .. tostring(seen))
    end,
  },
  {
    name = "a key just past the old 255-byte cut of X-Request-Id never survives in part",
    answers = { { H.response(500, { "X-Request-Id: " .. ("r"):rep(240) .. KEY }, "") } },
    calls = { { op = "request", path = "/auth/me", expect = { ok = false, status = 500,
      request_id = ("r"):rep(240) .. HINT } } },
    same = { "request_id", "message", "text" },
    requests = 1,
    check = function(outcomes, _, transport) assert_no_key(outcomes, transport) end,
  },
  {
    name = "a request id longer than 4096 bytes is masked, then cut the same on both transports",
    answers = { { H.response(500, { "X-Request-Id: " .. ("r"):rep(4090) .. KEY }, "") } },
    calls = { { op = "request", path = "/auth/me", expect = { ok = false, status = 500,
      request_id = (("r"):rep(4090) .. HINT):sub(1, 4096) } } },
    same = { "request_id" },
    requests = 1,
    check = function(outcomes, _, transport) assert_no_key(outcomes, transport) end,
  },
  {
    name = "a prefix of the key that the server cut itself is masked",
    answers = { { H.response(404, { "Content-Type: application/json", "X-Request-Id: r-" .. KEY:sub(1, 15) },
      '{"message":"no key ' .. KEY:sub(1, 14) .. '","code":"NOT_FOUND"}') } },
    calls = { { op = "request", path = "/auth/me", expect = { ok = false, status = 404 } } },
    same = { "request_id", "message" },
    requests = 1,
    check = function(outcomes, _, transport) assert_no_key(outcomes, transport) end,
  },
  {
    name = "the key without its public prefix, or its tail, echoed back is masked too",
    answers = { { H.response(401, { "Content-Type: application/json", "X-Request-Id: r-" .. KEY:sub(9) },
      '{"message":"unknown key ' .. KEY:sub(13) .. '","code":"UNAUTHORIZED"}') } },
    calls = { { op = "request", path = "/auth/me", expect = { ok = false, status = 401, request_id = "r-" .. HINT,
      message = "unknown key " .. HINT } } },
    same = { "request_id", "message" },
    requests = 1,
    check = function(outcomes, _, transport) assert_no_key(outcomes, transport) end,
  },
  {
    name = "a key in a Content-Type does not reach err.message",
    answers = { { H.response(502, { "Content-Type: text/" .. ("h"):rep(230) .. KEY }, "<html/>") } },
    calls = { { op = "request", path = "/auth/me", expect = { ok = false, status = 502 } } },
    same = { "message" },
    requests = 1,
    check = function(outcomes, _, transport) assert_no_key(outcomes, transport) end,
  },
  {
    name = "a key in a redirect's Location does not reach err.message",
    answers = { { H.response(302, { "Location: http://" .. ("h"):rep(230) .. KEY .. ".example/x" }, "") } },
    calls = { { op = "request", path = "/auth/me", expect = { ok = false, status = 302 } } },
    requests = 1,
    check = function(outcomes, _, transport) assert_no_key(outcomes, transport) end,
  },
  unreadable_create("POST /campaigns answered 201 with an empty body is an unknown outcome, not a campaign without id",
    H.response(201, { "Content-Type: application/json" }, "")),
  unreadable_create("POST /campaigns answered 201 with data that has no id is an unknown outcome",
    H.json(201, '{"success":true,"data":{"status":"pending","type":"INSTAGRAM_HASHTAG"}}')),
  {
    name = "POST /validation-jobs/text answered 201 without a jobId is an unknown outcome",
    answers = { { H.json(201, '{"success":true,"data":{"status":"pending"}}') }, { EMPTY_LIST } },
    calls = { { op = "sdk", fn = "validation_jobs.submit", args = { { "ann@example.com" } },
      expect = { ok = false, kind = "unknown_outcome" } } },
    requests = 2,
  },
  {
    name = "POST /list-exports answered 201 without an exportId is an unknown outcome",
    answers = { { H.json(201, '{"success":true,"data":{"status":"pending"}}') } },
    calls = { { op = "sdk", fn = "exports.create", args = { { campaignId = "507f1f77bcf86cd799439011" } },
      expect = { ok = false, kind = "unknown_outcome" } } },
    requests = 1, -- safe to resend, but max_retries = 0
  },
  {
    name = "POST /validation-jobs/file/confirm answered 200 without a jobId, even once resent, is an unknown outcome",
    client = { max_retries = 1 },
    answers = { { H.json(200, '{"success":true,"data":{"status":"pending"}}') } },
    calls = { { op = "sdk", fn = "validation_jobs.confirm_upload", args = { { parseId = "p1", idempotencyKey = "k1" } },
      expect = { ok = false, kind = "unknown_outcome", attempts = 2 } } },
    requests = 2, -- the idempotency key makes one resend safe
  },
  {
    name = "after a retried storage download, a credit-spending POST still gets a connection no request used",
    answers = {
      { H.json(200, '{"credits":5}') },                                   -- 1: GET /auth/me (kept alive)
      { close = true },                                                   -- 2: the download on it: dead
      { H.response(200, { "Content-Type: text/csv" }, "a,b\r\n") },       -- 3: the download again (kept alive)
      { H.json(201, '{"success":true,"data":{"_id":"507f1f77bcf86cd799439011","type":"INSTAGRAM_HASHTAG"}}') },
    },
    calls = {
      { op = "request", path = "/auth/me", expect = { ok = true } },
      { op = "download", path = "/file.csv", opts = { max_retries = 0 }, expect = { ok = true, file = "a,b\r\n" } },
      { op = "sdk", fn = "campaigns.create", args = { CAMPAIGN }, expect = { ok = true } },
    },
    requests = 4,
    check = function(_, log, transport)
      local post = log.requests[4]
      assert(post.method == "POST", "request 4 is the POST")
      for i = 1, 3 do
        assert(log.requests[i].conn ~= post.conn, transport .. ": the POST went out on the connection of request " .. i)
      end
    end,
  },
}
