--- The `scravio` command (bin/scravio is a two-line launcher for this).
--
--   local code = require("scravio.cli").main(arg)   --> exit status (scravio.cli.status)
--
-- Parse (scravio.cli.args), build a client from the environment or files
-- (scravio.cli.credentials), run the command (scravio.cli.commands,
-- scravio.cli.spend), print (scravio.cli.output). An error is one line on
-- stderr, tostring(err), and its exit status says what kind it was.
local scravio = require("scravio")
local args = require("scravio.cli.args")
local commands = require("scravio.cli.commands")
local credentials = require("scravio.cli.credentials")
local output = require("scravio.cli.output")
local spend = require("scravio.cli.spend")
local status = require("scravio.cli.status")
local term = require("scravio.cli.term")

local M = {}

-- command [subcommand] -> handler(ctx) -> true | nil, err
local HANDLERS = {
  me = commands.me,
  leads = commands.leads,
  validate = commands.validate,
  credits = commands.credits,
  request = commands.request,
  campaigns = {
    list = commands.campaigns.list, get = commands.campaigns.get, wait = commands.campaigns.wait,
    stop = commands.campaigns.stop, preview = spend.preview, launch = spend.launch, run = spend.run,
    validate = spend.validate,
  },
  exports = commands.exports,
  jobs = commands.jobs,
}

-- What a command runs with: its arguments, the client, output choices.
local Context = {}
Context.__index = Context

--- The output format for a list (is_list) or one object.
function Context:format(is_list)
  return output.choose(self.args, is_list, self.stdout_tty)
end

--- A notice on stderr (never stdout), unless --quiet.
function Context:notice(fmt, ...)
  if not self.args.quiet then term.note("scravio: " .. fmt, ...) end
end

--- One line, whatever the error says (tostring of a scravio.Error is one line already).
local function one_line(s)
  return (tostring(s):gsub("%s*[\r\n]+%s*", " "))
end

local function print_error(err)
  io.stderr:write(one_line(err), "\n")
  io.stderr:flush()
end

-- Parse argv; -> parsed | nil, exit status (the usage error already printed).
local function parse(argv)
  local parser = args.parser()
  -- argparse hands its error to parser.error with the (sub)command that
  -- failed: raise it, so that the message is printed our way (one line) and
  -- the exit status is USAGE, not argparse's 1.
  parser.error = function(failed, msg)
    error({ usage_error = msg, usage = failed:get_usage() }, 0)
  end
  local ok, parsed = pcall(parser.parse, parser, argv)
  if ok then return parsed end
  if type(parsed) == "table" and parsed.usage_error then
    local msg = parsed.usage_error:gsub("\n[Dd]id you mean", "; did you mean")
    local path = parsed.usage:match("^Usage: (.-) %[") or "scravio"
    print_error(scravio.error("usage", string.format("%s (see: %s --help)", msg, path)))
    return nil, status.USAGE
  end
  if status.is_interrupt(parsed) then return nil, status.INTERRUPTED end
  error(parsed, 0)
end

--- main(argv) -> exit status.
function M.main(argv)
  local stdout_tty = term.isatty(1)
  io.stdout:setvbuf(stdout_tty and "line" or "full")
  local parsed, code = parse(argv or {})
  if not parsed then return code end

  local handler = HANDLERS[parsed.command]
  if type(handler) == "table" then handler = handler[parsed.subcommand] end
  if type(handler) ~= "function" then
    print_error(scravio.error("usage", "unknown command; see: scravio --help"))
    return status.USAGE
  end

  local ctx = setmetatable({ args = parsed, stdout_tty = stdout_tty,
    fields = output.parse_fields(parsed.fields) }, Context)

  local ok, result, err = xpcall(function()
    local opts, cerr = credentials.options(parsed, os.getenv, function(line) term.note("scravio: " .. line) end)
    if not opts then return nil, cerr end
    local client, nerr = scravio.new(opts)
    if not client then return nil, nerr end
    ctx.client = client
    local done, herr = handler(ctx)
    -- What is still buffered must reach its file too (a full disk shows here).
    if done then output.checked(io.stdout):flush() end
    return done, herr
  end, function(e)
    -- Iterators raise scravio.Error values; a usage error from the flags is
    -- raised too. Anything else is a bug: keep where it happened.
    if scravio.is_error(e) or status.is_interrupt(e) then return e end
    return tostring(e) .. "\n" .. debug.traceback("", 2)
  end)
  io.stdout:flush()
  if ctx.client then pcall(ctx.client.close, ctx.client) end

  if ok and result then return status.OK end
  local e = ok and err or result
  if status.is_interrupt(e) then
    -- The SDK's own answer to Ctrl-C (kind "cancelled") names what it was
    -- waiting for: say how to stop it or pick it up again from a shell.
    local obj = type(e) == "table" and (e.campaign or e.object)
    local hint = obj and commands.resume_hint(obj)
    if hint then ctx.interrupt_hint = hint end
    print_error("interrupted" .. (ctx.interrupt_hint and (": " .. ctx.interrupt_hint) or ""))
    return status.INTERRUPTED
  end
  if not scravio.is_error(e) then
    -- A bug: one line, and where it happened with -v.
    local msg = tostring(e)
    print_error("scravio: internal error: " .. msg:match("^[^\n]*"))
    if parsed.verbose then io.stderr:write(msg, "\n") end
    return status.ERROR
  end
  print_error(e)
  return status.of(e)
end

return M
