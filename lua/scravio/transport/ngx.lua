--- The cosocket transport: the SDK's HTTP/1.1 client inside OpenResty.
--
-- A blocking libcurl call would stall every request an nginx worker serves,
-- so under ngx_lua the SDK talks HTTP itself over ngx.socket.tcp, which
-- yields to nginx's event loop while it waits. The C core still does all the
-- work that needs no waiting: it serializes the request head (the only way
-- the credentials leave C: `wire_head`), and it classifies and decodes the
-- response (`core.classify`), so values and error objects are identical to
-- the libcurl transport's.
--
-- Same interface as transport/curl.lua:
--   send(method, url, path, body, timeout, fresh) -> value, status, request_id | nil, err
--   download(url, file, progress, timeout)        -> bytes, status | nil, err
--   upload(url, file, content_type, progress, timeout) -> status | nil, err
--
-- One transport object may serve many requests of a worker at once: it keeps
-- no per-request state (only configuration and counters).
local core = require("scravio.core")
local errors = require("scravio.errors")
local runtime = require("scravio.runtime")

local ngx = rawget(_G, "ngx")

local M = {}

-- Replaceable in unit specs (a fake socket); ngx.socket.tcp under OpenResty.
M.tcp = type(ngx) == "table" and type(ngx.socket) == "table" and ngx.socket.tcp or nil

M.DEFAULT_MAX_RESPONSE = 16 * 1024 * 1024 -- the C core's default max_response_bytes
M.ERROR_BODY_LIMIT = 64 * 1024            -- error bodies kept from storage (as the C transport)
M.HEADER_LIMIT = 256 * 1024               -- a larger response head is refused
M.CHUNK = 64 * 1024                       -- streaming granularity for files
M.MAX_REDIRECTS = 5                       -- storage downloads only; API calls never follow
M.LONG_TIMEOUT = 24 * 3600                -- whole-transfer bound for files (stall bound is `timeout`)

local monotime = core.monotime
local concat = table.concat
local tonumber, type, tostring = tonumber, type, tostring
local min, floor = math.min, math.floor
local format = string.format

local Ngx = {}
Ngx.__index = Ngx
M.Transport = Ngx

local function option_error(param, msg)
  return nil, errors.invalid({ { param = param, location = "option", msg = msg } }, "scravio.new")
end

