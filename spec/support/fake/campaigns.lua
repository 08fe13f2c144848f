-- Campaigns: reserve-preview, create, list, get, leads, stop, validate.
--
-- Lifecycle (u = elapsed fake seconds / campaign_seconds captured at creation):
--   u < 0.10           pending               progress 0
--   0.10 <= u < 0.60   scraping              progress 0 -> 60, profiles & public emails grow
--   0.60 <= u < 0.65   scraping_completed    progress 60
--   0.65 <= u < 1.00   processing_emails     progress 60 -> 100, deep-search emails grow
--   u >= 1.00          fully_completed       settled: unused credits refunded
-- A title containing "[fail]" makes the campaign fail at u = 0.35 (settled too).
-- Nothing runs in the background: lifecycle.tick() materialises the terminal
-- transitions (and their ledger entries, stamped with the time they were due)
-- before each request, and everything in between is computed from the clock.
local S = require "fake.state"
local clock = require "fake.clock"
local config = require "fake.config"
local ids = require "fake.ids"
local http = require "fake.http"
local json = require "fake.json"
local util = require "fake.util"
local query = require "fake.query"
local rules = require "fake.campaign_rules"
local pricing = require "fake.pricing"
local ledger = require "fake.ledger"
local leads = require "fake.leads"
local ratelimit = require "fake.ratelimit"

local M = {}
local floor, min, max = math.floor, math.min, math.max
local null = json.null

local PENDING_END, SCRAPE_END, PROC_START, FAIL_AT = 0.1, 0.6, 0.65, 0.35
local ACTIVE = { pending = true, scraping = true, scraping_completed = true, processing_emails = true }
M.ACTIVE = ACTIVE
local TERMINAL = { fully_completed = true, failed = true, stopped = true }
M.TERMINAL = TERMINAL

-- state -------------------------------------------------------------------------

-- state(c, now) -> status, ps (scraping fraction), qd (deep-search fraction)
local function state(c, now)
  local t = c.term
  if t then return t.status, t.ps, t.qd end
  local u
  if c.frozen_u then u = c.frozen_u
  elseif c.duration <= 0 then u = 1
  else u = (now - c.created) / c.duration end
  if c.fail and u >= FAIL_AT then return "failed", (FAIL_AT - PENDING_END) / (SCRAPE_END - PENDING_END), 0 end
  if u < PENDING_END then return "pending", 0, 0 end
  if u < SCRAPE_END then return "scraping", (u - PENDING_END) / (SCRAPE_END - PENDING_END), 0 end
  if u < PROC_START then return "scraping_completed", 1, 0 end
  if u < 1 then return "processing_emails", 1, (u - PROC_START) / (1 - PROC_START) end
  return "fully_completed", 1, 1
end
M.state = state

local function progress_of(status, ps, qd)
  if status == "pending" then return 0 end
  if status == "scraping" then return floor(60 * ps) end
  if status == "scraping_completed" then return 60 end
  if status == "processing_emails" then return 60 + floor(40 * qd) end
  return 100
end

local function snapshot(c, ps, qd)
  local f = c.final
  local cc = floor(f.c * ps)
  local b = min(floor(f.deep_found * qd), cc)
  return {
    a = floor(f.a * ps), b = b, c = cc, d = floor(f.d * ps),
    validated = c.validation or (c.post ~= nil and c.post.status == "completed"),
    platform = c.platform, sourceType = c.sourceType,
  }
end

function M.snapshot_now(c, now)
  local _, ps, qd = state(c, now or clock.now())
  return snapshot(c, ps, qd)
end

function M.data_signature(snap)
  return table.concat({ snap.a, snap.b, snap.c, snap.d, tostring(snap.validated) }, ":")
end

