---@meta _
-- The Campaign, ValidationJob and Export objects (userdata from the C core)
-- and what their methods take and give (LuaCATS; see types/scravio.lua).
-- Fields of the API object read directly (`c.status`); JSON null reads as
-- nil; `id` is the object's own id field (_id, jobId, exportId).

---------------------------------------------------------------------------
-- Campaign
---------------------------------------------------------------------------

--- A campaign (userdata): the API object's fields read directly, plus methods.
---@class scravio.Campaign
---@field id string the same as `_id`
---@field _id string campaign id
---@field createdBy? string user id of the creator
---@field title string
---@field type scravio.CampaignType
---@field status scravio.CampaignStatus
---@field inputs scravio.CampaignInputs
---@field targetEmails integer the unique email lead goal
---@field limits? table backend-derived internal caps
---@field enableDeepEmailSearch? boolean
---@field enableEmailValidation? boolean
---@field emailScanCount integer emails found so far
---@field profileScannedCount integer profiles scanned so far
---@field progressPercentage number 0 to 100
---@field maxItemsToProcess? integer
---@field normalizedCounts? scravio.NormalizedCounts (detail responses only)
---@field creditSettlement? scravio.CreditSettlement
---@field phaseState? scravio.PhaseState
---@field postValidation? scravio.PostValidation
---@field createdAt string ISO 8601
---@field updatedAt string ISO 8601
---@field finishedAt? string ISO 8601
---@field platformUserId? string target user's platform id (profile-based campaigns)
---@field fullName? string target user's full name
---@field profilePicUrl? string
---@field bio? string
---@field followerCount? integer
---@field followingCount? integer
---@field mediaCount? integer
---@field isVerified? boolean
---@field isBusiness? boolean
---@field hashtagMediaCount? integer (hashtag campaigns)
---@field targetPostAuthorUsername? string (post-based campaigns)
---@field targetPostAuthorName? string
---@field targetPostAuthorProfilePicUrl? string
---@field targetPostLikeCount? integer
---@field targetPostCommentCount? integer
---@field targetPostId? string
---@field targetPostCaptionText? string
---@field authorUsername? string (X/Twitter campaigns)
---@field authorName? string
---@field commentCount? integer
---@field likeCount? integer
---@field captionText? string
---@field targetFollowerCount? integer
---@field mediaPostCount? integer
local Campaign = {}

--- Fetch the campaign again (GET /campaigns/{id}) and update this object in place.
---@param call? scravio.CallOptions
---@return scravio.Campaign? self
---@return scravio.Error? err
function Campaign:refresh(call) end

--- Poll until the status is fully_completed, failed or stopped (returned
--- whatever it is: check `c.status`). Time up: `err.kind == "timeout"`.
---@param opts? scravio.WaitOptions
---@return scravio.Campaign? self
---@return scravio.Error? err
function Campaign:wait(opts) end

--- Ask the campaign to stop (POST /campaigns/{id}/stop; idempotent, 5 per minute).
---@param call? scravio.CallOptions
---@return scravio.StopResult? result
---@return scravio.Error? err
function Campaign:stop(call) end

--- Every lead over all pages (GET /campaigns/{id}/leads); raises the `scravio.Error` on failure.
---@param query? scravio.LeadsQuery
---@param call? scravio.CallOptions
---@return fun(): scravio.Lead? iterator
function Campaign:leads(query, call) end

--- One page of leads (GET /campaigns/{id}/leads).
---@param query? scravio.LeadsQuery
---@param call? scravio.CallOptions
---@return scravio.LeadPage? page
---@return scravio.Error? err
function Campaign:leads_page(query, call) end

--- The cost of validating the campaign's emails (GET /campaigns/{id}/validate/preview).
---@param call? scravio.CallOptions
---@return scravio.ValidationPreview? preview
---@return scravio.Error? err
function Campaign:validation_preview(call) end

--- Start post-campaign email validation (POST /campaigns/{id}/validate).
--- Reserves credits: not resent blindly (3 per minute, 409 when one runs).
---@param call? scravio.CallOptions
---@return scravio.ValidateResult? result
---@return scravio.Error? err
function Campaign:validate(call) end

--- Export the campaign's leads (POST /list-exports with this campaignId).
---@param params? scravio.ExportParams
---@param call? scravio.CallOptions
---@return scravio.Export? export
---@return scravio.Error? err
function Campaign:export(params, call) end

--- A plain deep copy of the API object.
---@return table
function Campaign:data() end

--- `c.creditSettlement`: credit accounting.
---@class scravio.CreditSettlement
---@field isSettled boolean
---@field settledAt? string
---@field creditReserved number
---@field creditUsed number
---@field creditReturned number
---@field creditCharged number net credits charged
---@field pricingVersion? string
---@field reservationVersion? string
---@field maxCreditCap? number
---@field estimatedCredits? number
---@field estimatedUsageCredits? number
---@field reserveUsageCredits? number
---@field recommendedMaxCreditCap? number
---@field summary? table
---@field targetMode? string
---@field budgetMode? string
---@field filterImpacts? table[]
---@field estimatedCounters? table
---@field expectedCounters? table
---@field reserveCounters? table
---@field estimatedRates? table
---@field rateRegistryChecksum? string
---@field assumptions? table
---@field warnings? table[]
---@field breakdown? scravio.CreditBreakdown (once settled)
---@field settlementVersion? integer

