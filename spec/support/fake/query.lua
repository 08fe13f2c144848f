-- Query-string validation for the list endpoints.  Bad values answer 400
-- VALIDATION_ERROR with errors[].location = "query", collected for every
-- parameter at once (the API uses express-validator, which reports them all).
local http = require "fake.http"
local clock = require "fake.clock"
local util = require "fake.util"

local M = {}
local R = {}
R.__index = R

function M.reader(ctx)
  return setmetatable({ args = ctx.args, errors = {} }, R)
end

function R:raw(name)
  local v = self.args[name]
  if type(v) == "table" then v = v[1] end
  if v == true then v = "" end
  return v
end

function R:fail(name, msg)
  self.errors[#self.errors + 1] = { param = name, msg = msg, location = "query" }
end

function R:int(name, default, min, max)
  local v = self:raw(name)
  if v == nil or v == "" then return default end
  local n = util.query_int(v)
  if not n then self:fail(name, name .. " must be an integer") return default end
  if (min and n < min) or (max and n > max) then
    self:fail(name, name .. " must be between " .. tostring(min) .. " and " .. tostring(max or "infinity"))
    return default
  end
  return n
end

function R:str(name)
  local v = self:raw(name)
  if v == nil or v == "" then return nil end
  return v
end

function R:bool(name)
  local v = self:raw(name)
  if v == nil or v == "" then return nil end
  local b = util.query_bool(v)
  if b == nil then self:fail(name, name .. " must be a boolean") end
  return b
end

function R:enum(name, allowed, default)
  local v = self:raw(name)
  if v == nil or v == "" then return default end
  if not util.contains(allowed, v) then
    self:fail(name, name .. " must be one of: " .. table.concat(allowed, ", "))
    return default
  end
  return v
end

-- Comma-separated list; expand(token) may map a token to several values
-- (platform shorthands).  Returns a set, or nil when the parameter is absent.
function R:list(name, allowed_set, expand)
  local v = self:raw(name)
  if v == nil or v == "" then return nil end
  local out = {}
  for _, tok in ipairs(util.split(v, ",")) do
    tok = util.trim(tok)
    if tok ~= "" then
      local vals = expand and expand(tok) or (allowed_set[tok] and { tok }) or nil
      if not vals then
        self:fail(name, "Invalid " .. name .. " value: " .. tok)
      else
        for _, x in ipairs(vals) do out[x] = true end
      end
    end
  end
  return out
end

-- from / to (ISO 8601).  A date-only "to" covers that whole day.
function R:date_range()
  local from, to
  local f = self:raw("from")
  if f and f ~= "" then
    from = clock.parse(f)
    if not from then self:fail("from", "from must be an ISO 8601 date") end
  end
  local t = self:raw("to")
  if t and t ~= "" then
    local v, date_only = clock.parse(t)
    if not v then self:fail("to", "to must be an ISO 8601 date")
    else to = date_only and (v + 86400 - 0.001) or v end
  end
  return from, to
end

function R:finish()
  if #self.errors > 0 then http.validation(self.errors) end
end

function M.pagination(total, page, per)
  return { totalCount = total, totalPages = util.pages(total, per), currentPage = page, perPage = per }
end

return M
