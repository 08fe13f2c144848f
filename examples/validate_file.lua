#!/usr/bin/env lua
--- validate_file.lua: validate the emails in a CSV or TXT file.
--
--   lua5.4 examples/validate_file.lua contacts.csv [column]
--
-- submit_file() does the four steps of the API's file flow with one
-- idempotency key: ask for an upload URL, PUT the file to storage (streamed
-- from disk, no credentials sent there), let the API parse it, confirm the
-- email column. The column defaults to the one the API recommends.
--
-- Environment: SCRAVIO_API_KEY (required), SCRAVIO_BASE_URL (optional),
-- SCRAVIO_MAX_CREDITS (optional: refuse to confirm a file whose parse review
-- estimates more credits; nothing is charged then),
-- SCRAVIO_OUT_DIR (where the results CSV goes, default: a new temporary directory).

local root = (arg and arg[0] or ""):match("^(.*)[/\\]examples[/\\][^/\\]*$") or "."
local build = rawget(_G, "jit") and "luajit" or ("lua" .. _VERSION:match("%d+%.%d+"))
package.path = root .. "/lua/?.lua;" .. root .. "/lua/?/init.lua;" .. package.path
package.cpath = root .. "/build/" .. build .. "/?.so;" .. package.cpath

local scravio = require("scravio")
require("scravio.workflows")

local function check(what, value, err, ...)
  if value == nil then
    io.stderr:write(string.format("validate_file: %s failed: %s\n", what, tostring(err)))
    -- A file with several email-like columns and no recommendation: say which.
    if type(err) == "table" and err.review and err.review.columns then
      for _, col in ipairs(err.review.columns) do
        io.stderr:write(string.format("  column %q (%s): %s email-like values\n",
          tostring(col.key), tostring(col.label), tostring(col.emailLikeCount)))
      end
    end
    os.exit(1)
  end
  return value, err, ...
end

local file, column = arg[1], arg[2]
if not file then
  io.stderr:write("usage: validate_file.lua FILE.csv|FILE.txt [column]\n")
  os.exit(2)
end

local client = check("scravio.new", scravio.new{})

-- The column option may be a function: it sees the parse review (the file's
-- columns and counts) before the job is confirmed, and names the column.
local max_credits = tonumber(os.getenv("SCRAVIO_MAX_CREDITS") or "")
local job = check("submit_file", client.validation_jobs:submit_file(file, { progress = true, max_credits = max_credits,
  column = function(review)
  print(string.format("parsed %s: %s rows, %s unique emails (%s duplicates removed, %s rows without an email)",
    file, tostring(review.totalRows), tostring(review.totalEmails), tostring(review.duplicatesRemoved),
    tostring(review.invalidRows)))
  return column -- nil: the column the API recommends
end }))
print(string.format("job %s: %s, %s credits reserved", job.id, job.status, tostring(job.creditsReserved)))

check("wait", job:wait{ interval = 1, timeout = 3600, progress = true })
print(string.format("job %s %s: %s valid, %s invalid", job.id, job.status,
  tostring(job.validCount), tostring(job.invalidCount)))
if job.status ~= "completed" then os.exit(1) end

local out = dofile(root .. "/examples/out_dir.lua")() .. "/validation-" .. job.id .. ".csv"
local path, bytes = check("download", job:download(out, { progress = true }))
print(string.format("results: %s (%d bytes)", path, bytes))