function M.lead_info(c, acct)
  local kw
  if c.inputs.keywords and #c.inputs.keywords > 0 then kw = c.inputs.keywords
  elseif c.inputs.keyword then kw = { c.inputs.keyword } end
  local checked = c.post and c.post.completed_at or (c.created + c.duration)
  return {
    cid = c.id, seed = c.seed, platform = c.platform, sourceType = c.sourceType, keywords = kw,
    created = c.created, duration = max(c.duration, 0.001), mask = (acct or c.acct).mask,
    validated = c.validation or (c.post ~= nil and c.post.status == "completed"),
    checked_at = clock.iso(checked),
    final = { a = c.final.a, c = c.final.c, d = c.final.d, deep_found = c.final.deep_found },
  }
end

-- lookups -------------------------------------------------------------------------

-- owned(acct, id): the campaign, or 404 (also for another account's id).
function M.owned(acct, id)
  local c = S.campaigns[id]
  if not c or c.owner ~= acct.id then http.not_found("Campaign") end
  return c
end

-- records -------------------------------------------------------------------------

local LABEL = {
  INSTAGRAM = "Instagram", YOUTUBE = "YouTube", FACEBOOK = "Facebook", LINKEDIN = "LinkedIn",
  TWITTER = "Twitter", TIKTOK = "TikTok", X = "X",
}

local function default_title(t, inputs)
  local p = t:match("^(%u+)_")
  local what = t:sub(#p + 2):lower():gsub("_", " ")
  local subject = inputs.hashtag and ("#" .. inputs.hashtag)
    or (inputs.hashtags and ("#" .. table.concat(inputs.hashtags, " #")))
    or (inputs.targetUser and ("@" .. inputs.targetUser))
    or inputs.keyword or (inputs.keywords and table.concat(inputs.keywords, ", "))
    or inputs.mediaUrl or "profiles"
  local s = (LABEL[p] or p) .. " " .. what .. ": " .. subject
  if #s > 100 then s = s:sub(1, 97) .. "..." end
  return s
end

local function target_meta(t, inputs, seed)
  local m = {}
  local x = seed
  local function r(n) x = util.next(x); return x % n end
  local rule = rules.rule(t)
  if rule == "hashtag" then
    m.hashtagMediaCount = 100000 + r(9000000)
  elseif rule == "targetUser" then
    local u = inputs.targetUser
    m.platformUserId = tostring(1000000000 + r(900000000))
    m.fullName = u:gsub("[._]", " "):gsub("^%l", string.upper)
    m.profilePicUrl = "https://cdn.example.com/avatars/" .. u .. ".jpg"
    m.bio = "Official account of " .. u
    m.followerCount = 10000 + r(5000000)
    m.followingCount = r(2000)
    m.mediaCount = r(5000)
    m.isVerified = r(2) == 0
    m.isBusiness = r(2) == 0
    m.targetFollowerCount = m.followerCount
    m.mediaPostCount = m.mediaCount
  elseif rule == "mediaUrl" then
    local author = "author" .. r(100000)
    m.targetPostAuthorUsername = author
    m.targetPostAuthorName = "Author " .. author:sub(7)
    m.targetPostAuthorProfilePicUrl = "https://cdn.example.com/avatars/" .. author .. ".jpg"
    m.targetPostLikeCount = 1000 + r(100000)
    m.targetPostCommentCount = 10 + r(5000)
    m.targetPostId = tostring(3000000000000 + r(999999999))
    m.targetPostCaptionText = "A post worth sharing"
  end
  if t:match("^X_") then
    m.authorUsername = inputs.targetUser or m.targetPostAuthorUsername or "x_author"
    m.authorName = m.fullName or m.targetPostAuthorName or "X Author"
    m.commentCount = m.targetPostCommentCount or r(500)
    m.likeCount = m.targetPostLikeCount or r(5000)
    m.captionText = m.targetPostCaptionText or ""
  end
  return m
end

-- final counts for a campaign that collects `emails` emails over `profiles` profiles
local function plan(emails, profiles, deep)
  local deep_found = deep and floor(emails * pricing.DEEP_SHARE) or 0
  local a = emails - deep_found
  local spare = max(profiles - emails, 0)
  local cands = deep_found + min(deep_found, spare)
  return { a = a, deep_found = deep_found, c = cands, d = profiles - a - cands }
end
M.plan = plan

-- new_record(acct, req, q, opts) -> c   (registers it; does not charge)
function M.new_record(acct, req, q, opts)
  opts = opts or {}
  local now = clock.now()
  local id = ids.object_id()
  local c = {
    id = id, owner = acct.id, acct = acct,
    title = req.title or default_title(req.type, req.inputs),
    type = req.type, platform = rules.platform(req.type), sourceType = rules.source_type(req.type),
    inputs = req.inputs, targetEmails = req.targetEmails,
    deep = q.deep, validation = q.validation, q = q, reserved = q.reserved, per = q.per,
    created = opts.created or now,
    duration = opts.duration or config.values.campaign_seconds,
    seed = util.seed(id), version = 1,
  }
  c.fail = c.title:find("[fail]", 1, true) ~= nil
  c.final = opts.final or plan(q.collectible, q.collectible * pricing.PROFILES_PER_EMAIL, q.deep)
  c.meta = target_meta(req.type, req.inputs, c.seed)
  S.campaigns[id] = c
  S.campaign_list[#S.campaign_list + 1] = c
  return c
end

-- settlement ----------------------------------------------------------------------

-- finish(c, status, at, ps, qd, extra): freeze the campaign and settle credits.
-- extra.progress: the progressPercentage to freeze (default: from status).
local function finish(c, status, at, ps, qd, extra)
  c.term = { status = status, at = at, ps = ps, qd = qd,
             progress = extra and extra.progress or progress_of(status, ps, qd) }
  local snap = snapshot(c, ps, qd)
  local emails = snap.a + snap.b
  local used = min(emails * c.per, c.reserved)
  c.settled, c.settled_at = true, at
  c.used, c.returned = used, c.reserved - used
  c.breakdown = {
    initialEmails = snap.a, deepSearchEmails = snap.b, noEmails = (snap.a + snap.c + snap.d) - emails,
    validations = c.validation and emails or 0,
  }
  if c.charged then
    ledger.apply(c.acct, c.returned, "CAMPAIGN_SETTLEMENT",
      string.format("Campaign settled (%s): %d credits used, %d returned", status, used, c.returned),
      { at = at, campaignId = c.id, correlationId = "cmp_" .. c.id,
        metadata = { creditReserved = c.reserved, creditUsed = used, creditReturned = c.returned, status = status } })
  end
  S.active.campaigns[c] = nil
  c.version = c.version + 1
end
M.finish = finish

-- due(now) -> events {at, fn} for lifecycle.tick
function M.due(now, out)
  for c in pairs(S.active.campaigns) do
    if not c.frozen_u and not c.term then
      local st, ps, qd = state(c, now)
      if st == "fully_completed" then
        out[#out + 1] = { at = c.created + c.duration, fn = function() finish(c, "fully_completed", c.created + c.duration, 1, 1) end }
      elseif st == "failed" then
        local at = c.created + c.duration * FAIL_AT
        out[#out + 1] = { at = at, fn = function()
          finish(c, "failed", at, ps, qd, { progress = floor(60 * ps) })
          c.error = { message = "Simulated failure: the campaign title contains [fail]", code = "SIMULATED_FAILURE",
                      at = clock.iso(at) }
        end }
      end
    elseif c.term then
      S.active.campaigns[c] = nil
    end
  end
  for c in pairs(S.active.validations) do
    local p = c.post
    if p.status == "validating" and now >= p.start + p.duration then
      out[#out + 1] = { at = p.start + p.duration, fn = function() M.finish_validation(c, p.start + p.duration) end }
    end
  end
end

-- post-campaign validation: 1 credit per email reserved; at completion one in
-- ten is answered from the validation cache for free and refunded.
function M.finish_validation(c, at)
  local p = c.post
  p.status = "completed"
  p.completed_at = at
  p.validated = p.total
  p.invalid = floor(p.snap.a / 5) + floor(p.snap.b / 5)
  p.valid = p.total - p.invalid
  p.returned = floor(p.total / 10)
  p.used = p.reserved - p.returned
  ledger.apply(c.acct, p.returned, "EMAIL_VALIDATION_REFUND",
    string.format("Campaign validation completed: %d credits used, %d returned", p.used, p.returned),
    { at = at, campaignId = c.id, correlationId = "val_" .. p.jobId,
      metadata = { validationJobId = p.jobId, creditReserved = p.reserved, creditUsed = p.used } })
  S.active.validations[c] = nil
  c.version = c.version + 1
end

-- views ---------------------------------------------------------------------------

local function phase(status, started, completed, counts, err)
  return { status = status, startedAt = started and clock.iso(started) or null,
           completedAt = completed and clock.iso(completed) or null,
           finalCounts = counts or null, lastError = err or null }
end

local function phases(c, status, snap, now)
  local D, t0 = c.duration, c.created
  local term = c.term
  local ended = term and term.at
  local s_start, s_end = t0 + D * PENDING_END, t0 + D * SCRAPE_END
  local p_start, p_end = t0 + D * PROC_START, t0 + D
  local function ph(start, stop, counts, applicable)
    if not applicable then return phase("not_applicable") end
    local cur = ended or now
    if status == "failed" and cur >= start and (not stop or ended < stop) then
      return phase("failed", start, ended, null, c.error)
    end
    if cur < start then return phase(term and "not_applicable" or "pending") end
    if ended and ended < stop then return phase("complete", start, ended, counts) end
    if cur < stop then return phase("running", start) end
    return phase("complete", start, stop, counts)
  end
  local emails = snap.a + snap.b
  local settlement
  if c.settled then
    settlement = { status = "done", attempts = 1, lastAttemptAt = clock.iso(c.settled_at), nextAttemptAt = null,
                   settledAt = clock.iso(c.settled_at), lastError = null }
  else
    settlement = { status = "not_ready", attempts = 0, lastAttemptAt = null, nextAttemptAt = null,
                   settledAt = null, lastError = null }
  end
  return {
    scraping = ph(s_start, s_end, { profiles = snap.a + snap.c + snap.d, emails = snap.a }, true),
    deepsearch = ph(p_start, p_end, { lookups = snap.c, emailsFound = snap.b }, c.deep),
    validation = ph(p_start, p_end, { validated = emails, valid = emails - floor(snap.a / 5) - floor(snap.b / 5),
                                      invalid = floor(snap.a / 5) + floor(snap.b / 5) }, c.validation),
    settlement = settlement,
  }
end

local function post_view(c, now)
  local p = c.post
  if not p then return null end
  local validated, valid, invalid = p.validated, p.valid, p.invalid
  if p.status == "validating" then
    local f = min(max((now - p.start) / max(p.duration, 0.001), 0), 1)
    validated = floor(p.total * f)
    invalid = floor(validated / 5)
    valid = validated - invalid
  end
  return {
    status = p.status, total = p.total, validated = validated, valid = valid, invalid = invalid,
    creditReserved = p.reserved, creditUsed = p.used or 0, creditReturned = p.returned or 0,
    startedAt = clock.iso(p.start), completedAt = p.completed_at and clock.iso(p.completed_at) or null,
    error = null,
  }
end

local function inputs_view(inputs)
  local o = {}
  for k, v in pairs(inputs) do
    if k == "hashtags" or k == "keywords" or k == "countries" then o[k] = json.arr(v) else o[k] = v end
  end
  return o
end

local function build(c, now, detail)
  local status, ps, qd = state(c, now)
  local snap = snapshot(c, ps, qd)
  local emails, profiles = snap.a + snap.b, snap.a + snap.c + snap.d
  local q = c.q.data
  local cs = {
    isSettled = c.settled == true,
    settledAt = c.settled and clock.iso(c.settled_at) or null,
    creditReserved = c.reserved,
    creditUsed = c.settled and c.used or min(emails * c.per, c.reserved),
    creditReturned = c.settled and c.returned or 0,
    creditCharged = c.settled and c.used or c.reserved,
    pricingVersion = q.pricingVersion, reservationVersion = q.reservationVersion,
    maxCreditCap = c.reserved, estimatedCredits = q.estimatedCredits,
    estimatedUsageCredits = q.estimatedUsageCredits, reserveUsageCredits = q.reserveUsageCredits,
    recommendedMaxCreditCap = q.recommendedMaxCreditCap, summary = q.summary, targetMode = q.targetMode,
    budgetMode = q.budgetMode, filterImpacts = q.filterImpacts, estimatedCounters = q.estimatedCounters,
    expectedCounters = q.expectedCounters, reserveCounters = q.reserveCounters, estimatedRates = q.estimatedRates,
    rateRegistryChecksum = q.rateRegistryChecksum, assumptions = q.assumptions, warnings = q.warnings,
    settlementVersion = 2,
  }
  if c.settled then cs.breakdown = c.breakdown end
  local finished = c.term and c.term.at or nil
  local updated = finished or now
  if c.post then updated = max(updated, c.post.completed_at or now) end
  local o = {
    _id = c.id, createdBy = c.owner, title = c.title, type = c.type, status = status,
    inputs = inputs_view(c.inputs), targetEmails = c.targetEmails,
    limits = { maxItemsToProcess = q.maxItemsToProcess, maxProfilesToScan = q.maxProfilesToScan,
               emailCollectionGoal = q.emailCollectionGoal, maxEmails = c.targetEmails, maxCreditCap = c.reserved },
    enableDeepEmailSearch = c.deep, enableEmailValidation = c.validation,
    emailScanCount = emails, profileScannedCount = profiles,
    progressPercentage = c.term and c.term.progress or progress_of(status, ps, qd),
    maxItemsToProcess = q.maxItemsToProcess,
    creditSettlement = cs,
    phaseState = phases(c, status, snap, now),
    postValidation = post_view(c, now),
    createdAt = clock.iso(c.created), updatedAt = clock.iso(min(updated, max(now, c.created))),
    finishedAt = finished and clock.iso(finished) or null,
  }
  if status == "stopped" then
    o.stoppedBy = c.stop.by
    o.stoppedReason = c.stop.reason or null
  end
  if status == "failed" and c.error then o.error = c.error end
  for k, v in pairs(c.meta) do o[k] = v end
  if detail then o.normalizedCounts = { profiles = profiles, emails = emails } end
  return o
end

-- Campaigns that no longer change (terminal, no validation running) keep their
-- encoded detail body, so GET /campaigns/{id} in a benchmark is a table lookup.
local function cacheable(c) return c.term ~= nil and not (c.post and c.post.status == "validating") end

function M.view(c, now, detail)
  return build(c, now or clock.now(), detail)
end

function M.detail_body(c, now)
  if cacheable(c) and c.cache_version == c.version then return c.cache_body end
  local body = json.encode(build(c, now, true))
  if cacheable(c) then c.cache_version, c.cache_body = c.version, body end
  return body
end

-- handlers ------------------------------------------------------------------------

local function validated_request(ctx, with_title)
  local body = ctx:json_body()
  local req, errs = rules.validate(body, with_title)
  if #errs > 0 then http.validation(errs) end
  return req
end

-- POST /campaigns/reserve-preview
function M.preview(ctx, acct)
  local req = validated_request(ctx, false)
  local q = pricing.quote(req, acct.credits)
  return http.ok(200, { success = true, requestId = ctx.rid, data = q.data })
end

local function count_active(acct)
  local n = 0
  local now = clock.now()
  for _, c in ipairs(S.campaign_list) do
    if c.owner == acct.id and ACTIVE[(state(c, now))] then n = n + 1 end
  end
  return n
end

-- POST /campaigns
function M.create(ctx, acct)
  local req = validated_request(ctx, true)
  local q = pricing.quote(req, acct.credits)
  if config.values.enforce_concurrency and count_active(acct) >= acct.limit then
    http.raise(403, "CONCURRENT_CAMPAIGN_LIMIT",
      string.format("Your plan allows %d concurrent campaigns", acct.limit))
  end
  if q.reserved > acct.credits then
    http.raise(400, "INSUFFICIENT_CREDITS",
      string.format("Insufficient credits: %d required, %d available", q.reserved, acct.credits),
      { { param = "maxCreditCap", msg = "Not enough credits to reserve " .. q.reserved, location = "body" } })
  end
  local c = M.new_record(acct, req, q)
  c.charged = true
  ledger.apply(acct, -q.reserved, "CAMPAIGN_RESERVATION", "Credits reserved for campaign: " .. c.title,
    { campaignId = c.id, correlationId = "cmp_" .. c.id,
      metadata = { type = c.type, targetEmails = c.targetEmails, maxCreditCap = c.reserved } })
  S.active.campaigns[c] = true
  return http.ok(201, { campaign = build(c, clock.now(), false) })
end

local SORT_STATUS_ORDER = {}
for i, s in ipairs(rules.STATUSES) do SORT_STATUS_ORDER[s] = i end

local function matches_q(c, needle)
  local function has(s) return type(s) == "string" and s:lower():find(needle, 1, true) ~= nil end
  local i = c.inputs
  if has(c.title) or has(i.hashtag) or has(i.targetUser) or has(i.mediaUrl) or has(i.keyword) then return true end
  -- The reference names these fields only: strict mode searches no arrays.
  if config.values.strict_reference then return false end
  for _, list in ipairs({ i.hashtags or {}, i.keywords or {} }) do
    for _, s in ipairs(list) do if has(s) then return true end end
  end
  return false
end

-- GET /campaigns
function M.list(ctx, acct)
  local qr = query.reader(ctx)
  local page = qr:int("page", 1, 1)
  local per = qr:int("perPage", 10, 1, 100)
  local statuses = qr:list("status", rules.STATUS_SET)
  local types = qr:list("type", rules.TYPE_SET, rules.expand_type)
  local needle = qr:str("q")
  local sortBy = qr:enum("sortBy", { "createdAt", "progress", "status" }, "createdAt")
  local desc = qr:enum("order", { "asc", "desc" }, "desc") == "desc"
  local from, to = qr:date_range()
  qr:finish()
  local now = clock.now()
  local rows = {}
  needle = needle and needle:lower()
  for _, c in ipairs(S.campaign_list) do
    if c.owner == acct.id then
      local st = state(c, now)
      if (not statuses or statuses[st]) and (not types or types[c.type])
        and (not from or c.created >= from) and (not to or c.created <= to)
        and (not needle or matches_q(c, needle)) then
        rows[#rows + 1] = { c = c, st = st, seq = #rows }
      end
    end
  end
  local function key(r)
    if sortBy == "progress" then
      local st, ps, qd = state(r.c, now)
      return r.c.term and r.c.term.progress or progress_of(st, ps, qd)
    elseif sortBy == "status" then return SORT_STATUS_ORDER[r.st] end
    return r.c.created
  end
  for _, r in ipairs(rows) do r.k = key(r) end
  table.sort(rows, function(a, b)
    if a.k == b.k then
      if desc then return a.seq > b.seq end
      return a.seq < b.seq
    end
    if desc then return a.k > b.k end
    return a.k < b.k
  end)
  local items = {}
  for i = (page - 1) * per + 1, min(#rows, page * per) do items[#items + 1] = build(rows[i].c, now, false) end
  return http.ok(200, { items = json.arr(items), pagination = query.pagination(#rows, page, per) })
end

-- GET /campaigns/{id}
function M.get(ctx, acct, id)
  local c = M.owned(acct, id)
  return { status = 200, body = M.detail_body(c, clock.now()) }
end

-- GET /campaigns/{id}/leads
function M.leads(ctx, acct, id)
  local qr = query.reader(ctx)
  local page = qr:int("page", 1, 1)
  local per = qr:int("perPage", 10, 1, 1000)
  local f = {
    hasEmail = qr:bool("hasEmail"),
    validationStatus = qr:enum("validationStatus", { "valid", "invalid", "pending" }),
    platform = qr:enum("platform", leads.PLATFORMS),
    sourceType = qr:str("sourceType"),
    emailSource = qr:str("emailSource"),
  }
  local sortBy = qr:enum("sortBy", { "hasEmail", "followerCount", "scrapedAt" }, "hasEmail")
  local desc = qr:enum("order", { "asc", "desc" }, "desc") == "desc"
  qr:finish()
  local c = M.owned(acct, id)
  local snap = M.snapshot_now(c)
  local info = M.lead_info(c, acct)
  local items, total = leads.page(c, info, snap, f, sortBy, desc, page, per, leads.lead_json)
  return { status = 200, body = '{"items":[' .. table.concat(items, ",") .. '],"pagination":' ..
    json.encode(query.pagination(total, page, per)) .. "}" }
end

-- POST /campaigns/{id}/stop   (idempotent; 5/min/campaign)
function M.stop(ctx, acct, id)
  ratelimit.check("stop", acct, id)
  local c = M.owned(acct, id)
  local now = clock.now()
  local st, ps, qd = state(c, now)
  if st == "stopped" then
    return http.ok(200, { campaignId = c.id, stopRequested = true, status = "stopped",
                          stoppedBy = c.stop.by, stoppedReason = c.stop.reason or null })
  end
  if not ACTIVE[st] then
    http.raise(400, "CAMPAIGN_NOT_ACTIVE",
      "Campaign is not running (status: " .. st .. "); only pending, scraping or processing_emails campaigns can be stopped")
  end
  c.stop = { by = "user", reason = "Stopped via API", at = now }
  finish(c, "stopped", now, ps, qd, { progress = progress_of(st, ps, qd) })
  return http.ok(200, { campaignId = c.id, stopRequested = true, status = "stopped",
                        stoppedBy = "user", stoppedReason = c.stop.reason })
end

local function to_validate(c, now)
  if c.validation then return 0, nil end
  if c.post and (c.post.status == "completed" or c.post.status == "validating") then return 0, nil end
  local snap = M.snapshot_now(c, now)
  return snap.a + snap.b, snap
end

-- GET /campaigns/{id}/validate/preview  (bare object)
function M.validate_preview(ctx, acct, id)
  local c = M.owned(acct, id)
  local now = clock.now()
  local st = state(c, now)
  local n = to_validate(c, now)
  local cost = n
  local enough = acct.credits >= cost
  return http.ok(200, {
    campaignId = c.id, emailsToValidate = n, creditCost = cost, currentBalance = acct.credits,
    hasSufficientCredits = enough,
    canValidate = enough and n > 0 and (st == "fully_completed" or st == "stopped")
      and not (c.post and c.post.status == "validating"),
  })
end

-- POST /campaigns/{id}/validate  (202; 3/min/campaign)
function M.validate(ctx, acct, id)
  ratelimit.check("validate", acct, id)
  local c = M.owned(acct, id)
  local now = clock.now()
  local st = state(c, now)
  if c.post and c.post.status == "validating" then
    http.raise(409, "VALIDATION_IN_PROGRESS", "Email validation is already running for this campaign")
  end
  if st ~= "fully_completed" and st ~= "stopped" then
    http.raise(400, "INVALID_CAMPAIGN_STATUS",
      "Campaign must be fully_completed or stopped to validate (status: " .. st .. ")")
  end
  local n, snap = to_validate(c, now)
  if n == 0 then
    http.raise(400, "NO_EMAILS_TO_VALIDATE", "This campaign has no unvalidated emails")
  end
  if acct.credits < n then
    http.raise(400, "INSUFFICIENT_CREDITS",
      string.format("Insufficient credits: %d required, %d available", n, acct.credits))
  end
  local job = ids.object_id()
  c.post = { jobId = job, status = "validating", total = n, reserved = n, start = now,
             duration = config.values.job_seconds, snap = snap, validated = 0, valid = 0, invalid = 0 }
  ledger.apply(acct, -n, "EMAIL_VALIDATION_DEDUCTION", "Credits reserved for campaign email validation",
    { campaignId = c.id, correlationId = "val_" .. job, metadata = { validationJobId = job, emails = n } })
  S.active.validations[c] = true
  c.version = c.version + 1
  return http.ok(202, { campaignId = c.id, jobId = job, emailsToValidate = n, creditCost = n, status = "validating" })
end

return M
