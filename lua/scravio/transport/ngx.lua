--- The cosocket transport: the SDK's HTTP/1.1 client inside OpenResty.
--
-- A blocking libcurl call would stall every request an nginx worker serves,
-- so under ngx_lua the SDK talks HTTP itself over ngx.socket.tcp, which
-- yields to nginx's event loop while it waits. The C core still does all the
-- work that needs no waiting: it serializes the request head, and it
-- classifies and decodes the response (`core.classify`), so values and error
-- objects are identical to the libcurl transport's.
--
-- The credential: nginx's tcpsock:send only takes Lua strings, so the API
-- request head (built in C) is a Lua string while it is being sent. It is
-- built only by the client's head builder, which C hands out once per client
-- (scravio.new takes it, transport/init.lua) and which this module keeps in
-- a private table, never in a field; it only builds heads for URLs under the
-- client's base_url, and it puts the real key only into heads written to
-- nginx's own sockets (ngx.socket.tcp as it was when this module loaded). A
-- replaced M.tcp (the unit specs' scripted socket) gets the key's hint.
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
local nginx_tcp = M.tcp -- only sockets made by this one ever receive the credential

-- transport -> its client's head builder (weak keys: it goes with the transport).
local head_builders = setmetatable({}, { __mode = "k" })
-- Sockets connected as fresh: never put back into a pool (see finish).
local fresh_sockets = setmetatable({}, { __mode = "k" })

M.DEFAULT_MAX_RESPONSE = 16 * 1024 * 1024 -- the C core's default max_response_bytes
M.ERROR_BODY_LIMIT = 64 * 1024            -- error bodies kept from storage (as the C transport)
M.HEADER_LIMIT = 256 * 1024               -- a larger response head is refused
M.CHUNK = 64 * 1024                       -- streaming granularity for files
M.MAX_REDIRECTS = 5                       -- storage downloads only; API calls never follow
M.LONG_TIMEOUT = 24 * 3600                -- whole-transfer bound for files (stall bound is `timeout`)
M.MIN_RATE = 1024                         -- bytes/s under which a file transfer is stalled (as csrc/transport.c)
M.LINE_LIMIT = 4096                       -- a chunk-size or trailer line longer than this is refused

local monotime = core.monotime
local concat = table.concat
local tonumber, type, tostring = tonumber, type, tostring
local min, floor = math.min, math.floor
local format = string.format
local byte, find, sub, lower = string.byte, string.find, string.sub, string.lower

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
function M.new(handle, opts, head_builder)
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
  if head_builder == nil then
    local herr
    head_builder, herr = handle:api_head_builder()
    if not head_builder then return nil, herr end
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
  head_builders[self] = head_builder
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
  local stalled = serr:match("^stalled: ")
  local kind = (serr == "timeout" or stalled) and "timeout" or "network"
  local msg
  if stalled then
    -- the same words as csrc/transport.c
    msg = (path == "(upload)" and "upload " or "download ") .. serr .. " (the client's timeout)"
  elseif kind == "timeout" then
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

--- The pool key covers everything that makes a connection unfit for another
-- request: scheme, host (also the SNI name), port, TLS verification (always
-- on) and the CA file the client was configured with.
function Ngx:pool_key(scheme, host, port)
  return "scravio:" .. scheme .. ":" .. host .. ":" .. port .. ":" .. (scheme == "https" and "verify" or "plain")
    .. ":" .. self.ca_file
end

--- dest(scheme, host, port) -> what connect needs to reach one destination:
-- { scheme, host, port, where ("host:port", for messages), pooled and fresh
-- (the connect options: pool name and size) }. Built once per destination
-- for API calls (api_dest keeps it), so a call builds no strings for it.
function Ngx:dest(scheme, host, port)
  local key = self:pool_key(scheme, host, port)
  -- A fresh connection is asked for under a pool name nothing is ever put
  -- back into (finish closes every fresh socket), so it is always new.
  return { scheme = scheme, host = host, port = port, where = host .. ":" .. port,
    pooled = { pool = key, pool_size = self.pool_size },
    fresh = { pool = key .. ":fresh", pool_size = self.pool_size } }
end

--- api_dest(url) -> dest | nil (unsupported URL). API URLs all share the
-- client's base URL, so the last origin's dest is kept and reused when the
-- URL starts with the same "scheme://authority" (followed by "/", "?", "#"
-- or nothing): no pattern runs and nothing is allocated on that path.
function Ngx:api_dest(url)
  local last = self.last_dest
  if last and find(url, last.origin, 1, true) == 1 then
    local c = byte(url, last.origin_len + 1)
    if c == nil or c == 47 or c == 63 or c == 35 then return last.dest end
  end
  local scheme, host, port = target(url)
  if not scheme then return nil end
  local origin = url:match("^https?://[^/?#]+")
  local d = self:dest(scheme, host, port)
  self.last_dest = { origin = origin, origin_len = #origin, dest = d }
  return d
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

--- connect(dest, fresh, deadline, stall) -> sock, reused | nil, err-string, stage, hint
-- dest: self:dest(...). fresh: never take a pooled connection (and never
-- return it to the pool). stall: longest wait for any one step (nil: the deadline).
function Ngx:connect(dest, fresh, deadline, stall)
  local scheme, host, port, where = dest.scheme, dest.host, dest.port, dest.where
  local sock, serr = M.tcp()
  if not sock then return nil, serr, "creating a socket for " .. where end
  local io = left_ms(deadline)
  local ct = min(self.connect_timeout * 1000, io)
  if stall and stall * 1000 < io then io = floor(stall * 1000) end
  sock:settimeouts(ct < 1 and 1 or floor(ct), io, io)
  -- "localhost" needs no resolver directive; any other name does.
  local addr = host == "localhost" and "127.0.0.1" or host
  local ok, err = sock:connect(addr, port, fresh and dest.fresh or dest.pooled)
  if not ok then
    local hint
    if tostring(err):find("no resolver", 1, true) then hint = "add a `resolver` directive to nginx.conf" end
    return nil, err, "connecting to " .. where, hint
  end
  local stats = self.stats
  local reused = sock:getreusedtimes() > 0
  if fresh then
    if reused then
      -- Never: but a request that must not be resent cannot risk a used one.
      sock:close()
      return nil, "a fresh connection came from a pool", "connecting to " .. where
    end
    fresh_sockets[sock] = true
  end
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
  return sock, reused
end

-- Connections stay open for the next request only when the response was
-- read to its end and neither side asked to close; fresh ones always close
-- (whoever asked for them: an unsafe request, or a storage transfer's retry),
-- so an unsafe request never gets a connection an earlier request used.
local function finish(self, sock, keep)
  if keep and not fresh_sockets[sock] then
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
--
-- Every read goes through a Reader: a buffer over the cosocket whose reads
-- are bounded in size (a line, a head, a chunk-size line can never grow it
-- past its limit) and in time. A cosocket's timer restarts with every packet,
-- so a server trickling bytes would keep one receive() alive forever: each
-- receive here is one receiveany() armed with what is left of the deadline,
-- and the deadline is checked again before the next one. For file transfers
-- a stall meter also ends a transfer that moves fewer than MIN_RATE bytes
-- per second over a window of `stall` seconds (libcurl's low-speed check,
-- csrc/transport.c, uses the same numbers).

local Reader = {}
Reader.__index = Reader

--- reader(sock, deadline, stall) -> Reader. stall: seconds (nil: no stall meter).
local function new_reader(sock, deadline, stall)
  -- (the stall window's clock is read only when there is a stall meter)
  return setmetatable({ sock = sock, buf = "", pos = 1, deadline = deadline, stall = stall,
    window = stall and monotime() or 0, moved = 0, total = 0 }, Reader)
end
M.reader = new_reader

--- budget() -> ms, by_deadline | nil, err: how long the next socket operation
-- may wait ("timeout" once the deadline has passed; "stalled: ..." when the
-- last stall window moved too few bytes).
function Reader:budget()
  local now = monotime()
  local left = self.deadline - now
  if left <= 0 then return nil, "timeout" end
  local by_deadline = true
  local stall = self.stall
  if stall then
    local used = now - self.window
    if used >= stall then
      local err = self:window_done()
      if err then return nil, err end
      used = 0
    end
    if stall - used < left then left, by_deadline = stall - used, false end
  end
  local ms = floor(left * 1000)
  return ms < 1 and 1 or ms, by_deadline
end

function Reader:stalled()
  return format("stalled: less than %d bytes/s for %g s", M.MIN_RATE, self.stall)
end

-- The end of a stall window: nil (a new window starts) or the stall error.
function Reader:window_done()
  if self.moved < M.MIN_RATE * self.stall then return self:stalled() end
  self.window, self.moved = monotime(), 0
  return nil
end

--- Count bytes sent (uploads) towards the stall meter.
function Reader:sent(n)
  self.moved = self.moved + n
end

--- send(data) -> true | nil, err (bounded by the deadline and the stall meter)
-- A cosocket send cannot be resumed after a timeout, so it may wait a whole
-- stall window (not what is left of the current one): a piece that could not
-- go out in that long is a stall.
function Reader:send(data)
  local ms, err = self:budget()
  if not ms then return nil, err end
  local left = floor((self.deadline - monotime()) * 1000)
  ms = left
  if self.stall and self.stall * 1000 < ms then ms = floor(self.stall * 1000) end
  if ms < 1 then ms = 1 end
  self.sock:settimeouts(ms, ms, ms)
  local ok, serr = self.sock:send(data)
  if not ok then
    if serr == "timeout" and ms < left then return nil, self:stalled() end
    return nil, serr
  end
  self:sent(#data)
  return true
end

--- fill(max) -> true | nil, err: one receive (at most max bytes) into the buffer.
function Reader:fill(max)
  local sock = self.sock
  while true do
    local ms, by_deadline = self:budget()
    if not ms then return nil, by_deadline end
    sock:settimeouts(ms, ms, ms)
    local data, err = sock:receiveany(max or M.CHUNK)
    if data then
      local n = #data
      self.moved, self.total = self.moved + n, self.total + n
      if self.pos > #self.buf then
        self.buf, self.pos = data, 1
      else
        self.buf, self.pos = self.buf:sub(self.pos) .. data, 1
      end
      return true
    end
    if err ~= "timeout" then return nil, err end
    if by_deadline then return nil, "timeout" end
    -- the stall window is over: too slow, or a new window
    local serr = self:window_done()
    if serr then return nil, serr end
  end
end

--- line(limit) -> the next line without its CRLF or bare LF (RFC 9112 §2.2)
-- | nil, err ("too_long" when no line end came within limit bytes).
function Reader:line(limit)
  local from = self.pos
  while true do
    local buf, pos = self.buf, self.pos
    local i = buf:find("\n", from, true)
    if i then
      local j = i - 1
      if j >= pos and buf:byte(j) == 13 then j = j - 1 end
      self.pos = i + 1
      return buf:sub(pos, j)
    end
    if #buf - pos + 1 > limit then return nil, "too_long" end
    from = #buf + 1 - (pos - 1) -- (fill moves the unread bytes to the front)
    local ok, err = self:fill()
    if not ok then return nil, err end
  end
end

--- take(n) -> up to n bytes (at least 1) | nil, err
function Reader:take(n)
  if self.pos > #self.buf then
    local ok, err = self:fill(n < M.CHUNK and n or M.CHUNK)
    if not ok then return nil, err end
  end
  local buf, pos = self.buf, self.pos
  if #buf - pos + 1 <= n then
    self.buf, self.pos = "", 1
    return pos == 1 and buf or buf:sub(pos)
  end
  self.pos = pos + n
  return buf:sub(pos, pos + n - 1)
end

--- Bytes already read past the end of the response: the server sent what no
-- request asked for (RFC 9112 §11.1), so the connection is never reused.
function Reader:leftover()
  return self.pos <= #self.buf
end

local function digit(b) return b and b >= 48 and b <= 57 end

--- "HTTP/d.d ddd..." -> major, minor, status (numbers) | nil: what
-- "^HTTP/(%d)%.(%d) (%d%d%d)" matches, read byte by byte (no pattern).
local function status_line(line)
  if sub(line, 1, 5) ~= "HTTP/" then return nil end
  local ma, dot, mi, sp, s1, s2, s3 = byte(line, 6, 12)
  if not (digit(ma) and dot == 46 and digit(mi) and sp == 32 and digit(s1) and digit(s2) and digit(s3)) then
    return nil
  end
  return ma - 48, mi - 48, (s1 - 48) * 100 + (s2 - 48) * 10 + (s3 - 48)
end

-- Headers whose value is one value: the first field line counts (as with
-- libcurl), so both transports read the same Content-Type and request id.
local SINGLE = { ["content-type"] = true, ["x-request-id"] = true, ["location"] = true, ["retry-after"] = true }

--- read_head(reader) -> status, headers, keepalive | nil, err-string, got_bytes
-- Skips interim 1xx responses. Header names are lowercased; repeats of
-- list-valued fields are joined with ", " (SINGLE ones keep the first).
-- err-string: a socket error, "timeout", "stalled: ...", or "malformed: ...".
local function read_head(r)
  while true do
    local size = 0
    local line, err = r:line(M.HEADER_LIMIT)
    if not line then
      if err == "too_long" then err = "malformed: status line longer than " .. M.HEADER_LIMIT .. " bytes" end
      return nil, err, r.total > 0
    end
    local major, minor, status = status_line(line)
    if not status then return nil, "malformed: malformed status line", true end
    local headers = {}
    while true do
      local h
      h, err = r:line(M.HEADER_LIMIT - size)
      if not h then
        if err == "too_long" then err = "malformed: response head larger than " .. M.HEADER_LIMIT .. " bytes" end
        return nil, err, true
      end
      size = size + #h + 2
      if h == "" then break end
      local c = h:byte(1)
      if c == 32 or c == 9 then
        -- obs-fold (RFC 9112 §5.2), refused as libcurl's transport refuses it
        return nil, "malformed: folded header line (obs-fold)", true
      end
      -- "name: value": the name is everything before the first colon (never
      -- empty), the value is trimmed of spaces and tabs on both sides. Byte
      -- scans, not a pattern: Lua's matcher costs ~200 instructions per
      -- byte of a header line (bench/README.md, callgrind).
      local colon = find(h, ":", 1, true)
      if colon and colon > 1 then
        local name = lower(sub(h, 1, colon - 1))
        local vs, ve = colon + 1, #h
        local b = byte(h, vs)
        while b == 32 or b == 9 do
          vs = vs + 1
          b = byte(h, vs)
        end
        b = byte(h, ve)
        while ve >= vs and (b == 32 or b == 9) do
          ve = ve - 1
          b = byte(h, ve)
        end
        local value = sub(h, vs, ve)
        local prev = headers[name]
        if not prev then headers[name] = value
        elseif not SINGLE[name] then headers[name] = prev .. ", " .. value end
      end
    end
    if status >= 200 or status == 101 then
      local conn = (headers.connection or ""):lower()
      local keep
      if major == 1 and minor == 0 then keep = conn:find("keep-alive", 1, true) ~= nil
      else keep = conn:find("close", 1, true) == nil end
      local te = headers["transfer-encoding"]
      -- RFC 9112 §6.1 / §6.3: Transfer-Encoding in an HTTP/1.0 response, or
      -- together with Content-Length, is faulty framing: close after it.
      if te and ((major == 1 and minor == 0) or headers["content-length"]) then keep = false end
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
    if te:lower():find("chunked%s*$") then return "chunked" end
    return "close"
  end
  local cl = headers["content-length"]
  if cl then
    -- The common case, digits only (at most 18), without a pattern.
    local len = #cl
    if len > 0 and len <= 18 then
      local i = 1
      while i <= len and digit(byte(cl, i)) do i = i + 1 end
      if i > len then return "length", tonumber(cl) end
    end
    -- "12" or the same value repeated ("12, 12"); anything else is malformed.
    local first
    for v in (cl .. ","):gmatch("([^,]*),") do
      v = v:match("^%s*(%d+)%s*$")
      if not v or #v > 18 or (first and tonumber(v) ~= tonumber(first)) then return nil end
      first = v
    end
    local n = tonumber(first)
    if not n then return nil end
    return "length", n
  end
  return "close"
end

-- A socket-level read failure as read_body reports it.
local function read_failure(err, what)
  if err == "too_long" then return nil, "malformed", what .. " longer than " .. M.LINE_LIMIT .. " bytes" end
  return nil, "socket", err
end

--- read_body(reader, mode, length, sink) -> true | nil, kind, detail, got
-- sink(data) -> true | nil, kind ("too_large" | "io"), message. kind is
-- "socket" (detail: the cosocket error), "malformed", or the sink's kind.
local function read_body(r, mode, length, sink)
  if mode == "none" then return true end
  if mode == "length" then
    local left = length
    while left > 0 do
      local data, err = r:take(left)
      if not data then return nil, "socket", err, length - left end
      left = left - #data
      local ok, k, m = sink(data)
      if not ok then return nil, k, m end
    end
    return true
  end
  if mode == "chunked" then
    while true do
      local line, err = r:line(M.LINE_LIMIT)
      if not line then return read_failure(err, "chunk size line") end
      -- hex digits (zero padding allowed, at most 16 as libcurl allows), then
      -- optional whitespace and chunk extensions (RFC 9112 §7.1)
      local hex = line:match("^(%x+)[ \t]*;") or line:match("^(%x+)[ \t]*$")
      if not hex or #hex > 16 then return nil, "malformed", "bad chunk size line" end
      hex = hex:gsub("^0+(.)", "%1")
      if #hex > 12 then return nil, "malformed", "chunk size too large" end
      local size = tonumber(hex, 16)
      if size == 0 then
        for _ = 1, 100 do -- trailers, then the empty line
          local t, terr = r:line(M.LINE_LIMIT)
          if not t then return read_failure(terr, "trailer line") end
          if t == "" then return true end
        end
        return nil, "malformed", "too many trailer lines"
      end
      local left = size
      while left > 0 do
        local data, rerr = r:take(left)
        if not data then return nil, "socket", rerr end
        left = left - #data
        local ok, k, m = sink(data)
        if not ok then return nil, k, m end
      end
      local crlf, cerr = r:line(2)
      if not crlf then
        if cerr == "too_long" then return nil, "malformed", "chunk longer than its size" end
        return nil, "socket", cerr
      end
      if crlf ~= "" then return nil, "malformed", "chunk longer than its size" end
    end
  end
  -- "close": the body ends when the server closes the connection.
  while true do
    local data, err = r:take(M.CHUNK)
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
    if n == 0 then return "" end
    if n == 1 then return parts[1] end
    return concat(parts, "", 1, n)
  end
  return sink, result
end

--- read_memory(reader, mode, length, limit) -> body | nil, kind, detail, got
-- A response body in memory, as read_body into a memory_sink would give it.
-- A Content-Length body (every API answer; its length is checked against
-- the limit before) is read without the sink's closures: creating a closure
-- is not compiled by LuaJIT and would keep the caller interpreted.
local function read_memory(r, mode, length, limit)
  if mode == "none" then return "" end
  if mode ~= "length" then
    local sink, result = memory_sink(limit)
    local ok, kind, detail, got = read_body(r, mode, length, sink)
    if not ok then return nil, kind, detail, got end
    return result()
  end
  if length == 0 then return "" end
  local first, err = r:take(length)
  if not first then return nil, "socket", err, 0 end
  local left = length - #first
  if left == 0 then return first end
  local parts, n = { first }, 1
  while left > 0 do
    local data, derr = r:take(left)
    if not data then return nil, "socket", derr, length - left end
    n = n + 1
    parts[n] = data
    left = left - #data
  end
  return concat(parts, "", 1, n)
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

-- read_head's failure as an error object (sent: the request was written).
local function head_error(rerr, method, path)
  local what = tostring(rerr):match("^malformed: (.*)$")
  if what then return malformed(what, method, path) end
  return net_error("waiting for the response", rerr, method, path, true)
end

-- Errors a dead kept-alive connection gives before any response byte.
local STALE = { closed = true, ["connection reset by peer"] = true, ["broken pipe"] = true }

-- ---- API calls -----------------------------------------------------------

-- A response header's value with the client's credential masked (nil when absent).
local function masked_header(handle, headers, name)
  local v = headers[name]
  if v == nil then return nil end
  return core.mask(handle, v, core.HEADER_VALUE_MAX) -- masked, then cut, as the C transport does
end

-- One exchange on one connection. Returns the classified result, or
-- nil, err, stale (stale: a reused connection died before answering).
function Ngx:exchange(method, path, body, deadline, fresh, dest, head, lazy)
  local sock, reused, stage, hint = self:connect(dest, fresh, deadline)
  if not sock then return nil, net_error(stage, reused, method, path, false, hint) end
  local ok, serr = sock:send(body and { head, body } or head)
  if not ok then
    sock:close()
    -- An incomplete request cannot have been acted on (its length is declared).
    return nil, net_error("sending the request", serr, method, path, false), reused and STALE[serr]
  end
  local r = new_reader(sock, deadline, nil)
  local status, headers, keep = read_head(r)
  if not status then
    local rerr, got = headers, keep
    sock:close()
    return nil, head_error(rerr, method, path), reused and not got and STALE[rerr]
  end
  local mode, length = framing(method, status, headers)
  if not mode then
    sock:close()
    return nil, malformed("invalid Content-Length", method, path)
  end
  local limit = self.max_response_bytes
  if mode == "length" and length > limit then
    sock:close()
    return nil, too_large(limit, method, path, status)
  end
  local data, kind, detail, got = read_memory(r, mode, length, limit)
  if not data then
    sock:close()
    return nil, body_error(kind, detail, method, path, limit, status, length, got)
  end
  finish(self, sock, keep and mode ~= "close" and not fresh and not r:leftover())
  local value, verr = core.classify(status, headers, data, method, path, self.handle, lazy)
  if value == nil then return nil, verr end
  -- What the answer says about itself, masked and cut like the C transport's.
  local h = self.handle
  return value, status, masked_header(h, headers, "x-request-id"), masked_header(h, headers, "x-ratelimit-limit"),
    masked_header(h, headers, "x-ratelimit-remaining"), masked_header(h, headers, "x-ratelimit-reset")
end

--- send(method, url, path, body, timeout, fresh, lazy, headers)
--   -> value, status, request_id, rate_limit, rate_remaining, rate_reset | nil, err
-- lazy: a 2xx JSON object may come back as a LazyDoc (see csrc/lazydoc.c);
-- "page": a 2xx list page may come back as a LazyPage over the body string.
-- `timeout` bounds the whole call, however slowly the answer trickles in.
-- headers: nil, or extra "Name: value" lines (per-call options, checked).
function Ngx:send(method, url, path, body, timeout, fresh, lazy, headers)
  local perr = phase_error(method, path)
  if perr then return nil, perr end
  local dest = self:api_dest(url)
  if not dest then
    return nil, errors.new("invalid", "unsupported URL for the ngx transport: " .. tostring(url:match("^[^?#]*")),
      { method = method, path = path, sent = false, retryable = false })
  end
  local deadline = monotime() + ((timeout and timeout > 0) and timeout or self.timeout)
  local blen
  if body then blen = #body elseif method ~= "GET" and method ~= "HEAD" then blen = 0 end
  -- headers: the per-call extra lines, added by C into the one head string
  -- (a head holding the key is never rebuilt in Lua); CR/LF/NUL refused.
  local head, herr = head_builders[self](method, url, blen, M.tcp == nginx_tcp and nginx_tcp ~= nil, headers)
  if not head then
    herr.method, herr.path, herr.sent = method, path, false
    return nil, herr
  end
  local value, status, rid, rl_limit, rl_left, rl_reset =
    self:exchange(method, path, body, deadline, fresh, dest, head, lazy)
  if value ~= nil then return value, status, rid, rl_limit, rl_left, rl_reset end
  local err, stale = status, rid
  if stale and not fresh then
    -- A kept-alive connection the server had already closed: like libcurl,
    -- try once more on a new connection. Only requests that are safe to
    -- resend get here: the others always use a fresh connection.
    self.stats.stale = self.stats.stale + 1
    return self:exchange(method, path, body, deadline, true, dest, head, lazy)
  end
  return nil, err
end

-- ---- storage: downloads and uploads --------------------------------------

local function io_message(err)
  -- io.open's message starts with the path: keep the reason only, as the C transport does.
  return (tostring(err):match(": ([^:]+)$")) or tostring(err)
end

--- The stall bound of file transfers: the client's timeout in whole seconds
-- (at least 1), as libcurl's CURLOPT_LOW_SPEED_TIME counts them.
function Ngx:stall_seconds()
  local s = math.ceil(self.timeout)
  return s < 1 and 1 or s
end

--- One storage request on one connection, up to its response head and its
-- framing: connect (a fresh connection when `retried`), send `head` and then
-- the file `f` (uploads), read the head. Storage may answer before it has
-- read the whole upload (413, 403): the head is read even when sending failed.
-- -> { sock, reader, status, headers, keep, sent_all, mode, length }
--  | nil, true (a dead kept-alive connection: try again on a new one)
--  | nil, false, err
function Ngx:storage_exchange(scheme, host, port, retried, head, f, deadline, method, path)
  local stall = self:stall_seconds()
  local sock, reused, stage, hint = self:connect(self:dest(scheme, host, port), retried, deadline, stall)
  if not sock then return nil, false, net_error(stage, reused, method, path, false, hint) end
  local r = new_reader(sock, deadline, stall)
  local ok, serr = r:send(head)
  while ok and f do
    local piece = f:read(M.CHUNK)
    if not piece then break end
    ok, serr = r:send(piece)
  end
  local status, headers, keep = read_head(r)
  if status then
    local mode, length = framing(method, status, headers)
    if not mode then
      sock:close()
      return nil, false, malformed("invalid Content-Length", method, path)
    end
    return { sock = sock, reader = r, status = status, headers = headers, keep = keep, sent_all = ok ~= nil,
      mode = mode, length = length }
  end
  sock:close()
  local rerr, got = headers, keep
  local send_err = not ok and serr or nil
  if reused and not retried and not got and STALE[send_err or rerr] then
    self.stats.stale = self.stats.stale + 1
    return nil, true
  end
  if send_err then return nil, false, net_error(f and "sending the file" or "sending the request", send_err, method,
    path, false) end
  return nil, false, head_error(rerr, method, path)
end

--- A storage answer whose body is small (an upload's answer, a download's
-- error): read it into memory, put the connection back when it can be reused
-- (`reuse`), and return the status for a 2xx or nil, err (classified; err.sent
-- = sent) otherwise.
local function small_answer(self, sock, r, method, path, status, headers, mode, length, reuse, sent)
  local sink, result = memory_sink(M.ERROR_BODY_LIMIT)
  local rok, kind, detail = read_body(r, mode, length, sink)
  if not rok then
    sock:close()
    return nil, body_error(kind, detail, method, path, M.ERROR_BODY_LIMIT, status)
  end
  finish(self, sock, reuse and mode ~= "close" and not r:leftover())
  if status >= 200 and status < 300 then return status end
  local _, err = core.classify(status, headers, result(), method, path, self.handle)
  if err then err.sent = sent end
  return nil, err
end

--- download(url, file, progress, timeout) -> bytes, status | nil, err
-- A 2xx body streams to `file` in CHUNK pieces (memory stays flat); any other
-- status keeps up to 64 KB of body in memory for the error object. Storage
-- redirects are followed (no credentials are ever sent to storage); API calls
-- never are. `progress` is ignored (no terminal under nginx). `timeout`
-- bounds the whole download (default: none but LONG_TIMEOUT); a transfer
-- moving fewer than MIN_RATE bytes/s for the client's timeout is stalled.
function Ngx:download(url, file, progress, timeout) -- luacheck: ignore 212/progress
  local method, path = "GET", "(download)"
  local perr = phase_error(method, path)
  if perr then return nil, perr end
  local f, ferr = io.open(file, "wb")
  if not f then return nil, errors.new("io", io_message(ferr), { method = method, path = path }) end
  local deadline = monotime() + ((timeout and timeout > 0) and timeout or M.LONG_TIMEOUT)
  local redirects = 0
  local retried = false
  while true do
    local scheme, host, port = target(url)
    if not scheme then
      f:close()
      return nil, errors.new("invalid", "unsupported download URL", { method = method, path = path, sent = false })
    end
    local x, again, xerr = self:storage_exchange(scheme, host, port, retried,
      self.handle:storage_head("GET", url, nil, nil), nil, deadline, method, path)
    if not x then
      if not again then
        f:close()
        return nil, xerr
      end
      retried = true
    else
      local sock, r, status, headers, keep, mode, length = x.sock, x.reader, x.status, x.headers, x.keep, x.mode,
        x.length
      local loc = headers.location
      if status >= 300 and status < 400 and loc then
        if redirects >= M.MAX_REDIRECTS then
          sock:close()
          f:close()
          -- a loop: trying again cannot help (csrc/transport.c says the same)
          return nil, errors.new("api", format("storage redirected more than %d times (a redirect loop); " ..
            "not followed further", M.MAX_REDIRECTS),
            { method = method, path = path, status = status, sent = true, retryable = false })
        end
        -- Read the (small) redirect body so the connection can be reused.
        local sink = memory_sink(M.ERROR_BODY_LIMIT)
        local rok = read_body(r, mode, length, sink)
        finish(self, sock, rok and keep and mode ~= "close" and not r:leftover())
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
        local rok, kind, detail = read_body(r, mode, length, sink)
        if not rok then
          sock:close()
          f:close()
          return nil, body_error(kind, detail, method, path, M.ERROR_BODY_LIMIT, status, length, bytes)
        end
        finish(self, sock, keep and mode ~= "close" and not r:leftover())
        local cok, cerr2 = f:close()
        if not cok then
          return nil, errors.new("io", "writing the downloaded file failed: " .. tostring(cerr2),
            { method = method, path = path, retryable = false, sent = true })
        end
        return bytes, status
      else
        f:close()
        return small_answer(self, sock, r, method, path, status, headers, mode, length, keep, true)
      end
    end
  end
end

--- upload(url, file, content_type, progress, timeout) -> status | nil, err
-- PUT a file to a presigned storage URL, streamed from disk in CHUNK pieces,
-- with no credentials (storage_head). A 307/308 (S3's region redirect: the
-- method and body are kept) is followed like a download's redirect: the file
-- is sent again from its start to the new URL, which allows_url must accept,
-- at most MAX_REDIRECTS times, within the same timeout; any other 3xx is an
-- error (301/302/303 do not promise to keep a PUT). Bounded like a download.
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
  local ctype = content_type or "application/octet-stream"
  local head = self.handle:storage_head("PUT", url, size, ctype)
  local deadline = monotime() + ((timeout and timeout > 0) and timeout or M.LONG_TIMEOUT)
  local retried = false
  local redirects = 0
  while true do
    f:seek("set", 0)
    local x, again, xerr = self:storage_exchange(scheme, host, port, retried, head, f, deadline, method, path)
    local loc = x and (x.status == 307 or x.status == 308) and x.headers.location
    if loc then
      if redirects >= M.MAX_REDIRECTS then
        x.sock:close()
        f:close()
        return nil, errors.new("api", format("storage redirected more than %d times (a redirect loop); " ..
          "not followed further", M.MAX_REDIRECTS),
          { method = method, path = path, status = x.status, sent = true, retryable = false })
      end
      local sink = memory_sink(M.ERROR_BODY_LIMIT)
      local rok = read_body(x.reader, x.mode, x.length, sink)
      finish(self, x.sock, rok and x.sent_all and x.keep and x.mode ~= "close" and not x.reader:leftover())
      local nexturl = resolve_location(url, loc)
      local allowed, aerr = self.handle:allows_url(nexturl)
      if allowed then
        scheme, host, port = target(nexturl)
        if not scheme then allowed, aerr = nil, errors.new("invalid", "unsupported upload URL", { sent = false }) end
      end
      if not allowed then
        f:close()
        aerr.method, aerr.path = method, path
        return nil, aerr
      end
      url = nexturl
      head = self.handle:storage_head("PUT", url, size, ctype)
      redirects = redirects + 1
      retried = false
    elseif x then
      f:close()
      return small_answer(self, x.sock, x.reader, method, path, x.status, x.headers, x.mode, x.length,
        x.sent_all and x.keep, x.sent_all)
    elseif not again then
      f:close()
      return nil, xerr
    else
      retried = true
    end
  end
end

return M
