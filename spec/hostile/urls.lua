--- Hostile-server cases: URLs a server hands us (a storage redirect's
-- Location) follow the rule of every URL the SDK did not build itself: https,
-- or plain http only to loopback (README "Security"). Format:
-- spec/support/README.md, "Hostile-server cases".
local H = require("spec.support.hostile")

local CSV = H.response(200, { "Content-Type: text/csv" }, "a,b\r\n")

return {
  {
    -- evil.localhost: libcurl resolves *.localhost itself (to 127.0.0.1, no
    -- DNS), but it is not one of the loopback names the SDK trusts with plain
    -- http, so it stands for any public host here.
    name = "a download redirected to plain http on a non-loopback host is refused before the request",
    answers = { { H.response(302, { "Location: http://evil.localhost:${PORT}/x" }, "") }, { CSV } },
    calls = { { op = "download", path = "/f",
      expect = { ok = false, kind = "invalid", message = "refusing a non-https URL", file = false } } },
    same = { "message", "retryable" },
    requests = 1,
  },
  {
    name = "a download redirected to plain http on localhost is followed",
    answers = { { H.response(302, { "Location: http://localhost:${PORT}/x" }, "") }, { CSV } },
    calls = { { op = "download", path = "/f", expect = { ok = true, file = "a,b\r\n" } } },
    requests = 2,
  },
}
