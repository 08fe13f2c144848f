--- A one-line progress display on stderr for wait(): redrawn in place with
-- "\r", only when progress was asked for AND stderr is a terminal
-- (core.isatty(2)). Otherwise every call is a no-op, so logs, pipes and
-- OpenResty's error log never receive control characters.
--
-- Download and upload progress is drawn by the C transport itself (no Lua
-- callback runs during a transfer: bar, MB, rate, elapsed and ETA, cut to
-- the terminal's width); this covers the waiting in between, with the time
-- waited so far.
local core = require("scravio.core")

local M = {}

local Line = {}
Line.__index = Line

local Silent = {}
Silent.__index = Silent
function Silent.update() end
function Silent.done() end

M.WIDTH = 20

--- Should a progress line be drawn for this `progress` option?
function M.enabled(want)
  return want == true and core.isatty(2) == true
end

--- progress.new(label, want, stream, now) -> line with :update(id, status, pct, detail) and :done()
-- stream defaults to io.stderr; passing one (tests) skips the TTY check.
-- now: the clock the elapsed time is read from (default: runtime's, at each
-- update); columns: the width to fit (default core.columns(): COLUMNS, the
-- terminal's, or 80).
function M.new(label, want, stream, now, columns)
  if stream == nil then
    if not M.enabled(want) then return setmetatable({}, Silent) end
    stream = io.stderr
  elseif not want then
    return setmetatable({}, Silent)
  end
  now = now or core.monotime
  return setmetatable({ label = label, stream = stream, drawn = false, width = 0, now = now, started = now(),
    columns = columns or core.columns() }, Line)
end

--- "0:42", "12:05", "1:02:03"
function M.duration(secs)
  local t = math.floor((secs > 0 and secs or 0) + 0.5)
  local h, m = math.floor(t / 3600), math.floor(t / 60) % 60
  if h > 0 then return string.format("%d:%02d:%02d", h, m, t % 60) end
  return string.format("%d:%02d", m, t % 60)
end

--- The text of one progress line (no control characters), at most `columns
-- - 1` characters when columns is given (the bar shrinks first, then the
-- line is cut). elapsed: seconds since the wait began, shown when given.
function M.format(label, id, status, pct, detail, elapsed, columns)
  local head = { label }
  if id ~= nil then head[#head + 1] = tostring(id) end
  head[#head + 1] = tostring(status or "?")
  local tail = {}
  local p
  if type(pct) == "number" then
    p = pct
    if p < 0 then p = 0 elseif p > 100 then p = 100 end
    tail[#tail + 1] = string.format("%3d%%", math.floor(p + 0.5))
  end
  if detail then tail[#tail + 1] = detail end
  if elapsed then tail[#tail + 1] = M.duration(elapsed) end
  local left, right = table.concat(head, " "), table.concat(tail, " ")
  local width = columns and columns - 1 or nil
  local bar = ""
  if p then
    local room = width and (width - #left - #right - 4) or M.WIDTH
    local w = math.min(M.WIDTH, room)
    if w >= 5 then
      local filled = math.floor(p * w / 100 + 0.5)
      bar = " [" .. string.rep("#", filled) .. string.rep("-", w - filled) .. "]"
    end
  end
  local text = left .. bar .. (right ~= "" and (" " .. right) or "")
  if width and #text > width then text = text:sub(1, width) end
  return text
end

function Line:update(id, status, pct, detail)
  local text = M.format(self.label, id, status, pct, detail, self.now() - self.started, self.columns)
  -- Pad with spaces so a shorter line fully covers the previous one.
  local pad = self.width - #text
  self.stream:write("\r", text, pad > 0 and string.rep(" ", pad) or "")
  self.stream:flush()
  self.width = #text
  self.drawn = true
end

function Line:done()
  if self.drawn then
    self.stream:write("\n")
    self.stream:flush()
    self.drawn = false
    self.width = 0
  end
end

return M
