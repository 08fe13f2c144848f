--- Hostile-server cases: the wire (framing, bounds, timeouts). Format:
-- spec/support/README.md, "Hostile-server cases".
local H = require("spec.support.hostile")

local ME = '{"success":true,"data":{"email":"a@example.com","credits":5}}'
local ME_VALUE = { success = true, data = { email = "a@example.com", credits = 5 } }
local INJECTED = '{"success":true,"data":{"email":"injected@example.com","credits":999}}'
local HEAD = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " .. #ME .. "\r\n\r\n"
local NOT_FOUND = '{"message":"nope","code":"NOT_FOUND","errors":[]}'

return {
  -- ---- baseline ----------------------------------------------------------
  {
    name = "a plain JSON answer is read the same way",
    answers = { { H.json(200, ME) } },
    calls = { { op = "request", path = "/auth/me", expect = { ok = true, value = ME_VALUE } } },
    requests = 1,
  },
  {
    name = "an error answer gives the same status and kind",
    answers = { { H.json(404, '{"message":"nope","code":"NOT_FOUND","errors":[],"requestId":"req_hostile_1"}') } },
    calls = { { op = "request", path = "/campaigns/x", expect = { ok = false, status = 404 } } },
    same = { "message", "request_id" },
    events = true,
    requests = 1,
    check = function(outcomes)
      local ev = outcomes[1].events
      assert(#ev >= 1 and ev[#ev].type == "error", "no error event")
    end,
  },
  {
    name = "a connection closed before any answer is a network error",
    answers = { { close = true } },
    calls = { { op = "request", path = "/auth/me", expect = { ok = false, kind = "network" } } },
    requests = 1,
  },
  {
    name = "a download is saved byte for byte",
    answers = { { H.response(200, { "Content-Type: text/csv" }, "a,b\r\n1,2\r\n") } },
    calls = { { op = "download", path = "/file.csv", expect = { ok = true, file = "a,b\r\n1,2\r\n" } } },
    requests = 1,
  },

  -- ---- timeouts bound every call ----------------------------------------
  {
    name = "an API answer trickling in ends at timeout (the whole call, not each read)",
    client = { timeout = 1 },
    answers = { { HEAD, { trickle = ME, every = 0.1 } } },
    calls = { { op = "request", path = "/auth/me", expect = { ok = false, kind = "timeout" } } },
    requests = 1,
  },
  {
    name = "a POST whose answer trickles in does not succeed after its timeout",
    client = { timeout = 1 },
    answers = { { HEAD, { trickle = ME, every = 0.1 } } },
    calls = { { op = "request", method = "POST", path = "/things", body = { a = 1 },
      expect = { ok = false, kind = "unknown_outcome", message = "timed out" } } },
    requests = 1,
  },
  {
    name = "a trickling download ends after the client's timeout, naming the stall, leaving no file",
    client = { timeout = 1 },
    answers = { { "HTTP/1.1 200 OK\r\nContent-Length: 400\r\n\r\n",
      { trickle = string.rep("x", 400), every = 0.05, size = 2 } } },
    calls = { { op = "download", path = "/f",
      expect = { ok = false, kind = "timeout", message = "download stalled", file = false } } },
    requests = 1,
  },
  {
    name = "a download whose server never answers ends after the client's timeout, naming the stall",
    client = { timeout = 1 },
    answers = { { { sleep = 20 } } },
    calls = { { op = "download", path = "/f",
      expect = { ok = false, kind = "timeout", message = "download stalled", file = false } } },
    requests = 1,
  },
  {
    name = "an upload whose answer trickles in ends after the client's timeout, naming the stall",
    client = { timeout = 1 },
    answers = { { { trickle = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nX-Pad: " .. string.rep("p", 200) .. "\r\n\r\n",
      every = 0.05, size = 2 } } },
    calls = { { op = "upload", path = "/u", data = "a,b\n",
      expect = { ok = false, kind = "timeout", message = "upload stalled" } } },
    requests = 1,
  },
  {
    name = "an upload the server never answers ends after the client's timeout, naming the stall",
    client = { timeout = 1 },
    answers = { { { sleep = 20 }, read_body = false } },
    calls = { { op = "upload", path = "/u", data = "a,b\n",
      expect = { ok = false, kind = "timeout", message = "upload stalled" } } },
    requests = 1,
  },
  {
    name = "an upload the server stops reading ends after the client's timeout, naming the stall",
    client = { timeout = 1 },
    answers = { { { sleep = 30 }, read_body = false } },
    calls = { { op = "upload", path = "/u", data = string.rep("a,b\n", 1024), times = 4 * 1024, -- 16 MiB: more than the socket buffers hold
      expect = { ok = false, kind = "timeout", message = "upload stalled" } } },
    requests = 1,
  },
  {
    name = "a download's own timeout bounds it even while bytes keep coming",
    client = { timeout = 60 },
    answers = { { "HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n",
      { trickle = string.rep("x", 100000), every = 0.05, size = 2000 } } },
    calls = { { op = "download", path = "/f", opts = { timeout = 1 },
      expect = { ok = false, kind = "timeout", file = false } } },
    requests = 1,
  },

  -- ---- framing (RFC 9112) --------------------------------------------------
  {
    name = "bare-LF line endings in the status line and headers are accepted (RFC 9112 §2.2)",
    client = { timeout = 2 },
    answers = { { "HTTP/1.1 200 OK\nContent-Type: application/json\nContent-Length: " .. #ME .. "\n\n" .. ME } },
    calls = { { op = "request", path = "/auth/me", expect = { ok = true, value = ME_VALUE } } },
    requests = 1,
  },
  {
    name = "a POST answered with bare-LF lines succeeds (not an unknown outcome)",
    client = { timeout = 2 },
    answers = { { "HTTP/1.1 201 Created\nContent-Type: application/json\nContent-Length: " .. #ME .. "\n\n" .. ME } },
    calls = { { op = "request", method = "POST", path = "/things", body = { a = 1 },
      expect = { ok = true, value = ME_VALUE } } },
    requests = 1,
  },
  {
    name = "zero-padded chunk sizes are accepted",
    client = { timeout = 2 },
    answers = { { "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n" ..
      string.format("%016x", #ME) .. "\r\n" .. ME .. "\r\n0000\r\n\r\n" } },
    calls = { { op = "request", path = "/auth/me", expect = { ok = true, value = ME_VALUE } } },
    requests = 1,
  },
  {
    name = "a second response sent with the first is never read as the next answer",
    answers = { { H.json(200, ME) .. H.json(200, INJECTED) }, { H.json(200, ME) } },
    calls = {
      { op = "request", path = "/auth/me" },
      { op = "request", path = "/auth/me", expect = { ok = true, value = ME_VALUE } },
    },
    requests = 2,
  },
  {
    name = "unrequested bytes on a kept-alive connection: the next request gets a new connection (RFC 9112 §11.1)",
    answers = { { H.json(200, ME), { sleep = 0.05 }, H.json(200, INJECTED) }, { H.json(200, ME) } },
    calls = {
      { op = "request", path = "/auth/me" },
      { op = "await", answers = 1 }, -- the injected answer is there before the next request
      { op = "request", path = "/auth/me", expect = { ok = true, value = ME_VALUE } },
      { op = "request", path = "/auth/me", expect = { ok = true, value = ME_VALUE } },
    },
    requests = 3,
    check = function(_, log)
      assert(log.requests[2].conn ~= log.requests[1].conn, "the poisoned connection was reused")
    end,
  },
  {
    name = "a download with a non-numeric Content-Length is an error, not a file (RFC 9112 §6.3)",
    answers = { { "HTTP/1.1 200 OK\r\nContent-Length: 1x\r\n\r\nabcdef", close = true } },
    calls = { { op = "download", path = "/f",
      expect = { ok = false, kind = "network", message = "invalid Content-Length", file = false } } },
    requests = 1,
  },
  {
    name = "a download with two differing Content-Lengths is an error, not a file",
    answers = { { "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 6\r\n\r\nabcdef", close = true } },
    calls = { { op = "download", path = "/f",
      expect = { ok = false, kind = "network", message = "invalid Content-Length", file = false } } },
    requests = 1,
  },
  {
    name = "a folded Transfer-Encoding never turns the chunk framing into file content",
    answers = { { "HTTP/1.1 200 OK\r\nTransfer-Encoding:\r\n chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n", close = true } },
    calls = { { op = "download", path = "/f",
      expect = { ok = false, kind = "network", message = "obs-fold", file = false } } },
    requests = 1,
  },
  {
    name = "Transfer-Encoding on an HTTP/1.0 response closes the connection after it",
    answers = {
      { "HTTP/1.0 200 OK\r\nContent-Type: application/json\r\nConnection: keep-alive\r\n" ..
        "Transfer-Encoding: chunked\r\n\r\n" .. string.format("%x", #ME) .. "\r\n" .. ME .. "\r\n0\r\n\r\n" },
      { H.json(200, ME) },
    },
    calls = {
      { op = "request", path = "/auth/me", expect = { ok = true, value = ME_VALUE } },
      { op = "request", path = "/auth/me", expect = { ok = true, value = ME_VALUE } },
    },
    requests = 2,
    check = function(_, log)
      assert(log.requests[1].conn ~= log.requests[2].conn, "the connection was reused")
    end,
  },
  {
    name = "Transfer-Encoding with Content-Length: chunked wins and the connection closes after it",
    answers = {
      { "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 5\r\n" ..
        "Transfer-Encoding: chunked\r\n\r\n" .. string.format("%x", #ME) .. "\r\n" .. ME .. "\r\n0\r\n\r\n" },
      { H.json(200, ME) },
    },
    calls = {
      { op = "request", path = "/auth/me", expect = { ok = true, value = ME_VALUE } },
      { op = "request", path = "/auth/me", expect = { ok = true, value = ME_VALUE } },
    },
    requests = 2,
    check = function(_, log)
      assert(log.requests[1].conn ~= log.requests[2].conn, "the connection was reused")
    end,
  },
  {
    name = "every request says Accept-Encoding: identity",
    answers = { { H.json(200, ME) }, { H.response(200, {}, "abc") }, { H.response(200, {}, "") } },
    calls = {
      { op = "request", path = "/auth/me" },
      { op = "download", path = "/f" },
      { op = "upload", path = "/u", data = "a\n" },
    },
    requests = 3,
    check = function(_, log)
      for i, r in ipairs(log.requests) do
        assert(r.headers["accept-encoding"] == "identity",
          "request " .. i .. " says Accept-Encoding: " .. tostring(r.headers["accept-encoding"]))
      end
    end,
  },
  {
    name = "repeated Content-Type and X-Request-Id headers: the first counts, on both transports",
    answers = { { H.response(404, { "Content-Type: text/html", "Content-Type: application/json",
      "X-Request-Id: req_a", "X-Request-Id: req_b" }, NOT_FOUND) } },
    calls = { { op = "request", path = "/x", expect = { ok = false, status = 404, request_id = "req_a" } } },
    same = { "message", "request_id", "retryable" },
    requests = 1,
  },
  {
    name = "repeated Retry-After headers: the first counts, on both transports",
    answers = { { H.response(429, { "Content-Type: application/json", "Retry-After: 1", "Retry-After: 99" },
      '{"message":"slow down","code":"RATE_LIMIT_EXCEEDED","errors":[]}') } },
    calls = { { op = "request", path = "/x", expect = { ok = false, status = 429 } } },
    same = { "message", "retry_after" },
    requests = 1,
    check = function(outcomes)
      assert(outcomes[1].retry_after == 1, "retry_after " .. tostring(outcomes[1].retry_after))
    end,
  },
  {
    name = "a redirect on an API call is not followed and not retried",
    client = { max_retries = 2 },
    answers = { { H.response(302, { "Location: ${BASE}/api/auth/me" }, "") } },
    calls = { { op = "request", path = "/auth/me", expect = { ok = false, status = 302, retryable = false } } },
    same = { "message", "request_id", "retryable" },
    requests = 1,
  },
  {
    name = "a download redirect loop ends, not retried, with the same error",
    client = { max_retries = 2 },
    answers = { { H.response(302, { "Location: ${BASE}/f" }, "") } },
    calls = { { op = "download", path = "/f",
      expect = { ok = false, kind = "api", retryable = false, message = "redirect loop", file = false } } },
    same = { "message", "retryable" },
    requests = 6, -- the first request and 5 redirects followed
  },

  -- ---- more broken answers: both transports say the same ---------------------
  {
    name = "garbage instead of a status line is a network error",
    client = { timeout = 2 },
    answers = { { "garbage\r\n\r\n", close = true } },
    calls = { { op = "request", path = "/auth/me", expect = { ok = false, kind = "network" } } },
    requests = 1,
  },
  {
    name = "an interim 100 Continue before the answer is skipped",
    answers = { { "HTTP/1.1 100 Continue\r\n\r\n" .. H.json(200, ME) } },
    calls = { { op = "request", path = "/auth/me", expect = { ok = true, value = ME_VALUE } } },
    requests = 1,
  },
  {
    name = "a 2xx whose body is not JSON is a decode error",
    answers = { { H.json(200, "<html>hello</html>") } },
    calls = { { op = "request", path = "/auth/me", expect = { ok = false, kind = "decode" } } },
    requests = 1,
  },
  {
    name = "an unrequested gzip body is a decode error, never a crash",
    answers = { { H.response(200, { "Content-Type: application/json", "Content-Encoding: gzip" },
      "\31\139\8\0\0\0\0\0\0\3\171\174\5\0\67\191\166\163\2\0\0\0") } },
    calls = { { op = "request", path = "/auth/me", expect = { ok = false, kind = "decode" } } },
    requests = 1,
  },
  {
    name = "a negative Content-Length is refused",
    answers = { { "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: -1\r\n\r\n{}", close = true } },
    calls = { { op = "request", path = "/auth/me", expect = { ok = false, kind = "network" } } },
    requests = 1,
  },
  {
    name = "a declared Content-Length over max_response_bytes is refused before the body",
    client = { max_response_bytes = 1000 },
    answers = { { "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 5000000\r\n\r\n{",
      { sleep = 10 } } },
    calls = { { op = "request", path = "/auth/me", expect = { ok = false, kind = "decode" } } },
    requests = 1,
  },
  {
    name = "a body cut short of its Content-Length is a network error",
    answers = { { "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"a\":", close = true } },
    calls = { { op = "request", path = "/auth/me", expect = { ok = false, kind = "network" } } },
    requests = 1,
  },
  {
    name = "a chunked download cut mid-chunk leaves no file",
    answers = { { "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\na\r\nabc", close = true } },
    calls = { { op = "download", path = "/f", expect = { ok = false, kind = "network", file = false } } },
    requests = 1,
  },
  {
    name = "a download framed by the connection's end is saved whole",
    answers = { { "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nall,of,it\n", close = true } },
    calls = { { op = "download", path = "/f", expect = { ok = true, file = "all,of,it\n" } } },
    requests = 1,
  },
  {
    name = "a download error status keeps no file and says the status",
    answers = { { H.response(403, { "Content-Type: application/xml" }, "<Error><Code>AccessDenied</Code></Error>") } },
    calls = { { op = "download", path = "/f", expect = { ok = false, status = 403, file = false } } },
    same = { "retryable" },
    requests = 1,
  },

  -- ---- endless and bomb-like answers ---------------------------------------
  {
    name = "a chunk-size line that never ends fails fast with a bounded buffer",
    client = { max_response_bytes = 65536, timeout = 5 },
    answers = { { "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n",
      string.rep("0", 300000), { sleep = 10 } } },
    calls = { { op = "request", path = "/auth/me", expect = { ok = false, kind = "network" } } },
    requests = 1,
  },
  {
    name = "a header line that never ends fails with a bounded buffer",
    client = { timeout = 5 },
    answers = { { "HTTP/1.1 200 OK\r\nX-Long: ", string.rep("a", 400000), { sleep = 10 } } },
    calls = { { op = "request", path = "/auth/me", expect = { ok = false, kind = "network" } } },
    requests = 1,
  },
  {
    name = "a chunked body larger than max_response_bytes is refused",
    client = { max_response_bytes = 65536, timeout = 5 },
    answers = { { "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n",
      string.rep(string.format("%x\r\n%s\r\n", 40000, string.rep(" ", 40000)), 3), "0\r\n\r\n" } },
    calls = { { op = "request", path = "/auth/me", expect = { ok = false, kind = "decode" } } },
    requests = 1,
  },
}
