--- What every resource type does the same way: fetch one object by id into
-- its userdata, and refresh a userdata in place from the same endpoint.
local core = require("scravio.core")
local request = require("scravio.request")

local M = {}

-- Objects fetched by id are decoded lazily (a field when it is first read):
-- callers usually read a few fields of a large object, and decoding is most
-- of a request's cost. The transport may still answer with a table (the
-- OpenResty transport does, and so does an envelope around something other
-- than an object); core.wrap and core.replace take either.
local LAZY = { lazy = true }

--- GET template/{id} -> kind userdata | nil, err
function M.get(client, kind, template, id)
  local res, err = request.call(client, "GET", template, LAZY, id)
  if res == nil then return nil, err end
  if type(res) == "table" then res = request.unwrap(res) end
  return core.wrap(kind, res, client)
end

--- A refresh method: GET template/{obj[id_field]} and replace the object's
-- data in place, so every holder of the object sees the update. -> obj | nil, err
function M.refresher(template, id_field)
  return function(obj)
    local client = core.owner(obj)
    local res, err = request.call(client, "GET", template, LAZY, obj[id_field])
    if res == nil then return nil, err end
    if type(res) == "table" then res = request.unwrap(res) end
    core.replace(obj, res)
    return obj
  end
end

return M
