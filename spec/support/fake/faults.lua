-- Fault injection (srv:fault{...} -> POST /__control/fault).
--
-- A fault matches requests by method (optional) and path (exact raw path, with
-- or without the "/api" prefix, or a Lua pattern when pattern=true).  The first
-- `skip` matching requests pass untouched, the next `count` (default 1, -1 =
-- unlimited) are affected.  Faults are checked in creation order; the first
-- one that affects a request wins.  target = "api" (default) or "storage".
-- Kinds and what the client sees:
--   status         `status` (default 500) with an HTML body (or body/content_type);
--                  process_first=true processes the request for real first
--                  (e.g. the campaign IS created, then the 500 is answered)
--   rate_limit     429 + Retry-After (retry_after, default 1; a string is sent verbatim;
--                  strict-reference mode sends none unless retry_after is given)
--   reset_before   the request is read, not processed, connection closed (444)
--   reset_after    processed for real (e.g. the campaign IS created), then closed
--   slow           sleep `delay` s (non-blocking ngx.sleep) then answer;
--                  process_first=true processes before sleeping
--   delay_upstream same as slow
--   truncated      processed; complete response whose JSON body is cut in half
--                  (Content-Length matches the cut body)
--   truncated_body processed; Content-Length of the full body, half sent, closed
--   malformed      200, Content-Type application/json, a non-JSON body
--   huge           200 with a `bytes` (default 20 MiB) valid-JSON body, streamed
--   redirect       `status` (302) to `location` (default <storage>/capture; "same": the
--                  URL that was asked for, so the followed request succeeds)
local config = require "fake.config"
local json = require "fake.json"
local util = require "fake.util"

local M = { list = {} }
local next_id = 0

M.KINDS = util.set({ "status", "rate_limit", "reset_before", "reset_after", "slow", "delay_upstream",
  "truncated", "truncated_body", "malformed", "huge", "redirect" })

M.storage_base = nil   -- set by app.init

function M.reset() M.list = {} end

