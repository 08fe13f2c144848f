/*
 * libFuzzer target for csrc/errors.c: response classification.
 *
 * The input is cut into a status, optional header values (Content-Type,
 * X-Request-Id, Retry-After, Location) and a body, and handed to scv_classify
 * the way the transport does. For every input:
 *  - exactly one value is pushed; 1 is returned only for a 2xx;
 *  - an error is a table with the scravio.Error metatable, a string kind out
 *    of the known set, a string message, a boolean retryable, the status;
 *    a retry_after, when present, is a finite number in [0, one year];
 *    400/401/403/404/409 are never retryable, 408/429/5xx are unless the body
 *    says INSUFFICIENT_CREDITS;
 *  - tostring(err) works and is one line of bounded length, and never shows
 *    the client's credential (r.secret) however the body echoes it;
 *  - scv_parse_retry_after on the raw input is -1 or finite in [0, one year];
 *  - the same, with Lua's allocator failing part-way (under lua_pcall):
 *    memory errors may be raised, but nothing crashes or leaks.
 * Violations abort(). Build and run: fuzz/run.sh (see fuzz/README.md).
 */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../csrc/scravio.h"

#define YEAR (366.0 * 24 * 3600)

typedef struct {
  size_t count, limit;
} alloc_state;

static void *fuzz_alloc(void *ud, void *ptr, size_t osize, size_t nsize) {
  alloc_state *st = ud;
  (void)osize;
  if (nsize == 0) {
    free(ptr);
    return NULL;
  }
  if (ptr == NULL || nsize > osize) {
    if (st->count >= st->limit) return NULL;
    st->count++;
  }
  return realloc(ptr, nsize);
}

/* The credential the classified responses may echo (see check_error). */
#define FUZZ_SECRET "SECRETSECRET42"

static void fail(const char *what, const char *detail) {
  fprintf(stderr, "fuzz_errors: %s: %s\n", what, detail ? detail : "");
  abort();
}

typedef struct {
  const uint8_t *data;
  size_t size;
  int strict; /* 0 while the allocator may fail: only crashes count */
} job;

/* Split "a\nb\nc..." header values off the front; NULL when absent. */
static const char *next_value(const uint8_t **p, size_t *n, char *out, size_t outlen, int present) {
  const uint8_t *nl = memchr(*p, '\n', *n);
  size_t len = nl ? (size_t)(nl - *p) : *n;
  size_t copy = len < outlen - 1 ? len : outlen - 1;
  memcpy(out, *p, copy);
  out[copy] = '\0';
  *p += nl ? len + 1 : len;
  *n -= nl ? len + 1 : len;
  return present ? out : NULL;
}

static const char *const KINDS[] = {"api", "rate_limited", "decode", NULL};

static void check_error(lua_State *L, long status, int strict) {
  if (!lua_istable(L, -1)) fail("error is not a table", NULL);
  if (!lua_getmetatable(L, -1)) fail("error has no metatable", NULL);
  luaL_getmetatable(L, SCV_ERROR_MT);
  if (!lua_rawequal(L, -1, -2)) fail("error has the wrong metatable", NULL);
  lua_pop(L, 2);

  lua_getfield(L, -1, "kind");
  const char *kind = lua_tostring(L, -1);
  int known = 0;
  for (int i = 0; kind && KINDS[i]; i++) known |= strcmp(kind, KINDS[i]) == 0;
  if (!known) fail("unexpected error kind", kind);
  if (strcmp(kind, "rate_limited") == 0 && status != 429) fail("rate_limited without 429", NULL);
  lua_pop(L, 1);

  lua_getfield(L, -1, "message");
  if (lua_type(L, -1) != LUA_TSTRING) fail("message is not a string", NULL);
  lua_pop(L, 1);

  lua_getfield(L, -1, "status");
  if (!lua_isinteger(L, -1) || lua_tointeger(L, -1) != status) fail("status not kept", NULL);
  lua_pop(L, 1);

  lua_getfield(L, -1, "retryable");
  if (!lua_isboolean(L, -1)) fail("retryable is not a boolean", NULL);
  int retryable = lua_toboolean(L, -1);
  lua_pop(L, 1);
  if (status == 400 || status == 401 || status == 403 || status == 404 || status == 409) {
    if (retryable) fail("a 400/401/403/404/409 was marked retryable", NULL);
  }
  if ((status == 408 || status == 429 || status >= 500) && !retryable) {
    lua_getfield(L, -1, "code");
    const char *code = lua_tostring(L, -1);
    if (!(code && strcmp(code, "INSUFFICIENT_CREDITS") == 0)) fail("a 408/429/5xx was not retryable", NULL);
    lua_pop(L, 1);
  }

  lua_getfield(L, -1, "retry_after");
  if (!lua_isnil(L, -1)) {
    if (lua_type(L, -1) != LUA_TNUMBER) fail("retry_after is not a number", NULL);
    double ra = (double)lua_tonumber(L, -1);
    if (!(ra >= 0 && ra <= YEAR)) fail("retry_after out of range", NULL);
  }
  lua_pop(L, 1);

  lua_getfield(L, -1, "errors");
  if (!lua_istable(L, -1)) fail("errors is not a table", NULL);
  lua_pop(L, 1);

  size_t n;
  const char *s = luaL_tolstring(L, -1, &n); /* __tostring */
  if (strict && (s == NULL || n > 4096)) fail("tostring(err) is too long", NULL);
  if (s && (memchr(s, '\n', n) || memchr(s, '\r', n))) fail("tostring(err) is not one line", s);
  /* The client's own credential, echoed anywhere in the body, never shows. */
  if (s && n >= sizeof FUZZ_SECRET - 1) {
    for (size_t i = 0; i + sizeof FUZZ_SECRET - 1 <= n; i++)
      if (memcmp(s + i, FUZZ_SECRET, sizeof FUZZ_SECRET - 1) == 0) fail("tostring(err) shows the secret", s);
  }
  lua_pop(L, 1);
}

