--- Workflows: the multi-step operations built on the resource services.
-- Requiring this module attaches them (client.lua requires it):
--
--   client.campaigns:launch(params, {max_credits=, confirm=})  --> Campaign, preview
--   client.campaigns:run(params, {max_credits=, out=, ...})    --> Campaign, path
--   client.validation_jobs:submit_file(path, {column=, ...})   --> ValidationJob
--   c:wait{...}  j:wait{...}  e:wait{...}                      (scravio.wait)
--   e:download(path, {...})  j:download(path, {...})           (scravio.download)
--
-- Everything that waits goes through scravio.runtime, so these run unchanged
-- in plain Lua and inside OpenResty.
local budgets = require("scravio.budget")
local core = require("scravio.core")
local campaigns = require("scravio.campaigns")
local download = require("scravio.download")
local errors = require("scravio.errors")
local exports = require("scravio.exports")
local options = require("scravio.options")
local receivers = require("scravio.receivers")
local request = require("scravio.request")
local runtime = require("scravio.runtime")
local upload = require("scravio.upload")
local validate = require("scravio.validate")
local validation_jobs = require("scravio.validation_jobs")
local wait = require("scravio.wait")

local M = {}

local function number(v)
  if type(v) == "number" and v == v then return v end
  return nil
end

local fmt = budgets.fmt

--- The most credits the campaign POST /campaigns creates for these params
-- can be charged, given their reserve-preview: what launch checks against
-- max_credits and the balance.
--   * The caller's maxCreditCap when given: a "hard stop cap" the server
--     enforces, so no more can be charged.
--   * Without one the server picks the cap, and the reference names that
--     default several ways: "the reserved credits become the cap"
--     (creditReserved, "Credits to reserve on launch"), "defaults the cap to
--     the recommended reservation" (recommendedMaxCreditCap), and
--     estimatedCredits is the "Recommended/default hard cap". Any of them may
--     be the one applied, so the bound is the largest of those the preview
--     names (with its maxCreditCap and summary.maxCreditSpend): money never
--     exceeds a max_credits that passed the check.
-- -> credits, source (the field it came from) | nil when the preview names none.
M.DEFAULT_CAP_FIELDS = { "creditReserved", "estimatedCredits", "recommendedMaxCreditCap", "maxCreditCap" }
function M.reservation(params, preview)
  local cap = number(params.maxCreditCap)
  if cap then return cap, "maxCreditCap" end
  if type(preview) ~= "table" then return nil end
  -- A negative figure is no reservation at all (budget.credits).
  local credits = budgets.credits
  local best, source
  for _, k in ipairs(M.DEFAULT_CAP_FIELDS) do
    local v = credits(preview[k])
    if v and (best == nil or v > best) then best, source = v, k end
  end
  local s = preview.summary
  local spend = type(s) == "table" and credits(s.maxCreditSpend) or nil
  if spend and (best == nil or spend > best) then best, source = spend, "summary.maxCreditSpend" end
  return best, source
end

local budget = budgets.refuse

--- client.campaigns:launch(params, {max_credits=, confirm=fn(preview, info),
--   timeout=, deadline=, max_retries=, headers=})
--   --> Campaign, preview | nil, err, preview
--
-- opts are checked against options.schemas.launch before anything is sent;
-- the per-call options apply to each of the three requests, deadline to the
-- three together (each request gets what is left of it).
-- 1. POST /campaigns/reserve-preview with params (nothing is reserved).
-- 2. The most it can be charged (M.reservation: the caller's maxCreditCap,
--    else the largest default cap the preview names) is checked against max_credits and
--    against the balance (GET /auth/me credits); either one exceeded ->
--    err.kind "budget" (err.reserve, err.max_credits, err.balance).
-- 3. confirm(preview, {reserve=, balance=, max_credits=, masked_emails=}) when given; a
--    false/nil answer -> err.kind "cancelled".
-- 4. POST /campaigns with the caller's params unchanged: the same type,
--    inputs, targetEmails, maxCreditCap and validation flags as the preview
--    (plus title and the other create fields), as the reference asks. No
--    maxCreditCap is added: without one the backend applies its default
--    cap, which step 2 checked at its largest possible value.
--    max_credits is a client-side gate only and is never sent; pass
--    maxCreditCap in params for a cap the server itself enforces.
-- Any refusal happens before step 4: nothing is created, nothing is spent.
function M.launch(service, params, opts)
  local o, oerr = options.check("launch", opts, "launch")
  if not o then return nil, oerr end
  opts = o
  local client = service.client
  -- One deadline for the three requests together (request.within): each
  -- request ends by then, whatever is left of it.
  local deadline, derr = request.deadline(client, opts, true)
  if not deadline then return nil, derr end
  return request.within(client, deadline, M.launch_steps, service, client, params, opts)