--- new(handle, opts) -> transport | nil, err
-- opts: the options given to scravio.new. Read here: ca_file (part of the pool
-- key; trust itself comes from nginx's lua_ssl_trusted_certificate),
-- max_response_bytes, pool_size, keepalive_timeout (seconds idle in the pool),
-- ssl_verify (false is refused), proxy (refused: cosockets cannot tunnel).
function M.new(handle, opts)
  opts = opts or {}
  if not M.tcp then
    return option_error("transport", "the \"ngx\" transport needs OpenResty (ngx_lua cosockets); use \"curl\"")
  end
  if opts.ssl_verify == false or opts.verify == false or opts.insecure == true then
    return option_error("ssl_verify", "TLS verification cannot be turned off; for a private CA set " ..
      "lua_ssl_trusted_certificate in nginx.conf")
  end
  if opts.proxy ~= nil then
    return option_error("proxy", "the OpenResty (ngx) transport does not support proxies; " ..
      "use transport = \"curl\" outside nginx, or let nginx reach the API directly")
  end
  for _, k in ipairs({ "pool_size", "keepalive_timeout" }) do
    local v = opts[k]
    if v ~= nil and (type(v) ~= "number" or v <= 0) then
      return option_error(k, k .. " must be a number greater than 0")
    end
  end
  local info = handle:info()
  local self = setmetatable({
    handle = handle,
    name = "ngx",
    timeout = info.timeout or 60,
    connect_timeout = info.connect_timeout or 10,
    max_response_bytes = opts.max_response_bytes or info.max_response_bytes or M.DEFAULT_MAX_RESPONSE,
    ca_file = opts.ca_file or "",
    pool_size = opts.pool_size and floor(opts.pool_size) or nil,
    keepalive_ms = opts.keepalive_timeout and floor(opts.keepalive_timeout * 1000) or nil,
    -- Counters for tests and monitoring: new connections, pooled ones reused,
    -- TLS handshakes, dead pooled connections replaced.
    stats = { connects = 0, reused = 0, handshakes = 0, stale = 0 },
  }, Ngx)
  return self
end

-- ---- errors ---------------------------------------------------------------

local function phase_error(method, path)
  local ok, phase = runtime.can_yield()
  if ok then return nil end
  return errors.new("invalid", format(
    "cannot call the Scravio API in nginx's %q phase: cosockets are disabled there and a blocking " ..
    "call would stall the worker; call the SDK from rewrite, access or content handlers, or from " ..
    "a timer (ngx.timer.at)", tostring(phase)),
    { method = method, path = path, phase = phase, sent = false, retryable = false })
end

-- Failures that another attempt cannot fix (certificate, name resolution setup).
local function permanent(msg)
  return msg:find("certificate", 1, true) ~= nil or msg:find("no resolver defined", 1, true) ~= nil
    or msg:find("^%d+: ") ~= nil -- an X509 verify result "20: unable to get local issuer certificate"
end

-- A socket failure as a scravio.Error. sent: the whole request was written.
local function net_error(what, serr, method, path, sent, hint)
  serr = tostring(serr)
  local kind = serr == "timeout" and "timeout" or "network"
  local msg
  if kind == "timeout" then
    msg = "timed out " .. what
  else
    msg = what .. " failed: " .. serr
  end
  if hint then msg = msg .. " (" .. hint .. ")" end
  return errors.new(kind, msg, {
    method = method, path = path, sent = sent, retryable = not permanent(serr), socket_error = serr,
  })
end

local function too_large(limit, method, path, status)
  return errors.new("decode", format("response body larger than max_response_bytes (%d bytes); refused", limit),
    { method = method, path = path, status = status, sent = true, retryable = false })
end

local function malformed(what, method, path)
  return errors.new("network", "malformed HTTP response: " .. what,
    { method = method, path = path, sent = true, retryable = true })
end

-- ---- URLs and connections -----------------------------------------------

--- scheme, host, port of an absolute http(s) URL (nil when unsupported).
local function target(url)
  local scheme, authority = url:match("^(https?)://([^/?#]+)")
  if not scheme then return nil end
  local host, port = authority:match("^%[([%x:.]+)%]:?(%d*)$") -- [v6]:port
  if not host then host, port = authority:match("^([%w.%-_]+):?(%d*)$") end
  if not host then return nil end
  return scheme, host:lower(), tonumber(port) or (scheme == "https" and 443 or 80)
end
M.target = target

local function resolve_location(base, loc)
  if loc:match("^https?://") then return loc end
  local origin = base:match("^(https?://[^/?#]+)")
  if loc:sub(1, 2) == "//" then return base:match("^(https?:)") .. loc end
  if loc:sub(1, 1) == "/" then return origin .. loc end
  local dir = base:match("^(https?://[^?#]*/)") or (origin .. "/")
  return dir .. loc
end
M.resolve_location = resolve_location

-- ms left until deadline (at least 1).
local function left_ms(deadline)
  local ms = floor((deadline - monotime()) * 1000)
  return ms < 1 and 1 or ms
end

-- Read (and send) timeouts: the smaller of the stall bound and what is left.
local function arm(sock, deadline, stall)
  local ms = left_ms(deadline)
  if stall then
    local s = floor(stall * 1000)
    if s < ms then ms = s end
  end
  sock:settimeouts(ms, ms, ms)
end

--- The pool key covers everything that makes a connection unfit for another
-- request: scheme, host (also the SNI name), port, TLS verification (always
-- on) and the CA file the client was configured with.
function Ngx:pool_key(scheme, host, port)
  return "scravio:" .. scheme .. ":" .. host .. ":" .. port .. ":" .. (scheme == "https" and "verify" or "plain")
    .. ":" .. self.ca_file
end

local function tls_hint(host, herr)
  if herr:find("host mismatch", 1, true) then
    if host:match("^[%d.]+$") or host:find(":", 1, true) then
      return "nginx matches certificate names as DNS names, so an IP address never verifies: " ..
        "use a host name (for loopback: localhost)"
    end
    return "the certificate is not valid for " .. host
  end
  if permanent(herr) then
    return "cosockets verify against nginx's lua_ssl_trusted_certificate: is it set, and does it hold this CA?"
  end
  return nil
end

--- connect(scheme, host, port, fresh, deadline, stall) -> sock, key | nil, err-string, stage, hint
-- fresh: never take a pooled connection (and never return it to the pool).
-- stall: longest wait for any one step (nil: the deadline).
function Ngx:connect(scheme, host, port, fresh, deadline, stall)
  local where = host .. ":" .. port
  local sock, serr = M.tcp()
  if not sock then return nil, serr, "creating a socket for " .. where end
  local key = self:pool_key(scheme, host, port)
  local ct = min(self.connect_timeout * 1000, left_ms(deadline))
  local io = left_ms(deadline)
  if stall and stall * 1000 < io then io = floor(stall * 1000) end
  sock:settimeouts(ct < 1 and 1 or floor(ct), io, io)
  -- "localhost" needs no resolver directive; any other name does.
  local addr = host == "localhost" and "127.0.0.1" or host
  local ok, err = sock:connect(addr, port, { pool = fresh and (key .. ":fresh") or key, pool_size = self.pool_size })
  if not ok then
    local hint
    if tostring(err):find("no resolver", 1, true) then hint = "add a `resolver` directive to nginx.conf" end
    return nil, err, "connecting to " .. where, hint
  end
  local stats = self.stats
  local reused = sock:getreusedtimes() > 0
  if reused then stats.reused = stats.reused + 1 else stats.connects = stats.connects + 1 end
  if scheme == "https" and not reused then
    stats.handshakes = stats.handshakes + 1
    -- reused_session = false: no session object is asked for. (lua-resty-core
    -- 0.1.25 raises an assertion instead of returning the error when a failed
    -- verification is reported after the handshake was asked for its session;
    -- kept-alive connections make resumption matter little.) pcall all the
    -- same: a raise must never escape the SDK.
    local hok, done, herr = pcall(sock.sslhandshake, sock, false, host, true)
    if not hok then
      herr = "handshake failed (" .. tostring(done):gsub("^.-:%d+: ", "") .. "; nginx's error log has the cause)"
      done = nil
    end
    if not done then
      sock:close()
      herr = tostring(herr)
      return nil, herr, "TLS handshake with " .. where, tls_hint(host, herr)
    end
    -- The same race can report success for a handshake whose verification
    -- failed; nginx has closed that socket. Never use it.
    if not sock:getreusedtimes() then
      sock:close()
      return nil, "the connection was closed during verification (certificate rejected)",
        "TLS handshake with " .. where,
        "cosockets verify against lua_ssl_trusted_certificate and match names as DNS names " ..
        "(an IP address never verifies); nginx's error log has the cause"
    end
  end
  return sock, key
end

-- Connections stay open for the next request only when the response was
-- read to its end and neither side asked to close; fresh ones always close.
local function finish(self, sock, keep)
  if keep then
    local ok
    if self.keepalive_ms or self.pool_size then
      ok = sock:setkeepalive(self.keepalive_ms or 60000, self.pool_size)
    else
      ok = sock:setkeepalive()
    end
    if ok then return end
  end
  sock:close()
end

-- ---- reading a response --------------------------------------------------

--- read_head(sock, deadline, stall) -> status, headers, keepalive | nil, err-string, got_bytes
-- Skips interim 1xx responses. Header names are lowercased; repeats are
-- joined with ", ". stall: longest wait for the next bytes (nil: the deadline).
local function read_head(sock, deadline, stall)
  local got = false
  while true do
    arm(sock, deadline, stall)
    local reader = sock:receiveuntil("\r\n\r\n")
    local parts, n, size = {}, 0, 0
    while true do
      local data, err = reader(16384)
      if not data then
        if err then return nil, err, got or size > 0 end
        break
      end
      n = n + 1
      parts[n] = data
      size = size + #data
      if size > 0 then got = true end
      if size > M.HEADER_LIMIT then return nil, "response head larger than " .. M.HEADER_LIMIT .. " bytes", true end
    end
    local head = n == 1 and parts[1] or concat(parts, "", 1, n)
    local major, minor, status = head:match("^HTTP/(%d)%.(%d) (%d%d%d)")
    if not status then return nil, "malformed status line", true end
    status = tonumber(status)
    local headers = {}
    for name, value in head:gmatch("\n([^:\r\n]+):[ \t]*([^\r\n]*)") do
      name = name:lower()
      value = value:gsub("[ \t]+$", "")
      local prev = headers[name]
      headers[name] = prev and (prev .. ", " .. value) or value
    end
    if status >= 200 or status == 101 then
      local conn = (headers.connection or ""):lower()
      local keep
      if major == "1" and minor == "0" then keep = conn:find("keep-alive", 1, true) ~= nil
      else keep = conn:find("close", 1, true) == nil end
      return status, headers, keep
    end
    -- 1xx (100 Continue, 103 Early Hints): the real response follows.
  end
end
M.read_head = read_head

-- Body framing: "none", "length" (n), "chunked" or "close".
local function framing(method, status, headers)
  if method == "HEAD" or status == 204 or status == 304 or status < 200 then return "none" end
  local te = headers["transfer-encoding"]
  if te then
    if te:lower():find("chunked", 1, true) then return "chunked" end
    return "close"
  end
  local cl = headers["content-length"]
  if cl then
    -- "12" or the same value repeated ("12, 12"); anything else is malformed.
    local first
    for v in cl:gmatch("[^,]+") do
      v = v:match("^%s*(%d+)%s*$")
      if not v or (first and v ~= first) then return nil end
      first = v
    end
    local n = tonumber(first)
    if not n then return nil end
    return "length", n
  end
  return "close"
end

--- read_body(sock, mode, length, sink, deadline, stall) -> true | nil, kind, detail
-- sink(data) -> true | nil, kind ("too_large" | "io"), message. kind is
-- "socket" (detail: the cosocket error), "malformed", or the sink's kind.
local function read_body(sock, mode, length, sink, deadline, stall, max_piece)
  if mode == "none" then return true end
  if mode == "length" then
    local left = length
    while left > 0 do
      local want = left > max_piece and max_piece or left
      arm(sock, deadline, stall)
      local data, err = sock:receive(want)
      if not data then return nil, "socket", err, length - left end
      left = left - #data
      local ok, k, m = sink(data)
      if not ok then return nil, k, m end
    end
    return true
  end
  if mode == "chunked" then
    while true do
      arm(sock, deadline, stall)
      local line, err = sock:receive("*l")
      if not line then return nil, "socket", err end
      local hex = line:match("^%s*(%x+)%s*[;]?")
      if not hex or #hex > 12 then return nil, "malformed", "bad chunk size line" end
      local size = tonumber(hex, 16)
      if size == 0 then
        for _ = 1, 100 do -- trailers, then the empty line
          arm(sock, deadline, stall)
          local t, terr = sock:receive("*l")
          if not t then return nil, "socket", terr end
          if t == "" then return true end
        end
        return nil, "malformed", "too many trailer lines"
      end
      local left = size
      while left > 0 do
        local want = left > max_piece and max_piece or left
        arm(sock, deadline, stall)
        local data, rerr = sock:receive(want)
        if not data then return nil, "socket", rerr end
        left = left - #data
        local ok, k, m = sink(data)
        if not ok then return nil, k, m end
      end
      arm(sock, deadline, stall)
      local crlf, cerr = sock:receive("*l")
      if not crlf then return nil, "socket", cerr end
      if crlf ~= "" then return nil, "malformed", "chunk longer than its size" end
    end
  end
  -- "close": the body ends when the server closes the connection.
  while true do
    arm(sock, deadline, stall)
    local data, err = sock:receiveany(max_piece)
    if not data then
      if err == "closed" then return true end
      return nil, "socket", err
    end
    local ok, k, m = sink(data)
    if not ok then return nil, k, m end
  end
end
M.read_body = read_body

-- A sink that keeps up to `limit` bytes in memory; result() joins them.
local function memory_sink(limit)
  local parts, n, size = {}, 0, 0
  local function sink(data)
    size = size + #data
    if size > limit then return nil, "too_large" end
    n = n + 1
    parts[n] = data
    return true
  end
  local function result()
    if n == 1 then return parts[1] end
    return concat(parts, "", 1, n)
  end
  return sink, result
end

-- Turn read_body's failure into an error object.
local function body_error(kind, detail, method, path, limit, status, length, got)
  if kind == "too_large" then return too_large(limit, method, path, status) end
  if kind == "malformed" then return malformed(detail, method, path) end
  if kind == "io" then
    return errors.new("io", "writing the downloaded file failed: " .. tostring(detail),
      { method = method, path = path, retryable = false, sent = true })
  end
  local what = "reading the response body"
  if length and got and detail == "closed" then
    what = format("reading the response body (%d of %d bytes arrived)", got, length)
  end
  return net_error(what, detail, method, path, true)
end

-- Errors a dead kept-alive connection gives before any response byte.
local STALE = { closed = true, ["connection reset by peer"] = true, ["broken pipe"] = true }

-- ---- API calls -----------------------------------------------------------

-- One exchange on one connection. Returns the classified result, or
-- nil, err, stale (stale: a reused connection died before answering).
function Ngx:exchange(method, path, body, deadline, fresh, scheme, host, port, head, lazy)
  local sock, cerr, stage, hint = self:connect(scheme, host, port, fresh, deadline)
  if not sock then return nil, net_error(stage, cerr, method, path, false, hint) end
  local reused = sock:getreusedtimes() > 0
  local ok, serr = sock:send(body and { head, body } or head)
  if not ok then
    sock:close()
    -- An incomplete request cannot have been acted on (its length is declared).
    return nil, net_error("sending the request", serr, method, path, false), reused and STALE[serr]
  end
  local status, headers, keep = read_head(sock, deadline)
  if not status then
    local rerr, got = headers, keep
    sock:close()
    if rerr == "malformed status line" or tostring(rerr):find("^response head") then
      return nil, malformed(rerr, method, path)
    end
    return nil, net_error("waiting for the response", rerr, method, path, true), reused and not got and STALE[rerr]
  end
  local mode, length = framing(method, status, headers)
  if not mode then
    sock:close()
    return nil, malformed("invalid Content-Length", method, path)
  end
  local limit = self.max_response_bytes
  local text
  if mode == "length" and length > limit then
    sock:close()
    return nil, too_large(limit, method, path, status)
  elseif mode == "length" then
    -- One read for the whole body: no table, no concatenation.
    if length == 0 then
      text = ""
    else
      arm(sock, deadline)
      local data, err, partial = sock:receive(length)
      if not data then
        sock:close()
        return nil, body_error("socket", err, method, path, limit, status, length, partial and #partial or 0)
      end
      text = data
    end
  elseif mode == "none" then
    text = ""
  else
    local sink, result = memory_sink(limit)
    local rok, kind, detail = read_body(sock, mode, length, sink, deadline, nil, M.CHUNK)
    if not rok then
      sock:close()
      return nil, body_error(kind, detail, method, path, limit, status)
    end
    text = result()
  end
  finish(self, sock, keep and mode ~= "close" and not fresh)
  local value, verr = core.classify(status, headers, text, method, path, self.handle, lazy)
  if value == nil then return nil, verr end
  return value, status, headers["x-request-id"]
end

--- send(method, url, path, body, timeout, fresh, lazy, headers) -> value, status, request_id | nil, err
-- lazy: a 2xx JSON object may come back as a LazyDoc (see csrc/lazydoc.c).
-- headers: nil, or extra "Name: value" lines (per-call options, checked).
function Ngx:send(method, url, path, body, timeout, fresh, lazy, headers)
  local perr = phase_error(method, path)
  if perr then return nil, perr end
  local scheme, host, port = target(url)
  if not scheme then
    return nil, errors.new("invalid", "unsupported URL for the ngx transport: " .. tostring(url:match("^[^?#]*")),
      { method = method, path = path, sent = false, retryable = false })
  end
  local deadline = monotime() + ((timeout and timeout > 0) and timeout or self.timeout)
  local blen
  if body then blen = #body elseif method ~= "GET" and method ~= "HEAD" then blen = 0 end
  local head = self.handle:wire_head(method, url, blen, false, nil)
  if headers and headers[1] then
    -- The extra lines go before the blank line that ends the head; a CR or
    -- LF in one would split it (options.check_headers refuses those).
    for _, line in ipairs(headers) do
      if line:find("[%z\r\n]") then
        return nil, errors.new("invalid", "a request header contains CR, LF or NUL",
          { method = method, path = path, sent = false, retryable = false })
      end
    end
    head = head:sub(1, -3) .. table.concat(headers, "\r\n") .. "\r\n\r\n"
  end
  local value, status, rid = self:exchange(method, path, body, deadline, fresh, scheme, host, port, head, lazy)
  if value ~= nil then return value, status, rid end
  local err, stale = status, rid
  if stale and not fresh then
    -- A kept-alive connection the server had already closed: like libcurl,
    -- try once more on a new connection. Only requests that are safe to
    -- resend get here: the others always use a fresh connection.
    self.stats.stale = self.stats.stale + 1
    return self:exchange(method, path, body, deadline, true, scheme, host, port, head, lazy)
  end
  return nil, err
end

-- ---- storage: downloads and uploads --------------------------------------

local function io_message(err)
  -- io.open's message starts with the path: keep the reason only, as the C transport does.
  return (tostring(err):match(": ([^:]+)$")) or tostring(err)
end

--- A storage exchange that got no response head (send_err: sending failed;
-- read_err: reading the head failed; got: some bytes had arrived). -> true
-- when it was a dead kept-alive connection, to be tried once more on a new
-- one, or nil, err.
local function no_head(self, reused, retried, got, send_err, read_err, sending, method, path)
  if reused and not retried and not got and STALE[send_err or read_err] then
    self.stats.stale = self.stats.stale + 1
    return true
  end
  if send_err then return nil, net_error(sending, send_err, method, path, false) end
  if read_err == "malformed status line" then return nil, malformed(read_err, method, path) end
  return nil, net_error("waiting for the response", read_err, method, path, true)
end

--- A storage answer whose body is small (an upload's answer, a download's
-- error): read it into memory, put the connection back when it can be reused
-- (`reuse`), and return the status for a 2xx or nil, err (classified; err.sent
-- = sent) otherwise.
local function small_answer(self, sock, method, path, status, headers, mode, length, reuse, sent, deadline, stall)
  local sink, result = memory_sink(M.ERROR_BODY_LIMIT)
  local rok, kind, detail = read_body(sock, mode, length, sink, deadline, stall, M.CHUNK)
  if not rok then
    sock:close()
    return nil, body_error(kind, detail, method, path, M.ERROR_BODY_LIMIT, status)
  end
  finish(self, sock, reuse and mode ~= "close")
  if status >= 200 and status < 300 then return status end
  local _, err = core.classify(status, headers, result() or "", method, path, self.handle)
  if err then err.sent = sent end
  return nil, err
end

--- download(url, file, progress, timeout) -> bytes, status | nil, err
-- A 2xx body streams to `file` in CHUNK pieces (memory stays flat); any other
-- status keeps up to 64 KB of body in memory for the error object. Storage
-- redirects are followed (no credentials are ever sent to storage); API calls
-- never are. `progress` is ignored (no terminal under nginx).
function Ngx:download(url, file, progress, timeout) -- luacheck: ignore 212/progress
  local method, path = "GET", "(download)"
  local perr = phase_error(method, path)
  if perr then return nil, perr end
  local f, ferr = io.open(file, "wb")
  if not f then return nil, errors.new("io", io_message(ferr), { method = method, path = path }) end
  local deadline = monotime() + ((timeout and timeout > 0) and timeout or M.LONG_TIMEOUT)
  local stall = self.timeout
  local redirects = 0
  local retried = false
  while true do
    local scheme, host, port = target(url)
    if not scheme then
      f:close()
      return nil, errors.new("invalid", "unsupported download URL", { method = method, path = path, sent = false })
    end
    local sock, cerr, stage, hint = self:connect(scheme, host, port, retried, deadline, stall)
    if not sock then
      f:close()
      return nil, net_error(stage, cerr, method, path, false, hint)
    end
    local reused = sock:getreusedtimes() > 0
    arm(sock, deadline, stall)
    local ok, serr = sock:send(self.handle:wire_head("GET", url, nil, true, nil))
    local status, headers, keep
    if ok then
      status, headers, keep = read_head(sock, deadline, stall)
    else
      headers, keep = serr, false -- as read_head's failure: error, got bytes
    end
    if not status then
      sock:close()
      local again, herr = no_head(self, reused, retried, keep, not ok and serr or nil, headers,
        "sending the request", method, path)
      if not again then
        f:close()
        return nil, herr
      end
      retried = true
    else
      local mode, length = framing(method, status, headers)
      if not mode then
        sock:close()
        f:close()
        return nil, malformed("invalid Content-Length", method, path)
      end
      local loc = headers.location
      if status >= 300 and status < 400 and loc and redirects < M.MAX_REDIRECTS then
        -- Read the (small) redirect body so the connection can be reused.
        local sink = memory_sink(M.ERROR_BODY_LIMIT)
        local rok = read_body(sock, mode, length, sink, deadline, stall, M.CHUNK)
        finish(self, sock, rok and keep and mode ~= "close")
        local nexturl = resolve_location(url, loc)
        local allowed, aerr = self.handle:allows_url(nexturl)
        if not allowed then
          f:close()
          aerr.method, aerr.path = method, path
          return nil, aerr
        end
        url = nexturl
        redirects = redirects + 1
        retried = false
      elseif status >= 200 and status < 300 then
        local bytes = 0
        local function sink(data)
          local wok, werr = f:write(data)
          if not wok then return nil, "io", werr end
          bytes = bytes + #data
          return true
        end
        local rok, kind, detail = read_body(sock, mode, length, sink, deadline, stall, M.CHUNK)
        if not rok then
          sock:close()
          f:close()
          return nil, body_error(kind, detail, method, path, M.ERROR_BODY_LIMIT, status, length, bytes)
        end
        finish(self, sock, keep and mode ~= "close")
        local cok, cerr2 = f:close()
        if not cok then
          return nil, errors.new("io", "writing the downloaded file failed: " .. tostring(cerr2),
            { method = method, path = path, retryable = false, sent = true })
        end
        return bytes, status
      else
        f:close()
        return small_answer(self, sock, method, path, status, headers, mode, length, keep, true, deadline, stall)
      end
    end
  end
end

--- upload(url, file, content_type, progress, timeout) -> status | nil, err
-- PUT a file to a presigned storage URL, streamed from disk in CHUNK pieces,
-- with no credentials (wire_head's storage mode). No redirects.
function Ngx:upload(url, file, content_type, progress, timeout) -- luacheck: ignore 212/progress
  local method, path = "PUT", "(upload)"
  local perr = phase_error(method, path)
  if perr then return nil, perr end
  local f, ferr = io.open(file, "rb")
  if not f then return nil, errors.new("io", io_message(ferr), { method = method, path = path }) end
  local size = f:seek("end")
  local scheme, host, port = target(url)
  if not size or not scheme then
    f:close()
    return nil, errors.new(size and "invalid" or "io", size and "unsupported upload URL" or "cannot size the file",
      { method = method, path = path, sent = false })
  end
  local head = self.handle:wire_head("PUT", url, size, true, content_type or "application/octet-stream")
  local deadline = monotime() + ((timeout and timeout > 0) and timeout or M.LONG_TIMEOUT)
  local stall = self.timeout
  local retried = false
  while true do
    f:seek("set", 0)
    local sock, cerr, stage, hint = self:connect(scheme, host, port, retried, deadline, stall)
    if not sock then
      f:close()
      return nil, net_error(stage, cerr, method, path, false, hint)
    end
    local reused = sock:getreusedtimes() > 0
    arm(sock, deadline, stall)
    local ok, serr = sock:send(head)
    local sent_all = ok ~= nil
    while ok do
      local piece = f:read(M.CHUNK)
      if not piece then break end
      arm(sock, deadline, stall)
      ok, serr = sock:send(piece)
      sent_all = ok ~= nil
    end
    -- Even when sending failed, storage may have answered first (413, 403).
    local status, headers, keep = read_head(sock, deadline, stall)
    if not status then
      sock:close()
      local again, herr = no_head(self, reused, retried, keep, not sent_all and serr or nil, headers,
        "sending the file", method, path)
      if not again then
        f:close()
        return nil, herr
      end
      retried = true
    else
      f:close()
      local mode, length = framing(method, status, headers)
      if not mode then
        sock:close()
        return nil, malformed("invalid Content-Length", method, path)
      end
      return small_answer(self, sock, method, path, status, headers, mode, length, sent_all and keep, sent_all,
        deadline, stall)
    end
  end
end

return M
