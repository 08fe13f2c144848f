/*
 * resources.c - the Campaign, ValidationJob and Export userdata.
 *
 * Each object is a userdata whose user value holds {data, client, doc, cache}:
 * `data` is the decoded API object, so fields read straight through
 * (`c.status`, `c.creditSettlement.creditCharged`) and `id` maps to the type's
 * own id field (_id, jobId, exportId). An object fetched by id starts with a
 * LazyDoc (`doc`, see lazydoc.c) instead of `data`: a field is decoded when it
 * is first read and kept in `cache`, so it is the same table on every read;
 * anything that needs the whole object (pairs, core.unwrap, data()) turns it
 * into `data` once. Methods come from a per-type table that the Lua layer
 * fills (`refresh`, `wait`, `leads` ...): C owns the object, Lua adds
 * behaviour, and both sit on the same value.
 */
#include <string.h>
#include "scravio.h"

typedef struct {
  const char *name;    /* metatable name */
  const char *short_name;
  const char *id_field;
} kind_info;

static const kind_info KINDS[] = {
    {"scravio.Campaign", "Campaign", "_id"},
    {"scravio.ValidationJob", "ValidationJob", "jobId"},
    {"scravio.Export", "Export", "exportId"},
};
#define NKINDS ((int)(sizeof KINDS / sizeof KINDS[0]))

typedef struct {
  int kind;
} scv_resource;

static scv_resource *to_resource(lua_State *L, int idx) {
  for (int k = 0; k < NKINDS; k++) {
    scv_resource *r = scv_testudata(L, idx, KINDS[k].name);
    if (r) return r;
  }
  return NULL;
}

static scv_resource *check_resource(lua_State *L, int idx) {
  scv_resource *r = to_resource(L, idx);
  if (r == NULL) luaL_error(L, "scravio: expected a Campaign, ValidationJob or Export, got %s", luaL_typename(L, idx));
  return r;
}

/* Slots of the user value table. */
enum { UV_DATA = 1, UV_CLIENT = 2, UV_DOC = 3, UV_CACHE = 4 };

/* Push the object's data table, decoding a LazyDoc into it first. */
static void push_data(lua_State *L, int idx) {
  scv_getuservalue(L, idx);
  int uv = lua_gettop(L);
  lua_rawgeti(L, uv, UV_DATA);
  if (lua_isnil(L, -1)) {
    lua_pop(L, 1);
    lua_rawgeti(L, uv, UV_DOC);
    lua_rawgeti(L, uv, UV_CACHE);
    scv_lazydoc_table(L, uv + 1, lua_isnil(L, -1) ? 0 : uv + 2);
    lua_pushvalue(L, -1);
    lua_rawseti(L, uv, UV_DATA);
    lua_pushnil(L);
    lua_rawseti(L, uv, UV_DOC);
    lua_pushnil(L);
    lua_rawseti(L, uv, UV_CACHE);
    lua_replace(L, uv);
    lua_settop(L, uv);
    return;
  }
  lua_remove(L, uv);
}

/* Push field `key` (the value at stack index kidx) of the object at idx. */
static void push_field(lua_State *L, int idx, int kidx) {
  kidx = scv_absindex(L, kidx);
  scv_getuservalue(L, idx);
  int uv = lua_gettop(L);
  lua_rawgeti(L, uv, UV_DATA);
  if (!lua_isnil(L, -1)) {
    lua_pushvalue(L, kidx);
    lua_rawget(L, -2);
  } else if (lua_type(L, kidx) != LUA_TSTRING) {
    lua_pushnil(L); /* a JSON object has string keys only */
  } else {
    lua_rawgeti(L, uv, UV_CACHE);
    if (!lua_isnil(L, -1)) {
      lua_pushvalue(L, kidx);
      lua_rawget(L, -2);
    } else {
      lua_pushnil(L);
    }
    if (lua_isnil(L, -1)) {
      size_t n;
      const char *k = lua_tolstring(L, kidx, &n);
      lua_pop(L, 1);
      lua_rawgeti(L, uv, UV_DOC);
      if (scv_lazydoc_get(L, -1, k, n)) {
        if (lua_isnil(L, -3)) { /* the first field read: make the cache */
          lua_newtable(L);
          lua_pushvalue(L, -1);
          lua_rawseti(L, uv, UV_CACHE);
          lua_replace(L, -4);
        }
        lua_pushvalue(L, kidx);
        lua_pushvalue(L, -2);
        lua_rawset(L, -5);
      } else {
        lua_pushnil(L);
      }
    }
  }
  lua_replace(L, uv);
  lua_settop(L, uv);
}

/* Push the id string (or nil). */
static void push_id(lua_State *L, int idx, const scv_resource *r) {
  lua_pushstring(L, KINDS[r->kind].id_field);
  push_field(L, idx, -1);
  lua_remove(L, -2);
  if (lua_isnil(L, -1)) { /* some envelopes say "id" */
    lua_pop(L, 1);
    lua_pushliteral(L, "id");
    push_field(L, idx, -1);
    lua_remove(L, -2);
  }
}

/* __index(obj, key), upvalue 1: the methods table of this kind. */
static int res_index(lua_State *L) {
  scv_resource *r = lua_touserdata(L, 1);
  lua_pushvalue(L, 2);
  lua_rawget(L, lua_upvalueindex(1));
  if (!lua_isnil(L, -1)) return 1;
  lua_pop(L, 1);
  if (lua_type(L, 2) == LUA_TSTRING) {
    size_t n;
    const char *k = lua_tolstring(L, 2, &n);
    if (n == 2 && k[0] == 'i' && k[1] == 'd') {
      push_id(L, 1, r);
      return 1;
    }
  }
  push_field(L, 1, 2);
  return 1;
}

