-- e:download / j:download: streamed to a temporary file next to the target,
-- renamed into place only when complete; no credentials sent to storage; a
-- failed download leaves no file, no .part file, and an existing file intact.
local H = require("spec.support.helpers")
require("scravio.workflows")
local download = require("scravio.download")

local PARAMS = {
  title = "download spec",
  type = "INSTAGRAM_HASHTAG",
  inputs = { hashtag = "fitness" },
  targetEmails = 40,
}

local tmpdir, listdir, rmdir, write = H.tmpdir, H.listdir, H.rmdir, H.write_file

describe("download", function()
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
    rmdir(dir)
  end)

  -- A finished campaign and a completed export of it.
  local function completed_export(c)
    local campaign = c or assert(client.campaigns:create(PARAMS))
    srv:advance(3600)
    assert(campaign:refresh())
    local e = assert(campaign:export{ fileFormat = "csv" })
    srv:advance(3600)
    assert(e:wait{ timeout = 0 })
    assert.equals("completed", e.status)
    return e, campaign
  end

  local function no_credentials(entries)
    assert.is_true(#entries > 0)
    for _, r in ipairs(entries) do
      assert.is_nil(r.headers["x-api-key"])
      assert.is_nil(r.headers["authorization"])
      assert.is_nil(r.headers["x-workspace-id"])
    end
  end

  it("streams a completed export to path and returns path, bytes", function()
    local e = completed_export()
    local path = dir .. "/leads.csv"
    local got, bytes = e:download(path)
    assert.equals(path, got, bytes)
    local data = assert(H.read_file(path))
    assert.equals(#data, bytes)
    assert.is_true(H.is_integer(bytes))
    assert.truthy(data:sub(1, 200):find("email", 1, true))
    assert.same({ "leads.csv" }, listdir(dir))
  end)

  it("sends no API key, bearer token or workspace id to storage", function()
    local ws = H.client(srv, { workspace_id = "ws_1" })
    local c = assert(ws.campaigns:create(PARAMS))
    local e = completed_export(c)
    assert(e:download(dir .. "/a.csv"))
    local bearer = H.client(srv, { access_token = srv.access_token, workspace_id = "ws_2" })
    local e2 = assert(bearer.exports:list{ campaignId = c.id }).items[1]
    assert(e2:download(dir .. "/b.csv"))
    no_credentials(srv:storage_requests({ method = "GET" }))
  end)

  it("replaces an existing file only once the new one is complete", function()
    local e = completed_export()
    local path = dir .. "/leads.csv"
    write(path, "OLD")
    assert(e:download(path))
    assert.are_not.equal("OLD", H.read_file(path))
    assert.same({ "leads.csv" }, listdir(dir))
  end)

  it("returns the API's 400 for an export that is not completed, creating nothing", function()
    srv:configure{ export_seconds = 1000 }
    local c = assert(client.campaigns:create(PARAMS))
    srv:advance(3600)
    assert(c:refresh())
    local e = assert(c:export{})
    local got, err = e:download(dir .. "/x.csv")
    assert.is_nil(got)
    assert.equals("api", err.kind)
    assert.equals(400, err.status)
    assert.same({}, listdir(dir))
    assert.equals(0, #srv:storage_requests({}))
  end)

  it("leaves an existing file untouched and no .part file when storage fails", function()
    local e = completed_export()
    local path = dir .. "/leads.csv"
    write(path, "GOOD DATA")
    srv:fault{ target = "storage", method = "GET", kind = "status", status = 500, count = -1 }
    local got, err = e:download(path, { max_retries = 1 })
    assert.is_nil(got)
    assert.equals(500, err.status)
    assert.equals(2, err.attempts)
    assert.equals("GOOD DATA", H.read_file(path))
    assert.same({ "leads.csv" }, listdir(dir))
  end)

  it("removes the partial file when the transfer dies mid-way", function()
    local id = srv:seed_export{ bytes = 512 * 1024 * 1024 }
    local e
    for _, x in ipairs(assert(client.exports:list{}).items) do
      if x.id == id then e = x end
    end
    assert.is_truthy(e)
    local path = dir .. "/big.csv"
    write(path, "GOOD DATA")
    -- 512 MiB cannot arrive in 0.1 s: the transfer is cut after some of it was written
    local got, err = e:download(path, { timeout = 0.1, max_retries = 0 })
    assert.is_nil(got)
    assert.equals("timeout", err.kind)
    assert.equals("GOOD DATA", H.read_file(path))
    assert.same({ "big.csv" }, listdir(dir))
  end)

  it("removes the partial file when storage drops the connection", function()
    local e = completed_export()
    srv:fault{ target = "storage", method = "GET", kind = "reset_before", count = -1 }
    local got, err = e:download(dir .. "/x.csv", { max_retries = 0 })
    assert.is_nil(got)
    assert.equals("network", err.kind)
    assert.same({}, listdir(dir))
  end)

  it("retries a retryable storage failure with a fresh URL", function()
    local e = completed_export()
    srv:fault{ target = "storage", method = "GET", kind = "status", status = 503, count = 1 }
    local path = dir .. "/leads.csv"
    local got, bytes = e:download(path)
    assert.equals(path, got, bytes)
    assert.equals(2, #srv:storage_requests({ method = "GET" }))
    assert.equals(2, #srv:requests({ method = "GET", path = "/list-exports/" .. e.id .. "/download" }))
    assert.same({ "leads.csv" }, listdir(dir))
  end)

  it("does not sleep through a storage Retry-After longer than max_retry_wait", function()
    local e = completed_export()
    local clock = H.fake_clock(client)
    srv:fault{ target = "storage", method = "GET", kind = "rate_limit", retry_after = 3600, count = 1 }
    local path = dir .. "/leads.csv"
    local got, err = e:download(path)
    assert.is_nil(got)
    assert.equals(429, err.status)
    assert.equals(3600, err.retry_after)
    assert.equals(0, clock.total)
    assert.equals(1, #srv:storage_requests({ method = "GET" }))
    assert.same({}, listdir(dir))
  end)

  it("refuses a download URL that is not https (or loopback http) before fetching", function()
    local got, err = download.to_file(client, function() return "http://storage.example.com/x.csv" end,
      dir .. "/x.csv", {})
    assert.is_nil(got)
    assert.equals("invalid", err.kind)
    assert.same({}, listdir(dir))
  end)

  it("rejects a bad path before any request", function()
    local e = completed_export()
    local before = #srv:requests({})
    local got, err = e:download(42)
    assert.is_nil(got)
    assert.equals("invalid", err.kind)
    assert.equals(before, #srv:requests({}))
  end)

  it("refuses a path in a directory it cannot write before any request", function()
    local e = completed_export()
    local before = #srv:requests({})
    local target = dir .. "/no/such/dir/leads.csv"
    local got, err = e:download(target)
    assert.is_nil(got)
    assert.equals("invalid", err.kind)
    assert.equals("path", err.errors[1].param)
    assert.truthy(err.message:find(target, 1, true))
    assert.equals(before, #srv:requests({}))
    assert.same({}, listdir(dir))
  end)

  it("refuses a directory given as the path before any request (export and job)", function()
    -- It used to pass the check (the probe file fits in the directory), make
    -- the requests and end with kind "io" "Not a directory" at the rename.
    local e = completed_export()
    local j = assert(client.validation_jobs:submit({ "ok@example.com" }))
    srv:advance(3600)
    assert(j:wait{ timeout = 0 })
    local before = #srv:requests({})
    for _, target in ipairs({ dir, dir .. "/" }) do
      for _, obj in ipairs({ e, j }) do
        local got, err = obj:download(target)
        assert.is_nil(got, target)
        assert.equals("invalid", err.kind)
        assert.equals("path", err.errors[1].param)
        assert.truthy(err.message:find("is a directory", 1, true), err.message)
      end
    end
    assert.equals(before, #srv:requests({}))
    assert.same({}, listdir(dir))
  end)

  it("downloads a validation job's results CSV", function()
    local j = assert(client.validation_jobs:submit({ "ok@example.com", "other@example.org" }))
    srv:advance(3600)
    assert(j:wait{ timeout = 0 })
    assert.equals("completed", j.status)
    local path = dir .. "/results.csv"
    local got, bytes = j:download(path)
    assert.equals(path, got, bytes)
    local data = assert(H.read_file(path))
    assert.equals(#data, bytes)
    assert.truthy(data:find("ok@example.com", 1, true))
    assert.same({ "results.csv" }, listdir(dir))
    no_credentials(srv:storage_requests({ method = "GET" }))
  end)

  it("keeps server-suggested file names to a safe basename", function()
    assert.equals("leads.csv", download.safe_basename("leads.csv"))
    assert.equals("x.csv", download.safe_basename("../../etc/x.csv"))
    assert.is_nil(download.safe_basename(".."))
    assert.is_nil(download.safe_basename("a\nb"))
    assert.is_nil(download.safe_basename(nil))
  end)

  describe("keeps the user's files safe", function()
    local core = require("scravio.core")
    local Export = core.methods.Export
    local real_download_url

    before_each(function() real_download_url = Export.download_url end)
    after_each(function() Export.download_url = real_download_url end)

    local function sh(cmd) -- its output, without the trailing newline; nil when empty
      local p = io.popen(cmd)
      local out = p:read("*a"):gsub("%s+$", "")
      p:close()
      return out ~= "" and out or nil
    end

    local function mode_of(path)
      local p = io.popen("stat -c %a '" .. path .. "'")
      local m = p:read("*l")
      p:close()
      return m
    end

    -- The export's download answer, with `filename` (and downloadUrl) replaced.
    local function suggest(fields)
      Export.download_url = function(e)
        local _, info = assert(real_download_url(e))
        local out = { downloadUrl = info.downloadUrl, filename = info.filename }
        for k, v in pairs(fields) do out[k] = v end
        if fields.downloadUrl == false then out.downloadUrl = nil end
        return out.downloadUrl, out -- url, info: as download_url answers
      end
    end

    it("creates a new file 0600, or with the mode asked for", function()
      local e = completed_export()
      assert(e:download(dir .. "/new.csv"))
      assert.equals("600", mode_of(dir .. "/new.csv"))
      assert(e:download(dir .. "/shared.csv", { mode = "0644" }))
      assert.equals("644", mode_of(dir .. "/shared.csv"))
      assert(e:download(dir .. "/num.csv", { mode = tonumber("640", 8) }))
      assert.equals("640", mode_of(dir .. "/num.csv"))
      -- the decimal typo for 0644 (01204: no read for the owner, read for all) is refused, naming the fix
      for _, typo in ipairs({ 644, 600, "1644", tonumber("4755", 8) }) do
        local none, terr = e:download(dir .. "/typo.csv", { mode = typo })
        assert.is_nil(none)
        assert.equals("mode", terr.errors[1].param)
        assert.is_nil(io.open(dir .. "/typo.csv", "rb"))
        if typo == 644 then assert.truthy(terr.message:find('did you mean "0644"?', 1, true), terr.message) end
      end
      local ok, err = e:download(dir .. "/bad.csv", { mode = "rw" })
      assert.is_nil(ok)
      assert.equals("mode", err.errors[1].param)
    end)

    it("keeps the mode of the file it replaces", function()
      local e = completed_export()
      local path = dir .. "/kept.csv"
      write(path, "old")
      os.execute("chmod 640 '" .. path .. "'")
      assert(e:download(path))
      assert.equals("640", mode_of(path))
      assert.is_true(#H.read_file(path) > 3)
    end)

    it("a read-only mode (0400), asked for or kept, is set once the file is complete", function()
      -- The transports reopen the temporary file by name to write it: created
      -- 0400 its owner could not (root can, so the check runs as nobody too).
      local e = completed_export()
      local path = dir .. "/ro.csv"
      assert(e:download(path, { mode = "0400" }))
      assert.equals("400", mode_of(path))
      assert(e:download(path)) -- replaced: its mode is kept
      assert.equals("400", mode_of(path))
      if sh("id -u") ~= "0" or not sh("command -v runuser") then return end
      local url = assert(e:download_url())
      local shared = H.tmpdir()
      finally(function() H.rmdir(shared) end)
      os.execute("chmod 777 '" .. shared .. "'")
      local script = H.write_file(shared .. "/child.lua", string.format([[
        local c = assert(require("scravio").new{ base_url = %q, api_key = %q, max_retries = 0 })
        local download = require("scravio.download")
        local out = %q
        local p, err = download.to_file(c, function() return %q end, out, { mode = "0400" })
        if not p then io.write(tostring(err)) os.exit(1) end
        p, err = download.to_file(c, function() return %q end, out, {})
        io.write(p and "ok" or tostring(err))]], srv.base_url, srv.api_key, shared .. "/ro.csv", url, url))
      os.execute("chmod 644 '" .. script .. "'")
      local out = sh("runuser -u nobody -- " .. H.child_lua() .. " '" .. script .. "' 2>&1")
      assert.equals("ok", out)
      assert.equals("400", mode_of(shared .. "/ro.csv"))
    end)

    it("without a path, never replaces a file of the suggested name unless overwrite = true", function()
      local e = completed_export()
      local name = "scravio-spec-" .. core.uuid():sub(1, 8) .. ".csv" -- in the current directory
      suggest({ filename = name })
      write(name, "mine")
      local ok, err = e:download()
      local kept = H.read_file(name)
      if ok then os.remove(name) end
      assert.is_nil(ok)
      assert.equals("invalid", err.kind)
      assert.equals("path", err.errors[1].param)
      assert.equals("mine", kept)
      local got = e:download(nil, { overwrite = true })
      local replaced = H.read_file(name)
      os.remove(name)
      assert.equals(name, got)
      assert.is_true(#replaced > 4)
    end)

    it("without a path, refuses a suggested name that starts with a dot", function()
      local e = completed_export()
      local name = ".scravio-spec-" .. core.uuid():sub(1, 8)
      suggest({ filename = "../" .. name })
      local ok, err = e:download()
      local made = H.read_file(name)
      if made then os.remove(name) end
      assert.is_nil(ok)
      assert.equals("invalid", err.kind)
      assert.is_nil(made)
    end)

    it("an answer with no downloadUrl is an error value, never nil, nil", function()
      local e = completed_export()
      -- The server itself answers without a URL (not a stub of download_url).
      srv:fault({ method = "GET", path = "/api/list-exports/" .. e.id .. "/download", kind = "status",
        status = 200, content_type = "application/json",
        body = '{"success":true,"data":{"filename":"x.csv","expiresIn":900}}', count = 1 })
      local ok, err = e:download(dir .. "/x.csv")
      assert.is_nil(ok)
      assert.is_true(core.is_error(err))
      assert.equals("decode", err.kind)
      assert.same({}, listdir(dir))
    end)

    it("a validation job's default file name is not replaced either", function()
      local j = assert(client.validation_jobs:submit({ "ok@example.com" }))
      srv:advance(3600)
      assert(j:wait{ timeout = 0 })
      local name = "validation-" .. j.id .. ".csv"
      write(name, "mine")
      local ok, err = j:download()
      local kept = H.read_file(name)
      os.remove(name)
      assert.is_nil(ok)
      assert.equals("path", err.errors[1].param)
      assert.equals("mine", kept)
    end)
  end)
end)
