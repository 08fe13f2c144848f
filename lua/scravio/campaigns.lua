--- client.campaigns and the Campaign object's methods.
local core = require("scravio.core")
local body = require("scravio.body")
local budget = require("scravio.budget")
local errors = require("scravio.errors")
local options = require("scravio.options")
local pagination = require("scravio.pagination")
local reconcile = require("scravio.reconcile")
local request = require("scravio.request")
local resource = require("scravio.resource")
local validate = require("scravio.validate")

local M = {}
local Service
Service, M.service = resource.service_class()
M.Service = Service -- workflows.lua adds the convenience methods here
local check_query = pagination.check_query

--- POST /campaigns/reserve-preview -> preview table (the `data` object)
-- Sends the params less the create-only fields (body.CREATE_ONLY: title),
-- so the same params serve preview and create; everything else, inputs
-- included, goes as given.
function Service:preview(params, call)
  local ok, problems = validate.preview(params)
  if not ok then return nil, errors.invalid(problems, "campaign preview") end
  local copts, cerr = options.call(call, "campaigns:preview")
  if not copts then return nil, cerr end
  local res, err = request.call(self.client, "POST", "/campaigns/reserve-preview",
    request.with({ body = body.preview(params), safe = true }, copts)) -- a preview reserves nothing: safe to resend
  if res == nil then return nil, err end
  return request.unwrap(res)
end

