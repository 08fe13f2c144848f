-- validation_jobs:submit_file: ticket -> PUT to storage (streamed, no
-- credentials) -> process -> confirm, one idempotencyKey for every step and
-- every retry, against the fake server.
local H = require("spec.support.helpers")
require("scravio.workflows")
local upload = require("scravio.upload")

local tmpdir, write = H.tmpdir, H.write_file

local function decode(body) return H.scravio.json.decode(body) end

local CSV = "name,email,notes\r\nAda,ada@example.com,x\r\nBob,bob@example.org,y\r\nAda again,ada@example.com,z\r\n"

describe("validation_jobs:submit_file", function()
  local srv, client, dir

  setup(function() srv = H.start() end)
  teardown(function() if srv then srv:stop() end end)

  before_each(function()
    srv:reset()
    client = H.client(srv)
    H.fake_clock(client, { srv = srv }) -- backoff advances the fake clock, never really sleeps
    dir = tmpdir()
  end)

  after_each(function()
    os.execute("rm -rf '" .. dir .. "'")
  end)

  local function bodies(path)
    local out = {}
    for i, r in ipairs(srv:requests({ method = "POST", path = path })) do out[i] = decode(r.body) end
    return out
  end

  it("uploads, parses and confirms with one idempotencyKey; storage gets no credentials", function()
    local path = write(dir .. "/contacts.csv", CSV)
    local ws = H.client(srv, { workspace_id = "ws_9" })
    local seen
    local job, err = ws.validation_jobs:submit_file(path, { column = function(review)
      seen = review
      return nil -- the recommended column
    end })
    assert.is_truthy(job, err)
    assert.is_nil(err) -- success is the job alone, as API.md says
    assert.equals("ValidationJob", H.scravio.kind(job))
    assert.is_string(job.id)
    assert.equals("email", seen.recommendedColumn)
    assert.equals(2, job.totalEmails)

    local tickets = bodies("/validation-jobs/file")
    local processes = bodies("/validation-jobs/file/process")
    local confirms = bodies("/validation-jobs/file/confirm")
    assert.equals(1, #tickets)
    assert.equals(1, #processes)
    assert.equals(1, #confirms)
    local key = tickets[1].idempotencyKey
    assert.matches("^%x+%-%x+%-4%x+%-%x+%-%x+$", key)
    assert.equals(key, processes[1].idempotencyKey)
    assert.equals(key, confirms[1].idempotencyKey)
    assert.equals("contacts.csv", tickets[1].filename)
    assert.equals("text/csv", tickets[1].contentType)
    assert.equals(#CSV, tickets[1].sizeBytes)
    assert.is_true(H.is_integer(tickets[1].sizeBytes))
    assert.equals("contacts.csv", processes[1].filename)
    assert.equals("email", confirms[1].selectedColumn)
    assert.equals(seen.parseId, confirms[1].parseId)

    local puts = srv:storage_requests({ method = "PUT" })
    assert.equals(1, #puts)
    local h = puts[1].headers
    assert.is_nil(h["x-api-key"])
    assert.is_nil(h["authorization"])
    assert.is_nil(h["x-workspace-id"])
    assert.equals("text/csv", h["content-type"])
    assert.equals(#CSV, puts[1].bytes)

    srv:advance(3600)
    assert(job:wait{ timeout = 0 })
    assert.equals("completed", job.status)
    assert.equals(2, job.validCount + job.invalidCount)
  end)

  it("sends a .txt file as text/plain, with a bearer token that never reaches storage", function()
    local path = write(dir .. "/list.TXT", "a@example.com\nb@example.com\nc@example.net\n")
    local bearer = H.client(srv, { access_token = srv.access_token })
    local job = assert(bearer.validation_jobs:submit_file(path))
    assert.equals(3, job.totalEmails)
    assert.equals("text/plain", bodies("/validation-jobs/file")[1].contentType)
    local put = srv:storage_requests({ method = "PUT" })[1]
    assert.equals("text/plain", put.headers["content-type"])
    assert.is_nil(put.headers["authorization"])
  end)

  it("confirms the column the caller chose", function()
    local path = write(dir .. "/two.csv",
      "work,personal\r\nw1@example.com,p1@example.com\r\nw2@example.com,p2@example.com\r\n,p3@example.com\r\n")
    local job = assert(client.validation_jobs:submit_file(path, { column = "work" }))
    assert.equals("work", bodies("/validation-jobs/file/confirm")[1].selectedColumn)
    assert.equals(2, job.totalEmails)
  end)

  it("refuses a column the file's header does not have before sending anything, naming the columns", function()
    local path = write(dir .. "/contacts.csv", CSV)
    local job, err = client.validation_jobs:submit_file(path, { column = "mail" })
    assert.is_nil(job)
    assert.equals("invalid", err.kind)
    assert.equals("column", err.errors[1].param)
    for _, k in ipairs({ '"name"', '"email"', '"notes"' }) do
      assert.truthy(err.message:find(k, 1, true), err.message)
    end
    -- before: the ticket, the PUT and process went out first
    assert.equals(0, #srv:requests({}))
    assert.equals(0, #srv:storage_requests({}))
    -- a label in another case, or a key made of a label, is not refused
    assert.is_true(upload.header_has({ "Work E-mail", "Mail", "Mail" }, "work_e_mail"))
    assert.is_true(upload.header_has({ "Work E-mail", "Mail", "Mail" }, " WORK E-MAIL "))
    assert.is_true(upload.header_has({ "Work E-mail", "Mail", "Mail" }, "mail_3"))
    assert.is_true(upload.header_has({ "a", "b" }, "column_2"))
    assert.is_false(upload.header_has({ "a", "b" }, "c"))
    -- a file whose first line is data has no header to check against
    assert.is_nil(upload.csv_header(write(dir .. "/plain.csv", "a@example.com,b@example.com\n")))
    assert.same({ "x,y", "z" }, upload.csv_header(write(dir .. "/q.csv", '\239\187\191"x,y", z\r\n1,2\r\n')))
    -- another delimiter: only the server's parse knows its columns, so
    -- column = "email" goes out (its review is checked before confirm)
    assert.is_nil(upload.csv_header(write(dir .. "/semi.csv", "email;name\na@example.com;A\n")))
    assert.is_nil(upload.csv_header(write(dir .. "/tab.csv", "email\tname\na@example.com\tA\n")))
    assert.same({ "a;b", "c" }, upload.csv_header(write(dir .. "/mixed.csv", "a;b,c\n1,2\n")))
  end)

  it("a column only the server's review can refuse ends as cancelled with sent = true, nothing charged",
    function()
    local before = assert(client:me()).credits
    local path = write(dir .. "/contacts.csv", CSV)
    local job, err = client.validation_jobs:submit_file(path, { column = function() return "mail" end })
    assert.is_nil(job)
    assert.equals("cancelled", err.kind) -- not "invalid" (nothing was sent): requests went out
    assert.is_true(err.sent)
    assert.equals("column", err.errors[1].param)
    assert.equals("POST", err.method)
    assert.equals("/validation-jobs/file/process", err.path)
    for _, k in ipairs({ '"name"', '"email"', '"notes"' }) do
      assert.truthy(err.message:find(k, 1, true), err.message)
    end
    assert.is_table(err.review)
    assert.equals(0, #srv:requests({ path = "/validation-jobs/file/confirm" }))
    assert.equals(before, assert(client:me()).credits)
  end)

  it("a file over the ticket's maxSizeBytes: cancelled with sent = true, and refused locally from then on",
    function()
    local path = write(dir .. "/contacts.csv", CSV)
    srv:fault{ method = "POST", path = "/validation-jobs/file", kind = "status", status = 201,
      content_type = "application/json", body = '{"success":true,"data":{"uploadId":"upl_x","key":"k",' ..
        '"uploadUrl":"' .. srv.storage_url .. '/up","maxSizeBytes":10}}' }
    local job, err = client.validation_jobs:submit_file(path)
    assert.is_nil(job)
    assert.equals("cancelled", err.kind) -- before: "invalid", after the ticket POST
    assert.is_true(err.sent)
    assert.equals("path", err.errors[1].param)
    assert.equals(0, #srv:storage_requests({}))
    srv:clear_requests()
    job, err = client.validation_jobs:submit_file(path)
    assert.is_nil(job)
    assert.equals("invalid", err.kind)
    assert.truthy(err.message:find("at most 10", 1, true), err.message)
    assert.equals(0, #srv:requests({}))
  end)

  it("turns a column function that raises into an error value, confirming nothing", function()
    local path = write(dir .. "/raise.csv", CSV)
    local job, err = client.validation_jobs:submit_file(path, { column = function() error("no thanks") end })
    assert.is_nil(job)
    assert.equals("cancelled", err.kind)
    assert.truthy(err.message:find("no thanks", 1, true))
    assert.is_table(err.review)
    assert.equals(0, #bodies("/validation-jobs/file/confirm"))
  end)

  describe("money guard (max_credits, confirm)", function()
    -- CSV has 2 unique emails: the fake's review estimates 2 credits.
    it("refuses an estimate over max_credits after process: kind budget, no confirm request, nothing charged",
      function()
      local before = assert(client:me()).credits
      local path = write(dir .. "/contacts.csv", CSV)
      local asked = false
      local job, err = client.validation_jobs:submit_file(path, { max_credits = 1, confirm = function()
        asked = true
        return true
      end })
      assert.is_nil(job)
      assert.equals("budget", err.kind)
      assert.is_false(err.retryable)
      assert.is_true(err.sent)
      assert.equals(2, err.estimate)
      assert.equals(1, err.max_credits)
      assert.is_table(err.review)
      assert.truthy(err.message:find("2 credits", 1, true), err.message)
      assert.truthy(err.message:find("more than max_credits 1", 1, true), err.message)
      assert.truthy(err.message:find("max_credits = 2", 1, true), err.message) -- how to raise the bound
      assert.truthy(err.message:find("nothing was charged", 1, true), err.message)
      assert.is_false(asked) -- the bound is checked before confirm() is asked
      assert.equals(1, #srv:requests({ method = "POST", path = "/validation-jobs/file/process" }))
      assert.equals(0, #srv:requests({ path = "/validation-jobs/file/confirm" }))
      assert.equals(before, assert(client:me()).credits)
    end)

    it("confirms within max_credits; confirm(review, info) sees the estimate and the column", function()
      local path = write(dir .. "/contacts.csv", CSV)
      local seen_review, seen_info
      local job, err = client.validation_jobs:submit_file(path, { max_credits = 2, confirm = function(review, info)
        seen_review, seen_info = review, info
        return true
      end })
      assert.is_truthy(job, err)
      assert.equals(2, seen_review.estimatedCredits)
      assert.same({ estimate = 2, max_credits = 2, column = "email" }, seen_info)
      assert.equals(1, #srv:requests({ path = "/validation-jobs/file/confirm" }))
    end)

    it("only a confirm() answering exactly true confirms; anything else is cancelled, nothing charged", function()
      local path = write(dir .. "/contacts.csv", CSV)
      for _, answer in ipairs({ false, "yes", 1 }) do
        local job, err = client.validation_jobs:submit_file(path, { confirm = function() return answer end })
        assert.is_nil(job)
        assert.equals("cancelled", err.kind)
        assert.is_true(err.sent)
        assert.equals(2, err.estimate)
        assert.truthy(err.message:find("nothing was charged", 1, true), err.message)
      end
      local job, err = client.validation_jobs:submit_file(path, { confirm = function() end })
      assert.is_nil(job)
      assert.truthy(err.message:find("answered nil, not true", 1, true), err.message)
      assert.equals(0, #srv:requests({ path = "/validation-jobs/file/confirm" }))
    end)

    it("a review without estimatedCredits cannot be checked against max_credits: refused, nothing confirmed",
      function()
      local path = write(dir .. "/contacts.csv", CSV)
      srv:fault{ method = "POST", path = "/validation-jobs/file/process", kind = "status", status = 200,
        content_type = "application/json", body = '{"success":true,"data":{"parseId":"parse_x","status":"parsed",' ..
          '"totalEmails":2,"columns":[{"key":"email","label":"email"}],"recommendedColumn":"email"}}' }
      local job, err = client.validation_jobs:submit_file(path, { max_credits = 100 })
      assert.is_nil(job)
      assert.equals("budget", err.kind)
      assert.truthy(err.message:find("estimatedCredits", 1, true), err.message)
      assert.equals(0, #srv:requests({ path = "/validation-jobs/file/confirm" }))
    end)

    it("refuses a max_credits that is not a positive number, or a confirm that is not a function, before sending",
      function()
      local path = write(dir .. "/contacts.csv", CSV)
      for _, opts in ipairs({ { max_credits = 0 }, { max_credits = "5" }, { max_credits = 0 / 0 },
        { confirm = true } }) do
        local job, err = client.validation_jobs:submit_file(path, opts)
        assert.is_nil(job)
        assert.equals("invalid", err.kind)
      end
      assert.equals(0, #srv:requests({}))
    end)
  end)

  it("accepts a column's header label and confirms its key", function()
    local path = write(dir .. "/labels.csv",
      "Work Email,Personal E-mail\r\nw1@example.com,p1@example.com\r\nw2@example.com,p2@example.com\r\n"
      .. ",p3@example.com\r\n")
    local review
    local job, err = client.validation_jobs:submit_file(path, { column = function(r)
      review = r
      return "Work Email"
    end })
    assert.is_truthy(job, err)
    local key
    for _, col in ipairs(review.columns) do
      if col.label == "Work Email" then key = col.key end
    end
    assert.is_string(key)
    assert.are_not.equal("Work Email", key) -- the fake slugs labels into keys
    assert.equals(key, bodies("/validation-jobs/file/confirm")[1].selectedColumn)
    assert.equals(2, job.totalEmails)
  end)

  it("uploads a file whose name has no extension as text/csv, named NAME.csv for the API", function()
    local path = os.tmpname()
    write(path, CSV)
    local job, err = client.validation_jobs:submit_file(path)
    os.remove(path)
    assert.is_truthy(job, err and tostring(err))
    local tickets = bodies("/validation-jobs/file")
    assert.equals(1, #tickets)
    assert.equals(path:match("([^/]+)$") .. ".csv", tickets[1].filename) -- the API validates the extension
    assert.equals("text/csv", tickets[1].contentType)
    assert.equals(#CSV, tickets[1].sizeBytes)
    assert.equals("text/csv", srv:storage_requests({ method = "PUT" })[1].headers["content-type"])
    -- another extension goes only with content_type=, and gets a .csv/.txt name too
    srv:advance(3600) -- one active job per account: let the first one finish
    local tsv = write(dir .. "/leads.tsv", CSV)
    assert(client.validation_jobs:submit_file(tsv, { content_type = "text/plain" }))
    assert.equals("leads.tsv.txt", bodies("/validation-jobs/file")[2].filename)
  end)

  it("rejects a missing, empty or unsupported file before sending anything", function()
    local cases = {
      dir .. "/nope.csv",
      dir .. "/nope", -- missing, no extension
      write(dir .. "/empty.csv", ""),
      write(dir .. "/empty", ""),
      write(dir .. "/sheet.xlsx", "PK\3\4"),
      dir, -- a directory (no extension)
      dir .. "/folder.csv", -- a directory that looks like a CSV file
    }
    assert(os.execute("mkdir '" .. dir .. "/folder.csv'"))
    for _, path in ipairs(cases) do
      local job, err = client.validation_jobs:submit_file(path)
      assert.is_nil(job)
      assert.equals("invalid", err.kind)
    end
    local job, err = client.validation_jobs:submit_file(dir .. "/x.csv", { column = 3 })
    assert.is_nil(job)
    assert.equals("invalid", err.kind)
    assert.equals(0, #srv:requests({}))
    assert.equals(0, #srv:storage_requests({}))
  end)

  it("resends a confirm whose answer was lost with the same key: one job, one charge", function()
    local path = write(dir .. "/contacts.csv", CSV)
    local before = assert(client:me()).credits
    srv:fault{ method = "POST", path = "/validation-jobs/file/confirm", kind = "reset_after", count = 1 }
    local job, err = client.validation_jobs:submit_file(path)
    assert.is_truthy(job, err and tostring(err))
    local confirms = bodies("/validation-jobs/file/confirm")
    assert.equals(2, #confirms)
    assert.equals(confirms[1].idempotencyKey, confirms[2].idempotencyKey)
    assert.equals(bodies("/validation-jobs/file")[1].idempotencyKey, confirms[2].idempotencyKey)
    assert.equals(1, #assert(client.validation_jobs:list()).items)
    assert.equals(before - 2, assert(client:me()).credits)
  end)

  it("retries a failed PUT to storage", function()
    local path = write(dir .. "/contacts.csv", CSV)
    srv:fault{ target = "storage", method = "PUT", kind = "status", status = 503, count = 1 }
    local job, err = client.validation_jobs:submit_file(path)
    assert.is_truthy(job, err and tostring(err))
    assert.equals(2, #srv:storage_requests({ method = "PUT" }))
  end)

  it("follows a storage 307/308 on the PUT (a region redirect), sending the file again, no credentials", function()
    local path = write(dir .. "/contacts.csv", CSV)
    srv:fault{ target = "storage", method = "PUT", kind = "redirect", status = 307, location = "same", count = 1 }
    local job, err = client.validation_jobs:submit_file(path)
    assert.is_truthy(job, err and tostring(err)) -- before: api error 307
    assert.equals(2, job.totalEmails)
    local puts = srv:storage_requests({ method = "PUT" })
    assert.equals(2, #puts)
    assert.equals(#CSV, puts[2].bytes)
    -- a 308 elsewhere: the whole body arrives there too
    srv:reset()
    srv:fault{ target = "storage", method = "PUT", kind = "redirect", status = 308, count = 1 }
    client.validation_jobs:submit_file(path) -- /capture stores nothing: what matters is what it got
    local captured = srv:storage_requests({ path = "/capture" })
    assert.equals(1, #captured)
    assert.equals("PUT", captured[1].method)
    assert.equals(CSV, captured[1].body)
    for _, r in ipairs(srv:storage_requests()) do
      for name in pairs(r.headers) do
        assert.is_nil(({ ["x-api-key"] = 1, authorization = 1, ["x-workspace-id"] = 1 })[name:lower()], name)
      end
    end
  end)

  it("returns a storage failure that persists, without processing or confirming", function()
    local path = write(dir .. "/contacts.csv", CSV)
    srv:fault{ target = "storage", method = "PUT", kind = "status", status = 403, count = -1 }
    local job, err = client.validation_jobs:submit_file(path)
    assert.is_nil(job)
    assert.equals(403, err.status)
    assert.equals(0, #srv:requests({ path = "/validation-jobs/file/process" }))
    assert.equals(0, #srv:requests({ path = "/validation-jobs/file/confirm" }))
  end)

  it("refuses an upload URL that is neither https nor loopback http", function()
    local path = write(dir .. "/contacts.csv", CSV)
    srv:fault{ method = "POST", path = "/validation-jobs/file", kind = "status", status = 201,
      content_type = "application/json",
      body = '{"success":true,"data":{"uploadId":"upl_x","key":"k","uploadUrl":"http://storage.example.com/up"}}' }
    local job, err = client.validation_jobs:submit_file(path)
    assert.is_nil(job)
    assert.equals("invalid", err.kind)
    assert.equals(0, #srv:storage_requests({}))
    assert.equals(0, #srv:requests({ path = "/validation-jobs/file/process" }))
  end)

  describe("column choice", function()
    local function cols(...)
      local out = {}
      for i, k in ipairs({ ... }) do out[i] = { key = k, label = k, emailLikeCount = 1 } end
      return out
    end

    it("takes the caller's column, else the recommended one, else the only one", function()
      assert.equals("b", upload.choose_column({ columns = cols("a", "b"), recommendedColumn = "a" }, "b"))
      assert.equals("a", upload.choose_column({ columns = cols("a", "b"), recommendedColumn = "a" }))
      assert.equals("only", upload.choose_column({ columns = cols("only"), recommendedColumn = H.scravio.null }))
      assert.is_nil((upload.choose_column({ columns = {} })))
    end)

    it("matches labels (exactly, then ignoring case and blanks) and answers with the key", function()
      local review = { columns = {
        { key = "work_email", label = "Work Email" },
        { key = "home", label = "Home address" },
        { key = "email", label = "Personal" },
      } }
      assert.equals("work_email", upload.choose_column(review, "work_email"))
      assert.equals("work_email", upload.choose_column(review, "Work Email"))
      assert.equals("work_email", upload.choose_column(review, " work email "))
      assert.equals("email", upload.choose_column(review, "email")) -- a key wins over labels
      assert.equals("email", upload.choose_column(review, "Personal"))
      assert.equals("anything", upload.choose_column({ columns = {} }, "anything")) -- no columns: as given
    end)

    it("refuses an unknown or ambiguous column, naming the keys and labels", function()
      local review = { columns = {
        { key = "work_email", label = "Work Email" },
        { key = "mail", label = "Mail" },
        { key = "mail_3", label = "Mail" },
      } }
      local col, err = upload.choose_column(review, "phone")
      assert.is_nil(col)
      assert.equals("invalid", err.kind)
      assert.truthy(err.message:find('"work_email" (label "Work Email")', 1, true), err.message)
      assert.truthy(err.message:find('"mail_3" (label "Mail")', 1, true), err.message)
      col, err = upload.choose_column(review, "Mail")
      assert.is_nil(col)
      assert.equals("invalid", err.kind)
      assert.truthy(err.message:find("several", 1, true), err.message)
      assert.equals("mail_3", upload.choose_column(review, "mail_3"))
    end)

    it("is invalid with several columns and no recommendation", function()
      local col, err = upload.choose_column({ columns = cols("a", "b"), recommendedColumn = H.scravio.null })
      assert.is_nil(col)
      assert.equals("invalid", err.kind)
      assert.truthy(err.message:find('"a", "b"', 1, true))
    end)

    it("guesses the content type from the extension", function()
      assert.equals("text/csv", upload.content_type("x.CSV"))
      assert.equals("text/plain", upload.content_type("dir.v2/list.txt"))
      assert.is_nil(upload.content_type("x.xlsx"))
      assert.is_nil(upload.content_type("/tmp/data.json"))
      -- no extension: text/csv (the reference's contentType is advisory)
      assert.equals("text/csv", upload.content_type("csv"))
      assert.equals("text/csv", upload.content_type("/tmp/lua_AbC123"))
      assert.equals("text/csv", upload.content_type("dir.v2/leads"))
      assert.equals("text/csv", upload.content_type(".hidden"))
    end)

    it("gives the API a .csv or .txt name whatever the file is called", function()
      assert.equals("a.csv", upload.api_filename("a.csv", "text/csv"))
      assert.equals("A.TXT", upload.api_filename("A.TXT", "text/plain"))
      assert.equals("lua_AbC123.csv", upload.api_filename("lua_AbC123", "text/csv"))
      assert.equals("leads.tsv.txt", upload.api_filename("leads.tsv", "text/plain"))
      assert.equals(".hidden.csv", upload.api_filename(".hidden", "text/csv"))
    end)
  end)
end)
