/*
 * transport.c - the libcurl transport.
 *
 * One easy handle per client, reused for every call, so libcurl keeps the
 * connection (and TLS session) alive between requests. A second one, in a
 * multi handle, prefetches the next page of a list iteration (see "prefetch"
 * below); it is made only when an iteration first asks for it. Callbacks only copy
 * bytes into C buffers or files: they never call into Lua, so a Lua error can
 * never unwind through libcurl's frames and nothing here waits on Lua.
 *
 * API calls never follow redirects (a cross-host redirect would otherwise
 * carry X-API-Key along). Storage calls (presigned URLs) carry no credentials
 * at all, so they may follow redirects: downloads any, uploads 307/308 (the
 * ones that keep the PUT and its body; see l_upload).
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "client.h"

#define DOWNLOAD_BUFFER (512L * 1024L) /* file transfers: large reads beat curl -o */
#define API_BUFFER (64L * 1024L)       /* API answers (libcurl allocates it per transfer) */
#define MAX_TIMEOUT_S (30.0 * 24 * 3600) /* longer than any transfer we would wait for */
#define MAX_STORAGE_REDIRECTS 5L         /* then it is a loop (transport/ngx.lua: MAX_REDIRECTS) */
/* A file transfer moving fewer bytes per second than this for the client's
 * `timeout` is stalled (transport/ngx.lua has the same MIN_RATE). */
#define STALL_MIN_RATE 1024L
#define RESPONSE_HEADERS 7 /* header values fill_response copies (its hv) */

typedef struct {
  scv_client *c;
  CURL *easy;        /* the handle this transfer runs on */
  scv_buf *body;     /* where the body goes (NULL while held) */
  scv_buf *hdr;      /* where the header block goes */
  FILE *file;        /* downloads: where a 2xx body goes */
  size_t limit;      /* cap on bytes kept in memory */
  int too_large;
  int write_failed;
  /* framing (RFC 9112), checked by on_header: `bad` names a response we refuse
   * (the transfer is aborted); must_close: the connection may not be reused */
  const char *bad;
  int http10, te, must_close, cl_seen;
  curl_off_t cl;
  /* file transfers: "download" / "upload", the stall bound in seconds, and
   * the stall meter's window (start time, bytes moved before it) */
  const char *what;
  long stall_s;
  double window_start;
  curl_off_t window_base;
  int stalled;
  curl_off_t written;
  /* progress bar (downloads, TTY only) */
  int progress;
  double last_draw, started;
  int columns, drawn;        /* the terminal's width; the last line's length */
  int final_drawn;           /* the 100% line is on screen */
  /* file transfers: a Ctrl-C (see interrupt.c) aborts them */
  const scv_sigint_guard *sig;
  int interrupted;
  /* downloads: a redirect's target failed scv_client_allows_url */
  int refused_url;
  /* prefetch only: while `hold` is set the body callback pauses the transfer
   * (the response waits in the socket buffer, not in our memory); `discard`
   * drops what an abandoned transfer still delivers. */
  int hold, paused, discard;
} xfer;

/* Is the header line ptr[0..n) the field `name`? Then *value is its value. */
static int header_is(const char *ptr, size_t n, const char *name, const char **value, size_t *vlen) {
  size_t nl = strlen(name);
  if (n <= nl || ptr[nl] != ':' || strncasecmp(ptr, name, nl) != 0) return 0;
  const char *v = ptr + nl + 1, *end = ptr + n;
  while (v < end && (*v == ' ' || *v == '\t')) v++;
  while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' ' || end[-1] == '\t')) end--;
  *value = v;
  *vlen = (size_t)(end - v);
  return 1;
}

/* Content-Length: digits, or the same digits repeated as a list ("12, 12");
 * all the field lines of one response must agree (RFC 9112 §6.3 item 5). */
static int content_length_ok(xfer *x, const char *v, size_t n) {
  size_t i = 0;
  while (i < n) {
    while (i < n && (v[i] == ' ' || v[i] == '\t')) i++;
    if (i == n || !isdigit((unsigned char)v[i])) return 0;
    curl_off_t num = 0;
    size_t digits = 0;
    while (i < n && isdigit((unsigned char)v[i])) {
      if (++digits > 18) return 0;
      num = num * 10 + (v[i++] - '0');
    }
    while (i < n && (v[i] == ' ' || v[i] == '\t')) i++;
    if (i < n && v[i] != ',') return 0;
    i++;
    if (x->cl_seen && num != x->cl) return 0;
    x->cl_seen = 1;
    x->cl = num;
  }
  return x->cl_seen;
}

/* Framing checks on one header line (libcurl is lenient where RFC 9112 says a
 * client must not be): a response framed ambiguously is refused, and one that
 * leaves the connection in doubt closes it. Returns 0 to abort the transfer. */
static int check_framing(xfer *x, const char *ptr, size_t n) {
  const char *v;
  size_t vl;
  if (n >= 5 && memcmp(ptr, "HTTP/", 5) == 0) { /* a new response (1xx, redirect): its own framing */
    x->http10 = n >= 8 && memcmp(ptr, "HTTP/1.0", 8) == 0;
    x->te = x->cl_seen = 0;
    x->cl = 0;
    return 1;
  }
  if (n > 0 && (ptr[0] == ' ' || ptr[0] == '\t')) {
    /* obs-fold (RFC 9112 §5.2): libcurl would not unfold it, so a folded
       Transfer-Encoding would turn the chunk framing into content. */
    x->bad = "folded header line (obs-fold)";
    return 0;
  }
  if (header_is(ptr, n, "content-length", &v, &vl)) {
    if (!content_length_ok(x, v, vl)) {
      x->bad = "invalid Content-Length";
      return 0;
    }
  } else if (header_is(ptr, n, "transfer-encoding", &v, &vl)) {
    x->te = 1;
    /* §6.1: Transfer-Encoding in an HTTP/1.0 response means faulty framing */
    if (x->http10) x->must_close = 1;
  }
  /* §6.3 item 3: both framings given: Transfer-Encoding wins, the connection closes */
  if (x->te && x->cl_seen) x->must_close = 1;
  return 1;
}

static size_t on_header(char *ptr, size_t size, size_t nmemb, void *ud) {
  xfer *x = ud;
  size_t n = size * nmemb;
  if (!check_framing(x, ptr, n)) return 0;
  /* A new status line (after a 100 Continue or a followed redirect) starts a new header block. */
  if (n >= 5 && memcmp(ptr, "HTTP/", 5) == 0) x->hdr->len = 0;
  if (x->hdr->len + n > 256 * 1024) return n; /* ignore absurd header blocks */
  if (scv_buf_add(x->hdr, ptr, n)) return 0;
  return n;
}

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *ud) {
  xfer *x = ud;
  size_t n = size * nmemb;
  if (x->discard) return n;
  if (x->hold || x->body == NULL) {
    x->paused = 1;
    return CURL_WRITEFUNC_PAUSE; /* libcurl keeps this chunk and stops reading */
  }
  if (x->file) {
    long code = 0;
    curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &code);
    if (code >= 200 && code < 300) {
      if (fwrite(ptr, 1, n, x->file) != n) {
        x->write_failed = errno ? errno : EIO;
        return 0;
      }
      x->written += (curl_off_t)n;
      return n;
    }
  }
  if (x->body->len + n > x->limit) {
    x->too_large = 1;
    return 0; /* aborts the transfer with CURLE_WRITE_ERROR */
  }
  if (scv_buf_add(x->body, ptr, n)) return 0;
  return n;
}

