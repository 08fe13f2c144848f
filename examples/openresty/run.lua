--- Runs the OpenResty example end to end against the bundled fake Scravio
-- server: starts the fake server, starts nginx with examples/openresty/nginx.conf,
-- calls its endpoints with curl, prints what they answer, stops both.
-- Started by run.sh (which builds the module and sets the paths).
local fake = require("spec.support.fake_server")
local ctl = require("spec.openresty.nginx_ctl")

local function show(title, status, body)
  print(("== %s -> HTTP %d"):format(title, status))
  print(body)
end

local srv = fake.start()
local nginx
local ok, err = pcall(function()
  srv:configure{ campaign_seconds = 2 } -- the fake campaign finishes quickly
  nginx = ctl.start{
    template = "examples/openresty/nginx.conf",
    vars = { CA_FILE = srv.ca_file },
    env = { SCRAVIO_API_KEY = srv.api_key, SCRAVIO_BASE_URL = srv.base_url },
  }
  print("nginx (example) on " .. nginx.base .. ", fake Scravio API on " .. srv.base_url)

  show("GET /me", nginx:get("/me"))

  local params = '{"type":"INSTAGRAM_HASHTAG","inputs":{"hashtags":["coffee","espresso"]},"targetEmails":120}'
  local status, body = nginx:post("/campaigns/launch?max_credits=100000", params)
  show("POST /campaigns/launch", status, body)
  local id = body:match('"id"%s*:%s*"([^"]+)"')
  if not id then error("launch did not return a campaign id", 0) end

  status, body = nginx:get("/campaigns/" .. id .. "/leads.csv?wait=1", 180)
  local lines = {}
  for line in body:gmatch("[^\n]+") do lines[#lines + 1] = line end
  print(("== GET /campaigns/%s/leads.csv?wait=1 -> HTTP %d, %d leads; the first rows:"):format(
    id, status, math.max(#lines - 1, 0)))
  for i = 1, math.min(#lines, 6) do print(lines[i]) end

  show("POST /campaigns/launch over budget", nginx:post("/campaigns/launch?max_credits=1", params))
  if status ~= 200 or #lines < 2 then error("the leads CSV did not arrive", 0) end
end)
if nginx then nginx:stop() end
srv:stop()
if not ok then
  io.stderr:write("example failed: " .. tostring(err) .. "\n")
  os.exit(1)
end
print("ok: the example ran; nginx and the fake server are stopped")
