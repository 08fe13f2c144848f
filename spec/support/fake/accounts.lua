-- Fixed test accounts and authentication.
--
-- Keys are constants so a demo shell, a spec and a benchmark can all use them
-- without asking the server.  Ownership is what makes another account's ids
-- answer 404: every lookup goes through owned(...) in the resource modules.
local S = require "fake.state"
local clock = require "fake.clock"
local http = require "fake.http"
local json = require "fake.json"

local M = {}

M.FIXTURES = {
  { name = "A", id = "64b7f0c2a1e4d3b2c1a0f001", email = "owner-a@example.com", display = "Account A (paid)",
    api_key = "sk_live_fakeA_4f1c2b9d8e7a6b5c4d3e2f1a0b9c8d7e", access_token = "fake_access_token_A_7d2c9e41b6a8",
    credits = 100000, mask = false, limit = 10, speed = "fast" },
  { name = "B", id = "64b7f0c2a1e4d3b2c1a0f002", email = "owner-b@example.com", display = "Account B (paid)",
    api_key = "sk_live_fakeB_9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d", access_token = "fake_access_token_B_3e5f7a9b1c2d",
    credits = 100000, mask = false, limit = 10, speed = "normal" },
  { name = "free", id = "64b7f0c2a1e4d3b2c1a0f003", email = "free-user@example.com", display = "Free Account",
    api_key = "sk_live_fakeFree_0a1b2c3d4e5f60718293a4b5c6d7e8f9", access_token = "fake_access_token_free_5a6b7c8d9e0f",
    credits = 500, mask = true, limit = 1, speed = "slow" },
  { name = "poor", id = "64b7f0c2a1e4d3b2c1a0f004", email = "low-balance@example.com", display = "Low Balance Account",
    api_key = "sk_live_fakePoor_f9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4", access_token = "fake_access_token_poor_1f2e3d4c5b6a",
    credits = 50, mask = false, limit = 2, speed = "normal" },
}

-- Called by reset: fresh accounts, each with its opening ledger entry.
function M.install(ledger)
  local created = clock.now() - 30 * 86400
  for _, f in ipairs(M.FIXTURES) do
    local a = {
      id = f.id, name = f.name, email = f.email, display = f.display,
      api_key = f.api_key, access_token = f.access_token,
      credits = 0, mask = f.mask, limit = f.limit, speed = f.speed,
      created = created,
    }
    S.accounts[a.id] = a
    S.by_key[a.api_key] = a
    S.by_token[a.access_token] = a
    S.by_name[a.name] = a
    ledger.apply(a, f.credits, f.mask and "ADMIN_CREDIT_ADJUSTMENT" or "SUBSCRIPTION_INITIAL",
      f.mask and "Free plan starter credits" or "Subscription started: Pro plan",
      { at = created, paymentGateway = (not f.mask) and "paddle" or nil,
        paymentId = (not f.mask) and ("pay_fake_" .. f.name) or nil })
  end
end

-- X-API-Key wins over Authorization: Bearer.  Returns the account or raises 401.
function M.authenticate(ctx)
  local key = ngx.var.http_x_api_key
  if key and key ~= "" then
    local a = S.by_key[key]
    if a then return a end
    http.raise(401, "UNAUTHORIZED", "Invalid API key")
  end
  local auth = ngx.var.http_authorization
  if auth and auth ~= "" then
    local token = auth:match("^[Bb][Ee][Aa][Rr][Ee][Rr]%s+(%S+)%s*$")
    if token and S.by_token[token] then return S.by_token[token] end
    http.raise(401, "UNAUTHORIZED", "Invalid or expired access token")
  end
  http.raise(401, "UNAUTHORIZED", "Authentication required: send an X-API-Key header")
end

function M.resolve(name)
  if name == nil then return S.by_name.A end
  return S.by_name[name] or S.accounts[name]
end

-- GET /auth/me  (bare object)
function M.me(ctx, acct)
  return http.ok(200, {
    id = acct.id,
    email = acct.email,
    name = acct.display,
    avatar = json.null,
    isVerified = true,
    shouldMaskEmail = acct.mask,
    credits = acct.credits,
    concurrentCampaignLimit = acct.limit,
    scrapingSpeed = acct.speed,
    createdAt = clock.iso(acct.created),
  })
end

function M.public_list()
  local out = {}
  for _, f in ipairs(M.FIXTURES) do
    local a = S.by_name[f.name]
    out[#out + 1] = { name = f.name, id = f.id, email = f.email, api_key = f.api_key,
                      access_token = f.access_token, credits = a and a.credits or f.credits,
                      shouldMaskEmail = f.mask }
  end
  return out
end

return M
