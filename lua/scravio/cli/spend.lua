--- The commands that spend credits on a campaign: launch, run and campaign
-- validation (and the free preview they start with). The rules, for every
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

local M = {}

local function fmt(n)
  if type(n) ~= "number" then return tostring(n) end
  if n == math.floor(n) and n < 2 ^ 53 and n > -2 ^ 53 then return string.format("%d", n) end
  return string.format("%.2f", n)
end

local function budget(msg, fields)
  fields = fields or {}
  fields.retryable = false
  return scravio.error("budget", msg, fields)
end

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
    out = out, emailOnly = a.email_only or nil, onlyValidEmails = a.valid_only or nil, fileFormat = fileFormat,
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
function M.validate(ctx)
  local a = ctx.args
  local max = (not a.preview) and max_credits(ctx) or nil
  local c, err = ctx.client.campaigns:get(a.id)
  if not c then return nil, err end
  local vp, verr = c:validation_preview()
  if not vp then return nil, verr end
  if a.preview then return commands.show(ctx, vp) end
  local cost = tonumber(vp.creditCost)
  local balance = tonumber(vp.currentBalance)
  ctx:notice("%s", M.describe("validating " .. count_text(vp.emailsToValidate) .. " emails", cost,
    { balance = balance, max_credits = max }))
  if not max then
    return nil, budget(string.format("refusing to validate without --max-credits: it costs %s credits; pass " ..
      "--max-credits %s (or more) to go ahead; nothing was spent", fmt(cost), fmt(cost)), { reserve = cost })
  end
  if cost and cost > max then
    return nil, budget(string.format("validating costs %s credits, more than --max-credits %s; nothing was spent",
      fmt(cost), fmt(max)), { reserve = cost, max_credits = max })
  end
  if cost and balance and cost > balance then
    return nil, budget(string.format("validating costs %s credits but the balance is %s; nothing was spent",
      fmt(cost), fmt(balance)), { reserve = cost, balance = balance, max_credits = max })
  end
  if not a.yes and term.interactive() then
    if not term.confirm(string.format("Go ahead and spend %s credits?", fmt(cost))) then
      return nil, scravio.error("cancelled", "validation declined; nothing was spent",
        { declined = true, retryable = false })
    end
  end
  local res, rerr = c:validate()
  if not res then return nil, rerr end
  return commands.show(ctx, res)
end

return M
