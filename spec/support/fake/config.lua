-- Run-time knobs, changed by POST /__control/configure and restored by reset.
-- Durations are in fake-clock seconds and are captured by each campaign / job /
-- export when it is created (changing them later does not move running ones).
local M = {}

local DEFAULTS = {
  campaign_seconds   = 3,       -- pending -> ... -> fully_completed
  job_seconds        = 2,       -- standalone validation jobs and post-campaign validation
  export_seconds     = 1,       -- list exports
  rate_limits        = true,    -- enforce the four documented limits
  log_requests       = true,    -- keep the API / storage request logs
  log_limit          = 20000,   -- newest N entries kept per log (benchmarks send millions)
  log_bodies         = true,    -- keep request bodies in the API log
  upload_max_bytes   = 10485760, -- maxSizeBytes of validation file uploads (10 MiB)
  url_ttl            = 3600,    -- presigned download URL lifetime (expiresIn)
  upload_url_ttl     = 900,     -- presigned upload URL lifetime
  enforce_concurrency = false,  -- 403 when an account exceeds concurrentCampaignLimit
  -- Strict-reference mode: only what the API reference promises, and the
  -- least kind reading of what it leaves open. No Retry-After on a 429 (the
  -- reference documents none; a fault's explicit retry_after is still sent),
  -- refused 429s count against the window, campaign inputs come back
  -- normalised (hashtags and handles trimmed, "#"/"@" dropped, lower-cased;
  -- keywords trimmed; countries upper-cased as always), and `q=` searches
  -- only the fields the reference names (title, hashtag, target user, media
  -- URL, keyword), not the hashtags/keywords arrays.
  strict_reference   = false,
}

local TYPES = {
  campaign_seconds = "number", job_seconds = "number", export_seconds = "number",
  rate_limits = "boolean", log_requests = "boolean", log_limit = "number",
  log_bodies = "boolean", upload_max_bytes = "number", url_ttl = "number",
  upload_url_ttl = "number", enforce_concurrency = "boolean", strict_reference = "boolean",
}

M.values = {}

function M.reset()
  local v = {}
  for k, d in pairs(DEFAULTS) do v[k] = d end
  M.values = v
end

-- apply(tbl) -> values | nil, err  (unknown keys are refused so typos show up)
function M.apply(tbl)
  for k, val in pairs(tbl or {}) do
    if TYPES[k] == nil then return nil, "unknown config key: " .. tostring(k) end
    if type(val) ~= TYPES[k] then return nil, "config " .. k .. " must be a " .. TYPES[k] end
    if TYPES[k] == "number" and val < 0 then return nil, "config " .. k .. " must be >= 0" end
  end
  for k, val in pairs(tbl or {}) do M.values[k] = val end
  return M.values
end

M.reset()
return M
