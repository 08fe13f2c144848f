--- Request bodies: copies of the caller's tables, ready for JSON. List fields
-- are marked as arrays so they are always sent as [...] (never {}), and the
-- caller's own tables are never modified.
local core = require("scravio.core")

local M = {}

local INPUT_LISTS = { hashtags = true, keywords = true, countries = true }

local function as_array(v)
  if type(v) ~= "table" then return v end
  local a = setmetatable({}, core.array_mt)
  for i = 1, #v do a[i] = v[i] end
  return a
end
M.as_array = as_array

local function shallow(t)
  local c = {}
  for k, v in pairs(t) do c[k] = v end
  return c
end

--- The body of POST /campaigns: every field the caller gave (title, type,
-- inputs, targetEmails, maxCreditCap, the validation flags, and whatever
-- else the API may accept later).
function M.campaign(params)
  local b = shallow(params)
  if type(params.inputs) == "table" then
    local inputs = shallow(params.inputs)
    for k in pairs(INPUT_LISTS) do
      if inputs[k] ~= nil then inputs[k] = as_array(inputs[k]) end
    end
    b.inputs = inputs
  end
  return b
end

--- Fields POST /campaigns documents that POST /campaigns/reserve-preview
-- does not: the one params table serves both calls.
M.CREATE_ONLY = { title = true }

--- The body of POST /campaigns/reserve-preview: the same params less the
-- create-only fields. Everything else goes as given (an unknown field
-- reaches the server rather than vanish; a likely typo of a documented one,
-- such as `maxCreditcap`, was already refused by scravio.validate).
function M.preview(params)
  local b = M.campaign(params)
  for k in pairs(M.CREATE_ONLY) do b[k] = nil end
  return b
end

return M
