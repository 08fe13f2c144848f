-- Response and error helpers.  Handlers return a response table
--   { status = 200, json = <table> | body = <string>, headers = {...}, ctype = ... }
-- or raise an API error with M.raise(...); app.lua turns both into bytes.
-- Every API error has the documented shape
--   { message, code, errors = [{param, msg, location}], requestId }.
local json = require "fake.json"

local M = {}

local API_ERROR = {}   -- marker metatable for errors raised by handlers

function M.raise(status, code, message, errors, headers)
  error(setmetatable({ status = status, code = code, message = message,
                       errors = errors, headers = headers }, API_ERROR), 0)
end

function M.is_api_error(e) return getmetatable(e) == API_ERROR end

-- errors: array of {param=, msg=, location=} (location defaults to "body")
function M.validation(errors, message)
  for _, e in ipairs(errors) do e.location = e.location or "body" end
  M.raise(400, "VALIDATION_ERROR", message or "Validation failed", errors)
end

function M.not_found(what)
  M.raise(404, "NOT_FOUND", (what or "Resource") .. " not found")
end

function M.error_response(rid, status, code, message, errors, headers)
  return {
    status = status,
    headers = headers,
    json = { message = message, code = code, errors = json.arr(errors), requestId = rid },
  }
end

function M.ok(status, tbl, headers) return { status = status, json = tbl, headers = headers } end

--- The whole request body, whether nginx kept it in memory or spilled it to
-- a temporary file ("" when there is none).
function M.read_body()
  ngx.req.read_body()
  local data = ngx.req.get_body_data()
  if data then return data end
  local file = ngx.req.get_body_file()
  if not file then return "" end
  local f = io.open(file, "rb")
  if not f then return "" end
  data = f:read("*a")
  f:close()
  return data
end

return M
