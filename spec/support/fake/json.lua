-- JSON for the fake server: a private lua-cjson instance plus two fixes.
--
-- Debian ships mpx/lua-cjson 2.1.0, which (unlike the OpenResty fork) has no
-- cjson.empty_array: an empty Lua table always encodes as `{}`.  The API's
-- lists (`items`, `errors`, `warnings`, ...) must be `[]` when empty, so we use
-- a sentinel string that survives encoding and is swapped for `[]` afterwards.
-- cjson also escapes "/" as "\/"; the real (Node) API does not, and presigned
-- URLs are easier to read in logs without it, so that is undone too (safe:
-- cjson never emits a bare "/" so every "\/" in its output is an escaped slash).
local cjson = require "cjson"

local M = {}

local codec = cjson.new and cjson.new() or cjson
codec.encode_sparse_array(false)     -- error on sparse arrays: they would be bugs
M.null = cjson.null

-- "\1" is escaped by cjson as \u0001, which can never appear in user data that
-- has been through the encoder unescaped.
local EMPTY = "\1__empty_array__\1"
local EMPTY_ENCODED = '"\\u0001__empty_array__\\u0001"'
M.empty_array = EMPTY

-- arr(t): use for every array-valued field so an empty one encodes as [].
function M.arr(t)
  if t == nil or t[1] == nil then return EMPTY end
  return t
end

local find, gsub = string.find, string.gsub

function M.encode(v)
  local s = codec.encode(v)
  if find(s, EMPTY_ENCODED, 1, true) then
    s = gsub(s, EMPTY_ENCODED, "[]")
  end
  if find(s, "\\/", 1, true) then
    s = gsub(s, "\\/", "/")
  end
  return s
end

-- decode(s) -> value | nil, err   (never raises)
function M.decode(s)
  local ok, v = pcall(codec.decode, s)
  if not ok then return nil, tostring(v) end
  return v
end

return M
