--- client.validation_jobs:submit_file(path, opts) --> ValidationJob | nil, err
--
-- The four steps of a file validation, as one call:
--   1. POST /validation-jobs/file          upload ticket (filename, contentType, sizeBytes)
--   2. PUT  <ticket.uploadUrl>             the file, streamed from disk by the transport,
--                                          with no X-API-Key / Authorization / X-Workspace-Id
--   3. POST /validation-jobs/file/process  parse review (columns, recommendedColumn)
--   4. POST /validation-jobs/file/confirm  creates the job and reserves credits
-- One idempotencyKey (core.uuid()) is used for steps 1, 3 and 4 and for every
-- retry of them, so a resent confirm can never charge twice.
--
-- opts:
--   column          the email column to validate, by key or by header label
--                   (a label is sent as its column's key), or a function
--                   (review) -> key|label|nil that sees the parse review
--                   (columns, recommendedColumn, totalRows ...) before the
--                   job is confirmed (nil: the default); default the
--                   review's recommendedColumn, or the only column. The
--                   columns are only known from the process answer, so a
--                   column matching none of them, or several columns and no
--                   recommendation, is err.kind "invalid" after process and
--                   before confirm (the message names the columns,
--                   err.review holds them): nothing is charged.
--   content_type    default from the extension: .csv text/csv, .txt text/plain;
--                   text/csv when the name has no extension (the reference
--                   accepts CSV/TXT files and calls contentType advisory).
--                   Any other extension (.xlsx ...) is refused before any
--                   request unless content_type is given. The API validates
--                   the file name's extension, so a name without .csv/.txt
--                   is sent with one added (M.api_filename).
--   progress        upload progress bar on stderr (drawn by C, TTY only)
--   timeout         bound (seconds) on the whole PUT; whatever it is, one moving
--                   less than 1 KB/s for the client's timeout ends as stalled
--   idempotency_key reuse a key (to resume after an unknown outcome)
--   max_retries     retries on retryable failures, of the PUT and of the three
--                   API calls (default: the client's)
--   headers         extra headers for the three API calls (never sent to storage)
-- Unknown options and wrong types are refused (options.schemas.submit_file).
local core = require("scravio.core")
local errors = require("scravio.errors")
local options = require("scravio.options")
local request = require("scravio.request")

local M = {}

M.CONTENT_TYPES = { csv = "text/csv", txt = "text/plain" }
-- For a name without an extension: the reference's file types are CSV/TXT,
-- and contentType is "browser-reported ... advisory".
M.DEFAULT_CONTENT_TYPE = "text/csv"

local function invalid(param, msg)
  return nil, errors.invalid({ { param = param, location = "argument", msg = msg } }, "submit_file")
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
    -- A PUT of the same object is safe to resend.
    local again, gerr = request.transfer_retry(client, err, attempt, max_retries, "PUT", "(upload)", deadline)
    if not again then return nil, gerr end
  end
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
  -- One deadline for the ticket, the upload (and its retries), process and confirm.
  local deadline, derr = request.deadline(client, opts, true)
  if not deadline then return nil, derr end
  return request.within(client, deadline, M.submit_steps, service, client, path, opts, filename, content_type, size)
end

--- The four steps of submit_file, inside its deadline.
function M.submit_steps(service, client, path, opts, filename, content_type, size)
  local call = options.call_part(opts, { "max_retries", "headers" })
  local key = opts.idempotency_key or core.uuid()

  local ticket, err = service:request_upload({
    filename = filename, contentType = content_type, sizeBytes = size, idempotencyKey = key,
  }, call)
  if not ticket then return nil, err end
  if type(ticket.uploadUrl) ~= "string" or type(ticket.uploadId) ~= "string" or type(ticket.key) ~= "string" then
    return nil, errors.new("decode", "the upload ticket lacks uploadUrl, uploadId or key", { retryable = false })
  end
  local max = present(ticket.maxSizeBytes)
  if type(max) == "number" and size > max then
    return invalid("path", string.format("%s is %d bytes; the API accepts at most %d", filename, size, max))
  end

  local _, perr = put(client, ticket.uploadUrl, path, content_type, opts)
  if perr then return nil, perr end

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
      return invalid("column", "the column function must return a column key or label, or nil")
    end
  end
  local column, cerr = choose_column(review, wanted)
  if cerr then
    cerr.review = review
    return nil, cerr
  end
  if type(review.parseId) ~= "string" then
    return nil, errors.new("decode", "the parse review has no parseId", { retryable = false })
  end

  local job, jerr = service:confirm_upload({
    parseId = review.parseId, selectedColumn = column, idempotencyKey = key,
  }, call)
  if not job then return nil, jerr end
  return job
end

return M
