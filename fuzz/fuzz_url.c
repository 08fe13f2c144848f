/*
 * libFuzzer target for csrc/url.c: query-string and path-segment encoding,
 * the header-value check, and the URL authority / loopback helpers.
 *
 * For every input:
 *  1. the whole input is encoded as one path segment: the output may hold
 *     only RFC 3986 unreserved bytes and well-formed %XX escapes, and decoding
 *     it must give the input back (so no '/', '?', '#' or '..' can escape);
 *  2. a query table is built from the input bytes (string, integer, float,
 *     boolean, array and bad values under arbitrary keys) and encoded: on
 *     success the output holds only unreserved bytes, %XX escapes, '&', '=',
 *     ',' and ':'; on failure a message is set; the Lua stack is left as it was;
 *  3. scv_header_value_ok agrees with a plain reference (no control bytes
 *     but TAB, no DEL);
 *  4. scv_url_authority / scv_url_is_loopback never crash, the authority
 *     never contains '/', '?', '#' or '@', and "loopback" is only ever said
 *     of a URL whose authority is localhost, [::1] or a 127.x.y.z that
 *     inet_pton reads as such (no octal, short or leading-zero forms).
 * Violations abort(). Build and run: fuzz/run.sh (see fuzz/README.md).
 */
#include <arpa/inet.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../csrc/scravio.h"

static void fail(const char *what, const char *detail) {
  fprintf(stderr, "fuzz_url: %s: %s\n", what, detail ? detail : "");
  abort();
}

static int is_unreserved(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~';
}

static int hexval(unsigned char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1; /* the encoder writes upper case only */
}

/* Check encoded bytes; extra: further bare bytes allowed. Returns the
 * decoded length (into out, when given) or aborts. */
static size_t check_encoded(const char *s, size_t n, const char *extra, char *out) {
  size_t o = 0;
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c == '%') {
      if (n - i < 3) fail("truncated escape", NULL);
      int h = hexval((unsigned char)s[i + 1]), l = hexval((unsigned char)s[i + 2]);
      if (h < 0 || l < 0) fail("bad escape", NULL);
      if (out) out[o] = (char)(h * 16 + l);
      o++;
      i += 2;
    } else if (is_unreserved(c) || (extra && c != '\0' && strchr(extra, c))) {
      if (out) out[o] = (char)c;
      o++;
    } else {
      char d[8];
      snprintf(d, sizeof d, "0x%02x", c);
      fail("byte not allowed in encoded output", d);
    }
  }
  return o;
}

/* A small cursor over the input. */
typedef struct {
  const uint8_t *p;
  size_t n;
} cursor;

static int take(cursor *c, uint8_t *b) {
  if (c->n == 0) return 0;
  *b = *c->p++;
  c->n--;
  return 1;
}

/* Take up to max bytes (length from the next byte). */
static size_t take_str(cursor *c, const char **s, size_t max) {
  uint8_t len = 0;
  if (!take(c, &len)) {
    *s = "";
    return 0;
  }
  size_t n = len % (max + 1);
  if (n > c->n) n = c->n;
  *s = (const char *)c->p;
  c->p += n;
  c->n -= n;
  return n;
}

static void push_scalar(lua_State *L, cursor *c, uint8_t sel) {
  const char *s;
  size_t n;
  uint8_t b = 0;
  switch (sel % 8) {
  case 0:
  case 1:
    n = take_str(c, &s, 64);
    lua_pushlstring(L, s, n);
    break;
  case 2: {
    long long v = 0;
    for (int i = 0; i < 8 && take(c, &b); i++) v = (long long)((unsigned long long)v << 8 | b);
    lua_pushinteger(L, (lua_Integer)v);
    break;
  }
  case 3: {
    double d = 0;
    unsigned char raw[sizeof d];
    memset(raw, 0, sizeof raw);
    for (size_t i = 0; i < sizeof raw && take(c, &b); i++) raw[i] = b;
    memcpy(&d, raw, sizeof d); /* any bit pattern: NaN, inf, subnormal, huge */
    lua_pushnumber(L, (lua_Number)d);
    break;
  }
  case 4:
    take(c, &b);
    lua_pushboolean(L, b & 1);
    break;
  case 5:
    lua_pushlightuserdata(L, NULL); /* JSON null: "not set" */
    break;
  case 6:
    lua_newuserdata(L, 1); /* a value the encoder must refuse */
    break;
  default:
    take(c, &b);
    lua_pushnumber(L, (lua_Number)(int8_t)b / 4.0);
    break;
  }
}

