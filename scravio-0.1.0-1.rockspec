rockspec_format = "3.0"
package = "scravio"
version = "0.1.0-1"
source = {
  url = "git+https://github.com/scravio/scravio-lua.git",
  tag = "v0.1.0",
}
description = {
  summary = "Lua SDK for the Scravio API: campaigns, leads, email validation, exports, credits",
  detailed = [[
    A C core (libcurl transport, JSON codec with exact integers, request
    building, error classification, pagination) with a Lua layer for
    workflows such as preview-then-create, waiting and streaming downloads.
    Runs under Lua 5.1-5.4, LuaJIT and OpenResty (cosocket transport).
  ]],
  homepage = "https://github.com/scravio/scravio-lua",
  license = "MIT",
}
dependencies = {
  "lua >= 5.1",
  "argparse >= 0.7", -- the `scravio` command's parser (Debian: lua-argparse)
}
-- Declared by its library: Debian keeps curl/curl.h under a multiarch include
-- directory that the compiler searches anyway. LIBCURL_INCDIR/LIBCURL_LIBDIR
-- are still honoured when given.
external_dependencies = {
  LIBCURL = { library = "curl" },
}
build = {
  type = "builtin",
  modules = {
    ["scravio.core"] = {
      sources = {
        "csrc/buf.c", "csrc/client.c", "csrc/core.c", "csrc/errors.c", "csrc/files.c", "csrc/interrupt.c", "csrc/json.c",
        "csrc/lazydoc.c", "csrc/lazypage.c", "csrc/mask.c", "csrc/pager.c", "csrc/resources.c", "csrc/terminal.c", "csrc/transport.c", "csrc/url.c",
      },
      defines = { "_POSIX_C_SOURCE=200809L" },
      libraries = { "curl" },
      incdirs = { "$(LIBCURL_INCDIR)" },
      libdirs = { "$(LIBCURL_LIBDIR)" },
    },
    ["scravio"] = "lua/scravio/init.lua",
    -- LuaCATS annotations (---@meta, nothing to run): lua-language-server with
    -- this tree's share/lua/<version> in workspace.library completes the API.
    ["scravio.types.scravio"] = "types/scravio.lua",
    ["scravio.types.client"] = "types/client.lua",
    ["scravio.types.errors"] = "types/errors.lua",
    ["scravio.types.objects"] = "types/objects.lua",
    ["scravio.types.services"] = "types/services.lua",
    ["scravio.types.testing"] = "types/testing.lua",
    ["scravio.body"] = "lua/scravio/body.lua",
    ["scravio.budget"] = "lua/scravio/budget.lua",
    ["scravio.campaigns"] = "lua/scravio/campaigns.lua",
    ["scravio.client"] = "lua/scravio/client.lua",
    ["scravio.core_loader"] = "lua/scravio/core_loader.lua",
    ["scravio.credit_transactions"] = "lua/scravio/credit_transactions.lua",
    ["scravio.errors"] = "lua/scravio/errors.lua",
    ["scravio.exports"] = "lua/scravio/exports.lua",
    ["scravio.options"] = "lua/scravio/options.lua",
    ["scravio.pacing"] = "lua/scravio/pacing.lua",
    ["scravio.pagination"] = "lua/scravio/pagination.lua",
    ["scravio.receivers"] = "lua/scravio/receivers.lua",
    ["scravio.reconcile"] = "lua/scravio/reconcile.lua",
    ["scravio.receivers"] = "lua/scravio/receivers.lua",
    ["scravio.request"] = "lua/scravio/request.lua",
    ["scravio.resource"] = "lua/scravio/resource.lua",
    ["scravio.retry"] = "lua/scravio/retry.lua",
    ["scravio.runtime"] = "lua/scravio/runtime.lua",
    ["scravio.transport"] = "lua/scravio/transport/init.lua",
    ["scravio.transport.curl"] = "lua/scravio/transport/curl.lua",
    ["scravio.transport.ngx"] = "lua/scravio/transport/ngx.lua",
    ["scravio.validate"] = "lua/scravio/validate.lua",
    ["scravio.validation_jobs"] = "lua/scravio/validation_jobs.lua",
    ["scravio.workflows"] = "lua/scravio/workflows.lua",
    ["scravio.wait"] = "lua/scravio/wait.lua",
    ["scravio.download"] = "lua/scravio/download.lua",
    ["scravio.upload"] = "lua/scravio/upload.lua",
    ["scravio.progress"] = "lua/scravio/progress.lua",
    ["scravio.cli"] = "lua/scravio/cli/init.lua",
    ["scravio.cli.args"] = "lua/scravio/cli/args.lua",
    ["scravio.cli.commands"] = "lua/scravio/cli/commands.lua",
    ["scravio.cli.credentials"] = "lua/scravio/cli/credentials.lua",
    ["scravio.cli.output"] = "lua/scravio/cli/output.lua",
    ["scravio.cli.params"] = "lua/scravio/cli/params.lua",
    ["scravio.cli.spend"] = "lua/scravio/cli/spend.lua",
    ["scravio.cli.status"] = "lua/scravio/cli/status.lua",
    ["scravio.cli.term"] = "lua/scravio/cli/term.lua",
    -- scravio.testing: the kit (lua/scravio/testing/) and the fake server it runs,
    -- installed from spec/support/ with the same layout (fake_server.lua next to fake/).
    ["scravio.testing"] = "lua/scravio/testing/init.lua",
    ["scravio.testing.cli"] = "lua/scravio/testing/cli.lua",
    ["scravio.testing.fake_server"] = "spec/support/fake_server.lua",
    ["scravio.testing.fake.accounts"] = "spec/support/fake/accounts.lua",
    ["scravio.testing.fake.app"] = "spec/support/fake/app.lua",
    ["scravio.testing.fake.campaign_rules"] = "spec/support/fake/campaign_rules.lua",
    ["scravio.testing.fake.campaigns"] = "spec/support/fake/campaigns.lua",
    ["scravio.testing.fake.clock"] = "spec/support/fake/clock.lua",
    ["scravio.testing.fake.config"] = "spec/support/fake/config.lua",
    ["scravio.testing.fake.control"] = "spec/support/fake/control.lua",
    ["scravio.testing.fake.exports"] = "spec/support/fake/exports.lua",
    ["scravio.testing.fake.faults"] = "spec/support/fake/faults.lua",
    ["scravio.testing.fake.http"] = "spec/support/fake/http.lua",
    ["scravio.testing.fake.ids"] = "spec/support/fake/ids.lua",
    ["scravio.testing.fake.json"] = "spec/support/fake/json.lua",
    ["scravio.testing.fake.leads"] = "spec/support/fake/leads.lua",
    ["scravio.testing.fake.ledger"] = "spec/support/fake/ledger.lua",
    ["scravio.testing.fake.lifecycle"] = "spec/support/fake/lifecycle.lua",
    ["scravio.testing.fake.pricing"] = "spec/support/fake/pricing.lua",
    ["scravio.testing.fake.query"] = "spec/support/fake/query.lua",
    ["scravio.testing.fake.ratelimit"] = "spec/support/fake/ratelimit.lua",
    ["scravio.testing.fake.reqlog"] = "spec/support/fake/reqlog.lua",
    ["scravio.testing.fake.router"] = "spec/support/fake/router.lua",
    ["scravio.testing.fake.seed"] = "spec/support/fake/seed.lua",
    ["scravio.testing.fake.state"] = "spec/support/fake/state.lua",
    ["scravio.testing.fake.storage"] = "spec/support/fake/storage.lua",
    ["scravio.testing.fake.util"] = "spec/support/fake/util.lua",
    ["scravio.testing.fake.validation_jobs"] = "spec/support/fake/validation_jobs.lua",
    ["scravio.testing.fake.xlsx"] = "spec/support/fake/xlsx.lua",
  },
  install = {
    -- the fake server's nginx.conf template, next to its modules
    lua = { ["scravio.testing.fake.nginx_conf"] = "spec/support/fake/nginx.conf.tmpl" },
    -- the commands (luarocks wraps each to run under this rock's Lua)
    bin = { scravio = "bin/scravio", ["scravio-fake"] = "bin/scravio-fake" },
    -- the rock's own files besides docs/ (NOTES.md, the maintainers' notes, stays out)
    conf = { ["README.md"] = "README.md", ["LICENSE"] = "LICENSE", ["CHANGELOG.md"] = "CHANGELOG.md" },
  },
  -- docs/API.md (the reference) becomes the rock's documentation (luarocks doc scravio)
  copy_directories = { "docs" },
}
-- `luarocks test`: the busted suite under the Lua LuaRocks runs (it builds
-- build/<lua>/ with make first; the suite starts the fake server itself).
test = {
  type = "command",
  script = "spec/support/luarocks_test.lua",
}
