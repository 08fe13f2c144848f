--- What every resource type does the same way: fetch one object by id into
-- its userdata, and refresh a userdata in place from the same endpoint.
local core = require("scravio.core")
local request = require("scravio.request")

local M = {}

--- GET template/{id} -> kind userdata | nil, err
function M.get(client, kind, template, id)
  local res, err = request.call(client, "GET", template, nil, id)
  if res == nil then return nil, err end
  return core.wrap(kind, request.unwrap(res), client)
end

--- A refresh method: GET template/{obj[id_field]} and replace the object's
-- data in place, so every holder of the object sees the update. -> obj | nil, err
function M.refresher(template, id_field)
  return function(obj)
    local data, client = core.unwrap(obj)
    local res, err = request.call(client, "GET", template, nil, data[id_field])
    if res == nil then return nil, err end
    core.replace(obj, request.unwrap(res))
    return obj
  end
end

return M
