--- Error values: every failure is returned as `nil, err` where err is a
-- scravio.Error (a table with kind, status, code, message, errors, request_id,
-- retry_after, retryable, method, path). The C core builds the ones that come
-- from HTTP; this module builds the ones the Lua layer decides on.
local core = require("scravio.core")

local M = {}

--- errors.new(kind, message, fields) -> scravio.Error
function M.new(kind, message, fields)
  local e = {}
  if fields then
    for k, v in pairs(fields) do e[k] = v end
  end
  e.kind = kind
  e.message = message
  return core.error(e)
end

--- A client-side rejection: nothing was sent. problems = {{param=, msg=, location=}...}
function M.invalid(problems, what)
  local first = problems[1]
  local msg
  if first then
    msg = (what and (what .. ": ") or "") .. first.msg
    if #problems > 1 then msg = msg .. string.format(" (and %d more problem%s)", #problems - 1, #problems > 2 and "s" or "") end
  else
    msg = what or "invalid request"
  end
  return M.new("invalid", msg, { errors = problems })
end

--- A Ctrl-C turned into an error value (kind "cancelled", interrupted = true).
-- The message says what was interrupted and what is left to do.
function M.interrupted(message, fields)
  fields = fields or {}
  fields.interrupted = true
  fields.retryable = false
  return M.new("cancelled", message, fields)
end

--- Raise an error object from an iterator, where `nil, err` cannot travel.
function M.raise(err)
  error(err, 0)
end

return M
