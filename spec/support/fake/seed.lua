-- Direct state seeding for specs and benchmarks (POST /__control/seed_campaign
-- and /__control/seed_export).  Seeded campaigns are ordinary campaign records
-- whose creation time is back-dated so the clock puts them in the requested
-- state; their leads are lazy like any other campaign's, so
-- seed_campaign{leads=1000000} costs a few hundred bytes.
local S = require "fake.state"
local clock = require "fake.clock"
local config = require "fake.config"
local ids = require "fake.ids"
local util = require "fake.util"
local rules = require "fake.campaign_rules"
local pricing = require "fake.pricing"
local ledger = require "fake.ledger"
local accounts = require "fake.accounts"
local campaigns = require "fake.campaigns"
local exports = require "fake.exports"
local lifecycle = require "fake.lifecycle"

local M = {}
local floor, max, min = math.floor, math.max, math.min

local function default_inputs(t)
  local r = rules.rule(t)
  if r == "hashtag" then return { hashtag = "fitness" } end
  if r == "targetUser" then return { targetUser = "natgeo" } end
  if r == "mediaUrl" then return { mediaUrl = "https://www.instagram.com/p/Cx1234567890/" } end
  if r == "keyword" then return { keyword = "coffee roasters" } end
  return {}
end

local counter = 0

-- seed_campaign(tbl) -> campaign record or nil, err
function M.campaign(tbl)
  tbl = tbl or {}
  local acct = accounts.resolve(tbl.account)
  if not acct then return nil, "unknown account: " .. tostring(tbl.account) end
  local t = tbl.type or "INSTAGRAM_HASHTAG"
  if not rules.TYPE_SET[t] then return nil, "unknown campaign type: " .. tostring(t) end
  local status = tbl.status or "fully_completed"
  if not rules.STATUS_SET[status] then return nil, "unknown status: " .. tostring(status) end
  local n_leads, emails
  if tbl.leads then
    n_leads = floor(tbl.leads)
    emails = tbl.emails and floor(tbl.emails) or n_leads
  else
    emails = tbl.emails and floor(tbl.emails) or (tbl.targetEmails or 100)
    n_leads = emails * pricing.PROFILES_PER_EMAIL
  end
  if emails > n_leads then return nil, "emails cannot exceed leads" end
  counter = counter + 1
  local req = {
    type = t, inputs = tbl.inputs or default_inputs(t),
    targetEmails = tbl.targetEmails or max(min(emails, 1000000), 1),
    title = tbl.title or ("Seeded campaign " .. counter),
    maxCreditCap = tbl.maxCreditCap,
    enableEmailValidation = tbl.enableEmailValidation == true,
    enableDeepEmailSearch = tbl.enableDeepEmailSearch,
  }
  local q = pricing.quote(req, acct.credits)
  if not tbl.maxCreditCap and q.reserved < emails * q.per then q.reserved = emails * q.per; q.data.creditReserved = q.reserved end
  local D = tbl.campaign_seconds or config.values.campaign_seconds
  local now = clock.now()
  local deep_found = q.deep and floor(emails * pricing.DEEP_SHARE) or 0
  local spare = n_leads - emails
  local cands = deep_found + min(deep_found, spare)
  local final = { a = emails - deep_found, deep_found = deep_found, c = cands, d = n_leads - (emails - deep_found) - cands }

  local U = { pending = 0.05, scraping = 0.35, scraping_completed = 0.62, processing_emails = 0.8 }
  local created
  if tbl.created_at then
    created = clock.parse(tbl.created_at)
    if not created then return nil, "created_at must be ISO 8601" end
  elseif U[status] then
    created = now - U[status] * D
  else
    created = now - D - (tbl.age or 3600)
  end
  local c = campaigns.new_record(acct, req, q, { created = created, duration = D, final = final })
  c.seeded = true
  if U[status] then
    if tbl.frozen then c.frozen_u = U[status] end
    if tbl.charge ~= false and acct.credits >= c.reserved then
      c.charged = true
      ledger.apply(acct, -c.reserved, "CAMPAIGN_RESERVATION", "Credits reserved for campaign: " .. c.title,
        { at = created, campaignId = c.id, correlationId = "cmp_" .. c.id })
    end
    S.active.campaigns[c] = true
    lifecycle.tick()
  else
    local at, progress = created + D, 100
    if status == "failed" then at, progress = created + 0.35 * D, 30
    elseif status == "stopped" then
      at, progress = created + 0.5 * D, 50
      c.stop = { by = "user", reason = "Stopped via API", at = at }
    end
    c.fail = status == "failed"
    campaigns.finish(c, status, at, 1, 1, { progress = progress })
    if status == "failed" then
      c.error = { message = "Seeded failure", code = "SIMULATED_FAILURE", at = clock.iso(at) }
    end
    if tbl.validated and not c.validation then
      local total = emails
      local inv = floor(final.a / 5) + floor(final.deep_found / 5)
      c.post = { jobId = ids.object_id(), status = "completed", total = total, reserved = total,
                 start = at + 1, duration = 0, completed_at = at + 2, validated = total,
                 valid = total - inv, invalid = inv, used = total - floor(total / 10), returned = floor(total / 10),
                 snap = { a = final.a, b = final.deep_found } }
      c.version = c.version + 1
    end
  end
  return c
end

-- seed_export(tbl) -> export record or nil, err
--   {bytes=N}: synthetic CSV of exactly N bytes (streamed, e.g. 1 GiB)
--   {campaign_id=..., format="csv"|"xlsx", emailOnly=, onlyValidEmails=}: a real
--   export of that campaign, completed immediately
function M.export(tbl)
  tbl = tbl or {}
  local acct = accounts.resolve(tbl.account)
  if not acct then return nil, "unknown account: " .. tostring(tbl.account) end
  local c
  if tbl.campaign_id then
    c = S.campaigns[tbl.campaign_id]
    if not c or c.owner ~= acct.id then return nil, "campaign not found for that account" end
  else
    c = M.campaign({ account = acct.name, title = "Seeded export source", leads = tbl.bytes and 0 or 200,
                     emails = tbl.bytes and 0 or 80 })
  end
  if tbl.bytes then
    if not util.is_integer(tbl.bytes) or tbl.bytes < 0 then return nil, "bytes must be a non-negative integer" end
    return exports.seed(acct, c, tbl.bytes, tbl.filename)
  end
  local fmt = tbl.format or tbl.fileFormat or "csv"
  if fmt ~= "csv" and fmt ~= "xlsx" then return nil, "format must be csv or xlsx" end
  local e = exports.new_export(acct, c, { format = fmt, emailOnly = tbl.emailOnly == true,
                                          onlyValid = tbl.onlyValidEmails == true, duration = 0 })
  lifecycle.tick()
  return e
end

return M
