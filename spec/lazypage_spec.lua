-- Streamed list pages (csrc/lazypage.c, pagination.each): the iterator's
-- page GETs come back as a LazyPage that validated the whole page and keeps
-- its bytes, and each item is decoded only when the loop reaches it. What
-- must hold: an item is exactly the plain value the whole-page decode holds
-- (types, metatables, nulls, escapes, duplicate keys), the envelope's
-- counters and the repeated-page guard are the pager's as before, a corrupt
-- page hands out nothing, and only one page's bytes (never its decoded
-- items) are alive at a time. Both transports: spec/hostile/pages.lua.
local H = require("spec.support.helpers")
local core = require("scravio.core")

-- Deep equality that also compares metatables and the null value's identity:
-- what type(), pairs, next and a JSON encoder would tell apart.
local function same(a, b, path)
  path = path or "item"
  assert(type(a) == type(b), path .. ": " .. type(a) .. " vs " .. type(b))
  if type(a) ~= "table" then
    if math.type then assert(math.type(a) == math.type(b), path .. ": " .. tostring(math.type(a))) end
    assert(a == b or (a ~= a and b ~= b), path .. ": " .. tostring(a) .. " vs " .. tostring(b))
    return
  end
  assert(getmetatable(a) == getmetatable(b), path .. ": metatables differ")
  for k, v in pairs(a) do
    assert(rawget(b, k) ~= nil, path .. "." .. tostring(k) .. " missing")
    same(v, rawget(b, k), path .. "." .. tostring(k))
  end
  for k in pairs(b) do assert(rawget(a, k) ~= nil, path .. "." .. tostring(k) .. " extra") end
end

local TRICKY = '{"pagination":{"currentPage":2,"totalPages":5,"totalCount":40,"perPage":10},"items":[' ..
  '{"_id":"a","n":1,"big":9007199254740993,"f":1.5,"e":-2.5e-3,"neg":-0,"t":true,"x":false,"z":null,' ..
  '"s":"h\\u00e9llo\\n\\"q\\"\\/\\ud83d\\ude00","bad":"\\ud800x","tags":["x",null,2,[],[[]],{}],' ..
  '"o":{"k":{"deep":[1,{"q":"r","nil":null}]}},"dup":1,"dup":2,"gone":3,"gone":null},' ..
  'null, 7, "s", [1,2], {}, [],' ..
  ' { "_id" : "ws" , "a" : [ 1 , 2 ] } ]}'

-- Does s have a backslash outside the value of its last "items" member?
local function envelope_has_escape(s)
  local at
  for pos in s:gmatch('()"items"%s*:%s*%[') do at = pos end
  if not at then return s:find("\\", 1, true) ~= nil end
  local i, depth, in_str = s:find("[", at, true), 0, false
  local open = i
  while i <= #s do
    local c = s:sub(i, i)
    if in_str then
      if c == "\\" then i = i + 1 elseif c == '"' then in_str = false end
    elseif c == '"' then in_str = true
    elseif c == "[" or c == "{" then depth = depth + 1
    elseif c == "]" or c == "}" then
      depth = depth - 1
      if depth == 0 then break end
    end
    i = i + 1
  end
  return (s:sub(1, open - 1) .. s:sub(i + 1)):find("\\", 1, true) ~= nil
end

