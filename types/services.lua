---@meta _
-- The four resource services of a client, their parameters, queries and
-- pages (LuaCATS; see types/scravio.lua). Parameter and query tables use the
-- API's own field names; unknown fields are sent as they are (the API
-- grows), except a likely typo of a documented one, which is refused.

---------------------------------------------------------------------------
-- client.campaigns
---------------------------------------------------------------------------

--- `client.campaigns`: campaign estimates, creation and lookup, and the
--- workflows built on them (launch, run).
---@class scravio.CampaignsService
---@field client scravio.Client the client this service belongs to
local CampaignsService = {}

--- The credit reservation estimate (POST /campaigns/reserve-preview).
--- Nothing is reserved. `title` is not sent, so the same params serve
--- preview and create.
---@param params scravio.CampaignParams
---@param call? scravio.CallOptions
---@return scravio.Preview? preview the `data` object
---@return scravio.Error? err
function CampaignsService:preview(params, call) end

--- Create a campaign (POST /campaigns). Reserves credits: never resent once
--- it may have reached the server; an unknown outcome is reconciled first
--- (`err.kind == "unknown_outcome"` when it cannot be).
---@param params scravio.CampaignParams
---@param call? scravio.CallOptions
---@return scravio.Campaign? campaign
---@return scravio.Error? err
function CampaignsService:create(params, call) end

--- Preview, check the reservation against `max_credits` and the balance,
--- ask `confirm`, then create. Refused (`err.kind` "budget" or
--- "cancelled"), nothing is created and nothing is spent.
---@param params scravio.CampaignParams
---@param opts? scravio.LaunchOptions
---@return scravio.Campaign? campaign
---@return scravio.Preview|scravio.Error|nil preview_or_err the preview on success, else the error
---@return scravio.Preview? preview (after an error) the preview, when one was made
function CampaignsService:launch(params, opts) end

--- The whole job in one call: launch, wait, export, wait, download to `opts.out`.
--- Once the campaign exists every error carries it (`err.campaign`, and the
--- third return value), so a caller can resume from there.
---@param params scravio.CampaignParams
---@param opts? scravio.RunOptions
---@return scravio.Campaign? campaign
---@return string|scravio.Error|nil path_or_err the file written, else the error
---@return integer|scravio.Campaign|scravio.Preview|nil bytes_or_campaign bytes written; after an error the campaign (or preview)
function CampaignsService:run(params, opts) end

--- One campaign (GET /campaigns/{id}).
---@param id string
---@param call? scravio.CallOptions
---@return scravio.Campaign? campaign
---@return scravio.Error? err
function CampaignsService:get(id, call) end

--- One page of campaigns (GET /campaigns).
---@param query? scravio.CampaignListQuery
---@param call? scravio.CallOptions
---@return scravio.CampaignPage? page
---@return scravio.Error? err
function CampaignsService:list(query, call) end

--- Every campaign over all pages (GET /campaigns); raises the `scravio.Error` on failure.
---@param query? scravio.CampaignListQuery
---@param call? scravio.CallOptions
---@return fun(): scravio.Campaign? iterator
function CampaignsService:each(query, call) end

--- POST /campaigns/reserve-preview and POST /campaigns body.
---@class scravio.CampaignParams
---@field type scravio.CampaignType
---@field inputs scravio.CampaignInputs type-specific inputs
---@field targetEmails integer requested number of unique email leads (1 to 1,000,000)
---@field maxCreditCap? number hard stop cap the server enforces (default: the reservation)
---@field title? string campaign name, at most 100 characters (create only)
---@field enableEmailValidation? boolean validate emails during the campaign (default false)
---@field enableDeepEmailSearch? boolean backward-compatible flag; omit for email-only keyword campaigns

