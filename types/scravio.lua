---@meta scravio
-- LuaCATS annotations for lua-language-server: `require("scravio")` resolves
-- to this file (the `---@meta scravio` line), so an editor completes the
-- module, the client, the services, the Campaign/ValidationJob/Export objects,
-- the error object and every option table. Nothing here runs: the code is in
-- lua/scravio/ and the C core. The files of types/ are checked against the
-- loaded SDK by spec/annotations_spec.lua and rendered by `make docs`.
-- (The plain `--` lines of this header are not part of any annotation.)

--- The Lua SDK for the Scravio API: campaigns, leads, email validation,
--- exports and credits. Every call returns its result, or `nil, err` with
--- `err` a `scravio.Error`; iterators raise that error instead.
---@class scravio
---@field _VERSION string "scravio-lua X.Y.Z"
---@field version string the SDK version, "X.Y.Z"
---@field null userdata JSON null inside a decoded array (positions hold), and the value to send an explicit null
---@field json scravio.JSON the JSON codec the SDK uses (integers stay integers)
local scravio = {}

--- Create a client. Nothing is sent: the options are checked (an unknown one
--- or a wrong type is `nil, err` with `err.kind == "invalid"` and the option
--- probably meant) and the connection is set up.
---@param opts? scravio.NewOptions
---@return scravio.Client? client
---@return scravio.Error? err
function scravio.new(opts) end

--- Is `x` a `scravio.Error`?
---@param x any
---@return boolean
function scravio.is_error(x) end

--- Build an error object of the SDK's shape (for code that wraps the SDK).
---@param kind scravio.ErrorKind
---@param message string
---@param fields? table extra fields (status, code, errors ...)
---@return scravio.Error
function scravio.error(kind, message, fields) end

--- Mark a table as a JSON array, so that an empty one is sent as `[]` (not `{}`).
---@generic T: table
---@param t? T
---@return T
function scravio.array(t) end

--- Is `t` a JSON array (decoded from one, or marked with `scravio.array`)?
---@param t any
---@return boolean
function scravio.is_array(t) end

--- What kind of SDK object `x` is: "Campaign", "ValidationJob", "Export", or nil.
---@param x any
---@return "Campaign"|"ValidationJob"|"Export"|nil
function scravio.kind(x) end

--- The SDK's JSON codec: integers stay Lua integers; a null object member is
--- absent (nil), null inside an array is `scravio.null` (as in API answers).
---@class scravio.JSON
local JSON = {}

--- Decode a JSON text.
---@param text string
---@return any? value
---@return string? message why the text is not JSON
function JSON.decode(text) end

--- Encode a value as JSON text.
---@param value any
---@return string? text
---@return string? message why the value cannot be encoded
function JSON.encode(value) end

return scravio