describe("a streamed list page (core.lazy_page)", function()
  it("hands out each item exactly as the whole-page decode holds it", function()
    local page = assert(core.lazy_page(TRICKY))
    local whole = core.json_decode(TRICKY)
    assert.equals(#whole.items, page:count())
    for i = 1, page:count() do
      local item = page:item(i)
      same(whole.items[i], item, "items[" .. i .. "]")
      if type(item) == "table" then
        assert.equals(core.json_encode(whole.items[i]), core.json_encode(item))
      end
    end
    local a = page:item(1)
    assert.is_nil(getmetatable(a))             -- a plain table: pairs/next/type see no difference
    assert.equals(core.array_mt, getmetatable(a.tags))
    assert.equals(core.null, a.tags[2])
    assert.is_nil(a.z)                           -- a null member is absent
    assert.equals(2, a.dup)                      -- the last duplicate wins
    assert.is_nil(a.gone)                        -- a later null removes an earlier value
    assert.equals(core.null, page:item(2))       -- a null item is the null value, as in the array
    assert.is_nil(page:item(0))
    assert.is_nil(page:item(page:count() + 1))
    assert.are_not.equal(page:item(1), page:item(1)) -- decoded anew each time: nothing is cached
  end)

  it("gives the pager the counters and the repeated-page verdicts of the decoded page", function()
    local bodies = {
      TRICKY,
      '{"items":[{"_id":"a"}],"pagination":{"totalPages":2.5,"currentPage":0.5,"perPage":"10"}}',
      '{"items":[{"_id":"a"}],"pagination":{"currentPage":null,"page":3,"pages":4,"total":9,"limit":3}}',
      '{"items":[{"_id":"a"}],"pagination":[1,2]}',
      '{"items":[{"_id":"a"}],"pagination":{"totalPages":1e300,"currentPage":-1e300,"totalCount":1e300}}',
      '{"items":[],"pagination":{"currentPage":1,"totalPages":3}}',
      '{"transactions":[{"_id":"t"}],"pagination":{"currentPage":1,"totalPages":1}}',
      '{"items":null,"transactions":[{"_id":"t"}]}',
      '{"items":[{"_id":"a"}]}',
    }
    for _, body in ipairs(bodies) do
      local eager, lazy = core.pager(2), core.pager(2)
      local items = assert(eager:feed(core.json_decode(body)))
      local page = assert(core.lazy_page(body), body)
      assert.equals(page, assert(lazy:feed(page)))
      assert.same({ eager:info() }, { lazy:info() }, body)
      assert.equals(eager:next(), lazy:next(), body)
      assert.equals(#items, page:count())
      -- the same page again is refused by both (a server ignoring ?page=)
      local again = core.lazy_page(body)
      assert.equals(eager:feed(core.json_decode(body)) == nil, lazy:feed(again) == nil, body)
    end
    -- pages that differ in one byte are told apart
    local p = core.pager(1)
    assert.truthy(p:feed(core.lazy_page('{"items":[{"_id":"a1"}],"pagination":{"totalPages":3}}')))
    assert.truthy(p:feed(core.lazy_page('{"items":[{"_id":"a2"}],"pagination":{"totalPages":3}}')))
    assert.is_nil(p:feed(core.lazy_page('{"items":[{"_id":"a2"}],"pagination":{"totalPages":3}}')))
  end)

  it("is not made for a corrupt page, nor for envelopes it does not stream (those are decoded whole)", function()
    local corrupt = {
      TRICKY:sub(1, -3), TRICKY .. "x", TRICKY:gsub("1.5", "1.5.5"), TRICKY:gsub('"x"', '"\1"'),
      '{"items":[{"a":1e400}]}', '{"items":[{"a":1},]}', '{"items":[01]}', "",
    }
    for _, body in ipairs(corrupt) do
      assert.is_nil(core.lazy_page(body), body)
      assert.is_nil((core.json_decode(body)), body) -- (the eager decoder refuses it too)
    end
    for _, body in ipairs({ '{"data":{"exports":[{"a":1}],"pagination":{}}}', '{"items":{"a":1}}',
      '{"items":"nope"}', '[1,2]', '{"pagination":{}}' }) do
      assert.is_nil(core.lazy_page(body), body)
    end
  end)

  it("streams exactly the mutated pages the decoder accepts, with the same items", function()
    local seeds = { TRICKY, '{"items":[{"a":1,"b":"x","c":true,"d":null,"e":{"f":[1,2,{"g":"h"}],"i":-0.5},' ..
      '"j":"k"},{"l":[],"m":{}}],"pagination":{"totalPages":2}}' }
    local chars = { '"', ",", ":", "{", "}", "[", "]", " ", "\\", "0", "1", "-", "e", ".", "n", "t", "\1", "u" }
    math.randomseed(13)
    local streamed = 0
    for iter = 1, 3000 do
      local s = seeds[iter % 2 + 1]
      for _ = 1, math.random(1, 3) do
        local i, c = math.random(1, #s), chars[math.random(#chars)]
        local op = math.random(3)
        if op == 1 then s = s:sub(1, i - 1) .. c .. s:sub(i + 1)
        elseif op == 2 then s = s:sub(1, i - 1) .. s:sub(i + 1)
        else s = s:sub(1, i - 1) .. c .. s:sub(i) end
      end
      local page, whole = core.lazy_page(s), core.json_decode(s)
      local listed = type(whole) == "table" and getmetatable(whole.items) == core.array_mt
        and (whole.transactions == nil)
      if page then
        streamed = streamed + 1
        assert(listed, "streamed a page the decoder refuses: " .. s)
        assert(page:count() == #whole.items, s)
        for k = 1, page:count() do same(whole.items[k], page:item(k), s .. " item " .. k) end
      else
        -- (keys with escapes outside the items, in the envelope or its
        -- pagination object, are the scanner's documented refusal: such a
        -- page is decoded whole instead)
        assert(not listed or envelope_has_escape(s), "refused a page the decoder takes: " .. s)
      end
    end
    assert.is_true(streamed > 300)
  end)

  it("refuses reads once released; releasing twice is harmless", function()
    local page = assert(core.lazy_page('{"items":[{"a":1}]}'))
    page:release()
    page:release()
    assert.has_error(function() page:item(1) end)
    assert.matches("released", tostring(page))
  end)
end)

describe("list iteration over streamed pages (libcurl transport)", function()
  local srv, client

  setup(function() srv = H.start() end)
  teardown(function() if srv then srv:stop() end end)
  before_each(function()
    srv:reset()
    client = H.client(srv, { max_retries = 0 })
  end)
  after_each(function() if client then client:close() end end)

  -- Every lead of the campaign, page by page, through list() (decoded whole).
  local function listed(c, per_page)
    local all, page = {}, 1
    while true do
      local pg = assert(c:leads_page({ perPage = per_page, page = page }))
      for _, lead in ipairs(pg.items) do all[#all + 1] = lead end
      if page >= pg.pagination.totalPages then return all end
      page = page + 1
    end
  end

  -- Record what the transport answers the iterator's page GETs with.
  local function spy(kinds)
    local t = client._transport
    local send, collect = t.send, t.collect
    t.send = function(self, ...)
      local v, a, b, c2, d, e = send(self, ...)
      kinds[#kinds + 1] = select(7, ...) == "page" and (getmetatable(v) == core.lazypage_mt and "lazy" or "table") or nil
      return v, a, b, c2, d, e
    end
    t.collect = function(self, ...)
      local r = { collect(self, ...) }
      if select(5, ...) == "page" and r[1] ~= nil then
        kinds[#kinds + 1] = getmetatable(r[1]) == core.lazypage_mt and "lazy" or "table"
      end
      return table.unpack and table.unpack(r, 1, 7) or unpack(r, 1, 7) -- luacheck: ignore 143
    end
    return function() t.send, t.collect = send, collect end
  end

  it("hands out the leads list() decodes, as plain tables, from pages that were streamed", function()
    local id = srv:seed_campaign({ status = "fully_completed", leads = 23 })
    local c = assert(client.campaigns:get(id))
    local want = listed(c, 5)
    local kinds = {}
    local restore = spy(kinds)
    local got = {}
    for lead in c:leads({ perPage = 5 }) do got[#got + 1] = lead end
    restore()
    assert.equals(23, #got)
    for i = 1, #want do same(want[i], got[i], "lead " .. i) end
    assert.same({ "lazy", "lazy", "lazy", "lazy", "lazy" }, kinds)
  end)

  it("hands out nothing of a corrupt page, and raises its decode error", function()
    local id = srv:seed_campaign({ status = "fully_completed", leads = 10 })
    local c = assert(client.campaigns:get(id))
    srv:fault({ method = "GET", path = "/campaigns/" .. id .. "/leads", kind = "truncated", skip = 1, count = -1 })
    local n = 0
    local ok, err = pcall(function() for _ in c:leads({ perPage = 5 }) do n = n + 1 end end)
    assert.is_false(ok)
    assert.equals("decode", err.kind)
    assert.equals(5, n) -- page 1's leads, none of page 2's
  end)

  it("after a break mid-page, the client and a new iteration work", function()
    local id = srv:seed_campaign({ status = "fully_completed", leads = 12 })
    local c = assert(client.campaigns:get(id))
    local first
    for lead in c:leads({ perPage = 5 }) do -- luacheck: ignore 512 (the break is the point)
      first = lead
      break
    end
    assert.truthy(first and first._id)
    assert.equals(id, assert(client.campaigns:get(id)).id)
    local ids = {}
    for lead in c:leads({ perPage = 5 }) do ids[#ids + 1] = lead._id end
    assert.equals(12, #ids)
    assert.equals(first._id, ids[1])
  end)

  it("is not disturbed by other calls on the same client inside the loop body", function()
    local id = srv:seed_campaign({ status = "fully_completed", leads = 14 })
    local c = assert(client.campaigns:get(id))
    local want = listed(c, 5)
    local got = {}
    for lead in c:leads({ perPage = 5 }) do
      got[#got + 1] = lead
      -- other answers, small and large, go through the client's body buffer
      -- while the page holds the bytes it was answered with
      assert.equals(id, assert(client.campaigns:get(id)).id)
      if #got % 3 == 0 then assert(c:leads_page({ perPage = 20 })) end
    end
    assert.equals(14, #got)
    for i = 1, #want do same(want[i], got[i], "lead " .. i) end
  end)

  it("keeps no decoded page alive: the Lua heap stays near one item while a page is handed out", function()
    local per_page = 400
    local id = srv:seed_campaign({ status = "fully_completed", leads = per_page * 2 })
    local c = assert(client.campaigns:get(id))
    local one = #core.json_encode(assert(c:leads_page({ perPage = 1 })).items[1])
    collectgarbage("collect")
    local base = collectgarbage("count")
    local worst, n = 0, 0
    for _ in c:leads({ perPage = per_page }) do
      n = n + 1
      if n % 100 == 1 then -- early in each page: a whole-page decode still holds ~all of its leads
        collectgarbage("collect")
        local grown = collectgarbage("count") - base
        if grown > worst then worst = grown end
      end
    end
    assert.equals(per_page * 2, n)
    -- A decoded page of 400 leads is hundreds of KB of Lua heap; a streamed
    -- one keeps only its item spans outside the heap and the lead in hand.
    assert.is_true(worst * 1024 < per_page * one / 4,
      string.format("heap grew %.0f KB during the iteration (one lead ~%d bytes of JSON)", worst, one))
  end)
end)
