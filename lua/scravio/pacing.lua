--- Client-side pacing for the API's documented rate limits, so a script that
-- loops waits a little instead of burning 429s:
--   POST /campaigns/{id}/stop       5 per minute per campaign
--   POST /campaigns/{id}/validate   3 per minute per campaign
--   POST /validation-jobs/text      3 per hour
--   POST /list-exports              5 per hour
-- Every attempt that goes on the wire takes a slot (retries count on the
-- server too). A short wait is taken and reported through on_event as a
-- "pace" event; a wait longer than max_pace_wait (default: 10 s, at most
-- max_retry_wait) or than what is left of the call's deadline returns the
-- rate_limited error at once, with retry_after,
-- and nothing is sent. A 429 from the server gives its slot back and blocks
-- the limit for the Retry-After it announced, so another process sharing the
-- account is respected too.
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
    s = { stamps = {}, blocked_until = nil }
    book[key] = s
  end
  return s
end

--- How long until one more call under `name` (+ scope, e.g. a campaign id) fits.
function M.wait_needed(client, name, scope)
  local rule = M.LIMITS[name]
  if not rule then return 0 end
  local s = slot(client, name, scope)
  local now = rt(client).now()
  local stamps = s.stamps
  while stamps[1] and stamps[1] <= now - rule.window do table.remove(stamps, 1) end
  local wait = 0
  if #stamps >= rule.limit then wait = stamps[#stamps - rule.limit + 1] + rule.window - now end
  if s.blocked_until then
    if s.blocked_until <= now then
      s.blocked_until = nil
    elseif s.blocked_until - now > wait then
      wait = s.blocked_until - now
    end
  end
  return wait
end

--- take(client, name, scope, emit, remaining) -> stamp | nil, err
-- Takes a slot, waiting first if the wait is short. remaining: seconds left in
-- the call's overall deadline (optional). The stamp identifies the slot for
-- release().
function M.take(client, name, scope, emit, remaining)
  local rule = M.LIMITS[name]
  if not rule then return true end
  local clock = rt(client)
  local max_wait = client._max_pace_wait or client._max_retry_wait or 0
  local waited = 0
  for _ = 1, 4 do -- after one wait the slot is normally free; the bound is a safety net
    local wait = M.wait_needed(client, name, scope)
    if wait <= 0 then break end
    if wait > max_wait or (remaining and waited + wait > remaining) then
      local why = wait > max_wait and string.format("longer than max_pace_wait = %g s", max_wait)
        or "longer than what is left of the call's deadline"
      return nil, errors.new("rate_limited", string.format(
        "client-side pacing: at most %d %s requests per %d s; next slot in %.0f s (%s; nothing was sent)",
        rule.limit, name, rule.window, math.ceil(wait), why),
        { retry_after = wait, retryable = true, paced = true, limit = name })
    end
    if emit then emit({ type = "pace", limit = name, scope = scope, delay = wait }) end
    clock.sleep(wait)
    waited = waited + wait
  end
  local s = slot(client, name, scope)
  local stamp = clock.now()
  s.stamps[#s.stamps + 1] = stamp
  return stamp
end

--- The attempt that took `stamp` is over: date the slot from now. The server
-- counted the request when it arrived, which is after we took the slot and
-- before we got the answer; dating it from the answer keeps us on the safe
-- side of the server's window. Returns the new stamp.
function M.settle(client, name, scope, stamp)
  if not M.LIMITS[name] or type(stamp) ~= "number" then return stamp end
  local stamps = slot(client, name, scope).stamps
  local now = rt(client).now()
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
  return stamp
end

--- Give a slot back (the server refused that attempt with 429, so it did not
-- count there either).
function M.release(client, name, scope, stamp)
  if not M.LIMITS[name] or type(stamp) ~= "number" then return end
  local stamps = slot(client, name, scope).stamps
  for i = #stamps, 1, -1 do
    if stamps[i] == stamp then
      table.remove(stamps, i)
      return
    end
  end
end

--- The server said "not before retry_after seconds": no slot until then.
function M.block(client, name, scope, seconds)
  if not M.LIMITS[name] or type(seconds) ~= "number" or seconds ~= seconds or seconds <= 0 then return end
  local s = slot(client, name, scope)
  local until_t = rt(client).now() + math.min(seconds, M.LIMITS[name].window * 24)
  if not s.blocked_until or s.blocked_until < until_t then s.blocked_until = until_t end
end

--- Forget everything (e.g. after the account's limits were reset elsewhere).
function M.reset(client)
  client._pacing = nil
end

return M