static double mono_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* m:ss, or h:mm:ss past an hour. */
static void fmt_duration(char *out, size_t n, double secs) {
  long t = secs > 0 && secs < 1e8 ? (long)(secs + 0.5) : 0;
  if (t >= 3600) snprintf(out, n, "%ld:%02ld:%02ld", t / 3600, (t / 60) % 60, t % 60);
  else snprintf(out, n, "%ld:%02ld", t / 60, t % 60);
}

/* A progress line drawn by C on stderr (no Lua callback runs mid-transfer):
 * bar, percentage, megabytes, rate, elapsed time and ETA, cut to the
 * terminal's width (x->columns) and padded over the previous line. Also
 * where a file transfer notices a Ctrl-C: returning nonzero aborts it. */
static int on_progress(void *ud, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow) {
  xfer *x = ud;
  if (x->sig && scv_sigint_pending(x->sig)) {
    x->interrupted = 1;
    return 1; /* CURLE_ABORTED_BY_CALLBACK */
  }
  double now = mono_now();
  if (x->stall_s > 0) {
    /* The stall meter (transport/ngx.lua keeps the same one): fewer than
     * STALL_MIN_RATE bytes/s over a window of stall_s seconds ends the
     * transfer. libcurl calls this at least about once a second. */
    curl_off_t moved = dlnow + ulnow;
    if (now - x->window_start >= (double)x->stall_s) {
      if (moved - x->window_base < STALL_MIN_RATE * (curl_off_t)x->stall_s) {
        x->stalled = 1;
        return 1; /* CURLE_ABORTED_BY_CALLBACK */
      }
      x->window_start = now;
      x->window_base = moved;
    }
  }
  if (!x->progress) return 0;
  int final = (dltotal > 0 && dlnow >= dltotal) || (ultotal > 0 && ulnow >= ultotal);
  if (!final && now - x->last_draw < 0.1) return 0;
  if (final && x->final_drawn) return 0; /* the 100% line stays as it is */
  x->final_drawn = final;
  x->last_draw = now;
  curl_off_t total = dltotal ? dltotal : ultotal, cur = dltotal ? dlnow : ulnow;
  double elapsed = now - x->started, rate = elapsed > 0.05 ? (double)cur / elapsed : 0;
  char took[32], eta[32], tail[160];
  fmt_duration(took, sizeof took, elapsed);
  if (total > 0 && rate > 0 && !final) {
    fmt_duration(eta, sizeof eta, (double)(total - cur) / rate);
    snprintf(tail, sizeof tail, " %.1f MB/s %s, %s left", rate / 1048576.0, took, eta);
  } else {
    snprintf(tail, sizeof tail, " %.1f MB/s %s", rate / 1048576.0, took);
  }
  const char *label = ultotal ? "upload  " : "download";
  int width = x->columns > 0 ? x->columns - 1 : 79; /* the last column would wrap on some terminals */
  char line[600];
  int len;
  if (total > 0) {
    char nums[64];
    int pct = (int)((double)cur * 100.0 / (double)total);
    snprintf(nums, sizeof nums, " %3d%% %.1f/%.1f MB", pct, (double)cur / 1048576.0, (double)total / 1048576.0);
    int barw = width - (int)(strlen(label) + 3 + strlen(nums) + strlen(tail));
    if (barw > 30) barw = 30;
    if (barw < 5) barw = 0; /* no room: the numbers matter more */
    char bar[31];
    int filled = barw > 0 ? (int)((double)cur * barw / (double)total) : 0;
    if (filled > barw) filled = barw;
    for (int i = 0; i < barw; i++) bar[i] = i < filled ? '#' : '-';
    bar[barw] = '\0';
    if (barw > 0) len = snprintf(line, sizeof line, "%s [%s]%s%s", label, bar, nums, tail);
    else len = snprintf(line, sizeof line, "%s%s%s", label, nums, tail);
  } else {
    len = snprintf(line, sizeof line, "%s %.1f MB%s", label, (double)cur / 1048576.0, tail);
  }
  if (len < 0) return 0;
  if (len > width) len = width < (int)sizeof line ? width : (int)sizeof line - 1;
  line[len] = '\0';
  fprintf(stderr, "\r%s%*s", line, x->drawn > len ? x->drawn - len : 0, "");
  x->drawn = len;
  fflush(stderr);
  return 0;
}

/* Before a file transfer: its progress line, and the Ctrl-C watch. */
static void file_transfer_setup(xfer *x, int progress, const scv_sigint_guard *sig) {
  x->progress = progress && isatty(2);
  x->started = mono_now();
  x->columns = x->progress ? scv_terminal_columns() : 80;
  x->sig = sig && sig->active ? sig : NULL;
}

/* A transfer that a Ctrl-C ended -> nil, err (kind "cancelled"); returns 2. */
static int push_interrupted(lua_State *L, const char *method, const char *what) {
  lua_pushnil(L);
  scv_push_error(L, "cancelled", "interrupted (Ctrl-C)", method, what);
  lua_pushboolean(L, 1);
  lua_setfield(L, -2, "interrupted");
  return 2;
}

/* The response headers classification reads (fill_response), in the order
 * of its hv slots, with their lengths. */
static const struct {
  const char *name;
  size_t len;
} RESPONSE_HEADER_NAMES[RESPONSE_HEADERS] = {
    {"content-type", 12},      {"x-request-id", 12},          {"retry-after", 11},      {"location", 8},
    {"x-ratelimit-limit", 17}, {"x-ratelimit-remaining", 21}, {"x-ratelimit-reset", 17},
};

/* One pass over a header block: for each of RESPONSE_HEADER_NAMES, the value
 * of its first field line (lens[i] bytes at vals[i], into hdr), or NULL.
 * Nothing is cut here: see fill_response. */
static void find_headers(const scv_buf *hdr, const char *vals[RESPONSE_HEADERS], size_t lens[RESPONSE_HEADERS]) {
  int left = RESPONSE_HEADERS;
  for (int i = 0; i < RESPONSE_HEADERS; i++) vals[i] = NULL;
  const char *p = hdr->data, *end = hdr->data + hdr->len;
  if (p == NULL) return;
  while (p < end && left > 0) {
    const char *eol = memchr(p, '\n', (size_t)(end - p));
    if (eol == NULL) eol = end;
    /* a field name has no ':', so the first one on the line ends it */
    const char *colon = memchr(p, ':', (size_t)(eol - p));
    size_t nl = colon ? (size_t)(colon - p) : 0;
    for (int i = 0; colon && i < RESPONSE_HEADERS; i++) {
      if (vals[i] || RESPONSE_HEADER_NAMES[i].len != nl || strncasecmp(p, RESPONSE_HEADER_NAMES[i].name, nl) != 0)
        continue;
      const char *v = colon + 1;
      while (v < eol && (*v == ' ' || *v == '\t')) v++;
      const char *ve = eol;
      while (ve > v && (ve[-1] == '\r' || ve[-1] == ' ' || ve[-1] == '\t')) ve--;
      vals[i] = v;
      lens[i] = (size_t)(ve - v);
      left--;
      break;
    }
    p = eol + 1;
  }
}

