#!/usr/bin/env lua
--- export_leads.lua: export a campaign's leads to CSV/XLSX and download the file.
--
--   lua5.4 examples/export_leads.lua [campaignId] [out.csv] [--email-only] [--valid-only] [--xlsx]
--
-- Without a campaign id, the most recent fully completed campaign is used.
-- The API builds exports asynchronously: create, wait until "completed", then
-- download (streamed to disk; the file appears only once it is complete).
-- Note: POST /list-exports is limited to 5 per hour; an identical export that
-- is still running is reused by the API.
--
-- Environment: SCRAVIO_API_KEY (required), SCRAVIO_BASE_URL (optional),
-- SCRAVIO_OUT_DIR (where the file goes without out.csv; default: a new temporary directory).

local root = (arg and arg[0] or ""):match("^(.*)[/\\]examples[/\\][^/\\]*$") or "."
local build = rawget(_G, "jit") and "luajit" or ("lua" .. _VERSION:match("%d+%.%d+"))
package.path = root .. "/lua/?.lua;" .. root .. "/lua/?/init.lua;" .. package.path
package.cpath = root .. "/build/" .. build .. "/?.so;" .. package.cpath

local scravio = require("scravio")
require("scravio.workflows")

local function check(what, value, err, ...)
  if value == nil then
    io.stderr:write(string.format("export_leads: %s failed: %s\n", what, tostring(err)))
    os.exit(1)
  end
  return value, err, ...
end

local opts, positional = { emailOnly = false, onlyValidEmails = false, fileFormat = "csv" }, {}
for _, a in ipairs(arg) do
  if a == "--email-only" then opts.emailOnly = true
  elseif a == "--valid-only" then opts.onlyValidEmails = true
  elseif a == "--xlsx" then opts.fileFormat = "xlsx"
  else positional[#positional + 1] = a end
end

local client = check("scravio.new", scravio.new{})

local campaign
if positional[1] and positional[1] ~= "" then
  campaign = check("get campaign", client.campaigns:get(positional[1]))
else
  -- The second table holds per-call options (timeout, deadline, max_retries, headers):
  -- they apply to this call only; the first is the API's query.
  local page = check("list campaigns", client.campaigns:list({ status = "fully_completed", perPage = 1 },
    { timeout = 15 }))
  campaign = page.items[1]
  if not campaign then
    io.stderr:write("export_leads: no fully completed campaign; pass a campaign id\n")
    os.exit(1)
  end
end
print(string.format("campaign %s (%s): %s, %s emails found", campaign.id, tostring(campaign.title),
  campaign.status, tostring(campaign.emailScanCount)))

local export = check("export", campaign:export(opts))
print(string.format("export %s: %s", export.id, export.status))
check("wait", export:wait{ interval = 1, timeout = 1800, progress = true })
if export.status ~= "completed" then
  io.stderr:write("export_leads: the export ended " .. tostring(export.status) .. "\n")
  os.exit(1)
end

-- Without a path, the file keeps the name the API suggests, in SCRAVIO_OUT_DIR.
local out = positional[2]
if not out or out == "" then
  out = dofile(root .. "/examples/out_dir.lua")() .. "/" .. (export.filename or ("export-" .. export.id .. "." .. opts.fileFormat))
end
local path, bytes = check("download", export:download(out, { progress = true }))
check("refresh", export:refresh()) -- the list entry carries totalRecords once completed
print(string.format("saved %s (%d bytes, %s records)", path, bytes, tostring(export.totalRecords)))
