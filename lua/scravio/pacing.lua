--- Client-side pacing for the API's documented rate limits, so a script that
-- loops waits a little instead of burning 429s:
--   POST /campaigns/{id}/stop       5 per minute per campaign
--   POST /campaigns/{id}/validate   3 per minute per campaign
--   POST /validation-jobs/text      3 per hour
--   POST /list-exports              5 per hour
-- Every attempt that goes on the wire takes a slot (retries count on the
-- server too). The local count is only a prediction: it cannot see resets on
-- the server, other limits, or other clients sharing the account. The server
-- is the authority. client._pace chooses what the prediction may do:
--
--   true (default)  A short wait (at most max_pace_wait, default 10 s and never
--                   above max_retry_wait, and within what is left of the
--                   call's deadline) is taken and reported through on_event
--                   as a "pace" event (waited = true). A longer predicted wait
--                   is NOT taken and the call is NOT refused: it is sent
--                   anyway (a "pace" event with waited = false says so) and
--                   the server answers; its 429 reaches the caller as it is.
--                   A 429's Retry-After blocks the scope only in the sense
--                   that the next call waits it out when it is short. When
--                   the server accepts a call the count said was over the
--                   limit, the count was wrong: the stamps before that call
--                   (and a block set before it) are forgotten.
--   "strict"        A predicted wait longer than max_pace_wait, or than what
--                   is left of the deadline, returns rate_limited at once
--                   (paced = true, retry_after = the wait rounded up to whole
--                   seconds), and nothing is sent. A server 429 blocks the
--                   scope for its Retry-After, so another process sharing the
--                   account is respected too. For users who want zero 429s.
--   false           off (request.lua never calls in here).
--
-- A 429 from the server gives its slot back in both modes.
--
-- Time comes from client._runtime (now, sleep) when set, else scravio.runtime:
-- tests inject a fake clock there and never really wait.
local errors = require("scravio.errors")
local runtime = require("scravio.runtime")

local M = {}

M.LIMITS = {
  stop = { limit = 5, window = 60 },
  validate = { limit = 3, window = 60 },
  validation_text = { limit = 3, window = 3600 },
  export = { limit = 5, window = 3600 },
}

local function rt(client)
  return client._runtime or runtime
end

local function slot(client, name, scope)
  local book = client._pacing
  if not book then
    book = {}
    client._pacing = book
  end
  local key = name .. ":" .. tostring(scope or "")
  local s = book[key]
  if not s then
    -- probes: attempts sent although the count predicted a long wait
    -- (default mode only), as { stamp = , answered = }, until we learn
    -- whether the server accepted them.
    s = { stamps = {}, blocked_until = nil, blocked_at = nil, probes = {} }
    book[key] = s
  end
  return s
end

--- Learn from probes that were answered without a 429 (a 429 releases its
-- probe): the server accepted a call our count said was over the limit, so
-- the count was wrong. Forget the stamps older than that call, and a block
-- the server has since ignored, so stale bookkeeping predicts no more waits.
-- An attempt that got no answer at all (a network error) cannot be told apart
-- here and is taken as accepted: that only makes the prediction optimistic,
-- and the server still answers for itself.
local function learn(s, rule, now)
  local probes = s.probes
  local i = 1
  while probes[i] do
    local p = probes[i]
    if p.answered then
      local keep = {}
      for _, t in ipairs(s.stamps) do
        if t >= p.stamp then keep[#keep + 1] = t end
      end
      s.stamps = keep
      if s.blocked_until and (s.blocked_at or p.stamp) <= p.stamp then
        s.blocked_until, s.blocked_at = nil, nil
      end
      table.remove(probes, i)
    elseif p.stamp <= now - rule.window then
      table.remove(probes, i) -- never settled (the attempt raised): forget it
    else
      i = i + 1
    end
  end
end

--- How long until one more call under `name` (+ scope, e.g. a campaign id) fits.
function M.wait_needed(client, name, scope)
  local rule = M.LIMITS[name]
  if not rule then return 0 end
  local s = slot(client, name, scope)
  local now = rt(client).now()
  if s.probes[1] then learn(s, rule, now) end
  local stamps = s.stamps
  while stamps[1] and stamps[1] <= now - rule.window do table.remove(stamps, 1) end
  local wait = 0
  if #stamps >= rule.limit then wait = stamps[#stamps - rule.limit + 1] + rule.window - now end
  if s.blocked_until then
    if s.blocked_until <= now then
      s.blocked_until, s.blocked_at = nil, nil
    elseif s.blocked_until - now > wait then
      wait = s.blocked_until - now
    end
  end
  return wait
end

--- take(client, name, scope, emit, remaining) -> stamp | nil, err
-- Takes a slot, waiting first if the wait is short. remaining: seconds left in
-- the call's overall deadline (optional). The stamp identifies the slot for
-- settle() and release(). A longer wait is refused (nil, err) only when
-- client._pace == "strict"; otherwise the slot is taken without waiting and
-- the attempt goes to the server, which decides.
function M.take(client, name, scope, emit, remaining)
  local rule = M.LIMITS[name]
  if not rule then return true end
  local clock = rt(client)
  local strict = client._pace == "strict"
  local max_wait = client._max_pace_wait or client._max_retry_wait or 0
  local waited, probe = 0, false
  for _ = 1, 4 do -- after one wait the slot is normally free; the bound is a safety net
    local wait = M.wait_needed(client, name, scope)
    if wait <= 0 then break end
    if wait > max_wait or (remaining and waited + wait > remaining) then
      local why = wait > max_wait and string.format("longer than max_pace_wait = %g s", max_wait)
        or "longer than what is left of the call's deadline"
      if strict then
        local after = math.ceil(wait)
        return nil, errors.new("rate_limited", string.format(
          "client-side pacing: at most %d %s requests per %d s; next slot in %d s (%s; nothing was sent)",
          rule.limit, name, rule.window, after, why),
          { retry_after = after, retryable = true, paced = true, limit = name })
      end
      -- Not a short wait: do not take it, and do not refuse either. The
      -- server is the authority; its answer (a 429 included) goes back as it is.
      if emit then
        emit({ type = "pace", limit = name, scope = scope, delay = wait, waited = false,
          reason = why .. ": sent without waiting, the server decides" })
      end
      probe = true
      break
    end
    if emit then emit({ type = "pace", limit = name, scope = scope, delay = wait, waited = true }) end
    clock.sleep(wait)
    waited = waited + wait
  end
  local s = slot(client, name, scope)
  local stamp = clock.now()
  s.stamps[#s.stamps + 1] = stamp
  if probe then s.probes[#s.probes + 1] = { stamp = stamp, answered = false } end
  return stamp
end

--- The attempt that took `stamp` is over: date the slot from now. The server
-- counted the request when it arrived, which is after we took the slot and
-- before we got the answer; dating it from the answer keeps us on the safe
-- side of the server's window. Returns the new stamp.
function M.settle(client, name, scope, stamp)
  if not M.LIMITS[name] or type(stamp) ~= "number" then return stamp end
  local s = slot(client, name, scope)
  local stamps = s.stamps
  local now = rt(client).now()
  local moved = false
  for _, p in ipairs(s.probes) do
    if not p.answered and p.stamp == stamp then
      p.stamp, p.answered, moved = now, true, true
      break
    end
  end
  for i = #stamps, 1, -1 do
    if stamps[i] == stamp then
      table.remove(stamps, i)
      -- keep the list sorted: insert in order
      local j = #stamps
      while j >= 1 and stamps[j] > now do j = j - 1 end
      table.insert(stamps, j + 1, now)
      return now
    end
  end
  return moved and now or stamp
end

--- Give a slot back (the server refused that attempt with 429, so it did not
-- count there either).
function M.release(client, name, scope, stamp)
  if not M.LIMITS[name] or type(stamp) ~= "number" then return end
  local s = slot(client, name, scope)
  for i, p in ipairs(s.probes) do
    if p.stamp == stamp then -- refused: the count was not shown wrong
      table.remove(s.probes, i)
      break
    end
  end
  local stamps = s.stamps
  for i = #stamps, 1, -1 do
    if stamps[i] == stamp then
      table.remove(stamps, i)
      return
    end
  end
end

--- The server refused the attempt that took `stamp` with a 429.
-- With a usable Retry-After the slot is given back (it did not count) and
-- the scope is blocked for that long. Without one (the reference documents
-- none) nothing says the refusal did not count, so the slot is kept, and the
-- wait is estimated from this client's own ledger: until its oldest request
-- in the window leaves it when the ledger explains the refusal, else one
-- whole window (other clients share the account; only a full window is sure
-- to have reset). The scope is blocked for that long either way, so strict
-- pacing refuses locally until then. -> seconds to wait, estimated (boolean)
function M.refused(client, name, scope, stamp, retry_after)
  local rule = M.LIMITS[name]
  if not rule then return retry_after, false end
  if type(retry_after) == "number" and retry_after == retry_after and retry_after >= 0 and retry_after < math.huge then
    M.release(client, name, scope, stamp)
    M.block(client, name, scope, retry_after)
    return retry_after, false
  end
  local s = slot(client, name, scope)
  for i, p in ipairs(s.probes) do
    if p.stamp == stamp then table.remove(s.probes, i) break end -- refused: the count was not shown wrong
  end
  local wait = M.wait_needed(client, name, scope)
  if not (wait > 0) then wait = rule.window end
  wait = math.ceil(wait)
  M.block(client, name, scope, wait)
  return wait, true
end

--- The server said "not before retry_after seconds". Strict mode takes no
-- slot until then; the default mode waits it out only when it is short.
function M.block(client, name, scope, seconds)
  if not M.LIMITS[name] or type(seconds) ~= "number" or seconds ~= seconds or seconds <= 0 then return end
  local s = slot(client, name, scope)
  local now = rt(client).now()
  local until_t = now + math.min(seconds, M.LIMITS[name].window * 24)
  if not s.blocked_until or s.blocked_until < until_t then s.blocked_until, s.blocked_at = until_t, now end
end

--- Forget everything (e.g. after the account's limits were reset elsewhere).
function M.reset(client)
  client._pacing = nil
end

return M
