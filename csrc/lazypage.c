/*
 * lazypage.c - a list page kept as its bytes, its items decoded one at a time.
 *
 * Why: the iterator (pagination.lua each) hands out a page's items one by
 * one, and a page decoded whole is N item tables alive at once (1,000 leads:
 * 1.5 MB of Lua heap, plus the garbage of the page before, bench/README.md).
 * A LazyPage validates the whole body in one pass that builds nothing
 * (scv_json_index_page), so a corrupt page still hands out no item; it
 * records the envelope's counters, the byte span of every item and a hash of
 * the items' bytes (the pager's repeated-page guard), and keeps the bytes.
 * page:item(i) then decodes item i alone, into exactly the value the whole
 * page's decode would have held there (a plain table, an array with the array
 * metatable, null members absent). Only the top-level envelopes
 * ({items|transactions, pagination}) are streamed; anything else is left to
 * the eager decoder, which is then what the caller gets.
 *
 * The bytes are the transport's: under OpenResty the body's Lua string,
 * anchored in the page's user value (no copy); with libcurl the client's body
 * buffer itself, taken from the client so that no second copy of a 1 MiB page
 * exists, and given back by page:release() (the iterator calls it before it
 * asks for the next page; the GC only frees what a page still holds when an
 * iteration was abandoned).
 */
#include <stdlib.h>
#include <string.h>
#include "scravio.h"
#include "fingerprint.h"

#define LAZYPAGE_MAX_MEMBERS 64  /* of the envelope and of its pagination object */

typedef struct {
  const char *bytes;      /* the body; NULL once released */
  size_t len;
  scv_buf owned;          /* libcurl: the client's body buffer while the page holds it */
  scv_json_span *items;   /* malloc'd: the span of every item, in order */
  size_t n, items_cap;
  int max_depth;
  scv_page_counts counts;
} scv_lazypage;

/* The envelope's arrays the pager looks for, in its order (pager.c). */
static const char *const top_lists[] = SCV_PAGE_TOP_LISTS;

static int key_is(const char *s, const scv_json_member *m, const char *key) {
  size_t k = strlen(key);
  return m->klen == k && memcmp(s + m->koff, key, k) == 0;
}

/* The last member named key (a later duplicate wins, as in a decoded table),
 * or -1; a null member is absent, as in a decoded table. */
static int last_member(const char *s, const scv_json_member *m, int n, const char *key) {
  for (int i = n - 1; i >= 0; i--)
    if (key_is(s, &m[i], key)) return s[m[i].voff] == 'n' ? -1 : i;
  return -1;
}

/* counter = the number member `key` of the pagination object, as the
 * pager's field_int reads it from a decoded table (a number within 2^53,
 * truncated); 0 when absent or not such a number. */
static int counter(lua_State *L, const char *s, const scv_json_member *m, int n, const char *key, int depth,
                   lua_Integer *out) {
  int i = last_member(s, m, n, key);
  if (i < 0) return 0;
  if (!scv_json_decode_fp(L, s + m[i].voff, m[i].vlen, depth, NULL, 0, 0)) return 0;
  int ok = 0;
  if (lua_type(L, -1) == LUA_TNUMBER) {
    lua_Number v = lua_tonumber(L, -1);
    if (v >= -9007199254740992.0 && v <= 9007199254740992.0) {
      *out = (lua_Integer)v;
      ok = 1;
    }
  }
  lua_pop(L, 1);
  return ok;
}

/* pages = totalPages, else pages, else -1 (and so on): the pager's fallbacks. */
static void read_counts(lua_State *L, const char *s, const scv_json_member *m, int n, int depth,
                        scv_page_counts *c) {
  c->has_current = counter(L, s, m, n, "currentPage", depth, &c->current) ||
                   counter(L, s, m, n, "page", depth, &c->current);
  if (!counter(L, s, m, n, "totalPages", depth, &c->pages) && !counter(L, s, m, n, "pages", depth, &c->pages))
    c->pages = -1;
  if (!counter(L, s, m, n, "totalCount", depth, &c->total) && !counter(L, s, m, n, "total", depth, &c->total))
    c->total = -1;
  if (!counter(L, s, m, n, "perPage", depth, &c->per_page) && !counter(L, s, m, n, "limit", depth, &c->per_page))
    c->per_page = -1;
}

/* A hash of the items' bytes for the repeated-page guard: four independent
 * multiply-xor lanes over 32-byte blocks, then a final mix. Half the
 * instructions per byte of scv_fp_bytes (which suits short strings): it
 * runs over every byte of every page (~1 KB per lead). */
