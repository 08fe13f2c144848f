/*
 * errors.c - turning an HTTP response into either a value or a scravio.Error.
 *
 * The API's error body is {message, code, errors:[{param,msg,location}],
 * requestId}. Anything else a server or proxy might send (an HTML 502 page, a
 * truncated body, a redirect) still becomes a structured error with the
 * status, so callers never parse text. Nothing here raises on bad input.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include "scravio.h"

static const char *reason_phrase(long status) {
  switch (status) {
  case 400: return "Bad Request";
  case 401: return "Unauthorized";
  case 403: return "Forbidden";
  case 404: return "Not Found";
  case 405: return "Method Not Allowed";
  case 408: return "Request Timeout";
  case 409: return "Conflict";
  case 413: return "Payload Too Large";
  case 422: return "Unprocessable Entity";
  case 429: return "Too Many Requests";
  case 500: return "Internal Server Error";
  case 502: return "Bad Gateway";
  case 503: return "Service Unavailable";
  case 504: return "Gateway Timeout";
  default: return status >= 500 ? "Server Error" : status >= 400 ? "Client Error" : "Unexpected Status";
  }
}

void scv_push_error(lua_State *L, const char *kind, const char *message, const char *method,
                    const char *path) {
  lua_createtable(L, 0, 12);
  lua_pushstring(L, kind);
  lua_setfield(L, -2, "kind");
  lua_pushstring(L, message);
  lua_setfield(L, -2, "message");
  if (method) {
    lua_pushstring(L, method);
    lua_setfield(L, -2, "method");
  }
  if (path) {
    lua_pushstring(L, path);
    lua_setfield(L, -2, "path");
  }
  lua_pushboolean(L, 0);
  lua_setfield(L, -2, "retryable");
  lua_newtable(L);
  lua_setfield(L, -2, "errors");
  luaL_getmetatable(L, SCV_ERROR_MT);
  lua_setmetatable(L, -2);
}

/* The longest wait we report; anything longer is as good as "not soon". */
#define RETRY_AFTER_MAX (366.0 * 24 * 3600)

double scv_parse_retry_after(const char *v) {
  if (v == NULL) return -1;
  while (*v == ' ' || *v == '\t') v++;
  if (*v == '\0') return -1;
  if (*v >= '0' && *v <= '9') {
    /* delta-seconds: digits only (a fraction is tolerated). strtod is not used
     * on purpose: it would accept "inf", "nan" and hex, and NaN must never
     * reach a sleep. */
    double secs = 0;
    const char *p = v;
    while (*p >= '0' && *p <= '9') {
      if (secs < RETRY_AFTER_MAX) secs = secs * 10 + (*p - '0');
      p++;
    }
    if (*p == '.') {
      double scale = 0.1;
      for (p++; *p >= '0' && *p <= '9'; p++, scale /= 10) secs += (*p - '0') * scale;
    }
    while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n') p++;
    if (*p != '\0') return -1;
    return secs > RETRY_AFTER_MAX ? RETRY_AFTER_MAX : secs;
  }
  time_t when = curl_getdate(v, NULL); /* HTTP-date form */
  if (when == (time_t)-1) return -1;
  double delta = difftime(when, time(NULL));
  if (!(delta > 0)) return 0;
  return delta > RETRY_AFTER_MAX ? RETRY_AFTER_MAX : delta;
}

/* Seconds as a Lua integer when whole (Retry-After: 30 -> 30, not 30.0), so
 * it reads like every other integer the API sends. */
static void push_seconds(lua_State *L, double v) {
  if (v == (double)(long long)v) lua_pushinteger(L, (lua_Integer)v);
  else lua_pushnumber(L, (lua_Number)v);
}

/* Mask the client's own credential in the string field `name` of the table
 * at idx (an absolute index), through mask.c's one function: a server that
 * echoes the key it was sent must not put it into an error message, a log
 * line or a traceback. Lengths, not NULs, bound the search: a JSON "\u0000"
 * in front of the key must not hide it. */
