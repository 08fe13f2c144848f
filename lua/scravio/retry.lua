--- The retry policy: which failures are worth another attempt, and how long
-- to wait first. Pure decisions; request.lua does the waiting.
--
-- Retried, for requests that are safe to resend (GET, and POSTs the API makes
-- idempotent or that carry an idempotency key): network errors, timeouts, 408,
-- 429 and 5xx, and a 2xx whose body could not be read whole.
-- Never retried: 400, 401, 403, 404, 409, an insufficient-credits answer, a
-- response too large to accept, a TLS verification failure, anything rejected
-- client-side.
--
-- A request that spends credits and carries no idempotency key (POST
-- /campaigns, POST /campaigns/{id}/validate, POST /validation-jobs/text) is
-- resent only when the server certainly did not act on it: the connection was
-- never made, or the server refused it before processing (429, 408). When
-- there was no answer at all (no_answer: reset or timeout after sending, an
-- unreadable 2xx, a 502/504) request.lua reconciles; a definite 500/503 answer
-- is returned as it is, marked not retryable, and neither resent nor
-- reconciled.
--
-- Compared with the Stripe and OpenAI SDKs: the same statuses (they also
-- retry 409, which here means "validation already running" and must not be
-- retried), exponential backoff from 0.5 s capped at 8 s, but full jitter
-- (uniform in [0, ceiling]) rather than their 50-100 % / 75-100 % bands, so
-- clients that failed together do not retry together. Retry-After is honoured
-- up to max_retry_wait; a longer one is returned to the caller at once instead
-- of being ignored (Stripe) or silently replaced by backoff (OpenAI), because
-- a rate-limited Scravio endpoint (3/hour) will not recover in seconds.
-- Every wait also fits inside the call's overall deadline.
local M = {}

M.BASE_DELAY = 0.5 -- seconds before the first retry (before jitter)
M.MAX_DELAY = 8    -- backoff ceiling
M.MIN_ATTEMPT = 0.05 -- an attempt needs at least this much of the deadline left

local huge = math.huge

--- Is x a finite, non-negative number?
local function usable(x)
  return type(x) == "number" and x == x and x >= 0 and x < huge
end
M.usable = usable

--- Did the server certainly not act on the request? (The connection was never
-- made, or the server refused it before processing it.)
function M.not_processed(err)
  if err.kind == "network" or err.kind == "timeout" then return err.sent == false end
  return err.status == 429 or err.status == 408
end

--- Could a request that failed like this have taken effect on the server?
-- (Reset or timeout after sending, a 2xx we could not read, any 5xx: a 500
-- may come after the work was done, a 502/504 says nothing about upstream.)
-- Either way an unsafe request is not resent; only no_answer() failures are
-- reconciled.
function M.outcome_unknown(err)
  if err.kind == "timeout" or err.kind == "network" then return err.sent ~= false end
  if err.kind == "decode" then return err.status == nil or err.status < 300 end
  return type(err.status) == "number" and err.status >= 500
end

--- Is the failure itself silent about the outcome (no definite answer from
-- the API at all)? A 500/503 with the API's own JSON error body is a
-- definite "failed", returned as it is; a 502/504 comes from a
-- gateway that lost track of the upstream, and a 5xx without the envelope
-- (an HTML or empty page) is not the API speaking either: a proxy or load
-- balancer in front of it answered, whatever the API did. Only these silent
-- failures of a credit-spending request are reconciled.
function M.no_answer(err)
  if err.kind == "timeout" or err.kind == "network" or err.kind == "decode" then return true end
  if err.status == 502 or err.status == 504 then return true end
  return type(err.status) == "number" and err.status >= 500 and err.proxy_page == true
end

--- Exponential backoff with full jitter: uniform in [0, min(cap, base*2^(n-1))].
function M.backoff(attempt, random)
  local ceiling = math.min(M.MAX_DELAY, M.BASE_DELAY * 2 ^ (attempt - 1))
  return (random or math.random)() * ceiling
end

--- decide(err, ctx) -> delay, how | nil, reason
-- ctx: attempt (just made, 1-based), max_retries, safe (resending is harmless),
--      remaining (seconds left in the call's overall bound), max_wait (longest
--      Retry-After we will sleep through), random (optional).
-- how is "retry_after" or "backoff"; reason names why we stop.
function M.decide(err, ctx)
  if not err.retryable then return nil, "not retryable" end
  if ctx.attempt > (ctx.max_retries or 0) then return nil, "retries exhausted" end
  if not ctx.safe and not M.not_processed(err) then return nil, "not safe to resend" end
  local delay, how
  if usable(err.retry_after) then
    if err.retry_after > (ctx.max_wait or 0) then return nil, "Retry-After beyond max_retry_wait" end
    delay, how = err.retry_after, "retry_after"
  else
    delay, how = M.backoff(ctx.attempt, ctx.random), "backoff"
  end
  local remaining = ctx.remaining or huge
  if delay + M.MIN_ATTEMPT > remaining then return nil, "deadline" end
  return delay, how
end

return M
