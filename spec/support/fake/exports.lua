-- List exports: CSV or XLSX files of a campaign's leads.
--
-- An export snapshots the campaign's lead counters when it is created, runs for
-- export_seconds (pending for the first 20%, then processing with progress),
-- and on completion gets a storage object whose bytes are generated on demand
-- (its size, and the XLSX sheet CRC, are computed once at completion by a dry
-- run of the generator).  Idempotency follows the reference: a pending or
-- processing export with the same campaign + options is returned again (201);
-- a completed one is reused with 200 while the campaign's data is unchanged.
-- A campaign whose title contains "[export-fail]" produces failed exports.
local S = require "fake.state"
local clock = require "fake.clock"
local config = require "fake.config"
local ids = require "fake.ids"
local http = require "fake.http"
local json = require "fake.json"
local util = require "fake.util"
local query = require "fake.query"
local ratelimit = require "fake.ratelimit"
local storage = require "fake.storage"
local campaigns = require "fake.campaigns"
local leads = require "fake.leads"
local xlsx = require "fake.xlsx"

local M = {}
local null = json.null
local floor, min = math.floor, math.min

M.STATUSES = { "pending", "processing", "completed", "failed" }
local CT = { csv = "text/csv; charset=utf-8",
             xlsx = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" }

local function state(e, now)
  if e.done then return e.done, 100 end
  local u = e.duration <= 0 and 1 or (now - e.created) / e.duration
  if u < 0.2 then return "pending", 0 end
  if u < 1 then return "processing", floor(100 * (u - 0.2) / 0.8) end
  return e.fail and "failed" or "completed", 100
end

-- generators -------------------------------------------------------------------

local function rows_each(e, fn)
  local streams = leads.streams(e.snap, e.filters, false)
  leads.each(e.info, streams, fn)
end

local function csv_gen(e)
  return function(emit)
    emit(table.concat(leads.CSV_COLUMNS, ",") .. "\r\n")
    local buf, n = {}, 0
    rows_each(e, function(l)
      n = n + 1
      buf[n] = leads.csv_row(l)
      if n >= 512 then emit(table.concat(buf)); buf, n = {}, 0 end
    end)
    if n > 0 then emit(table.concat(buf)) end
  end
end

local function xlsx_rows(e)
  return function(emit)
    emit(xlsx.row_xml(1, leads.CSV_COLUMNS))
    local buf, n, r = {}, 0, 1
    rows_each(e, function(l)
      r = r + 1; n = n + 1
      local vals = leads.row_values(l)
      for i = 1, #vals do if vals[i] == null or vals[i] == nil then vals[i] = "" end end
      buf[n] = xlsx.row_xml(r, vals)
      if n >= 256 then emit(table.concat(buf)); buf, n = {}, 0 end
    end)
    if n > 0 then emit(table.concat(buf)) end
  end
end

local function complete(e, at)
  local status = e.fail and "failed" or "completed"
  e.done, e.completed_at = status, at
  S.active.exports[e] = nil
  if status == "failed" then
    e.reason = "Simulated export failure ([export-fail] in the campaign title)"
    return
  end
  local obj
  if e.format == "xlsx" then
    local lay = xlsx.layout(xlsx_rows(e), "Leads")
    obj = { size = lay.size, gen = lay.gen, ctype = CT.xlsx, filename = e.filename, etag = string.format("%08x", lay.crc) }
  else
    local gen = csv_gen(e)
    local size = 0
    gen(function(s) size = size + #s; return true end)
    obj = { size = size, gen = gen, ctype = CT.csv, filename = e.filename, etag = e.id }
  end
  e.size = obj.size
  storage.put_object(e.path, obj)
end

function M.due(now, out)
  for e in pairs(S.active.exports) do
    local st = state(e, now)
    if st == "completed" or st == "failed" then
      out[#out + 1] = { at = e.created + e.duration, fn = function() complete(e, e.created + e.duration) end }
    end
  end
end

-- views ------------------------------------------------------------------------

local function view(e, now, full)
  local st, progress = state(e, now)
  local done = st == "completed"
  local o = {
    exportId = e.id, status = st, progress = progress, isEmailOnly = e.emailOnly,
    onlyValidEmails = e.onlyValid, fileFormat = e.format, createdAt = clock.iso(e.created),
    completedAt = e.completed_at and clock.iso(e.completed_at) or null,
  }
  if full then
    o.campaignId = e.campaign_id
    o.filename = done and e.filename or null
    o.totalRecords = done and e.total or 0
    o.fileSize = done and e.size or null
  end
  return o
end

local function owned(acct, id)
  local e = S.exports[id]
  if not e or e.owner ~= acct.id then http.not_found("Export") end
  return e
end

-- new_export(acct, c, opts) -> e  (also used by seed_export)
function M.new_export(acct, c, opts)
  local now = clock.now()
  local id = ids.object_id()
  local snap = campaigns.snapshot_now(c, now)
  local info = campaigns.lead_info(c, acct)
  info.validated = snap.validated
  local filters = { hasEmail = opts.emailOnly and true or nil, validationStatus = opts.onlyValid and "valid" or nil }
  local filename = string.format("%s-%s-%s.%s", util.slug(c.title, 40), opts.emailOnly and "emails" or "leads",
    os.date("!%Y%m%d", floor(now)), opts.format)
  local e = {
    id = id, owner = acct.id, campaign_id = c.id, emailOnly = opts.emailOnly == true, onlyValid = opts.onlyValid == true,
    format = opts.format, created = now, duration = opts.duration or config.values.export_seconds,
    snap = snap, sig = campaigns.data_signature(snap), info = info, filters = filters,
    total = leads.total(leads.streams(snap, filters, false)),
    filename = filename, fail = c.title:find("[export-fail]", 1, true) ~= nil,
  }
  e.path = "/scravio-exports/" .. acct.id .. "/" .. id .. "/" .. filename
  S.exports[id] = e
  S.export_list[#S.export_list + 1] = e
  S.active.exports[e] = true
  return e
end

-- handlers ---------------------------------------------------------------------

-- POST /list-exports   (201 new / in progress, 200 reused; 5/hour)
function M.create(ctx, acct)
  ratelimit.check("list_exports", acct)
  local body = ctx:json_body()
  local errs = {}
  local cid = body.campaignId
  if cid == nil or cid == null or cid == "" then errs[#errs + 1] = { param = "campaignId", msg = "campaignId is required" }
  elseif type(cid) ~= "string" then errs[#errs + 1] = { param = "campaignId", msg = "campaignId must be a string" } end
  for _, f in ipairs({ "emailOnly", "onlyValidEmails" }) do
    if body[f] ~= nil and body[f] ~= null and type(body[f]) ~= "boolean" then
      errs[#errs + 1] = { param = f, msg = f .. " must be a boolean" }
    end
  end
  local fmt = body.fileFormat
  if fmt == nil or fmt == null then fmt = "csv"
  elseif fmt ~= "csv" and fmt ~= "xlsx" then errs[#errs + 1] = { param = "fileFormat", msg = "fileFormat must be csv or xlsx" } end
  if #errs > 0 then http.validation(errs) end
  local c = campaigns.owned(acct, cid)
  local opts = { emailOnly = body.emailOnly == true, onlyValid = body.onlyValidEmails == true, format = fmt }
  local now = clock.now()
  local sig = campaigns.data_signature(campaigns.snapshot_now(c, now))
  for i = #S.export_list, 1, -1 do
    local e = S.export_list[i]
    if e.owner == acct.id and e.campaign_id == c.id and e.emailOnly == opts.emailOnly
      and e.onlyValid == opts.onlyValid and e.format == fmt then
      local st = state(e, now)
      if st == "pending" or st == "processing" then
        return http.ok(201, { success = true, data = view(e, now, false), requestId = ctx.rid })
      elseif st == "completed" and e.sig == sig then
        return http.ok(200, { success = true, data = view(e, now, false), requestId = ctx.rid })
      end
    end
  end
  local e = M.new_export(acct, c, opts)
  return http.ok(201, { success = true, data = view(e, now, false), requestId = ctx.rid })
end

-- GET /list-exports
function M.list(ctx, acct)
  local qr = query.reader(ctx)
  local page = qr:int("page", 1, 1)
  local per = qr:int("perPage", 10, 1, 100)
  local cid = qr:str("campaignId")
  local status = qr:enum("status", M.STATUSES)
  local sortBy = qr:enum("sortBy", { "createdAt", "completedAt", "status" }, "createdAt")
  local desc = qr:enum("order", { "asc", "desc" }, "desc") == "desc"
  qr:finish()
  local now = clock.now()
  local rows = {}
  for i, e in ipairs(S.export_list) do
    local st = state(e, now)
    if e.owner == acct.id and (not cid or e.campaign_id == cid) and (not status or st == status) then
      local k = sortBy == "completedAt" and (e.completed_at or -1) or (sortBy == "status" and st or e.created)
      rows[#rows + 1] = { e = e, seq = i, k = k }
    end
  end
  table.sort(rows, function(a, b)
    if a.k == b.k then if desc then return a.seq > b.seq end return a.seq < b.seq end
    if desc then return a.k > b.k end
    return a.k < b.k
  end)
  local items = {}
  for i = (page - 1) * per + 1, min(#rows, page * per) do items[#items + 1] = view(rows[i].e, now, true) end
  return http.ok(200, { success = true, data = { exports = json.arr(items), pagination = query.pagination(#rows, page, per) },
                        requestId = ctx.rid })
end

-- GET /list-exports/{id}/download   (400 until completed)
function M.download(ctx, acct, id)
  local e = owned(acct, id)
  local st = state(e, clock.now())
  if st == "failed" then
    http.raise(400, "EXPORT_FAILED", "Export failed: " .. (e.reason or "unknown error"))
  elseif st ~= "completed" then
    http.raise(400, "EXPORT_NOT_READY", "Export is not completed yet (status: " .. st .. ")")
  end
  local url = storage.presign("GET", e.path, config.values.url_ttl)
  return http.ok(200, { success = true, data = { downloadUrl = url, filename = e.filename }, requestId = ctx.rid })
end

-- A completed export of exactly `bytes` bytes of CSV-looking data, generated on
-- the fly from one precomputed 1 MiB block (header + repeated rows, cut at
-- `bytes`), for download benchmarks.
function M.seed(acct, c, bytes, filename)
  local e = M.new_export(acct, c, { format = "csv", duration = 0 })
  S.active.exports[e] = nil
  e.done, e.completed_at = "completed", e.created
  e.filename = filename or ("seeded-export-" .. bytes .. ".csv")
  e.path = "/scravio-exports/" .. acct.id .. "/" .. e.id .. "/" .. e.filename
  local header = "id,email,username,fullName,followerCount\r\n"
  local rows = {}
  local len, i = 0, 0
  while len < 1048576 do
    i = i + 1
    local r = string.format("%08d,user%08d@example.com,user%08d,User %08d,%d\r\n", i, i, i, i, (i * 7919) % 100000)
    rows[#rows + 1] = r
    len = len + #r
  end
  local block = table.concat(rows):sub(1, 1048576)
  local gen = function(emit)
    local left = bytes
    local first = header:sub(1, left)
    emit(first); left = left - #first
    while left > 0 do
      local n = min(left, #block)
      emit(n == #block and block or block:sub(1, n))
      left = left - n
    end
  end
  e.size = bytes
  e.total = floor(bytes / 60)
  storage.put_object(e.path, { size = bytes, gen = gen, ctype = CT.csv, filename = e.filename, etag = e.id })
  return e
end

return M
