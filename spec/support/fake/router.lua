-- The 20 endpoints of the v1.0.0 reference, matched on the RAW request path
-- (split on "/" first, then each segment percent-decoded, as Express does), so
-- an id like "..%2F..%2Fauth%2Fme" stays one segment and can never reach
-- another route.  HEAD is served as GET.  Unknown paths / methods -> 404.
local accounts = require "fake.accounts"
local campaigns = require "fake.campaigns"
local jobs = require "fake.validation_jobs"
local exports = require "fake.exports"
local ledger = require "fake.ledger"

local M = {}

local ROUTES = {
  { "GET",  "auth/me",                       accounts.me },
  { "POST", "campaigns/reserve-preview",     campaigns.preview },
  { "POST", "campaigns",                     campaigns.create },
  { "GET",  "campaigns",                     campaigns.list },
  { "GET",  "campaigns/:id",                 campaigns.get },
  { "GET",  "campaigns/:id/leads",           campaigns.leads },
  { "POST", "campaigns/:id/stop",            campaigns.stop },
  { "GET",  "campaigns/:id/validate/preview", campaigns.validate_preview },
  { "POST", "campaigns/:id/validate",        campaigns.validate },
  { "GET",  "validation-jobs",               jobs.list },
  { "POST", "validation-jobs/text",          jobs.text },
  { "POST", "validation-jobs/file",          jobs.file },
  { "POST", "validation-jobs/file/process",  jobs.process },
  { "POST", "validation-jobs/file/confirm",  jobs.confirm },
  { "GET",  "validation-jobs/:id",           jobs.get },
  { "GET",  "validation-jobs/:id/download",  jobs.download },
  { "POST", "list-exports",                  exports.create },
  { "GET",  "list-exports",                  exports.list },
  { "GET",  "list-exports/:id/download",     exports.download },
  { "GET",  "credit-transactions",           ledger.list },
}
M.COUNT = #ROUTES

-- compiled: by segment count -> list of { method, segs, handler }
local BY_LEN = {}
for _, r in ipairs(ROUTES) do
  local segs = {}
  for s in r[2]:gmatch("[^/]+") do segs[#segs + 1] = s end
  local n = #segs
  BY_LEN[n] = BY_LEN[n] or {}
  table.insert(BY_LEN[n], { method = r[1], segs = segs, handler = r[3] })
end

-- match(method, raw_path) -> handler, id   (raw_path starts with "/api/")
function M.match(method, raw)
  if method == "HEAD" then method = "GET" end
  local rest = raw:sub(6)                    -- after "/api/"
  if rest:sub(-1) == "/" then rest = rest:sub(1, -2) end
  local segs = {}
  for s in (rest .. "/"):gmatch("([^/]*)/") do
    if s == "" then return nil end
    segs[#segs + 1] = s
  end
  local cands = BY_LEN[#segs]
  if not cands then return nil end
  -- literal routes win over :id routes (reserve-preview vs :id)
  local best, best_id
  for _, r in ipairs(cands) do
    if r.method == method then
      local ok, id, literal = true, nil, true
      for i, s in ipairs(r.segs) do
        if s == ":id" then id = ngx.unescape_uri(segs[i]); literal = false
        elseif s ~= segs[i] then ok = false break end
      end
      if ok then
        if literal then return r.handler, nil end
        if not best then best, best_id = r.handler, id end
      end
    end
  end
  return best, best_id
end

return M
