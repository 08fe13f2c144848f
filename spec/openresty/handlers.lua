--- Handlers that run inside the spec nginx (LuaJIT, ngx_lua) and use the SDK
-- against the fake Scravio server. Each answers JSON for sdk_spec.lua.
-- Settings come from openresty_test_config.lua, generated per run.
local ngx = rawget(_G, "ngx")
local scravio = require("scravio")
local config = require("openresty_test_config")

local json = scravio.json
local M = {}

-- One client per worker and per flavour, shared by every request: the ngx
-- transport keeps no per-request state.
local clients = {}
local FLAVOURS = {
  default = {},
  curl = { transport = "curl" },          -- the control: libcurl blocks the worker
  noretry = { max_retries = 0 },
  pooled = { pool_size = 4, keepalive_timeout = 20 },
  small = { max_retries = 0, max_response_bytes = 64 * 1024 },
  short = { max_retries = 0, timeout = 1 },
  tls = { tls = "tls_base_url" },
  tls_ip = { tls = "tls_ip_base_url", max_retries = 0 }, -- an IP literal: cosockets cannot verify it
}

local function client(name)
  name = name or "default"
  local c = clients[name]
  if c then return c end
  local flavour = assert(FLAVOURS[name], "unknown client flavour " .. tostring(name))
  local opts = { base_url = config.base_url, api_key = config.api_key, timeout = 10, max_retries = 2 }
  for k, v in pairs(flavour) do opts[k] = v end
  if opts.tls then
    opts.base_url = config[opts.tls]
    opts.ca_file = config.ca_file
    opts.tls = nil
  end
  local err
  c, err = scravio.new(opts)
  if not c then error("scravio.new failed: " .. tostring(err)) end
  clients[name] = c
  return c
end
M.client = client

local ERROR_FIELDS = { "kind", "status", "code", "message", "sent", "retryable", "phase", "method", "path",
  "request_id", "retry_after", "gave_up", "attempts" }

local function error_fields(err)
  if type(err) ~= "table" then return { kind = "lua", message = tostring(err) } end
  local out = {}
  for _, k in ipairs(ERROR_FIELDS) do out[k] = err[k] end
  out.text = tostring(err)
  return out
end
M.error_fields = error_fields

local function reply(status, tbl)
  ngx.status = status
  ngx.header["Content-Type"] = "application/json"
  ngx.say(assert(json.encode(tbl)))
end

local function fail(err)
  return reply(200, { ok = false, err = error_fields(err) })
end

local function body_json()
  ngx.req.read_body()
  local data = ngx.req.get_body_data()
  if not data or data == "" then return {} end
  return assert(json.decode(data))
end

local dict = ngx and ngx.shared.scravio_test

-- ---- phases without cosockets -------------------------------------------

--- Call the SDK from the current phase; keep the answer in the shared dict
-- (log/filter phases cannot reply) and return it as one line.
function M.in_phase(label)
  local phase = label or ngx.get_phase()
  local ok, value, err = pcall(function()
    return client("default"):me()
  end)
  local rec
  if not ok then
    rec = { crashed = true, message = tostring(value) }
  elseif value ~= nil then
    rec = { answered = true }
  else
    rec = error_fields(err)
  end
  rec.ngx_phase = ngx.get_phase()
  dict:set("phase:" .. phase, json.encode(rec))
  return (rec.kind or "none") .. "|" .. tostring(rec.phase) .. "|" .. tostring(rec.message)
end

function M.init_worker()
  M.in_phase("init_worker")
end

-- ---- content handlers ----------------------------------------------------

local routes = {}

routes["/__ready"] = function()
  ngx.say("ready")
end

routes["/state"] = function()
  local out = {}
  for _, k in ipairs(dict:get_keys(0)) do out[k] = dict:get(k) end
  return reply(200, out)
end

routes["/me"] = function(args)
  local c = client(args.client)
  local me, err = c:me()
  if not me then return fail(err) end
  return reply(200, { ok = true, credits = me.credits, email = me.email, transport = c._transport.name })
end

routes["/preview"] = function()
  local p, err = client().campaigns:preview(body_json())
  if not p then return fail(err) end
  return reply(200, { ok = true, preview = p })
