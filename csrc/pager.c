/*
 * pager.c - the pagination state machine over the API's list envelopes.
 *
 * The reference uses four shapes for a page:
 *   {items, pagination{currentPage,totalPages,totalCount}}        campaigns, leads
 *   {transactions, pagination{...}}                                credit transactions
 *   {data{exports, pagination{...}}}                               exports
 *   {data{jobs, total, page, pages}}                               validation jobs
 * A Pager knows which page to ask for next and when to stop; the Lua layer
 * drives the requests. It stops on the last page, and on an empty page when
 * the server does not count more pages; an empty page before the last one
 * the server counts is skipped (the list changed under us: stopping there
 * would drop the pages after it silently), up to MAX_EMPTY in a row. It
 * refuses a server that answers the same page twice (which would loop).
 */
#include <string.h>
#include "scravio.h"

typedef struct {
  lua_Integer next;  /* page to request next; 0 when finished */
  lua_Integer page;  /* last page fed */
  lua_Integer pages; /* total pages, -1 if unknown */
  lua_Integer total; /* total items, -1 if unknown */
  lua_Integer fed;   /* pages fed so far */
  int empties;       /* empty pages in a row, skipped because more were counted */
} scv_pager;

#define MAX_EMPTY 10

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

/* pager:feed(body) -> items | nil, err
 * Finds the items array and the page counters wherever the envelope keeps them. */
static int l_pager_feed(lua_State *L) {
  scv_pager *p = luaL_checkudata(L, 1, SCV_PAGER_MT);
  if (!lua_istable(L, 2)) return shape_error(L, "a list response was not a JSON object");
  lua_settop(L, 2);
  int items = 0, meta = 0;
  static const char *const top_lists[] = {"items", "transactions", NULL};
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
            meta = data; /* jobs: total/page/pages sit beside the list */
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
  lua_Integer current = asked, pages = -1, total = -1;
  if (meta) {
    current = field_int(L, meta, "currentPage", field_int(L, meta, "page", asked));
    pages = field_int(L, meta, "totalPages", field_int(L, meta, "pages", -1));
    total = field_int(L, meta, "totalCount", field_int(L, meta, "total", -1));
  }
  int progressed = p->fed == 0 || current > p->page;
  if (!progressed && n > 0)
    return shape_error(L, "the server answered a page it had already sent (pagination would loop)");
  p->fed++;
  p->page = current;
  p->pages = pages;
  p->total = total;
  if (n > 0) {
    p->empties = 0;
    p->next = (pages >= 0 && current >= pages) ? 0 : current + 1;
  } else if (progressed && pages >= 0 && current < pages) {
    if (++p->empties > MAX_EMPTY)
      return shape_error(L, "the server answered empty pages over and over before the last page it counts");
    p->next = current + 1; /* skip it: later pages may still hold items */
  } else {
    p->next = 0;
  }
  lua_pushvalue(L, items);
  return 1;
}

/* pager:info() -> page, pages, total (nil where the server did not say) */
static int l_pager_info(lua_State *L) {
  scv_pager *p = luaL_checkudata(L, 1, SCV_PAGER_MT);
  if (p->fed) lua_pushinteger(L, p->page); else lua_pushnil(L);
  if (p->pages >= 0) lua_pushinteger(L, p->pages); else lua_pushnil(L);
  if (p->total >= 0) lua_pushinteger(L, p->total); else lua_pushnil(L);
  return 3;
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
