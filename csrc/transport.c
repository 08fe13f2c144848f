/*
 * transport.c - the libcurl transport.
 *
 * One easy handle per client, reused for every call, so libcurl keeps the
 * connection (and TLS session) alive between requests. Callbacks only copy
 * bytes into C buffers or files: they never call into Lua, so a Lua error can
 * never unwind through libcurl's frames and nothing here waits on Lua.
 *
 * API calls never follow redirects (a cross-host redirect would otherwise
 * carry X-API-Key along). Storage calls (presigned URLs) carry no credentials
 * at all, so they may follow redirects.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "client.h"

#define DOWNLOAD_BUFFER (512L * 1024L)
#define MAX_TIMEOUT_S (30.0 * 24 * 3600) /* longer than any transfer we would wait for */

typedef struct {
  scv_client *c;
  FILE *file;        /* downloads: where a 2xx body goes */
  size_t limit;      /* cap on bytes kept in memory */
  int too_large;
  int write_failed;
  curl_off_t written;
  /* progress bar (downloads, TTY only) */
  int progress;
  double last_draw;
} xfer;

static size_t on_header(char *ptr, size_t size, size_t nmemb, void *ud) {
  xfer *x = ud;
  size_t n = size * nmemb;
  /* A new status line (after a 100 Continue or a followed redirect) starts a new header block. */
  if (n >= 5 && memcmp(ptr, "HTTP/", 5) == 0) x->c->hdr.len = 0;
  if (x->c->hdr.len + n > 256 * 1024) return n; /* ignore absurd header blocks */
  if (scv_buf_add(&x->c->hdr, ptr, n)) return 0;
  return n;
}

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *ud) {
  xfer *x = ud;
  size_t n = size * nmemb;
  if (x->file) {
    long code = 0;
    curl_easy_getinfo(x->c->easy, CURLINFO_RESPONSE_CODE, &code);
    if (code >= 200 && code < 300) {
      if (fwrite(ptr, 1, n, x->file) != n) {
        x->write_failed = errno ? errno : EIO;
        return 0;
      }
      x->written += (curl_off_t)n;
      return n;
    }
  }
  if (x->c->body.len + n > x->limit) {
    x->too_large = 1;
    return 0; /* aborts the transfer with CURLE_WRITE_ERROR */
  }
  if (scv_buf_add(&x->c->body, ptr, n)) return 0;
  return n;
}

static double mono_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A progress bar drawn by C on stderr: no Lua callback runs mid-transfer. */
static int on_progress(void *ud, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow) {
  xfer *x = ud;
  if (!x->progress) return 0;
  double now = mono_now();
  int final = (dltotal > 0 && dlnow >= dltotal) || (ultotal > 0 && ulnow >= ultotal);
  if (!final && now - x->last_draw < 0.1) return 0;
  x->last_draw = now;
  curl_off_t total = dltotal ? dltotal : ultotal, cur = dltotal ? dlnow : ulnow;
  char bar[31];
  int filled = total > 0 ? (int)((double)cur * 30.0 / (double)total) : 0;
  if (filled > 30) filled = 30;
  for (int i = 0; i < 30; i++) bar[i] = i < filled ? '#' : '-';
  bar[30] = '\0';
  if (total > 0)
    fprintf(stderr, "\r%s [%s] %3d%% %.1f/%.1f MB", ultotal ? "upload  " : "download", bar,
            (int)((double)cur * 100.0 / (double)total), (double)cur / 1048576.0, (double)total / 1048576.0);
  else
    fprintf(stderr, "\rdownload %.1f MB", (double)cur / 1048576.0);
  fflush(stderr);
  return 0;
}

