#!/usr/bin/env lua
--- credits_report.lua: where did the credits go? A summary of the credit
-- ledger (GET /credit-transactions) by transaction type, the latest entries,
-- and a check that the ledger agrees with the balance (GET /auth/me).
--
--   lua5.4 examples/credits_report.lua [days]      (default: the last 90 days)
--
-- Environment: SCRAVIO_API_KEY (required), SCRAVIO_BASE_URL (optional).

local root = (arg and arg[0] or ""):match("^(.*)[/\\]examples[/\\][^/\\]*$") or "."
local build = rawget(_G, "jit") and "luajit" or ("lua" .. _VERSION:match("%d+%.%d+"))
package.path = root .. "/lua/?.lua;" .. root .. "/lua/?/init.lua;" .. package.path
package.cpath = root .. "/build/" .. build .. "/?.so;" .. package.cpath

local scravio = require("scravio")

local function check(what, value, err, ...)
  if value == nil then
    io.stderr:write(string.format("credits_report: %s failed: %s\n", what, tostring(err)))
    os.exit(1)
  end
  return value, err, ...
end

local days = tonumber(arg[1] or "") or 90
local since = os.date("!%Y-%m-%dT%H:%M:%SZ", os.time() - days * 86400)

local client = check("scravio.new", scravio.new{})
local me = check("me", client:me())
print(string.format("%s: balance %s credits", me.email, tostring(me.credits)))

-- each() walks every page; a failure is raised (an iterator cannot return
-- nil, err), so the loop runs under pcall.
local by_type, order, latest, newest = {}, {}, {}, nil
local ok, err = pcall(function()
  for t in client.credit_transactions:each{ from = since, sortBy = "timestamp", order = "desc" } do
    newest = newest or t
    local row = by_type[t.type]
    if not row then
      row = { count = 0, total = 0 }
      by_type[t.type] = row
      order[#order + 1] = t.type
    end
    row.count = row.count + 1
    row.total = row.total + t.amount
    if #latest < 10 then latest[#latest + 1] = t end
  end
end)
check("credit transactions", ok or nil, err)

print(string.format("\nsince %s:", since))
print(string.format("  %-28s %6s %12s", "type", "count", "credits"))
table.sort(order)
local net = 0
for _, name in ipairs(order) do
  local row = by_type[name]
  net = net + row.total
  print(string.format("  %-28s %6d %12s", name, row.count, tostring(row.total)))
end
print(string.format("  %-28s %6s %12s", "net change", "", tostring(net)))

if #order == 0 then print("  (no credit transactions in this window: try a longer one, e.g. 365)") end

print("\nlatest entries:")
for _, t in ipairs(latest) do
  print(string.format("  %s %-26s %10s -> %-10s %s", tostring(t.timestamp), t.type, tostring(t.amount),
    tostring(t.balanceAfter), tostring(t.description)))
end

-- The newest entry's balanceAfter should be the current balance.
if newest then
  if newest.balanceAfter == me.credits then
    print("\nledger and balance agree: " .. tostring(me.credits))
  else
    print(string.format("\nnote: newest balanceAfter %s differs from the balance %s (activity since?)",
      tostring(newest.balanceAfter), tostring(me.credits)))
  end
end
