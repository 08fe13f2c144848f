/*
 * client.c - the Client userdata: configuration, the credentials, and
 * request building (URL from a path template and a query table, the JSON
 * body, the header set).
 *
 * The API key or access token is copied into C memory here and never handed
 * back to Lua as a value: there is no getter, tostring masks it, and it is
 * wiped before it is freed. Only the cosocket transport receives it, inside
 * the serialized request head that it writes to the socket.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <ctype.h>
#include "client.h"

static char *dupstr(const char *s) {
  if (s == NULL) return NULL;
  size_t n = strlen(s);
  char *p = malloc(n + 1);
  if (p) memcpy(p, s, n + 1);
  return p;
}

static void wipe_free(char *s) {
  if (s == NULL) return;
  volatile char *v = s;
  while (*v) *v++ = 0;
  free(s);
}

static void client_release(scv_client *c) {
  if (c->closed) return;
  c->closed = 1;
  scv_prefetch_free(c); /* before the header lists it points at */
  if (c->easy) curl_easy_cleanup(c->easy);
  c->easy = NULL;
  /* The header lists hold copies of the secret: wipe them before freeing. */
  struct curl_slist *lists[] = {c->api_headers, c->api_json_headers, c->storage_headers};
  for (int i = 0; i < 3; i++) {
    for (struct curl_slist *s = lists[i]; s; s = s->next) {
      volatile char *v = s->data;
      while (v && *v) *v++ = 0;
    }
    curl_slist_free_all(lists[i]);
  }
  c->api_headers = c->api_json_headers = c->storage_headers = NULL;
  wipe_free(c->auth_header);
  c->auth_header = NULL;
  free(c->base_url);
  free(c->workspace_header);
  free(c->user_agent);
  free(c->ca_file);
  free(c->proxy);
  c->base_url = c->workspace_header = c->user_agent = c->ca_file = c->proxy = NULL;
  scv_buf_free(&c->body);
  scv_buf_free(&c->hdr);
  scv_buf_free(&c->scratch);
}

scv_client *scv_check_client(lua_State *L, int idx) {
  scv_client *c = luaL_checkudata(L, idx, SCV_CLIENT_MT);
  if (c->closed) luaL_error(L, "scravio: this client is closed");
  return c;
}

/* Push nil and an error of `kind` naming `param` (at `location`) in its
 * errors list; return 2 (for `return`). */
static int push_fail(lua_State *L, const char *kind, const char *param, const char *location, const char *msg) {
  lua_pushnil(L);
  scv_push_error(L, kind, msg, NULL, NULL);
  if (param) {
    lua_getfield(L, -1, "errors");
    lua_createtable(L, 0, 3);
    lua_pushstring(L, param);
    lua_setfield(L, -2, "param");
    lua_pushstring(L, msg);
    lua_setfield(L, -2, "msg");
    lua_pushstring(L, location);
    lua_setfield(L, -2, "location");
    lua_rawseti(L, -2, 1);
    lua_pop(L, 1);
  }
  return 2;
}

/* A client option refused: nil, invalid-error naming the option. */
static int invalid(lua_State *L, const char *param, const char *msg) {
  return push_fail(L, "invalid", param, "option", msg);
}

/* A string option, or NULL. *has_nul reports an embedded NUL byte: C would
 * silently cut the value there, so callers refuse such values. */
static const char *opt_string_nul(lua_State *L, int t, const char *name, int *has_nul) {
  lua_getfield(L, t, name);
  const char *s = NULL;
  if (lua_type(L, -1) == LUA_TSTRING) {
    size_t n;
    s = lua_tolstring(L, -1, &n);
    if (has_nul && strlen(s) != n) *has_nul = 1;
  }
  lua_pop(L, 1); /* the options table keeps the string alive */
  return s;
}

static const char *opt_string(lua_State *L, int t, const char *name) {
  return opt_string_nul(L, t, name, NULL);
}

/* Seconds as milliseconds, and a byte count as size_t: NaN and values <= 0
 * become 0, and huge ones are clamped before the conversion (converting a
 * double outside the target type's range is undefined behaviour). */
static long to_ms(double seconds) {
  if (!(seconds > 0)) return 0;
  if (seconds > 30.0 * 24 * 3600) seconds = 30.0 * 24 * 3600;
  return (long)(seconds * 1000.0);
}

static size_t to_size(double v) {
  if (!(v > 0)) return 0;
  if (v > 9.0e15) v = 9.0e15;
  return (size_t)v;
}

