--- README "Security" and "Reliability": one line per promise, each naming
-- the spec that proves it. Those names must stay true as specs move: every
-- promise line names at least one spec, and every spec named exists.
local function read(path)
  local f = assert(io.open(path, "rb"))
  local s = f:read("*a")
  f:close()
  return s
end

local function section(text, title)
  local start = assert(text:find("\n## " .. title .. "\n", 1, true), "README has no section " .. title)
  local stop = text:find("\n## ", start + 1, true) or #text
  return text:sub(start, stop)
end

describe("README promises", function()
  local readme = read("README.md")

  for _, title in ipairs({ "Security", "Reliability" }) do
    it(title .. ": every promise line names specs that exist", function()
      local body = section(readme, title)
      local promised = body:match("^(.-)\nNot promised:") or body
      local lines = 0
      for line in promised:gmatch("\n%- %*%*[^\n]+") do
        lines = lines + 1
        local named = 0
        for path in line:gmatch("(spec/[%w_/%.%-]+%.lua)") do
          named = named + 1
          local f = io.open(path, "rb")
          assert(f, title .. ": " .. path .. " does not exist (named in: " .. line:sub(2, 60) .. "...)")
          f:close()
        end
        assert(named > 0, title .. ": a promise names no spec: " .. line:sub(2, 80))
      end
      assert(lines >= 10, title .. ": only " .. lines .. " promise lines found")
      assert(body:find("\nNot promised:\n", 1, true), title .. " says nothing of what is not promised")
    end)
  end
end)