static void redact_field(lua_State *L, int idx, const char *name, const scv_response *r) {
  size_t n;
  lua_getfield(L, idx, name);
  if (lua_type(L, -1) == LUA_TSTRING) {
    const char *v = lua_tolstring(L, -1, &n);
    scv_push_masked(L, r->secret, r->secret_hint, v, n, (size_t)-1);
    lua_setfield(L, idx, name);
  }
  lua_pop(L, 1);
}

static void redact_error(lua_State *L, int err, const scv_response *r) {
  if (r->secret == NULL) return;
  static const char *const fields[] = {"message", "code", "request_id"};
  for (int f = 0; f < 3; f++) redact_field(L, err, fields[f], r);
  lua_getfield(L, err, "errors");
  if (lua_istable(L, -1)) {
    int list = lua_gettop(L);
    size_t n = scv_rawlen(L, list);
    for (size_t i = 1; i <= n; i++) {
      lua_rawgeti(L, list, (int)i);
      if (lua_istable(L, -1)) {
        int e = lua_gettop(L);
        redact_field(L, e, "param", r);
        redact_field(L, e, "msg", r);
        redact_field(L, e, "location", r);
      }
      lua_pop(L, 1);
    }
  }
  lua_pop(L, 1);
}

/* Copy a string field from the table at -1 into the error table at err_idx. */
static void copy_string(lua_State *L, const char *from, int err_idx, const char *to) {
  lua_getfield(L, -1, from);
  if (lua_type(L, -1) == LUA_TSTRING) lua_setfield(L, err_idx, to);
  else lua_pop(L, 1);
}

/* Copy {param,msg,location} entries from the body's errors array (at -1). */
static void copy_param_errors(lua_State *L, int err_idx) {
  lua_getfield(L, -1, "errors");
  if (!lua_istable(L, -1)) {
    lua_pop(L, 1);
    return;
  }
  lua_getfield(L, err_idx, "errors");
  int out = lua_gettop(L);
  size_t n = scv_rawlen(L, -2), k = 0;
  for (size_t i = 1; i <= n && i <= 1000; i++) {
    lua_rawgeti(L, -2, (int)i);
    if (lua_istable(L, -1)) {
      lua_createtable(L, 0, 3);
      static const char *const fields[] = {"param", "msg", "location"};
      for (int f = 0; f < 3; f++) {
        lua_getfield(L, -2, fields[f]);
        if (lua_type(L, -1) == LUA_TSTRING) lua_setfield(L, -2, fields[f]);
        else lua_pop(L, 1);
      }
      lua_rawseti(L, out, (int)++k);
    }
    lua_pop(L, 1);
  }
  lua_pop(L, 2);
}

