--- The retry policy: which failures are worth another attempt, and how long
-- to wait first. Pure decisions; request.lua does the waiting.
--
-- Retried: network errors, timeouts, 408, 429 and 5xx, for requests that are
-- safe to resend (GET, and POSTs the API makes idempotent). Never retried:
-- 400, 401, 403, 404, 409, an insufficient-credits answer, a response too
-- large to accept, anything rejected client-side.
local M = {}

M.BASE_DELAY = 0.5 -- seconds before the first retry (before jitter)
M.MAX_DELAY = 8    -- backoff ceiling

--- Could a request that failed like this have taken effect on the server?
-- (Reset or timeout after sending, an undecodable 2xx, a gateway that gave up
-- waiting for the upstream.)
function M.outcome_unknown(err)
  if err.kind == "timeout" or err.kind == "network" then return err.sent ~= false end
  if err.kind == "decode" then return err.status ~= nil and err.status < 300 end
  return err.status == 502 or err.status == 504
end

--- Exponential backoff with full jitter: uniform in [0, min(cap, base*2^(n-1))].
function M.backoff(attempt, random)
  local ceiling = math.min(M.MAX_DELAY, M.BASE_DELAY * 2 ^ (attempt - 1))
  return (random or math.random)() * ceiling
end

--- decide(err, ctx) -> delay | nil, reason
-- ctx: attempt (just made, 1-based), max_retries, safe (resending is harmless),
--      remaining (seconds left in the call's overall bound), max_wait (longest
--      Retry-After we will sleep through), random (optional).
function M.decide(err, ctx)
  if not err.retryable then return nil, "not retryable" end
  if ctx.attempt > ctx.max_retries then return nil, "retries exhausted" end
  if not ctx.safe then
    -- A request that spends credits is resent only when the server certainly
    -- did not act on it: refused before processing (429), or never sent.
    local not_sent = (err.kind == "network" or err.kind == "timeout") and err.sent == false
    if not (not_sent or err.status == 429) then return nil, "not safe to resend" end
  end
  local delay
  if err.retry_after then
    if err.retry_after > ctx.max_wait then return nil, "Retry-After beyond max_retry_wait" end
    delay = err.retry_after
  else
    delay = M.backoff(ctx.attempt, ctx.random)
  end
  if delay > ctx.remaining then return nil, "deadline" end
  return delay
end

return M