static int res_newindex(lua_State *L) {
  scv_resource *r = lua_touserdata(L, 1);
  return luaL_error(L, "scravio.%s fields are read-only (they mirror the API; use :refresh() or :data())",
                    KINDS[r->kind].short_name);
}

static int res_tostring(lua_State *L) {
  scv_resource *r = lua_touserdata(L, 1);
  push_id(L, 1, r);
  const char *id = lua_tostring(L, -1);
  lua_pushliteral(L, "status");
  push_field(L, 1, -1);
  const char *status = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : NULL;
  lua_pushfstring(L, "scravio.%s(%s%s%s)", KINDS[r->kind].short_name, id ? id : "?", status ? ", " : "",
                  status ? status : "");
  return 1;
}

/* Two objects are equal when they are the same kind of thing with the same id. */
static int res_eq(lua_State *L) {
  scv_resource *a = to_resource(L, 1), *b = to_resource(L, 2);
  if (!a || !b || a->kind != b->kind) {
    lua_pushboolean(L, 0);
    return 1;
  }
  push_id(L, 1, a);
  push_id(L, 2, b);
  lua_pushboolean(L, !lua_isnil(L, -1) && lua_rawequal(L, -1, -2));
  return 1;
}

#if LUA_VERSION_NUM >= 502
static int res_pairs(lua_State *L) {
  check_resource(L, 1);
  lua_getglobal(L, "next");
  push_data(L, 1);
  lua_pushnil(L);
  return 3;
}
#endif

/* The data argument of wrap and replace: a decoded table or a LazyDoc. */
static int check_data(lua_State *L, int idx) {
  if (lua_istable(L, idx)) return UV_DATA;
  if (scv_testudata(L, idx, SCV_LAZYDOC_MT)) return UV_DOC;
  return luaL_argerror(L, idx, "expected a table or a LazyDoc");
}

/* core.wrap(kind, data, client) -> userdata */
static int l_wrap(lua_State *L) {
  const char *kind = luaL_checkstring(L, 1);
  int slot = check_data(L, 2);
  int k;
  for (k = 0; k < NKINDS; k++)
    if (strcmp(kind, KINDS[k].short_name) == 0) break;
  if (k == NKINDS) return luaL_error(L, "scravio: unknown resource kind '%s'", kind);
  scv_resource *r = scv_newuserdata(L, sizeof *r);
  r->kind = k;
  luaL_getmetatable(L, KINDS[k].name);
  lua_setmetatable(L, -2);
  lua_createtable(L, 4, 0);
  lua_pushvalue(L, 2);
  lua_rawseti(L, -2, slot);
  lua_pushvalue(L, 3);
  lua_rawseti(L, -2, UV_CLIENT);
  scv_setuservalue(L, -2);
  return 1;
}

/* core.unwrap(obj) -> data, client, kind (decodes a lazy object whole) */
static int l_unwrap(lua_State *L) {
  scv_resource *r = check_resource(L, 1);
  push_data(L, 1);
  scv_getuservalue(L, 1);
  lua_rawgeti(L, -1, UV_CLIENT);
  lua_remove(L, -2);
  lua_pushstring(L, KINDS[r->kind].short_name);
  return 3;
}

/* core.owner(obj) -> client: without decoding anything */
static int l_owner(lua_State *L) {
  check_resource(L, 1);
  scv_getuservalue(L, 1);
  lua_rawgeti(L, -1, UV_CLIENT);
  return 1;
}

/* core.replace(obj, data): refresh in place, so every holder sees the update. */
static int l_replace(lua_State *L) {
  check_resource(L, 1);
  int slot = check_data(L, 2);
  scv_getuservalue(L, 1);
  lua_pushnil(L);
  lua_rawseti(L, -2, UV_DATA);
  lua_pushnil(L);
  lua_rawseti(L, -2, UV_DOC);
  lua_pushnil(L);
  lua_rawseti(L, -2, UV_CACHE);
  lua_pushvalue(L, 2);
  lua_rawseti(L, -2, slot);
  lua_settop(L, 1);
  return 1;
}

/* core.kind(x) -> "Campaign" | "ValidationJob" | "Export" | nil */
static int l_kind(lua_State *L) {
  scv_resource *r = to_resource(L, 1);
  if (r) lua_pushstring(L, KINDS[r->kind].short_name);
  else lua_pushnil(L);
  return 1;
}

void scv_resources_open(lua_State *L) {
  lua_newtable(L); /* core.methods = {Campaign={}, ValidationJob={}, Export={}} */
  for (int k = 0; k < NKINDS; k++) {
    lua_newtable(L);
    int methods = lua_gettop(L);
    luaL_newmetatable(L, KINDS[k].name);
    lua_pushvalue(L, methods);
    lua_pushcclosure(L, res_index, 1);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, res_newindex);
    lua_setfield(L, -2, "__newindex");
    lua_pushcfunction(L, res_tostring);
    lua_setfield(L, -2, "__tostring");
    lua_pushcfunction(L, res_eq);
    lua_setfield(L, -2, "__eq");
#if LUA_VERSION_NUM >= 502
    lua_pushcfunction(L, res_pairs);
    lua_setfield(L, -2, "__pairs");
#endif
    lua_pushstring(L, KINDS[k].name);
    lua_setfield(L, -2, "__name");
    lua_pop(L, 1);
    lua_setfield(L, -2, KINDS[k].short_name);
  }
  lua_setfield(L, -2, "methods");
  static const luaL_Reg fns[] = {{"wrap", l_wrap}, {"unwrap", l_unwrap}, {"owner", l_owner}, {"replace", l_replace}, {"kind", l_kind}, {NULL, NULL}};
  scv_setfuncs(L, fns, 0);
}
