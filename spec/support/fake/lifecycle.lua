-- Time-driven transitions without timers.  Before every API and control
-- request, tick() asks each module which of its active objects reached a
-- terminal point on the fake clock, sorts those events by the time they were
-- due, and applies them in that order.  Ledger entries therefore carry the
-- time the event happened and the running balance stays chronological, even
-- when the clock was advanced by an hour in one step.
local S = require "fake.state"
local clock = require "fake.clock"
local campaigns = require "fake.campaigns"
local jobs = require "fake.validation_jobs"
local exports = require "fake.exports"

local M = {}

function M.tick()
  local a = S.active
  if next(a.campaigns) == nil and next(a.validations) == nil and next(a.jobs) == nil and next(a.exports) == nil then
    return
  end
  local now = clock.now()
  local events = {}
  campaigns.due(now, events)
  jobs.due(now, events)
  exports.due(now, events)
  if #events == 0 then return end
  for i, e in ipairs(events) do e.seq = i end
  table.sort(events, function(x, y)
    if x.at == y.at then return x.seq < y.seq end
    return x.at < y.at
  end)
  for _, e in ipairs(events) do e.fn() end
end

return M