--- `c.creditSettlement.breakdown`: per-category credit usage.
---@class scravio.CreditBreakdown
---@field initialEmails integer
---@field deepSearchEmails integer
---@field noEmails integer
---@field validations integer

--- `c.normalizedCounts`.
---@class scravio.NormalizedCounts
---@field profiles integer
---@field emails integer

--- `c.phaseState`: the authoritative per-phase state.
---@class scravio.PhaseState
---@field scraping scravio.Phase
---@field deepsearch scravio.Phase
---@field validation scravio.Phase
---@field settlement scravio.SettlementPhase

--- One phase of `c.phaseState`.
---@class scravio.Phase
---@field status "not_applicable"|"pending"|"running"|"complete"|"failed"
---@field startedAt? string
---@field completedAt? string
---@field finalCounts? table
---@field lastError? table

--- `c.phaseState.settlement`.
---@class scravio.SettlementPhase
---@field status "not_ready"|"ready"|"in_progress"|"done"|"failed_retrying"|"failed_terminal"
---@field attempts integer
---@field lastAttemptAt? string
---@field nextAttemptAt? string
---@field settledAt? string
---@field lastError? table

--- `c.postValidation`: post-campaign validation status.
---@class scravio.PostValidation
---@field status "idle"|"validating"|"completed"|"failed"
---@field total integer
---@field validated integer
---@field valid integer
---@field invalid integer
---@field creditReserved number
---@field creditUsed number
---@field creditReturned number
---@field startedAt? string
---@field completedAt? string
---@field error? string

--- `c:stop()`.
---@class scravio.StopResult
---@field campaignId string
---@field stopRequested boolean
---@field status scravio.CampaignStatus
---@field stoppedBy string
---@field stoppedReason? string

--- `c:validation_preview()`.
---@class scravio.ValidationPreview
---@field campaignId string
---@field emailsToValidate integer
---@field creditCost number
---@field currentBalance number
---@field hasSufficientCredits boolean
---@field canValidate boolean

--- `c:validate()`.
---@class scravio.ValidateResult
---@field campaignId string
---@field jobId? string
---@field emailsToValidate integer
---@field creditCost number credits reserved
---@field status string "validating"
---@field reconciled? boolean the answer was lost and the running validation was found instead

--- GET /campaigns/{id}/leads query.
---@class scravio.LeadsQuery
---@field page? integer
---@field perPage? integer
---@field hasEmail? boolean
---@field validationStatus? "valid"|"invalid"|"pending"
---@field platform? "instagram"|"youtube"|"linkedin"|"facebook"|"tiktok"|"x"
---@field sourceType? string
---@field emailSource? string
---@field sortBy? "hasEmail"|"followerCount"|"scrapedAt"
---@field order? "asc"|"desc"

--- A lead (plain table): a social-media profile a campaign found.
---@class scravio.Lead
---@field _id string
---@field campaignId string
---@field platform "instagram"|"youtube"|"linkedin"|"facebook"|"tiktok"|"x"
---@field sourceType "profile"|"keyword"|string
---@field email? string (may be masked)
---@field emailMasked? boolean
---@field emailRevealed? boolean
---@field canRevealEmail? boolean
---@field emailSource? "initial"|"deep_search"|"none"
---@field phoneNumber? string
---@field username? string
---@field fullName? string
---@field biography? string
---@field followerCount? integer
---@field followingCount? integer
---@field mediaCount? integer
---@field externalUrl? string
---@field profilePicUrl? string
---@field isPrivate? boolean
---@field isVerified? boolean
---@field isBusiness? boolean
---@field country? string
---@field accountCreatedDate? string
---@field latitude? number
---@field longitude? number
---@field cityName? string
---@field addressStreet? string
---@field emailValidation? scravio.EmailValidation
---@field keyword? string
---@field scrapedAt string
---@field [string] any platform-specific fields (xPostText, linkedinHeadline ...)

--- `lead.emailValidation`.
---@class scravio.EmailValidation
---@field status string
---@field isValid boolean
---@field checkedAt string

--- One page of leads.
---@class scravio.LeadPage
---@field items scravio.Lead[]
---@field pagination scravio.Pagination

---------------------------------------------------------------------------
-- ValidationJob
---------------------------------------------------------------------------

