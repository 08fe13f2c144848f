/*
 * url.c - everything that turns user values into bytes on the request line.
 *
 * Ids go into path segments, so they are percent-encoded with nothing but
 * RFC 3986 unreserved bytes left bare: a '/', '?', '#' or '%' inside an id can
 * never move it out of its segment. Query strings are built from a Lua table
 * with sorted keys so the same call always produces the same bytes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "scravio.h"

static const char HEX[] = "0123456789ABCDEF";

static int is_unreserved(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
         c == '-' || c == '.' || c == '_' || c == '~';
}

static int add_encoded(scv_buf *b, const char *s, size_t n) {
  if (scv_buf_reserve(b, n * 3) != 0) return -1;
  char *o = b->data + b->len;
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if (is_unreserved(c)) {
      *o++ = (char)c;
    } else {
      *o++ = '%';
      *o++ = HEX[c >> 4];
      *o++ = HEX[c & 15];
    }
  }
  b->len = (size_t)(o - b->data);
  return 0;
}

int scv_url_add_segment(scv_buf *b, const char *s, size_t n) { return add_encoded(b, s, n); }
int scv_url_add_component(scv_buf *b, const char *s, size_t n) { return add_encoded(b, s, n); }

/* A query value keeps ':' bare (ISO dates read as the reference writes them:
 * from=2025-05-01T00:00:00Z), and ',' too unless it is one item of a list,
 * where a bare comma would split the item: type=INSTAGRAM,X means the same
 * whether it came as a string or as {"INSTAGRAM", "X"}. Both are allowed in
 * a query by RFC 3986 and neither has a meaning in form decoding. */
static int add_query_value(scv_buf *b, const char *s, size_t n, int list_item) {
  if (scv_buf_reserve(b, n * 3) != 0) return -1;
  char *o = b->data + b->len;
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if (is_unreserved(c) || c == ':' || (c == ',' && !list_item)) {
      *o++ = (char)c;
    } else {
      *o++ = '%';
      *o++ = HEX[c >> 4];
      *o++ = HEX[c & 15];
    }
  }
  b->len = (size_t)(o - b->data);
  return 0;
}

/* One scalar query value. Integral floats are sent as integers: page=2, never 2.0. */
static int add_scalar(lua_State *L, int idx, scv_buf *b, const char *key, int list_item, char *err,
                      size_t errlen) {
  char num[64];
  switch (lua_type(L, idx)) {
  case LUA_TSTRING: {
    size_t n;
    const char *s = lua_tolstring(L, idx, &n);
    return add_query_value(b, s, n, list_item) == 0;
  }
  case LUA_TNUMBER: {
    if (scv_isinteger(L, idx)) {
#if SCV_HAS_INTEGERS
      snprintf(num, sizeof num, "%lld", (long long)lua_tointeger(L, idx));
#else
      snprintf(num, sizeof num, "%lld", (long long)lua_tonumber(L, idx));
#endif
    } else {
      lua_Number v = lua_tonumber(L, idx);
      if (v != v || v > 1e300 || v < -1e300) {
        snprintf(err, errlen, "query parameter '%s' is not a finite number", key);
        return 0;
      }
      /* Range first: converting a double outside long long's range is undefined. */
      if (v > -9.2e18 && v < 9.2e18 && v == (lua_Number)(long long)v)
        snprintf(num, sizeof num, "%lld", (long long)v);
      else {
        int prec;
        for (prec = 15; prec <= 17; prec++) {
          snprintf(num, sizeof num, "%.*g", prec, (double)v);
          if (strtod(num, NULL) == (double)v) break;
        }
      }
    }
    return add_encoded(b, num, strlen(num)) == 0;
  }
  case LUA_TBOOLEAN:
    return scv_buf_adds(b, lua_toboolean(L, idx) ? "true" : "false") == 0;
  default:
    snprintf(err, errlen, "query parameter '%s' has a %s value; use a string, number, boolean or array",
             key, luaL_typename(L, idx));
    return 0;
  }
}

