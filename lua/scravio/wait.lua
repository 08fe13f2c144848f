--- Waiting for a Campaign, ValidationJob or Export to finish: c:wait{...},
-- j:wait{...}, e:wait{...}.
--
--   obj:wait{
--     timeout     = nil,   -- seconds for the whole wait, the refresh in flight
--                          -- included (its request gets what is left);
--                          -- nil: the client's `deadline`, else
--                          -- DEFAULT_TIMEOUT (24 h), so a forgotten
--                          -- campaign cannot keep a script polling forever;
--                          -- 0: one refresh, no pause
--     interval    = 2,     -- first pause between refreshes (seconds)
--     max_interval= 30,    -- the pause grows x1.5 per poll up to this ceiling
--     on_progress = fn(obj),  -- called whenever status or progress changes
--     progress    = false, -- a progress line on stderr (only when it is a terminal)
--     max_errors  = 5,     -- consecutive retryable failures tolerated while polling
--     deadline    = nil,   -- as timeout (the sooner of the two wins)
--     max_retries = nil,   -- per-call options of every refresh (default: the client's)
--     headers     = nil,
--   } --> obj | nil, err
-- Unknown options and wrong types are refused (options.schemas.wait).
--
-- The object is returned once its status is terminal, whatever that status
-- is: a campaign that ended "failed" or "stopped" is returned like a
-- "fully_completed" one, so callers check `obj.status`. When the time is up
-- the result is `nil, err` with err.kind "timeout"; err.message names the last
-- status seen, err.last_status holds it, err.object is the (refreshed) object.
-- The bound is one deadline, computed once: every refresh (with its retries)
-- and every pause ends by then, and an enclosing operation's deadline (run's
-- timeout) still holds (request.within).
--
-- Every pause goes through runtime.sleep and every clock read through
-- runtime.now (the client's injected runtime, client._runtime, when set, as in
-- the request pipeline), so under OpenResty waiting yields and never blocks
-- the worker, and tests can drive the clock.
local core = require("scravio.core")
local errors = require("scravio.errors")
local options = require("scravio.options")
local progress = require("scravio.progress")
local request = require("scravio.request")
local runtime = require("scravio.runtime")

local M = {}

M.DEFAULT_INTERVAL = 2
M.MAX_INTERVAL = 30
M.GROWTH = 1.5
M.MAX_ERRORS = 5
M.DEFAULT_TIMEOUT = 24 * 3600 -- when neither timeout= nor the client's deadline is set

local function set(list)
  local s = {}
  for _, v in ipairs(list) do s[v] = true end
  return s
end

-- What "finished" means, and what counts as progress, per kind of object.
M.KINDS = {
  Campaign = {
    label = "campaign",
    terminal = set({ "fully_completed", "failed", "stopped" }),
    progress = function(o) return o.progressPercentage end,
    detail = function(o)
      local emails = o.emailScanCount
      if type(emails) == "number" then return string.format("%d emails", emails) end
      return nil
    end,
  },
  ValidationJob = {
    label = "validation job",
    -- "cancelled" is not a documented status, but statusReason mentions
    -- cancellation: treat it as final (in either spelling) rather than poll
    -- until the deadline.
    terminal = set({ "completed", "failed", "cancelled", "canceled" }),
    progress = function(o)
      local done, total = o.processedCount, o.totalEmails
      if type(done) == "number" and type(total) == "number" and total > 0 then
        return math.floor(done * 100 / total)
      end
      return nil
    end,
    detail = function(o)
      local done, total = o.processedCount, o.totalEmails
      if type(done) == "number" and type(total) == "number" then
        return string.format("%d/%d emails", done, total)
      end
      return nil
    end,
  },
  Export = {
    label = "export",
    terminal = set({ "completed", "failed" }),
    progress = function(o) return o.progress end,
    detail = function() return nil end,
  },
}

local function number_or_nil(v)
  if type(v) == "number" then return v end
  return nil
end

--- Seconds as a message shows them: whole from 10 up, else with up to two
-- decimals, so a sub-second bound never reads "after 0 s" (0.3 -> "0.3").
function M.seconds(x)
  if x >= 10 or x == math.floor(x) then return string.format("%.0f", x) end
  return (string.format("%.2f", x):gsub("0+$", ""):gsub("%.$", ""))
end

--- The pause before poll number n (1-based): interval * 1.5^(n-1), capped.
function M.pause(n, interval, ceiling)
  interval = interval or M.DEFAULT_INTERVAL
  ceiling = ceiling or M.MAX_INTERVAL
  if interval > ceiling then return interval end
  local p = interval * M.GROWTH ^ (n - 1)
  if p > ceiling then p = ceiling end
  return p
end

-- What a Ctrl-C during a wait answers: the object is untouched on the
-- server, so say what it is doing and how to stop it or pick it up again.
local AFTER_INTERRUPT = {
  Campaign = function(id)
    return string.format("it keeps running on the server and its credits stay reserved: stop it with c:stop() " ..
      '(client.campaigns:get("%s"):stop(), or the command scravio campaigns stop %s), or wait again with c:wait()',
      id, id)
  end,
  ValidationJob = function() return "it keeps running on the server: j:wait() picks it up again" end,
  Export = function() return "it keeps running on the server: e:wait() picks it up again" end,
}

