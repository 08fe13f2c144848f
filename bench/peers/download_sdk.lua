--- 3. A download through the SDK, streamed to disk: export:download(path)
-- when the Export object has it, else the C primitive client._core:download.
--   lua5.4 download_sdk.lua BASE_URL API_KEY EXPORT_ID FILE_URL OUT_PATH
local util = require("util")
local scravio = require("scravio")
local core = require("scravio.core")

local base, key, export_id, file_url, out = arg[1], arg[2], arg[3], arg[4], arg[5]
local client = assert(scravio.new { api_key = key, base_url = base, max_retries = 0 })
local Export = core.methods.Export

collectgarbage("collect")
local rss_start = util.rss_kb()
util.reset_peak()
local via
local t0 = util.now()
local ok, err
if type(Export.download) == "function" then
  via = "export:download"
  local export = core.wrap("Export", { exportId = export_id, status = "completed" }, client)
  ok, err = export:download(out)
else
  via = "client._core:download"
  ok, err = client._core:download(file_url, out)
end
local dt = util.now() - t0
if not ok then error(tostring(err)) end
local f = assert(io.open(out, "rb"))
local size = f:seek("end")
f:close()
util.result {
  via = via, bytes = size, seconds = dt, mb_per_s = size / dt / 1048576,
  rss_start_kb = rss_start, rss_peak_kb = util.peak_kb() or util.rss_kb(), rss_end_kb = util.rss_kb(),
}