function M.add(spec)
  if type(spec) ~= "table" then return nil, "fault spec must be an object" end
  if not M.KINDS[spec.kind] then return nil, "unknown fault kind: " .. tostring(spec.kind) end
  if spec.path ~= nil and type(spec.path) ~= "string" then return nil, "path must be a string" end
  if spec.method ~= nil and type(spec.method) ~= "string" then return nil, "method must be a string" end
  if spec.pattern and spec.path then
    local ok = pcall(string.find, "", spec.path)
    if not ok then return nil, "invalid Lua pattern: " .. spec.path end
  end
  local target = spec.target or "api"
  if target ~= "api" and target ~= "storage" then return nil, "target must be api or storage" end
  next_id = next_id + 1
  local f = {}
  for k, v in pairs(spec) do f[k] = v end
  f.id = next_id
  f.target = target
  f.method = spec.method and spec.method:upper() or nil
  f.count = spec.count or 1
  f.skip = spec.skip or 0
  f.hits = 0
  f.seen = 0
  M.list[#M.list + 1] = f
  return f
end

function M.remove(id)
  for i, f in ipairs(M.list) do
    if f.id == id then table.remove(M.list, i) return true end
  end
  return false
end

local function path_matches(f, path)
  if not f.path then return true end
  if f.pattern then return path:find(f.path) ~= nil end
  return path == f.path or path == "/api" .. f.path
end

-- match(target, method, path) -> fault or nil; consumes skip / count.
function M.match(target, method, path)
  local list = M.list
  if #list == 0 then return nil end
  for _, f in ipairs(list) do
    if f.target == target and (f.count == -1 or f.hits < f.count)
      and (not f.method or f.method == method) and path_matches(f, path) then
      f.seen = f.seen + 1
      if f.seen > f.skip then
        f.hits = f.hits + 1
        return f
      end
    end
  end
  return nil
end

function M.public_list()
  local out = {}
  for _, f in ipairs(M.list) do
    local o = {}
    for k, v in pairs(f) do o[k] = v end
    o.exhausted = f.count ~= -1 and f.hits >= f.count
    out[#out + 1] = o
  end
  return out
end

local REASONS = { [400] = "Bad Request", [401] = "Unauthorized", [403] = "Forbidden", [404] = "Not Found",
  [408] = "Request Timeout", [429] = "Too Many Requests", [500] = "Internal Server Error", [502] = "Bad Gateway",
  [503] = "Service Unavailable", [504] = "Gateway Timeout" }

local function html_page(status)
  local title = status .. " " .. (REASONS[status] or "Error")
  return "<html>\r\n<head><title>" .. title .. "</title></head>\r\n<body>\r\n<center><h1>" .. title ..
    "</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
end

local function send_plain(status, body, ctype, headers)
  ngx.status = status
  for k, v in pairs(headers or {}) do ngx.header[k] = v end
  ngx.header["Content-Type"] = ctype
  ngx.header["Content-Length"] = #body
  ngx.print(body)
end

local function huge(f)
  local total = f.bytes or 20 * 1024 * 1024
  local head, tail = '{"message":"huge","padding":"', '"}'
  if total < #head + #tail then total = #head + #tail end
  ngx.status = 200
  ngx.header["Content-Type"] = "application/json"
  if not f.chunked then ngx.header["Content-Length"] = total end
  local left = total - #head - #tail
  ngx.print(head)
  local block = string.rep("x", 65536)
  while left > 0 do
    local n = math.min(left, #block)
    ngx.print(n == #block and block or block:sub(1, n))
    left = left - n
    if not ngx.flush(true) then return end
  end
  ngx.print(tail)
end

local function retry_after_headers(f, default)
  local h = {}
  local ra = f.retry_after
  if ra == nil then ra = default end
  if ra ~= nil then h["Retry-After"] = type(ra) == "number" and tostring(math.floor(ra)) or tostring(ra) end
  return h
end

-- Faults that do not need the real handler.  Returns true when the response
-- has been fully produced (or the connection dropped).
function M.apply_simple(f, entry)
  local k = f.kind
  local rid = ngx.ctx.rid
  if k == "status" and f.process_first then
    ngx.ctx.fault_after = f -- answered in deliver(), after the handler ran
    return false
  elseif k == "status" then
    local st = f.status or 500
    local h = retry_after_headers(f)
    if rid then h["X-Request-Id"] = rid end
    for name, v in pairs(f.headers or {}) do h[name] = tostring(v) end -- may replace X-Request-Id
    send_plain(st, f.body or html_page(st), f.content_type or (f.body and "text/plain") or "text/html", h)
    return true
  elseif k == "rate_limit" then
    local h = retry_after_headers(f, (not config.values.strict_reference) and 1 or nil)
    if rid then h["X-Request-Id"] = rid end
    local body = json.encode({ message = "Too many requests, please try again later.", code = "RATE_LIMIT_EXCEEDED",
                               errors = json.empty_array, requestId = rid or json.null })
    send_plain(429, body, "application/json; charset=utf-8", h)
    return true
  elseif k == "reset_before" then
    ngx.req.read_body()
    ngx.exit(444)
    return true
  elseif k == "malformed" then
    local h = rid and { ["X-Request-Id"] = rid } or nil
    send_plain(200, f.body or '<<this is not JSON>> {"items": [1, 2,', "application/json; charset=utf-8", h)
    return true
  elseif k == "huge" then
    if rid then ngx.header["X-Request-Id"] = rid end
    huge(f)
    return true
  elseif k == "redirect" then
    -- location = "same": back to the URL asked for (a region redirect that
    -- lands where it started: with count = 1 the next try goes through)
    local loc = f.location == "same" and ((f.target == "storage" and M.storage_base or "") .. ngx.var.request_uri)
      or f.location or (M.storage_base .. "/capture")
    local h = { Location = loc }
    if rid then h["X-Request-Id"] = rid end
    send_plain(f.status or 302, "", "text/html", h)
    return true
  elseif k == "slow" or k == "delay_upstream" then
    -- (storage has no "process first" path: it always sleeps first)
    if not f.process_first or f.target == "storage" then ngx.sleep(f.delay or 1) end
    return false
  end
  -- reset_after / truncated / truncated_body need the processed response
  ngx.ctx.fault_after = f
  return false
end

-- Deliver an already-built response body under the fault's rules.
-- send(body_override) sends normally; returns true when the fault handled it.
function M.deliver(f, status, body, send)
  local k = f.kind
  if (k == "slow" or k == "delay_upstream") and f.process_first then
    ngx.sleep(f.delay or 1)
    send(body)
    return
  end
  if k == "reset_after" then
    ngx.exit(444)
    return
  end
  if k == "status" then -- process_first: the work is done, the answer says it failed
    local st = f.status or 500
    local h = retry_after_headers(f)
    if ngx.ctx.rid then h["X-Request-Id"] = ngx.ctx.rid end
    send_plain(st, f.body or html_page(st), f.content_type or (f.body and "text/plain") or "text/html", h)
    return
  end
  if k == "truncated" then
    send(body:sub(1, math.floor(#body / 2)))
    return
  end
  if k == "truncated_body" then
    send(body:sub(1, math.floor(#body / 2)), #body)
    ngx.flush(true)
    ngx.exit(444)
    return
  end
  send(body)
end

return M