static int run(lua_State *L) {
  job *j = lua_touserdata(L, 1);
  lua_settop(L, 0);
  lua_newtable(L); /* a module table for scv_errors_open */
  scv_errors_open(L);
  lua_settop(L, 0);

  const uint8_t *p = j->data;
  size_t n = j->size;
  if (n < 3) return 0;
  long status = 100 + (long)((p[0] << 8 | p[1]) % 500);
  uint8_t flags = p[2];
  p += 3;
  n -= 3;
  char ct[256], rid[256], ra[256], loc[256];
  scv_response r;
  memset(&r, 0, sizeof r);
  r.status = status;
  r.content_type = next_value(&p, &n, ct, sizeof ct, flags & 1);
  r.request_id = next_value(&p, &n, rid, sizeof rid, flags & 2);
  r.retry_after = next_value(&p, &n, ra, sizeof ra, flags & 4);
  r.location = next_value(&p, &n, loc, sizeof loc, flags & 8);
  r.body = (const char *)p;
  r.body_len = n;
  r.method = (flags & 16) ? "POST" : "GET";
  r.path = "/campaigns";
  r.max_depth = (flags & 32) ? 4 : 256;
  r.secret = FUZZ_SECRET;
  r.secret_hint = "[key]";

  int top = lua_gettop(L);
  int ok = scv_classify(L, &r);
  if (lua_gettop(L) != top + 1) fail("classify pushed a wrong number of values", NULL);
  if (ok) {
    if (status < 200 || status >= 300) fail("a non-2xx was accepted as a value", NULL);
  } else {
    check_error(L, status, j->strict);
  }
  lua_settop(L, top);
  return 0;
}

static void check_retry_after(const uint8_t *data, size_t size) {
  char s[256];
  size_t n = size < sizeof s - 1 ? size : sizeof s - 1;
  memcpy(s, data, n);
  s[n] = '\0';
  double v = scv_parse_retry_after(s);
  if (!(v == -1 || (v >= 0 && v <= YEAR))) fail("scv_parse_retry_after out of range", s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  check_retry_after(data, size);

  alloc_state st = {0, (size_t)-1};
  job j = {data, size, 1};
  lua_State *L = lua_newstate(fuzz_alloc, &st);
  if (L == NULL) return 0;
  lua_pushcfunction(L, run);
  lua_pushlightuserdata(L, &j);
  int rc = lua_pcall(L, 1, 0, 0);
  if (rc != LUA_OK) fail("unexpected Lua error", lua_tostring(L, -1));
  size_t used = st.count;
  lua_close(L);

  /* Again, with the allocator failing after an input-dependent count. */
  size_t h = 5381;
  for (size_t i = 0; i < size; i++) h = h * 33u + data[i];
  st.count = 0;
  st.limit = (size_t)-1;
  L = lua_newstate(fuzz_alloc, &st);
  if (L == NULL) return 0;
  j.strict = 0;
  lua_pushcfunction(L, run);
  lua_pushlightuserdata(L, &j);
  st.limit = st.count + h % (used + 1);
  rc = lua_pcall(L, 1, 0, 0);
  if (rc != LUA_OK && rc != LUA_ERRMEM) fail("unexpected Lua error under memory pressure", lua_tostring(L, -1));
  st.limit = (size_t)-1;
  lua_close(L);
  return 0;
}
