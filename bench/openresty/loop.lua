--- GET /loop?h=<handler path>&n=N: one of the bench handlers (handlers.lua)
-- run N times inside one request, for bench/openresty/callgrind.sh: the
-- difference between two values of N is what N calls cost the worker.
local handlers = require("openresty.handlers").handlers

local M = {}

function M.run()
  local args = ngx.req.get_uri_args()
  local h = handlers[args.h]
  local n = tonumber(args.n) or 0
  if not h then return ngx.exit(404) end
  for _ = 1, n do h() end
  ngx.print("ok ", n)
end

return M
