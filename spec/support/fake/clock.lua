-- The fake clock.  Every time the server reasons about (lifecycle progress,
-- rate-limit windows, presigned URL expiry, timestamps it emits) comes from
-- here: real time plus an offset that tests move forward with
-- POST /__control/advance, so a 3-second campaign can be finished instantly.
-- Frozen (POST /__control/freeze), real time stops counting: only advance
-- moves the clock, so a spec sees the same state however slow the machine is.
local M = { offset = 0, frozen_at = nil }

local floor = math.floor

function M.now() return (M.frozen_at or ngx.now()) + M.offset end

function M.advance(seconds) M.offset = M.offset + seconds end

-- freeze() stops the clock where it is; unfreeze() lets real time count again
-- from the same instant (the fake time never jumps).
function M.freeze()
  if M.frozen_at then return end
  ngx.update_time()
  M.frozen_at = ngx.now()
end

function M.unfreeze()
  if not M.frozen_at then return end
  ngx.update_time()
  M.offset = M.offset + M.frozen_at - ngx.now()
  M.frozen_at = nil
end

function M.reset() M.offset, M.frozen_at = 0, nil end

-- civil date from days since 1970-01-01 (H. Hinnant); pure arithmetic, so
-- LuaJIT compiles it (os.date is a slow C call that aborts traces, and lead
-- pages format two timestamps per lead).
local function civil_from_days(z)
  z = z + 719468
  local era = floor(z / 146097)
  local doe = z - era * 146097
  local yoe = floor((doe - floor(doe / 1460) + floor(doe / 36524) - floor(doe / 146096)) / 365)
  local y = yoe + era * 400
  local doy = doe - (365 * yoe + floor(yoe / 4) - floor(yoe / 100))
  local mp = floor((5 * doy + 2) / 153)
  local d = doy - floor((153 * mp + 2) / 5) + 1
  local m = mp < 10 and mp + 3 or mp - 9
  if m <= 2 then y = y + 1 end
  return y, m, d
end

local fmt = string.format

-- ISO 8601 UTC with milliseconds, like JavaScript's Date#toISOString.
function M.iso(t)
  if t == nil then return nil end
  local s = floor(t)
  local ms = floor((t - s) * 1000 + 0.5)
  if ms >= 1000 then s, ms = s + 1, ms - 1000 end
  local days = floor(s / 86400)
  local rem = s - days * 86400
  local y, m, d = civil_from_days(days)
  return fmt("%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", y, m, d, floor(rem / 3600), floor(rem / 60) % 60, rem % 60, ms)
end

-- AWS style basic timestamp used in presigned URLs: 20250101T120000Z
function M.amz(t) return os.date("!%Y%m%dT%H%M%SZ", floor(t)) end

-- days since 1970-01-01 for a proleptic Gregorian date (H. Hinnant's algorithm);
-- avoids os.time, which interprets dates in the local time zone.
local function days_from_civil(y, m, d)
  if m <= 2 then y = y - 1 end
  local era = floor(y / 400)
  local yoe = y - era * 400
  local mp = (m + 9) % 12
  local doy = floor((153 * mp + 2) / 5) + d - 1
  local doe = yoe * 365 + floor(yoe / 4) - floor(yoe / 100) + doy
  return era * 146097 + doe - 719468
end

-- parse("2025-01-31"), parse("2025-01-31T10:00:00Z"), "...T10:00:00.123+02:00"
-- -> epoch seconds, date_only (boolean); nil when it is not ISO 8601.
function M.parse(s)
  if type(s) ~= "string" then return nil end
  local y, mo, d, rest = s:match("^(%d%d%d%d)%-(%d%d)%-(%d%d)(.*)$")
  if not y then return nil end
  y, mo, d = tonumber(y), tonumber(mo), tonumber(d)
  if mo < 1 or mo > 12 or d < 1 or d > 31 then return nil end
  local base = days_from_civil(y, mo, d) * 86400
  if rest == "" then return base, true end
  local hh, mi, tail = rest:match("^[T ](%d%d):(%d%d)(.*)$")
  if not hh then return nil end
  local ss, frac = 0, 0
  local s2, tail2 = tail:match("^:(%d%d)(.*)$")
  if s2 then
    ss, tail = tonumber(s2), tail2
    local f, tail3 = tail:match("^%.(%d+)(.*)$")
    if f then frac, tail = tonumber("0." .. f), tail3 end
  end
  local offset = 0
  if tail ~= "Z" and tail ~= "z" and tail ~= "" then
    local sign, oh, om = tail:match("^([%+%-])(%d%d):?(%d%d)$")
    if not sign then return nil end
    offset = (tonumber(oh) * 3600 + tonumber(om) * 60) * (sign == "+" and 1 or -1)
  end
  hh, mi = tonumber(hh), tonumber(mi)
  if hh > 23 or mi > 59 or ss > 60 then return nil end
  return base + hh * 3600 + mi * 60 + ss + frac - offset, false
end

function M.parse_amz(s)
  local y, mo, d, h, mi, sec = tostring(s or ""):match("^(%d%d%d%d)(%d%d)(%d%d)T(%d%d)(%d%d)(%d%d)Z$")
  if not y then return nil end
  return days_from_civil(tonumber(y), tonumber(mo), tonumber(d)) * 86400 + tonumber(h) * 3600 + tonumber(mi) * 60 + tonumber(sec)
end

return M
