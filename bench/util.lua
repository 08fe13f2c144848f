--- Helpers shared by the benchmark peers: a clock, memory readings, output.
local M = {}

--- Monotonic seconds. Every Lua peer times itself with the same clock
-- (clock_gettime(CLOCK_MONOTONIC) in the SDK's core), so no peer is timed
-- differently from another.
M.now = require("scravio.core").monotime

local function status_kb(field)
  local f = io.open("/proc/self/status", "r")
  if not f then return nil end
  local text = f:read("a")
  f:close()
  local v = text:match(field .. ":%s*(%d+) kB")
  return v and tonumber(v) or nil
end

--- Resident set size now, in kB.
function M.rss_kb() return status_kb("VmRSS") end

--- Peak resident set size since start (or since reset_peak), in kB.
function M.peak_kb() return status_kb("VmHWM") end

--- Reset VmHWM to the current RSS (Linux: "5" > /proc/self/clear_refs).
function M.reset_peak()
  local f = io.open("/proc/self/clear_refs", "w")
  if not f then return false end
  local ok = f:write("5")
  f:close()
  return ok ~= nil
end

--- Print one result line: key=value pairs in a stable order.
function M.result(t)
  local keys = {}
  for k in pairs(t) do keys[#keys + 1] = k end
  table.sort(keys)
  local out = {}
  for i, k in ipairs(keys) do
    local v = t[k]
    if math.type(v) == "float" then v = string.format("%.3f", v) end
    out[i] = k .. "=" .. tostring(v)
  end
  io.write(table.concat(out, " "), "\n")
end

--- Command-line argument i as a number (with a clear error).
function M.num(i)
  local v = tonumber(arg[i])
  if not v then error("argument " .. i .. " must be a number, got " .. tostring(arg[i]), 2) end
  return math.tointeger(v) or v
end

return M