static double opt_number(lua_State *L, int t, const char *name, double dflt) {
  lua_getfield(L, t, name);
  double v = lua_type(L, -1) == LUA_TNUMBER ? (double)lua_tonumber(L, -1) : dflt;
  lua_pop(L, 1);
  return v;
}

static int opt_bool(lua_State *L, int t, const char *name) {
  lua_getfield(L, t, name);
  int v = lua_toboolean(L, -1);
  lua_pop(L, 1);
  return v;
}

static void make_hint(scv_client *c, const char *secret, int bearer) {
  size_t n = strlen(secret);
  if (n >= 16) {
    /* An API key: enough of its prefix to tell live from test keys
     * ("sk_live_"), plus the last 4. A Bearer token has no public prefix
     * (its first characters are as secret as the rest): the last 4 only. */
    const char *us = bearer ? NULL : strchr(secret, '_');
    const char *us2 = us ? strchr(us + 1, '_') : NULL;
    size_t pre = (us2 && (size_t)(us2 - secret) < 12) ? (size_t)(us2 - secret) + 1 : 0;
    snprintf(c->key_hint, sizeof c->key_hint, "%.*s...%s", (int)pre, secret, secret + n - 4);
  } else {
    snprintf(c->key_hint, sizeof c->key_hint, "****");
  }
}

static struct curl_slist *append(struct curl_slist *l, const char *h, int *ok) {
  struct curl_slist *n = curl_slist_append(l, h);
  if (n == NULL) *ok = 0;
  return n ? n : l;
}

/* A credential (an sk_live_ key, a token68 Bearer token) is printable ASCII
 * with no whitespace: a tab, a space, a control byte or a non-ASCII byte
 * (a non-breaking space pasted from a web page) in it is a paste error the
 * server would only answer with a 401, and a tab is legal inside an HTTP
 * header value, so the header check alone lets it through. */
static int credential_ok(const char *s) {
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    if (c <= 0x20 || c >= 0x7f) return 0;
  }
  return 1;
}