/* Build {key = value, ...} from the input; some values are arrays. */
static void build_query(lua_State *L, cursor *c) {
  lua_newtable(L);
  int t = lua_gettop(L);
  uint8_t sel;
  int entries = 0;
  while (entries < 32 && take(c, &sel)) {
    entries++;
    if (sel == 0xff) { /* a non-string key: must be refused */
      lua_pushinteger(L, entries);
      lua_pushstring(L, "x");
      lua_settable(L, t);
      continue;
    }
    const char *k;
    size_t kn = take_str(c, &k, 24);
    lua_pushlstring(L, k, kn);
    if ((sel >> 4) == 0x0a) { /* an array (possibly empty, possibly nested) */
      uint8_t cnt = 0;
      take(c, &cnt);
      lua_newtable(L);
      for (int i = 1; i <= (cnt % 6); i++) {
        uint8_t s2 = 0;
        take(c, &s2);
        if (s2 == 0xee) lua_newtable(L); /* a nested table: refused */
        else push_scalar(L, c, s2);
        lua_rawseti(L, -2, i);
      }
    } else {
      push_scalar(L, c, sel);
    }
    lua_settable(L, t);
  }
}

static int run_query(lua_State *L) {
  const uint8_t *data = lua_touserdata(L, 1);
  size_t size = (size_t)lua_tointeger(L, 2);
  lua_settop(L, 0);
  cursor c = {data, size};
  build_query(L, &c);
  int top = lua_gettop(L);
  scv_buf b;
  scv_buf_init(&b);
  char err[256];
  err[0] = '\0';
  int ok = scv_query_encode(L, 1, &b, err, sizeof err);
  if (lua_gettop(L) != top) {
    scv_buf_free(&b);
    fail("query encoding left the stack unbalanced", NULL);
  }
  if (ok) {
    check_encoded(b.data ? b.data : "", b.len, "&=,:", NULL);
  } else if (err[0] == '\0' || strlen(err) >= sizeof err) {
    scv_buf_free(&b);
    fail("query encoding failed without a message", NULL);
  }
  /* Deterministic: the same table gives the same bytes. */
  if (ok) {
    scv_buf b2;
    scv_buf_init(&b2);
    char err2[256];
    err2[0] = '\0';
    if (!scv_query_encode(L, 1, &b2, err2, sizeof err2) || b2.len != b.len ||
        (b.len && memcmp(b.data, b2.data, b.len) != 0)) {
      scv_buf_free(&b);
      scv_buf_free(&b2);
      fail("query encoding is not deterministic", NULL);
    }
    scv_buf_free(&b2);
  }
  scv_buf_free(&b);
  return 0;
}

static void check_segment(const uint8_t *data, size_t size) {
  scv_buf b;
  scv_buf_init(&b);
  if (scv_url_add_segment(&b, (const char *)data, size) != 0) {
    scv_buf_free(&b);
    return; /* out of memory: nothing to check */
  }
  char *back = malloc(size + 1);
  if (back == NULL) {
    scv_buf_free(&b);
    return;
  }
  size_t n = check_encoded(b.data ? b.data : "", b.len, NULL, back);
  if (n != size || (size && memcmp(back, data, size) != 0)) fail("segment does not decode to its input", NULL);
  free(back);
  scv_buf_free(&b);
}

static void check_header_value(const uint8_t *data, size_t size) {
  int want = 1;
  for (size_t i = 0; i < size; i++)
    if ((data[i] < 0x20 && data[i] != '\t') || data[i] == 0x7f) want = 0;
  if (scv_header_value_ok((const char *)data, size) != want) fail("header value check disagrees", NULL);
}

static void check_authority(const uint8_t *data, size_t size) {
  char *url = malloc(size + 1);
  if (url == NULL) return;
  memcpy(url, data, size);
  url[size] = '\0';
  char auth[300];
  if (scv_url_authority(url, auth, sizeof auth)) {
    if (strlen(auth) >= sizeof auth) fail("authority overflow", NULL);
    if (strpbrk(auth, "/?#@")) fail("authority holds a delimiter", auth);
  }
  if (scv_url_is_loopback(url)) {
    if (!scv_url_authority(url, auth, sizeof auth)) fail("loopback without an authority", url);
    size_t hn = strcspn(auth, ":");
    char host[300];
    struct in_addr a4;
    memcpy(host, auth, hn);
    host[hn] = '\0';
    /* inet_pton is the strict reference: dotted decimal only, no octal or
       short forms, which resolvers would read as other addresses. */
    int ok = (hn == 9 && strncasecmp(auth, "localhost", 9) == 0) || strncmp(auth, "[::1]", 5) == 0 ||
             (inet_pton(AF_INET, host, &a4) == 1 && ((const unsigned char *)&a4)[0] == 127);
    if (!ok) fail("a non-loopback host was called loopback", auth);
  }
  /* Small buffers must stay NUL-terminated and in bounds. */
  char tiny[4];
  if (scv_url_authority(url, tiny, sizeof tiny) && strlen(tiny) >= sizeof tiny) fail("tiny authority overflow", NULL);
  free(url);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  check_segment(data, size);
  check_header_value(data, size);
  check_authority(data, size);

  lua_State *L = luaL_newstate();
  if (L == NULL) return 0;
  lua_pushcfunction(L, run_query);
  lua_pushlightuserdata(L, (void *)data);
  lua_pushinteger(L, (lua_Integer)size);
  int rc = lua_pcall(L, 2, 0, 0);
  if (rc != LUA_OK && rc != LUA_ERRMEM) fail("unexpected Lua error", lua_tostring(L, -1));
  lua_close(L);
  return 0;
}
