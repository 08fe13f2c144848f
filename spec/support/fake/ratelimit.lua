-- The four documented rate limits, as sliding windows on the fake clock:
--   POST /campaigns/{id}/stop       5 / minute / campaign
--   POST /campaigns/{id}/validate   3 / minute / campaign
--   POST /validation-jobs/text      3 / hour   / account
--   POST /list-exports              5 / hour   / account
-- Like a middleware limiter they count every authenticated request to the
-- endpoint (even ones later refused with 400/404/409); refused 429s do not
-- count.  Retry-After is the whole seconds until the oldest hit leaves the
-- window.  configure{rate_limits=false} turns them off.  In strict-reference
-- mode (config strict_reference) a 429 has no Retry-After and counts as a hit.
local S = require "fake.state"
local clock = require "fake.clock"
local config = require "fake.config"
local http = require "fake.http"

local M = {}

M.LIMITS = {
  stop         = { limit = 5, window = 60,   per = "campaign" },
  validate     = { limit = 3, window = 60,   per = "campaign" },
  text_job     = { limit = 3, window = 3600, per = "account" },
  list_exports = { limit = 5, window = 3600, per = "account" },
}

-- check(name, acct, resource_id): raises 429 or records the hit.
function M.check(name, acct, resource)
  if not config.values.rate_limits then return end
  local L = M.LIMITS[name]
  local key = name .. "\0" .. acct.id .. "\0" .. (L.per == "campaign" and tostring(resource) or "")
  local now = clock.now()
  local hits = S.rate[key]
  if not hits then hits = {}; S.rate[key] = hits end
  -- drop hits that left the window
  local keep, n = {}, 0
  for i = 1, #hits do
    if hits[i] > now - L.window then n = n + 1; keep[n] = hits[i] end
  end
  S.rate[key] = keep
  if n >= L.limit then
    local retry = math.ceil(keep[1] + L.window - now)
    if retry < 1 then retry = 1 end
    local strict = config.values.strict_reference
    if strict then keep[n + 1] = now end -- a refused request still counts
    http.raise(429, "RATE_LIMIT_EXCEEDED",
      string.format("Too many requests: limit is %d per %s%s.%s",
        L.limit, L.window == 60 and "minute" or "hour", L.per == "campaign" and " per campaign" or "",
        strict and "" or string.format(" Retry after %d seconds.", retry)),
      nil, { ["Retry-After"] = (not strict) and tostring(retry) or nil, ["X-RateLimit-Limit"] = tostring(L.limit),
             ["X-RateLimit-Remaining"] = "0" })
  end
  keep[n + 1] = now
  ngx.ctx.rate_headers = { ["X-RateLimit-Limit"] = tostring(L.limit),
                           ["X-RateLimit-Remaining"] = tostring(L.limit - n - 1) }
end

return M
