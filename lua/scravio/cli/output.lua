--- Output of the `scravio` command: one object, or a stream of them, as a
-- human table (the default on a terminal), JSON (one document), JSON Lines,
-- CSV (RFC 4180) or TSV. stdout carries nothing but that data.
--
-- Streams are written as they come: a list writer holds at most one batch
-- of table rows (to size the columns), never the whole list, so a million
-- leads go through in constant memory. Column order is stable: --fields as
-- given, else the resource's documented columns (COLUMNS below); JSON
-- objects without --fields carry every field, keys sorted.
local scravio = require("scravio")

local M = {}

local json_encode = scravio.json.encode
local null = scravio.null

M.FORMATS = { "table", "json", "jsonl", "csv", "tsv" }

-- The columns a CSV/TSV row has when --fields is not given (all documented
-- scalar fields, in the reference's order), and the shorter set a table
-- shows on a terminal.
M.COLUMNS = {
  campaigns = {
    csv = { "_id", "title", "type", "status", "progressPercentage", "targetEmails", "emailScanCount",
      "profileScannedCount", "enableEmailValidation", "createdAt", "updatedAt", "finishedAt" },
    table = { "_id", "title", "type", "status", "progressPercentage", "targetEmails", "createdAt" },
  },
  leads = {
    csv = { "_id", "campaignId", "platform", "sourceType", "username", "fullName", "email", "emailSource",
      "phoneNumber", "followerCount", "followingCount", "mediaCount", "externalUrl", "isPrivate", "isVerified",
      "isBusiness", "country", "cityName", "keyword", "emailValidation.status", "scrapedAt" },
    table = { "username", "fullName", "email", "emailSource", "platform", "followerCount", "country" },
  },
  exports = {
    csv = { "exportId", "campaignId", "status", "progress", "fileFormat", "isEmailOnly", "onlyValidEmails",
      "createdAt", "completedAt" },
    table = { "exportId", "campaignId", "status", "progress", "fileFormat", "createdAt" },
  },
  jobs = {
    csv = { "jobId", "status", "totalEmails", "processedCount", "validCount", "invalidCount", "createdAt",
      "completedAt" },
    table = { "jobId", "status", "totalEmails", "processedCount", "validCount", "invalidCount", "createdAt" },
  },
  credits = {
    csv = { "id", "timestamp", "type", "amount", "balanceBefore", "balanceAfter", "description", "campaignId" },
    table = { "timestamp", "type", "amount", "balanceAfter", "description" },
  },
}

M.TABLE_BATCH = 100 -- rows that size a table's columns (later rows are cut to fit)
M.MAX_CELL = 40     -- widest table cell in a list
M.MAX_VALUE = 100   -- widest value in a one-object table

--- The format to use: --json, else --format, else a table on a terminal,
-- JSON Lines for a list and JSON for one object in a pipe.
function M.choose(args, is_list, stdout_tty)
  if args.json then return "json" end
  if args.format then return args.format end
  if stdout_tty then return "table" end
  return is_list and "jsonl" or "json"
end

--- "a,b.c" -> {"a", "b.c"} (nil for nil)
function M.parse_fields(s)
  if s == nil then return nil end
  local out = {}
  for f in s:gmatch("[^,]+") do
    f = f:gsub("^%s+", ""):gsub("%s+$", "")
    if f ~= "" then out[#out + 1] = f end
  end
  return #out > 0 and out or nil
end

--- A plain table for an SDK object (Campaign, ValidationJob, Export userdata).
function M.plain(obj)
  if scravio.kind(obj) then return obj:data() end
  return obj
end

--- The value at a dotted path ("emailValidation.status"); nil when absent.
function M.get(obj, path)
  local v = obj
  for part in path:gmatch("[^.]+") do
    if type(v) ~= "table" then return nil end
    v = v[part]
  end
  if v == null then return nil end
  return v
end

--- A getter for one field: function(obj) -> value (what M.get answers),
-- with the path split once rather than on every row of a long stream.
function M.getter(path)
  if not path:find(".", 1, true) then
    return function(obj)
      local v = obj[path]
      if v == null then return nil end
      return v
    end
  end
  return function(obj) return M.get(obj, path) end
end

--- A value as text for CSV/TSV/table: "" for nil/null, numbers exactly,
-- nested objects and arrays as compact JSON.
function M.text(v)
  if v == nil or v == null then return "" end
  local t = type(v)
  if t == "string" then return v end
  if t == "boolean" then return tostring(v) end
  if t == "number" or t == "table" then return (json_encode(v)) or tostring(v) end
  return tostring(v)
end

function M.csv_cell(s)
  if s:find('[,"\r\n]') then return '"' .. s:gsub('"', '""') .. '"' end
  return s
end

-- TSV has no quoting: tab, newline, carriage return and backslash are
-- written as \t \n \r \\ (the "text" convention of PostgreSQL COPY).
local TSV_ESCAPES = { ["\t"] = "\\t", ["\n"] = "\\n", ["\r"] = "\\r", ["\\"] = "\\\\" }
function M.tsv_cell(s)
  return (s:gsub("[\t\n\r\\]", TSV_ESCAPES))
end

--- One object as JSON with these fields in this order (missing ones null).
function M.ordered_json(obj, fields)
  local parts = {}
  for i, f in ipairs(fields) do
    local v = M.get(obj, f)
    parts[i] = json_encode(f) .. ":" .. (v == nil and "null" or json_encode(v))
  end
  return "{" .. table.concat(parts, ",") .. "}"
end

local function encode(obj, fields)
  if fields then return M.ordered_json(obj, fields) end
  local s, err = json_encode(obj)
  if s == nil then error(scravio.error("decode", "cannot encode the answer as JSON: " .. tostring(err)), 0) end
  return s
end

-- Display width of a UTF-8 string (code points; good enough for a table).
local function width(s)
  local _, n = s:gsub("[^\128-\191]", "")
  return n
end

local function cut(s, w)
  s = s:gsub("[%c]", " ")
  if width(s) <= w then return s end
  -- keep w-1 code points, then an ellipsis
  local out, n = {}, 0
  for ch in s:gmatch("[%z\1-\127\194-\244][\128-\191]*") do
    if n >= w - 1 then break end
    out[#out + 1] = ch
    n = n + 1
  end
  return table.concat(out) .. "…"
end

local function pad(s, w)
  return s .. string.rep(" ", w - width(s))
end

--- stream, with every write and flush checked: a full disk or a closed
-- file must not end as exit 0 with half the data (kind "io", raised).
local Checked = {}
Checked.__index = Checked

local function io_failed(err)
  error(scravio.error("io", "cannot write the output: " .. tostring(err), { retryable = false }), 0)
end

function Checked:write(...)
  local ok, err = self.stream:write(...)
  if not ok then io_failed(err) end
  return self
end

function Checked:flush()
  local ok, err = self.stream:flush()
  if not ok then io_failed(err) end
  return self
end

function M.checked(stream)
  if getmetatable(stream) == Checked then return stream end
  return setmetatable({ stream = stream or io.stdout }, Checked)
end

-- ---- list writers ------------------------------------------------------------

local List = {}
List.__index = List

--- M.list(fmt, fields, stream) -> writer with :row(obj) and :finish()
-- fields: the columns (required for csv/tsv/table; optional for json/jsonl).
function M.list(fmt, fields, stream)
  local w = setmetatable({ fmt = fmt, fields = fields, out = M.checked(stream), n = 0, batch = {} }, List)
  if fields then
    w.getters = {}
    for i, f in ipairs(fields) do w.getters[i] = M.getter(f) end
  end
  if fmt == "csv" or fmt == "tsv" then
    local cell = fmt == "csv" and M.csv_cell or M.tsv_cell
    local sep = fmt == "csv" and "," or "\t"
    local head = {}
    for i, f in ipairs(fields) do head[i] = cell(f) end
    w.cell, w.sep = cell, sep
    w.out:write(table.concat(head, sep), fmt == "csv" and "\r\n" or "\n")
  elseif fmt == "json" then
    w.out:write("[")
  end
  return w
end

function List:row(obj)
  obj = M.plain(obj)
  self.n = self.n + 1
  if self.seen then -- (--fields given: which of them any record has)
    for i, get in ipairs(self.getters) do
      if not self.seen[i] and get(obj) ~= nil then self.seen[i] = true end
    end
  end
  local fmt = self.fmt
  if fmt == "jsonl" then
    self.out:write(encode(obj, self.fields), "\n")
  elseif fmt == "json" then
    self.out:write(self.n > 1 and ",\n" or "\n", encode(obj, self.fields))
  elseif fmt == "csv" or fmt == "tsv" then
    local cells, cell, text = {}, self.cell, M.text
    for i, get in ipairs(self.getters) do cells[i] = cell(text(get(obj))) end
    self.out:write(table.concat(cells, self.sep), fmt == "csv" and "\r\n" or "\n")
  else -- table
    local cells = {}
    for i, get in ipairs(self.getters) do cells[i] = M.text(get(obj)) end
    if self.widths then
      self:draw(cells)
    else
      self.batch[#self.batch + 1] = cells
      if #self.batch >= M.TABLE_BATCH then self:flush_batch() end
    end
  end
end

-- Size the columns from the header and the first batch, then draw it.
function List:flush_batch()
  local widths = {}
  for i, f in ipairs(self.fields) do widths[i] = math.min(width(f), M.MAX_CELL) end
  for _, cells in ipairs(self.batch) do
    for i, c in ipairs(cells) do
      local cw = math.min(width((c:gsub("%c", " "))), M.MAX_CELL)
      if cw > widths[i] then widths[i] = cw end
    end
  end
  self.widths = widths
  local head = {}
  for i, f in ipairs(self.fields) do head[i] = f:upper() end
  self:draw(head)
  for _, cells in ipairs(self.batch) do self:draw(cells) end
  self.batch = {}
end

function List:draw(cells)
  local line = {}
  for i, c in ipairs(cells) do
    local s = cut(c, self.widths[i])
    line[i] = i < #cells and pad(s, self.widths[i]) or s
  end
  self.out:write(table.concat(line, "  "), "\n")
end

--- The --fields no record had (a misspelt name prints as an empty column,
-- or null, on every row), when :track(on_absent) was asked.
function List:track(on_absent)
  if self.getters then self.seen, self.on_absent = {}, on_absent end
  return self
end

function List:finish()
  if self.seen and self.n > 0 then
    local absent = {}
    for i, f in ipairs(self.fields) do if not self.seen[i] then absent[#absent + 1] = f end end
    if #absent > 0 then self.on_absent(absent, self.n) end
  end
  if self.fmt == "json" then
    self.out:write(self.n > 0 and "\n]\n" or "]\n")
  elseif self.fmt == "table" and not self.widths then
    self:flush_batch()
  end
  self.out:flush()
  return self.n
end

-- ---- one object ------------------------------------------------------------------

--- M.object(fmt, obj, fields, stream): one object (an account, a campaign ...).
-- A table is two columns, field and value; CSV/TSV a header and one row
-- (every top-level field, sorted, when --fields is not given).
function M.object(fmt, obj, fields, stream)
  obj = M.plain(obj)
  local out = M.checked(stream)
  if type(obj) ~= "table" then
    if fmt == "table" then out:write(M.text(obj), "\n") else out:write(json_encode(obj) or "null", "\n") end
    out:flush()
    return
  end
  if fmt == "json" then
    out:write(encode(obj, fields), "\n")
    out:flush()
    return
  end
  if not fields then
    fields = {}
    for k in pairs(obj) do if type(k) == "string" then fields[#fields + 1] = k end end
    table.sort(fields)
  end
  if fmt == "table" then
    local w = 0
    for _, f in ipairs(fields) do if width(f) > w then w = width(f) end end
    for _, f in ipairs(fields) do
      out:write(pad(f, w), "  ", cut(M.text(M.get(obj, f)), M.MAX_VALUE), "\n")
    end
    out:flush()
    return
  end
  local writer = M.list(fmt, fields, out)
  writer:row(obj)
  writer:finish()
end

return M
