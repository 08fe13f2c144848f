-- The fake's deterministic pricing model (documented in spec/support/README.md).
--
--   rate(type)   credits per collected email: 1 for INSTAGRAM_PROFILE_LIST,
--                3 for YOUTUBE_* and LINKEDIN_*, 2 for everything else
--   G            emailCollectionGoal = targetEmails, or ceil(targetEmails*1.25)
--                with enableEmailValidation (about 20% of raw emails fail)
--   perEmail     rate + 1 when enableEmailValidation (1 credit per validation)
--   U            estimatedUsageCredits   = G * perEmail
--   R            reserveUsageCredits     = ceil(G*1.2) * perEmail   (20% buffer)
--                recommendedMaxCreditCap = estimatedCredits = R
--   reserved     creditReserved = maxCreditCap if given, else R
--   settlement   emails actually collected = min(G, floor(reserved/perEmail))
--                (fewer when stopped / failed early); creditUsed = emails*perEmail;
--                creditReturned = reserved - creditUsed
--   profiles     5 scanned per email (publicEmailRate 0.2); deep search finds
--                40% of the emails on supported (non keyword-search) types
local rules = require "fake.campaign_rules"
local json = require "fake.json"

local M = {}

M.PRICING_VERSION = "fake-pricing-2025.1"
M.RESERVATION_VERSION = "fake-reservation-v2"
M.RESERVE_BUFFER = 1.2
M.PUBLIC_EMAIL_RATE = 0.2
M.PROFILES_PER_EMAIL = 5
M.DEEP_SHARE = 0.4
M.VALID_SHARE = 0.8

local PLATFORM_RATE = { instagram = 2, x = 2, tiktok = 2, facebook = 2, youtube = 3, linkedin = 3 }

function M.rate(t)
  if t == "INSTAGRAM_PROFILE_LIST" then return 1 end
  return PLATFORM_RATE[rules.platform(t)] or 2
end

local ceil, floor, min = math.ceil, math.floor, math.min

M.CHECKSUM = "fake-" .. ngx.md5("instagram=2,x=2,tiktok=2,facebook=2,youtube=3,linkedin=3,profile_list=1,validation=1"):sub(1, 12)

-- quote(req, balance) -> q
--   q.data      the JSON object for reserve-preview `data` (and creditSettlement)
--   q.reserved, q.perEmail, q.goal, q.deep, q.rate   (internal)
function M.quote(req, balance)
  local t, E = req.type, req.targetEmails
  local validation = req.enableEmailValidation == true
  local deep = rules.deep_supported(t) and req.enableDeepEmailSearch ~= false
  local rate = M.rate(t)
  local per = rate + (validation and 1 or 0)
  local G = validation and ceil(E * 1.25) or E
  local U = G * per
  local reserveG = ceil(G * M.RESERVE_BUFFER)
  local R = reserveG * per
  local reserved = req.maxCreditCap or R
  local profiles = G * M.PROFILES_PER_EMAIL
  local lookups = deep and G * 2 or 0
  local collectible = min(G, floor(reserved / per))
  local deliverable = validation and floor(collectible * M.VALID_SHARE) or collectible
  if deliverable > E then deliverable = E end

  local budgetMode = "recommended"
  local warnings = {}
  if req.maxCreditCap then
    budgetMode = req.maxCreditCap < U and "user_limited" or "custom"
    if req.maxCreditCap < U then
      warnings[#warnings + 1] = { code = "CAP_BELOW_ESTIMATE", severity = "warning",
        message = string.format("maxCreditCap %d is below the estimated usage of %d credits; the campaign may stop after about %d emails",
          req.maxCreditCap, U, deliverable) }
    end
  end
  if balance and reserved > balance then
    warnings[#warnings + 1] = { code = "INSUFFICIENT_BALANCE", severity = "error",
      message = string.format("Launching reserves %d credits but the balance is %d", reserved, balance) }
  end
  if req.enableDeepEmailSearch == true and not rules.deep_supported(t) then
    warnings[#warnings + 1] = { code = "DEEP_SEARCH_NOT_APPLICABLE", severity = "info",
      message = t .. " is an email-only keyword campaign; deep email search does not apply" }
  end

  local filterImpacts = {}
  if req.inputs.countries and #req.inputs.countries > 0 then
    filterImpacts[1] = { filter = "countries", values = req.inputs.countries, selectivity = 0.5,
                         directCounters = { profileScans = profiles * 2 } }
  end

  local counters = function(g)
    return { emailLeads = g, emailValidations = validation and g or 0,
             profileScans = g * M.PROFILES_PER_EMAIL, hiddenEmailLookups = deep and g * 2 or 0 }
  end
  local rates = { emailLeads = rate, emailValidations = 1, profileScans = 0, hiddenEmailLookups = 0 }

  local data = {
    type = t,
    creditReserved = reserved,
    targetEmails = E,
    emailCollectionGoal = G,
    maxItemsToProcess = profiles * 2,
    maxProfilesToScan = profiles,
    pricingVersion = M.PRICING_VERSION,
    reservationVersion = M.RESERVATION_VERSION,
    maxCreditCap = reserved,
    estimatedCredits = R,
    estimatedUsageCredits = U,
    reserveUsageCredits = R,
    recommendedMaxCreditCap = R,
    summary = {
      maxCreditSpend = reserved,
      targetEmails = E,
      estimatedEmails = deliverable,
      profilesToScan = profiles,
      hiddenEmailLookups = lookups,
      publicEmailRate = M.PUBLIC_EMAIL_RATE,
      creditsPerEmail = per,
    },
    targetMode = "email_leads",
    budgetMode = budgetMode,
    filterImpacts = json.arr(filterImpacts),
    estimatedCounters = counters(G),
    expectedCounters = counters(G),
    reserveCounters = counters(reserveG),
    estimatedRates = rates,
    rateRegistryChecksum = M.CHECKSUM,
    assumptions = {
      publicEmailRate = M.PUBLIC_EMAIL_RATE,
      deepSearchShare = deep and M.DEEP_SHARE or 0,
      validationPassRate = validation and M.VALID_SHARE or json.null,
      reserveBuffer = M.RESERVE_BUFFER,
      maxItemsToProcess = profiles * 2,
      maxProfilesToScan = profiles,
      creditsPerEmail = per,
    },
    warnings = json.arr(warnings),
  }
  return { data = data, reserved = reserved, per = per, goal = G, deep = deep, rate = rate,
           collectible = collectible, validation = validation, budgetMode = budgetMode }
end

return M