/* Options that never change for a handle: set once, when the handle is made
 * (libcurl re-parses some of them, like the protocol lists, on every set).
 * The prefetch handle gets the same ones (see prefetch_handle). */
static void fixed_options(scv_client *c, CURL *e, char *errbuf) {
  curl_easy_setopt(e, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_USERAGENT, c->user_agent);
  curl_easy_setopt(e, CURLOPT_PATH_AS_IS, 1L); /* bytes we encoded are sent as they are */
  curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "https,http");
  curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
  /* Only set when given: CAINFO = NULL would drop libcurl's built-in bundle. */
  if (c->ca_file) curl_easy_setopt(e, CURLOPT_CAINFO, c->ca_file);
  /* Only the `proxy` option: "" turns off libcurl's reading of http_proxy,
   * HTTPS_PROXY, ALL_PROXY (and NO_PROXY), which would otherwise send a
   * plain-http API request, key in clear, to whatever the environment names.
   * The cosocket transport ignores them too (and refuses `proxy`). */
  curl_easy_setopt(e, CURLOPT_PROXY, c->proxy ? c->proxy : "");
  curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L);
  curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, c->connect_timeout_ms);
  curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(e, CURLOPT_XFERINFOFUNCTION, on_progress);
}

void scv_transport_init(scv_client *c) {
  fixed_options(c, c->easy, c->errbuf);
}

/* RFC 9112 §11.1: bytes a server sends that no request asked for (an
 * injected second response) must never be read as the answer to the next
 * request. An idle kept-alive HTTP/1.x connection has nothing to read; if
 * the one the handle used last has (or was closed by the server), it is shut
 * down here, so libcurl's check before reuse finds it dead, and the transfer
 * about to start gets a fresh connection. Returns 1 when it did that.
 * (HTTP/2 frames such as PING may arrive on an idle connection: libcurl reads
 * those itself, and an h2 stream cannot be answered by unrequested bytes.) */
static int drop_unfit_connection(CURL *e) {
  curl_socket_t s = CURL_SOCKET_BAD;
  long version = 0;
  if (curl_easy_getinfo(e, CURLINFO_HTTP_VERSION, &version) != CURLE_OK ||
      (version != CURL_HTTP_VERSION_1_0 && version != CURL_HTTP_VERSION_1_1))
    return 0;
  if (curl_easy_getinfo(e, CURLINFO_ACTIVESOCKET, &s) != CURLE_OK || s == CURL_SOCKET_BAD) return 0;
  struct pollfd p;
  p.fd = s;
  p.events = POLLIN;
  p.revents = 0;
  if (poll(&p, 1, 0) <= 0) return 0;
  shutdown(s, SHUT_RDWR);
  return 1;
}

/* After a transfer whose framing forbids reuse (check_framing's must_close). */
static void close_if_needed(CURL *e, const xfer *x) {
  curl_socket_t s = CURL_SOCKET_BAD;
  if (!x->must_close) return;
  if (curl_easy_getinfo(e, CURLINFO_ACTIVESOCKET, &s) == CURLE_OK && s != CURL_SOCKET_BAD) shutdown(s, SHUT_RDWR);
}

/* Options that differ between transfers, so nothing leaks from the previous one. */
static void common_setup(scv_client *c, xfer *x, const char *url, double timeout_s, long bufsize) {
  CURL *e = c->easy;
  /* libcurl allocates the read buffer for each transfer: large for files only. */
  curl_easy_setopt(e, CURLOPT_BUFFERSIZE, bufsize);
  x->easy = e;
  x->body = &c->body;
  x->hdr = &c->hdr;
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
  curl_easy_setopt(e, CURLOPT_NOPROGRESS, x->progress || x->sig ? 0L : 1L);
  curl_easy_setopt(e, CURLOPT_FRESH_CONNECT, drop_unfit_connection(e) ? 1L : 0L);
  curl_easy_setopt(e, CURLOPT_UPLOAD, 0L);
  curl_easy_setopt(e, CURLOPT_NOBODY, 0L);
  curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)0);
  curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, NULL);
  curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
#if LIBCURL_VERSION_NUM >= 0x075000
  curl_easy_setopt(e, CURLOPT_PREREQFUNCTION, NULL); /* downloads set it (on_prereq) */
#endif
}

/* File transfers have no total bound by default (big files take long), but a
 * stalled or trickling one must end: fewer than STALL_MIN_RATE bytes/s over a
 * window of the client's timeout (whole seconds, at least 1), measured in
 * on_progress. (libcurl's own low-speed check averages over its last 5 s, so
 * after a fast start it would notice a stall only seconds late.) */
static void stall_detection(scv_client *c, xfer *x) {
  long s = (c->timeout_ms + 999) / 1000;
  x->stall_s = s < 1 ? 1 : s;
  x->window_start = mono_now();
  x->window_base = 0;
  curl_easy_setopt(c->easy, CURLOPT_NOPROGRESS, 0L);
}

/* Did the request possibly reach the server? Failures while resolving,
 * connecting or in the TLS handshake certainly happened before a byte of the
 * request was written. Otherwise: once libcurl got past connecting
 * (pre-transfer), or wrote request bytes, or read response bytes, the server
 * may have it. When unsure, say "sent": a credit-spending request is then
 * reconciled instead of resent. */
static int maybe_sent(CURL *e, CURLcode rc) {
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
  curl_easy_getinfo(e, CURLINFO_PRETRANSFER_TIME_T, &pre);
  curl_easy_getinfo(e, CURLINFO_REQUEST_SIZE, &req_bytes);
  curl_easy_getinfo(e, CURLINFO_HEADER_SIZE, &hdr_bytes);
  return pre > 0 || req_bytes > 0 || hdr_bytes > 0;
}

/* A libcurl failure, described in C first: everything is read from the
 * handle before Lua allocates (an allocation may run finalizers). */
typedef struct {
  char msg[512];
  const char *kind;
  const char *hint; /* a static sentence saying what to do, or NULL */
  int retryable, sent;
  long status;
  CURLcode rc;
} transport_failure;

