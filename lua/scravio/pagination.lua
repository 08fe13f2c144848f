--- Pages and iterators over the API's list endpoints. The C pager knows the
-- four envelopes and when to stop; this drives the requests.
local core = require("scravio.core")
local errors = require("scravio.errors")
local options = require("scravio.options")
local request = require("scravio.request")
local runtime = require("scravio.runtime")
local validate = require("scravio.validate")

local M = {}

-- Each list endpoint names its page-size parameter and its list key.
M.KINDS = {
  campaigns = { size = "perPage", key = "items" },
  leads = { size = "perPage", key = "items" },
  exports = { size = "perPage", key = "exports" },
  -- (the jobs envelope says total/page/pages but not the page size: the
  -- reference's default limit, 10, stands in when the query set none)
  validation_jobs = { size = "limit", key = "jobs", default_size = 10 },
  credit_transactions = { size = "perPage", key = "transactions" },
}

-- Iterating fetches big pages unless the caller chose a size.
M.ITER_PAGE_SIZE = 100

--- Check a list query before anything is sent. -> true | nil, err
function M.check_query(kind, query)
  if query ~= nil and type(query) ~= "table" then
    return nil, errors.invalid({ { param = "query", location = "query", msg = "query must be a table" } })
  end
  local ok, problems = validate.query(kind, query)
  if not ok then return nil, errors.invalid(problems, "query") end
  return true
end

local function copy(t)
  local c = {}
  if t then for k, v in pairs(t) do c[k] = v end end
  return c
end

local function wrap_items(items, wrap, client)
  if not wrap then return items end
  local out = setmetatable({}, core.array_mt)
  for i = 1, #items do out[i] = core.wrap(wrap, items[i], client) end
  return out
end

-- The path an error names: the template with its ids filled in (display
-- only; the request itself encodes each id as one path segment).
local function shown_path(template, ...)
  local args, i = { ... }, 0
  return (template:gsub("{}", function()
    i = i + 1
    return tostring(args[i])
  end))
end

--- One page, normalised: {items=, pagination={totalCount,totalPages,currentPage,perPage}}
-- plus the endpoint's own key (jobs, exports, transactions) naming the same array.
-- call: the caller's per-call options (checked), or nil.
function M.page(client, kind, wrap, template, query, call, ...)
  -- (call comes before the ids: an id in its place is a programming error)
  assert(call == nil or type(call) == "table", "pagination.page: call must be the per-call options table or nil")
  local body, err = request.call(client, "GET", template, request.with({ query = query }, call), ...)
  if body == nil then return nil, err end
  local pager = core.pager(query and query.page or 1)
  local items, perr = pager:feed(body)
  if not items then
    perr.method, perr.path = "GET", shown_path(template, ...)
    return nil, perr
  end
  -- The counters as the C pager read them from whichever envelope this is
  -- (the one place that knows the envelopes).
  local page, pages, total, per_page = pager:info()
  local spec = M.KINDS[kind]
  local result = {
    items = wrap_items(items, wrap, client),
    pagination = {
      totalCount = total,
      totalPages = pages,
      currentPage = page,
      perPage = per_page or (query and query[spec.size]) or spec.default_size,
    },
  }
  if spec.key ~= "items" then result[spec.key] = result.items end
  if kind == "validation_jobs" then
    result.total, result.page, result.pages = total, page, pages
  end
  return result
end

-- Items between two GC steps of an iteration: every page under PUC Lua,
-- every ~1,000 items under LuaJIT (see refill).
local GC_EVERY = rawget(_G, "jit") and 1000 or 0

-- Lua 5.4 closes the fourth value of a generic for when the loop is left by
-- break, return or an error: each() hands one back that drops its prefetch
-- and releases its page.
local CLOSES = _VERSION == "Lua 5.4" and rawget(_G, "jit") == nil

--- An iterator over every item of every page; raises the error object on
-- failure (a for loop cannot receive `nil, err`), never truncates silently.
--
-- With a transport that can prefetch (libcurl; not the OpenResty one), the
-- next page's GET goes out before the current page is decoded, once the page
-- count from an earlier page says that page exists: the server answers and the
-- kernel buffers the answer while this side decodes and the loop body runs.
-- Page 1 is never speculative and nothing is asked past the last page. The
-- prefetched answer goes through request.call as that page's first attempt,
-- so its failures are retried, reported and raised like any GET's (the
-- events of that attempt say prefetched = true).
-- Leaving the loop early (break, an error) drops the prefetch on Lua 5.4;
-- otherwise it stays in flight, harmless, until the client's next prefetch or
-- close: the client's other calls use its main handle.
-- call: the caller's per-call options (checked), or nil: they apply to every
-- page's request. Extra headers turn the prefetch off (the prefetching
-- handle sends the client's own headers only).
--
-- Pages are streamed: the transport answers each page GET (lazy = "page")
-- with a LazyPage (csrc/lazypage.c) that has validated the whole page and
-- keeps its bytes, and each item is decoded only when the loop reaches it
-- (the same plain table a whole-page decode would hold), so one page's items
-- are never all alive at once. The page is released before the next one is
-- asked for. A transport that answers decoded tables (a custom one, or a
-- page the C side does not stream) is iterated as before.
function M.each(client, kind, wrap, template, query, call, ...)
  assert(call == nil or type(call) == "table", "pagination.each: call must be the per-call options table or nil")
  local spec = M.KINDS[kind]
  local q = copy(query)
  if q[spec.size] == nil then q[spec.size] = M.ITER_PAGE_SIZE end
  local pager = core.pager(q.page or 1)
  local args = { n = select("#", ...), ... }
  local unpack = table.unpack or unpack -- luacheck: ignore 143
  local transport = client._transport
  local ahead = type(transport) == "table" and transport.prefetch ~= nil and transport.collect ~= nil
    and transport.cancel ~= nil and not (call and call.headers and next(call.headers))
  local per_attempt = call and call.timeout or client._timeout or 60
  local page_opts = request.with({ query = q, lazy = "page" }, call)
  local pending = nil -- {page, url, path, t0}: this iteration's prefetch in flight
  local pages = nil   -- the page count the last page fed said

  local function url_of(page)
    q.page = page
    local url, path = client._core:prepare(template, q, nil, unpack(args, 1, args.n))
    if url then return url, path end -- (a bad query or id: the normal path reports it)
  end

  local buf, i, n = nil, 0, 0 -- the page being handed out: a LazyPage or a decoded items array
  local streamed = false        -- buf is a LazyPage

  -- Drop the page being handed out (a libcurl client gets its body buffer back).
  local function release()
    if streamed then buf:release() end
    buf, i, n, streamed = nil, 0, 0, false
  end

  local function cancel()
    release()
    if pending then
      local url = pending.url
      pending = nil
      transport:cancel(url)
    end
  end

  local function fail(err)
    cancel()
    errors.raise(err)
  end

  local function start(page)
    local url, path = url_of(page)
    if url and transport:prefetch(url, path, per_attempt) then
      pending = { page = page, url = url, path = path, t0 = request.clock(client).now() }
    end
  end

  -- The prefetched page, through request.call as its first attempt (so a
  -- failure is retried, reported and raised exactly as any other GET's), or
  -- nil when this page has no prefetch in flight.
  local function collect(page)
    local p = pending
    pending = nil
    if p.page ~= page then
      transport:cancel(p.url)
      return nil
    end
    local next_url, next_path
    if pages and page < pages then next_url, next_path = url_of(page + 1) end
    local value, status, request_id, started, rl_limit, rl_left, rl_reset =
      transport:collect(p.url, p.path, per_attempt, next_url, "page")
    if started then pending = { page = page + 1, url = next_url, path = next_path, t0 = request.clock(client).now() } end
    if value == nil and status == nil then return nil end -- none in flight for this page
    q.page = page
    local body, err = request.call(client, "GET", template, request.with({ query = q, lazy = "page",
      answer = { value = value, status = status, request_id = request_id, t0 = p.t0,
        rate_limit = { rl_limit, rl_left, rl_reset } } }, call),
      unpack(args, 1, args.n))
    if body == nil then fail(err) end
    return body
  end

  local unswept = 0 -- items handed out since the last GC step
  -- Load the next page with items into buf; false at the end.
  local function refill()
    while i >= n do
      release() -- before the next page arrives: never two pages held at once
      local page = pager:next()
      if not page then
        cancel() -- (a page turned out empty before the count said so)
        return false
      end
      local body = pending and collect(page) or nil
      if body == nil then
        q.page = page
        local err
        body, err = request.call(client, "GET", template, page_opts, unpack(args, 1, args.n))
        if body == nil then fail(err) end
      end
      local lazy = getmetatable(body) == core.lazypage_mt
      local items, perr = pager:feed(body)
      if not items then
        if lazy then body:release() end
        perr.method, perr.path = "GET", shown_path(template, unpack(args, 1, args.n))
        fail(perr)
      end
      streamed = lazy
      buf, i, n = items, 0, lazy and items:count() or #items
      pages = select(2, pager:info())
      if ahead and not pending then
        -- Fetched the normal way (page 1, or after a failure): the next page
        -- goes out before this page's items are handed out.
        local following = pager:next()
        if following then start(following) end
      end
      -- A decoded page of 1,000 leads is ~1.5 MB of Lua heap; a GC step per
      -- page, sized by the page (about 1 KB per item), keeps a million-lead
      -- iteration from holding several pages. Under LuaJIT a step costs
      -- about the same whatever its size (it works until the GC's debt is
      -- paid: 17% of a 100-lead page's instructions inside an nginx worker),
      -- so there it comes once per GC_EVERY items instead (bench/README.md).
      unswept = unswept + n
      if unswept >= GC_EVERY then
        collectgarbage("step", unswept)
        unswept = 0
      end
    end
    return true
  end

  local function iterate()
    if i >= n then
      -- A Ctrl-C while a page is fetched (a sleep, a request, or the
      -- interpreter's "interrupted!") is raised as kind = "cancelled".
      local ok, more = pcall(refill)
      if not ok then
        if runtime.is_interrupt(more) then
          fail(errors.interrupted(string.format("interrupted (Ctrl-C) while reading GET %s (page %s); " ..
            "nothing was changed on the server", shown_path(template, unpack(args, 1, args.n)),
            tostring(q.page)), { method = "GET", path = shown_path(template, unpack(args, 1, args.n)) }))
        end
        cancel()
        error(more, 0)
      end
      if not more then return nil end
    end
    i = i + 1
    local item
    if streamed then
      item = buf:item(i)
    else
      item = buf[i]
      buf[i] = nil -- let a long iteration release what it has handed out
    end
    if wrap then return core.wrap(wrap, item, client) end
    return item
  end
  if CLOSES then
    return iterate, nil, nil, setmetatable({}, { __close = cancel })
  end
  return iterate
end

--- Give a service its list(query) and each(query) for one list endpoint:
-- list returns one normalised page (or nil, err), each iterates every page
-- (raising the error object, as iterators must).
-- Both take the per-call options after the query: list(query, call).
function M.define(Service, kind, wrap, template)
  function Service:list(query, call)
    local ok, err = M.check_query(kind, query)
    if not ok then return nil, err end
    local copts, cerr = options.call(call, kind .. ":list")
    if not copts then return nil, cerr end
    return M.page(self.client, kind, wrap, template, query, copts)
  end

  function Service:each(query, call)
    local ok, err = M.check_query(kind, query)
    if not ok then errors.raise(err) end
    local copts, cerr = options.call(call, kind .. ":each")
    if not copts then errors.raise(cerr) end
    return M.each(self.client, kind, wrap, template, query, copts)
  end
end

return M