/* Find a header's value in the last header block; copies into out. */
static const char *find_header(scv_client *c, const char *name, char *out, size_t outlen) {
  size_t nl = strlen(name);
  const char *p = c->hdr.data, *end = c->hdr.data + c->hdr.len;
  if (p == NULL) return NULL;
  while (p < end) {
    const char *eol = memchr(p, '\n', (size_t)(end - p));
    if (eol == NULL) eol = end;
    if ((size_t)(eol - p) > nl && p[nl] == ':' && strncasecmp(p, name, nl) == 0) {
      const char *v = p + nl + 1;
      while (v < eol && (*v == ' ' || *v == '\t')) v++;
      const char *ve = eol;
      while (ve > v && (ve[-1] == '\r' || ve[-1] == ' ' || ve[-1] == '\t')) ve--;
      size_t n = (size_t)(ve - v);
      if (n >= outlen) n = outlen - 1;
      memcpy(out, v, n);
      out[n] = '\0';
      return out;
    }
    p = eol + 1;
  }
  return NULL;
}

/* Options every transfer sets, so nothing leaks from the previous one. */
/* Options that never change for a client: set once, when the handle is made
 * (libcurl re-parses some of them, like the protocol lists, on every set). */
void scv_transport_init(scv_client *c) {
  CURL *e = c->easy;
  curl_easy_setopt(e, CURLOPT_ERRORBUFFER, c->errbuf);
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_USERAGENT, c->user_agent);
  curl_easy_setopt(e, CURLOPT_PATH_AS_IS, 1L); /* bytes we encoded are sent as they are */
  curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "https,http");
  curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
  /* Only set when given: CAINFO = NULL would drop libcurl's built-in bundle. */
  if (c->ca_file) curl_easy_setopt(e, CURLOPT_CAINFO, c->ca_file);
  if (c->proxy) curl_easy_setopt(e, CURLOPT_PROXY, c->proxy);
  curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L);
  curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, c->connect_timeout_ms);
  curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(e, CURLOPT_XFERINFOFUNCTION, on_progress);
  curl_easy_setopt(e, CURLOPT_BUFFERSIZE, DOWNLOAD_BUFFER);
}

/* Options that differ between transfers, so nothing leaks from the previous one. */
static void common_setup(scv_client *c, xfer *x, const char *url, double timeout_s) {
  CURL *e = c->easy;
  c->hdr.len = 0;
  c->body.len = 0;
  c->errbuf[0] = '\0';
  curl_easy_setopt(e, CURLOPT_URL, url);
  /* Clamp before converting: a double beyond LONG_MAX does not fit a long. */
  if (!(timeout_s <= MAX_TIMEOUT_S)) timeout_s = MAX_TIMEOUT_S; /* also NaN */
  long tmo = timeout_s > 0 ? (long)(timeout_s * 1000.0) : c->timeout_ms;
  curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, tmo < 1 ? 1L : tmo);
  curl_easy_setopt(e, CURLOPT_HEADERDATA, x);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, x);
  curl_easy_setopt(e, CURLOPT_XFERINFODATA, x);
  curl_easy_setopt(e, CURLOPT_NOPROGRESS, x->progress ? 0L : 1L);
  curl_easy_setopt(e, CURLOPT_FRESH_CONNECT, 0L);
  curl_easy_setopt(e, CURLOPT_UPLOAD, 0L);
  curl_easy_setopt(e, CURLOPT_NOBODY, 0L);
  curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)0);
  curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, NULL);
  curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
}

/* Did the request possibly reach the server? Failures while resolving,
 * connecting or in the TLS handshake certainly happened before a byte of the
 * request was written. Otherwise: once libcurl got past connecting
 * (pre-transfer), or wrote request bytes, or read response bytes, the server
 * may have it. When unsure, say "sent": a credit-spending request is then
 * reconciled instead of resent. */
static int maybe_sent(scv_client *c, CURLcode rc) {
  switch (rc) {
  case CURLE_UNSUPPORTED_PROTOCOL:
  case CURLE_URL_MALFORMAT:
  case CURLE_COULDNT_RESOLVE_PROXY:
  case CURLE_COULDNT_RESOLVE_HOST:
  case CURLE_COULDNT_CONNECT:
  case CURLE_SSL_CONNECT_ERROR:
  case CURLE_PEER_FAILED_VERIFICATION:
  case CURLE_SSL_CERTPROBLEM:
  case CURLE_SSL_CIPHER:
  case CURLE_SSL_CACERT_BADFILE:
    return 0;
  default:
    break;
  }
  curl_off_t pre = 0;
  long req_bytes = 0, hdr_bytes = 0;
  curl_easy_getinfo(c->easy, CURLINFO_PRETRANSFER_TIME_T, &pre);
  curl_easy_getinfo(c->easy, CURLINFO_REQUEST_SIZE, &req_bytes);
  curl_easy_getinfo(c->easy, CURLINFO_HEADER_SIZE, &hdr_bytes);
  return pre > 0 || req_bytes > 0 || hdr_bytes > 0;
}

