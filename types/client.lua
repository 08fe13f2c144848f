---@meta _
-- The client, its options, and what it reports (LuaCATS; see types/scravio.lua).

--- A Scravio API client: configuration, the four resource services and the
--- escape hatch for any endpoint. Credentials live in the C core, never in
--- this table.
---@class scravio.Client
---@field campaigns scravio.CampaignsService POST/GET /campaigns ...
---@field validation_jobs scravio.ValidationJobsService /validation-jobs ...
---@field exports scravio.ExportsService /list-exports ...
---@field credit_transactions scravio.CreditTransactionsService GET /credit-transactions
local Client = {}

--- The account of the credentials (GET /auth/me).
---@param call? scravio.CallOptions
---@return scravio.Account? account
---@return scravio.Error? err
function Client:me(call) end

--- Any endpoint, with the same authentication, retries and errors: the
--- escape hatch. `path` may carry a query string (`"/campaigns?page=2"`),
--- merged under `opts.query` (whose entries win). Sends anything.
---@param method string an HTTP method such as "GET" or "POST"
---@param path string the path under base_url, such as "/campaigns"
---@param opts? scravio.RequestOptions
---@return any? body the decoded answer
---@return scravio.Error? err
function Client:request(method, path, opts) end

--- Non-secret configuration: base_url, the kind of credential, a masked key, timeouts.
---@return scravio.ClientInfo
function Client:info() end

--- What the last HTTP answer this client received said about itself, or
--- nil before the first one.
---@return scravio.ResponseMeta?
function Client:last_response() end

--- Release the connection now rather than at garbage collection.
function Client:close() end

--- Options of `scravio.new`. Every key is checked: an unknown one or a wrong
--- type is refused (`err.kind == "invalid"`) with the option probably meant.
---@class scravio.NewOptions
---@field api_key? string X-API-Key (default: SCRAVIO_API_KEY)
---@field access_token? string sent as Authorization: Bearer, instead of api_key
---@field workspace_id? string sent as X-Workspace-Id
---@field base_url? string default: SCRAVIO_BASE_URL or https://api.scravio.com/api
---@field timeout? number seconds per attempt (default 60)
---@field connect_timeout? number seconds (default 10)
---@field max_retries? integer retries of a request that is safe to resend (default 2)
---@field deadline? number seconds for one call, retries and waits included
---@field max_retry_wait? number the longest Retry-After slept through, seconds (default 60)
---@field max_pace_wait? number the longest pacing wait taken before a rate-limited call, seconds (default 10)
---@field pace? boolean|"strict" true (default: short waits only), "strict" (refuse locally rather than risk a 429) or false
---@field ca_file? string PEM bundle of trusted CAs
---@field proxy? string proxy URL
---@field transport? "curl"|"ngx"|scravio.Transport default: libcurl; cosockets inside OpenResty
---@field on_event? fun(event: scravio.Event) logging and metrics; secrets are redacted
---@field log? "debug"|"off"|boolean|fun(line: string) "debug": one line per request on stderr, secrets masked (default: SCRAVIO_LOG)
---@field allow_http? boolean permit plain http:// to a host that is not loopback
---@field max_response_bytes? integer larger answers are refused (default 16 MiB)
---@field pool_size? integer cosocket pool size (OpenResty)
---@field keepalive_timeout? integer cosocket keepalive in ms (OpenResty)
---@field ssl_verify? true only true is accepted: TLS verification cannot be turned off
---@field verify? true only true is accepted: TLS verification cannot be turned off
---@field insecure? false only false is accepted: TLS verification cannot be turned off

--- The per-call options: the last argument of every method that makes a
--- request. They apply to that call only.
---@class scravio.CallOptions
---@field timeout? number seconds per attempt (default: the client's)
---@field deadline? number seconds for the whole call, retries and waits included (default: the client's)
---@field max_retries? integer retries of a retryable failure (default: the client's)
---@field headers? table<string, string|number> extra request headers (no credentials, no framing headers)

--- Options of `client:request`: the per-call options plus the request itself.
---@class scravio.RequestOptions: scravio.CallOptions
---@field query? table<string, any> query parameters, sent as given (a Lua array is sent comma-joined)
---@field body? any the JSON body (a table), or a string sent as it is
---@field retry? boolean true marks a method other than GET as safe to resend

--- What `on_event` receives: one table per step of the request pipeline.
---@class scravio.Event
---@field type "request"|"response"|"retry"|"error"|"reconcile"|"reconciled"|"pace"|"download"|"downloaded"|"upload"|string
---@field method? string HTTP method
---@field path? string the request path (never a presigned URL)
---@field attempt? integer 1 for the first try
---@field attempts? integer how many times it was sent (error)
---@field prefetched? boolean the page's GET went out ahead of the loop (request)
---@field status? integer HTTP status
---@field request_id? string
---@field elapsed? number seconds the attempt took (response)
---@field delay? number seconds waited before the next attempt (retry, pace)
---@field reason? string why it is retried, or why not (retry, error)
---@field kind? scravio.ErrorKind (error, retry)
---@field error? scravio.ErrorKind the failure's kind (response, reconcile)
---@field code? string the API's error code (error)
---@field retry_after? number seconds the server asked for (error, retry)
---@field limit? string the rate limit paced for (pace)
---@field scope? string the campaign the limit counts per, if any (pace)
---@field waited? boolean the pacing wait was taken (pace)
---@field file? string (download, upload)
---@field bytes? integer (downloaded)

--- `client:last_response()`: the last answer's metadata (masked like errors).
---@class scravio.ResponseMeta
---@field request_id? string the X-Request-Id of the answer
---@field status integer HTTP status
---@field method string
---@field path string
---@field attempts integer attempts the call made to get it
---@field rate_limit? {limit: integer?, remaining: integer?, reset: integer?} X-RateLimit-* headers, when sent

--- `client:info()`: configuration with nothing secret in it.
---@class scravio.ClientInfo
---@field base_url string
---@field auth "api_key"|"access_token" the kind of credential sent
---@field key_hint string the credential masked (`****` and its last characters)
---@field user_agent string
---@field timeout number
---@field connect_timeout number
---@field max_response_bytes integer
---@field workspace boolean an X-Workspace-Id is sent
---@field custom_ca boolean a ca_file is set

--- A transport object (`scravio.new{transport = obj}`): how requests reach
--- the network. The SDK has two, libcurl and OpenResty cosockets. `send`
--- answers value, status, request_id, or nil, err.
---@class scravio.Transport
---@field send fun(self: scravio.Transport, method: string, url: string, path: string, body: string?, timeout: number, ...: any): any, any, string?
---@field download? fun(self: scravio.Transport, url: string, file: string, progress: boolean, timeout: number?): integer?, integer|scravio.Error?
---@field upload? fun(self: scravio.Transport, url: string, file: string, content_type: string, progress: boolean, timeout: number?): integer?, scravio.Error?

--- GET /auth/me: the account profile and credit balance.
---@class scravio.Account
---@field id string
---@field email string
---@field name string
---@field avatar? string
---@field isVerified boolean
---@field shouldMaskEmail boolean emails are masked in lead responses
---@field credits number the current credit balance
---@field concurrentCampaignLimit integer
---@field scrapingSpeed "slow"|"normal"|"fast"|"ultra_fast"
---@field createdAt string ISO 8601