--- A standalone email validation job (userdata).
---@class scravio.ValidationJob
---@field id string the same as `jobId`
---@field jobId string
---@field status scravio.ValidationJobStatus
---@field statusReason? string why it was cancelled or failed
---@field totalEmails integer unique emails submitted
---@field processedCount? integer emails validated so far
---@field validCount? integer
---@field invalidCount? integer
---@field externalRequestId? string
---@field creditsUsed? number credits reserved (POST /validation-jobs/text)
---@field creditsReserved? number credits reserved (POST /validation-jobs/file/confirm)
---@field createdAt? string
---@field updatedAt? string
---@field completedAt? string
---@field downloadUrl? string results CSV (completed jobs only)
local ValidationJob = {}

--- Fetch the job again (GET /validation-jobs/{id}) and update this object in place.
---@param call? scravio.CallOptions
---@return scravio.ValidationJob? self
---@return scravio.Error? err
function ValidationJob:refresh(call) end

--- Poll until the status is completed or failed (check `j.status`).
---@param opts? scravio.WaitOptions
---@return scravio.ValidationJob? self
---@return scravio.Error? err
function ValidationJob:wait(opts) end

--- The results' short-lived download URL (GET /validation-jobs/{id}/download;
--- an error until the job is completed).
---@param call? scravio.CallOptions
---@return string? url
---@return scravio.DownloadInfo|scravio.Error info_or_err the whole answer (expiresIn), else the error
function ValidationJob:download_url(call) end

--- Stream the results CSV to `path` (never half-written under that name).
---@param path string
---@param opts? scravio.DownloadOptions
---@return string? path
---@return integer|scravio.Error bytes_or_err
function ValidationJob:download(path, opts) end

--- A plain deep copy of the API object.
---@return table
function ValidationJob:data() end

---------------------------------------------------------------------------
-- Export
---------------------------------------------------------------------------

--- A list export (userdata).
---@class scravio.Export
---@field id string the same as `exportId`
---@field exportId string
---@field campaignId string
---@field status scravio.ExportStatus
---@field progress? number percentage
---@field isEmailOnly? boolean
---@field onlyValidEmails? boolean
---@field fileFormat "csv"|"xlsx"
---@field filename? string (after completion)
---@field totalRecords? integer (after completion)
---@field fileSize? integer bytes (after completion)
---@field createdAt? string
---@field completedAt? string
local Export = {}

--- Look the export up again (in its campaign's GET /list-exports) and update this object in place.
---@param call? scravio.CallOptions
---@return scravio.Export? self
---@return scravio.Error? err
function Export:refresh(call) end

--- Poll until the status is completed or failed (check `e.status`).
---@param opts? scravio.WaitOptions
---@return scravio.Export? self
---@return scravio.Error? err
function Export:wait(opts) end

--- The file's download URL (GET /list-exports/{id}/download; an error until completed).
---@param call? scravio.CallOptions
---@return string? url
---@return scravio.DownloadInfo|scravio.Error info_or_err the whole answer (filename), else the error
function Export:download_url(call) end

--- Stream the export file to `path` (never half-written under that name).
---@param path string
---@param opts? scravio.DownloadOptions
---@return string? path
---@return integer|scravio.Error bytes_or_err
function Export:download(path, opts) end

--- A plain deep copy of the API object.
---@return table
function Export:data() end

--- The answer of `download_url()`.
---@class scravio.DownloadInfo
---@field downloadUrl string
---@field expiresIn? integer seconds until the URL expires (validation jobs)
---@field filename? string suggested file name (exports)

---------------------------------------------------------------------------
-- Options of the object methods
---------------------------------------------------------------------------

--- Options of `c:wait`, `j:wait` and `e:wait`.
---@class scravio.WaitOptions
---@field timeout? number seconds for the whole wait, the refresh in flight included (default: the client's deadline if set, else 24 h)
---@field interval? number first pause between refreshes (default 2)
---@field max_interval? number the pause grows x1.5 per poll up to this (default 30)
---@field max_errors? integer consecutive retryable failures tolerated while polling (default 5)
---@field on_progress? fun(obj: scravio.Campaign|scravio.ValidationJob|scravio.Export) on every change of status or progress
---@field progress? boolean a progress line on stderr (terminals only)
---@field deadline? number seconds for the whole wait, the refresh in flight included
---@field max_retries? integer retries of each refresh (default: the client's)
---@field headers? table<string, string|number> extra request headers

--- Options of `e:download` and `j:download`.
---@class scravio.DownloadOptions
---@field progress? boolean a progress bar on stderr (terminals only)
---@field timeout? number seconds per attempt of each request: the GET .../download attempts and each transfer attempt (a transfer moving less than 1 KB/s for the client's timeout ends as stalled)
---@field deadline? number seconds for the whole call: URL lookups, transfers, retries and their waits
---@field max_retries? integer retries with a fresh URL (default: the client's)
---@field overwrite? boolean without a path: replace an existing file of the suggested name (refused otherwise)
---@field mode? integer|string permissions of a new file: tonumber("644", 8) or "0644" (default 0600; a replaced file keeps its own)
---@field headers? table<string, string|number> extra headers for the API request of the URL