end

--- The steps of launch, inside its deadline.
function M.launch_steps(service, client, params, opts)
  local per_call = options.call_part(opts, { "timeout", "max_retries", "headers" })
  local function call() return per_call end
  -- The create rules (title included) up front: a launch that would fail at
  -- the last step is refused before the first.
  local valid, problems = validate.campaign(params)
  if not valid then return nil, errors.invalid(problems, "campaign") end

  local preview, perr = service:preview(params, call())
  if not preview then return nil, perr end

  local max_credits = opts.max_credits
  local reserve, source = M.reservation(params, preview)
  if reserve == nil then
    -- Nothing to check max_credits or the balance against, and without a
    -- maxCreditCap the server would cap at a figure nobody saw: refuse.
    return nil, budget("the reserve preview does not say how many credits launching reserves, so the " ..
      "budget cannot be checked; pass maxCreditCap in params for a cap the server enforces; nothing was created",
      { preview = preview, max_credits = max_credits }), preview
  end

  if budgets.over(reserve, max_credits) then
    local why = source == "maxCreditCap" and "its maxCreditCap" or string.format(
      "%s: without a maxCreditCap the server's default cap may be any of the preview's creditReserved, " ..
      "estimatedCredits and recommendedMaxCreditCap, so the largest counts; pass maxCreditCap <= %s in params " ..
      "to launch within max_credits", source, fmt(max_credits))
    return nil, budget(string.format(
      "launching can charge up to %s credits (%s), more than max_credits %s; nothing was created",
      fmt(reserve), why, fmt(max_credits)), {
      reserve = reserve, max_credits = max_credits, preview = preview }), preview
  end

  local me, merr = client:me(call())
  if not me then return nil, merr, preview end
  local balance = number(me.credits)
  if balance and reserve > balance then
    return nil, budget(string.format(
      "launching can charge up to %s credits (%s) but the balance is %s; nothing was created%s",
      fmt(reserve), source, fmt(balance), source == "maxCreditCap" and "" or
        "; pass a maxCreditCap within the balance in params to cap it"), {
      reserve = reserve, balance = balance, max_credits = max_credits, preview = preview }), preview
  end

  -- A free account's leads and exports hold masked emails (the reference:
  -- "exports remain masked until a confirmed purchase unlocks the account"):
  -- confirm is told before anything is spent, so it is no surprise after.
  local masked = me.shouldMaskEmail == true or nil
  local ok, cancelled = budgets.ask(opts.confirm, preview, { reserve = reserve, balance = balance,
    max_credits = max_credits, masked_emails = masked }, "launch", "nothing was created", { reserve = reserve, balance = balance,
    preview = preview })
  if not ok then return nil, cancelled, preview end

  local c, cerr = service:create(params, call())
  if not c then return nil, cerr, preview end
  return c, preview
end

local function fail(err, fields)
  for k, v in pairs(fields) do err[k] = v end
  return nil, err, fields.campaign
end

--- client.campaigns:run(params, {max_credits=, confirm=, out="leads.csv",
--   emailOnly=, onlyValidEmails=, fileFormat=, progress=, timeout=,
--   interval=, max_interval=, on_progress=, deadline=, max_retries=, headers=})
--   --> Campaign, path, bytes | nil, err, campaign-or-preview
--
-- launch -> c:wait -> c:export -> e:wait -> e:download(out). max_credits and
-- confirm go to launch: max_credits is checked against the preview's
-- reservation before anything is created and is not sent (the create body is
-- params unchanged; see M.launch). timeout bounds
-- the two waits together (seconds; nil = no bound); interval, max_interval,
-- progress and on_progress go to both waits (on_progress sees the Campaign,
-- then the Export: scravio.kind(x) tells them apart), progress also to the
-- download's progress bar. A campaign that ends "failed" is an error (kind
-- "api", code "CAMPAIGN_FAILED"); a "stopped" one still has leads and is
-- exported. Once the campaign exists every error carries it (err.campaign,
-- and the third return value), so a caller can resume from there.
-- deadline bounds the whole run (every request, both waits, every pause and
-- the download), computed once. max_retries and headers apply to every API
-- request of the run. Unknown
-- options are refused (kind "invalid", options.schemas.run): a misspelt
-- max_credits must not silently lift the budget.
local run_steps

-- A Ctrl-C at any point of run (the waits and the download answer
-- kind = "cancelled" themselves; this covers the steps in between) answers
-- kind = "cancelled" too, naming the campaign once it exists.
function M.run(service, params, opts)
  local state = {}
  local ok, a, b, c = pcall(run_steps, service, params, opts, state)
  if ok then return a, b, c end
  if not runtime.is_interrupt(a) then error(a, 0) end
  if state.campaign then
    local err = wait.interrupted("Campaign", state.campaign)
    return fail(err, { campaign = state.campaign, export = state.export })
  end
  return nil, errors.interrupted("interrupted (Ctrl-C) while launching the campaign: if the create request " ..
    "had gone out it may exist; check client.campaigns:list() and stop it with c:stop()")
