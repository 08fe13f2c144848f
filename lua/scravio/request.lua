--- The request pipeline: where every API call is built, sent, retried and
-- decoded.
--
--   build    client._core:prepare()  C: URL, encoded path segments, query, JSON body
--   pace     pacing.take()           client-side rate limits (opts.pace), per attempt
--   send     transport:send()        C libcurl, or cosockets under OpenResty
--   decode   inside send             C: JSON -> Lua, or a scravio.Error
--   retry    retry.decide()          backoff, Retry-After, the overall deadline
--   unknown  opts.reconcile()        a credit-spending request whose outcome is unknown
--
-- Requests that spend credits without an idempotency key (opts.safe = false)
-- are never sent twice once they may have reached the server: they go out on
-- a fresh connection (libcurl would otherwise resend them by itself when a
-- kept-alive connection turns out dead), they are retried only when the server
-- certainly did not act on them (no connection, 429, 408). When there was no
-- answer at all (reset or timeout after sending, an unreadable 2xx, a 502/504,
-- a 5xx page with no JSON error body, err.proxy_page: a proxy answered) the
-- outcome is reconciled by looking for the result (created since the call
-- began, and not one this client created before); failing that the caller
-- gets kind "unknown_outcome". A definite 5xx answer (a 500 or 503 with a
-- JSON error body: the API's own) is returned as it is, with retryable =
-- false: never resent, never reconciled.
--
-- Time comes from client._runtime (now, time, sleep, random) when set, else
-- scravio.runtime: tests inject a fake clock there and never really wait.
local core = require("scravio.core")
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

--- The debug log (scravio.new{log = "debug"} or SCRAVIO_LOG=debug): one line
-- per attempt on stderr (or to a log function), built only when asked for,
-- with the client's credential masked in everything the line copies.
local function log_line(client, method, path, attempt, ms, status, request_id, err)
  local line = string.format("scravio: %s %s %s attempt=%d %dms%s%s", method, path,
    status and tostring(status) or (err and err.kind or "-"), attempt, math.floor(ms * 1000 + 0.5),
    request_id and (" request_id=" .. tostring(request_id)) or "",
    err and err.message and (" (" .. tostring(err.message):gsub("%c", " ") .. ")") or "")
  line = core.mask(client._core, line)
  local sink = client._log
  if type(sink) == "function" then
    pcall(sink, line)
  else
    io.stderr:write(line, "\n")
  end
end
M.log_line = log_line

--- What the last HTTP answer said about itself (client:last_response()):
-- kept as plain fields on the client, so a request allocates nothing for it.
local function note_answer(client, method, path, status, request_id, attempt, rl_limit, rl_left, rl_reset)
  client._last_method, client._last_path, client._last_status = method, path, status
  client._last_request_id, client._last_attempts = request_id, attempt
  client._last_rl_limit, client._last_rl_left, client._last_rl_reset = rl_limit, rl_left, rl_reset
end

local function clock_of(client)
  return client._runtime or runtime
end
M.clock = clock_of

local function describe(err)
  local m = err.message or err.kind or "failed"
  if #m > 200 then m = m:sub(1, 200) .. "..." end
  return m
end

local function unknown_outcome(err, method, path, attempts, reconciled, hint, looked)
  local msg = string.format(
    "%s %s may or may not have taken effect (%s). It was not sent again, so that nothing is " ..
    "created or charged twice%s. Check before trying again%s.",
    method, path, describe(err),
    reconciled and (", and " .. (looked or "no matching result was found when we looked")) or "",
    hint and (": " .. hint) or "")
  return errors.new("unknown_outcome", msg, {
    method = method, path = path, status = err.status, request_id = err.request_id,
    cause = err, retryable = false, attempts = attempts, reconciled = reconciled or nil,
  })
end

local function whole(n)
  return type(n) == "number" and n >= 0 and n == math.floor(n) and n < math.huge
end

local function bad_option(param, msg)
  return nil, errors.invalid({ { param = param, location = "option", msg = msg } })
end

--- The final error's message says the cause once, how many attempts were
-- made when there were several, and then what to do (err.hint, set by the
-- transport or below): one line, cause then fix.
local spelt = setmetatable({}, { __mode = "k" }) -- errors already spelt out (a cause reaches finish once)
local function spell_out(client, err, attempts, storage)
  if spelt[err] then return end
  spelt[err] = true
  local msg = err.message or err.kind or "failed"
  if attempts and attempts > 1 and (err.kind == "network" or err.kind == "timeout") then
    msg = string.format("%s; tried %d times", msg, attempts)
  end
  if err.status == 404 and not storage and err.hint == nil and client._api_path_missing then
    -- Every route answers 404 when the base URL lacks the API's path.
    err.hint = string.format("base_url %s has no /api path: the API lives under /api (try %s)",
      client._api_path_missing[1], client._api_path_missing[2])
  end
  if err.hint then msg = msg .. ". " .. err.hint end
  err.message = msg
end
M.spell_out = spell_out

local function finish(client, err, method, path, attempts, reason)
  err.attempts = err.attempts or attempts
  spell_out(client, err, err.attempts)
  if reason and not err.gave_up then err.gave_up = reason end
  M.emit(client, { type = "error", method = method, path = path, attempts = attempts,
    kind = err.kind, status = err.status, code = err.code, request_id = err.request_id,
    retry_after = err.retry_after, reason = reason })
  return nil, err
end

-- ---- The one deadline of a call --------------------------------------------
-- A call's deadline is computed once, as an absolute time on the client's
-- clock (clock.now()), and every request, retry, reconcile lookup, storage
-- transfer and sleep it makes ends by then. Operations made of several
-- requests (wait, download, run) run their steps inside M.within, so each
-- step's own deadline is never later than the operation's.

local MAIN = {} -- Lua 5.1/LuaJIT name no main coroutine
local function pack(...) return { n = select("#", ...), ... } end
local function current() return coroutine.running() or MAIN end

--- M.deadline(client, opts, operation) -> at | nil, err
-- now + opts.deadline (seconds), else the client's deadline, never later than
-- the enclosing operation's (M.within); math.huge: none. For one request the
-- client's deadline is its default (timeout x attempts + 60 s); for a whole
-- operation (operation = true: wait, download, run, submit_file, which may
-- rightly take hours) only a deadline the caller set on the client counts.
-- The per-call option checker feeds opts.deadline here.
function M.deadline(client, opts, operation)
  local limit = opts and opts.deadline
  if limit == nil then
    if operation then limit = client._deadline_set else limit = client._deadline end
  end
  if limit ~= nil and (type(limit) ~= "number" or not (limit > 0)) then
    return bad_option("deadline", "deadline must be a number of seconds greater than 0")
  end
  local at = limit and (clock_of(client).now() + limit) or math.huge
  local scopes = client._deadlines
  local outer = scopes and scopes[current()]
  if outer and outer < at then at = outer end
  return at
end

--- M.within(client, at, fn, ...) -> fn(...)'s results. Every call fn makes
-- on this client (in this coroutine: light threads sharing a client keep
-- their own) ends by `at`; an enclosing bound that ends sooner still holds.
function M.within(client, at, fn, ...)
  local scopes = client._deadlines
  if not scopes then
    scopes = setmetatable({}, { __mode = "k" })
    client._deadlines = scopes
  end
  local co = current()
  local outer = scopes[co]
  if outer and outer < at then at = outer end
  scopes[co] = at
  local res = pack(pcall(fn, ...))
  scopes[co] = outer
  if not res[1] then error(res[2], 0) end
  return (table.unpack or unpack)(res, 2, res.n) -- luacheck: ignore 143
end

--- Seconds left until `at` (never below 0).
function M.left(client, at)
  local left = at - clock_of(client).now()
  return left > 0 and left or 0
end

--- The request options of one call with the caller's per-call options
-- (timeout, deadline, max_retries, headers: already checked, see
-- scravio.options) laid over them: a new table; base is never modified, so
-- a shared constant (resource.LAZY) stays as it is. -> opts
function M.with(base, call)
  if call == nil or next(call) == nil then return base end
  local o = {}
  if base then for k, v in pairs(base) do o[k] = v end end
  for _, k in ipairs({ "timeout", "deadline", "max_retries", "headers" }) do
    if call[k] ~= nil then o[k] = call[k] end
  end
  return o
end

--- Extra headers as the transports take them: an array of "Name: value"
-- lines, sorted (the same call always sends the same bytes); nil for none.
local function header_lines(headers)
  if headers == nil or next(headers) == nil then return nil end
  local lines = {}
  for k, v in pairs(headers) do lines[#lines + 1] = k .. ": " .. tostring(v) end
  table.sort(lines)
  return lines
end
M.header_lines = header_lines

-- pacing's events with the request's method and path. Made here, not in
-- M.call: a closure over M.call's locals would make every return of M.call
-- close upvalues, which LuaJIT does not compile (the whole call would run
-- interpreted).
local function pace_reporter(client, method, path)
  return function(ev)
    ev.method, ev.path = method, path
    M.emit(client, ev)
  end
end

--- request.call(client, method, template, opts, ...) -> body, status, request_id | nil, err
-- template: an API path with "{}" for each id in `...` (encoded as one segment).
-- opts: query, body, safe (resending is harmless; default: GET/HEAD only),
--       timeout (per attempt), deadline (whole call), max_retries,
--       headers (extra request headers {name = value}, checked by
--         scravio.options: never credentials or framing headers),
--       pace = {name, scope}, fresh (new connection),
--       lazy (a 2xx object may come back as a LazyDoc, for core.wrap/replace;
--         "page": a list page may come back as a LazyPage, for pagination.each),
--       answer = {value, status, request_id, t0}: the first attempt's outcome,
--         already received (a prefetched page: pagination.lua); later attempts
--         are sent as usual and every event says prefetched = true for it,
--       reconcile = function(started_wall) -> value | nil[, note]  (for unsafe
--         requests; note says what was seen instead, e.g. two candidates),
--       unknown_hint (what to check, for the unknown_outcome message),
--       result_id = function(value) -> id | nil: for credit-spending calls, the
--         id of what the answer says was created. A 2xx it cannot be read from
--         (an empty body, data without an id) is an unreadable answer, never a
--         success: reconciled (unsafe requests) or retried (safe ones), and in
--         the end kind "unknown_outcome".
function M.call(client, method, template, opts, ...)
  opts = opts or {}
  local clock = clock_of(client)
  local url, path, body = client._core:prepare(template, opts.query, opts.body, ...)
  if not url then return nil, path end -- path holds the error

  local max_retries = opts.max_retries
  if max_retries == nil then max_retries = client._max_retries or 0 end
  if not whole(max_retries) then return bad_option("max_retries", "max_retries must be a whole number >= 0") end
  local deadline, derr = M.deadline(client, opts)
  if not deadline then return nil, derr end
  local per_attempt = opts.timeout or client._timeout or 60
  if type(per_attempt) ~= "number" or not (per_attempt > 0) then
    return bad_option("timeout", "timeout must be a number of seconds greater than 0")
  end

  local extra = header_lines(opts.headers)

  local safe = opts.safe
  if safe == nil then safe = method == "GET" or method == "HEAD" end
  -- Unsafe requests get a fresh connection: libcurl would otherwise resend
  -- them by itself when a reused connection dies before answering.
  local fresh = opts.fresh or not safe
  local pace = client._pace ~= false and opts.pace or nil
  local transport = client._transport
  local started_wall = clock.time()
  local hook = client._on_event -- events are only built when someone listens
  local log = client._log
  local on_pace = pace and hook and pace_reporter(client, method, path) or nil

  local attempt, last_err = 0, nil
  while true do
    local left = deadline - clock.now()
    if last_err and left < retry.MIN_ATTEMPT then
      return finish(client, last_err, method, path, attempt, "deadline")
    end
    if left <= 0 and not opts.answer then
      -- The enclosing operation's time is up before this request began.
      return finish(client, errors.new("timeout", string.format(
        "%s %s was not sent: the call's deadline had already passed", method, path),
        { method = method, path = path, sent = false, retryable = true }), method, path, attempt, "deadline")
    end
    local stamp
    if pace then
      local perr
      stamp, perr = pacing.take(client, pace[1], pace[2], on_pace, left)
      if not stamp then
        perr.method, perr.path, perr.attempts, perr.cause = method, path, attempt, last_err
        return finish(client, perr, method, path, attempt, "paced")
      end
      left = deadline - clock.now()
    end

    attempt = attempt + 1
    local timeout = per_attempt
    if left < timeout then timeout = math.max(left, 0.001) end
    -- The first attempt's answer may already be here (a prefetched page).
    local pre = attempt == 1 and opts.answer or nil
    local prefetched = pre and true or nil
    local t0
    if hook then
      M.emit(client, { type = "request", method = method, path = path, attempt = attempt, prefetched = prefetched })
    end
    if hook or log then t0 = pre and pre.t0 or clock.now() end
    local value, status, request_id, rl_limit, rl_left, rl_reset
    if pre then
      value, status, request_id = pre.value, pre.status, pre.request_id
      local rl = pre.rate_limit
      if rl then rl_limit, rl_left, rl_reset = rl[1], rl[2], rl[3] end
    else
      value, status, request_id, rl_limit, rl_left, rl_reset =
        transport:send(method, url, path, body, timeout, fresh, opts.lazy, extra)
    end
    if pace then stamp = pacing.settle(client, pace[1], pace[2], stamp) end
    if value ~= nil and not (type(value) == "table" and getmetatable(value) ~= core.array_mt)
      and not (opts.lazy and getmetatable(value) == (opts.lazy == "page" and core.lazypage_mt or core.lazydoc_mt)) then
      -- Every Scravio answer is a JSON object: an array, a bare string or a
      -- number is a broken response, handled like any other unreadable 2xx.
      local what = type(value) == "table" and "array" or type(value)
      value, status = nil, errors.new("decode", string.format(
        "HTTP %s response is JSON %s, not an object", tostring(status), what),
        { method = method, path = path, status = status, request_id = request_id, retryable = true })
    end
    if value ~= nil and opts.result_id then
      local ok, id = pcall(opts.result_id, value)
      if not ok or (type(id) ~= "string" or id == "") then
        value, status = nil, errors.new("decode", string.format(
          "the HTTP %s answer names no id for what it created", tostring(status)),
          { method = method, path = path, status = status, request_id = request_id, retryable = true,
            unreadable = true })
      end
    end
    if value ~= nil then
      note_answer(client, method, path, status, request_id, attempt, rl_limit, rl_left, rl_reset)
      if hook then
        M.emit(client, { type = "response", method = method, path = path, status = status,
          attempt = attempt, request_id = request_id, elapsed = clock.now() - t0, prefetched = prefetched })
      end
      if log then log_line(client, method, path, attempt, clock.now() - t0, status, request_id) end
      return value, status, request_id
    end

    local err = status
    if type(err) ~= "table" then
      err = errors.new("network", tostring(err or "the transport failed without a reason"),
        { method = method, path = path, retryable = true })
    end
    err.attempts = attempt
    if err.status then note_answer(client, method, path, err.status, err.request_id, attempt) end
    if log then log_line(client, method, path, attempt, clock.now() - t0, err.status, err.request_id, err) end
    if hook then
      M.emit(client, { type = "response", method = method, path = path, status = err.status,
        attempt = attempt, request_id = err.request_id, elapsed = clock.now() - t0, error = err.kind,
        prefetched = prefetched })
    end
    if pace and err.status == 429 then
      -- Refused: wait as long as the server says, or, when it says nothing
      -- (the reference documents no Retry-After), as long as the documented
      -- window can need by this client's own count: never a retry inside a
      -- window that cannot have reset (an hourly limit comes back at once as
      -- rate_limited, with that estimate as retry_after).
      local wait, estimated = pacing.refused(client, pace[1], pace[2], stamp, err.retry_after)
      if estimated then
        err.retry_after, err.retry_after_estimated = wait, true
        local rule = pacing.LIMITS[pace[1]]
        err.message = string.format("%s (no Retry-After: the documented limit is %d per %d s; by this " ..
          "client's own count the next request fits in about %d s)", tostring(err.message), rule.limit,
          rule.window, wait)
      end
    end

    if not safe and not retry.not_processed(err) and retry.outcome_unknown(err) then
      if not retry.no_answer(err) then
        -- A definite answer (500, 503, ...): the API says the request failed.
        -- It is returned as it is, never resent and never reconciled (looking
        -- could only turn up some other, older object), and marked not
        -- retryable: whether to repeat a credit-spending call is the caller's
        -- decision, after checking.
        err.retryable = false
        err.gave_up = string.format("not resent: the API answered %s to %s %s, which spends credits and has "
          .. "no idempotency key; check whether it took effect before repeating it",
          tostring(err.status), method, path)
        return finish(client, err, method, path, attempt, "not safe to resend")
      end
      -- No answer at all: it may have happened. Look before answering; never resend.
      local reconciled, looked = false, nil
      if opts.reconcile then
        M.emit(client, { type = "reconcile", method = method, path = path, attempt = attempt,
          error = err.kind, status = err.status })
        -- reconcile -> the result | nil[, what was seen instead (for the message)]
        -- The lookup spends what is left of this call's deadline, no more.
        local ok, found, note = pcall(M.within, client, deadline, opts.reconcile, started_wall)
        reconciled = ok
        if ok and found ~= nil then
          M.emit(client, { type = "reconciled", method = method, path = path, attempt = attempt,
            error = err.kind, status = err.status })
          return found, nil, err.request_id
        end
        if not ok then err.reconcile_error = tostring(found) end
        if ok and type(note) == "string" then looked = note end
      end
      return finish(client, unknown_outcome(err, method, path, attempt, reconciled, opts.unknown_hint, looked),
        method, path, attempt, "outcome unknown")
    end

    local delay, how = retry.decide(err, {
      attempt = attempt, max_retries = max_retries, safe = safe,
      remaining = deadline - clock.now(), max_wait = client._max_retry_wait or 0,
      random = clock.random,
    })
    if not delay then
      if err.unreadable then
        -- A credit-spending call answered 2xx without an id, even when resent:
        -- it may well have happened, and the caller cannot track it.
        return finish(client, unknown_outcome(err, method, path, attempt, false, opts.unknown_hint),
          method, path, attempt, "outcome unknown")
      end
      return finish(client, err, method, path, attempt, how)
    end
    M.emit(client, { type = "retry", method = method, path = path, attempt = attempt, delay = delay,
      reason = how, kind = err.kind, status = err.status, request_id = err.request_id,
      retry_after = err.retry_after, prefetched = prefetched })
    clock.sleep(delay)
    last_err = err
  end
end

--- After a failed storage transfer (a presigned GET or PUT: safe to resend),
-- the shared retry policy: wait and return true to try again, or mark the
-- error (attempts, gave_up), report it and return nil, err.
-- label: what events name as the path ("(download)", "(upload)").
-- deadline: the transfer's (M.deadline, computed once when it began).
function M.transfer_retry(client, err, attempt, max_retries, method, label, deadline)
  err.attempts = attempt
  local clock = clock_of(client)
  local delay, why = retry.decide(err, { attempt = attempt, max_retries = max_retries, safe = true,
    max_wait = client._max_retry_wait or 0, random = clock.random,
    remaining = deadline and deadline - clock.now() or nil })
  if not delay then
    err.gave_up = why
    spell_out(client, err, attempt, true)
    M.emit(client, { type = "error", method = method, path = label, kind = err.kind,
      status = err.status, attempts = attempt, reason = why })
    return nil, err
  end
  M.emit(client, { type = "retry", method = method, path = label, attempt = attempt,
    delay = delay, kind = err.kind, status = err.status })
  clock.sleep(delay)
  return true
end

--- The time bound of one storage transfer attempt: its own `timeout` (nil:
-- the transport's), cut to what is left until `deadline`.
function M.transfer_timeout(client, timeout, deadline)
  local left = deadline - clock_of(client).now()
  if left < math.huge and (timeout == nil or left < timeout) then return math.max(left, 0.001) end
  return timeout
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
