--- What every resource type does the same way: the service object behind
-- client.<name>, fetch one object by id into its userdata, refresh it in
-- place from the same endpoint, copy it out, and ask for its download URL.
local core = require("scravio.core")
local errors = require("scravio.errors")
local options = require("scravio.options")
local request = require("scravio.request")
local validate = require("scravio.validate")

local M = {}

--- A service class: its method table (a module's M.Service, where
-- workflows.lua adds the convenience methods) and the constructor client.lua
-- calls for client.<name>. -> Service, new(client)
function M.service_class()
  local Service = {}
  Service.__index = Service
  return Service, function(client) return setmetatable({ client = client }, Service) end
end

-- Objects fetched by id are decoded lazily (a field when it is first read):
-- callers usually read a few fields of a large object, and decoding is most
-- of a request's cost. The transport may still answer with a table (a custom
-- transport, or an envelope around something other than an object);
-- core.wrap and core.replace take either.
local LAZY = { lazy = true }

--- GET template/{id} -> kind userdata | nil, err
-- call: the caller's per-call options, already checked.
function M.get(client, kind, template, id, call)
  local res, err = request.call(client, "GET", template, request.with(LAZY, call), id)
  if res == nil then return nil, err end
  if type(res) == "table" then res = request.unwrap(res) end
  return core.wrap(kind, res, client)
end

--- A get(id, call) method for a service: GET template/{id} into a `kind`
-- userdata; the id is checked before anything is sent. what: how errors
-- name the method ("campaigns:get").
function M.getter(kind, template, what)
  return function(self, id, call)
    local ok, problems = validate.id(id, "id")
    if not ok then return nil, errors.invalid(problems) end
    local copts, cerr = options.call(call, what)
    if not copts then return nil, cerr end
    return M.get(self.client, kind, template, id, copts)
  end
end

--- A refresh method: GET template/{obj[id_field]} and replace the object's
-- data in place, so every holder of the object sees the update. -> obj | nil, err
-- what: how errors name the method ("c:refresh"); obj:refresh(call) takes
-- the per-call options.
function M.refresher(template, id_field, what)
  return function(obj, call)
    local copts, cerr = options.call(call, what)
    if not copts then return nil, cerr end
    local client = core.owner(obj)
    local res, err = request.call(client, "GET", template, request.with(LAZY, copts), obj[id_field])
    if res == nil then return nil, err end
    if type(res) == "table" then res = request.unwrap(res) end
    core.replace(obj, res)
    return obj
  end
end

--- A plain deep copy of a decoded value (arrays stay marked as arrays).
function M.deep_copy(v)
  if type(v) ~= "table" then return v end
  local out = setmetatable({}, getmetatable(v) == core.array_mt and core.array_mt or nil)
  for k, x in pairs(v) do out[k] = M.deep_copy(x) end
  return out
end

--- obj:data() for every resource type: a plain deep copy of the API object.
function M.data(obj)
  return M.deep_copy((core.unwrap(obj)))
end

--- A download_url method: GET template/{obj[id_field]} -> url, info: the
-- presigned URL string first (a method named for a URL answers a URL), then
-- the answer's `data` table ({downloadUrl, filename | expiresIn, ...});
-- nil, err (a 400/404 until the object is ready, or an answer without a URL).
-- obj:download_url(call) takes the per-call options.
function M.download_url(template, id_field, what)
  return function(obj, call)
    local copts, cerr = options.call(call, what)
    if not copts then return nil, cerr end
    local res, err = request.call(core.owner(obj), "GET", template, request.with(nil, copts), obj[id_field])
    if res == nil then return nil, err end
    local info = request.unwrap(res)
    local url = type(info) == "table" and info.downloadUrl or nil
    if type(url) ~= "string" or url == "" then
      return nil, errors.new("decode", "the download answer has no downloadUrl", {
        method = "GET", path = (template:gsub("{}", function() return tostring(obj[id_field]) end)), retryable = false })
    end
    return url, info
  end
end

return M
