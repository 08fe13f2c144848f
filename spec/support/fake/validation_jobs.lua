-- Standalone email validation jobs: pasted lists (POST /validation-jobs/text)
-- and the three-step file flow (ticket -> PUT to storage -> process -> confirm).
--
-- Pricing: 1 credit per unique email, reserved (and charged) when the job is
-- created as one EMAIL_VALIDATION_DEDUCTION entry.  Lifecycle over job_seconds
-- (captured at creation): initial status (text: pending, file: queued) for the
-- first 10%, then processing (processedCount grows), then completed.
-- Verdicts are deterministic: an address is invalid when its syntax is bad,
-- its local part contains "invalid" or "bounce", or its domain ends in
-- ".invalid"; every other address is valid.
-- Idempotency: one idempotencyKey per account names one upload ticket; the
-- parse and the job hang off that ticket, so retrying any step returns the
-- same object and a job is never charged twice.
local S = require "fake.state"
local clock = require "fake.clock"
local config = require "fake.config"
local ids = require "fake.ids"
local http = require "fake.http"
local json = require "fake.json"
local util = require "fake.util"
local query = require "fake.query"
local ledger = require "fake.ledger"
local ratelimit = require "fake.ratelimit"
local storage = require "fake.storage"

local M = {}
local null = json.null
local floor, min = math.floor, math.min

M.MAX_EMAILS = 5000
M.ALLOWED_TYPES = { "text/csv", "text/plain", "application/csv", "application/vnd.ms-excel", "application/octet-stream" }
M.STATUSES = { "pending", "parsing", "queued", "processing", "completed", "failed" }
local ACTIVE = { pending = true, parsing = true, queued = true, processing = true }

local EMAIL_PAT = "^[^%s@,;\"<>]+@[^%s@,;\"<>]+%.[%a][%w%-]*$"
function M.email_like(s) return type(s) == "string" and s:match(EMAIL_PAT) ~= nil end

-- verdict(email) -> valid (bool), reason
function M.verdict(e)
  local lower = e:lower()
  if not M.email_like(lower) then return false, "invalid_syntax" end
  local localpart, domain = lower:match("^(.*)@(.*)$")
  if domain:match("%.invalid$") then return false, "domain_not_found" end
  if localpart:find("invalid", 1, true) or localpart:find("bounce", 1, true) then return false, "mailbox_not_found" end
  return true, "deliverable"
end

-- state -------------------------------------------------------------------------

local function state(j, now)
  if j.completed_at then return "completed", j.total end
  local u = j.duration <= 0 and 1 or (now - j.created) / j.duration
  if u < 0.1 then return j.initial, 0 end
  if u < 1 then return "processing", floor(j.total * (u - 0.1) / 0.9) end
  return "completed", j.total
end

local function counts(j, processed)
  local v = j.valid_prefix[processed] or 0
  return v, processed - v
end

local function results_path(j) return "/scravio-results/validation/" .. j.owner .. "/" .. j.id .. "/results.csv" end

local function complete(j, at)
  j.completed_at = at
  local rows = { "email,status,isValid,reason\r\n" }
  for i, e in ipairs(j.emails) do
    local ok, reason = M.verdict(e)
    rows[i + 1] = string.format("%s,%s,%s,%s\r\n", e:find('[,"]') and ('"' .. e:gsub('"', '""') .. '"') or e,
      ok and "valid" or "invalid", ok and "true" or "false", reason)
  end
  local data = table.concat(rows)
  storage.put_object(results_path(j), { data = data, ctype = "text/csv; charset=utf-8",
    filename = "validation-results-" .. j.id .. ".csv", etag = ngx.md5(data) })
  S.active.jobs[j] = nil
end

