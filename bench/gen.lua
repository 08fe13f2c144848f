--- Generates the API-shaped static files nginx serves for the benchmarks.
--
--   lua5.4 bench/gen.lua WWW_DIR PER_PAGE PAGES BASE_URL [SMALL_PER_PAGE SMALL_PAGES]
--
-- Writes into WWW_DIR:
--   campaign.json      GET /api/campaigns/{id}: one ~3 KB Campaign object
--   items.json         PER_PAGE distinct leads (a JSON array)
--   leads.tpl.json     GET /api/campaigns/{id}/leads: an SSI template that
--                      includes items.json and echoes ?page= as currentPage,
--                      so every page is a real, different page without
--                      PAGES files on disk; the first lead's _id starts with
--                      "pg<page>", so no two pages have the same items (the
--                      SDK refuses a server that repeats a page)
--   leads<SMALL_PER_PAGE>.tpl.json, items<SMALL_PER_PAGE>.json   the same for
--                      ?perPage=SMALL_PER_PAGE (default 100, 20 pages): the OpenResty rows
--   export-url.json    GET /api/list-exports/{id}/download: {success, data{downloadUrl, filename}}
-- Everything is deterministic (a fixed-seed generator), so runs compare.
local www, per_page, pages, base_url = arg[1], tonumber(arg[2]), tonumber(arg[3]), arg[4]
local small_per_page, small_pages = tonumber(arg[5] or 100), tonumber(arg[6] or 20)
if not (www and per_page and pages and base_url) then
  io.stderr:write("usage: lua5.4 bench/gen.lua WWW_DIR PER_PAGE PAGES BASE_URL\n")
  os.exit(2)
end

-- A small linear congruential generator: the same files on every machine.
local state = 20240611
local function rnd(n)
  state = (state * 1103515245 + 12345) % 2147483648
  return (state >> 16) % n -- the low bits of an LCG cycle quickly
end

local function hex(n)
  local t = {}
  for i = 1, n do t[i] = string.format("%x", rnd(16)) end
  return table.concat(t)
end