static uint64_t items_hash(const unsigned char *p, size_t n) {
  const uint64_t k = 0x100000001b3ULL * 0x9e3779b1ULL | 1; /* odd: each step is a bijection */
  uint64_t a = 0x9e3779b97f4a7c15ULL ^ (uint64_t)n, b = 0xc2b2ae3d27d4eb4fULL, c = 0x165667b19e3779f9ULL,
           d = 0x27d4eb2f165667c5ULL;
  for (; n >= 32; p += 32, n -= 32) {
    uint64_t w[4];
    memcpy(w, p, sizeof w);
    a = (a ^ w[0]) * k;
    b = (b ^ w[1]) * k;
    c = (c ^ w[2]) * k;
    d = (d ^ w[3]) * k;
  }
  for (; n >= 8; p += 8, n -= 8) {
    uint64_t w;
    memcpy(&w, p, 8);
    a = (a ^ w) * k;
  }
  if (n) {
    uint64_t w = 0;
    memcpy(&w, p, n);
    b = (b ^ w) * k;
  }
  return scv_fp_mix(scv_fp_mix(a) ^ (scv_fp_mix(b) * 3) ^ (scv_fp_mix(c) * 5) ^ (scv_fp_mix(d) * 7));
}

static void page_free(scv_lazypage *pg) {
  free(pg->items);
  pg->items = NULL;
  pg->n = pg->items_cap = 0;
  scv_buf_free(&pg->owned);
  pg->bytes = NULL;
}

/* Index body into the (new, empty) page pg. -> 1, or 0: not a page to
 * stream (invalid, another envelope, an object where the items should be). */
static int index_body(lua_State *L, scv_lazypage *pg, const char *s, size_t len, int max_depth) {
  scv_json_member m[LAZYPAGE_MAX_MEMBERS];
  uint32_t first[LAZYPAGE_MAX_MEMBERS + 1];
  int n = scv_json_index_page(s, len, max_depth, m, first, LAZYPAGE_MAX_MEMBERS, &pg->items, &pg->items_cap);
  if (n < 0) return 0;
  int list = -1;
  for (int k = 0; top_lists[k] && list < 0; k++) {
    int i = last_member(s, m, n, top_lists[k]);
    char c = i >= 0 ? s[m[i].voff] : 0;
    if (c == '[') list = i;
    else if (c == '{') return 0; /* a table the pager would take: leave it to the decoder */
  }
  if (list < 0) return 0; /* the data envelopes (exports, jobs): decoded whole */
  size_t lo = first[list], hi = first[list + 1];
  if (lo > 0) memmove(pg->items, pg->items + lo, (hi - lo) * sizeof *pg->items);
  pg->n = hi - lo;
  memset(&pg->counts, 0, sizeof pg->counts);
  pg->counts.pages = pg->counts.total = pg->counts.per_page = -1;
  int meta = last_member(s, m, n, "pagination");
  if (meta >= 0 && s[m[meta].voff] == '{') {
    scv_json_member pm[LAZYPAGE_MAX_MEMBERS];
    const char *ps = s + m[meta].voff;
    int pn = scv_json_members(ps, m[meta].vlen, max_depth, pm, LAZYPAGE_MAX_MEMBERS);
    if (pn < 0) return 0;
    read_counts(L, ps, pm, pn, max_depth, &pg->counts);
  }
  /* The repeated-page guard compares consecutive pages: a hash of the
   * items' bytes is enough (a server that ignores ?page= repeats them
   * byte for byte); a decoded page's structural hash is another kind of
   * value, and equal hashes of the two kinds would only ever cost one
   * repeated page more before the guard sees the next one. */
  pg->counts.fingerprint = items_hash((const unsigned char *)s + m[list].voff, m[list].vlen) ^ 0x5ca1ab1eULL;
  pg->bytes = s;
  pg->len = len;
  pg->max_depth = max_depth;
  return 1;
}

int scv_lazypage_push(lua_State *L, const char *body, size_t len, int max_depth, int anchor, scv_buf *take) {
  anchor = scv_absindex(L, anchor);
  scv_lazypage *pg = scv_newuserdata(L, sizeof *pg);
  memset(pg, 0, sizeof *pg);
  scv_buf_init(&pg->owned);
  luaL_getmetatable(L, SCV_LAZYPAGE_MT);
  lua_setmetatable(L, -2); /* from here on the GC frees what the page holds */
  if (!index_body(L, pg, body, len, max_depth)) {
    page_free(pg);
    lua_pop(L, 1);
    return 0;
  }
#if LUA_VERSION_NUM < 502
  lua_createtable(L, 1, 0); /* (a 5.1 user value must be a table) */
  lua_pushvalue(L, anchor);
  lua_rawseti(L, -2, 1);
#else
  lua_pushvalue(L, anchor);
#endif
  scv_setuservalue(L, -2);
  if (take) { /* the page holds the buffer; the client starts a new one if it must */
    pg->owned = *take;
    scv_buf_init(take);
  }
  return 1;
}

