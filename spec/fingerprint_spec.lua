-- The repeated-page check's fingerprint (csrc/fingerprint.h): the JSON
-- decoder computes it while building a list envelope's items array, so the
-- pager does not walk every decoded lead through the C API again (a third of
-- a lead page's cost: bench/README.md). Whichever way a page's hash was made
-- (decoded, or walked when the page was built in Lua), equal pages must hash
-- equal and different pages differently.
local core = require("scravio.core")

-- Feed a, then b, to one pager: -> true when b is refused as a repeat.
local function repeats(a, b)
  local p = core.pager(1)
  assert.truthy(p:feed(a))
  return p:feed(b) == nil
end

local PAGE = '{"items":[{"_id":"a","n":1,"f":1.5,"neg":-0,"t":true,"x":false,"z":null,' ..
  '"s":"h\\u00e9llo\\n","tags":["x",null,2],"o":{"k":{"deep":[1,{"q":"r"}]}}},{"_id":"b","e":{},"arr":[]}]}'

local function built()
  return { items = { { _id = "a", n = 1, f = 1.5, neg = 0, t = true, x = false, s = "h\195\169llo\n",
    tags = setmetatable({ "x", core.null, 2 }, core.array_mt), o = { k = { deep = { 1, { q = "r" } } } } },
    { _id = "b", e = {}, arr = {} } } }
end

describe("page fingerprints", function()
  it("are the same for a decoded page and the same page built in Lua, either way round", function()
    assert.is_true(repeats(core.json_decode(PAGE), built()))
    assert.is_true(repeats(built(), core.json_decode(PAGE)))
    assert.is_true(repeats(core.json_decode(PAGE), core.json_decode(PAGE)))
  end)

  it("do not depend on the order of an object's keys in the JSON", function()
    assert.is_true(repeats(core.json_decode('{"items":[{"a":1,"b":2}]}'), core.json_decode('{"items":[{"b":2,"a":1}]}')))
  end)

  it("tell different pages apart: values, order of items, bytes of strings", function()
    assert.is_false(repeats(core.json_decode('{"items":[{"a":1,"b":2}]}'), core.json_decode('{"items":[{"a":1,"b":3}]}')))
    assert.is_false(repeats(core.json_decode('{"items":[1,2]}'), core.json_decode('{"items":[2,1]}')))
    assert.is_false(repeats(core.json_decode('{"items":["ab"]}'), core.json_decode('{"items":["ba"]}')))
    assert.is_false(repeats(core.json_decode('{"items":[{"a":null}]}'), core.json_decode('{"items":[{"a":false}]}')))
  end)

  it("cover the data envelope's lists (exports, jobs) too", function()
    assert.is_true(repeats(core.json_decode('{"data":{"exports":[{"a":1}]}}'), { data = { exports = { { a = 1 } } } }))
  end)

  it("are recorded by the decoder for the items array, weakly", function()
    local reg = debug.getregistry()["scravio.fingerprints"]
    local page = core.json_decode(PAGE)
    reg = reg or debug.getregistry()["scravio.fingerprints"]
    assert.truthy(reg and reg[page.items])
    assert.equals("k", getmetatable(reg).__mode)
  end)
end)
