-- List iteration with prefetch, against the fake server: with the libcurl
-- transport, pagination.each sends page N+1's GET (on a second handle) before
-- page N is decoded and before its items are handed out, so the transfer
-- overlaps decoding and the loop body. What must hold: every item once, one
-- request per page and none past the last page, the next page on the wire
-- while the loop body still works on the current one, failures going through
-- the normal request pipeline, and an abandoned iteration harming nothing.
-- (The OpenResty transport has no prefetch: spec/openresty covers it.)
local H = require("spec.support.helpers")
local scravio = H.scravio
local runtime = require("scravio.runtime")

local CLOSES = _VERSION == "Lua 5.4" and rawget(_G, "jit") == nil

-- Pages asked for, in the order the server logged them.
local function pages_requested(srv, path)
  local out = {}
  for _, r in ipairs(srv:requests({ method = "GET", path = path })) do
    out[#out + 1] = tonumber(r.query:match("[?&]?page=(%d+)"))
  end
  return out
end

local function count(list, x)
  local n = 0
  for _, v in ipairs(list) do if v == x then n = n + 1 end end
  return n
end

-- Poll the request log until `page` shows up (the server logs after answering).
local function wait_for_page(srv, path, page)
  local deadline = runtime.now() + 5
  repeat
    local pages = pages_requested(srv, path)
    if count(pages, page) > 0 then return pages end
  until runtime.now() > deadline
  return pages_requested(srv, path)
end

local function seed_campaigns(srv, n)
  local ids = {}
  for _ = 1, n do ids[srv:seed_campaign({ status = "fully_completed" })] = true end
  return ids
end

describe("prefetching list iteration (libcurl transport)", function()
  local srv, client, clock

  setup(function() srv = H.start() end)
  teardown(function() if srv then srv:stop() end end)

  before_each(function()
    srv:reset()
    client = H.client(srv)
    -- Backoff waits recorded, not slept.
    clock = setmetatable({ slept = 0 }, { __index = runtime })
    function clock.sleep(s) clock.slept = clock.slept + s end
    client._runtime = clock
  end)

  after_each(function() if client then client:close() end end)

  it("walks a 7-page campaign list: every item once, one request per page, none past the last", function()
    local ids = seed_campaigns(srv, 20)
    local seen, n = {}, 0
    for c in client.campaigns:each({ perPage = 3 }) do
      assert.equals("Campaign", scravio.kind(c))
      assert.is_nil(seen[c.id])
      seen[c.id] = true
      n = n + 1
    end
    assert.equals(20, n)
    for id in pairs(ids) do assert.is_true(seen[id]) end
    assert.same({ 1, 2, 3, 4, 5, 6, 7 }, pages_requested(srv, "/api/campaigns"))
    assert.is_false(client._core:cancel_prefetch()) -- nothing left in flight
  end)

  it("walks a 7-page lead list the same way", function()
    local id = srv:seed_campaign({ status = "fully_completed", leads = 65 })
    local c = assert(client.campaigns:get(id))
    local seen, n = {}, 0
    for lead in c:leads({ perPage = 10 }) do
      assert.equals(id, lead.campaignId)
      assert.is_nil(seen[lead._id])
      seen[lead._id] = true
      n = n + 1
    end
    assert.equals(65, n)
    assert.same({ 1, 2, 3, 4, 5, 6, 7 }, pages_requested(srv, "/api/campaigns/" .. id .. "/leads"))
  end)

  it("asks for one page only when the list fits in one, and once for an empty list", function()
    seed_campaigns(srv, 2)
    local n = 0
    for _ in client.campaigns:each({ perPage = 3 }) do n = n + 1 end
    assert.equals(2, n)
    assert.same({ 1 }, pages_requested(srv, "/api/campaigns"))
    local id = srv:seed_campaign({ status = "fully_completed", leads = 0, emails = 0 })
    local c = assert(client.campaigns:get(id))
    for _ in c:leads() do n = n + 1 end
    assert.equals(2, n)
    assert.same({ 1 }, pages_requested(srv, "/api/campaigns/" .. id .. "/leads"))
  end)

  it("has page N+1 on the wire while the loop body still works on page N, and not page N+2", function()
    seed_campaigns(srv, 20)
    local k = 0
    local observed = {}
    for _ in client.campaigns:each({ perPage = 3 }) do
      k = k + 1
      if k % 3 == 1 then -- the first item of page N
        local page = math.floor((k - 1) / 3) + 1
        if page < 7 then
          local pages = wait_for_page(srv, "/api/campaigns", page + 1)
          observed[page] = pages
          assert.equals(1, count(pages, page + 1), "page " .. (page + 1) .. " while on page " .. page)
          assert.equals(0, count(pages, page + 2), "page " .. (page + 2) .. " while on page " .. page)
        end
      end
    end
    assert.equals(20, k)
    for page = 1, 6 do assert.is_table(observed[page]) end
    assert.same({ 1, 2, 3, 4, 5, 6, 7 }, pages_requested(srv, "/api/campaigns"))
  end)

  it("core: collect starts the next page before it returns (decodes) this one", function()
    seed_campaigns(srv, 9)
    local h = client._core
    local function url(p)
      return (assert(h:prepare("/campaigns", { page = p, perPage = 3 })))
    end
    assert.is_nil((h:collect(url(2)))) -- nothing in flight: nil, nil
    assert.is_true(h:prefetch(url(2), "/campaigns", 10))
    assert.is_true(h:prefetch(url(2), "/campaigns", 10)) -- the same url: kept, not sent twice
    local body, status, request_id, started = h:collect(url(2), "/campaigns", 10, url(3))
    assert.equals(200, status)
    assert.equals(2, body.pagination.currentPage)
    assert.is_string(request_id)
    assert.is_true(started)
    assert.same({ 2, 3 }, wait_for_page(srv, "/api/campaigns", 3))
    assert.is_false(h:cancel_prefetch(url(2)))    -- only page 3's is in flight
    local last = assert(h:collect(url(3), "/campaigns", 10))
    assert.equals(3, last.pagination.currentPage)
    assert.is_false(h:cancel_prefetch())          -- and collect left the handle idle
    assert.same({ 2, 3 }, pages_requested(srv, "/api/campaigns"))
  end)

  it("core: a page with the same bytes as the one before starts no prefetch (a server ignoring ?page=)", function()
    -- Such a list ends with a decode error on the repeated page (pagination.lua):
    -- a prefetch started for the page after it would be a request for nothing.
    srv:fault({ method = "GET", path = "/api/campaigns", kind = "status", status = 200, count = -1,
      content_type = "application/json",
      body = '{"success":true,"data":{"items":[{"_id":"a"}],"pagination":{"totalPages":9}}}' })
    local h = client._core
    local function url(p)
      return (assert(h:prepare("/campaigns", { page = p })))
    end
    assert.is_true(h:prefetch(url(1), "/campaigns", 10))
    local _, status1, _, started1 = h:collect(url(1), "/campaigns", 10, url(2))
    assert.equals(200, status1)
    assert.is_true(started1)                     -- page 2 may differ: fetched ahead
    local _, status2, _, started2 = h:collect(url(2), "/campaigns", 10, url(3))
    assert.equals(200, status2)
    assert.is_false(started2)                    -- the same bytes again: page 3 is not asked for
    assert.is_false(h:cancel_prefetch())
    assert.same({ 1, 2 }, pages_requested(srv, "/api/campaigns"))
  end)

  it("core: a prefetched answer fails exactly like send (max_response_bytes, status errors)", function()
    local small = H.client(srv, { max_response_bytes = 512 })
    seed_campaigns(srv, 5)
    local h = small._core
    local url, path = h:prepare("/campaigns", { page = 1, perPage = 5 })
    local _, want = h:send("GET", url, path, nil, 10)
    assert.is_true(h:prefetch(url, path, 10))
    local value, err = h:collect(url, path, 10)
    assert.is_nil(value)
    for _, k in ipairs({ "kind", "retryable", "sent", "status", "method", "path" }) do
      assert.equals(want[k], err[k], k)
    end
    assert.equals("decode", err.kind)
    assert.is_false(err.retryable)
    assert.is_false(h:cancel_prefetch())
    -- no Content-Length, and the first chunk, held while Lua worked, is already over the cap
    srv:fault({ method = "GET", path = "/api/campaigns", kind = "huge", bytes = 200000, chunked = true, count = 2 })
    _, want = h:send("GET", url, path, nil, 10)
    local ok, held = h:prefetch(url, path, 10, 5)
    assert.is_true(ok and held)
    value, err = h:collect(url, path, 10)
    assert.is_nil(value)
    assert.equals("decode", want.kind)
    assert.matches("max_response_bytes", err.message)
    for _, k in ipairs({ "kind", "retryable", "sent", "status" }) do assert.equals(want[k], err[k], k) end
    assert.is_false(h:cancel_prefetch())
    srv:clear_faults()
    small:close()

    srv:fault({ method = "GET", path = "/api/campaigns", kind = "status", status = 503 })
    h = client._core
    assert.is_true(h:prefetch(url, path, 10))
    value, err = h:collect(url, path, 10, url .. "&x=1")
    assert.is_nil(value)
    assert.is_true(scravio.is_error(err))
    assert.equals(503, err.status)
    assert.is_true(err.retryable)
    assert.is_false(h:cancel_prefetch()) -- a failed page starts no next one
  end)

  it("core: an answer whose first bytes were held (paused) comes out whole, and a held one can be dropped", function()
    local id = srv:seed_campaign({ status = "fully_completed", leads = 2500 })
    local h = client._core
    local function url(p)
      return (assert(h:prepare("/campaigns/{}/leads", { page = p, perPage = 1000 }, nil, id)))
    end
    local want = assert(h:send("GET", url(1), "/leads", nil, 10))
    local ok, held = h:prefetch(url(1), "/leads", 10, 5)
    assert.is_true(ok)
    assert.is_true(held) -- the body started arriving and libcurl holds it
    local got = assert(h:collect(url(1), "/leads", 10))
    assert.equals(1000, #got.items)
    assert.same(want.items, got.items)
    -- held, then dropped; the handle works again afterwards (new connection)
    ok, held = h:prefetch(url(2), "/leads", 10, 5)
    assert.is_true(ok and held)
    assert.is_true(h:cancel_prefetch(url(2)))
    ok, held = h:prefetch(url(3), "/leads", 10, 5)
    assert.is_true(ok and held)
    assert.is_true(h:prefetch(url(2), "/leads", 10)) -- replaces the held page 3
    got = assert(h:collect(url(2), "/leads", 10, url(3)))
    assert.equals(1000, #got.items)
    got = assert(h:collect(url(3), "/leads", 10))
    assert.equals(500, #got.items)
    -- a client closed with a held prefetch frees it
    local other = H.client(srv)
    assert.is_true(select(2, other._core:prefetch(url(1), "/leads", 10, 5)))
    other:close()
  end)

  it("iterates over TLS (the prefetch handle verifies with the client's CA file)", function()
    seed_campaigns(srv, 7)
    local tls = H.client(srv, { base_url = srv.tls_base_url, ca_file = srv.ca_file })
    local n = 0
    for _ in tls.campaigns:each({ perPage = 3 }) do n = n + 1 end
    assert.equals(7, n)
    assert.same({ 1, 2, 3 }, pages_requested(srv, "/api/campaigns"))
    for _, r in ipairs(srv:requests({ method = "GET", path = "/api/campaigns" })) do assert.is_true(r.tls) end
    tls:close()
  end)

  it("retries a failed prefetched page through the normal path and completes", function()
    local ids = seed_campaigns(srv, 20)
    local hook, events = H.recorder()
    client._on_event = hook
    -- requests 1-3 (pages 1, 2, 3) pass; page 4's prefetch and its first normal attempt get a 503
    srv:fault({ method = "GET", path = "/api/campaigns", kind = "status", status = 503, skip = 3, count = 2 })
    local seen, n = {}, 0
    for c in client.campaigns:each({ perPage = 3 }) do
      assert.is_nil(seen[c.id])
      seen[c.id] = true
      n = n + 1
    end
    assert.equals(20, n)
    for id in pairs(ids) do assert.is_true(seen[id]) end
    local pages = pages_requested(srv, "/api/campaigns")
    assert.equals(3, count(pages, 4))
    for _, p in ipairs({ 1, 2, 3, 5, 6, 7 }) do assert.equals(1, count(pages, p), "page " .. p) end
    assert.equals(9, #pages)
    -- the failed prefetch is reported, then request.call's own retry
    local failed, retries = 0, H.events_of(events, "retry")
    for _, ev in ipairs(H.events_of(events, "response")) do
      if ev.prefetched and ev.status == 503 then failed = failed + 1 end
    end
    assert.equals(1, failed)
    assert.equals(2, #retries)
    assert.is_true(retries[1].prefetched)
    assert.is_nil(retries[2].prefetched)
    assert.is_true(clock.slept > 0)
    assert.equals(0, #H.events_of(events, "error"))
  end)

  it("walks past an empty page that is not the last one counted (the list changed), losing nothing after it", function()
    seed_campaigns(srv, 9)
    srv:fault({ method = "GET", path = "/api/campaigns", kind = "malformed", skip = 1, count = 1,
      body = '{"items":[],"pagination":{"currentPage":2,"totalPages":3,"totalCount":9,"perPage":3}}' })
    local n = 0
    for _ in client.campaigns:each({ perPage = 3 }) do n = n + 1 end
    assert.equals(6, n) -- pages 1 and 3; page 2 came back empty
    assert.same({ 1, 2, 3 }, pages_requested(srv, "/api/campaigns"))
  end)

  it("reports prefetched pages as request/response events", function()
    seed_campaigns(srv, 9)
    local hook, events = H.recorder()
    client._on_event = hook
    for _ in client.campaigns:each({ perPage = 3 }) do end
    local log = srv:requests({ method = "GET", path = "/api/campaigns" })
    local responses = H.events_of(events, "response")
    assert.equals(3, #H.events_of(events, "request"))
    assert.equals(3, #responses)
    assert.is_nil(responses[1].prefetched) -- page 1 goes the normal way
    for i = 2, 3 do
      assert.is_true(responses[i].prefetched)
      assert.equals(200, responses[i].status)
      assert.equals("/campaigns", responses[i].path)
      assert.equals(log[i].requestId, responses[i].request_id)
      assert.is_true(responses[i].elapsed >= 0)
    end
  end)

  it("raises a 404 on a prefetched page as today: the error object, no resend, nothing left in flight", function()
    seed_campaigns(srv, 20)
    srv:fault({ method = "GET", path = "/api/campaigns", kind = "status", status = 404, skip = 3 })
    local hook, events = H.recorder()
    client._on_event = hook
    local n = 0
    local ok, err = pcall(function()
      for _ in client.campaigns:each({ perPage = 3 }) do n = n + 1 end
    end)
    assert.is_false(ok)
    assert.is_true(scravio.is_error(err))
    assert.equals(404, err.status)
    assert.equals("GET", err.method)
    assert.equals(1, err.attempts)
    assert.equals("not retryable", err.gave_up)
    assert.equals(9, n)
    assert.same({ 1, 2, 3, 4 }, pages_requested(srv, "/api/campaigns"))
    assert.is_false(client._core:cancel_prefetch())
    local errs = H.events_of(events, "error")
    assert.equals(1, #errs)
    assert.equals(404, errs[1].status)
  end)

  it("with max_retries = 0 a 503 on a prefetched page is raised, not resent", function()
    seed_campaigns(srv, 9)
    client._max_retries = 0
    srv:fault({ method = "GET", path = "/api/campaigns", kind = "status", status = 503, skip = 1 })
    local ok, err = pcall(function() for _ in client.campaigns:each({ perPage = 3 }) do end end)
    assert.is_false(ok)
    assert.equals(503, err.status)
    assert.equals("retries exhausted", err.gave_up)
    assert.same({ 1, 2 }, pages_requested(srv, "/api/campaigns"))
  end)

  it("an error in the loop body leaves no prefetch running (Lua 5.4 closes the loop)", function()
    seed_campaigns(srv, 20)
    local ok, err = pcall(function()
      for _ in client.campaigns:each({ perPage = 3 }) do error("boom") end
    end)
    assert.is_false(ok)
    assert.matches("boom", tostring(err))
    if CLOSES then assert.is_false(client._core:cancel_prefetch()) end
    assert.same({ 1, 2 }, wait_for_page(srv, "/api/campaigns", 2))
  end)

  it("breaking out early harms nothing: other calls and a new iteration work", function()
    local ids = seed_campaigns(srv, 20)
    local first
    local n = 0
    for c in client.campaigns:each({ perPage = 3 }) do
      first = first or c.id
      n = n + 1
      if n == 4 then break end -- on page 2; page 3 is on the wire
    end
    assert.same({ 1, 2, 3 }, wait_for_page(srv, "/api/campaigns", 3))
    -- Lua 5.4 dropped it at the break; LuaJIT leaves it until the next prefetch
    assert.equals(not CLOSES, client._core:cancel_prefetch())
    -- an iterator abandoned by hand (no for loop) leaves its prefetch in flight
    local it = client.campaigns:each({ perPage = 3 })
    for _ = 1, 4 do assert.is_not_nil(it()) end
    assert.equals("Campaign", scravio.kind(assert(client.campaigns:get(first))))
    assert.is_string(assert(client:me()).email)
    local deadline = runtime.now() + 5
    while count(pages_requested(srv, "/api/campaigns"), 3) < 2 and runtime.now() < deadline do end
    -- the abandoned iterator did prefetch page 3 (a second GET of it, not answered to anyone)
    assert.equals(2, count(pages_requested(srv, "/api/campaigns"), 3))
    srv:clear_requests()
    local seen = {}
    n = 0
    for c in client.campaigns:each({ perPage = 3 }) do
      assert.is_nil(seen[c.id])
      seen[c.id] = true
      n = n + 1
    end
    assert.equals(20, n)
    for id in pairs(ids) do assert.is_true(seen[id]) end
    assert.same({ 1, 2, 3, 4, 5, 6, 7 }, pages_requested(srv, "/api/campaigns"))
    -- closing with a prefetch in flight is fine too
    it = client.campaigns:each({ perPage = 3 })
    assert.is_not_nil(it())
    client:close()
    client = nil
    collectgarbage()
  end)

  it("nested iterations on one client still yield every item once", function()
    local ids = {}
    for _ = 1, 7 do ids[srv:seed_campaign({ status = "fully_completed", leads = 5 })] = true end
    local leads = {}
    for id in pairs(ids) do leads[id] = 0 end
    local outer = 0
    for c in client.campaigns:each({ perPage = 2 }) do
      outer = outer + 1
      local seen = {}
      for lead in c:leads({ perPage = 2 }) do
        assert.is_nil(seen[lead._id])
        seen[lead._id] = true
        leads[c.id] = leads[c.id] + 1
      end
    end
    assert.equals(7, outer)
    for id in pairs(ids) do assert.equals(5, leads[id]) end
  end)

  it("never prefetches with a transport that cannot (a transport object with send only)", function()
    seed_campaigns(srv, 9)
    local inner = client._transport
    client._transport = { send = function(_, ...) return inner:send(...) end }
    local k = 0
    for _ in client.campaigns:each({ perPage = 3 }) do
      k = k + 1
      if k == 1 then assert.same({ 1 }, pages_requested(srv, "/api/campaigns")) end
    end
    assert.equals(9, k)
    assert.same({ 1, 2, 3 }, pages_requested(srv, "/api/campaigns"))
    assert.equals(0, #srv:requests({ method = "POST" }))
  end)
end)
