-- All mutable server state lives in this one table.  With worker_processes 1
-- a module-level Lua table is shared by every request, so no shared dict or
-- database is needed and nothing touches the disk on the API path.
-- reset() (POST /__control/reset) swaps in empty stores; the id counters are
-- deliberately NOT reset, so ids handed out before a reset never come back.
local M = {}

function M.reset()
  M.accounts = {}          -- id -> account
  M.by_key = {}            -- api key -> account
  M.by_token = {}          -- bearer token -> account
  M.by_name = {}           -- "A" / "B" / "free" / "poor" -> account

  M.campaigns = {}         -- id -> campaign record
  M.campaign_list = {}     -- creation order
  M.jobs = {}              -- id -> validation job
  M.job_list = {}
  M.exports = {}           -- id -> export
  M.export_list = {}
  M.uploads = {}           -- uploadId -> upload ticket
  M.upload_by_idem = {}    -- accountId .. "\0" .. idempotencyKey -> ticket
  M.parses = {}            -- parseId -> parse result
  M.ledger = {}            -- credit transactions, in the order they happened

  -- things whose state changes with the clock; lifecycle.tick() visits only these
  M.active = { campaigns = {}, validations = {}, jobs = {}, exports = {} }

  M.objects = {}           -- storage path -> object descriptor
  M.rate = {}              -- rate-limit key -> array of hit times
end

M.reset()
return M
