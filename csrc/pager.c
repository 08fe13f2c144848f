/*
 * pager.c - the pagination state machine over the API's list envelopes.
 *
 * The reference uses four shapes for a page:
 *   {items, pagination{currentPage,totalPages,totalCount}}        campaigns, leads
 *   {transactions, pagination{...}}                                credit transactions
 *   {data{exports, pagination{...}}}                               exports
 *     (or {data{exports}, pagination{...}}: the reference can be read both ways)
 *   {data{jobs, total, page, pages}}                               validation jobs
 * A Pager knows which page to ask for next and when to stop; the Lua layer
 * drives the requests. It stops on the last page, and on an empty page when
 * the server does not count more pages; an empty page before the last one
 * the server counts is skipped (the list changed under us: stopping there
 * would drop the pages after it silently), up to MAX_EMPTY in a row. It
 * refuses a server that would make an iteration endless, whether or not it
 * numbers its pages: one that answers a page number it already sent, one
 * whose page has the same items as the page before (a server that ignores
 * ?page= and sends no page numbers), and one that has sent more items than
 * its own totalCount says there are.
 */
#include <stdint.h>
#include <string.h>
#include "scravio.h"
#include "fingerprint.h"

typedef struct {
  lua_Integer next;  /* page to request next; 0 when finished */
  lua_Integer page;  /* last page fed */
  lua_Integer pages; /* total pages, -1 if unknown */
  lua_Integer total; /* total items, -1 if unknown */
  lua_Integer fed;   /* pages fed so far */
  lua_Integer per_page; /* page size the server said, -1 if unknown */
  lua_Integer items_fed; /* items in every page fed so far */
  lua_Integer last_n;    /* items in the last non-empty page fed */
  uint64_t last_hash;    /* fingerprint of that page's items */
  int empties;       /* empty pages in a row, skipped because more were counted */
} scv_pager;

#define MAX_EMPTY 10

/* A structural fingerprint of a decoded value (csrc/fingerprint.h): equal
 * content, equal hash, whatever order a table's keys are visited in. Used
 * to see a page that repeats the one before; nothing is kept of the page
 * itself. idx is an absolute stack index. */
static uint64_t fingerprint(lua_State *L, int idx, int depth) {
  switch (lua_type(L, idx)) {
  case LUA_TNIL: return 1;
  case LUA_TBOOLEAN: return lua_toboolean(L, idx) ? SCV_FP_TRUE : SCV_FP_FALSE;
  case LUA_TNUMBER: return scv_fp_number((double)lua_tonumber(L, idx));
  case LUA_TSTRING: {
    size_t len;
    const unsigned char *str = (const unsigned char *)lua_tolstring(L, idx, &len);
    return scv_fp_bytes(str, len);
  }
  case LUA_TTABLE: {
    if (depth > SCV_FP_DEPTH) return SCV_FP_DEEP;
    uint64_t sum = SCV_FP_TABLE;
    luaL_checkstack(L, 3, "pager fingerprint");
    int key = lua_gettop(L) + 1; /* where lua_next leaves the key; the value above it */
    lua_pushnil(L);
    while (lua_next(L, idx)) {
      uint64_t k = fingerprint(L, key, depth + 1);
      uint64_t v = fingerprint(L, key + 1, depth + 1);
      sum += scv_fp_entry(k, v);
      lua_pop(L, 1);
    }
    return scv_fp_mix(sum);
  }
  default: return SCV_FP_NULL; /* userdata (the JSON null), functions: by type only */
  }
}

/* The items' fingerprint: the one the decoder computed while building the
 * array (csrc/json.c), else a walk over the table. */
static uint64_t page_fingerprint(lua_State *L, int items) {
  uint64_t h;
  lua_getfield(L, LUA_REGISTRYINDEX, SCV_FP_REG);
  if (lua_istable(L, -1)) {
    lua_pushvalue(L, items);
    lua_rawget(L, -2);
    size_t len = 0;
    const char *s = lua_type(L, -1) == LUA_TSTRING ? lua_tolstring(L, -1, &len) : NULL;
    if (s != NULL && len == sizeof h) {
      memcpy(&h, s, sizeof h);
      lua_pop(L, 2);
      return h;
    }
    lua_pop(L, 1);
  }
  lua_pop(L, 1);
  return fingerprint(L, items, 0);
}

