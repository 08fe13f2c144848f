--- Picks the transport: libcurl in plain Lua, cosockets inside OpenResty
-- (where a blocking libcurl call would stall the whole nginx worker).
local runtime = require("scravio.runtime")

local M = {}

--- select(handle, opts) -> transport | nil, err
-- opts.transport: nil (automatic), "curl", "ngx", or an object with the same
-- methods (send, download, upload).
function M.select(handle, opts)
  -- The one function that builds request heads holding the credential is
  -- taken here, before the client is handed out, so that no other code can
  -- ever take it: only the cosocket transport keeps it (libcurl needs none).
  local head_builder = handle:api_head_builder()
  local choice = opts.transport
  if type(choice) == "table" then return choice end
  if choice == nil then choice = runtime.in_ngx and "ngx" or "curl" end
  if choice == "curl" then return require("scravio.transport.curl").new(handle) end
  if choice == "ngx" then return require("scravio.transport.ngx").new(handle, opts, head_builder) end
  return nil, require("scravio.errors").invalid({ { param = "transport", location = "option",
    msg = "transport must be \"curl\", \"ngx\" or a transport object" } }, "scravio.new")
end

return M
