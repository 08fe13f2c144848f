-- The control interface: POST /__control/<action> with a JSON body, on the
-- API port (and the TLS port), outside /api.  No auth, never logged, never
-- faulted: it is how specs drive the fake (spec/support/fake_server.lua wraps it).
local S = require "fake.state"
local clock = require "fake.clock"
local config = require "fake.config"
local json = require "fake.json"
local reqlog = require "fake.reqlog"
local faults = require "fake.faults"
local accounts = require "fake.accounts"
local ledger = require "fake.ledger"
local campaigns = require "fake.campaigns"
local lifecycle = require "fake.lifecycle"
local seed = require "fake.seed"

local M = {}
M.info = {}   -- ports etc., set by app.init

function M.reset_all()
  S.reset()
  config.reset()
  clock.reset()
  faults.reset()
  reqlog.reset()
  accounts.install(ledger)
end

local A = {}

function A.ping() return { ok = true, pid = ngx.worker.pid(), now = clock.iso(clock.now()), info = M.info } end

function A.reset() M.reset_all() return { ok = true } end

function A.advance(p)
  local s = p.seconds
  if type(s) ~= "number" or s < 0 then return nil, "seconds must be a non-negative number" end
  clock.advance(s)
  lifecycle.tick()
  return { ok = true, offset = clock.offset, now = clock.iso(clock.now()) }
end

function A.clock()
  return { offset = clock.offset, now = clock.iso(clock.now()), epoch = clock.now(), frozen = clock.frozen_at ~= nil }
end

-- freeze{frozen = true|false}: stop (default) or restart real time on the fake clock.
function A.freeze(p)
  if p.frozen == false then clock.unfreeze() else lifecycle.tick() clock.freeze() end
  return { ok = true, frozen = clock.frozen_at ~= nil, now = clock.iso(clock.now()) }
end

function A.configure(p)
  local v, err = config.apply(p)
  if not v then return nil, err end
  return { ok = true, config = v }
end

function A.config() return { config = config.values } end

function A.fault(p)
  local f, err = faults.add(p)
  if not f then return nil, err end
  return { ok = true, id = f.id }
end

function A.faults() return { faults = json.arr(faults.public_list()) } end

function A.clear_faults(p)
  if p.id then return { ok = faults.remove(p.id) } end
  faults.reset()
  return { ok = true }
end

function A.requests(p) return { requests = json.arr(reqlog.query("api", p)) } end
function A.storage_requests(p) return { requests = json.arr(reqlog.query("storage", p)) } end
function A.clear_requests() reqlog.reset() return { ok = true } end

function A.accounts() return { accounts = accounts.public_list() } end

function A.seed_campaign(p)
  local c, err = seed.campaign(p)
  if not c then return nil, err end
  return { ok = true, id = c.id, campaign = campaigns.view(c, clock.now(), true) }
end

function A.seed_export(p)
  local e, err = seed.export(p)
  if not e then return nil, err end
  return { ok = true, id = e.id, campaignId = e.campaign_id, bytes = e.size or json.null, filename = e.filename }
end

-- set_credits{account=, credits=}: writes an ADMIN_CREDIT_ADJUSTMENT entry
function A.set_credits(p)
  local a = accounts.resolve(p.account)
  if not a then return nil, "unknown account" end
  if type(p.credits) ~= "number" then return nil, "credits must be a number" end
  ledger.apply(a, math.floor(p.credits) - a.credits, "ADMIN_CREDIT_ADJUSTMENT", "Balance set by test control")
  return { ok = true, credits = a.credits }
end

function A.stats()
  local n = function(t) local c = 0 for _ in pairs(t) do c = c + 1 end return c end
  return { campaigns = #S.campaign_list, jobs = #S.job_list, exports = #S.export_list, ledger = #S.ledger,
           objects = n(S.objects), api_log = #reqlog.api, storage_log = #reqlog.storage,
           memory_kb = collectgarbage("count") }
end

function M.handle(action)
  local method = ngx.req.get_method()
  local p = {}
  if method == "POST" then
    ngx.req.read_body()
    local body = ngx.req.get_body_data()
    if body and body ~= "" then
      local v, err = json.decode(body)
      if type(v) ~= "table" then return 400, { ok = false, error = "body must be a JSON object: " .. tostring(err) } end
      p = v
    end
  end
  local fn = A[action]
  if not fn then return 404, { ok = false, error = "unknown control action: " .. action } end
  lifecycle.tick()
  local ok, res, err = pcall(fn, p)
  if not ok then
    ngx.log(ngx.ERR, "control ", action, ": ", tostring(res))
    return 500, { ok = false, error = tostring(res) }
  end
  if res == nil then return 400, { ok = false, error = err } end
  return 200, res
end

return M