static lua_Integer field_int(lua_State *L, int t, const char *name, lua_Integer dflt) {
  lua_getfield(L, t, name);
  lua_Integer v = dflt;
  if (lua_type(L, -1) == LUA_TNUMBER) {
    /* Server input may be any double: range first, converting one outside
     * lua_Integer's range is undefined behaviour. */
    lua_Number n = lua_tonumber(L, -1);
    if (n >= -9007199254740992.0 && n <= 9007199254740992.0) v = (lua_Integer)n;
  }
  lua_pop(L, 1);
  return v;
}

/* core.pager(first_page) */
static int l_pager_new(lua_State *L) {
  lua_Integer first = luaL_optinteger(L, 1, 1);
  scv_pager *p = scv_newuserdata(L, sizeof *p);
  p->next = first < 1 ? 1 : first;
  p->page = 0;
  p->pages = -1;
  p->total = -1;
  p->fed = 0;
  p->per_page = -1;
  p->items_fed = 0;
  p->last_n = 0;
  p->last_hash = 0;
  p->empties = 0;
  luaL_getmetatable(L, SCV_PAGER_MT);
  lua_setmetatable(L, -2);
  return 1;
}

/* pager:next() -> the page number to request, or nil when done */
static int l_pager_next(lua_State *L) {
  scv_pager *p = luaL_checkudata(L, 1, SCV_PAGER_MT);
  if (p->next > 0) lua_pushinteger(L, p->next);
  else lua_pushnil(L);
  return 1;
}

static int shape_error(lua_State *L, const char *msg) {
  lua_pushnil(L);
  scv_push_error(L, "decode", msg, NULL, NULL);
  return 2;
}

/* The pager's rules for one page fed: n items, the counters it says (the
 * page number asked for when it says none), the items' fingerprint.
 * -> 1, or 0 with nil, err pushed (the page is refused). */
static int advance(lua_State *L, scv_pager *p, lua_Integer n, lua_Integer current, lua_Integer pages,
                   lua_Integer total, lua_Integer per_page, uint64_t h);

/* pager:feed(body) -> items | nil, err
 * Finds the items array and the page counters wherever the envelope keeps
 * them. body may also be a LazyPage (csrc/lazypage.c), which has read its
 * counters already: feed returns the page itself then. */
static int l_pager_feed(lua_State *L) {
  scv_pager *p = luaL_checkudata(L, 1, SCV_PAGER_MT);
  size_t lazy_n;
  const scv_page_counts *pc = scv_lazypage_counts(L, 2, &lazy_n);
  if (pc) {
    if (!advance(L, p, (lua_Integer)lazy_n, pc->has_current ? pc->current : p->next, pc->pages, pc->total,
                 pc->per_page, pc->fingerprint))
      return 2;
    lua_settop(L, 2);
    return 1;
  }
  if (!lua_istable(L, 2)) return shape_error(L, "a list response was not a JSON object");
  lua_settop(L, 2);
  int items = 0, meta = 0;
  static const char *const top_lists[] = SCV_PAGE_TOP_LISTS;
  for (int i = 0; top_lists[i] && !items; i++) {
    lua_getfield(L, 2, top_lists[i]);
    if (lua_istable(L, -1)) {
      items = lua_gettop(L);
      lua_getfield(L, 2, "pagination");
      meta = lua_istable(L, -1) ? lua_gettop(L) : 0;
    } else {
      lua_pop(L, 1);
    }
  }
  if (!items) {
    lua_getfield(L, 2, "data");
    int data = lua_gettop(L);
    if (lua_istable(L, data)) {
      static const char *const data_lists[] = {"exports", "jobs", "items", "transactions", NULL};
      for (int i = 0; data_lists[i] && !items; i++) {
        lua_getfield(L, data, data_lists[i]);
        if (lua_istable(L, -1)) {
          items = lua_gettop(L);
          lua_getfield(L, data, "pagination");
          if (lua_istable(L, -1)) meta = lua_gettop(L);
          else {
            lua_pop(L, 1);
            /* The reference's flattened field table for GET /list-exports
             * leaves open whether pagination sits in data or beside it:
             * take it from either place. */
            lua_getfield(L, 2, "pagination");
            if (lua_istable(L, -1)) meta = lua_gettop(L);
            else {
              lua_pop(L, 1);
              meta = data; /* jobs: total/page/pages sit beside the list */
            }
          }
        } else {
          lua_pop(L, 1);
        }
      }
    }
  }
  if (!items) return shape_error(L, "a list response had no items array (unexpected envelope)");

  lua_Integer asked = p->next;
  lua_Integer n = (lua_Integer)scv_rawlen(L, items);
  lua_Integer current = asked, pages = -1, total = -1, per_page = -1;
  if (meta) {
    current = field_int(L, meta, "currentPage", field_int(L, meta, "page", asked));
    pages = field_int(L, meta, "totalPages", field_int(L, meta, "pages", -1));
    total = field_int(L, meta, "totalCount", field_int(L, meta, "total", -1));
    per_page = field_int(L, meta, "perPage", field_int(L, meta, "limit", -1));
  }
  if (!advance(L, p, n, current, pages, total, per_page, n > 0 ? page_fingerprint(L, items) : 0)) return 2;
  lua_pushvalue(L, items);
  return 1;
}

