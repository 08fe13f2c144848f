/*
 * core.c - luaopen_scravio_core: assembles the module table from the parts
 * and adds the small runtime helpers the Lua layer needs (JSON, a monotonic
 * clock, a blocking sleep for plain Lua, random ids).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "scravio.h"

#define JSON_MAX_DEPTH 256

/* core.json_decode(s) -> value | nil, message */
static int l_json_decode(lua_State *L) {
  size_t n;
  const char *s = luaL_checklstring(L, 1, &n);
  char err[160];
  if (scv_json_decode(L, s, n, JSON_MAX_DEPTH, err, sizeof err)) return 1;
  lua_pushnil(L);
  lua_pushstring(L, err);
  return 2;
}

/* core.json_encode(v) -> string | nil, message */
static int l_json_encode(lua_State *L) {
  luaL_checkany(L, 1);
  char err[160];
  if (scv_json_encode(L, 1, JSON_MAX_DEPTH, err, sizeof err)) return 1;
  lua_pushnil(L);
  lua_pushstring(L, err);
  return 2;
}

/* core.monotime() -> seconds on a clock that never jumps */
static int l_monotime(lua_State *L) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  lua_pushnumber(L, (lua_Number)ts.tv_sec + (lua_Number)ts.tv_nsec / 1e9);
  return 1;
}

/* core.time() -> wall-clock seconds with sub-second precision */
static int l_time(lua_State *L) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  lua_pushnumber(L, (lua_Number)ts.tv_sec + (lua_Number)ts.tv_nsec / 1e9);
  return 1;
}

/* core.sleep(seconds[, interruptible]) -> interrupted: plain Lua only;
 * OpenResty sleeps through ngx.sleep. With `interruptible`, a Ctrl-C
 * (SIGINT, when the program handles it) ends the sleep at once and is
 * reported as true instead of waiting for the interpreter's hook. */
static int l_sleep(lua_State *L) {
  lua_Number s = luaL_checknumber(L, 1);
  int interruptible = lua_toboolean(L, 2);
  lua_pushboolean(L, 0);
  if (!(s > 0)) return 1; /* also NaN: it must never reach the time_t cast below */
  if (s > 1e9) s = 1e9;   /* beyond time_t's range the cast is undefined behaviour */
  if (interruptible) {
    lua_pushboolean(L, scv_sigint_sleep((double)s));
    return 1;
  }
  struct timespec ts;
  ts.tv_sec = (time_t)s;
  ts.tv_nsec = (long)((s - (lua_Number)ts.tv_sec) * 1e9);
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
  return 1;
}

/* core.uuid() -> a random RFC 4122 version-4 UUID (idempotency keys) */
static int l_uuid(lua_State *L) {
  unsigned char b[16];
  int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
  ssize_t got = fd >= 0 ? read(fd, b, sizeof b) : -1;
  if (fd >= 0) close(fd);
  if (got != (ssize_t)sizeof b) return luaL_error(L, "scravio: cannot read /dev/urandom");
  b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
  b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
  char out[37];
  snprintf(out, sizeof out, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1], b[2],
           b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
  lua_pushstring(L, out);
  return 1;
}

/* core.isatty(fd) -> boolean (progress bars only draw on terminals) */
static int l_isatty(lua_State *L) {
  lua_pushboolean(L, isatty((int)luaL_optinteger(L, 1, 2)));
  return 1;
}

/* core.columns() -> the terminal's width (progress lines fit it) */
static int l_columns(lua_State *L) {
  lua_pushinteger(L, (lua_Integer)scv_terminal_columns());
  return 1;
}

static int l_curl_version(lua_State *L) {
  curl_version_info_data *v = curl_version_info(CURLVERSION_NOW);
  lua_pushstring(L, v && v->version ? v->version : LIBCURL_VERSION);
  return 1;
}

#if defined(_WIN32)
#define SCV_EXPORT __declspec(dllexport)
#else
#define SCV_EXPORT __attribute__((visibility("default")))
#endif

SCV_EXPORT int luaopen_scravio_core(lua_State *L) {
#if LUA_VERSION_NUM >= 502
  /* A build for another 5.x whose symbols all resolve must not run on this VM. */
  luaL_checkversion(L);
#endif
  /* Thread-safe since libcurl 7.84; done once per process by libcurl itself. */
  if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) return luaL_error(L, "scravio: libcurl failed to initialise");
  scv_json_init(L);
  lua_newtable(L);
  static const luaL_Reg fns[] = {{"json_decode", l_json_decode}, {"json_encode", l_json_encode},
                                 {"monotime", l_monotime},       {"time", l_time},
                                 {"sleep", l_sleep},             {"uuid", l_uuid},
                                 {"isatty", l_isatty},           {"curl_version", l_curl_version},
                                 {"columns", l_columns},
                                 {NULL, NULL}};
  scv_setfuncs(L, fns, 0);
  lua_pushstring(L, SCV_VERSION);
  lua_setfield(L, -2, "version");
  scv_json_push_null(L); /* tostring: "scravio.null"; cjson.null encodes as null too */
  lua_setfield(L, -2, "null");
  luaL_getmetatable(L, SCV_ARRAY_MT);
  lua_setfield(L, -2, "array_mt");
  scv_errors_open(L);
  scv_mask_open(L);
  scv_files_open(L);
  scv_client_open(L);
  scv_pager_open(L);
  scv_lazydoc_open(L);
  scv_lazypage_open(L);
  scv_resources_open(L);
  return 1;
}