static void describe_failure(transport_failure *f, CURL *e, const char *errbuf, CURLcode rc, const xfer *x) {
  f->kind = "network";
  f->hint = NULL;
  f->retryable = 1;
  f->status = 0;
  f->rc = rc;
  if (x->too_large || rc == CURLE_FILESIZE_EXCEEDED) {
    snprintf(f->msg, sizeof f->msg, "response body larger than max_response_bytes (%zu bytes); refused", x->limit);
    f->kind = "decode";
    f->retryable = 0;
    curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &f->status);
  } else if (x->write_failed) {
    snprintf(f->msg, sizeof f->msg, "writing the downloaded file failed: %s", strerror(x->write_failed));
    f->kind = "io";
    f->retryable = 0;
  } else if (x->bad) {
    /* the same words as transport/ngx.lua's malformed() */
    snprintf(f->msg, sizeof f->msg, "malformed HTTP response: %s", x->bad);
  } else if (x->refused_url) {
    /* the words of client:allows_url, which transport/ngx.lua applies to each redirect */
    snprintf(f->msg, sizeof f->msg, "%s", SCV_URL_REFUSED);
    f->kind = "invalid";
    f->retryable = 0;
  } else if (x->stalled) {
    snprintf(f->msg, sizeof f->msg, "%s stalled: less than %ld bytes/s for %ld s (the client's timeout)", x->what,
             STALL_MIN_RATE, x->stall_s);
    f->kind = "timeout";
  } else if (rc == CURLE_OPERATION_TIMEDOUT) {
    snprintf(f->msg, sizeof f->msg, "timed out: %s", errbuf[0] ? errbuf : curl_easy_strerror(rc));
    f->kind = "timeout";
  } else if (rc == CURLE_TOO_MANY_REDIRECTS) {
    /* a loop: trying again cannot help (transport/ngx.lua says the same) */
    snprintf(f->msg, sizeof f->msg, "storage redirected more than 5 times (a redirect loop); not followed further");
    f->kind = "api";
    f->retryable = 0;
    curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &f->status);
  } else {
    /* libcurl's detail usually repeats its summary ("Failed to connect to h
     * port 1 after 0 ms: Couldn't connect to server"): say it once, then
     * what to do about it. */
    const char *summary = curl_easy_strerror(rc);
    if (errbuf[0] == '\0')
      snprintf(f->msg, sizeof f->msg, "%s", summary);
    else if (strstr(errbuf, summary))
      snprintf(f->msg, sizeof f->msg, "%s", errbuf);
    else
      snprintf(f->msg, sizeof f->msg, "%s: %s", summary, errbuf);
    /* what to do about it: err.hint, which the Lua layer puts after the
     * attempt count (request.lua, spell_out) */
    if (rc == CURLE_COULDNT_CONNECT)
      f->hint = "Is the server running, and is base_url right?";
    else if (rc == CURLE_COULDNT_RESOLVE_HOST)
      f->hint = "Check the host name in base_url.";
    else if (rc == CURLE_SSL_CACERT_BADFILE)
      f->hint = "The ca_file given to scravio.new cannot be read as PEM certificates: check its path.";
    else if (rc == CURLE_PEER_FAILED_VERIFICATION || rc == CURLE_SSL_CERTPROBLEM)
      f->hint = "TLS certificate verification failed: for a private CA give its certificate to scravio.new "
                "as ca_file = \"/path/ca.pem\" (verification cannot be turned off).";
    if (rc == CURLE_PEER_FAILED_VERIFICATION || rc == CURLE_SSL_CACERT_BADFILE || rc == CURLE_SSL_CERTPROBLEM ||
        rc == CURLE_UNSUPPORTED_PROTOCOL || rc == CURLE_URL_MALFORMAT || rc == CURLE_SSL_CIPHER)
      f->retryable = 0; /* trying again will not change the certificate or the URL */
  }
  f->sent = x->refused_url ? 0 : maybe_sent(e, rc);
}

/* Push nil, err for a described failure; returns 2. */
static int push_failure(lua_State *L, const transport_failure *f, const char *method, const char *path) {
  lua_pushnil(L);
  scv_push_error(L, f->kind, f->msg, method, path);
  lua_pushboolean(L, f->retryable);
  lua_setfield(L, -2, "retryable");
  lua_pushboolean(L, f->sent);
  lua_setfield(L, -2, "sent");
  if (f->status > 0) { /* the status line arrived before the body was refused */
    lua_pushinteger(L, (lua_Integer)f->status);
    lua_setfield(L, -2, "status");
  }
  lua_pushinteger(L, (lua_Integer)f->rc);
  lua_setfield(L, -2, "curl_code");
  if (f->hint) {
    lua_pushstring(L, f->hint);
    lua_setfield(L, -2, "hint");
  }
  return 2;
}

/* Turn a libcurl failure on the client's main handle into nil, err. */
static int push_transport_error(lua_State *L, scv_client *c, CURLcode rc, xfer *x, const char *method, const char *path) {
  transport_failure f;
  describe_failure(&f, c->easy, c->errbuf, rc, x);
  return push_failure(L, &f, method, path);
}

/* The parts of a finished response classify needs. Header values are copied
 * into hv, so the header buffer may be reused before classification. */
static void fill_response(const scv_client *c, CURL *e, const scv_buf *body, const scv_buf *hdr, scv_response *r,
                          char hv[RESPONSE_HEADERS][SCV_HEADER_VALUE_MAX + 1], const char *method, const char *path) {
  memset(r, 0, sizeof *r);
  scv_client_secret(c, &r->secret, &r->secret_hint);
  curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &r->status);
  r->body = body->data ? body->data : "";
  r->body_len = body->len;
  /* Each value is copied into hv with the client's credential masked first
     and only then cut (mask.c), exactly as core.classify does for the
     cosocket transport. */
  const char *vals[RESPONSE_HEADERS], *out[RESPONSE_HEADERS];
  size_t lens[RESPONSE_HEADERS];
  find_headers(hdr, vals, lens);
  for (int i = 0; i < RESPONSE_HEADERS; i++) {
    out[i] = NULL;
    if (vals[i] == NULL) continue;
    scv_mask(r->secret, r->secret_hint, vals[i], lens[i], hv[i], SCV_HEADER_VALUE_MAX + 1);
    out[i] = hv[i];
  }
  r->content_type = out[0];
  r->request_id = out[1];
  r->retry_after = out[2];
  r->location = out[3];
  r->rate_limit[0] = out[4];
  r->rate_limit[1] = out[5];
  r->rate_limit[2] = out[6];
  r->method = method;
  r->path = path;
  r->max_depth = 256;
}

/* Push what a successful answer says about itself, after its value: status,
 * request id, and the X-RateLimit-Limit/-Remaining/-Reset values (nil when
 * absent). Values copied from the server are masked like error fields: an
 * echo of the credential never reaches Lua. Returns 5. */
static int push_answer_meta(lua_State *L, const scv_response *r) {
  lua_pushinteger(L, (lua_Integer)r->status);
  const char *vals[4] = {r->request_id, r->rate_limit[0], r->rate_limit[1], r->rate_limit[2]};
  for (int i = 0; i < 4; i++) {
    if (vals[i]) scv_push_masked(L, r->secret, r->secret_hint, vals[i], strlen(vals[i]), (size_t)-1);
    else lua_pushnil(L);
  }
  return 5;
}

/* Push what classify made: value, status, request_id, rate limit x3
 * (returns 6) or nil, err (returns 2). */
static int push_classified(lua_State *L, const scv_response *r) {
  if (scv_classify(L, r)) return 1 + push_answer_meta(L, r);
  lua_pushnil(L);
  lua_insert(L, -2);
  return 2;
}

/* Copy a header list and append the caller's extra "Name: value" lines
 * (the per-call `headers` option, an array at index idx; already checked in
 * Lua, CR/LF refused again here). -> the new list (caller frees), or NULL
 * with *bad set when a line is refused or memory ran out. */