static int advance(lua_State *L, scv_pager *p, lua_Integer n, lua_Integer current, lua_Integer pages,
                   lua_Integer total, lua_Integer per_page, uint64_t h) {
  int progressed = p->fed == 0 || current > p->page;
  if (!progressed && n > 0) {
    shape_error(L, "the server answered a page it had already sent (pagination would loop)");
    return 0;
  }
  if (n > 0) {
    if (p->last_n == n && p->last_hash == h) {
      shape_error(L, "the server answered a page with the same items as the page before (it may "
                     "ignore ?page=): pagination would loop");
      return 0;
    }
    if (total >= 0 && p->items_fed + n > total) {
      shape_error(L, "the server sent more items than its own totalCount (pagination would loop)");
      return 0;
    }
    p->last_n = n;
    p->last_hash = h;
    p->items_fed += n;
  }
  p->fed++;
  p->page = current;
  p->pages = pages;
  p->total = total;
  p->per_page = per_page;
  if (n > 0) {
    p->empties = 0;
    p->next = (pages >= 0 && current >= pages) ? 0 : current + 1;
  } else if (progressed && pages >= 0 && current < pages) {
    if (++p->empties > MAX_EMPTY) {
      shape_error(L, "the server answered empty pages over and over before the last page it counts");
      return 0;
    }
    p->next = current + 1; /* skip it: later pages may still hold items */
  } else {
    p->next = 0;
  }
  return 1;
}

/* pager:info() -> page, pages, total, per_page (nil where the server did not say) */
static int l_pager_info(lua_State *L) {
  scv_pager *p = luaL_checkudata(L, 1, SCV_PAGER_MT);
  if (p->fed) lua_pushinteger(L, p->page); else lua_pushnil(L);
  if (p->pages >= 0) lua_pushinteger(L, p->pages); else lua_pushnil(L);
  if (p->total >= 0) lua_pushinteger(L, p->total); else lua_pushnil(L);
  if (p->per_page >= 0) lua_pushinteger(L, p->per_page); else lua_pushnil(L);
  return 4;
}

void scv_pager_open(lua_State *L) {
  if (luaL_newmetatable(L, SCV_PAGER_MT)) {
    lua_newtable(L);
    static const luaL_Reg m[] = {{"next", l_pager_next}, {"feed", l_pager_feed}, {"info", l_pager_info}, {NULL, NULL}};
    scv_setfuncs(L, m, 0);
    lua_setfield(L, -2, "__index");
    lua_pushstring(L, SCV_PAGER_MT);
    lua_setfield(L, -2, "__name");
  }
  lua_pop(L, 1);
  lua_pushcfunction(L, l_pager_new);
  lua_setfield(L, -2, "pager");
}
