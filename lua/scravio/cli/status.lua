--- Exit codes of the `scravio` command, and which one an error maps to.
-- They are documented (README "Command line", `scravio --help`) and
-- distinct, so a script can tell "fix the command" from "the API said no"
-- from "nothing was spent" from "check before retrying".
local M = {}

M.OK = 0          -- done
M.ERROR = 1       -- the API or the SDK answered an error (api, network, invalid, timeout ...)
M.USAGE = 2       -- the command line is wrong; nothing was sent
M.BUDGET = 3      -- a spend was refused (no --max-credits, over budget, over the balance, declined)
M.UNKNOWN = 4     -- a credit-spending request may or may not have taken effect: check before retrying
M.INTERRUPTED = 130 -- Ctrl-C (128 + SIGINT, as shells report it)

M.HELP = [[
Exit status:
  0    done
  1    the request failed (API error, network, timeout, a parameter the SDK refused),
       or the output could not be written
  2    usage: the command line is wrong, nothing was sent
  3    a spend was refused (no --max-credits, over budget or balance, declined): nothing was created
  4    unknown outcome: a credit-spending request may have taken effect; check before retrying
  130  interrupted (Ctrl-C)]]

--- The exit code for a scravio.Error (or anything else raised).
function M.of(err)
  if type(err) ~= "table" then return M.ERROR end
  local kind = err.kind
  if kind == "budget" then return M.BUDGET end
  if kind == "unknown_outcome" then return M.UNKNOWN end
  if kind == "cancelled" then
    -- A confirmation the user declined is a refused spend; any other
    -- cancellation (the SDK's answer to Ctrl-C) is an interruption.
    if err.declined then return M.BUDGET end
    return M.INTERRUPTED
  end
  if kind == "usage" then return M.USAGE end
  return M.ERROR
end

--- Is this raised value the interpreter's Ctrl-C ("interrupted!" from lua.c / luajit.c)?
function M.is_interrupt(v)
  if type(v) == "string" then return v:find("interrupted!", 1, true) ~= nil end
  if type(v) == "table" and v.kind == "cancelled" and not v.declined then return true end
  return false
end

return M