/* Turn a libcurl failure into nil, err. */
static int push_transport_error(lua_State *L, scv_client *c, CURLcode rc, xfer *x, const char *method, const char *path) {
  char msg[512];
  const char *kind = "network";
  int retryable = 1;
  long status = 0;
  if (x->too_large || rc == CURLE_FILESIZE_EXCEEDED) {
    snprintf(msg, sizeof msg, "response body larger than max_response_bytes (%zu bytes); refused", x->limit);
    kind = "decode";
    retryable = 0;
    curl_easy_getinfo(c->easy, CURLINFO_RESPONSE_CODE, &status);
  } else if (x->write_failed) {
    snprintf(msg, sizeof msg, "writing the downloaded file failed: %s", strerror(x->write_failed));
    kind = "io";
    retryable = 0;
  } else if (rc == CURLE_OPERATION_TIMEDOUT) {
    snprintf(msg, sizeof msg, "timed out: %s", c->errbuf[0] ? c->errbuf : curl_easy_strerror(rc));
    kind = "timeout";
  } else {
    snprintf(msg, sizeof msg, "%s: %s", curl_easy_strerror(rc), c->errbuf[0] ? c->errbuf : "no detail");
    if (rc == CURLE_PEER_FAILED_VERIFICATION || rc == CURLE_SSL_CACERT_BADFILE || rc == CURLE_SSL_CERTPROBLEM ||
        rc == CURLE_UNSUPPORTED_PROTOCOL || rc == CURLE_URL_MALFORMAT || rc == CURLE_SSL_CIPHER)
      retryable = 0; /* trying again will not change the certificate or the URL */
  }
  lua_pushnil(L);
  scv_push_error(L, kind, msg, method, path);
  lua_pushboolean(L, retryable);
  lua_setfield(L, -2, "retryable");
  lua_pushboolean(L, maybe_sent(c, rc));
  lua_setfield(L, -2, "sent");
  if (status > 0) { /* the status line arrived before the body was refused */
    lua_pushinteger(L, (lua_Integer)status);
    lua_setfield(L, -2, "status");
  }
  lua_pushinteger(L, (lua_Integer)rc);
  lua_setfield(L, -2, "curl_code");
  return 2;
}

static void fill_response(scv_client *c, scv_response *r, char hv[4][256], const char *method, const char *path) {
  memset(r, 0, sizeof *r);
  curl_easy_getinfo(c->easy, CURLINFO_RESPONSE_CODE, &r->status);
  r->body = c->body.data ? c->body.data : "";
  r->body_len = c->body.len;
  r->content_type = find_header(c, "content-type", hv[0], 256);
  r->request_id = find_header(c, "x-request-id", hv[1], 256);
  r->retry_after = find_header(c, "retry-after", hv[2], 256);
  r->location = find_header(c, "location", hv[3], 256);
  r->method = method;
  r->path = path;
  r->max_depth = 256;
}

/* client:send(method, url, path, body, timeout, fresh)
 *   -> value, status, request_id | nil, err
 * `fresh` asks for a new connection: libcurl silently resends a request once
 * when a reused connection dies before answering, which must never happen to
 * a POST that spends credits. */