---@alias scravio.CampaignType
---| "INSTAGRAM_HASHTAG" | "INSTAGRAM_USER_FOLLOWERS" | "INSTAGRAM_USER_FOLLOWING" | "INSTAGRAM_POST_LIKERS"
---| "INSTAGRAM_POST_COMMENTERS" | "INSTAGRAM_PROFILE_LIST" | "INSTAGRAM_KEYWORD_SEARCH"
---| "YOUTUBE_KEYWORD_SEARCH" | "YOUTUBE_CHANNEL_SEARCH" | "FACEBOOK_KEYWORD_SEARCH" | "LINKEDIN_KEYWORD_SEARCH"
---| "TWITTER_KEYWORD_SEARCH" | "TIKTOK_KEYWORD_SEARCH" | "TIKTOK_SEARCH_USERS" | "TIKTOK_USER_FOLLOWERS"
---| "TIKTOK_USER_FOLLOWING" | "TIKTOK_POST_COMMENTERS" | "X_KEYWORD_SEARCH" | "X_FOLLOWERS" | "X_FOLLOWING"
---| "X_RETWEETS" | "X_REPLIERS"

---@alias scravio.CampaignStatus
---| "pending" | "scraping" | "scraping_completed" | "processing_emails" | "fully_completed" | "failed" | "stopped"

--- `params.inputs`: which fields a campaign type needs is in the API reference.
---@class scravio.CampaignInputs
---@field hashtag? string one hashtag, no # (INSTAGRAM_HASHTAG)
---@field hashtags? string[] up to 20 hashtags (INSTAGRAM_HASHTAG)
---@field targetUser? string username, no @ (follower/following campaigns)
---@field mediaUrl? string https post URL (liker/commenter/retweet/replier campaigns)
---@field keyword? string one search keyword
---@field keywords? string[] up to 20 keywords
---@field countries? string[] up to 10 ISO 3166-1 alpha-2 codes
---@field goal? "sell_products"|"find_influencers"|"remarketing"|"agency_leads"|"recruiting"|"other" legacy
---@field goalOther? string legacy, with goal = "other"

--- The reserve preview (`data` of POST /campaigns/reserve-preview).
---@class scravio.Preview
---@field type scravio.CampaignType
---@field creditReserved number credits to reserve on launch
---@field targetEmails integer
---@field emailCollectionGoal? integer
---@field maxItemsToProcess? integer
---@field maxProfilesToScan? integer
---@field pricingVersion string
---@field reservationVersion string
---@field maxCreditCap? number
---@field estimatedCredits? number
---@field estimatedUsageCredits? number
---@field reserveUsageCredits? number
---@field recommendedMaxCreditCap? number
---@field summary? table customer-facing budget summary
---@field targetMode? string
---@field budgetMode? string
---@field filterImpacts? table[]
---@field estimatedCounters? table
---@field expectedCounters? table
---@field reserveCounters? table
---@field estimatedRates? table
---@field rateRegistryChecksum? string
---@field assumptions? table
---@field warnings table[]

--- What `confirm(preview, info)` of launch and run receives second.
---@class scravio.LaunchInfo
---@field reserve number the credits the launch reserves
---@field balance? number the account's balance
---@field max_credits? number the caller's limit
---@field masked_emails? boolean true when the account receives masked emails (GET /auth/me shouldMaskEmail): its leads and exports will hold masked addresses

--- Options of `campaigns:launch` (the per-call options apply to each request it makes).
---@class scravio.LaunchOptions: scravio.CallOptions
---@field max_credits? number refuse when the launch would reserve more (checked client-side, never sent)
---@field confirm? fun(preview: scravio.Preview, info: scravio.LaunchInfo): boolean? return true to create

