-- Request logs (API port and storage port), read back by specs through
-- POST /__control/requests and /__control/storage_requests.
-- An entry: { seq, time, method, path (raw, undecoded), query (raw string),
--   headers = { lowercase-name = value }, body, status, fault, tls, requestId }.
-- Both logs are ring buffers (config log_limit, newest kept) so a benchmark
-- sending millions of requests does not grow the server without bound.
local clock = require "fake.clock"
local config = require "fake.config"

local M = { api = {}, storage = {} }
local seq = 0

function M.reset() M.api = {}; M.storage = {} end

local function headers()
  local h = ngx.req.get_headers(200)
  local out = {}
  for k, v in pairs(h) do
    if type(v) == "table" then v = table.concat(v, ", ") end
    out[k] = v
  end
  return out
end

local function push(list_name, e)
  local list = M[list_name]
  list[#list + 1] = e
  local limit = config.values.log_limit
  if #list > limit * 1.25 + 16 then
    local keep = {}
    for i = #list - limit + 1, #list do keep[#keep + 1] = list[i] end
    M[list_name] = keep
  end
end

local DUMMY = {}

-- api(ctx): log one API request (the body is read here; handlers reuse it)
function M.api_request(ctx)
  if not config.values.log_requests then return DUMMY end
  seq = seq + 1
  local e = {
    seq = seq, time = clock.iso(clock.now()), method = ctx.method, path = ctx.path,
    query = ctx.query_string or "", headers = headers(),
    body = config.values.log_bodies and (ctx.body or "") or "",
    tls = ngx.var.https == "on", requestId = ctx.rid,
  }
  push("api", e)
  return e
end

function M.storage_request(method, path, query_string)
  if not config.values.log_requests then return {} end
  seq = seq + 1
  local e = { seq = seq, time = clock.iso(clock.now()), method = method, path = path,
              query = query_string or "", headers = headers(), bytes = 0 }
  push("storage", e)
  return e
end

local function matches(e, f)
  if f.method and f.method ~= e.method then return false end
  if f.path then
    if f.pattern then
      if not e.path:find(f.path) then return false end
    elseif e.path ~= f.path and e.path ~= "/api" .. f.path then
      return false
    end
  end
  return true
end

function M.query(which, filter)
  local out = {}
  filter = filter or {}
  for _, e in ipairs(M[which]) do
    if matches(e, filter) then out[#out + 1] = e end
  end
  return out
end

return M
