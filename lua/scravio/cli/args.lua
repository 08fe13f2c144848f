--- The `scravio` command line: every command, its options, and the help
-- text with an example (argparse, Debian's lua-argparse). Parsing only: what
-- a command does is in scravio.cli.commands / scravio.cli.spend.
local argparse = require("argparse")
local status = require("scravio.cli.status")
local output = require("scravio.cli.output")

local M = {}

local FORMATS = output.FORMATS

-- "Example:" and the command lines, a long one continued with a backslash
-- (argparse would rewrap it without the indentation).
local function example(...)
  local out = {}
  for _, line in ipairs({ ... }) do
    local indent = "  "
    while #line > 86 do
      local cut = line:sub(1, 86):match("^.*() ")
      out[#out + 1] = indent .. line:sub(1, cut - 1) .. " \\"
      line, indent = line:sub(cut + 1), "    "
    end
    out[#out + 1] = indent .. line
  end
  return "Example:\n" .. table.concat(out, "\n")
end

-- A command's epilog: its example, and where the global options are.
local function command_example(...)
  return example(...) .. "\n\nGlobal options (credentials, --format, --json, --fields, -q): scravio --help"
end

-- The flags that describe a campaign (preview, launch, run).
local function campaign_params(cmd)
  cmd:option("--type", "Campaign type, e.g. INSTAGRAM_HASHTAG, TIKTOK_KEYWORD_SEARCH, X_FOLLOWERS.")
  cmd:option("--input", "A campaign input KEY=VALUE (repeatable); hashtags, keywords and countries " ..
    "take comma-separated lists."):count("*")
  cmd:option("--target", "targetEmails: the number of unique email leads wanted.")
  cmd:option("--title", "Campaign title (create only; not part of the preview).")
  cmd:option("--max-credit-cap", "maxCreditCap: a hard cap the server enforces.")
  cmd:flag("--validate-emails", "enableEmailValidation: validate emails during the campaign.")
  cmd:flag("--deep-search", "enableDeepEmailSearch: true (the API's default for supported types).")
  cmd:option("--file", "Campaign params as a JSON object (- for stdin); the flags above override it.")
end

-- The flags of a spend (launch, run, campaigns validate).
local function spend_flags(cmd)
  cmd:option("--max-credits", "Refuse unless the reservation is at most this many credits (required).")
  cmd:flag("-y --yes", "Do not ask for confirmation on a terminal.")
end

local function paging(cmd, all)
  cmd:option("--page", "Page number (1-based).")
  cmd:option("--per-page", "Items per page.")
  if all then cmd:flag("--all", "Every page, streamed (ignores --page).") end
end

--- The parser. -> argparse Parser
function M.parser()
  local p = argparse("scravio", "The command line of the Scravio API (built on scravio-lua).")
    :command_target("command")
    :help_max_width(100)
    :epilog(table.concat({
      "Credentials: SCRAVIO_API_KEY or SCRAVIO_ACCESS_TOKEN in the environment, or --api-key-file PATH.",
      "Endpoint: SCRAVIO_BASE_URL (default https://api.scravio.com/api); workspace: --workspace or " ..
        "SCRAVIO_WORKSPACE_ID.",
      "Output: a table on a terminal; in a pipe JSON (one object) or JSON Lines (lists); --format or --json to choose.",
      "",
      status.HELP,
      "",
      example("scravio me", "scravio campaigns list --status fully_completed",
        "scravio leads CAMPAIGN_ID --has-email --format csv > leads.csv"),
    }, "\n"))
  p:flag("--version", "Print the version and exit."):action(function()
    local jit = rawget(_G, "jit")
    io.stdout:write("scravio ", require("scravio").version, " (", type(jit) == "table" and jit.version or _VERSION, ")\n")
    os.exit(0)
  end)
  p:option("--api-key-file", "Read the API key from the first line of this file.")
  p:option("--access-token-file", "Read a Bearer access token from this file.")
  p:option("--api-key", "The API key itself (lands in shell history and `ps`: prefer the two above).")
  p:option("--workspace", "Workspace id (sends X-Workspace-Id).")
  p:option("--base-url", "API base URL (default: SCRAVIO_BASE_URL or https://api.scravio.com/api).")
  p:option("--request-timeout", "Seconds for one HTTP request (default 60)."):convert(tonumber)
  p:option("--max-retries", "Retries of a failed request that is safe to resend (default 2)."):convert(tonumber)
  p:option("--format", "Output format (for `campaigns run` and `exports create`: the file's, csv or xlsx)."):choices(FORMATS)
  p:flag("--json", "Output one JSON document (same as --format json).")
  p:option("--fields", "Comma-separated fields (columns) to output, dotted for nested ones (a,b.c).")
  p:flag("-q --quiet", "No progress lines or notices on stderr (errors still are).")
  p:flag("-v --verbose", "One line per HTTP request on stderr, secrets masked (as SCRAVIO_LOG=debug).")

  p:command("me", "Your account and credit balance.")
    :epilog(command_example("scravio me", "scravio me --json | jq .credits"))

  -- campaigns ...
  local c = p:command("campaigns", "Create, watch and stop campaigns."):command_target("subcommand")
    :epilog(command_example("scravio campaigns list", "scravio campaigns launch --help"))

  local list = c:command("list", "List campaigns (one page, or every page with --all).")
    :epilog(command_example("scravio campaigns list --status fully_completed --type INSTAGRAM",
      "scravio campaigns list --all --format csv > campaigns.csv"))
  list:option("--status", "Filter by status (pending, scraping, ..., fully_completed, failed, stopped).")
  list:option("--type", "Filter by type or platform, comma-separated (e.g. INSTAGRAM,X).")
  list:option("--search", "Free-text search on title, hashtag, target user, keyword (q).")
  list:option("--sort-by", "createdAt, progress or status."):choices({ "createdAt", "progress", "status" })
  list:option("--order", "asc or desc."):choices({ "asc", "desc" })
  list:option("--from", "Created at or after (ISO 8601).")
  list:option("--to", "Created at or before (ISO 8601).")
  paging(list, true)

  c:command("get", "One campaign."):epilog(command_example("scravio campaigns get 65f1c0ffee0000000000abcd"))
    :argument("id", "Campaign id.")

  local preview = c:command("preview", "What a campaign would reserve (nothing is created or spent).")
    :epilog(command_example("scravio campaigns preview --type INSTAGRAM_HASHTAG --input hashtags=fitness,gym --target 500",
      "scravio campaigns preview --file params.json"))
  campaign_params(preview)

  local launch = c:command("launch", "Preview, check the budget, confirm, then create a campaign.")
    :description("Launch a campaign. The reserve preview comes first and its reservation is printed; the " ..
      "launch is refused without --max-credits, above it or above your balance, and on a terminal asks for " ..
      "confirmation unless --yes. Nothing is created when refused (exit 3).")
    :epilog(command_example("scravio campaigns launch --type INSTAGRAM_HASHTAG --input hashtags=fitness " ..
      "--target 500 --max-credits 2000"))
  campaign_params(launch)
  spend_flags(launch)

  local run = c:command("run", "Launch, wait, export and download the leads: the whole job.")
    :description("Launch a campaign as `campaigns launch` does (same preview, budget and confirmation), " ..
      "wait for it, export its leads and download the file to --out. Ctrl-C stops waiting, not the " ..
      "campaign: the message says how to stop it.")
    :epilog(command_example("scravio campaigns run --type X_FOLLOWERS --input targetUser=nasa --target 200 " ..
      "--max-credits 1500 --out leads.csv --email-only"))
  campaign_params(run)
  spend_flags(run)
  run:option("--out", "File to write (default leads.csv, or leads.xlsx with --file-format xlsx).")
  run:flag("--force", "Overwrite --out if it exists.")
  run:flag("--email-only", "Export only leads that have an email.")
  run:flag("--valid-only", "Export only leads with validated emails (onlyValidEmails).")
  -- Here --format is the file's format (csv|xlsx), as in `exports create`;
  -- stdout is one JSON document (or --json / a table on a terminal).
  run:option("--file-format --format", "csv or xlsx (default: from --out's extension)."):choices({ "csv", "xlsx" })
  run:option("--timeout", "Give up waiting after this many seconds (the campaign keeps running).")
  run:option("--interval", "First pause between polls in seconds (default 2, grows to 30).")

  local wait = c:command("wait", "Wait until a campaign is finished (fully_completed, failed or stopped).")
    :epilog(command_example("scravio campaigns wait 65f1c0ffee0000000000abcd --timeout 3600"))
  wait:argument("id", "Campaign id.")
  wait:option("--timeout", "Give up after this many seconds (exit 1; the campaign keeps running).")
  wait:option("--interval", "First pause between polls in seconds (default 2, grows to 30).")

  c:command("stop", "Stop a running campaign (its leads so far are kept).")
    :epilog(command_example("scravio campaigns stop 65f1c0ffee0000000000abcd"))
    :argument("id", "Campaign id.")

  local validate = c:command("validate", "Validate a finished campaign's emails (spends credits).")
    :description("Show what validating costs with --preview; without it the cost is previewed, checked " ..
      "against --max-credits (required) and confirmed on a terminal unless --yes.")
    :epilog(command_example("scravio campaigns validate 65f1c0ffee0000000000abcd --preview",
      "scravio campaigns validate 65f1c0ffee0000000000abcd --max-credits 300 --yes"))
  validate:argument("id", "Campaign id.")
  validate:flag("--preview", "Only show the cost (GET /campaigns/{id}/validate/preview).")
  spend_flags(validate)

  -- leads
  local leads = p:command("leads", "Stream every lead of a campaign (all pages, constant memory).")
    :epilog(command_example("scravio leads 65f1c0ffee0000000000abcd --has-email --format csv > leads.csv",
      "scravio leads 65f1c0ffee0000000000abcd --fields username,email --format tsv"))
  leads:argument("id", "Campaign id.")
  leads:flag("--has-email", "Only leads with an email.")
  leads:flag("--no-email", "Only leads without an email.")
  leads:option("--validation-status", "valid, invalid or pending."):choices({ "valid", "invalid", "pending" })
  leads:option("--platform", "instagram, youtube, linkedin, facebook, tiktok or x.")
  leads:option("--source-type", "profile or keyword.")
  leads:option("--email-source", "initial, deep_search or none.")
  leads:option("--sort-by", "hasEmail, followerCount or scrapedAt."):choices({ "hasEmail", "followerCount", "scrapedAt" })
  leads:option("--order", "asc or desc."):choices({ "asc", "desc" })
  leads:option("--per-page", "Leads per request (default 100, at most 1000).")
  leads:option("--limit", "Stop after this many leads.")

  -- exports ...
  local e = p:command("exports", "Create, list and download lead exports (CSV/XLSX files).")
    :command_target("subcommand")
    :epilog(command_example("scravio exports create 65f1c0ffee0000000000abcd --out leads.csv"))
  local ecreate = e:command("create", "Export a campaign's leads to a file on the server.")
    :epilog(command_example("scravio exports create 65f1c0ffee0000000000abcd --email-only --wait",
      "scravio exports create 65f1c0ffee0000000000abcd --format xlsx --out leads.xlsx"))
  ecreate:argument("campaign_id", "Campaign id.")
  ecreate:flag("--email-only", "Only leads that have an email.")
  ecreate:flag("--valid-only", "Only leads with validated emails (onlyValidEmails).")
  ecreate:option("--file-format --format", "csv or xlsx (default: from --out's extension, else csv).")
    :choices({ "csv", "xlsx" })
  ecreate:flag("--wait", "Wait until the export is completed.")
  ecreate:option("--out", "Wait, then download the file here.")
  ecreate:flag("--force", "Overwrite --out if it exists.")
  ecreate:option("--timeout", "Give up waiting after this many seconds.")
  local elist = e:command("list", "List exports.")
    :epilog(command_example("scravio exports list --campaign 65f1c0ffee0000000000abcd"))
  elist:option("--campaign", "Only this campaign's exports.")
  elist:option("--status", "pending, processing, completed or failed.")
  paging(elist, true)
  local edl = e:command("download", "Download a completed export.")
    :epilog(command_example("scravio exports download 66aa00000000000000000001 --out leads.csv"))
  edl:argument("export_id", "Export id.")
  edl:option("--out", "File to write (default: the name the API suggests).")
  edl:flag("--force", "Overwrite --out if it exists.")

  -- validate (standalone email validation jobs)
  local v = p:command("validate", "Validate email addresses (a validation job; spends credits).")
    :epilog(command_example("scravio validate ada@example.com grace@example.org --wait",
      "scravio validate --file contacts.csv --column email --out results.csv"))
  v:argument("emails", "Addresses to validate."):args("*")
  v:option("--file", "A CSV or TXT file of addresses (uploaded as the API's file flow).")
  v:option("--column", "The file's email column (key or header label; default: the API's pick).")
  v:flag("--wait", "Wait until the job is completed.")
  v:option("--out", "Wait, then download the results CSV here.")
  v:flag("--force", "Overwrite --out if it exists.")
  v:option("--timeout", "Give up waiting after this many seconds.")

  -- jobs ...
  local j = p:command("jobs", "Email validation jobs.") :command_target("subcommand")
    :epilog(command_example("scravio jobs list", "scravio jobs download 66bb00000000000000000001 --out results.csv"))
  local jlist = j:command("list", "List validation jobs.")
    :epilog(command_example("scravio jobs list --status completed"))
  jlist:option("--status", "pending, parsing, queued, processing, completed or failed.")
  jlist:option("--from", "Created at or after (ISO 8601).")
  jlist:option("--to", "Created at or before (ISO 8601).")
  paging(jlist, true)
  j:command("get", "One validation job."):epilog(command_example("scravio jobs get 66bb00000000000000000001"))
    :argument("id", "Job id.")
  local jwait = j:command("wait", "Wait until a validation job is finished.")
    :epilog(command_example("scravio jobs wait 66bb00000000000000000001"))
  jwait:argument("id", "Job id.")
  jwait:option("--timeout", "Give up after this many seconds.")
  local jdl = j:command("download", "Download a completed job's results CSV.")
    :epilog(command_example("scravio jobs download 66bb00000000000000000001 --out results.csv"))
  jdl:argument("id", "Job id.")
  jdl:option("--out", "File to write (default validation-ID.csv).")
  jdl:flag("--force", "Overwrite --out if it exists.")

  -- credits
  local cr = p:command("credits", "The credit ledger (one page, or every page with --all).")
    :epilog(command_example("scravio credits --type CAMPAIGN_RESERVATION,CAMPAIGN_SETTLEMENT --all --format csv"))
  cr:option("--type", "Transaction types, comma-separated.")
  cr:option("--campaign", "Only this campaign's transactions.")
  cr:option("--from", "At or after (ISO 8601).")
  cr:option("--to", "At or before (ISO 8601).")
  cr:option("--sort-by", "timestamp or amount."):choices({ "timestamp", "amount" })
  cr:option("--order", "asc or desc."):choices({ "asc", "desc" })
  paging(cr, true)

  -- request (the escape hatch)
  local r = p:command("request", "Any endpoint, with the same auth, retries and errors.")
    :epilog(command_example("scravio request GET /campaigns --query status=fully_completed --query perPage=5",
      "scravio request POST /campaigns/reserve-preview --body @params.json"))
  r:argument("method", "HTTP method (GET, POST ...).")
  r:argument("path", "Path under the base URL, e.g. /auth/me.")
  r:option("--query", "A query parameter KEY=VALUE (repeatable)."):count("*")
  r:option("--body", "JSON body, or @FILE to read it from a file (@- for stdin).")
  r:flag("--retry", "Safe to resend (idempotent): retried like a GET.")

  p:add_complete_command({ summary = "Print a shell completion script (bash, zsh or fish).",
    epilog = command_example("scravio completion bash > ~/.local/share/bash-completion/completions/scravio",
      "source <(scravio completion bash)") })
  return p
end

return M
