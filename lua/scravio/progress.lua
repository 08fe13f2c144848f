--- A one-line progress display on stderr for wait(): redrawn in place with
-- "\r", only when progress was asked for AND stderr is a terminal
-- (core.isatty(2)). Otherwise every call is a no-op, so logs, pipes and
-- OpenResty's error log never receive control characters.
--
-- Download and upload progress is drawn by the C transport itself (no Lua
-- callback runs during a transfer); this covers the waiting in between.
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

--- progress.new(label, want, stream) -> line with :update(id, status, pct, detail) and :done()
-- stream defaults to io.stderr; passing one (tests) skips the TTY check.
function M.new(label, want, stream)
  if stream == nil then
    if not M.enabled(want) then return setmetatable({}, Silent) end
    stream = io.stderr
  elseif not want then
    return setmetatable({}, Silent)
  end
  return setmetatable({ label = label, stream = stream, drawn = false, width = 0 }, Line)
end

--- The text of one progress line (no control characters).
function M.format(label, id, status, pct, detail)
  local parts = { label }
  if id ~= nil then parts[#parts + 1] = tostring(id) end
  parts[#parts + 1] = tostring(status or "?")
  if type(pct) == "number" then
    local p = pct
    if p < 0 then p = 0 elseif p > 100 then p = 100 end
    local filled = math.floor(p * M.WIDTH / 100 + 0.5)
    parts[#parts + 1] = "[" .. string.rep("#", filled) .. string.rep("-", M.WIDTH - filled) .. "]"
    parts[#parts + 1] = string.format("%3d%%", math.floor(p + 0.5))
  end
  if detail then parts[#parts + 1] = detail end
  return table.concat(parts, " ")
end

function Line:update(id, status, pct, detail)
  local text = M.format(self.label, id, status, pct, detail)
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
