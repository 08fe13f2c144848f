--- `make docs`: the LuaCATS annotations of types/*.lua rewritten as LDoc
-- input (LDoc 1.4 does not read LuaCATS tags), so the HTML reference says
-- what the editor says, from the same comments.
--
--   lua5.4 tools/ldoc_source.lua OUT.lua [types/a.lua ...]
--
-- One module, `scravio`: its functions; a class section per class with
-- methods (client, services, objects; their fields as a table); then the
-- option tables, the parameter and query tables, the API objects, the
-- error object and the named types (aliases), each as a table of fields.
package.path = "./?.lua;" .. package.path
local cats = require("tools.luacats")

local out_path = assert(arg[1], "usage: ldoc_source.lua OUT.lua [types/*.lua ...]")
local files = { (table.unpack or unpack)(arg, 2) } -- luacheck: ignore 143
if #files == 0 then files = cats.files("types") end
local api = cats.read_files(files)

local lines = {}
local function emit(s) lines[#lines + 1] = s end

-- LDoc reads a type as one word: no spaces; `T?` is written `?T`.
-- String literals lose their quotes (LDoc's type parser takes no quotes).
local function ldoc_type(t)
  -- A `?` inside (a fun type's `string?`) would make LDoc read the whole
  -- type as optional and empty: only a trailing one is kept, as `?T`.
  t = t:gsub("%s+", ""):gsub("[\"']", "")
  local optional = t:match("%?$") and not t:match("^fun%(")
  t = t:gsub("%?", "")
  return optional and ("?" .. t) or t
end

local function comment(text, first)
  local prefix = first and "--- " or "-- "
  if text == nil or text == "" then text = "(undocumented)" end
  for l in (text .. "\n"):gmatch("([^\n]*)\n") do
    emit(prefix .. l)
    prefix = "-- "
  end
end

local function short(name) return (name:gsub("^scravio%.", "")) end

local function fields_of(c)
  for _, f in ipairs(c.fields) do
    local name = f.name or ("[" .. f.key .. "]")
    emit(string.format("-- @tfield%s %s %s %s", f.optional and "[opt]" or "", ldoc_type(f.type:gsub("%?$", "")),
      name, f.desc ~= "" and f.desc or ""))
  end
end

local function functions_of(c, owner)
  for _, m in ipairs(c.methods) do
    comment(m.desc, true)
    for _, p in ipairs(m.params) do
      emit(string.format("-- @tparam%s %s %s %s", p.optional and "[opt]" or "", ldoc_type(p.type:gsub("%?$", "")),
        p.name, p.desc))
    end
    for _, r in ipairs(m.returns) do
      emit(string.format("-- @treturn %s %s", ldoc_type(r.type),
        ((r.name or "") .. " " .. (r.desc or "")):gsub("^%s+", "")))
    end
    local args = m.args:sub(2, -2)
    emit(string.format("function %s%s%s(%s) end", owner, m.colon and ":" or ".", m.name, args))
    emit("")
  end
end

local module = api.classes["scravio"]
comment(module.desc .. "\n\nThis reference is generated from the LuaCATS annotations in types/ "
  .. "(the same ones lua-language-server reads).", true)
emit("-- @module scravio")
emit("local scravio = {}")
emit("")
functions_of(module, "scravio")
comment("The module's values.", true)
emit("-- @table scravio")
fields_of(module)
emit("")

-- Classes with methods: a section each.
for _, name in ipairs(api.class_order) do
  local c = api.classes[name]
  if name ~= "scravio" and #c.methods > 0 then
    local var = short(name):gsub("%.", "_")
    comment(c.desc, true)
    emit("-- @type " .. name)
    emit("local " .. var .. " = {}")
    emit("")
    functions_of(c, var)
    if #c.fields > 0 then
      comment("The fields of " .. name .. ".", true)
      emit("-- @table fields")
      fields_of(c)
      emit("")
    end
  end
end

local SECTIONS = {
  { id = "options", title = "Option tables (the SDK's own options: an unknown key is refused)",
    match = function(n) return n:match("Options$") end },
  { id = "params", title = "Parameters and queries: the API's field names",
    match = function(n) return n:match("Params$") or n:match("Query$") or n:match("Inputs$") end },
  { id = "errors", title = "Errors",
    match = function(n) return n:match("Error") end },
  { id = "objects", title = "API objects and results", match = function() return true end },
}

local placed = {}
for _, section in ipairs(SECTIONS) do
  comment(section.title, true)
  emit("-- @section " .. section.id)
  emit("")
  for _, name in ipairs(api.class_order) do
    local c = api.classes[name]
    if not placed[name] and name ~= "scravio" and #c.methods == 0 and section.match(name) then
      placed[name] = true
      local text = c.desc
      if c.parent then text = text .. "\n(Also every field of " .. c.parent .. ".)" end
      comment(text, true)
      emit("-- @table " .. name)
      fields_of(c)
      emit("")
    end
  end
end

comment("Named types: the values a string field takes.", true)
emit("-- @section types")
emit("")
for _, name in ipairs(api.alias_order) do
  local a = api.aliases[name]
  comment(a.desc ~= "" and a.desc or ("The values of " .. name .. "."), true)
  emit("-- @table " .. name)
  if a.type then
    for _, v in ipairs(cats.alternatives(a.type)) do emit("-- @field " .. v:gsub('"', "") .. " ") end
  end
  for _, v in ipairs(a.values) do emit("-- @field " .. v.value:gsub('"', "") .. " " .. (v.desc or "")) end
  emit("")
end
emit("return scravio")

local f = assert(io.open(out_path, "wb"))
f:write(table.concat(lines, "\n"), "\n")
f:close()
