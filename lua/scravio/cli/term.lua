--- What the `scravio` command knows about its terminal: which of its
-- streams are TTYs (tables and prompts only there), and asking yes/no.
-- stdout carries data only; notices, prompts and progress go to stderr.
local core = require("scravio.core")

local M = {}

--- Is file descriptor fd (0 stdin, 1 stdout, 2 stderr) a terminal?
function M.isatty(fd)
  return core.isatty(fd) == true
end

--- Can we ask the user something (stdin and stderr both terminals)?
function M.interactive()
  return M.isatty(0) and M.isatty(2)
end

--- One line on stderr (a notice: never data).
function M.note(fmt, ...)
  io.stderr:write(select("#", ...) > 0 and string.format(fmt, ...) or fmt, "\n")
  io.stderr:flush()
end

--- Ask a yes/no question on stderr, read the answer from stdin.
-- -> true only for an explicit yes ("y", "yes", any case).
function M.confirm(question)
  io.stderr:write(question, " [y/N] ")
  io.stderr:flush()
  local answer = io.stdin:read("*l")
  if answer == nil then io.stderr:write("\n") end
  answer = (answer or ""):gsub("^%s+", ""):gsub("%s+$", ""):lower()
  return answer == "y" or answer == "yes"
end

return M
