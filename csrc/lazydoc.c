/*
 * lazydoc.c - a JSON object kept as its bytes, decoded one field at a time.
 *
 * Why: decoding is most of a request's cost (building ~30 tables and ~300
 * strings for a 3 KB campaign), and a caller usually reads a handful of
 * fields. A LazyDoc validates the whole body in one pass that builds nothing
 * (scv_json_members), keeps the bytes of the object and the offsets of its
 * members, and decodes a member only when it is read. The resource userdata
 * (resources.c) hold either a decoded table or a LazyDoc; whichever it is,
 * Lua sees the same values.
 *
 * A LazyDoc is one userdata: the header, then the member table, then a copy
 * of the object's bytes (so it owns everything and frees with the GC).
 */
#include <string.h>
#include "scravio.h"
#include "json.h"

#define LAZYDOC_MAX_MEMBERS 256

typedef struct {
  uint32_t n;      /* members, in document order (duplicates kept: the last wins) */
  uint32_t len;    /* bytes of the object */
  int max_depth;   /* as the eager decoder would have used */
  scv_json_member m[];
  /* followed by the object's `len` bytes */
} lazydoc;

static const char *doc_bytes(const lazydoc *d) { return (const char *)&d->m[d->n]; }

/* The member index for key, or -1. Scans from the end: a later duplicate wins,
   as it does when the decoder fills a table. */
static int find_member(const lazydoc *d, const char *key, size_t klen) {
  const char *s = doc_bytes(d);
  for (int i = (int)d->n - 1; i >= 0; i--)
    if (d->m[i].klen == klen && memcmp(s + d->m[i].koff, key, klen) == 0) return i;
  return -1;
}

/* Push member i's decoded value. The bytes were validated when the doc was
   made, so decoding cannot fail on the input; it may still raise a memory
   error, like any allocation. */
static int member_is_null(const lazydoc *d, int i) { return doc_bytes(d)[d->m[i].voff] == 'n'; }

static void push_member(lua_State *L, const lazydoc *d, int i) {
  char err[128];
  if (member_is_null(d, i)) { /* a null member reads as nil, as in a decoded table */
    lua_pushnil(L);
    return;
  }
  /* (no page fingerprints: a member of a resource is not a list page) */
  if (!scv_json_decode_fp(L, doc_bytes(d) + d->m[i].voff, d->m[i].vlen, d->max_depth, err, sizeof err, 0))
    luaL_error(L, "scravio: internal error decoding a validated field (%s)", err);
}

/* Where the object we index sits in a body: the body itself, or the `data`
   object of a {"success": ..., "data": {...}} envelope (request.unwrap does
   the same for decoded bodies). Returns the member count for [*s, *s + *len),
   or -1 when the body should be decoded eagerly instead. */
static int locate(const char **s, size_t *len, int max_depth, scv_json_member *m) {
  int n = scv_json_members(*s, *len, max_depth, m, LAZYDOC_MAX_MEMBERS);
  if (n < 0) return -1;
  int success = -1, data = -1;
  for (int i = 0; i < n; i++) {
    const char *k = *s + m[i].koff;
    if (m[i].klen == 7 && memcmp(k, "success", 7) == 0) success = i;
    else if (m[i].klen == 4 && memcmp(k, "data", 4) == 0) data = i;
  }
  if (success < 0 || data < 0) return n;
  const char *v = *s + m[data].voff;
  if (*v == '[') return -1; /* an envelope around an array: leave it to the decoder */
  if (*v != '{') return n;  /* data is not a table: the body is the object */
  *s = v;
  *len = m[data].vlen;
  return scv_json_members(*s, *len, max_depth, m, LAZYDOC_MAX_MEMBERS);
}

