/*
 * resources.c - the Campaign, ValidationJob and Export userdata.
 *
 * Each object is a userdata whose user value holds {data, client}: `data` is
 * the decoded API object, so fields read straight through (`c.status`,
 * `c.creditSettlement.creditCharged`) and `id` maps to the type's own id field
 * (_id, jobId, exportId). Methods come from a per-type table that the Lua
 * layer fills (`refresh`, `wait`, `leads` ...): C owns the object, Lua adds
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

/* Push the object's data table. */
static void push_data(lua_State *L, int idx) {
  scv_getuservalue(L, idx);
  lua_rawgeti(L, -1, 1);
  lua_remove(L, -2);
}

/* Push the id string (or nil). */
static void push_id(lua_State *L, int idx, const scv_resource *r) {
  push_data(L, idx);
  lua_getfield(L, -1, KINDS[r->kind].id_field);
  if (lua_isnil(L, -1)) { /* some envelopes say "id" */
    lua_pop(L, 1);
    lua_getfield(L, -1, "id");
  }
  lua_remove(L, -2);
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
  push_data(L, 1);
  lua_pushvalue(L, 2);
  lua_rawget(L, -2);
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
  push_data(L, 1);
  lua_getfield(L, -1, "status");
  const char *status = lua_tostring(L, -1);
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

/* core.wrap(kind, data, client) -> userdata */
static int l_wrap(lua_State *L) {
  const char *kind = luaL_checkstring(L, 1);
  luaL_checktype(L, 2, LUA_TTABLE);
  int k;
  for (k = 0; k < NKINDS; k++)
    if (strcmp(kind, KINDS[k].short_name) == 0) break;
  if (k == NKINDS) return luaL_error(L, "scravio: unknown resource kind '%s'", kind);
  scv_resource *r = scv_newuserdata(L, sizeof *r);
  r->kind = k;
  luaL_getmetatable(L, KINDS[k].name);
  lua_setmetatable(L, -2);
  lua_createtable(L, 2, 0);
  lua_pushvalue(L, 2);
  lua_rawseti(L, -2, 1);
  lua_pushvalue(L, 3);
  lua_rawseti(L, -2, 2);
  scv_setuservalue(L, -2);
  return 1;
}

/* core.unwrap(obj) -> data, client, kind */
static int l_unwrap(lua_State *L) {
  scv_resource *r = check_resource(L, 1);
  scv_getuservalue(L, 1);
  lua_rawgeti(L, -1, 1);
  lua_rawgeti(L, -2, 2);
  lua_pushstring(L, KINDS[r->kind].short_name);
  return 3;
}

/* core.replace(obj, data): refresh in place, so every holder sees the update. */
static int l_replace(lua_State *L) {
  check_resource(L, 1);
  luaL_checktype(L, 2, LUA_TTABLE);
  scv_getuservalue(L, 1);
  lua_pushvalue(L, 2);
  lua_rawseti(L, -2, 1);
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
  static const luaL_Reg fns[] = {{"wrap", l_wrap}, {"unwrap", l_unwrap}, {"replace", l_replace}, {"kind", l_kind}, {NULL, NULL}};
  scv_setfuncs(L, fns, 0);
}
