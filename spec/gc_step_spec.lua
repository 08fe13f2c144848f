-- The GC step of list iteration (lua/scravio/pagination.lua): a decoded page
-- is garbage once its items are handed out, and a step per page keeps a long
-- iteration from holding several pages. Under PUC Lua a step is cheap and
-- comes once per page, sized by the page; under LuaJIT a step works until the
-- GC's debt is paid whatever its size (17% of a 100-lead page's instructions
-- inside an nginx worker, bench/README.md), so there it comes once per
-- ~1,000 items. Counted by wrapping collectgarbage, never timed.
local H = require("spec.support.helpers")

local JIT = rawget(_G, "jit") ~= nil

describe("list iteration's GC step", function()
  local srv, client, real

  setup(function() srv = H.start() end)
  teardown(function() if srv then srv:stop() end end)
  before_each(function()
    srv:reset()
    client = H.client(srv)
    real = collectgarbage
  end)
  after_each(function()
    _G.collectgarbage = real
    if client then client:close() end
  end)

  -- Iterate every lead of a campaign with `leads` leads, perPage = per_page;
  -- -> the leads seen, the sizes of the GC steps taken meanwhile.
  local function walk(leads, per_page)
    local id = srv:seed_campaign({ status = "fully_completed", leads = leads })
    local c = assert(client.campaigns:get(id))
    local steps = {}
    _G.collectgarbage = function(what, n, ...)
      if what == "step" then steps[#steps + 1] = n end
      return real(what, n, ...)
    end
    local seen = 0
    for _ in c:leads({ perPage = per_page }) do seen = seen + 1 end
    _G.collectgarbage = real
    return seen, steps
  end

  it("steps once per page under PUC Lua, once per ~1,000 items under LuaJIT", function()
    local seen, steps = walk(250, 50) -- 5 pages of 50
    assert.equals(250, seen)
    if JIT then
      assert.same({}, steps) -- 250 items: not yet 1,000
    else
      assert.same({ 50, 50, 50, 50, 50 }, steps)
    end
  end)

  it("under LuaJIT, the step comes with the page that reaches 1,000 items, sized by the items since the last", function()
    local seen, steps = walk(1300, 400) -- pages of 400, 400, 400, 100
    assert.equals(1300, seen)
    if JIT then
      assert.same({ 1200 }, steps)
    else
      assert.same({ 400, 400, 400, 100 }, steps)
    end
  end)
end)
