-- The LuaCATS annotations (types/*.lua) say what the SDK is: every annotated
-- name exists in the loaded module, client, services and object method
-- tables, every public name of those is annotated, every option table's
-- annotated fields are its schema in scravio.options (same names, same
-- types), every API parameter class lists the documented fields
-- (scravio.validate.FIELDS), and the objects and errors a real run produces
-- carry no field the annotations do not know. So the spec fails when an API
-- is added without annotations, or annotated but not there.
local H = require("spec.support.helpers")
local cats = require("tools.luacats")
local core = require("scravio.core")
local options = require("scravio.options")
local validate = require("scravio.validate")
local scravio = H.scravio

local api = cats.read_files(cats.files("types"))

local USERDATA = { ["scravio.Campaign"] = true, ["scravio.ValidationJob"] = true, ["scravio.Export"] = true }

-- Every option class and the schema (scravio.options.schemas) it annotates.
local OPTION_CLASSES = {
  ["scravio.NewOptions"] = "new",
  ["scravio.CallOptions"] = "call",
  ["scravio.RequestOptions"] = "request",
  ["scravio.LaunchOptions"] = "launch",
  ["scravio.RunOptions"] = "run",
  ["scravio.WaitOptions"] = "wait",
  ["scravio.DownloadOptions"] = "download",
  ["scravio.SubmitFileOptions"] = "submit_file",
  ["scravio.ValidateGuardOptions"] = "validate_guard",
}

-- Every API parameter/query class and the documented fields it annotates.
local PARAM_CLASSES = {
  ["scravio.CampaignParams"] = "POST /campaigns",
  ["scravio.CampaignInputs"] = "campaign inputs",
  ["scravio.RequestUploadParams"] = "POST /validation-jobs/file",
  ["scravio.ProcessUploadParams"] = "POST /validation-jobs/file/process",
  ["scravio.ConfirmUploadParams"] = "POST /validation-jobs/file/confirm",
  ["scravio.ExportCreateParams"] = "POST /list-exports",
  ["scravio.CampaignListQuery"] = "GET /campaigns",
  ["scravio.LeadsQuery"] = "GET /campaigns/{id}/leads",
  ["scravio.ValidationJobListQuery"] = "GET /validation-jobs",
  ["scravio.ExportListQuery"] = "GET /list-exports",
  ["scravio.CreditTransactionListQuery"] = "GET /credit-transactions",
}
-- Documented body fields that are arguments rather than a params table.
local FIELDS_AS_ARGUMENTS = { ["POST /validation-jobs/text"] = "validation_jobs:submit(emails)",
  ["POST /campaigns/reserve-preview"] = "the same scravio.CampaignParams as POST /campaigns" }

local function sorted(set)
  local out = {}
  for k in pairs(set) do out[#out + 1] = tostring(k) end
  table.sort(out)
  return out
end

local function annotated(class)
  local c = assert(api.classes[class], class .. " is not annotated")
  local names = {}
  for _, f in ipairs(c.fields) do if f.name then names[f.name] = "field" end end
  for _, m in ipairs(c.methods) do names[m.name] = "method" end
  return names, c
end

-- The public names of a runtime table: its keys (and those of its
-- metatable's __index table), less metamethods and _private ones.
local function public_names(t, skip)
  local names = {}
  local function add(tbl)
    for k in pairs(tbl) do
      -- (_core, _transport ... are private; _VERSION is not)
      if type(k) == "string" and not k:match("^_[%l_]") and not (skip and skip[k]) then names[k] = true end
    end
  end
  if type(t) == "table" then add(t) end
  local mt = getmetatable(t)
  if type(mt) == "table" and type(mt.__index) == "table" then add(mt.__index) end
  return names
end

-- Both ways: what is annotated exists, what exists is annotated.
local function same_names(class, runtime, extra_annotated)
  local names = annotated(class)
  local missing, unknown = {}, {}
  for k in pairs(runtime) do
    if not names[k] then missing[#missing + 1] = k end
  end
  for k in pairs(names) do
    if not runtime[k] and not (extra_annotated and extra_annotated[k]) then unknown[#unknown + 1] = k end
  end
  table.sort(missing)
  table.sort(unknown)
  assert.are.same({}, missing, class .. ": public names without annotation (add them to types/): "
    .. table.concat(missing, ", "))
  assert.are.same({}, unknown, class .. ": annotated names the SDK does not have: " .. table.concat(unknown, ", "))
end

local function client()
  -- Nothing is sent: building a client only checks its options.
  return assert(scravio.new{ api_key = "sk_test_annotations", base_url = "http://127.0.0.1:9/api" })
end

describe("annotations (types/*.lua)", function()
  it("are meta files, and scravio.lua is what require('scravio') resolves to", function()
    assert.is_true(#cats.files("types") >= 2)
    local named = {}
    for _, m in ipairs(api.metas) do named[m.file] = m.name end
    for _, f in ipairs(cats.files("types")) do
      assert.is_truthy(named[f], f .. " has no ---@meta line")
    end
    assert.are.equal("scravio", named["types/scravio.lua"])
  end)

  it("name only classes and aliases that are annotated", function()
    local unknown = {}
    local function check(t, where)
      for k in pairs(cats.lua_types(api, t, USERDATA)) do
        if k:sub(1, 1) == "?" then unknown[#unknown + 1] = where .. ": " .. k:sub(2) end
      end
      for name in t:gmatch("scravio%.[%w_]+") do
        if not api.classes[name] and not api.aliases[name] then unknown[#unknown + 1] = where .. ": " .. name end
      end
    end
    for _, name in ipairs(api.class_order) do
      local c = api.classes[name]
      if c.parent then check(c.parent, name) end
      for _, f in ipairs(c.fields) do check(f.type, name .. "." .. tostring(f.name or f.key)) end
      for _, m in ipairs(c.methods) do
        for _, p in ipairs(m.params) do check(p.type, name .. ":" .. m.name .. "(" .. p.name .. ")") end
        for _, r in ipairs(m.returns) do check(r.type, name .. ":" .. m.name .. " return") end
      end
    end
    assert.are.same({}, unknown)
  end)

  it("document every class, function, parameter and option", function()
    local bare = {}
    for _, name in ipairs(api.class_order) do
      local c = api.classes[name]
      if c.desc == "" then bare[#bare + 1] = name end
      for _, m in ipairs(c.methods) do
        if m.desc == "" then bare[#bare + 1] = name .. "." .. m.name end
        local args = {}
        for a in m.args:sub(2, -2):gmatch("[%w_%.]+") do args[#args + 1] = a end
        local params = {}
        for _, p in ipairs(m.params) do params[#params + 1] = p.name end
        assert.are.same(args, params, name .. "." .. m.name .. ": @param lines and arguments differ")
        assert.is_true(#m.returns > 0 or m.name == "close", name .. "." .. m.name .. " has no @return")
      end
      if OPTION_CLASSES[name] then
        for _, f in ipairs(c.fields) do
          if f.desc == "" then bare[#bare + 1] = name .. "." .. f.name end
        end
      end
    end
    assert.are.same({}, bare)
  end)

  describe("match the loaded SDK", function()
    it("the module table", function()
      same_names("scravio", public_names(scravio))
      local json = {}
      for k in pairs(scravio.json) do json[k] = true end
      same_names("scravio.JSON", json)
    end)

    it("the client (its fields and methods)", function()
      local c = client()
      -- Client.new is the constructor behind scravio.new, not a method of a client.
      same_names("scravio.Client", public_names(c, { new = true }))
      c:close()
    end)

    it("the four services", function()
      local c = client()
      for _, f in ipairs(api.classes["scravio.Client"].fields) do
        local service = c[f.name]
        assert.is_table(service, f.name)
        same_names(f.type, public_names(service))
      end
      c:close()
    end)

    it("the methods of Campaign, ValidationJob and Export", function()
      local c = client()
      for class in pairs(USERDATA) do
        local kind = class:match("^scravio%.(.*)$")
        local names = annotated(class)
        local methods = {}
        for k in pairs(core.methods[kind]) do
          if not k:match("^_") then methods[k] = true end
        end
        for k in pairs(methods) do
          assert.are.equal("method", names[k], class .. ":" .. k .. " is not annotated as a method")
        end
        for _, m in ipairs(api.classes[class].methods) do
          assert.is_true(methods[m.name] == true, class .. ":" .. m.name .. " is annotated but not a method")
        end
        -- `id` reads the type's own id field
        local id_field = ({ Campaign = "_id", ValidationJob = "jobId", Export = "exportId" })[kind]
        assert.is_truthy(names.id and names[id_field], class .. " annotates id and " .. id_field)
        local obj = core.wrap(kind, { [id_field] = "x1" }, c)
        assert.are.equal("x1", obj.id)
      end
      c:close()
    end)

    it("every annotated signature has the runtime function's arity (Lua 5.2+ and LuaJIT report it)", function()
      local c = client()
      local tables = {
        ["scravio"] = scravio, ["scravio.JSON"] = scravio.json, ["scravio.Client"] = getmetatable(c).__index,
        ["scravio.Campaign"] = core.methods.Campaign, ["scravio.ValidationJob"] = core.methods.ValidationJob,
        ["scravio.Export"] = core.methods.Export,
      }
      for _, f in ipairs(api.classes["scravio.Client"].fields) do tables[f.type] = getmetatable(c[f.name]).__index end
      local checked, problems = 0, {}
      for class, t in pairs(tables) do
        for _, m in ipairs(api.classes[class].methods) do
          local info = debug.getinfo(t[m.name], "Su")
          if info.what == "Lua" and info.nparams ~= nil then
            checked = checked + 1
            local want = #m.params + (m.colon and 1 or 0)
            if info.nparams ~= want and not (info.isvararg and info.nparams <= want) then
              problems[#problems + 1] = string.format("%s%s%s takes %d arguments, annotated %d", class,
                m.colon and ":" or ".", m.name, info.nparams, want)
            end
          end
        end
      end
      c:close()
      table.sort(problems)
      assert.are.same({}, problems)
      if debug.getinfo(print, "u").nparams ~= nil then assert.is_true(checked > 30, "checked " .. checked) end
    end)

    it("every option table is its scravio.options schema: the same names and types", function()
      local problems = {}
      for class, schema_name in pairs(OPTION_CLASSES) do
        local schema = options.schemas[schema_name]
        if not schema then
          problems[#problems + 1] = class .. ": options.schemas." .. schema_name .. " does not exist"
        else
          local fields = cats.all_fields(api, class)
          for k, spec in pairs(schema) do
            local f = fields[k]
            if not f then
              problems[#problems + 1] = class .. " lacks " .. k .. " (options.schemas." .. schema_name .. ")"
            elseif spec.type ~= "any" then
              local want = {}
              for t in spec.type:gmatch("[^|]+") do want[t] = true end
              local got = cats.lua_types(api, f.type, USERDATA)
              got["nil"] = nil
              if table.concat(sorted(got), "|") ~= table.concat(sorted(want), "|") then
                problems[#problems + 1] = string.format("%s.%s is %s (%s) but the schema says %s",
                  class, k, f.type, table.concat(sorted(got), "|"), spec.type)
              end
            end
            if f and not f.optional then problems[#problems + 1] = class .. "." .. k .. " must be optional (" .. k .. "?)" end
          end
          for k in pairs(fields) do
            if schema[k] == nil then
              problems[#problems + 1] = class .. "." .. k .. " is annotated but options.schemas." .. schema_name
                .. " has no such option"
            end
          end
        end
      end
      for name in pairs(options.schemas) do
        local found = false
        for _, s in pairs(OPTION_CLASSES) do if s == name then found = true end end
        if not found then problems[#problems + 1] = "options.schemas." .. name .. " has no annotated class" end
      end
      table.sort(problems)
      assert.are.same({}, problems)
    end)

    it("every parameter and query class lists the documented API fields (validate.FIELDS)", function()
      local problems = {}
      for class, endpoint in pairs(PARAM_CLASSES) do
        local documented = {}
        for _, name in ipairs(assert(validate.FIELDS[endpoint], endpoint)) do documented[name] = true end
        local fields = cats.all_fields(api, class)
        for name in pairs(documented) do
          if not fields[name] then problems[#problems + 1] = class .. " lacks " .. name .. " (" .. endpoint .. ")" end
        end
        for name in pairs(fields) do
          if not documented[name] then
            problems[#problems + 1] = class .. "." .. name .. " is not a documented field of " .. endpoint
          end
        end
      end
      for endpoint in pairs(validate.FIELDS) do
        local found = FIELDS_AS_ARGUMENTS[endpoint] ~= nil
        for _, e in pairs(PARAM_CLASSES) do if e == endpoint then found = true end end
        if not found then problems[#problems + 1] = endpoint .. " has no annotated parameter class" end
      end
      table.sort(problems)
      assert.are.same({}, problems)
    end)

    it("a misspelt option is refused by the SDK, an annotated one is accepted", function()
      -- What the editor cannot flag (a typo in a table literal), the SDK does.
      local ok, err = scravio.new{ api_key = "k", timeot = 5 }
      assert.is_nil(ok)
      assert.are.equal("invalid", err.kind)
      assert.are.equal("timeot", err.errors[1].param)
      assert.matches("timeout", err.message)
      local c = assert(scravio.new{ api_key = "k", timeout = 5, connect_timeout = 2, max_retries = 0,
        pace = "strict", max_retry_wait = 1 })
      c:close()
    end)
  end)

  describe("cover what a run produces", function()
    local srv, c
    local events = {}
    setup(function()
      srv = require("scravio.testing").start()
      c = srv:client{ max_retries = 0, timeout = 10, on_event = function(ev) events[#events + 1] = ev end }
    end)
    teardown(function()
      if c then c:close() end
      if srv then srv:stop() end
    end)

    local function unannotated(class, obj)
      local fields = cats.all_fields(api, class)
      local out = {}
      for k in pairs(obj) do
        if type(k) == "string" and not fields[k] then out[#out + 1] = k end
      end
      table.sort(out)
      return out
    end

    it("every field of the API objects the SDK hands out is annotated", function()
      local params = { type = "INSTAGRAM_HASHTAG", inputs = { hashtag = "fitness" }, targetEmails = 20 }
      local created = assert(c.campaigns:create(params))
      assert.are.same({}, unannotated("scravio.Campaign", created:data()))
      local camp = assert(c.campaigns:get(created.id))
      assert.are.same({}, unannotated("scravio.Campaign", camp:data()))
      for _, key in ipairs({ "creditSettlement", "phaseState", "postValidation", "normalizedCounts" }) do
        if type(camp[key]) == "table" then
          local class = api.classes["scravio.Campaign"].field[key].type:gsub("%?$", "")
          assert.are.same({}, unannotated(class, camp:data()[key]), "Campaign." .. key)
        end
      end
      assert.are.same({}, unannotated("scravio.Preview", assert(c.campaigns:preview(params))))
      assert.are.same({}, unannotated("scravio.Account", assert(c:me())))
      local page = assert(c.campaigns:list{ perPage = 1 })
      assert.are.same({}, unannotated("scravio.CampaignPage", page))
      assert.are.same({}, unannotated("scravio.Pagination", page.pagination))

      local job = assert(c.validation_jobs:submit({ "a@example.com", "b@example.com" }))
      assert.are.same({}, unannotated("scravio.ValidationJob", job:data()))
      job = assert(c.validation_jobs:get(job.id))
      assert.are.same({}, unannotated("scravio.ValidationJob", job:data()))
      assert.are.same({}, unannotated("scravio.ValidationJobPage", assert(c.validation_jobs:list())))

      srv:advance(3600)
      camp = assert(c.campaigns:get(created.id))
      assert.are.same({}, unannotated("scravio.Campaign", camp:data()))
      local e = assert(camp:export{ fileFormat = "csv" })
      assert.are.same({}, unannotated("scravio.Export", e:data()))
      srv:advance(3600)
      assert(e:refresh())
      assert.are.same({}, unannotated("scravio.Export", e:data()))
      assert.are.same({}, unannotated("scravio.ExportPage", assert(c.exports:list())))
      local leads = assert(camp:leads_page{ perPage = 5 })
      assert.are.same({}, unannotated("scravio.LeadPage", leads))
      for _, lead in ipairs(leads.items) do
        assert.are.same({}, unannotated("scravio.Lead", lead))
        if type(lead.emailValidation) == "table" then
          assert.are.same({}, unannotated("scravio.EmailValidation", lead.emailValidation))
        end
      end
      local tx = assert(c.credit_transactions:list{ perPage = 5 })
      assert.are.same({}, unannotated("scravio.CreditTransactionPage", tx))
      for _, t in ipairs(tx.items) do assert.are.same({}, unannotated("scravio.CreditTransaction", t)) end

      -- what the object methods answer
      -- (the fields; the return shape, url then info, is the download specs' business)
      local function download_info(a, b) return type(a) == "table" and a or b end
      local info = download_info(e:download_url())
      assert.is_table(info)
      assert.are.same({}, unannotated("scravio.DownloadInfo", info))
      srv:advance(3600)
      assert(job:refresh())
      local jinfo = download_info(job:download_url())
      assert.is_table(jinfo)
      assert.are.same({}, unannotated("scravio.DownloadInfo", jinfo))
      assert.are.same({}, unannotated("scravio.ValidationPreview", assert(camp:validation_preview())))
      assert.are.same({}, unannotated("scravio.ValidateResult", assert(camp:validate())))
      local running = assert(c.campaigns:create{ type = "INSTAGRAM_HASHTAG", inputs = { hashtag = "yoga" },
        targetEmails = 20 })
      assert.are.same({}, unannotated("scravio.StopResult", assert(running:stop())))

      -- the file-upload steps (the ticket, the parse review submit_file's column function sees)
      local ticket = assert(c.validation_jobs:request_upload{ filename = "a.csv", contentType = "text/csv", sizeBytes = 10 })
      assert.are.same({}, unannotated("scravio.UploadTicket", ticket))
      local path = H.tmpname(".csv")
      H.write_file(path, "email\na@example.com\nb@example.com\n")
      local reviewed
      assert(c.validation_jobs:submit_file(path, { column = function(review) reviewed = review end }))
      os.remove(path)
      assert.are.same({}, unannotated("scravio.ParseReview", reviewed))
      for _, col in ipairs(reviewed.columns) do assert.are.same({}, unannotated("scravio.ParseColumn", col)) end
    end)

    it("the test kit: scravio.testing and its server", function()
      local testing = require("scravio.testing")
      same_names("scravio.testing", public_names(testing))
      for name, account in pairs(testing.accounts) do
        assert.are.same({}, unannotated("scravio.testing.Account", account), "testing.accounts." .. name)
      end
      local methods = {}
      for k, v in pairs(getmetatable(srv).__index) do
        if type(v) == "function" and not k:match("^_") then methods[k] = true end
      end
      -- (srv:client is set on the server by testing.start)
      for k, v in pairs(srv) do if type(v) == "function" then methods[k] = true end end
      local fields = {}
      -- How the controller keeps track of nginx, not for users.
      local internal = { control_url = true, conf_file = true, master_pid = true, worker_pid = true,
        watchdog_pid = true, stopped = true }
      for k, v in pairs(srv) do
        if type(v) ~= "function" and not internal[k] then fields[k] = true end
      end
      local names = {}
      for k in pairs(methods) do names[k] = true end
      for k in pairs(fields) do names[k] = true end
      same_names("scravio.testing.Server", names)
      local annotated_names = annotated("scravio.testing.Server")
      for k in pairs(methods) do assert.are.equal("method", annotated_names[k], "srv:" .. k) end
    end)

    it("every field of client:info() is annotated, and nothing else", function()
      local fields = cats.all_fields(api, "scravio.ClientInfo")
      local info = c:info()
      assert.are.same({}, unannotated("scravio.ClientInfo", info))
      for name, f in pairs(fields) do
        if not f.optional then assert.is_not_nil(info[name], "scravio.ClientInfo." .. name) end
      end
    end)

    it("every field of the events on_event receives is annotated", function()
      assert.is_true(#events > 10)
      local missing = {}
      for _, ev in ipairs(events) do
        for _, k in ipairs(unannotated("scravio.Event", ev)) do missing[k] = ev.type end
      end
      assert.are.same({}, missing)
    end)

    it("every field of the errors a run produces is annotated", function()
      local seen = {}
      local function collect(err)
        assert.is_true(scravio.is_error(err))
        for k in pairs(err) do seen[k] = true end
        for _, d in ipairs(err.errors or {}) do
          assert.are.same({}, unannotated("scravio.ErrorDetail", d))
        end
      end
      collect(select(2, scravio.new{ api_key = "k", bogus = 1 }))                  -- invalid
      collect(select(2, c.campaigns:get("does-not-exist")))                         -- api 404
      srv:fault{ method = "GET", path = "/auth/me", kind = "status", status = 429, count = 1,
        headers = { ["Retry-After"] = "7" } }
      collect(select(2, c:me()))                                                    -- rate_limited
      local closed = assert(scravio.new{ api_key = "k", base_url = "http://127.0.0.1:9/api", max_retries = 0 })
      collect(select(2, closed:me()))                                               -- network
      closed:close()
      local params = { type = "INSTAGRAM_HASHTAG", inputs = { hashtag = "gym" }, targetEmails = 500 }
      collect(select(2, c.campaigns:launch(params, { max_credits = 1 })))           -- budget
      collect(select(2, c.campaigns:launch(params, { confirm = function() return false end }))) -- cancelled
      local camp = assert(c.campaigns:create{ type = "INSTAGRAM_HASHTAG", inputs = { hashtag = "run" }, targetEmails = 20 })
      collect(select(2, camp:wait{ timeout = 0 }))                                 -- timeout
      local fields = cats.all_fields(api, "scravio.Error")
      local missing = {}
      for k in pairs(seen) do if not fields[k] then missing[#missing + 1] = k end end
      table.sort(missing)
      assert.are.same({}, missing)
      for _, k in ipairs({ "kind", "status", "code", "message", "errors", "request_id", "retry_after",
        "retryable", "method", "path" }) do
        assert.is_truthy(fields[k], "scravio.Error." .. k .. " (the contract's fields)")
      end
    end)
  end)
end)

describe("the rock", function()
  it("installs every annotation file (scravio.types.*)", function()
    local f = assert(io.open("scravio-0.1.0-1.rockspec", "rb"))
    local rockspec = f:read("*a")
    f:close()
    for _, path in ipairs(cats.files("types")) do
      local name = "scravio.types." .. path:match("([^/]+)%.lua$")
      assert.truthy(rockspec:find('["' .. name .. '"] = "' .. path .. '"', 1, true), path .. " is not in the rockspec")
    end
  end)
end)