local function pick(list) return list[rnd(#list) + 1] end

-- A minimal encoder with a fixed key order (ordered pairs: {k1, v1, k2, v2, ...}).
local NULL = setmetatable({}, { __tostring = function() return "null" end })
local encode

local function obj(...) return { __obj = true, ... } end
local function arr(...) return { __arr = true, ... } end

local function enc_string(s)
  return '"' .. s:gsub('[%c"\\]', function(c)
    if c == '"' then return '\\"' elseif c == "\\" then return "\\\\" elseif c == "\n" then return "\\n" end
    return string.format("\\u%04x", c:byte())
  end) .. '"'
end

encode = function(v)
  local t = type(v)
  if v == NULL then return "null" end
  if t == "string" then return enc_string(v) end
  if t == "boolean" then return tostring(v) end
  if t == "number" then
    if math.type(v) == "integer" then return tostring(v) end
    return string.format("%.6g", v)
  end
  if v.__obj then
    local out = {}
    for i = 1, #v, 2 do out[#out + 1] = enc_string(v[i]) .. ":" .. encode(v[i + 1]) end
    return "{" .. table.concat(out, ",") .. "}"
  end
  local out = {}
  for i = 1, #v do out[i] = encode(v[i]) end
  return "[" .. table.concat(out, ",") .. "]"
end

local function write(name, text)
  local f = assert(io.open(www .. "/" .. name, "wb"))
  assert(f:write(text))
  assert(f:close())
  return #text
end

local function date(day, sec)
  return string.format("2025-%02d-%02dT%02d:%02d:%02d.%03dZ", 1 + day % 12, 1 + day % 28,
    sec % 24, sec % 60, (sec * 7) % 60, sec % 1000)
end

-- ---- the campaign --------------------------------------------------------------
local counters = function()
  return obj("profileLookups", 1200 + rnd(500), "followerPages", 340 + rnd(100),
    "emailLookups", 910 + rnd(90), "hiddenEmailLookups", 220 + rnd(40))
end
local phase = function(status, started, completed, counts)
  return obj("status", status, "startedAt", started, "completedAt", completed,
    "finalCounts", counts or NULL, "lastError", NULL)
end
local campaign_id = "665f1c2e8b3a4d0012ab34cd"
local campaign = obj(
  "_id", campaign_id,
  "userId", "6650a1b2c3d4e5f601234567",
  "title", "Fitness influencers, spring outreach",
  "type", "INSTAGRAM_HASHTAG",
  "status", "fully_completed",
  "inputs", obj("hashtags", arr("fitness", "gym", "homeworkout"), "countries", arr("US", "GB", "CA"),
    "minFollowers", 5000, "maxFollowers", 250000, "hasBusinessEmail", true),
  "targetEmails", 500,
  "limits", obj("maxProfilesToScan", 25000, "maxItemsToProcess", 20000, "maxDeepSearchLookups", 4000,
    "maxValidations", 500, "legacyMaxItems", 20000, "perRunCap", 5000),
  "enableDeepEmailSearch", true,
  "enableEmailValidation", true,
  "emailScanCount", 512,
  "profileScannedCount", 1843,
  "progressPercentage", 100,
  "maxItemsToProcess", 20000,
  "normalizedCounts", obj("profiles", 1843, "emails", 512),
  "creditSettlement", obj(
    "isSettled", true, "settledAt", "2025-05-02T10:41:07.331Z",
    "creditReserved", 1480, "creditUsed", 1123, "creditReturned", 357, "creditCharged", 1123,
    "pricingVersion", "2025-04-v2", "reservationVersion", "r3",
    "maxCreditCap", 1480, "estimatedCredits", 1350, "estimatedUsageCredits", 1102,
    "reserveUsageCredits", 1190, "recommendedMaxCreditCap", 1480,
    "summary", obj("maxCreditSpend", 1480, "scanCount", 1843, "hiddenEmailLookupEstimate", 230,
      "publicEmailRate", 0.27),
    "targetMode", "email_leads", "budgetMode", "recommended",
    "filterImpacts", arr(
      obj("filter", "minFollowers", "selectivity", 0.62, "directCounter", "profileLookups"),
      obj("filter", "countries", "selectivity", 0.48, "directCounter", "profileLookups")),
    "estimatedCounters", counters(), "expectedCounters", counters(), "reserveCounters", counters(),
    "estimatedRates", obj("profileLookups", 0.25, "followerPages", 0.1, "emailLookups", 0.5,
      "hiddenEmailLookups", 1.5),
    "rateRegistryChecksum", "sha256:" .. hex(64),
    "assumptions", obj("internalScanCap", 25000, "publicEmailRate", 0.27, "hiddenEmailRate", 0.12),
    "warnings", arr("Cap reached before target on 2 of 3 hashtags in similar campaigns"),
    "breakdown", obj("initialEmails", 402, "deepSearchEmails", 110, "noEmails", 1331, "validations", 500),
    "settlementVersion", 3),
  "phaseState", obj(
    "scraping", phase("complete", "2025-05-02T09:12:00.000Z", "2025-05-02T10:02:51.120Z",
      obj("profiles", 1843, "emails", 402)),
    "deepsearch", phase("complete", "2025-05-02T10:02:52.000Z", "2025-05-02T10:30:11.502Z",
      obj("lookups", 230, "found", 110)),
    "validation", phase("complete", "2025-05-02T10:30:12.000Z", "2025-05-02T10:40:59.870Z",
      obj("validated", 500, "valid", 431, "invalid", 69)),
    "settlement", obj("status", "done", "attempts", 1, "lastAttemptAt", "2025-05-02T10:41:06.900Z",
      "nextAttemptAt", NULL, "settledAt", "2025-05-02T10:41:07.331Z", "lastError", NULL)),
  "postValidation", obj("status", "completed", "total", 500, "validated", 500, "valid", 431,
    "invalid", 69, "creditReserved", 500, "creditUsed", 500, "creditReturned", 0,
    "startedAt", "2025-05-02T10:30:12.000Z", "completedAt", "2025-05-02T10:40:59.870Z", "error", NULL),
  "createdAt", "2025-05-02T09:11:58.004Z",
  "updatedAt", "2025-05-02T10:41:07.331Z",
  "finishedAt", "2025-05-02T10:41:07.331Z",
  "hashtagMediaCount", 48213377
)
local campaign_bytes = write("campaign.json", encode(campaign))

-- ---- leads ---------------------------------------------------------------------
local FIRST = { "Ava", "Liam", "Maya", "Noah", "Zoe", "Ethan", "Lena", "Omar", "Iris", "Jonas" }
local LAST = { "Martin", "Nguyen", "Okafor", "Rossi", "Schmidt", "Silva", "Tanaka", "Walsh" }
local CITIES = { { "Austin", "US", 30.27, -97.74 }, { "London", "GB", 51.51, -0.13 },
  { "Toronto", "CA", 43.65, -79.38 }, { "Denver", "US", 39.74, -104.99 } }
local items = {}
for i = 1, math.max(per_page, small_per_page) do
  local first, last = pick(FIRST), pick(LAST)
  local user = (first .. "." .. last):lower() .. "_" .. rnd(10000)
  local has_email = rnd(10) < 7
  local city = pick(CITIES)
  items[i] = obj(
    "_id", hex(24), "campaignId", campaign_id,
    "platform", "instagram", "sourceType", "profile",
    "email", has_email and (user .. "@" .. pick({ "gmail.com", "outlook.com", "studio.fit" })) or NULL,
    "emailMasked", false, "emailRevealed", false, "canRevealEmail", false,
    "emailSource", has_email and pick({ "initial", "deep_search" }) or "none",
    "phoneNumber", rnd(3) == 0 and string.format("+1 512 555 %04d", rnd(10000)) or NULL,
    "username", user, "fullName", first .. " " .. last,
    "biography", "Coach | " .. pick({ "Strength", "Yoga", "HIIT", "Nutrition" }) ..
      " | DM for collabs | " .. pick({ "Austin", "London", "Online" }) .. " based",
    "followerCount", 5000 + rnd(245000), "followingCount", rnd(3000), "mediaCount", 40 + rnd(2000),
    "externalUrl", "https://linktr.ee/" .. user,
    "profilePicUrl", "https://cdn.example-cdn.com/p/" .. hex(32) .. ".jpg",
    "isPrivate", false, "isVerified", rnd(20) == 0, "isBusiness", rnd(2) == 0,
    "country", city[2], "accountCreatedDate", date(rnd(365), rnd(86400)),
    "latitude", city[3] + rnd(100) / 1000, "longitude", city[4] - rnd(100) / 1000,
    "cityName", city[1], "addressStreet", NULL,
    "emailValidation", has_email and obj("status", "valid", "isValid", true,
      "checkedAt", date(rnd(365), rnd(86400))) or NULL,
    "keyword", NULL, "scrapedAt", date(rnd(365), rnd(86400)))
end

-- A page: the pagination object, then the items with the page number echoed
-- into the first lead's _id ("pg7" + 21 hex digits); the rest of the items
-- comes from one shared file. nginx's SSI fills both in.
local function page_files(n, npages, suffix)
  local list = {}
  for i = 1, n do list[i] = items[i] end
  local text = encode(arr(table.unpack(list)))
  local head = '[{"_id":"'
  assert(text:sub(1, #head) == head)
  write("items" .. suffix .. ".json", text:sub(#head + 4)) -- (the first id loses 3 of its hex digits)
  write("leads" .. suffix .. ".tpl.json", string.format(
    '{"pagination":{"currentPage":<!--# echo var="arg_page" encoding="none" default="1" -->,' ..
    '"totalPages":%d,"totalCount":%d,"perPage":%d},' ..
    '"items":[{"_id":"pg<!--# echo var="arg_page" encoding="none" default="1" -->' ..
    '<!--# include virtual="/_internal/items%s.json" -->}', npages, npages * n, n, suffix))
  return #text
end
local items_bytes = page_files(per_page, pages, "")
page_files(small_per_page, small_pages, tostring(small_per_page))

write("export-url.json", encode(obj("success", true, "data",
  obj("downloadUrl", base_url .. "/files/export.bin", "filename", "export.bin"))))

print(string.format("campaign_bytes=%d lead_page_bytes=%d lead_bytes=%d", campaign_bytes,
  items_bytes, items_bytes // per_page))