/* core.client(opts) -> Client | nil, err */
static int l_client_new(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  int key_nul = 0, token_nul = 0, ws_nul = 0, base_nul = 0;
  const char *base = opt_string_nul(L, 1, "base_url", &base_nul);
  const char *key = opt_string_nul(L, 1, "api_key", &key_nul);
  const char *token = opt_string_nul(L, 1, "access_token", &token_nul);
  const char *ws = opt_string_nul(L, 1, "workspace_id", &ws_nul);
  const char *ca = opt_string(L, 1, "ca_file");
  const char *proxy = opt_string(L, 1, "proxy");
  const char *luaver = opt_string(L, 1, "lua_version");
  int allow_http = opt_bool(L, 1, "allow_http");

  if (base_nul) return invalid(L, "base_url", "base_url contains a NUL byte");
  if (key_nul) return invalid(L, "api_key", "the credential contains a NUL byte");
  if (token_nul) return invalid(L, "access_token", "the credential contains a NUL byte");
  if (ws_nul) return invalid(L, "workspace_id", "workspace_id contains a NUL byte");
  if (base == NULL || base[0] == '\0') return invalid(L, "base_url", "base_url is required");
  /* Schemes are case-insensitive (RFC 3986); the copy below is lowercased. */
  int https = strncasecmp(base, "https://", 8) == 0, http = strncasecmp(base, "http://", 7) == 0;
  if (!https && !http) return invalid(L, "base_url", "base_url must start with https://");
  /* user:password@ in base_url is a second credential: libcurl would send
   * it as Basic auth beside X-API-Key, and the URL is shown in
   * tostring(client), client:info() and messages. */
  if (scv_url_has_userinfo(base))
    return invalid(L, "base_url",
                   "base_url must not carry a user name or password (user:password@host): pass the "
                   "credential as api_key or access_token");
  if (http && !allow_http && !scv_url_is_loopback(base))
    return invalid(L, "base_url",
                   "plain http:// is refused for non-loopback hosts (the key would travel in clear); "
                   "use https:// or set allow_http = true");
  if (!scv_header_value_ok(base, strlen(base)) || strchr(base, ' ') || strchr(base, '\t') || strchr(base, '?') ||
      strchr(base, '#'))
    return invalid(L, "base_url", "base_url must be a plain URL without spaces, query or fragment");
  if (key && token) return invalid(L, "api_key", "give api_key or access_token, not both");
  const char *secret = key ? key : token;
  const char *which = key ? "api_key" : "access_token";
  if (secret == NULL || secret[0] == '\0')
    return invalid(L, "api_key", "no credentials: pass api_key (or access_token), or set SCRAVIO_API_KEY");
  if (!credential_ok(secret))
    return invalid(L, which,
                   "the credential contains spaces, tabs, control characters or non-ASCII bytes (CR/LF are "
                   "refused; a key read from a file keeps its newline: trim it)");
  if (ws && (ws[0] == '\0' || !credential_ok(ws)))
    return invalid(L, "workspace_id",
                   "workspace_id is empty or contains spaces, tabs or control characters (CR/LF are refused)");
  if (luaver && !scv_header_value_ok(luaver, strlen(luaver))) luaver = NULL;

  scv_client *c = scv_newuserdata(L, sizeof *c);
  memset(c, 0, sizeof *c);
  c->closed = 1; /* nothing to release until fully built */
  luaL_getmetatable(L, SCV_CLIENT_MT);
  lua_setmetatable(L, -2);
  lua_newtable(L);
  scv_setuservalue(L, -2);
  c->closed = 0;
  scv_buf_init(&c->body);
  scv_buf_init(&c->hdr);
  scv_buf_init(&c->scratch);

  size_t blen = strlen(base);
  while (blen > 0 && base[blen - 1] == '/') blen--;
  c->base_url = malloc(blen + 1);
  int ok = c->base_url != NULL;
  if (ok) {
    memcpy(c->base_url, base, blen);
    c->base_url[blen] = '\0';
    for (char *q = c->base_url; *q && *q != ':'; q++) *q = (char)tolower((unsigned char)*q);
  }
  size_t hl = strlen(secret) + 32;
  c->auth_header = malloc(hl);
  ok = ok && c->auth_header;
  if (ok) {
    if (key) snprintf(c->auth_header, hl, "X-API-Key: %s", secret);
    else snprintf(c->auth_header, hl, "Authorization: Bearer %s", secret);
  }
  c->auth_kind = key ? "api_key" : "access_token";
  make_hint(c, secret, key == NULL);
  if (ws) {
    size_t wl = strlen(ws) + 20;
    c->workspace_header = malloc(wl);
    ok = ok && c->workspace_header;
    if (ok) snprintf(c->workspace_header, wl, "X-Workspace-Id: %s", ws);
  }
  char ua[256];
  curl_version_info_data *cv = curl_version_info(CURLVERSION_NOW);
  snprintf(ua, sizeof ua, "scravio-lua/%s (%s; libcurl/%s)", SCV_VERSION, luaver ? luaver : LUA_VERSION,
           cv && cv->version ? cv->version : LIBCURL_VERSION);
  c->user_agent = dupstr(ua);
  if (ca) c->ca_file = dupstr(ca);
  if (proxy) c->proxy = dupstr(proxy);
  ok = ok && c->user_agent && (!ca || c->ca_file) && (!proxy || c->proxy);
  c->timeout_ms = to_ms(opt_number(L, 1, "timeout", 60));
  c->connect_timeout_ms = to_ms(opt_number(L, 1, "connect_timeout", 10));
  c->max_response_bytes = to_size(opt_number(L, 1, "max_response_bytes", 16 * 1024 * 1024));
  c->allow_http = allow_http;

  if (ok) {
    /* Built once: a request only picks which list to use. */
    /* Accept-Encoding: identity everywhere (RFC 9110 §12.5.3): an unrequested
       compressed body must never reach the decoder or a downloaded file. */
    c->api_headers = append(NULL, "Accept: application/json", &ok);
    c->api_headers = append(c->api_headers, "Accept-Encoding: identity", &ok);
    c->api_headers = append(c->api_headers, "Expect:", &ok);
    c->api_headers = append(c->api_headers, c->auth_header, &ok);
    if (c->workspace_header) c->api_headers = append(c->api_headers, c->workspace_header, &ok);
    /* libcurl would label a POST with no body (stop, validate) as a form. */
    c->api_headers = append(c->api_headers, "Content-Type:", &ok);
    c->api_json_headers = append(NULL, "Accept: application/json", &ok);
    c->api_json_headers = append(c->api_json_headers, "Accept-Encoding: identity", &ok);
    c->api_json_headers = append(c->api_json_headers, "Expect:", &ok);
    c->api_json_headers = append(c->api_json_headers, "Content-Type: application/json", &ok);
    c->api_json_headers = append(c->api_json_headers, c->auth_header, &ok);
    if (c->workspace_header) c->api_json_headers = append(c->api_json_headers, c->workspace_header, &ok);
    c->storage_headers = append(NULL, "Expect:", &ok);
    c->storage_headers = append(c->storage_headers, "Accept-Encoding: identity", &ok);
  }
  if (ok) {
    c->easy = curl_easy_init();
    ok = c->easy != NULL;
    if (ok) scv_transport_init(c);
  }
  if (!ok) {
    client_release(c);
    return luaL_error(L, "scravio: out of memory creating the client");
  }
  return 1;
}