end

routes["/launch"] = function()
  local svc = client().campaigns
  local req = body_json()
  local c, preview = svc:launch(req.params, { max_credits = req.max_credits })
  if not c then return fail(preview) end
  return reply(200, { ok = true, id = c.id, status = c.status, preview = preview })
end

routes["/create"] = function()
  local c, err = client().campaigns:create(body_json())
  if not c then return fail(err) end
  return reply(200, { ok = true, id = c.id, status = c.status })
end

routes["/wait"] = function(args)
  local c, err = client().campaigns:get(args.id)
  if not c then return fail(err) end
  local polls = 0
  local done, werr = c:wait{ timeout = tonumber(args.timeout) or 30, interval = tonumber(args.interval) or 0.2,
    on_progress = function() polls = polls + 1 end }
  if not done then return fail(werr) end
  return reply(200, { ok = true, id = c.id, status = c.status, polls = polls })
end

-- campaigns:get with per-call options from the query string (timeout,
-- max_retries, a trace header): they must reach the cosocket transport.
routes["/percall"] = function(args)
  local call = { timeout = tonumber(args.timeout), max_retries = tonumber(args.max_retries),
    headers = args.trace and { ["X-Trace-Id"] = args.trace } or nil }
  local c, err = client().campaigns:get(args.id, call)
  if not c then return fail(err) end
  return reply(200, { ok = true, id = c.id })
end

-- (streamed: how many of the page GETs the transport answered with a
-- LazyPage; inner=1 makes another call on the same client for every lead,
-- while the page is being handed out.)
routes["/leads"] = function(args)
  local cl = client()
  local c, err = cl.campaigns:get(args.id)
  if not c then return fail(err) end
  local count, first, last, ids, streamed = 0, nil, nil, {}, 0
  local t = cl._transport
  local own_send = rawget(t, "send")
  local send = t.send
  t.send = function(self, ...)
    local r = { send(self, ...) }
    if getmetatable(r[1]) == require("scravio.core").lazypage_mt then streamed = streamed + 1 end
    return (table.unpack or unpack)(r, 1, 6) -- luacheck: ignore 143
  end
  local ok, ierr = pcall(function()
    for lead in c:leads{ perPage = tonumber(args.perPage) or 25 } do
      count = count + 1
      first = first or lead
      last = lead
      ids[count] = lead._id
      if args.inner then assert(cl.campaigns:get(args.id)) end
    end
  end)
  t.send = own_send
  if not ok then return fail(ierr) end
  return reply(200, { ok = true, count = count, first = first, last = last, ids = ids, streamed = streamed })
end

routes["/export"] = function(args)
  local c, err = client().campaigns:get(args.id)
  if not c then return fail(err) end
  local e, eerr = c:export{ fileFormat = args.format or "csv" }
  if not e then return fail(eerr) end
  local w, werr = e:wait{ timeout = 30, interval = 0.2 }
  if not w then return fail(werr) end
  local path, bytes = e:download(args.file)
  if not path then return fail(bytes) end
  return reply(200, { ok = true, path = path, bytes = bytes })
end

-- JSON null under cosockets: nil in objects, scravio.null in arrays, and the
-- answer's request id through client:last_response().
routes["/nulls"] = function(args)
  local c = client()
  local obj, err = c.campaigns:get(args.id)
  if not obj then return fail(err) end
  local data = obj:data()
  local meta = c:last_response() or {}
  return reply(200, { ok = true, completed_nil = obj.completedAt == nil,
    used_nil = obj.creditSettlement.creditUsed == nil, n = #obj.inputs.hashtags,
    second_is_null = obj.inputs.hashtags[2] == scravio.null, data_has_key = data.completedAt ~= nil,
    status = obj.status, request_id = meta.request_id })
end

-- download_url() under cosockets: the URL string first, then the answer's table.
routes["/download_url"] = function(args)
  local c, err = client().campaigns:get(args.id)
  if not c then return fail(err) end
  local e, eerr = c:export{ fileFormat = "csv" }
  if not e then return fail(eerr) end
  local w, werr = e:wait{ timeout = 30, interval = 0.2 }
  if not w then return fail(werr) end
  local url, info = e:download_url()
  if not url then return fail(info) end
  return reply(200, { ok = true, url_type = type(url), url = url, info_url = info.downloadUrl,
    filename = info.filename })