static struct curl_slist *with_extra_headers(lua_State *L, int idx, const struct curl_slist *base, int *bad) {
  struct curl_slist *out = NULL;
  *bad = 0;
  for (const struct curl_slist *s = base; s; s = s->next) {
    struct curl_slist *n = curl_slist_append(out, s->data);
    if (n == NULL) goto fail;
    out = n;
  }
  lua_Integer count = (lua_Integer)scv_rawlen(L, idx);
  for (lua_Integer i = 1; i <= count; i++) {
    lua_rawgeti(L, idx, i);
    size_t len;
    const char *line = lua_tolstring(L, -1, &len);
    int ok = line != NULL && len > 0 && scv_header_value_ok(line, len) && strchr(line, ':') != NULL;
    struct curl_slist *n = ok ? curl_slist_append(out, line) : NULL;
    lua_pop(L, 1);
    if (n == NULL) goto fail;
    out = n;
  }
  return out;
fail:
  curl_slist_free_all(out);
  *bad = 1;
  return NULL;
}

/* lazy = "page" (the iterator's page GETs): answer a LazyPage. */
static int is_page_mode(lua_State *L, int idx) {
  return lua_type(L, idx) == LUA_TSTRING && strcmp(lua_tostring(L, idx), "page") == 0;
}

/* Push a LazyPage over the client's body buffer, which it takes (r->body
 * stays valid: the page owns those bytes now). -> 1, or 0 with nothing
 * pushed and the buffer left where it was (not a page to stream). The client
 * userdata is at stack index 1. */
static int push_page(lua_State *L, scv_client *c, const scv_response *r) {
  return scv_lazypage_push(L, r->body, r->body_len, r->max_depth, 1, &c->body);
}

void scv_client_body_return(lua_State *L, int idx, scv_buf *b) {
  scv_client *c = scv_testudata(L, idx, SCV_CLIENT_MT);
  if (c && !c->closed && b->cap > c->body.cap) {
    scv_buf_free(&c->body);
    c->body = *b;
    c->body.len = 0;
    scv_buf_init(b);
    return;
  }
  scv_buf_free(b);
}

static uint64_t body_hash(const scv_buf *b);

/* client:send(method, url, path, body, timeout, fresh, lazy, headers)
 *   -> value, status, request_id, rate_limit, rate_remaining, rate_reset | nil, err
 * `headers`: nil, or an array of extra "Name: value" lines for this call.
 * `fresh` asks for a new connection: libcurl silently resends a request once
 * when a reused connection dies before answering, which must never happen to
 * a POST that spends credits. With `lazy`, a 2xx JSON object comes back as a
 * LazyDoc (validated, decoded field by field when read) instead of a table;
 * with lazy = "page", a 2xx list page comes back as a LazyPage (validated,
 * its items decoded one at a time: csrc/lazypage.c) that takes the client's
 * body buffer until it is released. */
static int l_send(lua_State *L) {
  scv_client *c = scv_check_client(L, 1);
  size_t mlen;
  const char *method = luaL_checklstring(L, 2, &mlen);
  const char *url = luaL_checkstring(L, 3);
  const char *path = luaL_optstring(L, 4, url);
  if (mlen == 0 || mlen > 16 || !scv_header_value_ok(method, mlen) || strpbrk(method, " \t"))
    return luaL_error(L, "scravio: bad HTTP method");
  if (!scv_client_api_url(c, url)) { /* the credential goes nowhere else */
    lua_pushnil(L);
    scv_push_error(L, "invalid", "refusing to send the credential outside the client's base_url", method, path);
    return 2;
  }
  size_t blen = 0;
  const char *body = luaL_optlstring(L, 5, NULL, &blen);
  double timeout = (double)luaL_optnumber(L, 6, 0);
  int fresh = lua_toboolean(L, 7);
  int page = is_page_mode(L, 8);
  int lazy = !page && lua_toboolean(L, 8);
  struct curl_slist *extra = NULL;
  if (lua_type(L, 9) == LUA_TTABLE && scv_rawlen(L, 9) > 0) {
    int bad;
    extra = with_extra_headers(L, 9, body ? c->api_json_headers : c->api_headers, &bad);
    if (bad) return luaL_error(L, "scravio: a request header is empty, has no ':' or contains CR/LF");
  }
  xfer x;
  memset(&x, 0, sizeof x);
  x.c = c;
  x.limit = c->max_response_bytes;
  common_setup(c, &x, url, timeout, API_BUFFER);
  CURL *e = c->easy;
  curl_easy_setopt(e, CURLOPT_HTTPHEADER, extra ? extra : body ? c->api_json_headers : c->api_headers);
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
  close_if_needed(e, &x);
  curl_easy_setopt(e, CURLOPT_POSTFIELDS, NULL); /* the Lua string may go away */
  if (extra) {
    /* the handle must not keep pointing at the list freed here */
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, body ? c->api_json_headers : c->api_headers);
    curl_slist_free_all(extra);
  }
  if (rc != CURLE_OK) return push_transport_error(L, c, rc, &x, method, path);
  scv_response r;
  char hv[RESPONSE_HEADERS][SCV_HEADER_VALUE_MAX + 1];
  fill_response(c, e, &c->body, &c->hdr, &r, hv, method, path);
  if (lazy && r.status >= 200 && r.status < 300 && scv_lazydoc_push(L, r.body, r.body_len, r.max_depth))
    return 1 + push_answer_meta(L, &r);
  if (page && r.status >= 200 && r.status < 300) {
    /* (the prefetch that follows compares the next answer with this body,
     * which the page is about to take: see l_prefetch) */
    uint64_t h = body_hash(&c->body);
    if (push_page(L, c, &r)) {
      c->taken_body_hash = h;
      return 1 + push_answer_meta(L, &r);
    }
  }
  return push_classified(L, &r);
}

static int storage_error(lua_State *L, scv_client *c, const char *method, const char *what) {
  scv_response r;
  char hv[RESPONSE_HEADERS][SCV_HEADER_VALUE_MAX + 1];
  fill_response(c, c->easy, &c->body, &c->hdr, &r, hv, method, what);
  if (scv_classify(L, &r)) { /* a 2xx we did not expect here cannot happen; keep the stack sane */
    lua_pop(L, 1);
    scv_push_error(L, "api", "unexpected storage response", method, what);
  }
  lua_pushnil(L);
  lua_insert(L, -2);
  return 2;
}

#if LIBCURL_VERSION_NUM >= 0x075000
/* Storage redirects are followed by libcurl, whose protocol filter cannot say
 * "http only to loopback": each request's URL, a redirect's target included,
 * is checked here, after connecting and before a byte of the request is
 * written (as transport/ngx.lua checks each Location). */
static int on_prereq(void *ud, char *primary_ip, char *local_ip, int primary_port, int local_port) {
  xfer *x = ud;
  char *url = NULL;
  (void)primary_ip, (void)local_ip, (void)primary_port, (void)local_port;
  if (curl_easy_getinfo(x->easy, CURLINFO_EFFECTIVE_URL, &url) != CURLE_OK || url == NULL ||
      !scv_client_allows_url(x->c, url, strlen(url))) {
    x->refused_url = 1;
    return CURL_PREREQFUNC_ABORT;
  }
  return CURL_PREREQFUNC_OK;
}
#endif

