-- luacheck configuration: `make lint` (Debian's lua-check).
std = "max"
max_line_length = 160
-- `not (x > 0)` is deliberate: it also rejects NaN.
ignore = { "581" }
files["spec"] = { std = "+busted" }
-- Handlers run inside nginx: ngx is a global whose fields they set.
files["spec/support/fake"] = { globals = { "ngx" }, unused_args = false }
files["spec/openresty"] = { std = "+busted", globals = { "ngx" } }
files["examples/openresty"] = { globals = { "ngx" } }
files["bench/openresty"] = { globals = { "ngx" } }
-- LuaCATS meta files: the functions are stubs (nothing runs), so their
-- arguments and the class tables they hang on are unused by design.
files["types"] = { unused = false, unused_args = false }
files["examples/testing"] = { std = "+busted" }