end

routes["/download"] = function(args)
  -- The transport's download on its own, for a URL the spec chose.
  local c = client(args.client)
  local bytes, status = c._transport:download(args.url, args.file, false, tonumber(args.timeout))
  if not bytes then return fail(status) end
  return reply(200, { ok = true, bytes = bytes, status = status })
end

routes["/upload"] = function()
  local req = body_json()
  local svc = client().validation_jobs
  local job, err = svc:submit_file(req.file, { column = req.column })
  if not job then return fail(err) end
  return reply(200, { ok = true, id = job.id, status = job.status })
end

routes["/put"] = function(args)
  -- The transport's upload on its own, for a URL the spec chose.
  local c = client(args.client)
  local status, err = c._transport:upload(args.url, args.file, args.type, false, tonumber(args.timeout))
  if not status then return fail(err) end
  return reply(200, { ok = true, status = status })
end

routes["/probe"] = function(args)
  -- Any API call, reporting the error object's fields (compared with libcurl's).
  local c = client(args.client)
  local value, err = c:request(args.method or "GET", args.path, { max_retries = 0 })
  if value == nil then return fail(err) end
  return reply(200, { ok = true })
end

-- A slow upstream call (the fake server delays it) that marks the shared
-- dict before and after: while `key` reads "started", the call is in flight.
routes["/slow"] = function(args)
  local key = args.key or "slow"
  dict:set(key, "started")
  local c = client(args.client)
  local me, err = c:me()
  dict:set(key, "done")
  if not me then return fail(err) end
  return reply(200, { ok = true })
end

-- Answers at once with what /slow's flag says, after an SDK call of its own.
routes["/quick"] = function(args)
  local seen = dict:get(args.key or "slow")
  local page, err = client().campaigns:list{ perPage = 1 }
  if not page then return fail(err) end
  return reply(200, { ok = true, seen = seen, after = dict:get(args.key or "slow") })
end

routes["/timer"] = function()
  local key = "timer:" .. ngx.now() .. ":" .. math.random(1e9)
  local ok, terr = ngx.timer.at(0, function(premature)
    if premature then return end
    local me, err = client():me()
    dict:set(key, json.encode(me and { ok = true, credits = me.credits } or { ok = false, err = error_fields(err) }))
  end)
  if not ok then return reply(500, { ok = false, message = terr }) end
  for _ = 1, 1000 do
    local v = dict:get(key)
    if v then return reply(200, json.decode(v)) end
    ngx.sleep(0.01)
  end
  return reply(500, { ok = false, message = "the timer never finished" })
end

-- One hostile-server case (spec/hostile_spec.lua) on the cosocket transport:
-- POST {case = {client =, calls =, api_prefix =}, base_url =, dir =, log_file =}.
routes["/hostile"] = function()
  local req = body_json()
  local outcomes = require("spec.support.hostile_run").run(req.case,
    { base_url = req.base_url, dir = req.dir, log_file = req.log_file, transport = "ngx" })
  return reply(200, { ok = true, outcomes = outcomes })
end

routes["/stats"] = function(args)
  local t = client(args.client)._transport
  return reply(200, { ok = true, stats = t.stats or {} })
end

routes["/new"] = function(args)
  -- scravio.new with options the ngx transport must refuse.
  local opts = { base_url = config.base_url, api_key = config.api_key }
  if args.opt == "ssl_verify" then opts.ssl_verify = false end
  if args.opt == "proxy" then opts.proxy = "http://127.0.0.1:3128" end
  local c, err = scravio.new(opts)
  if c then return reply(200, { ok = true }) end
  return fail(err)
end

function M.content()
  local route = routes[ngx.var.uri]
  if not route then return reply(404, { ok = false, message = "no route " .. ngx.var.uri }) end
  local ok, err = pcall(route, ngx.req.get_uri_args())
  if not ok then
    ngx.log(ngx.ERR, "handler failed: ", tostring(err))
    return reply(500, { ok = false, crashed = true, message = tostring(err) })
  end
end

return M
