--- Pages and iterators over the API's list endpoints. The C pager knows the
-- four envelopes and when to stop; this drives the requests.
local core = require("scravio.core")
local errors = require("scravio.errors")
local request = require("scravio.request")
local validate = require("scravio.validate")

local M = {}

-- Each list endpoint names its page-size parameter and its list key.
M.KINDS = {
  campaigns = { size = "perPage", key = "items" },
  leads = { size = "perPage", key = "items" },
  exports = { size = "perPage", key = "exports" },
  validation_jobs = { size = "limit", key = "jobs" },
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

--- One page, normalised: {items=, pagination={totalCount,totalPages,currentPage,perPage}}
-- plus the endpoint's own key (jobs, exports, transactions) naming the same array.
function M.page(client, kind, wrap, template, query, ...)
  local body, err = request.call(client, "GET", template, { query = query }, ...)
  if body == nil then return nil, err end
  local pager = core.pager(query and query.page or 1)
  local items, perr = pager:feed(body)
  if not items then
    perr.method, perr.path = "GET", template
    return nil, perr
  end
  local page, pages, total = pager:info()
  local data = request.unwrap(body)
  local p = type(data.pagination) == "table" and data.pagination or {}
  local spec = M.KINDS[kind]
  local result = {
    items = wrap_items(items, wrap, client),
    pagination = {
      totalCount = p.totalCount or total,
      totalPages = p.totalPages or pages,
      currentPage = p.currentPage or page,
      perPage = p.perPage or (query and query[spec.size]) or nil,
    },
  }
  if spec.key ~= "items" then result[spec.key] = result.items end
  if kind == "validation_jobs" then
    result.total, result.page, result.pages = total, page, pages
  end
  return result
end

--- An iterator over every item of every page; raises the error object on
-- failure (a for loop cannot receive `nil, err`), never truncates silently.
function M.each(client, kind, wrap, template, query, ...)
  local spec = M.KINDS[kind]
  local q = copy(query)
  if q[spec.size] == nil then q[spec.size] = M.ITER_PAGE_SIZE end
  local pager = core.pager(q.page or 1)
  local args = { n = select("#", ...), ... }
  local unpack = table.unpack or unpack -- luacheck: ignore 143
  local buf, i, n = nil, 0, 0
  return function()
    while i >= n do
      local page = pager:next()
      if not page then return nil end
      q.page = page
      local body, err = request.call(client, "GET", template, { query = q }, unpack(args, 1, args.n))
      if body == nil then errors.raise(err) end
      local items, perr = pager:feed(body)
      if not items then
        perr.method, perr.path = "GET", template
        errors.raise(perr)
      end
      buf, i, n = items, 0, #items
      -- A decoded page of 1,000 leads is ~1.5 MB of Lua heap; a small GC step
      -- per page keeps a million-lead iteration from holding several pages.
      collectgarbage("step", 0)
    end
    i = i + 1
    local item = buf[i]
    buf[i] = nil -- let a long iteration release what it has handed out
    if wrap then return core.wrap(wrap, item, client) end
    return item
  end
end

--- Give a service its list(query) and each(query) for one list endpoint:
-- list returns one normalised page (or nil, err), each iterates every page
-- (raising the error object, as iterators must).
function M.define(Service, kind, wrap, template)
  function Service:list(query)
    local ok, err = M.check_query(kind, query)
    if not ok then return nil, err end
    return M.page(self.client, kind, wrap, template, query)
  end

  function Service:each(query)
    local ok, err = M.check_query(kind, query)
    if not ok then errors.raise(err) end
    return M.each(self.client, kind, wrap, template, query)
  end
end

return M
