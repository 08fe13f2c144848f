-- Ctrl-C and long waits (issue 11, section 5). A real SIGINT goes to a small
-- script run under the standalone lua5.4 interpreter (whose SIGINT handler
-- turns it into an "interrupted!" error through a hook) once the script says
-- it is waiting; in-process cases drive the same paths with a clock whose
-- sleep raises what an interrupted sleep raises. No timed assertions: the
-- loops below only bound how long a broken build could hang the suite.
local H = require("spec.support.helpers")
local core = require("scravio.core")
local progress = require("scravio.progress")
local runtime = require("scravio.runtime")

local function sh_quote(s) return "'" .. tostring(s):gsub("'", "'\\''") .. "'" end

local function read(path)
  local f = io.open(path, "rb")
  if not f then return "" end
  local s = f:read("*a")
  f:close()
  return s
end

-- Run `source` as a script in the background; returns {pid, out, err, dir}.
local function spawn(source, env)
  local dir = H.tmpdir()
  local script = dir .. "/script.lua"
  H.write_file(script, source)
  local vars = {}
  for k, v in pairs(env or {}) do vars[#vars + 1] = k .. "=" .. sh_quote(v) end
  -- exec: $! is the interpreter itself, so kill -INT reaches it
  local lua = H.child_lua():gsub("^env ", "env " .. table.concat(vars, " ") .. " ")
  local cmd = string.format("cd %s && (exec %s %s >out 2>err) & echo $!", sh_quote(dir), lua, sh_quote(script))
  local p = assert(io.popen(cmd))
  local pid = tonumber(p:read("*l"))
  p:close()
  assert(pid, "could not start the script")
  return { pid = pid, dir = dir, out = dir .. "/out", err = dir .. "/err" }
end

local function alive(pid)
  local r = os.execute("kill -0 " .. pid .. " 2>/dev/null")
  return r == true or r == 0
end

-- Poll until the script's stdout has `marker` (or it exited); a generous
-- bound against hanging, never an assertion on time.
local function await(child, marker)
  for _ = 1, 3000 do
    local out = read(child.out)
    if out:find(marker, 1, true) then return out end
    if not alive(child.pid) then return read(child.out) end
    core.sleep(0.01)
  end
  return read(child.out)
end

local function finish(child)
  for _ = 1, 3000 do
    if not alive(child.pid) then break end
    core.sleep(0.01)
  end
  if alive(child.pid) then os.execute("kill -KILL " .. child.pid) end
  local out, err = read(child.out), read(child.err)
  H.rmdir(child.dir)
  return out, err
end

local PRELUDE = [[
local scravio = require("scravio")
local client = assert(scravio.new{ base_url = os.getenv("BASE"), api_key = os.getenv("KEY") })
local function say(...) io.stdout:write(table.concat({ ... }, " "), "\n") io.stdout:flush() end
local function report(got, err)
  say("RESULT", tostring(got ~= nil), err and err.kind or "-", err and tostring(err.interrupted) or "-")
  if err then say("MESSAGE", err.message) end
  say("DONE")
end
]]

describe("Ctrl-C", function()
  local srv

  setup(function() srv = H.start() end)
  teardown(function() if srv then srv:stop() end end)
  before_each(function() srv:reset() end)

  describe("a real SIGINT to lua5.4", function()
    it("during wait: no traceback, kind cancelled naming the campaign and c:stop()", function()
      local id = srv:seed_campaign({ status = "scraping", frozen = true, targetEmails = 10 })
      local child = spawn(PRELUDE .. [[
local c = assert(client.campaigns:get(os.getenv("ID")))
report(c:wait{ interval = 0.05, max_interval = 0.05, progress = true,
  on_progress = function() say("WAITING") end })
]], { BASE = srv.base_url, KEY = srv.api_key, ID = id })
      assert.truthy(await(child, "WAITING"):find("WAITING", 1, true), "the script never started waiting")
      os.execute("kill -INT " .. child.pid)
      local out, err = finish(child)
      assert.truthy(out:find("RESULT false cancelled true", 1, true), out .. err)
      assert.truthy(out:find(id, 1, true), out)
      assert.truthy(out:find("c:stop()", 1, true), out)
      assert.is_nil(err:find("traceback", 1, true), err)
      assert.is_nil(err:find("interrupted!", 1, true), err)
      -- the campaign was left alone (still running: only the caller can stop it)
      assert.equals(0, #srv:requests({ method = "POST", path = "/api/campaigns/" .. id .. "/stop" }))
    end)

    it("during a download: kind cancelled, the partial file removed", function()
      local eid = srv:seed_export({ bytes = 4096 })
      -- storage answers slowly: the SIGINT arrives while the transfer waits
      srv:fault({ target = "storage", method = "GET", kind = "slow", delay = 120, count = -1 })
      local child = spawn(PRELUDE .. [[
local c2 = assert(scravio.new{ base_url = os.getenv("BASE"), api_key = os.getenv("KEY"),
  on_event = function(ev) if ev.type == "download" then say("DOWNLOADING") end end })
local page = assert(c2.exports:list({}))
local e
for _, x in ipairs(page.items) do if x.id == os.getenv("EID") then e = x end end
assert(e, "no export")
report(e:download("out.csv", { max_retries = 0 }))
local names = {}
for name in io.popen("ls"):lines() do names[#names + 1] = name end
say("FILES", table.concat(names, ","))
]], { BASE = srv.base_url, KEY = srv.api_key, EID = eid })
      assert.truthy(await(child, "DOWNLOADING"):find("DOWNLOADING", 1, true), "the download never started")
      os.execute("kill -INT " .. child.pid)
      local out, err = finish(child)
      assert.truthy(out:find("RESULT false cancelled true", 1, true), out .. err)
      assert.truthy(out:find("out.csv", 1, true), out)
      assert.truthy(out:find("FILES err,out,script.lua\n", 1, true), out) -- no out.csv, no .part file
      assert.is_nil(err:find("traceback", 1, true), err)
    end)
  end)

  describe("the progress display", function()
    local has_script = os.execute("command -v script >/dev/null 2>&1")
    has_script = has_script == true or has_script == 0

    -- Run a download with progress = true on a pseudo-terminal (util-linux
    -- script), COLUMNS=50; returns what the terminal showed.
    local function on_terminal(source, env)
      local dir = H.tmpdir()
      H.write_file(dir .. "/script.lua", source)
      local vars = {}
      for k, v in pairs(env) do vars[#vars + 1] = k .. "=" .. sh_quote(v) end
      local lua = H.child_lua():gsub("^env ", "env COLUMNS=50 " .. table.concat(vars, " ") .. " ")
      local cmd = string.format("cd %s && script -qec %s /dev/null </dev/null 2>&1", sh_quote(dir),
        sh_quote(lua .. " script.lua"))
      local p = assert(io.popen(cmd))
      local out = p:read("*a")
      p:close()
      H.rmdir(dir)
      return out
    end

    it("shows rate and elapsed time for a download, fits COLUMNS, and ends its line", function()
      if not has_script then return pending("util-linux script is not installed") end
      local eid = srv:seed_export({ bytes = 3 * 1024 * 1024 })
      local out = on_terminal(PRELUDE .. [[
local e
for x in client.exports:each({}) do if x.id == os.getenv("EID") then e = x end end
local path, bytes = e:download("f.csv", { progress = true })
say("GOT", tostring(bytes))
]], { BASE = srv.base_url, KEY = srv.api_key, EID = eid })
      assert.truthy(out:find("GOT " .. 3 * 1024 * 1024, 1, true), out)
      local shown = 0
      for piece in out:gmatch("\r([^\r\n]*)") do
        if piece:find("^download") then
          shown = shown + 1
          assert.truthy(piece:find("MB/s", 1, true), piece)
          assert.truthy(piece:find("%d+:%d%d"), piece) -- elapsed
          assert.is_true(#(piece:gsub("%s+$", "")) <= 49, piece)
        end
      end
      assert.is_true(shown >= 1, out)
      assert.truthy(out:find("3.0/3.0 MB", 1, true), out)
      assert.truthy(out:find("\r?\nGOT "), out) -- the progress line was ended before the next output
    end)
  end)

  describe("in process", function()
    -- A clock whose every sleep is interrupted, as core.sleep reports a SIGINT.
    local function interrupting_clock()
      local clock = H.fake_clock({})
      clock.sleep = function() error(runtime.INTERRUPTED, 0) end
      return clock
    end

    it("wait ends its progress line and answers cancelled", function()
      local client = H.client(srv)
      client._runtime = interrupting_clock()
      local id = srv:seed_campaign({ status = "scraping", frozen = true, targetEmails = 10 })
      local c = assert(client.campaigns:get(id))
      local sink = { text = "" }
      function sink:write(...) for _, s in ipairs({ ... }) do self.text = self.text .. s end end
      function sink.flush() end
      local enabled, stderr = progress.enabled, io.stderr
      progress.enabled = function() return true end
      rawset(io, "stderr", sink) -- what the progress line writes to
      local got, err = c:wait({ progress = true })
      progress.enabled = enabled
      rawset(io, "stderr", stderr)
      assert.is_nil(got)
      assert.equals("cancelled", err.kind)
      assert.is_true(err.interrupted)
      assert.equals(c, err.object)
      assert.truthy(err.message:find("campaign " .. id, 1, true), err.message)
      assert.truthy(err.message:find("c:stop()", 1, true), err.message)
      assert.truthy(err.message:find("scravio campaigns stop " .. id, 1, true), err.message)
      assert.truthy(sink.text:find("^\rcampaign " .. id .. " scraping"), sink.text)
      assert.equals("\n", sink.text:sub(-1)) -- the line was ended
    end)

    it("the interpreter's own \"interrupted!\" (from its hook) is caught the same way", function()
      local client = H.client(srv)
      local id = srv:seed_campaign({ status = "scraping", frozen = true, targetEmails = 10 })
      local c = assert(client.campaigns:get(id))
      local got, err = c:wait({ interval = 0, on_progress = function() error("script.lua:3: interrupted!", 0) end })
      assert.is_nil(got)
      assert.equals("cancelled", err.kind)
      -- any other error raised on the way still goes up as it is
      assert.has_error(function() c:wait({ interval = 0, on_progress = function() error("boom", 0) end }) end, "boom")
    end)

    it("an iterator raises kind cancelled when a page's retry wait is interrupted", function()
      local client = H.client(srv)
      client._runtime = interrupting_clock()
      local id = srv:seed_campaign({ status = "fully_completed", leads = 5 })
      local c = assert(client.campaigns:get(id))
      srv:fault({ method = "GET", path = "/api/campaigns/" .. id .. "/leads", kind = "status", status = 503 })
      local ok, err = pcall(function() for _ in c:leads() do end end)
      assert.is_false(ok)
      assert.equals("cancelled", err.kind)
      assert.truthy(err.message:find(id, 1, true), err.message)
    end)

    it("run answers cancelled with the campaign when its wait is interrupted", function()
      local client = H.client(srv)
      client._runtime = interrupting_clock()
      local c, err = client.campaigns:run({ type = "INSTAGRAM_HASHTAG", inputs = { hashtag = "x" }, targetEmails = 10 },
        { max_credits = 1000, out = H.tmpname(".csv") })
      assert.is_nil(c)
      assert.equals("cancelled", err.kind)
      assert.is_not_nil(err.campaign)
      assert.truthy(err.message:find(err.campaign.id, 1, true), err.message)
      assert.truthy(err.message:find("c:stop()", 1, true), err.message)
    end)

    it("a download whose retry wait is interrupted leaves no file", function()
      local client = H.client(srv)
      client._runtime = interrupting_clock()
      local eid = srv:seed_export({ bytes = 1000 })
      local e
      for x in client.exports:each({}) do if x.id == eid then e = x end end
      srv:fault({ target = "storage", method = "GET", kind = "status", status = 503 })
      local dir = H.tmpdir()
      local got, err = e:download(dir .. "/x.csv", { max_retries = 1 })
      assert.is_nil(got)
      assert.equals("cancelled", err.kind)
      assert.truthy(err.message:find(dir .. "/x.csv", 1, true), err.message)
      assert.same({}, H.listdir(dir))
      H.rmdir(dir)
    end)

    it("submit_file answers cancelled: before confirm nothing was charged, during confirm the key to resume", function()
      local client = H.client(srv)
      client._runtime = interrupting_clock()
      local file = H.tmpname(".csv")
      H.write_file(file, "email\na@example.com\nb@example.com\n")
      srv:fault({ method = "POST", path = "/api/validation-jobs/file/process", kind = "status", status = 503 })
      local job, err = client.validation_jobs:submit_file(file)
      assert.is_nil(job)
      assert.equals("cancelled", err.kind)
      assert.is_true(err.interrupted)
      assert.truthy(err.message:find("process step", 1, true), err.message)
      assert.truthy(err.message:find("nothing was charged", 1, true), err.message)
      assert.same({}, srv:requests({ method = "POST", path = "/api/validation-jobs/file/confirm" }))

      srv:reset()
      client = H.client(srv)
      client._runtime = interrupting_clock()
      srv:fault({ method = "POST", path = "/api/validation-jobs/file/confirm", kind = "status", status = 503 })
      job, err = client.validation_jobs:submit_file(file, { idempotency_key = "resume-key-1" })
      os.remove(file)
      assert.is_nil(job)
      assert.equals("cancelled", err.kind)
      assert.is_true(err.sent)
      assert.equals("resume-key-1", err.idempotency_key)
      assert.truthy(err.message:find("may exist", 1, true), err.message)
      assert.truthy(err.message:find('idempotency_key = "resume-key-1"', 1, true), err.message)
    end)

    it("a plain call's interrupted sleep raises the usual \"interrupted!\"", function()
      local client = H.client(srv)
      client._runtime = interrupting_clock()
      srv:fault({ method = "GET", path = "/api/auth/me", kind = "status", status = 503 })
      local ok, e = pcall(client.me, client)
      assert.is_false(ok)
      assert.is_true(runtime.is_interrupt(e))
    end)
  end)
end)
