--- Streaming downloads of finished exports and validation results:
--
--   e:download(path, {progress=, timeout=, deadline=, max_retries=, headers=, overwrite=, mode=})
--                                                         --> path, bytes | nil, err
--   j:download(path, {...})                               --> path, bytes | nil, err
--
-- Files hold personal data: a new file is created 0600 (`mode` = another
-- number, e.g. tonumber("644", 8), or an octal string "0644"); a download
-- over an existing file keeps that file's mode. Without a path the file is
-- named by the server (exports) or "validation-<jobId>.csv" (jobs) in the
-- current directory; it never replaces an existing file unless
-- `overwrite = true`, and a suggested name starting with a dot is refused.
--
-- The file is never half-written under its final name: the body streams (in
-- C, memory stays flat) into `path .. ".part-<random>"` in the same directory,
-- which is renamed over `path` only once the transfer completed. On any
-- failure the temporary file is removed, and a file already at `path` is left
-- exactly as it was.
--
-- The presigned URL comes from the API (GET /list-exports/{id}/download or
-- GET /validation-jobs/{id}/download); it is checked with allows_url (https,
-- or http to loopback) and fetched with no credentials. A transfer that fails
-- in a retryable way (network error, stall, storage 5xx/429) is tried again
-- with a fresh URL, up to max_retries more times (default: the client's).
--
-- timeout is per attempt, as for every method: it bounds each attempt of
-- the GET .../download (the URL) and each transfer attempt. deadline bounds
-- the whole call (URL lookups, transfers, retries, their waits), computed
-- once (request.deadline / request.within).
--
-- No waiting here: an export that is not completed yet answers 400 and that
-- error is returned as is. Call e:wait() first (campaigns:run() does).
local core = require("scravio.core")
local errors = require("scravio.errors")
local options = require("scravio.options")
local request = require("scravio.request")
local runtime = require("scravio.runtime")

local M = {}

local function as_integer(n)
  if math.tointeger then return math.tointeger(n) or n end
  return n
end

--- A temporary name next to `path` (same directory, so rename is atomic).
function M.temp_name(path)
  return path .. ".part-" .. (core.uuid():gsub("-", "")):sub(1, 16)
end

-- A file name the server suggested, reduced to a safe basename.
local function safe_basename(name)
  if type(name) ~= "string" then return nil end
  name = name:match("([^/\\]+)$")
  if name == nil or name == "." or name == ".." or name:find("%c") then return nil end
  return name
end
M.safe_basename = safe_basename

local function io_error(msg, path)
  return errors.new("io", msg, { path = path, retryable = false })
end

-- Why a file operation failed, without the file name io.open/os.rename put
-- in front: the user's destination is named instead, never the temporary
-- ".part-..." file it does not know about.
local function reason_of(msg)
  msg = tostring(msg)
  return msg:match("%.part%-%x+: (.*)$") or msg:match("^[^:]*/[^:]*: (.*)$") or msg
end
M.reason_of = reason_of

-- An "io" failure of the transfer, said about the destination.
local function about_destination(err, path)
  if type(err) == "table" and err.kind == "io" then
    err.message = string.format("cannot write %s: %s", path,
      reason_of((tostring(err.message):gsub("^writing the downloaded file failed: ", ""))))
    err.file = path
  end
  return err
end


local function bad(param, msg)
  return nil, errors.invalid({ { param = param, location = param == "path" and "argument" or "option", msg = msg } },
    "download")
end

-- opts.mode as a number: an integer 0..0777, or a string of octal digits.
-- No setuid, setgid or sticky bit: they mean nothing for a data file, and
-- refusing them catches the classic typo `mode = 644` (decimal 644 is 01204:
-- unreadable by its owner, readable by everyone else).
local function file_mode(mode)
  if mode == nil then return M.DEFAULT_MODE end
  if type(mode) == "string" and mode:match("^[0-7]+$") then mode = tonumber(mode, 8) end
  if type(mode) ~= "number" or mode ~= math.floor(mode) or mode < 0 or mode > 511 then return nil end
  return mode
end

M.DEFAULT_MODE = 384 -- 0600: leads are personal data

local function check_opts(path, opts)
  if path ~= nil and (type(path) ~= "string" or path == "") then
    return bad("path", "path must be a non-empty string (the file to write)")
  end
  -- Every option checked (options.schemas.download): a misspelt overwrite
  -- or timeout must not be dropped without a word.
  local err
  opts, err = options.check("download", opts, "download")
  if not opts then return nil, err end
  if not file_mode(opts.mode) then
    local decimal = type(opts.mode) == "number" and opts.mode > 511 and tostring(opts.mode):match("^[0-7]+$")
    return bad("mode", "mode must be a file mode from 0 to 0777 such as tonumber(\"644\", 8) or the string \"0644\""
      .. (decimal and string.format(" (the number %s is decimal: did you mean \"0%s\"?)", decimal, decimal) or ""))
  end
  return opts
end

local function exists(path)
  local f = io.open(path, "rb")
  if f then f:close() end
  return f ~= nil
end

-- Without a path the SDK picks the name: it must not replace a file there
-- unless asked. -> true | nil, err
local function may_create(path, opts)
  if opts.overwrite or not exists(path) then return true end
  return bad("path", string.format("%s already exists in the current directory; pass a path, or "
    .. "overwrite = true to replace it", path))
end

-- Does `path` name a directory (an existing one, or by its trailing slash)?
-- Reading one byte of an opened directory fails with EISDIR (21) on Linux
-- and the BSDs; a file, even an empty one, reads or answers plain nil.
local function is_directory(path)
  if path:sub(-1) == "/" then return true end
  local f = io.open(path, "rb")
  if not f then return false end
  local _, _, code = f:read(1)
  f:close()
  return code == 21
end

--- Can we create a file at `path`? Checked before the first request, so a
-- typo in the directory (or a directory given for the file) costs no API
-- call. param/location name the argument in the error (default: the
-- download's path argument). -> true | nil, err (kind invalid)
local function writable(path, param, location)
  local function refuse(msg)
    return nil, errors.invalid({ { param = param or "path", location = location or "argument", msg = msg } },
      "download")
  end
  if is_directory(path) then
    return refuse(string.format("cannot write %s: it is a directory; pass the file's path (such as %s/leads.csv)",
      path, (path:gsub("/+$", ""))))
  end
  local probe = M.temp_name(path)
  local f, ferr = io.open(probe, "wb")
  if not f then
    return refuse(string.format("cannot write %s: %s", path, reason_of(ferr)))
  end
  f:close()
  os.remove(probe)
  return true
end
M.writable = writable
M.is_directory = is_directory

--- Where campaigns:run will write its file, checked before it spends
-- anything: a destination that cannot be written, or an existing file not
-- given up with overwrite = true (the default leads.csv included), is
-- refused (kind invalid, param `out`). -> true | nil, err
function M.destination(path, overwrite)
  if not overwrite and exists(path) then
    return nil, errors.invalid({ { param = "out", location = "option",
      msg = string.format("%s already exists; pass another out, or overwrite = true to replace it", path) } }, "run")
  end
  return writable(path, "out", "option")
end
M.exists = exists

--- M.to_file(client, get_url, path, opts, keep_existing) -> path, bytes | nil, err
-- get_url() -> url | nil, err  (asked again before every attempt: presigned
-- URLs are short-lived). opts: progress, timeout, max_retries, mode.
-- keep_existing: never replace a file at `path` (the SDK chose the name).
-- Reports on_event {type="download"|"downloaded"|"retry"|"error", file=, bytes=, attempt=}.
local interrupted -- (below)

local function fetch_to_file(client, get_url, path, opts, state, keep_existing)
  local transport = client._transport
  local max_retries = opts.max_retries or client._max_retries or 0
  -- One deadline for every URL lookup, transfer and retry wait (request.within).
  local deadline, derr = request.deadline(client, opts, true)
  if not deadline then return nil, derr end
  local attempt = 0
  while true do
    attempt = attempt + 1
    local url, uerr = get_url()
    if type(url) ~= "string" then
      if uerr ~= nil then return nil, uerr end
      return nil, errors.new("decode", "the download answer has no downloadUrl", { retryable = false })
    end
    local ok, aerr = client._core:allows_url(url)
    if not ok then return nil, aerr end

    local tmp = M.temp_name(path)
    state.tmp = tmp
    -- The transports write into this file (opened "wb": its mode stays,
    -- owner-writable while written); it is put in place with exactly 0600,
    -- or the mode the caller asked for, or the existing file's (`made`).
    local made, merr = core.create_file(tmp, file_mode(opts.mode), opts.mode == nil and path or nil)
    if not made then return nil, io_error(merr, path) end
    request.emit(client, { type = "download", path = "(download)", file = path, attempt = attempt })
    local bytes, err = transport:download(url, tmp, opts.progress == true,
      request.transfer_timeout(client, opts.timeout, deadline))
    if bytes ~= nil then
      local renamed, rerr, why = core.place_file(tmp, path, not keep_existing, made)
      if renamed then
        state.tmp = nil
        request.emit(client, { type = "downloaded", path = "(download)", file = path, bytes = bytes,
          attempt = attempt })
        return path, as_integer(bytes)
      end
      os.remove(tmp)
      if why == "exists" then
        return bad("path", string.format("%s appeared while downloading; pass a path, or overwrite = true", path))
      end
      return nil, io_error(string.format("cannot write %s: %s", path, reason_of(rerr)), path)
    end
    os.remove(tmp) -- never leave a truncated file behind
    state.tmp = nil
    if type(err) == "table" and err.interrupted then error(runtime.INTERRUPTED, 0) end
    err = about_destination(err, path)
    -- A storage GET is safe to resend; Retry-After only up to max_retry_wait.
    local again, gerr = request.transfer_retry(client, err, attempt, max_retries, "GET", "(download)", deadline)
    if not again then return nil, gerr end
  end
end

-- What a Ctrl-C during a download answers.
function interrupted(path)
  return errors.interrupted(string.format("interrupted (Ctrl-C) while downloading to %s; the partial " ..
    "file was removed (%s is as it was before)", tostring(path), tostring(path)),
    { file = path, path = "(download)", method = "GET" })
end

-- A Ctrl-C during the download (the transfer, asking for the URL, a retry's
-- wait) removes the partial file and answers kind = "cancelled".
function M.to_file(client, get_url, path, opts, keep_existing)
  local state = {}
  local ok, a, b = pcall(fetch_to_file, client, get_url, path, opts, state, keep_existing)
  if ok then return a, b end
  if state.tmp then os.remove(state.tmp) end
  if runtime.is_interrupt(a) then return nil, interrupted(path) end
  error(a, 0)
end

--- e:download(path, opts) -> path, bytes. path defaults to the file name the
-- API suggests (in the current directory).
local export_steps
function M.export(e, path, opts)
  local o, oerr = check_opts(path, opts)
  if not o then return nil, oerr end
  local client = core.owner(e)
  local deadline, derr = request.deadline(client, o, true)
  if not deadline then return nil, derr end
  return request.within(client, deadline, export_steps, e, client, path, o)
end

function export_steps(e, client, path, o)
  if path ~= nil then
    local ok, werr = writable(path)
    if not ok then return nil, werr end
  end
  -- The first answer also names the file when no path was given.
  local call = options.call_part(o, { "timeout", "max_retries", "headers" })
  local asked, first, info = pcall(e.download_url, e, call)
  if not asked then
    if runtime.is_interrupt(first) then return nil, interrupted(path or "the export's file") end
    error(first, 0)
  end
  if not first then return nil, info end
  local chosen = path == nil
  if chosen then
    path = safe_basename(info.filename) or ("export-" .. tostring(e.id) .. ".csv")
    if path:sub(1, 1) == "." then
      return bad("path", string.format("the server suggested the file name %q, which starts with a dot; "
        .. "pass a path", path))
    end
    local ok, werr = may_create(path, o)
    if ok then ok, werr = writable(path) end
    if not ok then return nil, werr end
  end
  return M.to_file(client, function()
    if first then
      local url = first
      first = nil
      return url
    end
    return e:download_url(call)
  end, path, o, chosen and not o.overwrite)
end

--- j:download(path, opts) -> path, bytes (the results CSV). path defaults to
-- "validation-<jobId>.csv".
function M.job(j, path, opts)
  local o, oerr = check_opts(path, opts)
  if not o then return nil, oerr end
  local client = core.owner(j)
  local deadline, derr = request.deadline(client, o, true)
  if not deadline then return nil, derr end
  local chosen = path == nil
  if chosen then
    path = "validation-" .. tostring(j.id) .. ".csv"
    local ok, werr = may_create(path, o)
    if not ok then return nil, werr end
  end
  local ok, werr = writable(path)
  if not ok then return nil, werr end
  local call = options.call_part(o, { "timeout", "max_retries", "headers" })
  return request.within(client, deadline, M.to_file, client, function() return j:download_url(call) end, path, o,
    chosen and not o.overwrite)
end

return M
