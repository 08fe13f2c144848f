--- A reader for the LuaCATS annotations of types/*.lua: the subset those
-- files use (@meta, @class, @field, @alias with `---|` values, @param,
-- @return, @generic, description lines), read into plain tables.
-- spec/annotations_spec.lua checks the result against the loaded SDK;
-- tools/ldoc_source.lua turns it into LDoc input for `make docs`.
--
--   local cats = require("tools.luacats")
--   local api = cats.read_files({ "types/scravio.lua", ... })
--   api.classes["scravio.Client"].fields[1].name   --> "campaigns"
--   api.classes["scravio.Client"].methods[1].name  --> "me"
--
-- A class: { name, parent, desc, fields = {field...}, field = {name -> field},
--   methods = {fn...}, method = {name -> fn}, file, line }
-- A field: { name, type, optional, desc, line }   (an index field [string]
--   has name nil and key "string")
-- A function: { owner (class name), name, colon, params = {{name, type,
--   optional, desc}...}, returns = {{type, name, desc}...}, desc, args, file, line }
-- An alias: { name, type, values = {{value, desc}...}, desc }
local M = {}

local function trim(s) return (s:gsub("^%s+", ""):gsub("%s+$", "")) end

local OPEN = { ["("] = ")", ["<"] = ">", ["{"] = "}", ["["] = "]" }
local CLOSE = { [")"] = true, [">"] = true, ["}"] = true, ["]"] = true }

--- Read one type expression at s[i]: balanced brackets and quotes, no
-- spaces at depth 0 except after `fun(...)`: its `: A, B` return list.
-- -> type string, next index
function M.read_type(s, i)
  local start, depth = i, 0
  local n = #s
  while i <= n do
    local ch = s:sub(i, i)
    if ch == '"' or ch == "'" then
      local j = s:find(ch, i + 1, true)
      i = (j or n) + 1
    elseif OPEN[ch] then
      depth = depth + 1
      i = i + 1
    elseif CLOSE[ch] and depth > 0 then
      depth = depth - 1
      i = i + 1
      if depth == 0 and ch == ")" and s:sub(start, i - 1):match("fun%b()$") then
        -- fun(...): R1, R2
        local colon = s:match("^%s*:%s*()", i)
        if colon then
          local _, j = M.read_type(s, colon)
          i = j
          while true do
            local comma = s:match("^%s*,%s*()[%w_\"'{(%[]", i)
            if not comma then break end
            _, j = M.read_type(s, comma)
            i = j
          end
        end
      end
    elseif depth > 0 then
      i = i + 1
    elseif ch:match("%s") then
      break
    elseif ch == "," and depth == 0 then
      break
    else
      i = i + 1
    end
  end
  return s:sub(start, i - 1), i
end

--- "name? rest" -> name, optional, rest
local function name_and_rest(s)
  local name, q, rest = s:match("^([%w_%.]+)(%??)%s*(.*)$")
  return name, q == "?", rest
end

local function new_api()
  return { classes = {}, class_order = {}, aliases = {}, alias_order = {}, functions = {}, metas = {} }
end

local function add_class(api, name, parent, desc, file, line)
  local c = api.classes[name]
  if not c then
    c = { name = name, parent = parent, desc = desc, fields = {}, field = {}, methods = {}, method = {},
      file = file, line = line }
    api.classes[name] = c
    api.class_order[#api.class_order + 1] = name
  end
  return c
end

--- Read the annotations of one file's text into api (a new one when nil).
function M.read(text, file, api)
  api = api or new_api()
  local locals = {}       -- local name -> class name
  local desc = {}         -- description lines of the pending block
  local tags = nil        -- the pending block's @param/@return ...
  local class = nil       -- the class the pending @field lines belong to
  local alias = nil
  local lineno = 0

  local function reset()
    desc, tags, class, alias = {}, nil, nil, nil
  end
  local function pending()
    tags = tags or { params = {}, returns = {} }
    return tags
  end

  for line in (text .. "\n"):gmatch("([^\n]*)\n") do
    lineno = lineno + 1
    local doc = line:match("^%s*%-%-%-(.*)$")
    if doc then
      local tag, rest = doc:match("^@(%w+)%s*(.*)$")
      if tag == "meta" then
        api.metas[#api.metas + 1] = { file = file, name = rest:match("^(%S+)") }
      elseif tag == "class" then
        local body = rest:gsub("^%b()%s*", "")
        local name, parent = body:match("^([%w_%.]+)%s*:%s*([%w_%.]+)")
        if not name then name = body:match("^([%w_%.]+)") end
        class = add_class(api, name, parent, trim(table.concat(desc, "\n")), file, lineno)
        desc = {}
      elseif tag == "field" then
        if not class then error(string.format("%s:%d: @field outside a @class", file, lineno)) end
        local f
        local key, after = rest:match("^%[([^%]]+)%]%s*(.*)$")
        if key then
          local t, j = M.read_type(after, 1)
          f = { key = key, type = t, optional = true, desc = trim(after:sub(j)), line = lineno }
        else
          local name, optional, r = name_and_rest(rest)
          if not name then error(string.format("%s:%d: cannot read @field %s", file, lineno, rest)) end
          local t, j = M.read_type(r, 1)
          f = { name = name, type = t, optional = optional, desc = trim(r:sub(j)), line = lineno }
          if class.field[name] then error(string.format("%s:%d: %s.%s annotated twice", file, lineno, class.name, name)) end
          class.field[name] = f
        end
        class.fields[#class.fields + 1] = f
      elseif tag == "alias" then
        local name, r = rest:match("^([%w_%.]+)%s*(.*)$")
        alias = { name = name, type = r ~= "" and r or nil, values = {}, desc = trim(table.concat(desc, "\n")) }
        api.aliases[name] = alias
        api.alias_order[#api.alias_order + 1] = name
        desc = {}
      elseif tag == "param" then
        local name, optional, r = name_and_rest(rest)
        if rest:match("^%.%.%.") then name, optional, r = "...", true, rest:gsub("^%.%.%.%s*", "") end
        local t, j = M.read_type(r, 1)
        local p = pending()
        p.params[#p.params + 1] = { name = name, type = t, optional = optional or t:match("%?$") ~= nil,
          desc = trim(r:sub(j)) }
      elseif tag == "return" then
        local t, j = M.read_type(rest, 1)
        local r = trim(rest:sub(j))
        local name, d = r:match("^([%a_][%w_]*)%s*(.*)$")
        local p = pending()
        p.returns[#p.returns + 1] = { type = t, name = name, desc = name and d or r }
      elseif tag == "generic" or tag == "nodiscard" or tag == "async" or tag == "deprecated" then
        pending()
      elseif tag then
        error(string.format("%s:%d: @%s is not a tag tools/luacats.lua reads", file, lineno, tag))
      elseif doc:match("^|") then
        if not alias then error(string.format("%s:%d: a ---| line outside an @alias", file, lineno)) end
        local body, comment = doc:sub(2):match("^(.-)%s*#%s*(.-)%s*$")
        if not body then body = doc:sub(2) end
        for value in body:gmatch("[^|]+") do
          local v = trim(value)
          if v ~= "" then alias.values[#alias.values + 1] = { value = v } end
        end
        if comment and #alias.values > 0 then alias.values[#alias.values].desc = comment end
      else
        desc[#desc + 1] = trim(doc)
      end
    else
      local lname = line:match("^%s*local%s+([%w_]+)%s*=%s*{%s*}%s*$")
      local owner, sep, fname, args = line:match("^%s*function%s+([%w_]+)([%.:])([%w_]+)%s*(%b())")
      if lname and class then
        locals[lname] = class.name
      elseif owner then
        local cname = locals[owner]
        if not cname then error(string.format("%s:%d: %s is not bound to a @class", file, lineno, owner)) end
        local c = api.classes[cname]
        local p = tags or { params = {}, returns = {} }
        local fn = { owner = cname, name = fname, colon = sep == ":", params = p.params, returns = p.returns,
          desc = trim(table.concat(desc, "\n")), args = args, file = file, line = lineno }
        if c.method[fname] then error(string.format("%s:%d: %s.%s annotated twice", file, lineno, cname, fname)) end
        c.method[fname] = fn
        c.methods[#c.methods + 1] = fn
        api.functions[#api.functions + 1] = fn
      end
      if not line:match("^%s*%-%-") then reset() end
    end
  end
  return api
end

--- Read several files into one api.
function M.read_files(paths)
  local api = new_api()
  for _, path in ipairs(paths) do
    local f = assert(io.open(path, "rb"))
    local text = f:read("*a")
    f:close()
    M.read(text, path, api)
  end
  return api
end

--- The annotation files of a checkout: types/*.lua, sorted (scravio.lua first).
function M.files(dir)
  dir = dir or "types"
  local out = {}
  local p = assert(io.popen("ls " .. dir .. "/*.lua 2>/dev/null"))
  for line in p:lines() do out[#out + 1] = line end
  p:close()
  table.sort(out, function(a, b)
    local sa, sb = a:match("/scravio%.lua$") ~= nil, b:match("/scravio%.lua$") ~= nil
    if sa ~= sb then return sa end
    return a < b
  end)
  return out
end

--- The fields of a class and of its parents, child first. -> {name -> field}
function M.all_fields(api, name)
  local out, seen = {}, {}
  local c = api.classes[name]
  while c and not seen[c.name] do
    seen[c.name] = true
    for _, f in ipairs(c.fields) do
      if f.name and out[f.name] == nil then out[f.name] = f end
    end
    c = c.parent and api.classes[c.parent]
  end
  return out
end

--- Split a type at its top-level `|` (a trailing `?` adds "nil").
function M.alternatives(t)
  local out = {}
  if t:match("^fun%(") then return { t } end -- (its return list may hold a `|`)
  if t:match("%?$") then
    out[#out + 1] = "nil"
    t = t:sub(1, -2)
  end
  local depth, start = 0, 1
  local i = 1
  while i <= #t do
    local ch = t:sub(i, i)
    if ch == '"' or ch == "'" then
      i = (t:find(ch, i + 1, true) or #t)
    elseif OPEN[ch] then depth = depth + 1
    elseif CLOSE[ch] then depth = depth - 1
    elseif ch == "|" and depth == 0 then
      out[#out + 1] = trim(t:sub(start, i - 1))
      start = i + 1
    end
    i = i + 1
  end
  out[#out + 1] = trim(t:sub(start))
  return out
end

local BASIC = {
  ["nil"] = "nil", any = "any", boolean = "boolean", ["true"] = "boolean", ["false"] = "boolean",
  number = "number", integer = "number", string = "string", table = "table", ["function"] = "function",
  userdata = "userdata", lightuserdata = "userdata", thread = "thread",
}

--- The Lua types (type() names) a LuaCATS type admits. -> set, or {any=true}.
-- userdata_classes: class names whose values are userdata (default: table).
function M.lua_types(api, t, userdata_classes, seen)
  local out = {}
  seen = seen or {}
  for _, alt in ipairs(M.alternatives(t)) do
    local base = alt:gsub("%?$", "")
    if BASIC[base] then
      out[BASIC[base]] = true
    elseif base:match("^[\"']") then
      out.string = true
    elseif base:match("^fun%(") then
      out["function"] = true
    elseif base:match("^%u$") then
      out.any = true -- a @generic parameter
    elseif base:match("%[%]$") or base:match("^table<") or base:match("^{") then
      out.table = true
    elseif api.aliases[base] and not seen[base] then
      seen[base] = true
      local a = api.aliases[base]
      local inner = a.type or ""
      for _, v in ipairs(a.values) do inner = inner .. (inner ~= "" and "|" or "") .. v.value end
      for k in pairs(M.lua_types(api, inner, userdata_classes, seen)) do out[k] = true end
    elseif api.classes[base] then
      out[(userdata_classes and userdata_classes[base]) and "userdata" or "table"] = true
    else
      out["?" .. base] = true -- unknown: the caller reports it
    end
  end
  return out
end

return M
