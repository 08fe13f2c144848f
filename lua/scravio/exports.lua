--- client.exports and the Export object's methods.
local core = require("scravio.core")
local errors = require("scravio.errors")
local options = require("scravio.options")
local pagination = require("scravio.pagination")
local request = require("scravio.request")
local resource = require("scravio.resource")
local validate = require("scravio.validate")

local M = {}
local Service
Service, M.service = resource.service_class()
M.Service = Service -- workflows.lua adds the convenience methods here

--- POST /list-exports -> Export. The API makes this idempotent (an export
-- already pending for the same campaign and options is returned), so it is
-- safe to resend; 5 per hour.
function Service:create(params, call)
  local ok, problems = validate.export(params)
  if not ok then return nil, errors.invalid(problems, "export") end
  local copts, cerr = options.call(call, "exports:create")
  if not copts then return nil, cerr end
  local res, err = request.call(self.client, "POST", "/list-exports",
    request.with({ body = params, safe = true, pace = { "export" },
      result_id = function(v) return request.unwrap(v).exportId end,
      unknown_hint = "list the campaign's exports (GET /list-exports?campaignId=...)" }, copts))
  if res == nil then return nil, err end
  local data = request.unwrap(res)
  if data.campaignId == nil then data.campaignId = params.campaignId end
  return core.wrap("Export", data, self.client)
end

--- GET /list-exports -> {items={Export...}, exports=(same), pagination={...}}   (list)
--- Iterator of Export over all pages   (each)
pagination.define(Service, "exports", "Export", "/list-exports")

-- ---- Export methods ----------------------------------------------------------
local Export = core.methods.Export

--- e:refresh() -> e, updated in place. The API has no GET /list-exports/{id}:
-- the export is found in its campaign's export list.
function Export.refresh(e, call)
  local copts, cerr = options.call(call, "e:refresh")
  if not copts then return nil, cerr end
  local data, client = e, core.owner(e) -- (data: the Export itself; its fields read lazily)
  local query = { campaignId = data.campaignId, sortBy = "createdAt", order = "desc" }
  local ok, found = pcall(function()
    for x in pagination.each(client, "exports", nil, "/list-exports", query, copts) do
      if x.exportId == data.exportId then return x end
    end
  end)
  if not ok then
    -- The iterator raises scravio.Error values; anything else (a page whose
    -- items are not objects, a failure without a message) becomes one too.
    if core.is_error(found) then return nil, found end
    return nil, errors.new("decode", "export " .. tostring(data.exportId) .. " could not be looked up in "
      .. "GET /list-exports: " .. tostring(found), { method = "GET", path = "/list-exports" })
  end
  if not found then
    return nil, errors.new("api", "export " .. tostring(data.exportId) .. " is no longer listed",
      { status = 404, code = "NOT_FOUND", method = "GET", path = "/list-exports" })
  end
  core.replace(e, found)
  return e
end

--- e:download_url() -> url, {downloadUrl, filename}; 400 until the export is completed.
Export.download_url = resource.download_url("/list-exports/{}/download", "exportId", "e:download_url")

--- e:data() -> a plain deep copy of the API object
Export.data = resource.data

return M