/* The download's file, opened for writing from its start, created if absent.
 * Not with O_TRUNC (fopen "wb"): ext4 flushes a file that was truncated at
 * open when it is closed (auto_da_alloc), which made the close of a 1 GiB
 * download take 0.7 s; the Lua layer hands over an empty temporary file, so
 * only a file that has bytes is truncated here. NULL with errno on failure. */
static FILE *open_for_download(const char *file) {
  int fd = open(file, O_WRONLY | O_CREAT | O_CLOEXEC, 0666);
  if (fd < 0) return NULL;
  struct stat st;
  FILE *f = NULL;
  if (fstat(fd, &st) == 0 && (st.st_size == 0 || ftruncate(fd, 0) == 0)) f = fdopen(fd, "wb");
  if (f == NULL) {
    int e = errno;
    close(fd);
    errno = e;
  }
  return f;
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
  FILE *f = open_for_download(file);
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
  scv_sigint_guard sig;
  scv_sigint_begin(&sig);
  file_transfer_setup(&x, progress, &sig);
  common_setup(c, &x, url, timeout > 0 ? timeout : 24.0 * 3600.0, DOWNLOAD_BUFFER);
  CURL *e = c->easy;
  curl_easy_setopt(e, CURLOPT_HTTPHEADER, c->storage_headers);
  curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
  curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(e, CURLOPT_MAXREDIRS, MAX_STORAGE_REDIRECTS);
#if LIBCURL_VERSION_NUM >= 0x075000
  curl_easy_setopt(e, CURLOPT_PREREQFUNCTION, on_prereq);
  curl_easy_setopt(e, CURLOPT_PREREQDATA, &x);
#endif
  x.what = "download";
  stall_detection(c, &x);
  CURLcode rc = curl_easy_perform(e);
  int interrupted = scv_sigint_end(&sig) || x.interrupted;
  close_if_needed(e, &x);
  if (x.progress && x.drawn) fputc('\n', stderr); /* end the progress line, whatever happened */
  int close_failed = fclose(f) != 0;
  if (interrupted) return push_interrupted(L, "GET", "(download)"); /* the caller removes the file */
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
  struct curl_slist *h1 = hdrs ? curl_slist_append(hdrs, "Accept-Encoding: identity") : NULL;
  struct curl_slist *h2 = h1 ? curl_slist_append(h1, cth) : NULL;
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
  scv_sigint_guard sig;
  scv_sigint_begin(&sig);
  file_transfer_setup(&x, progress, &sig);
  common_setup(c, &x, url, timeout > 0 ? timeout : 24.0 * 3600.0, DOWNLOAD_BUFFER);
  CURL *e = c->easy;
  curl_easy_setopt(e, CURLOPT_HTTPHEADER, hdrs);
  curl_easy_setopt(e, CURLOPT_UPLOAD, 1L);
  curl_easy_setopt(e, CURLOPT_READFUNCTION, NULL); /* libcurl's default reads the FILE* */
  curl_easy_setopt(e, CURLOPT_READDATA, f);
  curl_easy_setopt(e, CURLOPT_INFILESIZE_LARGE, (curl_off_t)st.st_size);
  x.what = "upload";
  /* Storage may redirect the PUT (S3 answers 307 to a request sent to the
   * wrong region). 307/308 keep the method and the body, so they are followed
   * here, by hand (libcurl's FOLLOWLOCATION would also follow 301/302/303,
   * which do not promise that): the file is sent again from its start to
   * the new URL, with the same storage-only headers (no credential ever
   * goes to storage), at most MAX_STORAGE_REDIRECTS times, only to a URL
   * allows_url accepts, within the one timeout of the whole upload. */
  double ends = mono_now() + (timeout > 0 ? timeout : 24.0 * 3600.0);
  int hops = 0;
  char next[2048];
  CURLcode rc;
  const char *refused = NULL;
  for (;;) {
    stall_detection(c, &x);
    rc = curl_easy_perform(e);
    if (rc != CURLE_OK || x.interrupted) break;
    long st_code = 0;
    char *loc = NULL;
    curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &st_code);
    if (st_code != 307 && st_code != 308) break;
    if (curl_easy_getinfo(e, CURLINFO_REDIRECT_URL, &loc) != CURLE_OK || loc == NULL) break;
    if (hops >= MAX_STORAGE_REDIRECTS) {
      rc = CURLE_TOO_MANY_REDIRECTS;
      break;
    }
    if (strlen(loc) >= sizeof next) {
      refused = "storage redirected the upload to a URL too long to follow";
      break;
    }
    if (!scv_client_allows_url(c, loc, strlen(loc))) {
      refused = SCV_URL_REFUSED; /* the words of client:allows_url */
      break;
    }
    memcpy(next, loc, strlen(loc) + 1);
    double left = ends - mono_now();
    if (left <= 0 || fseek(f, 0L, SEEK_SET) != 0) {
      rc = left <= 0 ? CURLE_OPERATION_TIMEDOUT : CURLE_READ_ERROR;
      break;
    }
    hops++;
    c->hdr.len = 0;
    c->body.len = 0;
    c->errbuf[0] = '\0';
    curl_easy_setopt(e, CURLOPT_URL, next);
    long tmo = (long)(left * 1000.0);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, tmo < 1 ? 1L : tmo);
  }
  int interrupted = scv_sigint_end(&sig) || x.interrupted;
  close_if_needed(e, &x);
  curl_easy_setopt(e, CURLOPT_UPLOAD, 0L);
  curl_easy_setopt(e, CURLOPT_READDATA, NULL);
  curl_easy_setopt(e, CURLOPT_HTTPHEADER, NULL);
  curl_slist_free_all(hdrs);
  fclose(f);
  if (x.progress && x.drawn) fputc('\n', stderr);
  if (interrupted) return push_interrupted(L, "PUT", "(upload)");
  if (rc != CURLE_OK) return push_transport_error(L, c, rc, &x, "PUT", "(upload)");
  if (refused) {
    lua_pushnil(L);
    scv_push_error(L, "invalid", refused, "PUT", "(upload)");
    return 2;
  }
  long status = 0;
  curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
  if (status < 200 || status >= 300) return storage_error(L, c, "PUT", "(upload)");
  lua_pushinteger(L, (lua_Integer)status);
  return 1;
}

/* ---- prefetch: the next page's GET, in flight while the current one decodes ----
 *
 * A second easy handle inside a multi handle, made on first use and used for
 * nothing but API GETs of list pages. No thread: prefetch() writes the request
 * to the socket (a few non-blocking curl_multi_perform rounds) and returns; the
 * server answers while Lua works and the answer waits in the kernel's socket
 * buffer (the body callback pauses the transfer instead of buffering it: at
 * most the one chunk libcurl holds is ours). collect() resumes it, reads it to the
 * end into the client's body buffer and classifies it exactly like send().
 * collect() can start the following page's prefetch as soon as this page's
 * bytes are in, before decoding them: that is what overlaps the transfer of
 * page N+1 with the decoding of page N. The main handle is never touched, so
 * any other call on the client in between is unaffected. */
