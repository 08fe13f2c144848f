-- Entry points called from nginx.conf: api() for the API/TLS server (which
-- also answers /__control/*), storage() for the storage port, and the log
-- phase hooks that record response statuses.  The request pipeline is:
--   read body -> log request -> fault? -> tick clock -> route -> auth -> handler
--   -> encode -> (fault delivery) -> send with Content-Length and X-Request-Id
local json = require "fake.json"
local ids = require "fake.ids"
local http = require "fake.http"
local reqlog = require "fake.reqlog"
local faults = require "fake.faults"
local accounts = require "fake.accounts"
local lifecycle = require "fake.lifecycle"
local router = require "fake.router"
local control = require "fake.control"
local storage = require "fake.storage"

local M = {}

function M.init(opts)
  storage.base = "http://127.0.0.1:" .. opts.storage_port
  faults.storage_base = storage.base
  control.info = {
    api_port = opts.api_port, tls_port = opts.tls_port, storage_port = opts.storage_port,
    base_url = "http://127.0.0.1:" .. opts.api_port .. "/api",
    tls_base_url = "https://127.0.0.1:" .. opts.tls_port .. "/api",
    storage_url = storage.base,
  }
  control.reset_all()
end

-- request context ------------------------------------------------------------------

local Ctx = {}
Ctx.__index = Ctx

-- Like express.json(): only bodies sent as JSON are parsed; anything else is {}.
function Ctx:json_body()
  if self._json then return self._json end
  local body = self.body
  local v = {}
  local ct = ngx.var.http_content_type or ""
  if body ~= "" and ct:lower():find("json", 1, true) then
    local err
    v, err = json.decode(body)
    if v == nil then
      http.raise(400, "INVALID_JSON", "Malformed JSON in request body",
        { { param = "body", msg = "Unexpected token in JSON: " .. tostring(err), location = "body" } })
    end
    if type(v) ~= "table" then v = {} end
  end
  self._json = v
  return v
end

local read_body = http.read_body

local function process(ctx)
  lifecycle.tick()
  if ctx.path:sub(1, 5) ~= "/api/" then
    return http.error_response(ctx.rid, 404, "NOT_FOUND", "Route not found: " .. ctx.method .. " " .. ctx.path)
  end
  local handler, id = router.match(ctx.method, ctx.path)
  if not handler then
    return http.error_response(ctx.rid, 404, "NOT_FOUND", "Route not found: " .. ctx.method .. " " .. ctx.path)
  end
  local ok, res = pcall(function()
    local acct = accounts.authenticate(ctx)
    return handler(ctx, acct, id)
  end)
  if ok then return res end
  if http.is_api_error(res) then
    return http.error_response(ctx.rid, res.status, res.code, res.message, res.errors, res.headers)
  end
  ngx.log(ngx.ERR, "fake API handler error: ", tostring(res), "\n", debug.traceback())
  return http.error_response(ctx.rid, 500, "INTERNAL_ERROR", "Internal server error (fake): " .. tostring(res))
end

local function send(res, rid, body, content_length)
  ngx.status = res.status
  local h = ngx.header
  h["Content-Type"] = res.ctype or "application/json; charset=utf-8"
  h["X-Request-Id"] = rid
  local rh = ngx.ctx.rate_headers
  if rh then for k, v in pairs(rh) do h[k] = v end end
  if res.headers then for k, v in pairs(res.headers) do h[k] = v end end
  h["Content-Length"] = content_length or #body
  ngx.print(body)
end

local function control_request(action)
  local status, tbl = control.handle(action)
  local body = json.encode(tbl)
  ngx.status = status
  ngx.header["Content-Type"] = "application/json"
  ngx.header["Content-Length"] = #body
  ngx.print(body)
end

function M.api()
  local raw = ngx.var.request_uri
  local path = raw:match("^[^?]*")
  if path:sub(1, 11) == "/__control/" then return control_request(path:sub(12)) end

  local rid = ids.request_id()
  ngx.ctx.rid = rid
  local ctx = setmetatable({
    method = ngx.req.get_method(), path = path, query_string = ngx.var.args,
    args = ngx.req.get_uri_args(100), rid = rid, body = read_body(),
  }, Ctx)
  local entry = reqlog.api_request(ctx)
  ngx.ctx.log = entry

  local f = faults.match("api", ctx.method, path)
  if f then
    entry.fault = f.kind
    if faults.apply_simple(f, entry) then return end
  end

  local res = process(ctx)
  local body = res.body or json.encode(res.json)
  local fa = ngx.ctx.fault_after
    or (f and (f.kind == "slow" or f.kind == "delay_upstream") and f.process_first and f) or nil
  if fa then
    return faults.deliver(fa, res.status, body, function(b, cl) send(res, rid, b, cl) end)
  end
  send(res, rid, body)
end

function M.storage() return storage.handle() end

function M.log_phase()
  local e = ngx.ctx.log
  if e then e.status = ngx.status end
end

function M.storage_log_phase()
  local e = ngx.ctx.storage_log
  if e then e.status = ngx.status end
end

return M