int scv_classify(lua_State *L, const scv_response *r) {
  char msg[512], errbuf[160];
  errbuf[0] = '\0';
  if (r->status >= 200 && r->status < 300) {
    size_t i = 0;
    while (i < r->body_len && (r->body[i] == ' ' || r->body[i] == '\n' || r->body[i] == '\r' || r->body[i] == '\t')) i++;
    if (i == r->body_len) { /* 204, or a 202 with nothing to say */
      lua_newtable(L);
      return 1;
    }
    if (scv_json_decode(L, r->body, r->body_len, r->max_depth, errbuf, sizeof errbuf)) return 1;
    snprintf(msg, sizeof msg, "HTTP %ld response is not valid JSON (%s)", r->status, errbuf);
    scv_push_error(L, "decode", msg, r->method, r->path);
    lua_pushinteger(L, (lua_Integer)r->status);
    lua_setfield(L, -2, "status");
    lua_pushboolean(L, 1); /* a body cut short in transit may well arrive whole next time */
    lua_setfield(L, -2, "retryable");
    if (r->request_id) {
      lua_pushstring(L, r->request_id);
      lua_setfield(L, -2, "request_id");
    }
    redact_error(L, lua_gettop(L), r);
    return 0;
  }

  /* An error status. Start from what the status alone says... */
  const char *kind = r->status == 429 ? "rate_limited" : "api";
  if (r->status >= 300 && r->status < 400) {
    char where[256] = "another location";
    if (r->location) scv_url_authority(r->location, where, sizeof where);
    snprintf(msg, sizeof msg,
             "HTTP %ld redirect to %s was not followed (credentials never leave the API host)",
             r->status, where);
  } else {
    snprintf(msg, sizeof msg, "HTTP %ld %s", r->status, reason_phrase(r->status));
  }
  scv_push_error(L, kind, msg, r->method, r->path);
  int err = lua_gettop(L);
  lua_pushinteger(L, (lua_Integer)r->status);
  lua_setfield(L, err, "status");
  int retryable = r->status == 408 || r->status == 429 || r->status >= 500;
  if (r->request_id) {
    lua_pushstring(L, r->request_id);
    lua_setfield(L, err, "request_id");
  }
  double ra = scv_parse_retry_after(r->retry_after);
  if (ra >= 0) {
    push_seconds(L, ra);
    lua_setfield(L, err, "retry_after");
  }

  /* ...then let the API's own error body fill in the details. */
  int looks_json = r->body_len > 0 && (r->body[0] == '{' || (r->content_type && strstr(r->content_type, "json")));
  if (looks_json && lua_checkstack(L, 8) &&
      scv_json_decode(L, r->body, r->body_len, r->max_depth, errbuf, sizeof errbuf)) {
    if (lua_istable(L, -1)) {
      lua_getfield(L, -1, "error"); /* tolerate {"error": {...}} wrappers */
      if (lua_istable(L, -1)) lua_remove(L, -2);
      else lua_pop(L, 1);
      copy_string(L, "message", err, "message");
      copy_string(L, "code", err, "code");
      copy_string(L, "requestId", err, "request_id");
      copy_param_errors(L, err);
      lua_getfield(L, -1, "retryAfter");
      if (ra < 0 && lua_type(L, -1) == LUA_TNUMBER) {
        /* Only a finite, non-negative number of seconds may reach a sleep. */
        double v = (double)lua_tonumber(L, -1);
        lua_pop(L, 1);
        if (v >= 0 && v <= RETRY_AFTER_MAX) {
          push_seconds(L, v);
          lua_setfield(L, err, "retry_after");
        }
      } else {
        lua_pop(L, 1);
      }
    }
    lua_pop(L, 1);
  } else {
    if (r->body_len > 0) {
      /* An HTML or text error page from a proxy: say so rather than show it. */
      snprintf(msg, sizeof msg, "HTTP %ld %s (non-JSON %s body from server or proxy)", r->status,
               reason_phrase(r->status), r->content_type ? r->content_type : "unknown");
      lua_pushstring(L, msg);
      lua_setfield(L, err, "message");
    }
    /* No API error body at all (an HTML, text or empty page): a proxy or load
     * balancer may have answered instead of the API, whatever the API did
     * (retry.no_answer reconciles such 5xx answers to credit-spending calls). */
    lua_pushboolean(L, 1);
    lua_setfield(L, err, "proxy_page");
  }
  /* Spending more money is never automatic: no retry on insufficient credits. */
  lua_getfield(L, err, "code");
  if (lua_type(L, -1) == LUA_TSTRING && strcmp(lua_tostring(L, -1), "INSUFFICIENT_CREDITS") == 0) retryable = 0;
  lua_pop(L, 1);
  lua_pushboolean(L, retryable);
  lua_setfield(L, err, "retryable");
  redact_error(L, err, r);
  return 0;
}

/* ---- Lua side -------------------------------------------------------- */