#define PREFETCH_BUFFER (128L * 1024L)
#define PREFETCH_START_ROUNDS 4 /* curl_multi_perform rounds to get the request out */

struct scv_prefetch {
  CURLM *multi;
  CURL *easy;
  xfer x;       /* the callbacks' state; body is NULL (held) until collect */
  scv_buf hdr;  /* the prefetch's own header block */
  char *url;    /* the URL in flight */
  size_t url_cap;
  int active;   /* the easy handle is in the multi */
  int done;     /* its transfer ended; rc says how */
  CURLcode rc;
  double timeout; /* seconds, from prefetch(); collect may give its own */
  uint64_t page_hash; /* body_hash of the page before the one in flight (0: unknown) */
  char errbuf[CURL_ERROR_SIZE];
};

/* A cheap fingerprint of a page's raw bytes (FNV-1a over 8-byte words). A
 * server that ignores ?page= answers the same bytes again: the next page is
 * then not prefetched, so an iteration that is about to stop on a repeated
 * page (pagination.lua) sends nothing more. Equal hashes only skip an
 * optimisation; the pager's own item comparison decides. */
static uint64_t body_hash(const scv_buf *b) {
  uint64_t h = 1469598103934665603ULL;
  size_t i = 0, n = b->data ? b->len : 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t w;
    memcpy(&w, b->data + i, 8);
    h = (h ^ w) * 1099511628211ULL;
  }
  for (; i < n; i++) h = (h ^ (unsigned char)b->data[i]) * 1099511628211ULL;
  h ^= (uint64_t)n;
  return h ? h : 1;
}

/* The prefetch handle, made on first use; NULL when out of memory. */
static scv_prefetch *prefetch_handle(scv_client *c) {
  if (c->pf) return c->pf;
  scv_prefetch *p = calloc(1, sizeof *p);
  if (p == NULL) return NULL;
  scv_buf_init(&p->hdr);
  p->multi = curl_multi_init();
  p->easy = curl_easy_init();
  if (p->multi == NULL || p->easy == NULL) {
    if (p->easy) curl_easy_cleanup(p->easy);
    if (p->multi) curl_multi_cleanup(p->multi);
    free(p);
    return NULL;
  }
  CURL *e = p->easy;
  fixed_options(c, e, p->errbuf);
  /* Only ever an API GET: credentials, no redirects, no progress, the
   * response size cap; a 128 KB read buffer (512 KB is for downloads). */
  curl_easy_setopt(e, CURLOPT_BUFFERSIZE, PREFETCH_BUFFER);
  curl_easy_setopt(e, CURLOPT_HTTPHEADER, c->api_headers);
  curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
  curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(e, CURLOPT_NOPROGRESS, 1L);
  curl_easy_setopt(e, CURLOPT_HEADERDATA, &p->x);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, &p->x);
  curl_easy_setopt(e, CURLOPT_XFERINFODATA, &p->x);
  /* No total timeout in libcurl: the request may wait, paused, while Lua
   * iterates; collect() bounds the wait for the answer itself. */
  curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, 0L);
  if (c->max_response_bytes < (size_t)0x7fffffffffffLL)
    curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)c->max_response_bytes);
  p->x.c = c;
  p->x.easy = e;
  p->x.hdr = &p->hdr;
  p->x.limit = c->max_response_bytes;
  c->pf = p;
  return p;
}

static void prefetch_reap(scv_prefetch *p) {
  CURLMsg *m;
  int left;
  while ((m = curl_multi_info_read(p->multi, &left)) != NULL) {
    if (m->msg == CURLMSG_DONE && m->easy_handle == p->easy) {
      p->done = 1;
      p->rc = m->data.result;
    }
  }
}

/* Leave the prefetch handle idle: whatever is in flight is dropped. */
static void prefetch_stop(scv_prefetch *p) {
  if (p == NULL || !p->active) return;
  if (p->x.paused && !p->done) {
    /* Unpause before removing, dropping what libcurl kept, so no pause state
     * outlives this transfer. */
    p->x.discard = 1;
    p->x.hold = 0;
    p->x.paused = 0;
    curl_easy_pause(p->easy, CURLPAUSE_CONT);
  }
  curl_multi_remove_handle(p->multi, p->easy);
  p->active = 0;
  p->done = 0;
  p->x.hold = p->x.paused = p->x.discard = 0;
  p->x.body = NULL;
}

static int prefetch_sent(scv_prefetch *p) {
  long req_bytes = 0;
  curl_easy_getinfo(p->easy, CURLINFO_REQUEST_SIZE, &req_bytes);
  return req_bytes > 0;
}

/* Start a GET of url on the prefetch handle (dropping any other one in
 * flight). Returns 1 when it is under way, 0 when it could not be started.
 * settle > 0 (tests) keeps driving it for up to that many seconds, until the
 * answer's first body bytes arrive and are held. */
static int prefetch_start(scv_client *c, const char *url, double timeout, double settle) {
  if (!scv_client_api_url(c, url)) return 0; /* the credential goes nowhere else */
  scv_prefetch *p = prefetch_handle(c);
  if (p == NULL) return 0;
  if (p->active && strcmp(p->url, url) == 0) return 1; /* already in flight */
  prefetch_stop(p);
  size_t n = strlen(url) + 1;
  if (n > p->url_cap) {
    char *u = realloc(p->url, n);
    if (u == NULL) return 0;
    p->url = u;
    p->url_cap = n;
  }
  memcpy(p->url, url, n);
  p->hdr.len = 0;
  p->errbuf[0] = '\0';
  p->done = 0;
  p->rc = CURLE_OK;
  p->timeout = timeout;
  p->x.too_large = p->x.write_failed = 0;
  p->x.bad = NULL;
  p->x.http10 = p->x.te = p->x.must_close = p->x.cl_seen = 0;
  curl_easy_setopt(p->easy, CURLOPT_FRESH_CONNECT, drop_unfit_connection(p->easy) ? 1L : 0L);
  p->x.paused = p->x.discard = 0;
  p->x.hold = 1;
  p->x.body = NULL;
  curl_easy_setopt(p->easy, CURLOPT_URL, p->url);
  if (curl_multi_add_handle(p->multi, p->easy) != CURLM_OK) return 0;
  p->active = 1;
  /* Get the request onto the wire and return: on a kept-alive connection one
   * round does it; a new connection may take a few (no long waits here: a
   * request still unsent is sent by collect). */
  for (int i = 0; i < PREFETCH_START_ROUNDS; i++) {
    int running = 0;
    curl_multi_perform(p->multi, &running);
    prefetch_reap(p);
    if (p->done || prefetch_sent(p)) break;
    curl_multi_wait(p->multi, NULL, 0, 1, NULL);
  }
  if (settle > 0) {
    double until = mono_now() + (settle < 10 ? settle : 10);
    while (!p->done && !p->x.paused && mono_now() < until) {
      int running = 0;
      curl_multi_wait(p->multi, NULL, 0, 10, NULL);
      curl_multi_perform(p->multi, &running);
      prefetch_reap(p);
    }
  }
  return 1;
}