local function interrupted(kind, obj)
  local spec = M.KINDS[kind]
  local id, status = tostring(obj.id), obj.status
  local pct = number_or_nil(spec.progress(obj))
  return errors.interrupted(string.format("interrupted (Ctrl-C) while waiting for %s %s (status %s%s); %s",
    spec.label, id, tostring(status), pct and string.format(", %s%%", tostring(pct)) or "",
    AFTER_INTERRUPT[kind](id)), { object = obj, last_status = status })
end
M.interrupted = interrupted

local wait_for

--- M.wait(kind, obj, opts) -> obj | nil, err
-- A Ctrl-C while waiting (in a sleep, a request, or the interpreter's
-- "interrupted!" between two) ends the progress line and answers
-- kind = "cancelled" naming the object; any other error raised on the way
-- (an on_progress callback's) goes on up.
function M.wait(kind, obj, opts)
  local state = {}
  local ok, a, b = pcall(wait_for, kind, obj, opts, state)
  if ok then return a, b end
  if state.line then state.line:done() end
  if runtime.is_interrupt(a) then return nil, interrupted(kind, obj) end
  error(a, 0)
end

function wait_for(kind, obj, opts, state)
  local spec = M.KINDS[kind]
  local o, oerr = options.check("wait", opts, "wait")
  if not o then return nil, oerr end
  opts = o
  local call = options.call_part(opts, { "max_retries", "headers" })
  local interval = opts.interval or M.DEFAULT_INTERVAL
  local ceiling = opts.max_interval or M.MAX_INTERVAL
  local max_errors = opts.max_errors or M.MAX_ERRORS
  local on_progress = opts.on_progress
  local client = core.owner(obj)
  if type(client) ~= "table" then client = nil end
  local clock = (client and client._runtime) or runtime
  local line = progress.new(spec.label, opts.progress, nil, clock.now)
  state.line = line

  -- One deadline, computed once: timeout (or deadline, whichever ends first),
  -- else the deadline set on the client, else DEFAULT_TIMEOUT; never later
  -- than an enclosing call's. Every refresh (its retries included) runs
  -- inside it (request.within), so no request outlasts the wait.
  local started = clock.now()
  local limit, bound = opts.timeout, "timeout"
  if opts.deadline and (limit == nil or opts.deadline < limit) then limit, bound = opts.deadline, "deadline" end
  if limit == nil and client and client._deadline_set then
    limit, bound = client._deadline_set, "the client's deadline"
  end
  if limit == nil then limit, bound = M.DEFAULT_TIMEOUT, "wait's default bound" end
  local deadline = started + limit
  if client then
    local outer = request.deadline(client, { deadline = limit > 0 and limit or nil }, true)
    if outer < deadline then deadline, bound = outer, "the enclosing call's deadline" end
  end
  -- timeout = 0 means "look once": that one refresh has its own request
  -- bounds (and any enclosing deadline), and there is no pause.
  local refresh_by = (limit > 0 or not client) and deadline or request.deadline(client, nil, true)
  local function refresh()
    if client then return request.within(client, refresh_by, obj.refresh, obj, call) end
    return obj:refresh(call)
  end
  local last_status, last_progress
  local polls, failures = 0, 0

  local function observe()
    local status, pct = obj.status, number_or_nil(spec.progress(obj))
    if status ~= last_status or pct ~= last_progress then
      last_status, last_progress = status, pct
      line:update(obj.id, status, pct, spec.detail(obj))
      if on_progress then on_progress(obj) end
    end
  end

  -- A terminal status never changes again: no request needed.
  if spec.terminal[obj.status] then
    observe()
    line:done()
    return obj
  end

  local function gave_up(now)
    line:done()
    local pct = number_or_nil(spec.progress(obj))
    return nil, errors.new("timeout", string.format(
      "gave up waiting for %s %s after %s s (%s): status is still %s%s%s",
      spec.label, tostring(obj.id), M.seconds(now - started), bound, tostring(obj.status),
      pct and string.format(" (%s%%)", tostring(pct)) or "",
      bound == "wait's default bound" and "; pass wait{timeout = seconds} to wait longer" or ""), {
      last_status = obj.status, object = obj, retryable = true, waited = now - started,
    })
  end

  while true do
    local ok, err = refresh()
    local extra_wait = 0
    if ok then
      failures = 0
      observe()
      if spec.terminal[obj.status] then
        line:done()
        return obj
      end
    else
      -- The pipeline already retried what was worth retrying. A permanent
      -- failure ends the wait; a transient one (a network blip during an
      -- hour-long wait) is tolerated a few times in a row.
      failures = failures + 1
      if not err.retryable or failures > max_errors then
        line:done()
        return nil, err
      end
      extra_wait = number_or_nil(err.retry_after) or 0
    end

    local now = clock.now()
    if now >= deadline then return gave_up(now) end
    polls = polls + 1
    local pause = M.pause(polls, interval, ceiling)
    if extra_wait > pause then pause = extra_wait end
    if now + pause > deadline then pause = deadline - now end
    clock.sleep(pause)
  end
end

function M.campaign(c, opts) return M.wait("Campaign", c, opts) end
function M.job(j, opts) return M.wait("ValidationJob", j, opts) end
function M.export(e, opts) return M.wait("Export", e, opts) end

return M
