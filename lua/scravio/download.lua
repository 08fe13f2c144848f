--- Streaming downloads of finished exports and validation results:
--
--   e:download(path, {progress=, timeout=, max_retries=, headers=, overwrite=, mode=})
--                                                         --> path, bytes | nil, err
--   j:download(path, {...})                               --> path, bytes | nil, err
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
-- No waiting here: an export that is not completed yet answers 400 and that
-- error is returned as is. Call e:wait() first (campaigns:run() does).
local core = require("scravio.core")
local errors = require("scravio.errors")
local options = require("scravio.options")
local request = require("scravio.request")

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

local function check_opts(path, opts)
  if path ~= nil and (type(path) ~= "string" or path == "") then
    return nil, errors.invalid({ { param = "path", location = "argument",
      msg = "path must be a non-empty string (the file to write)" } }, "download")
  end
  -- Every option checked (options.schemas.download): a misspelt overwrite
  -- or timeout must not be dropped without a word.
  return options.check("download", opts, "download")
end

--- Can we create a file next to `path`? Checked before the first request, so
-- a typo in the directory costs no API call. -> true | nil, err (kind invalid)
local function writable(path)
  local probe = M.temp_name(path)
  local f, ferr = io.open(probe, "wb")
  if not f then
    return nil, errors.invalid({ { param = "path", location = "argument",
      msg = string.format("cannot write %s: %s", path, tostring(ferr)) } }, "download")
  end
  f:close()
  os.remove(probe)
  return true
end
M.writable = writable

--- M.to_file(client, get_url, path, opts) -> path, bytes | nil, err
-- get_url() -> url | nil, err  (asked again before every attempt: presigned
-- URLs are short-lived). opts: progress, timeout, max_retries.
-- Reports on_event {type="download"|"downloaded"|"retry"|"error", file=, bytes=, attempt=}.
function M.to_file(client, get_url, path, opts)
  local transport = client._transport
  local max_retries = opts.max_retries or client._max_retries or 0
  local attempt = 0
  while true do
    attempt = attempt + 1
    local url, uerr = get_url()
    if not url then return nil, uerr end
    if type(url) ~= "string" then
      return nil, errors.new("decode", "the download answer has no downloadUrl", { retryable = false })
    end
    local ok, aerr = client._core:allows_url(url)
    if not ok then return nil, aerr end

    local tmp = M.temp_name(path)
    request.emit(client, { type = "download", path = "(download)", file = path, attempt = attempt })
    local bytes, err = transport:download(url, tmp, opts.progress == true, opts.timeout)
    if bytes ~= nil then
      local renamed, rerr = os.rename(tmp, path)
      if renamed then
        request.emit(client, { type = "downloaded", path = "(download)", file = path, bytes = bytes,
          attempt = attempt })
        return path, as_integer(bytes)
      end
      os.remove(tmp)
      return nil, io_error("could not move the downloaded file into place: " .. tostring(rerr), path)
    end
    os.remove(tmp) -- never leave a truncated file behind
    -- A storage GET is safe to resend; Retry-After only up to max_retry_wait.
    local again, gerr = request.transfer_retry(client, err, attempt, max_retries, "GET", "(download)")
    if not again then return nil, gerr end
  end
end

--- e:download(path, opts) -> path, bytes. path defaults to the file name the
-- API suggests (in the current directory).
function M.export(e, path, opts)
  local o, oerr = check_opts(path, opts)
  if not o then return nil, oerr end
  local client = core.owner(e)
  if path ~= nil then
    local ok, werr = writable(path)
    if not ok then return nil, werr end
  end
  -- The first answer also names the file when no path was given.
  local call = options.call_part(o, { "max_retries", "headers" })
  local first, err = e:download_url(call)
  if not first then return nil, err end
  if path == nil then
    path = safe_basename(first.filename) or ("export-" .. tostring(e.id) .. ".csv")
    local ok, werr = writable(path)
    if not ok then return nil, werr end
  end
  return M.to_file(client, function()
    if first then
      local url = first.downloadUrl
      first = nil
      return url
    end
    local again, aerr = e:download_url(call)
    if not again then return nil, aerr end
    return again.downloadUrl
  end, path, o)
end

--- j:download(path, opts) -> path, bytes (the results CSV). path defaults to
-- "validation-<jobId>.csv".
function M.job(j, path, opts)
  local o, oerr = check_opts(path, opts)
  if not o then return nil, oerr end
  local client = core.owner(j)
  if path == nil then path = "validation-" .. tostring(j.id) .. ".csv" end
  local ok, werr = writable(path)
  if not ok then return nil, werr end
  local call = options.call_part(o, { "max_retries", "headers" })
  return M.to_file(client, function()
    local info, err = j:download_url(call)
    if not info then return nil, err end
    return info.downloadUrl
  end, path, o)
end

return M