static double clamp_timeout(double s, double dflt) {
  if (!(s > 0)) s = dflt;
  if (!(s <= MAX_TIMEOUT_S)) s = MAX_TIMEOUT_S; /* also NaN */
  return s;
}

/* client:prefetch(url, path, timeout[, settle]) -> true | false, held
 * Starts a GET of url on the prefetch handle and returns once the request is
 * written (or after a few short rounds). At most one prefetch is in flight:
 * another URL replaces the one in flight; the same URL keeps it. timeout is
 * collect's default wait. settle is for tests (see prefetch_start). */
static int l_prefetch(lua_State *L) {
  scv_client *c = scv_check_client(L, 1);
  size_t n;
  const char *url = luaL_checklstring(L, 2, &n);
  double timeout = (double)luaL_optnumber(L, 4, 0);
  double settle = (double)luaL_optnumber(L, 5, 0);
  if (!scv_header_value_ok(url, n) || strchr(url, ' ')) return luaL_error(L, "scravio: bad URL");
  int started = prefetch_start(c, url, timeout, settle);
  /* Called right after the pager received a page through send(): c->body
   * holds that page. */
  if (started && c->pf) c->pf->page_hash = c->body.len ? body_hash(&c->body) : c->taken_body_hash;
  lua_pushboolean(L, started);
  lua_pushboolean(L, started && c->pf && c->pf->x.paused); /* (tests: the answer's first bytes are held) */
  return 2;
}

/* client:collect(url, path, timeout, next_url, lazy)
 *   -> value, status, request_id, next_started, rate_limit, rate_remaining, rate_reset
 *      | nil, err | nil, nil
 * nil, nil when no prefetch of exactly this url is in flight (the caller
 * sends the request itself). Otherwise waits for it (at most timeout seconds)
 * and answers exactly like send(). With next_url, and a 2xx answer, the
 * prefetch of next_url starts before this answer is decoded. lazy = "page":
 * a 2xx list page comes back as a LazyPage, as from send. On any failure
 * the prefetch handle is left idle. */
static int l_collect(lua_State *L) {
  scv_client *c = scv_check_client(L, 1);
  const char *url = luaL_checkstring(L, 2);
  const char *path = luaL_optstring(L, 3, url);
  double timeout = (double)luaL_optnumber(L, 4, 0);
  size_t nlen = 0;
  const char *next = luaL_optlstring(L, 5, NULL, &nlen);
  if (next && (!scv_header_value_ok(next, nlen) || strchr(next, ' '))) return luaL_error(L, "scravio: bad URL");
  int page = is_page_mode(L, 6);
  scv_prefetch *p = c->pf;
  if (p == NULL || !p->active || strcmp(p->url, url) != 0) {
    prefetch_stop(p); /* a stale one (an abandoned iteration) goes */
    lua_pushnil(L);
    lua_pushnil(L);
    return 2;
  }
  timeout = clamp_timeout(timeout, p->timeout > 0 ? p->timeout : (double)c->timeout_ms / 1000.0);
  double deadline = mono_now() + timeout;
  c->body.len = 0;
  p->x.body = &c->body;
  p->x.hold = 0;
  if (p->x.paused) {
    p->x.paused = 0;
    CURLcode prc = curl_easy_pause(p->easy, CURLPAUSE_CONT); /* delivers the chunk libcurl kept */
    if (prc != CURLE_OK) { /* e.g. that chunk alone was over max_response_bytes */
      p->done = 1;
      p->rc = prc;
    }
  }
  while (!p->done) {
    int running = 0;
    CURLMcode mc = curl_multi_perform(p->multi, &running);
    prefetch_reap(p);
    if (p->done) break;
    if (mc != CURLM_OK) {
      p->done = 1;
      p->rc = CURLE_RECV_ERROR;
      snprintf(p->errbuf, sizeof p->errbuf, "%s", curl_multi_strerror(mc));
      break;
    }
    double left = deadline - mono_now();
    if (left <= 0) {
      p->done = 1;
      p->rc = CURLE_OPERATION_TIMEDOUT;
      snprintf(p->errbuf, sizeof p->errbuf, "no complete answer within %.3g s", timeout);
      break;
    }
    int ms = left >= 1.0 ? 1000 : (int)(left * 1000.0) + 1;
    curl_multi_poll(p->multi, NULL, 0, ms, NULL);
  }
  if (p->rc != CURLE_OK) {
    transport_failure f;
    describe_failure(&f, p->easy, p->errbuf, p->rc, &p->x);
    prefetch_stop(p);
    return push_failure(L, &f, "GET", path);
  }
  scv_response r;
  char hv[RESPONSE_HEADERS][SCV_HEADER_VALUE_MAX + 1];
  fill_response(c, p->easy, &c->body, &p->hdr, &r, hv, "GET", path);
  close_if_needed(p->easy, &p->x);
  prefetch_stop(p); /* done: the connection goes back to the multi's cache */
  int started = 0;
  uint64_t h = body_hash(&c->body);
  if (next && r.status >= 200 && r.status < 300 && h != p->page_hash) {
    started = prefetch_start(c, next, p->timeout, 0);
    if (started && c->pf) c->pf->page_hash = h;
  }
  /* From here on Lua allocates (finalizers may run): no more libcurl state is read. */
  int nret = page && r.status >= 200 && r.status < 300 && push_page(L, c, &r) ? 1 + push_answer_meta(L, &r)
                                                                               : push_classified(L, &r);
  p = c->pf; /* (a finalizer that closed the client would have freed it) */
  if (nret == 2) {
    if (started) prefetch_stop(p); /* failed: the caller refetches this page the normal way */
    return 2;
  }
  /* next_started goes 4th (callers read it there), the rate-limit values after it */
  lua_pushboolean(L, started && p != NULL && p->active);
  lua_insert(L, -4);
  return 7;
}

/* client:cancel_prefetch([url]) -> true if one was dropped
 * With url, only a prefetch of that url is dropped. Safe on a closed client. */
static int l_cancel_prefetch(lua_State *L) {
  scv_client *c = luaL_checkudata(L, 1, SCV_CLIENT_MT);
  const char *url = luaL_optstring(L, 2, NULL);
  scv_prefetch *p = c->closed ? NULL : c->pf;
  if (p == NULL || !p->active || (url && strcmp(p->url, url) != 0)) {
    lua_pushboolean(L, 0);
    return 1;
  }
  prefetch_stop(p);
  lua_pushboolean(L, 1);
  return 1;
}

void scv_prefetch_free(scv_client *c) {
  scv_prefetch *p = c->pf;
  if (p == NULL) return;
  c->pf = NULL;
  prefetch_stop(p);
  curl_easy_cleanup(p->easy);
  curl_multi_cleanup(p->multi);
  scv_buf_free(&p->hdr);
  free(p->url);
  free(p);
}

void scv_transport_open(lua_State *L, int methods_idx) {
  static const luaL_Reg m[] = {{"send", l_send},         {"download", l_download},
                               {"upload", l_upload},     {"prefetch", l_prefetch},
                               {"collect", l_collect},   {"cancel_prefetch", l_cancel_prefetch},
                               {NULL, NULL}};
  lua_pushvalue(L, methods_idx);
  scv_setfuncs(L, m, 0);
  lua_pop(L, 1);
}