/* A field as text for tostring, with control characters (CR, LF, TAB ...)
 * turned into spaces: a server's message must not break the line. */
static const char *field_str(lua_State *L, int idx, const char *name, char *buf, size_t len) {
  lua_getfield(L, idx, name);
  const char *s = NULL;
  if (lua_type(L, -1) == LUA_TSTRING) {
    snprintf(buf, len, "%s", lua_tostring(L, -1));
    for (char *q = buf; *q; q++)
      if ((unsigned char)*q < 0x20 || *q == 0x7f) *q = ' ';
    s = buf;
  } else if (lua_type(L, -1) == LUA_TNUMBER) {
    snprintf(buf, len, "%.0f", (double)lua_tonumber(L, -1));
    s = buf;
  }
  lua_pop(L, 1);
  return s;
}

/* One readable line, built only from the error's own (secret-free) fields. */
static int error_tostring(lua_State *L) {
  char kind[32], status[16], code[64], message[400], method[16], path[200], rid[80], param[80], pmsg[200];
  luaL_Buffer b;
  luaL_checktype(L, 1, LUA_TTABLE);
  const char *k = field_str(L, 1, "kind", kind, sizeof kind);
  const char *st = field_str(L, 1, "status", status, sizeof status);
  const char *c = field_str(L, 1, "code", code, sizeof code);
  const char *m = field_str(L, 1, "message", message, sizeof message);
  const char *me = field_str(L, 1, "method", method, sizeof method);
  const char *p = field_str(L, 1, "path", path, sizeof path);
  const char *r = field_str(L, 1, "request_id", rid, sizeof rid);
  const char *pa = NULL, *pm = NULL;
  lua_getfield(L, 1, "errors");
  if (lua_istable(L, -1)) {
    lua_rawgeti(L, -1, 1);
    if (lua_istable(L, -1)) {
      int e = lua_gettop(L);
      pa = field_str(L, e, "param", param, sizeof param);
      pm = field_str(L, e, "msg", pmsg, sizeof pmsg);
    }
    lua_pop(L, 1);
  }
  lua_pop(L, 1);
  luaL_buffinit(L, &b);
  luaL_addstring(&b, "scravio ");
  luaL_addstring(&b, k ? k : "unknown");
  luaL_addstring(&b, " error");
  if (st) { luaL_addstring(&b, " "); luaL_addstring(&b, st); }
  if (c) { luaL_addstring(&b, " "); luaL_addstring(&b, c); }
  luaL_addstring(&b, ": ");
  luaL_addstring(&b, m ? m : "no message");
  if (pa) {
    luaL_addstring(&b, " [");
    luaL_addstring(&b, pa);
    if (pm && !(m && strstr(m, pm))) { luaL_addstring(&b, ": "); luaL_addstring(&b, pm); }
    luaL_addstring(&b, "]");
  }
  if (me && p) {
    luaL_addstring(&b, " (");
    luaL_addstring(&b, me);
    luaL_addstring(&b, " ");
    luaL_addstring(&b, p);
    luaL_addstring(&b, ")");
  }
  if (r) { luaL_addstring(&b, " request_id="); luaL_addstring(&b, r); }
  luaL_pushresult(&b);
  return 1;
}

/* core.error(tbl): give a table the Error metatable (used by the Lua layer). */
static int l_error(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  lua_settop(L, 1);
  lua_getfield(L, 1, "errors");
  if (lua_isnil(L, -1)) {
    lua_newtable(L);
    lua_setfield(L, 1, "errors");
  }
  lua_pop(L, 1);
  lua_getfield(L, 1, "retryable");
  if (lua_isnil(L, -1)) {
    lua_pushboolean(L, 0);
    lua_setfield(L, 1, "retryable");
  }
  lua_pop(L, 1);
  luaL_getmetatable(L, SCV_ERROR_MT);
  lua_setmetatable(L, 1);
  return 1;
}

