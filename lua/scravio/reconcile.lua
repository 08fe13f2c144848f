--- Reconciliation: finding the object a credit-spending request may have
-- created when it got no answer (request.lua calls opts.reconcile then).
local pagination = require("scravio.pagination")
local request = require("scravio.request")
local runtime = require("scravio.runtime")

local M = {}

-- A reconcile function looks for the object an unanswered request may have
-- created. It must never take an older object for it, so it only accepts
-- objects created at or after the call began, less CLOCK_SKEW seconds (the
-- createdAt is compared here, client-side, not only through a `from` query),
-- and never one this client already knows it created (client._created).

M.CLOCK_SKEW = 2    -- seconds of client/server clock difference tolerated
M.CREATED_MAX = 64  -- ids kept per client in client._created

--- Remember that this client created `id` (a string): reconciliation will
-- never return it. client._created maps id -> the wall time it was recorded
-- and lists the ids in order (1..n), the oldest dropped beyond CREATED_MAX.
function M.remember(client, id)
  if type(id) ~= "string" or id == "" then return end
  local set = client._created
  if not set then
    set = {}
    client._created = set
  end
  if set[id] == nil then set[#set + 1] = id end
  set[id] = request.clock(client).time()
  while #set > M.CREATED_MAX do
    set[table.remove(set, 1)] = nil
  end
end

--- The wall time at which this client recorded `id`, or nil if it never did.
function M.known(client, id)
  local set = client._created
  if set == nil or type(id) ~= "string" then return nil end
  return set[id]
end

local function days_from_civil(y, m, d)
  if m <= 2 then y = y - 1 end
  local era = math.floor(y / 400)
  local yoe = y - era * 400
  local doy = math.floor((153 * ((m + 9) % 12) + 2) / 5) + d - 1
  return era * 146097 + yoe * 365 + math.floor(yoe / 4) - math.floor(yoe / 100) + doy - 719468
end

--- Seconds since the epoch for an ISO 8601 date-time such as
-- "2024-01-31T12:00:00.123Z" (or with a +hh:mm offset; none means UTC), or nil.
function M.parse_time(s)
  if type(s) ~= "string" then return nil end
  local y, mo, d, h, mi, sec, rest = s:match("^(%d%d%d%d)%-(%d%d)%-(%d%d)[Tt ](%d%d):(%d%d):(%d%d)(.*)$")
  if not y then return nil end
  y, mo, d, h, mi, sec = tonumber(y), tonumber(mo), tonumber(d), tonumber(h), tonumber(mi), tonumber(sec)
  if mo < 1 or mo > 12 or d < 1 or d > 31 or h > 23 or mi > 59 or sec > 60 then return nil end
  local t = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec
  local frac, r = rest:match("^[%.,](%d+)(.*)$")
  if frac then
    t = t + tonumber("0." .. frac)
    rest = r
  end
  if rest == "" or rest == "Z" or rest == "z" then return t end
  local sign, zh, zm = rest:match("^([%+%-])(%d%d):?(%d%d)$")
  if not sign then return nil end
  local off = tonumber(zh) * 3600 + tonumber(zm) * 60
  return sign == "+" and t - off or t + off
end

--- Was an object stamped `stamp` (ISO 8601) created at or after the call that
-- began at `started_wall`, less the clock-skew allowance? nil/unreadable: no.
function M.created_since(stamp, started_wall)
  local t = M.parse_time(stamp)
  return t ~= nil and t >= started_wall - M.CLOCK_SKEW
end

--- The `from` query value for a reconciliation listing.
function M.since_query(started_wall)
  return runtime.iso8601(started_wall - M.CLOCK_SKEW)
end


-- ---- Looking -----------------------------------------------------------------

M.LOOKUP_PAGE = 100 -- candidates asked per page (the reference's maximum perPage/limit)
M.LOOKUP_PAGES = 10 -- pages walked at most, newest first

--- Every object of a list endpoint created since the call began (less the
-- clock-skew allowance), newest first: pages are walked (sortBy=createdAt,
-- order=desc, from=) until one holds an object older than that, or the pages
-- end, so a busy account whose first page is full of other new objects still
-- shows ours. No free-text `q=`: what it searches is not the reference's to
-- promise. kind: pagination.KINDS' name; query: the endpoint's filters.
-- -> array of the raw items (as many as could be read)
function M.listed_since(client, kind, template, query, started_wall)
  local q = { from = M.since_query(started_wall), sortBy = "createdAt", order = "desc" }
  for k, v in pairs(query or {}) do q[k] = v end
  q[pagination.KINDS[kind].size] = M.LOOKUP_PAGE
  local found = {}
  for page = 1, M.LOOKUP_PAGES do
    q.page = page
    local res = pagination.page(client, kind, nil, template, q)
    if not res then break end
    local older = false
    for _, item in ipairs(res.items) do
      if type(item) == "table" then
        if M.created_since(item.createdAt, started_wall) then
          found[#found + 1] = item
        elseif M.parse_time(item.createdAt) then
          older = true
        end
      end
    end
    local pages = res.pagination.totalPages
    if older or #res.items == 0 or (pages and page >= pages) then break end
  end
  return found
end

-- A value as a server may store it: strings trimmed, a leading "#" or "@"
-- dropped, ASCII letters lower-cased ("#Fitness " = "fitness", "us" = "US").
local function canonical(s)
  return (s:gsub("^%s+", ""):gsub("%s+$", ""):gsub("^[#@]", ""):lower())
end

local function empty(v) return v == nil or (type(v) == "table" and next(v) == nil) end

--- Is `sent` (what this client sent) what the server's `stored` says, once
-- both are normalised as a server may normalise them? Arrays compare item by
-- item in order; an empty list matches an absent one.
function M.same(sent, stored)
  if type(sent) == "string" and type(stored) == "string" then return canonical(sent) == canonical(stored) end
  if type(sent) ~= "table" or type(stored) ~= "table" then
    if empty(sent) and empty(stored) then return true end
    return sent == stored
  end
  for k, v in pairs(sent) do
    if not M.same(v, stored[k]) then return false end
  end
  for k, v in pairs(stored) do
    if sent[k] == nil and not empty(v) then return false end
  end
  return true
end

--- The one candidate, or nil and a note when there is none or more than one:
-- two identical objects created in the same seconds (another process
-- launching the same thing) cannot be told apart, and guessing could hand
-- back someone else's. -> item | nil, note
function M.the_one(candidates, what)
  if #candidates == 1 then return candidates[1] end
  if #candidates == 0 then return nil end
  local ids = {}
  for i, c in ipairs(candidates) do ids[i] = tostring(c.id) end
  return nil, string.format("%d matching %s were found (%s), which cannot be told apart", #candidates, what,
    table.concat(ids, ", "))
end

return M
