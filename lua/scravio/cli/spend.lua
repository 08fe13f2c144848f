--- The commands that spend credits after a free estimate: launch, run,
-- campaign validation and a file validation job (validate --file; the
-- estimate is its parse review). The rules, for every
-- one of them:
--   * the preview comes first and its reservation (the credits the spend
--     reserves) is printed on stderr;
--   * without --max-credits the spend is refused (exit 3), after the free
--     preview so the message can say how much it would take;
--   * above --max-credits or the balance it is refused (the SDK's budget
--     check: campaigns:launch / campaigns:run);
--   * on a terminal the user confirms unless --yes; a "no" is a refusal;
--   * a refusal creates nothing and spends nothing.
-- Ctrl-C after a campaign exists says how to stop it (ctx.interrupt_hint).
local scravio = require("scravio")
local commands = require("scravio.cli.commands")
local params = require("scravio.cli.params")
local status = require("scravio.cli.status")
local term = require("scravio.cli.term")
local workflows = require("scravio.workflows")
local sdk_budget = require("scravio.budget")

local M = {}

-- The SDK's money guard: one figure format, one refusal shape.
local fmt, budget = sdk_budget.fmt, sdk_budget.refuse

--- The reservation notice: "launching reserves N credits (balance B; --max-credits M)".
function M.describe(what, reserve, info)
  local extra = {}
  if info.balance then extra[#extra + 1] = "balance " .. fmt(info.balance) end
  if info.max_credits then extra[#extra + 1] = "--max-credits " .. fmt(info.max_credits) end
  return string.format("%s reserves %s credits%s", what, reserve and fmt(reserve) or "an unknown number of",
    #extra > 0 and " (" .. table.concat(extra, "; ") .. ")" or "")
end

--- --max-credits as a number, or nil when not given.
local function max_credits(ctx)
  local v = ctx.args.max_credits
  if v == nil then return nil end
  return params.number(v, "--max-credits")
end

--- Without --max-credits: preview (free), print what it would reserve, refuse.
local function refuse_without_max(ctx, p, verb)
  local preview, err = ctx.client.campaigns:preview(p)
  if not preview then return nil, err end
  local reserve = workflows.reservation(p, preview)
  ctx:notice("%s", M.describe(verb, reserve, {}))
  return nil, budget(string.format("refusing to %s without --max-credits: %s; pass --max-credits %s (or " ..
    "more) to go ahead; nothing was created", verb == "launching" and "launch" or "run",
    M.describe(verb, reserve, {}), reserve and fmt(reserve) or "N"), { reserve = reserve, preview = preview })
end

--- The confirm(preview, info) function handed to launch/run: prints the
-- reservation and, on a terminal without --yes, asks.
local function confirmer(ctx, verb, on_yes)
  return function(_, info)
    ctx:notice("%s", M.describe(verb, info.reserve, info))
    if info.masked_emails then
      ctx:notice("%s", "note: this account receives masked email addresses (free plan): the campaign's leads " ..
        "and exports will hold masked emails until the account is unlocked")
    end
    local yes = true
    if not ctx.args.yes and term.interactive() then
      yes = term.confirm(string.format("Go ahead and reserve %s credits?", fmt(info.reserve)))
    end
    if yes then
      if on_yes then on_yes() end
    else
      ctx.declined = true
    end
    return yes
  end
end

-- A declined confirmation is a refused spend (exit 3), whatever the SDK calls it.
local function mark(ctx, err)
  if ctx.declined and type(err) == "table" and err.kind == "cancelled" then err.declined = true end
  return err
end

function M.preview(ctx)
  local p = params.campaign(ctx.args)
  local preview, err = ctx.client.campaigns:preview(p)
  if not preview then return nil, err end
  local reserve = workflows.reservation(p, preview)
  ctx:notice("%s", M.describe("launching", reserve, {}))
  return commands.show(ctx, preview)
end

function M.launch(ctx)
  local p = params.campaign(ctx.args)
  local max = max_credits(ctx)
  if not max then return refuse_without_max(ctx, p, "launching") end
  local c, err = ctx.client.campaigns:launch(p, { max_credits = max, confirm = confirmer(ctx, "launching") })
  if not c then return nil, mark(ctx, err) end
  return commands.show(ctx, c)
end

function M.run(ctx)
  local a = ctx.args
  local p = params.campaign(a)
  local max = max_credits(ctx)
  local fileFormat = a.file_format or ((a.out and a.out:lower():match("%.xlsx$")) and "xlsx") or nil
  local out = a.out or (fileFormat == "xlsx" and "leads.xlsx" or "leads.csv")
  local ok, cerr = commands.check_out(ctx, out)
  if not ok then return nil, cerr end
  local timeout = a.timeout and params.number(a.timeout, "--timeout", true) or nil
  local interval = a.interval and params.number(a.interval, "--interval") or nil
  if not max then return refuse_without_max(ctx, p, "running") end
  local campaign_id
  ctx.interrupt_hint = "nothing was created"
  local c, path_or_err, bytes_or_obj = ctx.client.campaigns:run(p, {
    max_credits = max,
    confirm = confirmer(ctx, "running", function()
      ctx.interrupt_hint = "the campaign may have been created: find it with `scravio campaigns list` " ..
        "and stop it with `scravio campaigns stop ID`"
    end),
    -- (overwrite = false: never replace a file without --force, even one that appears mid-run)
    out = out, overwrite = a.force and true or false, emailOnly = a.email_only or nil, onlyValidEmails = a.valid_only or nil, fileFormat = fileFormat,
    progress = not a.quiet, timeout = timeout, interval = interval,
    on_progress = function(obj)
      if not campaign_id and scravio.kind(obj) == "Campaign" then
        campaign_id = obj.id
        ctx.interrupt_hint = commands.stop_hint(campaign_id)
      end
    end,
  })
  if not c then
    local err = mark(ctx, path_or_err)
    local made = type(err) == "table" and err.campaign or (scravio.kind(bytes_or_obj) == "Campaign" and bytes_or_obj)
    if made and err.kind == "timeout" then
      ctx:notice("campaign %s keeps running; to stop it: scravio campaigns stop %s", made.id, made.id)
    elseif made and not status.is_interrupt(err) then
      -- The campaign exists (and has spent): say how to get its leads without launching again.
      ctx:notice("campaign %s exists (status %s); its leads: scravio exports create %s --out %s", made.id,
        tostring(made.status), made.id, out)
    end
    return nil, err
  end
  return commands.show(ctx, { campaignId = c.id, status = c.status, path = path_or_err, bytes = bytes_or_obj })
end

local function count_text(n)
  return type(n) == "number" and fmt(n) or "the"
end

--- campaigns validate ID [--preview | --max-credits N [--yes]]
-- The checks are the SDK's: c:validate(nil, {max_credits=, confirm=}).
function M.validate(ctx)
  local a = ctx.args
  local max = (not a.preview) and max_credits(ctx) or nil
  local c, err = ctx.client.campaigns:get(a.id)
  if not c then return nil, err end
  if a.preview or not max then
    local vp, verr = c:validation_preview()
    if not vp then return nil, verr end
    if a.preview then return commands.show(ctx, vp) end
    local cost = tonumber(vp.creditCost)
    ctx:notice("%s", M.describe("validating " .. count_text(vp.emailsToValidate) .. " emails", cost,
      { balance = tonumber(vp.currentBalance) }))
    return nil, budget(string.format("refusing to validate without --max-credits: it costs %s credits; pass " ..
      "--max-credits %s (or more) to go ahead; nothing was spent", fmt(cost), fmt(cost)), { reserve = cost })
  end
  local verb = "validating"
  local res, rerr = c:validate(nil, { max_credits = max, confirm = function(vp, info)
    verb = "validating " .. count_text(vp.emailsToValidate) .. " emails"
    return confirmer(ctx, verb)(vp, info)
  end })
  if not res then return nil, mark(ctx, rerr) end
  return commands.show(ctx, res)
end

--- validate EMAIL... | --file F --max-credits N [--yes] (a validation job).
-- A file's parse review (POST /validation-jobs/file/process, free) names
-- estimatedCredits, so the file is guarded like launch: the estimate is
-- printed, the job is refused (exit 3, nothing confirmed) without
-- --max-credits or above it, and confirmed on a terminal unless --yes.
-- A text job has no estimate in the API: it is not guarded (README).
function M.validate_job(ctx)
  if not ctx.args.file then return commands.validate(ctx) end
  local max = max_credits(ctx)
  local missing = false
  local verb = "confirming " .. tostring(ctx.args.file)
  local job_opts = { max_credits = max, confirm = function(review, info)
    if not max then
      missing = true
      ctx:notice("%s", M.describe(verb, info.estimate, {}))
      return false
    end
    return confirmer(ctx, verb)(review, { reserve = info.estimate, max_credits = max })
  end }
  local job, err = commands.validate(ctx, job_opts)
  if job == nil and missing then
    local est = type(err) == "table" and err.estimate or nil
    return nil, budget(string.format("refusing to validate the file without --max-credits: %s; pass " ..
      "--max-credits %s (or more) to go ahead; nothing was charged", M.describe(verb, est, {}),
      est and fmt(est) or "N"), { estimate = est, sent = true })
  end
  if job == nil then return nil, mark(ctx, err) end
  return job, err
end

return M
