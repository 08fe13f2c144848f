-- Leads: generated lazily and deterministically, never stored.
--
-- A campaign's leads are described by four counters (a "snapshot"):
--   seg 1, j in [0,a)  profiles with a public email     emailSource "initial"
--   seg 2, j in [0,b)  emails found by deep search      emailSource "deep_search"
--   seg 2, j in [b,c)  deep-search candidates, no email yet  emailSource "none"
--   seg 3, j in [0,d)  profiles without an email        emailSource "none"
-- Lead (seg, j) is a pure function of (campaign seed, seg, j), so a page is
-- produced by arithmetic, and a 1,000,000-lead campaign costs no memory.
-- Validation: once a campaign's emails are validated, lead j of an email
-- segment is invalid exactly when j % 5 == 4 (80% valid), which keeps the
-- validationStatus filter arithmetic too.  Every filter selects whole
-- "streams" (a segment range, optionally only its valid or invalid members),
-- so totalCount and the n-th item are O(1).  Only sortBy followerCount /
-- scrapedAt needs a real sort: it is done once per campaign+filter and cached.
local clock = require "fake.clock"
local json = require "fake.json"

local M = {}
local floor, fmt = math.floor, string.format
local null = json.null

local FIRST = { "olivia", "liam", "emma", "noah", "ava", "elijah", "sofia", "mateo", "mia", "lucas", "amara", "kenji",
  "chloe", "arjun", "zoe", "leo", "isabella", "omar", "hana", "diego", "nora", "felix", "layla", "tomas", "ines",
  "yusuf", "clara", "ravi", "freya", "jonas" }
local LAST = { "smith", "garcia", "muller", "rossi", "kim", "nguyen", "silva", "kowalski", "haddad", "tanaka",
  "dubois", "ivanova", "patel", "larsen", "okafor", "santos", "novak", "cohen", "ali", "murphy", "schmidt", "lopez",
  "berg", "moreau", "park" }
local DOMAINS = { "example.com", "example.org", "example.net", "mail.example.com", "inbox.example.org" }
local BIOS = {
  "Fitness coach | DM for collabs",
  "Coffee, code & \"good vibes\"",
  "Founder @ a small studio. Opinions are my own.",
  "Café owner ☕ — Lisbon",
  "Photographer; traveller; dog person",
  "Marketing lead, B2B SaaS",
  "Yoga teacher 🧘 | online classes",
  "",
}
local COUNTRIES = { "US", "GB", "DE", "FR", "ES", "IT", "BR", "IN", "JP", "CA", "AU", "NL", "SE", "MX", "PT" }
local CITIES = { "New York", "London", "Berlin", "Paris", "Madrid", "Rome", "São Paulo", "Mumbai", "Tokyo", "Toronto",
  "Sydney", "Amsterdam", "Stockholm", "Mexico City", "Lisbon" }
M.PLATFORMS = { "instagram", "youtube", "linkedin", "facebook", "tiktok", "x" }

local MOD = 2147483647
local function seed3(s, seg, j)
  local x = ((s * 31 + seg) * 7919 + j) % MOD
  x = (x * 48271 + 11) % MOD
  x = (x * 48271) % MOD
  if x == 0 then x = 1 end
  return x
end
local function nxt(x) return (x * 48271) % MOD end

local function valid_below(n) return n - floor(n / 5) end

-- A stream: { seg, lo, hi, mode (nil|"valid"|"invalid"), src, email (bool), count }
local function stream_count(s)
  if s.mode == "valid" then return valid_below(s.hi) - valid_below(s.lo) end
  if s.mode == "invalid" then return floor(s.hi / 5) - floor(s.lo / 5) end
  return s.hi - s.lo
end

-- k (0-based) -> j
local function stream_index(s, k)
  if s.mode == "valid" then
    local t = valid_below(s.lo) + k
    return 5 * floor(t / 4) + t % 4
  elseif s.mode == "invalid" then
    return 5 * (floor(s.lo / 5) + k) + 4
  end
  return s.lo + k
end

