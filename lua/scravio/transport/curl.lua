--- The libcurl transport: a thin face over the C handle, which owns the
-- connection, the credentials and the decoding.
local Curl = {}
Curl.__index = Curl

function Curl.new(handle)
  return setmetatable({ handle = handle, name = "curl" }, Curl)
end

--- send(method, url, path, body, timeout, fresh, lazy, headers) -> value, status, request_id | nil, err
-- lazy: a 2xx JSON object may come back as a LazyDoc (see csrc/lazydoc.c);
-- "page": a 2xx list page may come back as a LazyPage (csrc/lazypage.c).
-- headers: nil, or extra "Name: value" lines (per-call options, checked).
function Curl:send(method, url, path, body, timeout, fresh, lazy, headers)
  return self.handle:send(method, url, path, body, timeout, fresh, lazy, headers)
end

--- download(url, file, progress, timeout) -> bytes, status | nil, err
function Curl:download(url, file, progress, timeout)
  return self.handle:download(url, file, progress, timeout)
end

--- The list-page prefetch (pagination.each uses it when a transport has
-- all three; the OpenResty transport has none). A second libcurl handle
-- sends the next page's GET and the answer waits in the socket buffer.
--
-- prefetch(url, path, timeout) -> true | false: the GET is on the wire (at
-- most one in flight: another url replaces it).
function Curl:prefetch(url, path, timeout)
  return self.handle:prefetch(url, path, timeout)
end

--- collect(url, path, timeout, next_url, lazy) -> value, status, request_id, next_started
-- | nil, err (failed as send would fail) | nil, nil (none in
-- flight for url). With next_url, that page's prefetch starts before this
-- answer is decoded. lazy: as send's.
function Curl:collect(url, path, timeout, next_url, lazy)
  return self.handle:collect(url, path, timeout, next_url, lazy)
end

--- cancel([url]) -> true if a prefetch (of url, when given) was dropped
function Curl:cancel(url)
  return self.handle:cancel_prefetch(url)
end

--- upload(url, file, content_type, progress, timeout) -> status | nil, err
function Curl:upload(url, file, content_type, progress, timeout)
  return self.handle:upload(url, file, content_type, progress, timeout)
end

return Curl
