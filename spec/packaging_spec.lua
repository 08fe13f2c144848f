-- The rock installs what the repository has: every Lua module and C source is
-- listed in the rockspec, and everything listed exists.
describe("rockspec", function()
  local function read(path)
    local f = assert(io.open(path, "rb"))
    local s = f:read("*a")
    f:close()
    return s
  end

  local spec = read("scravio-0.1.0-1.rockspec")

  local function files(pattern_cmd)
    local out = {}
    local p = assert(io.popen(pattern_cmd))
    for line in p:lines() do out[#out + 1] = line end
    p:close()
    return out
  end

  it("lists every Lua module under its require name", function()
    for _, f in ipairs(files("find lua -name '*.lua' | sort")) do
      local name = f:gsub("^lua/", ""):gsub("/init%.lua$", ""):gsub("%.lua$", ""):gsub("/", ".")
      assert.truthy(spec:find('["' .. name .. '"] = "' .. f .. '"', 1, true), f .. " is not in the rockspec")
    end
  end)

  it("compiles every C source", function()
    for _, f in ipairs(files("ls csrc/*.c")) do
      assert.truthy(spec:find('"' .. f .. '"', 1, true), f .. " is not in the rockspec")
    end
  end)

  it("lists nothing that does not exist", function()
    for f in spec:gmatch('"((%w+)/[^"]+%.[ch%a]+)"') do
      if f:match("^lua/") or f:match("^csrc/") then
        assert.truthy(io.open(f, "rb"), f .. " is listed but missing")
      end
    end
  end)
end)