function M.due(now, out)
  for j in pairs(S.active.jobs) do
    if state(j, now) == "completed" then
      out[#out + 1] = { at = j.created + j.duration, fn = function() complete(j, j.created + j.duration) end }
    end
  end
end

local function download_url(j)
  return (storage.presign("GET", results_path(j), config.values.url_ttl))
end

local function view(j, now, detail)
  local st, processed = state(j, now)
  local valid, invalid = counts(j, processed)
  local o = {
    jobId = j.id, status = st, totalEmails = j.total, processedCount = processed,
    validCount = valid, invalidCount = invalid, createdAt = clock.iso(j.created),
    completedAt = j.completed_at and clock.iso(j.completed_at) or null,
  }
  if detail then
    o.statusReason = null
    o.externalRequestId = "ext_" .. j.id:sub(-12)
    o.updatedAt = clock.iso(j.completed_at or math.max(now, j.created))
    if st == "completed" then o.downloadUrl = download_url(j) end   -- only present when completed
  else
    o.downloadUrl = st == "completed" and download_url(j) or null
  end
  return o
end

local function owned(acct, id)
  local j = S.jobs[id]
  if not j or j.owner ~= acct.id then http.not_found("Validation job") end
  return j
end

local function has_active(acct, now)
  for _, j in ipairs(S.job_list) do
    if j.owner == acct.id and ACTIVE[(state(j, now))] then return j end
  end
  return nil
end

-- create(acct, emails, initial, source) -> job (charges credits)
local function create(acct, emails, initial, source)
  local now = clock.now()
  local n = #emails
  local j = { id = ids.object_id(), owner = acct.id, emails = emails, total = n, initial = initial,
              created = now, duration = config.values.job_seconds, source = source, reserved = n,
              valid_prefix = { [0] = 0 } }
  local v = 0
  for i, e in ipairs(emails) do
    if M.verdict(e) then v = v + 1 end
    j.valid_prefix[i] = v
  end
  S.jobs[j.id] = j
  S.job_list[#S.job_list + 1] = j
  ledger.apply(acct, -n, "EMAIL_VALIDATION_DEDUCTION",
    string.format("Email validation job (%s): %d emails", source, n),
    { correlationId = "vjob_" .. j.id, metadata = { validationJobId = j.id, emails = n, source = source } })
  S.active.jobs[j] = true
  return j
end

local function check_can_create(acct, n)
  local now = clock.now()
  if has_active(acct, now) then
    http.raise(409, "ACTIVE_JOB_EXISTS",
      "A validation job is already running for this account; wait for it to finish before submitting another")
  end
  if acct.credits < n then
    http.raise(400, "INSUFFICIENT_CREDITS",
      string.format("Insufficient credits: %d required, %d available", n, acct.credits))
  end
end

-- dedupe(list) -> unique (first spelling kept), duplicates removed
local function dedupe(list)
  local seen, out, dups = {}, {}, 0
  for _, e in ipairs(list) do
    local k = e:lower()
    if seen[k] then dups = dups + 1 else seen[k] = true; out[#out + 1] = e end
  end
  return out, dups
end

-- handlers ------------------------------------------------------------------------

-- POST /validation-jobs/text   (201; 3/hour)
function M.text(ctx, acct)
  ratelimit.check("text_job", acct)
  local body = ctx:json_body()
  local raw = body.emails
  local list = {}
  local function bad(msg) http.validation({ { param = "emails", msg = msg } }) end
  if raw == nil or raw == null then bad("emails is required") end
  if type(raw) == "string" then
    for part in raw:gmatch("[^,;\r\n]+") do
      part = util.trim(part)
      if part ~= "" then list[#list + 1] = part end
    end
  elseif type(raw) == "table" then
    for i, v in ipairs(raw) do
      if type(v) ~= "string" then bad("emails[" .. (i - 1) .. "] must be a string") end
      v = util.trim(v)
      if v ~= "" then list[#list + 1] = v end
    end
    if next(raw) ~= nil and #raw == 0 then bad("emails must be an array of strings or a comma-separated string") end
  else
    bad("emails must be an array of strings or a comma-separated string")
  end
  local unique = dedupe(list)
  if #unique < 1 then bad("At least 1 email is required") end
  if #unique > M.MAX_EMAILS then
    bad(string.format("At most %d emails per job after deduplication (got %d)", M.MAX_EMAILS, #unique))
  end
  check_can_create(acct, #unique)
  local j = create(acct, unique, "pending", "text")
  return http.ok(201, { success = true, requestId = ctx.rid, data = {
    jobId = j.id, status = "pending", createdAt = clock.iso(j.created), creditsUsed = j.reserved, totalEmails = j.total,
  } })
end

local function ticket_view(t)
  return { uploadId = t.id, key = t.key, uploadUrl = t.url, expiresAt = clock.iso(t.expires),
           maxSizeBytes = t.max, allowedContentTypes = M.ALLOWED_TYPES }
end

local function require_string(body, name, errs, max)
  local v = body[name]
  if v == nil or v == null or v == "" then errs[#errs + 1] = { param = name, msg = name .. " is required" }
  elseif type(v) ~= "string" then errs[#errs + 1] = { param = name, msg = name .. " must be a string" }
  elseif max and #v > max then errs[#errs + 1] = { param = name, msg = name .. " must be at most " .. max .. " characters" }
  else return v end
  return nil
end

-- POST /validation-jobs/file   (201; same idempotencyKey -> same ticket)
function M.file(ctx, acct)
  local body = ctx:json_body()
  local errs = {}
  local filename = require_string(body, "filename", errs, 255)
  require_string(body, "contentType", errs, 255)
  local idem = require_string(body, "idempotencyKey", errs, 255)
  local max = config.values.upload_max_bytes
  local size = body.sizeBytes
  if size == nil or size == null then errs[#errs + 1] = { param = "sizeBytes", msg = "sizeBytes is required" }
  elseif not util.is_integer(size) or size < 1 then errs[#errs + 1] = { param = "sizeBytes", msg = "sizeBytes must be a positive integer" }
  elseif size > max then errs[#errs + 1] = { param = "sizeBytes", msg = "File is too large (max " .. max .. " bytes)" } end
  if filename and not (filename:lower():match("%.csv$") or filename:lower():match("%.txt$")) then
    errs[#errs + 1] = { param = "filename", msg = "Only .csv and .txt files are accepted" }
  end
  if #errs > 0 then http.validation(errs) end
  local k = acct.id .. "\0" .. idem
  local t = S.upload_by_idem[k]
  if not t then
    local id = ids.prefixed("upl")
    local key = "private/validation-uploads/" .. acct.id .. "/" .. id .. "/" .. util.slug(filename:gsub("%.%w+$", ""), 60)
      .. (filename:lower():match("%.txt$") and ".txt" or ".csv")
    local path = "/scravio-private/" .. key
    local url, expires = storage.presign("PUT", path, config.values.upload_url_ttl)
    t = { id = id, owner = acct.id, key = key, path = path, url = url, expires = expires, max = max,
          filename = filename, idem = idem, size = size }
    S.uploads[id] = t
    S.upload_by_idem[k] = t
  end
  return http.ok(201, { success = true, data = ticket_view(t) })
end

-- CSV / TXT parsing -----------------------------------------------------------------

local function split_line(line, delim)
  local out, i, n = {}, 1, #line
  local field, inq = {}, false
  while i <= n do
    local ch = line:sub(i, i)
    if inq then
      if ch == '"' then
        if line:sub(i + 1, i + 1) == '"' then field[#field + 1] = '"'; i = i + 1 else inq = false end
      else field[#field + 1] = ch end
    elseif ch == '"' then inq = true
    elseif ch == delim then out[#out + 1] = table.concat(field); field = {}
    else field[#field + 1] = ch end
    i = i + 1
  end
  out[#out + 1] = table.concat(field)
  return out
end

local function parse_file(data)
  data = data:gsub("^\239\187\191", "")           -- UTF-8 BOM
  local lines = {}
  for line in (data .. "\n"):gmatch("([^\n]*)\n") do
    line = line:gsub("\r$", "")
    if util.trim(line) ~= "" then lines[#lines + 1] = line end
  end
  local first = lines[1] or ""
  local delim = ","
  local best = select(2, first:gsub(",", ""))
  for _, d in ipairs({ ";", "\t" }) do
    local c = select(2, first:gsub(d, ""))
    if c > best then best, delim = c, d end
  end
  local rows = {}
  for i, l in ipairs(lines) do rows[i] = split_line(l, delim) end
  local header
  if rows[1] then
    local any_email = false
    for _, v in ipairs(rows[1]) do if M.email_like(util.trim(v)) then any_email = true end end
    if not any_email then header = table.remove(rows, 1) end
  end
  local ncols = 0
  for _, r in ipairs(rows) do if #r > ncols then ncols = #r end end
  if header and #header > ncols then ncols = #header end
  local cols, used = {}, {}
  for c = 1, ncols do
    local label = header and header[c] and util.trim(header[c]) ~= "" and util.trim(header[c]) or ("Column " .. c)
    local key = header and util.slug(label, 40):gsub("%-", "_") or ("column_" .. c)
    if used[key] then key = key .. "_" .. c end
    used[key] = true
    local emails, like = {}, 0
    for _, r in ipairs(rows) do
      local v = r[c] and util.trim(r[c]) or ""
      if M.email_like(v) then like = like + 1; emails[#emails + 1] = v end
    end
    cols[c] = { key = key, label = label, emailLikeCount = like, emails = emails, index = c }
  end
  local rec
  for _, col in ipairs(cols) do
    if col.emailLikeCount > 0 and (not rec or col.emailLikeCount > rec.emailLikeCount) then rec = col end
  end
  return { rows = rows, cols = cols, rec = rec }
end

local function column_stats(parsed, col)
  local unique, dups = dedupe(col and col.emails or {})
  local invalid = 0
  for _, r in ipairs(parsed.rows) do
    local v = col and r[col.index] and util.trim(r[col.index]) or ""
    if not M.email_like(v) then invalid = invalid + 1 end
  end
  return unique, dups, invalid
end

local function parse_view(p)
  local cols = {}
  for i, c in ipairs(p.cols) do cols[i] = { key = c.key, label = c.label, emailLikeCount = c.emailLikeCount } end
  return {
    parseId = p.id, status = "parsed", totalEmails = #p.unique, totalRows = p.total_rows,
    duplicatesRemoved = p.dups, invalidRows = p.invalid_rows, estimatedCredits = #p.unique,
    columns = json.arr(cols), recommendedColumn = p.rec and p.rec.key or null,
  }
end

-- POST /validation-jobs/file/process  (200; idempotent per ticket)
function M.process(ctx, acct)
  local body = ctx:json_body()
  local errs = {}
  local upload_id = require_string(body, "uploadId", errs)
  local key = require_string(body, "key", errs)
  require_string(body, "filename", errs, 255)
  local idem = require_string(body, "idempotencyKey", errs)
  if #errs > 0 then http.validation(errs) end
  local t = S.uploads[upload_id]
  if not t or t.owner ~= acct.id then http.not_found("Upload") end
  if key ~= t.key then http.validation({ { param = "key", msg = "key does not match the upload ticket" } }) end
  if idem ~= t.idem then
    http.validation({ { param = "idempotencyKey", msg = "idempotencyKey does not match the upload ticket" } })
  end
  if t.parse then return http.ok(200, { success = true, data = parse_view(t.parse) }) end
  local obj = storage.get_object(t.path)
  if not obj or not obj.data then
    http.raise(400, "UPLOAD_NOT_FOUND", "The file has not been uploaded to the upload URL yet")
  end
  if #obj.data > t.max then http.raise(400, "FILE_TOO_LARGE", "The uploaded file exceeds " .. t.max .. " bytes") end
  local parsed = parse_file(obj.data)
  local unique, dups, invalid = column_stats(parsed, parsed.rec)
  local p = { id = ids.prefixed("parse"), owner = acct.id, upload = t, cols = parsed.cols, rec = parsed.rec,
              parsed = parsed, unique = unique, dups = dups, invalid_rows = invalid, total_rows = #parsed.rows }
  t.parse = p
  S.parses[p.id] = p
  return http.ok(200, { success = true, data = parse_view(p) })
end

-- POST /validation-jobs/file/confirm  (201; same key -> same job, one charge)
function M.confirm(ctx, acct)
  local body = ctx:json_body()
  local errs = {}
  local parse_id = require_string(body, "parseId", errs)
  local idem = require_string(body, "idempotencyKey", errs)
  local sel = body.selectedColumn
  if sel ~= nil and sel ~= null and type(sel) ~= "string" then
    errs[#errs + 1] = { param = "selectedColumn", msg = "selectedColumn must be a string" }
  end
  if #errs > 0 then http.validation(errs) end
  local p = S.parses[parse_id]
  if not p or p.owner ~= acct.id then http.not_found("Parse result") end
  if idem ~= p.upload.idem then
    http.validation({ { param = "idempotencyKey", msg = "idempotencyKey does not match the upload" } })
  end
  if p.job then
    local j = p.job
    return http.ok(201, { success = true, data = { jobId = j.id, status = (state(j, clock.now())),
                                                   totalEmails = j.total, creditsReserved = j.reserved } })
  end
  local col = p.rec
  if type(sel) == "string" and sel ~= "" then
    col = nil
    for _, c in ipairs(p.cols) do if c.key == sel then col = c end end
    if not col then http.validation({ { param = "selectedColumn", msg = "Unknown column: " .. sel } }) end
  end
  local unique = column_stats(p.parsed, col)
  if #unique == 0 then
    http.validation({ { param = "selectedColumn", msg = "The selected column contains no email addresses" } })
  end
  if #unique > M.MAX_EMAILS then
    http.validation({ { param = "selectedColumn", msg = "At most " .. M.MAX_EMAILS .. " emails per job" } })
  end
  check_can_create(acct, #unique)
  local j = create(acct, unique, "queued", "file")
  p.job = j
  return http.ok(201, { success = true, data = { jobId = j.id, status = "queued", totalEmails = j.total,
                                                 creditsReserved = j.reserved } })
end

-- GET /validation-jobs
function M.list(ctx, acct)
  local qr = query.reader(ctx)
  local page = qr:int("page", 1, 1)
  local limit = qr:int("limit", 10, 1, 100)
  local status = qr:enum("status", M.STATUSES)
  local from, to = qr:date_range()
  local sortBy = qr:enum("sortBy", { "createdAt", "completedAt" }, "createdAt")
  local desc = qr:enum("order", { "asc", "desc" }, "desc") == "desc"
  qr:finish()
  local now = clock.now()
  local rows = {}
  for i, j in ipairs(S.job_list) do
    if j.owner == acct.id and (not status or (state(j, now)) == status)
      and (not from or j.created >= from) and (not to or j.created <= to) then
      rows[#rows + 1] = { j = j, seq = i, k = sortBy == "completedAt" and (j.completed_at or -1) or j.created }
    end
  end
  table.sort(rows, function(a, b)
    if a.k == b.k then if desc then return a.seq > b.seq end return a.seq < b.seq end
    if desc then return a.k > b.k end
    return a.k < b.k
  end)
  local items = {}
  for i = (page - 1) * limit + 1, min(#rows, page * limit) do items[#items + 1] = view(rows[i].j, now, false) end
  return http.ok(200, { success = true, data = { jobs = json.arr(items), total = #rows, page = page,
                                                 pages = util.pages(#rows, limit) }, requestId = ctx.rid })
end

-- GET /validation-jobs/{id}
function M.get(ctx, acct, id)
  local j = owned(acct, id)
  return http.ok(200, { success = true, data = view(j, clock.now(), true), requestId = ctx.rid })
end

-- GET /validation-jobs/{id}/download   (404 until completed)
function M.download(ctx, acct, id)
  local j = owned(acct, id)
  if state(j, clock.now()) ~= "completed" then
    http.raise(404, "RESULTS_NOT_READY", "Validation results are available once the job is completed")
  end
  return http.ok(200, { success = true, data = { downloadUrl = download_url(j), expiresIn = config.values.url_ttl },
                        requestId = ctx.rid })
end

return M
