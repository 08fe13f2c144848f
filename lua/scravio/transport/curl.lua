--- The libcurl transport: a thin face over the C handle, which owns the
-- connection, the credentials and the decoding.
local Curl = {}
Curl.__index = Curl

function Curl.new(handle)
  return setmetatable({ handle = handle, name = "curl" }, Curl)
end

--- send(method, url, path, body, timeout, fresh) -> value, status, request_id | nil, err
function Curl:send(method, url, path, body, timeout, fresh)
  return self.handle:send(method, url, path, body, timeout, fresh)
end

--- download(url, file, progress, timeout) -> bytes, status | nil, err
function Curl:download(url, file, progress, timeout)
  return self.handle:download(url, file, progress, timeout)
end

--- upload(url, file, content_type, progress, timeout) -> status | nil, err
function Curl:upload(url, file, content_type, progress, timeout)
  return self.handle:upload(url, file, content_type, progress, timeout)
end

return Curl
