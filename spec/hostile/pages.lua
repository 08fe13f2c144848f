--- Hostile-server cases for streamed list pages (csrc/lazypage.c): the
-- iterator's pages are validated whole and their items decoded one at a
-- time, on libcurl (the client's body buffer) and under OpenResty (the body
-- string) alike. An item must be what the whole-page decode holds, and a
-- corrupt page must hand out none of its items. Format:
-- spec/support/README.md, "Hostile-server cases".
local H = require("spec.support.hostile")

local LEAD = '{"_id":"%s","n":1,"f":1.5,"t":true,"z":null,"s":"h\\u00e9llo\\n\\"q\\"\\/\\ud83d\\ude00",' ..
  '"tags":["x",null,2,[],{}],"o":{"k":{"deep":[1,{"q":"r","nil":null}]}},"dup":1,"dup":2,"gone":3,"gone":null}'

local function page(n, pages, ids)
  local items = {}
  for i, id in ipairs(ids) do items[i] = LEAD:format(id) end
  return string.format('{"pagination":{"currentPage":%d,"totalPages":%d},"%s":[%s]}', n, pages,
    n == 1 and "items" or "transactions", table.concat(items, ","))
end

return {
  {
    name = "streamed list pages hand out the items the whole-page decode holds, as plain tables",
    answers = { { H.json(200, page(1, 2, { "a", "b" })) }, { H.json(200, page(2, 2, { "c" })) } },
    calls = {
      { op = "each", fn = "credit_transactions.each", args = { {} }, collect = true,
        expect = { ok = true } },
    },
    requests = 2,
    check = function(outcomes)
      local v = outcomes[1].value
      assert(v.count == 3 and v.plain == true, "not 3 plain items")
      local a = v.items[1]
      assert(a._id == "a" and v.items[2]._id == "b" and v.items[3]._id == "c", "items out of order")
      assert(a.dup == 2 and a.gone == nil and a.z == nil, "duplicate or null members decoded differently")
      assert(a.s == "h\195\169llo\n\"q\"/\240\159\152\128", "escapes decoded differently: " .. tostring(a.s))
      assert(a.tags[1] == "x" and a.tags[2] == "<null>" and a.tags[3] == 2, "array decoded differently")
      assert(a.o.k.deep[2].q == "r" and a.o.k.deep[2]["nil"] == nil, "nested object decoded differently")
    end,
  },
  {
    name = "a corrupt page in the middle of an iteration hands out none of its items",
    answers = {
      { H.json(200, page(1, 2, { "a", "b" })) },
      { H.json(200, page(2, 2, { "c", "d" }):sub(1, -30)) },
    },
    calls = {
      { op = "each", fn = "credit_transactions.each", args = { {} }, expect = { ok = false, kind = "decode", value = 2 } },
    },
    requests = 2,
  },
}
