/*
 * scravio-lua: JSON codec of the C core.
 *
 * Works against Lua 5.4 (integers map to lua_Integer) and LuaJIT 2.1 /
 * Lua 5.1 (every number is a lua_Number).  No global mutable state: all
 * scratch memory is owned by the Lua GC (userdata anchored on the stack),
 * so nothing leaks if the Lua allocator raises a memory error mid-way.
 */
#ifndef SCV_JSON_H
#define SCV_JSON_H

#include <stddef.h>
#include <stdint.h>

#include <lua.h>
#include <lauxlib.h>

/* Registry key (string) of the shared array metatable. */
#define SCV_ARRAY_MT "scravio.array"

/* JSON null: a full userdata (tostring "scravio.null") kept in the
   registry under SCV_NULL_REG; its metatable is registry[SCV_NULL_MT]. */
#define SCV_NULL_REG "scravio.null.value"
#define SCV_NULL_MT "scravio.null"

/* Push the null value (creating it if scv_json_init was not called). */
void scv_json_push_null(lua_State *L);

/* Is the value at idx JSON null: the null value above, or the lightuserdata
   NULL (cjson.null, ngx.null)? */
int scv_json_isnull(lua_State *L, int idx);

/* Depth used by scv_json_decode/scv_json_encode when max_depth <= 0. */
#define SCV_JSON_DEFAULT_MAX_DEPTH 1000

/* Create the array metatable in the registry if missing (call once from
   luaopen).  Its __name is "scravio.array".  Leaves the stack unchanged. */
void scv_json_init(lua_State *L);

/* Decode `len` bytes at `s`.  On success pushes exactly one value and
   returns 1.  On failure pushes nothing, writes a short message (with the
   byte offset; never more than one byte of the input) into err and
   returns 0.  Never raises a Lua error for bad input (memory errors from
   the Lua allocator may still raise; nothing leaks then).
   - JSON integers (no fraction, no exponent, within int64) -> Lua integer
     (Lua 5.3+; lua_Number under 5.1/LuaJIT); other numbers -> lua_Number.
     "-0" decodes to the float -0.0 (a Lua integer has no negative zero).
     Numbers whose magnitude overflows a double (1e400) are rejected.
   - null -> the null value (scv_json_push_null) in an array or as the
     whole document; an object member whose value is null is left out
     (reads as nil; a later null duplicate removes an earlier value)
   - arrays -> tables with the SCV_ARRAY_MT metatable; objects -> plain
     tables (duplicate keys: the last one wins)
   - strings: \uXXXX escapes and surrogate pairs -> UTF-8, lone surrogates
     -> U+FFFD; raw control characters < 0x20 rejected.  Other bytes are
     passed through unvalidated.
   - nesting deeper than max_depth -> error; trailing non-whitespace ->
     error; a UTF-8 BOM at the start is skipped.
   max_depth <= 0 means SCV_JSON_DEFAULT_MAX_DEPTH.  err may be NULL. */
int scv_json_decode(lua_State *L, const char *s, size_t len, int max_depth,
                    char *err, size_t errlen);

/* scv_json_decode, which also records the structural hash (csrc/fingerprint.h)
   of every non-empty array at depth 1 or 2 (a list envelope's items) for
   the pager; fingerprints = 0 skips the hashing (a LazyDoc's members). */
int scv_json_decode_fp(lua_State *L, const char *s, size_t len, int max_depth,
                       char *err, size_t errlen, int fingerprints);

/* One member of a JSON object: byte offsets of its key (between the
   quotes, no escapes) and of its value, from the start of the input. */
typedef struct {
    uint32_t koff, klen, voff, vlen;
} scv_json_member;

/* Nesting the scanner follows; deeper documents are left to the decoder. */
#define SCV_JSON_SCAN_MAX_DEPTH 256

/* Check `len` bytes at `s` in one pass, without building anything: when
   scv_json_decode would accept them and they hold an object, store its
   members in out (in document order, duplicates included) and return
   their number.  Otherwise return -1: the input is not valid JSON, not an
   object, has more than `cap` members, a key with an escape, nesting past
   SCV_JSON_SCAN_MAX_DEPTH, or a number too long to range-check here; the
   caller decodes it with scv_json_decode then, which tells which.  Each
   member's value span decodes with scv_json_decode on its own. */
int scv_json_members(const char *s, size_t len, int max_depth,
                     scv_json_member *out, int cap);

/* A byte span of the input: one element of an array. */
typedef struct {
    uint32_t off, len;
} scv_json_span;

/* scv_json_members (same acceptance, same members in out, cap of them),
   which also stores the spans of the elements of every array that is the
   value of a top-level member, in document order, into *elems (a malloc'd
   array of *elem_cap spans, grown with realloc as needed; the caller frees
   it, whatever the result).  first[i] is the index in *elems of member i's
   first element and first[n] their total, so member i's elements are
   first[i] .. first[i+1]-1 (none unless its value is an array); first has
   room for cap + 1.  Returns the member count, or -1 (as scv_json_members,
   or out of memory). */
int scv_json_index_page(const char *str, size_t len, int max_depth,
                        scv_json_member *out, uint32_t *first, int cap,
                        scv_json_span **elems, size_t *elem_cap);

/* Encode the value at stack index idx.  On success pushes the JSON string
   and returns 1; on failure pushes nothing, fills err, returns 0.
   - tables with the SCV_ARRAY_MT metatable -> array of t[1..#t] (empty ->
     [], a nil hole inside 1..#t -> null, non-integer keys ignored);
     otherwise a non-empty table whose keys are exactly 1..n -> array; a
     table with only string keys -> object with keys sorted bytewise; an
     empty table -> {}; mixed / sparse / other keys -> error.
   - the null value, lightuserdata NULL and nil -> null; booleans; integers as %lld;
     floats: integral values below 1e15 as integers, otherwise the
     shortest of %.15g/%.16g/%.17g that round-trips; NaN/Inf -> error.
   - strings: '"', '\\' and bytes < 0x20 escaped (\b \f \n \r \t or
     \u00xx); '/', DEL and non-ASCII bytes passed through.
   - cycles, nesting deeper than max_depth, functions, full userdata,
     threads, non-NULL lightuserdata -> error.
   Metamethods are never called (raw access only).
   max_depth <= 0 means SCV_JSON_DEFAULT_MAX_DEPTH.  err may be NULL. */
int scv_json_encode(lua_State *L, int idx, int max_depth, char *err,
                    size_t errlen);

#endif /* SCV_JSON_H */