-- After a create whose outcome is unknown: find the campaign it made, if any.
-- A match is a campaign created since the request started (less the
-- clock-skew allowance, reconcile.CLOCK_SKEW: createdAt is checked here, not
-- only through `from`), that this client did not already create before
-- (client._created), with the same type, targetEmails, title (when sent) and
-- every input we sent, compared as a server may have normalised them
-- (reconcile.same). Every campaign of that type created since then is looked
-- at (reconcile.listed_since walks the pages), not only a first page.
local function find_created(client, params, started_wall)
  local matches = {}
  for _, c in ipairs(reconcile.listed_since(client, "campaigns", "/campaigns", { type = params.type }, started_wall)) do
    if type(c._id) == "string" and not reconcile.known(client, c._id)
      and c.type == params.type and c.targetEmails == params.targetEmails
      and (params.title == nil or reconcile.same(params.title, c.title)) and type(c.inputs) == "table" then
      local all = true
      for k, v in pairs(params.inputs) do
        if not reconcile.same(v, c.inputs[k]) then all = false break end
      end
      if all then matches[#matches + 1] = { id = c._id, value = c } end
    end
  end
  local one, note = reconcile.the_one(matches, "campaigns")
  return one and one.value, note
end
M.find_created = find_created

-- The campaign in a create answer ({campaign}, {success, data}, {data:
-- {campaign}} or the bare object), and its id (request.call's result_id).
local function campaign_of(res)
  local data = res.campaign or request.unwrap(res)
  if type(data) == "table" and type(data.campaign) == "table" then data = data.campaign end
  return data
end

function M.created_id(res)
  return campaign_of(res)._id
end

--- POST /campaigns -> Campaign. Reserves credits: never resent once it may
-- have reached the server; an unknown outcome is reconciled first.
function Service:create(params, call)
  local ok, problems = validate.campaign(params)
  if not ok then return nil, errors.invalid(problems, "campaign") end
  local copts, cerr = options.call(call, "campaigns:create")
  if not copts then return nil, cerr end
  local client = self.client
  local res, err = request.call(client, "POST", "/campaigns", request.with({
    body = body.campaign(params), safe = false, result_id = M.created_id,
    reconcile = function(started_wall)
      local found, note = find_created(client, params, started_wall)
      if found then return { campaign = found } end
      return nil, note
    end,
    unknown_hint = "list campaigns created since the call (GET /campaigns?sortBy=createdAt&order=desc)",
  }, copts))
  if res == nil then return nil, err end
  local c, werr = core.wrap("Campaign", campaign_of(res), client)
  -- Created (answered or reconciled): never to be taken for a later create's result.
  if c then reconcile.remember(client, c._id) end
  return c, werr
end

--- GET /campaigns/{id} -> Campaign
Service.get = resource.getter("Campaign", "/campaigns/{}", "campaigns:get")

--- GET /campaigns -> {items={Campaign...}, pagination={...}}   (list)
--- Iterator of Campaign over all pages, raising the error object   (each)
pagination.define(Service, "campaigns", "Campaign", "/campaigns")

-- ---- Campaign methods ------------------------------------------------------
local Campaign = core.methods.Campaign

--- c:refresh() -> c, updated in place
Campaign.refresh = resource.refresher("/campaigns/{}", "_id", "c:refresh")

--- c:data() -> a plain deep copy of the API object
Campaign.data = resource.data
M.deep_copy = resource.deep_copy

--- c:stop() -> stop result (POST /campaigns/{id}/stop; idempotent, 5/min)
function Campaign.stop(c, call)
  local copts, cerr = options.call(call, "c:stop")
  if not copts then return nil, cerr end
  local data, client = core.unwrap(c)
  local res, err = request.call(client, "POST", "/campaigns/{}/stop",
    request.with({ safe = true, pace = { "stop", data._id } }, copts), data._id)
  if res == nil then return nil, err end
  local result = request.unwrap(res)
  -- The answer carries the campaign's updated status: the object says so too,
  -- rather than keep the state it had before the stop.
  if type(result) == "table" and type(result.status) == "string" then data.status = result.status end
  return result
end

--- c:leads_page(query, call) -> {items={lead...}, pagination={...}}
function Campaign.leads_page(c, query, call)
  local ok, err = check_query("leads", query)
  if not ok then return nil, err end
  local copts, cerr = options.call(call, "c:leads_page")
  if not copts then return nil, cerr end
  local id, client = c._id, core.owner(c) -- one field read, nothing decoded whole
  return pagination.page(client, "leads", nil, "/campaigns/{}/leads", query, copts, id)
end

--- c:leads(query, call) -> iterator of lead tables over all pages
function Campaign.leads(c, query, call)
  local ok, err = check_query("leads", query)
  if not ok then errors.raise(err) end
  local copts, cerr = options.call(call, "c:leads")
  if not copts then errors.raise(cerr) end
  local id, client = c._id, core.owner(c) -- one field read, nothing decoded whole
  return pagination.each(client, "leads", nil, "/campaigns/{}/leads", query, copts, id)
end

--- c:validation_preview(call) -> {emailsToValidate, creditCost, currentBalance, ...}
function Campaign.validation_preview(c, call)
  local copts, cerr = options.call(call, "c:validation_preview")
  if not copts then return nil, cerr end
  local id, client = c._id, core.owner(c) -- one field read, nothing decoded whole
  local res, err = request.call(client, "GET", "/campaigns/{}/validate/preview", request.with(nil, copts), id)
  if res == nil then return nil, err end
  return request.unwrap(res)
end

-- After a validate whose outcome is unknown: is validation now running (or
-- done) on this campaign, started since we asked (less the clock-skew
-- allowance)? A validation this client itself started so shortly before that
-- the two cannot be told apart is not taken for this one.
local function find_validation(client, id, started_wall)
  local res = request.call(client, "GET", "/campaigns/{}", { max_retries = 3 }, id)
  local pv = type(res) == "table" and request.unwrap(res).postValidation
  if type(pv) ~= "table" or (pv.status ~= "validating" and pv.status ~= "completed") then return nil end
  if not reconcile.created_since(pv.startedAt, started_wall) then return nil end -- an older validation
  local earlier = reconcile.known(client, "validation:" .. id)
  if earlier and earlier >= started_wall - 2 * reconcile.CLOCK_SKEW then return nil end
  return { campaignId = id, status = pv.status, emailsToValidate = pv.total,
    creditCost = pv.creditReserved, reconciled = true }
end

-- The guard of c:validate(call, {max_credits=, confirm=}): the free cost
-- estimate (GET .../validate/preview) checked as launch checks its preview
-- (scravio.budget). -> true | nil, err (budget / cancelled; nothing spent)
local function guard_validation(c, copts, guard)
  local vp, verr = Campaign.validation_preview(c, copts)
  if not vp then return nil, verr end
  local cost, balance = budget.credits(vp.creditCost), budget.credits(vp.currentBalance)
  local max_credits = guard.max_credits
  local fields = { reserve = cost, balance = balance, max_credits = max_credits, preview = vp }
  if max_credits and cost == nil then
    return nil, budget.refuse("the validation preview does not say what validating costs (no creditCost), so " ..
      "max_credits cannot be checked; nothing was spent", fields)
  end
  if cost and budget.over(cost, max_credits) then
    return nil, budget.refuse(string.format("validating %s emails costs %s credits, more than max_credits %s; " ..
      "pass max_credits = %s (or more) to go ahead; nothing was spent", tostring(vp.emailsToValidate or "the"),
      budget.fmt(cost), budget.fmt(max_credits), budget.fmt(cost)), fields)
  end
  if cost and balance and cost > balance then
    return nil, budget.refuse(string.format("validating costs %s credits but the balance is %s; nothing was spent",
      budget.fmt(cost), budget.fmt(balance)), fields)
  end
  -- The preview's own verdicts: the reference has it checked "before POST
  -- /campaigns/{id}/validate", so a guarded call does not POST past a no.
  if vp.hasSufficientCredits == false then
    return nil, budget.refuse("the validation preview says the balance does not cover validating " ..
      "(hasSufficientCredits = false); nothing was spent", fields)
  end
  if vp.canValidate == false then
    return nil, budget.refuse("the validation preview says this campaign cannot be validated now (canValidate = " ..
      "false: it must be fully_completed or stopped, with no validation running); nothing was spent", fields)
  end
  return budget.ask(guard.confirm, vp, { reserve = cost, balance = balance, max_credits = max_credits },
    "validation", "nothing was spent", { reserve = cost, balance = balance, preview = vp })
end

--- c:validate([call]) -> {campaignId, jobId, emailsToValidate, creditCost, status}
-- Reserves credits: not resent blindly (3/min per campaign, 409 if running).
-- c:validate(call, {max_credits=, confirm=fn(preview, info)}): first the
-- free GET .../validate/preview; a creditCost over max_credits or the
-- preview's currentBalance is err.kind "budget", a confirm() answering
-- anything but true is "cancelled", and then nothing is POSTed. Without the
-- second table the call is the plain POST.
function Campaign.validate(c, call, guard)
  local copts, cerr = options.call(call, "c:validate")
  if not copts then return nil, cerr end
  if guard ~= nil then
    local g, gerr = options.check("validate_guard", guard, "c:validate")
    if not g then return nil, gerr end
    local ok, refused = guard_validation(c, copts, g)
    if not ok then return nil, refused end
  end
  local id, client = c._id, core.owner(c) -- one field read, nothing decoded whole
  local res, err = request.call(client, "POST", "/campaigns/{}/validate", request.with({
    safe = false, pace = { "validate", id },
    result_id = function(v) return request.unwrap(v).jobId end,
    reconcile = function(started_wall) return find_validation(client, id, started_wall) end,
    unknown_hint = "look at the campaign's postValidation (GET /campaigns/{id})",
  }, copts), id)
  if res == nil then return nil, err end
  if type(id) == "string" then reconcile.remember(client, "validation:" .. id) end
  return request.unwrap(res)
end

--- c:export({emailOnly=, onlyValidEmails=, fileFormat=}, call) -> Export
-- The first table is the API's body (POST /list-exports, less campaignId);
-- the per-call options come next.
function Campaign.export(c, opts, call)
  if opts ~= nil and type(opts) ~= "table" then
    return nil, errors.invalid({ { param = "opts", location = "argument",
      msg = "c:export expects a table such as {fileFormat = \"csv\"}, got " .. type(opts) } }, "export")
  end
  local id, client = c._id, core.owner(c) -- one field read, nothing decoded whole
  local params = {}
  for k, v in pairs(opts or {}) do params[k] = v end
  params.campaignId = id
  return client.exports:create(params, call)
end

return M
