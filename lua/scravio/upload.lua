--- client.validation_jobs:submit_file(path, opts) --> ValidationJob | nil, err
--
-- The four steps of a file validation, as one call:
--   1. POST /validation-jobs/file          upload ticket (filename, contentType, sizeBytes)
--   2. PUT  <ticket.uploadUrl>             the file, streamed from disk by the transport,
--                                          with no X-API-Key / Authorization / X-Workspace-Id
--   3. POST /validation-jobs/file/process  parse review (columns, recommendedColumn)
--   4. POST /validation-jobs/file/confirm  creates the job and reserves credits
--      (after the max_credits / confirm guard on the review's estimatedCredits)
-- One idempotencyKey (core.uuid()) is used for steps 1, 3 and 4 and for every
-- retry of them, so a resent confirm can never charge twice.
--
-- opts:
--   column          the email column to validate, by key or by header label
--                   (a label is sent as its column's key), or a function
--                   (review) -> key|label|nil that sees the parse review
--                   (columns, recommendedColumn, totalRows ...) before the
--                   job is confirmed (nil: the default); default the
--                   review's recommendedColumn, or the only column. A
--                   column name the CSV file's own header line cannot have
--                   (by label, or a key made of one) is refused before
--                   anything is sent (kind "invalid"). What only the server
--                   knows (the review's columns: a column matching none of
--                   them, or several columns and no recommendation; a file
--                   over the ticket's maxSizeBytes) ends the call before
--                   confirm with err.kind "cancelled" and err.sent = true
--                   (requests went out; nothing was confirmed or charged;
--                   err.errors names the param, err.review holds the review).
--                   The ticket's maxSizeBytes is remembered on the client, so
--                   a later file over it is refused before sending.
--   content_type    default from the extension: .csv text/csv, .txt text/plain;
--                   text/csv when the name has no extension (the reference
--                   accepts CSV/TXT files and calls contentType advisory).
--                   Any other extension (.xlsx ...) is refused before any
--                   request unless content_type is given. The API validates
--                   the file name's extension, so a name without .csv/.txt
--                   is sent with one added (M.api_filename).
--   max_credits     refuse to confirm when the parse review's estimatedCredits
--                   (what confirm reserves) is more, or when the review names
--                   no estimate: err.kind "budget" (err.estimate,
--                   err.max_credits, err.review, err.sent = true), after
--                   process and before confirm, so nothing is charged.
--                   Client-side only; never sent.
--   confirm         function(review, {estimate=, max_credits=, column=}) asked
--                   before confirming (after the max_credits check): only
--                   true confirms; anything else -> err.kind "cancelled",
--                   nothing charged
--   progress        upload progress bar on stderr (drawn by C, TTY only)
--   timeout         seconds per attempt, as for every method: each attempt of the
--                   three API calls and each PUT attempt (default: the client's
--                   timeout for the API calls, none for the PUT); whatever it
--                   is, a PUT moving less than 1 KB/s for the client's timeout
--                   ends as stalled
--   deadline        seconds for the whole call: the three API calls, the PUT,
--                   every retry and its wait (default: the client's deadline
--                   if one was set)
--   idempotency_key reuse a key (to resume after an unknown outcome)
--   max_retries     retries on retryable failures, of the PUT and of the three
--                   API calls (default: the client's)
--   headers         extra headers for the three API calls (never sent to storage)
-- Unknown options and wrong types are refused (options.schemas.submit_file).
local budget = require("scravio.budget")
local core = require("scravio.core")
local errors = require("scravio.errors")
local options = require("scravio.options")
local request = require("scravio.request")
local runtime = require("scravio.runtime")

local M = {}

M.CONTENT_TYPES = { csv = "text/csv", txt = "text/plain" }
-- For a name without an extension: the reference's file types are CSV/TXT,
-- and contentType is "browser-reported ... advisory".
M.DEFAULT_CONTENT_TYPE = "text/csv"

local function invalid(param, msg)
  return nil, errors.invalid({ { param = param, location = "argument", msg = msg } }, "submit_file")
end

-- A refusal that only a server answer made possible (the ticket's
-- maxSizeBytes, the parse review's columns): requests were sent, so it is
-- not kind "invalid" ("nothing was sent") but "cancelled", like a confirm()
-- that says no, with sent = true. Nothing was confirmed, so nothing is charged.
local function stopped(err, fields)
  -- method/path: the request whose answer decided (default: process)
  local out = { errors = err.errors, sent = true, retryable = false, method = "POST",
    path = "/validation-jobs/file/process" }
  for k, v in pairs(fields or {}) do out[k] = v end
  return nil, errors.new("cancelled", err.message .. "; stopped before confirming: nothing was charged", out)
end

function M.basename(path)
  return path:match("([^/\\]+)$") or path
end

--- The file name the API is told: the API takes only .csv and .txt names
-- (it validates the extension), so any other name gets one, matching the
-- content type: "lua_AbC123" -> "lua_AbC123.csv", "leads.tsv" -> "leads.tsv.csv".
function M.api_filename(name, content_type)
  local ext = name:match("^.+%.([%w]+)$")
  if ext and M.CONTENT_TYPES[ext:lower()] then return name end
  return name .. (content_type == "text/plain" and ".txt" or ".csv")
end

--- The content type for a file name, from its extension: .csv text/csv,
-- .txt text/plain, no extension M.DEFAULT_CONTENT_TYPE; nil for any other
-- extension (a type the API does not take, such as .xlsx).
function M.content_type(name)
  local base = M.basename(name)
  local ext = base:match("^.+%.([%w]+)$") -- a leading dot (".hidden") is no extension
  if not ext then return M.DEFAULT_CONTENT_TYPE end
  return M.CONTENT_TYPES[ext:lower()]
end

--- Size of a readable regular file -> bytes | nil, message
function M.file_size(path)
  local f, oerr = io.open(path, "rb")
  if not f then return nil, oerr end
  local probe, rerr = f:read(1) -- a directory opens, but cannot be read
  if probe == nil and rerr then
    f:close()
    return nil, path .. ": " .. tostring(rerr)
  end
  local size = f:seek("end")
  f:close()
  if math.tointeger then size = math.tointeger(size) or size end
  return size
end

local function present(v)
  if v == nil or v == core.null then return nil end
  return v
end

local function trim(s) return (s:gsub("^%s+", ""):gsub("%s+$", "")) end

-- Which column to confirm. -> column key (may be nil: a plain list has no columns) | nil, err
-- wanted is matched against the review's column keys, then their labels
-- (exactly, then ignoring case and surrounding blanks); a label is answered
-- with its column's key, which is what confirm takes.
local function choose_column(review, wanted)
  local columns = type(review.columns) == "table" and review.columns or {}
  local keys, labels = {}, {}
  for i, col in ipairs(columns) do
    if type(col) == "table" then
      keys[i] = col.key
      labels[i] = type(col.label) == "string" and col.label or nil
    else
      keys[i] = col
    end
  end
  local function listing(which)
    local shown = {}
    for _, i in ipairs(which) do
      local s = string.format("%q", tostring(keys[i]))
      if labels[i] and labels[i] ~= keys[i] then s = s .. string.format(" (label %q)", labels[i]) end
      shown[#shown + 1] = s
    end
    return table.concat(shown, ", ")
  end
  local all = {}
  for i = 1, #keys do all[i] = i end
  local function refuse(fmt, ...)
    return nil, errors.invalid({ { param = "column", location = "argument",
      msg = string.format(fmt, ...) } }, "submit_file")
  end
  if wanted ~= nil then
    if #keys == 0 then return wanted end
    for _, k in ipairs(keys) do
      if k == wanted then return k end
    end
    local function by_label(same)
      local hits = {}
      for i = 1, #keys do
        if labels[i] and same(labels[i]) then hits[#hits + 1] = i end
      end
      return hits
    end
    local folded = type(wanted) == "string" and trim(wanted):lower() or nil
    local hits = by_label(function(l) return l == wanted end)
    if #hits == 0 then
      hits = by_label(function(l) return trim(l):lower() == folded end)
      if #hits == 0 then
        for i = 1, #keys do
          if type(keys[i]) == "string" and keys[i]:lower() == folded then hits[#hits + 1] = i end
        end
      end
    end
    if #hits == 1 then return keys[hits[1]] end
    if #hits > 1 then
      return refuse("column %q matches several of the file's columns: %s; pass one of their keys",
        tostring(wanted), listing(hits))
    end
    return refuse("column %q is not one of the file's columns (by key or label): %s", tostring(wanted),
      listing(all))
  end
  local rec = present(review.recommendedColumn)
  if rec ~= nil then return rec end
  if #keys == 1 then return keys[1] end
  if #keys == 0 then return nil end
  return refuse("the file has %d candidate email columns and no recommended one; pass column= (one of %s)",
    #keys, listing(all))
end
M.choose_column = choose_column

-- PUT the file to storage, retrying retryable failures (a PUT of the same
-- object is idempotent). -> status | nil, err
local function put(client, url, path, content_type, opts)
  local ok, aerr = client._core:allows_url(url)
  if not ok then return nil, aerr end
  local max_retries = opts.max_retries or client._max_retries or 0
  local deadline = request.deadline(client, nil, true) -- submit_file's (request.within)
  local attempt = 0
  while true do
    attempt = attempt + 1
    request.emit(client, { type = "upload", path = "(upload)", file = path, attempt = attempt })
    local status, err = client._transport:upload(url, path, content_type, opts.progress == true,
      request.transfer_timeout(client, opts.timeout, deadline))
    if status then return status end
    -- A Ctrl-C during the PUT: submit_file answers it (below), as for a sleep.
    if type(err) == "table" and err.interrupted then error(runtime.INTERRUPTED, 0) end
    -- A PUT of the same object is safe to resend.
    local again, gerr = request.transfer_retry(client, err, attempt, max_retries, "PUT", "(upload)", deadline)
    if not again then return nil, gerr end
  end
end

-- ---- What can be checked before anything is sent ----------------------------

M.HEADER_LIMIT = 65536 -- bytes read to find a CSV file's header line

-- The cells of a CSV line (quotes honoured, "" inside quotes is a quote).
local function csv_cells(line)
  local cells, i, n = {}, 1, #line
  while i <= n + 1 do
    if line:sub(i, i) == '"' then
      local buf, j = {}, i + 1
      while j <= n do
        local ch = line:sub(j, j)
        if ch == '"' then
          if line:sub(j + 1, j + 1) == '"' then buf[#buf + 1] = '"'; j = j + 2 else j = j + 1 break end
        else buf[#buf + 1] = ch; j = j + 1 end
      end
      cells[#cells + 1] = table.concat(buf)
      local comma = line:find(",", j, true)
      if not comma then break end
      i = comma + 1
    else
      local comma = line:find(",", i, true)
      cells[#cells + 1] = line:sub(i, (comma or n + 1) - 1)
      if not comma then break end
      i = comma + 1
    end
  end
  return cells
end

--- The header cells of a CSV file, when it has a readable header line (a
-- first line none of whose cells is an email address); nil otherwise.
function M.csv_header(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local head = f:read(M.HEADER_LIMIT) or ""
  f:close()
  local line = head:match("^([^\r\n]*)[\r\n]") or (#head < M.HEADER_LIMIT and head or nil)
  if not line then return nil end
  line = line:gsub("^\239\187\191", "") -- a UTF-8 byte order mark
  local cells = csv_cells(line)
  -- One cell holding a ";", tab or "|": a file in another delimiter (a
  -- European spreadsheet's "email;name"), whose columns only the server's
  -- parse can tell. Nothing to check locally: refusing here would turn away
  -- a file the server reads (its review is still checked before confirm).
  if #cells == 1 and cells[1]:find("[;\t|]") then return nil end
  for i, c in ipairs(cells) do
    c = trim(c)
    if c:find("@", 1, true) then return nil end -- a data row: the file has no header
    cells[i] = c
  end
  return cells
end

-- A column name as servers make keys of labels: lower case, every run of
-- other characters one "_" ("Work E-mail" -> "work_e_mail").
local function slug(s)
  return (s:lower():gsub("[^%w]+", "_"):gsub("^_+", ""):gsub("_+$", ""))
end

--- Is `wanted` one of the header's columns, by label (ignoring case and
-- blanks) or by a key made from a label (its slug, or the slug with a
-- "_<n>" suffix for repeated labels, or "column_<n>")? Deliberately loose:
-- only a column that cannot be any of them is refused locally.
function M.header_has(cells, wanted)
  local w = slug(wanted)
  if w:match("^column_%d+$") then return true end
  for _, c in ipairs(cells) do
    local k = slug(c)
    if trim(c):lower() == trim(wanted):lower() or k == w or (k ~= "" and w:match("^" .. k:gsub("%p", "%%%0") .. "_%d+$")) then
      return true
    end
  end
  return false
end

--- Service:submit_file(path, opts) -> ValidationJob | nil, err
function M.submit_file(service, path, opts)
  if type(path) ~= "string" or path == "" then
    return invalid("path", "path must be the name of a CSV or TXT file")
  end
  local o, oerr = options.check("submit_file", opts, "submit_file")
  if not o then return nil, oerr end
  opts = o
  local base = M.basename(path)
  local content_type = opts.content_type or M.content_type(base)
  if type(content_type) ~= "string" then
    return invalid("content_type", string.format(
      "%q is not a CSV or TXT file (the API takes .csv and .txt files); pass content_type= to send it anyway",
      base))
  end
  local filename = M.api_filename(base, content_type)
  local size, serr = M.file_size(path)
  if not size then return invalid("path", "cannot read the file: " .. tostring(serr)) end
  if size == 0 then return invalid("path", filename .. " is empty") end

  local client = service.client
  -- Known here, before any request: a size over the limit the last ticket
  -- named (the reference documents no fixed one: it comes with each ticket),
  -- and a column the CSV file's own header cannot have.
  local known_max = client._upload_max_bytes
  if known_max and size > known_max then
    return invalid("path", string.format("%s is %d bytes; the API accepts at most %d (its last upload ticket's " ..
      "maxSizeBytes)", filename, size, known_max))
  end
  if type(opts.column) == "string" and content_type == "text/csv" then
    local cells = M.csv_header(path)
    if cells and not M.header_has(cells, opts.column) then
      local shown = {}
      for i, c in ipairs(cells) do shown[i] = string.format("%q", c) end
      return invalid("column", string.format("column %q is not one of the file's columns (its header: %s); " ..
        "pass one of them, or column = function(review) to choose from the server's parse review",
        opts.column, table.concat(shown, ", ")))
    end
  end
  -- One deadline for the ticket, the upload (and its retries), process and confirm.
  local deadline, derr = request.deadline(client, opts, true)
  if not deadline then return nil, derr end
  -- A Ctrl-C in any step (a transfer, a retry's wait) answers kind
  -- "cancelled", saying whether anything may have been charged.
  local state = { step = "ticket", key = opts.idempotency_key or core.uuid() }
  local ok, job, jerr = pcall(request.within, client, deadline, M.submit_steps, service, client, path, opts,
    filename, content_type, size, state)
  if ok then return job, jerr end
  if not runtime.is_interrupt(job) then error(job, 0) end
  if state.step ~= "confirm" then
    return nil, errors.interrupted(string.format("interrupted (Ctrl-C) during submit_file of %s (at the %s step); " ..
      "no job was confirmed, nothing was charged", filename, state.step), { file = path })
  end
  return nil, errors.interrupted(string.format("interrupted (Ctrl-C) while confirming submit_file of %s: the job " ..
    "may exist and its credits be reserved; check client.validation_jobs:list() before submitting again, or " ..
    "call submit_file again with idempotency_key = %q (the server answers the same job)", filename, state.key),
    { file = path, sent = true, idempotency_key = state.key })
end

--- The four steps of submit_file, inside its deadline.
-- state.step names the step under way (ticket, upload, process, confirm).
function M.submit_steps(service, client, path, opts, filename, content_type, size, state)
  local call = options.call_part(opts, { "timeout", "max_retries", "headers" })
  local key = state.key

  local ticket, err = service:request_upload({
    filename = filename, contentType = content_type, sizeBytes = size, idempotencyKey = key,
  }, call)
  if not ticket then return nil, err end
  if type(ticket.uploadUrl) ~= "string" or type(ticket.uploadId) ~= "string" or type(ticket.key) ~= "string" then
    return nil, errors.new("decode", "the upload ticket lacks uploadUrl, uploadId or key", { retryable = false })
  end
  local max = present(ticket.maxSizeBytes)
  if type(max) == "number" then
    client._upload_max_bytes = max -- the next call knows it before sending anything
    if size > max then
      local _, ierr = invalid("path", string.format("%s is %d bytes; the API accepts at most %d (the upload " ..
        "ticket's maxSizeBytes)", filename, size, max))
      return stopped(ierr, { method = "POST", path = "/validation-jobs/file" })
    end
  end

  state.step = "upload"
  local _, perr = put(client, ticket.uploadUrl, path, content_type, opts)
  if perr then return nil, perr end

  state.step = "process"
  local review, rerr = service:process_upload({
    uploadId = ticket.uploadId, key = ticket.key, filename = filename, idempotencyKey = key,
  }, call)
  if not review then return nil, rerr end

  local wanted = opts.column
  if type(wanted) == "function" then
    local ok, picked = pcall(wanted, review)
    if not ok then -- nothing is confirmed, so nothing is charged
      return nil, errors.new("cancelled", "submit_file: the column function raised: " .. tostring(picked) ..
        "; nothing was confirmed or charged", { review = review, retryable = false })
    end
    wanted = picked
    if wanted ~= nil and (type(wanted) ~= "string" or wanted == "") then
      local _, ierr = invalid("column", "the column function must return a column key or label, or nil")
      return stopped(ierr, { review = review })
    end
  end
  local column, cerr = choose_column(review, wanted)
  if cerr then return stopped(cerr, { review = review }) end
  if type(review.parseId) ~= "string" then
    return nil, errors.new("decode", "the parse review has no parseId", { retryable = false })
  end

  -- The money guard (scravio.budget, as launch's): process reserves nothing,
  -- confirm reserves the review's estimatedCredits, so this is the last
  -- point where a refusal costs nothing.
  local estimate = budget.credits(review.estimatedCredits)
  local max_credits = opts.max_credits
  local info = { estimate = estimate, max_credits = max_credits, column = column }
  if max_credits and estimate == nil then
    return nil, budget.refuse("the parse review does not say how many credits confirming reserves " ..
      "(no estimatedCredits), so max_credits cannot be checked; stopped before confirming: nothing was charged",
      { review = review, max_credits = max_credits, sent = true, method = "POST",
        path = "/validation-jobs/file/process" })
  end
  if budget.over(estimate or 0, max_credits) then
    return nil, budget.refuse(string.format("confirming %s can reserve %s credits (the parse review's " ..
      "estimatedCredits for %s emails), more than max_credits %s; pass max_credits = %s (or more) to go ahead; " ..
      "stopped before confirming: nothing was charged", filename, budget.fmt(estimate),
      tostring(review.totalEmails or "its"), budget.fmt(max_credits), budget.fmt(estimate)),
      { estimate = estimate, max_credits = max_credits, review = review, sent = true, method = "POST",
        path = "/validation-jobs/file/process" })
  end
  local yes, cancelled = budget.ask(opts.confirm, review, info, "submit_file",
    "stopped before confirming: nothing was charged", { estimate = estimate, review = review, sent = true })
  if not yes then return nil, cancelled end

  state.step = "confirm"
  local job, jerr = service:confirm_upload({
    parseId = review.parseId, selectedColumn = column, idempotencyKey = key,
  }, call)
  if not job then return nil, jerr end
  return job
end

return M
