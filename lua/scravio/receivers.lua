--- Methods called with a dot instead of a colon. `client.campaigns.preview(P)`
-- passes P as the service and nothing as the params; without a check the
-- user reads "campaign params must be a table, got nil". Every service,
-- client and resource method is wrapped once so that such a call answers
-- (nil, err with kind "invalid"; iterators raise it) with the call to write:
-- "use client.campaigns:preview(params) (colon)". Nothing is sent.
local core = require("scravio.core")
local errors = require("scravio.errors")

local M = {}

-- What each method takes (its main arguments; the optional per-call
-- options are left out), for the sentence that says how to call it. A
-- method not listed is shown with "(...)".
M.SIGNATURES = {
  ["client"] = { me = "", request = "method, path, opts", last_response = "", info = "", close = "" },
  ["client.campaigns"] = {
    preview = "params", create = "params", get = "id", list = "query", each = "query",
    launch = "params, opts", run = "params, opts",
  },
  ["client.validation_jobs"] = {
    submit = "emails", submit_file = "path, opts", request_upload = "params", process_upload = "params",
    confirm_upload = "params", get = "id", list = "query", each = "query",
  },
  ["client.exports"] = { create = "params", list = "query", each = "query" },
  ["client.credit_transactions"] = { list = "query", each = "query" },
  Campaign = {
    refresh = "", wait = "opts", stop = "", leads = "query", leads_page = "query", validation_preview = "",
    validate = "", export = "params", data = "",
  },
  ValidationJob = { refresh = "", wait = "opts", download_url = "", download = "path, opts", data = "" },
  Export = { refresh = "", wait = "opts", download_url = "", download = "path, opts", data = "" },
}

-- The one endpoint behind each method that maps to one ("{id}": the
-- object's id for resource methods). A kind = "invalid" error such a method
-- returns (nothing was sent) carries it as err.method / err.path, like the
-- errors of requests that went out. Workflows (launch, run, wait, download,
-- submit_file) make several requests and are left out; client:request
-- names its own method and path.
M.ENDPOINTS = {
  ["client"] = { me = "GET /auth/me" },
  ["client.campaigns"] = { preview = "POST /campaigns/reserve-preview", create = "POST /campaigns",
    get = "GET /campaigns/{id}", list = "GET /campaigns", each = "GET /campaigns" },
  ["client.validation_jobs"] = { submit = "POST /validation-jobs/text", request_upload = "POST /validation-jobs/file",
    process_upload = "POST /validation-jobs/file/process", confirm_upload = "POST /validation-jobs/file/confirm",
    get = "GET /validation-jobs/{id}", list = "GET /validation-jobs", each = "GET /validation-jobs" },
  ["client.exports"] = { create = "POST /list-exports", list = "GET /list-exports", each = "GET /list-exports" },
  ["client.credit_transactions"] = { list = "GET /credit-transactions", each = "GET /credit-transactions" },
  Campaign = { refresh = "GET /campaigns/{id}", stop = "POST /campaigns/{id}/stop",
    leads = "GET /campaigns/{id}/leads", leads_page = "GET /campaigns/{id}/leads",
    validation_preview = "GET /campaigns/{id}/validate/preview", validate = "POST /campaigns/{id}/validate",
    export = "POST /list-exports" },
  ValidationJob = { refresh = "GET /validation-jobs/{id}", download_url = "GET /validation-jobs/{id}/download" },
  Export = { refresh = "GET /list-exports/{id}", download_url = "GET /list-exports/{id}/download" },
}

-- Fill err.method / err.path of a kind = "invalid" answer from the method's
-- endpoint; the results pass through unchanged (count included).
local function annotate(endpoint, self, ...)
  local a, err = ...
  if a == nil and type(err) == "table" and err.kind == "invalid" and err.method == nil then
    local method, path = endpoint:match("^(%u+) (.*)$")
    if not method then return ... end
    if path:find("{id}", 1, true) then
      local id = type(self) ~= "table" and core.kind(self) and self.id or nil
      if type(id) == "string" then path = path:gsub("{id}", (id:gsub("%%", "%%%%"))) end
    end
    err.method, err.path = method, path
  end
  return ...
end

-- How the docs name an object of each kind in an example call.
local VARIABLE = { Campaign = "c", ValidationJob = "j", Export = "e" }

-- Methods that hand back an iterator: a for loop cannot take `nil, err`.
local ITERATORS = { each = true, leads = true }

-- The wrappers made here, so that guarding a table again wraps nothing twice.
local WRAPPERS = setmetatable({}, { __mode = "k" })

local function misuse(owner, name, iterator)
  local sig = M.SIGNATURES[owner] and M.SIGNATURES[owner][name] or "..."
  local shown = VARIABLE[owner] or owner
  local err = errors.invalid({ { param = "self", location = "argument",
    msg = string.format("%s.%s was called with a dot: use %s:%s(%s) (colon)", shown, name, shown, name, sig) } })
  if iterator then errors.raise(err) end
  return nil, err
end

--- Wrap every function of `methods` so that a call whose first argument is
-- not a receiver (is_self(x) false) answers with the misuse error.
-- owner: a key of M.SIGNATURES ("client.campaigns", "Campaign" ...);
-- except: names to leave alone (functions that are not methods).
function M.guard(methods, owner, is_self, except)
  local names = {}
  for name, fn in pairs(methods) do
    if type(fn) == "function" and type(name) == "string" and name:sub(1, 2) ~= "__"
      and not WRAPPERS[fn] and not (except and except[name]) then
      names[#names + 1] = name
    end
  end
  for _, name in ipairs(names) do
    local fn = methods[name]
    local iterator = ITERATORS[name]
    local endpoint = M.ENDPOINTS[owner] and M.ENDPOINTS[owner][name]
    local wrapper
    if endpoint and not iterator then
      wrapper = function(self, ...)
        if not is_self(self) then return misuse(owner, name, iterator) end
        return annotate(endpoint, self, fn(self, ...))
      end
    elseif owner == "client" and name == "request" then
      wrapper = function(self, ...)
        if not is_self(self) then return misuse(owner, name, iterator) end
        local method, path = ...
        if type(method) == "string" and method:match("^%a+$") and type(path) == "string" then
          return annotate(method:upper() .. " " .. path, self, fn(self, ...))
        end
        return fn(self, ...)
      end
    else
      wrapper = function(self, ...)
        if not is_self(self) then return misuse(owner, name, iterator) end
        return fn(self, ...)
      end
    end
    WRAPPERS[wrapper] = true
    methods[name] = wrapper
  end
end

--- A service table (client.campaigns ...): its instances have it as metatable.
function M.guard_service(Service, owner)
  M.guard(Service, owner, function(x) return type(x) == "table" and getmetatable(x) == Service end)
end

--- A resource kind's methods (core.methods.Campaign ...).
function M.guard_kind(kind)
  M.guard(core.methods[kind], kind, function(x) return core.kind(x) == kind end)
end

return M
