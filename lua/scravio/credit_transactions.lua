--- client.credit_transactions: the credit ledger (plain tables).
local pagination = require("scravio.pagination")
local resource = require("scravio.resource")

local M = {}
local Service
Service, M.service = resource.service_class()
M.Service = Service -- workflows.lua adds the convenience methods here

--- GET /credit-transactions -> {items={tx...}, transactions=(same), pagination={...}}   (list)
--- Iterator of transaction tables over all pages   (each)
pagination.define(Service, "credit_transactions", nil, "/credit-transactions")

return M
