-- What lua-language-server says about code written against types/ (run by
-- tools/luals_check.sh, not by the suite: the server is not packaged in the
-- registries CI reaches). A line ending in `-- expect: CODE` must get that
-- diagnostic; every other line must get none.
local scravio = require("scravio")
local testing = require("scravio.testing")

local client = assert(scravio.new{ api_key = "sk_test", timeout = 5, pace = "strict" })
local c = assert(client.campaigns:get("x", { timeout = 3, headers = { ["X-Trace"] = "1" } }))
assert(c:wait{ timeout = 60, interval = 2, on_progress = function(obj) print(obj.status) end })
assert(c:wait{ timeout = "60" }) -- expect: assign-type-mismatch
-- An unknown key in a table literal is not flagged (lua-language-server 3.19
-- has no such check); the SDK refuses it at run time, naming `timeout`.
assert(c:wait{ timeot = 60 })
print(c.progressPercentage, c.creditSettlement and c.creditSettlement.creditCharged)
print(c.progresPercentage) -- expect: undefined-field
c:wiat() -- expect: undefined-field

local e = assert(c:export{ fileFormat = "csv" })
local url, info = e:download_url()
print(url, info)
local path, bytes = e:download("out.csv", { overwrite = true })
print(path, bytes)

local ok, err = client:me()
if not ok and err then
  print(err.kind, err.status, err.request_id, err.retry_after, err.errors[1] and err.errors[1].param)
  print(err.reqest_id) -- expect: undefined-field
end

for lead in c:leads{ perPage = 100, hasEmail = true } do print(lead.email) end
local page = assert(client.exports:list{ perPage = 10 })
print(page.pagination.totalCount, page.items[1] and page.items[1].exportId)

local srv = testing.start{ frozen = true }
srv:advance(3)
srv:advanc(3) -- expect: undefined-field
srv:stop()
