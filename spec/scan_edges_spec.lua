-- The JSON fast paths (csrc/json.c) against values built here in Lua: the
-- string scan that looks at 16 bytes at a time (SSE2), 8 at a time (SWAR)
-- and then byte by byte near the end of the input, the exact key-cache hit,
-- and the integer fast path. Every string length up to 40, with an escape,
-- a control byte or a high byte at every offset, sits as a key and as a value,
-- at the end of the input and at the end of a lazily decoded member (where
-- the bytes left after it are fewest), through both the eager decoder and
-- the LazyDoc (scanner + member decode).
local core = require("scravio.core")

local function plain(n) -- n bytes of ordinary text, not a repeated byte
  local t = {}
  for i = 1, n do t[i] = string.char(97 + (i * 7) % 26) end
  return table.concat(t)
end

-- What the decoder must accept: JSON text of a string and its value.
local SPECIALS = {
  { json = '\\"', value = '"' },
  { json = "\\\\", value = "\\" },
  { json = "\\n", value = "\n" },
  { json = "\\u00e9", value = "\195\169" },
  { json = "\\ud83d\\ude00", value = "\240\159\152\128" },
  { json = "\127", value = "\127" },
  { json = "\128", value = "\128" },
  { json = "\255", value = "\255" },
  { json = " ", value = " " },     -- 0x20: the first byte that is not a control byte
  { json = "!", value = "!" },     -- 0x21, just below '"'
  { json = "#", value = "#" },     -- 0x23, just above it
  { json = "[", value = "[" },     -- 0x5b, just below '\'
  { json = "]", value = "]" },     -- 0x5d, just above it
  { json = "\220", value = "\220" }, -- 0xdc: '\' with the high bit
  { json = "\162", value = "\162" }, -- 0xa2: '"' with the high bit
  { json = "\159", value = "\159" }, -- 0x9f: a control byte with the high bit
}
-- What it must refuse inside a string.
local BAD = { "\0", "\1", "\31", "\n", "\\x", "\\u12g4" }

local function eager(s) return core.json_decode(s) end
local function lazy_get(s, k)
  local doc = core.lazy_decode(s)
  if not doc then return nil end
  return doc:get(k)
end

describe("JSON string scanning", function()
  it("reads every length and every offset of a special byte alike, as keys and as values", function()
    for n = 0, 40 do
      for o = 0, n do
        for _, sp in ipairs(SPECIALS) do
          local text = plain(o) .. sp.json .. plain(n - o)
          local want = plain(o) .. sp.value .. plain(n - o)
          local where = string.format("length %d, offset %d, %q", n, o, sp.json)
          -- a value, last in the input
          local v = eager('{"k":"' .. text .. '"}')
          assert.equals(want, v and v.k, where)
          assert.equals(want, lazy_get('{"k":"' .. text .. '"}', "k"), where)
          -- a value inside a member the LazyDoc decodes on its own
          local m = lazy_get('{"m":{"k":"' .. text .. '"}}', "m")
          assert.equals(want, m and m.k, where)
          -- a key, eager and inside a lazily decoded member
          local t = eager('{"' .. text .. '":1}')
          assert.equals(1, t and t[want], where)
          local mk = lazy_get('{"m":{"' .. text .. '":2}}', "m")
          assert.equals(2, mk and mk[want], where)
          -- in an array, after an offset that moves the string's alignment
          local a = eager(string.rep(" ", o % 16) .. '["' .. text .. '"]')
          assert.equals(want, a and a[1], where)
        end
      end
    end
  end)

  it("refuses a control byte or a bad escape at every offset, eagerly and lazily", function()
    for n = 0, 33 do
      for o = 0, n do
        for _, bad in ipairs(BAD) do
          local text = plain(o) .. bad .. plain(n - o)
          local where = string.format("length %d, offset %d, %q", n, o, bad)
          assert.is_nil(eager('{"k":"' .. text .. '"}'), where)
          assert.is_nil(core.lazy_decode('{"k":"' .. text .. '"}'), where)
          assert.is_nil(core.lazy_decode('{"' .. text .. '":1}'), where)
          assert.is_nil(core.lazy_decode('{"m":{"k":"' .. text .. '"}}'), where)
        end
      end
    end
  end)

  it("refuses a string the input ends inside, at every length", function()
    for n = 0, 40 do
      local s = '{"k":"' .. plain(n)
      assert.is_nil(eager(s), n)
      assert.is_nil(core.lazy_decode(s), n)
      assert.is_nil(core.lazy_decode(s .. "\\"), n)
    end
  end)
end)