static int l_send(lua_State *L) {
  scv_client *c = scv_check_client(L, 1);
  size_t mlen;
  const char *method = luaL_checklstring(L, 2, &mlen);
  const char *url = luaL_checkstring(L, 3);
  const char *path = luaL_optstring(L, 4, url);
  if (mlen == 0 || mlen > 16 || !scv_header_value_ok(method, mlen) || strpbrk(method, " \t"))
    return luaL_error(L, "scravio: bad HTTP method");
  size_t blen = 0;
  const char *body = luaL_optlstring(L, 5, NULL, &blen);
  double timeout = (double)luaL_optnumber(L, 6, 0);
  int fresh = lua_toboolean(L, 7);
  xfer x;
  memset(&x, 0, sizeof x);
  x.c = c;
  x.limit = c->max_response_bytes;
  common_setup(c, &x, url, timeout);
  CURL *e = c->easy;
  curl_easy_setopt(e, CURLOPT_HTTPHEADER, body ? c->api_json_headers : c->api_headers);
  if (strcmp(method, "GET") == 0) {
    curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
  } else if (strcmp(method, "HEAD") == 0) {
    curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
    curl_easy_setopt(e, CURLOPT_NOBODY, 1L); /* a HEAD answer has no body to wait for */
  } else {
    curl_easy_setopt(e, CURLOPT_POST, 1L);
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)blen);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, body ? body : "");
    if (strcmp(method, "POST") != 0) curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
  }
  if (fresh) curl_easy_setopt(e, CURLOPT_FRESH_CONNECT, 1L);
  /* A declared Content-Length over the limit fails before the body is read. */
  if (x.limit < (size_t)0x7fffffffffffLL) curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)x.limit);
  CURLcode rc = curl_easy_perform(e);
  curl_easy_setopt(e, CURLOPT_POSTFIELDS, NULL); /* the Lua string may go away */
  if (rc != CURLE_OK) return push_transport_error(L, c, rc, &x, method, path);
  scv_response r;
  char hv[4][256];
  fill_response(c, &r, hv, method, path);
  if (scv_classify(L, &r)) {
    lua_pushinteger(L, (lua_Integer)r.status);
    if (r.request_id) lua_pushstring(L, r.request_id);
    else lua_pushnil(L);
    return 3;
  }
  lua_pushnil(L);
  lua_insert(L, -2);
  return 2;
}

static int storage_error(lua_State *L, scv_client *c, const char *method, const char *what) {
  scv_response r;
  char hv[4][256];
  fill_response(c, &r, hv, method, what);
  if (scv_classify(L, &r)) { /* a 2xx we did not expect here cannot happen; keep the stack sane */
    lua_pop(L, 1);
    scv_push_error(L, "api", "unexpected storage response", method, what);
  }
  lua_pushnil(L);
  lua_insert(L, -2);
  return 2;
}

/* client:download(url, file_path, progress, timeout) -> bytes, status | nil, err
 * The body streams to the file as it arrives (memory stays flat); an error
 * status's body is kept in memory instead, for the error object. The caller
 * owns the file name: it writes to a temporary name and renames on success. */
static int l_download(lua_State *L) {
  scv_client *c = scv_check_client(L, 1);
  const char *url = luaL_checkstring(L, 2);
  const char *file = luaL_checkstring(L, 3);
  int progress = lua_toboolean(L, 4);
  double timeout = (double)luaL_optnumber(L, 5, 0);
  FILE *f = fopen(file, "wb");
  if (f == NULL) {
    lua_pushnil(L);
    scv_push_error(L, "io", strerror(errno), "GET", "(download)");
    return 2;
  }
  xfer x;
  memset(&x, 0, sizeof x);
  x.c = c;
  x.file = f;
  x.limit = 64 * 1024;
  x.progress = progress && isatty(2);
  common_setup(c, &x, url, timeout > 0 ? timeout : 24.0 * 3600.0);
  CURL *e = c->easy;
  curl_easy_setopt(e, CURLOPT_HTTPHEADER, c->storage_headers);
  curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
  curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(e, CURLOPT_MAXREDIRS, 5L);
  /* Stall detection instead of a total timeout: big files take long. */
  curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME, (long)(c->timeout_ms / 1000 > 0 ? c->timeout_ms / 1000 : 60));
  CURLcode rc = curl_easy_perform(e);
  curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, 0L);
  curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME, 0L);
  if (x.progress) fputc('\n', stderr);
  int close_failed = fclose(f) != 0;
  if (rc == CURLE_OK && close_failed) x.write_failed = errno ? errno : EIO, rc = CURLE_WRITE_ERROR;
  if (rc != CURLE_OK) return push_transport_error(L, c, rc, &x, "GET", "(download)");
  long status = 0;
  curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
  if (status < 200 || status >= 300) return storage_error(L, c, "GET", "(download)");
  lua_pushnumber(L, (lua_Number)x.written);
  lua_pushinteger(L, (lua_Integer)status);
  return 2;
}

