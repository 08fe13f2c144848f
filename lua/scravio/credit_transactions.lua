--- client.credit_transactions: the credit ledger (plain tables).
local campaigns = require("scravio.campaigns")
local errors = require("scravio.errors")
local pagination = require("scravio.pagination")

local M = {}
local Service = {}
Service.__index = Service
M.Service = Service -- workflows.lua adds the convenience methods here

function M.service(client)
  return setmetatable({ client = client }, Service)
end

--- GET /credit-transactions -> {items={tx...}, transactions=(same), pagination={...}}
function Service:list(query)
  local ok, err = campaigns.check_query("credit_transactions", query)
  if not ok then return nil, err end
  return pagination.page(self.client, "credit_transactions", nil, "/credit-transactions", query)
end

--- Iterator of transaction tables over all pages.
function Service:each(query)
  local ok, err = campaigns.check_query("credit_transactions", query)
  if not ok then errors.raise(err) end
  return pagination.each(self.client, "credit_transactions", nil, "/credit-transactions", query)
end

return M