const scv_page_counts *scv_lazypage_counts(lua_State *L, int idx, size_t *n) {
  scv_lazypage *pg = scv_testudata(L, idx, SCV_LAZYPAGE_MT);
  if (pg == NULL || pg->bytes == NULL) return NULL;
  *n = pg->n;
  return &pg->counts;
}

static scv_lazypage *check_page(lua_State *L) {
  scv_lazypage *pg = luaL_checkudata(L, 1, SCV_LAZYPAGE_MT);
  if (pg->bytes == NULL) luaL_error(L, "scravio: this list page was released (its items are gone)");
  return pg;
}

/* page:item(i) -> the decoded item i (1-based), nil past the end. The page
 * was validated whole when it was made, so this cannot fail on the input. */
static int l_item(lua_State *L) {
  scv_lazypage *pg = check_page(L);
  lua_Integer i = luaL_checkinteger(L, 2);
  if (i < 1 || (size_t)i > pg->n) {
    lua_pushnil(L);
    return 1;
  }
  const scv_json_span *e = &pg->items[i - 1];
  char err[128];
  if (!scv_json_decode_fp(L, pg->bytes + e->off, e->len, pg->max_depth, err, sizeof err, 0))
    return luaL_error(L, "scravio: internal error decoding a validated list item (%s)", err);
  return 1;
}

/* page:count() -> the number of items */
static int l_count(lua_State *L) {
  lua_pushinteger(L, (lua_Integer)check_page(L)->n);
  return 1;
}

/* page:release(): drop the bytes (safe to call again). A buffer taken from a
 * libcurl client goes back to it, unless the client has grown a bigger one
 * meanwhile (a call made inside the loop body) or is closed. */
static int l_release(lua_State *L) {
  scv_lazypage *pg = luaL_checkudata(L, 1, SCV_LAZYPAGE_MT);
  if (pg->bytes == NULL) return 0;
  if (pg->owned.data) {
    scv_getuservalue(L, 1);
#if LUA_VERSION_NUM < 502
    lua_rawgeti(L, -1, 1);
#endif
    scv_client_body_return(L, -1, &pg->owned);
  }
  page_free(pg);
  scv_buf_init(&pg->owned);
  return 0;
}

static int l_gc(lua_State *L) {
  scv_lazypage *pg = luaL_checkudata(L, 1, SCV_LAZYPAGE_MT);
  page_free(pg);
  return 0;
}

static int l_tostring(lua_State *L) {
  scv_lazypage *pg = luaL_checkudata(L, 1, SCV_LAZYPAGE_MT);
  if (pg->bytes) lua_pushfstring(L, "scravio.LazyPage(%d items, %d bytes)", (int)pg->n, (int)pg->len);
  else lua_pushstring(L, "scravio.LazyPage(released)");
  return 1;
}

/* core.lazy_page(s) -> LazyPage | nil: for tests (the bytes are anchored). */
static int l_lazy_page(lua_State *L) {
  size_t n;
  const char *s = luaL_checklstring(L, 1, &n);
  if (!scv_lazypage_push(L, s, n, 256, 1, NULL)) lua_pushnil(L);
  return 1;
}

void scv_lazypage_open(lua_State *L) {
  luaL_newmetatable(L, SCV_LAZYPAGE_MT);
  lua_newtable(L);
  static const luaL_Reg m[] = {{"item", l_item}, {"count", l_count}, {"release", l_release}, {NULL, NULL}};
  scv_setfuncs(L, m, 0);
  lua_setfield(L, -2, "__index");
  lua_pushcfunction(L, l_gc);
  lua_setfield(L, -2, "__gc");
  lua_pushcfunction(L, l_tostring);
  lua_setfield(L, -2, "__tostring");
  lua_pushstring(L, SCV_LAZYPAGE_MT);
  lua_setfield(L, -2, "__name");
  lua_setfield(L, -2, "lazypage_mt"); /* core.lazypage_mt: tells a LazyPage apart */
  lua_pushcfunction(L, l_lazy_page);
  lua_setfield(L, -2, "lazy_page");
}
