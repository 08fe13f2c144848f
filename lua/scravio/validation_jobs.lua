--- client.validation_jobs and the ValidationJob object's methods.
local core = require("scravio.core")
local errors = require("scravio.errors")
local options = require("scravio.options")
local pagination = require("scravio.pagination")
local reconcile = require("scravio.reconcile")
local request = require("scravio.request")
local resource = require("scravio.resource")
local validate = require("scravio.validate")
local body = require("scravio.body")

local M = {}
local Service
Service, M.service = resource.service_class()
M.Service = Service -- workflows.lua adds the convenience methods here

-- The id a job answer names (request.call's result_id).
local function job_id(res)
  return request.unwrap(res).jobId
end

local function wrap(client, data)
  return core.wrap("ValidationJob", data, client)
end
M.wrap = wrap

-- After a text submission whose outcome is unknown: a job created since we
-- asked (less the clock-skew allowance, reconcile.CLOCK_SKEW, checked on
-- createdAt here, not only through `from`), that this client did not create
-- before (client._created), with as many emails as the unique ones we sent.
local function find_submitted(client, count, started_wall)
  local matches = {}
  for _, job in ipairs(reconcile.listed_since(client, "validation_jobs", "/validation-jobs", nil, started_wall)) do
    if type(job.jobId) == "string" and job.totalEmails == count and not reconcile.known(client, job.jobId) then
      matches[#matches + 1] = { id = job.jobId, value = job }
    end
  end
  local one, note = reconcile.the_one(matches, "validation jobs")
  if one then return { success = true, data = one.value } end
  return nil, note
end

--- POST /validation-jobs/text -> ValidationJob. emails: an array of strings
-- or one comma-separated string, sent exactly as given (the API removes
-- duplicates and judges each address; that is the job's purpose). Checked
-- client-side: the type, at least one non-empty entry, at most 5,000 unique
-- entries (case-insensitive). Reserves credits; 3 per hour; one active job
-- per account (409).
function Service:submit(emails, call)
  local ok, unique = validate.emails(emails)
  if not ok then return nil, errors.invalid(unique, "emails") end
  local copts, cerr = options.call(call, "validation_jobs:submit")
  if not copts then return nil, cerr end
  local client = self.client
  local res, err = request.call(client, "POST", "/validation-jobs/text", request.with({
    body = { emails = body.as_array(emails) }, safe = false, pace = { "validation_text" }, result_id = job_id,
    reconcile = function(started_wall) return find_submitted(client, unique, started_wall) end,
    unknown_hint = "list validation jobs created since the call (GET /validation-jobs)",
  }, copts))
  if res == nil then return nil, err end
  local job, werr = wrap(client, request.unwrap(res))
  if job then reconcile.remember(client, job.jobId) end
  return job, werr
end

-- The required string fields of a file-flow body, after its likely typos
-- (validate.fields: a misspelt idempotencyKey would otherwise be a "missing"
-- one, and a misspelt selectedColumn silently the default column).
local function required_strings(params, names, what, endpoint)
  if type(params) ~= "table" then
    return nil, errors.invalid({ { param = "params", location = "body", msg = what .. " expects a table" } })
  end
  local _, problems = validate.fields(endpoint, params, "body")
  problems = problems or {}
  for _, n in ipairs(names) do
    if type(params[n]) ~= "string" or params[n] == "" then
      problems[#problems + 1] = { param = n, location = "body", msg = n .. " is required (a non-empty string)" }
    end
  end
  if #problems > 0 then return nil, errors.invalid(problems, what) end
  return true
end

local function copy(t)
  local c = {}
  for k, v in pairs(t) do c[k] = v end
  return c
end

--- POST /validation-jobs/file -> upload ticket {uploadId, key, uploadUrl, ...}
-- idempotencyKey is generated when omitted and returned on the ticket.
function Service:request_upload(params, call)
  if params ~= nil and type(params) ~= "table" then
    return nil, errors.invalid({ { param = "params", location = "body", msg = "request_upload expects a table" } })
  end
  local p = copy(params or {})
  if p.idempotencyKey == nil then p.idempotencyKey = core.uuid() end
  local ok, err = required_strings(p, { "filename", "contentType", "idempotencyKey" }, "request_upload",
    "POST /validation-jobs/file")
  if not ok then return nil, err end
  if type(p.sizeBytes) ~= "number" or p.sizeBytes < 0 or p.sizeBytes ~= math.floor(p.sizeBytes) then
    return nil, errors.invalid({ { param = "sizeBytes", location = "body", msg = "sizeBytes must be a whole number of bytes" } })
  end
  local copts, cerr = options.call(call, "validation_jobs:request_upload")
  if not copts then return nil, cerr end
  local res, rerr = request.call(self.client, "POST", "/validation-jobs/file",
    request.with({ body = p, safe = true }, copts))
  if res == nil then return nil, rerr end
  local ticket = request.unwrap(res)
  if ticket.idempotencyKey == nil then ticket.idempotencyKey = p.idempotencyKey end
  return ticket
end

--- POST /validation-jobs/file/process -> parse review {parseId, columns, recommendedColumn, ...}
function Service:process_upload(params, call)
  local ok, err = required_strings(params, { "uploadId", "key", "filename", "idempotencyKey" }, "process_upload",
    "POST /validation-jobs/file/process")
  if not ok then return nil, err end
  local copts, cerr = options.call(call, "validation_jobs:process_upload")
  if not copts then return nil, cerr end
  local res, rerr = request.call(self.client, "POST", "/validation-jobs/file/process",
    request.with({ body = params, safe = true }, copts))
  if res == nil then return nil, rerr end
  return request.unwrap(res)
end

--- POST /validation-jobs/file/confirm -> ValidationJob (reserves credits; the
-- idempotency key makes a resend safe).
function Service:confirm_upload(params, call)
  local ok, err = required_strings(params, { "parseId", "idempotencyKey" }, "confirm_upload",
    "POST /validation-jobs/file/confirm")
  if not ok then return nil, err end
  local copts, cerr = options.call(call, "validation_jobs:confirm_upload")
  if not copts then return nil, cerr end
  local res, rerr = request.call(self.client, "POST", "/validation-jobs/file/confirm",
    request.with({ body = params, safe = true, result_id = job_id,
      unknown_hint = "list validation jobs (GET /validation-jobs), or confirm again with the same idempotencyKey" },
      copts))
  if res == nil then return nil, rerr end
  local job, werr = wrap(self.client, request.unwrap(res))
  -- (listed with the text jobs: never to be taken for a text submission's result)
  if job then reconcile.remember(self.client, job.jobId) end
  return job, werr
end

--- GET /validation-jobs/{id} -> ValidationJob
Service.get = resource.getter("ValidationJob", "/validation-jobs/{}", "validation_jobs:get")

--- GET /validation-jobs -> {items={ValidationJob...}, jobs=(same), pagination=, total=, page=, pages=}   (list)
--- Iterator of ValidationJob over all pages   (each)
pagination.define(Service, "validation_jobs", "ValidationJob", "/validation-jobs")

-- ---- ValidationJob methods ---------------------------------------------------
local Job = core.methods.ValidationJob

--- j:refresh() -> j, updated in place
Job.refresh = resource.refresher("/validation-jobs/{}", "jobId", "j:refresh")

--- j:download_url() -> url, {downloadUrl, expiresIn} (404 until completed)
Job.download_url = resource.download_url("/validation-jobs/{}/download", "jobId", "j:download_url")

--- j:data() -> a plain deep copy of the API object
Job.data = resource.data

return M
