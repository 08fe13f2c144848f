-- The credits ledger.  Every change to an account's balance goes through
-- apply(), which writes one CreditTransaction with balanceBefore / amount /
-- balanceAfter, so GET /credit-transactions always reconciles with
-- GET /auth/me.  Amounts are integers (the pricing model only produces whole
-- credits), which keeps JSON output free of ".0".
local S = require "fake.state"
local clock = require "fake.clock"
local ids = require "fake.ids"
local http = require "fake.http"
local json = require "fake.json"
local util = require "fake.util"
local query = require "fake.query"

local M = {}

M.TYPES = {
  "CAMPAIGN_RESERVATION", "CAMPAIGN_SETTLEMENT", "CAMPAIGN_OVERAGE", "EMAIL_VALIDATION_DEDUCTION",
  "EMAIL_VALIDATION_REFUND", "SUBSCRIPTION_INITIAL", "SUBSCRIPTION_RENEWAL", "SUBSCRIPTION_UPGRADE",
  "SUBSCRIPTION_DOWNGRADE", "PAYMENT_PADDLE", "PAYMENT_CRYPTOMUS", "PAYMENT_STRIPE_TOPUP",
  "PAYMENT_PADDLE_TOPUP", "ADMIN_CREDIT_ADJUSTMENT",
}
local TYPE_SET = util.set(M.TYPES)

local seq = 0

-- opts: at (time), campaignId, correlationId, metadata, paymentId, paymentGateway
function M.apply(acct, amount, ttype, description, opts)
  opts = opts or {}
  local before = acct.credits
  acct.credits = before + amount
  seq = seq + 1
  local at = opts.at or clock.now()
  local e = {
    seq = seq, account = acct.id, at = at,
    id = ids.object_id(),
    balanceBefore = before, amount = amount, balanceAfter = acct.credits,
    type = ttype, description = description,
    campaignId = opts.campaignId, correlationId = opts.correlationId,
    metadata = opts.metadata, paymentId = opts.paymentId, paymentGateway = opts.paymentGateway,
  }
  S.ledger[#S.ledger + 1] = e
  return e
end

local function view(e)
  local n = json.null
  return {
    id = e.id, timestamp = clock.iso(e.at),
    balanceBefore = e.balanceBefore, amount = e.amount, balanceAfter = e.balanceAfter,
    type = e.type, description = e.description,
    campaignId = e.campaignId or n, paymentId = e.paymentId or n,
    paymentGateway = e.paymentGateway or n, correlationId = e.correlationId or n,
    metadata = e.metadata or n, createdAt = clock.iso(e.at),
  }
end

-- GET /credit-transactions
function M.list(ctx, acct)
  local q = query.reader(ctx)
  local page = q:int("page", 1, 1)
  local per = q:int("perPage", 10, 1, 100)
  local types = q:list("type", TYPE_SET)
  local campaign = q:str("campaignId")
  local from, to = q:date_range()
  local sortBy = q:enum("sortBy", { "timestamp", "amount" }, "timestamp")
  local desc = q:enum("order", { "asc", "desc" }, "desc") == "desc"
  q:finish()

  local rows = {}
  for _, e in ipairs(S.ledger) do
    if e.account == acct.id
      and (not types or types[e.type])
      and (not campaign or e.campaignId == campaign)
      and (not from or e.at >= from) and (not to or e.at <= to) then
      rows[#rows + 1] = e
    end
  end
  table.sort(rows, function(a, b)
    local ka, kb
    if sortBy == "amount" then ka, kb = a.amount, b.amount else ka, kb = a.at, b.at end
    if ka == kb then ka, kb = a.seq, b.seq end
    if desc then return ka > kb end
    return ka < kb
  end)
  local items = {}
  for i = (page - 1) * per + 1, math.min(#rows, page * per) do items[#items + 1] = view(rows[i]) end
  return http.ok(200, {
    transactions = json.arr(items),
    pagination = query.pagination(#rows, page, per),
    requestId = ctx.rid,
  })
end

return M
