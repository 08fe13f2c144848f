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
        "csrc/buf.c", "csrc/client.c", "csrc/core.c", "csrc/errors.c", "csrc/json.c", "csrc/lazydoc.c",
        "csrc/pager.c", "csrc/resources.c", "csrc/transport.c", "csrc/url.c",
      },
      defines = { "_POSIX_C_SOURCE=200809L" },
      libraries = { "curl" },
      incdirs = { "$(LIBCURL_INCDIR)" },
      libdirs = { "$(LIBCURL_LIBDIR)" },
    },
    ["scravio"] = "lua/scravio/init.lua",
    ["scravio.body"] = "lua/scravio/body.lua",
    ["scravio.campaigns"] = "lua/scravio/campaigns.lua",
    ["scravio.client"] = "lua/scravio/client.lua",
    ["scravio.credit_transactions"] = "lua/scravio/credit_transactions.lua",
    ["scravio.errors"] = "lua/scravio/errors.lua",
    ["scravio.exports"] = "lua/scravio/exports.lua",
    ["scravio.options"] = "lua/scravio/options.lua",
    ["scravio.pacing"] = "lua/scravio/pacing.lua",
    ["scravio.pagination"] = "lua/scravio/pagination.lua",
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
  },
  -- The `scravio` command (luarocks wraps it to run under this rock's Lua).
  install = {
    bin = { scravio = "bin/scravio" },
  },
}
