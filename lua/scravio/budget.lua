--- The client-side money guard shared by every call that spends credits
-- after a free estimate (campaigns:launch / run, validation_jobs:submit_file):
-- one refusal shape (kind "budget"), one over-the-limit check, one confirm()
-- rule. Callers say what the figure is and what was (not) done.
local errors = require("scravio.errors")

local M = {}

--- A credit figure as people read it: whole numbers without decimals
-- (anything that is not a number, as tostring shows it).
function M.fmt(n)
  if type(n) ~= "number" then return tostring(n) end
  if n == math.floor(n) and n < 2 ^ 53 and n > -2 ^ 53 then return string.format("%d", n) end
  return string.format("%.2f", n)
end

--- A credit figure from an API answer: a number (not NaN) that is not
-- negative; anything else is no figure at all (checked against max_credits
-- a negative one would let any real charge through).
function M.credits(v)
  if type(v) == "number" and v == v and v >= 0 then return v end
  return nil
end

--- The refusal: kind "budget", never retryable (the same call is refused again).
function M.refuse(msg, fields)
  fields = fields or {}
  fields.retryable = false
  return errors.new("budget", msg, fields)
end

--- Is `amount` over the caller's max_credits (none given: never)?
function M.over(amount, max_credits)
  return max_credits ~= nil and amount > max_credits
end

--- Ask confirm(subject, info) when given. Only an explicit true spends: a confirm that
-- returns "no", 0 or nothing (a forgotten return) is a refusal, not a yes.
-- what: "launch", "submit_file" ...; nothing: what the refusal left undone
-- ("nothing was created"). -> true | nil, err (kind "cancelled", with fields)
function M.ask(confirm, subject, info, what, nothing, fields)
  if not confirm then return true end
  local yes = confirm(subject, info)
  if yes == true then return true end
  fields = fields or {}
  fields.retryable = false
  return nil, errors.new("cancelled", yes == false and string.format("%s cancelled by confirm(); %s", what, nothing)
    or string.format("%s cancelled: confirm() answered %s, not true; %s", what,
      type(yes) == "string" and string.format("%q", yes) or tostring(yes), nothing), fields)
end

return M
