--- Hostile-server cases: the wire (framing, bounds, timeouts). Format:
-- spec/support/README.md, "Hostile-server cases".
local H = require("spec.support.hostile")

local ME = '{"success":true,"data":{"email":"a@example.com","credits":5}}'

return {
  {
    name = "a plain JSON answer is read the same way",
    answers = { { H.json(200, ME) } },
    calls = { { op = "request", path = "/auth/me", expect = { ok = true } } },
    requests = 1,
  },
  {
    name = "an error answer gives the same status and kind",
    answers = { { H.json(404, '{"message":"nope","code":"NOT_FOUND","errors":[],"requestId":"req_hostile_1"}') } },
    calls = { { op = "request", path = "/campaigns/x", expect = { ok = false, status = 404 } } },
    same = { "message", "request_id" },
    requests = 1,
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
}
