--- The request pipeline: where every API call is built, sent, retried and
-- decoded.
--
--   build    client._core:prepare()  C: URL, encoded path segments, query, JSON body
--   pace     pacing.take()           client-side rate limits (opts.pace)
--   send     transport:send()        C libcurl, or cosockets under OpenResty
--   decode   inside send             C: JSON -> Lua, or a scravio.Error
--   retry    retry.decide()          backoff, Retry-After, the overall deadline
--   unknown  opts.reconcile()        a credit-spending request whose outcome is unknown
local errors = require("scravio.errors")
local pacing = require("scravio.pacing")
local retry = require("scravio.retry")
local runtime = require("scravio.runtime")

local M = {}

--- Report an event to the user's on_event hook. A failing hook must not
-- break a request that may be spending credits, so its errors are dropped.
function M.emit(client, event)
  local hook = client._on_event
  if hook then pcall(hook, event) end
end

local function unknown_outcome(err, method, path)
  return errors.new("unknown_outcome", string.format(
    "%s %s may or may not have taken effect (%s) and no matching result was found; " ..
    "it was not resent. Check before retrying (for a campaign: GET /campaigns sorted by createdAt).",
    method, path, err.message or err.kind), {
      method = method, path = path, status = err.status, request_id = err.request_id,
      cause = err, retryable = false,
    })
end

--- request.call(client, method, template, opts, ...) -> body, status, request_id | nil, err
-- template: an API path with "{}" for each id in `...` (encoded as one segment).
-- opts: query, body, safe (resending is harmless), timeout, max_retries,
--       pace = {name, scope}, reconcile = function(started_at) -> value|nil, fresh.
function M.call(client, method, template, opts, ...)
  opts = opts or {}
  local core = client._core
  local url, path, body = core:prepare(template, opts.query, opts.body, ...)
  if not url then return nil, path end -- path holds the error

  local safe = opts.safe
  if safe == nil then safe = method == "GET" end
  if opts.pace and client._pace then
    local ok, perr = pacing.take(client, opts.pace[1], opts.pace[2], function(ev)
      ev.method, ev.path = method, path
      M.emit(client, ev)
    end)
    if not ok then
      perr.method, perr.path = method, path
      return nil, perr
    end
  end

  local transport = client._transport
  local max_retries = opts.max_retries or client._max_retries
  local started = runtime.now()
  local started_wall = runtime.time()
  local deadline = started + (opts.deadline or client._deadline)
  -- Unsafe requests get a fresh connection: libcurl would otherwise resend
  -- them by itself when a reused connection dies before answering.
  local fresh = opts.fresh or not safe
  local attempt = 0
  while true do
    attempt = attempt + 1
    local t0 = runtime.now()
    local timeout = opts.timeout or client._timeout
    local left = deadline - t0
    if left < timeout then timeout = math.max(left, 0.001) end
    M.emit(client, { type = "request", method = method, path = path, attempt = attempt })
    local value, status, request_id = transport:send(method, url, path, body, timeout, fresh)
    if value ~= nil then
      M.emit(client, { type = "response", method = method, path = path, status = status,
        attempt = attempt, request_id = request_id, elapsed = runtime.now() - t0 })
      return value, status, request_id
    end
    local err = status
    err.attempts = attempt
    M.emit(client, { type = "response", method = method, path = path, status = err.status,
      attempt = attempt, request_id = err.request_id, elapsed = runtime.now() - t0, error = err.kind })

    local retry_safe = safe
    if not safe and opts.reconcile and (retry.outcome_unknown(err) or (err.status or 0) >= 500) then
      -- Did it happen anyway? Look before answering, and before any resend.
      M.emit(client, { type = "reconcile", method = method, path = path, attempt = attempt, error = err.kind })
      local found = opts.reconcile(started_wall)
      if found ~= nil then
        M.emit(client, { type = "reconciled", method = method, path = path, attempt = attempt })
        return found, err.status, err.request_id
      end
      if retry.outcome_unknown(err) then return nil, unknown_outcome(err, method, path) end
      -- The server answered with a failure and nothing matching exists: resending is safe.
      retry_safe = true
    elseif not safe and retry.outcome_unknown(err) then
      return nil, unknown_outcome(err, method, path)
    end

    local delay, why = retry.decide(err, {
      attempt = attempt, max_retries = max_retries, safe = retry_safe,
      remaining = deadline - runtime.now(), max_wait = client._max_retry_wait,
    })
    if not delay then
      err.gave_up = why
      M.emit(client, { type = "error", method = method, path = path, attempts = attempt,
        kind = err.kind, status = err.status, code = err.code, request_id = err.request_id, reason = why })
      return nil, err
    end
    M.emit(client, { type = "retry", method = method, path = path, attempt = attempt, delay = delay,
      kind = err.kind, status = err.status, request_id = err.request_id })
    runtime.sleep(delay)
  end
end

--- Unwrap the {success, data} envelope some endpoints use; others answer the
-- bare object. Tolerant of both, so a wrapped answer never surprises a caller.
function M.unwrap(body)
  if type(body) == "table" and body.success ~= nil and type(body.data) == "table" then
    return body.data
  end
  return body
end

return M
