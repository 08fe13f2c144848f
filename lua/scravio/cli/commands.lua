--- What each `scravio` command does (except the ones that spend credits on
-- a campaign: scravio.cli.spend). Every command goes through the SDK's
-- public methods: one HTTP path, the same retries, errors and secrets rules.
-- A command returns true, or nil, err (a scravio.Error); iterators raise
-- theirs, which scravio.cli catches the same way.
local scravio = require("scravio")
local output = require("scravio.cli.output")
local params = require("scravio.cli.params")
local term = require("scravio.cli.term")

local M = {}

local function usage(msg)
  return nil, scravio.error("usage", msg, { retryable = false })
end
M.usage = usage

-- A --fields name that no record had: empty (or null) on every row, most
-- likely misspelt; said on stderr so the output stays as asked.
local function absent_notice(ctx)
  return function(names, n)
    if n == 1 then
      ctx:notice("--fields: the answer has no %s (null, or a misspelt name?)", table.concat(names, ", "))
    else
      ctx:notice("--fields: none of the %d records had %s (null everywhere, or a misspelt name?)", n,
        table.concat(names, ", "))
    end
  end
end

--- One object on stdout, in the chosen format.
function M.show(ctx, obj)
  output.object(ctx:format(false), obj, ctx.fields)
  if ctx.fields and type(obj) ~= "nil" then
    local plain, absent = output.plain(obj), {}
    if type(plain) == "table" then
      for _, f in ipairs(ctx.fields) do if output.get(plain, f) == nil then absent[#absent + 1] = f end end
      if #absent > 0 then absent_notice(ctx)(absent, 1) end
    end
  end
  return true
end

--- The writer for a list of `kind` (output.COLUMNS) in the chosen format.
function M.writer(ctx, kind)
  local fmt = ctx:format(true)
  local fields = ctx.fields
  if not fields and output.COLUMNS[kind] then
    if fmt == "table" then fields = output.COLUMNS[kind].table
    elseif fmt == "csv" or fmt == "tsv" then fields = output.COLUMNS[kind].csv end
  end
  local w = output.list(fmt, fields)
  if ctx.fields then w:track(absent_notice(ctx)) end
  return w
end

--- A list command: every page streamed with --all (service:each), else one
-- page (service:list) and, on a terminal, where it is in the whole list.
local function listing(ctx, service, kind, query)
  local w = M.writer(ctx, kind)
  if ctx.args.all then
    query.page = nil
    for item in service:each(query) do w:row(item) end
    w:finish()
    return true
  end
  local page, err = service:list(query)
  if not page then return nil, err end
  for _, item in ipairs(page.items) do w:row(item) end
  w:finish()
  local p = page.pagination or {}
  if type(p.totalPages) == "number" and p.totalPages > 1 and term.isatty(2) then
    ctx:notice("page %s of %s (%s in all); --page N for another, --all for every page",
      output.text(p.currentPage), output.text(p.totalPages), output.text(p.totalCount))
  end
  return true
end

--- Refuse to replace an existing file unless --force (before anything is
-- sent or spent). -> true | nil, err
function M.check_out(ctx, path)
  if path ~= nil and require("scravio.download").is_directory(path) then
    return usage(string.format("--out %s is a directory: pass the file's path (such as %s/leads.csv); " ..
      "nothing was sent", path, (path:gsub("/+$", ""))))
  end
  if path == nil or ctx.args.force then return true end
  local f = io.open(path, "rb")
  if f then
    f:close()
    return usage(string.format("%s exists; pass --force to overwrite it (nothing was sent)", path))
  end
  return true
end

--- Options for e:download / j:download.
function M.download_opts(ctx)
  return { progress = not ctx.args.quiet, overwrite = ctx.args.force or nil }
end

--- What to say when Ctrl-C ends a wait for a campaign (wait, run).
function M.stop_hint(id)
  return string.format("stopped waiting; campaign %s keeps running. To stop it: scravio campaigns stop %s", id, id)
end

--- What to say when Ctrl-C ends a wait for this SDK object (nil: nothing to add).
function M.resume_hint(obj)
  local kind = scravio.kind(obj)
  if kind == "Campaign" then return M.stop_hint(obj.id) end
  if kind == "ValidationJob" then
    return string.format("stopped waiting; validation job %s keeps running: scravio jobs wait %s", obj.id, obj.id)
  end
  if kind == "Export" then
    return string.format("stopped waiting; export %s keeps running: scravio exports download %s --out FILE " ..
      "once it is completed", obj.id, obj.id)
  end
end

--- Options for obj:wait.
function M.wait_opts(ctx)
  local a = ctx.args
  return {
    timeout = a.timeout and params.number(a.timeout, "--timeout", true) or nil,
    interval = a.interval and params.number(a.interval, "--interval") or nil,
    progress = not a.quiet,
  }
end

-- ---- account ------------------------------------------------------------------

function M.me(ctx)
  local me, err = ctx.client:me()
  if not me then return nil, err end
  return M.show(ctx, me)
end

-- ---- campaigns ------------------------------------------------------------------

M.campaigns = {}

function M.campaigns.list(ctx)
  local a = ctx.args
  local q = params.query(a, { status = "status", search = "q", sort_by = "sortBy", order = "order",
    from = "from", to = "to" })
  q.type = params.list(a.type)
  return listing(ctx, ctx.client.campaigns, "campaigns", q)
end

function M.campaigns.get(ctx)
  local c, err = ctx.client.campaigns:get(ctx.args.id)
  if not c then return nil, err end
  return M.show(ctx, c)
end

function M.campaigns.wait(ctx)
  local id = ctx.args.id
  local opts = M.wait_opts(ctx)
  local c, err = ctx.client.campaigns:get(id)
  if not c then return nil, err end
  ctx.interrupt_hint = M.stop_hint(id)
  local done, werr = c:wait(opts)
  if not done then
    if werr.kind == "timeout" then
      ctx:notice("campaign %s keeps running; to stop it: scravio campaigns stop %s", id, id)
    end
    return nil, werr
  end
  M.show(ctx, c)
  if c.status == "failed" then
    return nil, scravio.error("api", string.format("campaign %s ended with status failed", id),
      { code = "CAMPAIGN_FAILED", retryable = false })
  end
  return true
end

function M.campaigns.stop(ctx)
  local c, err = ctx.client.campaigns:get(ctx.args.id)
  if not c then return nil, err end
  local res, serr = c:stop()
  if not res then return nil, serr end
  return M.show(ctx, res)
end

-- ---- leads --------------------------------------------------------------------------

function M.leads(ctx)
  local a = ctx.args
  if a.has_email and a.no_email then return usage("--has-email and --no-email exclude each other") end
  local q = params.query(a, { validation_status = "validationStatus", platform = "platform",
    source_type = "sourceType", email_source = "emailSource", sort_by = "sortBy", order = "order" })
  if a.has_email then q.hasEmail = true elseif a.no_email then q.hasEmail = false end
  local limit = a.limit and params.integer(a.limit, "--limit") or nil
  local c, err = ctx.client.campaigns:get(a.id)
  if not c then return nil, err end
  local w = M.writer(ctx, "leads")
  if limit == nil or limit > 0 then
    local n = 0
    for lead in c:leads(q) do
      w:row(lead)
      n = n + 1
      if limit and n >= limit then break end
    end
  end
  w:finish()
  return true
end

-- ---- exports --------------------------------------------------------------------------

M.exports = {}

local function file_format(a)
  if a.file_format then return a.file_format end
  if a.out and a.out:lower():match("%.xlsx$") then return "xlsx" end
  return nil
end

-- The export (or job) as shown after a download: its fields plus where the file went.
local function with_file(obj, path, bytes)
  local t = output.plain(obj)
  t.path, t.bytes = path, bytes
  return t
end

function M.exports.create(ctx)
  local a = ctx.args
  local ok, cerr = M.check_out(ctx, a.out)
  if not ok then return nil, cerr end
  local wopts = M.wait_opts(ctx)
  local e, err = ctx.client.exports:create{ campaignId = a.campaign_id, emailOnly = a.email_only or nil,
    onlyValidEmails = a.valid_only or nil, fileFormat = file_format(a) }
  if not e then return nil, err end
  if a.wait or a.out then
    local done, werr = e:wait(wopts)
    if not done then return nil, werr end
    if e.status ~= "completed" then
      M.show(ctx, e)
      return nil, scravio.error("api", string.format("export %s ended with status %s", tostring(e.id),
        tostring(e.status)), { code = "EXPORT_FAILED", retryable = false })
    end
  end
  if a.out then
    local path, bytes = e:download(a.out, M.download_opts(ctx))
    if not path then return nil, bytes end
    return M.show(ctx, with_file(e, path, bytes))
  end
  return M.show(ctx, e)
end

function M.exports.list(ctx)
  local q = params.query(ctx.args, { campaign = "campaignId", status = "status" })
  return listing(ctx, ctx.client.exports, "exports", q)
end

function M.exports.download(ctx)
  local a = ctx.args
  local ok, cerr = M.check_out(ctx, a.out)
  if not ok then return nil, cerr end
  -- The API has no GET /list-exports/{id}: an Export needs only its id to
  -- ask for its download URL.
  local e, werr = require("scravio.core").wrap("Export", { exportId = a.export_id }, ctx.client)
  if not e then return nil, werr end
  local path, bytes = e:download(a.out, M.download_opts(ctx))
  if not path then return nil, bytes end
  return M.show(ctx, { exportId = a.export_id, path = path, bytes = bytes })
end

-- ---- email validation jobs ----------------------------------------------------------

-- file_opts: the money guard of a file job (max_credits, confirm), from
-- spend.validate_job, which every `validate` goes through.
function M.validate(ctx, file_opts)
  local a = ctx.args
  local emails = a.emails or {}
  if a.file and #emails > 0 then return usage("give addresses or --file, not both") end
  if not a.file and #emails == 0 then return usage("give addresses to validate, or --file PATH") end
  if a.column and not a.file then return usage("--column goes with --file") end
  if a.max_credits and not a.file then
    return usage("--max-credits goes with --file: the API gives no estimate for a list of addresses " ..
      "(POST /validation-jobs/text), so there is nothing to check it against; a list spends as it is asked")
  end
  local ok, cerr = M.check_out(ctx, a.out)
  if not ok then return nil, cerr end
  local wopts = M.wait_opts(ctx)
  local job, err
  if a.file then
    local opts = { column = a.column, progress = not a.quiet }
    for k, v in pairs(file_opts or {}) do opts[k] = v end
    job, err = ctx.client.validation_jobs:submit_file(a.file, opts)
  else
    job, err = ctx.client.validation_jobs:submit(scravio.array(emails))
  end
  if not job then return nil, err end
  return M.finish_job(ctx, job, wopts)
end

--- Wait for a job (--wait or --out), download its results (--out), show it.
function M.finish_job(ctx, job, wopts)
  local a = ctx.args
  if a.wait or a.out then
    local done, werr = job:wait(wopts)
    if not done then return nil, werr end
    if job.status ~= "completed" then
      M.show(ctx, job)
      return nil, scravio.error("api", string.format("validation job %s ended with status %s",
        tostring(job.id), tostring(job.status)), { code = "JOB_FAILED", retryable = false })
    end
  end
  if a.out then
    local path, bytes = job:download(a.out, M.download_opts(ctx))
    if not path then return nil, bytes end
    return M.show(ctx, with_file(job, path, bytes))
  end
  return M.show(ctx, job)
end

M.jobs = {}

function M.jobs.list(ctx)
  local q = params.query(ctx.args, { status = "status", from = "from", to = "to" }, "limit")
  return listing(ctx, ctx.client.validation_jobs, "jobs", q)
end

function M.jobs.get(ctx)
  local j, err = ctx.client.validation_jobs:get(ctx.args.id)
  if not j then return nil, err end
  return M.show(ctx, j)
end

function M.jobs.wait(ctx)
  local wopts = M.wait_opts(ctx)
  local j, err = ctx.client.validation_jobs:get(ctx.args.id)
  if not j then return nil, err end
  ctx.args.wait = true
  return M.finish_job(ctx, j, wopts)
end

function M.jobs.download(ctx)
  local a = ctx.args
  local ok, cerr = M.check_out(ctx, a.out)
  if not ok then return nil, cerr end
  local j, err = ctx.client.validation_jobs:get(a.id)
  if not j then return nil, err end
  local path, bytes = j:download(a.out, M.download_opts(ctx))
  if not path then return nil, bytes end
  return M.show(ctx, { jobId = a.id, path = path, bytes = bytes })
end

-- ---- credits ------------------------------------------------------------------------

function M.credits(ctx)
  local a = ctx.args
  local q = params.query(a, { campaign = "campaignId", from = "from", to = "to", sort_by = "sortBy",
    order = "order" })
  q.type = params.list(a.type)
  return listing(ctx, ctx.client.credit_transactions, "credits", q)
end

-- ---- request --------------------------------------------------------------------------

function M.request(ctx)
  local a = ctx.args
  local query
  for _, kv in ipairs(a.query or {}) do
    local k, v = params.pair(kv, "--query")
    query = query or {}
    query[k] = v
  end
  local body
  if a.body then
    local text = a.body
    if text:sub(1, 1) == "@" then text = params.slurp(text:sub(2), "--body") end
    body = params.json(text, "--body")
  end
  local res, err = ctx.client:request(a.method, a.path, { query = query, body = body, retry = a.retry or nil })
  if res == nil then return nil, err end
  -- The answer as it came (a raw body): JSON unless a format was asked for.
  output.object((a.format or (a.json and "json")) or "json", res, ctx.fields)
  return true
end

return M
