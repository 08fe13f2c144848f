--- Client-side pacing for the API's documented rate limits, so a script that
-- loops waits a little instead of burning 429s:
--   POST /campaigns/{id}/stop       5 per minute per campaign
--   POST /campaigns/{id}/validate   3 per minute per campaign
--   POST /validation-jobs/text      3 per hour
--   POST /list-exports              5 per hour
-- A short wait is taken (and reported through on_event); a wait longer than
-- max_retry_wait returns the rate_limited error at once, with retry_after.
local errors = require("scravio.errors")
local runtime = require("scravio.runtime")

local M = {}

M.LIMITS = {
  stop = { limit = 5, window = 60 },
  validate = { limit = 3, window = 60 },
  validation_text = { limit = 3, window = 3600 },
  export = { limit = 5, window = 3600 },
}

local function slot(client, key)
  local book = client._pacing
  if not book then
    book = {}
    client._pacing = book
  end
  local s = book[key]
  if not s then
    s = {}
    book[key] = s
  end
  return s
end

--- How long until one more call under `name` (+ scope, e.g. a campaign id) fits.
function M.wait_needed(client, name, scope)
  local rule = M.LIMITS[name]
  local s = slot(client, name .. ":" .. (scope or ""))
  local now = runtime.now()
  while s[1] and s[1] <= now - rule.window do table.remove(s, 1) end
  if #s < rule.limit then return 0 end
  return s[1] + rule.window - now
end

--- Take a slot, waiting if the wait is short. -> true | nil, err
function M.take(client, name, scope, emit)
  local wait = M.wait_needed(client, name, scope)
  if wait > 0 then
    if wait > client._max_retry_wait then
      local rule = M.LIMITS[name]
      return nil, errors.new("rate_limited", string.format(
        "client-side pacing: at most %d %s requests per %d s; next slot in %.0f s",
        rule.limit, name, rule.window, wait), { retry_after = wait, retryable = true, paced = true })
    end
    if emit then emit({ type = "pace", limit = name, scope = scope, delay = wait }) end
    runtime.sleep(wait)
  end
  local s = slot(client, name .. ":" .. (scope or ""))
  s[#s + 1] = runtime.now()
  return true
end

return M
