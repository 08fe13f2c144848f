---@meta scravio.testing
-- The test kit, require("scravio.testing") (LuaCATS; see types/scravio.lua).
-- The fake server's full reference is spec/support/README.md.

--- A fake Scravio server for testing code that uses the SDK: no account, no
--- credits, nothing leaves 127.0.0.1. Needs nginx with its Lua module, curl,
--- openssl and lua-cjson (`testing.missing()` names what is not there).
---@class scravio.testing
---@field accounts table<string, scravio.testing.Account> the fixed accounts: A (the default), B, free, poor
local testing = {}

--- What the fake server needs and is missing here.
---@return string? message nil when everything is there, else what to install
function testing.missing() end

--- Start a fake server on free loopback ports; raises `testing.missing()`'s
--- message when it cannot start.
---@param opts? scravio.testing.StartOptions
---@return scravio.testing.Server
function testing.start(opts) end

--- Stop a server started without a watchdog, from its run directory (`scravio-fake stop`).
---@param rundir string
---@return boolean
function testing.stop_rundir(rundir) end

--- One of `testing.accounts`.
---@class scravio.testing.Account
---@field api_key string
---@field credits integer the balance after start or reset
---@field notes string what the account is for

--- Options of `testing.start`.
---@class scravio.testing.StartOptions
---@field frozen? boolean the fake clock moves only with srv:advance (recommended in tests)
---@field config? table lifecycle durations and switches: campaign_seconds (3), job_seconds (2), export_seconds (1), rate_limits (true) ...
---@field port? integer the API port (default: a free one)
---@field tls_port? integer the HTTPS API port
---@field storage_port? integer the presigned-URL storage port
---@field watchdog? boolean false keeps nginx running when this process dies (scravio-fake)

--- A running fake server.
---@class scravio.testing.Server
---@field base_url string the API base URL, for scravio.new{base_url = ...}
---@field tls_base_url string the same API over HTTPS (trust ca_file)
---@field ca_file string the CA that signed the HTTPS certificate
---@field storage_url string where presigned URLs point
---@field api_port integer
---@field tls_port integer
---@field storage_port integer
---@field api_key string account A's key
---@field access_token string account A's Bearer token
---@field other_api_key string account B's key (A's ids are 404 to B)
---@field other_access_token string account B's Bearer token
---@field free_api_key string the free account's key (lead emails masked)
---@field poor_api_key string the almost-empty account's key
---@field keys table<string, string> every account's key by name
---@field access_tokens table<string, string> every account's Bearer token by name
---@field rundir string the run directory (config, logs, certificates)
local Server = {}

--- A scravio client for this server (account A unless opts says otherwise).
---@param opts? scravio.NewOptions
---@return scravio.Client
function Server:client(opts) end

--- Move the fake clock forward (campaigns, jobs and exports move on).
---@param seconds number
---@return table clock the clock after the move
function Server:advance(seconds) end

--- Stop real time counting on the fake clock: only advance moves it.
---@return table
function Server:freeze() end

--- Let real time count again, from the same instant.
---@return table
function Server:unfreeze() end

--- The fake clock.
---@return table clock
function Server:clock() end

--- Change the configuration (unknown keys raise).
---@param config table
---@return table config the whole configuration
function Server:configure(config) end

--- Inject a fault: `{method=, path=, pattern=, kind=, count=1, skip=0, target="api", ...}`;
--- kinds: status, rate_limit, reset_before, reset_after, slow, truncated,
--- truncated_body, malformed, huge, redirect.
---@param spec table
---@return integer id
function Server:fault(spec) end

--- The faults in place.
---@return table[]
function Server:faults() end

--- Remove one fault, or all.
---@param id? integer
---@return table
function Server:clear_faults(id) end

--- The API requests the server received: `{seq, time, method, path, query, headers, body, status, fault, ...}`.
---@param filter? table `{method=, path=, pattern=true}`
---@return table[]
function Server:requests(filter) end

--- The storage requests (uploads and downloads of presigned URLs).
---@param filter? table
---@return table[]
function Server:storage_requests(filter) end

--- Empty both request logs.
---@return table
function Server:clear_requests() end

--- Create a campaign directly in a given state: `{status=, leads=, emails=, type=, account=, ...}`.
---@param spec? table
---@return string id
function Server:seed_campaign(spec) end

--- Create an export directly: `{bytes=}` or `{campaign_id=, format=}`.
---@param spec? table
---@return string id
function Server:seed_export(spec) end

--- Set an account's balance (an ADMIN_CREDIT_ADJUSTMENT).
---@param account string "A", "B", "free" or "poor"
---@param credits number
---@return number credits
function Server:set_credits(account, credits) end

--- Counters of what the server holds.
---@return table
function Server:stats() end

--- The accounts with their keys and balances.
---@return table[]
function Server:accounts() end

--- `base_url .. path`.
---@param path string
---@return string
function Server:url(path) end

--- nginx's error log so far.
---@return string
function Server:error_log() end

--- Back to a fresh server: accounts and balances, no campaigns, faults or logs, the clock unfrozen.
---@return table
function Server:reset() end

--- Any control action (POST /__control/<action>); raises on failure.
---@param action string
---@param payload? table
---@return table
function Server:control(action, payload) end

--- Stop nginx and remove the run directory (idempotent).
---@return boolean
function Server:stop() end

return testing
