#!/usr/bin/env lua
--- validate_list.lua: validate a handful of email addresses (a standalone
-- validation job, POST /validation-jobs/text), wait for it and print the result.
--
--   lua5.4 examples/validate_list.lua alice@example.com bob@example.org
--   lua5.4 examples/validate_list.lua < emails.txt      (one address per line)
--
-- Environment: SCRAVIO_API_KEY (required), SCRAVIO_BASE_URL (optional),
-- SCRAVIO_OUT_DIR (where the results CSV goes, default: a new temporary directory).
-- Note the API's limits: at most 5,000 unique emails per job, 3 jobs per hour,
-- one active job per account. Credits are reserved when the job is created.

local root = (arg and arg[0] or ""):match("^(.*)[/\\]examples[/\\][^/\\]*$") or "."
local build = rawget(_G, "jit") and "luajit" or ("lua" .. _VERSION:match("%d+%.%d+"))
package.path = root .. "/lua/?.lua;" .. root .. "/lua/?/init.lua;" .. package.path
package.cpath = root .. "/build/" .. build .. "/?.so;" .. package.cpath

local scravio = require("scravio")
require("scravio.workflows")

local function check(what, value, err, ...)
  if value == nil then
    io.stderr:write(string.format("validate_list: %s failed: %s\n", what, tostring(err)))
    os.exit(1)
  end
  return value, err, ...
end

-- The addresses: from the command line, else from standard input.
local emails = {}
for i = 1, #arg do emails[#emails + 1] = arg[i] end
if #emails == 0 then
  for line in io.lines() do
    local e = line:match("^%s*(.-)%s*$")
    if e ~= "" and not e:match("^#") then emails[#emails + 1] = e end
  end
end
if #emails == 0 then
  io.stderr:write("usage: validate_list.lua EMAIL... (or addresses on standard input)\n")
  os.exit(2)
end

local client = check("scravio.new", scravio.new{})

-- Addresses go to the API as given: the job itself classifies bad ones (say,
-- "not-an-email") and they count like any other. Refused before anything is
-- sent (err.kind == "invalid"): no address at all, more than 5,000 unique.
local job = check("submit", client.validation_jobs:submit(emails))
print(string.format("job %s: %s unique emails, status %s", job.id, tostring(job.totalEmails), job.status))

check("wait", job:wait{ interval = 1, timeout = 900, progress = true })
print(string.format("job %s %s: %s valid, %s invalid (of %s)", job.id, job.status,
  tostring(job.validCount), tostring(job.invalidCount), tostring(job.totalEmails)))
if job.status ~= "completed" then
  io.stderr:write("validate_list: " .. tostring(job.statusReason or "the job did not complete") .. "\n")
  os.exit(1)
end

-- The per-email verdicts come as a CSV, downloaded straight to disk.
local out = dofile(root .. "/examples/out_dir.lua")() .. "/validation-" .. job.id .. ".csv"
local path, bytes = check("download", job:download(out))
print(string.format("results: %s (%d bytes)", path, bytes))
for line in io.lines(path) do print("  " .. line) end
