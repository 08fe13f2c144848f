/*
 * mask.c - THE one place where a value that came from a server is cleaned
 * of the client's credential before it reaches Lua (an error, an event, a
 * result). Both transports go through it: libcurl's header values in
 * transport.c, the cosocket transport's through core.classify and
 * core.mask, the API's error body fields in errors.c.
 *
 * Masking happens before any cut to a fixed length (the output is cut, never
 * the input), so a credential placed just past a cut cannot survive in part.
 * A server (or proxy) that cut the credential itself is handled too: any run
 * of min_run bytes or more equal to a piece of the credential (its start, its
 * tail, its middle) is masked,
 * where min_run is the public prefix the hint shows ("sk_live_") plus 4, and
 * at least 8. Every hit becomes the hint ("sk_live_...abcd"), which masking
 * leaves unchanged: masking twice gives the same result.
 */
#include <string.h>
#include "scravio.h"

#define MASK_MIN_SECRET 8 /* shorter credentials are not looked for (they would match ordinary text) */

typedef struct {
  const char *secret;
  size_t len, min_run;
  const char *hint;
  size_t hint_len;
} mask_key;

static int key_of(mask_key *k, const char *secret, const char *hint) {
  k->secret = secret;
  k->len = secret ? strlen(secret) : 0;
  if (k->len < MASK_MIN_SECRET) return 0;
  k->hint = hint ? hint : "***";
  k->hint_len = strlen(k->hint);
  const char *dots = strstr(k->hint, "...");
  size_t pre = dots ? (size_t)(dots - k->hint) : 0;
  k->min_run = pre + 4 > 8 ? pre + 4 : 8;
  if (k->min_run > k->len) k->min_run = k->len;
  return 1;
}

/* How many bytes at s[0..n) are a masked run (0: none): the longest run
 * there equal to a piece of the credential starting anywhere in it, when it
 * is min_run bytes or more. Anywhere, not only at its start: a server that
 * echoes the key without its public prefix ("invalid key Q7rT2mXa...") or
 * its tail must not get it through either. */
static size_t run_at(const mask_key *k, const char *s, size_t n) {
  if (n < k->min_run) return 0;
  size_t best = 0, starts = k->len - k->min_run + 1; /* where a run may start in the secret */
  for (const char *q = memchr(k->secret, s[0], starts); q != NULL;
       q = memchr(q + 1, s[0], starts - (size_t)(q + 1 - k->secret))) {
    size_t j = (size_t)(q - k->secret);
    size_t m = 1, lim = n < k->len - j ? n : k->len - j;
    while (m < lim && s[m] == k->secret[j + m]) m++;
    if (m > best) best = m;
  }
  return best >= k->min_run ? best : 0;
}

/* Writes the masked form of src into out (at most cap bytes, no NUL) when
 * out is not NULL; returns the masked length, uncut. *hits counts runs. */
static size_t mask_into(const mask_key *k, const char *src, size_t n, char *out, size_t cap, int *hits) {
  size_t o = 0, i = 0;
  while (i < n) {
    if (n - i < k->min_run) { /* too short to hold a run: the rest is plain */
      size_t rest = n - i;
      if (out && o < cap) memcpy(out + o, src + i, cap - o < rest ? cap - o : rest);
      o += rest;
      break;
    }
    size_t m = run_at(k, src + i, n - i);
    const char *piece = m ? k->hint : src + i;
    size_t plen = m ? k->hint_len : 1;
    if (m) ++*hits;
    if (out && o < cap) memcpy(out + o, piece, cap - o < plen ? cap - o : plen);
    o += plen;
    i += m ? m : 1;
  }
  return o;
}

size_t scv_mask(const char *secret, const char *hint, const char *src, size_t n, char *out, size_t cap) {
  mask_key k;
  int hits = 0;
  if (cap == 0) return 0;
  size_t len;
  if (key_of(&k, secret, hint)) {
    len = mask_into(&k, src, n, out, cap - 1, &hits);
  } else {
    len = n;
    memcpy(out, src, n < cap - 1 ? n : cap - 1);
  }
  if (len > cap - 1) len = cap - 1;
  out[len] = '\0';
  return len;
}

void scv_push_masked(lua_State *L, const char *secret, const char *hint, const char *src, size_t n, size_t max) {
  mask_key k;
  int hits = 0;
  size_t len = n;
  if (key_of(&k, secret, hint)) len = mask_into(&k, src, n, NULL, 0, &hits);
  if (len > max) len = max;
  if (hits == 0) {
    lua_pushlstring(L, src, len);
    return;
  }
  /* A userdata as the scratch space: collected even if pushing raises. */
  char *buf = lua_newuserdata(L, len ? len : 1);
  hits = 0;
  mask_into(&k, src, n, buf, len, &hits);
  lua_pushlstring(L, buf, len);
  lua_remove(L, -2);
}

/* core.mask(client, value[, max_bytes]) -> value with the client's credential
 * masked, cut to max_bytes after masking (core.HEADER_VALUE_MAX for a header
 * value: both transports cut identically). Not a string: returned as is. A
 * closed client, or none, masks nothing. For the Lua side (the cosocket
 * transport, response metadata): the same function the C side uses. */
static int l_mask(lua_State *L) {
  const scv_client *c = lua_isnoneornil(L, 1) ? NULL : scv_testudata(L, 1, SCV_CLIENT_MT);
  if (lua_type(L, 2) != LUA_TSTRING) {
    lua_settop(L, 2);
    return 1;
  }
  size_t n;
  const char *s = lua_tolstring(L, 2, &n);
  lua_Integer max = luaL_optinteger(L, 3, -1);
  const char *secret, *hint;
  scv_client_secret(c, &secret, &hint);
  scv_push_masked(L, secret, hint, s, n, max >= 0 ? (size_t)max : (size_t)-1);
  return 1;
}

void scv_mask_open(lua_State *L) {
  lua_pushcfunction(L, l_mask);
  lua_setfield(L, -2, "mask");
  lua_pushinteger(L, SCV_HEADER_VALUE_MAX);
  lua_setfield(L, -2, "HEADER_VALUE_MAX");
}