describe("the key cache", function()
  it("tells apart long keys that share their first and last 8 bytes", function()
    for n = 17, 40 do
      local head, tail = plain(8), string.rep("z", 8)
      local mid1, mid2 = string.rep("a", n - 16), string.rep("b", n - 16)
      local k1, k2 = head .. mid1 .. tail, head .. mid2 .. tail
      for _ = 1, 2 do -- the second round hits the cache
        local t1 = assert(eager('{"' .. k1 .. '":1}'))
        local t2 = assert(eager('{"' .. k2 .. '":2}'))
        assert.equals(1, t1[k1], n)
        assert.is_nil(t1[k2], n)
        assert.equals(2, t2[k2], n)
        assert.is_nil(t2[k1], n)
      end
    end
  end)

  it("gives every key its own value when far more keys than slots pass through it", function()
    -- 1,500 distinct keys (the cache has 512 slots): hits, misses, both ways of
    -- a set evicted in turn; each decode must map every key to its own value
    local parts = {}
    for i = 1, 1500 do parts[i] = string.format('"%s%d":%d', plain(i % 23 + 1), i, i) end
    local body = "{" .. table.concat(parts, ",") .. "}"
    for _ = 1, 3 do
      local t = assert(eager(body))
      for i = 1, 1500 do assert.equals(i, t[plain(i % 23 + 1) .. i], i) end
      local m = assert(lazy_get('{"m":' .. body .. "}", "m"))
      for i = 1, 1500, 7 do assert.equals(i, m[plain(i % 23 + 1) .. i], i) end
    end
  end)

  it("tells apart short keys of the same words but another length", function()
    -- "ab" and "\0ab" pack into the same word: only the length differs
    local t = assert(eager('{"ab":1,"\\u0000ab":2}'))
    assert.equals(1, t.ab)
    assert.equals(2, t["\0ab"])
    for n = 1, 16 do
      local k = plain(n)
      local a = assert(eager('{"' .. k .. '":' .. n .. '}'))
      local b = assert(eager('{"' .. k .. '":' .. n .. '}'))
      assert.equals(n, a[k])
      assert.equals(n, b[k])
      assert.equals(nil, next(b, k))
    end
  end)
end)

describe("JSON integers", function()
  local has_int = math.type ~= nil
  local cases = {
    { "0", 0 }, { "-1", -1 }, { "7", 7 },
    { "123456789012345678", 123456789012345678 },   -- 18 digits: the fast path
    { "-123456789012345678", -123456789012345678 },
    { "1234567890123456789", 1234567890123456789 }, -- 19 digits: the full grammar
    { "9223372036854775807", math.maxinteger or 9223372036854775807 },
    { "-9223372036854775808", math.mininteger or -9223372036854775808 },
  }
  it("decode as integers where Lua has them, with the values of the full grammar", function()
    for _, c in ipairs(cases) do
      for _, doc in ipairs({ "[" .. c[1] .. "]", '{"n":' .. c[1] .. "}" }) do
        local v = assert(eager(doc), doc)
        local x = v[1] or v.n
        assert.equals(c[2], x, doc)
        if has_int then assert.equals("integer", math.type(x), doc) end
      end
      local l = lazy_get('{"n":' .. c[1] .. "}", "n")
      assert.equals(c[2], l, c[1])
    end
  end)

  it("leave -0, fractions, exponents and bad numbers to the full grammar", function()
    local z = assert(eager("[-0]"))[1]
    assert.equals(0, z)
    assert.equals(-math.huge, 1 / z) -- negative zero
    if has_int then assert.equals("float", math.type(z)) end
    assert.equals(1.5, eager("[1.5]")[1])
    assert.equals(100.0, eager("[1e2]")[1])
    assert.equals(100.0, eager("[1E2]")[1])
    if has_int then assert.equals("float", math.type(eager("[10e0]")[1])) end
    assert.equals(12345678901234567890, eager("[12345678901234567890]")[1])
    for _, bad in ipairs({ "[01]", "[-]", "[1.]", "[-01]", "[1e]", "[00]", "[1a]" }) do
      assert.is_nil(eager(bad), bad)
      assert.is_nil(core.lazy_decode('{"n":' .. bad:sub(2, -2) .. "}"), bad)
    end
  end)
end)

describe("containers around the decoder's pending limits", function()
  -- Up to 64 array items / 32 object members wait on the Lua stack and the
  -- table is made at the close; past that they go straight into a table.
  it("keep every array item, nulls included, at every length to 200", function()
    for n = 0, 200 do
      local parts = {}
      for i = 1, n do parts[i] = (i % 5 == 0) and "null" or tostring(i) end
      local doc = "[" .. table.concat(parts, ",") .. "]"
      for _, v in ipairs({ eager(doc), lazy_get('{"a":' .. doc .. "}", "a") }) do
        assert.equals(n, #v, n)
        for i = 1, n do
          assert.equals(i % 5 == 0 and core.null or i, v[i], i)
        end
      end
    end
  end)

  it("let a later duplicate win and a later null remove, at every size to 100", function()
    for n = 1, 100 do
      local parts = {}
      for i = 1, n do parts[#parts + 1] = string.format('"k%d":%d', i, i) end
      parts[#parts + 1] = '"k1":"again"'          -- a later duplicate wins
      parts[#parts + 1] = string.format('"k%d":null', n) -- a later null removes
      local doc = "{" .. table.concat(parts, ",") .. "}"
      for _, v in ipairs({ eager(doc), lazy_get('{"o":' .. doc .. "}", "o") }) do
        if n > 1 then assert.equals("again", v.k1, n) end
        assert.is_nil(v["k" .. n], n)
        for i = 2, n - 1 do assert.equals(i, v["k" .. i], n) end
        local count = 0
        for _ in pairs(v) do count = count + 1 end
        assert.equals(n > 1 and n - 1 or 0, count, n)
      end
    end
  end)
end)
