-- The C download primitive's file handling (csrc/transport.c
-- open_for_download): the file is written from its start without O_TRUNC
-- at open (ext4 flushes a file truncated at open when it is closed, 0.7 s
-- for 1 GiB: bench/README.md), so a file that already has bytes is cut
-- explicitly; the bytes on disk are exactly the download's.
local H = require("spec.support.helpers")
require("scravio.workflows")

describe("the C download primitive", function()
  local srv, client, dir

  setup(function() srv = H.start() end)
  teardown(function() if srv then srv:stop() end end)
  before_each(function()
    srv:reset()
    client = H.client(srv)
    H.fake_clock(client, { srv = srv })
    dir = H.tmpdir()
  end)
  after_each(function() H.rmdir(dir) end)

  local function export_url()
    local campaign = assert(client.campaigns:create({ title = "dl", type = "INSTAGRAM_HASHTAG",
      inputs = { hashtag = "fitness" }, targetEmails = 40 }))
    srv:advance(3600)
    assert(campaign:refresh())
    local e = assert(campaign:export{ fileFormat = "csv" })
    srv:advance(3600)
    assert(e:wait{ timeout = 0 })
    return assert(e:download_url())
  end

  it("writes a new file, an empty one, and a longer one to exactly the downloaded bytes", function()
    local url = export_url()
    local want
    for _, before in ipairs({ false, "", string.rep("x", 300000) }) do
      local path = dir .. "/raw.csv"
      os.remove(path)
      if before then H.write_file(path, before) end
      local bytes = assert(client._core:download(url, path))
      local data = assert(H.read_file(path))
      assert.equals(bytes, #data)
      assert.is_nil(data:find("xxx", 1, true))
      want = want or data
      assert.equals(want, data)
    end
    assert.truthy(want:find("email", 1, true))
  end)

  it("reports a file it cannot open as kind io, creating nothing", function()
    local url = export_url()
    local ok, err = client._core:download(url, dir .. "/no-such-dir/raw.csv")
    assert.is_nil(ok)
    assert.equals("io", err.kind)
    assert.same({}, H.listdir(dir))
  end)
end)
