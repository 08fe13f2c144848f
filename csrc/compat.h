/*
 * compat.h - the one place that knows which Lua we are compiled against.
 *
 * The core is written to the Lua 5.4 C API; these shims let the same source
 * build for Lua 5.1-5.3 and LuaJIT 2.1 (OpenResty's VM). Names are prefixed
 * so they never collide with a Lua that already has them.
 */
#ifndef SCV_COMPAT_H
#define SCV_COMPAT_H

#include <lua.h>
#include <lauxlib.h>

#if LUA_VERSION_NUM < 502
#define scv_rawlen(L, i) lua_objlen((L), (i))
#else
#define scv_rawlen(L, i) lua_rawlen((L), (i))
#endif

static inline int scv_absindex(lua_State *L, int idx) {
  return (idx > 0 || idx <= LUA_REGISTRYINDEX) ? idx : lua_gettop(L) + idx + 1;
}

/* Integers: JSON integers and query values must stay integers on 5.3+. */
#if LUA_VERSION_NUM >= 503
#define SCV_HAS_INTEGERS 1
#define scv_isinteger(L, i) lua_isinteger((L), (i))
#else
#define SCV_HAS_INTEGERS 0
static inline int scv_isinteger(lua_State *L, int i) {
  if (lua_type(L, i) != LUA_TNUMBER) return 0;
  lua_Number n = lua_tonumber(L, i);
  /* range first: converting a double outside long long's range is undefined */
  return n >= -9007199254740992.0 && n <= 9007199254740992.0 && n == (lua_Number)(long long)n;
}
#endif

/* One user value per userdata: a table holding the object's Lua-side state. */
static inline void scv_setuservalue(lua_State *L, int idx) {
#if LUA_VERSION_NUM >= 504
  lua_setiuservalue(L, idx, 1);
#elif LUA_VERSION_NUM >= 502
  lua_setuservalue(L, idx);
#else
  lua_setfenv(L, idx);
#endif
}

static inline void scv_getuservalue(lua_State *L, int idx) {
#if LUA_VERSION_NUM >= 504
  lua_getiuservalue(L, idx, 1);
#elif LUA_VERSION_NUM >= 502
  lua_getuservalue(L, idx);
#else
  lua_getfenv(L, idx);
#endif
}

static inline void *scv_newuserdata(lua_State *L, size_t size) {
#if LUA_VERSION_NUM >= 504
  return lua_newuserdatauv(L, size, 1);
#else
  return lua_newuserdata(L, size);
#endif
}

/* luaL_setfuncs is missing from plain 5.1; this portable copy serves all. */
static inline void scv_setfuncs(lua_State *L, const luaL_Reg *l, int nup) {
  luaL_checkstack(L, nup + 1, "too many upvalues");
  for (; l->name != NULL; l++) {
    int i;
    for (i = 0; i < nup; i++) lua_pushvalue(L, -nup);
    lua_pushcclosure(L, l->func, nup);
    lua_setfield(L, -(nup + 2), l->name);
  }
  lua_pop(L, nup);
}

static inline void *scv_testudata(lua_State *L, int idx, const char *tname) {
  void *p = lua_touserdata(L, idx);
  if (p == NULL || !lua_getmetatable(L, idx)) return NULL;
  luaL_getmetatable(L, tname);
  int same = lua_rawequal(L, -1, -2);
  lua_pop(L, 2);
  return same ? p : NULL;
}

#endif