static int cmp_keys(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int scv_query_encode(lua_State *L, int idx, scv_buf *b, char *err, size_t errlen) {
  idx = scv_absindex(L, idx);
  if (lua_isnoneornil(L, idx)) return 1;
  if (!lua_istable(L, idx)) {
    snprintf(err, errlen, "query must be a table, got %s", luaL_typename(L, idx));
    return 0;
  }
  /* Collect the keys; they stay alive because the table holds them. */
  size_t nkeys = 0, cap = 16;
  const char **keys = malloc(cap * sizeof *keys);
  if (keys == NULL) { snprintf(err, errlen, "out of memory"); return 0; }
  int ok = 1;
  if (!lua_checkstack(L, 4)) { free(keys); snprintf(err, errlen, "stack overflow"); return 0; }
  lua_pushnil(L);
  while (lua_next(L, idx) != 0) {
    if (lua_type(L, -2) != LUA_TSTRING) {
      snprintf(err, errlen, "query keys must be strings");
      ok = 0;
      lua_pop(L, 2);
      break;
    }
    if (nkeys == cap) {
      const char **k2 = realloc(keys, 2 * cap * sizeof *keys);
      if (k2 == NULL) { ok = 0; snprintf(err, errlen, "out of memory"); lua_pop(L, 2); break; }
      keys = k2;
      cap *= 2;
    }
    keys[nkeys++] = lua_tostring(L, -2);
    lua_pop(L, 1);
  }
  if (ok) qsort(keys, nkeys, sizeof *keys, cmp_keys);
  int first = 1;
  for (size_t i = 0; ok && i < nkeys; i++) {
    lua_getfield(L, idx, keys[i]);
    int vt = lua_type(L, -1);
    if (vt == LUA_TNIL || scv_json_isnull(L, -1)) { /* nil and json null are "not set" */
      lua_pop(L, 1);
      continue;
    }
    if (vt == LUA_TTABLE) {
      /* Arrays are sent comma-joined: type=INSTAGRAM,X */
      size_t n = scv_rawlen(L, -1);
      if (n == 0) { lua_pop(L, 1); continue; }
      if (!first && scv_buf_addc(b, '&') != 0) ok = 0;
      if (ok && add_encoded(b, keys[i], strlen(keys[i])) != 0) ok = 0;
      if (ok && scv_buf_addc(b, '=') != 0) ok = 0;
      for (size_t j = 1; ok && j <= n; j++) {
        lua_rawgeti(L, -1, (int)j);
        if (lua_istable(L, -1)) {
          snprintf(err, errlen, "query parameter '%s' holds a nested table", keys[i]);
          ok = 0;
        } else {
          if (j > 1 && scv_buf_addc(b, ',') != 0) ok = 0;
          if (ok && !add_scalar(L, -1, b, keys[i], 1, err, errlen)) ok = 0;
        }
        lua_pop(L, 1);
      }
    } else {
      if (!first && scv_buf_addc(b, '&') != 0) ok = 0;
      if (ok && add_encoded(b, keys[i], strlen(keys[i])) != 0) ok = 0;
      if (ok && scv_buf_addc(b, '=') != 0) ok = 0;
      if (ok && !add_scalar(L, -1, b, keys[i], 0, err, errlen)) ok = 0;
    }
    first = 0;
    lua_pop(L, 1);
  }
  free(keys);
  if (!ok && err[0] == '\0') snprintf(err, errlen, "out of memory");
  return ok;
}

int scv_header_value_ok(const char *s, size_t n) {
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if ((c < 0x20 && c != '\t') || c == 0x7f) return 0;
  }
  return 1;
}

int scv_url_authority(const char *url, char *out, size_t outlen) {
  const char *p = strstr(url, "://");
  if (p == NULL || outlen == 0) return 0;
  p += 3;
  const char *at = NULL, *end = p;
  while (*end && *end != '/' && *end != '?' && *end != '#') {
    if (*end == '@') at = end;
    end++;
  }
  if (at) p = at + 1; /* never report userinfo */
  size_t n = (size_t)(end - p);
  if (n >= outlen) n = outlen - 1;
  memcpy(out, p, n);
  out[n] = '\0';
  return n > 0;
}

/* RFC 3629 UTF-8: no overlong forms, no surrogates, nothing above U+10FFFF. */
int scv_utf8_valid(const char *s, size_t n) {
  const unsigned char *p = (const unsigned char *)s, *end = p + n;
  while (p < end) {
    unsigned char c = *p;
    if (c < 0x80) {
      p++;
      continue;
    }
    size_t need;
    unsigned char lo = 0x80, hi = 0xbf;
    if (c >= 0xc2 && c <= 0xdf) need = 1;
    else if (c >= 0xe0 && c <= 0xef) {
      need = 2;
      if (c == 0xe0) lo = 0xa0;
      if (c == 0xed) hi = 0x9f;
    } else if (c >= 0xf0 && c <= 0xf4) {
      need = 3;
      if (c == 0xf0) lo = 0x90;
      if (c == 0xf4) hi = 0x8f;
    } else
      return 0;
    if ((size_t)(end - p) <= need) return 0;
    if (p[1] < lo || p[1] > hi) return 0;
    for (size_t i = 2; i <= need; i++)
      if (p[i] < 0x80 || p[i] > 0xbf) return 0;
    p += need + 1;
  }
  return 1;
}

int scv_url_has_userinfo(const char *url) {
  const char *p = strstr(url, "://");
  if (p == NULL) return 0;
  for (p += 3; *p && *p != '/' && *p != '?' && *p != '#'; p++)
    if (*p == '@') return 1;
  return 0;
}

/* 127.0.0.0/8 written as a plain dotted quad: four decimal parts 0..255,
 * no leading zeros. Anything else is refused, because resolvers read "0127"
 * as octal (87.0.0.1) and "127.1" or "2130706433" as other forms: only the
 * form every parser agrees on may count as loopback. */
static int is_loopback_quad(const char *h) {
  for (int part = 0; part < 4; part++) {
    int v = 0, digits = 0;
    if (part > 0 && *h++ != '.') return 0;
    if (h[0] == '0' && h[1] >= '0' && h[1] <= '9') return 0; /* leading zero */
    while (*h >= '0' && *h <= '9' && digits < 4) {
      v = v * 10 + (*h++ - '0');
      digits++;
    }
    if (digits == 0 || digits > 3 || v > 255) return 0;
    if (part == 0 && v != 127) return 0;
  }
  return *h == '\0';
}

int scv_url_is_loopback(const char *url) {
  char auth[300];
  if (!scv_url_authority(url, auth, sizeof auth)) return 0;
  char host[300];
  if (auth[0] == '[') {
    char *close = strchr(auth, ']');
    if (close == NULL) return 0;
    size_t n = (size_t)(close - auth - 1);
    memcpy(host, auth + 1, n);
    host[n] = '\0';
    return strcmp(host, "::1") == 0;
  }
  size_t n = strcspn(auth, ":");
  memcpy(host, auth, n);
  host[n] = '\0';
  if (strcasecmp(host, "localhost") == 0) return 1; /* host names are case-insensitive */
  return is_loopback_quad(host);
}
