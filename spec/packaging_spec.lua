-- The rock installs what the repository has: every Lua module and C source is
-- listed in the rockspec, and everything listed exists.
describe("rockspec", function()
  local function read(path)
    local f = assert(io.open(path, "rb"))
    local s = f:read("*a")
    f:close()
    return s
  end

  local function files(pattern_cmd)
    local out = {}
    local p = assert(io.popen(pattern_cmd))
    for line in p:lines() do out[#out + 1] = line end
    p:close()
    return out
  end

  local rockspecs = files("ls scravio-*.rockspec")
  local spec = read(rockspecs[1])
  -- the rockspec as LuaRocks reads it: a Lua file of global assignments
  local rock = {}
  local chunk = assert((loadstring or load)(spec, "=rockspec", "t", rock))
  if setfenv then setfenv(chunk, rock) end
  chunk()

  it("is the only rockspec, and its name, version and tag follow csrc/scravio.h", function()
    assert.are.equal(1, #rockspecs, table.concat(rockspecs, " "))
    local version = read("csrc/scravio.h"):match('#define SCV_VERSION "([^"]+)"')
    assert.truthy(version)
    assert.are.equal("scravio-" .. version .. "-1.rockspec", rockspecs[1])
    assert.are.equal(version .. "-1", rock.version)
    assert.are.equal("v" .. version, rock.source.tag)
    assert.are.equal(version, require("scravio").version)
    assert.are.equal("scravio-lua " .. version, require("scravio")._VERSION)
    -- the Makefile reads it from the header rather than repeating it
    local makefile = read("Makefile")
    assert.truthy(makefile:find("VERSION     := $(shell sed -n 's/^\\#define SCV_VERSION", 1, true))
    assert.is_nil(makefile:match("\nVERSION%s*:?=%s*%d"))
    -- the changelog's newest entry is this version
    assert.are.equal(version, read("CHANGELOG.md"):match("\n## (%d+%.%d+%.%d+)"))
  end)

  it("ships the license it declares, the docs and the README, not the maintainers' notes", function()
    assert.are.equal("MIT", rock.description.license)
    assert.truthy(read("LICENSE"):find("^MIT License"))
    local copied = {}
    for _, d in ipairs(rock.build.copy_directories or {}) do copied[d] = true end
    assert.is_true(copied.docs, "docs/ is the rock's documentation")
    assert.is_nil(copied["."], "copying the whole checkout would ship NOTES.md")
    assert.truthy(io.open("docs/API.md", "rb"))
    assert.are.same({ ["README.md"] = "README.md", LICENSE = "LICENSE", ["CHANGELOG.md"] = "CHANGELOG.md" },
      rock.build.install.conf)
    assert.is_nil(spec:find('"NOTES.md"', 1, true))
  end)

  it("ships the test kit: scravio.testing, the whole fake server and scravio-fake", function()
    local modules = rock.build.modules
    assert.are.equal("spec/support/fake_server.lua", modules["scravio.testing.fake_server"])
    for _, f in ipairs(files("ls spec/support/fake/*.lua")) do
      local name = f:match("([%w_]+)%.lua$")
      assert.are.equal(f, modules["scravio.testing.fake." .. name], f .. " is not in the rockspec")
    end
    assert.are.equal("spec/support/fake/nginx.conf.tmpl", rock.build.install.lua["scravio.testing.fake.nginx_conf"])
    assert.are.equal("bin/scravio-fake", rock.build.install.bin["scravio-fake"])
  end)

  it("runs the busted suite for luarocks test", function()
    assert.are.equal("command", rock.test.type)
    assert.truthy(io.open(rock.test.script, "rb"), rock.test.script)
    assert.truthy(read(rock.test.script):find("run_suite.sh", 1, true))
  end)

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