static int l_is_error(lua_State *L) {
  int is = 0;
  if (lua_istable(L, 1) && lua_getmetatable(L, 1)) {
    luaL_getmetatable(L, SCV_ERROR_MT);
    is = lua_rawequal(L, -1, -2);
    lua_pop(L, 2);
  }
  lua_pushboolean(L, is);
  return 1;
}

/* core.classify(status, headers, body, method, path, client, lazy): for Lua
 * transports (cosockets) that read the response themselves. headers:
 * lowercase names; client (optional) lets an echo of its credential be
 * masked; lazy: a 2xx JSON object comes back as a LazyDoc, as client:send's;
 * lazy = "page": a 2xx list page comes back as a LazyPage that keeps the body
 * string itself (anchored, never copied: csrc/lazypage.c). */
static int l_classify(lua_State *L) {
  scv_response r;
  memset(&r, 0, sizeof r);
  r.status = (long)luaL_checkinteger(L, 1);
  luaL_checktype(L, 2, LUA_TTABLE);
  r.body = luaL_optlstring(L, 3, "", &r.body_len);
  r.method = luaL_optstring(L, 4, NULL);
  r.path = luaL_optstring(L, 5, NULL);
  r.max_depth = 256;
  /* The client only lends its credential for masking: a closed one (another
   * light thread closed it) lends none, and classify never raises for it.
   * It stays at slot 6 so the credential outlives the classification. */
  int page = lua_type(L, 7) == LUA_TSTRING && strcmp(lua_tostring(L, 7), "page") == 0;
  int lazy = !page && lua_toboolean(L, 7);
  lua_settop(L, 6);
  /* A 2xx object (or streamed page) asked for lazily needs none of the header
   * values (they only go into error objects): it is indexed before any of
   * them is masked. */
  if (lazy && r.status >= 200 && r.status < 300 && scv_lazydoc_push(L, r.body, r.body_len, r.max_depth)) return 1;
  if (page && r.status >= 200 && r.status < 300 && scv_lazypage_push(L, r.body, r.body_len, r.max_depth, 3, NULL))
    return 1;
  const scv_client *owner = lua_isnoneornil(L, 6) ? NULL : scv_testudata(L, 6, SCV_CLIENT_MT);
  scv_client_secret(owner, &r.secret, &r.secret_hint);
  /* Header values are masked, then cut, exactly as the libcurl transport's
   * (transport.c header_value): one mask, one length, on both transports. */
  static const char *const names[4] = {"content-type", "x-request-id", "retry-after", "location"};
  const char *vals[4];
  char hv[4][SCV_HEADER_VALUE_MAX + 1];
  for (int i = 0; i < 4; i++) {
    size_t n;
    lua_getfield(L, 2, names[i]);
    const char *v = lua_type(L, -1) == LUA_TSTRING ? lua_tolstring(L, -1, &n) : NULL;
    vals[i] = v ? (scv_mask(r.secret, r.secret_hint, v, n, hv[i], SCV_HEADER_VALUE_MAX + 1), hv[i]) : NULL;
    lua_pop(L, 1);
  }
  r.content_type = vals[0];
  r.request_id = vals[1];
  r.retry_after = vals[2];
  r.location = vals[3];
  if (scv_classify(L, &r)) return 1;
  lua_pushnil(L);
  lua_insert(L, -2);
  return 2;
}

void scv_errors_open(lua_State *L) {
  if (luaL_newmetatable(L, SCV_ERROR_MT)) {
    lua_pushcfunction(L, error_tostring);
    lua_setfield(L, -2, "__tostring");
    lua_pushstring(L, SCV_ERROR_MT);
    lua_setfield(L, -2, "__name");
  }
  lua_pop(L, 1);
  static const luaL_Reg fns[] = {
      {"error", l_error}, {"is_error", l_is_error}, {"classify", l_classify}, {NULL, NULL}};
  scv_setfuncs(L, fns, 0);
}
