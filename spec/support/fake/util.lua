-- Small helpers shared by the fake server's modules (no state here).
local M = {}

local floor, tonumber, tostring, type = math.floor, tonumber, tostring, type
local concat = table.concat

function M.trim(s) return (s:gsub("^%s+", ""):gsub("%s+$", "")) end

function M.split(s, sep)
  local out = {}
  if s == nil or s == "" then return out end
  local pat = "([^" .. sep .. "]*)"
  for part in (s .. sep):gmatch(pat .. sep) do out[#out + 1] = part end
  return out
end

-- A JSON number decoded by cjson is a double; "integer" here means integral.
function M.is_integer(v)
  return type(v) == "number" and v == floor(v) and v > -2^53 and v < 2^53
end

-- Query strings: "12" -> 12; anything else -> nil.
function M.query_int(v)
  if type(v) ~= "string" or not v:match("^%-?%d+$") then return nil end
  return tonumber(v)
end

function M.query_bool(v)
  if v == "true" or v == "1" then return true end
  if v == "false" or v == "0" then return false end
  return nil
end

function M.contains(list, v)
  for i = 1, #list do if list[i] == v then return true end end
  return false
end

function M.set(list)
  local s = {}
  for i = 1, #list do s[list[i]] = true end
  return s
end

function M.copy(t)
  if type(t) ~= "table" then return t end
  local o = {}
  for k, v in pairs(t) do o[k] = M.copy(v) end
  return o
end

function M.slug(s, max)
  s = tostring(s or ""):lower():gsub("[^%w]+", "-"):gsub("^%-+", ""):gsub("%-+$", "")
  if s == "" then s = "file" end
  if max and #s > max then s = s:sub(1, max):gsub("%-+$", "") end
  return s
end

-- Deterministic pseudo-random stream (Park-Miller MINSTD): exact in doubles
-- (products stay below 2^47), identical on every run and every platform.
local MOD = 2147483647
function M.seed(...)
  local x = 0
  for i = 1, select("#", ...) do
    local v = select(i, ...)
    if type(v) == "string" then v = ngx.crc32_short(v) end
    x = (x * 31 + floor(v)) % MOD
  end
  x = (x * 48271 + 12345) % MOD
  if x == 0 then x = 1 end
  return x
end
function M.next(x) return (x * 48271) % MOD end

function M.hash(s) return ngx.crc32_long(s) end

function M.pick(list, x) return list[(x % #list) + 1] end

function M.ceil_div(a, b) return floor((a + b - 1) / b) end

-- Pagination math shared by every list endpoint.
function M.pages(total, per) if total == 0 then return 0 end return floor((total + per - 1) / per) end

function M.html_escape(s)
  return (tostring(s):gsub("[&<>\"]", { ["&"] = "&amp;", ["<"] = "&lt;", [">"] = "&gt;", ['"'] = "&quot;" }))
end

M.concat = concat
return M