/* client:upload(url, file_path, content_type, progress, timeout) -> status | nil, err
 * PUT a file to a presigned storage URL, streamed from disk, no credentials. */
static int l_upload(lua_State *L) {
  scv_client *c = scv_check_client(L, 1);
  const char *url = luaL_checkstring(L, 2);
  const char *file = luaL_checkstring(L, 3);
  size_t ctlen;
  const char *ctype = luaL_optlstring(L, 4, "application/octet-stream", &ctlen);
  int progress = lua_toboolean(L, 5);
  double timeout = (double)luaL_optnumber(L, 6, 0);
  if (!scv_header_value_ok(ctype, ctlen)) return luaL_error(L, "scravio: CR/LF in content type");
  FILE *f = fopen(file, "rb");
  struct stat st;
  if (f == NULL || fstat(fileno(f), &st) != 0) {
    int en = errno;
    if (f) fclose(f);
    lua_pushnil(L);
    scv_push_error(L, "io", strerror(en), "PUT", "(upload)");
    return 2;
  }
  char cth[300];
  snprintf(cth, sizeof cth, "Content-Type: %s", ctype);
  struct curl_slist *hdrs = curl_slist_append(NULL, "Expect:");
  struct curl_slist *h2 = hdrs ? curl_slist_append(hdrs, cth) : NULL;
  if (h2 == NULL) {
    curl_slist_free_all(hdrs);
    fclose(f);
    return luaL_error(L, "scravio: out of memory");
  }
  hdrs = h2;
  xfer x;
  memset(&x, 0, sizeof x);
  x.c = c;
  x.limit = 64 * 1024;
  x.progress = progress && isatty(2);
  common_setup(c, &x, url, timeout > 0 ? timeout : 24.0 * 3600.0);
  CURL *e = c->easy;
  curl_easy_setopt(e, CURLOPT_HTTPHEADER, hdrs);
  curl_easy_setopt(e, CURLOPT_UPLOAD, 1L);
  curl_easy_setopt(e, CURLOPT_READFUNCTION, NULL); /* libcurl's default reads the FILE* */
  curl_easy_setopt(e, CURLOPT_READDATA, f);
  curl_easy_setopt(e, CURLOPT_INFILESIZE_LARGE, (curl_off_t)st.st_size);
  curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME, (long)(c->timeout_ms / 1000 > 0 ? c->timeout_ms / 1000 : 60));
  CURLcode rc = curl_easy_perform(e);
  curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, 0L);
  curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME, 0L);
  curl_easy_setopt(e, CURLOPT_UPLOAD, 0L);
  curl_easy_setopt(e, CURLOPT_READDATA, NULL);
  curl_easy_setopt(e, CURLOPT_HTTPHEADER, NULL);
  curl_slist_free_all(hdrs);
  fclose(f);
  if (x.progress) fputc('\n', stderr);
  if (rc != CURLE_OK) return push_transport_error(L, c, rc, &x, "PUT", "(upload)");
  long status = 0;
  curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
  if (status < 200 || status >= 300) return storage_error(L, c, "PUT", "(upload)");
  lua_pushinteger(L, (lua_Integer)status);
  return 1;
}

void scv_transport_open(lua_State *L, int methods_idx) {
  static const luaL_Reg m[] = {{"send", l_send}, {"download", l_download}, {"upload", l_upload}, {NULL, NULL}};
  lua_pushvalue(L, methods_idx);
  scv_setfuncs(L, m, 0);
  lua_pop(L, 1);
}
