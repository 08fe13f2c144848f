-- The `scravio` command, run as a user runs it: bin/scravio as a subprocess
-- of the Lua under test, against the fake server, with its stdout, stderr
-- and exit status read back. Every command, every output format parsed
-- back, the exit codes, the refusals that must spend nothing, credentials,
-- Ctrl-C, and a large lead set streamed in flat memory.
local H = require("spec.support.helpers")
local scravio = H.scravio
local json = scravio.json

-- The interpreter of this run (run_suite.sh names it in SCRAVIO_TEST_LUA).
local LABEL = os.getenv("SCRAVIO_TEST_LUA") or ""
local LUA = (LABEL:match("^lua5%.%d$") or LABEL == "luajit") and LABEL or "lua5.4"

local function q(s) return "'" .. tostring(s):gsub("'", "'\\''") .. "'" end

local CREDENTIAL_VARS = { "SCRAVIO_API_KEY", "SCRAVIO_ACCESS_TOKEN", "SCRAVIO_BASE_URL", "SCRAVIO_WORKSPACE_ID" }

-- The shell command that runs `scravio ARGS` with exactly these SCRAVIO_*
-- variables (LUA_PATH / LUA_CPATH are the suite's, inherited).
local function command(argv, env)
  local parts = { "env" }
  for _, k in ipairs(CREDENTIAL_VARS) do parts[#parts + 1] = "-u " .. k end
  local keys = {}
  for k in pairs(env) do keys[#keys + 1] = k end
  table.sort(keys)
  for _, k in ipairs(keys) do parts[#parts + 1] = k .. "=" .. q(env[k]) end
  parts[#parts + 1] = LUA .. " bin/scravio"
  for _, a in ipairs(argv) do parts[#parts + 1] = q(a) end
  return table.concat(parts, " ")
end

local function lines(s)
  local out = {}
  for line in s:gmatch("([^\n]*)\n") do out[#out + 1] = line end
  return out
end

-- RFC 4180 CSV (quoted fields with commas, quotes and newlines; CRLF rows).
local function parse_csv(s)
  local rows, row, field, i, n = {}, {}, {}, 1, #s
  local quoted = false
  while i <= n do
    local c = s:sub(i, i)
    if quoted then
      if c == '"' then
        if s:sub(i + 1, i + 1) == '"' then field[#field + 1] = '"'; i = i + 1 else quoted = false end
      else
        field[#field + 1] = c
      end
    elseif c == '"' then
      quoted = true
    elseif c == "," then
      row[#row + 1] = table.concat(field); field = {}
    elseif c == "\r" and s:sub(i + 1, i + 1) == "\n" or c == "\n" then
      if c == "\r" then i = i + 1 end
      row[#row + 1] = table.concat(field); field = {}
      rows[#rows + 1] = row; row = {}
    else
      field[#field + 1] = c
    end
    i = i + 1
  end
  if #field > 0 or #row > 0 then row[#row + 1] = table.concat(field); rows[#rows + 1] = row end
  return rows
end

local TSV_UNESCAPE = { t = "\t", n = "\n", r = "\r", ["\\"] = "\\" }
local function parse_tsv(s)
  local rows = {}
  for _, line in ipairs(lines(s)) do
    local row = {}
    for cell in (line .. "\t"):gmatch("([^\t]*)\t") do
      row[#row + 1] = cell:gsub("\\(.)", TSV_UNESCAPE)
    end
    rows[#rows + 1] = row
  end
  return rows
end

-- Rows (header first) -> list of {column = value}
local function records(rows)
  local out = {}
  for r = 2, #rows do
    local t = {}
    for i, name in ipairs(rows[1]) do t[name] = rows[r][i] end
    out[#out + 1] = t
  end
  return out
end

local function text_of(v)
  if v == nil or v == scravio.null then return "" end
  if type(v) == "boolean" then return tostring(v) end
  if type(v) == "number" then return json.encode(v) end
  return v
end

describe("scravio command", function()
  local srv, dir

  setup(function()
    srv = H.start()
    dir = H.tmpdir()
  end)

  teardown(function()
    if srv then srv:stop() end
    if dir then H.rmdir(dir) end
  end)

  before_each(function()
    srv:reset()
    srv:configure({ campaign_seconds = 0, job_seconds = 0, export_seconds = 0 })
  end)

  local function default_env(env)
    local e = { SCRAVIO_BASE_URL = srv.base_url, SCRAVIO_API_KEY = srv.api_key }
    for k, v in pairs(env or {}) do e[k] = v or nil end
    for k, v in pairs(env or {}) do if v == false then e[k] = nil end end
    return e
  end

  -- scravio ARGV -> exit status, stdout, stderr. opts.env (false unsets a
  -- default), opts.stdin (text fed to stdin).
  local function run(argv, opts)
    opts = opts or {}
    local out, err, input = dir .. "/stdout", dir .. "/stderr", dir .. "/stdin"
    H.write_file(input, opts.stdin or "")
    local p = assert(io.popen(command(argv, default_env(opts.env)) .. " <" .. q(input) .. " >" .. q(out)
      .. " 2>" .. q(err) .. "; echo $?"))
    local code = tonumber(p:read("*a"):match("(%d+)"))
    p:close()
    return code, H.read_file(out) or "", H.read_file(err) or ""
  end

  -- The same, on a pseudo-terminal (util-linux `script`): stdin, stdout and
  -- stderr are all the TTY, so they come back mixed in one text.
  local function run_tty(argv, opts)
    opts = opts or {}
    local input, out = dir .. "/tty-stdin", dir .. "/tty-out"
    H.write_file(input, opts.stdin or "")
    local inner = command(argv, default_env(opts.env))
    local p = assert(io.popen("script -qec " .. q(inner) .. " /dev/null <" .. q(input) .. " >" .. q(out)
      .. " 2>&1; echo $?"))
    local code = tonumber(p:read("*a"):match("(%d+)"))
    p:close()
    return code, (H.read_file(out) or ""):gsub("\r\n", "\n")
  end

  local function posts(path)
    return #srv:requests({ method = "POST", path = path })
  end

  local HASHTAG = { "--type", "INSTAGRAM_HASHTAG", "--input", "hashtags=fitness,gym", "--target", "20" }
  -- with({"campaigns", "launch"}, HASHTAG, "--yes") -> one argv
  local function with(...)
    local t = {}
    for _, part in ipairs({ ... }) do
      if type(part) == "table" then
        for _, a in ipairs(part) do t[#t + 1] = a end
      else
        t[#t + 1] = part
      end
    end
    return t
  end

  describe("help, version, usage", function()
    it("--version prints the SDK version", function()
      local code, out = run({ "--version" })
      assert.equals(0, code)
      assert.truthy(out:find("scravio " .. scravio.version, 1, true), out)
    end)

    it("every command's --help has an example, and the top one documents the exit codes", function()
      local cmds = { {}, { "me" }, { "campaigns" }, { "campaigns", "list" }, { "campaigns", "get" },
        { "campaigns", "preview" }, { "campaigns", "launch" }, { "campaigns", "run" }, { "campaigns", "wait" },
        { "campaigns", "stop" }, { "campaigns", "validate" }, { "leads" }, { "exports" }, { "exports", "create" },
        { "exports", "list" }, { "exports", "download" }, { "validate" }, { "jobs" }, { "jobs", "list" },
        { "jobs", "get" }, { "jobs", "wait" }, { "jobs", "download" }, { "credits" }, { "request" },
        { "completion" } }
      for _, c in ipairs(cmds) do
        local code, out = run(with(c, "--help"))
        assert.equals(0, code, table.concat(c, " "))
        assert.truthy(out:find("Example:\n  scravio", 1, true), table.concat(c, " ") .. ":\n" .. out)
      end
      local _, top = run({ "--help" })
      for _, n in ipairs({ "0 ", "1 ", "2 ", "3 ", "4 ", "130 " }) do
        assert.truthy(top:find("\n  " .. n, 1, true), "exit status " .. n .. " is documented")
      end
    end)

    it("a misspelt flag is a usage error (exit 2) with a suggestion, and nothing is sent", function()
      srv:clear_requests()
      local code, out, err = run(with({ "campaigns", "launch" }, HASHTAG, "--max-credit", "100"))
      assert.equals(2, code)
      assert.equals("", out)
      assert.equals(1, #lines(err), err)
      assert.truthy(err:find("did you mean '--max-credits'", 1, true), err)
      assert.truthy(err:find("scravio campaigns launch --help", 1, true), err)
      assert.equals(0, #srv:requests())
    end)

    it("a misspelt command is a usage error with a suggestion", function()
      local code, _, err = run({ "campaigns", "lanch" })
      assert.equals(2, code)
      assert.truthy(err:find("did you mean 'launch'", 1, true), err)
    end)

    it("completion bash prints argparse's completion script", function()
      local code, out = run({ "completion", "bash" })
      assert.equals(0, code)
      assert.truthy(out:find("_scravio()", 1, true))
      assert.truthy(out:find("complete -F _scravio", 1, true), out)
      assert.truthy(out:find("launch", 1, true))
    end)
  end)

  describe("installation", function()
    -- The rock builds the C core for this run's Lua (luarocks --lua-version).
    -- LuaJIT has no luarocks tree of its own: it uses 5.1 rocks (as
    -- OpenResty does), so that run installs the 5.1 rock and runs the
    -- installed command's script with luajit instead of the 5.1 wrapper.
    -- Every Lua of the matrix runs it (no skips in the default run);
    -- luarocks is one of make deps' packages: its absence fails the test.
    local version = LUA == "luajit" and "5.1" or LUA:match("^lua(5%.%d)$")
    it("luarocks make installs the scravio command, which then works from its tree", function()
      local src = H.tmpdir()
      local tree = src .. "/tree"
      -- (the checkout less build/: the rockspec installs docs and spec/support too)
      assert(os.execute("tar --exclude=./build --exclude=./.git -cf - . | (cd " .. q(src) .. " && tar -xf -)"))
      local p = io.popen("cd " .. q(src) .. " && luarocks --lua-version=" .. version .. " make --deps-mode=none --tree "
        .. q(tree) .. " scravio-0.1.0-1.rockspec 2>&1; echo rc=$?")
      local log = p:read("*a")
      p:close()
      assert.truthy(log:find("rc=0", 1, true), log)
      local share, lib = tree .. "/share/lua/" .. version, tree .. "/lib/lua/" .. version
      -- the wrapper luarocks wrote, or (LuaJIT) the script it wraps
      local scravio_cmd = tree .. "/bin/scravio"
      if LUA == "luajit" then
        scravio_cmd = "luajit " .. tree .. "/lib/luarocks/rocks-5.1/scravio/0.1.0-1/bin/scravio"
      end
      local cmd = string.format("cd %s && export LUA_PATH=%s LUA_CPATH=%s SCRAVIO_BASE_URL=%s SCRAVIO_API_KEY=%s; "
        .. "%s --fields credits --format csv me 2>&1; %s --version", q(src), q(share .. "/?.lua;"
        .. share .. "/?/init.lua;;"), q(lib .. "/?.so;;"), q(srv.base_url), q(srv.api_key), scravio_cmd, scravio_cmd)
      local r = io.popen(cmd)
      local out = r:read("*a")
      r:close()
      H.rmdir(src)
      assert.truthy(out:match("^credits\r\n%d+\r\n"), out)
      -- the installed command runs under this run's Lua
      assert.truthy(out:find(LUA == "luajit" and "(LuaJIT " or "(Lua " .. version .. ")", 1, true), out)
    end)
  end)

  describe("credentials", function()
    it("refuses to start without any (exit 2), naming where to put them", function()
      local code, _, err = run({ "me" }, { env = { SCRAVIO_API_KEY = false } })
      assert.equals(2, code)
      assert.truthy(err:find("SCRAVIO_API_KEY", 1, true) and err:find("--api-key-file", 1, true), err)
    end)

    it("reads the key from --api-key-file (first line, trimmed)", function()
      local path = H.write_file(dir .. "/key", srv.api_key .. "\n")
      srv:clear_requests()
      local code, out = run({ "--api-key-file", path, "me" }, { env = { SCRAVIO_API_KEY = false } })
      assert.equals(0, code)
      assert.equals("owner-a@example.com", json.decode(out).email)
      assert.equals(srv.api_key, srv:requests({ path = "/api/auth/me" })[1].headers["x-api-key"])
    end)

    it("uses SCRAVIO_ACCESS_TOKEN as a Bearer token", function()
      srv:clear_requests()
      local code = run({ "me" }, { env = { SCRAVIO_API_KEY = false, SCRAVIO_ACCESS_TOKEN = srv.access_token } })
      assert.equals(0, code)
      local r = srv:requests({ path = "/api/auth/me" })[1]
      assert.equals("Bearer " .. srv.access_token, r.headers.authorization)
      assert.is_nil(r.headers["x-api-key"])
    end)

    it("--api-key works but warns on stderr, never echoing the key", function()
      local code, out, err = run({ "--api-key", srv.api_key, "me" }, { env = { SCRAVIO_API_KEY = false } })
      assert.equals(0, code)
      assert.truthy(json.decode(out).credits)
      assert.truthy(err:find("warning: --api-key", 1, true), err)
      assert.falsy(err:find(srv.api_key, 1, true))
    end)

    it("--workspace and SCRAVIO_WORKSPACE_ID send X-Workspace-Id", function()
      srv:clear_requests()
      assert.equals(0, (run({ "--workspace", "ws_1", "me" })))
      assert.equals(0, (run({ "me" }, { env = { SCRAVIO_WORKSPACE_ID = "ws_2" } })))
      local rs = srv:requests({ path = "/api/auth/me" })
      assert.equals("ws_1", rs[1].headers["x-workspace-id"])
      assert.equals("ws_2", rs[2].headers["x-workspace-id"])
    end)

    it("-v logs every request on stderr, the key masked, stdout unchanged", function()
      local code, out, err = run({ "-v", "me" })
      assert.equals(0, code)
      assert.truthy(json.decode(out).credits)
      assert.truthy(err:find("GET", 1, true) and err:find("/auth/me", 1, true), err)
      assert.falsy(err:find(srv.api_key, 1, true), err)
      local _, _, quiet = run({ "me" })
      assert.equals("", quiet)
    end)

    it("a refused key is an API error: exit 1, one line on stderr, nothing on stdout", function()
      local code, out, err = run({ "me" }, { env = { SCRAVIO_API_KEY = "sk_live_not_a_real_key" } })
      assert.equals(1, code)
      assert.equals("", out)
      assert.equals(1, #lines(err), err)
      assert.truthy(err:match("^scravio api error 401"), err)
      assert.falsy(err:find("sk_live_not_a_real_key", 1, true))
    end)
  end)

  describe("errors", function()
    it("are one line on stderr, the same text as tostring(err)", function()
      local client = H.client(srv)
      local _, expected = client.campaigns:get("")
      local code, out, err = run({ "campaigns", "get", "" })
      assert.equals(1, code)
      assert.equals("", out)
      assert.equals(tostring(expected) .. "\n", err)
    end)

    it("output that cannot be written (a full disk) is exit 1, never a silent 0", function()
      local id = srv:seed_campaign({ leads = 2000 })
      for _, argv in ipairs({ { "me" }, { "leads", id, "--format", "csv" } }) do
        local p = assert(io.popen(command(argv, default_env()) .. " >/dev/full 2>" .. q(dir .. "/full-err") .. "; echo $?"))
        local code = tonumber(p:read("*a"):match("(%d+)"))
        p:close()
        local err = H.read_file(dir .. "/full-err")
        assert.equals(1, code, err)
        assert.truthy(err:match("^scravio io error: cannot write the output"), err)
      end
    end)

    it("a missing campaign is exit 1 with the API's 404", function()
      local code, _, err = run({ "campaigns", "get", "6b0000000000000000000000" })
      assert.equals(1, code)
      assert.truthy(err:match("^scravio api error 404"), err)
    end)
  end)

  describe("output formats", function()
    local ids
    before_each(function()
      ids = {}
      for i = 1, 3 do ids[#ids + 1] = srv:seed_campaign({ leads = 10, title = "Seeded, \"quoted\" " .. i }) end
      table.sort(ids)
    end)

    local function sorted(list)
      table.sort(list)
      return list
    end

    it("one object: JSON by default in a pipe, --json, and csv/tsv/jsonl parse back", function()
      local _, out = run({ "me" })
      local me = json.decode(out)
      assert.equals("owner-a@example.com", me.email)
      assert.is_true(H.is_integer(me.credits))
      local _, j = run({ "--json", "me" })
      assert.same(me, json.decode(j))
      local _, l = run({ "--format", "jsonl", "me" })
      assert.equals(1, #lines(l))
      assert.same(me, json.decode(lines(l)[1]))
      local _, c = run({ "--format", "csv", "--fields", "email,credits", "me" })
      assert.same({ { "email", "credits" }, { me.email, tostring(me.credits) } }, parse_csv(c))
      local _, t = run({ "--format", "tsv", "--fields", "email,credits", "me" })
      assert.same({ { "email", "credits" }, { me.email, tostring(me.credits) } }, parse_tsv(t))
    end)

    it("a list: JSON Lines by default in a pipe; json is one array; csv/tsv have the documented columns", function()
      local _, out = run({ "campaigns", "list" })
      local got = {}
      for _, line in ipairs(lines(out)) do got[#got + 1] = json.decode(line)._id end
      assert.same(ids, sorted(got))

      local _, j = run({ "campaigns", "list", "--json" })
      local arr = json.decode(j)
      assert.is_true(scravio.is_array(arr))
      got = {}
      for _, c in ipairs(arr) do got[#got + 1] = c._id end
      assert.same(ids, sorted(got))

      for _, f in ipairs({ "csv", "tsv" }) do
        local code, text = run({ "campaigns", "list", "--format", f })
        assert.equals(0, code)
        local rows = (f == "csv" and parse_csv or parse_tsv)(text)
        assert.same({ "_id", "title", "type", "status", "progressPercentage", "targetEmails", "emailScanCount",
          "profileScannedCount", "enableEmailValidation", "createdAt", "updatedAt", "finishedAt" }, rows[1])
        got = {}
        for _, r in ipairs(records(rows)) do
          got[#got + 1] = r._id
          assert.truthy(r.title:find('Seeded, "quoted" ', 1, true), r.title)
        end
        assert.same(ids, sorted(got))
      end
    end)

    it("--fields picks and orders columns, dotted for nested values", function()
      local _, out = run({ "campaigns", "list", "--format", "csv", "--fields", "status,_id,creditSettlement.isSettled" })
      local rows = parse_csv(out)
      assert.same({ "status", "_id", "creditSettlement.isSettled" }, rows[1])
      assert.equals("fully_completed", rows[2][1])
      local _, l = run({ "campaigns", "list", "--format", "jsonl", "--fields", "_id,status" })
      assert.equals('{"_id":', lines(l)[1]:sub(1, 7))
    end)

    it("--fields names a field no record had on stderr (a misspelt titel is not silently null)", function()
      local code, out, err = run({ "campaigns", "list", "--format", "csv", "--fields", "_id,titel,title" })
      assert.equals(0, code, err)
      assert.same({ "_id", "titel", "title" }, parse_csv(out)[1]) -- the output stays as asked
      assert.truthy(err:find("--fields: none of the %d+ records had titel %("), err)
      assert.falsy(err:find("had _id", 1, true), err)
      local _, _, err2 = run({ "me", "--fields", "credits,credit" })
      assert.truthy(err2:find("--fields: the answer has no credit (", 1, true), err2)
      local _, _, quiet = run({ "-q", "me", "--fields", "credit" })
      assert.equals("", quiet)
      local _, _, clean = run({ "me", "--fields", "credits,email" })
      assert.equals("", clean)
    end)

    it("a terminal gets a table; stdout in a pipe gets data only", function()
      local code, text = run_tty({ "campaigns", "list" })
      assert.equals(0, code)
      assert.truthy(text:find("_ID%s+TITLE%s+TYPE%s+STATUS"), text)
      assert.truthy(text:find(ids[1], 1, true))
      assert.falsy(text:find("{", 1, true), text)
      local _, me = run_tty({ "me" })
      assert.truthy(me:find("\ncredits%s+%d+\n") or me:find("^.-credits%s+%d+"), me)
    end)

    it("campaigns list --all streams every page; without it one page, its place noted on a terminal only", function()
      for _ = 1, 4 do srv:seed_campaign({ leads = 1 }) end
      local _, one, err = run({ "campaigns", "list", "--per-page", "2" })
      assert.equals(2, #lines(one))
      assert.equals("", err) -- the "page 1 of 4" note is for terminals
      local _, all = run({ "campaigns", "list", "--per-page", "2", "--all" })
      assert.equals(7, #lines(all))
      local _, tty = run_tty({ "campaigns", "list", "--per-page", "2" })
      assert.truthy(tty:find("page 1 of 4", 1, true), tty)
      local _, filtered = run({ "campaigns", "list", "--status", "scraping" })
      assert.equals("", filtered)
    end)
  end)

  describe("leads", function()
    it("csv and tsv carry the same leads as jsonl, quotes, commas and newlines included", function()
      local id = srv:seed_campaign({ leads = 300, emails = 200 })
      local _, jl = run({ "leads", id })
      local leads = {}
      for _, line in ipairs(lines(jl)) do leads[#leads + 1] = json.decode(line) end
      assert.equals(300, #leads)
      local fields = "_id,username,email,biography,followerCount,isVerified,emailValidation.status"
      for _, f in ipairs({ "csv", "tsv" }) do
        local code, text = run({ "leads", id, "--format", f, "--fields", fields })
        assert.equals(0, code)
        local recs = records((f == "csv" and parse_csv or parse_tsv)(text))
        assert.equals(300, #recs)
        for i, r in ipairs(recs) do
          local lead = leads[i]
          assert.equals(lead._id, r._id)
          assert.equals(text_of(lead.email), r.email)
          assert.equals(text_of(lead.biography), r.biography)
          assert.equals(text_of(lead.followerCount), r.followerCount)
          assert.equals(text_of(lead.isVerified), r.isVerified)
        end
      end
      local seen_quote = false
      for _, l in ipairs(leads) do
        if type(l.biography) == "string" and l.biography:find('"', 1, true) then seen_quote = true end
      end
      assert.is_true(seen_quote, "the fake's bios include quotes and commas")
    end)

    it("--has-email and --limit are passed on", function()
      local id = srv:seed_campaign({ leads = 30, emails = 10 })
      local _, out = run({ "leads", id, "--has-email", "--fields", "email" })
      assert.equals(10, #lines(out))
      local _, some = run({ "leads", id, "--limit", "3" })
      assert.equals(3, #lines(some))
    end)

    -- Stream `total` leads as CSV through a pipe; -> rows read, the
    -- subprocess's peak RSS (VmHWM, kB) when `at` rows were read. The writer
    -- blocks on the pipe while we do not read, so the process is still alive
    -- then as long as thousands of rows are left to write.
    -- Under AddressSanitizer (`make asan` preloads its runtime) freed blocks
    -- are not reused but held in a quarantine (256 MB by default) to catch
    -- use-after-free, so peak RSS grows with the bytes ever allocated, not
    -- with what is live: the child streams with the quarantine off, which
    -- makes its RSS live memory again (plus ASan's fixed overhead, the same
    -- in both runs). Outside ASan the child's environment is unchanged.
    local function stream_env()
      local asan = os.getenv("ASAN_OPTIONS")
      local preload = os.getenv("LD_PRELOAD") or ""
      if not asan and not preload:find("libasan", 1, true) then return default_env() end
      return default_env({ ASAN_OPTIONS = (asan and asan ~= "" and asan .. ":" or "") .. "quarantine_size_mb=0" })
    end

    local function stream(total, at)
      local id = srv:seed_campaign({ leads = total })
      local p = assert(io.popen("echo $$; exec " .. command({ "leads", id, "--format", "csv", "--per-page", "1000" },
        stream_env()) .. " 2>" .. q(dir .. "/stream-err")))
      local pid = assert(tonumber(p:read("*l")))
      local n, peak = 0, nil
      for _ in p:lines() do
        n = n + 1
        if n == at then
          local s = H.read_file("/proc/" .. pid .. "/status")
          peak = tonumber(s and s:match("VmHWM:%s*(%d+)"))
        end
      end
      p:close()
      return n, assert(peak, "VmHWM was readable")
    end

    it("a large lead set streams in flat memory (peak RSS does not grow with the number of leads)", function()
      local small_n, small = stream(4000, 1000)
      local large_n, large = stream(40000, 37000)
      assert.equals(4001, small_n) -- the header, then every lead
      assert.equals(40001, large_n)
      -- Holding the leads would cost ~1 KB each: over 30 MB more here.
      assert.is_true(large - small < 8 * 1024, string.format("peak RSS %d kB for 4,000 leads, %d kB for 40,000",
        small, large))
    end)
  end)

  describe("spending", function()
    it("launch without --max-credits previews, prints the reservation, refuses (exit 3), creates nothing", function()
      srv:clear_requests()
      local code, out, err = run(with({ "campaigns", "launch" }, HASHTAG))
      assert.equals(3, code)
      assert.equals("", out)
      assert.equals(1, posts("/api/campaigns/reserve-preview"))
      assert.equals(0, posts("/api/campaigns"))
      assert.truthy(err:find("reserves %d+ credits"), err)
      assert.truthy(err:find("--max-credits", 1, true), err)
      local last = lines(err)[#lines(err)]
      assert.truthy(last:match("^scravio budget error: "), err)
    end)

    it("launch over --max-credits or over the balance is refused (exit 3) and creates nothing", function()
      srv:clear_requests()
      local code, out, err = run(with({ "campaigns", "launch" }, HASHTAG, "--max-credits", "1"))
      assert.equals(3, code)
      assert.equals("", out)
      assert.truthy(err:find("more than max_credits 1", 1, true), err)
      local code2, _, err2 = run(with({ "campaigns", "launch" }, HASHTAG, "--target", "100000",
        "--max-credits", "100000000"))
      assert.equals(3, code2)
      assert.truthy(err2:find("balance", 1, true), err2)
      assert.equals(0, posts("/api/campaigns"))
    end)

    it("launch within budget creates the campaign once and prints it", function()
      srv:clear_requests()
      local code, out, err = run(with({ "campaigns", "launch" }, HASHTAG, "--max-credits", "5000", "--title", "cli"))
      assert.equals(0, code, err)
      local c = json.decode(out)
      assert.equals("cli", c.title)
      assert.equals(1, posts("/api/campaigns"))
      assert.truthy(err:find("launching reserves %d+ credits %(balance %d+; %-%-max%-credits 5000%)"), err)
      local body = json.decode(srv:requests({ method = "POST", path = "/api/campaigns" })[1].body)
      assert.same({ "fitness", "gym" }, body.inputs.hashtags)
      assert.equals(20, body.targetEmails)
      -- -q: the data, and not a word on stderr
      local code2, out2, err2 = run(with({ "campaigns", "launch" }, HASHTAG, "--max-credits", "5000", "-q"))
      assert.equals(0, code2)
      assert.truthy(json.decode(out2)._id)
      assert.equals("", err2)
    end)

    it("launch on a free account says, before spending, that its emails come masked", function()
      local code, _, err = run(with({ "campaigns", "launch" }, HASHTAG, "--max-credits", "450"),
        { env = { SCRAVIO_API_KEY = srv.free_api_key } })
      assert.equals(0, code, err)
      assert.truthy(err:find("receives masked email addresses", 1, true), err)
      local _, _, err_paid = run(with({ "campaigns", "launch" }, HASHTAG, "--max-credits", "5000"))
      assert.is_nil(err_paid:find("masked", 1, true), err_paid)
    end)

    it("--file params.json is the campaign params, flags on top", function()
      local path = H.write_file(dir .. "/params.json",
        '{"type":"INSTAGRAM_HASHTAG","inputs":{"hashtag":"yoga"},"targetEmails":10}')
      local code, out = run({ "campaigns", "preview", "--file", path, "--target", "30" })
      assert.equals(0, code)
      assert.equals(30, json.decode(out).targetEmails)
      local body = json.decode(srv:requests({ method = "POST", path = "/api/campaigns/reserve-preview" })[1].body)
      assert.equals("yoga", body.inputs.hashtag)
    end)

    it("on a terminal asks first: no creates nothing (exit 3), yes creates", function()
      srv:clear_requests()
      local code, text = run_tty(with({ "campaigns", "launch" }, HASHTAG, "--max-credits", "5000"), { stdin = "n\n" })
      assert.equals(3, code, text)
      assert.truthy(text:find("[y/N]", 1, true), text)
      assert.equals(0, posts("/api/campaigns"))
      local code2, text2 = run_tty(with({ "campaigns", "launch" }, HASHTAG, "--max-credits", "5000"), { stdin = "y\n" })
      assert.equals(0, code2, text2)
      assert.equals(1, posts("/api/campaigns"))
      local code3 = run_tty(with({ "campaigns", "launch" }, HASHTAG, "--max-credits", "5000", "--yes"))
      assert.equals(0, code3)
      assert.equals(2, posts("/api/campaigns"))
    end)

    it("an unknown outcome of the create is exit 4", function()
      srv:fault({ method = "POST", path = "/api/campaigns", kind = "reset_before" })
      local code, out, err = run(with({ "campaigns", "launch" }, HASHTAG, "--max-credits", "5000"))
      assert.equals(4, code, err)
      assert.equals("", out)
      assert.truthy(err:find("unknown_outcome", 1, true), err)
    end)

    it("run: launch, wait, export, download; stdout is one JSON document, the file is CSV", function()
      local out_path = dir .. "/run.csv"
      os.remove(out_path)
      local code, out, err = run(with({ "campaigns", "run" }, HASHTAG, "--max-credits", "5000", "--out", out_path,
        "--email-only"))
      assert.equals(0, code, err)
      local res = json.decode(out)
      assert.equals(out_path, res.path)
      assert.equals("fully_completed", res.status)
      assert.falsy(err:find("\r", 1, true), "no progress bars in a pipe")
      local rows = parse_csv(H.read_file(out_path))
      assert.is_true(#rows > 1)
      assert.equals(1, #srv:requests({ method = "POST", path = "/api/list-exports" }))
      local body = json.decode(srv:requests({ method = "POST", path = "/api/list-exports" })[1].body)
      assert.is_true(body.emailOnly)
      os.remove(out_path)
    end)

    it("run that fails after the campaign exists says how to get its leads without launching again", function()
      srv:fault({ method = "POST", path = "/api/list-exports", kind = "status", status = 500, count = -1 })
      local out_path = dir .. "/failed-run.csv"
      local code, out, err = run(with({ "--max-retries", "0", "campaigns", "run" }, HASHTAG, "--max-credits", "5000",
        "--out", out_path))
      assert.equals(1, code, err)
      assert.equals("", out)
      local _, listed = run({ "campaigns", "list", "--fields", "_id", "--format", "tsv" })
      local id = lines(listed)[2]
      assert.truthy(err:find("scravio exports create " .. id .. " --out " .. out_path, 1, true), err)
      assert.truthy(lines(err)[#lines(err)]:match("^scravio api error 500"), err)
      assert.equals(1, posts("/api/campaigns"))
    end)

    it("run refuses without --max-credits, and before anything when --out exists (without --force)", function()
      srv:clear_requests()
      local code = run(with({ "campaigns", "run" }, HASHTAG, "--out", dir .. "/none.csv"))
      assert.equals(3, code)
      local existing = H.write_file(dir .. "/exists.csv", "keep me")
      local code2, _, err2 = run(with({ "campaigns", "run" }, HASHTAG, "--max-credits", "5000", "--out", existing))
      assert.equals(2, code2)
      assert.truthy(err2:find("--force", 1, true), err2)
      assert.equals("keep me", H.read_file(existing))
      assert.equals(0, posts("/api/campaigns"))
    end)

    it("run refuses an --out it cannot write before anything is spent; --force replaces a file", function()
      srv:clear_requests()
      local code, _, err = run(with({ "campaigns", "run" }, HASHTAG, "--max-credits", "5000", "--out",
        dir .. "/no/such/dir/leads.csv"))
      assert.equals(1, code, err)
      assert.truthy(err:find("scravio invalid error", 1, true), err)
      assert.equals(0, posts("/api/campaigns"))
      -- a directory for --out: said so (not "exists; pass --force"), with or without --force
      for _, force in ipairs({ {}, { "--force" } }) do
        local argv = with({ "campaigns", "run" }, HASHTAG, "--max-credits", "5000", "--out", dir, force)
        local c3, _, err3 = run(argv)
        assert.equals(2, c3, err3)
        assert.truthy(err3:find("is a directory", 1, true), err3)
      end
      assert.equals(0, posts("/api/campaigns"))
      local existing = H.write_file(dir .. "/forced.csv", "old")
      local code2, _, err2 = run(with({ "campaigns", "run" }, HASHTAG, "--max-credits", "5000", "--out", existing,
        "--force"))
      assert.equals(0, code2, err2)
      assert.truthy(H.read_file(existing):find("email", 1, true))
      os.remove(existing)
    end)

    it("campaigns validate: --preview is free; spending needs --max-credits and stays within it", function()
      local id = srv:seed_campaign({ leads = 20, emails = 10 })
      local code, out = run({ "campaigns", "validate", id, "--preview" })
      assert.equals(0, code)
      local vp = json.decode(out)
      assert.equals(10, vp.emailsToValidate)
      assert.equals(3, (run({ "campaigns", "validate", id })))
      assert.equals(3, (run({ "campaigns", "validate", id, "--max-credits", "1" })))
      assert.equals(0, posts("/api/campaigns/" .. id .. "/validate"))
      local code2, out2, err2 = run({ "campaigns", "validate", id, "--max-credits", "1000", "--yes" })
      assert.equals(0, code2, err2)
      assert.equals(id, json.decode(out2).campaignId)
      assert.equals(1, posts("/api/campaigns/" .. id .. "/validate"))
    end)
  end)

  describe("campaign lifecycle", function()
    it("get, wait and stop", function()
      local done = srv:seed_campaign({ leads = 5 })
      local code, out = run({ "campaigns", "get", done })
      assert.equals(0, code)
      assert.equals(done, json.decode(out)._id)
      local c2, out2 = run({ "campaigns", "wait", done })
      assert.equals(0, c2)
      assert.equals("fully_completed", json.decode(out2).status)
      local live = srv:seed_campaign({ leads = 5, status = "scraping", frozen = true })
      local c3, out3, err3 = run({ "campaigns", "stop", live })
      assert.equals(0, c3, err3)
      assert.equals("stopped", json.decode(out3).status)
      assert.equals(1, posts("/api/campaigns/" .. live .. "/stop"))
    end)

    it("wait --timeout gives up with exit 1 and says the campaign keeps running", function()
      local live = srv:seed_campaign({ leads = 5, status = "scraping", frozen = true })
      local code, out, err = run({ "campaigns", "wait", live, "--timeout", "0" })
      assert.equals(1, code)
      assert.equals("", out)
      assert.truthy(err:find("scravio campaigns stop " .. live, 1, true), err)
    end)

    -- Start `scravio ARGV` in the background; -> pid, and a function that
    -- waits for it and returns exit status, stdout, stderr.
    local function spawn(argv)
      local out, err, pidf = dir .. "/bg-out", dir .. "/bg-err", dir .. "/bg-pid"
      os.remove(pidf)
      local p = assert(io.popen("sh -c " .. q("echo $$ > " .. q(pidf) .. "; exec " .. command(argv, default_env()))
        .. " </dev/null >" .. q(out) .. " 2>" .. q(err) .. "; echo $?"))
      local pid
      for _ = 1, 600 do
        pid = tonumber(H.read_file(pidf) or "")
        if pid then break end
        os.execute("sleep 0.05")
      end
      return assert(pid), function()
        local code = tonumber(p:read("*a"):match("(%d+)"))
        p:close()
        return code, H.read_file(out) or "", H.read_file(err) or ""
      end
    end

    -- Poll (not a timed assertion: a generous bound, for a hung process only).
    local function eventually(cond, what)
      for _ = 1, 1200 do
        if cond() then return end
        os.execute("sleep 0.05")
      end
      error("never happened: " .. what)
    end

    it("Ctrl-C during wait exits 130 and says how to stop the campaign", function()
      local live = srv:seed_campaign({ leads = 5, status = "scraping", frozen = true })
      local pid, finish = spawn({ "campaigns", "wait", live, "--interval", "0.2" })
      -- get + two polls: the wait loop is running
      eventually(function() return #srv:requests({ method = "GET", path = "/api/campaigns/" .. live }) >= 3 end,
        "the wait polled")
      os.execute("kill -INT " .. pid)
      local code, out, err = finish()
      assert.equals(130, code, err)
      assert.equals("", out)
      assert.truthy(err:find("scravio campaigns stop " .. live, 1, true), err)
    end)

    it("Ctrl-C during jobs wait exits 130 and says how to pick the job up again", function()
      srv:configure({ job_seconds = 100000 })
      local _, out = run({ "validate", "ada@example.com" })
      local id = json.decode(out).jobId
      local pid, finish = spawn({ "jobs", "wait", id })
      eventually(function() return #srv:requests({ method = "GET", path = "/api/validation-jobs/" .. id }) >= 2 end,
        "the wait polled")
      os.execute("kill -INT " .. pid)
      local code, _, err = finish()
      assert.equals(130, code, err)
      assert.truthy(err:find("scravio jobs wait " .. id, 1, true), err)
    end)

    it("Ctrl-C during run, once the campaign exists, names it and how to stop it", function()
      srv:configure({ campaign_seconds = 100000 })
      local pid, finish = spawn(with({ "campaigns", "run" }, HASHTAG, "--max-credits", "5000", "--out", dir .. "/never.csv",
        "--interval", "0.2"))
      local id
      eventually(function()
        local created = srv:requests({ method = "POST", path = "/api/campaigns" })[1]
        if created and created.status == 201 then
          local list = srv:requests({ method = "GET", path = "^/api/campaigns/[^/]+$", pattern = true })
          if #list >= 2 then id = list[1].path:match("([^/]+)$") end
        end
        return id ~= nil
      end, "the run waited")
      os.execute("kill -INT " .. pid)
      local code, _, err = finish()
      assert.equals(130, code, err)
      assert.truthy(err:find("scravio campaigns stop " .. id, 1, true), err)
      assert.is_nil(H.read_file(dir .. "/never.csv"))
    end)
  end)

  describe("exports", function()
    it("create --out waits and downloads; list shows it; download fetches it again", function()
      local id = srv:seed_campaign({ leads = 12 })
      local path = dir .. "/export.csv"
      os.remove(path)
      local code, out, err = run({ "exports", "create", id, "--out", path })
      assert.equals(0, code, err)
      local e = json.decode(out)
      assert.equals("completed", e.status)
      assert.equals(path, e.path)
      assert.equals(#H.read_file(path), e.bytes)
      local _, listed = run({ "exports", "list", "--campaign", id, "--format", "csv" })
      local recs = records(parse_csv(listed))
      assert.equals(1, #recs)
      assert.equals(e.exportId, recs[1].exportId)
      local again = dir .. "/again.csv"
      os.remove(again)
      local c2, out2 = run({ "exports", "download", e.exportId, "--out", again })
      assert.equals(0, c2)
      assert.equals(again, json.decode(out2).path)
      assert.equals(H.read_file(path), H.read_file(again))
      -- An existing file is kept unless --force.
      H.write_file(again, "older")
      assert.equals(2, (run({ "exports", "download", e.exportId, "--out", again })))
      assert.equals("older", H.read_file(again))
      assert.equals(0, (run({ "exports", "download", e.exportId, "--out", again, "--force" })))
      assert.equals(H.read_file(path), H.read_file(again))
      os.remove(path)
      os.remove(again)
    end)

    it("create without --wait returns the pending export; --format xlsx, or from the --out extension", function()
      local id = srv:seed_campaign({ leads = 3 })
      local code, out = run({ "exports", "create", id, "--format", "xlsx" })
      assert.equals(0, code)
      assert.equals("xlsx", json.decode(out).fileFormat)
      local path = dir .. "/leads.xlsx"
      os.remove(path)
      local code2, out2 = run({ "exports", "create", id, "--out", path })
      assert.equals(0, code2)
      assert.equals("xlsx", json.decode(out2).fileFormat)
      assert.equals("PK", H.read_file(path):sub(1, 2)) -- a zip: xlsx
      os.remove(path)
    end)
  end)

  describe("email validation jobs", function()
    it("validate EMAIL... --wait, then jobs list, get, wait and download", function()
      local code, out, err = run({ "validate", "ada@example.com", "grace@example.org", "--wait" })
      assert.equals(0, code, err)
      local job = json.decode(out)
      assert.equals("completed", job.status)
      assert.equals(2, job.totalEmails)
      local body = json.decode(srv:requests({ method = "POST", path = "/api/validation-jobs/text" })[1].body)
      assert.same({ "ada@example.com", "grace@example.org" }, body.emails)

      local _, listed = run({ "jobs", "list", "--format", "tsv" })
      assert.equals(job.jobId, records(parse_tsv(listed))[1].jobId)
      local _, got = run({ "jobs", "get", job.jobId })
      assert.equals(job.jobId, json.decode(got).jobId)
      local c3, waited = run({ "jobs", "wait", job.jobId })
      assert.equals(0, c3)
      assert.equals("completed", json.decode(waited).status)
      local path = dir .. "/results.csv"
      os.remove(path)
      local c4, dl = run({ "jobs", "download", job.jobId, "--out", path })
      assert.equals(0, c4)
      assert.equals(path, json.decode(dl).path)
      assert.truthy(H.read_file(path):find("ada@example.com", 1, true))
      os.remove(path)
    end)

    it("validate --file uploads the file and --out writes the results", function()
      local csv = H.write_file(dir .. "/contacts.csv", "name,email\nAda,ada@example.com\nGrace,grace@example.org\n")
      local path = dir .. "/file-results.csv"
      os.remove(path)
      local code, out, err = run({ "validate", "--file", csv, "--column", "email", "--max-credits", "10",
        "--out", path })
      assert.equals(0, code, err)
      assert.truthy(err:find("confirming " .. csv .. " reserves 2 credits (--max-credits 10)", 1, true), err)
      assert.equals(path, json.decode(out).path)
      assert.equals(1, #srv:storage_requests({ method = "PUT" }))
      assert.truthy(H.read_file(path):find("grace@example.org", 1, true))
      os.remove(path)
    end)

    it("validate --file refuses without --max-credits or above it (exit 3), naming the estimate; no confirm",
      function()
      local csv = H.write_file(dir .. "/guarded.csv", "name,email\nAda,ada@example.com\nGrace,grace@example.org\n")
      srv:clear_requests()
      local before = json.decode(select(2, run({ "me" }))).credits
      local code, out, err = run({ "validate", "--file", csv })
      assert.equals(3, code, err)
      assert.equals("", out)
      assert.truthy(err:find("confirming " .. csv .. " reserves 2 credits", 1, true), err) -- the estimate
      assert.truthy(err:find("--max-credits 2 (or more)", 1, true), err) -- how to go ahead
      local code2, _, err2 = run({ "validate", "--file", csv, "--max-credits", "1" })
      assert.equals(3, code2, err2)
      assert.truthy(err2:find("more than max_credits 1", 1, true), err2)
      assert.equals(2, posts("/api/validation-jobs/file/process")) -- the free parse review, each time
      assert.equals(0, posts("/api/validation-jobs/file/confirm"))
      assert.equals(before, json.decode(select(2, run({ "me" }))).credits)
    end)

    it("validate --file on a terminal asks before confirming: no confirms nothing (exit 3), --yes confirms",
      function()
      local csv = H.write_file(dir .. "/asked.csv", "name,email\nAda,ada@example.com\n")
      srv:clear_requests()
      local code, text = run_tty({ "validate", "--file", csv, "--max-credits", "5" }, { stdin = "n\n" })
      assert.equals(3, code, text)
      assert.truthy(text:find("[y/N]", 1, true), text)
      assert.equals(0, posts("/api/validation-jobs/file/confirm"))
      local code2, text2 = run_tty({ "validate", "--file", csv, "--max-credits", "5", "--yes" })
      assert.equals(0, code2, text2)
      assert.equals(1, posts("/api/validation-jobs/file/confirm"))
    end)

    it("validate EMAIL... has no estimate in the API: --max-credits there is a usage error, nothing sent",
      function()
      srv:clear_requests()
      local code, _, err = run({ "validate", "ada@example.com", "--max-credits", "5" })
      assert.equals(2, code, err)
      assert.truthy(err:find("no estimate", 1, true), err)
      assert.equals(0, posts("/api/validation-jobs/text"))
    end)

    it("validate without addresses, or with both addresses and --file, is a usage error", function()
      assert.equals(2, (run({ "validate" })))
      assert.equals(2, (run({ "validate", "a@example.com", "--file", dir .. "/contacts.csv" })))
    end)
  end)

  describe("credits and request", function()
    it("credits lists the ledger in every format", function()
      srv:seed_campaign({ leads = 5, status = "scraping", frozen = true })
      local _, out = run({ "credits", "--all" })
      local types = {}
      for _, line in ipairs(lines(out)) do types[json.decode(line).type] = true end
      assert.is_true(types.CAMPAIGN_RESERVATION)
      local _, c = run({ "credits", "--type", "CAMPAIGN_RESERVATION", "--format", "csv" })
      local recs = records(parse_csv(c))
      assert.is_true(#recs >= 1)
      for _, r in ipairs(recs) do assert.equals("CAMPAIGN_RESERVATION", r.type) end
      assert.equals("CAMPAIGN_RESERVATION", srv:requests({ path = "/api/credit-transactions" })[2].query
        :match("type=([%w_]+)"))
    end)

    it("request sends any method and path with the same auth, query and JSON body", function()
      local code, out = run({ "request", "GET", "/auth/me" })
      assert.equals(0, code)
      assert.equals("owner-a@example.com", json.decode(out).email)
      local c2, out2 = run({ "request", "POST", "/campaigns/reserve-preview", "--body",
        '{"type":"INSTAGRAM_HASHTAG","inputs":{"hashtag":"gym"},"targetEmails":10}' })
      assert.equals(0, c2)
      assert.is_true(json.decode(out2).success)
      local c3 = run({ "request", "GET", "/campaigns", "--query", "perPage=1" })
      assert.equals(0, c3)
      assert.truthy(srv:requests({ path = "/api/campaigns" })[1].query:find("perPage=1", 1, true))
      assert.equals(2, (run({ "request", "POST", "/campaigns", "--body", "{not json" })))
      assert.equals(0, #srv:requests({ method = "POST", path = "/api/campaigns" }))
    end)
  end)
end)