--- Options of `campaigns:run`.
---@class scravio.RunOptions
---@field max_credits? number refuse when the launch would reserve more (never sent)
---@field confirm? fun(preview: scravio.Preview, info: scravio.LaunchInfo): boolean? return true to create
---@field out? string where the leads file goes (default leads.csv, or leads.xlsx); checked before anything is spent
---@field overwrite? boolean replace a file already at out (default: yes for an out you name, no for the default leads.csv; false: never)
---@field emailOnly? boolean export only leads with an email
---@field onlyValidEmails? boolean export only validated emails
---@field fileFormat? "csv"|"xlsx" the export's file format (default "csv")
---@field progress? boolean progress lines on stderr (terminals only)
---@field timeout? number seconds for the two waits together (default: each wait's own bound)
---@field deadline? number seconds for the whole run: every request, wait, pause and the download
---@field interval? number first pause between refreshes (default 2)
---@field max_interval? number longest pause (default 30)
---@field on_progress? fun(obj: scravio.Campaign|scravio.Export) on every change of status or progress
---@field max_retries? integer retries of each request (default: the client's)
---@field headers? table<string, string|number> extra request headers

--- GET /campaigns query.
---@class scravio.CampaignListQuery
---@field page? integer default 1
---@field perPage? integer at most 100 (default 10; `each` asks 100)
---@field status? scravio.CampaignStatus|scravio.CampaignStatus[]
---@field type? string|string[] campaign types or platform shorthands (INSTAGRAM, X ...)
---@field q? string free-text search
---@field sortBy? "createdAt"|"progress"|"status"
---@field order? "asc"|"desc"
---@field from? string ISO 8601
---@field to? string ISO 8601

--- Pagination of a normalised page.
---@class scravio.Pagination
---@field totalCount integer
---@field totalPages integer
---@field currentPage integer
---@field perPage integer

--- One page of campaigns.
---@class scravio.CampaignPage
---@field items scravio.Campaign[]
---@field pagination scravio.Pagination

---------------------------------------------------------------------------
-- client.validation_jobs
---------------------------------------------------------------------------

--- `client.validation_jobs`: standalone email validation jobs.
---@class scravio.ValidationJobsService
---@field client scravio.Client
local ValidationJobsService = {}

--- A validation job from a list of emails (POST /validation-jobs/text):
--- an array of strings or one comma-separated string, at most 5,000 unique.
--- Reserves credits; 3 per hour; one active job per account.
---@param emails string[]|string
---@param call? scravio.CallOptions
---@return scravio.ValidationJob? job
---@return scravio.Error? err
function ValidationJobsService:submit(emails, call) end

--- A validation job from a CSV/TXT file: request the upload, PUT the file to
--- the presigned URL (no credentials), process, confirm; one idempotencyKey
--- across all steps and their retries.
---@param path string
---@param opts? scravio.SubmitFileOptions
---@return scravio.ValidationJob? job
---@return scravio.Error? err
function ValidationJobsService:submit_file(path, opts) end

--- POST /validation-jobs/file: a presigned upload URL. `idempotencyKey` is
--- generated when omitted and returned on the ticket.
---@param params scravio.RequestUploadParams
---@param call? scravio.CallOptions
---@return scravio.UploadTicket? ticket
---@return scravio.Error? err
function ValidationJobsService:request_upload(params, call) end

--- POST /validation-jobs/file/process: parse the uploaded file (reserves nothing).
---@param params scravio.ProcessUploadParams
---@param call? scravio.CallOptions
---@return scravio.ParseReview? review
---@return scravio.Error? err
function ValidationJobsService:process_upload(params, call) end

--- POST /validation-jobs/file/confirm: create the job (reserves credits;
--- the idempotency key makes a resend safe).
---@param params scravio.ConfirmUploadParams
---@param call? scravio.CallOptions
---@return scravio.ValidationJob? job
---@return scravio.Error? err
function ValidationJobsService:confirm_upload(params, call) end

--- One validation job (GET /validation-jobs/{id}).
---@param id string
---@param call? scravio.CallOptions
---@return scravio.ValidationJob? job
---@return scravio.Error? err
function ValidationJobsService:get(id, call) end

--- One page of validation jobs (GET /validation-jobs).
---@param query? scravio.ValidationJobListQuery
---@param call? scravio.CallOptions
---@return scravio.ValidationJobPage? page
---@return scravio.Error? err
function ValidationJobsService:list(query, call) end

--- Every validation job over all pages; raises the `scravio.Error` on failure.
---@param query? scravio.ValidationJobListQuery
---@param call? scravio.CallOptions
---@return fun(): scravio.ValidationJob? iterator
function ValidationJobsService:each(query, call) end

--- Options of `validation_jobs:submit_file`.
---@class scravio.SubmitFileOptions
---@field column? string|fun(review: scravio.ParseReview): string? the email column (key or label), or a chooser
---@field content_type? string MIME type (default from the extension)
---@field max_credits? number refuse to confirm when the review's estimatedCredits is more (client-side; never sent)
---@field confirm? fun(review: scravio.ParseReview, info: scravio.SubmitFileConfirmInfo): boolean? true to confirm
---@field progress? boolean an upload progress bar on stderr (terminals only)
---@field timeout? number seconds per attempt: each of the three API calls and each PUT (under 1 KB/s for the client's timeout: stalled)
---@field deadline? number seconds for the whole call: the API calls, the PUT, every retry and its wait
---@field idempotency_key? string reuse a key (to resume)
---@field max_retries? integer retries of each step (default: the client's)
---@field headers? table<string, string|number> extra request headers (API requests only)

--- What `confirm(review, info)` of submit_file receives second.
---@class scravio.SubmitFileConfirmInfo
---@field estimate? number the review's estimatedCredits: what confirming reserves
---@field max_credits? number the caller's limit
---@field column? string the column key that will be confirmed

--- POST /validation-jobs/file body.
---@class scravio.RequestUploadParams
---@field filename string
---@field contentType string
---@field sizeBytes integer
---@field idempotencyKey? string generated when omitted

--- The upload ticket (`data` of POST /validation-jobs/file).
---@class scravio.UploadTicket
---@field uploadId string
---@field key string private storage key
---@field uploadUrl string short-lived presigned PUT URL
---@field expiresAt string
---@field maxSizeBytes integer
---@field allowedContentTypes string[]
---@field idempotencyKey string the key used (the caller's or the generated one)

--- POST /validation-jobs/file/process body.
---@class scravio.ProcessUploadParams
---@field uploadId string
---@field key string
---@field filename string
---@field idempotencyKey string the ticket's

--- The parse review (`data` of POST /validation-jobs/file/process).
---@class scravio.ParseReview
---@field parseId string
---@field status string
---@field totalEmails integer
---@field totalRows integer
---@field duplicatesRemoved integer
---@field invalidRows integer
---@field estimatedCredits number
---@field columns scravio.ParseColumn[]
---@field recommendedColumn? string

--- A candidate email column of a parse review.
---@class scravio.ParseColumn
---@field key string sent as selectedColumn
---@field label string
---@field emailLikeCount integer

--- POST /validation-jobs/file/confirm body.
---@class scravio.ConfirmUploadParams
---@field parseId string
---@field selectedColumn? string
---@field idempotencyKey string the ticket's

---@alias scravio.ValidationJobStatus "pending"|"parsing"|"queued"|"processing"|"completed"|"failed"

--- GET /validation-jobs query.
---@class scravio.ValidationJobListQuery
---@field page? integer
---@field limit? integer items per page (default 10)
---@field status? scravio.ValidationJobStatus|scravio.ValidationJobStatus[]
---@field from? string ISO 8601
---@field to? string ISO 8601
---@field sortBy? "createdAt"|"completedAt"
---@field order? "asc"|"desc"

--- One page of validation jobs (`jobs` is the same array as `items`).
---@class scravio.ValidationJobPage
---@field items scravio.ValidationJob[]
---@field jobs scravio.ValidationJob[]
---@field pagination scravio.Pagination
---@field total integer
---@field page integer
---@field pages integer

---------------------------------------------------------------------------
-- client.exports
---------------------------------------------------------------------------

--- `client.exports`: CSV/XLSX exports of campaign leads.
---@class scravio.ExportsService
---@field client scravio.Client
local ExportsService = {}

--- Create an export (POST /list-exports). Idempotent on the API's side
--- (an export pending for the same campaign and options is returned); 5 per hour.
---@param params scravio.ExportCreateParams
---@param call? scravio.CallOptions
---@return scravio.Export? export
---@return scravio.Error? err
function ExportsService:create(params, call) end

--- One page of exports (GET /list-exports).
---@param query? scravio.ExportListQuery
---@param call? scravio.CallOptions
---@return scravio.ExportPage? page
---@return scravio.Error? err
function ExportsService:list(query, call) end

--- Every export over all pages; raises the `scravio.Error` on failure.
---@param query? scravio.ExportListQuery
---@param call? scravio.CallOptions
---@return fun(): scravio.Export? iterator
function ExportsService:each(query, call) end

--- `c:export(params)` body: what to export of the campaign.
---@class scravio.ExportParams
---@field emailOnly? boolean only leads with an email (default false)
---@field onlyValidEmails? boolean only validated emails (default false)
---@field fileFormat? "csv"|"xlsx" default "csv"

--- POST /list-exports body.
---@class scravio.ExportCreateParams: scravio.ExportParams
---@field campaignId string

---@alias scravio.ExportStatus "pending"|"processing"|"completed"|"failed"

--- GET /list-exports query.
---@class scravio.ExportListQuery
---@field page? integer
---@field perPage? integer
---@field campaignId? string
---@field status? scravio.ExportStatus|scravio.ExportStatus[]
---@field sortBy? "createdAt"|"completedAt"|"status"
---@field order? "asc"|"desc"

--- One page of exports (`exports` is the same array as `items`).
---@class scravio.ExportPage
---@field items scravio.Export[]
---@field exports scravio.Export[]
---@field pagination scravio.Pagination

---------------------------------------------------------------------------
-- client.credit_transactions
---------------------------------------------------------------------------

--- `client.credit_transactions`: the credit ledger.
---@class scravio.CreditTransactionsService
---@field client scravio.Client
local CreditTransactionsService = {}

--- One page of the ledger (GET /credit-transactions).
---@param query? scravio.CreditTransactionListQuery
---@param call? scravio.CallOptions
---@return scravio.CreditTransactionPage? page
---@return scravio.Error? err
function CreditTransactionsService:list(query, call) end

--- Every transaction over all pages; raises the `scravio.Error` on failure.
---@param query? scravio.CreditTransactionListQuery
---@param call? scravio.CallOptions
---@return fun(): scravio.CreditTransaction? iterator
function CreditTransactionsService:each(query, call) end

---@alias scravio.CreditTransactionType
---| "CAMPAIGN_RESERVATION" | "CAMPAIGN_SETTLEMENT" | "CAMPAIGN_OVERAGE" | "EMAIL_VALIDATION_DEDUCTION"
---| "EMAIL_VALIDATION_REFUND" | "SUBSCRIPTION_INITIAL" | "SUBSCRIPTION_RENEWAL" | "SUBSCRIPTION_UPGRADE"
---| "SUBSCRIPTION_DOWNGRADE" | "PAYMENT_PADDLE" | "PAYMENT_CRYPTOMUS" | "PAYMENT_STRIPE_TOPUP"
---| "PAYMENT_PADDLE_TOPUP" | "ADMIN_CREDIT_ADJUSTMENT"

--- GET /credit-transactions query.
---@class scravio.CreditTransactionListQuery
---@field page? integer
---@field perPage? integer
---@field type? scravio.CreditTransactionType|scravio.CreditTransactionType[]
---@field campaignId? string
---@field from? string ISO 8601
---@field to? string ISO 8601
---@field sortBy? "timestamp"|"amount"
---@field order? "asc"|"desc"

--- A ledger entry.
---@class scravio.CreditTransaction
---@field id string
---@field timestamp string
---@field balanceBefore number
---@field amount number negative for a deduction
---@field balanceAfter number
---@field type scravio.CreditTransactionType
---@field description string
---@field campaignId? string
---@field paymentId? string
---@field paymentGateway? string
---@field correlationId? string
---@field metadata? table
---@field createdAt string

--- One page of the ledger (`transactions` is the same array as `items`).
---@class scravio.CreditTransactionPage
---@field items scravio.CreditTransaction[]
---@field transactions scravio.CreditTransaction[]
---@field pagination scravio.Pagination