-- filters: { hasEmail=bool, validationStatus=, platform=, sourceType=, emailSource= }
-- snap: { a, b, c, d, validated, platform, sourceType }
function M.streams(snap, f, order_asc)
  local out = {}
  if f.platform and f.platform ~= snap.platform then return out end
  if f.sourceType and f.sourceType ~= snap.sourceType then return out end
  local email = {
    { seg = 1, lo = 0, hi = snap.a, src = "initial", email = true },
    { seg = 2, lo = 0, hi = snap.b, src = "deep_search", email = true },
  }
  local none = {
    { seg = 2, lo = snap.b, hi = snap.c, src = "none", email = false },
    { seg = 3, lo = 0, hi = snap.d, src = "none", email = false },
  }
  local groups = order_asc and { none, email } or { email, none }
  for _, g in ipairs(groups) do
    for _, s in ipairs(g) do
      local ok = s.hi > s.lo
      if ok and f.hasEmail ~= nil and f.hasEmail ~= s.email then ok = false end
      if ok and f.emailSource and f.emailSource ~= s.src then ok = false end
      if ok and f.validationStatus then
        if not s.email then ok = false
        elseif snap.validated then
          if f.validationStatus == "pending" then ok = false else s.mode = f.validationStatus end
        else
          ok = f.validationStatus == "pending"
        end
      end
      if ok then
        s.count = stream_count(s)
        if s.count > 0 then out[#out + 1] = s end
      end
    end
  end
  return out
end

function M.total(streams)
  local n = 0
  for _, s in ipairs(streams) do n = n + s.count end
  return n
end

-- Deterministic attributes ---------------------------------------------------

local function follower_count(info, seg, j)
  local x = seed3(info.seed, seg, j)
  return (nxt(x) % 250000) + (x % 7 == 0 and 500000 or 0)
end

local function scraped_at(info, seg, j)
  local fin = info.final
  if seg == 2 and j < (fin.deep_found or 0) then
    return info.created + info.duration * (0.65 + 0.35 * (j + 0.5) / math.max(fin.deep_found, 1))
  end
  local size = (seg == 1 and fin.a) or (seg == 2 and fin.c) or fin.d
  return info.created + info.duration * (0.1 + 0.5 * (j + 0.5) / math.max(size or 1, 1))
end

M.follower_count = follower_count
M.scraped_at = scraped_at

-- fields(info, stream, j): every attribute of lead (seg, j), as multiple
-- return values (no table); nil means JSON null.  lead() and lead_json() are
-- two renderings of the same values, so the API and the exports agree.
-- info: { cid, seed, platform, sourceType, keywords, created, duration, validated,
--         checked_at, mask, final = {a, c, d, deep_found} }
local NAMES = {}   -- "first\0last" -> "First Last"
local function fields(info, s, j)
  local seg = s.seg
  local x = seed3(info.seed, seg, j)
  local x1 = nxt(x); local x2 = nxt(x1); local x3 = nxt(x2); local x4 = nxt(x3)
  local fi, li = x % #FIRST + 1, x1 % #LAST + 1
  local first, last = FIRST[fi], LAST[li]
  local sep = seg == 1 and "." or (seg == 2 and "_" or "")
  local username = first .. sep .. last .. j
  local email, status, masked = nil, nil, false
  if s.email then
    email = username .. "@" .. DOMAINS[x2 % #DOMAINS + 1]
    if info.validated then status = (j % 5 ~= 4) and "valid" or "invalid" end
    if info.mask then email = first:sub(1, 2) .. "***@" .. DOMAINS[x2 % #DOMAINS + 1]; masked = true end
  end
  local nk = fi * 64 + li
  local full = NAMES[nk]
  if not full then
    full = first:sub(1, 1):upper() .. first:sub(2) .. " " .. last:sub(1, 1):upper() .. last:sub(2)
    NAMES[nk] = full
  end
  local cc = (x3 % 4 ~= 0) and COUNTRIES[x3 % #COUNTRIES + 1] or nil
  local geo = x4 % 3 == 0
  local p = info.platform
  local xk, xv
  if p == "x" then xk, xv = "xPostText", "Thoughts on " .. (info.keywords and info.keywords[1] or "everything")
  elseif p == "linkedin" then xk, xv = "linkedinHeadline", "Head of Growth at Example Co"
  elseif p == "tiktok" then xk, xv = "tiktokVideoUrl", "https://www.tiktok.com/@" .. username .. "/video/" .. (7000000000 + x % 999999999)
  elseif p == "facebook" then xk, xv = "facebookCategory", "Local business"
  end
  return
    fmt("%s%02x%014x", info.cid:sub(-8), seg, j),                    -- 1 _id
    email, masked, s.src,                                              -- 2..4
    (x2 % 5 == 0) and fmt("+1555%07d", x2 % 10000000) or nil,          -- 5 phoneNumber
    username, full, BIOS[x4 % #BIOS + 1],                              -- 6..8
    follower_count(info, seg, j), x1 % 5000, x2 % 2000,                -- 9..11
    (x3 % 2 == 0) and ("https://example.com/" .. username) or nil,     -- 12 externalUrl
    "https://cdn.example.com/avatars/" .. username .. ".jpg",          -- 13
    x % 11 == 0, x1 % 50 == 0, x2 % 3 == 0,                            -- 14..16
    cc, clock.iso(1262304000 + (x3 % 441504000)),                      -- 17, 18
    geo and ((x4 % 18000) / 100 - 90) or nil,                          -- 19 latitude
    geo and ((x3 % 36000) / 100 - 180) or nil,                         -- 20 longitude
    cc and CITIES[x3 % #CITIES + 1] or nil,                            -- 21 cityName
    (x4 % 7 == 0) and ((x4 % 900 + 1) .. " Main Street") or nil,       -- 22 addressStreet
    status,                                                            -- 23 validation status
    info.keywords and info.keywords[x % #info.keywords + 1] or nil,    -- 24 keyword
    clock.iso(scraped_at(info, seg, j)),                               -- 25 scrapedAt
    xk, xv                                                             -- 26, 27 platform extra
end

local function n(v) if v == nil then return null end return v end

-- lead(info, stream, j) -> Lua table (exports use this)
function M.lead(info, s, j)
  local id, email, masked, src, phone, username, full, bio, fol, fing, media, ext, pic, priv, ver, bus,
        cc, created, lat, lon, city, street, status, kw, scraped, xk, xv = fields(info, s, j)
  local lead = {
    _id = id, campaignId = info.cid, platform = info.platform, sourceType = info.sourceType,
    email = n(email), emailMasked = masked, emailRevealed = false, canRevealEmail = masked,
    emailSource = src, phoneNumber = n(phone), username = username, fullName = full, biography = bio,
    followerCount = fol, followingCount = fing, mediaCount = media, externalUrl = n(ext),
    profilePicUrl = pic, isPrivate = priv, isVerified = ver, isBusiness = bus, country = n(cc),
    accountCreatedDate = created, latitude = n(lat), longitude = n(lon), cityName = n(city),
    addressStreet = n(street),
    emailValidation = status and { status = status, isValid = status == "valid", checkedAt = info.checked_at } or null,
    keyword = n(kw), scrapedAt = scraped,
  }
  if xk then lead[xk] = xv end
  return lead
end

-- Fast JSON for lead pages.  Debian's lua-cjson 2.1.0 formats every number
-- with snprintf and its escaper scans every string; with tables + cjson a
-- 1000-lead page cost ~25 ms, so the server, not the client, would set the
-- pace of pagination benchmarks.  One string.format per lead is ~10x faster.
-- Values that can hold JSON-special characters (names, bios, cities, user
-- keywords) are escaped once and memoised; the rest are built from
-- [%w._@:/+*-] only and are quoted as they are.
local ESC = { ['"'] = '\\"', ['\\'] = '\\\\', ['\n'] = '\\n', ['\r'] = '\\r', ['\t'] = '\\t' }
local find, gsub, byte = string.find, string.gsub, string.byte
local function jstr(v)
  if find(v, '[%c"\\]') then
    v = gsub(v, '[%c"\\]', function(c) return ESC[c] or fmt("\\u%04x", byte(c)) end)
  end
  return '"' .. v .. '"'
end
M.json_string = jstr

local MEMO, memo_n = {}, 0
local function e(v)
  if v == nil then return "null" end
  local r = MEMO[v]
  if r then return r end
  r = jstr(v)
  if memo_n < 10000 then MEMO[v] = r; memo_n = memo_n + 1 end
  return r
end
local function q(v) if v == nil then return "null" end return '"' .. v .. '"' end
local function num(v) if v == nil then return "null" end return fmt("%.14g", v) end

local TEMPLATE = '{"_id":"%s","campaignId":"%s","platform":"%s","sourceType":"%s","email":%s,' ..
  '"emailMasked":%s,"emailRevealed":false,"canRevealEmail":%s,"emailSource":"%s","phoneNumber":%s,' ..
  '"username":"%s","fullName":%s,"biography":%s,"followerCount":%d,"followingCount":%d,"mediaCount":%d,' ..
  '"externalUrl":%s,"profilePicUrl":"%s","isPrivate":%s,"isVerified":%s,"isBusiness":%s,"country":%s,' ..
  '"accountCreatedDate":"%s","latitude":%s,"longitude":%s,"cityName":%s,"addressStreet":%s,' ..
  '"emailValidation":%s,"keyword":%s,"scrapedAt":"%s"%s}'

-- lead_json(info, stream, j) -> JSON text of the same lead as lead()
function M.lead_json(info, s, j)
  local id, email, masked, src, phone, username, full, bio, fol, fing, media, ext, pic, priv, ver, bus,
        cc, created, lat, lon, city, street, status, kw, scraped, xk, xv = fields(info, s, j)
  local ev = "null"
  if status then
    ev = '{"status":"' .. status .. '","isValid":' .. (status == "valid" and "true" or "false") ..
      ',"checkedAt":"' .. info.checked_at .. '"}'
  end
  return fmt(TEMPLATE, id, info.cid, info.platform, info.sourceType, q(email),
    masked and "true" or "false", masked and "true" or "false", src, q(phone),
    username, e(full), e(bio), fol, fing, media,
    q(ext), pic, priv and "true" or "false", ver and "true" or "false", bus and "true" or "false", q(cc),
    created, num(lat), num(lon), e(city), e(street),
    ev, e(kw), scraped, xk and (',"' .. xk .. '":' .. e(xv)) or "")
end

-- Pagination over streams (default sort) or over a cached sorted list.
-- emit(lead) for items [offset, offset+limit)
local function walk(streams, offset, limit, fn)
  local i = 1
  while i <= #streams and offset >= streams[i].count do offset = offset - streams[i].count; i = i + 1 end
  local left = limit
  while left > 0 and i <= #streams do
    local s = streams[i]
    local k = offset
    while k < s.count and left > 0 do
      fn(s, stream_index(s, k))
      k = k + 1; left = left - 1
    end
    offset = 0
    i = i + 1
  end
end
M.walk = walk

-- sorted(cache_owner, key, streams, info, sortBy, desc) -> { idx, js, srcs, streams }
-- (one cache entry per campaign: the last filter + sort asked for)
local function sorted(owner, key, streams, info, sortBy, desc)
  local cache = owner.sort_cache
  if cache and cache.key == key then return cache end
  owner.sort_cache = nil
  local js, keys, idx, srcs = {}, {}, {}, {}
  local cnt = 0
  for si, s in ipairs(streams) do
    for k = 0, s.count - 1 do
      local j = stream_index(s, k)
      cnt = cnt + 1
      js[cnt], srcs[cnt], idx[cnt] = j, si, cnt
      keys[cnt] = sortBy == "followerCount" and follower_count(info, s.seg, j) or scraped_at(info, s.seg, j)
    end
  end
  table.sort(idx, function(a, b)
    local ka, kb = keys[a], keys[b]
    if ka == kb then return a < b end
    if desc then return ka > kb end
    return ka < kb
  end)
  cache = { key = key, idx = idx, js = js, srcs = srcs, streams = streams }
  owner.sort_cache = cache
  return cache
end

-- page(owner, info, snap, filters, sortBy, desc, page, per, render) -> items, total
-- render defaults to M.lead (tables); the API passes M.lead_json (strings).
function M.page(owner, info, snap, f, sortBy, desc, page, per, render)
  render = render or M.lead
  local offset = (page - 1) * per
  local items = {}
  if sortBy == "hasEmail" or sortBy == nil then
    local streams = M.streams(snap, f, not desc)
    walk(streams, offset, per, function(s, j) items[#items + 1] = render(info, s, j) end)
    return items, M.total(streams)
  end
  local streams = M.streams(snap, f, false)
  local key = table.concat({ snap.a, snap.b, snap.c, snap.d, tostring(snap.validated), tostring(f.hasEmail),
    f.validationStatus or "", f.platform or "", f.sourceType or "", f.emailSource or "", sortBy, tostring(desc) }, "|")
  local c = sorted(owner, key, streams, info, sortBy, desc)
  local total = #c.idx
  for i = offset + 1, math.min(total, offset + per) do
    local p = c.idx[i]
    items[#items + 1] = render(info, c.streams[c.srcs[p]], c.js[p])
  end
  return items, total
end

-- CSV export -----------------------------------------------------------------

M.CSV_COLUMNS = { "username", "fullName", "email", "emailSource", "validationStatus", "platform", "sourceType",
  "followerCount", "followingCount", "mediaCount", "phoneNumber", "country", "cityName", "externalUrl", "biography",
  "scrapedAt" }

local function csv_field(v)
  if v == nil or v == null then return "" end
  v = tostring(v)
  if v:find('[,"\r\n]') then return '"' .. v:gsub('"', '""') .. '"' end
  return v
end
M.csv_field = csv_field

function M.row_values(l)
  local vs = l.emailValidation
  return { l.username, l.fullName, l.email, l.emailSource, vs ~= null and vs.status or (l.email ~= null and "pending" or ""),
    l.platform, l.sourceType, l.followerCount, l.followingCount, l.mediaCount, l.phoneNumber, l.country, l.cityName,
    l.externalUrl, l.biography, l.scrapedAt }
end

function M.csv_row(l)
  local vals = M.row_values(l)
  for i = 1, #vals do vals[i] = csv_field(vals[i]) end
  return table.concat(vals, ",") .. "\r\n"
end

-- each_row(info, streams, fn(lead)) in export order (default sort)
function M.each(info, streams, fn)
  walk(streams, 0, M.total(streams), function(s, j) fn(M.lead(info, s, j)) end)
end

-- Lead rendering has ~30 live values per lead; LuaJIT's trace compiler gives
-- up on it ("register coalescing too complex") thousands of times per page,
-- which costs more than interpreting it.  The interpreter is fast enough.
if jit then
  jit.off(fields, true)
  jit.off(M.lead, true)
  jit.off(M.lead_json, true)
end

return M
