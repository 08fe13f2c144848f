--- scravio: the Lua SDK for the Scravio API.
--
--   local scravio = require("scravio")
--   local client = assert(scravio.new{ api_key = os.getenv("SCRAVIO_API_KEY") })
--   print(client:me().credits)
--
-- The C core (`scravio.core`) holds the credentials, builds and sends
-- requests and decodes JSON; this layer drives it (see README "Architecture").
local core = require("scravio.core_loader").load()
local errors = require("scravio.errors")

local M = {
  _VERSION = "scravio-lua " .. core.version,
  version = core.version,
  --- JSON null: what an array holds where the API sent null (a null object member
  -- reads as nil), and what to send for an explicit null. tostring: "scravio.null".
  null = core.null,
  --- Is x a scravio.Error?
  is_error = core.is_error,
  --- Build an error object (for code that wraps the SDK and wants the same shape).
  error = errors.new,
}

--- Create a client. Returns client, or nil, err (err.kind == "invalid").
function M.new(opts)
  return require("scravio.client").new(opts)
end

--- Mark a table as a JSON array, so that an empty one is sent as [] (not {}).
function M.array(t)
  return setmetatable(t or {}, core.array_mt)
end

--- Is t a JSON array (decoded from one, or marked with scravio.array)?
function M.is_array(t)
  return type(t) == "table" and getmetatable(t) == core.array_mt
end

--- The JSON codec the SDK uses: integers stay integers; a null member is absent,
-- null in an array is scravio.null (as in API answers).
M.json = { decode = core.json_decode, encode = core.json_encode }

--- Campaign, ValidationJob or Export, or nil: what kind of SDK object x is.
M.kind = core.kind

return M