int scv_lazydoc_push(lua_State *L, const char *body, size_t len, int max_depth) {
  scv_json_member m[LAZYDOC_MAX_MEMBERS];
  if (len > 0xFFFFFFFFu) return 0;
  int n = locate(&body, &len, max_depth, m);
  if (n < 0) return 0;
  size_t size = sizeof(lazydoc) + (size_t)n * sizeof(scv_json_member) + len;
  lazydoc *d = scv_newuserdata(L, size);
  d->n = (uint32_t)n;
  d->len = (uint32_t)len;
  d->max_depth = max_depth;
  memcpy(d->m, m, (size_t)n * sizeof(scv_json_member));
  memcpy((char *)doc_bytes(d), body, len);
  luaL_getmetatable(L, SCV_LAZYDOC_MT);
  lua_setmetatable(L, -2);
  return 1;
}

int scv_lazydoc_get(lua_State *L, int idx, const char *key, size_t klen) {
  lazydoc *d = lua_touserdata(L, idx);
  int i = find_member(d, key, klen);
  if (i < 0 || member_is_null(d, i)) return 0;
  push_member(L, d, i);
  return 1;
}

void scv_lazydoc_table(lua_State *L, int idx, int cache) {
  lazydoc *d = lua_touserdata(L, idx);
  idx = scv_absindex(L, idx);
  if (cache) cache = scv_absindex(L, cache);
  lua_createtable(L, 0, (int)d->n);
  for (uint32_t i = 0; i < d->n; i++) {
    lua_pushlstring(L, doc_bytes(d) + d->m[i].koff, d->m[i].klen);
    if (cache) { /* a field already handed out keeps its identity */
      lua_pushvalue(L, -1);
      lua_rawget(L, cache);
      if (lua_isnil(L, -1)) {
        lua_pop(L, 1);
        push_member(L, d, (int)i);
      }
    } else {
      push_member(L, d, (int)i);
    }
    lua_rawset(L, -3); /* a null (nil) member removes an earlier duplicate */
  }
}

/* core.lazy_decode(s) -> LazyDoc | nil: for tests and benchmarks. */
static int l_lazy_decode(lua_State *L) {
  size_t n;
  const char *s = luaL_checklstring(L, 1, &n);
  if (!scv_lazydoc_push(L, s, n, 256)) lua_pushnil(L);
  return 1;
}

/* LazyDoc:get(key) -> value | nil, and LazyDoc:table() -> a decoded table */
static int l_doc_get(lua_State *L) {
  luaL_checkudata(L, 1, SCV_LAZYDOC_MT);
  size_t n;
  const char *k = luaL_checklstring(L, 2, &n);
  if (!scv_lazydoc_get(L, 1, k, n)) lua_pushnil(L);
  return 1;
}

static int l_doc_table(lua_State *L) {
  luaL_checkudata(L, 1, SCV_LAZYDOC_MT);
  scv_lazydoc_table(L, 1, 0);
  return 1;
}

static int l_doc_tostring(lua_State *L) {
  lazydoc *d = luaL_checkudata(L, 1, SCV_LAZYDOC_MT);
  lua_pushfstring(L, "scravio.LazyDoc(%d fields, %d bytes)", (int)d->n, (int)d->len);
  return 1;
}

void scv_lazydoc_open(lua_State *L) {
  luaL_newmetatable(L, SCV_LAZYDOC_MT);
  lua_newtable(L);
  lua_pushcfunction(L, l_doc_get);
  lua_setfield(L, -2, "get");
  lua_pushcfunction(L, l_doc_table);
  lua_setfield(L, -2, "table");
  lua_setfield(L, -2, "__index");
  lua_pushcfunction(L, l_doc_tostring);
  lua_setfield(L, -2, "__tostring");
  lua_pushstring(L, SCV_LAZYDOC_MT);
  lua_setfield(L, -2, "__name");
  lua_setfield(L, -2, "lazydoc_mt"); /* core.lazydoc_mt: tells a LazyDoc apart */
  lua_pushcfunction(L, l_lazy_decode);
  lua_setfield(L, -2, "lazy_decode");
}
