--- client.credit_transactions: the credit ledger (plain tables).
local pagination = require("scravio.pagination")

local M = {}
local Service = {}
Service.__index = Service
M.Service = Service -- workflows.lua adds the convenience methods here

function M.service(client)
  return setmetatable({ client = client }, Service)
end

--- GET /credit-transactions -> {items={tx...}, transactions=(same), pagination={...}}   (list)
--- Iterator of transaction tables over all pages   (each)
pagination.define(Service, "credit_transactions", nil, "/credit-transactions")

return M