end

function run_steps(service, params, opts, state)
  local o, oerr = options.check("run", opts, "run")
  if not o then return nil, oerr end
  opts = o
  local out = opts.out
  if out == nil then out = (opts.fileFormat == "xlsx") and "leads.xlsx" or "leads.csv" end
  -- A file already at out: an `out` the caller named is theirs to replace,
  -- as e:download(path) replaces (unless overwrite = false); the default
  -- name in the current directory never replaces one unless overwrite = true.
  local replace = opts.overwrite
  if replace == nil then replace = opts.out ~= nil end
  state.replace_out = replace
  -- The file is written at the very end, after the campaign has spent: a
  -- typo in its directory, or a file it must not replace, is refused now.
  local ok, werr = download.destination(out, replace)
  if not ok then return nil, werr end
  local timeout = opts.timeout
  -- The client's deadline (or run's per-call deadline) bounds the whole run
  -- (every request, wait and the download), computed once here; timeout
  -- bounds the two waits together.
  local deadline, derr = request.deadline(service.client, opts, true)
  if not deadline then return nil, derr end
  return request.within(service.client, deadline, M.run_within_deadline, service, params, opts, out, timeout, state)
end

--- The steps of run, inside its deadline.
function M.run_within_deadline(service, params, opts, out, timeout, state)
  local call = options.call_part(opts, { "max_retries", "headers" })
  local clock = service.client._runtime or runtime
  local started = clock.now()
  local function remaining()
    if timeout == nil then return nil end
    local left = timeout - (clock.now() - started)
    if left < 0 then left = 0 end
    return left
  end
  local function wait_opts()
    return { timeout = remaining(), progress = opts.progress, interval = opts.interval,
      max_interval = opts.max_interval, on_progress = opts.on_progress,
      max_retries = opts.max_retries, headers = opts.headers }
  end

  local c, err, preview = M.launch(service, params, { max_credits = opts.max_credits, confirm = opts.confirm,
    max_retries = opts.max_retries, headers = opts.headers })
  if not c then return nil, err, preview end
  state.campaign = c

  local done, werr = c:wait(wait_opts())
  if not done then return fail(werr, { campaign = c }) end
  if c.status == "failed" then
    return fail(errors.new("api", string.format("campaign %s ended with status failed", tostring(c.id)), {
      code = "CAMPAIGN_FAILED", retryable = false }), { campaign = c })
  end

  local e, eerr = c:export({ emailOnly = opts.emailOnly, onlyValidEmails = opts.onlyValidEmails,
    fileFormat = opts.fileFormat }, call)
  if not e then return fail(eerr, { campaign = c }) end
  state.export = e
  local ready, xerr = e:wait(wait_opts())
  if not ready then return fail(xerr, { campaign = c, export = e }) end
  if e.status ~= "completed" then
    return fail(errors.new("api", string.format("export %s ended with status %s",
      tostring(e.id), tostring(e.status)), { code = "EXPORT_FAILED", retryable = false }),
      { campaign = c, export = e })
  end

  -- A file that appeared at `out` while the campaign ran is kept too, when
  -- run must not replace one.
  local free, ferr = download.destination(out, state.replace_out)
  if not free then return fail(ferr, { campaign = c, export = e }) end
  local path, bytes_or_err = e:download(out, { progress = opts.progress, max_retries = opts.max_retries,
    headers = opts.headers })
  if not path then return fail(bytes_or_err, { campaign = c, export = e }) end
  return c, path, bytes_or_err
end

-- ---- attach ------------------------------------------------------------------
campaigns.Service.launch = M.launch
campaigns.Service.run = M.run
validation_jobs.Service.submit_file = upload.submit_file

core.methods.Campaign.wait = wait.campaign
core.methods.ValidationJob.wait = wait.job
core.methods.Export.wait = wait.export
core.methods.ValidationJob.download = download.job
core.methods.Export.download = download.export

-- exports is required for its side effect (Export:refresh / download_url).
M.exports = exports

-- Every method, now that all are attached, answers a dot-call with what to
-- write instead (scravio.receivers).
receivers.guard_service(campaigns.Service, "client.campaigns")
receivers.guard_service(validation_jobs.Service, "client.validation_jobs")
receivers.guard_service(exports.Service, "client.exports")
receivers.guard_service(require("scravio.credit_transactions").Service, "client.credit_transactions")
for _, kind in ipairs({ "Campaign", "ValidationJob", "Export" }) do receivers.guard_kind(kind) end

return M