/* Copy a literal template part, escaping what may not appear in a path. */
static int add_literal(scv_buf *b, const char *s, size_t n) {
  static const char HEX[] = "0123456789ABCDEF";
  for (size_t i = 0; i < n; i++) {
    unsigned char ch = (unsigned char)s[i];
    int ok = (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
             strchr("-._~!$&'()*+,;=:@/%", ch) != NULL;
    if (ch == 0) ok = 0;
    if (ok) {
      if (scv_buf_addc(b, (char)ch)) return -1;
    } else {
      char e[3] = {'%', HEX[ch >> 4], HEX[ch & 15]};
      if (scv_buf_add(b, e, 3)) return -1;
    }
  }
  return 0;
}

/* Milliseconds as seconds: an integer when whole (60, not 60.0). */
static void push_seconds_ms(lua_State *L, long ms) {
  if (ms % 1000 == 0) lua_pushinteger(L, (lua_Integer)(ms / 1000));
  else lua_pushnumber(L, (lua_Number)ms / 1000.0);
}

static int prepare_fail(lua_State *L, const char *kind, const char *param, const char *msg) {
  const char *location = !param                        ? NULL
                         : strcmp(param, "query") == 0  ? "query"
                         : strcmp(param, "body") == 0   ? "body"
                         : strcmp(param, "client") == 0 ? "argument"
                                                        : "path";
  return push_fail(L, kind, param, location, msg);
}

/* client:prepare(template, query, body, ...) -> url, path, body_json | nil, err
 * "{}" in the template takes the next argument as one encoded path segment. */
static int l_prepare(lua_State *L) {
  scv_client *c = luaL_checkudata(L, 1, SCV_CLIENT_MT);
  /* Every API call starts here: a closed client answers nil, err (errors
   * are values), not a raise. */
  if (c->closed) return prepare_fail(L, "invalid", "client", "this client is closed (client:close() was called)");
  size_t tlen;
  const char *tpl = luaL_checklstring(L, 2, &tlen);
  int nargs = lua_gettop(L);
  int argi = 5;
  char err[256];
  scv_buf *b = &c->scratch;
  b->len = 0;
  if (tlen == 0 || tpl[0] != '/') return prepare_fail(L, "invalid", "path", "the path must start with '/'");
  if (scv_buf_adds(b, c->base_url)) return luaL_error(L, "scravio: out of memory");
  size_t path_start = b->len;
  const char *p = tpl, *end = tpl + tlen;
  while (p < end) {
    const char *ph = strstr(p, "{}");
    if (ph == NULL || ph >= end) ph = end;
    if (add_literal(b, p, (size_t)(ph - p))) return luaL_error(L, "scravio: out of memory");
    if (ph == end) break;
    if (argi > nargs) return luaL_error(L, "scravio: path template '%s' needs more arguments", tpl);
    int t = lua_type(L, argi);
    if (t != LUA_TSTRING && t != LUA_TNUMBER) {
      snprintf(err, sizeof err, "the id must be a string, got %s", luaL_typename(L, argi));
      return prepare_fail(L, "invalid", "id", err);
    }
    size_t n;
    const char *seg = lua_tolstring(L, argi, &n);
    if (n == 0 || n > 1024 || (n == 1 && seg[0] == '.') || (n == 2 && seg[0] == '.' && seg[1] == '.'))
      return prepare_fail(L, "invalid", "id", "the id must be a non-empty string of at most 1024 bytes and not a dot segment");
    if (scv_url_add_segment(b, seg, n)) return luaL_error(L, "scravio: out of memory");
    argi++;
    p = ph + 2;
  }
  size_t path_end = b->len;
  if (!lua_isnoneornil(L, 3)) {
    size_t before = b->len;
    if (scv_buf_addc(b, '?')) return luaL_error(L, "scravio: out of memory");
    err[0] = '\0';
    if (!scv_query_encode(L, 3, b, err, sizeof err)) return prepare_fail(L, "invalid", "query", err);
    if (b->len == before + 1) b->len = before; /* nothing to send */
  }
  /* Arguments end at nargs: with prepare(template, query) slot 4 is where
   * the URL is about to be pushed, not a body. */
  int has_body = nargs >= 4 && !lua_isnil(L, 4);
  lua_pushlstring(L, b->data, b->len);
  lua_pushlstring(L, b->data + path_start, path_end - path_start);
  if (!has_body) {
    lua_pushnil(L);
  } else if (lua_type(L, 4) == LUA_TSTRING) {
    lua_pushvalue(L, 4);
  } else {
    err[0] = '\0';
    if (!scv_json_encode(L, 4, 64, err, sizeof err)) {
      char msg[300];
      snprintf(msg, sizeof msg, "the request body cannot be sent as JSON: %s", err);
      return prepare_fail(L, "invalid", "body", msg);
    }
    /* JSON is UTF-8 (RFC 8259 §8.1) and its escapes are ASCII, so the
     * encoded body is valid UTF-8 exactly when every string in it is. A
     * Latin-1 "caf\xe9" would be refused as "invalid JSON" after sending,
     * or stored by a lenient server as "caf\ufffd": a hashtag that is not
     * the one meant, scraped at the caller's cost. */
    size_t blen;
    const char *body = lua_tolstring(L, -1, &blen);
    if (!scv_utf8_valid(body, blen))
      return prepare_fail(L, "invalid", "body",
                          "a string in the request body is not valid UTF-8 (bytes of another encoding, such "
                          "as Latin-1?): convert it to UTF-8 before sending");
  }
  return 3;
}

/* client:allows_url(url) -> true | nil, err. For URLs the server hands us
 * (presigned storage links): https always, http only to loopback unless the
 * client was created with allow_http. */
int scv_client_allows_url(const scv_client *c, const char *url, size_t n) {
  (void)n;
  return strncmp(url, "https://", 8) == 0 ||
         (strncmp(url, "http://", 7) == 0 && (c->allow_http || scv_url_is_loopback(url)));
}

static int l_allows_url(lua_State *L) {
  scv_client *c = scv_check_client(L, 1);
  size_t n;
  const char *url = luaL_checklstring(L, 2, &n);
  if (!scv_header_value_ok(url, n) || strchr(url, ' '))
    return prepare_fail(L, "invalid", "url", "the URL contains spaces or control characters");
  if (scv_client_allows_url(c, url, n)) {
    lua_pushboolean(L, 1);
    return 1;
  }
  return prepare_fail(L, "invalid", "url", SCV_URL_REFUSED);
}

void scv_client_secret(const scv_client *c, const char **secret, const char **hint) {
  const char *s = c && !c->closed && c->auth_header ? strchr(c->auth_header, ':') : NULL;
  *secret = NULL;
  *hint = c ? c->key_hint : NULL;
  if (s == NULL) return;
  s++;
  while (*s == ' ') s++;
  if (strncmp(s, "Bearer ", 7) == 0) s += 7;
  if (*s) *secret = s;
}

int scv_client_api_url(const scv_client *c, const char *url) {
  size_t n = strlen(c->base_url);
  if (strncmp(url, c->base_url, n) != 0) return 0;
  /* The base URL must end here: "https://api.x/api" must not admit
   * "https://api.x/api.evil" or "https://api.x.evil/...". */
  return url[n] == '\0' || url[n] == '/' || url[n] == '?';
}

/* The request head for transports that write to a socket themselves:
 * request line, Host, User-Agent, then (API requests) Accept, the credential
 * line (the key itself when `real`, its hint otherwise) and the workspace. */
static int push_head(lua_State *L, scv_client *c, const char *method, const char *url, lua_Integer blen,
                     int api, int real, const char *ctype) {
  if (!scv_header_value_ok(method, strlen(method)) || !scv_header_value_ok(url, strlen(url)) ||
      (ctype && !scv_header_value_ok(ctype, strlen(ctype))))
    return luaL_error(L, "scravio: CR/LF in a request line or header value");
  const char *s = strstr(url, "://");
  if (s == NULL) return luaL_error(L, "scravio: not an absolute URL");
  s += 3;
  const char *pth = s + strcspn(s, "/?#");
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  luaL_addstring(&b, method);
  luaL_addchar(&b, ' ');
  if (*pth == '/') luaL_addstring(&b, pth);
  else { luaL_addchar(&b, '/'); luaL_addstring(&b, pth); }
  luaL_addstring(&b, " HTTP/1.1\r\nHost: ");
  luaL_addlstring(&b, s, (size_t)(pth - s));
  luaL_addstring(&b, "\r\nUser-Agent: ");
  luaL_addstring(&b, c->user_agent);
  luaL_addstring(&b, "\r\nAccept-Encoding: identity\r\n");
  if (api) {
    luaL_addstring(&b, "Accept: application/json\r\n");
    if (real) {
      luaL_addstring(&b, c->auth_header);
    } else {
      const char *colon = strchr(c->auth_header, ':');
      luaL_addlstring(&b, c->auth_header, (size_t)(colon - c->auth_header));
      luaL_addstring(&b, strncmp(colon, ": Bearer ", 9) == 0 ? ": Bearer " : ": ");
      luaL_addstring(&b, c->key_hint);
    }
    luaL_addstring(&b, "\r\n");
    if (c->workspace_header) {
      luaL_addstring(&b, c->workspace_header);
      luaL_addstring(&b, "\r\n");
    }
    /* A POST with no body (stop, validate) says nothing about a type: strict
       JSON servers refuse an empty body declared as application/json. */
    if (blen > 0 && ctype == NULL) ctype = "application/json";
  }
  if (ctype) {
    luaL_addstring(&b, "Content-Type: ");
    luaL_addstring(&b, ctype);
    luaL_addstring(&b, "\r\n");
  }
  if (blen >= 0) {
    char num[48];
    snprintf(num, sizeof num, "Content-Length: %lld\r\n", (long long)blen);
    luaL_addstring(&b, num);
  }
  luaL_addstring(&b, "\r\n");
  luaL_pushresult(&b);
  return 1;
}

/* The head with the extra "Name: value" lines of the array at `extra` (0:
 * none) before its blank line; nil, err for a line with CR, LF or NUL. */
static int push_head_with(lua_State *L, scv_client *c, const char *method, const char *url, lua_Integer blen,
                          int api, int real, const char *ctype, int extra) {
  size_t n = extra ? scv_rawlen(L, extra) : 0;
  for (size_t i = 1; i <= n; i++) {
    lua_rawgeti(L, extra, (int)i);
    size_t len;
    const char *line = lua_type(L, -1) == LUA_TSTRING ? lua_tolstring(L, -1, &len) : NULL;
    int ok = line && len > 0 && strlen(line) == len && scv_header_value_ok(line, len) && strchr(line, ':');
    lua_pop(L, 1);
    if (!ok) return prepare_fail(L, "invalid", "headers", "a request header contains CR, LF or NUL");
  }
  push_head(L, c, method, url, blen, api, real, ctype);
  if (n == 0) return 1;
  /* Rebuilt in C, once: the head (which may hold the key) never goes
   * through Lua string operations. */
  size_t hl;
  const char *h = lua_tolstring(L, -1, &hl);
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  luaL_addlstring(&b, h, hl - 2);
  for (size_t i = 1; i <= n; i++) {
    lua_rawgeti(L, extra, (int)i);
    luaL_addvalue(&b);
    luaL_addstring(&b, "\r\n");
  }
  luaL_addstring(&b, "\r\n");
  luaL_pushresult(&b);
  lua_remove(L, -2);
  return 1;
}

/* client:storage_head(method, url, body_len, content_type) -> the request
 * head for a presigned storage URL: no credentials at all. */
static int l_storage_head(lua_State *L) {
  scv_client *c = scv_check_client(L, 1);
  const char *method = luaL_checkstring(L, 2);
  const char *url = luaL_checkstring(L, 3);
  lua_Integer blen = luaL_optinteger(L, 4, -1);
  const char *ctype = luaL_optstring(L, 5, NULL);
  return push_head(L, c, method, url, blen, 0, 0, ctype);
}

/* The API head builder (upvalue 1: the client):
 *   build(method, url, body_len, real[, extra_lines]) -> head | nil, err
 * Only for URLs under the client's own base URL (what prepare makes); with
 * `real` the credential line holds the key, otherwise its hint (a socket
 * that is not nginx's own never receives the key). */
static int l_api_head(lua_State *L) {
  scv_client *c = scv_check_client(L, lua_upvalueindex(1));
  const char *method = luaL_checkstring(L, 1);
  const char *url = luaL_checkstring(L, 2);
  lua_Integer blen = luaL_optinteger(L, 3, -1);
  int real = lua_toboolean(L, 4);
  int extra = lua_istable(L, 5) ? 5 : 0;
  if (!scv_client_api_url(c, url))
    return prepare_fail(L, "invalid", "url", "the credential is only ever sent under the client's base_url");
  return push_head_with(L, c, method, url, blen, 1, real, NULL, extra);
}

/* client:api_head_builder() -> build (see l_api_head), exactly once per
 * client; nil, err after. scravio.new takes it before the client is handed
 * out (transport/init.lua), and only the cosocket transport keeps it, out of
 * reach: no function reachable from a client returns its credential. */
static int l_api_head_builder(lua_State *L) {
  scv_client *c = scv_check_client(L, 1);
  if (c->head_taken) return prepare_fail(L, "invalid", "client", "the request head builder was already taken");
  c->head_taken = 1;
  lua_pushvalue(L, 1);
  lua_pushcclosure(L, l_api_head, 1);
  return 1;
}

static int l_tostring(lua_State *L) {
  scv_client *c = luaL_checkudata(L, 1, SCV_CLIENT_MT);
  if (c->closed) lua_pushstring(L, "scravio.Client (closed)");
  else lua_pushfstring(L, "scravio.Client(%s, %s=%s)", c->base_url, c->auth_kind, c->key_hint);
  return 1;
}

/* client:info() -> the non-secret configuration, for logs and debugging. */
static int l_info(lua_State *L) {
  scv_client *c = scv_check_client(L, 1);
  lua_createtable(L, 0, 9);
  lua_pushstring(L, c->base_url);
  lua_setfield(L, -2, "base_url");
  lua_pushstring(L, c->auth_kind);
  lua_setfield(L, -2, "auth");
  lua_pushstring(L, c->key_hint);
  lua_setfield(L, -2, "key_hint");
  lua_pushstring(L, c->user_agent);
  lua_setfield(L, -2, "user_agent");
  push_seconds_ms(L, c->timeout_ms);
  lua_setfield(L, -2, "timeout");
  push_seconds_ms(L, c->connect_timeout_ms);
  lua_setfield(L, -2, "connect_timeout");
  lua_pushboolean(L, c->workspace_header != NULL);
  lua_setfield(L, -2, "workspace");
  lua_pushboolean(L, c->ca_file != NULL);
  lua_setfield(L, -2, "custom_ca");
  if (c->max_response_bytes <= (size_t)9007199254740992ULL) lua_pushinteger(L, (lua_Integer)c->max_response_bytes);
  else lua_pushnumber(L, (lua_Number)c->max_response_bytes);
  lua_setfield(L, -2, "max_response_bytes");
  return 1;
}

static int l_close(lua_State *L) {
  scv_client *c = luaL_checkudata(L, 1, SCV_CLIENT_MT);
  client_release(c);
  return 0;
}

void scv_client_open(lua_State *L) {
  if (luaL_newmetatable(L, SCV_CLIENT_MT)) {
    int mt = lua_gettop(L);
    lua_newtable(L);
    int methods = lua_gettop(L);
    static const luaL_Reg m[] = {{"prepare", l_prepare}, {"allows_url", l_allows_url},
                                 {"storage_head", l_storage_head}, {"api_head_builder", l_api_head_builder},
                                 {"info", l_info},
                                 {"close", l_close}, {NULL, NULL}};
    scv_setfuncs(L, m, 0);
    scv_transport_open(L, methods);
    lua_setfield(L, mt, "__index");
    lua_pushcfunction(L, l_close);
    lua_setfield(L, mt, "__gc");
#if LUA_VERSION_NUM >= 504
    lua_pushcfunction(L, l_close);
    lua_setfield(L, mt, "__close");
#endif
    lua_pushcfunction(L, l_tostring);
    lua_setfield(L, mt, "__tostring");
    lua_pushstring(L, SCV_CLIENT_MT);
    lua_setfield(L, mt, "__name");
    lua_pushboolean(L, 0);
    lua_setfield(L, mt, "__metatable");
  }
  lua_pop(L, 1);
  lua_pushcfunction(L, l_client_new);
  lua_setfield(L, -2, "client");
}
