#!/bin/sh
# lua-language-server --check against types/: tools/luals_probe.lua gets
# exactly the diagnostics its `-- expect:` comments name, and examples/*.lua
# none. For maintainers with lua-language-server on PATH (neither Debian nor
# the npm registry packages it; the suite checks the annotations with
# spec/annotations_spec.lua instead).
set -eu
cd "$(dirname "$0")/.."
LUALS=${LUALS:-lua-language-server}
command -v "$LUALS" >/dev/null || { echo "luals_check: $LUALS is not on PATH (LUALS=/path/to/lua-language-server)"; exit 2; }
ws=$(mktemp -d)
trap 'rm -rf "$ws"' EXIT
mkdir -p "$ws/types" "$ws/examples"
cp types/*.lua "$ws/types/"
cp examples/*.lua tools/luals_probe.lua "$ws/examples/"
echo '{ "runtime.version": "Lua 5.4" }' > "$ws/luarc.json"
"$LUALS" --check="$ws" --configpath="$ws/luarc.json" --checklevel=Warning --check_format=json \
  --check_out_path="$ws/out.json" --logpath="$ws/log" >/dev/null 2>&1 || true
lua5.4 - "$ws" <<'LUA'
local ws = arg[1]
local cjson = require("cjson")
local f = io.open(ws .. "/out.json", "rb")
local got = f and cjson.decode(f:read("*a")) or {}
if f then f:close() end
if type(got) ~= "table" then got = {} end
local want = {}
local n = 0
for line in io.lines(ws .. "/examples/luals_probe.lua") do
  n = n + 1
  local code = line:match("%-%- expect: ([%w%-]+)%s*$")
  if code then want[n] = code end
end
local problems = {}
local seen = {}
for uri, diags in pairs(got) do
  local file = uri:match("[^/]+/[^/]+$")
  for _, d in ipairs(diags) do
    local line = d.range.start.line + 1
    if file == "examples/luals_probe.lua" and want[line] == d.code then
      seen[line] = true
    else
      problems[#problems + 1] = string.format("%s:%d: unexpected %s: %s", file, line, d.code, d.message)
    end
  end
end
for line, code in pairs(want) do
  if not seen[line] then problems[#problems + 1] = string.format("luals_probe.lua:%d: expected %s, got none", line, code) end
end
table.sort(problems)
for _, p in ipairs(problems) do print(p) end
local expected = 0
for _ in pairs(want) do expected = expected + 1 end
print(string.format("luals_check: %d expected diagnostics, %d problems", expected, #problems))
os.exit(#problems == 0 and 0 or 1)
LUA
