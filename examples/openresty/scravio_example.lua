--- Request handlers for examples/openresty/nginx.conf: the Scravio SDK
-- inside nginx. Every SDK call here yields to nginx while it waits for the
-- API (cosockets), so one worker serves many of these requests at once.
local ngx = rawget(_G, "ngx")
local scravio = require("scravio")

local M = {}

-- One client per worker, created on first use and shared by all requests:
-- it holds configuration only, and its connections live in nginx's
-- cosocket pool.
local client

local function get_client()
  if client then return client end
  local c, err = scravio.new{
    -- api_key and base_url come from SCRAVIO_API_KEY / SCRAVIO_BASE_URL
    -- (declared with `env` in nginx.conf).
    timeout = 30,
    max_retries = 2,
  }
  if not c then return nil, err end
  client = c
  return client
end

local function send_json(status, value)
  ngx.status = status
  ngx.header["Content-Type"] = "application/json"
  ngx.say(scravio.json.encode(value))
end

-- An SDK error as an HTTP answer: the API's status when there is one.
local function send_error(err)
  local status = 502
  if err.kind == "invalid" or err.kind == "budget" or err.kind == "cancelled" then status = 400
  elseif err.kind == "rate_limited" then status = 429
  elseif err.kind == "timeout" then status = 504
  elseif err.status and err.status >= 400 and err.status < 500 then status = err.status end
  send_json(status, { error = { kind = err.kind, code = err.code, message = err.message,
    request_id = err.request_id } })
end

--- GET /me -> the account's credits
function M.me()
  local c, err = get_client()
  if not c then return send_error(err) end
  local me, merr = c:me()
  if not me then return send_error(merr) end
  send_json(200, { email = me.email, credits = me.credits })
end

--- POST /campaigns/launch[?max_credits=N] with the campaign's parameters.
function M.launch()
  local c, err = get_client()
  if not c then return send_error(err) end
  ngx.req.read_body()
  local params = scravio.json.decode(ngx.req.get_body_data() or "")
  if type(params) ~= "table" then
    return send_json(400, { error = { kind = "invalid", message = "send the campaign parameters as a JSON object" } })
  end
  if type(c.campaigns.launch) ~= "function" then
    return send_json(501, { error = { message = "client.campaigns:launch is not available in this build" } })
  end
  local max_credits = tonumber(ngx.var.arg_max_credits)
  -- preview, budget and balance check, then create: nothing is created when refused
  local campaign, preview = c.campaigns:launch(params, { max_credits = max_credits })
  if not campaign then return send_error(preview) end
  send_json(201, { id = campaign.id, status = campaign.status, creditReserved = preview and preview.creditReserved })
end

local function csv_field(v)
  if v == nil or v == scravio.null then return "" end
  local s = tostring(v)
  if s:find('[,"\r\n]') then s = '"' .. s:gsub('"', '""') .. '"' end
  return s
end

local COLUMNS = { "username", "fullName", "email", "platform", "followerCount" }

--- GET /campaigns/{id}/leads.csv[?wait=1] -> text/csv, streamed
function M.leads_csv(id)
  local c, err = get_client()
  if not c then return send_error(err) end
  local campaign, gerr = c.campaigns:get(id)
  if not campaign then return send_error(gerr) end
  if ngx.var.arg_wait == "1" and type(campaign.wait) == "function" then
    -- Polls with ngx.sleep between refreshes: other requests keep flowing.
    local done, werr = campaign:wait{ timeout = 120, interval = 1 }
    if not done then return send_error(werr) end
  end
  -- Headers go out before the first lead is fetched, so an error after this
  -- point can only cut the body short (the client sees a truncated CSV).
  ngx.status = 200
  ngx.header["Content-Type"] = "text/csv; charset=utf-8"
  ngx.header["Content-Disposition"] = 'attachment; filename="' .. id .. '-leads.csv"'
  ngx.print(table.concat(COLUMNS, ","), "\n")
  local rows, n = {}, 0
  local ok, ierr = pcall(function()
    for lead in campaign:leads{ perPage = 100 } do
      local row = {}
      for i, col in ipairs(COLUMNS) do row[i] = csv_field(lead[col]) end
      n = n + 1
      rows[#rows + 1] = table.concat(row, ",")
      if #rows == 100 then
        ngx.print(table.concat(rows, "\n"), "\n")
        ngx.flush(true) -- send this page before fetching the next
        rows = {}
      end
    end
  end)
  if #rows > 0 then ngx.print(table.concat(rows, "\n"), "\n") end
  if not ok then
    ngx.log(ngx.ERR, "leads of ", id, " cut short after ", n, " rows: ", tostring(ierr))
    return ngx.exit(ngx.ERROR) -- abort the response: never pass off a partial file as complete
  end
end

return M
