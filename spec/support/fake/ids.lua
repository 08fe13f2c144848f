-- Identifier factories.  Resource ids look like MongoDB ObjectIds (24 hex
-- chars: 8 of fake-clock seconds + 16 of a process-wide counter), so they are
-- unique for the life of the server, even across /__control/reset.
local clock = require "fake.clock"

local M = {}
local counter = 0
local req_counter = 0
local fmt, floor = string.format, math.floor
local salt = floor((ngx and ngx.now() or os.time()) * 1000) % 0xffffff

function M.object_id()
  counter = counter + 1
  return fmt("%08x%016x", floor(clock.now()) % 0x100000000, counter * 0x10 + 0xa)
end

function M.prefixed(prefix)
  counter = counter + 1
  return fmt("%s_%06x%010x", prefix, salt, counter)
end

-- Fresh for every response: req_ + 20 hex chars.
function M.request_id()
  req_counter = req_counter + 1
  return fmt("req_%06x%014x", salt, req_counter)
end

return M
