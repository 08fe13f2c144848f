#!/usr/bin/env lua
--- quickstart.lua: the whole Scravio flow in one script.
--
--   account -> reserve preview -> budget check -> launch -> wait (with a
--   progress line) -> leads summary -> export -> download -> a small email
--   validation job -> what the campaign finally cost
--
-- Configuration comes from the environment, so the same script runs against
-- the real API and against the bundled fake server (`make demo`):
--   SCRAVIO_API_KEY      your key (sk_live_...)                       required
--   SCRAVIO_BASE_URL     default https://api.scravio.com/api
--   SCRAVIO_MAX_CREDITS  the most this script may reserve (default 2000)
--   SCRAVIO_OUT_DIR      where the downloaded files go (default: a new temporary directory)
--
-- Run from the repository root:  lua5.4 examples/quickstart.lua

-- Find the SDK in this checkout (lua/ and build/<lua>/) when run from the
-- repository; an installed rock is found through the normal paths anyway.
local root = (arg and arg[0] or ""):match("^(.*)[/\\]examples[/\\][^/\\]*$") or "."
local build = rawget(_G, "jit") and "luajit" or ("lua" .. _VERSION:match("%d+%.%d+"))
package.path = root .. "/lua/?.lua;" .. root .. "/lua/?/init.lua;" .. package.path
package.cpath = root .. "/build/" .. build .. "/?.so;" .. package.cpath

local scravio = require("scravio")
require("scravio.workflows") -- waits, downloads, launch/run (client.lua loads it too)

local function say(fmt, ...) print(string.format(fmt, ...)) end

-- Every SDK call returns its result or `nil, err`; this script stops at the
-- first error:  local me = check("me", client:me())
local function check(what, value, err, ...)
  if value == nil then
    io.stderr:write(string.format("quickstart: %s failed: %s\n", what, tostring(err)))
    os.exit(1)
  end
  return value, err, ...
end

if not os.getenv("SCRAVIO_API_KEY") then
  io.stderr:write("quickstart: set SCRAVIO_API_KEY (and SCRAVIO_BASE_URL for a non-default server)\n")
  os.exit(2)
end

local max_credits = tonumber(os.getenv("SCRAVIO_MAX_CREDITS") or "") or 2000
local out_dir = dofile(root .. "/examples/out_dir.lua")()

-- 1. A client. api_key and base_url default to SCRAVIO_API_KEY / SCRAVIO_BASE_URL.
local client = check("scravio.new", scravio.new{ timeout = 30 })
say("client: %s", tostring(client))

-- 2. Who am I, and how many credits do I have?
local me = check("me", client:me())
say("account: %s <%s>, %s credits, plan allows %s concurrent campaigns",
  me.name, me.email, tostring(me.credits), tostring(me.concurrentCampaignLimit))

-- 3. What would this campaign reserve? A preview reserves nothing.
local params = {
  title = "Quickstart: fitness hashtags",
  type = "INSTAGRAM_HASHTAG",
  inputs = { hashtags = { "fitness", "gym" } },
  targetEmails = 50,
}
local preview = check("preview", client.campaigns:preview(params))
say("preview: reserves %s credits for %d target emails (~%s emails expected, %s credits per email)",
  tostring(preview.creditReserved), params.targetEmails,
  tostring(preview.summary and preview.summary.estimatedEmails or "?"),
  tostring(preview.summary and preview.summary.creditsPerEmail or "?"))
for _, w in ipairs(preview.warnings or {}) do
  say("  warning [%s]: %s", tostring(w.code), tostring(w.message))
end

-- 4. Launch with a budget: launch() previews again, refuses (err.kind "budget")
--    when the reservation exceeds max_credits or the balance, asks confirm(),
--    and only then creates the campaign. A refusal creates nothing.
local campaign = check("launch", client.campaigns:launch(params, {
  max_credits = max_credits,
  confirm = function(_, info) -- (preview, {reserve=, balance=, max_credits=})
    say("budget: reserving %s of at most %s credits (balance %s) -> go",
      tostring(info.reserve), tostring(max_credits), tostring(info.balance))
    return true -- an interactive tool would ask the user here
  end,
}))
say("campaign %s created, status %s", campaign.id, campaign.status)

-- 5. Wait for it to finish. progress=true draws a line on stderr when stderr
--    is a terminal; on_progress sees every change (here: status changes).
local seen = {}
check("wait", campaign:wait{
  interval = 1, timeout = 3600, progress = true,
  on_progress = function(c)
    if seen[#seen] ~= c.status then seen[#seen + 1] = c.status end
  end,
})
say("campaign finished: %s (%s)", campaign.status, table.concat(seen, " -> "))
if campaign.status == "failed" then
  io.stderr:write("quickstart: the campaign failed\n")
  os.exit(1)
end

-- 6. Leads summary: the iterator walks every page; errors are raised, so wrap it.
local by_platform, with_email, without_email, sample = {}, 0, 0, {}
local ok, lerr = pcall(function()
  for lead in campaign:leads{ perPage = 100 } do
    by_platform[lead.platform] = (by_platform[lead.platform] or 0) + 1
    if type(lead.email) == "string" and lead.email ~= "" then
      with_email = with_email + 1
      if #sample < 5 then sample[#sample + 1] = lead.email end
    else
      without_email = without_email + 1
    end
  end
end)
check("listing leads", ok or nil, lerr)
say("leads: %d with an email, %d without", with_email, without_email)
for platform, n in pairs(by_platform) do say("  %-10s %d", platform, n) end

-- 7. Export the leads to CSV and download it (streamed to disk, atomically).
local export = check("export", campaign:export{ emailOnly = false, fileFormat = "csv" })
say("export %s: %s", export.id, export.status)
check("waiting for the export", export:wait{ interval = 1, timeout = 600 })
if export.status ~= "completed" then
  io.stderr:write("quickstart: the export ended " .. tostring(export.status) .. "\n")
  os.exit(1)
end
local path, bytes = check("download", export:download(out_dir .. "/quickstart-leads.csv", { progress = true }))
local lines = 0
for _ in io.lines(path) do lines = lines + 1 end
say("downloaded %s: %d bytes, %d lines (header included)", path, bytes, lines)

-- 8. Validate a few of the emails we found (a standalone validation job).
if #sample > 0 then
  local job = check("validation submit", client.validation_jobs:submit(sample))
  say("validation job %s: %s emails, status %s", job.id, tostring(job.totalEmails), job.status)
  check("waiting for the validation job", job:wait{ interval = 1, timeout = 600 })
  say("validation %s: %s valid, %s invalid", job.status, tostring(job.validCount), tostring(job.invalidCount))
  if job.status == "completed" then
    local rpath, rbytes = check("validation results", job:download(out_dir .. "/quickstart-validation.csv"))
    say("validation results: %s (%d bytes)", rpath, rbytes)
  end
else
  say("no emails to validate")
end

-- 9. What did it cost? Settlement returns what was reserved but not used.
check("refresh", campaign:refresh())
local s = campaign.creditSettlement or {}
say("credits: reserved %s, used %s, returned %s, charged %s",
  tostring(s.creditReserved), tostring(s.creditUsed), tostring(s.creditReturned), tostring(s.creditCharged))
me = check("me", client:me())
say("balance now: %s credits", tostring(me.credits))
say("done")
